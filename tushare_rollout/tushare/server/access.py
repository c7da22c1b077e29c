"""Who may call what, and how often: demo tokens, permission tiers, per-minute and daily limits.

Demo tokens describe themselves: ``demo:<points>`` for 120 / 600 / 2000 / 5000 / 10000 / 15000
points, optionally followed by ``:<perm>,<perm>`` for the separately sold permissions
(``minutes``, ``realtime``, ``premarket``); ``demo:all`` has everything.

>>> a = Access.parse("demo:5000:minutes,realtime")
>>> a.points, sorted(a.permissions)
(5000, ['minutes', 'realtime'])
>>> Access.parse("demo:2000").may_call(APIS["fund_daily"]), Access.parse("demo:5000").may_call(APIS["fund_daily"])
(False, True)
>>> Access.parse("demo:all").per_minute(APIS["daily"]), Access.parse("demo:120").per_minute(APIS["daily"])
(1000, 50)
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from ..catalog import APIS, SEPARATE_PERMISSIONS, Api

POINT_TIERS = (120, 600, 2000, 5000, 10000, 15000)
# calls per minute per API, by points (the tier table of the permissions page)
PER_MINUTE = {120: 50, 600: 100, 2000: 200, 5000: 500, 10000: 1000, 15000: 1000}
# calls per day per API; tiers not listed have no daily cap
PER_DAY = {120: 8000, 600: 20000, 2000: 100000}
SEPARATE_PER_MINUTE = 500

DOC = "权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
MSG_BAD_TOKEN = "您的token不对，请确认。"
MSG_NO_PERMISSION = "抱歉，您没有接口({api})访问权限，" + DOC
MSG_PER_MINUTE = "抱歉，您每分钟最多访问该接口{n}次，" + DOC
MSG_PER_DAY = "抱歉，您每天最多访问该接口{n}次，" + DOC
MSG_BAD_API = "请指定正确的接口名"

CODE_BAD_TOKEN = 40101
CODE_LIMITED = 40203  # both "rate limited" and "no permission", as on the real service
CODE_BAD_API = 40102  # not captured from the real service; clients decide by the message
CODE_BAD_PARAMS = -2001


class UnknownToken(ValueError):
    pass


@dataclass(frozen=True)
class Access:
    points: int
    permissions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, token: str) -> Access:
        parts = token.split(":")
        if parts[0] != "demo" or len(parts) not in (2, 3):
            raise UnknownToken()
        if parts[1] == "all" and len(parts) == 2:
            return cls(max(POINT_TIERS), frozenset(SEPARATE_PERMISSIONS))
        if not parts[1].isdigit() or int(parts[1]) not in POINT_TIERS:
            raise UnknownToken()
        perms = frozenset(p for p in parts[2].split(",") if p) if len(parts) == 3 else frozenset()
        if not perms <= set(SEPARATE_PERMISSIONS):
            raise UnknownToken()
        return cls(int(parts[1]), perms)

    def may_call(self, api: Api) -> bool:
        if isinstance(api.access, str):
            return api.access in self.permissions
        return self.points >= api.access

    def per_minute(self, api: Api) -> int:
        if isinstance(api.access, str):
            return SEPARATE_PER_MINUTE
        return PER_MINUTE[self.points]

    def per_day(self, api: Api) -> int | None:
        if isinstance(api.access, str):
            return None
        return PER_DAY.get(self.points)


class CallCounter:
    """Calls per (token, API) in fixed windows: a minute-like window (its length configurable, so tests
    need not wait a minute) and a day."""

    def __init__(self, window_seconds: float = 60.0, clock=time.monotonic) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self._days: dict[tuple[str, str, int], int] = defaultdict(int)

    def admit(self, token: str, api: str, per_window: int, per_day: int | None, day: int) -> str | None:
        """Count the call; return the limit message if it is over a limit (the call is then not counted)."""
        with self._lock:
            window = int(self.clock() // self.window_seconds)
            if any(d != day for (_, _, d) in self._days):  # keep only today's counts
                self._days = defaultdict(int, {k: v for k, v in self._days.items() if k[2] == day})
            current, count = self._windows.get((token, api), (window, 0))
            if current != window:
                count = 0
            if count >= per_window:
                return MSG_PER_MINUTE.format(n=per_window)
            if per_day is not None and self._days[(token, api, day)] >= per_day:
                return MSG_PER_DAY.format(n=per_day)
            self._windows[(token, api)] = (window, count + 1)
            self._days[(token, api, day)] += 1
            return None
