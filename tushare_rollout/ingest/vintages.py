"""Macro values as append-only vintages, each stamped with when it became public and why we think so.

Every value field of a macro API is a series ``<api>.<field>`` (``cn_cpi.nt_yoy``). A value for a
period not stored yet is vintage 1; a value that differs from the newest stored vintage is the next
vintage (a revision); an equal value writes nothing. Nothing is ever updated in place.

``available_at`` (when the value was public) is decided by the first rule that applies, and the rule
is recorded in ``available_source``:

1. ``official_calendar``: the release instant stored from the official calendar (``cn_schedule`` →
   ``macro_release``) for that API and period;
2. ``vendor_field``: a release time carried in the row itself (none of the wave-1 APIs has one);
3. ``lag_rule``: the series' declared release lag (``RULES``: e.g. CPI month end + 15 days 09:30);
4. ``first_seen``: when this run saw it, in forward (incremental) collection only.

A backfill never claims its load time: history gets a calendar or rule instant. ``available_at`` is
never later than ``first_seen_at`` (a value in hand is public, whatever a rule expected). A revision is first
seen now, so its ``available_at`` is the time this run saw it. ``usable_session`` (the first China
trading session after ``available_at``) is computed by the database (``macro_usable_session``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from .datasets import Dataset, Writer

BEIJING = ZoneInfo("Asia/Shanghai")
FREQUENCY = {"m": "M", "q": "Q", "date": "D"}


@dataclass(frozen=True)
class LagRule:
    """A series' release: ``days`` after the period's end (``next_day`` for daily data), at Beijing ``at``."""

    days: int
    at: dt.time
    slack_days: int = 30  # the pit gate's bound: a first release this much later than the rule is suspicious

    def release(self, period_end: dt.date) -> dt.datetime:
        """
        >>> RULES["cn_cpi"].release(dt.date(2024, 3, 31)).isoformat()
        '2024-04-15T09:30:00+08:00'
        >>> RULES["us_tycr"].release(dt.date(2024, 3, 29)).isoformat()
        '2024-03-30T08:00:00+08:00'
        """
        return dt.datetime.combine(period_end + dt.timedelta(days=self.days), self.at, BEIJING)


# the declared lags (tushare_apis.md section 5): conservative, i.e. never earlier than the usual release
RULES: dict[str, LagRule] = {
    "cn_cpi": LagRule(15, dt.time(9, 30)),
    "cn_ppi": LagRule(15, dt.time(9, 30)),
    "cn_m": LagRule(15, dt.time(16, 0)),
    "cn_pmi": LagRule(1, dt.time(9, 30)),
    "cn_gdp": LagRule(20, dt.time(10, 0)),
    "shibor": LagRule(0, dt.time(11, 0), slack_days=4),
    "us_tycr": LagRule(1, dt.time(8, 0), slack_days=4),
    "us_trycr": LagRule(1, dt.time(8, 0), slack_days=4),
    "us_tbr": LagRule(1, dt.time(8, 0), slack_days=4),
    "us_tltr": LagRule(1, dt.time(8, 0), slack_days=4),
}


def period_end(unit: str, label: str) -> dt.date:
    """The last day of a vendor period label.

    >>> period_end("m", "202402"), period_end("q", "2023Q4"), period_end("date", "20240329")
    (datetime.date(2024, 2, 29), datetime.date(2023, 12, 31), datetime.date(2024, 3, 29))
    """
    if unit == "date":
        return dt.datetime.strptime(label, "%Y%m%d").date()
    if unit == "q":
        year, quarter = int(label[:4]), int(label[-1])
        first_of_next = dt.date(year + quarter // 4, quarter % 4 * 3 + 1, 1)
    else:
        year, month = int(label[:4]), int(label[4:6])
        first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@dataclass
class Written:
    inserted: int = 0  # first vintages
    revised: int = 0  # later vintages (a changed value)
    unchanged: int = 0


def write(conn: Connection, dataset: Dataset, rows: Sequence[Mapping], run_id: int, *, forward: bool,
          now: dt.datetime) -> Written:
    """Store ``rows`` of a macro API as vintages (see the module docstring)."""
    if dataset.writer is Writer.RELEASE:
        return _releases(conn, rows, run_id)
    target = dataset.targets[0]
    period_col, *fields = target.columns
    _declare(conn, dataset, fields)
    cells: dict[tuple[str, dt.date], tuple[str, float]] = {}
    for row in rows:
        label = target.columns[period_col](row)
        if not label:
            continue
        end = period_end(dataset.period, str(label))
        for name in fields:
            value = target.columns[name](row)
            if value is not None:
                cells[(f"{dataset.api}.{name}", end)] = (str(label), float(value))
    written = Written()
    if not cells:
        return written
    series = sorted({s for s, _ in cells})
    ends = [e for _, e in cells]
    newest = {(s, e): (v, val) for s, e, v, val in conn.execute(text(
        "SELECT DISTINCT ON (series_id, period_end) series_id, period_end, vintage, value FROM macro_observation"
        " WHERE series_id = ANY(:s) AND period_end BETWEEN :a AND :b ORDER BY series_id, period_end, vintage DESC"),
        {"s": series, "a": min(ends), "b": max(ends)}).all()}
    official = dict(conn.execute(text(
        "SELECT period, release_at FROM macro_release WHERE api_name = :api AND period = ANY(:p)"),
        {"api": dataset.api, "p": sorted({label for label, _ in cells.values()})}).all())
    inserts = []
    for (series_id, end), (label, value) in sorted(cells.items()):
        stored = newest.get((series_id, end))
        if stored is not None and _same(stored[1], value):
            written.unchanged += 1
            continue
        if stored is None:
            at, source = first_release(dataset.api, label, end, official.get(label), forward=forward, now=now)
            written.inserted += 1
        else:
            at, source = now, "first_seen"  # a revision is public from when it is seen
            written.revised += 1
        inserts.append({"s": series_id, "e": end, "v": (stored[0] + 1) if stored else 1, "p": label, "val": value,
                        "at": at, "day": at.astimezone(BEIJING).date(), "src": source, "seen": now, "run": run_id})
    if inserts:
        conn.execute(text(
            "INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at,"
            " available_date, available_source, first_seen_at, run_id) VALUES (:s, :e, :v, :p, :val, :at, :day,"
            " :src, :seen, :run)"), inserts)
    return written


def first_release(api: str, label: str, end: dt.date, official: dt.datetime | None, *, forward: bool,
                  now: dt.datetime) -> tuple[dt.datetime, str]:
    """When a period's first value became public, and the rule that says so.

    >>> later = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    >>> first_release("cn_cpi", "202403", dt.date(2024, 3, 31), None, forward=False, now=later)[1]
    'lag_rule'
    >>> now = dt.datetime(2024, 4, 11, 2, 0, tzinfo=dt.timezone.utc)
    >>> at, source = first_release("cn_cpi", "202403", dt.date(2024, 3, 31), None, forward=True, now=now)
    >>> source, at == now  # seen (10:00 Beijing on the 11th) before the rule's 15th: public when seen
    ('first_seen', True)
    >>> first_release("cn_cpi", "202402", dt.date(2024, 2, 29), None, forward=True, now=now)
    (datetime.datetime(2024, 3, 15, 9, 30, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai')), 'lag_rule')
    >>> first_release("xx_new", "202403", dt.date(2024, 3, 31), None, forward=False, now=now)
    Traceback (most recent call last):
    ValueError: xx_new 202403: no release calendar entry and no lag rule; a backfill cannot date it
    """
    if official is not None:
        at, source = official, "official_calendar"
    elif api in RULES:
        at, source = RULES[api].release(end), "lag_rule"
    elif forward:
        return now, "first_seen"
    else:
        raise ValueError(f"{api} {label}: no release calendar entry and no lag rule; a backfill cannot date it")
    if now < at:  # it is in hand now, so it was public by now, whatever the calendar or rule expected
        return now, "first_seen"
    return at, source


def _declare(conn: Connection, dataset: Dataset, fields: Sequence[str]) -> None:
    conn.execute(text(
        "INSERT INTO macro_series (series_id, api_name, field, country, frequency) VALUES (:s, :api, :f, :c, :fr)"
        " ON CONFLICT (series_id) DO NOTHING"),
        [{"s": f"{dataset.api}.{f}", "api": dataset.api, "f": f, "c": dataset.country,
          "fr": FREQUENCY[dataset.period]} for f in fields])


def _releases(conn: Connection, rows: Sequence[Mapping], run_id: int) -> Written:
    """``cn_schedule`` rows of the APIs we store, as release instants (the day from the calendar, the
    time of day from the series' rule); a changed date replaces the stored one (calendars get corrected)."""
    from .datasets import DATASETS

    values = []
    for row in rows:
        api, month, day = row.get("data_api"), row.get("month"), row.get("publish_date")
        dataset = DATASETS.get(api or "")
        if dataset is None or dataset.writer is not Writer.VINTAGE or not month or not day or api not in RULES:
            continue
        label = month if dataset.period == "m" else f"{month[:4]}Q{(int(month[4:6]) - 1) // 3 + 1}"
        at = dt.datetime.combine(dt.datetime.strptime(day, "%Y%m%d").date(), RULES[api].at, BEIJING)
        values.append({"api": api, "p": label, "at": at, "run": run_id})
    written = Written()
    if values:
        result = conn.execute(text(
            "INSERT INTO macro_release (api_name, period, release_at, source, run_id) VALUES (:api, :p, :at,"
            " 'cn_schedule', :run) ON CONFLICT (api_name, period) DO UPDATE SET release_at = EXCLUDED.release_at,"
            " run_id = EXCLUDED.run_id WHERE macro_release.release_at IS DISTINCT FROM EXCLUDED.release_at"),
            values)
        written.inserted = result.rowcount
        written.unchanged = len(values) - result.rowcount
    return written
