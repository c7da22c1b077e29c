"""The dataset table and partition planning: pure rules, no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from tushare_rollout.db import metadata
from tushare_rollout.ingest.datasets import DATASETS, FIRST, Plan, Writer
from tushare_rollout.ingest.windows import Partition, lookback, plan, shard
from tushare_rollout.tushare.catalog import APIS

# the roadmap's P0 datasets, plus suspend_d: the status matrix subtracts suspensions from the listed universe
P0_DATASETS = {"trade_cal", "stock_basic", "daily", "adj_factor", "suspend_d", "daily_basic", "fund_basic", "fund_daily",
               "fund_adj", "index_basic", "index_daily", "index_weight", "fut_basic", "fut_daily", "sge_basic",
               "sge_daily"}


# P1: FX on a whitelist, the China/US macro series, and the release calendar that dates them
P1_DATASETS = {"fx_obasic", "fx_daily", "cn_schedule", "cn_cpi", "cn_ppi", "cn_m", "cn_pmi", "cn_gdp", "shibor",
               "us_tycr", "us_trycr", "us_tbr", "us_tltr"}


# P2's wave 1: minute history, realtime snapshots, the futures microstructure and the pre-open data
P2_DATASETS = {"idx_mins", "rt_idx_k", "rt_idx_min", "stk_mins", "rt_etf_k", "rt_min", "ft_mins", "fut_wsr",
               "fut_holding", "stk_premarket"}


def test_p0_and_p1_have_every_dataset_the_roadmap_names() -> None:
    assert {n for n, d in DATASETS.items() if d.batch.value == "P0"} == P0_DATASETS
    assert {n for n, d in DATASETS.items() if d.batch.value == "P1"} == P1_DATASETS
    assert {n for n, d in DATASETS.items() if d.batch.value == "P2"} == P2_DATASETS
    assert all(d.module and d.flag.startswith("p2") for d in DATASETS.values() if d.batch.value == "P2")
    assert set(FIRST) <= set(DATASETS)


@pytest.mark.parametrize("name", sorted(P0_DATASETS | P1_DATASETS | P2_DATASETS))
def test_every_dataset_reads_real_fields_and_writes_real_columns_with_the_whole_key(name: str) -> None:
    dataset = DATASETS[name]
    assert set(dataset.fields.split(",")) <= set(APIS[dataset.api].field_names)
    if dataset.writer is not Writer.UPSERT:  # vintages and the release calendar: mapped by ingest/vintages.py
        return
    for target in dataset.targets:
        table = metadata.tables[target.table]
        assert set(target.columns) <= set(table.c.keys())
        assert {c.name for c in table.primary_key.columns} <= set(target.columns)


@pytest.mark.parametrize(
    ("dataset", "api_row", "expected"),
    [
        ("daily", {"ts_code": "600000.SH", "trade_date": "20240102", "open": 7.2, "high": 7.4, "low": 7.1,
                   "close": 7.3, "pre_close": 7.2, "change": 0.1, "pct_chg": 1.3889, "vol": 12000.0, "amount": 8760.0},
         {"asset_class": "stock", "trade_date": dt.date(2024, 1, 2), "volume": 1_200_000.0, "amount": 8_760_000.0}),
        ("fut_daily", {"ts_code": "CU2405.SHF", "trade_date": "20240102", "open": 1, "high": 2, "low": 1, "close": 2,
                       "pre_close": 1, "change1": 1, "vol": 30.0, "amount": 100.0, "settle": 2, "pre_settle": 1,
                       "change2": 1, "oi": 5.0, "oi_chg": 1.0, "delv_settle": None},
         {"asset_class": "future", "volume": 30.0, "amount": 1_000_000.0, "pct_chg": None}),
        ("fx_daily", {"ts_code": "USDCNH.FXCM", "trade_date": "20240102", "bid_open": 7.0, "bid_high": 7.25,
                      "bid_low": 6.75, "bid_close": 7.125, "ask_open": 7.5, "ask_high": 7.75, "ask_low": 7.25,
                      "ask_close": 7.375, "tick_qty": 1000, "exchange": "FXCM"},
         {"asset_class": "fx", "open": 7.25, "high": 7.5, "low": 7.0, "close": 7.25, "volume": None}),
        ("sge_daily", {"ts_code": "Au(T+D)", "trade_date": "20240102", "open": 1, "high": 2, "low": 1, "close": 2,
                       "change": 1, "pct_change": 100.0, "vol": 1500.0, "amount": 7.0e8, "price_avg": 1.5, "oi": 1.0,
                       "settle_vol": 2.0, "settle_dire": "多支付空"},
         {"asset_class": "sge", "code": "Au(T+D)", "volume": 1500.0, "amount": 7.0e8, "pct_chg": 100.0}),
    ],
    ids=["stock-lots-and-thousands", "futures-ten-thousands", "fx-mid-of-bid-and-ask", "sge-kg-and-yuan"],
)
def test_units_are_normalised_in_the_unified_bar(dataset: str, api_row: dict, expected: dict) -> None:
    target = DATASETS[dataset].targets[0]
    row = dict(zip(target.columns, target.row(api_row)))
    assert {k: row[k] for k in expected} == expected


DAYS = [dt.date(2024, 2, 7), dt.date(2024, 2, 8), dt.date(2024, 2, 19), dt.date(2024, 2, 20)]


@pytest.mark.parametrize(
    ("dataset", "start", "end", "keys"),
    [
        ("daily", dt.date(2024, 2, 8), dt.date(2024, 2, 19), ["20240208", "20240219"]),
        ("index_daily", dt.date(2024, 2, 1), dt.date(2024, 2, 29), ["000300.SH:20240201-20240229"]),
        ("trade_cal", dt.date(2024, 2, 1), dt.date(2024, 2, 29), None),
        ("stock_basic", dt.date(2024, 2, 1), dt.date(2024, 2, 29),
         ["snapshot:list_status=L", "snapshot:list_status=D", "snapshot:list_status=P"]),
    ],
    ids=["trade-date", "by-code", "by-exchange", "snapshot"],
)
def test_plans(dataset: str, start: dt.date, end: dt.date, keys: list[str] | None) -> None:
    parts = plan(DATASETS[dataset], DAYS, start, end, codes=["000300.SH"])
    if keys is None:  # one per exchange, each over the window
        assert [p.params["exchange"] for p in parts][:2] == ["SSE", "SZSE"]
        assert all(p.params["start_date"] == "20240201" for p in parts)
    else:
        assert [p.key for p in parts] == keys
    assert all(p.refresh == (DATASETS[dataset].plan is Plan.SNAPSHOT) for p in parts)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_cover_the_partitions_exactly_once(count: int) -> None:
    parts = [Partition("daily", f"k{i}", {}) for i in range(20)]
    pieces = [shard(parts, i, count) for i in range(count)]
    flat = [p.key for piece in pieces for p in piece]
    assert sorted(flat) == sorted(p.key for p in parts) and len(flat) == len(set(flat))
    assert pieces == [shard(parts, i, count) for i in range(count)]  # deterministic


def test_a_shard_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        shard([], 2, 2)


@pytest.mark.parametrize(
    ("last", "days", "window"),
    [(dt.date(2024, 2, 20), 2, (dt.date(2024, 2, 19), dt.date(2024, 2, 20))),
     (dt.date(2024, 2, 18), 2, (dt.date(2024, 2, 7), dt.date(2024, 2, 8))),  # the holiday neither counts nor breaks
     (dt.date(2024, 2, 1), 3, None)],
    ids=["plain", "across-a-holiday", "before-the-calendar"],
)
def test_lookback_counts_trading_days(last: dt.date, days: int, window) -> None:
    assert lookback(DAYS, last, days) == window


def _open_days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
            if (first + dt.timedelta(days=i)).weekday() < 5]


@pytest.mark.parametrize("name, per_window", [("idx_mins", 33), ("stk_mins", 33), ("ft_mins", 14)])
def test_minute_windows_never_pass_the_row_cap_nor_a_month_and_cover_every_day_once(name: str,
                                                                                   per_window: int) -> None:
    from tushare_rollout.ingest.windows import ROW_CAP, minute_windows

    dataset = DATASETS[name]
    days = _open_days(dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    parts = minute_windows(dataset, {"X": days}, days, days[0], days[-1])
    covered = [d for p in parts for d in days if p.params["start_date"] < f"{d:%Y-%m-%d} 09:00:00"
               and f"{d:%Y-%m-%d} 15:00:00" < p.params["end_date"]]
    assert covered == days  # each open day in exactly one window
    spans = [[d for d in days if p.params["start_date"] < f"{d:%Y-%m-%d} 09:00:00" < p.params["end_date"]]
             for p in parts]
    assert max(len(s) for s in spans) <= per_window and per_window * dataset.bars_per_day <= ROW_CAP
    assert all(s[0].month == s[-1].month for s in spans)
    assert len({p.key for p in parts}) == len(parts)


def test_a_futures_window_starts_after_the_previous_day_so_its_night_session_comes_with_it() -> None:
    from tushare_rollout.ingest.windows import minute_windows

    calendar = [dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 1, 9), dt.date(2024, 1, 10)]
    # the contract was the most traded on the 8th and the 10th, not on the 9th: two windows, no gap filled
    parts = minute_windows(DATASETS["ft_mins"], {"CU2403.SHF": [calendar[1], calendar[3]]}, calendar,
                           calendar[0], calendar[-1])
    assert [(p.key, p.params["start_date"], p.params["end_date"]) for p in parts] == [
        ("CU2403.SHF:20240108-20240108", "2024-01-05 15:30:00", "2024-01-08 15:30:00"),  # Friday night included
        ("CU2403.SHF:20240110-20240110", "2024-01-09 15:30:00", "2024-01-10 15:30:00")]


def test_realtime_calls_group_the_followed_codes_under_the_row_cap() -> None:
    codes = [f"{i:06d}.SH" for i in range(10)]
    parts = plan(DATASETS["rt_min"], [], dt.date(2024, 1, 5), dt.date(2024, 1, 5), codes=codes)
    assert [p.params["ts_code"].count(",") + 1 for p in parts] == [4, 4, 2]  # 4 codes x 240 bars <= 1000 rows
    assert all(p.refresh for p in parts)  # a snapshot is taken again every run
    assert plan(DATASETS["rt_idx_k"], [], dt.date(2024, 1, 5), dt.date(2024, 1, 5), codes=codes)[0].params == {
        "ts_code": ",".join(codes)}
