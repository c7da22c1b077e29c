"""Job and CronJob manifests from a plan's requests, and observed Jobs from the API's. Pure: no I/O.

Every Job runs the project's image and CLI (``tushare-rollout job <step> ...``), takes the database
URL and the Tushare token from the Secrets the RolloutBatch names (never from the object itself),
carries labels that say which RolloutBatch, phase, step and try it belongs to, and is owned by the
RolloutBatch (so it is garbage-collected with it). Its ``podFailurePolicy`` follows the exit-code
contract: 2 (a check failed) and 4 (bad configuration) fail the Job at once; 3 is retried. A passed
phase's daily CronJob (owned by the RolloutBatch too) stamps out Jobs of the same shape.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .model import JobRequest, ObservedJob, ScheduleRequest
from .vocabulary import JobState, Phase, Step

GROUP, VERSION, PLURAL, KIND = "tushare-rollout.io", "v1alpha1", "rolloutbatches", "RolloutBatch"
LABEL_RB = "tushare-rollout.io/rolloutbatch"
LABEL_PHASE = "tushare-rollout.io/phase"
LABEL_STEP = "tushare-rollout.io/step"
LABEL_TRY = "tushare-rollout.io/try"
ANNOTATION_HASH = "tushare-rollout.io/spec-hash"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set by the API server on every Job's Pod template
MANAGED_BY = "tushare-rollout-operator"
CONTAINER = "main"


def build_job(rb: Mapping[str, Any], request: JobRequest, *, image: str, service_account: str | None = None,
              tushare_api_url: str | None = None) -> dict[str, Any]:
    """The ``batch/v1`` Job for ``request``, owned by the RolloutBatch ``rb``.

    >>> rb = {"metadata": {"name": "p0", "namespace": "data", "uid": "u1"},
    ...       "spec": {"database": {"secretRef": {"name": "db"}}, "tushare": {"tokenSecretRef": {"name": "tok"}}}}
    >>> job = build_job(rb, JobRequest("p0-b-gate-1", Phase.B, Step.GATE, 1, ("job", "gate", "--phase", "B")),
    ...                 image="tushare-rollout:dev")
    >>> job["metadata"]["labels"][LABEL_STEP], job["spec"]["template"]["spec"]["containers"][0]["args"]
    ('gate', ['job', 'gate', '--phase', 'B'])
    >>> [e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]][:2]
    ['DATABASE_URL', 'TUSHARE_TOKEN']
    """
    labels = _labels(rb, request.phase, request.step) | {LABEL_TRY: str(request.attempt)}
    parallel = int((rb.get("spec", {}).get("jobs") or {}).get("parallelism", 1)) if request.step is Step.INGEST else 1
    spec = _job_spec(rb, labels, request.args, {"value": request.name}, parallel, image=image,
                     service_account=service_account, tushare_api_url=tushare_api_url)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(rb, request.name, labels), "spec": spec}


def build_cronjob(rb: Mapping[str, Any], request: ScheduleRequest, *, image: str, service_account: str | None = None,
                  tushare_api_url: str | None = None) -> dict[str, Any]:
    """The ``batch/v1`` CronJob of a passed phase's daily run, owned by the RolloutBatch ``rb``.

    Its Jobs carry the RolloutBatch's labels (step ``daily``) and learn their own name from the label
    the API server puts on every Job's Pods, so their gate results are found by Job name. The spec's
    hash is kept in an annotation: the operator replaces the CronJob only when it changed.

    >>> rb = {"metadata": {"name": "p0", "namespace": "data", "uid": "u1"}, "spec": {}}
    >>> cj = build_cronjob(rb, ScheduleRequest("p0-b-daily", Phase.B, "30 22 * * 1-5", "Asia/Shanghai", False,
    ...                                        ("job", "daily", "--phase", "B")), image="tushare-rollout:dev")
    >>> spec = cj["spec"]
    >>> spec["timeZone"], spec["concurrencyPolicy"], spec["jobTemplate"]["metadata"]["labels"][LABEL_STEP]
    ('Asia/Shanghai', 'Forbid', 'daily')
    """
    labels = _labels(rb, request.phase, Step.DAILY)
    job_name = {"valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{JOB_NAME_LABEL}']"}}}
    job_spec = _job_spec(rb, labels, request.args, job_name, 1, image=image, service_account=service_account,
                         tushare_api_url=tushare_api_url)
    spec = {"schedule": request.cron, "timeZone": request.time_zone, "concurrencyPolicy": "Forbid",
            "suspend": request.suspend, "startingDeadlineSeconds": 3600, "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3, "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec}}
    meta = _metadata(rb, request.name, labels)
    meta["annotations"] = {ANNOTATION_HASH: spec_hash(spec)}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": spec}


def spec_hash(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _labels(rb: Mapping[str, Any], phase: Phase, step: Step) -> dict[str, str]:
    return {"app.kubernetes.io/name": "tushare-rollout", "app.kubernetes.io/managed-by": MANAGED_BY,
            LABEL_RB: rb["metadata"]["name"], LABEL_PHASE: phase.value, LABEL_STEP: step.value}


def _metadata(rb: Mapping[str, Any], name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    meta = rb["metadata"]
    return {"name": name, "namespace": meta.get("namespace", "default"), "labels": dict(labels),
            "ownerReferences": [{"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "name": meta["name"],
                                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}]}


def _job_spec(rb: Mapping[str, Any], labels: Mapping[str, str], args: tuple[str, ...], job_name: Mapping[str, Any],
              parallel: int, *, image: str, service_account: str | None, tushare_api_url: str | None
              ) -> dict[str, Any]:
    """A Job's spec: the project's image and CLI, credentials from Secrets, the exit-code contract."""
    meta, spec = rb["metadata"], rb.get("spec", {})
    jobs = spec.get("jobs") or {}
    db = (spec.get("database") or {}).get("secretRef") or {"name": "tushare-rollout-db"}
    token = (spec.get("tushare") or {}).get("tokenSecretRef") or {"name": "tushare-rollout-token"}
    gates = spec.get("gates") or {}
    universe = spec.get("universe") or {}
    env: list[dict[str, Any]] = [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": db["name"], "key": db.get("key", "url")}}},
        {"name": "TUSHARE_TOKEN",
         "valueFrom": {"secretKeyRef": {"name": token["name"], "key": token.get("key", "token")}}},
        {"name": "TSR_ROLLOUT_BATCH", "value": f"{meta.get('namespace', 'default')}/{meta['name']}"},
        {"name": "TSR_JOB_NAME", **job_name},
        {"name": "TSR_GATES__STABLE_TRADING_DAYS", "value": str(gates.get("stableTradingDays", 3))},
        {"name": "TSR_GATES__WINDOW_DAYS", "value": str(gates.get("windowDays", 20))},
        {"name": "TSR_GATES__THRESHOLDS", "value": json.dumps(gates.get("thresholds") or {})},
    ]
    endpoint = (spec.get("tushare") or {}).get("endpoint") or tushare_api_url
    if endpoint:
        env.append({"name": "TUSHARE_API_URL", "value": endpoint})
    if universe.get("indexCodes"):
        env.append({"name": "TSR_INDEX_CODES", "value": json.dumps(universe["indexCodes"])})
    if universe.get("fxWhitelist") is not None:
        env.append({"name": "TSR_FX_WHITELIST", "value": json.dumps(universe["fxWhitelist"])})
    if universe.get("backfillStart"):
        b = universe["backfillStart"]
        env.append({"name": "TSR_BACKFILL_START", "value": f"{b[:4]}-{b[4:6]}-{b[6:]}"})
    job_spec: dict[str, Any] = {
        "backoffLimit": int(jobs.get("backoffLimit", 2)),
        "activeDeadlineSeconds": int(jobs.get("activeDeadlineSeconds", 21600)),
        "podFailurePolicy": {"rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": CONTAINER, "operator": "In", "values": [2, 4]}},
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
        ]},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": CONTAINER, "image": image, "command": ["tushare-rollout"], "args": list(args),
                    "env": env, "resources": jobs.get("resources") or {},
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # the only writable path
                }],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
            },
        },
    }
    if service_account:
        job_spec["template"]["spec"]["serviceAccountName"] = service_account
        job_spec["template"]["spec"]["automountServiceAccountToken"] = False
    if parallel > 1:
        job_spec.update(completionMode="Indexed", completions=parallel, parallelism=parallel)
        env.append({"name": "TSR_SHARD_COUNT", "value": str(parallel)})
    return job_spec


def owned_by(job: Mapping[str, Any], uid: str) -> bool:
    """Whether the Job is ours: controlled by the RolloutBatch with ``uid`` (a same-named stranger is not)."""
    return any(ref.get("uid") == uid and ref.get("controller") for ref in
               (job.get("metadata") or {}).get("ownerReferences") or [])


def observe(job: Mapping[str, Any]) -> ObservedJob | None:
    """What ``decide()`` needs of a Job; ``None`` when its labels are not ours."""
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    labels = meta.get("labels") or {}
    try:
        phase, step = Phase(labels[LABEL_PHASE]), Step(labels[LABEL_STEP])
        attempt = int(labels[LABEL_TRY]) if step is not Step.DAILY else 0
    except (KeyError, ValueError):
        return None
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions:
        return ObservedJob(meta["name"], phase, step, attempt, JobState.SUCCEEDED)
    failed = conditions.get("Failed")
    if failed:
        return ObservedJob(meta["name"], phase, step, attempt, JobState.FAILED, failed.get("reason"),
                           failed.get("message"))
    return ObservedJob(meta["name"], phase, step, attempt, JobState.ACTIVE)


def newest_daily(jobs: Iterable[Mapping[str, Any]], cronjob_uids: set[str]
                 ) -> dict[Phase, tuple[ObservedJob, dt.datetime]]:
    """Per phase, the newest Job of our daily CronJobs (by creation time), as observed."""
    newest: dict[Phase, tuple[ObservedJob, dt.datetime]] = {}
    for job in jobs:
        meta = job.get("metadata") or {}
        if not any(ref.get("uid") in cronjob_uids for ref in meta.get("ownerReferences") or []):
            continue
        seen = observe(job)
        created = meta.get("creationTimestamp")
        if seen is None or seen.step is not Step.DAILY or not created:
            continue
        at = created if isinstance(created, dt.datetime) else \
            dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        if seen.phase not in newest or (at, seen.name) > (newest[seen.phase][1], newest[seen.phase][0].name):
            newest[seen.phase] = (seen, at)
    return newest
