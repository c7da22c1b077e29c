"""The test bed: one real control plane and one PostgreSQL per test session,
a fresh namespace and a fresh database per test that asks for one.

Nothing here is faked: the cluster is etcd + kube-apiserver +
kube-controller-manager built from pinned sources (built on first use if the
cache is empty), and PostgreSQL is a real server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tushare_rollout.devcluster import DevCluster, DevClusterSettings
from tushare_rollout.tushare.server.app import LocalTushareServer


@pytest.fixture(scope="session")
def devcluster() -> Iterator[DevCluster]:
    with DevCluster.start(DevClusterSettings()) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def tushare() -> Iterator[LocalTushareServer]:
    """The local Tushare-compatible server (seed 7), one per test module, over real HTTP."""
    with LocalTushareServer(seed=7).start() as server:
        yield server


@pytest.fixture(scope="session")
def crd(devcluster: DevCluster) -> DevCluster:
    """The RolloutBatch CRD, applied once per session and Established."""
    from pathlib import Path

    devcluster.kubectl("apply", "-f", str(Path(__file__).parents[1] / "crds" / "rolloutbatch.yaml"))
    devcluster.wait_for_crd("rolloutbatches.tushare-rollout.io")
    return devcluster


@pytest.fixture
def namespace(devcluster: DevCluster) -> Iterator[str]:
    """A fresh namespace, deleted (without waiting) after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    devcluster.kubectl("create", "namespace", name)
    yield name
    devcluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@pytest.fixture
def database_url(devcluster: DevCluster) -> Iterator[str]:
    """A SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = devcluster.postgres.create_database(name)
    yield url.render_as_string(hide_password=False)
    devcluster.postgres.drop_database(name)


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """A fresh database with the schema at head."""
    from tushare_rollout.db import migrate
    from tushare_rollout.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return database_url


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a fresh database at head."""
    from tushare_rollout.db.engine import make_engine

    eng = make_engine(migrated_url)
    yield eng
    eng.dispose()


@pytest.fixture
def run_id(engine: Engine) -> int:
    """An ingest run to attribute rows to."""
    with engine.begin() as conn:
        return conn.execute(
            text("INSERT INTO ingest_runs (batch, dataset, mode) VALUES ('P0', 'test', 'backfill') RETURNING run_id")
        ).scalar_one()
