"""Engines from a database URL, with errors that name the problem and never the password."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


class BadDatabaseURL(ValueError):
    """The database URL cannot be used; the message says why (without the URL's password)."""


def database_url(raw: str) -> URL:
    """Parse ``DATABASE_URL`` (``postgresql://`` or ``postgresql+psycopg://``) into a psycopg URL."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise BadDatabaseURL(
            "DATABASE_URL is not a database URL; expected postgresql://user:password@host:port/database"
        ) from None
    if url.get_backend_name() != "postgresql":
        raise BadDatabaseURL(f"DATABASE_URL names a {url.get_backend_name()} database; only PostgreSQL is supported")
    if not url.database:
        raise BadDatabaseURL("DATABASE_URL names no database; add /<database> after the host")
    return url.set(drivername="postgresql+psycopg")


def make_engine(raw_url: str, **kwargs) -> Engine:
    return create_engine(database_url(raw_url), pool_pre_ping=True, **kwargs)


def safe_url(url: URL) -> str:
    """The URL for messages: password masked."""
    return url.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    """The first line of a database error, for a one-line message (the driver's error when wrapped)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# SQLSTATE classes a later attempt may not meet: connection trouble, a read-only database (a standby,
# or read-only by setting), insufficient resources (disk full), an operator intervention (shutdown,
# restart), a serialization failure or deadlock
RETRYABLE_SQLSTATES = ("08", "25006", "53", "57", "40")


def retryable(exc: BaseException) -> bool:
    """Whether a database error may pass on retry (by its SQLSTATE), as opposed to a refusal of the data.

    >>> from sqlalchemy.exc import OperationalError
    >>> retryable(OperationalError("x", None, Exception("connection refused")))
    True
    """
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return state.startswith(RETRYABLE_SQLSTATES)
