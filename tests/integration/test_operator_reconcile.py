"""The reconcile edge against the real kube-apiserver (no database): the Jobs it creates are valid
and ours, a stranger holding a Job's name is never adopted, status is written once and only on change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import config
from prometheus_client import REGISTRY

from tushare_rollout.devcluster import DevCluster
from tushare_rollout.operator.reconcile import CONFLICT_RETRY_SECONDS, Reconciler
from tushare_rollout.operator.settings import OperatorSettings

ROOT = Path(__file__).parents[2]


@pytest.fixture
def reconciler(devcluster: DevCluster, crd: None) -> Reconciler:
    api = config.new_client_from_config(config_file=devcluster.env()["KUBECONFIG"])
    return Reconciler(api, None, OperatorSettings(image="tushare-rollout:test", database_url=None, lease_name=""))


def apply_example(cluster: DevCluster, namespace: str) -> None:
    cluster.kubectl("-n", namespace, "apply", "-f", str(ROOT / "docs" / "examples" / "rolloutbatch.yaml"))


def test_the_first_job_is_valid_owned_labelled_and_takes_its_secrets_by_reference(devcluster: DevCluster,
                                                                                  namespace: str,
                                                                                  reconciler: Reconciler) -> None:
    apply_example(devcluster, namespace)
    outcome = reconciler.reconcile(namespace, "p0")
    assert [r.name for r in outcome.plan.create] == ["p0-a-migrate-1"]
    job = json.loads(devcluster.kubectl("-n", namespace, "get", "job/p0-a-migrate-1", "-o", "json").stdout)
    rb = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)
    assert job["metadata"]["ownerReferences"][0]["uid"] == rb["metadata"]["uid"]
    assert job["metadata"]["labels"]["tushare-rollout.io/step"] == "migrate"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["tushare-rollout"] and container["args"] == ["job", "migrate"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "tushare-rollout-db", "key": "url"}
    assert "value" not in env["TUSHARE_TOKEN"] and env["TSR_ROLLOUT_BATCH"]["value"] == f"{namespace}/p0"
    assert job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] == [2, 4]
    assert rb["status"]["phases"]["A"]["jobs"][0]["name"] == "p0-a-migrate-1"
    assert rb["status"]["phases"]["A"]["jobs"][0]["state"] == "Created"
    seen = reconciler.reconcile(namespace, "p0")  # the Job is now observed: recorded as active, nothing created
    assert seen.plan.create == []
    version = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)["metadata"][
        "resourceVersion"]
    reconciler.reconcile(namespace, "p0")  # nothing changed since: no status write at all
    after = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)
    assert after["metadata"]["resourceVersion"] == version
    jobs = devcluster.kubectl("-n", namespace, "get", "jobs", "-o", "name").stdout.split()
    assert jobs == ["job.batch/p0-a-migrate-1"]


def test_a_stranger_holding_a_jobs_name_is_never_adopted(devcluster: DevCluster, namespace: str,
                                                         reconciler: Reconciler) -> None:
    stranger = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "p0-a-migrate-1"},
                "spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "busybox"}]}}}}
    devcluster.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(stranger))
    apply_example(devcluster, namespace)
    reconciler.reconcile(namespace, "p0")
    job = json.loads(devcluster.kubectl("-n", namespace, "get", "job/p0-a-migrate-1", "-o", "json").stdout)
    assert "ownerReferences" not in job["metadata"] and job["spec"]["template"]["spec"]["containers"][0]["name"] == "c"
    events = json.loads(devcluster.kubectl("-n", namespace, "get", "events", "-o", "json").stdout)["items"]
    taken = [e for e in events if e["reason"] == "JobNameTaken"]
    assert taken and "is not this RolloutBatch's" in taken[0]["message"]
    assert taken[0]["involvedObject"]["name"] == "p0" and taken[0]["type"] == "Warning"


def test_p2_subflags_without_p2_are_shown_not_effective_with_the_reason(devcluster: DevCluster, namespace: str,
                                                                        reconciler: Reconciler) -> None:
    body = yaml.safe_load((ROOT / "docs" / "examples" / "rolloutbatch.yaml").read_text())
    body["spec"]["flags"].update(p2Enabled=False, p2RealtimeIndexV1=True, p2FuturesMicrostructureV1=True)
    devcluster.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(body))
    reconciler.reconcile(namespace, "p0")
    rb = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)
    flags = {f["flag"]: f for f in rb["status"]["effectiveFlags"]}
    for name in ("p2RealtimeIndexV1", "p2FuturesMicrostructureV1"):
        assert (flags[name]["set"], flags[name]["effective"]) == (True, False)
        assert "p2Enabled" in flags[name]["reason"]
    assert (flags["p0Enabled"]["effective"], flags["p2RealtimeEquityEtfV1"]["set"]) == (True, False)
    shown = devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o",
                               "jsonpath={.status.effectiveFlags[?(@.flag=='p2RealtimeIndexV1')].reason}").stdout
    assert "p2Enabled" in shown


def test_each_reconcile_is_counted_and_the_conditions_are_published(devcluster: DevCluster, namespace: str,
                                                                    reconciler: Reconciler) -> None:
    def sample(metric: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(metric, labels) or 0.0

    before = sample("tushare_rollout_reconciles_total", outcome="decided")
    created = sample("tushare_rollout_jobs_created_total", step="migrate")
    apply_example(devcluster, namespace)
    reconciler.reconcile(namespace, "p0")
    assert sample("tushare_rollout_reconciles_total", outcome="decided") == before + 1
    assert sample("tushare_rollout_jobs_created_total", step="migrate") == created + 1
    condition = {"namespace": namespace, "name": "p0", "type": "Stalled"}
    assert REGISTRY.get_sample_value("tushare_rollout_rolloutbatch_condition", condition) == 0.0
    devcluster.kubectl("-n", namespace, "delete", "rb/p0", "--wait=false")
    devcluster.kubectl("-n", namespace, "patch", "rb/p0", "--type=merge", "-p", '{"metadata":{"finalizers":null}}',
                       check=False)
    devcluster.kubectl("-n", namespace, "wait", "rb/p0", "--for=delete", "--timeout=30s")
    gone = sample("tushare_rollout_reconciles_total", outcome="gone")
    reconciler.reconcile(namespace, "p0")
    assert sample("tushare_rollout_reconciles_total", outcome="gone") == gone + 1
    assert REGISTRY.get_sample_value("tushare_rollout_rolloutbatch_condition", condition) is None


def test_a_status_write_that_loses_a_race_is_decided_again_soon(devcluster: DevCluster, namespace: str,
                                                               reconciler: Reconciler) -> None:
    class Raced(Reconciler):
        """Someone (here: kubectl) writes the object between the reconciler's read and its status write."""

        def _apply(self, rb: dict, plan, jobs: list[dict], uid: str) -> bool:
            devcluster.kubectl("-n", namespace, "annotate", "rb/p0", "example.com/touched=yes", "--overwrite")
            return super()._apply(rb, plan, jobs, uid)

    apply_example(devcluster, namespace)
    raced = Raced(reconciler.api, None, reconciler.settings)
    outcome = raced.reconcile(namespace, "p0")
    assert (outcome.note, outcome.requeue_after) == ("status conflict", CONFLICT_RETRY_SECONDS)
    rb = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)
    assert "status" not in rb or not rb["status"].get("phases")  # the stale write was refused
    again = reconciler.reconcile(namespace, "p0")  # the retry reads the fresh object and writes
    assert again.note == "" and again.plan.create == []  # the Job from the first try exists: not created twice
    rb = json.loads(devcluster.kubectl("-n", namespace, "get", "rb/p0", "-o", "json").stdout)
    assert rb["status"]["phases"]["A"]["jobs"][0]["name"] == "p0-a-migrate-1"
