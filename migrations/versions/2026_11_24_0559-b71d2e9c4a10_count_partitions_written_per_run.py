"""Count the partitions each ingest run committed (ingest_runs.partitions_written).

Revision ID: b71d2e9c4a10
Revises: a0c1e5d2b7f4
Create Date: 2026-11-24 05:59:17.382308+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b71d2e9c4a10'
down_revision = 'a0c1e5d2b7f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ingest_runs', sa.Column('partitions_written', sa.BigInteger(), server_default='0', nullable=False,
                                           comment='partitions committed with their checkpoint'))


def downgrade() -> None:
    op.drop_column('ingest_runs', 'partitions_written')
