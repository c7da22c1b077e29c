"""The futures and SGE generator behind the local Tushare server: shapes, identities, point-in-time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.futures import FuturesMarket
from tushare_rollout.tushare.server.params import BadParams

BEIJING = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 24, 13, 0, tzinfo=BEIJING)
WIRE: dict[str, Callable[[object], bool]] = {
    "str": lambda v: isinstance(v, str),
    "float": lambda v: isinstance(v, float),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
REQUESTS: dict[str, dict] = {
    "fut_basic": {"exchange": "CZCE"},
    "fut_daily": {"trade_date": "20240105"},
    "ft_mins": {"ts_code": "CU2405.SHF", "freq": "1min", "start_date": "2024-01-04 20:00:00",
                "end_date": "2024-01-05 15:00:00"},
    "fut_wsr": {"trade_date": "20240105"},
    "fut_holding": {"trade_date": "20240105"},
    "sge_basic": {},
    "sge_daily": {"start_date": "20240102", "end_date": "20240110"},
}


@pytest.fixture(scope="module")
def market() -> FuturesMarket:
    return FuturesMarket()


def bj(day: str, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.strptime(day, "%Y%m%d").replace(hour=hour, minute=minute, tzinfo=BEIJING)


def close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6 * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("api", sorted(FuturesMarket.APIS), ids=sorted(FuturesMarket.APIS))
def test_rows_have_the_catalog_fields_with_wire_types(market: FuturesMarket, api: str) -> None:
    rows = market.rows(api, REQUESTS[api], NOW)
    assert rows
    spec = APIS[api]
    for row in rows:
        assert tuple(row) == spec.field_names
        for name, kind in spec.fields:
            assert row[name] is None or WIRE[kind](row[name]), (api, name, row[name])
    required = [n for n in spec.field_names if n in ("ts_code", "trade_date", "trade_time", "symbol", "close", "vol")]
    assert all(row[n] is not None for row in rows for n in required)


@pytest.mark.parametrize("api", sorted(FuturesMarket.APIS), ids=sorted(FuturesMarket.APIS))
def test_answers_are_deterministic_across_instances(market: FuturesMarket, api: str) -> None:
    assert FuturesMarket().rows(api, REQUESTS[api], NOW) == market.rows(api, REQUESTS[api], NOW)
    other = FuturesMarket(seed=7).rows(api, REQUESTS[api], NOW)
    if api not in ("fut_basic", "sge_basic"):
        assert other != market.rows(api, REQUESTS[api], NOW)


def test_fut_basic_requires_exchange(market: FuturesMarket) -> None:
    with pytest.raises(BadParams):
        market.rows("fut_basic", {}, NOW)


def test_fut_basic_codes_and_types(market: FuturesMarket) -> None:
    czce = market.rows("fut_basic", {"exchange": "CZCE", "fut_code": "SR"}, NOW)
    by_code = {r["ts_code"]: r for r in czce}
    assert "SR405.ZCE" in by_code and by_code["SR405.ZCE"]["symbol"] == "SR405"
    assert by_code["SR405.ZCE"]["d_month"] == "202405" and by_code["SR405.ZCE"]["exchange"] == "CZCE"
    assert len(by_code) == len(czce)
    contracts = [r for r in czce if r["d_month"]]
    assert all(r["list_date"] <= r["delist_date"] <= r["last_ddate"] for r in contracts)
    assert {r["ts_code"] for r in czce} - {r["ts_code"] for r in contracts} == {"SR.ZCE", "SRL.ZCE"}  # default: all types
    mains = market.rows("fut_basic", {"exchange": "SHFE", "fut_type": "2"}, NOW)
    assert {"CU.SHF", "CUL.SHF"} <= {r["ts_code"] for r in mains}
    assert all(r["delist_date"] is None for r in mains)
    only_contracts = market.rows("fut_basic", {"exchange": "CZCE", "fut_code": "SR", "fut_type": "1"}, NOW)
    assert only_contracts == contracts
    listed = {ex: market.rows("fut_basic", {"exchange": ex}, NOW) for ex in ("SHFE", "DCE", "CZCE", "CFFEX", "INE", "GFEX")}
    every = [r["ts_code"] for rows in listed.values() for r in rows]
    assert len(every) == len(set(every)) > 2000
    suffixes = {ex: {r["ts_code"].split(".")[1] for r in rows} for ex, rows in listed.items()}
    assert suffixes == {"SHFE": {"SHF"}, "DCE": {"DCE"}, "CZCE": {"ZCE"}, "CFFEX": {"CFX"}, "INE": {"INE"},
                        "GFEX": {"GFE"}}


def test_fut_basic_lists_only_contracts_listed_by_now(market: FuturesMarket) -> None:
    rows = market.rows("fut_basic", {"exchange": "SHFE"}, bj("20200110", 12))
    assert rows and max(r["list_date"] for r in rows) <= "20200110"


def test_daily_bars_keep_envelope_and_identities(market: FuturesMarket) -> None:
    rows = market.rows("fut_daily", {"exchange": "SHFE,DCE,CFFEX", "start_date": "20231220", "end_date": "20240110"},
                       NOW)
    assert len(rows) > 500
    for r in rows:
        assert r["low"] <= min(r["open"], r["close"]) <= max(r["open"], r["close"]) <= r["high"], r
        assert r["low"] <= r["settle"] <= r["high"], r
        assert close(r["change1"], r["close"] - r["pre_settle"]), r
        assert close(r["change2"], r["settle"] - r["pre_settle"]), r
        assert r["vol"] > 0 and r["oi"] >= 0 and r["amount"] > 0


def test_pre_settle_and_oi_chg_chain_across_days(market: FuturesMarket) -> None:
    rows = market.rows("fut_daily", {"ts_code": "M2405.DCE,IF2403.CFX"}, NOW)
    for code in ("M2405.DCE", "IF2403.CFX"):
        series = sorted((r for r in rows if r["ts_code"] == code), key=lambda r: r["trade_date"])
        assert len(series) > 40
        for prev, cur in zip(series, series[1:]):
            assert close(cur["pre_settle"], prev["settle"])
            assert close(cur["pre_close"], prev["close"])
            assert close(cur["oi_chg"], cur["oi"] - prev["oi"])
        in_delivery = [r for r in series if r["delv_settle"] is not None]
        assert in_delivery and all(r["trade_date"][:6] == "20" + code.split(".")[0][-4:] for r in in_delivery)


def test_amount_is_in_wan_yuan(market: FuturesMarket) -> None:
    r = market.rows("fut_daily", {"ts_code": "CU2405.SHF", "trade_date": "20240105"}, NOW)[0]
    assert close(r["amount"], round(r["vol"] * 5 * r["settle"] / 10000, 4))


def test_main_and_continuous_codes_are_answered(market: FuturesMarket) -> None:
    rows = market.rows("fut_daily", {"exchange": "SHFE", "start_date": "20231101", "end_date": "20240131"}, NOW)
    days: dict[str, dict[str, dict]] = {}
    for r in rows:
        days.setdefault(r["trade_date"], {})[r["ts_code"]] = r
    mains, most_traded = [], 0
    for day in sorted(days):
        by_code = days[day]
        cu = {c: r for c, r in by_code.items() if c.startswith("CU2")}
        strip = lambda r: {k: v for k, v in r.items() if k != "ts_code"}  # noqa: E731
        main = [c for c, r in cu.items() if strip(r) == strip(by_code["CU.SHF"])]
        assert len(main) == 1
        assert strip(by_code["CUL.SHF"]) == strip(cu[min(cu)])  # continuous = nearest delivery
        assert all(r["vol"] <= 1.1 * cu[main[0]]["vol"] for c, r in cu.items() if c > main[0])  # roll margin
        most_traded += cu[main[0]]["vol"] == max(r["vol"] for r in cu.values())
        mains.append(main[0])
    assert mains == sorted(mains) and len(set(mains)) >= 2  # rolls forward only
    assert most_traded >= 0.8 * len(mains)
    year = market.rows("fut_daily", {"ts_code": "CU.SHF,CUL.SHF,SR.ZCE", "start_date": "20230101",
                                      "end_date": "20231231"}, NOW)
    assert {r["ts_code"] for r in year} == {"CU.SHF", "CUL.SHF", "SR.ZCE"}
    assert len(year) == 3 * len({r["trade_date"] for r in year})


@pytest.mark.parametrize("code,day", [("CU2405.SHF", "20240105"), ("IF2403.CFX", "20240105"),
                                      ("SR405.ZCE", "20240108"), ("SI2405.GFE", "20240105")],
                         ids=["shfe-night", "cffex", "czce-after-weekend", "gfex-no-night"])
def test_minutes_aggregate_to_the_daily_bar(market: FuturesMarket, code: str, day: str) -> None:
    daily = market.rows("fut_daily", {"ts_code": code, "trade_date": day}, NOW)[0]
    prev = market.cal.previous_open(dt.datetime.strptime(day, "%Y%m%d").date()).isoformat()
    end = f"{day[:4]}-{day[4:6]}-{day[6:]} 15:00:00"
    for freq in ("1min", "5min", "60min"):
        bars = market.rows("ft_mins", {"ts_code": code, "freq": freq, "start_date": f"{prev} 15:30:00",
                                       "end_date": end}, NOW)
        bars.sort(key=lambda b: b["trade_time"])
        assert bars[0]["open"] == daily["open"] and bars[-1]["close"] == daily["close"]
        assert max(b["high"] for b in bars) == daily["high"] and min(b["low"] for b in bars) == daily["low"]
        assert sum(b["vol"] for b in bars) == daily["vol"]
        assert bars[-1]["oi"] == daily["oi"]
        for b in bars:
            assert b["low"] <= min(b["open"], b["close"]) <= max(b["open"], b["close"]) <= b["high"]
        times = [b["trade_time"][11:] for b in bars]
        night = [b for b in bars if b["trade_time"][11:] >= "21:00:00"]
        if code.endswith((".SHF", ".ZCE")):
            assert night and night[0]["trade_time"][:10] < end[:10] and max(times) == "23:00:00"
        else:
            assert not night
        if freq == "1min":
            first = "09:31:00" if code.endswith(".CFX") else "09:01:00"
            assert first in times and "15:00:00" in times
            assert ("10:20:00" in times) == code.endswith(".CFX")  # the 10:15-10:30 break is commodities only
            assert len(times) == (240 if code.endswith(".CFX") else 225 + 120 * bool(night))


def test_minutes_need_code_and_freq(market: FuturesMarket) -> None:
    with pytest.raises(BadParams):
        market.rows("ft_mins", {"ts_code": "CU2405.SHF"}, NOW)
    with pytest.raises(BadParams):
        market.rows("ft_mins", {"ts_code": "CU2405.SHF", "freq": "2min"}, NOW)
    with pytest.raises(BadParams, match="freq"):  # history frequencies are lower case; 1MIN is the realtime spelling
        market.rows("ft_mins", {"ts_code": "CU2405.SHF", "freq": "1MIN"}, NOW)


def test_a_bare_end_date_means_the_whole_day_as_for_stock_minutes(market: FuturesMarket) -> None:
    day = {"ts_code": "CU2405.SHF", "freq": "1min", "start_date": "2024-01-05", "end_date": "2024-01-05"}
    bars = market.rows("ft_mins", day, NOW)
    assert bars and {b["trade_time"][:10] for b in bars} == {"2024-01-05"}
    times = {b["trade_time"] for b in bars}
    assert "2024-01-05 15:00:00" in times  # the day session's last bar
    assert "2024-01-05 23:00:00" in times  # and that evening's night session (it trades for the next day)


def test_minutes_do_not_exist_before_their_end_time(market: FuturesMarket) -> None:
    bars = market.rows("ft_mins", {"ts_code": "CU2405.SHF", "freq": "1min", "start_date": "2024-01-05 09:00:00",
                                   "end_date": "2024-01-05 15:00:00"}, bj("20240105", 10, 0))
    assert bars and max(b["trade_time"] for b in bars) == "2024-01-05 10:00:00"


def test_warehouse_receipts(market: FuturesMarket) -> None:
    rows = market.rows("fut_wsr", {"start_date": "20240102", "end_date": "20240110"}, NOW)
    spec = APIS["fut_wsr"]
    keys = [tuple(r[k] for k in spec.key) for r in rows]
    assert len(keys) == len(set(keys))
    assert not {r["symbol"] for r in rows} & {"IF", "IC", "T"}
    assert any(r["wh_id"] is None for r in rows) and any(r["wh_id"] is not None for r in rows)
    assert all(r["vol_chg"] == r["vol"] - r["pre_vol"] and r["vol"] >= 0 for r in rows)
    zn = market.rows("fut_wsr", {"symbol": "ZN", "start_date": "20240102", "end_date": "20240103"}, NOW)
    assert {r["symbol"] for r in zn} == {"ZN"} and {r["exchange"] for r in zn} == {"SHFE"}
    d2 = {(r["warehouse"], r["wh_id"]): r for r in zn if r["trade_date"] == "20240103"}
    d1 = {(r["warehouse"], r["wh_id"]): r for r in zn if r["trade_date"] == "20240102"}
    assert 3 <= len(d2) <= 8 and all(d2[k]["pre_vol"] == d1[k]["vol"] for k in d2)


def test_holding_rankings(market: FuturesMarket) -> None:
    rows = market.rows("fut_holding", {"start_date": "20240104", "end_date": "20240105", "exchange": "DCE"}, NOW)
    keys = [(r["trade_date"], r["exchange"], r["symbol"], r["broker"]) for r in rows]
    assert rows and len(keys) == len(set(keys))
    assert {r["exchange"] for r in rows} == {"DCE"}
    assert all(min(r["vol"], r["long_hld"], r["short_hld"]) >= 0 for r in rows)
    per_contract = {}
    for r in rows:
        per_contract.setdefault((r["trade_date"], r["symbol"]), []).append(r)
    assert all(len(v) == 20 for v in per_contract.values())
    assert len({s for d, s in per_contract if d == "20240105" and s.startswith("M2")}) == 3
    one = market.rows("fut_holding", {"symbol": "M2405"}, NOW)
    assert one and {r["symbol"] for r in one} == {"M2405"}
    with pytest.raises(BadParams):
        market.rows("fut_holding", {}, NOW)


def test_sge_codes_have_no_suffix_and_bars_are_consistent(market: FuturesMarket) -> None:
    codes = {r["ts_code"] for r in market.rows("sge_basic", {}, NOW)}
    assert {"Au99.99", "Au(T+D)", "mAu(T+D)", "Ag(T+D)", "Pt99.95"} <= codes
    assert not any(c.endswith((".SGE", ".SH", ".SHF")) for c in codes)
    rows = market.rows("sge_daily", {"start_date": "20240101", "end_date": "20240131"}, NOW)
    for r in rows:
        assert r["low"] <= min(r["open"], r["close"], r["price_avg"]) <= max(r["open"], r["close"], r["price_avg"]) <= r["high"]
        assert (r["oi"] is not None) == ("T+D" in r["ts_code"])
    gold = sorted((r for r in rows if r["ts_code"] == "Au(T+D)"), key=lambda r: r["trade_date"])
    for prev, cur in zip(gold, gold[1:]):
        assert close(cur["change"], cur["close"] - prev["close"])
    assert 300 < gold[0]["close"] < 800


@pytest.mark.parametrize("api", ["fut_daily", "fut_wsr", "fut_holding", "sge_daily"],
                         ids=["fut_daily", "fut_wsr", "fut_holding", "sge_daily"])
def test_no_rows_on_closed_days_and_none_before_publication(market: FuturesMarket, api: str) -> None:
    assert market.rows(api, {"trade_date": "20240212"}, NOW) == []
    assert market.rows(api, {"trade_date": "20240105"}, bj("20240105", 16, 59)) == []
    assert market.rows(api, {"trade_date": "20240105"}, bj("20240105", 17, 1))
    ranged = market.rows(api, {"start_date": "20240101", "end_date": "20241231"}, bj("20240105", 12))
    assert ranged and max(r["trade_date"] for r in ranged) == "20240104"


def test_rows_are_newest_first(market: FuturesMarket) -> None:
    rows = market.rows("fut_daily", {"ts_code": "CU2405.SHF"}, NOW)
    dates = [r["trade_date"] for r in rows]
    assert dates == sorted(dates, reverse=True)

