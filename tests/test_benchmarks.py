"""The benchmark harness runs and its rows are right (no timings asserted: speed is measured,
never tested). One small problem, one repeat: p1-small with dlnsys's default, the plain scipy
baseline, and XPPAUT at matched accuracy, against the harness's own DOP853 reference."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from _external import require_tool

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_run_py_rows_meet_the_accuracy_target(tmp_path):
    require_tool("xppaut")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--problems", "p1-small",
                        "--methods", "dlnsys,scipy-plain,xppaut-cvode-tight", "--repeats", "1",
                        "--json", str(out)],
                       capture_output=True, text=True, timeout=900, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(out.read_text())
    rows = {row["method"]: row for row in doc["rows"]}
    assert set(rows) == {"dlnsys", "scipy-plain", "xppaut-cvode-tight"}
    for method, row in rows.items():
        assert row["status"] == "ok", (method, row.get("reason"))
        assert 0 < row["error"] <= 1e-6, (method, row["error"])      # the accuracy target
        assert row["median_s"] > 0
    assert rows["dlnsys"]["nfev"] > 0 and rows["scipy-plain"]["nfev"] > 0
    assert "p1 dlnsys vs XPPAUT whole process, matched accuracy (tol / 100)" in doc["targets"]
    assert "p1-small" in r.stdout and "xppaut-cvode-tight" in r.stdout
