"""``tushare-rollout report``: read the control tables, draw, write the page (and the Markdown) — the
edge where the database and the files are, with the Jobs' exit codes (3 database unreachable, 4 bad
configuration or a path that cannot be written)."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ..db.engine import safe_url
from ..jobs import ExitCode, Outcome, with_engine
from ..jobs.settings import JobSettings
from .model import Window

FIGURE = re.compile(r"^(timeline|usage|volume|matrix-[a-z]+|gate-[a-z]+)\.png$")  # the names charts.py gives
ROLLOUT_BATCH = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Request:
    out: Path
    markdown: Path | None
    window: Window
    rollout_batch: str | None


def parse_day(value: str | None, option: str) -> dt.date | None:
    """
    >>> parse_day("20240105", "--since"), parse_day(None, "--since")
    (datetime.date(2024, 1, 5), None)
    """
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"{option} is a day as YYYYMMDD, got {value!r}") from None


def request(out: str, markdown: str | None, since: str | None, until: str | None,
            rollout_batch: str | None) -> Request:
    """The command's options checked before anything is read: a ValueError says what is wrong."""
    window = Window(parse_day(since, "--since"), parse_day(until, "--until"))
    if window.since and window.until and window.until < window.since:
        raise ValueError(f"--until {until} is before --since {since}")
    if rollout_batch is not None and not ROLLOUT_BATCH.match(rollout_batch):
        raise ValueError(f"--rollout-batch is NAMESPACE/NAME (e.g. data/p0), got {rollout_batch!r}")
    paths = [Path(out)] + ([Path(markdown)] if markdown else [])
    for path in paths:
        problem = unwritable(path)
        if problem:
            raise ValueError(problem)
    if markdown and Path(markdown).resolve() == Path(out).resolve():
        raise ValueError("--markdown and --out name the same file")
    return Request(Path(out), Path(markdown) if markdown else None, window, rollout_batch)


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file, or ``None``."""
    if path.is_dir():
        return f"{path} is a directory: name a file, e.g. {path / 'report.html'}"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return f"cannot write {path}: the directory {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"cannot write {path}: permission denied"
    return None


def assets_dir(markdown: Path) -> Path:
    """Where the Markdown's figures go: ``report.md`` -> ``report_files/``."""
    return markdown.with_name(markdown.stem + "_files")


def run(settings: JobSettings, req: Request, *, now: Callable[[], dt.datetime],
        progress: Callable[[str], None] = lambda _: None) -> Outcome:
    from . import document, queries, render  # matplotlib loads here, not for a bad argument

    def work(engine: Engine) -> Outcome:
        progress("reading the control tables ...")
        with engine.connect() as conn:
            snap = queries.snapshot(conn, database=safe_url(engine.url), window=req.window,
                                    rollout_batch=req.rollout_batch, generated_at=now())
        progress("drawing ...")
        title, blocks, footer = document.compose(snap)
        page = render.to_html(title, blocks, footer)
        try:
            _write(req.out, page.encode("utf-8"))
            written = [f"{req.out} ({len(page) // 1024} KiB)"]
            if req.markdown is not None:
                folder = assets_dir(req.markdown)
                text, files = render.to_markdown(blocks, folder.name, footer)
                folder.mkdir(exist_ok=True)
                for name, png in files.items():
                    _write(folder / name, png)
                for stale in folder.glob("*.png"):  # figures of an earlier report that this one has not
                    if stale.name not in files and FIGURE.match(stale.name):
                        stale.unlink()
                _write(req.markdown, text.encode("utf-8"))
                written.append(f"{req.markdown} (+ {len(files)} figures in {folder}/)")
        except OSError as exc:
            return Outcome(ExitCode.BAD_CONFIGURATION, f"cannot write the report: {exc.strerror or exc} "
                                                       f"({exc.filename or req.out})")
        missing = "; schema not migrated" if snap.missing_tables else ""
        return Outcome(ExitCode.OK, f"wrote {' and '.join(written)}: {len(snap.runs)} ingest runs, "
                                    f"{len(snap.gate_runs)} gate runs, {len(snap.rollbacks)} rollbacks, "
                                    f"{len(snap.cells)} matrix cells{missing}")

    return with_engine(settings, "reading the control tables", work)


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file beside it, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it (mkstemp makes 0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
