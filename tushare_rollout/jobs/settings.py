"""Settings of a Job process (``tushare-rollout job ...``), built once in the entrypoint."""

from __future__ import annotations

import datetime as dt

from pydantic import AliasChoices, BaseModel, Field

from ..config import SecretStr, SettingsBase, plain_env
from ..tushare.client import TushareOptions


class GateOptions(BaseModel):
    """``spec.gates`` as the gate Job receives it (TSR_GATES__STABLE_TRADING_DAYS, TSR_GATES__THRESHOLDS='{...}')."""

    stable_trading_days: int = Field(3, ge=1, le=250, description="clean trading days P2 needs (stableTradingDays)")
    window_days: int = Field(20, ge=1, le=5000, description="open days a gate looks back over without --since")
    thresholds: dict[str, dict[str, float | None]] = Field(
        default_factory=dict,
        description='per check: {"warn": x, "fail": y}, e.g. {"quality.step_changes": {"fail": 5}}')


class JobSettings(SettingsBase):
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    # minute-table partitions kept ready ahead of the current month by `job migrate`
    partitions_months_ahead: int = 2
    tushare_token: SecretStr | None = plain_env("TUSHARE_TOKEN")
    tushare_api_url: str = plain_env("TUSHARE_API_URL", default="http://api.tushare.pro")
    # timeouts, retries, rate limits and paging of the Tushare client (TSR_TUSHARE__TIMEOUT, ...)
    tushare: TushareOptions = Field(default_factory=TushareOptions)
    # ingestion: where a backfill starts, which indices are followed, how wide incremental looks back
    backfill_start: dt.date = dt.date(2020, 1, 2)
    index_codes: list[str] = Field(default_factory=lambda: ["000001.SH", "000300.SH", "000905.SH", "399001.SZ",
                                                            "399006.SZ"])
    fx_whitelist: list[str] = Field(default_factory=lambda: ["USDCNH.FXCM", "EURUSD.FXCM", "XAUUSD.FXCM"],
                                    description="the FX pairs P1 fetches and stores; nothing else")
    lookback_days: int = Field(10, ge=1, le=250)
    workers: int = Field(4, ge=1, le=16, description="datasets loaded at once (each within its own API's limit)")
    # an Indexed Job's shard: Kubernetes sets JOB_COMPLETION_INDEX; the count comes from the Job spec
    shard_index: int = Field(0, ge=0, validation_alias=AliasChoices("JOB_COMPLETION_INDEX", "TSR_SHARD_INDEX"))
    shard_count: int = Field(1, ge=1, validation_alias=AliasChoices("JOB_COMPLETION_COUNT", "TSR_SHARD_COUNT"))
    job_name: str | None = None
    rollout_batch: str | None = Field(None, description="namespace/name of the RolloutBatch the Job works for")
    gates: GateOptions = Field(default_factory=GateOptions)
    termination_log: str = "/dev/termination-log"

    @property
    def followed(self) -> dict[str, list[str]]:
        """The followed code lists by name (``Dataset.codes``)."""
        return {"index": self.index_codes, "fx": self.fx_whitelist}
