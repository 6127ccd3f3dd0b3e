"""initial ledger

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 05:10:26.290437
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cursors',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False),
    sa.Column('position', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('last_run_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('storefront', 'flow', name=op.f('pk_cursors'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('cart_order_id', sa.String(length=255), nullable=False),
    sa.Column('number', sa.String(length=255), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('seller_fulfillment_order_id', sa.String(length=40), nullable=True),
    sa.Column('request', sa.JSON(), nullable=True),
    sa.Column('amazon_status', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attention_reason', sa.String(length=64), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('cart_updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('state_changed_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('accepted_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('seller_fulfillment_order_id', name=op.f('uq_orders_seller_fulfillment_order_id')),
    sa.UniqueConstraint('storefront', 'cart_order_id', name=op.f('uq_orders_storefront_cart_order_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_work', ['state', 'storefront', 'state_changed_at'], unique=False)

    op.create_table('stock_levels',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('seller_sku', sa.String(length=255), nullable=False),
    sa.Column('fulfillable', sa.Integer(), nullable=False),
    sa.Column('amazon_updated_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('read_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('written_quantity', sa.Integer(), nullable=True),
    sa.Column('written_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('storefront', 'seller_sku', name=op.f('pk_stock_levels'))
    )
    op.create_table('storefronts',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('paused_reason', sa.Text(), nullable=False),
    sa.Column('updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_storefronts'))
    )
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=False),
    sa.Column('to_state', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_order', ['order_id', 'id'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.String(length=255), nullable=False),
    sa.Column('cart_sku', sa.String(length=255), nullable=False),
    sa.Column('seller_sku', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    sa.UniqueConstraint('order_id', 'line_id', name=op.f('uq_order_lines_order_id_line_id'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_seller_sku'), ['seller_sku'], unique=False)

    op.create_table('packages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amazon_shipment_id', sa.String(length=64), nullable=False),
    sa.Column('package_number', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=128), nullable=False),
    sa.Column('tracking_number', sa.String(length=128), nullable=False),
    sa.Column('shipped_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('pushed_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_packages_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packages')),
    sa.UniqueConstraint('order_id', 'package_number', name=op.f('uq_packages_order_id_package_number'))
    )


def downgrade() -> None:
    op.drop_table('packages')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_seller_sku'))

    op.drop_table('order_lines')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_order')

    op.drop_table('events')
    op.drop_table('storefronts')
    op.drop_table('stock_levels')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_work')

    op.drop_table('orders')
    op.drop_table('cursors')
