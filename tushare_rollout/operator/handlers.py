"""kopf handlers, thin: one serialized reconcile loop per RolloutBatch, woken by its own changes,
by its Jobs' events and by a resync timer. All rules live in :mod:`.decide`; all I/O in :mod:`.reconcile`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any

import kopf
import urllib3
from kubernetes import client, config

from ..db.engine import make_engine
from . import metrics
from .lease import Lease
from .manifests import GROUP, LABEL_RB, PLURAL, VERSION
from .reconcile import Reconciler
from .settings import OperatorSettings

WAKE: dict[str, asyncio.Event] = {}  # RolloutBatch uid -> its loop's wake-up (all in kopf's event loop)
UIDS: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid of the RolloutBatches whose loop runs


def _wake(uid: str) -> asyncio.Event:
    return WAKE.setdefault(uid, asyncio.Event())


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    operator: OperatorSettings = memo["settings"]
    settings.posting.level = logging.WARNING  # Events are posted by the reconciler, one per decision
    # kopf puts this finalizer on every RolloutBatch (a @kopf.daemon always needs one) and removes it once the
    # object's loop has stopped; with no operator running, a delete waits for it (docs/05-pitfalls.md)
    settings.persistence.finalizer = "tushare-rollout.io/operator"
    # on a delete, let a reconcile in flight finish and the loop exit by itself instead of being cancelled
    # mid-reconcile (kopf's default waits 10 zero-time cycles, then cancels; the worker thread would run on)
    settings.background.instant_exit_timeout = 5.0
    settings.watching.server_timeout = 300
    api = _api_client()
    engine = make_engine(operator.database_url.get_secret_value()) if operator.database_url else None
    lease = None
    if operator.lease_name:
        namespace = operator.lease_namespace or (operator.namespaces[0] if operator.namespaces else None) \
            or os.environ.get("POD_NAMESPACE") or "default"
        identity = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        lease = Lease(api, namespace, operator.lease_name, identity, operator.lease_seconds)
    memo["lease"] = lease
    memo["reconciler"] = Reconciler(api, engine, operator, lease=lease)


@kopf.on.cleanup()
def release_lease(memo: kopf.Memo, **_: Any) -> None:
    if memo.get("lease") is not None:
        memo["lease"].release()


@kopf.on.event(GROUP, VERSION, PLURAL)
async def rolloutbatch_changed(uid: str, **_: Any) -> None:
    _wake(uid).set()


@kopf.on.event("batch", "v1", "jobs", labels={LABEL_RB: kopf.PRESENT})
async def job_changed(body: kopf.Body, namespace: str, labels: kopf.Labels, **_: Any) -> None:
    """A phase's Job (owned by the RolloutBatch) or a daily one (owned by its CronJob, found by label)."""
    owners = {ref["uid"] for ref in body.metadata.get("ownerReferences") or [] if ref.get("kind") == "RolloutBatch"}
    owners.add(UIDS.get((namespace, labels[LABEL_RB]), ""))
    for uid in owners & WAKE.keys():
        WAKE[uid].set()


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0)
async def reconcile_loop(stopped: kopf.DaemonStopped, name: str, namespace: str, uid: str, memo: kopf.Memo,
                         logger: logging.Logger, **_: Any) -> None:
    """One loop per object: reconcile (in a worker thread, only while it runs), then sleep until woken,
    the plan's requeue, or the resync. Sleeping loops hold no thread, so objects do not queue behind
    each other however many there are."""
    reconciler: Reconciler = memo["reconciler"]
    resync = memo["settings"].resync_seconds
    wake = _wake(uid)
    UIDS[(namespace, name)] = uid
    try:
        while not stopped:
            wake.clear()
            try:
                outcome = await asyncio.to_thread(reconciler.reconcile, namespace, name)
            except client.exceptions.ApiException as exc:
                logger.warning("reconcile failed: %s %s; retrying", exc.status, exc.reason)
                outcome = None
            except urllib3.exceptions.HTTPError as exc:  # the API server unreachable (restarting): not a crash
                logger.warning("reconcile failed: cannot reach the API server (%s); retrying",
                               getattr(exc, "reason", None) or exc)
                outcome = None
            if outcome is not None and outcome.note == "gone":
                return
            delay = min(outcome.requeue_after or resync, resync) if outcome else 5.0
            woken, stop = asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopped.wait())
            try:
                await asyncio.wait({woken, stop}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
                stop.cancel()
    finally:
        WAKE.pop(uid, None)
        if UIDS.get((namespace, name)) == uid:
            del UIDS[(namespace, name)]


def _api_client() -> client.ApiClient:
    """In a Pod, the ServiceAccount; elsewhere, KUBECONFIG (the same login kopf uses)."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except config.ConfigException:
        return config.new_client_from_config()


def run(settings: OperatorSettings) -> None:
    """Run the operator in the foreground (``tushare-rollout operator``) until SIGTERM or Ctrl-C."""
    memo = kopf.Memo(settings=settings)
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)
    liveness = f"http://0.0.0.0:{settings.liveness_port}/healthz" if settings.liveness_port else None
    # one acting replica is ensured by a Lease (see lease.py), not by kopf's peering: standalone
    kopf.run(standalone=True, clusterwide=not settings.namespaces, namespaces=settings.namespaces, memo=memo,
             liveness_endpoint=liveness)
