"""Quality: the stored bars make sense on their own (envelopes, signs, identities, units)."""

from __future__ import annotations

from sqlalchemy import text

from .context import Context
from .model import Check, Gate, Measurement

STEP_LIMIT = 0.35  # a one-day move beyond this (outside a listing day) is worth a look
SAMPLE = 10


def _bars(ctx: Context, predicate: str, describe: str, datasets: list | None = None, join: str = "",
          extra: dict | None = None) -> list[Measurement]:
    """One measurement per bar dataset: rows of ``daily_bar b`` (plus ``join``) matching ``predicate``."""
    out = []
    for d in datasets if datasets is not None else ctx.bar_datasets():
        where, params = ctx.where(d, "b")
        params = {**params, **(extra or {})}
        n = ctx.conn.execute(text(f"SELECT count(*) FROM daily_bar b {join} WHERE {where} AND ({predicate})"),
                             params).scalar_one()
        sample = [] if not n else [f"{code} {day:%Y%m%d}: {detail}" for code, day, detail in ctx.conn.execute(text(
            f"SELECT b.code, b.trade_date, {describe} FROM daily_bar b {join} WHERE {where} AND ({predicate})"
            f" ORDER BY b.trade_date, b.code LIMIT {SAMPLE}"), params)]
        out.append(Measurement(n, d.name, sample=sample, message=f"{n} rows" if n else ""))
    return out


def _prices_not_null(ctx: Context) -> list[Measurement]:
    return _bars(ctx, "b.open IS NULL OR b.high IS NULL OR b.low IS NULL OR b.close IS NULL",
                 "format('open %s high %s low %s close %s', b.open, b.high, b.low, b.close)")


def _ohlc(ctx: Context) -> list[Measurement]:
    return _bars(ctx, "b.low > b.high OR b.high < greatest(b.open, b.close) OR b.low > least(b.open, b.close)",
                 "format('open %s high %s low %s close %s', b.open, b.high, b.low, b.close)")


def _non_negative(ctx: Context) -> list[Measurement]:
    return _bars(ctx, "b.volume < 0 OR b.amount < 0", "format('volume %s amount %s', b.volume, b.amount)")


def _pct_chg(ctx: Context) -> list[Measurement]:
    base = "coalesce(b.pre_close, b.close - b.change)"
    return _bars(ctx, f"b.pct_chg IS NOT NULL AND {base} > 0 AND abs((b.close - {base}) / {base} * 100 - b.pct_chg)"
                 " > 0.01", f"format('pct_chg %s, from prices %s', b.pct_chg, round(((b.close - {base}) / {base}"
                 " * 100)::numeric, 4))")


def _steps(ctx: Context) -> list[Measurement]:
    base = "coalesce(b.pre_close, b.close - b.change)"
    return _bars(ctx, f"{base} > 0 AND abs(b.close / {base} - 1) > :limit AND i.list_date < b.trade_date",
                 f"format('close %s after %s', b.close, {base})",
                 join="JOIN instrument i ON i.asset_class = b.asset_class AND i.code = b.code",
                 extra={"limit": STEP_LIMIT})


def _vwap(ctx: Context) -> list[Measurement]:
    equity = [d for d in ctx.bar_datasets() if d.asset_class in ("stock", "etf")]
    out = _bars(ctx, "b.volume > 0 AND b.amount > 0 AND (b.amount / b.volume < b.low * 0.99"
                " OR b.amount / b.volume > b.high * 1.01)",
                "format('vwap %s outside [%s, %s]', round((b.amount / b.volume)::numeric, 4), b.low, b.high)",
                datasets=equity)
    sge = [d for d in ctx.bar_datasets() if d.asset_class == "sge"]
    out += _bars(ctx, "x.price_avg IS NOT NULL AND (x.price_avg < b.low OR x.price_avg > b.high)",
                 "format('price_avg %s outside [%s, %s]', x.price_avg, b.low, b.high)", datasets=sge,
                 join="JOIN sge_daily_extra x ON x.code = b.code AND x.trade_date = b.trade_date")
    return out


def _settle(ctx: Context) -> list[Measurement]:
    futures = [d for d in ctx.bar_datasets() if d.asset_class == "future"]
    return _bars(ctx, "x.settle IS NOT NULL AND (x.settle < b.low OR x.settle > b.high)",
                 "format('settle %s outside [%s, %s]', x.settle, b.low, b.high)", datasets=futures,
                 join="JOIN future_daily_extra x ON x.code = b.code AND x.trade_date = b.trade_date")


CHECKS = [
    Check("quality.prices_not_null", Gate.QUALITY, "bars with a NULL open, high, low or close", 0, 0,
          _prices_not_null, how_to_fix="re-ingest the day; NULLs are never filled with defaults"),
    Check("quality.ohlc_envelope", Gate.QUALITY, "bars whose high/low do not enclose open and close", 0, 0,
          _ohlc, how_to_fix="compare the row with the vendor's answer; re-ingest the partition"),
    Check("quality.non_negative", Gate.QUALITY, "bars with a negative volume or amount", 0, 0, _non_negative),
    Check("quality.pct_chg_identity", Gate.QUALITY, "bars whose pct_chg differs from the prices by > 0.01 points",
          0, 0, _pct_chg),
    Check("quality.step_changes", Gate.QUALITY, f"one-day moves beyond {STEP_LIMIT:.0%} (listing days excepted)",
          0, None, _steps, how_to_fix="informational: check for a missed split or a unit change"),
    Check("quality.units_vwap_in_range", Gate.QUALITY, "bars whose VWAP (amount/volume, SGE price_avg) lies "
          "outside the day's range", 0, 0, _vwap, how_to_fix="a unit was not normalised (手/千元/万元)"),
    Check("quality.futures_settle_in_range", Gate.QUALITY, "futures bars whose settle lies outside the day's range",
          0, 0, _settle),
]
