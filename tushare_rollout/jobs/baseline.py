"""``tushare-rollout job baseline``: phase A's Job. Records the flags in force (the audit) and the
rollback baseline (the schema revision, the newest run, the read switches) for a RolloutBatch."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db import migrate
from ..db.engine import BadDatabaseURL, first_line, make_engine, safe_url
from ..db.rollout import record_baseline, record_flags
from ..flags import RolloutFlags
from . import ExitCode
from .settings import JobSettings


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    message: str


def run(settings: JobSettings, *, flags_json: str, generation: int = 0, phase: str = "A") -> Outcome:
    if not settings.rollout_batch:
        return Outcome(ExitCode.BAD_CONFIGURATION,
                       "TSR_ROLLOUT_BATCH is not set: name the RolloutBatch (namespace/name)")
    try:
        flags = RolloutFlags.model_validate_json(flags_json)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'flags'}: {e['msg']}" for e in exc.errors())
        return Outcome(ExitCode.BAD_CONFIGURATION, f"the flags are not a valid rollout_flags_v1: {problems}")
    if settings.database_url is None:
        return Outcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return Outcome(ExitCode.BAD_CONFIGURATION, str(exc))
    try:
        with engine.begin() as conn:
            position = migrate.position(conn)
            if not position.at_head:
                return Outcome(ExitCode.RETRYABLE, f"cannot record a baseline: {position.describe()}")
            new = record_flags(conn, settings.rollout_batch, generation, flags)
            baseline = record_baseline(conn, settings.rollout_batch, phase, position.current or "base", flags)
    except OperationalError as exc:
        return Outcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}")
    except DBAPIError as exc:
        return Outcome(ExitCode.RETRYABLE, f"recording the baseline failed: {first_line(exc)}")
    finally:
        engine.dispose()
    return Outcome(ExitCode.OK, f"baseline {baseline} recorded for {settings.rollout_batch} at schema "
                                f"{position.current}; flags updatedAt={flags.updatedAt} "
                                f"{'recorded' if new else 'already on record'}")
