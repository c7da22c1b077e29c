"""``tushare-rollout job publish --phase B|C|D [--module M ...]``: switch a batch's modules on for readers.

The opposite of a rollback's switch-off, run by the operator after the phase's gate passed: the
batch's ``read_switch`` modules (all of them, or only the ``--module`` ones: P2 modules are
published per sub-flag) get ``enabled = true``, and the ``v_*`` views show their rows at once.
Idempotent: a module already on is left as it is. Exit codes: 0 done, 3 retryable (database
unreachable), 4 bad configuration (phase A/E or unknown, a module of another batch, no
TSR_ROLLOUT_BATCH, schema not at head).
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from .. import status
from ..db import migrate
from ..db.base import Batch
from ..ingest.datasets import for_batch
from . import ExitCode, Outcome, with_engine
from .rollback import LOCK, PHASE_BATCH, Result, check_request
from .settings import JobSettings

PUBLISHABLE = {phase: batch for phase, batch in PHASE_BATCH.items() if batch is not None}


def run(settings: JobSettings, *, phase: str, modules: list[str] | None = None) -> Result:
    problem = check_request(settings, phase, PUBLISHABLE)
    if problem:
        if phase in PHASE_BATCH and phase not in PUBLISHABLE:
            problem += f" (phase {phase} has no modules to publish)"
        return Result(ExitCode.BAD_CONFIGURATION, problem, {"phase": phase})
    batch = PUBLISHABLE[phase]
    request = {"phase": phase, "batch": batch.value, "rolloutBatch": settings.rollout_batch,
               "modules": sorted(set(modules)) if modules else None, "jobName": settings.job_name}

    def work(engine: Engine) -> Outcome:
        with engine.begin() as conn:
            position = migrate.position(conn)
            if not position.at_head:
                return Result(ExitCode.BAD_CONFIGURATION, f"cannot publish phase {phase}: {position.describe()}",
                              request)
            conn.execute(text(LOCK))
            known = list(conn.execute(text("SELECT module FROM read_switch WHERE batch = :b ORDER BY module"),
                                      {"b": batch.value}).scalars())
            chosen = request["modules"] or (_in_force(conn, settings.rollout_batch) if batch is Batch.P2 else known)
            unknown = [m for m in chosen if m not in known]
            if unknown:
                return Result(ExitCode.BAD_CONFIGURATION, f"--module {', '.join(unknown)}: not a module of "
                                                          f"{batch.value}; its modules are {', '.join(known)}", request)
            switched = sorted(conn.execute(text(
                "UPDATE read_switch SET enabled = true, reason = :reason, updated_at = now()"
                " WHERE batch = :b AND module = ANY(:modules) AND NOT enabled RETURNING module"),
                {"reason": f"published phase {phase} ({settings.rollout_batch})", "b": batch.value,
                 "modules": chosen}).scalars())
        already = [m for m in chosen if m not in switched]
        return Result(ExitCode.OK, _summary(phase, batch, settings.rollout_batch, switched, already),
                      {**request, "switchedOn": switched, "alreadyOn": already})

    outcome = with_engine(settings, f"publishing phase {phase}", work)
    return outcome if isinstance(outcome, Result) else Result(outcome.code, outcome.message, request)


def _in_force(conn, rollout_batch: str | None) -> list[str]:
    """P2 is published per module: those with a dataset whose sub-flag is on and whose API is permitted."""
    off = status.applicability(conn, rollout_batch)
    return sorted({d.module for d in for_batch(Batch.P2) if d.module and not off.get(d.name)})


def _summary(phase: str, batch: Batch, rollout_batch: str | None, switched: list[str], already: list[str]) -> str:
    parts = ([f"read switches turned on: {', '.join(switched)}"] if switched else []) + \
        ([f"already on: {', '.join(already)}"] if already else []) or ["no module in force: nothing switched on"]
    return f"published phase {phase} ({batch.value}) of {rollout_batch}: {'; '.join(parts)}"
