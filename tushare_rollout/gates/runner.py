"""Run a phase's checks, grade them, and store the gate runs and every result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db.engine import first_line
from . import baseline, intraday, p2, pit, quality, reconciliation, scheduling, stability
from .context import Context
from .model import Check, Gate, Measurement, Result, Severity, grade

GENERAL = [*stability.CHECKS, *reconciliation.CHECKS, *intraday.CHECKS, *quality.CHECKS, *pit.CHECKS, *p2.CHECKS,
           *scheduling.CHECKS]
ALL_CHECKS: dict[str, Check] = {c.name: c for c in [*baseline.CHECKS, *GENERAL]}
PHASE_BATCHES = {"A": [], "B": ["P0"], "C": ["P1"], "D": ["P2"], "E": ["P0", "P1", "P2"]}


def checks_for(phase: str) -> list[Check]:
    return baseline.CHECKS if phase == "A" else GENERAL


def thresholds(checks: list[Check], overrides: Mapping[str, Mapping[str, float | None]],
               stable_trading_days: int) -> list[Check]:
    """The checks with ``spec.gates`` overrides applied; the streak's WARN is ``stableTradingDays``."""
    unknown = sorted(set(overrides) - set(ALL_CHECKS))
    if unknown:
        raise ValueError(f"unknown check(s) in the thresholds: {', '.join(unknown)}; known: {', '.join(ALL_CHECKS)}")
    for name, override in overrides.items():  # every override is checked, not only the phase's
        ALL_CHECKS[name].with_thresholds(override)
    out = []
    for c in checks:
        if c.name == "stability.clean_streak":
            c = replace(c, warn=float(stable_trading_days))
        out.append(c.with_thresholds(overrides.get(c.name)))
    return out


@dataclass
class Report:
    phase: str
    results: list[Result]
    skipped: dict[str, str] = field(default_factory=dict)  # dataset -> why it was not checked
    gate_run_ids: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.severity is Severity.FAIL]

    @property
    def warned(self) -> list[Result]:
        return [r for r in self.results if r.severity is Severity.WARN]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def streaks(self) -> dict[str, float | None]:
        """Consecutive clean trading days per batch (what the P2 entry rule waits on)."""
        return {r.measurement.batch: r.measurement.value for r in self.results
                if r.check.name == "stability.clean_streak" and r.measurement.batch}

    def summary(self) -> dict[str, Any]:
        return {"phase": self.phase, "passed": self.passed, "checks": len(self.results),
                "failed": [r.as_dict() for r in self.failed], "warned": len(self.warned),
                "streaks": self.streaks, "skipped": self.skipped, "gateRunIds": self.gate_run_ids}


def evaluate(ctx: Context, checks: list[Check]) -> Report:
    """Every check in its own savepoint: one whose query fails is reported unmeasured (a WARN that
    says why) instead of losing every other result."""
    results = []
    for check in checks:
        savepoint = ctx.conn.begin_nested()
        try:
            measurements = check.evaluate(ctx)
        except OperationalError:
            raise  # the database is gone: nothing else can be evaluated either
        except DBAPIError as exc:
            savepoint.rollback()
            ctx.forget_cells()  # cells stored inside the savepoint were rolled back with it
            measurements = [Measurement(None, message=f"could not evaluate: {first_line(exc)}")]
        else:
            savepoint.commit()
        results += [Result(check, m, grade(check, m.value)) for m in measurements]
    skipped = {name: why for name, why in ctx.off.items() if why}
    return Report(ctx.phase, results, skipped)


def store(conn: Connection, ctx: Context, report: Report, job_name: str | None) -> dict[str, int]:
    """One gate run per gate evaluated, with every check result; returns gate -> gate_run_id."""
    ids: dict[str, int] = {}
    batch = ctx.batches[0] if len(ctx.batches) == 1 else None
    for gate in dict.fromkeys(r.check.gate for r in report.results):
        rows = [r for r in report.results if r.check.gate is gate]
        ids[gate.value] = conn.execute(text(
            "INSERT INTO gate_runs (phase, gate, batch, window_start, window_end, status, passed, rollout_batch,"
            " job_name, finished_at) VALUES (:phase, :gate, :batch, :a, :b, 'succeeded', :passed, :rb, :job, now())"
            " RETURNING gate_run_id"),
            {"phase": ctx.phase, "gate": gate.value, "batch": batch, "a": ctx.first, "b": ctx.last,
             "passed": all(r.severity is not Severity.FAIL for r in rows), "rb": ctx.rollout_batch,
             "job": job_name}).scalar_one()
        conn.execute(text(
            "INSERT INTO gate_check_results (gate_run_id, check_name, dataset, partition_key, severity, metric_value,"
            " warn_threshold, fail_threshold, passed, sample_keys, message) VALUES (:run, :check, :dataset, :part,"
            " :sev, :value, :warn, :fail, :passed, CAST(:sample AS jsonb), :message)"),
            [{"run": ids[gate.value], "check": r.check.name, "dataset": r.measurement.dataset,
              "part": r.measurement.partition, "sev": r.severity.value, "value": r.measurement.value,
              "warn": r.check.warn, "fail": r.check.fail, "passed": r.severity is Severity.PASS,
              "sample": json.dumps(r.measurement.sample[:20], default=str, ensure_ascii=False),
              "message": r.measurement.message or None} for r in rows])
    report.gate_run_ids = ids
    return ids


def describe_checks() -> list[tuple[Gate, Check]]:
    """Every check with its default thresholds (for docs and `--list`)."""
    return [(c.gate, c) for c in ALL_CHECKS.values()]
