"""holds: a person's word on an order's holds (the holds approved, who held it by hand)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_decisions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('hold_decisions')
