"""Point in time: macro vintages say when each value became public, and reads never look ahead.

Checked on the stored vintages of the phase's macro datasets: nothing public before its period
ended; nothing dated after it was first seen; first releases within their series' usual lag; and a
leakage test that compares ``macro_asof(series, t)`` (what researchers read) with the answer
recomputed from the raw vintages, for sampled (series, time) pairs.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import text

from ..ingest.datasets import Dataset, Writer
from ..ingest.vintages import RULES
from .context import Context
from .model import Check, Gate, Measurement

SAMPLE = 10
LEAKAGE_PAIRS = 60  # sampled (series, time) pairs per dataset


def _macro(ctx: Context) -> list[Dataset]:
    return [d for d in ctx.datasets if d.writer is Writer.VINTAGE]


def _count(ctx: Context, d: Dataset, predicate: str, describe: str) -> Measurement:
    rows = ctx.conn.execute(text(
        f"SELECT o.series_id, o.period, o.vintage, {describe} FROM macro_observation o"
        f" WHERE o.series_id LIKE :api AND o.period_end BETWEEN :first AND :last AND ({predicate})"
        " ORDER BY o.period_end, o.series_id"),
        {"api": f"{d.api}.%", "first": ctx.first - dt.timedelta(days=120), "last": ctx.last}).all()
    return Measurement(len(rows), d.name, partition=rows[0][1] if rows else None,
                       sample=[f"{s} {p} v{v}: {why}" for s, p, v, why in rows[:SAMPLE]],
                       message=f"{len(rows)} vintages" if rows else "")


def _not_before_period_end(ctx: Context) -> list[Measurement]:
    return [_count(ctx, d, "o.available_at < o.period_end::timestamp AT TIME ZONE 'Asia/Shanghai'",
                   "'available ' || to_char(o.available_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')"
                   " || ' before the period ended ' || o.period_end") for d in _macro(ctx)]


def _not_after_first_seen(ctx: Context) -> list[Measurement]:
    return [_count(ctx, d, "o.available_at > o.first_seen_at",
                   "'available ' || o.available_at || ' after first seen ' || o.first_seen_at") for d in _macro(ctx)]


def _lag_bounds(ctx: Context) -> list[Measurement]:
    out = []
    for d in _macro(ctx):
        rule = RULES.get(d.api)
        if rule is None:
            continue
        out.append(_count(
            ctx, d, f"o.vintage = 1 AND o.available_source <> 'first_seen' AND o.available_at >"
                    f" (o.period_end + {rule.days + rule.slack_days})::timestamp AT TIME ZONE 'Asia/Shanghai'",
            f"'released ' || (o.available_at AT TIME ZONE 'Asia/Shanghai')::date - o.period_end || ' days after"
            f" the period (at most {rule.days + rule.slack_days})'"))
    return out


def _leakage(ctx: Context) -> list[Measurement]:
    """``macro_asof`` against the vintages recomputed here, with the read switch turned on inside a
    savepoint that is rolled back (the gate runs before the phase is published)."""
    out = []
    savepoint = ctx.conn.begin_nested()
    try:
        ctx.conn.execute(text("UPDATE read_switch SET enabled = true WHERE module = 'macro'"))
        for d in _macro(ctx):
            out.append(_leakage_of(ctx, d))
    finally:
        savepoint.rollback()
    return out


def _leakage_of(ctx: Context, d: Dataset) -> Measurement:
    vintages: dict[str, list[tuple[dt.date, int, dt.datetime]]] = {}
    for series, end, vintage, at in ctx.conn.execute(text(
            "SELECT series_id, period_end, vintage, available_at FROM macro_observation WHERE series_id LIKE :api"),
            {"api": f"{d.api}.%"}):
        vintages.setdefault(series, []).append((end, vintage, at))
    if not vintages:
        return Measurement(0, d.name, message="no vintages stored")
    rng = random.Random(f"{d.api}:{ctx.first}:{ctx.last}")  # deterministic for a window: reruns agree
    start = dt.datetime.combine(ctx.first, dt.time(), dt.timezone.utc)
    span = max((ctx.as_of - start).total_seconds(), 1.0)
    bad = []
    for _ in range(LEAKAGE_PAIRS):
        series = rng.choice(sorted(vintages))
        at = start + dt.timedelta(seconds=rng.uniform(0, span))
        known: dict[dt.date, tuple[dt.datetime, int]] = {}
        for end, vintage, available in vintages[series]:
            if available <= at and (end not in known or (available, vintage) > known[end]):
                known[end] = (available, vintage)
        expected = {(end, vintage) for end, (_, vintage) in known.items()}
        got = ctx.conn.execute(text("SELECT period_end, vintage, available_at FROM macro_asof(:s, :at)"),
                               {"s": series, "at": at}).all()
        leaked = [e for e, _, available in got if available > at]
        if {(e, v) for e, v, _ in got} != expected or leaked:
            bad.append(f"{series} as of {at:%Y-%m-%d %H:%M}Z: {len(got)} periods read, {len(expected)} known"
                       + (f", {len(leaked)} not yet public" if leaked else ""))
    return Measurement(len(bad), d.name, sample=bad[:SAMPLE],
                       message=f"{len(bad)} of {LEAKAGE_PAIRS} sampled reads disagree with the vintages" if bad
                       else f"{LEAKAGE_PAIRS} sampled reads agree with the vintages")


CHECKS = [
    Check("quality.pit_not_before_period_end", Gate.QUALITY, "macro vintages public before their period ended", 0, 0,
          _not_before_period_end, how_to_fix="a look-ahead: fix the release calendar or the lag rule, then re-ingest"),
    Check("quality.pit_not_after_first_seen", Gate.QUALITY, "macro vintages dated after they were first seen", 0, 0,
          _not_after_first_seen, how_to_fix="a value in hand was public: available_at must not be later than first_seen_at"),
    Check("quality.pit_lag_within_bounds", Gate.QUALITY, "first releases later than their series' usual lag allows",
          0, None, _lag_bounds, how_to_fix="check the release calendar (cn_schedule) for that period"),
    Check("quality.pit_no_leakage", Gate.QUALITY, "sampled as-of reads that disagree with the stored vintages", 0, 0,
          _leakage, how_to_fix="macro_asof must return, per period, the newest vintage public at the time"),
]
