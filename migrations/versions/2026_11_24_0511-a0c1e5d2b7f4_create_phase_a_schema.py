"""Create the phase A schema: unified, extension and control tables for every batch.

Besides the tables (generated from the models), this revision creates what models do not
describe: the list partitions of daily_bar, the monthly-partition function for the minute
tables, the append-only trigger of macro_observation, the read switches (all off) and the
consumer views that filter on them.

Revision ID: a0c1e5d2b7f4
Revises:
Create Date: 2026-11-24 05:11:33.439828+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'a0c1e5d2b7f4'
down_revision = None
branch_labels = None
depends_on = None


ASSET_CLASSES = ("stock", "etf", "index", "future", "sge", "fx")
READ_MODULES = {
    "stock": "P0", "etf": "P0", "index": "P0", "future": "P0", "sge": "P0",
    "fx": "P1", "macro": "P1",
    "p2_realtime_index": "P2", "p2_realtime_equity_etf": "P2", "p2_futures_microstructure": "P2",
    "p2_stk_premarket": "P2",
}
P2_MODULE_OF_ASSET_CLASS = (
    "CASE t.asset_class WHEN 'index' THEN 'p2_realtime_index' WHEN 'future' THEN 'p2_futures_microstructure'"
    " ELSE 'p2_realtime_equity_etf' END"
)
# consumer view -> (table, the read_switch.module expression that decides whether a row is visible)
VIEWS = {
    "v_instrument": ("instrument", "t.asset_class"),
    "v_daily_bar": ("daily_bar", "t.asset_class"),
    "v_adj_factor": ("adj_factor", "t.asset_class"),
    "v_stock_daily_basic": ("stock_daily_basic", "'stock'"),
    "v_index_weight": ("index_weight", "'index'"),
    "v_future_daily_extra": ("future_daily_extra", "'future'"),
    "v_sge_daily_extra": ("sge_daily_extra", "'sge'"),
    "v_fx_daily_quote": ("fx_daily_quote", "'fx'"),
    "v_macro_observation": ("macro_observation", "'macro'"),
    "v_minute_bar": ("minute_bar", P2_MODULE_OF_ASSET_CLASS),
    "v_realtime_minute_bar": ("realtime_minute_bar", P2_MODULE_OF_ASSET_CLASS),
    "v_realtime_quote": ("realtime_quote", P2_MODULE_OF_ASSET_CLASS),
    "v_fut_warehouse_receipt": ("fut_warehouse_receipt", "'p2_futures_microstructure'"),
    "v_fut_holding": ("fut_holding", "'p2_futures_microstructure'"),
    "v_stk_premarket": ("stk_premarket", "'p2_stk_premarket'"),
}

ENSURE_MINUTE_PARTITIONS = """
CREATE FUNCTION tsr_ensure_minute_partitions(from_month date, to_month date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    month date;
    child text;
    created integer := 0;
BEGIN
    IF from_month IS NULL OR to_month IS NULL OR to_month < from_month THEN
        RAISE EXCEPTION 'tsr_ensure_minute_partitions: need from_month <= to_month, got % and %', from_month, to_month;
    END IF;
    IF to_month > from_month + interval '10 years' THEN
        RAISE EXCEPTION 'tsr_ensure_minute_partitions: % to % is more than 10 years of monthly partitions', from_month, to_month;
    END IF;
    -- the common case, every partition present, takes no lock at all
    IF NOT EXISTS (
        SELECT 1 FROM unnest(ARRAY['minute_bar', 'realtime_minute_bar']) AS p(parent),
             generate_series(date_trunc('month', from_month), to_month, interval '1 month') AS m(month)
        WHERE to_regclass(format('%s_%s', p.parent, to_char(m.month, 'YYYYMM'))) IS NULL
    ) THEN
        RETURN 0;
    END IF;
    -- one creator at a time: concurrent ingest shards may ask for the same month
    PERFORM pg_advisory_xact_lock(hashtext('tsr_ensure_minute_partitions'));
    FOREACH parent IN ARRAY ARRAY['minute_bar', 'realtime_minute_bar'] LOOP
        month := date_trunc('month', from_month)::date;
        WHILE month <= to_month LOOP
            child := format('%s_%s', parent, to_char(month, 'YYYYMM'));
            IF to_regclass(child) IS NULL THEN
                -- months are Beijing months: a bar at 2024-02-01 00:30+08 belongs to February
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', child, parent,
                               month::timestamp AT TIME ZONE 'Asia/Shanghai',
                               (month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai');
                created := created + 1;
            END IF;
            month := (month + interval '1 month')::date;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION tsr_ensure_minute_partitions(date, date) IS
    'Create the monthly partitions of minute_bar and realtime_minute_bar covering from_month..to_month; returns how many were created.';
"""

REFUSE_UPDATE = """
CREATE FUNCTION tsr_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: a changed value is stored as a new vintage, never as an update', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER macro_observation_append_only BEFORE UPDATE ON macro_observation
    FOR EACH ROW EXECUTE FUNCTION tsr_refuse_update();
"""


def upgrade() -> None:
    _create_tables()
    for asset_class in ASSET_CLASSES:
        op.execute(f"CREATE TABLE daily_bar_{asset_class} PARTITION OF daily_bar FOR VALUES IN ('{asset_class}')")
    op.execute(ENSURE_MINUTE_PARTITIONS)
    op.execute(REFUSE_UPDATE)
    read_switch = sa.table("read_switch", sa.column("module", sa.String), sa.column("batch", sa.String),
                           sa.column("enabled", sa.Boolean), sa.column("reason", sa.Text))
    op.bulk_insert(read_switch, [
        {"module": module, "batch": batch, "enabled": False, "reason": "not rolled out yet"}
        for module, batch in READ_MODULES.items()
    ])
    for view, (table, module) in VIEWS.items():
        op.execute(
            f"CREATE VIEW {view} AS SELECT t.* FROM {table} t"
            f" WHERE EXISTS (SELECT 1 FROM read_switch s WHERE s.module = {module} AND s.enabled)"
        )
        op.execute(f"COMMENT ON VIEW {view} IS '{table}, only where its read switch is on'")


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW {view}")
    op.execute("DROP TRIGGER macro_observation_append_only ON macro_observation")
    op.execute("DROP FUNCTION tsr_refuse_update()")
    op.execute("DROP FUNCTION tsr_ensure_minute_partitions(date, date)")
    # partitions (daily_bar_*, minute_bar_YYYYMM, ...) go with their parent tables
    _drop_tables()


def _create_tables() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('gate_runs',
    sa.Column('gate_run_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('phase', sa.String(length=1), nullable=False),
    sa.Column('gate', sa.String(length=16), nullable=False),
    sa.Column('batch', sa.String(length=2), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('window_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='running', nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('rollout_batch', sa.String(length=253), nullable=True, comment='namespace/name of the RolloutBatch'),
    sa.Column('job_name', sa.String(length=253), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_gate_runs_batch')),
    sa.CheckConstraint("gate IN ('stability', 'reconciliation', 'quality', 'scheduling', 'batch')", name=op.f('ck_gate_runs_gate')),
    sa.CheckConstraint("phase IN ('A', 'B', 'C', 'D', 'E')", name=op.f('ck_gate_runs_phase')),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_gate_runs_status')),
    sa.PrimaryKeyConstraint('gate_run_id', name=op.f('pk_gate_runs'))
    )
    op.create_index(op.f('ix_gate_runs_phase'), 'gate_runs', ['phase', 'started_at'], unique=False)
    op.create_table('ingest_control_state_v1',
    sa.Column('batch', sa.String(length=2), nullable=False),
    sa.Column('state', sa.String(length=10), server_default='running', nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=253), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_ingest_control_state_v1_batch')),
    sa.CheckConstraint("state IN ('running', 'paused', 'cancelled')", name=op.f('ck_ingest_control_state_v1_state')),
    sa.PrimaryKeyConstraint('batch', name=op.f('pk_ingest_control_state_v1'))
    )
    op.create_table('ingest_runs',
    sa.Column('run_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('batch', sa.String(length=2), nullable=False),
    sa.Column('dataset', sa.String(length=48), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=True),
    sa.Column('window_end', sa.Date(), nullable=True),
    sa.Column('shard_index', sa.Integer(), server_default='0', nullable=False),
    sa.Column('shard_count', sa.Integer(), server_default='1', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='running', nullable=False),
    sa.Column('rows_fetched', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rows_inserted', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rows_updated', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rows_unchanged', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('api_calls', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rate_limit_hits', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('retries', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('wait_ms', sa.BigInteger(), server_default='0', nullable=False, comment='time spent waiting on rate limits and backoff'),
    sa.Column('error_class', sa.String(length=20), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('checkpoint', sa.String(length=64), nullable=True, comment='last partition committed by this run'),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('job_name', sa.String(length=253), nullable=True, comment='the Kubernetes Job that ran it'),
    sa.CheckConstraint("(status = 'running') = (finished_at IS NULL)", name=op.f('ck_ingest_runs_finished_iff_not_running')),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_ingest_runs_batch')),
    sa.CheckConstraint("error_class IN ('bad_token', 'permission_denied', 'rate_limited', 'daily_quota', 'bad_api_name', 'bad_parameters', 'server_error', 'database_error', 'bad_configuration', 'cancelled', 'internal')", name=op.f('ck_ingest_runs_error_class')),
    sa.CheckConstraint("mode IN ('backfill', 'incremental', 'daily')", name=op.f('ck_ingest_runs_mode')),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_ingest_runs_status')),
    sa.CheckConstraint('rows_fetched >= 0 AND rows_inserted >= 0 AND rows_updated >= 0 AND rows_unchanged >= 0 AND api_calls >= 0 AND rate_limit_hits >= 0 AND retries >= 0 AND wait_ms >= 0', name=op.f('ck_ingest_runs_counters_non_negative')),
    sa.CheckConstraint('shard_index >= 0 AND shard_count >= 1 AND shard_index < shard_count', name=op.f('ck_ingest_runs_shard_in_range')),
    sa.CheckConstraint('window_end IS NULL OR window_start IS NULL OR window_end >= window_start', name=op.f('ck_ingest_runs_window_ordered')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_ingest_runs'))
    )
    op.create_index('ix_ingest_runs_batch_status', 'ingest_runs', ['batch', 'status'], unique=False)
    op.create_index(op.f('ix_ingest_runs_dataset'), 'ingest_runs', ['dataset', 'started_at'], unique=False)
    op.create_table('ingest_scheduler_config_v1',
    sa.Column('batch', sa.String(length=2), nullable=False),
    sa.Column('cron', sa.String(length=64), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='Asia/Shanghai', nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_ingest_scheduler_config_v1_batch')),
    sa.PrimaryKeyConstraint('batch', name=op.f('pk_ingest_scheduler_config_v1'))
    )
    op.create_table('ingest_targets',
    sa.Column('dataset', sa.String(length=48), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False, comment="'market' or a code"),
    sa.Column('batch', sa.String(length=2), nullable=False),
    sa.Column('asset_class', sa.String(length=8), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('stock', 'etf', 'index', 'future', 'sge', 'fx', 'macro')", name=op.f('ck_ingest_targets_asset_class')),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_ingest_targets_batch')),
    sa.PrimaryKeyConstraint('dataset', 'scope', name=op.f('pk_ingest_targets'))
    )
    op.create_table('macro_series',
    sa.Column('series_id', sa.String(length=64), nullable=False, comment='<api>.<field>'),
    sa.Column('api_name', sa.String(length=32), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('frequency', sa.String(length=1), nullable=False, comment='D daily, M monthly, Q quarterly'),
    sa.Column('unit', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.CheckConstraint("country IN ('CN', 'US')", name=op.f('ck_macro_series_country')),
    sa.CheckConstraint("frequency IN ('D', 'M', 'Q')", name=op.f('ck_macro_series_frequency')),
    sa.PrimaryKeyConstraint('series_id', name=op.f('pk_macro_series'))
    )
    op.create_table('permission_probes',
    sa.Column('probe_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('api_name', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('rollout_batch', sa.String(length=253), nullable=True),
    sa.Column('probe_token', sa.String(length=253), nullable=True, comment='spec.probeToken that asked for it'),
    sa.Column('probed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('granted', 'denied', 'rate_limited', 'error')", name=op.f('ck_permission_probes_outcome')),
    sa.PrimaryKeyConstraint('probe_id', name=op.f('pk_permission_probes'))
    )
    op.create_index(op.f('ix_permission_probes_api_name'), 'permission_probes', ['api_name', 'probed_at'], unique=False)
    op.create_table('read_switch',
    sa.Column('module', sa.String(length=32), nullable=False),
    sa.Column('batch', sa.String(length=2), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("batch IN ('P0', 'P1', 'P2')", name=op.f('ck_read_switch_batch')),
    sa.CheckConstraint("module IN ('stock', 'etf', 'index', 'future', 'sge', 'fx', 'macro', 'p2_realtime_index', 'p2_realtime_equity_etf', 'p2_futures_microstructure', 'p2_stk_premarket')", name=op.f('ck_read_switch_module')),
    sa.PrimaryKeyConstraint('module', name=op.f('pk_read_switch'))
    )
    op.create_table('rollout_flags_audit',
    sa.Column('audit_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('rollout_batch', sa.String(length=253), nullable=False, comment='namespace/name'),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False, comment='flags.updatedAt'),
    sa.Column('p0_enabled', sa.Boolean(), nullable=False),
    sa.Column('p1_enabled', sa.Boolean(), nullable=False),
    sa.Column('p2_enabled', sa.Boolean(), nullable=False),
    sa.Column('p2_realtime_index_v1', sa.Boolean(), nullable=False),
    sa.Column('p2_realtime_equity_etf_v1', sa.Boolean(), nullable=False),
    sa.Column('p2_futures_microstructure_v1', sa.Boolean(), nullable=False),
    sa.Column('p2_special_permission_stk_premarket_v1', sa.Boolean(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('updated_at_ms >= 0', name=op.f('ck_rollout_flags_audit_updated_at_non_negative')),
    sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_rollout_flags_audit')),
    sa.UniqueConstraint('rollout_batch', 'updated_at_ms', name=op.f('uq_rollout_flags_audit_rollout_batch_updated_at_ms'))
    )
    op.create_table('status_matrix',
    sa.Column('dataset', sa.String(length=48), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False, comment='a trade date, month or quarter'),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expected', sa.BigInteger(), nullable=False),
    sa.Column('present', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False, comment='the rule that decided the status'),
    sa.Column('reason', sa.Text(), nullable=True, comment='why not_applicable / partial / missing'),
    sa.Column('explain', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False, comment='explain payload: sample of missing keys and more'),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status <> 'not_applicable' OR reason IS NOT NULL", name=op.f('ck_status_matrix_not_applicable_has_reason')),
    sa.CheckConstraint("status IN ('complete', 'partial', 'missing', 'not_applicable')", name=op.f('ck_status_matrix_status')),
    sa.CheckConstraint('expected >= 0 AND present >= 0', name=op.f('ck_status_matrix_counts_non_negative')),
    sa.PrimaryKeyConstraint('dataset', 'scope', 'period', name=op.f('pk_status_matrix'))
    )
    op.create_index(op.f('ix_status_matrix_status'), 'status_matrix', ['status', 'period'], unique=False)
    op.create_table('adj_factor',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('adj_factor', sa.Double(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('stock', 'etf')", name=op.f('ck_adj_factor_asset_class')),
    sa.CheckConstraint('adj_factor > 0', name=op.f('ck_adj_factor_adj_factor_positive')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_adj_factor_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', 'trade_date', name=op.f('pk_adj_factor'))
    )
    op.create_index(op.f('ix_adj_factor_run_id'), 'adj_factor', ['run_id'], unique=False)
    op.create_index(op.f('ix_adj_factor_trade_date'), 'adj_factor', ['trade_date'], unique=False)
    op.create_table('daily_bar',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('open', sa.Double(), nullable=True),
    sa.Column('high', sa.Double(), nullable=True),
    sa.Column('low', sa.Double(), nullable=True),
    sa.Column('close', sa.Double(), nullable=True),
    sa.Column('pre_close', sa.Double(), nullable=True),
    sa.Column('change', sa.Double(), nullable=True),
    sa.Column('pct_chg', sa.Double(), nullable=True, comment='percent, as the vendor sends it'),
    sa.Column('volume', sa.Double(), nullable=True),
    sa.Column('amount', sa.Double(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('stock', 'etf', 'index', 'future', 'sge', 'fx')", name=op.f('ck_daily_bar_asset_class')),
    sa.CheckConstraint('amount IS NULL OR amount >= 0', name=op.f('ck_daily_bar_amount_non_negative')),
    sa.CheckConstraint('volume IS NULL OR volume >= 0', name=op.f('ck_daily_bar_volume_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_daily_bar_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', 'trade_date', name=op.f('pk_daily_bar')),
    comment='Daily bars of every asset class; FX holds mid prices; volume in base units, amount in CNY.',
    postgresql_partition_by='LIST (asset_class)'
    )
    op.create_index(op.f('ix_daily_bar_run_id'), 'daily_bar', ['run_id'], unique=False)
    op.create_index(op.f('ix_daily_bar_trade_date'), 'daily_bar', ['trade_date', 'asset_class'], unique=False)
    op.create_table('fut_holding',
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('exchange', sa.String(length=8), nullable=False),
    sa.Column('symbol', sa.String(length=16), nullable=False),
    sa.Column('broker', sa.Text(), nullable=False),
    sa.Column('vol', sa.BigInteger(), nullable=True),
    sa.Column('vol_chg', sa.BigInteger(), nullable=True),
    sa.Column('long_hld', sa.BigInteger(), nullable=True),
    sa.Column('long_chg', sa.BigInteger(), nullable=True),
    sa.Column('short_hld', sa.BigInteger(), nullable=True),
    sa.Column('short_chg', sa.BigInteger(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_fut_holding_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('trade_date', 'exchange', 'symbol', 'broker', name=op.f('pk_fut_holding'))
    )
    op.create_index(op.f('ix_fut_holding_run_id'), 'fut_holding', ['run_id'], unique=False)
    op.create_index(op.f('ix_fut_holding_trade_date'), 'fut_holding', ['trade_date', 'exchange'], unique=False)
    op.create_table('fut_warehouse_receipt',
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('exchange', sa.String(length=8), nullable=False),
    sa.Column('symbol', sa.String(length=16), nullable=False, comment='product code, e.g. ZN'),
    sa.Column('warehouse', sa.Text(), nullable=False),
    sa.Column('wh_id', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.Text(), nullable=False),
    sa.Column('brand', sa.Text(), nullable=False),
    sa.Column('fut_name', sa.Text(), nullable=True),
    sa.Column('pre_vol', sa.BigInteger(), nullable=True),
    sa.Column('vol', sa.BigInteger(), nullable=True),
    sa.Column('vol_chg', sa.BigInteger(), nullable=True),
    sa.Column('area', sa.Text(), nullable=True),
    sa.Column('year', sa.String(length=8), nullable=True),
    sa.Column('place', sa.Text(), nullable=True),
    sa.Column('pd', sa.Integer(), nullable=True),
    sa.Column('is_ct', sa.String(length=4), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_fut_warehouse_receipt_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('trade_date', 'exchange', 'symbol', 'warehouse', 'wh_id', 'grade', 'brand', name=op.f('pk_fut_warehouse_receipt'))
    )
    op.create_index(op.f('ix_fut_warehouse_receipt_run_id'), 'fut_warehouse_receipt', ['run_id'], unique=False)
    op.create_index(op.f('ix_fut_warehouse_receipt_trade_date'), 'fut_warehouse_receipt', ['trade_date', 'exchange'], unique=False)
    op.create_table('future_daily_extra',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('settle', sa.Double(), nullable=True),
    sa.Column('pre_settle', sa.Double(), nullable=True),
    sa.Column('change1', sa.Double(), nullable=True, comment='close - pre_settle'),
    sa.Column('change2', sa.Double(), nullable=True, comment='settle - pre_settle'),
    sa.Column('open_interest', sa.Double(), nullable=True, comment='oi'),
    sa.Column('oi_chg', sa.Double(), nullable=True),
    sa.Column('delv_settle', sa.Double(), nullable=True, comment='delivery settlement price'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('open_interest IS NULL OR open_interest >= 0', name=op.f('ck_future_daily_extra_open_interest_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_future_daily_extra_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('code', 'trade_date', name=op.f('pk_future_daily_extra'))
    )
    op.create_index(op.f('ix_future_daily_extra_run_id'), 'future_daily_extra', ['run_id'], unique=False)
    op.create_index(op.f('ix_future_daily_extra_trade_date'), 'future_daily_extra', ['trade_date'], unique=False)
    op.create_table('fx_daily_quote',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False, comment='GMT day'),
    sa.Column('bid_open', sa.Double(), nullable=True),
    sa.Column('bid_high', sa.Double(), nullable=True),
    sa.Column('bid_low', sa.Double(), nullable=True),
    sa.Column('bid_close', sa.Double(), nullable=True),
    sa.Column('ask_open', sa.Double(), nullable=True),
    sa.Column('ask_high', sa.Double(), nullable=True),
    sa.Column('ask_low', sa.Double(), nullable=True),
    sa.Column('ask_close', sa.Double(), nullable=True),
    sa.Column('tick_qty', sa.BigInteger(), nullable=True),
    sa.Column('exchange', sa.String(length=16), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('bid_close IS NULL OR ask_close IS NULL OR ask_close >= bid_close', name=op.f('ck_fx_daily_quote_ask_not_below_bid')),
    sa.CheckConstraint('tick_qty IS NULL OR tick_qty >= 0', name=op.f('ck_fx_daily_quote_tick_qty_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_fx_daily_quote_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('code', 'trade_date', name=op.f('pk_fx_daily_quote'))
    )
    op.create_index(op.f('ix_fx_daily_quote_run_id'), 'fx_daily_quote', ['run_id'], unique=False)
    op.create_index(op.f('ix_fx_daily_quote_trade_date'), 'fx_daily_quote', ['trade_date'], unique=False)
    op.create_table('gate_check_results',
    sa.Column('result_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('gate_run_id', sa.BigInteger(), nullable=False),
    sa.Column('check_name', sa.String(length=64), nullable=False),
    sa.Column('dataset', sa.String(length=48), nullable=True),
    sa.Column('partition_key', sa.String(length=64), nullable=True),
    sa.Column('severity', sa.String(length=4), nullable=False),
    sa.Column('metric_value', sa.Double(), nullable=True),
    sa.Column('warn_threshold', sa.Double(), nullable=True),
    sa.Column('fail_threshold', sa.Double(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('sample_keys', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False, comment='a few offending keys, for the explanation'),
    sa.Column('message', sa.Text(), nullable=True),
    sa.CheckConstraint("(severity = 'PASS') = passed", name=op.f('ck_gate_check_results_passed_iff_pass')),
    sa.CheckConstraint("severity IN ('PASS', 'WARN', 'FAIL')", name=op.f('ck_gate_check_results_severity')),
    sa.ForeignKeyConstraint(['gate_run_id'], ['gate_runs.gate_run_id'], name=op.f('fk_gate_check_results_gate_run_id_gate_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('result_id', name=op.f('pk_gate_check_results'))
    )
    op.create_index('ix_gate_check_results_check_dataset', 'gate_check_results', ['check_name', 'dataset'], unique=False)
    op.create_index(op.f('ix_gate_check_results_gate_run_id'), 'gate_check_results', ['gate_run_id'], unique=False)
    op.create_table('index_weight',
    sa.Column('index_code', sa.String(length=32), nullable=False),
    sa.Column('con_code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('weight', sa.Double(), nullable=True, comment='percent'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('weight IS NULL OR weight >= 0', name=op.f('ck_index_weight_weight_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_index_weight_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('index_code', 'con_code', 'trade_date', name=op.f('pk_index_weight'))
    )
    op.create_index(op.f('ix_index_weight_run_id'), 'index_weight', ['run_id'], unique=False)
    op.create_index(op.f('ix_index_weight_trade_date'), 'index_weight', ['trade_date'], unique=False)
    op.create_table('ingest_checkpoints',
    sa.Column('dataset', sa.String(length=48), nullable=False),
    sa.Column('partition_key', sa.String(length=64), nullable=False, comment='e.g. 20240102 or a code'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_ingest_checkpoints_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('dataset', 'partition_key', name=op.f('pk_ingest_checkpoints'))
    )
    op.create_index(op.f('ix_ingest_checkpoints_run_id'), 'ingest_checkpoints', ['run_id'], unique=False)
    op.create_table('instrument',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False, comment='ts_code; SGE codes have no suffix'),
    sa.Column('symbol', sa.String(length=32), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('fullname', sa.Text(), nullable=True),
    sa.Column('exchange', sa.String(length=16), nullable=True),
    sa.Column('market', sa.String(length=32), nullable=True, comment='board (stocks), market (indices, funds)'),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('list_status', sa.String(length=1), nullable=True, comment='L listed, D delisted, P suspended, G approved'),
    sa.Column('list_date', sa.Date(), nullable=True),
    sa.Column('delist_date', sa.Date(), nullable=True),
    sa.Column('product_code', sa.String(length=16), nullable=True, comment='futures: fut_code (product), e.g. CU'),
    sa.Column('multiplier', sa.Double(), nullable=True, comment='futures: contract multiplier'),
    sa.Column('last_delivery_date', sa.Date(), nullable=True, comment='futures: last_ddate'),
    sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False, comment='remaining vendor fields verbatim; nothing the gates or the status matrix query'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('stock', 'etf', 'index', 'future', 'sge', 'fx')", name=op.f('ck_instrument_asset_class')),
    sa.CheckConstraint("list_status IN ('L', 'D', 'P', 'G')", name=op.f('ck_instrument_list_status')),
    sa.CheckConstraint('delist_date IS NULL OR list_date IS NULL OR delist_date >= list_date', name=op.f('ck_instrument_listing_order')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_instrument_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', name=op.f('pk_instrument')),
    comment='Instruments of every asset class (stock, etf, index, future, sge, fx).'
    )
    op.create_index(op.f('ix_instrument_asset_class'), 'instrument', ['asset_class', 'list_date', 'delist_date'], unique=False)
    op.create_index(op.f('ix_instrument_run_id'), 'instrument', ['run_id'], unique=False)
    op.create_table('macro_observation',
    sa.Column('series_id', sa.String(length=64), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False, comment='last day of the reference period'),
    sa.Column('vintage', sa.SmallInteger(), nullable=False, comment='1 = first release'),
    sa.Column('period', sa.String(length=10), nullable=False, comment='as the vendor labels it: YYYYMM, YYYYQn, YYYYMMDD'),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_date', sa.Date(), nullable=False, comment='Beijing date of available_at'),
    sa.Column('available_source', sa.String(length=20), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("available_date = (available_at AT TIME ZONE 'Asia/Shanghai')::date", name=op.f('ck_macro_observation_available_date_is_beijing_day')),
    sa.CheckConstraint("available_source IN ('official_calendar', 'vendor_field', 'lag_rule', 'first_seen')", name=op.f('ck_macro_observation_available_source')),
    sa.CheckConstraint('vintage >= 1', name=op.f('ck_macro_observation_vintage_positive')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_macro_observation_run_id_ingest_runs')),
    sa.ForeignKeyConstraint(['series_id'], ['macro_series.series_id'], name=op.f('fk_macro_observation_series_id_macro_series')),
    sa.PrimaryKeyConstraint('series_id', 'period_end', 'vintage', name=op.f('pk_macro_observation'))
    )
    op.create_index(op.f('ix_macro_observation_run_id'), 'macro_observation', ['run_id'], unique=False)
    op.create_index(op.f('ix_macro_observation_series_id'), 'macro_observation', ['series_id', 'available_at'], unique=False)
    op.create_table('minute_bar',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('freq', sa.String(length=6), nullable=False),
    sa.Column('trade_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open', sa.Double(), nullable=True),
    sa.Column('high', sa.Double(), nullable=True),
    sa.Column('low', sa.Double(), nullable=True),
    sa.Column('close', sa.Double(), nullable=True),
    sa.Column('volume', sa.Double(), nullable=True),
    sa.Column('amount', sa.Double(), nullable=True),
    sa.Column('open_interest', sa.Double(), nullable=True, comment='futures only (ft_mins oi)'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class = 'future' OR open_interest IS NULL", name=op.f('ck_minute_bar_open_interest_only_futures')),
    sa.CheckConstraint("asset_class IN ('stock', 'etf', 'index', 'future')", name=op.f('ck_minute_bar_asset_class')),
    sa.CheckConstraint("freq IN ('1min', '5min', '15min', '30min', '60min')", name=op.f('ck_minute_bar_freq')),
    sa.CheckConstraint('volume IS NULL OR volume >= 0', name=op.f('ck_minute_bar_volume_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_minute_bar_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', 'freq', 'trade_time', name=op.f('pk_minute_bar')),
    postgresql_partition_by='RANGE (trade_time)'
    )
    op.create_index(op.f('ix_minute_bar_run_id'), 'minute_bar', ['run_id'], unique=False)
    op.create_table('realtime_minute_bar',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('freq', sa.String(length=6), nullable=False),
    sa.Column('bar_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open', sa.Double(), nullable=True),
    sa.Column('high', sa.Double(), nullable=True),
    sa.Column('low', sa.Double(), nullable=True),
    sa.Column('close', sa.Double(), nullable=True),
    sa.Column('volume', sa.Double(), nullable=True),
    sa.Column('amount', sa.Double(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('stock', 'etf', 'index')", name=op.f('ck_realtime_minute_bar_asset_class')),
    sa.CheckConstraint("freq IN ('1MIN', '5MIN', '15MIN', '30MIN', '60MIN')", name=op.f('ck_realtime_minute_bar_freq')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_realtime_minute_bar_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', 'freq', 'bar_time', name=op.f('pk_realtime_minute_bar')),
    postgresql_partition_by='RANGE (bar_time)'
    )
    op.create_index(op.f('ix_realtime_minute_bar_run_id'), 'realtime_minute_bar', ['run_id'], unique=False)
    op.create_table('realtime_quote',
    sa.Column('asset_class', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('snapshot_at', sa.DateTime(timezone=True), nullable=False, comment='trade_time of the snapshot'),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('open', sa.Double(), nullable=True),
    sa.Column('high', sa.Double(), nullable=True),
    sa.Column('low', sa.Double(), nullable=True),
    sa.Column('close', sa.Double(), nullable=True),
    sa.Column('pre_close', sa.Double(), nullable=True),
    sa.Column('volume', sa.Double(), nullable=True),
    sa.Column('amount', sa.Double(), nullable=True),
    sa.Column('num_trades', sa.BigInteger(), nullable=True, comment='rt_etf_k num'),
    sa.Column('ask_volume1', sa.BigInteger(), nullable=True),
    sa.Column('bid_volume1', sa.BigInteger(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("asset_class IN ('etf', 'index')", name=op.f('ck_realtime_quote_asset_class')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_realtime_quote_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('asset_class', 'code', 'snapshot_at', name=op.f('pk_realtime_quote'))
    )
    op.create_index(op.f('ix_realtime_quote_run_id'), 'realtime_quote', ['run_id'], unique=False)
    op.create_index(op.f('ix_realtime_quote_snapshot_at'), 'realtime_quote', ['snapshot_at'], unique=False)
    op.create_table('sge_daily_extra',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('price_avg', sa.Double(), nullable=True, comment='weighted average price'),
    sa.Column('open_interest', sa.Double(), nullable=True, comment='oi'),
    sa.Column('settle_vol', sa.Double(), nullable=True, comment='delivery volume'),
    sa.Column('settle_dire', sa.Text(), nullable=True, comment='delivery direction'),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_sge_daily_extra_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('code', 'trade_date', name=op.f('pk_sge_daily_extra'))
    )
    op.create_index(op.f('ix_sge_daily_extra_run_id'), 'sge_daily_extra', ['run_id'], unique=False)
    op.create_index(op.f('ix_sge_daily_extra_trade_date'), 'sge_daily_extra', ['trade_date'], unique=False)
    op.create_table('stk_premarket',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('total_share', sa.Double(), nullable=True),
    sa.Column('float_share', sa.Double(), nullable=True),
    sa.Column('pre_close', sa.Double(), nullable=True),
    sa.Column('up_limit', sa.Double(), nullable=True),
    sa.Column('down_limit', sa.Double(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('down_limit IS NULL OR up_limit IS NULL OR down_limit <= up_limit', name=op.f('ck_stk_premarket_limits_ordered')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_stk_premarket_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('code', 'trade_date', name=op.f('pk_stk_premarket'))
    )
    op.create_index(op.f('ix_stk_premarket_run_id'), 'stk_premarket', ['run_id'], unique=False)
    op.create_index(op.f('ix_stk_premarket_trade_date'), 'stk_premarket', ['trade_date'], unique=False)
    op.create_table('stock_daily_basic',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('close', sa.Double(), nullable=True),
    sa.Column('turnover_rate', sa.Double(), nullable=True),
    sa.Column('turnover_rate_f', sa.Double(), nullable=True),
    sa.Column('volume_ratio', sa.Double(), nullable=True),
    sa.Column('pe', sa.Double(), nullable=True),
    sa.Column('pe_ttm', sa.Double(), nullable=True),
    sa.Column('pb', sa.Double(), nullable=True),
    sa.Column('ps', sa.Double(), nullable=True),
    sa.Column('ps_ttm', sa.Double(), nullable=True),
    sa.Column('dv_ratio', sa.Double(), nullable=True),
    sa.Column('dv_ttm', sa.Double(), nullable=True),
    sa.Column('total_share', sa.Double(), nullable=True),
    sa.Column('float_share', sa.Double(), nullable=True),
    sa.Column('free_share', sa.Double(), nullable=True),
    sa.Column('total_mv', sa.Double(), nullable=True),
    sa.Column('circ_mv', sa.Double(), nullable=True),
    sa.Column('limit_status', sa.SmallInteger(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_stock_daily_basic_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('code', 'trade_date', name=op.f('pk_stock_daily_basic'))
    )
    op.create_index(op.f('ix_stock_daily_basic_run_id'), 'stock_daily_basic', ['run_id'], unique=False)
    op.create_index(op.f('ix_stock_daily_basic_trade_date'), 'stock_daily_basic', ['trade_date'], unique=False)
    op.create_table('trade_calendar',
    sa.Column('exchange', sa.String(length=8), nullable=False),
    sa.Column('cal_date', sa.Date(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('pretrade_date', sa.Date(), nullable=True),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("exchange IN ('SSE', 'SZSE', 'BSE', 'CFFEX', 'SHFE', 'CZCE', 'DCE', 'INE', 'GFEX')", name=op.f('ck_trade_calendar_exchange')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_runs.run_id'], name=op.f('fk_trade_calendar_run_id_ingest_runs')),
    sa.PrimaryKeyConstraint('exchange', 'cal_date', name=op.f('pk_trade_calendar')),
    comment='Trading calendar per exchange (SSE, SZSE, BSE and the futures exchanges).'
    )
    op.create_index('ix_trade_calendar_open_days', 'trade_calendar', ['exchange', 'cal_date'], unique=False, postgresql_where=sa.text('is_open'))
    op.create_index(op.f('ix_trade_calendar_run_id'), 'trade_calendar', ['run_id'], unique=False)
    # ### end Alembic commands ###


def _drop_tables() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f('ix_trade_calendar_run_id'), table_name='trade_calendar')
    op.drop_index('ix_trade_calendar_open_days', table_name='trade_calendar', postgresql_where=sa.text('is_open'))
    op.drop_table('trade_calendar')
    op.drop_index(op.f('ix_stock_daily_basic_trade_date'), table_name='stock_daily_basic')
    op.drop_index(op.f('ix_stock_daily_basic_run_id'), table_name='stock_daily_basic')
    op.drop_table('stock_daily_basic')
    op.drop_index(op.f('ix_stk_premarket_trade_date'), table_name='stk_premarket')
    op.drop_index(op.f('ix_stk_premarket_run_id'), table_name='stk_premarket')
    op.drop_table('stk_premarket')
    op.drop_index(op.f('ix_sge_daily_extra_trade_date'), table_name='sge_daily_extra')
    op.drop_index(op.f('ix_sge_daily_extra_run_id'), table_name='sge_daily_extra')
    op.drop_table('sge_daily_extra')
    op.drop_index(op.f('ix_realtime_quote_snapshot_at'), table_name='realtime_quote')
    op.drop_index(op.f('ix_realtime_quote_run_id'), table_name='realtime_quote')
    op.drop_table('realtime_quote')
    op.drop_index(op.f('ix_realtime_minute_bar_run_id'), table_name='realtime_minute_bar')
    op.drop_table('realtime_minute_bar')
    op.drop_index(op.f('ix_minute_bar_run_id'), table_name='minute_bar')
    op.drop_table('minute_bar')
    op.drop_index(op.f('ix_macro_observation_series_id'), table_name='macro_observation')
    op.drop_index(op.f('ix_macro_observation_run_id'), table_name='macro_observation')
    op.drop_table('macro_observation')
    op.drop_index(op.f('ix_instrument_run_id'), table_name='instrument')
    op.drop_index(op.f('ix_instrument_asset_class'), table_name='instrument')
    op.drop_table('instrument')
    op.drop_index(op.f('ix_ingest_checkpoints_run_id'), table_name='ingest_checkpoints')
    op.drop_table('ingest_checkpoints')
    op.drop_index(op.f('ix_index_weight_trade_date'), table_name='index_weight')
    op.drop_index(op.f('ix_index_weight_run_id'), table_name='index_weight')
    op.drop_table('index_weight')
    op.drop_index(op.f('ix_gate_check_results_gate_run_id'), table_name='gate_check_results')
    op.drop_index('ix_gate_check_results_check_dataset', table_name='gate_check_results')
    op.drop_table('gate_check_results')
    op.drop_index(op.f('ix_fx_daily_quote_trade_date'), table_name='fx_daily_quote')
    op.drop_index(op.f('ix_fx_daily_quote_run_id'), table_name='fx_daily_quote')
    op.drop_table('fx_daily_quote')
    op.drop_index(op.f('ix_future_daily_extra_trade_date'), table_name='future_daily_extra')
    op.drop_index(op.f('ix_future_daily_extra_run_id'), table_name='future_daily_extra')
    op.drop_table('future_daily_extra')
    op.drop_index(op.f('ix_fut_warehouse_receipt_trade_date'), table_name='fut_warehouse_receipt')
    op.drop_index(op.f('ix_fut_warehouse_receipt_run_id'), table_name='fut_warehouse_receipt')
    op.drop_table('fut_warehouse_receipt')
    op.drop_index(op.f('ix_fut_holding_trade_date'), table_name='fut_holding')
    op.drop_index(op.f('ix_fut_holding_run_id'), table_name='fut_holding')
    op.drop_table('fut_holding')
    op.drop_index(op.f('ix_daily_bar_trade_date'), table_name='daily_bar')
    op.drop_index(op.f('ix_daily_bar_run_id'), table_name='daily_bar')
    op.drop_table('daily_bar')
    op.drop_index(op.f('ix_adj_factor_trade_date'), table_name='adj_factor')
    op.drop_index(op.f('ix_adj_factor_run_id'), table_name='adj_factor')
    op.drop_table('adj_factor')
    op.drop_index(op.f('ix_status_matrix_status'), table_name='status_matrix')
    op.drop_table('status_matrix')
    op.drop_table('rollout_flags_audit')
    op.drop_table('read_switch')
    op.drop_index(op.f('ix_permission_probes_api_name'), table_name='permission_probes')
    op.drop_table('permission_probes')
    op.drop_table('macro_series')
    op.drop_table('ingest_targets')
    op.drop_table('ingest_scheduler_config_v1')
    op.drop_index(op.f('ix_ingest_runs_dataset'), table_name='ingest_runs')
    op.drop_index('ix_ingest_runs_batch_status', table_name='ingest_runs')
    op.drop_table('ingest_runs')
    op.drop_table('ingest_control_state_v1')
    op.drop_index(op.f('ix_gate_runs_phase'), table_name='gate_runs')
    op.drop_table('gate_runs')
    # ### end Alembic commands ###
