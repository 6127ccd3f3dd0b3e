"""webhooks: the delivery ids of the platforms' webhooks already acted on

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 11:10:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_deliveries',
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('delivery_id', sa.String(length=128), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('received_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('storefront', 'delivery_id', name=op.f('pk_webhook_deliveries'))
    )
    op.create_index('ix_webhook_deliveries_received', 'webhook_deliveries', ['received_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_received', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
