"""Consecutive clean trading days: the P2 entry rule's arithmetic. Pure: no I/O.

Each trading day is CLEAN (served by at least one run, no blocking error), BLOCKED (a run failed
and was not recovered that day, or the day's gate failed) or IDLE (nothing ran for it). The streak
counts CLEAN days backwards from the newest trading day that is due; a BLOCKED or IDLE day ends it.
Days the market is closed are not in ``open_days``, so weekends and holidays neither break nor
count toward a streak.

Worked example (2024 Spring Festival: the market closed 9-18 February):

>>> import datetime as dt
>>> days = [dt.date(2024, 2, d) for d in (5, 6, 7, 8, 19, 20)]
>>> states = {d: DayState.CLEAN for d in days} | {dt.date(2024, 2, 6): DayState.BLOCKED}
>>> s = streak(days, states, last_due=dt.date(2024, 2, 20))
>>> s.days, s.since, s.ended_by, s.ended_on
(4, datetime.date(2024, 2, 7), 'blocked', datetime.date(2024, 2, 6))
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class DayState(enum.StrEnum):
    CLEAN = "clean"
    BLOCKED = "blocked"
    IDLE = "idle"


@dataclass(frozen=True)
class Streak:
    days: int
    since: dt.date | None  # first day of the streak
    ended_by: str | None  # 'blocked', 'idle' or None (the streak reaches back to the first known day)
    ended_on: dt.date | None

    def reached(self, needed: int) -> bool:
        return self.days >= needed


def streak(open_days: Sequence[dt.date], states: Mapping[dt.date, DayState], last_due: dt.date) -> Streak:
    """The run of CLEAN trading days ending at the newest open day on or before ``last_due``.

    >>> d = [dt.date(2024, 1, 4), dt.date(2024, 1, 5), dt.date(2024, 1, 8)]  # Thu, Fri, Mon
    >>> streak(d, {x: DayState.CLEAN for x in d}, last_due=dt.date(2024, 1, 8)).days
    3
    >>> streak(d, {d[0]: DayState.CLEAN, d[1]: DayState.CLEAN}, last_due=dt.date(2024, 1, 8))
    Streak(days=0, since=None, ended_by='idle', ended_on=datetime.date(2024, 1, 8))
    >>> streak(d, {d[0]: DayState.CLEAN, d[1]: DayState.CLEAN}, last_due=dt.date(2024, 1, 7)).days
    2
    """
    count, since = 0, None
    for day in sorted((d for d in open_days if d <= last_due), reverse=True):
        state = states.get(day, DayState.IDLE)
        if state is not DayState.CLEAN:
            return Streak(count, since, state.value, day)
        count, since = count + 1, day
    return Streak(count, since, None, None)


def serving_day(open_days: Sequence[dt.date], moment_day: dt.date) -> dt.date | None:
    """The trading day a run started on ``moment_day`` (Beijing date) serves: the newest open day on
    or before it, so a weekend re-run counts toward Friday.

    >>> serving_day([dt.date(2024, 2, 8), dt.date(2024, 2, 19)], dt.date(2024, 2, 12))
    datetime.date(2024, 2, 8)
    """
    best = None
    for day in open_days:
        if day <= moment_day:
            best = day
        else:
            break
    return best
