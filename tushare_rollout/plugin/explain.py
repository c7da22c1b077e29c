"""``kubectl rolloutbatch explain``: why a RolloutBatch is in its state and what to do next, in sentences.

Pure: the object in, lines out. It reads only what the operator wrote in ``status`` (and ``spec``),
so it says the same thing the operator decided.

>>> rb = {"metadata": {"name": "p0", "namespace": "data"}, "spec": {"targetPhase": "B", "paused": True},
...       "status": {"phase": "B", "state": "Paused", "message": "paused by spec.paused: nothing new starts"}}
>>> print("\\n".join(explain(rb)))
rolloutbatch data/p0 is Paused at phase B (target B): paused by spec.paused: nothing new starts
spec.paused is true: nothing new starts; running Jobs finish.
Next: `kubectl rolloutbatch resume p0 -n data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..operator.vocabulary import PHASES, Phase, PhaseState, Reason, State

Obj = Mapping[str, Any]


def explain(obj: Obj) -> list[str]:
    meta, spec, st = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name, ns = meta.get("name", ""), meta.get("namespace") or "default"
    cmd = _Commands(name, ns)
    target = spec.get("targetPhase", "?")
    if not st:
        return [f"rolloutbatch {ns}/{name} has no status yet (target {target}).",
                "The operator has not reconciled it: is `tushare-rollout operator` running, and does it watch "
                f"namespace {ns} (TSR_NAMESPACES)?"]
    state, phase = st.get("state") or "", st.get("phase") or "-"
    lines = [f"rolloutbatch {ns}/{name} is {state or 'without a state'} at phase {phase} (target {target})"
             + (f": {st['message']}" if st.get("message") else "")]
    seen, generation = st.get("observedGeneration"), meta.get("generation")
    if isinstance(seen, int) and isinstance(generation, int) and seen < generation:
        lines.append(f"The status is of generation {seen} and the spec is at {generation}: the operator has not "
                     "acted on the newest change yet, so what follows may be out of date.")
    lines += _by_state(state, phase, spec, st, cmd)
    lines += _notes(state, spec, st, cmd)
    return lines


def _by_state(state: str, phase: str, spec: Obj, st: Obj, cmd: _Commands) -> list[str]:
    entries = st.get("phases") or {}
    if state in (State.FAILED, State.FROZEN):
        failed = [p.value for p in PHASES if (entries.get(p.value) or {}).get("state") == PhaseState.FAILED]
        if not failed:
            return [f"The phases after {st.get('frozenFrom') or phase} are frozen.",
                    f"Next: fix what failed, then `{cmd.retry}`."]
        return [line for p in failed for line in _failed(p, entries[p], spec, st, cmd)]
    if state == State.WAITING:
        return _waiting(phase, entries.get(phase) or {}, st, cmd)
    if state == State.PAUSED:
        return ["spec.paused is true: nothing new starts; running Jobs finish.", f"Next: `{cmd.resume}`."]
    if state in (State.PENDING, State.PROGRESSING, State.GATING):
        e = entries.get(phase) or {}
        doing = f"step {e['step']}" if e.get("step") else "its first step"
        retrying = " after an infrastructure failure" if e.get("reason") == Reason.INFRA_RETRY else ""
        return [f"Phase {phase} is running {doing} (attempt {e.get('attempt', 1)}){retrying}: nothing to do.",
                f"Follow it: `{cmd.status} --watch`."]
    if state == State.ROLLING_BACK:
        return ["A rollback is running (the phases above the target, or a phase whose gate failed): nothing to do.",
                f"Follow it: `{cmd.status} --watch`."]
    if state == State.SUCCEEDED:
        target = spec.get("targetPhase")
        if target == PHASES[-1].value:
            return ["Every phase passed: the rollout is complete; the daily CronJobs keep the data current."]
        return [f"Every phase up to {target} passed; the daily CronJobs keep the data current.",
                f"Next, when you are ready for the next phase: `{cmd.promote}`."]
    return [f"State {state!r} is not one this plugin knows; `{cmd.status}` shows the raw phases."]


def _failed(p: str, e: Obj, spec: Obj, st: Obj, cmd: _Commands) -> list[str]:
    reason, gate = e.get("reason"), e.get("gate") or {}
    lines: list[str] = []
    if reason in (Reason.GATE_FAILED, Reason.REGRESSED) or gate.get("passed") is False:
        checks = gate.get("failed") or []
        how = "its daily gate regressed after the phase had passed" if reason == Reason.REGRESSED else "its gate failed"
        lines.append(f"Phase {p} failed: {how} (Job {gate.get('job', '?')}), {len(checks)} failing check"
                     f"{'' if len(checks) == 1 else 's'}:")
        for f in checks:
            where = f" on {f['dataset']}" if f.get("dataset") else ""
            value = f" = {f['value']:g}" if isinstance(f.get("value"), (int, float)) else ""
            sample = f" (e.g. {', '.join(f['sample'])})" if f.get("sample") else ""
            lines.append(f"  - {f.get('check', '?')}{where}{value}: {f.get('message', '')}{sample}")
        if reason == Reason.REGRESSED:
            lines.append(f"Phase {p}'s data stays published and its daily runs go on.")
        lines += _rollback(p, e, spec, st)
        lines.append(f"Next: fix the data, then `{cmd.retry}` (phase {p} runs again as attempt "
                     f"{int(e.get('attempt', 1)) + 1} and the later phases unfreeze).")
    elif reason == Reason.JOB_REFUSED:
        lines += [f"Phase {p} stalled: a Job refused to run: {e.get('message', '')}",
                  f"Next: fix the configuration it names, then `{cmd.retry}`."]
    elif reason == Reason.INFRA_STALLED:
        lines += [f"Phase {p} stalled on infrastructure: {e.get('message', '')}",
                  f"Next: check the cluster (`kubectl get jobs,pods -n {cmd.ns} -l "
                  f"tushare-rollout.io/rolloutbatch={cmd.name}`), then `{cmd.retry}`."]
    else:
        lines += [f"Phase {p} failed: {e.get('message', '')}", f"Next: fix the cause, then `{cmd.retry}`."]
    return lines


def _rollback(p: str, e: Obj, spec: Obj, st: Obj) -> list[str]:
    lines = []
    if st.get("frozenFrom"):
        lines.append(f"The phases after {st['frozenFrom']} are frozen.")
    state = (e.get("rollback") or {}).get("state")
    if state == "Stalled":
        lines.append(f"Phase {p}'s rollback stalled: look at its rollback Job before retrying.")
    elif state:
        lines.append(f"Phase {p}'s rollback: {state}.")
    elif ((spec.get("rollback") or {}).get("onGateFailure")) == "FreezeOnly":
        lines.append("Nothing was rolled back (spec.rollback.onGateFailure is FreezeOnly).")
    return lines


def _waiting(phase: str, e: Obj, st: Obj, cmd: _Commands) -> list[str]:
    reason = e.get("reason")
    p = Phase(phase) if phase in Phase.__members__ else None
    if reason == Reason.SWITCH_OFF and p is not None and p.switch:
        return [f"Phase {phase} waits (it is not skipped): its batch switch {p.switch} is not in force.",
                f"Next: `{cmd.flags(p.switch)}`, or stay below it: `{cmd.rollback(PHASES[PHASES.index(p) - 1])}`."]
    if reason == Reason.STREAK_SHORT:
        streaks = st.get("stability") or {}
        said = ", ".join(f"{b} {s.get('days', 0)} of {s.get('needed', '?')}" for b, s in sorted(streaks.items()))
        return [f"Phase {phase} waits for the P0 and P1 stability streaks ({said or e.get('message', '')} clean "
                "trading days).",
                "Next: nothing; every clean daily run adds a day, and the phase starts by itself once both are long "
                "enough. A failing daily gate resets a streak: `" + cmd.status + "` shows the daily runs."]
    if reason == Reason.NOT_BUILT:
        lower = f", or stay below it: `{cmd.rollback(PHASES[PHASES.index(p) - 1])}`" if p else ""
        return [f"Phase {phase} waits: {e.get('message', '')}.",
                f"Next: upgrade the operator to a release that builds {p.batch if p else 'the batch'}{lower}."]
    return [f"Phase {phase} waits: {e.get('message', '')}"]


def _notes(state: str, spec: Obj, st: Obj, cmd: _Commands) -> list[str]:
    notes = []
    if spec.get("paused") and state != State.PAUSED:
        notes.append(f"Also: spec.paused is true, so nothing new will start (`{cmd.resume}`).")
    token = spec.get("retryToken")
    if token and token != st.get("acknowledgedRetryToken"):
        notes.append(f"spec.retryToken {token!r} is not acknowledged yet: the operator has not acted on that retry.")
    updated, seen = (spec.get("flags") or {}).get("updatedAt"), st.get("lastFlagsUpdatedAt")
    if updated is not None and seen is not None and updated != seen:
        notes.append(f"The flags of updatedAt {updated} are not seen by the operator yet (it has {seen}).")
    for f in st.get("effectiveFlags") or []:
        if f.get("set") and not f.get("effective"):
            notes.append(f"Flag {f['flag']} is set but not in force: {f.get('reason', 'no reason given')}.")
    for p, d in sorted((st.get("steadyState") or {}).items()):
        if d.get("suspended"):
            notes.append(f"Phase {p}'s daily CronJob {d.get('cronJob', '')} is suspended: {d.get('reason', '')}.")
        run = d.get("lastRun") or {}
        if run.get("gatePassed") is False:
            notes.append(f"Phase {p}'s newest daily run {run.get('job', '')} failed its gate.")
    return notes


class _Commands:
    """The commands a person would type next, for this object."""

    def __init__(self, name: str, ns: str) -> None:
        self.name, self.ns = name, ns
        self.tail = f"{name} -n {ns}"

    @property
    def retry(self) -> str:
        return f"kubectl rolloutbatch retry {self.tail}"

    @property
    def resume(self) -> str:
        return f"kubectl rolloutbatch resume {self.tail}"

    @property
    def promote(self) -> str:
        return f"kubectl rolloutbatch promote {self.tail}"

    @property
    def status(self) -> str:
        return f"kubectl rolloutbatch status {self.tail}"

    def flags(self, flag: str) -> str:
        return f"kubectl rolloutbatch flags set {self.tail} {flag}=true"

    def rollback(self, to: Phase) -> str:
        return f"kubectl rolloutbatch rollback {self.tail} --to {to.value}"
