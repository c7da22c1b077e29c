"""Revising a published macro value in the generated world: only that period, from that instant on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tushare_rollout.tushare.server.macro import BadRevision, MacroWorld

BEIJING = dt.timezone(dt.timedelta(hours=8))
BEFORE = dt.datetime(2024, 6, 1, 12, 0, tzinfo=BEIJING)  # 202403 CPI and 2023Q4 GDP are out
REVISED_AT = dt.datetime(2024, 6, 3, 12, 0, tzinfo=BEIJING)
AFTER = dt.datetime(2024, 6, 5, 12, 0, tzinfo=BEIJING)


@pytest.fixture
def world() -> MacroWorld:
    return MacroWorld()  # a fresh world per test: revisions live in the world


def cpi(world: MacroWorld, when: dt.datetime) -> dict[str, dict[str, Any]]:
    return {r["month"]: r for r in world.rows("cn_cpi", {"start_m": "202401", "end_m": "202405"}, when)}


def changed(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[tuple[str, str], tuple]:
    """``(period, field) -> (old, new)`` for every value that differs."""
    assert old.keys() == new.keys()
    return {(p, f): (old[p][f], new[p][f]) for p in old for f in old[p] if old[p][f] != new[p][f]}


def test_a_revision_changes_that_field_and_what_derives_from_it_only(world: MacroWorld) -> None:
    before = cpi(world, BEFORE)
    assert before["202403"]["nt_yoy"] != 2.7
    row = world.revise("cn_cpi", "202403", {"nt_yoy": 2.7}, REVISED_AT)
    after = cpi(world, AFTER)
    assert changed(before, after) == {
        ("202403", "nt_yoy"): (before["202403"]["nt_yoy"], 2.7),
        ("202403", "nt_val"): (before["202403"]["nt_val"], 102.7),  # nt_val = 100 + nt_yoy
    }
    assert row == after["202403"]
    assert cpi(world, BEFORE) == before  # an earlier clock still sees the first print: point in time holds
    assert cpi(world, REVISED_AT) == after  # effective at the instant itself


def test_revisions_stack_in_the_order_of_their_instants(world: MacroWorld) -> None:
    later = REVISED_AT + dt.timedelta(days=30)
    world.revise("cn_cpi", "202403", {"nt_yoy": 3.1, "nt_mom": 0.4}, later)  # made first, effective later
    world.revise("cn_cpi", "202403", {"nt_yoy": 2.7}, REVISED_AT)
    world.revise("cn_cpi", "202403", {"nt_yoy": 2.8}, REVISED_AT)  # same instant: the later call wins
    vintages = [(r["nt_yoy"], r["nt_mom"]) for r in
                (cpi(world, t)["202403"] for t in (BEFORE, AFTER, later + dt.timedelta(seconds=1)))]
    first_mom = vintages[0][1]
    assert vintages[1:] == [(2.8, first_mom), (3.1, 0.4)]


def test_gdp_follows_its_industries_and_stacks_on_the_built_in_revision(world: MacroWorld) -> None:
    quarter = {"q": "2023Q4"}
    first = world.rows("cn_gdp", quarter, BEFORE)[0]
    built_in = world.rows("cn_gdp", quarter, dt.datetime(2025, 1, 1, tzinfo=BEIJING))[0]  # ~nine months on
    assert built_in["gdp"] != first["gdp"]
    row = world.revise("cn_gdp", "2023q4", {"pi": 90000.0, "gdp_yoy": 5.4}, REVISED_AT)
    assert row["quarter"] == "2023Q4" and row["pi"] == 90000.0 and row["gdp_yoy"] == 5.4
    assert row["gdp"] == round(90000.0 + first["si"] + first["ti"], 1)
    later = world.rows("cn_gdp", quarter, dt.datetime(2025, 1, 1, tzinfo=BEIJING))[0]
    assert later["pi"] == 90000.0 and later["si"] == built_in["si"] and later["ti"] == built_in["ti"]
    assert later["gdp"] == round(90000.0 + built_in["si"] + built_in["ti"], 1)
    assert world.rows("cn_gdp", {"q": "2023Q3"}, AFTER) == world.rows("cn_gdp", {"q": "2023Q3"}, BEFORE)


def test_a_period_not_out_yet_comes_out_revised(world: MacroWorld) -> None:
    release = next(r["publish_date"] for r in world.rows("cn_schedule", {}, AFTER)
                   if r["data_api"] == "cn_ppi" and r["month"] == "202406")
    world.revise("cn_ppi", "202406", {"ppi_yoy": -0.5}, AFTER)
    day = dt.datetime.strptime(release, "%Y%m%d").replace(tzinfo=BEIJING)
    assert world.rows("cn_ppi", {"m": "202406"}, day + dt.timedelta(hours=9, minutes=29)) == []
    assert world.rows("cn_ppi", {"m": "202406"}, day + dt.timedelta(hours=9, minutes=30))[0]["ppi_yoy"] == -0.5


def test_eco_cal_keeps_the_first_print(world: MacroWorld) -> None:
    params = {"start_date": "20240401", "end_date": "20240430", "event": "中国CPI年率"}
    before = world.rows("eco_cal", params, AFTER)
    world.revise("cn_cpi", "202403", {"nt_yoy": 2.7}, REVISED_AT)
    assert world.rows("eco_cal", params, AFTER) == before


def test_same_revisions_same_answers() -> None:
    worlds = [MacroWorld(seed=7), MacroWorld(seed=7)]
    for w in worlds:
        w.revise("cn_m", "202401", {"m2": 2976250.0, "m2_yoy": None}, REVISED_AT)
    answers = [w.rows("cn_m", {"start_m": "202312", "end_m": "202402"}, AFTER) for w in worlds]
    assert answers[0] == answers[1]
    assert [r["m2_yoy"] for r in answers[0] if r["month"] == "202401"] == [None]


@pytest.mark.parametrize(("api", "period", "values", "says"), [
    ("shibor", "20240102", {"on": 1.5}, "shibor cannot be revised"),
    ("daily", "20240102", {"close": 1.0}, "daily cannot be revised"),
    ("cn_cpi", "2024-03", {"nt_yoy": 1.0}, "格式错误"),
    ("cn_cpi", "203001", {"nt_yoy": 1.0}, "no period '203001'"),
    ("cn_gdp", "202403", {"gdp_yoy": 1.0}, "格式错误"),
    ("cn_cpi", "202403", {}, "at least one field"),
    ("cn_cpi", "202403", {"nt_yo": 1.0}, "no revisable field 'nt_yo'"),
    ("cn_cpi", "202403", {"month": "202404"}, "no revisable field 'month'"),
    ("cn_cpi", "202403", {"nt_val": 102.7}, "nt_val follows nt_yoy: revise nt_yoy"),
    ("cn_gdp", "2023Q4", {"gdp": 1.0}, "gdp follows pi \\+ si \\+ ti"),
    ("cn_cpi", "202403", {"nt_yoy": "2.7"}, "finite number or null"),
    ("cn_cpi", "202403", {"nt_yoy": True}, "finite number or null"),
    ("cn_cpi", "202403", {"nt_yoy": float("nan")}, "finite number or null"),
], ids=["daily-rate", "not-macro", "bad-month", "out-of-range", "month-for-quarter", "no-values", "unknown-field",
        "key-field", "derived-cpi", "derived-gdp", "string", "bool", "nan"])
def test_what_cannot_be_revised_is_refused_and_changes_nothing(world: MacroWorld, api: str, period: str,
                                                                values: dict, says: str) -> None:
    before = cpi(world, AFTER)
    with pytest.raises(BadRevision, match=says):
        world.revise(api, period, values, REVISED_AT)
    assert cpi(world, AFTER) == before


def test_the_instant_must_be_aware(world: MacroWorld) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        world.revise("cn_cpi", "202403", {"nt_yoy": 2.7}, dt.datetime(2024, 6, 3))
