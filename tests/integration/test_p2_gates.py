"""Gate D's minute checks and the ``minutes`` status cells on minute history loaded through the real CLI.

One template database holds the P0 data P2 stands on (2023-12-18..2024-01-12: calendars, lists, daily
bars) and P2 loaded from 2023-12-25 (the minute history of the followed indices, stocks, ETFs and
futures products, plus the P2 day lists); every test works on its own copy, starts clean, seeds one
defect and asserts the exact outcome. The window holds a weekend (Friday 5 January's night session
belongs to Monday 8 January) and the New Year break (Tuesday 2 January has no night session).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.status import matrix
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import DatabaseCopy, cli, cli_env, database_copy

P0_START, START, END = "20231218", "20231225", "20240112"
P0_UNDER_P2 = ("trade_cal", "stock_basic", "fund_basic", "index_basic", "fut_basic", "daily", "fund_daily",
               "index_daily", "fut_daily")
BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def template(devcluster: DevCluster, tushare: LocalTushareServer) -> Iterator[str]:
    """P0 under P2 and the whole of P2 loaded through the CLI (no connection left open)."""
    from tushare_rollout.db import migrate

    name = "p2_gates_template"
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    env = cli_env(url, tushare)
    p0 = cli(env, "job", "ingest", "--batch", "P0", *(a for d in P0_UNDER_P2 for a in ("--dataset", d)),
             "--start", P0_START, "--end", END)
    assert p0.returncode == 0, p0.stdout[-3000:] + p0.stderr[-3000:]
    p2 = cli(env, "job", "ingest", "--batch", "P2", "--start", START, "--end", END)
    assert p2.returncode == 0, p2.stdout[-3000:] + p2.stderr[-3000:]
    yield name
    devcluster.postgres.drop_database(name)


class Copy(DatabaseCopy):
    def gate(self, as_of: str = "2024-01-12", since: str = START, **env: str) -> subprocess.CompletedProcess[str]:
        return cli({**self.env, **env}, "job", "gate", "--phase", "D", "--as-of", as_of, "--since", since)

    def results(self, check: str) -> dict[str, dict]:
        """The newest gate run's results for ``check``, by dataset."""
        with self.engine.connect() as conn:
            return {r["dataset"]: dict(r) for r in conn.execute(text(
                "SELECT * FROM gate_check_results WHERE check_name = :c AND gate_run_id ="
                " (SELECT max(gate_run_id) FROM gate_check_results WHERE check_name = :c) ORDER BY dataset"),
                {"c": check}).mappings()}

    def cell(self, dataset: str, scope: str, period: str) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT * FROM status_matrix WHERE dataset = :d AND scope = :s AND period = :p"),
                {"d": dataset, "s": scope, "p": period}).mappings().one())


@pytest.fixture
def db(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request) -> Iterator[Copy]:
    with database_copy(devcluster, template, request, "p2g") as (url, engine):
        yield Copy(url, engine, cli_env(url, tushare))


def at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=BEIJING)


def minute_checks(copy: Copy) -> dict[str, dict[str, str]]:
    return {check: {d: r["severity"] for d, r in copy.results(check).items()} for check in (
        "reconciliation.minute_bars_expected", "reconciliation.minute_volume_sums_to_daily",
        "reconciliation.minute_range_inside_daily")}


MINUTES = ("ft_mins", "idx_mins", "stk_mins")
CLEAN = {d: "PASS" for d in MINUTES}


# -- the clean start --------------------------------------------------------------------------------------


def test_a_clean_window_passes_gate_d_and_every_minute_cell_is_complete_or_not_applicable(db: Copy) -> None:
    done = db.gate()
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert minute_checks(db) == {check: CLEAN for check in minute_checks(db)}
    volumes = db.results("reconciliation.minute_volume_sums_to_daily")
    assert {d: (r["metric_value"], r["message"]) for d, r in volumes.items()} == {
        "ft_mins": (0, "70 code-days add up"), "idx_mins": (0, "70 code-days add up"),
        "stk_mins": (0, "56 code-days add up")}  # 5 products, 5 indices, 4 stocks and ETFs over 14 open days
    assert db.results("quality.realtime_ohlc_envelope").keys() == {"rt_idx_k", "rt_idx_min", "rt_etf_k", "rt_min"}
    statuses = dict(((d, s), n) for d, s, n in db.sql(
        "SELECT dataset, status, count(*) FROM status_matrix WHERE dataset = ANY(:d) GROUP BY 1, 2", d=list(MINUTES)))
    assert statuses == {("ft_mins", "complete"): 70, ("ft_mins", "not_applicable"): 5 * 5,
                        ("idx_mins", "complete"): 70, ("idx_mins", "not_applicable"): 5 * 5,
                        ("stk_mins", "complete"): 56, ("stk_mins", "not_applicable"): 4 * 5}  # 5 closed days each
    assert db.sql("SELECT count(*) FROM status_matrix WHERE dataset LIKE 'rt\\_%'") == [(0,)]
    # the session per asset class and product; Friday's night session is Monday's, none after New Year
    expected = {(d, s, p): db.cell(d, s, p)["expected"] for d, s, p in (
        ("stk_mins", "510300.SH", "20240108"), ("idx_mins", "399006.SZ", "20240102"), ("ft_mins", "IF", "20240108"),
        ("ft_mins", "CU", "20240108"), ("ft_mins", "SR", "20240108"), ("ft_mins", "CU", "20240102"),
        ("ft_mins", "M", "20240102"), ("ft_mins", "AU", "20231225"))}
    assert expected == {("stk_mins", "510300.SH", "20240108"): 240, ("idx_mins", "399006.SZ", "20240102"): 240,
                        ("ft_mins", "IF", "20240108"): 240, ("ft_mins", "CU", "20240108"): 345,
                        ("ft_mins", "SR", "20240108"): 345, ("ft_mins", "CU", "20240102"): 225,
                        ("ft_mins", "M", "20240102"): 225, ("ft_mins", "AU", "20231225"): 345}
    monday = db.cell("ft_mins", "CU", "20240108")
    assert monday["status"] == "complete" and monday["explain"]["night"] is True
    assert monday["explain"]["previous_open"] == "2024-01-05" and monday["explain"]["session"] == "SHFE"
    assert monday["explain"]["code"].startswith("CU24") and monday["explain"]["minute_volume"] == \
        monday["explain"]["daily_volume"]
    assert db.cell("ft_mins", "CU", "20240102")["explain"]["night"] is False
    assert db.cell("ft_mins", "CU", "20240106")["reason"] == "market closed"


def test_days_before_a_code_is_followed_and_days_it_did_not_trade_expect_nothing(db: Copy) -> None:
    # 600000.SH suspended on 9 January: neither a daily bar nor minute bars
    db.sql("DELETE FROM daily_bar WHERE asset_class = 'stock' AND code = '600000.SH' AND trade_date = '2024-01-09'")
    db.sql("DELETE FROM minute_bar WHERE code = '600000.SH' AND trade_time >= :a AND trade_time < :b",
           a=at("2024-01-09 00:00"), b=at("2024-01-10 00:00"))
    with db.engine.begin() as conn:
        cells = {(c.scope, c.period): c for c in matrix.compute(conn, "stk_mins", dt.date(2023, 12, 20),
                                                                 dt.date(2024, 1, 12))}
        assert matrix.compute(conn, "rt_min", dt.date(2024, 1, 2), dt.date(2024, 1, 12)) == []
    suspended = cells[("600000.SH", "20240109")]
    assert (suspended.status, suspended.reason) == ("not_applicable", matrix.NOT_TRADED)
    before = cells[("600000.SH", "20231222")]  # P2 (and so the minute history) is followed from 25 December
    assert (before.status, before.reason, before.explain["start_date"]) == \
        ("not_applicable", matrix.NOT_YET_FOLLOWED, "2023-12-25")
    assert cells[("600000.SH", "20240110")].status == "complete"
    done = db.gate()
    assert done.returncode == 0, done.stdout[-5000:]
    assert minute_checks(db)["reconciliation.minute_bars_expected"] == CLEAN
    # minute bars on a day without a daily bar are unexpected
    db.sql("DELETE FROM daily_bar WHERE asset_class = 'etf' AND code = '159915.SZ' AND trade_date = '2024-01-10'")
    assert db.gate().returncode == 2
    (sample,) = db.results("reconciliation.minute_bars_expected")["stk_mins"]["sample_keys"]
    assert sample.startswith("159915.SZ 20240110: 240 bars stored on a day without a daily bar - unexpected"
                             " 2024-01-10 09:31..11:30, 2024-01-10 13:01..15:00"), sample


# -- one defect at a time ---------------------------------------------------------------------------------------


def test_a_deleted_minute_bar_is_named_by_code_and_time_and_fails_gate_d(db: Copy) -> None:
    db.sql("DELETE FROM minute_bar WHERE asset_class = 'index' AND code = '000300.SH' AND trade_time = :t",
           t=at("2024-01-05 10:31"))
    done = db.gate()
    assert done.returncode == 2, done.stdout[-5000:]
    coverage = db.results("reconciliation.minute_bars_expected")
    assert {d: r["severity"] for d, r in coverage.items()} == {**CLEAN, "idx_mins": "FAIL"}
    assert coverage["idx_mins"]["metric_value"] == 1 and coverage["idx_mins"]["partition_key"] == "20240105"
    assert coverage["idx_mins"]["sample_keys"] == [
        "000300.SH 20240105: 1 of 240 expected rows missing - missing 2024-01-05 10:31"]
    cell = db.cell("idx_mins", "000300.SH", "20240105")
    assert (cell["status"], cell["expected"], cell["present"]) == ("partial", 240, 239)
    assert cell["explain"]["missing_sample"] == ["2024-01-05 10:31"] and cell["explain"]["unexpected_sample"] == []
    explained = cli(db.env, "status", "--explain", "idx_mins/000300.SH/20240105", "--json")
    assert explained.returncode == 0, explained.stderr
    payload = json.loads(explained.stdout)
    assert payload["missing_sample"] == ["2024-01-05 10:31"] and payload["missing"] == 1
    assert "reconciliation.minute_bars_expected" in {c["check_name"] for c in payload["failing_checks"]}
    # a bar on an unknown label is extra; the 09:30 auction bar some vendors send is neither extra nor missing
    for label in ("2024-01-08 09:30", "2024-01-08 12:00"):
        db.sql("INSERT INTO minute_bar (asset_class, code, freq, trade_time, open, high, low, close, volume, amount,"
               " run_id) SELECT asset_class, code, freq, :t, open, high, low, close, 0, 0, run_id FROM minute_bar"
               " WHERE asset_class = 'stock' AND code = '600000.SH' AND trade_time = :src",
               t=at(label), src=at("2024-01-08 09:31"))
    db.gate()
    (extra,) = db.results("reconciliation.minute_bars_expected")["stk_mins"]["sample_keys"]
    assert extra == "600000.SH 20240108: 1 unexpected rows - unexpected 2024-01-08 12:00"
    assert db.cell("stk_mins", "600000.SH", "20240108")["explain"]["tolerated"] == 1


def test_a_changed_minute_volume_or_price_fails_reconciliation_naming_the_code_day(db: Copy) -> None:
    (daily,) = db.sql("SELECT volume FROM daily_bar WHERE asset_class = 'stock' AND code = '600000.SH'"
                      " AND trade_date = '2024-01-09'")[0]
    db.sql("UPDATE minute_bar SET volume = volume + :more WHERE asset_class = 'stock' AND code = '600000.SH'"
           " AND trade_time = :t", more=round(daily * 0.02), t=at("2024-01-09 14:00"))
    db.sql("UPDATE minute_bar SET high = (SELECT high + 1 FROM daily_bar WHERE asset_class = 'index'"
           " AND code = '399001.SZ' AND trade_date = '2024-01-10') WHERE asset_class = 'index' AND code = '399001.SZ'"
           " AND trade_time = :t", t=at("2024-01-10 10:00"))
    done = db.gate()
    assert done.returncode == 2, done.stdout[-5000:]
    checks = minute_checks(db)
    assert checks["reconciliation.minute_bars_expected"] == CLEAN  # every bar is there
    assert checks["reconciliation.minute_volume_sums_to_daily"] == {**CLEAN, "stk_mins": "FAIL"}
    assert checks["reconciliation.minute_range_inside_daily"] == {**CLEAN, "idx_mins": "FAIL"}
    volume = db.results("reconciliation.minute_volume_sums_to_daily")["stk_mins"]
    assert volume["metric_value"] == pytest.approx(0.02, rel=1e-3) and volume["partition_key"] == "20240109"
    assert volume["sample_keys"][0].startswith("600000.SH 20240109: minutes sum to ") and "(2.000%)" in \
        volume["sample_keys"][0] and len(volume["sample_keys"]) == 1
    (outside,) = db.results("reconciliation.minute_range_inside_daily")["idx_mins"]["sample_keys"]
    assert outside.startswith("399001.SZ 20240110: minutes span [")
    # a vendor that leaves out a little (after-hours trades) is what the thresholds are for
    lenient = db.gate(TSR_GATES__THRESHOLDS=json.dumps({
        "reconciliation.minute_volume_sums_to_daily": {"warn": 0.01, "fail": 0.05},
        "reconciliation.minute_range_inside_daily": {"fail": 1}}))
    assert lenient.returncode == 0, lenient.stdout[-3000:]
    assert minute_checks(db)["reconciliation.minute_volume_sums_to_daily"]["stk_mins"] == "WARN"


def test_futures_night_bars_belong_to_the_next_trading_day_across_a_weekend_and_not_after_a_holiday(db: Copy
                                                                                                     ) -> None:
    db.gate()
    contract = db.cell("ft_mins", "CU", "20240108")["explain"]["code"]
    assert db.cell("ft_mins", "CU", "20240102")["explain"]["code"] == contract
    # Friday 5 January 21:30 is a bar of Monday 8 January's session
    db.sql("DELETE FROM minute_bar WHERE code = :c AND trade_time = :t", c=contract, t=at("2024-01-05 21:30"))
    # a night bar on 29 December, the evening before the New Year break, has no session: Tuesday 2 January
    # (the next open day) has none
    db.sql("INSERT INTO minute_bar (asset_class, code, freq, trade_time, open, high, low, close, volume, amount,"
           " open_interest, run_id) SELECT asset_class, code, freq, :t, open, high, low, close, 0, 0, open_interest,"
           " run_id FROM minute_bar WHERE code = :c AND trade_time = :src",
           c=contract, t=at("2023-12-29 21:01"), src=at("2024-01-02 09:01"))
    done = db.gate()
    assert done.returncode == 2, done.stdout[-5000:]
    coverage = db.results("reconciliation.minute_bars_expected")["ft_mins"]
    assert coverage["severity"] == "FAIL" and coverage["metric_value"] == 2
    assert coverage["sample_keys"] == [
        f"CU ({contract}) 20240102: 1 unexpected rows - unexpected 2023-12-29 21:01",
        f"CU ({contract}) 20240108: 1 of 345 expected rows missing - missing 2024-01-05 21:30"]
    assert db.cell("ft_mins", "CU", "20240105")["status"] == "complete"
    assert db.cell("ft_mins", "CU", "20231229")["status"] == "complete"
    # the night bar moved the volume of 8 January, not of the 5th
    volume = db.results("reconciliation.minute_volume_sums_to_daily")["ft_mins"]
    assert [k.split(":")[0] for k in volume["sample_keys"]] == [f"CU ({contract}) 20240108"]


def test_realtime_rows_get_a_light_envelope_check_and_no_coverage_cells(db: Copy) -> None:
    (run,) = db.sql("SELECT min(run_id) FROM ingest_runs")[0]
    db.sql("INSERT INTO realtime_quote (asset_class, code, snapshot_at, name, open, high, low, close, pre_close,"
           " volume, amount, run_id) VALUES ('etf', '510300.SH', :t, '沪深300ETF', 3.5, 3.4, 3.6, 3.5, 3.5, 100, 350,"
           " :run), ('index', '000300.SH', :t, '沪深300', 3300, 3310, 3290, 3320, 3300, 100, 350, :run),"
           " ('index', '000905.SH', :t, '中证500', 5300, 5310, 5290, 5300, 5300, 100, 350, :run)",
           t=at("2024-01-10 10:00"), run=run)
    done = db.gate()
    assert done.returncode == 2, done.stdout[-5000:]
    envelope = db.results("quality.realtime_ohlc_envelope")
    assert {d: r["severity"] for d, r in envelope.items()} == {"rt_etf_k": "FAIL", "rt_idx_k": "FAIL",
                                                              "rt_idx_min": "PASS", "rt_min": "PASS"}
    assert envelope["rt_etf_k"]["sample_keys"] == ["510300.SH 2024-01-10 10:00: low 3.6 high 3.4 close 3.5"]
    assert envelope["rt_idx_k"]["sample_keys"] == ["000300.SH 2024-01-10 10:00: low 3290 high 3310 close 3320"]
    refreshed = cli(db.env, "status", "--refresh", "--since", START, "--until", END, "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    cells = json.loads(refreshed.stdout)["cells"]
    assert not [c for c in cells if c["dataset"].startswith("rt_")]
    assert {c["dataset"] for c in cells} >= set(MINUTES)
