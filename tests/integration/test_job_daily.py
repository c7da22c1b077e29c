"""``tushare-rollout job daily``: a passed phase's steady-state run, through the real CLI, on a real P0
backfill that stops short of the day the run is for: it loads what is missing, then stores the phase's
gate under its Job name (what the operator reads as the daily gate).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import DatabaseCopy, cli, cli_env, database_copy, p0_backfill_database

START, LOADED_TO, DAY = "20240102", "20240125", "20240131"


@pytest.fixture(scope="module")
def template(devcluster: DevCluster, tushare: LocalTushareServer) -> Iterator[str]:
    name = "daily_template"
    p0_backfill_database(devcluster, tushare, name, START, LOADED_TO)
    yield name
    devcluster.postgres.drop_database(name)


@dataclass
class Copy(DatabaseCopy):
    log: Path

    def daily(self, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], dict]:
        done = cli({**self.env, **env}, "job", "daily", *args)
        record = json.loads(self.log.read_text()) if self.log.exists() else {}
        return done, record


@pytest.fixture
def db(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request, tmp_path: Path) -> Iterator[Copy]:
    log = tmp_path / "termination-log"
    with database_copy(devcluster, template, request, "daily") as (url, engine):
        yield Copy(url, engine, cli_env(url, tushare, TSR_TERMINATION_LOG=str(log), TSR_BACKFILL_START="2024-01-02",
                                        TSR_JOB_NAME="p0-b-daily-28412345"), log)


def test_a_daily_run_loads_the_missing_days_and_stores_its_gate_under_its_job_name(db: Copy) -> None:
    assert db.sql("SELECT max(trade_date) FROM daily_bar WHERE asset_class = 'stock'") == [(dt.date(2024, 1, 25),)]
    done, record = db.daily("--phase", "B", "--end", DAY, TSR_GATES__WINDOW_DAYS="60")  # reaches back into 2023
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    days = db.sql("SELECT DISTINCT trade_date FROM daily_bar WHERE asset_class = 'stock' AND trade_date > '2024-01-25'"
                  " ORDER BY 1")
    assert [d for (d,) in days] == [dt.date(2024, 1, d) for d in (26, 29, 30, 31)]
    runs = db.sql("SELECT DISTINCT mode, status FROM ingest_runs WHERE job_name = 'p0-b-daily-28412345'")
    assert runs == [("incremental", "succeeded")]
    gates = db.sql("SELECT phase, gate, passed, window_start, window_end FROM gate_runs"
                   " WHERE job_name = 'p0-b-daily-28412345' ORDER BY gate")
    assert {g[1] for g in gates} == {"stability", "reconciliation", "quality", "scheduling"}
    assert all(g[0] == "B" and g[2] for g in gates)
    assert {(g[3], g[4]) for g in gates} == {(dt.date(2024, 1, 2), dt.date(2024, 1, 31))}  # not before the start
    assert record["exitCode"] == 0 and record["ingest"]["exitCode"] == 0 and record["gate"]["passed"]
    again, _ = db.daily("--phase", "B", "--end", DAY)  # the next run finds nothing missing
    assert again.returncode == 0 and "0 written" in again.stdout + again.stderr


def test_a_defect_fails_the_daily_gate_and_the_run_exits_2_naming_the_check(db: Copy) -> None:
    db.sql("INSERT INTO ingest_runs (run_id, batch, dataset, mode, status, finished_at)"
           " VALUES (999, 'P0', 'daily', 'incremental', 'succeeded', now())")
    db.sql("INSERT INTO daily_bar (asset_class, code, trade_date, open, high, low, close, run_id)"
           " VALUES ('stock', '600000.SH', '2024-01-13', 1, 1, 1, 1, 999)")  # a Saturday
    done, record = db.daily("--phase", "B", "--end", DAY)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "scheduling.rows_on_closed_days" in done.stdout
    assert record["exitCode"] == 2 and record["ingest"]["exitCode"] == 0
    assert "scheduling.rows_on_closed_days" in {f["check"] for f in record["gate"]["failed"]}
    assert db.sql("SELECT bool_and(passed) FROM gate_runs WHERE job_name = 'p0-b-daily-28412345'") == [(False,)]


@pytest.mark.parametrize("args, env, code, says", [
    (["--phase", "A"], {}, 4, "--phase is one of B, C, D"),
    (["--phase", "E"], {}, 4, "--phase is one of B, C, D"),
    (["--phase", "B", "--end", "2024-01-31"], {}, 4, "--end is YYYYMMDD"),
    (["--phase", "B"], {"DATABASE_URL": ""}, 4, "DATABASE_URL"),
    (["--phase", "B", "--end", DAY], {"DATABASE_URL": "postgresql://tsr:s3cret@127.0.0.1:1/x"}, 3, "127.0.0.1:1"),
], ids=["phase-a", "phase-e", "end-format", "no-database", "dead-database"])
def test_bad_input_exits_with_a_clear_message_and_no_password(db: Copy, args: list[str], env: dict[str, str],
                                                              code: int, says: str) -> None:
    done, _ = db.daily(*args, **env)
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert says in done.stderr and "s3cret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
