"""The API edge of ``kubectl rolloutbatch``: connect like kubectl, get, patch and watch one RolloutBatch.

Every failure becomes a :class:`PluginError` carrying one line a person can act on (the API server's
own message where there is one, e.g. a CEL rule's) and the exit code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..operator.manifests import GROUP, PLURAL, VERSION

FIELD_MANAGER = "kubectl-rolloutbatch"
EXIT_ERROR, EXIT_USAGE = 1, 2


class PluginError(Exception):
    """One line for stderr, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class Expired(PluginError):
    """A watch's resourceVersion is too old (410 Gone): read again and watch from there."""


class RolloutBatches:
    """One namespace's RolloutBatches on one cluster."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        try:
            contexts, current = config.list_kube_config_contexts(kubeconfig)
            chosen = current if context is None else next((c for c in contexts if c.get("name") == context), None)
            if chosen is None:
                names = ", ".join(c.get("name", "?") for c in contexts) or "none"
                raise PluginError(f"context {context!r} is not in the kubeconfig {where} (it has: {names})")
            self.api = config.new_client_from_config(config_file=kubeconfig, context=context, persist_config=False)
        except ConfigException as exc:
            raise PluginError(f"cannot use the kubeconfig {where}: {exc}") from None
        self.namespace = namespace or (chosen.get("context") or {}).get("namespace") or "default"
        self.custom = client.CustomObjectsApi(self.api)

    def get(self, name: str) -> dict[str, Any]:
        with self._errors(name):
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def patch(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the main resource (never the status subresource)."""
        with self._errors(name):
            return self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, dict(body), field_manager=FIELD_MANAGER,
                _content_type="application/merge-patch+json")

    def watch(self, name: str, resource_version: str, timeout: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, object) for every change of ``name`` after ``resource_version``.

        Without ``timeout`` the stream reconnects by itself; an expired resourceVersion raises :class:`Expired`.
        """
        kwargs: dict[str, Any] = {"field_selector": f"metadata.name={name}", "resource_version": resource_version,
                                  "allow_watch_bookmarks": False}
        if timeout is not None:
            kwargs["timeout_seconds"] = max(1, timeout)
        stream = watch.Watch()
        with self._errors(name):
            for event in stream.stream(self.custom.list_namespaced_custom_object, GROUP, VERSION, self.namespace,
                                       PLURAL, **kwargs):
                yield event["type"], event["object"]

    @contextmanager
    def _errors(self, name: str) -> Iterator[None]:
        try:
            yield
        except ApiException as exc:
            if exc.status == 410:
                raise Expired(str(exc.reason)) from None
            raise PluginError(self._refusal(name, exc)) from None
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise PluginError(f"cannot reach the API server at {self.api.configuration.host}: {reason}") from None

    def _refusal(self, name: str, exc: ApiException) -> str:
        body = _status_body(exc)
        message = body.get("message") or f"{exc.status} {exc.reason}"
        if exc.status == 404:
            if (body.get("details") or {}).get("name") == name:
                return f'rolloutbatch "{name}" not found in namespace "{self.namespace}"'
            return (f"the API server does not serve {PLURAL}.{GROUP}/{VERSION} ({message}): "
                    "is the RolloutBatch CRD installed (crds/rolloutbatch.yaml)?")
        if exc.status == 409:
            return (f'rolloutbatch "{name}" changed while this command ran (someone else wrote it); '
                    "run the command again to apply it to the new state")
        return message


def _status_body(exc: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}
