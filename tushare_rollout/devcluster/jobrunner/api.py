"""The few kube-apiserver calls the runner makes, on plain dicts (the API's own field names)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

MERGE_PATCH = "application/merge-patch+json"


def _raw(response: Any) -> dict[str, Any]:
    return json.loads(response.data)


class _Api:
    """The few calls the runner makes, on plain dicts (the API's own field names)."""

    def __init__(self, kubeconfig: str) -> None:
        self.client = k8s_config.new_client_from_config(config_file=kubeconfig)
        self.batch = k8s.BatchV1Api(self.client)
        self.core = k8s.CoreV1Api(self.client)

    def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return _raw(self.batch.read_namespaced_job(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_job_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.batch.patch_namespaced_job_status(name, namespace, {"status": dict(status)},
                                               _content_type=MERGE_PATCH, _preload_content=False)

    def read_data(self, kind: str, namespace: str, name: str) -> dict[str, str] | None:
        """A Secret's (decoded) or ConfigMap's data; ``None`` when it does not exist."""
        read = self.core.read_namespaced_secret if kind == "secret" else self.core.read_namespaced_config_map
        try:
            obj = _raw(read(name, namespace, _preload_content=False))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = obj.get("data") or {}
        if kind == "secret":
            return {k: base64.b64decode(v).decode("utf-8", "surrogateescape") for k, v in data.items()}
        return dict(data)

    def close(self) -> None:
        self.client.close()


def _api_message(exc: ApiException) -> str:
    try:
        return json.loads(exc.body or "{}").get("message") or str(exc.reason)
    except ValueError:
        return str(exc.body or exc.reason)
