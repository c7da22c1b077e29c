"""The whole rollout: the real kube-apiserver, real PostgreSQL, the local Tushare server, the operator
running as its own process, and the local Job runner standing in for kubelet (see bed.py).

Each test applies a RolloutBatch, watches it through `kubectl`, and asserts what was stored: the Jobs,
the status, the rows in PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

from tushare_rollout.operator.model import probe_job_name

from bed import WAIT, WINDOW, Stack, start_operator, stop

def test_a_rolloutbatch_to_b_runs_a_then_b_and_is_ready(stack: Stack) -> None:
    stack.apply("p0", targetPhase="B")
    stack.wait("p0", "Ready")
    status = stack.get("p0")["status"]
    assert (status["phases"]["A"]["state"], status["phases"]["B"]["state"]) == ("Passed", "Passed")
    assert status["state"] == "Succeeded" and status["phase"] == "B" and status["observedGeneration"] == 1
    assert [j["name"] for j in status["phases"]["B"]["jobs"]] == ["p0-b-ingest-1", "p0-b-gate-1", "p0-b-publish-1"]
    assert status["phases"]["B"]["gate"]["passed"] is True
    assert stack.jobs("p0") == sorted(["p0-a-migrate-1", "p0-a-baseline-1", "p0-a-gate-1", "p0-b-ingest-1",
                                       "p0-b-gate-1", "p0-b-publish-1"])
    (bars,) = stack.sql("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'")[0]
    assert bars > 3000  # P0 is in PostgreSQL and readers see it
    assert stack.sql("SELECT rollout_batch FROM rollout_flags_audit") == [(f"{stack.namespace}/p0",)]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "Reconciling": "False", "Stalled": "False", "Paused": "False",
                          "Frozen": "False", "RolledBack": "False"}
    row = stack.kubectl("get", "rb/p0", "--no-headers").stdout.split()
    assert row[1:6] == ["B", "B", "Succeeded", "True", "False"]


def test_a_failing_gate_freezes_rolls_back_and_a_retry_token_reruns_the_phase(stack: Stack) -> None:
    stack.sql("INSERT INTO ingest_runs (run_id, batch, dataset, mode, status, finished_at)"
              " VALUES (999, 'P0', 'daily', 'backfill', 'succeeded', now())")
    stack.sql("INSERT INTO daily_bar (asset_class, code, trade_date, open, high, low, close, run_id)"
              " VALUES ('stock', '600000.SH', '2024-01-13', 1, 1, 1, 1, 999)")  # a Saturday: no bar may exist
    stack.apply("p0", targetPhase="E")
    stack.wait("p0", "Stalled")
    stack.wait("p0", "RolledBack")  # the failed phase's rollback ran (onGateFailure: Rollback)
    status = stack.get("p0")["status"]
    b = status["phases"]["B"]
    assert b["state"] == "Failed" and b["reason"] == "GateFailed" and b["gate"]["passed"] is False
    assert "scheduling.rows_on_closed_days" in {f["check"] for f in b["gate"]["failed"]}
    assert [status["phases"][p]["state"] for p in "CDE"] == ["Frozen"] * 3
    assert status["state"] == "Failed" and status["frozenFrom"] == "B" and b["rollback"]["state"] == "Done"
    assert "p0-b-rollback-1" in stack.jobs("p0") and "p0-b-publish-1" not in stack.jobs("p0")
    assert stack.sql("SELECT count(*) FROM v_daily_bar")[0][0] == 0  # readers do not see P0
    assert stack.sql("SELECT phase, job_name FROM rollback_runs") == [("B", "p0-b-rollback-1")]
    described = stack.kubectl("describe", "rb/p0").stdout
    assert "GateFailed" in described and "scheduling.rows_on_closed_days" in described
    stack.sql("DELETE FROM daily_bar WHERE run_id = 999")  # fix the data
    stack.patch("p0", {"retryToken": "fixed-saturday-bar"})
    stack.wait("p0", "Stalled", "false")
    stack.wait("p0", "Frozen", "false")
    stack.kubectl("wait", "rb/p0", "--for=jsonpath={.status.phases.B.state}=Passed", f"--timeout={WAIT}")
    status = stack.get("p0")["status"]
    assert status["phases"]["B"]["attempt"] == 2 and status["acknowledgedRetryToken"] == "fixed-saturday-bar"
    assert {"p0-b-ingest-2", "p0-b-gate-2", "p0-b-publish-2"} <= set(stack.jobs("p0"))
    assert status["phases"]["C"]["state"] == "Waiting" and "p1Enabled is off" in status["phases"]["C"]["message"]


def test_lowering_the_target_rolls_b_back_and_raising_it_runs_b_again(stack: Stack) -> None:
    stack.apply("p0", targetPhase="B")
    stack.wait("p0", "Ready")
    stack.patch("p0", {"targetPhase": "A"})
    stack.wait("p0", "RolledBack")
    stack.wait("p0", "Ready")
    status = stack.get("p0")["status"]
    assert status["phases"]["B"]["state"] == "RolledBack" and status["phase"] == "A"
    assert stack.sql("SELECT count(*) FROM v_daily_bar")[0][0] == 0
    stack.patch("p0", {"targetPhase": "B"})
    stack.kubectl("wait", "rb/p0", "--for=jsonpath={.status.phases.B.state}=Passed", f"--timeout={WAIT}")
    stack.wait("p0", "Ready")
    assert {"p0-b-rollback-1", "p0-b-ingest-2", "p0-b-gate-2"} <= set(stack.jobs("p0"))
    assert stack.sql("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'")[0][0] > 3000


def test_an_operator_killed_mid_rollout_restarts_without_duplicate_jobs(stack: Stack) -> None:
    stack.apply("p0", targetPhase="B")
    stack.kubectl("wait", "rb/p0", "--for=jsonpath={.status.phases.B.state}=Running", f"--timeout={WAIT}")
    stack.restart_operator()
    stack.wait("p0", "Ready")
    jobs = stack.jobs("p0")
    assert len(jobs) == len(set(jobs)) == 6 and all(j.endswith("-1") for j in jobs)


def test_two_operator_replicas_never_both_act(stack: Stack, tmp_path: Path) -> None:
    second_log = tmp_path / "second-operator.log"
    second = start_operator(stack.operator_env, second_log)
    try:
        stack.apply("p0", targetPhase="B")
        stack.wait("p0", "Ready")
        acted = [n for n, log in (("first", stack.log), ("second", second_log)) if stack.reconciles(log)]
        assert len(acted) == 1, (stack.log.read_text()[-2000:], second_log.read_text()[-2000:])
        jobs = stack.jobs("p0")
        assert len(jobs) == len(set(jobs)) == 6 and all(j.endswith("-1") for j in jobs)
        lease = json.loads(stack.kubectl("get", "lease/tushare-rollout-operator", "-o", "json").stdout)["spec"]
        assert lease["holderIdentity"] and lease["leaseDurationSeconds"] == 15  # the one in charge holds it
    finally:
        stop(second)


def test_a_passed_phase_runs_daily_and_a_regressed_daily_gate_stalls_the_rollout(stack: Stack) -> None:
    stack.apply("p0", targetPhase="B")
    stack.wait("p0", "Ready")
    cron = json.loads(stack.kubectl("get", "cronjob/p0-b-daily", "-o", "json").stdout)
    assert (cron["spec"]["schedule"], cron["spec"]["timeZone"], cron["spec"]["concurrencyPolicy"],
            cron["spec"]["suspend"]) == ("30 22 * * 1-5", "Asia/Shanghai", "Forbid", False)
    assert [(o["kind"], o["name"]) for o in cron["metadata"]["ownerReferences"]] == [("RolloutBatch", "p0")]
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == \
        ["job", "daily", "--phase", "B", "--end", WINDOW["backfillEnd"]]

    # a day's run, as the CronJob starts it (a person runs it the same way to catch up)
    stack.kubectl("create", "job", "p0-b-daily-manual-1", "--from=cronjob/p0-b-daily")
    stack.kubectl("wait", "job/p0-b-daily-manual-1", "--for=condition=Complete", f"--timeout={WAIT}")
    stack.kubectl("wait", "rb/p0", "--for=jsonpath={.status.steadyState.B.lastRun.gatePassed}=true",
                  f"--timeout={WAIT}")
    assert stack.sql("SELECT DISTINCT phase, passed FROM gate_runs WHERE job_name = 'p0-b-daily-manual-1'") == \
        [("B", True)]
    assert stack.sql("SELECT DISTINCT mode FROM ingest_runs WHERE job_name = 'p0-b-daily-manual-1'") == \
        [("incremental",)]

    # a defect appears after B passed: the next daily gate fails, and that stalls the rollout
    stack.sql("INSERT INTO ingest_runs (run_id, batch, dataset, mode, status, finished_at)"
              " VALUES (999, 'P0', 'daily', 'incremental', 'succeeded', now())")
    stack.sql("INSERT INTO daily_bar (asset_class, code, trade_date, open, high, low, close, run_id)"
              " VALUES ('stock', '600000.SH', '2024-01-13', 1, 1, 1, 1, 999)")  # a Saturday
    stack.kubectl("create", "job", "p0-b-daily-manual-2", "--from=cronjob/p0-b-daily")
    stack.wait("p0", "Stalled")
    status = stack.get("p0")["status"]
    b = status["phases"]["B"]
    assert b["state"] == "Failed" and b["reason"] == "DailyGateRegressed" and "p0-b-daily-manual-2" in b["message"]
    assert "scheduling.rows_on_closed_days" in {f["check"] for f in b["gate"]["failed"]}
    assert status["frozenFrom"] == "B" and status["steadyState"]["B"]["lastRun"]["gatePassed"] is False
    assert stack.sql("SELECT count(*) FROM v_daily_bar WHERE asset_class = 'stock'")[0][0] > 3000  # still published
    assert "DailyGateRegressed" in stack.kubectl("describe", "rb/p0").stdout

    # pausing ingestion suspends the daily runs; lowering the target rolls B back and removes them
    stack.patch("p0", {"control": {"state": "paused"}})
    stack.kubectl("wait", "cronjob/p0-b-daily", "--for=jsonpath={.spec.suspend}=true", f"--timeout={WAIT}")
    assert stack.get("p0")["status"]["steadyState"]["B"]["reason"] == "spec.control.state is paused"
    stack.patch("p0", {"targetPhase": "A"})
    stack.kubectl("wait", "cronjob/p0-b-daily", "--for=delete", f"--timeout={WAIT}")
    stack.wait("p0", "RolledBack")
    assert stack.sql("SELECT count(*) FROM v_daily_bar")[0][0] == 0


def test_with_p1_enabled_the_rollout_goes_through_c_and_keeps_both_batches_current(stack: Stack) -> None:
    stack.apply("p1", targetPhase="C", flags={"p1Enabled": True}, universe={"fxWhitelist": ["USDCNH.FXCM"]})
    stack.wait("p1", "Ready")
    status = stack.get("p1")["status"]
    assert [status["phases"][p]["state"] for p in "ABC"] == ["Passed"] * 3
    assert [j["name"] for j in status["phases"]["C"]["jobs"]] == ["p1-c-ingest-1", "p1-c-gate-1", "p1-c-publish-1"]
    assert status["phases"]["C"]["gate"]["passed"] is True
    assert stack.sql("SELECT DISTINCT code FROM v_daily_bar WHERE asset_class = 'fx'") == [("USDCNH.FXCM",)]
    assert stack.sql("SELECT count(*) FROM v_macro_latest")[0][0] > 0  # published: readers see P1
    assert stack.sql("SELECT count(*) FROM macro_asof('shibor.on', now())")[0][0] > 0
    crons = {c["metadata"]["name"]: c for c in json.loads(stack.kubectl("get", "cronjobs", "-o", "json").stdout)["items"]}
    assert set(crons) == {"p1-b-daily", "p1-c-daily"}
    assert crons["p1-c-daily"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][:4] == \
        ["job", "daily", "--phase", "C"]
    env = {e["name"]: e.get("value") for e in
           crons["p1-c-daily"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert json.loads(env["TSR_FX_WHITELIST"]) == ["USDCNH.FXCM"]


def test_probes_in_status_decide_whether_premarket_may_be_turned_on(stack: Stack) -> None:
    def token(value: str) -> None:  # through stdin: never on a command line
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tushare-rollout-token"},
                  "stringData": {"token": value}}
        stack.kubectl("apply", "-f", "-", input=json.dumps(secret))

    def probed(probe_token: str) -> dict[str, dict]:
        stack.patch("p0", {"probeToken": probe_token})
        stack.kubectl("wait", "rb/p0", f"--for=jsonpath={{.status.acknowledgedProbeToken}}={probe_token}",
                      f"--timeout={WAIT}")
        return {p["api"]: p for p in stack.get("p0")["status"]["probes"]}

    premarket_on = {"flags": {"p2Enabled": True, "p2SpecialPermissionStkPremarketV1": True,
                              "updatedAt": 1732400000001}}
    token("demo:5000")  # no minute, realtime or premarket permission
    stack.apply("p0", targetPhase="A")
    stack.wait("p0", "Ready")
    probes = probed("first")
    assert probes["stk_premarket"]["outcome"] == "denied" and probes["rt_min"]["outcome"] == "denied"
    assert "demo:" not in json.dumps(probes)  # the token is never shown
    refused = stack.kubectl("patch", "rb/p0", "--type", "merge", "-p", json.dumps({"spec": premarket_on}),
                            check=False)
    assert refused.returncode != 0 and "permission probe has recorded stk_premarket as granted" in refused.stderr
    token("demo:all")
    probes = probed("second")
    assert {p["outcome"] for p in probes.values()} == {"granted"}
    stack.patch("p0", premarket_on)
    stack.kubectl("wait", "rb/p0", "--for=jsonpath={.status.lastFlagsUpdatedAt}=1732400000001", f"--timeout={WAIT}")
    flags = {f["flag"]: f for f in stack.get("p0")["status"]["effectiveFlags"]}
    assert flags["p2SpecialPermissionStkPremarketV1"]["effective"] is True
    probe_jobs = [probe_job_name(f"{stack.namespace}/p0", t) for t in ("first", "second")]
    assert sorted(j for j in stack.jobs("p0") if "probe" in j) == sorted(probe_jobs)


P2_FUTURES = {"p1Enabled": True, "p2Enabled": True, "p2FuturesMicrostructureV1": True}


def test_phase_d_publishes_only_the_p2_modules_in_force(stack: Stack) -> None:
    stack.apply("p2", targetPhase="D", flags=P2_FUTURES, universe={"fxWhitelist": ["USDCNH.FXCM"]})
    stack.wait("p2", "Ready")
    status = stack.get("p2")["status"]
    assert [status["phases"][p]["state"] for p in "ABCD"] == ["Passed"] * 4
    assert [j["name"] for j in status["phases"]["D"]["jobs"]] == [
        "p2-d-probe-1", "p2-d-ingest-1", "p2-d-gate-1", "p2-d-publish-1"]
    assert {p["api"] for p in status["probes"]} >= {"fut_wsr", "fut_holding", "stk_premarket"}
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch WHERE batch = 'P2'"))
    assert switches == {"p2_futures_microstructure": True, "p2_realtime_index": False,
                        "p2_realtime_equity_etf": False, "p2_stk_premarket": False}
    assert stack.sql("SELECT count(*) FROM v_fut_holding")[0][0] > 0
    assert stack.sql("SELECT count(*) FROM v_fut_warehouse_receipt")[0][0] > 0
    assert stack.sql("SELECT count(*) FROM stk_premarket") == [(0,)]  # its sub-flag is off: not even fetched
    crons = json.loads(stack.kubectl("get", "cronjobs", "-o", "json").stdout)["items"]
    assert {c["metadata"]["name"]: c["spec"]["suspend"] for c in crons} == {
        "p2-b-daily": False, "p2-c-daily": False, "p2-d-daily": False,
        "p2-d-realtime": True}  # no realtime module is in force: its CronJob waits, suspended


def test_a_p2_gate_failure_freezes_only_d_and_e_and_p0_p1_stay_published_and_current(stack: Stack) -> None:
    # a receipt whose change does not add up, on a trading day of the window, by a real P2 run
    run = stack.sql("INSERT INTO ingest_runs (batch, dataset, mode, status, finished_at, window_start, window_end)"
                    " VALUES ('P2', 'fut_wsr', 'backfill', 'succeeded', now(), '2024-01-10', '2024-01-10')"
                    " RETURNING run_id")[0][0]
    stack.sql("INSERT INTO fut_warehouse_receipt (trade_date, exchange, symbol, warehouse, wh_id, grade, brand,"
              f" pre_vol, vol, vol_chg, run_id) VALUES ('2024-01-10', 'SHFE', 'CU', 'seeded', 'X1', '-', '-', 10, 20,"
              f" 99, {run})")
    stack.apply("p2", targetPhase="E", flags=P2_FUTURES, universe={"fxWhitelist": ["USDCNH.FXCM"]})
    stack.wait("p2", "Stalled")
    stack.wait("p2", "RolledBack")
    status = stack.get("p2")["status"]
    d = status["phases"]["D"]
    assert d["state"] == "Failed" and "quality.warehouse_receipts_add_up" in {f["check"] for f in d["gate"]["failed"]}
    assert [status["phases"][p]["state"] for p in "ABC"] == ["Passed"] * 3 and status["phases"]["E"]["state"] == \
        "Frozen"
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch"))
    assert not any(on for m, on in switches.items() if m.startswith("p2_"))  # P2 rolled back
    assert all(switches[m] for m in ("stock", "etf", "index", "future", "sge", "fx", "macro"))  # P0/P1 stay
    crons = {c["metadata"]["name"] for c in json.loads(stack.kubectl("get", "cronjobs", "-o", "json").stdout)["items"]}
    assert crons == {"p2-b-daily", "p2-c-daily"}  # P0 and P1 keep running; D has none


def test_d_waits_for_three_clean_trading_days_and_a_holiday_neither_breaks_nor_extends_the_streak(
        stack: Stack) -> None:
    # 2 and 3 April 2024 are trading days; 4-7 April are the Qingming holiday and a weekend; 8 April trades
    stack.apply("p2", targetPhase="D", flags=P2_FUTURES, gates={"stableTradingDays": 3},
                universe={"fxWhitelist": ["USDCNH.FXCM"], "backfillStart": "20240402", "backfillEnd": "20240403"})
    stack.wait_for("p2", ".status.phases.D.state", "Waiting")
    status = stack.get("p2")["status"]
    assert status["phases"]["C"]["state"] == "Passed" and status["phases"]["D"]["reason"] == "StabilityStreakShort"
    assert "P0 2 of 3 clean trading days" in status["phases"]["D"]["message"]
    assert status["stability"] == {"P0": {"days": 2, "needed": 3}, "P1": {"days": 2, "needed": 3}}
    assert not [j for j in stack.jobs("p2") if "-d-" in j]  # D started nothing
    # the next trading day, after the holiday: the daily runs load and gate it
    stack.patch("p2", {"universe": {"backfillEnd": "20240408"}})
    for phase in ("b", "c"):
        stack.kubectl("wait", f"cronjob/p2-{phase}-daily", "--for=jsonpath={.spec.jobTemplate.spec.template.spec"
                      ".containers[0].args[5]}=20240408", f"--timeout={WAIT}")
        stack.kubectl("create", "job", f"p2-{phase}-daily-day3", f"--from=cronjob/p2-{phase}-daily")
        stack.kubectl("wait", f"job/p2-{phase}-daily-day3", "--for=condition=Complete", f"--timeout={WAIT}")
    stack.wait("p2", "Ready")
    status = stack.get("p2")["status"]
    assert {b: status["stability"][b] for b in ("P0", "P1")} == {"P0": {"days": 3, "needed": 3},
                                                                 "P1": {"days": 3, "needed": 3}}
    assert status["phases"]["D"]["state"] == "Passed"
    holiday = "trade_date BETWEEN '2024-04-04' AND '2024-04-07'"
    assert stack.sql(f"SELECT count(*) FROM daily_bar WHERE {holiday} AND asset_class <> 'fx'") == [(0,)]
    fx = stack.sql(f"SELECT trade_date FROM daily_bar WHERE {holiday} AND asset_class = 'fx' ORDER BY 1")
    assert [str(d) for (d,) in fx] == ["2024-04-04", "2024-04-05"]  # FX trades on GMT weekdays, holidays or not
