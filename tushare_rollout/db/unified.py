"""Unified tables: one shape for every asset class (built once, in phase A, for P0, P1 and P2).

Units in the unified daily bar are normalised by ingestion so asset classes compare:
``volume`` in base units (shares for stocks, ETFs and indices; contracts for futures;
the exchange's unit for SGE; ticks are not volume, so FX has none) and ``amount``
in CNY yuan. FX bars hold **mid** prices ((bid + ask) / 2); bid/ask live in
``fx_daily_quote``. FX trade dates are GMT days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .base import AssetClass, Base, Exchange, Lineage, one_of


class Instrument(Lineage, Base):
    """Every instrument of every asset class, keyed (asset_class, code); from the *_basic APIs."""

    __tablename__ = "instrument"
    __table_args__ = (
        one_of("asset_class", AssetClass),
        one_of("list_status", ["L", "D", "P", "G"]),
        CheckConstraint("delist_date IS NULL OR list_date IS NULL OR delist_date >= list_date", name="listing_order"),
        Index(None, "asset_class", "list_date", "delist_date"),
        {"comment": "Instruments of every asset class (stock, etf, index, future, sge, fx)."},
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ts_code; SGE codes have no suffix")
    symbol: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(Text)
    fullname: Mapped[str | None] = mapped_column(Text)
    exchange: Mapped[str | None] = mapped_column(String(16))
    market: Mapped[str | None] = mapped_column(String(32), comment="board (stocks), market (indices, funds)")
    currency: Mapped[str | None] = mapped_column(String(8))
    list_status: Mapped[str | None] = mapped_column(String(1), comment="L listed, D delisted, P suspended, G approved")
    list_date: Mapped[dt.date | None] = mapped_column(Date)
    delist_date: Mapped[dt.date | None] = mapped_column(Date)
    product_code: Mapped[str | None] = mapped_column(String(16), comment="futures: fut_code (product), e.g. CU")
    multiplier: Mapped[float | None] = mapped_column(comment="futures: contract multiplier")
    last_delivery_date: Mapped[dt.date | None] = mapped_column(Date, comment="futures: last_ddate")
    attrs: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default="{}",
        comment="remaining vendor fields verbatim; nothing the gates or the status matrix query",
    )


class DailyBar(Lineage, Base):
    """Daily bars of every asset class, one key (asset_class, code, trade_date); list-partitioned by asset class."""

    __tablename__ = "daily_bar"
    __table_args__ = (
        one_of("asset_class", AssetClass),
        CheckConstraint("volume IS NULL OR volume >= 0", name="volume_non_negative"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        Index(None, "trade_date", "asset_class"),
        {"postgresql_partition_by": "LIST (asset_class)",
         "comment": "Daily bars of every asset class; FX holds mid prices; volume in base units, amount in CNY."},
    )

    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    trade_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    open: Mapped[float | None]
    high: Mapped[float | None]
    low: Mapped[float | None]
    close: Mapped[float | None]
    pre_close: Mapped[float | None]
    change: Mapped[float | None]
    pct_chg: Mapped[float | None] = mapped_column(comment="percent, as the vendor sends it")
    volume: Mapped[float | None]
    amount: Mapped[float | None]


class TradeCalendar(Lineage, Base):
    """The trading calendar per exchange (``trade_cal``), in Asia/Shanghai dates."""

    __tablename__ = "trade_calendar"
    __table_args__ = (
        one_of("exchange", Exchange),
        Index("ix_trade_calendar_open_days", "exchange", "cal_date", postgresql_where=text("is_open")),
        {"comment": "Trading calendar per exchange (SSE, SZSE, BSE and the futures exchanges)."},
    )

    exchange: Mapped[str] = mapped_column(String(8), primary_key=True)
    cal_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False)
    pretrade_date: Mapped[dt.date | None] = mapped_column(Date)
