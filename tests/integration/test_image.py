"""The image, checked without a Docker engine: the Dockerfile parses into known instructions, every
file it copies exists and survives .dockerignore, the lock pins what pyproject.toml asks for, and the
build stage's own install commands, run in a clean virtualenv on a copy of the build context, give a
working `tushare-rollout` (the entrypoint) that carries its migrations.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
INSTRUCTIONS = {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "LABEL", "USER", "ENTRYPOINT", "CMD", "EXPOSE"}


@dataclass
class Stage:
    base: str
    name: str | None
    steps: list[tuple[str, str]] = field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [a for i, a in self.steps if i == instruction]


def parse(text: str) -> list[Stage]:
    """Instructions per stage: comments dropped, continuations joined, unknown instructions refused."""
    lines, pending = [], ""
    for raw in text.splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw.strip())
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        assert instruction in INSTRUCTIONS, f"unknown instruction {instruction!r}"
        if instruction == "FROM":
            words = rest.split()
            stages.append(Stage(words[0], words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        elif stages:
            stages[-1].steps.append((instruction, rest.strip()))
        else:
            assert instruction == "ARG", f"{instruction} before the first FROM"
    return stages


def ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here: the last matching pattern wins."""
    out = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(fnmatch.fnmatch(p, body) for p in prefixes) or \
                (body.startswith("**/") and any(fnmatch.fnmatch(part, body[3:]) for part in parts)):
            out = not negate
    return out


STAGES = parse((ROOT / "Dockerfile").read_text())
IGNORE = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and ln[0] != "#"]


def context_files() -> list[str]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [f for f in tracked.split() if not ignored(f, IGNORE)]


def test_the_dockerfile_has_a_build_stage_and_a_non_root_runtime_with_the_cli_as_entrypoint() -> None:
    build, runtime = STAGES
    assert build.name == "build" and runtime.name is None
    user = runtime.args("USER")[-1]
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) != 0  # numeric: runAsNonRoot can verify it
    assert json.loads(runtime.args("ENTRYPOINT")[-1]) == ["tushare-rollout"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "tushare-rollout" in scripts
    assert json.loads(runtime.args("CMD")[-1]) == ["operator"]
    labels = " ".join(runtime.args("LABEL"))
    for key in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert all("--from=build" in a for a in runtime.args("COPY"))  # the runtime gets the venv, nothing else


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    files = context_files()
    for stage in STAGES:
        for copy in stage.args("COPY"):
            words = [w for w in shlex.split(copy) if not w.startswith("--")]
            if copy.startswith("--from"):
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file"
                assert any(f == source or f.startswith(source.rstrip("/") + "/") for f in files), \
                    f"COPY {source}: excluded by .dockerignore"
    assert not any(f.startswith(("tests/", ".venv/", "bench/")) for f in files)


def test_the_lock_pins_every_dependency_of_pyproject_with_hashes() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, flags=re.M))
    pins = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins.items()}
    for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(dep)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name} is not in requirements.lock: regenerate it (see the Dockerfile)"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} does not satisfy {dep}"
    hashed = re.findall(r"^\S+==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, flags=re.M)
    assert len(hashed) == len(pins)  # every pin carries its hashes: the image installs with --require-hashes


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage's RUN commands on a copy of the build context, with a temporary venv for /opt/venv."""
    build = STAGES[0]
    work = tmp_path_factory.mktemp("image")
    src, venv = work / "src", work / "venv"
    for rel in context_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel, follow_symlinks=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update({k.split("=")[0]: k.split("=")[1] for k in " ".join(build.args("ENV")).split()})
    for run in build.args("RUN"):
        command = run.replace("/opt/venv", str(venv)).replace("/src", str(src))
        command = command.replace("python -m venv", f"{sys.executable} -m venv", 1)
        done = subprocess.run(["/bin/sh", "-c", command], cwd=src, env=env, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"RUN {run}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return venv


def test_the_build_stage_installs_a_working_entrypoint_that_carries_its_migrations(built: Path) -> None:
    version = subprocess.run([built / "bin" / "tushare-rollout", "version"], capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("tushare-rollout "), version.stderr[-2000:]
    shipped = subprocess.run([built / "bin" / "python", "-c",
                              "from tushare_rollout.db import migrate; d = migrate.MIGRATIONS_DIR;"
                              "print(d.is_dir(), len(list((d / 'versions').glob('*.py'))))"],
                             capture_output=True, text=True, timeout=120, cwd="/")
    assert shipped.stdout.split() == ["True", str(len(list((ROOT / "migrations" / "versions").glob("*.py"))))], \
        shipped.stderr[-2000:]
    operator = subprocess.run([built / "bin" / "tushare-rollout", "operator", "--help"], capture_output=True,
                              text=True, timeout=120)
    assert operator.returncode == 0
