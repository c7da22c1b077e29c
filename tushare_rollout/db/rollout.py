"""The rollout's own records: the flags audit and the rollback baselines (phase A)."""

from __future__ import annotations

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
