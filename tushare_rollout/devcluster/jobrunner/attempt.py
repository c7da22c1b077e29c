"""One attempt (what would be one pod): its argv, its environment, its process and its exit code.

The environment is resolved as kubelet does (``envFrom``, then ``env`` with Secret and ConfigMap keys
and ``fieldRef``, then ``JOB_COMPLETION_INDEX``); a container that cannot start raises
:class:`PodStartError`. The process runs in its own session and temporary working directory; a thread
waits for it and reports ``("exit", attempt, exit code)`` on the run's event queue.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..process import _die_with  # the same parent-death tie as the control plane's children
from .api import _Api
from .policy import _exit_code, _Spec

CLI_NAME = "tushare-rollout"
DROPPED_ENV = frozenset({"KUBECONFIG", "DATABASE_URL"})
DROPPED_ENV_PREFIXES = ("TUSHARE_", "TSR_")
START_ERROR_EXIT_CODE = 128  # what a container runtime reports when the command cannot be executed


class PodStartError(Exception):
    """The container could not start (what kubelet reports as CreateContainerConfigError)."""


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


def _start_attempt(spec: _Spec, *, api: _Api, base_env: Mapping[str, str], namespace: str, job: str, key: int,
                   index: int | None, pod: str, log_path: Path, work_root: Path, events: _Events) -> _Proc:
    """Start attempt ``key`` as pod ``pod``, its output appended to ``log_path``.

    The caller records the attempt as running, then calls :func:`_watch_exit`. A command that cannot
    be executed is an attempt that exited at once with 128 (its exit is already on ``events``).
    """
    with open(log_path, "ab") as log:
        try:
            argv = local_argv(spec.container)
            env = _attempt_env(spec, api, base_env, namespace, index, pod)
        except PodStartError as exc:
            log.write(f"pod {namespace}/{pod} could not start: {exc}\n".encode())
            raise PodStartError(f"pod {namespace}/{pod} could not start: {exc}") from None
        own = sorted(k for k, v in env.items() if base_env.get(k) != v)
        log.write(f"# {namespace}/{job} attempt {key} pod {pod}: {argv!r}\n"
                  f"# env set by the Job (names only): {' '.join(own)}\n".encode())
        log.flush()
        workdir = Path(tempfile.mkdtemp(prefix=f"{pod}-", dir=work_root))
        proc = _Proc(key, index, pod, None, workdir)
        try:
            popen = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with(os.getpid()))
        except OSError as exc:  # as a container runtime's StartError: the attempt failed with 128
            log.write(f"could not execute {argv[0]!r}: {exc.strerror}\n".encode())
            proc.exited.set()
            events.put(("exit", key, START_ERROR_EXIT_CODE))
            return proc
    proc.popen = popen
    return proc


def _watch_exit(proc: _Proc, events: _Events) -> None:
    """Wait for a started attempt in a thread of its own, which reports its exit on ``events``."""
    if proc.popen is not None:
        threading.Thread(target=_wait_for_exit, args=(proc, proc.popen, events), name=f"wait {proc.pod}",
                         daemon=True).start()


def _attempt_env(spec: _Spec, api: _Api, base_env: Mapping[str, str], namespace: str, index: int | None,
                 pod: str) -> dict[str, str]:
    """The runner's environment, then ``envFrom``, then ``env``, then ``JOB_COMPLETION_INDEX``, as kubelet."""
    env = dict(base_env)
    read = _Reader(api, namespace)
    for source in spec.container.get("envFrom") or []:
        kind, ref = ("secret", source["secretRef"]) if "secretRef" in source else ("configmap",
                                                                                  source.get("configMapRef"))
        if ref is None:
            continue
        data = read.data(kind, ref["name"], optional=ref.get("optional", False))
        prefix = source.get("prefix", "")
        env.update({prefix + k: v for k, v in (data or {}).items() if "=" not in k})
    for var in spec.container.get("env") or []:
        value = _env_value(var, read, spec, namespace, pod)
        if value is not None:
            env[var["name"]] = value
    if index is not None and all(v["name"] != "JOB_COMPLETION_INDEX" for v in spec.container.get("env") or []):
        env["JOB_COMPLETION_INDEX"] = str(index)
    return env


def _env_value(var: Mapping[str, Any], read: _Reader, spec: _Spec, namespace: str, pod: str) -> str | None:
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
                raise PodStartError(f"couldn't find key {ref['key']} in {label} {namespace}/{ref['name']}")
            return data[ref["key"]]
    path = (source.get("fieldRef") or {}).get("fieldPath", "")
    fields = {"metadata.name": pod, "metadata.namespace": namespace, "spec.nodeName": "local",
              "spec.serviceAccountName": spec.pod_spec.get("serviceAccountName", "default"),
              "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1"}
    for part in ("labels", "annotations"):
        for k, v in (spec.pod_meta.get(part) or {}).items():
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
