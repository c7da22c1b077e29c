"""P2 sanity: warehouse receipts add up, futures positions are not negative, pre-open price limits
enclose the previous close. Each check measures only the P2 datasets in force (a module switched off
or without permission is not applicable and measures nothing)."""

from __future__ import annotations

from sqlalchemy import text

from .context import Context
from .model import Check, Gate, Measurement

SAMPLE = 10


def _rows(ctx: Context, dataset: str, predicate: str, describe: str) -> list[Measurement]:
    d = ctx.by_name(dataset)
    if d is None:
        return []
    where, params = ctx.where(d)
    rows = ctx.conn.execute(text(
        f"SELECT trade_date, {describe} FROM {d.targets[0].table} WHERE {where} AND ({predicate})"
        " ORDER BY trade_date"), params).all()
    return [Measurement(len(rows), d.name, partition=f"{rows[0][0]:%Y%m%d}" if rows else None,
                        sample=[f"{day:%Y%m%d} {what}" for day, what in rows[:SAMPLE]],
                        message=f"{len(rows)} rows" if rows else "")]


def _receipts(ctx: Context) -> list[Measurement]:
    return _rows(ctx, "fut_wsr", "vol < 0 OR pre_vol < 0 OR vol - pre_vol <> vol_chg",
                 "exchange || ' ' || symbol || ' ' || wh_id || ': ' || pre_vol || ' -> ' || vol"
                 " || ' (change ' || vol_chg || ')'")


def _positions(ctx: Context) -> list[Measurement]:
    return _rows(ctx, "fut_holding", "vol < 0 OR long_hld < 0 OR short_hld < 0",
                 "exchange || ' ' || symbol || ' ' || broker || ': vol ' || vol || ', long ' || long_hld"
                 " || ', short ' || short_hld")


def _premarket_limits(ctx: Context) -> list[Measurement]:
    return _rows(ctx, "stk_premarket", "NOT (down_limit <= pre_close AND pre_close <= up_limit)",
                 "code || ': ' || down_limit || ' <= ' || pre_close || ' <= ' || up_limit || ' fails'")


CHECKS = [
    Check("quality.warehouse_receipts_add_up", Gate.QUALITY,
          "warehouse receipts that are negative or whose change is not today's minus yesterday's", 0, 0, _receipts,
          how_to_fix="re-ingest the day (fut_wsr)"),
    Check("quality.positions_not_negative", Gate.QUALITY, "broker positions with a negative volume or holding",
          0, 0, _positions, how_to_fix="re-ingest the day (fut_holding)"),
    Check("quality.premarket_limits_enclose_pre_close", Gate.QUALITY,
          "pre-open rows whose price limits do not enclose the previous close", 0, 0, _premarket_limits,
          how_to_fix="re-ingest the day (stk_premarket)"),
]
