"""Settings of a Job process (``tushare-rollout job ...``), built once in the entrypoint."""

from __future__ import annotations

from ..config import SecretStr, SettingsBase, plain_env


class JobSettings(SettingsBase):
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    # minute-table partitions kept ready ahead of the current month by `job migrate`
    partitions_months_ahead: int = 2
