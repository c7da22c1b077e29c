"""``kubectl rolloutbatch`` through the real kubectl (the plugin found on PATH) against the real kube-apiserver:
every verb stores a spec change and nothing else, ``--dry-run`` stores nothing, the API server's refusals
reach the user in one line, and ``status``/``explain`` render a status written through the status
subresource. No operator runs: the tests write the status themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tushare_rollout.devcluster import DevCluster

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "rolloutbatch.yaml"
VENV_BIN = Path(sys.executable).parent  # where `pip install -e .` put kubectl-rolloutbatch
T0 = 1732400000000  # the example's flags.updatedAt
MANAGER = "kubectl-rolloutbatch"

CHECKS = [{"check": "reconciliation.expected_keys", "dataset": "daily", "value": 3,
           "message": "3 cells not complete", "sample": ["daily/market/20240105: 000001.SZ"]},
          {"check": "quality.ohlc_envelope", "dataset": "fund_daily", "value": 0.125,
           "message": "high below the close", "sample": []}]
MESSAGE = "phase B's gate failed: reconciliation.expected_keys, quality.ohlc_envelope"


def condition(kind: str, status: str, generation: int, message: str = "") -> dict:
    return {"type": kind, "status": status, "reason": "Test", "message": message,
            "lastTransitionTime": "2024-03-29T12:00:00Z", "observedGeneration": generation}


def failed_b(generation: int = 1) -> dict:
    """What the operator writes when phase B's gate fails (see decide.py), written here by hand."""
    return {"observedGeneration": generation, "phase": "B", "state": "Failed", "message": MESSAGE, "frozenFrom": "B",
            "lastFlagsUpdatedAt": T0,
            "phases": {"A": {"state": "Passed", "attempt": 1, "reason": "TargetReached",
                             "gate": {"passed": True, "job": "p0-a-gate-1", "message": "PASS", "warned": 0,
                                      "failed": []}},
                       "B": {"state": "Failed", "attempt": 1, "reason": "GateFailed", "message": MESSAGE,
                             "rollback": {"state": "Done"},
                             "gate": {"passed": False, "job": "p0-b-gate-1", "message": "gate B FAILED",
                                      "warned": 1, "failed": CHECKS}},
                       "C": {"state": "Frozen", "reason": "FrozenByEarlierPhase", "message": "frozen"}},
            "effectiveFlags": [{"flag": "p0Enabled", "set": True, "effective": True},
                               {"flag": "p2RealtimeIndexV1", "set": True, "effective": False,
                                "reason": "p2Enabled is off: P2 sub-flags have no effect without it"}],
            "stability": {"P0": {"days": 2, "needed": 3}},
            "statusMatrix": {"complete": 120, "partial": 2, "missing": 3, "notApplicable": 7},
            "conditions": [condition("Ready", "False", generation, MESSAGE),
                           condition("Stalled", "True", generation, MESSAGE),
                           condition("Frozen", "True", generation, "phases after B are frozen")]}


@pytest.fixture(scope="module")
def crd(crd: DevCluster) -> DevCluster:
    assert (VENV_BIN / "kubectl-rolloutbatch").is_file(), "run `pip install -e .` so the plugin is in the venv"
    return crd


@pytest.fixture
def ns(crd: DevCluster, namespace: str) -> str:
    """A namespace holding docs/examples/rolloutbatch.yaml (p0, target B) with phase B's gate failed in status."""
    crd.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
    write_status(crd, namespace, failed_b())
    return namespace


def env(cluster: DevCluster) -> dict[str, str]:
    base = cluster.env()
    return {**base, "PATH": os.pathsep.join([str(VENV_BIN), base["PATH"]]), "COLUMNS": "200"}


def plugin(cluster: DevCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl rolloutbatch ARGS`: the real kubectl finds the plugin on PATH."""
    return subprocess.run(["kubectl", "rolloutbatch", *args], env=env(cluster), capture_output=True, text=True,
                          timeout=120)


def stored(cluster: DevCluster, ns: str) -> dict:
    return json.loads(cluster.kubectl("get", "-n", ns, "rb/p0", "-o", "json", "--show-managed-fields").stdout)


def write_status(cluster: DevCluster, ns: str, status: dict) -> None:
    cluster.kubectl("patch", "-n", ns, "rb/p0", "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": status}))


def set_spec(cluster: DevCluster, ns: str, spec: dict) -> None:
    cluster.kubectl("patch", "-n", ns, "rb/p0", "--type=merge", "-p", json.dumps({"spec": spec}))


def test_kubectl_lists_the_plugin(crd: DevCluster) -> None:
    listed = subprocess.run(["kubectl", "plugin", "list"], env=env(crd), capture_output=True, text=True)
    assert str(VENV_BIN / "kubectl-rolloutbatch") in listed.stdout.splitlines(), listed.stdout + listed.stderr


# (id, spec set first, the verb's arguments after NAME, what the stored spec must then say)
VERBS: list[tuple[str, dict, list[str], Callable[[dict], bool]]] = [
    ("promote", {}, ["promote"], lambda s: s["targetPhase"] == "C"),
    ("promote-d-to-e", {"targetPhase": "D"}, ["promote"], lambda s: s["targetPhase"] == "E"),
    ("rollback", {"targetPhase": "C"}, ["rollback", "--to", "A"], lambda s: s["targetPhase"] == "A"),
    ("pause", {}, ["pause"], lambda s: s["paused"] is True),
    ("resume", {"paused": True}, ["resume"], lambda s: s["paused"] is False),
    ("retry-token", {"retryToken": "first"}, ["retry", "--token", "fixed-20240105"],
     lambda s: s["retryToken"] == "fixed-20240105"),
    ("retry-default", {"retryToken": "first"}, ["retry"], lambda s: s["retryToken"].startswith("retry-")),
    ("flags-set", {}, ["flags", "set", "{name}", "p1Enabled=true", "p2Enabled=true"],
     lambda s: (s["flags"]["p1Enabled"], s["flags"]["p2Enabled"], s["flags"]["p0Enabled"]) == (True, True, True)
     and s["flags"]["updatedAt"] > T0),
]


def argv(verb: list[str], name: str, ns: str) -> list[str]:
    """``flags set`` takes NAME after the subcommand; the others right after the verb."""
    args = [a.format(name=name) for a in verb] if "{name}" in verb else [verb[0], name, *verb[1:]]
    return [*args, "-n", ns]


@pytest.mark.parametrize(("before", "verb", "after"), [v[1:] for v in VERBS], ids=[v[0] for v in VERBS])
def test_a_verb_stores_its_spec_change_and_leaves_status_alone(crd: DevCluster, ns: str, before: dict,
                                                               verb: list[str], after) -> None:
    if before:
        set_spec(crd, ns, before)
    old = stored(crd, ns)
    done = plugin(crd, *argv(verb, "p0", ns))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rolloutbatch.tushare-rollout.io/p0 patched: "), done.stdout
    new = stored(crd, ns)
    assert after(new["spec"]), new["spec"]
    assert new["metadata"]["generation"] == old["metadata"]["generation"] + 1
    assert new["status"] == old["status"]  # nothing wrote status
    ours = [m for m in new["metadata"]["managedFields"] if m["manager"] == MANAGER]
    assert [(m["operation"], m.get("subresource")) for m in ours] == [("Update", None)]
    assert set(ours[0]["fieldsV1"]) == {"f:spec"}


DRY = [
    ("promote", ["promote"], {"spec": {"targetPhase": "C"}}),
    ("rollback", ["rollback", "--to", "A"], {"spec": {"targetPhase": "A"}}),
    ("pause", ["pause"], {"spec": {"paused": True}}),
    ("retry", ["retry", "--token", "t-2"], {"spec": {"retryToken": "t-2"}}),
    ("flags-set", ["flags", "set", "{name}", "p1Enabled=true"], None),
]


@pytest.mark.parametrize(("verb", "patch"), [d[1:] for d in DRY], ids=[d[0] for d in DRY])
def test_dry_run_prints_the_patch_and_stores_nothing(crd: DevCluster, ns: str, verb: list[str],
                                                     patch: dict | None) -> None:
    old = stored(crd, ns)
    done = plugin(crd, *argv(verb, "p0", ns), "--dry-run")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    if patch is None:  # flags: the stamp is the current time
        assert printed["spec"]["flags"]["p1Enabled"] is True and printed["spec"]["flags"]["updatedAt"] > T0
    else:
        assert printed == patch
    assert "dry run, nothing applied" in done.stderr
    assert stored(crd, ns)["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"]
    # and what it printed is the GitOps equivalent: the same patch, applied by kubectl itself, is accepted
    applied = crd.kubectl("patch", "-n", ns, "rb/p0", "--type=merge", "-p", done.stdout, "--dry-run=server",
                          check=False)
    assert applied.returncode == 0, applied.stderr


def test_flags_set_moves_updated_at_past_a_stored_value_from_the_future(crd: DevCluster, ns: str) -> None:
    future = 4102444000000  # the CRD's maximum is 4102444800000
    set_spec(crd, ns, {"flags": {"p1Enabled": True, "updatedAt": future}})
    done = plugin(crd, "flags", "set", "p0", "p1Enabled=false", "-n", ns)
    assert done.returncode == 0, done.stderr
    flags = stored(crd, ns)["spec"]["flags"]
    assert (flags["p1Enabled"], flags["updatedAt"]) == (False, future + 1)
    assert f"flags.updatedAt {future} -> {future + 1}" in done.stdout


def test_flags_set_that_changes_nothing_sends_nothing(crd: DevCluster, ns: str) -> None:
    old = stored(crd, ns)
    done = plugin(crd, "flags", "set", "p0", "p0Enabled=true", "p1Enabled=false", "-n", ns)
    assert done.returncode == 0, done.stderr
    assert "unchanged: p0Enabled is already true, p1Enabled is already false" in done.stdout
    assert stored(crd, ns)["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"]


def test_a_change_the_crd_refuses_shows_the_api_servers_message(crd: DevCluster, ns: str) -> None:
    old = stored(crd, ns)
    done = plugin(crd, "flags", "set", "p0", "p2Enabled=true", "p2SpecialPermissionStkPremarketV1=true", "-n", ns)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: RolloutBatch.tushare-rollout.io \"p0\" is invalid")
    assert "may only be turned on once a permission probe has recorded stk_premarket as granted" in done.stderr
    assert stored(crd, ns)["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"]


ERRORS = [
    ("missing-rolloutbatch", ["status", "nope", "-n", "{ns}"], 1, 'rolloutbatch "nope" not found in namespace "{ns}"'),
    ("missing-for-a-change", ["promote", "nope", "-n", "{ns}"], 1, 'rolloutbatch "nope" not found'),
    ("rollback-upwards", ["rollback", "p0", "--to", "D", "-n", "{ns}"], 2, "use promote"),
    ("rollback-to-target", ["rollback", "p0", "--to", "B", "-n", "{ns}"], 2, "use promote"),
    ("unknown-flag", ["flags", "set", "p0", "p9Enabled=true", "-n", "{ns}"], 2,
     "unknown flag 'p9Enabled'; the rollout_flags_v1 flags are p0Enabled, p1Enabled, p2Enabled"),
    ("not-a-bool", ["flags", "set", "p0", "p1Enabled=on", "-n", "{ns}"], 2, "p1Enabled=on: a flag is true or false"),
    ("empty-retry-token", ["retry", "p0", "--token", "", "-n", "{ns}"], 2, "--token must not be empty"),
    ("unknown-context", ["status", "p0", "--context", "nope"], 1, "context 'nope' is not in the kubeconfig"),
    ("missing-argument", ["rollback", "p0", "-n", "{ns}"], 2, "Missing option '--to'"),
    ("unknown-verb", ["frobnicate", "p0"], 2, "No such command 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "code", "says"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_an_error_is_one_line_on_stderr_and_a_non_zero_exit(crd: DevCluster, ns: str, args: list[str], code: int,
                                                            says: str) -> None:
    old = stored(crd, ns)
    done = plugin(crd, *[a.format(ns=ns) for a in args])
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert says.format(ns=ns) in done.stderr
    assert done.stdout == ""
    assert stored(crd, ns)["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"]


def test_status_shows_the_failed_gate_with_its_checks_and_numbers(crd: DevCluster, ns: str) -> None:
    done = plugin(crd, "status", "p0", "-n", ns)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"rolloutbatch {ns}/p0  target B  phase B  state Failed" in out
    assert "FAILED (2 checks, 1 warned)" in out and "Failed (rollback Done)" in out
    checks = [line.split("│")[1:-1] for line in out.split("failing checks", 1)[1].splitlines()
              if line.startswith("│ B ")]
    assert [[cell.strip() for cell in c] for c in checks] == [
        ["B", "reconciliation.expected_keys", "daily", "3", "3 cells not complete", "daily/market/20240105: 000001.SZ"],
        ["B", "quality.ohlc_envelope", "fund_daily", "0.125", "high below the close", ""]]
    assert "status matrix: 120 complete, 2 partial, 3 missing, 7 not applicable" in out
    assert "p2Enabled is off: P2 sub-flags have no effect without it" in out
    stalled = next(line for line in out.splitlines() if line.startswith("│ Stalled"))
    assert "True" in stalled


def test_status_as_json_is_the_stored_status(crd: DevCluster, ns: str) -> None:
    done = plugin(crd, "status", "p0", "-n", ns, "-o", "json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["name"], shown["namespace"], shown["targetPhase"]) == ("p0", ns, "B")
    assert shown["status"] == stored(crd, ns)["status"]


def test_explain_names_the_failing_checks_and_the_next_command(crd: DevCluster, ns: str) -> None:
    set_spec(crd, ns, {"flags": {"p2RealtimeIndexV1": True, "updatedAt": T0 + 1}})
    write_status(crd, ns, {"observedGeneration": 2, "lastFlagsUpdatedAt": T0 + 1})
    done = plugin(crd, "explain", "p0", "-n", ns)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"rolloutbatch {ns}/p0 is Failed at phase B (target B): {MESSAGE}"
    assert "  - reconciliation.expected_keys on daily = 3: 3 cells not complete " \
           "(e.g. daily/market/20240105: 000001.SZ)" in lines
    assert "  - quality.ohlc_envelope on fund_daily = 0.125: high below the close" in lines
    assert f"Next: fix the data, then `kubectl rolloutbatch retry p0 -n {ns}` (phase B runs again as attempt 2 " \
           "and the later phases unfreeze)." in lines
    assert "Flag p2RealtimeIndexV1 is set but not in force: p2Enabled is off: P2 sub-flags have no effect " \
           "without it." in lines


def test_status_until_ready_follows_the_watch_and_exits_when_ready(crd: DevCluster, ns: str) -> None:
    write_status(crd, ns, {"state": "Progressing", "message": "phase B: ingest running",
                           "conditions": [condition("Ready", "False", 1), condition("Stalled", "False", 1)]})
    watcher = subprocess.Popen(["kubectl", "rolloutbatch", "status", "p0", "-n", ns, "-o", "json",
                                "--until", "Ready", "--timeout", "120"],
                               env=env(crd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(watcher.stdout.readline())  # rendered before any change: the watch is about to start
        assert first["status"]["state"] == "Progressing"
        write_status(crd, ns, {"state": "Gating", "message": "phase B: gate running"})
        write_status(crd, ns, {"state": "Succeeded", "message": "target phase B reached",
                               "conditions": [condition("Ready", "True", 1), condition("Stalled", "False", 1)]})
        rest, errors = watcher.communicate(timeout=120)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, errors
    states = [json.loads(line)["status"]["state"] for line in rest.splitlines()]
    assert states == ["Gating", "Succeeded"], states  # one line per change, and it stopped at Ready


def test_status_until_ready_exits_3_when_the_object_stalled(crd: DevCluster, ns: str) -> None:
    done = plugin(crd, "status", "p0", "-n", ns, "--until", "Ready", "--timeout", "60")
    assert done.returncode == 3
    assert done.stderr == f"error: stalled instead of Ready: {MESSAGE}\n"


def test_a_ready_condition_of_an_older_generation_is_not_ready(crd: DevCluster, ns: str) -> None:
    write_status(crd, ns, {"conditions": [condition("Ready", "True", 1)]})
    assert plugin(crd, "promote", "p0", "-n", ns).returncode == 0  # generation 2: the operator has not seen it
    done = plugin(crd, "status", "p0", "-n", ns, "--until", "Ready", "--timeout", "2")
    assert done.returncode == 1
    assert done.stderr == "error: timed out after 2s waiting for condition Ready\n"


def test_the_namespace_comes_from_the_kubeconfig_context_and_options_go_anywhere(crd: DevCluster, ns: str,
                                                                                 tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(Path(crd.env()["KUBECONFIG"]).read_text())
    crd.kubectl("config", "set-context", "--current", f"--namespace={ns}", f"--kubeconfig={kubeconfig}")
    done = plugin(crd, "pause", "p0", "--kubeconfig", str(kubeconfig))
    assert done.returncode == 0, done.stderr
    assert stored(crd, ns)["spec"]["paused"] is True
    done = plugin(crd, "-n", ns, "resume", "p0")  # a global option before the verb, as with kubectl
    assert done.returncode == 0, done.stderr
    assert stored(crd, ns)["spec"]["paused"] is False
