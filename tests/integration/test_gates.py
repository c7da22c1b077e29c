"""Gates and the status matrix on a real P0 backfill: start clean, seed one defect, assert the exact outcome.

One backfill (2024-01-02..2024-03-29, across the Spring Festival closure) is loaded from the local
Tushare server through the real CLI into a template database; every test works on its own copy.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.db.base import Batch
from tushare_rollout.ingest.datasets import DATASETS
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import DatabaseCopy, cli, cli_env, database_copy, p0_backfill_database

START, END = "20240102", "20240329"
FLAGS = json.dumps({"p0Enabled": True, "updatedAt": 1732400000000})
P0 = sorted(n for n, d in DATASETS.items() if d.batch is Batch.P0)


@pytest.fixture(scope="module")
def template(devcluster: DevCluster, tushare: LocalTushareServer) -> Iterator[str]:
    """A database holding a clean P0 backfill, the flags and the rollback baseline (no connections left)."""
    name = "gates_template"
    env = cli_env(p0_backfill_database(devcluster, tushare, name, START, END), tushare)
    recorded = cli(env, "job", "baseline", "--flags", FLAGS)
    assert recorded.returncode == 0, recorded.stderr
    yield name
    devcluster.postgres.drop_database(name)


class Copy(DatabaseCopy):
    def gate(self, phase: str = "B", as_of: str = "2024-03-29", since: str = START, **env: str
             ) -> subprocess.CompletedProcess[str]:
        return cli({**self.env, **env}, "job", "gate", "--phase", phase, "--as-of", as_of, "--since", since)

    def results(self, check: str) -> list[dict]:
        """The newest gate run's results for ``check``."""
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                "SELECT * FROM gate_check_results WHERE check_name = :c AND gate_run_id ="
                " (SELECT max(gate_run_id) FROM gate_check_results WHERE check_name = :c) ORDER BY dataset"),
                {"c": check}).mappings()]

    def cell(self, dataset: str, period: str, scope: str = "market") -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT * FROM status_matrix WHERE dataset = :d AND scope = :s AND period = :p"),
                {"d": dataset, "s": scope, "p": period}).mappings().one())


@pytest.fixture
def db(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request) -> Iterator[Copy]:
    with database_copy(devcluster, template, request, "gates") as (url, engine):
        yield Copy(url, engine, cli_env(url, tushare))


def severities(copy: Copy, check: str) -> dict[str | None, str]:
    return {r["dataset"]: r["severity"] for r in copy.results(check)}


# -- the clean start --------------------------------------------------------------------------------------


def test_a_clean_backfill_passes_every_gate_and_every_cell_is_complete_or_not_applicable(db: Copy, tmp_path: Path
                                                                                         ) -> None:
    log = tmp_path / "termination-log"
    done = db.gate(TSR_TERMINATION_LOG=str(log))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    summary = json.loads(log.read_text())
    assert summary["passed"] is True and summary["phase"] == "B" and summary["failed"] == []
    gates = db.sql("SELECT gate, passed FROM gate_runs ORDER BY gate")
    assert gates == [("quality", True), ("reconciliation", True), ("scheduling", True), ("stability", True)]
    counts = dict(db.sql("SELECT severity, count(*) FROM gate_check_results GROUP BY 1"))
    assert counts.get("FAIL", 0) == 0 and counts["PASS"] >= 60
    statuses = db.sql("SELECT dataset, status, count(*) FROM status_matrix GROUP BY 1, 2")
    assert {d for d, _, _ in statuses} == set(P0)
    assert {s for _, s, _ in statuses} == {"complete", "not_applicable"}
    # the idempotent replay re-fetched a closed partition of every trade-date dataset and would change nothing
    replay = db.results("stability.idempotent_replay")
    assert {r["dataset"] for r in replay} == {n for n in P0 if DATASETS[n].plan.value == "trade_date"}
    assert all(r["metric_value"] == 0 and r["partition_key"] == START for r in replay)
    phase_a = db.gate("A")
    assert phase_a.returncode == 0, phase_a.stdout + phase_a.stderr
    password = db.engine.url.password
    assert password not in done.stdout + done.stderr + phase_a.stdout and "demo:all" not in done.stdout


def test_phase_a_fails_without_the_flags_and_rollback_baseline(db: Copy) -> None:
    db.sql("DELETE FROM rollback_baselines")
    db.sql("DELETE FROM rollout_flags_audit")
    done = db.gate("A")
    assert done.returncode == 2, done.stdout + done.stderr
    assert severities(db, "baseline.flags_recorded") == {None: "FAIL"}
    assert severities(db, "baseline.rollback_baseline_recorded") == {None: "FAIL"}
    assert severities(db, "baseline.schema_at_head") == {None: "PASS"}
    assert "job baseline" in done.stdout


# -- one defect at a time ---------------------------------------------------------------------------------------


def test_one_missing_bar_makes_its_cell_partial_names_the_code_and_fails_reconciliation(db: Copy) -> None:
    (code,) = db.sql("SELECT min(code) FROM daily_bar WHERE asset_class = 'stock' AND trade_date = '2024-01-05'")[0]
    db.sql("DELETE FROM daily_bar WHERE asset_class = 'stock' AND code = :c AND trade_date = '2024-01-05'", c=code)
    done = db.gate()
    assert done.returncode == 2, done.stdout + done.stderr
    cell = db.cell("daily", "20240105")
    assert cell["status"] == "partial" and cell["expected"] - cell["present"] == 1
    assert cell["explain"]["missing_sample"] == [code] and cell["explain"]["unexpected_sample"] == []
    expected_keys = {r["dataset"]: r for r in db.results("reconciliation.expected_keys")}
    assert expected_keys["daily"]["severity"] == "FAIL" and expected_keys["daily"]["metric_value"] == 1
    assert code in expected_keys["daily"]["sample_keys"][0]
    assert expected_keys["fund_daily"]["severity"] == "PASS"
    assert db.cell("daily", "20240104")["status"] == "complete"
    explained = cli(db.env, "status", "--explain", "daily/market/20240105", "--json")
    assert explained.returncode == 0, explained.stderr
    payload = json.loads(explained.stdout)
    assert payload["status"] == "partial" and payload["missing_sample"] == [code]
    assert payload["listed"] - payload["suspended"] == payload["expected"]
    assert "reconciliation.expected_keys" in {c["check_name"] for c in payload["failing_checks"]}
    shown = cli(db.env, "status", "--dataset", "daily", "--since", START)
    assert shown.returncode == 0, shown.stderr
    assert "daily/market/20240105" in shown.stdout and code in shown.stdout
    assert shown.stdout.strip().splitlines()[-1] == "88 cells: 57 complete, 1 partial, 0 missing, 30 not_applicable"


def test_a_whole_missing_day_is_missing_and_a_holiday_is_not_applicable(db: Copy) -> None:
    db.sql("DELETE FROM daily_bar WHERE asset_class = 'stock' AND trade_date = '2024-03-05'")
    done = db.gate()
    assert done.returncode == 2
    missing = db.cell("daily", "20240305")
    assert missing["status"] == "missing" and missing["present"] == 0 and missing["expected"] > 200
    holiday = db.cell("daily", "20240212")  # Spring Festival, a Monday
    assert holiday["status"] == "not_applicable" and holiday["reason"] == "market closed"
    assert holiday["explain"]["closed"] == "holiday"
    assert db.cell("daily", "20240310")["explain"]["closed"] == "weekend"
    assert severities(db, "scheduling.missed_days")["daily"] == "FAIL"
    assert [r["sample_keys"] for r in db.results("scheduling.missed_days") if r["dataset"] == "daily"] == [["20240305"]]


def test_a_bar_with_high_below_low_fails_quality_naming_the_row(db: Copy) -> None:
    (code,) = db.sql("SELECT min(code) FROM daily_bar WHERE asset_class = 'etf' AND trade_date = '2024-02-01'")[0]
    db.sql("UPDATE daily_bar SET high = low - 0.5 WHERE asset_class = 'etf' AND code = :c"
           " AND trade_date = '2024-02-01'", c=code)
    done = db.gate()
    assert done.returncode == 2
    envelope = {r["dataset"]: r for r in db.results("quality.ohlc_envelope")}
    assert envelope["fund_daily"]["severity"] == "FAIL" and envelope["fund_daily"]["metric_value"] == 1
    assert envelope["fund_daily"]["sample_keys"][0].startswith(f"{code} 20240201:")
    assert {d: r["severity"] for d, r in envelope.items() if d != "fund_daily"} == \
        {d: "PASS" for d in envelope if d != "fund_daily"}
    # the thresholds are spec.gates' to set: allowing a few such bars turns the FAIL into a WARN
    lenient = db.gate(TSR_GATES__THRESHOLDS=json.dumps({"quality.ohlc_envelope": {"fail": 5},
                                                        "quality.units_vwap_in_range": {"fail": 5}}))
    assert lenient.returncode == 0, lenient.stdout
    assert severities(db, "quality.ohlc_envelope")["fund_daily"] == "WARN"


@pytest.mark.parametrize(("as_of", "code", "freshness"), [
    ("2024-03-29T18:30:00+08:00", 2, "FAIL"),  # the deadline (18:00 Beijing) has passed
    ("2024-03-29T17:00:00+08:00", 0, "PASS"),  # before the deadline the day is not due yet
], ids=["after-deadline", "before-deadline"])
def test_the_newest_day_absent_fails_scheduling_only_after_its_deadline(db: Copy, as_of: str, code: int,
                                                                        freshness: str) -> None:
    db.sql("DELETE FROM daily_bar WHERE asset_class IN ('stock', 'index') AND trade_date = '2024-03-29'")
    db.sql("DELETE FROM ingest_checkpoints WHERE dataset = 'daily' AND partition_key = '20240329'")
    done = db.gate(as_of=as_of)
    assert done.returncode == code, done.stdout[-4000:]
    fresh = {r["dataset"]: r for r in db.results("scheduling.freshness")}
    assert fresh["daily"]["severity"] == freshness
    assert fresh["daily"]["metric_value"] == (1 if freshness == "FAIL" else 0)
    assert fresh["daily_basic"]["severity"] == "PASS"  # its own deadline (19:30) and rows are untouched
    keys = {r["dataset"]: r["severity"] for r in db.results("reconciliation.expected_keys")}
    assert keys["index_daily"] == freshness  # followed codes are not expected before their deadline either
    if freshness == "FAIL":
        assert "newest stored 20240328, due 20240329" in fresh["daily"]["message"]


def test_the_stability_streak_counts_trading_days_across_a_weekend_and_the_spring_festival(db: Copy, tmp_path: Path
                                                                                            ) -> None:
    days = [d for (d,) in db.sql("SELECT cal_date FROM trade_calendar WHERE exchange = 'SSE' AND is_open"
                                 " AND cal_date BETWEEN '2024-02-01' AND '2024-02-21' ORDER BY cal_date")]
    assert days[-5:] == [dt.date(2024, 2, 7), dt.date(2024, 2, 8), dt.date(2024, 2, 19), dt.date(2024, 2, 20),
                         dt.date(2024, 2, 21)]
    failed = {dt.date(2024, 2, 7), dt.date(2024, 2, 19)}  # two of the last five trading days
    for day in days:
        db.sql("INSERT INTO ingest_runs (batch, dataset, mode, window_start, window_end, status, finished_at,"
               " error_class, error_message) VALUES ('P0', 'daily', 'daily', :d, :d, :s, now(), :ec, :em)",
               d=day, s="failed" if day in failed else "succeeded",
               ec="server_error" if day in failed else None, em="HTTP 502 from the source" if day in failed else None)
    log = db.env["TSR_TERMINATION_LOG"] = str(tmp_path / "termination-log")
    done = db.gate(as_of="2024-02-21", since="20240201")
    assert done.returncode == 2  # the two failures were never retried: blocking errors
    assert json.loads(Path(log).read_text())["streaks"] == {"P0": 2}
    (streak,) = db.results("stability.clean_streak")
    assert streak["metric_value"] == 2 and streak["severity"] == "WARN"  # below stableTradingDays (3)
    assert "since 20240220" in streak["message"] and "blocked day 20240219" in streak["message"]
    (blocking,) = db.results("stability.blocking_errors")
    assert blocking["metric_value"] == 2 and len(blocking["sample_keys"]) == 2
    # a retry of 19 February that succeeds makes the day clean: the streak runs back to the 7th's failure
    db.sql("INSERT INTO ingest_runs (batch, dataset, mode, window_start, window_end, status, finished_at)"
           " VALUES ('P0', 'daily', 'daily', '2024-02-19', '2024-02-19', 'succeeded', now())")
    db.gate(as_of="2024-02-21", since="20240201")
    (streak,) = db.results("stability.clean_streak")
    assert streak["metric_value"] == 4 and "since 20240208" in streak["message"]  # 8, 19, 20, 21 February


def test_a_batch_whose_flag_is_off_has_not_applicable_cells_and_its_gate_cannot_run(db: Copy) -> None:
    off = cli(db.env, "job", "baseline", "--flags", json.dumps({"p0Enabled": False, "updatedAt": 1732400000001}))
    assert off.returncode == 0, off.stderr
    refreshed = cli(db.env, "status", "--refresh", "--since", START, "--until", END, "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    cells = json.loads(refreshed.stdout)["cells"]
    assert {c["dataset"] for c in cells} >= set(P0)
    assert {c["status"] for c in cells} == {"not_applicable"}  # P1's too: p1Enabled was never on
    assert all(c["reason"] == "flag off: p0Enabled is off" for c in cells if c["dataset"] in P0)
    done = db.gate()
    assert done.returncode == 3 and "switched off" in done.stderr


def test_status_names_what_is_wrong_with_its_arguments(db: Copy) -> None:
    for args, says in ((["--explain", "daily"], "is not dataset/scope/period"),
                       (["--explain", "nope/market/20240105"], "unknown dataset 'nope'"),
                       (["--explain", "daily/market/2024"], "period '2024' is YYYYMMDD"),
                       (["--dataset", "nope"], "unknown dataset(s) nope"),
                       (["--refresh"], "give --since"),
                       (["--since", "2024-01-02"], "does not match format")):
        done = cli(db.env, "status", *args)
        assert done.returncode == 4 and says in done.stderr, (args, done.stderr)
    down = cli({**db.env, "DATABASE_URL": "postgresql+psycopg://u:secret-pw@127.0.0.1:9/x"}, "status")
    assert down.returncode == 3 and "cannot reach PostgreSQL" in down.stderr and "secret-pw" not in down.stderr


# -- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "env", "code", "says"), [
    (["--phase", "X"], {}, 4, "--phase is one of"),
    (["--phase", "B", "--as-of", "yesterday"], {}, 4, "--as-of"),
    (["--phase", "B"], {"TSR_GATES__THRESHOLDS": '{"quality.nope": {"fail": 1}}'}, 4, "unknown check(s)"),
    (["--phase", "B"], {"DATABASE_URL": "postgresql+psycopg://u:secret-pw@127.0.0.1:9/x"}, 3, "cannot reach"),
    (["--phase", "C"], {}, 3, "every dataset of phase C is switched off"),
    (["--phase", "B", "--as-of", "2024-01-02", "--since", "20240105"], {}, 4, "is after the as-of day"),
    (["--phase", "B", "--as-of", "2024-01-02T09:00", "--since", "20240102"], {}, 3, "is due yet"),
    (["--phase", "B"], {"TSR_GATES__THRESHOLDS": '{"quality.step_changes": 5}'}, 4, "valid dictionary"),
    (["--phase", "B"], {"TSR_GATES__THRESHOLDS": "{not json"}, 4, "bad configuration"),
    (["--phase", "A"], {"TSR_GATES__THRESHOLDS": '{"quality.step_changes": {"max": 5}}'}, 4, "use warn and fail"),
], ids=["bad-phase", "bad-as-of", "unknown-check", "database-down", "nothing-to-check", "since-after-as-of",
        "nothing-due-yet", "threshold-not-an-object", "thresholds-not-json", "unknown-threshold-key"])
def test_bad_gate_input_gets_a_clear_message_and_exit_code(db: Copy, args: list[str], env: dict, code: int,
                                                           says: str) -> None:
    done = cli({**db.env, **env}, "job", "gate", *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stderr
    assert "secret-pw" not in done.stdout + done.stderr
