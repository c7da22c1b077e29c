"""Scheduling: the data is as fresh as the calendar and each dataset's deadline say it must be."""

from __future__ import annotations

from sqlalchemy import text

from ..status.coverage import COVERAGE, Expect
from .context import BEIJING, Context
from .model import Check, Gate, Measurement

SAMPLE = 10


def _freshness(ctx: Context) -> list[Measurement]:
    out = []
    for d in ctx.trade_date_datasets():
        due = ctx.due_day(d)
        if due is None:
            out.append(Measurement(None, d.name, message=f"no {d.calendar} open day on record before "
                                                          f"{ctx.as_of:%Y%m%d}: ingest trade_cal"))
            continue
        if d.may_be_empty:  # an empty answer stores no rows: the committed partitions say how far it got
            newest = ctx.conn.execute(text(
                "SELECT to_date(max(partition_key), 'YYYYMMDD') FROM ingest_checkpoints WHERE dataset = :d"
                " AND partition_key <= :due"), {"d": d.name, "due": f"{due:%Y%m%d}"}).scalar_one()
        else:
            where, params = ctx.where(d)
            where = where.replace("trade_date BETWEEN :first AND :last", "trade_date <= :due")
            newest = ctx.conn.execute(text(f"SELECT max(trade_date) FROM {d.targets[0].table} WHERE {where}"),
                                      {**params, "due": due}).scalar_one()
        behind = ctx.conn.execute(text(
            "SELECT count(*) FROM trade_calendar WHERE exchange = :x AND is_open AND cal_date > :newest"
            " AND cal_date <= :due"), {"x": d.calendar, "newest": newest or ctx.first, "due": due}).scalar_one()
        if newest is None:
            behind = max(behind, 1)
        detail = (f"newest stored {newest:%Y%m%d}" if newest else "nothing stored") + \
            f", due {due:%Y%m%d} (deadline {d.deadline:%H:%M} Asia/Shanghai)"
        out.append(Measurement(behind, d.name, f"{due:%Y%m%d}", sample=[f"{d.name}: {detail}"] if behind else [],
                               message=f"{behind} trading days behind: {detail}" if behind else detail))
    return out


def _missed(ctx: Context) -> list[Measurement]:
    out = []
    for d in ctx.trade_date_datasets():
        if COVERAGE[d.name].expect not in (Expect.LISTED, Expect.ANSWERED):
            continue
        due = ctx.due_day(d)
        missed = [c for c in ctx.cells(d.name) if c.status == "missing" and (due is None or c.period_date <= due)]
        out.append(Measurement(len(missed), d.name, partition=missed[0].period if missed else None,
                               sample=[c.period for c in missed[:SAMPLE]],
                               message=f"{len(missed)} open days with nothing stored" if missed else ""))
    return out


def _rows_on_closed_days(ctx: Context) -> list[Measurement]:
    out = []
    for d in ctx.trade_date_datasets():
        where, params = ctx.where(d, "t")
        rows = ctx.conn.execute(text(
            f"SELECT t.trade_date, count(*) FROM {d.targets[0].table} t JOIN trade_calendar c ON c.exchange = :x"
            f" AND c.cal_date = t.trade_date AND NOT c.is_open WHERE {where} GROUP BY 1 ORDER BY 1"),
            {**params, "x": d.calendar}).all()
        n = sum(k for _, k in rows)
        out.append(Measurement(n, d.name, sample=[f"{day:%Y%m%d}: {k} rows" for day, k in rows[:SAMPLE]],
                               message=f"{n} rows dated on closed {d.calendar} days" if n else ""))
    return out


def _runs_on_closed_days(ctx: Context) -> list[Measurement]:
    names = [d.name for d in ctx.datasets]
    rows = ctx.conn.execute(text(
        "SELECT r.run_id, r.dataset, (r.started_at AT TIME ZONE 'Asia/Shanghai')::date AS day FROM ingest_runs r"
        " JOIN trade_calendar c ON c.exchange = 'SSE'"
        " AND c.cal_date = (r.started_at AT TIME ZONE 'Asia/Shanghai')::date"
        " AND NOT c.is_open WHERE r.mode IN ('daily', 'incremental') AND r.dataset = ANY(:names)"
        " AND (r.started_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :first AND :today ORDER BY r.run_id"),
        {"names": names, "first": ctx.first, "today": ctx.as_of.astimezone(BEIJING).date()}).all()
    return [Measurement(len(rows), None, sample=[f"run {r} {ds} on {day:%Y%m%d}" for r, ds, day in rows[:SAMPLE]],
                        message=f"{len(rows)} scheduled runs started on closed days" if rows else "")]


CHECKS = [
    Check("scheduling.freshness", Gate.SCHEDULING,
          "trading days between the newest stored day and the newest day past its deadline", 0, 0, _freshness,
          how_to_fix="the daily run did not load the day: look at the CronJob's last Job"),
    Check("scheduling.missed_days", Gate.SCHEDULING, "open days (past their deadline) with nothing stored", 0, 0,
          _missed, how_to_fix="re-run the ingest for those days (a backfill resumes at the first gap)"),
    Check("scheduling.rows_on_closed_days", Gate.SCHEDULING, "rows dated on days the calendar says are closed", 0, 0,
          _rows_on_closed_days, how_to_fix="the calendar or the rows are wrong: re-ingest trade_cal, then the days"),
    Check("scheduling.runs_on_closed_days", Gate.SCHEDULING, "scheduled runs started on closed days", 0, None,
          _runs_on_closed_days, how_to_fix="informational: the CronJob may skip holidays"),
]
