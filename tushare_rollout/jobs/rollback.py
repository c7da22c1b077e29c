"""``tushare-rollout job rollback --phase X [--module M ...] [--purge-data] [--schema]``: undo a phase (or
some of P2's modules), in one transaction.

What a phase's rollback does (``TSR_ROLLOUT_BATCH`` names the RolloutBatch, for the record):

- B, C, D (batches P0, P1, P2): turn the batch's ``read_switch`` modules off, so the ``v_*`` views
  hide its rows at once. With ``--purge-data`` also delete every row its runs wrote (every data
  table has ``run_id``; lineage is "last changed by", and batches write disjoint rows, so a delete
  by the batch's run ids is exact), its datasets' checkpoints and status cells, and mark its runs
  ``rolled_back_by`` this rollback: a later ``job ingest`` of the same window reloads everything.
- D with ``--module`` (P2 is published per sub-flag, so it is also rolled back per module): the same,
  for those modules only. The purge takes the rows written by runs of the modules' datasets
  (``ingest_runs.dataset``: backfill, daily and realtime runs alike; P2 modules write disjoint rows,
  by table or asset class, so this is exact), their checkpoints and status cells. The other P2
  modules, P0 and P1 are untouched.
- A: with ``--schema``, downgrade the schema to ``base`` (every table, view and row is dropped, this
  rollback's own record included: it goes to stdout and the termination log only). Without it, and
  for E (stabilization writes no data), the rollback is only recorded.

Every run is recorded in ``rollback_runs``. Running it again changes nothing (switches already off,
0 rows deleted) and exits 0. Exit codes: 0 done, 3 retryable (database unreachable), 4 bad
configuration (unknown phase or module, ``--module`` for a phase other than D, no TSR_ROLLOUT_BATCH,
schema not at head, a schema rollback while modules are still published).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

from ..db import metadata, migrate
from ..db.base import Batch
from ..db.engine import first_line
from ..ingest.datasets import for_batch
from . import ExitCode, Outcome, with_engine
from .settings import JobSettings

PHASE_BATCH: dict[str, Batch | None] = {"A": None, "B": Batch.P0, "C": Batch.P1, "D": Batch.P2, "E": None}
CONTROL_TABLES = ("ingest_runs", "ingest_checkpoints")  # they carry run_id too, but are not data
LOCK = "SELECT pg_advisory_xact_lock(hashtext('tushare-rollout read switches'))"  # rollbacks and publishes take turns


@dataclass(frozen=True)
class Result(Outcome):
    """An outcome with the JSON record the termination log carries (the operator copies it into status)."""

    record: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> str:
        return json.dumps({"exitCode": int(self.code), "message": self.message, **self.record}, default=str,
                          ensure_ascii=False)


def data_tables() -> list[str]:
    """Every table whose rows carry lineage (``run_id``), partitioned parents included."""
    return sorted(t.name for t in metadata.sorted_tables if "run_id" in t.c and t.name not in CONTROL_TABLES)


def check_request(settings: JobSettings, phase: str, phases: dict[str, Batch | None] = PHASE_BATCH) -> str | None:
    """Why the request cannot run (exit 4), or ``None``."""
    if phase not in phases:
        return f"--phase is one of {', '.join(phases)}, got {phase!r}"
    if not settings.rollout_batch:
        return "TSR_ROLLOUT_BATCH is not set: name the RolloutBatch (namespace/name)"
    return None


def module_datasets() -> dict[str, list[str]]:
    """P2's ``read_switch`` modules and the datasets each one publishes.

    >>> module_datasets()["p2_futures_microstructure"]
    ['ft_mins', 'fut_holding', 'fut_wsr']
    """
    out: dict[str, list[str]] = {}
    for d in for_batch(Batch.P2):
        if d.module:
            out.setdefault(d.module, []).append(d.name)
    return {m: sorted(names) for m, names in sorted(out.items())}


def check_modules(phase: str, modules: list[str]) -> str | None:
    """Why ``--module`` cannot be honoured (exit 4), or ``None``.

    >>> print(check_modules("D", ["p2_futures"]))
    --module p2_futures: not a P2 module; the P2 modules are p2_futures_microstructure, p2_realtime_equity_etf, \
p2_realtime_index, p2_stk_premarket
    >>> check_modules("B", ["stock"])
    '--module applies to phase D only (P2 is published per sub-flag; B is rolled back whole)'
    """
    if phase != "D":
        return f"--module applies to phase D only (P2 is published per sub-flag; {phase} is rolled back whole)"
    known = module_datasets()
    unknown = [m for m in modules if m not in known]
    if unknown:
        return f"--module {', '.join(unknown)}: not a P2 module; the P2 modules are {', '.join(known)}"
    return None


def run(settings: JobSettings, *, phase: str, purge_data: bool = False, schema: bool = False,
        modules: list[str] | None = None) -> Result:
    problem = check_request(settings, phase) or (check_modules(phase, modules) if modules else None)
    if problem:
        return Result(ExitCode.BAD_CONFIGURATION, problem, {"phase": phase, "modules": modules or None})
    batch = PHASE_BATCH[phase]
    request = {"phase": phase, "batch": batch.value if batch else None, "rolloutBatch": settings.rollout_batch,
               "modules": sorted(set(modules)) if modules else None, "purgeData": purge_data, "schema": schema,
               "jobName": settings.job_name}

    def work(engine: Engine) -> Outcome:
        if phase == "A" and schema:
            return _drop_schema(engine, request)
        with engine.begin() as conn:
            position = migrate.position(conn)
            if not position.at_head:
                return Result(ExitCode.BAD_CONFIGURATION, f"cannot roll back phase {phase}: {position.describe()}",
                              request)
            return _rollback(conn, request, batch)

    outcome = with_engine(settings, f"the rollback of phase {phase}", work)
    return outcome if isinstance(outcome, Result) else Result(outcome.code, outcome.message, request)


def _rollback(conn: Connection, request: dict[str, Any], batch: Batch | None) -> Result:
    started = time.monotonic()
    conn.execute(text(LOCK))
    phase, rollout_batch = request["phase"], request["rolloutBatch"]
    rollback_id = conn.execute(text(
        "INSERT INTO rollback_runs (rollout_batch, phase, batch, purge_data, schema, job_name)"
        " VALUES (:rb, :phase, :batch, :purge, :schema, :job) RETURNING rollback_id"),
        {"rb": rollout_batch, "phase": phase, "batch": request["batch"], "purge": request["purgeData"],
         "schema": request["schema"], "job": request["jobName"]}).scalar_one()
    switched: list[str] = []
    deleted: dict[str, int] = {}
    runs = 0
    modules = request.get("modules")
    datasets = sorted(d for m in modules for d in module_datasets()[m]) if modules else None
    if batch is not None:
        what = f"P2 module{'s' if len(modules) > 1 else ''} of phase {phase}" if modules else f"phase {phase}"
        switched = sorted(conn.execute(text(
            "UPDATE read_switch SET enabled = false, reason = :reason, updated_at = now() WHERE batch = :b AND enabled"
            " AND (CAST(:modules AS text[]) IS NULL OR module = ANY(CAST(:modules AS text[]))) RETURNING module"),
            {"reason": f"rolled back {what} ({rollout_batch})", "b": batch.value, "modules": modules}).scalars())
        if request["purgeData"]:
            deleted = purge(conn, batch, datasets)
            runs = conn.execute(text(
                "UPDATE ingest_runs SET rolled_back_by = :id WHERE batch = :b AND rolled_back_by IS NULL"
                " AND (CAST(:ds AS text[]) IS NULL OR dataset = ANY(CAST(:ds AS text[])))"),
                {"id": rollback_id, "b": batch.value, "ds": datasets}).rowcount
    message = _summary(request, batch, switched, deleted, runs, rollback_id, time.monotonic() - started)
    times = conn.execute(text(
        "UPDATE rollback_runs SET switches_off = CAST(:off AS jsonb), rows_deleted = CAST(:deleted AS jsonb),"
        " runs_rolled_back = :runs, message = :message, finished_at = clock_timestamp()"
        " WHERE rollback_id = :id RETURNING started_at, finished_at"),
        {"off": json.dumps(switched), "deleted": json.dumps(deleted), "runs": runs, "message": message,
         "id": rollback_id}).one()
    return Result(ExitCode.OK, message, {
        **request, "rollbackId": rollback_id, "switchesOff": switched, "rowsDeleted": deleted,
        "runsRolledBack": runs, "startedAt": times.started_at.isoformat(), "finishedAt": times.finished_at.isoformat()})


def purge(conn: Connection, batch: Batch, only: list[str] | None = None) -> dict[str, int]:
    """Delete what ``batch``'s runs (of the datasets ``only``, when given) wrote: their rows in every data
    table, and the checkpoints and status cells of those datasets (so the loader reloads every
    partition). Returns table -> rows deleted."""
    runs = ("SELECT run_id FROM ingest_runs WHERE batch = :b"
            " AND (CAST(:ds AS text[]) IS NULL OR dataset = ANY(CAST(:ds AS text[])))")
    params = {"b": batch.value, "ds": only}
    lo, hi = conn.execute(text(f"SELECT min(run_id), max(run_id) FROM ({runs}) AS r"), params).one()
    deleted = {}
    for table in data_tables():
        if lo is None:
            deleted[table] = 0
            continue
        # the range lets the BRIN index on run_id skip the other batches' blocks; the subquery is exact
        deleted[table] = conn.execute(text(
            f"DELETE FROM {table} WHERE run_id BETWEEN :lo AND :hi AND run_id IN ({runs})"),
            {"lo": lo, "hi": hi, **params}).rowcount
    datasets = sorted(only) if only is not None else sorted({d.name for d in for_batch(batch)} | set(conn.execute(
        text("SELECT DISTINCT dataset FROM ingest_runs WHERE batch = :b"), {"b": batch.value}).scalars()))
    deleted["ingest_checkpoints"] = conn.execute(text(
        "DELETE FROM ingest_checkpoints WHERE dataset = ANY(:ds)"), {"ds": datasets}).rowcount
    for dataset in datasets:  # the lock the status-matrix writers take (status.matrix.store), in one order
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('status_matrix:' || :d))"), {"d": dataset})
    deleted["status_matrix"] = conn.execute(text(
        "DELETE FROM status_matrix WHERE dataset = ANY(:ds)"), {"ds": datasets}).rowcount
    return deleted


def _summary(request: dict[str, Any], batch: Batch | None, switched: list[str], deleted: dict[str, int], runs: int,
             rollback_id: int, seconds: float) -> str:
    phase, modules = request["phase"], request.get("modules")
    head = f"rolled back phase {phase}{f' ({batch.value})' if batch else ''} of {request['rolloutBatch']}"
    if modules:
        head = (f"rolled back P2 module{'s' if len(modules) > 1 else ''} {', '.join(modules)} (phase {phase}) of "
                f"{request['rolloutBatch']}")
    if batch is None:
        what = ("schema kept (--schema drops it)" if phase == "A" else
                "nothing to undo (stabilization writes no data)")
        return f"{head}: {what}; recorded as rollback {rollback_id}"
    parts = [f"read switches turned off: {', '.join(switched)}" if switched else "read switches already off"]
    if request["purgeData"]:
        rows = {t: n for t, n in deleted.items() if t not in ("ingest_checkpoints", "status_matrix")}
        shown = ", ".join(f"{t} {n}" for t, n in sorted(rows.items(), key=lambda kv: -kv[1]) if n)
        parts.append(f"deleted {sum(rows.values())} rows{f' ({shown})' if shown else ''}, "
                     f"{deleted['ingest_checkpoints']} checkpoints, {deleted['status_matrix']} status cells; "
                     f"{runs} runs marked rolled back")
    else:
        parts.append("data kept (--purge-data deletes it)")
    if request["schema"]:
        parts.append("--schema applies to phase A only")
    return f"{head}: {'; '.join(parts)}; rollback {rollback_id} in {seconds:.1f}s"


def _drop_schema(engine: Engine, request: dict[str, Any]) -> Result:
    """Phase A ``--schema``: everything goes, so the record is only returned (stdout, termination log)."""
    started_at, started = dt.datetime.now(dt.timezone.utc), time.monotonic()
    before = migrate.position(engine)
    head = f"rolled back phase A of {request['rolloutBatch']}"
    record = {**request, "schemaFrom": before.current, "schemaTo": None, "switchesOff": [], "rowsDeleted": {}}
    if before.current is None:
        return Result(ExitCode.OK, f"{head}: the schema is already at base (nothing to drop)", record)
    if not migrate.is_known(before.current):
        return Result(ExitCode.BAD_CONFIGURATION, f"cannot drop the schema: {before.describe()}", request)
    with engine.connect() as conn:  # every revision has read_switch
        published = list(conn.execute(text("SELECT module FROM read_switch WHERE enabled ORDER BY module")).scalars())
    if published:
        return Result(ExitCode.BAD_CONFIGURATION,
                      f"cannot drop the schema while modules are published ({', '.join(published)}): roll back the "
                      "later phases first, newest first", request)
    try:
        migrate.downgrade(engine, "base")
    except CommandError as exc:
        return Result(ExitCode.BAD_CONFIGURATION, f"cannot downgrade to base: {first_line(exc)}", request)
    message = (f"{head}: schema downgraded from {before.current} to base (every table, view and row dropped) "
               f"in {time.monotonic() - started:.1f}s; this record is not stored (its table is gone)")
    return Result(ExitCode.OK, message, {**record, "startedAt": started_at.isoformat(),
                                         "finishedAt": dt.datetime.now(dt.timezone.utc).isoformat()})
