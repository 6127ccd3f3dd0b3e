"""call stats: SP-API calls and flow runs per minute (pruned), and their totals

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 11:10:00
"""

import sqlalchemy as sa
from alembic import op

import bridge.ledger.tables

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_stats',
    sa.Column('minute', bridge.ledger.tables.UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('throttled', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('minute', 'kind', 'name', name=op.f('pk_call_stats'))
    )
    op.create_table('call_totals',
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.Column('throttled', sa.BigInteger(), nullable=False),
    sa.Column('errors', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'name', name=op.f('pk_call_totals'))
    )


def downgrade() -> None:
    op.drop_table('call_totals')
    op.drop_table('call_stats')
