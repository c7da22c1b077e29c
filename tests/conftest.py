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

from tushare_rollout.devcluster import DevCluster, DevClusterSettings


@pytest.fixture(scope="session")
def devcluster() -> Iterator[DevCluster]:
    with DevCluster.start(DevClusterSettings()) as cluster:
        yield cluster


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
