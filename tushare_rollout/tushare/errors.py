"""Every way a Tushare call can fail, in two families: terminal and transient.

Each error carries ``retryable`` (may the same call succeed if repeated?) and ``error_class``
(the value stored in ``ingest_runs.error_class``). A Job maps them to its exit codes; a handler
maps them to ``kopf.PermanentError`` / ``kopf.TemporaryError``.

The server answers every refusal with a numeric code *and* a Chinese message, and the code alone
does not say what happened (40203 means both "too many calls" and "no permission"), so
:func:`classify` decides by the message first, in a fixed order:

>>> classify(0, "", "daily") is None
True
>>> err = classify(40203, "抱歉，您每分钟最多访问该接口200次，权限的具体详情访问：…", "daily")
>>> type(err).__name__, err.retryable, err.error_class, err.limit, err.per
('RateLimited', True, 'rate_limited', 200, 'minute')
>>> err = classify(40203, "抱歉，您没有接口(fund_daily)访问权限，权限的具体详情访问：…", "fund_daily")
>>> type(err).__name__, err.retryable, err.error_class
('PermissionDenied', False, 'permission_denied')

Two decisions the reference leaves open:

* :class:`UnknownApiError` (a non-zero code whose message matches no known pattern) is terminal
  and stored as ``server_error``: the refusal came from the server and nothing in our request is
  known to be wrong, but repeating an unexplained refusal only hides it; someone has to look.
* :class:`MalformedReply` (valid JSON that breaks the protocol) is terminal as well, also stored
  as ``server_error``. Replies are deterministic for a given request, so repeating it within
  seconds gives the same broken answer; a Job-level retry later may still pass. Bodies that are
  not JSON at all, or cut off, are :class:`ServerError` (transient) instead.

No message here ever contains the token: the server's message is quoted after :func:`redact`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

ERROR_CLASSES = (
    "bad_token", "permission_denied", "rate_limited", "daily_quota", "bad_api_name", "bad_parameters", "server_error",
)

Per = Literal["minute", "hour"]


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked.

    >>> redact("token abc123 不对", "abc123")
    'token ********** 不对'
    """
    if not secret:
        return text
    return text.replace(secret, "**********")


def _rebuild(cls: type[TushareError], message: str, state: dict[str, Any]) -> TushareError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class TushareError(Exception):
    """Base of every Tushare error: ``api`` and ``code`` as far as known, the server's ``server_msg``."""

    retryable: ClassVar[bool] = False
    error_class: ClassVar[str] = "server_error"

    def __init__(self, message: str, *, api: str | None = None, code: int | None = None,
                 server_msg: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.api = api
        self.code = code
        self.server_msg = server_msg
        self.retries = 0  # set by the client when it gives up after retrying

    def __str__(self) -> str:
        if self.retries:
            return f"{self.message} (gave up after {self.retries} retries)"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:  # keyword-only arguments would not survive pickling otherwise
        return _rebuild, (type(self), self.message, dict(self.__dict__))


class TerminalError(TushareError):
    """Repeating the call cannot help until someone changes the configuration, the account or the code."""

    retryable = False


class TransientError(TushareError):
    """The same call may succeed if repeated later."""

    retryable = True


def _said(api: str | None, code: int, msg: str) -> str:
    who = f"API {api}" if api else "Tushare"
    return f"{who} refused the call with code {code} ({msg!r})"


class BadToken(TerminalError):
    error_class = "bad_token"

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None) -> BadToken:
        return cls(f"{_said(api, code, msg)}: the token is wrong, expired or deleted; check TUSHARE_TOKEN",
                   api=api, code=code, server_msg=msg)


class PermissionDenied(TerminalError):
    error_class = "permission_denied"

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None) -> PermissionDenied:
        name = api or "(unknown)"
        return cls(f"{_said(api, code, msg)}: this token lacks permission for API {name} (too few points, or a "
                   "separately sold permission is missing or expired); ask for it or turn the module off",
                   api=api, code=code, server_msg=msg)


class BadApiName(TerminalError):
    error_class = "bad_api_name"

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None) -> BadApiName:
        return cls(f"{_said(api, code, msg)}: the server does not know API {api or '(unknown)'} or does not show it "
                   "at this token's tier; check the API name and TUSHARE_API_URL, or turn the module off",
                   api=api, code=code, server_msg=msg)


class BadParameters(TerminalError):
    error_class = "bad_parameters"

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None) -> BadParameters:
        return cls(f"{_said(api, code, msg)}: the request's parameters are wrong; fix the dataset definition "
                   "or the call (this is a bug, not a data problem)",
                   api=api, code=code, server_msg=msg)


class DailyQuota(TerminalError):
    """The API's daily call quota is used up: nothing passes before the next day."""

    error_class = "daily_quota"

    def __init__(self, message: str, *, limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None, limit: int | None = None) -> DailyQuota:
        quota = f"{limit} calls" if limit else "its calls"
        return cls(f"{_said(api, code, msg)}: this token has used {quota} of API {api or '(unknown)'} for today; "
                   "resume tomorrow, or get a tier without a daily cap",
                   api=api, code=code, server_msg=msg, limit=limit)


class UnknownApiError(TerminalError):
    """A non-zero code whose message matches no known pattern. Not retried: someone has to look."""

    error_class = "server_error"

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None) -> UnknownApiError:
        return cls(f"{_said(api, code, msg)}: an error this client does not recognise; not retried, "
                   "report it with the message above",
                   api=api, code=code, server_msg=msg)


class MalformedReply(TerminalError):
    """Valid JSON that breaks the protocol: no ``data``/``fields``, items not aligned with the fields,
    a value that does not convert to the catalog's type, a server that ignores ``offset``."""

    error_class = "server_error"


class RateLimited(TransientError):
    """Too many calls to one API in a minute (or an hour); the client waits for the next window."""

    error_class = "rate_limited"

    def __init__(self, message: str, *, limit: int | None = None, per: Per = "minute", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit
        self.per = per

    @classmethod
    def from_reply(cls, code: int, msg: str, api: str | None, limit: int | None = None,
                   per: Per = "minute") -> RateLimited:
        rate = f"{limit} calls per {per}" if limit else f"its per-{per} limit"
        return cls(f"{_said(api, code, msg)}: this token may call API {api or '(unknown)'} at most {rate}; wait "
                   "for the next window, or set TSR_TUSHARE__RATE_LIMITS__<API> to the account's limit",
                   api=api, code=code, server_msg=msg, limit=limit, per=per)


class ServerError(TransientError):
    """HTTP 4xx/5xx, a body that is not JSON or is cut off, a timeout, a lost connection."""

    error_class = "server_error"

    def __init__(self, message: str, *, status: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


_MOST = re.compile(r"最多访问\D*?(\d+)\s*次")
_FREQ = re.compile(r"频率超限\D*?(\d+)\s*次\s*/\s*(分钟|小时|天)")


def _number(pattern: re.Pattern[str], msg: str) -> int | None:
    m = pattern.search(msg)
    return int(m.group(1)) if m else None


def classify(code: int, msg: str | None, api: str | None) -> TushareError | None:
    """The error a reply's ``code`` and ``msg`` mean, or ``None`` for success (code 0).

    Order of checks: bad token; rate limit (per minute, per hour, or the newer ``频率超限(N次/分钟)``
    wording); daily quota; no permission; unknown API name; bad parameters; anything else is an
    :class:`UnknownApiError`. The English ``permission denied`` seen in third-party fixtures counts as
    no permission.

    >>> err = classify(40203, "抱歉，您访问接口(daily)频率超限(1次/小时)，具体频次详情：…", "daily")
    >>> type(err).__name__, err.limit, err.per
    ('RateLimited', 1, 'hour')
    >>> type(classify(-1, "系统内部错误", None)).__name__
    'UnknownApiError'
    """
    if code == 0:
        return None
    msg = msg or ""
    if code == 40101 or "token不对" in msg:
        return BadToken.from_reply(code, msg, api)
    if "每分钟最多访问" in msg:
        return RateLimited.from_reply(code, msg, api, _number(_MOST, msg), "minute")
    if "每小时最多访问" in msg:
        return RateLimited.from_reply(code, msg, api, _number(_MOST, msg), "hour")
    if "每天最多访问" in msg:
        return DailyQuota.from_reply(code, msg, api, _number(_MOST, msg))
    if "频率超限" in msg:
        m = _FREQ.search(msg)
        unit, limit = (m.group(2), int(m.group(1))) if m else ("小时" if "小时" in msg else "分钟", None)
        if unit == "天":
            return DailyQuota.from_reply(code, msg, api, limit)
        return RateLimited.from_reply(code, msg, api, limit, "hour" if unit == "小时" else "minute")
    if ("没有" in msg and "权限" in msg) or "积分不足" in msg or "permission denied" in msg.lower():
        return PermissionDenied.from_reply(code, msg, api)
    if "请指定正确的接口名" in msg:
        return BadApiName.from_reply(code, msg, api)
    if "参数" in msg or "至少输入" in msg:
        return BadParameters.from_reply(code, msg, api)
    return UnknownApiError.from_reply(code, msg, api)
