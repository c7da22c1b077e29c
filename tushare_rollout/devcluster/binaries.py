"""Where the pinned control-plane binaries live, and building them when missing.

Versions are pinned once, in ``versions.env`` beside this module; the build
script ``scripts/build-controlplane`` and this module both read it. Binaries
are cached under ``<cache>/bin/<tool>-<version>/``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-controlplane"


class BinariesMissing(RuntimeError):
    """The control-plane binaries are not built yet."""


def pinned_versions() -> dict[str, str]:
    """The versions pinned in ``versions.env``: ``{"KUBERNETES_VERSION": "v1.36.3", ...}``."""
    text = resources.files(__package__).joinpath("versions.env").read_text()
    versions = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    helm: Path

    @classmethod
    def in_cache(cls, cache_dir: Path) -> Binaries:
        v = pinned_versions()
        k8s = cache_dir / "bin" / f"kubernetes-{v['KUBERNETES_VERSION']}"
        return cls(
            etcd=cache_dir / "bin" / f"etcd-{v['ETCD_VERSION']}" / "etcd",
            kube_apiserver=k8s / "kube-apiserver",
            kube_controller_manager=k8s / "kube-controller-manager",
            kubectl=k8s / "kubectl",
            helm=cache_dir / "bin" / f"helm-{v['HELM_VERSION']}" / "helm",
        )

    def all(self) -> list[Path]:
        return [self.etcd, self.kube_apiserver, self.kube_controller_manager, self.kubectl, self.helm]

    def missing(self) -> list[Path]:
        return [p for p in self.all() if not p.is_file()]

    def path_dirs(self) -> list[Path]:
        """Directories to put on ``PATH`` so ``kubectl`` and ``helm`` are the pinned ones."""
        return [self.kubectl.parent, self.helm.parent]


def ensure_binaries(cache_dir: Path, *, build: bool = True) -> Binaries:
    """Return the cached binaries, building them first if any is missing and ``build`` allows."""
    binaries = Binaries.in_cache(cache_dir)
    if not binaries.missing():
        return binaries
    if build and BUILD_SCRIPT.is_file():
        built = subprocess.run([str(BUILD_SCRIPT)], env={**os.environ, "TSR_CACHE_DIR": str(cache_dir)})
        if built.returncode != 0:
            raise BinariesMissing(
                f"building the control plane failed (exit {built.returncode}); its output above says why. "
                "Fix that and run `make controlplane` again."
            )
        if not binaries.missing():
            return binaries
    names = ", ".join(str(p) for p in binaries.missing())
    raise BinariesMissing(
        f"control-plane binaries not built: {names}. "
        "Run `make controlplane` (or scripts/build-controlplane) from a checkout; "
        "the first build takes about half an hour and is cached afterwards."
    )

