"""The client and the local server over real HTTP, and the official SDK as the referee of the protocol."""

from __future__ import annotations

import datetime as dt
import warnings

import exchange_calendars as xcals
import pytest

from tushare_rollout.tushare import errors
from tushare_rollout.tushare.catalog import APIS
from tushare_rollout.tushare.client import TushareClient, TushareOptions
from tushare_rollout.tushare.server.app import LocalTushareServer
from tushare_rollout.tushare.server.faults import FaultPlan

FAST = TushareOptions(rate_window_seconds=1, backoff_base=0.05, backoff_max=0.2, timeout=2, connect_timeout=2)
DAY = "20240102"


@pytest.fixture(scope="module")
def server():
    with LocalTushareServer(seed=7, rate_window_seconds=1).start() as srv:
        yield srv


@pytest.fixture
def client(server):
    with TushareClient(server.url, "demo:all", FAST) as c:
        yield c


@pytest.fixture(scope="module")
def codes(server) -> dict[str, str]:
    """Real codes of the generated market, found the way a user finds them: from the basic APIs."""
    with TushareClient(server.url, "demo:all", FAST) as c:
        stock = next(r["ts_code"] for r in c.fetch("stock_basic", {"list_status": "L"})
                     if r["list_date"] < "20150101" and not r["ts_code"].endswith(".BJ"))
        contract = next(r["ts_code"] for r in c.fetch("fut_basic", {"exchange": "SHFE"})
                        if r["list_date"] <= DAY <= (r["delist_date"] or "99991231"))
    return {"stock": stock, "contract": contract}


def requests_for(codes: dict[str, str]) -> dict[str, dict]:
    """One representative request per API: all 40, nothing skipped."""
    month = {"start_date": "20240101", "end_date": "20240131"}
    session = {"start_date": "2024-01-02 09:00:00", "end_date": "2024-01-02 15:00:00"}
    return {
        "trade_cal": {"exchange": "SSE", **month},
        "stock_basic": {},
        "fund_basic": {"market": "E"},
        "index_basic": {},
        "fut_basic": {"exchange": "SHFE"},
        "daily": {"trade_date": DAY},
        "adj_factor": {"trade_date": DAY},
        "daily_basic": {"trade_date": DAY},
        "suspend_d": month,
        "fund_daily": {"trade_date": DAY},
        "fund_adj": {"trade_date": DAY},
        "index_daily": {"ts_code": "000300.SH", **month},
        "index_weight": {"index_code": "000300.SH", "start_date": "20240101", "end_date": "20240229"},
        "fut_daily": {"trade_date": DAY},
        "sge_daily": {"trade_date": DAY},
        "sge_basic": {},
        "fx_obasic": {},
        "fx_daily": {"ts_code": "USDCNH.FXCM", **month},
        "cn_gdp": {"start_q": "2023Q1", "end_q": "2023Q4"},
        "cn_cpi": {"start_m": "202301", "end_m": "202312"},
        "cn_ppi": {"start_m": "202301", "end_m": "202312"},
        "cn_m": {"start_m": "202301", "end_m": "202312"},
        "cn_pmi": {"start_m": "202301", "end_m": "202312"},
        "shibor": month,
        "us_tycr": month,
        "us_trycr": month,
        "us_tbr": month,
        "us_tltr": month,
        "rt_idx_k": {"ts_code": "000300.SH"},
        "rt_idx_min": {"ts_code": "000300.SH", "freq": "1MIN"},
        "idx_mins": {"ts_code": "000300.SH", "freq": "1min", **session},
        "rt_etf_k": {"ts_code": "5*.SH", "topic": "HQ_FND_TICK"},
        "rt_min": {"ts_code": codes["stock"], "freq": "1MIN"},
        "stk_mins": {"ts_code": codes["stock"], "freq": "1min", **session},
        "ft_mins": {"ts_code": codes["contract"], "freq": "1min", **session},
        "fut_wsr": {"trade_date": DAY},
        "fut_holding": {"trade_date": DAY},
        "stk_premarket": {"trade_date": DAY},
        "eco_cal": month,
        "cn_schedule": {"m": "202401"},
    }


def test_every_api_has_a_request() -> None:
    assert set(requests_for({"stock": "x", "contract": "y"})) == set(APIS)


@pytest.mark.parametrize("api", sorted(APIS))
def test_official_sdk_gets_the_default_fields_of_every_api(server, codes, api: str) -> None:
    with warnings.catch_warnings():  # the SDK's own imports warn about pandas internals; not ours to fix
        warnings.simplefilter("ignore")
        import tushare as ts

        pro = ts.pro_api("demo:all")
    pro._DataApi__http_url = f"{server.url}/dataapi"  # the SDK's endpoint, pointed at the local server
    frame = pro.query(api, **requests_for(codes)[api])
    assert list(frame.columns) == list(APIS[api].default_fields)
    assert len(frame) > 0


def test_daily_is_one_row_per_listed_unsuspended_stock(server, client) -> None:
    day = dt.date(2024, 3, 15)
    listed = [r for status in "LDP" for r in client.fetch("stock_basic", {"list_status": status},
                                                           fields="ts_code,list_date,delist_date")]
    market = next(p for p in server.providers() if "daily" in p.APIS)
    expected = {
        r["ts_code"] for r in listed
        if r["list_date"] <= day.strftime("%Y%m%d") and (r["delist_date"] is None or day.strftime("%Y%m%d") < r["delist_date"])
        and not market.is_suspended(r["ts_code"], day)
    }
    rows = client.fetch("daily", {"trade_date": day.strftime("%Y%m%d")})
    assert [r["ts_code"] for r in rows if r["ts_code"] not in expected] == []
    assert len(rows) == len(expected) > 100
    assert any(market.is_suspended(r["ts_code"], day) for r in listed)  # the rule removed someone


def test_no_bars_in_the_2024_spring_festival_week(client) -> None:
    assert client.fetch("daily", {"start_date": "20240209", "end_date": "20240217"}) == []
    assert len(client.fetch("daily", {"trade_date": "20240208"})) > 100


def test_trade_cal_agrees_with_the_exchange_calendar_2015_2025(client) -> None:
    rows = client.fetch("trade_cal", {"exchange": "SSE", "start_date": "20150101", "end_date": "20251231"})
    opened = {r["cal_date"] for r in rows if r["is_open"] == "1"}
    with warnings.catch_warnings():  # exchange_calendars reads a pandas attribute pandas now deprecates
        warnings.simplefilter("ignore")
        calendar = xcals.get_calendar("XSHG", start="2015-01-01", end="2025-12-31")
    assert opened == set(calendar.sessions.strftime("%Y%m%d"))
    assert len(rows) == (dt.date(2025, 12, 31) - dt.date(2015, 1, 1)).days + 1


def test_an_answer_beyond_the_row_cap_is_reassembled(client) -> None:
    window = {"start_date": "20240102", "end_date": "20240329"}
    calls_before = client.counters.calls
    rows = client.fetch("daily", window)
    assert len(rows) > APIS["daily"].max_rows
    assert client.counters.calls - calls_before >= 2
    days = [r["cal_date"] for r in client.fetch("trade_cal", {"exchange": "SSE", **window}) if r["is_open"] == "1"]
    per_day = [(r["ts_code"], r["trade_date"]) for d in days for r in client.fetch("daily", {"trade_date": d})]
    assert sorted((r["ts_code"], r["trade_date"]) for r in rows) == sorted(per_day)


def test_generated_bars_obey_the_market_identities(client, codes) -> None:
    window = {"ts_code": codes["stock"], "start_date": "20180101", "end_date": "20231231"}
    bars = sorted(client.fetch("daily", window), key=lambda r: r["trade_date"])
    factors = {r["trade_date"]: r["adj_factor"] for r in client.fetch("adj_factor", window)}
    assert len(bars) > 1000
    for bar in bars:
        assert bar["low"] <= min(bar["open"], bar["close"]) <= max(bar["open"], bar["close"]) <= bar["high"]
        assert bar["pct_chg"] == pytest.approx((bar["close"] - bar["pre_close"]) / bar["pre_close"] * 100, abs=1e-3)
    for before, after in zip(bars, bars[1:]):
        ex_right = before["close"] * factors[before["trade_date"]] / factors[after["trade_date"]]
        assert after["pre_close"] == pytest.approx(ex_right, abs=0.011)
    assert len(set(factors.values())) > 1  # dividends happened


# -- errors, each produced by the server and classified by the client ----------------------------------


@pytest.mark.parametrize(
    ("token", "api", "params", "error"),
    [
        ("demo:bogus", "trade_cal", {}, errors.BadToken),
        ("demo:2000", "fund_daily", {"trade_date": DAY}, errors.PermissionDenied),
        ("demo:5000", "stk_mins", {"ts_code": "600000.SH", "freq": "1min"}, errors.PermissionDenied),
        ("demo:all", "no_such_api", {}, errors.BadApiName),
        ("demo:all", "fut_basic", {}, errors.BadParameters),
        ("demo:all", "daily", {"trade_date": "2024-13-45"}, errors.BadParameters),
    ],
    ids=["bad-token", "no-points", "no-separate-permission", "bad-api-name", "missing-param", "malformed-param"],
)
def test_terminal_errors_are_classified_and_not_retried(server, token, api, params, error) -> None:
    with TushareClient(server.url, token, FAST) as c:
        with pytest.raises(error) as raised:
            c.fetch(api, params)
        assert c.counters.calls == 1 and c.counters.retries == 0
    assert not raised.value.retryable
    assert token not in str(raised.value)


def test_daily_quota_is_terminal() -> None:
    with LocalTushareServer(seed=7, daily_cap=3).start() as srv, TushareClient(srv.url, "demo:2000", FAST) as c:
        for _ in range(3):
            c.query("trade_cal", {"start_date": "20240101", "end_date": "20240105"})
        with pytest.raises(errors.DailyQuota):
            c.query("trade_cal", {"start_date": "20240101", "end_date": "20240105"})
        assert c.counters.calls == 4


def _seed_where_first_request_is(kind: str) -> int:
    """A seed whose first request draws ``kind`` and whose second draws nothing (found, not assumed)."""
    for seed in range(10_000):
        plan = FaultPlan.parse(f"{kind}=0.5", seed=seed)
        if plan.pick(0) == kind and plan.pick(1) is None:
            return seed
    raise AssertionError(f"no seed makes the first request a {kind}")


@pytest.mark.parametrize("kind", ["5xx", "timeout", "nonjson", "truncate", "reset"])
def test_server_errors_are_retried_then_succeed(kind: str) -> None:
    seed = _seed_where_first_request_is(kind)
    plan = FaultPlan.parse(f"{kind}=0.5", seed=seed, timeout_seconds=5)
    with LocalTushareServer(seed=7, faults=plan).start() as srv, TushareClient(srv.url, "demo:all", FAST) as c:
        page = c.query("trade_cal", {"exchange": "SSE", "start_date": "20240101", "end_date": "20240110"})
        assert len(page) == 10
        assert (c.counters.calls, c.counters.retries) == (2, 1)


def test_a_rate_limit_storm_is_survived_and_counted() -> None:
    plan = FaultPlan.parse("ratelimit=0.3", seed=11)
    storms = sum(plan.pick(n) == "ratelimit" for n in range(200))
    assert storms > 20
    with LocalTushareServer(seed=7, faults=plan, rate_window_seconds=1).start() as srv, \
            TushareClient(srv.url, "demo:all", FAST) as c:
        done = [c.query("trade_cal", {"start_date": "20240102", "end_date": "20240102"}) for _ in range(60)]
        calls, hits = c.counters.calls, c.counters.rate_limit_hits
    assert all(len(p) == 1 for p in done)
    assert hits == sum(plan.pick(n) == "ratelimit" for n in range(calls)) > 0
    assert calls == 60 + hits


def test_the_per_minute_limit_is_learned_from_the_server() -> None:
    window = FAST.model_copy(update={"rate_window_seconds": 3})
    with LocalTushareServer(seed=7, rate_window_seconds=3).start() as srv, \
            TushareClient(srv.url, "demo:120", window) as c:  # the server allows 50 calls per window, the client 200
        pages = [c.query("shibor", {"date": "20240102"}) for _ in range(120)]
        assert all(len(p) == 1 for p in pages)
        assert c.counters.rate_limit_hits >= 1
        assert c.limiter.limit("shibor") == 50
        assert c.counters.wait_seconds > 0
        assert c.counters.calls == 120 + c.counters.rate_limit_hits


def test_the_token_never_shows_in_logs_or_errors(caplog) -> None:
    import logging

    secret = "3f9c2d7a41b85e06c9f1d2b3a4e5f60718293a4b"
    plan = FaultPlan.parse("5xx=0.3,ratelimit=0.2", seed=3)
    caplog.set_level(logging.DEBUG)
    with LocalTushareServer(seed=7, faults=plan, tokens={secret: "demo:2000"}).start() as srv, \
            TushareClient(srv.url, secret, FAST) as c:
        rows = c.fetch("trade_cal", {"start_date": "20240101", "end_date": "20240131"})
        with pytest.raises(errors.PermissionDenied) as denied:
            c.fetch("fund_daily", {"trade_date": DAY})
        text = caplog.text + str(denied.value) + repr(denied.value) + repr(c)
    assert len(rows) == 31
    assert c.counters.retries + c.counters.rate_limit_hits > 0  # the faults did happen and were logged
    assert "rate limited" in caplog.text or "retry" in caplog.text
    assert secret not in text


def test_the_server_command_prints_its_url_and_serves_until_sigterm() -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tushare_rollout", "tushare-server", "--seed", "7"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("export TUSHARE_API_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        with TushareClient(url, "demo:all", FAST) as c:
            assert len(c.fetch("cn_schedule", {"m": "202401"})) > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--faults", "explode=0.5"], "unknown fault"), (["--faults", "5xx=2"], "between 0 and 1"),
     (["--token", "secret"], "ALIAS=demo:")],
    ids=["unknown-fault", "bad-probability", "bad-token-alias"],
)
def test_the_server_command_refuses_bad_arguments(args: list[str], says: str) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "tushare_rollout", "tushare-server", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 4
    assert says in result.stderr
