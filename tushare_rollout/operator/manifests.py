"""Job and CronJob manifests from a plan's requests, and observed Jobs from the API's. Pure: no I/O.

Every Job runs the project's image and CLI (``tushare-rollout job <step> ...``), takes the database
URL and the Tushare token from the Secrets the RolloutBatch names (never from the object itself),
carries labels that say which RolloutBatch, phase, step and try it belongs to, and is owned by the
RolloutBatch (so it is garbage-collected with it). Its ``podFailurePolicy`` follows the exit-code
contract: 2 (a check failed) and 4 (bad configuration) fail the Job at once; 3 is retried. A passed
phase's daily CronJob, and passed D's realtime CronJob (owned by the RolloutBatch too), stamp out Jobs
of the same shape. Phase D's and E's Jobs also get P2's settings (``spec.p2``, the minute universe):
the share of each API's rate limit P2 may use, its own worker count, the minute-history depth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .model import JobRequest, ObservedJob, ScheduleRequest
from .vocabulary import SCHEDULED, JobState, Phase, Step

P2_DEFAULTS = {"rateShare": 0.5, "minuteDays": 20, "workers": 2}  # spec.p2's defaults (the CRD's too)
REALTIME_DEADLINE_SECONDS = 900  # a snapshot Job that hangs must not hold the next ones back (Forbid)

GROUP, VERSION, PLURAL, KIND = "tushare-rollout.io", "v1alpha1", "rolloutbatches", "RolloutBatch"
LABEL_RB = "tushare-rollout.io/rolloutbatch"
LABEL_PHASE = "tushare-rollout.io/phase"
LABEL_STEP = "tushare-rollout.io/step"
LABEL_TRY = "tushare-rollout.io/try"
LABEL_MODULE = "tushare-rollout.io/module"  # a module rollback's P2 module
ANNOTATION_HASH = "tushare-rollout.io/spec-hash"
ANNOTATION_MODULES = "tushare-rollout.io/modules"  # the P2 modules a D publish or module rollback acts on
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

    A Job acting on P2 modules names them in an annotation (and a module rollback in a label too), so
    the operator reads back what was asked of it:

    >>> job = build_job(rb, JobRequest("p0-d-rollback-futures-microstructure-1", Phase.D, Step.ROLLBACK, 1,
    ...                                ("job", "rollback", "--phase", "D", "--module", "p2_futures_microstructure"),
    ...                                ("p2_futures_microstructure",)), image="tushare-rollout:dev")
    >>> job["metadata"]["annotations"], job["metadata"]["labels"][LABEL_MODULE]
    ({'tushare-rollout.io/modules': 'p2_futures_microstructure'}, 'p2_futures_microstructure')
    >>> observe(job).modules
    ('p2_futures_microstructure',)
    """
    labels = _labels(rb, request.phase, request.step) | {LABEL_TRY: str(request.attempt)}
    if request.modules is not None and request.step is Step.ROLLBACK and len(request.modules) == 1:
        labels[LABEL_MODULE] = request.modules[0]
    parallel = int((rb.get("spec", {}).get("jobs") or {}).get("parallelism", 1)) if request.step is Step.INGEST else 1
    spec = _job_spec(rb, request.phase, labels, request.args, {"value": request.name}, parallel, image=image,
                     service_account=service_account, tushare_api_url=tushare_api_url)
    meta = _metadata(rb, request.name, labels)
    if request.modules is not None:
        meta["annotations"] = {ANNOTATION_MODULES: ",".join(request.modules)}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def build_cronjob(rb: Mapping[str, Any], request: ScheduleRequest, *, image: str, service_account: str | None = None,
                  tushare_api_url: str | None = None) -> dict[str, Any]:
    """The ``batch/v1`` CronJob of a passed phase's daily run (or of D's realtime snapshots), owned by
    the RolloutBatch ``rb``.

    Its Jobs carry the RolloutBatch's labels (step ``daily``, or ``realtime``) and learn their own name
    from the label the API server puts on every Job's Pods, so their gate results are found by Job name.
    The spec's hash is kept in an annotation: the operator replaces the CronJob only when it changed. A
    realtime snapshot is worth nothing late: a missed schedule is not caught up after five minutes, and
    a Job that hangs is stopped after a quarter of an hour (``concurrencyPolicy: Forbid`` would hold
    every later snapshot back).

    >>> rb = {"metadata": {"name": "p0", "namespace": "data", "uid": "u1"}, "spec": {}}
    >>> cj = build_cronjob(rb, ScheduleRequest("p0-b-daily", Phase.B, "30 22 * * 1-5", "Asia/Shanghai", False,
    ...                                        ("job", "daily", "--phase", "B")), image="tushare-rollout:dev")
    >>> spec = cj["spec"]
    >>> spec["timeZone"], spec["concurrencyPolicy"], spec["jobTemplate"]["metadata"]["labels"][LABEL_STEP]
    ('Asia/Shanghai', 'Forbid', 'daily')
    >>> rt = build_cronjob(rb, ScheduleRequest("p0-d-realtime", Phase.D, "*/5 9-15 * * 1-5", "Asia/Shanghai",
    ...                                        False, ("job", "realtime"), Step.REALTIME), image="tushare-rollout:dev")
    >>> rt["spec"]["jobTemplate"]["metadata"]["labels"][LABEL_STEP], rt["spec"]["startingDeadlineSeconds"]
    ('realtime', 300)
    >>> rt["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    900
    """
    labels = _labels(rb, request.phase, request.step)
    job_name = {"valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{JOB_NAME_LABEL}']"}}}
    job_spec = _job_spec(rb, request.phase, labels, request.args, job_name, 1, image=image,
                         service_account=service_account, tushare_api_url=tushare_api_url)
    realtime = request.step is Step.REALTIME
    if realtime:
        job_spec["activeDeadlineSeconds"] = min(job_spec["activeDeadlineSeconds"], REALTIME_DEADLINE_SECONDS)
    spec = {"schedule": request.cron, "timeZone": request.time_zone, "concurrencyPolicy": "Forbid",
            "suspend": request.suspend, "startingDeadlineSeconds": 300 if realtime else 3600,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec}}
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


def p2_env(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """P2's isolation settings, for phase D's Jobs only: its share of each API's rate limit (P0/P1 keep
    the rest), its own worker count, the minute history's depth and the followed minute codes.

    >>> [(e["name"], e["value"]) for e in p2_env({"p2": {"rateShare": 0.25}, "universe": {"minuteFutures": ["CU"]}})]
    [('TSR_P2_RATE_SHARE', '0.25'), ('TSR_MINUTE_DAYS', '20'), ('TSR_WORKERS', '2'), ('TSR_MINUTE_FUTURES', '["CU"]')]
    """
    p2 = P2_DEFAULTS | (spec.get("p2") or {})
    universe = spec.get("universe") or {}
    env = [{"name": "TSR_P2_RATE_SHARE", "value": str(p2["rateShare"])},
           {"name": "TSR_MINUTE_DAYS", "value": str(int(p2["minuteDays"]))},
           {"name": "TSR_WORKERS", "value": str(int(p2["workers"]))}]
    for key, name in (("minuteCodes", "TSR_MINUTE_CODES"), ("minuteFutures", "TSR_MINUTE_FUTURES")):
        if universe.get(key) is not None:
            env.append({"name": name, "value": json.dumps(universe[key])})
    return env


def _job_spec(rb: Mapping[str, Any], phase: Phase, labels: Mapping[str, str], args: tuple[str, ...],
              job_name: Mapping[str, Any], parallel: int, *, image: str, service_account: str | None,
              tushare_api_url: str | None) -> dict[str, Any]:
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
    if phase in (Phase.D, Phase.E):  # E gates P2 with the rest and rolls it forward in its drill
        env += p2_env(spec)
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
        attempt = int(labels[LABEL_TRY]) if step not in SCHEDULED else 0
    except (KeyError, ValueError):
        return None
    asked = (meta.get("annotations") or {}).get(ANNOTATION_MODULES)
    modules = tuple(m for m in asked.split(",") if m) if asked is not None else None
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions:
        return ObservedJob(meta["name"], phase, step, attempt, JobState.SUCCEEDED, modules=modules)
    failed = conditions.get("Failed")
    if failed:
        return ObservedJob(meta["name"], phase, step, attempt, JobState.FAILED, failed.get("reason"),
                           failed.get("message"), modules=modules)
    return ObservedJob(meta["name"], phase, step, attempt, JobState.ACTIVE, modules=modules)


def newest_daily(jobs: Iterable[Mapping[str, Any]], cronjob_uids: set[str], step: Step = Step.DAILY
                 ) -> dict[Phase, tuple[ObservedJob, dt.datetime]]:
    """Per phase, the newest Job of our ``step`` CronJobs (daily, or D's realtime; by creation time), as
    observed. Only daily runs gate, so only they are looked at for regressions; a realtime run never is.

    >>> def job(name, step, at):
    ...     return {"metadata": {"name": name, "creationTimestamp": at, "ownerReferences": [{"uid": "cj"}],
    ...                          "labels": {LABEL_PHASE: "D", LABEL_STEP: step}}}
    >>> jobs = [job("p0-d-daily-1", "daily", "2024-01-05T14:30:00Z"), job("p0-d-realtime-2", "realtime",
    ...                                                                   "2024-01-06T02:00:00Z")]
    >>> {p.value: j.name for p, (j, _) in newest_daily(jobs, {"cj"}).items()}
    {'D': 'p0-d-daily-1'}
    >>> {p.value: j.name for p, (j, _) in newest_daily(jobs, {"cj"}, Step.REALTIME).items()}
    {'D': 'p0-d-realtime-2'}
    """
    newest: dict[Phase, tuple[ObservedJob, dt.datetime]] = {}
    for job in jobs:
        meta = job.get("metadata") or {}
        if not any(ref.get("uid") in cronjob_uids for ref in meta.get("ownerReferences") or []):
            continue
        seen = observe(job)
        created = meta.get("creationTimestamp")
        if seen is None or seen.step is not step or not created:
            continue
        at = created if isinstance(created, dt.datetime) else \
            dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        if seen.phase not in newest or (at, seen.name) > (newest[seen.phase][1], newest[seen.phase][0].name):
            newest[seen.phase] = (seen, at)
    return newest
