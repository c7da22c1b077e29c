"""``tushare-rollout status``: read (or recompute) the matrix, or explain one cell."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db.engine import BadDatabaseURL, first_line, make_engine, safe_url
from ..jobs.settings import JobSettings
from . import applicability, matrix
from .coverage import COVERAGE


class Unavailable(Exception):
    """The database cannot be read: the message says what to do."""


@dataclass
class StatusResult:
    cells: list[matrix.Cell]
    explained: dict[str, Any] | None = None

    @property
    def summary(self) -> str:
        counts = Counter(c.status for c in self.cells)
        return f"{len(self.cells)} cells: " + ", ".join(f"{counts[s]} {s}" for s in
                                                       ("complete", "partial", "missing", "not_applicable"))

    def as_json(self) -> dict[str, Any]:
        if self.explained is not None:
            return self.explained
        return {"summary": dict(Counter(c.status for c in self.cells)),
                "cells": [{**asdict(c), "target": c.target} for c in self.cells]}


def period_range(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The days a period covers.

    >>> period_range("20240105", dt.date(2024, 3, 1)), period_range("202402", dt.date(2024, 3, 1))[1]
    ((datetime.date(2024, 1, 5), datetime.date(2024, 1, 5)), datetime.date(2024, 2, 29))
    """
    if period == "current":
        return today, today
    if len(period) == 8:
        day = dt.datetime.strptime(period, "%Y%m%d").date()
        return day, day
    if len(period) == 6:
        month = dt.datetime.strptime(period, "%Y%m").date()
        return month, month.replace(day=calendar.monthrange(month.year, month.month)[1])
    raise ValueError(f"period {period!r} is YYYYMMDD, YYYYMM or 'current'")


def explain_target(conn: Connection, target: str, rollout_batch: str | None = None,
            today: dt.date | None = None) -> dict[str, Any]:
    """A fresh explain payload for one target, computed now from the stored rows."""
    dataset, scope, period = matrix.parse_target(target)
    first, last = period_range(period, today or dt.date.today())
    off = applicability(conn, rollout_batch).get(dataset)
    cells = [c for c in matrix.compute(conn, dataset, first, last, off=off) if c.scope == scope and c.period == period]
    if not cells:
        raise ValueError(f"no cell {target}: the scope or period is not a target of {dataset} "
                         f"({COVERAGE[dataset].describe})")
    cell = cells[0]
    if cell.status in ("partial", "missing") and COVERAGE[dataset].expect.value == "listed":
        cell.explain.update(matrix.listed_keys(conn, COVERAGE[dataset], cell.period_date, limit=50))
    checks = conn.execute(text(
        "SELECT r.check_name, r.severity, r.metric_value, r.message, r.sample_keys, g.finished_at"
        " FROM gate_check_results r"
        " JOIN gate_runs g USING (gate_run_id) WHERE r.dataset = :d AND r.severity <> 'PASS'"
        " AND g.gate_run_id = (SELECT max(gate_run_id) FROM gate_runs g2 WHERE g2.gate = g.gate)"
        " ORDER BY r.check_name"), {"d": dataset}).mappings().all()
    return {"target": cell.target, "status": cell.status, "reason": cell.reason, "expected": cell.expected,
            "present": cell.present, "rule": COVERAGE[dataset].describe, **cell.explain,
            "failing_checks": [dict(c) for c in checks]}


def run(settings: JobSettings, *, datasets: list[str] | None, since: dt.date | None, until: dt.date | None,
        explain: str | None = None, refresh: bool = False) -> StatusResult:
    unknown = [d for d in datasets or [] if d not in COVERAGE]
    if unknown:
        raise ValueError(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(COVERAGE)}")
    if refresh and since is None:
        raise ValueError("--refresh recomputes a window: give --since (and optionally --until)")
    if settings.database_url is None:
        raise Unavailable("DATABASE_URL is not set: point it at the PostgreSQL database")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        raise ValueError(str(exc)) from None
    try:
        with engine.begin() as conn:
            if explain is not None:
                return StatusResult([], explain_target(conn, explain, settings.rollout_batch))
            if refresh:
                matrix.refresh(conn, datasets or list(COVERAGE), since, until or dt.date.today(),
                               applicability(conn, settings.rollout_batch))
            return StatusResult(matrix.load(conn, datasets, since, until))
    except OperationalError as exc:
        raise Unavailable(f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}") from None
    except DBAPIError as exc:
        raise Unavailable(f"reading the status matrix failed: {first_line(exc)}; is the schema at head? "
                          "(`tushare-rollout job migrate`)") from None
    finally:
        engine.dispose()
