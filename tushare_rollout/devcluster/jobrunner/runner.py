"""``LocalJobRunner``: its lifecycle, the queue of Jobs to run, and the status writes of every run."""

from __future__ import annotations

import collections
import logging
import shutil
import tempfile
import threading
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from .api import _Api
from .attempt import runner_env
from .policy import DEFAULT_GRACE_SECONDS, is_finished
from .run import STOP_GRACE_SECONDS, _Cancelled, _JobRun
from .watch import _Watcher

logger = logging.getLogger(__package__)  # the runner logs as one: tushare_rollout.devcluster.jobrunner

SYNC_TIMEOUT = 30.0


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
        """Patch a Job's status; a 404 cancels the run. Connection failures and 5xx are retried until the
        API server answers (or the runner stops): giving up would leave the Job active in the API, and the
        next list would run the whole Job again, as the kubelet never would."""
        delay = 0.2
        while True:
            try:
                self.client.patch_job_status(namespace, name, status)
                return
            except ApiException as exc:
                if exc.status == 404:
                    raise _Cancelled("deleted") from None
                if exc.status not in (429, 500, 502, 503, 504):
                    raise
            except urllib3.exceptions.HTTPError:
                pass
            if self._stopping.wait(delay):
                raise _Cancelled("runner stopped")
            delay = min(delay * 2, 5.0)
