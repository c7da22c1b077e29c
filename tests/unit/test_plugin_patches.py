"""``kubectl rolloutbatch``, the pure parts: every verb's spec patch and every refusal, one named case each;
then what ``explain`` says and ``status`` shows for a given status."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from rich.console import Console

from tushare_rollout.plugin import patches
from tushare_rollout.plugin.explain import explain
from tushare_rollout.plugin.view import current_conditions, render

NOW = dt.datetime(2024, 3, 29, 12, 0, 5, tzinfo=dt.timezone.utc)
NOW_MS = 1711713605000
T0 = 1732400000000  # the example's flags.updatedAt: later than NOW_MS


def rb(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = {"targetPhase": "B", "paused": False,
            "flags": {"p0Enabled": True, "p1Enabled": False, "p2Enabled": False, "updatedAt": T0}}
    for key, value in spec.items():
        body[key] = {**body[key], **value} if key == "flags" else value
    return {"metadata": {"name": "p0", "namespace": "data", "generation": 2, "resourceVersion": "7"},
            "spec": body, **({"status": status} if status is not None else {})}


FAILED_B = {"observedGeneration": 2, "phase": "B", "state": "Failed", "frozenFrom": "B",
            "message": "phase B's gate failed: reconciliation.expected_keys",
            "phases": {"A": {"state": "Passed", "attempt": 1},
                       "B": {"state": "Failed", "attempt": 1, "reason": "GateFailed", "rollback": {"state": "Done"},
                             "gate": {"passed": False, "job": "p0-b-gate-1", "warned": 0, "failed": [
                                 {"check": "reconciliation.expected_keys", "dataset": "daily", "value": 3.0,
                                  "message": "3 cells not complete", "sample": ["daily/market/20240105"]}]}},
                       "C": {"state": "Frozen"}}}

# (id, verb(obj), object, the patch body (None: nothing to send), words the summary must contain)
CHANGES = [
    ("promote-b-to-c", lambda o: patches.promote(o), rb(), {"spec": {"targetPhase": "C"}}, "B -> C"),
    ("promote-a-to-b", lambda o: patches.promote(o), rb(targetPhase="A"), {"spec": {"targetPhase": "B"}}, "A -> B"),
    ("promote-d-to-e", lambda o: patches.promote(o), rb(targetPhase="D"), {"spec": {"targetPhase": "E"}}, "D -> E"),
    ("rollback-c-to-a", lambda o: patches.rollback(o, "A"), rb(targetPhase="C"), {"spec": {"targetPhase": "A"}},
     "rolls back the phases above A"),
    ("rollback-lowercase", lambda o: patches.rollback(o, " b "), rb(targetPhase="E"),
     {"spec": {"targetPhase": "B"}}, "E -> B"),
    ("pause", lambda o: patches.pause(o), rb(), {"spec": {"paused": True}}, "nothing new starts"),
    ("pause-when-paused", lambda o: patches.pause(o), rb(paused=True), None, "already paused"),
    ("resume", lambda o: patches.resume(o), rb(paused=True), {"spec": {"paused": False}}, "resumed"),
    ("resume-when-running", lambda o: patches.resume(o), rb(), None, "not paused"),
    ("retry-default-token", lambda o: patches.retry(o, None, NOW), rb(FAILED_B),
     {"spec": {"retryToken": "retry-20240329-120005"}}, "phase B runs again as a new attempt"),
    ("retry-default-token-differs-from-current", lambda o: patches.retry(o, None, NOW),
     rb(retryToken="retry-20240329-120005"), {"spec": {"retryToken": "retry-20240329-120005-2"}},
     "only acknowledges it"),
    ("retry-own-token", lambda o: patches.retry(o, "fixed-daily-20240105", NOW), rb(retryToken="first"),
     {"spec": {"retryToken": "fixed-daily-20240105"}}, "retryToken fixed-daily-20240105"),
    ("retry-frozen-phase", lambda o: patches.retry(o, "t2", NOW),
     rb({"phases": {"B": {"state": "Passed"}, "C": {"state": "Frozen"}}}), {"spec": {"retryToken": "t2"}},
     "phase C runs again"),
    ("flags-stamp-is-old-plus-one-when-the-clock-is-behind", lambda o: patches.set_flags(o, ["p1Enabled=true"], NOW_MS),
     rb(), {"spec": {"flags": {"p1Enabled": True, "updatedAt": T0 + 1}}}, f"updatedAt {T0} -> {T0 + 1}"),
    ("flags-stamp-is-now-when-the-clock-is-ahead", lambda o: patches.set_flags(o, ["p1Enabled=TRUE"], T0 + 5000),
     rb(), {"spec": {"flags": {"p1Enabled": True, "updatedAt": T0 + 5000}}}, "p1Enabled false -> true"),
    ("flags-only-what-changes", lambda o: patches.set_flags(o, ["p0Enabled=true", "p2Enabled=true",
                                                                "p2RealtimeIndexV1=true"], T0 + 1),
     rb(), {"spec": {"flags": {"p2Enabled": True, "p2RealtimeIndexV1": True, "updatedAt": T0 + 1}}},
     "p2Enabled false -> true, p2RealtimeIndexV1 false -> true"),
    ("flags-switch-off", lambda o: patches.set_flags(o, ["p0Enabled=false"], T0 + 1), rb(),
     {"spec": {"flags": {"p0Enabled": False, "updatedAt": T0 + 1}}}, "p0Enabled true -> false"),
    ("flags-a-missing-flag-is-its-crd-default", lambda o: patches.set_flags(o, ["p2FuturesMicrostructureV1=false"],
                                                                            T0 + 1),
     rb(), None, "p2FuturesMicrostructureV1 is already false"),
    ("flags-nothing-changes", lambda o: patches.set_flags(o, ["p1Enabled=false", "p1Enabled=false"], T0 + 1), rb(),
     None, "p1Enabled is already false"),
]


@pytest.mark.parametrize(("verb", "obj", "body", "says"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_verb_patches_only_the_spec(verb, obj: dict, body: dict | None, says: str) -> None:
    change = verb(obj)
    assert change.body == body
    assert says in change.summary
    assert change.body is None or list(change.body) == ["spec"]  # never status, never metadata


ALL_FLAGS = "p0Enabled, p1Enabled, p2Enabled, p2RealtimeIndexV1, p2RealtimeEquityEtfV1, " \
            "p2FuturesMicrostructureV1, p2SpecialPermissionStkPremarketV1"

# (id, verb(obj), object, words the error must contain)
REFUSALS = [
    ("promote-at-e", lambda o: patches.promote(o), rb(targetPhase="E"), "already E, the last phase"),
    ("promote-bad-stored-target", lambda o: patches.promote(o), rb(targetPhase="F"), "spec.targetPhase is 'F'"),
    ("rollback-to-the-current-target", lambda o: patches.rollback(o, "B"), rb(), "use promote"),
    ("rollback-upwards", lambda o: patches.rollback(o, "D"), rb(), "--to D is above the current targetPhase B"),
    ("rollback-upwards-says-promote", lambda o: patches.rollback(o, "E"), rb(), "use promote to raise it"),
    ("rollback-unknown-phase", lambda o: patches.rollback(o, "F"), rb(), "--to is one of A, B, C, D, E, got 'F'"),
    ("retry-same-token", lambda o: patches.retry(o, "t1", NOW), rb(retryToken="t1"),
     "'t1' is already spec.retryToken"),
    ("retry-empty-token", lambda o: patches.retry(o, "  ", NOW), rb(), "--token must not be empty"),
    ("retry-token-too-long", lambda o: patches.retry(o, "x" * 64, NOW), rb(), "at most 63"),
    ("flags-none", lambda o: patches.set_flags(o, [], NOW_MS), rb(), f"the flags are {ALL_FLAGS}"),
    ("flags-unknown", lambda o: patches.set_flags(o, ["p9Enabled=true"], NOW_MS), rb(),
     f"unknown flag 'p9Enabled'; the rollout_flags_v1 flags are {ALL_FLAGS}"),
    ("flags-case-matters", lambda o: patches.set_flags(o, ["P1Enabled=true"], NOW_MS), rb(), "unknown flag"),
    ("flags-no-value", lambda o: patches.set_flags(o, ["p1Enabled"], NOW_MS), rb(), "'p1Enabled' is not FLAG=true"),
    ("flags-not-a-bool", lambda o: patches.set_flags(o, ["p1Enabled=yes"], NOW_MS), rb(),
     "p1Enabled=yes: a flag is true or false"),
    ("flags-empty-value", lambda o: patches.set_flags(o, ["p1Enabled="], NOW_MS), rb(), "a flag is true or false"),
    ("flags-updated-at-by-hand", lambda o: patches.set_flags(o, ["updatedAt=5"], NOW_MS), rb(),
     "flags.updatedAt is stamped by this command"),
    ("flags-contradiction", lambda o: patches.set_flags(o, ["p1Enabled=true", "p1Enabled=false"], NOW_MS), rb(),
     "p1Enabled is given twice"),
]


@pytest.mark.parametrize(("verb", "obj", "says"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_verb_that_cannot_apply_says_what_to_do(verb, obj: dict, says: str) -> None:
    with pytest.raises(patches.PatchError) as refused:
        verb(obj)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_patch_is_sent_with_the_resource_version_it_was_computed_from() -> None:
    body = patches.promote(rb()).body
    assert patches.guarded(body, "7") == {"spec": {"targetPhase": "C"}, "metadata": {"resourceVersion": "7"}}
    assert body == {"spec": {"targetPhase": "C"}}  # the dry-run output stays the plain spec patch


def waiting(phase: str, reason: str, message: str, **status: Any) -> dict:
    return {"observedGeneration": 2, "phase": phase, "state": "Waiting", "message": message,
            "phases": {"A": {"state": "Passed"}, phase: {"state": "Waiting", "reason": reason, "message": message}},
            **status}


# (id, object, lines explain must contain, in order)
EXPLAINED = [
    ("no-status", rb(), ["has no status yet", "is `tushare-rollout operator` running"]),
    ("failed-gate", rb(FAILED_B, retryToken="old"),
     ["is Failed at phase B (target B)", "its gate failed (Job p0-b-gate-1), 1 failing check:",
      "  - reconciliation.expected_keys on daily = 3: 3 cells not complete (e.g. daily/market/20240105)",
      "The phases after B are frozen.", "Phase B's rollback: Done.",
      "Next: fix the data, then `kubectl rolloutbatch retry p0 -n data` (phase B runs again as attempt 2",
      "spec.retryToken 'old' is not acknowledged yet"]),
    ("regressed", rb({**FAILED_B, "phases": {**FAILED_B["phases"], "B": {**FAILED_B["phases"]["B"],
                                                                         "reason": "DailyGateRegressed"}}}),
     ["its daily gate regressed after the phase had passed", "data stays published",
      "`kubectl rolloutbatch retry p0 -n data`"]),
    ("refused-job", rb({"phase": "B", "state": "Failed", "phases": {"B": {
        "state": "Failed", "reason": "JobRefused", "message": "the ingest Job p0-b-ingest-1 failed: bad token"}}}),
     ["Phase B stalled: a Job refused to run: the ingest Job p0-b-ingest-1 failed: bad token",
      "Next: fix the configuration it names, then `kubectl rolloutbatch retry p0 -n data`."]),
    ("infrastructure", rb({"phase": "B", "state": "Failed", "phases": {"B": {
        "state": "Failed", "reason": "InfrastructureStalled", "message": "failed 3 times (DeadlineExceeded)"}}}),
     ["stalled on infrastructure: failed 3 times", "-l tushare-rollout.io/rolloutbatch=p0", "retry p0 -n data"]),
    ("switch-off", rb(waiting("C", "BatchSwitchOff", "p1Enabled is off: phase C waits"), targetPhase="C"),
     ["is Waiting at phase C (target C)", "its batch switch p1Enabled is not in force",
      "Next: `kubectl rolloutbatch flags set p0 -n data p1Enabled=true`, or stay below it: "
      "`kubectl rolloutbatch rollback p0 -n data --to B`."]),
    ("streak-short", rb(waiting("D", "StabilityStreakShort", "D waits", stability={
        "P0": {"days": 2, "needed": 3}, "P1": {"days": 3, "needed": 3}}), targetPhase="D"),
     ["Phase D waits for the P0 and P1 stability streaks (P0 2 of 3, P1 3 of 3 clean trading days).",
      "Next: nothing; every clean daily run adds a day"]),
    ("not-built", rb(waiting("C", "NotBuiltYet", "phase C needs batch P1, which this release does not build yet"),
                     targetPhase="C"),
     ["Phase C waits: phase C needs batch P1", "upgrade the operator to a release that builds P1",
      "rollback p0 -n data --to B"]),
    ("paused", rb({"phase": "B", "state": "Paused", "message": "paused by spec.paused"}, paused=True),
     ["spec.paused is true: nothing new starts", "Next: `kubectl rolloutbatch resume p0 -n data`."]),
    ("paused-while-failed", rb(FAILED_B, paused=True), ["Next: fix the data", "Also: spec.paused is true"]),
    ("running", rb({"phase": "B", "state": "Gating", "phases": {"B": {"state": "Running", "step": "gate",
                                                                       "attempt": 2}}}),
     ["Phase B is running step gate (attempt 2): nothing to do.", "status p0 -n data --watch"]),
    ("succeeded", rb({"phase": "B", "state": "Succeeded", "observedGeneration": 2}),
     ["Every phase up to B passed", "`kubectl rolloutbatch promote p0 -n data`"]),
    ("succeeded-at-e", rb({"phase": "E", "state": "Succeeded"}, targetPhase="E"), ["the rollout is complete"]),
    ("stale-generation", rb({"phase": "B", "state": "Succeeded", "observedGeneration": 1}),
     ["The status is of generation 1 and the spec is at 2"]),
    ("flags-not-in-force", rb({"phase": "B", "state": "Succeeded", "lastFlagsUpdatedAt": T0 - 1, "effectiveFlags": [
        {"flag": "p0Enabled", "set": True, "effective": True},
        {"flag": "p2RealtimeIndexV1", "set": True, "effective": False,
         "reason": "p2Enabled is off: P2 sub-flags have no effect without it"}]}),
     [f"The flags of updatedAt {T0} are not seen by the operator yet (it has {T0 - 1}).",
      "Flag p2RealtimeIndexV1 is set but not in force: p2Enabled is off: P2 sub-flags have no effect without it."]),
    ("daily-suspended-and-failing", rb({"phase": "B", "state": "Succeeded", "steadyState": {"B": {
        "cronJob": "p0-b-daily", "suspended": True, "reason": "p0Enabled is off",
        "lastRun": {"job": "p0-b-daily-1", "state": "Failed", "gatePassed": False}}}}),
     ["Phase B's daily CronJob p0-b-daily is suspended: p0Enabled is off.",
      "Phase B's newest daily run p0-b-daily-1 failed its gate."]),
]


@pytest.mark.parametrize(("obj", "expected"), [e[1:] for e in EXPLAINED], ids=[e[0] for e in EXPLAINED])
def test_explain_says_why_and_what_next(obj: dict, expected: list[str]) -> None:
    text = "\n".join(explain(obj))
    positions = [text.find(line) for line in expected]
    assert -1 not in positions, text
    assert positions == sorted(positions), text


def test_explain_says_nothing_about_flags_that_are_in_force_or_off() -> None:
    status = {"phase": "B", "state": "Succeeded", "effectiveFlags": [
        {"flag": "p0Enabled", "set": True, "effective": True},
        {"flag": "p1Enabled", "set": False, "effective": False, "reason": "p1Enabled is off"}]}
    assert not any("Flag" in line for line in explain(rb(status)))


def shown(obj: dict) -> str:
    out = io.StringIO()
    Console(width=200, file=out).print(render(obj))
    return out.getvalue()


def row(text: str, first: str, after: str = "") -> str:
    """The first table row whose first cell is ``first``, below the line containing ``after``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(line for line in lines[start:] if line.startswith("│ ") and line.split("│")[1].strip() == first)


def test_status_shows_every_phase_its_gate_and_the_failing_checks_with_their_numbers() -> None:
    text = shown(rb({**FAILED_B, "statusMatrix": {"complete": 120, "partial": 2, "missing": 3, "notApplicable": 7},
                     "stability": {"P0": {"days": 2, "needed": 3, "since": "20240325"}},
                     "steadyState": {"A": {"cronJob": "p0-a-daily", "schedule": "30 22 * * 1-5 (Asia/Shanghai)",
                                           "suspended": False}},
                     "conditions": [{"type": "Stalled", "status": "True", "reason": "Failed", "message": "gate"}]}))
    assert "rolloutbatch data/p0  target B  phase B  state Failed" in text
    check = row(text, "B", after="failing checks")
    assert all(x in check for x in ("reconciliation.expected_keys", "daily", " 3 ", "3 cells not complete",
                                    "daily/market/20240105")), check
    assert "FAILED (1 checks)" in text and "Failed (rollback Done)" in text
    assert "FAILED" in row(text, "B") and "Passed" in row(text, "A") and "Frozen" in row(text, "C")
    assert "above target" in row(text, "D") and "above target" in row(text, "E")
    assert "status matrix: 120 complete, 2 partial, 3 missing, 7 not applicable" in text
    assert "p0-a-daily" in row(text, "A", after="steady state") and "no" in row(text, "A", after="steady state")
    assert "20240325" in row(text, "P0", after="stability streaks")
    assert "True" in row(text, "Stalled", after="conditions")


def test_status_without_a_status_says_the_operator_has_not_seen_it() -> None:
    assert "no status yet" in shown(rb())


def test_a_condition_of_an_older_generation_does_not_count() -> None:
    obj = rb({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1},
                                                      {"type": "Stalled", "status": "False"}]})
    assert current_conditions(obj) == {}
    obj["status"]["observedGeneration"] = 2
    assert set(current_conditions(obj)) == {"Stalled"}  # Ready still carries generation 1


def test_status_shows_the_p2_modules_the_realtime_cronjob_and_e_s_rollback_drill() -> None:
    from rich.console import Console

    from tushare_rollout.plugin import view

    obj = {"metadata": {"name": "all", "namespace": "data", "generation": 3},
           "spec": {"targetPhase": "E"},
           "status": {"observedGeneration": 3, "phase": "E", "state": "Succeeded", "phases": {
               "D": {"state": "Passed", "modules": {
                   "p2_realtime_index": {"state": "RolledBack", "flag": "p2RealtimeIndexV1",
                                         "job": "all-d-rollback-realtime-index-1", "message": "rolled back"},
                   "p2_futures_microstructure": {"state": "Published", "flag": "p2FuturesMicrostructureV1",
                                                 "job": "all-d-publish-1", "message": "published"}}},
               "E": {"state": "Passed", "gate": {"passed": True},
                     "drill": {"passed": True, "readersLost": {"v_minute_bar": 30, "v_fut_holding": 12},
                               "tablesIdentical": 16, "tablesCompared": 16}}},
               "steadyState": {"D": {"cronJob": "all-d-daily", "schedule": "30 22 * * 1-5 (Asia/Shanghai)",
                                     "suspended": False,
                                     "realtime": {"cronJob": "all-d-realtime", "schedule": "*/5 9-15 * * 1-5",
                                                  "suspended": True, "reason": "no realtime P2 module is in force"}}}}}
    console = Console(width=200, record=True)
    console.print(view.render(obj))
    out = console.export_text()
    assert "drill passed (42 P2 rows lost on the copy, 16/16 tables identical)" in out
    assert "p2_realtime_index" in out and "RolledBack" in out and "all-d-rollback-realtime-index-1" in out
    assert "D realtime" in out and "all-d-realtime" in out and "yes: no realtime P2 module is in force" in out
