"""The generic loader: fetch a partition, map it through the dataset table, and commit its rows,
its checkpoint and its run counters in one transaction.

A kill at any moment therefore leaves every partition either whole (rows + checkpoint) or
absent; the rerun resumes at the first partition without a checkpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from ..db import metadata
from ..db.upsert import upsert
from ..tushare.client import TushareClient
from . import vintages
from .datasets import Dataset, Plan, Writer
from .windows import Partition

log = logging.getLogger(__name__)


@dataclass
class Tally:
    partitions: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # partitions already checkpointed
    empty: int = 0  # open days the source had no rows for yet: left without a checkpoint


def open_days(conn: Connection, exchange: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """Open days from the stored calendar (the SSOT), not from a guess."""
    return list(conn.execute(text(
        "SELECT cal_date FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date BETWEEN :a AND :b "
        "ORDER BY cal_date"), {"x": exchange, "a": start, "b": end}).scalars())


def checkpoints(conn: Connection, dataset: str) -> dict[str, int]:
    """Partition key -> rows recorded for every complete partition of ``dataset``."""
    return dict(conn.execute(text(
        "SELECT partition_key, rows FROM ingest_checkpoints WHERE dataset = :d"), {"d": dataset}).all())


def stored_rows(conn: Connection, dataset: Dataset, day: dt.date) -> int:
    """Rows the first target table holds for ``day`` (and the dataset's asset class)."""
    target = dataset.targets[0]
    where = "trade_date = :day"
    if "asset_class" in target.columns:
        where += " AND asset_class = :ac"
    return conn.execute(text(f"SELECT count(*) FROM {target.table} WHERE {where}"),
                        {"day": day, "ac": dataset.asset_class}).scalar_one()


def incomplete(conn: Connection, dataset: Dataset, partitions: list[Partition]) -> list[Partition]:
    """Partitions the data shows incomplete: no checkpoint, or fewer rows stored than were committed
    (rows removed since, e.g. by a rollback). Never a bare max(date) watermark, which misses holes."""
    done = checkpoints(conn, dataset.name)
    out = []
    for p in partitions:
        if p.refresh or p.key not in done:
            out.append(p)
        elif dataset.plan is Plan.TRADE_DATE and p.trade_date and stored_rows(conn, dataset, p.trade_date) < done[p.key]:
            out.append(p)
    return out


def record_targets(conn: Connection, datasets: list[Dataset], start: dt.date, codes: Mapping[str, list[str]]) -> None:
    """What should exist from now on: each dataset over the market, or over each followed code
    (``codes``: the followed lists by name, ``index`` and ``fx``); a code no longer followed is disabled."""
    rows = [{"d": d.name, "scope": c, "batch": d.batch.value, "ac": d.asset_class, "start": start}
            for d in datasets for c in (codes.get(d.codes, []) if d.plan is Plan.CODE else ["market"])]
    for d in datasets:
        if d.plan is Plan.CODE:
            conn.execute(text(
                "UPDATE ingest_targets SET enabled = false, updated_at = now() WHERE dataset = :d AND enabled"
                " AND NOT (scope = ANY(:codes))"), {"d": d.name, "codes": codes.get(d.codes, [])})
    if not rows:
        return
    conn.execute(text(
        "INSERT INTO ingest_targets (dataset, scope, batch, asset_class, start_date, enabled)"
        " VALUES (:d, :scope, :batch, :ac, :start, true) ON CONFLICT (dataset, scope) DO UPDATE SET"
        " enabled = true, start_date = least(ingest_targets.start_date, EXCLUDED.start_date), updated_at = now()"),
        rows)


def start_run(conn: Connection, dataset: Dataset, mode: str, start: dt.date, end: dt.date, shard: tuple[int, int],
              job_name: str | None) -> int:
    return conn.execute(text(
        "INSERT INTO ingest_runs (batch, dataset, mode, window_start, window_end, shard_index, shard_count, job_name)"
        " VALUES (:batch, :dataset, :mode, :start, :end, :i, :n, :job) RETURNING run_id"),
        {"batch": dataset.batch.value, "dataset": dataset.name, "mode": mode, "start": start, "end": end,
         "i": shard[0], "n": shard[1], "job": job_name}).scalar_one()


def finish_run(conn: Connection, run_id: int, client: TushareClient, status: str,
               error_class: str | None = None, error_message: str | None = None) -> None:
    conn.execute(text(
        "UPDATE ingest_runs SET status = :status, finished_at = now(), error_class = :ec, error_message = :em,"
        " api_calls = :calls, rate_limit_hits = :hits, retries = :retries, wait_ms = :wait WHERE run_id = :run"),
        {"status": status, "ec": error_class, "em": error_message, "run": run_id, **_client_counters(client)})


def _client_counters(client: TushareClient) -> dict[str, int]:
    c = client.counters.as_ingest_run()
    return {"calls": c["api_calls"], "hits": c["rate_limit_hits"], "retries": c["retries"], "wait": c["wait_ms"]}


def load_partition(engine: Engine, client: TushareClient, dataset: Dataset, partition: Partition, run_id: int,
                   tally: Tally, mode: str = "backfill") -> None:
    """Fetch one partition and commit its rows, checkpoint and run counters together."""
    rows = client.fetch(dataset.api, {**dataset.params, **partition.params}, fields=dataset.fields)
    seen = dt.datetime.now(dt.timezone.utc)
    if not rows and dataset.plan is Plan.TRADE_DATE and not dataset.may_be_empty:
        # an open day without rows is not published yet (or not at all): leave it for the next run
        tally.empty += 1
        log.info("no rows yet dataset=%s partition=%s; left open", dataset.name, partition.key)
        return
    with engine.begin() as conn:
        inserted = updated = unchanged = 0
        stored = None  # rows of the first target: what the checkpoint records and the gates compare with
        if dataset.writer is not Writer.UPSERT:  # macro vintages, the release calendar: append, never update
            result = vintages.write(conn, dataset, rows, run_id, forward=mode == "incremental", now=seen)
            inserted, updated, unchanged, stored = result.inserted, result.revised, result.unchanged, len(rows)
        for target in dataset.targets if dataset.writer is Writer.UPSERT else ():
            table = metadata.tables[target.table]
            mapped = list(dict.fromkeys(target.row(r) for r in rows))  # exact duplicates collapse; conflicts fail
            stored = len(mapped) if stored is None else stored
            result = upsert(conn, table, mapped, list(target.columns), run_id=run_id)
            inserted, updated, unchanged = (inserted + result.inserted, updated + result.updated,
                                            unchanged + result.unchanged)
        conn.execute(text(
            "INSERT INTO ingest_checkpoints (dataset, partition_key, run_id, rows) VALUES (:d, :k, :run, :rows)"
            " ON CONFLICT (dataset, partition_key) DO UPDATE SET run_id = EXCLUDED.run_id, rows = EXCLUDED.rows,"
            " completed_at = now()"), {"d": dataset.name, "k": partition.key, "run": run_id, "rows": stored or 0})
        conn.execute(text(
            "UPDATE ingest_runs SET rows_fetched = rows_fetched + :fetched, rows_inserted = rows_inserted + :ins,"
            " rows_updated = rows_updated + :upd, rows_unchanged = rows_unchanged + :same,"
            " partitions_written = partitions_written + 1, checkpoint = :key,"
            " api_calls = :calls, rate_limit_hits = :hits, retries = :retries, wait_ms = :wait WHERE run_id = :run"),
            {"fetched": len(rows), "ins": inserted, "upd": updated, "same": unchanged, "key": partition.key,
             "run": run_id, **_client_counters(client)})
    log.info("committed dataset=%s partition=%s rows=%d inserted=%d updated=%d",
             dataset.name, partition.key, len(rows), inserted, updated)
    tally.partitions += 1
    tally.fetched += len(rows)
    tally.inserted += inserted
    tally.updated += updated
    tally.unchanged += unchanged
