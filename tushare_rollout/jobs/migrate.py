"""``tushare-rollout job migrate``: bring the schema to head (or check it, or go down to a revision).

Every outcome is one clear line; the exit code follows :class:`ExitCode`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db import migrate as alembic_ops
from ..db.engine import BadDatabaseURL, make_engine, safe_url
from ..db.partitions import add_months, ensure_minute_partitions, month_of
from . import ExitCode
from .settings import JobSettings


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    message: str


def run(settings: JobSettings, *, check: bool = False, to: str | None = None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.timezone.utc).date()) -> Outcome:
    if settings.database_url is None:
        return Outcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database to migrate")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return Outcome(ExitCode.BAD_CONFIGURATION, str(exc))
    try:
        return _run(engine, settings, check=check, to=to, today=today())
    except OperationalError as exc:
        return Outcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {_first_line(exc)}")
    except DBAPIError as exc:
        return Outcome(ExitCode.RETRYABLE, f"migration failed at {safe_url(engine.url)}: {_first_line(exc)}")
    finally:
        engine.dispose()


def _run(engine: Engine, settings: JobSettings, *, check: bool, to: str | None, today: dt.date) -> Outcome:
    before = alembic_ops.position(engine)
    if check:
        return Outcome(ExitCode.OK if before.at_head else ExitCode.CHECK_FAILED, before.describe())
    if before.current is not None and not alembic_ops.is_known(before.current):
        return Outcome(ExitCode.BAD_CONFIGURATION, before.describe())
    if to is not None:
        try:
            alembic_ops.downgrade(engine, to)
        except CommandError as exc:
            return Outcome(ExitCode.BAD_CONFIGURATION, f"cannot downgrade to {to!r}: {_first_line(exc)}")
        after = alembic_ops.position(engine)
        return Outcome(ExitCode.OK, f"downgraded from {before.current or 'base'} to {after.current or 'base'}")

    alembic_ops.upgrade(engine)
    after = alembic_ops.position(engine)
    first = month_of(today)
    last = add_months(first, settings.partitions_months_ahead)
    with engine.begin() as conn:
        created = ensure_minute_partitions(conn, first, last)
    verb = "already at" if before.current == after.current else f"upgraded from {before.current or 'base'} to"
    return Outcome(
        ExitCode.OK,
        f"database {verb} head {after.head}; minute partitions ready {first:%Y-%m}..{last:%Y-%m} ({created} new)",
    )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
