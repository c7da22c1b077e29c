"""The report's charts: plain data in, PNG bytes out (matplotlib's Agg canvas, no display, no pyplot
state). Each function returns ``None`` when it has nothing to draw, so the page can say what is missing
instead of showing an empty frame."""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections import defaultdict
from dataclasses import dataclass

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..gates.runner import ALL_CHECKS
from ..operator.vocabulary import Phase, PhaseState
from .model import (
    BEIJING, PHASE_TITLES, STATUSES, Burst, Evaluation, Grid, PhaseView, Point, Snapshot, Usage,
)

DPI = 100
WIDTH = 13.0  # inches: 1300 px, the page's content width
STATUS_COLORS = {"complete": "#2e7d32", "partial": "#f2b01e", "missing": "#c62828", "not_applicable": "#d6d6d6"}
NO_CELL = "#ffffff"
STATUS_LABELS = {"complete": "complete", "partial": "partial", "missing": "missing",
                 "not_applicable": "not applicable", None: "not computed"}
STATE_COLORS = {PhaseState.PASSED: "#c8e6c9", PhaseState.FAILED: "#ffcdd2", PhaseState.ROLLED_BACK: "#e1bee7",
                PhaseState.RUNNING: "#bbdefb", PhaseState.PENDING: "#f5f5f5"}
BATCH_COLORS = {"P0": "#1f77b4", "P1": "#ff7f0e", "P2": "#2ca02c"}
RUN_OK, RUN_FAILED, ROLLBACK, GATE_OK, GATE_FAILED = "#3b6ea8", "#c62828", "#7b1fa2", "#2e7d32", "#c62828"
SEVERITY_COLORS = {"PASS": "#9e9e9e", "WARN": "#ef8f00", "FAIL": "#c62828"}


@dataclass(frozen=True)
class Chart:
    key: str  # a file name stem: timeline, usage, ...
    title: str
    png: bytes
    alt: str  # what the chart shows, in words


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _figure(height: float, width: float = WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    return fig


# -- 1. the timeline ------------------------------------------------------------------------------------------


def timeline(snap: Snapshot, phases: list[PhaseView], groups: list[Burst], evals: list[Evaluation],
             flag_notes: list[str]) -> Chart | None:
    """A Gantt-like chart: one lane for the flags and one per phase, with the phase's span coloured by
    its state, its ingest bursts as bars, gate evaluations (G1, ...), rollbacks (R1, ...), baselines and
    permission probes as marks."""
    moments = [m for p in phases for m in (p.first, p.last) if m] + [f.seen_at for f in snap.flags]
    if not moments:
        return None
    lo, hi = min(moments), max(moments)
    span = max(hi - lo, dt.timedelta(minutes=2))
    lo, hi = lo - span * 0.04, hi + span * 0.06
    min_width = (hi - lo) * 0.004
    lanes = ["flags", *Phase]
    y = {lane: i for i, lane in enumerate(lanes)}
    fig = _figure(1.0 + 0.62 * len(lanes) + 1.0)
    ax = fig.add_subplot()
    labels: dict[str, list[tuple[dt.datetime, str, str, bool]]] = defaultdict(list)  # at, text, colour, notable

    def x(moment: dt.datetime) -> float:
        return mdates.date2num(moment)

    width = x(lo + min_width) - x(lo)  # the narrowest bar drawn: a run of a second still shows
    for view in phases:
        if view.first is not None and view.last is not None:
            ax.broken_barh([(x(view.first), max(x(view.last) - x(view.first), width))], (y[view.phase] - 0.42, 0.84),
                           facecolors=STATE_COLORS[view.state], edgecolors="none", zorder=1)
    for b in groups:
        if b.phase is None:
            continue
        color = RUN_FAILED if b.failed else ("#9e9e9e" if b.rolled_back else RUN_OK)
        ax.broken_barh([(x(b.start), max(x(b.end) - x(b.start), width))], (y[b.phase] - 0.16, 0.32),
                       facecolors=color, edgecolors="white" if b.rolled_back else "none",
                       hatch="////" if b.rolled_back else None, linewidth=0.5, zorder=2)
    for e in evals:
        phase = Phase(e.phase)
        ax.scatter([x(e.at)], [y[phase]], marker="^" if e.passed else "X", s=110, zorder=5,
                   color=GATE_OK if e.passed else GATE_FAILED, edgecolors="black", linewidths=0.6)
        labels[phase].append((e.at, e.label, GATE_OK if e.passed else GATE_FAILED, not e.passed))
    for r in snap.rollbacks:
        phase = Phase(r.phase)
        ax.axvline(x(r.started_at), color=ROLLBACK, linestyle=":", linewidth=1.2, zorder=3)
        ax.scatter([x(r.started_at)], [y[phase]], marker="v", s=110, zorder=5, color=ROLLBACK,
                   edgecolors="black", linewidths=0.6)
        labels[phase].append((r.started_at, f"R{r.rollback_id}", ROLLBACK, True))
    if snap.baselines:
        ax.scatter([x(b.recorded_at) for b in snap.baselines], [y[Phase.A]] * len(snap.baselines), marker="s",
                   s=40, zorder=4, color="#455a64")
    rounds: dict[dt.datetime, list[str]] = defaultdict(list)
    for p in snap.probes:
        rounds[p.probed_at].append(p.outcome)
    for at, outcomes in sorted(rounds.items()):
        ax.scatter([x(at)], [y[Phase.D]], marker="o", s=60, zorder=4, color="#00838f", edgecolors="black",
                   linewidths=0.5)
        labels[Phase.D].append((at, f"probes {outcomes.count('granted')}/{len(outcomes)}", "#00838f", True))
    for i, (f, note) in enumerate(zip(snap.flags, flag_notes), 1):
        ax.scatter([x(f.seen_at)], [y["flags"]], marker="D", s=60, zorder=4, color="#37474f")
        labels["flags"].append((f.seen_at, f"F{i}", "#37474f", True))
    _place_labels(ax, labels, y, lo, hi)
    ax.set_yticks(range(len(lanes)))
    states = {v.phase: v.state for v in phases}
    ax.set_yticklabels(["flags"] + [f"{PHASE_TITLES[p]}\n{states[p].value}" for p in Phase], fontsize=10)
    ax.set_ylim(len(lanes) - 0.45, -0.6)
    ax.set_xlim(x(lo), x(hi))
    locator = mdates.AutoDateLocator(tz=BEIJING, minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
        locator, tz=BEIJING, formats=["%Y", "%b", "%b %d", "%H:%M", "%H:%M", "%H:%M:%S"],
        zero_formats=["", "%Y", "%b", "%b %d", "%H:%M", "%H:%M:%S"],
        offset_formats=["", "%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%d", "%Y-%m-%d %H:%M"]))
    ax.set_xlabel("time (Asia/Shanghai)")
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles = [Patch(color=RUN_OK, label="ingest runs"), Patch(color=RUN_FAILED, label="ingest with failed runs"),
               Patch(facecolor="#9e9e9e", hatch="////", edgecolor="white", label="ingest rolled back"),
               Line2D([], [], marker="^", color=GATE_OK, markeredgecolor="black", linestyle="", markersize=9,
                      label="gate passed (G#)"),
               Line2D([], [], marker="X", color=GATE_FAILED, markeredgecolor="black", linestyle="", markersize=9,
                      label="gate failed (G#)"),
               Line2D([], [], marker="v", color=ROLLBACK, markeredgecolor="black", linestyle=":", markersize=9,
                      label="rollback (R#)"),
               Line2D([], [], marker="D", color="#37474f", linestyle="", markersize=7, label="flags change (F#)"),
               Line2D([], [], marker="s", color="#455a64", linestyle="", markersize=6, label="rollback baseline"),
               Line2D([], [], marker="o", color="#00838f", markeredgecolor="black", linestyle="", markersize=7,
                      label="permission probes")]
    handles += [Patch(color=STATE_COLORS[s], label=f"phase {s.value}") for s in
                (PhaseState.PASSED, PhaseState.FAILED, PhaseState.ROLLED_BACK, PhaseState.RUNNING)]
    fig.legend(handles=handles, loc="outside lower center", ncol=7, fontsize=9, frameon=False)
    alt = ("timeline: " + "; ".join(f"phase {v.phase.value} {v.state.value}" for v in phases) +
           f"; {len(evals)} gate evaluations, {len(snap.rollbacks)} rollbacks, {len(snap.flags)} flags versions")
    return Chart("timeline", "Rollout timeline", _png(fig), alt)


def _place_labels(ax, labels: dict, y: dict, lo: dt.datetime, hi: dt.datetime, crowded: int = 12) -> None:
    """Short labels next to their marks; close neighbours alternate above and below, then one step further
    out, so that labels of marks seconds apart do not overprint each other. A crowded lane (daily gates
    of a steady state) labels only its notable marks (failed gates, rollbacks, ...) and its first and last."""
    total = (hi - lo).total_seconds() or 1.0
    for lane, marks in labels.items():
        marks = sorted(marks)
        if len(marks) > crowded:
            marks = [m for i, m in enumerate(marks) if m[3] or i in (0, len(marks) - 1)]
        level, last = 0, None
        for at, text, color, _ in marks:
            frac = (at - lo).total_seconds() / total
            level = (level + 1) % 4 if last is not None and frac - last < 0.05 else 0
            last = frac
            offset = (13 + 9 * (level // 2)) * (1 if level % 2 == 0 else -1)
            ax.annotate(text, (mdates.date2num(at), y[lane]), xytext=(0, offset), textcoords="offset points",
                        ha="center", va="center", fontsize=8, color=color, fontweight="bold", zorder=6,
                        bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none",
                              "alpha": 0.8})


# -- 2. ingestion ---------------------------------------------------------------------------------------------


def usage(rows: list[Usage]) -> Chart | None:
    """Four panels over the days runs started (Beijing): rows written, API calls, rate-limit hits and
    retries, each a bar per day stacked by batch."""
    if not rows:
        return None
    days = sorted({u.day for u in rows})
    batches = sorted({u.batch for u in rows})
    fig = _figure(3.6)
    axes = fig.subplots(1, 4)
    for ax, (field, title) in zip(axes, (("rows_written", "rows written"), ("api_calls", "API calls"),
                                         ("rate_limit_hits", "rate-limit hits"), ("retries", "retries"))):
        bottom = [0.0] * len(days)
        for batch in batches:
            values = [float(sum(getattr(u, field) for u in rows if u.day == d and u.batch == batch)) for d in days]
            ax.bar(range(len(days)), values, bottom=bottom, color=BATCH_COLORS.get(batch, "#777777"), label=batch,
                   width=0.7 if len(days) > 1 else 0.4)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_title(title, fontsize=11)
        _day_ticks(ax, [d.strftime("%m-%d") for d in days])
        ax.set_xlim(-0.8, len(days) - 0.2)
        top = max(bottom)
        if top == 0:
            ax.set_ylim(0, 1)
            ax.set_yticks([0])
            ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", va="center", color="#777777",
                    fontsize=12)
        elif len(days) <= 12:
            for i, total in enumerate(bottom):
                ax.annotate(f"{int(total):,}", (i, total), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8)
            ax.set_ylim(0, top * 1.15)
        ax.yaxis.set_major_formatter(_thousands)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.legend(handles=[Patch(color=BATCH_COLORS.get(b, "#777777"), label=b) for b in batches],
               loc="outside lower center", ncol=len(batches), fontsize=9, frameon=False,
               title="batch (x: the day runs started, Asia/Shanghai)", title_fontsize=9)
    totals = {f: sum(getattr(u, f) for u in rows) for f in ("rows_written", "api_calls", "rate_limit_hits",
                                                             "retries")}
    alt = (f"ingestion per day over {len(days)} days: " + ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                                                     for k, v in totals.items()))
    return Chart("usage", "Ingestion and API usage per day", _png(fig), alt)


def volume(points: list[tuple[str, dt.date, int]]) -> Chart | None:
    """Rows committed per trade date (the partitions' checkpoints in force), stacked by dataset."""
    if not points:
        return None
    days = sorted({d for _, d, _ in points})
    datasets = sorted({n for n, _, _ in points})
    columns = 1 if len(datasets) <= 14 else 2
    fig = _figure(max(3.4, 1.0 + 0.2 * -(-len(datasets) // columns)))
    ax = fig.add_subplot()
    bottom = [0.0] * len(days)
    palette = _palette(len(datasets))
    for color, name in zip(palette, datasets):
        values = [float(sum(n for ds, d, n in points if ds == name and d == day)) for day in days]
        ax.bar(range(len(days)), values, bottom=bottom, color=color, label=name, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values)]
    _day_ticks(ax, [d.strftime("%Y-%m-%d") for d in days])
    ax.set_ylabel("rows")
    ax.yaxis.set_major_formatter(_thousands)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, title="dataset",
              title_fontsize=9, ncol=columns)
    alt = f"rows committed per trade date, {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}, {len(datasets)} datasets"
    return Chart("volume", "Rows committed per trade date", _png(fig), alt)


def _day_ticks(ax, names: list[str], most: int = 24) -> None:
    step = max(1, -(-len(names) // most))
    ax.set_xticks(range(0, len(names), step))
    ax.set_xticklabels(names[::step], rotation=45 if len(names) > 6 else 0, ha="right" if len(names) > 6 else
                       "center", fontsize=8)


def _thousands(value: float, _pos: int | None = None) -> str:
    return f"{value:,.0f}"


def _palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


# -- 3. the status matrix -------------------------------------------------------------------------------------


def heatmap(grid: Grid | None, key: str, title: str, column_name: str) -> Chart | None:
    """Datasets x periods, one colour per status; a legend of the five colours under it."""
    if grid is None:
        return None
    codes = [[STATUSES.index(s) if s is not None else len(STATUSES) for s in row] for row in grid.status]
    cmap = ListedColormap([STATUS_COLORS[s] for s in STATUSES] + [NO_CELL])
    ncols = len(grid.columns)
    label_room = 0.5 if ncols <= 8 else 1.0
    height = 1.3 + label_room + 0.3 * len(grid.rows)
    width = WIDTH if ncols > 8 else min(WIDTH, 4.5 + 0.7 * ncols)
    fig = _figure(height, width)
    ax = fig.add_subplot()
    ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=len(STATUSES) + 0.5, aspect="auto", interpolation="nearest")
    if ncols <= 120:  # white lines between cells, while cells are wide enough to show them
        ax.set_xticks([i - 0.5 for i in range(1, ncols)], minor=True)
        ax.set_yticks([i - 0.5 for i in range(1, len(grid.rows))], minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5 if ncols <= 60 else 0.6)
        ax.tick_params(which="minor", length=0)
    ax.set_yticks(range(len(grid.rows)))
    ax.set_yticklabels(grid.labels, fontsize=9)
    names = [_day_label(c) for c in grid.columns]
    step = max(1, -(-ncols // 40))
    ax.set_xticks(range(0, ncols, step))
    ax.set_xticklabels(names[::step], rotation=90 if ncols > 8 else 0, fontsize=8)
    ax.set_xlabel(column_name)
    for side in ax.spines.values():
        side.set_visible(False)
    counts = grid.counts()
    none = sum(s is None for row in grid.status for s in row)
    handles = [Patch(facecolor=STATUS_COLORS[s], edgecolor="#999999", label=f"{STATUS_LABELS[s]} ({counts[s]})")
               for s in STATUSES]
    handles.append(Patch(facecolor=NO_CELL, edgecolor="#999999", label=f"{STATUS_LABELS[None]} ({none})"))
    fig.legend(handles=handles, loc="outside lower center", ncol=5 if width >= 9 else 2, fontsize=9, frameon=False)
    alt = (f"{title}: {len(grid.rows)} datasets x {ncols} {column_name}s; "
           + ", ".join(f"{counts[s]} {s}" for s in STATUSES))
    return Chart(key, title, _png(fig), alt)


def _day_label(column: str) -> str:
    """
    >>> _day_label("20240105"), _day_label("202401"), _day_label("current")
    ('2024-01-05', '202401', 'current')
    """
    if len(column) == 8 and column.isdigit():
        return f"{column[:4]}-{column[4:6]}-{column[6:]}"
    return column


# -- 4. gate trends -------------------------------------------------------------------------------------------


def gate_trends(family: str, checks: dict[str, dict[str, list[Point]]], evals: list[Evaluation]
                ) -> Chart | None:
    """Small multiples, one panel per check of a gate family: the metric per dataset over the gate
    evaluations, WARN and FAIL points marked, the thresholds dashed. Datasets that never left PASS are
    thin grey lines; the others are coloured and named."""
    if not checks:
        return None
    ncols = 2 if len(checks) > 1 else 1
    nrows = -(-len(checks) // ncols)
    fig = _figure(0.6 + 2.7 * nrows, WIDTH if ncols == 2 else WIDTH * 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    used = sorted({p.evaluation for series in checks.values() for points in series.values() for p in points})
    for ax, (check, series) in zip(axes.flat, checks.items()):
        bad = sorted(d for d, points in series.items() if any(p.severity != "PASS" for p in points))
        palette = dict(zip(bad, _palette(max(len(bad), 1)) if len(bad) > 1 else ["#1f4e79"]))
        measured = False
        values = [float(p.value) for points in series.values() for p in points if p.value is not None]
        for dataset, points in series.items():
            xs = [p.evaluation for p in points if p.value is not None]
            ys = [float(p.value) for p in points if p.value is not None]
            measured = measured or bool(xs)
            if dataset in palette:
                ax.plot(xs, ys, color=palette[dataset], linewidth=1.4, marker=".", markersize=4, label=dataset,
                        zorder=3)
            else:
                ax.plot(xs, ys, color="#bdbdbd", linewidth=0.8, marker=".", markersize=3, zorder=2)
            for severity in ("WARN", "FAIL"):
                hits = [(p.evaluation, float(p.value)) for p in points
                        if p.severity == severity and p.value is not None]
                if hits:
                    ax.scatter(*zip(*hits), s=42 if severity == "FAIL" else 30, color=SEVERITY_COLORS[severity],
                               edgecolors="black", linewidths=0.5, zorder=4)
        warn, fail = _thresholds(evals, check)
        if warn is not None:
            ax.axhline(warn, color=SEVERITY_COLORS["WARN"], linestyle="--", linewidth=0.9, zorder=1)
        if fail is not None:
            ax.axhline(fail, color=SEVERITY_COLORS["FAIL"], linestyle="--", linewidth=0.9, zorder=1)
        ax.set_ylim(*_value_range(values + [t for t in (warn, fail) if t is not None]))
        metric = ALL_CHECKS[check].metric if check in ALL_CHECKS else ""
        ax.set_title(check.split(".", 1)[-1] + ("\n" + textwrap.shorten(metric, 62) if metric else ""),
                     fontsize=9, loc="left")
        if not measured:
            ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", va="center", color="#777777")
        failed = any(p.severity == "FAIL" for points in series.values() for p in points)
        if failed:
            ax.set_facecolor("#fff5f5")
        step = max(1, -(-len(used) // 10))
        ax.set_xticks(used[::step])
        ax.set_xticklabels([evals[i].label for i in used[::step]], fontsize=8)
        ax.set_xlim(min(used) - 0.5, max(used) + 0.5)
        ax.tick_params(axis="y", labelsize=8)
        ax.yaxis.set_major_formatter(_compact)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if bad:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0,
                      ncol=2 if len(bad) > 7 else 1, handlelength=1.5)
    for ax in list(axes.flat)[len(checks):]:
        ax.set_visible(False)
    fig.legend(handles=[Line2D([], [], marker="o", color=SEVERITY_COLORS["FAIL"], markeredgecolor="black",
                               linestyle="", label="FAIL"),
                        Line2D([], [], marker="o", color=SEVERITY_COLORS["WARN"], markeredgecolor="black",
                               linestyle="", label="WARN"),
                        Line2D([], [], color=SEVERITY_COLORS["FAIL"], linestyle="--", label="fail threshold"),
                        Line2D([], [], color=SEVERITY_COLORS["WARN"], linestyle="--", label="warn threshold"),
                        Line2D([], [], color="#bdbdbd", label="datasets that always passed")],
               loc="outside lower center", ncol=5, fontsize=9, frameon=False)
    failing = [c for c, s in checks.items() if any(p.severity == "FAIL" for ps in s.values() for p in ps)]
    alt = (f"gate {family}: {len(checks)} checks over {len(used)} evaluations"
           + (f"; failed: {', '.join(failing)}" if failing else "; no failures"))
    return Chart(f"gate-{family}", f"Gate trends: {family}", _png(fig), alt)


def _value_range(values: list[float]) -> tuple[float, float]:
    """The y range of a panel: from 0 (or below, for negative values) to a little over the top.

    >>> _value_range([0.0, 0.0]), _value_range([3390.0, 2.0]), _value_range([0.8, 0.99, 1.0])
    ((-0.05, 1.0), (-169.5, 3559.5), (-0.05, 1.05))
    """
    lo, hi = min([0.0, *values]), max([0.0, *values])
    if hi - lo == 0:
        return -0.05, 1.0
    pad = (hi - lo) * 0.05
    return lo - pad, hi + pad


def _thresholds(evals: list[Evaluation], check: str) -> tuple[float | None, float | None]:
    """The check's thresholds as its newest evaluation graded it."""
    for ev in reversed(evals):
        for c in ev.results:
            if c.check == check:
                return c.warn, c.fail
    return None, None


def _compact(value: float, _pos: int | None = None) -> str:
    """
    >>> _compact(3390.0), _compact(0.995), _compact(2_500_000.0)
    ('3,390', '0.995', '2.5M')
    """
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"

