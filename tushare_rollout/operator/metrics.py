"""What the operator tells Prometheus (``TSR_METRICS_PORT``): reconciles, Jobs created, and per
RolloutBatch its conditions, so an alert can say "p0 has been Stalled for an hour"."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from .model import Plan

RECONCILES = Counter("tushare_rollout_reconciles_total", "Reconciles of RolloutBatches, by outcome", ["outcome"])
RECONCILE_SECONDS = Histogram("tushare_rollout_reconcile_seconds", "Time of one reconcile (API and database)")
JOBS_CREATED = Counter("tushare_rollout_jobs_created_total", "Jobs the operator created, by step", ["step"])
CONDITION = Gauge("tushare_rollout_rolloutbatch_condition", "1 when the RolloutBatch's condition is True",
                  ["namespace", "name", "type"])
SHOWN = ("Ready", "Stalled", "Frozen", "Paused", "RolledBack")


def observed(rollout: str, plan: Plan) -> None:
    """Count a decided reconcile and publish the object's conditions (``rollout`` is namespace/name)."""
    namespace, name = rollout.split("/", 1)
    RECONCILES.labels("decided").inc()
    for request in plan.create:
        JOBS_CREATED.labels(request.step.value).inc()
    conditions = {c["type"]: c["status"] for c in plan.status.get("conditions") or []}
    for kind in SHOWN:
        CONDITION.labels(namespace, name, kind).set(1.0 if conditions.get(kind) == "True" else 0.0)


def skipped(outcome: str) -> None:
    """A reconcile that decided nothing: standby, gone, database unavailable, spec not understood."""
    RECONCILES.labels(outcome).inc()


def forget(namespace: str, name: str) -> None:
    """A deleted RolloutBatch leaves no series behind."""
    for kind in SHOWN:
        try:
            CONDITION.remove(namespace, name, kind)
        except KeyError:
            pass


def serve(port: int) -> None:
    start_http_server(port)
