"""`tushare-rollout devcluster up` (with and without --full), `tushare-rollout demo` and DevCluster.stop():
usable from another shell, and stopping leaves no process and no temporary directory behind."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tushare_rollout.devcluster import DevCluster, DevClusterSettings

EXPORT = re.compile(r"^export (KUBECONFIG|DATABASE_URL|PATH|TUSHARE_API_URL)=(.+)$")


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


def _clean_env() -> dict[str, str]:
    """This environment without what would point the command at another cluster or database."""
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KUBECONFIG")}


def _read_until_ready(q: queue.Queue, timeout: float = 180, stderr: Path | None = None) -> dict[str, str]:
    exports: dict[str, str] = {}
    while True:
        line = q.get(timeout=timeout)
        assert line is not None, "devcluster up exited before printing 'ready'" + (
            f"; its stderr:\n{stderr.read_text()[-3000:]}" if stderr else "")
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
    env = _clean_env()
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


def test_devcluster_up_full_serves_the_whole_stack_to_another_shell_and_cleans_up(tmp_path: Path) -> None:
    env = _clean_env()
    stderr = tmp_path / "stderr"
    with stderr.open("w") as err:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "tushare_rollout", "devcluster", "up", "--full"],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env,
        )
    lines, reader = _lines(proc.stdout)
    try:
        exports = _read_until_ready(lines, stderr=stderr)
        assert list(exports) == ["KUBECONFIG", "DATABASE_URL", "PATH", "TUSHARE_API_URL"]
        children = psutil.Process(proc.pid).children(recursive=True)
        assert {"etcd", "kube-apiserver", "kube-controller-manager", "postgres"} <= {c.name() for c in children}
        assert [c.cmdline()[-2:] for c in children if "tushare_rollout" in c.cmdline()] == [["tushare_rollout",
                                                                                            "operator"]]

        # what a person does in another shell after pasting the export lines
        shell = {**env, **exports}

        def kubectl(*args: str) -> str:
            return subprocess.run(["kubectl", *args], env=shell, capture_output=True, text=True, check=True).stdout

        assert kubectl("get", "crd", "rolloutbatches.tushare-rollout.io", "-o", "name").strip() == (
            "customresourcedefinition.apiextensions.k8s.io/rolloutbatches.tushare-rollout.io")
        assert kubectl("-n", "tushare-rollout", "get", "secret", "tushare-rollout-token", "-o", "name").strip() == (
            "secret/tushare-rollout-token")
        token = json.loads(kubectl("-n", "tushare-rollout", "get", "secret", "tushare-rollout-token", "-o", "json"))
        assert base64.b64decode(token["data"]["token"]).decode() == "demo:all"
        db = json.loads(kubectl("-n", "tushare-rollout", "get", "secret", "tushare-rollout-db", "-o", "json"))
        assert base64.b64decode(db["data"]["url"]).decode() == exports["DATABASE_URL"]  # the exported database
        dsn = make_url(exports["DATABASE_URL"]).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:  # migrated to head
            assert conn.execute("select count(*) from alembic_version").fetchone() == (1,)

        reply = httpx.post(exports["TUSHARE_API_URL"], json={
            "api_name": "trade_cal", "token": "demo:all",
            "params": {"exchange": "SSE", "start_date": "20240101", "end_date": "20240110"}}, timeout=30)
        assert reply.status_code == 200 and reply.json()["code"] == 0
        assert reply.json()["data"]["items"]
        root = Path(exports["KUBECONFIG"]).parent

        proc.send_signal(signal.SIGTERM)
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


def test_demo_rolls_the_example_out_until_ready_and_prints_the_status_matrix() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tushare_rollout", "demo", "--start", "20240102", "--end", "20240131"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(),
    )
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "status matrix (SSOT: stored rows vs calendar x listed universe)" in out
    assert "rolloutbatch tushare-rollout/all is Ready: phases A, B, C, D, E passed" in out
    assert re.search(r"│ Ready\s+│ True\s+│", out)  # the final conditions
    for job in ("all-a-migrate-1", "all-a-baseline-1", "all-a-gate-1", "all-b-ingest-1", "all-b-gate-1",
                "all-b-publish-1", "all-c-ingest-1", "all-c-gate-1", "all-c-publish-1", "all-d-probe-1",
                "all-d-ingest-1", "all-d-gate-1", "all-d-publish-1", "all-e-gate-1", "all-e-drill-1"):
        assert re.search(rf"│ {job}\s+│ [ABCDE]\s+│ \w+\s+│ Complete", out), job
    assert "phase C: CronJob all-c-daily runs `job daily`" in out
    assert re.search(r"rollback drill passed: readers lost \d+ P2 rows", out)
    assert re.search(r"│ shibor\s+│ market\s+│\s+\d+ │\s+0 │\s+0 │", out)  # P1 in the matrix, nothing missing
    # the demo token may read minute history but not realtime or premarket: those are not applicable
    assert "P2 modules (gray release)" in out
    assert re.search(r"│ rt_idx_k\s+│ denied\s+│ not_applicable: no permission", out), out[-4000:]
    assert re.search(r"│ idx_mins\s+│ granted\s+│ in force", out)
    assert _temp_dirs_of(proc.pid) == []
