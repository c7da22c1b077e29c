"""The status matrix in a terminal: one line per target, a heat strip of its periods, and the
cells that are not complete with their reason."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.table import Table
from rich.text import Text

from .matrix import Cell

GLYPH = {"complete": ("■", "green"), "partial": ("■", "yellow"), "missing": ("■", "red"),
         "not_applicable": ("·", "grey50")}


def table(cells: list[Cell], *, strip: int = 40) -> Table:
    t = Table(title="status matrix (SSOT: stored rows vs calendar x listed universe)", title_justify="left")
    for name, kw in (("dataset", {}), ("scope", {}), ("complete", {"justify": "right"}),
                     ("partial", {"justify": "right"}), ("missing", {"justify": "right"}),
                     ("n/a", {"justify": "right"}), (f"last {strip} periods", {}),
                     ("first problem", {"overflow": "fold"})):
        t.add_column(name, **kw)
    groups: dict[tuple[str, str], list[Cell]] = defaultdict(list)
    for c in cells:
        groups[(c.dataset, c.scope)].append(c)
    for (dataset, scope), group in sorted(groups.items()):
        group.sort(key=lambda c: (c.period_date, c.period))
        counts = Counter(c.status for c in group)
        heat = Text()
        for c in group[-strip:]:
            glyph, style = GLYPH[c.status]
            heat.append(glyph, style=style)
        bad = next((c for c in group if c.status in ("partial", "missing")), None)
        t.add_row(dataset, scope, str(counts["complete"]), _warn(counts["partial"], "yellow"),
                  _warn(counts["missing"], "red"), str(counts["not_applicable"]), heat,
                  f"{bad.period}: {bad.reason}" if bad else "")
    return t


def _warn(n: int, style: str) -> Text:
    return Text(str(n), style=style if n else "")


def problems(cells: list[Cell], limit: int = 30) -> Table:
    t = Table(title="cells that are not complete", title_justify="left")
    for name in ("target", "status", "expected", "present", "reason", "sample"):
        t.add_column(name, overflow="fold")
    bad = [c for c in cells if c.status in ("partial", "missing")]
    for c in bad[:limit]:
        sample = ", ".join([*c.explain.get("missing_sample", [])[:5],
                            *(f"{k} (unexpected)" for k in c.explain.get("unexpected_sample", [])[:3])])
        t.add_row(c.target, Text(c.status, style=GLYPH[c.status][1]), str(c.expected), str(c.present),
                  c.reason or "", sample)
    if len(bad) > limit:
        t.caption = f"{len(bad) - limit} more; narrow with --dataset/--since or use --json"
    return t
