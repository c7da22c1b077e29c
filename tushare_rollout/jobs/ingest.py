"""``tushare-rollout job ingest``: load a batch's datasets over a window, resumable and idempotent.

Calendars and instrument lists load first (the rest is planned from them); then every dataset
runs concurrently in its own thread, each with its own client and so within its own API's rate
limit. Each dataset gets one ``ingest_runs`` row; a dataset that fails (no permission, say) is
recorded as failed and does not stop the others. Exit code: 0 all loaded, 3 a retryable failure,
4 a configuration or permission failure.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from .. import status
from ..db.base import Batch
from ..db.engine import BadDatabaseURL, first_line, make_engine, retryable, safe_url
from ..db.upsert import DuplicateKeys
from ..ingest import loader
from ..ingest.datasets import DATASETS, FIRST, Dataset, Plan, for_batch
from ..ingest.windows import lookback, minute_windows, plan, shard
from ..status import matrix
from ..tushare import errors
from ..tushare.client import TushareClient
from . import ExitCode
from .settings import JobSettings

log = logging.getLogger(__name__)
BEIJING = dt.timezone(dt.timedelta(hours=8))
MACRO_LOOKBACK_DAYS = 400


@dataclass
class DatasetOutcome:
    dataset: str
    run_id: int | None = None
    status: str = "succeeded"
    error_class: str | None = None
    message: str | None = None
    tally: loader.Tally = field(default_factory=loader.Tally)
    seconds: float = 0.0
    api_calls: int = 0


@dataclass
class IngestResult:
    code: ExitCode
    outcomes: list[DatasetOutcome]
    message: str

    def as_json(self) -> str:
        return json.dumps({"exitCode": int(self.code), "message": self.message,
                           "datasets": [{**asdict(o), "tally": asdict(o.tally)} for o in self.outcomes]},
                          default=str, ensure_ascii=False)


def run(settings: JobSettings, *, batch: Batch, datasets: list[str] | None = None, mode: str = "backfill",
        start: dt.date | None = None, end: dt.date | None = None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(BEIJING).date(),
        on_partition: Callable[[str], None] | None = None) -> IngestResult:
    chosen = _choose(batch, datasets)
    if isinstance(chosen, str):
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], chosen)
    if settings.database_url is None:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], "DATABASE_URL is not set")
    if settings.tushare_token is None:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], "TUSHARE_TOKEN is not set")
    if not 0 <= settings.shard_index < settings.shard_count:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [],
                            f"shard {settings.shard_index} of {settings.shard_count} does not exist")
    last = end or today() - dt.timedelta(days=1)  # today's data is not complete before the close
    first = start or settings.backfill_start
    if last < first:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], f"the window {first}..{last} is empty: --end before --start")
    try:
        engine = make_engine(settings.database_url.get_secret_value(), pool_size=settings.workers + 2)
    except BadDatabaseURL as exc:
        return IngestResult(ExitCode.BAD_CONFIGURATION, [], str(exc))
    try:
        outcomes = _ingest(engine, settings, chosen, mode, first, last, on_partition)
    except OperationalError as exc:  # before any dataset started (the targets, the plan): nothing was written
        return IngestResult(ExitCode.RETRYABLE, [], f"cannot reach PostgreSQL at {safe_url(engine.url)}: "
                                                    f"{first_line(exc)}")
    except DBAPIError as exc:  # e.g. a read-only database refusing the targets: nothing was written either
        return IngestResult(ExitCode.RETRYABLE if retryable(exc) else ExitCode.BAD_CONFIGURATION, [],
                            f"PostgreSQL at {safe_url(engine.url)} refused the work: {first_line(exc)}")
    finally:
        engine.dispose()
    return _verdict(outcomes, first, last)


def _choose(batch: Batch, names: list[str] | None) -> list[Dataset] | str:
    # realtime snapshots belong to the trading session: `job realtime` takes them, not the ingest
    available = [d for d in for_batch(batch) if d.plan is not Plan.REALTIME]
    if not available:
        return f"batch {batch.value} has no datasets yet"
    if not names:
        return available
    unknown = [n for n in names if n not in {d.name for d in available}]
    if unknown:
        return (f"unknown dataset(s) for batch {batch.value}: {', '.join(unknown)}; "
                f"known: {', '.join(d.name for d in available)}")
    return [DATASETS[n] for n in names]


def _ingest(engine: Engine, settings: JobSettings, chosen: list[Dataset], mode: str, first: dt.date, last: dt.date,
            on_partition: Callable[[str], None] | None) -> list[DatasetOutcome]:
    # calendars and lists first: the rest is planned from what they stored
    stages = [[d for d in chosen if d.name in FIRST], [d for d in chosen if d.name not in FIRST]]
    if any(d.plan in (Plan.TRADE_DATE, Plan.PERIOD) for d in stages[1]) and "trade_cal" not in {d.name for d in chosen}:
        # the window's calendar must be stored to plan trading days (and, for macro, to say which session
        # a release is usable in)
        stages[0].insert(0, DATASETS["trade_cal"])
    with engine.begin() as conn:
        # a dataset whose flag is off or whose API was denied is skipped (P2 modules are optional)
        off = status.applicability(conn, settings.rollout_batch) if settings.rollout_batch else {}
        # every chosen dataset is a target, in force or not: the status matrix then shows the ones that are
        # not as not_applicable, with the reason (flag off, no permission)
        loader.record_targets(conn, [d for d in chosen if d.plan is not Plan.MINUTES], first, settings.followed)
        for d in [d for d in chosen if d.plan is Plan.MINUTES]:  # minute history is kept from its own, later start
            window = lookback(loader.open_days(conn, d.calendar, first, last), last, settings.minute_days)
            loader.record_targets(conn, [d], window[0] if window else first, settings.followed)
    outcomes: list[DatasetOutcome] = [DatasetOutcome(d.name, status="skipped", message=off[d.name])
                                      for stage in stages for d in stage if off.get(d.name)]
    for d in [d for stage in stages for d in stage if off.get(d.name)]:
        _refresh_status(engine, settings, d, first, last)
    stages = [[d for d in stage if not off.get(d.name)] for stage in stages]
    for stage in stages:
        with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="ingest") as pool:
            outcomes += pool.map(lambda d: _one(engine, settings, d, mode, first, last, on_partition), stage)
    return outcomes


def _partitions(engine: Engine, settings: JobSettings, dataset: Dataset, mode: str, first: dt.date,
                last: dt.date) -> tuple[list, dt.date, dt.date]:
    with engine.connect() as conn:
        if dataset.plan is Plan.TRADE_DATE:
            days = loader.open_days(conn, dataset.calendar, first, last)
            if mode == "incremental":
                window = lookback(days, last, settings.lookback_days)
                days = [d for d in days if window and window[0] <= d]
                first, last = window if window else (first, last)
        elif mode == "incremental" and dataset.plan is Plan.EXCHANGE:
            # calendars are what the other windows are computed from, so they cannot be: take a month
            # either side in calendar days (exchanges publish their calendars ahead)
            first, last = last - dt.timedelta(days=31), last + dt.timedelta(days=31)
            days = []
        elif dataset.plan is Plan.EXCHANGE:
            # a backfill stores the calendar of every month the window touches: month-end snapshots and
            # the matrix need the whole month (exchanges publish their calendars ahead)
            first = first.replace(day=1)
            last = dt.date(last.year + last.month // 12, last.month % 12 + 1, 1) - dt.timedelta(days=1)
            days = []
        elif mode == "incremental" and dataset.plan is Plan.PERIOD:
            # macro values are revised months later (GDP: about nine): look back a year and a bit
            first = max(first, last - dt.timedelta(days=MACRO_LOOKBACK_DAYS))
            days = []
        elif dataset.plan is Plan.MINUTES:
            return _minute_partitions(conn, settings, dataset, mode, first, last)
        elif mode == "incremental" and dataset.plan is Plan.CODE:
            days = loader.open_days(conn, "SSE", first, last)
            window = lookback(days, last, settings.lookback_days)
            first, last = window if window else (first, last)
            days = []
        else:
            days = []
        parts = plan(dataset, days, first, last, codes=settings.followed.get(dataset.codes, []))
        if dataset.name not in FIRST:  # calendars and lists: every shard loads them (cheap, idempotent)
            parts = shard(parts, settings.shard_index, settings.shard_count)
        todo = loader.incomplete(conn, dataset, parts)
    return todo, first, last


def _minute_partitions(conn: Connection, settings: JobSettings, dataset: Dataset, mode: str, first: dt.date,
                       last: dt.date) -> tuple[list, dt.date, dt.date]:
    """Minute history over the last ``minute_days`` open days of the window (``lookback_days`` when
    incremental): per followed code, or per futures product its most traded contract of each day."""
    calendar = loader.open_days(conn, dataset.calendar, first - dt.timedelta(days=30), last)
    days = [d for d in calendar if d >= first]
    window = lookback(days, last, min(settings.minute_days, settings.lookback_days) if mode == "incremental"
                      else settings.minute_days)
    if window is None:
        return [], first, last
    first, last = window
    followed = settings.followed.get(dataset.codes, [])
    if dataset.codes == "futures":
        code_days = loader.top_contracts(conn, followed, first, last)
        traded = {c.split(".")[0].rstrip("0123456789") for c in code_days}
        lacking = [p for p in followed if p not in traded]
        if lacking:
            raise NoFuturesBars(f"{dataset.name} follows each product's most traded contract from the stored "
                                f"fut_daily bars, and none are stored for {', '.join(lacking)} over "
                                f"{first:%Y%m%d}..{last:%Y%m%d}: ingest P0 (fut_basic, fut_daily) first, or drop "
                                "the product from spec.universe.minuteFutures")
    else:
        code_days = {c: days for c in followed}
    parts = shard(minute_windows(dataset, code_days, calendar, first, last), settings.shard_index,
                  settings.shard_count)
    return loader.incomplete(conn, dataset, parts), first, last


class NoFuturesBars(Exception):
    """ft_mins cannot be planned: the contracts it follows are chosen from stored daily bars."""


def _one(engine: Engine, settings: JobSettings, dataset: Dataset, mode: str, first: dt.date, last: dt.date,
         on_partition: Callable[[str], None] | None) -> DatasetOutcome:
    outcome = DatasetOutcome(dataset.name)
    started = time.monotonic()
    with TushareClient(settings.tushare_api_url, settings.tushare_token,
                       settings.tushare_for(dataset.batch.value)) as client:
        try:
            todo, first, last = _partitions(engine, settings, dataset, mode, first, last)
            with engine.begin() as conn:
                outcome.run_id = loader.start_run(conn, dataset, mode, first, last,
                                                  (settings.shard_index, settings.shard_count), settings.job_name)
            for partition in todo:
                loader.load_partition(engine, client, dataset, partition, outcome.run_id, outcome.tally, mode)
                if on_partition:
                    on_partition(dataset.name)
        except errors.TushareError as exc:
            outcome.status, outcome.error_class, outcome.message = "failed", exc.error_class, str(exc)
        except DuplicateKeys as exc:
            outcome.status, outcome.error_class, outcome.message = "failed", "internal", str(exc)
        except NoFuturesBars as exc:
            outcome.status, outcome.error_class, outcome.message = "failed", "bad_configuration", str(exc)
        except OperationalError as exc:
            outcome.status, outcome.error_class = "failed", "database_error"
            outcome.message = f"lost the database: {first_line(exc)}"
        except DBAPIError as exc:  # read-only or full (retryable), or a refusal of the data itself
            outcome.status, outcome.error_class = "failed", "database_error" if retryable(exc) else "internal"
            outcome.message = f"the database refused the data: {first_line(exc)}"
        outcome.seconds = time.monotonic() - started
        outcome.api_calls = client.counters.calls
        if outcome.run_id is not None:
            try:
                with engine.begin() as conn:
                    loader.finish_run(conn, outcome.run_id, client, outcome.status, outcome.error_class,
                                      outcome.message)
            except DBAPIError as exc:
                log.warning("could not record the end of run %s: %s", outcome.run_id, first_line(exc))
            _refresh_status(engine, settings, dataset, first, last)
    t = outcome.tally
    log.info("%s dataset=%s partitions=%d rows=%d inserted=%d updated=%d unchanged=%d window=%s..%s in %.1fs%s",
             "loaded" if outcome.status == "succeeded" else "FAILED", dataset.name, t.partitions, t.fetched,
             t.inserted, t.updated, t.unchanged, f"{first:%Y%m%d}", f"{last:%Y%m%d}", outcome.seconds,
             f": {outcome.message}" if outcome.message else "")
    return outcome


def _refresh_status(engine: Engine, settings: JobSettings, dataset: Dataset, first: dt.date, last: dt.date) -> None:
    """The status cells of the window this run touched, as the stored rows now say. A failure here is
    logged and never changes the run's outcome: the matrix is recomputed by the next run or gate."""
    try:
        with engine.begin() as conn:
            cells = matrix.refresh(conn, [dataset.name], first, last,
                                   status.applicability(conn, settings.rollout_batch))
    except DBAPIError as exc:
        log.warning("status not refreshed dataset=%s: %s", dataset.name, first_line(exc))
        return
    log.info("status dataset=%s window=%s..%s %s", dataset.name, f"{first:%Y%m%d}", f"{last:%Y%m%d}",
             " ".join(f"{k}={v}" for k, v in sorted(cells.items())))


RETRYABLE_CLASSES = {"rate_limited", "server_error", "database_error"}


def _verdict(outcomes: list[DatasetOutcome], first: dt.date, last: dt.date) -> IngestResult:
    skipped = [o for o in outcomes if o.status == "skipped"]
    outcomes = [o for o in outcomes if o.status != "skipped"]
    failed = [o for o in outcomes if o.status != "succeeded"]
    rows = sum(o.tally.inserted + o.tally.updated for o in outcomes)
    summary = (f"{len(outcomes) - len(failed)}/{len(outcomes)} datasets loaded over {first:%Y%m%d}..{last:%Y%m%d}: "
               f"{sum(o.tally.partitions for o in outcomes)} partitions, {sum(o.tally.fetched for o in outcomes)} rows "
               f"fetched, {rows} written")
    if skipped:
        summary += "; skipped: " + "; ".join(f"{o.dataset} ({o.message})" for o in skipped)
    outcomes = outcomes + skipped
    if not failed:
        return IngestResult(ExitCode.OK, outcomes, summary)
    reasons = "; ".join(f"{o.dataset}: {o.message}" for o in failed)
    return IngestResult(failure_code(failed), outcomes, f"{summary}; failed: {reasons}")


def failure_code(failed: list[DatasetOutcome]) -> ExitCode:
    """3 when every failure is worth retrying (rate limits, a flaky server or database), else 4."""
    return ExitCode.RETRYABLE if all(o.error_class in RETRYABLE_CLASSES for o in failed) else ExitCode.BAD_CONFIGURATION
