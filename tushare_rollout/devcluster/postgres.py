"""PostgreSQL for the dev cluster: embedded (the binaries the ``pgserver`` wheel
ships, run as our own child on a loopback port) or an existing server named by
``DATABASE_URL``.

Both hand out throwaway databases, so tests and demos never share state.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from ..db.engine import BadDatabaseURL, database_url, first_line

from .process import ManagedProcess, StartupError, free_port

SUPERUSER = "postgres"


def _pg_bin() -> Path:
    """The PostgreSQL binaries shipped inside the ``pgserver`` wheel (found without importing it:
    its import has side effects we do not want)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise StartupError("the pgserver package is not installed; run `make test` or `pip install -e .`")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _libpq_dsn(url: URL) -> str:
    """A libpq connection string for a SQLAlchemy URL (driver suffix dropped)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresUnavailable(RuntimeError):
    """The database server cannot be reached; the message says which and what to do."""


class Postgres:
    """A server we may create databases on. ``url`` is a SQLAlchemy URL for ``psycopg``."""

    def __init__(self, url: URL) -> None:
        self.url = url

    def url_for(self, database: str) -> URL:
        return self.url.set(database=database)

    def _admin(self) -> psycopg.Connection:
        try:
            return psycopg.connect(_libpq_dsn(self.url), autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise PostgresUnavailable(
                f"cannot connect to PostgreSQL at {self.url.render_as_string(hide_password=True)}: "
                f"{first_line(exc)}. Check that the server runs and DATABASE_URL is right."
            ) from None

    def ping(self) -> bool:
        try:
            with psycopg.connect(_libpq_dsn(self.url), connect_timeout=2) as conn:
                conn.execute("select 1")
            return True
        except psycopg.OperationalError:
            return False

    def server_version(self) -> str:
        with self._admin() as conn:
            return conn.execute("show server_version").fetchone()[0]

    def create_database(self, name: str, template: str | None = None) -> URL:
        """A new database; with ``template``, a copy of that database (which must have no connections)."""
        with self._admin() as conn:
            if template is None:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            else:
                conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name),
                                                                              sql.Identifier(template)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    def stop(self) -> None:
        """Nothing to stop for a server we did not start."""


class EmbeddedPostgres(Postgres):
    """A private PostgreSQL in ``directory``, listening on 127.0.0.1 only.

    PostgreSQL refuses to run as root, so under root the server runs as the
    unprivileged ``nobody`` user.
    """

    def __init__(self, directory: Path, startup_timeout: float = 60.0) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.startup_timeout = startup_timeout
        super().__init__(
            URL.create(
                "postgresql+psycopg", username=SUPERUSER, password=self.password,
                host="127.0.0.1", port=self.port, database="postgres",
            )
        )
        self.process: ManagedProcess | None = None

    def start(self) -> EmbeddedPostgres:
        uid = gid = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
        if uid is not None:
            _let_traverse(self.directory)
        self.data.mkdir(mode=0o700)
        socket_dir = self.directory / "sock"
        socket_dir.mkdir()
        pwfile = self.directory / "pwfile"
        with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(self.password + "\n")
        if uid is not None:
            for p in (self.data, socket_dir, pwfile):
                os.chown(p, uid, gid)
        initdb = subprocess.run(
            [_pg_bin() / "initdb", "-D", self.data, "-U", SUPERUSER, "--pwfile", pwfile,
             "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, user=uid, group=gid, cwd=self.directory,
        )
        if initdb.returncode != 0:
            raise StartupError(f"initdb failed (exit {initdb.returncode}):\n{initdb.stderr.strip()}")
        pwfile.unlink()
        self._argv = [
            _pg_bin() / "postgres", "-D", self.data, "-h", "127.0.0.1", "-p", str(self.port), "-k", socket_dir,
            # a disposable dev server: durability off, speed on
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200", "-c", "timezone=UTC",
        ]
        self._owner = (uid, gid)
        return self._launch()

    def restart(self, while_down: Callable[[], object] | None = None) -> EmbeddedPostgres:
        """Stop the server ("fast": open transactions roll back) and start it again on the same data and port.

        ``while_down`` runs while the server is stopped (a fault drill keeps it down until its Job has
        noticed); the server is started again even if it raises.
        """
        self.stop()
        try:
            if while_down is not None:
                while_down()
        finally:
            self._launch()
        return self

    def _launch(self) -> EmbeddedPostgres:
        uid, gid = self._owner
        self.process = ManagedProcess(
            "postgres", self._argv, self.directory / "postgres.log",
            user=uid, group=gid,
            stop_signal=signal.SIGINT,  # "fast" shutdown: roll back open transactions, exit
        ).start()
        try:
            self.process.wait_ready(self.ping, self.startup_timeout)
        except BaseException:
            self.process.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def _let_traverse(directory: Path) -> None:
    """Let another user reach ``directory``: add the search bit on it and on its parents we own, up to the temp dir."""
    top = Path(tempfile.gettempdir())
    for d in (directory, *directory.parents):
        if d == top or d.stat().st_uid != os.geteuid():
            break
        d.chmod(d.stat().st_mode | 0o011)


def connect_existing(raw_url: str) -> Postgres:
    """Use the server named by ``DATABASE_URL`` (a ``postgresql://`` or ``postgresql+psycopg://`` URL)."""
    try:
        url = database_url(raw_url)
    except BadDatabaseURL as exc:
        raise PostgresUnavailable(str(exc)) from None
    pg = Postgres(url)
    pg.server_version()  # fail now, with a clear message, if it is not reachable
    return pg
