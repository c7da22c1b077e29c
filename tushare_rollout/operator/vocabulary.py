"""The operator's vocabulary in one place: phases, states, steps, condition types and reasons."""

from __future__ import annotations

import enum


class Phase(enum.StrEnum):
    A = "A"  # baseline: schema, flags, rollback baseline
    B = "B"  # P0
    C = "C"  # P1
    D = "D"  # P2
    E = "E"  # stabilization

    @property
    def batch(self) -> str | None:
        return {"B": "P0", "C": "P1", "D": "P2"}.get(self.value)

    @property
    def switch(self) -> str | None:
        """The batch switch that must be effective for the phase to run."""
        return {"B": "p0Enabled", "C": "p1Enabled", "D": "p2Enabled"}.get(self.value)


PHASES = list(Phase)


class State(enum.StrEnum):
    """``status.state``: the whole object's state (and each phase's)."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    GATING = "Gating"
    WAITING = "Waiting"  # a rule holds the phase (switch off, stability streak): not skipped
    PAUSED = "Paused"
    FROZEN = "Frozen"
    ROLLING_BACK = "RollingBack"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class PhaseState(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    WAITING = "Waiting"
    PASSED = "Passed"
    FAILED = "Failed"  # its gate failed (or it stalled on infrastructure)
    FROZEN = "Frozen"  # a phase after a failed one
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"


class Step(enum.StrEnum):
    """The Jobs of a phase, in order (``tushare-rollout job <step>``)."""

    MIGRATE = "migrate"
    BASELINE = "baseline"
    PROBE = "probe"
    INGEST = "ingest"
    GATE = "gate"
    PUBLISH = "publish"
    ROLLBACK = "rollback"
    DRILL = "drill"  # E: the rollback drill on a disposable copy
    DAILY = "daily"  # a passed phase's steady-state run (its CronJob's Jobs), not a step of the rollout
    REALTIME = "realtime"  # passed D's session snapshots (its realtime CronJob's Jobs): no gate, not a step


STEPS: dict[Phase, tuple[Step, ...]] = {
    Phase.A: (Step.MIGRATE, Step.BASELINE, Step.GATE),
    Phase.B: (Step.INGEST, Step.GATE, Step.PUBLISH),
    Phase.C: (Step.INGEST, Step.GATE, Step.PUBLISH),
    Phase.D: (Step.PROBE, Step.INGEST, Step.GATE, Step.PUBLISH),
    Phase.E: (Step.GATE, Step.DRILL),
}


SCHEDULED = (Step.DAILY, Step.REALTIME)  # the steps whose Jobs a CronJob stamps out (no try label)


class ModuleState(enum.StrEnum):
    """``status.phases.D.modules.<module>.state``: a P2 module, published per sub-flag."""

    PUBLISHED = "Published"  # D's publish step switched it on
    ROLLING_BACK = "RollingBack"  # its sub-flag was turned off: its module rollback Job runs (or waits)
    ROLLED_BACK = "RolledBack"  # switched off again (by its own rollback, or with the whole of D)
    STALLED = "Stalled"  # its rollback Job failed beyond the retries: a person must act (retryToken)


class JobState(enum.StrEnum):
    ACTIVE = "Active"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Condition(enum.StrEnum):
    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    PAUSED = "Paused"
    FROZEN = "Frozen"
    ROLLED_BACK = "RolledBack"


class Reason(enum.StrEnum):
    STARTING = "Starting"
    RUNNING_STEP = "RunningStep"
    TARGET_REACHED = "TargetReached"
    SWITCH_OFF = "BatchSwitchOff"
    NOT_BUILT = "NotBuiltYet"
    STREAK_SHORT = "StabilityStreakShort"
    GATE_FAILED = "GateFailed"
    FROZEN_BY = "FrozenByEarlierPhase"
    INFRA_RETRY = "InfrastructureRetry"
    INFRA_STALLED = "InfrastructureStalled"
    JOB_REFUSED = "JobRefused"  # exit 4: bad configuration, a person must act
    PAUSED = "PausedBySpec"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    RETRYING = "RetryRequested"
    REGRESSED = "DailyGateRegressed"
    PROBED = "PermissionsProbed"
    PROBES_FAILED = "PermissionProbesFailed"
    MODULE_ROLLING_BACK = "ModuleRollingBack"  # a published P2 module's sub-flag was turned off
    MODULE_ROLLED_BACK = "ModuleRolledBack"
    MODULE_STALLED = "ModuleRollbackStalled"
    MODULES_CHANGED = "P2ModulesChanged"  # a P2 module in force is not published: D runs again
    DRILL_FAILED = "RollbackDrillFailed"  # E's rollback drill found a difference


# Job failure reasons (the Job's Failed condition) that say the infrastructure failed, not the work
INFRA_FAILURES = frozenset({"DeadlineExceeded", "BackoffLimitExceeded", "Evicted", "ImagePullBackOff",
                            "ErrImagePull", "PodDeleted"})
