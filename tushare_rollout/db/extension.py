"""Extension tables: per-asset-class fields the unified tables lack, and the P1/P2 data.

Units are the vendor's unless a column comment says otherwise (see docs/schema.md).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import AssetClass, Base, Lineage, one_of

AVAILABLE_SOURCES = ["official_calendar", "vendor_field", "lag_rule", "first_seen"]
RELEASE_SOURCES = ["cn_schedule", "eco_cal"]


# --- P0 ------------------------------------------------------------------------------


class AdjFactor(Lineage, Base):
    """Adjustment factors of stocks (``adj_factor``) and ETFs (``fund_adj``)."""

    __tablename__ = "adj_factor"
    __table_args__ = (
        one_of("asset_class", [AssetClass.STOCK.value, AssetClass.ETF.value]),
        CheckConstraint("adj_factor > 0", name="adj_factor_positive"),
        Index(None, "trade_date"),
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    adj_factor: Mapped[float]


class StockDailyBasic(Lineage, Base):
    """``daily_basic``: valuation and share fields of stocks. Shares in 万股, market values in 万元 (vendor units)."""

    __tablename__ = "stock_daily_basic"
    __table_args__ = (Index(None, "trade_date"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    close: Mapped[float | None]
    turnover_rate: Mapped[float | None]
    turnover_rate_f: Mapped[float | None]
    volume_ratio: Mapped[float | None]
    pe: Mapped[float | None]
    pe_ttm: Mapped[float | None]
    pb: Mapped[float | None]
    ps: Mapped[float | None]
    ps_ttm: Mapped[float | None]
    dv_ratio: Mapped[float | None]
    dv_ttm: Mapped[float | None]
    total_share: Mapped[float | None]
    float_share: Mapped[float | None]
    free_share: Mapped[float | None]
    total_mv: Mapped[float | None]
    circ_mv: Mapped[float | None]
    limit_status: Mapped[int | None] = mapped_column(SmallInteger)


class IndexWeight(Lineage, Base):
    """``index_weight``: constituents and weights (monthly snapshots) of the configured indices."""

    __tablename__ = "index_weight"
    __table_args__ = (
        CheckConstraint("weight IS NULL OR weight >= 0", name="weight_non_negative"),
        Index(None, "trade_date"),
    )

    index_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    con_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    weight: Mapped[float | None] = mapped_column(comment="percent")


class FutureDailyExtra(Lineage, Base):
    """``fut_daily`` fields beyond the unified bar: settlement and open interest."""

    __tablename__ = "future_daily_extra"
    __table_args__ = (
        CheckConstraint("open_interest IS NULL OR open_interest >= 0", name="open_interest_non_negative"),
        Index(None, "trade_date"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    settle: Mapped[float | None]
    pre_settle: Mapped[float | None]
    change1: Mapped[float | None] = mapped_column(comment="close - pre_settle")
    change2: Mapped[float | None] = mapped_column(comment="settle - pre_settle")
    open_interest: Mapped[float | None] = mapped_column(comment="oi")
    oi_chg: Mapped[float | None]
    delv_settle: Mapped[float | None] = mapped_column(comment="delivery settlement price")


class SgeDailyExtra(Lineage, Base):
    """``sge_daily`` fields beyond the unified bar."""

    __tablename__ = "sge_daily_extra"
    __table_args__ = (Index(None, "trade_date"),)

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    price_avg: Mapped[float | None] = mapped_column(comment="weighted average price")
    open_interest: Mapped[float | None] = mapped_column(comment="oi")
    settle_vol: Mapped[float | None] = mapped_column(comment="delivery volume")
    settle_dire: Mapped[str | None] = mapped_column(Text, comment="delivery direction")


class StockSuspension(Lineage, Base):
    """``suspend_d``: one row per stock and trading day it was suspended (``S``) or resumed (``R``).

    The status matrix subtracts full-day suspensions (``S`` without ``suspend_timing``) from the
    listed universe to know which daily bars should exist.
    """

    __tablename__ = "stock_suspension"
    __table_args__ = (one_of("suspend_type", ["S", "R"]), Index(None, "trade_date"))

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    suspend_type: Mapped[str] = mapped_column(String(1), primary_key=True, comment="S suspended, R resumed")
    suspend_timing: Mapped[str | None] = mapped_column(String(32), comment="intraday suspension, e.g. 09:30-10:00")


class FxDailyQuote(Lineage, Base):
    """``fx_daily`` bid/ask OHLC and tick count; the unified bar holds the mid. ``trade_date`` is a GMT day."""

    __tablename__ = "fx_daily_quote"
    __table_args__ = (
        CheckConstraint("tick_qty IS NULL OR tick_qty >= 0", name="tick_qty_non_negative"),
        CheckConstraint("bid_close IS NULL OR ask_close IS NULL OR ask_close >= bid_close", name="ask_not_below_bid"),
        Index(None, "trade_date"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True, comment="GMT day")
    bid_open: Mapped[float | None]
    bid_high: Mapped[float | None]
    bid_low: Mapped[float | None]
    bid_close: Mapped[float | None]
    ask_open: Mapped[float | None]
    ask_high: Mapped[float | None]
    ask_low: Mapped[float | None]
    ask_close: Mapped[float | None]
    tick_qty: Mapped[int | None] = mapped_column(BigInteger)
    exchange: Mapped[str | None] = mapped_column(String(16))


# --- P1: macro -------------------------------------------------------------------------


class MacroSeries(Base):
    """One row per macro series (an API field), e.g. ``cn_cpi.nt_yoy``. Declared, not ingested."""

    __tablename__ = "macro_series"
    __table_args__ = (
        one_of("country", ["CN", "US"]),
        one_of("frequency", ["D", "M", "Q"]),
    )

    series_id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="<api>.<field>")
    api_name: Mapped[str] = mapped_column(String(32), nullable=False)
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    frequency: Mapped[str] = mapped_column(String(1), nullable=False, comment="D daily, M monthly, Q quarterly")
    unit: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class MacroObservation(Lineage, Base):
    """Append-only vintages: a changed value for a stored period is a new vintage, never an update.

    ``available_at`` is when the value became public; ``available_source`` says how that was decided.
    An UPDATE is refused by a trigger; DELETE stays possible for rollback.
    """

    __tablename__ = "macro_observation"
    __table_args__ = (
        one_of("available_source", AVAILABLE_SOURCES),
        CheckConstraint("vintage >= 1", name="vintage_positive"),
        CheckConstraint("available_date = (available_at AT TIME ZONE 'Asia/Shanghai')::date",
                        name="available_date_is_beijing_day"),
        Index(None, "series_id", "available_at"),
    )

    series_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("macro_series.series_id"), primary_key=True
    )
    period_end: Mapped[dt.date] = mapped_column(Date, primary_key=True, comment="last day of the reference period")
    vintage: Mapped[int] = mapped_column(SmallInteger, primary_key=True, comment="1 = first release")
    period: Mapped[str] = mapped_column(String(10), nullable=False, comment="as the vendor labels it: YYYYMM, YYYYQn, YYYYMMDD")
    value: Mapped[float | None]
    available_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    available_date: Mapped[dt.date] = mapped_column(Date, nullable=False, comment="Beijing date of available_at")
    available_source: Mapped[str] = mapped_column(String(20), nullable=False)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MacroRelease(Lineage, Base):
    """The official release calendar of the macro APIs: when period ``period`` of ``api_name`` is published.

    Stored from ``cn_schedule`` (the planned Beijing day; the time is the API's release slot) or
    ``eco_cal`` (day and time). It is the first source of ``macro_observation.available_at``
    (``available_source = 'official_calendar'``).
    """

    __tablename__ = "macro_release"
    __table_args__ = (one_of("source", RELEASE_SOURCES), Index(None, "release_at"))

    api_name: Mapped[str] = mapped_column(String(32), primary_key=True, comment="the data API, e.g. cn_cpi")
    period: Mapped[str] = mapped_column(String(10), primary_key=True,
                                        comment="as the data API labels it: YYYYMM, YYYYQn, YYYYMMDD")
    release_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(String(12), nullable=False, comment="cn_schedule or eco_cal")


# --- P2 --------------------------------------------------------------------------------

MINUTE_ASSET_CLASSES = [AssetClass.STOCK.value, AssetClass.ETF.value, AssetClass.INDEX.value, AssetClass.FUTURE.value]


class MinuteBar(Lineage, Base):
    """Minute history (``stk_mins``, ``idx_mins``, ``ft_mins``); range-partitioned by month of ``trade_time``.

    Volume in shares/contracts and amount in yuan, as the minute APIs send them. Partitions are made ahead by
    ``tsr_ensure_minute_partitions(from, to)`` (or ``tushare-rollout db partitions``).
    """

    __tablename__ = "minute_bar"
    __table_args__ = (
        one_of("asset_class", MINUTE_ASSET_CLASSES),
        one_of("freq", ["1min", "5min", "15min", "30min", "60min"]),
        CheckConstraint("asset_class = 'future' OR open_interest IS NULL", name="open_interest_only_futures"),
        CheckConstraint("volume IS NULL OR volume >= 0", name="volume_non_negative"),
        {"postgresql_partition_by": "RANGE (trade_time)"},
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    freq: Mapped[str] = mapped_column(String(6), primary_key=True)
    trade_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    open: Mapped[float | None]
    high: Mapped[float | None]
    low: Mapped[float | None]
    close: Mapped[float | None]
    volume: Mapped[float | None]
    amount: Mapped[float | None]
    open_interest: Mapped[float | None] = mapped_column(comment="futures only (ft_mins oi)")


class RealtimeMinuteBar(Lineage, Base):
    """Realtime minute bars (``rt_min``, ``rt_idx_min``), provisional; range-partitioned by month like minute_bar."""

    __tablename__ = "realtime_minute_bar"
    __table_args__ = (
        one_of("asset_class", [AssetClass.STOCK.value, AssetClass.ETF.value, AssetClass.INDEX.value]),
        one_of("freq", ["1MIN", "5MIN", "15MIN", "30MIN", "60MIN"]),
        {"postgresql_partition_by": "RANGE (bar_time)"},
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    freq: Mapped[str] = mapped_column(String(6), primary_key=True)
    bar_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    open: Mapped[float | None]
    high: Mapped[float | None]
    low: Mapped[float | None]
    close: Mapped[float | None]
    volume: Mapped[float | None]
    amount: Mapped[float | None]


class RealtimeQuote(Lineage, Base):
    """Realtime daily-K snapshots (``rt_idx_k``, ``rt_etf_k``), one row per code and snapshot time."""

    __tablename__ = "realtime_quote"
    __table_args__ = (
        one_of("asset_class", [AssetClass.ETF.value, AssetClass.INDEX.value]),
        Index(None, "snapshot_at"),
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True,
                                                     comment="trade_time of the snapshot")
    name: Mapped[str | None] = mapped_column(Text)
    open: Mapped[float | None]
    high: Mapped[float | None]
    low: Mapped[float | None]
    close: Mapped[float | None]
    pre_close: Mapped[float | None]
    volume: Mapped[float | None]
    amount: Mapped[float | None]
    num_trades: Mapped[int | None] = mapped_column(BigInteger, comment="rt_etf_k num")
    ask_volume1: Mapped[int | None] = mapped_column(BigInteger)
    bid_volume1: Mapped[int | None] = mapped_column(BigInteger)


class FutWarehouseReceipt(Lineage, Base):
    """``fut_wsr`` warehouse receipts. Key columns the vendor leaves empty are stored as ''."""

    __tablename__ = "fut_warehouse_receipt"
    __table_args__ = (Index(None, "trade_date", "exchange"),)

    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    exchange: Mapped[str] = mapped_column(String(8), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True, comment="product code, e.g. ZN")
    warehouse: Mapped[str] = mapped_column(Text, primary_key=True)
    wh_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    grade: Mapped[str] = mapped_column(Text, primary_key=True)
    brand: Mapped[str] = mapped_column(Text, primary_key=True)
    fut_name: Mapped[str | None] = mapped_column(Text)
    pre_vol: Mapped[int | None] = mapped_column(BigInteger)
    vol: Mapped[int | None] = mapped_column(BigInteger)
    vol_chg: Mapped[int | None] = mapped_column(BigInteger)
    area: Mapped[str | None] = mapped_column(Text)
    year: Mapped[str | None] = mapped_column(String(8))
    place: Mapped[str | None] = mapped_column(Text)
    pd: Mapped[int | None] = mapped_column(Integer)
    is_ct: Mapped[str | None] = mapped_column(String(4))
    unit: Mapped[str | None] = mapped_column(String(16))


class FutHolding(Lineage, Base):
    """``fut_holding``: daily volume and position rankings per member (seat)."""

    __tablename__ = "fut_holding"
    __table_args__ = (Index(None, "trade_date", "exchange"),)

    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    exchange: Mapped[str] = mapped_column(String(8), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(16), primary_key=True)
    broker: Mapped[str] = mapped_column(Text, primary_key=True)
    vol: Mapped[int | None] = mapped_column(BigInteger)
    vol_chg: Mapped[int | None] = mapped_column(BigInteger)
    long_hld: Mapped[int | None] = mapped_column(BigInteger)
    long_chg: Mapped[int | None] = mapped_column(BigInteger)
    short_hld: Mapped[int | None] = mapped_column(BigInteger)
    short_chg: Mapped[int | None] = mapped_column(BigInteger)


class StkPremarket(Lineage, Base):
    """``stk_premarket``: share capital and price limits before the open. Shares in 万股."""

    __tablename__ = "stk_premarket"
    __table_args__ = (
        CheckConstraint("down_limit IS NULL OR up_limit IS NULL OR down_limit <= up_limit", name="limits_ordered"),
        Index(None, "trade_date"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    total_share: Mapped[float | None]
    float_share: Mapped[float | None]
    pre_close: Mapped[float | None]
    up_limit: Mapped[float | None]
    down_limit: Mapped[float | None]


MONTH_PARTITIONED = {"minute_bar": "trade_time", "realtime_minute_bar": "bar_time"}
