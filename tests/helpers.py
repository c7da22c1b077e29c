"""What the integration and end-to-end tests share: running the real CLI against the local Tushare
server and a database, a fast client, and table checksums."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, text

from tushare_rollout.db.checksums import checksums
from tushare_rollout.tushare.server.app import LocalTushareServer

__all__ = ["FAST_CLIENT", "DatabaseCopy", "checksums", "cli", "cli_env", "database_copy", "p0_backfill_database"]  # checksums: db.checksums

# short timeouts and backoffs, and a one-second rate "minute": the tests' client waits little
FAST_CLIENT = {"TSR_TUSHARE__TIMEOUT": "5", "TSR_TUSHARE__BACKOFF_BASE": "0.05", "TSR_TUSHARE__BACKOFF_MAX": "0.2",
               "TSR_TUSHARE__RATE_WINDOW_SECONDS": "1"}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``tushare-rollout *args`` as a subprocess, output captured."""
    return subprocess.run([sys.executable, "-m", "tushare_rollout", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def cli_env(url: str, server: LocalTushareServer, **extra: str) -> dict[str, str]:
    """The environment of a Job run by hand: this database, the local server, the demo:all token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSR_", "JOB_COMPLETION"))}
    return {**env, "DATABASE_URL": url, "TUSHARE_API_URL": server.url, "TUSHARE_TOKEN": "demo:all",
            "TSR_TERMINATION_LOG": os.devnull, "TSR_ROLLOUT_BATCH": "data/p0", "COLUMNS": "200", **FAST_CLIENT,
            **extra}


def p0_backfill_database(devcluster, server: LocalTushareServer, name: str, start: str, end: str) -> str:
    """A fresh database ``name`` at head holding a P0 backfill of ``start..end`` from the local server
    (loaded through the real CLI); returns its URL. No connection is left open, so it can be a template."""
    from tushare_rollout.db import migrate
    from tushare_rollout.db.engine import make_engine

    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    loaded = cli(cli_env(url, server), "job", "ingest", "--start", start, "--end", end)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return url


@dataclass
class DatabaseCopy:
    """A test's own database, cloned from a template: its URL, an engine, and the environment of its Jobs."""

    url: str
    engine: Engine
    env: dict[str, str]

    def sql(self, statement: str, **params: object) -> list:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []


@contextmanager
def database_copy(devcluster, template: str, request, prefix: str) -> Iterator[tuple[str, Engine]]:
    """A fresh database cloned from ``template``, named after the test (``prefix``): its URL and an engine;
    dropped afterwards."""
    from tushare_rollout.db.engine import make_engine

    name = f"{prefix}_{request.node.name.split('[')[0][-40:]}".lower()
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name, template=template).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        devcluster.postgres.drop_database(name)
