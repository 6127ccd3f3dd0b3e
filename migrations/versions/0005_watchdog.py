"""watchdog: flags for what is stuck (late shipments, tracking not in the shop,
storefronts not polled, holds about to run out)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 09:00:00
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raised_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('cleared_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('noted_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('open_key', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_flags_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags')),
    sa.UniqueConstraint('storefront', 'kind', 'open_key', name=op.f('uq_flags_storefront_kind_open_key'))
    )


def downgrade() -> None:
    op.drop_table('flags')
