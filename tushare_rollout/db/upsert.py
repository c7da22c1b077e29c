"""Set-based, idempotent upserts: rows are COPYed into a temporary staging table, then
merged into the target in one statement that touches only rows whose values changed.

Re-running the same rows therefore inserts 0 and updates 0, and ``run_id`` (lineage)
keeps naming the run that last really changed a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

LINEAGE = ("run_id", "written_at")


@dataclass(frozen=True)
class UpsertResult:
    staged: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.staged - self.inserted - self.updated


def upsert(conn: Connection, table: Table, rows: Iterable[Sequence[Any]], columns: Sequence[str],
           run_id: int | None = None) -> UpsertResult:
    """Merge ``rows`` (tuples in ``columns`` order) into ``table``.

    ``columns`` must contain the primary key. With ``run_id`` given, tables with lineage get it
    (and ``written_at = now()``) on the rows that are inserted or changed. Runs inside the
    caller's transaction, so a checkpoint written in the same transaction commits with the rows.
    """
    key = [c.name for c in table.primary_key.columns]
    missing = [k for k in key if k not in columns]
    if missing:
        raise ValueError(f"upsert into {table.name}: columns lack primary-key column(s) {missing}")
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"upsert into {table.name}: no such column(s) {unknown}")
    has_lineage = "run_id" in table.c
    if has_lineage and run_id is None:
        raise ValueError(f"upsert into {table.name}: the table records lineage, give the run_id")

    try:
        return _merge(conn.connection.driver_connection, table, rows, columns, key, run_id if has_lineage else None)
    except psycopg.Error as exc:  # raise what SQLAlchemy would have raised (IntegrityError, OperationalError, ...)
        raise DBAPIError.instance(f"upsert into {table.name}", None, exc, psycopg.Error) from None


def _merge(raw: psycopg.Connection, table: Table, rows: Iterable[Sequence[Any]], columns: Sequence[str],
           key: list[str], run_id: int | None) -> UpsertResult:
    has_lineage = run_id is not None
    staging = sql.Identifier(f"_stage_{table.name}")
    cols = [sql.Identifier(c) for c in columns]
    value_cols = [c for c in columns if c not in key and c not in LINEAGE]
    with raw.cursor() as cur:
        # only the given columns, typed like the target, without its constraints
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            staging, sql.SQL(", ").join(cols), sql.Identifier(table.name)))
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, sql.SQL(", ").join(cols))) as copy:
            staged = 0
            for row in rows:
                copy.write_row(row)
                staged += 1
        if staged == 0:
            cur.execute(sql.SQL("DROP TABLE {}").format(staging))
            return UpsertResult(0, 0, 0)

        # partitioned targets cannot return xmax, so count the keys that exist before merging
        cur.execute(sql.SQL("SELECT count(*) FROM {} s JOIN {} t USING ({})").format(
            staging, sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(k) for k in key)))
        existing = cur.fetchone()[0]

        insert_cols = list(cols)
        select_cols = [sql.SQL("s.{}").format(c) for c in cols]
        if has_lineage:
            insert_cols += [sql.Identifier("run_id"), sql.Identifier("written_at")]
            select_cols += [sql.Literal(run_id), sql.SQL("now()")]
        set_cols = [sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in value_cols]
        if has_lineage:
            set_cols += [sql.SQL("run_id = EXCLUDED.run_id"), sql.SQL("written_at = EXCLUDED.written_at")]
        if value_cols:
            changed = sql.SQL("({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in value_cols),
                sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in value_cols),
            )
            on_conflict = sql.SQL("DO UPDATE SET {} WHERE {}").format(sql.SQL(", ").join(set_cols), changed)
        else:
            on_conflict = sql.SQL("DO NOTHING")
        cur.execute(
            sql.SQL(
                "INSERT INTO {target} AS t ({insert_cols}) SELECT {select_cols} FROM {staging} s "
                "ON CONFLICT ({key}) {on_conflict}"
            ).format(
                target=sql.Identifier(table.name),
                insert_cols=sql.SQL(", ").join(insert_cols),
                select_cols=sql.SQL(", ").join(select_cols),
                staging=staging,
                key=sql.SQL(", ").join(sql.Identifier(k) for k in key),
                on_conflict=on_conflict,
            )
        )
        written = cur.rowcount  # inserted + changed rows; unchanged ones are skipped by the WHERE
        cur.execute(sql.SQL("DROP TABLE {}").format(staging))
    inserted = staged - existing
    return UpsertResult(staged=staged, inserted=inserted, updated=written - inserted)
