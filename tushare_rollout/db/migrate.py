"""Alembic, driven from code: upgrade, downgrade, and where a database stands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def heads() -> list[str]:
    return list(script().get_heads())


@dataclass(frozen=True)
class Position:
    """Where a database stands relative to the migrations in this release."""

    current: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.at_head:
            return f"database is at the head revision {self.head}"
        if self.current is None:
            return f"database has no schema yet; head is {self.head} (run `tushare-rollout job migrate`)"
        if not is_known(self.current):
            return (f"database is at revision {self.current}, which this release does not know: it is ahead "
                    f"(head here is {self.head}); run a release that has it, or downgrade with that release")
        return f"database is behind: at {self.current}, head is {self.head} (run `tushare-rollout job migrate`)"


def is_known(revision: str) -> bool:
    """Whether this release has ``revision`` (a database migrated by a newer release has one it lacks)."""
    try:
        return script().get_revision(revision) is not None
    except (CommandError, ResolutionError):
        return False


def position(bind: Engine | Connection) -> Position:
    if isinstance(bind, Connection):
        current = MigrationContext.configure(bind).get_current_revision()
    else:
        with bind.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    found = heads()
    if len(found) != 1:
        raise CommandError(f"the migrations have {len(found)} heads ({', '.join(found)}); merge them first")
    return Position(current=current, head=found[0])


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        _one_migrator_at_a_time(conn)
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        _one_migrator_at_a_time(conn)
        command.downgrade(alembic_config(conn), revision)


def _one_migrator_at_a_time(conn: Connection) -> None:
    """Two `job migrate` runs at once (a Helm upgrade racing a manual run) wait for each other."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('tushare-rollout migrate'))"))
