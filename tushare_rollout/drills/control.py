"""The control-plane drills: the operator SIGKILLed mid-reconcile and restarted, two operators started at
once on one namespace, the kube-apiserver stopped and started again while Jobs run.

Each rolls a RolloutBatch from A to B (``docs/examples/rolloutbatch.yaml`` over the drill's window) in a
namespace of its own on the context's dev cluster (:attr:`DrillContext.cluster`), set up by :class:`Bed`:
a fresh database at head named in the namespace's Secret, the local Job runner for that namespace
standing in for kubelet, the operator as its own process (``python -m tushare_rollout operator``, as
``tests/e2e/bed.py`` runs it), and a ``kubectl get jobs --watch`` that notes every Job the moment it is
created (the kill points hang on it). Once the RolloutBatch is Ready, nothing may be lost or duplicated
(:func:`_verify`):

* Jobs: exactly A's migrate, baseline and gate and B's ingest, gate and publish, one per phase and step,
  each its first try, each created once (one uid seen by the watch and run by the Job runner) and none
  given up on by the Job runner;
* work: no dataset loaded twice by B's ingest Job, no gate evaluated twice by a gate Job;
* data: the data tables checksum-equal to the undisturbed reference load of the same window
  (:meth:`DrillContext.reference`), no duplicate keys.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..devcluster.jobrunner import LocalJobRunner
from ..devcluster.process import ManagedProcess
from ..devcluster.stack import CRD, CRD_NAME, DB_SECRET, LOCAL_IMAGE, ROOT, TOKEN_SECRET
from ..operator.manifests import LABEL_PHASE, LABEL_RB, LABEL_STEP, LABEL_TRY
from .checksums import identical
from .context import FAST_CLIENT, Database, DrillContext, DrillError, Reference, wait_until, window
from .model import DrillResult, Observation
from .registry import drill

if TYPE_CHECKING:
    from ..devcluster import DevCluster

EXAMPLE = ROOT / "docs" / "examples" / "rolloutbatch.yaml"
RB = "p0"
JOBS = tuple(f"{RB}-{kind}-1" for kind in ("a-migrate", "a-baseline", "a-gate", "b-ingest", "b-gate", "b-publish"))
INGEST = f"{RB}-b-ingest-1"
READY_WITHIN = 300.0  # seconds a disturbed rollout may take to become Ready
RESYNC_SECONDS = "5"  # the operator reconciles at least this often without events (as the e2e bed)
SHORT_LEASE = "3"  # seconds: a SIGKILLed operator's Lease lapses this soon (the least the operator allows)
KILL_DELAY_MS = 12  # the kill lands this many milliseconds (seeded, at most) after the Job's creation is seen
STOP_GRACE = 1.0  # seconds the kube-apiserver gets to exit after SIGTERM (it stops listening at once), then SIGKILL
HOLD_SECONDS = 15.0  # the held-down outage lasts this long past the ingest's end: longer than any client retries


class Operator:
    """``tushare-rollout operator`` as its own process; its log, across restarts, in one file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.process = ManagedProcess(name, [sys.executable, "-m", "tushare_rollout", "operator"], log, env=env)

    def start(self) -> Operator:
        self.process.start()
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.proc is not None and self.process.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no Lease released (what an OOM kill or a lost node does)."""
        if self.running:
            self.process.proc.send_signal(signal.SIGKILL)

    def killed(self, timeout: float) -> bool:
        """Wait until the process has died (and reap it)."""
        try:
            self.process.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        self.process.stop()

    def reconciles(self) -> int:
        """How many reconciles it logged (a replica on standby logs none)."""
        try:
            return self.process.log_path.read_text(errors="replace").count("reconciled rolloutbatch=")
        except FileNotFoundError:
            return 0

    def logged_creating(self, job: str) -> bool:
        """Whether a reconcile that created ``job`` ran to its end (its summary line names it)."""
        try:
            text = self.process.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return False
        return any("reconciled rolloutbatch=" in line and f"'{job}'" in line.partition(" created=")[2]
                   for line in text.splitlines())

    def tail(self, lines: int = 8) -> str:
        return " | ".join(line.strip() for line in self.process.log_tail(lines).splitlines())


class JobWatch:
    """``kubectl get jobs --watch`` on the RolloutBatch's Jobs: every (name, uid) created, and actions run
    the moment a given Job is reported created (in the reader thread)."""

    TEMPLATE = 'go-template={{.type}} {{.object.metadata.name}} {{.object.metadata.uid}}{{"\\n"}}'

    def __init__(self, cluster: DevCluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.uids: dict[str, set[str]] = defaultdict(set)
        self._hooks: dict[str, tuple[Callable[[], object], threading.Event]] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> JobWatch:
        """Start watching (again: after an API outage ends ``kubectl``'s watch, its first listing shows every
        Job as it is now, so a Job created anew under a known name still shows with a second uid)."""
        self.stop()
        argv = ["kubectl", "-n", self.namespace, "get", "jobs", "-l", f"{LABEL_RB}={RB}", "--watch",
                "--output-watch-events", "-o", self.TEMPLATE]
        self._proc = subprocess.Popen(argv, env=self.cluster.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, args=(self._proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        for line in proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            name, _, uid = rest.partition(" ")
            if kind != "ADDED" or not uid:
                continue
            with self._lock:
                self.uids[name].add(uid)
                hook = self._hooks.pop(name, None)
            if hook is not None:
                action, done = hook
                try:
                    action()
                finally:
                    done.set()
        proc.stdout.close()

    def on_created(self, name: str, action: Callable[[], object]) -> threading.Event:
        """Run ``action`` when Job ``name`` is reported created; the event is set once it has run."""
        done = threading.Event()
        with self._lock:
            self._hooks[name] = (action, done)
        return done

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._reader is not None:
            self._reader.join(10)
        self._proc = self._reader = None


class Bed:
    """A namespace of the dev cluster ready for a RolloutBatch: its database (fresh, at head) and token in
    Secrets, the CRD, the local Job runner and the Job watch; operators are added with :meth:`operator`.
    Everything is stopped on ``with`` exit and the namespace deleted."""

    def __init__(self, ctx: DrillContext, purpose: str, ref: Reference) -> None:
        self.ctx, self.ref = ctx, ref
        self.cluster = ctx.cluster
        self.namespace = f"drill-{purpose.replace('_', '-')}-{secrets.token_hex(3)}"
        self.db: Database = ctx.database(purpose)
        self.dir = ctx.workdir / self.namespace
        self.operators: list[Operator] = []
        self.runner: LocalJobRunner | None = None
        self.watch = JobWatch(self.cluster, self.namespace)
        self.started = time.monotonic()

    def __enter__(self) -> Bed:
        self.dir.mkdir()
        self.kubectl_global("apply", "-f", str(CRD))
        self.cluster.wait_for_crd(CRD_NAME)
        self.kubectl_global("create", "namespace", self.namespace)
        secrets_ = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
                    for name, data in ((DB_SECRET, {"url": self.db.url}), (TOKEN_SECRET, {"token": "demo:all"}))]
        # through stdin: a secret on a command line shows in the process list and in a failed command's message
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": secrets_}))
        self.runner = LocalJobRunner(str(self.cluster.kubeconfig), namespaces={self.namespace},
                                     env={**FAST_CLIENT, "TSR_TERMINATION_LOG": os.devnull}).start()
        self.watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for op in self.operators:
            op.stop()
        self.watch.stop()
        if self.runner is not None:
            self.runner.stop()
        # no operator is left to remove kopf's finalizer: drop it, so the namespace can go
        self.kubectl("patch", f"rb/{RB}", "--type=merge", "-p", '{"metadata":{"finalizers":null}}', check=False)
        self.kubectl_global("delete", "namespace", self.namespace, "--wait=false", check=False)
        self.db.dispose()

    # -- the cluster ----------------------------------------------------------------------------------

    def kubectl_global(self, *args: str, check: bool = True, input: str | None = None
                       ) -> subprocess.CompletedProcess[str]:
        done = self.cluster.kubectl(*args, input=input, check=False)
        if check and done.returncode != 0:  # no secret is ever on the command line: it may be named
            raise DrillError(f"kubectl {' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()}")
        return done

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.kubectl_global("-n", self.namespace, *args, check=check, input=input)

    def operator(self, name: str = "operator", **env: str) -> Operator:
        """Start an operator watching this namespace (``env``: more TSR_* settings)."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("TSR_", "TUSHARE_")) and k not in ("DATABASE_URL", "KUBECONFIG")}
        full = {**base, "KUBECONFIG": str(self.cluster.kubeconfig), "PATH": self.cluster.path(),
                "DATABASE_URL": self.db.url, "TSR_IMAGE": LOCAL_IMAGE, "TSR_TUSHARE_API_URL": self.ctx.tushare.url,
                "TSR_NAMESPACES": json.dumps([self.namespace]), "TSR_LIVENESS_PORT": "0",
                "TSR_RESYNC_SECONDS": RESYNC_SECONDS, **env}
        op = Operator(name, full, self.dir / f"{name}.log").start()
        self.operators.append(op)
        return op

    def apply(self) -> None:
        """The example RolloutBatch, its target B, over the reference's window."""
        body = yaml.safe_load(EXAMPLE.read_text())
        body["metadata"] = {"name": RB}
        body["spec"]["targetPhase"] = "B"
        body["spec"]["universe"] = {**body["spec"]["universe"], "backfillStart": self.ref.window.start,
                                    "backfillEnd": self.ref.window.end}
        self.kubectl("apply", "-f", "-", input=json.dumps(body))

    def get(self) -> dict[str, Any]:
        return json.loads(self.kubectl("get", f"rb/{RB}", "-o", "json").stdout)

    def status_names(self) -> set[str]:
        """The Job names the RolloutBatch's status records."""
        phases = (self.get().get("status") or {}).get("phases") or {}
        return {j.get("name") for p in phases.values() for j in p.get("jobs") or []}

    def jobs(self) -> list[dict[str, Any]]:
        return json.loads(self.kubectl("get", "jobs", "-l", f"{LABEL_RB}={RB}", "-o", "json").stdout)["items"]

    def job(self, name: str) -> dict[str, Any] | None:
        done = self.kubectl("get", f"job/{name}", "-o", "json", "--ignore-not-found")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def wait_ready(self, obs: Observation) -> bool:
        """Until the RolloutBatch is Ready (at most :data:`READY_WITHIN` s); false, with the reason, if not."""
        def ready() -> bool:  # in rounds: `kubectl wait` fails at once while the status has no conditions yet
            return self.kubectl("wait", f"rb/{RB}", "--for=condition=Ready=true", "--timeout=20s",
                                check=False).returncode == 0

        try:
            wait_until(ready, READY_WITHIN, f"rb/{RB} to be Ready", interval=0.5)
        except DrillError:
            status = (self.get().get("status") or {})
            obs.expect(False, f"not Ready after {READY_WITHIN:.0f}s (state {status.get('state')}, phase "
                              f"{status.get('phase')}: {status.get('message', '')}); "
                              + "; ".join(f"{op.name}: {op.tail(4)}" for op in self.operators))
            return False
        obs.saw(f"Ready {time.monotonic() - self.started:.0f}s after the namespace was set up")
        return True


# -- what every drill checks once the RolloutBatch is Ready --------------------------------------------

def _verify(obs: Observation, bed: Bed) -> bool:
    """Jobs once each, work done once, data identical (see the module's docstring); whether identical."""
    status = bed.get().get("status") or {}
    states = {p: (status.get("phases") or {}).get(p, {}).get("state") for p in "AB"}
    obs.expect(status.get("state") == "Succeeded" and states == {"A": "Passed", "B": "Passed"},
               f"the RolloutBatch is {status.get('state')} with A {states['A']}, B {states['B']}")
    _jobs_once(obs, bed)
    _work_once(obs, bed.db)
    return identical(obs, bed.db.engine, bed.ref)


def _jobs_once(obs: Observation, bed: Bed) -> None:
    jobs = sorted(bed.jobs(), key=lambda j: j["metadata"]["name"])
    names = [j["metadata"]["name"] for j in jobs]
    labels = [j["metadata"].get("labels") or {} for j in jobs]
    kinds = Counter((lab.get(LABEL_PHASE), lab.get(LABEL_STEP)) for lab in labels)
    retried = sorted(n for n, lab in zip(names, labels) if lab.get(LABEL_TRY) != "1")
    obs.expect(names == sorted(JOBS), f"Jobs {', '.join(names)}; expected {', '.join(JOBS)}")
    obs.expect(all(n == 1 for n in kinds.values()),
               "two Jobs of one kind: " + ", ".join(f"{p}/{s} ×{n}" for (p, s), n in kinds.items() if n > 1))
    obs.expect(not retried, f"not a first try: {', '.join(retried)}")
    uids = {j["metadata"]["name"]: j["metadata"]["uid"] for j in jobs}
    twice = sorted(n for n, seen in bed.watch.uids.items() if len(seen) > 1)
    obs.expect(not twice, f"created twice (another uid under the same name): {', '.join(twice)}")
    unseen = [n for n in names if uids[n] not in bed.watch.uids.get(n, ())]
    obs.expect(not unseen, f"the Job watch never saw {', '.join(unseen)} created")
    runs = {n: {p.parent.name for p in bed.runner.logs(bed.namespace, n)} for n in names}
    rerun = sorted(n for n, dirs in runs.items() if dirs != {uids[n][:8]})
    obs.expect(not rerun, "not run exactly once as the Job it is by the Job runner: " + ", ".join(
        f"{n} ({len(runs[n])} runs)" for n in rerun))
    obs.expect(not bed.runner.errors, "the Job runner gave up on " + "; ".join(
        f"{job.rpartition('/')[2]} ({why[:90]}...)" for job, _, why in (e.partition(": ") for e in bed.runner.errors)))
    if names == sorted(JOBS) and not twice and not unseen and not rerun:
        obs.saw(f"{len(names)} Jobs, one per phase and step, each created and run once, first try")


def _work_once(obs: Observation, db: Database) -> None:
    loaded = db.rows("SELECT job_name, dataset, count(*) FROM ingest_runs WHERE job_name IS NOT NULL"
                     " GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2")
    gated = db.rows("SELECT job_name, gate, count(*) FROM gate_runs WHERE job_name IS NOT NULL"
                    " GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2")
    obs.expect(not loaded, "loaded twice: " + _by_job(loaded, "datasets"))
    obs.expect(not gated, "gated twice: " + _by_job(gated, "gates"))
    datasets = db.scalar("SELECT count(DISTINCT dataset) FROM ingest_runs WHERE job_name = :j", j=INGEST)
    if not loaded and not gated:
        obs.saw(f"{datasets} datasets loaded once by {INGEST}, each gate run once")


def _by_job(rows: list, what: str) -> str:
    """``(job, item, count)`` rows in a few words.

    >>> _by_job([("j", "a", 2), ("j", "b", 2), ("j", "c", 2), ("j", "d", 3), ("k", "a", 2)], "datasets")
    'j: 4 datasets (a ×2, b ×2, c ×2, ...); k: 1 datasets (a ×2)'
    """
    jobs: dict[str, list[str]] = defaultdict(list)
    for job, item, n in rows:
        jobs[job].append(f"{item} ×{n}")
    return "; ".join(f"{job}: {len(items)} {what} ({', '.join(items[:3])}{', ...' if len(items) > 3 else ''})"
                     for job, items in jobs.items())


# -- operator-sigkill ----------------------------------------------------------------------------------

EXPECT_SIGKILL = ("the operator SIGKILLed at seeded points mid-reconcile, restarted each time: the RolloutBatch ends "
                  "Ready; the six Jobs of A and B, each created and run once, first try; nothing loaded or gated "
                  "twice; identical")


@drill("operator-sigkill", plane="control")
def operator_sigkill(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """The operator SIGKILLed mid-reconcile (at seeded Job creations) while a RolloutBatch goes A→B, and restarted."""
    ref = ctx.reference(window(short))
    return [_sigkill(ctx, ref, seed, kills=1 if short else 3) for seed in ctx.seeds_for(short)]


def _sigkill(ctx: DrillContext, ref: Reference, seed: int, kills: int) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"operator-sigkill (seed {seed})", EXPECT_SIGKILL)
    # the kill points: the creation of seeded Jobs, each plus a seeded delay of a few milliseconds: the operator
    # then still has to post its Events and write the status naming the Job, or has just done so
    points = [(JOBS[i], rng.randint(0, KILL_DELAY_MS)) for i in sorted(rng.sample(range(len(JOBS)), kills))]
    with Bed(ctx, f"sigkill_{seed}", ref) as bed:
        op = bed.operator(TSR_LEASE_SECONDS=SHORT_LEASE)
        fired = [bed.watch.on_created(name, lambda ms=ms: _kill_after(op, ms)) for name, ms in points]
        bed.apply()
        where = []
        for (name, ms), done in zip(points, fired):
            if not done.wait(READY_WITHIN) or not op.killed(30):
                obs.expect(False, f"{name} was not created within {READY_WITHIN:.0f}s: {op.tail()}")
                return obs.result(None)
            where.append(f"{name}'s creation +{ms} ms ({_kill_point(bed, op, name)})")
            op.start()
        obs.saw(f"SIGKILLed {len(points)}× and restarted: at " + "; ".join(where))
        if not bed.wait_ready(obs):
            return obs.result(None)
        return obs.result(_verify(obs, bed))


def _kill_point(bed: Bed, op: Operator, name: str) -> str:
    """Where in the reconcile that created Job ``name`` the kill landed (the operator is dead: nothing moves)."""
    if name not in bed.status_names():
        return "mid-reconcile, before its status write"
    if not op.logged_creating(name):
        return "mid-reconcile, after its status write"
    return "after that reconcile"


def _kill_after(op: Operator, ms: int) -> None:
    if ms:
        time.sleep(ms / 1000)  # the seeded kill point, not a wait for something to happen
    op.kill()


# -- two-operators -------------------------------------------------------------------------------------

EXPECT_TWO = ("two operators started at once on one namespace: only the one holding the Lease reconciles, the other "
              "stands by; the six Jobs, each created and run once; identical")
EXPECT_TAKEOVER = ("the acting operator of two SIGKILLed mid-rollout: the standby, which had not acted, takes over "
                   "once the Lease lapses; Ready; the six Jobs, each created and run once; identical")


@drill("two-operators", plane="control")
def two_operators(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """Two operators started at once on the same namespace: one acts (the Lease holder), the other stands by."""
    ref = ctx.reference(window(short))
    results = [_two_at_once(ctx, ref)]
    if not short:
        results.append(_takeover(ctx, ref, ctx.seeds_for(short)[0]))
    return results


def _lease_holder_pid(bed: Bed) -> int | None:
    """The pid in the Lease's holder identity (``<host>-<pid>-<random>``)."""
    done = bed.kubectl("get", "lease/tushare-rollout-operator", "-o", "json", check=False)
    holder = (json.loads(done.stdout).get("spec") or {}).get("holderIdentity") if done.returncode == 0 else None
    parts = (holder or "").rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _two_at_once(ctx: DrillContext, ref: Reference) -> DrillResult:
    obs = Observation("two-operators (started at once)", EXPECT_TWO)
    with Bed(ctx, "two_operators", ref) as bed:
        ops = [bed.operator("first"), bed.operator("second")]
        bed.apply()
        if not bed.wait_ready(obs):
            return obs.result(None)
        counts = {op.name: op.reconciles() for op in ops}
        acted = [op for op in ops if counts[op.name]]
        obs.saw("reconciles logged: " + ", ".join(f"{n} {c}" for n, c in counts.items()))
        obs.expect(len(acted) == 1, f"{len(acted)} operators acted, expected exactly one")
        holder = _lease_holder_pid(bed)
        obs.expect(len(acted) != 1 or holder == acted[0].pid,
                   f"the Lease is held by pid {holder}, the acting operator is pid {acted[0].pid if acted else '-'}")
        return obs.result(_verify(obs, bed))


def _takeover(ctx: DrillContext, ref: Reference, seed: int) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation("two-operators (the acting one SIGKILLed)", EXPECT_TAKEOVER)
    at = JOBS[rng.randrange(1, len(JOBS))]
    with Bed(ctx, "takeover", ref) as bed:
        ops = [bed.operator("first"), bed.operator("second")]
        created = bed.watch.on_created(at, lambda: None)
        bed.apply()
        if not created.wait(READY_WITHIN):
            obs.expect(False, f"{at} was not created within {READY_WITHIN:.0f}s")
            return obs.result(None)
        holder = _lease_holder_pid(bed)
        acting = next((op for op in ops if op.pid == holder), None)
        if not obs.expect(acting is not None, f"no operator holds the Lease (holder pid {holder})"):
            return obs.result(None)
        acting.kill()
        acting.killed(30)
        standby = next(op for op in ops if op is not acting)
        before = standby.reconciles()
        obs.saw(f"{acting.name} (the Lease holder) SIGKILLed at {at}'s creation; {standby.name} had logged "
                f"{before} reconciles")
        obs.expect(before == 0, f"{standby.name} reconciled {before} times while {acting.name} held the Lease")
        if not bed.wait_ready(obs):
            return obs.result(None)
        obs.expect(standby.reconciles() > 0, f"{standby.name} never reconciled: who finished the rollout?")
        return obs.result(_verify(obs, bed))


# -- apiserver-restart ---------------------------------------------------------------------------------

EXPECT_APISERVER = ("the kube-apiserver stopped (SIGTERM) and started again on the same port and certificates while "
                    "B's ingest Job runs, the Job loading on meanwhile: the operator and the Job runner resume; Ready; "
                    "the six Jobs, each created and run once; nothing loaded twice; identical")
EXPECT_APISERVER_HELD = (f"the kube-apiserver down from late in B's ingest until {HOLD_SECONDS:.0f} s after it finished "
                         "(longer than any client retries): the Job runner reports the Job Complete once the API is "
                         "back and does not run it again; Ready; the six Jobs, each created and run once; identical")


@drill("apiserver-restart", plane="control")
def apiserver_restart(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """The kube-apiserver stopped and started again (same port, certificates) while B's ingest Job runs."""
    ref = ctx.reference(window(short))
    seed = ctx.seeds_for(short)[0]
    results = [_apiserver(ctx, ref, seed, held=False)]
    if not short:
        results.append(_apiserver(ctx, ref, seed, held=True))
    return results


def _ingest_progress(bed: Bed) -> tuple[int, int]:
    """B's ingest Job so far: partitions committed, datasets finished."""
    return tuple(bed.db.rows(
        "SELECT (SELECT count(*) FROM ingest_checkpoints c JOIN ingest_runs r USING (run_id) WHERE r.job_name = :j),"
        " (SELECT count(*) FROM ingest_runs WHERE job_name = :j AND status <> 'running')", j=INGEST)[0])


def _apiserver(ctx: DrillContext, ref: Reference, seed: int, *, held: bool) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"apiserver-restart ({'held down past the ingest' if held else 'mid-ingest'})",
                      EXPECT_APISERVER_HELD if held else EXPECT_APISERVER)
    # what B's ingest will have done at its end: as much as the reference load
    commits, datasets = ref.database.rows("SELECT (SELECT count(*) FROM ingest_checkpoints),"
                                          " (SELECT count(*) FROM ingest_runs)")[0]
    ref.database.dispose()  # it may serve as a template
    # the outage begins at a seeded commit: in the first half; held down, late (60-80 %: it must outlast the Job)
    at = rng.randint(commits * 6 // 10, commits * 8 // 10) if held else rng.randint(1, commits // 2)
    with Bed(ctx, "apiserver", ref) as bed:
        bed.operator()
        bed.apply()
        wait_until(lambda: _ingest_progress(bed)[0] >= at, READY_WITHIN, f"{INGEST}'s commit {at}")
        before: list[tuple[int, int]] = []

        def while_down() -> None:
            before.append(_ingest_progress(bed))
            if held:  # until the Job is done, and then longer than any client retries
                wait_until(lambda: _ingest_progress(bed)[1] >= datasets, READY_WITHIN, f"{INGEST} to finish")
                time.sleep(HOLD_SECONDS)  # the outage's length, not a wait for something to happen
            else:  # until the Job has loaded on without the API (or has finished)
                wait_until(lambda: _ingest_progress(bed) != before[0] or before[0][1] >= datasets, READY_WITHIN,
                           f"{INGEST} to commit without the API server")

        bed.watch.stop()  # `kubectl get --watch` ends with the API server; started again below
        stopped = time.monotonic()
        bed.cluster.restart_apiserver(while_down, grace=STOP_GRACE)
        outage = time.monotonic() - stopped
        bed.watch.start()
        after = _ingest_progress(bed)
        job = bed.job(INGEST) or {}
        finished = [c["type"] for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]
        obs.saw(f"the kube-apiserver down {outage:.1f}s from {INGEST}'s commit {before[0][0]} of {commits}; it "
                f"committed {after[0] - before[0][0]} partitions and finished {after[1] - before[0][1]} datasets "
                f"meanwhile; back, the Job read {'/'.join(finished) or 'active'}")
        obs.expect(not held or before[0][1] < datasets,
                   f"{INGEST} had finished before the outage began: its end was not reported through one")
        if not bed.wait_ready(obs):
            return obs.result(None)
        return obs.result(_verify(obs, bed))
