"""FX (FXCM) and macro data for the local Tushare server: fourteen APIs, generated deterministically.

:class:`MacroWorld` answers ``fx_obasic`` and ``fx_daily``, the Chinese series (``cn_gdp``, ``cn_cpi``,
``cn_ppi``, ``cn_m``, ``cn_pmi``, ``shibor``), the US Treasury curves (``us_tycr``, ``us_trycr``,
``us_tbr``, ``us_tltr``), the economic calendar ``eco_cal`` and the domestic release schedule
``cn_schedule``, from 2010 through 2026-12-31. Every number comes from a numpy Generator seeded with
the world seed and a label (``zlib.crc32``), so one seed gives the same data in every process. Levels
follow realistic anchors (policy rates, the 2020 shock, ...) plus seeded noise; indices and rates are
continuous, derived fields are computed from one another (year-on-year from the index chain, GDP as
the sum of its three industries, crosses from the majors, Treasury bills from the par curve).

Point in time
-------------
The macro rows carry no release date (like the real API), yet a period exists only once it has been
released as of the server clock ``now``:

===========  ==========================================================  ===============
series       release of period P (drawn once per period from the seed)    time (Beijing)
===========  ==========================================================  ===============
cn_cpi/ppi   a weekday from the 9th to the 13th of the next month         09:30
cn_pmi       the last day of the month (about 1 in 7: the 1st after)      09:30
cn_gdp       a weekday from the 15th to the 18th after the quarter        10:00
cn_m         a weekday from the 10th to the 15th of the next month        16:00
shibor       each XSHG session D                                          D 11:00
us_*         each XNYS session D (a US date)                              D+1 08:00
fx_daily     each weekday D (a GMT date; no holidays)                     D+1 08:00 (D has ended in GMT)
===========  ==========================================================  ===============

``cn_schedule`` lists exactly these release dates: join ``data_api`` + ``month`` to the series, where
``month`` is the reference month (the quarter's last month for ``cn_gdp``) and ``publish_date`` the
Beijing release day; a few NBS releases without a Tushare API carry ``data_api`` ``None`` or
``'待上线'``. ``eco_cal`` uses the same instants for its Chinese rows, with the same values as the series
(``value`` is ``None`` until the event time). Schedule and calendar rows are known in advance: a row
dated in month P is listed from the first day of month P-1 (one to two months ahead).

GDP revisions
-------------
Like the real API, ``cn_gdp`` serves only the latest figures. A quarter's first figures are revised
once, at the release of the quarter three quarters later (about nine months on): every level moves by
0.1-0.6 % in one direction and the growth rates by up to 0.2 points. A client polling before and after
that instant sees a new vintage under the same key; ``eco_cal`` keeps the first-release value.

Revising a published value (the test hook)
------------------------------------------
Vendors also correct figures they have already served. :meth:`MacroWorld.revise` (and, on the
server, ``LocalTushareServer.revise(api="cn_cpi", period="202403", nt_yoy=2.7)`` or
``POST /_admin/revise {"api": "cn_cpi", "period": "202403", "values": {"nt_yoy": 2.7}}``) changes
fields of one period of ``cn_cpi``, ``cn_ppi``, ``cn_m``, ``cn_pmi`` or ``cn_gdp`` from an instant on
(the server clock at the call): every answer at or after that instant carries the new values, every
other field and period is unchanged, and an answer for an earlier clock still shows the old ones (so
point in time holds for a server with an injected clock). Revisions of one period stack in the
order of their instants (ties: the order of the calls); on ``cn_gdp`` they apply on top of the
built-in revision above. A period that is not out yet comes out with the revised values as its
first print. Nothing is random, so the same calls give the same answers. Revisions live in memory
only, for the life of the server.

Derived fields follow their source and cannot be revised themselves:

* ``cn_cpi``: ``{nt,town,cnt}_val`` is ``100 + {nt,town,cnt}_yoy`` (rounded to 0.1), recomputed
  when the ``_yoy`` is revised;
* ``cn_gdp``: ``gdp`` is ``pi + si + ti`` (rounded to 0.1), recomputed when an industry is revised.

Nothing else is recomputed: a revised month-on-month change, level or year-on-year rate does not move
the year-to-date (``_accu``) figures, the other rates of the same period or any later period (revise
those too if a test needs them consistent), and ``eco_cal`` keeps the generated first print. The
daily rates (Shibor, the Treasury curves) are fixings and are not revisable; the period and label
fields (``month``, ``quarter``) are keys, not values.
"""

from __future__ import annotations

import bisect
import datetime as dt
import fnmatch
import math
import threading
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np

from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.server.params import BadParams, codes, date_range, fmt_day, month, quarter, text

BEIJING = dt.timezone(dt.timedelta(hours=8))
NEW_YORK = ZoneInfo("America/New_York")
FIRST_DAY, LAST_DAY = dt.date(2010, 1, 1), dt.date(2026, 12, 31)
# Months and quarters are indices: year * 12 + month - 1 and year * 4 + quarter - 1. Generation starts
# two years before the output so that 2010 has year-on-year and year-to-date figures.
FIRST_MONTH, LAST_MONTH, GRID_MONTH = 2010 * 12, 2026 * 12 + 11, 2008 * 12
FIRST_QUARTER, LAST_QUARTER, GRID_QUARTER = 2010 * 4, 2026 * 4 + 3, 2008 * 4
SERIES_START = {"m2": dt.date(2018, 10, 16), "m4": dt.date(2022, 10, 19)}  # newer Treasury tenors
COMPOSITE_PMI_FROM = "201701"


# ---------------------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------------------


def _rng(seed: int, label: str) -> np.random.Generator:
    """A Generator for one part of the world; stable across processes (never ``hash()``)."""
    return np.random.default_rng([seed % (1 << 64), zlib.crc32(label.encode())])


def month_label(index: int) -> str:
    """``YYYYMM`` of a month index.

    >>> month_label(2026 * 12 + 11), month_label(2010 * 12)
    ('202612', '201001')
    """
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def quarter_label(index: int) -> str:
    """``YYYYQn`` of a quarter index.

    >>> quarter_label(2026 * 4 + 2)
    '2026Q3'
    """
    return f"{index // 4:04d}Q{index % 4 + 1}"


def known_from(day: dt.date) -> dt.date:
    """The day a release dated ``day`` enters the schedules: the first day of the month before.

    >>> known_from(dt.date(2026, 1, 9))
    datetime.date(2025, 12, 1)
    >>> known_from(dt.date(2026, 11, 30))
    datetime.date(2026, 10, 1)
    """
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def beijing_at(day: dt.date, hour: int, minute: int = 0) -> int:
    """Epoch seconds of a Beijing wall-clock time.

    >>> beijing_at(dt.date(2026, 1, 1), 8)
    1767225600
    """
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BEIJING).timestamp())


def new_york_at(day: dt.date, hour: int, minute: int = 0) -> int:
    """Epoch seconds of a New York wall-clock time (daylight saving applied).

    >>> (new_york_at(dt.date(2026, 3, 6), 8, 30) - beijing_at(dt.date(2026, 3, 6), 21, 30),
    ...  new_york_at(dt.date(2026, 3, 9), 8, 30) - beijing_at(dt.date(2026, 3, 9), 20, 30))
    (0, 0)
    """
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).timestamp())


def weekday_between(rng: np.random.Generator, year: int, month_no: int, first: int, last: int) -> dt.date:
    """A weekday from day ``first`` to day ``last`` of a month, drawn with ``rng``.

    >>> day = weekday_between(np.random.default_rng(1), 2026, 11, 9, 13)
    >>> 9 <= day.day <= 13 and day.weekday() < 5
    True
    """
    days = [dt.date(year, month_no, d) for d in range(first, last + 1)]
    weekdays = [d for d in days if d.weekday() < 5]
    return weekdays[int(rng.integers(len(weekdays)))]


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """An AR(1) path starting from 0: x[t] = phi * x[t-1] + N(0, sd)."""
    out, x = [], 0.0
    for shock in rng.normal(0.0, sd, n).tolist():
        x = phi * x + shock
        out.append(x)
    return np.array(out)


def _anchored(at: np.ndarray, anchors: Sequence[tuple[int, float]]) -> np.ndarray:
    """Piecewise-linear interpolation of ``(position, value)`` anchors, flat beyond both ends."""
    xs, ys = zip(*anchors)
    return np.interp(at, xs, ys)


def _months(anchors: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
    return [(int(m[:4]) * 12 + int(m[4:6]) - 1, v) for m, v in anchors]


def _days(anchors: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
    return [(dt.date(int(d[:4]), int(d[4:6]), int(d[6:8])).toordinal(), v) for d, v in anchors]


def _chain(mom_pct: np.ndarray) -> np.ndarray:
    """Index levels from month-on-month changes in percent.

    >>> _chain(np.array([0.0, 10.0, -10.0])).round(2).tolist()
    [100.0, 110.0, 99.0]
    """
    return 100.0 * np.cumprod(1.0 + mom_pct / 100.0)


def _yoy(level: np.ndarray, lag: int = 12) -> np.ndarray:
    """Percent change over ``lag`` steps; NaN where there is no history."""
    out = np.full(level.shape, np.nan)
    out[lag:] = (level[lag:] / level[:-lag] - 1.0) * 100.0
    return out


def _ytd_yoy(level: np.ndarray, month_of_year: np.ndarray) -> np.ndarray:
    """Year-to-date change in percent: this year's months summed over the same months a year earlier.

    The grid must start in a January (``month_of_year`` 0).

    >>> level = np.array([100.0] * 12 + [110.0, 99.0])
    >>> _ytd_yoy(level, np.array(list(range(12)) + [0, 1]))[12:].round(2).tolist()
    [10.0, 4.5]
    """
    csum = np.concatenate([[0.0], np.cumsum(level)])
    t = np.arange(level.size)
    start = t - month_of_year
    ok = start >= 12
    out = np.full(level.shape, np.nan)
    cur = csum[t[ok] + 1] - csum[start[ok]]
    prev = csum[t[ok] + 1 - 12] - csum[start[ok] - 12]
    out[ok] = (cur / prev - 1.0) * 100.0
    return out


def _plain(values: Iterable[Any]) -> list[Any]:
    """Python scalars with NaN as ``None`` (wire values)."""
    return [None if isinstance(v, float) and v != v else v for v in values]


def _pct(value: float) -> str:
    return f"{value:.1f}%"


# ---------------------------------------------------------------------------------------------------
# Tables and parameters
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """One period-keyed series: ascending labels, when each period appears, its output columns."""

    labels: list[str]
    appears: np.ndarray  # epoch seconds, non-decreasing
    columns: dict[str, list[Any]]  # in the catalog's field order, label column first

    def pick(self, now_ts: int, wanted: set[str] | None, lo: str | None, hi: str | None) -> list[int]:
        """Indices of the periods out by ``now_ts`` in the requested set or range, newest first."""
        end = int(np.searchsorted(self.appears, now_ts, side="right"))
        if hi is not None:
            end = min(end, bisect.bisect_right(self.labels, hi))
        start = bisect.bisect_left(self.labels, lo) if lo is not None else 0
        picked = range(end - 1, start - 1, -1)
        return [i for i in picked if self.labels[i] in wanted] if wanted is not None else list(picked)

    def rows(self, picks: Iterable[int]) -> list[dict[str, Any]]:
        pairs = list(self.columns.items())
        return [{name: col[i] for name, col in pairs} for i in picks]


def _table(api: str, labels: list[str], appears: Sequence[int], source: Mapping[str, Any]) -> _Table:
    """Columns in ``api``'s catalog order (a missing field is a bug here, so it raises KeyError)."""
    names = APIS[api].field_names
    columns = {names[0]: labels} | {n: _plain(np.asarray(source[n], dtype=float).tolist()) for n in names[1:]}
    return _Table(labels, np.asarray(appears, dtype=np.int64), columns)


Reader = Callable[[Mapping[str, Any], str], "str | None"]


def _periods(params: Mapping[str, Any], single: str, start: str, end: str,
             read: Reader) -> tuple[set[str] | None, str | None, str | None]:
    """``(wanted, lo, hi)``: a comma list in ``single``, else the ``start``/``end`` range."""
    raw = text(params, single)
    if raw is not None:
        wanted = {read({single: p}, single) for p in raw.split(",") if p.strip()}
        return {w for w in wanted if w is not None}, None, None
    lo, hi = read(params, start), read(params, end)
    if lo is not None and hi is not None and hi < lo:
        raise BadParams(f"参数校验失败, {end}不能早于{start}")
    return None, lo, hi


def _day_range(params: Mapping[str, Any], single: str) -> tuple[str | None, str | None]:
    first, last = date_range(params, single, "start_date", "end_date")
    return (fmt_day(first) if first else None), (fmt_day(last) if last else None)


# ---------------------------------------------------------------------------------------------------
# FX (FXCM)
# ---------------------------------------------------------------------------------------------------


# Trading terms per class: (min_unit, max_unit, min_stop_distance, trading_hours, break_time), Beijing time
_FX_TERMS = {
    "FX": (1000.0, 5e7, 0.0, "周一05:00-周六05:00", "05:00-05:05"),
    "FX_BASKET": (1.0, 5e4, 0.0, "周一05:00-周六05:00", "05:00-05:05"),
    "METAL": (1.0, 5000.0, 0.0, "周一06:00-周六05:00", "05:00-06:00"),
    "COMMODITY": (1.0, 1e5, 0.0, "周一06:00-周六05:00", "05:00-06:00"),
    "INDEX": (1.0, 5e4, 0.0, "周一06:00-周六05:00", "05:15-05:30"),
}


@dataclass(frozen=True)
class FxSpec:
    code: str
    name: str
    classify: str
    legs: str  # "" for a generated instrument, "EURUSD*USDJPY" or "EURUSD/GBPUSD" for a cross
    start: float  # first close (2010-01-01)
    vol: float  # yearly volatility
    drift: float  # yearly drift of the mean-reversion target
    revert: float  # mean-reversion time in years
    digits: int
    pip: float
    pip_cost: float
    spread: float  # target spread in pips
    ticks: int  # typical ticks per day


_FX = tuple(FxSpec(*row) for row in (
    ("EURUSD", "EUR/USD", "FX", "", 1.4330, .09, 0, 4, 5, .0001, .1, .3, 220000),
    ("GBPUSD", "GBP/USD", "FX", "", 1.6150, .09, 0, 4, 5, .0001, .1, .9, 180000),
    ("USDJPY", "USD/JPY", "FX", "", 92.50, .10, .01, 5, 3, .01, .09, .3, 200000),
    ("USDCHF", "USD/CHF", "FX", "", 1.0350, .10, -.01, 4, 5, .0001, .1, 1.2, 90000),
    ("AUDUSD", "AUD/USD", "FX", "", .8980, .12, 0, 4, 5, .0001, .1, .5, 150000),
    ("USDCAD", "USD/CAD", "FX", "", 1.0460, .09, .01, 4, 5, .0001, .08, .9, 120000),
    ("NZDUSD", "NZD/USD", "FX", "", .7260, .12, 0, 4, 5, .0001, .1, 1.2, 90000),
    ("USDCNH", "USD/CNH", "FX", "", 6.8300, .035, .005, 3, 5, .0001, .015, 8.0, 60000),
    ("USDHKD", "USD/HKD", "FX", "", 7.7560, .003, 0, .05, 5, .0001, .013, 6.0, 20000),
    ("EURGBP", "EUR/GBP", "FX", "EURUSD/GBPUSD", 0, 0, 0, 0, 5, .0001, .13, .7, 100000),
    ("EURJPY", "EUR/JPY", "FX", "EURUSD*USDJPY", 0, 0, 0, 0, 3, .01, .09, .7, 160000),
    ("GBPJPY", "GBP/JPY", "FX", "GBPUSD*USDJPY", 0, 0, 0, 0, 3, .01, .09, 1.5, 170000),
    ("AUDJPY", "AUD/JPY", "FX", "AUDUSD*USDJPY", 0, 0, 0, 0, 3, .01, .09, 1.0, 110000),
    ("XAUUSD", "Gold/USD", "METAL", "", 1097.0, .16, .05, 6, 2, .01, .01, 30.0, 260000),
    ("XAGUSD", "Silver/USD", "METAL", "", 17.30, .28, .03, 6, 3, .001, .05, 25.0, 120000),
    ("USOil", "US Crude Oil", "COMMODITY", "", 81.50, .32, -.01, 3, 2, .01, .01, 5.0, 150000),
    ("US30", "Dow Jones 30", "INDEX", "", 10580.0, .16, .10, 8, 1, 1.0, .01, 2.0, 200000),
    ("SPX500", "S&P 500", "INDEX", "", 1132.0, .17, .12, 8, 1, .1, .01, 5.0, 220000),
    ("HKG33", "Hang Seng 33", "INDEX", "", 21800.0, .21, .01, 6, 0, 1.0, .01, 8.0, 140000),
    ("USDOLLAR", "USD Basket", "FX_BASKET", "", 9980.0, .07, .005, 4, 0, 1.0, .01, 3.0, 50000),
))


@dataclass(frozen=True)
class _FxBars:
    specs: tuple[FxSpec, ...]  # sorted by ts_code
    days: list[str]  # GMT weekdays, ascending
    ends: np.ndarray  # epoch seconds when each day has ended in GMT
    quotes: tuple[np.ndarray, ...]  # bid o/c/h/l, ask o/c/h/l, each (days, instruments)
    ticks: np.ndarray  # (days, instruments) int64


def _fx_bars(seed: int) -> _FxBars:
    rng = _rng(seed, "fx")
    first = np.datetime64(FIRST_DAY, "D")
    every = np.arange(first, np.datetime64(LAST_DAY, "D") + 1)
    days = every[(every.astype(np.int64) + 3) % 7 < 5]  # 1970-01-01 was a Thursday
    n = days.size
    monday = (days.astype(np.int64) + 3) % 7 == 0
    base = [s for s in _FX if not s.legs]
    start = np.log([s.start for s in base])
    sigma = np.array([s.vol for s in base]) / np.sqrt(260.0)
    kappa = 1.0 / (260.0 * np.array([s.revert for s in base]))
    target = start + np.outer(np.arange(n) / 260.0, [s.drift for s in base])
    shocks = rng.standard_t(5, size=(n, len(base))) * np.sqrt(3.0 / 5.0)
    vol_noise = rng.normal(size=(n, len(base)))
    log_close, day_vol = np.empty((n, len(base))), np.empty((n, len(base)))
    x, h = start.copy(), np.zeros(len(base))
    for t in range(n):
        h = 0.985 * h + 0.06 * vol_noise[t]
        day_vol[t] = sigma * np.exp(h)
        x = x + kappa * (target[t] - x) + day_vol[t] * shocks[t]
        log_close[t] = x
    gap = rng.normal(size=(n, len(base))) * day_vol * np.where(monday, 0.3, 0.05)[:, None]
    log_open = np.vstack([start, log_close[:-1]]) + gap
    opens = {s.code: log_open[:, j] for j, s in enumerate(base)}
    closes = {s.code: log_close[:, j] for j, s in enumerate(base)}
    vols = {s.code: day_vol[:, j] for j, s in enumerate(base)}
    for spec in _FX:
        if spec.legs:
            sign = 1.0 if "*" in spec.legs else -1.0
            a, b = spec.legs.replace("*", "/").split("/")
            opens[spec.code] = opens[a] + sign * opens[b]
            closes[spec.code] = closes[a] + sign * closes[b]
            vols[spec.code] = 0.8 * np.hypot(vols[a], vols[b])
    specs = tuple(sorted(_FX, key=lambda s: s.code))
    o = np.exp(np.column_stack([opens[s.code] for s in specs]))
    c = np.exp(np.column_stack([closes[s.code] for s in specs]))
    v = np.column_stack([vols[s.code] for s in specs])
    hi = np.maximum(o, c) * np.exp(np.abs(rng.normal(size=v.shape)) * 0.6 * v)
    lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(size=v.shape)) * 0.6 * v)
    spread = np.array([s.spread * s.pip for s in specs]) * (1.0 + 0.4 * np.abs(rng.normal(size=v.shape)))
    activity = np.log(hi / lo) / v
    ticks = np.array([s.ticks for s in specs]) * (0.5 + 0.3 * activity) * rng.lognormal(0.0, 0.15, v.shape)
    quotes = [np.empty_like(o) for _ in range(8)]
    for j, spec in enumerate(specs):
        step = 10.0 ** -spec.digits
        gap_j = np.maximum(np.round(spread[:, j], spec.digits), step)
        for k, side in enumerate((o, c, hi, lo)):
            bid = np.round(side[:, j], spec.digits)
            quotes[k][:, j] = bid
            quotes[k + 4][:, j] = np.round(bid + gap_j, spec.digits)
    ends = (days.astype(np.int64) + 1) * 86400
    labels = [s.replace("-", "") for s in np.datetime_as_string(days)]
    return _FxBars(specs, labels, ends, tuple(quotes), ticks.astype(np.int64))


# ---------------------------------------------------------------------------------------------------
# China: CPI, PPI, money supply, PMI, GDP (values on the monthly / quarterly grid)
# ---------------------------------------------------------------------------------------------------

_PPI_PARTS = {  # leaf: (commodity beta, drift, noise sd) of month-on-month percent
    "mp_qm": (2.5, 0.02, 0.6), "mp_rm": (1.3, 0.02, 0.3), "mp_p": (0.6, 0.02, 0.15),
    "cg_f": (0.15, 0.06, 0.25), "cg_c": (0.05, 0.05, 0.08), "cg_adu": (0.1, 0.03, 0.1), "cg_dcg": (0.05, -0.04, 0.1),
}
_PPI_GROUPS = {"mp": {"mp_qm": .1, "mp_rm": .3, "mp_p": .6}, "cg": {"cg_f": .35, "cg_c": .15, "cg_adu": .25, "cg_dcg": .25}}

_M_YOY = {  # money supply year-on-year anchors (percent), start level (亿元), seasonal pattern, noise
    "m2": ((("200801", 16.0), ("200911", 29.7), ("201012", 19.7), ("201112", 13.6), ("201312", 13.6),
            ("201512", 13.3), ("201712", 8.2), ("201912", 8.7), ("202012", 10.1), ("202212", 11.8),
            ("202312", 9.7), ("202412", 7.3), ("202612", 7.5)),
           417846.0, (1.0, .3, 1.8, -.6, .5, 1.6, -.8, .4, 1.2, -.9, .6, .9), 0.3),
    "m1": ((("200801", 20.0), ("200901", 6.7), ("200912", 32.4), ("201012", 21.2), ("201112", 7.9),
            ("201312", 9.3), ("201412", 3.2), ("201607", 25.4), ("201712", 11.8), ("201812", 1.5),
            ("202012", 8.6), ("202112", 3.5), ("202312", 1.3), ("202410", -6.1), ("202506", 4.6), ("202612", 5.0)),
           154872.0, (-2.0, -3.0, 2.5, -1.5, .5, 3.0, -3.0, .5, 2.0, -2.0, .8, 3.0), 0.9),
    "m0": ((("200801", 12.0), ("201001", 16.0), ("201201", 7.7), ("201401", 2.9), ("201601", 8.1),
            ("201801", 3.6), ("202001", 9.2), ("202201", 15.3), ("202401", 13.0), ("202612", 10.0)),
           36673.0, (12.0, -4.0, -5.0, -1.0, -1.0, -.5, 0.0, .5, 2.0, -1.5, 0.0, 3.5), 1.2),
}

# cn_pmi: (field, parent, base or offset from the parent, cycle beta, price beta, noise sd)
_PMI = (
    ("pmi010000", None, 50.2, 1.0, 0.0, 0.15), ("pmi010100", "pmi010000", 0.8, 0, 0, .5),
    ("pmi010200", "pmi010000", -.4, 0, 0, .7), ("pmi010300", "pmi010000", -1.3, 0, 0, .9),
    ("pmi010400", None, 52.0, 1.3, 0, .6), ("pmi010401", "pmi010400", .6, 0, 0, .5),
    ("pmi010402", "pmi010400", -.4, 0, 0, .7), ("pmi010403", "pmi010400", -1.2, 0, 0, .9),
    ("pmi010500", None, 50.6, 1.4, 0, .6), ("pmi010501", "pmi010500", .7, 0, 0, .5),
    ("pmi010502", "pmi010500", -.5, 0, 0, .7), ("pmi010503", "pmi010500", -1.5, 0, 0, .9),
    ("pmi010600", None, 50.3, -.3, 0, .4), ("pmi010601", "pmi010600", .1, 0, 0, .3),
    ("pmi010602", "pmi010600", 0, 0, 0, .3), ("pmi010603", "pmi010600", -.1, 0, 0, .4),
    ("pmi010700", None, 48.2, .5, 0, .5), ("pmi010701", "pmi010700", .3, 0, 0, .4),
    ("pmi010702", "pmi010700", -.4, 0, 0, .5), ("pmi010703", "pmi010700", -.6, 0, 0, .6),
    ("pmi010800", None, 48.6, .5, 0, .4), ("pmi010801", "pmi010800", .5, 0, 0, .4),
    ("pmi010802", "pmi010800", -.5, 0, 0, .5), ("pmi010803", "pmi010800", -1.0, 0, 0, .6),
    ("pmi010900", None, 48.3, 1.0, 0, .9), ("pmi011000", None, 48.5, 1.0, 0, .8),
    ("pmi011100", None, 50.8, 1.2, 0, .6), ("pmi011200", None, 52.5, .8, 9.0, 1.5),
    ("pmi011300", None, 49.3, .6, 7.0, 1.2), ("pmi011400", None, 47.6, .3, 0, .6),
    ("pmi011500", None, 44.8, .9, 0, .6), ("pmi011600", None, 55.5, .7, 0, 1.0),
    ("pmi011700", None, 50.8, 1.2, 0, .7), ("pmi011800", None, 51.4, 1.2, 0, .8),
    ("pmi011900", None, 48.7, 1.0, 1.5, .7), ("pmi012000", None, 50.2, .8, 0, .7),
    ("pmi020100", None, 53.8, .6, 0, .4), ("pmi020101", "pmi020100", 4.0, 0, 0, 1.2),
    ("pmi020102", "pmi020100", -1.0, 0, 0, .5), ("pmi020200", None, 49.8, .8, 0, .6),
    ("pmi020201", "pmi020200", 4.2, 0, 0, 1.2), ("pmi020202", "pmi020200", -.8, 0, 0, .6),
    ("pmi020300", None, 52.5, .4, 4.0, .8), ("pmi020301", "pmi020300", 2.0, 0, 0, 1.0),
    ("pmi020302", "pmi020300", -1.0, 0, 0, .6), ("pmi020400", None, 50.4, .4, 3.0, .6),
    ("pmi020401", "pmi020400", 1.6, 0, 0, .8), ("pmi020402", "pmi020400", -.4, 0, 0, .5),
    ("pmi020500", None, 48.0, .3, 0, .4), ("pmi020501", "pmi020500", 4.0, 0, 0, 1.0),
    ("pmi020502", "pmi020500", -1.0, 0, 0, .4), ("pmi020600", None, 59.5, .6, 0, .8),
    ("pmi020601", "pmi020600", 2.5, 0, 0, 1.0), ("pmi020602", "pmi020600", -.5, 0, 0, .6),
    ("pmi020700", None, 47.5, .7, 0, 1.0), ("pmi020800", None, 44.5, .5, 0, .6),
    ("pmi020900", None, 46.5, .3, 0, .5), ("pmi021000", None, 51.5, -.2, 0, .4),
)
_PMI_SHOCKS = {"202002": (-14.0, -16.0), "202003": (1.5, -1.0)}  # (manufacturing, services)

_GDP_GROWTH = {2008: 9.7, 2009: 9.4, 2010: 10.6, 2011: 9.6, 2012: 7.9, 2013: 7.8, 2014: 7.4, 2015: 7.0,
               2016: 6.8, 2017: 6.9, 2018: 6.7, 2019: 6.0, 2020: 5.0, 2021: 5.0, 2022: 3.6, 2023: 5.2,
               2024: 5.0, 2025: 5.0, 2026: 4.6}
_GDP_QUARTERS = {"2020Q1": -6.8, "2020Q2": 3.2, "2020Q3": 4.9, "2020Q4": 6.5, "2021Q1": 18.3,
                 "2021Q2": 7.9, "2021Q3": 4.9, "2021Q4": 4.3, "2022Q2": 0.4}
_GDP_2008 = 319245.0  # 亿元, split over the quarters below
_GDP_SEASON = (0.222, 0.238, 0.245, 0.295)


@dataclass(frozen=True)
class _ChinaValues:
    monthly: dict[str, np.ndarray]  # field -> values on the month grid (GRID_MONTH..LAST_MONTH)
    gdp_first: dict[str, np.ndarray]  # field -> values on the quarter grid (GRID_QUARTER..LAST_QUARTER)
    gdp_revised: dict[str, np.ndarray]


def _cpi(rng: np.random.Generator, moy: np.ndarray) -> dict[str, np.ndarray]:
    n = moy.size
    seasonal = np.array([.55, .85, -.55, -.25, -.2, -.15, .25, .3, .4, .05, -.35, .05])
    core = 0.16 + _ar1(rng, n, 0.95, 0.015)
    food = _ar1(rng, n, 0.6, 0.35)
    national = core + (seasonal - seasonal.mean())[moy] + 0.45 * food + rng.normal(0, 0.08, n)
    moms = {"nt": national, "town": national - 0.08 * food + rng.normal(0, 0.05, n),
            "cnt": national + 0.22 * food + rng.normal(0, 0.06, n)}
    out = {}
    for prefix, mom in moms.items():
        level = _chain(mom)
        yoy = np.round(_yoy(level), 1)
        out |= {f"{prefix}_val": np.round(100 + yoy, 1), f"{prefix}_yoy": yoy, f"{prefix}_mom": np.round(mom, 1),
                f"{prefix}_accu": np.round(100 + _ytd_yoy(level, moy), 1)}
    return out


def _ppi(rng: np.random.Generator, moy: np.ndarray, commodity: np.ndarray) -> dict[str, np.ndarray]:
    n = moy.size
    general = _ar1(rng, n, 0.9, 0.06)
    moms = {leaf: drift + general + beta * commodity + rng.normal(0, sd, n)
            for leaf, (beta, drift, sd) in _PPI_PARTS.items()}
    for group, weights in _PPI_GROUPS.items():
        moms[group] = sum(w * moms[leaf] for leaf, w in weights.items())
    moms[""] = 0.74 * moms["mp"] + 0.26 * moms["cg"]
    out = {}
    for key, mom in moms.items():
        stem = f"ppi_{key}_" if key else "ppi_"
        level = _chain(mom)
        out |= {stem + "yoy": np.round(_yoy(level), 1), stem + "mom": np.round(mom, 1),
                stem + "accu": np.round(_ytd_yoy(level, moy), 1)}
    return out


def _money(rng: np.random.Generator, grid: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name, (anchors, start, season, sd) in _M_YOY.items():
        yoy = _anchored(grid, _months(anchors)) + _ar1(rng, grid.size, 0.9, 0.3)
        pattern = np.array(season) - np.mean(season)
        growth = np.log1p(yoy / 100.0) / 12.0 + pattern[grid % 12] / 100.0 + rng.normal(0, sd / 100.0, grid.size)
        growth[0] = 0.0
        level = start * np.exp(np.cumsum(growth))
        out |= {name: np.round(level, 2), f"{name}_yoy": np.round(_yoy(level), 1),
                f"{name}_mom": np.round(_yoy(level, 1), 2)}
    return out


def _pmi(rng: np.random.Generator, labels: list[str], commodity: np.ndarray) -> dict[str, np.ndarray]:
    n = len(labels)
    cycle, services = _ar1(rng, n, 0.8, 0.55), _ar1(rng, n, 0.7, 0.4)
    for i, label in enumerate(labels):
        shock = _PMI_SHOCKS.get(label, (0.0, 0.0))
        cycle[i] += shock[0]
        services[i] += shock[1]
    out: dict[str, np.ndarray] = {}
    for field, parent, base, beta, price, sd in _PMI:
        noise = _ar1(rng, n, 0.5, sd)
        if parent is not None:
            out[field] = out[parent] + base + noise
        else:
            extra = services if field.startswith("pmi02") else 0.0
            out[field] = base + beta * cycle + extra + price * commodity + noise
    out["pmi030000"] = 0.4 * out["pmi010400"] + 0.6 * out["pmi020100"] + rng.normal(0, 0.2, n)
    out = {k: np.round(np.clip(v, 20.0, 80.0), 1) for k, v in out.items()}
    out["pmi030000"][np.array(labels) < COMPOSITE_PMI_FROM] = np.nan
    return out


def _gdp(rng: np.random.Generator, cpi_yoy: np.ndarray, ppi_yoy: np.ndarray) -> tuple[dict, dict]:
    """Cumulative (year-to-date) GDP and industries on the quarter grid, first and revised vintages."""
    quarters = np.arange(GRID_QUARTER, LAST_QUARTER + 1)
    n = quarters.size
    growth = np.array([_GDP_QUARTERS.get(quarter_label(q), _GDP_GROWTH[q // 4]) for q in quarters])
    growth = growth + rng.normal(0, 0.15, n)
    quarterly = [np.nan_to_num(v).reshape(-1, 3).mean(axis=1) for v in (cpi_yoy, ppi_yoy)]  # 2008: unused
    deflator = 0.6 * quarterly[0] + 0.35 * quarterly[1] - 0.3 + rng.normal(0, 0.3, n)
    nominal = np.empty(n)
    nominal[:4] = _GDP_2008 * np.array(_GDP_SEASON)
    for t in range(4, n):
        nominal[t] = nominal[t - 4] * (1 + growth[t] / 100) * (1 + deflator[t] / 100)
    trend = (quarters // 4 - 2008) / 18.0
    season = quarters % 4
    share_p = np.array([.058, .085, .11, .118])[season] * (1 - 0.25 * trend)
    share_s = 0.47 - 0.09 * trend + np.array([-.02, .01, 0, .01])[season] + rng.normal(0, .004, n)
    single = {"pi": nominal * share_p, "si": nominal * share_s}
    single["ti"] = nominal - single["pi"] - single["si"]
    real = {"pi": 3.5 + 0.1 * (growth - 6) + rng.normal(0, .4, n), "si": growth - 0.4 + 0.3 * (growth - 6)
            + rng.normal(0, .4, n)}
    weight = {k: np.roll(v, 4) / np.roll(nominal, 4) for k, v in single.items()}
    real["ti"] = (growth - weight["pi"] * real["pi"] - weight["si"] * real["si"]) / weight["ti"]
    real["gdp"], single["gdp"] = growth, nominal
    first = {}
    for key in ("gdp", "pi", "si", "ti"):
        level, prior, weighted = (np.zeros(n) for _ in range(3))
        for t in range(n):
            carry = t % 4 != 0
            level[t] = single[key][t] + (level[t - 1] if carry else 0.0)
            if t >= 4:
                prior[t] = single[key][t - 4] + (prior[t - 1] if carry else 0.0)
                weighted[t] = single[key][t - 4] * real[key][t] + (weighted[t - 1] if carry else 0.0)
        yoy = np.where(prior > 0, weighted / np.where(prior > 0, prior, 1.0), np.nan)
        first[key], first[f"{key}_yoy"] = np.round(level, 1), np.round(yoy, 1)
    first["gdp"] = np.round(first["pi"] + first["si"] + first["ti"], 1)
    sign = np.where(rng.random(n) < 0.7, 1.0, -1.0)
    revised = {}
    for key in ("pi", "si", "ti"):
        revised[key] = np.round(first[key] * (1 + sign * rng.uniform(0.001, 0.006, n)), 1)
    revised["gdp"] = np.round(revised["pi"] + revised["si"] + revised["ti"], 1)
    for key in ("gdp", "pi", "si", "ti"):
        revised[f"{key}_yoy"] = np.round(first[f"{key}_yoy"] + sign * rng.choice([0.0, 0.1, 0.1, 0.2], n), 1)
    return first, revised


def _china_values(seed: int) -> _ChinaValues:
    grid = np.arange(GRID_MONTH, LAST_MONTH + 1)
    moy = grid % 12
    rng = _rng(seed, "china")
    commodity = _ar1(rng, grid.size, 0.85, 0.25)
    monthly = _cpi(_rng(seed, "cpi"), moy) | _ppi(_rng(seed, "ppi"), moy, commodity)
    monthly |= _money(_rng(seed, "money"), grid)
    monthly |= _pmi(_rng(seed, "pmi"), [month_label(i) for i in grid], commodity)
    first, revised = _gdp(_rng(seed, "gdp"), monthly["nt_yoy"], monthly["ppi_yoy"])
    return _ChinaValues(monthly, first, revised)


# ---------------------------------------------------------------------------------------------------
# Chinese release calendar (shared by the series, cn_schedule and eco_cal)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Release:
    period: str  # YYYYMM or YYYYQn
    day: dt.date  # Beijing date
    at: int  # epoch seconds


def _cn_releases(seed: int) -> dict[str, dict[str, _Release]]:
    """Release instants per NBS/PBoC release family, keyed by period (ascending)."""
    rng = _rng(seed, "cn-releases")
    out: dict[str, dict[str, _Release]] = {k: {} for k in ("prices", "pmi", "money", "gdp", "activity", "housing")}

    def put(family: str, period: str, day: dt.date, hour: int, minute: int = 0) -> None:
        out[family][period] = _Release(period, day, beijing_at(day, hour, minute))

    for q in range(FIRST_QUARTER, LAST_QUARTER + 4):  # three more: the revision instants
        year, m0 = divmod(q * 3 + 3, 12)
        put("gdp", quarter_label(q), weekday_between(rng, year, m0 + 1, 15, 18), 10)
    for i in range(FIRST_MONTH, LAST_MONTH + 1):
        label, (year, m0) = month_label(i), divmod(i + 1, 12)
        put("prices", label, weekday_between(rng, year, m0 + 1, 9, 13), 9, 30)
        month_end = dt.date(year, m0 + 1, 1) - dt.timedelta(days=1)
        put("pmi", label, month_end if rng.random() >= 0.15 else month_end + dt.timedelta(days=1), 9, 30)
        put("money", label, weekday_between(rng, year, m0 + 1, 10, 15), 16)
        own = weekday_between(rng, year, m0 + 1, 14, 17)
        day = out["gdp"][quarter_label(i // 3)].day if i % 3 == 2 else own
        if i % 12 != 0:  # January is published with February
            put("activity", label, day, 10)
        put("housing", label, day, 9, 30)
    return out


_SCHEDULE = (  # (release family, data_api, issuing org, title)
    ("prices", "cn_cpi", "国家统计局", "{}居民消费价格指数(CPI)"),
    ("prices", "cn_ppi", "国家统计局", "{}工业生产者出厂价格指数(PPI)"),
    ("pmi", "cn_pmi", "国家统计局", "{}中国采购经理指数(PMI)"),
    ("money", "cn_m", "中国人民银行", "{}金融统计数据报告(货币供应量)"),
    ("gdp", "cn_gdp", "国家统计局", "{}国内生产总值(GDP)初步核算结果"),
    ("activity", None, "国家统计局", "{}规模以上工业增加值"),
    ("activity", None, "国家统计局", "{}社会消费品零售总额"),
    ("housing", "待上线", "国家统计局", "{}70个大中城市商品住宅销售价格变动情况"),
)
_QUARTER_NAMES = "一二三四"


def schedule_period(period: str, family: str) -> tuple[str, str]:
    """``(month, title prefix)`` of a release period as ``cn_schedule`` shows it.

    >>> schedule_period("2026Q3", "gdp")
    ('202609', '2026年三季度')
    >>> schedule_period("202602", "activity"), schedule_period("202610", "prices")
    (('202602', '2026年1-2月份'), ('202610', '2026年10月份'))
    """
    if "Q" in period:
        q = int(period[-1])
        return f"{period[:4]}{q * 3:02d}", f"{period[:4]}年{_QUARTER_NAMES[q - 1]}季度"
    months = "1-2" if family == "activity" and period[4:] == "02" else str(int(period[4:]))
    return period, f"{period[:4]}年{months}月份"


# ---------------------------------------------------------------------------------------------------
# Daily rates: Shibor (XSHG sessions) and the US Treasury curves (XNYS sessions)
# ---------------------------------------------------------------------------------------------------

_SHIBOR_3M = (("20100101", 1.65), ("20100630", 2.4), ("20101231", 4.6), ("20110630", 5.5), ("20111231", 5.4),
              ("20120630", 4.2), ("20121231", 3.9), ("20130630", 5.8), ("20131231", 5.6), ("20140630", 4.9),
              ("20141231", 4.8), ("20150630", 3.2), ("20151231", 3.1), ("20160630", 2.9), ("20161231", 3.3),
              ("20170630", 4.9), ("20171231", 4.9), ("20180630", 4.3), ("20181231", 3.3), ("20190630", 2.8),
              ("20191231", 3.0), ("20200430", 1.45), ("20201231", 2.75), ("20210630", 2.45), ("20211231", 2.5),
              ("20220630", 2.0), ("20221231", 2.4), ("20230630", 2.3), ("20231231", 2.55), ("20240630", 1.95),
              ("20241231", 1.7), ("20250630", 1.6), ("20261231", 1.55))
_SHIBOR_TENORS = (("on", .72, 0, .12), ("1w", .85, 0, .07), ("2w", .9, 0, .05), ("1m", .95, 0, .03),
                  ("3m", 1.0, 0, .01), ("6m", 1.0, .08, .01), ("9m", 1.0, .13, .01), ("1y", 1.0, .18, .01))

_FED_UPPER = (("201001", .25), ("201512", .5), ("201612", .75), ("201703", 1.0), ("201706", 1.25),
              ("201712", 1.5), ("201803", 1.75), ("201806", 2.0), ("201809", 2.25), ("201812", 2.5),
              ("201907", 2.25), ("201909", 2.0), ("201910", 1.75), ("202003", .25), ("202203", .5),
              ("202205", 1.0), ("202206", 1.75), ("202207", 2.5), ("202209", 3.25), ("202211", 4.0),
              ("202212", 4.5), ("202302", 4.75), ("202303", 5.0), ("202305", 5.25), ("202307", 5.5),
              ("202409", 5.0), ("202411", 4.75), ("202412", 4.5), ("202509", 4.25), ("202510", 4.0),
              ("202512", 3.75), ("202603", 3.5))
_FOMC_MONTHS = (1, 3, 5, 6, 7, 9, 11, 12)
_UST_2Y = (("20100101", 1.0), ("20110101", .6), ("20120101", .25), ("20140101", .4), ("20150101", .6),
           ("20160101", .9), ("20170101", 1.2), ("20171231", 1.9), ("20181101", 2.9), ("20190601", 1.9),
           ("20200201", 1.4), ("20200401", .25), ("20210701", .25), ("20211231", .7), ("20220315", 1.9),
           ("20220615", 3.2), ("20221101", 4.5), ("20230301", 4.9), ("20230315", 4.0), ("20230701", 4.9),
           ("20231020", 5.1), ("20231231", 4.25), ("20240425", 5.0), ("20240915", 3.6), ("20250110", 4.3),
           ("20250601", 3.9), ("20251231", 3.5), ("20261231", 3.4))
_UST_10Y = (("20100101", 3.8), ("20100405", 3.9), ("20101008", 2.4), ("20110210", 3.7), ("20110922", 1.8),
            ("20120725", 1.4), ("20130101", 1.9), ("20130905", 3.0), ("20141231", 2.2), ("20150610", 2.4),
            ("20160708", 1.4), ("20161215", 2.6), ("20170901", 2.1), ("20181108", 3.2), ("20190903", 1.5),
            ("20200309", .6), ("20200804", .55), ("20210319", 1.7), ("20211231", 1.5), ("20220614", 3.4),
            ("20221024", 4.2), ("20230406", 3.3), ("20231019", 4.95), ("20231227", 3.8), ("20240425", 4.7),
            ("20240916", 3.6), ("20250114", 4.8), ("20250601", 4.4), ("20251231", 4.1), ("20261231", 4.1))
_UST_30Y_SPREAD = (("20100101", .8), ("20110101", 1.2), ("20130101", .9), ("20150101", .6), ("20170101", .5),
                   ("20181001", .15), ("20191001", .5), ("20201001", .8), ("20211001", .4), ("20221001", .05),
                   ("20231001", .15), ("20241001", .3), ("20251001", .55), ("20261231", .6))
_UST_BREAKEVEN = (("20100101", 2.35), ("20101001", 1.6), ("20110401", 2.6), ("20111001", 1.8), ("20130101", 2.5),
                  ("20130701", 2.0), ("20150101", 1.7), ("20160201", 1.5), ("20180501", 2.2), ("20190901", 1.6),
                  ("20200320", .9), ("20210501", 2.5), ("20220401", 3.0), ("20221001", 2.3), ("20240101", 2.2),
                  ("20261231", 2.3))
_TYCR = (("m1", 1 / 12), ("m2", 2 / 12), ("m3", .25), ("m4", 1 / 3), ("m6", .5), ("y1", 1.0), ("y2", 2.0),
         ("y3", 3.0), ("y5", 5.0), ("y7", 7.0), ("y10", 10.0), ("y20", 20.0), ("y30", 30.0))
_BILLS = (("w4", "m1", 28), ("w8", "m2", 56), ("w13", "m3", 91), ("w17", "m4", 119), ("w26", "m6", 182),
          ("w52", "y1", 364))
_REAL = (("y5", -.05), ("y7", -.02), ("y10", 0.0), ("y20", .05), ("y30", .06))


def _sessions(exchange: str) -> list[dt.date]:
    with warnings.catch_warnings():  # exchange_calendars still reads Series.values (a pandas deprecation)
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray", category=DeprecationWarning)
        calendar = xcals.get_calendar(exchange, start="2005-01-01", end=LAST_DAY.isoformat())
    return [d for d in (s.date() for s in calendar.sessions) if d >= FIRST_DAY]


def fomc_meetings() -> list[tuple[dt.date, float]]:
    """FOMC decision days (a Wednesday in the second half of a meeting month) and the new upper bound.

    >>> meetings = dict(fomc_meetings())
    >>> meetings[dt.date(2022, 12, 14)], meetings[dt.date(2020, 3, 18)]
    (4.5, 0.25)
    """
    anchors = [(int(m), rate) for m, rate in _FED_UPPER]
    out = []
    for year in range(FIRST_DAY.year, LAST_DAY.year + 1):
        for month_no in _FOMC_MONTHS:
            first = dt.date(year, month_no, 14)
            day = first + dt.timedelta(days=(2 - first.weekday()) % 7)
            rate = [r for m, r in anchors if m <= year * 100 + month_no][-1]
            out.append((day, rate))
    return out


def _shibor(seed: int) -> _Table:
    rng = _rng(seed, "shibor")
    days = _sessions("XSHG")
    n = len(days)
    ordinal = np.array([d.toordinal() for d in days])
    base = _anchored(ordinal, _days(_SHIBOR_3M)) * np.exp(_ar1(rng, n, 0.985, 0.012))
    quarter_end = np.array([d.month % 3 == 0 and d.day >= 24 for d in days])
    values = {}
    for name, scale, offset, sd in _SHIBOR_TENORS:
        noise = _ar1(rng, n, 0.85, sd) * base / 3.0
        spike = quarter_end * rng.uniform(0, 0.5 if name in ("on", "1w") else 0.1, n)
        values[name] = np.round(np.maximum(base * scale + offset + noise + spike, 0.4), 3)
    labels = [fmt_day(d) for d in days]
    return _table("shibor", labels, [beijing_at(d, 11) for d in days], values)


def _treasuries(seed: int) -> dict[str, _Table]:
    rng = _rng(seed, "treasury")
    days = _sessions("XNYS")
    n = len(days)
    ordinal = np.array([d.toordinal() for d in days])
    meetings = fomc_meetings()
    decided = [day for day, _ in meetings]
    upper = np.array([meetings[bisect.bisect_right(decided, d) - 1][1] if d >= decided[0] else 0.25 for d in days])
    short = np.maximum(upper - 0.12 + _ar1(rng, n, 0.9, 0.012), 0.01)
    y2 = _anchored(ordinal, _days(_UST_2Y)) + _ar1(rng, n, 0.97, 0.03)
    y10 = _anchored(ordinal, _days(_UST_10Y)) + _ar1(rng, n, 0.98, 0.04)
    y30 = y10 + _anchored(ordinal, _days(_UST_30Y_SPREAD)) + _ar1(rng, n, 0.95, 0.01)
    knots = np.log([0.25, 2.0, 10.0, 30.0])
    nominal = {}
    for name, tenor in _TYCR:
        weight = np.interp(np.log(tenor), knots, [0, 1, 2, 3])
        low = np.floor(weight).astype(int)
        frac = weight - low
        points = np.column_stack([short, y2, y10, y30, y30])
        curve = points[:, low] * (1 - frac) + points[:, min(low + 1, 4)] * frac
        hump = 0.12 * np.exp(-((np.log(tenor) - np.log(20.0)) ** 2) / 0.2)
        below = max(0.0, 0.25 - tenor) * 0.15
        nominal[name] = np.maximum(curve + hump - below + rng.normal(0, 0.008, n), 0.01)
    tycr = {k: np.round(v, 2) for k, v in nominal.items()}
    for name, since in SERIES_START.items():
        tycr[name] = np.where(np.array(days) >= since, tycr[name], np.nan)
    tbr = {}
    for bill, tenor, days_to_maturity in _BILLS:
        ce = np.maximum(nominal[tenor] + rng.normal(0, 0.01, n), 0.01)
        price = 100.0 / (1.0 + ce / 100.0 * days_to_maturity / 365.0)
        bd = (100.0 - price) / 100.0 * 360.0 / days_to_maturity * 100.0
        since = SERIES_START.get(tenor)
        valid = np.array(days) >= since if since else np.ones(n, dtype=bool)
        tbr[f"{bill}_bd"] = np.where(valid, np.round(bd, 2), np.nan)
        tbr[f"{bill}_ce"] = np.where(valid, np.round(ce, 2), np.nan)
    breakeven = _anchored(ordinal, _days(_UST_BREAKEVEN)) + _ar1(rng, n, 0.97, 0.02)
    trycr = {name: np.round(nominal[name] - breakeven - offset + rng.normal(0, 0.01, n), 2) for name, offset in _REAL}
    tltr = {"cmt": tycr["y20"], "ltc": np.round(0.45 * nominal["y20"] + 0.55 * nominal["y30"] + 0.02
                                                 + rng.normal(0, 0.01, n), 2), "e_factor": np.full(n, np.nan)}
    labels = [fmt_day(d) for d in days]
    appears = [beijing_at(d + dt.timedelta(days=1), 8) for d in days]
    return {api: _table(api, labels, appears, values)
            for api, values in (("us_tycr", tycr), ("us_tbr", tbr), ("us_trycr", trycr), ("us_tltr", tltr))}


# ---------------------------------------------------------------------------------------------------
# eco_cal: China and US events
# ---------------------------------------------------------------------------------------------------

_US_CPI = (("200801", 4.3), ("200807", 5.6), ("200907", -2.1), ("201001", 2.6), ("201011", 1.1), ("201109", 3.9),
           ("201207", 1.4), ("201404", 2.0), ("201501", -.1), ("201512", .7), ("201701", 2.5), ("201806", 2.9),
           ("201905", 1.8), ("201912", 2.3), ("202005", .1), ("202106", 5.4), ("202206", 9.1), ("202306", 3.0),
           ("202406", 3.0), ("202409", 2.4), ("202506", 2.7), ("202612", 2.6))
_US_JOBLESS = (("200801", 5.0), ("200910", 10.0), ("201012", 9.3), ("201212", 7.9), ("201412", 5.6), ("201612", 4.7),
               ("201812", 3.9), ("202002", 3.5), ("202004", 14.7), ("202012", 6.7), ("202112", 3.9), ("202304", 3.4),
               ("202407", 4.3), ("202612", 4.4))


@dataclass(frozen=True)
class _Event:
    at: int
    known: int
    date: str
    time: str
    currency: str
    country: str
    event: str
    value: str
    pre_value: str | None
    fore_value: str | None


def _event(at: int, currency: str, country: str, name: str, value: str, pre: str | None, fore: str | None) -> _Event:
    moment = dt.datetime.fromtimestamp(at, BEIJING)
    known = beijing_at(known_from(moment.date()), 0)
    return _Event(at, known, moment.strftime("%Y%m%d"), moment.strftime("%H:%M"), currency, country, name,
                  value, pre, fore)


def _series_events(rng: np.random.Generator, currency: str, country: str, name: str,
                   dated: Sequence[tuple[int, float]], prior: float, spread: float,
                   fmt: Callable[[float], str]) -> list[_Event]:
    """One event per ``(instant, value)``; the previous value and a noisy forecast alongside."""
    out = []
    for at, value in dated:
        fore = value + float(rng.normal(0, spread))
        out.append(_event(at, currency, country, name, fmt(value), fmt(prior), fmt(fore)))
        prior = value
    return out


def _china_events(rng: np.random.Generator, china: _ChinaValues,
                  releases: dict[str, dict[str, _Release]]) -> list[_Event]:
    """CN rows: at the very release instants of the series, with the series' (first) values."""
    events: list[_Event] = []
    for name, field, family, spread, fmt in (
            ("中国CPI年率", "nt_yoy", "prices", 0.2, _pct), ("中国PPI年率", "ppi_yoy", "prices", 0.3, _pct),
            ("中国官方制造业PMI", "pmi010000", "pmi", 0.3, "{:.1f}".format),
            ("中国官方非制造业PMI", "pmi020100", "pmi", 0.3, "{:.1f}".format),
            ("中国M2货币供应年率", "m2_yoy", "money", 0.2, _pct)):
        values = china.monthly[field]
        dated = [(releases[family][month_label(i)].at, float(values[i - GRID_MONTH]))
                 for i in range(FIRST_MONTH, LAST_MONTH + 1)]
        events += _series_events(rng, "CNY", "中国", name, dated, float(values[FIRST_MONTH - GRID_MONTH - 1]),
                                 spread, fmt)
    gdp = china.gdp_first["gdp_yoy"]
    dated = [(releases["gdp"][quarter_label(q)].at, float(gdp[q - GRID_QUARTER]))
             for q in range(FIRST_QUARTER, LAST_QUARTER + 1)]
    prior = float(gdp[FIRST_QUARTER - GRID_QUARTER - 1])
    return events + _series_events(rng, "CNY", "中国", "中国GDP年率", dated, prior, 0.1, _pct)


def _us_events(rng: np.random.Generator) -> list[_Event]:
    """US rows: CPI (a weekday 10th-15th), payrolls and unemployment (first Friday), ISM (first weekday),
    advance GDP (a late Thursday) at their New York times, and the FOMC decisions at 14:00 New York."""
    grid = np.arange(GRID_MONTH, LAST_MONTH + 1)
    offset = FIRST_MONTH - GRID_MONTH
    us_cpi = _anchored(grid, _months(_US_CPI)) + _ar1(rng, grid.size, 0.8, 0.12)
    jobless = _anchored(grid, _months(_US_JOBLESS)) + _ar1(rng, grid.size, 0.6, 0.06)
    payrolls = 160.0 - 1500.0 * np.diff(jobless, prepend=jobless[0]) + rng.normal(0, 70, grid.size)
    ism = 52.0 + _ar1(rng, grid.size, 0.85, 1.3) - 10.0 * (grid == 2020 * 12 + 3)
    cpi_at, nfp_at, ism_at = [], [], []
    for i in range(FIRST_MONTH, LAST_MONTH + 1):
        year, m0 = divmod(i + 1, 12)
        cpi_at.append(new_york_at(weekday_between(rng, year, m0 + 1, 10, 15), 8, 30))
        first = dt.date(year, m0 + 1, 1)
        nfp_at.append(new_york_at(first + dt.timedelta(days=(4 - first.weekday()) % 7), 8, 30))
        ism_at.append(new_york_at(first + dt.timedelta(days={5: 2, 6: 1}.get(first.weekday(), 0)), 10))
    events: list[_Event] = []
    for name, at, values, spread, fmt in (
            ("美国CPI年率", cpi_at, us_cpi, 0.1, _pct), ("美国失业率", nfp_at, jobless, 0.1, _pct),
            ("美国季调后非农就业人口", nfp_at, payrolls, 60.0, "{:.0f}K".format),
            ("美国ISM制造业PMI", ism_at, ism, 1.0, "{:.1f}".format)):
        dated = list(zip(at, np.round(values[offset:], 1).tolist()))
        events += _series_events(rng, "USD", "美国", name, dated, float(values[offset - 1]), spread, fmt)
    gdp_at, gdp_values = [], []
    for q in range(FIRST_QUARTER, LAST_QUARTER + 1):
        year, m0 = divmod(q * 3 + 3, 12)
        late = dt.date(year, m0 + 1, 28)
        gdp_at.append(new_york_at(late - dt.timedelta(days=(late.weekday() - 3) % 7), 8, 30))
        shock = {"2020Q1": -7.5, "2020Q2": -30.0, "2020Q3": 31.0}.get(quarter_label(q), 0.0)
        gdp_values.append(round(2.2 + shock + float(rng.normal(0, 1.3)), 1))
    events += _series_events(rng, "USD", "美国", "美国实际GDP年化季率初值", list(zip(gdp_at, gdp_values)),
                             5.7, 0.5, _pct)
    decisions = [(new_york_at(day, 14), rate) for day, rate in fomc_meetings()]
    for (at, rate), prior in zip(decisions, [0.25] + [r for _, r in decisions[:-1]]):
        events.append(_event(at, "USD", "美国", "美联储利率决议(上限)", f"{rate:.2f}%", f"{prior:.2f}%",
                             f"{rate:.2f}%"))
    return events


def _calendar(seed: int, china: _ChinaValues, releases: dict[str, dict[str, _Release]]) -> list[_Event]:
    events = _china_events(_rng(seed, "eco-cal-cn"), china, releases) + _us_events(_rng(seed, "eco-cal-us"))
    return sorted(events, key=lambda e: (e.at, e.event))


# ---------------------------------------------------------------------------------------------------
# Revisions of published values
# ---------------------------------------------------------------------------------------------------

REVISABLE = {"cn_cpi": "month", "cn_ppi": "month", "cn_m": "month", "cn_pmi": "month", "cn_gdp": "quarter"}
# api -> derived field -> (its sources, how it follows them)
DERIVED: dict[str, dict[str, tuple[tuple[str, ...], Callable[..., float]]]] = {
    "cn_cpi": {f"{p}_val": ((f"{p}_yoy",), lambda yoy: 100.0 + yoy) for p in ("nt", "town", "cnt")},
    "cn_gdp": {"gdp": (("pi", "si", "ti"), lambda pi, si, ti: pi + si + ti)},
}


class BadRevision(ValueError):
    """A revision the world cannot make; the message says what would be accepted."""


@dataclass(frozen=True)
class _Revision:
    at: int  # epoch seconds from which answers carry the values
    values: dict[str, float | None]


def revision_values(api: str, values: Mapping[str, Any]) -> dict[str, float | None]:
    """Check one revision's ``field -> value`` against ``api``'s fields; numbers come back as floats.

    >>> revision_values("cn_cpi", {"nt_yoy": 2, "nt_mom": None})
    {'nt_yoy': 2.0, 'nt_mom': None}
    >>> revision_values("cn_cpi", {"nt_val": 102.7})
    Traceback (most recent call last):
    ...
    tushare_rollout.tushare.server.macro.BadRevision: cn_cpi.nt_val follows nt_yoy: revise nt_yoy instead
    """
    if api not in REVISABLE:
        raise BadRevision(f"{api} cannot be revised: only {', '.join(sorted(REVISABLE))} are")
    if not values:
        raise BadRevision("a revision needs at least one field -> value")
    names = APIS[api].field_names
    out: dict[str, float | None] = {}
    for name, value in values.items():
        if name not in names[1:]:
            raise BadRevision(f"{api} has no revisable field {name!r} (fields: {', '.join(names[1:])})")
        if name in DERIVED.get(api, {}):
            sources = DERIVED[api][name][0]
            raise BadRevision(f"{api}.{name} follows {' + '.join(sources)}: revise {', '.join(sources)} instead")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise BadRevision(f"{api}.{name}: a revised value is a finite number or null, got {value!r}")
        out[name] = None if value is None else float(value)
    return out


def _derive(api: str, row: dict[str, Any], touched: set[str]) -> dict[str, Any]:
    """Recompute the derived fields of ``row`` whose sources were revised (``touched``), as the generator does."""
    for name, (sources, rule) in DERIVED.get(api, {}).items():
        if touched.intersection(sources):
            args = [row[s] for s in sources]
            row[name] = None if None in args else float(np.round(rule(*args), 1))
    return row


# ---------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------


class MacroWorld:
    """Deterministic FX and macro data; ``rows(api, params, now)`` answers one call.

    Everything is generated lazily per family (FX, China, Shibor, Treasuries, calendar) on first use
    and kept; later calls only slice.
    """

    APIS: frozenset[str] = frozenset({
        "fx_obasic", "fx_daily", "cn_gdp", "cn_cpi", "cn_ppi", "cn_m", "shibor", "cn_pmi",
        "us_tycr", "us_trycr", "us_tbr", "us_tltr", "eco_cal", "cn_schedule",
    })

    def __init__(self, seed: int = 20240101) -> None:
        self.seed = seed
        self._handlers: dict[str, Callable[[str, Mapping[str, Any], int], list[dict[str, Any]]]] = {
            "fx_obasic": self._fx_obasic, "fx_daily": self._fx_daily, "cn_gdp": self._cn_gdp,
            "cn_cpi": self._monthly, "cn_ppi": self._monthly, "cn_m": self._monthly, "cn_pmi": self._monthly,
            "shibor": self._daily, "us_tycr": self._daily, "us_trycr": self._daily, "us_tbr": self._daily,
            "us_tltr": self._daily, "eco_cal": self._eco_cal, "cn_schedule": self._cn_schedule,
        }
        self._revisions: dict[tuple[str, str], tuple[_Revision, ...]] = {}  # (api, period) -> by instant
        self._revisions_lock = threading.Lock()

    def rows(self, api: str, params: Mapping[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
        """All rows of ``api`` matching ``params`` that exist at ``now`` (an aware datetime)."""
        if api not in self._handlers:
            raise KeyError(f"{api} is not an FX or macro API")
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        return self._handlers[api](api, params, int(now.timestamp()))

    def revise(self, api: str, period: str, values: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
        """Serve ``values`` for ``period`` of ``api`` from ``at`` on (see the module docstring).

        Returns the period's row as answers at ``at`` carry it (also when the period is not out yet).
        Raises :class:`BadRevision` for an API, period, field or value it cannot revise.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("at must be timezone-aware")
        checked = revision_values(api, values)
        read = month if REVISABLE[api] == "month" else quarter
        try:
            label = read({"period": period}, "period") or ""
        except BadParams as exc:
            raise BadRevision(f"{api}: {exc}") from None
        table = self._gdp_tables[0] if api == "cn_gdp" else self._monthly_tables[api]
        index = bisect.bisect_left(table.labels, label)
        if index == len(table.labels) or table.labels[index] != label:
            raise BadRevision(f"{api} has no period {period!r} ({table.labels[0]} through {table.labels[-1]})")
        at_ts = int(at.timestamp())
        with self._revisions_lock:
            stacked = (*self._revisions.get((api, label), ()), _Revision(at_ts, checked))
            self._revisions[(api, label)] = tuple(sorted(stacked, key=lambda r: r.at))  # stable: ties keep order
        return self._served(api, [index], at_ts)[0]

    def _served(self, api: str, picks: list[int], now_ts: int) -> list[dict[str, Any]]:
        """The rows of ``picks`` as answered at ``now_ts``: the generated vintage, then the revisions made by then."""
        if api == "cn_gdp":
            first, revised, revision = self._gdp_tables
            rows = [(revised if now_ts >= revision[i] else first).rows([i])[0] for i in picks]
        else:
            rows = self._monthly_tables[api].rows(picks)
        if not self._revisions:
            return rows
        key = REVISABLE[api]
        out = []
        for row in rows:
            revisions = [r for r in self._revisions.get((api, row[key]), ()) if r.at <= now_ts]
            if revisions:
                touched: set[str] = set()
                for r in revisions:
                    row.update(r.values)
                    touched.update(r.values)
                row = _derive(api, row, touched)
            out.append(row)
        return out

    # -- generated families ----------------------------------------------------------------------

    @cached_property
    def _fx(self) -> _FxBars:
        return _fx_bars(self.seed)

    @cached_property
    def _china(self) -> _ChinaValues:
        return _china_values(self.seed)

    @cached_property
    def _releases(self) -> dict[str, dict[str, _Release]]:
        return _cn_releases(self.seed)

    @cached_property
    def _monthly_tables(self) -> dict[str, _Table]:
        offset = FIRST_MONTH - GRID_MONTH
        labels = [month_label(i) for i in range(FIRST_MONTH, LAST_MONTH + 1)]
        values = {k: v[offset:] for k, v in self._china.monthly.items()}
        family = {"cn_cpi": "prices", "cn_ppi": "prices", "cn_m": "money", "cn_pmi": "pmi"}
        return {api: _table(api, labels, [self._releases[f][m].at for m in labels], values)
                for api, f in family.items()}

    @cached_property
    def _gdp_tables(self) -> tuple[_Table, _Table, np.ndarray]:
        """First and revised vintages (same labels and release instants) and each quarter's revision instant."""
        offset = FIRST_QUARTER - GRID_QUARTER
        quarters = range(FIRST_QUARTER, LAST_QUARTER + 1)
        labels = [quarter_label(q) for q in quarters]
        gdp = self._releases["gdp"]
        appears = [gdp[label].at for label in labels]
        first, revised = ({k: v[offset:] for k, v in vintage.items()}
                          for vintage in (self._china.gdp_first, self._china.gdp_revised))
        revision = np.array([gdp[quarter_label(q + 3)].at for q in quarters], dtype=np.int64)
        return _table("cn_gdp", labels, appears, first), _table("cn_gdp", labels, appears, revised), revision

    @cached_property
    def _daily_tables(self) -> dict[str, _Table]:
        return {"shibor": _shibor(self.seed)} | _treasuries(self.seed)

    @cached_property
    def _events(self) -> tuple[list[_Event], np.ndarray, list[str]]:
        events = _calendar(self.seed, self._china, self._releases)
        return events, np.array([e.known for e in events], dtype=np.int64), [e.date for e in events]

    @cached_property
    def _schedule(self) -> tuple[list[dict[str, Any]], np.ndarray]:
        entries = []
        for family, data_api, org, title in _SCHEDULE:
            for period, release in self._releases[family].items():
                if period > quarter_label(LAST_QUARTER) and "Q" in period:
                    continue
                month_field, prefix = schedule_period(period, family)
                row = {"month": month_field, "publish_date": fmt_day(release.day), "title": title.format(prefix),
                       "issuing_org": org, "data_api": data_api}
                entries.append((release.at, title, release.day, row))
        entries.sort(key=lambda e: (e[0], e[1]))
        known = np.array([beijing_at(known_from(day), 0) for _, _, day, _ in entries], dtype=np.int64)
        return [row for _, _, _, row in entries], known

    # -- handlers ----------------------------------------------------------------------------------

    def _fx_obasic(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        wanted, exchange, classify = codes(params), text(params, "exchange"), text(params, "classify")
        if exchange is not None and exchange.upper() != "FXCM":
            return []
        out = []
        for s in sorted(_FX, key=lambda s: s.code):
            code = f"{s.code}.FXCM"
            if (wanted is not None and code not in wanted) or (classify is not None and s.classify != classify.upper()):
                continue
            min_unit, max_unit, min_stop, hours, pause = _FX_TERMS[s.classify]
            out.append({"ts_code": code, "name": s.name, "classify": s.classify, "exchange": "FXCM",
                        "min_unit": min_unit, "max_unit": max_unit, "pip": float(s.pip), "pip_cost": float(s.pip_cost),
                        "traget_spread": float(s.spread), "min_stop_distance": min_stop, "trading_hours": hours,
                        "break_time": pause})
        return out

    def _fx_daily(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        lo, hi = _day_range(params, "trade_date")
        wanted, exchange = codes(params), text(params, "exchange")
        if exchange is not None and exchange.upper() != "FXCM":
            return []
        fx = self._fx
        columns = [j for j, s in enumerate(fx.specs) if wanted is None or f"{s.code}.FXCM" in wanted]
        end = int(np.searchsorted(fx.ends, now_ts, side="right"))
        if hi is not None:
            end = min(end, bisect.bisect_right(fx.days, hi))
        start = bisect.bisect_left(fx.days, lo) if lo is not None else 0
        if not columns or end <= start:
            return []
        names = [f"{fx.specs[j].code}.FXCM" for j in columns]
        days = fx.days[start:end]
        flat = [q[start:end, columns][::-1].ravel().tolist() for q in (*fx.quotes, fx.ticks)]
        out = [{"ts_code": code, "trade_date": day, "bid_open": bo, "bid_close": bc, "bid_high": bh, "bid_low": bl,
                "ask_open": ao, "ask_close": ac, "ask_high": ah, "ask_low": al, "tick_qty": ticks, "exchange": "FXCM"}
               for code, day, bo, bc, bh, bl, ao, ac, ah, al, ticks
               in zip(names * len(days), [d for d in reversed(days) for _ in names], *flat)]
        return out

    def _monthly(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        table = self._monthly_tables[api]
        return self._served(api, table.pick(now_ts, *_periods(params, "m", "start_m", "end_m", month)), now_ts)

    def _cn_gdp(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        picks = self._gdp_tables[0].pick(now_ts, *_periods(params, "q", "start_q", "end_q", quarter))
        return self._served(api, picks, now_ts)

    def _daily(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        table = self._daily_tables[api]
        lo, hi = _day_range(params, "date")
        return table.rows(table.pick(now_ts, None, lo, hi))

    def _eco_cal(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        lo, hi = _day_range(params, "date")
        currency, country, event = text(params, "currency"), text(params, "country"), text(params, "event")
        events, known, dates = self._events
        end = int(np.searchsorted(known, now_ts, side="right"))
        if hi is not None:
            end = min(end, bisect.bisect_right(dates, hi))
        start = bisect.bisect_left(dates, lo) if lo is not None else 0
        out = []
        for e in reversed(events[start:end]):
            if currency is not None and e.currency != currency.upper():
                continue
            if country is not None and e.country != country:
                continue
            if event is not None and not (fnmatch.fnmatchcase(e.event, event) if "*" in event else e.event == event):
                continue
            out.append({"date": e.date, "time": e.time, "currency": e.currency, "country": e.country,
                        "event": e.event, "value": e.value if now_ts >= e.at else None,
                        "pre_value": e.pre_value, "fore_value": e.fore_value})
        return out

    def _cn_schedule(self, api: str, params: Mapping[str, Any], now_ts: int) -> list[dict[str, Any]]:
        wanted = _periods(params, "m", "start_m", "end_m", month)[0]  # cn_schedule takes m only
        title = text(params, "title")
        rows, known = self._schedule
        end = int(np.searchsorted(known, now_ts, side="right"))
        return [dict(r) for r in reversed(rows[:end])
                if (wanted is None or r["month"] in wanted) and (title is None or title in r["title"])]
