"""The fault drills, short version, run through the registry as `make test` runs them: each disturbs a real
Job (real PostgreSQL of its own, the local Tushare server over HTTP, the real CLI) and must recover to tables
identical to an undisturbed load. `tushare-rollout drill --all` is the long version (docs/drills.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from tushare_rollout.drills import registry, runner
from tushare_rollout.drills.context import DrillContext
from tushare_rollout.drills.model import DrillResult

DRILLS = registry.load()
DATA = [name for name, d in DRILLS.items() if d.plane == "data"]  # the control plane's: test_control_drills.py


@pytest.fixture(scope="module")
def context() -> Iterator[DrillContext]:
    """One context for the data-plane drills, as the CLI has: one PostgreSQL, one reference load of the short
    window."""
    with DrillContext(seeds=1) as ctx:
        yield ctx


@pytest.mark.parametrize("name", DATA, ids=DATA)
def test_the_short_drill_passes_with_identical_data(context: DrillContext, name: str) -> None:
    results = runner.run(context, [DRILLS[name]], short=True)  # a drill that breaks down is a failed row
    failed = [r for r in results if not (r.passed and r.identical is True)]
    assert results and not failed, runner.markdown(failed)


def test_every_data_plane_drill_is_registered() -> None:
    assert DATA == ["ingest-sigkill", "postgres-restart", "tushare-faults", "postgres-read-only", "disk-full"]
    with pytest.raises(registry.UnknownDrill, match="known: ingest-sigkill"):
        registry.select(["no-such-drill"])


RESULTS = [
    DrillResult("ingest-sigkill (seed 1)", "exit 0; identical", "killed at commit 3 | resumed", True, True, 5.04),
    DrillResult("disk-full", "exit 3", "PROBLEM: cannot run on this machine: mount refused", None, False, 0.1),
    DrillResult("tushare-faults (transient)", "identical", "daily_bar: 5 rows, the reference has 6", False, False, 2.0),
]


def test_the_table_has_a_row_per_result_and_the_exit_code_follows_them(tmp_path: Path) -> None:
    lines = runner.markdown(RESULTS).splitlines()
    assert lines[0] == "| drill | expected | observed | data identical | result | seconds |"
    assert lines[2] == ("| ingest-sigkill (seed 1) | exit 0; identical | killed at commit 3 \\| resumed | yes | pass "
                        "| 5.0 |")
    assert lines[3].endswith("| n/a | FAIL | 0.1 |") and lines[4].endswith("| NO | FAIL | 2.0 |")
    console = Console(width=220, record=True)
    console.print(runner.table(RESULTS))
    shown = console.export_text()
    assert all(r.drill in shown for r in RESULTS) and "pass" in shown and "FAIL" in shown
    assert runner.summary(RESULTS) == "1/3 drills passed in 7 s; failed: disk-full, tushare-faults (transient)"
    assert runner.exit_code(RESULTS) == 2 and runner.exit_code(RESULTS[:1]) == 0 and runner.exit_code([]) == 2
    runner.write(RESULTS, tmp_path / "drills.json", short=True)
    written = json.loads((tmp_path / "drills.json").read_text())
    assert written["passed"] is False and [r["identical"] for r in written["results"]] == [True, None, False]
    runner.write(RESULTS, tmp_path / "drills.md", short=False)
    assert (tmp_path / "drills.md").read_text().splitlines()[:5] == lines


@pytest.mark.parametrize(("args", "says"), [
    (["--only", "no-such-drill"], "unknown drill(s): no-such-drill"),
    (["--all", "--only", "disk-full"], "--all and --only exclude each other"),
], ids=["unknown", "all-and-only"])
def test_bad_drill_arguments_exit_4_naming_the_problem(args: list[str], says: str) -> None:
    done = subprocess.run([sys.executable, "-m", "tushare_rollout", "drill", *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 4 and says in done.stderr


def test_without_a_selection_the_drills_are_listed() -> None:
    done = subprocess.run([sys.executable, "-m", "tushare_rollout", "drill"], capture_output=True, text=True,
                          timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in DRILLS)
