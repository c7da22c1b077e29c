"""The FX and macro generator behind the local Tushare server: shapes, determinism, point-in-time."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable

import exchange_calendars as xcals
import pytest

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.macro import MacroWorld, known_from, schedule_period
from tushare_rollout.tushare.server.params import BadParams

BEIJING = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 24, 13, 0, tzinfo=BEIJING)
WIRE: dict[str, Callable[[object], bool]] = {
    "str": lambda v: isinstance(v, str),
    "float": lambda v: isinstance(v, float),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
PERIOD_FIELD = {"cn_cpi": "month", "cn_ppi": "month", "cn_m": "month", "cn_pmi": "month", "cn_gdp": "quarter"}


@pytest.fixture(scope="module")
def world() -> MacroWorld:
    return MacroWorld()


def bj(day: str, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A Beijing moment from ``YYYYMMDD``."""
    d = dt.datetime.strptime(day, "%Y%m%d")
    return d.replace(hour=hour, minute=minute, second=second, tzinfo=BEIJING)


def api_params(api: str, row: dict) -> dict:
    """The params selecting the period of a cn_schedule row in its data API."""
    if api == "cn_gdp":
        return {"q": f"{row['month'][:4]}Q{int(row['month'][4:]) // 3}"}
    return {"m": row["month"]}


def schedule(world: MacroWorld, data_api: str, when: dt.datetime = NOW) -> list[dict]:
    return [r for r in world.rows("cn_schedule", {}, when) if r["data_api"] == data_api]


# -- shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", sorted(MacroWorld.APIS), ids=sorted(MacroWorld.APIS))
def test_rows_have_the_catalog_fields_with_wire_types(world: MacroWorld, api: str) -> None:
    rows = world.rows(api, {}, NOW)
    assert rows, api
    spec = APIS[api]
    for row in rows:
        assert tuple(row) == spec.field_names
        for name, kind in spec.fields:
            value = row[name]
            assert value is None or WIRE[kind](value), (api, name, value)


def test_the_world_serves_exactly_the_fourteen_apis() -> None:
    assert MacroWorld.APIS == {
        "fx_obasic", "fx_daily", "cn_gdp", "cn_cpi", "cn_ppi", "cn_m", "shibor", "cn_pmi",
        "us_tycr", "us_trycr", "us_tbr", "us_tltr", "eco_cal", "cn_schedule",
    }
    assert MacroWorld.APIS <= set(APIS)


def test_unknown_api_and_naive_clock_are_refused(world: MacroWorld) -> None:
    with pytest.raises(KeyError):
        world.rows("daily", {}, NOW)
    with pytest.raises(ValueError, match="aware"):
        world.rows("cn_cpi", {}, dt.datetime(2026, 1, 1))


# -- determinism ----------------------------------------------------------------------------------

SAMPLE_CALLS = [
    ("fx_daily", {"ts_code": "EURUSD.FXCM,XAUUSD.FXCM", "start_date": "20240101", "end_date": "20240131"}),
    ("cn_cpi", {}), ("cn_ppi", {}), ("cn_m", {}), ("cn_pmi", {}), ("cn_gdp", {}),
    ("shibor", {"start_date": "20230101", "end_date": "20230331"}), ("us_tycr", {"start_date": "20230101"}),
    ("us_trycr", {}), ("us_tbr", {}), ("us_tltr", {}), ("eco_cal", {"start_date": "20250101"}), ("cn_schedule", {}),
]


@pytest.mark.parametrize(("api", "params"), SAMPLE_CALLS, ids=[c[0] for c in SAMPLE_CALLS])
def test_same_seed_same_rows_other_seed_other_values(world: MacroWorld, api: str, params: dict) -> None:
    assert MacroWorld(20240101).rows(api, params, NOW) == world.rows(api, params, NOW)
    if api != "cn_schedule" and api != "us_tltr":
        assert MacroWorld(7).rows(api, params, NOW) != world.rows(api, params, NOW)


def test_other_seed_moves_release_dates(world: MacroWorld) -> None:
    mine = {(r["title"], r["publish_date"]) for r in world.rows("cn_schedule", {}, NOW)}
    other = {(r["title"], r["publish_date"]) for r in MacroWorld(7).rows("cn_schedule", {}, NOW)}
    assert mine != other


# -- FX -------------------------------------------------------------------------------------------


def test_fx_bars_are_weekday_bid_ask_envelopes(world: MacroWorld) -> None:
    rows = world.rows("fx_daily", {}, NOW)
    codes = {r["ts_code"] for r in world.rows("fx_obasic", {}, NOW)}
    assert {r["ts_code"] for r in rows} == codes
    assert 18 <= len(codes) <= 25
    for r in rows:
        assert dt.datetime.strptime(r["trade_date"], "%Y%m%d").weekday() < 5
        for side in ("bid", "ask"):
            o, c, h, lo = (r[f"{side}_{k}"] for k in ("open", "close", "high", "low"))
            assert lo <= min(o, c) <= max(o, c) <= h, r
        for k in ("open", "close", "high", "low"):
            assert r[f"ask_{k}"] > r[f"bid_{k}"] > 0, r
        assert r["tick_qty"] > 0 and r["exchange"] == "FXCM"


def test_fx_spreads_are_small(world: MacroWorld) -> None:
    for r in world.rows("fx_daily", {"trade_date": "20250314"}, NOW):
        assert (r["ask_close"] - r["bid_close"]) / r["bid_close"] < 0.005, r


def test_fx_daily_bar_appears_once_the_gmt_day_has_ended(world: MacroWorld) -> None:
    params = {"ts_code": "USDCNH.FXCM", "trade_date": "20261120"}
    end_of_day = dt.datetime(2026, 11, 21, tzinfo=UTC)
    assert world.rows("fx_daily", params, end_of_day - dt.timedelta(seconds=1)) == []
    assert len(world.rows("fx_daily", params, end_of_day)) == 1


def test_fx_daily_has_no_weekend_bars(world: MacroWorld) -> None:
    assert world.rows("fx_daily", {"trade_date": "20261121"}, NOW) == []  # a Saturday
    assert len(world.rows("fx_daily", {"trade_date": "20261120"}, NOW)) == len(world.rows("fx_obasic", {}, NOW))


def test_fx_daily_filters_codes_dates_and_exchange(world: MacroWorld) -> None:
    params = {"ts_code": "EURUSD.FXCM,USDJPY.FXCM", "start_date": "20240101", "end_date": "20240131"}
    rows = world.rows("fx_daily", params, NOW)
    assert {r["ts_code"] for r in rows} == {"EURUSD.FXCM", "USDJPY.FXCM"}
    assert len(rows) == 2 * 23  # January 2024 has 23 weekdays
    assert min(r["trade_date"] for r in rows) == "20240101" and max(r["trade_date"] for r in rows) == "20240131"
    assert [r["trade_date"] for r in rows] == sorted((r["trade_date"] for r in rows), reverse=True)
    assert world.rows("fx_daily", params | {"exchange": "OANDA"}, NOW) == []
    assert world.rows("fx_daily", params | {"exchange": "fxcm"}, NOW) == rows


def test_fx_crosses_follow_the_majors(world: MacroWorld) -> None:
    day = {"trade_date": "20230615"}
    close = {r["ts_code"]: r["bid_close"] for r in world.rows("fx_daily", day, NOW)}
    assert close["EURJPY.FXCM"] == pytest.approx(close["EURUSD.FXCM"] * close["USDJPY.FXCM"], rel=2e-3)
    assert close["EURGBP.FXCM"] == pytest.approx(close["EURUSD.FXCM"] / close["GBPUSD.FXCM"], rel=2e-3)


def test_fx_obasic_lists_fxcm_instruments_by_class(world: MacroWorld) -> None:
    rows = world.rows("fx_obasic", {}, NOW)
    by_code = {r["ts_code"]: r for r in rows}
    for code in ("USDCNH", "EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "XAUUSD", "XAGUSD"):
        assert f"{code}.FXCM" in by_code
    assert {r["classify"] for r in rows} >= {"FX", "METAL", "INDEX", "COMMODITY"}
    assert by_code["USDJPY.FXCM"]["pip"] == 0.01 and by_code["EURUSD.FXCM"]["pip"] == 0.0001
    metals = world.rows("fx_obasic", {"classify": "METAL"}, NOW)
    assert {r["ts_code"] for r in metals} == {"XAUUSD.FXCM", "XAGUSD.FXCM"}
    picked = world.rows("fx_obasic", {"ts_code": "EURUSD.FXCM,USDCNH.FXCM"}, NOW)
    assert {r["ts_code"] for r in picked} == {"EURUSD.FXCM", "USDCNH.FXCM"}
    assert world.rows("fx_obasic", {"exchange": "SAXO"}, NOW) == []


# -- point in time --------------------------------------------------------------------------------


def test_cpi_appears_at_its_scheduled_release(world: MacroWorld) -> None:
    row = next(r for r in schedule(world, "cn_cpi") if r["month"] == "202609")
    day = row["publish_date"]
    assert day[:6] == "202610"
    before = bj(day) - dt.timedelta(days=1)
    assert world.rows("cn_cpi", {"m": "202609"}, before) == []
    assert world.rows("cn_cpi", {"m": "202609"}, bj(day, 9, 29, 59)) == []
    assert [r["month"] for r in world.rows("cn_cpi", {"m": "202609"}, bj(day, 9, 30))] == ["202609"]


@pytest.mark.parametrize("api", sorted(PERIOD_FIELD), ids=sorted(PERIOD_FIELD))
def test_cn_schedule_agrees_with_availability(world: MacroWorld, api: str) -> None:
    rows = [r for r in schedule(world, api) if "2024" <= r["month"] <= "2026"]
    assert len(rows) >= (8 if api == "cn_gdp" else 24)
    for row in rows:
        params = api_params(api, row)
        day = row["publish_date"]  # every release slot lies between 09:30 and 16:00
        assert world.rows(api, params, bj(day, 9, 29)) == [], row
        assert len(world.rows(api, params, bj(day, 23, 59))) == 1, row


@pytest.mark.parametrize(("api", "window"), [
    ("cn_cpi", (9, 13)), ("cn_ppi", (9, 13)), ("cn_m", (10, 15)), ("cn_gdp", (15, 18)),
], ids=["cn_cpi", "cn_ppi", "cn_m", "cn_gdp"])
def test_release_days_fall_in_the_real_windows(world: MacroWorld, api: str, window: tuple[int, int]) -> None:
    for row in schedule(world, api, dt.datetime(2027, 2, 1, tzinfo=BEIJING)):
        reference = dt.date(int(row["month"][:4]), int(row["month"][4:]), 1)
        published = dt.datetime.strptime(row["publish_date"], "%Y%m%d").date()
        months_later = (published.year - reference.year) * 12 + published.month - reference.month
        assert months_later == 1 and window[0] <= published.day <= window[1], row
        assert published.weekday() < 5, row


def test_pmi_is_released_at_month_end_or_the_first(world: MacroWorld) -> None:
    for row in schedule(world, "cn_pmi", dt.datetime(2027, 2, 1, tzinfo=BEIJING)):
        published = dt.datetime.strptime(row["publish_date"], "%Y%m%d").date()
        assert published.day == 1 or (published + dt.timedelta(days=1)).day == 1, row
        assert (published - dt.timedelta(days=1)).strftime("%Y%m") == row["month"] or \
            published.strftime("%Y%m") == row["month"], row


def test_schedule_is_known_up_to_two_months_ahead(world: MacroWorld) -> None:
    rows = world.rows("cn_schedule", {}, NOW)
    ahead = [r for r in rows if r["publish_date"] > "20261124"]
    assert ahead, "upcoming releases are scheduled"
    assert max(r["publish_date"] for r in rows) <= "20261231"
    later = world.rows("cn_schedule", {}, bj("20261201"))
    assert max(r["publish_date"] for r in later) > "20270101"
    assert {r["data_api"] for r in rows} >= {"cn_cpi", "cn_ppi", "cn_m", "cn_gdp", "cn_pmi", None, "待上线"}


def test_cn_schedule_filters_month_and_title(world: MacroWorld) -> None:
    rows = world.rows("cn_schedule", {"m": "202606"}, NOW)
    assert {r["month"] for r in rows} == {"202606"}
    assert {r["data_api"] for r in rows} >= {"cn_cpi", "cn_gdp", "cn_pmi"}
    cpi = world.rows("cn_schedule", {"m": "202606", "title": "居民消费价格指数"}, NOW)
    assert [r["data_api"] for r in cpi] == ["cn_cpi"]


@pytest.mark.parametrize(("api", "cutoff"), [
    ("shibor", lambda d: bj(d, 11)), ("us_tycr", lambda d: bj(d, 8) + dt.timedelta(days=1)),
    ("us_trycr", lambda d: bj(d, 8) + dt.timedelta(days=1)), ("us_tbr", lambda d: bj(d, 8) + dt.timedelta(days=1)),
    ("us_tltr", lambda d: bj(d, 8) + dt.timedelta(days=1)),
], ids=["shibor", "us_tycr", "us_trycr", "us_tbr", "us_tltr"])
def test_daily_rates_appear_at_their_publication_time(world: MacroWorld, api: str, cutoff: Callable) -> None:
    day = "20261118"  # a Wednesday, a session in Shanghai and New York
    at = cutoff(day)
    assert world.rows(api, {"date": day}, at - dt.timedelta(seconds=1)) == []
    assert [r["date"] for r in world.rows(api, {"date": day}, at)] == [day]
    newest = world.rows(api, {}, NOW)[0]["date"]
    assert cutoff(newest) <= NOW


def test_nothing_is_returned_before_history_starts(world: MacroWorld) -> None:
    early = dt.datetime(2009, 6, 1, tzinfo=UTC)
    for api in sorted(MacroWorld.APIS - {"fx_obasic"}):
        assert world.rows(api, {}, early) == [], api


def test_daily_rates_follow_the_exchange_calendars(world: MacroWorld) -> None:
    shibor = {r["date"] for r in world.rows("shibor", {"start_date": "20250101", "end_date": "20251231"}, NOW)}
    tycr = {r["date"] for r in world.rows("us_tycr", {"start_date": "20250101", "end_date": "20251231"}, NOW)}
    with warnings.catch_warnings():  # exchange_calendars still reads Series.values (a pandas deprecation)
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray", category=DeprecationWarning)
        xshg = xcals.get_calendar("XSHG", start="2005-01-01", end="2026-12-31")
        xnys = xcals.get_calendar("XNYS", start="2005-01-01", end="2026-12-31")
    assert shibor == {d.strftime("%Y%m%d") for d in xshg.sessions_in_range("2025-01-01", "2025-12-31")}
    assert tycr == {d.strftime("%Y%m%d") for d in xnys.sessions_in_range("2025-01-01", "2025-12-31")}
    assert "20251001" not in shibor and "20251127" not in tycr


def test_gdp_is_revised_once_about_nine_months_after_release(world: MacroWorld) -> None:
    row = next(r for r in schedule(world, "cn_gdp") if r["month"] == "202503")
    first = bj(row["publish_date"], 10)
    vintages = []
    for week in range(0, 60):
        rows = world.rows("cn_gdp", {"q": "2025Q1"}, first + dt.timedelta(weeks=week))
        assert len(rows) == 1
        if not vintages or vintages[-1][1] != rows[0]:
            vintages.append((week, rows[0]))
    assert len(vintages) == 2
    (_, initial), (changed_at, revised) = vintages
    assert 34 <= changed_at <= 43  # weeks: eight to ten months
    assert revised["quarter"] == initial["quarter"] == "2025Q1"
    assert revised["gdp"] != initial["gdp"]
    assert abs(revised["gdp"] / initial["gdp"] - 1) < 0.01
    assert all(abs(revised[k] - initial[k]) <= 0.21 for k in ("gdp_yoy", "pi_yoy", "si_yoy", "ti_yoy"))


def test_eco_cal_values_appear_at_event_time(world: MacroWorld) -> None:
    cpi = next(r for r in schedule(world, "cn_cpi") if r["month"] == "202609")
    day = cpi["publish_date"]
    params = {"date": day, "event": "中国CPI年率"}
    before, after = world.rows("eco_cal", params, bj(day, 9, 29)), world.rows("eco_cal", params, bj(day, 9, 30))
    assert len(before) == len(after) == 1
    assert before[0]["time"] == "09:30" and before[0]["value"] is None and before[0]["pre_value"] is not None
    nt_yoy = world.rows("cn_cpi", {"m": "202609"}, NOW)[0]["nt_yoy"]
    assert after[0]["value"] == f"{nt_yoy:.1f}%"
    assert after[0]["pre_value"] == f"{world.rows('cn_cpi', {'m': '202608'}, NOW)[0]['nt_yoy']:.1f}%"


def test_eco_cal_china_rows_match_the_schedule(world: MacroWorld) -> None:
    events = {("中国CPI年率", "cn_cpi"), ("中国官方制造业PMI", "cn_pmi"), ("中国M2货币供应年率", "cn_m"), ("中国GDP年率", "cn_gdp")}
    for event, api in events:
        dates = {r["date"] for r in world.rows("eco_cal", {"event": event}, NOW)}
        published = {r["publish_date"] for r in schedule(world, api)}
        assert dates == published, event


def test_eco_cal_filters(world: MacroWorld) -> None:
    window = {"start_date": "20250101", "end_date": "20250331"}
    rows = world.rows("eco_cal", window, NOW)
    assert {r["country"] for r in rows} == {"中国", "美国"}
    assert all("20250101" <= r["date"] <= "20250331" for r in rows)
    us = world.rows("eco_cal", window | {"country": "美国"}, NOW)
    assert us and {r["currency"] for r in us} == {"USD"}
    assert world.rows("eco_cal", window | {"currency": "usd"}, NOW) == us
    nfp = world.rows("eco_cal", window | {"event": "*非农*"}, NOW)
    assert len(nfp) == 3 and all("非农" in r["event"] for r in nfp)
    assert all(r["time"] in ("20:30", "21:30") for r in nfp)  # 08:30 New York
    fomc = world.rows("eco_cal", {"start_date": "20250101", "end_date": "20251231", "event": "美联储*"}, NOW)
    assert len(fomc) == 8 and all(r["time"] in ("02:00", "03:00") for r in fomc)
    assert world.rows("eco_cal", window | {"event": "非农"}, NOW) == []  # no wildcard: exact names only


def test_eco_cal_lists_upcoming_events_without_values(world: MacroWorld) -> None:
    upcoming = [r for r in world.rows("eco_cal", {}, NOW) if r["date"] > "20261124"]
    assert upcoming and all(r["value"] is None and r["fore_value"] is not None for r in upcoming)
    assert max(r["date"] for r in upcoming) <= "20261231"


# -- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["cn_cpi", "cn_ppi", "cn_m", "cn_pmi"], ids=["cn_cpi", "cn_ppi", "cn_m", "cn_pmi"])
def test_monthly_filters(world: MacroWorld, api: str) -> None:
    assert [r["month"] for r in world.rows(api, {"m": "202401"}, NOW)] == ["202401"]
    assert [r["month"] for r in world.rows(api, {"m": "202401,202312"}, NOW)] == ["202401", "202312"]
    months = [r["month"] for r in world.rows(api, {"start_m": "202311", "end_m": "202402"}, NOW)]
    assert months == ["202402", "202401", "202312", "202311"]
    everything = [r["month"] for r in world.rows(api, {}, NOW)]
    assert everything[-1] == "201001" and everything[0] == "202610" and len(everything) == 202
    assert world.rows(api, {"start_m": "202601"}, NOW)[-1]["month"] == "202601"


def test_quarterly_filters(world: MacroWorld) -> None:
    rows = world.rows("cn_gdp", {"start_q": "2024Q3", "end_q": "2025q2"}, NOW)
    assert [r["quarter"] for r in rows] == ["2025Q2", "2025Q1", "2024Q4", "2024Q3"]
    assert [r["quarter"] for r in world.rows("cn_gdp", {"q": "2019Q4,2020Q1"}, NOW)] == ["2020Q1", "2019Q4"]
    quarters = [r["quarter"] for r in world.rows("cn_gdp", {}, NOW)]
    assert quarters[0] == "2026Q3" and quarters[-1] == "2010Q1"


@pytest.mark.parametrize("api", ["shibor", "us_tycr", "us_trycr", "us_tbr", "us_tltr"],
                         ids=["shibor", "us_tycr", "us_trycr", "us_tbr", "us_tltr"])
def test_daily_filters(world: MacroWorld, api: str) -> None:
    rows = world.rows(api, {"start_date": "20240102", "end_date": "20240112"}, NOW)
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates, reverse=True) and len(dates) in (8, 9)
    assert dates[0] <= "20240112" and dates[-1] >= "20240102"
    assert [r["date"] for r in world.rows(api, {"date": "20240105"}, NOW)] == ["20240105"]
    assert world.rows(api, {"date": "20240106"}, NOW) == []  # a Saturday


BAD_PARAMS = [
    ("cn_cpi", {"m": "2024-01"}), ("cn_ppi", {"start_m": "202413"}), ("cn_m", {"m": "202401,2024x1"}),
    ("cn_pmi", {"start_m": "202405", "end_m": "202401"}), ("cn_gdp", {"q": "2024Q5"}),
    ("cn_gdp", {"start_q": "2024Q3", "end_q": "2024Q1"}), ("shibor", {"date": "2024/01/05"}),
    ("us_tycr", {"start_date": "20240301", "end_date": "20240201"}), ("fx_daily", {"trade_date": "20241340"}),
    ("eco_cal", {"date": "yesterday"}), ("cn_schedule", {"m": "20241"}),
]


@pytest.mark.parametrize(("api", "params"), BAD_PARAMS, ids=[f"{a}-{'-'.join(p)}" for a, p in BAD_PARAMS])
def test_malformed_params_raise_bad_params(world: MacroWorld, api: str, params: dict) -> None:
    with pytest.raises(BadParams, match="参数校验失败"):
        world.rows(api, params, NOW)


def test_params_may_arrive_as_numbers(world: MacroWorld) -> None:
    assert world.rows("shibor", {"date": 20240105}, NOW) == world.rows("shibor", {"date": "20240105"}, NOW) != []
    assert world.rows("cn_cpi", {"m": 202401}, NOW) == world.rows("cn_cpi", {"m": "202401"}, NOW) != []


# -- plausibility ---------------------------------------------------------------------------------


def test_cpi_ppi_pmi_are_plausible(world: MacroWorld) -> None:
    for r in world.rows("cn_cpi", {}, NOW):
        assert 95 < r["nt_val"] < 110 and -5 < r["nt_yoy"] < 10 and -3 < r["nt_mom"] < 4
        assert r["nt_val"] == pytest.approx(100 + r["nt_yoy"])
    for r in world.rows("cn_ppi", {}, NOW):
        assert -15 < r["ppi_yoy"] < 20 and -5 < r["ppi_mom"] < 5
    pmi = world.rows("cn_pmi", {}, NOW)
    headline = sorted(r["pmi010000"] for r in pmi)
    assert 47 < headline[len(headline) // 2] < 53
    for r in pmi:
        assert all(v is None or 15 < v < 85 for k, v in r.items() if k != "month")
        assert (r["pmi030000"] is None) == (r["month"] < "201701")


def test_money_and_gdp_are_consistent(world: MacroWorld) -> None:
    money = world.rows("cn_m", {}, NOW)
    for r in money:
        assert 0 < r["m0"] < r["m1"] < r["m2"]
    by_month = {r["month"]: r for r in money}
    assert by_month["202406"]["m2_yoy"] == pytest.approx((by_month["202406"]["m2"] / by_month["202306"]["m2"] - 1)
                                                         * 100, abs=0.06)
    gdp = {r["quarter"]: r for r in world.rows("cn_gdp", {}, dt.datetime(2030, 1, 1, tzinfo=UTC))}
    for r in gdp.values():
        assert r["gdp"] == pytest.approx(r["pi"] + r["si"] + r["ti"], abs=0.2)
        assert -10 < r["gdp_yoy"] < 20
    assert gdp["2024Q1"]["gdp"] < gdp["2024Q2"]["gdp"] < gdp["2024Q3"]["gdp"] < gdp["2024Q4"]["gdp"]
    assert gdp["2025Q1"]["gdp"] < gdp["2024Q4"]["gdp"]  # cumulative within the year


def test_shibor_term_structure_slopes_upward(world: MacroWorld) -> None:
    rows = world.rows("shibor", {}, NOW)
    upward = sum(r["on"] < r["3m"] < r["1y"] for r in rows)
    assert upward / len(rows) > 0.9
    assert all(0 < r["on"] < 15 and 0 < r["1y"] < 10 for r in rows)


def test_treasury_curves_hang_together(world: MacroWorld) -> None:
    tycr = {r["date"]: r for r in world.rows("us_tycr", {}, NOW)}
    tltr = {r["date"]: r for r in world.rows("us_tltr", {}, NOW)}
    bills = {r["date"]: r for r in world.rows("us_tbr", {}, NOW)}
    real = {r["date"]: r for r in world.rows("us_trycr", {}, NOW)}
    assert tycr.keys() == tltr.keys() == bills.keys() == real.keys()
    for day, curve in tycr.items():
        assert all(v is None or 0 < v < 10 for k, v in curve.items() if k != "date")
        assert (curve["m4"] is None) == (day < "20221019") and (curve["m2"] is None) == (day < "20181016")
        assert tltr[day]["cmt"] == curve["y20"] and tltr[day]["e_factor"] is None
        assert bills[day]["w4_bd"] <= bills[day]["w4_ce"]
        assert real[day]["y10"] < curve["y10"]
    assert tycr["20230801"]["m3"] > tycr["20230801"]["y10"]  # inverted in 2023
    assert tycr["20140801"]["m3"] < tycr["20140801"]["y10"]


# -- worked examples of the small date rules -------------------------------------------------------


@pytest.mark.parametrize(("day", "known"), [
    (dt.date(2026, 1, 9), dt.date(2025, 12, 1)), (dt.date(2026, 11, 30), dt.date(2026, 10, 1)),
    (dt.date(2026, 3, 1), dt.date(2026, 2, 1)),
], ids=["january-release", "month-end", "first-of-month"])
def test_known_from(day: dt.date, known: dt.date) -> None:
    assert known_from(day) == known


@pytest.mark.parametrize(("period", "family", "expected"), [
    ("2026Q3", "gdp", ("202609", "2026年三季度")), ("2026Q1", "gdp", ("202603", "2026年一季度")),
    ("202602", "activity", ("202602", "2026年1-2月份")), ("202610", "prices", ("202610", "2026年10月份")),
], ids=["gdp-q3", "gdp-q1", "jan-feb-activity", "cpi-october"])
def test_schedule_period(period: str, family: str, expected: tuple[str, str]) -> None:
    assert schedule_period(period, family) == expected
