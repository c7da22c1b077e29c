"""What a drill reports: one :class:`DrillResult` per drill run (a seeded drill reports one per seed)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class DrillResult:
    """One row of the drill table.

    ``identical``: the drill's tables checksum-equal to the undisturbed reference after recovery;
    ``None`` when the drill compares no data (or could not run). ``passed``: the system behaved as
    ``expected`` — every check held and, where data was compared, it was identical.
    """

    drill: str
    expected: str
    observed: str
    identical: bool | None
    passed: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Observation:
    """A drill's notebook: the facts it saw (the ``observed`` column) and the problems that fail it.

    >>> o = Observation("demo", "exit 0")
    >>> o.saw("exit 0"); o.expect(True, "never shown")
    True
    >>> r = o.result(identical=True)
    >>> r.passed, r.observed
    (True, 'exit 0')
    >>> o.expect(False, "a partition was half-written")
    False
    >>> o.result(identical=True).observed
    'exit 0; PROBLEM: a partition was half-written'
    >>> Observation("demo", "x").result(identical=False).passed
    False
    """

    drill: str
    expected: str
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def saw(self, fact: str) -> None:
        self.facts.append(fact)

    def expect(self, ok: bool, problem: str) -> bool:
        """Record ``problem`` unless ``ok``; returns ``ok`` so a drill can stop early."""
        if not ok:
            self.problems.append(problem)
        return ok

    def result(self, identical: bool | None) -> DrillResult:
        observed = "; ".join([*self.facts, *(f"PROBLEM: {p}" for p in self.problems)])
        return DrillResult(self.drill, self.expected, observed, identical,
                           passed=not self.problems and identical is not False,
                           seconds=round(time.monotonic() - self.started, 1))
