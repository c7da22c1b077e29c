"""The ``kubectl-rolloutbatch`` command (``kubectl rolloutbatch ...`` once it is on PATH).

Exit codes: 0 done, 1 the API refused or could not be reached (its message is printed) or a wait timed
out, 2 a bad argument or a verb that does not apply, 3 ``status --until`` saw the object stall instead.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from ..operator.vocabulary import Condition
from . import patches
from .explain import explain as explain_lines
from .kube import EXIT_USAGE, Expired, PluginError, RolloutBatches
from .view import current_conditions, render

EXIT_STALLED = 3

app = typer.Typer(help="Drive a RolloutBatch (tushare-rollout.io/v1alpha1): status, explain, and spec changes. "
                       "Every change is a merge patch of spec, like a git commit of the same fields.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
flags_app = typer.Typer(help="The rollout_flags_v1 flags of spec.flags.", no_args_is_help=True)
app.add_typer(flags_app, name="flags")

Name = Annotated[str, typer.Argument(help="The RolloutBatch.", show_default=False)]
Namespace = Annotated[str | None, typer.Option(
    "--namespace", "-n", show_default=False, help="Namespace (default: the context's namespace, else default).")]
Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", show_default=False, help="Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")]
Context = Annotated[str | None, typer.Option("--context", show_default=False,
                                             help="Kubeconfig context (default: the current one).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the JSON merge patch and apply nothing.")]


@app.callback()
def _global(ctx: typer.Context, namespace: Namespace = None, kubeconfig: Kubeconfig = None,
            context: Context = None) -> None:
    ctx.obj = {"namespace": namespace, "kubeconfig": kubeconfig, "context": context}


@app.command()
def status(
    ctx: typer.Context,
    name: Name,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Render again on every change, until Ctrl-C.")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="json",
                                               help="json: the status as JSON (one line per change with --watch).")
                      ] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="CONDITION", help="Watch until this condition (Ready, Stalled, ...) is True for the newest "
                                             "generation; exit 0 then, or 3 if the object stalls first.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Stop watching after this many seconds (with --until: "
                                                       "give up, exit 1).")] = None,
    namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None,
) -> None:
    """Phase, state and message; every phase with its gate; daily CronJobs; matrix; streaks; flags; conditions."""
    if output not in (None, "json"):
        raise PluginError(f"-o takes json (or nothing, for tables), got {output!r}", EXIT_USAGE)
    wanted = _condition(until) if until is not None else None
    if timeout is not None and timeout <= 0:
        raise PluginError("--timeout is a number of seconds above 0", EXIT_USAGE)
    rbs = _connect(ctx, namespace, kubeconfig, context)
    following = watch or wanted is not None
    screen = _Screen(as_json=output == "json", following=following)
    with screen:
        obj = rbs.get(name)
        screen.show(obj)
        code = _reached(obj, wanted)
        if code is None and following:
            code = _follow(rbs, name, obj, screen.show, wanted, timeout)
    raise typer.Exit(code or 0)


@app.command()
def explain(ctx: typer.Context, name: Name, namespace: Namespace = None, kubeconfig: Kubeconfig = None,
            context: Context = None) -> None:
    """Why the RolloutBatch is in its state, and what to do next."""
    obj = _connect(ctx, namespace, kubeconfig, context).get(name)
    for line in explain_lines(obj):
        typer.echo(line)


@app.command()
def promote(ctx: typer.Context, name: Name, dry_run: DryRun = False, namespace: Namespace = None,
            kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """Raise spec.targetPhase by one phase (A -> B -> C -> D -> E)."""
    _apply(ctx, name, patches.promote, dry_run, namespace, kubeconfig, context)


@app.command()
def rollback(ctx: typer.Context, name: Name,
             to: Annotated[str, typer.Option("--to", metavar="PHASE", show_default=False,
                                             help="The new, lower targetPhase; the phases above it roll back.")],
             dry_run: DryRun = False, namespace: Namespace = None, kubeconfig: Kubeconfig = None,
             context: Context = None) -> None:
    """Lower spec.targetPhase to PHASE: the operator rolls back the phases above it, newest first."""
    _apply(ctx, name, lambda obj: patches.rollback(obj, to), dry_run, namespace, kubeconfig, context)


@app.command()
def pause(ctx: typer.Context, name: Name, dry_run: DryRun = False, namespace: Namespace = None,
          kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """spec.paused: true (nothing new starts; running Jobs finish; the daily CronJobs are suspended)."""
    _apply(ctx, name, patches.pause, dry_run, namespace, kubeconfig, context)


@app.command()
def resume(ctx: typer.Context, name: Name, dry_run: DryRun = False, namespace: Namespace = None,
           kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """spec.paused: false."""
    _apply(ctx, name, patches.resume, dry_run, namespace, kubeconfig, context)


@app.command()
def retry(ctx: typer.Context, name: Name,
          token: Annotated[str | None, typer.Option(help="The new spec.retryToken (default: one made from the "
                                                         "current time).", show_default=False)] = None,
          dry_run: DryRun = False, namespace: Namespace = None, kubeconfig: Kubeconfig = None,
          context: Context = None) -> None:
    """A new spec.retryToken: the Failed or Frozen phase runs again as a new attempt."""
    now = dt.datetime.now(dt.timezone.utc)
    _apply(ctx, name, lambda obj: patches.retry(obj, token, now), dry_run, namespace, kubeconfig, context)


@flags_app.command("set")
def flags_set(ctx: typer.Context, name: Name,
              assignments: Annotated[list[str], typer.Argument(metavar="FLAG=BOOL...", show_default=False,
                                                               help="e.g. p1Enabled=true p2Enabled=false")],
              dry_run: DryRun = False, namespace: Namespace = None, kubeconfig: Kubeconfig = None,
              context: Context = None) -> None:
    """Set flags and stamp flags.updatedAt = max(now in epoch ms, the stored value + 1)."""
    now_ms = time.time_ns() // 1_000_000
    _apply(ctx, name, lambda obj: patches.set_flags(obj, assignments, now_ms), dry_run, namespace, kubeconfig,
           context)


def main() -> None:
    """The console script: one line on stderr and a non-zero exit for every failure, never a traceback."""
    try:
        code = app(prog_name="kubectl rolloutbatch", standalone_mode=False)
    except PluginError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.code)
    except typer.TyperException as exc:  # usage: a missing argument, an unknown option or command, ...
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(EXIT_USAGE)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _connect(ctx: typer.Context, namespace: str | None, kubeconfig: str | None,
             context: str | None) -> RolloutBatches:
    """Options given after the verb win over the same options given before it."""
    top = ctx.find_root().obj or {}
    return RolloutBatches(kubeconfig or top.get("kubeconfig"), context or top.get("context"),
                          namespace or top.get("namespace"))


def _apply(ctx: typer.Context, name: str, make: Callable[[dict[str, Any]], patches.Change], dry_run: bool,
           namespace: str | None, kubeconfig: str | None, context: str | None) -> None:
    rbs = _connect(ctx, namespace, kubeconfig, context)
    obj = rbs.get(name)
    try:
        change = make(obj)
    except patches.PatchError as exc:
        raise PluginError(str(exc), EXIT_USAGE) from None
    what = f"rolloutbatch.tushare-rollout.io/{name}"
    if change.body is None:
        typer.echo(f"{what} unchanged: {change.summary}")
    elif dry_run:
        typer.echo(json.dumps(change.body, separators=(",", ":")))
        typer.echo(f"dry run, nothing applied: {change.summary}", err=True)
    else:
        rbs.patch(name, patches.guarded(change.body, obj["metadata"]["resourceVersion"]))
        typer.echo(f"{what} patched: {change.summary}")


def _condition(value: str) -> str:
    known = {c.value.lower(): c.value for c in Condition}
    if value.lower() not in known:
        raise PluginError(f"--until is one of {', '.join(known.values())}, got {value!r}", EXIT_USAGE)
    return known[value.lower()]


def _reached(obj: Mapping[str, Any], wanted: str | None) -> int | None:
    """0 when ``wanted`` is True for the object's newest generation, EXIT_STALLED when it stalled instead."""
    if wanted is None:
        return None
    current = current_conditions(obj)
    if (current.get(wanted) or {}).get("status") == "True":
        return 0
    stalled = current.get(Condition.STALLED.value) or {}
    if wanted != Condition.STALLED and stalled.get("status") == "True":
        message = stalled.get("message") or (obj.get("status") or {}).get("message", "")
        typer.echo(f"error: stalled instead of {wanted}: {message}", err=True)
        return EXIT_STALLED
    return None


def _follow(rbs: RolloutBatches, name: str, obj: dict[str, Any], show: Callable[[Mapping[str, Any]], None],
            wanted: str | None, timeout: float | None) -> int | None:
    """Watch the object; show it on every change; stop when ``wanted`` is reached, or at the timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last = _shown(obj)
    while True:
        remaining = None if deadline is None else math.ceil(deadline - time.monotonic())
        if remaining is not None and remaining <= 0:
            if wanted is None:  # --watch --timeout: watching for that long is all that was asked
                return 0
            raise PluginError(f"timed out after {timeout:g}s waiting for condition {wanted}")
        try:
            for kind, new in rbs.watch(name, obj["metadata"]["resourceVersion"], remaining):
                if kind == "DELETED":
                    raise PluginError(f'rolloutbatch "{name}" was deleted')
                if kind not in ("ADDED", "MODIFIED"):
                    continue
                obj = new
                if _shown(obj) != last:
                    last = _shown(obj)
                    show(obj)
                code = _reached(obj, wanted)
                if code is not None:
                    return code
        except Expired:  # the resourceVersion is too old to watch from: read afresh and go on from there
            obj = rbs.get(name)
            if _shown(obj) != last:
                last = _shown(obj)
                show(obj)
            code = _reached(obj, wanted)
            if code is not None:
                return code


def _shown(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the view depends on: a change elsewhere (managedFields, resourceVersion) renders nothing new."""
    meta = obj.get("metadata") or {}
    return meta.get("generation"), json.dumps([obj.get("spec"), obj.get("status")], sort_keys=True)


def _document(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "generation": meta.get("generation"),
            "targetPhase": spec.get("targetPhase"), "paused": spec.get("paused", False),
            "status": obj.get("status") or {}}


class _Screen:
    """Where status goes: tables (redrawn in place on a terminal when following) or JSON."""

    def __init__(self, *, as_json: bool, following: bool) -> None:
        self.as_json, self.following = as_json, following
        out = Console()
        self.out = out if out.is_terminal else Console(width=max(out.width, 160))
        redraw = following and not as_json and out.is_terminal
        self.live = Live(console=self.out, auto_refresh=False, vertical_overflow="visible") if redraw else None

    def __enter__(self) -> _Screen:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def show(self, obj: Mapping[str, Any]) -> None:
        if self.as_json:
            typer.echo(json.dumps(_document(obj), ensure_ascii=False, indent=None if self.following else 2))
        elif self.live is not None:
            self.live.update(render(obj), refresh=True)
        else:
            self.out.print(render(obj))
            if self.following:
                self.out.print("---")
        sys.stdout.flush()
