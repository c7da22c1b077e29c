"""Settings of a Job process (``tushare-rollout job ...``), built once in the entrypoint."""

from __future__ import annotations

from pydantic import Field

from ..config import SecretStr, SettingsBase, plain_env
from ..tushare.client import TushareOptions


class JobSettings(SettingsBase):
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    # minute-table partitions kept ready ahead of the current month by `job migrate`
    partitions_months_ahead: int = 2
    tushare_token: SecretStr | None = plain_env("TUSHARE_TOKEN")
    tushare_api_url: str = plain_env("TUSHARE_API_URL", default="http://api.tushare.pro")
    # timeouts, retries, rate limits and paging of the Tushare client (TSR_TUSHARE__TIMEOUT, ...)
    tushare: TushareOptions = Field(default_factory=TushareOptions)
