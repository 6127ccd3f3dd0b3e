"""shop cancels: what Amazon did not ship, kept until the shop has been told

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shop_cancels',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=True),
    sa.Column('notify_customer', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('cancelled_in_shop', sa.Boolean(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_try_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('done_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                            name=op.f('fk_shop_cancels_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_cancels'))
    )
    op.create_index('ix_shop_cancels_order', 'shop_cancels', ['order_id'], unique=False)
    op.create_index('ix_shop_cancels_pending', 'shop_cancels', ['storefront', 'next_try_at'],
                    unique=False, postgresql_where=sa.text('done_at IS NULL'),
                    sqlite_where=sa.text('done_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_shop_cancels_pending', table_name='shop_cancels')
    op.drop_index('ix_shop_cancels_order', table_name='shop_cancels')
    op.drop_table('shop_cancels')
