"""The full local stack: a running dev cluster plus everything a RolloutBatch needs to roll out.

``FullStack`` adds, to a :class:`DevCluster` that is already started:

* the local Tushare-compatible server (in this process);
* a fresh database, migrated to head;
* the ``RolloutBatch`` CRD (``crds/rolloutbatch.yaml``), waited for until Established;
* a namespace (default ``tushare-rollout``) with the Secrets ``tushare-rollout-db`` (``url``) and
  ``tushare-rollout-token`` (``token``: ``demo:all`` unless another demo tier is asked for), created
  through stdin;
* the operator (``python -m tushare_rollout operator``) as a child process, watching that namespace,
  its log in the stack's temporary directory;
* the local Job runner for that namespace, standing in for kubelet and the Job controller.

Usage::

    with DevCluster.start(DevClusterSettings()) as cluster, FullStack.start(cluster) as stack:
        stack.kubectl("apply", "-f", "docs/examples/rolloutbatch.yaml")
        stack.env()  # KUBECONFIG, DATABASE_URL, PATH, TUSHARE_API_URL for another shell

``tushare-rollout devcluster up --full`` and ``make demo`` (``tushare-rollout demo``) share it. Stopping
runs in reverse order, and every step runs even if an earlier one fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .cluster import DevCluster
from .jobrunner import LocalJobRunner
from .process import ManagedProcess, StartupError

if TYPE_CHECKING:
    from ..tushare.server.app import LocalTushareServer

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "rolloutbatch.yaml"
CRD_NAME = "rolloutbatches.tushare-rollout.io"
DEFAULT_NAMESPACE = "tushare-rollout"
DEMO_TOKEN = "demo:all"
LOCAL_IMAGE = "tushare-rollout:local"
DB_SECRET, TOKEN_SECRET = "tushare-rollout-db", "tushare-rollout-token"


class FullStack:
    """The dev cluster plus Tushare, a migrated database, the CRD, a namespace with its Secrets, the
    operator and the local Job runner. Build it with :meth:`start`; it stops on ``with`` exit."""

    def __init__(self, cluster: DevCluster, *, namespace: str = DEFAULT_NAMESPACE, seed: int = 20240101,
                 resync_seconds: float = 5.0, token: str = DEMO_TOKEN) -> None:
        if cluster.kubeconfig is None or cluster.postgres is None:
            raise ValueError("FullStack needs a started DevCluster")
        self.cluster = cluster
        self.namespace = namespace
        self.seed = seed
        self.resync_seconds = resync_seconds
        self.token = token  # a demo tier of the local server (demo:5000:minutes, ...): what the rollout may call
        self.root: Path | None = None
        self.tushare: LocalTushareServer | None = None
        self.database: str | None = None
        self.database_url: str | None = None
        self.operator: ManagedProcess | None = None
        self.runner: LocalJobRunner | None = None
        self._created_namespace = False

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def start(cls, cluster: DevCluster, **kwargs: object) -> FullStack:
        """Start every part and return once each answers; on any failure, stop what started and re-raise."""
        stack = cls(cluster, **kwargs)
        try:
            stack._start()
        except BaseException:
            stack.stop()
            raise
        return stack

    def __enter__(self) -> FullStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> None:
        from ..db import migrate
        from ..db.engine import make_engine
        from ..tushare.server.app import LocalTushareServer

        self.root = Path(tempfile.mkdtemp(prefix="stack-", dir=self.cluster.root))
        self.tushare = LocalTushareServer(seed=self.seed).start()

        name = f"tsr_{uuid.uuid4().hex[:10]}"
        self.database_url = self.cluster.postgres.create_database(name).render_as_string(hide_password=False)
        self.database = name  # dropped on stop
        engine = make_engine(self.database_url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()

        if not CRD.is_file():
            raise StartupError(f"{CRD} not found: the full stack runs from a checkout of the repository")
        self._kubectl("apply", "-f", str(CRD))
        self.cluster.wait_for_crd(CRD_NAME)

        if not self._kubectl("get", "namespace", self.namespace, "--ignore-not-found", "-o", "name").stdout.strip():
            self._kubectl("create", "namespace", self.namespace)
            self._created_namespace = True
        secrets = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
                   for name, data in ((DB_SECRET, {"url": self.database_url}), (TOKEN_SECRET, {"token": self.token}))]
        # through stdin: a secret on a command line shows in the process list and in a failed command's message
        self._kubectl("-n", self.namespace, "apply", "-f", "-",
                      input=json.dumps({"apiVersion": "v1", "kind": "List", "items": secrets}))

        self.operator = ManagedProcess("operator", [sys.executable, "-m", "tushare_rollout", "operator"],
                                       self.root / "operator.log", env=self.operator_env()).start()
        self.runner = LocalJobRunner(str(self.cluster.kubeconfig), namespaces={self.namespace}).start()
        if self.operator.proc.poll() is not None:
            raise StartupError(f"the operator exited with code {self.operator.proc.returncode} while starting; "
                               f"last lines of {self.operator.log_path}:\n{self.operator.log_tail()}")

    def stop(self) -> None:
        """Stop everything in reverse order of starting; each step runs even if an earlier one fails."""
        with contextlib.ExitStack() as stack:  # callbacks run last-in first-out
            if self.root is not None:
                stack.callback(shutil.rmtree, self.root, ignore_errors=True)
            if self.tushare is not None:
                stack.callback(self.tushare.stop)
            if self.database is not None:
                stack.callback(self.cluster.postgres.drop_database, self.database)
            if self._created_namespace:
                stack.callback(self.cluster.kubectl, "delete", "namespace", self.namespace, "--wait=false",
                               "--ignore-not-found", check=False)
            if self.operator is not None:
                stack.callback(self.operator.stop)
            if self.runner is not None:
                stack.callback(self.runner.stop)
        self.root = self.tushare = self.database = self.database_url = self.operator = self.runner = None
        self._created_namespace = False

    # -- what users of a running stack need --------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The exports another shell needs: ``KUBECONFIG``, ``DATABASE_URL`` (the stack's database),
        ``PATH`` (pinned ``kubectl``/``helm`` first) and ``TUSHARE_API_URL``."""
        if self.tushare is None or self.database_url is None:
            raise RuntimeError("the full stack is not running")
        return {"KUBECONFIG": str(self.cluster.kubeconfig), "DATABASE_URL": self.database_url,
                "PATH": self.cluster.path(), "TUSHARE_API_URL": self.tushare.url}

    def operator_env(self) -> dict[str, str]:
        """The operator's environment: this process's without settings of its own, plus the stack's."""
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("TSR_", "TUSHARE_")) and k not in ("DATABASE_URL", "KUBECONFIG")}
        return {**base, **self.env(), "TSR_IMAGE": LOCAL_IMAGE, "TSR_TUSHARE_API_URL": self.tushare.url,
                "TSR_NAMESPACES": json.dumps([self.namespace]), "TSR_LIVENESS_PORT": "0",
                "TSR_RESYNC_SECONDS": str(self.resync_seconds)}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """The pinned ``kubectl`` in the stack's namespace; output is captured as text."""
        return self.cluster.kubectl("-n", self.namespace, *args, input=input, check=check)

    def _kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``kubectl`` while starting: a failure is a StartupError that says what kubectl answered."""
        done = self.cluster.kubectl(*args, input=input, check=False)
        if check and done.returncode != 0:
            # the command line carries no secret (they go through stdin), so it may be named
            raise StartupError(f"kubectl {' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()}")
        return done
