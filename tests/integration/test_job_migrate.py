"""`tushare-rollout job migrate`: idempotent upgrade, --check, --to, and one clear line for bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.process import free_port

HEAD = migrate.heads()[0]


def cli(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TSR_DATABASE_URL")}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "tushare_rollout", *args],
                          env=env, capture_output=True, text=True, timeout=300)


def job(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(database_url, "job", "migrate", *args)


def test_upgrade_is_idempotent_and_check_reports_the_position(database_url: str) -> None:
    behind = job(database_url, "--check")
    assert behind.returncode == 2
    assert "no schema yet" in behind.stderr and HEAD in behind.stderr

    first = job(database_url)
    assert first.returncode == 0, first.stderr
    assert f"upgraded from base to head {HEAD}" in first.stdout
    second = job(database_url)
    assert second.returncode == 0
    assert f"already at head {HEAD}" in second.stdout and "(0 new)" in second.stdout

    at_head = job(database_url, "--check")
    assert at_head.returncode == 0 and "at the head revision" in at_head.stdout

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
            # the current month and the two after it are ready for minute bars
            assert conn.execute(text("SELECT count(*) FROM pg_class WHERE relname ~ '^minute_bar_[0-9]{6}$'")).scalar() == 3
    finally:
        engine.dispose()


def test_downgrade_with_to(database_url: str) -> None:
    assert job(database_url).returncode == 0
    down = job(database_url, "--to", "base")
    assert down.returncode == 0 and f"downgraded from {HEAD} to base" in down.stdout
    assert job(database_url, "--check").returncode == 2
    unknown = job(database_url, "--to", "nosuchrev")
    assert unknown.returncode == 4 and "nosuchrev" in unknown.stderr


def test_a_database_ahead_of_this_release_is_named(database_url: str) -> None:
    assert job(database_url).returncode == 0
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff0'"))
    finally:
        engine.dispose()
    check = job(database_url, "--check")
    assert check.returncode == 2 and "ahead" in check.stderr
    upgrade = job(database_url)
    assert upgrade.returncode == 4 and "ahead" in upgrade.stderr


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        (None, 4, "DATABASE_URL is not set"),
        ("not a url at all", 4, "DATABASE_URL is not a database URL"),
        ("mysql://u:hunter2@localhost/db", 4, "only PostgreSQL is supported"),
        ("postgresql://u:hunter2@127.0.0.1:{port}/db", 3, "cannot reach PostgreSQL at postgresql+psycopg://u:***@127.0.0.1"),
    ],
    ids=["unset", "garbage", "not-postgres", "unreachable"],
)
def test_bad_configuration_gives_one_clear_line(url: str | None, code: int, says: str) -> None:
    if url is not None:
        url = url.format(port=free_port())
    result = job(url)
    assert result.returncode == code
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, "one line, no traceback"
    assert "hunter2" not in result.stderr + result.stdout


def test_db_partitions_command(database_url: str) -> None:
    not_yet = cli(database_url, "db", "partitions", "--from", "2030-01", "--to", "2030-03")
    assert not_yet.returncode == 4 and "job migrate" in not_yet.stderr
    assert job(database_url).returncode == 0
    made = cli(database_url, "db", "partitions", "--from", "2030-01", "--to", "2030-03")
    assert made.returncode == 0 and "(6 new)" in made.stdout
    again = cli(database_url, "db", "partitions", "--from", "2030-01", "--to", "2030-03")
    assert again.returncode == 0 and "(0 new)" in again.stdout
    backwards = cli(database_url, "db", "partitions", "--from", "2030-03", "--to", "2030-01")
    assert backwards.returncode == 4 and "before" in backwards.stderr
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            names = set(conn.execute(text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE '%\\_2030%'")).scalars())
    finally:
        engine.dispose()
    assert names == {f"{t}_2030{m:02d}" for t in ("minute_bar", "realtime_minute_bar") for m in (1, 2, 3)}
