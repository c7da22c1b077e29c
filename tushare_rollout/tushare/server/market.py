"""Equities, ETFs and indices for the local Tushare server: nineteen APIs, generated deterministically.

:class:`ExchangeMarket` answers the calendar (``trade_cal``), the reference lists (``stock_basic``,
``fund_basic``, ``index_basic``), the daily bars and factors (``daily``, ``adj_factor``, ``daily_basic``,
``fund_daily``, ``fund_adj``, ``index_daily``, ``index_weight``, ``stk_premarket``), the suspensions
(``suspend_d``), minute history (``stk_mins``, ``idx_mins``) and the realtime snapshots (``rt_idx_k``,
``rt_idx_min``, ``rt_etf_k``, ``rt_min``) over the Shanghai trading calendar, 2005 through 2026.

Generation
----------
The universe (about 280 stocks, 70 funds, 25 indices) is drawn once from the world seed. Each code's
whole daily path is drawn on first use from ``numpy.random.default_rng(zlib.crc32(f"{seed}:{code}"))``
and kept: suspensions (sparse runs of days), dividend/split days where the adjustment factor steps up,
a mean-reverting random walk of closes inside the board's price limits, and open/high/low/volume
around it. ``pre_close`` is the ex-right price ``round(close_prev * adj_prev / adj_cur, tick)``, so
``close * adj_factor`` is continuous. A day's minute bars are drawn from ``(seed, code, day)``: a
Brownian bridge from the daily open to the daily close inside the daily range, touching the high and
the low, with the daily volume split exactly over the 240 one-minute bars (09:31-11:30, 13:01-15:00,
labelled by their end time).

``suspend_d`` reads the same suspensions: over a stock's listing, an ``S`` row on every open day
without a ``daily`` bar (so each listed stock-day has exactly one of the two) and an ``R`` row on the
first traded day after such a run. Suspensions are whole days, so ``suspend_timing`` is always empty.

Point in time
-------------
A day's bars (and factors, weights, suspensions) exist once that Beijing day's session has closed
(15:00); ``stk_premarket`` once the day's pre-market (09:00). Realtime APIs answer the current session
up to the last completed minute of ``now``. Reference lists show what is listed (and delisted) at ``now``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import fnmatch
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.calendar import EXCHANGES, FIRST_DAY, LAST_DAY, TradingCalendar
from tushare_rollout.tushare.server.params import (
    HISTORY_FREQS, BadParams, codes, date_range, fmt_day, fmt_moment, history_freq, minute_window, text,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))
CLOSE_TIME, PREMARKET_TIME = dt.time(15, 0), dt.time(9, 0)
FREQS = HISTORY_FREQS  # realtime APIs take the same steps, spelt in upper case
MAX_MINUTE_DAYS = 400  # trading days one minute-history call may span


def _minute_labels() -> list[dt.time]:
    out = []
    for start in (dt.datetime(2000, 1, 1, 9, 30), dt.datetime(2000, 1, 1, 13, 0)):
        out += [(start + dt.timedelta(minutes=i)).time() for i in range(1, 121)]
    return out


MINUTES = _minute_labels()  # end times of the 240 one-minute bars
MINUTE_TEXT = [t.strftime("%H:%M:%S") for t in MINUTES]

# Name parts: (character, pinyin initial)
_HEAD = [("华", "H"), ("中", "Z"), ("东", "D"), ("海", "H"), ("金", "J"), ("长", "C"), ("天", "T"), ("新", "X"),
         ("国", "G"), ("信", "X"), ("安", "A"), ("宏", "H"), ("恒", "H"), ("正", "Z"), ("联", "L"), ("万", "W"),
         ("大", "D"), ("永", "Y"), ("通", "T"), ("明", "M"), ("鼎", "D"), ("瑞", "R"), ("泰", "T"), ("嘉", "J")]
_TAIL = [("兴", "X"), ("源", "Y"), ("达", "D"), ("盛", "S"), ("丰", "F"), ("光", "G"), ("科", "K"), ("远", "Y"),
         ("成", "C"), ("力", "L"), ("宇", "Y"), ("凯", "K"), ("龙", "L"), ("和", "H"), ("晨", "C"), ("峰", "F")]
_INDUSTRIES = [("银行", "银行", "YH"), ("证券", "证券", "ZQ"), ("化学制药", "药业", "YY"), ("生物制药", "生物", "SW"),
               ("元器件", "电子", "DZ"), ("软件服务", "软件", "RJ"), ("食品", "食品", "SP"), ("白酒", "酒业", "JY"),
               ("汽车整车", "汽车", "QC"), ("化工原料", "化工", "HG"), ("普钢", "钢铁", "GT"), ("煤炭开采", "能源", "NY"),
               ("火力发电", "电力", "DL"), ("建筑工程", "建设", "JS"), ("区域地产", "地产", "DC"), ("专用机械", "机械", "JX"),
               ("半导体", "微电", "WD"), ("通信设备", "通信", "TX"), ("家用电器", "电器", "DQ"), ("铜", "矿业", "KY"),
               ("环境保护", "环境", "HJ"), ("电气设备", "电气", "DQ")]
_FAMOUS = [("600000.SH", "浦发银行", "银行", dt.date(1999, 11, 10)), ("600519.SH", "贵州茅台", "白酒", dt.date(2001, 8, 27)),
           ("601318.SH", "中国平安", "证券", dt.date(2007, 3, 1)), ("000001.SZ", "平安银行", "银行", dt.date(1991, 4, 3)),
           ("000002.SZ", "万科A", "区域地产", dt.date(1991, 1, 29)), ("300750.SZ", "宁德时代", "电气设备", dt.date(2018, 6, 11)),
           ("688981.SH", "中芯国际", "半导体", dt.date(2020, 7, 16)), ("002594.SZ", "比亚迪", "汽车整车", dt.date(2011, 6, 30))]
_AREAS = ["北京", "上海", "深圳", "广东", "浙江", "江苏", "山东", "四川", "湖北", "福建", "安徽", "河南", "湖南", "天津"]
_OWNERS = [("中央国有企业", "国务院国有资产监督管理委员会"), ("地方国有企业", "地方国资委"), ("民营企业", None),
           ("外资企业", None), ("无实际控制人", None)]
# Stock boards: (prefix, exchange suffix, market, count, first listing allowed, daily limit)
_BOARDS = [("600", "SH", "主板", 48, dt.date(1995, 1, 1), 0.10), ("601", "SH", "主板", 30, dt.date(2000, 1, 1), 0.10),
           ("603", "SH", "主板", 32, dt.date(2011, 1, 1), 0.10), ("688", "SH", "科创板", 30, dt.date(2019, 7, 22), 0.20),
           ("000", "SZ", "主板", 50, dt.date(1995, 1, 1), 0.10), ("002", "SZ", "主板", 44, dt.date(2004, 6, 25), 0.10),
           ("300", "SZ", "创业板", 38, dt.date(2009, 10, 30), 0.20), ("83", "BJ", "北交所", 4, dt.date(2021, 11, 15), 0.30),
           ("87", "BJ", "北交所", 4, dt.date(2021, 11, 15), 0.30)]
# Indices: code, name, market, category, base date, base point, start level, eligible constituent prefixes
_INDICES = [
    ("000001.SH", "上证指数", "SSE", "综合指数", "19901219", 100.0, 1250.0, ("6",)),
    ("000016.SH", "上证50", "SSE", "规模指数", "20031231", 1000.0, 850.0, ("60",)),
    ("000300.SH", "沪深300", "SSE", "规模指数", "20041231", 1000.0, 1000.0, ("60", "00", "30")),
    ("000905.SH", "中证500", "SSE", "规模指数", "20041231", 1000.0, 1000.0, ("60", "00", "30")),
    ("000852.SH", "中证1000", "SSE", "规模指数", "20041231", 1000.0, 1000.0, ("60", "00", "30", "68")),
    ("000688.SH", "科创50", "SSE", "规模指数", "20191231", 1000.0, 1000.0, ("688",)),
    ("000010.SH", "上证180", "SSE", "规模指数", "20020628", 3299.06, 2400.0, ("60",)),
    ("000009.SH", "上证380", "SSE", "规模指数", "20031231", 1000.0, 900.0, ("60",)),
    ("000903.SH", "中证100", "SSE", "规模指数", "20041231", 1000.0, 1000.0, ("60", "00")),
    ("399001.SZ", "深证成指", "SZSE", "综合指数", "19940720", 1000.0, 3300.0, ("00", "30")),
    ("399006.SZ", "创业板指", "SZSE", "规模指数", "20100531", 1000.0, 1000.0, ("300",)),
    ("399005.SZ", "中小100", "SZSE", "规模指数", "20050607", 1000.0, 1000.0, ("002",)),
    ("399300.SZ", "沪深300", "SZSE", "规模指数", "20041231", 1000.0, 1000.0, ("60", "00", "30")),
    ("399330.SZ", "深证100", "SZSE", "规模指数", "20021231", 1000.0, 950.0, ("00", "30")),
    ("399106.SZ", "深证综指", "SZSE", "综合指数", "19910403", 100.0, 320.0, ("00", "30")),
    ("399673.SZ", "创业板50", "SZSE", "规模指数", "20100531", 1000.0, 1000.0, ("300",)),
    ("000922.CSI", "中证红利", "CSI", "策略指数", "20041231", 1000.0, 1000.0, ("60", "00")),
    ("000827.CSI", "中证环保", "CSI", "主题指数", "20111230", 1000.0, 1000.0, ("60", "00", "30")),
    ("000932.CSI", "中证消费", "CSI", "行业指数", "20041231", 1000.0, 1000.0, ("60", "00")),
    ("000933.CSI", "中证医药", "CSI", "行业指数", "20041231", 1000.0, 1000.0, ("60", "00", "30")),
    ("000934.CSI", "中证金融", "CSI", "行业指数", "20041231", 1000.0, 1000.0, ("60", "00")),
    ("000985.CSI", "中证全指", "CSI", "规模指数", "20041231", 1000.0, 1000.0, ("6", "0", "3")),
    ("930050.CSI", "中证A50", "CSI", "规模指数", "20131231", 1000.0, 1000.0, ("60", "00", "30", "68")),
    ("931071.CSI", "人工智能", "CSI", "主题指数", "20121231", 1000.0, 1000.0, ("60", "00", "30", "68")),
    ("H30269.CSI", "红利低波", "CSI", "策略指数", "20041231", 1000.0, 1000.0, ("60", "00")),
]
_FUND_COMPANIES = ["华夏基金", "易方达基金", "南方基金", "嘉实基金", "广发基金", "华泰柏瑞基金", "国泰基金", "富国基金"]
_CUSTODIANS = ["中国工商银行", "中国建设银行", "中国银行", "招商银行", "交通银行", "中国农业银行"]


def _rng(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{seed}:{label}".encode()))


@dataclass
class _Inst:
    code: str
    kind: str  # stock | etf | otc | index
    name: str
    list_date: dt.date
    delist_date: dt.date | None = None
    pause_date: dt.date | None = None
    limit: float | None = 0.10
    dec: int = 2
    info: dict[str, Any] | None = None


@dataclass
class _Path:
    """Arrays over the calendar sessions i0 .. i0 + n - 1 (NaN where not traded)."""
    i0: int
    traded: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    pre: np.ndarray
    vol: np.ndarray  # 手
    amount: np.ndarray  # 千元
    adj: np.ndarray
    shares: np.ndarray  # total shares, 万股

    def at(self, k: int) -> int | None:
        """Offset of calendar session ``k`` if traded that day."""
        j = k - self.i0
        return j if 0 <= j < len(self.traded) and self.traded[j] else None


def _limit_pct(code: str) -> float:
    if code.endswith(".BJ"):
        return 0.30
    return 0.20 if code.startswith(("300", "301", "688")) else 0.10


def _round(x: float, dec: int) -> float:
    return float(round(x + (1e-9 if x >= 0 else -1e-9), dec))


def _limits(pre: Any, limit: float, dec: int) -> tuple[Any, Any]:
    """Up and down limit prices from the previous (ex-right) close; arrays or scalars."""
    return np.round(pre * (1 + limit) + 1e-9, dec), np.maximum(np.round(pre * (1 - limit) + 1e-9, dec), 10.0 ** -dec)


def _settle(close: np.ndarray, adj: np.ndarray, start: float, limit: float | None,
            dec: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Previous closes (ex-right on factor steps) and limit prices; clamps ``close`` into the limits in place."""
    ratio = np.ones_like(adj)
    ratio[1:] = adj[:-1] / adj[1:]
    ex = ratio != 1.0
    for _ in range(len(close) + 1):  # usually one or two passes
        pre = np.empty_like(close)
        if len(close):
            pre[0], pre[1:] = start, close[:-1]
        pre[ex] = np.round(pre[ex] * ratio[ex], dec)
        if limit is None:
            return pre, pre * 1.2, pre * 0.8
        up, down = _limits(pre, limit, dec)
        fixed = np.clip(close, down, up)
        if np.array_equal(fixed, close):
            return pre, up, down
        close[:] = fixed  # entries before the first breach never change again: the loop ends
    raise RuntimeError("price-limit clipping did not settle")


class ExchangeMarket:
    """Deterministic stock/ETF/index market; ``rows(api, params, now)`` answers one call."""

    APIS: frozenset[str] = frozenset({
        "trade_cal", "stock_basic", "fund_basic", "index_basic", "daily", "adj_factor", "daily_basic",
        "fund_daily", "fund_adj", "index_daily", "index_weight", "stk_premarket", "suspend_d", "stk_mins",
        "idx_mins", "rt_idx_k", "rt_idx_min", "rt_etf_k", "rt_min",
    })

    def __init__(self, seed: int = 20240101) -> None:
        self.seed = seed
        self.cal = TradingCalendar.shanghai()
        self._paths: dict[str, _Path] = {}
        self._minute_cache: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self._handlers: dict[str, Callable[[str, Mapping[str, Any], dt.datetime], list[dict[str, Any]]]] = {
            "trade_cal": self._trade_cal, "stock_basic": self._stock_basic, "fund_basic": self._fund_basic,
            "index_basic": self._index_basic, "daily": self._bars, "fund_daily": self._bars,
            "index_daily": self._bars, "adj_factor": self._adj, "fund_adj": self._adj,
            "daily_basic": self._daily_basic, "stk_premarket": self._premarket, "index_weight": self._index_weight,
            "suspend_d": self._suspend_d,
            "stk_mins": self._mins, "idx_mins": self._mins, "rt_idx_k": self._rt_k, "rt_etf_k": self._rt_k,
            "rt_min": self._rt_min, "rt_idx_min": self._rt_min,
        }

    def rows(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        """All rows of ``api`` matching ``params`` that exist at ``now`` (an aware datetime), newest first."""
        if api not in self._handlers:
            raise KeyError(f"{api} is not an equity/ETF/index API")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return self._handlers[api](api, params, now.astimezone(BEIJING))

    def is_suspended(self, ts_code: str, day: dt.date) -> bool:
        """Whether a listed code does not trade on the open day ``day`` (False outside its listing)."""
        inst = self._all.get(ts_code)
        if inst is None or not self.cal.is_open(day):
            return False
        path = self._path(ts_code)
        j = self.cal.index(day) - path.i0
        return bool(0 <= j < len(path.traded) and not path.traded[j])

    # -- universe ----------------------------------------------------------------------------------

    @cached_property
    def _stocks(self) -> dict[str, _Inst]:
        rng = _rng(self.seed, "universe:stocks")
        out: dict[str, _Inst] = {}
        names: set[str] = set()
        plan: list[tuple[str, tuple, tuple[str, str, dt.date] | None]] = []
        for board_row in _BOARDS:
            prefix, ex, count = board_row[0], board_row[1], board_row[3]
            numbers = 1 + rng.choice(10 ** (6 - len(prefix)) - 1, size=count, replace=False)
            plan += [(f"{prefix}{num:0{6 - len(prefix)}d}.{ex}", board_row, None) for num in sorted(numbers)]
        for code, name, industry, listed in _FAMOUS:
            row = next(b for b in _BOARDS if code.startswith(b[0]) and code.endswith(b[1]))
            plan = [item for item in plan if item[0] != code] + [(code, row, (name, industry, listed))]
        for code, (prefix, ex, board, _, earliest, limit), fixed in plan:
            span = (dt.date(2025, 12, 31) - max(earliest, dt.date(1995, 1, 1))).days
            if rng.random() < 0.04:  # recent listings, some after 2025
                list_day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
            else:
                list_day = max(earliest, dt.date(1995, 1, 1)) + dt.timedelta(days=int(span * rng.random() ** 1.3))
            list_day = self.cal.latest_open_on_or_before(list_day) or list_day
            while True:
                h, t = _HEAD[rng.integers(len(_HEAD))], _TAIL[rng.integers(len(_TAIL))]
                ind = _INDUSTRIES[rng.integers(len(_INDUSTRIES))]
                name = h[0] + t[0] + ind[1]
                if name not in names:
                    names.add(name)
                    break
            if fixed is not None:
                name, list_day = fixed[0], fixed[2]
                ind = next(i for i in _INDUSTRIES if i[0] == fixed[1])
            fate = rng.random()
            delist = pause = None
            last = min(dt.date(2026, 10, 30), LAST_DAY)
            if fixed is not None:
                pass
            elif fate < 0.08 and (last - list_day).days > 800:
                delist = list_day + dt.timedelta(days=int(rng.integers(700, (last - list_day).days)))
                delist = self.cal.open_days(delist)[0] if self.cal.open_days(delist) else delist
            elif fate < 0.10 and (last - list_day).days > 800:
                drawn = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 900)))
                pause = self.cal.open_days(max(drawn, list_day + dt.timedelta(days=400)))[0]
            owner = _OWNERS[rng.integers(len(_OWNERS))]
            area = _AREAS[rng.integers(len(_AREAS))]
            is_hs = ("H" if ex == "SH" else "S") if ex != "BJ" and rng.random() < 0.6 else "N"
            info = {"industry": ind[0], "area": area, "market": board, "exchange": {"SH": "SSE", "SZ": "SZSE", "BJ": "BSE"}[ex],
                    "cnspell": (h[1] + t[1] + ind[2]).lower(), "is_hs": is_hs, "act_ent_type": owner[0],
                    "act_name": owner[1] or ("自然人" + _HEAD[rng.integers(len(_HEAD))][0] + "某"),
                    "shares": float(round(10 ** rng.uniform(3.9, 5.6), 4)), "float_frac": float(rng.uniform(0.3, 1.0)),
                    "free_frac": float(rng.uniform(0.4, 0.9)), "price": float(10 ** rng.uniform(0.6, 1.8)),
                    "turn": float(10 ** rng.uniform(-2.6, -1.4)), "sigma": float(rng.uniform(0.016, 0.03)),
                    "profit": float(rng.normal(0.045, 0.04)), "growth": float(rng.normal(0.06, 0.1)),
                    "book": float(rng.uniform(0.15, 0.8)), "sales": float(rng.uniform(0.2, 3.0)),
                    "dv": float(rng.uniform(0.0, 0.04)), "famous": fixed is not None}
            if pause is not None:
                name = "*ST" + name[:2] + name[2:]
            out[code] = _Inst(code, "stock", name, list_day, delist, pause, limit, 2, info)
        return dict(sorted(out.items()))

    @cached_property
    def _funds(self) -> dict[str, _Inst]:
        rng = _rng(self.seed, "universe:funds")
        out: dict[str, _Inst] = {}
        pools = [("510", "SH", 14), ("512", "SH", 10), ("513", "SH", 6), ("515", "SH", 5), ("560", "SH", 4),
                 ("561", "SH", 3), ("159", "SZ", 18)]
        plan = [(f"{prefix}{num:03d}.{ex}", prefix) for prefix, ex, count in pools
                for num in sorted(rng.choice(1000, size=count, replace=False))]
        famous = {"510050.SH": ("000016.SH", "华夏基金", dt.date(2005, 2, 23)),
                  "510300.SH": ("000300.SH", "华泰柏瑞基金", dt.date(2012, 5, 28)),
                  "510500.SH": ("000905.SH", "南方基金", dt.date(2013, 3, 15)),
                  "159919.SZ": ("000300.SH", "嘉实基金", dt.date(2012, 5, 28)),
                  "159915.SZ": ("399006.SZ", "易方达基金", dt.date(2011, 12, 9))}
        plan = [item for item in plan if item[0] not in famous] + [(c, c[:3]) for c in famous]
        for code, prefix in plan:
            earliest = dt.date(2005, 2, 23) if prefix == "510" else dt.date(2011 if prefix != "56" else 2019, 1, 1)
            if prefix.startswith("56"):
                earliest = dt.date(2020, 6, 1)
            list_day = earliest + dt.timedelta(days=int((dt.date(2025, 12, 31) - earliest).days * rng.random() ** 1.5))
            list_day = self.cal.open_days(list_day)[0]
            idx = _INDICES[rng.integers(len(_INDICES))]
            company = _FUND_COMPANIES[rng.integers(len(_FUND_COMPANIES))]
            delist = None
            if rng.random() < 0.04 and list_day < dt.date(2021, 1, 1):
                delist = self.cal.open_days(list_day + dt.timedelta(days=int(rng.integers(900, 1500))))[0]
            if code in famous:
                target, company, list_day = famous[code]
                idx, delist = next(i for i in _INDICES if i[0] == target), None
            info = {"company": company, "index": idx, "custodian": _CUSTODIANS[rng.integers(len(_CUSTODIANS))],
                    "price": float(rng.uniform(0.8, 4.5)), "sigma": float(rng.uniform(0.009, 0.016)),
                    "units": float(10 ** rng.uniform(4.5, 6.5)), "turn": float(10 ** rng.uniform(-2.5, -1.0)),
                    "market": "E"}
            out[code] = _Inst(code, "etf", f"{idx[1]}ETF{company[:2]}", list_day, delist, None, 0.10, 3, info)
        for i in range(10):
            code = f"{int(rng.integers(1, 20000)):06d}.OF"
            company = _FUND_COMPANIES[i % len(_FUND_COMPANIES)]
            list_day = dt.date(2006, 1, 1) + dt.timedelta(days=int(rng.integers(0, 7000)))
            info = {"company": company, "index": None, "custodian": _CUSTODIANS[i % len(_CUSTODIANS)], "market": "O"}
            out[code] = _Inst(code, "otc", f"{company[:2]}{['稳健', '成长', '价值', '优选', '精选'][i % 5]}混合A",
                              list_day, None, None, None, 4, info)
        return out

    @cached_property
    def _indices(self) -> dict[str, _Inst]:
        rng = _rng(self.seed, "universe:indices")
        out = {}
        for code, name, market, category, base, point, level, eligible in _INDICES:
            base_day = dt.datetime.strptime(base, "%Y%m%d").date()
            list_day = max(base_day + dt.timedelta(days=int(rng.integers(60, 400))), FIRST_DAY)
            list_day = self.cal.open_days(list_day)[0]
            info = {"market": market, "category": category, "base_date": base, "base_point": point, "level": level,
                    "eligible": eligible, "sigma": float(rng.uniform(0.011, 0.017)),
                    "vol": float(10 ** rng.uniform(6.5, 8.3)), "avg_price": float(rng.uniform(8, 25))}
            out[code] = _Inst(code, "index", name, list_day, None, None, None, 2, info)
        return out

    @cached_property
    def _all(self) -> dict[str, _Inst]:
        return {**self._stocks, **self._funds, **self._indices}

    # -- daily paths ---------------------------------------------------------------------------------

    def _path(self, code: str) -> _Path:
        path = self._paths.get(code)
        if path is None:
            path = self._paths[code] = self._build_path(self._all[code])
        return path

    def _build_path(self, inst: _Inst) -> _Path:
        rng = _rng(self.seed, inst.code)
        sessions = self.cal.sessions
        i0 = bisect.bisect_left(sessions, inst.list_date)
        i1 = bisect.bisect_left(sessions, inst.delist_date) if inst.delist_date else len(sessions)
        n = max(i1 - i0, 0)
        info = inst.info or {}
        traded = np.ones(n, dtype=bool)
        if inst.kind == "stock" and n:  # the big names of the list never stop trading
            starts = np.flatnonzero(rng.random(n) < (0.0 if info.get("famous") else 0.0045))
            lengths = rng.integers(1, 5, size=len(starts))
            for s, length in zip(starts, lengths):
                traded[s:s + length] = False
            if inst.pause_date:
                traded[max(bisect.bisect_left(sessions, inst.pause_date) - i0, 1):] = False
            traded[0] = True
        m = int(traded.sum())
        dec, tick = inst.dec, 10.0 ** -inst.dec
        rate = {"stock": 1.6 / 245, "etf": 1.0 / 245}.get(inst.kind, 0.0)
        event = rng.random(m) < rate
        if m:
            event[0] = False
        split = event & (rng.random(m) < (0.12 if inst.kind == "stock" else 0.03))
        mult = np.where(split, rng.choice([1.2, 1.3, 1.5, 2.0], size=m), 1.0 + rng.uniform(0.004, 0.03, size=m))
        a0 = 1.0 if inst.list_date >= FIRST_DAY or inst.kind != "stock" else _round(float(rng.uniform(1.0, 6.0)), 3)
        adj_t = np.round(a0 * np.cumprod(np.where(event, mult, 1.0)), 4)
        shares_t = (info.get("shares") or info.get("units") or 1.0) * np.cumprod(np.where(split, mult, 1.0))
        sigma, limit = info.get("sigma", 0.014), inst.limit
        start = _round(info.get("level") or info.get("price", 10.0), dec)
        # Raw log price: a 6 %/yr trend plus mean-reverting noise (x_k = phi x_(k-1) + e_k), cut by splits and
        # reflected above a floor; the adjusted price adds the factor, and its daily steps stay inside the limits.
        steps_k = np.arange(m)
        e = sigma * rng.standard_normal(m) * np.where(rng.random(m) < 0.05, 2.2, 1.0)
        x = 0.997 ** steps_k * np.cumsum(e * 0.997 ** -steps_k)
        floor = math.log({"stock": 2.5, "etf": 0.4}.get(inst.kind, 80.0))
        raw = math.log(start) + 0.00025 * steps_k + x - np.log(np.cumprod(np.where(split, mult, 1.0)))
        adjusted = floor + np.abs(raw - floor) + np.log(adj_t / adj_t[0]) if m else raw
        bound = limit - 0.003 if limit is not None else 0.09
        steps = np.clip(np.diff(adjusted, prepend=math.log(start)), math.log(1 - bound), math.log(1 + bound))
        close_t = np.maximum(np.round(start * np.exp(np.cumsum(steps)) * (adj_t[0] if m else 1.0) / adj_t, dec), tick)
        pre_t, up_t, down_t = _settle(close_t, adj_t, start, limit, dec)
        gap = np.clip(rng.normal(0, 0.35 * sigma, m), -0.05, 0.05)
        open_t = np.clip(np.round(pre_t * (1 + gap), dec), down_t, up_t)
        top, bottom = np.maximum(open_t, close_t), np.minimum(open_t, close_t)
        high_t = np.maximum(np.minimum(np.round(top * (1 + np.abs(rng.normal(0, 0.5 * sigma, m))), dec), up_t), top)
        low_t = np.minimum(np.maximum(np.round(bottom * (1 - np.abs(rng.normal(0, 0.5 * sigma, m))), dec),
                                      np.maximum(down_t, tick)), bottom)
        activity = np.exp(rng.normal(0, 0.35, m)) * (1 + 8 * np.abs(close_t / pre_t - 1))
        if inst.kind == "index":
            vol_t = np.round(info["vol"] * activity)
            vwap = np.full(m, info["avg_price"]) * (close_t / start) ** 0.3
        else:
            float_units = shares_t * 1e4 * info.get("float_frac", 1.0)
            vol_t = np.maximum(np.round(float_units * info["turn"] * activity / 100), 1.0)
            vwap = low_t + (high_t - low_t) * rng.uniform(0.3, 0.7, m)
        amount_t = np.round(vol_t * 100 * vwap / 1000, 3)

        def spread(values: np.ndarray) -> np.ndarray:
            full = np.full(n, np.nan)
            full[traded] = values
            return full

        adj_full = np.empty(n)
        if n:
            pos = np.maximum(np.cumsum(traded) - 1, 0)
            adj_full = adj_t[pos]
            shares_full = shares_t[pos]
        else:
            shares_full = np.empty(0)
        return _Path(i0, traded, spread(open_t), spread(high_t), spread(low_t), spread(close_t), spread(pre_t),
                     spread(vol_t), spread(amount_t), adj_full, shares_full)

    # -- helpers ---------------------------------------------------------------------------------------

    @staticmethod
    def _last_closed(now: dt.datetime, at: dt.time = CLOSE_TIME) -> dt.date:
        """The newest Beijing day whose ``at`` has passed at ``now`` (already in Beijing time)."""
        return now.date() if now.time() >= at else now.date() - dt.timedelta(days=1)

    def _days(self, params: Mapping[str, Any], last: dt.date) -> list[int]:
        first, end = date_range(params)
        end = min(end or LAST_DAY, last)
        days = self.cal.open_days(first, end) if (first is None or first <= end) else []
        lo = bisect.bisect_left(self.cal.sessions, days[0]) if days else 0
        return list(range(lo, lo + len(days)))

    def _universe(self, api: str) -> dict[str, _Inst]:
        if api in ("fund_daily", "fund_adj", "rt_etf_k"):
            return {c: i for c, i in self._funds.items() if i.kind == "etf"}
        if api in ("index_daily", "idx_mins", "rt_idx_k", "rt_idx_min"):
            return self._indices
        if api in ("stk_mins", "rt_min"):
            return {**self._stocks, **{c: i for c, i in self._funds.items() if i.kind == "etf"}}
        return self._stocks

    def _codes_for(self, api: str, params: Mapping[str, Any]) -> list[str]:
        pool = self._universe(api)
        wanted = codes(params)
        if wanted is None:
            return sorted(pool)
        out: list[str] = []
        for w in wanted:
            if any(ch in w for ch in "*?["):
                out += [c for c in sorted(pool) if fnmatch.fnmatchcase(c.upper(), w.upper())]
            elif w.upper() in pool or w in pool:
                out.append(w.upper() if w.upper() in pool else w)
        return list(dict.fromkeys(out))

    def _daily_selection(self, api: str, params: Mapping[str, Any], now: dt.datetime,
                         at: dt.time = CLOSE_TIME) -> list[tuple[int, str, _Path, int]]:
        """(session, code, path, offset) for each traded (code, day), newest first then by code."""
        if api == "index_daily":
            if text(params, "ts_code") is None:
                raise BadParams("参数校验失败, 必填参数ts_code不能为空")
        elif text(params, "ts_code") is None and not any(text(params, p) for p in ("trade_date", "start_date")):
            raise BadParams("参数校验失败, ts_code,trade_date至少输入一个参数")
        days = self._days(params, self._last_closed(now, at))
        out = []
        if not days:
            return out
        for code in self._codes_for(api, params):
            path = self._path(code)
            lo, hi = max(days[0], path.i0), min(days[-1], path.i0 + len(path.traded) - 1)
            for k in range(hi, lo - 1, -1):
                if path.traded[k - path.i0]:
                    out.append((k, code, path, k - path.i0))
        out.sort(key=lambda t: (-t[0], t[1]))
        return out

    def _fmt(self, k: int) -> str:
        return fmt_day(self.cal.sessions[k])

    # -- calendar and lists ------------------------------------------------------------------------

    def _trade_cal(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        exchange = (text(params, "exchange") or "SSE").upper()
        if exchange not in EXCHANGES:
            return []
        first, last = date_range(params, single="cal_date")
        first, last = max(first or FIRST_DAY, FIRST_DAY), min(last or LAST_DAY, LAST_DAY)
        want = text(params, "is_open")
        out = []
        d = last
        while d >= first:
            is_open = "1" if self.cal.is_open(d) else "0"
            if want is None or want == is_open:
                prev = self.cal.previous_open(d)
                out.append({"exchange": exchange, "cal_date": fmt_day(d), "is_open": is_open,
                            "pretrade_date": fmt_day(prev) if prev else None})
            d -= dt.timedelta(days=1)
        return out

    def _stock_basic(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        today = now.date()
        wanted = set(codes(params) or [])
        status = text(params, "list_status") or "L"
        name, market, exchange, is_hs = (text(params, p) for p in ("name", "market", "exchange", "is_hs"))
        out = []
        for code, s in self._stocks.items():
            if s.list_date > today or (wanted and code not in wanted):
                continue
            info = s.info or {}
            st = "D" if s.delist_date and s.delist_date <= today else ("P" if s.pause_date and s.pause_date <= today else "L")
            if st != status or (name and name not in s.name) or (market and market != info["market"]):
                continue
            if (exchange and exchange.upper() != info["exchange"]) or (is_hs and is_hs != info["is_hs"]):
                continue
            out.append({
                "ts_code": code, "symbol": code[:6], "name": s.name, "area": info["area"], "industry": info["industry"],
                "fullname": f"{info['area']}{s.name.removeprefix('*ST')}股份有限公司",
                "enname": f"{info['cnspell'].upper()} Co., Ltd.", "cnspell": ("*st" if s.pause_date and st == "P" else "") + info["cnspell"],
                "market": info["market"], "exchange": info["exchange"], "curr_type": "CNY", "list_status": st,
                "list_date": fmt_day(s.list_date), "delist_date": fmt_day(s.delist_date) if st == "D" and s.delist_date else None,
                "is_hs": info["is_hs"], "act_name": info["act_name"], "act_ent_type": info["act_ent_type"],
            })
        return out

    def _fund_basic(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        today = now.date()
        wanted = set(codes(params) or [])
        market = (text(params, "market") or ("" if wanted else "E")).upper()
        status = text(params, "status")
        out = []
        for code, f in self._funds.items():
            info = f.info or {}
            issue = f.list_date - dt.timedelta(days=40)
            if issue > today or (wanted and code not in wanted) or (market and info["market"] != market):
                continue
            st = "D" if f.delist_date and f.delist_date <= today else ("L" if f.list_date <= today else "I")
            if status and status != st:
                continue
            etf = f.kind == "etf"
            idx = info["index"]
            found = f.list_date - dt.timedelta(days=14)
            out.append({
                "ts_code": code, "name": f.name, "management": info["company"], "custodian": info["custodian"],
                "fund_type": "股票型" if etf else "混合型", "found_date": fmt_day(found), "due_date": None,
                "list_date": fmt_day(f.list_date) if etf else None, "issue_date": fmt_day(issue),
                "delist_date": fmt_day(f.delist_date) if st == "D" and f.delist_date else None,
                "issue_amount": float(round((info.get("units") or 50000.0) / 1e4, 4)), "m_fee": 0.5 if etf else 1.2,
                "c_fee": 0.1 if etf else 0.2, "duration_year": None, "p_value": 1.0, "min_amount": 0.1 if etf else 0.001,
                "exp_return": None, "benchmark": f"{idx[1]}指数收益率" if etf else "沪深300指数收益率*60%+中债总指数收益率*40%",
                "status": st, "invest_type": "被动指数型" if etf else "混合型", "type": "契约型开放式", "trustee": None,
                "purc_startdate": fmt_day(f.list_date), "redm_startdate": fmt_day(f.list_date), "market": info["market"],
            })
        return out

    def _index_basic(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        wanted = set(codes(params) or [])
        name, market, publisher, category = (text(params, p) for p in ("name", "market", "publisher", "category"))
        out = []
        for code, x in self._indices.items():
            info = x.info or {}
            pub = "深圳证券信息有限公司" if info["market"] == "SZSE" else "中证指数有限公司"
            if x.list_date > now.date() or (wanted and code not in wanted) or (name and name not in x.name):
                continue
            if (market and market.upper() != info["market"]) or (publisher and publisher not in pub) or \
                    (category and category != info["category"]):
                continue
            out.append({
                "ts_code": code, "name": x.name, "fullname": f"{x.name}指数", "market": info["market"], "publisher": pub,
                "index_type": None, "category": info["category"], "base_date": info["base_date"],
                "base_point": info["base_point"], "list_date": fmt_day(x.list_date), "weight_rule": "自由流通市值加权",
                "desc": f"{x.name}由{pub}编制发布。", "exp_date": None,
            })
        return out

    # -- daily APIs ----------------------------------------------------------------------------------

    def _bars(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        out = []
        dec = 3 if api == "fund_daily" else 2
        ah_from = self.cal.index(self.cal.open_days(dt.date(2026, 7, 6))[0])
        names = APIS[api].field_names
        for k, code, p, j in self._daily_selection(api, params, now):
            o, h, lo, c, pre = (float(a[j]) for a in (p.open, p.high, p.low, p.close, p.pre))
            change = _round(c - pre, dec)
            row = {"ts_code": code, "trade_date": self._fmt(k), "open": o, "high": h, "low": lo, "close": c,
                   "pre_close": pre, "change": change, "pct_chg": _round((c - pre) / pre * 100, 4),
                   "vol": float(p.vol[j]), "amount": float(p.amount[j])}
            if api == "daily":
                late = k >= ah_from and code.startswith(("300", "301", "688"))
                row["ah_vol"] = float(round(p.vol[j] * 0.002)) if late else None
                row["ah_amount"] = _round(round(p.vol[j] * 0.002) * 100 * c / 1000, 3) if late else None
            out.append({name: row[name] for name in names})
        return out

    def _adj(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        return [{"ts_code": code, "trade_date": self._fmt(k), "adj_factor": float(p.adj[j])}
                for k, code, p, j in self._daily_selection(api, params, now)]

    def _daily_basic(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        out = []
        for k, code, p, j in self._daily_selection(api, params, now):
            info = self._stocks[code].info or {}
            c, total = float(p.close[j]), float(p.shares[j])
            fl = total * info["float_frac"]
            free = fl * info["free_frac"]
            mv = c * total
            prev = p.vol[max(0, j - 12):j]
            prev = prev[~np.isnan(prev)][-5:]
            years = (self.cal.sessions[k] - dt.date(2005, 1, 1)).days / 365.25
            book = info["book"] * info["shares"] * info["price"] * (1 + 0.05 * years)
            profit = book * info["profit"] * (1 + 0.3 * math.sin(years * 1.3 + info["growth"] * 10))
            profit_ttm = book * info["profit"] * (1 + 0.3 * math.sin((years - 0.2) * 1.3 + info["growth"] * 10))
            sales = book * info["sales"]
            up, down = _limits(p.pre[j], _limit_pct(code), 2)
            out.append({
                "ts_code": code, "trade_date": self._fmt(k), "close": c,
                "turnover_rate": _round(p.vol[j] * 100 / (fl * 1e4) * 100, 4),
                "turnover_rate_f": _round(p.vol[j] * 100 / (free * 1e4) * 100, 4),
                "volume_ratio": _round(p.vol[j] / prev.mean(), 2) if len(prev) else None,
                "pe": _round(mv / profit, 4) if profit > 0 else None,
                "pe_ttm": _round(mv / profit_ttm, 4) if profit_ttm > 0 else None,
                "pb": _round(mv / book, 4), "ps": _round(mv / sales, 4), "ps_ttm": _round(mv / sales * 0.97, 4),
                "dv_ratio": _round(info["dv"] * 100, 4) if info["dv"] > 0.005 else None,
                "dv_ttm": _round(info["dv"] * 100 * 1.02, 4) if info["dv"] > 0.005 else None,
                "total_share": _round(total, 4), "float_share": _round(fl, 4), "free_share": _round(free, 4),
                "total_mv": _round(mv, 4), "circ_mv": _round(c * fl, 4),
                "limit_status": 1 if c >= up else (-1 if c <= down else 0),
            })
        return out

    def _premarket(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        out = []
        for k, code, p, j in self._daily_selection(api, params, now, PREMARKET_TIME):
            info = self._stocks[code].info or {}
            pre, total = float(p.pre[j]), float(p.shares[j])
            up, down = _limits(p.pre[j], _limit_pct(code), 2)
            out.append({"trade_date": self._fmt(k), "ts_code": code, "total_share": _round(total, 4),
                        "float_share": _round(total * info["float_frac"], 4), "pre_close": pre,
                        "up_limit": float(up), "down_limit": float(down)})
        return out

    def _suspend_d(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        """``S`` on each listed day without a bar, ``R`` on the first traded day after such a run.

        Over a stock's listing, every open day has exactly one of a ``daily`` row or an ``S`` row.
        """
        if text(params, "ts_code") is None and not any(text(params, p) for p in ("trade_date", "start_date")):
            raise BadParams("参数校验失败, ts_code,trade_date至少输入一个参数")
        wanted = (text(params, "suspend_type") or "").upper() or None
        if wanted not in (None, "S", "R"):
            raise BadParams(f"参数校验失败, suspend_type参数错误: {text(params, 'suspend_type')} (可选 S, R)")
        days = self._days(params, self._last_closed(now))
        if not days:
            return []
        out: list[tuple[int, str, str]] = []
        for code in self._codes_for(api, params):
            path = self._path(code)
            lo, hi = max(days[0], path.i0), min(days[-1], path.i0 + len(path.traded) - 1)
            for k in range(lo, hi + 1):
                j = k - path.i0
                kind = "S" if not path.traded[j] else ("R" if j > 0 and not path.traded[j - 1] else None)
                if kind is not None and wanted in (None, kind):
                    out.append((k, code, kind))
        out.sort(key=lambda t: (-t[0], t[1]))
        return [{"ts_code": code, "trade_date": self._fmt(k), "suspend_timing": None, "suspend_type": kind}
                for k, code, kind in out]

    def _index_weight(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        index_code = text(params, "index_code")
        if index_code is None:
            raise BadParams("参数校验失败, 必填参数index_code不能为空")
        inst = self._indices.get(index_code)
        if inst is None:
            return []
        days = self._days(params, self._last_closed(now))
        sessions = self.cal.sessions
        month_ends = [k for k in days if k + 1 >= len(sessions) or sessions[k + 1].month != sessions[k].month]
        info = inst.info or {}
        score_rng = _rng(self.seed, f"weights:{index_code}")
        pool = sorted(c for c in self._stocks if c.startswith(info["eligible"]))
        score = dict(zip(pool, score_rng.uniform(0, 1, len(pool))))
        out = []
        for k in sorted(month_ends, reverse=True):
            day = sessions[k]
            live = [c for c in pool if self._stocks[c].list_date <= day and not
                    (self._stocks[c].delist_date and self._stocks[c].delist_date <= day) and not
                    (self._stocks[c].pause_date and self._stocks[c].pause_date <= day)]
            members = sorted(sorted(live, key=lambda c: -score[c])[:50])
            if not members:
                continue
            rng = _rng(self.seed, f"weights:{index_code}:{fmt_day(day)}")
            raw = np.array([score[c] ** 3 for c in members]) * rng.uniform(0.9, 1.1, len(members)) + 0.01
            w = np.round(raw / raw.sum() * 100, 4)
            w[int(np.argmax(w))] += round(100 - float(w.sum()), 4)
            out += [{"index_code": index_code, "con_code": c, "trade_date": fmt_day(day), "weight": _round(float(x), 4)}
                    for c, x in zip(members, w)]
        return out

    # -- minutes -------------------------------------------------------------------------------------

    def _minutes(self, code: str, k: int) -> dict[str, np.ndarray] | None:
        """The 240 one-minute bars of ``code`` on session ``k`` (None when not traded)."""
        key = (code, k)
        cached = self._minute_cache.get(key)  # one lookup: another thread may clear the cache meanwhile
        if cached is not None:
            return cached
        path, inst = self._path(code), self._all[code]
        j = path.at(k)
        if j is None:
            return None
        o, h, lo, c = (float(a[j]) for a in (path.open, path.high, path.low, path.close))
        dec = inst.dec
        rng = _rng(self.seed, f"{code}:{fmt_day(self.cal.sessions[k])}")
        t = np.arange(241) / 240
        walk = np.concatenate([[0.0], np.cumsum(rng.standard_normal(240))])
        bridge = walk - t * walk[-1]
        width = bridge.max() - bridge.min()
        x = o + (c - o) * t + bridge * ((h - lo) / width if width > 0 else 0.0)
        x = np.clip(np.round(x, dec), lo, h)
        x[0], x[-1] = o, c
        op, cl = x[:-1], x[1:]
        top, bottom = np.maximum(op, cl), np.minimum(op, cl)
        hi = np.maximum(np.minimum(np.round(top + np.abs(rng.normal(0, 0.04 * (h - lo), 240)), dec), h), top)
        low = np.minimum(np.maximum(np.round(bottom - np.abs(rng.normal(0, 0.04 * (h - lo), 240)), dec), lo), bottom)
        hi[int(np.argmax(top))] = h
        low[int(np.argmin(bottom))] = lo
        shape = np.tile(1 + 2.5 * np.linspace(-1, 1, 120) ** 2, 2) * np.exp(rng.normal(0, 0.4, 240))
        total = int(round(float(path.vol[j]) * 100))
        vol = rng.multinomial(total, shape / shape.sum())
        if inst.kind == "index":
            amount = np.round(float(path.amount[j]) * 1000 * vol / max(total, 1), 2)
        else:
            amount = np.round(vol * (op + cl + hi + low) / 4, 2)
        bars = {"open": op, "close": cl, "high": hi, "low": low, "vol": vol, "amount": amount}
        if len(self._minute_cache) > 2000:
            self._minute_cache.clear()
        self._minute_cache[key] = bars
        return bars

    @staticmethod
    def _aggregate(bars: dict[str, np.ndarray], step: int, upto: int = 240) -> list[tuple[int, tuple]]:
        """Bars of ``step`` minutes completed within the first ``upto`` one-minute bars: (last index, values)."""
        out = []
        for end in range(step - 1, upto, step):
            s = slice(end - step + 1, end + 1)
            out.append((end, (float(bars["open"][s.start]), float(bars["close"][end]), float(bars["high"][s].max()),
                              float(bars["low"][s].min()), int(bars["vol"][s].sum()),
                              round(float(bars["amount"][s].sum()), 2))))
        return out

    def _freq(self, params: Mapping[str, Any], upper: bool) -> int:
        freq = text(params, "freq")
        if freq is None:
            raise BadParams("参数校验失败, 必填参数freq不能为空")
        key = freq.lower()
        if key not in FREQS or (upper and freq != freq.upper()) or (not upper and freq != key):
            raise BadParams(f"参数校验失败, freq参数错误: {freq}")
        return FREQS[key]

    def _mins(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        if text(params, "ts_code") is None:
            raise BadParams("参数校验失败, 必填参数ts_code不能为空")
        step = history_freq(params)
        start, end = minute_window(params)
        last = self._last_closed(now)
        first_day = start.date() if start else last - dt.timedelta(days=10)
        last_day = min(end.date(), last) if end else last
        days = [self.cal.index(d) for d in self.cal.open_days(first_day, last_day)]
        if len(days) > MAX_MINUTE_DAYS:  # refuse, rather than answer part of the range as if it were whole
            raise BadParams(f"参数校验失败, 分钟数据单次最多查询{MAX_MINUTE_DAYS}个交易日, 请缩小start_date/end_date范围")
        out = []
        for code in self._codes_for(api, params):
            for k in reversed(days):
                bars = self._minutes(code, k)
                if bars is None:
                    continue
                day = self.cal.sessions[k]
                for i, (o, c, h, lo, v, a) in reversed(self._aggregate(bars, step)):
                    stamp = dt.datetime.combine(day, MINUTES[i])
                    if (start and stamp < start) or (end and stamp > end):
                        continue
                    out.append({"ts_code": code, "trade_time": fmt_moment(stamp), "open": o, "close": c,
                                "high": h, "low": lo, "vol": v, "amount": a})
        return out

    def _session(self, now: dt.datetime) -> tuple[int, int] | None:
        """(session index, completed one-minute bars) of the session current at ``now`` (Beijing)."""
        day = self.cal.latest_open_on_or_before(now.date())
        if day == now.date() and now.time() < dt.time(9, 30):
            day = self.cal.previous_open(day)
        if day is None:
            return None
        if day < now.date():
            return self.cal.index(day), 240
        clock = now.time().replace(second=0, microsecond=0)
        return self.cal.index(day), bisect.bisect_right(MINUTES, clock)

    def _rt_k(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        if text(params, "ts_code") is None:
            raise BadParams("参数校验失败, 必填参数ts_code不能为空")
        if api == "rt_etf_k" and text(params, "topic") is None:
            raise BadParams("参数校验失败, 必填参数topic不能为空")
        session = self._session(now)
        if session is None:
            return []
        k, done = session
        day = self.cal.sessions[k]
        out = []
        for code in self._codes_for(api, params):
            bars = self._minutes(code, k)
            if bars is None:
                continue
            path, inst = self._path(code), self._all[code]
            j = k - path.i0
            o = float(bars["open"][0])
            if done:
                c, h, lo = float(bars["close"][done - 1]), float(bars["high"][:done].max()), float(bars["low"][:done].min())
                vol, amount = int(bars["vol"][:done].sum()), float(bars["amount"][:done].sum())
                stamp = dt.datetime.combine(day, MINUTES[done - 1])
            else:
                c, h, lo, vol, amount = o, o, o, 0, 0.0
                stamp = dt.datetime.combine(day, dt.time(9, 30))
            row = {"ts_code": code, "name": inst.name, "trade_time": fmt_moment(stamp), "close": c,
                   "pre_close": float(path.pre[j]), "high": h, "open": o, "low": lo}
            if api == "rt_idx_k":
                row.update(vol=float(vol), amount=round(amount, 2))
            else:
                row.update(vol=vol, amount=int(round(amount)), num=int(vol // 2300) + (1 if vol else 0),
                           ask_volume1=int(100 * (1 + vol % 997)), bid_volume1=int(100 * (1 + vol % 883)))
            out.append({name: row[name] for name in APIS[api].field_names})
        return out

    def _rt_min(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        if text(params, "ts_code") is None:
            raise BadParams("参数校验失败, 必填参数ts_code不能为空")
        step = self._freq(params, upper=True)
        session = self._session(now)
        if session is None:
            return []
        k, done = session
        day = self.cal.sessions[k]
        out = []
        for code in self._codes_for(api, params):
            bars = self._minutes(code, k)
            if bars is None:
                continue
            for i, (o, c, h, lo, v, a) in reversed(self._aggregate(bars, step, done)):
                out.append({"ts_code": code, "time": fmt_moment(dt.datetime.combine(day, MINUTES[i])), "open": o,
                            "close": c, "high": h, "low": lo, "vol": float(v), "amount": a})
        out.sort(key=lambda r: r["time"], reverse=True)
        return out
