"""P1 from the local Tushare server through the real CLI: FX on a whitelist (mid in the unified bar,
bid/ask beside it, GMT weekdays) and China/US macro as append-only vintages, each dated by the
official calendar or its lag rule; a revision after ingestion becomes a second vintage, and the
point-in-time read returns the old value before it was seen and the new one after.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import cli, cli_env

START, END = "20230102", "20241231"
WHITELIST = ["USDCNH.FXCM", "EURUSD.FXCM"]


@dataclass
class P1:
    engine: Engine
    env: dict[str, str]
    server: LocalTushareServer

    def sql(self, statement: str, **params: object) -> list:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []

    def ingest(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = cli({**self.env, **env}, "job", "ingest", "--batch", "P1", *args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done


@pytest.fixture(scope="module")
def p1(devcluster: DevCluster, tushare: LocalTushareServer) -> Iterator[P1]:
    name = "p1_backfill"
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    loaded = P1(engine, cli_env(url, tushare, TSR_FX_WHITELIST=json.dumps(WHITELIST)), tushare)
    loaded.ingest("--start", START, "--end", END)
    yield loaded
    engine.dispose()
    devcluster.postgres.drop_database(name)


def test_only_whitelisted_fx_pairs_are_fetched_and_stored_with_mid_and_bid_ask(p1: P1) -> None:
    assert [c for (c,) in p1.sql("SELECT code FROM instrument WHERE asset_class = 'fx' ORDER BY 1")] == \
        sorted(WHITELIST)
    assert [c for (c,) in p1.sql("SELECT DISTINCT code FROM daily_bar WHERE asset_class = 'fx' ORDER BY 1")] == \
        sorted(WHITELIST)
    assert p1.sql("SELECT DISTINCT code FROM fx_daily_quote ORDER BY 1") == [(c,) for c in sorted(WHITELIST)]
    off_mid = p1.sql("SELECT count(*) FROM daily_bar b JOIN fx_daily_quote q USING (code, trade_date)"
                     " WHERE b.asset_class = 'fx' AND abs(b.close - (q.bid_close + q.ask_close) / 2) > 1e-9")
    assert off_mid == [(0,)]
    weekend = p1.sql("SELECT count(*) FROM daily_bar WHERE asset_class = 'fx' AND extract(isodow FROM trade_date) > 5")
    assert weekend == [(0,)]  # GMT weekdays only
    days = p1.sql("SELECT count(DISTINCT trade_date) FROM daily_bar WHERE asset_class = 'fx'")[0][0]
    assert days == sum(1 for i in range((dt.date(2024, 12, 31) - dt.date(2023, 1, 2)).days + 1)
                       if (dt.date(2023, 1, 2) + dt.timedelta(days=i)).weekday() < 5)


def test_every_macro_value_has_a_release_time_a_source_and_nothing_before_its_period_end(p1: P1) -> None:
    apis = {a for (a,) in p1.sql("SELECT DISTINCT api_name FROM macro_series")}
    assert apis == {"cn_cpi", "cn_ppi", "cn_m", "cn_pmi", "cn_gdp", "shibor", "us_tycr", "us_trycr", "us_tbr",
                    "us_tltr"}
    counts = dict(p1.sql("SELECT available_source, count(*) FROM macro_observation GROUP BY 1"))
    assert counts.get("official_calendar", 0) > 0 and counts.get("lag_rule", 0) > 0
    assert set(counts) <= {"official_calendar", "lag_rule"}  # a backfill never claims its load time
    assert p1.sql("SELECT count(*) FROM macro_observation WHERE available_at IS NULL OR available_source IS NULL"
                  " OR available_at < period_end") == [(0,)]
    assert p1.sql("SELECT count(*) FROM macro_observation WHERE vintage > 1") == [(0,)]
    cpi = p1.sql("SELECT available_source, available_at FROM macro_observation"
                 " WHERE series_id = 'cn_cpi.nt_yoy' AND period = '202403'")
    assert cpi[0][0] == "official_calendar"  # cn_schedule gave the day, the rule the 09:30
    released = p1.sql("SELECT release_at FROM macro_release WHERE api_name = 'cn_cpi' AND period = '202403'")
    assert cpi[0][1] == released[0][0] and released[0][0].astimezone(dt.timezone(dt.timedelta(hours=8))).time() == \
        dt.time(9, 30)
    months = p1.sql("SELECT count(DISTINCT period) FROM macro_observation WHERE series_id = 'cn_cpi.nt_yoy'")
    assert months == [(24,)]


def test_the_p1_gate_passes_on_the_clean_backfill(p1: P1) -> None:
    done = cli(p1.env, "job", "gate", "--phase", "C", "--as-of", "2024-12-31", "--since", START)
    assert done.returncode == 0, done.stdout[:5000] + done.stderr[-2000:]
    checks = dict(p1.sql("SELECT r.check_name, bool_and(r.passed) FROM gate_check_results r JOIN gate_runs g"
                         " USING (gate_run_id) WHERE g.phase = 'C' GROUP BY 1"))
    for name in ("quality.pit_not_before_period_end", "quality.pit_not_after_first_seen", "quality.pit_no_leakage",
                 "reconciliation.expected_keys"):
        assert checks.get(name) is True, (name, checks)
    streak = p1.sql("SELECT r.metric_value, r.message FROM gate_check_results r JOIN gate_runs g USING (gate_run_id)"
                    " WHERE g.phase = 'C' AND r.check_name = 'stability.clean_streak'")
    assert streak[0][0] >= 3 and streak[0][1].startswith("P1: "), streak  # FX and daily series serve the days
    cells = dict(p1.sql("SELECT status, count(*) FROM status_matrix WHERE dataset = 'fx_daily' GROUP BY 1"))
    assert set(cells) == {"complete", "not_applicable"} and cells["complete"] > 0  # weekends: not applicable


def test_a_seeded_look_ahead_fails_the_p1_gate_naming_the_series_and_period(p1: P1) -> None:
    p1.sql("INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at, available_date,"
           " available_source, first_seen_at, run_id) VALUES ('cn_cpi.nt_yoy', '2024-11-30', 9, '202411', 1.0,"
           " '2024-11-20 02:00+00', '2024-11-20', 'lag_rule', '2024-11-20 02:00+00', 0)")
    try:
        done = cli(p1.env, "job", "gate", "--phase", "C", "--as-of", "2024-12-31", "--since", START)
        assert done.returncode == 2, done.stdout[-4000:] + done.stderr[-2000:]
        assert "quality.pit_not_before_period_end" in done.stdout and "cn_cpi.nt_yoy 202411" in done.stdout
    finally:
        p1.sql("DELETE FROM macro_observation WHERE vintage = 9")


def test_a_revision_after_ingestion_is_a_second_vintage_and_as_of_reads_see_it_only_after(p1: P1) -> None:
    before = p1.sql("SELECT value FROM macro_observation WHERE series_id = 'cn_cpi.nt_yoy' AND period = '202406'")
    (old,) = before[0]
    p1.server.revise(api="cn_cpi", period="202406", nt_yoy=old + 0.3)
    seen_before = dt.datetime.now(dt.timezone.utc)
    p1.ingest("--mode", "incremental", "--end", END, "--dataset", "cn_cpi")
    vintages = p1.sql("SELECT vintage, value, available_source, available_at FROM macro_observation"
                      " WHERE series_id = 'cn_cpi.nt_yoy' AND period = '202406' ORDER BY vintage")
    assert [(v, round(x, 6), s) for v, x, s, _ in vintages] == [(1, round(old, 6), "official_calendar"),
                                                              (2, round(old + 0.3, 6), "first_seen")]
    assert vintages[1][3] >= seen_before
    revised = p1.sql("SELECT series_id, period FROM macro_observation WHERE vintage > 1 ORDER BY 1")
    assert revised == [("cn_cpi.nt_val", "202406"), ("cn_cpi.nt_yoy", "202406")]  # the index follows its yoy
    p1.sql("UPDATE read_switch SET enabled = true WHERE module = 'macro'")
    asof = "SELECT value FROM macro_asof('cn_cpi.nt_yoy', :at) WHERE period = '202406'"
    assert round(p1.sql(asof, at=seen_before)[0][0], 6) == round(old, 6)
    assert round(p1.sql(asof, at=dt.datetime.now(dt.timezone.utc))[0][0], 6) == round(old + 0.3, 6)
    assert p1.sql(asof, at=dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc)) == []  # before its first release
    again = p1.ingest("--mode", "incremental", "--end", END, "--dataset", "cn_cpi")
    assert "0 written" in again.stdout + again.stderr  # the same answer again: no third vintage


def test_a_pair_removed_from_the_whitelist_is_no_longer_fetched_and_its_cells_are_not_applicable(p1: P1) -> None:
    p1.ingest("--mode", "incremental", "--end", END, "--dataset", "fx_daily",
              TSR_FX_WHITELIST=json.dumps(["USDCNH.FXCM"]))
    runs = p1.sql("SELECT api_calls FROM ingest_runs WHERE dataset = 'fx_daily' ORDER BY run_id DESC LIMIT 1")
    assert runs == [(1,)]  # one call: the pair still followed
    assert p1.sql("SELECT scope, enabled FROM ingest_targets WHERE dataset = 'fx_daily' ORDER BY 1") == [
        ("EURUSD.FXCM", False), ("USDCNH.FXCM", True)]
    done = cli(p1.env, "status", "--refresh", "--dataset", "fx_daily", "--since", "20241202", "--until", END, "--json")
    assert done.returncode == 0, done.stderr
    dropped = [c for c in json.loads(done.stdout)["cells"] if c["scope"] == "EURUSD.FXCM"]
    assert dropped and {(c["status"], c["reason"]) for c in dropped} == {
        ("not_applicable", "no longer followed (removed from spec.universe)")}
    kept = {c["status"] for c in json.loads(done.stdout)["cells"] if c["scope"] == "USDCNH.FXCM"}
    assert kept == {"complete", "not_applicable"}


def test_a_macro_period_is_due_at_its_official_release_plus_grace_and_missing_after(p1: P1) -> None:
    def cells() -> dict[str, dict]:
        done = cli(p1.env, "status", "--refresh", "--dataset", "cn_m", "--since", "20241001", "--until", END,
                   "--json")
        assert done.returncode == 0, done.stderr
        return {c["period"]: c for c in json.loads(done.stdout)["cells"]}

    before = cells()
    assert before["202411"]["status"] == before["202412"]["status"] == "complete"
    assert before["202411"]["explain"]["due_from"] == "official calendar + grace"
    p1.sql("DELETE FROM macro_observation WHERE series_id LIKE 'cn_m.%' AND period IN ('202411', '202412')")
    after = cells()
    assert after["202411"]["status"] == "missing" and after["202411"]["reason"].endswith("series have no value")
    # December is released in January: as of 31 December it is not expected yet
    assert (after["202412"]["status"], after["202412"]["reason"]) == ("not_applicable", "not released yet")
    p1.ingest("--mode", "incremental", "--end", END, "--dataset", "cn_m")  # the next run fills it again
    assert cells()["202411"]["status"] == "complete"


def test_the_daily_run_of_phase_c_keeps_p1_current_and_stores_its_daily_gate(p1: P1) -> None:
    done = cli({**p1.env, "TSR_JOB_NAME": "p1-c-daily-1", "TSR_BACKFILL_START": "2023-01-02"}, "job", "daily",
               "--phase", "C", "--end", END)
    assert done.returncode == 0, done.stdout[:4000] + done.stderr[-2000:]
    assert p1.sql("SELECT DISTINCT phase, passed FROM gate_runs WHERE job_name = 'p1-c-daily-1'") == [("C", True)]
    modes = p1.sql("SELECT DISTINCT mode FROM ingest_runs WHERE job_name = 'p1-c-daily-1'")
    assert modes == [("incremental",)]
    assert p1.sql("SELECT count(*) FROM macro_observation WHERE vintage > 1 AND run_id IN (SELECT run_id FROM"
                  " ingest_runs WHERE job_name = 'p1-c-daily-1')") == [(0,)]  # nothing revised since: no new vintage
