"""`tushare-rollout devcluster up` and DevCluster.stop(): usable from another shell, and
stopping leaves no process and no temporary directory behind."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tushare_rollout.devcluster import DevCluster, DevClusterSettings

EXPORT = re.compile(r"^export (KUBECONFIG|DATABASE_URL|PATH)=(.+)$")


def _lines(stream) -> tuple[queue.Queue, threading.Thread]:
    """Lines of ``stream`` on a queue (``None`` at EOF), so reads can time out."""
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return q, reader


def _read_until_ready(q: queue.Queue, timeout: float = 180) -> dict[str, str]:
    exports: dict[str, str] = {}
    while True:
        line = q.get(timeout=timeout)
        assert line is not None, "devcluster up exited before printing 'ready'"
        if line == "ready":
            return exports
        match = EXPORT.match(line)
        assert match, "unexpected stdout line before 'ready' (only export lines may come first)"
        exports[match[1]] = shlex.split(match[2])[0]


def _still_running(procs: list[psutil.Process]) -> list[int]:
    """The processes that still run (a process object is tied to its start time, so a reused pid does not count)."""
    running = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                running.append(proc.pid)
        except psutil.NoSuchProcess:
            pass
    return running


def _temp_dirs_of(pid: int) -> list[Path]:
    import tempfile

    return list(Path(tempfile.gettempdir()).glob(f"tsr-devcluster-{pid}-*"))


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_devcluster_up_serves_another_shell_and_cleans_up(stop_signal: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KUBECONFIG")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tushare_rollout", "devcluster", "up"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    lines, reader = _lines(proc.stdout)
    try:
        exports = _read_until_ready(lines)
        assert set(exports) == {"KUBECONFIG", "DATABASE_URL", "PATH"}
        children = psutil.Process(proc.pid).children(recursive=True)
        names = {child.name() for child in children}
        assert {"etcd", "kube-apiserver", "kube-controller-manager", "postgres"} <= names

        # what a person does in another shell after pasting the export lines
        shell = {**env, **exports}
        ns = subprocess.run(["kubectl", "get", "namespace", "default", "-o", "name"], env=shell,
                            capture_output=True, text=True, check=True)
        assert ns.stdout.strip() == "namespace/default"
        assert Path(subprocess.run(["which", "kubectl"], env=shell, capture_output=True, text=True,
                                   check=True).stdout.strip()).parent == Path(exports["PATH"].split(":")[0])
        dsn = make_url(exports["DATABASE_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select 40 + 2").fetchone() == (42,)
        root = Path(exports["KUBECONFIG"]).parent
        assert root.is_dir()

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=30)
        proc.stdout.close()
    psutil.wait_procs(children, timeout=30)
    assert _still_running(children) == []
    assert not root.exists()
    assert _temp_dirs_of(proc.pid) == []


def test_stop_after_a_failure_inside_the_block_cleans_up() -> None:
    class Boom(Exception):
        pass

    seen: dict = {}
    with pytest.raises(Boom):
        with DevCluster.start(DevClusterSettings(database_url=None, use_existing_cluster=False)) as cluster:
            seen["procs"] = [psutil.Process(pid) for pid in cluster.pids()]
            seen["root"] = cluster.root
            assert len(seen["procs"]) == 4
            raise Boom()
    assert _still_running(seen["procs"]) == []
    assert not seen["root"].exists()
