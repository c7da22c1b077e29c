"""One entrypoint per Job kind (``tushare-rollout job <kind>``), sharing one exit-code contract."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db.engine import BadDatabaseURL, first_line, make_engine, safe_url

if TYPE_CHECKING:
    from .settings import JobSettings


class ExitCode(enum.IntEnum):
    """What a Job's exit code means; the operator's podFailurePolicy matches on these."""

    OK = 0
    CHECK_FAILED = 2  # a gate (or a --check) found the data or schema not as required
    RETRYABLE = 3  # a runtime error that may pass on retry (database down, server error)
    BAD_CONFIGURATION = 4  # retrying will not help until someone changes the configuration


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    message: str


def with_engine(settings: JobSettings, doing: str, work: Callable[[Engine], Outcome]) -> Outcome:
    """Run ``work`` on an engine for DATABASE_URL, turning every failure into one line and an exit code."""
    if settings.database_url is None:
        return Outcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return Outcome(ExitCode.BAD_CONFIGURATION, str(exc))
    try:
        return work(engine)
    except OperationalError as exc:  # the server is down or unreachable: may pass on retry
        return Outcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}")
    except DBAPIError as exc:  # the database refused the work itself: retrying will not help
        return Outcome(ExitCode.BAD_CONFIGURATION, f"{doing} failed at {safe_url(engine.url)}: {first_line(exc)}")
    finally:
        engine.dispose()
