"""kube-controller-manager really runs: namespaces finish deleting, orphans are garbage-collected."""

from __future__ import annotations

import json
import uuid

from tushare_rollout.devcluster import DevCluster


def configmap(name: str, namespace: str, owner: dict | None = None) -> str:
    meta: dict = {"name": name, "namespace": namespace}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}})


def test_namespace_deletion_completes(devcluster: DevCluster) -> None:
    name = f"t-del-{uuid.uuid4().hex[:8]}"
    devcluster.kubectl("create", "namespace", name)
    devcluster.kubectl("apply", "-f", "-", input=configmap("content", name))
    devcluster.kubectl("delete", "namespace", name, "--wait=true", "--timeout=120s")
    gone = devcluster.kubectl("get", "namespace", name, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_dependent_of_deleted_owner_is_garbage_collected(devcluster: DevCluster, namespace: str) -> None:
    devcluster.kubectl("apply", "-f", "-", input=configmap("owner", namespace))
    owner = json.loads(devcluster.kubectl("get", "configmap", "owner", "-n", namespace, "-o", "json").stdout)
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    devcluster.kubectl("apply", "-f", "-", input=configmap("dependent", namespace, ref))
    devcluster.kubectl("apply", "-f", "-", input=configmap("bystander", namespace))

    devcluster.kubectl("delete", "configmap", "owner", "-n", namespace, "--cascade=background")
    devcluster.kubectl("wait", "--for=delete", "configmap/dependent", "-n", namespace, "--timeout=120s")

    left = json.loads(devcluster.kubectl("get", "configmaps", "-n", namespace, "-o", "json").stdout)
    names = {item["metadata"]["name"] for item in left["items"]}
    assert "dependent" not in names and "owner" not in names
    assert "bystander" in names


def test_object_created_with_a_dangling_owner_is_collected(devcluster: DevCluster, namespace: str) -> None:
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": str(uuid.uuid4())}
    devcluster.kubectl("apply", "-f", "-", input=configmap("orphan", namespace, ghost))
    devcluster.kubectl("wait", "--for=delete", "configmap/orphan", "-n", namespace, "--timeout=120s")
    gone = devcluster.kubectl("get", "configmap", "orphan", "-n", namespace, check=False)
    assert "NotFound" in gone.stderr
