"""Set-based, idempotent upserts: rows are COPYed into a temporary staging table, then
merged into the target in one statement that touches only rows whose values changed.

Re-running the same rows therefore inserts 0 and updates 0, and ``run_id`` (lineage)
keeps naming the run that last really changed a row.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql
from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

LINEAGE = ("run_id", "written_at")
# per connection: partitioning of a table, and the list partition of a (table, value)
_CATALOG: weakref.WeakKeyDictionary[psycopg.Connection, dict[Any, Any]] = weakref.WeakKeyDictionary()


class DuplicateKeys(ValueError):
    """One batch holds the same primary key twice: the source sent contradictory rows."""


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

    ``columns`` must contain the primary key. Tables with lineage need ``run_id``: it (and
    ``written_at = now()``) is set on the rows that are inserted or changed. Runs inside the
    caller's transaction, so a checkpoint written in the same transaction commits with the rows.
    """
    key = [c.name for c in table.primary_key.columns]
    problems = [
        f"columns lack primary-key column(s) {[k for k in key if k not in columns]}"
        if any(k not in columns for k in key) else "",
        f"no such column(s) {[c for c in columns if c not in table.c]}" if any(c not in table.c for c in columns) else "",
        f"lineage column(s) {[c for c in columns if c in LINEAGE]} are set by the upsert, not given"
        if any(c in LINEAGE for c in columns) else "",
        "the table records lineage: give the run_id" if "run_id" in table.c and run_id is None else "",
        "the table records no lineage: do not give a run_id" if "run_id" not in table.c and run_id is not None else "",
    ]
    problems = [p for p in problems if p]
    if problems:
        raise ValueError(f"upsert into {table.name}: " + "; ".join(problems))
    raw = conn.connection.driver_connection
    rows = list(rows)
    if not rows:
        return UpsertResult(0, 0, 0)
    try:
        with raw.cursor() as cur:
            leaf = _leaf_for(cur, table.name, list(columns), rows)
        if leaf is not None and _copy_if_all_new(raw, leaf, rows, list(columns), run_id):
            return UpsertResult(staged=len(rows), inserted=len(rows), updated=0)
        return _merge(raw, table.name, leaf, rows, list(columns), key, run_id)
    except psycopg.Error as exc:  # raise what SQLAlchemy would have raised (IntegrityError, OperationalError, ...)
        raise DBAPIError.instance(f"upsert into {table.name}", None, exc, psycopg.Error) from None


def _copy_if_all_new(raw: psycopg.Connection, leaf: str, rows: list[Sequence[Any]], columns: list[str],
                     run_id: int | None) -> bool:
    """The fast path of a backfill: when none of the keys is stored yet, COPY the rows straight into
    their (leaf) table. Tried inside a savepoint; the first existing key rolls it back (returns False),
    and the caller merges through staging instead. Nothing is half-written either way.

    The savepoint is plain SQL, never psycopg's ``transaction()``: when the COPY is the first statement
    of the caller's transaction, that would open and commit a transaction of its own, and the rows would
    commit before (and without) the checkpoint that belongs with them."""
    with raw.cursor() as cur:
        cols = columns + (["run_id"] if run_id is not None else [])
        cur.execute("SAVEPOINT tsr_copy_if_all_new")  # opens the caller's transaction if nothing did yet
        try:
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(leaf), sql.SQL(", ").join(map(sql.Identifier, cols)))) as copy:
                for row in rows:
                    copy.write_row((*row, run_id) if run_id is not None else row)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT tsr_copy_if_all_new")
            cur.execute("RELEASE SAVEPOINT tsr_copy_if_all_new")
            return False
        cur.execute("RELEASE SAVEPOINT tsr_copy_if_all_new")
    return True


def _leaf_for(cur: psycopg.Cursor, table: str, columns: list[str], rows: list[Sequence[Any]]) -> str | None:
    """The table to write directly: the table itself when it is not partitioned, the one list
    partition every row belongs to, or ``None`` (rows across partitions, or a range-partitioned table).
    Catalog answers are remembered per connection (loads call this once per partition)."""
    known = _CATALOG.setdefault(cur.connection, {})
    if table not in known:
        cur.execute("SELECT p.partstrat, (SELECT attname FROM pg_attribute WHERE attrelid = p.partrelid"
                    " AND attnum = p.partattrs[0]) FROM pg_partitioned_table p WHERE p.partrelid = %s::regclass",
                    (table,))
        known[table] = cur.fetchone()
    spec = known[table]
    if spec is None:
        return table
    strategy, column = spec
    if strategy != "l" or column not in columns:
        return None
    values = {row[columns.index(column)] for row in rows}
    if len(values) != 1:
        return None
    value = str(values.pop())
    if (table, value) not in known:
        known[(table, value)] = _list_partition(cur, table, value)
    return known[(table, value)]


def _list_partition(cur: psycopg.Cursor, table: str, value: str) -> str | None:
    cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass AND pg_get_expr(c.relpartbound, c.oid) = %s",
                (table, f"FOR VALUES IN ('{value}')"))
    leaf = cur.fetchone()
    return leaf[0] if leaf else None


def _merge(raw: psycopg.Connection, table: str, leaf: str | None, rows: list[Sequence[Any]], columns: list[str],
           key: list[str], run_id: int | None) -> UpsertResult:
    staging = sql.Identifier("pg_temp", f"_stage_{table}"[:63])
    cols = [sql.Identifier(c) for c in columns]
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in key)
    value_cols = [c for c in columns if c not in key]
    with raw.cursor() as cur:
        # only the given columns, typed like the target, without its constraints
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(f"_stage_{table}"[:63]), sql.SQL(", ").join(cols), sql.Identifier(table)))
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, sql.SQL(", ").join(cols))) as copy:
            for row in rows:
                copy.write_row(row)

        cur.execute(sql.SQL("SELECT {keys} FROM {staging} GROUP BY {keys} HAVING count(*) > 1 LIMIT 5").format(
            keys=keys, staging=staging))
        duplicates = cur.fetchall()
        if duplicates:
            raise DuplicateKeys(f"{table}: the batch holds these keys more than once: {duplicates}")

        insert_cols, select_cols = list(cols), [sql.SQL("s.{}").format(c) for c in cols]
        set_cols = [sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in value_cols]
        if run_id is not None:
            insert_cols += [sql.Identifier("run_id"), sql.Identifier("written_at")]
            select_cols += [sql.Literal(run_id), sql.SQL("now()")]
            set_cols += [sql.SQL("run_id = EXCLUDED.run_id"), sql.SQL("written_at = EXCLUDED.written_at")]
        if value_cols:
            changed = sql.SQL("({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in value_cols),
                sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in value_cols),
            )
            on_conflict = sql.SQL("DO UPDATE SET {} WHERE {}").format(sql.SQL(", ").join(set_cols), changed)
        else:
            on_conflict = sql.SQL("DO NOTHING")
        if leaf is not None:
            # one leaf partition holds every row: merge into it directly, where RETURNING xmax tells
            # inserted (xmax = 0) from updated rows without looking every key up a second time
            cur.execute(
                sql.SQL(
                    "WITH merged AS (INSERT INTO {target} AS t ({insert_cols}) SELECT {select_cols} FROM {staging} s"
                    " ON CONFLICT ({keys}) {on_conflict} RETURNING (t.xmax = 0) AS fresh)"
                    " SELECT count(*) FILTER (WHERE fresh), count(*) FROM merged"
                ).format(target=sql.Identifier(leaf), staging=staging, keys=keys,
                         insert_cols=sql.SQL(", ").join(insert_cols), select_cols=sql.SQL(", ").join(select_cols),
                         on_conflict=on_conflict)
            )
        else:
            # `existing` reads the target with the same snapshot as the merge, so the split into
            # inserted and updated is exact (partitioned tables cannot RETURN xmax to tell them apart)
            cur.execute(
                sql.SQL(
                    "WITH existing AS (SELECT {t_keys} FROM {target} t JOIN {staging} s USING ({keys})),"
                    " merged AS (INSERT INTO {target} AS t ({insert_cols}) SELECT {select_cols} FROM {staging} s"
                    " ON CONFLICT ({keys}) {on_conflict} RETURNING {t_keys})"
                    " SELECT count(*) FILTER (WHERE e.{first} IS NULL), count(*)"
                    " FROM merged m LEFT JOIN existing e USING ({keys})"
                ).format(
                    t_keys=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(k)) for k in key),
                    target=sql.Identifier(table), staging=staging, keys=keys, first=sql.Identifier(key[0]),
                    insert_cols=sql.SQL(", ").join(insert_cols), select_cols=sql.SQL(", ").join(select_cols),
                    on_conflict=on_conflict,
                )
            )
        inserted, written = cur.fetchone()
        cur.execute(sql.SQL("DROP TABLE {}").format(staging))
    return UpsertResult(staged=len(rows), inserted=inserted, updated=written - inserted)
