"""stalled submissions: when an order's submission first failed for a passing reason,
and since when (and why) it has been over the retry budget

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-14 09:00:00
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_failed_at', bridge.ledger.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('stalled_since', bridge.ledger.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('stalled_reason', sa.Text(), nullable=True))
        batch_op.create_index('ix_orders_failing', ['storefront', 'first_failed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_failing')
        batch_op.drop_column('stalled_reason')
        batch_op.drop_column('stalled_since')
        batch_op.drop_column('first_failed_at')
