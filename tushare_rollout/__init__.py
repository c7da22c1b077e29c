"""tushare-rollout: a Kubernetes operator that rolls Tushare Pro market data into PostgreSQL in gated phases."""

__version__ = "0.1.0"
