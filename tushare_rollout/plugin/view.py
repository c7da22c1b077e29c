"""A RolloutBatch's status as rich tables (``kubectl rolloutbatch status``). Pure: object in, renderables out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..operator.vocabulary import PHASES

Obj = Mapping[str, Any]


def render(obj: Obj) -> Group:
    """Header, phases, failing checks, steady state, status matrix, stability streaks, flags and conditions."""
    st = obj.get("status") or {}
    parts: list[RenderableType] = [header(obj)]
    if not st:
        parts.append(Text("no status yet: the operator has not reconciled this RolloutBatch "
                          "(is it running, and watching this namespace?)"))
        return Group(*parts)
    parts += [t for t in (phases(obj), failing_checks(st), modules(st)) if t is not None]
    parts += [steady_state(st), matrix(st)]
    parts += [t for t in (stability(st), flags(st), conditions(st)) if t is not None]
    return Group(*parts)


def header(obj: Obj) -> Text:
    meta, spec, st = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    text = Text()
    text.append(f"rolloutbatch {meta.get('namespace', '')}/{meta.get('name', '')}", style="bold")
    text.append(f"  target {spec.get('targetPhase', '?')}  phase {st.get('phase') or '-'}  state ")
    state = st.get("state") or "-"
    text.append(state, style=_state_style(state))
    if spec.get("paused"):
        text.append("  (spec.paused)", style="yellow")
    if st.get("message"):
        text.append(f"\n{st['message']}")
    seen, generation = st.get("observedGeneration"), meta.get("generation")
    if st and isinstance(seen, int) and isinstance(generation, int) and seen < generation:
        text.append(f"\nstatus is of generation {seen}, the spec is at {generation}: the operator has not acted on "
                    "the newest change yet", style="yellow")
    return text


def phases(obj: Obj) -> Table:
    """One row per phase: state (and its rollback), step, attempt, gate, message."""
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    target = spec.get("targetPhase")
    table = Table(title="phases", title_justify="left")
    for column in ("phase", "state", "step", "attempt", "gate", "message"):
        table.add_column(column, overflow="fold")
    entries = st.get("phases") or {}
    order = [p.value for p in PHASES]
    for p in order:
        e = entries.get(p) or {}
        above = target in order and order.index(p) > order.index(target)
        state = e.get("state") or ("above target" if above else "-")
        if (e.get("rollback") or {}).get("state"):
            state += f" (rollback {e['rollback']['state']})"
        table.add_row(p, Text(state, style=_state_style(e.get("state", ""))), Text(e.get("step") or ""),
                      Text(str(e.get("attempt", ""))), gate_cell(e.get("gate"), e.get("drill")),
                      Text(e.get("message") or ""))
    return table


def gate_cell(gate: Mapping[str, Any] | None, drill: Mapping[str, Any] | None = None) -> Text:
    """The gate's verdict, and E's rollback drill under it."""
    text = _gate_verdict(gate)
    if drill:
        if drill.get("passed"):
            lost = sum((drill.get("readersLost") or {}).values())
            text.append(f"\ndrill passed ({lost} P2 rows lost on the copy, {drill.get('tablesIdentical', 0)}/"
                        f"{drill.get('tablesCompared', 0)} tables identical)", style="green")
        else:
            text.append("\ndrill FAILED: " + "; ".join(drill.get("differences") or [drill.get("message", "")]),
                        style="bold red")
    return text


def modules(st: Obj) -> Table | None:
    """P2's modules as phase D published them: each one's state, sub-flag and last Job."""
    mods = (((st.get("phases") or {}).get("D") or {}).get("modules")) or {}
    if not mods:
        return None
    table = Table(title="P2 modules", title_justify="left")
    for column in ("module", "state", "sub-flag", "job", "message"):
        table.add_column(column, overflow="fold")
    for name, m in sorted(mods.items()):
        state = m.get("state", "")
        table.add_row(name, Text(state, style={"Published": "green", "RolledBack": "yellow", "RollingBack": "yellow",
                                               "Stalled": "bold red"}.get(state, "")),
                      *(Text(m.get(k) or "") for k in ("flag", "job", "message")))
    return table


def _gate_verdict(gate: Mapping[str, Any] | None) -> Text:
    if not gate:
        return Text("")
    warned = f", {gate['warned']} warned" if gate.get("warned") else ""
    if gate.get("passed"):
        return Text(f"passed{warned}", style="green")
    return Text(f"FAILED ({len(gate.get('failed') or [])} checks{warned})", style="bold red")


def failing_checks(st: Obj) -> Table | None:
    """Every failing check of every phase's gate, with its number, message and a sample of the keys."""
    rows = [(p, f) for p in (x.value for x in PHASES)
            for f in (((st.get("phases") or {}).get(p) or {}).get("gate") or {}).get("failed") or []]
    if not rows:
        return None
    table = Table(title="failing checks", title_justify="left")
    for column in ("phase", "check", "dataset", "value", "message", "sample"):
        table.add_column(column, overflow="fold")
    for p, f in rows:
        value = _number(f["value"]) if f.get("value") is not None else ""
        table.add_row(p, *(Text(str(x)) for x in (f.get("check", "?"), f.get("dataset", ""), value,
                                                  f.get("message", ""), ", ".join(f.get("sample") or []))))
    return table


def steady_state(st: Obj) -> RenderableType:
    daily = st.get("steadyState") or {}
    if not daily:
        return Text("steady state: no daily CronJob yet (a phase gets one when it passes)")
    table = Table(title="steady state (daily CronJobs)", title_justify="left")
    for column in ("phase", "cronjob", "schedule", "suspended", "last run"):
        table.add_column(column, overflow="fold")
    for p, e in sorted(daily.items()):
        suspended = f"yes: {e.get('reason', '')}" if e.get("suspended") else "no"
        run = e.get("lastRun") or {}
        gate = {True: ", gate passed", False: ", gate FAILED"}.get(run.get("gatePassed"), "")
        last = f"{run.get('job')} {run.get('state', '')} {run.get('startedAt', '')}{gate}" if run else "none yet"
        table.add_row(p, *(Text(x) for x in (e.get("cronJob", ""), e.get("schedule", ""), suspended, last)))
        realtime = e.get("realtime")
        if realtime:
            run = realtime.get("lastRun") or {}
            table.add_row(f"{p} realtime", *(Text(x) for x in (
                realtime.get("cronJob", ""), realtime.get("schedule", ""),
                f"yes: {realtime.get('reason', '')}" if realtime.get("suspended") else "no",
                f"{run.get('job')} {run.get('state', '')} {run.get('startedAt', '')}" if run else "none yet")))
    return table


def matrix(st: Obj) -> Text:
    m = st.get("statusMatrix")
    if not m:
        return Text("status matrix: not in status (`tushare-rollout status` reads it from the database)")
    return Text(f"status matrix: {m.get('complete', 0)} complete, {m.get('partial', 0)} partial, "
                f"{m.get('missing', 0)} missing, {m.get('notApplicable', 0)} not applicable")


def stability(st: Obj) -> Table | None:
    streaks = st.get("stability") or {}
    if not streaks:
        return None
    table = Table(title="stability streaks", title_justify="left")
    for column in ("batch", "clean days", "needed", "since"):
        table.add_column(column)
    for batch, s in sorted(streaks.items()):
        short = s.get("needed") is not None and s.get("days", 0) < s["needed"]
        table.add_row(batch, Text(str(s.get("days", 0)), style="yellow" if short else "green"),
                      Text(str(s.get("needed", ""))), Text(s.get("since") or ""))
    return table


def flags(st: Obj) -> Table | None:
    rows = st.get("effectiveFlags") or []
    if not rows:
        return None
    table = Table(title="flags", title_justify="left")
    for column in ("flag", "set", "in force", "why not"):
        table.add_column(column, overflow="fold")
    for f in rows:
        why = f.get("reason", "") if f.get("set") and not f.get("effective") else ""
        table.add_row(Text(f["flag"]), _yes(f.get("set")), Text(_yes(f.get("effective")),
                      style="yellow" if f.get("set") and not f.get("effective") else ""), Text(why))
    return table


def conditions(st: Obj) -> Table | None:
    rows = st.get("conditions") or []
    if not rows:
        return None
    table = Table(title="conditions", title_justify="left")
    for column in ("type", "status", "reason", "message", "since"):
        table.add_column(column, overflow="fold")
    for c in rows:
        table.add_row(*(Text(str(c.get(k, ""))) for k in ("type", "status", "reason", "message",
                                                          "lastTransitionTime")))
    return table


def current_conditions(obj: Obj) -> dict[str, Mapping[str, Any]]:
    """The conditions by type, leaving out those written for an older generation of the spec (kstatus).

    >>> rb = {"metadata": {"generation": 3}, "status": {"observedGeneration": 2, "conditions": [
    ...     {"type": "Ready", "status": "True", "observedGeneration": 2}, {"type": "Paused", "status": "True"}]}}
    >>> sorted(current_conditions(rb)), sorted(current_conditions({**rb, "metadata": {"generation": 2}}))
    ([], ['Paused', 'Ready'])
    """
    st, generation = obj.get("status") or {}, (obj.get("metadata") or {}).get("generation")
    out = {}
    for c in st.get("conditions") or []:
        seen = c.get("observedGeneration", st.get("observedGeneration"))
        if seen is None or generation is None or seen >= generation:
            out[c.get("type", "")] = c
    return out


def _state_style(state: str) -> str:
    return {"Passed": "green", "Succeeded": "green", "Failed": "bold red", "Frozen": "red", "Waiting": "yellow",
            "Paused": "yellow", "RollingBack": "magenta", "RolledBack": "magenta"}.get(state, "")


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _number(value: object) -> str:
    """
    >>> _number(3.0), _number(0.125)
    ('3', '0.125')
    """
    return f"{value:g}" if isinstance(value, float) else str(value)
