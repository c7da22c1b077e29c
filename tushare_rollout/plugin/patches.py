"""What each changing verb sends: the current RolloutBatch in, a JSON merge patch of ``spec`` out.

Pure: no I/O, the clock is passed in. A verb that cannot apply raises :class:`PatchError` with a
sentence that says what to do instead; a verb that would change nothing returns a :class:`Change`
whose ``body`` is None.

>>> rb = {"metadata": {"name": "p0"}, "spec": {"targetPhase": "B", "flags": {"updatedAt": 5}}}
>>> promote(rb).body
{'spec': {'targetPhase': 'C'}}
>>> rollback(rb, "a").summary
'targetPhase B -> A (the operator rolls back the phases above A, newest first)'
>>> set_flags(rb, ["p1Enabled=true"], now_ms=3).body
{'spec': {'flags': {'p1Enabled': True, 'updatedAt': 6}}}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..flags import RolloutFlags
from ..operator.vocabulary import PHASES, Phase, PhaseState

FLAG_NAMES = tuple(name for name in RolloutFlags.model_fields if name != "updatedAt")
FLAG_DEFAULTS = {name: RolloutFlags.model_fields[name].default for name in FLAG_NAMES}
TOKEN_MAX = 63  # the CRD's maxLength of spec.retryToken
RETRY_STATES = (PhaseState.FAILED.value, PhaseState.FROZEN.value)


class PatchError(ValueError):
    """A verb that cannot apply to this object or these arguments; the message says what to do."""


@dataclass(frozen=True)
class Change:
    """The merge patch to send (None: nothing would change) and what it does, in words."""

    body: dict[str, Any] | None
    summary: str


def promote(obj: Mapping[str, Any]) -> Change:
    """Raise ``spec.targetPhase`` by one phase."""
    current = _target(obj)
    if current is PHASES[-1]:
        raise PatchError(f"targetPhase is already {current.value}, the last phase: there is nothing to promote to")
    new = PHASES[PHASES.index(current) + 1]
    return Change({"spec": {"targetPhase": new.value}}, f"targetPhase {current.value} -> {new.value}")


def rollback(obj: Mapping[str, Any], to: str) -> Change:
    """Lower ``spec.targetPhase`` to ``to``; the operator rolls back the phases above it."""
    current, wanted = _target(obj), _phase(to, "--to")
    if wanted == current:
        raise PatchError(f"targetPhase is already {current.value}: rollback --to needs a phase below it "
                         "(to go forward, use promote)")
    if wanted > current:
        raise PatchError(f"--to {wanted.value} is above the current targetPhase {current.value}: rollback only "
                         "lowers it; use promote to raise it")
    return Change({"spec": {"targetPhase": wanted.value}},
                  f"targetPhase {current.value} -> {wanted.value} (the operator rolls back the phases above "
                  f"{wanted.value}, newest first)")


def pause(obj: Mapping[str, Any]) -> Change:
    """``spec.paused: true``: nothing new starts, running Jobs finish."""
    if _spec(obj).get("paused") is True:
        return Change(None, "already paused (spec.paused is true)")
    return Change({"spec": {"paused": True}}, "paused: nothing new starts; running Jobs finish")


def resume(obj: Mapping[str, Any]) -> Change:
    """``spec.paused: false``."""
    if not _spec(obj).get("paused"):
        return Change(None, "not paused (spec.paused is false)")
    return Change({"spec": {"paused": False}}, "resumed (spec.paused is false)")


def retry(obj: Mapping[str, Any], token: str | None, now: dt.datetime) -> Change:
    """A new ``spec.retryToken``: the Failed or Frozen phase runs again as a new attempt.

    Without ``token``, one made from ``now`` (UTC), different from the current one.
    """
    current = _spec(obj).get("retryToken") or ""
    if token is None:
        base = f"retry-{now.astimezone(dt.timezone.utc):%Y%m%d-%H%M%S}"
        token, n = base, 1
        while token == current:
            n += 1
            token = f"{base}-{n}"
    elif not token.strip():
        raise PatchError("--token must not be empty (omit it for a fresh timestamp-based token)")
    elif token == current:
        raise PatchError(f"--token {token!r} is already spec.retryToken: a retry needs a new value "
                         "(omit --token for a fresh one)")
    if len(token) > TOKEN_MAX:
        raise PatchError(f"--token is {len(token)} characters long; spec.retryToken takes at most {TOKEN_MAX}")
    phases = (obj.get("status") or {}).get("phases") or {}
    stuck = [p for p in (x.value for x in PHASES) if (phases.get(p) or {}).get("state") in RETRY_STATES]
    note = (f"phase {stuck[0]} runs again as a new attempt" if stuck else
            "no phase is Failed or Frozen in the status now: the operator only acknowledges it")
    return Change({"spec": {"retryToken": token}}, f"retryToken {token} ({note})")


def set_flags(obj: Mapping[str, Any], assignments: Sequence[str], now_ms: int) -> Change:
    """Set rollout_flags_v1 flags from ``FLAG=true|false`` and stamp ``flags.updatedAt``.

    ``updatedAt`` becomes max(now, old + 1), so it moves forward even against a clock behind the stored value.
    """
    if not assignments:
        raise PatchError(f"name at least one FLAG=true|false; the flags are {', '.join(FLAG_NAMES)}")
    wanted: dict[str, bool] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep:
            raise PatchError(f"{item!r} is not FLAG=true|false; the flags are {', '.join(FLAG_NAMES)}")
        if name == "updatedAt":
            raise PatchError("flags.updatedAt is stamped by this command (now, moved past the stored value); "
                             f"set only the flags: {', '.join(FLAG_NAMES)}")
        if name not in FLAG_NAMES:
            raise PatchError(f"unknown flag {name!r}; the rollout_flags_v1 flags are {', '.join(FLAG_NAMES)}")
        value = {"true": True, "false": False}.get(raw.strip().lower())
        if value is None:
            raise PatchError(f"{name}={raw}: a flag is true or false")
        if wanted.get(name, value) != value:
            raise PatchError(f"{name} is given twice, as true and as false")
        wanted[name] = value
    flags = _spec(obj).get("flags") or {}
    changed = {n: v for n, v in wanted.items() if flags.get(n, FLAG_DEFAULTS[n]) != v}
    if not changed:
        return Change(None, ", ".join(f"{n} is already {_b(v)}" for n, v in wanted.items()))
    old = flags.get("updatedAt")
    stamp = max(int(now_ms), int(old) + 1) if isinstance(old, int) else int(now_ms)
    said = ", ".join(f"{n} {_b(not v)} -> {_b(v)}" for n, v in changed.items())
    return Change({"spec": {"flags": {**changed, "updatedAt": stamp}}}, f"{said}; flags.updatedAt {old} -> {stamp}")


def guarded(body: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """The patch as sent: with the resourceVersion it was computed from, so a concurrent change is refused (409).

    >>> guarded({"spec": {"paused": True}}, "42")
    {'spec': {'paused': True}, 'metadata': {'resourceVersion': '42'}}
    """
    return {**body, "metadata": {"resourceVersion": resource_version}}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _target(obj: Mapping[str, Any]) -> Phase:
    value = _spec(obj).get("targetPhase")
    try:
        return Phase(value)
    except ValueError:
        raise PatchError(f"spec.targetPhase is {value!r}, not one of {', '.join(p.value for p in PHASES)}; "
                         "fix the object first") from None


def _phase(value: str, option: str) -> Phase:
    try:
        return Phase(value.strip().upper())
    except ValueError:
        raise PatchError(f"{option} is one of {', '.join(p.value for p in PHASES)}, got {value!r}") from None


def _b(value: bool) -> str:
    return "true" if value else "false"
