"""The local control plane: etcd, kube-apiserver, kube-controller-manager and PostgreSQL.

Usage::

    with DevCluster.start(DevClusterSettings()) as cluster:
        cluster.kubectl("get", "namespaces")

Everything runs on loopback with free ports, under one temporary directory that
is removed on stop. The controller-manager runs the garbage-collector,
namespace and cronjob controllers; the Job controller stays off (Jobs are run by
the local Job runner instead).

``restart_apiserver()`` stops the kube-apiserver and starts it again on the same
port, certificates and etcd (the control-plane fault drills' outage): clients
keep their kubeconfig and find the same objects when it is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .binaries import Binaries, ensure_binaries
from .certs import ClusterPKI, make_pki, write_kubeconfig
from .postgres import EmbeddedPostgres, Postgres, connect_existing
from .process import ManagedProcess, free_port
from .settings import DevClusterSettings

TEMP_PREFIX = "tsr-devcluster-"
CONTROLLERS = ("garbage-collector-controller", "namespace-controller", "cronjob-controller")


@dataclass
class DevCluster:
    settings: DevClusterSettings
    root: Path | None = None
    binaries: Binaries | None = None
    kubeconfig: Path | None = None
    postgres: Postgres | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    apiserver: ManagedProcess | None = None  # None with an existing cluster
    server: str | None = None  # the kube-apiserver's URL
    pki: ClusterPKI | None = None

    # -- lifecycle ---------------------------------------------------------------

    @classmethod
    def start(cls, settings: DevClusterSettings) -> DevCluster:
        """Start every component and wait until each is ready. On any failure, stop what started."""
        cluster = cls(settings)
        try:
            cluster._start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def __enter__(self) -> DevCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop every process (newest first) and remove the temporary directory, whatever fails on the way."""
        with contextlib.ExitStack() as stack:
            if self.root is not None:
                stack.callback(shutil.rmtree, self.root, ignore_errors=True)
            for proc in self.processes:  # callbacks run last-in first-out: newest process first
                stack.callback(proc.stop)
            if self.postgres is not None:
                stack.callback(self.postgres.stop)
        self.processes.clear()
        self.root = self.apiserver = None

    def _start(self) -> None:
        s = self.settings
        remove_stale_dirs()
        self.root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
        if s.use_existing_cluster:
            if s.kubeconfig is None or not s.kubeconfig.is_file():
                raise ValueError("TSR_USE_EXISTING_CLUSTER is set but KUBECONFIG does not name a kubeconfig file")
            self.kubeconfig = s.kubeconfig
        else:
            self.binaries = ensure_binaries(s.cache_dir, build=s.build_binaries)
            self._start_control_plane(self.root, self.binaries)
        if s.database_url is not None:
            self.postgres = connect_existing(s.database_url.get_secret_value())
        else:
            (self.root / "postgres").mkdir()
            self.postgres = EmbeddedPostgres(self.root / "postgres", s.startup_timeout)
            self.postgres.start()

    def _start_control_plane(self, root: Path, b: Binaries) -> None:
        timeout = self.settings.startup_timeout
        pki = make_pki(_mkdir(root / "pki"))

        etcd_port, etcd_peer = free_port(), free_port()
        etcd = self._spawn(
            root, "etcd",
            [b.etcd, "--name=dev", f"--data-dir={root / 'etcd'}",
             f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
             f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
             f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
             f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
             f"--initial-cluster=dev=http://127.0.0.1:{etcd_peer}",
             "--unsafe-no-fsync=true", "--log-level=warn"],
        )
        etcd.wait_ready(lambda: _http_ok(f"http://127.0.0.1:{etcd_port}/health", '"health":"true"'), timeout)

        api_port = free_port()
        self.pki, self.server = pki, f"https://127.0.0.1:{api_port}"
        self.apiserver = self._spawn(
            root, "kube-apiserver",
            [b.kube_apiserver,
             f"--etcd-servers=http://127.0.0.1:{etcd_port}",
             "--bind-address=127.0.0.1", f"--secure-port={api_port}",
             "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
             f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
             f"--cert-dir={_mkdir(root / 'apiserver')}",
             f"--client-ca-file={pki.ca_cert}",
             "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
             f"--service-account-key-file={pki.sa_public_key}",
             f"--service-account-signing-key-file={pki.sa_private_key}",
             "--service-cluster-ip-range=10.0.0.0/24",
             "--authorization-mode=RBAC",
             "--disable-admission-plugins=ServiceAccount",
             "--allow-privileged=true",
             "--v=1"],
        )
        self._wait_apiserver()

        self.kubeconfig = root / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.server, pki)

        kcm_port = free_port()
        kcm = self._spawn(
            root, "kube-controller-manager",
            [b.kube_controller_manager,
             f"--kubeconfig={self.kubeconfig}",
             f"--authentication-kubeconfig={self.kubeconfig}",
             f"--authorization-kubeconfig={self.kubeconfig}",
             f"--controllers={','.join(CONTROLLERS)}",
             "--leader-elect=false",
             "--bind-address=127.0.0.1", f"--secure-port={kcm_port}",
             f"--cert-dir={_mkdir(root / 'kcm')}",
             "--v=1"],
        )
        with httpx.Client(verify=False, timeout=2) as insecure:  # KCM serves a self-signed cert
            kcm.wait_ready(lambda: _http_ok(f"https://127.0.0.1:{kcm_port}/healthz", client=insecure), timeout)

    def _wait_apiserver(self) -> None:
        timeout = self.settings.startup_timeout
        with _admin_client(self.pki) as client:
            self.apiserver.wait_ready(lambda: _http_ok(f"{self.server}/readyz", client=client), timeout)
            self.apiserver.wait_ready(lambda: _http_ok(f"{self.server}/api/v1/namespaces/default", client=client),
                                      timeout)

    def restart_apiserver(self, while_down: Callable[[], object] | None = None, grace: float = 5.0) -> None:
        """Stop the kube-apiserver and start it again on the same port, certificates and etcd; return once it
        serves again.

        It is sent SIGTERM (it stops listening at once) and SIGKILL if it has not exited after ``grace``
        seconds (its graceful shutdown can hang for half a minute). ``while_down`` runs while it is stopped
        (a drill keeps it down until something has happened); it is started again even if that raises.
        """
        if self.apiserver is None or self.server is None:
            raise RuntimeError("restart_apiserver: only a dev cluster started here has a kube-apiserver to restart")
        self.apiserver.stop(grace)
        try:
            if while_down is not None:
                while_down()
        finally:
            self.apiserver.start()  # the same argv; its log goes on in the same file
            self._wait_apiserver()

    def _spawn(self, root: Path, name: str, argv: list) -> ManagedProcess:
        proc = ManagedProcess(name, argv, root / f"{name}.log").start()
        self.processes.append(proc)
        return proc

    # -- what users of a running cluster need -------------------------------------

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the server's maintenance database, password included."""
        if self.postgres is None:
            raise RuntimeError("the dev cluster is not running")
        return self.postgres.url.render_as_string(hide_password=False)

    def path(self) -> str:
        """``PATH`` with the pinned ``kubectl`` and ``helm`` first."""
        dirs = [str(d) for d in self.binaries.path_dirs()] if self.binaries else []
        return os.pathsep.join([*dirs, os.environ.get("PATH", "")])

    def env(self) -> dict[str, str]:
        """The environment a client process (kubectl, psql, a Job) needs to reach this cluster."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "DATABASE_URL": self.database_url, "PATH": self.path()}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the pinned ``kubectl`` against this cluster; output is captured as text."""
        return subprocess.run(["kubectl", *args], env=self.env(), input=input, capture_output=True, text=True,
                              check=check)

    def wait_for_crd(self, name: str, timeout: float = 60.0) -> None:
        """Until the CustomResourceDefinition ``name`` is Established (served). Polled on the object itself:
        ``kubectl wait --for=condition=Established`` fails at once on a CRD so new it has no conditions yet."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.kubectl("get", f"crd/{name}", "-o", "json", check=False)
            conditions = (json.loads(got.stdout).get("status") or {}).get("conditions") or [] if got.returncode == 0 \
                else []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"crd/{name} was not Established within {timeout:.0f}s: "
                                   f"{got.stderr.strip() or conditions}")
            time.sleep(0.2)  # polling the API server for a condition, with a deadline

    def pids(self) -> list[int]:
        pids = [p.pid for p in self.processes if p.pid]
        if isinstance(self.postgres, EmbeddedPostgres) and self.postgres.process and self.postgres.process.pid:
            pids.append(self.postgres.process.pid)
        return pids


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _admin_client(pki: ClusterPKI) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    return httpx.Client(verify=ctx, timeout=5)


def _http_ok(url: str, contains: str | None = None, client: httpx.Client | None = None) -> bool:
    try:
        response = (client or httpx).get(url, timeout=2)
    except httpx.TransportError:
        return False
    return response.status_code == 200 and (contains is None or contains in response.text)


def remove_stale_dirs() -> None:
    """Remove temporary directories of dev clusters whose process died without cleaning up (e.g. kill -9)."""
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        pid = path.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
