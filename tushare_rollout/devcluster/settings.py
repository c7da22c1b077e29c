"""Settings of the dev-cluster process (``tushare-rollout devcluster up``, ``make demo``, the test bed)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..config import SecretStr, SettingsBase, plain_env


class DevClusterSettings(SettingsBase):
    # An existing PostgreSQL to use instead of the embedded one.
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    # Only read when use_existing_cluster is set: a KUBECONFIG in the user's shell
    # must never turn the test bed loose on a real cluster by accident.
    kubeconfig: Path | None = plain_env("KUBECONFIG")
    use_existing_cluster: bool = False
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "tushare-rollout")
    startup_timeout: float = 90.0
    # Build the control-plane binaries if they are missing (scripts/build-controlplane).
    build_binaries: bool = True
