"""Tests of the ``dlnsys`` command line (dlnsys.cli, dlnsys.commands) and of the Section 6.1 demo."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlnsys import cli
from dlnsys.commands import float_list, int_list
from dlnsys.simulate import Trajectory

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["simulate", "--dims", "3,2,2", "--sigma", "2,1", "--init", "large", "--t", "20"]


def _run(argv, capsys):
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_simulate_short_run(capsys):
    status, out, err = _run(SMALL, capsys)
    assert status == 0, err
    assert err == ""
    assert "signature        {1,2}" in out            # from scale 1 the 3-2-2 net learns both values
    assert "conserved drift" in out and "wall time" in out and "nfev" in out


def test_simulate_json_fields(capsys):
    status, out, err = _run(SMALL + ["--json", "--seed", "3"], capsys)
    assert status == 0, err
    d = json.loads(out)
    for key in ("final_loss", "signature", "critical_value", "conserved_drift", "conserved_drift_abs", "nfev",
                "njev", "wall_time", "method", "status", "success", "dims", "sigma", "init", "scale", "seed",
                "product_singular_values"):
        assert key in d, key
    assert d["dims"] == [3, 2, 2] and d["sigma"] == [2.0, 1.0] and d["seed"] == 3 and d["scale"] == 1.0
    assert d["signature"] == [1, 2] and d["critical_value"] == 0.0
    assert d["final_loss"] < 1e-10 and d["conserved_drift"] < 1e-7
    np.testing.assert_allclose(d["product_singular_values"], [2.0, 1.0], rtol=1e-5)


def test_simulate_small_init_stops_on_a_saddle(capsys):
    """Section 6.1 from scale 5e-2 at t = 200 sits on the saddle S = {1,2,3} (critical value 3.125)."""
    argv = ["simulate", "--dims", "11,6,6,6,6,4", "--sigma", "7,5.5,4,2.5", "--scale", "0.05", "--t", "200",
            "--json"]
    status, out, err = _run(argv, capsys)
    assert status == 0, err
    d = json.loads(out)
    assert d["signature"] == [1, 2, 3]
    assert d["final_loss"] == pytest.approx(3.125, rel=1e-6)


@pytest.mark.parametrize("init", ["small", "balanced", "diagonal"])
def test_simulate_inits(init, capsys):
    status, out, err = _run(["simulate", "--dims", "3,2,2", "--sigma", "2,1", "--init", init, "--scale", "0.5",
                             "--t", "5", "--json"], capsys)
    assert status == 0, err
    d = json.loads(out)
    assert d["init"] == init and d["final_loss"] <= d["initial_loss"]


@pytest.mark.parametrize("argv", [
    ["simulate", "--dims", "11", "--sigma", "7", "--t", "1"],                   # one entry
    ["simulate", "--dims", "4,-6,2", "--sigma", "2,1", "--t", "1"],             # negative width
    ["simulate", "--dims", "4,0,2", "--sigma", "2,1", "--t", "1"],              # zero width
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1,0.5", "--t", "1"],          # sigma of wrong length
    ["simulate", "--dims", "4,3,2", "--sigma", "2,nan", "--t", "1"],            # NaN sigma
    ["simulate", "--dims", "4,3,2", "--sigma", "1,2", "--t", "1"],              # increasing sigma
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--init", "huge", "--t", "1"],   # unknown init
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--t", "-1"],             # negative time
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--t", "inf"],
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--t", "1", "--method", "euler"],
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--t", "1", "--rtol", "0"],
    ["simulate", "--dims", "4,a,2", "--sigma", "2,1", "--t", "1"],
    ["simulate", "--dims", "4,,2", "--sigma", "2,1", "--t", "1"],
    ["simulate", "--dims", "4,3,2", "--t", "1"],                                # missing --sigma
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1"],                          # missing --t
    ["simulate", "--dims", "4,3,2", "--sigma", "2,1", "--t", "1", "--bogus"],
    ["nonsense"],
])
def test_bad_input_is_one_line_and_status_2(argv, capsys):
    status, out, err = _run(argv, capsys)
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dlnsys: error: ")
    assert "Traceback" not in err and out == ""


def test_out_refuses_to_overwrite_without_force(tmp_path, capsys):
    target = tmp_path / "run.npz"
    target.write_bytes(b"keep me")
    status, out, err = _run(SMALL + ["--out", str(target)], capsys)
    assert status == 2 and len(err.splitlines()) == 1 and "--force" in err
    assert target.read_bytes() == b"keep me"
    # The same check applies to a name without the suffix (numpy appends .npz).
    status, out, err = _run(SMALL + ["--out", str(tmp_path / "run")], capsys)
    assert status == 2 and "exists" in err
    status, out, err = _run(SMALL + ["--out", str(target), "--force"], capsys)
    assert status == 0, err
    tr = Trajectory.from_npz(target)
    assert tr.net.dims == (3, 2, 2) and tr.final_loss < 1e-10
    status, out, err = _run(SMALL + ["--out", str(tmp_path / "missing" / "run.npz")], capsys)
    assert status == 2 and "does not exist" in err


def test_help_and_no_arguments(capsys):
    status, out, err = _run(["--help"], capsys)
    assert status == 0 and "simulate" in out and "examples:" in out
    status, out, err = _run(["simulate", "--help"], capsys)
    assert status == 0 and "examples:" in out and "--init" in out and "--out" in out
    status, out, err = _run([], capsys)
    assert status == 2 and "usage:" in err and out == ""
    status, out, err = _run(["--version"], capsys)
    assert status == 0 and "dlnsys" in out


def test_warnings_are_one_line(capsys):
    # dims 3,1,2: a hidden width 1 < d_y = 2 is a bottleneck (Section 7): BottleneckWarning.
    status, out, err = _run(["simulate", "--dims", "3,1,2", "--sigma", "2,1", "--init", "large", "--t", "5",
                             "--json"], capsys)
    assert status == 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlnsys: warning: ") and "bottleneck" in lines[0]


def test_keyboard_interrupt_is_130(monkeypatch, capsys):
    from dlnsys.commands import simulate as cmd

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cmd, "run", interrupted)
    status, out, err = _run(SMALL, capsys)
    assert status == 130 and "Traceback" not in err


def test_interrupt_inside_a_finalizer_is_not_lost(monkeypatch, capsys):
    """Ctrl-C landing in a weakref callback (HoloViews cleans up with them during `gallery build`) is
    swallowed by Python ("Exception ignored in ...") and the command would go on: dlnsys delivers it again."""
    import sys
    import time
    import weakref

    import dlnsys.cli

    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)      # restored after the test
    dlnsys.cli._keep_interrupts_from_finalizers()

    class Thing:
        pass

    def callback(ref):
        raise KeyboardInterrupt                 # what a SIGINT arriving in the callback does

    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        thing = Thing()
        ref = weakref.ref(thing, callback)      # noqa: F841
        del thing
        while time.perf_counter() - t0 < 5.0:   # the command's own work, going on
            time.sleep(0.01)
    assert time.perf_counter() - t0 < 2.0
    assert "Exception ignored" not in capsys.readouterr().err


def test_progress_goes_to_stderr(capsys):
    status, out, err = _run(SMALL + ["--progress", "--json"], capsys)
    assert status == 0
    json.loads(out)                       # stdout stays clean JSON
    assert "100.0%" in err


def test_list_converters():
    assert int_list("11, 6,4") == (11, 6, 4)
    assert float_list("7,5.5,4") == (7.0, 5.5, 4.0)
    for bad, conv in (("1.5,2", int_list), ("", int_list), ("1,,2", float_list), ("x", float_list),
                      ("inf", float_list)):
        with pytest.raises(argparse.ArgumentTypeError):
            conv(bad)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_m_dlnsys_cli():
    proc = subprocess.run([sys.executable, "-m", "dlnsys.cli"] + SMALL + ["--json"], capture_output=True,
                          text=True, env=_env(), cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["signature"] == [1, 2]
    bad = subprocess.run([sys.executable, "-m", "dlnsys.cli", "simulate", "--dims", "3", "--sigma", "1", "--t", "1"],
                         capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr


def test_installed_console_script():
    exe = shutil.which("dlnsys")
    if exe is None:
        venv = ROOT / ".venv" / "bin" / "dlnsys"
        exe = str(venv) if venv.exists() else None
    if exe is None:
        pytest.skip("the dlnsys console script is not installed (pip install -e .)")
    proc = subprocess.run([exe] + SMALL + ["--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["signature"] == [1, 2]


def test_demo_reports_sequential_learning(capsys):
    """The demo's self-check, on the faster scale 5e-2 (transitions by t ~ 700)."""
    from dlnsys import demo

    status = demo.main(["--scale", "0.05", "--t-max", "2000"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "sequential learning: yes" in out
    for value in ("50.75", "26.25", "11.125", "3.125"):
        assert value in out
