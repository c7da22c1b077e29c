"""The end-to-end test bed: the real kube-apiserver, real PostgreSQL, the local Tushare server, the
local Job runner standing in for kubelet, and the operator running as its own process.

``bed`` is everything but the operator (a test may install the Helm chart first, and run the operator
as the chart's ServiceAccount); ``stack`` is the bed with the operator started as the cluster admin.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster import DevCluster
from tushare_rollout.devcluster.jobrunner import LocalJobRunner
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import FAST_CLIENT

ROOT = Path(__file__).parents[2]
EXAMPLE = yaml.safe_load((ROOT / "docs" / "examples" / "rolloutbatch.yaml").read_text())
WINDOW = {"backfillStart": "20240102", "backfillEnd": "20240131"}
WAIT = "300s"


@dataclass
class Stack:
    cluster: DevCluster
    namespace: str
    url: str
    engine: Engine
    operator_env: dict[str, str]
    log: Path
    operator: subprocess.Popen | None = None

    def start_operator(self, kubeconfig: str | None = None) -> None:
        """The operator as its own process, as the cluster admin or as whoever ``kubeconfig`` names."""
        if kubeconfig is not None:
            self.operator_env = {**self.operator_env, "KUBECONFIG": kubeconfig}
        self.operator = start_operator(self.operator_env, self.log)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl("-n", self.namespace, *args, input=input, check=check)

    def apply(self, name: str, **spec: object) -> None:
        body = json.loads(json.dumps(EXAMPLE))
        body["metadata"] = {"name": name}
        body["spec"]["universe"] = {**body["spec"]["universe"], **WINDOW}
        for key, value in spec.items():
            body["spec"][key] = {**body["spec"].get(key, {}), **value} if isinstance(value, dict) else value
        self.kubectl("apply", "-f", "-", input=json.dumps(body))

    def patch(self, name: str, spec: dict) -> None:
        self.kubectl("patch", f"rb/{name}", "--type", "merge", "-p", json.dumps({"spec": spec}))

    def get(self, name: str) -> dict:
        return json.loads(self.kubectl("get", f"rb/{name}", "-o", "json").stdout)

    def wait(self, name: str, condition: str, value: str = "true") -> None:
        done = self.kubectl("wait", f"rb/{name}", f"--for=condition={condition}={value}", f"--timeout={WAIT}",
                            check=False)
        assert done.returncode == 0, (done.stderr, json.dumps(self.get(name).get("status"), indent=1)[-3000:],
                                      self.log.read_text()[-3000:])

    def wait_for(self, name: str, jsonpath: str, value: str) -> None:
        """Until ``{jsonpath}`` of the object reads ``value``; on timeout, fail showing its status."""
        done = self.kubectl("wait", f"rb/{name}", f"--for=jsonpath={{{jsonpath}}}={value}", f"--timeout={WAIT}",
                            check=False)
        assert done.returncode == 0, (done.stderr, json.dumps(self.get(name).get("status"), indent=1)[-4000:],
                                      self.log.read_text()[-2000:])

    def jobs(self, name: str) -> list[str]:
        out = self.kubectl("get", "jobs", "-l", f"tushare-rollout.io/rolloutbatch={name}", "-o",
                           "jsonpath={.items[*].metadata.name}").stdout.split()
        return sorted(out)

    def sql(self, statement: str) -> list:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.all() if result.returns_rows else []

    def restart_operator(self) -> None:
        self.operator.send_signal(signal.SIGKILL)
        self.operator.wait(timeout=30)
        self.operator = start_operator(self.operator_env, self.log)

    def reconciles(self, log: Path) -> int:
        return sum("reconciled rolloutbatch=" in line for line in log.read_text().splitlines())


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as kubelet stops a Pod; SIGKILL if it does not exit within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def start_operator(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "tushare_rollout", "operator"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


@pytest.fixture
def bed(devcluster: DevCluster, crd: None, tushare: LocalTushareServer, tmp_path: Path) -> Iterator[Stack]:
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    db = f"e2e_{uuid.uuid4().hex[:8]}"
    url = devcluster.postgres.create_database(db).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)  # so a test can seed data before phase A's migrate Job (which is idempotent)
    devcluster.kubectl("create", "namespace", namespace)
    secrets = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": n}, "stringData": data}
               for n, data in (("tushare-rollout-db", {"url": url}), ("tushare-rollout-token", {"token": "demo:all"}))]
    # through stdin: a secret on a command line shows in the process list and in a failed command's message
    devcluster.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                              "items": secrets}))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TSR_", "DATABASE_URL", "TUSHARE_"))}
    env = {**base, **devcluster.env(), "DATABASE_URL": url, "TSR_IMAGE": "tushare-rollout:local",
           "TSR_TUSHARE_API_URL": tushare.url, "TSR_NAMESPACES": json.dumps([namespace]), "TSR_LIVENESS_PORT": "0",
           "TSR_RESYNC_SECONDS": "5"}
    log = tmp_path / "operator.log"
    runner = LocalJobRunner(devcluster.env()["KUBECONFIG"], namespaces={namespace},
                            env={**FAST_CLIENT, "TSR_TERMINATION_LOG": os.devnull})
    runner.start()
    s = Stack(devcluster, namespace, url, engine, env, log)
    try:
        yield s
    finally:
        if s.operator is not None:
            stop(s.operator)
        runner.stop()
        devcluster.kubectl("delete", "namespace", namespace, "--wait=false")
        engine.dispose()
        devcluster.postgres.drop_database(db)


@pytest.fixture
def stack(bed: Stack) -> Stack:
    bed.start_operator()
    return bed
