"""One Job's run, from its first process to its terminal status, in a thread of its own (``_JobRun``).

The run reads the Job once, then loops: fail on the deadline, start attempts up to ``parallelism``,
succeed once enough attempts succeeded, write ``active``/``ready`` and the counters, and wait for the
next event (an attempt's exit, or a cancel from the runner: deleted, suspended, runner stopped).
Every status write patches only what changed since the last one.
"""

from __future__ import annotations

import collections
import copy
import logging
import queue
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import urllib3
from kubernetes.client.exceptions import ApiException

from .api import _api_message
from .attempt import PodStartError, _Events, _Proc, _start_attempt, _watch_exit
from .policy import (
    DEFAULT_GRACE_SECONDS,
    JobCondition,
    JobReason,
    _condition,
    _now,
    _Spec,
    format_indexes,
    is_finished,
    match_failure_rule,
    parse_indexes,
)

if TYPE_CHECKING:
    from .runner import LocalJobRunner

logger = logging.getLogger(__package__)  # the runner logs as one: tushare_rollout.devcluster.jobrunner

STOP_GRACE_SECONDS = 5.0


class _Cancelled(Exception):
    pass


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
        proc = _start_attempt(self.spec, api=self.runner.client, base_env=self.runner.base_env,
                              namespace=self.namespace, job=self.name, key=key, index=index, pod=pod,
                              log_path=log_path, work_root=self.runner.root / "work", events=self.events)
        self.active[key] = proc
        _watch_exit(proc, self.events)
