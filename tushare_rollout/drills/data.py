"""The data-plane drills: the ingest and gate Jobs disturbed — killed, their database restarted, made
read-only or out of disk, their Tushare server failing or revoking the token — then run again.

Each compares the disturbed database, once recovered, with the undisturbed reference load of the same
window (:meth:`DrillContext.reference`) by table checksums, and checks what must hold in between: the
exit code and message, every partition whole or absent, no duplicate keys, committed work kept.
"""

from __future__ import annotations

import random
import secrets
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field

from ..db.base import Batch
from ..ingest.datasets import DATASETS, Plan
from ..tushare.server.faults import FaultPlan
from .checksums import checksums, identical, partition_problems
from .context import Database, DrillContext, JobProcess, Reference, wait_until, window
from .model import DrillResult, Observation
from .registry import drill
from .volume import CannotMount, SmallVolume

P0 = [d for d in DATASETS.values() if d.batch is Batch.P0]
# partitions loaded once and skipped by a rerun (lists and calendars are fetched again every run)
RESUMABLE = [d.name for d in P0 if d.plan in (Plan.TRADE_DATE, Plan.CODE)]
DOWN_AT_MOST = 60.0  # seconds PostgreSQL stays down waiting for the Job to notice


def _ingest(ref: Reference) -> tuple[str, ...]:
    return ("job", "ingest", "--batch", "P0", *ref.window.args())


def _marks(db: Database) -> dict[tuple[str, str], int]:
    """The committed resumable partitions: (dataset, key) -> the run that committed it."""
    return {(d, k): run for d, k, run in db.rows(
        "SELECT dataset, partition_key, run_id FROM ingest_checkpoints WHERE dataset = ANY(:names)", names=RESUMABLE)}


def _whole_or_absent(obs: Observation, db: Database) -> dict[tuple[str, str], int]:
    """After the disturbance: no partition half-written. Returns the committed partitions."""
    with db.engine.connect() as conn:
        problems = partition_problems(conn, P0)
    marks = _marks(db)
    if obs.expect(not problems, "half-written: " + "; ".join(problems)):
        obs.saw(f"{len(marks)} trade-date and code partitions committed, each whole")
    return marks


def _rerun(obs: Observation, ctx: DrillContext, db: Database, env: dict[str, str], ref: Reference,
           marks: dict[tuple[str, str], int]) -> JobProcess:
    """The same Job again, undisturbed: it exits 0 and leaves the committed partitions as they were."""
    job = ctx.start_job(env, *_ingest(ref))
    code = job.wait()
    obs.expect(code == 0, f"the rerun exited {code}: {job.message}")
    after = _marks(db)
    reloaded = sum(after.get(key) != run for key, run in marks.items())
    if obs.expect(not reloaded, f"the rerun loaded {reloaded} committed partitions again"):
        obs.saw(f"the rerun exited {code}, leaving those {len(marks)} as they were")
    return job


# -- ingest-sigkill ------------------------------------------------------------------------------------

EXPECT_SIGKILL = ("killed by SIGKILL at the seeded point; every partition whole or absent; the rerun exits 0, "
                  "keeps every committed partition; tables identical to the reference, no duplicate keys")


@drill("ingest-sigkill", plane="data")
def ingest_sigkill(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """`job ingest` killed with SIGKILL after a seeded number of commits or milliseconds, then rerun."""
    ref = ctx.reference(window(short))
    return [_sigkill(ctx, ref, seed) for seed in ctx.seeds_for(short)]


def _sigkill(ctx: DrillContext, ref: Reference, seed: int) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"ingest-sigkill (seed {seed})", EXPECT_SIGKILL)
    db = ctx.database(f"sigkill_{seed}")
    env = ctx.job_env(db)
    job = ctx.start_job(env, *_ingest(ref))
    if rng.random() < 0.5:
        after = rng.randint(1, ref.partitions - 1)
        when = f"at commit {after} of {ref.partitions}"
        job.at_commit(after, job.kill)
    else:  # by time: from the start-up to mid-run; at the last commit at the latest, should this run be quicker
        ms = rng.randint(int(ref.seconds * 100), int(ref.seconds * 600))
        when = f"{ms} ms after its start"
        early: list[int] = []
        job.at_commit(ref.partitions - 1, lambda: (early.append(job.committed), job.kill()))
        if not job.exited_within(ms / 1000):
            job.kill()
        if early:
            when = f"at commit {early[0]}, before {ms} ms had passed"
    code = job.wait()
    if not obs.expect(code == -signal.SIGKILL, f"the Job was not killed {when}: it exited {code} ({job.message})"):
        return obs.result(None)
    obs.saw(f"killed {when}, after {job.committed} commits")
    marks = _whole_or_absent(obs, db)
    _rerun(obs, ctx, db, env, ref, marks)
    return obs.result(identical(obs, db.engine, ref, P0))


# -- postgres-restart ----------------------------------------------------------------------------------

EXPECT_RESTART = ("the Job exits 3 (retryable) naming the database; every partition whole or absent; the rerun "
                  "exits 0 and resumes; identical")
EXPECT_QUICK_RESTART = ("the Job rides through the restart (exit 0) or exits 3 naming the database; every "
                        "partition whole or absent; after a rerun if needed, identical")
EXPECT_GATE_RESTART = ("`job gate` exits 3 (cannot evaluate: the database); nothing written to gate_runs or "
                       "gate_check_results; the rerun passes (exit 0) and stores its results; the data untouched")


@drill("postgres-restart", plane="data")
def postgres_restart(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """PostgreSQL stopped and started again in the middle of `job ingest`, then of `job gate`."""
    ref = ctx.reference(window(short))
    results = [_restart_mid_ingest(ctx, ref, seed, quick=False) for seed in ctx.seeds_for(short)]
    if not short:
        results += [_restart_mid_ingest(ctx, ref, seed, quick=True) for seed in ctx.seeds_for(short)]
    results.append(_restart_mid_gate(ctx, ref))
    return results


def _restart_mid_ingest(ctx: DrillContext, ref: Reference, seed: int, *, quick: bool) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"postgres-restart (mid-ingest{', quick' if quick else ''}, seed {seed})",
                      EXPECT_QUICK_RESTART if quick else EXPECT_RESTART)
    db = ctx.database("restart")
    env = ctx.job_env(db)
    after = ref.mid_run(rng)
    job = ctx.start_job(env, *_ingest(ref))
    if not job.wait_for(lambda: job.committed >= after):
        obs.expect(False, f"the Job ended before commit {after} (exit {job.wait()}: {job.message})")
        return obs.result(None)
    before, committed = ctx.postmaster_started(), job.committed
    noticed: list[bool] = []
    # quick: down only as long as a restart takes; else down until the Job has noticed (at most DOWN_AT_MOST)
    ctx.postgres.restart(while_down=None if quick else lambda: noticed.append(job.exited_within(DOWN_AT_MOST)))
    obs.expect(ctx.postmaster_started() != before, "PostgreSQL did not restart")
    code = job.wait()
    how = "restarted at once" if quick else "stopped until the Job exited, then started"
    obs.saw(f"PostgreSQL {how} after {committed} commits; the Job exited {code}: {job.message}")
    obs.expect(quick or noticed == [True], f"the Job was still running {DOWN_AT_MOST:.0f}s after PostgreSQL stopped")
    obs.expect(code in ((0, 3) if quick else (3,)), f"exit {code}, expected {'0 or ' if quick else ''}3")
    obs.expect(code == 0 or "database" in job.message.lower() or "postgresql" in job.message.lower(),
               "the message does not name the database")
    obs.expect(not job.crashed, "the Job crashed with a traceback")
    marks = _whole_or_absent(obs, db)
    if code != 0:
        _rerun(obs, ctx, db, env, ref, marks)
    return obs.result(identical(obs, db.engine, ref, P0))


def _gate_transaction_open(ctx: DrillContext, name: str) -> bool:
    return bool(ctx.admin("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND xact_start IS NOT NULL"
                          " AND state = 'idle in transaction'", d=name)[0][0])


def _restart_mid_gate(ctx: DrillContext, ref: Reference) -> DrillResult:
    obs = Observation("postgres-restart (mid-gate)", EXPECT_GATE_RESTART)
    db = ctx.database("restart_gate", template=ref.database.name)  # the reference's data, no gate run yet
    # every reply of this server takes a second: the gate's replay of a closed partition holds its one
    # transaction open while it waits, so the restart lands inside the gate, not before or after it
    slow = ctx.server(faults=FaultPlan.parse("slow=1", slow_seconds=1.0))
    gate = ("job", "gate", "--phase", "B", "--as-of", ref.window.as_of, "--since", ref.window.start)
    job = ctx.start_job(ctx.job_env(db, slow), *gate)
    wait_until(lambda: not job.running or _gate_transaction_open(ctx, db.name), 120, "the gate's transaction")
    if not job.running:
        obs.expect(False, f"the gate ended before its transaction was seen open (exit {job.wait()}: {job.message})")
        return obs.result(None)
    before = ctx.postmaster_started()
    ctx.postgres.restart()
    obs.expect(ctx.postmaster_started() != before, "PostgreSQL did not restart")
    code = job.wait()
    obs.saw(f"PostgreSQL restarted while the gate's transaction was open; the gate exited {code}: {job.message}")
    obs.expect(code == 3, f"exit {code}, expected 3")
    obs.expect("postgresql" in job.message.lower() or "database" in job.message.lower(),
               "the message does not name the database")
    obs.expect(not job.crashed, "the gate crashed with a traceback")
    left = db.rows("SELECT (SELECT count(*) FROM gate_runs), (SELECT count(*) FROM gate_check_results)")[0]
    if obs.expect(tuple(left) == (0, 0), f"the failed gate left {left[0]} gate runs and {left[1]} results"):
        obs.saw("nothing written to gate_runs or gate_check_results")
    again = ctx.start_job(ctx.job_env(db), *gate)
    rerun = again.wait()
    obs.expect(rerun == 0, f"the rerun exited {rerun}: {again.message}")
    runs, passed, results = db.rows(
        "SELECT count(*), coalesce(bool_and(passed AND status = 'succeeded'), false),"
        " (SELECT count(*) FROM gate_check_results) FROM gate_runs")[0]
    if obs.expect(runs > 0 and passed and results > 0, f"after the rerun: {runs} gate runs (all passed: {passed}), "
                                                       f"{results} results"):
        obs.saw(f"the rerun exited {rerun} ({again.message}): {runs} gate runs, {results} results")
    return obs.result(identical(obs, db.engine, ref, P0))


# -- tushare-faults ------------------------------------------------------------------------------------

BASE_FAULTS = "5xx=0.03,timeout=0.01,truncate=0.02,nonjson=0.02,reset=0.02,ratelimit=0.03"
EXPECT_FAULTS = ("random faults plus a burst of HTTP 502s and a storm of 40203 rate-limit replies: the ingest "
                 "exits 0; ingest_runs counts every injected fault as a retry or a rate-limit hit; identical")
EXPECT_REVOKED = ("token revoked mid-run: exit 4 (not retryable) with a message about the token, never the token "
                  "itself; every partition whole or absent; a rerun with a good token exits 0, keeps the committed "
                  "partitions; identical")


@dataclass(frozen=True)
class Bursts(FaultPlan):
    """A :class:`FaultPlan` with bursts — every request numbered ``first`` .. ``first + length - 1`` gets
    ``kind`` — that counts what it injected.

    >>> plan = Bursts(seed=1, bursts=((2, 3, "5xx"),))
    >>> [plan.pick(n) for n in range(6)], dict(plan.injected)
    ([None, None, '5xx', '5xx', '5xx', None], {'5xx': 3})
    """

    bursts: tuple[tuple[int, int, str], ...] = ()
    injected: Counter = field(default_factory=Counter, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def pick(self, request_number: int) -> str | None:
        kind = next((k for first, n, k in self.bursts if first <= request_number < first + n), None) \
            or super().pick(request_number)
        if kind is not None:
            with self.lock:
                self.injected[kind] += 1
        return kind


@drill("tushare-faults", plane="data")
def tushare_faults(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """The Tushare server failing (5xx bursts, timeouts, truncated bodies, 40203 storms); the token revoked mid-run."""
    ref = ctx.reference(window(short))
    seeds = ctx.seeds_for(short)
    return [_transient_faults(ctx, ref, seeds[0], short), *(_revoked_token(ctx, ref, seed) for seed in seeds)]


def _transient_faults(ctx: DrillContext, ref: Reference, seed: int, short: bool) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"tushare-faults (transient, seed {seed})", EXPECT_FAULTS)
    base = FaultPlan.parse(BASE_FAULTS, seed=seed)
    # a burst no longer than the Job's retries, a storm no longer than its rate-limit waits (20 per call)
    burst, storm = (rng.randint(10, 40), 6, "5xx"), (rng.randint(60, 90), 12 if short else 18, "ratelimit")
    plan = Bursts(base.rates, seed, timeout_seconds=4, bursts=(burst, storm))
    server = ctx.server(faults=plan, rate_window_seconds=1)
    db = ctx.database("faults")
    env = ctx.job_env(db, server, TSR_TUSHARE__TIMEOUT="2", TSR_TUSHARE__MAX_RETRIES="8")
    job = ctx.start_job(env, *_ingest(ref))
    code = job.wait()
    failures = sum(n for kind, n in plan.injected.items() if kind != "slow")
    obs.saw(f"{failures} faults injected ({', '.join(f'{k} {n}' for k, n in sorted(plan.injected.items()))}; "
            f"{burst[1]} × 502 from request {burst[0]}, {storm[1]} × 40203 from request {storm[0]}); "
            f"the Job exited {code}")
    obs.expect(code == 0, f"exit {code}: {job.message}")
    calls, retries, hits = db.rows("SELECT sum(api_calls), sum(retries), sum(rate_limit_hits) FROM ingest_runs")[0]
    obs.saw(f"ingest_runs: {calls} calls, {retries} retries, {hits} rate-limit hits")
    obs.expect(retries + hits >= failures, f"ingest_runs counted {retries + hits} retries and rate-limit hits "
                                           f"for {failures} injected faults")
    obs.expect(hits >= plan.injected["ratelimit"], f"{plan.injected['ratelimit']} 40203 replies injected, "
                                                   f"{hits} rate-limit hits counted")
    return obs.result(identical(obs, db.engine, ref, P0))


def _revoked_token(ctx: DrillContext, ref: Reference, seed: int) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"tushare-faults (token revoked, seed {seed})", EXPECT_REVOKED)
    revoked, good = secrets.token_hex(16), secrets.token_hex(16)  # secret-looking tokens standing for demo:all
    server = ctx.server(tokens={revoked: "demo:all", good: "demo:all"})
    db = ctx.database("revoked")
    after = ref.mid_run(rng)
    job = ctx.start_job(ctx.job_env(db, server, token=revoked), *_ingest(ref))
    job.at_commit(after, lambda: server.revoked.add(revoked))
    code = job.wait()
    obs.saw(f"token revoked at commit {after}; the Job exited {code}: {job.message}")
    obs.expect(code == 4, f"exit {code}, expected 4")
    obs.expect("token" in job.message.lower(), "the message does not say the token is the problem")
    obs.expect(revoked not in job.output, "the token appears in the Job's output")
    obs.expect(not job.crashed, "the Job crashed with a traceback")
    classes = {c for (c,) in db.rows("SELECT DISTINCT error_class FROM ingest_runs WHERE status = 'failed'")}
    obs.expect(classes == {"bad_token"}, f"failed runs recorded as {sorted(classes)}, expected bad_token")
    marks = _whole_or_absent(obs, db)
    _rerun(obs, ctx, db, ctx.job_env(db, server, token=good), ref, marks)
    obs.expect(good not in server.revoked, "the good token was revoked")
    return obs.result(identical(obs, db.engine, ref, P0))


# -- postgres-read-only --------------------------------------------------------------------------------

EXPECT_READ_ONLY = ("read-only before the Job starts: exit 3 or 4 with one line naming the read-only transaction "
                    "(no traceback), nothing written; writable again → the rerun exits 0; identical")
EXPECT_READ_ONLY_MID = ("read-only mid-run (sessions reconnect, as after a failover to a standby): exit 3 or 4 with "
                        "one line naming each failed dataset (no traceback); every partition whole or absent; "
                        "writable again → the rerun exits 0 and resumes; identical")


@drill("postgres-read-only", plane="data")
def postgres_read_only(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """The database turned read-only (default_transaction_read_only) before and during `job ingest`."""
    ref = ctx.reference(window(short))
    seeds = ctx.seeds_for(short)
    return [_read_only(ctx, ref, seeds[0], mid_run=False),
            *(_read_only(ctx, ref, seed, mid_run=True) for seed in seeds)]


def _read_only(ctx: DrillContext, ref: Reference, seed: int, *, mid_run: bool) -> DrillResult:
    rng = random.Random(seed)
    obs = Observation(f"postgres-read-only ({f'mid-run, seed {seed}' if mid_run else 'from the start'})",
                      EXPECT_READ_ONLY_MID if mid_run else EXPECT_READ_ONLY)
    db = ctx.database("read_only")
    env = ctx.job_env(db)
    if mid_run:
        after = ref.mid_run(rng)
        job = ctx.start_job(env, *_ingest(ref))
        if not job.wait_for(lambda: job.committed >= after):
            obs.expect(False, f"the Job ended before commit {after} (exit {job.wait()}: {job.message})")
            return obs.result(None)
        ctx.set_read_only(db.name, True)
        when = f"after {job.committed} commits"
    else:
        ctx.set_read_only(db.name, True)
        job = ctx.start_job(env, *_ingest(ref))
        when = "before the Job started"
    code = job.wait()
    obs.saw(f"read-only {when}; the Job exited {code}: {job.message}")
    obs.expect(code in (3, 4), f"exit {code}, expected 3 or 4")
    obs.expect(not job.crashed, "the Job crashed with a traceback instead of a message")
    if mid_run:
        obs.expect("failed:" in job.message, "the message does not name the failed datasets")
    else:
        obs.expect("read-only" in job.message, "the message does not say the database is read-only")
        written = db.scalar("SELECT count(*) FROM ingest_checkpoints") + sum(
            n for n, _ in checksums(db.engine, ref.tables).values())
        obs.expect(written == 0, f"{written} rows and checkpoints written to a read-only database")
    marks = _whole_or_absent(obs, db)
    ctx.set_read_only(db.name, False)
    _rerun(obs, ctx, db, env, ref, marks)
    return obs.result(identical(obs, db.engine, ref, P0))


# -- disk-full -----------------------------------------------------------------------------------------

EXPECT_DISK_FULL = ("the database's volume fills mid-run: exit 3 naming the full disk (no traceback); every "
                    "partition whole or absent; the volume grown → the rerun exits 0 and resumes; identical")
# how PostgreSQL says it: writing a table, or (a new session) its relation cache file
FULL_DISK = ("No space left on device", "could not write init file")
ROOMY = 512 * 2**20  # the volume before and after the drill: a tmpfs takes memory only for what it holds


@drill("disk-full", plane="data")
def disk_full(ctx: DrillContext, short: bool) -> list[DrillResult]:
    """The database's tablespace on a small tmpfs that fills up during `job ingest`, then grown."""
    ref = ctx.reference(window(short))
    rng = random.Random(ctx.seeds_for(short)[0])
    obs = Observation("disk-full", EXPECT_DISK_FULL)
    data = ctx.postgres.data.stat()
    try:
        volume = SmallVolume.mount(ctx.workdir / "volume", ROOMY, (data.st_uid, data.st_gid))
    except CannotMount as exc:
        obs.expect(False, f"cannot run on this machine: {exc}")
        return [obs.result(None)]
    ctx.defer(volume.unmount)  # in case the drill breaks down half-way
    ctx.admin(f"CREATE TABLESPACE drill_small LOCATION '{volume.path}'")
    db = ctx.database("disk_full", tablespace="drill_small")
    try:
        return [_fill(ctx, ref, rng, obs, volume, db)]
    finally:
        db.dispose()
        ctx.admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        ctx.admin("DROP TABLESPACE IF EXISTS drill_small")
        volume.unmount()


def _fill(ctx: DrillContext, ref: Reference, rng: random.Random, obs: Observation, volume: SmallVolume,
          db: Database) -> DrillResult:
    empty = volume.used()
    # what a load adds: the reference database's size over the empty template's
    load = ctx.admin("SELECT pg_database_size(:r) - pg_database_size(:t)", r=ref.database.name, t=ctx.template)[0][0]
    volume.resize(empty + int(load * rng.uniform(0.2, 0.6)))
    mib = 2 ** 20
    obs.saw(f"tablespace on a {volume.size() / mib:.1f} MiB tmpfs, {(volume.size() - empty) / mib:.1f} MiB free "
            f"(a load adds {load / mib:.1f} MiB)")
    env = ctx.job_env(db)
    job = ctx.start_job(env, *_ingest(ref))
    code = job.wait()
    obs.saw(f"the Job exited {code} after {job.committed} commits: {job.message}")
    obs.expect(code == 3, f"exit {code}, expected 3")
    obs.expect(any(words in job.message for words in FULL_DISK), "the message does not say the disk is full")
    obs.expect(not job.crashed, "the Job crashed with a traceback")
    volume.resize(ROOMY)  # grown first: on a full disk PostgreSQL may not even start a session in the database
    marks = _whole_or_absent(obs, db)
    _rerun(obs, ctx, db, env, ref, marks)
    return obs.result(identical(obs, db.engine, ref, P0))
