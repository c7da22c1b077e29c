"""Phase E end to end: every batch's gate together, then the rollback drill on a disposable copy, and the
RolloutBatch ends Succeeded with the drill in its status while the daily CronJobs run on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bed import Stack

ALL_FLAGS = {"p1Enabled": True, "p2Enabled": True, "p2RealtimeIndexV1": True, "p2RealtimeEquityEtfV1": True,
             "p2FuturesMicrostructureV1": True}
SMALL = {"universe": {"fxWhitelist": ["USDCNH.FXCM"], "minuteCodes": ["600000.SH", "510300.SH"],
                      "minuteFutures": ["CU", "IF"]},
         "p2": {"minuteDays": 3}}


def test_a_rollout_to_e_with_every_flag_on_ends_succeeded_with_the_rollback_drill_in_status(stack: Stack,
                                                                                            tmp_path: Path) -> None:
    stack.apply("all", targetPhase="E", flags=ALL_FLAGS, **SMALL)
    stack.wait("all", "Ready")
    status = stack.get("all")["status"]
    assert status["state"] == "Succeeded" and [status["phases"][p]["state"] for p in "ABCDE"] == ["Passed"] * 5
    e = status["phases"]["E"]
    assert [j["name"] for j in e["jobs"]] == ["all-e-gate-1", "all-e-drill-1"]
    assert e["gate"]["passed"] is True
    drill = e["drill"]
    assert drill["passed"] is True and drill["job"] == "all-e-drill-1" and drill["differences"] == []
    assert {"v_minute_bar", "v_fut_holding", "v_fut_warehouse_receipt"} <= set(drill["readersLost"])
    assert drill["readersKeptRows"] > 0 and drill["tablesIdentical"] == drill["tablesCompared"] > 0
    # the drill ran on a copy: what readers see is untouched, and the copy is gone
    switches = dict(stack.sql("SELECT module, enabled FROM read_switch"))
    assert all(switches[m] for m in ("stock", "etf", "index", "future", "sge", "fx", "macro",
                                     "p2_realtime_index", "p2_realtime_equity_etf", "p2_futures_microstructure"))
    assert stack.sql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tsr_drill_%'") == [(0,)]
    assert stack.sql("SELECT passed, job_name FROM rollback_drills") == [(True, "all-e-drill-1")]
    crons = {c["metadata"]["name"]: c["spec"]["suspend"]
             for c in json.loads(stack.kubectl("get", "cronjobs", "-o", "json").stdout)["items"]}
    assert crons == {"all-b-daily": False, "all-c-daily": False, "all-d-daily": False, "all-d-realtime": False}

    # the last flag: premarket, now that D's probe found it granted; D runs again and publishes it
    probes = {p["api"]: p["outcome"] for p in status["probes"]}
    assert probes["stk_premarket"] == "granted"
    stack.patch("all", {"flags": {"p2SpecialPermissionStkPremarketV1": True, "updatedAt": 1732400000001}})
    stack.wait_for("all", ".status.phases.D.modules.p2_stk_premarket.state", "Published")
    stack.wait("all", "Ready")
    status = stack.get("all")["status"]
    assert status["state"] == "Succeeded" and status["phases"]["E"]["drill"]["passed"] is True
    assert all(f["effective"] for f in status["effectiveFlags"])
    assert stack.sql("SELECT count(*) FROM v_stk_premarket")[0][0] > 0

    # the run report of this real run: timeline, heat map, the drill
    page = tmp_path / "report.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSR_", "DATABASE_URL"))}
    done = subprocess.run([sys.executable, "-m", "tushare_rollout", "report", "--out", str(page),
                           "--rollout-batch", f"{stack.namespace}/all"], env={**env, "DATABASE_URL": stack.url},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    html = page.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3  # the timeline, the heat map, the charts
    for phase in ("A baseline", "B P0", "C P1", "D P2", "E stabilization"):
        assert phase in html
    drills = html[html.index("6. Rollback drills"):]
    assert "all-e-drill-1" in drills and "passed" in drills
