"""Reading request parameters the way Tushare does, shared by every data generator.

Parameters arrive as JSON values (the SDK passes whatever the caller gave, so ``20240102`` may
come as an int); everything is read as a string. A malformed value raises :class:`BadParams`,
which the server answers with Tushare's own "bad parameters" reply.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any


class BadParams(ValueError):
    """The request's parameters are wrong; the message is what the caller sees (Tushare's wording)."""


def text(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter as a stripped string; ``None`` when absent or empty."""
    value = params.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def day(params: Mapping[str, Any], name: str) -> dt.date | None:
    """A ``YYYYMMDD`` parameter (``YYYY-MM-DD`` is accepted too)."""
    value = text(params, name)
    if value is None:
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise BadParams(f"参数校验失败, {name}格式错误(应为YYYYMMDD): {value}")


def moment(params: Mapping[str, Any], name: str) -> dt.datetime | None:
    """A ``YYYY-MM-DD HH:MM:SS`` parameter (minute APIs), naive Beijing time; a bare date means midnight."""
    value = text(params, name)
    if value is None:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise BadParams(f"参数校验失败, {name}格式错误(应为YYYY-MM-DD HH:MM:SS): {value}")


def month(params: Mapping[str, Any], name: str) -> str | None:
    """A ``YYYYMM`` parameter, returned as that string."""
    value = text(params, name)
    if value is None:
        return None
    if not re.fullmatch(r"\d{4}(0[1-9]|1[0-2])", value):
        raise BadParams(f"参数校验失败, {name}格式错误(应为YYYYMM): {value}")
    return value


def quarter(params: Mapping[str, Any], name: str) -> str | None:
    """A ``YYYYQn`` parameter, returned upper-cased."""
    value = text(params, name)
    if value is None:
        return None
    value = value.upper()
    if not re.fullmatch(r"\d{4}Q[1-4]", value):
        raise BadParams(f"参数校验失败, {name}格式错误(应为YYYYQn): {value}")
    return value


def date_range(params: Mapping[str, Any], single: str = "trade_date", start: str = "start_date",
               end: str = "end_date") -> tuple[dt.date | None, dt.date | None]:
    """``(first, last)`` from ``single`` or ``start``/``end``; either bound may be ``None`` (open)."""
    one = day(params, single)
    if one is not None:
        return one, one
    first, last = day(params, start), day(params, end)
    if first and last and last < first:
        raise BadParams(f"参数校验失败, {end}不能早于{start}")
    return first, last


def codes(params: Mapping[str, Any], name: str = "ts_code") -> list[str] | None:
    """A comma-separated code list (``600000.SH,000001.SZ``); ``None`` when absent."""
    value = text(params, name)
    if value is None:
        return None
    return [c.strip() for c in value.split(",") if c.strip()]


def fmt_day(d: dt.date) -> str:
    return d.strftime("%Y%m%d")


def fmt_moment(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


HISTORY_FREQS = {"1min": 1, "5min": 5, "15min": 15, "30min": 30, "60min": 60}


def history_freq(params: Mapping[str, Any]) -> int:
    """Minutes per bar of a minute-history call: ``freq`` is lowercase there (``1min``), as documented.

    >>> history_freq({"freq": "5min"})
    5
    """
    freq = text(params, "freq")
    if freq is None:
        raise BadParams("参数校验失败, 必填参数freq不能为空")
    if freq not in HISTORY_FREQS:
        raise BadParams(f"参数校验失败, freq参数错误: {freq} (可选 {', '.join(HISTORY_FREQS)})")
    return HISTORY_FREQS[freq]


def minute_window(params: Mapping[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``start_date``/``end_date`` of a minute call, naive Beijing times; a bare end date means the whole day.

    >>> minute_window({"start_date": "2024-01-05", "end_date": "2024-01-05"})
    (datetime.datetime(2024, 1, 5, 0, 0), datetime.datetime(2024, 1, 5, 23, 59, 59))
    """
    start, end = moment(params, "start_date"), moment(params, "end_date")
    if end is not None and len(text(params, "end_date") or "") <= 10:
        end += dt.timedelta(days=1, seconds=-1)
    if start and end and end < start:
        raise BadParams("参数校验失败, end_date不能早于start_date")
    return start, end
