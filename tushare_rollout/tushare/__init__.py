"""Tushare Pro: the API catalog, a strict client, and a compatible local server."""
