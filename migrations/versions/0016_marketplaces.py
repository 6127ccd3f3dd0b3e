"""marketplaces: the marketplace each order goes to, and Amazon's stock per marketplace

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows from before routing are the home marketplace's: "". The default stays, so a
    # bridge of the previous release still running during an upgrade can record orders.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketplace_id', sa.String(length=20), nullable=False,
                                      server_default=''))

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketplace_id', sa.String(length=20), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_constraint('pk_stock_levels', type_='primary')
        batch_op.create_primary_key('pk_stock_levels', ['storefront', 'marketplace_id', 'seller_sku'])


def downgrade() -> None:
    # Only the home marketplace's stock fits the old key; the rest is read again.
    op.execute("DELETE FROM stock_levels WHERE marketplace_id <> ''")
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_constraint('pk_stock_levels', type_='primary')
        batch_op.create_primary_key('pk_stock_levels', ['storefront', 'seller_sku'])
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('marketplace_id')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('marketplace_id')
