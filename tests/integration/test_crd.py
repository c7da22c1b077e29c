"""The RolloutBatch CRD on the real kube-apiserver: bad objects are refused at `kubectl apply` time
with a message a person understands; the operator's status writes and GitOps rollbacks are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tushare_rollout.devcluster import DevCluster

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "rolloutbatch.yaml"
T0 = 1732400000000


def rb(name: str, **spec: object) -> str:
    body = {"targetPhase": "B", "flags": {"p0Enabled": True, "updatedAt": T0}}
    for key, value in spec.items():
        body[key] = {**body.get(key, {}), **value} if isinstance(value, dict) and key in body else value
    return json.dumps({"apiVersion": "tushare-rollout.io/v1alpha1", "kind": "RolloutBatch",
                       "metadata": {"name": name}, "spec": body})


def apply(cluster: DevCluster, namespace: str, manifest: str):
    return cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest, check=False)


def patch(cluster: DevCluster, namespace: str, name: str, body: dict, status: bool = False):
    return cluster.kubectl("patch", "-n", namespace, f"rb/{name}", "--type", "merge", "-p", json.dumps(body),
                           *(["--subresource=status"] if status else []), check=False)


def test_the_example_applies_with_defaults_and_printer_columns(crd: DevCluster, namespace: str) -> None:
    done = crd.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE), check=False)
    assert done.returncode == 0, done.stderr
    stored = json.loads(crd.kubectl("get", "-n", namespace, "rb/p0", "-o", "json").stdout)
    example = yaml.safe_load(EXAMPLE.read_text())
    assert stored["spec"]["flags"] == example["spec"]["flags"]
    assert stored["spec"]["gates"] == {"stableTradingDays": 3, "windowDays": 20}  # defaults filled in
    assert stored["spec"]["paused"] is False and stored["spec"]["rollback"]["schema"] is False
    header = crd.kubectl("get", "-n", namespace, "rolloutbatches").stdout.splitlines()[0].split()
    assert header == ["NAME", "TARGET", "PHASE", "STATE", "READY", "FROZEN", "AGE"]
    assert crd.kubectl("get", "-n", namespace, "rb", "p0", "-o", "name").stdout.strip() == \
        "rolloutbatch.tushare-rollout.io/p0"


@pytest.mark.parametrize("example", sorted((ROOT / "docs" / "examples").glob("rolloutbatch-phase-*.yaml")),
                         ids=lambda p: p.stem)
def test_every_phase_example_applies_and_asks_for_its_phase(crd: DevCluster, namespace: str, example: Path) -> None:
    done = crd.kubectl("apply", "-n", namespace, "-f", str(example), check=False)
    assert done.returncode == 0, done.stderr
    body = yaml.safe_load(example.read_text())
    stored = json.loads(crd.kubectl("get", "-n", namespace, f"rb/{body['metadata']['name']}", "-o", "json").stdout)
    phase = example.stem.rsplit("-", 1)[1].upper()
    assert stored["spec"]["targetPhase"] == phase and stored["spec"]["flags"] == body["spec"]["flags"]
    assert stored["spec"]["flags"]["p1Enabled"] is (phase in "CDE")
    assert stored["spec"]["flags"]["p2Enabled"] is (phase in "DE")


BAD = [
    ("unknown-phase", rb("x", targetPhase="F"), 'spec.targetPhase: Unsupported value: "F"'),
    ("unknown-flag", rb("x", flags={"p9Enabled": True}), 'unknown field "spec.flags.p9Enabled"'),
    ("negative-updated-at", rb("x", flags={"updatedAt": -1}), "spec.flags.updatedAt"),
    ("zero-stable-days", rb("x", gates={"stableTradingDays": 0}), "greater than or equal to 1"),
    ("absurd-stable-days", rb("x", gates={"stableTradingDays": 5000}), "less than or equal to 60"),
    ("negative-backoff", rb("x", jobs={"backoffLimit": -1}), "spec.jobs.backoffLimit"),
    ("negative-threshold", rb("x", gates={"thresholds": {"quality.ohlc_envelope": {"fail": -2}}}),
     "spec.gates.thresholds.quality.ohlc_envelope.fail: Invalid value: -2"),
    ("bad-backfill-date", rb("x", universe={"backfillStart": "2024-01-02"}), "spec.universe.backfillStart"),
    ("bad-fx-pair", rb("x", universe={"fxWhitelist": ["usdcnh"]}), "spec.universe.fxWhitelist[0]"),
    ("premarket-without-probe", rb("x", flags={"p2Enabled": True, "p2SpecialPermissionStkPremarketV1": True}),
     "may only be turned on once a permission probe has recorded stk_premarket as granted"),
]


@pytest.mark.parametrize(("manifest", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_rolloutbatch_is_refused_with_a_message_a_person_understands(crd: DevCluster, namespace: str,
                                                                           manifest: str, says: str) -> None:
    done = apply(crd, namespace, manifest)
    assert done.returncode != 0
    assert says in done.stderr, done.stderr
    assert crd.kubectl("get", "-n", namespace, "rb", "-o", "name").stdout == ""  # nothing stored


def test_flags_must_move_updated_at_forward_but_everything_else_may_change(crd: DevCluster, namespace: str) -> None:
    assert apply(crd, namespace, rb("flags")).returncode == 0
    stuck = patch(crd, namespace, "flags", {"spec": {"flags": {"p1Enabled": True}}})
    assert stuck.returncode != 0 and "flags.updatedAt did not move forward" in stuck.stderr
    backwards = patch(crd, namespace, "flags", {"spec": {"flags": {"p1Enabled": True, "updatedAt": T0 - 1}}})
    assert backwards.returncode != 0 and "did not move forward" in backwards.stderr
    moved = patch(crd, namespace, "flags", {"spec": {"flags": {"p1Enabled": True, "updatedAt": T0 + 1}}})
    assert moved.returncode == 0, moved.stderr
    # lowering targetPhase is the GitOps rollback: always allowed, like any non-flags change
    assert patch(crd, namespace, "flags", {"spec": {"targetPhase": "A", "paused": True}}).returncode == 0
    stored = json.loads(crd.kubectl("get", "-n", namespace, "rb/flags", "-o", "json").stdout)["spec"]
    assert (stored["targetPhase"], stored["paused"], stored["flags"]["p1Enabled"]) == ("A", True, True)


def test_premarket_needs_a_granted_probe_and_never_blocks_the_operators_status_writes(crd: DevCluster,
                                                                                     namespace: str) -> None:
    assert apply(crd, namespace, rb("pm", flags={"p2Enabled": True})).returncode == 0
    turn_on = {"spec": {"flags": {"p2SpecialPermissionStkPremarketV1": True, "updatedAt": T0 + 1}}}
    refused = patch(crd, namespace, "pm", turn_on)
    assert refused.returncode != 0 and "stk_premarket as granted" in refused.stderr
    denied = {"status": {"probes": [{"api": "stk_premarket", "outcome": "denied", "message": "没有权限"}]}}
    assert patch(crd, namespace, "pm", denied, status=True).returncode == 0
    assert patch(crd, namespace, "pm", turn_on).returncode != 0
    granted = {"status": {"probes": [{"api": "stk_premarket", "outcome": "granted"}]}}
    assert patch(crd, namespace, "pm", granted, status=True).returncode == 0
    assert patch(crd, namespace, "pm", turn_on).returncode == 0
    # the permission is revoked later: the operator must still be able to record that (and anything else)
    revoked = {"status": {"probes": [{"api": "stk_premarket", "outcome": "denied"}], "phase": "D", "state": "Frozen"}}
    written = patch(crd, namespace, "pm", revoked, status=True)
    assert written.returncode == 0, written.stderr
    assert patch(crd, namespace, "pm", {"spec": {"targetPhase": "C"}}).returncode == 0  # and a rollback too
    status = json.loads(crd.kubectl("get", "-n", namespace, "rb/pm", "-o", "json").stdout)["status"]
    assert status["probes"][0]["outcome"] == "denied" and status["state"] == "Frozen"


def test_status_is_a_subresource_spec_writes_cannot_touch_it(crd: DevCluster, namespace: str) -> None:
    assert apply(crd, namespace, rb("sub")).returncode == 0
    patch(crd, namespace, "sub", {"status": {"state": "Succeeded"}})  # through the main resource: ignored
    stored = json.loads(crd.kubectl("get", "-n", namespace, "rb/sub", "-o", "json").stdout)
    assert "status" not in stored or stored["status"].get("state") != "Succeeded"
    bad = patch(crd, namespace, "sub", {"status": {"state": "Happy"}}, status=True)
    assert bad.returncode != 0 and 'Unsupported value: "Happy"' in bad.stderr
