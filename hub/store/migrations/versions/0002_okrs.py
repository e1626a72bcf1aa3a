"""OKRs: cycles, objectives, key results and their owners, and the check-in history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 05:36:15.094755
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

JSON_VALUE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('okr_cycles',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('cadence', sa.String(length=16), server_default='weekly', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("cadence IN ('daily', 'weekly', 'biweekly', 'monthly', 'quarterly')", name=op.f('ck_okr_cycles_cadence')),
    sa.CheckConstraint("kind IN ('quarterly', 'semi_annual', 'annual')", name=op.f('ck_okr_cycles_kind')),
    sa.CheckConstraint("state IN ('draft', 'in_progress', 'closed')", name=op.f('ck_okr_cycles_state')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_okr_cycles_dates')),
    sa.ForeignKeyConstraint(['parent_id'], ['okr_cycles.id'], name=op.f('fk_okr_cycles_parent_id_okr_cycles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_okr_cycles')),
    sa.UniqueConstraint('key', name=op.f('uq_okr_cycles_key'))
    )
    op.create_index(op.f('ix_okr_cycles_parent_id'), 'okr_cycles', ['parent_id'], unique=False)
    op.create_table('okr_objectives',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('cycle_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='committed', nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.String(length=255), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('progress_source', sa.String(length=16), server_default='key_results', nullable=False),
    sa.Column('target_unit', sa.String(length=64), nullable=True),
    sa.Column('target_value', sa.Double(), nullable=True),
    sa.Column('target_auto', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('target_start', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("kind IN ('committed', 'aspirational', 'learning')", name=op.f('ck_okr_objectives_kind')),
    sa.CheckConstraint("level IN ('company', 'business_unit', 'department', 'team', 'individual')", name=op.f('ck_okr_objectives_level')),
    sa.CheckConstraint("owner_kind IN ('person', 'department', 'team')", name=op.f('ck_okr_objectives_owner_kind')),
    sa.CheckConstraint("progress_source IN ('key_results', 'children', 'both')", name=op.f('ck_okr_objectives_progress_source')),
    sa.ForeignKeyConstraint(['cycle_id'], ['okr_cycles.id'], name=op.f('fk_okr_objectives_cycle_id_okr_cycles')),
    sa.ForeignKeyConstraint(['parent_id'], ['okr_objectives.id'], name=op.f('fk_okr_objectives_parent_id_okr_objectives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_okr_objectives')),
    sa.UniqueConstraint('key', name=op.f('uq_okr_objectives_key'))
    )
    op.create_index(op.f('ix_okr_objectives_cycle_id'), 'okr_objectives', ['cycle_id'], unique=False)
    op.create_index('ix_okr_objectives_owner', 'okr_objectives', ['owner_kind', 'owner_id'], unique=False)
    op.create_index(op.f('ix_okr_objectives_parent_id'), 'okr_objectives', ['parent_id'], unique=False)
    op.create_table('okr_key_results',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('objective_id', sa.BigInteger(), nullable=False),
    sa.Column('cycle_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('measurement', sa.String(length=16), server_default='numeric', nullable=False),
    sa.Column('progress_type', sa.String(length=16), server_default='increase_to', nullable=False),
    sa.Column('unit', sa.String(length=64), server_default='', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('initial_value', sa.Double(), nullable=False),
    sa.Column('target_value', sa.Double(), nullable=False),
    sa.Column('critical_value', sa.Double(), nullable=True),
    sa.Column('range_red_low', sa.Double(), nullable=True),
    sa.Column('range_yellow_low', sa.Double(), nullable=True),
    sa.Column('range_yellow_high', sa.Double(), nullable=True),
    sa.Column('range_red_high', sa.Double(), nullable=True),
    sa.Column('weight', sa.Double(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('hard_deadline', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('cadence', sa.String(length=16), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('current_value', sa.Double(), nullable=True),
    sa.Column('last_check_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rolled_over_from', sa.String(length=128), nullable=True),
    sa.Column('tags', JSON_VALUE, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("cadence IS NULL OR cadence IN ('daily', 'weekly', 'biweekly', 'monthly', 'quarterly')", name=op.f('ck_okr_key_results_cadence')),
    sa.CheckConstraint("measurement IN ('numeric', 'percentage', 'currency', 'binary')", name=op.f('ck_okr_key_results_measurement')),
    sa.CheckConstraint("progress_type IN ('increase_to', 'decrease_to', 'stay_above', 'stay_below', 'achieved_or_not')", name=op.f('ck_okr_key_results_progress_type')),
    sa.CheckConstraint("state IN ('draft', 'in_progress', 'closed')", name=op.f('ck_okr_key_results_state')),
    sa.CheckConstraint('weight IS NULL OR weight > 0', name=op.f('ck_okr_key_results_weight')),
    sa.ForeignKeyConstraint(['cycle_id'], ['okr_cycles.id'], name=op.f('fk_okr_key_results_cycle_id_okr_cycles')),
    sa.ForeignKeyConstraint(['objective_id'], ['okr_objectives.id'], name=op.f('fk_okr_key_results_objective_id_okr_objectives')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_okr_key_results')),
    sa.UniqueConstraint('key', name=op.f('uq_okr_key_results_key'))
    )
    op.create_index(op.f('ix_okr_key_results_cycle_id'), 'okr_key_results', ['cycle_id'], unique=False)
    op.create_index(op.f('ix_okr_key_results_objective_id'), 'okr_key_results', ['objective_id'], unique=False)
    op.create_table('okr_check_ins',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key_result_id', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('confidence', sa.Integer(), nullable=True),
    sa.Column('author_kind', sa.String(length=16), nullable=False),
    sa.Column('author_employee_id', sa.String(length=128), nullable=True),
    sa.Column('connection', sa.String(length=255), nullable=True),
    sa.Column('mapping', sa.String(length=255), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('raw_result', sa.Text(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint("author_kind IN ('person', 'admin', 'connector')", name=op.f('ck_okr_check_ins_author_kind')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 10)', name=op.f('ck_okr_check_ins_confidence')),
    sa.ForeignKeyConstraint(['key_result_id'], ['okr_key_results.id'], name=op.f('fk_okr_check_ins_key_result_id_okr_key_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_okr_check_ins'))
    )
    op.create_index(op.f('ix_okr_check_ins_author_employee_id'), 'okr_check_ins', ['author_employee_id'], unique=False)
    op.create_index('ix_okr_check_ins_key_result_id_at', 'okr_check_ins', ['key_result_id', 'at'], unique=False)
    op.create_table('okr_key_result_owners',
    sa.Column('key_result_id', sa.BigInteger(), nullable=False),
    sa.Column('employee_id', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['key_result_id'], ['okr_key_results.id'], name=op.f('fk_okr_key_result_owners_key_result_id_okr_key_results'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_result_id', 'employee_id', name=op.f('pk_okr_key_result_owners'))
    )
    op.create_index(op.f('ix_okr_key_result_owners_employee_id'), 'okr_key_result_owners', ['employee_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_okr_key_result_owners_employee_id'), table_name='okr_key_result_owners')
    op.drop_table('okr_key_result_owners')
    op.drop_index('ix_okr_check_ins_key_result_id_at', table_name='okr_check_ins')
    op.drop_index(op.f('ix_okr_check_ins_author_employee_id'), table_name='okr_check_ins')
    op.drop_table('okr_check_ins')
    op.drop_index(op.f('ix_okr_key_results_objective_id'), table_name='okr_key_results')
    op.drop_index(op.f('ix_okr_key_results_cycle_id'), table_name='okr_key_results')
    op.drop_table('okr_key_results')
    op.drop_index(op.f('ix_okr_objectives_parent_id'), table_name='okr_objectives')
    op.drop_index('ix_okr_objectives_owner', table_name='okr_objectives')
    op.drop_index(op.f('ix_okr_objectives_cycle_id'), table_name='okr_objectives')
    op.drop_table('okr_objectives')
    op.drop_index(op.f('ix_okr_cycles_parent_id'), table_name='okr_cycles')
    op.drop_table('okr_cycles')
