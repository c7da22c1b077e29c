"""``tushare-rollout job rollback-drill``: phase E's rollback drill, on a disposable copy of the data.

The drill proves, on the real data of this rollout and without touching what readers see, that P2 can
be rolled back and rolled forward again:

1. a scratch schema ``tsr_drill_<id>`` is built at the schema's head and filled with a copy of every
   table (sequences moved past the copied ids);
2. in the copy, ``job rollback --phase D --purge-data`` runs: readers must then see no P2 row in any
   P2 view, and exactly the rows they saw before in every P0/P1 view;
3. in the copy, P2 is rolled forward: ``job ingest --batch P2`` over the windows P2 was loaded for,
   then ``job publish --phase D``;
4. every data table must then hold the same rows as before the rollback (``db.checksums``: row counts
   and an md5 over every column but lineage, in key order). Realtime snapshots cannot be fetched again (they were a
   moment of a session), so their tables are left out of the comparison and say so.

The scratch schema is dropped whatever happens. The result is stored in ``rollback_drills`` under the
Job's name (the operator shows it in ``status.phases.E.drill``) and printed. Exit codes: 0 passed,
2 the drill found a difference, 3 retryable (database or Tushare unreachable), 4 bad configuration.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from ..db import metadata, migrate
from ..db.checksums import checksums
from ..db.base import Batch
from ..db.engine import first_line, make_engine, safe_url
from ..db.extension import MONTH_PARTITIONED
from ..ingest.datasets import Plan, for_batch
from . import ExitCode, fit_json
from . import ingest as ingest_job
from . import publish as publish_job
from . import rollback as rollback_job
from .settings import JobSettings

PROVISIONAL = ("realtime_quote", "realtime_minute_bar")  # snapshots of a session: not re-creatable
P2_VIEWS = ("v_minute_bar", "v_realtime_minute_bar", "v_realtime_quote", "v_fut_warehouse_receipt", "v_fut_holding",
            "v_stk_premarket")


@dataclass
class DrillOutcome:
    code: ExitCode
    message: str
    record: dict[str, Any] = field(default_factory=dict)

    def as_json(self, limit: int = 4095) -> str:
        return fit_json({"exitCode": int(self.code), "message": self.message, **self.record}, limit)


def scratch_url(url: str, schema: str) -> str:
    """``url`` with every connection's search path set to ``schema`` (so the jobs work in the copy).

    >>> scratch_url("postgresql+psycopg://u:p@h:5432/db", "tsr_drill_ab12")
    'postgresql+psycopg://u:p@h:5432/db?options=-csearch_path%3Dtsr_drill_ab12'
    """
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def view_rows(conn: Connection, views: Iterable[str]) -> dict[str, int]:
    return {v: int(conn.execute(text(f"SELECT count(*) FROM {v}")).scalar_one()) for v in views}


def run(settings: JobSettings, *, end: dt.date | None = None) -> DrillOutcome:
    if settings.database_url is None:
        return DrillOutcome(ExitCode.BAD_CONFIGURATION, "DATABASE_URL is not set: point it at the PostgreSQL database")
    if not settings.rollout_batch:
        return DrillOutcome(ExitCode.BAD_CONFIGURATION, "TSR_ROLLOUT_BATCH is not set: name the RolloutBatch")
    url = settings.database_url.get_secret_value()
    engine = make_engine(url)
    schema = f"tsr_drill_{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    try:
        with engine.begin() as conn:
            position = migrate.position(conn)
            if not position.at_head:
                return DrillOutcome(ExitCode.BAD_CONFIGURATION, f"cannot drill: {position.describe()}")
            source = conn.execute(text("SELECT current_schema()")).scalar_one()
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            record = _drill(engine, settings, url, source, schema, end)
        finally:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        record["seconds"] = round(time.monotonic() - started, 1)
        with engine.begin() as conn:
            _store(conn, settings, schema, record)
    except OperationalError as exc:
        return DrillOutcome(ExitCode.RETRYABLE, f"cannot reach PostgreSQL at {safe_url(engine.url)}: {first_line(exc)}")
    except DBAPIError as exc:
        return DrillOutcome(ExitCode.BAD_CONFIGURATION, f"the drill failed at {safe_url(engine.url)}: {first_line(exc)}")
    finally:
        engine.dispose()
    if record.get("retryable"):
        return DrillOutcome(ExitCode.RETRYABLE, record["message"], record)
    return DrillOutcome(ExitCode.OK if record["passed"] else ExitCode.CHECK_FAILED, record["message"], record)


def _drill(engine: Engine, settings: JobSettings, url: str, source: str, schema: str, end: dt.date | None
           ) -> dict[str, Any]:
    copy_url = scratch_url(url, schema)
    copy = make_engine(copy_url)
    in_copy = settings.model_copy(update={"database_url": type(settings.database_url)(copy_url),
                                          "termination_log": "/dev/null"})
    differences: list[str] = []
    try:
        migrate.upgrade(copy)
        with copy.begin() as conn:
            _copy_tables(conn, source)
            tables = rollback_job.data_tables()
            before = checksums(conn, tables)
            views = view_rows(conn, _views(conn))
            windows = _p2_windows(conn)
            followed = _followed(conn)
        p2_views = [v for v in views if v in P2_VIEWS]
        kept_views = [v for v in views if v not in P2_VIEWS]
        rolled = rollback_job.run(in_copy, phase="D", purge_data=True)
        if rolled.code is not ExitCode.OK:
            return _failed(f"the rollback of P2 in the copy failed: {rolled.message}", rolled.code)
        with copy.connect() as conn:
            after_rollback = view_rows(conn, views)
            rows_after_rollback = {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                                   for t in tables}
        lost = {v: {"before": views[v], "after": after_rollback[v]} for v in p2_views}
        kept = {v: views[v] for v in kept_views}
        differences += [f"{v}: readers still see {n} P2 rows after the rollback" for v, n in after_rollback.items()
                        if v in p2_views and n]
        differences += [f"{v}: readers saw {views[v]} rows before the rollback of P2 and {after_rollback[v]} after"
                        for v in kept_views if after_rollback[v] != views[v]]
        forward = []
        for first, last, minute_days in windows:
            step = in_copy.model_copy(update={"minute_days": minute_days, **followed})
            loaded = ingest_job.run(step, batch=Batch.P2, mode="backfill", start=first, end=end or last)
            forward.append(loaded.message)
            if loaded.code is not ExitCode.OK:
                return _failed(f"rolling P2 forward in the copy failed: {loaded.message}", loaded.code)
        published = publish_job.run(in_copy, phase="D")
        if published.code is not ExitCode.OK:
            return _failed(f"publishing P2 again in the copy failed: {published.message}", published.code)
        with copy.connect() as conn:
            after = checksums(conn, tables)
            views_after = view_rows(conn, views)
        compared = [t for t in tables if t not in PROVISIONAL]
        differences += [f"{t}: {before[t][0]} rows before, {after[t][0]} after the roll-forward"
                        + ("" if before[t][0] != after[t][0] else " (same count, different values)")
                        for t in compared if before[t] != after[t]]
        differences += [f"{v}: readers saw {views[v]} rows before and {views_after[v]} after the roll-forward"
                        for v in views if v not in ("v_realtime_minute_bar", "v_realtime_quote")
                        and views_after[v] != views[v]]
    finally:
        copy.dispose()
    table_rows = {t: {"before": before[t][0], "afterRollback": rows_after_rollback[t], "afterRollForward": after[t][0],
                      **({"compared": False, "why": "realtime snapshots cannot be fetched again"}
                         if t in PROVISIONAL else {"identical": before[t] == after[t]})}
                  for t in tables}
    p2_rows = sum(v["before"] for v in lost.values())
    passed = not differences
    message = (f"rollback drill {'passed' if passed else 'FAILED'} on a copy ({len(compared)} tables compared): "
               f"readers lost {p2_rows} P2 rows across {sum(1 for v in lost.values() if v['before'])} views and "
               f"kept {sum(kept.values())} P0/P1 rows; rolled forward over {len(windows)} window(s), "
               + ("every table identical" if passed else f"{len(differences)} differences: " + "; ".join(differences[:5])))
    return {"passed": passed, "message": message, "readersLost": lost, "readersKept": kept, "tables": table_rows,
            "differences": differences, "rollForward": forward}


def _failed(message: str, code: ExitCode) -> dict[str, Any]:
    return {"passed": False, "message": message, "differences": [message], "retryable": code is ExitCode.RETRYABLE}


def _views(conn: Connection) -> list[str]:
    return list(conn.execute(text(
        "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"
        " AND table_name LIKE 'v\\_%' ORDER BY 1")).scalars())


def _copy_tables(conn: Connection, source: str) -> None:
    """Every table of the model, rows as they are in ``source``; identities moved past the copied ids."""
    for table in metadata.sorted_tables:
        if table.name in MONTH_PARTITIONED:
            moment = MONTH_PARTITIONED[table.name]
            lo, hi = conn.execute(text(f'SELECT min({moment}), max({moment}) FROM "{source}".{table.name}')).one()
            if lo is not None:
                conn.execute(text("SELECT tsr_ensure_minute_partitions(:a, :b)"),
                             {"a": lo.astimezone(dt.timezone(dt.timedelta(hours=8))).date().replace(day=1),
                              "b": hi.astimezone(dt.timezone(dt.timedelta(hours=8))).date().replace(day=1)})
        columns = ", ".join(f'"{c.name}"' for c in table.c)
        conn.execute(text(f"DELETE FROM {table.name}"))  # rows the migrations seeded (read switches)
        conn.execute(text(f'INSERT INTO {table.name} ({columns}) SELECT {columns} FROM "{source}".{table.name}'))
        for column in table.c:
            if column.identity is not None:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence(:t, :c), coalesce(max({column.name}), 0) + 1, false)"
                    f" FROM {table.name}"), {"t": table.name, "c": column.name})


def _p2_windows(conn: Connection) -> list[tuple[dt.date, dt.date, int]]:
    """The windows P2 was loaded over (its backfill and daily runs, merged), and the open days of minute
    history each needs, so the roll-forward loads what was there and nothing else."""
    row = conn.execute(text(
        "SELECT min(window_start), max(window_end) FROM ingest_runs WHERE batch = 'P2' AND mode <> 'realtime'"
        " AND status = 'succeeded'")).one()
    if row[0] is None:
        return []
    first, last = row
    minute = [d.name for d in for_batch(Batch.P2) if d.plan is Plan.MINUTES]
    since = conn.execute(text("SELECT min(start_date) FROM ingest_targets WHERE dataset = ANY(:d) AND enabled"),
                         {"d": minute}).scalar_one()
    days = conn.execute(text(
        "SELECT count(*) FROM trade_calendar WHERE exchange = 'SSE' AND is_open AND cal_date BETWEEN :a AND :b"),
        {"a": since or last, "b": last}).scalar_one()
    return [(first, last, max(1, int(days)))]


def _followed(conn: Connection) -> dict[str, list[str]]:
    """The codes P2 was loaded for (its targets), as settings: the roll-forward fetches what was there."""
    scopes = dict(conn.execute(text(
        "SELECT dataset, array_agg(scope ORDER BY scope) FROM ingest_targets WHERE batch = 'P2' AND enabled"
        " AND scope <> 'market' GROUP BY dataset")).all())
    out: dict[str, list[str]] = {}
    for dataset, setting in (("idx_mins", "index_codes"), ("stk_mins", "minute_codes"),
                             ("ft_mins", "minute_futures")):
        if dataset in scopes:
            out[setting] = list(scopes[dataset])
    return out


def _store(conn: Connection, settings: JobSettings, schema: str, record: dict[str, Any]) -> None:
    conn.execute(text(
        "INSERT INTO rollback_drills (rollout_batch, job_name, passed, scratch_schema, readers_lost, readers_kept,"
        " tables, differences, message, started_at, finished_at) VALUES (:rb, :job, :passed, :schema,"
        " CAST(:lost AS jsonb), CAST(:kept AS jsonb), CAST(:tables AS jsonb), CAST(:diff AS jsonb), :message,"
        " clock_timestamp() - make_interval(secs => :seconds), clock_timestamp())"),
        {"rb": settings.rollout_batch, "job": settings.job_name, "passed": record["passed"], "schema": schema,
         "lost": json.dumps(record.get("readersLost", {})), "kept": json.dumps(record.get("readersKept", {})),
         "tables": json.dumps(record.get("tables", {})), "diff": json.dumps(record.get("differences", [])),
         "message": record["message"], "seconds": record.get("seconds", 0)})
