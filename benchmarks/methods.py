"""The methods compared by ``benchmarks/run.py``; each runs inside its own child process.

Every runner takes ``(prob, ctx)`` and returns a dict: ``status`` ('ok', 'unavailable',
'skipped', 'failed'), ``reason``, ``times`` (seconds, one per repeat), ``nfev``, ``njev``,
``build_s``, ``final`` (final state(s), an array), ``notes`` and ``extra``. What is timed:

``dlnsys``            ``dlnsys.simulate(net, x0, T, rtol, atol[, t_eval])`` with default options, the
                      whole call (integration and the Trajectory's loss and drift post-processing).
``dlnsys-cbdf``       the compiled BDF integrator explicitly: ``simulate(..., method="CBDF")``, or, with
                      a ``simulate`` that predates ``benchmarks/simulate.patch``, exactly what the patched
                      one does (``dlnsys.compiled.solve`` + the same Trajectory post-processing).
                      Left out when ``dlnsys`` already resolves to CBDF.
``dlnsys-lsoda``      the same with ``method="LSODA"`` (scipy LSODA, numpy block RHS, analytic
                      Jacobian: dlnsys's default before the compiled integrator).
``dlnsys-adjacency``  ``solve_ivp`` with the same method and Jacobian as ``dlnsys-lsoda`` (LSODA and
                      ``net.jacobian``; DOP853 where no dense Jacobian fits) but the adjacency-form
                      right-hand side (12) (``dlnsys.flow.vector_field_adjacency``, powers of A).
``scipy-plain``       ``solve_ivp(method="LSODA")`` with a numpy right-hand side written the obvious
                      way (:func:`plain_rhs`: for each layer, the products of the layers after and
                      before it) and no Jacobian (LSODA differences one), as a user would write it.
                      For p2 it is 1,000 separate calls: the baseline of the 50x target.
``pydstool-vode``     PyDSTool's Vode_ODEsystem and Dopri_ODEsystem (compiled DOP853) on the script
``pydstool-dopri``    emitted by ``dlnsys.emit.pydstool.generate_pydstool`` for ``network_spec``; run
                      with the Python 3.9 environment in a fresh temporary directory; ``build_s`` is
                      the Generator construction (for Dopri: the C build), ``times`` the
                      ``compute()`` calls (p2: all 1,000 initial conditions, ``gen.set(ics=...)``).
                      ``max_pts`` is sized to the run (Dopri: 1.5 x the DOP853 steps of the reference
                      pass + the sample times; Vode: those DOP853 steps, because PyDSTool also passes
                      ``max_pts`` to scipy's vode as ``nsteps``, its limit of internal steps per output
                      interval). The spec is emitted as is: no Jacobian above 64 weights, and Vode's
                      default ``stiff=False`` (Adams).
``xppaut-cvode``      ``xppaut model.ode -silent`` on the ``.ode`` emitted by ``generate_xppaut`` with
                      ``meth=cvode``, the whole process (p2: 1,000 processes with ``-icfile``).
                      XPPAUT writes 8 significant digits, so its error column is limited to ~1e-8.
``xppaut-cvode-tight`` the same with ``tol`` and ``atol`` 100 times smaller (p1 only): the matched-
                      accuracy comparison, since at the shared rtol 1e-8 cvode's own global error
                      on p1-small (7e-6) is above the 1e-6 every row should meet.
``rhs``               (p1, p3) microseconds per right-hand-side evaluation: ``net.vector_field``,
                      ``dlnsys.flow.vector_field``, ``BlockFlow``, the compiled one (small nets),
                      and the floor: the block form's matrix products alone (``np.matmul`` into
                      preallocated arrays: no allocation, validation or output vector).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
METHOD_KEYS = ("dlnsys", "dlnsys-cbdf", "dlnsys-lsoda", "dlnsys-adjacency", "scipy-plain", "pydstool-vode", "pydstool-dopri",
               "xppaut-cvode", "xppaut-cvode-tight", "rhs")
#: (problem, method) pairs that --skip-slow leaves out (measured: minutes or hours).
SLOW = {("p1-small", "pydstool-vode"), ("p1-large", "pydstool-vode"), ("p3-deep", "dlnsys-adjacency"),
        ("p3-wide", "dlnsys-adjacency")}
#: Largest network for which a dense n x n Jacobian (LSODA) is attempted: 3000^2 doubles = 72 MB.
DENSE_MAX = 3000
#: Largest network emitted for PyDSTool / XPPAUT (spec text grows with the block products).
EMIT_MAX = 2000


def measured(cmd, **kw):
    """``subprocess.run`` through ``/usr/bin/time -f %M`` when present: (proc, peak RSS in MB or None).

    The tool's own peak (``/usr/bin/time`` is a small process, so the RSS Linux carries over
    from a parent into ``ru_maxrss`` is negligible)."""
    timer = "/usr/bin/time"
    if not os.access(timer, os.X_OK):
        return subprocess.run(cmd, **kw), None
    proc = subprocess.run([timer, "-f", "DLNSYS-MAXRSS-KB %M"] + list(cmd), **kw)
    peak = None
    lines = (proc.stderr or "").splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("DLNSYS-MAXRSS-KB"):
            peak = int(lines[i].split()[1]) / 1024.0
            del lines[i]
            break
    proc.stderr = "\n".join(lines)
    return proc, peak


def _net(prob):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prob.network()


def _result(**kw):
    out = dict(status="ok", reason="", times=[], nfev=None, njev=None, build_s=None, final=None, notes="",
               extra={})
    out.update(kw)
    return out


def _repeat(fn, ctx, first=None):
    """Call ``fn()`` ctx['repeats'] times (fewer if the runs use up half the time budget)."""
    times, out = [], first
    start = time.perf_counter()
    for i in range(ctx["repeats"]):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > 0.5 * ctx["budget"] or times[-1] > 60:
            break
    return times, out


# ------------------------------------------------------------------ dlnsys
def _simulate_module():
    import dlnsys.simulate  # noqa: F401  (the package re-exports the function under the same name)
    return sys.modules["dlnsys.simulate"]


def run_dlnsys(prob, ctx, method="auto"):
    sim = _simulate_module()
    net = _net(prob)
    resolved = method
    if method == "auto":
        resolver = getattr(sim, "auto_method", None)
        if resolver is None:
            resolved = sim.AUTO_METHOD
            if prob.n_params > DENSE_MAX and resolved in ("LSODA", "BDF", "Radau"):
                return _result(status="skipped", reason=(
                    f"this simulate() resolves 'auto' to {resolved} with a dense {prob.n_params}^2 Jacobian "
                    f"({prob.n_params ** 2 * 8 / 1e9:.0f} GB); apply benchmarks/simulate.patch"))
    elif method in ("LSODA", "BDF", "Radau") and prob.n_params > DENSE_MAX:
        return _result(status="skipped", reason=f"dense {prob.n_params}^2 Jacobian "
                                                f"({prob.n_params ** 2 * 8 / 1e9:.0f} GB)")
    from dlnsys import compiled
    info_before = compiled.build_info() if compiled._lib is not None else {}
    kw = dict(rtol=prob.rtol, atol=prob.atol)
    if prob.t_eval is not None:
        kw["t_eval"] = prob.t_eval
    if method != "auto":
        kw["method"] = method
    first_t0 = time.perf_counter()
    tr = sim.simulate(net, prob.x0, prob.t_final, **kw)
    first_s = time.perf_counter() - first_t0
    times, tr = _repeat(lambda: sim.simulate(net, prob.x0, prob.t_final, **kw), ctx, tr)
    info = compiled.build_info()
    extra = {"method_used": tr.method, "integration_s": float(tr.wall_time), "first_call_s": first_s,
             "n_saved": int(tr.n_t), "conserved_drift": float(tr.conserved_drift)}
    build = None
    if tr.method == "CBDF" and info and not info_before:
        extra["compiled_library"] = info
        build = info.get("compile_s") or None
    if ctx.get("tracemalloc"):
        import tracemalloc
        tracemalloc.start()
        sim.simulate(net, prob.x0, prob.t_final, **kw)
        extra["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return _result(times=times, nfev=int(tr.nfev), njev=int(tr.njev), final=np.asarray(tr.final), build_s=build,
                   notes=f"method {tr.method}", status="ok" if tr.status >= 0 else "failed",
                   reason="" if tr.status >= 0 else tr.message, extra=extra)


def run_cbdf(prob, ctx):
    if prob.n_params > DENSE_MAX:
        return _result(status="skipped", reason=f"CBDF factorizes dense {prob.n_params}^2 matrices "
                                                f"({prob.n_params ** 2 * 8 / 1e9:.0f} GB)")
    sim = _simulate_module()
    if getattr(sim, "auto_method", None) is not None:
        net = _net(prob)
        if sim.auto_method(net) == "CBDF":
            return _result(status="skipped", reason="same as dlnsys (method='auto' resolves to CBDF)")
        return run_dlnsys(prob, ctx, "CBDF")
    from dlnsys import compiled
    if not compiled.available():
        return _result(status="unavailable", reason=compiled.unavailable_reason())
    net = _net(prob)
    cold = compiled._lib is None

    def call():
        sol = compiled.solve(net, prob.x0, prob.t_final, rtol=prob.rtol, atol=prob.atol, t_eval=prob.t_eval,
                             ensemble="joint" if prob.is_ensemble and prob.n_params <= 16 else "separate")
        return sim._result(net, sol.t, sol.x, sol.nfev, sol.njev, sol.status, sol.message, sol.wall_time, "CBDF",
                           prob.rtol, prob.atol, None), sol

    t0 = time.perf_counter()
    tr, sol = call()
    first_s = time.perf_counter() - t0
    times, (tr, sol) = _repeat(call, ctx, (tr, sol))
    info = compiled.build_info()
    extra = {"method_used": "CBDF", "integration_s": float(tr.wall_time), "first_call_s": first_s,
             "n_saved": int(tr.n_t), "conserved_drift": float(tr.conserved_drift), "nlu": sol.nlu,
             "steps": sol.nsteps, "rejected": sol.nrejected, "compiled_library": info}
    return _result(times=times, nfev=int(tr.nfev), njev=int(tr.njev), final=np.asarray(tr.final),
                   build_s=(info.get("compile_s") or None) if cold else None,
                   notes="dlnsys.compiled.solve + simulate's post-processing (pre-patch simulate)",
                   status="ok" if tr.status >= 0 else "failed", reason="" if tr.status >= 0 else tr.message,
                   extra=extra)


def _solve_each(prob, fun_factory, method, jac_factory=None):
    """solve_ivp on every member (one call for a single state); final states and counts."""
    from scipy.integrate import solve_ivp
    X0 = prob.x0 if prob.is_ensemble else prob.x0[None]
    fun = fun_factory()
    jac = jac_factory() if jac_factory else None
    finals, nfev, njev, status = [], 0, 0, 0
    for x0 in X0:
        kw = {"jac": jac} if jac is not None else {}
        sol = solve_ivp(fun, (0.0, prob.t_final), x0, method=method, rtol=prob.rtol, atol=prob.atol,
                        t_eval=prob.t_eval, **kw)
        finals.append(sol.y[:, -1])
        nfev += int(sol.nfev)
        njev += int(sol.njev)
        status = min(status, int(sol.status))
    final = np.array(finals) if prob.is_ensemble else finals[0]
    return final, nfev, njev, status


def run_adjacency(prob, ctx):
    from threadpoolctl import threadpool_limits

    from dlnsys import flow
    net = _net(prob)
    h, o, offs, nv = net.h, net.node_offsets, net.param_offsets, net.n_nodes

    def fun_factory():
        def fun(t, y):
            A = np.zeros((nv, nv))
            for i, (r, c) in enumerate(net.shapes):
                A[o[i + 1]:o[i + 2], o[i]:o[i + 1]] = y[offs[i]:offs[i + 1]].reshape(r, c)
            dA = flow.vector_field_adjacency(net, A)
            return np.concatenate([dA[o[i + 1]:o[i + 2], o[i]:o[i + 1]].ravel() for i in range(h)])
        return fun

    if prob.n_params > DENSE_MAX:
        method, jac_factory = "DOP853", None
        # Hours at this size: estimate from one evaluation and the evaluations dlnsys's DOP853 run needed.
        fun = fun_factory()
        t0 = time.perf_counter()
        fun(0.0, prob.x0)
        one = time.perf_counter() - t0
        need = ctx.get("known_nfev")
        if need and one * need > ctx["budget"]:
            return _result(status="timeout", reason=(
                f"estimated {one * need / 3600:.1f} h: one adjacency-form evaluation takes {one:.2f} s and the "
                f"same DOP853 run needs {need} evaluations (dlnsys row) > --timeout {ctx['budget']:.0f} s"))
    else:
        method, jac_factory = "LSODA", (lambda: (lambda t, y: flow.jacobian(net, y)))
    limit = threadpool_limits(1, user_api="blas") if prob.n_params <= 2000 else contextlib.nullcontext()
    with limit:
        times, (final, nfev, njev, status) = _repeat(lambda: _solve_each(prob, fun_factory, method, jac_factory),
                                                     ctx)
    return _result(times=times, nfev=nfev, njev=njev, final=final, notes=f"solve_ivp {method}"
                   + (" + analytic Jacobian" if jac_factory else "") + (", BLAS 1 thread as simulate"
                                                                        if prob.n_params <= 2000 else ""),
                   status="ok" if status >= 0 else "failed")


def plain_rhs(dims, sigma):
    """The gradient flow written the obvious way: dW_j = (W_h..W_{j+1})^T (Sigma - W_h..W_1) (W_{j-1}..W_1)^T."""
    shapes = [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]
    Sigma = np.zeros((dims[-1], dims[0]))
    for i, s in enumerate(sigma):
        Sigma[i, i] = s

    def rhs(t, x):
        Ws, i = [], 0
        for r, c in shapes:
            Ws.append(x[i:i + r * c].reshape(r, c))
            i += r * c
        prod = Ws[0]
        for W in Ws[1:]:
            prod = W @ prod
        E = Sigma - prod
        grads = []
        for j in range(len(Ws)):
            after = np.eye(dims[-1])
            for W in reversed(Ws[j + 1:]):
                after = after @ W
            before = np.eye(dims[0])
            for W in Ws[:j]:
                before = W @ before
            grads.append((after.T @ E @ before.T).ravel())
        return np.concatenate(grads)
    return rhs


def run_plain(prob, ctx):
    if prob.n_params > DENSE_MAX:
        return _result(status="skipped", reason=(
            f"LSODA without a Jacobian forms a dense {prob.n_params}^2 difference Jacobian "
            f"({prob.n_params ** 2 * 8 / 1e9:.0f} GB, {prob.n_params} evaluations each)"))
    times, (final, nfev, njev, status) = _repeat(
        lambda: _solve_each(prob, lambda: plain_rhs(prob.dims, prob.sigma), "LSODA"), ctx)
    n = prob.x0.shape[0] if prob.is_ensemble else 1
    return _result(times=times, nfev=nfev, njev=njev, final=final, status="ok" if status >= 0 else "failed",
                   notes=f"{n} solve_ivp call{'s' if n > 1 else ''}, LSODA, no Jacobian")


# ------------------------------------------------------------------ PyDSTool
_DRIVER = r'''
import contextlib, io, json, sys, time, warnings
sys.path.insert(0, '.')
cfg = json.load(open(sys.argv[1]))
with contextlib.redirect_stdout(io.StringIO()):
    import importlib
    m = importlib.import_module(cfg['module'])
import numpy as np
out = {'times': [], 'nfev': None}
try:
    ics = cfg['ics']
    args = m.make_args(ics=ics[0], t_final=cfg['t_final'], dt=cfg['dt'], rtol=cfg['rtol'], atol=cfg['atol'],
                       integrator=cfg['integrator'], max_pts=cfg['max_pts'])
    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        gen = m.make_generator(args, cfg['integrator'])
    out['build_s'] = time.time() - t0
    finals = []
    k = 0
    for rep in range(cfg['repeats']):
        finals = []
        t0 = time.time()
        nfev = 0
        for x0 in ics:
            if len(ics) > 1 or rep > 0:
                gen.set(ics=dict(zip(m.VARIABLES, x0)))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                traj = gen.compute('r%d' % k)
            k += 1
            if traj is None:       # PyDSTool returns None when the integrator gives up
                why = [str(w.message) for w in caught] or [str(getattr(gen.diagnostics, 'warnings', ''))]
                raise RuntimeError('no trajectory (%s)' % why[-1].strip()[:300])
            pts = traj.sample()
            t_last = float(pts['t'][-1])
            finals.append([float(pts[v][-1]) for v in m.VARIABLES])
            stats = getattr(gen.diagnostics, 'outputStats', {}) or {}
            if 'num_fcns' in stats and cfg['integrator'] != 'vode':   # Vode's counts output steps
                nfev += int(stats['num_fcns'])
            if abs(t_last - cfg['t_final']) > 1e-9 * max(1.0, cfg['t_final']):
                raise RuntimeError('stopped at t = %r (max_pts %d)' % (t_last, cfg['max_pts']))
        out['times'].append(time.time() - t0)
        out['nfev'] = nfev or None
        if time.time() - cfg['start'] > cfg['budget'] * 0.5:
            break
    out['final'] = finals
    out['status'] = 'ok'
except Exception as exc:
    out['status'] = 'failed'
    out['reason'] = '%s: %s' % (type(exc).__name__, exc)
json.dump(out, open(cfg['out'], 'w'))
'''


def _pydstool_python():
    try:
        from dlnsys.emit._runner import find_pydstool_python
        return find_pydstool_python()
    except Exception as exc:          # the emitter is being edited elsewhere: check by hand
        p = os.environ.get("DLNSYS_PYDSTOOL_PYTHON") or str(REPO / ".venv39" / "bin" / "python")
        if os.access(p, os.X_OK):
            return p, ""
        return None, f"no Python 3.9 with PyDSTool ({exc})"


def run_pydstool(prob, ctx, integrator):
    if prob.n_params > EMIT_MAX:
        return _result(status="unavailable", reason=(
            f"{prob.n_params} weights: the emitted PyDSTool spec would have millions of terms (build time grows "
            "quadratically with the spec text)"))
    python, reason = _pydstool_python()
    if python is None:
        return _result(status="unavailable", reason=reason)
    try:
        from dlnsys.emit.generators import network_spec
        from dlnsys.emit.pydstool import generate_pydstool
    except Exception as exc:
        return _result(status="unavailable", reason=f"cannot import the PyDSTool writer: {exc}")
    net = _net(prob)
    X0 = prob.x0 if prob.is_ensemble else prob.x0[None]
    name = "bench_" + prob.key.replace("-", "_")
    spec = network_spec(net, X0[0], name=name, conserved=False)
    dt = prob.t_final / 100.0
    n_out = int(round(prob.t_final / dt)) + 1
    steps = ctx.get("dop853_steps") or 10000
    if integrator == "dopri":
        max_pts = int(1.5 * steps) + n_out + 100
    else:
        # PyDSTool passes max_pts to scipy's vode as nsteps, the most internal steps per output
        # interval, as well as the number of stored points: the DOP853 step count bounds both.
        max_pts = max(n_out + 10, steps)
    wd = Path(tempfile.mkdtemp(prefix="dlnsys-bench-pydstool-"))
    try:
        t_gen = time.perf_counter()
        (wd / f"{name}.py").write_text(generate_pydstool(spec, integrator=integrator, t_final=prob.t_final, dt=dt,
                                                         rtol=prob.rtol, atol=prob.atol, max_pts=max_pts))
        gen_s = time.perf_counter() - t_gen
        (wd / "driver.py").write_text(_DRIVER)
        cfg = dict(module=name, ics=X0.tolist(), t_final=prob.t_final, dt=dt, rtol=prob.rtol, atol=prob.atol,
                   integrator=integrator, max_pts=max_pts, repeats=ctx["repeats"], out=str(wd / "out.json"),
                   budget=ctx["budget"], start=time.time())
        (wd / "cfg.json").write_text(json.dumps(cfg))
        t0 = time.perf_counter()
        try:
            proc, peak = measured([python, "driver.py", "cfg.json"], cwd=wd, capture_output=True, text=True,
                                  timeout=ctx["budget"], stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return _result(status="timeout", reason=f"PyDSTool {integrator} ran longer than {ctx['budget']:.0f} s")
        process_s = time.perf_counter() - t0
        if not (wd / "out.json").is_file():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            return _result(status="failed", reason=f"driver exit {proc.returncode}: {tail}")
        out = json.loads((wd / "out.json").read_text())
        if out.get("status") != "ok":
            return _result(status="failed", reason=out.get("reason", "?"), build_s=out.get("build_s"))
        final = np.array(out["final"]) if prob.is_ensemble else np.array(out["final"][0])
        return _result(times=out["times"], nfev=out.get("nfev"), build_s=out["build_s"], final=final,
                       notes=f"{'Dopri_ODEsystem (C)' if integrator == 'dopri' else 'Vode_ODEsystem'}, "
                             f"max_pts {max_pts}, no Jacobian in the spec" if spec.jacobian is None else
                             f"{'Dopri_ODEsystem (C)' if integrator == 'dopri' else 'Vode_ODEsystem'}, "
                             f"max_pts {max_pts}, analytic Jacobian in the spec",
                       extra={"process_s": process_s, "script_generation_s": gen_s, "max_pts": max_pts,
                              "tool_peak_rss_mb": peak})
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# ------------------------------------------------------------------ XPPAUT
#: How much tighter than the shared tolerances the matched-accuracy XPPAUT row runs: at rtol 1e-8
#: cvode's global error on p1-small is 7e-6, above the 1e-6 every row should meet.
XPPAUT_TIGHT = 100.0


def run_xppaut(prob, ctx, tighten=1.0):
    exe = shutil.which("xppaut")
    if exe is None:
        return _result(status="unavailable", reason="xppaut not found (Debian package xppaut)")
    if prob.n_params > 1948:
        return _result(status="unavailable", reason=f"{prob.n_params} ODEs > XPPAUT's limit of 1948")
    from dlnsys.emit.generators import network_spec
    from dlnsys.emit.xppaut import generate_xppaut
    net = _net(prob)
    X0 = prob.x0 if prob.is_ensemble else prob.x0[None]
    spec = network_spec(net, X0[0], name="bench", conserved=False, jacobian=False)
    dt = prob.t_final / 100.0
    rtol, atol = prob.rtol / tighten, prob.atol / tighten
    text = generate_xppaut(spec, t_end=prob.t_final, dt=dt, method="cvode", rtol=rtol, atol=atol,
                           aux=False, output="out.dat")
    wd = Path(tempfile.mkdtemp(prefix="dlnsys-bench-xpp-"))
    try:
        (wd / "bench.ode").write_text(text)
        ic_files = []
        if prob.is_ensemble:
            for b, x0 in enumerate(X0):
                p = wd / f"ic{b}.txt"
                p.write_text("\n".join(repr(float(v)) for v in x0) + "\n")
                ic_files.append(p.name)

        peaks = []

        def one(ic, measure=False):
            cmd = [exe, "bench.ode", "-silent"] + (["-icfile", ic] if ic else [])
            out = wd / "out.dat"
            if out.exists():
                out.unlink()
            if measure:
                proc, peak = measured(cmd, cwd=wd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                      timeout=ctx["budget"])
                peaks.append(peak)
            else:
                proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                      timeout=ctx["budget"])
            if not out.is_file():
                raise RuntimeError(f"no output (exit {proc.returncode}): {proc.stdout[-300:]} {proc.stderr[-300:]}")
            last = out.read_text().strip().splitlines()[-1].split()
            t_last = float(last[0])
            if abs(t_last - prob.t_final) > 1e-5 * prob.t_final:
                raise RuntimeError(f"stopped at t = {t_last} ({(proc.stdout + proc.stderr).strip()[-200:]})")
            return [float(v) for v in last[1:1 + prob.n_params]]

        def run_all():
            return [one(ic) for ic in (ic_files or [None])]

        try:
            one(ic_files[0] if ic_files else None, measure=True)      # untimed: the tool's peak memory
            times, finals = _repeat(run_all, ctx)
        except subprocess.TimeoutExpired:
            return _result(status="timeout", reason=f"xppaut ran longer than {ctx['budget']:.0f} s")
        except RuntimeError as exc:
            return _result(status="failed", reason=str(exc))
        final = np.array(finals) if prob.is_ensemble else np.array(finals[0])
        n = len(ic_files) or 1
        return _result(times=times, final=final, build_s=0.0, extra={"tool_peak_rss_mb": peaks[0] if peaks else None},
                       notes=(f"whole process{'es' if n > 1 else ''} ({n}), meth=cvode, tol {rtol:g}, atol {atol:g}, "
                              f"dt {dt:g}; 8 significant digits in the output"))
    finally:
        shutil.rmtree(wd, ignore_errors=True)


# ------------------------------------------------------------------ RHS throughput
def _per_call(fn, min_time=0.3):
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = int(max(1, min(100000, (min_time / 5) / one)))
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    return float(np.median(samples))


def floor_products(net, x):
    """The block form's matrix products and nothing else, into preallocated arrays.

    The arithmetic floor: no allocation (fresh d x d results of wide layers cost page faults
    comparable to the products themselves), no validation, no output vector."""
    Ws = [np.ascontiguousarray(W) for W in net.unpack(x)]
    h, Sigma, d, dy = len(Ws), np.ascontiguousarray(net.Sigma), net.dims, net.d_y
    S = [np.empty((dy, d[k + 1])) for k in range(h)]
    R = [np.empty((dy, d[k])) for k in range(h)]
    G = [np.empty((d[k + 1], d[k])) for k in range(h)]

    def run():
        if h > 1:
            S[h - 2][...] = Ws[h - 1]
            for k in range(h - 3, -1, -1):
                np.matmul(S[k + 1], Ws[k + 1], out=S[k])
            np.matmul(S[0], Ws[0], out=R[0])
        else:
            R[0][...] = Ws[0]
        np.subtract(Sigma, R[0], out=R[0])
        for k in range(h - 1):
            np.matmul(S[k].T, R[k], out=G[k])
            np.matmul(R[k], Ws[k].T, out=R[k + 1])
    return run


def run_rhs(prob, ctx):
    from dlnsys import compiled, flow
    from dlnsys.fastflow import BlockFlow
    net = _net(prob)
    x = prob.x0 if not prob.is_ensemble else prob.x0[0]
    min_time = 0.1 if ctx.get("quick") else 0.4
    rows = {}
    floor = [_per_call(floor_products(net, x), min_time)]
    rows["net.vector_field (public)"] = [_per_call(lambda: net.vector_field(x), min_time)]
    rows["flow.vector_field"] = [_per_call(lambda: flow.vector_field(net, x), min_time)]
    bf = BlockFlow(net)
    rows["fastflow.BlockFlow"] = [_per_call(lambda: bf.vector_field(x), min_time)]
    if compiled.available() and prob.n_params <= DENSE_MAX:
        cf = compiled.CompiledFlow(net)
        rows["compiled (ctypes call)"] = [_per_call(lambda: cf.vector_field(x), min_time)]
    # interleave a second round (the machine is shared)
    floor.append(_per_call(floor_products(net, x), min_time))
    rows["net.vector_field (public)"].append(_per_call(lambda: net.vector_field(x), min_time))
    rows["flow.vector_field"].append(_per_call(lambda: flow.vector_field(net, x), min_time))
    rows["fastflow.BlockFlow"].append(_per_call(lambda: bf.vector_field(x), min_time))
    if "compiled (ctypes call)" in rows:
        rows["compiled (ctypes call)"].append(_per_call(lambda: cf.vector_field(x), min_time))
    fl = min(floor)
    table = {k: {"us": min(v) * 1e6, "throughput_vs_floor": fl / min(v)} for k, v in rows.items()}
    products = sum(2 for _ in range(max(net.h - 2, 0))) + 1 + 2 * (net.h - 1)
    return _result(status="ok", times=[fl], notes="RHS throughput (see extra)",
                   extra={"floor_us": fl * 1e6, "rhs": table, "matmuls": products})


RUNNERS = {
    "dlnsys": lambda p, c: run_dlnsys(p, c, "auto"),
    "dlnsys-cbdf": run_cbdf,
    "dlnsys-lsoda": lambda p, c: run_dlnsys(p, c, "LSODA"),
    "dlnsys-adjacency": run_adjacency,
    "scipy-plain": run_plain,
    "pydstool-vode": lambda p, c: run_pydstool(p, c, "vode"),
    "pydstool-dopri": lambda p, c: run_pydstool(p, c, "dopri"),
    "xppaut-cvode": run_xppaut,
    "xppaut-cvode-tight": lambda p, c: run_xppaut(p, c, XPPAUT_TIGHT),
    "rhs": run_rhs,
}


def applicable(prob_key, method):
    """Whether a (problem, method) pair is part of the benchmark at all."""
    if method == "rhs":
        return prob_key in ("p1-small", "p3-deep", "p3-wide")
    if method == "xppaut-cvode-tight":
        return prob_key in ("p1-small", "p1-large")
    return True


def is_finite_number(v):
    return isinstance(v, (int, float)) and math.isfinite(v)
