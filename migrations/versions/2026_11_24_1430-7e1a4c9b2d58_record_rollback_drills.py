"""Record phase E's rollback drills (rollback_drills).

Revision ID: 7e1a4c9b2d58
Revises: 4d2b9e7a1c63
Create Date: 2026-11-24 14:30:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '7e1a4c9b2d58'
down_revision = '4d2b9e7a1c63'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rollback_drills',
        sa.Column('drill_id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('rollout_batch', sa.String(length=253), nullable=False, comment='namespace/name'),
        sa.Column('job_name', sa.String(length=253), nullable=True, comment='the Kubernetes Job that ran it'),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('scratch_schema', sa.String(length=63), nullable=False, comment='the disposable copy (dropped)'),
        sa.Column('readers_lost', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False,
                  comment='view -> rows visible before and after rollback'),
        sa.Column('readers_kept', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False,
                  comment='P0/P1 view -> rows, unchanged by the rollback'),
        sa.Column('tables', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False,
                  comment='table -> rows before, after rollback, after roll-forward'),
        sa.Column('differences', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False,
                  comment='what was not as required (empty when passed)'),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('finished_at >= started_at', name=op.f('ck_rollback_drills_finished_after_start')),
        sa.PrimaryKeyConstraint('drill_id', name=op.f('pk_rollback_drills')),
    )
    op.create_index(op.f('ix_rollback_drills_rollout_batch'), 'rollback_drills',
                    ['rollout_batch', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rollback_drills_rollout_batch'), table_name='rollback_drills')
    op.drop_table('rollback_drills')
