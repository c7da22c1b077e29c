"""What drills run on: one :class:`DrillContext` per suite run.

It starts what a drill asks for, on first use, and stops it at the end: a private embedded PostgreSQL
(always ours, never ``DATABASE_URL``: drills restart it, make databases read-only and fill their
disks), the local Tushare server, extra servers with faults or tokens, and — for control-plane
drills — the dev cluster's etcd, kube-apiserver and kube-controller-manager sharing that PostgreSQL.
Every database is a throwaway copy of a migrated template. Jobs run as real ``tushare-rollout job``
subprocesses, followed line by line (:class:`JobProcess`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, text

from ..db.base import Batch
from ..db.engine import make_engine
from ..ingest.datasets import FIRST
from .checksums import Checksums, checksums, data_tables

if TYPE_CHECKING:
    from ..devcluster import DevCluster
    from ..devcluster.postgres import EmbeddedPostgres
    from ..tushare.server.app import LocalTushareServer

TUSHARE_SEED = 7  # the generated market every drill loads
JOB_TIMEOUT = 600.0  # seconds a Job may take before the drill gives up on it
# short timeouts and backoffs and a one-second rate "minute", so faults cost seconds, not minutes
FAST_CLIENT = {"TSR_TUSHARE__TIMEOUT": "5", "TSR_TUSHARE__BACKOFF_BASE": "0.05", "TSR_TUSHARE__BACKOFF_MAX": "0.2",
               "TSR_TUSHARE__RATE_WINDOW_SECONDS": "1"}


class DrillError(RuntimeError):
    """A drill could not be carried out (its reference load failed, a Job hung): the drill fails, the
    suite goes on."""


@dataclass(frozen=True)
class Window:
    """The ``job ingest`` window a drill loads, as the CLI takes it (``YYYYMMDD``)."""

    start: str
    end: str

    def args(self) -> tuple[str, ...]:
        return ("--start", self.start, "--end", self.end)

    @property
    def as_of(self) -> str:
        """The window's last day as ``--as-of`` takes it (the end of that Beijing day).

        >>> SHORT.as_of
        '2024-01-12'
        """
        return f"{dt.datetime.strptime(self.end, '%Y%m%d').date():%Y-%m-%d}"

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


SHORT = Window("20240102", "20240112")  # 9 SSE trading days: every P0 dataset in a few seconds
LONG = Window("20240102", "20240329")  # 58 trading days across the 2024 Spring Festival closure


def window(short: bool) -> Window:
    return SHORT if short else LONG


class Database:
    """A throwaway database of the drill's PostgreSQL; ``url`` carries the password (for Jobs)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url)
        return self._engine

    def dispose(self) -> None:
        """Close every connection (a database used as a template must have none)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def scalar(self, statement: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(statement), params).scalar()

    def rows(self, statement: str, **params: Any) -> list:
        with self.engine.connect() as conn:
            return conn.execute(text(statement), params).all()


@dataclass(frozen=True)
class Reference:
    """An undisturbed ``job ingest`` of ``window``: what every disturbed load must end up identical to."""

    window: Window
    database: Database
    tables: list[str]
    checksums: Checksums
    seconds: float  # wall time of the Job
    partitions: int  # partitions it committed
    first: int  # of which calendars and lists, committed first (the rest is planned from them)

    def mid_run(self, rng: random.Random) -> int:
        """A commit to disturb at, seeded: after the calendars and lists, in the first half of the rest."""
        return rng.randint(self.first + 1, self.first + max(1, (self.partitions - self.first) // 2))


class JobProcess:
    """``tushare-rollout <args>`` as a subprocess, its output followed line by line.

    The ingest Job logs ``committed dataset=... partition=...`` once per committed partition; a drill
    hooks actions to the n-th commit (:meth:`at_commit`, run in the reader thread, so the disturbance
    lands right after that commit) or waits for a condition (:meth:`wait_for`).
    """

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.argv = argv
        self.log_path = log_path
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        self.committed = 0
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._open = 2
        self._cond = threading.Condition()
        self._hooks: list[tuple[int, Callable[[], object]]] = []
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._cond:
                into.append(line.rstrip("\n"))
                if into is self.stderr and line.startswith("committed "):
                    self.committed += 1
                    due = [action for n, action in self._hooks if n <= self.committed]
                    self._hooks = [(n, action) for n, action in self._hooks if n > self.committed]
                    for action in due:
                        action()
                self._cond.notify_all()
        stream.close()
        with self._cond:
            self._open -= 1
            self._cond.notify_all()

    def at_commit(self, n: int, action: Callable[[], object]) -> None:
        """Run ``action`` as soon as the n-th partition has committed (at once if it already has)."""
        with self._cond:
            if self.committed >= n:
                action()
            else:
                self._hooks.append((n, action))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = JOB_TIMEOUT) -> bool:
        """Wait until ``predicate()`` holds (checked on every line of output); false if the Job ended first
        or ``timeout`` passed."""
        with self._cond:
            self._cond.wait_for(lambda: predicate() or self._open == 0, timeout)
            return predicate()

    def exited_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the Job to exit by itself."""
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words (what an OOM kill or a lost node does)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def wait(self, timeout: float = JOB_TIMEOUT) -> int:
        """The exit code (negative: the signal); a Job still running after ``timeout`` is killed and the
        drill fails."""
        if not self.exited_within(timeout):
            self.kill()
            self.proc.wait()
            raise DrillError(f"`{' '.join(self.argv[3:])}` did not finish within {timeout:.0f}s; "
                             f"its output is in {self.log_path}")
        for reader in self._readers:
            reader.join()
        if not self.log_path.exists():
            self.log_path.write_text("\n".join([*self.stdout, *self.stderr]) + "\n")
        return self.proc.returncode

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the Job has ended (``None`` while it runs; never waits)."""
        return self.proc.poll()

    @property
    def output(self) -> str:
        return "\n".join([*self.stdout, *self.stderr])

    @property
    def message(self) -> str:
        """The Job's last word: its summary line (stdout when it succeeded, stderr otherwise), at most 300
        characters."""
        lines = [line for line in (self.stdout if self.returncode == 0 else self.stderr) if line.strip()]
        last = lines[-1].strip() if lines else "(no output)"
        return last if len(last) <= 300 else last[:299] + "…"

    @property
    def crashed(self) -> bool:
        """A Python traceback instead of a message."""
        return "Traceback" in self.output


class DrillContext:
    """Everything a drill needs, started on first use, stopped by :meth:`close` (newest first).

    ``seeds``: how many seeds a seeded drill runs (default: 1 short, 3 long).
    """

    def __init__(self, *, seeds: int | None = None) -> None:
        self.seeds = seeds
        self.workdir = Path(tempfile.mkdtemp(prefix="tsr-drills-"))
        self._stack = contextlib.ExitStack()
        self._stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        self._names = itertools.count(1)
        self._references: dict[Window, Reference] = {}
        self._databases: list[Database] = []
        self._jobs: list[JobProcess] = []

    def __enter__(self) -> DrillContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for job in self._jobs:  # a drill that failed half-way may leave its Job running
            job.kill()
        self._stack.close()

    def defer(self, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` at :meth:`close`, before what was started earlier is stopped."""
        self._stack.callback(callback, *args)

    def seeds_for(self, short: bool) -> list[int]:
        return list(range(1, (self.seeds or (1 if short else 3)) + 1))

    # -- components, started on first use -------------------------------------------------------

    @functools.cached_property
    def postgres(self) -> EmbeddedPostgres:
        """A private PostgreSQL (restartable: :meth:`EmbeddedPostgres.restart`)."""
        from ..devcluster.postgres import EmbeddedPostgres

        (self.workdir / "postgres").mkdir()
        pg = EmbeddedPostgres(self.workdir / "postgres").start()
        self.defer(pg.stop)
        self.defer(self._dispose_engines)
        return pg

    @functools.cached_property
    def tushare(self) -> LocalTushareServer:
        """The local Tushare server, without faults: what the references and the reruns load from."""
        return self.server()

    def server(self, **options: Any) -> LocalTushareServer:
        """Another local Tushare server (``faults=``, ``tokens=``, ...), the same market, stopped at the end."""
        from ..tushare.server.app import LocalTushareServer

        server = LocalTushareServer(**{"seed": TUSHARE_SEED, **options}).start()
        self.defer(server.stop)
        return server

    @functools.cached_property
    def cluster(self) -> DevCluster:
        """The dev cluster's control plane (etcd, kube-apiserver, kube-controller-manager), for control-plane
        drills; it uses this context's PostgreSQL."""
        from ..config import SecretStr
        from ..devcluster import DevCluster, DevClusterSettings

        url = self.postgres.url.render_as_string(hide_password=False)
        cluster = DevCluster.start(DevClusterSettings(database_url=SecretStr(url)))
        self.defer(cluster.stop)
        return cluster

    @functools.cached_property
    def admin_engine(self) -> Engine:
        """Autocommit on the maintenance database: CREATE/ALTER DATABASE, TABLESPACE, pg_stat_activity."""
        return create_engine(self.postgres.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def admin(self, statement: str, **params: Any) -> list:
        with self.admin_engine.connect() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []

    def postmaster_started(self) -> dt.datetime:
        """When the server last started: a restart changes it."""
        return self.admin("SELECT pg_postmaster_start_time()")[0][0]

    # -- databases -------------------------------------------------------------------------------

    @functools.cached_property
    def template(self) -> str:
        """A database migrated to head, the template of every fresh one (no connection left open)."""
        from ..db import migrate

        name = "drill_template"
        self.admin(f'CREATE DATABASE "{name}"')
        engine = make_engine(self.postgres.url_for(name).render_as_string(hide_password=False))
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        return name

    def database(self, purpose: str, *, template: str | None = None, tablespace: str | None = None) -> Database:
        """A fresh database at head (or a copy of ``template``), optionally in ``tablespace``."""
        name = f"drill_{next(self._names)}_{purpose}"[:63]
        where = f' TABLESPACE "{tablespace}"' if tablespace else ""
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"{where}')
        db = Database(name, self.postgres.url_for(name).render_as_string(hide_password=False))
        self._databases.append(db)
        return db

    def set_read_only(self, name: str, read_only: bool) -> None:
        """Make database ``name`` read-only for new sessions, and end its sessions so every client reconnects
        into it (as after a failover to a standby); or writable again."""
        if read_only:
            self.admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            self.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d", d=name)
        else:
            self.admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')

    def reference(self, window: Window, batch: Batch = Batch.P0) -> Reference:
        """The undisturbed load of ``window`` (made once per suite run, then shared)."""
        if window in self._references:
            return self._references[window]
        db = self.database("reference")
        started = time.monotonic()
        job = self.start_job(self.job_env(db), "job", "ingest", "--batch", batch.value, *window.args())
        code = job.wait()
        seconds = time.monotonic() - started
        if code != 0:
            raise DrillError(f"the undisturbed reference load of {window} failed (exit {code}): "
                             f"{job.message}")
        tables = data_tables(batch)
        partitions, first = db.rows("SELECT sum(partitions_written), sum(partitions_written) FILTER (WHERE dataset ="
                                    " ANY(:first)) FROM ingest_runs", first=list(FIRST))[0]
        ref = Reference(window, db, tables, checksums(db.engine, tables), seconds, int(partitions), int(first))
        db.dispose()  # it may serve as a template
        self._references[window] = ref
        return ref

    # -- Jobs ------------------------------------------------------------------------------------

    def job_env(self, db: Database, server: LocalTushareServer | None = None, *, token: str = "demo:all",
                **extra: str) -> dict[str, str]:
        """The environment of a Job run by hand: ``db``, the server (default: the fault-free one), ``token``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TSR_", "JOB_COMPLETION"))}
        return {**env, "DATABASE_URL": db.url, "TUSHARE_API_URL": (server or self.tushare).url,
                "TUSHARE_TOKEN": token, "TSR_TERMINATION_LOG": os.devnull, "COLUMNS": "200", **FAST_CLIENT, **extra}

    def start_job(self, env: dict[str, str], *args: str) -> JobProcess:
        """``tushare-rollout <args>`` started in the background."""
        log = self.workdir / f"job-{next(self._names)}-{'-'.join(args[:2])}.log"
        job = JobProcess([sys.executable, "-m", "tushare_rollout", *args], env, log)
        self._jobs.append(job)
        return job

    def run_job(self, env: dict[str, str], *args: str, timeout: float = JOB_TIMEOUT) -> JobProcess:
        """``tushare-rollout <args>`` run to its end."""
        job = self.start_job(env, *args)
        job.wait(timeout)
        return job

    def _dispose_engines(self) -> None:
        for db in self._databases:
            db.dispose()
        if "admin_engine" in self.__dict__:
            self.admin_engine.dispose()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it holds; :class:`DrillError` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise DrillError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
