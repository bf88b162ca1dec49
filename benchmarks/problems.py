"""The benchmark problems of ``benchmarks/run.py`` and their tight references.

Problems (issue "Performance"; rtol 1e-8, atol 1e-10 for every method):

``p1-small``  Section 6.1 network, dims (11,6,6,6,6,4), sigma (7,5.5,4,2.5), ``init.gaussian(net,
              5e-2, seed=0)`` to t = 400: three singular values learned, the fourth plateau reached.
``p1-large``  the same network from ``init.gaussian(net, 1, seed=0)`` to t = 20 (stiff: Hessian
              eigenvalues up to 4e4 at the minimum).
``p2``        the single hidden node (62), sigma = 1, 1,000 initial conditions on a 40 x 25 grid of
              [-1.5, 1.5]^2 (the w2 values shifted by 0.005 so that no point lies on the stable
              manifold w1 = -w2 of the saddle at the origin, where the final state would be decided
              by rounding), to t = 20, saved on 201 equally spaced times.
``p3-deep``   11 layers of width 64 (45,056 weights), sigma linspace(2, 1, 64), ``init.gaussian(net,
              1/8, seed=0)`` (std 1/sqrt(width)), to t = 10, saved on 11 times.
``p3-wide``   5 layers of width 256 (327,680 weights), sigma linspace(2, 1, 256), std 1/16, to t = 10,
              saved on 11 times (every step of a 327,680-dim run would be 2.6 MB per step).

``--quick`` integrates p3 to t = 1 only.

References: ``scipy.integrate.solve_ivp(method="DOP853", rtol=1e-12, atol=1e-14)`` with the
compiled right-hand side of :mod:`dlnsys.compiled` when available (else ``dlnsys.flow``; for p3
:class:`dlnsys.fastflow.BlockFlow`), one member at a time for p2. They are cached in
``benchmarks/results/refs/`` (git-ignored) under a hash of the problem; the first run computes
them (p1-large ~30 s, p3-wide a few minutes). Errors are
``max |x - x_ref| / max |x_ref|`` over the final state (for p2: the largest over the members of
each member's relative error).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
REF_RTOL, REF_ATOL = 1e-12, 1e-14
RTOL, ATOL = 1e-8, 1e-10

SECTION61 = ((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5))


@dataclass
class Problem:
    key: str
    title: str
    dims: tuple
    sigma: tuple
    t_final: float
    x0: np.ndarray                      # (n,) or (batch, n)
    t_eval: np.ndarray | None = None    # output times (None: every step, as dlnsys's default)
    rtol: float = RTOL
    atol: float = ATOL
    notes: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def is_ensemble(self):
        return self.x0.ndim == 2

    @property
    def n_params(self):
        return int(self.x0.shape[-1])

    def network(self):
        from dlnsys import Network
        return Network(self.dims, self.sigma)

    def digest(self):
        h = hashlib.sha256()
        h.update(json.dumps([self.key, list(self.dims), list(self.sigma), self.t_final, self.rtol, self.atol,
                             REF_RTOL, REF_ATOL]).encode())
        h.update(np.ascontiguousarray(self.x0).tobytes())
        if self.t_eval is not None:
            h.update(np.ascontiguousarray(self.t_eval).tobytes())
        return h.hexdigest()[:16]


PROBLEM_KEYS = ("p1-small", "p1-large", "p2", "p3-deep", "p3-wide")


def make_problem(key, quick=False) -> Problem:
    import warnings

    from dlnsys import Network, init
    if key in ("p1-small", "p1-large"):
        dims, sigma = SECTION61
        net = Network(dims, sigma)
        scale, T = (5e-2, 400.0) if key == "p1-small" else (1.0, 20.0)
        return Problem(key, f"Section 6.1, scale {scale:g}, t = {T:g}", dims, sigma, T,
                       init.gaussian(net, scale, seed=0),
                       notes="every solver step saved (dlnsys's default)", meta={"scale": scale})
    if key == "p2":
        g1 = np.linspace(-1.5, 1.5, 40)
        g2 = np.linspace(-1.5, 1.5, 25) + 0.005
        X0 = np.array([[a, b] for a in g1 for b in g2])
        return Problem(key, "(62) ensemble, 1,000 grid points, t = 20", (1, 1, 1), (1.0,), 20.0, X0,
                       t_eval=np.linspace(0.0, 20.0, 201), notes="40 x 25 grid of [-1.5, 1.5]^2")
    if key in ("p3-deep", "p3-wide"):
        width, layers = (64, 11) if key == "p3-deep" else (256, 5)
        dims = (width,) * (layers + 1)
        sigma = tuple(float(v) for v in np.linspace(2.0, 1.0, width))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = Network(dims, sigma)
        T = 1.0 if quick else 10.0
        return Problem(key, f"{layers} layers x {width}, t = {T:g}", dims, sigma, T,
                       init.gaussian(net, 1.0 / np.sqrt(width), seed=0), t_eval=np.linspace(0.0, T, 11),
                       notes=f"{net.n_params} weights, init std 1/sqrt({width})",
                       meta={"width": width, "layers": layers})
    raise ValueError(f"problem: unknown {key!r}; choose from {', '.join(PROBLEM_KEYS)}")


# ------------------------------------------------------------------ references
def _reference_rhs(prob):
    import warnings

    from dlnsys import compiled, flow
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = prob.network()
    if prob.n_params > 4096:
        from dlnsys.fastflow import BlockFlow
        return BlockFlow(net).rhs_function(), "BlockFlow"
    if compiled.available():
        return compiled.CompiledFlow(net).rhs_function(), "compiled"
    return (lambda t, y: flow.vector_field(net, y)), "numpy"


def compute_reference(prob, log=print):
    """Final state(s) of DOP853 at rtol 1e-12, atol 1e-14, plus its step count at prob.rtol."""
    from scipy.integrate import solve_ivp
    fun, kind = _reference_rhs(prob)
    t0 = time.perf_counter()
    X0 = prob.x0 if prob.is_ensemble else prob.x0[None]
    finals, nfev = [], 0
    for x0 in X0:
        sol = solve_ivp(fun, (0.0, prob.t_final), x0, method="DOP853", rtol=REF_RTOL, atol=REF_ATOL)
        if sol.status != 0:
            raise RuntimeError(f"{prob.key}: reference DOP853 failed: {sol.message}")
        finals.append(sol.y[:, -1])
        nfev += sol.nfev
    final = np.array(finals) if prob.is_ensemble else finals[0]
    wall = time.perf_counter() - t0
    # DOP853 at the benchmark tolerance: how many steps a Dopri run stores (PyDSTool's max_pts)
    steps = None
    if not prob.is_ensemble and prob.n_params <= 4096:
        sol = solve_ivp(fun, (0.0, prob.t_final), prob.x0, method="DOP853", rtol=prob.rtol, atol=prob.atol)
        steps = int(sol.t.size)
    elif prob.is_ensemble:
        steps = max(int(solve_ivp(fun, (0.0, prob.t_final), x0, method="DOP853", rtol=prob.rtol,
                                  atol=prob.atol).t.size) for x0 in prob.x0[::50])
    log(f"  reference {prob.key}: DOP853 rtol {REF_RTOL:g} with the {kind} RHS, {nfev} evaluations, "
        f"{wall:.1f} s")
    return {"final": final, "nfev": nfev, "wall_s": wall, "rhs": kind, "dop853_steps": steps}


def reference(prob, log=print, use_cache=True):
    """The cached reference of ``prob`` (computed and stored on first use)."""
    path = RESULTS / "refs" / f"{prob.key}-{prob.digest()}.npz"
    if use_cache and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {"final": z["final"], "nfev": int(z["nfev"]), "wall_s": float(z["wall_s"]),
                    "rhs": str(z["rhs"]), "dop853_steps": int(z["dop853_steps"]) if int(z["dop853_steps"]) >= 0
                    else None, "cached": True}
    ref = compute_reference(prob, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, final=ref["final"], nfev=ref["nfev"], wall_s=ref["wall_s"], rhs=ref["rhs"],
             dop853_steps=-1 if ref["dop853_steps"] is None else ref["dop853_steps"])
    ref["cached"] = False
    return ref


def relative_error(prob, final, ref_final):
    """``max|x - r| / max|r|`` (for an ensemble: the worst member's)."""
    final = np.asarray(final, dtype=float)
    ref_final = np.asarray(ref_final, dtype=float)
    if final.shape != ref_final.shape:
        return float("nan")
    if prob.is_ensemble:
        num = np.max(np.abs(final - ref_final), axis=-1)
        den = np.maximum(np.max(np.abs(ref_final), axis=-1), 1e-300)
        return float(np.max(num / den))
    return float(np.max(np.abs(final - ref_final)) / max(np.max(np.abs(ref_final)), 1e-300))
