"""Status-matrix benchmark: full recompute and one-day refresh of ``daily`` over ten million bars.

Run from the repository root::

    .venv/bin/python bench/status_matrix.py                 # ~10,000,000 daily bars
    .venv/bin/python bench/status_matrix.py --rows 200000   # smoke run
    .venv/bin/python bench/status_matrix.py --explain       # also print EXPLAIN (ANALYZE, BUFFERS) of the slow queries

Uses the PostgreSQL named by ``DATABASE_URL`` (a new database ``bench_status_<pid>`` in it, dropped at
the end unless ``--keep``), else starts the project's embedded PostgreSQL (``devcluster``) in a
temporary directory. Migrates a fresh database to head, then generates with binary COPY one
deterministic, consistent market (seed 20240102):

* an SSE calendar 2017-01-01..2024-12-31 (weekdays open, New Year, a Spring Festival week, May Day
  and National Day closed; ``pretrade_date`` filled);
* stock instruments (SH/SZ codes): 80 % listed before the window, 20 % listing inside it, 3 %
  delisted inside it; their number is chosen so the bars come to ``--rows``;
* ``suspend_d`` rows: full-day suspensions (``S``, no timing) in short runs over ~0.3 % of listed
  days, a resume row (``R``) after each run and some intraday suspensions (``S`` with a timing,
  which must not be subtracted);
* one daily bar per instrument per open day it is listed (``list_date <= day < delist_date``) and
  not fully suspended, in trade-date order as ingestion writes them;

with deliberate defects the matrix must find: three days missing 1, 3 and 7 bars, one open day with
no bars at all, and one bar on a suspended day. Then ``VACUUM ANALYZE`` (as autovacuum would).

Timed (``time.perf_counter``; one warm-up, then best and median of ``--repeat`` runs):

1. ``matrix.refresh(conn, ["daily"], first, last)`` in ``engine.begin()`` over the whole window: the
   full recompute (compute + store of one cell per calendar day);
2. ``matrix.compute`` alone over the whole window;
3. ``matrix.refresh`` of one trade date in the middle (a complete day), and of one defect day (a
   partial day, which also samples the missing and unexpected keys); 10 runs each;
4. the alternative, side by side: the SQL a person would write: every expected key (instrument x open
   day within its listing, anti-joined with full-day suspensions) LEFT JOINed to ``daily_bar`` and
   grouped by trade date (expected, present, missing), plus an anti-join of ``daily_bar`` against the
   expected keys (unexpected rows). If its first run takes over 10 s it runs only twice (no warm-up)
   and the output says so.

Every cell is then checked against the generator's truth (and the alternative's counts too); a wrong
answer exits with status 1. Prints a table and writes ``bench/results/status_matrix.json``, with the
time of every statement of one ``compute`` and, with ``--explain``, their plans. Reports numbers;
asserts no timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
import sqlalchemy
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tushare_rollout.db import migrate  # noqa: E402
from tushare_rollout.db.engine import make_engine, safe_url  # noqa: E402
from tushare_rollout.devcluster.postgres import EmbeddedPostgres, Postgres, connect_existing  # noqa: E402
from tushare_rollout.status import matrix  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "status_matrix.json"
SEED = 20240102
FIRST, LAST = dt.date(2017, 1, 1), dt.date(2024, 12, 31)
SPRING_FESTIVAL = {2017: (1, 27), 2018: (2, 15), 2019: (2, 4), 2020: (1, 24), 2021: (2, 11), 2022: (1, 31),
                   2023: (1, 21), 2024: (2, 9)}  # New Year's Eve; closed from it for a week
PRE_LISTED, DELISTED = 0.80, 0.03
SUSPEND_EPISODES_PER_DAY, SUSPEND_MEAN_LEN = 0.0008, 3.3
INTRADAY_PER_DAY = 0.0005
MISSING_BARS = {0.20: 1, 0.35: 3, 0.75: 7}  # at this fraction of the open days: this many bars left out
EMPTY_DAY, SUSPENDED_BAR_DAY, PARTIAL_REFRESH_DAY = 0.60, 0.90, 0.35
SLOW_ALTERNATIVE_S = 10.0
PG_EPOCH = dt.date(2000, 1, 1)


# -- the market ------------------------------------------------------------------------------------

def calendar() -> tuple[list[dt.date], np.ndarray]:
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    holidays = set()
    for y, (m, d) in SPRING_FESTIVAL.items():
        holidays |= {dt.date(y, m, d) + dt.timedelta(days=i) for i in range(7)}
        holidays |= {dt.date(y, 1, 1), dt.date(y, 5, 1)} | {dt.date(y, 10, i) for i in range(1, 8)}
    is_open = np.array([d.weekday() < 5 and d not in holidays for d in days])
    return days, is_open


class Market:
    """Instruments, suspensions and which bars exist: the truth the matrix is checked against."""

    def __init__(self, rows: int, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        self.days, self.is_open = calendar()
        self.open_days = [d for d, o in zip(self.days, self.is_open) if o]
        n_days = len(self.open_days)
        # bars per instrument on average (listed share of the window, less delistings and suspensions)
        per = n_days * (PRE_LISTED + (1 - PRE_LISTED) / 2 - DELISTED / 2) * (1 - 0.003)
        n = max(10, round(rows / per))
        self.codes = np.array([self._code(i) for i in range(n)], dtype="S9")
        pre = rng.random(n) < PRE_LISTED
        self.list_idx = np.where(pre, 0, rng.integers(0, n_days, n))
        self.list_date = [PG_EPOCH + dt.timedelta(days=int(x)) if p else self.open_days[li]
                          for p, x, li in zip(pre, rng.integers(-3300, 6200, n), self.list_idx)]
        self.delist_idx = np.full(n, n_days)
        for i in np.flatnonzero(rng.random(n) < DELISTED):
            lo = int(self.list_idx[i]) + 20
            if lo < n_days - 1:
                self.delist_idx[i] = rng.integers(lo, n_days)
        d = np.arange(n_days)
        self.listed = (d[None, :] >= self.list_idx[:, None]) & (d[None, :] < self.delist_idx[:, None])
        # full-day suspensions in runs, a resume row after each run, some intraday suspensions
        self.suspended = np.zeros_like(self.listed)
        self.resumed: list[tuple[int, int]] = []
        for i in range(n):
            lo, hi = int(self.list_idx[i]), int(self.delist_idx[i])
            for _ in range(rng.poisson((hi - lo) * SUSPEND_EPISODES_PER_DAY)):
                start = int(rng.integers(lo, hi))
                end = min(hi, start + int(rng.geometric(1 / SUSPEND_MEAN_LEN)))
                self.suspended[i, start:end] = True
                if end < hi:
                    self.resumed.append((i, end))
        self.resumed = sorted({(i, e) for i, e in self.resumed if not self.suspended[i, e]})
        candidates = np.argwhere(self.listed & ~self.suspended)
        picks = candidates[rng.choice(len(candidates), max(1, int(len(candidates) * INTRADAY_PER_DAY)),
                                      replace=False)]
        taken = set(self.resumed)
        self.intraday = sorted({(int(i), int(e)) for i, e in picks} - taken)
        self.bar = self.listed & ~self.suspended
        # the defects
        self.removed: dict[int, list[int]] = {}
        for frac, k in MISSING_BARS.items():
            day = int(n_days * frac)
            who = np.flatnonzero(self.bar[:, day])
            who = sorted(int(i) for i in rng.choice(who, min(k, len(who)), replace=False))
            self.bar[who, day] = False
            self.removed[day] = who
        self.empty_day = int(n_days * EMPTY_DAY)
        self.bar[:, self.empty_day] = False
        self.suspended_bar_day = self._suspended_day(int(n_days * SUSPENDED_BAR_DAY))
        self.suspended_bar = int(np.flatnonzero(self.suspended[:, self.suspended_bar_day])[0])
        self.bar[self.suspended_bar, self.suspended_bar_day] = True
        self.middle = n_days // 2
        self.partial_day = int(n_days * PARTIAL_REFRESH_DAY)
        assert self.middle not in self.defect_days()

    @staticmethod
    def _code(i: int) -> str:
        k, j = divmod(i, 4)
        return [f"{600000 + k:06d}.SH", f"{1 + k:06d}.SZ", f"{300001 + k:06d}.SZ", f"{688001 + k:06d}.SH"][j]

    def _suspended_day(self, near: int) -> int:
        for off in range(len(self.open_days)):
            for d in (near + off, near - off):
                if 0 <= d < len(self.open_days) and self.suspended[:, d].any() and d not in self.removed \
                        and d != self.empty_day:
                    return d
        raise SystemExit("no suspended day to put a bar on: increase --rows")

    def defect_days(self) -> set[int]:
        return set(self.removed) | {self.empty_day, self.suspended_bar_day}

    @property
    def rows(self) -> int:
        return int(self.bar.sum())

    def truth(self) -> dict[dt.date, dict]:
        """Per open day: expected, present (expected rows stored), unexpected, status."""
        expected = (self.listed & ~self.suspended).sum(axis=0)
        unexpected = (self.bar & ~(self.listed & ~self.suspended)).sum(axis=0)
        present = (self.bar & self.listed & ~self.suspended).sum(axis=0)
        out = {}
        for d, day in enumerate(self.open_days):
            e, p, u = int(expected[d]), int(present[d]), int(unexpected[d])
            status = ("not_applicable" if e <= 0 and u == 0 else "complete" if p >= e and u == 0
                      else "missing" if p <= 0 else "partial")
            out[day] = {"expected": e, "present": p, "unexpected": u, "status": status}
        return out


# -- loading ---------------------------------------------------------------------------------------

BAR_COLUMNS = ["asset_class", "code", "trade_date", "open", "high", "low", "close", "volume", "amount", "run_id"]
BAR_DTYPE = np.dtype([("n", ">i2"), ("l_ac", ">i4"), ("ac", "S5"), ("l_code", ">i4"), ("code", "S9"),
                      ("l_date", ">i4"), ("date", ">i4")]
                     + [x for c in ("open", "high", "low", "close", "volume", "amount")
                        for x in ((f"l_{c}", ">i4"), (c, ">f8"))]
                     + [("l_run", ">i4"), ("run", ">i8")])
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PGCOPY_TRAILER = struct.pack(">h", -1)


def bar_chunks(m: Market, run_id: int, days_per_chunk: int = 40):
    """The bars as binary COPY tuples (a numpy record array per chunk of trade dates, day-major)."""
    rng = np.random.default_rng((SEED, 1))
    base = np.exp(rng.normal(np.log(15.0), 0.9, len(m.codes))).clip(1.5, 1800.0)
    day_numbers = np.array([(d - PG_EPOCH).days for d in m.open_days], dtype=np.int32)
    for d0 in range(0, len(m.open_days), days_per_chunk):
        dd, ii = np.nonzero(m.bar[:, d0:d0 + days_per_chunk].T)
        k = len(ii)
        if not k:
            continue
        a = np.empty(k, dtype=BAR_DTYPE)
        a["n"], a["l_ac"], a["ac"], a["l_code"], a["code"] = len(BAR_COLUMNS), 5, b"stock", 9, m.codes[ii]
        a["l_date"], a["date"] = 4, day_numbers[d0 + dd]
        close = np.round(base[ii] * np.exp(rng.normal(0, 0.03, k)), 2)
        open_ = np.round(close * (1 + rng.normal(0, 0.008, k)), 2)
        a["close"], a["open"] = close, open_
        a["high"] = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, k))), 2)
        a["low"] = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, k))), 2)
        a["volume"] = np.round(np.exp(rng.normal(np.log(80_000), 1.0, k))) * 100.0
        a["amount"] = np.round(a["volume"] * close, 3)
        for c in ("open", "high", "low", "close", "volume", "amount"):
            a[f"l_{c}"] = 8
        a["l_run"], a["run"] = 8, run_id
        yield k, a.tobytes()


def load(dsn: str, m: Market) -> dict:
    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        run_id = conn.execute(
            "INSERT INTO ingest_runs (batch, dataset, mode, status, finished_at)"
            " VALUES ('P0', 'daily', 'backfill', 'succeeded', now()) RETURNING run_id").fetchone()[0]
        with conn.cursor() as cur:
            prev = None
            with cur.copy("COPY trade_calendar (exchange, cal_date, is_open, pretrade_date, run_id) FROM STDIN") as cp:
                for d, o in zip(m.days, m.is_open):
                    cp.write_row(("SSE", d, bool(o), prev or dt.date(2016, 12, 30), run_id))
                    if o:
                        prev = d
            with cur.copy("COPY instrument (asset_class, code, symbol, name, exchange, list_status, list_date,"
                          " delist_date, run_id) FROM STDIN") as cp:
                for i, code in enumerate(m.codes.astype(str)):
                    delisted = m.delist_idx[i] < len(m.open_days)
                    cp.write_row(("stock", code, code[:6], f"stock {code[:6]}",
                                  "SSE" if code.endswith("SH") else "SZSE",
                                  "D" if delisted else "L", m.list_date[i],
                                  m.open_days[m.delist_idx[i]] if delisted else None, run_id))
            codes, days = m.codes.astype(str), m.open_days
            with cur.copy("COPY stock_suspension (code, trade_date, suspend_type, suspend_timing, run_id)"
                          " FROM STDIN") as cp:
                for i, d in np.argwhere(m.suspended):
                    cp.write_row((codes[i], days[d], "S", None, run_id))
                for i, d in m.resumed:
                    cp.write_row((codes[i], days[d], "R", None, run_id))
                for i, d in m.intraday:
                    cp.write_row((codes[i], days[d], "S", "09:30-10:30", run_id))
        conn.commit()
        print(f"  calendar, {len(m.codes):,} instruments, suspensions: {time.perf_counter() - t0:.1f}s", flush=True)
        sent = 0
        copy_sql = f"COPY daily_bar ({', '.join(BAR_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        with conn.cursor() as cur, cur.copy(copy_sql) as cp:
            cp.write(PGCOPY_HEADER)
            for k, block in bar_chunks(m, run_id):
                cp.write(block)
                sent += k
                if sent // 1_000_000 != (sent - k) // 1_000_000:
                    print(f"  {sent:,} bars, {time.perf_counter() - t0:.0f}s", flush=True)
            cp.write(PGCOPY_TRAILER)
        conn.commit()
    load_s = time.perf_counter() - t0
    with psycopg.connect(dsn, autocommit=True) as conn:
        t1 = time.perf_counter()
        for t in ("ingest_runs", "trade_calendar", "instrument", "stock_suspension", "daily_bar"):
            conn.execute(f"VACUUM ANALYZE {t}")
        vacuum_s = time.perf_counter() - t1
    return {"run_id": run_id, "load_seconds": round(load_s, 1), "vacuum_analyze_seconds": round(vacuum_s, 1),
            "bars_sent": sent}


# -- timing ----------------------------------------------------------------------------------------

def timed(fn: Callable[[], object], repeat: int, warmup: bool = True) -> tuple[dict, object]:
    if warmup:
        fn()
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return {"best_s": round(min(runs), 4), "median_s": round(statistics.median(runs), 4),
            "runs_s": [round(r, 4) for r in runs], "warmup": warmup}, out


def label(sql: str) -> str:
    s = " ".join(sql.split())
    for needle, name in [
        ("WITH RECURSIVE codes", "_unknown_codes: loose index scan over the codes stored"),
        ("WITH days AS", "_listed_counts: listed (running sum) + rows stored per day"),
        ("LATERAL", "_listed_counts: rows outside a listing (index probes per instrument)"),
        ("JOIN daily_bar b ON", "_listed_counts: bars on suspended days"),
        ("FROM stock_suspension s JOIN instrument", "_listed_counts: suspended listed per day"),
        ("code = ANY(", "_listed_counts: rows of unknown codes"),
        ("SELECT cal_date, is_open", "_days: calendar"),
        ("SELECT i.code FROM instrument", "listed_keys: missing sample"),
        ("SELECT b.code FROM daily_bar", "listed_keys: unexpected sample"),
        ("DELETE FROM status_matrix", "store: delete"),
        ("INSERT INTO status_matrix", "store: insert"),
    ]:
        if needle in s:
            return name
    return s[:60]


@contextmanager
def statements(engine: sqlalchemy.Engine):
    """Record (label, statement, parameters, seconds) of every statement run on ``engine``."""
    seen: list[dict] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append({"label": label(statement), "seconds": time.perf_counter() - conn.info["t0"].pop(),
                     "statement": statement, "parameters": None if executemany else parameters})

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def breakdown(seen: list[dict]) -> list[dict]:
    by: dict[str, dict] = {}
    for s in seen:
        b = by.setdefault(s["label"], {"statement": s["label"], "calls": 0, "seconds": 0.0})
        b["calls"] += 1
        b["seconds"] += s["seconds"]
    return sorted(({**b, "seconds": round(b["seconds"], 4)} for b in by.values()), key=lambda b: -b["seconds"])


def explain(engine: sqlalchemy.Engine, seen: list[dict]) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) of each distinct read statement of one compute, slowest first."""
    out, done = [], set()
    for s in sorted(seen, key=lambda s: -s["seconds"]):
        if s["parameters"] is None or not s["statement"].lstrip().upper().startswith(("WITH", "SELECT")) \
                or s["label"] in done:
            continue
        done.add(s["label"])
        with engine.connect() as conn:
            plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + s["statement"],
                                                       s["parameters"])]
        out.append({"statement": s["label"], "seconds": round(s["seconds"], 4), "sql": s["statement"],
                    "plan": plan})
    return out


# -- the alternative -------------------------------------------------------------------------------

NAIVE_PRESENT = """
WITH days AS (
    SELECT cal_date AS d FROM trade_calendar WHERE exchange = 'SSE' AND is_open AND cal_date BETWEEN :a AND :b),
expected AS (
    SELECT i.code, days.d FROM instrument i
    JOIN days ON days.d >= i.list_date AND (i.delist_date IS NULL OR days.d < i.delist_date)
    WHERE i.asset_class = 'stock'
      AND NOT EXISTS (SELECT 1 FROM stock_suspension s WHERE s.code = i.code AND s.trade_date = days.d
                      AND s.suspend_type = 'S' AND s.suspend_timing IS NULL))
SELECT e.d, count(*) AS expected, count(b.code) AS present, count(*) - count(b.code) AS missing
FROM expected e LEFT JOIN daily_bar b ON b.asset_class = 'stock' AND b.code = e.code AND b.trade_date = e.d
GROUP BY e.d ORDER BY e.d"""
NAIVE_UNEXPECTED = """
SELECT b.trade_date, count(*) AS unexpected FROM daily_bar b
WHERE b.asset_class = 'stock' AND b.trade_date BETWEEN :a AND :b
  AND NOT EXISTS (
    SELECT 1 FROM instrument i
    WHERE i.asset_class = 'stock' AND i.code = b.code
      AND i.list_date <= b.trade_date AND (i.delist_date IS NULL OR b.trade_date < i.delist_date)
      AND NOT EXISTS (SELECT 1 FROM stock_suspension s WHERE s.code = b.code AND s.trade_date = b.trade_date
                      AND s.suspend_type = 'S' AND s.suspend_timing IS NULL))
GROUP BY b.trade_date ORDER BY b.trade_date"""


def naive(engine: sqlalchemy.Engine, first: dt.date, last: dt.date) -> dict[dt.date, dict]:
    with engine.connect() as conn:
        out = {d: {"expected": int(e), "present": int(p), "missing": int(mi), "unexpected": 0}
               for d, e, p, mi in conn.execute(text(NAIVE_PRESENT), {"a": first, "b": last})}
        for d, u in conn.execute(text(NAIVE_UNEXPECTED), {"a": first, "b": last}):
            out.setdefault(d, {"expected": 0, "present": 0, "missing": 0, "unexpected": 0})["unexpected"] = int(u)
    return out


def time_naive(engine: sqlalchemy.Engine, first: dt.date, last: dt.date, repeat: int) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    result = naive(engine, first, last)
    first_s = time.perf_counter() - t0
    if first_s > SLOW_ALTERNATIVE_S:
        t, result = timed(lambda: naive(engine, first, last), 1, warmup=False)
        t["runs_s"] = [round(first_s, 4)] + t["runs_s"]
        t["best_s"], t["median_s"] = min(t["runs_s"]), round(statistics.median(t["runs_s"]), 4)
        t["note"] = f"slow: run twice, no warm-up (first run {first_s:.1f}s)"
        return t, result
    t, result = timed(lambda: naive(engine, first, last), repeat, warmup=False)
    t["warmup"] = True  # the first run above
    return t, result


# -- checks ----------------------------------------------------------------------------------------

def check(m: Market, cells: list[matrix.Cell], alt: dict[dt.date, dict]) -> tuple[list[str], list[str]]:
    """Lines describing what was verified, and the failures (empty when everything is right)."""
    ok, bad = [], []
    truth = m.truth()
    by_day = {c.period_date: c for c in cells}
    if len(cells) != len(m.days) or set(by_day) != set(m.days):
        bad.append(f"{len(cells)} cells for {len(m.days)} calendar days")
    wrong = []
    for day, o in zip(m.days, m.is_open):
        c = by_day.get(day)
        if c is None:
            continue
        if not o:
            if c.status != "not_applicable" or c.reason != matrix.CLOSED:
                wrong.append(f"{day}: closed day is {c.status}")
            continue
        t = truth[day]
        got = (c.status, c.expected if c.status != "not_applicable" else t["expected"], c.present,
               c.explain.get("unexpected"))
        want = (t["status"], t["expected"], t["present"], t["unexpected"])
        if got != want:
            wrong.append(f"{day}: matrix (status, expected, present, unexpected) = {got}, truth {want}")
    if wrong:
        bad += wrong[:10] + ([f"... {len(wrong) - 10} more"] if len(wrong) > 10 else [])
    else:
        ok.append(f"all {len(cells):,} cells match the generated truth (status, expected, present, unexpected)")
    codes = m.codes.astype(str)
    for d, who in m.removed.items():
        day = m.open_days[d]
        c = by_day.get(day)
        sample = (c.explain.get("missing_sample") or []) if c else []
        want = sorted(codes[i] for i in who)
        line = (f"{day:%Y%m%d}: {len(who)} bar(s) left out ({', '.join(want)}) -> "
                f"{c.status if c else 'no cell'}, {c.reason if c else ''}; missing_sample {sample}")
        (ok if c and c.status == "partial" and sorted(want)[:matrix.SAMPLE] == sorted(sample)[:matrix.SAMPLE]
         else bad).append("missing bars found: " + line)
    c = by_day.get(m.open_days[m.empty_day])
    line = (f"{m.open_days[m.empty_day]:%Y%m%d}: no bars at all -> {c.status if c else 'no cell'}, "
            f"{c.reason if c else ''}")
    (ok if c and c.status == "missing" else bad).append("empty day found: " + line)
    day, code = m.open_days[m.suspended_bar_day], codes[m.suspended_bar]
    c = by_day.get(day)
    sample = (c.explain.get("unexpected_sample") or []) if c else []
    line = (f"{day:%Y%m%d}: bar of suspended {code} -> {c.status if c else 'no cell'}, unexpected "
            f"{c.explain.get('unexpected') if c else None}, {c.reason if c else ''}; unexpected_sample {sample}")
    (ok if c and c.status == "partial" and c.explain.get("unexpected") == 1 and sample == [code]
     else bad).append("bar on a suspended day found: " + line)
    # the alternative must give the same numbers, or the comparison means nothing
    alt_wrong = [d for d, t in truth.items()
                 if (alt.get(d, {}).get("expected", 0), alt.get(d, {}).get("present", 0),
                     alt.get(d, {}).get("unexpected", 0)) != (t["expected"], t["present"], t["unexpected"])]
    (bad if alt_wrong else ok).append(
        f"alternative: {f'WRONG on {len(alt_wrong)} days, e.g. {alt_wrong[:3]}' if alt_wrong else 'same'}"
        " expected/present/unexpected counts on every open day")
    return ok, bad


# -- main ------------------------------------------------------------------------------------------

def server() -> tuple[Postgres, Callable[[], None], str]:
    raw = os.environ.get("DATABASE_URL")
    if raw:
        return connect_existing(raw), lambda: None, "DATABASE_URL"
    root = Path(tempfile.mkdtemp(prefix="tsr-bench-status-"))
    pg = EmbeddedPostgres(root)
    try:
        pg.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise

    def stop() -> None:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    return pg, stop, "embedded (devcluster)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="daily bars to generate (default 1e7)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep the database (DATABASE_URL only)")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the slow statements")
    args = ap.parse_args()

    t0 = time.perf_counter()
    m = Market(args.rows)
    first, last = m.days[0], m.days[-1]
    print(f"data: {m.rows:,} bars = {len(m.codes):,} stock instruments x {len(m.open_days):,} open days "
          f"({first}..{last}, {len(m.days):,} calendar days), {int(m.suspended.sum()):,} full-day suspensions; "
          f"generated in {time.perf_counter() - t0:.1f}s", flush=True)

    pg, stop, where = server()
    name = f"bench_status_{os.getpid()}"
    failures: list[str] = []
    try:
        url = pg.create_database(name)
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        engine = make_engine(url.render_as_string(hide_password=False))
        migrate.upgrade(engine)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            pg_settings = {n: f"{v}{' x ' + u if u else ''}" for n, v, u in conn.execute(text(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem',"
                " 'effective_cache_size', 'max_parallel_workers_per_gather', 'jit', 'random_page_cost', 'fsync',"
                " 'synchronous_commit') ORDER BY name"))}
        print(f"postgres {version} ({where}, database {name}): {pg_settings}", flush=True)
        print("loading (binary COPY) ...", flush=True)
        loaded = load(dsn, m)
        print(f"  loaded in {loaded['load_seconds']}s, VACUUM ANALYZE {loaded['vacuum_analyze_seconds']}s", flush=True)
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in ("trade_calendar", "instrument", "stock_suspension", "daily_bar")}
            sizes = {t: conn.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one()
                     for t in ("daily_bar_stock", "instrument", "stock_suspension", "trade_calendar")}
            heap = conn.execute(text("SELECT pg_relation_size('daily_bar_stock')")).scalar_one()
        if counts["daily_bar"] != m.rows:
            failures.append(f"stored {counts['daily_bar']:,} bars, generated {m.rows:,}")

        def full_refresh() -> dict:
            with engine.begin() as conn:
                return matrix.refresh(conn, ["daily"], first, last)

        def full_compute() -> list:
            with engine.connect() as conn:
                return matrix.compute(conn, "daily", first, last)

        def one_day(day: dt.date) -> Callable[[], dict]:
            def run() -> dict:
                with engine.begin() as conn:
                    return matrix.refresh(conn, ["daily"], day, day)
            return run

        timings: dict[str, dict] = {}
        print("timing the full refresh ...", flush=True)
        timings["full_refresh"], totals = timed(full_refresh, args.repeat)
        print(f"  {timings['full_refresh']}", flush=True)
        print("timing compute alone ...", flush=True)
        timings["full_compute"], cells = timed(full_compute, args.repeat)
        print(f"  {timings['full_compute']}", flush=True)
        with statements(engine) as seen:
            full_refresh()
        stmts_full = breakdown(seen)
        mid, partial = m.open_days[m.middle], m.open_days[m.partial_day]
        print(f"timing the one-day refresh ({mid}, complete; {partial}, partial) ...", flush=True)
        timings["day_refresh"], day_totals = timed(one_day(mid), max(args.repeat, 10))
        timings["day_refresh_partial"], partial_totals = timed(one_day(partial), max(args.repeat, 10))
        print(f"  {timings['day_refresh']}\n  {timings['day_refresh_partial']}", flush=True)
        with statements(engine) as seen_day:
            one_day(mid)()
        stmts_day = breakdown(seen_day)
        print("timing the alternative (naive SQL) ...", flush=True)
        timings["naive"], alt = time_naive(engine, first, last, args.repeat)
        print(f"  {timings['naive']}", flush=True)
        with statements(engine) as seen_one:
            with engine.connect() as conn:
                matrix.compute(conn, "daily", first, last)
        plans = explain(engine, seen_one)
        with statements(engine) as seen_one_day:
            with engine.connect() as conn:
                matrix.compute(conn, "daily", mid, mid)
        plans_day = explain(engine, seen_one_day)
        with engine.connect() as conn:
            stored = matrix.load(conn, ["daily"], mid, mid)
            stored_n = conn.execute(text("SELECT count(*) FROM status_matrix WHERE dataset = 'daily'")).scalar_one()
            naive_plan = [r[0] for r in conn.execute(text("EXPLAIN " + NAIVE_PRESENT), {"a": first, "b": last})]

        ok, bad = check(m, cells, alt)
        t_mid = m.truth()[mid]
        if not (len(stored) == 1 and stored[0].status == "complete" and stored[0].expected == t_mid["expected"]):
            bad.append(f"one-day refresh of {mid} stored {[(c.status, c.expected) for c in stored]}, "
                       f"truth complete/{t_mid['expected']}")
        else:
            ok.append(f"one-day refresh of {mid} stored complete, {t_mid['expected']:,} expected")
        if stored_n != len(m.days):
            bad.append(f"status_matrix holds {stored_n} daily cells, {len(m.days)} calendar days")
        failures += bad
    finally:
        try:
            if "engine" in locals():
                engine.dispose()
            if args.keep and where == "DATABASE_URL":
                print(f"kept database {name} at {safe_url(pg.url_for(name))}")
            else:
                pg.drop_database(name)
        finally:
            stop()

    status_counts: dict[str, int] = {}
    for c in cells:
        status_counts[c.status] = status_counts.get(c.status, 0) + 1
    targets = {"full_refresh": 2.0, "day_refresh": 0.1}
    res = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": SEED, "window": [first.isoformat(), last.isoformat()],
        "data": {"bars": m.rows, "instruments": len(m.codes), "open_days": len(m.open_days),
                 "calendar_days": len(m.days), "full_day_suspensions": int(m.suspended.sum()),
                 "row_counts": counts, "bytes": sizes, "daily_bar_stock_heap_bytes": heap, **loaded},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "postgres": version, "postgres_where": where, "postgres_settings": pg_settings,
                    "sqlalchemy": sqlalchemy.__version__, "psycopg": psycopg.__version__, "numpy": np.__version__},
        "timings": timings, "targets_s": targets,
        "cells": len(cells), "status_counts": status_counts, "refresh_totals": totals,
        "day_refresh_totals": day_totals, "day_refresh_partial_totals": partial_totals,
        "days": {"middle": mid.isoformat(), "partial": partial.isoformat()},
        "statements_full_refresh": stmts_full, "statements_day_refresh": stmts_day,
        "explain_full_compute": plans, "explain_day_compute": plans_day, "explain_naive": naive_plan,
        "checks": ok, "failures": failures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2, default=str) + "\n")

    mb = 2**20
    print()
    print(f"{counts['daily_bar']:,} bars, {counts['instrument']:,} instruments, {counts['stock_suspension']:,}"
          f" suspension rows, {counts['trade_calendar']:,} calendar days; daily_bar_stock "
          f"{sizes['daily_bar_stock'] / mb:,.0f} MB ({heap / mb:,.0f} MB heap); {os.cpu_count()} cores;"
          f" PostgreSQL {version}")
    print(f"cells: {len(cells):,} {status_counts}")
    print()
    print(f"{'what':<44}{'best s':>9}{'median s':>10}{'runs':>6}{'target':>9}")
    rows = [("full refresh (compute + store), matrix", "full_refresh"),
            ("full compute only, matrix", "full_compute"),
            ("alternative: naive expected-keys SQL", "naive"),
            (f"one-day refresh {mid:%Y%m%d} (complete)", "day_refresh"),
            (f"one-day refresh {partial:%Y%m%d} (partial, sampled)", "day_refresh_partial")]
    for what, k in rows:
        t = timings[k]
        target = f"< {targets[k]:g}" if k in targets else ""
        print(f"{what:<44}{t['best_s']:>9.3f}{t['median_s']:>10.3f}{len(t['runs_s']):>6}{target:>9}"
              + (f"  ({t['note']})" if "note" in t else ""))
    ratio = timings["naive"]["median_s"] / timings["full_compute"]["median_s"]
    print(f"{'alternative / matrix compute (median)':<44}{ratio:>9.1f}x")
    for title, st in (("full refresh", stmts_full), ("one-day refresh", stmts_day)):
        print(f"\nwhere the {title} goes (one run):")
        for s in st:
            print(f"  {s['seconds']:>8.3f}s  {s['calls']:>3}x  {s['statement']}")
    if args.explain:
        for p in plans + plans_day:
            print(f"\n-- {p['statement']} ({p['seconds']:.3f}s in the run)")
            print("\n".join(p["plan"]))
    print()
    for line in ok:
        print(f"check OK: {line}")
    for line in failures:
        print(f"check FAILED: {line}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
