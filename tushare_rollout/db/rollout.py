"""The rollout's own records: the flags audit and the rollback baselines (phase A)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Connection, text

from ..flags import RolloutFlags


def record_flags(conn: Connection, rollout_batch: str, generation: int, flags: RolloutFlags) -> bool:
    """Record an accepted flags version; ``False`` when that ``updatedAt`` is already on record."""
    row = flags.audit_row()
    cols = ", ".join(row)
    inserted = conn.execute(text(
        f"INSERT INTO rollout_flags_audit (rollout_batch, generation, {cols})"
        f" VALUES (:rb, :gen, {', '.join(':' + c for c in row)})"
        " ON CONFLICT (rollout_batch, updated_at_ms) DO NOTHING RETURNING audit_id"),
        {"rb": rollout_batch, "gen": generation, **row}).first()
    return inserted is not None


def latest_flags(conn: Connection, rollout_batch: str | None = None) -> RolloutFlags | None:
    """The newest recorded flags of ``rollout_batch`` (of any RolloutBatch when ``None``)."""
    row = conn.execute(text(
        "SELECT * FROM rollout_flags_audit WHERE (CAST(:rb AS text) IS NULL OR rollout_batch = :rb)"
        " ORDER BY updated_at_ms DESC, audit_id DESC LIMIT 1"), {"rb": rollout_batch}).mappings().first()
    return RolloutFlags.from_audit_row(dict(row)) if row else None


def record_baseline(conn: Connection, rollout_batch: str, phase: str, schema_revision: str,
                    flags: RolloutFlags | None) -> int:
    """What a rollback of ``phase`` returns to: the newest run before it, the read switches, the flags."""
    switches = dict(conn.execute(text("SELECT module, enabled FROM read_switch ORDER BY module")).all())
    return conn.execute(text(
        "INSERT INTO rollback_baselines (rollout_batch, phase, schema_revision, max_run_id, read_switches,"
        " flags_updated_at_ms) VALUES (:rb, :phase, :rev, (SELECT max(run_id) FROM ingest_runs),"
        " CAST(:switches AS jsonb), :ms) RETURNING baseline_id"),
        {"rb": rollout_batch, "phase": phase, "rev": schema_revision, "switches": json.dumps(switches),
         "ms": flags.updatedAt if flags else None}).scalar_one()


def has_baseline(conn: Connection, rollout_batch: str | None = None) -> bool:
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM rollback_baselines WHERE CAST(:rb AS text) IS NULL OR rollout_batch = :rb)"),
        {"rb": rollout_batch}).scalar_one()


def gate_results(conn: Connection, job_names: list[str]) -> dict[str, dict]:
    """Per gate Job name: whether every gate it ran passed, its FAIL results and its warning count."""
    if not job_names:
        return {}
    rows = conn.execute(text(
        "SELECT g.job_name, bool_and(g.passed) AS passed,"
        " count(r.*) FILTER (WHERE r.severity = 'WARN') AS warned,"
        " coalesce(jsonb_agg(jsonb_build_object('check', r.check_name, 'dataset', r.dataset, 'value', r.metric_value,"
        "   'message', r.message, 'sample', r.sample_keys)) FILTER (WHERE r.severity = 'FAIL'), '[]') AS failed"
        " FROM gate_runs g LEFT JOIN gate_check_results r USING (gate_run_id)"
        " WHERE g.job_name = ANY(:names) AND g.status = 'succeeded' GROUP BY g.job_name"),
        {"names": job_names}).mappings().all()
    return {r["job_name"]: {"passed": bool(r["passed"]), "warned": int(r["warned"]), "failed": list(r["failed"])}
            for r in rows}


def drill_results(conn: Connection, job_names: list[str]) -> dict[str, dict]:
    """Per rollback-drill Job name: what it stored (``rollback_drills``), summarised for status."""
    if not job_names:
        return {}
    rows = conn.execute(text(
        "SELECT DISTINCT ON (job_name) job_name, passed, message, readers_lost, readers_kept, tables, differences,"
        " finished_at FROM rollback_drills WHERE job_name = ANY(:names) ORDER BY job_name, drill_id DESC"),
        {"names": job_names}).mappings().all()
    return {r["job_name"]: {
        "passed": r["passed"], "message": r["message"], "finishedAt": r["finished_at"].isoformat(),
        "readersLost": {v: n["before"] for v, n in r["readers_lost"].items() if n["before"]},
        "readersKeptRows": sum(r["readers_kept"].values()),
        "tablesIdentical": sum(1 for t in r["tables"].values() if t.get("identical")),
        "tablesCompared": sum(1 for t in r["tables"].values() if "identical" in t),
        "differences": list(r["differences"])[:5]} for r in rows}


def streaks(conn: Connection, rollout_batch: str | None = None) -> dict[str, int]:
    """Per batch: the clean-streak value of the newest gate run that measured it."""
    rows = conn.execute(text(
        "SELECT DISTINCT ON (g.batch) g.batch, r.metric_value FROM gate_check_results r JOIN gate_runs g"
        " USING (gate_run_id) WHERE r.check_name = 'stability.clean_streak' AND g.batch IS NOT NULL"
        " AND (CAST(:rb AS text) IS NULL OR g.rollout_batch = :rb) ORDER BY g.batch, g.gate_run_id DESC"),
        {"rb": rollout_batch}).all()
    return {batch: int(value or 0) for batch, value in rows}


def probes(conn: Connection, rollout_batch: str) -> list[dict]:
    """Per API, the newest permission probe of ``rollout_batch`` (what ``status.probes`` shows)."""
    rows = conn.execute(text(
        "SELECT DISTINCT ON (api_name) api_name, outcome, error_code, message, probed_at FROM permission_probes"
        " WHERE rollout_batch = :rb ORDER BY api_name, probed_at DESC, probe_id DESC"), {"rb": rollout_batch}).all()
    return [{"api": api, "outcome": outcome, **({"message": (f"{code}: " if code else "") + (message or "")}
                                                 if code or message else {}),
             "probedAt": at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            for api, outcome, code, message, at in rows]
