"""A Tushare-compatible local server: the same protocol, deterministic generated data."""
