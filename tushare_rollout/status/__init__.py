"""The SSOT status matrix: what should exist (calendar x listed universe) against what is stored.

:mod:`.coverage` says what each dataset should hold; :mod:`.matrix` computes, stores and loads the
cells; :mod:`.render` shows them. :func:`applicability` decides which datasets are switched off.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ..db.rollout import latest_flags
from ..flags import BATCH_SWITCHES
from ..ingest.datasets import DATASETS
from .matrix import FLAG_OFF, NO_PERMISSION


def applicability(conn: Connection, rollout_batch: str | None = None) -> dict[str, str | None]:
    """Per dataset: ``None`` when it applies, else why not (``flag off: ...``, ``no permission: ...``).

    Flags come from the newest recorded ``rollout_flags_v1`` (with none on record every dataset
    applies); a dataset whose API the newest permission probe (of ``rollout_batch``, when given) found
    denied has no permission.
    """
    flags = latest_flags(conn, rollout_batch)
    probes = {api: (outcome, message) for api, outcome, message in conn.execute(text(
        "SELECT DISTINCT ON (api_name) api_name, outcome, message FROM permission_probes"
        " WHERE CAST(:rb AS text) IS NULL OR rollout_batch = :rb ORDER BY api_name, probed_at DESC, probe_id DESC"),
        {"rb": rollout_batch})}
    premarket = probes.get("stk_premarket", ("",))[0] == "granted"
    out: dict[str, str | None] = {}
    for name, d in DATASETS.items():
        reason = None
        if flags is not None:
            for flag in (BATCH_SWITCHES[d.batch.value], d.flag):
                state = flags.effective(flag, premarket_granted=premarket)
                if not state.effective:
                    reason = f"{FLAG_OFF}: {state.reason}"
                    break
        if reason is None and probes.get(d.api, ("",))[0] == "denied":
            reason = f"{NO_PERMISSION}: {probes[d.api][1] or d.api + ' was denied'}"
        out[name] = reason
    return out
