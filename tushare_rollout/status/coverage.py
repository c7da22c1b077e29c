"""What should exist, per dataset: the rule the status matrix checks stored rows against.

Derived from the dataset table, so a new dataset gets a rule without a new line here; only a
dataset whose expectation differs from what its plan implies is listed in ``OVERRIDES``.

>>> from tushare_rollout.ingest.datasets import DATASETS
>>> rule = coverage(DATASETS["daily"])
>>> rule.expect, rule.table, rule.asset_class, rule.minus_suspensions, rule.delist_inclusive
(<Expect.LISTED: 'listed'>, 'daily_bar', 'stock', True, False)
>>> coverage(DATASETS["fut_daily"]).delist_inclusive, coverage(DATASETS["index_weight"]).expect
(True, <Expect.MONTH_END: 'month_end'>)
>>> coverage(DATASETS["ft_mins"]).expect, coverage(DATASETS["ft_mins"]).calendar, coverage(DATASETS["rt_min"]).expect
(<Expect.MINUTES: 'minutes'>, 'SHFE', <Expect.PROVISIONAL: 'provisional'>)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from ..ingest.datasets import DATASETS, Dataset, Plan


class Expect(enum.StrEnum):
    LISTED = "listed"  # one row per instrument listed that open day (minus full-day suspensions)
    CODES = "codes"  # one row per followed code (ingest_targets) per open day it is listed
    MONTH_END = "month_end"  # one snapshot per followed code on the last open day of each month
    CALENDAR = "calendar"  # one row per calendar day, per exchange
    SNAPSHOT = "snapshot"  # a non-empty list of the asset class
    ANSWERED = "answered"  # no universe rule: the day's answer (even an empty one) was stored
    RELEASED = "released"  # macro: every declared series has a value for each period released by then
    MINUTES = "minutes"  # every one-minute bar of each followed code's session, per open day it traded
    PROVISIONAL = "provisional"  # realtime snapshots: no coverage cells (the history is checked instead)


@dataclass(frozen=True)
class Coverage:
    dataset: str
    table: str
    expect: Expect
    asset_class: str | None = None  # the universe (instrument.asset_class); the table is filtered on it if it can be
    calendar: str = "SSE"
    delist_inclusive: bool = False  # futures trade on their delist (last trading) day; stocks do not
    minus_suspensions: bool = False
    unit: str = ""  # RELEASED: the period unit (m, q, date)
    series: tuple[str, ...] = ()  # RELEASED: the declared series (<api>.<field>)

    @property
    def describe(self) -> str:
        """The rule in words, for explain payloads."""
        listed = ("list_date <= day <= delist_date" if self.delist_inclusive else "list_date <= day < delist_date")
        return {
            Expect.LISTED: f"one row per {self.asset_class} listed on each {self.calendar} open day ({listed})"
                           + (", minus full-day suspensions (suspend_d)" if self.minus_suspensions else ""),
            Expect.CODES: f"one row per followed code on each {self.calendar} open day it is listed",
            Expect.MONTH_END: f"one snapshot per followed code on the last {self.calendar} open day of each month",
            Expect.CALENDAR: "one row per calendar day for each exchange",
            Expect.SNAPSHOT: f"a non-empty list of {self.asset_class} instruments",
            Expect.ANSWERED: f"the answer for each {self.calendar} open day is stored (it may be empty)",
            Expect.RELEASED: f"a value of each of the {len(self.series)} series for every "
                             + {"m": "month", "q": "quarter"}.get(self.unit, f"{self.calendar} session")
                             + " released by the day (per its release lag rule)",
            Expect.MINUTES: f"every one-minute bar of each followed code's session on each {self.calendar} open day"
                            " it traded (has a daily bar), from the day it is followed"
                            + ("; per product, its most traded contract of the day, the night session (the"
                               " evening before) included" if self.asset_class == "future" else
                               "; a 09:30 auction bar is tolerated"),
            Expect.PROVISIONAL: "none: realtime rows are provisional snapshots of the session (the minute and"
                                " daily history are checked instead)",
        }[self.expect]


OVERRIDES: dict[str, dict] = {
    "suspend_d": {"expect": Expect.ANSWERED},
    "index_weight": {"expect": Expect.MONTH_END},
    "cn_schedule": {"expect": Expect.SNAPSHOT},
    # P2's day-by-day lists have no universe rule of their own: the day's answer must be stored
    "fut_wsr": {"expect": Expect.ANSWERED},
    "fut_holding": {"expect": Expect.ANSWERED},
    "stk_premarket": {"expect": Expect.ANSWERED},  # the release calendar: it exists (its use is checked by the gate)
}
# daily macro series follow their market's sessions: Shibor the SSE's, the US curves NYSE's (not stored)
MACRO_CALENDAR = {"shibor": "SSE", "us_tycr": "XNYS", "us_trycr": "XNYS", "us_tbr": "XNYS", "us_tltr": "XNYS"}


def coverage(dataset: Dataset) -> Coverage:
    target = dataset.targets[0]
    expect = {Plan.TRADE_DATE: Expect.LISTED, Plan.CODE: Expect.CODES, Plan.EXCHANGE: Expect.CALENDAR,
              Plan.SNAPSHOT: Expect.SNAPSHOT, Plan.PERIOD: Expect.RELEASED, Plan.MINUTES: Expect.MINUTES,
              Plan.REALTIME: Expect.PROVISIONAL}[dataset.plan]
    series = tuple(f"{dataset.api}.{c}" for c in list(target.columns)[1:]) if expect is Expect.RELEASED else ()
    rule = Coverage(dataset.name, target.table, expect, asset_class=dataset.asset_class,
                    calendar=MACRO_CALENDAR.get(dataset.name, dataset.calendar),
                    delist_inclusive=dataset.asset_class == "future",
                    minus_suspensions=dataset.asset_class == "stock" and expect is Expect.LISTED,
                    unit=dataset.period, series=series)
    return replace(rule, **OVERRIDES.get(dataset.name, {}))


COVERAGE: dict[str, Coverage] = {name: coverage(d) for name, d in DATASETS.items()}
