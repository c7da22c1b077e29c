"""The local Job runner: kubelet and the Job controller of the dev cluster, in one object.

The dev cluster has no nodes and its kube-controller-manager runs without the Job controller.
``LocalJobRunner`` watches Jobs, runs each Job's first container command as a local process
(with the container's env, Secrets and ConfigMaps resolved through the API) and writes the Job's
status back exactly as the Job controller would, so a client reading Jobs cannot tell the
difference::

    with LocalJobRunner(kubeconfig, namespaces={"data"}) as runner:
        ...  # create Jobs; they run, and reach Complete or Failed

What it does, as the Job controller does:

* a Job runs when it is not suspended and has no terminal condition; a finished Job is left
  alone; a Job deleted (or being deleted) while running has its processes killed (SIGTERM, then
  SIGKILL after the pod's ``terminationGracePeriodSeconds``);
* ``completions``/``parallelism``, ``completionMode: Indexed`` (``JOB_COMPLETION_INDEX``,
  ``completedIndexes``), ``backoffLimit`` (default 6), ``activeDeadlineSeconds`` and
  ``podFailurePolicy`` exit-code rules (``FailJob``, ``Ignore``, ``Count``);
* status: ``startTime``/``active``/``ready`` when processes start, then ``SuccessCriteriaMet`` +
  ``Complete`` with ``completionTime``, or ``FailureTarget`` + ``Failed`` with the controller's
  reason (``BackoffLimitExceeded``, ``DeadlineExceeded``, ``PodFailurePolicy``) and a message
  naming what failed; suspending a running Job kills its processes and writes ``Suspended``.

Where it differs, deliberately: a failed attempt is retried at once (no 10 s, 20 s, ... back-off),
a container that cannot start (missing Secret or key) counts as a failed attempt instead of
waiting in ``CreateContainerConfigError``, ``max_parallel`` Jobs run at once (others wait, with no
status yet), and only the first container runs (no init containers, images, volumes, probes,
``$(VAR)`` expansion, ``workingDir`` or ``backoffLimitPerIndex``). A command ``tushare-rollout``
runs this checkout's CLI (``python -m tushare_rollout``) instead of the image's.

Each attempt runs in its own temporary working directory; its stdout and stderr go to a log file
(``logs()``). Environment values are never logged, only their names.
"""

from __future__ import annotations

import base64
import collections
import copy
import enum
import json
import logging
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from .process import _die_with  # the same parent-death tie as the control plane's children

logger = logging.getLogger(__name__)

CLI_NAME = "tushare-rollout"
DROPPED_ENV = frozenset({"KUBECONFIG", "DATABASE_URL"})
DROPPED_ENV_PREFIXES = ("TUSHARE_", "TSR_")
DEFAULT_BACKOFF_LIMIT = 6
DEFAULT_GRACE_SECONDS = 30
STOP_GRACE_SECONDS = 5.0
WATCH_SECONDS = 300  # the server ends each watch after this; it is resumed from the last resourceVersion
SYNC_TIMEOUT = 30.0
MERGE_PATCH = "application/merge-patch+json"
START_ERROR_EXIT_CODE = 128  # what a container runtime reports when the command cannot be executed


class JobCondition(enum.StrEnum):
    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
    COMPLETE = "Complete"
    FAILURE_TARGET = "FailureTarget"
    FAILED = "Failed"
    SUSPENDED = "Suspended"


class JobReason(enum.StrEnum):
    COMPLETIONS_REACHED = "CompletionsReached"
    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    POD_FAILURE_POLICY = "PodFailurePolicy"
    JOB_SUSPENDED = "JobSuspended"
    JOB_RESUMED = "JobResumed"


class PodStartError(Exception):
    """The container could not start (what kubelet reports as CreateContainerConfigError)."""


# -- pure helpers ---------------------------------------------------------------------------------


def format_indexes(indexes: Iterable[int]) -> str:
    """``status.completedIndexes``: sorted, with runs of consecutive indexes as ranges.

    >>> format_indexes([2, 0, 1, 5, 7, 8])
    '0-2,5,7-8'
    >>> format_indexes([])
    ''
    """
    parts: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_indexes(text: str | None) -> set[int]:
    """The inverse of :func:`format_indexes`.

    >>> sorted(parse_indexes("0-2,5"))
    [0, 1, 2, 5]
    >>> parse_indexes(None)
    set()
    """
    out: set[int] = set()
    for part in (text or "").split(","):
        if part:
            first, _, last = part.partition("-")
            out.update(range(int(first), int(last or first) + 1))
    return out


def match_failure_rule(policy: Mapping[str, Any] | None, container: str, exit_code: int) -> tuple[int, str] | None:
    """``(index, action)`` of the first ``podFailurePolicy`` rule matching a container's exit code.

    Exit code 0 never matches (as in the Job controller); rules on pod conditions never match a
    local process.

    >>> policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
    ...                     {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
    ...                                                           "values": [2, 4]}},
    ...                     {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [3]}}]}
    >>> match_failure_rule(policy, "main", 2), match_failure_rule(policy, "main", 5)
    ((1, 'FailJob'), (2, 'Count'))
    >>> match_failure_rule(policy, "other", 2), match_failure_rule(policy, "main", 3)
    ((2, 'Count'), None)
    """
    if exit_code == 0:
        return None
    for index, rule in enumerate((policy or {}).get("rules") or []):
        codes = rule.get("onExitCodes")
        if not codes or codes.get("containerName") not in (None, container):
            continue
        inside = exit_code in (codes.get("values") or [])
        if inside == (codes.get("operator") == "In"):
            return index, rule["action"]
    return None


def local_argv(container: Mapping[str, Any]) -> list[str]:
    """The container's ``command`` + ``args``; the project's CLI runs from this checkout.

    >>> local_argv({"command": ["tushare-rollout"], "args": ["version"]})[1:]
    ['-m', 'tushare_rollout', 'version']
    >>> local_argv({"command": ["sh", "-c"], "args": ["exit 3"]})
    ['sh', '-c', 'exit 3']
    """
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    if not argv:
        raise PodStartError("the container has no command: the local Job runner cannot run an image's entrypoint")
    if argv[0] == CLI_NAME:
        return [sys.executable, "-m", "tushare_rollout", *argv[1:]]
    return argv


def runner_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without what points at a cluster, a database or Tushare, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV and not k.startswith(DROPPED_ENV_PREFIXES)}
    env.update(overrides)
    return env


def is_finished(job: Mapping[str, Any]) -> bool:
    conditions = ((job.get("status") or {}).get("conditions")) or []
    return any(c.get("type") in (JobCondition.COMPLETE, JobCondition.FAILED) and c.get("status") == "True"
               for c in conditions)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: JobCondition, status: str, reason: JobReason, message: str, now: str) -> dict[str, str]:
    return {"type": kind.value, "status": status, "reason": reason.value, "message": message,
            "lastProbeTime": now, "lastTransitionTime": now}


def _exit_code(returncode: int) -> int:
    """A container runtime's exit code: 128 + the signal for a killed process."""
    return 128 - returncode if returncode < 0 else returncode


# -- the API, raw ---------------------------------------------------------------------------------


def _raw(response: Any) -> dict[str, Any]:
    return json.loads(response.data)


class _Api:
    """The few calls the runner makes, on plain dicts (the API's own field names)."""

    def __init__(self, kubeconfig: str) -> None:
        self.client = k8s_config.new_client_from_config(config_file=kubeconfig)
        self.batch = k8s.BatchV1Api(self.client)
        self.core = k8s.CoreV1Api(self.client)

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _raw(self.batch.read_namespaced_job(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_job_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.batch.patch_namespaced_job_status(name, namespace, {"status": dict(status)},
                                               _content_type=MERGE_PATCH, _preload_content=False)

    def read_data(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        """A Secret's (decoded) or ConfigMap's data; ``None`` when it does not exist."""
        read = self.core.read_namespaced_secret if kind == "secret" else self.core.read_namespaced_config_map
        try:
            obj = _raw(read(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = obj.get("data") or {}
        if kind == "secret":
            return {k: base64.b64decode(v).decode("utf-8", "surrogateescape") for k, v in data.items()}
        return dict(data)

    def close(self) -> None:
        self.client.close()


# -- one process ----------------------------------------------------------------------------------

_Events = queue.Queue[tuple[str, int, float]]  # ("exit", attempt, exit code) or ("cancel:<why>", 0, grace)


@dataclass
class _Proc:
    key: int  # the attempt number within the run
    index: int | None
    pod: str
    popen: subprocess.Popen[bytes] | None
    workdir: Path | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    exited: threading.Event = field(default_factory=threading.Event)

    def send(self, sig: signal.Signals) -> None:
        """Signal the whole process group, unless it is reaped (its pid may then belong to someone else)."""
        with self.lock:
            if self.popen is not None and not self.exited.is_set():
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    pass

    def kill(self, grace: float) -> None:
        self.send(signal.SIGTERM)
        if not self.exited.wait(grace):
            self.send(signal.SIGKILL)
            self.exited.wait()


def _wait_for_exit(proc: _Proc, popen: subprocess.Popen[bytes], events: _Events) -> None:
    """Wait for the command; kill what it left behind in its group (as a container's end would); reap."""
    os.waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT)  # exited but not reaped: the group id stays ours
    try:
        os.killpg(popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    with proc.lock:
        code = popen.wait()
        proc.exited.set()
    events.put(("exit", proc.key, _exit_code(code)))


# -- one Job --------------------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


@dataclass(frozen=True)
class _Spec:
    """What a run needs of a Job's spec, read once when it starts."""

    container: Mapping[str, Any]
    pod_spec: Mapping[str, Any]
    pod_meta: Mapping[str, Any]
    grace: float
    indexed: bool
    completions: int | None
    parallelism: int
    backoff_limit: int
    deadline_seconds: int | None
    policy: Mapping[str, Any] | None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> _Spec:
        pod_spec = spec["template"].get("spec") or {}
        return cls(container=pod_spec["containers"][0], pod_spec=pod_spec,
                   pod_meta=spec["template"].get("metadata") or {},
                   grace=float(pod_spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)),
                   indexed=spec.get("completionMode") == "Indexed", completions=spec.get("completions"),
                   parallelism=int(spec.get("parallelism", 1)),
                   backoff_limit=int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)),
                   deadline_seconds=spec.get("activeDeadlineSeconds"), policy=spec.get("podFailurePolicy"))


class _JobRun:
    """One Job, from its first process to its terminal status, in its own thread."""

    def __init__(self, runner: LocalJobRunner, namespace: str, name: str, uid: str) -> None:
        self.runner, self.namespace, self.name, self.uid = runner, namespace, name, uid
        self.events: _Events = queue.Queue()
        self.dir = runner.root / namespace / name / uid[:8]
        self.thread = threading.Thread(target=self._main, name=f"job {namespace}/{name}", daemon=True)
        self.active: dict[int, _Proc] = {}
        self.attempts = 0
        self.grace = float(DEFAULT_GRACE_SECONDS)  # the pod's terminationGracePeriodSeconds, once read
        self.spec: _Spec  # read when the run starts
        self.written: dict[str, Any] = {}  # the status fields as last written
        self.ended_suspended = False

    def cancel(self, grace: float, why: str) -> None:
        self.events.put(("cancel:" + why, 0, grace))

    # -- the loop --

    def _main(self) -> None:
        started = time.monotonic()
        try:
            summary = self._run()
        except _Cancelled as exc:
            summary = f"stopped ({exc})"
            self._kill_all(min(self.grace, STOP_GRACE_SECONDS) if self.runner.stopping else self.grace)
        except ApiException as exc:
            summary = f"given up: the API answered {exc.status} {_api_message(exc)}"
            self.runner._gave_up(f"{self.namespace}/{self.name}: {exc.status} {_api_message(exc)}")
            self._kill_all(self.grace)
        except urllib3.exceptions.HTTPError as exc:
            summary = f"given up: the API is unreachable ({exc})"
            self.runner._gave_up(f"{self.namespace}/{self.name}: {exc}")
            self._kill_all(self.grace)
        finally:
            self.runner._finished(self)
        if summary:
            logger.info("job %s/%s %s in %dms", self.namespace, self.name, summary,
                        (time.monotonic() - started) * 1000)

    def _run(self) -> str | None:
        job = self.runner.client.read_job(self.namespace, self.name)
        if job is None or job["metadata"]["uid"] != self.uid or is_finished(job) or job["spec"].get("suspend"):
            return None
        self.spec = spec = _Spec.of(job["spec"])
        self.grace = spec.grace
        status = job.get("status") or {}
        self.conditions: list[dict[str, Any]] = list(status.get("conditions") or [])
        self.succeeded = int(status.get("succeeded") or 0)
        self.failed = int(status.get("failed") or 0)
        self.completed = parse_indexes(status.get("completedIndexes")) if spec.indexed else set()
        self.pending = collections.deque(i for i in range(spec.completions or 0) if i not in self.completed)
        self.last_failure = ""

        self.start_time = status.get("startTime") or _now()
        if status.get("startTime"):
            self.written["startTime"] = self.start_time
        elapsed = time.time() - datetime.fromisoformat(self.start_time).timestamp()
        self.deadline = (None if spec.deadline_seconds is None
                         else time.monotonic() + max(0.0, spec.deadline_seconds - elapsed))
        resumed = self._resumed_conditions()

        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return self._fail(JobReason.DEADLINE_EXCEEDED, "Job was active longer than specified deadline")
            outcome = self._launch()
            if outcome:
                return outcome
            if self._complete():
                return self._succeed()
            self._write({"startTime": self.start_time, "active": len(self.active), "ready": len(self.active),
                         **resumed, **self._counters()})
            outcome = self._next_event()
            if outcome:
                return outcome

    def _next_event(self) -> str | None:
        timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        try:
            kind, key, value = self.events.get(timeout=timeout)
        except queue.Empty:
            return None  # the deadline: the loop's first check fails the Job
        if kind.startswith("cancel:"):
            why = kind.removeprefix("cancel:")
            self._kill_all(value)
            if why == "suspended":
                return self._suspend()
            raise _Cancelled(why)
        proc = self.active.pop(key, None)
        return None if proc is None else self._exited(proc, int(value))

    def _launch(self) -> str | None:
        """Start processes up to ``parallelism``; a container that cannot start is a failed attempt."""
        while len(self.active) < self.spec.parallelism and self._work_left():
            index = self.pending.popleft() if self.spec.indexed else None
            try:
                self._spawn(index)
            except PodStartError as exc:
                self.last_failure = str(exc)
                outcome = self._count_failure(index)
                if outcome:
                    return outcome
        return None

    def _work_left(self) -> bool:
        if self.spec.indexed:
            return bool(self.pending)
        if self.spec.completions is None:  # a work queue: no new process once one has succeeded
            return self.succeeded == 0
        return self.succeeded + len(self.active) < self.spec.completions

    def _complete(self) -> bool:
        if self.active:
            return False
        if self.spec.indexed:
            return len(self.completed) >= (self.spec.completions or 0)
        if self.spec.completions is None:
            return self.succeeded > 0
        return self.succeeded >= self.spec.completions

    def _exited(self, proc: _Proc, code: int) -> str | None:
        if proc.workdir is not None:
            shutil.rmtree(proc.workdir, ignore_errors=True)
        name = self.spec.container.get("name", "")
        if code == 0:
            self.succeeded += 1
            if proc.index is not None:
                self.completed.add(proc.index)
            return None
        self.last_failure = f"pod {self.namespace}/{proc.pod}: container {name} exited with code {code}"
        rule = match_failure_rule(self.spec.policy, name, code)
        action = rule[1] if rule else "Count"
        if action == "FailJob":
            self.failed += 1
            return self._fail(JobReason.POD_FAILURE_POLICY,
                              f"Container {name} for pod {self.namespace}/{proc.pod} failed with exit code {code} "
                              f"matching FailJob rule at index {rule[0]}")  # the Job controller's wording
        if action == "Ignore":
            if proc.index is not None:
                self.pending.appendleft(proc.index)
            return None
        return self._count_failure(proc.index)

    def _count_failure(self, index: int | None) -> str | None:
        self.failed += 1
        if self.failed > self.spec.backoff_limit:
            return self._fail(JobReason.BACKOFF_LIMIT_EXCEEDED,
                              f"Job has reached the specified backoff limit (last failure: {self.last_failure})")
        if index is not None:
            self.pending.appendleft(index)
        return None

    # -- terminal writes --

    def _counters(self) -> dict[str, Any]:
        out: dict[str, Any] = {"succeeded": self.succeeded, "failed": self.failed}
        if self.spec.indexed:
            out["completedIndexes"] = format_indexes(self.completed)
        return out

    def _succeed(self) -> str:
        now = _now()
        message = "Reached expected number of succeeded pods"
        self.conditions = [*self.conditions,
                           _condition(JobCondition.SUCCESS_CRITERIA_MET, "True", JobReason.COMPLETIONS_REACHED,
                                      message, now),
                           _condition(JobCondition.COMPLETE, "True", JobReason.COMPLETIONS_REACHED, message, now)]
        self._write({"startTime": self.start_time, "active": 0, "ready": 0, **self._counters(),
                     "completionTime": max(now, self.start_time), "conditions": self.conditions})
        self.runner._done(self.uid)
        return f"Complete: {self.succeeded} succeeded, {self.failed} failed"

    def _fail(self, reason: JobReason, message: str) -> str:
        self.failed += self._kill_all(self.grace)  # the Job controller counts the pods it deletes as failed
        now = _now()
        self.conditions = [*self.conditions, _condition(JobCondition.FAILURE_TARGET, "True", reason, message, now),
                           _condition(JobCondition.FAILED, "True", reason, message, now)]
        self._write({"startTime": self.start_time, "active": 0, "ready": 0, **self._counters(),
                     "conditions": self.conditions})
        self.runner._done(self.uid)
        return f"Failed ({reason}): {message}"

    def _suspend(self) -> str:
        """``spec.suspend`` became true: processes are gone; the Job controller clears ``startTime``."""
        now = _now()
        kept = [c for c in self.conditions if c.get("type") != JobCondition.SUSPENDED]
        self.conditions = [*kept, _condition(JobCondition.SUSPENDED, "True", JobReason.JOB_SUSPENDED,
                                             "Job suspended", now)]
        status = {"startTime": None, "active": 0, "ready": 0, "conditions": self.conditions}
        try:
            self._write(status)
        except ApiException as exc:  # resumed meanwhile: startTime is immutable again, so it stays
            if exc.status != 422:
                raise
            del status["startTime"]
            self._write(status)
        self.ended_suspended = True
        return "suspended"

    def _resumed_conditions(self) -> dict[str, Any]:
        """A Job resumed after a suspension: its ``Suspended`` condition turns False."""
        if not any(c.get("type") == JobCondition.SUSPENDED and c.get("status") == "True" for c in self.conditions):
            return {}
        now = _now()
        self.conditions = [_condition(JobCondition.SUSPENDED, "False", JobReason.JOB_RESUMED, "Job resumed", now)
                           if c.get("type") == JobCondition.SUSPENDED else c for c in self.conditions]
        return {"conditions": self.conditions}

    def _kill_all(self, grace: float) -> int:
        """Kill every running process (all at once, each given ``grace``); how many there were."""
        procs = list(self.active.values())
        self.active.clear()
        for proc in procs:
            proc.send(signal.SIGTERM)
        until = time.monotonic() + grace
        for proc in procs:
            proc.kill(max(0.0, until - time.monotonic()))
            if proc.workdir is not None:
                shutil.rmtree(proc.workdir, ignore_errors=True)
        return len(procs)

    def _write(self, status: Mapping[str, Any]) -> None:
        """Patch what changed since the last write (nothing when nothing changed)."""
        changed = {k: v for k, v in status.items() if k not in self.written or self.written[k] != v}
        if not changed:
            return
        self.runner._write_status(self.namespace, self.name, changed)
        self.written.update(copy.deepcopy(changed))

    # -- one process --

    def _spawn(self, index: int | None) -> None:
        self.attempts += 1
        key = self.attempts
        suffix = f"{index}-" if index is not None else ""
        pod = f"{self.name}-{suffix}{secrets.token_hex(3)[:5]}"
        self.dir.mkdir(parents=True, exist_ok=True)
        log_path = self.dir / (f"attempt-{key}" + (f"-index-{index}" if index is not None else "") + ".log")
        with open(log_path, "ab") as log:
            try:
                argv = local_argv(self.spec.container)
                env = self._env(index, pod)
            except PodStartError as exc:
                log.write(f"pod {self.namespace}/{pod} could not start: {exc}\n".encode())
                raise PodStartError(f"pod {self.namespace}/{pod} could not start: {exc}") from None
            own = sorted(k for k, v in env.items() if self.runner.base_env.get(k) != v)
            log.write(f"# {self.namespace}/{self.name} attempt {key} pod {pod}: {argv!r}\n"
                      f"# env set by the Job (names only): {' '.join(own)}\n".encode())
            log.flush()
            workdir = Path(tempfile.mkdtemp(prefix=f"{pod}-", dir=self.runner.root / "work"))
            proc = _Proc(key, index, pod, None, workdir)
            try:
                popen = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with(os.getpid()))
            except OSError as exc:  # as a container runtime's StartError: the attempt failed with 128
                log.write(f"could not execute {argv[0]!r}: {exc.strerror}\n".encode())
                proc.exited.set()
                self.active[key] = proc
                self.events.put(("exit", key, START_ERROR_EXIT_CODE))
                return
        proc.popen = popen
        self.active[key] = proc
        threading.Thread(target=_wait_for_exit, args=(proc, popen, self.events), name=f"wait {pod}",
                         daemon=True).start()

    def _env(self, index: int | None, pod: str) -> dict[str, str]:
        """The runner's environment, then ``envFrom``, then ``env``, then ``JOB_COMPLETION_INDEX``, as kubelet."""
        env = dict(self.runner.base_env)
        read = _Reader(self.runner.client, self.namespace)
        for source in self.spec.container.get("envFrom") or []:
            kind, ref = ("secret", source["secretRef"]) if "secretRef" in source else ("configmap",
                                                                                      source.get("configMapRef"))
            if ref is None:
                continue
            data = read.data(kind, ref["name"], optional=ref.get("optional", False))
            prefix = source.get("prefix", "")
            env.update({prefix + k: v for k, v in (data or {}).items() if "=" not in k})
        for var in self.spec.container.get("env") or []:
            value = self._value(var, read, pod)
            if value is not None:
                env[var["name"]] = value
        if index is not None and all(v["name"] != "JOB_COMPLETION_INDEX" for v in self.spec.container.get("env") or []):
            env["JOB_COMPLETION_INDEX"] = str(index)
        return env

    def _value(self, var: Mapping[str, Any], read: _Reader, pod: str) -> str | None:
        source = var.get("valueFrom")
        if not source:
            return var.get("value", "")
        for kind, key in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")):
            ref = source.get(key)
            if ref is not None:
                optional = ref.get("optional", False)
                data = read.data(kind, ref["name"], optional=optional)
                if data is None:
                    return None
                if ref["key"] not in data:
                    if optional:
                        return None
                    label = "Secret" if kind == "secret" else "ConfigMap"
                    raise PodStartError(f"couldn't find key {ref['key']} in {label} {self.namespace}/{ref['name']}")
                return data[ref["key"]]
        path = (source.get("fieldRef") or {}).get("fieldPath", "")
        fields = {"metadata.name": pod, "metadata.namespace": self.namespace, "spec.nodeName": "local",
                  "spec.serviceAccountName": self.spec.pod_spec.get("serviceAccountName", "default"),
                  "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1"}
        for part in ("labels", "annotations"):
            for k, v in (self.spec.pod_meta.get(part) or {}).items():
                fields[f"metadata.{part}['{k}']"] = v
        if path in fields:
            return fields[path]
        what = f"fieldRef {path}" if path else next(iter(source), "valueFrom")
        raise PodStartError(f"env {var['name']}: {what} is not supported by the local Job runner")


class _Reader:
    """Secrets and ConfigMaps of one attempt, each read once; a missing one stops the container."""

    def __init__(self, api: _Api, namespace: str) -> None:
        self.api, self.namespace = api, namespace
        self.cache: dict[tuple[str, str], dict[str, str] | None] = {}

    def data(self, kind: str, name: str, *, optional: bool) -> dict[str, str] | None:
        if (kind, name) not in self.cache:
            self.cache[kind, name] = self.api.read_data(kind, self.namespace, name)
        data = self.cache[kind, name]
        if data is None and not optional:
            raise PodStartError(f'{kind} "{name}" not found')  # kubelet's words
        return data


def _api_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body or "{}").get("message") or str(exc.reason)
    except ValueError:
        return str(exc.body or exc.reason)


# -- the runner -----------------------------------------------------------------------------------


class LocalJobRunner:
    """Runs the dev cluster's Jobs as local processes and writes their status through the API.

    ``namespaces``: watch only these (default: all); ``label_selector``: only Jobs matching it;
    ``env``: added to every process's environment (after dropping ``KUBECONFIG``, ``DATABASE_URL``,
    ``TUSHARE_*`` and ``TSR_*`` from this process's own); ``max_parallel``: Jobs running at once.
    """

    def __init__(self, kubeconfig: str, *, namespaces: set[str] | None = None,
                 env: Mapping[str, str] = types.MappingProxyType({}), label_selector: str | None = None,
                 max_parallel: int = 2) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.kubeconfig = kubeconfig
        self.namespaces = set(namespaces) if namespaces is not None else None
        self.label_selector = label_selector
        self.max_parallel = max_parallel
        self.base_env = runner_env(env)
        self.errors: list[str] = []  # Jobs given up on: what the API server answered (a refused status write...)
        self.api: _Api | None = None
        self.root = Path()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._runs: dict[str, _JobRun] = {}
        self._queued: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()
        self._finished_uids: set[str] = set()
        self._watchers: list[_Watcher] = []
        self._started = False

    # -- lifecycle --

    def start(self) -> LocalJobRunner:
        """Start watching; return once every watched scope has been listed once."""
        if self._started or self._stopping.is_set():
            raise RuntimeError("a LocalJobRunner starts once")
        self._started = True
        try:
            self.root = Path(tempfile.mkdtemp(prefix="tsr-jobrunner-"))
            (self.root / "work").mkdir()
            self.api = _Api(self.kubeconfig)
            scopes: list[str | None] = sorted(self.namespaces) if self.namespaces is not None else [None]
            self._watchers = [_Watcher(self, scope) for scope in scopes]
            for watcher in self._watchers:
                watcher.thread.start()
            for watcher in self._watchers:
                if not watcher.synced.wait(SYNC_TIMEOUT) or watcher.fatal:
                    raise RuntimeError(f"the local Job runner could not list Jobs: {watcher.fatal or 'timed out'}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop watching, kill every running process (SIGTERM, then SIGKILL) and remove the temporary files."""
        if not self._started:
            return
        self._stopping.set()
        for watcher in self._watchers:
            watcher.interrupt()
        for watcher in self._watchers:
            watcher.thread.join()
        with self._lock:
            runs = list(self._runs.values())
            self._queued.clear()
        for run in runs:
            run.cancel(STOP_GRACE_SECONDS, "runner stopped")
        for run in runs:
            run.thread.join()
        if self.api is not None:
            self.api.close()
        shutil.rmtree(self.root, ignore_errors=True)
        self._started = False

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def client(self) -> _Api:
        if self.api is None:
            raise RuntimeError("the local Job runner is not started")
        return self.api

    def __enter__(self) -> LocalJobRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def logs(self, namespace: str, job: str) -> list[Path]:
        """The log files of a Job's attempts (stdout and stderr), oldest first; gone after ``stop()``."""
        def order(path: Path) -> tuple[int, int]:  # runs (one per Job uid) by age, then attempts by number
            return path.parent.stat().st_mtime_ns, int(path.stem.split("-")[1])

        return sorted((self.root / namespace / job).glob("*/attempt-*.log"), key=order)

    # -- what the watchers tell --

    def _observe(self, kind: str, job: Mapping[str, Any]) -> None:
        meta = job["metadata"]
        uid, namespace, name = meta["uid"], meta["namespace"], meta["name"]
        with self._lock:
            if self._stopping.is_set():
                return
            run = self._runs.get(uid)
            if kind == "DELETED" or meta.get("deletionTimestamp"):
                self._queued.pop(uid, None)
                self._finished_uids.add(uid)
                if run is not None:
                    grace = (job["spec"]["template"].get("spec") or {}).get("terminationGracePeriodSeconds")
                    run.cancel(float(DEFAULT_GRACE_SECONDS if grace is None else grace), "deleted")
                return
            if run is not None:
                if job["spec"].get("suspend"):
                    run.cancel(run.grace, "suspended")
                return
            if uid in self._finished_uids or uid in self._queued or is_finished(job) or job["spec"].get("suspend"):
                return
            self._queued[uid] = (namespace, name)
            self._dispatch()

    def _forget_missing(self, scope: str | None, present: set[str]) -> None:
        """After a re-list: Jobs deleted while the watch was down."""
        with self._lock:
            gone = [run for uid, run in self._runs.items()
                    if uid not in present and (scope is None or run.namespace == scope)]
            for uid, (namespace, _) in list(self._queued.items()):
                if uid not in present and (scope is None or namespace == scope):
                    del self._queued[uid]
        for run in gone:
            run.cancel(DEFAULT_GRACE_SECONDS, "deleted")

    def _dispatch(self) -> None:  # with self._lock held
        while self._queued and len(self._runs) < self.max_parallel and not self._stopping.is_set():
            uid, (namespace, name) = self._queued.popitem(last=False)
            run = _JobRun(self, namespace, name, uid)
            self._runs[uid] = run
            run.thread.start()

    def _finished(self, run: _JobRun) -> None:
        with self._lock:
            self._runs.pop(run.uid, None)
            self._dispatch()
        if run.ended_suspended and not self.stopping:  # it may have been resumed while its processes stopped
            try:
                job = self.client.read_job(run.namespace, run.name)
            except (ApiException, urllib3.exceptions.HTTPError) as exc:
                logger.warning("job %s/%s: could not read it back after suspending: %s", run.namespace, run.name, exc)
                return
            if job is not None:
                self._observe("MODIFIED", job)

    def _done(self, uid: str) -> None:
        with self._lock:
            self._finished_uids.add(uid)

    def _gave_up(self, message: str) -> None:
        logger.error("the local Job runner gave up on a Job: %s", message)
        with self._lock:
            self.errors.append(message)

    def _write_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Patch a Job's status; connection failures and 5xx are retried a few times, a 404 cancels the run."""
        delay = 0.2
        for attempt in range(6):
            try:
                self.client.patch_job_status(namespace, name, status)
                return
            except ApiException as exc:
                if exc.status == 404:
                    raise _Cancelled("deleted") from None
                if exc.status not in (429, 500, 502, 503, 504) or attempt == 5:
                    raise
            except urllib3.exceptions.HTTPError:
                if attempt == 5:
                    raise
            if self._stopping.wait(delay):
                raise _Cancelled("runner stopped")
            delay *= 2


class _Watcher:
    """List, then watch, the Jobs of one namespace (or all): re-list after a 410 Gone, resume after a timeout."""

    def __init__(self, runner: LocalJobRunner, namespace: str | None) -> None:
        self.runner, self.namespace = runner, namespace
        self.synced = threading.Event()
        self.fatal: str | None = None
        self.thread = threading.Thread(target=self._main, name=f"watch jobs {namespace or '*'}", daemon=True)
        self._lock = threading.Lock()
        self._response: Any = None

    def _list_call(self, **kwargs: Any) -> Any:
        batch = self.runner.client.batch
        if self.runner.label_selector:
            kwargs["label_selector"] = self.runner.label_selector
        if self.namespace is None:
            return batch.list_job_for_all_namespaces(**kwargs)
        return batch.list_namespaced_job(self.namespace, **kwargs)

    def _watch_call(self, **kwargs: Any):  # no return annotation: kubernetes' Watch would deserialize into it
        """The watch request, remembered so ``interrupt()`` can cut it."""
        response = self._list_call(**kwargs)
        with self._lock:
            self._response = response
            if self.runner._stopping.is_set():
                _shutdown(response)
        return response

    def interrupt(self) -> None:
        with self._lock:
            if self._response is not None:
                _shutdown(self._response)

    def _main(self) -> None:
        backoff = 0.5
        stopping = self.runner._stopping
        while not stopping.is_set():
            try:
                version = self._list()
                backoff = 0.5
                while not stopping.is_set():
                    version = self._watch(version)
            except ApiException as exc:
                if exc.status == 410:
                    continue  # too old: list again
                if exc.status in (401, 403) and not self.synced.is_set():
                    self.fatal = f"{exc.status} {_api_message(exc)}"
                    self.synced.set()
                    return
                logger.warning("watching Jobs (%s): %s %s; retrying", self.namespace or "all namespaces",
                               exc.status, exc.reason)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if stopping.is_set():
                    return
                logger.warning("watching Jobs (%s): %s; retrying", self.namespace or "all namespaces", exc)
            stopping.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _list(self) -> str:
        listed = _raw(self._list_call(_preload_content=False))
        items = listed.get("items") or []
        for job in items:
            self.runner._observe("ADDED", job)
        self.runner._forget_missing(self.namespace, {job["metadata"]["uid"] for job in items})
        self.synced.set()
        return listed["metadata"]["resourceVersion"]

    def _watch(self, version: str) -> str:
        """One watch until the server ends it; the resourceVersion to resume from."""
        stream = k8s_watch.Watch()
        started, seen = time.monotonic(), 0
        try:
            for event in stream.stream(self._watch_call, resource_version=version, timeout_seconds=WATCH_SECONDS,
                                       allow_watch_bookmarks=True):
                seen += 1
                obj = event["raw_object"]
                version = obj.get("metadata", {}).get("resourceVersion", version)
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self.runner._observe(event["type"], obj)
                if self.runner._stopping.is_set():
                    break
        finally:
            with self._lock:
                self._response = None
        if not seen and time.monotonic() - started < 1.0:
            self.runner._stopping.wait(1.0)  # a watch that ends at once, again and again, is not spun on
        return version


def _shutdown(response: Any) -> None:
    """Unblock a thread reading a streaming response (closing it from another thread would not)."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

