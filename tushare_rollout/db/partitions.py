"""Monthly partitions of the minute tables, made ahead of the rows that need them.

The work is done by the SQL function ``tsr_ensure_minute_partitions(from, to)`` that the
migration installs (so ``psql`` users and cron jobs can call it too); this module is how
Python calls it. Months are Beijing months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, text

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def month_of(moment: dt.datetime | dt.date) -> dt.date:
    """The first day of the Beijing month that ``moment`` falls in.

    >>> month_of(dt.datetime(2024, 1, 31, 16, 30, tzinfo=dt.timezone.utc))  # 00:30 on Feb 1 in Beijing
    datetime.date(2024, 2, 1)
    >>> month_of(dt.date(2024, 3, 15))
    datetime.date(2024, 3, 1)
    """
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError(f"naive datetime {moment}: give minute times with their time zone")
        moment = moment.astimezone(SHANGHAI).date()
    return moment.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """
    >>> add_months(dt.date(2024, 11, 1), 3)
    datetime.date(2025, 2, 1)
    """
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def ensure_minute_partitions(conn: Connection, first: dt.date, last: dt.date) -> int:
    """Create the partitions of every month from ``first`` to ``last``; returns how many were new."""
    return conn.execute(
        text("SELECT tsr_ensure_minute_partitions(:first, :last)"), {"first": month_of(first), "last": month_of(last)}
    ).scalar_one()


def ensure_partitions_for(conn: Connection, times: Iterable[dt.datetime]) -> int:
    """Create whatever partitions rows at ``times`` need.

    Call it in its own short transaction before the data transaction: creating a partition locks
    the parent table, so doing it inside a long load would block readers until the load commits.
    When every partition exists it takes no lock and returns 0.
    """
    months = {month_of(t) for t in times}
    if not months:
        return 0
    return ensure_minute_partitions(conn, min(months), max(months))
