"""delivery: where each shipped package ended up, followed at Amazon

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:45:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FOLLOWED = sa.text("next_poll_at IS NOT NULL")
UNPUSHED = sa.text("milestone <> '' AND pushed_at IS NULL")
PUSHED = sa.text("pushed_at IS NOT NULL")


def upgrade() -> None:
    op.create_table('package_deliveries',
    sa.Column('package_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False,
              nullable=False),
    sa.Column('storefront', sa.String(length=40), nullable=False),
    sa.Column('amazon_status', sa.String(length=32), nullable=False),
    sa.Column('milestone', sa.String(length=32), nullable=False),
    sa.Column('happened_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('estimated_arrival', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('next_poll_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('polls', sa.Integer(), nullable=False),
    sa.Column('last_polled_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('pushed_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('push_error', sa.Text(), nullable=False),
    sa.Column('gave_up_at', bridge.ledger.tables.UTCDateTime(), nullable=True),
    sa.Column('created_at', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'],
                            name=op.f('fk_package_deliveries_package_id_packages'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('package_id', name=op.f('pk_package_deliveries'))
    )
    op.create_index('ix_package_deliveries_due', 'package_deliveries',
                    ['storefront', 'next_poll_at'], unique=False,
                    postgresql_where=FOLLOWED, sqlite_where=FOLLOWED)
    op.create_index('ix_package_deliveries_unpushed', 'package_deliveries', ['storefront'],
                    unique=False, postgresql_where=UNPUSHED, sqlite_where=UNPUSHED)
    op.create_index('ix_packages_pushed_at', 'packages', ['pushed_at'], unique=False,
                    postgresql_where=PUSHED, sqlite_where=PUSHED)


def downgrade() -> None:
    op.drop_index('ix_packages_pushed_at', table_name='packages')
    op.drop_index('ix_package_deliveries_unpushed', table_name='package_deliveries')
    op.drop_index('ix_package_deliveries_due', table_name='package_deliveries')
    op.drop_table('package_deliveries')
