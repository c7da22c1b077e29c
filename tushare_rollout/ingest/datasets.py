"""Every dataset, as one declarative table.

A dataset is one Tushare API, how its calls are planned (:class:`Plan`), and where its rows go:
one or more :class:`Target` tables, each with a mapping from target column to a small function
of the API row. One generic loader runs every row of this table; adding a dataset is one entry.

Units are normalised here, where the mapping says so: the unified ``daily_bar`` holds volume in
base units (shares, contracts, kg) and amount in CNY yuan, whatever the API sent (手, 千元, 万元).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from ..db.base import AssetClass, Batch

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Col:
    """How one target column is computed from an API row, and which API fields it reads."""

    sources: tuple[str, ...]
    compute: Callable[[Row], Any]

    def __call__(self, row: Row) -> Any:
        return self.compute(row)


# -- column functions ------------------------------------------------------------------------------


def src(name: str) -> Col:
    return Col((name,), lambda r: r[name])


def day(name: str) -> Col:
    """A ``YYYYMMDD`` field as a date (empty stays ``None``).

    >>> day("trade_date")({"trade_date": "20240102"})
    datetime.date(2024, 1, 2)
    """
    return Col((name,), lambda r: dt.datetime.strptime(r[name], "%Y%m%d").date() if r[name] else None)


def scaled(name: str, factor: float) -> Col:
    """A number in the vendor's unit times ``factor`` (手 → shares: 100; 千元 → yuan: 1000; 万元 → yuan: 10000).

    >>> scaled("amount", 1000)({"amount": 12.5}), scaled("amount", 1000)({"amount": None})
    (12500.0, None)
    """
    return Col((name,), lambda r: None if r[name] is None else r[name] * factor)


def key_part(name: str) -> Col:
    """A key column the vendor sometimes leaves empty (a warehouse without an id): ``''`` rather than NULL.

    >>> key_part("wh_id")({"wh_id": None}), key_part("wh_id")({"wh_id": "A1"})
    ('', 'A1')
    """
    return Col((name,), lambda r: r[name] if r[name] is not None else "")


def const(value: Any) -> Col:
    return Col((), lambda r: value)


def is_open(name: str) -> Col:
    return Col((name,), lambda r: str(r[name]) == "1")


def attrs(*names: str) -> Col:
    """The vendor fields the unified columns do not hold, kept verbatim (never queried by gates)."""
    return Col(names, lambda r: Jsonb({n: r[n] for n in names if r.get(n) is not None}))


def mapped(name: str, table: Mapping[str, str]) -> Col:
    return Col((name,), lambda r: table.get(r[name]) if r[name] is not None else None)


BEIJING = dt.timezone(dt.timedelta(hours=8))


def moment(name: str) -> Col:
    """A ``YYYY-MM-DD HH:MM:SS`` Beijing time (the minute and realtime APIs) as an aware datetime.

    >>> moment("trade_time")({"trade_time": "2024-01-02 09:31:00"}).isoformat()
    '2024-01-02T09:31:00+08:00'
    """
    return Col((name,), lambda r: dt.datetime.strptime(r[name], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING))


def equity_class(code: str) -> str:
    """Stock or ETF by the exchanges' code ranges: Shanghai funds start with 5, Shenzhen funds with 15/16.

    >>> [equity_class(c) for c in ("600000.SH", "510300.SH", "159915.SZ", "000001.SZ")]
    ['stock', 'etf', 'etf', 'stock']
    """
    number, _, exchange = code.partition(".")
    fund = (exchange == "SH" and number.startswith("5")) or (exchange == "SZ" and number.startswith(("15", "16")))
    return AssetClass.ETF.value if fund else AssetClass.STOCK.value


def equity(name: str) -> Col:
    return Col((name,), lambda r: equity_class(r[name]))


# -- the table's vocabulary ---------------------------------------------------------------------------------


class Plan(enum.StrEnum):
    """How calls are planned: the cheap way first."""

    TRADE_DATE = "trade_date"  # one call per trading day covers the whole market (paged past the cap)
    CODE = "code"  # one call per configured code over the window (the API demands a code)
    EXCHANGE = "exchange"  # one call per exchange over the window
    SNAPSHOT = "snapshot"  # a list API: one call per variant (e.g. list status), refreshed every run
    PERIOD = "period"  # a macro API: its own period range over the window, refetched every run (revisions)
    MINUTES = "minutes"  # minute history: per followed code, windows of open days sized to the row cap
    REALTIME = "realtime"  # a snapshot of today's session, per group of followed codes (job realtime only)


class Writer(enum.StrEnum):
    """How a partition's rows are stored."""

    UPSERT = "upsert"  # idempotent upsert into every target (the default)
    VINTAGE = "vintage"  # macro: a changed value for a stored period is a new vintage (ingest/vintages.py)
    RELEASE = "release"  # the official release calendar (cn_schedule) that decides macro available_at


@dataclass(frozen=True)
class Target:
    table: str
    columns: Mapping[str, Col]

    def row(self, api_row: Row) -> tuple:
        return tuple(get(api_row) for get in self.columns.values())


@dataclass(frozen=True)
class Dataset:
    name: str
    api: str
    batch: Batch
    flag: str  # the rollout flag that must be on
    plan: Plan
    targets: tuple[Target, ...]
    asset_class: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # fixed extra parameters of every call
    variants: tuple[tuple[str, str], ...] = ()  # SNAPSHOT / EXCHANGE: (parameter, value) per call
    code_param: str = "ts_code"  # CODE: the parameter naming the code
    calendar: str = "SSE"  # TRADE_DATE: the exchange whose open days are the partitions
    # Beijing time on the trade date by which its data must be stored (the scheduling gate's deadline):
    # the vendor's publication time plus the daily run's margin
    deadline: dt.time = dt.time(18, 0)
    may_be_empty: bool = False  # TRADE_DATE: an empty answer is data (no suspensions today), not "not yet"
    codes: str = "index"  # CODE: the followed list the codes come from (settings: index_codes | fx_whitelist)
    period: str = ""  # PERIOD: the API's period unit, m (YYYYMM), q (YYYYQn), date (YYYYMMDD); each_m: one per month
    writer: Writer = Writer.UPSERT
    country: str = ""  # macro: CN or US
    module: str = ""  # P2: the read_switch module (published per sub-flag); other batches publish whole
    bars_per_day: int = 0  # MINUTES: the most one-minute bars one code can have in a trading day (sizes windows)
    codes_per_call: int = 1  # REALTIME: followed codes asked in one call (rows per call stay under the cap)

    @property
    def fields(self) -> str:
        """The API fields the targets read (hidden ones included, so they are asked for)."""
        names = [n for target in self.targets for col in target.columns.values() for n in col.sources]
        return ",".join(dict.fromkeys(names))


def _bar(asset_class: AssetClass, volume: float, amount: float) -> Target:
    """The unified daily bar, with this asset class's unit factors."""
    return Target("daily_bar", {
        "asset_class": const(asset_class.value), "code": src("ts_code"), "trade_date": day("trade_date"),
        "open": src("open"), "high": src("high"), "low": src("low"), "close": src("close"),
        "pre_close": src("pre_close"), "change": src("change"), "pct_chg": src("pct_chg"),
        "volume": scaled("vol", volume), "amount": scaled("amount", amount),
    })


def _adj(asset_class: AssetClass) -> Target:
    return Target("adj_factor", {"asset_class": const(asset_class.value), "code": src("ts_code"),
                                 "trade_date": day("trade_date"), "adj_factor": src("adj_factor")})


FUTURES_EXCHANGES = ("CFFEX", "SHFE", "CZCE", "DCE", "INE", "GFEX")
P0 = dict(batch=Batch.P0, flag="p0Enabled")

DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset("trade_cal", "trade_cal", plan=Plan.EXCHANGE, **P0,
            variants=tuple(("exchange", e) for e in ("SSE", "SZSE", *FUTURES_EXCHANGES)),
            targets=(Target("trade_calendar", {"exchange": src("exchange"), "cal_date": day("cal_date"),
                                               "is_open": is_open("is_open"), "pretrade_date": day("pretrade_date")}),)),
    Dataset("stock_basic", "stock_basic", plan=Plan.SNAPSHOT, asset_class="stock", **P0,
            variants=(("list_status", "L"), ("list_status", "D"), ("list_status", "P")),
            targets=(Target("instrument", {
                "asset_class": const("stock"), "code": src("ts_code"), "symbol": src("symbol"), "name": src("name"),
                "fullname": src("fullname"), "exchange": src("exchange"), "market": src("market"),
                "currency": src("curr_type"), "list_status": src("list_status"), "list_date": day("list_date"),
                "delist_date": day("delist_date"),
                "attrs": attrs("area", "industry", "enname", "cnspell", "is_hs", "act_name", "act_ent_type"),
            }),)),
    Dataset("daily", "daily", plan=Plan.TRADE_DATE, asset_class="stock", **P0,
            targets=(_bar(AssetClass.STOCK, volume=100, amount=1000),)),
    Dataset("adj_factor", "adj_factor", plan=Plan.TRADE_DATE, asset_class="stock", **P0,
            targets=(_adj(AssetClass.STOCK),)),
    Dataset("suspend_d", "suspend_d", plan=Plan.TRADE_DATE, asset_class="stock", may_be_empty=True, **P0,
            targets=(Target("stock_suspension", {"code": src("ts_code"), "trade_date": day("trade_date"),
                                                 "suspend_type": src("suspend_type"),
                                                 "suspend_timing": src("suspend_timing")}),)),
    Dataset("daily_basic", "daily_basic", plan=Plan.TRADE_DATE, asset_class="stock", deadline=dt.time(19, 30), **P0,
            targets=(Target("stock_daily_basic", {
                "code": src("ts_code"), "trade_date": day("trade_date"),
                **{c: src(c) for c in ("close", "turnover_rate", "turnover_rate_f", "volume_ratio", "pe", "pe_ttm",
                                       "pb", "ps", "ps_ttm", "dv_ratio", "dv_ttm", "total_share", "float_share",
                                       "free_share", "total_mv", "circ_mv", "limit_status")},
            }),)),
    Dataset("fund_basic", "fund_basic", plan=Plan.SNAPSHOT, asset_class="etf", **P0, params={"market": "E"},
            variants=(("status", "L"), ("status", "D"), ("status", "I")),
            targets=(Target("instrument", {
                "asset_class": const("etf"), "code": src("ts_code"), "name": src("name"), "market": src("market"),
                "list_status": mapped("status", {"L": "L", "D": "D", "I": "G"}), "list_date": day("list_date"),
                "delist_date": day("delist_date"),
                "attrs": attrs("management", "custodian", "fund_type", "found_date", "benchmark", "invest_type",
                               "type", "m_fee", "c_fee"),
            }),)),
    Dataset("fund_daily", "fund_daily", plan=Plan.TRADE_DATE, asset_class="etf", **P0,
            targets=(_bar(AssetClass.ETF, volume=100, amount=1000),)),
    Dataset("fund_adj", "fund_adj", plan=Plan.TRADE_DATE, asset_class="etf", **P0,
            targets=(_adj(AssetClass.ETF),)),
    Dataset("index_basic", "index_basic", plan=Plan.SNAPSHOT, asset_class="index", **P0,
            variants=(("market", "SSE"), ("market", "SZSE"), ("market", "CSI")),
            targets=(Target("instrument", {
                "asset_class": const("index"), "code": src("ts_code"), "name": src("name"),
                "fullname": src("fullname"), "market": src("market"), "list_date": day("list_date"),
                "delist_date": day("exp_date"),
                "attrs": attrs("publisher", "index_type", "category", "base_date", "base_point", "weight_rule"),
            }),)),
    Dataset("index_daily", "index_daily", plan=Plan.CODE, asset_class="index", **P0,
            targets=(_bar(AssetClass.INDEX, volume=100, amount=1000),)),
    Dataset("index_weight", "index_weight", plan=Plan.CODE, asset_class="index", code_param="index_code", **P0,
            targets=(Target("index_weight", {"index_code": src("index_code"), "con_code": src("con_code"),
                                             "trade_date": day("trade_date"), "weight": src("weight")}),)),
    Dataset("fut_basic", "fut_basic", plan=Plan.SNAPSHOT, asset_class="future", **P0,
            variants=tuple(("exchange", e) for e in FUTURES_EXCHANGES),
            targets=(Target("instrument", {
                "asset_class": const("future"), "code": src("ts_code"), "symbol": src("symbol"), "name": src("name"),
                "exchange": src("exchange"), "list_date": day("list_date"), "delist_date": day("delist_date"),
                "product_code": src("fut_code"), "multiplier": src("multiplier"),
                "last_delivery_date": day("last_ddate"),
                "attrs": attrs("trade_unit", "per_unit", "quote_unit", "quote_unit_desc", "d_mode_desc", "d_month"),
            }),)),
    Dataset("fut_daily", "fut_daily", plan=Plan.TRADE_DATE, asset_class="future", calendar="SHFE",
            deadline=dt.time(22, 0), **P0,
            targets=(
                Target("daily_bar", {
                    "asset_class": const("future"), "code": src("ts_code"), "trade_date": day("trade_date"),
                    "open": src("open"), "high": src("high"), "low": src("low"), "close": src("close"),
                    "pre_close": src("pre_close"), "change": src("change1"), "pct_chg": const(None),
                    "volume": src("vol"), "amount": scaled("amount", 10000),  # lots = contracts; 万元 → yuan
                }),
                Target("future_daily_extra", {
                    "code": src("ts_code"), "trade_date": day("trade_date"), "settle": src("settle"),
                    "pre_settle": src("pre_settle"), "change1": src("change1"), "change2": src("change2"),
                    "open_interest": src("oi"), "oi_chg": src("oi_chg"), "delv_settle": src("delv_settle"),
                }),
            )),
    Dataset("sge_basic", "sge_basic", plan=Plan.SNAPSHOT, asset_class="sge", **P0, variants=(("", ""),),
            targets=(Target("instrument", {
                "asset_class": const("sge"), "code": src("ts_code"), "name": src("ts_name"), "exchange": const("SGE"),
                "list_date": day("list_date"),
                "attrs": attrs("trade_type", "t_unit", "p_unit", "min_change", "price_limit", "min_vol", "max_vol",
                               "trade_mode", "margin_rate", "liq_rate", "trade_time"),
            }),)),
    Dataset("sge_daily", "sge_daily", plan=Plan.TRADE_DATE, asset_class="sge", deadline=dt.time(19, 0), **P0,
            targets=(
                Target("daily_bar", {
                    "asset_class": const("sge"), "code": src("ts_code"), "trade_date": day("trade_date"),
                    "open": src("open"), "high": src("high"), "low": src("low"), "close": src("close"),
                    "pre_close": const(None), "change": src("change"), "pct_chg": src("pct_change"),
                    "volume": src("vol"), "amount": src("amount"),  # kg and yuan already
                }),
                Target("sge_daily_extra", {
                    "code": src("ts_code"), "trade_date": day("trade_date"), "price_avg": src("price_avg"),
                    "open_interest": src("oi"), "settle_vol": src("settle_vol"), "settle_dire": src("settle_dire"),
                }),
            )),
]}

P1 = dict(batch=Batch.P1, flag="p1Enabled")
GMT_WEEKDAYS = "GMT weekdays"  # FX trade dates: GMT days, Monday to Friday, no holidays


def _mid(bid: str, ask: str) -> Col:
    """The unified FX bar holds the mid of bid and ask (``None`` when either is missing)."""
    return Col((bid, ask), lambda r: None if r[bid] is None or r[ask] is None else (r[bid] + r[ask]) / 2)


def _macro(api: str, unit: str, period_field: str, fields: tuple[str, ...], country: str) -> Dataset:
    """A macro API stored as vintages: each value field is a series ``<api>.<field>``."""
    return Dataset(api, api, plan=Plan.PERIOD, period=unit, writer=Writer.VINTAGE, asset_class="macro",
                   country=country, **P1,
                   targets=(Target("macro_observation", {"period": src(period_field),
                                                         **{f: src(f) for f in fields}}),))


P1_DATASETS = [
    Dataset("fx_obasic", "fx_obasic", plan=Plan.SNAPSHOT, asset_class="fx", codes="fx", **P1,
            variants=(("exchange", "FXCM"),),  # asked per whitelisted pair: nothing else is fetched
            targets=(Target("instrument", {
                "asset_class": const("fx"), "code": src("ts_code"), "name": src("name"), "exchange": src("exchange"),
                "attrs": attrs("classify", "min_unit", "max_unit", "pip", "pip_cost", "traget_spread",
                               "min_stop_distance", "trading_hours", "break_time"),
            }),)),
    Dataset("fx_daily", "fx_daily", plan=Plan.CODE, codes="fx", asset_class="fx", calendar=GMT_WEEKDAYS, **P1,
            targets=(
                Target("daily_bar", {
                    "asset_class": const("fx"), "code": src("ts_code"), "trade_date": day("trade_date"),
                    "open": _mid("bid_open", "ask_open"), "high": _mid("bid_high", "ask_high"),
                    "low": _mid("bid_low", "ask_low"), "close": _mid("bid_close", "ask_close"),
                    "pre_close": const(None), "change": const(None), "pct_chg": const(None),
                    "volume": const(None), "amount": const(None),
                }),
                Target("fx_daily_quote", {
                    "code": src("ts_code"), "trade_date": day("trade_date"),
                    **{c: src(c) for c in ("bid_open", "bid_high", "bid_low", "bid_close", "ask_open", "ask_high",
                                           "ask_low", "ask_close", "tick_qty", "exchange")},
                }),
            )),
    Dataset("cn_schedule", "cn_schedule", plan=Plan.PERIOD, period="each_m", writer=Writer.RELEASE,
            asset_class="macro", **P1,
            targets=(Target("macro_release", {c: src(c) for c in ("month", "publish_date", "title", "data_api")}),)),
    _macro("cn_cpi", "m", "month", ("nt_val", "nt_yoy", "nt_mom", "nt_accu", "town_val", "town_yoy",
                                             "town_mom", "town_accu", "cnt_val", "cnt_yoy", "cnt_mom", "cnt_accu"),
           "CN"),
    _macro("cn_ppi", "m", "month", ("ppi_yoy", "ppi_mp_yoy", "ppi_cg_yoy", "ppi_mom", "ppi_mp_mom",
                                             "ppi_cg_mom", "ppi_accu", "ppi_mp_accu", "ppi_cg_accu"), "CN"),
    _macro("cn_m", "m", "month", ("m0", "m0_yoy", "m0_mom", "m1", "m1_yoy", "m1_mom", "m2", "m2_yoy",
                                           "m2_mom"), "CN"),
    _macro("cn_pmi", "m", "month", ("pmi010000", "pmi010100", "pmi010200", "pmi010300", "pmi010400",
                                             "pmi010500", "pmi010600", "pmi010700", "pmi020100"), "CN"),
    _macro("cn_gdp", "q", "quarter", ("gdp", "gdp_yoy", "pi", "pi_yoy", "si", "si_yoy", "ti", "ti_yoy"),
           "CN"),
    _macro("shibor", "date", "date", ("on", "1w", "2w", "1m", "3m", "6m", "9m", "1y"), "CN"),
    _macro("us_tycr", "date", "date", ("m1", "m2", "m3", "m4", "m6", "y1", "y2", "y3", "y5", "y7", "y10",
                                               "y20", "y30"), "US"),
    _macro("us_trycr", "date", "date", ("y5", "y7", "y10", "y20", "y30"), "US"),
    _macro("us_tbr", "date", "date", ("w4_bd", "w4_ce", "w8_bd", "w8_ce", "w13_bd", "w13_ce", "w17_bd",
                                              "w17_ce", "w26_bd", "w26_ce", "w52_bd", "w52_ce"), "US"),
    _macro("us_tltr", "date", "date", ("ltc", "cmt", "e_factor"), "US"),
]
DATASETS.update({d.name: d for d in P1_DATASETS})

PREMARKET_FLAG = "p2SpecialPermissionStkPremarketV1"
P2_FUTURES = dict(batch=Batch.P2, flag="p2FuturesMicrostructureV1", module="p2_futures_microstructure")

P2_DATASETS = [
    Dataset("fut_wsr", "fut_wsr", plan=Plan.TRADE_DATE, calendar="SHFE", deadline=dt.time(19, 0), **P2_FUTURES,
            targets=(Target("fut_warehouse_receipt", {
                "trade_date": day("trade_date"), "exchange": src("exchange"), "symbol": src("symbol"),
                **{c: key_part(c) for c in ("warehouse", "wh_id", "grade", "brand")},
                **{c: src(c) for c in ("fut_name", "pre_vol", "vol", "vol_chg", "area", "year", "place", "pd",
                                       "is_ct", "unit")},
            }),)),
    Dataset("fut_holding", "fut_holding", plan=Plan.TRADE_DATE, calendar="SHFE", deadline=dt.time(19, 0),
            **P2_FUTURES,
            targets=(Target("fut_holding", {
                "trade_date": day("trade_date"), "exchange": src("exchange"), "symbol": src("symbol"),
                **{c: src(c) for c in ("broker", "vol", "vol_chg", "long_hld", "long_chg", "short_hld",
                                       "short_chg")},
            }),)),
    Dataset("stk_premarket", "stk_premarket", plan=Plan.TRADE_DATE, asset_class="stock", deadline=dt.time(9, 0),
            batch=Batch.P2, flag=PREMARKET_FLAG, module="p2_stk_premarket",
            targets=(Target("stk_premarket", {
                "code": src("ts_code"), "trade_date": day("trade_date"),
                **{c: src(c) for c in ("total_share", "float_share", "pre_close", "up_limit", "down_limit")},
            }),)),
]

# P2 minute history and realtime. A-share sessions have 240 one-minute bars (09:31-11:30, 13:01-15:00)
# plus, at some vendors, a 09:30 auction bar; a futures day has at most 225 day bars and 330 night
# bars (21:01-02:30, SHFE precious metals and INE crude). Windows are sized to the 8000-row cap with that.
EQUITY_BARS, FUTURES_BARS = 241, 555
P2_INDEX = dict(batch=Batch.P2, flag="p2RealtimeIndexV1", module="p2_realtime_index")
P2_EQUITY = dict(batch=Batch.P2, flag="p2RealtimeEquityEtfV1", module="p2_realtime_equity_etf")


def _minute_bar(asset_class: Col, oi: bool = False) -> Target:
    return Target("minute_bar", {
        "asset_class": asset_class, "code": src("ts_code"), "freq": const("1min"), "trade_time": moment("trade_time"),
        "open": src("open"), "high": src("high"), "low": src("low"), "close": src("close"),
        "volume": src("vol"), "amount": src("amount"), "open_interest": src("oi") if oi else const(None),
    })


def _realtime_bar(asset_class: Col) -> Target:
    return Target("realtime_minute_bar", {
        "asset_class": asset_class, "code": src("ts_code"), "freq": const("1MIN"), "bar_time": moment("time"),
        "open": src("open"), "high": src("high"), "low": src("low"), "close": src("close"),
        "volume": src("vol"), "amount": src("amount"),
    })


def _quote(asset_class: str, *extra: str) -> Target:
    return Target("realtime_quote", {
        "asset_class": const(asset_class), "code": src("ts_code"), "snapshot_at": moment("trade_time"),
        "name": src("name"), **{c: src(c) for c in ("open", "high", "low", "close", "pre_close")},
        "volume": src("vol"), "amount": src("amount"),
        **({"num_trades": src("num"), **{c: src(c) for c in extra}} if extra else {}),
    })


P2_DATASETS += [
    Dataset("idx_mins", "idx_mins", plan=Plan.MINUTES, codes="index", asset_class="index", params={"freq": "1min"},
            bars_per_day=EQUITY_BARS, deadline=dt.time(20, 0), **P2_INDEX,
            targets=(_minute_bar(const("index")),)),
    Dataset("stk_mins", "stk_mins", plan=Plan.MINUTES, codes="minute", params={"freq": "1min"},
            bars_per_day=EQUITY_BARS, deadline=dt.time(20, 0), **P2_EQUITY,
            targets=(_minute_bar(equity("ts_code")),)),
    Dataset("ft_mins", "ft_mins", plan=Plan.MINUTES, codes="futures", asset_class="future", calendar="SHFE",
            # its contracts are chosen from fut_daily (due 22:00): due after it
            params={"freq": "1min"}, bars_per_day=FUTURES_BARS, deadline=dt.time(22, 30), **P2_FUTURES,
            targets=(_minute_bar(const("future"), oi=True),)),
    Dataset("rt_idx_k", "rt_idx_k", plan=Plan.REALTIME, codes="index", asset_class="index", codes_per_call=50,
            **P2_INDEX, targets=(_quote("index"),)),
    Dataset("rt_idx_min", "rt_idx_min", plan=Plan.REALTIME, codes="index", asset_class="index",
            params={"freq": "1MIN"}, codes_per_call=4, **P2_INDEX, targets=(_realtime_bar(const("index")),)),
    Dataset("rt_etf_k", "rt_etf_k", plan=Plan.REALTIME, codes="etf", asset_class="etf", codes_per_call=50,
            params={"topic": "HQ_FND_TICK"}, **P2_EQUITY,
            targets=(_quote("etf", "ask_volume1", "bid_volume1"),)),
    Dataset("rt_min", "rt_min", plan=Plan.REALTIME, codes="minute", params={"freq": "1MIN"}, codes_per_call=4,
            **P2_EQUITY, targets=(_realtime_bar(equity("ts_code")),)),
]
DATASETS.update({d.name: d for d in P2_DATASETS})

# what must be stored before the rest can be planned: calendars and instruments
FIRST = ("trade_cal", "stock_basic", "fund_basic", "index_basic", "fut_basic", "sge_basic", "fx_obasic",
         "cn_schedule")


def for_batch(batch: Batch) -> list[Dataset]:
    return [d for d in DATASETS.values() if d.batch == batch]
