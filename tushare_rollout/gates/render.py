"""A gate report as a table a person reads from the top: failures first, then warnings, then passes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from .model import Severity
from .runner import Report

STYLE = {Severity.FAIL: "bold red", Severity.WARN: "yellow", Severity.PASS: "green"}
ORDER = {Severity.FAIL: 0, Severity.WARN: 1, Severity.PASS: 2}


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if value != int(value) else str(int(value))


def table(report: Report, *, passes: bool = True) -> Table:
    t = Table(title=f"gate {report.phase}", title_justify="left", show_lines=False)
    for name, kw in (("", {}), ("check", {}), ("dataset", {}), ("value", {"justify": "right"}),
                     ("warn", {"justify": "right"}), ("fail", {"justify": "right"}), ("detail", {"overflow": "fold"})):
        t.add_column(name, **kw)
    for r in sorted(report.results, key=lambda r: (ORDER[r.severity], r.check.name, r.measurement.dataset or "")):
        if r.severity is Severity.PASS and not passes:
            continue
        m = r.measurement
        detail = m.message
        if r.severity is not Severity.PASS and m.sample:
            detail += ("\n" if detail else "") + "\n".join(str(s) for s in m.sample[:3])
        if r.severity is not Severity.PASS and r.check.how_to_fix:
            detail += f"\nfix: {r.check.how_to_fix}"
        t.add_row(Text(r.severity.value, style=STYLE[r.severity]), r.check.name, m.dataset or "", _num(m.value),
                  _num(r.check.warn), _num(r.check.fail), detail)
    return t
