"""What the schema guarantees to ingestion and readers: keys, idempotent upserts, lineage,
partitions made ahead, append-only vintages, and read switches."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tushare_rollout.db import metadata
from tushare_rollout.db.partitions import ensure_minute_partitions, ensure_partitions_for
from tushare_rollout.db.upsert import DuplicateKeys, upsert

D1, D2 = dt.date(2024, 1, 2), dt.date(2024, 1, 3)
BAR_COLUMNS = ["asset_class", "code", "trade_date", "open", "high", "low", "close", "volume", "amount"]
BARS = [
    ("stock", "600000.SH", D1, 7.2, 7.4, 7.1, 7.3, 1_200_000.0, 8_760_000.0),
    ("stock", "600000.SH", D2, 7.3, 7.5, 7.2, 7.4, 1_100_000.0, 8_140_000.0),
    ("fx", "USDCNH.FXCM", D1, 7.11, 7.15, 7.10, 7.13, None, None),
]


def new_run(engine: Engine, dataset: str = "daily") -> int:
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO ingest_runs (batch, dataset, mode) VALUES ('P0', :ds, 'backfill') RETURNING run_id"
        ), {"ds": dataset}).scalar_one()


def test_duplicate_primary_key_is_rejected(engine: Engine, run_id: int) -> None:
    insert = text("INSERT INTO daily_bar (asset_class, code, trade_date, close, run_id) "
                  "VALUES ('stock', '600000.SH', :d, 7.3, :run)")
    with engine.begin() as conn:
        conn.execute(insert, {"d": D1, "run": run_id})
    with pytest.raises(IntegrityError, match=r"duplicate key(.|\n)*\(stock, 600000.SH, 2024-01-02\) already exists"):
        with engine.begin() as conn:
            conn.execute(insert, {"d": D1, "run": run_id})


def test_closed_set_is_enforced(engine: Engine, run_id: int) -> None:
    with pytest.raises(IntegrityError, match="ck_instrument_asset_class"):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO instrument (asset_class, code, run_id) VALUES ('crypto', 'BTC', :run)"),
                         {"run": run_id})
    with pytest.raises(IntegrityError, match="no partition of relation \"daily_bar\""):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO daily_bar (asset_class, code, trade_date, run_id) "
                              "VALUES ('crypto', 'BTC', '2024-01-02', :run)"), {"run": run_id})


def test_upserting_the_same_rows_twice_changes_nothing(engine: Engine) -> None:
    table = metadata.tables["daily_bar"]
    first_run, second_run = new_run(engine), new_run(engine)
    with engine.begin() as conn:
        first = upsert(conn, table, BARS, BAR_COLUMNS, run_id=first_run)
    with engine.begin() as conn:
        before = conn.execute(text("SELECT code, trade_date, close, run_id, written_at FROM daily_bar "
                                   "ORDER BY 1, 2")).all()
        second = upsert(conn, table, BARS, BAR_COLUMNS, run_id=second_run)
    with engine.connect() as conn:
        after = conn.execute(text("SELECT code, trade_date, close, run_id, written_at FROM daily_bar "
                                  "ORDER BY 1, 2")).all()
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert after == before  # not even lineage moved
    assert {r.run_id for r in after} == {first_run}


def test_a_changed_value_updates_that_row_and_its_lineage_only(engine: Engine) -> None:
    table = metadata.tables["daily_bar"]
    first_run, fix_run = new_run(engine), new_run(engine)
    with engine.begin() as conn:
        upsert(conn, table, BARS, BAR_COLUMNS, run_id=first_run)
    corrected = [BARS[0][:6] + (7.35,) + BARS[0][7:], *BARS[1:]]
    with engine.begin() as conn:
        result = upsert(conn, table, corrected, BAR_COLUMNS, run_id=fix_run)
    with engine.connect() as conn:
        rows = {(r.code, r.trade_date): (r.close, r.run_id) for r in conn.execute(text(
            "SELECT code, trade_date, close, run_id FROM daily_bar"))}
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    assert rows[("600000.SH", D1)] == (7.35, fix_run)
    assert rows[("600000.SH", D2)] == (7.4, first_run)
    assert rows[("USDCNH.FXCM", D1)] == (7.13, first_run)


def test_a_batch_with_a_key_twice_is_refused_whole(engine: Engine, run_id: int) -> None:
    twice = [*BARS, BARS[0][:6] + (9.99,) + BARS[0][7:]]
    with pytest.raises(DuplicateKeys, match=r"stock.*600000\.SH.*2024, 1, 2"):
        with engine.begin() as conn:
            upsert(conn, metadata.tables["daily_bar"], twice, BAR_COLUMNS, run_id=run_id)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_bar")).scalar() == 0


def test_counts_for_value_and_key_only_columns(engine: Engine) -> None:
    table = metadata.tables["ingest_checkpoints"]  # no lineage; key (dataset, partition_key)
    run = new_run(engine)
    rows = [("daily", "20240102", run, 10), ("daily", "20240103", run, 12)]
    columns = ["dataset", "partition_key", "run_id", "rows"]
    with pytest.raises(ValueError, match="lineage column"):
        with engine.begin() as conn:
            upsert(conn, table, rows, columns)
    cal = metadata.tables["trade_calendar"]
    with engine.begin() as conn:
        first = upsert(conn, cal, [("SSE", D1, True), ("SSE", D2, True)], ["exchange", "cal_date", "is_open"],
                       run_id=run)
        again = upsert(conn, cal, [("SSE", D1, True), ("SSE", D2, False)], ["exchange", "cal_date", "is_open"],
                       run_id=run)
        empty = upsert(conn, cal, [], ["exchange", "cal_date", "is_open"], run_id=run)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    assert (empty.staged, empty.inserted, empty.updated) == (0, 0, 0)
    weights = metadata.tables["index_weight"]  # only key columns given: the DO NOTHING path
    members = [("000300.SH", "600000.SH", D1), ("000300.SH", "000001.SZ", D1)]
    with engine.begin() as conn:
        added = upsert(conn, weights, members, ["index_code", "con_code", "trade_date"], run_id=run)
        same = upsert(conn, weights, members, ["index_code", "con_code", "trade_date"], run_id=run)
    assert (added.inserted, added.updated) == (2, 0)
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 2)


@pytest.mark.parametrize(
    ("columns", "run", "says"),
    [(["asset_class", "code", "close"], 1, "primary-key column"),
     (["asset_class", "code", "trade_date", "closing"], 1, "no such column"),
     (["asset_class", "code", "trade_date", "close"], None, "give the run_id")],
    ids=["no-key", "unknown-column", "no-run"],
)
def test_bad_upsert_calls_are_refused_before_touching_the_database(engine: Engine, columns: list[str],
                                                                    run: int | None, says: str) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match=says):
        upsert(conn, metadata.tables["daily_bar"], [], columns, run_id=run)


def test_rows_land_in_their_asset_class_partition(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        upsert(conn, metadata.tables["daily_bar"], BARS, BAR_COLUMNS, run_id=run_id)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_bar_stock")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM daily_bar_fx")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM daily_bar_future")).scalar() == 0


def test_a_failed_upsert_leaves_nothing_behind(engine: Engine, run_id: int) -> None:
    bad = [*BARS, ("stock", "000001.SZ", D1, 1.0, 1.0, 1.0, 1.0, -5.0, 1.0)]  # negative volume
    with pytest.raises(IntegrityError, match="ck_daily_bar_volume_non_negative"):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO ingest_checkpoints (dataset, partition_key, run_id, rows) "
                              "VALUES ('daily', '20240102', :run, 4)"), {"run": run_id})
            upsert(conn, metadata.tables["daily_bar"], bad, BAR_COLUMNS, run_id=run_id)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_bar")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM ingest_checkpoints")).scalar() == 0


def test_rows_upserted_first_in_a_transaction_roll_back_with_it(engine: Engine, run_id: int) -> None:
    # the fast COPY path as the transaction's first statement (the partition catalog already known):
    # its rows must commit with the checkpoint after them, or not at all
    table = metadata.tables["daily_bar"]
    with engine.begin() as conn:
        upsert(conn, table, BARS[:1], BAR_COLUMNS, run_id=run_id)  # learns the partitions
    with pytest.raises(RuntimeError, match="killed before the checkpoint"):
        with engine.begin() as conn:
            upsert(conn, table, BARS[1:2], BAR_COLUMNS, run_id=run_id)
            raise RuntimeError("killed before the checkpoint")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT trade_date FROM daily_bar ORDER BY 1")).scalars().all() == [D1]


MINUTE_COLUMNS = ["asset_class", "code", "freq", "trade_time", "close", "volume"]


def test_minute_rows_for_a_new_month_get_their_partition_first(engine: Engine, run_id: int) -> None:
    beijing = dt.timezone(dt.timedelta(hours=8))
    rows = [("stock", "600000.SH", "1min", dt.datetime(2031, 3, 31, 14, 59, tzinfo=beijing), 7.3, 1200.0),
            ("future", "CU2405.SHF", "1min", dt.datetime(2031, 4, 1, 9, 1, tzinfo=beijing), 70120.0, 35.0)]
    table = metadata.tables["minute_bar"]
    # without the partition the database refuses the rows ...
    with pytest.raises(IntegrityError, match="no partition of relation"):
        with engine.begin() as conn:
            upsert(conn, table, rows, MINUTE_COLUMNS, run_id=run_id)
    # ... so the writer first asks for the partitions its rows need (a short transaction of its own)
    with engine.begin() as conn:
        created = ensure_partitions_for(conn, [r[3] for r in rows])
    with engine.begin() as conn:
        result = upsert(conn, table, rows, MINUTE_COLUMNS, run_id=run_id)
    assert created == 4  # March and April, for minute_bar and realtime_minute_bar
    assert result.inserted == 2
    with engine.connect() as conn:
        placed = dict(conn.execute(text("SELECT code, tableoid::regclass::text FROM minute_bar")).all())
    assert placed == {"600000.SH": "minute_bar_203103", "CU2405.SHF": "minute_bar_203104"}
    with engine.begin() as conn:  # asking again creates nothing
        assert ensure_minute_partitions(conn, dt.date(2031, 3, 1), dt.date(2031, 4, 1)) == 0


def test_partition_months_are_beijing_months(engine: Engine, run_id: int) -> None:
    utc_evening = dt.datetime(2031, 1, 31, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 on Feb 1 in Beijing
    with engine.begin() as conn:
        ensure_partitions_for(conn, [utc_evening])
        upsert(conn, metadata.tables["minute_bar"], [("index", "000300.SH", "1min", utc_evening, 1.0, 1.0)],
               MINUTE_COLUMNS, run_id=run_id)
        assert conn.execute(text("SELECT tableoid::regclass::text FROM minute_bar")).scalar() == "minute_bar_203102"


def test_macro_vintages_are_append_only(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO macro_series (series_id, api_name, field, country, frequency) "
                          "VALUES ('cn_cpi.nt_yoy', 'cn_cpi', 'nt_yoy', 'CN', 'M')"))
        conn.execute(text(
            "INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at,"
            " available_date, available_source, first_seen_at, run_id) VALUES ('cn_cpi.nt_yoy', '2023-12-31', 1,"
            " '202312', -0.3, '2024-01-12 09:30+08', '2024-01-12', 'official_calendar', now(), :run)"),
            {"run": run_id})
    with pytest.raises(IntegrityError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE macro_observation SET value = -0.2"))
    with engine.begin() as conn:  # a revision is a new vintage
        conn.execute(text(
            "INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at,"
            " available_date, available_source, first_seen_at, run_id) VALUES ('cn_cpi.nt_yoy', '2023-12-31', 2,"
            " '202312', -0.2, '2024-02-08 09:30+08', '2024-02-08', 'first_seen', now(), :run)"), {"run": run_id})
        values = conn.execute(text("SELECT vintage, value FROM macro_observation ORDER BY vintage")).all()
    assert values == [(1, -0.3), (2, -0.2)]


def test_available_date_must_be_the_beijing_day_of_available_at(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO macro_series (series_id, api_name, field, country, frequency) "
                          "VALUES ('shibor.on', 'shibor', 'on', 'CN', 'D')"))
    with pytest.raises(IntegrityError, match="available_date_is_beijing_day"):
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO macro_observation (series_id, period_end, vintage, period, value, available_at,"
                " available_date, available_source, first_seen_at, run_id) VALUES ('shibor.on', '2024-01-02', 1,"
                " '20240102', 1.7, '2024-01-02 20:00+00', '2024-01-02', 'lag_rule', now(), :run)"), {"run": run_id})


def set_switch(engine: Engine, module: str, enabled: bool) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE read_switch SET enabled = :on, updated_at = now() WHERE module = :m"),
                     {"on": enabled, "m": module})


def test_views_follow_the_read_switches(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        upsert(conn, metadata.tables["daily_bar"], BARS, BAR_COLUMNS, run_id=run_id)

    def visible() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT DISTINCT asset_class FROM v_daily_bar")).scalars())

    assert visible() == set()  # nothing is rolled out on a fresh schema
    set_switch(engine, "stock", True)
    set_switch(engine, "fx", True)
    assert visible() == {"stock", "fx"}
    set_switch(engine, "fx", False)  # a P1 rollback: readers lose FX at once ...
    assert visible() == {"stock"}
    with engine.connect() as conn:  # ... while the rows stay stored for a roll-forward
        assert conn.execute(text("SELECT count(*) FROM daily_bar WHERE asset_class = 'fx'")).scalar() == 1
    set_switch(engine, "fx", True)
    assert visible() == {"stock", "fx"}


def test_p2_views_follow_their_module_switch(engine: Engine, run_id: int) -> None:
    t = dt.datetime(2031, 5, 6, 9, 31, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = [("index", "000300.SH", "1min", t, 1.0, 1.0), ("future", "CU2405.SHF", "1min", t, 1.0, 1.0),
            ("etf", "510300.SH", "1min", t, 1.0, 1.0)]
    with engine.begin() as conn:
        ensure_partitions_for(conn, [t])
        upsert(conn, metadata.tables["minute_bar"], rows, MINUTE_COLUMNS, run_id=run_id)
    set_switch(engine, "p2_futures_microstructure", True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT asset_class FROM v_minute_bar")).scalars().all() == ["future"]
    set_switch(engine, "p2_realtime_index", True)
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT asset_class FROM v_minute_bar")).scalars()) == ["future", "index"]
