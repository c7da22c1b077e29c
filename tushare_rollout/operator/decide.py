"""``decide(spec, status, observed, now) -> Plan``: every rollout rule, with no I/O and an injected clock.

The handler reads the RolloutBatch, its Jobs and the gate results, calls this, applies the plan
(create/delete Jobs, emit Events) and writes the returned status once, when it changed. Job names
are deterministic (phase, step, try), so a restarted operator finds the Jobs it created before it
could write status, and a Job deleted by hand is simply created again.

The rules, in the order they are applied:

1. a new ``retryToken`` retries a Failed/Frozen phase as a new attempt (acknowledged in status);
2. a passed phase whose daily gate (run by its CronJob after the phase passed) failed, fails:
   every later phase freezes and the phase in progress rolls back; its data stays published and its
   daily runs go on, so the next runs show whether the defect persists;
3. a lowered ``targetPhase`` rolls back the phases above it, newest first;
4. a failed gate's rollback Job runs (``spec.rollback.onGateFailure: Rollback``);
5. otherwise the first phase up to the target that has not passed advances, one step at a time:
   a switched-off or not-yet-built batch waits (it is not skipped), D waits for the P0 and P1
   stability streaks, a gate passes only on a passing gate result, an infrastructure failure is
   retried ``spec.jobs.infraRetries`` times and then stalls for a person, a refused Job (exit 4)
   stalls at once. ``paused`` starts nothing new;
6. a new ``spec.probeToken`` runs the permission probes once (outside the phases) and is
   acknowledged when its Job ends; ``status.probes`` shows the newest probe per API, and the
   premarket flag is effective only with a granted ``stk_premarket`` probe;
7. every passed batch phase (B, C, D) has its daily CronJob: incremental ingestion, then that phase's
   gate (the daily gate of rule 2). It is suspended, with the reason in status, while ``paused``,
   while ``spec.control.state`` is not ``running`` and while the batch's switch is off; it is removed
   when the phase is rolled back or retried.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..flags import P2_SUBFLAGS
from .model import (
    Event, GateResult, JobRequest, Observed, ObservedJob, Plan, ScheduleRequest, Spec, flags_json, job_name,
    probe_job_name, schedule_name,
)
from .vocabulary import (
    INFRA_FAILURES, PHASES, STEPS, Condition, JobState, Phase, PhaseState, Reason, State, Step,
)

STREAK_RECHECK_SECONDS = 300.0
ACTIVE_STATES = (PhaseState.RUNNING, PhaseState.ROLLING_BACK)


def _ts(now: dt.datetime) -> str:
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc) if value else None


class _Decision:
    def __init__(self, spec: Spec, status: Mapping[str, Any] | None, observed: Observed, now: dt.datetime) -> None:
        self.spec, self.observed, self.now = spec, observed, now
        self.old = copy.deepcopy(dict(status or {}))
        self.st = copy.deepcopy(self.old)
        self.ph: dict[str, dict[str, Any]] = self.st.setdefault("phases", {})
        for p in PHASES:
            self.ph.setdefault(p.value, {"state": PhaseState.PENDING.value, "attempt": 1})
        self.plan = Plan()

    # -- small helpers --------------------------------------------------------------------------------

    def entry(self, p: Phase) -> dict[str, Any]:
        return self.ph[p.value]

    def state(self, p: Phase) -> PhaseState:
        return PhaseState(self.entry(p)["state"])

    def set(self, p: Phase, state: PhaseState, reason: Reason | None = None, message: str | None = None) -> None:
        e = self.entry(p)
        e["state"] = state.value
        if reason is not None:
            e["reason"] = reason.value
        if message is not None:
            e["message"] = message

    def event(self, type_: str, reason: Reason, message: str) -> None:
        self.plan.events.append(Event(type_, reason.value, message))

    def tries(self, p: Phase, step: Step) -> int:
        return int(self.entry(p).setdefault("tries", {}).get(step.value, self.entry(p).get("attempt", 1)))

    def bump(self, p: Phase, step: Step) -> None:
        self.entry(p).setdefault("tries", {})[step.value] = self.tries(p, step) + 1

    def args(self, p: Phase, step: Step) -> tuple[str, ...]:
        s = self.spec
        if step is Step.MIGRATE:
            return ("job", "migrate")
        if step is Step.BASELINE:
            return ("job", "baseline", "--flags", flags_json(s.flags), "--generation", str(s.generation))
        end = ("--end", s.backfill_end) if s.backfill_end else ()
        if step is Step.INGEST:
            return ("job", "ingest", "--batch", p.batch or "", "--mode", "backfill", "--start", s.backfill_start, *end)
        if step is Step.GATE:
            as_of = ("--as-of", s.backfill_end) if s.backfill_end else ()
            return ("job", "gate", "--phase", p.value, *(("--since", s.backfill_start) if p is not Phase.A else ()),
                    *as_of)
        if step is Step.PUBLISH:
            return ("job", "publish", "--phase", p.value)
        if step is Step.PROBE:
            return ("job", "probe")
        return ("job", "rollback", "--phase", p.value, *(("--purge-data",) if s.purge_data else ()),
                *(("--schema",) if s.rollback_schema and p is Phase.A else ()))

    def job(self, p: Phase, step: Step) -> ObservedJob | None:
        """The Job of this step's current try: observed, or requested (unless paused); recorded in status."""
        name = job_name(self.spec.name, p, step, self.tries(p, step))
        found = self.observed.job(name)
        if found is None and not self.spec.paused:
            self.plan.create.append(JobRequest(name, p, step, self.tries(p, step), self.args(p, step)))
        jobs = [j for j in self.entry(p).get("jobs", []) if j["name"] != name]
        record = {"name": name, "kind": step.value,
                  "state": found.state.value if found else ("Pending" if self.spec.paused else "Created")}
        if found and found.reason:
            record["reason"] = found.reason
        self.entry(p)["jobs"] = [*jobs, record][-8:]
        return found

    def delete_active(self, p: Phase) -> None:
        for j in self.observed.jobs:
            if j.phase is p and j.step is not Step.ROLLBACK and j.state is JobState.ACTIVE:
                self.plan.delete.append(j.name)

    def freeze_after(self, p: Phase) -> None:
        for q in PHASES[PHASES.index(p) + 1:]:
            if self.state(q) is not PhaseState.PENDING or q <= self.spec.target:
                if self.state(q) is PhaseState.RUNNING:
                    self.delete_active(q)
                self.set(q, PhaseState.FROZEN, Reason.FROZEN_BY, f"frozen: phase {p.value} failed")
        self.st["frozenFrom"] = p.value

    # -- the rules ----------------------------------------------------------------------------------

    def retry(self) -> None:
        token = self.spec.retry_token
        if not token or token == self.st.get("acknowledgedRetryToken"):
            return
        if any(self.entry(p).get("rollback", {}).get("state") == "Running" for p in PHASES):
            return  # acknowledge once the running rollback is done
        self.st["acknowledgedRetryToken"] = token
        retried = []
        for p in PHASES:
            e = self.entry(p)
            if self.state(p) is PhaseState.FAILED or (self.state(p) is PhaseState.FROZEN and e.get("jobs")):
                attempt = int(e.get("attempt", 1)) + 1
                tries = {k: v + 1 for k, v in e.get("tries", {}).items()}
                self.ph[p.value] = {"state": PhaseState.PENDING.value, "attempt": attempt, "tries": tries,
                                    "reason": Reason.RETRYING.value, "message": f"retry requested ({token})"}
                retried.append(f"{p.value} (attempt {attempt})")
            elif self.state(p) is PhaseState.FROZEN:
                self.set(p, PhaseState.PENDING, Reason.RETRYING, "unfrozen by a retry")
        self.st["frozenFrom"] = ""
        self.event("Normal", Reason.RETRYING,
                   f"retryToken {token!r}: retrying " + (", ".join(retried) if retried else "nothing was failed"))

    def probe_token(self) -> None:
        """A new ``spec.probeToken``: one probe Job, named by the token; acknowledged once it ended."""
        token = self.spec.probe_token
        if not token or token == self.st.get("acknowledgedProbeToken"):
            return
        name = probe_job_name(self.spec.name, token)
        found = self.observed.job(name)
        if found is None:
            if not self.spec.paused:
                self.plan.create.append(JobRequest(name, Phase.D, Step.PROBE, 0,
                                                   ("job", "probe", "--probe-token", token)))
            return
        if found.state is JobState.ACTIVE:
            return
        self.st["acknowledgedProbeToken"] = token
        if found.state is JobState.FAILED:
            self.event("Warning", Reason.PROBES_FAILED, f"the permission probe Job {name} failed "
                                                        f"({found.reason}): change spec.probeToken to probe again")
        else:
            self.event("Normal", Reason.PROBED, f"permission probes recorded (probeToken {token!r})")

    def regressions(self) -> None:
        """A passed phase whose newest daily run (started after it passed) stored a failing gate."""
        for p, run in self.observed.daily.items():
            e = self.entry(p)
            passed_at = _parse_ts(e.get("finishedAt"))
            if self.state(p) is not PhaseState.PASSED or run.gate is None or run.gate.passed or \
                    passed_at is None or run.created < passed_at:
                continue
            checks = ", ".join(dict.fromkeys(f["check"] for f in run.gate.failed)) or run.gate.message
            self.set(p, PhaseState.FAILED, Reason.REGRESSED, f"daily gate regressed ({run.job}): {checks}; fix the "
                                                            "data, then change spec.retryToken")
            e["regressed"], e["gate"] = True, _gate_status(run.job, run.gate)
            in_progress = [q for q in PHASES if q > p and self.state(q) in (PhaseState.RUNNING, PhaseState.WAITING)]
            self.freeze_after(p)
            for q in in_progress:
                if self.spec.on_gate_failure == "Rollback":
                    self.entry(q)["rollback"] = {"state": "Pending"}
            self.event("Warning", Reason.REGRESSED, f"phase {p.value}'s daily gate regressed ({checks}); "
                                                    "later phases frozen")

    def roll_back_above_target(self) -> bool:
        """Lowered ``targetPhase``: roll back the phases above it, newest first. True while busy."""
        for p in reversed(PHASES):
            if p <= self.spec.target:
                break
            state = self.state(p)
            if state in (PhaseState.PENDING, PhaseState.ROLLED_BACK):
                continue
            e = self.entry(p)
            wrote = state in (PhaseState.PASSED, PhaseState.RUNNING, PhaseState.ROLLING_BACK) or \
                (state is PhaseState.FAILED and e.get("rollback", {}).get("state") != "Done" and
                 e.get("reason") in (Reason.GATE_FAILED.value, Reason.REGRESSED.value))
            if not wrote:  # waiting, frozen, or a failure already rolled back: nothing of it is visible
                self.reset(p, PhaseState.PENDING, f"target lowered to {self.spec.target.value}")
                continue
            self.delete_active(p)
            if self.run_rollback(p, f"targetPhase lowered to {self.spec.target.value}"):
                return True
        return False

    def reset(self, p: Phase, state: PhaseState, message: str) -> None:
        e = self.entry(p)
        rolled_back = state is PhaseState.ROLLED_BACK
        self.ph[p.value] = {"state": state.value, "attempt": int(e.get("attempt", 1)) + rolled_back,
                            "tries": {k: v + 1 for k, v in e.get("tries", {}).items()},
                            "reason": (Reason.ROLLED_BACK if rolled_back else Reason.STARTING).value,
                            "message": message}
        if self.st.get("frozenFrom") == p.value:
            self.st["frozenFrom"] = ""

    def run_rollback(self, p: Phase, why: str) -> bool:
        """Drive ``p``'s rollback Job; True while it runs (or stalls)."""
        e = self.entry(p)
        rb = e.setdefault("rollback", {})
        if rb.get("state") == "Done":
            return False
        rb["state"] = "Running"
        j = self.job(p, Step.ROLLBACK)
        stays = e["state"] in (PhaseState.FAILED.value, PhaseState.FROZEN.value)  # failed or frozen: it stays so
        if j is None or j.state is JobState.ACTIVE:
            if not stays:
                self.set(p, PhaseState.ROLLING_BACK, Reason.ROLLING_BACK, f"rolling back: {why}")
            return True
        if j.state is JobState.SUCCEEDED:
            self.event("Normal", Reason.ROLLED_BACK, f"phase {p.value} rolled back ({why})")
            if stays:
                rb["state"] = "Done"
                e["message"] = (e.get("message") or "") + "; rolled back"
            else:
                self.reset(p, PhaseState.ROLLED_BACK, f"rolled back: {why}")
                self.entry(p)["rollback"] = {"state": "Done"}
            return False
        retries = int(rb.get("infraFailures", 0)) + 1
        if retries <= self.spec.infra_retries and j.reason in INFRA_FAILURES:
            rb["infraFailures"] = retries
            self.bump(p, Step.ROLLBACK)
            self.job(p, Step.ROLLBACK)
            self.event("Warning", Reason.INFRA_RETRY, f"rollback of {p.value} failed ({j.reason}); retry {retries}")
            return True
        rb["state"] = "Stalled"
        e["reason"] = Reason.INFRA_STALLED.value
        e["message"] = f"the rollback Job {j.name} failed: {j.message or j.reason}"
        return True

    def gate_failure_rollbacks(self) -> bool:
        busy = False
        for p in PHASES:
            rb = self.entry(p).get("rollback", {})
            if rb.get("state") in ("Pending", "Running"):
                busy = self.run_rollback(p, "its gate failed") or busy
            elif rb.get("state") == "Stalled":
                busy = True
        return busy

    def advance(self) -> None:
        for p in PHASES:
            if p > self.spec.target:
                return
            state = self.state(p)
            if state is PhaseState.PASSED:
                continue
            if state in (PhaseState.FAILED, PhaseState.FROZEN):
                return  # waits for a retryToken (or a lowered target)
            if not self.may_start(p):
                return
            if not self.run_steps(p):
                return
            self.set(p, PhaseState.PASSED, Reason.TARGET_REACHED, f"phase {p.value} passed its gate")
            self.entry(p)["finishedAt"] = _ts(self.now)
            self.event("Normal", Reason.TARGET_REACHED, f"phase {p.value} passed")

    def may_start(self, p: Phase) -> bool:
        """Hold a phase whose batch cannot run yet, saying why (it is not skipped)."""
        why: tuple[Reason, str] | None = None
        if p.batch and p.batch not in self.observed.built:
            why = (Reason.NOT_BUILT, f"phase {p.value} needs batch {p.batch}, which this release does not build yet")
        elif p.switch and not (state := self.spec.flags.effective(p.switch)).effective:
            why = (Reason.SWITCH_OFF, f"{state.reason}: phase {p.value} waits (it is not skipped)")
        elif p is Phase.D and self.state(p) is not PhaseState.RUNNING:
            needed = self.spec.stable_trading_days
            short = {b: self.observed.streaks.get(b, 0) for b in ("P0", "P1")
                     if self.observed.streaks.get(b, 0) < needed}
            if short:
                why = (Reason.STREAK_SHORT, "D waits for the P0 and P1 stability streaks: " + ", ".join(
                    f"{b} {n} of {needed} clean trading days" for b, n in short.items()))
                self.plan.requeue_after = STREAK_RECHECK_SECONDS
        if why is None:
            return True
        self.set(p, PhaseState.WAITING, *why)
        return False

    def run_steps(self, p: Phase) -> bool:
        """Advance ``p`` through its steps; True when every step is done."""
        e = self.entry(p)
        if e["state"] != PhaseState.RUNNING.value:
            self.set(p, PhaseState.RUNNING, Reason.STARTING, f"phase {p.value} started")
            e["startedAt"] = _ts(self.now)
            e.pop("finishedAt", None)
        done = e.setdefault("done", [])
        for step in STEPS[p]:
            if step.value in done:
                continue
            j = self.job(p, step)
            if j is None or j.state is JobState.ACTIVE:
                e["step"] = step.value
                self.set(p, PhaseState.RUNNING, Reason.RUNNING_STEP, f"phase {p.value}: {step.value} running")
                return False
            if j.state is JobState.SUCCEEDED:
                if step is Step.GATE:
                    e["gate"] = _gate_status(j.name, self.observed.gates.get(j.name, GateResult(True)))
                done.append(step.value)
                continue
            self.job_failed(p, step, j)
            return False
        e.pop("step", None)
        return True

    def job_failed(self, p: Phase, step: Step, j: ObservedJob) -> None:
        e = self.entry(p)
        gate = self.observed.gates.get(j.name) if step is Step.GATE else None
        if gate is not None and not gate.passed:
            e["gate"] = _gate_status(j.name, gate)
            checks = ", ".join(dict.fromkeys(f["check"] for f in gate.failed)) or gate.message
            self.set(p, PhaseState.FAILED, Reason.GATE_FAILED, f"phase {p.value}'s gate failed: {checks}")
            self.freeze_after(p)
            if self.spec.on_gate_failure == "Rollback":
                e["rollback"] = {"state": "Pending"}
            self.event("Warning", Reason.GATE_FAILED, f"phase {p.value}'s gate failed ({checks}); later phases "
                       f"frozen; {'rolling back' if self.spec.on_gate_failure == 'Rollback' else 'frozen only'}")
            return
        if j.reason not in INFRA_FAILURES:  # the work refused itself (bad configuration): retrying cannot help
            self.set(p, PhaseState.FAILED, Reason.JOB_REFUSED,
                     f"the {step.value} Job {j.name} failed: {j.message or j.reason}; fix it, then change "
                     "spec.retryToken")
            self.event("Warning", Reason.JOB_REFUSED, e["message"])
            return
        failures = int(e.get("infraFailures", 0)) + 1
        if failures <= self.spec.infra_retries:
            e["infraFailures"] = failures
            self.bump(p, step)
            self.job(p, step)
            self.set(p, PhaseState.RUNNING, Reason.INFRA_RETRY,
                     f"the {step.value} Job failed ({j.reason}); retry {failures} of {self.spec.infra_retries}")
            self.event("Warning", Reason.INFRA_RETRY, e["message"])
            return
        self.set(p, PhaseState.FAILED, Reason.INFRA_STALLED,
                 f"the {step.value} Job failed {failures} times ({j.reason}): waiting for a person; "
                 "change spec.retryToken to try again")
        self.event("Warning", Reason.INFRA_STALLED, e["message"])

    def steady_state(self) -> None:
        """The daily CronJob of every passed batch phase (and of a regressed one: its data is still published)."""
        s, out = self.spec, {}
        for p in PHASES:
            e = self.entry(p)
            regressed = e.get("regressed") and "rollback" not in e  # failed by its daily gate, still published
            if p.batch is None or not (self.state(p) is PhaseState.PASSED or regressed):
                continue
            why = ("spec.paused is true" if s.paused else
                   f"spec.control.state is {s.ingestion}" if s.ingestion != "running" else
                   f"{p.switch} is off" if p.switch and not s.flags.effective(p.switch).effective else "")
            name = schedule_name(s.name, p)
            args = ("job", "daily", "--phase", p.value, *(("--end", s.backfill_end) if s.backfill_end else ()))
            self.plan.schedules.append(ScheduleRequest(name, p, s.cron, s.time_zone, bool(why), args))
            entry: dict[str, Any] = {"cronJob": name, "schedule": f"{s.cron} ({s.time_zone})", "suspended": bool(why)}
            if why:
                entry["reason"] = why
            run = self.observed.daily.get(p)
            if run is not None:
                entry["lastRun"] = {"job": run.job, "state": run.state.value, "startedAt": _ts(run.created),
                                    **({"reason": run.reason} if run.reason else {}),
                                    **({"gatePassed": run.gate.passed} if run.gate is not None else {})}
            out[p.value] = entry
        self.st["steadyState"] = out

    # -- the summary -------------------------------------------------------------------------------

    def summarize(self) -> None:
        s, st = self.spec, self.st
        st["observedGeneration"] = s.generation
        st["lastFlagsUpdatedAt"] = s.flags.updatedAt
        st["effectiveFlags"] = [self.flag_state(f) for f in s.flags.all_effective(
            premarket_granted=self.premarket_granted())]
        st["probes"] = [dict(p) for p in self.observed.probes]
        st["stability"] = {b: {"days": n, "needed": s.stable_trading_days} for b, n in self.observed.streaks.items()}
        st.setdefault("frozenFrom", "")
        current = next((p for p in PHASES if p <= s.target and self.state(p) is not PhaseState.PASSED), None)
        rolling = next((p for p in PHASES if self.state(p) is PhaseState.ROLLING_BACK
                        or self.entry(p).get("rollback", {}).get("state") == "Running"), None)
        failed = next((p for p in PHASES if self.state(p) is PhaseState.FAILED), None)
        shown = rolling or failed or current or s.target
        st["phase"] = shown.value
        e = self.entry(shown)
        if rolling is not None:
            state, message = State.ROLLING_BACK, self.entry(rolling).get("message", "rolling back")
        elif failed is not None:
            state, message = State.FAILED, self.entry(failed).get("message", "")
        elif current is None:
            state, message = State.SUCCEEDED, f"target phase {s.target.value} reached"
        elif s.paused:
            state, message = State.PAUSED, "paused by spec.paused: nothing new starts"
        elif e["state"] == PhaseState.WAITING.value:
            state, message = State.WAITING, e.get("message", "")
        elif e.get("step") == Step.GATE.value:
            state, message = State.GATING, e.get("message", "")
        elif e["state"] == PhaseState.RUNNING.value:
            state, message = State.PROGRESSING, e.get("message", "")
        else:
            state, message = State.PENDING, "starting"
        st["state"], st["message"] = state.value, message
        stalled = failed is not None or any(self.entry(p).get("rollback", {}).get("state") == "Stalled"
                                            for p in PHASES)
        rolled_back = any(self.state(p) is PhaseState.ROLLED_BACK or self.entry(p).get("rollback", {}).get("state")
                          == "Done" for p in PHASES)
        self.condition(Condition.READY, state is State.SUCCEEDED, state.value, message)
        self.condition(Condition.RECONCILING, state in (State.PENDING, State.PROGRESSING, State.GATING,
                                                        State.ROLLING_BACK), state.value, message)
        self.condition(Condition.STALLED, stalled, state.value, message if stalled else "")
        self.condition(Condition.PAUSED, s.paused, "PausedBySpec" if s.paused else "NotPaused", "")
        frozen = st["frozenFrom"]
        self.condition(Condition.FROZEN, bool(frozen), "FrozenByGate" if frozen else "NotFrozen",
                       f"phases after {frozen} are frozen" if frozen else "")
        self.condition(Condition.ROLLED_BACK, rolled_back, "RolledBack" if rolled_back else "NotRolledBack", "")
        if self.plan.requeue_after is None and state in (State.PROGRESSING, State.GATING, State.ROLLING_BACK):
            self.plan.requeue_after = 30.0

    def flag_state(self, f: Any) -> dict[str, Any]:
        """A flag in status: set, effective, and why not (a P2 module this release does not build yet)."""
        reason, effective = f.reason, f.effective
        if effective and f.flag in P2_SUBFLAGS and f.flag not in self.observed.built and "P2" in self.observed.built:
            effective, reason = False, f"{f.flag}: its module is not built in this release yet"
        return {"flag": f.flag, "set": f.set, "effective": effective, **({"reason": reason} if reason else {})}

    def premarket_granted(self) -> bool:
        return any(p.get("api") == "stk_premarket" and p.get("outcome") == "granted" for p in self.observed.probes)

    def condition(self, kind: Condition, value: bool, reason: str, message: str) -> None:
        """Set a condition; its transition time moves only when its status changes (no churn)."""
        conditions = self.st.setdefault("conditions", [])
        status = "True" if value else "False"
        old = next((c for c in conditions if c["type"] == kind.value), None)
        new = {"type": kind.value, "status": status, "reason": reason, "message": message,
               "observedGeneration": self.spec.generation,
               "lastTransitionTime": old["lastTransitionTime"] if old and old["status"] == status else _ts(self.now)}
        self.st["conditions"] = [c for c in conditions if c["type"] != kind.value] + [new]
        self.st["conditions"].sort(key=lambda c: [k.value for k in Condition].index(c["type"]))


def _gate_status(job: str, gate: GateResult) -> dict[str, Any]:
    return {"passed": gate.passed, "job": job, "message": gate.message, "warned": gate.warned,
            "failed": [{k: f[k] for k in ("check", "dataset", "value", "message") if f.get(k) is not None}
                       | {"sample": [str(x) for x in f.get("sample", [])[:3]]} for f in gate.failed[:10]]}


def decide(spec: Spec, status: Mapping[str, Any] | None, observed: Observed, now: dt.datetime) -> Plan:
    d = _Decision(spec, status, observed, now)
    d.retry()
    d.probe_token()
    d.regressions()
    if not d.roll_back_above_target() and not d.gate_failure_rollbacks():
        d.advance()
        d.gate_failure_rollbacks()  # a gate that just failed starts its rollback in the same reconcile
    d.steady_state()
    d.summarize()
    d.plan.status = d.st
    return d.plan
