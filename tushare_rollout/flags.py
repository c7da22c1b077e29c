"""``rollout_flags_v1`` and the effective-flag rules. Pure: no I/O.

A batch switch (``p0Enabled``, ``p1Enabled``, ``p2Enabled``) decides whether that batch may run at
all; a P2 sub-flag has no effect while ``p2Enabled`` is off; the premarket flag also needs a granted
``stk_premarket`` probe on record.

>>> flags = RolloutFlags(p0Enabled=True, p2RealtimeIndexV1=True)
>>> flags.effective("p0Enabled")
Effective(flag='p0Enabled', set=True, effective=True, reason=None)
>>> flags.effective("p2RealtimeIndexV1").reason
'p2Enabled is off: P2 sub-flags have no effect without it'
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

BATCH_SWITCHES = {"P0": "p0Enabled", "P1": "p1Enabled", "P2": "p2Enabled"}
P2_SUBFLAGS = ("p2RealtimeIndexV1", "p2RealtimeEquityEtfV1", "p2FuturesMicrostructureV1",
               "p2SpecialPermissionStkPremarketV1")
PREMARKET_FLAG = "p2SpecialPermissionStkPremarketV1"


@dataclass(frozen=True)
class Effective:
    flag: str
    set: bool
    effective: bool
    reason: str | None  # why a set flag is not effective, or why an unset one is off


class RolloutFlags(BaseModel):
    """The roadmap's ``rollout_flags_v1``, field names exactly as written there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p0Enabled: bool = True
    p1Enabled: bool = False
    p2Enabled: bool = False
    p2RealtimeIndexV1: bool = False
    p2RealtimeEquityEtfV1: bool = False
    p2FuturesMicrostructureV1: bool = False
    p2SpecialPermissionStkPremarketV1: bool = False
    updatedAt: int = Field(0, ge=0, description="epoch milliseconds; moves forward on every change")

    def effective(self, flag: str, *, premarket_granted: bool = False) -> Effective:
        """Whether ``flag`` is in force, and if not, why (in words a person can act on)."""
        value = getattr(self, flag)
        if not value:
            return Effective(flag, False, False, f"{flag} is off")
        if flag in P2_SUBFLAGS and not self.p2Enabled:
            return Effective(flag, True, False, "p2Enabled is off: P2 sub-flags have no effect without it")
        if flag == PREMARKET_FLAG and not premarket_granted:
            return Effective(flag, True, False, "no granted stk_premarket permission probe on record")
        return Effective(flag, True, True, None)

    def all_effective(self, *, premarket_granted: bool = False) -> list[Effective]:
        names = [n for n in type(self).model_fields if n != "updatedAt"]
        return [self.effective(n, premarket_granted=premarket_granted) for n in names]

    def audit_row(self) -> dict[str, object]:
        """The flags as the audit table's snake_case columns."""
        return {"updated_at_ms": self.updatedAt, "p0_enabled": self.p0Enabled, "p1_enabled": self.p1Enabled,
                "p2_enabled": self.p2Enabled, "p2_realtime_index_v1": self.p2RealtimeIndexV1,
                "p2_realtime_equity_etf_v1": self.p2RealtimeEquityEtfV1,
                "p2_futures_microstructure_v1": self.p2FuturesMicrostructureV1,
                "p2_special_permission_stk_premarket_v1": self.p2SpecialPermissionStkPremarketV1}

    @classmethod
    def from_audit_row(cls, row: dict[str, object]) -> RolloutFlags:
        return cls(updatedAt=row["updated_at_ms"], p0Enabled=row["p0_enabled"], p1Enabled=row["p1_enabled"],
                   p2Enabled=row["p2_enabled"], p2RealtimeIndexV1=row["p2_realtime_index_v1"],
                   p2RealtimeEquityEtfV1=row["p2_realtime_equity_etf_v1"],
                   p2FuturesMicrostructureV1=row["p2_futures_microstructure_v1"],
                   p2SpecialPermissionStkPremarketV1=row["p2_special_permission_stk_premarket_v1"])
