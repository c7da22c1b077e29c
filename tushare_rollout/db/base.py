"""The one ``MetaData`` (Alembic's five-key naming convention), the declarative base,
and the closed vocabularies that CHECK constraints enforce.

Every data table carries ``run_id``: the ingest run that last wrote the row
(lineage), so a rollback can remove exactly what a phase wrote.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Double, Index, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {float: Double(), dt.datetime: DateTime(timezone=True)}


class AssetClass(enum.StrEnum):
    STOCK = "stock"
    ETF = "etf"
    INDEX = "index"
    FUTURE = "future"
    SGE = "sge"
    FX = "fx"


class Batch(enum.StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"


class Exchange(enum.StrEnum):
    """Exchanges with a trading calendar (``trade_cal``)."""

    SSE = "SSE"
    SZSE = "SZSE"
    BSE = "BSE"
    CFFEX = "CFFEX"
    SHFE = "SHFE"
    CZCE = "CZCE"
    DCE = "DCE"
    INE = "INE"
    GFEX = "GFEX"


class ReadModule(enum.StrEnum):
    """What a consumer view can be switched on and off by (``read_switch.module``).

    P0/P1 modules are named by asset class; P2 modules by their rollout sub-flag.
    """

    STOCK = "stock"
    ETF = "etf"
    INDEX = "index"
    FUTURE = "future"
    SGE = "sge"
    FX = "fx"
    MACRO = "macro"
    P2_REALTIME_INDEX = "p2_realtime_index"
    P2_REALTIME_EQUITY_ETF = "p2_realtime_equity_etf"
    P2_FUTURES_MICROSTRUCTURE = "p2_futures_microstructure"
    P2_STK_PREMARKET = "p2_stk_premarket"


def one_of(column: str, values: type[enum.Enum] | list[str], name: str | None = None) -> CheckConstraint:
    """``CHECK (column IN (...))`` for a closed vocabulary, named ``ck_<table>_<column>``."""
    members = [v.value for v in values] if isinstance(values, type) else list(values)
    quoted = ", ".join("'" + m.replace("'", "''") + "'" for m in members)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or column)


class Lineage:
    """Mixin: the run that last wrote the row, and when.

    ``run_id`` has no foreign key: checking it per row cost a quarter of the bulk-load time, and the
    stability gate checks lineage integrity in one query instead. Its index is BRIN: run ids grow
    with insertion order, so a tiny block-range index finds a run's rows for a rollback.
    """

    @declared_attr
    def run_id(cls) -> Mapped[int]:
        return mapped_column(BigInteger, nullable=False, comment="ingest_runs.run_id of the run that last changed it")

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)  # the declarative base builds the table here
        Index(f"ix_{cls.__tablename__}_run_id", cls.__table__.c.run_id, postgresql_using="brin")

    @declared_attr
    def written_at(cls) -> Mapped[dt.datetime]:
        return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
