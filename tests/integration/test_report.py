"""`tushare-rollout report` on a real small rollout loaded through the real CLI from the local Tushare server:
flags, a P0 backfill of a few datasets, gate B, a rollback of B with its purge, the re-ingest, gate B again and the
permission probes. The page and the Markdown are read back and checked against what the database holds.

One database is filled per module (about 20 s); the report of it is written once and read by several tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import text

from tushare_rollout.db import migrate
from tushare_rollout.db.engine import make_engine
from tushare_rollout.devcluster.cluster import DevCluster
from tushare_rollout.tushare.server.app import LocalTushareServer

from helpers import cli, cli_env

DATASETS = ("trade_cal", "stock_basic", "fund_basic", "index_basic", "daily", "fund_daily", "index_daily")
START, FIRST_END, END = "20240102", "20240112", "20240119"
PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "embed", "source", "track", "wbr"}


class Page(HTMLParser):
    """The parts of a page the tests read: the tag stack must balance, images, ids, headings, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.unbalanced: list[str] = []
        self.images: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self.headings: list[str] = []
        self.text: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.images.append(a)
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.unbalanced.append(tag)
            return
        self.stack.pop()
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert not page.unbalanced and not page.stack, (page.unbalanced, page.stack)
    return page


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@dataclass
class Rollout:
    url: str
    env: dict[str, str]
    password: str
    html: str
    markdown: str
    md_path: Path
    report: subprocess.CompletedProcess[str]

    def sql(self, statement: str) -> list:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(text(statement)).all()
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def rollout(devcluster: DevCluster, tushare: LocalTushareServer, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Rollout]:
    name = "report_rollout"
    devcluster.postgres.drop_database(name)
    url = devcluster.postgres.create_database(name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    password = engine.url.password
    engine.dispose()
    env = cli_env(url, tushare)
    only = [a for d in DATASETS for a in ("--dataset", d)]
    ok(cli(env, "job", "baseline", "--flags", json.dumps({"p0Enabled": True, "updatedAt": 1732400000000})))
    ok(cli(env, "job", "ingest", "--batch", "P0", *only, "--start", START, "--end", FIRST_END))
    gate = cli(env, "job", "gate", "--phase", "B", "--as-of", "2024-01-12", "--since", START)
    assert gate.returncode in (0, 2), gate.stdout[-3000:] + gate.stderr
    ok(cli(env, "job", "rollback", "--phase", "B", "--purge-data"))
    ok(cli(env, "job", "baseline", "--flags", json.dumps({"p0Enabled": True, "p1Enabled": True,
                                                          "updatedAt": 1732500000000})))
    ok(cli(env, "job", "ingest", "--batch", "P0", *only, "--start", START, "--end", END))
    gate = cli(env, "job", "gate", "--phase", "B", "--as-of", "2024-01-19", "--since", START)
    assert gate.returncode in (0, 2), gate.stdout[-3000:] + gate.stderr
    ok(cli({**env, "TUSHARE_TOKEN": "demo:5000:minutes"}, "job", "probe"))  # minutes only: some APIs denied
    out = tmp_path_factory.mktemp("report")
    report = cli(env, "report", "--out", str(out / "run.html"), "--markdown", str(out / "run.md"))
    ok(report)
    yield Rollout(url, env, password, (out / "run.html").read_text(), (out / "run.md").read_text(), out / "run.md",
                  report)
    devcluster.postgres.drop_database(name)


def test_the_page_is_one_self_contained_html_file_with_its_figures_inline(rollout: Rollout) -> None:
    page = parse(rollout.html)
    assert rollout.html.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", rollout.html, flags=re.I)  # the probes' messages carry a URL: defanged
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", rollout.html)  # nothing to fetch or follow
    assert "<script" not in rollout.html and "<link" not in rollout.html
    assert page.images and all(i["src"].startswith("data:image/png;base64,") and i["alt"] for i in page.images)
    assert all(base64.b64decode(i["src"].split(",", 1)[1]).startswith(PNG) for i in page.images)
    assert {"fig-timeline", "fig-usage", "fig-volume", "fig-matrix-days", "fig-matrix-periods"} <= page.ids
    assert {"fig-gate-reconciliation", "fig-gate-scheduling"} & page.ids  # the gates failed: their trends are drawn
    assert [h for h in page.headings if not h.endswith(" checks")] == [
        "tushare-rollout run report", "Summary", "1. Rollout timeline", "2. Ingestion volume and API usage",
        "3. Status matrix", "4. Gate trends", "5. P2 permission probes", "6. Rollback drills"]
    assert rollout.report.stdout.startswith("wrote ") and "run.md" in rollout.report.stdout


def test_no_password_anywhere(rollout: Rollout) -> None:
    assert rollout.password and len(rollout.password) > 6
    for output in (rollout.html, rollout.markdown, rollout.report.stdout, rollout.report.stderr):
        assert rollout.password not in output
    assert "demo:all" not in rollout.html
    assert ":***@" in rollout.html  # the database is named, its password masked


def test_the_timeline_shows_the_phases_every_gate_run_the_rollback_and_the_flags(rollout: Rollout) -> None:
    body = " ".join(parse(rollout.html).text)
    evaluations = rollout.sql("SELECT phase, bool_and(passed) FROM gate_runs GROUP BY started_at, phase"
                              " ORDER BY started_at")
    assert len(evaluations) == 2
    for i, (phase, passed) in enumerate(evaluations, 1):
        outcome = "PASS" if passed else "FAIL"
        assert re.search(rf"gate G{i}\s*{outcome}\s*stability, reconciliation, quality, scheduling over", body), \
            f"G{i}"
    (rollback_id, rows), = rollout.sql("SELECT rollback_id, rows_deleted FROM rollback_runs")
    assert f"rollback R{rollback_id} --purge-data" in body
    assert f"deleted {sum(v for k, v in rows.items() if k not in ('status_matrix', 'ingest_checkpoints'))} rows" \
        in body
    assert "flags F1" in body and "flags F2" in body and "+p1Enabled" in body
    assert "A baseline" in body and "B P0" in body and "E stabilization" in body
    newest_passed = evaluations[-1][1]
    assert re.search(rf"B P0\s*{'Passed' if newest_passed else 'Failed'}", body)
    # the first ingest was rolled back, the second was not: two bursts with different fates
    assert re.search(r"ingest P0\s*rolled back", body) and re.search(r"ingest P0\s*succeeded", body)


def test_ingestion_per_day_and_batch_matches_the_runs(rollout: Rollout) -> None:
    body = " ".join(parse(rollout.html).text)
    rows = rollout.sql("SELECT (started_at AT TIME ZONE 'Asia/Shanghai')::date, batch, count(*),"
                       " sum(rows_inserted + rows_updated), sum(api_calls) FROM ingest_runs GROUP BY 1, 2")
    assert rows
    for day, batch, runs, written, calls in rows:
        assert re.search(rf"{day.isoformat()}\s*{batch}\s*{runs:,}\s*0\s*[\d,]+\s*{written:,}\s*{calls:,}", body), \
            (day, batch, runs, written, calls)
    for dataset in DATASETS:
        assert f"P0 {dataset}" in re.sub(r"\s+", " ", body)


def test_the_matrix_names_every_dataset_and_trading_day_it_holds(rollout: Rollout) -> None:
    body = " ".join(parse(rollout.html).text)
    datasets = {d for (d,) in rollout.sql("SELECT DISTINCT dataset FROM status_matrix")}
    days = {p for (p,) in rollout.sql("SELECT DISTINCT period FROM status_matrix WHERE length(period) = 8"
                                      " AND status <> 'not_applicable'")}
    assert datasets and len(days) >= 10
    for dataset in datasets:
        assert re.search(rf"\b{dataset}\b", body), dataset
    for day in days:
        assert re.search(rf"\b{day}\b", body), day
    weekend = dt.date(2024, 1, 6).strftime("%Y%m%d")  # a Saturday: not a column, not a row
    assert not re.search(rf"\b{weekend}\s*\d", body)
    counts = dict(rollout.sql("SELECT status, count(*) FROM status_matrix GROUP BY 1"))
    assert f"status matrix cells {sum(counts.values()):,}: " in re.sub(r"\s+", " ", body)


def test_probes_are_tabled_with_their_sub_flag_and_outcome(rollout: Rollout) -> None:
    body = re.sub(r"\s+", " ", " ".join(parse(rollout.html).text))
    probes = rollout.sql("SELECT api_name, outcome FROM permission_probes")
    assert {o for _, o in probes} == {"granted", "denied"}
    for api, outcome in probes:
        assert re.search(rf"data/p0 {api} {api} p2\w+ {outcome}", body), (api, outcome)
    assert "tushare.pro/document" in body  # the denial's link, without its scheme


def test_the_markdown_has_the_same_sections_and_its_figures_beside_it(rollout: Rollout) -> None:
    headings = [re.sub(r"^#+ ", "", line) for line in rollout.markdown.splitlines() if re.match(r"#{1,3} ", line)]
    assert headings == parse(rollout.html).headings
    links = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", rollout.markdown)
    assert len(links) == len(parse(rollout.html).images)
    for link in links:
        assert (rollout.md_path.parent / link).read_bytes().startswith(PNG), link
        assert link.startswith("run_files/")
    assert not re.search(r"https?://", rollout.markdown, flags=re.I)
    assert "| trading day | complete | partial | missing | not applicable | not complete |" in rollout.markdown


def test_since_until_and_rollout_batch_narrow_the_report(rollout: Rollout, tmp_path: Path) -> None:
    out = tmp_path / "narrow.html"
    ok(cli(rollout.env, "report", "--out", str(out), "--since", "20240108", "--until", "20240110",
           "--rollout-batch", "other/batch"))
    body = re.sub(r"\s+", " ", " ".join(parse(out.read_text()).text))
    assert "20240108 .. 20240110" in body
    assert "20240105" not in body and "20240111" not in body
    assert "20240109 " in body  # a day inside the window is still a row
    assert "gate evaluations 0 (0 passed, 0 failed)" in body and "rollbacks 0" in body
    assert "Not on record in this window: gate runs, flags versions, permission probes." in body


def test_an_unmigrated_database_gives_a_page_that_says_so(database_url: str, tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TSR_")}, "DATABASE_URL": database_url}
    done = cli(env, "report", "--out", str(tmp_path / "r.html"), "--markdown", str(tmp_path / "r.md"))
    assert done.returncode == 0, done.stderr
    page = parse((tmp_path / "r.html").read_text())
    body = re.sub(r"\s+", " ", " ".join(page.text))
    assert "not migrated (run `tushare-rollout job migrate`)" in body
    assert "Nothing is on record yet" in body and not page.images
    assert "schema not migrated" in done.stdout
    assert "not migrated" in (tmp_path / "r.md").read_text()


def test_an_empty_migrated_database_says_what_is_missing(migrated_url: str, tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TSR_")}, "DATABASE_URL": migrated_url}
    done = cli(env, "report", "--out", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    body = re.sub(r"\s+", " ", " ".join(parse((tmp_path / "r.html").read_text()).text))
    assert ("Not on record: ingest runs, gate runs, status matrix cells, flags versions, permission probes."
            in body)
    for hint in ("job ingest --batch P0", "job gate --phase B", "status --refresh", "job probe"):
        assert hint in body, hint
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("args, env, code, says", [
    ([], {"DATABASE_URL": "postgresql://tsr:s3cret-pw@127.0.0.1:1/tsr"}, 3,
     "cannot reach PostgreSQL at postgresql+psycopg://tsr:***@127.0.0.1:1/tsr"),
    ([], {"DATABASE_URL": None}, 4, "DATABASE_URL is not set"),
    ([], {"DATABASE_URL": "mysql://tsr:s3cret-pw@db/tsr"}, 4, "only PostgreSQL is supported"),
    (["--out", "{tmp}/no/such/dir/r.html"], {}, 4, "the directory {tmp}/no/such/dir does not exist"),
    (["--out", "{tmp}"], {}, 4, "is a directory"),
    (["--markdown", "{tmp}/missing/r.md"], {}, 4, "does not exist"),
    (["--since", "2024-01-02"], {}, 4, "--since is a day as YYYYMMDD"),
    (["--since", "20240110", "--until", "20240102"], {}, 4, "--until 20240102 is before --since 20240110"),
    (["--rollout-batch", "p0"], {}, 4, "--rollout-batch is NAMESPACE/NAME"),
], ids=["database-down", "no-database-url", "not-postgres", "out-dir-missing", "out-is-dir", "markdown-dir-missing",
        "bad-since", "until-before-since", "bad-rollout-batch"])
def test_bad_input_exits_with_one_clear_line_and_no_password(args: list[str], env: dict[str, str | None], code: int,
                                                             says: str, tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TSR_")}
    full = {**base, "DATABASE_URL": "postgresql://tsr:s3cret-pw@127.0.0.1:1/tsr", **env}
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "r.html")]
    done = cli({k: v for k, v in full.items() if v is not None}, "report", *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert says.replace("{tmp}", str(tmp_path)) in done.stderr and len(done.stderr.strip().splitlines()) == 1, \
        done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr
    assert not (tmp_path / "r.html").exists()
