"""P2's futures microstructure and pre-open data from the local server through the real CLI: stored
whole, skipped when their sub-flag is off or their API denied, and checked by gate D."""

from __future__ import annotations

import json
from sqlalchemy import text

from tushare_rollout.db.engine import make_engine

from helpers import cli, cli_env

START, END = "20240102", "20240131"


def test_the_p2_modules_in_force_are_loaded_whole_and_pass_gate_d(migrated_url: str, tushare) -> None:
    env = cli_env(migrated_url, tushare)
    done = cli(env, "job", "ingest", "--batch", "P2", "--start", START, "--end", END)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(DISTINCT trade_date) FROM {t}")).scalar_one()
                      for t in ("fut_warehouse_receipt", "fut_holding", "stk_premarket")}
            open_days = {x: conn.execute(text(
                "SELECT count(*) FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date BETWEEN :a AND :b"),
                {"x": x, "a": "2024-01-02", "b": "2024-01-31"}).scalar_one() for x in ("SHFE", "SSE")}
            blank = conn.execute(text("SELECT count(*) FROM fut_warehouse_receipt WHERE wh_id = ''")).scalar_one()
        assert counts == {"fut_warehouse_receipt": open_days["SHFE"], "fut_holding": open_days["SHFE"],
                          "stk_premarket": open_days["SSE"]}, counts
        assert blank > 0  # receipts without a warehouse id keep their rows (an empty key part, not NULL)
    finally:
        engine.dispose()
    gate = cli(env, "job", "gate", "--phase", "D", "--as-of", "2024-01-31", "--since", START)
    assert gate.returncode == 0, gate.stdout[:5000] + gate.stderr[-2000:]


def test_a_sub_flag_off_or_a_denied_api_skips_the_module(migrated_url: str, tushare) -> None:
    env = cli_env(migrated_url, tushare)
    flags = {"p0Enabled": True, "p2Enabled": True, "p2FuturesMicrostructureV1": False, "updatedAt": 1}
    assert cli(env, "job", "baseline", "--flags", json.dumps(flags)).returncode == 0
    done = cli(env, "job", "ingest", "--batch", "P2", "--start", START, "--end", END)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fut_wsr (flag off: p2FuturesMicrostructureV1 is off)" in done.stdout + done.stderr
    gate = cli(env, "job", "gate", "--phase", "D", "--as-of", "2024-01-31", "--since", START)
    assert gate.returncode == 0 and "no P2 module is in force" in gate.stdout + gate.stderr
