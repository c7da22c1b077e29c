"""Operator benchmark: how fast the RolloutBatch operator reacts, and what each object costs it.

Run from the repository root::

    .venv/bin/python bench/operator.py                         # all three, about 13 minutes on 2 cores
    .venv/bin/python bench/operator.py --only apply --runs 5   # one part, quicker
    .venv/bin/python bench/operator.py --existing              # reuse a running dev cluster (KUBECONFIG + DATABASE_URL)

Starts the project's dev cluster (or, with ``--existing``, uses the one named by ``KUBECONFIG`` and
``DATABASE_URL``, e.g. from ``tushare-rollout devcluster up``), applies the CRD, and runs the operator
as the e2e tests do: ``python -m tushare_rollout operator`` as its own process, with ``DATABASE_URL`` of a
fresh migrated database, ``TSR_IMAGE``, ``TSR_NAMESPACES``, ``TSR_LIVENESS_PORT=0`` and ``KUBECONFIG``
(the resync stays at its default, 60 s). No Job runner runs: Jobs are only created, and where a Job
must finish the benchmark writes its status itself, in the shapes the local Job runner (and the Job
controller) writes. Every time is taken with ``time.perf_counter`` in this process; arrivals are
stamped by a watch thread as each event is read (no polling).

1. ``apply``: apply -> first Job created. With the operator idle, create a RolloutBatch
   (``docs/examples/rolloutbatch.yaml`` under a new name) and time until a Job labelled
   ``tushare-rollout.io/rolloutbatch=<name>`` arrives on a Job watch; it must be ``<name>-a-migrate-1``.
   One warm-up, then ``--runs`` runs; after each the RolloutBatch is deleted and its deletion (and its
   Jobs') awaited, so every run starts from an idle operator with no objects.
2. ``freeze``: gate Job failed -> ``Frozen=True``. A RolloutBatch with ``targetPhase: E``; its migrate
   and baseline Jobs are made to succeed (``SuccessCriteriaMet`` + ``Complete``, ``completionTime``), a
   gate result is stored for its phase-A gate Job (a ``gate_runs`` row, not passed, and a FAIL
   ``gate_check_results`` row), then the gate Job is failed (``FailureTarget`` + ``Failed``, reason
   ``PodFailurePolicy``). Timed from that status write to the RolloutBatch watch showing condition
   ``Frozen=True`` (checked: A Failed/GateFailed, B..E Frozen, ``frozenFrom: A``). Also reported: Job
   succeeded -> next Job created, and gate Job failed -> rollback Job created. ``--runs`` / 2 runs.
3. ``memory``: ``--objects`` RolloutBatches (``targetPhase: A``, ``spec.paused: true`` so no Jobs are
   created; ``--unpaused`` creates them unpaused, and the operator creates one migrate Job each) in 20
   namespaces. The operator's RSS (``psutil``, children included), threads and CPU are sampled every
   second for ``--sample-seconds`` with 0 objects (after start-up), then again once every object has
   ``status.observedGeneration`` (or, when that stops progressing for 75 s, with what did). Twice:
   the operator as shipped, and with kopf's thread pool raised to objects + 16 by a startup hook this
   benchmark adds (kopf runs each sync daemon in a thread of that pool for the object's lifetime, and
   the pool holds min(32, CPUs + 4) threads by default); the second run gives the per-object cost.

Correctness checks (wrong Job name, wrong status after the failure, a timeout) exit with status 1 at
the end; timings are reported, never asserted. Another process loading the machine during a run is
recorded (load average and other busy processes) in the output. Results: a table on stdout and
``bench/results/operator.json`` (git-ignored). Namespaces, the RolloutBatches' finalizers and the
databases made here are removed at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is bench/operator.py: keep bench/ off the import path so it can never shadow the standard
# library's `operator` module, and import the project from this checkout.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import psutil  # noqa: E402
import urllib3  # noqa: E402
import yaml  # noqa: E402
from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from tushare_rollout.db import migrate  # noqa: E402
from tushare_rollout.db.engine import make_engine  # noqa: E402
from tushare_rollout.devcluster import DevCluster, DevClusterSettings  # noqa: E402
from tushare_rollout.operator.manifests import GROUP, LABEL_RB, PLURAL, VERSION  # noqa: E402

RESULTS = HERE / "results" / "operator.json"
EXAMPLE = yaml.safe_load((ROOT / "docs" / "examples" / "rolloutbatch.yaml").read_text())
CRD = ROOT / "crds" / "rolloutbatch.yaml"
MERGE_PATCH = "application/merge-patch+json"
NAMESPACES = 20  # part 3 spreads its objects over this many namespaces
WAIT = 60.0  # seconds for any one awaited event before a run counts as failed
STALL = 75.0  # part 3: stop waiting for "all reconciled" after this long without progress (> the 60 s resync)
SETTLE = 1.0  # seconds between runs, after the previous run's deletions arrived, so the operator is idle
WORKERS_EXTRA = 16  # part 3, second run: kopf's pool = objects + this

# Runs the operator with kopf's sync-handler pool raised (part 3's second run only); argv: max_workers.
RAISED_POOL = """
import sys
import kopf
import tushare_rollout.operator.handlers  # registers the operator's handlers

@kopf.on.startup()
def bench_pool(settings, **_):
    settings.execution.max_workers = int(sys.argv[1])

from tushare_rollout.cli import app
app(["operator"])
"""


# -- small helpers --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list.

    >>> percentile([5, 1, 4, 2, 3], 50), percentile(list(range(1, 21)), 90), percentile([7.0], 90)
    (3, 18, 7.0)
    """
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, Any]:
    """p50/p90/max/min/mean of seconds, in milliseconds."""
    if not values:
        return {"n": 0}
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
            "max_ms": round(max(ms), 1), "min_ms": round(min(ms), 1), "mean_ms": round(statistics.fmean(ms), 1)}


def now_ts() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels(obj: dict) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def name_of(obj: dict) -> str:
    return obj["metadata"]["name"]


def condition(obj: dict, kind: str) -> str | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c.get("status")
    return None


def machine_load(own: set[int]) -> dict[str, Any]:
    """The load average and the processes, not this benchmark's, that used over 5 % of a CPU in one second."""
    procs = [p for p in psutil.process_iter(["pid", "cmdline"]) if p.info["pid"] not in own]
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(1.0)
    busy = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            cpu = p.cpu_percent(None)
            if cpu > 5:
                busy.append(f"{cpu:.0f}% {p.info['pid']} {' '.join(p.info['cmdline'] or [])[:90]}")
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busy_processes": busy}


def own_pids() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(c.pid for c in me.children(recursive=True))}


# -- a watch, in a thread -------------------------------------------------------------------------


class Stream:
    """Watch Jobs or RolloutBatches (one namespace, or all) in a thread; each event is stamped on arrival.

    Only events after ``start()`` are queued (the initial list just gives the resourceVersion);
    ``wait_for`` consumes them in order until one matches.
    """

    def __init__(self, kubeconfig: str, kind: str, namespace: str | None = None, **selector: str) -> None:
        self.api = config.new_client_from_config(config_file=kubeconfig)
        batch, custom = client.BatchV1Api(self.api), client.CustomObjectsApi(self.api)
        def list_(**kw: Any) -> Any:
            if kind == "jobs" and namespace:
                return batch.list_namespaced_job(namespace, **selector, **kw)
            if kind == "jobs":
                return batch.list_job_for_all_namespaces(**selector, **kw)
            if namespace:
                return custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, **kw)
            return custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kw)

        self.list = list_
        self.events: queue.Queue[tuple[float, str, dict]] = queue.Queue()
        self.errors: list[str] = []
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"watch {kind} {namespace or '*'}", daemon=True)

    def start(self) -> Stream:
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError(f"the watch could not list: {self.errors[-1:]}")
        return self

    def stop(self) -> None:
        self.stopping.set()  # the thread is a daemon: it ends with the next event or the watch's timeout
        self.api.close()

    def _main(self) -> None:
        while not self.stopping.is_set():
            try:
                version = json.loads(self.list(_preload_content=False).data)["metadata"]["resourceVersion"]
                self.ready.set()
                while not self.stopping.is_set():
                    for event in watch.Watch().stream(self.list, resource_version=version, timeout_seconds=60,
                                                      allow_watch_bookmarks=True):
                        arrived = time.perf_counter()
                        obj = event["raw_object"]
                        version = obj.get("metadata", {}).get("resourceVersion", version)
                        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            self.events.put((arrived, event["type"], obj))
                        if self.stopping.is_set():
                            return
            except ApiException as exc:
                if exc.status != 410:  # 410: too old, list again
                    self.errors.append(f"{exc.status} {exc.reason}")
                    self.stopping.wait(0.5)
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
                if self.stopping.is_set():
                    return
                self.errors.append(repr(exc))
                self.stopping.wait(0.5)

    def drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self.events.get_nowait()

    def wait_for(self, match: Callable[[str, dict], bool], timeout: float = WAIT, what: str = "") -> tuple[float, dict]:
        """The arrival time and object of the first queued event that matches; TimeoutError after ``timeout``."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                arrived, kind, obj = self.events.get(timeout=max(0.0, left))
            except queue.Empty:
                raise TimeoutError(f"no event within {timeout:.0f}s: {what}") from None
            if match(kind, obj):
                return arrived, obj


# -- the operator process -------------------------------------------------------------------------


@dataclass
class Operator:
    popen: subprocess.Popen
    log: Path
    pool: str  # "kopf default" or "raised to N"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> dict[str, Any]:
        """SIGTERM, up to 30 s to exit, then SIGKILL; how it ended."""
        if self.popen.poll() is not None:
            return {"exited_before_stop": self.popen.returncode}
        t0 = time.perf_counter()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
            return {"sigterm_exit_seconds": round(time.perf_counter() - t0, 1), "returncode": self.popen.returncode}
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return {"sigterm_exit_seconds": None, "killed_after_seconds": 30}


@dataclass
class Bench:
    """The cluster, the clients and everything this run made (removed in ``cleanup``)."""

    cluster: DevCluster
    kubeconfig: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    failures: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)
    logdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tsr-bench-operator-")))

    def __post_init__(self) -> None:
        self.api = config.new_client_from_config(config_file=self.kubeconfig)
        self.core, self.batch = client.CoreV1Api(self.api), client.BatchV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    # -- setup --

    def apply_crd(self) -> None:
        self.cluster.kubectl("apply", "-f", str(CRD))
        self.cluster.kubectl("wait", "--for=condition=Established", "crd/rolloutbatches.tushare-rollout.io",
                             "--timeout=60s")

    def database(self) -> tuple[str, Engine]:
        name = f"bench_operator_{self.tag}_{len(self.databases)}"
        url = self.cluster.postgres.create_database(name).render_as_string(hide_password=False)
        self.databases.append(name)
        engine = make_engine(url)
        migrate.upgrade(engine)
        return url, engine

    def namespace(self, role: str, url: str) -> str:
        """A fresh namespace with the Secrets the example names, as in the e2e tests."""
        name = f"bench-op-{self.tag}-{role}"
        self.core.create_namespace({"metadata": {"name": name}})
        self.namespaces.append(name)
        for secret, data in (("tushare-rollout-db", {"url": url}), ("tushare-rollout-token", {"token": "demo:all"})):
            self.core.create_namespaced_secret(name, {"metadata": {"name": secret}, "stringData": data})
        return name

    def start_operator(self, namespaces: list[str], url: str, max_workers: int | None = None) -> Operator:
        base = {k: v for k, v in self.cluster.env().items() if not k.startswith(("TSR_", "DATABASE_URL", "TUSHARE_"))}
        env = {**base, "KUBECONFIG": self.kubeconfig, "DATABASE_URL": url, "TSR_IMAGE": "tushare-rollout:local",
               "TSR_NAMESPACES": json.dumps(namespaces), "TSR_LIVENESS_PORT": "0"}
        log = self.logdir / f"operator-{len(self.operators)}.log"
        argv = ([sys.executable, "-m", "tushare_rollout", "operator"] if max_workers is None
                else [sys.executable, "-c", RAISED_POOL, str(max_workers)])
        with log.open("a") as out:
            popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        op = Operator(popen, log, "kopf default" if max_workers is None else f"raised to {max_workers}")
        self.operators.append(op)
        return op

    # -- objects --

    def body(self, name: str, **spec: Any) -> dict:
        obj = json.loads(json.dumps(EXAMPLE))
        obj["metadata"] = {"name": name}
        obj["spec"].update(spec)
        return obj

    def create(self, namespace: str, name: str, **spec: Any) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, self.body(name, **spec),
                                                    _preload_content=False)

    def delete_and_wait(self, namespace: str, name: str, rbs: Stream, jobs: Stream, job_names: set[str]) -> float:
        """Delete a RolloutBatch and wait until it and its Jobs (garbage-collected) are gone, then settle.

        Returns the seconds from the delete call until the RolloutBatch was gone (the operator removes its
        finalizer once the object's daemon has stopped).
        """
        t0 = time.perf_counter()
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name,
                                                    propagation_policy="Background")
        gone, _ = rbs.wait_for(lambda k, o: k == "DELETED" and name_of(o) == name, what=f"{name} deleted")
        left = set(job_names)
        while left:
            _, job = jobs.wait_for(lambda k, o: k == "DELETED" and name_of(o) in left, what=f"Jobs {left} deleted")
            left.discard(name_of(job))
        time.sleep(SETTLE)
        rbs.drain()
        jobs.drain()
        return gone - t0

    def set_job_status(self, namespace: str, name: str, status: dict) -> None:
        self.batch.patch_namespaced_job_status(name, namespace, {"status": status}, _content_type=MERGE_PATCH,
                                               _preload_content=False)

    # -- teardown --

    def cleanup(self) -> dict[str, Any]:
        stopped = [op.stop() for op in self.operators if op.popen.poll() is None]
        for ns in self.namespaces:  # with the operator gone, its finalizers would hold the namespace forever
            with contextlib.suppress(ApiException):
                for rb in self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["items"]:
                    if rb["metadata"].get("finalizers"):
                        with contextlib.suppress(ApiException):
                            self.custom.patch_namespaced_custom_object(
                                GROUP, VERSION, ns, PLURAL, name_of(rb), {"metadata": {"finalizers": None}})
            with contextlib.suppress(ApiException):
                self.core.delete_namespace(ns)
        for db in self.databases:
            self.cluster.postgres.drop_database(db)
        self.api.close()
        if not self.failures:  # the operators' logs are kept only to explain a failure
            shutil.rmtree(self.logdir, ignore_errors=True)
        return {"operators_stopped_in_cleanup": stopped}


# -- job status, as the local Job runner writes it --------------------------------------------------


def _job_condition(kind: str, reason: str, message: str, at: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": reason, "message": message, "lastProbeTime": at,
            "lastTransitionTime": at}


def running(start: str) -> dict:
    return {"startTime": start, "active": 1, "ready": 1, "succeeded": 0, "failed": 0}


def succeeded(start: str) -> dict:
    at, message = now_ts(), "Reached expected number of succeeded pods"
    return {"startTime": start, "active": 0, "ready": 0, "succeeded": 1, "failed": 0, "completionTime": max(at, start),
            "conditions": [_job_condition("SuccessCriteriaMet", "CompletionsReached", message, at),
                           _job_condition("Complete", "CompletionsReached", message, at)]}


def failed(start: str, namespace: str, job: str) -> dict:
    at = now_ts()
    message = (f"Container main for pod {namespace}/{job}-bench failed with exit code 2 matching FailJob rule at "
               "index 0")  # the Job controller's (and the local runner's) wording
    return {"startTime": start, "active": 0, "ready": 0, "succeeded": 0, "failed": 1,
            "conditions": [_job_condition("FailureTarget", "PodFailurePolicy", message, at),
                           _job_condition("Failed", "PodFailurePolicy", message, at)]}


# -- 1. apply -> first Job --------------------------------------------------------------------------


def bench_apply(b: Bench, runs: int) -> dict[str, Any]:
    url, engine = b.database()
    ns = b.namespace("apply", url)
    jobs = Stream(b.kubeconfig, "jobs", ns, label_selector=LABEL_RB).start()
    rbs = Stream(b.kubeconfig, "rbs", ns).start()
    op = b.start_operator([ns], url)
    load_before = machine_load(own_pids())
    latencies, api_calls, deletions, rows = [], [], [], []
    try:
        for i in range(-1, runs):  # run -1 is the warm-up: it also waits out the operator's start-up
            name = "apply-warmup" if i < 0 else f"apply-{i:02d}"
            t0 = time.perf_counter()
            b.create(ns, name)
            t_api = time.perf_counter()
            try:
                t1, job = jobs.wait_for(lambda k, o, n=name: k == "ADDED" and labels(o).get(LABEL_RB) == n,
                                        timeout=120 if i < 0 else WAIT, what=f"a Job of {name}")
            except TimeoutError as exc:
                b.failures.append(f"apply {name}: {exc}\n{op.tail()}")
                break
            if name_of(job) != f"{name}-a-migrate-1":
                b.failures.append(f"apply {name}: the first Job is {name_of(job)}, not {name}-a-migrate-1")
            if i >= 0:
                latencies.append(t1 - t0)
                api_calls.append(t_api - t0)
                rows.append({"name": name, "ms": round((t1 - t0) * 1000, 1),
                             "create_call_ms": round((t_api - t0) * 1000, 1), "job": name_of(job)})
                print(f"  {name}: first Job after {(t1 - t0) * 1000:.0f} ms", flush=True)
            else:
                print(f"  warm-up (operator start-up included): {(t1 - t0):.1f} s", flush=True)
            try:
                gone = b.delete_and_wait(ns, name, rbs, jobs, {name_of(job)})
            except TimeoutError as exc:
                b.failures.append(f"apply {name}: {exc}\n{op.tail()}")
                break
            if i >= 0:
                deletions.append(gone)
    finally:
        jobs.stop()
        rbs.stop()
        stopped = op.stop()
        engine.dispose()
    return {"latency": summary(latencies), "create_call": summary(api_calls), "delete_to_gone": summary(deletions),
            "runs": rows, "operator_stop": stopped,
            "load_before": load_before, "load_after": machine_load(own_pids())}


# -- 2. gate Job failed -> Frozen ---------------------------------------------------------------------


def store_failed_gate(engine: Engine, rollout: str, job: str) -> None:
    """What a gate Job that ran and found a FAIL stores (the operator counts a failed gate Job only with it)."""
    with engine.begin() as conn:
        run_id = conn.execute(text(
            "INSERT INTO gate_runs (phase, gate, status, passed, rollout_batch, job_name, finished_at)"
            " VALUES ('A', 'batch', 'succeeded', false, :rb, :job, now()) RETURNING gate_run_id"),
            {"rb": rollout, "job": job}).scalar_one()
        conn.execute(text(
            "INSERT INTO gate_check_results (gate_run_id, check_name, severity, passed, metric_value, fail_threshold,"
            " message) VALUES (:id, 'bench.synthetic_fail', 'FAIL', false, 1, 0, 'written by bench/operator.py')"),
            {"id": run_id})


def check_frozen(rb: dict) -> str | None:
    """What is wrong with the status after phase A's gate failed (None: right)."""
    st = rb.get("status") or {}
    phases = st.get("phases") or {}
    got = {p: (phases.get(p) or {}).get("state") for p in "ABCDE"}
    want = {"A": "Failed", "B": "Frozen", "C": "Frozen", "D": "Frozen", "E": "Frozen"}
    reason = (phases.get("A") or {}).get("reason")
    if got != want or reason != "GateFailed" or st.get("frozenFrom") != "A":
        return f"phases {got}, A's reason {reason}, frozenFrom {st.get('frozenFrom')!r}"
    return None


def bench_freeze(b: Bench, runs: int) -> dict[str, Any]:
    url, engine = b.database()
    ns = b.namespace("freeze", url)
    jobs = Stream(b.kubeconfig, "jobs", ns, label_selector=LABEL_RB).start()
    rbs = Stream(b.kubeconfig, "rbs", ns).start()
    op = b.start_operator([ns], url)
    load_before = machine_load(own_pids())
    frozen, next_job, rollback, deletions, rows = [], [], [], [], []
    try:
        for i in range(-1, runs):  # -1: warm-up
            name = "freeze-warmup" if i < 0 else f"freeze-{i:02d}"
            seen: set[str] = set()
            try:
                b.create(ns, name, targetPhase="E")
                steps_ms: list[float] = []
                t_done = None
                for step in ("migrate", "baseline", "gate"):
                    job = f"{name}-a-{step}-1"
                    t_added, _ = jobs.wait_for(lambda k, o, j=job: k == "ADDED" and name_of(o) == j,
                                               timeout=120 if i < 0 else WAIT, what=f"Job {job}")
                    seen.add(job)
                    if t_done is not None:
                        steps_ms.append(t_added - t_done)
                    start = now_ts()
                    b.set_job_status(ns, job, running(start))
                    if step != "gate":
                        t_done = time.perf_counter()
                        b.set_job_status(ns, job, succeeded(start))
                store_failed_gate(engine, f"{ns}/{name}", job)
                time.sleep(SETTLE)  # the operator has seen the gate Job running and is idle again
                rbs.drain()
                t0 = time.perf_counter()
                b.set_job_status(ns, job, failed(start, ns, job))
                t1, rb = rbs.wait_for(lambda k, o, n=name: name_of(o) == n and condition(o, "Frozen") == "True",
                                      what=f"{name} Frozen=True")
                wrong = check_frozen(rb)
                if wrong:
                    b.failures.append(f"freeze {name}: {wrong}")
                t2, rj = jobs.wait_for(lambda k, o, n=name: k == "ADDED" and name_of(o) == f"{n}-a-rollback-1",
                                       what=f"{name}'s rollback Job")
                seen.add(name_of(rj))
            except TimeoutError as exc:
                b.failures.append(f"freeze {name}: {exc}\n{op.tail()}")
                break
            if i >= 0:
                frozen.append(t1 - t0)
                next_job.extend(steps_ms)
                rollback.append(t2 - t0)
                rows.append({"name": name, "frozen_ms": round((t1 - t0) * 1000, 1),
                             "job_succeeded_to_next_job_ms": [round(s * 1000, 1) for s in steps_ms],
                             "gate_failed_to_rollback_job_ms": round((t2 - t0) * 1000, 1)})
                print(f"  {name}: Frozen=True {(t1 - t0) * 1000:.0f} ms after the gate Job failed; next Job "
                      f"{', '.join(f'{s * 1000:.0f}' for s in steps_ms)} ms after a Job succeeded", flush=True)
            else:
                print("  warm-up done", flush=True)
            try:
                gone = b.delete_and_wait(ns, name, rbs, jobs, seen)
            except TimeoutError as exc:
                b.failures.append(f"freeze {name}: {exc}\n{op.tail()}")
                break
            if i >= 0:
                deletions.append(gone)
    finally:
        jobs.stop()
        rbs.stop()
        stopped = op.stop()
        engine.dispose()
    return {"gate_failed_to_frozen": summary(frozen), "job_succeeded_to_next_job": summary(next_job),
            "gate_failed_to_rollback_job": summary(rollback), "delete_to_gone": summary(deletions),
            "runs": rows, "operator_stop": stopped,
            "load_before": load_before, "load_after": machine_load(own_pids())}


# -- 3. memory and threads with many objects ---------------------------------------------------------


def usage(root: psutil.Process) -> tuple[int, int, int, float]:
    """RSS, VMS, threads and CPU seconds of a process and its children."""
    rss = vms = threads = 0
    cpu = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess), p.oneshot():
            mem, times = p.memory_info(), p.cpu_times()
            rss, vms, threads = rss + mem.rss, vms + mem.vms, threads + p.num_threads()
            cpu += times.user + times.system
    return rss, vms, threads, cpu


def sample(pid: int, seconds: float) -> dict[str, Any]:
    """RSS, threads and CPU of the operator (children included), once a second for ``seconds``."""
    root = psutil.Process(pid)
    rows: list[tuple[float, int, int, int, float]] = []
    t0 = time.perf_counter()
    for tick in range(max(2, int(seconds))):
        rows.append((time.perf_counter(), *usage(root)))
        time.sleep(max(0.0, t0 + tick + 1 - time.perf_counter()))
    with open(f"/proc/{pid}/status") as f:
        hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    rss, vms, threads = [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
    mb = 1024 * 1024
    return {"samples": len(rows), "rss_steady_mb": round(statistics.median(rss) / mb, 1),
            "rss_peak_sampled_mb": round(max(rss) / mb, 1), "rss_min_mb": round(min(rss) / mb, 1),
            "vmhwm_mb": round(hwm_kb / 1024, 1), "vms_mb": round(statistics.median(vms) / mb, 1),
            "threads": int(statistics.median(threads)), "threads_max": max(threads),
            "cpu_percent": round(100 * (rows[-1][4] - rows[0][4]) / (rows[-1][0] - rows[0][0]), 1),
            "rss_series_mb": [round(x / mb, 1) for x in rss]}


def memory_run(b: Bench, objects: int, seconds: float, paused: bool, max_workers: int | None,
               role: str) -> dict[str, Any]:
    url, engine = b.database()
    engine.dispose()
    spaces = [b.namespace(f"{role}-{k:02d}", url) for k in range(NAMESPACES)]
    rbs = Stream(b.kubeconfig, "rbs").start()
    op = b.start_operator(spaces, url, max_workers)
    print(f"  operator pool {op.pool}: idle with 0 objects ...", flush=True)
    time.sleep(10)  # start-up: kopf logs in, lists and starts its watches in every namespace
    if op.popen.poll() is not None:
        b.failures.append(f"memory: the operator exited ({op.popen.returncode}):\n{op.tail()}")
        return {}
    load_before = machine_load(own_pids())
    idle = sample(op.pid, seconds)
    print(f"    RSS {idle['rss_steady_mb']} MB, {idle['threads']} threads", flush=True)
    wanted = {(spaces[k % NAMESPACES], f"mem-{k:04d}") for k in range(objects)}
    t0 = time.perf_counter()
    for k in range(objects):
        b.create(spaces[k % NAMESPACES], f"mem-{k:04d}", targetPhase="A", paused=paused)
    created_s = time.perf_counter() - t0
    reconciled: dict[tuple[str, str], float] = {}
    last_progress = time.perf_counter()
    while len(reconciled) < len(wanted):
        try:
            t, obj = rbs.wait_for(lambda k, o: (o["metadata"]["namespace"], name_of(o)) in wanted
                                  and (o.get("status") or {}).get("observedGeneration") is not None,
                                  timeout=max(0.1, STALL - (time.perf_counter() - last_progress)))
        except TimeoutError:
            break
        key = (obj["metadata"]["namespace"], name_of(obj))
        if key not in reconciled:
            reconciled[key] = t - t0
            last_progress = time.perf_counter()
    done = len(reconciled)
    print(f"    {objects} created in {created_s:.1f} s; {done} of {objects} reconciled"
          + (f" in {max(reconciled.values()):.1f} s" if done else "")
          + ("" if done == objects else f" (no progress for {STALL:.0f} s)"), flush=True)
    jobs = sum(len(b.batch.list_namespaced_job(ns, label_selector=LABEL_RB).items) for ns in spaces)
    loaded = sample(op.pid, seconds)
    print(f"    RSS {loaded['rss_steady_mb']} MB (peak since start {loaded['vmhwm_mb']}), {loaded['threads']} threads, "
          f"CPU {loaded['cpu_percent']} %", flush=True)
    rbs.stop()
    probe = probe_apply(b, spaces[0])
    print("    one more RolloutBatch applied now: " + (f"first Job after {probe * 1000:.0f} ms" if probe is not None
                                                        else f"no Job within {WAIT:.0f} s"), flush=True)
    stopped = op.stop()
    delta = loaded["rss_steady_mb"] - idle["rss_steady_mb"]
    return {"pool": op.pool, "paused": paused, "objects": objects, "namespaces": NAMESPACES,
            "created_seconds": round(created_s, 1), "reconciled": done,
            "all_reconciled_seconds": round(max(reconciled.values()), 1) if done else None,
            "jobs_created": jobs, "idle": idle, "loaded": loaded, "rss_delta_mb": round(delta, 1),
            "rss_per_object_kb": round(delta * 1024 / objects, 1),
            "threads_delta": loaded["threads"] - idle["threads"],
            "apply_one_more_first_job_ms": round(probe * 1000, 1) if probe is not None else None,
            "operator_stop": stopped, "load_before": load_before, "load_after": machine_load(own_pids())}


def probe_apply(b: Bench, namespace: str) -> float | None:
    """Seconds from creating one more (unpaused) RolloutBatch to its first Job; None if none came in time."""
    jobs = Stream(b.kubeconfig, "jobs", namespace, label_selector=LABEL_RB).start()
    try:
        t0 = time.perf_counter()
        b.create(namespace, "mem-probe", targetPhase="A")
        t1, _ = jobs.wait_for(lambda k, o: k == "ADDED" and labels(o).get(LABEL_RB) == "mem-probe",
                              what="a Job of mem-probe")
        return t1 - t0
    except TimeoutError:
        return None
    finally:
        jobs.stop()


def bench_memory(b: Bench, objects: int, seconds: float, paused: bool) -> dict[str, Any]:
    shipped = memory_run(b, objects, seconds, paused, None, "mem")
    raised = memory_run(b, objects, seconds, paused, objects + WORKERS_EXTRA, "memx")
    if raised and raised["reconciled"] != objects:
        b.failures.append(f"memory: with the pool raised, only {raised['reconciled']} of {objects} were reconciled")
    return {"shipped": shipped, "pool_raised": raised,
            "kopf_default_pool_threads": min(32, (os.cpu_count() or 1) + 4)}


# -- main ---------------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> None:
    def row(label: str, s: dict, cols: tuple[str, ...] = ("p50_ms", "p90_ms", "max_ms")) -> None:
        if s.get("n"):
            print(f"{label:<42}{s['n']:>4}" + "".join(f"{s[c]:>10}" for c in cols))

    print(f"\n{'latency (ms)':<42}{'n':>4}{'p50':>10}{'p90':>10}{'max':>10}")
    if "apply" in results:
        row("apply -> first Job created", results["apply"]["latency"])
        row("  (the create call alone)", results["apply"]["create_call"])
        row("delete -> RolloutBatch gone", results["apply"]["delete_to_gone"])
    if "freeze" in results:
        row("gate Job failed -> Frozen=True", results["freeze"]["gate_failed_to_frozen"])
        row("Job succeeded -> next Job created", results["freeze"]["job_succeeded_to_next_job"])
        row("gate Job failed -> rollback Job created", results["freeze"]["gate_failed_to_rollback_job"])
    if "memory" in results:
        print(f"\n{'memory (MB, threads, %)':<34}{'objects':>8}{'reconciled':>11}{'RSS':>7}{'peak':>7}{'threads':>8}"
              f"{'CPU':>6}")
        for key in ("shipped", "pool_raised"):
            m = results["memory"].get(key)
            if not m:
                continue
            for label, s, n, done in (("idle", m["idle"], 0, 0),
                                      ("loaded", m["loaded"], m["objects"], m["reconciled"])):
                print(f"{'pool ' + m['pool'] + ', ' + label:<34}{n:>8}{done:>11}{s['rss_steady_mb']:>7}"
                      f"{s['vmhwm_mb']:>7}{s['threads']:>8}{s['cpu_percent']:>6}")
            probe = m["apply_one_more_first_job_ms"]
            print(f"  per object: {m['rss_per_object_kb']} KB RSS, {m['threads_delta'] / m['objects']:.2f} threads; "
                  f"reconciled {m['reconciled']} of {m['objects']}"
                  + (f" after {m['all_reconciled_seconds']} s" if m["reconciled"] else "")
                  + "; one more applied: " + (f"first Job after {probe:.0f} ms" if probe is not None else "no Job"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="apply runs (default 20); the freeze part runs half as many")
    ap.add_argument("--objects", type=int, default=200, help="RolloutBatches for the memory part (default 200)")
    ap.add_argument("--only", choices=("apply", "freeze", "memory"), help="run one part")
    ap.add_argument("--sample-seconds", type=float, default=30, help="memory: seconds sampled per state (30)")
    ap.add_argument("--unpaused", action="store_true", help="memory: create the objects unpaused (Jobs are created)")
    ap.add_argument("--existing", action="store_true",
                    help="use the running cluster and PostgreSQL named by KUBECONFIG and DATABASE_URL")
    args = ap.parse_args()
    if args.existing and not (os.environ.get("KUBECONFIG") and os.environ.get("DATABASE_URL")):
        sys.exit("--existing needs KUBECONFIG and DATABASE_URL (the lines `tushare-rollout devcluster up` prints)")
    settings = DevClusterSettings(use_existing_cluster=True) if args.existing else DevClusterSettings()
    parts = [args.only] if args.only else ["apply", "freeze", "memory"]
    results: dict[str, Any] = {}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        cluster = DevCluster.start(settings)
        stack.callback(cluster.stop)  # with --existing it stops nothing it did not start
        b = Bench(cluster, str(cluster.kubeconfig))
        stack.callback(lambda: results.setdefault("cleanup", b.cleanup()))
        b.apply_crd()
        print(f"cluster: {'existing' if args.existing else 'dev cluster started'}; kopf {_version('kopf')}; "
              f"operator logs in {b.logdir} (removed at the end unless a check failed)", flush=True)
        if "apply" in parts:
            print(f"1. apply -> first Job ({args.runs} runs + 1 warm-up)", flush=True)
            results["apply"] = bench_apply(b, args.runs)
        if "freeze" in parts:
            n = max(1, args.runs // 2)
            print(f"2. gate Job failed -> Frozen=True ({n} runs + 1 warm-up)", flush=True)
            results["freeze"] = bench_freeze(b, n)
        if "memory" in parts:
            print(f"3. memory: {args.objects} RolloutBatches in {NAMESPACES} namespaces "
                  f"({'unpaused' if args.unpaused else 'spec.paused: true'})", flush=True)
            results["memory"] = bench_memory(b, args.objects, args.sample_seconds, not args.unpaused)
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    results["environment"] = {
        "when": now_ts(), "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted": git("status", "--porcelain", "tushare_rollout", "crds").splitlines(),
        "python": platform.python_version(), "cpus": os.cpu_count(), "kopf": _version("kopf"),
        "kubernetes_client": _version("kubernetes"), "cluster": "existing" if args.existing else "dev cluster",
        "resync_seconds": "default (60)", "seconds": round(time.perf_counter() - started, 1)}
    results["failures"] = b.failures
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    report(results)
    for label, part in (("apply", results.get("apply")), ("freeze", results.get("freeze")),
                        ("memory, shipped", (results.get("memory") or {}).get("shipped")),
                        ("memory, pool raised", (results.get("memory") or {}).get("pool_raised"))):
        for when in ("load_before", "load_after"):
            load = (part or {}).get(when)
            if load and load["busy_processes"]:
                print(f"note: {label} ({when.removeprefix('load_')}) overlapped with other work: load "
                      f"{load['loadavg']}; busy: {'; '.join(load['busy_processes'])}", flush=True)
    print(f"\nresults: {RESULTS.relative_to(ROOT)}")
    if b.failures:
        print("\nFAILED checks:\n" + "\n".join(b.failures), file=sys.stderr)
        sys.exit(1)


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


if __name__ == "__main__":
    main()
