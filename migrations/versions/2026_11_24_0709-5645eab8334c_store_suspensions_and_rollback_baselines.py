"""Store suspensions (``suspend_d``) and rollback baselines; date the status-matrix periods.

The status matrix needs suspensions to know which daily bars should exist (listed minus
suspended); phase A records a rollback baseline per RolloutBatch; ``status_matrix.period_date``
lets a reader select a date range of cells.

Revision ID: 5645eab8334c
Revises: c3e8f1a27d45
Create Date: 2026-11-24 07:09:26.881235+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '5645eab8334c'
down_revision = 'c3e8f1a27d45'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rollback_baselines',
    sa.Column('baseline_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rollout_batch', sa.String(length=253), nullable=False, comment='namespace/name'),
    sa.Column('phase', sa.String(length=1), nullable=False, comment='the phase about to start'),
    sa.Column('schema_revision', sa.String(length=32), nullable=False),
    sa.Column('max_run_id', sa.BigInteger(), nullable=True, comment='newest ingest_runs.run_id before the phase'),
    sa.Column('read_switches', postgresql.JSONB(astext_type=sa.Text()), nullable=False, comment='module -> enabled'),
    sa.Column('flags_updated_at_ms', sa.BigInteger(), nullable=True, comment='flags.updatedAt in force'),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("phase IN ('A', 'B', 'C', 'D', 'E')", name=op.f('ck_rollback_baselines_phase')),
    sa.PrimaryKeyConstraint('baseline_id', name=op.f('pk_rollback_baselines'))
    )
    op.create_index(op.f('ix_rollback_baselines_rollout_batch'), 'rollback_baselines', ['rollout_batch', 'recorded_at'], unique=False)
    op.create_table('stock_suspension',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('suspend_type', sa.String(length=1), nullable=False, comment='S suspended, R resumed'),
    sa.Column('suspend_timing', sa.String(length=32), nullable=True, comment='intraday suspension, e.g. 09:30-10:00'),
    sa.Column('run_id', sa.BigInteger(), nullable=False, comment='ingest_runs.run_id of the run that last changed it'),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("suspend_type IN ('S', 'R')", name=op.f('ck_stock_suspension_suspend_type')),
    sa.PrimaryKeyConstraint('code', 'trade_date', 'suspend_type', name=op.f('pk_stock_suspension'))
    )
    op.create_index('ix_stock_suspension_run_id', 'stock_suspension', ['run_id'], unique=False, postgresql_using='brin')
    op.create_index(op.f('ix_stock_suspension_trade_date'), 'stock_suspension', ['trade_date'], unique=False)
    op.execute("CREATE VIEW v_stock_suspension AS SELECT t.* FROM stock_suspension t"
               " WHERE EXISTS (SELECT 1 FROM read_switch s WHERE s.module = 'stock' AND s.enabled)")
    op.execute("COMMENT ON VIEW v_stock_suspension IS 'stock_suspension, only where its read switch is on'")
    op.add_column('status_matrix', sa.Column('period_date', sa.Date(), nullable=True, comment='first day of the period, for ranges'))
    op.create_index(op.f('ix_status_matrix_period_date'), 'status_matrix', ['period_date', 'dataset'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_status_matrix_period_date'), table_name='status_matrix')
    op.drop_column('status_matrix', 'period_date')
    op.execute("DROP VIEW v_stock_suspension")
    op.drop_index(op.f('ix_stock_suspension_trade_date'), table_name='stock_suspension')
    op.drop_index('ix_stock_suspension_run_id', table_name='stock_suspension', postgresql_using='brin')
    op.drop_table('stock_suspension')
    op.drop_index(op.f('ix_rollback_baselines_rollout_batch'), table_name='rollback_baselines')
    op.drop_table('rollback_baselines')
