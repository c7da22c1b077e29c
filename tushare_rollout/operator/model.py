"""What ``decide()`` reads and returns: the spec as typed values, what was observed, and the plan."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..db.base import Batch
from ..flags import RolloutFlags
from ..ingest.datasets import Plan as LoadPlan
from ..ingest.datasets import for_batch
from .vocabulary import JobState, Phase, Step

DEFAULT_BACKFILL_START = "20200102"
DEFAULT_CRON, DEFAULT_TIME_ZONE = "30 22 * * 1-5", "Asia/Shanghai"
DEFAULT_REALTIME_CRON = "*/5 9-15 * * 1-5"  # every 5 minutes through the sessions; `job realtime` checks the clock


@dataclass(frozen=True)
class Spec:
    """``spec`` of a RolloutBatch, with the CRD's defaults."""

    name: str  # namespace/name
    generation: int
    flags: RolloutFlags
    target: Phase
    paused: bool = False
    retry_token: str = ""
    probe_token: str = ""
    backfill_start: str = DEFAULT_BACKFILL_START
    backfill_end: str | None = None
    index_codes: tuple[str, ...] = ()
    stable_trading_days: int = 3
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    on_gate_failure: str = "Rollback"
    purge_data: bool = False
    rollback_schema: bool = False
    infra_retries: int = 2
    cron: str = DEFAULT_CRON
    time_zone: str = DEFAULT_TIME_ZONE
    realtime_cron: str = DEFAULT_REALTIME_CRON
    ingestion: str = "running"  # spec.control.state: running | paused | cancelled

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Spec:
        meta, spec = obj["metadata"], obj.get("spec", {})
        gates, rollback, jobs, universe, schedule, control = (
            spec.get(k) or {} for k in ("gates", "rollback", "jobs", "universe", "schedule", "control"))
        return cls(
            name=f"{meta.get('namespace', 'default')}/{meta['name']}", generation=int(meta.get("generation", 0)),
            flags=RolloutFlags(**(spec.get("flags") or {})), target=Phase(spec.get("targetPhase", "A")),
            paused=bool(spec.get("paused", False)), retry_token=spec.get("retryToken") or "",
            probe_token=spec.get("probeToken") or "",
            backfill_start=universe.get("backfillStart") or DEFAULT_BACKFILL_START,
            backfill_end=universe.get("backfillEnd"),
            index_codes=tuple(universe.get("indexCodes") or ()),
            stable_trading_days=int(gates.get("stableTradingDays", 3)), thresholds=gates.get("thresholds") or {},
            on_gate_failure=rollback.get("onGateFailure", "Rollback"), purge_data=bool(rollback.get("purgeData")),
            rollback_schema=bool(rollback.get("schema")), infra_retries=int(jobs.get("infraRetries", 2)),
            cron=schedule.get("cron") or DEFAULT_CRON, time_zone=schedule.get("timeZone") or DEFAULT_TIME_ZONE,
            realtime_cron=schedule.get("realtimeCron") or DEFAULT_REALTIME_CRON,
            ingestion=control.get("state") or "running",
        )


@dataclass(frozen=True)
class ObservedJob:
    """A Job of this RolloutBatch as the API server has it (labels say which phase, step and attempt)."""

    name: str
    phase: Phase
    step: Step
    attempt: int
    state: JobState
    reason: str | None = None  # the Failed condition's reason (PodFailurePolicy, DeadlineExceeded, ...)
    message: str | None = None
    exit_code: int | None = None  # when a podFailurePolicy rule matched an exit code
    modules: tuple[str, ...] | None = None  # the P2 modules it was asked to publish or roll back (annotation)


@dataclass(frozen=True)
class GateResult:
    """What a gate Job stored in Postgres (found by the Job's name)."""

    passed: bool
    message: str = ""
    failed: tuple[Mapping[str, Any], ...] = ()
    warned: int = 0


@dataclass(frozen=True)
class Module:
    """A P2 ``read_switch`` module: published per sub-flag, rolled back on its own when the sub-flag goes off."""

    name: str  # p2_futures_microstructure
    flag: str  # p2FuturesMicrostructureV1
    apis: tuple[str, ...]  # the APIs of its datasets: all of them denied, it is not in force
    realtime_apis: tuple[str, ...] = ()  # those `job realtime` snapshots

    @property
    def short(self) -> str:
        """Its part of a Job name.

        >>> Module("p2_futures_microstructure", "p2FuturesMicrostructureV1", ()).short
        'futures-microstructure'
        """
        return self.name.removeprefix("p2_").replace("_", "-")


def p2_modules() -> tuple[Module, ...]:
    """The P2 modules this release builds, from the dataset table.

    >>> [(m.name, m.flag, m.realtime_apis) for m in p2_modules()][0]
    ('p2_futures_microstructure', 'p2FuturesMicrostructureV1', ())
    """
    found: dict[str, dict[str, Any]] = {}
    for d in for_batch(Batch.P2):
        if not d.module:
            continue
        m = found.setdefault(d.module, {"flag": d.flag, "apis": [], "realtime": []})
        m["apis"].append(d.api)
        if d.plan is LoadPlan.REALTIME:
            m["realtime"].append(d.api)
    return tuple(Module(name, m["flag"], tuple(dict.fromkeys(m["apis"])), tuple(dict.fromkeys(m["realtime"])))
                 for name, m in sorted(found.items()))


P2_MODULES = p2_modules()


@dataclass(frozen=True)
class DailyRun:
    """The newest Job of a passed phase's daily CronJob (incremental ingest, then that phase's gate), or of
    D's realtime CronJob (session snapshots, no gate)."""

    job: str
    state: JobState
    created: dt.datetime
    gate: GateResult | None = None  # what its gate stored, once it ran
    reason: str | None = None


@dataclass(frozen=True)
class Observed:
    jobs: tuple[ObservedJob, ...] = ()
    gates: Mapping[str, GateResult] = field(default_factory=dict)  # gate Job name -> result
    streaks: Mapping[str, int] = field(default_factory=dict)  # batch -> consecutive clean trading days
    built: frozenset[str] = frozenset({"P0"})  # batches that have datasets in this release
    daily: Mapping[Phase, DailyRun] = field(default_factory=dict)  # passed phase -> its newest daily run
    probes: tuple[Mapping[str, Any], ...] = ()  # per API, the newest permission probe of this RolloutBatch
    realtime: Mapping[Phase, DailyRun] = field(default_factory=dict)  # D -> its newest realtime run
    modules: tuple[Module, ...] = P2_MODULES  # the P2 modules this release builds
    drills: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # drill Job name -> its stored result

    def job(self, name: str) -> ObservedJob | None:
        return next((j for j in self.jobs if j.name == name), None)


@dataclass(frozen=True)
class JobRequest:
    """A Job to create: which phase and step, which attempt, the CLI arguments after ``tushare-rollout``."""

    name: str
    phase: Phase
    step: Step
    attempt: int
    args: tuple[str, ...]
    modules: tuple[str, ...] | None = None  # D's publish and module rollbacks: the P2 modules it acts on


@dataclass(frozen=True)
class ScheduleRequest:
    """A CronJob that should exist: a passed phase's daily run (or D's realtime one), suspended (with the
    reason) or not."""

    name: str
    phase: Phase
    cron: str
    time_zone: str
    suspend: bool
    args: tuple[str, ...]
    step: Step = Step.DAILY  # DAILY or REALTIME: the label its Jobs carry


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Plan:
    create: list[JobRequest] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    schedules: list[ScheduleRequest] = field(default_factory=list)  # every CronJob that should exist; no others
    status: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # seconds; None: wait for the next event


def _named(rollout: str, suffix: str, limit: int) -> str:
    """``<rolloutbatch name><suffix>``, DNS-safe and at most ``limit`` characters (a long name is cut and
    keeps a digest of itself, so two long names stay apart)."""
    base = re.sub(r"[^a-z0-9-]", "-", rollout.split("/")[-1].lower()).strip("-") or "rb"
    if len(base) + len(suffix) > limit:
        digest = hashlib.sha1(base.encode()).hexdigest()[:6]
        base = base[:limit - len(suffix) - 7].rstrip("-") + "-" + digest
    return base + suffix


def job_name(rollout: str, phase: Phase, step: Step, attempt: int) -> str:
    """A deterministic, DNS-safe Job name (at most 63 characters: it also becomes a label value).

    >>> job_name("data/p0", Phase.B, Step.INGEST, 1)
    'p0-b-ingest-1'
    >>> len(job_name("data/" + "x" * 80, Phase.B, Step.ROLLBACK, 12)) <= 63
    True
    """
    return _named(rollout, f"-{phase.value.lower()}-{step.value}-{attempt}", 63)


def module_job_name(rollout: str, phase: Phase, step: Step, module: Module, attempt: int) -> str:
    """The Job that acts on one P2 module (its rollback), e.g. when its sub-flag was turned off.

    >>> m = Module("p2_futures_microstructure", "p2FuturesMicrostructureV1", ())
    >>> module_job_name("data/p0", Phase.D, Step.ROLLBACK, m, 1)
    'p0-d-rollback-futures-microstructure-1'
    >>> len(module_job_name("data/" + "x" * 80, Phase.D, Step.ROLLBACK, m, 12)) <= 63
    True
    """
    return _named(rollout, f"-{phase.value.lower()}-{step.value}-{module.short}-{attempt}", 63)


def schedule_name(rollout: str, phase: Phase, step: Step = Step.DAILY) -> str:
    """A CronJob's name (the daily one, or D's realtime one); short enough that its Jobs' names (plus 11
    characters) stay labels.

    >>> schedule_name("data/p0", Phase.B), schedule_name("data/p0", Phase.D, Step.REALTIME)
    ('p0-b-daily', 'p0-d-realtime')
    >>> len(schedule_name("data/" + "x" * 80, Phase.C)) <= 52
    True
    """
    return _named(rollout, f"-{phase.value.lower()}-{step.value}", 52)


def probe_job_name(rollout: str, token: str) -> str:
    """The Job that runs the permission probes a ``spec.probeToken`` asked for (one per token).

    >>> probe_job_name("data/p0", "2024-11-24")
    'p0-probe-83008a'
    """
    return _named(rollout, f"-probe-{hashlib.sha1(token.encode()).hexdigest()[:6]}", 63)


def flags_json(flags: RolloutFlags) -> str:
    return json.dumps(flags.model_dump(), separators=(",", ":"))
