"""Reconciliation: the stored keys are the keys that should exist, and the stored numbers agree
with each other and with what the runs said they wrote."""

from __future__ import annotations

from sqlalchemy import text

from ..ingest.datasets import Dataset
from ..status.coverage import COVERAGE, Expect
from .context import Context
from .model import Check, Gate, Measurement

SAMPLE = 10
ADJUSTED = {"daily": "adj_factor", "fund_daily": "fund_adj"}  # bars -> the dataset of their factors
TOLERANCE = {"stock": 0.0051, "etf": 0.00051}  # half a price tick (2 and 3 decimals)


def _expected_keys(ctx: Context) -> list[Measurement]:
    out = []
    for d in ctx.datasets:
        if COVERAGE[d.name].expect is Expect.MINUTES:  # reconciliation.minute_bars_expected measures these
            continue
        bad = [c for c in ctx.cells(d.name) if c.status in ("partial", "missing")]
        if COVERAGE[d.name].expect is Expect.LISTED:
            value = sum(c.explain.get("missing", 0) + c.explain.get("unexpected", 0) for c in bad)
        else:
            value = sum(max(c.expected - c.present, 1) for c in bad)
        sample = []
        for c in bad:
            keys = c.explain.get("missing_sample", []) + [f"{k} (unexpected)" for k in
                                                          c.explain.get("unexpected_sample", [])]
            sample.append(f"{c.target}: {c.reason}" + (f" - {', '.join(keys)}" if keys else ""))
        out.append(Measurement(value, d.name, partition=bad[0].period if bad else None, sample=sample[:SAMPLE],
                               message=f"{len(bad)} cells not complete" if bad else ""))
    return out


def _adj_coverage(ctx: Context) -> list[Measurement]:
    out = []
    for bars, adj in ADJUSTED.items():
        d = ctx.by_name(bars)
        if d is None or ctx.by_name(adj) is None:
            continue
        where, params = ctx.where(d, "b")
        found = (f"FROM daily_bar b WHERE {where} AND NOT EXISTS (SELECT 1 FROM adj_factor a"
                 " WHERE a.asset_class = b.asset_class AND a.code = b.code AND a.trade_date = b.trade_date)")
        n = ctx.conn.execute(text(f"SELECT count(*) {found}"), params).scalar_one()
        sample = ctx.conn.execute(text(f"SELECT b.code, b.trade_date {found} ORDER BY b.trade_date, b.code"
                                       f" LIMIT {SAMPLE}"), params).all() if n else []
        out.append(Measurement(n, adj, sample=[f"{c} {t:%Y%m%d}" for c, t in sample],
                               message=f"{n} {bars} bars without a factor" if n else ""))
    return out


def _ex_right(ctx: Context) -> list[Measurement]:
    """``close_prev * adj_prev / adj`` must equal ``pre_close`` to half a tick, plus 0.05 % for the
    factor's own rounding (the vendor's factors carry about three decimals)."""
    out = []
    for bars, adj in ADJUSTED.items():
        d = ctx.by_name(bars)
        if d is None or ctx.by_name(adj) is None:
            continue
        _, params = ctx.where(d)
        broken = """
            WITH b AS (
                SELECT d.code, d.trade_date, d.pre_close, a.adj_factor,
                       lag(d.close) OVER w AS prev_close, lag(a.adj_factor) OVER w AS prev_adj
                FROM daily_bar d JOIN adj_factor a
                  ON a.asset_class = d.asset_class AND a.code = d.code AND a.trade_date = d.trade_date
                WHERE d.asset_class = :ac AND d.trade_date BETWEEN CAST(:first AS date) - 60 AND :last
                WINDOW w AS (PARTITION BY d.code ORDER BY d.trade_date))
            SELECT code, trade_date, pre_close, prev_close * prev_adj / adj_factor AS implied FROM b
            WHERE trade_date BETWEEN :first AND :last AND prev_close IS NOT NULL AND pre_close IS NOT NULL
              AND abs(prev_close * prev_adj / adj_factor - pre_close) > :tol + 0.0005 * pre_close"""
        p = {**params, "ac": d.asset_class, "tol": TOLERANCE[d.asset_class]}
        n = ctx.conn.execute(text(f"SELECT count(*) FROM ({broken}) x"), p).scalar_one()
        rows = ctx.conn.execute(text(f"{broken} ORDER BY trade_date, code LIMIT {SAMPLE}"), p).all() if n else []
        out.append(Measurement(n, bars, sample=[f"{c} {t:%Y%m%d}: pre_close {pc} but close*adj/adj_next gives"
                                                f" {e:.4f}" for c, t, pc, e in rows],
                               message=f"{n} bars break the ex-right identity" if n else ""))
    return out


def _stored(ctx: Context, d: Dataset) -> dict:
    where, params = ctx.where(d)
    return dict(ctx.conn.execute(text(
        f"SELECT to_char(trade_date, 'YYYYMMDD'), count(*) FROM {d.targets[0].table} WHERE {where} GROUP BY 1"),
        params).all())


def _run_counters(ctx: Context) -> list[Measurement]:
    """Each committed partition's recorded row count against the rows stored for it now."""
    out = []
    for d in ctx.trade_date_datasets():
        recorded = dict(ctx.conn.execute(text(
            "SELECT partition_key, rows FROM ingest_checkpoints"
            " WHERE dataset = :d AND partition_key BETWEEN :a AND :b"),
            {"d": d.name, "a": f"{ctx.first:%Y%m%d}", "b": f"{ctx.last_due(d):%Y%m%d}"}).all())
        stored = _stored(ctx, d)
        bad = sorted((k, n, stored.get(k, 0)) for k, n in recorded.items() if stored.get(k, 0) != n)
        out.append(Measurement(len(bad), d.name, partition=bad[0][0] if bad else None,
                               sample=[f"{k}: run recorded {n} rows, {s} stored" for k, n, s in bad[:SAMPLE]],
                               message=f"{len(bad)} partitions disagree with their run" if bad else ""))
    return out


CHECKS = [
    Check("reconciliation.expected_keys", Gate.RECONCILIATION,
          "keys missing or unexpected against calendar x listing lifetime - suspensions", 0, 0, _expected_keys,
          how_to_fix="`tushare-rollout status --explain TARGET` names the keys; re-ingest the partition"),
    Check("reconciliation.adj_factor_coverage", Gate.RECONCILIATION, "daily bars without an adjustment factor",
          0, 0, _adj_coverage),
    Check("reconciliation.ex_right_identity", Gate.RECONCILIATION,
          "consecutive bars where close*adj/adj_next differs from pre_close by more than half a tick", 0, 0, _ex_right,
          how_to_fix="a factor or a bar is stale: re-ingest both datasets for the day"),
    Check("reconciliation.run_counters", Gate.RECONCILIATION,
          "partitions whose stored rows differ from what their run recorded", 0, 0, _run_counters,
          how_to_fix="rows were removed after loading: re-ingest (the loader notices and reloads the partition)"),
]
