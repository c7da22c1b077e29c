"""The local test bed: a real control plane and PostgreSQL on loopback."""

from .binaries import Binaries, BinariesMissing, ensure_binaries, pinned_versions
from .cluster import DevCluster
from .jobrunner import LocalJobRunner
from .postgres import Postgres, PostgresUnavailable
from .settings import DevClusterSettings

__all__ = [
    "Binaries",
    "BinariesMissing",
    "DevCluster",
    "DevClusterSettings",
    "LocalJobRunner",
    "Postgres",
    "PostgresUnavailable",
    "ensure_binaries",
    "pinned_versions",
]
