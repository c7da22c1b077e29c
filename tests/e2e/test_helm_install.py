"""The Helm chart, installed for real with the pinned `helm` into the dev cluster: its migrate hook runs
(through the local Job runner), its objects exist, its Pods meet the "restricted" Pod Security profile,
`kubectl auth can-i` shows its RBAC is no more than the operator needs — and the operator, running as
the chart's ServiceAccount (a token from the TokenRequest API), takes a RolloutBatch through A and B.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tushare_rollout.db import migrate
from tushare_rollout.devcluster import DevCluster
from tushare_rollout.operator.manifests import build_job
from tushare_rollout.operator.model import JobRequest
from tushare_rollout.operator.vocabulary import Phase, Step

from bed import ROOT, Stack

CHART = ROOT / "charts" / "tushare-rollout"
RELEASE = "tsr"
OPERATOR_SA, JOBS_SA = "tsr-tushare-rollout", "tsr-tushare-rollout-job"


def helm(cluster: DevCluster, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["helm", *args], env=cluster.env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def render(cluster: DevCluster, *values: str, namespace: str = "data") -> list[dict]:
    out = helm(cluster, "template", RELEASE, str(CHART), "--namespace", namespace, "--kube-version", "1.36.3",
               *[a for v in values for a in ("--set", v)]).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def can_i(cluster: DevCluster, who: str, *args: str) -> bool:
    done = cluster.kubectl("auth", "can-i", *args, f"--as={who}", check=False)
    assert done.stdout.strip() in ("yes", "no"), done.stderr
    return done.stdout.strip() == "yes"


def token_kubeconfig(cluster: DevCluster, namespace: str, account: str, path: Path) -> str:
    """A kubeconfig that authenticates as ``account`` with a token from the TokenRequest API."""
    token = cluster.kubectl("-n", namespace, "create", "token", account, "--duration=1h").stdout.strip()
    config = yaml.safe_load(Path(cluster.env()["KUBECONFIG"]).read_text())
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return str(path)


def test_the_chart_lints_and_carries_the_crd_unchanged(devcluster: DevCluster) -> None:
    helm(devcluster, "lint", "--strict", str(CHART), "--kube-version", "1.36.3")
    assert (CHART / "crds" / "rolloutbatch.yaml").read_bytes() == (ROOT / "crds" / "rolloutbatch.yaml").read_bytes()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(values) == set(schema["properties"])  # every key is declared (and described) in the schema


def test_every_rendering_is_namespaced_as_asked_and_never_holds_a_secret_value(devcluster: DevCluster) -> None:
    for values in ([], ["watch.clusterWide=true", "networkPolicy.enabled=true", "serviceMonitor.enabled=true"],
                   ["watch.namespaces={a,b}", "networkPolicy.enabled=true"]):
        docs = render(devcluster, *values)
        kinds = [d["kind"] for d in docs]
        assert "Secret" not in kinds and kinds.count("Deployment") == 1
        roles = [d for d in docs if d["kind"] in ("Role", "ClusterRole")]
        for role in roles:
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"]
                assert not {"secrets", "configmaps", "pods"} & set(rule["resources"])
    cluster_wide = render(devcluster, "watch.clusterWide=true")
    assert {d["metadata"]["name"] for d in cluster_wide if d["kind"] == "ClusterRole"} == \
        {f"{RELEASE}-tushare-rollout", f"{RELEASE}-tushare-rollout-discovery"}
    spread = render(devcluster, "watch.namespaces={a,b}", namespace="ops")
    assert sorted(d["metadata"]["namespace"] for d in spread if d["kind"] == "Role") == ["a", "b", "ops"]
    env = {e["name"]: e for e in next(d for d in spread if d["kind"] == "Deployment")
           ["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert json.loads(env["TSR_NAMESPACES"]["value"]) == ["a", "b"] and env["TSR_LEASE_NAMESPACE"]["value"] == "ops"
    assert "value" not in env["DATABASE_URL"]


def test_the_pods_meet_the_restricted_pod_security_profile(devcluster: DevCluster, namespace: str) -> None:
    devcluster.kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}}
    devcluster.kubectl("apply", "-f", "-", input=json.dumps(account))  # no serviceaccount controller runs here
    docs = render(devcluster, namespace=namespace)
    templates = [d["spec"]["template"] for d in docs if d["kind"] in ("Deployment", "Job")]
    assert len(templates) == 2  # the operator and the migrate hook
    rb = {"metadata": {"name": "p0", "namespace": namespace, "uid": "u"}, "spec": {}}
    request = JobRequest("p0-b-ingest-1", Phase.B, Step.INGEST, 1, ("job", "ingest"))
    templates.append(build_job(rb, request, image="tushare-rollout:local")["spec"]["template"])  # the operator's
    for template in templates:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": namespace},
               "spec": {**template["spec"], "serviceAccountName": "default"}}
        done = devcluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
        assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    loose = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loose", "namespace": namespace},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    refused = devcluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(loose), check=False)
    assert refused.returncode != 0 and "restricted" in refused.stderr  # the check itself bites


@pytest.mark.timeout(900)
def test_installed_with_helm_the_operator_runs_as_the_charts_service_account(bed: Stack, tmp_path: Path) -> None:
    cluster, ns = bed.cluster, bed.namespace
    migrate.downgrade(bed.engine, "base")  # the bed migrated; the chart's hook must bring it back to head
    helm(cluster, "install", RELEASE, str(CHART), "--namespace", ns, "--set", "image.repository=tushare-rollout",
         "--set", "image.tag=local", "--set", "operator.resyncSeconds=5", "--timeout", "5m")
    assert migrate.position(bed.engine).at_head  # the pre-install migrate hook ran
    for kind, name in (("deployment", "tsr-tushare-rollout"), ("serviceaccount", OPERATOR_SA),
                       ("serviceaccount", JOBS_SA), ("role", "tsr-tushare-rollout"),
                       ("rolebinding", "tsr-tushare-rollout"), ("clusterrole", "tsr-tushare-rollout-discovery")):
        cluster.kubectl("-n", ns, "get", f"{kind}/{name}")
    status = helm(cluster, "status", RELEASE, "--namespace", ns).stdout
    assert "STATUS: deployed" in status and "kubectl -n <namespace> apply -f docs/examples/rolloutbatch.yaml" in status

    operator, jobs = f"system:serviceaccount:{ns}:{OPERATOR_SA}", f"system:serviceaccount:{ns}:{JOBS_SA}"
    allowed = [("create", "jobs.batch"), ("delete", "jobs.batch"), ("create", "cronjobs.batch"),
               ("update", "rolloutbatches.tushare-rollout.io", "--subresource=status"),
               ("watch", "rolloutbatches.tushare-rollout.io"), ("create", "events"),
               ("update", "leases.coordination.k8s.io")]
    for verb, resource, *extra in allowed:
        assert can_i(cluster, operator, verb, resource, "-n", ns, *extra), (verb, resource)
    denied = [("list", "secrets", "-n", ns), ("get", "secrets", "-A"), ("create", "jobs.batch", "-n", "default"),
              ("update", "rolloutbatches.tushare-rollout.io", "-n", ns), ("create", "pods", "-n", ns),
              ("get", "configmaps", "-n", ns), ("*", "*", "-n", ns), ("create", "clusterrolebindings")]
    for verb, resource, *extra in denied:
        assert not can_i(cluster, operator, verb, resource, *extra), (verb, resource, extra)
    for verb, resource in (("get", "secrets"), ("list", "jobs.batch"), ("get", "rolloutbatches.tushare-rollout.io"),
                           ("create", "pods"), ("get", "configmaps")):
        assert not can_i(cluster, jobs, verb, resource, "-n", ns), (verb, resource)

    identity = token_kubeconfig(cluster, ns, OPERATOR_SA, tmp_path / "operator.kubeconfig")
    whoami = subprocess.run(["kubectl", "auth", "whoami", "-o", "json"], env={**cluster.env(), "KUBECONFIG": identity},
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(whoami)["status"]["userInfo"]["username"] == operator
    bed.operator_env.update(TSR_JOBS_SERVICE_ACCOUNT=JOBS_SA, TSR_LEASE_NAMESPACE=ns)  # as the Deployment says
    bed.start_operator(kubeconfig=identity)
    bed.apply("p0", targetPhase="B")
    bed.wait("p0", "Ready")
    status = bed.get("p0")["status"]
    assert (status["phases"]["A"]["state"], status["phases"]["B"]["state"]) == ("Passed", "Passed")
    cluster.kubectl("-n", ns, "get", "cronjob/p0-b-daily")
    log = bed.log.read_text()
    assert "Forbidden" not in log and not re.search(r"[^,.\d]403\D", log), log[-3000:]  # not a timestamp's ms
    helm(cluster, "uninstall", RELEASE, "--namespace", ns)
