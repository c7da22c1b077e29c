"""Settings of the operator process (``tushare-rollout operator``), built once in the entrypoint."""

from __future__ import annotations

from pydantic import Field

from ..config import SecretStr, SettingsBase, plain_env


class OperatorSettings(SettingsBase):
    # the operator reads gate results and writes the flags audit; Jobs get their own URL from a Secret
    database_url: SecretStr | None = plain_env("DATABASE_URL")
    image: str = Field("ghcr.io/tushare-rollout/tushare-rollout:latest", description="the image every Job runs")
    jobs_service_account: str | None = Field(None, description="ServiceAccount of the Jobs (no API rights)")
    namespaces: list[str] = Field(default_factory=list, description="namespaces to watch; empty: all")
    tushare_api_url: str | None = Field(None, description="TUSHARE_API_URL for Jobs whose RolloutBatch names none")
    resync_seconds: float = Field(60.0, gt=0, description="reconcile at least this often without events")
    lease_name: str = Field("tushare-rollout-operator", description="the Lease a replica holds to act; '' = none")
    lease_namespace: str | None = Field(None, description="where the Lease lives (default: the first watched "
                                                          "namespace, else POD_NAMESPACE, else default)")
    lease_seconds: float = Field(15.0, ge=3, le=300, description="how long a silent holder keeps the Lease")
    liveness_port: int = Field(8080, ge=0, le=65535, description="/healthz for the liveness probe; 0: off")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus /metrics; 0: off")
