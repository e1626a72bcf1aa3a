"""Ratings write-back: the outbox of ratings to send to an HCM, one row per idempotency key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('employee_id', sa.String(length=64), nullable=False),
    sa.Column('review_cycle', sa.String(length=128), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('connection', sa.String(length=128), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('source_value', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('confirmed_value', sa.String(length=255), nullable=True),
    sa.Column('hcm_reference', sa.String(length=255), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_run_id', sa.BigInteger(), nullable=True),
    sa.Column('last_run_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'confirmed', 'rejected', 'cancelled')",
        name=op.f('ck_outbox_status'),
    ),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_outbox'))
    )
    op.create_index('ix_outbox_status', 'outbox', ['status'], unique=False)
    op.create_index('ix_outbox_review_cycle', 'outbox', ['review_cycle', 'connection'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_review_cycle', table_name='outbox')
    op.drop_index('ix_outbox_status', table_name='outbox')
    op.drop_table('outbox')
