"""Publish and roll back phases on a real P0 backfill: read switches, the purge by lineage, idempotency,
the schema rollback, and the re-roll forward that reloads exactly the same data. And P2's module rollback
(``--module``) on real P2 runs: only that module's switch and rows go.

One backfill (2024-01-02..2024-01-31) is loaded from the local Tushare server through the real CLI into a
template database (and, for the module rollbacks, P2 on top of it into a second one); every test works on
its own copy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tushare_rollout.db import metadata, migrate
from tushare_rollout.db.base import Batch
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.ingest.datasets import for_batch
from tushare_rollout.jobs import rollback
from tushare_rollout.jobs.rollback import data_tables
from tushare_rollout.jobs.settings import JobSettings
from tushare_rollout.tushare.server.app import LocalTushareServer

import helpers
from helpers import DatabaseCopy, cli, cli_env, database_copy, p0_backfill_database

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
class Copy(DatabaseCopy):
    log: Path

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


def _copy(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request, tmp_path: Path
          ) -> Iterator[Copy]:
    log = tmp_path / "termination-log"
    with database_copy(devcluster, template, request, "rb") as (url, engine):
        yield Copy(url, engine, cli_env(url, tushare, TSR_TERMINATION_LOG=str(log)), log)


@pytest.fixture
def db(devcluster: DevCluster, template: str, tushare: LocalTushareServer, request, tmp_path: Path) -> Iterator[Copy]:
    yield from _copy(devcluster, template, tushare, request, tmp_path)


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


# -- P2: one module at a time ------------------------------------------------------------------------------

P2_MODULES = ["p2_futures_microstructure", "p2_realtime_equity_etf", "p2_realtime_index", "p2_stk_premarket"]
MODULE_DATASETS = {"p2_futures_microstructure": ["fut_holding", "fut_wsr"],
                   "p2_realtime_index": ["idx_mins", "rt_idx_k", "rt_idx_min"]}
SESSION = dt.datetime(2024, 1, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Friday morning


@pytest.fixture(scope="module")
def p2_template(devcluster: DevCluster, template: str, tushare: LocalTushareServer) -> Iterator[str]:
    """The P0 backfill, plus real P2 runs of every module (futures receipts and positions, pre-open data,
    two days of index and equity minute bars, one realtime snapshot), with every module of P0, P1 and P2
    published."""
    name = "rollback_p2_template"
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name, template=template).render_as_string(hide_password=False)
    env = cli_env(url, tushare, TSR_MINUTE_DAYS="2")
    datasets = ("fut_wsr", "fut_holding", "stk_premarket", "idx_mins", "stk_mins")
    ok(cli(env, "job", "ingest", "--batch", "P2", *(a for d in datasets for a in ("--dataset", d)),
           "--start", START, "--end", END))
    with LocalTushareServer(seed=7, now=lambda: SESSION).start() as frozen:  # realtime answers as of its clock
        ok(cli(cli_env(url, frozen), "job", "realtime", "--now", SESSION.isoformat()))
    ok(cli(env, "job", "publish", "--phase", "B"))
    ok(cli(env, "job", "publish", "--phase", "C"))  # P1's switches (it has no rows here): they must stay on too
    ok(cli(env, "job", "publish", "--phase", "D", *(a for m in P2_MODULES for a in ("--module", m))))
    yield name
    devcluster.postgres.drop_database(name)


@pytest.fixture
def p2(devcluster: DevCluster, p2_template: str, tushare: LocalTushareServer, request, tmp_path: Path
       ) -> Iterator[Copy]:
    yield from _copy(devcluster, p2_template, tushare, request, tmp_path)


def roll_back_modules(db: Copy, *modules: str, purge: bool = False, phase: str = "D") -> rollback.Result:
    """``job rollback --phase D --module ... [--purge-data]``, in process (what the operator's module
    rollback Job runs), against the copy."""
    settings = JobSettings(database_url=db.url, rollout_batch="data/p0", job_name="p0-d-rollback-module-1",
                           termination_log=str(db.log))
    return rollback.run(settings, phase=phase, modules=list(modules), purge_data=purge)


def module_runs(db: Copy, module: str) -> list[int]:
    return [r for (r,) in db.sql("SELECT run_id FROM ingest_runs WHERE dataset = ANY(:ds) ORDER BY 1",
                                 ds=MODULE_DATASETS[module])]


def others(db: Copy, runs: list[int]) -> dict[str, tuple[int, str]]:
    """Per data table: count and checksum of the rows *not* written by ``runs`` (what must survive)."""
    out = {}
    for name in data_tables():
        table = metadata.tables[name]
        cols = ", ".join(c.name for c in table.c if c.name not in ("run_id", "written_at"))
        key = ", ".join(c.name for c in table.primary_key.columns)
        out[name] = tuple(db.sql(
            f"SELECT count(*), coalesce(md5(string_agg(row({cols})::text, '|' ORDER BY {key})), '') FROM {name}"
            " WHERE NOT (run_id = ANY(:runs))", runs=runs)[0])
    return out


def switches(db: Copy) -> dict[str, bool]:
    return dict(db.sql("SELECT module, enabled FROM read_switch"))


def test_a_module_rollback_switches_off_only_that_module_and_keeps_every_row(p2: Copy) -> None:
    before, data = switches(p2), checksums(p2.engine)
    assert all(before.values()), before  # P0 and every P2 module published
    assert p2.one("SELECT count(*) FROM v_fut_holding") > 0 and p2.one("SELECT count(*) FROM v_stk_premarket") > 0
    done = roll_back_modules(p2, "p2_futures_microstructure")
    assert done.code == 0, done.message
    assert done.message.startswith("rolled back P2 module p2_futures_microstructure (phase D) of data/p0: "
                                   "read switches turned off: p2_futures_microstructure; data kept")
    assert switches(p2) == {**before, "p2_futures_microstructure": False}
    assert p2.one("SELECT reason FROM read_switch WHERE module = 'p2_futures_microstructure'") == \
        "rolled back P2 module of phase D (data/p0)"
    assert p2.counts(["v_fut_holding", "v_fut_warehouse_receipt"]) == {"v_fut_holding": 0, "v_fut_warehouse_receipt": 0}
    assert p2.one("SELECT count(*) FROM v_stk_premarket") > 0  # the other P2 modules still show
    assert p2.one("SELECT count(*) FROM v_minute_bar WHERE asset_class = 'index'") > 0
    assert p2.one("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'") > 0  # and P0
    assert checksums(p2.engine) == data  # no row deleted
    assert p2.sql("SELECT phase, batch, purge_data, switches_off, rows_deleted, runs_rolled_back FROM rollback_runs") \
        == [("D", "P2", False, ["p2_futures_microstructure"], {}, 0)]
    assert json.loads(done.as_json())["modules"] == ["p2_futures_microstructure"]  # for the termination log
    assert done.record["switchesOff"] == ["p2_futures_microstructure"]
    again = roll_back_modules(p2, "p2_futures_microstructure")
    assert again.code == 0 and "read switches already off" in again.message and again.record["switchesOff"] == []


def test_a_module_purge_deletes_only_what_its_runs_wrote_twice_is_a_no_op_and_a_rerun_reloads_it(p2: Copy) -> None:
    module = "p2_realtime_index"
    runs = module_runs(p2, module)
    assert {d for (d,) in p2.sql("SELECT DISTINCT dataset FROM ingest_runs WHERE run_id = ANY(:r)", r=runs)} == \
        set(MODULE_DATASETS[module])  # the history and the realtime snapshot runs
    written = {t: p2.one(f"SELECT count(*) FROM {t} WHERE run_id = ANY(:r)", r=runs) for t in data_tables()}
    assert written["minute_bar"] > 0 and written["realtime_quote"] > 0 and written["realtime_minute_bar"] > 0
    assert p2.one("SELECT count(*) FROM minute_bar WHERE asset_class <> 'index'") > 0  # stk_mins: another module
    survivors = others(p2, runs)
    checkpoints = dict(p2.sql("SELECT dataset, count(*) FROM ingest_checkpoints GROUP BY 1"))
    cells = dict(p2.sql("SELECT dataset, count(*) FROM status_matrix GROUP BY 1"))
    assert checkpoints.get("idx_mins") and cells.get("idx_mins"), (checkpoints, cells)
    before = switches(p2)

    done = roll_back_modules(p2, module, purge=True)
    assert done.code == 0, done.message
    index_checkpoints = sum(n for d, n in checkpoints.items() if d in MODULE_DATASETS[module])
    index_cells = sum(n for d, n in cells.items() if d in MODULE_DATASETS[module])
    assert done.record["rowsDeleted"] == {**written, "ingest_checkpoints": index_checkpoints,
                                          "status_matrix": index_cells}
    assert f"deleted {sum(written.values())} rows" in done.message
    # exactly the module's rows are gone: every other row, of P0 and of the other P2 modules, is as it was
    assert checksums(p2.engine) == survivors
    assert p2.one("SELECT count(*) FROM minute_bar WHERE asset_class = 'index'") == 0
    assert p2.one("SELECT count(*) FROM realtime_quote WHERE asset_class = 'index'") == 0
    assert p2.one("SELECT count(*) FROM realtime_quote WHERE asset_class = 'etf'") > 0
    assert dict(p2.sql("SELECT dataset, count(*) FROM ingest_checkpoints GROUP BY 1")) == \
        {d: n for d, n in checkpoints.items() if d not in MODULE_DATASETS[module]}
    assert dict(p2.sql("SELECT dataset, count(*) FROM status_matrix GROUP BY 1")) == \
        {d: n for d, n in cells.items() if d not in MODULE_DATASETS[module]}
    assert switches(p2) == {**before, module: False}
    marked = dict(p2.sql("SELECT run_id, rolled_back_by FROM ingest_runs"))
    assert {r for r, by in marked.items() if by is not None} == set(runs)
    assert done.record["runsRolledBack"] == len(runs)

    again = roll_back_modules(p2, module, purge=True)  # idempotent
    assert again.code == 0 and set(again.record["rowsDeleted"].values()) == {0} and again.record["runsRolledBack"] == 0
    assert "read switches already off; deleted 0 rows" in again.message

    # the sub-flag on again: the operator runs D again, whose ingest reloads what is missing and publishes it
    ok(p2.job("ingest", "--batch", "P2", "--dataset", "idx_mins", "--start", START, "--end", END,
              TSR_MINUTE_DAYS="2"))
    assert p2.one("SELECT count(*) FROM minute_bar WHERE asset_class = 'index'") == written["minute_bar"]
    ok(p2.job("publish", "--phase", "D", "--module", module))
    assert p2.one("SELECT count(*) FROM v_minute_bar WHERE asset_class = 'index'") == written["minute_bar"]


def test_two_modules_at_once_and_the_whole_of_d_after_them(p2: Copy) -> None:
    done = roll_back_modules(p2, "p2_stk_premarket", "p2_futures_microstructure", purge=True)
    assert done.code == 0 and done.record["modules"] == ["p2_futures_microstructure", "p2_stk_premarket"]
    assert done.record["switchesOff"] == ["p2_futures_microstructure", "p2_stk_premarket"]
    assert p2.counts(["stk_premarket", "fut_holding", "fut_warehouse_receipt"]) == {
        "stk_premarket": 0, "fut_holding": 0, "fut_warehouse_receipt": 0}
    assert p2.one("SELECT count(*) FROM minute_bar") > 0
    whole = roll_back_modules(p2, purge=True)  # no --module: the whole phase, as before
    assert whole.code == 0 and whole.record["switchesOff"] == ["p2_realtime_equity_etf", "p2_realtime_index"]
    assert p2.counts(["minute_bar", "realtime_quote", "realtime_minute_bar"]) == {
        "minute_bar": 0, "realtime_quote": 0, "realtime_minute_bar": 0}
    assert all(on for m, on in switches(p2).items() if not m.startswith("p2_"))  # P0 stays published


@pytest.mark.parametrize("phase, modules, says", [
    ("D", ["p2_futures"], "--module p2_futures: not a P2 module; the P2 modules are p2_futures_microstructure, "
                          "p2_realtime_equity_etf, p2_realtime_index, p2_stk_premarket"),
    ("D", ["stock"], "--module stock: not a P2 module"),
    ("B", ["stock"], "--module applies to phase D only"),
], ids=["unknown-module", "a-p0-module", "module-of-another-phase"])
def test_a_bad_module_exits_4_naming_the_known_modules_and_changes_nothing(p2: Copy, phase: str, modules: list[str],
                                                                           says: str) -> None:
    before = switches(p2)
    done = roll_back_modules(p2, *modules, phase=phase)
    assert done.code == 4 and says in done.message, done.message
    assert switches(p2) == before and p2.sql("SELECT count(*) FROM rollback_runs") == [(0,)]
