"""The Argo CD health check (``gitops/argocd/rolloutbatch-health.lua``), run in Lua 5.1 as Argo CD runs it
(gopher-lua: base and table libraries only, ``obj`` a global, the chunk returns ``hs``), on hand-written edge
cases and on real statuses: the ones ``decide()`` writes, driven through the scenarios of test_decide's
simulated world. Also: the argocd-cm copy is the .lua file, and the Flux example points at what exists."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51
from test_decide import ALL_BUILT, FAILED_GATE, OK, World, daily_run, gate_fails_in, spec

from tushare_rollout.operator.model import Spec
from tushare_rollout.operator.vocabulary import JobState, Phase, Step

ROOT = Path(__file__).parents[2]
SCRIPT = (ROOT / "gitops" / "argocd" / "rolloutbatch-health.lua").read_text()
# what the script may answer; Argo CD also knows Missing and Unknown, which it sets itself
HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended"}

# Argo CD opens only the base, table and package libraries (and a "safe" os) unless useOpenLibs is set
# for the kind; without the string library strings have no methods either. The test runtime is cut down
# the same way, so a script that calls string.format or s:find fails here as it would in Argo CD.
SANDBOX = """
getmetatable("").__index = nil
string, io, math, debug, coroutine, os, require = nil, nil, nil, nil, nil, nil, nil
"""


def to_lua(lua: Any, value: Any) -> Any:
    """A JSON value as Argo CD hands it to Lua: objects become tables, arrays 1-based tables, null nothing."""
    if isinstance(value, dict):
        return lua.table_from({k: to_lua(lua, v) for k, v in value.items() if v is not None})
    if isinstance(value, list):
        return lua.table_from([to_lua(lua, v) for v in value])
    return value


def health(obj: dict) -> tuple[str, str]:
    """Run the health check on ``obj`` in a fresh Lua state (Argo CD makes one per call)."""
    lua = lua51.LuaRuntime()
    lua.execute(SANDBOX)
    lua.globals().obj = to_lua(lua, obj)
    hs = lua.execute(SCRIPT)
    assert lua51.lua_type(hs) == "table", f"the script returned {hs!r}, not a table"
    result = dict(hs.items())
    assert set(result) <= {"status", "message"}, result
    assert result.get("status") in HEALTH, result
    assert isinstance(result.get("message"), str) and result["message"], result  # Argo CD decodes it as a string
    return result["status"], result["message"]


def rolloutbatch(status: dict | None, generation: int = 1, paused: bool = False) -> dict:
    obj: dict[str, Any] = {"apiVersion": "tushare-rollout.io/v1alpha1", "kind": "RolloutBatch",
                           "metadata": {"name": "p0", "namespace": "data", "generation": generation},
                           "spec": {"targetPhase": "B", "paused": paused}}
    if status is not None:
        obj["status"] = status
    return obj


def conditions(**kinds: str) -> list[dict]:
    return [{"type": k, "status": v, "reason": "R", "message": "", "lastTransitionTime": "2024-03-29T12:00:00Z"}
            for k, v in kinds.items()]


# -- (a) hand-written edge cases ---------------------------------------------------------------------


@pytest.mark.parametrize(("obj", "expected", "says"), [
    (rolloutbatch(None), "Progressing", "waiting for the operator"),
    (rolloutbatch({}), "Progressing", "waiting for the operator"),
    (rolloutbatch({"state": "Succeeded", "conditions": conditions(Ready="True")}), "Progressing",
     "waiting for the operator"),
    (rolloutbatch({"observedGeneration": 1, "conditions": conditions(Ready="True")}, generation=2), "Progressing",
     "generation 2 not observed yet (status is of 1)"),
    (rolloutbatch({"observedGeneration": 1, "conditions": conditions(Stalled="True")}, generation=2),
     "Progressing", "waiting for the operator"),
    (rolloutbatch({"observedGeneration": 3, "conditions": conditions(Ready="True"), "message": "done"}), "Healthy",
     "done"),
    (rolloutbatch({"observedGeneration": 1, "state": "Progressing", "message": "phase A: migrate running"}),
     "Progressing", "phase A: migrate running"),
    (rolloutbatch({"observedGeneration": 1, "conditions": []}), "Progressing", "state unknown"),
    (rolloutbatch({"observedGeneration": 1, "conditions": [{"type": "Ready"}, {"status": "True"}, "junk"]}),
     "Progressing", "state unknown"),
    (rolloutbatch({"observedGeneration": 1, "conditions": "Ready"}), "Progressing", "state unknown"),
    (rolloutbatch({"observedGeneration": 1, "conditions": conditions(Stalled="True")}), "Degraded",
     "stalled: a person must act"),
    (rolloutbatch({"observedGeneration": 1, "frozenFrom": "C", "message": "gate failed",
                   "conditions": conditions(Stalled="True", Frozen="True")}), "Degraded",
     "gate failed (phases after C are frozen)"),
    (rolloutbatch({"observedGeneration": 1, "conditions": conditions(Paused="True", Stalled="True")}), "Degraded",
     "stalled"),
    (rolloutbatch({"observedGeneration": 1, "conditions": conditions(Paused="True", Ready="True"),
                   "state": "Succeeded", "message": "target phase B reached"}), "Suspended",
     "paused by spec.paused: target phase B reached"),
    (rolloutbatch({"observedGeneration": 1, "state": "Waiting", "conditions": conditions(Reconciling="False")}),
     "Progressing", "waiting: a rule holds the next phase"),
    (rolloutbatch({"observedGeneration": 1, "state": "Frozen", "message": 42}), "Progressing", "state Frozen"),
    (rolloutbatch({"observedGeneration": 1, "message": "running", "conditions": conditions(Ready="Unknown")}),
     "Progressing", "running"),
    ({"kind": "RolloutBatch", "status": {"observedGeneration": 1, "conditions": conditions(Ready="True")}},
     "Healthy", "every phase up to the target passed"),
    ({"metadata": "odd", "status": "odd"}, "Progressing", "waiting for the operator"),
], ids=["no-status", "empty-status", "status-without-observed-generation", "stale-generation",
        "stale-generation-beats-stalled", "observed-newer-than-generation-counts-as-observed",
        "missing-conditions", "empty-conditions", "malformed-conditions", "conditions-not-a-list",
        "stalled-without-message", "stalled-names-frozen-from", "stalled-beats-paused", "paused-beats-ready",
        "waiting-without-message", "unknown-state-and-non-string-message", "ready-unknown",
        "no-metadata", "wrong-types"])
def test_edge_cases(obj: dict, expected: str, says: str) -> None:
    status, message = health(obj)
    assert status == expected and says in message, (status, message)


# -- (b) the statuses decide() really writes -----------------------------------------------------------

GATE_RUNS = lambda j: (JobState.ACTIVE, None, None) if j.step is Step.GATE and j.phase is Phase.B else OK  # noqa: E731
INFRA = lambda j: (JobState.FAILED, "DeadlineExceeded", None) if j.step is Step.INGEST else OK  # noqa: E731
REFUSED = lambda j: (JobState.FAILED, "PodFailurePolicy", None) if j.step is Step.BASELINE else OK  # noqa: E731


def _passed() -> tuple[World, Spec]:
    w = World()
    w.run(spec("B"))
    return w, spec("B")


def _first_job() -> tuple[World, Spec]:
    w = World()
    w.step(spec("B"))
    return w, spec("B")


def _gating() -> tuple[World, Spec]:
    w = World()
    w.run(spec("B"), outcome=GATE_RUNS)
    return w, spec("B")


def _rolling_back() -> tuple[World, Spec]:
    w, _ = _gating()
    w.step(spec("A"))
    return w, spec("A")


def _rolled_back() -> tuple[World, Spec]:
    w, _ = _passed()
    w.run(spec("A"))
    return w, spec("A")


def _gate_failed() -> tuple[World, Spec]:
    w = World(built=ALL_BUILT)
    w.run(spec("E", flags={"p1Enabled": True}), outcome=gate_fails_in(Phase.B))
    return w, spec("E", flags={"p1Enabled": True})


def _gate_failed_then_paused() -> tuple[World, Spec]:
    w, _ = _gate_failed()
    s = spec("E", flags={"p1Enabled": True}, paused=True)
    w.step(s)
    return w, s


def _retried() -> tuple[World, Spec]:
    w = World()
    w.run(spec("B"), outcome=gate_fails_in(Phase.B))
    w.run(spec("B", retry_token="fixed-data"))
    return w, spec("B", retry_token="fixed-data")


def _infra_stalled() -> tuple[World, Spec]:
    w = World()
    w.run(replace(spec("B"), infra_retries=1), outcome=INFRA)
    return w, replace(spec("B"), infra_retries=1)


def _refused() -> tuple[World, Spec]:
    w = World()
    w.run(spec("B"), outcome=REFUSED)
    return w, spec("B")


def _regressed() -> tuple[World, Spec]:
    w, s = _passed()
    w.daily = {Phase.B: daily_run(FAILED_GATE)}
    w.run(s)
    return w, s


def _paused() -> tuple[World, Spec]:
    w = World()
    w.step(spec("B"))
    w.finish()
    w.step(spec("B", paused=True))
    return w, spec("B", paused=True)


def _paused_at_target() -> tuple[World, Spec]:
    w, _ = _passed()
    w.step(spec("B", paused=True))
    return w, spec("B", paused=True)


def _switch_off() -> tuple[World, Spec]:
    w = World(built=ALL_BUILT)
    w.run(spec("E", flags={"p1Enabled": False}))
    return w, spec("E", flags={"p1Enabled": False})


def _not_built() -> tuple[World, Spec]:
    w = World()
    w.run(spec("E", flags={"p1Enabled": True}))
    return w, spec("E", flags={"p1Enabled": True})


def _streak_short() -> tuple[World, Spec]:
    s = spec("D", flags={"p1Enabled": True, "p2Enabled": True})
    w = World(built=ALL_BUILT, streaks={"P0": 1})
    w.run(s)
    return w, s


def _spec_changed_not_yet_observed() -> tuple[World, Spec]:
    w, _ = _passed()
    return w, spec("C", generation=2)  # targetPhase raised in git; the operator has not reconciled it yet


SCENARIOS = {  # name: (how the world got there, expected health, expected status.state, the message says)
    "passed-to-target": (_passed, "Healthy", "Succeeded", "target phase B reached"),
    "phase-running": (_first_job, "Progressing", "Progressing", "phase A: migrate running"),
    "gating": (_gating, "Progressing", "Gating", "phase B: gate running"),
    "rolling-back": (_rolling_back, "Progressing", "RollingBack", "rolling back: targetPhase lowered to A"),
    "rolled-back-by-lowered-target": (_rolled_back, "Healthy", "Succeeded", "target phase A reached"),
    "gate-failed": (_gate_failed, "Degraded", "Failed",
                    "phase B's gate failed: reconciliation.expected_keys; rolled back (phases after B are frozen)"),
    "gate-failed-and-paused": (_gate_failed_then_paused, "Degraded", "Failed", "phase B's gate failed"),
    "retried-after-a-fix": (_retried, "Healthy", "Succeeded", "target phase B reached"),
    "infrastructure-stalled": (_infra_stalled, "Degraded", "Failed", "change spec.retryToken to try again"),
    "job-refused": (_refused, "Degraded", "Failed", "the baseline Job p0-a-baseline-1 failed"),
    "daily-gate-regressed": (_regressed, "Degraded", "Failed",
                             "daily gate regressed (p0-b-daily-1): reconciliation.expected_keys"),
    "paused": (_paused, "Suspended", "Paused", "paused by spec.paused: nothing new starts"),
    "paused-at-target": (_paused_at_target, "Suspended", "Succeeded",
                         "paused by spec.paused: target phase B reached"),
    "waiting-on-a-switch": (_switch_off, "Progressing", "Waiting",
                            "waiting: p1Enabled is off: phase C waits (it is not skipped)"),
    "waiting-on-a-batch-not-built": (_not_built, "Progressing", "Waiting",
                                     "waiting: phase C needs batch P1, which this release does not build yet"),
    "waiting-on-the-streaks": (_streak_short, "Progressing", "Waiting",
                               "waiting: D waits for the P0 and P1 stability streaks: P0 1 of 3"),
    "spec-changed-not-yet-observed": (_spec_changed_not_yet_observed, "Progressing", "Succeeded",
                                      "waiting for the operator: generation 2 not observed yet"),
}


def real(build: Any) -> dict:
    w, s = build()
    return rolloutbatch(copy.deepcopy(w.status), generation=s.generation, paused=s.paused)


@pytest.mark.parametrize(("build", "expected", "state", "says"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_real_statuses(build: Any, expected: str, state: str, says: str) -> None:
    obj = real(build)
    assert obj["status"]["state"] == state  # the scenario reached the state it is named for
    status, message = health(obj)
    assert status == expected and says in message, (status, message)


def test_a_stalled_object_that_is_also_paused_has_both_conditions_and_is_degraded() -> None:
    obj = real(_gate_failed_then_paused)
    kinds = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
    assert (kinds["Stalled"], kinds["Paused"]) == ("True", "True")
    assert health(obj)[0] == "Degraded"


def test_health_follows_a_rollout_step_by_step_and_never_errors() -> None:
    """Every status a whole rollout passes through, one reconcile at a time, A to C then a failing C."""
    s = spec("C", flags={"p1Enabled": True})
    w = World(built=ALL_BUILT)
    seen = []
    for _ in range(40):
        w.step(s)
        seen.append(health(rolloutbatch(w.status))[0])
        if not w.active():
            break
        w.finish(gate_fails_in(Phase.C))
    assert seen[0] == "Progressing" and seen[-1] == "Degraded" and set(seen) == {"Progressing", "Degraded"}


def _mutations(status: dict) -> list[dict]:
    """The status with each field in turn removed or given a value of the wrong type, down into conditions."""
    out = []
    wrong = ("", "x", 7, True, [], {}, None)
    for key in status:
        for value in wrong:
            out.append({**status, key: value})
        out.append({k: v for k, v in status.items() if k != key})
    for i, c in enumerate(status.get("conditions", [])):
        for key in c:
            for value in wrong:
                conds = copy.deepcopy(status["conditions"])
                conds[i][key] = value
                out.append({**status, "conditions": conds})
    return out


@pytest.mark.parametrize("build", [v[0] for v in SCENARIOS.values()], ids=SCENARIOS.keys())
def test_the_script_never_errors_on_a_damaged_status(build: Any) -> None:
    obj = real(build)
    damaged = _mutations(obj["status"])
    assert len(damaged) > 100
    for status in damaged:
        health(rolloutbatch(status, generation=obj["metadata"]["generation"]))  # asserts a valid answer


# -- the shipped copies -------------------------------------------------------------------------------------


def test_the_argocd_cm_snippet_embeds_the_lua_file_verbatim() -> None:
    cm = yaml.safe_load((ROOT / "gitops" / "argocd" / "argocd-cm.yaml").read_text())
    assert (cm["kind"], cm["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert cm["data"]["resource.customizations.health.tushare-rollout.io_RolloutBatch"] == SCRIPT


def test_the_flux_example_checks_the_rolloutbatch_it_applies() -> None:
    flux = ROOT / "gitops" / "flux"
    ks = {d["metadata"]["name"]: d["spec"] for d in yaml.safe_load_all((flux / "kustomizations.yaml").read_text())}
    crds, rollout = ks["tushare-rollout-crds"], ks["tushare-rollout-p0"]
    assert (ROOT / crds["path"]).resolve() == (ROOT / "crds").resolve() and crds["prune"] is False
    assert rollout["dependsOn"] == [{"name": "tushare-rollout-crds"}] and rollout["timeout"]
    [rb] = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / rollout["path"]).glob("*.yaml"))]
    [check] = rollout["healthChecks"]
    assert (check["kind"], check["name"], check["namespace"]) == ("RolloutBatch", rb["metadata"]["name"],
                                                                  rb["metadata"]["namespace"])
    assert check["apiVersion"] == rb["apiVersion"] == rollout["healthCheckExprs"][0]["apiVersion"]
    example = yaml.safe_load((ROOT / "docs" / "examples" / "rolloutbatch.yaml").read_text())
    assert rb["spec"] == example["spec"]

