"""Phase E's rollback drill through the real CLI: on a disposable copy, P2 rolled back (readers lose exactly
P2) and rolled forward (identical by checksums), the real data untouched and the copy dropped; a P2 row
that cannot be fetched again is found and named."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from tushare_rollout.db.engine import make_engine
from tushare_rollout.jobs.rollback import data_tables

from helpers import checksums, cli, cli_env

START, END = "20240102", "20240119"
P0 = ("trade_cal", "stock_basic", "fund_basic", "index_basic", "fut_basic", "daily", "fund_daily", "index_daily",
      "fut_daily")


def _rolled_out(url: str, tushare) -> dict[str, str]:
    env = cli_env(url, tushare, TSR_MINUTE_DAYS="3", TSR_MINUTE_CODES='["600000.SH", "510300.SH"]',
                  TSR_MINUTE_FUTURES='["CU", "IF"]')
    flags = {"p0Enabled": True, "p2Enabled": True, "p2RealtimeIndexV1": True, "p2RealtimeEquityEtfV1": True,
             "p2FuturesMicrostructureV1": True, "updatedAt": 1}
    steps = [("job", "baseline", "--flags", json.dumps(flags)),
             ("job", "ingest", "--batch", "P0", *(a for d in P0 for a in ("--dataset", d)), "--start", START,
              "--end", END),
             ("job", "publish", "--phase", "B"),
             ("job", "ingest", "--batch", "P2", "--start", START, "--end", END),
             ("job", "publish", "--phase", "D")]
    for args in steps:
        done = cli(env, *args)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return env


def test_the_drill_rolls_p2_back_and_forward_on_a_copy_and_leaves_the_data_as_it_was(migrated_url: str, tushare,
                                                                                    tmp_path: Path) -> None:
    env = _rolled_out(migrated_url, tushare)
    engine = make_engine(migrated_url)
    try:
        before = checksums(engine, data_tables())
        switches = dict(engine.connect().execute(text("SELECT module, enabled FROM read_switch")).all())
        done = cli({**env, "TSR_JOB_NAME": "p2-e-drill-1"}, "job", "rollback-drill")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "rollback drill passed" in done.stdout and "every table identical" in done.stdout
        with engine.connect() as conn:
            drill = conn.execute(text("SELECT * FROM rollback_drills")).mappings().one()
            schemas = list(conn.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tsr_drill_%'")).scalars())
            after_switches = dict(conn.execute(text("SELECT module, enabled FROM read_switch")).all())
        assert drill["passed"] and drill["job_name"] == "p2-e-drill-1" and drill["differences"] == []
        lost = drill["readers_lost"]
        assert lost["v_minute_bar"]["before"] > 0 and lost["v_minute_bar"]["after"] == 0
        assert lost["v_fut_holding"]["before"] > 0 and lost["v_fut_holding"]["after"] == 0
        assert drill["readers_kept"]["v_daily_bar"] > 0
        tables = drill["tables"]
        assert tables["minute_bar"]["afterRollback"] == 0
        assert tables["minute_bar"]["before"] == tables["minute_bar"]["afterRollForward"] > 0
        assert tables["daily_bar"]["afterRollback"] == tables["daily_bar"]["before"]  # P0 untouched
        assert all(t["identical"] for name, t in tables.items() if "identical" in t)
        assert schemas == []  # the copy is dropped
        assert checksums(engine, data_tables()) == before and after_switches == switches  # the real data as it was
        # the run report shows it
        page = tmp_path / "report.html"
        assert cli(env, "report", "--out", str(page)).returncode == 0
        html = page.read_text(encoding="utf-8")
        section = html[html.index("6. Rollback drills"):]
        assert "p2-e-drill-1" in section and "passed" in section
        assert f"{sum(v['before'] for v in lost.values()):,}" in section
    finally:
        engine.dispose()


def test_a_p2_row_the_roll_forward_cannot_bring_back_fails_the_drill_naming_its_table(migrated_url: str,
                                                                                     tushare) -> None:
    env = _rolled_out(migrated_url, tushare)
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as conn:  # a row no source has: a P2 run stored it, a re-fetch will not
            run = conn.execute(text(
                "INSERT INTO ingest_runs (batch, dataset, mode, status, finished_at, window_start, window_end)"
                " VALUES ('P2', 'fut_holding', 'backfill', 'succeeded', now(), '2024-01-10', '2024-01-10')"
                " RETURNING run_id")).scalar_one()
            conn.execute(text(
                "INSERT INTO fut_holding (trade_date, exchange, symbol, broker, vol, run_id)"
                " VALUES ('2024-01-10', 'SHFE', 'CU2403', 'seeded broker', 1, :run)"), {"run": run})
        done = cli(env, "job", "rollback-drill")
        assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
        assert "rollback drill FAILED" in done.stderr and "fut_holding:" in done.stderr
        with engine.connect() as conn:
            drill = conn.execute(text("SELECT passed, differences FROM rollback_drills")).one()
        assert drill.passed is False and any(d.startswith("fut_holding: ") for d in drill.differences)
    finally:
        engine.dispose()
