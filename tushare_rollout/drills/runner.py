"""Run drills one after another and report them: a rich table, Markdown or JSON, and an exit code
(0 every drill passed, 2 some did not)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from subprocess import SubprocessError

from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from ..db.engine import first_line
from .context import DrillContext
from .model import DrillResult
from .registry import Drill

# what a drill that breaks down raises (a database gone for good, a Job that hangs, a mount refused): its
# row says so and the next drill runs; anything else is a bug in the drill and stops the suite
BREAKDOWNS = (RuntimeError, SQLAlchemyError, SubprocessError, OSError)


def run(context: DrillContext, drills: Iterable[Drill], *, short: bool,
        on_start: Callable[[Drill], None] | None = None,
        on_result: Callable[[DrillResult], None] | None = None) -> list[DrillResult]:
    results: list[DrillResult] = []
    for drill in drills:
        if on_start is not None:
            on_start(drill)
        started = time.monotonic()
        try:
            rows = drill.run(context, short)
        except BREAKDOWNS as exc:
            rows = [DrillResult(drill.name, drill.summary, f"the drill broke down: {type(exc).__name__}: "
                                f"{first_line(exc)}", None, False, round(time.monotonic() - started, 1))]
        for row in rows:
            if on_result is not None:
                on_result(row)
        results += rows
    return results


def exit_code(results: list[DrillResult]) -> int:
    """0 when there were drills and every one passed, else 2.

    >>> exit_code([DrillResult("a", "e", "o", True, True, 1.0)]), exit_code([])
    (0, 2)
    """
    return 0 if results and all(r.passed for r in results) else 2


def identical_text(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "n/a"}[value]


def table(results: list[DrillResult], title: str = "fault drills") -> Table:
    t = Table(title=title, title_justify="left", show_lines=True)
    t.add_column("drill", no_wrap=True)
    t.add_column("expected", overflow="fold", ratio=2)
    t.add_column("observed", overflow="fold", ratio=3)
    t.add_column("data identical", justify="center")
    t.add_column("result", justify="center")
    t.add_column("s", justify="right")
    for r in results:
        t.add_row(r.drill, r.expected, r.observed,
                  Text(identical_text(r.identical), style="red" if r.identical is False else ""),
                  Text("pass" if r.passed else "FAIL", style="green" if r.passed else "bold red"), f"{r.seconds:.0f}")
    return t


def summary(results: list[DrillResult]) -> str:
    """One line: how many passed, of how many, in how long.

    >>> summary([DrillResult("a", "e", "o", True, True, 1.0), DrillResult("b", "e", "o", None, False, 2.5)])
    '1/2 drills passed in 4 s; failed: b'
    """
    failed = [r.drill for r in results if not r.passed]
    line = f"{len(results) - len(failed)}/{len(results)} drills passed in {sum(r.seconds for r in results):.0f} s"
    return line + (f"; failed: {', '.join(failed)}" if failed else "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown(results: list[DrillResult]) -> str:
    """The table as GitHub Markdown.

    >>> print(markdown([DrillResult("a", "exit 0", "exit 0 | fine", True, True, 1.24)]))
    | drill | expected | observed | data identical | result | seconds |
    | --- | --- | --- | --- | --- | ---: |
    | a | exit 0 | exit 0 \\| fine | yes | pass | 1.2 |
    """
    lines = ["| drill | expected | observed | data identical | result | seconds |",
             "| --- | --- | --- | --- | --- | ---: |"]
    lines += [f"| {_cell(r.drill)} | {_cell(r.expected)} | {_cell(r.observed)} | {identical_text(r.identical)} | "
              f"{'pass' if r.passed else 'FAIL'} | {r.seconds:.1f} |" for r in results]
    return "\n".join(lines)


def as_json(results: list[DrillResult], *, short: bool) -> str:
    return json.dumps({"short": short, "passed": exit_code(results) == 0, "summary": summary(results),
                       "results": [r.as_dict() for r in results]}, ensure_ascii=False, indent=1)


def write(results: list[DrillResult], path: Path, *, short: bool) -> None:
    """``path`` ending in ``.json``: JSON; anything else: Markdown (with the summary line)."""
    if path.suffix.lower() == ".json":
        path.write_text(as_json(results, short=short) + "\n")
    else:
        path.write_text(f"{markdown(results)}\n\n{summary(results)} ({'short' if short else 'long'} version)\n")
