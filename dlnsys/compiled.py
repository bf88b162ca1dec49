"""Compiled vector field, Jacobian and BDF integrator of the gradient flow (C via ctypes).

The flow's cost on small networks is not arithmetic but overhead: one evaluation of the
Section 6.1 vector field (198 weights, 6x6 matrices) is about 1 microsecond of C and 30-40
microseconds of numpy calls, and ``solve_ivp`` adds its own Python work per step. So this
module moves the whole integration into C: :func:`solve` runs a variable-order BDF method
(orders 1-5, quasi-constant step size, analytic Jacobian, Jacobian and LU reuse) in one call
per output chunk; :class:`CompiledFlow` also exposes the compiled right-hand side and
Jacobian to Python (e.g. for ``scipy.integrate.solve_ivp``). ``simulate(method="CBDF")``
(and ``method="auto"`` for networks of at most 1,000 weights) runs :func:`solve`.

Accuracy class: local errors are measured in the weighted max norm, as LSODA does, so the
tolerances mean what they mean for ``simulate``'s former default: on the Section 6.1 runs of
``benchmarks/run.py`` (rtol 1e-8, atol 1e-10) the final states are within 9e-8 (scale 5e-2,
t = 400) and 2e-9 (scale 1, t = 20) of a DOP853 rtol 1e-12 reference (LSODA: 3e-8, 5e-9) and
the conservation laws drift by 3e-8 (LSODA: 1e-8 to 4e-8); about 5x faster than LSODA there.
The implementation notes (what costs time, the choices made) are at the top of the C file.

Why C that dlnsys compiles itself, not numba: the kernels are ~1,000 lines of plain C99 in
``dlnsys/_native/dlnflow.c`` that need only a C compiler (gcc is already needed for the
PyDSTool and AUTO cross-checks), add no Python dependency, and compile once per machine in
about a second into a cache shared by every later process; numba would add a large
dependency and a JIT start-up in every new process (or a cache that behaves much the same).

Build and cache
---------------
The first call to anything here compiles the source with ``$DLNSYS_CC`` (else ``$CC``, else
``gcc``) and ``-O3 -march=native -fPIC -shared`` (retried without ``-march=native`` if the
compiler refuses it) into ``$DLNSYS_CACHE_DIR`` (else ``$XDG_CACHE_HOME/dlnsys``, else
``~/.cache/dlnsys``) under ``native/<hash>/``; the hash covers the source, the compiler's
version, the flags and the CPU model, so a changed source or machine rebuilds. The library
is written to a temporary name and renamed into place (safe with concurrent processes).
:func:`build_info` reports the path, whether it came from the cache and the compile time.
``DLNSYS_COMPILED=0`` disables the module (:func:`available` is then False).

Everything degrades gracefully: :func:`available` is False (with :func:`unavailable_reason`)
when there is no compiler or the build fails, and callers fall back to numpy and scipy.

Accuracy: the compiled right-hand side and Jacobian agree with :func:`dlnsys.flow.vector_field`
and :func:`dlnsys.flow.jacobian` to rounding (tests/test_compiled.py checks 1e-12 relative).
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["available", "unavailable_reason", "build_info", "CompiledFlow", "CompiledSolution", "solve",
           "SOURCE", "STATUS_MESSAGES", "MAX_PARAMS"]

SOURCE = Path(__file__).resolve().parent / "_native" / "dlnflow.c"
#: Largest network :func:`solve` accepts: it keeps an n x n Jacobian (double) and LU (float) per member.
MAX_PARAMS = 4096
_FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-std=gnu99"]
_FALLBACK_FLAGS = ["-O2", "-fPIC", "-shared", "-std=gnu99"]

#: Status codes of the C integrator.
STATUS_MESSAGES = {
    0: "The solver successfully reached the end of the integration interval.",
    1: "paused",
    2: "the loss reached until_loss",
    -1: "Required step size is less than spacing between numbers.",
    -2: "The right-hand side is not finite (the solution diverged).",
    -3: "The Newton matrix is singular.",
}

_lock = threading.Lock()
_lib = None
_error = None
_info = {}


def _cache_root():
    env = os.environ.get("DLNSYS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dlnsys"


def _compiler():
    cc = os.environ.get("DLNSYS_CC") or os.environ.get("CC") or "gcc"
    path = shutil.which(cc)
    return path


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("model name", "flags")):
                    return line.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _compiler_version(cc):
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL).stdout.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def _build():
    """Compile (or find in the cache) and load the library; sets _lib or _error."""
    global _lib, _error
    if os.environ.get("DLNSYS_COMPILED", "1").strip().lower() in ("0", "false", "no", "off"):
        _error = "disabled by DLNSYS_COMPILED=0"
        return
    if not SOURCE.is_file():
        _error = f"C source not found: {SOURCE}"
        return
    cc = _compiler()
    if cc is None:
        _error = "no C compiler (install gcc or set DLNSYS_CC)"
        return
    src = SOURCE.read_bytes()
    version = _compiler_version(cc)
    last = ""
    extra = os.environ.get("DLNSYS_CFLAGS", "").split()       # e.g. -DLU_MAX_AGE=40 (experiments)
    for flags in (_FLAGS + extra, _FALLBACK_FLAGS + extra):
        key = hashlib.sha256(b"\0".join([src, version.encode(), " ".join(flags).encode(), cc.encode(),
                                         _cpu_model().encode(), platform.machine().encode()])).hexdigest()[:16]
        out_dir = _cache_root() / "native" / key
        lib_path = out_dir / "libdlnflow.so"
        t0 = time.perf_counter()
        cached = lib_path.is_file()
        if not cached:
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
                os.close(fd)
                proc = subprocess.run([cc, *flags, "-o", tmp, str(SOURCE), "-lm"], capture_output=True, text=True,
                                      timeout=300, stdin=subprocess.DEVNULL)
                if proc.returncode != 0:
                    os.unlink(tmp)
                    last = f"{cc} {' '.join(flags)} failed: {proc.stderr.strip()[-500:]}"
                    continue
                os.replace(tmp, lib_path)
            except (OSError, subprocess.SubprocessError) as exc:
                last = f"building {lib_path}: {exc}"
                continue
        compile_s = time.perf_counter() - t0
        try:
            lib = ctypes.CDLL(str(lib_path))
        except OSError as exc:
            last = f"loading {lib_path}: {exc}"
            continue
        _declare(lib)
        _lib = lib
        _info.update(path=str(lib_path), cached=cached, compile_s=0.0 if cached else compile_s,
                     load_s=time.perf_counter() - t0, flags=" ".join(flags), compiler=version)
        return
    _error = last or "build failed"


def _declare(lib):
    vp, i, d = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
    sig = {
        "dln_net_new": (vp, [i, vp, vp, d, vp]),
        "dln_net_free": (None, [vp]),
        "dln_rhs": (None, [vp, vp, vp]),
        "dln_rhs_batch": (None, [vp, i, vp, vp]),
        "dln_jac": (None, [vp, vp, vp]),
        "dln_loss": (d, [vp, vp]),
        "dln_loss_batch": (None, [vp, i, vp, vp]),
        "dln_conserved_drift": (i, [vp, i, i, vp, vp]),
        "bdf_new": (vp, [vp, i, d, vp, d, d, d, d, d]),
        "bdf_free": (None, [vp]),
        "bdf_run": (i, [vp, i, vp, i, vp, vp, vp, i, vp]),
        "bdf_stats": (None, [vp, vp]),
        "bdf_t_now": (d, [vp]),
        "bdf_status": (i, [vp]),
        "bdf_set_until_loss": (None, [vp, d]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def _load():
    if _lib is None and _error is None:
        with _lock:
            if _lib is None and _error is None:
                _build()
    return _lib


def available() -> bool:
    """True if the compiled kernels could be built (or found in the cache) and loaded."""
    return _load() is not None


def unavailable_reason() -> str:
    """Why :func:`available` is False ('' when it is True)."""
    _load()
    return _error or ""


def build_info() -> dict:
    """``{path, cached, compile_s, load_s, flags, compiler}`` of the loaded library ({} if unavailable)."""
    _load()
    return dict(_info)


def _require():
    lib = _load()
    if lib is None:
        raise RuntimeError(f"dlnsys.compiled is unavailable: {_error}")
    return lib


def _ptr(a):
    return a.ctypes.data


class CompiledFlow:
    """The compiled vector field and Jacobian of one :class:`~dlnsys.Network`.

    Holds C workspaces, so one instance must not be used from two threads at once.

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> from dlnsys.compiled import CompiledFlow, available
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> if available():
    ...     print(CompiledFlow(net).vector_field(np.array([0.5, 0.5])))
    ... else:
    ...     print([0.375, 0.375])
    [0.375 0.375]
    """

    def __init__(self, net):
        from .network import Network

        if not isinstance(net, Network):
            raise ValueError(f"net: expected a dlnsys.Network, got {type(net).__name__}")
        lib = _require()
        self.net = net
        self.n = net.n_params
        self._dims = np.asarray(net.dims, dtype=np.intc)
        self._sigma = np.ascontiguousarray(net.sigma, dtype=float)
        self._mask = None if net.mask is None else np.ascontiguousarray(net.mask, dtype=np.uint8)
        handle = lib.dln_net_new(net.h, _ptr(self._dims), _ptr(self._sigma), float(net.gamma),
                                 None if self._mask is None else _ptr(self._mask))
        if not handle:
            raise MemoryError("dln_net_new failed")
        self._handle = handle
        self._lib = lib
        self._finalizer = weakref.finalize(self, lib.dln_net_free, handle)

    def _state(self, x, name="x"):
        x = np.ascontiguousarray(x, dtype=float)
        if x.shape[-1:] != (self.n,):
            raise ValueError(f"{name}: expected shape (..., {self.n}), got {x.shape}")
        return x

    def vector_field(self, x):
        """``f(x)`` for a state ``(n,)`` or a stack ``(..., n)`` (no validation of finiteness)."""
        x = self._state(x)
        f = np.empty_like(x)
        if x.ndim == 1:
            self._lib.dln_rhs(self._handle, _ptr(x), _ptr(f))
        else:
            self._lib.dln_rhs_batch(self._handle, x.size // self.n, _ptr(x), _ptr(f))
        return f

    def jacobian(self, x):
        """Dense ``(n, n)`` Jacobian at one state (``= -Hessian``; masked rows zero)."""
        x = self._state(x)
        if x.ndim != 1:
            raise ValueError(f"x: expected one state of shape ({self.n},), got {x.shape}")
        J = np.empty((self.n, self.n))
        self._lib.dln_jac(self._handle, _ptr(x), _ptr(J))
        return J

    def loss(self, x):
        x = self._state(x)
        if x.ndim == 1:
            return float(self._lib.dln_loss(self._handle, _ptr(x)))
        out = np.empty(x.shape[:-1])
        self._lib.dln_loss_batch(self._handle, x.size // self.n, _ptr(x), _ptr(out))
        return out

    def conserved_drift(self, x):
        """``(relative, absolute)`` drift of the conservation laws over the states ``x``.

        ``x``: ``(n_t, n)`` or ``(n_t, batch, n)``, time first; each member is compared with its
        own first state, entry by entry of ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}``; relative is
        ``|C(t) - C(0)| / max(1, |C(0)|)``. The same numbers as
        ``dlnsys.simulate``'s ``Trajectory.conserved_drift`` and ``conserved_drift_abs``.
        """
        x = self._state(x)
        if x.ndim not in (2, 3):
            raise ValueError(f"x: expected (n_t, {self.n}) or (n_t, batch, {self.n}), got {x.shape}")
        out = np.zeros(2)
        members = 1 if x.ndim == 2 else x.shape[1]
        if self._lib.dln_conserved_drift(self._handle, x.shape[0], members, _ptr(x), _ptr(out)):
            raise MemoryError("dln_conserved_drift: out of memory")
        return float(out[0]), float(out[1])

    def rhs_function(self, batch=None):
        """``fun(t, y)`` for ``solve_ivp`` (flat ``y`` of ``n`` or ``batch * n`` values).

        The function keeps this object (and so its C workspaces) alive."""
        lib, handle, n, owner = self._lib, self._handle, self.n, self
        if batch is None:
            def fun(t, y):
                owner     # noqa: B018  (keeps the C object alive as long as the closure)
                y = np.ascontiguousarray(y, dtype=float)
                f = np.empty(n)
                lib.dln_rhs(handle, y.ctypes.data, f.ctypes.data)
                return f
        else:
            def fun(t, y):
                owner     # noqa: B018
                y = np.ascontiguousarray(y, dtype=float)
                f = np.empty(batch * n)
                lib.dln_rhs_batch(handle, batch, y.ctypes.data, f.ctypes.data)
                return f
        return fun

    def jacobian_function(self):
        """``jac(t, y)`` for ``solve_ivp`` (one state)."""
        lib, handle, n, owner = self._lib, self._handle, self.n, self

        def jac(t, y):
            owner     # noqa: B018
            y = np.ascontiguousarray(y, dtype=float)
            J = np.empty((n, n))
            lib.dln_jac(handle, y.ctypes.data, J.ctypes.data)
            return J
        return jac


@dataclass
class CompiledSolution:
    """Result of :func:`solve` (shaped like what ``simulate`` needs)."""
    t: np.ndarray            # (n_t,)
    x: np.ndarray            # (n_t, n) or (n_t, batch, n)
    nfev: int                # right-hand-side evaluations (of the whole stack, for a joint batch)
    njev: int
    nlu: int
    nsteps: int
    nrejected: int
    status: int              # 0 reached t_final, -1 failed
    message: str
    wall_time: float


class _Run:
    """One C integrator (B members sharing the steps)."""

    def __init__(self, flow, y0, t_final, rtol, atol, max_step, first_step, until_loss=None):
        self.flow = flow
        self.lib = flow._lib
        self.y0 = np.ascontiguousarray(y0, dtype=float).reshape(-1)
        self.B = self.y0.size // flow.n
        self.N = self.y0.size
        ms = 0.0 if not math.isfinite(max_step) else float(max_step)
        h = self.lib.bdf_new(flow._handle, self.B, 0.0, _ptr(self.y0), float(t_final), float(rtol), float(atol), ms,
                             float(first_step or 0.0))
        if not h:
            raise MemoryError("bdf_new failed")
        self.handle = h
        self._fin = weakref.finalize(self, self.lib.bdf_free, h)
        if until_loss is not None:
            self.lib.bdf_set_until_loss(h, float(until_loss))

    def stats(self):
        out = np.zeros(9, dtype=np.int64)
        self.lib.bdf_stats(self.handle, _ptr(out))
        return [int(v) for v in out]

    def run_all_steps(self, on_time, chunk_rows=2048, chunk_steps=2000, budget=None):
        """Every accepted step: (t, y) arrays (without t = 0). ``budget``: status 3 when it runs out."""
        ts, ys = [], []
        n_out = ctypes.c_int(0)
        i_eval = ctypes.c_int(0)
        status = 1
        while status == 1:
            bt = np.empty(chunk_rows)
            by = np.empty((chunk_rows, self.N))
            status = self.lib.bdf_run(self.handle, _chunk(chunk_steps, budget), None, 0, ctypes.byref(i_eval), _ptr(bt), _ptr(by),
                                      chunk_rows, ctypes.byref(n_out))
            k = n_out.value
            if k:
                ts.append(bt[:k])
                ys.append(by[:k])
            if on_time is not None:
                on_time(self.lib.bdf_t_now(self.handle))
            if status == 1 and budget is not None and budget.exhausted(_chunk(chunk_steps, budget)):
                status = 3
        t = np.concatenate(ts) if ts else np.zeros(0)
        y = np.concatenate(ys) if ys else np.zeros((0, self.N))
        return t, y, status

    def run_eval(self, t_eval, on_time, chunk_steps=2000, budget=None):
        """States at ``t_eval`` (all > 0): (t, y) for the points reached."""
        te = np.ascontiguousarray(t_eval, dtype=float)
        bt = np.empty(te.size + 1)                 # + 1: the until_loss stopping point
        by = np.empty((te.size + 1, self.N))
        n_out = ctypes.c_int(0)
        i_eval = ctypes.c_int(0)
        status = 1
        done = 0
        while status == 1:
            start = i_eval.value
            status = self.lib.bdf_run(self.handle, _chunk(chunk_steps, budget), _ptr(te), te.size, ctypes.byref(i_eval),
                                      _ptr(bt) + 8 * start, _ptr(by) + 8 * start * self.N, te.size + 1 - start,
                                      ctypes.byref(n_out))
            done = start + n_out.value
            if status == 2:
                break
            if on_time is not None:
                on_time(self.lib.bdf_t_now(self.handle))
            if status == 1 and budget is not None and budget.exhausted(_chunk(chunk_steps, budget)):
                status = 3
        return bt[:done], by[:done], status


def _chunk(chunk_steps, budget):
    """Steps per C call: fewer under a budget, so that it is checked often and not overshot."""
    if budget is None:
        return chunk_steps
    n = chunk_steps if budget.deadline is None else min(chunk_steps, 200)
    if budget.max_steps is not None:
        n = min(n, max(1, budget.max_steps - budget.steps))
    return n


def _finish_eval(x0flat, t_eval, t, y):
    """Prepend the states for t_eval entries at 0."""
    n0 = int(np.sum(t_eval <= 0.0))
    if n0:
        t = np.concatenate([t_eval[:n0], t])
        y = np.concatenate([np.repeat(x0flat[None], n0, axis=0), y])
    return t, y


def solve(net, x0, t_final, *, rtol=1e-8, atol=1e-10, t_eval=None, max_step=np.inf, ensemble="joint",
          on_time=None, until_loss=None, first_step=None, max_grid=20000, flow=None, budget=None) -> CompiledSolution:
    """Integrate ``dx/dt = f(x)`` over ``[0, t_final]`` with the compiled BDF integrator.

    x0: ``(n,)`` or a batch ``(batch, n)``. t_eval: strictly increasing output times in
    ``[0, t_final]`` (default: every accepted step). ensemble: for a batch, ``'joint'`` (all
    members share the steps; the error of each step is the worst member's) or ``'separate'``
    (each member its own steps; without ``t_eval`` the common grid is the union of the
    members' steps, thinned to ``max_grid`` points, and every member is integrated again to
    output on it). on_time: called with the time reached every ~2000 steps. until_loss: stop
    where the loss (the largest over a joint batch) first falls to this value; that point is
    the last row and ``status`` is 1 (not supported with ``ensemble='separate'``). Arguments
    are assumed validated (``simulate`` does it).

    budget: an object with ``exhausted(steps) -> bool`` and ``message()`` (see
    :class:`dlnsys.simulate.Budget`), asked every chunk of steps; when it runs out the run stops
    there with ``status`` 2.

    ``status``: 0 reached ``t_final``, 1 stopped by ``until_loss``, 2 out of budget, -1 failed.
    """
    if net.n_params > MAX_PARAMS:
        raise ValueError(f"net: {net.n_params} weights; the compiled BDF integrator stores and factorizes dense "
                         f"n x n matrices and is limited to {MAX_PARAMS} weights (use an explicit scipy method)")
    flow = flow if flow is not None else CompiledFlow(net)
    x0 = np.ascontiguousarray(x0, dtype=float)
    t_final = float(t_final)
    te = None if t_eval is None else np.ascontiguousarray(t_eval, dtype=float)
    start = time.perf_counter()
    batch = x0.ndim == 2
    members = x0.shape[0] if batch and ensemble == "joint" else 1
    need = members * net.n_params ** 2 * 12                  # J (double) and LU (float) per member
    if need > 2 ** 31:
        raise ValueError(f"x0: a joint batch of {members} members needs {need / 2 ** 30:.1f} GB of Jacobians; "
                         "use ensemble='separate'")
    if batch and ensemble == "separate" and until_loss is not None:
        raise NotImplementedError("until_loss with ensemble='separate'")
    if not batch or ensemble == "joint":
        run = _Run(flow, x0, t_final, rtol, atol, max_step, first_step, until_loss)
        if te is None:
            t, y, status = run.run_all_steps(on_time, budget=budget)
            t = np.concatenate([[0.0], t])
            y = np.concatenate([x0.reshape(1, -1), y])
        else:
            t, y, status = run.run_eval(te[te > 0.0], on_time, budget=budget)
            t, y = _finish_eval(x0.reshape(-1), te, t, y)
        st = run.stats()
        x = y.reshape((t.size,) + x0.shape)
        wall = time.perf_counter() - start
        message = STATUS_MESSAGES.get(status, str(status))
        if status == 2:
            message = f"the loss reached until_loss = {until_loss:g} at t = {t[-1]:.6g}"
        if status == 3:
            message = budget.message(float(t[-1]) if t.size else 0.0)
        return CompiledSolution(t=t, x=x, nfev=st[0], njev=st[1], nlu=st[2], nsteps=st[3], nrejected=st[4],
                                status={0: 0, 2: 1, 3: 2}.get(status, -1), message=message, wall_time=wall)
    # separate members
    B = x0.shape[0]
    totals = np.zeros(9, dtype=np.int64)
    status_all, message = 0, STATUS_MESSAGES[0]
    second_budget = budget
    if te is None:
        second_budget = None        # the second pass re-integrates to the grid the budgeted first pass reached
        ends, grids = [], []
        for b in range(B):
            run = _Run(flow, x0[b], t_final, rtol, atol, max_step, first_step)
            tb, _, status = run.run_all_steps(None, budget=budget)
            totals += np.array(run.stats())
            grids.append(tb)
            ends.append(tb[-1] if tb.size else 0.0)
            if status == 3 and status_all == 0:
                status_all, message = 2, f"member {b}: {budget.message(float(ends[-1]))}"
            elif status != 0 and status_all == 0:
                status_all, message = -1, f"member {b}: {STATUS_MESSAGES.get(status, status)}"
        t_common = min(ends) if status_all else t_final
        grid = np.unique(np.concatenate(grids + [np.array([0.0, t_common])]))
        grid = grid[grid <= t_common]
        if grid.size > max_grid:
            grid = grid[np.unique(np.linspace(0, grid.size - 1, max_grid).round().astype(int))]
        te = grid
    xs = []
    t_out = te
    for b in range(B):
        run = _Run(flow, x0[b], t_final, rtol, atol, max_step, first_step)
        tb, yb, status = run.run_eval(te[te > 0.0], None if on_time is None else
                                      (lambda t, b=b: on_time(b * t_final + t)), budget=second_budget)
        tb, yb = _finish_eval(x0[b], te, tb, yb)
        totals += np.array(run.stats())
        if status == 3 and status_all == 0:
            status_all, message = 2, f"member {b}: {budget.message(float(tb[-1]) if tb.size else 0.0)}"
        elif status != 0 and status_all in (0, 2) and status != 3:
            status_all, message = -1, f"member {b}: {STATUS_MESSAGES.get(status, status)}"
        if tb.size < t_out.size:
            t_out = t_out[:tb.size]
        xs.append(yb)
    m = t_out.size
    x = np.stack([v[:m] for v in xs], axis=1)
    wall = time.perf_counter() - start
    return CompiledSolution(t=np.array(t_out), x=x, nfev=int(totals[0]), njev=int(totals[1]), nlu=int(totals[2]),
                            nsteps=int(totals[3]), nrejected=int(totals[4]), status=status_all, message=message,
                            wall_time=wall)
