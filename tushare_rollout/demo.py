"""What `make demo` shows: every component answering, then a RolloutBatch rolled out by the operator.

The demo applies ``docs/examples/rolloutbatch.yaml`` (target phase B: P0) into the full local stack,
shows the object advancing live (its phase and state, each phase's state, the Jobs the operator
created and how they ran, the gate results) until it is Ready or Stalled, then prints the SSOT status
matrix of the stack's database and the object's final conditions.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .devcluster import DevCluster
from .devcluster.cluster import CONTROLLERS
from .devcluster.stack import CRD_NAME, ROOT, FullStack
from .operator.manifests import GROUP, LABEL_PHASE, LABEL_RB, LABEL_STEP, PLURAL, VERSION
from .operator.vocabulary import PHASES, Condition, PhaseState
from .tushare.server.app import LocalTushareServer

EXAMPLE = ROOT / "docs" / "examples" / "rolloutbatch-phase-e.yaml"  # all the way: A to E
# the demo's Tushare account: 5000 points with the historical-minute permission, but neither the realtime
# nor the premarket one, so the permission probes find those APIs denied and D goes on without them
DEMO_TOKEN = "demo:5000:minutes"
STYLE = {"Passed": "green", "Succeeded": "green", "Complete": "green", "True": "green", "Running": "cyan",
         "Progressing": "cyan", "Gating": "cyan", "Failed": "red", "Stalled": "red", "Frozen": "magenta",
         "RollingBack": "yellow", "RolledBack": "yellow", "Waiting": "yellow", "Pending": "grey50"}

err = Console(stderr=True)


@dataclass
class Outcome:
    code: int  # 0 Ready, 2 Stalled or timed out, 3 the operator exited
    reason: str
    rolloutbatch: dict[str, Any]


def rolloutbatch(namespace: str, start: str, end: str) -> dict[str, Any]:
    """The documented example, in ``namespace``, backfilling ``start``..``end``."""
    body = yaml.safe_load(EXAMPLE.read_text())
    body["metadata"] = {"name": body["metadata"]["name"], "namespace": namespace}
    body["spec"]["universe"] = {**body["spec"]["universe"], "backfillStart": start, "backfillEnd": end}
    return body


def rollout(stack: FullStack, start: str, end: str, *, timeout: float) -> int:
    """Apply the example, show it advancing until Ready or Stalled, then the status matrix and the
    conditions. Returns the exit code: 0 Ready, 2 Stalled or timed out, 3 the operator exited."""
    body = rolloutbatch(stack.namespace, start, end)
    name = body["metadata"]["name"]
    stack.kubectl("apply", "-f", "-", input=json.dumps(body))
    err.print(f"applied {EXAMPLE.relative_to(ROOT)} as rolloutbatch {stack.namespace}/{name}: target phase "
              f"{body['spec']['targetPhase']}, backfill {start}..{end}", soft_wrap=True)
    terminal = Console().is_terminal
    outcome = watch(stack, name, timeout=timeout, out=Console() if terminal else Console(width=150))
    out = Console(width=max(Console().width, 150))
    if not terminal:
        out.line()  # a Live written to a file leaves its last line open
    _print_matrix(out, stack, start, end)
    if (outcome.rolloutbatch.get("status") or {}).get("probes"):
        out.print(modules_table(outcome.rolloutbatch, _applicability(stack, f"{stack.namespace}/{name}")))
    out.print(conditions_table(outcome.rolloutbatch))
    if outcome.code == 0:
        out.print(f"[green]rolloutbatch {stack.namespace}/{name} is Ready:[/green] {escape(outcome.reason)}")
    else:
        out.print(f"[red]rolloutbatch {stack.namespace}/{name} did not become Ready:[/red] {escape(outcome.reason)}")
        _print_failure_logs(out, stack, outcome)
    return outcome.code


def watch(stack: FullStack, name: str, *, timeout: float, out: Console) -> Outcome:
    """Refresh a live view every second from the API until the object is Ready or Stalled, the timeout
    passes, or the operator exits."""
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    api = k8s_config.new_client_from_config(config_file=str(stack.cluster.kubeconfig))
    custom, batch = k8s.CustomObjectsApi(api), k8s.BatchV1Api(api)
    started = time.monotonic()
    last_line = None
    try:
        with Live(console=out, refresh_per_second=4, auto_refresh=out.is_terminal) as live:
            while True:
                rb = custom.get_namespaced_custom_object(GROUP, VERSION, stack.namespace, PLURAL, name)
                listed = batch.list_namespaced_job(stack.namespace, label_selector=f"{LABEL_RB}={name}")
                jobs = [api.sanitize_for_serialization(j) for j in listed.items]
                elapsed = time.monotonic() - started
                live.update(view(rb, jobs, elapsed))
                if not out.is_terminal:  # a log, not a screen: one line per change
                    line = progress_line(rb, jobs)
                    if line != last_line:
                        err.print(f"{elapsed:5.0f}s {line}", highlight=False, markup=False, soft_wrap=True)
                        last_line = line
                outcome = verdict(rb)
                if outcome is not None:
                    return outcome
                code = stack.operator.proc.poll() if stack.operator and stack.operator.proc else None
                if code is not None:
                    return Outcome(3, f"the operator exited with code {code}; last lines of its log:\n"
                                      f"{stack.operator.log_tail()}", rb)
                if elapsed >= timeout:
                    status = rb.get("status") or {}
                    return stalled(rb) or Outcome(
                        2, f"timed out after {timeout:.0f}s in state {status.get('state', '-')} (phase "
                           f"{status.get('phase') or '-'}): {status.get('message', 'no status yet')}", rb)
                time.sleep(1.0)  # the refresh period of the view
    finally:
        api.close()


def verdict(rb: dict[str, Any]) -> Outcome | None:
    """Ready, or Stalled once the operator has nothing left to do (a rollback after a failed gate runs
    first), for the object's current generation; otherwise None."""
    status = rb.get("status") or {}
    if status.get("observedGeneration") != rb["metadata"].get("generation"):
        return None
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    if conditions.get(Condition.READY, {}).get("status") == "True":
        passed = [p for p in PHASES if (status.get("phases") or {}).get(p, {}).get("state") == PhaseState.PASSED]
        return Outcome(0, f"phases {', '.join(passed)} passed; {status.get('message', '')}".rstrip("; "), rb)
    if conditions.get(Condition.RECONCILING, {}).get("status") == "True":
        return None
    return stalled(rb)


def stalled(rb: dict[str, Any]) -> Outcome | None:
    """The Stalled condition as an outcome, if it is True."""
    conditions = {c["type"]: c for c in (rb.get("status") or {}).get("conditions") or []}
    c = conditions.get(Condition.STALLED, {})
    if c.get("status") != "True":
        return None
    return Outcome(2, f"Stalled ({c.get('reason', '')}): {c.get('message', '')}", rb)


def job_state(job: dict[str, Any]) -> tuple[str, str]:
    """A Job's state as ``kubectl get jobs`` would suggest it, and the reason when it failed."""
    status = job.get("status") or {}
    conditions = {c["type"]: c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions:
        return "Complete", ""
    if "Failed" in conditions:
        c = conditions["Failed"]
        return "Failed", f"{c.get('reason', '')}: {c.get('message', '')}"
    if "Suspended" in conditions:
        return "Suspended", ""
    if status.get("active"):
        return "Running", ""
    return "Pending", ""


def view(rb: dict[str, Any], jobs: list[dict[str, Any]], elapsed: float) -> RenderableType:
    """The live view: the object, one row per phase, one row per Job."""
    spec, status = rb.get("spec") or {}, rb.get("status") or {}
    meta = rb["metadata"]
    head = Text.assemble(
        (f"rolloutbatch {meta['namespace']}/{meta['name']}", "bold"), f"  target {spec.get('targetPhase', '-')}",
        "  phase ", (status.get("phase") or "-", "bold"), "  state ", _styled(status.get("state") or "Pending"),
        f"  ({elapsed:.0f}s)\n", status.get("message") or "waiting for the operator ...")

    phases = Table(title="phases", title_justify="left", expand=False)
    for column in ("phase", "state", "step", "attempt", "message", "gate"):
        phases.add_column(column, overflow="fold")
    target = spec.get("targetPhase", "E")
    for p in PHASES:
        ph = (status.get("phases") or {}).get(p)
        if ph is None:
            if p <= target:
                phases.add_row(str(p), _styled("Pending"), "", "", "", "")
            continue
        phases.add_row(str(p), _styled(ph.get("state", "")), ph.get("step", ""), str(ph.get("attempt", "")),
                       Text(ph.get("message", "")), gate_text(ph.get("gate"), ph.get("drill")))

    table = Table(title="Jobs", title_justify="left")
    for column in ("job", "phase", "step", "state", "seconds", "reason"):
        table.add_column(column, overflow="fold")
    now = dt.datetime.now(dt.timezone.utc)
    for job in sorted(jobs, key=lambda j: j["metadata"].get("creationTimestamp", "")):
        labels = job["metadata"].get("labels") or {}
        state, reason = job_state(job)
        js = job.get("status") or {}
        began = _time(js.get("startTime"))
        ended = _time(js.get("completionTime")) or (_failed_at(js) if state == "Failed" else None) or now
        seconds = f"{(ended - began).total_seconds():.0f}" if began else ""
        table.add_row(job["metadata"]["name"], labels.get(LABEL_PHASE, ""), labels.get(LABEL_STEP, ""),
                      _styled(state), seconds, Text(reason))
    steady = [f"phase {p}: CronJob {d.get('cronJob')} runs `job daily` at {d.get('schedule')}"
              + (f", suspended ({d['reason']})" if d.get("suspended") else "")
              for p, d in sorted((status.get("steadyState") or {}).items())]
    return Group(head, phases, table, *([Text("steady state\n" + "\n".join(steady))] if steady else []))


def gate_text(gate: dict[str, Any] | None, drill: dict[str, Any] | None = None) -> Text:
    """A phase's gate result: passed (with warnings), or the failed checks and their values; E's rollback
    drill under it."""
    text = _gate_text(gate)
    if drill:
        lost = sum((drill.get("readersLost") or {}).values())
        if drill.get("passed"):
            text.append(f"\nrollback drill passed: readers lost {lost} P2 rows, kept "
                        f"{drill.get('readersKeptRows', 0)}; {drill.get('tablesIdentical', 0)}/"
                        f"{drill.get('tablesCompared', 0)} tables identical after the roll-forward", style="green")
        else:
            text.append("\nrollback drill FAILED: " + "; ".join(drill.get("differences") or []), style="red")
    return text


def _gate_text(gate: dict[str, Any] | None) -> Text:
    if not gate:
        return Text("")
    if gate.get("passed"):
        warned = gate.get("warned") or 0
        return Text(f"passed{f', {warned} WARN' if warned else ''}", style="green")
    failed = gate.get("failed") or []
    text = Text(f"FAIL ({len(failed)} checks)" if failed else "FAIL", style="red")
    for f in failed:
        value = f" = {f['value']:g}" if isinstance(f.get("value"), (int, float)) else ""
        where = f" [{f['dataset']}]" if f.get("dataset") else ""
        text.append(f"\n{f.get('check', '?')}{where}{value}: {f.get('message', '')}")
    return text


def progress_line(rb: dict[str, Any], jobs: list[dict[str, Any]]) -> str:
    """One line of what changed, for output that is not a terminal."""
    status = rb.get("status") or {}
    running = [j["metadata"]["name"] for j in jobs if job_state(j)[0] in ("Running", "Pending")]
    phases = " ".join(f"{p}={ph.get('state', '')}" for p, ph in sorted((status.get("phases") or {}).items()))
    return (f"phase {status.get('phase') or '-'} state {status.get('state') or 'Pending'} [{phases}]"
            f" jobs: {', '.join(running) or '-'} ({len(jobs)} created) - {status.get('message', '')}")


def conditions_table(rb: dict[str, Any]) -> Table:
    t = Table(title=f"conditions of rolloutbatch {rb['metadata']['namespace']}/{rb['metadata']['name']}",
              title_justify="left")
    for column in ("type", "status", "reason", "message", "since"):
        t.add_column(column, overflow="fold")
    for c in (rb.get("status") or {}).get("conditions") or []:
        t.add_row(c["type"], _styled(c["status"]) if c["type"] in (Condition.READY, Condition.STALLED) else c["status"],
                  c.get("reason", ""), Text(c.get("message", "")), c.get("lastTransitionTime", ""))
    return t


def _print_matrix(out: Console, stack: FullStack, start: str, end: str) -> None:
    from .db import engine as db_engine
    from .status import matrix
    from .status import render as status_render

    days = [dt.datetime.strptime(d, "%Y%m%d").date() for d in (start, end)]
    engine = db_engine.make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            cells = matrix.load(conn, since=days[0], until=days[1])
    finally:
        engine.dispose()
    out.print(status_render.table(cells))
    if any(c.status in ("partial", "missing") for c in cells):
        out.print(status_render.problems(cells))


def _applicability(stack: FullStack, rollout_batch: str) -> dict[str, str | None]:
    from . import status
    from .db import engine as db_engine

    engine = db_engine.make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return status.applicability(conn, rollout_batch)
    finally:
        engine.dispose()


def modules_table(rb: dict[str, Any], off: dict[str, str | None]) -> Table:
    """P2's modules: each sub-flag, each API's newest probe, and whether its dataset is in force or
    ``not_applicable`` (and why)."""
    from .db.base import Batch
    from .ingest.datasets import for_batch

    status = rb.get("status") or {}
    probes = {p["api"]: p for p in status.get("probes") or []}
    flags = {f["flag"]: f for f in status.get("effectiveFlags") or []}
    t = Table(title="P2 modules (gray release)", title_justify="left")
    for column in ("module", "sub-flag", "dataset", "probe", "state"):
        t.add_column(column, overflow="fold")
    for d in sorted(for_batch(Batch.P2), key=lambda d: (d.module, d.name)):
        flag = flags.get(d.flag, {})
        probe = probes.get(d.api, {})
        why = off.get(d.name)
        state = Text("in force", style="green") if why is None else Text(f"not_applicable: {why}", style="grey50")
        outcome = probe.get("outcome", "-")
        t.add_row(d.module, f"{d.flag} {'on' if flag.get('effective') else 'off'}", d.name,
                  Text(outcome, style={"granted": "green", "denied": "red"}.get(outcome, "")), state)
    return t


def _print_failure_logs(out: Console, stack: FullStack, outcome: Outcome, lines: int = 15) -> None:
    """The last lines of the failed Jobs' logs (the local Job runner keeps them while it runs)."""
    status = outcome.rolloutbatch.get("status") or {}
    for ph in (status.get("phases") or {}).values():
        for job in ph.get("jobs") or []:
            if job.get("state") == "Failed" and stack.runner is not None:
                for path in stack.runner.logs(stack.namespace, job["name"])[-1:]:
                    tail = "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
                    out.print(f"[bold]last lines of Job {job['name']}:[/bold]")
                    out.print(tail, highlight=False, markup=False)


def _styled(value: str) -> Text:
    return Text(value, style=STYLE.get(value, ""))


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _failed_at(status: dict[str, Any]) -> dt.datetime | None:
    failed = [c for c in status.get("conditions") or [] if c.get("type") == "Failed"]
    return _time(failed[0].get("lastTransitionTime")) if failed else None


# -- the component table -------------------------------------------------------------------------------


def stack_rows(stack: FullStack) -> list[tuple[str, str, str]]:
    """The parts the full stack adds, each read from the running part."""
    crd = json.loads(stack.cluster.kubectl("get", "crd", CRD_NAME, "-o", "json").stdout)
    versions = ", ".join(v["name"] for v in crd["spec"]["versions"] if v.get("served"))
    secrets = stack.kubectl("get", "secrets", "-o", "name").stdout.split()
    operator = stack.operator
    return [
        ("RolloutBatch CRD", versions, f"{crd['metadata']['name']} (short name rb)"),
        ("namespace", stack.namespace, " ".join(s.removeprefix("secret/") for s in secrets)),
        ("database", stack.database or "", "migrated to head; the Secret tushare-rollout-db points at it"),
        ("operator", f"pid {operator.pid}" if operator else "", f"watching {stack.namespace}; log "
                                                                 f"{operator.log_path if operator else ''}"),
        ("local Job runner", f"up to {stack.runner.max_parallel} Jobs" if stack.runner else "",
         "runs the Jobs as local processes, writes their status"),
    ]


def tushare_row(server: LocalTushareServer) -> tuple[str, str, str]:
    """Ask the local Tushare server what a user would ask first, and describe the answer."""
    from .tushare.catalog import APIS
    from .tushare.client import TushareClient

    with TushareClient(server.url, "demo:5000") as client:
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
        days = client.fetch("trade_cal", {"exchange": "SSE", "is_open": "1", "end_date": f"{today:%Y%m%d}",
                                          "start_date": f"{today - dt.timedelta(days=14):%Y%m%d}"})
        last = max(r["cal_date"] for r in days if r["cal_date"] < f"{today:%Y%m%d}")
        bars = client.fetch("daily", {"trade_date": last})
        return ("Tushare (local server)", f"{len(APIS)} APIs",
                f"{server.url}: {len(bars)} stocks traded on {last}, {client.counters.calls} calls")


def component_rows(cluster: DevCluster) -> list[tuple[str, str, str]]:
    """One row per component, each answer read from the running component itself."""
    env = cluster.env()
    versions = yaml.safe_load(cluster.kubectl("version", "-o", "yaml").stdout)
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    kubeconfig = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    rows = [
        ("kube-apiserver", versions["serverVersion"]["gitVersion"], kubeconfig["clusters"][0]["cluster"]["server"]),
        ("namespaces", str(len(namespaces)), " ".join(n.removeprefix("namespace/") for n in namespaces)),
        ("PostgreSQL", cluster.postgres.server_version(), cluster.postgres.url.render_as_string(hide_password=True)),
    ]
    if cluster.binaries is not None:
        helm = subprocess.run([str(cluster.binaries.helm), "version", "--short"], capture_output=True, text=True,
                              check=True, env=env)
        etcd = subprocess.run([str(cluster.binaries.etcd), "--version"], capture_output=True, text=True, check=True)
        rows += [
            ("etcd", etcd.stdout.split()[2], "127.0.0.1 (loopback only)"),
            ("kube-controller-manager", versions["serverVersion"]["gitVersion"], ", ".join(CONTROLLERS)),
            ("kubectl", versions["clientVersion"]["gitVersion"], str(cluster.binaries.kubectl)),
            ("helm", helm.stdout.strip(), str(cluster.binaries.helm)),
        ]
    return rows


def components(stack: FullStack) -> Table:
    """The component table the demo starts with."""
    table = Table(title="tushare-rollout dev stack")
    for column in ("component", "version", "where"):
        table.add_column(column)
    for row in [*component_rows(stack.cluster), tushare_row(stack.tushare), *stack_rows(stack)]:
        table.add_row(*row)
    return table
