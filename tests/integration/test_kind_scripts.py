"""The kind path cannot run here (no Docker engine), so check what can be checked without one: the
scripts parse, name files that exist, refuse clearly when a tool is missing, and the trial manifests
they apply are accepted by the real kube-apiserver (server-side dry run)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tushare_rollout.devcluster import DevCluster

ROOT = Path(__file__).parents[2]
SCRIPTS = [ROOT / "scripts" / "kind-up", ROOT / "scripts" / "kind-down"]


def test_the_scripts_parse_and_every_repository_path_they_name_exists() -> None:
    for script in SCRIPTS:
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        subprocess.run(["bash", "-n", str(script)], check=True)
    text = SCRIPTS[0].read_text()
    named = {p.rstrip(".") for p in re.findall(r"(?:charts|docs|scripts)/[\w./-]+", text)}
    assert {"charts/tushare-rollout", "docs/examples/rolloutbatch.yaml", "scripts/kind/try-it.yaml"} <= named
    for path in named:
        assert (ROOT / path).exists(), path


def test_a_missing_tool_is_named_with_what_to_read(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "env"):  # a PATH with a shell and nothing of docker/kind/kubectl/helm
        (bin_dir / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True,
                                                   check=True).stdout.strip())
    for script, says in ((SCRIPTS[0], "kind-up: docker is not on PATH; see docs/install.md"),
                         (SCRIPTS[1], "kind-down: kind is not on PATH")):
        done = subprocess.run([str(bin_dir / "bash"), str(script)], env={"PATH": str(bin_dir)}, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 4 and says in done.stderr, done.stderr


def test_the_trial_manifests_are_accepted_by_the_api_server(devcluster: DevCluster, namespace: str) -> None:
    manifest = ROOT / "scripts" / "kind" / "try-it.yaml"
    done = devcluster.kubectl("apply", "-n", namespace, "--dry-run=server", "-f", str(manifest), check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(line.split()[0] for line in done.stdout.splitlines()) == [
        "deployment.apps/tushare-server", "service/postgres", "service/tushare-server", "statefulset.apps/postgres"]
