"""Lineage without per-row foreign keys: run_id gets a BRIN index instead of a B-tree and no FK.

The foreign key from every data row to ingest_runs was checked once per written row and cost a
quarter of the bulk-load time; lineage integrity is checked by the stability gate in one query.
run_id grows with insertion order, so a BRIN index (a few pages) finds a run's rows for a rollback.

Revision ID: c3e8f1a27d45
Revises: b71d2e9c4a10
Create Date: 2026-11-24 06:50:00+00:00
"""

from __future__ import annotations

from alembic import op

revision = 'c3e8f1a27d45'
down_revision = 'b71d2e9c4a10'
branch_labels = None
depends_on = None

# every data table (they all carry run_id); frozen here, as a migration must be
DATA_TABLES = (
    "adj_factor", "daily_bar", "fut_holding", "fut_warehouse_receipt", "future_daily_extra", "fx_daily_quote",
    "index_weight", "instrument", "macro_observation", "minute_bar", "realtime_minute_bar", "realtime_quote",
    "sge_daily_extra", "stk_premarket", "stock_daily_basic", "trade_calendar",
)


def upgrade() -> None:
    for table in DATA_TABLES:
        op.drop_constraint(f"fk_{table}_run_id_ingest_runs", table, type_="foreignkey")
        op.drop_index(f"ix_{table}_run_id", table_name=table)
        op.create_index(f"ix_{table}_run_id", table, ["run_id"], postgresql_using="brin")
        op.execute(f"COMMENT ON COLUMN {table}.run_id IS 'ingest_runs.run_id of the run that last changed it'")


def downgrade() -> None:
    for table in DATA_TABLES:
        op.execute(f"COMMENT ON COLUMN {table}.run_id IS NULL")
        op.drop_index(f"ix_{table}_run_id", table_name=table)
        op.create_index(f"ix_{table}_run_id", table, ["run_id"])
        op.create_foreign_key(f"fk_{table}_run_id_ingest_runs", table, "ingest_runs", ["run_id"], ["run_id"])
