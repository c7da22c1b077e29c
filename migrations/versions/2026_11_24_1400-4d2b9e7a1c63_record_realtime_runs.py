"""Record the realtime snapshot runs (ingest_runs.mode 'realtime', taken by ``job realtime``).

Revision ID: 4d2b9e7a1c63
Revises: 00ef731926b4
Create Date: 2026-11-24 14:00:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

revision = '4d2b9e7a1c63'
down_revision = '00ef731926b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint(op.f('ck_ingest_runs_mode'), 'ingest_runs', type_='check')
    op.create_check_constraint(op.f('ck_ingest_runs_mode'), 'ingest_runs',
                               "mode IN ('backfill', 'incremental', 'daily', 'realtime')")


def downgrade() -> None:
    # the older vocabulary has no word for a snapshot run: they are kept, recorded as incremental
    op.execute("UPDATE ingest_runs SET mode = 'incremental' WHERE mode = 'realtime'")
    op.drop_constraint(op.f('ck_ingest_runs_mode'), 'ingest_runs', type_='check')
    op.create_check_constraint(op.f('ck_ingest_runs_mode'), 'ingest_runs', "mode IN ('backfill', 'incremental', 'daily')")
