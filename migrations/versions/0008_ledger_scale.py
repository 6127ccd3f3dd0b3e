"""Indexes for a ledger of millions of orders, and the archive of finished orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:40:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UNPUSHED = sa.text("pushed_at IS NULL")


def upgrade() -> None:
    # Plain CREATE INDEX: it blocks writes to the table while it builds (a few seconds at a
    # million orders), which the migration's lock_timeout and statement_timeout bound.
    op.create_index('ix_orders_number', 'orders', ['number'], unique=False)
    op.create_index('ix_orders_cart_order_id', 'orders', ['cart_order_id'], unique=False)
    op.create_index('ix_packages_unpushed', 'packages', ['order_id'], unique=False,
                    postgresql_where=UNPUSHED, sqlite_where=UNPUSHED)
    op.create_index('ix_flags_order', 'flags', ['order_id'], unique=False)
    op.create_table(
        'archived_orders',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('storefront', sa.String(length=40), nullable=False),
        sa.Column('cart_order_id', sa.String(length=255), nullable=False),
        sa.Column('number', sa.String(length=255), nullable=False),
        sa.Column('seller_fulfillment_order_id', sa.String(length=40), nullable=True),
        sa.Column('state', sa.String(length=32), nullable=False),
        sa.Column('finished_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
        sa.Column('archived_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
        sa.Column('record', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_archived_orders')),
        sa.UniqueConstraint('storefront', 'cart_order_id',
                            name=op.f('uq_archived_orders_storefront_cart_order_id')),
    )
    op.create_index('ix_archived_orders_number', 'archived_orders', ['number'], unique=False)
    op.create_index('ix_archived_orders_cart_order_id', 'archived_orders', ['cart_order_id'],
                    unique=False)
    op.create_index('ix_archived_orders_sfo_id', 'archived_orders',
                    ['seller_fulfillment_order_id'], unique=False)


def downgrade() -> None:
    """Archived orders are lost with their table: restore them (or keep a dump) first."""
    op.drop_table('archived_orders')
    op.drop_index('ix_flags_order', table_name='flags')
    op.drop_index('ix_packages_unpushed', table_name='packages')
    op.drop_index('ix_orders_cart_order_id', table_name='orders')
    op.drop_index('ix_orders_number', table_name='orders')
