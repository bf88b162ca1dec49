"""Parameter studies on Dask (dlnsys.sweep, ``dlnsys sweep``).

The serial sweep (``scheduler="serial"``, in this process) is the oracle: a sweep on a
2-worker LocalCluster must give the same table row by row -- also when a worker is killed
mid-sweep, and when the sweep is interrupted and resumed. Every comparison is exact
(``seconds`` and ``cpu_seconds``, the times of each run, are the only columns left out): each run is the same
deterministic computation with one BLAS thread wherever it runs.
"""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlnsys.sweep import EXAMPLE_STUDY, Study, SweepInterrupted, load_sweep, plateau_table, sweep

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")

# 2 dims x 2 gamma x 4 init x 3 scale x 5 seed = 240 runs of small networks (about 15 ms each).
# gamma = 0.05 makes the classification and rates measures raise (Section 4 is for gamma = 0):
# those rows must carry the error, the rest of the sweep goes on.
STUDY_TOML = """
name = "test"
[parameters]
dims = [[3, 2, 2], [2, 2, 2, 2]]
sigma = [2.0, 1.0]
gamma = [0.0, 0.05]
init = ["gaussian", "balanced", "aligned_balanced", {family = "delta_balanced", delta = 0.01}]
scale = {logspace = [-1.5, -0.5, 3]}
seed = {range = [0, 5]}
[integration]
t_final = 15.0
[measures]
record = ["final_loss", "convergence_time", "itinerary", "leaf", "classification", "rates", "escape_times"]
"""


def _same(a: pd.DataFrame, b: pd.DataFrame):
    timing = ["seconds", "cpu_seconds"]
    pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing), check_exact=True)


@pytest.fixture(scope="module")
def study():
    s = Study.from_toml(STUDY_TOML)
    assert s.count() == 240
    return s


@pytest.fixture(scope="module")
def serial_table(study, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serial")
    res = sweep(study, folder, scheduler="serial", progress=False)
    assert res.status == "complete" and res.n_computed == 240
    return load_sweep(folder)


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                           silence_logs=40)
    try:
        c = Client(cluster, set_as_default=False)
        try:
            c.wait_for_workers(2, timeout=120)
            yield c
        finally:
            c.close()
    finally:
        cluster.close()


# ---------------------------------------------------------------------- the study
def test_example_study_round_trips_and_enumerates_deterministically():
    s = Study.from_toml(EXAMPLE_STUDY)
    assert Study.from_toml(s.to_toml()) == s
    assert Study.from_dict(s.to_dict()) == s
    runs = list(s.runs())
    assert len(runs) == s.count() == 72
    assert [r["index"] for r in runs] == list(range(72))
    assert len({r["run_id"] for r in runs}) == 72
    assert [r["run_id"] for r in runs] == [r["run_id"] for r in Study.from_toml(EXAMPLE_STUDY).runs()]
    # the seed varies fastest, then the scale (grid order of the module docstring)
    assert [r["seed"] for r in runs[:5]] == [0, 1, 2, 3, 0]
    assert runs[0]["scale"] == runs[3]["scale"] != runs[4]["scale"]
    assert np.isclose(runs[0]["scale"], 10 ** -1.5)


def test_run_ids_depend_on_parameters_and_settings_only():
    base = {"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": [0.1, 0.2]}, "integration": {"t_final": 5}}
    ids = [r["run_id"] for r in Study.from_dict(base).runs()]
    # a larger grid keeps the ids of the runs it shares (that is what lets --force reuse rows)
    bigger = json.loads(json.dumps(base))
    bigger["parameters"]["scale"] = [0.1, 0.2, 0.3]
    assert [r["run_id"] for r in Study.from_dict(bigger).runs()][:2] == ids
    other = json.loads(json.dumps(base))
    other["integration"]["t_final"] = 6
    assert not set(ids) & {r["run_id"] for r in Study.from_dict(other).runs()}


def test_random_design_draws_within_the_ranges_reproducibly():
    d = {"design": "random", "n_runs": 50, "design_seed": 3,
         "parameters": {"dims": [[3, 2, 2], [2, 2, 2, 2]], "sigma": [2.0, 1.0], "gamma": {"uniform": [0.0, 0.1]},
                        "scale": {"log_uniform": [1e-3, 1e-1]}, "init": ["gaussian", "balanced"]},
         "integration": {"t_final": 5}}
    runs = list(Study.from_dict(d).runs())
    assert runs == list(Study.from_dict(d).runs()) and len(runs) == 50
    assert all(1e-3 <= r["scale"] <= 1e-1 and 0 <= r["gamma"] <= 0.1 for r in runs)
    assert {tuple(r["dims"]) for r in runs} == {(3, 2, 2), (2, 2, 2, 2)}
    assert len({r["seed"] for r in runs}) == 50          # each run draws its own seed
    d["design_seed"] = 4
    assert [r["scale"] for r in Study.from_dict(d).runs()] != [r["scale"] for r in runs]


@pytest.mark.parametrize("text, key", [
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\nscael=1\n[integration]\nt_final=1', "parameters.scael"),
    ('[parameters]\ndims=[2,2,3]\nsigma=[2.0,1.0,0.5]\nscale=0.1\n[integration]\nt_final=1', "parameters.dims"),
    ('[parameters]\ndims=[3,0,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=1', "parameters.dims"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=[]\n[integration]\nt_final=1', "parameters.scale"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\nseed={range=[3,3]}\n[integration]\nt_final=1',
     "parameters.seed.range"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[1.0,2.0]\nscale=0.1\n[integration]\nt_final=1', "parameters.sigma"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0,0.5]\nscale=0.1\n[integration]\nt_final=1', "parameters.sigma"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\ninit="xavier"\n[integration]\nt_final=1',
     "parameters.init"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\ninit={family="delta_balanced"}\n'
     '[integration]\nt_final=1', "parameters.init.delta"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=-1', "integration.t_final"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=1\nmethod="euler"',
     "integration.method"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=1\n[measures]\n'
     'record=["final_loss","speed"]', "measures.record[1]"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale={uniform=[0.1,0.2]}\n[integration]\nt_final=1',
     "parameters.scale.uniform"),
    ('[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n', "integration"),
    ('design="random"\n[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=1', "n_runs"),
])
def test_bad_study_is_a_value_error_naming_the_key(text, key):
    with pytest.raises(ValueError) as exc:
        Study.from_toml(text)
    assert f"<study>: {key}:" in str(exc.value)


# ---------------------------------------------------------------------- the command line
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "dlnsys.cli", "sweep", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_bad_study_files_exit_2_with_one_line(tmp_path):
    good = "[parameters]\ndims=[3,2,2]\nsigma=[2.0,1.0]\nscale=0.1\n[integration]\nt_final=1\n"
    cases = {
        "unknown.toml": (good.replace("scale=0.1", "scale=0.1\nwidth=3"), "parameters.width"),
        "dims.toml": (good.replace("dims=[3,2,2]", "dims=[1,2,2]"), "parameters.dims"),
        "empty.toml": (good.replace("scale=0.1", "scale=[]"), "parameters.scale"),
        "syntax.toml": (good.replace("scale=0.1", "scale=[0.1,"), "invalid TOML"),
        "missing.toml": (None, "no such file"),
    }
    for name, (text, key) in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        r = _cli([name, "--out", "res", "--scheduler", "serial"], tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (name, r.stderr)
        # one line that names the file (the study errors start with it; the file reader quotes it) and the problem
        assert len(lines) == 1 and lines[0].startswith("dlnsys: error: ") and key in lines[0], lines
        assert lines[0].startswith(f"dlnsys: error: {name}: ") or f"'{name}'" in lines[0], lines
        assert not (tmp_path / "res").exists()
    # an unreachable scheduler: exit 2, one line, after the connect timeout
    (tmp_path / "good.toml").write_text(good)
    t0 = time.monotonic()
    r = _cli(["good.toml", "--out", "res", "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--timeout", "2"],
             tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "scheduler: cannot reach" in r.stderr and time.monotonic() - t0 < 60


def test_cli_example_is_a_valid_study_and_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "dlnsys.cli", "sweep", "--example"], env=ENV, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == ""
    s = Study.from_toml(r.stdout)
    assert s.count() > 0 and s == Study.from_toml(EXAMPLE_STUDY)
    assert r.stdout.lstrip().startswith("#")           # commented
    # the CLI runs a (small) study and prints JSON
    (tmp_path / "s.toml").write_text("[parameters]\ndims=[2,1,1]\nsigma=[1.0]\nscale=0.1\nseed=[0,1,2]\n"
                                     "[integration]\nt_final=10\n")
    r = _cli(["s.toml", "--out", "res", "--scheduler", "serial", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "complete" and doc["n_runs"] == doc["n_done"] == 3
    assert os.path.isfile(doc["table"] if os.path.isabs(doc["table"]) else tmp_path / doc["table"])


# ---------------------------------------------------------------------- serial sweeps
def test_measures_against_the_logistic_closed_form(tmp_path):
    # (62) from a 0-balanced aligned init: u = w1 w2 obeys u' = 2u(sigma - u), so
    # u(t) = sigma / (1 + (sigma/u0 - 1) exp(-2 sigma t)): closed forms for both times.
    s = 1.5
    study = {"parameters": {"dims": [1, 1, 1], "sigma": [s], "init": "aligned_balanced", "scale": [0.01, 0.001],
                            "seed": {"range": [0, 4]}},
             "integration": {"t_final": 40.0, "rtol": 1e-10, "atol": 1e-12},
             "measures": {"record": ["escape_times", "convergence_time"], "convergence_loss": 1e-6,
                          "escape_level": 0.5}}
    sweep(study, tmp_path, scheduler="serial", progress=False)
    df = load_sweep(tmp_path)
    assert len(df) == 8 and (df.status == "ok").all()
    u0 = s - np.sqrt(2 * df.initial_loss.to_numpy())                 # L(0) = (sigma - u0)^2 / 2, u0 < sigma
    t_escape = np.log((s / u0 - 1) / (1 / 0.5 - 1)) / (2 * s)
    t_conv = np.log((s / u0 - 1) / (s / (s - math.sqrt(2e-6)) - 1)) / (2 * s)
    # linear interpolation between saved solver steps: ~1e-7 relative at rtol 1e-10
    np.testing.assert_allclose(df.escape_time_1, t_escape, rtol=1e-6)
    np.testing.assert_allclose(df.convergence_time, t_conv, rtol=1e-6)


def test_exact_measures_agree_with_the_simulation_where_they_apply(tmp_path):
    study = {"parameters": {"dims": [[3, 2, 2], [2, 2, 2, 2]], "sigma": [2.0, 1.0],
                            "init": ["aligned_balanced", "gaussian"], "scale": 0.05, "seed": [0, 1]},
             "integration": {"t_final": 30.0, "rtol": 1e-10, "atol": 1e-12},
             "measures": {"record": ["escape_times", "predicted_escape_times", "exact"]}}
    sweep(study, tmp_path, scheduler="serial", progress=False)
    df = load_sweep(tmp_path)
    assert (df.status == "ok").all(), df.error.tolist()
    aligned, gauss = df[df.init == "aligned_balanced"], df[df.init == "gaussian"]
    # integration at rtol 1e-10: global errors ~1e-9 of the weights' size
    assert (aligned.exact_error < 1e-7).all() and (aligned.exact_note == "").all()
    # measured: linear interpolation between solver steps (~1e-7 relative, see the logistic test)
    np.testing.assert_allclose(aligned.escape_time_1, aligned.escape_pred_1, rtol=1e-5)
    np.testing.assert_allclose(aligned.escape_time_2, aligned.escape_pred_2, rtol=1e-5)
    # a Gaussian init of a deep network is not decoupled: no exact solution, NaN and the reason
    deep = gauss[gauss.depth == 3]
    assert deep.exact_error.isna().all() and deep.exact_note.str.contains("decoupled").all()
    assert deep.escape_pred_1.isna().all() and (deep.escape_pred_note != "").all()


def test_folder_refuses_a_different_study_unless_forced(tmp_path):
    a = {"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": [0.1, 0.2]}, "integration": {"t_final": 10}}
    b = json.loads(json.dumps(a))
    b["parameters"]["scale"] = [0.1, 0.2, 0.3]
    assert sweep(a, tmp_path, scheduler="serial", progress=False).n_computed == 2
    again = sweep(a, tmp_path, scheduler="serial", progress=False)
    assert (again.n_computed, again.n_skipped, again.status) == (0, 2, "complete")
    with pytest.raises(ValueError, match="different study"):
        sweep(b, tmp_path, scheduler="serial", progress=False)
    res = sweep(b, tmp_path, scheduler="serial", progress=False, force=True)
    assert (res.n_computed, res.n_skipped, res.n_done) == (1, 2, 3)
    assert Study.from_toml(tmp_path / "study.toml") == Study.from_dict(b)
    assert list(load_sweep(tmp_path).scale) == [0.1, 0.2, 0.3]
    with pytest.raises(ValueError, match="not a sweep folder"):
        sweep(a, tmp_path / "parts", scheduler="serial", progress=False)


def test_load_sweep_keeps_one_row_per_run(tmp_path):
    study = {"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": 0.1, "seed": {"range": [0, 6]}},
             "integration": {"t_final": 10}}
    sweep(study, tmp_path, scheduler="serial", progress=False, batch=2)
    parts = sorted((tmp_path / "parts").glob("part-*.json"))
    assert len(parts) == 3
    # a task rescheduled after its worker died may deliver its rows twice: copy a part under another name
    (tmp_path / "parts" / "part-duplicate.json").write_text(parts[0].read_text())
    (tmp_path / "parts" / ".part-x.json.tmp").write_text("{half a write")   # leftover of a killed write
    df = load_sweep(tmp_path)
    assert len(df) == 6 and df.run_id.is_unique and list(df.seed) == list(range(6))
    assert list(df.run_id) == list(Study.from_dict(study).run_ids())


def test_itinerary_rows_and_plateau_table(serial_table):
    df = serial_table
    ok = df[df.status == "ok"]
    assert len(ok) == 120 and (ok.error == "").all()
    assert (ok.n_plateaus == ok.itinerary.str.count("->") + 1).all()
    pt = plateau_table(ok)
    assert len(pt) == ok.n_plateaus.sum()
    assert set(pt.signature) <= {"{}", "{1}", "{2}", "{1,2}"}
    assert (pt.t_exit.isna() | (pt.t_exit >= pt.t_enter)).all()
    # the leaf measure: 0-balanced families have C = 0
    bal = ok[ok.init.isin(["balanced", "aligned_balanced"])]
    assert (bal.balancedness < 1e-12).all()


def test_a_run_that_raises_leaves_its_error_in_its_row(serial_table):
    df = serial_table
    bad = df[df.gamma > 0]
    assert len(bad) == 120 and (bad.status == "error").all()
    assert bad.error.str.contains("measure classification: ValueError: net: classify follows Section 4").all()
    assert bad.error.str.contains("measure rates: ValueError").all()
    # the other measures of those runs were recorded
    assert bad.final_loss.notna().all() and bad.escape_time_1.notna().any() and bad.itinerary.notna().all()
    assert (df[df.gamma == 0].status == "ok").all()


# ---------------------------------------------------------------------- on a Dask cluster
@pytest.mark.slow
def test_dask_sweep_equals_the_serial_sweep(study, serial_table, client, tmp_path):
    res = sweep(study, tmp_path, client=client, progress=False)
    assert res.status == "complete" and res.n_done == res.n_computed == 240 and res.n_workers == 2
    assert res.n_tasks < 240                           # small runs are batched
    df = load_sweep(tmp_path)
    assert list(df.run_id) == list(study.run_ids())
    _same(df, serial_table)
    assert res.n_failed == 120
    table = pd.read_csv(res.table) if res.table.endswith(".csv") else pd.read_parquet(res.table)
    assert len(table) == 240 and table.run_id.is_unique


@pytest.mark.slow
def test_worker_killed_mid_sweep_loses_and_duplicates_no_row(study, serial_table, client, tmp_path):
    pids = client.run(os.getpid)
    assert len(pids) == 2
    victim = sorted(pids.values())[0]
    killed = []

    def kill_once(done, total):
        if not killed and done >= 40:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    res = sweep(study, tmp_path, client=client, batch=5, progress=kill_once)
    assert killed and killed[0] < 240, "the worker was not killed mid-sweep"
    assert res.status == "complete" and res.n_done == 240
    raw = [r["run_id"] for f in (tmp_path / "parts").glob("part-*.json") for r in json.loads(f.read_text())["rows"]]
    assert len(raw) == 240 and len(set(raw)) == 240     # nothing written twice, nothing missing
    _same(load_sweep(tmp_path), serial_table)
    client.wait_for_workers(2, timeout=120)             # the nanny restarted it
    assert victim not in client.run(os.getpid).values()


@pytest.mark.slow
def test_interrupted_and_resumed_sweep_equals_one_uninterrupted_run(study, serial_table, client, tmp_path):
    # a budget: stop after 70 runs
    first = sweep(study, tmp_path, client=client, max_runs=70, progress=False)
    assert (first.status, first.n_computed, first.n_done) == ("partial", 70, 70)
    assert len(load_sweep(tmp_path)) == 70

    # Ctrl-C (KeyboardInterrupt in the client loop) after a few more tasks
    def interrupt(done, total):
        if done >= 120:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as exc:
        sweep(study, tmp_path, client=client, batch=4, progress=interrupt)
    mid = exc.value.result
    assert mid.status == "interrupted" and mid.n_skipped == 70 and 120 <= mid.n_done < 240
    assert client.status == "running"                   # a client given by the caller stays open

    last = sweep(study, tmp_path, client=client, progress=False)
    assert last.status == "complete" and last.n_skipped == mid.n_done and last.n_done == 240
    _same(load_sweep(tmp_path), serial_table)


@pytest.mark.slow
def test_cli_ctrl_c_stops_the_local_cluster_and_leaves_a_resumable_folder(tmp_path):
    # runs of about 0.1-0.3 s on the Section 6.1 network: the sweep is still running when SIGINT comes
    (tmp_path / "s.toml").write_text("[parameters]\ndims=[11,6,6,6,6,4]\nsigma=[7.0,5.5,4.0,2.5]\nscale=0.05\n"
                                     "seed={range=[0,400]}\n[integration]\nt_final=400\n")
    p = subprocess.Popen([sys.executable, "-m", "dlnsys.cli", "sweep", "s.toml", "--out", "res", "--workers", "2"],
                         cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)        # its own process group, as a terminal's foreground job
    try:
        parts = tmp_path / "res" / "parts"
        for _ in range(1200):                           # at most 120 s for the cluster and the first parts
            if parts.is_dir() and len(list(parts.glob("part-*.json"))) >= 3 or p.poll() is not None:
                break
            time.sleep(0.1)
        assert p.poll() is None, p.communicate()
        os.killpg(p.pid, signal.SIGINT)                 # what Ctrl-C does: the whole group, workers included
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dlnsys: interrupted:") and "Traceback" not in err, err
    df = load_sweep(tmp_path / "res")
    assert 3 <= len(df) < 400 and df.run_id.is_unique and (df.status == "ok").all()
    # resumable: the rest with a budget (the serial path; the whole study would take minutes)
    res = sweep(tmp_path / "s.toml", tmp_path / "res", scheduler="serial", max_runs=2, progress=False)
    assert res.n_skipped == len(df) and res.n_computed == 2 and res.n_done == len(df) + 2


@pytest.mark.slow
def test_a_cluster_without_workers_stops_the_sweep_instead_of_hanging(tmp_path, monkeypatch):
    from dask.distributed import Client, LocalCluster

    import dlnsys.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "NO_WORKER_SECONDS", 3.0)
    study = {"parameters": {"dims": [3, 2, 2], "sigma": [2.0, 1.0], "scale": 0.05, "seed": {"range": [0, 200]}},
             "integration": {"t_final": 15.0}}
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp://",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False}, silence_logs=40)
    try:
        with Client(cluster, set_as_default=False) as c:
            def retire(done, total):
                if done >= 10 and cluster.workers:
                    cluster.scale(0)             # every worker leaves; the remaining tasks wait for none
            t0 = time.monotonic()
            with pytest.raises(ConnectionError, match="no Dask worker for 3 s"):
                sweep(study, tmp_path, client=c, batch=2, timeout=0.5, progress=retire)
            assert time.monotonic() - t0 < 60
    finally:
        cluster.close()
    df = load_sweep(tmp_path)                        # what finished is saved
    assert 10 <= len(df) < 200 and df.run_id.is_unique
