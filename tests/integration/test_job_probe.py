"""``tushare-rollout job probe``: the P2 permission probes through the real CLI, against the local Tushare
server's token tiers and a real PostgreSQL. What is asserted is what was stored, printed and written to
the termination log — and that the Tushare token is in none of them.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from tushare_rollout.db.engine import make_engine
from tushare_rollout.db.rollout import probes as latest_probes
from tushare_rollout.jobs.probe import PROBES
from tushare_rollout.tushare.server.access import MSG_NO_PERMISSION
from tushare_rollout.tushare.server.app import LocalTushareServer
from tushare_rollout.tushare.server.faults import FaultPlan

from helpers import cli, cli_env

APIS = [p.api for p in PROBES]
# secret-looking tokens the server maps to demo tiers, so a leak is unmistakable
SECRET_5000 = "5f0c1e2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"
SECRET_REVOKED = "0badc0ffee0badc0ffee0badc0ffee0badc0ffee0badc0ffee0bad"
POINTS_ONLY = {"fut_wsr", "fut_holding"}  # 2000 points: the only P2 APIs demo:5000 may call


@pytest.fixture(scope="module")
def tushare() -> Iterator[LocalTushareServer]:
    with LocalTushareServer(seed=7, tokens={SECRET_5000: "demo:5000", SECRET_REVOKED: "demo:all"}).start() as server:
        yield server


@dataclass
class Bed:
    engine: Engine
    env: dict[str, str]
    log: Path

    def probe(self, *args: str, **env: str | None) -> tuple[subprocess.CompletedProcess[str], dict]:
        """The CLI with ``env`` over the bed's environment (``None``: unset)."""
        if self.log.exists():
            self.log.unlink()
        done = cli({k: v for k, v in {**self.env, **env}.items() if v is not None}, "job", "probe", *args)
        record = json.loads(self.log.read_text()) if self.log.exists() else {}
        return done, record

    def rows(self, rollout_batch: str = "data/p0") -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT api_name, outcome, error_code, message, probe_token FROM permission_probes"
                " WHERE rollout_batch = :rb ORDER BY probe_id"), {"rb": rollout_batch})]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM permission_probes")).scalar_one()


@pytest.fixture
def bed(migrated_url: str, tushare: LocalTushareServer, tmp_path: Path) -> Iterator[Bed]:
    engine = make_engine(migrated_url)
    log = tmp_path / "termination-log"
    yield Bed(engine, cli_env(migrated_url, tushare, TSR_TERMINATION_LOG=str(log)), log)
    engine.dispose()


def test_a_5000_point_token_is_denied_the_separately_sold_apis_and_the_token_is_nowhere(bed: Bed) -> None:
    done, record = bed.probe("--probe-token", "2024-11-24", TUSHARE_TOKEN=SECRET_5000)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = bed.rows()
    assert [r[0] for r in rows] == APIS
    for api, outcome, code, message, probe_token in rows:
        if api in POINTS_ONLY:
            assert (outcome, code, message) == ("granted", None, "answered (1 row)"), api
        else:
            assert (outcome, code, message) == ("denied", 40203, MSG_NO_PERMISSION.format(api=api)), api
        assert probe_token == "2024-11-24"
    assert record["exitCode"] == 0 and "8 denied" in record["message"]
    assert [(p["api"], p["outcome"], p["code"], p["message"]) for p in record["probes"]] == [r[:4] for r in rows]
    for api in APIS:
        assert api in done.stdout
    assert "2 granted, 8 denied" in done.stdout
    everything = done.stdout + done.stderr + bed.log.read_text() + repr(rows)
    assert SECRET_5000 not in everything and SECRET_5000[:12] not in everything


def test_a_token_with_everything_is_granted_every_api(bed: Bed) -> None:
    done, record = bed.probe(TUSHARE_TOKEN="demo:all")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert [(r[0], r[1], r[2], r[4]) for r in bed.rows()] == [(api, "granted", None, None) for api in APIS]
    assert {p["outcome"] for p in record["probes"]} == {"granted"} and len(record["probes"]) == len(APIS)
    assert "demo:all" not in done.stdout + done.stderr


def test_a_revoked_token_is_recorded_as_an_error_and_exits_4(bed: Bed, tushare: LocalTushareServer) -> None:
    httpx.post(f"{tushare.url}/_admin/revoke", json={"token": SECRET_REVOKED}).raise_for_status()
    done, record = bed.probe(TUSHARE_TOKEN=SECRET_REVOKED, TSR_PROBE_TOKEN="after-revoke")
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    rows = bed.rows()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [(api, "error", 40101, "after-revoke") for api in APIS]
    assert all("the token is wrong, expired or deleted; check TUSHARE_TOKEN" in r[3] for r in rows)
    assert "refused the token" in done.stderr and "check TUSHARE_TOKEN" in done.stderr
    assert record["exitCode"] == 4 and record["probes"][0]["code"] == 40101
    assert SECRET_REVOKED not in done.stdout + done.stderr + bed.log.read_text() + repr(rows)


@pytest.mark.parametrize("faults, code, outcome, says", [
    ("ratelimit=1", 0, "rate_limited", "每分钟最多访问该接口10次"),
    ("5xx=1", 3, "error", "HTTP 502"),
], ids=["rate-limited", "server-failing"])
def test_each_api_is_called_exactly_once_and_limits_or_failures_are_recorded(
        bed: Bed, migrated_url: str, faults: str, code: int, outcome: str, says: str) -> None:
    with LocalTushareServer(seed=7, faults=FaultPlan.parse(faults, seed=7)).start() as server:
        done, record = bed.probe(TUSHARE_TOKEN="demo:all", TUSHARE_API_URL=server.url)
        calls = next(server.requests)  # requests the server has seen
    assert done.returncode == code, done.stdout[-3000:] + done.stderr[-3000:]
    assert calls == len(APIS)  # no retries, no waiting out a rate limit
    rows = bed.rows()
    assert [(r[0], r[1]) for r in rows] == [(api, outcome) for api in APIS]
    assert all(says in r[3] for r in rows)
    assert record["exitCode"] == code
    if code == 3:
        assert "could not be probed" in done.stderr


@pytest.mark.parametrize("env, args, code, says", [
    ({"DATABASE_URL": None}, [], 4, "DATABASE_URL is not set"),
    ({"TUSHARE_TOKEN": None}, [], 4, "TUSHARE_TOKEN is not set"),
    ({"TUSHARE_TOKEN": "  "}, [], 4, "TUSHARE_TOKEN is not set"),
    ({"TSR_ROLLOUT_BATCH": None}, [], 4, "TSR_ROLLOUT_BATCH is not set"),
    ({"TUSHARE_TOKEN": SECRET_5000}, ["--token", f"x-{SECRET_5000}"], 4, "contains the Tushare token"),
    ({"TUSHARE_API_URL": "ftp://example"}, [], 4, "TUSHARE_API_URL"),
    ({"DATABASE_URL": "postgresql://tsr:s3cret@127.0.0.1:1/x"}, [], 3, "cannot reach PostgreSQL at"),
], ids=["no-database", "no-token", "blank-token", "no-rollout-batch", "token-as-label", "bad-api-url", "dead-database"])
def test_bad_configuration_exits_with_a_clear_message_and_records_nothing(
        bed: Bed, env: dict[str, str | None], args: list[str], code: int, says: str) -> None:
    done, record = bed.probe(*args, **env)
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]
    assert says in done.stderr and record == {"exitCode": code, "message": done.stderr.strip(), "probes": []}
    assert "Traceback" not in done.stderr
    for secret in ("s3cret", SECRET_5000):
        assert secret not in done.stdout + done.stderr + json.dumps(record)
    assert bed.count() == 0


def test_latest_probes_gives_the_newest_row_of_each_api_of_one_rollout_batch(bed: Bed) -> None:
    first, _ = bed.probe(TUSHARE_TOKEN=SECRET_5000, TSR_PROBE_TOKEN="one")
    second, _ = bed.probe(TUSHARE_TOKEN="demo:all", TSR_PROBE_TOKEN="two")
    other, _ = bed.probe(TUSHARE_TOKEN=SECRET_5000, TSR_ROLLOUT_BATCH="data/other")  # after, for another batch
    assert [first.returncode, second.returncode, other.returncode] == [0, 0, 0], first.stderr + second.stderr
    assert len(bed.rows()) == 2 * len(APIS)
    with bed.engine.connect() as conn:
        latest = latest_probes(conn, "data/p0")
        others = latest_probes(conn, "data/other")
        newest = conn.execute(text("SELECT max(probed_at) FROM permission_probes WHERE probe_token = 'two'")
                              ).scalar_one()
        assert latest_probes(conn, "data/none") == []
    assert [(p["api"], p["outcome"], p["message"]) for p in latest] == \
        [(api, "granted", "answered (1 row)") for api in sorted(APIS)]
    assert {p["probedAt"] for p in latest} == {newest.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert [p["outcome"] for p in others] == ["denied" if a not in POINTS_ONLY else "granted" for a in sorted(APIS)]
