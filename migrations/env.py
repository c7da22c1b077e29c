"""Alembic environment. The connection comes from the caller (``tushare_rollout.db.migrate``) or,
for a developer running ``alembic`` by hand, from ``DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from tushare_rollout.db import metadata
from tushare_rollout.db.engine import make_engine


def _partition_children(connection: Connection) -> set[str]:
    rows = connection.execute(text("SELECT relname FROM pg_class WHERE relispartition AND relkind IN ('r', 'p')"))
    return {r[0] for r in rows}


def _run(connection: Connection) -> None:
    partitions = _partition_children(connection)

    def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
        # partitions are made by migrations and tsr_ensure_minute_partitions(), not by models
        return not (type_ == "table" and name in partitions)

    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=include_name,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    import os

    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to the database to migrate (or use `tushare-rollout job migrate`)")
    engine = make_engine(os.environ["DATABASE_URL"])
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
