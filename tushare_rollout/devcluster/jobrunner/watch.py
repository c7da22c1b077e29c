"""List, then watch, the Jobs of one namespace (or all), and tell the runner what changed (``_Watcher``)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import urllib3
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from .api import _api_message, _raw

if TYPE_CHECKING:
    from .runner import LocalJobRunner

logger = logging.getLogger(__package__)  # the runner logs as one: tushare_rollout.devcluster.jobrunner

WATCH_SECONDS = 300  # the server ends each watch after this; it is resumed from the last resourceVersion


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
