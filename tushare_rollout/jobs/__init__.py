"""One entrypoint per Job kind (``tushare-rollout job <kind>``), sharing one exit-code contract."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What a Job's exit code means; the operator's podFailurePolicy matches on these."""

    OK = 0
    CHECK_FAILED = 2  # a gate (or a --check) found the data or schema not as required
    RETRYABLE = 3  # a runtime error that may pass on retry (database down, server error)
    BAD_CONFIGURATION = 4  # retrying will not help until someone changes the configuration
