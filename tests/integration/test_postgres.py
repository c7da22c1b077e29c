"""The real PostgreSQL: a fresh database per test, written and read, nothing shared between tests."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.parametrize("run", ["first", "second"])
def test_fresh_database_per_test(database_url: str, run: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            tables = conn.execute(text("select tablename from pg_tables where schemaname = 'public'")).scalars().all()
            assert tables == []  # nothing left by another test
            conn.execute(text("create table bars (code text primary key, close numeric not null)"))
            conn.execute(text("insert into bars values ('600000.SH', 7.31), (:code, :close)"),
                         {"code": f"{run}.SZ", "close": 12.5})
        with engine.connect() as conn:
            rows = conn.execute(text("select code, close from bars order by code")).all()
    finally:
        engine.dispose()
    assert [(code, float(close)) for code, close in rows] == [("600000.SH", 7.31), (f"{run}.SZ", 12.5)]
