"""The control-plane drills, short version: a RolloutBatch goes A→B on the dev cluster (the operator as its own
process, the local Job runner standing in for kubelet) while the operator is SIGKILLed mid-reconcile, while two
operators run at once, and while the kube-apiserver is restarted; each must end Ready with every Job created and
run once and tables identical to an undisturbed load. `tushare-rollout drill --only operator-sigkill --only
two-operators --only apiserver-restart` is the long version (docs/drills.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tushare_rollout.drills import registry, runner
from tushare_rollout.drills.context import DrillContext

DRILLS = registry.load()
CONTROL = [name for name, d in DRILLS.items() if d.plane == "control"]


@pytest.fixture(scope="module")
def context() -> Iterator[DrillContext]:
    """One context for the three, as the CLI has: one dev cluster, one reference load of the short window."""
    with DrillContext(seeds=1) as ctx:
        yield ctx


def test_the_control_plane_drills_are_registered_after_the_data_plane_ones() -> None:
    assert CONTROL == ["operator-sigkill", "two-operators", "apiserver-restart"]
    assert list(DRILLS)[-3:] == CONTROL


@pytest.mark.parametrize("name", CONTROL, ids=CONTROL)
def test_the_short_control_drill_passes_with_identical_data(context: DrillContext, name: str) -> None:
    results = runner.run(context, [DRILLS[name]], short=True)  # a drill that breaks down is a failed row
    failed = [r for r in results if not (r.passed and r.identical is True)]
    assert results and not failed, runner.markdown(failed)
