"""Initial store: the run ledger, people, departments, identities, sync cursors, staging.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 05:08:12.994342
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON_VALUE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('departments',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('parent_key', sa.String(length=255), nullable=True),
    sa.Column('cost_centre', sa.String(length=255), nullable=True),
    sa.Column('manager_employee_id', sa.String(length=128), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('key', name=op.f('uq_departments_key'))
    )
    op.create_table('people',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('employee_id', sa.String(length=128), nullable=False),
    sa.Column('source_connection', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_lower', sa.String(length=320), nullable=True),
    sa.Column('first_name', sa.String(length=255), nullable=True),
    sa.Column('last_name', sa.String(length=255), nullable=True),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=True),
    sa.Column('department_key', sa.String(length=255), nullable=True),
    sa.Column('manager_employee_id', sa.String(length=128), nullable=True),
    sa.Column('cost_centre', sa.String(length=255), nullable=True),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('job_level', sa.String(length=255), nullable=True),
    sa.Column('hire_date', sa.Date(), nullable=True),
    sa.Column('termination_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flags', JSON_VALUE, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('attributes', JSON_VALUE, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_run_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint("status IN ('active', 'inactive', 'terminated')", name=op.f('ck_people_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('employee_id', name=op.f('uq_people_employee_id'))
    )
    op.create_index(op.f('ix_people_email'), 'people', ['email'], unique=False)
    op.create_index(op.f('ix_people_email_lower'), 'people', ['email_lower'], unique=False)
    op.create_index(op.f('ix_people_manager_employee_id'), 'people', ['manager_employee_id'], unique=False)
    op.create_table('runs',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('connection', sa.String(length=255), nullable=True),
    sa.Column('trigger', sa.String(length=16), server_default='cli', nullable=False),
    sa.Column('dry_run', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('counts', JSON_VALUE, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('api_calls', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('retries', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('error', JSON_VALUE, nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'guarded', 'skipped')", name=op.f('ck_runs_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_index('ix_runs_job_started_at', 'runs', ['job', 'started_at'], unique=False)
    op.create_table('staged_people',
    sa.Column('run_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('employee_id', sa.String(length=128), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('email_lower', sa.String(length=320), nullable=True),
    sa.Column('manager_employee_id', sa.String(length=128), nullable=True),
    sa.Column('department_key', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', JSON_VALUE, nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'employee_id', name=op.f('pk_staged_people'))
    )
    op.create_index('ix_staged_people_run_id_email_lower', 'staged_people', ['run_id', 'email_lower'], unique=False)
    op.create_table('sync_cursors',
    sa.Column('connection', sa.String(length=255), nullable=False),
    sa.Column('stream', sa.String(length=64), nullable=False),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('last_full_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('connection', 'stream', name=op.f('pk_sync_cursors'))
    )
    op.create_table('identities',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=320), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_identities_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identities')),
    sa.UniqueConstraint('person_id', 'system', name=op.f('uq_identities_person_id_system')),
    sa.UniqueConstraint('system', 'external_id', name=op.f('uq_identities_system_external_id'))
    )
    op.create_table('run_rejections',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('record_key', sa.String(length=512), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', JSON_VALUE, nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_rejections_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_rejections'))
    )
    op.create_index(op.f('ix_run_rejections_run_id'), 'run_rejections', ['run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_run_rejections_run_id'), table_name='run_rejections')
    op.drop_table('run_rejections')
    op.drop_table('identities')
    op.drop_table('sync_cursors')
    op.drop_index('ix_staged_people_run_id_email_lower', table_name='staged_people')
    op.drop_table('staged_people')
    op.drop_index('ix_runs_job_started_at', table_name='runs')
    op.drop_table('runs')
    op.drop_index(op.f('ix_people_manager_employee_id'), table_name='people')
    op.drop_index(op.f('ix_people_email_lower'), table_name='people')
    op.drop_index(op.f('ix_people_email'), table_name='people')
    op.drop_table('people')
    op.drop_table('departments')
