"""One entrypoint per Job kind (``tushare-rollout job <kind>``), sharing one exit-code contract."""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db.engine import BadDatabaseURL, first_line, make_engine, safe_url

if TYPE_CHECKING:
    from .settings import JobSettings


class ExitCode(enum.IntEnum):
    """What a Job's exit code means; the operator's podFailurePolicy matches on these."""

    OK = 0
    CHECK_FAILED = 2  # a gate (or a --check) found the data or schema not as required
    RETRYABLE = 3  # a runtime error that may pass on retry (database down, server error)
    BAD_CONFIGURATION = 4  # retrying will not help until someone changes the configuration


@dataclass(frozen=True)
class Outcome:
    code: ExitCode
    message: str


def with_engine(settings: JobSettings, doing: str, work: Callable[[Engine], Outcome]) -> Outcome:
    """Run ``work`` on an engine for DATABASE_URL, turning every failure into one line and an exit code."""
    if settings.database_url is None:
        return Outcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return Outcome(ExitCode.BAD_CONFIGURATION, str(exc))
    try:
        return work(engine)
    except OperationalError as exc:  # the server is down or unreachable: may pass on retry
        return Outcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}")
    except DBAPIError as exc:  # the database refused the work itself: retrying will not help
        return Outcome(ExitCode.BAD_CONFIGURATION, f"{doing} failed at {safe_url(engine.url)}: {first_line(exc)}")
    finally:
        engine.dispose()


TERMINATION_LOG_BYTES = 4096  # what Kubernetes keeps of a container's termination message


def write_termination_log(body: str, path: str) -> None:
    """A Job's JSON result where Kubernetes reads the termination message (when writable), shrunk to
    fit as valid JSON; the operator copies it into the RolloutBatch's status."""
    directory = os.path.dirname(path) or "."
    if os.access(path, os.W_OK) or (not os.path.exists(path) and os.access(directory, os.W_OK)):
        with open(path, "w") as f:
            f.write(fit_json(json.loads(body), TERMINATION_LOG_BYTES - 1) + "\n")


def fit_json(body: dict, limit: int) -> str:
    """``body`` as JSON of at most ``limit`` UTF-8 bytes: drop samples, then failures, then messages.

    >>> body = {"exitCode": 2, "failed": [{"check": "q", "sample": ["x" * 500] * 3, "message": "m"}] * 9}
    >>> len(fit_json(body, 4000).encode()) <= 4000, json.loads(fit_json(body, 200))["exitCode"]
    (True, 2)
    """
    text = json.dumps(body, default=str, ensure_ascii=False)
    failed = body.get("failed", [])
    while len(text.encode()) > limit and any(f.get("sample") for f in failed):
        for f in failed:
            f["sample"] = f.get("sample", [])[:-1]
        text = json.dumps(body, default=str, ensure_ascii=False)
    while len(text.encode()) > limit and failed:
        failed.pop()
        body["failedTruncated"] = True
        text = json.dumps(body, default=str, ensure_ascii=False)
    if len(text.encode()) > limit:
        body = {"exitCode": body.get("exitCode"), "passed": body.get("passed"),
                "message": str(body.get("message", "")).encode()[:limit // 2].decode(errors="ignore")}
        text = json.dumps(body, default=str, ensure_ascii=False)
    return text
