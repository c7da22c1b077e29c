"""Write-path benchmark: the project's upsert against pandas ``to_sql`` and raw COPY.

Run from the repository root::

    .venv/bin/python bench/write_path.py            # 1,000,000 rows (4000 codes x 250 days)
    .venv/bin/python bench/write_path.py --rows 200000

One run generates one deterministic set of stock daily bars and writes the *same* rows,
trade date by trade date, four ways, each into a fresh database of an embedded PostgreSQL
(the project's dev cluster):

1. ``upsert``        the project's path: ``tushare_rollout.db.upsert.upsert`` into ``daily_bar``,
                     one transaction per trade date (as ingestion does);
2. ``to_sql``        ``DataFrame.to_sql(method="multi", chunksize=1000)`` into a plain table with
                     the same columns, one call per trade date (what typical Tushare syncers do);
                     if the first 100k rows project to more than 10 minutes, it stops there and
                     extrapolates linearly (the output says so);
3. ``raw_copy``      psycopg ``cursor.copy`` + ``write_row`` into an UNLOGGED table with the same
                     columns and no indexes, one COPY per trade date (the practical limit);
4. ``upsert_rerun``  the project's path again over the same rows, under a new run_id: the
                     idempotent re-run (must insert 0 and update 0).

Only the database work is timed (``time.perf_counter``), including each path's own conversion
of the trade date's DataFrame into what it sends; generating the DataFrame is not timed.
Prints a table and writes ``bench/results/write_path.json``. Reports numbers; asserts no timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tushare_rollout.db import metadata, migrate  # noqa: E402
from tushare_rollout.db.engine import make_engine  # noqa: E402
from tushare_rollout.db.upsert import upsert  # noqa: E402
from tushare_rollout.devcluster import DevCluster, DevClusterSettings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "write_path.json"
COLUMNS = ["asset_class", "code", "trade_date", "open", "high", "low", "close", "pre_close",
           "change", "pct_chg", "volume", "amount"]
PLAIN_DDL = """CREATE {unlogged} TABLE {name} (
    asset_class varchar(8) NOT NULL, code varchar(32) NOT NULL, trade_date date NOT NULL,
    open double precision, high double precision, low double precision, close double precision,
    pre_close double precision, change double precision, pct_chg double precision,
    volume double precision, amount double precision)"""
SEED = 20240102
TO_SQL_SAMPLE = 100_000
TO_SQL_BUDGET_S = 600.0


# -- data --------------------------------------------------------------------------------------

class Bars:
    """Deterministic stock daily bars: ``codes`` x ``days``, generated one trade date at a time.

    Closes follow a random walk with +-10% limits, rounded to the fen; open/high/low around
    them; volume in shares (whole lots of 100), amount in yuan. Only the close path
    (days x codes floats) is kept; each day's other fields come from a per-day seeded RNG.
    """

    def __init__(self, codes: int, days: int, seed: int = SEED) -> None:
        self.seed = seed
        rng = np.random.default_rng(seed)
        n_sh, n_sz = codes * 4 // 10, codes * 5 // 10
        n_bj = codes - n_sh - n_sz
        self.codes = np.array(
            [f"{600000 + i:06d}.SH" for i in range(n_sh)]
            + [f"{(1 + i) if i < n_sz // 2 else (300001 + i - n_sz // 2):06d}.SZ" for i in range(n_sz)]
            + [f"{830000 + i:06d}.BJ" for i in range(n_bj)], dtype=object)
        self.dates = [d.date() for d in pd.bdate_range("2024-01-02", periods=days)]
        closes = np.empty((days + 1, codes))
        closes[0] = np.round(np.exp(rng.normal(np.log(15.0), 0.9, codes)).clip(1.5, 1800.0), 2)
        for d in range(days):
            ret = rng.normal(0.0003, 0.022, codes).clip(-0.1, 0.1)
            closes[d + 1] = np.maximum(np.round(closes[d] * (1 + ret), 2), 0.01)
        self.closes = closes

    @property
    def rows(self) -> int:
        return len(self.codes) * len(self.dates)

    def day(self, d: int) -> pd.DataFrame:
        rng = np.random.default_rng((self.seed, d))
        n = len(self.codes)
        pre, close = self.closes[d], self.closes[d + 1]
        open_ = np.maximum(np.round(pre * (1 + rng.normal(0, 0.008, n)), 2), 0.01)
        high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, n))), 2)
        low = np.maximum(np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, n))), 2), 0.01)
        volume = np.round(np.exp(rng.normal(np.log(80_000), 1.0, n))) * 100.0
        amount = np.round(volume * (open_ + high + low + close) / 4, 3)
        return pd.DataFrame({
            "asset_class": np.full(n, "stock", dtype=object),
            "code": self.codes,
            "trade_date": np.full(n, self.dates[d], dtype=object),
            "open": open_, "high": high, "low": low, "close": close, "pre_close": pre,
            "change": np.round(close - pre, 2), "pct_chg": np.round((close - pre) / pre * 100, 4),
            "volume": volume, "amount": amount,
        }, columns=COLUMNS)

    def frames(self, days: int | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
        for d in range(len(self.dates) if days is None else min(days, len(self.dates))):
            yield d, self.day(d)


def rows_of(df: pd.DataFrame) -> Iterator[tuple]:
    """A trade date's frame as plain Python tuples in COLUMNS order (timed: part of each path)."""
    return zip(*(df[c].tolist() for c in COLUMNS))


# -- the four paths ----------------------------------------------------------------------------

def timed_days(bars: Bars, write: Callable[[pd.DataFrame], None],
               days: int | None = None) -> tuple[float, list[float], int]:
    total, per_day, rows = 0.0, [], 0
    for _, df in bars.frames(days):
        t0 = time.perf_counter()
        write(df)
        elapsed = time.perf_counter() - t0
        total += elapsed
        per_day.append(elapsed)
        rows += len(df)
    return total, per_day, rows


def new_run(engine: sqlalchemy.Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO ingest_runs (batch, dataset, mode) VALUES ('P0', 'bench', 'backfill') RETURNING run_id"
        )).scalar_one()


def bench_upsert(engine: sqlalchemy.Engine, bars: Bars) -> dict:
    table = metadata.tables["daily_bar"]
    run_id = new_run(engine)
    counts = {"staged": 0, "inserted": 0, "updated": 0}

    def write(df: pd.DataFrame) -> None:
        with engine.begin() as conn:
            r = upsert(conn, table, rows_of(df), COLUMNS, run_id=run_id)
        counts["staged"] += r.staged
        counts["inserted"] += r.inserted
        counts["updated"] += r.updated

    seconds, per_day, rows = timed_days(bars, write)
    return {"seconds": seconds, "rows": rows, "per_date": per_day, "counts": counts}


def bench_to_sql(engine: sqlalchemy.Engine, bars: Bars) -> dict:
    with engine.begin() as conn:
        conn.execute(text(PLAIN_DDL.format(unlogged="", name="daily_bar_plain")))

    def write(df: pd.DataFrame) -> None:
        df.to_sql("daily_bar_plain", engine, if_exists="append", index=False, method="multi", chunksize=1000)

    sample_days = max(1, TO_SQL_SAMPLE // len(bars.codes))
    seconds, per_day, rows = timed_days(bars, write, sample_days)
    projected = seconds * bars.rows / rows
    extrapolated = projected > TO_SQL_BUDGET_S and rows < bars.rows
    if not extrapolated and rows < bars.rows:
        more_s, more_days, more_rows = 0.0, [], 0
        for d, df in bars.frames():
            if d < sample_days:
                continue
            t0 = time.perf_counter()
            write(df)
            more_days.append(time.perf_counter() - t0)
            more_s += more_days[-1]
            more_rows += len(df)
        seconds, per_day, rows = seconds + more_s, per_day + more_days, rows + more_rows
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM daily_bar_plain")).scalar_one()
    assert stored == rows, (stored, rows)
    out = {"seconds": seconds, "rows": rows, "per_date": per_day, "extrapolated": extrapolated}
    if extrapolated:
        out.update(measured_seconds=seconds, measured_rows=rows, seconds=projected, rows=bars.rows)
    return out


def bench_raw_copy(url: sqlalchemy.engine.URL, bars: Bars) -> dict:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as raw:
        raw.execute(PLAIN_DDL.format(unlogged="UNLOGGED", name="daily_bar_copy"))
        raw.commit()
        copy_sql = f"COPY daily_bar_copy ({', '.join(COLUMNS)}) FROM STDIN"

        def write(df: pd.DataFrame) -> None:
            with raw.transaction(), raw.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows_of(df):
                    copy.write_row(row)

        seconds, per_day, rows = timed_days(bars, write)
        stored = raw.execute("SELECT count(*) FROM daily_bar_copy").fetchone()[0]
    assert stored == rows, (stored, rows)
    return {"seconds": seconds, "rows": rows, "per_date": per_day}


# -- report ------------------------------------------------------------------------------------

def summary(name: str, r: dict) -> dict:
    per = sorted(r["per_date"])
    out = {
        "name": name, "rows": r["rows"], "seconds": round(r["seconds"], 3),
        "rows_per_s": round(r["rows"] / r["seconds"]),
        "per_date_ms_median": round(statistics.median(per) * 1000, 1),
        "per_date_ms_p95": round(per[min(len(per) - 1, int(0.95 * len(per)))] * 1000, 1),
        "transactions": len(per),
        "per_date_ms": [round(x * 1000, 1) for x in r["per_date"]],  # in trade-date order
    }
    for k in ("counts", "extrapolated", "measured_seconds", "measured_rows"):
        if k in r:
            out[k] = round(r[k], 3) if isinstance(r[k], float) else r[k]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows to write (codes x trade dates); default 1e6")
    ap.add_argument("--codes", type=int, default=4000, help="codes per trade date (default 4000)")
    ap.add_argument("--skip-to-sql", action="store_true", help="leave out the pandas to_sql path")
    args = ap.parse_args()

    codes = min(args.codes, args.rows)
    days = max(1, round(args.rows / codes))
    t0 = time.perf_counter()
    bars = Bars(codes, days)
    print(f"data: {bars.rows:,} rows = {codes} stock codes x {days} trade dates "
          f"({bars.dates[0]}..{bars.dates[-1]}); close paths in {time.perf_counter() - t0:.2f}s", flush=True)

    results: dict[str, dict] = {}
    with DevCluster.start(DevClusterSettings()) as cluster:
        pg = cluster.postgres
        version = pg.server_version()
        settings_sql = ("SELECT name, setting, unit FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',"
                        " 'shared_buffers', 'wal_level', 'max_wal_size', 'autovacuum') ORDER BY name")

        url = pg.create_database("bench_upsert")
        engine = make_engine(url.render_as_string(hide_password=False))
        migrate.upgrade(engine)
        with engine.connect() as conn:
            pg_settings = {n: f"{v}{' x ' + u if u else ''}" for n, v, u in conn.execute(text(settings_sql))}
        print(f"postgres {version}: {pg_settings}", flush=True)
        print("1/4 upsert (project path) ...", flush=True)
        results["upsert"] = summary("upsert", bench_upsert(engine, bars))
        c = results["upsert"]["counts"]
        assert c == {"staged": bars.rows, "inserted": bars.rows, "updated": 0}, c

        if not args.skip_to_sql:
            url2 = pg.create_database("bench_to_sql")
            engine2 = sqlalchemy.create_engine(url2.render_as_string(hide_password=False))
            print("2/4 pandas to_sql(method='multi', chunksize=1000) ...", flush=True)
            results["to_sql"] = summary("to_sql", bench_to_sql(engine2, bars))
            engine2.dispose()

        print("3/4 raw COPY into an UNLOGGED table ...", flush=True)
        results["raw_copy"] = summary("raw_copy", bench_raw_copy(pg.create_database("bench_copy"), bars))

        print("4/4 upsert re-run (same rows, new run_id) ...", flush=True)
        results["upsert_rerun"] = summary("upsert_rerun", bench_upsert(engine, bars))
        c = results["upsert_rerun"]["counts"]
        assert c == {"staged": bars.rows, "inserted": 0, "updated": 0}, c
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM daily_bar")).scalar_one()
        assert stored == bars.rows, stored
        engine.dispose()

    up = results["upsert"]["rows_per_s"]
    ratios = {"upsert_vs_raw_copy": round(up / results["raw_copy"]["rows_per_s"], 3),
              "upsert_rerun_vs_upsert": round(results["upsert_rerun"]["rows_per_s"] / up, 3)}
    if "to_sql" in results:
        ratios["upsert_vs_to_sql"] = round(up / results["to_sql"]["rows_per_s"], 2)
    targets = {"upsert_vs_to_sql": 10.0, "upsert_vs_raw_copy": 0.5}

    print()
    print(f"{'path':<14}{'rows':>11}{'seconds':>10}{'rows/s':>11}{'ms/date p50':>13}{'p95':>8}  note")
    for name, r in results.items():
        note = ""
        if r.get("extrapolated"):
            note = (f"EXTRAPOLATED linearly from {r['measured_rows']:,} rows "
                    f"in {r['measured_seconds']:.1f}s")
        if "counts" in r:
            note = f"inserted {r['counts']['inserted']:,}, updated {r['counts']['updated']:,}"
        print(f"{name:<14}{r['rows']:>11,}{r['seconds']:>10.2f}{r['rows_per_s']:>11,}"
              f"{r['per_date_ms_median']:>13.1f}{r['per_date_ms_p95']:>8.1f}  {note}")
    print()
    for k, v in ratios.items():
        target = f"  (target >= {targets[k]}x: {'met' if v >= targets[k] else 'NOT met'})" if k in targets else ""
        print(f"{k:<24}{v:>8.2f}x{target}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": bars.rows, "codes": codes, "trade_dates": days, "seed": SEED,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgres": version, "postgres_settings": pg_settings, "pandas": pd.__version__,
                    "sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__, "numpy": np.__version__},
        "results": results, "ratios": ratios, "targets": targets,
    }, indent=2) + "\n")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
