"""Reading the control tables into a :class:`~.model.Snapshot`: plain SQL in, plain data out.

Only the tables that exist are read, so an empty or unmigrated database gives an empty snapshot
that names what is missing, not an error. ``--since``/``--until`` bound the data window: runs and
gate runs whose window reaches into it, matrix cells and committed partitions inside it. Rollbacks,
flags, baselines and probes have no data window and are always read; ``--rollout-batch`` narrows
everything that records its RolloutBatch (ingest runs do not).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Connection, text

from ..flags import RolloutFlags
from .model import (
    Baseline, CheckResult, Drill, FlagsVersion, GateRun, IngestRun, MatrixCell, Probe, Rollback, Snapshot, Window,
)

TABLES = ("ingest_runs", "ingest_checkpoints", "gate_runs", "gate_check_results", "rollback_runs",
          "rollout_flags_audit", "rollback_baselines", "permission_probes", "status_matrix", "trade_calendar",
          "rollback_drills")
_WINDOW = ("(CAST(:a AS date) IS NULL OR window_end IS NULL OR window_end >= :a)"
           " AND (CAST(:b AS date) IS NULL OR window_start IS NULL OR window_start <= :b)")
_RB = "(CAST(:rb AS text) IS NULL OR rollout_batch = :rb)"


def existing_tables(conn: Connection) -> set[str]:
    return {name for name in TABLES if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()}


def snapshot(conn: Connection, *, database: str, window: Window, rollout_batch: str | None,
             generated_at: dt.datetime) -> Snapshot:
    """Everything the report shows, read in one transaction."""
    have = existing_tables(conn)
    snap = Snapshot(database, window, rollout_batch, generated_at, [t for t in TABLES if t not in have])
    params = {"a": window.since, "b": window.until, "rb": rollout_batch}
    if "ingest_runs" in have:
        snap.runs = runs(conn, params)
    if {"gate_runs", "gate_check_results"} <= have:
        snap.gate_runs = gate_runs(conn, params)
    if "rollback_runs" in have:
        snap.rollbacks = rollbacks(conn, params)
    if "rollout_flags_audit" in have:
        snap.flags = flags(conn, params)
    if "rollback_baselines" in have:
        snap.baselines = [Baseline(*r) for r in conn.execute(text(
            f"SELECT rollout_batch, phase, recorded_at FROM rollback_baselines WHERE {_RB} ORDER BY recorded_at"),
            params)]
    if "permission_probes" in have:
        snap.probes = [Probe(*r) for r in conn.execute(text(
            "SELECT api_name, outcome, error_code, message, rollout_batch, probed_at FROM permission_probes"
            f" WHERE {_RB} ORDER BY probed_at, probe_id"), params)]
    if "status_matrix" in have:
        snap.cells = cells(conn, params)
    if "rollback_drills" in have:
        snap.drills = drills(conn, params)
    days = sorted({c.period_date for c in snap.cells if c.period_date and len(c.period) == 8})
    if "trade_calendar" in have and days:
        snap.open_days = list(conn.execute(text(
            "SELECT cal_date FROM trade_calendar WHERE exchange = 'SSE' AND is_open AND cal_date BETWEEN :a AND :b"
            " ORDER BY cal_date"), {"a": days[0], "b": days[-1]}).scalars())
    if "ingest_checkpoints" in have:
        snap.volume = [(d, dt.datetime.strptime(k, "%Y%m%d").date(), int(n)) for d, k, n in conn.execute(text(
            "SELECT dataset, partition_key, sum(rows) FROM ingest_checkpoints WHERE partition_key ~ '^[0-9]{8}$'"
            " AND (CAST(:a AS text) IS NULL OR partition_key >= :a) AND (CAST(:b AS text) IS NULL OR"
            " partition_key <= :b) GROUP BY 1, 2 ORDER BY 2, 1"),
            {"a": window.since and window.since.strftime("%Y%m%d"),
             "b": window.until and window.until.strftime("%Y%m%d")})]
    return snap


def runs(conn: Connection, params: dict) -> list[IngestRun]:
    return [IngestRun(*r) for r in conn.execute(text(
        "SELECT run_id, batch, dataset, mode, window_start, window_end, status, rows_fetched,"
        " rows_inserted + rows_updated, api_calls, rate_limit_hits, retries, wait_ms, error_class, started_at,"
        f" finished_at, rolled_back_by, job_name FROM ingest_runs WHERE {_WINDOW} ORDER BY started_at, run_id"),
        params)]


def gate_runs(conn: Connection, params: dict) -> list[GateRun]:
    results: dict[int, list[CheckResult]] = defaultdict(list)
    for run_id, *rest in conn.execute(text(
            "SELECT r.gate_run_id, r.check_name, r.dataset, r.severity, r.metric_value, r.warn_threshold,"
            " r.fail_threshold, r.message FROM gate_check_results r JOIN gate_runs g USING (gate_run_id)"
            f" WHERE {_WINDOW.replace('window_', 'g.window_')} AND (CAST(:rb AS text) IS NULL OR g.rollout_batch = :rb)"
            " ORDER BY r.gate_run_id, r.check_name, r.dataset NULLS FIRST"), params):
        results[run_id].append(CheckResult(*rest))
    return [GateRun(*r, results=tuple(results.get(r[0], ()))) for r in conn.execute(text(
        "SELECT gate_run_id, phase, gate, batch, window_start, window_end, passed, rollout_batch, job_name,"
        f" started_at FROM gate_runs WHERE {_WINDOW} AND {_RB} AND status = 'succeeded'"
        " ORDER BY started_at, gate_run_id"), params)]


def rollbacks(conn: Connection, params: dict) -> list[Rollback]:
    out = []
    for r in conn.execute(text(
            "SELECT rollback_id, rollout_batch, phase, batch, purge_data, schema, switches_off, rows_deleted,"
            f" runs_rolled_back, message, started_at FROM rollback_runs WHERE {_RB} ORDER BY started_at, rollback_id"),
            params).mappings():
        deleted = sum(int(v) for k, v in (r["rows_deleted"] or {}).items() if k not in ("status_matrix",
                                                                                      "ingest_checkpoints"))
        out.append(Rollback(r["rollback_id"], r["rollout_batch"], r["phase"], r["batch"], r["purge_data"],
                            r["schema"], tuple(r["switches_off"] or ()), deleted, r["runs_rolled_back"],
                            r["message"], r["started_at"]))
    return out


def flags(conn: Connection, params: dict) -> list[FlagsVersion]:
    out = []
    for row in conn.execute(text(f"SELECT * FROM rollout_flags_audit WHERE {_RB} ORDER BY seen_at, audit_id"),
                            params).mappings():
        values = RolloutFlags.from_audit_row(dict(row)).model_dump()
        values.pop("updatedAt")
        out.append(FlagsVersion(row["rollout_batch"], row["generation"], row["updated_at_ms"], values,
                                row["seen_at"]))
    return out


def cells(conn: Connection, params: dict) -> list[MatrixCell]:
    return [MatrixCell(*r) for r in conn.execute(text(
        "SELECT dataset, scope, period, period_date, status, reason FROM status_matrix"
        " WHERE period = 'current' OR ((CAST(:a AS date) IS NULL OR period_date >= :a"
        "      OR length(period) <> 8 AND period_date >= date_trunc(CASE WHEN period LIKE '%Q%' THEN 'quarter'"
        "         ELSE 'month' END, CAST(:a AS date)))"  # months and quarters reaching into the window
        " AND (CAST(:b AS date) IS NULL OR period_date <= :b))"
        " ORDER BY dataset, scope, period"), params)]


def drills(conn: Connection, params: dict) -> list[Drill]:
    return [Drill(r["rollout_batch"], r["job_name"], r["passed"],
                  sum(int(v["before"]) for v in r["readers_lost"].values()), sum(r["readers_kept"].values()),
                  sum(1 for t in r["tables"].values() if t.get("identical")),
                  sum(1 for t in r["tables"].values() if "identical" in t), tuple(r["differences"]),
                  r["started_at"], (r["finished_at"] - r["started_at"]).total_seconds())
            for r in conn.execute(text(
                "SELECT rollout_batch, job_name, passed, readers_lost, readers_kept, tables, differences, started_at,"
                f" finished_at FROM rollback_drills WHERE {_RB} ORDER BY started_at, drill_id"), params).mappings()]
