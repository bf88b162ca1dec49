"""``dlnsys sweep`` on a local Dask cluster against the serial loop a user writes by hand.

    python benchmarks/sweep.py [--runs 2000] [--workers N] [--memory-runs 1000,4000,16000] [--json PATH]

Work: ``--runs`` runs of the Fig-2 network (Section 6.1: dims (11,6,6,6,6,4), sigma (7,5.5,4,2.5))
from small Gaussian initializations (``init.gaussian(net, 0.05, seed=k)``, k = 0..runs-1, as in
Fig. 2(a)) to t = 400 with ``simulate``'s defaults (rtol 1e-8, atol 1e-10), recording the final loss.

Measured, each in its own child process (phases one after the other, never overlapping):

* **serial loop** -- ``for k in range(runs): simulate(...)``, the hand-written loop on one core.
* **dlnsys sweep** -- the same runs as a study, ``dlnsys.sweep.sweep(study, folder)``: a LocalCluster
  with one worker process per core (``--workers``) started and closed by dlnsys, results written to
  disk as tasks finish, the table at the end. Its whole time (cluster start included) and its time
  without the cluster start are reported.
* **scheduling overhead** -- ``(workers x (sweep time - start-up) - work) / work`` where work is
  the sum of the runs' own times measured on the workers (the ``seconds`` column): every second a
  worker was not running a run -- scheduling, serialization, writing parts, idle tails -- as a
  fraction of the work.
* **CPU per run** -- each run's thread CPU time (``cpu_seconds``), on the workers and in the loop:
  equal when a run costs the same wherever it runs; the wall times differ from them by the share
  of the cores the run got.
* **parallel capacity** -- how many cores this machine gives us right now: a fixed CPU-bound Python
  loop timed alone and as two (``workers``) concurrent processes, ``workers x alone / concurrent``.
  On an idle 2-core machine it is about 2; when other jobs hold a core it is about 1, and no
  scheduler can beat it. The speed-up is also reported as a fraction of it.
* **client memory** -- the peak resident memory of the process that runs ``sweep`` (the workers are
  other processes): the highest ``VmRSS`` seen after each finished task (the sweep loop) and
  ``VmHWM`` at the end (which includes building the final table, one row per run). The series
  ``--memory-runs`` sweeps a tiny network ((3, 2, 2), t = 20, about 5 ms a run) with 1,000 to
  16,000 runs so that the number of runs, not the work, grows.

Goals (issue 13): speed-up >= 1.8 on 2 cores, overhead <= 3%, client memory flat in the number of
runs. The machine is shared: the load average before each phase is printed and saved, with the
results, as JSON (default ``benchmarks/results/sweep.json``, git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_JSON = HERE / "results" / "sweep.json"

FIG2 = {"dims": [11, 6, 6, 6, 6, 4], "sigma": [7.0, 5.5, 4.0, 2.5], "scale": 0.05, "t_final": 400.0}
TINY = {"dims": [3, 2, 2], "sigma": [2.0, 1.0], "scale": 0.05, "t_final": 20.0}


def _study(spec, runs):
    return {"name": "benchmark", "parameters": {"dims": spec["dims"], "sigma": spec["sigma"], "scale": spec["scale"],
                                                "seed": {"range": [0, runs]}},
            "integration": {"t_final": spec["t_final"]}}


def _rss_mb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


# ------------------------------------------------------------------ children
def child_serial(spec, runs):
    import numpy as np

    from dlnsys import Network, init
    from dlnsys.simulate import simulate

    net = Network(spec["dims"], spec["sigma"])
    t0, c0 = time.perf_counter(), time.thread_time()
    losses = []
    for k in range(runs):
        tr = simulate(net, init.gaussian(net, spec["scale"], seed=k), spec["t_final"])
        losses.append(tr.final_loss)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.thread_time() - c0, "runs": runs,
            "median_final_loss": float(np.median(losses)), "peak_rss_mb": _rss_mb("VmHWM")}


def child_burn():
    """A fixed CPU-bound loop (pure Python: no BLAS threads, no memory traffic)."""
    t0 = time.perf_counter()
    x = 0
    for i in range(20_000_000):
        x += i
    return {"seconds": time.perf_counter() - t0}


def child_sweep(spec, runs, workers):
    from dlnsys.sweep import load_sweep, sweep

    peak = [0.0]

    def watch(done, total):           # after every finished task: the loop's resident memory
        peak[0] = max(peak[0], _rss_mb("VmRSS"))

    with tempfile.TemporaryDirectory(prefix="dlnsys-bench-sweep-") as folder:
        t0 = time.perf_counter()
        res = sweep(_study(spec, runs), folder, workers=workers, progress=watch)
        wall = time.perf_counter() - t0
        df = load_sweep(folder)
        out = res.to_dict()
        out.update(wall=wall, loop_peak_rss_mb=peak[0], peak_rss_mb=_rss_mb("VmHWM"),
                   median_final_loss=float(df.final_loss.median()), rows=len(df))
    return out


def _run_child(args, timeout):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(args)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(REPO))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _load():
    return os.getloadavg()[0]


def capacity(workers):
    """``workers x t_alone / t_concurrent`` for the burn loop: the cores available now."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps({"kind": "burn"})]

    def run(n):
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(n)]
        return [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1])["seconds"] for p in procs]

    alone = run(1)[0]
    together = run(workers)
    return {"alone_s": alone, "concurrent_s": together, "cores_available": workers * alone / max(together)}


# ------------------------------------------------------------------ main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--workers", type=int, default=None, help="default: one per available core")
    p.add_argument("--memory-runs", default="1000,4000,16000", help="run counts of the memory series ('' skips it)")
    p.add_argument("--json", default=str(DEFAULT_JSON))
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child is not None:
        job = json.loads(a.child)
        if job["kind"] == "serial":
            out = child_serial(job["spec"], job["runs"])
        elif job["kind"] == "burn":
            out = child_burn()
        else:
            out = child_sweep(job["spec"], job["runs"], job["workers"])
        print(json.dumps(out))
        return 0

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = a.workers or cores
    doc = {"runs": a.runs, "workers": workers, "cores": cores, "network": FIG2, "phases": {}}

    def phase(name, job):
        load = _load()
        print(f"[{name}] load average {load:.2f} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        r = _run_child(job, a.timeout)
        r["load_before"] = load
        r["process_seconds"] = time.perf_counter() - t0
        doc["phases"][name] = r
        return r

    cap0 = capacity(workers)
    serial = phase("serial loop", {"kind": "serial", "spec": FIG2, "runs": a.runs})
    sw = phase("dlnsys sweep", {"kind": "sweep", "spec": FIG2, "runs": a.runs, "workers": workers})
    cap1 = capacity(workers)
    doc["capacity"] = [cap0, cap1]
    cores_avail = 0.5 * (cap0["cores_available"] + cap1["cores_available"])
    mem = []
    for n in [int(x) for x in a.memory_runs.split(",") if x.strip()]:
        mem.append(phase(f"memory {n}", {"kind": "sweep", "spec": TINY, "runs": n, "workers": workers}))

    loop_s = sw["seconds"] - sw["startup_seconds"]
    overhead = (sw["n_workers"] * loop_s - sw["compute_seconds"]) / sw["compute_seconds"]
    targets = {
        "speed-up, serial loop / dlnsys sweep (whole, cluster start included)": serial["seconds"] / sw["wall"],
        "speed-up, serial loop / dlnsys sweep (without the cluster start)": serial["seconds"] / loop_s,
        "scheduling overhead, (workers x loop time - work) / work": overhead,
        "wall time per run, workers / serial loop":
            (sw["compute_seconds"] / sw["n_computed"]) / (serial["seconds"] / serial["runs"]),
        "CPU time per run, workers / serial loop":
            (sw["cpu_seconds"] / sw["n_computed"]) / (serial["cpu_seconds"] / serial["runs"]),
        f"cores available now (burn test before / after; {workers} on an idle machine)": cores_avail,
        "speed-up (without the cluster start) / cores available now": serial["seconds"] / loop_s / cores_avail,
    }
    doc["targets"] = targets

    print(f"\n{a.runs} runs of the Fig-2 network (scale {FIG2['scale']}, t = {FIG2['t_final']:g}), "
          f"{workers} workers on {cores} cores")
    hdr = f"{'phase':22s} {'wall s':>9s} {'runs/s':>8s} {'work s':>9s} {'tasks':>6s} {'batch':>6s} " \
          f"{'client peak MB':>15s} {'load':>5s}"
    print(hdr)
    print("-" * len(hdr))
    print(f"{'serial loop':22s} {serial['seconds']:9.1f} {serial['runs'] / serial['seconds']:8.2f} "
          f"{serial['seconds']:9.1f} {'':>6s} {'':>6s} {serial['peak_rss_mb']:15.0f} {serial['load_before']:5.2f}")
    print(f"{'dlnsys sweep':22s} {sw['wall']:9.1f} {sw['n_computed'] / sw['wall']:8.2f} {sw['compute_seconds']:9.1f} "
          f"{sw['n_tasks']:6d} {sw['batch']:6d} {sw['loop_peak_rss_mb']:7.0f} / {sw['peak_rss_mb']:5.0f} "
          f"{sw['load_before']:5.2f}")
    print(f"{'  of which start-up':22s} {sw['startup_seconds']:9.1f}")
    print(f"CPU per run: serial loop {1e3 * serial['cpu_seconds'] / serial['runs']:.1f} ms, workers "
          f"{1e3 * sw['cpu_seconds'] / sw['n_computed']:.1f} ms; burn test {cap0['alone_s']:.2f} s alone, "
          f"{max(cap0['concurrent_s']):.2f} s as {workers} concurrent processes (before), "
          f"{cap1['alone_s']:.2f} / {max(cap1['concurrent_s']):.2f} s (after)")
    if mem:
        print(f"\nclient memory vs number of runs (network {TINY['dims']}, t = {TINY['t_final']:g}); "
              "MB: peak in the sweep loop / peak with the final table")
        print(f"{'runs':>8s} {'wall s':>8s} {'tasks':>6s} {'batch':>6s} {'loop MB':>8s} {'total MB':>9s} {'load':>5s}")
        for m in mem:
            print(f"{m['n_runs']:8d} {m['wall']:8.1f} {m['n_tasks']:6d} {m['batch']:6d} {m['loop_peak_rss_mb']:8.0f} "
                  f"{m['peak_rss_mb']:9.0f} {m['load_before']:5.2f}")
        first, last = mem[0], mem[-1]
        targets[f"client loop peak memory, {last['n_runs']} runs / {first['n_runs']} runs"] = \
            last["loop_peak_rss_mb"] / first["loop_peak_rss_mb"]
        targets[f"client total peak memory, {last['n_runs']} runs / {first['n_runs']} runs"] = \
            last["peak_rss_mb"] / first["peak_rss_mb"]
    print("\ntargets (goals: speed-up >= 1.8 on 2 cores, overhead <= 0.03, memory ratio ~ 1):")
    for k, v in targets.items():
        print(f"  {k:72s} {v:.3g}")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(doc, indent=2))
    print(f"\nwritten: {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
