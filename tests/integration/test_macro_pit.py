"""Macro data point in time in the database: as-of reads, first and latest prints, the usable session,
the read switch, and every SQL example of docs/data.md run against the same data."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from tushare_rollout.tushare.server.calendar import TradingCalendar

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
CALENDAR = (dt.date(2023, 12, 1), dt.date(2024, 5, 31))  # SSE, every day, open or not
CPI, GDP = "cn_cpi.nt_yoy", "cn_gdp.gdp_yoy"
# (series, period_end, vintage, period, value, available_at, source): the real 2024 releases, plus a
# made-up revision of March CPI seen on Saturday 20 April
OBSERVATIONS = [
    (CPI, "2024-02-29", 1, "202402", 0.7, "2024-03-09 09:30+08", "official_calendar"),
    (CPI, "2024-03-31", 1, "202403", 0.1, "2024-04-11 09:30+08", "official_calendar"),
    (CPI, "2024-03-31", 2, "202403", 0.2, "2024-04-20 10:00+08", "first_seen"),
    (GDP, "2023-12-31", 1, "2023Q4", 5.2, "2024-01-17 10:00+08", "official_calendar"),
    (GDP, "2024-03-31", 1, "2024Q1", 5.3, "2024-04-16 10:00+08", "official_calendar"),
]
RELEASES = [
    ("cn_cpi", "202402", "2024-03-09 09:30+08", "cn_schedule"),
    ("cn_cpi", "202403", "2024-04-11 09:30+08", "cn_schedule"),
    ("cn_gdp", "2023Q4", "2024-01-17 10:00+08", "eco_cal"),
    ("cn_gdp", "2024Q1", "2024-04-16 10:00+08", "eco_cal"),
]
STOCK_AND_FX = [
    "INSERT INTO instrument (asset_class, code, name, run_id) VALUES ('stock', '600000.SH', '浦发银行', :run)",
    "INSERT INTO daily_bar (asset_class, code, trade_date, close, run_id) VALUES"
    " ('stock', '600000.SH', '2024-04-11', 7.10, :run), ('stock', '600000.SH', '2024-04-12', 7.02, :run),"
    " ('fx', 'USDCNH.FXCM', '2024-04-11', 7.2441, :run), ('fx', 'USDCNH.FXCM', '2024-04-12', 7.2563, :run)",
    "INSERT INTO adj_factor (asset_class, code, trade_date, adj_factor, run_id) VALUES"
    " ('stock', '600000.SH', '2024-04-11', 10.2, :run), ('stock', '600000.SH', '2024-04-12', 10.2, :run)",
    "INSERT INTO fx_daily_quote (code, trade_date, bid_close, ask_close, run_id) VALUES"
    " ('USDCNH.FXCM', '2024-04-11', 7.2440, 7.2442, :run), ('USDCNH.FXCM', '2024-04-12', 7.2562, 7.2564, :run)",
]


def load(conn: Connection, run: int) -> None:
    shanghai = TradingCalendar.shanghai()
    days = [CALENDAR[0] + dt.timedelta(days=i) for i in range((CALENDAR[1] - CALENDAR[0]).days + 1)]
    conn.execute(text("INSERT INTO trade_calendar (exchange, cal_date, is_open, run_id)"
                      " VALUES ('SSE', :d, :o, :run)"), [{"d": d, "o": shanghai.is_open(d), "run": run} for d in days])
    conn.execute(text("INSERT INTO macro_series (series_id, api_name, field, country, frequency) VALUES"
                      " (:cpi, 'cn_cpi', 'nt_yoy', 'CN', 'M'), (:gdp, 'cn_gdp', 'gdp_yoy', 'CN', 'Q')"),
                 {"cpi": CPI, "gdp": GDP})
    conn.execute(text(
        "INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at, available_date,"
        " available_source, first_seen_at, run_id) VALUES (:s, CAST(:pe AS date), :v, :p, :val,"
        " CAST(:at AS timestamptz), (CAST(:at AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date, :src,"
        " CAST(:at AS timestamptz) + interval '5 minutes', :run)"),
        [dict(zip(("s", "pe", "v", "p", "val", "at", "src"), o), run=run) for o in OBSERVATIONS])
    conn.execute(text("INSERT INTO macro_release (api_name, period, release_at, source, run_id)"
                      " VALUES (:api, :p, CAST(:at AS timestamptz), :src, :run)"),
                 [dict(zip(("api", "p", "at", "src"), r), run=run) for r in RELEASES])
    for sql in STOCK_AND_FX:
        conn.execute(text(sql), {"run": run})


def switch(engine: Engine, on: bool, *modules: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE read_switch SET enabled = :on WHERE module = ANY(:m)"),
                     {"on": on, "m": list(modules)})


@pytest.fixture
def db(engine: Engine, run_id: int) -> Engine:
    """The test data stored, the macro switch on."""
    with engine.begin() as conn:
        load(conn, run_id)
    switch(engine, True, "macro")
    return engine


def asof(engine: Engine, series: str, at: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT period, vintage, value, available_source FROM macro_asof(:s, CAST(:at AS timestamptz))"),
            {"s": series, "at": at})]


FEB = ("202402", 1, 0.7, "official_calendar")
MAR_FIRST, MAR_REVISED = ("202403", 1, 0.1, "official_calendar"), ("202403", 2, 0.2, "first_seen")


@pytest.mark.parametrize(("at", "known"), [
    ("2024-03-09 09:29:59+08", []),
    ("2024-04-11 09:29:59+08", [FEB]),
    ("2024-04-11 09:30+08", [FEB, MAR_FIRST]),
    ("2024-04-11 01:30+00", [FEB, MAR_FIRST]),
    ("2024-04-20 09:59:59+08", [FEB, MAR_FIRST]),
    ("2024-04-20 10:00+08", [FEB, MAR_REVISED]),
    ("2030-01-01 00:00+08", [FEB, MAR_REVISED]),
], ids=["before-any-release", "just-before-the-first-print", "at-the-first-print", "same-instant-in-utc",
        "between-first-print-and-revision", "at-the-revision", "long-after"])
def test_macro_asof_knows_what_was_public_at_that_instant(db: Engine, at: str, known: list[tuple]) -> None:
    assert asof(db, CPI, at) == known


def test_macro_asof_for_a_quarter_and_an_unknown_series(db: Engine) -> None:
    assert asof(db, GDP, "2024-04-16 09:59+08") == [("2023Q4", 1, 5.2, "official_calendar")]
    assert [r[0] for r in asof(db, GDP, "2024-04-16 10:00+08")] == ["2023Q4", "2024Q1"]
    assert asof(db, "cn_cpi.no_such_field", "2030-01-01 00:00+08") == []


def test_macro_asof_returns_the_documented_columns(db: Engine) -> None:
    with db.connect() as conn:
        result = conn.execute(text("SELECT * FROM macro_asof('cn_cpi.nt_yoy', now())"))
        assert list(result.keys()) == ["series_id", "period_end", "period", "value", "vintage", "available_at",
                                       "available_source"]
        first = result.first()
    assert first is not None and first.series_id == CPI and first.period_end == dt.date(2024, 2, 29)
    assert first.available_at == dt.datetime(2024, 3, 9, 1, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("at", "session"), [
    ("2024-02-09 10:00+08", dt.date(2024, 2, 19)),
    ("2024-02-08 10:00+08", dt.date(2024, 2, 19)),
    ("2024-02-08 09:00+08", dt.date(2024, 2, 8)),
    ("2024-03-09 09:30+08", dt.date(2024, 3, 11)),
    ("2024-04-11 09:00+08", dt.date(2024, 4, 11)),
    ("2024-04-11 09:29:59.999+08", dt.date(2024, 4, 11)),
    ("2024-04-11 09:30+08", dt.date(2024, 4, 12)),
    ("2024-04-11 10:00+08", dt.date(2024, 4, 12)),
    ("2024-04-12 10:00+08", dt.date(2024, 4, 15)),
    ("2024-04-10 20:00+00", dt.date(2024, 4, 11)),
    ("2024-04-30 16:00+08", dt.date(2024, 5, 6)),
    ("2024-05-31 09:00+08", dt.date(2024, 5, 31)),
    ("2024-05-31 10:00+08", None),
    ("2023-11-30 10:00+08", None),
], ids=["spring-festival-friday", "last-session-before-the-festival", "before-the-open-on-the-eve",
        "saturday-release", "09:00-on-a-session-day", "just-before-the-open", "09:30-is-not-before-09:30",
        "10:00-on-a-session-day", "friday-after-the-open", "utc-evening-is-the-next-beijing-day", "may-day-holiday",
        "last-calendar-day-before-the-open", "beyond-the-calendar", "before-the-calendar"])
def test_usable_session_is_the_first_sse_open_after_the_release(db: Engine, at: str,
                                                                  session: dt.date | None) -> None:
    with db.connect() as conn:
        got = conn.execute(text("SELECT macro_usable_session(CAST(:at AS timestamptz))"), {"at": at}).scalar()
    assert got == session


def test_usable_session_is_null_across_a_hole_in_the_calendar(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("DELETE FROM trade_calendar WHERE exchange = 'SSE' AND cal_date = '2024-04-13'"))
        friday, saturday = (conn.execute(text("SELECT macro_usable_session(CAST(:at AS timestamptz))"), {"at": at})
                            .scalar() for at in ("2024-04-12 09:00+08", "2024-04-12 10:00+08"))
    assert friday == dt.date(2024, 4, 12)  # the hole is after the answer
    assert saturday is None  # not "Monday": the calendar cannot vouch for the missing day


def test_first_release_and_latest_views(db: Engine) -> None:
    columns = "series_id, period, vintage, value, usable_session"
    with db.connect() as conn:
        first = conn.execute(text(f"SELECT {columns} FROM v_macro_first_release ORDER BY 1, 2")).all()
        latest = conn.execute(text(f"SELECT {columns} FROM v_macro_latest ORDER BY 1, 2")).all()
    assert [tuple(r) for r in first] == [
        (CPI, "202402", 1, 0.7, dt.date(2024, 3, 11)),
        (CPI, "202403", 1, 0.1, dt.date(2024, 4, 12)),
        (GDP, "2023Q4", 1, 5.2, dt.date(2024, 1, 18)),
        (GDP, "2024Q1", 1, 5.3, dt.date(2024, 4, 17)),
    ]
    assert [tuple(r) for r in latest] == [
        (CPI, "202402", 1, 0.7, dt.date(2024, 3, 11)),
        (CPI, "202403", 2, 0.2, dt.date(2024, 4, 22)),  # the revision came on a Saturday
        (GDP, "2023Q4", 1, 5.2, dt.date(2024, 1, 18)),
        (GDP, "2024Q1", 1, 5.3, dt.date(2024, 4, 17)),
    ]


MACRO_READS = {
    "v_macro_observation": "SELECT count(*) FROM v_macro_observation",
    "v_macro_first_release": "SELECT count(*) FROM v_macro_first_release",
    "v_macro_latest": "SELECT count(*) FROM v_macro_latest",
    "v_macro_release": "SELECT count(*) FROM v_macro_release",
    "macro_asof": "SELECT count(*) FROM macro_asof('cn_cpi.nt_yoy', '2030-01-01 00:00+08')",
}


def test_the_macro_switch_hides_every_macro_read(db: Engine) -> None:
    def counts() -> dict[str, int]:
        with db.connect() as conn:
            return {name: conn.execute(text(sql)).scalar_one() for name, sql in MACRO_READS.items()}

    on = {"v_macro_observation": 5, "v_macro_first_release": 4, "v_macro_latest": 4, "v_macro_release": 4,
          "macro_asof": 2}
    assert counts() == on
    switch(db, False, "macro")  # a P1 rollback: readers lose macro at once ...
    assert counts() == dict.fromkeys(MACRO_READS, 0)
    with db.connect() as conn:  # ... the rows stay stored
        assert conn.execute(text("SELECT count(*) FROM macro_observation")).scalar_one() == 5
    switch(db, True, "macro")
    assert counts() == on


def test_macro_release_keys_and_sources(db: Engine, run_id: int) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="ck_macro_release_source"):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO macro_release (api_name, period, release_at, source, run_id)"
                              " VALUES ('cn_ppi', '202403', now(), 'guess', :run)"), {"run": run_id})
    with pytest.raises(IntegrityError, match="pk_macro_release"):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO macro_release (api_name, period, release_at, source, run_id)"
                              " VALUES ('cn_cpi', '202403', now(), 'eco_cal', :run)"), {"run": run_id})


def doc_sql_blocks() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_doc_has_sql_examples() -> None:
    assert len(doc_sql_blocks()) >= 8


def test_every_sql_example_of_the_data_doc_runs_and_returns_rows(db: Engine) -> None:
    switch(db, True, "stock", "fx")
    for block in doc_sql_blocks():
        with db.connect() as conn:
            rows = conn.execute(text(block.replace(":", r"\:"))).all()
        assert rows, f"no rows from this docs/data.md example:\n{block}"


def test_the_backtest_panel_of_the_doc_enters_prints_at_the_next_session(db: Engine) -> None:
    (panel,) = [b for b in doc_sql_blocks() if "CROSS JOIN LATERAL" in b]
    with db.connect() as conn:
        rows = {r.cal_date: (r.period, r.vintage) for r in conn.execute(text(panel.replace(":", r"\:")))}
    assert rows[dt.date(2024, 4, 11)] == ("202402", 1)  # released at 09:30 that day: not before the open
    assert rows[dt.date(2024, 4, 12)] == ("202403", 1)
    assert rows[dt.date(2024, 4, 19)] == ("202403", 1)
    assert rows[dt.date(2024, 4, 22)] == ("202403", 2)  # revised on Saturday the 20th
    assert len(rows) == 15  # every session from 8 to 26 April
