"""A strict Tushare Pro client: the wire protocol over httpx, per-API rate limits, retries, paging.

Unlike the official SDK it never turns an HTTP error into "no data" and never loses the numeric
error code. One call (:meth:`TushareClient.query`) posts
``{"api_name", "token", "params", "fields"}`` to the configured URL and reads
``{code, msg, data: {fields, items, has_more}}``; columns are mapped by the returned field names
and every value is converted to the catalog's wire type. :meth:`TushareClient.fetch` follows
``offset``/``limit`` pages until an answer is complete.

Only what can succeed on repetition is retried (see :mod:`.errors`): server errors with
exponential backoff, rate limits by waiting for the next window (learning the limit from the
server's message). Everything is counted in :class:`Counters` for ``ingest_runs``.

The token travels only in the request body; it is never logged, and never part of an exception's
text or a repr.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .catalog import APIS
from .errors import (
    BadToken,
    MalformedReply,
    RateLimited,
    ServerError,
    TushareError,
    UnknownApiError,
    classify,
    redact,
)
from .limiter import RateLimiter

log = logging.getLogger(__name__)

__all__ = ["Counters", "Page", "TushareClient", "TushareOptions"]


class TushareOptions(BaseModel):
    """How the client talks to Tushare; ``TSR_TUSHARE__<NAME>`` in a Job (``tushare.<name>`` in Helm values)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout: float = Field(60.0, gt=0, description="seconds to wait for a reply (read, write, pool)")
    connect_timeout: float = Field(10.0, gt=0, description="seconds to wait for a connection")
    max_retries: int = Field(5, ge=0, description="retries of a call after a transient error (not rate limits)")
    backoff_base: float = Field(1.0, ge=0, description="first backoff in seconds; doubles per retry")
    backoff_max: float = Field(60.0, ge=0, description="longest backoff in seconds")
    max_rate_limit_waits: int = Field(20, ge=0, description="rate-limit replies tolerated for one call")
    rate_per_minute: int | None = Field(200, ge=1, description="calls per window per API (None: no client limit)")
    rate_limits: dict[str, int] = Field(default_factory=dict, description="per-API overrides of rate_per_minute")
    rate_window_seconds: float = Field(60.0, gt=0, description="the rate window (tests shorten it)")
    page_size: int | None = Field(None, ge=1, description=(
        "rows asked per follow-up page; None: the API's documented cap, or the first page's size when "
        "the cap is not documented. Never above the documented cap."
    ))


@dataclass
class Counters:
    """What calls cost: HTTP calls, rows and pages received, retries, rate-limit replies, and all
    waiting (rate limiter, backoff, rate-limit windows)."""

    calls: int = 0
    rows: int = 0
    pages: int = 0
    retries: int = 0
    rate_limit_hits: int = 0
    wait_seconds: float = 0.0

    def add(self, other: Counters) -> None:
        for f in dataclass_fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_ingest_run(self) -> dict[str, int]:
        """The ``ingest_runs`` columns these counters fill."""
        return {
            "api_calls": self.calls,
            "rows_fetched": self.rows,
            "retries": self.retries,
            "rate_limit_hits": self.rate_limit_hits,
            "wait_ms": round(self.wait_seconds * 1000),
        }


@dataclass(frozen=True)
class Page:
    """One reply: rows as dicts keyed by the returned field names, values of the catalog's types."""

    api: str
    fields: list[str]
    rows: list[dict[str, Any]]
    has_more: bool = False
    max_rows: int | None = None

    @property
    def truncated(self) -> bool:
        """Possibly not the whole answer: the server says so, or the row cap was reached."""
        return self.has_more or (self.max_rows is not None and len(self.rows) >= self.max_rows)

    def __len__(self) -> int:
        return len(self.rows)


# -- typed conversion ---------------------------------------------------------------------------

class _Bad(ValueError):
    pass


def _to_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _Bad
    try:
        out = float(v)
    except ValueError:
        raise _Bad from None
    if not math.isfinite(out):
        raise _Bad
    return out


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        raise _Bad
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            raise _Bad from None
    raise _Bad


def _to_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise _Bad


def _keep_as_str(v: Any) -> str:
    if isinstance(v, list | dict):
        raise _Bad
    return v if isinstance(v, str) else str(v)


_CONVERT: dict[str, Callable[[Any], Any]] = {"float": _to_float, "int": _to_int, "str": _to_str}


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None}


def _fields(fields: str | Iterable[str] | None) -> str:
    if fields is None:
        return ""
    return fields if isinstance(fields, str) else ",".join(fields)


class TushareClient:
    """Talks to one Tushare endpoint with one token. Use as a context manager (or call :meth:`close`).

    ``transport``, ``sleep`` and ``clock`` are injectable; ``counters`` accumulates over the client's life.
    """

    def __init__(self, url: str, token: SecretStr | str, options: TushareOptions | None = None, *,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"the Tushare URL must be http(s)://host[:port][/path], got {url!r}; check TUSHARE_API_URL")
        self.url = url
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        if not self._token.get_secret_value():
            raise BadToken("no Tushare token is configured; set TUSHARE_TOKEN")
        self.options = options or TushareOptions()
        self.limiter = RateLimiter.from_options(self.options, now=clock, sleep=sleep)
        self.counters = Counters()
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.options.timeout, connect=self.options.connect_timeout),
            transport=transport,
            headers={"User-Agent": "tushare-rollout"},
        )

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> TushareClient:
        """From a Job's settings (``tushare_api_url``, ``tushare_token``, ``tushare``)."""
        if settings.tushare_token is None:
            raise BadToken("no Tushare token is configured; set TUSHARE_TOKEN")
        return cls(settings.tushare_api_url, settings.tushare_token, settings.tushare, **kwargs)

    def __repr__(self) -> str:
        return f"TushareClient(url={self.url!r})"

    def __enter__(self) -> TushareClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- bookkeeping ------------------------------------------------------------------------------

    def _count(self, local: Counters, **inc: float) -> None:
        delta = Counters(**inc)  # type: ignore[arg-type]
        with self._lock:
            self.counters.add(delta)
            local.add(delta)

    def _backoff(self, api: str, retry: int) -> float:
        """Exponential backoff with a small random jitter."""
        o = self.options
        delay = min(o.backoff_max, o.backoff_base * 2 ** (retry - 1))
        return delay * (1 + 0.1 * random.random())  # jitter, so shards do not retry in lockstep

    # -- one HTTP call ----------------------------------------------------------------------------

    def _post(self, api: str, params: dict[str, Any], fields: str, local: Counters) -> dict[str, Any]:
        secret = self._token.get_secret_value()
        body = {"api_name": api, "token": secret, "params": params, "fields": fields}
        self._count(local, calls=1)
        try:
            resp = self._http.post(self.url, json=body)
        except httpx.TimeoutException as e:
            raise ServerError(f"API {api}: no reply in time ({type(e).__name__}: {redact(str(e), secret)}); "
                              "the server is slow or down", api=api) from None
        except httpx.ConnectError as e:
            raise ServerError(f"API {api}: cannot connect to {self.url} ({redact(str(e), secret)}); the server is "
                              "down or TUSHARE_API_URL is wrong", api=api) from None
        except httpx.RequestError as e:
            raise ServerError(f"API {api}: the connection broke ({type(e).__name__}: {redact(str(e), secret)}); "
                              "the server or the network is unstable", api=api) from None
        if resp.status_code >= 400:
            body = redact(resp.text, secret)[:200]  # mask first: a cut could split the token and hide it from redact
            if resp.status_code < 500 and resp.status_code not in (408, 429):
                raise UnknownApiError(f"API {api}: the server answered HTTP {resp.status_code} ({body!r}); "
                                      "check TUSHARE_API_URL", api=api)
            raise ServerError(f"API {api}: the server answered HTTP {resp.status_code} ({body!r})",
                              api=api, status=resp.status_code)
        try:
            reply = resp.json()
        except ValueError:
            raise ServerError(f"API {api}: the reply is not JSON or is cut off (HTTP {resp.status_code}, "
                              f"{len(resp.content)} bytes, starting {redact(resp.text, secret)[:80]!r})",
                              api=api, status=resp.status_code) from None
        if not isinstance(reply, dict):
            raise MalformedReply(f"API {api}: the reply is JSON but not an object ({type(reply).__name__})", api=api)
        return reply

    def _parse(self, api: str, reply: dict[str, Any]) -> Page:
        code = reply.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            raise MalformedReply(f"API {api}: the reply has no integer 'code' (got {code!r})", api=api)
        msg = reply.get("msg")
        err = classify(code, redact(str(msg) if msg is not None else "", self._token.get_secret_value()), api)
        if err is not None:
            raise err
        data = reply.get("data")
        if not isinstance(data, dict):
            raise MalformedReply(f"API {api}: code 0 but no 'data' object (got {type(data).__name__})",
                                 api=api, code=code)
        names, items, has_more = data.get("fields"), data.get("items"), data.get("has_more")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise MalformedReply(f"API {api}: 'data.fields' is not a list of names (got {names!r:.200})",
                                 api=api, code=code)
        if len(set(names)) != len(names):
            raise MalformedReply(f"API {api}: 'data.fields' names a column twice ({names!r:.200})", api=api, code=code)
        if not isinstance(items, list):
            raise MalformedReply(f"API {api}: 'data.items' is not a list (got {type(items).__name__})",
                                 api=api, code=code)
        if has_more is None:
            has_more = False
        if not isinstance(has_more, bool):
            raise MalformedReply(f"API {api}: 'data.has_more' is not a boolean (got {has_more!r:.50})",
                                 api=api, code=code)
        catalog = APIS.get(api)
        types = dict(catalog.fields) if catalog else {}
        converters = [_CONVERT[types[n]] if n in types else _keep_as_str for n in names]
        rows: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            if not isinstance(item, list) or len(item) != len(names):
                got = f"{len(item)} values" if isinstance(item, list) else type(item).__name__
                raise MalformedReply(f"API {api}: item {i} has {got} for {len(names)} fields", api=api, code=code)
            row: dict[str, Any] = {}
            for name, convert, value in zip(names, converters, item, strict=True):
                try:
                    row[name] = None if value is None else convert(value)
                except _Bad:
                    raise MalformedReply(
                        f"API {api}: item {i} field {name}={value!r:.50} is not a {types.get(name, 'str')}",
                        api=api, code=code) from None
            rows.append(row)
        return Page(api, names, rows, has_more, catalog.max_rows if catalog else None)

    # -- public -----------------------------------------------------------------------------------

    def query(self, api: str, params: Mapping[str, Any] | None = None,
              fields: str | Iterable[str] | None = None) -> Page:
        """One call (one page), retried as far as retrying can help. Parameters that are ``None`` are not sent."""
        return self._query(api, _params(params), _fields(fields), Counters())

    def _query(self, api: str, params: dict[str, Any], fields: str, local: Counters) -> Page:
        o = self.options
        retries = rate_limit_hits = 0
        while True:
            waited = self.limiter.acquire(api)
            if waited:
                self._count(local, wait_seconds=waited)
                log.debug("rate limiter held api=%s for %.2fs", api, waited)
            try:
                page = self._parse(api, self._post(api, params, fields, local))
            except RateLimited as e:
                rate_limit_hits += 1
                self._count(local, rate_limit_hits=1)
                if e.per == "hour" or rate_limit_hits > o.max_rate_limit_waits:
                    # an hourly limit is not waited out inside one call: the Job fails retryable and is rescheduled
                    e.retries = retries + rate_limit_hits - 1
                    raise
                if e.limit:
                    self.limiter.lower(api, e.limit, e.per)
                window = self.limiter.window(e.per)
                log.warning("rate limited api=%s limit=%s/%s; waiting %.1fs for the next window (%d/%d)",
                            api, e.limit, e.per, window, rate_limit_hits, o.max_rate_limit_waits)
                self._count(local, wait_seconds=self.limiter.wait_for_next_window(api, e.per))
                continue
            except TushareError as e:
                if not e.retryable or retries >= o.max_retries:
                    e.retries = retries
                    raise
                retries += 1
                delay = self._backoff(api, retries)
                log.warning("api=%s failed: %s; retry %d/%d in %.1fs", api, e, retries, o.max_retries, delay)
                self._count(local, retries=1, wait_seconds=delay)
                self._sleep(delay)
                continue
            self._count(local, pages=1, rows=len(page.rows))
            log.debug("api=%s page rows=%d has_more=%s", api, len(page.rows), page.has_more)
            return page

    def fetch(self, api: str, params: Mapping[str, Any] | None = None,
              fields: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The complete answer: while a page is possibly truncated (``has_more``, or as many rows as the
        cap or the ``limit`` asked for), ask for the next one with ``offset``/``limit``.

        ``params`` may carry a starting ``offset`` and a page ``limit`` of its own. A server that
        ignores ``offset`` (the same page twice) or claims more rows but sends none raises
        :class:`MalformedReply` instead of looping.
        """
        started = self._clock()
        local = Counters()
        query = _params(params)
        names = _fields(fields)
        cap = APIS[api].max_rows if api in APIS else None
        first = self._query(api, query, names, local)
        rows = list(first.rows)
        page = first
        asked = int(query["limit"]) if query.get("limit") else None
        start = int(query.get("offset", 0))
        while page.truncated or (asked is not None and len(page.rows) >= asked):
            if not page.rows:
                raise MalformedReply(f"API {api}: the server says there are more rows but sent none "
                                     f"(offset {start + len(rows)})", api=api)
            if asked is None:
                size = self.options.page_size
                asked = (min(cap, size) if size else cap) if cap is not None else (size or len(first.rows))
            previous = page
            page = self._query(api, {**query, "offset": start + len(rows), "limit": asked}, names, local)
            if page.rows and page.rows == previous.rows:
                raise MalformedReply(f"API {api}: the page at offset {start + len(rows)} repeats the previous one; "
                                     "the server ignores 'offset', so the answer cannot be completed", api=api)
            rows.extend(page.rows)
        log.info("fetched api=%s rows=%d pages=%d calls=%d retries=%d rate_limit_hits=%d waited=%.1fs in %.1fs",
                 api, len(rows), local.pages, local.calls, local.retries, local.rate_limit_hits,
                 local.wait_seconds, self._clock() - started)
        return rows
