"""Injected faults, deterministic by seed and request number.

A spec is a comma list of ``kind=probability``::

    5xx=0.1,slow=0.05,timeout=0.02,truncate=0.02,nonjson=0.02,reset=0.02,ratelimit=0.05

``5xx`` answers HTTP 502; ``slow`` delays the reply by ``slow_seconds``; ``timeout`` holds the
reply for ``timeout_seconds`` (longer than any sane client timeout); ``truncate`` sends half of
the body; ``nonjson`` answers an HTML error page with status 200; ``reset`` drops the connection
without a reply; ``ratelimit`` answers Tushare's 40203 per-minute message.

>>> plan = FaultPlan.parse("5xx=0.5,reset=0.25", seed=7)
>>> [plan.pick(n) for n in range(8)] == [plan.pick(n) for n in range(8)]
True
>>> FaultPlan.parse("").pick(3) is None
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS = ("5xx", "slow", "timeout", "truncate", "nonjson", "reset", "ratelimit")


class BadFaultSpec(ValueError):
    pass


@dataclass(frozen=True)
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    slow_seconds: float = 1.5
    timeout_seconds: float = 30.0

    @classmethod
    def parse(cls, spec: str, seed: int = 0, **kwargs: float) -> FaultPlan:
        rates: dict[str, float] = {}
        for item in filter(None, (s.strip() for s in spec.split(","))):
            kind, _, value = item.partition("=")
            if kind not in KINDS:
                raise BadFaultSpec(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
            try:
                rate = float(value)
            except ValueError:
                raise BadFaultSpec(f"fault {kind} needs a probability, e.g. {kind}=0.1; got {value!r}") from None
            if not 0 <= rate <= 1:
                raise BadFaultSpec(f"fault {kind}={value}: a probability is between 0 and 1")
            rates[kind] = rate
        if sum(rates.values()) > 1:
            raise BadFaultSpec(f"fault probabilities add up to {sum(rates.values()):.2f} > 1")
        return cls(rates, seed, **kwargs)

    def pick(self, request_number: int) -> str | None:
        """The fault for the n-th request, or ``None``: the same seed and n always give the same answer."""
        if not self.rates:
            return None
        draw = random.Random(f"{self.seed}:{request_number}").random()
        edge = 0.0
        for kind in KINDS:
            edge += self.rates.get(kind, 0.0)
            if draw < edge:
                return kind
        return None
