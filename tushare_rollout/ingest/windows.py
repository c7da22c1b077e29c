"""Partitions: the unit of work, of checkpointing and of sharding. Pure functions, no I/O.

A partition is one API call plan (one trading day of the market, one code over the window, one
exchange over the window, one variant of a list) with a stable key. Its rows and its checkpoint
commit together, so a rerun skips exactly the partitions whose data is stored.

>>> from tushare_rollout.ingest.datasets import DATASETS
>>> days = [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
>>> [p.key for p in plan(DATASETS["daily"], days, dt.date(2024, 1, 1), dt.date(2024, 1, 5))]
['20240102', '20240103']
>>> plan(DATASETS["index_daily"], days, dt.date(2024, 1, 1), dt.date(2024, 1, 5), codes=["000300.SH"])[0].params
{'ts_code': '000300.SH', 'start_date': '20240101', 'end_date': '20240105'}
>>> [p.key for p in shard([Partition("d", k, {}) for k in "abcde"], index=1, count=2)]
['b', 'd']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .datasets import Dataset, Plan


@dataclass(frozen=True)
class Partition:
    dataset: str
    key: str  # the checkpoint key
    params: dict[str, str] = field(default_factory=dict)
    trade_date: dt.date | None = None  # TRADE_DATE partitions: the day they cover

    @property
    def refresh(self) -> bool:
        """List snapshots are fetched again on every run (they change); the rest resume from checkpoints."""
        return self.key.startswith(("snapshot:", "period:", "realtime:"))


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def plan(dataset: Dataset, open_days: Sequence[dt.date], start: dt.date, end: dt.date,
         codes: Sequence[str] = ()) -> list[Partition]:
    """The partitions of ``dataset`` over ``start..end``, in a deterministic order."""
    window = {"start_date": _ymd(start), "end_date": _ymd(end)}
    span = f"{_ymd(start)}-{_ymd(end)}"
    if dataset.plan is Plan.TRADE_DATE:
        return [Partition(dataset.name, _ymd(d), {"trade_date": _ymd(d)}, d) for d in open_days if start <= d <= end]
    if dataset.plan is Plan.CODE:
        return [Partition(dataset.name, f"{c}:{span}", {dataset.code_param: c, **window}) for c in codes]
    if dataset.plan is Plan.PERIOD:
        return _periods(dataset, start, end)
    if dataset.plan is Plan.MINUTES:
        return minute_windows(dataset, {c: open_days for c in codes}, open_days, start, end)
    if dataset.plan is Plan.REALTIME:
        n = dataset.codes_per_call
        groups = [codes[i:i + n] for i in range(0, len(codes), n)]
        return [Partition(dataset.name, f"realtime:{g[0]}+{len(g) - 1}", {dataset.code_param: ",".join(g)})
                for g in groups]
    if dataset.plan is Plan.EXCHANGE:
        return [Partition(dataset.name, f"{v}:{span}", {p: v, **window}) for p, v in dataset.variants]
    if dataset.codes != "index" and codes:  # a list of the followed codes only (FX: the whitelist)
        return [Partition(dataset.name, f"snapshot:{dataset.code_param}={c}", {dataset.code_param: c}) for c in codes]
    return [Partition(dataset.name, f"snapshot:{p}={v}" if p else "snapshot:all", {p: v} if p else {})
            for p, v in dataset.variants]


ROW_CAP = 8000  # rows one minute-history call returns at most


def minute_windows(dataset: Dataset, code_days: Mapping[str, Sequence[dt.date]], calendar: Sequence[dt.date],
                   start: dt.date, end: dt.date) -> list[Partition]:
    """Minute history: per code, its open days in ``start..end`` cut into windows that cannot pass the
    row cap (``8000 // bars_per_day`` days) and never cross a month or a gap (a futures contract is
    followed only on the days it is its product's most traded), one call each.

    A window asks from the close of the open day before its first day (``calendar`` holds the open
    days, earlier ones included), so a futures night session, which carries the calendar time of the
    evening before, is fetched with the day it belongs to.

    >>> from tushare_rollout.ingest.datasets import DATASETS
    >>> days = [dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 2)]
    >>> [(p.key, p.params["start_date"]) for p in
    ...  minute_windows(DATASETS["ft_mins"], {"CU2403.SHF": days}, days, dt.date(2024, 2, 1), dt.date(2024, 2, 2))]
    [('CU2403.SHF:20240201-20240202', '2024-01-31 15:30:00')]
    >>> len(minute_windows(DATASETS["idx_mins"], {"000300.SH": days}, days, days[0], days[-1]))  # one per month
    2
    """
    size = max(1, ROW_CAP // dataset.bars_per_day)
    before = {d: calendar[i - 1] for i, d in enumerate(calendar) if i}
    out = []
    for code, days in code_days.items():
        chosen = [d for d in days if start <= d <= end]
        runs: list[list[dt.date]] = []
        for d in chosen:
            last = runs[-1][-1] if runs else None
            if last and len(runs[-1]) < size and (last.year, last.month) == (d.year, d.month) and before.get(d) == last:
                runs[-1].append(d)
            else:
                runs.append([d])
        for run in runs:
            first = before.get(run[0], run[0] - dt.timedelta(days=1))
            out.append(Partition(dataset.name, f"{code}:{_ymd(run[0])}-{_ymd(run[-1])}", {
                dataset.code_param: code, "start_date": f"{first:%Y-%m-%d} 15:30:00",
                "end_date": f"{run[-1]:%Y-%m-%d} 15:30:00"}, run[-1]))
    return out


def _periods(dataset: Dataset, start: dt.date, end: dt.date) -> list[Partition]:
    """A macro API's own range over the window (one call; refetched every run: values get revised), or
    one call per month for an API without a range (``each_m``).

    >>> from tushare_rollout.ingest.datasets import DATASETS
    >>> [p.params for p in plan(DATASETS["cn_gdp"], [], dt.date(2023, 2, 1), dt.date(2024, 12, 31))]
    [{'start_q': '2023Q1', 'end_q': '2024Q4'}]
    >>> [p.key for p in plan(DATASETS["cn_schedule"], [], dt.date(2024, 11, 20), dt.date(2025, 1, 5))]
    ['period:202411', 'period:202412', 'period:202501']
    """
    unit = dataset.period
    if unit == "each_m":
        months, month = [], dt.date(start.year, start.month, 1)
        while month <= end:
            months.append(month.strftime("%Y%m"))
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return [Partition(dataset.name, f"period:{m}", {"m": m}) for m in months]
    label = {"m": lambda d: d.strftime("%Y%m"), "q": lambda d: f"{d.year}Q{(d.month - 1) // 3 + 1}",
             "date": _ymd}[unit]
    first, last = label(start), label(end)
    param = "date" if unit == "date" else unit
    return [Partition(dataset.name, f"period:{first}-{last}", {f"start_{param}": first, f"end_{param}": last})]


def shard(partitions: Sequence[Partition], index: int, count: int) -> list[Partition]:
    """Shard ``index`` of ``count`` takes every ``count``-th partition: no overlap, no gap, stable."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index} of {count} does not exist: need 0 <= index < count")
    return [p for i, p in enumerate(partitions) if i % count == index]


def lookback(open_days: Sequence[dt.date], last: dt.date, days: int) -> tuple[dt.date, dt.date] | None:
    """The window of the last ``days`` open days up to ``last`` (inclusive), or ``None`` if none.

    >>> lookback([dt.date(2024, 2, 7), dt.date(2024, 2, 8), dt.date(2024, 2, 19)], dt.date(2024, 2, 20), 2)
    (datetime.date(2024, 2, 8), datetime.date(2024, 2, 19))
    """
    eligible = [d for d in open_days if d <= last][-days:]
    return (eligible[0], eligible[-1]) if eligible else None
