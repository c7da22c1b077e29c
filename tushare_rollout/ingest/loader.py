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
from ..db.extension import MONTH_PARTITIONED
from ..db.partitions import ensure_partitions_for
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


def stored_minutes(conn: Connection, dataset: Dataset, partition: Partition) -> int:
    """Rows the minute table holds for a minute-history window (its code, from its start to its end)."""
    return conn.execute(text(
        f"SELECT count(*) FROM {dataset.targets[0].table} WHERE code = :code AND freq = :freq"
        " AND trade_time > CAST(:a AS timestamp) AT TIME ZONE 'Asia/Shanghai'"
        " AND trade_time <= CAST(:b AS timestamp) AT TIME ZONE 'Asia/Shanghai'"),
        {"code": partition.params[dataset.code_param], "freq": dataset.params["freq"],
         "a": partition.params["start_date"], "b": partition.params["end_date"]}).scalar_one()


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
        elif dataset.plan is Plan.MINUTES and stored_minutes(conn, dataset, p) < done[p.key]:
            out.append(p)
    return out


def top_contracts(conn: Connection, products: list[str], first: dt.date, last: dt.date) -> dict[str, list[dt.date]]:
    """Per futures contract, the open days it was its product's most traded (stored daily bars, P0's
    ``fut_daily``): the contracts whose minutes ``ft_mins`` follows. Main and continuous codes, which
    repeat another contract's bar, are not contracts (their instrument has no delivery month)."""
    rows = conn.execute(text(
        "SELECT DISTINCT ON (i.product_code, b.trade_date) b.code, b.trade_date FROM daily_bar b"
        " JOIN instrument i ON i.asset_class = 'future' AND i.code = b.code"
        " WHERE b.asset_class = 'future' AND i.product_code = ANY(:products) AND i.attrs ? 'd_month'"
        " AND b.trade_date BETWEEN :a AND :b AND b.volume > 0"
        " ORDER BY i.product_code, b.trade_date, b.volume DESC, b.code"),
        {"products": products, "a": first, "b": last}).all()
    out: dict[str, list[dt.date]] = {}
    for code, day in sorted(rows, key=lambda r: (r[0], r[1])):
        out.setdefault(code, []).append(day)
    return out


PER_CODE = (Plan.CODE, Plan.MINUTES, Plan.REALTIME)  # followed per code (futures minutes: per product)


def record_targets(conn: Connection, datasets: list[Dataset], start: dt.date, codes: Mapping[str, list[str]]) -> None:
    """What should exist from now on: each dataset over the market, or over each followed code
    (``codes``: the followed lists by name, ``index`` and ``fx``); a code no longer followed is disabled."""
    rows = [{"d": d.name, "scope": c, "batch": d.batch.value, "ac": d.asset_class, "start": start}
            for d in datasets for c in (codes.get(d.codes, []) if d.plan in PER_CODE else ["market"])]
    for d in datasets:
        if d.plan in PER_CODE:
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
    if not rows and dataset.plan in (Plan.TRADE_DATE, Plan.MINUTES) and not dataset.may_be_empty:
        # an open day (a code's window) without rows is not published yet (or not at all): leave it for the
        # next run
        tally.empty += 1
        log.info("no rows yet dataset=%s partition=%s; left open", dataset.name, partition.key)
        return
    partitioned = [t for t in dataset.targets if t.table in MONTH_PARTITIONED]
    if partitioned:  # the months' partitions, in their own short transaction (creating one locks the parent)
        with engine.begin() as conn:
            ensure_partitions_for(conn, {t.columns[MONTH_PARTITIONED[t.table]](r) for t in partitioned for r in rows})
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
