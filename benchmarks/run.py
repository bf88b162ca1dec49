"""dlnsys against scipy, PyDSTool and XPPAUT on the issue's three problems, side by side.

    python benchmarks/run.py [--problems p1-small,p1-large,p2,p3-deep,p3-wide] [--methods M,...]
                             [--repeats N] [--quick] [--skip-slow] [--timeout S] [--json PATH]

Prints one row per problem and method -- median wall time over the repeats, right-hand-side
evaluations, error against a tight reference, build time, peak memory -- then the issue's
targets with the measured ratios, and writes everything as JSON (default
``benchmarks/results/latest.json``, git-ignored).

Problems (``benchmarks/problems.py``; rtol 1e-8, atol 1e-10 everywhere):
  p1-small  Section 6.1 network (11,6,6,6,6,4), sigma (7,5.5,4,2.5), Gaussian init scale 5e-2, t = 400
  p1-large  the same from scale 1, t = 20
  p2        1,000 initial conditions of (62) on a 40 x 25 grid, t = 20 (201 saved times)
  p3-deep   11 layers of width 64, t = 10;   p3-wide  5 layers of width 256, t = 10 (11 saved times)
Methods (``benchmarks/methods.py``): dlnsys (``simulate`` with default options), dlnsys-cbdf (the
compiled integrator explicitly), dlnsys-lsoda (``method="LSODA"``), dlnsys-adjacency (adjacency-form
RHS (12)), scipy-plain (``solve_ivp`` LSODA, numpy RHS written the obvious way, no Jacobian),
pydstool-vode, pydstool-dopri (the emitted script, Python 3.9; build time apart), xppaut-cvode
(the emitted ``.ode``, whole process), xppaut-cvode-tight (the same at tol / 100: matched accuracy,
p1 only), rhs (time per right-hand side against the bare matrix products; p1-small and p3). Plus,
for p1-small, "dlnsys process": ``python -c`` importing dlnsys and running the default ``simulate``
once, the whole process, the first time with an empty compiled-kernel cache (so its build column
is the honest first-run compile time).

Error = ``max|x - x_ref| / max|x_ref|`` of the final state (p2: worst member) against
``solve_ivp(method="DOP853", rtol=1e-12, atol=1e-14)``, cached in ``benchmarks/results/refs/``
(the first run computes the references: about a minute, plus a few minutes for p3-wide).
XPPAUT prints 8 significant digits, which limits its error column to ~1e-8.

How it runs: every (problem, method) pair runs in its own child process (``--child``), so a
per-method ``--timeout`` (default 600 s) can stop it -- reported as ``timeout`` -- and its peak
memory is the child's ``ru_maxrss`` (for PyDSTool and XPPAUT, the tool's process). Missing
tools are reported as ``unavailable`` with the reason, never a crash. ``--skip-slow`` leaves out
pairs known to take minutes (PyDSTool Vode on p1, the adjacency form on p3). ``--quick``: 2
repeats, p3 to t = 1, implies ``--skip-slow``. BLAS: problems up to 2,000 weights run their child
with ``OPENBLAS_NUM_THREADS=1`` (multi-threaded OpenBLAS on small matrices is 5-25x slower on a
busy 2-core machine; dlnsys's ``simulate`` limits itself the same way); p3 keeps the default.
Times are wall-clock medians of in-process calls (dlnsys, scipy, PyDSTool's ``compute()``) or of
whole processes (XPPAUT, "dlnsys process"): compare like with like, see the table's notes.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from benchmarks import methods as M  # noqa: E402
from benchmarks import problems as P  # noqa: E402

DEFAULT_JSON = HERE / "results" / "latest.json"
PROCESS_METHOD = "dlnsys-process"


# ------------------------------------------------------------------ child side
def _vmhwm_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_main(cfg_path):
    cfg = json.loads(Path(cfg_path).read_text())
    prob = P.make_problem(cfg["problem"], quick=cfg["quick"])
    ctx = dict(repeats=cfg["repeats"], budget=cfg["budget"], quick=cfg["quick"],
               dop853_steps=cfg.get("dop853_steps"), tracemalloc=cfg.get("tracemalloc", False),
               known_nfev=cfg.get("known_nfev"))
    try:
        res = M.RUNNERS[cfg["method"]](prob, ctx)
    except Exception as exc:  # a crash of one method is a row, not the end of the benchmark
        import traceback
        res = M._result(status="failed", reason=f"{type(exc).__name__}: {exc}",
                        extra={"traceback": traceback.format_exc()[-2000:]})
    final = res.pop("final", None)
    if final is not None:
        np.save(cfg["final_path"], np.asarray(final, dtype=float))
        res["final_path"] = cfg["final_path"]
    # VmHWM is this process's own high-water mark; ru_maxrss would include the parent's RSS,
    # which Linux carries across fork and exec.
    self_mb = _vmhwm_mb()
    tool_mb = res.get("extra", {}).get("tool_peak_rss_mb")
    res["peak_rss_self_mb"] = self_mb
    res["peak_rss_mb"] = tool_mb if tool_mb is not None else self_mb
    Path(cfg["out"]).write_text(json.dumps(res, default=float))
    return 0


# ------------------------------------------------------------------ parent side
def _child_env(prob):
    env = dict(os.environ)
    if prob.n_params <= 2000:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_child(prob, method, args, ref, workdir, known_nfev=None):
    cfg = dict(problem=prob.key, method=method, quick=args.quick, repeats=args.repeats, budget=float(args.timeout),
               known_nfev=known_nfev,
               dop853_steps=ref.get("dop853_steps"), tracemalloc=prob.key.startswith("p3") and method == "dlnsys",
               out=str(workdir / f"{prob.key}-{method}.json"), final_path=str(workdir / f"{prob.key}-{method}.npy"))
    cfg_path = workdir / f"{prob.key}-{method}.cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(cfg_path)],
                              cwd=workdir, env=_child_env(prob), capture_output=True, text=True,
                              timeout=args.timeout + 120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return M._result(status="timeout", reason=f"stopped after {args.timeout:.0f} s (--timeout)")
    wall = time.perf_counter() - t0
    out = Path(cfg["out"])
    if not out.is_file():
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-6:])
        return M._result(status="failed", reason=f"child exit {proc.returncode}: {tail}")
    res = json.loads(out.read_text())
    res["child_wall_s"] = wall
    if res.get("final_path"):
        res["final"] = np.load(res.pop("final_path"))
    return res


_PROCESS_CODE = r"""
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {repo!r})
from benchmarks import problems as P
from dlnsys import simulate
prob = P.make_problem({key!r})
tr = simulate(prob.network(), prob.x0, prob.t_final, rtol=prob.rtol, atol=prob.atol)
from dlnsys import compiled
info = compiled.build_info() if compiled._lib is not None else {{}}
print("RESULT", tr.method, info.get("compile_s", 0.0), info.get("cached", True), time.perf_counter() - t0)
"""


def run_process_rows(prob, args):
    """``python -c`` running dlnsys's default simulate once: whole process; first one on a cold cache."""
    cache = Path(tempfile.mkdtemp(prefix="dlnsys-bench-cache-"))
    env = _child_env(prob)
    env["DLNSYS_CACHE_DIR"] = str(cache)
    code = _PROCESS_CODE.format(repo=str(REPO), key=prob.key)
    walls, compile_s, method, first = [], None, None, None
    try:
        for i in range(args.repeats + 1):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                  timeout=args.timeout, stdin=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
            if proc.returncode != 0 or not line:
                return M._result(status="failed", reason=(proc.stderr or proc.stdout).strip()[-300:])
            _, method, c_s, cached, _inner = line[-1].split()
            if i == 0:
                first = wall
                compile_s = float(c_s) if cached == "False" else None
            else:
                walls.append(wall)
    except subprocess.TimeoutExpired:
        return M._result(status="timeout", reason=f"stopped after {args.timeout:.0f} s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    note = f"python start + imports + simulate ({method}); first process (empty cache, compiles) {first:.2f} s"
    return M._result(times=walls, build_s=compile_s, notes=note, extra={"first_process_s": first,
                                                                      "method_used": method})


def fmt_time(v):
    if v is None or not np.isfinite(v):
        return "-"
    if v >= 100:
        return f"{v:.0f} s"
    if v >= 1:
        return f"{v:.2f} s"
    return f"{v * 1e3:.1f} ms" if v >= 1e-3 else f"{v * 1e6:.0f} us"


def fmt_err(v):
    return "-" if v is None or not np.isfinite(v) else f"{v:.1e}"


def build_rows(args, log):
    rows, rhs_tables = [], {}
    workdir = Path(tempfile.mkdtemp(prefix="dlnsys-bench-"))
    try:
        for key in args.problems:
            prob = P.make_problem(key, quick=args.quick)
            log(f"{key}: {prob.title} ({prob.notes})")
            ref = P.reference(prob, log=log)
            for method in args.methods:
                if method == PROCESS_METHOD:
                    if key != "p1-small":
                        continue
                elif not M.applicable(key, method):
                    continue
                row = dict(problem=key, method=method, title=prob.title, n_params=prob.n_params,
                           t_final=prob.t_final, batch=int(prob.x0.shape[0]) if prob.is_ensemble else None)
                if (key, method) in M.SLOW and args.skip_slow:
                    res = M._result(status="skipped", reason="--skip-slow (known to take minutes or more)")
                elif method == PROCESS_METHOD:
                    res = run_process_rows(prob, args)
                else:
                    known = next((r.get("nfev") for r in rows if r["problem"] == key and r["method"] == "dlnsys"
                                  and r.get("status") == "ok"), None)
                    res = run_child(prob, method, args, ref, workdir, known)
                final = res.pop("final", None)
                times = res.get("times") or []
                row.update(res)
                row["median_s"] = float(np.median(times)) if times else None
                row["runs"] = len(times)
                row["error"] = (P.relative_error(prob, final, ref["final"])
                                if final is not None and res.get("status") == "ok" else None)
                if method == "rhs" and res.get("status") == "ok":
                    rhs_tables[key] = res["extra"]
                    row["median_s"] = None
                rows.append(row)
                log(f"  {method:18s} {res['status']:11s} {fmt_time(row['median_s']):>9s}  err {fmt_err(row['error'])}"
                    f"  {res.get('reason') or res.get('notes') or ''}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows, rhs_tables


def print_table(rows, rhs_tables, out=sys.stdout):
    hdr = (f"{'problem':9s} {'method':17s} {'median':>9s} {'runs':>4s} {'RHS evals':>10s} {'error':>8s} "
           f"{'build':>8s} {'peak MB':>8s}  notes")
    print(hdr, file=out)
    print("-" * len(hdr), file=out)
    for r in rows:
        if r["method"] == "rhs":
            continue
        status = r.get("status")
        if status != "ok":
            note = f"{status}: {r.get('reason', '')}"
            print(f"{r['problem']:9s} {r['method']:17s} {status:>9s} {'':>4s} {'':>10s} {'':>8s} {'':>8s} {'':>8s}  "
                  f"{note}", file=out)
            continue
        nfev = "-" if r.get("nfev") is None else str(r["nfev"])
        peak = r.get("peak_rss_mb")
        print(f"{r['problem']:9s} {r['method']:17s} {fmt_time(r['median_s']):>9s} {r['runs']:>4d} {nfev:>10s} "
              f"{fmt_err(r['error']):>8s} {fmt_time(r.get('build_s')):>8s} "
              f"{'-' if peak is None else f'{peak:.0f}':>8s}  {r.get('notes', '')}", file=out)
    for key, ex in rhs_tables.items():
        print(f"\nright-hand side, {key}: floor (bare matrix products, preallocated) {ex['floor_us']:.1f} us", file=out)
        for name, v in ex["rhs"].items():
            print(f"  {name:28s} {v['us']:10.1f} us   throughput {v['throughput_vs_floor']:.2f} x floor", file=out)


def targets(rows, rhs_tables):
    """The issue's targets with the measured ratios (None where a row is missing)."""
    def get(problem, method):
        for r in rows:
            if r["problem"] == problem and r["method"] == method and r.get("status") == "ok":
                return r
        return None

    out = {}
    d = get("p1-small", "dlnsys")
    dop = get("p1-small", "pydstool-dopri")
    xpp = get("p1-small", "xppaut-cvode")
    if d:
        t = d["median_s"]
        if dop:
            out["p1 dlnsys vs Dopri integration (>= 1)"] = dop["median_s"] / t
            out["p1 dlnsys vs Dopri build + integration (>= 5)"] = (dop["median_s"] + (dop.get("build_s") or 0)) / t
        if xpp:
            out["p1 dlnsys vs XPPAUT whole process (>= 5)"] = xpp["median_s"] / t
        tight = get("p1-small", "xppaut-cvode-tight")
        if tight:
            out["p1 dlnsys vs XPPAUT whole process, matched accuracy (tol / 100)"] = tight["median_s"] / t
    proc = get("p1-small", PROCESS_METHOD)
    if proc and xpp:
        out["p1 dlnsys whole process vs XPPAUT whole process (info)"] = xpp["median_s"] / proc["median_s"]
    e2, b2 = get("p2", "dlnsys"), get("p2", "scipy-plain")
    if e2 and b2:
        out["p2 ensemble: 1,000 solve_ivp calls / dlnsys (>= 50)"] = b2["median_s"] / e2["median_s"]
    for key in ("p3-deep", "p3-wide"):
        ex = rhs_tables.get(key)
        if ex:
            for name in ("fastflow.BlockFlow", "net.vector_field (public)"):
                if name in ex["rhs"]:
                    out[f"{key} RHS throughput / floor, {name} (>= 0.5)"] = ex["rhs"][name]["throughput_vs_floor"]
        r = get(key, "dlnsys")
        if r:
            out[f"{key} peak memory of dlnsys's run, MB (report)"] = r.get("peak_rss_mb")
            tm = r.get("extra", {}).get("tracemalloc_peak_mb")
            if tm is not None:
                out[f"{key} tracemalloc peak during simulate, MB (report)"] = tm
    errs = [(r["problem"], r["method"], r["error"]) for r in rows if r.get("error") is not None]
    if errs:
        worst = max(errs, key=lambda e: e[2])
        out["largest error vs reference (<= 1e-6)"] = worst[2]
        out["largest error is"] = f"{worst[0]} {worst[1]}"
        out["rows above 1e-6"] = [f"{p} {m} {e:.1e}" for p, m, e in errs if e > 1e-6]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default=",".join(P.PROBLEM_KEYS),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--methods", default=",".join(M.METHOD_KEYS + (PROCESS_METHOD,)),
                    help="comma-separated subset of %(default)s")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per method (default 5; --quick 2)")
    ap.add_argument("--quick", action="store_true", help="2 repeats, p3 to t = 1, implies --skip-slow")
    ap.add_argument("--skip-slow", action="store_true", help="leave out pairs known to take minutes")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per (problem, method) (default 600)")
    ap.add_argument("--json", default=str(DEFAULT_JSON), help="JSON output (default %(default)s)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child)
    probs = [p.strip() for p in args.problems.split(",") if p.strip()]
    meths = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [p for p in probs if p not in P.PROBLEM_KEYS]
    if bad:
        ap.error(f"--problems: unknown {', '.join(bad)}; choose from {', '.join(P.PROBLEM_KEYS)}")
    bad = [m for m in meths if m not in M.METHOD_KEYS + (PROCESS_METHOD,)]
    if bad:
        ap.error(f"--methods: unknown {', '.join(bad)}; choose from {', '.join(M.METHOD_KEYS + (PROCESS_METHOD,))}")
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.repeats < 1:
        ap.error("--repeats: must be at least 1")
    if args.quick:
        args.skip_slow = True
    args.problems, args.methods = probs, meths

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    started = time.time()
    log(f"dlnsys benchmarks: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}; repeats {args.repeats}, timeout {args.timeout:.0f} s"
        f"{', quick' if args.quick else ''}{', skip-slow' if args.skip_slow else ''}")
    rows, rhs_tables = build_rows(args, log)
    print()
    print_table(rows, rhs_tables)
    tg = targets(rows, rhs_tables)
    print("\ntargets (measured ratios):")
    for k, v in tg.items():
        if isinstance(v, float):
            print(f"  {k:62s} {v:.3g}")
        else:
            print(f"  {k:62s} {v}")
    doc = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "python": sys.version.split()[0], "load_start": os.getloadavg()},
        "options": {"problems": probs, "methods": meths, "repeats": args.repeats, "quick": args.quick,
                    "skip_slow": args.skip_slow, "timeout": args.timeout},
        "rows": rows, "rhs": rhs_tables, "targets": tg, "elapsed_s": time.time() - started,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    log(f"wrote {path} ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
