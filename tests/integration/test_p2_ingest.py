"""P2 from the local server through the real CLI: minute history, futures microstructure and pre-open data stored
whole, skipped when their sub-flag is off or their API denied, and checked by gate D."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import text

from tushare_rollout.db.engine import make_engine

from helpers import cli, cli_env

START, END = "20240102", "20240131"
DOC = Path(__file__).resolve().parents[2] / "docs" / "p2.md"


# what P2 stands on: the calendars, the lists and the daily bars its minutes are reconciled with
P0_UNDER_P2 = ("trade_cal", "stock_basic", "fund_basic", "index_basic", "fut_basic", "daily", "fund_daily",
               "index_daily", "fut_daily")
MINUTE_DAYS = 6


def load_p0_under_p2(env: dict[str, str]) -> None:
    done = cli(env, "job", "ingest", "--batch", "P0", *(a for d in P0_UNDER_P2 for a in ("--dataset", d)),
               "--start", START, "--end", END)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_p2_modules_in_force_are_loaded_whole_and_pass_gate_d(migrated_url: str, tushare) -> None:
    env = cli_env(migrated_url, tushare, TSR_MINUTE_DAYS=str(MINUTE_DAYS))
    load_p0_under_p2(env)
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
        with engine.connect() as conn:
            minutes = dict(conn.execute(text(
                "SELECT asset_class || ' ' || code, count(*) FROM minute_bar GROUP BY 1")).all())
            days = conn.execute(text(
                "SELECT count(DISTINCT (trade_time AT TIME ZONE 'Asia/Shanghai')::date) FROM minute_bar"
                " WHERE asset_class = 'index'")).scalar_one()
            months = list(conn.execute(text(
                "SELECT c.relname FROM pg_inherits JOIN pg_class c ON c.oid = inhrelid"
                " JOIN pg_class p ON p.oid = inhparent WHERE p.relname = 'minute_bar' ORDER BY 1")).scalars())
            calls = dict(conn.execute(text(
                "SELECT dataset, api_calls FROM ingest_runs WHERE dataset IN ('idx_mins', 'stk_mins', 'ft_mins')")).all())
        # the last MINUTE_DAYS open days of the window, 240 bars a day for every followed index and equity
        assert days == MINUTE_DAYS
        for code in ("index 000300.SH", "index 399006.SZ", "stock 600000.SH", "etf 510300.SH", "etf 159915.SZ"):
            assert minutes[code] == 240 * MINUTE_DAYS, (code, minutes.get(code))
        futures = {k: v for k, v in minutes.items() if k.startswith("future ")}
        assert {k.split()[1].rstrip(".SHFDCEZX").rstrip("0123456789") for k in futures} >= {"CU", "AU", "M", "SR", "IF"}
        assert any(m.endswith("2024_01") or "202401" in m for m in months), months  # made ahead by the ingest
        # one call per code and window: six days fit one window of the 8000-row cap
        assert calls["idx_mins"] == 5 and calls["stk_mins"] == 4, calls
    finally:
        engine.dispose()
    gate = cli(env, "job", "gate", "--phase", "D", "--as-of", "2024-01-31", "--since", START)
    assert gate.returncode == 0, gate.stdout[:5000] + gate.stderr[-2000:]

    # rows lost since (a purge, a hand delete): the window holding them is the only one fetched again
    engine = make_engine(migrated_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM minute_bar WHERE code = '000300.SH' AND trade_time >= '2024-01-30'"))
        again = cli(env, "job", "ingest", "--batch", "P2", "--dataset", "idx_mins", "--start", START, "--end", END)
        assert again.returncode == 0, again.stderr[-3000:]
        with engine.connect() as conn:
            restored = conn.execute(text("SELECT count(*) FROM minute_bar WHERE code = '000300.SH'")).scalar_one()
            newest = conn.execute(text("SELECT api_calls, partitions_written FROM ingest_runs WHERE dataset ="
                                       " 'idx_mins' ORDER BY run_id DESC LIMIT 1")).one()
        assert restored == 240 * MINUTE_DAYS and tuple(newest) == (1, 1)
        # published, the minute bars answer every example of the P2 doc
        assert cli(env, "job", "publish", "--phase", "D").returncode == 0
        blocks = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
        assert len(blocks) >= 3
        for block in blocks:
            with engine.connect() as conn:
                assert conn.execute(text(block.replace(":", r"\:"))).all(), f"no rows from docs/p2.md:\n{block}"
    finally:
        engine.dispose()


def test_a_sub_flag_off_or_a_denied_api_skips_the_module(migrated_url: str, tushare) -> None:
    env = cli_env(migrated_url, tushare)
    flags = {"p0Enabled": True, "p2Enabled": True, "p2FuturesMicrostructureV1": False, "updatedAt": 1}
    assert cli(env, "job", "baseline", "--flags", json.dumps(flags)).returncode == 0
    done = cli(env, "job", "ingest", "--batch", "P2", "--start", START, "--end", END)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fut_wsr (flag off: p2FuturesMicrostructureV1 is off)" in done.stdout + done.stderr
    gate = cli(env, "job", "gate", "--phase", "D", "--as-of", "2024-01-31", "--since", START)
    assert gate.returncode == 0 and "no P2 module is in force" in gate.stdout + gate.stderr
