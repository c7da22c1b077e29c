"""Gate D's minute checks, and the trading sessions they measure against.

**Sessions (pure).** A one-minute bar is labelled by its END time. A-shares, ETFs and indices have 240
bars a trading day, 09:31-11:30 and 13:01-15:00 Beijing time; some vendors add a 09:30 auction bar,
which is tolerated: counted neither missing nor extra. Futures follow their product's session
(:data:`FUTURES`): CFFEX like the A-shares, the commodity exchanges 09:01-10:15, 10:31-11:30 and
13:31-15:00, plus, on the night exchanges, a night session stamped with the evening of the previous
open day. There is no night session after a holiday break (the previous open day more than
:data:`NIGHT_GAP_DAYS` calendar days back) nor on a contract's first trading day.

>>> friday, monday = dt.date(2024, 1, 5), dt.date(2024, 1, 8)
>>> [len(s.expected(monday, friday)) for s in (A_SHARE, FUTURES["IF"], FUTURES["CU"], FUTURES["SI"])]
[240, 240, 345, 225]
>>> FUTURES["CU"].expected(monday, friday)[0].isoformat()  # Friday night belongs to Monday
'2024-01-05T21:01:00+08:00'
>>> len(FUTURES["CU"].expected(dt.date(2024, 1, 2), dt.date(2023, 12, 29)))  # after the New Year break
225
>>> len(FUTURES["CU"].expected(monday, friday, first_day=True))  # a contract's first day has no night
225

**Measuring (SQL).** :func:`measure` counts the stored bars per code and trading day in PostgreSQL
(grouped by code, Beijing date and session segment; minute rows never come to Python), for the
status matrix's ``minutes`` cells and for the checks at the end of this module.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from ..ingest.datasets import Dataset, Plan, equity_class
from .model import Check, Gate, Measurement

if TYPE_CHECKING:
    from .context import Context

BEIJING = dt.timezone(dt.timedelta(hours=8))
NIGHT_GAP_DAYS = 3  # a night session runs only when the previous open day is at most this many days earlier
NIGHT_FROM = dt.time(20, 0)  # a bar from this time on is a night bar: it belongs to the next open day
NIGHT_UNTIL = dt.time(3, 0)  # a bar before this time is a night bar past midnight
MINUTES_PER_DAY = 24 * 60
SAMPLE = 10


def _minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


# -- sessions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Consecutive one-minute bars labelled ``first`` to ``last`` (end times, inclusive); a night
    segment may run past midnight.

    >>> len(Segment(dt.time(9, 31), dt.time(11, 30))), len(Segment(dt.time(21, 1), dt.time(2, 30)))
    (120, 330)
    >>> Segment(dt.time(21, 1), dt.time(1, 0)).ranges()  # minutes of the day, for SQL
    [(1261, 1439), (0, 60)]
    """

    first: dt.time
    last: dt.time

    def __len__(self) -> int:
        return (_minute(self.last) - _minute(self.first)) % MINUTES_PER_DAY + 1

    def ranges(self) -> list[tuple[int, int]]:
        lo, hi = _minute(self.first), _minute(self.last)
        return [(lo, hi)] if lo <= hi else [(lo, MINUTES_PER_DAY - 1), (0, hi)]

    def labels(self, date: dt.date) -> list[dt.datetime]:
        start = dt.datetime.combine(date, self.first, BEIJING)
        return [start + dt.timedelta(minutes=i) for i in range(len(self))]


@dataclass(frozen=True)
class Session:
    name: str
    day: tuple[Segment, ...]
    night: Segment | None = None  # stamped with the evening of the previous open day
    tolerated: tuple[dt.time, ...] = ()  # labels a vendor may add: counted neither missing nor extra

    def has_night(self, day: dt.date, previous_open: dt.date | None, first_day: bool = False) -> bool:
        """A night session before ``day``: not after a holiday break, nor on a contract's first day."""
        return (self.night is not None and previous_open is not None and not first_day
                and (day - previous_open).days <= NIGHT_GAP_DAYS)

    def expected(self, day: dt.date, previous_open: dt.date | None, first_day: bool = False) -> list[dt.datetime]:
        """The labels (aware, Beijing) of trading day ``day``, in time order."""
        night = self.night.labels(previous_open) if self.night and self.has_night(day, previous_open,
                                                                                 first_day) else []
        return night + [label for segment in self.day for label in segment.labels(day)]

    def allowed(self, day: dt.date) -> list[dt.datetime]:
        return [dt.datetime.combine(day, t, BEIJING) for t in self.tolerated]


T = dt.time
_TWO_HALVES = (Segment(T(9, 31), T(11, 30)), Segment(T(13, 1), T(15, 0)))
A_SHARE = Session("A-share", _TWO_HALVES, tolerated=(T(9, 30),))  # stocks, ETFs, indices
_COMMODITY_DAY = (Segment(T(9, 1), T(10, 15)), Segment(T(10, 31), T(11, 30)), Segment(T(13, 31), T(15, 0)))
_NIGHT = Segment(T(21, 1), T(23, 0))
EXCHANGES: dict[str, Session] = {
    "CFFEX": Session("CFFEX", _TWO_HALVES),
    **{x: Session(x, _COMMODITY_DAY, _NIGHT) for x in ("SHFE", "INE", "DCE", "CZCE")},
    "GFEX": Session("GFEX", _COMMODITY_DAY),
}
# Per product, so that a product's own hours can be declared; a product not listed here follows its
# exchange's default (instrument.exchange). Every entry is its exchange's default, which is what the
# local Tushare server produces. Real hours differ: CU, AL and ZN trade at night until 01:00, AU, AG
# and INE's SC until 02:30, and T by day until 15:15. To follow the vendor's real bars, change the
# entry here, e.g. "CU": Session("CU", _COMMODITY_DAY, Segment(T(21, 1), T(1, 0))).
FUTURES: dict[str, Session] = {
    **{p: EXCHANGES["SHFE"] for p in ("CU", "AL", "ZN", "AU", "AG", "RB")},
    "SC": EXCHANGES["INE"],
    **{p: EXCHANGES["DCE"] for p in ("M", "Y", "I", "C")},
    **{p: EXCHANGES["CZCE"] for p in ("SR", "CF", "TA", "MA")},
    **{p: EXCHANGES["CFFEX"] for p in ("IF", "IC", "T")},
    "SI": EXCHANGES["GFEX"],
}


def session_for(asset_class: str, product: str | None = None, exchange: str | None = None) -> Session:
    """The session of an instrument: A-shares for stocks, ETFs and indices; a future's product, else its exchange.

    >>> session_for("etf").name, session_for("future", "AU").name, session_for("future", "NEW", "GFEX").name
    ('A-share', 'SHFE', 'GFEX')
    """
    if asset_class != "future":
        return A_SHARE
    session = FUTURES.get(product or "") or EXCHANGES.get(exchange or "")
    if session is None:
        raise ValueError(f"no trading session declared for futures product {product!r} on {exchange!r}: "
                         "add it to FUTURES in tushare_rollout/gates/intraday.py")
    return session


def _part(t: dt.time) -> str:
    return "night" if t >= NIGHT_FROM else "late" if t < NIGHT_UNTIL else "day"


def _attribute(date: dt.date, part: str, open_days: Sequence[dt.date]) -> dt.date | None:
    if part == "day":
        return date
    i = bisect.bisect_right(open_days, date) if part == "night" else bisect.bisect_left(open_days, date)
    return open_days[i] if i < len(open_days) else None


def trading_day(moment: dt.datetime, open_days: Sequence[dt.date]) -> dt.date | None:
    """The trading day a bar labelled ``moment`` belongs to: its Beijing date for a day bar; for a night
    bar (from 20:00) the next open day after its date; past midnight (before 03:00) the next open day on
    or after its date. ``open_days`` is sorted; ``None`` when the day lies beyond it.

    >>> days = [dt.date(2024, 1, 5), dt.date(2024, 1, 8)]
    >>> at = lambda s: dt.datetime.fromisoformat(s + "+08:00")
    >>> [trading_day(at(s), days) for s in ("2024-01-05 14:59", "2024-01-05 21:01", "2024-01-06 01:00")]
    [datetime.date(2024, 1, 5), datetime.date(2024, 1, 8), datetime.date(2024, 1, 8)]
    >>> trading_day(at("2024-01-08 21:01"), days) is None, trading_day(at("2024-01-04 13:05"), days)
    (True, datetime.date(2024, 1, 4))
    >>> trading_day(dt.datetime(2024, 1, 5, 13, 30, tzinfo=dt.timezone.utc), days)  # 21:30 Beijing
    datetime.date(2024, 1, 8)
    """
    local = moment.astimezone(BEIJING)
    return _attribute(local.date(), _part(local.time()), open_days)


def ranges(labels: Sequence[dt.datetime]) -> list[str]:
    """Labels as Beijing times, consecutive minutes joined into one range.

    >>> at = lambda s: dt.datetime.fromisoformat(s + "+08:00")
    >>> ranges([at("2024-01-05 21:01"), at("2024-01-05 21:02"), at("2024-01-05 21:03"), at("2024-01-08 10:31")])
    ['2024-01-05 21:01..21:03', '2024-01-08 10:31']
    """
    out: list[list[dt.datetime]] = []
    for t in sorted(x.astimezone(BEIJING) for x in labels):
        if out and t - out[-1][-1] == dt.timedelta(minutes=1):
            out[-1].append(t)
        else:
            out.append([t])
    return [f"{r[0]:%Y-%m-%d %H:%M}" + (f"..{r[-1]:%H:%M}" if len(r) > 1 else "") for r in out]


# -- what is stored, per followed scope and trading day -----------------------------------------------------


@dataclass
class CodeDay:
    """One followed scope (a code; for futures a product) on one open day: the bars it should have and
    the stored bars of that trading day (all of them, whatever their label)."""

    scope: str
    day: dt.date
    previous_open: dt.date | None
    code: str | None = None  # the stored code; futures: the product's most traded contract of the day
    asset_class: str | None = None
    session: Session | None = None
    traded: bool = False  # a daily bar is stored (futures: one with volume), so the day has a session
    first_day: bool = False  # the contract's first trading day: no night session
    daily_volume: float | None = None
    daily_high: float | None = None
    daily_low: float | None = None
    bars: int = 0
    present: int = 0  # bars on an expected label
    tolerated: int = 0  # bars on a tolerated label (the 09:30 auction bar)
    volume: float | None = None  # of every stored bar of the trading day
    high: float | None = None
    low: float | None = None

    @property
    def night(self) -> bool:
        return bool(self.traded and self.session and self.session.has_night(self.day, self.previous_open,
                                                                             self.first_day))

    def labels(self) -> list[dt.datetime]:
        if not self.traded or self.session is None:
            return []
        return self.session.expected(self.day, self.previous_open, self.first_day)

    @property
    def expected(self) -> int:
        return len(self.labels())

    @property
    def missing(self) -> int:
        return self.expected - self.present

    @property
    def unexpected(self) -> int:
        return self.bars - self.present - self.tolerated


@dataclass
class MinuteHistory:
    dataset: Dataset
    calendar: list[dt.date]  # the dataset calendar's open days, from a month before the window
    since: dict[str, dt.date | None]  # followed scope -> the day its minute history is expected from
    days: list[CodeDay] = field(default_factory=list)  # per followed scope and open day since it is followed


CALENDAR_MARGIN = dt.timedelta(days=31)  # open days looked up before the window (a night's previous open day)


def followed_since(conn: Connection, dataset: str) -> dict[str, dt.date | None]:
    return dict(conn.execute(text(
        "SELECT scope, start_date FROM ingest_targets WHERE dataset = :d AND enabled AND scope <> 'market'"
        " ORDER BY scope"), {"d": dataset}).all())


def measure(conn: Connection, dataset: Dataset, first: dt.date, last: dt.date) -> MinuteHistory:
    """Per followed scope and open day of ``first..last`` (from the scope's start date): the expected
    session, the daily bar and the stored bars of that trading day."""
    calendar = list(conn.execute(text(
        "SELECT cal_date FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date BETWEEN :a AND :b"
        " ORDER BY cal_date"), {"x": dataset.calendar, "a": first - CALENDAR_MARGIN, "b": last}).scalars())
    history = MinuteHistory(dataset, calendar, followed_since(conn, dataset.name))
    previous = {d: calendar[i - 1] for i, d in enumerate(calendar) if i}
    days = {(scope, d): CodeDay(scope, d, previous.get(d)) for scope, start in history.since.items()
            for d in calendar if first <= d <= last and (start is None or d >= start)}
    if not days:
        return history
    if dataset.asset_class == "future":
        _contracts(conn, days, first, last)
    else:
        _daily_bars(conn, dataset, days, first, last)
    _count(conn, days, calendar, first, last)
    history.days = sorted(days.values(), key=lambda c: (c.scope, c.day))
    return history


def _contracts(conn: Connection, days: dict[tuple[str, dt.date], CodeDay], first: dt.date, last: dt.date) -> None:
    """Each product's most traded contract of each day: the contract ``ft_mins`` follows (the same choice
    as the ingest: the largest daily volume among real contracts, then the smallest code)."""
    rows = conn.execute(text(
        "SELECT DISTINCT ON (i.product_code, b.trade_date) i.product_code, b.trade_date, b.code, i.exchange,"
        " i.list_date, b.volume, b.high, b.low FROM daily_bar b"
        " JOIN instrument i ON i.asset_class = 'future' AND i.code = b.code"
        " WHERE b.asset_class = 'future' AND i.product_code = ANY(:products) AND i.attrs ? 'd_month'"
        " AND b.trade_date BETWEEN :a AND :b AND b.volume > 0"
        " ORDER BY i.product_code, b.trade_date, b.volume DESC, b.code"),
        {"products": sorted({s for s, _ in days}), "a": first, "b": last}).all()
    for product, day, code, exchange, list_date, volume, high, low in rows:
        cd = days.get((product, day))
        if cd is None:
            continue
        cd.code, cd.asset_class, cd.session, cd.traded = code, "future", session_for("future", product, exchange), True
        cd.first_day = list_date == day
        cd.daily_volume, cd.daily_high, cd.daily_low = volume, high, low


def _daily_bars(conn: Connection, dataset: Dataset, days: dict[tuple[str, dt.date], CodeDay], first: dt.date,
                last: dt.date) -> None:
    for cd in days.values():
        cd.code, cd.asset_class = cd.scope, dataset.asset_class or equity_class(cd.scope)
        cd.session = session_for(cd.asset_class)
    classes = {cd.code: cd.asset_class for cd in days.values()}
    rows = conn.execute(text(
        "SELECT asset_class, code, trade_date, volume, high, low FROM daily_bar"
        " WHERE asset_class = ANY(:acs) AND code = ANY(:codes) AND trade_date BETWEEN :a AND :b"),
        {"acs": sorted(set(classes.values())), "codes": sorted(classes), "a": first, "b": last}).all()
    for ac, code, day, volume, high, low in rows:
        cd = days.get((code, day))
        if cd is not None and classes[code] == ac:
            cd.traded, cd.daily_volume, cd.daily_high, cd.daily_low = True, volume, high, low


def _count(conn: Connection, days: dict[tuple[str, dt.date], CodeDay], calendar: list[dt.date], first: dt.date,
           last: dt.date) -> None:
    """The stored bars per code and trading day, counted in PostgreSQL per Beijing date, part of the day
    (day, night, past midnight) and session segment (day, night, tolerated, or none)."""
    by_code = {(cd.code, cd.day): cd for cd in days.values() if cd.code is not None}
    sessions = {cd.code: (cd.asset_class, cd.session) for cd in by_code.values() if cd.session is not None}
    if not sessions:
        return
    segments = []
    for code, (_, session) in sessions.items():
        segments += [(code, "day", lo, hi) for s in session.day for lo, hi in s.ranges()]
        segments += [(code, "night", lo, hi) for lo, hi in (session.night.ranges() if session.night else [])]
        segments += [(code, "tolerated", _minute(t), _minute(t)) for t in session.tolerated]
    codes, names, los, his = (list(x) for x in zip(*segments))
    i = bisect.bisect_left(calendar, first)  # from the open day before the window: its evening's night bars
    start = calendar[i - 1] if i else first - dt.timedelta(days=NIGHT_GAP_DAYS + 1)
    rows = conn.execute(text("""
        WITH seg AS (SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:los AS int[]),
                                          CAST(:his AS int[])) AS s(code, name, lo, hi)),
        b AS (
            SELECT asset_class, code, trade_time AT TIME ZONE 'Asia/Shanghai' AS t, volume, high, low
            FROM minute_bar WHERE freq = '1min' AND asset_class = ANY(:acs) AND code = ANY(:all_codes)
              AND trade_time >= :a AND trade_time < :b)
        SELECT b.asset_class, b.code, b.t::date,
               CASE WHEN b.t::time >= :night THEN 'night' WHEN b.t::time < :late THEN 'late' ELSE 'day' END,
               s.name, count(*), sum(b.volume), max(b.high), min(b.low)
        FROM b LEFT JOIN seg s ON s.code = b.code AND date_trunc('minute', b.t) = b.t
          AND CAST(extract(hour FROM b.t) * 60 + extract(minute FROM b.t) AS int) BETWEEN s.lo AND s.hi
        GROUP BY 1, 2, 3, 4, 5"""), {
        "codes": codes, "names": names, "los": los, "his": his, "acs": sorted({ac for ac, _ in sessions.values()}),
        "all_codes": sorted(sessions), "night": NIGHT_FROM, "late": NIGHT_UNTIL,
        "a": dt.datetime.combine(start, dt.time(0), BEIJING),
        "b": dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), BEIJING)}).all()
    for ac, code, date, part, segment, n, volume, high, low in rows:
        cd = by_code.get((code, _attribute(date, part, calendar)))
        if cd is None or ac != cd.asset_class:
            continue  # another day's bars, or a contract not followed that day
        cd.bars += n
        if not cd.traded:
            pass  # no session that day: every bar is unexpected
        elif segment == "day" or (segment == "night" and cd.night):
            cd.present += n
        elif segment == "tolerated":
            cd.tolerated += n
        if volume is not None:
            cd.volume = (cd.volume or 0) + volume
        cd.high = high if cd.high is None or (high is not None and high > cd.high) else cd.high
        cd.low = low if cd.low is None or (low is not None and low < cd.low) else cd.low


def label_sample(conn: Connection, history: MinuteHistory, cd: CodeDay, limit: int = SAMPLE) -> dict[str, list[str]]:
    """The missing and the unexpected labels of one scope's trading day (its stored labels, one index
    range scan), as Beijing-time ranges."""
    stored = []
    if cd.code is not None:
        start = cd.previous_open or cd.day - dt.timedelta(days=NIGHT_GAP_DAYS + 1)
        stored = [t for t in conn.execute(text(
            "SELECT trade_time FROM minute_bar WHERE asset_class = :ac AND code = :c AND freq = '1min'"
            " AND trade_time >= :a AND trade_time < :b ORDER BY trade_time"),
            {"ac": cd.asset_class, "c": cd.code, "a": dt.datetime.combine(start, dt.time(0), BEIJING),
             "b": dt.datetime.combine(cd.day + dt.timedelta(days=1), dt.time(0), BEIJING)}).scalars()
            if trading_day(t, history.calendar) == cd.day]
    expected = cd.labels()
    allowed = set(expected) | set(cd.session.allowed(cd.day) if cd.session and cd.traded else [])
    have = set(stored)
    return {"missing_sample": ranges([t for t in expected if t not in have])[:limit],
            "unexpected_sample": ranges([t for t in stored if t not in allowed])[:limit]}


# -- the checks ---------------------------------------------------------------------------------------------


def _minute_datasets(ctx: Context) -> list[Dataset]:
    return [d for d in ctx.datasets if d.plan is Plan.MINUTES]


def _coverage(ctx: Context) -> list[Measurement]:
    """The status matrix's ``minutes`` cells (so the matrix a person reads agrees with the gate)."""
    out = []
    for d in _minute_datasets(ctx):
        bad = [c for c in ctx.cells(d.name) if c.status in ("partial", "missing")]
        value = sum(c.explain.get("missing", 0) + c.explain.get("unexpected", 0) for c in bad)
        sample = []
        for c in bad:
            contract = c.explain.get("code")
            keys = [f"missing {', '.join(c.explain['missing_sample'])}" if c.explain.get("missing_sample") else "",
                    f"unexpected {', '.join(c.explain['unexpected_sample'])}"
                    if c.explain.get("unexpected_sample") else ""]
            sample.append(f"{c.scope}{f' ({contract})' if contract and contract != c.scope else ''} {c.period}:"
                          f" {c.reason}" + "".join(f" - {k}" for k in keys if k))
        out.append(Measurement(value, d.name, partition=bad[0].period if bad else None, sample=sample[:SAMPLE],
                               message=f"{value} bars missing or unexpected in {len(bad)} code-days" if bad else ""))
    return out


def _reconciled(ctx: Context) -> list[tuple[Dataset, list[CodeDay]]]:
    """Per minute dataset in force, its code-days with both a daily bar and stored minute bars."""
    out = []
    for d in _minute_datasets(ctx):
        history = measure(ctx.conn, d, ctx.first, ctx.last_due(d))
        out.append((d, [cd for cd in history.days if cd.traded and cd.bars]))
    return out


def _name(cd: CodeDay) -> str:
    return f"{cd.scope}{f' ({cd.code})' if cd.code != cd.scope else ''} {cd.day:%Y%m%d}"


def _volume(ctx: Context) -> list[Measurement]:
    out = []
    for d, days in _reconciled(ctx):
        off = []
        for cd in days:
            daily, minutes = cd.daily_volume or 0.0, cd.volume or 0.0
            gap = abs(minutes - daily) / daily if daily else (1.0 if minutes else 0.0)
            if gap > 0:
                off.append((gap, cd))
        off.sort(key=lambda x: (-x[0], x[1].scope, x[1].day))
        worst = off[0][0] if off else 0.0
        out.append(Measurement(worst, d.name, partition=f"{off[0][1].day:%Y%m%d}" if off else None,
                               sample=[f"{_name(cd)}: minutes sum to {cd.volume:g}, the daily bar says "
                                       f"{cd.daily_volume:g} ({gap:.3%})" for gap, cd in off[:SAMPLE]],
                               message=f"{len(off)} of {len(days)} code-days differ; the worst by {worst:.3%}"
                               if off else f"{len(days)} code-days add up"))
    return out


RANGE_EPSILON = 1e-6  # relative: prices are stored as doubles


def _range(ctx: Context) -> list[Measurement]:
    out = []
    for d, days in _reconciled(ctx):
        bad = []
        for cd in days:
            if cd.daily_high is None or cd.daily_low is None or cd.high is None or cd.low is None:
                continue
            eps = RANGE_EPSILON * max(abs(cd.daily_high), 1.0)
            if cd.high > cd.daily_high + eps or cd.low < cd.daily_low - eps:
                bad.append(f"{_name(cd)}: minutes span [{cd.low:g}, {cd.high:g}], the daily bar"
                           f" [{cd.daily_low:g}, {cd.daily_high:g}]")
        out.append(Measurement(len(bad), d.name, sample=bad[:SAMPLE],
                               message=f"{len(bad)} code-days leave the daily range" if bad else ""))
    return out


def _num(x: float | None) -> str:
    return "NULL" if x is None else f"{x:g}"


REALTIME_TIME = {"realtime_quote": "snapshot_at", "realtime_minute_bar": "bar_time"}


def _realtime(ctx: Context) -> list[Measurement]:
    """Realtime rows are provisional snapshots: only that each one is a possible bar."""
    out = []
    for d in (d for d in ctx.datasets if d.plan is Plan.REALTIME):
        table = d.targets[0].table
        when = REALTIME_TIME[table]
        found = (f"FROM {table} WHERE asset_class = ANY(:acs) AND {when} >= :a AND {when} < :b"
                 " AND (high < low OR close < low OR close > high)")
        params = {"acs": [d.asset_class] if d.asset_class else ["stock", "etf"],
                  "a": dt.datetime.combine(ctx.first, dt.time(0), BEIJING),
                  "b": dt.datetime.combine(ctx.last + dt.timedelta(days=1), dt.time(0), BEIJING)}
        n = ctx.conn.execute(text(f"SELECT count(*) {found}"), params).scalar_one()
        rows = ctx.conn.execute(text(f"SELECT code, {when}, low, high, close {found} ORDER BY {when}, code"
                                     f" LIMIT {SAMPLE}"), params).all() if n else []
        out.append(Measurement(n, d.name, sample=[
            f"{code} {t.astimezone(BEIJING):%Y-%m-%d %H:%M}: low {_num(lo)} high {_num(hi)} close {_num(c)}"
            for code, t, lo, hi, c in rows],
            message=f"{n} {table} rows" if n else ""))
    return out


CHECKS = [
    Check("reconciliation.minute_bars_expected", Gate.RECONCILIATION,
          "one-minute bars missing or unexpected against each followed code's session on each open day it traded"
          " (futures: the product's most traded contract, night session included)", 0, 0, _coverage,
          how_to_fix="`tushare-rollout status --explain stk_mins/CODE/YYYYMMDD` names the bars; re-ingest the"
                     " code's window (`job ingest --batch P2 --dataset stk_mins --start ... --end ...`)"),
    Check("reconciliation.minute_volume_sums_to_daily", Gate.RECONCILIATION,
          "largest relative difference between a code-day's summed minute volume and its daily bar's volume",
          0.001, 0.005, _volume,
          how_to_fix="re-ingest the code's minute window and the day's daily bars; a vendor may leave out "
                     "after-hours trades (raise the thresholds for them)"),
    Check("reconciliation.minute_range_inside_daily", Gate.RECONCILIATION,
          "code-days whose minute high/low leave the daily bar's [low, high]", 0, 0, _range,
          how_to_fix="the minute bars or the daily bar are stale: re-ingest both for the day"),
    Check("quality.realtime_ohlc_envelope", Gate.QUALITY,
          "realtime quotes and minute bars with high < low or a close outside [low, high]", 0, 0, _realtime,
          how_to_fix="realtime rows are provisional: compare with the vendor's snapshot; the next one replaces it"),
]
