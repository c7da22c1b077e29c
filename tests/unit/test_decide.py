"""Every rollout rule of ``decide()``, one named case per transition, against a small simulated world:
created Jobs become active; the test says how each ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from tushare_rollout.flags import P2_SUBFLAGS, RolloutFlags
from tushare_rollout.operator.decide import decide
from tushare_rollout.operator.manifests import build_cronjob, build_job
from tushare_rollout.operator.model import (
    DailyRun, GateResult, JobRequest, Observed, ObservedJob, Plan, Spec, job_name, probe_job_name,
)
from tushare_rollout.operator.vocabulary import JobState, Phase, Step

NOW = dt.datetime(2024, 3, 29, 12, 0, tzinfo=dt.timezone.utc)
ALL_BUILT = frozenset({"P0", "P1", "P2"})
FAILED_GATE = GateResult(False, "gate B FAILED", ({"check": "reconciliation.expected_keys", "dataset": "daily",
                                                   "value": 1.0, "message": "1 cells not complete",
                                                   "sample": ["daily/market/20240105: 000001.SZ"]},))


def spec(target: str = "B", **kw) -> Spec:
    flags = kw.pop("flags", {})
    return Spec(name="data/p0", generation=kw.pop("generation", 1),
                flags=RolloutFlags(**{"p0Enabled": True, "updatedAt": 1, **flags}), target=Phase(target), **kw)


Outcome = tuple[JobState, str | None, GateResult | None]
OK: Outcome = (JobState.SUCCEEDED, None, None)


@dataclass
class World:
    status: dict = field(default_factory=dict)
    jobs: dict[str, ObservedJob] = field(default_factory=dict)
    gates: dict[str, GateResult] = field(default_factory=dict)
    built: frozenset[str] = frozenset({"P0"})
    streaks: dict[str, int] = field(default_factory=dict)
    daily: dict[Phase, DailyRun] = field(default_factory=dict)
    probes: tuple = ()
    realtime: dict[Phase, DailyRun] = field(default_factory=dict)
    drills: dict[str, dict] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    requests: dict[str, JobRequest] = field(default_factory=dict)

    def observed(self) -> Observed:
        return Observed(tuple(self.jobs.values()), dict(self.gates), dict(self.streaks), self.built,
                        dict(self.daily), tuple(self.probes), dict(self.realtime), drills=dict(self.drills))

    def step(self, s: Spec) -> Plan:
        plan = decide(s, self.status, self.observed(), NOW)
        for request in plan.create:
            assert request.name not in self.jobs, f"{request.name} created twice"
            self.jobs[request.name] = ObservedJob(request.name, request.phase, request.step, request.attempt,
                                                  JobState.ACTIVE, modules=request.modules)  # the annotation
            self.created.append(request.name)
            self.requests[request.name] = request
        for name in plan.delete:
            self.jobs.pop(name)
            self.deleted.append(name)
        self.status = plan.status
        return plan

    def active(self) -> list[ObservedJob]:
        return [j for j in self.jobs.values() if j.state is JobState.ACTIVE]

    def finish(self, outcome: Callable[[ObservedJob], Outcome] = lambda j: OK) -> None:
        for j in self.active():
            state, reason, gate = outcome(j)
            self.jobs[j.name] = replace(j, state=state, reason=reason)
            if gate is not None:
                self.gates[j.name] = gate

    def run(self, s: Spec, outcome: Callable[[ObservedJob], Outcome] = lambda j: OK, rounds: int = 40) -> None:
        """Reconcile and let Jobs end until nothing is active; never two Jobs in flight."""
        for _ in range(rounds):
            plan = self.step(s)
            assert len(self.active()) <= 1, [j.name for j in self.active()]
            before = [j.name for j in self.active()]
            if not before:
                return
            self.finish(outcome)
            if not plan.create and [j.name for j in self.active()] == before:
                return  # the outcome keeps the Job running: settled with it active
        raise AssertionError("did not settle")

    def phase(self, p: str) -> dict:
        return self.status["phases"][p]

    def condition(self, kind: str) -> str:
        return next(c["status"] for c in self.status["conditions"] if c["type"] == kind)


def gate_fails_in(phase: Phase) -> Callable[[ObservedJob], Outcome]:
    def outcome(j: ObservedJob) -> Outcome:
        if j.phase is phase and j.step is Step.GATE:
            return JobState.FAILED, "PodFailurePolicy", FAILED_GATE
        return OK
    return outcome


def name(p: Phase, step: Step, attempt: int = 1) -> str:
    return job_name("data/p0", p, step, attempt)


# -- forward ------------------------------------------------------------------------------------------


def test_a_new_object_starts_phase_a_with_its_first_job() -> None:
    w = World()
    plan = w.step(spec())
    assert [r.name for r in plan.create] == [name(Phase.A, Step.MIGRATE)]
    assert plan.create[0].args == ("job", "migrate")
    assert w.status["state"] == "Progressing" and w.status["phase"] == "A"
    assert w.condition("Reconciling") == "True" and w.condition("Ready") == "False"
    assert w.status["observedGeneration"] == 1


def test_phases_run_in_order_one_job_at_a_time_and_pass_only_on_their_gates() -> None:
    w = World()
    w.run(spec("B"))
    assert w.created == [name(Phase.A, Step.MIGRATE), name(Phase.A, Step.BASELINE), name(Phase.A, Step.GATE),
                         name(Phase.B, Step.INGEST), name(Phase.B, Step.GATE), name(Phase.B, Step.PUBLISH)]
    assert [w.phase(p)["state"] for p in "ABCDE"] == ["Passed", "Passed", "Pending", "Pending", "Pending"]
    assert w.status["state"] == "Succeeded" and w.condition("Ready") == "True"
    assert w.condition("Reconciling") == "False" and w.condition("Stalled") == "False"
    ingest = next(j for j in w.jobs.values() if j.step is Step.INGEST)
    assert ingest.name == "p0-b-ingest-1"


def test_the_job_arguments_carry_the_spec() -> None:
    w = World()
    s = spec("B", backfill_start="20240102", purge_data=True)
    w.run(s)
    plan = decide(replace(s, target=Phase.A), w.status, w.observed(), NOW)
    assert plan.create[0].args == ("job", "rollback", "--phase", "B", "--purge-data")
    assert decide(s, {}, Observed(), NOW).create[0].args == ("job", "migrate")
    baseline = decide(s, w.status | {"phases": {}}, Observed(jobs=(w.jobs[name(Phase.A, Step.MIGRATE)],)), NOW)
    assert baseline.create[0].args[:3] == ("job", "baseline", "--flags")
    assert '"p0Enabled":true' in baseline.create[0].args[3]


def test_reconciling_again_with_nothing_new_changes_nothing() -> None:
    w = World()
    w.run(spec("B"))
    before = w.status
    plan = decide(spec("B"), before, w.observed(), NOW + dt.timedelta(hours=1))
    assert plan.create == [] and plan.delete == [] and plan.status == before  # no heartbeat churn


# -- rules that hold a phase -------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "built", "phase", "reason", "says"), [
    ({"p1Enabled": False}, ALL_BUILT, "C", "BatchSwitchOff", "p1Enabled is off: phase C waits (it is not skipped)"),
    ({"p1Enabled": True}, frozenset({"P0"}), "C", "NotBuiltYet", "needs batch P1"),
    ({"p0Enabled": False}, ALL_BUILT, "B", "BatchSwitchOff", "p0Enabled is off"),
], ids=["p1-switch-off", "p1-not-built", "p0-switch-off"])
def test_a_batch_that_cannot_run_waits_with_a_reason_and_nothing_after_it_starts(flags, built, phase, reason,
                                                                                  says) -> None:
    w = World(built=built)
    w.run(spec("E", flags=flags))
    e = w.phase(phase)
    assert e["state"] == "Waiting" and e["reason"] == reason and says in e["message"]
    later = "CDE"[("BCD".index(phase)) + 1:] if phase != "B" else "CDE"
    assert all(w.phase(p)["state"] == "Pending" for p in later)
    assert w.status["state"] == "Waiting" and w.condition("Ready") == "False"


def test_p2_subflags_without_p2_are_reported_not_effective() -> None:
    w = World()
    w.step(spec("A", flags={"p2RealtimeIndexV1": True}))
    flag = next(f for f in w.status["effectiveFlags"] if f["flag"] == "p2RealtimeIndexV1")
    assert flag == {"flag": "p2RealtimeIndexV1", "set": True, "effective": False,
                    "reason": "p2Enabled is off: P2 sub-flags have no effect without it"}


@pytest.mark.parametrize(("streaks", "starts"), [
    ({"P0": 5, "P1": 2}, False), ({"P0": 3, "P1": 3}, True), ({}, False),
], ids=["p1-streak-short", "both-streaks-reached", "no-streak-on-record"])
def test_phase_d_waits_for_the_p0_and_p1_stability_streaks(streaks: dict, starts: bool) -> None:
    w = World(built=ALL_BUILT, streaks=streaks)
    s = spec("D", flags={"p1Enabled": True, "p2Enabled": True})
    w.run(s, outcome=lambda j: OK if j.phase is not Phase.D else (JobState.ACTIVE, None, None))
    d = w.phase("D")
    if starts:
        assert name(Phase.D, Step.PROBE) in w.created and d["state"] == "Running"
    else:
        assert d["state"] == "Waiting" and d["reason"] == "StabilityStreakShort"
        assert "of 3 clean trading days" in d["message"] and not any("-d-" in n for n in w.created)


# -- failures ------------------------------------------------------------------------------------------


def test_a_failed_gate_fails_the_phase_freezes_the_later_ones_and_rolls_the_phase_back() -> None:
    w = World(built=ALL_BUILT)
    s = spec("E", flags={"p1Enabled": True})
    w.run(s, outcome=gate_fails_in(Phase.B))
    b = w.phase("B")
    assert b["state"] == "Failed" and b["reason"] == "GateFailed"
    assert b["gate"]["failed"][0]["check"] == "reconciliation.expected_keys" and b["gate"]["passed"] is False
    assert [w.phase(p)["state"] for p in "CDE"] == ["Frozen"] * 3
    assert name(Phase.B, Step.ROLLBACK) in w.created and b["rollback"]["state"] == "Done"
    assert name(Phase.B, Step.PUBLISH) not in w.created
    assert w.status["state"] == "Failed" and w.status["frozenFrom"] == "B"
    assert (w.condition("Stalled"), w.condition("Frozen"), w.condition("RolledBack"), w.condition("Ready")) == \
        ("True", "True", "True", "False")


def test_freeze_only_keeps_the_data_and_runs_no_rollback() -> None:
    w = World()
    w.run(replace(spec("B"), on_gate_failure="FreezeOnly"), outcome=gate_fails_in(Phase.B))
    assert w.phase("B")["state"] == "Failed" and not any(j.step is Step.ROLLBACK for j in w.jobs.values())


def test_a_new_retry_token_retries_the_failed_phase_as_a_new_attempt() -> None:
    w = World()
    w.run(spec("B"), outcome=gate_fails_in(Phase.B))
    w.run(spec("B"), outcome=gate_fails_in(Phase.B))  # the same token: nothing happens
    assert w.phase("B")["state"] == "Failed" and w.created.count(name(Phase.B, Step.GATE)) == 1
    w.run(spec("B", retry_token="fixed-data"))
    b = w.phase("B")
    assert b["state"] == "Passed" and b["attempt"] == 2
    assert name(Phase.B, Step.INGEST, 2) in w.created and name(Phase.B, Step.GATE, 2) in w.created
    assert w.status["acknowledgedRetryToken"] == "fixed-data" and w.status["frozenFrom"] == ""
    assert w.condition("Frozen") == "False" and w.condition("Ready") == "True"


def test_an_infrastructure_failure_is_retried_then_stalls_for_a_person_never_counted_as_a_pass() -> None:
    w = World()
    deadline = lambda j: (JobState.FAILED, "DeadlineExceeded", None) if j.step is Step.INGEST else OK  # noqa: E731
    w.run(replace(spec("B"), infra_retries=2), outcome=deadline)
    assert [n for n in w.created if "-b-ingest-" in n] == [name(Phase.B, Step.INGEST, k) for k in (1, 2, 3)]
    b = w.phase("B")
    assert b["state"] == "Failed" and b["reason"] == "InfrastructureStalled" and "retryToken" in b["message"]
    assert w.condition("Stalled") == "True" and w.condition("Frozen") == "False"
    assert not any(j.step in (Step.GATE, Step.ROLLBACK) and j.phase is Phase.B for j in w.jobs.values())


def test_a_refused_job_stalls_at_once_with_its_message() -> None:
    w = World()
    refused = lambda j: (JobState.FAILED, "PodFailurePolicy", None) if j.step is Step.BASELINE else OK  # noqa: E731
    w.run(spec("B"), outcome=refused)
    a = w.phase("A")
    assert a["state"] == "Failed" and a["reason"] == "JobRefused"
    assert name(Phase.A, Step.BASELINE, 2) not in w.created and w.status["state"] == "Failed"


def test_a_regression_of_a_passed_phase_freezes_later_phases_and_rolls_back_the_one_in_progress() -> None:
    w = World(built=ALL_BUILT)
    s = spec("C", flags={"p1Enabled": True})
    w.run(s, outcome=lambda j: OK if j.phase is not Phase.C else (JobState.ACTIVE, None, None), rounds=12)
    assert w.phase("C")["state"] == "Running" and [j.name for j in w.active()] == [name(Phase.C, Step.INGEST)]
    w.daily = {Phase.B: daily_run(FAILED_GATE)}
    w.run(s)
    b = w.phase("B")
    assert b["state"] == "Failed" and b["reason"] == "DailyGateRegressed" and "p0-b-daily-1" in b["message"]
    assert b["gate"]["failed"][0]["check"] == "reconciliation.expected_keys"
    assert w.phase("C")["state"] == "Frozen" and name(Phase.C, Step.INGEST) in w.deleted
    assert name(Phase.C, Step.ROLLBACK) in w.created and w.condition("Frozen") == "True"
    assert name(Phase.B, Step.ROLLBACK) not in w.created  # B's data stays published ...
    assert [r.name for r in w.step(s).schedules] == ["p0-b-daily"]  # ... and its daily runs go on


def test_a_daily_gate_that_failed_before_the_phase_last_passed_is_no_regression() -> None:
    w = World()
    w.run(spec("B"))
    w.daily = {Phase.B: daily_run(FAILED_GATE, at=NOW - dt.timedelta(hours=1))}
    w.run(spec("B"))
    assert w.phase("B")["state"] == "Passed" and w.status["steadyState"]["B"]["lastRun"]["gatePassed"] is False


def test_a_passing_or_unfinished_daily_run_changes_nothing_but_its_record() -> None:
    w = World()
    w.run(spec("B"))
    for run in (daily_run(GateResult(True)), daily_run(None, state=JobState.ACTIVE),
                daily_run(None, state=JobState.FAILED, reason="DeadlineExceeded")):
        w.daily = {Phase.B: run}
        w.run(spec("B"))
        assert w.phase("B")["state"] == "Passed" and w.status["state"] == "Succeeded"
        assert w.status["steadyState"]["B"]["lastRun"]["state"] == run.state.value


# -- permission probes -------------------------------------------------------------------------------------


def test_a_new_probe_token_runs_the_probes_once_and_is_acknowledged_when_they_end() -> None:
    w = World()
    w.run(spec("A"))
    plan = w.step(spec("A", probe_token="t1"))
    [probe] = plan.create
    assert probe.name == probe_job_name("data/p0", "t1") and probe.args == ("job", "probe", "--probe-token", "t1")
    assert w.step(spec("A", probe_token="t1")).create == [] and "acknowledgedProbeToken" not in w.status
    w.finish()
    plan = w.step(spec("A", probe_token="t1"))
    assert w.status["acknowledgedProbeToken"] == "t1" and [e.reason for e in plan.events] == ["PermissionsProbed"]
    assert w.step(spec("A", probe_token="t1")).create == []  # the same token again: nothing
    assert w.step(spec("A", probe_token="t2", paused=True)).create == []  # paused: nothing new starts


def test_a_failed_probe_job_is_acknowledged_with_a_warning_saying_how_to_probe_again() -> None:
    w = World()
    w.step(spec("A", probe_token="t1"))
    w.finish(lambda j: (JobState.FAILED, "BackoffLimitExceeded", None) if j.step is Step.PROBE else OK)
    plan = w.step(spec("A", probe_token="t1"))
    assert w.status["acknowledgedProbeToken"] == "t1"
    assert any(e.type == "Warning" and "change spec.probeToken" in e.message for e in plan.events)


def test_a_p2_sub_flag_whose_module_is_not_built_yet_is_shown_not_effective() -> None:
    w = World(built=frozenset({"P0", "P1", "P2", "p2FuturesMicrostructureV1"}))
    w.step(spec("A", flags={"p2Enabled": True, "p2RealtimeIndexV1": True, "p2FuturesMicrostructureV1": True}))
    flags = {f["flag"]: f for f in w.status["effectiveFlags"]}
    assert flags["p2FuturesMicrostructureV1"]["effective"] is True
    assert flags["p2RealtimeIndexV1"]["effective"] is False and "not built" in flags["p2RealtimeIndexV1"]["reason"]


def test_probes_are_shown_and_premarket_is_effective_only_with_a_granted_probe() -> None:
    flags = {"p2Enabled": True, "p2SpecialPermissionStkPremarketV1": True}
    w = World(probes=({"api": "stk_premarket", "outcome": "denied", "message": "40203: no permission"},))
    w.step(spec("A", flags=flags))
    premarket = next(f for f in w.status["effectiveFlags"] if f["flag"] == "p2SpecialPermissionStkPremarketV1")
    assert premarket["effective"] is False and w.status["probes"][0]["outcome"] == "denied"
    w.probes = ({"api": "stk_premarket", "outcome": "granted"},)
    w.step(spec("A", flags=flags))
    premarket = next(f for f in w.status["effectiveFlags"] if f["flag"] == "p2SpecialPermissionStkPremarketV1")
    assert premarket["effective"] is True


# -- steady state -------------------------------------------------------------------------------------------


def daily_run(gate: GateResult | None, at: dt.datetime = NOW + dt.timedelta(hours=10),
              state: JobState = JobState.FAILED, reason: str | None = None) -> DailyRun:
    if gate is not None and gate.passed:
        state = JobState.SUCCEEDED
    return DailyRun("p0-b-daily-1", state, at, gate, reason)


def test_a_passed_phase_gets_its_daily_cronjob_and_nothing_before() -> None:
    w = World()
    w.run(spec("B"), outcome=lambda j: (JobState.ACTIVE, None, None) if j.step is Step.PUBLISH else OK)
    assert w.step(spec("B")).schedules == [] and "B" not in w.status["steadyState"]
    w.run(spec("B"))
    [cron] = w.step(spec("B")).schedules
    assert (cron.name, cron.phase, cron.cron, cron.time_zone, cron.suspend) == \
        ("p0-b-daily", Phase.B, "30 22 * * 1-5", "Asia/Shanghai", False)
    assert cron.args == ("job", "daily", "--phase", "B")
    assert w.status["steadyState"]["B"] == {"cronJob": "p0-b-daily", "schedule": "30 22 * * 1-5 (Asia/Shanghai)",
                                             "suspended": False}


def test_the_daily_cronjob_follows_the_spec_schedule_and_backfill_end() -> None:
    w = World()
    s = replace(spec("B"), cron="0 18 * * *", time_zone="UTC", backfill_end="20240329")
    w.run(s)
    [cron] = w.step(s).schedules
    assert (cron.cron, cron.time_zone, cron.args[-2:]) == ("0 18 * * *", "UTC", ("--end", "20240329"))


@pytest.mark.parametrize("change, reason", [
    ({"paused": True}, "spec.paused is true"),
    ({"ingestion": "paused"}, "spec.control.state is paused"),
    ({"ingestion": "cancelled"}, "spec.control.state is cancelled"),
    ({"flags": RolloutFlags(p0Enabled=False, updatedAt=2)}, "p0Enabled is off"),
], ids=["paused", "ingestion-paused", "ingestion-cancelled", "switch-off"])
def test_the_daily_cronjob_is_suspended_with_the_reason(change: dict, reason: str) -> None:
    w = World()
    w.run(spec("B"))
    [cron] = w.step(replace(spec("B"), **change)).schedules
    assert cron.suspend is True and w.status["steadyState"]["B"]["reason"] == reason
    assert w.phase("B")["state"] == "Passed"
    [cron] = w.step(spec("B")).schedules
    assert cron.suspend is False and "reason" not in w.status["steadyState"]["B"]


def test_rolling_a_phase_back_or_retrying_it_removes_its_daily_cronjob() -> None:
    w = World()
    w.run(spec("B"))
    assert w.step(spec("B")).schedules
    w.run(spec("A"))
    assert w.phase("B")["state"] == "RolledBack" and w.step(spec("A")).schedules == []
    w.run(spec("B"))
    w.daily = {Phase.B: daily_run(FAILED_GATE, at=NOW + dt.timedelta(days=1))}
    w.run(spec("B"))
    assert w.phase("B")["state"] == "Failed"
    plan = w.step(spec("B", retry_token="fixed"))
    assert plan.schedules == [] and w.phase("B")["state"] == "Running"


def test_a_regressed_phase_rolled_back_by_a_lowered_target_loses_its_daily_cronjob() -> None:
    w = World()
    w.run(spec("B"))
    w.daily = {Phase.B: daily_run(FAILED_GATE)}
    w.run(spec("B"))
    w.run(spec("A"))
    assert name(Phase.B, Step.ROLLBACK) in w.created and w.step(spec("A")).schedules == []


# -- GitOps intents --------------------------------------------------------------------------------------


def test_lowering_the_target_rolls_back_the_phases_above_it_and_raising_it_runs_them_again() -> None:
    w = World()
    w.run(spec("B"))
    w.run(spec("A"))
    assert name(Phase.B, Step.ROLLBACK) in w.created
    assert w.phase("B")["state"] == "RolledBack" and w.status["state"] == "Succeeded"
    assert w.condition("RolledBack") == "True" and w.condition("Ready") == "True"
    w.run(spec("B"))
    assert w.phase("B")["state"] == "Passed" and name(Phase.B, Step.INGEST, 2) in w.created


def test_lowering_the_target_while_a_gate_runs_stops_it_and_rolls_back() -> None:
    w = World()
    s = spec("B")
    w.run(s, outcome=lambda j: (JobState.ACTIVE, None, None) if j.step is Step.GATE and j.phase is Phase.B else OK)
    assert [j.name for j in w.active()] == [name(Phase.B, Step.GATE)]
    w.step(spec("A"))
    assert w.deleted == [name(Phase.B, Step.GATE)] and name(Phase.B, Step.ROLLBACK) in w.created
    assert w.status["state"] == "RollingBack"
    w.run(spec("A"))
    assert w.phase("B")["state"] == "RolledBack"


def test_rollbacks_run_newest_phase_first() -> None:
    w = World(built=ALL_BUILT)
    w.run(spec("C", flags={"p1Enabled": True}))
    w.run(spec("A", flags={"p1Enabled": True}))
    rollbacks = [n for n in w.created if "rollback" in n]
    assert rollbacks == [name(Phase.C, Step.ROLLBACK), name(Phase.B, Step.ROLLBACK)]


def test_paused_starts_nothing_new_and_lets_running_jobs_finish() -> None:
    w = World()
    w.step(spec("B"))  # migrate created
    plan = w.step(spec("B", paused=True))
    assert plan.create == [] and plan.delete == []
    w.finish()
    plan = w.step(spec("B", paused=True))
    assert plan.create == [] and w.status["state"] == "Paused" and w.condition("Paused") == "True"
    assert w.step(spec("B")).create[0].name == name(Phase.A, Step.BASELINE)


def test_flags_switched_off_mid_phase_hold_the_phase_without_killing_its_job() -> None:
    w = World()
    w.run(spec("B"), outcome=lambda j: (JobState.ACTIVE, None, None) if j.step is Step.INGEST else OK)
    plan = w.step(spec("B", flags={"p0Enabled": False, "updatedAt": 2}))
    assert plan.delete == [] and w.phase("B")["state"] == "Waiting"
    assert w.step(spec("B", flags={"updatedAt": 3})).create == []  # back on: the same Job carries on
    assert w.phase("B")["state"] == "Running"


# -- the edge: restarts and hands -------------------------------------------------------------------------


def test_an_operator_restarted_between_creating_a_job_and_writing_status_adopts_it() -> None:
    w = World()
    old_status = dict(w.status)
    w.step(spec("B"))  # creates the migrate Job ...
    w.status = old_status  # ... but the status write was lost
    plan = w.step(spec("B"))
    assert plan.create == [] and w.phase("A")["jobs"][0]["name"] == name(Phase.A, Step.MIGRATE)


def test_a_job_deleted_by_hand_is_created_again_under_the_same_name() -> None:
    w = World()
    w.step(spec("B"))
    w.jobs.clear()
    plan = w.step(spec("B"))
    assert [r.name for r in plan.create] == [name(Phase.A, Step.MIGRATE)]


def test_condition_times_move_only_when_a_condition_changes() -> None:
    w = World()
    w.step(spec("B"))
    first = {c["type"]: c["lastTransitionTime"] for c in w.status["conditions"]}
    plan = decide(spec("B"), w.status, w.observed(), NOW + dt.timedelta(minutes=5))
    assert {c["type"]: c["lastTransitionTime"] for c in plan.status["conditions"]} == first


# -- P2 modules: published per sub-flag, rolled back alone (rule 8) ------------------------------------------


P2_BUILT = ALL_BUILT | frozenset(P2_SUBFLAGS)
FUTURES, INDEX, EQUITY, PREMARKET = ("p2_futures_microstructure", "p2_realtime_index", "p2_realtime_equity_etf",
                                     "p2_stk_premarket")
FUTURES_INDEX = {"p2FuturesMicrostructureV1": True, "p2RealtimeIndexV1": True}


def d_spec(flags: dict | None = None, **kw) -> Spec:
    target = kw.pop("target", "D")
    return spec(target, flags={"p1Enabled": True, "p2Enabled": True, **(flags or {})}, **kw)


def passed_d(flags: dict | None = None, **kw) -> World:
    """A world whose D passed with ``flags`` (default: the futures and index modules in force)."""
    w = World(built=P2_BUILT, streaks={"P0": 3, "P1": 3}, **kw)
    w.run(d_spec(FUTURES_INDEX if flags is None else flags))
    assert w.phase("D")["state"] == "Passed", w.phase("D")
    return w


def modules(w: World) -> dict[str, str]:
    return {m: e["state"] for m, e in w.phase("D").get("modules", {}).items()}


def rollback(module: str = FUTURES, try_: int = 1) -> str:
    return f"p0-d-rollback-{module.removeprefix('p2_').replace('_', '-')}-{try_}"


ALL_DENIED = tuple({"api": api, "outcome": "denied"} for api in ("stk_mins", "rt_etf_k", "rt_min"))


def test_d_publishes_exactly_the_modules_in_force_and_records_them_in_status() -> None:
    # the equity module's sub-flag is on, but the probes denied every API of it: not in force
    w = passed_d({**FUTURES_INDEX, "p2RealtimeEquityEtfV1": True}, probes=ALL_DENIED)
    publish = w.requests[name(Phase.D, Step.PUBLISH)]
    assert publish.args == ("job", "publish", "--phase", "D", "--module", FUTURES, "--module", INDEX)
    assert publish.modules == (FUTURES, INDEX)
    assert w.phase("D")["modules"] == {
        m: {"state": "Published", "flag": flag, "job": "p0-d-publish-1", "publishedAt": "2024-03-29T12:00:00Z",
            "message": "published by p0-d-publish-1"}
        for m, flag in ((FUTURES, "p2FuturesMicrostructureV1"), (INDEX, "p2RealtimeIndexV1"))}
    none = passed_d({})  # no module in force: the publish asks for none, D passes with nothing published
    assert none.requests[name(Phase.D, Step.PUBLISH)].args == ("job", "publish", "--phase", "D")
    assert none.phase("D")["modules"] == {}


def test_the_published_set_is_what_the_publish_job_was_asked_for_not_the_flags_when_it_ended() -> None:
    w = World(built=P2_BUILT, streaks={"P0": 3, "P1": 3})
    held = lambda j: (JobState.ACTIVE, None, None) if (j.phase, j.step) == (Phase.D, Step.PUBLISH) else OK  # noqa: E731
    w.run(d_spec(FUTURES_INDEX), outcome=held)
    assert w.requests[name(Phase.D, Step.PUBLISH)].modules == (FUTURES, INDEX)
    off = d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2})  # futures off while the publish runs
    w.step(off)
    w.finish()
    w.step(off)  # the publish switched futures on: recorded published ...
    assert modules(w) == {FUTURES: "Published", INDEX: "Published"}
    w.step(off)  # ... so it rolls back now
    assert modules(w) == {FUTURES: "RollingBack", INDEX: "Published"}
    assert w.phase("D")["state"] == "Passed" and rollback() in w.created


@pytest.mark.parametrize("purge", [False, True], ids=["switch-off-only", "purge-data"])
def test_a_sub_flag_turned_off_rolls_back_only_its_module_and_d_stays_passed(purge: bool) -> None:
    w = passed_d()
    before = list(w.created)
    off = d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2}, purge_data=purge)
    plan = w.step(off)
    assert [r.name for r in plan.create] == [rollback()] and plan.delete == []
    assert plan.create[0].args == ("job", "rollback", "--phase", "D", "--module", FUTURES,
                                   *(("--purge-data",) if purge else ()))
    assert plan.create[0].modules == (FUTURES,) and plan.create[0].step is Step.ROLLBACK
    assert [e.reason for e in plan.events] == ["ModuleRollingBack"]
    assert "p2FuturesMicrostructureV1 was turned off (flags updatedAt 2)" in plan.events[0].message
    futures = w.phase("D")["modules"][FUTURES]
    assert futures["state"] == "RollingBack" and futures["job"] == rollback() and futures["flagsUpdatedAt"] == 2
    assert [w.phase(p)["state"] for p in "ABCD"] == ["Passed"] * 4
    assert w.status["state"] == "Succeeded" and w.condition("Ready") == "True"
    assert "rolling back P2 module p2_futures_microstructure (sub-flag turned off)" in w.status["message"]
    assert {r.name for r in plan.schedules} == {"p0-b-daily", "p0-c-daily", "p0-d-daily", "p0-d-realtime"}
    assert plan.requeue_after == 30.0
    w.run(off)
    assert w.created == [*before, rollback()]  # nothing else ran: B, C and the index module untouched
    assert modules(w) == {FUTURES: "RolledBack", INDEX: "Published"}
    futures = w.phase("D")["modules"][FUTURES]
    assert futures["job"] == rollback() and futures["rolledBackAt"] == "2024-03-29T12:00:00Z"
    assert ("rows its runs wrote deleted" in futures["message"]) is purge
    assert w.phase("D")["state"] == "Passed" and w.status["state"] == "Succeeded"
    assert w.condition("Ready") == "True" and w.condition("RolledBack") == "True"
    assert w.status["message"] == "target phase D reached"
    again = w.step(off)  # idempotent
    assert again.create == [] and again.events == [] and w.step(off).status == w.status


@pytest.mark.parametrize("run, purge, waits", [
    ("daily", True, True), ("realtime", True, True), ("daily", False, False),
], ids=["purge-waits-for-the-daily-run", "purge-waits-for-a-realtime-run", "switch-off-needs-not-wait"])
def test_a_module_rollback_waits_for_the_d_runs_that_could_still_write_its_rows(run: str, purge: bool,
                                                                               waits: bool) -> None:
    w = passed_d()
    active = DailyRun(f"p0-d-{run}-1", JobState.ACTIVE, NOW + dt.timedelta(minutes=1))
    setattr(w, run, {Phase.D: active})
    off = d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2}, purge_data=purge)
    plan = w.step(off)
    assert ([r.name for r in plan.create] == []) is waits
    futures = w.phase("D")["modules"][FUTURES]
    assert futures["state"] == "RollingBack"
    if waits:
        assert f"rolling back once p0-d-{run}-1 has finished" in futures["message"]
        setattr(w, run, {Phase.D: replace(active, state=JobState.SUCCEEDED)})
        assert [r.name for r in w.step(off).create] == [rollback()]


@pytest.mark.parametrize("change", [
    {"p2RealtimeEquityEtfV1": True},
    {"p2FuturesMicrostructureV1": True},
], ids=["a-module-turned-on-for-the-first-time", "a-rolled-back-module-turned-on-again"])
def test_a_module_in_force_but_not_published_runs_d_again_as_a_new_attempt(change: dict) -> None:
    w = passed_d()
    w.run(d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2}))
    assert modules(w) == {FUTURES: "RolledBack", INDEX: "Published"}
    on = d_spec({"p2RealtimeIndexV1": True, **change, "updatedAt": 3})
    plan = w.step(on)
    turned_on = EQUITY if "p2RealtimeEquityEtfV1" in change else FUTURES
    assert [e.reason for e in plan.events] == ["P2ModulesChanged"]
    assert f"{turned_on} (" in plan.events[0].message and "runs again as attempt 2" in plan.events[0].message
    d = w.phase("D")
    assert d["state"] == "Running" and d["attempt"] == 2 and [r.name for r in plan.create] == [
        name(Phase.D, Step.PROBE, 2)]
    assert {r.name for r in plan.schedules} == {"p0-b-daily", "p0-c-daily"}  # D's come back when it passes
    assert modules(w)[INDEX] == "Published"  # kept across the attempt
    w.run(on)
    assert w.phase("D")["state"] == "Passed" and w.status["state"] == "Succeeded"
    publish = w.requests[name(Phase.D, Step.PUBLISH, 2)]
    assert set(publish.modules) == {INDEX, turned_on}
    assert modules(w)[turned_on] == "Published" and modules(w)[INDEX] == "Published"
    assert w.phase("D")["modules"][turned_on]["job"] == name(Phase.D, Step.PUBLISH, 2)
    assert [w.phase(p)["attempt"] for p in "BC"] == [1, 1]  # P0 and P1 never ran again
    if turned_on == FUTURES:  # off once more: a new rollback Job, never the old one's name
        plan = w.step(d_spec({"p2RealtimeIndexV1": True, "updatedAt": 4}))
        assert [r.name for r in plan.create] == [rollback(try_=3)]


def test_a_probe_that_now_grants_a_module_runs_d_again() -> None:
    w = passed_d({**FUTURES_INDEX, "p2RealtimeEquityEtfV1": True}, probes=ALL_DENIED)
    assert EQUITY not in modules(w)
    w.probes = tuple({**p, "outcome": "granted"} for p in ALL_DENIED)
    plan = w.step(d_spec({**FUTURES_INDEX, "p2RealtimeEquityEtfV1": True}))
    assert w.phase("D")["attempt"] == 2 and name(Phase.D, Step.PROBE, 2) in [r.name for r in plan.create]


@pytest.mark.parametrize("change, daily", [
    ({"p2Enabled": False, "updatedAt": 2}, "p2Enabled is off"),
    ({"paused": True}, "spec.paused is true"),
], ids=["p2-switch-off", "paused"])
def test_p2_switched_off_or_paused_suspends_the_p2_cronjobs_and_unpublishes_nothing(change: dict, daily: str) -> None:
    w = passed_d()
    flags = {**FUTURES_INDEX, **{k: v for k, v in change.items() if k != "paused"}}
    plan = w.step(d_spec(flags, paused=change.get("paused", False)))
    assert plan.create == [] and modules(w) == {FUTURES: "Published", INDEX: "Published"}
    steady = w.status["steadyState"]["D"]
    assert (steady["suspended"], steady["reason"]) == (True, daily)
    assert (steady["realtime"]["suspended"], steady["realtime"]["reason"]) == (True, daily)


def test_a_failed_module_rollback_is_retried_then_stalls_and_a_retry_token_runs_it_again() -> None:
    w = passed_d()
    off = replace(d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2}), infra_retries=1)
    deadline = lambda j: (JobState.FAILED, "DeadlineExceeded", None)  # noqa: E731
    w.run(off, outcome=deadline)
    assert [n for n in w.created if "rollback" in n] == [rollback(try_=1), rollback(try_=2)]
    futures = w.phase("D")["modules"][FUTURES]
    assert futures["state"] == "Stalled" and "spec.retryToken" in futures["message"]
    assert w.condition("Stalled") == "True" and w.phase("D")["state"] == "Passed"
    assert "P2 module p2_futures_microstructure: the rollback Job" in w.status["message"]
    w.run(replace(off, retry_token="fixed"))
    assert rollback(try_=3) in w.created and modules(w)[FUTURES] == "RolledBack"
    assert w.condition("Stalled") == "False" and w.status["acknowledgedRetryToken"] == "fixed"


def test_lowering_the_target_below_d_takes_every_module_with_it_and_raising_it_publishes_again() -> None:
    w = passed_d()
    w.run(d_spec(FUTURES_INDEX, target="C"))
    assert name(Phase.D, Step.ROLLBACK) in w.created and not any("-d-rollback-futures" in n for n in w.created)
    assert w.phase("D")["state"] == "RolledBack"
    assert modules(w) == {FUTURES: "RolledBack", INDEX: "RolledBack"}
    assert w.phase("D")["modules"][INDEX]["job"] == name(Phase.D, Step.ROLLBACK)
    w.run(d_spec(FUTURES_INDEX))
    assert w.phase("D")["state"] == "Passed" and modules(w) == {FUTURES: "Published", INDEX: "Published"}


def test_a_d_run_again_that_waits_still_counts_its_published_modules_when_the_target_is_lowered() -> None:
    w = passed_d({"p2RealtimeIndexV1": True})
    w.streaks = {"P0": 1, "P1": 3}  # the core is not stable now: D, run again, waits
    w.run(d_spec({**FUTURES_INDEX, "updatedAt": 2}))
    assert w.phase("D")["state"] == "Waiting" and w.phase("D")["attempt"] == 2
    assert modules(w) == {INDEX: "Published"}
    w.run(d_spec({**FUTURES_INDEX, "updatedAt": 2}, target="C"))
    assert name(Phase.D, Step.ROLLBACK, 2) in w.created and modules(w) == {INDEX: "RolledBack"}
    assert w.phase("D")["state"] == "RolledBack"


def test_a_d_passed_before_modules_were_recorded_adopts_the_modules_in_force() -> None:
    w = passed_d()
    del w.phase("D")["modules"]
    w.step(d_spec(FUTURES_INDEX))
    assert modules(w) == {FUTURES: "Published", INDEX: "Published"}
    assert "adopted" in w.phase("D")["modules"][FUTURES]["message"]
    assert [r.name for r in w.step(d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2})).create] == [rollback()]


# -- D's realtime CronJob ---------------------------------------------------------------------------------------


def test_a_passed_d_gets_its_realtime_cronjob_beside_the_daily_one() -> None:
    w = passed_d()
    crons = {c.name: c for c in w.step(d_spec(FUTURES_INDEX)).schedules}
    rt = crons["p0-d-realtime"]
    assert (rt.phase, rt.step, rt.cron, rt.time_zone, rt.suspend, rt.args) == \
        (Phase.D, Step.REALTIME, "*/5 9-15 * * 1-5", "Asia/Shanghai", False, ("job", "realtime"))
    assert crons["p0-d-daily"].step is Step.DAILY
    assert w.status["steadyState"]["D"]["realtime"] == {
        "cronJob": "p0-d-realtime", "schedule": "*/5 9-15 * * 1-5 (Asia/Shanghai)", "suspended": False}
    s = replace(d_spec(FUTURES_INDEX), realtime_cron="*/1 9-14 * * 1-5", time_zone="UTC")
    rt = next(c for c in w.step(s).schedules if c.step is Step.REALTIME)
    assert (rt.cron, rt.time_zone) == ("*/1 9-14 * * 1-5", "UTC")


@pytest.mark.parametrize("flags, probes, says", [
    ({"p2FuturesMicrostructureV1": True}, (),
     "no realtime P2 module is in force: p2RealtimeEquityEtfV1 is off; p2RealtimeIndexV1 is off"),
    ({"p2RealtimeEquityEtfV1": True}, tuple({"api": a, "outcome": "denied"} for a in ("rt_etf_k", "rt_min")),
     "no realtime P2 module is in force: every realtime API of p2_realtime_equity_etf was denied (rt_etf_k, rt_min)"
     "; p2RealtimeIndexV1 is off"),
], ids=["no-realtime-sub-flag", "realtime-apis-denied"])
def test_the_realtime_cronjob_is_suspended_while_no_realtime_module_is_in_force(flags: dict, probes: tuple,
                                                                               says: str) -> None:
    w = passed_d(flags, probes=probes)
    [rt] = [c for c in w.step(d_spec(flags)).schedules if c.step is Step.REALTIME]
    assert rt.suspend is True and w.status["steadyState"]["D"]["realtime"]["reason"] == says
    assert w.status["steadyState"]["D"]["suspended"] is False  # the daily run goes on


def test_a_failed_realtime_run_is_shown_and_is_never_taken_for_a_daily_regression() -> None:
    w = passed_d()
    w.realtime = {Phase.D: DailyRun("p0-d-realtime-28512345", JobState.FAILED, NOW + dt.timedelta(hours=1), None,
                                    "BackoffLimitExceeded")}
    w.run(d_spec(FUTURES_INDEX))
    assert w.phase("D")["state"] == "Passed" and w.status["state"] == "Succeeded"
    assert w.status["steadyState"]["D"]["realtime"]["lastRun"] == {
        "job": "p0-d-realtime-28512345", "state": "Failed", "startedAt": "2024-03-29T13:00:00Z",
        "reason": "BackoffLimitExceeded"}


# -- the manifests of P2's Jobs ------------------------------------------------------------------------------


def _env(manifest: dict) -> dict[str, str | None]:
    spec = manifest["spec"]["jobTemplate"]["spec"] if manifest["kind"] == "CronJob" else manifest["spec"]
    return {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}


def test_p2_isolation_settings_go_to_phase_d_jobs_only() -> None:
    rb = {"metadata": {"name": "p0", "namespace": "data", "uid": "u1"},
          "spec": {"p2": {"rateShare": 0.25, "minuteDays": 5, "workers": 3},
                   "universe": {"minuteCodes": ["600000.SH", "510300.SH"], "minuteFutures": ["CU", "AU"]}}}
    p2 = {"TSR_P2_RATE_SHARE": "0.25", "TSR_MINUTE_DAYS": "5", "TSR_WORKERS": "3",
          "TSR_MINUTE_CODES": '["600000.SH", "510300.SH"]', "TSR_MINUTE_FUTURES": '["CU", "AU"]'}
    ingest_d = build_job(rb, JobRequest("p0-d-ingest-1", Phase.D, Step.INGEST, 1, ("job", "ingest")), image="i")
    ingest_b = build_job(rb, JobRequest("p0-b-ingest-1", Phase.B, Step.INGEST, 1, ("job", "ingest")), image="i")
    w = passed_d()
    crons = {c.name: build_cronjob(rb, c, image="i") for c in w.step(d_spec(FUTURES_INDEX)).schedules}
    for manifest in (ingest_d, crons["p0-d-daily"], crons["p0-d-realtime"]):
        assert _env(manifest).items() >= p2.items()
    for manifest in (ingest_b, crons["p0-b-daily"], crons["p0-c-daily"]):
        assert not set(_env(manifest)) & set(p2)
    defaults = build_job({**rb, "spec": {}}, JobRequest("p0-d-ingest-1", Phase.D, Step.INGEST, 1, ()), image="i")
    assert {k: v for k, v in _env(defaults).items() if k in p2} == {
        "TSR_P2_RATE_SHARE": "0.5", "TSR_MINUTE_DAYS": "20", "TSR_WORKERS": "2"}
    realtime = crons["p0-d-realtime"]
    assert realtime["spec"]["jobTemplate"]["metadata"]["labels"]["tushare-rollout.io/step"] == "realtime"
    assert realtime["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["job", "realtime"]


# -- what decide() writes survives the CRD's structural pruning ----------------------------------------------


def _pruned(value: object, schema: dict, path: str = "status") -> list[str]:
    """Paths the API server would drop: keys the structural schema does not declare."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            sub = (schema.get("properties") or {}).get(key) or (
                schema["additionalProperties"] if isinstance(schema.get("additionalProperties"), dict) else None)
            out += [f"{path}.{key}"] if sub is None else _pruned(item, sub, f"{path}.{key}")
        return out
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _pruned(item, schema.get("items", {}), f"{path}[{i}]")]
    return []


STATUS_SCHEMA = __import__("yaml").safe_load(
    (__import__("pathlib").Path(__file__).parents[2] / "crds" / "rolloutbatch.yaml").read_text()
)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]


def test_every_status_field_decide_writes_is_declared_in_the_crd() -> None:
    seen: list[dict] = []
    w = World(built=ALL_BUILT, streaks={"P0": 1})
    s = spec("E", flags={"p1Enabled": True})
    w.run(s, outcome=gate_fails_in(Phase.B))
    seen.append(w.status)
    w.run(spec("E", flags={"p1Enabled": True}, retry_token="t"))
    seen.append(w.status)
    w.run(spec("A", flags={"p1Enabled": True}, retry_token="t"))
    seen.append(w.status)
    stalled = World()
    stalled.run(spec("B"), outcome=lambda j: (JobState.FAILED, "DeadlineExceeded", None))
    seen.append(stalled.status)
    steady = World()
    steady.run(spec("B"))
    steady.daily = {Phase.B: daily_run(FAILED_GATE, reason="PodFailurePolicy")}
    steady.probes = ({"api": "stk_premarket", "outcome": "granted", "message": "", "probedAt": "2024-03-29T12:00:00Z"},)
    steady.run(replace(spec("B"), paused=True, probe_token="t"))
    assert steady.status["steadyState"]["B"]["lastRun"]["reason"] == "PodFailurePolicy"
    seen.append(steady.status)
    p2 = passed_d()  # P2 modules in every state, and D's realtime CronJob with a run
    p2.realtime = {Phase.D: DailyRun("p0-d-realtime-1", JobState.FAILED, NOW, None, "DeadlineExceeded")}
    p2.run(replace(d_spec({"p2RealtimeIndexV1": True, "updatedAt": 2}), infra_retries=0),
           outcome=lambda j: (JobState.FAILED, "PodFailurePolicy", None))
    seen.append(p2.status)
    assert modules(p2) == {FUTURES: "Stalled", INDEX: "Published"}
    p2.step(d_spec({"updatedAt": 3}, retry_token="t"))  # both off: one rollback Job at a time
    assert modules(p2) == {FUTURES: "RollingBack", INDEX: "RollingBack"}
    assert p2.phase("D")["modules"][INDEX]["message"].endswith("rolling back after P2 module " + FUTURES)
    seen.append(p2.status)
    p2.run(d_spec({"updatedAt": 3}, retry_token="t"))
    assert modules(p2) == {FUTURES: "RolledBack", INDEX: "RolledBack"}
    seen.append(p2.status)
    for status in seen:
        assert _pruned(status, STATUS_SCHEMA) == []


# -- E: every gate together, then the rollback drill ----------------------------------------------------

DRILL_PASSED = {"passed": True, "message": "rollback drill passed on a copy (21 tables compared)",
                "readersLost": {"v_minute_bar": 4800}, "readersKeptRows": 90000, "tablesIdentical": 21,
                "tablesCompared": 21, "differences": []}


def drilled(result: dict, failed: bool = False) -> tuple[World, Spec]:
    w = World(built=ALL_BUILT, streaks={"P0": 3, "P1": 3})

    def outcome(j: ObservedJob) -> Outcome:
        if j.step is Step.DRILL:
            w.drills[j.name] = result
            return (JobState.FAILED, "PodFailurePolicy", None) if failed else OK
        return OK
    s = spec("E", flags={"p1Enabled": True, "p2Enabled": True, "p2FuturesMicrostructureV1": True})
    w.run(s, outcome)
    return w, s


def test_e_runs_the_gates_then_the_rollback_drill_and_a_passed_drill_is_succeeded_with_it_in_status() -> None:
    w, _ = drilled(DRILL_PASSED)
    e_jobs = [n for n in w.created if "-e-" in n]
    assert e_jobs == [name(Phase.E, Step.GATE), name(Phase.E, Step.DRILL)]
    assert w.requests[name(Phase.E, Step.DRILL)].args == ("job", "rollback-drill")
    assert w.phase("E")["state"] == "Passed" and w.phase("E")["drill"] == {"job": name(Phase.E, Step.DRILL),
                                                                          **DRILL_PASSED}
    assert w.status["state"] == "Succeeded" and w.condition("Ready") == "True"
    assert set(w.status["steadyState"]) == {"B", "C", "D"}  # the daily CronJobs keep running


def test_a_drill_that_found_a_difference_fails_e_naming_it_and_stalls() -> None:
    found = {**DRILL_PASSED, "passed": False, "message": "rollback drill FAILED",
             "differences": ["fut_holding: 1201 rows before, 1200 after the roll-forward"]}
    w, _ = drilled(found, failed=True)
    e = w.phase("E")
    assert e["state"] == "Failed" and e["reason"] == "RollbackDrillFailed"
    assert "fut_holding: 1201 rows before, 1200 after" in e["message"] and e["drill"]["passed"] is False
    assert [w.phase(p)["state"] for p in "ABCD"] == ["Passed"] * 4  # nothing before E is touched
    assert w.condition("Stalled") == "True" and w.condition("Ready") == "False"
