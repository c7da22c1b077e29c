"""The per-API sliding-window rate limiter, on a fake clock: nothing here really sleeps."""

from __future__ import annotations

import threading

import pytest

from tushare_rollout.tushare.client import TushareOptions
from tushare_rollout.tushare.limiter import RateLimiter


class FakeClock:
    """``now`` and ``sleep`` for the limiter: sleeping moves the clock, and is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, per_window: int | None = 3, overrides: dict[str, int] | None = None,
            window: float = 60.0) -> RateLimiter:
    return RateLimiter(per_window, overrides, window_seconds=window, now=clock.now, sleep=clock.sleep)


def test_n_calls_pass_and_the_next_waits_for_the_window(clock: FakeClock) -> None:
    rl = limiter(clock, 3)
    assert [rl.acquire("daily") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []
    assert rl.acquire("daily") == pytest.approx(60.0)
    assert clock.t == pytest.approx(1060.0)


def test_the_window_slides(clock: FakeClock) -> None:
    rl = limiter(clock, 2)
    rl.acquire("daily")  # t=1000
    clock.advance(40)
    rl.acquire("daily")  # t=1040
    assert rl.acquire("daily") == pytest.approx(20.0)  # waits until the first leaves (t=1060)
    assert rl.acquire("daily") == pytest.approx(40.0)  # then the second (t=1100)


def test_calls_spread_over_the_window_never_wait(clock: FakeClock) -> None:
    rl = limiter(clock, 2)
    for _ in range(10):
        assert rl.acquire("daily") == 0.0
        clock.advance(30)


def test_a_window_that_has_passed_frees_every_slot(clock: FakeClock) -> None:
    rl = limiter(clock, 3, window=1.0)
    for _ in range(3):
        rl.acquire("daily")
    clock.advance(1.0)
    assert [rl.acquire("daily") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_apis_are_independent(clock: FakeClock) -> None:
    rl = limiter(clock, 2, {"shibor": 4})
    assert [rl.acquire("daily") for _ in range(2)] == [0.0, 0.0]
    assert [rl.acquire("shibor") for _ in range(4)] == [0.0] * 4  # daily's full window does not hold shibor
    assert clock.sleeps == []
    assert rl.acquire("daily") == pytest.approx(60.0)
    assert [rl.acquire("shibor") for _ in range(4)] == [0.0] * 4  # shibor's own window has passed meanwhile


def test_two_apis_at_their_limits_in_parallel_threads(clock: FakeClock) -> None:
    rl = limiter(clock, 5, {"shibor": 10})
    waited: dict[str, list[float]] = {"daily": [], "shibor": []}

    def run(api: str, n: int) -> None:
        for _ in range(n):
            waited[api].append(rl.acquire(api))

    threads = [threading.Thread(target=run, args=("daily", 5)), threading.Thread(target=run, args=("shibor", 10))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert waited == {"daily": [0.0] * 5, "shibor": [0.0] * 10}


def test_lower_lowers_and_never_raises(clock: FakeClock) -> None:
    rl = limiter(clock, 200)
    rl.lower("daily", 2)
    assert rl.limit("daily") == 2
    rl.lower("daily", 500)
    assert rl.limit("daily") == 2
    rl.lower("daily", 0)  # nonsense from a message is ignored
    assert rl.limit("daily") == 2
    assert rl.limit("shibor") == 200  # only the named API
    assert [rl.acquire("daily") for _ in range(2)] == [0.0, 0.0]
    assert rl.acquire("daily") == pytest.approx(60.0)


def test_lower_does_not_raise_an_override(clock: FakeClock) -> None:
    rl = limiter(clock, 200, {"fut_basic": 80})
    rl.lower("fut_basic", 120)
    assert rl.limit("fut_basic") == 80


def test_without_a_configured_limit_only_learned_limits_apply(clock: FakeClock) -> None:
    rl = limiter(clock, None)
    assert rl.limit("daily") is None
    assert all(rl.acquire("daily") == 0.0 for _ in range(1000))
    rl.lower("daily", 1)
    clock.advance(60)
    assert rl.acquire("daily") == 0.0
    assert rl.acquire("daily") == pytest.approx(60.0)


def test_an_hourly_limit_is_a_second_window(clock: FakeClock) -> None:
    rl = limiter(clock, 200)
    rl.lower("stk_mins", 2, per="hour")
    assert (rl.limit("stk_mins"), rl.limit("stk_mins", "hour")) == (200, 2)
    assert [rl.acquire("stk_mins") for _ in range(2)] == [0.0, 0.0]
    assert rl.acquire("stk_mins") == pytest.approx(3600.0)


@pytest.mark.parametrize(("points", "per_minute"), [(2000, 200), (5000, 500)], ids=["2000-points", "5000-points"])
def test_limits_from_options(clock: FakeClock, points: int, per_minute: int) -> None:
    options = TushareOptions(rate_per_minute=per_minute, rate_limits={"fut_basic": 80}, rate_window_seconds=1)
    rl = RateLimiter.from_options(options, now=clock.now, sleep=clock.sleep)
    assert (rl.limit("daily"), rl.limit("fut_basic"), rl.window()) == (per_minute, 80, 1.0)
    assert all(rl.acquire("daily") == 0.0 for _ in range(per_minute))
    assert rl.acquire("daily") == pytest.approx(1.0)
    assert all(rl.acquire("fut_basic") == 0.0 for _ in range(80))
    assert rl.acquire("fut_basic") == pytest.approx(1.0)


def test_wait_for_next_window_waits_a_whole_window(clock: FakeClock) -> None:
    rl = limiter(clock, 200)
    rl.acquire("daily")
    clock.advance(10)
    assert rl.wait_for_next_window("daily") == pytest.approx(60.0)
    assert clock.t == pytest.approx(1070.0)
    assert rl.acquire("daily") == 0.0


def test_wait_for_next_window_holds_other_callers_of_the_api(clock: FakeClock) -> None:
    others: list[float] = []
    first = True

    def sleep(seconds: float) -> None:
        nonlocal first
        if first:  # while the first caller waits, others call daily and shibor
            first = False
            others.append(rl.acquire("daily"))
            others.append(rl.acquire("shibor"))
        else:
            clock.sleep(seconds)

    rl = RateLimiter(200, window_seconds=60, now=clock.now, sleep=sleep)
    rl.wait_for_next_window("daily")
    assert others == [pytest.approx(60.0), 0.0]


def test_wait_for_next_window_per_hour(clock: FakeClock) -> None:
    rl = limiter(clock, 200, window=1.0)
    assert rl.wait_for_next_window("stk_mins", per="hour") == pytest.approx(60.0)


@pytest.mark.parametrize(("per_window", "overrides"), [(0, None), (10, {"daily": 0})], ids=["default", "override"])
def test_limits_below_one_are_refused(clock: FakeClock, per_window: int, overrides: dict[str, int] | None) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        limiter(clock, per_window, overrides)
