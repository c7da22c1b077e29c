"""Publish and roll back phases on a real P0 backfill: read switches, the purge by lineage, idempotency,
the schema rollback, and the re-roll forward that reloads exactly the same data.

One backfill (2024-01-02..2024-01-31) is loaded from the local Tushare server through the real CLI into a
template database; every test works on its own copy.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tushare_rollout.db import migrate
from tushare_rollout.db.base import Batch
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.ingest.datasets import for_batch
from tushare_rollout.jobs.rollback import data_tables
from tushare_rollout.tushare.server.app import LocalTushareServer

import helpers
from helpers import cli, cli_env, p0_backfill_database

START, END = "20240102", "20240131"
P0_DATASETS = sorted(d.name for d in for_batch(Batch.P0))
P0_MODULES = ["etf", "future", "index", "sge", "stock"]
# the consumer views of the P0 tables (trade_calendar is reference data without a view)
P0_VIEWS = ["v_instrument", "v_daily_bar", "v_adj_factor", "v_stock_daily_basic", "v_stock_suspension",
            "v_index_weight", "v_future_daily_extra", "v_sge_daily_extra"]


def checksums(engine: Engine) -> dict[str, tuple[int, str]]:
    return helpers.checksums(engine, data_tables())


@pytest.fixture(scope="module")
def template(devcluster: DevCluster, tushare: LocalTushareServer) -> Iterator[str]:
    """A database holding a clean P0 backfill (no connections left)."""
    name = "rollback_template"
    p0_backfill_database(devcluster, tushare, name, START, END)
    yield name
    devcluster.postgres.drop_database(name)


@dataclass
class Copy:
    url: str
    engine: Engine
    env: dict[str, str]
    log: Path

    def sql(self, statement: str, **params: object) -> list:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []

    def one(self, statement: str, **params: object) -> object:
        return self.sql(statement, **params)[0][0]

    def job(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        self.log.unlink(missing_ok=True)
        return cli({**self.env, **env}, "job", *args)

    def record(self) -> dict:
        """The JSON the last job left on the termination log."""
        return json.loads(self.log.read_text())

    def cells(self) -> list:
        """The status matrix of the window, recomputed from the stored rows (an ingest run refreshes each
        dataset's cells as it finishes, possibly before a sibling it depends on, e.g. suspensions)."""
        ok(cli(self.env, "status", "--refresh", "--since", START, "--until", END, "--json"))
        return self.sql("SELECT dataset, scope, period, status, expected, present FROM status_matrix"
                        " WHERE dataset = ANY(:p0) ORDER BY 1, 2, 3", p0=P0_DATASETS)

    def counts(self, tables: list[str]) -> dict[str, int]:
        return {t: self.one(f"SELECT count(*) FROM {t}") for t in tables}

    def relations(self) -> list[tuple[str, str]]:
        """Every table, partition, view, index and sequence in the public schema."""
        return self.sql("SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' ORDER BY 1")

    def schema(self) -> tuple:
        return (self.relations(), self.sql("SELECT version_num FROM alembic_version"),
                self.sql("SELECT module, enabled, reason FROM read_switch ORDER BY module"))


@pytest.fixture
def db(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request, tmp_path: Path) -> Iterator[Copy]:
    name = f"rb_{request.node.name.split('[')[0][-40:]}".lower()
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name, template=template).render_as_string(hide_password=False)
    engine = make_engine(url)
    log = tmp_path / "termination-log"
    yield Copy(url, engine, cli_env(url, tushare, TSR_TERMINATION_LOG=str(log)), log)
    engine.dispose()
    devcluster.postgres.drop_database(name)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


# -- switching reads ---------------------------------------------------------------------------------------


def test_publish_shows_p0_and_a_rollback_without_purge_hides_it_but_keeps_the_rows(db: Copy) -> None:
    tables = [v.removeprefix("v_") for v in P0_VIEWS]
    stored = db.counts(tables)
    assert all(stored.values()), stored
    assert db.counts(P0_VIEWS) == {v: 0 for v in P0_VIEWS}  # nothing is published after the migration

    assert "turned on: etf, future, index, sge, stock" in ok(db.job("publish", "--phase", "B"))
    assert db.record()["switchedOn"] == P0_MODULES and db.record()["exitCode"] == 0
    assert db.one("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'") == \
        db.one("SELECT count(*) FROM daily_bar WHERE asset_class = 'stock'") > 0
    assert db.counts(P0_VIEWS) == {f"v_{t}": n for t, n in stored.items()}
    assert db.sql("SELECT DISTINCT reason FROM read_switch WHERE batch = 'P0'") == [("published phase B (data/p0)",)]
    again = ok(db.job("publish", "--phase", "B"))  # idempotent
    assert "already on: etf, future, index, sge, stock" in again and db.record()["switchedOn"] == []

    out = ok(db.job("rollback", "--phase", "B"))
    assert "read switches turned off: etf, future, index, sge, stock; data kept" in out
    assert db.counts(P0_VIEWS) == {v: 0 for v in P0_VIEWS}
    assert db.counts(tables) == stored
    assert db.sql("SELECT module, enabled, reason FROM read_switch WHERE batch = 'P0' ORDER BY module") == [
        (m, False, "rolled back phase B (data/p0)") for m in P0_MODULES]
    assert db.sql("SELECT module FROM read_switch WHERE batch <> 'P0' AND enabled") == []
    record = db.sql("SELECT rollout_batch, phase, batch, purge_data, schema, switches_off, rows_deleted,"
                    " runs_rolled_back, finished_at >= started_at FROM rollback_runs")
    assert record == [("data/p0", "B", "P0", False, False, P0_MODULES, {}, 0, True)]
    assert db.record()["switchesOff"] == P0_MODULES and db.record()["rollbackId"] == 1

    # the P2 sub-flags publish one module at a time; a module of another batch is refused
    assert "turned on: p2_realtime_index" in ok(db.job("publish", "--phase", "D", "--module", "p2_realtime_index"))
    assert db.sql("SELECT module FROM read_switch WHERE enabled") == [("p2_realtime_index",)]
    wrong = db.job("publish", "--phase", "D", "--module", "stock")
    assert wrong.returncode == 4 and "--module stock: not a module of P2" in wrong.stderr


def test_rolling_back_phase_e_or_a_without_schema_only_records(db: Copy) -> None:
    ok(db.job("publish", "--phase", "B"))
    schema, data = db.schema(), checksums(db.engine)
    assert "nothing to undo" in ok(db.job("rollback", "--phase", "E", "--purge-data"))
    assert "schema kept" in ok(db.job("rollback", "--phase", "A", "--purge-data"))
    assert db.schema() == schema  # the read switches (still on) included
    assert checksums(db.engine) == data
    assert db.sql("SELECT phase, batch, switches_off, rows_deleted FROM rollback_runs ORDER BY rollback_id") == [
        ("E", None, [], {}), ("A", None, [], {})]


# -- the purge ---------------------------------------------------------------------------------------------


def _other_batch(db: Copy) -> int:
    """A P1 run with its own rows in the shared tables, a checkpoint and a status cell."""
    p1 = db.one("INSERT INTO ingest_runs (batch, dataset, mode, status, finished_at) VALUES"
                " ('P1', 'fx_daily', 'backfill', 'succeeded', now()) RETURNING run_id")
    db.sql("INSERT INTO instrument (asset_class, code, name, run_id) VALUES ('fx', 'USDCNH.FXCM', 'USD/CNH', :r)", r=p1)
    db.sql("INSERT INTO daily_bar (asset_class, code, trade_date, close, run_id)"
           " VALUES ('fx', 'USDCNH.FXCM', '2024-01-02', 7.12, :r)", r=p1)
    db.sql("INSERT INTO ingest_checkpoints (dataset, partition_key, run_id, rows)"
           " VALUES ('fx_daily', '20240102', :r, 1)", r=p1)
    db.sql("INSERT INTO status_matrix (dataset, scope, period, period_date, status, expected, present, rule)"
           " VALUES ('fx_daily', 'market', '20240102', '2024-01-02', 'complete', 1, 1, 'calendar')")
    return p1


def test_a_purge_removes_exactly_what_p0_wrote_twice_is_a_no_op_and_a_rerun_reloads_the_same_data(db: Copy) -> None:
    ok(db.job("publish", "--phase", "B"))
    tables = data_tables()
    checkpoints = db.one("SELECT count(*) FROM ingest_checkpoints")
    cells = db.cells()
    assert checkpoints > 0 and {c[0] for c in cells} == set(P0_DATASETS)
    p1 = _other_batch(db)
    expected = checksums(db.engine)  # what a re-run must give back: the P1 rows, and P0 reloaded
    # one more P0 run after the P1 one (so the P1 run id sits between P0 run ids), with a row of its own
    late = db.one("INSERT INTO ingest_runs (batch, dataset, mode, status, finished_at) VALUES"
                  " ('P0', 'daily', 'incremental', 'succeeded', now()) RETURNING run_id")
    db.sql("INSERT INTO daily_bar (asset_class, code, trade_date, close, run_id)"
           " VALUES ('stock', '999999.SZ', '2024-01-02', 1.0, :r)", r=late)
    p0_rows = {t: db.one(f"SELECT count(*) FROM {t} WHERE run_id IN"
                         " (SELECT run_id FROM ingest_runs WHERE batch = 'P0')") for t in tables}
    assert p0_rows["daily_bar"] > 1000 and p0_rows["instrument"] > 100 and p0_rows["trade_calendar"] > 100
    totals = db.counts(tables)

    out = ok(db.job("rollback", "--phase", "B", "--purge-data"))
    assert f"deleted {sum(p0_rows.values())} rows" in out and f"{checkpoints} checkpoints" in out, out
    record = db.record()
    assert record["rowsDeleted"] == {**p0_rows, "ingest_checkpoints": checkpoints, "status_matrix": len(cells)}
    assert record["switchesOff"] == P0_MODULES and record["purgeData"] is True
    assert db.sql("SELECT rows_deleted, switches_off, runs_rolled_back FROM rollback_runs") == [
        (record["rowsDeleted"], P0_MODULES, record["runsRolledBack"])]
    # every P0 row is gone from every table; the P1 rows in the shared tables survive
    assert db.counts(tables) == {t: totals[t] - p0_rows[t] for t in tables}
    assert db.sql("SELECT asset_class, code, run_id FROM instrument") == [("fx", "USDCNH.FXCM", p1)]
    assert db.sql("SELECT asset_class, code, run_id FROM daily_bar") == [("fx", "USDCNH.FXCM", p1)]
    assert db.sql("SELECT dataset FROM ingest_checkpoints") == [("fx_daily",)]
    assert db.sql("SELECT count(*) FROM status_matrix WHERE dataset = ANY(:p0)", p0=P0_DATASETS) == [(0,)]
    assert ("fx_daily",) in db.sql("SELECT DISTINCT dataset FROM status_matrix")  # P1's cells survive
    # the P0 runs are marked (and kept: lineage and history), the P1 run is not
    marks = dict(db.sql("SELECT batch, array_agg(DISTINCT rolled_back_by) FROM ingest_runs GROUP BY batch"))
    assert marks == {"P0": [record["rollbackId"]], "P1": [None]}
    assert record["runsRolledBack"] == db.one("SELECT count(*) FROM ingest_runs WHERE batch = 'P0'")

    again = ok(db.job("rollback", "--phase", "B", "--purge-data"))
    assert "read switches already off; deleted 0 rows, 0 checkpoints, 0 status cells; 0 runs" in again
    assert set(db.record()["rowsDeleted"].values()) == {0} and db.record()["switchesOff"] == []
    assert db.sql("SELECT rows_deleted, switches_off, runs_rolled_back FROM rollback_runs WHERE rollback_id = 2") == [
        ({t: 0 for t in record["rowsDeleted"]}, [], 0)]

    # re-roll forward: the same window reloads every partition and gives back exactly the same data
    ok(db.job("ingest", "--start", START, "--end", END))
    assert checksums(db.engine) == expected
    assert db.one("SELECT count(*) FROM ingest_checkpoints") == checkpoints + 1
    assert db.cells() == cells
    assert db.sql("SELECT DISTINCT rolled_back_by FROM ingest_runs WHERE run_id > :late", late=late) == [(None,)]
    assert db.counts(P0_VIEWS) == {v: 0 for v in P0_VIEWS}  # reloaded, not yet published again
    ok(db.job("publish", "--phase", "B"))
    assert db.one("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'") > 0


# -- the schema ---------------------------------------------------------------------------------------------


def test_phase_a_with_schema_leaves_an_empty_database_and_the_record_only_on_the_termination_log(db: Copy) -> None:
    ok(db.job("publish", "--phase", "C", "--module", "fx"))
    refused = db.job("rollback", "--phase", "A", "--schema")
    assert refused.returncode == 4 and "while modules are published (fx)" in refused.stderr
    assert db.one("SELECT count(*) FROM daily_bar") > 0  # nothing dropped
    ok(db.job("rollback", "--phase", "C"))

    out = ok(db.job("rollback", "--phase", "A", "--schema"))
    head = migrate.heads()[0]
    printed = json.loads(out.splitlines()[0])
    assert printed == db.record()
    assert printed["exitCode"] == 0 and printed["schemaFrom"] == head and printed["phase"] == "A"
    assert f"schema downgraded from {head} to base" in out
    assert db.relations() == [("alembic_version", "r"), ("alembic_version_pkc", "i")]  # no table, view, function
    assert db.sql("SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                  " WHERE n.nspname = 'public'") == []
    again = ok(db.job("rollback", "--phase", "A", "--schema"))
    assert "already at base" in again
    # back to phase A: migrate, and the other phases' rollbacks need a schema again
    without = db.job("rollback", "--phase", "B")
    assert without.returncode == 4 and "no schema yet" in without.stderr
    ok(db.job("migrate"))
    assert db.one("SELECT count(*) FROM rollback_runs") == 0


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, env, code, says", [
    (["rollback", "--phase", "F"], {}, 4, "--phase is one of A, B, C, D, E, got 'F'"),
    (["rollback", "--phase", "B"], {"TSR_ROLLOUT_BATCH": ""}, 4, "TSR_ROLLOUT_BATCH is not set"),
    (["rollback", "--phase", "B", "--purge-data"], {"DATABASE_URL": "postgresql://tsr:s3cret-pw@127.0.0.1:1/tsr"}, 3,
     "cannot reach PostgreSQL at postgresql+psycopg://tsr:***@127.0.0.1:1/tsr"),
    (["rollback", "--phase", "B"], {"DATABASE_URL": None}, 4, "DATABASE_URL is not set"),
    (["publish", "--phase", "E"], {}, 4, "phase E has no modules to publish"),
    (["publish", "--phase", "B"], {"TSR_ROLLOUT_BATCH": ""}, 4, "TSR_ROLLOUT_BATCH is not set"),
    (["publish", "--phase", "B"], {"DATABASE_URL": "postgresql://tsr:s3cret-pw@127.0.0.1:1/tsr"}, 3,
     "cannot reach PostgreSQL"),
], ids=["unknown-phase", "no-rollout-batch", "database-down", "no-database-url", "publish-phase-e",
        "publish-no-rollout-batch", "publish-database-down"])
def test_bad_input_exits_with_a_clear_message_and_no_password(args: list[str], env: dict[str, str | None], code: int,
                                                              says: str, tmp_path: Path) -> None:
    log = tmp_path / "termination-log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("TSR_")}
    full = {**base, "DATABASE_URL": "postgresql://tsr:s3cret-pw@127.0.0.1:5/tsr", "TSR_ROLLOUT_BATCH": "data/p0",
            "TSR_TERMINATION_LOG": str(log), **env}
    done = cli({k: v for k, v in full.items() if v is not None}, "job", *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr + log.read_text()
    assert json.loads(log.read_text())["exitCode"] == code


def test_a_schema_not_at_head_is_bad_configuration(database_url: str, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TSR_")}
    env = {**base, "DATABASE_URL": database_url, "TSR_ROLLOUT_BATCH": "data/p0",
           "TSR_TERMINATION_LOG": str(tmp_path / "log")}
    password = make_engine(database_url).url.password
    for args in (["rollback", "--phase", "B", "--purge-data"], ["publish", "--phase", "B"]):
        done = cli(env, "job", *args)
        assert done.returncode == 4 and "database has no schema yet" in done.stderr, done.stderr
        assert password not in done.stdout + done.stderr
