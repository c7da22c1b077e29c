"""How a drill decides that nothing was lost or duplicated: table checksums against an undisturbed run,
duplicate keys, and partitions that are whole or absent.

A checksum is, per data table, the row count and an md5 over every column except lineage
(``run_id``, ``written_at``: which run wrote a row differs between two loads of the same data), the
rows in primary-key order. Two loads of the same window are identical when every table's pair is equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from ..db import metadata
from ..db.base import Batch
from ..db.checksums import LINEAGE, Checksums, checksums
from ..ingest.datasets import DATASETS, Dataset, Plan, Writer
from ..ingest.loader import checkpoints

if TYPE_CHECKING:
    from .context import Reference
    from .model import Observation



__all__ = ["LINEAGE", "Checksums", "checksums", "data_tables", "differences", "duplicate_keys", "identical",
           "partition_problems"]  # the checksum itself lives in db.checksums (the rollback drill uses it too)

def data_tables(batch: Batch | None = None) -> list[str]:
    """The tables datasets write (of one batch, or of all): what a drill compares.

    >>> data_tables(Batch.P0)[:3]
    ['adj_factor', 'daily_bar', 'future_daily_extra']
    """
    return sorted({t.table for d in DATASETS.values() if batch is None or d.batch is batch for t in d.targets})


def differences(got: Mapping[str, tuple[int, str]], expected: Mapping[str, tuple[int, str]]) -> list[str]:
    """What differs from the reference, per table, in words.

    >>> differences({"a": (3, "x"), "b": (2, "y")}, {"a": (4, "z"), "b": (2, "w")})
    ['a: 3 rows, the reference has 4', 'b: 2 rows as the reference, different values']
    >>> differences({"a": (3, "x")}, {"a": (3, "x")})
    []
    """
    out = []
    for name in sorted(set(got) | set(expected)):
        (n, digest), (m, ref) = got.get(name, (0, "")), expected.get(name, (0, ""))
        if n != m:
            out.append(f"{name}: {n} rows, the reference has {m}")
        elif digest != ref:
            out.append(f"{name}: {n} rows as the reference, different values")
    return out


def duplicate_keys(conn: Connection, tables: Iterable[str]) -> dict[str, int]:
    """Per table with any: rows whose primary key another row also has (counted, not assumed from the
    constraint)."""
    out = {}
    for name in tables:
        key = ", ".join(c.name for c in metadata.tables[name].primary_key.columns)
        extra = conn.execute(text(f"SELECT count(*) - count(DISTINCT ({key})) FROM {name}")).scalar_one()
        if extra:
            out[name] = extra
    return out


def partition_problems(conn: Connection, datasets: Iterable[Dataset] | None = None) -> list[str]:
    """Trade-date partitions that are not whole-or-absent: rows stored for a day without its checkpoint
    (a half-written partition), or a checkpoint whose day holds another number of rows than it recorded.

    Checked on each trade-date dataset's first target table (the one its checkpoint counts)."""
    out = []
    for d in DATASETS.values() if datasets is None else datasets:
        target = d.targets[0]
        if d.plan is not Plan.TRADE_DATE or d.writer is not Writer.UPSERT or "trade_date" not in target.columns:
            continue
        where = "WHERE asset_class = :ac" if "asset_class" in target.columns else ""
        stored = dict(conn.execute(text(
            f"SELECT to_char(trade_date, 'YYYYMMDD'), count(*) FROM {target.table} {where} GROUP BY 1"),
            {"ac": d.asset_class}).all())
        marks = checkpoints(conn, d.name)
        partial = sorted(set(stored) - set(marks))
        if partial:
            out.append(f"{d.name}: rows without a checkpoint on {', '.join(partial[:5])}")
        wrong = sorted(k for k, n in marks.items() if stored.get(k, 0) != n)
        if wrong:
            out.append(f"{d.name}: checkpoint and stored rows disagree on " + ", ".join(
                f"{k} ({marks[k]} vs {stored.get(k, 0)})" for k in wrong[:5]))
    return out


def identical(obs: Observation, engine: Engine, ref: Reference, datasets: Iterable[Dataset] | None = None) -> bool:
    """A recovered database against the reference: checksums equal and no duplicate keys (and, given
    ``datasets``, their partitions whole or absent), each finding noted in ``obs``; True when identical."""
    got = checksums(engine, ref.tables)
    with engine.connect() as conn:
        dups = duplicate_keys(conn, ref.tables)
        problems = partition_problems(conn, list(datasets)) if datasets is not None else []
    obs.expect(not dups, "duplicate keys: " + ", ".join(f"{t} {n}" for t, n in dups.items()))
    obs.expect(not problems, "after the rerun: " + "; ".join(problems))
    diff = differences(got, ref.checksums)
    rows = sum(n for n, _ in got.values())
    obs.saw(f"{len(ref.tables)} tables, {rows} rows: " + ("identical to the reference" if not diff else
                                                          "DIFFERENT from the reference: " + "; ".join(diff)))
    return not diff
