"""The local Tushare-compatible HTTP server.

It speaks Tushare Pro's protocol — POST ``{api_name, token, params, fields}`` to ``/`` (the HTTP
guide's form) or to ``/dataapi/<api_name>`` (what the official SDK posts to), answered with
``{code, msg, data: {fields, items, has_more}}`` — for every API in the catalog, with generated
data, demo-token permission tiers, per-minute and daily limits per API and token, and injected
faults. Run it with ``tushare-rollout tushare-server``; tests start it in-process.

A running server is changed for drills and tests through ``POST /_admin/...``: ``faults``
(``{"spec": "5xx=0.5"}``), ``revoke`` (``{"token": ...}``) and ``revise`` (``{"api": "cn_cpi",
"period": "202403", "values": {"nt_yoy": 2.7}}``: a vendor revising a published macro value, see
:mod:`.macro`; the reply is the revised row as JSON).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import socket
import struct
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..catalog import APIS
from . import access
from .access import Access, CallCounter, UnknownToken
from .faults import FaultPlan
from .params import BadParams

log = logging.getLogger(__name__)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _reply(code: int, msg: str, data: dict | None = None) -> dict:
    return {"request_id": str(uuid.uuid4()), "code": code, "msg": msg, "data": data}


class LocalTushareServer:
    """In-process server: ``with LocalTushareServer(seed=7).start() as server: ... server.url``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 20240101,
        faults: FaultPlan | None = None,
        rate_window_seconds: float = 60.0,
        now: Callable[[], dt.datetime] | None = None,
        tokens: Mapping[str, str] | None = None,
        daily_cap: int | None = None,
    ) -> None:
        self.seed = seed
        self.faults = faults or FaultPlan()
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self.tokens = dict(tokens or {})  # alias -> demo token, so a real-looking secret can stand for a tier
        self.revoked: set[str] = set()
        self.daily_cap = daily_cap  # overrides every tier's calls per day per API (drills: a quota hit now)
        self.calls = CallCounter(rate_window_seconds)
        self.requests = itertools.count()
        self.stopping = threading.Event()
        self._providers: list[Any] | None = None
        self._providers_lock = threading.Lock()
        self.httpd = _QuietServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalTushareServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="tushare-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    def __enter__(self) -> LocalTushareServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the protocol ----------------------------------------------------------------------

    def revise(self, api: str, period: str, **values: float | None) -> dict[str, Any]:
        """Revise published values of one macro period, effective from the server clock's now on.

        ``server.revise(api="cn_cpi", period="202403", nt_yoy=2.7)``: later answers for that period carry
        the new value (and what derives from it); other fields and periods are unchanged. Returns the row
        as now served. Raises ``BadRevision`` (a ``ValueError``) for what cannot be revised; the rules are
        in :mod:`tushare_rollout.tushare.server.macro`.
        """
        return self.revise_at(api, period, values, self.now())

    def revise_at(self, api: str, period: str, values: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
        """:meth:`revise` effective from ``at`` (an aware datetime) instead of now."""
        from .macro import MacroWorld

        world = next(p for p in self.providers() if isinstance(p, MacroWorld))
        return world.revise(api, period, values, at)

    def providers(self) -> list[Any]:
        with self._providers_lock:
            if self._providers is None:
                from .futures import FuturesMarket
                from .macro import MacroWorld
                from .market import ExchangeMarket

                self._providers = [ExchangeMarket(self.seed), FuturesMarket(self.seed), MacroWorld(self.seed)]
            return self._providers

    def answer(self, body: Mapping[str, Any], path_api: str | None = None) -> dict:
        """The reply to one request body (everything but the HTTP and the faults)."""
        token = str(body.get("token") or "")
        try:
            if token in self.revoked:
                raise UnknownToken()
            who = Access.parse(self.tokens.get(token, token))
        except UnknownToken:
            return _reply(access.CODE_BAD_TOKEN, access.MSG_BAD_TOKEN)
        name = str(body.get("api_name") or path_api or "")
        api = APIS.get(name)
        if api is None:
            return _reply(access.CODE_BAD_API, access.MSG_BAD_API)
        if not who.may_call(api):
            return _reply(access.CODE_LIMITED, access.MSG_NO_PERMISSION.format(api=api.name))
        now = self.now()
        per_day = self.daily_cap if self.daily_cap is not None else who.per_day(api)
        over = self.calls.admit(token, api.name, who.per_minute(api), per_day,
                                day=now.astimezone(SHANGHAI).toordinal())
        if over is not None:
            return _reply(access.CODE_LIMITED, over)

        params = body.get("params") or {}
        if not isinstance(params, dict):
            return _reply(access.CODE_BAD_PARAMS, "参数错误: params必须是对象")
        missing = [p for p in api.required_params if params.get(p) in (None, "")]
        if missing:
            return _reply(access.CODE_BAD_PARAMS, f"参数校验失败, 缺少必填参数: {','.join(missing)}")
        try:
            offset = int(params.get("offset") or 0)
            limit = int(params.get("limit") or 0)
        except (TypeError, ValueError):
            return _reply(access.CODE_BAD_PARAMS, "参数校验失败, offset/limit必须是整数")
        if offset < 0 or limit < 0:
            return _reply(access.CODE_BAD_PARAMS, "参数校验失败, offset/limit不能为负数")

        requested = [f.strip() for f in str(body.get("fields") or "").split(",") if f.strip()]
        fields = [f for f in requested if f in api.field_names] or list(api.default_fields)
        provider = next(p for p in self.providers() if api.name in p.APIS)
        try:
            rows = provider.rows(api.name, params, now)
        except BadParams as exc:
            return _reply(access.CODE_BAD_PARAMS, str(exc))

        size = min(x for x in (limit or None, api.max_rows, len(rows) - offset) if x is not None)
        page = rows[offset:offset + max(size, 0)]
        return _reply(0, "", {
            "fields": fields,
            "items": [[row[f] for f in fields] for row in page],
            "has_more": offset + len(page) < len(rows),
            "count": len(page),
        })


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (killed, timed out) is routine here, not a stack trace on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            log.debug("client %s went away: %s", client_address, error)
        else:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "tushare-rollout-local"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: without this, each reply waits ~40 ms

    @property
    def app(self) -> LocalTushareServer:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # the request line only: never bodies (tokens)
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b"ok", "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return self._send(400, b"bad Content-Length", "text/plain")
        raw = self.rfile.read(length)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/_admin/"):
            return self._admin(path, raw)
        if path not in ("", "/dataapi") and not path.startswith("/dataapi/"):
            return self._send(404, b"not found", "text/plain")
        path_api = path.removeprefix("/dataapi/") if path.startswith("/dataapi/") else None

        fault = self.app.faults.pick(next(self.app.requests))
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == "5xx":
            return self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if fault == "nonjson":
            return self._send(200, b"<html><body>upstream error</body></html>", "text/html")
        if fault in ("slow", "timeout"):
            delay = self.app.faults.slow_seconds if fault == "slow" else self.app.faults.timeout_seconds
            if self.app.stopping.wait(delay):
                return

        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError:
            reply = _reply(access.CODE_BAD_PARAMS, "参数错误: 请求体不是合法的JSON")
        else:
            reply = self.app.answer(body, path_api)
            if fault == "ratelimit" and reply["code"] == 0:
                reply = _reply(access.CODE_LIMITED, access.MSG_PER_MINUTE.format(n=10))
        payload = json.dumps(reply, ensure_ascii=False).encode()
        if fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self._send(200, payload, "application/json; charset=utf-8")

    def _admin(self, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if path == "/_admin/faults":
                old = self.app.faults
                self.app.faults = FaultPlan.parse(str(body.get("spec", "")), seed=int(body.get("seed", self.app.seed)),
                                                  slow_seconds=old.slow_seconds, timeout_seconds=old.timeout_seconds)
            elif path == "/_admin/revoke":
                self.app.revoked.add(str(body["token"]))
            elif path == "/_admin/revise":
                values = body.get("values")
                if not isinstance(values, dict):
                    raise ValueError('"values" must be an object of field -> number')
                at = self.app.now()
                row = self.app.revise_at(str(body["api"]), str(body["period"]), values, at)
                reply = {"api": body["api"], "period": body["period"], "row": row, "effective_at": at.isoformat()}
                return self._send(200, json.dumps(reply, ensure_ascii=False).encode(),
                                  "application/json; charset=utf-8")
            else:
                return self._send(404, b"not found", "text/plain")
        except (ValueError, KeyError) as exc:
            return self._send(400, str(exc).encode(), "text/plain")
        self._send(200, b"ok", "text/plain")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
