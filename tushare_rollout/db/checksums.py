"""Table checksums: how two loads of the same data are shown identical (the rollback drill, the fault
drills, the tests).

A checksum is, per table, the row count and an md5 over every column except lineage (``run_id``,
``written_at``: which run wrote a row differs between two loads of the same data), the rows in
primary-key order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text

from . import metadata

LINEAGE = ("run_id", "written_at")
Checksums = dict[str, tuple[int, str]]


def checksums(bind: Engine | Connection, tables: Iterable[str]) -> Checksums:
    """Per table: row count and an md5 over every column except lineage, in key order."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return checksums(conn, tables)
    out = {}
    for name in tables:
        table = metadata.tables[name]
        cols = ", ".join(c.name for c in table.c if c.name not in LINEAGE)
        key = ", ".join(c.name for c in table.primary_key.columns)
        count, digest = bind.execute(text(
            f"SELECT count(*), coalesce(md5(string_agg(row({cols})::text, '|' ORDER BY {key})), '') FROM {name}"
        )).one()
        out[name] = (int(count), digest)
    return out
