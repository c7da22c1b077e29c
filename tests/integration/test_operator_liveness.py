"""The operator's liveness endpoint, with the real ``tushare-rollout operator`` process against the real
kube-apiserver: ``/healthz`` answers once the operator is up, and nothing answers once it has stopped."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tushare_rollout.devcluster import DevCluster
from tushare_rollout.devcluster.process import ManagedProcess, free_port

STARTUP_TIMEOUT = 15.0  # imports and kopf's startup take 2-4 s on the 2-core machine


def healthz(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def operator(devcluster: DevCluster, namespace: str, crd: None, tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    """``tushare-rollout operator`` watching ``namespace``, its liveness endpoint on a free port; stopped after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TSR_", "TUSHARE_")) and k not in ("DATABASE_URL", "KUBECONFIG")}
    env |= {"KUBECONFIG": str(devcluster.kubeconfig), "PATH": devcluster.path(), "TSR_IMAGE": "tushare-rollout:test",
            "TSR_NAMESPACES": json.dumps([namespace]), "TSR_LIVENESS_PORT": str(port)}
    process = ManagedProcess("operator", [sys.executable, "-m", "tushare_rollout", "operator"],
                             tmp_path / "operator.log", env=env).start()
    try:
        yield process, f"http://127.0.0.1:{port}/healthz"
    finally:
        process.stop()


def test_healthz_answers_while_the_operator_runs_and_not_after_it_stopped(
        operator: tuple[ManagedProcess, str]) -> None:
    process, url = operator
    # kopf serves /healthz only after the startup handlers finished: answering means the operator is up
    process.wait_ready(lambda: healthz(url), timeout=STARTUP_TIMEOUT)
    response = httpx.get(url, timeout=2)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict)  # kopf's probe results, one key per @kopf.on.probe handler

    process.stop()
    assert process.proc.returncode == 0, process.log_tail()  # SIGTERM is a clean shutdown
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
