"""The SSOT status matrix: every target (dataset x scope x period) checked against the stored rows.

What *should* exist comes from the stored trading calendar and the listed universe (see
:mod:`.coverage`); what *does* exist is counted in the data tables. Run logs are never consulted
(the one exception, ``suspend_d``, reads the checkpoint that committed with its rows, because an
empty answer is valid data there).

Each dataset's cells over a window are computed by one set-based pass: per day, the instruments
listed (a running sum over listing events), minus full-day suspensions, against the rows stored,
less the rows that should not be there (outside a listing, on a suspended day, unknown codes;
found by index probes per instrument, not by scanning the table twice). Cells that are not
``complete`` get a sample of the keys that are missing or unexpected.
"""

from __future__ import annotations

import calendar as _calendar
import functools
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from ..db import metadata
from ..gates import intraday
from ..ingest.datasets import DATASETS, GMT_WEEKDAYS
from ..ingest.vintages import BEIJING, RULES, period_end
from .coverage import COVERAGE, Coverage, Expect

SAMPLE = 10  # keys per explain sample
SHORT_WINDOW_DAYS = 31  # up to this many days, one pass over the window's rows beats per-instrument probes
SAMPLED_CELLS = 200  # cells per refresh that get a key sample (the rest: `status --explain` computes it)
MARKET = "market"
CLOSED = "market closed"
FLAG_OFF = "flag off"
NO_PERMISSION = "no permission"
RELEASE_GRACE = dt.timedelta(hours=12)  # a macro period is expected this long after its official release
NOT_FOLLOWED = "no longer followed (removed from spec.universe)"
NOT_LISTED = "not yet listed"
DELISTED = "delisted"
NOT_YET_FOLLOWED = "before the code was followed (its minute history starts later)"
NOT_TRADED = "did not trade (no daily bar: suspended, not listed, or not loaded)"


@dataclass
class Cell:
    dataset: str
    scope: str
    period: str
    period_date: dt.date
    status: str
    expected: int
    present: int
    rule: str
    reason: str | None = None
    explain: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{self.dataset}/{self.scope}/{self.period}"


def _ymd(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def _verdict(expected: int, present_ok: int, unexpected: int) -> tuple[str, str | None]:
    """The status of a cell from its counts (expected > 0).

    >>> _verdict(5, 5, 0), _verdict(5, 0, 0)
    (('complete', None), ('missing', 'none of 5 expected rows stored'))
    >>> _verdict(5, 4, 0), _verdict(5, 5, 1), _verdict(0, 0, 2)
    (('partial', '1 of 5 expected rows missing'), ('partial', '1 unexpected rows'), ('partial', '2 unexpected rows'))
    """
    missing = expected - present_ok
    if missing <= 0 and unexpected == 0:
        return "complete", None
    if present_ok <= 0 and expected > 0:
        return "missing", f"none of {expected} expected rows stored"
    parts = [f"{missing} of {expected} expected rows missing" if missing > 0 else "",
             f"{unexpected} unexpected rows" if unexpected else ""]
    return "partial", "; ".join(p for p in parts if p)


def _filter(rule: Coverage, alias: str = "") -> str:
    """``asset_class = :ac AND`` when the table holds several asset classes."""
    has = "asset_class" in metadata.tables[rule.table].c
    return f"{alias}asset_class = :ac AND " if has and rule.asset_class else ""


def _listed(alias: str, day: str) -> str:
    return (f"{alias}.list_date <= {day} AND ({alias}.delist_date IS NULL OR {day} < {alias}.delist_date + :incl)")


def _days(conn: Connection, exchange: str, first: dt.date, last: dt.date) -> list[tuple[dt.date, bool]]:
    """Each calendar day and whether it is a session: the stored calendar (the SSOT) for the exchanges we
    load; FX trades every GMT weekday; US curves follow NYSE sessions (exchange_calendars' XNYS)."""
    every = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if exchange == GMT_WEEKDAYS:
        return [(d, d.weekday() < 5) for d in every]
    if exchange == "XNYS":
        return [(d, d in _nyse_sessions(d.year)) for d in every]
    return [tuple(r) for r in conn.execute(text(
        "SELECT cal_date, is_open FROM trade_calendar WHERE exchange = :x AND cal_date BETWEEN :a AND :b"
        " ORDER BY cal_date"), {"x": exchange, "a": first, "b": last})]


@functools.cache
def _nyse_sessions(year: int) -> frozenset[dt.date]:
    import warnings

    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sessions = xcals.get_calendar("XNYS").sessions_in_range(f"{year}-01-01", f"{year}-12-31")
    return frozenset(s.date() for s in sessions)


def _closed(day: dt.date, rule: Coverage) -> Cell:
    kind = "weekend" if day.weekday() >= 5 else "holiday"
    return Cell(rule.dataset, MARKET, _ymd(day), day, "not_applicable", 0, 0, rule.expect.value, CLOSED,
                {"calendar": rule.calendar, "closed": kind, "rule": rule.describe})


# -- LISTED: the market's instruments per open day ------------------------------------------------------


def _listed_counts(conn: Connection, rule: Coverage, first: dt.date, last: dt.date) -> dict[dt.date, dict[str, int]]:
    """Per open day: listed, suspended, stored and unexpected row counts."""
    p = {"ac": rule.asset_class, "a": first, "b": last, "cal": rule.calendar,
         "incl": 1 if rule.delist_inclusive else 0}
    f = _filter(rule)
    rows = conn.execute(text(f"""
        WITH days AS (
            SELECT cal_date AS d FROM trade_calendar WHERE exchange = :cal AND is_open AND cal_date BETWEEN :a AND :b),
        ev AS (
            SELECT list_date AS d, 1 AS k FROM instrument WHERE asset_class = :ac AND list_date IS NOT NULL
            UNION ALL
            SELECT delist_date + :incl, -1 FROM instrument
            WHERE asset_class = :ac AND list_date IS NOT NULL AND delist_date IS NOT NULL),
        marks AS (SELECT d, k, 0 AS o FROM ev UNION ALL SELECT d, 0, 1 FROM days),
        running AS (SELECT d, o, sum(k) OVER (ORDER BY d, o ROWS UNBOUNDED PRECEDING) AS n FROM marks),
        present AS (
            SELECT trade_date AS d, count(*) AS n FROM {rule.table}
            WHERE {f} trade_date BETWEEN :a AND :b GROUP BY trade_date)
        SELECT r.d, r.n, coalesce(p.n, 0) FROM running r LEFT JOIN present p ON p.d = r.d WHERE r.o = 1
        ORDER BY r.d"""), p).all()
    out = {d: {"listed": int(n), "present": int(present), "suspended": 0, "unexpected": 0} for d, n, present in rows}
    if not out:
        return out
    bf = _filter(rule, "b.")
    extra: list[tuple[dt.date, str, int]] = []
    if rule.minus_suspensions:
        extra += [(d, "suspended", n) for d, n in conn.execute(text(f"""
            SELECT s.trade_date, count(*) FROM stock_suspension s
            JOIN instrument i ON i.asset_class = :ac AND i.code = s.code AND {_listed("i", "s.trade_date")}
            WHERE s.suspend_type = 'S' AND NULLIF(s.suspend_timing, '') IS NULL AND s.trade_date BETWEEN :a AND :b
            GROUP BY s.trade_date"""), p)]
        extra += [(d, "unexpected", n) for d, n in conn.execute(text(f"""
            SELECT s.trade_date, count(*) FROM stock_suspension s
            JOIN instrument i ON i.asset_class = :ac AND i.code = s.code AND {_listed("i", "s.trade_date")}
            JOIN {rule.table} b ON {bf} b.code = s.code AND b.trade_date = s.trade_date
            WHERE s.suspend_type = 'S' AND NULLIF(s.suspend_timing, '') IS NULL AND s.trade_date BETWEEN :a AND :b
            GROUP BY s.trade_date"""), p)]
    if (last - first).days <= SHORT_WINDOW_DAYS:
        # a short window (a day's refresh): one pass over its rows finds those outside a listing or unknown
        extra += [(d, "unexpected", n) for d, n in conn.execute(text(f"""
            SELECT b.trade_date, count(*) FROM {rule.table} b
            LEFT JOIN instrument i ON i.asset_class = :ac AND i.code = b.code
            WHERE {bf} b.trade_date BETWEEN :a AND :b AND NOT coalesce({_listed("i", "b.trade_date")}, false)
            GROUP BY b.trade_date"""), p)]
    else:
        # a long window: two index range probes per instrument for rows outside its listing ...
        extra += [(d, "unexpected", n) for d, n in conn.execute(text(f"""
            SELECT x.d, count(*) FROM instrument i, LATERAL (
                SELECT b.trade_date AS d FROM {rule.table} b
                WHERE {bf} b.code = i.code AND b.trade_date >= :a
                  AND b.trade_date <= least(CAST(:b AS date), coalesce(i.list_date, CAST(:b AS date) + 1) - 1)
                UNION ALL
                SELECT b.trade_date FROM {rule.table} b
                WHERE {bf} b.code = i.code AND i.list_date IS NOT NULL AND i.delist_date IS NOT NULL
                  AND b.trade_date >= greatest(CAST(:a AS date), i.delist_date + :incl) AND b.trade_date <= :b) x
            WHERE i.asset_class = :ac GROUP BY x.d"""), p)]
        # ... and a loose index scan for codes no instrument list knows
        unknown = _unknown_codes(conn, rule)
        if unknown:
            extra += [(d, "unexpected", n) for d, n in conn.execute(text(
                f"SELECT trade_date, count(*) FROM {rule.table} WHERE {f} code = ANY(:codes)"
                " AND trade_date BETWEEN :a AND :b GROUP BY trade_date"), {**p, "codes": unknown})]
    for d, key, n in extra:
        if d in out:
            out[d][key] += int(n)
    return out


def _unknown_codes(conn: Connection, rule: Coverage) -> list[str]:
    """Codes with rows but no instrument: a loose index scan (one probe per distinct code)."""
    f = _filter(rule)
    return list(conn.execute(text(f"""
        WITH RECURSIVE codes AS (
            (SELECT code FROM {rule.table} WHERE {f} TRUE ORDER BY code LIMIT 1)
            UNION ALL
            SELECT (SELECT code FROM {rule.table} WHERE {f} code > c.code ORDER BY code LIMIT 1)
            FROM codes c WHERE c.code IS NOT NULL)
        SELECT code FROM codes WHERE code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM instrument i WHERE i.asset_class = :ac AND i.code = codes.code)"""),
        {"ac": rule.asset_class}).scalars())


def _listed_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date) -> list[Cell]:
    counts = _listed_counts(conn, rule, first, last)
    cells = []
    for day, is_open in _days(conn, rule.calendar, first, last):
        if not is_open:
            cells.append(_closed(day, rule))
            continue
        c = counts.get(day, {"listed": 0, "present": 0, "suspended": 0, "unexpected": 0})
        expected = c["listed"] - c["suspended"]
        ok = c["present"] - c["unexpected"]
        explain = {"rule": rule.describe, "calendar": rule.calendar, "expected": expected, "present": ok,
                   "listed": c["listed"], "suspended": c["suspended"], "unexpected": c["unexpected"],
                   "missing": max(expected - ok, 0)}
        if expected <= 0 and c["unexpected"] == 0:
            cells.append(Cell(rule.dataset, MARKET, _ymd(day), day, "not_applicable", 0, ok, rule.expect.value,
                              NOT_LISTED, explain))
            continue
        status, reason = _verdict(expected, ok, c["unexpected"])
        cells.append(Cell(rule.dataset, MARKET, _ymd(day), day, status, expected, ok, rule.expect.value, reason,
                          explain))
    return cells


def listed_keys(conn: Connection, rule: Coverage, day: dt.date, limit: int = SAMPLE, *, missing: bool = True,
                unexpected: bool = True) -> dict[str, list[str]]:
    """Samples of the codes missing on ``day`` and of the codes stored that should not be.

    Both read the day's rows through the trade-date index first: ordering the table by code with a
    LIMIT would walk the whole primary key to find the (usually no) unexpected rows."""
    p = {"ac": rule.asset_class, "d": day, "incl": 1 if rule.delist_inclusive else 0, "n": limit}
    bf = _filter(rule, "b.")
    suspended = ("EXISTS (SELECT 1 FROM stock_suspension s WHERE s.code = {c} AND s.trade_date = :d"
                 " AND s.suspend_type = 'S' AND NULLIF(s.suspend_timing, '') IS NULL)"
                 if rule.minus_suspensions else "FALSE")
    day_rows = f"WITH day AS MATERIALIZED (SELECT b.code FROM {rule.table} b WHERE {bf} b.trade_date = :d)"
    out: dict[str, list[str]] = {"missing_sample": [], "unexpected_sample": []}
    if missing:
        out["missing_sample"] = list(conn.execute(text(f"""{day_rows}
            SELECT i.code FROM instrument i WHERE i.asset_class = :ac AND {_listed("i", "CAST(:d AS date)")}
              AND NOT {suspended.format(c="i.code")} AND NOT EXISTS (SELECT 1 FROM day WHERE day.code = i.code)
            ORDER BY i.code LIMIT :n"""), p).scalars())
    if unexpected:
        out["unexpected_sample"] = list(conn.execute(text(f"""{day_rows}
            SELECT day.code FROM day WHERE
                NOT EXISTS (SELECT 1 FROM instrument i WHERE i.asset_class = :ac AND i.code = day.code
                            AND {_listed("i", "CAST(:d AS date)")})
                OR {suspended.format(c="day.code")}
            ORDER BY day.code LIMIT :n"""), p).scalars())
    return out


# -- CODES / MONTH_END: followed codes -----------------------------------------------------------------


def followed_codes(conn: Connection, dataset: str) -> list[str]:
    return list(conn.execute(text(
        "SELECT scope FROM ingest_targets WHERE dataset = :d AND enabled AND scope <> 'market' ORDER BY scope"),
        {"d": dataset}).scalars())


def dropped_codes(conn: Connection, dataset: str) -> list[str]:
    return list(conn.execute(text(
        "SELECT scope FROM ingest_targets WHERE dataset = :d AND NOT enabled AND scope <> 'market' ORDER BY scope"),
        {"d": dataset}).scalars())


def _code_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date) -> list[Cell]:
    codes = followed_codes(conn, rule.dataset)
    listing = {code: (a, b) for code, a, b in conn.execute(text(
        "SELECT code, list_date, delist_date FROM instrument WHERE asset_class = :ac AND code = ANY(:codes)"),
        {"ac": rule.asset_class, "codes": codes})}
    code_col = "index_code" if rule.expect is Expect.MONTH_END else "code"
    since = first.replace(day=1) if rule.expect is Expect.MONTH_END else first
    present: dict[tuple[str, dt.date], int] = {(c, d): int(n) for c, d, n in conn.execute(text(
        f"SELECT {code_col}, trade_date, count(*) FROM {rule.table} WHERE {_filter(rule)} {code_col} = ANY(:codes)"
        " AND trade_date BETWEEN :a AND :b GROUP BY 1, 2"),
        {"ac": rule.asset_class, "codes": codes, "a": since, "b": last})}
    cells = []
    if rule.expect is Expect.CODES:
        days = _days(conn, rule.calendar, first, last)
        for code in codes:
            for day, is_open in days:
                cells.append(_code_cell(rule, code, _ymd(day), day, day if is_open else None, listing.get(code),
                                        present.get((code, day), 0)))
        for code in dropped_codes(conn, rule.dataset):  # removed from spec.universe: say so, expect nothing
            cells += [Cell(rule.dataset, code, _ymd(day), day, "not_applicable", 0, 0, rule.expect.value,
                           NOT_FOLLOWED, {"rule": rule.describe, "code": code}) for day, _ in days]
        return cells
    # MONTH_END: the month's snapshot is due on its last open day (from the whole month's calendar)
    month_end_of_last = last.replace(day=_calendar.monthrange(last.year, last.month)[1])
    ends: dict[dt.date, dt.date | None] = {}
    for day, is_open in _days(conn, rule.calendar, first.replace(day=1), month_end_of_last):
        ends.setdefault(day.replace(day=1), None)
        if is_open:
            ends[day.replace(day=1)] = day
    for code in codes:
        for month, snapshot_day in ends.items():
            n = sum(v for (c, d), v in present.items() if c == code and d.replace(day=1) == month)
            cell = _code_cell(rule, code, f"{month:%Y%m}", month, snapshot_day, listing.get(code), n)
            if snapshot_day is not None and snapshot_day > last and cell.status != "complete":
                cell = Cell(rule.dataset, code, cell.period, month, "not_applicable", 0, n, rule.expect.value,
                            "month not closed yet", cell.explain)
            cells.append(cell)
    return cells


def _code_cell(rule: Coverage, code: str, period: str, period_date: dt.date, day: dt.date | None,
               listing: tuple[dt.date | None, dt.date | None] | None, present: int) -> Cell:
    """One followed code over one period, due on ``day`` (``None``: no open day in the period)."""
    list_date, delist_date = listing or (None, None)
    explain: dict[str, Any] = {"rule": rule.describe, "calendar": rule.calendar, "code": code, "rows": present,
                               "due": day and day.isoformat(), "list_date": list_date and list_date.isoformat(),
                               "delist_date": delist_date and delist_date.isoformat()}
    if listing is None:  # a followed code nobody lists: that is itself wrong
        return Cell(rule.dataset, code, period, period_date, "missing", 1, 0, rule.expect.value,
                    f"{code} is not in the instrument list", explain)
    reason = (CLOSED if day is None else NOT_LISTED if list_date is not None and day < list_date
              else DELISTED if delist_date is not None and day >= delist_date else None)
    if reason is not None:
        return Cell(rule.dataset, code, period, period_date, "not_applicable", 0, present, rule.expect.value, reason,
                    explain)
    if present >= 1:
        return Cell(rule.dataset, code, period, period_date, "complete", 1, 1, rule.expect.value, None, explain)
    return Cell(rule.dataset, code, period, period_date, "missing", 1, 0, rule.expect.value, f"no row for {code}",
                explain)


# -- CALENDAR, SNAPSHOT, ANSWERED -------------------------------------------------------------------------


def _calendar_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date, exchanges: Iterable[str]
                    ) -> list[Cell]:
    stored = {(x, m): int(n) for x, m, n in conn.execute(text(
        "SELECT exchange, date_trunc('month', cal_date)::date, count(*) FROM trade_calendar"
        " WHERE cal_date BETWEEN :a AND :b GROUP BY 1, 2"), {"a": first, "b": last})}
    cells = []
    month = first.replace(day=1)
    while month <= last:
        lo = max(month, first)
        hi = min(month.replace(day=_calendar.monthrange(month.year, month.month)[1]), last)
        expected = (hi - lo).days + 1
        for x in exchanges:
            n = stored.get((x, month), 0)
            status, reason = _verdict(expected, min(n, expected), 0)
            cells.append(Cell(rule.dataset, x, f"{month:%Y%m}", month, status, expected, n, rule.expect.value, reason,
                              {"rule": rule.describe, "days": [lo.isoformat(), hi.isoformat()]}))
        month = hi + dt.timedelta(days=1)
    return cells


def _snapshot_cells(conn: Connection, rule: Coverage, last: dt.date) -> list[Cell]:
    if rule.table == "instrument":
        counts = dict(conn.execute(text(
            "SELECT coalesce(list_status, '?'), count(*) FROM instrument WHERE asset_class = :ac GROUP BY 1"),
            {"ac": rule.asset_class}).all())
    else:  # a reference list of its own (the macro release calendar)
        counts = {"rows": conn.execute(text(f"SELECT count(*) FROM {rule.table}")).scalar_one()}
    n = sum(counts.values())
    status, reason = ("complete", None) if n else ("missing", f"no {rule.asset_class} instruments stored")
    return [Cell(rule.dataset, MARKET, "current", last, status, 1, min(n, 1), rule.expect.value, reason,
                 {"rule": rule.describe, "instruments": n, "by_list_status": counts})]


def _answered_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date) -> list[Cell]:
    answered = dict(conn.execute(text(
        "SELECT partition_key, rows FROM ingest_checkpoints WHERE dataset = :d AND partition_key BETWEEN :a AND :b"),
        {"d": rule.dataset, "a": _ymd(first), "b": _ymd(last)}).all())
    stored = {d: int(n) for d, n in conn.execute(text(
        f"SELECT trade_date, count(*) FROM {rule.table} WHERE trade_date BETWEEN :a AND :b GROUP BY 1"),
        {"a": first, "b": last})}
    cells = []
    for day, is_open in _days(conn, rule.calendar, first, last):
        if not is_open:
            cells.append(_closed(day, rule))
            continue
        rows = answered.get(_ymd(day))
        n = stored.get(day, 0)
        explain = {"rule": rule.describe, "calendar": rule.calendar, "answer_rows": rows, "stored": n}
        if rows is None:
            cells.append(Cell(rule.dataset, MARKET, _ymd(day), day, "missing", 1, 0, rule.expect.value,
                              "the day's answer is not stored", explain))
        elif n < rows:
            cells.append(Cell(rule.dataset, MARKET, _ymd(day), day, "partial", 1, 0, rule.expect.value,
                              f"{rows - n} of {rows} answered rows missing", explain))
        else:
            cells.append(Cell(rule.dataset, MARKET, _ymd(day), day, "complete", 1, 1, rule.expect.value, None, explain))
    return cells


# -- RELEASED: macro series per period released by then --------------------------------------------------


def _released_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date) -> list[Cell]:
    """A cell per period whose release (the series' lag rule) falls by the end of ``last``: complete when
    every declared series has a value for it, partial when some do, missing when none."""
    release = RULES.get(rule.dataset)
    due_by = dt.datetime.combine(last, dt.time(23, 59, 59), BEIJING)
    # when a period is due: its official release (the stored calendar) plus a grace, else its lag rule
    official = dict(conn.execute(text(
        "SELECT period, release_at FROM macro_release WHERE api_name = :api AND release_at <= :b"),
        {"api": rule.dataset, "b": due_by + RELEASE_GRACE}).all())

    def due(label: str, end: dt.date) -> dt.datetime | None:
        if label in official:
            return official[label] + RELEASE_GRACE
        return release.release(end) if release else None

    stored: dict[dt.date, int] = {d: int(n) for d, n in conn.execute(text(
        "SELECT period_end, count(DISTINCT series_id) FROM macro_observation WHERE series_id = ANY(:s)"
        " AND period_end BETWEEN :a AND :b GROUP BY 1"),
        {"s": list(rule.series), "a": first, "b": last})}
    # a declared field the source never fills in the window (us_tltr's e_factor) is not expected of any period
    published = conn.execute(text(
        "SELECT count(DISTINCT series_id) FROM macro_observation WHERE series_id = ANY(:s)"
        " AND period_end BETWEEN :a AND :b"), {"s": list(rule.series), "a": first, "b": last}).scalar_one()
    expected = published or len(rule.series)
    if rule.unit == "date":
        periods = [(_ymd(d), d, is_open) for d, is_open in _days(conn, rule.calendar, first, last)]
    else:
        periods, month = [], first.replace(day=1)
        while month <= last:
            label = month.strftime("%Y%m") if rule.unit == "m" else f"{month.year}Q{(month.month - 1) // 3 + 1}"
            end = period_end(rule.unit, label)
            if first <= end <= last and (not periods or periods[-1][0] != label):
                periods.append((label, end, True))
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    cells = []
    for label, end, is_open in periods:
        if not is_open:
            cells.append(_closed(end, rule))
            continue
        n = stored.get(end, 0)
        due_at = due(label, end)
        explain = {"rule": rule.describe, "series": expected, "declared": len(rule.series), "stored": n,
                   "due": due_at.isoformat() if due_at else None,
                   "due_from": "official calendar + grace" if label in official else "lag rule"}
        if due_at is not None and due_at > due_by and n == 0:
            cells.append(Cell(rule.dataset, MARKET, label, end, "not_applicable", 0, 0, rule.expect.value,
                              "not released yet", explain))
        elif n >= expected:
            cells.append(Cell(rule.dataset, MARKET, label, end, "complete", expected, n, rule.expect.value, None,
                              explain))
        else:
            cells.append(Cell(rule.dataset, MARKET, label, end, "partial" if n else "missing", expected, n,
                              rule.expect.value, f"{expected - n} of {expected} series have no value", explain))
    return cells


# -- MINUTES: every bar of each followed code's session ---------------------------------------------------


def _minute_cells(conn: Connection, rule: Coverage, first: dt.date, last: dt.date, sample_cells: int
                  ) -> list[Cell]:
    """One cell per followed scope (a code; futures: a product) and calendar day: the expected one-minute
    bars of the day's session against the stored bars of that trading day (see :mod:`..gates.intraday`)."""
    history = intraday.measure(conn, DATASETS[rule.dataset], first, last)
    measured = {(cd.scope, cd.day): cd for cd in history.days}
    days = _days(conn, rule.calendar, first, last)
    cells = []
    for scope, since in history.since.items():
        for day, is_open in days:
            period, explain = _ymd(day), {"rule": rule.describe, "calendar": rule.calendar, "scope": scope}
            cd = measured.get((scope, day))
            if cd is None:
                closed = {"closed": "weekend" if day.weekday() >= 5 else "holiday"} if not is_open else \
                    {"start_date": since and since.isoformat()}
                cells.append(Cell(rule.dataset, scope, period, day, "not_applicable", 0, 0, rule.expect.value,
                                  CLOSED if not is_open else NOT_YET_FOLLOWED, {**explain, **closed}))
                continue
            explain.update({
                "code": cd.code, "session": cd.session.name if cd.session else None, "traded": cd.traded,
                "night": cd.night, "previous_open": cd.previous_open and cd.previous_open.isoformat(),
                "expected": cd.expected, "present": cd.present, "missing": cd.missing,
                "unexpected": cd.unexpected, "tolerated": cd.tolerated, "daily_volume": cd.daily_volume,
                "minute_volume": cd.volume})
            if not cd.traded and not cd.bars:
                cells.append(Cell(rule.dataset, scope, period, day, "not_applicable", 0, 0, rule.expect.value,
                                  NOT_TRADED, explain))
                continue
            status, reason = _verdict(cd.expected, cd.present, cd.unexpected)
            if not cd.traded:
                reason = f"{cd.bars} bars stored on a day without a daily bar"
            cells.append(Cell(rule.dataset, scope, period, day, status, cd.expected, cd.present, rule.expect.value,
                              reason, explain))
            if status != "complete" and sample_cells > 0:
                sample_cells -= 1
                explain.update(intraday.label_sample(conn, history, cd))
    for scope in dropped_codes(conn, rule.dataset):  # removed from spec.universe: say so, expect nothing
        cells += [Cell(rule.dataset, scope, _ymd(day), day, "not_applicable", 0, 0, rule.expect.value,
                       NOT_FOLLOWED, {"rule": rule.describe, "scope": scope}) for day, _ in days]
    return cells


# -- the public surface -----------------------------------------------------------------------------------


def compute(conn: Connection, dataset: str, first: dt.date, last: dt.date, *, off: str | None = None,
            sample_cells: int = SAMPLED_CELLS) -> list[Cell]:
    """The cells of ``dataset`` over ``first..last``; ``off`` makes them all ``not_applicable`` for that reason."""
    rule = COVERAGE[dataset]
    if rule.expect is Expect.LISTED:
        cells = _listed_cells(conn, rule, first, last)
    elif rule.expect in (Expect.CODES, Expect.MONTH_END):
        cells = _code_cells(conn, rule, first, last)
    elif rule.expect is Expect.CALENDAR:
        cells = _calendar_cells(conn, rule, first, last, [v for _, v in DATASETS[dataset].variants])
    elif rule.expect is Expect.SNAPSHOT:
        cells = _snapshot_cells(conn, rule, last)
    elif rule.expect is Expect.RELEASED:
        cells = _released_cells(conn, rule, first, last)
    elif rule.expect is Expect.MINUTES:
        cells = _minute_cells(conn, rule, first, last, sample_cells)
    elif rule.expect is Expect.PROVISIONAL:
        cells = []  # realtime snapshots are provisional: no coverage cells
    else:
        cells = _answered_cells(conn, rule, first, last)
    if off is not None:
        return [Cell(c.dataset, c.scope, c.period, c.period_date, "not_applicable", 0, c.present, c.rule, off,
                     {**c.explain, "would_be": c.status}) for c in cells]
    if rule.expect is Expect.LISTED:
        for cell in [c for c in cells if c.status in ("partial", "missing")][:sample_cells]:
            cell.explain.update(listed_keys(conn, rule, cell.period_date, missing=cell.explain["missing"] > 0,
                                            unexpected=cell.explain["unexpected"] > 0))
    return cells


def store(conn: Connection, dataset: str, first: dt.date, last: dt.date, cells: list[Cell]) -> None:
    """Replace ``dataset``'s stored cells over ``first..last`` with ``cells`` (in the caller's transaction).

    Writers of one dataset's cells (shards of an ingest Job, a gate, ``status --refresh``) take turns:
    a transaction-scoped advisory lock, so a delete never misses rows another writer is inserting."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('status_matrix:' || :d))"), {"d": dataset})
    conn.execute(text(
        "DELETE FROM status_matrix WHERE dataset = :d AND (period_date BETWEEN :a AND :b OR period = 'current')"),
        {"d": dataset, "a": first.replace(day=1) if COVERAGE[dataset].expect in (Expect.CALENDAR, Expect.MONTH_END)
         else first, "b": last})
    if not cells:
        return
    conn.execute(text(
        "INSERT INTO status_matrix (dataset, scope, period, period_date, status, expected, present, rule, reason,"
        " explain, computed_at) VALUES (:dataset, :scope, :period, :period_date, :status, :expected, :present,"
        " :rule, :reason, CAST(:explain AS jsonb), now())"),
        [{**asdict(c), "explain": json.dumps(c.explain, default=str, ensure_ascii=False)} for c in cells])


def refresh(conn: Connection, datasets: Iterable[str], first: dt.date, last: dt.date,
            off: Mapping[str, str | None] | None = None) -> dict[str, int]:
    """Recompute and store the cells of ``datasets`` over ``first..last``; counts per status."""
    totals: dict[str, int] = {}
    for name in datasets:
        cells = compute(conn, name, first, last, off=(off or {}).get(name))
        store(conn, name, first, last, cells)
        for c in cells:
            totals[c.status] = totals.get(c.status, 0) + 1
    return totals


def load(conn: Connection, datasets: Iterable[str] | None = None, since: dt.date | None = None,
         until: dt.date | None = None) -> list[Cell]:
    rows = conn.execute(text(
        "SELECT dataset, scope, period, period_date, status, expected, present, rule, reason, explain"
        " FROM status_matrix WHERE (CAST(:ds AS text[]) IS NULL OR dataset = ANY(:ds))"
        " AND (CAST(:a AS date) IS NULL OR period_date >= :a"
        "      OR length(period) = 6 AND period_date >= date_trunc('month', CAST(:a AS date)))"  # months reaching in
        " AND (CAST(:b AS date) IS NULL OR period_date <= :b)"
        " ORDER BY dataset, scope, period"),
        {"ds": list(datasets) if datasets is not None else None, "a": since, "b": until}).all()
    return [Cell(*r) for r in rows]


def parse_target(target: str) -> tuple[str, str, str]:
    """``dataset/scope/period`` (scope defaults to ``market``: ``daily/20240105`` works too).

    >>> parse_target("daily/20240105"), parse_target("index_daily/000300.SH/20240105")
    (('daily', 'market', '20240105'), ('index_daily', '000300.SH', '20240105'))
    """
    parts = target.split("/")
    if len(parts) == 2:
        parts = [parts[0], MARKET, parts[1]]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"target {target!r} is not dataset/scope/period (e.g. daily/market/20240105)")
    if parts[0] not in COVERAGE:
        raise ValueError(f"unknown dataset {parts[0]!r}; known: {', '.join(COVERAGE)}")
    return parts[0], parts[1], parts[2]
