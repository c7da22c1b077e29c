"""The ``tushare-rollout`` command."""

from __future__ import annotations

import shlex
import signal
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Mapping

import typer
from rich.console import Console
from rich.markup import escape

from . import __version__
from .devcluster import BinariesMissing, DevCluster, DevClusterSettings, PostgresUnavailable, pinned_versions
from .devcluster.process import StartupError

if TYPE_CHECKING:
    from .devcluster.stack import FullStack

app = typer.Typer(help="Roll Tushare Pro market data into PostgreSQL in gated phases.", no_args_is_help=True)
devcluster_app = typer.Typer(help="The local control plane (etcd, kube-apiserver, controller-manager, PostgreSQL).")
app.add_typer(devcluster_app, name="devcluster")
job_app = typer.Typer(help="The Jobs the operator launches (one image, one CLI). Exit codes: 0 ok, 2 check failed, "
                           "3 retryable error, 4 bad configuration.")
app.add_typer(job_app, name="job")
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(db_app, name="db")

err = Console(stderr=True)


class Stop(BaseException):
    """SIGTERM arrived: unwind and stop everything (a BaseException, like KeyboardInterrupt, so nothing swallows it)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Stop()


@contextmanager
def _running_cluster(settings: DevClusterSettings) -> Iterator[DevCluster]:
    """Start the dev cluster with progress on stderr; stop it on exit, Ctrl-C or SIGTERM."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    try:
        try:
            with err.status("starting etcd, kube-apiserver, kube-controller-manager and PostgreSQL ..."):
                cluster = DevCluster.start(settings)
        except (BinariesMissing, StartupError, PostgresUnavailable, ValueError) as exc:
            err.print(f"[red]dev cluster failed to start:[/red] {escape(str(exc))}")
            raise typer.Exit(3) from None
        err.print(f"dev cluster ready in {time.monotonic() - started:.1f}s")
        try:
            yield cluster
        finally:
            # a second Ctrl-C or SIGTERM must not cut the clean-up short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            with err.status("stopping the dev cluster ..."):
                cluster.stop()
            err.print("dev cluster stopped; temporary files removed")
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _running_stack(cluster: DevCluster, **options: Any) -> Iterator[FullStack]:
    """Start the full stack on a running dev cluster, with progress on stderr; stop it on exit, Ctrl-C or SIGTERM."""
    from .devcluster.stack import FullStack

    started = time.monotonic()
    try:
        with err.status("starting the Tushare server, the database, the CRD, the operator and the Job runner ..."):
            stack = FullStack.start(cluster, **options)
    except (RuntimeError, OSError) as exc:  # StartupError, PostgresUnavailable, a port taken, ...
        err.print(f"[red]the full stack failed to start:[/red] {escape(str(exc))}")
        raise typer.Exit(3) from None
    err.print(f"operator and local Job runner watching namespace {stack.namespace}; "
              f"full stack ready in {time.monotonic() - started:.1f}s", soft_wrap=True)
    try:
        yield stack
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with err.status("stopping the Job runner, the operator and the local Tushare server ..."):
            stack.stop()


def _print_exports_and_wait(exports: Mapping[str, str]) -> None:
    """The lines a person pastes into another shell, then wait for Ctrl-C or SIGTERM."""
    for name, value in exports.items():
        typer.echo(f"export {name}={shlex.quote(value)}")
    typer.echo("ready")
    sys.stdout.flush()
    while True:
        signal.pause()


def _cluster_exports(cluster: DevCluster) -> dict[str, str]:
    env = cluster.env()
    return {name: env[name] for name in ("KUBECONFIG", "DATABASE_URL", "PATH")}


def _optional_day(value: str | None, option: str):  # -> datetime.date | None
    """A ``YYYYMMDD`` option, or exit 4 naming it."""
    import datetime as dt

    try:
        return dt.datetime.strptime(value, "%Y%m%d").date() if value else None
    except ValueError as exc:
        typer.echo(f"bad argument: {option} is YYYYMMDD ({exc})", err=True)
        raise typer.Exit(4) from None


def _job_logging() -> None:
    """A Job's log: one line per event on stderr; httpx's line per request is noise (the client summarises)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _job_settings():  # -> JobSettings (imported lazily, as every command does)
    """The Job settings from the environment; a bad value is named and exits 4 (not retryable)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from .jobs.settings import JobSettings

    try:
        return JobSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"bad configuration in the environment (TSR_*): {problems}", err=True)
    except SettingsError as exc:
        typer.echo(f"bad configuration in the environment (TSR_*): {exc}", err=True)
    raise typer.Exit(4)


@app.command()
def version() -> None:
    """Print this version and the pinned control-plane versions."""
    typer.echo(f"tushare-rollout {__version__}")
    for key, value in pinned_versions().items():
        typer.echo(f"{key.removesuffix('_VERSION').lower()} {value}")


@job_app.command("migrate")
def job_migrate(
    check: Annotated[bool, typer.Option("--check", help="Only report; exit 2 if the database is not at head.")] = False,
    to: Annotated[str | None, typer.Option("--to", metavar="REV", help="Downgrade to REV ('base' = empty).")] = None,
) -> None:
    """Upgrade the schema to head (idempotent) and keep minute partitions ready ahead."""
    from .jobs import migrate

    if check and to is not None:
        typer.echo("--check and --to exclude each other: check first, then downgrade", err=True)
        raise typer.Exit(4)
    outcome = migrate.run(_job_settings(), check=check, to=to)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("ingest")
def job_ingest(
    batch: Annotated[str, typer.Option(help="The batch to load: P0 (P1 and P2 follow).")] = "P0",
    dataset: Annotated[list[str] | None, typer.Option(help="Only these datasets (repeatable).")] = None,
    mode: Annotated[str, typer.Option(help="backfill: the whole window, resuming from checkpoints; "
                                            "incremental: partitions of the look-back window the data shows incomplete.")
                    ] = "backfill",
    start: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="First day (default: TSR_BACKFILL_START).")
                     ] = None,
    end: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Last day (default: yesterday, Beijing).")
                   ] = None,
) -> None:
    """Load a batch's datasets from Tushare into PostgreSQL: idempotent, resumable, sharded by JOB_COMPLETION_INDEX."""
    import datetime as dt

    from .db.base import Batch
    from .jobs import ingest, write_termination_log

    try:
        chosen_batch = Batch(batch)
        if mode not in ("backfill", "incremental"):
            raise ValueError(f"--mode is backfill or incremental, got {mode!r}")
        days = [dt.datetime.strptime(d, "%Y%m%d").date() if d else None for d in (start, end)]
    except ValueError as exc:
        typer.echo(f"bad argument: {exc}" if "mode" in str(exc) else
                   f"bad argument: --batch is one of P0/P1/P2 and --start/--end are YYYYMMDD ({exc})", err=True)
        raise typer.Exit(4) from None
    _job_logging()
    settings = _job_settings()
    written: dict[str, int] = {}
    with err.status("loading ...") as status:
        def progress(name: str) -> None:
            written[name] = written.get(name, 0) + 1
            status.update("loading: " + ", ".join(f"{k} {v}" for k, v in sorted(written.items())))

        result = ingest.run(settings, batch=chosen_batch, datasets=dataset or None, mode=mode, start=days[0],
                            end=days[1], on_partition=progress if err.is_terminal else None)
    write_termination_log(result.as_json(), settings.termination_log)
    typer.echo(result.message, err=result.code != 0)
    raise typer.Exit(int(result.code))


@job_app.command("gate")
def job_gate(
    phase: Annotated[str, typer.Option(help="The phase whose gate to run: A, B, C, D or E.")],
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE|TIME",
                                              help="Evaluate as if it were then: YYYY-MM-DD (end of that Beijing day) "
                                                   "or an ISO time. Default: now.")] = None,
    since: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="First trade date checked (default: the last "
                                                                      "TSR_GATES__WINDOW_DAYS open days).")] = None,
    show_passes: Annotated[bool, typer.Option("--passes/--no-passes", help="List passing checks too.")] = True,
) -> None:
    """Run a phase's checks on the stored data; store every result; exit 0 pass, 2 FAIL, 3 could not evaluate."""
    import datetime as dt

    from .gates import render
    from .jobs import gate, write_termination_log

    try:
        moment = gate.parse_as_of(as_of, lambda: dt.datetime.now(dt.timezone.utc))
        first = dt.datetime.strptime(since, "%Y%m%d").date() if since else None
    except ValueError as exc:
        typer.echo(f"bad argument: --as-of is YYYY-MM-DD or an ISO time, --since is YYYYMMDD ({exc})", err=True)
        raise typer.Exit(4) from None
    settings = _job_settings()
    with err.status(f"evaluating gate {phase} ..."):
        outcome = gate.run(settings, phase=phase.upper(), as_of=moment, since=first)
    if outcome.report is not None:
        out = Console(width=max(Console().width, 140))
        out.print(render.table(outcome.report, passes=show_passes))
        out.print(render.summary(outcome.report))
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("daily")
def job_daily(
    phase: Annotated[str, typer.Option(help="The passed phase whose batch to keep current: B, C or D.")],
    end: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Last day ingested and the gate's as-of day "
                                                                    "(default: yesterday, and now).")] = None,
) -> None:
    """Steady state (the daily CronJob): ingest the phase's batch incrementally, then run its gate as the daily gate."""
    from .gates import render
    from .jobs import daily, write_termination_log

    last = _optional_day(end, "--end")
    _job_logging()
    settings = _job_settings()
    outcome = daily.run(settings, phase=phase.upper(), end=last)
    if outcome.gated is not None and outcome.gated.report is not None:
        out = Console(width=max(Console().width, 140))
        out.print(render.table(outcome.gated.report, passes=False))
        out.print(render.summary(outcome.gated.report))
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("realtime")
def job_realtime(
    now: Annotated[str | None, typer.Option(metavar="ISO-TIME", help=(
        "The moment to act as (with its offset, e.g. 2024-01-05T10:00:00+08:00; default: now). For drills: the "
        "server answers as of its own clock."))] = None,
) -> None:
    """Phase D's realtime CronJob: snapshot today's session for the P2 realtime datasets in force.

    Outside an SSE trading session it fetches nothing and exits 0. Exit codes as `job ingest`.
    """
    import datetime as dt

    from .jobs import realtime, write_termination_log

    try:
        moment = dt.datetime.fromisoformat(now) if now else dt.datetime.now(dt.timezone.utc)
    except ValueError as exc:
        typer.echo(f"bad argument: --now is an ISO time with its offset ({exc})", err=True)
        raise typer.Exit(4) from None
    if moment.tzinfo is None:
        typer.echo("bad argument: --now needs its UTC offset (e.g. +08:00 for Beijing)", err=True)
        raise typer.Exit(4)
    _job_logging()
    settings = _job_settings()
    outcome = realtime.run(settings, now=lambda: moment)
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("baseline")
def job_baseline(
    flags: Annotated[str, typer.Option(envvar="TSR_FLAGS", metavar="JSON",
                                       help="The rollout_flags_v1 in force, as JSON (TSR_FLAGS).")],
    generation: Annotated[int, typer.Option(help="metadata.generation of the RolloutBatch.")] = 0,
) -> None:
    """Phase A: record the flags in force and the rollback baseline of TSR_ROLLOUT_BATCH."""
    from .jobs import baseline

    outcome = baseline.run(_job_settings(), flags_json=flags, generation=generation)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("probe")
def job_probe(
    probe_token: Annotated[str | None, typer.Option(
        "--probe-token", "--token", envvar="TSR_PROBE_TOKEN", metavar="LABEL",
        help="The spec.probeToken that asked for this run, recorded with each probe (a label, never the Tushare "
             "token; TSR_PROBE_TOKEN).")] = None,
) -> None:
    """Call each P2 API once and record granted / denied / rate_limited / error for TSR_ROLLOUT_BATCH.

    Exit codes: 0 every API answered (a denial is a result), 3 retryable (PostgreSQL or Tushare down),
    4 bad configuration. See docs/probes.md.
    """
    from .jobs import probe, write_termination_log

    settings = _job_settings()
    with err.status(f"probing {len(probe.PROBES)} P2 APIs ..."):
        outcome = probe.run(settings, probe_token=probe_token)
    if outcome.answers:
        Console(width=max(Console().width, 140)).print(probe.table(outcome.answers))
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("rollback")
def job_rollback(
    phase: Annotated[str, typer.Option(help="The phase to roll back: A, B, C, D or E.")],
    purge_data: Annotated[bool, typer.Option("--purge-data", help="Also delete the rows the phase's runs wrote, "
                                                                  "their checkpoints and status cells.")] = False,
    schema: Annotated[bool, typer.Option("--schema", help="Phase A: downgrade the schema to base (drops "
                                                          "everything; the record goes to the termination log only).")
                      ] = False,
    module: Annotated[list[str] | None, typer.Option(help="Phase D: only these P2 read_switch modules (repeatable), "
                                                          "e.g. p2_futures_microstructure. Default: the whole phase.")
                      ] = None,
) -> None:
    """Switch a phase's modules off for readers (and purge its data), in one transaction, of TSR_ROLLOUT_BATCH."""
    from .jobs import rollback, write_termination_log

    settings = _job_settings()
    with err.status(f"rolling back phase {phase} ..."):
        outcome = rollback.run(settings, phase=phase.upper(), purge_data=purge_data, schema=schema,
                               modules=module or None)
    if outcome.code == 0 and phase.upper() == "A" and schema:
        typer.echo(outcome.as_json())  # the only copy of this record besides the termination log
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("rollback-drill")
def job_rollback_drill(
    end: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Last day P2 is rolled forward to (default: "
                                                                    "the last day P2 was loaded for).")] = None,
) -> None:
    """Phase E: on a disposable copy, roll P2 back (readers lose exactly P2), roll it forward, compare checksums.

    Exit codes: 0 passed, 2 a difference was found, 3 retryable, 4 bad configuration. See docs/rollback.md.
    """
    from .jobs import rollback_drill, write_termination_log

    last = _optional_day(end, "--end")
    _job_logging()
    settings = _job_settings()
    with err.status("rollback drill on a disposable copy ..."):
        outcome = rollback_drill.run(settings, end=last)
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@job_app.command("publish")
def job_publish(
    phase: Annotated[str, typer.Option(help="The phase whose modules to show to readers: B, C or D.")],
    module: Annotated[list[str] | None, typer.Option(help="Only these read_switch modules (repeatable), e.g. "
                                                          "p2_realtime_index. Default: every module of the batch.")
                      ] = None,
) -> None:
    """After a phase's gate passed: switch its modules on for readers (the v_* views), of TSR_ROLLOUT_BATCH."""
    from .jobs import publish, write_termination_log

    settings = _job_settings()
    outcome = publish.run(settings, phase=phase.upper(), modules=module or None)
    write_termination_log(outcome.as_json(), settings.termination_log)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@app.command()
def operator() -> None:
    """Run the RolloutBatch operator in the foreground (settings: DATABASE_URL, TSR_IMAGE, TSR_NAMESPACES, ...)."""
    import logging

    from pydantic import ValidationError

    from .operator.handlers import run
    from .operator.settings import OperatorSettings

    try:
        settings = OperatorSettings()
    except ValidationError as exc:
        typer.echo(f"bad configuration in the environment (TSR_*): {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(4) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    run(settings)


@app.command()
def status(
    dataset: Annotated[list[str] | None, typer.Option(help="Only these datasets (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Only periods from this day on.")] = None,
    until: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Only periods up to this day.")] = None,
    explain: Annotated[str | None, typer.Option(metavar="TARGET", help="Explain one cell: dataset/scope/period, "
                                                                       "e.g. daily/market/20240105.")] = None,
    refresh: Annotated[bool, typer.Option(help="Recompute the cells from the stored rows first (needs --since).")
                       ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The SSOT status matrix: complete / partial / missing / not_applicable per dataset, scope and period."""
    import datetime as dt
    import json

    from rich.console import Console as RichConsole

    from .status import render, report

    try:
        days = [dt.datetime.strptime(d, "%Y%m%d").date() if d else None for d in (since, until)]
        result = report.run(_job_settings(), datasets=dataset or None, since=days[0], until=days[1], explain=explain,
                            refresh=refresh)
    except ValueError as exc:
        typer.echo(f"bad argument: {exc}", err=True)
        raise typer.Exit(4) from None
    except report.Unavailable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(3) from None
    if as_json:
        typer.echo(json.dumps(result.as_json(), default=str, ensure_ascii=False, indent=1))
        raise typer.Exit(0)
    out = RichConsole(width=max(RichConsole().width, 150))
    if result.explained is not None:
        out.print_json(json.dumps(result.explained, default=str, ensure_ascii=False))
        raise typer.Exit(0)
    out.print(render.table(result.cells))
    if any(c.status in ("partial", "missing") for c in result.cells):
        out.print(render.problems(result.cells))
    typer.echo(result.summary)


@app.command()
def report(
    out: Annotated[str, typer.Option("--out", metavar="FILE", help="The HTML page to write (one self-contained file)."
                                     )] = "report.html",
    markdown: Annotated[str | None, typer.Option("--markdown", metavar="FILE", help=(
        "Also write Markdown, its figures as PNG files in FILE's stem + _files/ beside it."))] = None,
    since: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Only data from this trade day on.")] = None,
    until: Annotated[str | None, typer.Option(metavar="YYYYMMDD", help="Only data up to this trade day.")] = None,
    rollout_batch: Annotated[str | None, typer.Option("--rollout-batch", metavar="NS/NAME", help=(
        "Only this RolloutBatch's gates, rollbacks, flags and probes (default: all on record)."))] = None,
) -> None:
    """The run report: timeline, ingestion and API usage, status heat map, gate trends, probes (HTML, Markdown).

    Exit codes: 0 written (also for an empty database: the page says what is missing), 3 PostgreSQL
    unreachable, 4 bad configuration or an output path that cannot be written. See docs/report.md.
    """
    import datetime as dt

    from .report import build

    try:
        req = build.request(out, markdown, since, until, rollout_batch)
    except ValueError as exc:
        typer.echo(f"bad argument: {exc}", err=True)
        raise typer.Exit(4) from None
    settings = _job_settings()
    with err.status("reading the control tables ...") as shown:
        outcome = build.run(settings, req, now=lambda: dt.datetime.now(dt.timezone.utc), progress=shown.update)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@db_app.command("partitions")
def db_partitions(
    first: Annotated[str, typer.Option("--from", metavar="YYYY-MM", help="First month.")],
    last: Annotated[str, typer.Option("--to", metavar="YYYY-MM", help="Last month (inclusive).")],
) -> None:
    """Create the monthly partitions of the minute tables for a range of months (Beijing months)."""
    import datetime as dt

    from .jobs import migrate

    try:
        months = [dt.datetime.strptime(m, "%Y-%m").date() for m in (first, last)]
    except ValueError:
        typer.echo(f"--from/--to take a month as YYYY-MM, got {first!r} and {last!r}", err=True)
        raise typer.Exit(4) from None
    if months[1] < months[0]:
        typer.echo(f"--to {last} is before --from {first}", err=True)
        raise typer.Exit(4)
    outcome = migrate.partitions(_job_settings(), *months)
    typer.echo(outcome.message, err=outcome.code != 0)
    raise typer.Exit(int(outcome.code))


@app.command("tushare-server")
def tushare_server(
    port: Annotated[int, typer.Option(help="Port on the host; 0 picks a free one.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the generated market.")] = 20240101,
    faults: Annotated[str, typer.Option(help="Injected faults, e.g. 5xx=0.1,timeout=0.02 (see docs/tushare.md).")] = "",
    rate_window: Annotated[float, typer.Option(help="Seconds in a rate-limit 'minute' (shorten for drills).")] = 60.0,
    token: Annotated[list[str] | None, typer.Option(
        help="ALIAS=demo:<tier> — let a secret-looking token stand for a demo tier (repeatable).")] = None,
) -> None:
    """Run the Tushare-compatible local server in the foreground until Ctrl-C or SIGTERM.

    When ready it prints `export TUSHARE_API_URL=http://127.0.0.1:<port>` on a line of its own.
    """
    from .tushare.server.app import LocalTushareServer
    from .tushare.server.faults import BadFaultSpec, FaultPlan

    aliases = {}
    for item in token or []:
        alias, sep, tier = item.partition("=")
        if not sep or not tier.startswith("demo:"):
            typer.echo(f"--token takes ALIAS=demo:<tier>, got {item.split('=')[0]}=...", err=True)
            raise typer.Exit(4)
        aliases[alias] = tier
    try:
        plan = FaultPlan.parse(faults, seed=seed)
    except BadFaultSpec as exc:
        typer.echo(f"--faults: {exc}", err=True)
        raise typer.Exit(4) from None
    try:
        server = LocalTushareServer(host=host, port=port, seed=seed, faults=plan, rate_window_seconds=rate_window,
                                    tokens=aliases)
    except OSError as exc:
        typer.echo(f"cannot listen on {host}:{port}: {exc.strerror}", err=True)
        raise typer.Exit(4) from None
    signal.signal(signal.SIGTERM, _on_sigterm)
    typer.echo(f"export TUSHARE_API_URL={server.url}")
    err.print("demo tokens: demo:120 … demo:15000, add :minutes,realtime,premarket; demo:all has everything")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        server.stop()


@devcluster_app.command("up")
def devcluster_up(
    full: Annotated[bool, typer.Option("--full", help="Also run the local Tushare server, a migrated database, the "
                                                      "RolloutBatch CRD, the namespace tushare-rollout with its "
                                                      "Secrets, the operator and the local Job runner.")] = False,
) -> None:
    """Run the dev cluster in the foreground until Ctrl-C or SIGTERM.

    Once ready, prints `export KUBECONFIG=...`, `export DATABASE_URL=...` and
    `export PATH=...` lines to paste into another shell (with --full also
    `export TUSHARE_API_URL=...`, and DATABASE_URL names the stack's database), then `ready`.
    """
    try:
        with _running_cluster(DevClusterSettings()) as cluster:
            if not full:
                _print_exports_and_wait(_cluster_exports(cluster))
            else:
                with _running_stack(cluster) as stack:
                    _print_exports_and_wait(stack.env())
    except (KeyboardInterrupt, Stop):
        pass


@app.command()
def demo(
    keep: Annotated[bool, typer.Option(help="Keep the stack running until Ctrl-C.")] = False,
    start: Annotated[str, typer.Option(metavar="YYYYMMDD", help="First day of the demo backfill.")] = "20240102",
    end: Annotated[str, typer.Option(metavar="YYYYMMDD", help="Last day of the demo backfill.")] = "20240329",
    timeout: Annotated[float, typer.Option(metavar="SECONDS", help="Give up waiting for Ready after this long.")
                       ] = 900.0,
) -> None:
    """Bring the full local stack up, show every component answering, then roll the example RolloutBatch out
    through the operator (phase A, then B: the P0 backfill) and show it advancing until Ready or Stalled.

    Exit codes: 0 Ready, 2 Stalled or timed out, 3 the stack failed to start or the operator exited,
    4 bad arguments, 130 interrupted.
    """
    import datetime as dt

    from . import demo as show

    try:
        first, last = (dt.datetime.strptime(d, "%Y%m%d").date() for d in (start, end))
    except ValueError:
        typer.echo(f"--start/--end take a day as YYYYMMDD, got {start!r} and {end!r}", err=True)
        raise typer.Exit(4) from None
    if last < first:
        typer.echo(f"--end {end} is before --start {start}", err=True)
        raise typer.Exit(4)
    code = 130  # unless the rollout ends
    try:
        with _running_cluster(DevClusterSettings()) as cluster, \
                _running_stack(cluster, token=show.DEMO_TOKEN) as stack:
            Console(width=120).print(show.components(stack))
            code = show.rollout(stack, start, end, timeout=timeout)
            if keep:
                err.print("running; Ctrl-C to stop. In another shell:")
                _print_exports_and_wait(stack.env())
    except (KeyboardInterrupt, Stop):
        pass
    raise typer.Exit(code)


@app.command()
def drill(
    run_all: Annotated[bool, typer.Option("--all", help="Run every drill.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", metavar="NAME",
                                                   help="Run only these drills (repeatable or comma-separated).")
                    ] = None,
    short: Annotated[bool, typer.Option("--short", help="The short version `make test` runs: a 9-day window, "
                                                        "one seed.")] = False,
    seeds: Annotated[int | None, typer.Option(min=1, max=50, help="Seeds of the seeded drills "
                                                                   "(default: 1 short, 3 long).")] = None,
    out: Annotated[str | None, typer.Option(metavar="FILE", help="Also write the table to FILE: JSON if it ends in "
                                                                 ".json, else Markdown.")] = None,
) -> None:
    """Fault drills: disturb real Jobs (SIGKILL, PostgreSQL restarted, read-only or out of disk, Tushare failing),
    let them recover, and compare table checksums with an undisturbed run.

    Starts its own PostgreSQL and local Tushare server and works on throwaway databases. Without --all or
    --only, lists the drills. Exit codes: 0 every drill passed, 2 some failed, 4 bad arguments, 130 interrupted.
    """
    from pathlib import Path

    from .drills import registry, runner
    from .drills.context import DrillContext

    names = [n.strip() for item in only or [] for n in item.split(",") if n.strip()]
    if run_all and names:
        typer.echo("--all and --only exclude each other", err=True)
        raise typer.Exit(4)
    try:
        chosen = registry.select(names or None)
    except registry.UnknownDrill as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(4) from None
    out_console = Console(width=max(Console().width, 160))
    if not run_all and not names:
        from rich.table import Table

        listing = Table(title="drills", title_justify="left")
        for column in ("drill", "plane", "what it does"):
            listing.add_column(column)
        for d in chosen:
            listing.add_row(d.name, d.plane, d.summary)
        out_console.print(listing)
        typer.echo("run them: tushare-rollout drill --all [--short] [--out drills.md], or --only NAME")
        raise typer.Exit(0)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        with DrillContext(seeds=seeds) as context, err.status("starting ...") as progress:
            results = runner.run(
                context, chosen, short=short,
                on_start=lambda d: progress.update(f"drill {d.name}: {escape(d.summary)}"),
                on_result=lambda r: err.print(f"{'[green]pass[/green]' if r.passed else '[bold red]FAIL[/bold red]'} "
                                              f"{escape(r.drill)} in {r.seconds:.0f}s", soft_wrap=True))
    except (KeyboardInterrupt, Stop):
        err.print("interrupted; everything the drills started is stopped")
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    out_console.print(runner.table(results, title=f"fault drills ({'short' if short else 'long'})"))
    typer.echo(runner.summary(results))
    if out:
        runner.write(results, Path(out), short=short)
        typer.echo(f"table written to {out}")
    raise typer.Exit(runner.exit_code(results))
