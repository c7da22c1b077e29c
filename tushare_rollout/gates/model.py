"""The vocabulary of gates: a check is a small declared unit with a metric and two thresholds.

A check measures one number per dataset (or one for the batch); :func:`grade` turns it into
PASS / WARN / FAIL against the check's thresholds, which ``spec.gates.thresholds`` may override.

>>> check = Check("quality.ohlc_envelope", Gate.QUALITY, "bars outside their OHLC envelope", warn=0, fail=0,
...               evaluate=lambda ctx: [])
>>> grade(check, 0), grade(check, 3)
(<Severity.PASS: 'PASS'>, <Severity.FAIL: 'FAIL'>)
>>> share = Check("stability.run_success_share", Gate.STABILITY, "share of runs that succeeded", warn=0.99,
...               fail=0.8, worse=Worse.LOWER, evaluate=lambda ctx: [])
>>> grade(share, 1.0), grade(share, 0.9), grade(share, 0.5), grade(share, None)
(<Severity.PASS: 'PASS'>, <Severity.WARN: 'WARN'>, <Severity.FAIL: 'FAIL'>, <Severity.WARN: 'WARN'>)
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


class Gate(enum.StrEnum):
    STABILITY = "stability"
    RECONCILIATION = "reconciliation"
    QUALITY = "quality"
    SCHEDULING = "scheduling"
    BATCH = "batch"  # a phase's own acceptance checks (phase A's baseline)


class Severity(enum.StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"


class Worse(enum.StrEnum):
    HIGHER = "higher"  # counts of bad things: above the threshold is bad
    LOWER = "lower"  # shares and streaks: below the threshold is bad


@dataclass(frozen=True)
class Measurement:
    """One check's number for one dataset (``None``: the whole batch)."""

    value: float | None  # None: could not be measured (the message says why)
    dataset: str | None = None
    partition: str | None = None  # e.g. the trade date a result is about
    sample: list[Any] = field(default_factory=list)  # a few offending keys
    message: str = ""
    batch: str | None = None  # batch-level measurements (the streak) name their batch


@dataclass(frozen=True)
class Check:
    name: str
    gate: Gate
    metric: str  # what the number is, in words
    warn: float | None  # None: never WARN
    fail: float | None  # None: never FAIL (informational)
    evaluate: Callable[[Any], list[Measurement]]  # Context -> measurements
    worse: Worse = Worse.HIGHER
    how_to_fix: str = ""

    def with_thresholds(self, override: Mapping[str, float | None] | None) -> Check:
        if not override:
            return self
        unknown = set(override) - {"warn", "fail"}
        if unknown:
            raise ValueError(f"thresholds of {self.name}: unknown key(s) {sorted(unknown)}; use warn and fail")
        return replace(self, **{k: (None if v is None else float(v)) for k, v in override.items()})


@dataclass(frozen=True)
class Result:
    check: Check
    measurement: Measurement
    severity: Severity

    def as_dict(self) -> dict[str, Any]:
        m = self.measurement
        return {"check": self.check.name, "gate": self.check.gate.value, "dataset": m.dataset,
                "partition": m.partition, "severity": self.severity.value, "value": m.value,
                "warn": self.check.warn, "fail": self.check.fail, "message": m.message, "sample": m.sample[:10]}


def _beyond(value: float, threshold: float | None, worse: Worse) -> bool:
    if threshold is None:
        return False
    return value > threshold if worse is Worse.HIGHER else value < threshold


def grade(check: Check, value: float | None) -> Severity:
    """PASS, WARN or FAIL for ``value``; an unmeasurable value is a WARN (never a silent pass)."""
    if value is None:
        return Severity.WARN
    if _beyond(value, check.fail, check.worse):
        return Severity.FAIL
    if _beyond(value, check.warn, check.worse):
        return Severity.WARN
    return Severity.PASS
