"""Settings of a Job process (``tushare-rollout job ...``), built once in the entrypoint."""

from __future__ import annotations

import datetime as dt

from pydantic import AliasChoices, BaseModel, Field

from ..config import SecretStr, SettingsBase, plain_env
from ..ingest.datasets import equity_class
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
    # P2 minute history and realtime: the followed stocks/ETFs and futures products, and how far back
    minute_codes: list[str] = Field(default_factory=lambda: ["600000.SH", "000001.SZ", "510300.SH", "159915.SZ"],
                                    description="stocks and ETFs of stk_mins and rt_min (ETFs also rt_etf_k)")
    minute_futures: list[str] = Field(default_factory=lambda: ["CU", "AU", "M", "SR", "IF"], description=(
        "futures products (fut_code) of ft_mins: each day, the product's most traded contract"))
    minute_days: int = Field(20, ge=1, le=2500, description="open days of minute history a backfill loads")
    p2_rate_share: float = Field(0.5, gt=0, le=1, description=(
        "share of each API's rate limit a P2 Job may use, so P0/P1 ingestion keeps the rest"))
    lookback_days: int = Field(10, ge=1, le=250)
    workers: int = Field(4, ge=1, le=16, description="datasets loaded at once (each within its own API's limit)")
    # an Indexed Job's shard: Kubernetes sets JOB_COMPLETION_INDEX; the count comes from the Job spec
    shard_index: int = Field(0, ge=0, validation_alias=AliasChoices("JOB_COMPLETION_INDEX", "TSR_SHARD_INDEX"))
    shard_count: int = Field(1, ge=1, validation_alias=AliasChoices("JOB_COMPLETION_COUNT", "TSR_SHARD_COUNT"))
    job_name: str | None = None
    rollout_batch: str | None = Field(None, description="namespace/name of the RolloutBatch the Job works for")
    gates: GateOptions = Field(default_factory=GateOptions)
    termination_log: str = "/dev/termination-log"

    def tushare_for(self, batch: str) -> TushareOptions:
        """The client options of one batch's calls: a P2 call may use only ``p2_rate_share`` of each
        API's rate limit (Tushare counts per account, so the core batches keep the rest).

        >>> s = JobSettings(tushare=TushareOptions(rate_per_minute=200, rate_limits={"stk_mins": 500}))
        >>> o = s.tushare_for("P2")
        >>> o.rate_per_minute, o.rate_limits, s.tushare_for("P0").rate_per_minute
        (100, {'stk_mins': 250}, 200)
        """
        if batch != "P2" or self.p2_rate_share >= 1:
            return self.tushare
        share = self.p2_rate_share
        per_minute = self.tushare.rate_per_minute
        return self.tushare.model_copy(update={
            "rate_per_minute": None if per_minute is None else max(1, int(per_minute * share)),
            "rate_limits": {api: max(1, int(n * share)) for api, n in self.tushare.rate_limits.items()}})

    @property
    def followed(self) -> dict[str, list[str]]:
        """The followed code lists by name (``Dataset.codes``)."""
        return {"index": self.index_codes, "fx": self.fx_whitelist, "minute": self.minute_codes,
                "etf": [c for c in self.minute_codes if equity_class(c) == "etf"], "futures": self.minute_futures}
