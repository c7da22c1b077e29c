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
from collections.abc import Sequence
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
        return self.key.startswith("snapshot:")


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
    if dataset.plan is Plan.EXCHANGE:
        return [Partition(dataset.name, f"{v}:{span}", {p: v, **window}) for p, v in dataset.variants]
    return [Partition(dataset.name, f"snapshot:{p}={v}" if p else "snapshot:all", {p: v} if p else {})
            for p, v in dataset.variants]


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
