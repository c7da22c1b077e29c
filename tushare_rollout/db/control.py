"""Control tables: runs, checkpoints, gates, probes, the flags audit, scheduling, targets,
the status matrix, the read switches behind the consumer views and the rollbacks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer, String, Text,
    UniqueConstraint, func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import AssetClass, Base, Batch, ReadModule, one_of

RUN_STATUSES = ["running", "succeeded", "failed", "cancelled"]
INGEST_MODES = ["backfill", "incremental", "daily", "realtime"]
ERROR_CLASSES = [
    "bad_token", "permission_denied", "rate_limited", "daily_quota", "bad_api_name", "bad_parameters",
    "server_error", "database_error", "bad_configuration", "cancelled", "internal",
]
GATES = ["stability", "reconciliation", "quality", "scheduling", "batch"]
PHASES = ["A", "B", "C", "D", "E"]
SEVERITIES = ["PASS", "WARN", "FAIL"]
PROBE_OUTCOMES = ["granted", "denied", "rate_limited", "error"]
CELL_STATUSES = ["complete", "partial", "missing", "not_applicable"]
CONTROL_STATES = ["running", "paused", "cancelled"]


class IngestRun(Base):
    """One row per ingest run, with the counters the client kept."""

    __tablename__ = "ingest_runs"
    __table_args__ = (
        one_of("batch", Batch),
        one_of("mode", INGEST_MODES),
        one_of("status", RUN_STATUSES),
        one_of("error_class", ERROR_CLASSES),
        CheckConstraint("window_end IS NULL OR window_start IS NULL OR window_end >= window_start",
                        name="window_ordered"),
        CheckConstraint("shard_index >= 0 AND shard_count >= 1 AND shard_index < shard_count", name="shard_in_range"),
        CheckConstraint(
            "rows_fetched >= 0 AND rows_inserted >= 0 AND rows_updated >= 0 AND rows_unchanged >= 0"
            " AND api_calls >= 0 AND rate_limit_hits >= 0 AND retries >= 0 AND wait_ms >= 0",
            name="counters_non_negative",
        ),
        CheckConstraint("(status = 'running') = (finished_at IS NULL)", name="finished_iff_not_running"),
        Index(None, "dataset", "started_at"),
        Index("ix_ingest_runs_batch_status", "batch", "status"),
    )

    run_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    batch: Mapped[str] = mapped_column(String(2), nullable=False)
    dataset: Mapped[str] = mapped_column(String(48), nullable=False)
    mode: Mapped[str] = mapped_column(String(12), nullable=False)
    window_start: Mapped[dt.date | None] = mapped_column(Date)
    window_end: Mapped[dt.date | None] = mapped_column(Date)
    shard_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    shard_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="running")
    rows_fetched: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rows_inserted: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rows_updated: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rows_unchanged: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    api_calls: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    rate_limit_hits: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    retries: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    wait_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0",
                                         comment="time spent waiting on rate limits and backoff")
    partitions_written: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0",
                                                    comment="partitions committed with their checkpoint")
    error_class: Mapped[str | None] = mapped_column(String(20))
    error_message: Mapped[str | None] = mapped_column(Text)
    checkpoint: Mapped[str | None] = mapped_column(String(64), comment="last partition committed by this run")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    job_name: Mapped[str | None] = mapped_column(String(253), comment="the Kubernetes Job that ran it")
    rolled_back_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("rollback_runs.rollback_id", ondelete="SET NULL"),
        comment="the rollback_runs row that purged this run's rows")


class IngestCheckpoint(Base):
    """A partition of a dataset that is complete; written in the same transaction as the partition's rows."""

    __tablename__ = "ingest_checkpoints"

    dataset: Mapped[str] = mapped_column(String(48), primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="e.g. 20240102 or a code")
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ingest_runs.run_id"), nullable=False, index=True)
    rows: Mapped[int] = mapped_column(BigInteger, nullable=False)
    completed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class GateRun(Base):
    """One evaluation of a gate over a window of trading days."""

    __tablename__ = "gate_runs"
    __table_args__ = (
        one_of("phase", PHASES),
        one_of("gate", GATES),
        one_of("batch", Batch),
        one_of("status", RUN_STATUSES),
        Index(None, "phase", "started_at"),
    )

    gate_run_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    phase: Mapped[str] = mapped_column(String(1), nullable=False)
    gate: Mapped[str] = mapped_column(String(16), nullable=False)
    batch: Mapped[str | None] = mapped_column(String(2))
    window_start: Mapped[dt.date | None] = mapped_column(Date)
    window_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="running")
    passed: Mapped[bool | None] = mapped_column(Boolean)
    rollout_batch: Mapped[str | None] = mapped_column(String(253), comment="namespace/name of the RolloutBatch")
    job_name: Mapped[str | None] = mapped_column(String(253))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class GateCheckResult(Base):
    """One check's outcome within a gate run, with its metric and thresholds."""

    __tablename__ = "gate_check_results"
    __table_args__ = (
        one_of("severity", SEVERITIES),
        CheckConstraint("(severity = 'PASS') = passed", name="passed_iff_pass"),
        Index(None, "gate_run_id"),
        Index("ix_gate_check_results_check_dataset", "check_name", "dataset"),
    )

    result_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    gate_run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("gate_runs.gate_run_id", ondelete="CASCADE"),
                                             nullable=False)
    check_name: Mapped[str] = mapped_column(String(64), nullable=False)
    dataset: Mapped[str | None] = mapped_column(String(48))
    partition_key: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(4), nullable=False)
    metric_value: Mapped[float | None]
    warn_threshold: Mapped[float | None]
    fail_threshold: Mapped[float | None]
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    sample_keys: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default="[]",
                                                   comment="a few offending keys, for the explanation")
    message: Mapped[str | None] = mapped_column(Text)


class PermissionProbe(Base):
    """One permission probe of one API, with the server's message."""

    __tablename__ = "permission_probes"
    __table_args__ = (one_of("outcome", PROBE_OUTCOMES), Index(None, "api_name", "probed_at"))

    probe_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    api_name: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(12), nullable=False)
    error_code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    rollout_batch: Mapped[str | None] = mapped_column(String(253))
    probe_token: Mapped[str | None] = mapped_column(String(253), comment="spec.probeToken that asked for it")
    probed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class FlagsAudit(Base):
    """Every accepted version of ``rollout_flags_v1`` (field names as in the roadmap, snake-cased)."""

    __tablename__ = "rollout_flags_audit"
    __table_args__ = (
        UniqueConstraint("rollout_batch", "updated_at_ms"),
        CheckConstraint("updated_at_ms >= 0", name="updated_at_non_negative"),
    )

    audit_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    rollout_batch: Mapped[str] = mapped_column(String(253), nullable=False, comment="namespace/name")
    generation: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, comment="flags.updatedAt")
    p0_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p1_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p2_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p2_realtime_index_v1: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p2_realtime_equity_etf_v1: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p2_futures_microstructure_v1: Mapped[bool] = mapped_column(Boolean, nullable=False)
    p2_special_permission_stk_premarket_v1: Mapped[bool] = mapped_column(Boolean, nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class IngestSchedulerConfigV1(Base):
    """``ingest_scheduler_config_v1``: the steady-state schedule per batch (mirrors ``spec.schedule``)."""

    __tablename__ = "ingest_scheduler_config_v1"
    __table_args__ = (one_of("batch", Batch),)

    batch: Mapped[str] = mapped_column(String(2), primary_key=True)
    cron: Mapped[str] = mapped_column(String(64), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="Asia/Shanghai")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class IngestControlStateV1(Base):
    """``ingest_control_state_v1``: pause / resume / cancel of ingestion per batch (mirrors ``spec.control``)."""

    __tablename__ = "ingest_control_state_v1"
    __table_args__ = (one_of("batch", Batch), one_of("state", CONTROL_STATES))

    batch: Mapped[str] = mapped_column(String(2), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), nullable=False, server_default="running")
    reason: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str | None] = mapped_column(String(253))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class IngestTarget(Base):
    """What should exist: a dataset over a scope (the market, or one code), from a start date."""

    __tablename__ = "ingest_targets"
    __table_args__ = (one_of("batch", Batch), one_of("asset_class", [*AssetClass, "macro"], name="asset_class"))

    dataset: Mapped[str] = mapped_column(String(48), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True, comment="'market' or a code")
    batch: Mapped[str] = mapped_column(String(2), nullable=False)
    asset_class: Mapped[str | None] = mapped_column(String(8))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class StatusMatrixCell(Base):
    """One cell of the SSOT status matrix: a target over one period, computed from stored rows."""

    __tablename__ = "status_matrix"
    __table_args__ = (
        one_of("status", CELL_STATUSES),
        CheckConstraint("expected >= 0 AND present >= 0", name="counts_non_negative"),
        CheckConstraint("status <> 'not_applicable' OR reason IS NOT NULL", name="not_applicable_has_reason"),
        Index(None, "status", "period"),
        Index(None, "period_date", "dataset"),
    )

    dataset: Mapped[str] = mapped_column(String(48), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True, comment="a trade date, month or quarter")
    period_date: Mapped[dt.date | None] = mapped_column(Date, comment="first day of the period, for ranges")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    expected: Mapped[int] = mapped_column(BigInteger, nullable=False)
    present: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rule: Mapped[str] = mapped_column(String(64), nullable=False, comment="the rule that decided the status")
    reason: Mapped[str | None] = mapped_column(Text, comment="why not_applicable / partial / missing")
    explain: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}",
                                                    comment="explain payload: sample of missing keys and more")
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ReadSwitch(Base):
    """Whether readers see a module: the consumer views filter on it, so a rollback takes effect at once."""

    __tablename__ = "read_switch"
    __table_args__ = (one_of("module", ReadModule), one_of("batch", Batch))

    module: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch: Mapped[str] = mapped_column(String(2), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class RollbackBaseline(Base):
    """What a rollback returns to, recorded in phase A: the schema revision, the newest run before
    the rollout, the read switches and the flags at that moment."""

    __tablename__ = "rollback_baselines"
    __table_args__ = (one_of("phase", PHASES), Index(None, "rollout_batch", "recorded_at"))

    baseline_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    rollout_batch: Mapped[str] = mapped_column(String(253), nullable=False, comment="namespace/name")
    phase: Mapped[str] = mapped_column(String(1), nullable=False, comment="the phase about to start")
    schema_revision: Mapped[str] = mapped_column(String(32), nullable=False)
    max_run_id: Mapped[int | None] = mapped_column(BigInteger, comment="newest ingest_runs.run_id before the phase")
    read_switches: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, comment="module -> enabled")
    flags_updated_at_ms: Mapped[int | None] = mapped_column(BigInteger, comment="flags.updatedAt in force")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class RollbackRun(Base):
    """One phase rollback (``tushare-rollout job rollback``): the read switches it turned off and,
    with ``--purge-data``, the rows it deleted per table. A schema rollback (phase A ``--schema``)
    drops this table too, so that one is only printed and written to the termination log."""

    __tablename__ = "rollback_runs"
    __table_args__ = (
        one_of("phase", PHASES),
        one_of("batch", Batch),
        CheckConstraint("finished_at >= started_at", name="finished_after_start"),
        Index(None, "rollout_batch", "started_at"),
    )

    rollback_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    rollout_batch: Mapped[str] = mapped_column(String(253), nullable=False, comment="namespace/name")
    phase: Mapped[str] = mapped_column(String(1), nullable=False)
    batch: Mapped[str | None] = mapped_column(String(2), comment="the phase's batch; NULL for A and E")
    purge_data: Mapped[bool] = mapped_column(Boolean, nullable=False)
    schema: Mapped[bool] = mapped_column(Boolean, nullable=False, comment="--schema was asked for")
    switches_off: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default="[]",
                                                    comment="read_switch modules this rollback turned off")
    rows_deleted: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}",
                                                         comment="table -> rows deleted (with --purge-data)")
    runs_rolled_back: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0",
                                                  comment="ingest_runs newly marked rolled_back_by this row")
    message: Mapped[str | None] = mapped_column(Text, comment="the Job's summary line")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                     server_default=func.now())
    job_name: Mapped[str | None] = mapped_column(String(253), comment="the Kubernetes Job that ran it")


class RollbackDrill(Base):
    """One rollback drill of phase E (``tushare-rollout job rollback-drill``): on a disposable copy of the
    data, P2 rolled back (readers must lose exactly P2 and keep P0/P1) and rolled forward again (the data
    must come back identical, by table checksums)."""

    __tablename__ = "rollback_drills"
    __table_args__ = (
        CheckConstraint("finished_at >= started_at", name="finished_after_start"),
        Index(None, "rollout_batch", "started_at"),
    )

    drill_id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    rollout_batch: Mapped[str] = mapped_column(String(253), nullable=False, comment="namespace/name")
    job_name: Mapped[str | None] = mapped_column(String(253), comment="the Kubernetes Job that ran it")
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    scratch_schema: Mapped[str] = mapped_column(String(63), nullable=False, comment="the disposable copy (dropped)")
    readers_lost: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}",
                                                         comment="view -> rows visible before and after rollback")
    readers_kept: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}",
                                                         comment="P0/P1 view -> rows, unchanged by the rollback")
    tables: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}",
                                                   comment="table -> rows before, after rollback, after roll-forward")
    differences: Mapped[list[Any]] = mapped_column(JSONB, nullable=False, server_default="[]",
                                                   comment="what was not as required (empty when passed)")
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False,
                                                     server_default=func.now())
