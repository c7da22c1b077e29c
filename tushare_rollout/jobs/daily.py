"""``tushare-rollout job daily --phase X``: a passed phase's steady-state run, started by its CronJob.

First the phase's batch is ingested incrementally (the look-back window's incomplete partitions up
to yesterday, or ``--end``), then the phase's gate runs over the gate window (never before the
backfill start) and stores its results under this Job's name — the operator reads them as the
phase's daily gate, and a FAIL there is a regression that freezes every later phase.

The gate runs even when the ingestion failed: whatever is missing then shows in its checks. Exit
code: the gate's 2 (FAIL) or 4 first, then the ingestion's non-zero code, then the gate's 3.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from ..db.base import Batch
from ..gates import runner
from . import TERMINATION_LOG_BYTES, ExitCode, fit_json
from . import gate as gate_job
from . import ingest as ingest_job
from .settings import JobSettings

BEIJING = dt.timezone(dt.timedelta(hours=8))
DAILY_PHASES = {p: b[0] for p, b in runner.PHASE_BATCHES.items() if p in ("B", "C", "D")}


@dataclass
class DailyOutcome:
    code: ExitCode
    message: str
    ingested: ingest_job.IngestResult | None = None
    gated: gate_job.GateOutcome | None = None

    def as_json(self, limit: int = TERMINATION_LOG_BYTES - 1) -> str:
        body: dict = {"exitCode": int(self.code), "message": self.message}
        if self.ingested is not None:
            body["ingest"] = {"exitCode": int(self.ingested.code), "message": self.ingested.message}
        if self.gated is not None:
            body["gate"] = json.loads(self.gated.as_json())
        if len(json.dumps(body, default=str, ensure_ascii=False).encode()) > limit and "gate" in body:
            body["gate"] = json.loads(fit_json(body["gate"], limit // 2))
        return fit_json(body, limit)


def run(settings: JobSettings, *, phase: str, end: dt.date | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> DailyOutcome:
    if phase not in DAILY_PHASES:
        return DailyOutcome(ExitCode.BAD_CONFIGURATION,
                            f"--phase is one of {', '.join(DAILY_PHASES)} (phases that load a batch), got {phase!r}")
    ingested = ingest_job.run(settings, batch=Batch(DAILY_PHASES[phase]), mode="incremental", end=end)
    if ingested.code is ExitCode.BAD_CONFIGURATION and not ingested.outcomes:  # nothing ran: the setup is wrong
        return DailyOutcome(ingested.code, f"ingest: {ingested.message}", ingested)
    as_of = dt.datetime.combine(end, dt.time(23, 59, 59), BEIJING) if end else now()
    gated = gate_job.run(settings, phase=phase, as_of=as_of, floor=settings.backfill_start)
    if gated.code in (ExitCode.CHECK_FAILED, ExitCode.BAD_CONFIGURATION):
        code = gated.code
    else:
        code = ingested.code if ingested.code is not ExitCode.OK else gated.code
    return DailyOutcome(code, f"ingest: {ingested.message}; gate: {gated.message}", ingested, gated)

