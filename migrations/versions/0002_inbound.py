"""inbound plans and shipments; leases; tracking push errors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:36:07.904138
"""

from alembic import op
import sqlalchemy as sa
import bridge.ledger.tables


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_plans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('inbound_plan_id', sa.String(length=38), nullable=True),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('boxes', sa.JSON(), nullable=False),
    sa.Column('source_address', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('pending_operation', sa.String(length=96), nullable=False),
    sa.Column('pending_operation_id', sa.String(length=38), nullable=False),
    sa.Column('packing_option_id', sa.String(length=38), nullable=False),
    sa.Column('placement_option_id', sa.String(length=38), nullable=False),
    sa.Column('labels_path', sa.Text(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_plans')),
    sa.UniqueConstraint('inbound_plan_id', name=op.f('uq_inbound_plans_inbound_plan_id')),
    sa.UniqueConstraint('name', name=op.f('uq_inbound_plans_name'))
    )
    op.create_table('inbound_shipments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shipment_id', sa.String(length=38), nullable=False),
    sa.Column('confirmation_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('transportation_option_id', sa.String(length=38), nullable=False),
    sa.Column('updated_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['inbound_plans.id'], name=op.f('fk_inbound_shipments_plan_id_inbound_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_shipments')),
    sa.UniqueConstraint('plan_id', 'shipment_id', name=op.f('uq_inbound_shipments_plan_id_shipment_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inbound_plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_events_inbound_plan_id_inbound_plans'), 'inbound_plans', ['inbound_plan_id'], ['id'], ondelete='CASCADE')
    op.create_table('leases',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('until', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_error', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('packages', schema=None) as batch_op:
        batch_op.drop_column('push_error')
    op.drop_table('leases')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_events_inbound_plan_id_inbound_plans'), type_='foreignkey')
        batch_op.drop_column('inbound_plan_id')

    op.drop_table('inbound_shipments')
    op.drop_table('inbound_plans')
