"""``tushare-rollout job realtime``: one snapshot of today's session for the P2 realtime datasets in force.

Started every few minutes by phase D's realtime CronJob. It fetches only during an Asia/Shanghai
trading session of an open SSE day (the stored calendar says which days are open), so a schedule
that fires at lunch, after the close or on a holiday costs no API call: it exits 0 saying so.

Each dataset in force (``rt_idx_k``, ``rt_idx_min``, ``rt_etf_k``, ``rt_min``: their sub-flag on and
their API not denied) is asked for its followed codes, a few codes per call so the answer stays
under the row cap, and the snapshot is upserted (a later snapshot of the same minute replaces the
earlier one; realtime rows are provisional, the minute history is the record). The calls use P2's
share of each API's rate limit. Exit codes as ``job ingest``: 0, 3 retryable, 4 configuration.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from .. import status
from ..db.base import Batch
from ..db.engine import BadDatabaseURL, first_line, make_engine, retryable, safe_url
from ..ingest import loader
from ..ingest.datasets import Dataset, Plan, for_batch
from ..ingest.windows import plan
from ..tushare import errors
from ..tushare.client import TushareClient
from . import ExitCode
from .ingest import DatasetOutcome, IngestResult, failure_code
from .settings import JobSettings

BEIJING = dt.timezone(dt.timedelta(hours=8))
# the sessions, with a few minutes' margin: the opening auction's snapshot and the 15:00 bar's
SESSIONS = ((dt.time(9, 25), dt.time(11, 35)), (dt.time(12, 58), dt.time(15, 5)))


def realtime_datasets() -> list[Dataset]:
    return [d for d in for_batch(Batch.P2) if d.plan is Plan.REALTIME]


def in_session(conn: Connection, now: dt.datetime) -> str | None:
    """``None`` during a session of an open SSE day, else why not (a sentence)."""
    local = now.astimezone(BEIJING)
    opened = conn.execute(text("SELECT is_open FROM trade_calendar WHERE exchange = 'SSE' AND cal_date = :d"),
                          {"d": local.date()}).scalar_one_or_none()
    if opened is None:
        return f"the SSE calendar stored has no {local:%Y-%m-%d}: run the daily ingest (trade_cal) first"
    if not opened:
        return f"{local:%Y-%m-%d} is not an SSE trading day"
    if not any(start <= local.time() <= end for start, end in SESSIONS):
        return f"{local:%H:%M} Beijing is outside the trading sessions (09:30-11:30, 13:00-15:00)"
    return None


def run(settings: JobSettings, *, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)
        ) -> IngestResult:
    if settings.database_url is None:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], "DATABASE_URL is not set")
    if settings.tushare_token is None:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], "TUSHARE_TOKEN is not set")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], str(exc))
    moment = now()
    today = moment.astimezone(BEIJING).date()
    outcomes: list[DatasetOutcome] = []
    try:
        with engine.begin() as conn:
            closed = in_session(conn, moment)
            if closed:
                return IngestResult(ExitCode.OK, [], f"no snapshot taken: {closed}")
            off = status.applicability(conn, settings.rollout_batch)
            chosen = [d for d in realtime_datasets() if not off.get(d.name)]
            outcomes += [DatasetOutcome(d.name, status="skipped", message=off[d.name])
                         for d in realtime_datasets() if off.get(d.name)]
            loader.record_targets(conn, chosen, today, settings.followed)
        for dataset in chosen:
            outcomes.append(_snapshot(engine, settings, dataset, today))
    except OperationalError as exc:
        return IngestResult(ExitCode.RETRYABLE, outcomes, f"cannot reach PostgreSQL at {safe_url(engine.url)}: "
                                                          f"{first_line(exc)}")
    except DBAPIError as exc:  # a read-only or full database, or a refusal of the data
        return IngestResult(ExitCode.RETRYABLE if retryable(exc) else ExitCode.BAD_CONFIGURATION, outcomes,
                            f"PostgreSQL at {safe_url(engine.url)} refused the snapshot: {first_line(exc)}")
    finally:
        engine.dispose()
    taken = [o for o in outcomes if o.status != "skipped"]
    failed = [o for o in taken if o.status != "succeeded"]
    summary = (f"snapshot of {moment.astimezone(BEIJING):%Y-%m-%d %H:%M} Beijing: "
               f"{len(taken) - len(failed)}/{len(taken)} datasets, {sum(o.tally.fetched for o in taken)} rows")
    skipped = [o for o in outcomes if o.status == "skipped"]
    if skipped:
        summary += "; skipped: " + "; ".join(f"{o.dataset} ({o.message})" for o in skipped)
    if not failed:
        return IngestResult(ExitCode.OK, outcomes, summary)
    reasons = "; ".join(f"{o.dataset}: {o.message}" for o in failed)
    return IngestResult(failure_code(failed), outcomes, f"{summary}; failed: {reasons}")


def _snapshot(engine: Engine, settings: JobSettings, dataset: Dataset, today: dt.date) -> DatasetOutcome:
    outcome = DatasetOutcome(dataset.name)
    started = time.monotonic()
    with TushareClient(settings.tushare_api_url, settings.tushare_token, settings.tushare_for("P2")) as client:
        try:
            with engine.begin() as conn:
                outcome.run_id = loader.start_run(conn, dataset, "realtime", today, today,
                                                  (0, 1), settings.job_name)
            for partition in plan(dataset, [], today, today, codes=settings.followed.get(dataset.codes, [])):
                loader.load_partition(engine, client, dataset, partition, outcome.run_id, outcome.tally, "realtime")
        except errors.TushareError as exc:
            outcome.status, outcome.error_class, outcome.message = "failed", exc.error_class, str(exc)
        except OperationalError as exc:
            outcome.status, outcome.error_class = "failed", "database_error"
            outcome.message = f"lost the database: {first_line(exc)}"
            return outcome
        outcome.seconds, outcome.api_calls = time.monotonic() - started, client.counters.calls
        if outcome.run_id is not None:
            with engine.begin() as conn:
                loader.finish_run(conn, outcome.run_id, client, outcome.status, outcome.error_class, outcome.message)
    return outcome
