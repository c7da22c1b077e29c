"""Stability: runs succeed, errors do not block, a replay changes nothing, lineage holds, and the
consecutive clean trading days that the P2 entry rule needs.

Runs are placed on the trade dates they served (their window), not on the wall-clock day they ran,
so a re-run on a weekend counts toward Friday and a simulated clock works the same as a real one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from ..db import metadata
from ..ingest.datasets import Plan
from .context import Context
from .model import Check, Gate, Measurement, Worse
from .streak import DayState, Streak, serving_day, streak

SAMPLE = 10


ABANDONED_AFTER = dt.timedelta(hours=6)  # a run still `running` this long after its start was killed


def _runs(ctx: Context, batch: str) -> list:
    """The batch's finished runs in the window, plus runs abandoned while ``running`` (a killed pod),
    which count as failed."""
    names = [d.name for d in ctx.datasets if d.batch.value == batch]
    return ctx.conn.execute(text(
        "SELECT run_id, dataset, window_start, window_end, shard_index, shard_count, error_class,"
        " CASE WHEN status = 'running' THEN 'abandoned' ELSE status END AS status,"
        " CASE WHEN status = 'running' THEN 'the run stopped without finishing (killed?)' ELSE error_message END"
        " AS error_message FROM ingest_runs"
        " WHERE batch = :b AND dataset = ANY(:names) AND window_end BETWEEN :first AND :last"
        " AND (status <> 'running' OR started_at < :abandoned) ORDER BY run_id"),
        {"b": batch, "names": names, "first": ctx.first, "last": ctx.last,
         "abandoned": ctx.as_of - ABANDONED_AFTER}).all()


def blocking_errors(runs: list) -> list:
    """Failed runs that no later retry recovered: a retry is a later run of the same dataset, shard
    and window. (A catch-up run the next day does not make the failed day clean, and a sibling
    shard's success does not recover a failed shard.)"""
    def same_work(a, b) -> bool:
        return (a.dataset, a.window_start, a.window_end, a.shard_index, a.shard_count) == \
            (b.dataset, b.window_start, b.window_end, b.shard_index, b.shard_count)
    return [r for r in runs if r.status != "succeeded" and not any(
        o.run_id > r.run_id and o.status == "succeeded" and same_work(o, r) for o in runs)]


def _success_share(ctx: Context) -> list[Measurement]:
    out = []
    for batch in ctx.batches:
        runs = _runs(ctx, batch)
        ok = sum(r.status == "succeeded" for r in runs)
        out.append(Measurement(ok / len(runs) if runs else None, None, sample=[], message=(
            f"{ok} of {len(runs)} {batch} runs succeeded" if runs else f"no finished {batch} runs in the window")))
    return out


def _blocking(ctx: Context) -> list[Measurement]:
    out = []
    for batch in ctx.batches:
        blocked = blocking_errors(_runs(ctx, batch))
        out.append(Measurement(len(blocked), None, sample=[
            f"run {r.run_id} {r.dataset} {r.window_end:%Y%m%d}: {r.error_class}: {(r.error_message or '')[:120]}"
            for r in blocked[:SAMPLE]], message=f"{len(blocked)} {batch} failures not recovered" if blocked else ""))
    return out


def served_by(ctx: Context, batch: str) -> set[str]:
    """The datasets whose successful runs make a day clean: the batch's trade-date data; for a batch
    without any (P1), its day-by-day data (FX bars per pair, daily macro series)."""
    mine = [d for d in ctx.datasets if d.batch.value == batch]
    trade_date = {d.name for d in mine if d.plan is Plan.TRADE_DATE}
    return trade_date or {d.name for d in mine if d.plan is Plan.CODE or (d.plan is Plan.PERIOD and d.period == "date")}


def day_states(ctx: Context, batch: str, open_days: list[dt.date]) -> dict[dt.date, DayState]:
    """CLEAN, BLOCKED or IDLE for every open day of the window (see :mod:`.streak`)."""
    runs = _runs(ctx, batch)
    states: dict[dt.date, DayState] = {}
    dated = served_by(ctx, batch)
    for r in runs:  # only dated data serves a day (a list refreshed over years proves nothing about it)
        if r.status == "succeeded" and r.dataset in dated:
            for day in open_days:
                if (r.window_start or r.window_end) <= day <= r.window_end:
                    states.setdefault(day, DayState.CLEAN)
    for r in blocking_errors(runs):
        day = serving_day(open_days, r.window_end)
        if day is not None:
            states[day] = DayState.BLOCKED
    # the day's data gates (their newest evaluation for that day) failed: a regression blocks the day too;
    # the stability gate itself is left out, as it is computed from these same runs
    gates = ctx.conn.execute(text(
        "SELECT DISTINCT ON (window_end, gate) window_end, passed FROM gate_runs"
        " WHERE batch = :b AND status = 'succeeded' AND gate IN ('reconciliation', 'quality', 'scheduling')"
        " AND window_end BETWEEN :first AND :last ORDER BY window_end, gate, gate_run_id DESC"),
        {"b": batch, "first": ctx.first, "last": ctx.last}).all()
    for window_end, passed in gates:
        day = serving_day(open_days, window_end)
        if day is not None and passed is False:
            states[day] = DayState.BLOCKED
    return states


def batch_streak(ctx: Context, batch: str) -> Streak:
    days = ctx.open_days()
    due = [d for d in (ctx.due_day(x) for x in ctx.datasets if x.batch.value == batch and x.plan is Plan.TRADE_DATE)
           if d is not None]
    last_due = min(due) if due else ctx.last
    return streak(days, day_states(ctx, batch, days), min(last_due, ctx.last))


def _streak(ctx: Context) -> list[Measurement]:
    out = []
    for batch in ctx.batches:
        s = batch_streak(ctx, batch)
        ended = f"; ended by a{'n' if s.ended_by == 'idle' else ''} {s.ended_by} day {s.ended_on:%Y%m%d}" \
            if s.ended_on else ""
        out.append(Measurement(s.days, None, partition=f"{s.since:%Y%m%d}" if s.since else None, batch=batch, message=(
            f"{batch}: {s.days} consecutive clean trading days" + (f" since {s.since:%Y%m%d}" if s.since else "")
            + ended + f" (P2 needs {ctx.stable_trading_days})")))
    return out


def _replay(ctx: Context) -> list[Measurement]:
    out = []
    for d in ctx.trade_date_datasets():
        key = ctx.conn.execute(text(
            "SELECT min(partition_key) FROM ingest_checkpoints WHERE dataset = :d AND partition_key BETWEEN :a AND :b"),
            {"d": d.name, "a": f"{ctx.first:%Y%m%d}", "b": f"{ctx.last_due(d):%Y%m%d}"}).scalar_one()
        if key is None:
            continue
        if ctx.replay is None:
            out.append(Measurement(None, d.name, key, message="not replayed: no Tushare token configured"))
            continue
        changed = ctx.replay(d, key)
        if isinstance(changed, str):  # the source could not be asked: not measured, said why
            out.append(Measurement(None, d.name, key, message=changed))
            continue
        out.append(Measurement(changed, d.name, key, sample=[f"{d.name} {key}: {changed} rows would change"]
                               if changed else [], message=f"replayed partition {key}: {changed} rows would change"))
    return out


def _integrity(ctx: Context) -> list[Measurement]:
    """Every row's run exists (lineage has no per-row foreign key; this is its check) and every
    constraint is validated."""
    tables = sorted({t.table for d in ctx.datasets for t in d.targets})
    orphans, sample = 0, []
    for table in tables:
        columns = metadata.tables[table].c
        moment = next((c for c in ("trade_time", "bar_time", "snapshot_at") if c in columns), None)
        window = (" AND t.trade_date BETWEEN :first AND :last" if "trade_date" in columns else
                  f" AND t.{moment} >= CAST(:first AS timestamp) AT TIME ZONE 'Asia/Shanghai'"
                  f" AND t.{moment} < CAST(:last AS timestamp) AT TIME ZONE 'Asia/Shanghai' + interval '1 day'"
                  if moment else "")
        rows = ctx.conn.execute(text(
            f"SELECT t.run_id, count(*) FROM {table} t WHERE NOT EXISTS"
            f" (SELECT 1 FROM ingest_runs r WHERE r.run_id = t.run_id){window} GROUP BY t.run_id"),
            {"first": ctx.first, "last": ctx.last}).all()
        orphans += sum(n for _, n in rows)
        sample += [f"{table}: {n} rows name run {run} which does not exist" for run, n in rows]
    invalid = ctx.conn.execute(text(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE n.nspname = current_schema() AND NOT c.convalidated")).all()
    sample += [f"{t}: constraint {c} is not validated" for t, c in invalid]
    return [Measurement(orphans + len(invalid), None, sample=sample[:SAMPLE],
                        message=f"{orphans} rows without their run, {len(invalid)} unvalidated constraints"
                        if orphans or invalid else "")]


CHECKS = [
    Check("stability.run_success_share", Gate.STABILITY, "share of finished runs that succeeded", 0.99, 0.8,
          _success_share, worse=Worse.LOWER),
    Check("stability.blocking_errors", Gate.STABILITY, "failed runs no retry of the same window recovered", 0, 0,
          _blocking,
          how_to_fix="read the run's error; fix the cause and re-run the ingest Job (it resumes)"),
    Check("stability.idempotent_replay", Gate.STABILITY, "rows a re-ingest of a closed partition would change",
          0, 0, _replay, how_to_fix="the source revised the data, or a mapping is not deterministic"),
    Check("stability.constraint_integrity", Gate.STABILITY, "rows whose run does not exist + unvalidated constraints",
          0, 0, _integrity),
    # the streak's WARN threshold is spec.gates.stableTradingDays; the runner builds it per context
    Check("stability.clean_streak", Gate.STABILITY, "consecutive clean trading days (Asia/Shanghai calendar)",
          3, None, _streak, worse=Worse.LOWER,
          how_to_fix="informational for B and C; phase D waits until it reaches stableTradingDays"),
]
