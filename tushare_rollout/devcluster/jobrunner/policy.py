"""The Job controller's rules, pure: a Job's spec as a run reads it, indexes, podFailurePolicy, conditions.

No I/O and no threads here; everything is a function of its arguments (and, for ``_now``, the clock).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEFAULT_BACKOFF_LIMIT = 6
DEFAULT_GRACE_SECONDS = 30


class JobCondition(enum.StrEnum):
    SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
    COMPLETE = "Complete"
    FAILURE_TARGET = "FailureTarget"
    FAILED = "Failed"
    SUSPENDED = "Suspended"


class JobReason(enum.StrEnum):
    COMPLETIONS_REACHED = "CompletionsReached"
    BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    POD_FAILURE_POLICY = "PodFailurePolicy"
    JOB_SUSPENDED = "JobSuspended"
    JOB_RESUMED = "JobResumed"


@dataclass(frozen=True)
class _Spec:
    """What a run needs of a Job's spec, read once when it starts."""

    container: Mapping[str, Any]
    pod_spec: Mapping[str, Any]
    pod_meta: Mapping[str, Any]
    grace: float
    indexed: bool
    completions: int | None
    parallelism: int
    backoff_limit: int
    deadline_seconds: int | None
    policy: Mapping[str, Any] | None

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> _Spec:
        pod_spec = spec["template"].get("spec") or {}
        return cls(container=pod_spec["containers"][0], pod_spec=pod_spec,
                   pod_meta=spec["template"].get("metadata") or {},
                   grace=float(pod_spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)),
                   indexed=spec.get("completionMode") == "Indexed", completions=spec.get("completions"),
                   parallelism=int(spec.get("parallelism", 1)),
                   backoff_limit=int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)),
                   deadline_seconds=spec.get("activeDeadlineSeconds"), policy=spec.get("podFailurePolicy"))


def format_indexes(indexes: Iterable[int]) -> str:
    """``status.completedIndexes``: sorted, with runs of consecutive indexes as ranges.

    >>> format_indexes([2, 0, 1, 5, 7, 8])
    '0-2,5,7-8'
    >>> format_indexes([])
    ''
    """
    parts: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def parse_indexes(text: str | None) -> set[int]:
    """The inverse of :func:`format_indexes`.

    >>> sorted(parse_indexes("0-2,5"))
    [0, 1, 2, 5]
    >>> parse_indexes(None)
    set()
    """
    out: set[int] = set()
    for part in (text or "").split(","):
        if part:
            first, _, last = part.partition("-")
            out.update(range(int(first), int(last or first) + 1))
    return out


def match_failure_rule(policy: Mapping[str, Any] | None, container: str, exit_code: int) -> tuple[int, str] | None:
    """``(index, action)`` of the first ``podFailurePolicy`` rule matching a container's exit code.

    Exit code 0 never matches (as in the Job controller); rules on pod conditions never match a
    local process.

    >>> policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
    ...                     {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
    ...                                                           "values": [2, 4]}},
    ...                     {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [3]}}]}
    >>> match_failure_rule(policy, "main", 2), match_failure_rule(policy, "main", 5)
    ((1, 'FailJob'), (2, 'Count'))
    >>> match_failure_rule(policy, "other", 2), match_failure_rule(policy, "main", 3)
    ((2, 'Count'), None)
    """
    if exit_code == 0:
        return None
    for index, rule in enumerate((policy or {}).get("rules") or []):
        codes = rule.get("onExitCodes")
        if not codes or codes.get("containerName") not in (None, container):
            continue
        inside = exit_code in (codes.get("values") or [])
        if inside == (codes.get("operator") == "In"):
            return index, rule["action"]
    return None


def is_finished(job: Mapping[str, Any]) -> bool:
    conditions = ((job.get("status") or {}).get("conditions")) or []
    return any(c.get("type") in (JobCondition.COMPLETE, JobCondition.FAILED) and c.get("status") == "True"
               for c in conditions)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: JobCondition, status: str, reason: JobReason, message: str, now: str) -> dict[str, str]:
    return {"type": kind.value, "status": status, "reason": reason.value, "message": message,
            "lastProbeTime": now, "lastTransitionTime": now}


def _exit_code(returncode: int) -> int:
    """A container runtime's exit code: 128 + the signal for a killed process."""
    return 128 - returncode if returncode < 0 else returncode
