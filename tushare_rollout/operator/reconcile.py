"""The edge: read a RolloutBatch, its Jobs, CronJobs and gate results; call ``decide()``; apply the plan.

Everything here is I/O; every rule is in :mod:`.decide`. Status is written once per reconcile and
only when it changed (a replace with the object's resourceVersion: a concurrent writer makes it fail,
and the object is decided again from its fresh state half a second later).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ..db.engine import first_line
from ..db.rollout import drill_results, gate_results, probes, record_flags, streaks
from ..ingest.datasets import DATASETS
from . import metrics
from .decide import decide
from .lease import Lease
from .manifests import (
    ANNOTATION_HASH, GROUP, LABEL_RB, PLURAL, VERSION, build_cronjob, build_job, newest_daily, observe, owned_by,
)
from .model import DailyRun, GateResult, Observed, Plan, Spec
from .settings import OperatorSettings
from .vocabulary import Step

log = logging.getLogger(__name__)
CONFLICT_RETRY_SECONDS = 0.5  # a lost status write is decided again this soon (Job names make it idempotent)
# what this release builds: the batches, and the P2 sub-flags whose module has datasets
BUILT = frozenset({d.batch.value for d in DATASETS.values()} | {d.flag for d in DATASETS.values()})


@dataclass
class Outcome:
    plan: Plan | None
    requeue_after: float | None
    note: str = ""


class Reconciler:
    def __init__(self, api: client.ApiClient, engine: Engine | None, settings: OperatorSettings,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 lease: Lease | None = None) -> None:
        self.api, self.engine, self.settings, self.now, self.lease = api, engine, settings, now, lease
        self.custom, self.batch, self.core = client.CustomObjectsApi(api), client.BatchV1Api(api), client.CoreV1Api(api)

    def reconcile(self, namespace: str, name: str) -> Outcome:
        with metrics.RECONCILE_SECONDS.time():
            outcome = self._reconcile(namespace, name)
        if outcome.plan is None:
            metrics.skipped(outcome.note.split(":")[0] or "none")
            if outcome.note == "gone":
                metrics.forget(namespace, name)
        return outcome

    def _reconcile(self, namespace: str, name: str) -> Outcome:
        if self.lease is not None and not self.lease.held():  # another replica acts: stand by
            return Outcome(None, self.lease.duration / 3, "standby")
        try:
            rb = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as exc:
            if exc.status == 404:
                return Outcome(None, None, "gone")
            raise
        try:
            spec = Spec.from_object(rb)
        except (ValidationError, ValueError) as exc:  # the CRD refuses most of this; say it if it gets through
            return Outcome(None, None, f"spec not understood: {exc}")
        uid = rb["metadata"]["uid"]
        selector = f"{LABEL_RB}={name}"
        jobs = [self.api.sanitize_for_serialization(j)
                for j in self.batch.list_namespaced_job(namespace, label_selector=selector).items]
        cronjobs = {c["metadata"]["name"]: c for c in (
            self.api.sanitize_for_serialization(c)
            for c in self.batch.list_namespaced_cron_job(namespace, label_selector=selector).items) if owned_by(c, uid)}
        ours = [o for o in (observe(j) for j in jobs if owned_by(j, uid)) if o is not None]
        cronjob_uids = {c["metadata"]["uid"] for c in cronjobs.values()}
        daily = newest_daily(jobs, cronjob_uids)
        realtime = newest_daily(jobs, cronjob_uids, Step.REALTIME)  # no gate: never a daily regression
        gate_jobs = [j.name for j in ours if j.step is Step.GATE] + [j.name for j, _ in daily.values()]
        drill_jobs = [j.name for j in ours if j.step is Step.DRILL]
        try:
            gates, streak, flags_new, probed, drills = self._from_database(spec, rb, gate_jobs, drill_jobs)
        except DBAPIError as exc:
            log.warning("rolloutbatch=%s: cannot read gate results: %s; retrying", spec.name, first_line(exc))
            return Outcome(None, 15.0, "database unavailable")
        runs = {p: DailyRun(j.name, j.state, at, gates.get(j.name), j.reason) for p, (j, at) in daily.items()}
        snapshots = {p: DailyRun(j.name, j.state, at, None, j.reason) for p, (j, at) in realtime.items()}
        observed = Observed(tuple(ours), gates, streak, BUILT, runs, tuple(probed), snapshots, drills=drills)
        plan = decide(spec, rb.get("status"), observed, self.now())
        written = self._apply(rb, plan, jobs, uid)
        self._schedule(rb, plan, cronjobs)
        metrics.observed(spec.name, plan)
        if flags_new:
            self._event(rb, "Normal", "FlagsRecorded", f"flags updatedAt={spec.flags.updatedAt} recorded in the audit")
        log.info("reconciled rolloutbatch=%s phase=%s state=%s created=%s deleted=%s", spec.name,
                 plan.status.get("phase"), plan.status.get("state"), [r.name for r in plan.create], plan.delete)
        if not written:  # someone wrote the object meanwhile: decide again on the fresh object, soon
            return Outcome(plan, CONFLICT_RETRY_SECONDS, "status conflict")
        return Outcome(plan, plan.requeue_after)

    def _from_database(self, spec: Spec, rb: dict, gate_jobs: list[str], drill_jobs: list[str]
                       ) -> tuple[dict[str, GateResult], dict[str, int], bool, list[dict], dict[str, dict]]:
        if self.engine is None:
            return {}, {}, False, [], {}
        with self.engine.begin() as conn:
            found = gate_results(conn, gate_jobs)
            drills = drill_results(conn, drill_jobs)
            streak = streaks(conn, spec.name)
            probed = probes(conn, spec.name)
            recorded = (rb.get("status") or {}).get("lastFlagsUpdatedAt")
            new = recorded != spec.flags.updatedAt and record_flags(conn, spec.name, spec.generation, spec.flags)
        gates = {name: GateResult(r["passed"], "", tuple(r["failed"]), r["warned"]) for name, r in found.items()}
        return gates, streak, bool(new), probed, drills

    def _apply(self, rb: dict, plan: Plan, jobs: list[dict], uid: str) -> bool:
        """Create and delete Jobs, post Events, write status; False when the status write lost a race."""
        namespace = rb["metadata"]["namespace"]
        existing = {j["metadata"]["name"]: j for j in jobs}
        for request in plan.create:
            manifest = build_job(rb, request, image=self.settings.image,
                                 service_account=self.settings.jobs_service_account,
                                 tushare_api_url=self.settings.tushare_api_url)
            try:
                self.batch.create_namespaced_job(namespace, manifest)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                other = existing.get(request.name) or self.api.sanitize_for_serialization(
                    self.batch.read_namespaced_job(request.name, namespace))
                if not owned_by(other, uid):  # a stranger holds the name: never adopt it
                    self._event(rb, "Warning", "JobNameTaken",
                                f"a Job named {request.name} exists and is not this RolloutBatch's; "
                                "delete or rename it")
        for name in plan.delete:
            try:
                self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
            except ApiException as exc:
                if exc.status != 404:
                    raise
        for event in plan.events:
            self._event(rb, event.type, event.reason, event.message)
        if plan.status != (rb.get("status") or {}):
            body = {**rb, "status": plan.status}
            try:
                self.custom.replace_namespaced_custom_object_status(GROUP, VERSION, namespace, PLURAL,
                                                                   rb["metadata"]["name"], body)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                log.info("rolloutbatch=%s/%s changed while reconciling; deciding again", namespace,
                         rb["metadata"]["name"])
                return False
        return True

    def _schedule(self, rb: dict, plan: Plan, cronjobs: dict[str, dict]) -> None:
        """Make the owned CronJobs exactly ``plan.schedules``: create, replace what changed, delete the rest."""
        namespace = rb["metadata"]["namespace"]
        for request in plan.schedules:
            manifest = build_cronjob(rb, request, image=self.settings.image,
                                     service_account=self.settings.jobs_service_account,
                                     tushare_api_url=self.settings.tushare_api_url)
            have = cronjobs.get(request.name)
            if have is None:
                try:
                    self.batch.create_namespaced_cron_job(namespace, manifest)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
                    other = self.api.sanitize_for_serialization(
                        self.batch.read_namespaced_cron_job(request.name, namespace))
                    if not owned_by(other, rb["metadata"]["uid"]):
                        self._event(rb, "Warning", "CronJobNameTaken",
                                    f"a CronJob named {request.name} exists and is not this RolloutBatch's; "
                                    "delete or rename it")
            elif (have["metadata"].get("annotations") or {}).get(ANNOTATION_HASH) != \
                    manifest["metadata"]["annotations"][ANNOTATION_HASH]:
                manifest["metadata"]["resourceVersion"] = have["metadata"]["resourceVersion"]
                try:
                    self.batch.replace_namespaced_cron_job(request.name, namespace, manifest)
                except ApiException as exc:
                    if exc.status != 409:  # changed meanwhile: the next reconcile compares again
                        raise
        for name in cronjobs.keys() - {r.name for r in plan.schedules}:
            try:
                self.batch.delete_namespaced_cron_job(name, namespace, propagation_policy="Background")
            except ApiException as exc:
                if exc.status != 404:
                    raise

    def _event(self, rb: dict, type_: str, reason: str, message: str) -> None:
        meta = rb["metadata"]
        now = self.now()
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{meta['name']}.", namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(api_version=f"{GROUP}/{VERSION}", kind="RolloutBatch",
                                                     name=meta["name"], namespace=meta["namespace"], uid=meta["uid"]),
            type=type_, reason=reason, message=message[:1000], first_timestamp=now, last_timestamp=now, count=1,
            source=client.V1EventSource(component="tushare-rollout-operator"), reporting_component="tushare-rollout")
        try:
            self.core.create_namespaced_event(meta["namespace"], event)
        except ApiException as exc:
            log.warning("could not post event %s: %s", reason, exc.reason)
