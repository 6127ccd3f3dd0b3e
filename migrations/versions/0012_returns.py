"""Customer returns: each return bridge asked Amazon for, and its units

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:45:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('returns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('authorizations', sa.JSON(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('requested_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_returns_order_id_orders'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('order_id', 'sequence', name=op.f('uq_returns_order_id_sequence'))
    )
    op.create_index('ix_returns_open', 'returns', ['storefront', 'state'], unique=False)
    op.create_table('return_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('return_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seller_return_item_id', sa.String(length=80), nullable=False),
    sa.Column('line_id', sa.String(length=255), nullable=False),
    sa.Column('cart_sku', sa.String(length=255), nullable=False),
    sa.Column('seller_sku', sa.String(length=255), nullable=False),
    sa.Column('item_id', sa.String(length=50), nullable=False),
    sa.Column('amazon_shipment_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('condition', sa.String(length=32), nullable=False),
    sa.Column('authorization_id', sa.String(length=64), nullable=False),
    sa.Column('invalid_code', sa.String(length=32), nullable=False),
    sa.Column('invalid_reason', sa.Text(), nullable=False),
    sa.Column('authorized_written_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('received_written_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'],
                            name=op.f('fk_return_items_return_id_returns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_items')),
    sa.UniqueConstraint('seller_return_item_id',
                        name=op.f('uq_return_items_seller_return_item_id'))
    )
    op.create_index(op.f('ix_return_items_return_id'), 'return_items', ['return_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_return_items_return_id'), table_name='return_items')
    op.drop_table('return_items')
    op.drop_index('ix_returns_open', table_name='returns')
    op.drop_table('returns')
