"""What a check sees: the connection, the phase's datasets, the window of trade dates and the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from ..db import metadata
from ..ingest.datasets import GMT_WEEKDAYS, Dataset, Plan
from ..status import matrix
from ..status.matrix import Cell

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Context:
    conn: Connection
    phase: str
    batches: list[str]
    datasets: list[Dataset]  # the phase's datasets that apply (flag on, permission granted)
    first: dt.date  # the window of trade dates checked
    last: dt.date
    as_of: dt.datetime  # aware; "now" for deadlines
    rollout_batch: str | None = None
    stable_trading_days: int = 3
    off: dict[str, str | None] = field(default_factory=dict)  # every dataset of the phase -> why it is off
    # re-ingests one partition in a transaction that is rolled back; returns rows it would change
    replay: Callable[[Dataset, str], int | str] | None = None  # str: why it could not replay
    _cells: dict[str, list[Cell]] = field(default_factory=dict)
    _due: dict[str, dt.date | None] = field(default_factory=dict)

    def trade_date_datasets(self) -> list[Dataset]:
        return [d for d in self.datasets if d.plan is Plan.TRADE_DATE]

    def bar_datasets(self) -> list[Dataset]:
        """Datasets that write the unified daily bar."""
        return [d for d in self.datasets if d.targets[0].table == "daily_bar"]

    def by_name(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def cells(self, dataset: str) -> list[Cell]:
        """The dataset's status cells over the window up to its newest due day, recomputed from the
        stored rows (once per gate run) and stored, so the matrix a person reads agrees with the gate.
        A day whose deadline has not passed is not expected yet."""
        if dataset not in self._cells:
            d = self.by_name(dataset)
            last = self.last_due(d) if d is not None else self.last
            cells = matrix.compute(self.conn, dataset, self.first, last) if last >= self.first else []
            if cells:
                matrix.store(self.conn, dataset, self.first, last, cells)
            self._cells[dataset] = cells
        return self._cells[dataset]

    def forget_cells(self) -> None:
        self._cells.clear()

    def last_due(self, dataset: Dataset) -> dt.date:
        """The window's end for ``dataset``: the as-of day, or its newest due day for dated data
        (the day before ``first`` when nothing in the window is due yet)."""
        if dataset.plan not in (Plan.TRADE_DATE, Plan.CODE, Plan.MINUTES):
            return self.last
        due = self.due_day(dataset)
        return min(self.last, due) if due else self.first - dt.timedelta(days=1)

    def open_days(self, exchange: str = "SSE", first: dt.date | None = None, last: dt.date | None = None
                  ) -> list[dt.date]:
        return list(self.conn.execute(text(
            "SELECT cal_date FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date BETWEEN :a AND :b"
            " ORDER BY cal_date"), {"x": exchange, "a": first or self.first, "b": last or self.last}).scalars())

    def due_day(self, dataset: Dataset) -> dt.date | None:
        """The newest open day whose data is due at ``as_of`` (its deadline has passed)."""
        if dataset.name not in self._due and dataset.calendar == GMT_WEEKDAYS:
            # FX day D (a GMT day) is published D+1 08:00 Beijing, i.e. once D has ended in GMT
            newest = self.as_of.astimezone(dt.timezone.utc).date() - dt.timedelta(days=1)
            while newest.weekday() >= 5:
                newest -= dt.timedelta(days=1)
            self._due[dataset.name] = newest
        if dataset.name not in self._due:
            local = self.as_of.astimezone(BEIJING)
            newest = local.date() if local.time() >= dataset.deadline else local.date() - dt.timedelta(days=1)
            self._due[dataset.name] = self.conn.execute(text(
                "SELECT max(cal_date) FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date <= :d"),
                {"x": dataset.calendar, "d": newest}).scalar_one()
        return self._due[dataset.name]

    def where(self, dataset: Dataset, alias: str = "") -> tuple[str, dict]:
        """SQL filter selecting ``dataset``'s rows of its first target in the window, up to its due day."""
        target = dataset.targets[0]
        a = f"{alias}." if alias else ""
        clause = f"{a}trade_date BETWEEN :first AND :last"
        params = {"first": self.first, "last": self.last_due(dataset)}
        if "asset_class" in metadata.tables[target.table].c and dataset.asset_class:
            clause = f"{a}asset_class = :ac AND {clause}"
            params["ac"] = dataset.asset_class
        return clause, params
