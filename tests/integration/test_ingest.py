"""P0 ingestion end to end: the local Tushare server over HTTP, the real CLI, real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.postgres import EmbeddedPostgres
from tushare_rollout.ingest.datasets import DATASETS, Plan
from tushare_rollout.tushare.client import TushareClient
from tushare_rollout.tushare.server.app import LocalTushareServer
from tushare_rollout.tushare.server.faults import FaultPlan

import helpers

START, END = "20240102", "20240329"  # spans the 2024 Spring Festival closure
TABLES = ["trade_calendar", "instrument", "daily_bar", "adj_factor", "stock_suspension", "stock_daily_basic",
          "index_weight", "future_daily_extra", "sge_daily_extra"]
# per trade-date dataset: the table and a value column that is stored exactly as the API sends it
PROBE = {
    "daily": ("daily_bar", "close", "stock"), "fund_daily": ("daily_bar", "close", "etf"),
    "adj_factor": ("adj_factor", "adj_factor", "stock"), "fund_adj": ("adj_factor", "adj_factor", "etf"),
    "suspend_d": ("stock_suspension", "suspend_type", None),
    "daily_basic": ("stock_daily_basic", "total_mv", None), "fut_daily": ("future_daily_extra", "settle", None),
    "sge_daily": ("sge_daily_extra", "price_avg", None),
}
FAST_CLIENT = {**helpers.FAST_CLIENT, "TSR_TUSHARE__TIMEOUT": "2"}  # the fault tests want timeouts to bite early


def cli_env(database_url: str, server: LocalTushareServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSR_", "JOB_COMPLETION"))}
    return {**env, "DATABASE_URL": database_url, "TUSHARE_API_URL": server.url, "TUSHARE_TOKEN": "demo:all",
            "TSR_TERMINATION_LOG": os.devnull, **FAST_CLIENT, **extra}


def ingest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", START, "--end", END,
                           *args], env=env, capture_output=True, text=True, timeout=600)


def checksums(engine: Engine) -> dict[str, tuple[int, str]]:
    return helpers.checksums(engine, TABLES)


@pytest.fixture(scope="module")
def reference(tushare, devcluster) -> Iterator[tuple[Engine, subprocess.CompletedProcess[str], dict]]:
    """One uninterrupted backfill of every P0 dataset, shared by the tests that compare against it."""
    name = "ingest_reference"
    url = devcluster.postgres.create_database(name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    first = ingest(cli_env(url, tushare))
    yield engine, first, checksums(engine)
    engine.dispose()
    devcluster.postgres.drop_database(name)


@pytest.fixture
def fresh(migrated_url: str) -> Iterator[tuple[str, Engine]]:
    engine = make_engine(migrated_url)
    yield migrated_url, engine
    engine.dispose()


def test_backfill_stores_exactly_what_the_server_serves(reference, tushare) -> None:
    engine, first, _ = reference
    assert first.returncode == 0, first.stderr[-2000:]
    assert "16/16 datasets loaded" in first.stdout
    with engine.connect() as conn, TushareClient(tushare.url, "demo:all") as client:
        open_days = conn.execute(text("SELECT cal_date FROM trade_calendar WHERE exchange = 'SSE' AND is_open"
                                      " AND cal_date BETWEEN :a AND :b ORDER BY 1"), {"a": START, "b": END}).scalars().all()
        assert dt.date(2024, 2, 12) not in open_days and len(open_days) == 58
        for dataset, (table, column, asset_class) in PROBE.items():
            where = "AND asset_class = :ac" if asset_class else ""
            code_col = "code"
            stored = {
                day: Counter(conn.execute(text(
                    f"SELECT {code_col}, {column} FROM {table} WHERE trade_date = :d {where}"),
                    {"d": day, "ac": asset_class}).all())
                for day in open_days
            }
            for day in open_days:
                served = client.fetch(DATASETS[dataset].api, {"trade_date": f"{day:%Y%m%d}"},
                                      fields=f"ts_code,{'adj_factor' if column == 'adj_factor' else column}")
                assert stored[day] == Counter((r["ts_code"], r[column]) for r in served), (dataset, day)
            closed = conn.execute(text(
                f"SELECT count(*) FROM {table} WHERE trade_date BETWEEN '2024-02-09' AND '2024-02-17' {where}"),
                {"ac": asset_class}).scalar()
            assert closed == 0, dataset
        # units: the unified bar holds shares and yuan
        bar = conn.execute(text("SELECT code, trade_date, volume, amount FROM daily_bar WHERE asset_class = 'stock'"
                                " ORDER BY code, trade_date LIMIT 1")).one()
        served = client.fetch("daily", {"ts_code": bar.code, "trade_date": f"{bar.trade_date:%Y%m%d}"})[0]
        assert bar.volume == pytest.approx(served["vol"] * 100) and bar.amount == pytest.approx(served["amount"] * 1000)
        for code in ("000300.SH", "399006.SZ"):  # by-code datasets
            served = client.fetch("index_daily", {"ts_code": code, "start_date": START, "end_date": END})
            assert conn.execute(text("SELECT count(*) FROM daily_bar WHERE asset_class = 'index' AND code = :c"),
                                {"c": code}).scalar() == len(served) > 50


def test_every_run_is_recorded_with_its_counters(reference) -> None:
    engine, _, _ = reference
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT dataset, status, rows_fetched, rows_inserted, api_calls, partitions_written,"
                                 " retries, rate_limit_hits FROM ingest_runs ORDER BY run_id")).all()
    by_dataset = {r.dataset: r for r in runs}
    assert set(by_dataset) == {n for n, d in DATASETS.items() if d.batch.value == "P0"}
    assert all(r.status == "succeeded" for r in runs)
    daily = by_dataset["daily"]
    # one call per trading day; a call repeated after a timeout or a rate-limit reply (a loaded machine) is counted
    assert daily.partitions_written == 58 and daily.rows_inserted == daily.rows_fetched
    assert daily.api_calls - daily.retries - daily.rate_limit_hits == 58


def test_rerunning_the_same_backfill_writes_nothing(reference, tushare) -> None:
    engine, _, before = reference
    with engine.connect() as conn:
        url = conn.engine.url.render_as_string(hide_password=False)
        last_run = conn.execute(text("SELECT max(run_id) FROM ingest_runs")).scalar()
    again = ingest(cli_env(url, tushare))
    assert again.returncode == 0, again.stderr[-2000:]
    with engine.connect() as conn:
        written = conn.execute(text("SELECT coalesce(sum(rows_inserted + rows_updated), 0) FROM ingest_runs"
                                    " WHERE run_id > :r"), {"r": last_run}).scalar()
    assert written == 0
    assert checksums(engine) == before


def _committed_lines(proc: subprocess.Popen[str]) -> Iterator[str]:
    for line in proc.stderr:
        if line.startswith("committed "):
            yield line


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_backfill_resumes_to_identical_tables(reference, tushare, fresh, seed: int) -> None:
    url, engine = fresh
    _, _, expected = reference
    kill_after = random.Random(seed).randint(3, 250)
    proc = subprocess.Popen([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", START, "--end", END],
                            env=cli_env(url, tushare), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for n, _ in enumerate(_committed_lines(proc), start=1):
            if n == kill_after:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=120)
    finally:
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert checksums(engine) != expected  # it really was cut short
    resumed = ingest(cli_env(url, tushare))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert checksums(engine) == expected


def test_faults_do_not_change_the_data(reference, devcluster, fresh) -> None:
    url, engine = fresh
    _, _, expected = reference
    plan = FaultPlan.parse("5xx=0.03,timeout=0.01,truncate=0.02,nonjson=0.02,reset=0.02,ratelimit=0.03", seed=5,
                           timeout_seconds=4)
    with LocalTushareServer(seed=7, faults=plan, rate_window_seconds=1).start() as faulty:
        result = ingest(cli_env(url, faulty))
    assert result.returncode == 0, result.stderr[-2000:]
    assert checksums(engine) == expected
    with engine.connect() as conn:
        retries, hits = conn.execute(text("SELECT sum(retries), sum(rate_limit_hits) FROM ingest_runs")).one()
    assert retries > 0 and hits > 0


def test_two_shards_split_the_partitions_without_overlap_or_gap(reference, tushare, fresh) -> None:
    url, engine = fresh
    ref_engine, _, expected = reference
    for index in (0, 1):
        shard = ingest(cli_env(url, tushare, TSR_SHARD_INDEX=str(index), TSR_SHARD_COUNT="2"))
        assert shard.returncode == 0, shard.stderr[-2000:]
    query = text("SELECT c.dataset, c.partition_key, r.shard_index FROM ingest_checkpoints c"
                 " JOIN ingest_runs r USING (run_id)")
    with engine.connect() as conn:
        by_shard: dict[int, set] = {0: set(), 1: set()}
        for dataset, key, index in conn.execute(query):
            if DATASETS[dataset].plan in (Plan.TRADE_DATE, Plan.CODE):
                by_shard[index].add((dataset, key))
    with ref_engine.connect() as conn:
        everything = {(d, k) for d, k, _ in conn.execute(query) if DATASETS[d].plan in (Plan.TRADE_DATE, Plan.CODE)}
    assert by_shard[0] and by_shard[1]
    assert by_shard[0] & by_shard[1] == set()
    assert by_shard[0] | by_shard[1] == everything
    assert checksums(engine) == expected


def test_postgres_restarted_mid_run(reference, tushare, tmp_path: Path) -> None:
    _, _, expected = reference
    (tmp_path / "pg").mkdir()
    pg = EmbeddedPostgres(tmp_path / "pg").start()
    try:
        url = pg.create_database("restarted").render_as_string(hide_password=False)
        engine = make_engine(url)
        migrate.upgrade(engine)
        proc = subprocess.Popen([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", START,
                                 "--end", END], env=cli_env(url, tushare), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            for n, _ in enumerate(_committed_lines(proc), start=1):
                if n == 60:
                    pg.restart()
                    break
            out, err = proc.communicate(timeout=300)
        finally:
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode in (0, 3), err[-2000:]
        if proc.returncode == 3:
            assert "database" in err.lower()
        with engine.connect() as conn:  # no partition half-written: stored days are exactly the checkpointed ones
            for dataset in ("daily", "adj_factor", "fut_daily"):
                table, _, asset_class = PROBE[dataset]
                where = "WHERE asset_class = :ac" if asset_class else ""
                days = {f"{d:%Y%m%d}" for d in conn.execute(text(f"SELECT DISTINCT trade_date FROM {table} {where}"),
                                                             {"ac": asset_class}).scalars()}
                keys = set(conn.execute(text("SELECT partition_key FROM ingest_checkpoints WHERE dataset = :d"),
                                        {"d": dataset}).scalars())
                assert days == keys, dataset
        resumed = ingest(cli_env(url, tushare))
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert checksums(engine) == expected
        engine.dispose()
    finally:
        pg.stop()


def test_incremental_refills_the_holes_the_data_shows(reference, tushare, fresh) -> None:
    url, engine = fresh
    _, _, expected = reference
    assert ingest(cli_env(url, tushare)).returncode == 0
    with engine.begin() as conn:  # a hole inside the window (rows gone, checkpoint still there) and a lost partition
        conn.execute(text("DELETE FROM daily_bar WHERE asset_class = 'stock' AND trade_date = '2024-03-20'"))
        conn.execute(text("DELETE FROM adj_factor WHERE asset_class = 'stock' AND trade_date = '2024-03-25'"))
        conn.execute(text("DELETE FROM ingest_checkpoints WHERE dataset = 'adj_factor' AND partition_key = '20240325'"))
        latest = conn.execute(text("SELECT max(trade_date) FROM daily_bar")).scalar()
    assert latest == dt.date(2024, 3, 29)  # a max(date) watermark would see nothing to do
    before = run_ids(engine)
    again = subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--mode", "incremental",
                            "--end", END], env=cli_env(url, tushare, TSR_LOOKBACK_DAYS="10"),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT dataset, partitions_written, rows_inserted + rows_updated AS written"
                                 " FROM ingest_runs WHERE run_id > :r"), {"r": before}).all()
    by_trade_date = {r.dataset: r.partitions_written for r in runs if DATASETS[r.dataset].plan is Plan.TRADE_DATE}
    assert by_trade_date == {"daily": 1, "adj_factor": 1, "suspend_d": 0, "daily_basic": 0, "fund_daily": 0, "fund_adj": 0,
                             "fut_daily": 0, "sge_daily": 0}
    # by-code datasets re-read their look-back window; it changes nothing
    assert {r.dataset: r.written for r in runs if DATASETS[r.dataset].plan is Plan.CODE} == {"index_daily": 0,
                                                                                             "index_weight": 0}
    # incremental also moved the calendar a month past the window; everything else is the backfill's
    got = checksums(engine)
    assert got.pop("trade_calendar")[0] > expected["trade_calendar"][0]
    assert got == {k: v for k, v in expected.items() if k != "trade_calendar"}


def test_incremental_moves_the_calendar_forward_first(tushare, fresh) -> None:
    url, engine = fresh
    january = ingest(cli_env(url, tushare), "--end", "20240131")  # START..20240131
    assert january.returncode == 0, january.stderr[-2000:]
    later = subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--mode", "incremental",
                            "--end", "20240329", "--dataset", "daily"],
                           env=cli_env(url, tushare, TSR_LOOKBACK_DAYS="5"), capture_output=True, text=True,
                           timeout=600)
    assert later.returncode == 0, later.stderr[-2000:]
    with engine.connect() as conn:
        days = conn.execute(text("SELECT DISTINCT trade_date FROM daily_bar WHERE trade_date > '2024-01-31'"
                                 " ORDER BY 1")).scalars().all()
    # the last five trading days before the end; the calendar that says which they are came first
    assert days == [dt.date(2024, 3, d) for d in (25, 26, 27, 28, 29)]


def run_ids(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(run_id), 0) FROM ingest_runs")).scalar()


def test_a_dataset_without_permission_fails_alone(tushare, fresh, tmp_path: Path) -> None:
    import json

    url, engine = fresh
    log = tmp_path / "termination-log"
    result = subprocess.run(
        [sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", "20240102", "--end", "20240105",
         "--dataset", "daily", "--dataset", "fund_daily", "--dataset", "adj_factor"],
        env=cli_env(url, tushare, TUSHARE_TOKEN="demo:2000", TSR_TERMINATION_LOG=str(log)),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 4  # a permission problem is not retryable
    assert "fund_daily" in result.stderr and "permission" in result.stderr.lower()
    with engine.connect() as conn:
        runs = {r.dataset: r for r in conn.execute(text("SELECT dataset, status, error_class, rows_inserted"
                                                           " FROM ingest_runs")).all()}
    assert runs["fund_daily"].status == "failed" and runs["fund_daily"].error_class == "permission_denied"
    assert runs["daily"].status == "succeeded" and runs["daily"].rows_inserted > 0
    assert runs["adj_factor"].status == "succeeded"
    reported = json.loads(log.read_text())
    assert reported["exitCode"] == 4
    assert {d["dataset"]: d["status"] for d in reported["datasets"]}["fund_daily"] == "failed"
    assert "demo:2000" not in log.read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--batch", "P9"], "--batch is one of"), (["--mode", "sometimes"], "--mode is backfill or incremental"),
     (["--start", "2024-01-02"], "YYYYMMDD"), (["--dataset", "news"], "unknown dataset"),
     (["--start", "20240105", "--end", "20240102"], "--end before --start")],
    ids=["batch", "mode", "date-format", "dataset", "empty-window"],
)
def test_bad_arguments_are_named(tushare, migrated_url: str, args: list[str], says: str) -> None:
    result = subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", *args],
                            env=cli_env(migrated_url, tushare), capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert says in result.stderr


def test_a_dead_database_is_retryable_named_and_keeps_the_password_out(tushare) -> None:
    url = "postgresql://tsr:s3cret@127.0.0.1:1/x"  # nothing listens on port 1
    result = subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", "20240102",
                             "--end", "20240105"], env=cli_env(url, tushare), capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "cannot reach PostgreSQL at" in result.stderr and "127.0.0.1:1" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr and "Traceback" not in result.stderr
