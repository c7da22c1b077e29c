"""classify(): every row of the error table, in the reference's order of checks."""

from __future__ import annotations

import pickle

import pytest

from tushare_rollout.db.control import ERROR_CLASSES as DB_ERROR_CLASSES
from tushare_rollout.tushare.errors import (
    ERROR_CLASSES,
    BadApiName,
    BadParameters,
    BadToken,
    DailyQuota,
    MalformedReply,
    PermissionDenied,
    RateLimited,
    ServerError,
    TerminalError,
    TransientError,
    TushareError,
    UnknownApiError,
    classify,
    redact,
)

DOC = "权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
TOKEN = "0123456789abcdef0123456789abcdef01234567"

# (code, msg, api) -> (class, retryable, error_class, limit, per)
CASES = [
    pytest.param(40101, "您的token不对，请确认。", "daily",
                 BadToken, False, "bad_token", None, None, id="40101-bad-token"),
    pytest.param(-1, "您的token不对，请确认。", "daily",
                 BadToken, False, "bad_token", None, None, id="bad-token-by-message-any-code"),
    pytest.param(40101, "", None,
                 BadToken, False, "bad_token", None, None, id="40101-without-message"),
    pytest.param(40203, "抱歉，您每分钟最多访问该接口200次，" + DOC, "daily",
                 RateLimited, True, "rate_limited", 200, "minute", id="40203-per-minute"),
    pytest.param(40203, "抱歉，您每分钟最多访问该接口50次，" + DOC, "trade_cal",
                 RateLimited, True, "rate_limited", 50, "minute", id="40203-per-minute-120-points"),
    pytest.param(40203, "抱歉，您每小时最多访问该接口1次，" + DOC, "stk_mins",
                 RateLimited, True, "rate_limited", 1, "hour", id="40203-per-hour"),
    pytest.param(40203, "抱歉，您访问接口(daily)频率超限(200次/分钟)，具体频次详情：https://tushare.pro", "daily",
                 RateLimited, True, "rate_limited", 200, "minute", id="newer-wording-per-minute"),
    pytest.param(40203, "抱歉，您访问接口(daily)频率超限(1次/小时)，具体频次详情：https://tushare.pro", "daily",
                 RateLimited, True, "rate_limited", 1, "hour", id="newer-wording-per-hour"),
    pytest.param(40203, "抱歉，您访问接口频率超限", "daily",
                 RateLimited, True, "rate_limited", None, "minute", id="newer-wording-without-number"),
    pytest.param(40203, "抱歉，您每天最多访问该接口100000次，" + DOC, "daily",
                 DailyQuota, False, "daily_quota", 100000, None, id="40203-daily-quota"),
    pytest.param(40203, "抱歉，您没有接口(fund_daily)访问权限，" + DOC, "fund_daily",
                 PermissionDenied, False, "permission_denied", None, None, id="40203-no-permission-named"),
    pytest.param(40203, "抱歉，您没有访问该接口的权限", "stk_mins",
                 PermissionDenied, False, "permission_denied", None, None, id="40203-no-permission-this-api"),
    pytest.param(40203, "抱歉，您没有接口访问权限", "rt_min",
                 PermissionDenied, False, "permission_denied", None, None, id="40203-no-permission-short"),
    pytest.param(40203, "积分不足", "fund_daily",
                 PermissionDenied, False, "permission_denied", None, None, id="points-insufficient"),
    pytest.param(-2001, "permission denied", "daily",
                 PermissionDenied, False, "permission_denied", None, None, id="fixture-permission-denied-english"),
    pytest.param(40102, "请指定正确的接口名", "no_such_api",
                 BadApiName, False, "bad_api_name", None, None, id="bad-api-name"),
    pytest.param(-1, "抱歉，请指定正确的接口名", "sw_daily",
                 BadApiName, False, "bad_api_name", None, None, id="bad-api-name-polite"),
    pytest.param(-2001, "参数校验失败, ts_code,trade_date至少输入一个参数", "cyq_perf",
                 BadParameters, False, "bad_parameters", None, None, id="bad-params-validation"),
    pytest.param(-2001, "参数错误", "daily",
                 BadParameters, False, "bad_parameters", None, None, id="fixture-bad-params"),
    pytest.param(-1, "ts_code至少输入一个", "daily",
                 BadParameters, False, "bad_parameters", None, None, id="bad-params-at-least-one"),
    pytest.param(-1, "系统内部错误", "daily",
                 UnknownApiError, False, "server_error", None, None, id="unknown-code-and-message"),
    pytest.param(50000, "", None,
                 UnknownApiError, False, "server_error", None, None, id="unknown-code-empty-message"),
]


@pytest.mark.parametrize(("code", "msg", "api", "cls", "retryable", "error_class", "limit", "per"), CASES)
def test_classify(code: int, msg: str, api: str | None, cls: type[TushareError], retryable: bool,
                  error_class: str, limit: int | None, per: str | None) -> None:
    err = classify(code, msg, api)
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.error_class == error_class
    assert (err.api, err.code, err.server_msg) == (api, code, msg)
    if cls in (RateLimited, DailyQuota):
        assert err.limit == limit
    if cls is RateLimited:
        assert err.per == per
    text = str(err)
    assert str(code) in text and (msg == "" or msg in text)  # the server's message is quoted
    assert isinstance(err, TransientError if retryable else TerminalError)


def test_code_zero_is_success() -> None:
    assert classify(0, "", "daily") is None
    assert classify(0, None, "daily") is None


def test_40203_is_decided_by_the_message() -> None:
    limited = classify(40203, "抱歉，您每分钟最多访问该接口200次，" + DOC, "daily")
    denied = classify(40203, "抱歉，您没有接口(daily)访问权限，" + DOC, "daily")
    assert (type(limited), type(denied)) == (RateLimited, PermissionDenied)
    assert limited.retryable and not denied.retryable


def test_messages_say_what_to_do() -> None:
    assert "check TUSHARE_TOKEN" in str(classify(40101, "您的token不对，请确认。", "daily"))
    text = str(classify(40203, "抱歉，您没有接口(fund_daily)访问权限，" + DOC, "fund_daily"))
    assert "lacks permission for API fund_daily" in text and "turn the module off" in text
    assert "TUSHARE_API_URL" in str(classify(40102, "请指定正确的接口名", "nope"))
    assert "tomorrow" in str(classify(40203, "抱歉，您每天最多访问该接口8000次，" + DOC, "daily"))


@pytest.mark.parametrize(("code", "msg", "api"), [pytest.param(*c.values[:3], id=c.id) for c in CASES])
def test_messages_never_contain_the_token(code: int, msg: str, api: str | None) -> None:
    echoed = f"{msg} token={TOKEN}"  # a server that echoes the token back: the client redacts first
    err = classify(code, redact(echoed, TOKEN), api)
    assert TOKEN not in str(err) and TOKEN not in repr(err) and TOKEN not in (err.server_msg or "")


def test_redact() -> None:
    assert redact(f"a {TOKEN} b {TOKEN}", TOKEN) == "a ********** b **********"
    assert redact("nothing", None) == "nothing" and redact("nothing", "") == "nothing"


def test_error_classes_fit_the_database_column() -> None:
    assert set(ERROR_CLASSES) <= set(DB_ERROR_CLASSES)
    every = [BadToken, PermissionDenied, BadApiName, BadParameters, DailyQuota, UnknownApiError,
             MalformedReply, RateLimited, ServerError]
    assert {cls.error_class for cls in every} == set(ERROR_CLASSES)


def test_only_rate_limits_and_server_errors_are_retryable() -> None:
    assert RateLimited.retryable and ServerError.retryable
    for cls in (BadToken, PermissionDenied, BadApiName, BadParameters, DailyQuota, UnknownApiError, MalformedReply):
        assert not cls.retryable, cls


def test_gave_up_after_retries_shows_in_the_text() -> None:
    err = ServerError("API daily: the server answered HTTP 502", api="daily", status=502)
    err.retries = 5
    assert str(err) == "API daily: the server answered HTTP 502 (gave up after 5 retries)"


def test_errors_survive_pickling() -> None:
    err = classify(40203, "抱歉，您每小时最多访问该接口1次，" + DOC, "stk_mins")
    err.retries = 2
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RateLimited
    assert (back.api, back.code, back.limit, back.per, back.retries, str(back)) == (
        "stk_mins", 40203, 1, "hour", 2, str(err))
