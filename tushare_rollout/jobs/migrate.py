"""``tushare-rollout job migrate``: bring the schema to head (or check it, or go down to a revision).

Every outcome is one clear line; the exit code follows :class:`ExitCode`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alembic.util import CommandError
from sqlalchemy import Engine

from ..db import migrate as alembic_ops
from ..db.engine import first_line
from ..db.partitions import add_months, ensure_minute_partitions, month_of
from . import ExitCode, Outcome, with_engine
from .settings import JobSettings


def run(settings: JobSettings, *, check: bool = False, to: str | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> Outcome:
    """``job migrate``: upgrade to head (or ``--check``, or ``--to`` a revision)."""
    return with_engine(settings, "migration",
                       lambda engine: _migrate(engine, settings, check=check, to=to, now=now()))


def partitions(settings: JobSettings, first: dt.date, last: dt.date) -> Outcome:
    """``db partitions``: make the minute-table partitions of the months ``first``..``last``."""
    def work(engine: Engine) -> Outcome:
        if not alembic_ops.position(engine).at_head:
            return Outcome(ExitCode.BAD_CONFIGURATION, "the schema is not at head: run `tushare-rollout job migrate`")
        with engine.begin() as conn:
            created = ensure_minute_partitions(conn, first, last)
        return Outcome(ExitCode.OK, f"minute partitions ready {first:%Y-%m}..{last:%Y-%m} ({created} new)")

    return with_engine(settings, "creating partitions", work)


def _migrate(engine: Engine, settings: JobSettings, *, check: bool, to: str | None, now: dt.datetime) -> Outcome:
    before = alembic_ops.position(engine)
    if check:
        return Outcome(ExitCode.OK if before.at_head else ExitCode.CHECK_FAILED, before.describe())
    if before.current is not None and not alembic_ops.is_known(before.current):
        return Outcome(ExitCode.BAD_CONFIGURATION, before.describe())
    if to is not None:
        try:
            alembic_ops.downgrade(engine, to)
        except CommandError as exc:
            return Outcome(ExitCode.BAD_CONFIGURATION, f"cannot downgrade to {to!r}: {first_line(exc)}")
        after = alembic_ops.position(engine)
        return Outcome(ExitCode.OK, f"downgraded from {before.current or 'base'} to {after.current or 'base'}")

    alembic_ops.upgrade(engine)
    after = alembic_ops.position(engine)
    first = month_of(now)  # a Beijing month
    last = add_months(first, settings.partitions_months_ahead)
    with engine.begin() as conn:
        created = ensure_minute_partitions(conn, first, last)
    verb = "already at" if before.current == after.current else f"upgraded from {before.current or 'base'} to"
    return Outcome(
        ExitCode.OK,
        f"database {verb} head {after.head}; minute partitions ready {first:%Y-%m}..{last:%Y-%m} ({created} new)",
    )

