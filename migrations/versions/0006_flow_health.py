"""flow health: per storefront and flow, the last success and the failures since

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:10:00
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_health',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False),
    sa.Column('last_ok_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('failing_since', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('storefront', 'flow', name=op.f('pk_flow_health'))
    )


def downgrade() -> None:
    op.drop_table('flow_health')
