"""Phase D end to end: P2's wave-1 modules in gray, as the permission probes and the sub-flags allow.

A token without the minute, realtime and premarket permissions still takes D to Passed, with those
modules ``not_applicable``; a token with every permission loads and gates every module, and turning one
sub-flag off rolls back that module alone.
"""

from __future__ import annotations

import json

from bed import Stack

ALL_P2 = {"p1Enabled": True, "p2Enabled": True, "p2RealtimeIndexV1": True, "p2RealtimeEquityEtfV1": True,
          "p2FuturesMicrostructureV1": True}
SMALL = {"universe": {"fxWhitelist": ["USDCNH.FXCM"], "minuteCodes": ["600000.SH", "510300.SH"],
                      "minuteFutures": ["CU", "IF"]},
         "p2": {"minuteDays": 4}}


def _token(stack: Stack, value: str) -> None:  # through stdin: never on a command line
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tushare-rollout-token"},
              "stringData": {"token": value}}
    stack.kubectl("apply", "-f", "-", input=json.dumps(secret))


def test_without_minute_realtime_or_premarket_permissions_d_passes_with_those_modules_not_applicable(
        stack: Stack) -> None:
    _token(stack, "demo:5000")
    stack.apply("p2", targetPhase="D", flags=ALL_P2, **SMALL)
    stack.wait("p2", "Ready")
    status = stack.get("p2")["status"]
    assert [status["phases"][p]["state"] for p in "ABCD"] == ["Passed"] * 4
    assert status["phases"]["D"]["gate"]["passed"] is True
    outcomes = {p["api"]: p["outcome"] for p in status["probes"]}
    assert outcomes == {**{api: "denied" for api in ("rt_idx_k", "rt_idx_min", "idx_mins", "rt_etf_k", "rt_min",
                                                       "stk_mins", "ft_mins", "stk_premarket")},
                        "fut_wsr": "granted", "fut_holding": "granted"}, outcomes
    # the futures module is in force through its daily lists; both realtime modules have nothing permitted
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch WHERE batch = 'P2'"))
    assert switches == {"p2_futures_microstructure": True, "p2_realtime_index": False,
                        "p2_realtime_equity_etf": False, "p2_stk_premarket": False}
    assert stack.sql("SELECT count(*) FROM minute_bar") == [(0,)]  # a denied API is not even called
    assert stack.sql("SELECT count(*) FROM v_fut_holding")[0][0] > 0
    cells = dict(stack.sql("SELECT dataset, string_agg(DISTINCT status || ': ' || coalesce(reason, ''), ' | ')"
                           " FROM status_matrix WHERE dataset IN ('idx_mins', 'stk_mins', 'ft_mins') GROUP BY 1"))
    assert set(cells) == {"idx_mins", "stk_mins", "ft_mins"}, cells
    assert all(v.startswith("not_applicable: no permission") and " | " not in v for v in cells.values()), cells
    refused = stack.kubectl("patch", "rb/p2", "--type", "merge", "-p", json.dumps(
        {"spec": {"flags": {"p2SpecialPermissionStkPremarketV1": True, "updatedAt": 1732400000001}}}), check=False)
    assert refused.returncode != 0 and "permission probe has recorded stk_premarket as granted" in refused.stderr


def test_with_every_permission_the_modules_load_and_one_sub_flag_off_rolls_back_that_module_alone(
        stack: Stack) -> None:
    stack.apply("p2", targetPhase="D", flags=ALL_P2, **SMALL)
    stack.wait("p2", "Ready")
    status = stack.get("p2")["status"]
    d = status["phases"]["D"]
    assert d["state"] == "Passed" and d["gate"]["passed"] is True
    checks = set(stack.sql(
        "SELECT DISTINCT r.check_name, r.dataset FROM gate_check_results r JOIN gate_runs g USING (gate_run_id)"
        f" WHERE g.job_name = '{d['gate']['job']}' AND r.severity = 'PASS' AND r.metric_value IS NOT NULL"))
    assert {(c, m) for c in ("reconciliation.minute_bars_expected", "reconciliation.minute_volume_sums_to_daily",
                             "reconciliation.minute_range_inside_daily")
            for m in ("idx_mins", "stk_mins", "ft_mins")} <= checks, checks
    visible = dict(stack.sql("SELECT asset_class, count(*) FROM v_minute_bar GROUP BY 1"))
    assert set(visible) == {"index", "stock", "etf", "future"}, visible
    assert visible["index"] == 5 * 240 * 4  # five followed indices, 240 bars, the last four open days
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch WHERE batch = 'P2'"))
    assert switches == {"p2_futures_microstructure": True, "p2_realtime_index": True,
                        "p2_realtime_equity_etf": True, "p2_stk_premarket": False}
    before = dict(stack.sql("SELECT asset_class, count(*) FROM daily_bar GROUP BY 1"))

    stack.patch("p2", {"flags": {"p2RealtimeIndexV1": False, "updatedAt": 1732400000001}})
    stack.wait_for("p2", ".status.phases.D.modules.p2_realtime_index.state", "RolledBack")
    stack.wait("p2", "Ready")
    status = stack.get("p2")["status"]
    assert [status["phases"][p]["state"] for p in "ABCD"] == ["Passed"] * 4
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch"))
    assert switches["p2_realtime_index"] is False
    assert all(switches[m] for m in ("p2_futures_microstructure", "p2_realtime_equity_etf", "stock", "etf", "index",
                                     "future", "sge", "fx", "macro"))
    visible = dict(stack.sql("SELECT asset_class, count(*) FROM v_minute_bar GROUP BY 1"))
    assert set(visible) == {"stock", "etf", "future"}, visible  # readers lose the index minutes only
    assert dict(stack.sql("SELECT asset_class, count(*) FROM daily_bar GROUP BY 1")) == before
    assert [j for j in stack.jobs("p2") if "rollback" in j] == ["p2-d-rollback-realtime-index-1"]
    modules = status["phases"]["D"]["modules"]
    assert {m: v["state"] for m, v in modules.items()} == {
        "p2_realtime_index": "RolledBack", "p2_realtime_equity_etf": "Published",
        "p2_futures_microstructure": "Published"}, modules
    crons = {c["metadata"]["name"]: c["spec"].get("suspend")
             for c in json.loads(stack.kubectl("get", "cronjobs", "-o", "json").stdout)["items"]}
    assert crons == {"p2-b-daily": False, "p2-c-daily": False, "p2-d-daily": False, "p2-d-realtime": False}

    # back on: D runs again as a new attempt, and publishes the module once more
    stack.patch("p2", {"flags": {"p2RealtimeIndexV1": True, "updatedAt": 1732400000002}})
    stack.wait_for("p2", ".status.phases.D.modules.p2_realtime_index.state", "Published")
    stack.wait("p2", "Ready")
    d = stack.get("p2")["status"]["phases"]["D"]
    assert d["state"] == "Passed" and d["attempt"] == 2 and d["modules"]["p2_realtime_index"]["job"] == "p2-d-publish-2"
    assert dict(stack.sql("SELECT asset_class, count(*) FROM v_minute_bar GROUP BY 1"))["index"] == 5 * 240 * 4
