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
   stalls at once. ``paused`` starts nothing new. E, stabilization, runs every batch's gate together,
   then the rollback drill (``job rollback-drill``: on a disposable copy P2 is rolled back and forward,
   readers must lose exactly P2 and the data must come back identical); its result is kept in
   ``status.phases.E.drill``, a drill that found a difference fails E (``RollbackDrillFailed``), and a
   passed E is the target reached: ``Succeeded``, with the daily CronJobs running on;
6. a new ``spec.probeToken`` runs the permission probes once (outside the phases) and is
   acknowledged when its Job ends; ``status.probes`` shows the newest probe per API, and the
   premarket flag is effective only with a granted ``stk_premarket`` probe;
7. every passed batch phase (B, C, D) has its daily CronJob: incremental ingestion, then that phase's
   gate (the daily gate of rule 2). It is suspended, with the reason in status, while ``paused``,
   while ``spec.control.state`` is not ``running`` and while the batch's switch is off; it is removed
   when the phase is rolled back, retried or run again. A passed D also has its realtime CronJob
   (``job realtime``, ``spec.schedule.realtimeCron``: session snapshots, no gate, so never a daily
   regression), suspended by the same rules and also while no realtime P2 module is in force;
8. P2 is published per module. A module is in force when its sub-flag is effective and the newest
   probes did not deny every API of it. D's publish Job is asked for exactly the modules in force when
   it is created (``--module``, echoed in an annotation), and those are recorded ``Published`` in
   ``status.phases.D.modules`` when it succeeds. A published module whose sub-flag is turned off
   (``updatedAt`` moved) rolls back alone: its own rollback Job (``<rb>-d-rollback-<module>-<try>``,
   ``--purge-data`` with ``spec.rollback.purgeData``) starts once no D Job that could still write its
   rows or switch it on runs, one at a time; D stays passed, and B, C, the other modules and the daily
   CronJobs stay as they are. A module in force that is not published (its sub-flag turned on again,
   or for the first time, or a probe now grants it) runs D again as a new attempt once no module
   rollback is in flight: D's ingest loads only what is missing, its publish switches the module on.
   ``p2Enabled`` off suspends P2's CronJobs (as the other batch switches do theirs) and a lost
   permission only stops that API's loads: neither unpublishes anything. A lowered ``targetPhase``
   takes the whole of P2 down, and a rollback of D takes every module with it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..flags import P2_SUBFLAGS
from .model import (
    DailyRun, Event, GateResult, JobRequest, Module, Observed, ObservedJob, Plan, ScheduleRequest, Spec, flags_json,
    job_name, module_job_name, probe_job_name, schedule_name,
)
from .vocabulary import (
    INFRA_FAILURES, PHASES, STEPS, Condition, JobState, ModuleState, Phase, PhaseState, Reason, State, Step,
)

STREAK_RECHECK_SECONDS = 300.0
ACTIVE_STATES = (PhaseState.RUNNING, PhaseState.ROLLING_BACK)
ON = (ModuleState.PUBLISHED.value, ModuleState.ROLLING_BACK.value, ModuleState.STALLED.value)  # switch not off yet


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
        self.in_flight: str | None = None  # the P2 module whose rollback Job runs (one at a time)

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
            return ("job", "publish", "--phase", p.value,
                    *(a for m in self.asked(p, step) or () for a in ("--module", m)))
        if step is Step.PROBE:
            return ("job", "probe")
        if step is Step.DRILL:
            return ("job", "rollback-drill", *end)
        return ("job", "rollback", "--phase", p.value, *(("--purge-data",) if s.purge_data else ()),
                *(("--schema",) if s.rollback_schema and p is Phase.A else ()))

    def asked(self, p: Phase, step: Step) -> tuple[str, ...] | None:
        """The P2 modules D's publish is asked for: those in force now (rule 8)."""
        if p is Phase.D and step is Step.PUBLISH:
            return tuple(m.name for m in self.modules_in_force())
        return None

    def job(self, p: Phase, step: Step) -> ObservedJob | None:
        """The Job of this step's current try: observed, or requested (unless paused); recorded in status."""
        name = job_name(self.spec.name, p, step, self.tries(p, step))
        found = self.observed.job(name)
        if found is None and not self.spec.paused:
            self.plan.create.append(JobRequest(name, p, step, self.tries(p, step), self.args(p, step),
                                               self.asked(p, step)))
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
        for name, m in self.modules().items():
            if m["state"] == ModuleState.STALLED.value:  # its rollback runs again, as a new try
                key = f"rollback-{name}"
                tries = self.entry(Phase.D).setdefault("tries", {})
                tries[key] = int(tries.get(key, self.entry(Phase.D).get("attempt", 1))) + 1
                m.update(state=ModuleState.ROLLING_BACK.value, message=f"retry requested ({token})")
                m.pop("infraFailures", None)
                retried.append(f"the rollback of P2 module {name}")
        for p in PHASES:
            e = self.entry(p)
            if self.state(p) is PhaseState.FAILED or (self.state(p) is PhaseState.FROZEN and e.get("jobs")):
                attempt = int(e.get("attempt", 1)) + 1
                tries = {k: v + 1 for k, v in e.get("tries", {}).items()}
                self.ph[p.value] = {"state": PhaseState.PENDING.value, "attempt": attempt, "tries": tries,
                                    "reason": Reason.RETRYING.value, "message": f"retry requested ({token})",
                                    **_carried(e)}
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
            published = self.published(p)  # D run again keeps its earlier modules published
            if state in (PhaseState.PENDING, PhaseState.ROLLED_BACK) and not published:
                continue
            e = self.entry(p)
            wrote = state in (PhaseState.PASSED, PhaseState.RUNNING, PhaseState.ROLLING_BACK) or bool(published) or \
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
                            "message": message, **_carried(e)}
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
            for m in self.modules(p).values():  # the phase's rollback switched every module off
                if m["state"] in ON:
                    m.update(state=ModuleState.ROLLED_BACK.value, job=j.name, rolledBackAt=_ts(self.now),
                             message=f"rolled back with phase {p.value} ({why})")
                    m.pop("infraFailures", None)
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
                if step is Step.PUBLISH and p is Phase.D:
                    self.record_published(j)
                if step is Step.DRILL:
                    e["drill"] = {"job": j.name, **self.observed.drills.get(j.name, {"passed": True})}
                done.append(step.value)
                continue
            self.job_failed(p, step, j)
            return False
        e.pop("step", None)
        return True

    def job_failed(self, p: Phase, step: Step, j: ObservedJob) -> None:
        e = self.entry(p)
        drill = self.observed.drills.get(j.name) if step is Step.DRILL else None
        if drill is not None and not drill.get("passed"):
            e["drill"] = {"job": j.name, **drill}
            found = "; ".join(drill.get("differences") or []) or drill.get("message", "")
            self.set(p, PhaseState.FAILED, Reason.DRILL_FAILED, f"the rollback drill ({j.name}) failed: {found}; "
                                                                 "fix the cause, then change spec.retryToken")
            self.event("Warning", Reason.DRILL_FAILED, e["message"])
            return
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
                entry["lastRun"] = _last_run(run)
            if p is Phase.D:
                entry["realtime"] = self.realtime_schedule(why)
            out[p.value] = entry
        self.st["steadyState"] = out

    def realtime_schedule(self, why: str) -> dict[str, Any]:
        """D's realtime CronJob: suspended as the daily one is, and while no realtime module is in force."""
        s = self.spec
        why = why or self.no_realtime()
        name = schedule_name(s.name, Phase.D, Step.REALTIME)
        self.plan.schedules.append(ScheduleRequest(name, Phase.D, s.realtime_cron, s.time_zone, bool(why),
                                                   ("job", "realtime"), Step.REALTIME))
        entry: dict[str, Any] = {"cronJob": name, "schedule": f"{s.realtime_cron} ({s.time_zone})",
                                 "suspended": bool(why)}
        if why:
            entry["reason"] = why
        run = self.observed.realtime.get(Phase.D)
        if run is not None:
            entry["lastRun"] = _last_run(run)
        return entry

    def no_realtime(self) -> str:
        """Why no realtime P2 module is in force, or ``""`` when one is."""
        reasons = []
        for m in self.observed.modules:
            if not m.realtime_apis:
                continue
            why = self.in_force(m)
            if why is None and set(m.realtime_apis) <= self.denied():
                why = f"every realtime API of {m.name} was denied ({', '.join(m.realtime_apis)})"
            if why is None:
                return ""
            reasons.append(why)
        return "no realtime P2 module is in force: " + "; ".join(reasons) if reasons else \
            "this release builds no realtime P2 module"

    # -- P2 modules (rule 8) ------------------------------------------------------------------------

    def modules(self, p: Phase = Phase.D) -> dict[str, dict[str, Any]]:
        """``status.phases.D.modules``: per P2 module published once, its state."""
        return (self.entry(p).get("modules") or {}) if p is Phase.D else {}

    def published(self, p: Phase) -> list[str]:
        """The P2 modules whose read switch is (or may still be) on."""
        return [n for n, m in self.modules(p).items() if m["state"] in ON]

    def denied(self) -> set[str]:
        return {p.get("api") for p in self.observed.probes if p.get("outcome") == "denied"}

    def in_force(self, m: Module) -> str | None:
        """``None`` when module ``m`` is in force, else why not."""
        f = self.flag_state(self.spec.flags.effective(m.flag, premarket_granted=self.premarket_granted()))
        if not f["effective"]:
            return f.get("reason") or f"{m.flag} is off"
        if m.apis and set(m.apis) <= self.denied():
            return f"the newest permission probes denied every API of {m.name} ({', '.join(m.apis)})"
        return None

    def modules_in_force(self) -> list[Module]:
        return [m for m in self.observed.modules if self.in_force(m) is None]

    def record_published(self, j: ObservedJob) -> None:
        """D's publish succeeded: the modules it was asked for are published (a publish never switches off)."""
        mods = self.entry(Phase.D).setdefault("modules", {})
        flags = {m.name: m.flag for m in self.observed.modules}
        names = j.modules if j.modules is not None else tuple(m.name for m in self.modules_in_force())
        for name in names:
            mods[name] = {"state": ModuleState.PUBLISHED.value, "flag": flags.get(name, ""), "job": j.name,
                          "publishedAt": _ts(self.now), "message": f"published by {j.name}"}

    def p2_modules(self) -> None:
        """Rule 8: a published module whose sub-flag went off rolls back alone; one in force that is not
        published runs D again."""
        e = self.entry(Phase.D)
        if self.state(Phase.D) is PhaseState.ROLLING_BACK or \
                e.get("rollback", {}).get("state") in ("Pending", "Running", "Stalled"):
            return  # the whole of D is rolled back: every module goes with it
        if "modules" not in e:
            if self.state(Phase.D) is PhaseState.PASSED:  # passed before modules were recorded: adopt them
                e["modules"] = {m.name: {"state": ModuleState.PUBLISHED.value, "flag": m.flag,
                                         "message": "adopted: D passed before its modules were recorded"}
                                for m in self.modules_in_force()}
            return
        mods = e["modules"]
        self.in_flight = next((n for n, m in mods.items() if m["state"] == ModuleState.ROLLING_BACK.value and (
            j := self.observed.job(m.get("job", ""))) is not None and j.state is JobState.ACTIVE), None)
        for m in self.observed.modules:
            entry = mods.get(m.name)
            if entry is None:
                continue
            if entry["state"] == ModuleState.PUBLISHED.value and not getattr(self.spec.flags, m.flag):
                purge = "its read switch goes off and the rows its runs wrote are deleted" if self.spec.purge_data \
                    else "its read switch goes off, its data is kept"
                entry.update(state=ModuleState.ROLLING_BACK.value, flagsUpdatedAt=self.spec.flags.updatedAt,
                             message=f"{m.flag} was turned off: rolling back")
                entry.pop("infraFailures", None)
                self.event("Normal", Reason.MODULE_ROLLING_BACK,
                           f"{m.flag} was turned off (flags updatedAt {self.spec.flags.updatedAt}): rolling back P2 "
                           f"module {m.name} alone ({purge}); phase D stays passed, P0 and P1 are untouched")
            if entry["state"] == ModuleState.ROLLING_BACK.value:
                self.module_rollback(m, mods)
        self.rerun_for_modules(mods)

    def module_rollback(self, m: Module, mods: dict[str, dict[str, Any]]) -> None:
        """Drive module ``m``'s rollback Job: started once nothing that could write it (or switch it on) runs."""
        e, entry = self.entry(Phase.D), mods[m.name]
        tries, key = e.setdefault("tries", {}), f"rollback-{m.name}"
        n = tries[key] = int(tries.get(key, e.get("attempt", 1)))
        name = module_job_name(self.spec.name, Phase.D, Step.ROLLBACK, m, n)
        entry["job"] = name
        found = self.observed.job(name)
        if found is None:
            busy = self.module_blockers()
            if busy:
                entry["message"] = (f"{m.flag} was turned off: rolling back once {', '.join(busy)} has finished "
                                    "(it may still write the module or switch it on)")
            elif self.in_flight not in (None, m.name):  # one Job at a time
                entry["message"] = f"{m.flag} was turned off: rolling back after P2 module {self.in_flight}"
            elif self.spec.paused:
                entry["message"] = f"{m.flag} was turned off: rolling back once spec.paused is false"
            else:
                args = ("job", "rollback", "--phase", Phase.D.value, "--module", m.name,
                        *(("--purge-data",) if self.spec.purge_data else ()))
                self.plan.create.append(JobRequest(name, Phase.D, Step.ROLLBACK, n, args, (m.name,)))
                entry["message"] = f"{m.flag} was turned off: rolling back (Job {name})"
                self.in_flight = m.name
            return
        if found.state is JobState.ACTIVE:
            entry["message"] = f"{m.flag} was turned off: rolling back (Job {name})"
            self.in_flight = m.name
            return
        if found.state is JobState.SUCCEEDED:
            what = "read switch off, the rows its runs wrote deleted" if self.spec.purge_data else \
                "read switch off, data kept"
            mods[m.name] = {"state": ModuleState.ROLLED_BACK.value, "flag": m.flag, "job": name,
                            "rolledBackAt": _ts(self.now), "message": f"rolled back by {name} ({what})",
                            **({"flagsUpdatedAt": entry["flagsUpdatedAt"]} if "flagsUpdatedAt" in entry else {})}
            tries[key] = n + 1  # a later rollback of this module is a new Job
            self.event("Normal", Reason.MODULE_ROLLED_BACK, f"P2 module {m.name} rolled back by {name} ({what})")
            return
        failures = int(entry.get("infraFailures", 0)) + 1
        if failures <= self.spec.infra_retries and found.reason in INFRA_FAILURES:
            entry["infraFailures"] = failures
            tries[key] = n + 1
            self.event("Warning", Reason.INFRA_RETRY,
                       f"the rollback of P2 module {m.name} failed ({found.reason}); retry {failures}")
            self.module_rollback(m, mods)
            return
        entry.update(state=ModuleState.STALLED.value,
                     message=f"the rollback Job {name} failed: {found.message or found.reason}; fix it, then change "
                             "spec.retryToken")
        self.event("Warning", Reason.MODULE_STALLED, f"P2 module {m.name}: {entry['message']}")

    def module_blockers(self) -> list[str]:
        """D's Jobs that may still switch a module on (its publish) or, when purging, write its rows."""
        purge = self.spec.purge_data
        steps = (Step.PUBLISH, Step.INGEST) if purge else (Step.PUBLISH,)
        busy = [j.name for j in self.observed.jobs
                if j.phase is Phase.D and j.step in steps and j.state is JobState.ACTIVE]
        if purge:
            busy += [r.job for r in (self.observed.daily.get(Phase.D), self.observed.realtime.get(Phase.D))
                     if r is not None and r.state is JobState.ACTIVE]
        return busy

    def rerun_for_modules(self, mods: dict[str, dict[str, Any]]) -> None:
        """A module in force that is not published: D runs again as a new attempt (nothing of it is lost:
        its ingest loads what is missing, its publish switches the module on)."""
        if self.state(Phase.D) is not PhaseState.PASSED or self.spec.paused or self.spec.target < Phase.D or \
                any(m["state"] in (ModuleState.ROLLING_BACK.value, ModuleState.STALLED.value) for m in mods.values()) \
                or any(self.state(q) is PhaseState.RUNNING for q in PHASES if q > Phase.D):
            return
        missing = [m for m in self.modules_in_force() if mods.get(m.name, {}).get("state") != ModuleState.PUBLISHED]
        if not missing:
            return
        e = self.entry(Phase.D)
        attempt = int(e.get("attempt", 1)) + 1
        which = ", ".join(f"{m.name} ({m.flag})" for m in missing)
        message = (f"P2 module{'s' if len(missing) > 1 else ''} in force but not published: {which}; phase D runs "
                   f"again as attempt {attempt} (its ingest loads only what is missing, its publish switches "
                   f"{'them' if len(missing) > 1 else 'it'} on)")
        self.ph[Phase.D.value] = {"state": PhaseState.PENDING.value, "attempt": attempt,
                                  "tries": {k: v + 1 for k, v in e.get("tries", {}).items()},
                                  "reason": Reason.MODULES_CHANGED.value, "message": message, "modules": mods}
        self.event("Normal", Reason.MODULES_CHANGED, message)

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
        mods = self.modules()
        rolling_modules = sorted(n for n, m in mods.items() if m["state"] == ModuleState.ROLLING_BACK.value)
        stalled_modules = sorted(n for n, m in mods.items() if m["state"] == ModuleState.STALLED.value)
        if rolling_modules:
            message += f"; rolling back P2 module{'s' if len(rolling_modules) > 1 else ''} " + \
                ", ".join(rolling_modules) + " (sub-flag turned off)"
        for n in stalled_modules:
            message += f"; P2 module {n}: {mods[n].get('message', '')}"
        st["state"], st["message"] = state.value, message
        stalled = failed is not None or bool(stalled_modules) or any(
            self.entry(p).get("rollback", {}).get("state") == "Stalled" for p in PHASES)
        rolled_back = any(self.state(p) is PhaseState.ROLLED_BACK or self.entry(p).get("rollback", {}).get("state")
                          == "Done" for p in PHASES) or any(m["state"] == ModuleState.ROLLED_BACK
                                                            for m in mods.values())
        self.condition(Condition.READY, state is State.SUCCEEDED, state.value, message)
        self.condition(Condition.RECONCILING, state in (State.PENDING, State.PROGRESSING, State.GATING,
                                                        State.ROLLING_BACK), state.value, message)
        self.condition(Condition.STALLED, stalled, state.value, message if stalled else "")
        self.condition(Condition.PAUSED, s.paused, "PausedBySpec" if s.paused else "NotPaused", "")
        frozen = st["frozenFrom"]
        self.condition(Condition.FROZEN, bool(frozen), "FrozenByGate" if frozen else "NotFrozen",
                       f"phases after {frozen} are frozen" if frozen else "")
        self.condition(Condition.ROLLED_BACK, rolled_back, "RolledBack" if rolled_back else "NotRolledBack", "")
        if self.plan.requeue_after is None and (state in (State.PROGRESSING, State.GATING, State.ROLLING_BACK)
                                                or rolling_modules):
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


def _carried(e: Mapping[str, Any]) -> dict[str, Any]:
    """What a phase's entry keeps across a new attempt: D's P2 modules (their read switches are as they are)."""
    return {"modules": e["modules"]} if "modules" in e else {}


def _last_run(run: DailyRun) -> dict[str, Any]:
    return {"job": run.job, "state": run.state.value, "startedAt": _ts(run.created),
            **({"reason": run.reason} if run.reason else {}),
            **({"gatePassed": run.gate.passed} if run.gate is not None else {})}


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
        d.p2_modules()
        d.advance()
        d.gate_failure_rollbacks()  # a gate that just failed starts its rollback in the same reconcile
    d.steady_state()
    d.summarize()
    d.plan.status = d.st
    return d.plan
