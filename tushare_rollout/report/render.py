"""One report, two formats: a list of blocks (headings, key-value lists, tables, figures, notes) rendered
as a self-contained HTML page (CSS inline, figures as base64 PNG data URIs, no external reference) or as
Markdown (figures as PNG files next to it). Both come from the same blocks, so they hold the same
sections. Pure functions: text in, text out."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field

from .charts import Chart


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: str = ""  # "", "note" (something is missing), "bad" (something failed)


@dataclass(frozen=True)
class KeyValues:
    items: list[tuple[str, str]]


@dataclass(frozen=True)
class Chips:
    """Labelled states (the phases), each with a tone: pass, fail, back, run, idle."""

    items: list[tuple[str, str, str]]  # label, state, tone


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    tones: list[str] = field(default_factory=list)  # per row: "", "pass", "fail", "warn", "muted"
    numeric: frozenset[int] = frozenset()  # right-aligned columns
    nowrap: frozenset[int] = frozenset()  # columns kept on one line (times, names)
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    chart: Chart


@dataclass(frozen=True)
class Legend:
    items: list[tuple[str, str]]  # label, colour


Block = Heading | Paragraph | KeyValues | Chips | Table | Figure | Legend

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;color:#1d2327;
margin:0;background:#f4f5f7}
main{max-width:1340px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:21px;margin:0 0 10px;padding-top:6px}
h3{font-size:16px;margin:18px 0 8px;color:#37474f}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px 20px;margin:18px 0}
nav{margin:8px 0 0;font-size:14px}nav a{margin-right:14px;color:#1a5fb4;text-decoration:none}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:8px 0}
dl.kv dt{color:#5f6b76}dl.kv dd{margin:0;font-weight:500}
.chips{display:flex;gap:8px;flex-wrap:wrap;margin:10px 0}
.chip{border-radius:14px;padding:3px 12px;font-size:14px;border:1px solid #c9ced4;background:#f5f5f5}
.chip b{margin-left:6px}.chip.pass{background:#c8e6c9;border-color:#81c784}.chip.fail{background:#ffcdd2;
border-color:#e57373}.chip.back{background:#e1bee7;border-color:#ba68c8}.chip.run{background:#bbdefb;
border-color:#64b5f6}
p.note{background:#fff8e1;border-left:4px solid #f2b01e;padding:8px 12px}
p.bad{background:#ffebee;border-left:4px solid #c62828;padding:8px 12px}
img{max-width:100%;height:auto;display:block;margin:8px 0;border:1px solid #eceff1}
figure{margin:10px 0}figcaption{font-size:13px;color:#5f6b76}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px;width:100%}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0;color:#37474f}
th,td{border-bottom:1px solid #e3e6ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.nw{white-space:nowrap}
tr.fail td{background:#ffebee}tr.warn td{background:#fff8e1}tr.pass td:first-child{border-left:3px solid #2e7d32}
tr.fail td:first-child{border-left:3px solid #c62828}tr.muted td{color:#8a949e}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:13px;margin:6px 0}
.legend span{display:inline-flex;align-items:center;gap:6px}
.legend i{display:inline-block;width:16px;height:16px;border:1px solid #999;border-radius:2px}
footer{color:#8a949e;font-size:12px;margin-top:20px}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _anchor(heading: Heading) -> str:
    return heading.anchor or re.sub(r"[^a-z0-9]+", "-", heading.text.lower()).strip("-")


def to_html(title: str, blocks: list[Block], footer: str = "") -> str:
    """The whole page: every figure inline, every style inline; nothing is fetched when it is opened."""
    out: list[str] = []
    open_section = False
    toc = [h for h in blocks if isinstance(h, Heading) and h.level == 2]
    for block in blocks:
        if isinstance(block, Heading):
            if block.level == 1:
                out.append(f"<header><h1>{_e(block.text)}</h1>")
                out.append("<nav>" + "".join(f'<a href="#{_anchor(h)}">{_e(h.text)}</a>' for h in toc) + "</nav>"
                           "</header>")
                continue
            if block.level == 2:
                if open_section:
                    out.append("</section>")
                out.append(f'<section id="{_anchor(block)}">')
                open_section = True
            out.append(f'<h{block.level}>{_e(block.text)}</h{block.level}>')
        elif isinstance(block, Paragraph):
            out.append(f'<p class="{block.tone}">{_e(block.text)}</p>' if block.tone else f"<p>{_e(block.text)}</p>")
        elif isinstance(block, KeyValues):
            out.append('<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in block.items)
                       + "</dl>")
        elif isinstance(block, Chips):
            out.append('<div class="chips">' + "".join(
                f'<span class="chip {tone}">{_e(label)}<b>{_e(state)}</b></span>'
                for label, state, tone in block.items)
                + "</div>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Figure):
            data = base64.b64encode(block.chart.png).decode("ascii")
            out.append(f'<figure id="fig-{_e(block.chart.key)}"><img src="data:image/png;base64,{data}" '
                       f'alt="{_e(block.chart.alt)}"><figcaption>{_e(block.chart.alt)}</figcaption></figure>')
        elif isinstance(block, Legend):
            out.append('<div class="legend">' + "".join(
                f'<span><i style="background:{_e(color)}"></i>{_e(label)}</span>' for label, color in block.items)
                + "</div>")
    if open_section:
        out.append("</section>")
    if footer:
        out.append(f"<footer>{_e(footer)}</footer>")
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(out) + "\n</main>\n</body>\n</html>\n")


def _html_table(t: Table) -> str:
    head = "".join(f"<th class=\"n\">{_e(c)}</th>" if j in t.numeric else f"<th>{_e(c)}</th>"
                   for j, c in enumerate(t.columns))
    rows = []
    for i, row in enumerate(t.rows):
        tone = t.tones[i] if i < len(t.tones) else ""
        cells = "".join(f'<td class="{c}">{_e(v)}</td>' if (c := _cell_class(t, j)) else f"<td>{_e(v)}</td>"
                        for j, v in enumerate(row))
        rows.append(f'<tr class="{tone}">{cells}</tr>' if tone else f"<tr>{cells}</tr>")
    caption = f"<caption>{_e(t.caption)}</caption>" if t.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell_class(t: Table, column: int) -> str:
    return " ".join(name for name, on in (("n", column in t.numeric), ("nw", column in t.nowrap)) if on)


def to_markdown(blocks: list[Block], assets: str, footer: str = "") -> tuple[str, dict[str, bytes]]:
    """The Markdown text and its figures: ``{file name: PNG}``, linked as ``assets/<file name>``."""
    out: list[str] = []
    files: dict[str, bytes] = {}
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(("> **Note:** " if block.tone == "note" else "> **Failed:** " if block.tone == "bad" else "")
                       + _md_text(block.text))
        elif isinstance(block, KeyValues):
            out.append("\n".join(f"- **{_md_text(k)}:** {_md_text(v)}" for k, v in block.items))
        elif isinstance(block, Chips):
            out.append(" · ".join(f"**{_md_text(label)}** {_md_text(state)}" for label, state, _ in block.items))
        elif isinstance(block, Table):
            out.append(_md_table(block))
        elif isinstance(block, Figure):
            name = f"{block.chart.key}.png"
            files[name] = block.chart.png
            out.append(f"![{_md_text(block.chart.alt)}]({assets}/{name})")
        elif isinstance(block, Legend):
            out.append("Legend: " + ", ".join(f"{label} ({color})" for label, color in block.items))
    if footer:
        out.append(f"---\n{_md_text(footer)}")
    return "\n\n".join(out) + "\n", files


def _md_text(text: str) -> str:
    """Text safe inside Markdown and its tables: pipes escaped, line breaks folded.

    >>> _md_text("a | b\\nc")
    'a \\\\| b c'
    """
    return re.sub(r"\s*\n\s*", " ", text).replace("|", "\\|")


def _md_table(t: Table) -> str:
    lines = []
    if t.caption:
        lines.append(f"**{_md_text(t.caption)}**\n")
    lines.append("| " + " | ".join(_md_text(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---:" if j in t.numeric else "---" for j in range(len(t.columns))) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(_md_text(v) or " " for v in row) + " |")
    return "\n".join(lines)
