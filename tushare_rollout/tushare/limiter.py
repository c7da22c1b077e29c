"""Per-API rate limiting: at most N calls to one API in any window (a sliding window).

Tushare limits each API separately, per account ("每分钟最多访问该接口N次"), so every API has its
own window. The limit is configured (a default per minute, and per-API overrides, so a 2000-point
and a 5000-point account both run at their own limit) and can only go *down* at run time, when the
server names a lower one in a rate-limit reply. A per-hour limit learned that way is kept as a
second window of 60 minute-windows.

The clock and the sleeper are injected, so tests run instantly on a fake clock:

>>> t = [0.0]
>>> limiter = RateLimiter(2, now=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
>>> limiter.acquire("daily"), limiter.acquire("daily"), limiter.acquire("daily")
(0.0, 0.0, 60.0)
>>> limiter.acquire("shibor")  # another API has its own window
0.0
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .errors import Per

HOUR_WINDOWS = 60  # a per-hour window is this many (minute) windows
_EPSILON = 1e-9  # float slack, so a wait that ends exactly at a window edge is not repeated


class RateLimiter:
    """``per_window`` calls per ``window_seconds`` for every API, unless ``overrides`` names the API.

    ``per_window=None`` means no configured limit (only limits learned from the server apply).
    Thread-safe: one lock guards the bookkeeping; nobody sleeps while holding it.
    """

    def __init__(self, per_window: int | None = 200, overrides: Mapping[str, int] | None = None, *,
                 window_seconds: float = 60.0, now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds}")
        for api, limit in {"(default)": per_window, **(overrides or {})}.items():
            if limit is not None and limit < 1:
                raise ValueError(f"rate limit of {api} must be at least 1 call per window, got {limit}")
        self.per_window = per_window
        self.overrides = dict(overrides or {})
        self.window_seconds = window_seconds
        self._now = now
        self._sleep = sleep
        self._lock = threading.Lock()
        self._learned: dict[tuple[str, Per], int] = {}
        self._calls: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    @classmethod
    def from_options(cls, options: Any, *, now: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> RateLimiter:
        """From a :class:`~tushare_rollout.tushare.client.TushareOptions`."""
        return cls(options.rate_per_minute, options.rate_limits, window_seconds=options.rate_window_seconds,
                   now=now, sleep=sleep)

    def window(self, per: Per = "minute") -> float:
        return self.window_seconds * (HOUR_WINDOWS if per == "hour" else 1)

    def limit(self, api: str, per: Per = "minute") -> int | None:
        """The limit in force for ``api`` (``None``: unlimited)."""
        with self._lock:
            return self._limit(api, per)

    def _limit(self, api: str, per: Per) -> int | None:
        configured = self.overrides.get(api, self.per_window) if per == "minute" else None
        learned = self._learned.get((api, per))
        known = [x for x in (configured, learned) if x is not None]
        return min(known) if known else None

    def lower(self, api: str, limit: int, per: Per = "minute") -> None:
        """Adopt ``limit`` calls per ``per`` for ``api`` if it is lower than the one in force; never raise it."""
        if limit < 1:
            return
        with self._lock:
            current = self._limit(api, per)
            if current is None or limit < current:
                self._learned[(api, per)] = limit

    def acquire(self, api: str) -> float:
        """Wait until one more call to ``api`` fits its window(s), count it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._now()
                wait = self._wait_needed(api, now)
                if wait <= _EPSILON:
                    self._calls.setdefault(api, deque()).append(now)
                    return waited
            self._sleep(wait)
            waited += wait

    def _wait_needed(self, api: str, now: float) -> float:
        wait = self._blocked_until.get(api, 0.0) - now
        calls = self._calls.get(api)
        if not calls:
            return wait
        longest = self.window("hour") if (api, "hour") in self._learned else self.window("minute")
        while calls and calls[0] + longest <= now + _EPSILON:
            calls.popleft()
        for per in ("minute", "hour"):
            limit, window = self._limit(api, per), self.window(per)
            if limit is None or len(calls) < limit:
                continue
            recent = sum(1 for t in calls if t + window > now + _EPSILON)
            if recent >= limit:
                # the call `limit` places back must leave the window before another one fits
                wait = max(wait, calls[-limit] + window - now)
        return wait

    def wait_for_next_window(self, api: str, per: Per = "minute") -> float:
        """After a rate-limit reply: block ``api`` (for every thread) until a whole window has passed,
        sleep until then, and return the seconds waited.

        The server's window started at most one window ago, and calls from other processes with the
        same token are invisible here, so only a full window from now is sure to be past it.
        """
        with self._lock:
            now = self._now()
            until = max(self._blocked_until.get(api, 0.0), now + self.window(per))
            self._blocked_until[api] = until
        wait = until - now
        self._sleep(wait)
        return wait
