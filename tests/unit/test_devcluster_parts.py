"""Pieces of the test bed that need no running cluster: versions, certificates, errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tushare_rollout.devcluster import Binaries, BinariesMissing, PostgresUnavailable, ensure_binaries, pinned_versions
from tushare_rollout.devcluster.certs import make_pki, write_kubeconfig
from tushare_rollout.devcluster.postgres import connect_existing
from tushare_rollout.devcluster.process import ManagedProcess, StartupError, free_port

REPO = Path(__file__).resolve().parents[2]


def test_versions_are_pinned_once_and_read_by_the_build_script() -> None:
    v = pinned_versions()
    assert re.fullmatch(r"v1\.3[67]\.\d+", v["KUBERNETES_VERSION"])
    assert re.fullmatch(r"v3\.6\.\d+", v["ETCD_VERSION"])
    assert re.fullmatch(r"v[34]\.\d+\.\d+", v["HELM_VERSION"])
    script = (REPO / "scripts" / "build-controlplane").read_text()
    assert "tushare_rollout/devcluster/versions.env" in script
    for version in v.values():  # no version literal duplicated in the script
        assert version not in script


def test_binaries_are_keyed_by_version(tmp_path: Path) -> None:
    b = Binaries.in_cache(tmp_path)
    v = pinned_versions()
    assert b.kube_apiserver == tmp_path / "bin" / f"kubernetes-{v['KUBERNETES_VERSION']}" / "kube-apiserver"
    assert b.etcd == tmp_path / "bin" / f"etcd-{v['ETCD_VERSION']}" / "etcd"
    assert b.helm == tmp_path / "bin" / f"helm-{v['HELM_VERSION']}" / "helm"
    assert b.missing() == b.all()


def test_missing_binaries_say_how_to_build_them(tmp_path: Path) -> None:
    with pytest.raises(BinariesMissing, match="make controlplane"):
        ensure_binaries(tmp_path, build=False)


def test_pki_chains_and_identities(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    admin = x509.load_pem_x509_certificate(pki.admin_cert.read_bytes())
    for cert in (serving, admin):
        cert.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ExtendedKeyUsageOID.SERVER_AUTH in serving.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "admin"
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert pki.admin_key.stat().st_mode & 0o077 == 0


def test_kubeconfig_embeds_credentials(tmp_path: Path) -> None:
    import yaml

    pki = make_pki(tmp_path)
    write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:6443", pki)
    kc = yaml.safe_load((tmp_path / "kc").read_text())
    assert kc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert kc["current-context"] == kc["contexts"][0]["name"]
    assert {"client-certificate-data", "client-key-data"} <= set(kc["users"][0]["user"])
    assert (tmp_path / "kc").stat().st_mode & 0o077 == 0


def test_bad_database_url_is_named_without_leaking_it() -> None:
    with pytest.raises(PostgresUnavailable, match="DATABASE_URL is not a database URL") as bad:
        connect_existing("hunter2-not-a-url")
    assert "hunter2" not in str(bad.value)
    with pytest.raises(PostgresUnavailable, match="only PostgreSQL") as other:
        connect_existing("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(other.value)


def test_unreachable_database_is_named_without_its_password() -> None:
    port = free_port()
    with pytest.raises(PostgresUnavailable) as down:
        connect_existing(f"postgresql://u:hunter2@127.0.0.1:{port}/db")
    message = str(down.value)
    assert f"127.0.0.1:{port}" in message and "DATABASE_URL" in message
    assert "hunter2" not in message


def test_a_component_that_dies_at_start_reports_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "crasher", [sys.executable, "-c", "import sys; print('bad flag --frobnicate'); sys.exit(7)"],
        tmp_path / "crasher.log",
    ).start()
    with pytest.raises(StartupError, match=r"crasher exited with code 7(.|\n)*bad flag --frobnicate"):
        proc.wait_ready(lambda: False, timeout=60)


def test_stop_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = ManagedProcess(
        "stubborn",
        [sys.executable, "-c",
         f"import signal, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         f"pathlib.Path({str(ready)!r}).touch(); signal.pause()"],
        tmp_path / "stubborn.log",
    ).start()
    proc.wait_ready(ready.exists, timeout=60)
    proc.stop(timeout=1)
    assert proc.proc.returncode == -9  # killed, and reaped by stop()


def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    import psutil

    parent_code = (
        "import sys, pathlib, signal\n"
        "from tushare_rollout.devcluster.process import ManagedProcess\n"
        f"child = ManagedProcess('sleeper', [sys.executable, '-c', 'import signal; signal.pause()'], "
        f"pathlib.Path({str(tmp_path / 'child.log')!r})).start()\n"
        "print(child.pid, flush=True)\n"
        "signal.pause()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        assert child.is_running()
        parent.kill()  # no chance to clean up
        parent.wait(timeout=30)
        gone, alive = psutil.wait_procs([child], timeout=30)
    finally:
        parent.stdout.close()
    assert alive == [] and gone == [child]


def test_leftovers_of_dead_clusters_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import tempfile

    from tushare_rollout.devcluster.cluster import TEMP_PREFIX, remove_stale_dirs

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{TEMP_PREFIX}{dead.stdout.strip()}-abc"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-def"
    other = tmp_path / "unrelated"
    for d in (stale, live, other):
        (d / "etcd").mkdir(parents=True)
    remove_stale_dirs()
    assert not stale.exists()
    assert live.exists() and other.exists()
