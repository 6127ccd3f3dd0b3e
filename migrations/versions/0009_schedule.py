"""The schedule in the ledger: when each storefront's flows are next due

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:40:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False),
    sa.Column('interval_seconds', sa.Double(), nullable=False),
    sa.Column('next_due_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('storefront', 'flow', name=op.f('pk_schedule'))
    )
    op.create_index('ix_schedule_due', 'schedule', ['next_due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_schedule_due', table_name='schedule')
    op.drop_table('schedule')
