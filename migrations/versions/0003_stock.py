"""stock reconciliation: kits on order lines, Amazon's inbound and reserved counts,
the shop's stock as last seen, and the inventory ledger of corrections

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:05:00
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_id', sa.String(length=50), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('kit_units', sa.Integer(), nullable=False, server_default='1'))
        batch_op.drop_constraint('uq_order_lines_order_id_line_id', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_order_lines_order_id_line_id_seller_sku'), ['order_id', 'line_id', 'seller_sku'])
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.alter_column('item_id', server_default=None)
        batch_op.alter_column('kit_units', server_default=None)

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbound', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reserved', sa.Integer(), nullable=False, server_default='0'))
        # What bridge last wrote is kept per shop SKU now (shop_stock), not per seller SKU.
        batch_op.drop_column('written_quantity')
        batch_op.drop_column('written_at')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.alter_column('inbound', server_default=None)
        batch_op.alter_column('reserved', server_default=None)

    op.create_table('shop_stock',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('cart_sku', sa.String(length=255), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('shop_quantity', sa.Integer(), nullable=True),
    sa.Column('written_quantity', sa.Integer(), nullable=True),
    sa.Column('fulfillable_basis', sa.Integer(), nullable=False),
    sa.Column('open_units_basis', sa.Integer(), nullable=False),
    sa.Column('checked_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('corrected_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('storefront', 'cart_sku', name=op.f('pk_shop_stock'))
    )
    op.create_table('stock_corrections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('cart_sku', sa.String(length=255), nullable=False),
    sa.Column('before', sa.Integer(), nullable=True),
    sa.Column('after', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_corrections'))
    )
    with op.batch_alter_table('stock_corrections', schema=None) as batch_op:
        batch_op.create_index('ix_stock_corrections_sku', ['storefront', 'cart_sku', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stock_corrections', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_corrections_sku')
    op.drop_table('stock_corrections')
    op.drop_table('shop_stock')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('reserved')
        batch_op.drop_column('inbound')
        batch_op.add_column(sa.Column('written_quantity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('written_at', bridge.ledger.tables.UTCDateTime(), nullable=True))
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint('uq_order_lines_order_id_line_id_seller_sku', type_='unique')
        batch_op.create_unique_constraint('uq_order_lines_order_id_line_id', ['order_id', 'line_id'])
        batch_op.drop_column('kit_units')
        batch_op.drop_column('item_id')
