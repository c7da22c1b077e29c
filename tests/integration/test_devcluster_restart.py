"""DevCluster.restart_apiserver(): the kube-apiserver stopped and started again on the same port, certificates
and etcd, as the control-plane drills restart it; clients keep their kubeconfig and find the same objects."""

from __future__ import annotations

import pytest
from kubernetes import client, config

from tushare_rollout.devcluster import DevCluster, DevClusterSettings


def test_a_restarted_apiserver_serves_the_same_objects_on_the_same_address(devcluster: DevCluster,
                                                                           namespace: str) -> None:
    devcluster.kubectl("-n", namespace, "create", "configmap", "kept", "--from-literal=k=v")
    api = config.new_client_from_config(config_file=str(devcluster.kubeconfig))  # its connections predate the restart
    core = client.CoreV1Api(api)
    assert core.read_namespaced_config_map("kept", namespace).data == {"k": "v"}
    server, pid = devcluster.server, devcluster.apiserver.pid
    refused: list[int] = []

    def while_down() -> None:
        refused.append(devcluster.kubectl("get", "namespaces", "--request-timeout=5s", check=False).returncode)

    devcluster.restart_apiserver(while_down, grace=1.0)
    assert refused and refused[0] != 0  # it was down
    assert devcluster.server == server and devcluster.apiserver.pid != pid
    assert devcluster.kubectl("-n", namespace, "get", "configmap", "kept", "-o", "jsonpath={.data.k}").stdout == "v"
    assert core.read_namespaced_config_map("kept", namespace).data == {"k": "v"}  # the same client, reconnected
    devcluster.kubectl("-n", namespace, "create", "configmap", "after")  # and it writes
    api.close()


def test_only_a_cluster_started_here_has_an_apiserver_to_restart() -> None:
    with pytest.raises(RuntimeError, match="only a dev cluster started here"):
        DevCluster(DevClusterSettings()).restart_apiserver()
