"""The equity/ETF/index generator behind the local Tushare server: shapes, determinism, consistency, point-in-time."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable

import exchange_calendars as xcals
import pytest

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.calendar import TradingCalendar
from tushare_rollout.tushare.server.market import ExchangeMarket
from tushare_rollout.tushare.server.params import BadParams

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 13, 47, 30, tzinfo=BEIJING)
WIRE: dict[str, Callable[[object], bool]] = {
    "str": lambda v: isinstance(v, str),
    "float": lambda v: isinstance(v, float),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
STOCKS = ["600000.SH", "000001.SZ", "300750.SZ", "688981.SH"]
ETFS = ["510050.SH", "510300.SH", "159915.SZ"]
REQUESTS: dict[str, dict] = {
    "trade_cal": {"start_date": "20240101", "end_date": "20240301"},
    "stock_basic": {},
    "fund_basic": {},
    "index_basic": {},
    "daily": {"trade_date": "20240105"},
    "adj_factor": {"ts_code": "600000.SH", "start_date": "20230101", "end_date": "20231231"},
    "daily_basic": {"trade_date": "20240105"},
    "fund_daily": {"trade_date": "20240105"},
    "fund_adj": {"ts_code": "510300.SH,159915.SZ", "start_date": "20230101"},
    "index_daily": {"ts_code": "000300.SH", "start_date": "20240101", "end_date": "20241231"},
    "index_weight": {"index_code": "000300.SH", "start_date": "20240101", "end_date": "20241231"},
    "stk_premarket": {"trade_date": "20240105"},
    "suspend_d": {"start_date": "20240102", "end_date": "20240329"},
    "stk_mins": {"ts_code": "600000.SH", "freq": "5min", "start_date": "2024-01-02 09:00:00",
                 "end_date": "2024-01-12 15:00:00"},
    "idx_mins": {"ts_code": "000001.SH", "freq": "1min", "start_date": "2024-01-02 09:00:00",
                 "end_date": "2024-01-03 15:00:00"},
    "rt_idx_k": {"ts_code": "0*.SH,399*.SZ"},
    "rt_idx_min": {"ts_code": "000001.SH,399001.SZ", "freq": "5MIN"},
    "rt_etf_k": {"ts_code": "5*.SH", "topic": "HQ_FND_TICK"},
    "rt_min": {"ts_code": "600000.SH,510300.SH", "freq": "1MIN"},
}
TIME_FIELD = {"stk_mins": "trade_time", "idx_mins": "trade_time", "rt_idx_k": "trade_time", "rt_etf_k": "trade_time",
              "rt_min": "time", "rt_idx_min": "time"}


@pytest.fixture(scope="module")
def market() -> ExchangeMarket:
    return ExchangeMarket()


def bj(day: str, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.strptime(day, "%Y%m%d").replace(hour=hour, minute=minute, tzinfo=BEIJING)


def by_date(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["trade_date"])


# -- shapes ---------------------------------------------------------------------------------------


def test_the_market_serves_exactly_the_nineteen_apis(market: ExchangeMarket) -> None:
    assert len(ExchangeMarket.APIS) == 19 and ExchangeMarket.APIS == set(REQUESTS)
    with pytest.raises(KeyError):
        market.rows("fut_daily", {}, NOW)
    with pytest.raises(ValueError):
        market.rows("daily", {"trade_date": "20240105"}, dt.datetime(2026, 1, 1))


@pytest.mark.parametrize("api", sorted(REQUESTS), ids=sorted(REQUESTS))
def test_rows_have_the_catalog_fields_with_wire_types(market: ExchangeMarket, api: str) -> None:
    rows = market.rows(api, REQUESTS[api], NOW)
    assert rows, api
    spec = APIS[api]
    for row in rows:
        assert tuple(row) == spec.field_names
        for name, kind in spec.fields:
            assert row[name] is None or WIRE[kind](row[name]), (api, name, row[name])
    for name in spec.key:
        if name in spec.field_names:
            assert all(row[name] is not None for row in rows), (api, name)


@pytest.mark.parametrize("api", sorted(REQUESTS), ids=sorted(REQUESTS))
def test_keys_are_unique_and_rows_newest_first(market: ExchangeMarket, api: str) -> None:
    rows = market.rows(api, REQUESTS[api], NOW)
    spec = APIS[api]
    key = [k for k in spec.key if k in spec.field_names]
    assert len({tuple(r[k] for k in key) for r in rows}) == len(rows)
    stamp = TIME_FIELD.get(api) or ("cal_date" if api == "trade_cal" else "trade_date")
    if stamp in spec.field_names:
        stamps = [r[stamp] for r in rows]
        assert stamps == sorted(stamps, reverse=True)


# -- determinism ----------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["daily", "fund_daily", "stk_mins", "index_weight"],
                         ids=["daily", "fund_daily", "stk_mins", "index_weight"])
def test_same_seed_same_rows(market: ExchangeMarket, api: str) -> None:
    assert ExchangeMarket(seed=20240101).rows(api, REQUESTS[api], NOW) == market.rows(api, REQUESTS[api], NOW)


def test_other_seed_other_closes(market: ExchangeMarket) -> None:
    params = {"ts_code": "600000.SH,510300.SH", "start_date": "20240101", "end_date": "20240131"}
    other = ExchangeMarket(seed=7)
    mine = [r["close"] for r in market.rows("daily", params, NOW)]
    theirs = [r["close"] for r in other.rows("daily", params, NOW)]
    assert mine and theirs and mine != theirs
    assert other.rows("index_daily", {"ts_code": "000001.SH", "trade_date": "20240105"}, NOW)[0]["close"] != \
        market.rows("index_daily", {"ts_code": "000001.SH", "trade_date": "20240105"}, NOW)[0]["close"]


# -- calendar -------------------------------------------------------------------------------------


def test_trade_cal_matches_xshg(market: ExchangeMarket) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        xshg = xcals.get_calendar("XSHG", start="2015-01-01", end="2025-12-31")
    sessions = {ts.strftime("%Y%m%d") for ts in xshg.sessions}
    rows = market.rows("trade_cal", {"start_date": "20150101", "end_date": "20251231"}, NOW)
    assert len(rows) == (dt.date(2025, 12, 31) - dt.date(2015, 1, 1)).days + 1
    assert {r["cal_date"] for r in rows if r["is_open"] == "1"} == sessions
    ordered = sorted(sessions)
    pretrade = {r["cal_date"]: r["pretrade_date"] for r in rows}
    assert all(pretrade[b] == a for a, b in zip(ordered, ordered[1:]))
    assert pretrade["20240219"] == "20240208"


def test_trade_cal_filters_and_exchanges(market: ExchangeMarket) -> None:
    shfe = market.rows("trade_cal", {"exchange": "SHFE", "start_date": "20240201", "end_date": "20240229",
                                     "is_open": "0"}, NOW)
    assert {r["exchange"] for r in shfe} == {"SHFE"} and all(r["is_open"] == "0" for r in shfe)
    assert "20240212" in {r["cal_date"] for r in shfe} and "20240208" not in {r["cal_date"] for r in shfe}
    assert market.rows("trade_cal", {"exchange": "NYSE"}, NOW) == []


# -- universe and daily coverage ------------------------------------------------------------------


def test_reference_filters(market: ExchangeMarket) -> None:
    assert [r["name"] for r in market.rows("stock_basic", {"ts_code": "600519.SH"}, NOW)] == ["贵州茅台"]
    assert {r["exchange"] for r in market.rows("stock_basic", {"exchange": "BSE"}, NOW)} == {"BSE"}
    assert {r["market"] for r in market.rows("stock_basic", {"market": "创业板"}, NOW)} == {"创业板"}
    assert {r["is_hs"] for r in market.rows("stock_basic", {"is_hs": "H"}, NOW)} == {"H"}
    assert all("银行" in r["name"] for r in market.rows("stock_basic", {"name": "银行"}, NOW))
    assert all(r["status"] == "D" for r in market.rows("fund_basic", {"status": "D"}, NOW))
    assert [r["ts_code"] for r in market.rows("fund_basic", {"ts_code": "510300.SH"}, NOW)] == ["510300.SH"]
    assert {r["category"] for r in market.rows("index_basic", {"category": "规模指数"}, NOW)} == {"规模指数"}
    assert market.rows("index_basic", {"ts_code": "000300.SH"}, NOW)[0]["base_point"] == 1000.0
    # listed later than the clock: not yet in the list
    assert not market.rows("stock_basic", {"ts_code": "688981.SH"}, bj("20200101", 12))


def test_universe_shape(market: ExchangeMarket) -> None:
    stocks = [r for s in "LDP" for r in market.rows("stock_basic", {"list_status": s}, NOW)]
    assert 250 <= len(stocks) <= 320
    status = [r["list_status"] for r in stocks]
    assert status.count("D") >= 10 and status.count("P") >= 1
    assert {r["market"] for r in stocks} == {"主板", "创业板", "科创板", "北交所"}
    assert all(r["delist_date"] for r in stocks if r["list_status"] == "D")
    assert min(r["list_date"] for r in stocks) < "20000101" and max(r["list_date"] for r in stocks) >= "20240101"
    etfs = market.rows("fund_basic", {"market": "E"}, NOW)
    assert len(etfs) >= 55 and all(r["ts_code"][:2] in ("51", "15", "56") for r in etfs)
    assert len(market.rows("fund_basic", {"market": "O"}, NOW)) == 10
    indices = market.rows("index_basic", {}, NOW)
    assert len(indices) >= 25 and {r["market"] for r in indices} == {"SSE", "SZSE", "CSI"}
    assert [r["ts_code"] for r in market.rows("index_basic", {"market": "CSI"}, NOW)][0].endswith(".CSI")


@pytest.mark.parametrize("day", ["20100506", "20240105", "20250930"], ids=["2010", "2024", "2025"])
def test_daily_covers_listed_minus_suspended(market: ExchangeMarket, day: str) -> None:
    d = dt.datetime.strptime(day, "%Y%m%d").date()
    listed = [r for s in "LDP" for r in market.rows("stock_basic", {"list_status": s}, NOW)
              if r["list_date"] <= day and (r["delist_date"] is None or day < r["delist_date"])]
    expected = {r["ts_code"] for r in listed if not market.is_suspended(r["ts_code"], d)}
    assert len(expected) >= 0.9 * len(listed) > 0
    for api in ("daily", "adj_factor", "daily_basic", "stk_premarket"):
        assert {r["ts_code"] for r in market.rows(api, {"trade_date": day}, NOW)} == expected, api


def test_suspensions_are_sparse(market: ExchangeMarket) -> None:
    cal = TradingCalendar.shanghai()
    days = cal.open_days(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert not any(market.is_suspended("600000.SH", d) for d in (dt.date(2024, 2, 10), dt.date(1999, 1, 4)))
    everything = [market.is_suspended(r["ts_code"], d) for r in market.rows("stock_basic", {}, NOW)[:60]
                  for d in days[::5]]
    assert 0 < sum(everything) / len(everything) < 0.05


def test_suspended_day_has_no_rows_anywhere(market: ExchangeMarket) -> None:
    cal = TradingCalendar.shanghai()
    days = cal.open_days(dt.date(2022, 1, 1), dt.date(2023, 12, 31))
    code, d = next((r["ts_code"], d) for r in market.rows("stock_basic", {}, NOW) for d in days
                   if market.is_suspended(r["ts_code"], d))
    day = d.strftime("%Y%m%d")
    for api in ("daily", "adj_factor", "daily_basic", "stk_premarket"):
        assert market.rows(api, {"ts_code": code, "trade_date": day}, NOW) == [], api
    iso = d.isoformat()
    assert market.rows("stk_mins", {"ts_code": code, "freq": "1min", "start_date": f"{iso} 09:00:00",
                                    "end_date": f"{iso} 15:00:00"}, NOW) == []


def test_nothing_on_the_2024_spring_festival(market: ExchangeMarket) -> None:
    params = {"start_date": "20240209", "end_date": "20240217"}
    for api in ("daily", "fund_daily", "adj_factor", "daily_basic", "stk_premarket"):
        assert market.rows(api, params, NOW) == [], api
    assert market.rows("index_daily", {"ts_code": "000001.SH", **params}, NOW) == []


def test_delisted_stocks_stop_trading(market: ExchangeMarket) -> None:
    gone = market.rows("stock_basic", {"list_status": "D"}, NOW)[:5]
    for r in gone:
        rows = market.rows("daily", {"ts_code": r["ts_code"]}, NOW)
        assert rows and max(x["trade_date"] for x in rows) < r["delist_date"]
        assert min(x["trade_date"] for x in rows) >= r["list_date"]


# -- suspensions (suspend_d) ----------------------------------------------------------------------

Q1 = {"start_date": "20240102", "end_date": "20240329"}  # spans the 2024 Spring Festival closure


def stock_days(rows: list[dict], kind: str | None = None) -> set[tuple[str, str]]:
    return {(r["ts_code"], r["trade_date"]) for r in rows if kind is None or r["suspend_type"] == kind}


def test_every_listed_stock_day_has_a_bar_or_a_suspension(market: ExchangeMarket) -> None:
    cal = TradingCalendar.shanghai()
    days = [d.strftime("%Y%m%d") for d in cal.open_days(dt.date(2024, 1, 2), dt.date(2024, 3, 29))]
    assert "20240208" in days and "20240219" in days and not any("20240209" <= d <= "20240216" for d in days)
    listed = {(r["ts_code"], d) for s in "LDP" for r in market.rows("stock_basic", {"list_status": s}, NOW)
              for d in days if r["list_date"] <= d and (r["delist_date"] is None or d < r["delist_date"])}
    bars = {(r["ts_code"], r["trade_date"]) for r in market.rows("daily", Q1, NOW)}
    rows = market.rows("suspend_d", Q1, NOW)
    suspended = stock_days(rows, "S")
    assert suspended and not bars & suspended
    assert bars | suspended == listed
    assert stock_days(rows) <= listed  # R rows too: nothing outside a listing, nothing on a closed day
    assert all(market.is_suspended(code, dt.datetime.strptime(d, "%Y%m%d").date()) for code, d in suspended)


def test_resumption_is_the_first_traded_day_after_a_suspension(market: ExchangeMarket) -> None:
    cal = TradingCalendar.shanghai()
    wider = {"start_date": "20231201", "end_date": "20240329"}  # so the day before the window is known too
    bars = {(r["ts_code"], r["trade_date"]) for r in market.rows("daily", wider, NOW)}
    suspended = stock_days(market.rows("suspend_d", wider, NOW), "S")
    resumed = stock_days(market.rows("suspend_d", Q1, NOW), "R")
    expected = set()
    for d in cal.open_days(dt.date(2024, 1, 2), dt.date(2024, 3, 29)):
        day, before = d.strftime("%Y%m%d"), cal.previous_open(d).strftime("%Y%m%d")
        expected |= {(code, day) for code, b in suspended if b == before and (code, day) in bars}
    assert len(expected) >= 10 and resumed == expected
    # a suspension running into the Spring Festival resumes on the first session after it
    assert any((code, "20240219") in resumed for code, day in suspended if day == "20240208")


def test_suspend_d_filters(market: ExchangeMarket) -> None:
    rows = market.rows("suspend_d", Q1, NOW)
    assert [r["suspend_timing"] for r in rows] == [None] * len(rows)
    assert [(r["trade_date"], r["ts_code"]) for r in rows] == sorted(
        ((r["trade_date"], r["ts_code"]) for r in rows), key=lambda t: (-int(t[0]), t[1]))
    for kind in "SR":
        assert market.rows("suspend_d", {**Q1, "suspend_type": kind}, NOW) == \
            [r for r in rows if r["suspend_type"] == kind], kind
    two = sorted({r["ts_code"] for r in rows})[:2]
    assert market.rows("suspend_d", {**Q1, "ts_code": ",".join(two)}, NOW) == [r for r in rows if r["ts_code"] in two]
    day = rows[len(rows) // 2]["trade_date"]
    on_day = market.rows("suspend_d", {"trade_date": day}, NOW)
    assert on_day and on_day == [r for r in rows if r["trade_date"] == day]
    one = market.rows("suspend_d", {"trade_date": day, "ts_code": on_day[0]["ts_code"]}, NOW)
    assert one == on_day[:1]
    by_code = market.rows("suspend_d", {"ts_code": two[0]}, NOW)  # a code alone is enough: its whole history
    assert [r for r in by_code if Q1["start_date"] <= r["trade_date"] <= Q1["end_date"]] == \
        [r for r in rows if r["ts_code"] == two[0]]
    assert market.rows("suspend_d", {"trade_date": "20240212"}, NOW) == []  # Spring Festival: closed


def test_suspensions_appear_at_the_close(market: ExchangeMarket) -> None:
    rows = market.rows("suspend_d", Q1, NOW)
    day = rows[len(rows) // 2]["trade_date"]
    assert market.rows("suspend_d", {"trade_date": day}, bj(day, 14, 59)) == []
    assert market.rows("suspend_d", {"trade_date": day}, bj(day, 15, 0)) == \
        market.rows("suspend_d", {"trade_date": day}, NOW)
    assert max(r["trade_date"] for r in market.rows("suspend_d", Q1, bj(day, 14, 59))) < day


# -- price consistency ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", STOCKS + ETFS + ["000300.SH"], ids=STOCKS + ETFS + ["000300.SH"])
def test_bars_are_consistent_over_years(market: ExchangeMarket, code: str) -> None:
    kind = "index" if code == "000300.SH" else ("fund" if code in ETFS else "stock")
    api = {"index": "index_daily", "fund": "fund_daily", "stock": "daily"}[kind]
    params = {"ts_code": code, "start_date": "20150101", "end_date": "20251231"}
    bars = by_date(market.rows(api, params, NOW))
    assert len(bars) > 400
    tick = 0.001 if kind == "fund" else 0.01
    limit = 0.2 if code.startswith(("300", "688")) else 0.1
    for b in bars:
        assert b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"]
        assert abs(b["change"] - (b["close"] - b["pre_close"])) < tick / 2
        assert b["pct_chg"] == pytest.approx(round(b["change"] / b["pre_close"] * 100, 4), abs=2e-4)
        if kind != "index":  # an index's amount is its constituents' turnover, not vol * points
            assert b["low"] * b["vol"] * 0.1 - 1 <= b["amount"] <= b["high"] * b["vol"] * 0.1 + 1
            assert round(abs(b["close"] / b["pre_close"] - 1), 6) <= limit + tick / b["pre_close"], b
    if kind == "index":
        for prev, cur in zip(bars, bars[1:]):
            assert cur["pre_close"] == prev["close"]
        return
    adj = {r["trade_date"]: r["adj_factor"] for r in market.rows("fund_adj" if kind == "fund" else "adj_factor",
                                                                   params, NOW)}
    assert set(adj) == {b["trade_date"] for b in bars}
    steps = 0
    for prev, cur in zip(bars, bars[1:]):
        a0, a1 = adj[prev["trade_date"]], adj[cur["trade_date"]]
        assert a1 >= a0
        steps += a1 > a0
        assert abs(cur["pre_close"] - prev["close"] * a0 / a1) <= tick * 0.51 + 1e-9
        if a1 == a0:
            assert cur["pre_close"] == prev["close"]
    assert steps >= (3 if kind == "stock" else 2)


def test_daily_basic_units(market: ExchangeMarket) -> None:
    daily = {r["ts_code"]: r for r in market.rows("daily", {"trade_date": "20240105"}, NOW)}
    basic = market.rows("daily_basic", {"trade_date": "20240105"}, NOW)
    pre = {r["ts_code"]: r for r in market.rows("stk_premarket", {"trade_date": "20240105"}, NOW)}
    assert any(r["pe"] is None for r in basic) and any(r["pe"] for r in basic)
    for r in basic:
        d = daily[r["ts_code"]]
        assert r["close"] == d["close"]
        assert r["total_mv"] == pytest.approx(d["close"] * r["total_share"], rel=1e-6)
        assert r["circ_mv"] == pytest.approx(d["close"] * r["float_share"], rel=1e-6)
        assert r["turnover_rate"] == pytest.approx(d["vol"] * 100 / (r["float_share"] * 1e4) * 100, abs=1e-4)
        assert r["free_share"] <= r["float_share"] <= r["total_share"]
        p = pre[r["ts_code"]]
        assert p["pre_close"] == d["pre_close"] and p["down_limit"] <= d["low"] <= d["high"] <= p["up_limit"]
        assert p["total_share"] == r["total_share"]


def test_index_weight_monthly_snapshots(market: ExchangeMarket) -> None:
    rows = market.rows("index_weight", {"index_code": "399006.SZ", "start_date": "20230101",
                                        "end_date": "20231231"}, NOW)
    dates = sorted({r["trade_date"] for r in rows})
    assert len(dates) == 12 and dates[0] == "20230131" and dates[-1] == "20231229"
    listed = {r["ts_code"]: r["list_date"] for s in "LDP" for r in market.rows("stock_basic", {"list_status": s}, NOW)}
    for d in dates:
        snap = [r for r in rows if r["trade_date"] == d]
        assert 10 <= len(snap) <= 50
        assert sum(r["weight"] for r in snap) == pytest.approx(100, abs=1e-6)
        assert all(r["con_code"].startswith("300") and listed[r["con_code"]] <= d for r in snap)
    assert market.rows("index_weight", {"index_code": "999999.SH"}, NOW) == []


# -- minutes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code,api", [("600000.SH", "stk_mins"), ("510300.SH", "stk_mins"), ("000905.SH", "idx_mins")],
                         ids=["stock", "etf", "index"])
def test_minute_bars_aggregate_to_the_daily_bar(market: ExchangeMarket, code: str, api: str) -> None:
    daily_api = {"stk_mins": "fund_daily" if code in ETFS else "daily", "idx_mins": "index_daily"}[api]
    daily = {r["trade_date"]: r for r in market.rows(daily_api, {"ts_code": code, "start_date": "20240102",
                                                                 "end_date": "20240112"}, NOW)}
    params = {"ts_code": code, "freq": "1min", "start_date": "2024-01-02 09:00:00", "end_date": "2024-01-12 23:00:00"}
    bars = market.rows(api, params, NOW)
    per_day: dict[str, list[dict]] = {}
    for b in reversed(bars):
        per_day.setdefault(b["trade_time"][:10].replace("-", ""), []).append(b)
    assert set(per_day) == set(daily)
    for day, day_bars in per_day.items():
        d = daily[day]
        assert len(day_bars) == 240
        assert day_bars[0]["trade_time"][11:] == "09:31:00" and day_bars[119]["trade_time"][11:] == "11:30:00"
        assert day_bars[120]["trade_time"][11:] == "13:01:00" and day_bars[-1]["trade_time"][11:] == "15:00:00"
        assert day_bars[0]["open"] == d["open"] and day_bars[-1]["close"] == d["close"]
        assert max(b["high"] for b in day_bars) == d["high"] and min(b["low"] for b in day_bars) == d["low"]
        assert sum(b["vol"] for b in day_bars) == round(d["vol"] * 100)
        assert all(b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"] for b in day_bars)
    for freq, step in (("5min", 5), ("30min", 30), ("60min", 60)):
        coarse = market.rows(api, {**params, "freq": freq}, NOW)
        assert len(coarse) == len(bars) // step
        ones = list(reversed(bars))
        for i, c in enumerate(reversed(coarse)):
            chunk = ones[i * step:(i + 1) * step]
            assert c["trade_time"] == chunk[-1]["trade_time"] and c["open"] == chunk[0]["open"]
            assert c["close"] == chunk[-1]["close"] and c["vol"] == sum(b["vol"] for b in chunk)
            assert c["high"] == max(b["high"] for b in chunk) and c["low"] == min(b["low"] for b in chunk)


def test_minute_windows(market: ExchangeMarket) -> None:
    day = market.rows("stk_mins", {"ts_code": "600519.SH", "freq": "60min", "start_date": "2024-01-05",
                                   "end_date": "2024-01-05"}, NOW)  # a bare end date means the whole day
    assert [r["trade_time"][11:] for r in day] == ["15:00:00", "14:00:00", "11:30:00", "10:30:00"]
    morning = market.rows("stk_mins", {"ts_code": "600519.SH", "freq": "15min", "start_date": "2024-01-05 10:00:00",
                                       "end_date": "2024-01-05 11:00:00"}, NOW)
    assert [r["trade_time"][11:16] for r in morning] == ["11:00", "10:45", "10:30", "10:15", "10:00"]
    recent = market.rows("stk_mins", {"ts_code": "600519.SH", "freq": "30min"}, NOW)  # default: the last days
    assert recent and recent[0]["trade_time"] == "2026-11-23 15:00:00" and recent[-1]["trade_time"] >= "2026-11-13"
    assert market.rows("stk_mins", {"ts_code": "000300.SH", "freq": "1min"}, NOW) == []  # an index is idx_mins


def test_a_month_of_minutes_is_fast_enough(market: ExchangeMarket) -> None:
    rows = market.rows("stk_mins", {"ts_code": "000001.SZ", "freq": "1min", "start_date": "2024-03-01 09:00:00",
                                    "end_date": "2024-03-31 15:00:00"}, NOW)
    assert len(rows) == 21 * 240


# -- point in time --------------------------------------------------------------------------------


def test_daily_bar_appears_at_the_close(market: ExchangeMarket) -> None:
    for api in ("daily", "fund_daily", "adj_factor", "daily_basic"):
        assert market.rows(api, {"trade_date": "20240105"}, bj("20240105", 14, 59)) == [], api
        assert market.rows(api, {"trade_date": "20240105"}, bj("20240105", 15, 0)), api
    assert market.rows("stk_premarket", {"trade_date": "20240105"}, bj("20240105", 8, 59)) == []
    assert market.rows("stk_premarket", {"trade_date": "20240105"}, bj("20240105", 9, 0))
    latest = market.rows("index_daily", {"ts_code": "000001.SH"}, bj("20240105", 12))[0]
    assert latest["trade_date"] == "20240104"
    assert market.rows("stk_mins", {"ts_code": "600000.SH", "freq": "1min", "start_date": "2024-01-05 09:00:00"},
                       bj("20240105", 14, 0)) == []


def test_nothing_after_now(market: ExchangeMarket) -> None:
    now = bj("20240105", 10, 17)
    rows = market.rows("rt_min", REQUESTS["rt_min"], now)  # two codes, 1MIN
    assert len(rows) == 2 * 47 and rows[0]["time"] == "2024-01-05 10:17:00"
    rows = market.rows("rt_idx_min", REQUESTS["rt_idx_min"], now)  # two codes, 5MIN: complete bars only
    assert len(rows) == 2 * 9 and rows[0]["time"] == "2024-01-05 10:15:00"
    assert market.rows("rt_min", {"ts_code": "600000.SH", "freq": "1MIN"}, bj("20240105", 9, 30, )) == []
    for api in ("rt_idx_k", "rt_etf_k"):
        snap = market.rows(api, REQUESTS[api], now)
        assert snap and {r["trade_time"] for r in snap} == {"2024-01-05 10:17:00"}
        by_code = {r["ts_code"]: r for r in snap}
        code = "000001.SH" if api == "rt_idx_k" else "510300.SH"
        bars = market.rows("rt_idx_min" if api == "rt_idx_k" else "rt_min", {"ts_code": code, "freq": "1MIN"}, now)
        assert by_code[code]["close"] == bars[0]["close"] and by_code[code]["open"] == bars[-1]["open"]
        assert by_code[code]["high"] == max(b["high"] for b in bars)
    before_open = market.rows("rt_idx_k", {"ts_code": "000001.SH"}, bj("20240105", 9, 10))[0]
    assert before_open["trade_time"] == "2024-01-04 15:00:00"
    day_bar = market.rows("index_daily", {"ts_code": "000001.SH", "trade_date": "20240104"}, NOW)[0]
    assert before_open["close"] == day_bar["close"] and before_open["high"] == day_bar["high"]


def test_realtime_wildcards(market: ExchangeMarket) -> None:
    sz = market.rows("rt_idx_k", {"ts_code": "399*.SZ"}, NOW)
    assert sz and all(r["ts_code"].startswith("399") and r["ts_code"].endswith(".SZ") for r in sz)
    etf = market.rows("rt_etf_k", {"ts_code": "15*.SZ", "topic": "x"}, NOW)
    assert etf and all(r["ts_code"].startswith("15") for r in etf)


# -- bad parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("api,params", [
    ("daily", {}), ("daily", {"end_date": "20240105"}), ("adj_factor", {}), ("fund_daily", {}),
    ("daily_basic", {}), ("stk_premarket", {}), ("index_daily", {"trade_date": "20240105"}),
    ("index_weight", {"trade_date": "20240131"}), ("daily", {"trade_date": "2024/01/05"}),
    ("daily", {"ts_code": "600000.SH", "start_date": "20240201", "end_date": "20240101"}),
    ("stk_mins", {"ts_code": "600000.SH"}), ("stk_mins", {"ts_code": "600000.SH", "freq": "1MIN"}),
    ("stk_mins", {"freq": "1min"}), ("idx_mins", {"ts_code": "000001.SH", "freq": "2min"}),
    ("rt_min", {"ts_code": "600000.SH", "freq": "1min"}), ("rt_idx_min", {"ts_code": "000001.SH"}),
    ("rt_idx_k", {}), ("rt_etf_k", {"ts_code": "5*.SH"}),
    ("suspend_d", {}), ("suspend_d", {"end_date": "20240329", "suspend_type": "S"}),
    ("suspend_d", {"trade_date": "20240105", "suspend_type": "X"}),
], ids=["daily-empty", "daily-end-only", "adj-empty", "fund-empty", "basic-empty", "premarket-empty",
        "index-no-code", "weight-no-code", "bad-date", "reversed-range", "mins-no-freq", "mins-upper-freq",
        "mins-no-code", "mins-bad-freq", "rt-lower-freq", "rt-no-freq", "rt-k-no-code", "etf-no-topic",
        "suspend-empty", "suspend-end-only", "suspend-bad-type"])
def test_bad_params(market: ExchangeMarket, api: str, params: dict) -> None:
    with pytest.raises(BadParams):
        market.rows(api, params, NOW)


@pytest.mark.parametrize("api", ["daily", "suspend_d"])
def test_the_daily_message_is_tushares(market: ExchangeMarket, api: str) -> None:
    with pytest.raises(BadParams, match="ts_code,trade_date至少输入一个参数"):
        market.rows(api, {}, NOW)
