"""Rules every model follows, checked on the metadata (no database needed)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint

from tushare_rollout.db import NAMING_CONVENTION, Base, metadata
from tushare_rollout.db import extension, migrate, unified

DECLARED_NOT_INGESTED = {"macro_series"}
DATA_TABLES = sorted(
    m.class_.__table__.name
    for m in Base.registry.mappers
    if m.class_.__module__ in (unified.__name__, extension.__name__)
    and m.class_.__table__.name not in DECLARED_NOT_INGESTED
)


def test_naming_convention_has_the_five_keys() -> None:
    assert set(NAMING_CONVENTION) == {"ix", "uq", "ck", "fk", "pk"}


def test_constraint_names_follow_the_convention() -> None:
    for table in metadata.sorted_tables:
        assert table.primary_key.name == f"pk_{table.name}"
        for check in (c for c in table.constraints if isinstance(c, CheckConstraint)):
            assert check.name.startswith(f"ck_{table.name}_"), check.name


def test_exactly_one_migration_head() -> None:
    assert len(migrate.heads()) == 1


def test_revision_files_follow_the_naming_rule() -> None:
    files = list((migrate.MIGRATIONS_DIR / "versions").glob("*.py"))
    assert files
    for path in files:
        assert re.fullmatch(r"\d{4}_\d{2}_\d{2}_\d{4}-[0-9a-f]{12}_[a-z0-9_]+\.py", path.name), path.name


@pytest.mark.parametrize("table", DATA_TABLES)
def test_every_data_table_records_the_run_that_wrote_it(table: str) -> None:
    t = metadata.tables[table]
    assert not t.c.run_id.nullable and not t.c.written_at.nullable
    (index,) = [i for i in t.indexes if [c.name for c in i.columns] == ["run_id"]]
    assert index.dialect_options["postgresql"]["using"] == "brin"  # cheap to keep, finds a run's rows
    assert not [f for f in t.foreign_keys if f.parent.name == "run_id"]  # per-row checks cost a quarter of a load


@pytest.mark.parametrize("table", DATA_TABLES)
def test_every_data_table_has_a_natural_primary_key(table: str) -> None:
    key = [c.name for c in metadata.tables[table].primary_key.columns]
    assert len(key) >= 2 and "run_id" not in key


@pytest.mark.parametrize(
    ("table", "column"),
    [("instrument", "asset_class"), ("daily_bar", "asset_class"), ("trade_calendar", "exchange"),
     ("macro_observation", "available_source"), ("ingest_runs", "status"), ("ingest_runs", "batch"),
     ("gate_check_results", "severity"), ("permission_probes", "outcome"), ("status_matrix", "status"),
     ("read_switch", "module"), ("minute_bar", "freq")],
)
def test_closed_sets_are_checked(table: str, column: str) -> None:
    checks = [c for c in metadata.tables[table].constraints if isinstance(c, CheckConstraint)]
    assert any(str(c.sqltext).startswith(f"{column} IN (") for c in checks)


def test_month_partitioned_tables_carry_the_time_in_their_key() -> None:
    for table, column in extension.MONTH_PARTITIONED.items():
        t = metadata.tables[table]
        assert t.dialect_options["postgresql"]["partition_by"] == f"RANGE ({column})"
        assert column in [c.name for c in t.primary_key.columns]
