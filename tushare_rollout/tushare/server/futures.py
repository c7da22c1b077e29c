"""Futures and Shanghai Gold Exchange data for the local Tushare server, generated deterministically.

:class:`FuturesMarket` answers ``fut_basic``, ``fut_daily``, ``ft_mins``, ``fut_wsr``, ``fut_holding``,
``sge_basic`` and ``sge_daily``. Eighteen products on the six futures exchanges follow one price path
each (anchored log-levels plus seeded AR(1) noise); every contract is that path times a small basis
(carry by time to delivery plus its own drift). Contract bars are stored as integer ticks, so the
envelope and the identities hold exactly: ``change1 = close - pre_settle``, ``change2 = settle -
pre_settle``, ``oi_chg = oi - previous oi``, ``settle`` (the VWAP) inside ``[low, high]`` and ``amount``
(万元) = ``vol * multiplier * settle / 10000``. Minute bars are drawn per contract day from the daily bar
(Brownian bridge from open to close squeezed into the day's range, a multinomial split of the volume),
so they aggregate back to it exactly, night session included.

Conventions: the main code ``CU.SHF`` repeats, each day, the bar of the most traded live contract, but
it only rolls forward (to a later contract trading 10% more than the current main, or when the main
expires), as Tushare's main mapping does; the continuous code ``CUL.SHF`` repeats the nearest live
contract. Both keep the contract's own ``pre_settle``/``oi_chg``. CZCE symbols use three
digits (``SR405``) from delivery year 2018 on; older CZCE contracts keep four (``SR1705``) so codes stay
unique. A trading day's daily data (fut_daily, fut_wsr, fut_holding, sge_daily) is published at 17:00
Beijing; a minute bar exists once its end time has passed. All seeds are ``zlib.crc32(f"{seed}:{key}")``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zlib
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.calendar import TradingCalendar
from tushare_rollout.tushare.server.params import BadParams, codes, date_range, fmt_day, history_freq, minute_window, text

BEIJING = dt.timezone(dt.timedelta(hours=8))
DELIVERY_YEARS = range(2010, 2028)
START = dt.date(2009, 1, 1)  # first session generated (contracts delivering in 2010 trade from 2009)
PUBLISH = dt.time(17, 0)
SUFFIX = {"SHFE": "SHF", "DCE": "DCE", "CZCE": "ZCE", "CFFEX": "CFX", "INE": "INE", "GFEX": "GFE"}
NIGHT_EXCHANGES = {"SHFE", "INE", "DCE", "CZCE"}
ALL_MONTHS = tuple(range(1, 13))
ODD = (1, 3, 5, 7, 9, 11)


@dataclass(frozen=True)
class Product:
    code: str
    exchange: str
    name: str
    mult: float
    unit: str
    tick: float
    months: tuple[int, ...]
    lead: int  # months listed ahead of delivery
    start: dt.date
    anchors: tuple[tuple[float, float], ...]  # (year, price level)
    sigma: float  # daily log volatility
    base_vol: float
    base_oi: float
    peak: float  # months to delivery where activity peaks
    main_months: tuple[int, ...] = ()
    carry: float = 0.03  # annual basis per year to delivery
    path: str = ""  # share a price path with another product / SGE

    @property
    def night(self) -> bool:
        return self.exchange in NIGHT_EXCHANGES

    @property
    def dp(self) -> int:
        return len(f"{self.tick:g}".partition(".")[2])


D = dt.date
PRODUCTS: tuple[Product, ...] = (
    Product("CU", "SHFE", "沪铜", 5, "吨", 10, ALL_MONTHS, 12, D(2009, 1, 1), ((2010, 60000), (2012, 56000), (2015.9, 36000), (2018, 52000), (2020.2, 38000), (2021.4, 72000), (2023, 66000), (2024.4, 82000), (2026, 80000)), .013, 180000, 400000, 1.5),
    Product("AL", "SHFE", "沪铝", 5, "吨", 5, ALL_MONTHS, 12, D(2009, 1, 1), ((2010, 16000), (2015.9, 10500), (2017.7, 16000), (2020.3, 11500), (2021.8, 23000), (2023, 18500), (2026, 20500)), .011, 150000, 500000, 1.5),
    Product("ZN", "SHFE", "沪锌", 5, "吨", 5, ALL_MONTHS, 12, D(2009, 1, 1), ((2010, 18000), (2016, 13000), (2018, 26000), (2020.3, 15000), (2022.3, 28000), (2024, 21000), (2026, 23000)), .013, 160000, 250000, 1.5),
    Product("AU", "SHFE", "沪金", 1000, "克", 0.02, ALL_MONTHS, 12, D(2009, 1, 1), ((2010, 270), (2011.7, 380), (2015.9, 220), (2019, 300), (2020.6, 440), (2023, 420), (2024.8, 620), (2025.9, 950), (2026.9, 1000)), .009, 150000, 300000, 4, (6, 12), .02, "gold"),
    Product("AG", "SHFE", "沪银", 15, "千克", 1, ALL_MONTHS, 12, D(2012, 5, 10), ((2010, 4500), (2011.3, 9000), (2015.9, 3300), (2020.2, 3400), (2020.6, 6000), (2023, 5200), (2024.8, 8000), (2026, 12000)), .015, 600000, 700000, 4, (6, 12), .02, "silver"),
    Product("RB", "SHFE", "螺纹钢", 10, "吨", 1, ALL_MONTHS, 12, D(2009, 3, 27), ((2010, 4300), (2015.9, 1700), (2017.9, 4200), (2020.3, 3400), (2021.4, 5800), (2023, 4000), (2026, 3200)), .013, 1500000, 2000000, 4, (1, 5, 10), -.02),
    Product("M", "DCE", "豆粕", 10, "吨", 1, (1, 3, 5, 7, 8, 9, 11, 12), 12, D(2009, 1, 1), ((2010, 2900), (2012.7, 4200), (2016, 2300), (2022.5, 4300), (2024, 3300), (2026, 2800)), .011, 1200000, 2500000, 4, (1, 5, 9), -.01),
    Product("Y", "DCE", "豆油", 10, "吨", 2, (1, 3, 5, 7, 8, 9, 11, 12), 12, D(2009, 1, 1), ((2010, 7500), (2012, 9500), (2016, 5500), (2022.3, 12000), (2024, 7600), (2026, 8000)), .012, 500000, 700000, 4, (1, 5, 9)),
    Product("I", "DCE", "铁矿石", 100, "吨", 0.5, ALL_MONTHS, 12, D(2013, 10, 18), ((2010, 900), (2014, 900), (2015.9, 300), (2019, 650), (2021.4, 1300), (2022.8, 600), (2024, 900), (2026, 780)), .02, 600000, 900000, 4, (1, 5, 9), -.06),
    Product("C", "DCE", "玉米", 10, "吨", 1, ODD, 12, D(2009, 1, 1), ((2010, 1800), (2014, 2400), (2016.8, 1400), (2021, 2900), (2024, 2300), (2026, 2200)), .008, 500000, 1200000, 4, (1, 5, 9)),
    Product("SR", "CZCE", "白糖", 10, "吨", 1, ODD, 12, D(2009, 1, 1), ((2010, 5000), (2011, 7000), (2015, 4500), (2020, 5000), (2023.7, 7000), (2026, 5600)), .011, 400000, 600000, 4, (1, 5, 9)),
    Product("CF", "CZCE", "棉花", 5, "吨", 5, ODD, 12, D(2009, 1, 1), ((2010, 16000), (2011.2, 30000), (2015.9, 11500), (2021.8, 22000), (2023, 14500), (2026, 13800)), .012, 400000, 600000, 4, (1, 5, 9)),
    Product("TA", "CZCE", "PTA", 5, "吨", 2, ALL_MONTHS, 12, D(2009, 1, 1), ((2010, 8000), (2011.3, 11000), (2015.9, 4000), (2019, 6500), (2020.3, 3400), (2022.5, 7000), (2026, 4900)), .014, 1000000, 1500000, 4, (1, 5, 9)),
    Product("MA", "CZCE", "甲醇", 10, "吨", 1, ALL_MONTHS, 12, D(2014, 6, 17), ((2010, 2600), (2014.5, 2600), (2015.9, 1600), (2018.8, 3400), (2020.3, 1700), (2021.8, 3600), (2024, 2500), (2026, 2400)), .015, 1000000, 1000000, 4, (1, 5, 9)),
    Product("IF", "CFFEX", "沪深300", 300, "点", 0.2, ALL_MONTHS, 3, D(2010, 4, 16), ((2010, 3300), (2012.9, 2100), (2015.4, 5300), (2016.1, 3000), (2021.1, 5700), (2024.1, 3200), (2025, 3900), (2026, 4600)), .014, 100000, 200000, 0.4, (), -.05),
    Product("IC", "CFFEX", "中证500", 200, "点", 0.2, ALL_MONTHS, 3, D(2015, 4, 16), ((2010, 5000), (2015.4, 9000), (2016.1, 5600), (2018.9, 4200), (2021.8, 7300), (2024.1, 4600), (2026, 7000)), .017, 80000, 200000, 0.4, (), -.08),
    Product("T", "CFFEX", "10年期国债", 10000, "百元", 0.005, (3, 6, 9, 12), 9, D(2015, 3, 20), ((2010, 96), (2015.2, 96), (2016.8, 101.5), (2017.9, 92), (2020.3, 101), (2021, 97), (2024, 104), (2026, 108)), .0025, 80000, 200000, 1.5, (), -.005),
    Product("SC", "INE", "原油", 1000, "桶", 0.1, ALL_MONTHS, 12, D(2018, 3, 26), ((2010, 430), (2018.2, 430), (2018.8, 580), (2020.3, 230), (2022.4, 750), (2023, 550), (2026, 500)), .02, 200000, 60000, 1.5, (), -.04),
    Product("SI", "GFEX", "工业硅", 5, "吨", 5, ALL_MONTHS, 12, D(2022, 12, 22), ((2010, 17500), (2023, 17500), (2023.5, 13000), (2024, 14500), (2025.5, 8000), (2026, 9500)), .015, 200000, 300000, 4, (1, 5, 9)),
)
BY_CODE = {p.code: p for p in PRODUCTS}

WAREHOUSES = (
    "上海国储天威仓储有限公司", "中储发展股份有限公司上海分公司", "上海期晟储运管理有限公司", "上海裕强储运有限公司",
    "中国外运华东有限公司", "宁波港九龙仓储有限公司", "江苏百金汇物流有限公司", "广东炬申仓储有限公司",
    "天津港保税区储运有限公司", "浙江物产物流投资有限公司", "中远海运物流仓储配送有限公司", "厦门象屿速传供应链有限公司",
    "无锡国联物流有限公司", "山东鲁粮集团仓储有限公司", "大连北良有限公司", "中粮贸易辽宁有限公司",
    "广西糖网食糖批发市场有限责任公司", "新疆银棉物流有限公司", "河南中原棉麻储运有限公司", "青岛港董家口仓储有限公司",
)
AREAS = ("上海", "江苏", "浙江", "广东", "天津", "山东", "辽宁", "广西", "新疆", "河南")
BROKERS = (
    "中信期货", "国泰君安", "永安期货", "海通期货", "银河期货", "华泰期货", "东证期货", "广发期货", "申银万国", "方正中期",
    "中粮期货", "光大期货", "国投安信", "南华期货", "五矿期货", "宏源期货", "鲁证期货", "招商期货", "浙商期货", "建信期货",
    "格林大华", "一德期货", "兴证期货", "中金财富", "平安期货", "中财期货",
)


# path: 'gold' and 'platinum' in 元/克, 'silver' in 元/千克; base_vol in kg; t_unit in grams per lot
SgeSpec = namedtuple("SgeSpec", "code name path scale tick base_vol tplusd t_unit list_date")
SGE = (
    SgeSpec("Au99.99", "黄金99.99", "gold", 0.998, 0.01, 15000, False, 1000, "20021030"),
    SgeSpec("Au99.95", "黄金99.95", "gold", 0.996, 0.01, 300, False, 1000, "20021030"),
    SgeSpec("Au100g", "100克金条", "gold", 1.001, 0.01, 60, False, 100, "20061030"),
    SgeSpec("Au(T+D)", "黄金延期", "gold", 0.999, 0.01, 40000, True, 1000, "20041029"),
    SgeSpec("mAu(T+D)", "迷你黄金延期", "gold", 0.999, 0.01, 6000, True, 100, "20081016"),
    SgeSpec("Ag99.99", "白银99.99", "silver", 0.995, 1, 5000, False, 15000, "20060619"),
    SgeSpec("Ag(T+D)", "白银延期", "silver", 0.998, 1, 3000000, True, 1000, "20061030"),
    SgeSpec("Pt99.95", "铂金99.95", "platinum", 1.0, 0.01, 150, False, 1000, "20021030"),
)
PLATINUM = ((2010, 350), (2011.5, 400), (2015.9, 190), (2020.3, 170), (2021.2, 260), (2024, 220), (2026, 330))


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{seed}:{key}".encode()))


# A contract: session index range ``lo..hi`` (inclusive) and its position ``seq`` in the product's list.
Contract = namedtuple("Contract", "product year month symbol ts_code list_date delist_date last_ddate lo hi seq")
Bars = namedtuple("Bars", "o h l c s ps pc vol oi poi")  # one contract's daily bars, prices in ticks


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    e = rng.normal(0, sd, n)
    out = np.empty(n)
    x = 0.0
    for i in range(n):
        x = phi * x + e[i]
        out[i] = x
    return out


def _ohlc(rng: np.random.Generator, close: np.ndarray, tick: float, sig: float) -> tuple[np.ndarray, ...]:
    """Daily open/high/low/close and a VWAP-like average, in ticks, around a close path; the envelope
    holds after rounding. Also the tick price of the day before the first (a benchmark)."""
    n = len(close)
    prev = np.concatenate([[close[0] * np.exp(rng.normal(0, sig))], close[:-1]])
    open_ = prev * np.exp(rng.normal(0, 0.3 * sig, n))
    o, c = np.rint(open_ / tick).astype(np.int64), np.rint(close / tick).astype(np.int64)
    hi_f = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.5 * sig, n)))
    lo_f = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.5 * sig, n)))
    h = np.maximum(np.ceil(hi_f / tick - 1e-9).astype(np.int64), np.maximum(o, c))
    lw = np.minimum(np.floor(lo_f / tick + 1e-9).astype(np.int64), np.minimum(o, c))
    avg = np.clip(np.rint(0.5 * c + 0.25 * (h + lw) + rng.normal(0, 0.1, n) * (h - lw)).astype(np.int64), lw, h)
    return o, h, lw, c, avg, int(np.rint(prev[0] / tick))


class FuturesMarket:
    """Deterministic futures and SGE data; ``rows(api, params, now)`` answers one call."""

    APIS: frozenset[str] = frozenset({"fut_basic", "fut_daily", "ft_mins", "fut_wsr", "fut_holding", "sge_basic", "sge_daily"})

    def __init__(self, seed: int = 20240101) -> None:
        self.seed = seed
        self.cal = TradingCalendar.shanghai()
        self.days: list[dt.date] = self.cal.open_days(START)
        self.day_str = [fmt_day(d) for d in self.days]
        self._years = np.array([d.year + (d.timetuple().tm_yday - 1) / 365.25 for d in self.days])
        self._bars: dict[str, Bars] = {}
        self._paths: dict[str, np.ndarray] = {}
        self._tops: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._wsr: dict[str, tuple] = {}
        self._sge: dict[str, dict[str, np.ndarray]] = {}

    # -- entry point -------------------------------------------------------------------------------
    def rows(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        if api not in self.APIS:
            raise KeyError(f"{api} is not a futures or SGE API")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        now_bj = now.astimezone(BEIJING).replace(tzinfo=None)
        return getattr(self, "_" + api)(params, now_bj)

    # -- calendar helpers ----------------------------------------------------------------------------
    def _day_index(self, d: dt.date, after: bool = False) -> int:
        return bisect.bisect_right(self.days, d) if after else bisect.bisect_left(self.days, d)

    def _published(self, now_bj: dt.datetime) -> int:
        """Index of the last session whose daily data exists at ``now_bj`` (-1 if none)."""
        cutoff = now_bj.date() if now_bj.time() >= PUBLISH else now_bj.date() - dt.timedelta(days=1)
        return bisect.bisect_right(self.days, cutoff) - 1

    def _window(self, params: Mapping[str, Any], now_bj: dt.datetime, default_latest: bool) -> tuple[int, int]:
        first, last = date_range(params)
        pub = self._published(now_bj)
        if first is None and last is None and default_latest:
            return pub, pub
        lo = self._day_index(first) if first else 0
        hi = min(pub, self._day_index(last, after=True) - 1 if last else pub)
        return lo, hi

    def _is_open(self, d: dt.date) -> bool:
        return self.cal.is_open(d) if d <= self.days[-1] else d.weekday() < 5  # weekdays beyond 2026

    def _step(self, d: dt.date, n: int) -> dt.date:
        """The first open day on or after ``d``, then ``n`` open days further."""
        while not self._is_open(d):
            d += dt.timedelta(days=1)
        for _ in range(n):
            d += dt.timedelta(days=1)
            while not self._is_open(d):
                d += dt.timedelta(days=1)
        return d

    def _delist(self, p: Product, y: int, m: int) -> dt.date:
        """Last trading day: the 15th (SHFE, INE, GFEX), the 10th session (DCE, CZCE), the third Friday
        (CFFEX; the second for bond futures), postponed past holidays."""
        if p.exchange == "CFFEX":
            first = dt.date(y, m, 1)
            return self._step(first + dt.timedelta(days=(4 - first.weekday()) % 7 + (7 if p.code == "T" else 14)), 0)
        if p.exchange in ("DCE", "CZCE"):
            return self._step(dt.date(y, m, 1), 9)
        return self._step(dt.date(y, m, 15), 0)

    # -- contracts -----------------------------------------------------------------------------------
    @cached_property
    def contracts(self) -> dict[str, list[Contract]]:
        out: dict[str, list[Contract]] = {}
        for p in PRODUCTS:
            lst: list[Contract] = []
            for y in DELIVERY_YEARS:
                for m in p.months:
                    delist = self._delist(p, y, m)
                    ly, lm = divmod(y * 12 + m - 1 - p.lead, 12)
                    list_day = max(dt.date(ly, lm + 1, 16), p.start)
                    if delist < p.start or list_day > self.days[-1]:
                        continue
                    lo = self._day_index(list_day)
                    hi = min(self._day_index(delist, after=True) - 1, len(self.days) - 1)
                    ldd = self._step(delist, 0 if p.code in ("IF", "IC") else 3)
                    digits = f"{y % 10}{m:02d}" if p.exchange == "CZCE" and y >= 2018 else f"{y % 100:02d}{m:02d}"
                    lst.append(Contract(p, y, m, p.code + digits, f"{p.code}{digits}.{SUFFIX[p.exchange]}",
                                        self.days[lo], delist, ldd, lo, hi, len(lst)))
            out[p.code] = lst
        return out

    @cached_property
    def by_code(self) -> dict[str, Contract]:
        return {c.ts_code: c for lst in self.contracts.values() for c in lst}

    def _path(self, name: str, anchors: tuple[tuple[float, float], ...], sigma: float) -> np.ndarray:
        if name not in self._paths:
            rng = _rng(self.seed, f"path:{name}")
            xs, ys = zip(*anchors)
            base = np.interp(self._years, xs, np.log(ys))
            self._paths[name] = base + _ar1(rng, len(self.days), 0.985, sigma * 0.8)
        return self._paths[name]

    def _product_path(self, p: Product) -> np.ndarray:
        return self._path(p.path or p.code, p.anchors, p.sigma)

    def _activity(self, p: Product) -> np.ndarray:
        key = f"act:{p.code}"
        if key not in self._paths:
            rng = _rng(self.seed, key)
            self._paths[key] = np.exp(_ar1(rng, len(self.days), 0.98, 0.05) + rng.normal(0, 0.25, len(self.days)))
        return self._paths[key]

    def bars(self, c: Contract) -> Bars:
        b = self._bars.get(c.ts_code)
        if b is not None:
            return b
        p = c.product
        rng = _rng(self.seed, f"bars:{c.ts_code}")
        n = c.hi - c.lo + 1
        idx = np.arange(c.lo, c.hi + 1)
        ordinal = np.array([d.toordinal() for d in self.days[c.lo:c.hi + 1]])
        months = (c.delist_date.toordinal() - ordinal) / 30.44
        basis = p.carry * months / 12 + np.cumsum(rng.normal(0, 0.0006, n)) + rng.normal(0, 0.002)
        close = np.exp(self._product_path(p)[idx] + basis)
        o, h, lw, cl, s, ps0 = _ohlc(rng, close, p.tick, p.sigma)
        ps = np.concatenate([[ps0], s[:-1]])
        pc = np.concatenate([[ps0], cl[:-1]])
        in_main = (not p.main_months) or c.month in p.main_months
        width = np.where(months < p.peak, 0.5, 0.6 if p.peak < 1 else 1.2)  # the near month fades fast
        prof = np.exp(-0.5 * ((months - p.peak) / width) ** 2) * (1.0 if in_main else 0.06) + 0.002
        delivering = months < 0.55
        prof = np.where(delivering, prof * 0.03, prof)
        act = self._activity(p)[idx]
        vol = np.maximum(2, np.rint(p.base_vol * 0.5 * prof * act * rng.lognormal(0, 0.08, n))).astype(np.int64)
        oi_prof = np.exp(-0.5 * ((months - p.peak - 0.2) / (width + 0.4)) ** 2) * (1.0 if in_main else 0.08) + 0.003
        oi_prof = np.where(delivering, oi_prof * 0.1, oi_prof)
        oi = np.maximum(vol // 3 + 1, np.rint(p.base_oi * 0.5 * oi_prof * np.exp(np.cumsum(rng.normal(0, 0.02, n))))).astype(np.int64)
        poi = np.concatenate([[0], oi[:-1]])
        b = Bars(*(a.astype(np.int32) for a in (o, h, lw, cl, s, ps, pc, vol, oi, poi)))
        self._bars[c.ts_code] = b
        return b

    def tops(self, p: Product) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per session, positions in the product's contract list (-1 = none): the 3 most traded live
        contracts, the nearest live one, and the main one (the most traded when the previous main has
        expired, else the previous main until a later contract trades 10% more: it only rolls forward)."""
        if p.code not in self._tops:
            n = len(self.days)
            top_v = np.full((n, 3), -1, dtype=np.int64)
            top_i = np.full((n, 3), -1, dtype=np.int64)
            near = np.full(n, -1, dtype=np.int64)
            for c in reversed(self.contracts[p.code]):
                b = self.bars(c)
                seg = slice(c.lo, c.hi + 1)
                near[seg] = c.seq
                cv = np.concatenate([top_v[seg], b.vol[:, None]], axis=1)
                ci = np.concatenate([top_i[seg], np.full((len(b.vol), 1), c.seq)], axis=1)
                order = np.argsort(-cv, axis=1, kind="stable")[:, :3]
                top_v[seg] = np.take_along_axis(cv, order, 1)
                top_i[seg] = np.take_along_axis(ci, order, 1)
            lst = self.contracts[p.code]
            main, his, los = top_i[:, 0].tolist(), [c.hi for c in lst], [c.lo for c in lst]
            vols, ti, tv = [self.bars(c).vol for c in lst], top_i.tolist(), top_v.tolist()
            for k in range(1, n):  # roll forward only, once a later contract trades 10% more than the main
                cur = main[k - 1]
                if cur < 0 or his[cur] < k:
                    continue
                bar = 1.1 * vols[cur][k - los[cur]]
                main[k] = next((i for i, v in zip(ti[k], tv[k]) if i > cur and v > bar), cur)
            main = np.array(main)
            self._tops[p.code] = (top_i, near, main)
        return self._tops[p.code]

    def _price(self, p: Product, ticks: int) -> float:
        return round(float(ticks) * p.tick, p.dp)

    def _daily_row(self, c: Contract, k: int, code: str | None = None) -> dict[str, Any]:
        b, p, j = self.bars(c), c.product, k - c.lo
        f = self._price
        deliv = self.days[k].year == c.year and self.days[k].month == c.month
        return {
            "ts_code": code or c.ts_code, "trade_date": self.day_str[k], "pre_close": f(p, b.pc[j]),
            "pre_settle": f(p, b.ps[j]), "open": f(p, b.o[j]), "high": f(p, b.h[j]), "low": f(p, b.l[j]),
            "close": f(p, b.c[j]), "settle": f(p, b.s[j]), "change1": f(p, b.c[j] - b.ps[j]),
            "change2": f(p, b.s[j] - b.ps[j]), "vol": float(b.vol[j]),
            "amount": round(float(b.vol[j]) * p.mult * float(b.s[j]) * p.tick / 10000, 4),
            "oi": float(b.oi[j]), "oi_chg": float(b.oi[j] - b.poi[j]),
            "delv_settle": f(p, b.s[j]) if deliv else None,
        }

    # -- APIs ----------------------------------------------------------------------------------------
    def _exchanges(self, params: Mapping[str, Any]) -> list[Product]:
        ex = text(params, "exchange")
        if ex is None:
            return list(PRODUCTS)
        wanted = {e.strip().upper() for e in ex.split(",")}
        return [p for p in PRODUCTS if p.exchange in wanted]

    def _fut_basic(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        if text(params, "exchange") is None:
            raise BadParams("参数校验失败, exchange为必填参数")
        fut_type, fut_code = text(params, "fut_type"), text(params, "fut_code")
        since = text(params, "list_date")
        today = fmt_day(now_bj.date())
        out = []
        for p in self._exchanges(params):
            if fut_code and p.code != fut_code.upper():
                continue
            sfx = SUFFIX[p.exchange]
            common = {
                "exchange": p.exchange, "fut_code": p.code, "multiplier": float(p.mult), "trade_unit": p.unit,
                "per_unit": float(p.mult), "quote_unit": f"元（人民币）/{p.unit}",
                "quote_unit_desc": f"{p.tick:g}元（人民币）/{p.unit}",
                "d_mode_desc": "现金交割" if p.code in ("IF", "IC") else "实物交割",
            }
            tt = "上午9:30-11:30,下午1:00-3:00" if p.exchange == "CFFEX" else "上午9:00-11:30,下午1:30-3:00"
            if p.night:
                tt += ",夜盘21:00-23:00"
            if fut_type != "2":
                for c in self.contracts[p.code]:
                    ld = fmt_day(c.list_date)
                    if ld > today or (since and ld < since):
                        continue
                    out.append({"ts_code": c.ts_code, "symbol": c.symbol, **common,
                                "name": f"{p.name}{c.year % 100:02d}{c.month:02d}", "list_date": ld,
                                "delist_date": fmt_day(c.delist_date), "d_month": f"{c.year}{c.month:02d}",
                                "last_ddate": fmt_day(c.last_ddate), "trade_time_desc": tt})
            if fut_type in (None, "2"):  # the default is every type
                ld = fmt_day(max(p.start, self.days[0]))
                for suffix, label in (("", "主力"), ("L", "连续")):
                    if ld <= today:
                        out.append({"ts_code": f"{p.code}{suffix}.{sfx}", "symbol": p.code + suffix, **common,
                                    "name": p.name + label, "list_date": ld, "delist_date": None, "d_month": None,
                                    "last_ddate": None, "trade_time_desc": tt})
        names = APIS["fut_basic"].field_names
        out = [{k: r[k] for k in names} for r in out]
        out.sort(key=lambda r: r["ts_code"])
        out.sort(key=lambda r: r["list_date"], reverse=True)
        return out

    @cached_property
    def _specials(self) -> dict[str, tuple[str, Product]]:
        """``CU.SHF`` -> ('main', CU), ``CUL.SHF`` -> ('cont', CU)."""
        return {f"{p.code}{tail}.{SUFFIX[p.exchange]}": (kind, p) for p in PRODUCTS
                for tail, kind in (("", "main"), ("L", "cont"))}

    def _special_rows(self, kind: str, p: Product, lo: int, hi: int) -> list[dict[str, Any]]:
        _, near, main = self.tops(p)
        pick = main if kind == "main" else near
        code = f"{p.code}{'' if kind == 'main' else 'L'}.{SUFFIX[p.exchange]}"
        lst = self.contracts[p.code]
        return [self._daily_row(lst[pick[k]], k, code) for k in range(max(lo, 0), hi + 1) if pick[k] >= 0]

    def _fut_daily(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        wanted = codes(params)
        lo, hi = self._window(params, now_bj, default_latest=wanted is None)
        if hi < lo or hi < 0:
            return []
        out: list[dict[str, Any]] = []
        if wanted is None:
            for p in self._exchanges(params):
                for c in self.contracts[p.code]:
                    for k in range(max(lo, c.lo), min(hi, c.hi) + 1):
                        out.append(self._daily_row(c, k))
                out += self._special_rows("main", p, lo, hi) + self._special_rows("cont", p, lo, hi)
        else:
            ex = {p.exchange for p in self._exchanges(params)}
            for code in dict.fromkeys(wanted):
                c = self.by_code.get(code.upper())
                if c is not None and c.product.exchange in ex:
                    out += [self._daily_row(c, k) for k in range(max(lo, c.lo), min(hi, c.hi) + 1)]
                elif code.upper() in self._specials and self._specials[code.upper()][1].exchange in ex:
                    out += self._special_rows(*self._specials[code.upper()], lo, hi)
        out.sort(key=lambda r: r["ts_code"])
        out.sort(key=lambda r: r["trade_date"], reverse=True)
        return out

    # -- minutes -------------------------------------------------------------------------------------
    def minute_bars(self, c: Contract, k: int) -> dict[str, np.ndarray]:
        """1-minute bars of contract ``c`` on session ``k`` (prices in ticks) and the session ``parts``
        ``(date, first minute, last minute)``: the night before (21:01-23:00, none on a contract's first
        day or after a holiday break) and the day segments, in clock minutes of that date."""
        p, b, j = c.product, self.bars(c), k - c.lo
        rng = _rng(self.seed, f"min:{c.ts_code}:{k}")
        segs = [(571, 690), (781, 900)] if p.exchange == "CFFEX" else [(541, 615), (631, 690), (811, 900)]
        parts = []
        if p.night and j > 0 and (self.days[k] - self.days[k - 1]).days <= 3:
            parts.append((np.datetime64(self.days[k - 1], "m"), 1261, 1380))
        parts += [(np.datetime64(self.days[k], "m"), a, z) for a, z in segs]
        n = sum(z - a + 1 for _, a, z in parts)
        O, C, H, L = int(b.o[j]), int(b.c[j]), int(b.h[j]), int(b.l[j])
        w = np.cumsum(rng.normal(0, 1, n + 1))
        w -= w[0] + np.linspace(0, 1, n + 1) * (w[-1] - w[0])
        span = max(np.ptp(w), 1e-9)
        path = O + (C - O) * np.linspace(0, 1, n + 1) + w * (H - L) * 0.8 / span
        path = np.clip(np.rint(path), L, H).astype(np.int64)
        path[0], path[-1] = O, C
        bo, bc = path[:-1], path[1:]
        bh = np.minimum(np.maximum(bo, bc) + rng.geometric(0.6, n) - 1, H)
        bl = np.maximum(np.minimum(bo, bc) - rng.geometric(0.6, n) + 1, L)
        bh[np.argmax(bh)] = H
        bl[np.argmin(bl)] = L
        shape = 1 + 2 * np.exp(-np.arange(n) / 15) + np.exp(-(n - 1 - np.arange(n)) / 15)
        weights = shape * rng.uniform(0.5, 1.5, n)
        vol = rng.multinomial(int(b.vol[j]), weights / weights.sum())
        oi0, oi1 = int(b.poi[j]), int(b.oi[j])
        oi = np.rint(oi0 + (oi1 - oi0) * np.linspace(0, 1, n + 1)[1:] + rng.normal(0, 0.002 * max(oi1, 1), n))
        oi = np.maximum(oi, 0)
        oi[-1] = oi1
        return {"o": bo, "c": bc, "h": bh, "l": bl, "v": vol, "oi": oi, "parts": parts}

    def _ft_mins(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        code = text(params, "ts_code")
        if code is None:
            raise BadParams("参数校验失败, 必填参数ts_code不能为空")
        size = history_freq(params)
        c = self.by_code.get(code.upper())
        if c is None:
            return []
        start, end = minute_window(params)
        end = min(end or now_bj, now_bj)
        start = start or (end - dt.timedelta(days=1))
        lo = max(c.lo, self._day_index(start.date()))
        hi = min(c.hi, self._day_index(end.date(), after=True))
        s64, e64 = np.datetime64(start, "m"), np.datetime64(end, "m")
        p, out = c.product, []
        for k in range(lo, hi + 1):
            mb = self.minute_bars(c, k)
            # a bar is labelled by its end: the next multiple of ``size`` minutes, capped at its segment's end
            lab = np.concatenate([base + np.minimum(-(-np.arange(a, z + 1) // size) * size, z).astype("timedelta64[m]")
                                  for base, a, z in mb["parts"]])
            cut = np.flatnonzero(np.concatenate([[True], lab[1:] != lab[:-1]]))
            ends = np.concatenate([cut[1:], [len(lab)]]) - 1
            keep = (lab[cut] >= s64) & (lab[cut] <= e64)
            if not keep.any():
                continue
            o, cc = mb["o"][cut], mb["c"][ends]
            h, low = np.maximum.reduceat(mb["h"], cut), np.minimum.reduceat(mb["l"], cut)
            v = np.add.reduceat(mb["v"], cut)
            amt = np.add.reduceat(mb["v"] * (mb["o"] + mb["c"]) * 0.5 * p.tick * p.mult, cut)
            oi = mb["oi"][ends]
            for g in np.flatnonzero(keep):
                out.append({"ts_code": c.ts_code, "trade_time": str(lab[cut[g]]).replace("T", " ") + ":00",
                            "open": self._price(p, o[g]), "close": self._price(p, cc[g]), "high": self._price(p, h[g]),
                            "low": self._price(p, low[g]), "vol": int(v[g]), "amount": round(float(amt[g]), 2),
                            "oi": float(oi[g])})
        out.reverse()
        return out

    # -- warehouse receipts and rankings ---------------------------------------------------------------
    def _wsr_table(self, p: Product) -> tuple[list[dict[str, Any]], np.ndarray]:
        if p.code not in self._wsr:
            rng = _rng(self.seed, f"wsr:{p.code}")
            k = int(rng.integers(3, 9))
            names = rng.choice(len(WAREHOUSES), k, replace=False)
            unit = {"SHFE": "千克" if p.code in ("AU", "AG") else "吨", "DCE": "手", "CZCE": "张", "INE": "桶", "GFEX": "手"}[p.exchange]
            houses = []
            for i, w in enumerate(names):
                bare = rng.random() < 0.25
                houses.append({
                    "warehouse": WAREHOUSES[w], "wh_id": None if bare else f"{p.code}{int(rng.integers(1, 999)):03d}",
                    "area": AREAS[int(rng.integers(len(AREAS)))], "grade": None if bare else ("一等品" if rng.random() < .5 else "标准品"),
                    "brand": None if bare else f"{p.name}{'ABCDEFGH'[i]}牌", "place": AREAS[int(rng.integers(len(AREAS)))],
                    "pd": int(rng.choice([0, 0, 0, 20, 30, -20, 50])), "is_ct": None if bare else "否", "unit": unit,
                })
            n = len(self.days)
            level = rng.lognormal(np.log({"千克": 900, "吨": 3000, "手": 800, "张": 1200, "桶": 300000}[unit]), 0.8, k)
            x = np.zeros((n, k))
            e = rng.normal(0, 0.06, (n, k))
            for t in range(1, n):
                x[t] = 0.99 * x[t - 1] + e[t]
            vol = np.where(x < -0.25 - 0.2 * np.arange(k), 0, np.rint(level * np.exp(x))).astype(np.int64)
            self._wsr[p.code] = (houses, vol)
        return self._wsr[p.code]

    def _fut_wsr(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        sym = text(params, "symbol")
        lo, hi = self._window(params, now_bj, default_latest=sym is None)
        out = []
        for p in self._exchanges(params):
            if p.exchange == "CFFEX" or (sym and p.code != sym.upper()):
                continue
            houses, vol = self._wsr_table(p)
            first = self._day_index(p.start)
            for k in range(max(lo, first), hi + 1):
                year = str(self.days[k].year - (self.days[k].month < 9)) if p.exchange == "CZCE" else None
                for i, h in enumerate(houses):
                    pre = int(vol[k - 1, i]) if k > first else 0
                    out.append({"trade_date": self.day_str[k], "symbol": p.code, "fut_name": p.name,
                                "warehouse": h["warehouse"], "wh_id": h["wh_id"], "pre_vol": pre, "vol": int(vol[k, i]),
                                "vol_chg": int(vol[k, i]) - pre, "area": h["area"], "year": year, "grade": h["grade"],
                                "brand": h["brand"], "place": h["place"], "pd": h["pd"], "is_ct": h["is_ct"],
                                "unit": h["unit"], "exchange": p.exchange})
        out.reverse()
        return out

    def _broker_book(self, c: Contract, k: int) -> np.ndarray:
        """(3, brokers) ints: traded volume, long and short holdings of every broker in ``c`` on session ``k``."""
        if k < c.lo:
            return np.zeros((3, len(BROKERS)), dtype=np.int64)
        b, j = self.bars(c), k - c.lo
        base = _rng(self.seed, f"hold:{c.ts_code}").dirichlet(np.full(len(BROKERS), 1.5), 3)
        share = base * np.exp(0.12 * _rng(self.seed, f"hold:{c.ts_code}:{k}").normal(size=base.shape))
        share = 0.8 * share / share.sum(axis=1, keepdims=True)
        scale = np.array([[b.vol[j]], [b.oi[j]], [b.oi[j]]], dtype=float)
        return np.rint(share * scale).astype(np.int64)

    def _fut_holding(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        sym = (text(params, "symbol") or "").upper() or None
        first, last = date_range(params)
        if sym is None and first is None and last is None:
            raise BadParams("参数校验失败, trade_date和symbol至少输入一个")
        contract = next((c for c in self.by_code.values() if c.symbol == sym), None) if sym else None
        lo, hi = self._window(params, now_bj, default_latest=contract is None)
        out = []
        for p in self._exchanges(params):
            if sym and contract is None and p.code != sym:
                continue
            if contract is not None and contract.product is not p:
                continue
            top_i = self.tops(p)[0]
            lst = self.contracts[p.code]
            for k in range(max(lo, 0), hi + 1):
                for ci in top_i[k]:
                    if ci < 0 or (contract is not None and lst[ci] is not contract):
                        continue
                    c = lst[ci]
                    today, before = self._broker_book(c, k), self._broker_book(c, k - 1)
                    ranked = np.argsort(-today.sum(axis=0), kind="stable")[:20]
                    for r in sorted(ranked, key=lambda i: -today[0, i]):
                        out.append({"trade_date": self.day_str[k], "symbol": c.symbol, "broker": BROKERS[r],
                                    "vol": int(today[0, r]), "vol_chg": int(today[0, r] - before[0, r]),
                                    "long_hld": int(today[1, r]), "long_chg": int(today[1, r] - before[1, r]),
                                    "short_hld": int(today[2, r]), "short_chg": int(today[2, r] - before[2, r]),
                                    "exchange": p.exchange})
        out.sort(key=lambda r: r["trade_date"], reverse=True)
        return out

    # -- Shanghai Gold Exchange ------------------------------------------------------------------------
    def _sge_series(self, s: SgeSpec) -> dict[str, np.ndarray]:
        if s.code not in self._sge:
            rng = _rng(self.seed, f"sge:{s.code}")
            path = {"gold": lambda: self._path("gold", BY_CODE["AU"].anchors, BY_CODE["AU"].sigma),
                    "silver": lambda: self._path("silver", BY_CODE["AG"].anchors, BY_CODE["AG"].sigma),
                    "platinum": lambda: self._path("platinum", PLATINUM, .012)}[s.path]()
            k0 = self._day_index(dt.date(2010, 1, 1))
            n = len(self.days) - k0
            close = np.exp(path[k0:] + rng.normal(0, 0.0008, n)) * s.scale
            o, h, lw, c, avg, pc0 = _ohlc(rng, close, s.tick, 0.01)
            pc = np.concatenate([[pc0], c[:-1]])
            vol = np.rint(s.base_vol * np.exp(_ar1(rng, n, 0.9, 0.25))).astype(float)
            oi = np.rint(s.base_vol * 4 * np.exp(_ar1(rng, n, 0.99, 0.03))) if s.tplusd else None
            dire = rng.choice(3, n, p=[.45, .45, .1])
            settle_vol = np.rint(s.base_vol * 0.02 * rng.lognormal(0, .6, n)) if s.tplusd else None
            self._sge[s.code] = {"k0": k0, "o": o, "c": c, "h": h, "l": lw, "avg": avg, "pc": pc, "vol": vol, "oi": oi,
                                 "dire": dire, "sv": settle_vol}
        return self._sge[s.code]

    def _sge_codes(self, params: Mapping[str, Any]) -> list[SgeSpec]:
        wanted = codes(params)
        return [s for s in SGE if wanted is None or s.code in wanted]

    def _sge_basic(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        today = fmt_day(now_bj.date())
        return [{"ts_code": s.code, "ts_name": s.name, "trade_type": "现货延期交收合约" if s.tplusd else "现货实盘合约",
                 "t_unit": float(s.t_unit), "p_unit": 1.0, "min_change": float(s.tick), "price_limit": 0.1 if s.tplusd else None,
                 "min_vol": 1, "max_vol": 1000 if s.tplusd else 50000, "trade_mode": "T+D" if s.tplusd else "T+0",
                 "margin_rate": 0.1 if s.tplusd else 1.0, "liq_rate": 7.0 if s.tplusd else None,
                 "trade_time": "09:00-11:30,13:30-15:30,20:00-02:30", "list_date": s.list_date}
                for s in self._sge_codes(params) if s.list_date <= today]

    def _sge_daily(self, params: Mapping[str, Any], now_bj: dt.datetime) -> list[dict[str, Any]]:
        lo, hi = self._window(params, now_bj, default_latest=codes(params) is None)
        out = []
        for s in self._sge_codes(params):
            d = self._sge_series(s)
            k0, t = d["k0"], s.tick
            dp = 2 if t < 1 else 0
            for k in range(max(lo, k0), hi + 1):
                j = k - k0
                close, pre = float(d["c"][j]) * t, float(d["pc"][j]) * t
                chg = round(close - pre, dp)
                avg = round(float(d["avg"][j]) * t, dp)
                per = 1000 if s.path != "silver" else 1
                out.append({"ts_code": s.code, "trade_date": self.day_str[k], "close": round(close, dp),
                            "open": round(float(d["o"][j]) * t, dp), "high": round(float(d["h"][j]) * t, dp),
                            "low": round(float(d["l"][j]) * t, dp),
                            "price_avg": avg, "change": chg, "pct_change": round(chg / pre * 100, 4),
                            "vol": float(d["vol"][j]), "amount": round(float(d["vol"][j]) * per * avg, 2),
                            "oi": float(d["oi"][j]) if s.tplusd else None,
                            "settle_vol": float(d["sv"][j]) if s.tplusd else None,
                            "settle_dire": ("多支付空", "空支付多", None)[d["dire"][j]] if s.tplusd else None})
        out.sort(key=lambda r: r["trade_date"], reverse=True)
        return out
