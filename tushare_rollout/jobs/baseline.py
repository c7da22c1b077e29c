"""``tushare-rollout job baseline``: phase A's Job. Records the flags in force (the audit) and the
rollback baseline (the schema revision, the newest run, the read switches) for a RolloutBatch."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import Engine

from ..db import migrate
from ..db.rollout import record_baseline, record_flags
from ..flags import RolloutFlags
from . import ExitCode, Outcome, with_engine
from .settings import JobSettings


def run(settings: JobSettings, *, flags_json: str, generation: int = 0, phase: str = "A") -> Outcome:
    if not settings.rollout_batch:
        return Outcome(ExitCode.BAD_CONFIGURATION,
                       "TSR_ROLLOUT_BATCH is not set: name the RolloutBatch (namespace/name)")
    try:
        flags = RolloutFlags.model_validate_json(flags_json)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'flags'}: {e['msg']}" for e in exc.errors())
        return Outcome(ExitCode.BAD_CONFIGURATION, f"the flags are not a valid rollout_flags_v1: {problems}")
    rollout_batch = settings.rollout_batch

    def work(engine: Engine) -> Outcome:
        with engine.begin() as conn:
            position = migrate.position(conn)
            if not position.at_head:
                return Outcome(ExitCode.RETRYABLE, f"cannot record a baseline: {position.describe()}")
            new = record_flags(conn, rollout_batch, generation, flags)
            baseline = record_baseline(conn, rollout_batch, phase, position.current or "base", flags)
        return Outcome(ExitCode.OK, f"baseline {baseline} recorded for {rollout_batch} at schema "
                                    f"{position.current}; flags updatedAt={flags.updatedAt} "
                                    f"{'recorded' if new else 'already on record'}")

    return with_engine(settings, "recording the baseline", work)
