"""Pseudo-arclength continuation of equilibria on conservation-law leaves.

A branch of solutions of ``G(u, p) = 0`` is followed in the arclength of ``(u, p)``:
tangent predictor ``(u, p) + ds t`` and Newton corrector on ``G = 0`` plus the hyperplane
``t . ((u, p) - (u_k, p_k)) = ds`` (Keller). The systems:

* ``"bordered"`` (networks, gamma = 0): ``u = (x, mu)``,
  ``G = (f(x) + D_S(x)^T mu, pi_S(x) - c_S)`` over an independent set S of the laws of Prop. 6
  (chosen by a rank-revealing QR at the start). On a leaf the equilibria are isolated
  (generically), so this system has regular solution curves; the multipliers vanish on them.
  Parameters: a leaf constant ``c_k``, a singular value ``sigma_j`` or ``gamma``.
* ``"full"`` (networks with gamma > 0, no laws): ``G = f(x)``. With regularization the laws are
  not conserved (``C(t) = C(0) exp(-2 gamma t)``), every equilibrium has ``C = 0``, and for
  scalar chains the equilibria are isolated in the full space.
* the regularized logistic equation ``z' = z^(h-1) (sigma - z^h) - gamma z`` (the 0-balanced
  reduction (61) with the regularization of (25)), :class:`LogisticSystem`.

Special points (refined by bisection/Brent on the test function along the arclength):

* ``LP`` (fold): the parameter component of the tangent changes sign, away from a BP (where a
  branch may turn back in the parameter without being a fold: the symmetric pitchfork of an even-h
  logistic at gamma = 0 is reported as a BP only, as AUTO-07p does);
* ``BP`` (branch point): the determinant of the augmented Jacobian ``[[G_u, G_p], [t^T]]``
  changes sign. With ``switch=True`` the branches through the BP are followed too: their
  direction is the part of the 2-dimensional null space of ``[G_u, G_p]`` orthogonal to the
  current tangent.

Stability along the branch is that of the flow restricted to the leaf: the eigenvalues of
``B^T J B`` (B an orthonormal basis of the leaf tangent space) for the bordered system, of J
for the full system, and ``dG/dz`` for the logistic equation.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
import time

import numpy as np

from . import flow, invariants
from .leaves import _ResultMixin, _law_curvature, _leaf_vector, _select_laws, _zero_tol, parse_leaf

__all__ = ["continuation", "Branch", "SpecialPoint", "LogisticSystem"]


# ----------------------------------------------------------------------- systems
@dataclasses.dataclass
class LogisticSystem:
    """The regularized logistic equation ``z' = z^(h-1) (sigma - z^h) - gamma z``.

    With ``gamma = 0`` this is (61), the 0-balanced diagonal reduction of one channel; the
    ``-gamma z`` term is the L2 regularization of (25) in the same reduction. The equilibria:
    ``z = 0`` and the roots of ``z^(h-2) (sigma - z^h) = gamma``. For h = 2 the nontrivial ones
    ``z^2 = sigma - gamma`` meet ``z = 0`` in a pitchfork at ``gamma = sigma``; for h = 3,
    ``gamma = z sigma - z^4`` has a fold at ``z = (sigma/4)^(1/3)``,
    ``gamma_LP = (3/4) sigma (sigma/4)^(1/3)``.
    """

    h: int
    sigma: float
    gamma: float = 0.0

    def __post_init__(self):
        if isinstance(self.h, bool) or not isinstance(self.h, (numbers.Integral, np.integer)) or self.h < 1:
            raise ValueError(f"h: expected a positive integer depth, got {self.h!r}")
        for name in ("sigma", "gamma"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)) \
                    or not math.isfinite(float(v)):
                raise ValueError(f"{name}: expected a finite number, got {v!r}")
        self.h, self.sigma, self.gamma = int(self.h), float(self.sigma), float(self.gamma)

    def vector_field(self, z, sigma=None, gamma=None):
        s = self.sigma if sigma is None else sigma
        g = self.gamma if gamma is None else gamma
        return z ** (self.h - 1) * (s - z ** self.h) - g * z

    def derivative(self, z, sigma=None, gamma=None):
        s = self.sigma if sigma is None else sigma
        g = self.gamma if gamma is None else gamma
        h = self.h
        return (h - 1) * z ** (h - 2) * s - (2 * h - 1) * z ** (2 * h - 2) - g if h > 1 else -1.0 - g


class _View:
    """Minimal stand-in for a Network with other sigma/gamma (any values: continuation may
    cross the ordering or positivity that ``Network`` enforces). Has what ``dlnsys.flow`` uses."""

    def __init__(self, net, sigma, gamma):
        self.dims, self.h, self.shapes = net.dims, net.h, net.shapes
        self.param_offsets, self.n_params = net.param_offsets, net.n_params
        self.d_x, self.d_y, self.mask = net.d_x, net.d_y, None
        self.sigma = np.asarray(sigma, dtype=float)
        self.gamma = float(gamma)
        S = np.zeros((net.d_y, net.d_x))
        S[np.arange(net.d_y), np.arange(net.d_y)] = self.sigma
        self.Sigma = S
        self.unpack = net.unpack


class _NetProblem:
    def __init__(self, net, ptype, index, target, formulation, x0):
        self.net, self.ptype, self.index = net, ptype, index
        self.formulation = formulation
        self.n = net.n_params
        self.target = np.array(target, dtype=float)
        if formulation == "bordered":
            D = invariants.conservation_differential(net, x0)
            if ptype == "c":
                sel = _select_including(D, index)
            else:
                sel, _ = _select_laws(D)
            self.sel = np.asarray(sel, dtype=int)
        else:
            self.sel = np.zeros(0, dtype=int)
        self.m = len(self.sel)
        if ptype == "c":
            self.kpos = int(np.flatnonzero(self.sel == index)[0])

    # parameter handling
    def value0(self):
        if self.ptype == "c":
            return float(self.target[self.index])
        if self.ptype == "sigma":
            return float(self.net.sigma[self.index])
        return float(self.net.gamma)

    def view(self, p):
        sigma = np.array(self.net.sigma, dtype=float)
        gamma = float(self.net.gamma)
        if self.ptype == "sigma":
            sigma[self.index] = p
        elif self.ptype == "gamma":
            gamma = p
        return _View(self.net, sigma, gamma)

    def tsel(self, p):
        t = self.target[self.sel].copy()
        if self.ptype == "c":
            t[self.kpos] = p
        return t

    def G(self, u, p):
        x = u[:self.n]
        v = self.view(p)
        f = flow.vector_field(v, x)
        if not self.m:
            return f
        mu = u[self.n:]
        D = invariants.conservation_differential(self.net, x)[self.sel]
        r2 = invariants.conserved_vector(self.net, x)[self.sel] - self.tsel(p)
        return np.concatenate([f + D.T @ mu, r2])

    def Gu(self, u, p):
        x = u[:self.n]
        J = -flow.hessian(self.view(p), x)
        if not self.m:
            return J
        mu = u[self.n:]
        D = invariants.conservation_differential(self.net, x)[self.sel]
        A = np.zeros((self.n + self.m, self.n + self.m))
        A[:self.n, :self.n] = J + _law_curvature(self.net, self.sel, mu)
        A[:self.n, self.n:] = D.T
        A[self.n:, :self.n] = D
        return A

    def Gp(self, u, p):
        x = u[:self.n]
        out = np.zeros(self.n + self.m)
        if self.ptype == "c":
            out[self.n + self.kpos] = -1.0
        elif self.ptype == "sigma":
            e = np.zeros(self.net.d_y)
            e[self.index] = 1.0
            zero = np.zeros(self.net.d_y)
            out[:self.n] = flow.vector_field(_View(self.net, e, 0.0), x) - flow.vector_field(_View(self.net, zero, 0.0), x)
        else:
            out[:self.n] = -x
        return out

    def state(self, u):
        return u[:self.n]

    def mult(self, u):
        return u[self.n:]

    def eig(self, u, p):
        x = u[:self.n]
        v = self.view(p)
        J = -flow.hessian(v, x)
        if self.formulation == "bordered":
            B = invariants.leaf_tangent_basis(self.net, x)
            J = B.T @ J @ B
        w = np.linalg.eigvalsh(0.5 * (J + J.T)) if J.size else np.zeros(0)
        return w, _zero_tol(self.net, w)

    def signature(self, u, p):
        v = self.view(p)
        x = u[:self.n]
        prod = v.Sigma - flow.residual(v, x)
        sv = np.linalg.svd(np.atleast_2d(prod), compute_uv=False)
        out = []
        for j, s in enumerate(v.sigma):
            if s != 0 and np.min(np.abs(sv - s)) <= 1e-6 * abs(s):
                out.append(j + 1)
        return tuple(out)


class _LogisticProblem:
    formulation = "logistic"

    def __init__(self, sysm, ptype):
        self.s, self.ptype = sysm, ptype
        self.n, self.m = 1, 0
        self.sel = np.zeros(0, dtype=int)

    def value0(self):
        return self.s.sigma if self.ptype == "sigma" else self.s.gamma

    def _sg(self, p):
        return (p, self.s.gamma) if self.ptype == "sigma" else (self.s.sigma, p)

    def G(self, u, p):
        s, g = self._sg(p)
        return np.array([self.s.vector_field(u[0], s, g)])

    def Gu(self, u, p):
        s, g = self._sg(p)
        return np.array([[self.s.derivative(u[0], s, g)]])

    def Gp(self, u, p):
        z = u[0]
        return np.array([z ** (self.s.h - 1) if self.ptype == "sigma" else -z])

    def state(self, u):
        return u[:1]

    def mult(self, u):
        return u[1:1]

    def eig(self, u, p):
        w = self.Gu(u, p)[0]
        return w, 1e-8 * max(abs(w[0]), abs(self._sg(p)[0]) ** (2 - 2 / self.s.h) if self.s.h > 1 else 1.0, 1e-300)

    def signature(self, u, p):
        return None


def _select_including(D, k):
    """An independent set of rows of D containing row k (raises if row k is zero)."""
    sel, _ = _select_laws(D)
    if k in sel:
        return sel
    if np.linalg.norm(D[k]) == 0.0:
        raise ValueError(f"param: the leaf constant c{k + 1} has a zero differential at the start point "
                         "(a singular point of the leaf); start elsewhere")
    rows = [k]
    for j in sel:
        trial = rows + [int(j)]
        if np.linalg.matrix_rank(D[trial]) == len(trial):
            rows = trial
    return np.sort(np.array(rows, dtype=int))


# ----------------------------------------------------------------------- results
@dataclasses.dataclass
class SpecialPoint(_ResultMixin):
    """A fold (``"LP"``), branch point (``"BP"``) or end point (``"EP"``) of a branch.

    ``index`` is its position in the branch arrays; ``branches`` holds the branches
    followed from a BP (branch switching), ``test_value`` the value of the test function at
    the refined point (LP: parameter component of the unit tangent; BP: determinant of the
    augmented Jacobian), ``stability`` the leaf stability on each side (before, after).
    """

    type: str
    index: int
    parameter: float
    state: np.ndarray
    multipliers: np.ndarray
    eigenvalues: np.ndarray
    test_value: float
    stability: tuple = ()
    note: str = ""
    branches: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Branch(_ResultMixin):
    """A branch of equilibria from :func:`continuation`.

    Attributes
    ----------
    system : str
        What was continued (network dims and sigma, or the logistic equation).
    param : str
        The continuation parameter (``"c1"``, ``"sigma2"``, ``"gamma"``, ...).
    formulation : str
        ``"bordered"``, ``"full"`` or ``"logistic"``.
    parameter : ndarray (N,)
    states : ndarray (N, n)
        The equilibria (network states, or ``z``).
    multipliers : ndarray (N, m)
        The bordered multipliers ``mu`` (vanish on true solutions).
    eigenvalues : list of ndarray
        Leaf-restricted Jacobian eigenvalues at each point.
    stability : list of str
        ``"stable"`` (all < 0), ``"unstable"`` (some > 0) or ``"neutral"`` (none > 0, some 0).
    n_unstable : ndarray (N,) of int
    signatures : list
        Signature of each point (networks), else None.
    special_points : list of SpecialPoint
    laws : list of int
        Positions of the laws in the bordered system (``conserved_vector`` order).
    leaf : ndarray
        The leaf constants (``conserved_vector`` order) at the start.
    status : str
        ``"ok"`` (reached the end of the parameter range), ``"max_steps"``, ``"max_time"`` (the time
        budget ran out), ``"unbounded"`` (left
        the ball ``|u| <= bound``) or ``"failed"`` (the corrector failed at the smallest step).
    message : str
    """

    system: str
    param: str
    formulation: str
    parameter: np.ndarray
    states: np.ndarray
    multipliers: np.ndarray
    eigenvalues: list
    stability: list
    n_unstable: np.ndarray
    signatures: list
    special_points: list
    laws: list
    leaf: np.ndarray
    status: str
    message: str
    depth: int = 0

    def __len__(self):
        return len(self.parameter)

    def points(self, type):
        return [s for s in self.special_points if s.type == type]

    def all_branches(self):
        """This branch and, recursively, every branch switched to at a BP."""
        yield self
        for sp in self.special_points:
            for b in sp.branches:
                yield from b.all_branches()

    def summary(self, indent="") -> str:
        lines = [f"{indent}branch of {self.system}, parameter {self.param} ({self.formulation}): "
                 f"{len(self)} points, {self.param} from {self.parameter[0]:.10g} to {self.parameter[-1]:.10g}, "
                 f"status {self.status}" + (f" ({self.message})" if self.message else "")]
        runs = []
        for k, s in enumerate(self.stability):
            if not runs or runs[-1][0] != s:
                runs.append([s, k, k])
            runs[-1][2] = k
        for s, a, b in runs:
            seg = self.parameter[a:b + 1]
            lines.append(f"{indent}  {s:9s} for {self.param} in [{seg.min():.8g}, {seg.max():.8g}] "
                         f"(points {a}..{b})")
        for sp in self.special_points:
            x = np.array2string(np.asarray(sp.state), precision=10, separator=", ", threshold=8,
                                max_line_width=10**6)
            lines.append(f"{indent}  {sp.type} at {self.param} = {sp.parameter:.12g}, state {x}"
                         + (f"; {sp.note}" if sp.note else ""))
            for b in sp.branches:
                lines.append(b.summary(indent + "    "))
        return "\n".join(lines)


# ----------------------------------------------------------------------- algorithm
def _parse_param(param, system):
    if not isinstance(param, str):
        raise ValueError(f"param: expected 'c<k>', 'sigma<j>' or 'gamma', got {param!r}")
    p = param.strip().lower()
    m = re.fullmatch(r"(c|sigma|gamma)(\d*)", p)
    if not m:
        raise ValueError(f"param: expected 'c<k>' (leaf constant), 'sigma<j>' or 'gamma', got {param!r}")
    kind, num = m.group(1), m.group(2)
    if kind == "gamma":
        if num:
            raise ValueError(f"param: 'gamma' takes no index, got {param!r}")
        return "gamma", 0
    idx = int(num) - 1 if num else 0
    if idx < 0:
        raise ValueError(f"param: indices are 1-based, got {param!r}")
    if isinstance(system, LogisticSystem):
        if kind == "c":
            raise ValueError("param: the logistic equation has no leaf constants; use 'sigma' or 'gamma'")
        if idx != 0:
            raise ValueError("param: the logistic equation has one singular value ('sigma')")
        return kind, 0
    net = system
    if kind == "c":
        if net.n_conservation_laws == 0:
            raise ValueError("param: this network has no conservation laws (h = 1)")
        if idx >= net.n_conservation_laws:
            raise ValueError(f"param: c{idx + 1} out of range; the leaf has {net.n_conservation_laws} constants "
                             "(upper-triangular entries of C_1, ..., C_(h-1) in order)")
    if kind == "sigma" and idx >= net.d_y:
        raise ValueError(f"param: sigma{idx + 1} out of range (d_y = {net.d_y})")
    return kind, idx


def _solve(A, b):
    try:
        x = np.linalg.solve(A, b)
        if np.all(np.isfinite(x)):
            return x
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(A, b, rcond=None)[0]


class _Runner:
    def __init__(self, P, tol, max_newton, bound):
        self.P, self.tol, self.max_newton, self.bound = P, tol, max_newton, bound
        self.N = P.n + P.m

    def split(self, y):
        return y[:-1], y[-1]

    def jac_ext(self, y):
        u, p = self.split(y)
        return np.column_stack([self.P.Gu(u, p), self.P.Gp(u, p)])

    def resid_scale(self, y):
        return max(1.0, float(np.linalg.norm(y[:-1])))

    def correct_fixed_p(self, u, p):
        """Newton on G(u, p) = 0 at fixed p (start point)."""
        for _ in range(50):
            G = self.P.G(u, p)
            du = np.linalg.lstsq(self.P.Gu(u, p), -G, rcond=None)[0]
            u = u + du
            if np.linalg.norm(du) <= 1e-14 * max(1.0, np.linalg.norm(u)):
                break
        ok = np.linalg.norm(self.P.G(u, p)) <= 1e-9 * self.resid_scale(np.append(u, p))
        return u, ok

    def correct(self, y0, t, s):
        """Pseudo-arclength corrector from y0 + s t on the hyperplane t.(y - y0) = s."""
        y = y0 + s * t
        for it in range(1, self.max_newton + 1):
            u, p = self.split(y)
            G = self.P.G(u, p)
            r = float(t @ (y - y0) - s)
            A = np.vstack([self.jac_ext(y), t])
            dy = _solve(A, -np.append(G, r))
            y = y + dy
            if not np.all(np.isfinite(y)):
                return y, it, False
            if np.linalg.norm(dy) <= self.tol * max(1.0, np.linalg.norm(y)):
                u, p = self.split(y)
                ok = np.linalg.norm(self.P.G(u, p)) <= 1e3 * self.tol * self.resid_scale(y)
                return y, it, ok
        return y, self.max_newton, False

    def tangent(self, y, t_prev):
        A = np.vstack([self.jac_ext(y), t_prev])
        rhs = np.zeros(self.N + 1)
        rhs[-1] = 1.0
        v = _solve(A, rhs)
        v /= np.linalg.norm(v)
        return v

    def tests(self, y, t):
        A = np.vstack([self.jac_ext(y), t])
        sign, logdet = np.linalg.slogdet(A)
        return float(t[-1]), float(sign), float(logdet)


def _stab_label(w, ztol):
    if w.size == 0:
        return "neutral", 0
    nu = int(np.sum(w > ztol))
    if nu:
        return "unstable", nu
    if np.any(np.abs(w) <= ztol):
        return "neutral", 0
    return "stable", 0


class _BranchBuilder:
    def __init__(self, P, R):
        self.P, self.R = P, R
        self.ys, self.specials = [], []

    def add(self, y):
        self.ys.append(np.array(y, dtype=float))
        return len(self.ys) - 1


def _refine(R, y0, t0, s_lo, s_hi, fn, mode):
    """Find s in (s_lo, s_hi) where fn changes sign (bisection on sign, Brent when continuous)."""
    def eval_at(s):
        y, _, ok = R.correct(y0, t0, s)
        if not ok:
            return None, None, None
        t = R.tangent(y, t0)
        return fn(y, t), y, t

    f_lo, y_lo, t_lo = eval_at(s_lo) if s_lo > 0 else (fn(y0, t0), y0, t0)
    f_hi, y_hi, t_hi = eval_at(s_hi)
    if f_lo is None or f_hi is None:
        return None
    best = (y_hi, t_hi, f_hi)
    for _ in range(200):
        if abs(s_hi - s_lo) <= 1e-14 * max(1.0, abs(s_hi)):
            break
        if mode == "continuous" and f_hi != f_lo:
            s_mid = s_lo + (s_hi - s_lo) * f_lo / (f_lo - f_hi)       # regula falsi step ...
            if not (min(s_lo, s_hi) < s_mid < max(s_lo, s_hi)) or _ < 2 or _ % 3 == 0:
                s_mid = 0.5 * (s_lo + s_hi)                          # ... safeguarded by bisection
        else:
            s_mid = 0.5 * (s_lo + s_hi)
        f_mid, y_mid, t_mid = eval_at(s_mid)
        if f_mid is None:
            break
        best = (y_mid, t_mid, f_mid)
        if f_mid == 0.0:
            break
        if np.sign(f_mid) == np.sign(f_lo):
            s_lo, f_lo = s_mid, f_mid
        else:
            s_hi, f_hi = s_mid, f_mid
    return best


def continuation(system, x0=None, *, param, p_to, p_from=None, leaf=None, step=0.05, max_steps=5000,
                 formulation="auto", start="auto", switch=True, max_depth=1, tol=1e-11, bound=1e3,
                 min_step=1e-10, max_step=None, backend="builtin", max_time=120.0) -> Branch:
    """Follow a branch of equilibria as a parameter varies (pseudo-arclength).

    Parameters
    ----------
    system : Network or LogisticSystem
    x0 : array, optional
        An equilibrium (or a guess, corrected first) at ``p_from``. Default: for scalar
        chains, the exact equilibrium of :func:`dlnsys.equilibria_on_leaf` chosen by ``start``;
        for other networks a bordered-Newton minimum from a random point of the leaf; for the
        logistic equation ``z = 0``.
    param : str
        ``"c<k>"`` (k-th leaf constant, 1-based, ``conserved_vector`` order: the upper triangles
        of ``C_1, ..., C_{h-1}``; for chains ``c_k = w_k^2 - w_{k+1}^2``), ``"sigma<j>"`` or ``"gamma"``.
    p_to : float
        End of the parameter range.
    p_from : float, optional
        Start value (default: the current one: the leaf's ``c_k``, ``sigma_j`` or ``gamma``).
    leaf : leaf constants, optional
        The leaf (any form of :func:`dlnsys.leaves.parse_leaf`); default the leaf through x0
        (zeros when x0 is not given). Its ``c_k`` is replaced by ``p_from``.
    step : float
        Initial and largest arclength step (``max_step`` overrides the largest).
    max_steps : int
    formulation : {"auto", "bordered", "full"}
        ``"auto"``: bordered when gamma = 0 along the branch and the network has laws, else full.
    start : {"auto", "minimum", "saddle", "origin"}
        Default start for chains (``"auto"``: the origin when continuing in gamma, else the
        all-positive minimum).
    switch : bool
        Follow the branches through every BP (both directions), up to ``max_depth`` levels.
    tol : float
        Corrector tolerance (relative step size).
    bound : float
        Stop when ``|u|`` exceeds it (status ``"unbounded"``).
    min_step : float
        Smallest step before giving up (status ``"failed"``).
    max_time : float
        Wall-clock budget in seconds (status ``"max_time"`` with the branch computed so far).
        Steps larger than the whole region the branch can cover (``|p_to - p_from| + 2 bound``)
        are refused: halving them down to a usable size would cost a Newton solve per halving.
    backend : {"builtin", "pycobi"}
        ``"pycobi"``: the same problem run through PyCoBi and AUTO-07p (:mod:`dlnsys._pycobi`;
        needs ``pip install 'dlnsys[pycobi]'`` and Debian ``auto-07p``, ``gfortran``); same
        ``Branch``, points and special points from AUTO, stability from dlnsys.

    Returns
    -------
    Branch
        With ``special_points`` (LP, BP, EP) refined to about 1e-12 in arclength.

    Examples
    --------
    >>> from dlnsys.continuation import continuation, LogisticSystem
    >>> b = continuation(LogisticSystem(h=2, sigma=1.0, gamma=2.0), [0.0], param="gamma", p_to=0.0)
    >>> [(sp.type, round(sp.parameter, 9)) for sp in b.special_points]
    [('BP', 1.0), ('EP', 0.0)]
    """
    from .network import Network

    if backend not in ("builtin", "pycobi"):
        raise ValueError(f"backend: expected 'builtin' or 'pycobi', got {backend!r}")
    if not isinstance(system, (Network, LogisticSystem)):
        raise ValueError(f"system: expected a Network or a LogisticSystem, got {type(system).__name__}")
    ptype, index = _parse_param(param, system)
    p_to = _finite(p_to, "p_to")
    step = _positive(step, "step")
    max_step = step if max_step is None else _positive(max_step, "max_step")
    min_step = _positive(min_step, "min_step")
    tol = _positive(tol, "tol")
    bound = _positive(bound, "bound")
    max_time = _positive(max_time, "max_time")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (numbers.Integral, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps: expected a positive integer, got {max_steps!r}")
    if start not in ("auto", "minimum", "saddle", "origin"):
        raise ValueError(f"start: expected 'auto', 'minimum', 'saddle' or 'origin', got {start!r}")
    if formulation not in ("auto", "bordered", "full"):
        raise ValueError(f"formulation: expected 'auto', 'bordered' or 'full', got {formulation!r}")
    if backend == "pycobi":                # the same arguments, checked above once for both backends
        from ._pycobi import continuation_pycobi
        return continuation_pycobi(system, x0, param=param, p_to=p_to, p_from=p_from, leaf=leaf, step=step,
                                   max_steps=max_steps, formulation=formulation, start=start, switch=switch,
                                   max_depth=max_depth, tol=tol, bound=bound, min_step=min_step, max_step=max_step)

    if isinstance(system, LogisticSystem):
        P = _LogisticProblem(system, ptype)
        p0 = P.value0() if p_from is None else _finite(p_from, "p_from")
        u0 = np.zeros(1) if x0 is None else np.asarray(x0, dtype=float).reshape(-1)[:1]
        if x0 is not None and np.size(x0) != 1:
            raise ValueError(f"x0: the logistic equation has one state z, got {np.size(x0)} values")
        fixed = f"gamma = {system.gamma:g}" if ptype == "sigma" else f"sigma = {system.sigma:g}"
        desc = f"z' = z^{system.h - 1} (sigma - z^{system.h}) - gamma z ({fixed})"
        leafvec = np.zeros(0)
    else:
        net = system
        if net.mask is not None:
            raise ValueError("net: continuation needs a network without a mask")
        p0 = None if p_from is None else _finite(p_from, "p_from")
        P, u0, p0, leafvec = _setup_network(net, x0, ptype, index, p0, p_to, leaf, formulation, start)
        desc = f"Network(dims={net.dims}, sigma={[float(s) for s in net.sigma]}, gamma={net.gamma:g})"
    if p0 == p_to:
        raise ValueError(f"p_to: equals the start value {p0!r}; nothing to continue")
    # An arclength step longer than the box |p| in [p0, p_to], |u| <= bound can only be halved down
    # (hundreds of Newton solves per step for step = 1e200): refuse it instead of spinning.
    span = abs(p_to - p0) + 2.0 * bound       # bounds the diameter of that box
    for name, v in (("step", step), ("max_step", max_step)):
        if v > span:
            raise ValueError(f"{name}: {v:g} is longer than the whole region the branch can cover "
                             f"(|p_to - p_from| + 2 bound = {span:.6g}); use a step of at most that")
    if min_step > min(step, max_step):
        raise ValueError(f"min_step: {min_step:g} is larger than step = {min(step, max_step):g}")
    R = _Runner(P, tol, 12, bound)
    u0, ok = R.correct_fixed_p(u0, p0)
    if not ok:
        raise ValueError(f"x0: not an equilibrium at {param} = {p0:g} and Newton did not reach one "
                         f"(|G| = {np.linalg.norm(P.G(u0, p0)):.3g})")
    y0 = np.append(u0, p0)
    # initial tangent: null vector of [G_u, G_p], oriented towards p_to
    A = R.jac_ext(y0)
    _, sv, vt = np.linalg.svd(A)
    if sv.size >= 1 and sv[-1] <= 1e-9 * max(sv[0], 1e-300):
        raise ValueError(
            f"x0: the solution set through the start point is not a curve (the Jacobian [G_u, G_p] has rank "
            f"{int(np.sum(sv > 1e-9 * sv[0]))} < {sv.size}): the equilibria on this leaf are not isolated (a "
            "continuum, as for networks with hidden widths > 1 on generic leaves) or the start is a branch "
            "point; start elsewhere or use a system with isolated equilibria")
    t0 = vt[-1]
    direction = 1.0 if p_to > p0 else -1.0
    if abs(t0[-1]) > 1e-12:
        t0 = t0 * np.sign(t0[-1]) * direction
    lo, hi = min(p0, p_to), max(p0, p_to)
    return _run(P, R, y0, t0, lo, hi, dict(step=step, max_step=max_step, min_step=min_step,
                                            max_steps=int(max_steps), switch=switch,
                                            max_depth=int(max_depth), bound=bound,
                                            deadline=time.perf_counter() + max_time, max_time=max_time),
                desc, param, leafvec, depth=0, skip_first=False)


def _finite(v, name):
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)) or not math.isfinite(float(v)):
        raise ValueError(f"{name}: expected a finite number, got {v!r}")
    return float(v)


def _positive(v, name):
    v = _finite(v, name)
    if v <= 0:
        raise ValueError(f"{name}: expected a positive number, got {v!r}")
    return v


def _setup_network(net, x0, ptype, index, p0, p_to, leaf, formulation, start):
    from .leaves import equilibria_on_leaf

    gamma_path = net.gamma != 0 or ptype == "gamma"
    if formulation == "auto":
        formulation = "full" if (gamma_path or net.h == 1) else "bordered"
    if formulation == "bordered" and gamma_path:
        if ptype == "gamma":
            raise ValueError("formulation: continuation in gamma needs formulation='full' (gamma > 0 breaks "
                             "the conservation laws; every equilibrium has C = 0)")
        raise ValueError("formulation: the bordered system needs gamma = 0 (with gamma > 0 the laws are not conserved)")
    if ptype == "c" and formulation != "bordered":
        raise ValueError("param: continuation in a leaf constant needs the bordered formulation and gamma = 0")
    if x0 is not None:
        x = net._single(x0).astype(float)
    else:
        x = None
    # leaf constants
    if net.h > 1:
        if leaf is not None:
            mats, _ = parse_leaf(net, leaf, "leaf")
            target = _leaf_vector(net, mats)
        elif x is not None:
            target = invariants.conserved_vector(net, x)
        else:
            target = np.zeros(net.n_conservation_laws)
    else:
        target = np.zeros(0)
    if ptype == "c":
        if p0 is None:
            p0 = float(target[index])
        target = target.copy()
        target[index] = p0
    elif ptype == "sigma":
        p0 = float(net.sigma[index]) if p0 is None else p0
    else:
        p0 = float(net.gamma) if p0 is None else p0
    chain = all(d == 1 for d in net.dims)
    if x is None:
        st = start
        if st == "auto":
            st = "origin" if ptype == "gamma" else "minimum"
        if st == "origin":
            x = np.zeros(net.n_params)
        else:
            if formulation != "bordered":
                raise ValueError("x0: give a start point (only 'origin' is automatic without the bordered formulation)")
            sig_net = net
            if ptype == "sigma" and p0 != float(net.sigma[index]):
                s = np.array(net.sigma, dtype=float)
                s[index] = p0
                try:
                    sig_net = net.with_(sigma=s)
                except ValueError as e:
                    raise ValueError(f"p_from: {e}") from None
            res = equilibria_on_leaf(sig_net, target if net.h > 1 else None,
                                     kind="minimum" if st == "minimum" else "saddle",
                                     method="exact" if chain else "newton", seed=0)
            if not res.equilibria:
                raise ValueError(f"leaf: no {st} on the start leaf ({res.message})")
            # prefer the all-nonnegative sign pattern
            pick = max(res.equilibria, key=lambda e: float(np.sum(np.sign(e.state))))
            x = pick.state
    P = _NetProblem(net, ptype, index, target, formulation, x)
    u0 = np.concatenate([x, np.zeros(P.m)])
    return P, u0, p0, target


def _record(P, y):
    u, p = y[:-1], y[-1]
    w, ztol = P.eig(u, p)
    lab, nu = _stab_label(np.asarray(w), ztol)
    return w, lab, nu


def _run(P, R, y0, t0, lo, hi, opts, desc, param, leafvec, depth, skip_first):
    ys, ts = [y0], [t0]
    recs = [_record(P, y0)]
    specials = []           # (position in ys, SpecialPoint)
    lp_prev, bp_sign, _ = R.tests(y0, t0)
    # a step may land exactly on a special point (the test function is 0 there: gamma = 0 on z = 0 with
    # step 0.05 from -0.1): the signs compared are the last nonzero ones, and a crossing whose zero is
    # such a step point is marked at that point
    zero_at = {"LP": None, "BP": None}
    ds = opts["step"]
    status, message = "max_steps", f"stopped after max_steps = {opts['max_steps']} steps"
    first = True
    y, t = y0, t0
    out_of_time = False
    recent_bp = None
    for _ in range(opts["max_steps"]):
        if time.perf_counter() > opts["deadline"]:
            out_of_time = True
            break
        ok = False
        while ds >= opts["min_step"]:
            if time.perf_counter() > opts["deadline"]:
                out_of_time = True
                break
            y_new, nit, ok = R.correct(y, t, ds)
            if ok:
                # guard against jumping to another branch: the step actually taken must be ~ds
                if np.linalg.norm(y_new - y) <= 3.0 * ds:
                    break
                ok = False
            ds *= 0.5
        if out_of_time:
            break
        if not ok:
            status, message = "failed", f"the corrector failed at the smallest step {opts['min_step']:g}"
            break
        t_new = R.tangent(y_new, t)
        lp_new, bp_new, _ = R.tests(y_new, t_new)
        p_new = y_new[-1]
        events, landed = [], []
        if not (first and skip_first):
            for kind, old, new in (("LP", lp_prev, lp_new), ("BP", bp_sign, bp_new)):
                if old != 0 and new != 0 and np.sign(new) != np.sign(old):
                    if zero_at[kind] is not None:
                        landed.append((kind, zero_at[kind]))
                    else:
                        events.append(kind)
        first = False
        # end of the parameter range
        out_of_range = p_new < lo - 1e-15 * max(1, abs(lo)) or p_new > hi + 1e-15 * max(1, abs(hi))
        found = []
        for ev in events:
            if ev == "LP":
                fn = lambda yy, tt: tt[-1]
                mode = "continuous"
            else:
                fn = lambda yy, tt: R.tests(yy, tt)[1]
                mode = "sign"
            res = _refine(R, y, t, 0.0, ds, fn, mode)
            if res is None:
                continue
            ys_, ts_, fv = res
            if ys_[-1] < lo - 1e-12 or ys_[-1] > hi + 1e-12:
                continue
            found.append((float(t @ (ys_ - y)), ev, ys_, ts_, fv))
        # At a branch point where the followed branch turns back in the parameter (the symmetric pitchfork of an
        # even-h logistic at gamma = 0: gamma = sigma z^(h-2) + ...), the tangent's parameter component changes
        # sign too. That is not a fold (G_p lies in the range of G_u there): like AUTO, report the BP only.
        # An LP refined to within one step of a BP of this step or the previous one is that shadow.
        bps = [f[2] for f in found if f[1] == "BP"] + [ys[k] for kind, k in landed if kind == "BP"]
        bps += [recent_bp] if recent_bp is not None else []
        found = [f for f in found if f[1] != "LP" or all(np.linalg.norm(f[2] - b) > ds for b in bps)]
        landed = [(kind, k) for kind, k in landed
                  if kind != "LP" or all(np.linalg.norm(ys[k] - b) > ds for b in bps)]
        recent_bp = next((f[2] for f in found if f[1] == "BP"), None)
        if recent_bp is None:
            recent_bp = next((ys[k] for kind, k in landed if kind == "BP"), None)
        for kind, k in landed:                 # exactly on an earlier step point: mark it there
            fv = ts[k][-1] if kind == "LP" else None
            _append_special(P, R, ys, ts, recs, specials, ys[k], ts[k], kind, fv, opts, desc, param, leafvec,
                            depth, lo, hi, at=k)
        if out_of_range:
            bnd = hi if p_new > hi else lo
            res = _refine(R, y, t, 0.0, ds, lambda yy, tt: yy[-1] - bnd, "continuous")
            if res is not None:
                ye, te, _ = res
                ye = ye.copy()
                if abs(te[-1]) > 1e-8:                 # land exactly on the boundary
                    ue, okb = R.correct_fixed_p(ye[:-1].copy(), bnd)
                    if okb and np.linalg.norm(ue - ye[:-1]) <= 1e-6 * max(1.0, np.linalg.norm(ye)):
                        ye = np.append(ue, bnd)
                found = [f for f in found if f[0] <= float(t @ (ye - y))]
                found.sort(key=lambda f: f[0])
                for _, ev, ysp, tsp, fv in found:
                    _append_special(P, R, ys, ts, recs, specials, ysp, tsp, ev, fv, opts, desc, param, leafvec,
                                    depth, lo, hi)
                ys.append(ye)
                ts.append(te)
                recs.append(_record(P, ye))
                specials.append((len(ys) - 1, _special(P, ye, "EP", float(ye[-1] - bnd), recs, len(ys) - 1,
                                                       "end of the parameter range")))
            status, message = "ok", ""
            break
        found.sort(key=lambda f: f[0])
        for _, ev, ysp, tsp, fv in found:
            _append_special(P, R, ys, ts, recs, specials, ysp, tsp, ev, fv, opts, desc, param, leafvec,
                            depth, lo, hi)
        ys.append(y_new)
        ts.append(t_new)
        recs.append(_record(P, y_new))
        y, t = y_new, t_new
        for kind, new in (("LP", lp_new), ("BP", bp_new)):
            zero_at[kind] = len(ys) - 1 if new == 0 else None
        if lp_new != 0:
            lp_prev = lp_new
        if bp_new != 0:
            bp_sign = bp_new
        if np.linalg.norm(y[:-1]) > opts["bound"]:
            status, message = "unbounded", f"|u| exceeded bound = {opts['bound']:g}"
            break
        if nit <= 3:
            ds = min(ds * 1.5, opts["max_step"])
        elif nit >= 7:
            ds = max(ds * 0.5, opts["min_step"])
    if out_of_time:
        status, message = "max_time", (f"stopped at the time budget max_time = {opts['max_time']:g} s after "
                                       f"{len(ys) - 1} points")
    Y = np.array(ys)
    sp_list = []
    for pos, sp in sorted(specials, key=lambda q: q[0]):
        sp.index = pos
        before = recs[pos - 1][1] if pos > 0 else recs[pos][1]
        after = recs[pos + 1][1] if pos + 1 < len(recs) else recs[pos][1]
        sp.stability = (before, after)
        sp_list.append(sp)
    sigs = None
    if isinstance(P, _NetProblem):
        sigs = [P.signature(yy[:-1], yy[-1]) for yy in ys]
    return Branch(system=desc, param=param, formulation=P.formulation, parameter=Y[:, -1],
                  states=np.array([P.state(yy[:-1]) for yy in ys]),
                  multipliers=np.array([P.mult(yy[:-1]) for yy in ys]),
                  eigenvalues=[r[0] for r in recs], stability=[r[1] for r in recs],
                  n_unstable=np.array([r[2] for r in recs], dtype=int), signatures=sigs,
                  special_points=sp_list, laws=[int(k) for k in P.sel], leaf=np.asarray(leafvec),
                  status=status, message=message, depth=depth)


def _special(P, y, type_, fv, recs, pos, note=""):
    u, p = y[:-1], y[-1]
    return SpecialPoint(type=type_, index=pos, parameter=float(p), state=np.array(P.state(u)),
                        multipliers=np.array(P.mult(u)), eigenvalues=np.asarray(recs[pos][0]),
                        test_value=float(fv), note=note)


def _append_special(P, R, ys, ts, recs, specials, ysp, tsp, ev, fv, opts, desc, param, leafvec, depth, lo, hi,
                    at=None):
    """Record a special point: a new point of the branch, or the existing point ``at`` (an index of ys)."""
    if at is None:
        ys.append(ysp)
        ts.append(tsp)
        recs.append(_record(P, ysp))
        pos = len(ys) - 1
    else:
        pos = at
    if ev == "LP":
        sp = _special(P, ysp, "LP", fv, recs, pos, "fold: the parameter turns back")
    else:
        sp = _special(P, ysp, "BP", _det_value(R, ysp, tsp), recs, pos, "branch point")
        if opts["switch"] and depth < opts["max_depth"]:
            t2 = _switch_direction(R, ysp, tsp)
            if t2 is not None:
                for sgn in (1.0, -1.0):
                    tt = sgn * t2
                    b = _run(P, R, ysp, tt, lo, hi, opts, desc, param, leafvec, depth + 1, skip_first=True)
                    if len(b) > 1:
                        sp.branches.append(b)
            else:
                sp.note += "; no second direction found in the null space (not switched)"
    specials.append((pos, sp))


def _det_value(R, y, t):
    A = np.vstack([R.jac_ext(y), t])
    return float(np.linalg.det(A))


def _switch_direction(R, y, t):
    """The direction of the other branch at a BP: the part of the (2-dim) null space of
    ``[G_u, G_p]`` orthogonal to the tangent t."""
    A = R.jac_ext(y)
    _, sv, vt = np.linalg.svd(A)
    N = vt[-2:]                                    # two smallest right singular vectors
    best = None
    for v in N:
        w = v - (v @ t) * t
        nw = np.linalg.norm(w)
        if best is None or nw > best[1]:
            best = (w, nw)
    if best is None or best[1] < 1e-6:
        return None
    return best[0] / best[1]
