"""The local Job runner against the real API server: what it runs, and the Job status it stores.

Every test reads the Job back from kube-apiserver, so each status write went through the
server's strict Job status validation (the Job controller is off in this cluster).
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from tushare_rollout import __version__
from tushare_rollout.devcluster import DevCluster, LocalJobRunner

TIMEOUT = 30.0
FAIL_ON_2_AND_4 = {"rules": [
    {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [2, 4]}},
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
]}


# -- helpers --------------------------------------------------------------------------------------


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def job(name: str, argv: list[str], *, env: list[dict] | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "tushare-rollout:dev", "command": argv[:1],
                                 "args": argv[1:]}
    if env:
        container["env"] = env
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}, **spec}}


class Cluster:
    """The API as a test sees it: create objects, read Jobs back."""

    def __init__(self, devcluster: DevCluster, namespace: str) -> None:
        self.namespace = namespace
        self.api_client = k8s_config.new_client_from_config(config_file=str(devcluster.kubeconfig))
        self.batch = k8s.BatchV1Api(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)

    def create_job(self, manifest: dict[str, Any]) -> None:
        self.batch.create_namespaced_job(self.namespace, manifest, _preload_content=False)

    def create_secret(self, name: str, data: dict[str, str]) -> None:
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.core.create_namespaced_secret(
            self.namespace, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded},
            _preload_content=False)

    def read_job(self, name: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.batch.read_namespaced_job(name, self.namespace, _preload_content=False).data)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_job(self, name: str, patch: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job(name, self.namespace, patch, _content_type="application/merge-patch+json",
                                        _preload_content=False)

    def delete_job(self, name: str) -> None:
        self.batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background",
                                         _preload_content=False)


def wait_for(what: str, probe: Callable[[], Any], runner: LocalJobRunner, timeout: float = TIMEOUT) -> Any:
    """Poll ``probe`` until it returns something truthy; fail early on a Job the runner gave up on."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert not runner.errors, runner.errors
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def conditions(job: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["type"]: c for c in job["status"].get("conditions") or []}


def wait_finished(cluster: Cluster, runner: LocalJobRunner, name: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        found = cluster.read_job(name)
        cond = conditions(found) if found and found.get("status") else {}
        return found if {"Complete", "Failed"} & {t for t, c in cond.items() if c["status"] == "True"} else None

    return wait_for(f"job/{name} to finish", finished, runner)


def wait_for_pid(path: Path, runner: LocalJobRunner) -> int:
    text = wait_for(f"{path} to be written", lambda: path.is_file() and path.read_text().strip(), runner)
    return int(text)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def assert_failed(found: dict[str, Any], reason: str) -> dict[str, str]:
    cond = conditions(found)
    assert set(cond) == {"FailureTarget", "Failed"}
    assert {c["status"] for c in cond.values()} == {"True"}
    assert cond["FailureTarget"]["reason"] == cond["Failed"]["reason"] == reason
    status = found["status"]
    assert status.get("active", 0) == 0 and status.get("ready", 0) == 0
    assert "completionTime" not in status and status["startTime"]
    return cond["Failed"]


@pytest.fixture
def cluster(devcluster: DevCluster, namespace: str) -> Iterator[Cluster]:
    c = Cluster(devcluster, namespace)
    yield c
    c.api_client.close()


@pytest.fixture
def runner(devcluster: DevCluster, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalJobRunner]:
    monkeypatch.setenv("TSR_MUST_NOT_LEAK", "runner-own")
    monkeypatch.setenv("DATABASE_URL", "postgresql://runner:own@nowhere/db")
    with LocalJobRunner(str(devcluster.kubeconfig), namespaces={namespace}, env={"FROM_RUNNER": "r"}) as r:
        yield r


# -- tests ----------------------------------------------------------------------------------------


def test_job_completes_with_env_from_a_secret(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    cluster.create_secret("tok", {"token": "s3cr3t-token-value"})
    out = tmp_path / "out.json"
    code = ("import json, os, pathlib; pathlib.Path(%r).write_text(json.dumps({k: os.environ.get(k) for k in "
            "('TOKEN', 'PLAIN', 'FROM_RUNNER', 'DATABASE_URL', 'TSR_MUST_NOT_LEAK', 'JOB_COMPLETION_INDEX')} "
            "| {'cwd': os.getcwd()}))" % str(out))
    cluster.create_job(job("ok", python(code), env=[
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "token"}}},
        {"name": "PLAIN", "value": "plain"},
        {"name": "NOPE", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "absent", "optional": True}}},
    ]))

    found = wait_finished(cluster, runner, "ok")

    cond = conditions(found)
    assert list(cond) == ["SuccessCriteriaMet", "Complete"]
    assert all(c["status"] == "True" and c["reason"] == "CompletionsReached" for c in cond.values())
    status = found["status"]
    assert status["succeeded"] == 1 and status.get("failed", 0) == 0
    assert status.get("active", 0) == 0 and status.get("ready", 0) == 0
    assert status["startTime"] <= status["completionTime"]
    seen = json.loads(out.read_text())
    assert seen.pop("cwd") != str(Path.cwd())
    assert seen == {"TOKEN": "s3cr3t-token-value", "PLAIN": "plain", "FROM_RUNNER": "r", "DATABASE_URL": None,
                    "TSR_MUST_NOT_LEAK": None, "JOB_COMPLETION_INDEX": None}


def test_pod_failure_policy_fails_the_job_at_once(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    attempts = tmp_path / "attempts"
    cluster.create_job(job("gate", python(f"open({str(attempts)!r}, 'a').write('x\\n'); raise SystemExit(2)"),
                           backoffLimit=6, podFailurePolicy=FAIL_ON_2_AND_4))

    found = wait_finished(cluster, runner, "gate")

    failed = assert_failed(found, "PodFailurePolicy")
    assert "exit code 2" in failed["message"] and "FailJob rule at index 0" in failed["message"]
    assert found["status"]["failed"] == 1
    assert attempts.read_text() == "x\n"


def test_backoff_limit_retries_then_fails(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    attempts = tmp_path / "attempts"
    cluster.create_job(job("flaky", python(f"open({str(attempts)!r}, 'a').write('x\\n'); raise SystemExit(3)"),
                           backoffLimit=1, podFailurePolicy=FAIL_ON_2_AND_4))

    found = wait_finished(cluster, runner, "flaky")

    failed = assert_failed(found, "BackoffLimitExceeded")
    assert "exited with code 3" in failed["message"]
    assert found["status"]["failed"] == 2
    assert attempts.read_text() == "x\nx\n"


def test_ignored_failure_is_retried_without_counting(cluster: Cluster, runner: LocalJobRunner,
                                                     tmp_path: Path) -> None:
    marker = tmp_path / "tried"
    code = f"import pathlib, sys; m = pathlib.Path({str(marker)!r}); sys.exit(0 if m.exists() else m.touch() or 5)"
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [5]}}]}
    cluster.create_job(job("ignored", python(code), backoffLimit=0, podFailurePolicy=policy))

    found = wait_finished(cluster, runner, "ignored")

    assert conditions(found)["Complete"]["status"] == "True"
    assert found["status"]["succeeded"] == 1 and found["status"].get("failed", 0) == 0


def test_active_deadline_kills_the_process(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    cluster.create_job(job("slow", ["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], activeDeadlineSeconds=2))
    pid = wait_for_pid(pid_file, runner)

    found = wait_finished(cluster, runner, "slow")

    failed = assert_failed(found, "DeadlineExceeded")
    assert "deadline" in failed["message"]
    assert found["status"]["failed"] == 1  # the killed pod counts, as with the Job controller
    assert gone(pid)


def test_indexed_job_runs_each_index_once(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    code = (f"import os; open(os.path.join({str(tmp_path)!r}, 'idx-' + os.environ['JOB_COMPLETION_INDEX']), 'a')"
            ".write('x')")
    cluster.create_job(job("shards", python(code), completionMode="Indexed", completions=3, parallelism=2))

    found = wait_finished(cluster, runner, "shards")

    assert conditions(found)["Complete"]["status"] == "True"
    assert found["status"]["completedIndexes"] == "0-2" and found["status"]["succeeded"] == 3
    assert {p.name: p.read_text() for p in tmp_path.glob("idx-*")} == {"idx-0": "x", "idx-1": "x", "idx-2": "x"}


def test_project_cli_runs_locally(cluster: Cluster, runner: LocalJobRunner) -> None:
    cluster.create_job(job("version", ["tushare-rollout", "version"]))

    found = wait_finished(cluster, runner, "version")

    assert conditions(found)["Complete"]["status"] == "True", found["status"]
    [log] = runner.logs(cluster.namespace, "version")
    text = log.read_text()
    assert f"'{sys.executable}', '-m', 'tushare_rollout', 'version'" in text
    assert f"tushare-rollout {__version__}" in text


def test_deleted_job_has_its_process_killed(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    cluster.create_job(job("doomed", python(
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)")))
    pid = wait_for_pid(pid_file, runner)
    running = wait_for("active: 1", lambda: (j := cluster.read_job("doomed")) and j["status"].get("active") and j,
                       runner)
    assert running["status"]["active"] == 1 and running["status"]["ready"] == 1 and running["status"]["startTime"]
    assert not running["status"].get("conditions")
    assert not gone(pid)

    cluster.delete_job("doomed")

    wait_for(f"pid {pid} to be killed", lambda: gone(pid), runner, timeout=15)
    assert cluster.read_job("doomed") is None


def test_suspend_and_resume(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path) -> None:
    pid_file, marker = tmp_path / "pid", tmp_path / "ran"
    cluster.create_job(job("pausable", ["sh", "-c", f"[ -f {marker} ] && exit 0; touch {marker}; "
                                                    f"echo $$ > {pid_file}; exec sleep 30"]))
    pid = wait_for_pid(pid_file, runner)

    cluster.patch_job("pausable", {"spec": {"suspend": True}})

    suspended = wait_for("Suspended", lambda: (j := cluster.read_job("pausable"))
                         and "Suspended" in conditions(j) and j, runner)
    assert conditions(suspended)["Suspended"]["status"] == "True"
    assert "startTime" not in suspended["status"] and suspended["status"].get("active", 0) == 0
    assert gone(pid)

    cluster.patch_job("pausable", {"spec": {"suspend": False}})
    found = wait_finished(cluster, runner, "pausable")

    cond = conditions(found)
    assert cond["Complete"]["status"] == "True"
    assert cond["Suspended"]["status"] == "False" and cond["Suspended"]["reason"] == "JobResumed"


def test_missing_secret_fails_the_job_and_names_it(cluster: Cluster, runner: LocalJobRunner, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cluster.create_secret("db", {"url": "postgresql://u:hunter2-password@db/x"})
    ran = tmp_path / "ran"
    cluster.create_job(job("nosecret", python(f"open({str(ran)!r}, 'w')"), backoffLimit=1, env=[
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "TUSHARE_TOKEN", "valueFrom": {"secretKeyRef": {"name": "tushare-token", "key": "token"}}},
    ]))

    found = wait_finished(cluster, runner, "nosecret")

    failed = assert_failed(found, "BackoffLimitExceeded")
    assert 'secret "tushare-token" not found' in failed["message"]
    assert found["status"]["failed"] == 2
    assert not ran.exists()
    logs = runner.logs(cluster.namespace, "nosecret")
    assert len(logs) == 2
    texts = [p.read_text() for p in logs] + [caplog.text, json.dumps(found)]
    assert all("tushare-token" in t for t in texts[:2])
    assert not any("hunter2" in t for t in texts)


def test_watch_resumes_after_its_connection_drops(cluster: Cluster, runner: LocalJobRunner,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    [watcher] = runner._watchers
    wait_for("the watch to be connected", lambda: watcher._response is not None, runner)
    watcher.interrupt()  # cut the watch's connection, as a network failure would
    cluster.create_job(job("after", python("pass")))

    found = wait_finished(cluster, runner, "after")

    assert conditions(found)["Complete"]["status"] == "True"
    assert "watching Jobs" in caplog.text and "retrying" in caplog.text


def test_cluster_wide_runner_takes_only_selected_jobs(devcluster: DevCluster, cluster: Cluster) -> None:
    selected = job("selected", python("pass"))
    selected["metadata"]["labels"] = {"jobrunner-test": cluster.namespace}
    cluster.create_job(job("other", python("pass")))
    cluster.create_job(selected)

    with LocalJobRunner(str(devcluster.kubeconfig), label_selector=f"jobrunner-test={cluster.namespace}") as runner:
        found = wait_finished(cluster, runner, "selected")

    assert conditions(found)["Complete"]["status"] == "True"
    other = cluster.read_job("other")
    assert other is not None and not other.get("status", {}).get("startTime")
