"""``tushare-rollout job probe``: ask Tushare once per P2 API whether this token may use it, and record it.

Every API of the P2 graylist (:data:`PROBES`) is called exactly once with the smallest request it
takes (one code, one day or one minute, ``limit=1`` where the API pages), through the project's
client with no retries and no waiting out rate limits. Each answer becomes one ``permission_probes``
row of TSR_ROLLOUT_BATCH, all in one transaction:

* ``granted``: an answer, even an empty one;
* ``denied``: no permission (too few points, a separately sold permission missing or expired, or an
  API the server does not show this token), with the server's code and message;
* ``rate_limited``: a per-minute, per-hour or daily limit answered instead (40203 with 最多访问);
* ``error``: anything else (a bad token, a server error or timeout, a malformed reply), with the
  client's explanation.

The operator reads the newest row per API (``db.rollout.probes``) into ``status.probes``;
``p2SpecialPermissionStkPremarketV1`` is effective only with a granted ``stk_premarket`` row.

Exit code: 0 every API answered (denials and rate limits are results, not failures); 3 PostgreSQL
unreachable or not at head, or some probe met a transient error (server down, 5xx, timeout): the rows
are recorded and a retry probes again; 4 bad configuration: no DATABASE_URL, no TUSHARE_TOKEN, no
TSR_ROLLOUT_BATCH, a probe token that is the Tushare token, a bad URL, the token answered as wrong or
revoked (40101), or no API answering as Tushare does at all (a wrong TUSHARE_API_URL). The Tushare
token is never printed nor stored: messages come from the client, which masks it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, Engine, insert

from ..db import migrate
from ..db.control import PermissionProbe
from ..tushare import errors
from ..tushare.client import TushareClient
from . import TERMINATION_LOG_BYTES, ExitCode, Outcome, with_engine
from .settings import JobSettings

DAY = "20240102"  # an open day on every exchange the local server (and the real service) serves
MINUTE = ("2024-01-02 09:30:00", "2024-01-02 09:31:00")  # the first one-minute bar of that day


@dataclass(frozen=True)
class Probe:
    api: str
    flag: str  # the rollout_flags_v1 sub-flag the API belongs to
    params: Mapping[str, Any]


_HISTORY = {"freq": "1min", "start_date": MINUTE[0], "end_date": MINUTE[1], "limit": 1}

PROBES: tuple[Probe, ...] = (
    Probe("rt_idx_k", "p2RealtimeIndexV1", {"ts_code": "000001.SH"}),
    Probe("rt_idx_min", "p2RealtimeIndexV1", {"ts_code": "000001.SH", "freq": "1MIN", "limit": 1}),
    Probe("idx_mins", "p2RealtimeIndexV1", {"ts_code": "000001.SH", **_HISTORY}),
    Probe("rt_etf_k", "p2RealtimeEquityEtfV1", {"ts_code": "510300.SH", "topic": "HQ_FND_TICK"}),
    Probe("rt_min", "p2RealtimeEquityEtfV1", {"ts_code": "600000.SH", "freq": "1MIN", "limit": 1}),
    Probe("stk_mins", "p2RealtimeEquityEtfV1", {"ts_code": "600000.SH", **_HISTORY}),
    Probe("ft_mins", "p2FuturesMicrostructureV1", {"ts_code": "CU2403.SHF", **_HISTORY}),
    Probe("fut_wsr", "p2FuturesMicrostructureV1", {"trade_date": DAY, "symbol": "CU", "limit": 1}),
    Probe("fut_holding", "p2FuturesMicrostructureV1", {"trade_date": DAY, "symbol": "CU2403", "limit": 1}),
    Probe("stk_premarket", "p2SpecialPermissionStkPremarketV1", {"ts_code": "600000.SH", "trade_date": DAY,
                                                                 "limit": 1}),
)


@dataclass(frozen=True)
class Answer:
    """What one probe found; ``transient``: an error the same call may pass on later."""

    api: str
    outcome: str
    code: int | None
    message: str | None
    transient: bool = False
    bad_token: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"api": self.api, "outcome": self.outcome, "code": self.code, "message": self.message}


def classify(api: str, rows: int | None, exc: errors.TushareError | None = None) -> Answer:
    """The outcome of one probe: ``rows`` answered, or the error raised.

    >>> classify("rt_min", 0)
    Answer(api='rt_min', outcome='granted', code=None, message='answered (0 rows)', transient=False, bad_token=False)
    >>> msg = "抱歉，您没有接口(rt_min)访问权限，权限的具体详情访问：…"
    >>> a = classify("rt_min", None, errors.classify(40203, msg, "rt_min"))
    >>> a.outcome, a.code, a.message == msg
    ('denied', 40203, True)
    >>> classify("rt_min", None, errors.classify(40203, "抱歉，您每天最多访问该接口8000次，…", "rt_min")).outcome
    'rate_limited'
    >>> a = classify("rt_min", None, errors.classify(40101, "您的token不对，请确认。", "rt_min"))
    >>> a.outcome, a.bad_token, "check TUSHARE_TOKEN" in a.message
    ('error', True, True)
    >>> a = classify("rt_min", None, errors.ServerError("API rt_min: cannot connect", api="rt_min"))
    >>> a.outcome, a.code, a.transient
    ('error', None, True)
    """
    if exc is None:
        return Answer(api, "granted", None, f"answered ({rows} row{'' if rows == 1 else 's'})")
    if isinstance(exc, errors.PermissionDenied | errors.BadApiName):  # the name is right: this token cannot see it
        return Answer(api, "denied", exc.code, exc.server_msg)
    if isinstance(exc, errors.RateLimited | errors.DailyQuota):
        return Answer(api, "rate_limited", exc.code, exc.server_msg)
    return Answer(api, "error", exc.code, str(exc), transient=exc.retryable, bad_token=isinstance(exc, errors.BadToken))


def probe(client: TushareClient, probes: Sequence[Probe] = PROBES) -> list[Answer]:
    """One call per API, in order; the client must not retry (see :func:`run`)."""
    out = []
    for p in probes:
        try:
            page = client.query(p.api, p.params)
        except errors.TushareError as exc:
            out.append(classify(p.api, None, exc))
        else:
            out.append(classify(p.api, len(page.rows)))
    return out


def verdict(answers: Sequence[Answer]) -> tuple[ExitCode, str]:
    """The exit code and the summary line for a complete set of answers.

    >>> ok, no = Answer("a", "granted", None, None), Answer("b", "denied", 40203, "m")
    >>> verdict([ok, no])
    (<ExitCode.OK: 0>, 'probed 2 APIs: 1 granted, 1 denied')
    >>> verdict([ok, Answer("c", "error", None, "down", transient=True)])[0]
    <ExitCode.RETRYABLE: 3>
    >>> verdict([Answer("c", "error", 40101, "bad", bad_token=True), no])[0]
    <ExitCode.BAD_CONFIGURATION: 4>
    """
    counts = {o: sum(a.outcome == o for a in answers) for o in ("granted", "denied", "rate_limited", "error")}
    summary = f"probed {len(answers)} APIs: " + ", ".join(
        f"{n} {o}{'s' if o == 'error' and n != 1 else ''}" for o, n in counts.items() if n)
    if any(a.bad_token for a in answers):
        return ExitCode.BAD_CONFIGURATION, f"{summary}; Tushare refused the token as wrong, expired or revoked: " \
                                           "check TUSHARE_TOKEN"
    transient = [a.api for a in answers if a.transient]
    if transient:
        return ExitCode.RETRYABLE, f"{summary}; {', '.join(transient)} could not be probed (server unreachable " \
                                   "or failing): retry later"
    if answers and counts["error"] == len(answers):
        return ExitCode.BAD_CONFIGURATION, f"{summary}; no API answered as Tushare does: check TUSHARE_API_URL"
    return ExitCode.OK, summary


@dataclass(frozen=True)
class ProbeOutcome(Outcome):
    answers: tuple[Answer, ...] = ()

    def as_json(self) -> str:
        """The termination-log body, messages shortened until it fits what Kubernetes keeps.

        >>> answers = tuple(Answer(p.api, "error", None, "服务器" * 900) for p in PROBES)
        >>> body = ProbeOutcome(ExitCode.RETRYABLE, "down", answers).as_json()
        >>> len(body.encode()) < TERMINATION_LOG_BYTES, len(json.loads(body)["probes"])
        (True, 10)
        """
        for cap in (400, 200, 120, 60, 0):
            probes = [a.as_dict() | {"message": _cut(a.message, cap)} for a in self.answers]
            body = {"exitCode": int(self.code), "message": _cut(self.message, max(cap, 300)), "probes": probes}
            encoded = json.dumps(body, ensure_ascii=False)
            if len(encoded.encode()) < TERMINATION_LOG_BYTES:
                break
        return encoded


def _cut(message: str | None, cap: int) -> str | None:
    """``message`` in at most ``cap`` characters (``None`` at 0).

    >>> _cut("abcdef", 4), _cut("abc", 4), _cut("abc", 0)
    ('abc…', 'abc', None)
    """
    if message is None or len(message) <= cap:
        return message
    return message[:cap - 1] + "…" if cap else None


def run(settings: JobSettings, *, probe_token: str | None = None) -> ProbeOutcome:
    """Probe every API of :data:`PROBES` and record the answers for TSR_ROLLOUT_BATCH in one transaction."""
    rollout_batch = settings.rollout_batch
    if not rollout_batch:
        return ProbeOutcome(ExitCode.BAD_CONFIGURATION,
                            "TSR_ROLLOUT_BATCH is not set: name the RolloutBatch (namespace/name) the probes are for")
    token = settings.tushare_token.get_secret_value().strip() if settings.tushare_token else ""
    if not token:
        return ProbeOutcome(ExitCode.BAD_CONFIGURATION, "TUSHARE_TOKEN is not set: the probes need the token to test")
    probe_token = (probe_token or "").strip() or None
    if probe_token is not None and (probe_token == token or token in probe_token):
        return ProbeOutcome(ExitCode.BAD_CONFIGURATION, "the probe token contains the Tushare token: it is recorded "
                                                        "in the database, so give any other label (spec.probeToken)")
    if probe_token is not None and len(probe_token) > 253:
        return ProbeOutcome(ExitCode.BAD_CONFIGURATION, f"the probe token has {len(probe_token)} characters; "
                                                        "at most 253 are recorded")
    # one call per API: no retries of server errors, no waiting out a rate limit (a probe records it)
    options = settings.tushare.model_copy(update={"max_retries": 0, "max_rate_limit_waits": 0})
    try:
        client = TushareClient(settings.tushare_api_url, token, options)
    except ValueError as exc:  # a TUSHARE_API_URL that is not http(s)://host
        return ProbeOutcome(ExitCode.BAD_CONFIGURATION, str(exc))
    answers: list[Answer] = []

    def work(engine: Engine) -> Outcome:
        with engine.connect() as conn:  # reachable and at head before a single call to Tushare
            position = migrate.position(conn)
        if not position.at_head:
            return Outcome(ExitCode.RETRYABLE, f"cannot record permission probes: {position.describe()}")
        answers.extend(probe(client))
        with engine.begin() as conn:
            record(conn, rollout_batch, probe_token, answers)
        code, summary = verdict(answers)
        return Outcome(code, f"{summary} (recorded for {rollout_batch}"
                             f"{f', probe token {probe_token}' if probe_token else ''})")

    with client:
        outcome = with_engine(settings, "recording the permission probes", work)
    return ProbeOutcome(outcome.code, outcome.message, tuple(answers))


def record(conn: Connection, rollout_batch: str, probe_token: str | None, answers: Sequence[Answer]) -> None:
    """One ``permission_probes`` row per answer (the caller owns the transaction)."""
    if answers:
        conn.execute(insert(PermissionProbe), [
            {"api_name": a.api, "outcome": a.outcome, "error_code": a.code, "message": a.message,
             "rollout_batch": rollout_batch, "probe_token": probe_token} for a in answers])


STYLES = {"granted": "green", "denied": "yellow", "rate_limited": "magenta", "error": "red"}


def table(answers: Sequence[Answer]) -> Table:
    """The answers as a rich table: API, outcome, code, message."""
    out = Table(title="permission probes", title_justify="left")
    for name in ("API", "outcome", "code", "message"):
        out.add_column(name, overflow="fold")
    for a in answers:
        out.add_row(a.api, f"[{STYLES[a.outcome]}]{a.outcome}[/]", "" if a.code is None else str(a.code),
                    escape(a.message or ""))
    return out
