"""The real kube-apiserver: structural CRDs, CEL rules, and reading objects back with the pinned kubectl."""

from __future__ import annotations

import json
import textwrap

import pytest

from tushare_rollout.devcluster import DevCluster

CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: widgets.testbed.tushare-rollout.io
    spec:
      group: testbed.tushare-rollout.io
      scope: Namespaced
      names: {plural: widgets, singular: widget, kind: Widget}
      versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [minReplicas, maxReplicas, updatedAt]
                  x-kubernetes-validations:
                    - rule: self.minReplicas <= self.maxReplicas
                      message: minReplicas must not exceed maxReplicas
                    - rule: self.updatedAt > oldSelf.updatedAt
                      message: updatedAt must move forward on every change
                  properties:
                    minReplicas: {type: integer, minimum: 0}
                    maxReplicas: {type: integer, maximum: 100}
                    updatedAt: {type: integer}
    """
)


def widget(name: str, lo: int, hi: int, updated_at: int, **extra: object) -> str:
    return json.dumps(
        {
            "apiVersion": "testbed.tushare-rollout.io/v1",
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"minReplicas": lo, "maxReplicas": hi, "updatedAt": updated_at, **extra},
        }
    )


@pytest.fixture(scope="module")
def widget_crd(devcluster: DevCluster):
    devcluster.kubectl("apply", "-f", "-", input=CRD)
    devcluster.wait_for_crd("widgets.testbed.tushare-rollout.io")
    yield
    devcluster.kubectl("delete", "crd", "widgets.testbed.tushare-rollout.io", "--wait=false")


def test_server_is_the_pinned_version(devcluster: DevCluster) -> None:
    versions = json.loads(devcluster.kubectl("version", "-o", "json").stdout)
    assert versions["serverVersion"]["gitVersion"] == versions["clientVersion"]["gitVersion"]
    assert versions["serverVersion"]["gitVersion"].startswith("v1.36.")


def test_cel_rule_rejects_with_its_message(devcluster: DevCluster, widget_crd, namespace: str) -> None:
    bad = devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("bad", 5, 2, 1), check=False)
    assert bad.returncode != 0
    assert "minReplicas must not exceed maxReplicas" in bad.stderr
    absent = devcluster.kubectl("get", "widget", "bad", "-n", namespace, check=False)
    assert "NotFound" in absent.stderr


def test_valid_object_is_stored_and_read_back(devcluster: DevCluster, widget_crd, namespace: str) -> None:
    devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("good", 1, 3, 1000))
    stored = json.loads(devcluster.kubectl("get", "widget", "good", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"] == {"minReplicas": 1, "maxReplicas": 3, "updatedAt": 1000}


def test_unknown_field_is_refused_not_silently_dropped(devcluster: DevCluster, widget_crd, namespace: str) -> None:
    typo = devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("typo", 1, 3, 1, maxReplica=9),
                              check=False)
    assert typo.returncode != 0
    assert 'unknown field "spec.maxReplica"' in typo.stderr


def test_transition_rule_sees_the_old_object(devcluster: DevCluster, widget_crd, namespace: str) -> None:
    devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("w", 1, 3, 1000))
    stale = devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("w", 1, 4, 1000), check=False)
    assert stale.returncode != 0
    assert "updatedAt must move forward on every change" in stale.stderr
    devcluster.kubectl("apply", "-n", namespace, "-f", "-", input=widget("w", 1, 4, 1001))
    stored = json.loads(devcluster.kubectl("get", "widget", "w", "-n", namespace, "-o", "json").stdout)
    assert stored["spec"]["maxReplicas"] == 4
    assert stored["spec"]["updatedAt"] == 1001
