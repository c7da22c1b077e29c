"""The run report's plain data, and the pure arithmetic on it: no SQL, no matplotlib, no I/O.

:mod:`.queries` fills a :class:`Snapshot` from the control tables; the functions here derive what the
charts and the page show: each phase's state, ingest bursts, usage per day, the heat-map grids and
the gate series.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..ingest.datasets import DATASETS
from ..ingest.vintages import BEIJING
from ..operator.vocabulary import Phase, PhaseState

PHASE_TITLES = {Phase.A: "A baseline", Phase.B: "B P0", Phase.C: "C P1", Phase.D: "D P2",
                Phase.E: "E stabilization"}
PHASE_OF_BATCH = {p.batch: p for p in Phase if p.batch}
STATUSES = ("complete", "partial", "missing", "not_applicable")
BURST_GAP = dt.timedelta(minutes=5)  # runs of a batch this close together are one ingest burst (one Job, mostly)


@dataclass(frozen=True)
class Window:
    """The trade days a report covers (``--since``/``--until``); ``None`` is open."""

    since: dt.date | None = None
    until: dt.date | None = None

    def overlaps(self, start: dt.date | None, end: dt.date | None) -> bool:
        """Whether a data window ``start..end`` (either may be unknown) reaches into this one.

        >>> w = Window(dt.date(2024, 1, 8), dt.date(2024, 1, 12))
        >>> w.overlaps(dt.date(2024, 1, 2), dt.date(2024, 1, 8)), w.overlaps(dt.date(2024, 1, 13), None)
        (True, False)
        >>> Window().overlaps(None, None), w.overlaps(None, dt.date(2024, 1, 5))
        (True, False)
        """
        return ((self.since is None or end is None or end >= self.since)
                and (self.until is None or start is None or start <= self.until))

    def describe(self) -> str:
        """
        >>> Window().describe(), Window(dt.date(2024, 1, 2)).describe()
        ('every day on record', '20240102 .. (open)')
        """
        if self.since is None and self.until is None:
            return "every day on record"
        return f"{_ymd(self.since) if self.since else '(open)'} .. {_ymd(self.until) if self.until else '(open)'}"


@dataclass(frozen=True)
class IngestRun:
    run_id: int
    batch: str
    dataset: str
    mode: str
    window_start: dt.date | None
    window_end: dt.date | None
    status: str
    rows_fetched: int
    rows_written: int  # inserted + updated
    api_calls: int
    rate_limit_hits: int
    retries: int
    wait_ms: int
    error_class: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rolled_back_by: int | None = None
    job_name: str | None = None


@dataclass(frozen=True)
class CheckResult:
    check: str
    dataset: str | None
    severity: str  # PASS / WARN / FAIL
    value: float | None
    warn: float | None
    fail: float | None
    message: str | None = None


@dataclass(frozen=True)
class GateRun:
    """One gate (stability, quality, ...) of one evaluation, with its check results."""

    gate_run_id: int
    phase: str
    gate: str
    batch: str | None
    window_start: dt.date | None
    window_end: dt.date | None
    passed: bool | None
    rollout_batch: str | None
    job_name: str | None
    started_at: dt.datetime
    results: tuple[CheckResult, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """One ``job gate`` (or daily gate): the gate runs it stored in one transaction."""

    label: str  # G1, G2, ... in time order
    phase: str
    at: dt.datetime
    runs: tuple[GateRun, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    @property
    def results(self) -> list[CheckResult]:
        return [c for r in self.runs for c in r.results]

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.results if c.severity == "FAIL"]

    @property
    def warned(self) -> list[CheckResult]:
        return [c for c in self.results if c.severity == "WARN"]

    @property
    def window(self) -> str:
        starts = [r.window_start for r in self.runs if r.window_start]
        ends = [r.window_end for r in self.runs if r.window_end]
        return f"{_ymd(min(starts))}..{_ymd(max(ends))}" if starts and ends else ""


@dataclass(frozen=True)
class Rollback:
    rollback_id: int
    rollout_batch: str
    phase: str
    batch: str | None
    purge_data: bool
    schema: bool
    switches_off: tuple[str, ...]
    rows_deleted: int
    runs_rolled_back: int
    message: str | None
    started_at: dt.datetime


@dataclass(frozen=True)
class FlagsVersion:
    rollout_batch: str
    generation: int
    updated_at_ms: int
    flags: dict[str, bool]  # rollout_flags_v1 names (p0Enabled, ...)
    seen_at: dt.datetime


@dataclass(frozen=True)
class Baseline:
    rollout_batch: str
    phase: str
    recorded_at: dt.datetime


@dataclass(frozen=True)
class Probe:
    api: str
    outcome: str  # granted / denied / rate_limited / error
    error_code: int | None
    message: str | None
    rollout_batch: str | None
    probed_at: dt.datetime


@dataclass(frozen=True)
class MatrixCell:
    dataset: str
    scope: str
    period: str
    period_date: dt.date | None
    status: str
    reason: str | None = None


@dataclass
class Drill:
    """One rollback drill of phase E (``rollback_drills``)."""

    rollout_batch: str
    job_name: str | None
    passed: bool
    readers_lost: int  # P2 rows readers saw before the drill rolled P2 back
    readers_kept: int  # P0/P1 rows they kept through it
    identical: int  # tables identical after the roll-forward
    compared: int
    differences: tuple[str, ...]
    started_at: dt.datetime
    seconds: float


@dataclass
class Snapshot:
    """Everything the report shows, as read from the database at one moment."""

    database: str  # the URL with its password masked
    window: Window
    rollout_batch: str | None
    generated_at: dt.datetime
    missing_tables: list[str] = field(default_factory=list)
    runs: list[IngestRun] = field(default_factory=list)
    gate_runs: list[GateRun] = field(default_factory=list)
    rollbacks: list[Rollback] = field(default_factory=list)
    flags: list[FlagsVersion] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    cells: list[MatrixCell] = field(default_factory=list)
    open_days: list[dt.date] = field(default_factory=list)  # SSE open days over the matrix's days
    volume: list[tuple[str, dt.date, int]] = field(default_factory=list)  # dataset, trade date, rows committed
    drills: list[Drill] = field(default_factory=list)  # phase E's rollback drills


def _ymd(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def beijing(moment: dt.datetime) -> str:
    """A moment as a person in Beijing reads it.

    >>> beijing(dt.datetime(2024, 1, 5, 2, 30, tzinfo=dt.timezone.utc))
    '2024-01-05 10:30:00'
    """
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


_URL = re.compile(r"\bhttps?://", re.IGNORECASE)


def defang(text: str | None) -> str:
    """Text for the page with any URL's scheme dropped, so the page links nowhere (Tushare's permission
    messages carry a link to its docs; it stays readable, it is no reference).

    >>> defang("denied, see https://tushare.pro/document/1?doc_id=108."), defang(None)
    ('denied, see tushare.pro/document/1?doc_id=108.', '')
    """
    return _URL.sub("", text or "")


def num(value: float | int | None) -> str:
    """
    >>> num(None), num(3.0), num(0.98765), num(1234567)
    ('-', '3', '0.9877', '1,234,567')
    """
    if value is None:
        return "-"
    if float(value) == int(value):
        return f"{int(value):,}"
    return f"{value:.4g}"


def dataset_order(name: str) -> tuple[int, str]:
    """Datasets in the order of the dataset table (P0, P1, P2), unknown names last."""
    names = list(DATASETS)
    return (names.index(name) if name in names else len(names), name)


# -- gates ----------------------------------------------------------------------------------------------------


def evaluations(gate_runs: Iterable[GateRun]) -> list[Evaluation]:
    """Gate runs grouped into evaluations (one transaction stores all of a ``job gate``'s runs with the
    same ``started_at``), labelled G1, G2, ... in time order.

    >>> t = dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)
    >>> runs = [GateRun(1, "A", "batch", None, None, None, True, "d/p", None, t),
    ...         GateRun(2, "B", "quality", "P0", None, None, True, "d/p", None, t + dt.timedelta(hours=1)),
    ...         GateRun(3, "B", "stability", "P0", None, None, False, "d/p", None, t + dt.timedelta(hours=1))]
    >>> [(e.label, e.phase, e.passed, len(e.runs)) for e in evaluations(runs)]
    [('G1', 'A', True, 1), ('G2', 'B', False, 2)]
    """
    groups: dict[tuple, list[GateRun]] = defaultdict(list)
    for run in gate_runs:
        groups[(run.started_at, run.phase, run.rollout_batch, run.job_name)].append(run)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][0], min(r.gate_run_id for r in kv[1])))
    return [Evaluation(f"G{i}", key[1], key[0], tuple(sorted(runs, key=lambda r: r.gate_run_id)))
            for i, (key, runs) in enumerate(ordered, 1)]


@dataclass(frozen=True)
class Point:
    evaluation: int  # index into the evaluations
    value: float | None
    severity: str


def gate_series(evals: list[Evaluation]) -> dict[str, dict[str, dict[str, list[Point]]]]:
    """Per gate family, per check, per dataset: the metric over the evaluations that measured it. A
    batch-wide check (the streak, the run success share) is one series per batch, ``"(P0)"``, or
    ``"(all)"`` for phase E's gates over every batch.

    >>> t = dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)
    >>> r = lambda v, s: (CheckResult("quality.ohlc", "daily", s, v, 0, 0),)
    >>> runs = [GateRun(1, "B", "quality", "P0", None, None, True, None, None, t, r(0, "PASS")),
    ...         GateRun(2, "B", "quality", "P0", None, None, False, None, None, t + dt.timedelta(1), r(4, "FAIL"))]
    >>> gate_series(evaluations(runs))["quality"]["quality.ohlc"]["daily"]
    [Point(evaluation=0, value=0, severity='PASS'), Point(evaluation=1, value=4, severity='FAIL')]
    """
    out: dict[str, dict[str, dict[str, list[Point]]]] = {}
    for i, ev in enumerate(evals):
        for run in ev.runs:
            for c in run.results:
                key = c.dataset or f"({run.batch or 'all'})"
                series = out.setdefault(run.gate, {}).setdefault(c.check, {}).setdefault(key, [])
                series.append(Point(i, c.value, c.severity))
    return {gate: dict(sorted(checks.items())) for gate, checks in out.items()}


def split_steady(checks: dict[str, dict[str, list[Point]]]
                 ) -> tuple[dict[str, dict[str, list[Point]]], dict[str, float | None]]:
    """Checks worth a chart (a WARN or FAIL, or a value that moved) apart from the steady ones (always
    PASS at one value), which a line of text says as well as a flat chart would.

    >>> p = lambda i, v, s="PASS": Point(i, v, s)
    >>> moving, steady = split_steady({"q.a": {"daily": [p(0, 0), p(1, 0)]}, "q.b": {"daily": [p(0, 0), p(1, 2)]},
    ...                                "q.c": {None: [p(0, 0, "WARN")]}})
    >>> sorted(moving), steady
    (['q.b', 'q.c'], {'q.a': 0})
    """
    moving, steady = {}, {}
    for check, series in checks.items():
        points = [p for ps in series.values() for p in ps]
        values = {p.value for p in points}
        if all(p.severity == "PASS" for p in points) and len(values) == 1:
            steady[check] = values.pop()
        else:
            moving[check] = series
    return moving, steady


def failed_summary(results: Iterable[CheckResult], limit: int = 5) -> list[str]:
    """The FAIL results per check, as ``check (dataset value, ...)``.

    >>> rs = [CheckResult("r.keys", "daily", "FAIL", 3, 0, 0), CheckResult("r.keys", "adj", "FAIL", 9, 0, 0),
    ...       CheckResult("s.streak", None, "FAIL", 0, 3, 1), CheckResult("q.x", "daily", "PASS", 0, 0, 0)]
    >>> failed_summary(rs)
    ['r.keys (daily 3, adj 9)', 's.streak (0)']
    """
    by_check: dict[str, list[CheckResult]] = defaultdict(list)
    for c in results:
        if c.severity == "FAIL":
            by_check[c.check].append(c)
    out = []
    for check, rs in by_check.items():
        parts = [f"{c.dataset} {num(c.value)}" if c.dataset else num(c.value) for c in rs[:limit]]
        more = f", +{len(rs) - limit} more" if len(rs) > limit else ""
        out.append(f"{check} ({', '.join(parts)}{more})")
    return out


# -- ingestion ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """Runs of one batch started close together: one ingest Job, as a person thinks of it."""

    batch: str
    start: dt.datetime
    end: dt.datetime
    runs: tuple[IngestRun, ...]

    @property
    def phase(self) -> Phase | None:
        return PHASE_OF_BATCH.get(self.batch)

    @property
    def failed(self) -> int:
        return sum(r.status == "failed" for r in self.runs)

    @property
    def rolled_back(self) -> bool:
        return all(r.rolled_back_by is not None for r in self.runs)

    @property
    def rows_written(self) -> int:
        return sum(r.rows_written for r in self.runs)

    @property
    def api_calls(self) -> int:
        return sum(r.api_calls for r in self.runs)

    @property
    def window(self) -> str:
        starts = [r.window_start for r in self.runs if r.window_start]
        ends = [r.window_end for r in self.runs if r.window_end]
        return f"{_ymd(min(starts))}..{_ymd(max(ends))}" if starts and ends else ""


def bursts(runs: Iterable[IngestRun], gap: dt.timedelta = BURST_GAP) -> list[Burst]:
    """Runs grouped per batch into bursts: a run joins the batch's open burst when it started within
    ``gap`` of that burst's end and shares its fate (rolled back by the same rollback, or not).

    >>> t = dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)
    >>> run = lambda i, batch, minutes: IngestRun(i, batch, "daily", "backfill", None, None, "succeeded", 1, 1, 1,
    ...     0, 0, 0, None, t + dt.timedelta(minutes=minutes), t + dt.timedelta(minutes=minutes + 1))
    >>> [(b.batch, len(b.runs)) for b in bursts([run(1, "P0", 0), run(2, "P0", 3), run(3, "P1", 2),
    ...                                           run(4, "P0", 60)])]
    [('P0', 2), ('P1', 1), ('P0', 1)]
    >>> import dataclasses
    >>> [len(b.runs) for b in bursts([dataclasses.replace(run(1, "P0", 0), rolled_back_by=1), run(2, "P0", 1)])]
    [1, 1]
    """
    out: list[Burst] = []
    open_: dict[str, list[IngestRun]] = {}
    for run in sorted(runs, key=lambda r: (r.started_at, r.run_id)):
        group = open_.get(run.batch)
        if group and (run.started_at > max(_end(r) for r in group) + gap
                      or run.rolled_back_by != group[0].rolled_back_by):
            out.append(_burst(group))
            group = None
        if group is None:
            group = open_[run.batch] = []
        group.append(run)
    out += [_burst(g) for g in open_.values()]
    return sorted(out, key=lambda b: (b.start, b.batch))


def _end(run: IngestRun) -> dt.datetime:
    return run.finished_at or run.started_at


def _burst(group: list[IngestRun]) -> Burst:
    return Burst(group[0].batch, min(r.started_at for r in group), max(_end(r) for r in group), tuple(group))


@dataclass(frozen=True)
class Usage:
    day: dt.date  # the Beijing day the runs started
    batch: str
    runs: int
    failed: int
    rows_fetched: int
    rows_written: int
    api_calls: int
    rate_limit_hits: int
    retries: int
    wait_s: float


def usage_per_day(runs: Iterable[IngestRun]) -> list[Usage]:
    """Counters of the runs summed per Beijing day (of the run's start) and batch.

    >>> t = dt.datetime(2024, 1, 4, 17, tzinfo=dt.timezone.utc)  # 01:00 on the 5th in Beijing
    >>> run = lambda i, status: IngestRun(i, "P0", "daily", "backfill", None, None, status, 10, 8, 3, 1, 2, 1500,
    ...                                   None, t, t)
    >>> usage_per_day([run(1, "succeeded"), run(2, "failed")])
    [Usage(day=datetime.date(2024, 1, 5), batch='P0', runs=2, failed=1, rows_fetched=20, rows_written=16, \
api_calls=6, rate_limit_hits=2, retries=4, wait_s=3.0)]
    """
    sums: dict[tuple[dt.date, str], list[float]] = defaultdict(lambda: [0] * 8)
    for r in runs:
        s = sums[(r.started_at.astimezone(BEIJING).date(), r.batch)]
        for i, v in enumerate((1, r.status == "failed", r.rows_fetched, r.rows_written, r.api_calls,
                               r.rate_limit_hits, r.retries, r.wait_ms)):
            s[i] += v
    return [Usage(day, batch, *(int(v) for v in s[:7]), s[7] / 1000) for (day, batch), s in sorted(sums.items())]


def usage_per_dataset(runs: Iterable[IngestRun]) -> list[tuple[str, str, int, int, int, int, int, int]]:
    """Per batch and dataset: runs, failed, rows written, API calls, rate-limit hits, retries."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for r in runs:
        s = sums[(r.batch, r.dataset)]
        for i, v in enumerate((1, r.status == "failed", r.rows_written, r.api_calls, r.rate_limit_hits, r.retries)):
            s[i] += int(v)
    return [(b, d, *s) for (b, d), s in sorted(sums.items(), key=lambda kv: (kv[0][0], dataset_order(kv[0][1])))]


# -- phases ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseView:
    phase: Phase
    state: PhaseState
    first: dt.datetime | None
    last: dt.datetime | None
    why: str  # what decided the state, in words


def phase_views(snap: Snapshot, evals: list[Evaluation], groups: list[Burst]) -> list[PhaseView]:
    """Each phase's state as the records show it: its newest gate evaluation decides Passed or Failed;
    a rollback after it makes it RolledBack, or Running again once runs started after the rollback;
    activity without any gate is Running; no activity at all is Pending."""
    out = []
    for phase in Phase:
        gates = [e for e in evals if e.phase == phase]
        rollbacks = [r for r in snap.rollbacks if r.phase == phase]
        runs = [b for b in groups if b.phase is phase]
        other: list[dt.datetime] = [b.recorded_at for b in snap.baselines if phase is Phase.A]
        other += [p.probed_at for p in snap.probes if phase is Phase.D]
        moments = ([e.at for e in gates] + [r.started_at for r in rollbacks] + [b.start for b in runs]
                   + [b.end for b in runs] + other)
        if not moments:
            out.append(PhaseView(phase, PhaseState.PENDING, None, None, "nothing recorded"))
            continue
        gate = max(gates, key=lambda e: e.at, default=None)
        rollback = max(rollbacks, key=lambda r: r.started_at, default=None)
        if rollback is not None and (gate is None or rollback.started_at >= gate.at):
            later = [b for b in runs if b.start > rollback.started_at]
            state, why = ((PhaseState.RUNNING, f"ingesting again after rollback {rollback.rollback_id}") if later
                          else (PhaseState.ROLLED_BACK, f"rollback {rollback.rollback_id} at "
                                                        f"{beijing(rollback.started_at)}"))
        elif gate is not None:
            state = PhaseState.PASSED if gate.passed else PhaseState.FAILED
            why = f"{gate.label} {'passed' if gate.passed else 'failed'} at {beijing(gate.at)}"
        else:
            state, why = PhaseState.RUNNING, "no gate evaluated yet"
        out.append(PhaseView(phase, state, min(moments), max(moments), why))
    return out


def flag_changes(versions: list[FlagsVersion]) -> list[str]:
    """Per version, what changed from the previous one of the same RolloutBatch.

    >>> t = dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)
    >>> v1 = FlagsVersion("d/p", 1, 1, {"p0Enabled": True, "p1Enabled": False}, t)
    >>> v2 = FlagsVersion("d/p", 2, 2, {"p0Enabled": True, "p1Enabled": True}, t)
    >>> flag_changes([v1, v2, v2])
    ['first version: p0Enabled on', '+p1Enabled', 'updatedAt only']
    """
    previous: dict[str, dict[str, bool]] = {}
    out = []
    for v in versions:
        before = previous.get(v.rollout_batch)
        if before is None:
            on = [k for k, x in v.flags.items() if x]
            out.append("first version: " + (", ".join(on) + " on" if on else "every flag off"))
        else:
            diff = [("+" if v.flags[k] else "-") + k for k in v.flags if v.flags[k] != before.get(k)]
            out.append(", ".join(diff) or "updatedAt only")
        previous[v.rollout_batch] = v.flags
    return out


# -- the status matrix ----------------------------------------------------------------------------------------


def combine(statuses: Iterable[str]) -> str:
    """One status for a dataset's scopes on one period: not_applicable when none applies, else complete
    or missing when every applicable scope agrees, else partial.

    >>> combine(["complete", "not_applicable"]), combine(["missing", "missing"]), combine(["complete", "missing"])
    ('complete', 'missing', 'partial')
    >>> combine(["not_applicable"]), combine(["partial"])
    ('not_applicable', 'partial')
    """
    real = {s for s in statuses if s != "not_applicable"}
    if not real:
        return "not_applicable"
    return real.pop() if len(real) == 1 else "partial"


@dataclass(frozen=True)
class Grid:
    """Datasets x columns of statuses (``None``: no cell computed there)."""

    rows: list[str]
    labels: list[str]  # per row: the dataset, with its number of scopes when more than one
    columns: list[str]
    status: list[list[str | None]]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for row in self.status:
            for s in row:
                if s is not None:
                    out[s] += 1
        return out


def _grid(cells: list[MatrixCell], columns: list[str], column_of) -> Grid | None:
    chosen = [(c, column_of(c)) for c in cells]
    chosen = [(c, col) for c, col in chosen if col in columns]
    if not chosen:
        return None
    per: dict[tuple[str, str], list[str]] = defaultdict(list)
    scopes: dict[str, set[str]] = defaultdict(set)
    for c, col in chosen:
        per[(c.dataset, col)].append(c.status)
        scopes[c.dataset].add(c.scope)
    rows = sorted(scopes, key=dataset_order)
    used = [col for col in columns if any((d, col) in per for d in rows)]
    labels = [f"{d} ({len(scopes[d])} scopes)" if len(scopes[d]) > 1 else d for d in rows]
    return Grid(rows, labels, used, [[combine(per[(d, col)]) if (d, col) in per else None for col in used]
                                     for d in rows])


def day_grid(cells: list[MatrixCell], open_days: Iterable[dt.date]) -> Grid | None:
    """The trade-date cells as datasets x trading days. A day is a column when the SSE calendar has it
    open or some dataset expected rows on it (weekends, on which every cell is not_applicable, drop out).

    >>> d = lambda n: dt.date(2024, 1, n)
    >>> cells = [MatrixCell("daily", "market", "20240105", d(5), "complete"),
    ...          MatrixCell("daily", "market", "20240106", d(6), "not_applicable", "market closed"),
    ...          MatrixCell("index_daily", "000300.SH", "20240105", d(5), "complete"),
    ...          MatrixCell("index_daily", "000001.SH", "20240105", d(5), "missing"),
    ...          MatrixCell("cn_cpi", "market", "202401", d(1), "complete")]
    >>> g = day_grid(cells, [])
    >>> g.rows, g.labels[1], g.columns, g.status
    (['daily', 'index_daily'], 'index_daily (2 scopes)', ['20240105'], [['complete'], ['partial']])
    """
    daily = [c for c in cells if len(c.period) == 8 and c.period.isdigit()]
    open_set = {_ymd(d) for d in open_days}
    expected = {c.period for c in daily if c.status != "not_applicable"}
    columns = sorted({c.period for c in daily if c.period in open_set or c.period in expected})
    return _grid(daily, columns, lambda c: c.period)


def period_grid(cells: list[MatrixCell]) -> Grid | None:
    """The other cells (months, quarters, the ``current`` snapshot) as datasets x periods, in time order
    with ``current`` last.

    >>> cells = [MatrixCell("cn_gdp", "market", "2023Q4", dt.date(2023, 10, 1), "complete"),
    ...          MatrixCell("cn_cpi", "market", "202401", dt.date(2024, 1, 1), "missing"),
    ...          MatrixCell("stock_basic", "market", "current", dt.date(2024, 1, 9), "complete"),
    ...          MatrixCell("daily", "market", "20240105", dt.date(2024, 1, 5), "complete")]
    >>> g = period_grid(cells)
    >>> g.columns, g.rows
    (['2023Q4', '202401', 'current'], ['stock_basic', 'cn_cpi', 'cn_gdp'])
    """
    other = [c for c in cells if not (len(c.period) == 8 and c.period.isdigit())]
    first = {}
    for c in other:
        key = (c.period == "current", c.period_date or dt.date.max, c.period)
        first[c.period] = min(first.get(c.period, key), key)
    columns = sorted(first, key=lambda p: first[p])
    return _grid(other, columns, lambda c: c.period)


def day_rows(grid: Grid, group_over: int = 60) -> list[tuple[str, int, int, int, int, str]]:
    """The heat map as text, one row per column (trading day): complete, partial, missing,
    not_applicable, and the datasets that are not complete. Past ``group_over`` days, consecutive days
    that read the same are one row ``first .. last (n days)``.

    >>> g = Grid(["daily", "adj_factor"], ["daily", "adj_factor"], ["20240102", "20240103", "20240104"],
    ...          [["complete", "complete", "partial"], ["missing", "missing", "missing"]])
    >>> day_rows(g)[2]
    ('20240104', 0, 1, 1, 0, 'daily partial, adj_factor missing')
    >>> day_rows(g, group_over=2)[0]
    ('20240102 .. 20240103 (2 days)', 1, 0, 1, 0, 'adj_factor missing')
    """
    rows = []
    for j, day in enumerate(grid.columns):
        column = [(d, grid.status[i][j]) for i, d in enumerate(grid.rows)]
        counts = [sum(s == status for _, s in column) for status in STATUSES]
        rows.append((day, *counts, ", ".join(f"{d} {s}" for d, s in column if s in ("partial", "missing"))))
    if len(rows) <= group_over:
        return rows
    out: list[list] = []
    for row in rows:
        if out and out[-1][1:] == [*row[1:]]:
            out[-1][0].append(row[0])
        else:
            out.append([[row[0]], *row[1:]])
    return [(days[0] if len(days) == 1 else f"{days[0]} .. {days[-1]} ({len(days)} days)", *rest)
            for days, *rest in out]


def matrix_table(cells: list[MatrixCell]) -> list[tuple[str, int, int, int, int, int, str]]:
    """Per dataset: scopes, complete, partial, missing, not_applicable, and the first problem.

    >>> matrix_table([MatrixCell("daily", "market", "20240105", None, "partial", "1 of 5 expected rows missing"),
    ...               MatrixCell("daily", "market", "20240108", None, "complete")])
    [('daily', 1, 1, 1, 0, 0, '20240105: 1 of 5 expected rows missing')]
    """
    per: dict[str, list[MatrixCell]] = defaultdict(list)
    for c in cells:
        per[c.dataset].append(c)
    out = []
    for dataset in sorted(per, key=dataset_order):
        group = sorted(per[dataset], key=lambda c: (c.period_date or dt.date.min, c.period, c.scope))
        counts = [sum(c.status == s for c in group) for s in STATUSES]
        bad = next((c for c in group if c.status in ("partial", "missing")), None)
        problem = ""
        if bad is not None:
            where = bad.period if bad.scope == "market" else f"{bad.period} {bad.scope}"
            problem = f"{where}: {bad.reason or bad.status}"
        out.append((dataset, len({c.scope for c in group}), *counts, problem))
    return out


def newest_probes(probes: Iterable[Probe]) -> list[Probe]:
    """The newest probe per RolloutBatch and API, in API order of the dataset table."""
    newest: dict[tuple[str | None, str], Probe] = {}
    for p in sorted(probes, key=lambda p: p.probed_at):
        newest[(p.rollout_batch, p.api)] = p
    apis = [d.api for d in DATASETS.values()]
    return sorted(newest.values(), key=lambda p: (p.rollout_batch or "", apis.index(p.api) if p.api in apis
                                                  else len(apis), p.api))
