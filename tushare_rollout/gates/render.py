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


def summary(report: Report) -> Table:
    """One line per gate: how many checks passed, warned and failed."""
    t = Table(title=f"gate {report.phase}: {'passed' if report.passed else 'FAILED'}", title_justify="left")
    for name in ("gate", "PASS", "WARN", "FAIL", "skipped datasets"):
        t.add_column(name, justify="left" if name in ("gate", "skipped datasets") else "right")
    gates = dict.fromkeys(r.check.gate for r in report.results)
    for i, gate in enumerate(gates):
        counts = {s: sum(r.check.gate is gate and r.severity is s for r in report.results) for s in Severity}
        t.add_row(gate.value, str(counts[Severity.PASS]), Text(str(counts[Severity.WARN]), style=STYLE[Severity.WARN]
                                                              if counts[Severity.WARN] else ""),
                  Text(str(counts[Severity.FAIL]), style=STYLE[Severity.FAIL] if counts[Severity.FAIL] else ""),
                  "; ".join(f"{d}: {why}" for d, why in report.skipped.items()) if i == 0 else "")
    return t


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
