"""The run report's pure parts: phase states, bursts, usage per day, heat-map grids, gate series, the charts
(PNG out, or nothing to draw), the HTML and Markdown rendering, and the command's argument checks."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tushare_rollout.operator.vocabulary import Phase, PhaseState
from tushare_rollout.report import build, charts, document, model, render
from tushare_rollout.report.model import (
    CheckResult, FlagsVersion, GateRun, IngestRun, MatrixCell, Probe, Rollback, Snapshot, Window,
)

T0 = dt.datetime(2024, 1, 5, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Beijing
PNG = b"\x89PNG\r\n\x1a\n"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def run(run_id: int, minutes: float, *, batch: str = "P0", dataset: str = "daily", status: str = "succeeded",
        rolled_back_by: int | None = None, rows: int = 100, calls: int = 5, hits: int = 0) -> IngestRun:
    return IngestRun(run_id, batch, dataset, "backfill", dt.date(2024, 1, 2), dt.date(2024, 1, 12), status, rows,
                     rows, calls, hits, hits, 10 * hits, None, at(minutes), at(minutes + 1), rolled_back_by)


def gate(gate_run_id: int, minutes: float, phase: str = "B", passed: bool = True, value: float = 0,
         family: str = "reconciliation", check: str = "reconciliation.expected_keys") -> GateRun:
    severity = "PASS" if passed else "FAIL"
    return GateRun(gate_run_id, phase, family, "P0", dt.date(2024, 1, 2), dt.date(2024, 1, 12), passed, "data/p0",
                   None, at(minutes), (CheckResult(check, "daily", severity, value, 0, 0, None),))


def rollback(rollback_id: int, minutes: float, phase: str = "B") -> Rollback:
    return Rollback(rollback_id, "data/p0", phase, "P0", True, False, ("stock",), 3477, 9,
                    "rolled back phase B (P0) of data/p0", at(minutes))


def snap(**parts) -> Snapshot:
    return Snapshot("postgresql+psycopg://postgres:***@127.0.0.1:5432/tsr", Window(), None, at(600), **parts)


def cells(days: int = 10, datasets: tuple[str, ...] = ("daily", "adj_factor")) -> list[MatrixCell]:
    out = []
    for i in range(days):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        weekend = day.weekday() >= 5
        for n, dataset in enumerate(datasets):
            status = "not_applicable" if weekend else ("missing" if n and i % 3 == 0 else "complete")
            out.append(MatrixCell(dataset, "market", day.strftime("%Y%m%d"), day, status,
                                  "market closed" if weekend else None))
    return out


# -- phases ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts, phase, state", [
    ({}, Phase.B, PhaseState.PENDING),
    ({"runs": [run(1, 0)]}, Phase.B, PhaseState.RUNNING),
    ({"runs": [run(1, 0)], "gate_runs": [gate(1, 5)]}, Phase.B, PhaseState.PASSED),
    ({"runs": [run(1, 0)], "gate_runs": [gate(1, 5, passed=False)]}, Phase.B, PhaseState.FAILED),
    ({"runs": [run(1, 0, rolled_back_by=1)], "gate_runs": [gate(1, 5, passed=False)], "rollbacks": [rollback(1, 6)]},
     Phase.B, PhaseState.ROLLED_BACK),
    ({"runs": [run(1, 0, rolled_back_by=1), run(2, 9)], "gate_runs": [gate(1, 5, passed=False)],
      "rollbacks": [rollback(1, 6)]}, Phase.B, PhaseState.RUNNING),
    ({"runs": [run(1, 0, rolled_back_by=1), run(2, 9)], "gate_runs": [gate(1, 5, passed=False), gate(2, 12)],
      "rollbacks": [rollback(1, 6)]}, Phase.B, PhaseState.PASSED),
    ({"gate_runs": [gate(1, 0, phase="A", family="batch", check="baseline.flags_recorded")]}, Phase.A,
     PhaseState.PASSED),
    ({"runs": [run(1, 0, batch="P1", dataset="fx_daily")]}, Phase.C, PhaseState.RUNNING),
    ({"probes": [Probe("stk_mins", "granted", None, "answered (1 row)", "data/p0", at(0))]}, Phase.D,
     PhaseState.RUNNING),
], ids=["nothing", "ingesting", "gate-passed", "gate-failed", "rolled-back", "reingesting-after-rollback",
        "passed-after-rollback", "phase-a-gate", "p1-runs-are-phase-c", "probes-start-phase-d"])
def test_a_phase_state_follows_its_newest_gate_and_rollback(parts: dict, phase: Phase, state: PhaseState) -> None:
    s = snap(**parts)
    views = {v.phase: v for v in model.phase_views(s, model.evaluations(s.gate_runs), model.bursts(s.runs))}
    assert views[phase].state is state, views[phase].why
    assert all(v.state is PhaseState.PENDING for p, v in views.items() if p is not phase)


def test_runs_group_into_bursts_split_by_gap_batch_and_rollback() -> None:
    runs = [run(1, 0, rolled_back_by=1), run(2, 1, rolled_back_by=1), run(3, 2), run(4, 2.5, batch="P1"),
            run(5, 60)]
    groups = model.bursts(runs)
    assert [(b.batch, [r.run_id for r in b.runs], b.rolled_back) for b in groups] == [
        ("P0", [1, 2], True), ("P0", [3], False), ("P1", [4], False), ("P0", [5], False)]
    assert groups[0].rows_written == 200 and groups[0].window == "20240102..20240112"


def test_usage_is_summed_per_beijing_day_and_batch() -> None:
    late = replace(run(2, 0, hits=2), started_at=dt.datetime(2024, 1, 5, 16, 30, tzinfo=dt.timezone.utc))  # 00:30
    rows = model.usage_per_day([run(1, 0, calls=7), late, run(3, 0, batch="P1", status="failed")])
    assert [(u.day.isoformat(), u.batch, u.runs, u.failed, u.api_calls, u.rate_limit_hits, u.retries, u.wait_s)
            for u in rows] == [("2024-01-05", "P0", 1, 0, 7, 0, 0, 0.0), ("2024-01-05", "P1", 1, 1, 5, 0, 0, 0.0),
                               ("2024-01-06", "P0", 1, 0, 5, 2, 2, 0.02)]


def test_evaluations_group_one_transaction_and_series_follow_each_dataset() -> None:
    runs = [gate(1, 0), gate(2, 0, family="quality", check="quality.ohlc_envelope"), gate(3, 30, passed=False,
                                                                                            value=4)]
    evals = model.evaluations(runs)
    assert [(e.label, len(e.runs), e.passed) for e in evals] == [("G1", 2, True), ("G2", 1, False)]
    series = model.gate_series(evals)
    assert [(p.evaluation, p.value, p.severity) for p in series["reconciliation"]["reconciliation.expected_keys"][
        "daily"]] == [(0, 0, "PASS"), (1, 4, "FAIL")]
    moving, steady = model.split_steady(series["quality"])
    assert moving == {} and steady == {"quality.ohlc_envelope": 0}
    assert model.failed_summary(evals[1].results) == ["reconciliation.expected_keys (daily 4)"]


@pytest.mark.parametrize("statuses, combined", [
    (["complete", "complete"], "complete"),
    (["missing", "not_applicable"], "missing"),
    (["complete", "partial"], "partial"),
    (["complete", "missing"], "partial"),
    (["not_applicable", "not_applicable"], "not_applicable"),
], ids=["all-complete", "missing-and-na", "some-partial", "mixed", "none-applies"])
def test_scopes_combine_into_one_status_per_dataset_and_day(statuses: list[str], combined: str) -> None:
    assert model.combine(statuses) == combined


def test_the_day_grid_drops_weekends_but_keeps_open_days_where_nothing_applies() -> None:
    grid = model.day_grid(cells(10), [])
    assert grid is not None and grid.rows == ["daily", "adj_factor"]
    assert "20240106" not in grid.columns and "20240107" not in grid.columns and len(grid.columns) == 8
    flags_off = [replace(c, status="not_applicable", reason="flag off: p0Enabled") for c in cells(3)]
    assert model.day_grid(flags_off, []) is None
    kept = model.day_grid(flags_off, [dt.date(2024, 1, 2)])
    assert kept.columns == ["20240102"] and kept.status == [["not_applicable"], ["not_applicable"]]
    rows = model.day_rows(grid)
    assert rows[0] == ("20240101", 1, 0, 1, 0, "adj_factor missing")


def test_flag_changes_name_what_moved() -> None:
    v = lambda ms, **on: FlagsVersion("data/p0", 1, ms, {"p0Enabled": True, "p1Enabled": False, **on}, at(ms))
    assert model.flag_changes([v(1), v(2, p1Enabled=True), v(3, p0Enabled=False, p1Enabled=True)]) == [
        "first version: p0Enabled on", "+p1Enabled", "-p0Enabled"]


# -- charts ------------------------------------------------------------------------------------------------


def test_every_chart_is_a_png_or_none_when_there_is_nothing_to_draw() -> None:
    assert charts.usage([]) is None and charts.volume([]) is None and charts.heatmap(None, "k", "t", "day") is None
    assert charts.gate_trends("quality", {}, []) is None
    assert charts.timeline(snap(), model.phase_views(snap(), [], []), [], [], []) is None
    wide = cells(400, tuple(f"ds{i}" for i in range(40)))  # a long backfill: labels thinned, still one image
    chart = charts.heatmap(model.day_grid(wide, []), "matrix-days", "Status matrix", "trading day")
    assert chart is not None and chart.png.startswith(PNG) and "40 datasets x 286 trading days" in chart.alt


# -- the document and its two renderings --------------------------------------------------------------------


def full() -> Snapshot:
    return snap(runs=[run(1, 0, rolled_back_by=1), run(2, 0.5, dataset="fund_daily", rolled_back_by=1), run(3, 9),
                      run(4, 9, batch="P1", dataset="fx_daily", hits=3)],
                gate_runs=[gate(1, 5, passed=False, value=12), gate(2, 12)], rollbacks=[rollback(1, 6)],
                flags=[FlagsVersion("data/p0", 1, 1, {"p0Enabled": True}, at(-1))],
                probes=[Probe("stk_premarket", "denied", 40203, "没有权限 https://tushare.pro/document/1?doc_id=1",
                              "data/p0", at(20))],
                cells=cells(12) + [MatrixCell("cn_cpi", "market", "202401", dt.date(2024, 1, 1), "complete")],
                volume=[("daily", dt.date(2024, 1, 2), 242), ("fund_daily", dt.date(2024, 1, 2), 56)])


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.append(tag)
        self.srcs += [v for k, v in attrs if k in ("src", "href")]


def test_the_html_page_references_nothing_outside_itself_and_escapes_what_it_shows() -> None:
    title, blocks, footer = document.compose(full())
    page = render.to_html(title, blocks, footer)
    tags = Tags()
    tags.feed(page)
    assert tags.tags.count("img") == 6  # timeline, usage, volume, two heat maps, the reconciliation trend
    assert all(s.startswith(("data:image/png;base64,", "#")) for s in tags.srcs)
    assert not re.search(r"https?://", page) and "tushare.pro/document/1?doc_id=1" in page
    assert "script" not in tags.tags
    evil = render.to_html("x", [render.Paragraph("<script>alert(1)</script> & co")])
    assert "<script>" not in evil and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in evil


def test_the_markdown_holds_the_same_headings_and_writes_its_figures_as_files() -> None:
    title, blocks, footer = document.compose(full())
    text, files = render.to_markdown(blocks, "r_files", footer)
    headings = [b.text for b in blocks if isinstance(b, render.Heading)]
    assert [re.sub(r"^#+ ", "", ln) for ln in text.splitlines() if re.match(r"#{1,3} ", ln)] == headings
    assert set(files) == set(re.findall(r"\]\(r_files/([^)]+)\)", text)) and all(p.startswith(PNG)
                                                                                    for p in files.values())
    table = render.to_markdown([render.Table(["a", "n"], [["x | y\nz", "3"]], numeric=frozenset({1}))], "f")[0]
    assert table.strip().splitlines() == ["| a | n |", "|---|---:|", "| x \\| y z | 3 |"]


def test_an_empty_snapshot_says_what_is_missing_and_draws_nothing() -> None:
    title, blocks, footer = document.compose(snap(missing_tables=["ingest_runs", "gate_runs"]))
    assert not [b for b in blocks if isinstance(b, render.Figure)]
    notes = " ".join(b.text for b in blocks if isinstance(b, render.Paragraph) and b.tone == "note")
    for says in ("lacks ingest_runs, gate_runs", "job migrate", "Nothing is on record yet", "job ingest --batch P0",
                 "status --refresh", "job gate --phase B", "job probe", "job rollback-drill"):
        assert says in notes, says
    assert [b.text for b in blocks if isinstance(b, render.Heading) and b.level == 2] == [
        "Summary", "1. Rollout timeline", "2. Ingestion volume and API usage", "3. Status matrix", "4. Gate trends",
        "5. P2 permission probes", "6. Rollback drills"]


# -- the command's arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("args, says", [
    ({"since": "2024-01-02"}, "--since is a day as YYYYMMDD, got '2024-01-02'"),
    ({"until": "yesterday"}, "--until is a day as YYYYMMDD"),
    ({"since": "20240110", "until": "20240102"}, "--until 20240102 is before --since 20240110"),
    ({"rollout_batch": "p0"}, "--rollout-batch is NAMESPACE/NAME"),
    ({"rollout_batch": "Data/P0"}, "--rollout-batch is NAMESPACE/NAME"),
    ({"out": "{tmp}/nope/r.html"}, "the directory {tmp}/nope does not exist"),
    ({"out": "{tmp}"}, "is a directory"),
    ({"markdown": "{tmp}/r.html"}, "--markdown and --out name the same file"),
], ids=["since-format", "until-format", "until-before-since", "rollout-batch-no-slash", "rollout-batch-case",
        "out-parent-missing", "out-is-directory", "same-file"])
def test_bad_arguments_are_refused_before_anything_is_read(args: dict, says: str, tmp_path: Path) -> None:
    full_args = {"out": str(tmp_path / "r.html"), "markdown": None, "since": None, "until": None,
                 "rollout_batch": None, **{k: v.replace("{tmp}", str(tmp_path)) for k, v in args.items()}}
    with pytest.raises(ValueError) as refused:
        build.request(**full_args)
    assert says.replace("{tmp}", str(tmp_path)) in str(refused.value)


def test_good_arguments_make_a_request_and_the_markdown_figures_go_beside_it(tmp_path: Path) -> None:
    req = build.request(str(tmp_path / "r.html"), str(tmp_path / "r.md"), "20240102", "20240131", "data/p0")
    assert req.window == Window(dt.date(2024, 1, 2), dt.date(2024, 1, 31)) and req.rollout_batch == "data/p0"
    assert build.assets_dir(req.markdown) == tmp_path / "r_files"
