"""Phase A's acceptance: the schema is at head, and the flags and the rollback baseline are recorded."""

from __future__ import annotations

from ..db import migrate
from ..db.rollout import has_baseline, latest_flags
from .context import Context
from .model import Check, Gate, Measurement


def _schema(ctx: Context) -> list[Measurement]:
    position = migrate.position(ctx.conn)
    return [Measurement(0 if position.at_head else 1, sample=[] if position.at_head else [position.describe()],
                        message=position.describe())]


def _flags(ctx: Context) -> list[Measurement]:
    flags = latest_flags(ctx.conn, ctx.rollout_batch)
    return [Measurement(0 if flags else 1, message=f"flags updatedAt={flags.updatedAt} on record" if flags else
                        f"no rollout_flags_v1 recorded for {ctx.rollout_batch or 'any RolloutBatch'}")]


def _rollback(ctx: Context) -> list[Measurement]:
    ok = has_baseline(ctx.conn, ctx.rollout_batch)
    return [Measurement(0 if ok else 1, message="rollback baseline on record" if ok else
                        f"no rollback baseline recorded for {ctx.rollout_batch or 'any RolloutBatch'}")]


CHECKS = [
    Check("baseline.schema_at_head", Gate.BATCH, "1 when the database is not at the migrations' head", 0, 0, _schema,
          how_to_fix="run `tushare-rollout job migrate`"),
    Check("baseline.flags_recorded", Gate.BATCH, "1 when no rollout_flags_v1 is on record", 0, 0, _flags,
          how_to_fix="run `tushare-rollout job baseline` (phase A's Job does)"),
    Check("baseline.rollback_baseline_recorded", Gate.BATCH, "1 when no rollback baseline is on record", 0, 0,
          _rollback, how_to_fix="run `tushare-rollout job baseline` (phase A's Job does)"),
]
