"""Trading days of the generated market: the real exchange calendars, from ``exchange_calendars``.

SSE, SZSE and BSE share the Shanghai calendar (``XSHG``); the futures exchanges (CFFEX, SHFE,
CZCE, DCE, INE, GFEX) close on the same holidays, so they share it too. The range is fixed
(2005 through 2026) so answers never depend on the day the server runs.

>>> cal = TradingCalendar.shanghai()
>>> cal.is_open(dt.date(2024, 2, 8)), cal.is_open(dt.date(2024, 2, 12))   # Spring Festival closure
(True, False)
>>> cal.previous_open(dt.date(2024, 2, 19))
datetime.date(2024, 2, 8)
>>> cal.open_days(dt.date(2024, 2, 7), dt.date(2024, 2, 19))
[datetime.date(2024, 2, 7), datetime.date(2024, 2, 8), datetime.date(2024, 2, 19)]
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import warnings

FIRST_DAY = dt.date(2005, 1, 1)
LAST_DAY = dt.date(2026, 12, 31)
EXCHANGES = ("SSE", "SZSE", "BSE", "CFFEX", "SHFE", "CZCE", "DCE", "INE", "GFEX")


class TradingCalendar:
    def __init__(self, sessions: list[dt.date]) -> None:
        self.sessions = sessions  # sorted open days
        self._open = set(sessions)

    @classmethod
    @functools.cache
    def shanghai(cls) -> TradingCalendar:
        import exchange_calendars as xcals

        with warnings.catch_warnings():  # exchange_calendars still reads Series.values (a pandas deprecation)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            cal = xcals.get_calendar("XSHG", start=FIRST_DAY.isoformat(), end=LAST_DAY.isoformat())
        return cls([ts.date() for ts in cal.sessions])

    def is_open(self, day: dt.date) -> bool:
        return day in self._open

    def open_days(self, first: dt.date | None = None, last: dt.date | None = None) -> list[dt.date]:
        """Open days in ``first..last`` (inclusive; open ends mean the whole calendar)."""
        lo = bisect.bisect_left(self.sessions, first) if first else 0
        hi = bisect.bisect_right(self.sessions, last) if last else len(self.sessions)
        return self.sessions[lo:hi]

    def previous_open(self, day: dt.date) -> dt.date | None:
        """The last open day strictly before ``day``."""
        i = bisect.bisect_left(self.sessions, day)
        return self.sessions[i - 1] if i > 0 else None

    def latest_open_on_or_before(self, day: dt.date) -> dt.date | None:
        i = bisect.bisect_right(self.sessions, day)
        return self.sessions[i - 1] if i > 0 else None

    def index(self, day: dt.date) -> int:
        """Position of an open day in :attr:`sessions` (``ValueError`` if closed)."""
        i = bisect.bisect_left(self.sessions, day)
        if i == len(self.sessions) or self.sessions[i] != day:
            raise ValueError(f"{day} is not a trading day")
        return i
