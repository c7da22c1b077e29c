"""``job realtime`` against the local server frozen at a moment of a session: a snapshot of the followed
codes in force is stored; outside a session, on a holiday or with the sub-flags off nothing is fetched."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tushare_rollout.db.engine import make_engine
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import cli, cli_env

BEIJING = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2024, 1, 5, 10, 0, tzinfo=BEIJING)  # a Friday, half an hour into the morning session


@pytest.fixture(scope="module")
def frozen() -> Iterator[LocalTushareServer]:
    """A server whose clock stands at ``AT`` (realtime APIs answer as of their clock)."""
    with LocalTushareServer(seed=7, now=lambda: AT).start() as server:
        yield server


def _env(url: str, server: LocalTushareServer) -> dict[str, str]:
    env = cli_env(url, server)
    assert cli(env, "job", "ingest", "--batch", "P0", "--dataset", "trade_cal", "--start", "20240102",
               "--end", "20240131").returncode == 0
    return env


def test_a_session_snapshot_stores_the_followed_codes_up_to_the_last_closed_minute(migrated_url: str,
                                                                                   frozen) -> None:
    env = _env(migrated_url, frozen)
    done = cli(env, "job", "realtime", "--now", AT.isoformat())
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "4/4 datasets" in done.stdout, done.stdout
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            quotes = dict(conn.execute(text(
                "SELECT code, to_char(snapshot_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM realtime_quote")).all())
            bars = dict(conn.execute(text(
                "SELECT asset_class || ' ' || code, count(*) FROM realtime_minute_bar GROUP BY 1")).all())
            last = conn.execute(text(
                "SELECT max(bar_time) AT TIME ZONE 'Asia/Shanghai' FROM realtime_minute_bar")).scalar_one()
            modes = set(conn.execute(text("SELECT mode FROM ingest_runs WHERE batch = 'P2'")).scalars())
    finally:
        engine.dispose()
    # indices (rt_idx_k) and the followed ETFs (rt_etf_k) at 10:00; 09:31..10:00 is 30 one-minute bars each
    assert set(quotes) == {"000001.SH", "000300.SH", "000905.SH", "399001.SZ", "399006.SZ", "510300.SH",
                           "159915.SZ"}, quotes
    assert set(quotes.values()) == {"10:00"}
    assert bars == {"index 000001.SH": 30, "index 000300.SH": 30, "index 000905.SH": 30, "index 399001.SZ": 30,
                    "index 399006.SZ": 30, "stock 600000.SH": 30, "stock 000001.SZ": 30, "etf 510300.SH": 30,
                    "etf 159915.SZ": 30}, bars
    assert last == dt.datetime(2024, 1, 5, 10, 0) and modes == {"realtime"}
    again = cli(env, "job", "realtime", "--now", AT.isoformat())  # the same minute again replaces, never doubles
    assert again.returncode == 0
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM realtime_minute_bar")).scalar_one() == sum(bars.values())
    finally:
        engine.dispose()


@pytest.mark.parametrize("moment, why", [
    (dt.datetime(2024, 1, 5, 12, 10, tzinfo=BEIJING), "12:10 Beijing is outside the trading sessions"),
    (dt.datetime(2024, 1, 6, 10, 0, tzinfo=BEIJING), "2024-01-06 is not an SSE trading day"),
])
def test_outside_a_session_nothing_is_fetched(migrated_url: str, frozen, moment: dt.datetime, why: str) -> None:
    env = _env(migrated_url, frozen)
    done = cli(env, "job", "realtime", "--now", moment.isoformat())
    assert done.returncode == 0 and f"no snapshot taken: {why}" in done.stdout, done.stdout + done.stderr
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM ingest_runs WHERE batch = 'P2'")).scalar_one() == 0
    finally:
        engine.dispose()


def test_realtime_modules_switched_off_are_skipped(migrated_url: str, frozen) -> None:
    env = _env(migrated_url, frozen)
    flags = {"p0Enabled": True, "p2Enabled": True, "p2RealtimeIndexV1": True, "p2RealtimeEquityEtfV1": False,
             "updatedAt": 1}
    assert cli(env, "job", "baseline", "--flags", json.dumps(flags)).returncode == 0
    done = cli(env, "job", "realtime", "--now", AT.isoformat())
    assert done.returncode == 0 and "2/2 datasets" in done.stdout, done.stdout + done.stderr
    assert "rt_min (flag off: p2RealtimeEquityEtfV1 is off)" in done.stdout
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            classes = set(conn.execute(text("SELECT DISTINCT asset_class FROM realtime_minute_bar")).scalars())
    finally:
        engine.dispose()
    assert classes == {"index"}
