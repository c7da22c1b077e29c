"""Record rollbacks: the ``rollback_runs`` table, and which rollback purged an ingest run.

``tushare-rollout job rollback`` switches a batch's modules off for readers and, with
``--purge-data``, deletes the rows its runs wrote; each rollback is recorded (switches turned off,
rows deleted per table) so the operator and a person can see what was undone and when.
``ingest_runs.rolled_back_by`` marks the runs whose rows a rollback deleted, so their counters are
not mistaken for rows still stored and a re-run reloading the same window is explained.

Revision ID: f80892522799
Revises: 5645eab8334c
Create Date: 2026-11-24 08:12:55.532190+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'f80892522799'
down_revision = '5645eab8334c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollback_runs',
    sa.Column('rollback_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rollout_batch', sa.String(length=253), nullable=False, comment='namespace/name'),
    sa.Column('phase', sa.String(length=1), nullable=False),
    sa.Column('batch', sa.String(length=2), nullable=True, comment="the phase's batch; NULL for A and E"),
    sa.Column('purge_data', sa.Boolean(), nullable=False),
    sa.Column('schema', sa.Boolean(), nullable=False, comment='--schema was asked for'),
    sa.Column('switches_off', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False, comment='read_switch modules this rollback turned off'),
    sa.Column('rows_deleted', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False, comment='table -> rows deleted (with --purge-data)'),
    sa.Column('runs_rolled_back', sa.BigInteger(), server_default='0', nullable=False, comment='ingest_runs newly marked rolled_back_by this row'),
    sa.Column('message', sa.Text(), nullable=True, comment="the Job's summary line"),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('job_name', sa.String(length=253), nullable=True, comment='the Kubernetes Job that ran it'),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_rollback_runs_batch')),
    sa.CheckConstraint("phase IN ('A', 'B', 'C', 'D', 'E')", name=op.f('ck_rollback_runs_phase')),
    sa.CheckConstraint('finished_at >= started_at', name=op.f('ck_rollback_runs_finished_after_start')),
    sa.PrimaryKeyConstraint('rollback_id', name=op.f('pk_rollback_runs'))
    )
    op.create_index(op.f('ix_rollback_runs_rollout_batch'), 'rollback_runs', ['rollout_batch', 'started_at'], unique=False)
    op.add_column('ingest_runs', sa.Column('rolled_back_by', sa.BigInteger(), nullable=True, comment="the rollback_runs row that purged this run's rows"))
    op.create_foreign_key(op.f('fk_ingest_runs_rolled_back_by_rollback_runs'), 'ingest_runs', 'rollback_runs', ['rolled_back_by'], ['rollback_id'], ondelete='SET NULL')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_ingest_runs_rolled_back_by_rollback_runs'), 'ingest_runs', type_='foreignkey')
    op.drop_column('ingest_runs', 'rolled_back_by')
    op.drop_index(op.f('ix_rollback_runs_rollout_batch'), table_name='rollback_runs')
    op.drop_table('rollback_runs')
