"""Integration of the gradient flow (9)/(25) and of gradient descent (67).

:func:`simulate` integrates one initial condition or an ensemble with
:func:`scipy.integrate.solve_ivp` and returns a :class:`Trajectory`; :func:`simulate_gd`
iterates the gradient-descent map (67) and returns the same kind of object.

Choice of ``method="auto"``
---------------------------
``"auto"`` is **CBDF** -- dlnsys's compiled variable-order BDF integrator
(:mod:`dlnsys.compiled`: C built once with the system gcc, analytic Jacobian, LU reuse, the
whole integration in one call) -- for networks of at most ``COMPILED_MAX_PARAMS`` weights when
the compiled kernels are available and no ``dense_output`` is asked for (and not for a
separately integrated ensemble with ``until_loss``). It measures local errors in the max norm as
LSODA does, so the tolerances keep their meaning, and it is 3-6x faster than LSODA below
(``benchmarks/run.py``, same runs and machine: 0.07 s against 0.19 s from scale 5e-2, 0.04 s
against 0.23 s from scale 1, final-state errors 9e-8 and 2e-9, conserved drift <= 4e-8; it also
measures dlnsys against PyDSTool and XPPAUT).
Otherwise ``"auto"`` is **LSODA** (Adams/BDF switching, with the analytic Jacobian
``net.jacobian``) up to ``DENSE_JACOBIAN_MAX_PARAMS`` weights, and **DOP853** above (a dense
Jacobian of n = 45,056 weights would need 16 GB; wide and deep flows from the usual
initializations are not stiff on the time scales one integrates them). The table below
compares the scipy methods.

The flows of deep linear networks alternate long plateaus near saddles (tiny vector field,
where any method takes long steps) with fast transitions, and near a minimum the Hessian has
large eigenvalues: ``h sigma_1^(2 - 2/h)`` = 113 at the balanced minimum reached from small
init, 4e4 at the one reached from scale 1, next to eigenvalues of order 1e-8 -- stiff for
explicit methods. Measured on the Section 6.1 network (dims (11,6,6,6,6,4),
sigma (7,5.5,4,2.5)) from ``init.gaussian(net, scale, seed=0)`` at rtol 1e-8, atol 1e-10; time
= best of 3 on a shared 2-core machine (run-to-run spread up to 2x, order stable), err = max
|x - x_ref| at ``t_final`` against DOP853 at rtol 1e-12, atol 1e-14 (Radau at 1e-12 for the
t = 1e5 run), drift = ``Trajectory.conserved_drift``::

    case                  RK45          DOP853        LSODA          BDF            Radau
    scale 1e-2, t=200/400 <0.01 s       <0.01 s       <0.01 s        0.02 s         0.03 s
      (still on the plateau at the origin, L = 50.75; every err < 2e-9)
    scale 5e-2, t=200     1.1 s  2.5e-9 1.4 s  2.9e-9 0.59 s 3.7e-8  1.3 s  2.7e-7  3.3 s  6.2e-11
    scale 5e-2, t=400     2.8 s  2.6e-9 3.2 s  2.9e-9 0.44 s 3.7e-8  1.0 s  2.7e-7  3.1 s  6.2e-11
    scale 1,    t=20      100 s  2.7e-9 61 s   2.4e-10 0.22 s 1.3e-8 0.40 s 4.7e-8  1.0 s  1.8e-10
    scale 1e-2, t=1e5     (explicit: stiff tail, not run) 0.28 s 6.8e-8 0.61 s 6.1e-7 1.8 s 1.3e-10
    drift (all cases)     <= 2.1e-9     <= 1.7e-10    <= 3.6e-8      <= 1.6e-7      <= 3.8e-10

LSODA is the fastest in every case that does anything (2-3x faster than BDF, 5-8x than Radau,
100-400x than the explicit methods at scale 1) with a global error of a few rtol; BDF is 10x
less accurate at the same tolerance, Radau 100x more accurate and 5x slower. For the
conservation laws to hold to 1e-8 use ``rtol=1e-10, atol=1e-12`` (LSODA drift < 1e-9 on these
runs, 1.4-3x the time) or Radau at the default tolerances. Scale 1e-2 needs t ~ 1e5 to learn
all four singular values (transitions near t = 4950, 7350, 13420, 82000 for seed 0); scale
5e-2 learns three by t = 200 and the fourth near t = 660. Reproduce the table with
``python -m dlnsys.simulate`` (several minutes: the explicit references at scale 1 are slow).

Small systems (up to ``BLAS_SINGLE_THREAD_MAX`` unknowns) are integrated with single-threaded
BLAS (through threadpoolctl if installed, else OpenBLAS's own controls on Linux): on a busy
2-core machine multi-threaded OpenBLAS made the same LSODA runs 5-25x slower, and this file's
tests took 108 s instead of 16 s.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
import os
import time
from typing import Any, NamedTuple

import numpy as np

from . import fastflow, flow, invariants
from ._progress import make_progress
from ._io import savez_atomic
from ._validate import as_finite_array, as_state

__all__ = ["simulate", "simulate_gd", "Trajectory", "Plateau", "METHODS", "AUTO_METHOD", "auto_method"]

#: Method names accepted by :func:`simulate` (matched case-insensitively). "CBDF" is the compiled
#: BDF integrator of :mod:`dlnsys.compiled` (needs a C compiler; ValueError if unavailable).
METHODS = ("auto", "CBDF", "RK45", "RK23", "DOP853", "LSODA", "BDF", "Radau")
#: What ``method="auto"`` runs when the compiled integrator cannot (see :func:`auto_method`).
AUTO_METHOD = "LSODA"
#: ``method="auto"`` uses the compiled integrator up to this many weights (its dense LU costs n^3).
COMPILED_MAX_PARAMS = 1000
#: ... and an explicit method (no dense Jacobian) above this many weights.
DENSE_JACOBIAN_MAX_PARAMS = 3000
#: The explicit method used then.
LARGE_METHOD = "DOP853"
#: From this many weights a single state's right-hand side is :class:`dlnsys.fastflow.BlockFlow`
#: (no fresh d x d arrays per evaluation: 1.5-2x faster for 5 layers of width 256).
FASTFLOW_MIN_PARAMS = fastflow.MIN_PARAMS
#: Methods that receive the analytic Jacobian.
STIFF_METHODS = frozenset({"LSODA", "BDF", "Radau"})

_NPZ_FORMAT = "dlnsys.Trajectory/1"

#: ``ensemble="auto"`` integrates a batch jointly (one solve_ivp call) when the method is explicit or
#: a member has at most this many parameters, and member by member otherwise.
ENSEMBLE_JOINT_MAX_PARAMS = 16
#: Largest common time grid of a separately integrated ensemble without ``t_eval``.
ENSEMBLE_MAX_GRID = 20000

#: Systems up to this many unknowns (batch * n_params) integrate with single-threaded BLAS.
BLAS_SINGLE_THREAD_MAX = 2000


def _openblas_handles():
    """(set, get) pairs of the OpenBLAS thread controls of the libraries loaded in this process.

    A fallback for when threadpoolctl is not installed: reads ``/proc/self/maps`` (Linux) for
    loaded OpenBLAS libraries (numpy and scipy each bundle one) and looks up their
    ``*openblas*_set_num_threads*`` symbols. Returns [] wherever that does not apply.
    """
    global _OPENBLAS
    if _OPENBLAS is not None:
        return _OPENBLAS
    _OPENBLAS = []
    try:
        import ctypes

        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh
                            if "openblas" in line.lower() and ".so" in line and "/" in line})
        for path in paths:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", ""):
                    setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], None
                        getter.argtypes, getter.restype = [], ctypes.c_int
                        _OPENBLAS.append((setter, getter))
                        break
                else:
                    continue
                break
    except Exception:       # pragma: no cover - best effort only
        _OPENBLAS = []
    return _OPENBLAS


_OPENBLAS = None


@contextlib.contextmanager
def _blas_threads_for(size):
    """Limit BLAS to one thread while integrating a small system.

    The solvers do many small dense operations (the 198 x 198 Jacobian and its LU for the
    Section 6.1 network); multi-threaded OpenBLAS gains nothing there and, on a busy machine,
    its spinning threads made LSODA runs 5-25x slower in our measurements (0.3 s -> 2-12 s).
    Uses threadpoolctl when installed, else the OpenBLAS controls found by
    :func:`_openblas_handles`; otherwise does nothing.
    """
    if size > BLAS_SINGLE_THREAD_MAX:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    handles = _openblas_handles()
    saved = []
    try:
        for setter, getter in handles:
            saved.append((setter, getter()))
            setter(1)
    except Exception:       # pragma: no cover
        pass
    try:
        yield
    finally:
        for setter, n in saved:
            try:
                setter(n)
            except Exception:   # pragma: no cover
                pass


# ------------------------------------------------------------------ validation
def _positive_number(value, name, *, allow_inf=False):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    v = float(value)
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        kind = "a positive number" if allow_inf else "a positive finite number"
        raise ValueError(f"{name}: expected {kind}, got {value!r}")
    return v


def _method_name(method):
    if not isinstance(method, str):
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    for m in METHODS:
        if m.lower() == method.lower():
            return m
    raise ValueError(f"method: unknown integrator {method!r}; choose one of {', '.join(METHODS)}")


def _initial_states(net, x0):
    x0 = as_state(x0, net.n_params, "x0")
    if x0.ndim not in (1, 2):
        raise ValueError(
            f"x0: expected one state of shape ({net.n_params},) or a batch of shape (batch, {net.n_params}), "
            f"got {x0.shape}")
    if x0.ndim == 2 and x0.shape[0] == 0:
        raise ValueError("x0: the batch is empty")
    return np.array(x0, dtype=float)


def _time_grid(t_eval, t_final):
    if t_eval is None:
        return None
    te = as_finite_array(t_eval, "t_eval")
    if te.ndim != 1 or te.size == 0:
        raise ValueError(f"t_eval: expected a non-empty 1-D array of times, got shape {te.shape}")
    if te[0] < 0 or te[-1] > t_final:
        raise ValueError(f"t_eval: times must lie in [0, t_final] = [0, {t_final:g}], "
                         f"got values from {te.min():g} to {te.max():g}")
    if te.size > 1 and np.any(np.diff(te) <= 0):
        raise ValueError("t_eval: times must be strictly increasing")
    return te


class Budget:
    """A budget of solver steps and wall time shared by the pieces of one :func:`simulate` call.

    ``exhausted(steps)`` adds ``steps`` and says whether the budget is spent; ``message(t)``
    says which part ran out. A run stopped by its budget has ``status`` 2 (a partial result:
    its last saved state is where it stopped).
    """

    def __init__(self, max_time=None, max_steps=None):
        self.max_time = max_time
        self.max_steps = max_steps
        self.deadline = None if max_time is None else time.perf_counter() + max_time
        self.steps = 0
        self.reason = None

    def exhausted(self, steps=1) -> bool:
        if self.reason is not None:
            return True
        self.steps += steps
        if self.max_steps is not None and self.steps >= self.max_steps:
            self.reason = f"max_steps = {self.max_steps}"
        elif self.deadline is not None and time.perf_counter() > self.deadline:
            self.reason = f"max_time = {self.max_time:g} s"
        return self.reason is not None

    def message(self, t=None) -> str:
        at = "" if t is None else f" at t = {t:.6g}"
        return f"stopped{at}: the budget {self.reason} ran out (status 2; raise it or shorten the run)"


def _default_max_steps(n_values):
    """Steps whose saved states fit in half the available memory (each step saves one state)."""
    from ._io import available_memory
    return int(max(10_000, min(10**8, available_memory() // 2 // (8 * max(1, n_values) + 64))))


# ------------------------------------------------------------------ the result
def true_runs(mask):
    """``[(k, j), ...]``: the maximal runs ``mask[k..j]`` of True values (plateau detection)."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
    return [(int(k), int(j) - 1) for k, j in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


class Plateau(NamedTuple):
    """An interval of saved times on which the loss is nearly stationary (see :meth:`Trajectory.plateaus`)."""
    t_start: float
    t_end: float
    loss: float        # the loss where the relative rate is smallest (closest to the critical point)
    rate: float        # that smallest relative rate |dL/dt| / L

    @property
    def duration(self):
        return self.t_end - self.t_start


@dataclasses.dataclass(frozen=True, eq=False)
class Trajectory:
    """Result of :func:`simulate` or :func:`simulate_gd`.

    Attributes
    ----------
    t : ndarray (n_t,)
        Saved times (for gradient descent: step index times ``eta``).
    x : ndarray (n_t, n_params) or (n_t, batch, n_params)
        Saved states.
    loss : ndarray (n_t,) or (n_t, batch)
        ``net.loss`` at the saved states.
    conserved_drift : float
        Relative drift of the conservation laws (Prop. 6):
        ``max over saved times, batch members and laws k of |C_k(t) - C_k(0)| / max(1, |C_k(0)|)``,
        where ``C_k`` runs over the scalar entries of ``invariants.conserved_vector`` (the upper
        triangles of ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}``). The floor 1 is there because
        ``C_k`` is a difference of two Gram entries of size ``|W|^2``: its rounding and
        integration errors scale with ``|W|^2`` (order ``sigma^(2/h)``, i.e. about 1, along the
        trajectories of interest), not with ``|C_k|``, which may be tiny or exactly 0
        (balanced initializations). Only conserved when ``gamma == 0`` and there is no mask;
        for gradient descent it measures the O(eta^2)-per-step violation.
    conserved_drift_abs : float
        ``max |C_k(t) - C_k(0)|`` (same maximum, no normalization).
    nfev, njev : int
        Right-hand-side and Jacobian evaluations (gradient descent: steps and 0).
    status : int
        As scipy: 0 reached ``t_final`` (or all steps), 1 stopped by ``until_loss``, -1 failed
        (integration failure, or divergence of gradient descent).
    message : str
    wall_time : float
        Seconds spent integrating (not counting the post-processing of the result).
    method : str
        The integrator actually used (``"auto"`` is resolved), or ``"gd"``.
    net : Network
    rtol, atol : float or None
        Tolerances used (None for gradient descent).
    eta : float or None
        Step size of gradient descent (None for the flow).
    dense : callable or None
        The continuous solution when ``simulate(..., dense_output=True)``; use :meth:`at`.

    Methods: :meth:`at` (dense output), :meth:`loss_rate` (exact dL/dt), :meth:`plateaus`,
    :meth:`to_dict`, :meth:`to_npz` / :meth:`from_npz`; properties ``final``, ``final_loss``,
    ``t_final``, ``success``, ``is_batch``, ``batch_size``, ``n_t``.
    """

    t: np.ndarray
    x: np.ndarray
    loss: np.ndarray
    conserved_drift: float
    conserved_drift_abs: float
    nfev: int
    njev: int
    status: int
    message: str
    wall_time: float
    method: str
    net: Any
    rtol: float | None = None
    atol: float | None = None
    eta: float | None = None
    dense: Any = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        for name in ("t", "x", "loss"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.flags.writeable:
                arr = np.ascontiguousarray(arr).copy()
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # ------------------------------------------------------------ conveniences
    @property
    def success(self) -> bool:
        return self.status >= 0

    @property
    def is_batch(self) -> bool:
        return self.x.ndim == 3

    @property
    def batch_size(self) -> int | None:
        return self.x.shape[1] if self.is_batch else None

    @property
    def n_t(self) -> int:
        return self.t.shape[0]

    @property
    def final(self) -> np.ndarray:
        """The state(s) at the last saved time."""
        return self.x[-1]

    @property
    def final_loss(self):
        """Loss at the last saved time (a float, or an array over the batch)."""
        v = self.loss[-1]
        return float(v) if np.ndim(v) == 0 else v

    @property
    def t_final(self) -> float:
        return float(self.t[-1])

    def at(self, t):
        """State(s) at arbitrary times from the dense output (needs ``dense_output=True``).

        Returns shape ``(n_params,)`` / ``(batch, n_params)`` for a scalar ``t`` and a leading
        time axis for an array of times.
        """
        if self.dense is None:
            raise ValueError("t: this trajectory has no dense output; run simulate(..., dense_output=True)")
        t = np.asarray(t, dtype=float)
        if np.any(t < self.t[0]) or np.any(t > self.t[-1]):
            raise ValueError(f"t: outside the integrated interval [{self.t[0]:g}, {self.t[-1]:g}]")
        y = self.dense(t)                       # (N,) or (N, k)
        tail = self.x.shape[1:]
        if t.ndim == 0:
            return y.reshape(tail)
        return np.moveaxis(y, -1, 0).reshape(t.shape + tail)

    def loss_rate(self) -> np.ndarray:
        """Exact ``dL/dt = -|f(x)|^2`` at the saved states (f the vector field), same shape as ``loss``."""
        f = flow.vector_field(self.net, self.x)
        return -np.sum(f * f, axis=-1)

    def plateaus(self, rate_tol=1e-2, min_duration=None, min_loss=None, member=None):
        """Intervals where the loss is nearly stationary: ``|dL/dt| / L < rate_tol``.

        Parameters
        ----------
        rate_tol : float
            Threshold on the relative rate ``|dL/dt| / L`` (units 1/time). 1e-2 means the loss
            would need at least 100 time units to change by a factor e.
        min_duration : float, optional
            Shortest interval reported; by default ``1 / rate_tol`` (a plateau lasts at least as
            long as the time scale that defines it). Transitions between plateaus are much
            shorter than that for small initializations.
        min_loss : float, optional
            Points with a smaller loss are ignored (near the global minimum ``L`` and
            ``dL/dt`` are both at rounding level and their ratio is noise); default
            ``1e-10 * max(L(0), 1)``.
        member : int, optional
            Which trajectory of a batch (required for batches).

        Returns
        -------
        list of Plateau ``(t_start, t_end, loss, rate)`` in time order, ``loss`` taken where
        the relative rate is smallest. The resolution is that of the saved times: pass a
        fine ``t_eval`` (or none, to get every solver step) for reliable interval ends.
        """
        rate_tol = _positive_number(rate_tol, "rate_tol")
        min_duration = 1.0 / rate_tol if min_duration is None else float(min_duration)
        L = self.loss
        x = self.x
        if self.is_batch:
            if member is None:
                raise ValueError("member: this is a batch trajectory; say which member (0-based)")
            if not 0 <= int(member) < self.batch_size:
                raise ValueError(f"member: must be in 0..{self.batch_size - 1}, got {member!r}")
            L, x = L[:, int(member)], x[:, int(member)]
        if min_loss is None:
            min_loss = 1e-10 * max(float(L[0]), 1.0)
        f = flow.vector_field(self.net, x)
        rate = np.sum(f * f, axis=-1) / np.maximum(L, np.finfo(float).tiny)
        flat = (rate < rate_tol) & (L > min_loss)
        out = []
        for k, j in true_runs(flat):
            if self.t[j] - self.t[k] >= min_duration:
                i = k + int(np.argmin(rate[k:j + 1]))
                out.append(Plateau(float(self.t[k]), float(self.t[j]), float(L[i]), float(rate[i])))
        return out

    # ------------------------------------------------------------ export
    def to_dict(self, arrays=False) -> dict:
        """JSON-ready summary (plain Python types); ``arrays=True`` adds ``t``, ``loss`` and ``x``."""
        loss0 = self.loss[0]
        d = {
            "kind": "gd" if self.eta is not None else "flow",
            "dims": list(self.net.dims),
            "sigma": [float(s) for s in self.net.sigma],
            "gamma": float(self.net.gamma),
            "masked": self.net.mask is not None,
            "method": self.method,
            "rtol": self.rtol,
            "atol": self.atol,
            "eta": self.eta,
            "batch": self.batch_size,
            "t_final": self.t_final,
            "n_t": self.n_t,
            "initial_loss": float(loss0) if np.ndim(loss0) == 0 else [float(v) for v in loss0],
            "final_loss": (float(self.loss[-1]) if not self.is_batch
                           else [float(v) for v in self.loss[-1]]),
            "conserved_drift": float(self.conserved_drift),
            "conserved_drift_abs": float(self.conserved_drift_abs),
            "nfev": int(self.nfev),
            "njev": int(self.njev),
            "status": int(self.status),
            "success": bool(self.success),
            "message": str(self.message),
            "wall_time": float(self.wall_time),
        }
        if arrays:
            d["t"] = self.t.tolist()
            d["loss"] = self.loss.tolist()
            d["x"] = self.x.tolist()
        return d

    def to_npz(self, path):
        """Save to a ``.npz`` file (no pickles; the dense output is not saved).

        numpy appends ``.npz`` to a path without that suffix; the path written is returned.
        """
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path = path + ".npz"
        net = self.net
        mask = np.zeros(0, bool) if net.mask is None else np.asarray(net.mask, bool)
        nan = float("nan")
        savez_atomic(       # temporary file + rename: Ctrl-C never leaves half a file
            path,
            format=np.array(_NPZ_FORMAT),
            t=self.t, x=self.x, loss=self.loss,
            dims=np.array(net.dims, dtype=np.int64), sigma=np.asarray(net.sigma, float),
            gamma=np.array(net.gamma), mask=mask, has_mask=np.array(net.mask is not None),
            conserved_drift=np.array(self.conserved_drift),
            conserved_drift_abs=np.array(self.conserved_drift_abs),
            nfev=np.array(self.nfev), njev=np.array(self.njev), status=np.array(self.status),
            message=np.array(self.message), wall_time=np.array(self.wall_time),
            method=np.array(self.method),
            rtol=np.array(nan if self.rtol is None else self.rtol),
            atol=np.array(nan if self.atol is None else self.atol),
            eta=np.array(nan if self.eta is None else self.eta),
        )
        return path

    @classmethod
    def from_npz(cls, path, what="path") -> "Trajectory":
        """Load a file written by :meth:`to_npz` (the network is rebuilt from dims/sigma/gamma/mask).

        Any problem with the file (missing, not a zip, truncated, wrong arrays, shapes or dtypes,
        NaN in the states) is a one-line ``ValueError`` starting with ``what`` and the path.
        """
        from ._io import read_npz
        from .network import Network

        where = f"{what}: {os.fspath(path)!r}" if what else repr(os.fspath(path))
        try:
            z = read_npz(path, what, required=("format",), text=("format",))
        except ValueError as e:
            if "has no array 'format'" not in str(e):
                raise
            raise ValueError(f"{where} is not a dlnsys trajectory file (it has no 'format' array)") from None
        if z["format"] != _NPZ_FORMAT:
            raise ValueError(f"{where} is not a dlnsys trajectory file ({_NPZ_FORMAT})")
        floats = ("t", "x", "loss", "sigma", "gamma", "conserved_drift", "conserved_drift_abs", "wall_time",
                  "rtol", "atol", "eta")
        z = read_npz(path, what, required=floats + ("dims", "mask", "has_mask", "nfev", "njev", "status",
                                                    "message", "method"),
                     text=("message", "method"),
                     allow_nan=("conserved_drift", "conserved_drift_abs", "wall_time", "rtol", "atol", "eta"))
        scalars = ("gamma", "conserved_drift", "conserved_drift_abs", "wall_time", "rtol", "atol", "eta", "nfev",
                   "njev", "status", "has_mask")
        for k in scalars:
            if z[k].size != 1:
                raise ValueError(f"{where}: array {k!r} must be a single number, got shape {z[k].shape}")
        for k in ("dims", "nfev", "njev", "status"):
            if z[k].dtype.kind not in "iu":
                raise ValueError(f"{where}: array {k!r} must hold integers, got dtype {z[k].dtype}")
        dims = z["dims"]
        if dims.ndim != 1 or dims.size < 2 or dims.size > 64 or np.any(dims < 1) or np.any(dims > 10**6):
            raise ValueError(f"{where}: 'dims' must list 2..64 layer widths in 1..1e6, got {dims.tolist()[:8]}")
        t, x, loss = z["t"], z["x"], z["loss"]
        try:
            net = Network(tuple(int(d) for d in dims), z["sigma"], float(z["gamma"]),
                          z["mask"] if bool(z["has_mask"]) else None)
        except ValueError as e:
            raise ValueError(f"{where}: {' '.join(str(e).split())}") from None
        if t.ndim != 1 or t.size == 0:
            raise ValueError(f"{where}: 't' must be a non-empty 1-D array of times, got shape {t.shape}")
        if t.size > 1 and np.any(np.diff(t) < 0):
            raise ValueError(f"{where}: the times 't' are not increasing")
        if x.ndim not in (2, 3) or x.shape[0] != t.size or x.shape[-1] != net.n_params:
            raise ValueError(f"{where}: 'x' must have shape ({t.size}, [batch,] {net.n_params}) for dims "
                             f"{net.dims}, got {x.shape}")
        if loss.shape != x.shape[:-1]:
            raise ValueError(f"{where}: 'loss' must have shape {x.shape[:-1]}, got {loss.shape}")

        def opt(name):
            v = float(z[name].reshape(()))
            return None if math.isnan(v) else v

        return cls(t=t.astype(float), x=x.astype(float), loss=loss.astype(float),
                   conserved_drift=float(z["conserved_drift"].reshape(())),
                   conserved_drift_abs=float(z["conserved_drift_abs"].reshape(())),
                   nfev=int(z["nfev"].reshape(())), njev=int(z["njev"].reshape(())),
                   status=int(z["status"].reshape(())), message=z["message"],
                   wall_time=float(z["wall_time"].reshape(())), method=z["method"], net=net,
                   rtol=opt("rtol"), atol=opt("atol"), eta=opt("eta"))

    def __repr__(self):
        shape = "x".join(str(s) for s in self.x.shape)
        fl = self.final_loss
        fl = f"{fl:.6g}" if np.ndim(fl) == 0 else f"max {np.max(fl):.6g}"
        return (f"Trajectory(dims={self.net.dims}, method={self.method!r}, t=[{self.t[0]:g}, {self.t[-1]:g}], "
                f"x: {shape}, final_loss={fl}, conserved_drift={self.conserved_drift:.2e}, "
                f"nfev={self.nfev}, status={self.status})")


def _drift(net, x):
    """(relative, absolute) drift of the conservation laws over the saved states ``x`` (time first)."""
    C = invariants.conserved_vector(net, x)
    if C.shape[-1] == 0:
        return 0.0, 0.0
    d = np.abs(C - C[0])
    return float(np.max(d / np.maximum(1.0, np.abs(C[0])))), float(np.max(d))


# ------------------------------------------------------------------ right-hand sides
def _rhs(net, shape, on_time):
    n = net.n_params
    batch = shape[0] if len(shape) == 2 else None

    if batch is None and n >= FASTFLOW_MIN_PARAMS:
        from .fastflow import BlockFlow
        vf = BlockFlow(net).vector_field        # same products, preallocated work arrays

        def fun(t, y):
            on_time(t)
            return vf(y)
    elif batch is None:
        def fun(t, y):
            on_time(t)
            return flow.vector_field(net, y)
    else:
        def fun(t, y):
            on_time(t)
            return flow.vector_field(net, y.reshape(batch, n)).reshape(-1)
    return fun


def _jacobian(net, shape, method):
    """The Jacobian for stiff methods: dense for one state; block-diagonal for a batch
    (sparse CSC for BDF/Radau, LSODA's packed banded format with bandwidth n-1)."""
    n = net.n_params
    if len(shape) == 1:
        return (lambda t, y: flow.jacobian(net, y)), {}
    batch = shape[0]

    def blocks(y):
        X = y.reshape(batch, n)
        return np.stack([flow.jacobian(net, X[b]) for b in range(batch)])

    if method == "LSODA":
        ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        rows = (n - 1) + ii - jj                                   # packed row: uband + i - j
        cols = np.arange(batch)[:, None, None] * n + jj[None]     # global column
        rows = np.broadcast_to(rows, cols.shape)

        def jac(t, y):
            P = np.zeros((2 * n - 1, batch * n))
            P[rows, cols] = blocks(y)
            return P
        return jac, {"lband": n - 1, "uband": n - 1}

    from scipy import sparse

    def jac(t, y):
        return sparse.block_diag(list(blocks(y)), format="csc")
    return jac, {}


# ------------------------------------------------------------------ compiled path
def auto_method(net, *, dense_output=False, until_loss=None, separate_batch=False):
    """What ``method="auto"`` resolves to for ``net`` (see the module docstring)."""
    if (net.n_params <= COMPILED_MAX_PARAMS and not dense_output
            and not (separate_batch and until_loss is not None)):
        from . import compiled
        if compiled.available():
            return "CBDF"
    return LARGE_METHOD if net.n_params > DENSE_JACOBIAN_MAX_PARAMS else AUTO_METHOD


def _simulate_compiled(net, x0, t_final, rtol, atol, max_step, te, progress, until_loss, ensemble, budget=None):
    from . import compiled
    if not compiled.available():
        raise ValueError(f"method: CBDF needs the compiled kernels, which are unavailable "
                         f"({compiled.unavailable_reason()}); use method='auto' or a scipy method")
    if x0.ndim == 2 and ensemble == "separate" and until_loss is not None:
        raise ValueError("until_loss: not supported by method CBDF with ensemble='separate'; use "
                         "ensemble='joint' or another method")
    batch = x0.shape[0] if x0.ndim == 2 else 1
    total = t_final * (batch if ensemble == "separate" and x0.ndim == 2 else 1)
    prog = make_progress(progress, total, label="dlnsys simulate")
    cflow = compiled.CompiledFlow(net)
    try:
        sol = compiled.solve(net, x0, t_final, rtol=rtol, atol=atol, t_eval=te, max_step=max_step,
                             ensemble=ensemble, on_time=prog.update, until_loss=until_loss, flow=cflow,
                             budget=budget)
    finally:
        prog.close()
    # loss and drift along the saved states in C too: in numpy (small stacked products) they cost
    # a third of the integration on the Section 6.1 problem
    summary = None
    if sol.t.size:
        summary = (cflow.loss(sol.x),) + cflow.conserved_drift(sol.x)
    return _result(net, sol.t, sol.x, sol.nfev, sol.njev, sol.status, sol.message, sol.wall_time, "CBDF",
                   rtol, atol, None, summary=summary)


# ------------------------------------------------------------------ simulate
def simulate(net, x0, t_final, *, method="auto", rtol=1e-8, atol=1e-10, t_eval=None, progress=False,
             max_step=np.inf, dense_output=False, until_loss=None, ensemble="auto", max_time=None,
             max_steps=None) -> Trajectory:
    """Integrate the gradient flow ``dx/dt = net.vector_field(x)`` from ``x0`` over ``[0, t_final]``.

    Parameters
    ----------
    net : Network
    x0 : array (n_params,) or (batch, n_params)
        Initial state, or a batch of initial states integrated as one ensemble (a single
        ``solve_ivp`` call on the stacked system; the error control then applies to the
        whole stack, so members agree with separate runs to the tolerance, not bitwise).
    t_final : float
        Final time (> 0).
    method : str
        ``"auto"`` (see :func:`auto_method` and the module docstring for the benchmark behind
        it), ``"CBDF"`` (the compiled BDF integrator of :mod:`dlnsys.compiled`), or a
        :func:`scipy.integrate.solve_ivp` method: RK45, RK23, DOP853, LSODA, BDF, Radau.
        CBDF, LSODA, BDF and Radau use the analytic Jacobian (block-diagonal for a batch).
    rtol, atol : float
        Tolerances passed to ``solve_ivp``. The defaults keep the conservation laws to
        about 1e-8 (relative, see :class:`Trajectory`) on the Section 6.1 runs; use
        ``rtol=1e-10, atol=1e-12`` for a guaranteed ``<= 1e-8``.
    t_eval : array, optional
        Times at which to save (strictly increasing, inside ``[0, t_final]``); default:
        every solver step. The conserved drift is measured at the saved times.
    progress : bool or callable
        True prints the time reached to stderr a few times per second; a callable receives
        ``(t, fraction)``.
    max_step : float
        Largest step the solver may take.
    dense_output : bool
        Keep the continuous solution; evaluate it with :meth:`Trajectory.at`.
    until_loss : float, optional
        Stop as soon as the loss (every member's, for a batch) falls to this value
        (``status`` 1); the stopping point is the last saved point.
    ensemble : {"auto", "joint", "separate"}
        How a batch is integrated. "joint": one ``solve_ivp`` call on the stacked system
        with a vectorized right-hand side (the stiff methods get a block-diagonal Jacobian:
        sparse for BDF/Radau, banded for LSODA); cheap for many small systems (1,000
        trajectories of (62) take ~0.1 s). "separate": member by member, each with its own
        steps, then put on a common time grid (``t_eval``, or the union of the members'
        steps) through their dense outputs. "auto" is joint for explicit methods and for
        members of at most ``ENSEMBLE_JOINT_MAX_PARAMS`` parameters, separate otherwise: for 8
        members of the Section 6.1 network (LSODA, scale 5e-2, t = 400) the joint solve took
        ~9x longer than 8 separate ones (block Jacobian of size 1584, and every member is
        paced by the stiffest); BDF and Radau joint solves were 20-45x slower.

    max_time : float, optional
        Wall-clock budget in seconds (default: none).
    max_steps : int, optional
        Budget of solver steps (default: as many as the saved states fit in half the available
        memory). A run that exhausts a budget stops there with ``status`` 2 and a message
        saying which budget ran out; its states up to that point are kept.

    Returns
    -------
    Trajectory

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> from dlnsys.simulate import simulate
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> traj = simulate(net, np.array([0.5, 0.3]), 20.0)
    >>> traj.method in ('CBDF', 'LSODA'), round(traj.final_loss, 12), bool(traj.conserved_drift < 1e-7)
    (True, 0.0, True)
    >>> w1, w2 = traj.final                 # on the hyperbola w1^2 - w2^2 = 0.16, at w1 w2 = sigma (64)
    >>> round(float(w1 * w2), 9), round(float(w1**2 - w2**2), 6)
    (1.0, 0.16)
    """
    x0 = _initial_states(net, x0)
    t_final = _positive_number(t_final, "t_final")
    method = _method_name(method)
    rtol = _positive_number(rtol, "rtol")
    atol = _positive_number(atol, "atol")
    max_step = _positive_number(max_step, "max_step", allow_inf=True)
    te = _time_grid(t_eval, t_final)
    if until_loss is not None:
        until_loss = float(until_loss) if isinstance(until_loss, (numbers.Real, np.floating)) else until_loss
        if not isinstance(until_loss, float) or not math.isfinite(until_loss) or until_loss < 0:
            raise ValueError(f"until_loss: expected a finite non-negative number, got {until_loss!r}")
    if ensemble not in ("auto", "joint", "separate"):
        raise ValueError(f"ensemble: expected 'auto', 'joint' or 'separate', got {ensemble!r}")
    if max_time is not None:
        max_time = _positive_number(max_time, "max_time")
    if max_steps is None:
        max_steps = _default_max_steps(x0.size)
    elif (isinstance(max_steps, bool) or not isinstance(max_steps, (numbers.Integral, np.integer))
          or max_steps < 1):
        raise ValueError(f"max_steps: expected a positive integer, got {max_steps!r}")
    budget = Budget(max_time, int(max_steps))
    stiff = method in STIFF_METHODS or method in ("auto", "CBDF")
    if ensemble == "auto":
        ensemble = "joint" if not stiff or net.n_params <= ENSEMBLE_JOINT_MAX_PARAMS else "separate"
    resolved = method
    if method == "auto":
        resolved = auto_method(net, dense_output=dense_output, until_loss=until_loss,
                               separate_batch=x0.ndim == 2 and ensemble == "separate")

    if until_loss is not None and np.max(flow.loss(net, x0)) <= until_loss:
        return _result(net, np.array([0.0]), x0[None], 0, 0, 1,
                       "the initial loss is already at or below until_loss", 0.0, resolved, rtol, atol, None)
    if resolved == "CBDF":
        if dense_output:
            raise ValueError("dense_output: not supported by method CBDF; use method='auto' or a scipy method")
        return _simulate_compiled(net, x0, t_final, rtol, atol, max_step, te, progress, until_loss, ensemble,
                                  budget)
    options = {"rtol": rtol, "atol": atol, "max_step": max_step, "budget": budget}
    if x0.ndim == 2 and ensemble == "separate":
        return _simulate_separate(net, x0, t_final, resolved, options, te, progress, dense_output, until_loss)

    shape = x0.shape
    prog = make_progress(progress, t_final, label="dlnsys simulate")
    start = time.perf_counter()
    try:
        sol = _solve(net, x0, 0.0, t_final, resolved, options, te, prog.update, dense_output, until_loss)
    finally:
        prog.close()
    wall = time.perf_counter() - start

    ts, ys = sol.t, sol.y
    if sol.status == 1 and sol.t_events and len(sol.t_events[0]):
        t_ev = float(sol.t_events[0][-1])
        if ts.size == 0 or ts[-1] < t_ev:
            ts = np.append(ts, t_ev)
            ys = np.concatenate([ys, sol.y_events[0][-1][:, None]], axis=1)
    x = ys.T.reshape((ts.size,) + shape)
    dense = sol.sol if dense_output else None
    message = sol.message
    if sol.status == 1:
        message = f"the loss reached until_loss = {until_loss:g} at t = {ts[-1]:.6g}"
    elif sol.status == 2:
        message = options["budget"].message(float(ts[-1]) if ts.size else 0.0)
    return _result(net, ts, x, int(sol.nfev), int(sol.njev), int(sol.status), message, wall, resolved,
                   rtol, atol, None, dense)


def _solve(net, x0, t0, t1, method, options, t_eval, on_time, dense_output, until_loss):
    """One ``solve_ivp`` call for a state or a (jointly integrated) stack of states."""
    from scipy.integrate import solve_ivp       # imported on use: 0.5 s of every `import dlnsys`
    shape = x0.shape
    options = dict(options)
    budget = options.pop("budget", None)
    if method in STIFF_METHODS:
        jac, extra = _jacobian(net, shape, method)
        options["jac"] = jac
        options.update(extra)
    events = None
    if until_loss is not None:
        def reached(t, y):
            return float(np.max(flow.loss(net, y.reshape(shape)))) - until_loss
        reached.terminal = True
        reached.direction = -1
        events = [reached]
    if budget is not None:
        events = (events or []) + [_budget_event(budget)]
    with _blas_threads_for(x0.size):
        sol = solve_ivp(_rhs(net, shape, on_time), (t0, t1), x0.reshape(-1), method=method, t_eval=t_eval,
                        dense_output=dense_output, events=events, **options)
    if budget is not None and sol.status == 1 and len(sol.t_events[-1]):
        sol.status = 2                    # stopped by the budget, not by until_loss
        sol.message = budget.message(float(sol.t[-1]) if sol.t.size else t0)
    return sol


def _budget_event(budget):
    """A terminal event of solve_ivp that fires once ``budget`` is spent (checked once per step).

    solve_ivp locates an event's root between the last two steps by bisection, so the function
    must change sign there consistently: once the budget is spent it latches a cut time between
    the last good step and this one and returns ``t_cut - t``.
    """
    state = {"t_ok": None, "t_cut": None}

    def out_of_budget(t, y):
        if state["t_cut"] is not None:
            return state["t_cut"] - t
        if not budget.exhausted(1):
            state["t_ok"] = t
            return 1.0
        t_ok = t if state["t_ok"] is None else state["t_ok"]
        state["t_cut"] = t_ok + 0.5 * (t - t_ok)
        return state["t_cut"] - t
    out_of_budget.terminal = True
    return out_of_budget


class _Piecewise:
    """Dense output of one member made of consecutive ``OdeSolution`` segments."""

    def __init__(self, segments):
        self.segments = segments            # [(t_lo, t_hi, sol)] in time order; segment k covers (t_hi[k-1], t_hi[k]]
        self._bounds = np.array([hi for _, hi, _ in segments[:-1]], dtype=float)

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        tt = np.atleast_1d(t).ravel()
        idx = np.searchsorted(self._bounds, tt, side="left")
        out = None
        for k in np.unique(idx):
            sel = idx == k
            vals = self.segments[k][2](tt[sel])
            if out is None:
                out = np.empty((vals.shape[0], tt.size))
            out[:, sel] = vals
        return out[:, 0] if t.ndim == 0 else out.reshape((out.shape[0],) + t.shape)


class _EnsembleDense:
    """Dense output of a separately integrated ensemble, laid out like the joint one."""

    def __init__(self, members):
        self.members = members

    def __call__(self, t):
        vals = [m(t) for m in self.members]            # each (n,) or (n, k)
        return np.stack(vals).reshape((-1,) + vals[0].shape[1:])


def _simulate_separate(net, X0, t_final, method, options, t_eval, progress, dense_output, until_loss):
    """Integrate the members of an ensemble one by one and put them on a common time grid.

    Each member gets its own step sizes (a joint stiff solve is paced by the stiffest member
    and factorizes the whole block Jacobian). Without ``t_eval`` the common grid is the union
    of the members' step times (thinned to :data:`ENSEMBLE_MAX_GRID` points), where every member
    is evaluated from its dense output. With ``until_loss`` the members that reach it early
    are continued to the time at which the last one does, as in a joint run.
    """
    batch = X0.shape[0]
    prog = make_progress(progress, batch * t_final, label="dlnsys simulate (ensemble)", unit="member-time")
    start = time.perf_counter()
    sols, nfev, njev, status, message = [], 0, 0, 0, "The solver successfully reached the end of the " \
        "integration interval."
    try:
        for b in range(batch):
            offset = b * t_final
            sol = _solve(net, X0[b], 0.0, t_final, method, options, None, lambda t: prog.update(offset + t),
                         True, until_loss)
            nfev += int(sol.nfev)
            njev += int(sol.njev)
            if sol.status < 0:
                status, message = -1, f"member {b}: {sol.message}"
            elif sol.status == 2 and status == 0:
                status, message = 2, f"member {b}: {sol.message}"
            sols.append(sol)
        reached = [s.status == 1 for s in sols]
        t_stop = t_final
        if until_loss is not None and all(reached) and status == 0:
            t_stop = max(float(s.t_events[0][-1]) for s in sols)
            status = 1
            message = f"the loss reached until_loss = {until_loss:g} at t = {t_stop:.6g}"
        members = []
        for b, sol in enumerate(sols):
            t_end = float(sol.t[-1])
            segs = [(0.0, t_end, sol.sol)]
            if sol.status == 1 and t_end < t_stop:      # continue an early finisher
                more = _solve(net, sol.y[:, -1], t_end, t_stop, method, options, None, lambda t: None, True,
                              None)
                nfev += int(more.nfev)
                njev += int(more.njev)
                if more.status < 0:
                    status, message = -1, f"member {b}: {more.message}"
                segs.append((t_end, float(more.t[-1]), more.sol))
            members.append(_Piecewise(segs))
        ends = [m.segments[-1][1] for m in members]
        t_common = min(ends) if status < 0 or status == 2 else t_stop
    finally:
        prog.close()
    if t_eval is not None:
        grid = t_eval[t_eval <= t_common]
        if grid.size == 0 or (grid[-1] < t_common and status != 0):
            grid = np.append(grid, t_common)
    else:
        grid = np.unique(np.concatenate([seg[2].ts for m in members for seg in m.segments] + [[0.0, t_common]]))
        grid = grid[grid <= t_common]
        if grid.size > ENSEMBLE_MAX_GRID:
            grid = grid[np.unique(np.linspace(0, grid.size - 1, ENSEMBLE_MAX_GRID).round().astype(int))]
    x = np.stack([np.moveaxis(np.asarray(m(grid)), -1, 0) for m in members], axis=1)
    wall = time.perf_counter() - start
    dense = _EnsembleDense(members) if dense_output else None
    return _result(net, grid, x, nfev, njev, status, message, wall, method, options["rtol"], options["atol"],
                   None, dense)


def _result(net, t, x, nfev, njev, status, message, wall, method, rtol, atol, eta, dense=None, summary=None):
    """The Trajectory; ``summary``: ``(loss, relative drift, absolute drift)`` if already computed."""
    t = np.asarray(t, dtype=float)
    if t.size == 0:               # a failure before the first saved time
        rel = ab = float("nan")
        loss = np.zeros((0,) + x.shape[1:-1])
    elif summary is not None:
        loss, rel, ab = summary
    else:
        with np.errstate(over="ignore", invalid="ignore"):    # diverged gradient descent
            loss = flow.loss(net, x)
            rel, ab = _drift(net, x)
    return Trajectory(t=t, x=x, loss=loss, conserved_drift=rel, conserved_drift_abs=ab, nfev=nfev,
                      njev=njev, status=status, message=message, wall_time=wall, method=method, net=net,
                      rtol=rtol, atol=atol, eta=eta, dense=dense)


# ------------------------------------------------------------------ gradient descent
def simulate_gd(net, x0, eta, steps, *, record_every=1, progress=False) -> Trajectory:
    """Gradient descent (67) ``x_{k+1} = x_k - eta * grad L(x_k)`` for ``steps`` steps.

    Returns a :class:`Trajectory` with ``t = k * eta`` (the time of the flow that step k
    approximates) for ``k = 0, record_every, 2 * record_every, ...`` and always the last
    step; ``nfev = steps`` gradient evaluations. A batch ``x0`` of shape
    ``(batch, n_params)`` iterates all members together. If an iterate stops being
    finite (eta too large), the run stops there with ``status = -1``.
    """
    x = _initial_states(net, x0)
    eta = _positive_number(eta, "eta")
    for value, name in ((steps, "steps"), (record_every, "record_every")):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise ValueError(f"{name}: expected an integer, got {value!r}")
    steps, record_every = int(steps), int(record_every)
    if steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps}")
    if record_every < 1:
        raise ValueError(f"record_every: expected a positive integer, got {record_every}")
    prog = make_progress(progress, steps, label="dlnsys gd", unit="step")
    ks, xs = [0], [x.copy()]
    status, message = 0, f"completed {steps} steps"
    start = time.perf_counter()
    done = 0
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(1, steps + 1):
                x = x + eta * flow.vector_field(net, x)
                done = k
                if not np.all(np.isfinite(x)):
                    status, message = -1, f"diverged at step {k} (eta = {eta:g} is too large)"
                    break
                if k % record_every == 0 or k == steps:
                    ks.append(k)
                    xs.append(x.copy())
                prog.update(k)
    finally:
        prog.close()
    wall = time.perf_counter() - start
    t = np.asarray(ks, dtype=float) * eta
    return _result(net, t, np.stack(xs), done, 0, status, message, wall, "gd", None, None, eta)


# ------------------------------------------------------------------ benchmark
def _benchmark_methods(cases=None, methods=("RK45", "DOP853", "LSODA", "BDF", "Radau", "CBDF"), rtol=1e-8, atol=1e-10,
                       reps=3, explicit_budget=2e6, stream=None):
    """Reproduce the table of the module docstring (``python -m dlnsys.simulate``; minutes).

    Section 6.1 network, ``init.gaussian(net, scale, seed=0)``; each method at ``rtol, atol``
    (best wall time of ``reps``), error = max-norm distance of the final state to a reference
    run at ``rtol=1e-12, atol=1e-14`` (DOP853, or Radau where DOP853 would need more than
    ``explicit_budget`` evaluations; explicit methods are skipped there too).
    """
    import sys

    from . import init
    from .network import Network

    stream = sys.stdout if stream is None else stream
    net = Network((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5))
    cases = cases or [(1e-2, 200.0), (1e-2, 400.0), (5e-2, 200.0), (5e-2, 400.0), (1.0, 20.0), (1e-2, 1e5)]
    for scale, T in cases:
        x0 = init.gaussian(net, scale, seed=0)
        ref_method = "DOP853" if T <= 1000 else "Radau"
        t0 = time.perf_counter()
        ref = simulate(net, x0, T, method=ref_method, rtol=1e-12, atol=1e-14)
        print(f"scale={scale:g} T={T:g}: reference {ref_method} rtol=1e-12 nfev={ref.nfev} "
              f"{time.perf_counter() - t0:.1f}s final loss {ref.final_loss:.4g}", file=stream, flush=True)
        for m in methods:
            if m in ("RK45", "RK23", "DOP853") and ref_method != "DOP853":
                print(f"  {m:7s} skipped (explicit method on a long stiff run)", file=stream, flush=True)
                continue
            best, tr = np.inf, None
            for _ in range(reps):
                tr = simulate(net, x0, T, method=m, rtol=rtol, atol=atol)
                best = min(best, tr.wall_time)
                if tr.wall_time > 20:
                    break
            err = float(np.max(np.abs(tr.final - ref.final)))
            print(f"  {m:7s} {best:8.3f}s nfev={tr.nfev:8d} njev={tr.njev:4d} steps={tr.n_t - 1:7d} "
                  f"err={err:.1e} drift={tr.conserved_drift:.1e} loss={tr.final_loss:.4g}",
                  file=stream, flush=True)


if __name__ == "__main__":   # pragma: no cover
    _benchmark_methods()
