"""A vendor revising a macro value it already served, over real HTTP: the local server's revision hook."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tushare_rollout.tushare.server.app import LocalTushareServer
from tushare_rollout.tushare.server.macro import BadRevision

BEIJING = dt.timezone(dt.timedelta(hours=8))
CPI_MONTHS = {"start_m": "202401", "end_m": "202405"}


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2024, 6, 3, 12, 0, tzinfo=BEIJING))


@pytest.fixture
def server(clock: Clock) -> Iterator[LocalTushareServer]:
    with LocalTushareServer(seed=7, rate_window_seconds=1, now=clock).start() as srv:
        yield srv


def sdk_rows(server: LocalTushareServer, api: str, **params: Any) -> dict[str, dict[str, Any]]:
    """Rows by period, through the official SDK (the referee of the protocol)."""
    with warnings.catch_warnings():  # the SDK's own imports warn about pandas internals; not ours to fix
        warnings.simplefilter("ignore")
        import tushare as ts

        pro = ts.pro_api("demo:all")
    pro._DataApi__http_url = f"{server.url}/dataapi"
    frame = pro.query(api, **params)
    key = "quarter" if api == "cn_gdp" else "month"
    return {r[key]: r for r in frame.to_dict("records")}


def changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[tuple[str, str], Any]:
    assert old.keys() == new.keys()
    return {(p, f): new[p][f] for p in old for f in old[p] if old[p][f] != new[p][f]}


def test_revise_changes_exactly_that_period_for_the_next_answers(server: LocalTushareServer) -> None:
    before = sdk_rows(server, "cn_cpi", **CPI_MONTHS)
    assert before["202403"]["nt_yoy"] != 2.7
    row = server.revise(api="cn_cpi", period="202403", **{"nt_yoy": 2.7})
    after = sdk_rows(server, "cn_cpi", **CPI_MONTHS)
    assert changes(before, after) == {("202403", "nt_yoy"): 2.7, ("202403", "nt_val"): 102.7}
    assert row["nt_yoy"] == 2.7 and row["month"] == "202403"


def test_admin_revise_over_http_and_point_in_time(server: LocalTushareServer, clock: Clock) -> None:
    before = sdk_rows(server, "cn_gdp", start_q="2023Q1", end_q="2023Q4")
    reply = httpx.post(f"{server.url}/_admin/revise",
                       json={"api": "cn_gdp", "period": "2023Q4", "values": {"gdp_yoy": 5.4}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["row"]["quarter"] == "2023Q4" and body["row"]["gdp_yoy"] == 5.4
    assert body["effective_at"] == clock.now.isoformat()
    after = sdk_rows(server, "cn_gdp", start_q="2023Q1", end_q="2023Q4")
    assert changes(before, after) == {("2023Q4", "gdp_yoy"): 5.4}
    clock.now -= dt.timedelta(seconds=1)  # a client asking as of before the revision sees the old value
    assert sdk_rows(server, "cn_gdp", start_q="2023Q1", end_q="2023Q4") == before


@pytest.mark.parametrize(("body", "says"), [
    ({"api": "cn_cpi", "period": "202403", "values": {"nt_val": 102.7}}, "nt_val follows nt_yoy"),
    ({"api": "shibor", "period": "20240102", "values": {"on": 1.5}}, "shibor cannot be revised"),
    ({"api": "cn_cpi", "period": "202403", "values": [2.7]}, '"values" must be an object'),
    ({"api": "cn_cpi", "values": {"nt_yoy": 2.7}}, "period"),
], ids=["derived-field", "daily-rate", "values-not-object", "no-period"])
def test_admin_revise_refuses_what_it_cannot_do(server: LocalTushareServer, body: dict, says: str) -> None:
    before = sdk_rows(server, "cn_cpi", **CPI_MONTHS)
    reply = httpx.post(f"{server.url}/_admin/revise", json=body)
    assert reply.status_code == 400 and says in reply.text
    assert sdk_rows(server, "cn_cpi", **CPI_MONTHS) == before


def test_in_process_revise_refuses_with_bad_revision(server: LocalTushareServer) -> None:
    with pytest.raises(BadRevision, match="no revisable field 'close'"):
        server.revise(api="cn_cpi", period="202403", close=1.0)
