"""What `make demo` shows: every component answering, then the rollout as far as it goes today
(phase A: the schema, the flags and the rollback baseline, and its gate; phase B: the P0 backfill
from the local Tushare server, its gate, and the status matrix)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from .devcluster import DevCluster
from .devcluster.cluster import CONTROLLERS
from .tushare.server.app import LocalTushareServer

err = Console(stderr=True)


def rollout(cluster: DevCluster, tushare: LocalTushareServer, start: str, end: str) -> None:
    """Phases A and B on a fresh database: what was stored, what the gates said, the status matrix."""
    import datetime as dt

    from .db import engine as db_engine
    from .db.base import Batch
    from .gates import render as gate_render
    from .jobs import baseline, gate, ingest, migrate
    from .jobs.settings import JobSettings
    from .status import matrix
    from .status import render as status_render

    url = cluster.postgres.create_database("tushare_demo").render_as_string(hide_password=False)
    settings = JobSettings(database_url=url, tushare_token="demo:all", tushare_api_url=tushare.url,
                           termination_log="/nonexistent/termination-log", rollout_batch="default/demo")
    out = Console(width=150)
    err.print("phase A: " + migrate.run(settings).message)
    flags = '{"p0Enabled": true, "updatedAt": %d}' % int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    err.print("phase A: " + baseline.run(settings, flags_json=flags).message)
    as_of = dt.datetime.combine(dt.datetime.strptime(end, "%Y%m%d").date(), dt.time(23, 59), gate.BEIJING)
    err.print("phase A: " + gate.run(settings, phase="A", as_of=as_of).message)
    days = [dt.datetime.strptime(d, "%Y%m%d").date() for d in (start, end)]
    with err.status(f"phase B: P0 backfill {start}..{end} from the local Tushare server ..."):
        result = ingest.run(settings, batch=Batch.P0, start=days[0], end=days[1])
    table = Table(title=f"P0 backfill {start}..{end}")
    for column in ("dataset", "status", "partitions", "rows fetched", "rows written", "API calls", "seconds"):
        table.add_column(column, justify="right" if column not in ("dataset", "status") else "left")
    for o in result.outcomes:
        table.add_row(o.dataset, o.status, str(o.tally.partitions), str(o.tally.fetched),
                      str(o.tally.inserted + o.tally.updated), str(o.api_calls), f"{o.seconds:.1f}")
    out.print(table)
    err.print(result.message)
    with err.status("phase B: gate ..."):
        outcome = gate.run(settings, phase="B", as_of=as_of, since=days[0])
    if outcome.report is not None:
        out.print(gate_render.summary(outcome.report))
        if not outcome.report.passed or outcome.report.warned:
            out.print(gate_render.table(outcome.report, passes=False))
    err.print("phase B: " + outcome.message)
    engine = db_engine.make_engine(url)
    try:
        with engine.connect() as conn:
            cells = matrix.load(conn, since=days[0], until=days[1])
    finally:
        engine.dispose()
    out.print(status_render.table(cells))


def tushare_row(server: LocalTushareServer) -> tuple[str, str, str]:
    """Ask the local Tushare server what a user would ask first, and describe the answer."""
    import datetime as dt

    from .tushare.catalog import APIS
    from .tushare.client import TushareClient

    with TushareClient(server.url, "demo:5000") as client:
        today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
        days = client.fetch("trade_cal", {"exchange": "SSE", "is_open": "1", "end_date": f"{today:%Y%m%d}",
                                          "start_date": f"{today - dt.timedelta(days=14):%Y%m%d}"})
        last = max(r["cal_date"] for r in days if r["cal_date"] < f"{today:%Y%m%d}")
        bars = client.fetch("daily", {"trade_date": last})
        return ("Tushare (local server)", f"{len(APIS)} APIs",
                f"{server.url}: {len(bars)} stocks traded on {last}, {client.counters.calls} calls")


def component_rows(cluster: DevCluster) -> list[tuple[str, str, str]]:
    """One row per component, each answer read from the running component itself."""
    env = cluster.env()
    versions = yaml.safe_load(cluster.kubectl("version", "-o", "yaml").stdout)
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()
    kubeconfig = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    rows = [
        ("kube-apiserver", versions["serverVersion"]["gitVersion"], kubeconfig["clusters"][0]["cluster"]["server"]),
        ("namespaces", str(len(namespaces)), " ".join(n.removeprefix("namespace/") for n in namespaces)),
        ("PostgreSQL", cluster.postgres.server_version(), cluster.postgres.url.render_as_string(hide_password=True)),
    ]
    if cluster.binaries is not None:
        helm = subprocess.run([str(cluster.binaries.helm), "version", "--short"], capture_output=True, text=True,
                              check=True, env=env)
        etcd = subprocess.run([str(cluster.binaries.etcd), "--version"], capture_output=True, text=True, check=True)
        rows += [
            ("etcd", etcd.stdout.split()[2], "127.0.0.1 (loopback only)"),
            ("kube-controller-manager", versions["serverVersion"]["gitVersion"], ", ".join(CONTROLLERS)),
            ("kubectl", versions["clientVersion"]["gitVersion"], str(cluster.binaries.kubectl)),
            ("helm", helm.stdout.strip(), str(cluster.binaries.helm)),
        ]
    return rows
