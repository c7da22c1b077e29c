"""Backfill cost: peak memory of a full-market P0 backfill and API calls per year of `daily`.

    .venv/bin/python bench/backfill.py [--years 1]

Starts the dev cluster's PostgreSQL and the local Tushare server, runs `tushare-rollout job ingest`
as a child process over windows of growing length, and reports the child's peak RSS (it should
stay flat as the window grows: partitions stream one at a time) and the API calls each dataset
made (`daily` should make one call per trading day, plus pages only when the row cap is hit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster import DevCluster, DevClusterSettings
from tushare_rollout.tushare.server.app import LocalTushareServer

MEASURE = """
import resource, subprocess, sys
run = subprocess.run([sys.executable, "-m", "tushare_rollout", "job", "ingest", "--start", sys.argv[1],
                      "--end", sys.argv[2]], capture_output=True, text=True)
sys.stderr.write(run.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(run.returncode)
"""
WINDOWS = {"1 month": ("20230103", "20230131"), "6 months": ("20230103", "20230630"),
           "1 year": ("20230103", "20231229")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", nargs="*", default=list(WINDOWS), choices=list(WINDOWS))
    args = parser.parse_args()
    results = []
    with DevCluster.start(DevClusterSettings()) as cluster, LocalTushareServer().start() as server:
        for label in args.windows:
            start, end = WINDOWS[label]
            name = f"bench_{label.replace(' ', '_')}"
            url = cluster.postgres.create_database(name).render_as_string(hide_password=False)
            engine = make_engine(url)
            migrate.upgrade(engine)
            env = {**os.environ, "DATABASE_URL": url, "TUSHARE_API_URL": server.url, "TUSHARE_TOKEN": "demo:all",
                   "TSR_TERMINATION_LOG": os.devnull}
            t0 = time.perf_counter()
            # a fresh parent per window, so its RUSAGE_CHILDREN peak is this ingest's alone
            run = subprocess.run([sys.executable, "-c", MEASURE, start, end], env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if run.returncode != 0:
                sys.exit(f"ingest failed ({run.returncode}): {run.stderr[-2000:]}")
            peak_kb = int(run.stdout.split()[-1])
            with engine.connect() as conn:
                calls = dict(conn.execute(text("SELECT dataset, api_calls FROM ingest_runs")).all())
                days = conn.execute(text("SELECT count(*) FROM trade_calendar WHERE exchange = 'SSE' AND is_open"
                                         " AND cal_date BETWEEN :a AND :b"), {"a": start, "b": end}).scalar()
                rows = int(conn.execute(text("SELECT sum(rows_fetched) FROM ingest_runs")).scalar())
            engine.dispose()
            results.append({"window": label, "trading_days": days, "rows_fetched": rows, "seconds": round(seconds, 1),
                            "peak_rss_mb": round(peak_kb / 1024, 1),
                            "daily_calls": calls["daily"], "api_calls": sum(calls.values())})
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "backfill.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\n{'window':<10}{'days':>6}{'rows':>10}{'seconds':>9}{'peak RSS MB':>13}{'daily calls':>13}{'all calls':>11}")
    for r in results:
        print(f"{r['window']:<10}{r['trading_days']:>6}{r['rows_fetched']:>10}{r['seconds']:>9}"
              f"{str(r['peak_rss_mb']):>13}{r['daily_calls']:>13}{r['api_calls']:>11}")


if __name__ == "__main__":
    main()
