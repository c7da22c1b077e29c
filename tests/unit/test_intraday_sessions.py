"""The trading sessions gate D measures minute history against: the worked examples of
``tushare_rollout/gates/intraday.py`` as tables, and the server's sessions for the followed products."""

from __future__ import annotations

import datetime as dt

import pytest

from tushare_rollout.gates.intraday import (
    A_SHARE, EXCHANGES, FUTURES, NIGHT_GAP_DAYS, Segment, ranges, session_for, trading_day,
)
from tushare_rollout.tushare.server.calendar import TradingCalendar
from tushare_rollout.tushare.server.futures import BY_CODE, PRODUCTS, FuturesMarket
from tushare_rollout.tushare.server.market import MINUTES

D = dt.date
BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment).replace(tzinfo=BEIJING)


def hhmm(labels: list[dt.datetime]) -> list[str]:
    return [f"{t:%m-%d %H:%M}" for t in labels]


# day, previous open day, first day of the contract -> bars, first label, last label
SESSIONS = [
    ("a-share", "stock", None, D(2024, 1, 8), D(2024, 1, 5), False, 240, "01-08 09:31", "01-08 15:00"),
    ("index-after-holiday", "index", None, D(2024, 2, 19), D(2024, 2, 8), False, 240, "02-19 09:31", "02-19 15:00"),
    ("cffex", "future", "IF", D(2024, 1, 8), D(2024, 1, 5), False, 240, "01-08 09:31", "01-08 15:00"),
    ("cffex-bonds", "future", "T", D(2024, 1, 9), D(2024, 1, 8), False, 240, "01-09 09:31", "01-09 15:00"),
    ("shfe-weeknight", "future", "CU", D(2024, 1, 9), D(2024, 1, 8), False, 345, "01-08 21:01", "01-09 15:00"),
    ("shfe-weekend", "future", "CU", D(2024, 1, 8), D(2024, 1, 5), False, 345, "01-05 21:01", "01-08 15:00"),
    ("shfe-gold", "future", "AU", D(2024, 1, 8), D(2024, 1, 5), False, 345, "01-05 21:01", "01-08 15:00"),
    ("dce", "future", "M", D(2024, 1, 8), D(2024, 1, 5), False, 345, "01-05 21:01", "01-08 15:00"),
    ("czce", "future", "SR", D(2024, 1, 8), D(2024, 1, 5), False, 345, "01-05 21:01", "01-08 15:00"),
    ("ine", "future", "SC", D(2024, 1, 8), D(2024, 1, 5), False, 345, "01-05 21:01", "01-08 15:00"),
    ("gfex-no-night", "future", "SI", D(2024, 1, 8), D(2024, 1, 5), False, 225, "01-08 09:01", "01-08 15:00"),
    ("after-new-year", "future", "CU", D(2024, 1, 2), D(2023, 12, 29), False, 225, "01-02 09:01", "01-02 15:00"),
    ("after-spring-festival", "future", "SR", D(2024, 2, 19), D(2024, 2, 8), False, 225, "02-19 09:01",
     "02-19 15:00"),
    ("contract-first-day", "future", "CU", D(2024, 1, 16), D(2024, 1, 15), True, 225, "01-16 09:01", "01-16 15:00"),
    ("previous-day-unknown", "future", "CU", D(2024, 1, 16), None, False, 225, "01-16 09:01", "01-16 15:00"),
]


@pytest.mark.parametrize(("asset_class", "product", "day", "previous", "first_day", "bars", "first", "last"),
                         [c[1:] for c in SESSIONS], ids=[c[0] for c in SESSIONS])
def test_the_expected_bars_of_a_trading_day(asset_class: str, product: str | None, day: dt.date,
                                            previous: dt.date | None, first_day: bool, bars: int, first: str,
                                            last: str) -> None:
    labels = session_for(asset_class, product).expected(day, previous, first_day)
    assert (len(labels), *hhmm([labels[0], labels[-1]])) == (bars, first, last)
    assert len(set(labels)) == bars and labels == sorted(labels)


def test_commodity_day_sessions_pause_at_ten_fifteen_and_over_lunch() -> None:
    labels = hhmm(FUTURES["CU"].expected(D(2024, 1, 9), D(2024, 1, 8)))
    assert labels[119:122] == ["01-08 23:00", "01-09 09:01", "01-09 09:02"]
    assert "01-09 10:16" not in labels and "01-09 10:30" not in labels and "01-09 10:31" in labels
    assert "01-09 13:30" not in labels and "01-09 13:31" in labels and "01-09 11:31" not in labels


def test_the_a_share_session_is_the_servers_and_tolerates_the_auction_bar() -> None:
    labels = A_SHARE.expected(D(2024, 1, 8), D(2024, 1, 5))
    assert [t.time() for t in labels] == MINUTES
    assert [t.time() for t in A_SHARE.allowed(D(2024, 1, 8))] == [dt.time(9, 30)]
    assert FUTURES["IF"].tolerated == () and FUTURES["CU"].tolerated == ()


@pytest.mark.parametrize("product", ["CU", "AU", "M", "SR", "IF"])
def test_the_followed_products_sessions_match_the_local_server(product: str) -> None:
    """The labels the local server stamps on a contract's bars are exactly the declared session's."""
    market = FuturesMarket()
    contract = next(c for c in market.contracts[product] if c.delist_date > D(2024, 3, 1))
    for day in (D(2024, 1, 2), D(2024, 1, 8), D(2024, 1, 9), D(2024, 2, 19)):
        k = market.days.index(day)
        parts = market.minute_bars(contract, k)["parts"]
        served = [dt.datetime.combine(base.astype(dt.datetime), dt.time(0), BEIJING) + dt.timedelta(minutes=m)
                  for base, a, z in parts for m in range(a, z + 1)]
        first_day = k == contract.lo
        assert served == FUTURES[product].expected(day, market.days[k - 1], first_day), (product, day)


def test_every_product_the_server_lists_has_a_session_of_its_exchange() -> None:
    assert set(FUTURES) == set(BY_CODE)
    for p in PRODUCTS:
        assert FUTURES[p.code] == EXCHANGES[p.exchange]
        assert (FUTURES[p.code].night is not None) == p.night
    assert session_for("future", "NEW", "DCE") == EXCHANGES["DCE"]
    with pytest.raises(ValueError, match="add it to FUTURES"):
        session_for("future", "NEW", "LME")


OPEN = TradingCalendar.shanghai().open_days(D(2023, 12, 1), D(2024, 3, 1))

# a bar's Beijing label -> the trading day it belongs to
TRADING_DAYS = [
    ("day-bar", "2024-01-08 10:31", D(2024, 1, 8)),
    ("close", "2024-01-08 15:00", D(2024, 1, 8)),
    ("weeknight", "2024-01-08 21:01", D(2024, 1, 9)),
    ("friday-night", "2024-01-05 23:00", D(2024, 1, 8)),
    ("past-midnight-saturday", "2024-01-06 01:00", D(2024, 1, 8)),
    ("past-midnight-weekday", "2024-01-09 02:30", D(2024, 1, 9)),
    ("before-new-year", "2023-12-29 21:01", D(2024, 1, 2)),
    ("before-spring-festival", "2024-02-08 22:00", D(2024, 2, 19)),
    ("evening-from-20:00", "2024-01-08 20:00", D(2024, 1, 9)),
    ("saturday-day-bar", "2024-01-06 10:00", D(2024, 1, 6)),  # a closed day: it is unexpected there
]


@pytest.mark.parametrize(("label", "day"), [c[1:] for c in TRADING_DAYS], ids=[c[0] for c in TRADING_DAYS])
def test_the_trading_day_of_a_bar(label: str, day: dt.date) -> None:
    assert trading_day(at(label), OPEN) == day
    assert trading_day(at(label).astimezone(dt.timezone.utc), OPEN) == day  # stored times come back in UTC


def test_a_night_bar_past_the_known_calendar_has_no_trading_day() -> None:
    assert trading_day(at("2024-02-29 21:01"), OPEN) == D(2024, 3, 1)
    assert trading_day(at("2024-03-01 21:01"), OPEN) is None


def test_a_night_session_runs_only_after_a_short_break() -> None:
    cu = FUTURES["CU"]
    assert cu.has_night(D(2024, 1, 8), D(2024, 1, 8) - dt.timedelta(days=NIGHT_GAP_DAYS))
    assert not cu.has_night(D(2024, 1, 8), D(2024, 1, 8) - dt.timedelta(days=NIGHT_GAP_DAYS + 1))
    assert not A_SHARE.has_night(D(2024, 1, 9), D(2024, 1, 8))


SEGMENTS = [
    ("morning", dt.time(9, 31), dt.time(11, 30), 120, [(571, 690)]),
    ("commodity-first", dt.time(9, 1), dt.time(10, 15), 75, [(541, 615)]),
    ("night-to-23", dt.time(21, 1), dt.time(23, 0), 120, [(1261, 1380)]),
    ("night-to-01", dt.time(21, 1), dt.time(1, 0), 240, [(1261, 1439), (0, 60)]),
    ("night-to-0230", dt.time(21, 1), dt.time(2, 30), 330, [(1261, 1439), (0, 150)]),
    ("one-bar", dt.time(9, 30), dt.time(9, 30), 1, [(570, 570)]),
]


@pytest.mark.parametrize(("first", "last", "bars", "minutes"), [c[1:] for c in SEGMENTS], ids=[c[0] for c in SEGMENTS])
def test_a_segment_counts_its_bars_and_its_minutes_of_the_day(first: dt.time, last: dt.time, bars: int,
                                                              minutes: list[tuple[int, int]]) -> None:
    segment = Segment(first, last)
    labels = segment.labels(D(2024, 1, 5))
    assert len(segment) == bars == len(labels) and segment.ranges() == minutes
    assert labels[0].time() == first and labels[-1].time() == last


def test_a_night_declared_past_midnight_ends_on_the_next_calendar_day() -> None:
    from dataclasses import replace

    long_night = replace(FUTURES["CU"], night=Segment(dt.time(21, 1), dt.time(1, 0)))
    labels = long_night.expected(D(2024, 1, 8), D(2024, 1, 5))
    assert len(labels) == 240 + 225 and hhmm(labels[238:241]) == ["01-06 00:59", "01-06 01:00", "01-08 09:01"]
    assert {trading_day(t, OPEN) for t in labels} == {D(2024, 1, 8)}


def test_missing_labels_are_shown_as_ranges() -> None:
    labels = [at("2024-01-05 21:01") + dt.timedelta(minutes=i) for i in range(120)] + [at("2024-01-08 13:31")]
    assert ranges(labels) == ["2024-01-05 21:01..23:00", "2024-01-08 13:31"]
    assert ranges([]) == []
