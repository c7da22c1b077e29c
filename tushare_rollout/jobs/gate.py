"""``tushare-rollout job gate --phase X``: evaluate a phase's checks on the stored data and record them.

Exit code: 0 every check passed (WARNs allowed), 2 a FAIL-level check failed, 3 the gate could not
be evaluated (database unreachable, nothing to check yet), 4 bad configuration (unknown check in
the thresholds, no DATABASE_URL). The JSON summary goes to the termination log for the operator.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

from .. import status
from ..db import metadata, migrate
from ..db.base import Batch
from ..db.engine import BadDatabaseURL, first_line, make_engine, safe_url
from ..db.upsert import DuplicateKeys, upsert
from ..gates import runner
from ..gates.context import BEIJING, Context
from ..gates.runner import Report
from ..ingest.datasets import Dataset, for_batch
from ..tushare import errors
from ..tushare.client import TushareClient
from . import ExitCode
from .settings import JobSettings

PHASES = ("A", "B", "C", "D", "E")


@dataclass
class GateOutcome:
    code: ExitCode
    message: str
    report: Report | None = None

    def as_json(self) -> str:
        body = {"exitCode": int(self.code), "message": self.message}
        if self.report is not None:
            body.update(self.report.summary())
            body["failed"] = [{k: f[k] for k in ("check", "dataset", "value", "message")} | {"sample": f["sample"][:3]}
                              for f in body["failed"][:8]]
        return json.dumps(body, default=str, ensure_ascii=False)


def parse_as_of(value: str | None, now: Callable[[], dt.datetime]) -> dt.datetime:
    """``--as-of``: a date (the end of that Beijing day) or an ISO time (Beijing when it names no zone).

    >>> parse_as_of("2024-03-29", dt.datetime.now).isoformat()
    '2024-03-29T23:59:59+08:00'
    >>> parse_as_of("20240329T16:30", dt.datetime.now).isoformat()
    '2024-03-29T16:30:00+08:00'
    """
    if value is None:
        return now().astimezone(BEIJING)
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING)
    if len(text) > 8 and text[8] == "T" and text[:8].isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=BEIJING) if moment.tzinfo is None else moment


def run(settings: JobSettings, *, phase: str, as_of: dt.datetime, since: dt.date | None = None,
        floor: dt.date | None = None) -> GateOutcome:
    """``since``: the first trade date checked (default: the window); ``floor``: never check before it."""
    if phase not in PHASES:
        return GateOutcome(ExitCode.BAD_CONFIGURATION, f"--phase is one of {', '.join(PHASES)}, got {phase!r}")
    if settings.database_url is None:
        return GateOutcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database")
    try:
        checks = runner.thresholds(runner.checks_for(phase), settings.gates.thresholds,
                                   settings.gates.stable_trading_days)
    except ValueError as exc:
        return GateOutcome(ExitCode.BAD_CONFIGURATION, f"spec.gates.thresholds: {exc}")
    try:
        engine = make_engine(settings.database_url.get_secret_value())
    except BadDatabaseURL as exc:
        return GateOutcome(ExitCode.BAD_CONFIGURATION, str(exc))
    token = settings.tushare_token.get_secret_value().strip() if settings.tushare_token else ""
    client = TushareClient.from_settings(settings) if token else None  # without a token: no replay (a WARN)
    try:
        with engine.begin() as conn:
            outcome = _gate(conn, settings, phase, as_of, since, floor, checks, client)
    except OperationalError as exc:
        return GateOutcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}")
    except DBAPIError as exc:
        return GateOutcome(ExitCode.RETRYABLE, f"the gate's queries failed: {first_line(exc)}")
    finally:
        if client is not None:
            client.close()
        engine.dispose()
    return outcome


def _window_start(conn: Connection, last: dt.date, open_days: int) -> dt.date:
    """The first of the last ``open_days`` SSE open days up to ``last``."""
    first = conn.execute(text(
        "SELECT min(cal_date) FROM (SELECT cal_date FROM trade_calendar WHERE exchange = 'SSE' AND is_open"
        " AND cal_date <= :d ORDER BY cal_date DESC LIMIT :n) x"), {"d": last, "n": open_days}).scalar_one()
    return first or last


def _gate(conn: Connection, settings: JobSettings, phase: str, as_of: dt.datetime, since: dt.date | None,
          floor: dt.date | None, checks: list, client: TushareClient | None) -> GateOutcome:
    position = migrate.position(conn)
    if phase != "A" and not position.at_head:
        return GateOutcome(ExitCode.RETRYABLE, f"cannot evaluate: {position.describe()}")
    batches = runner.PHASE_BATCHES[phase]
    phase_datasets = [d for b in batches for d in for_batch(Batch(b))]
    off = status.applicability(conn, settings.rollout_batch)
    off = {d.name: off.get(d.name) for d in phase_datasets}
    datasets = [d for d in phase_datasets if off[d.name] is None]
    if phase == "D" and phase_datasets and not datasets:  # P2's modules are optional: none in force is a pass
        reasons = "; ".join(sorted(set(filter(None, off.values()))))
        return GateOutcome(ExitCode.OK, f"gate D: nothing to check, no P2 module is in force ({reasons})")
    if phase != "A" and not datasets:
        why = (f"phase {phase} has no datasets yet" if not phase_datasets else
               f"every dataset of phase {phase} is switched off ({'; '.join(sorted(set(filter(None, off.values()))))})")
        return GateOutcome(ExitCode.RETRYABLE, f"cannot evaluate: {why}")
    last = as_of.astimezone(BEIJING).date()
    if since is not None and since > last:
        return GateOutcome(ExitCode.BAD_CONFIGURATION, f"--since {since:%Y%m%d} is after the as-of day {last:%Y%m%d}")
    first = since or _window_start(conn, last, settings.gates.window_days)
    if floor is not None and floor > first:
        first = min(floor, last)
    ctx = Context(conn, phase, batches, datasets, first, last, as_of, settings.rollout_batch,
                  settings.gates.stable_trading_days, off, _replayer(conn, client) if client else None)
    if phase != "A" and all(ctx.last_due(d) < first for d in datasets if d.plan.value in ("trade_date", "code", "minutes")):
        return GateOutcome(ExitCode.RETRYABLE, f"cannot evaluate: nothing in {first:%Y%m%d}..{last:%Y%m%d} is due yet "
                                               f"at {as_of:%Y-%m-%d %H:%M %Z}")
    report = runner.evaluate(ctx, checks)
    runner.store(conn, ctx, report, settings.job_name)
    failed = report.failed
    verdict = "passed" if not failed else f"FAILED ({len(failed)} checks: " + \
        ", ".join(dict.fromkeys(r.check.name for r in failed)) + ")"
    message = (f"gate {phase} {verdict} over {first:%Y%m%d}..{last:%Y%m%d}: {len(report.results)} results, "
               f"{len(report.warned)} warnings")
    return GateOutcome(ExitCode.CHECK_FAILED if failed else ExitCode.OK, message, report)


def _replayer(conn: Connection, client: TushareClient) -> Callable[[Dataset, str], int | str]:
    """Re-ingest one closed partition in a savepoint that is rolled back: the rows it would change."""
    def replay(dataset: Dataset, key: str) -> int | str:
        try:
            rows = client.fetch(dataset.api, {**dataset.params, "trade_date": key}, fields=dataset.fields)
        except errors.TushareError as exc:
            return f"not replayed: {exc}"
        changed = 0
        savepoint = conn.begin_nested()
        try:
            for target in dataset.targets:
                mapped = list(dict.fromkeys(target.row(r) for r in rows))
                result = upsert(conn, metadata.tables[target.table], mapped, list(target.columns), run_id=0)
                changed += result.inserted + result.updated
        except DuplicateKeys as exc:
            return f"not replayed: {exc}"
        except OperationalError:
            raise
        except DBAPIError as exc:  # the source's rows no longer fit the table: that is a change, unmeasured
            return f"not replayed: the database refused the re-fetched rows: {first_line(exc)}"
        finally:
            savepoint.rollback()
        return changed
    return replay
