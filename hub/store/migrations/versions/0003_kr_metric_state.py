"""Key-result updates: what each automated key result last got from its mapping.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kr_metric_state',
    sa.Column('kr_key', sa.String(length=128), nullable=False),
    sa.Column('mapping_id', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_value', sa.Double(), nullable=True),
    sa.Column('last_rows', sa.Integer(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('held_value', sa.Double(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('kr_key', 'mapping_id', name=op.f('pk_kr_metric_state'))
    )


def downgrade() -> None:
    op.drop_table('kr_metric_state')
