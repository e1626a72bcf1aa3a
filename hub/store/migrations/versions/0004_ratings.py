"""Ratings: review cycles, ratings, calibration adjustments and finalize/reopen events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON_VALUE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('review_cycles',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('okr_cycle_key', sa.String(length=128), nullable=True),
    sa.Column('scale', JSON_VALUE, nullable=False),
    sa.Column('levels', JSON_VALUE, nullable=False),
    sa.Column('guideline', JSON_VALUE, nullable=True),
    sa.Column('tolerance', sa.Double(), server_default=sa.text('0.1'), nullable=False),
    sa.Column('state', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'finalized')", name=op.f('ck_review_cycles_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cycles')),
    sa.UniqueConstraint('key', name=op.f('uq_review_cycles_key'))
    )
    op.create_table('ratings',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('review_cycle_id', sa.BigInteger(), nullable=False),
    sa.Column('employee_id', sa.String(length=128), nullable=False),
    sa.Column('manager_value', sa.Integer(), nullable=False),
    sa.Column('current_value', sa.Integer(), nullable=False),
    sa.Column('potential', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_ratings_review_cycle_id_review_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('review_cycle_id', 'employee_id', name=op.f('uq_ratings_review_cycle_id_employee_id'))
    )
    op.create_index(op.f('ix_ratings_employee_id'), 'ratings', ['employee_id'], unique=False)
    op.create_table('calibration_adjustments',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('rating_id', sa.BigInteger(), nullable=False),
    sa.Column('review_cycle_id', sa.BigInteger(), nullable=False),
    sa.Column('employee_id', sa.String(length=128), nullable=False),
    sa.Column('previous_value', sa.Integer(), nullable=False),
    sa.Column('new_value', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=64), nullable=False),
    sa.Column('by_employee_id', sa.String(length=128), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_calibration_adjustments_rating_id_ratings')),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_calibration_adjustments_review_cycle_id_review_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_adjustments'))
    )
    op.create_index('ix_calibration_adjustments_rating_id_at', 'calibration_adjustments', ['rating_id', 'at'], unique=False)
    op.create_index(op.f('ix_calibration_adjustments_review_cycle_id'), 'calibration_adjustments', ['review_cycle_id'], unique=False)
    op.create_table('review_cycle_events',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('review_cycle_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('by_employee_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('finalize', 'reopen')", name=op.f('ck_review_cycle_events_action')),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_review_cycle_events_review_cycle_id_review_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cycle_events'))
    )
    op.create_index(op.f('ix_review_cycle_events_review_cycle_id'), 'review_cycle_events', ['review_cycle_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_review_cycle_events_review_cycle_id'), table_name='review_cycle_events')
    op.drop_table('review_cycle_events')
    op.drop_index(op.f('ix_calibration_adjustments_review_cycle_id'), table_name='calibration_adjustments')
    op.drop_index('ix_calibration_adjustments_rating_id_at', table_name='calibration_adjustments')
    op.drop_table('calibration_adjustments')
    op.drop_index(op.f('ix_ratings_employee_id'), table_name='ratings')
    op.drop_table('ratings')
    op.drop_table('review_cycles')
