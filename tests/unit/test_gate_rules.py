"""The pure parts of gates and flags: streak arithmetic, grading, thresholds, effective flags."""

from __future__ import annotations

import datetime as dt

import pytest

from tushare_rollout.flags import RolloutFlags
from tushare_rollout.gates import runner
from tushare_rollout.gates.model import Check, Gate, Severity, Worse, grade
from tushare_rollout.gates.streak import DayState, serving_day, streak
from tushare_rollout.jobs.gate import parse_as_of
from tushare_rollout.tushare.server.calendar import TradingCalendar

CAL = TradingCalendar.shanghai()
C, B, I = DayState.CLEAN, DayState.BLOCKED, DayState.IDLE


def d(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def open_between(first: str, last: str) -> list[dt.date]:
    out, day = [], d(first)
    while day <= d(last):
        if CAL.is_open(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


# (name, window, states by day (default CLEAN), last_due, expected days, since, ended_by, ended_on)
STREAKS = [
    ("all-clean-over-a-weekend", ("20240104", "20240109"), {}, "20240109", 4, "20240104", None, None),
    ("weekend-neither-breaks-nor-counts", ("20240105", "20240108"), {}, "20240108", 2, "20240105", None, None),
    ("spring-festival-closure-is-skipped", ("20240207", "20240220"), {}, "20240220", 4, "20240207", None, None),
    ("blocked-just-before-the-festival", ("20240205", "20240220"), {"20240208": B}, "20240220", 2, "20240219",
     "blocked", "20240208"),
    ("two-failures-in-the-last-five", ("20240201", "20240221"), {"20240207": B, "20240219": B}, "20240221", 2,
     "20240220", "blocked", "20240219"),
    ("an-idle-day-ends-the-streak", ("20240102", "20240105"), {"20240103": I}, "20240105", 2, "20240104", "idle",
     "20240103"),
    ("today-not-yet-due-is-ignored", ("20240102", "20240105"), {"20240105": I}, "20240104", 3, "20240102", None,
     None),
    ("newest-due-day-blocked", ("20240102", "20240105"), {"20240105": B}, "20240105", 0, None, "blocked",
     "20240105"),
    ("due-day-on-a-weekend-counts-back-to-friday", ("20240102", "20240105"), {}, "20240107", 4, "20240102", None,
     None),
]


@pytest.mark.parametrize(("window", "marks", "last_due", "count", "since", "ended_by", "ended_on"),
                         [s[1:] for s in STREAKS], ids=[s[0] for s in STREAKS])
def test_streak_counts_consecutive_clean_trading_days(window, marks, last_due, count, since, ended_by, ended_on
                                                      ) -> None:
    open_days = open_between(*window)
    states = {day: C for day in open_days} | {d(k): v for k, v in marks.items()}
    s = streak(open_days, states, d(last_due))
    assert (s.days, s.since, s.ended_by, s.ended_on) == (count, since and d(since), ended_by, ended_on and d(ended_on))
    assert s.reached(3) is (count >= 3)


def test_the_spring_festival_2024_is_closed_in_the_calendar_the_tests_use() -> None:
    assert open_between("20240208", "20240219") == [d("20240208"), d("20240219")]


@pytest.mark.parametrize(("moment", "served"), [
    ("20240210", "20240208"), ("20240219", "20240219"), ("20240106", "20240105"), ("20240101", None),
], ids=["festival-counts-toward-the-last-open-day", "open-day-is-itself", "saturday-counts-toward-friday",
        "before-any-open-day"])
def test_a_run_serves_the_newest_open_day_on_or_before_it(moment: str, served: str | None) -> None:
    assert serving_day(open_between("20240102", "20240229"), d(moment)) == (served and d(served))


COUNT = Check("q.count", Gate.QUALITY, "bad rows", warn=0, fail=5, evaluate=lambda ctx: [])
SHARE = Check("s.share", Gate.STABILITY, "good share", warn=0.99, fail=0.8, worse=Worse.LOWER, evaluate=lambda c: [])
INFO = Check("i.info", Gate.SCHEDULING, "informational", warn=0, fail=None, evaluate=lambda ctx: [])


@pytest.mark.parametrize(("check", "value", "severity"), [
    (COUNT, 0, Severity.PASS), (COUNT, 1, Severity.WARN), (COUNT, 5, Severity.WARN), (COUNT, 6, Severity.FAIL),
    (SHARE, 1.0, Severity.PASS), (SHARE, 0.99, Severity.PASS), (SHARE, 0.9, Severity.WARN),
    (SHARE, 0.79, Severity.FAIL), (INFO, 10**9, Severity.WARN), (INFO, None, Severity.WARN),
], ids=["count-zero", "count-above-warn", "count-at-fail", "count-above-fail", "share-full", "share-at-warn",
        "share-below-warn", "share-below-fail", "informational-never-fails", "unmeasured-is-a-warning"])
def test_grade(check: Check, value: float | None, severity: Severity) -> None:
    assert grade(check, value) is severity


def test_thresholds_are_overridden_per_check_and_the_streak_follows_stable_trading_days() -> None:
    checks = runner.thresholds(runner.checks_for("B"), {"quality.ohlc_envelope": {"fail": 5}}, stable_trading_days=5)
    by = {c.name: c for c in checks}
    assert (by["quality.ohlc_envelope"].warn, by["quality.ohlc_envelope"].fail) == (0, 5)
    assert by["stability.clean_streak"].warn == 5 and by["stability.clean_streak"].fail is None
    assert by["quality.pct_chg_identity"].fail == 0  # untouched
    with pytest.raises(ValueError, match="unknown check"):
        runner.thresholds(checks, {"quality.nope": {"fail": 1}}, 3)
    with pytest.raises(ValueError, match="use warn and fail"):
        runner.thresholds(checks, {"quality.ohlc_envelope": {"max": 1}}, 3)


def test_every_check_has_a_unique_name_in_its_gates_namespace() -> None:
    names = list(runner.ALL_CHECKS)
    assert len(names) == len(set(names))
    for name, check in runner.ALL_CHECKS.items():
        prefix = name.split(".")[0]
        assert prefix == check.gate.value or (prefix == "baseline" and check.gate is Gate.BATCH)
        assert check.metric and check.evaluate


@pytest.mark.parametrize(("flags", "flag", "premarket", "effective", "reason"), [
    ({"p0Enabled": True}, "p0Enabled", False, True, None),
    ({"p1Enabled": False}, "p1Enabled", False, False, "p1Enabled is off"),
    ({"p2RealtimeIndexV1": True}, "p2RealtimeIndexV1", False, False,
     "p2Enabled is off: P2 sub-flags have no effect without it"),
    ({"p2Enabled": True, "p2RealtimeIndexV1": True}, "p2RealtimeIndexV1", False, True, None),
    ({"p2Enabled": True, "p2SpecialPermissionStkPremarketV1": True}, "p2SpecialPermissionStkPremarketV1", False,
     False, "no granted stk_premarket permission probe on record"),
    ({"p2Enabled": True, "p2SpecialPermissionStkPremarketV1": True}, "p2SpecialPermissionStkPremarketV1", True,
     True, None),
], ids=["batch-on", "batch-off", "subflag-without-p2", "subflag-with-p2", "premarket-without-probe",
        "premarket-with-probe"])
def test_effective_flags(flags: dict, flag: str, premarket: bool, effective: bool, reason: str | None) -> None:
    state = RolloutFlags(**flags).effective(flag, premarket_granted=premarket)
    assert (state.effective, state.reason) == (effective, reason)


def test_flags_round_trip_through_the_audit_columns_and_reject_unknown_fields() -> None:
    flags = RolloutFlags(p1Enabled=True, p2Enabled=True, p2FuturesMicrostructureV1=True, updatedAt=17)
    assert RolloutFlags.from_audit_row(flags.audit_row()) == flags
    with pytest.raises(ValueError, match="p9Enabled"):
        RolloutFlags.model_validate({"p9Enabled": True})


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-03-29", "2024-03-29T23:59:59+08:00"),
    ("20240329", "2024-03-29T23:59:59+08:00"),
    ("2024-03-29T17:00", "2024-03-29T17:00:00+08:00"),
    ("2024-03-29T09:00:00+00:00", "2024-03-29T09:00:00+00:00"),
], ids=["date", "compact-date", "beijing-time", "explicit-zone"])
def test_as_of_parsing(text: str, expected: str) -> None:
    assert parse_as_of(text, dt.datetime.now).isoformat() == expected
    with pytest.raises(ValueError):
        parse_as_of("yesterday", dt.datetime.now)


def test_docs_list_every_check_with_its_default_thresholds() -> None:
    from pathlib import Path

    rows = {line.split("|")[1].strip(" `"): [c.strip() for c in line.split("|")[1:-1]]
            for line in (Path(__file__).parents[2] / "docs" / "gates.md").read_text().splitlines()
            if line.startswith("| `") and "." in line.split("|")[1]}
    assert set(rows) == set(runner.ALL_CHECKS)
    for name, check in runner.ALL_CHECKS.items():
        warn, fail = rows[name][3], rows[name][4]
        assert fail == ("—" if check.fail is None else f"{check.fail:g}"), name
        if name != "stability.clean_streak":
            assert warn == f"{check.warn:g}", name
        assert rows[name][2] == check.worse.value, name


def test_only_a_retry_of_the_same_work_recovers_a_failed_run() -> None:
    from collections import namedtuple

    from tushare_rollout.gates.stability import blocking_errors

    Run = namedtuple("Run", "run_id dataset status window_start window_end shard_index shard_count")
    day, next_day = d("20240219"), d("20240220")
    failed = Run(1, "daily", "failed", day, day, 0, 2)
    sibling = Run(2, "daily", "succeeded", day, day, 1, 2)  # the other shard of the same Job
    catch_up = Run(3, "daily", "succeeded", next_day, next_day, 0, 2)  # the next day's run
    other = Run(4, "adj_factor", "succeeded", day, day, 0, 2)
    assert blocking_errors([failed, sibling, catch_up, other]) == [failed]
    retry = Run(5, "daily", "succeeded", day, day, 0, 2)
    assert blocking_errors([failed, sibling, retry]) == []
    earlier = Run(0, "daily", "succeeded", day, day, 0, 2)  # a success before the failure recovers nothing
    abandoned = Run(6, "daily", "abandoned", day, day, 0, 2)
    assert blocking_errors([earlier, failed, abandoned]) == [failed, abandoned]
