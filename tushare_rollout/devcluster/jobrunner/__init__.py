"""The local Job runner: kubelet and the Job controller of the dev cluster, in one object.

The dev cluster has no nodes and its kube-controller-manager runs without the Job controller.
``LocalJobRunner`` watches Jobs, runs each Job's first container command as a local process
(with the container's env, Secrets and ConfigMaps resolved through the API) and writes the Job's
status back exactly as the Job controller would, so a client reading Jobs cannot tell the
difference::

    with LocalJobRunner(kubeconfig, namespaces={"data"}) as runner:
        ...  # create Jobs; they run, and reach Complete or Failed

What it does, as the Job controller does:

* a Job runs when it is not suspended and has no terminal condition; a finished Job is left
  alone; a Job deleted (or being deleted) while running has its processes killed (SIGTERM, then
  SIGKILL after the pod's ``terminationGracePeriodSeconds``);
* ``completions``/``parallelism``, ``completionMode: Indexed`` (``JOB_COMPLETION_INDEX``,
  ``completedIndexes``), ``backoffLimit`` (default 6), ``activeDeadlineSeconds`` and
  ``podFailurePolicy`` exit-code rules (``FailJob``, ``Ignore``, ``Count``);
* status: ``startTime``/``active``/``ready`` when processes start, then ``SuccessCriteriaMet`` +
  ``Complete`` with ``completionTime``, or ``FailureTarget`` + ``Failed`` with the controller's
  reason (``BackoffLimitExceeded``, ``DeadlineExceeded``, ``PodFailurePolicy``) and a message
  naming what failed; suspending a running Job kills its processes and writes ``Suspended``.

Where it differs, deliberately: a failed attempt is retried at once (no 10 s, 20 s, ... back-off),
a container that cannot start (missing Secret or key) counts as a failed attempt instead of
waiting in ``CreateContainerConfigError``, ``max_parallel`` Jobs run at once (others wait, with no
status yet), and only the first container runs (no init containers, images, volumes, probes,
``$(VAR)`` expansion, ``workingDir`` or ``backoffLimitPerIndex``). A command ``tushare-rollout``
runs this checkout's CLI (``python -m tushare_rollout``) instead of the image's.

Each attempt runs in its own temporary working directory; its stdout and stderr go to a log file
(``logs()``). Environment values are never logged, only their names.

Where each part lives (each module imports only those above it; ``run`` and ``watch`` name
``LocalJobRunner`` in annotations only):

* ``policy.py``: the Job controller's rules, pure: defaults, condition types and reasons, the spec a
  run reads (``_Spec``), ``completedIndexes``, ``podFailurePolicy`` matching, exit codes;
* ``api.py``: the few API calls the runner makes, on plain dicts (``_Api``);
* ``attempt.py``: one attempt (one pod's worth): argv, environment (Secrets, ConfigMaps,
  ``fieldRef``), the process and the thread that reports its exit code;
* ``run.py``: one Job's run, its state machine and its status writes (``_JobRun``);
* ``watch.py``: the list-then-watch thread of each watched namespace (``_Watcher``);
* ``runner.py``: ``LocalJobRunner``: start/stop, the queue of Jobs, dispatch up to ``max_parallel``.
"""

from __future__ import annotations

import logging

from .api import MERGE_PATCH
from .attempt import (
    CLI_NAME,
    DROPPED_ENV,
    DROPPED_ENV_PREFIXES,
    START_ERROR_EXIT_CODE,
    PodStartError,
    local_argv,
    runner_env,
)
from .policy import (
    DEFAULT_BACKOFF_LIMIT,
    DEFAULT_GRACE_SECONDS,
    JobCondition,
    JobReason,
    format_indexes,
    is_finished,
    match_failure_rule,
    parse_indexes,
)
from .run import STOP_GRACE_SECONDS
from .runner import SYNC_TIMEOUT, LocalJobRunner
from .watch import WATCH_SECONDS

logger = logging.getLogger(__name__)  # the one logger every module here logs to

__all__ = [
    "CLI_NAME",
    "DEFAULT_BACKOFF_LIMIT",
    "DEFAULT_GRACE_SECONDS",
    "DROPPED_ENV",
    "DROPPED_ENV_PREFIXES",
    "MERGE_PATCH",
    "START_ERROR_EXIT_CODE",
    "STOP_GRACE_SECONDS",
    "SYNC_TIMEOUT",
    "WATCH_SECONDS",
    "JobCondition",
    "JobReason",
    "LocalJobRunner",
    "PodStartError",
    "format_indexes",
    "is_finished",
    "local_argv",
    "match_failure_rule",
    "parse_indexes",
    "runner_env",
]
