"""Exact solutions of the gradient flow (9): closed forms, or quadratures where none exists.

Every ``*_trajectory`` function here returns a :class:`dlnsys.Trajectory` (times as given,
states in the :class:`dlnsys.Network` order), so an exact solution plugs into everything that
takes a simulated one (``method`` says which family produced it, ``nfev = 0``). The families:

===========================  =============================================  ==========================
family                       conditions on ``(net, x0)``                    solution
===========================  =============================================  ==========================
``linear`` (h = 1)           any ``W_1(0)``                                 ``W = Sigma + (W_0 - Sigma) e^-t``
``decoupled`` (h >= 1)       decoupled (Prop. 32): orthogonal hidden bases  per channel: the 1-D leaf flow of
                             ``Q_i`` with every ``Q_i^T W_i Q_{i-1}``       (55) / a scalar chain, lifted back
                             diagonal (``Q_0 = I``, ``Q_h = I``)            through ``Q_i`` (Section 5.2)
  - 0-balanced channels      ``xi_{1,j}^2 = ... = xi_{h,j}^2``              (61): explicit for h = 1, 2 (logistic),
                                                                            closed-form ``t(z)`` for h >= 3
  - other leaves             any leaf constants ``c_{i,j}``                 ``t(s)`` by quadrature
``lambda_balanced`` (h = 2)  ``W_2^T W_2 - W_1 W_1^T = lambda I``           matrix Riccati (Fukumizu 1998; Domine
                             (any alignment)                                et al. 2023) + hidden-frame ODE
===========================  =============================================  ==========================

Regularized (``gamma > 0``), masked and bottleneck networks have no exact family here
(:class:`NotApplicable`). :func:`exact_trajectory` picks the family; :func:`escape_times` gives
the time at which each singular value is half learned (the plateau exit a sweep measures),
exactly and to leading order in the init scale.

Notation of the per-channel (1-D leaf) flow
-------------------------------------------
A channel is a scalar chain ``w_1, ..., w_h`` (the ``xi_{1..h,j}`` of (55)) with target
``sigma``: ``dw_i/dt = prod_{k != i} w_k (sigma - p)``, ``p = prod_k w_k``; ``w_i^2 - w_k^2`` is
conserved. Let ``K`` be the set of layers of smallest ``w_i^2`` (``m = |K|``) and
``b_i = w_i^2 - min_k w_k^2 > 0`` for ``i`` not in ``K``. On the leaf, with fixed signs
``eps_i`` and one coordinate ``s``:

* ``w_k = eps_k s`` (``k`` in ``K``), ``w_i = eps_i sqrt(s^2 + b_i)`` (otherwise),
  ``p = E s^m g(s)``, ``g(s) = prod_{i not in K} sqrt(s^2 + b_i)``, ``E = prod eps``;
* ``ds/dt = s^{m-1} g(s) (a - s^m g(s))`` with ``a = E sigma``.

For ``m = 1`` the single smallest weight may change sign (``s`` is real, ``eps_k = +1``); for
``m >= 2`` several weights vanish together only at a saddle, so ``s > 0`` keeps its sign
pattern. ``m = h`` (``g = 1``) is the 0-balanced channel, (61). ``p`` moves monotonically
towards ``sigma`` (the loss decreases), so ``p`` reaches ``level * sigma`` at most once.
"""
from __future__ import annotations

import math
import numbers
import time as _time
import warnings

import numpy as np

from ._validate import as_finite_array, as_state

__all__ = [
    "NotApplicable", "exact_trajectory", "escape_times",
    "linear_trajectory", "decoupled_trajectory", "balanced_trajectory", "lambda_balanced_h2",
    "balanced_mode", "balanced_time", "balanced_escape_time",
    "chain_trajectory", "chain_time", "diagonal_trajectory",
]

_EPS = np.finfo(float).eps
#: relative tolerance of the structural checks (leaf membership, balance, diagonal form)
STRUCTURE_TOL = 1e-10


class NotApplicable(ValueError):
    """No exact solution of this module applies to the given network and state."""


# ====================================================================== validation
def _check_net(net):
    from .network import Network
    if not isinstance(net, Network):
        raise ValueError(f"net: expected a dlnsys.Network, got {type(net).__name__}")
    return net


def _times(t):
    t = as_finite_array(t, "t")
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"t: expected a non-empty 1-D array of times, got shape {t.shape}")
    if np.any(t < 0):
        raise ValueError(f"t: times must be non-negative (the initial state is at t = 0), got min {t.min():g}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("t: times must be strictly increasing")
    return t


def _state(net, x0):
    x0 = as_state(x0, net.n_params, "x0")
    if x0.ndim != 1:
        raise ValueError(f"x0: expected one state of shape ({net.n_params},), got {x0.shape}")
    return np.array(x0, dtype=float)


def _positive(v, name, *, allow_zero=False):
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a {'non-negative' if allow_zero else 'positive'} number, got {v!r}")
    v = float(v)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a finite {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {v!r}")
    return v


def _depth(h):
    if isinstance(h, bool) or not isinstance(h, (numbers.Integral, np.integer)) or int(h) < 1:
        raise ValueError(f"h: expected a positive integer depth, got {h!r}")
    return int(h)


def _level(level):
    if isinstance(level, bool) or not isinstance(level, (numbers.Real, np.floating)):
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    return level


def _plain(net, what):
    """The families here solve the plain flow (9): no regularization, mask or bottleneck."""
    if net.gamma != 0.0:
        raise NotApplicable(f"{what}: no exact solution for the regularized flow (gamma = {net.gamma:g})")
    if net.mask is not None:
        raise NotApplicable(f"{what}: no exact solution for a masked network (fixed entries)")
    if net.is_bottleneck:
        raise NotApplicable(f"{what}: no exact solution for a bottleneck network (dims {net.dims})")


def _trajectory(net, t, X, method, message, start, dense=None, note=None):
    """``note``: an iteration that ran out of its budget (status 2, the note ends the message)."""
    from .simulate import _result
    status = 0
    if note:
        status, message = 2, f"{message}; {note} (status 2)"
    return _result(net, t, X, 0, 0, status, message, _time.perf_counter() - start, method, None, None, None,
                   dense=dense)


class _Dense:
    """``Trajectory.dense``: the exact solution at any times (state last axis -> first, time last)."""

    def __init__(self, evaluate):
        self.evaluate = evaluate

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        flat = np.atleast_1d(t).reshape(-1)
        order = np.argsort(flat)
        uniq, inv = np.unique(flat[order], return_inverse=True)
        X = self.evaluate(uniq)[inv]
        out = np.empty_like(X)
        out[order] = X
        return out[0] if t.ndim == 0 else out.T


# ====================================================================== root finding
def _increasing_root(T, dT, target, lo, hi=None, grow=None, max_iter=400, ftol=0.0):
    """The ``v`` in ``[lo, hi]`` with ``T(v) = target`` for an increasing ``T`` (``T(lo) <= target``).

    Safeguarded Newton (Numerical Recipes' rtsafe): a Newton step is taken when it stays
    inside the bracket and the bracket shrinks fast enough, a bisection otherwise (geometric
    when the bracket is positive and spans more than a factor 4, so that very small and very
    large roots are found in O(log) steps). Without ``hi`` the bracket is grown by ``grow``
    until ``T(hi) >= target``. Stops at full double precision of ``v``, or when
    ``|T(v) - target| <= ftol`` (the accuracy of a ``T`` computed by quadrature).
    """
    if hi is None:
        step = 1.0
        hi = grow(lo, step)
        while T(hi) < target:
            lo = hi
            step *= 2.0
            hi = grow(lo, step)
            if not np.isfinite(hi) or step > 1e300:
                raise RuntimeError("exact: could not bracket the root")   # pragma: no cover
    v = 0.5 * (lo + hi)
    for _ in range(max_iter):
        f = T(v) - target
        if abs(f) <= ftol:
            return v
        if f < 0:
            lo = v
        else:
            hi = v
        d = dT(v)
        width = hi - lo
        if width <= 2 * _EPS * max(abs(lo), abs(hi)) or width == 0:
            return v
        nxt = v - f / d if d > 0 and np.isfinite(d) else np.nan
        if not (lo < nxt < hi) or abs(nxt - v) > 0.5 * width:
            if lo > 0 and hi > 4 * lo:
                nxt = math.sqrt(lo * hi)
            elif hi < 0 and lo < 4 * hi:
                nxt = -math.sqrt(lo * hi)
            else:
                nxt = 0.5 * (lo + hi)
        if abs(nxt - v) <= 2 * _EPS * abs(v):
            return nxt
        v = nxt
    warnings.warn(f"exact: root finder ran out of its budget of {max_iter} steps at T = {target!r} "
                  f"(bracket [{lo!r}, {hi!r}]); the result is accurate to that bracket", RuntimeWarning,
                  stacklevel=2)
    return v


#: step budget of :func:`_increasing_roots` per lane (from the grid brackets of
#: :class:`_BalancedInverse` a lane needs about 4 steps, bisection alone at most ~60)
ROOT_BUDGET = 100


def _increasing_roots(F, target, lo, hi, v, max_iter):
    """:func:`_increasing_root` for many lanes at once: lane ``k`` solves ``T(v_k) = target_k``
    in ``[lo_k, hi_k]`` (``T(lo_k) <= target_k <= T(hi_k)``) from the start ``v_k``.

    ``F(v, lanes) -> (T(v), T'(v))`` evaluates the lanes ``lanes`` (an index array) at ``v``.
    Each lane runs the scalar algorithm: it keeps its own bracket, takes the Newton step when
    it stays inside the bracket and at most halves it, a bisection otherwise (geometric for a
    positive bracket spanning more than a factor 4), and stops at full double precision of
    ``v`` (bracket width or Newton step ``<= 2 eps |v|``, or ``T(v) = target`` exactly). Only
    the lanes still running are evaluated. Budget: ``max_iter`` steps per lane.

    Returns ``(v, left, worst)``: ``left`` lanes ran out of the budget (their ``v`` is the last
    iterate) and ``worst`` is their largest bracket width relative to ``max(|lo|, |hi|)``.
    """
    target = np.asarray(target, dtype=float)
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    v = np.array(v, dtype=float)
    out = v.copy()
    # the last two step lengths (rtsafe's dx, dxold): a Newton step must at most halve the one
    # before the last, so that noise in T near the root cannot make Newton wander in the bracket
    step, step_old = hi - lo, hi - lo
    act = np.arange(v.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(max_iter):
            if act.size == 0:
                break
            va, la, ha = v[act], lo[act], hi[act]
            Tv, d = F(va, act)
            f = Tv - target[act]
            neg = f < 0
            la = np.where(neg, va, la)
            ha = np.where(neg, ha, va)
            width = ha - la
            done = (f == 0) | (width <= 2 * _EPS * np.maximum(np.abs(la), np.abs(ha)))
            nxt = va - f / d
            dist = np.abs(nxt - va)
            usable = (d > 0) & np.isfinite(d)
            # a Newton correction below the precision of v: converged (checked before the bracket
            # test, which rejects a step that rounds to v itself, an end of the bracket)
            tiny = ~done & usable & (dist <= 2 * _EPS * np.abs(va))
            newton = (usable & (la < nxt) & (nxt < ha)
                      & (dist <= 0.5 * width) & (dist <= 0.5 * step_old[act]))
            geo = np.sqrt(la * ha)
            bis = np.where((la > 0) & (ha > 4 * la), geo,
                           np.where((ha < 0) & (la < 4 * ha), -geo, 0.5 * (la + ha)))
            nxt = np.where(newton | tiny, nxt, bis)
            dist = np.abs(nxt - va)
            small = ~done & (tiny | (dist <= 2 * _EPS * np.abs(va)))
            out[act[done]] = va[done]
            out[act[small]] = nxt[small]
            go = ~(done | small)
            step_old[act] = step[act]
            step[act] = dist
            act = act[go]
            v[act], lo[act], hi[act] = nxt[go], la[go], ha[go]
    if act.size == 0:
        return out, 0, 0.0
    out[act] = v[act]
    scale = np.maximum(np.maximum(np.abs(lo[act]), np.abs(hi[act])), 1e-300)
    return out, int(act.size), float(np.max((hi[act] - lo[act]) / scale))


# ====================================================================== (61): 0-balanced channel
def _G_plus(x, h):
    """Antiderivative of ``1/(x^{h-1} (1 - x^h))`` (h >= 3), real for real ``x > 0``, ``x != 1``.

    Partial fractions: ``1/(x^{h-1}(1-x^h)) = x^{1-h} + x/(1-x^h)`` and
    ``x/(1-x^h) = -(1/h) sum_k w_k^2 / (x - w_k)`` over the h-th roots of unity ``w_k``, so
    ``G = -x^{2-h}/(h-2) - (1/h) Re sum_k w_k^2 log(x - w_k)`` (each conjugate pair gives
    ``2 [cos(2 th) log|x - w| - sin(2 th) arg(x - w)]``, continuous for real x).
    """
    return -x ** (2.0 - h) / (h - 2) + _log_part(x, h, 0.0)


def _G_minus(x, h):
    """Antiderivative of ``1/(x^{h-1} (1 + x^h))`` (h >= 3): roots ``w^h = -1``, same form."""
    return -x ** (2.0 - h) / (h - 2) - _log_part(x, h, 1.0)


def _log_part(x, h, shift, skip_one=False):
    """``-(1/h) Re sum_k w_k^2 log(x - w_k)``, ``w_k = exp(i pi (2k + shift)/h)``
    (``skip_one``: without the root ``w = 1``, whose term ``-log|x - 1|/h`` the caller adds)."""
    x = np.asarray(x, dtype=float)
    total = np.zeros_like(x)
    for k in range(1 if skip_one else 0, h):
        th = math.pi * (2 * k + shift) / h
        c, s = math.cos(th), math.sin(th)
        if abs(s) < 1e-15:                      # real root +-1: w^2 = 1
            total = total + np.log(np.abs(x - c))
        else:
            mod = np.log(np.hypot(x - c, s))
            arg = np.arctan2(-s, x - c)
            total = total + math.cos(2 * th) * mod - math.sin(2 * th) * arg
    return -total / h


def _G_reg0(h, shift):
    """``lim_{x->0} G(x) + x^{2-h}/(h-2)``: the log part at 0."""
    return float(_log_part(0.0, h, shift))


class _Balanced:
    """The 0-balanced channel ``ds/dt = s^{h-1} (a - s^h)``, ``s >= 0`` (``a`` real, nonzero).

    h = 1: ``s = a + (s0 - a) e^-t`` (any sign of s0). h = 2: ``q = s^2`` is logistic,
    ``q = a q0 / (q0 + (a - q0) e^{-2 a t})``. h >= 3: the closed form ``t(s)`` of
    :func:`_G_plus` / :func:`_G_minus`, inverted at all times at once by
    :class:`_BalancedInverse` (or, with ``_SCALAR_INVERSION``, one time at a time by
    :func:`_increasing_root`: the reference path the tests and ``benchmarks/exact.py`` use).
    """

    def __init__(self, a, s0, h):
        self.a, self.s0, self.h = float(a), float(s0), int(h)
        self.stuck = h >= 2 and s0 == 0.0
        # at the equilibrium s0 = a^{1/h} (for h >= 3 also when s0 / r rounds to 1)
        self.rest = self.stuck or (h >= 2 and self.a > 0 and s0 == self.a ** (1.0 / h))
        if h >= 3 and not self.stuck:
            self.r = abs(self.a) ** (1.0 / h)
            self.kappa = abs(self.a) ** ((2.0 * h - 2.0) / h)
            self.x0 = self.s0 / self.r
            self.rest = self.rest or (self.a > 0 and self.x0 == 1.0)

    @property
    def moving(self):
        """h >= 3 and not at rest: ``s(t)`` needs the inversion of the closed form."""
        return self.h >= 3 and not self.rest

    # --- t(s): closed form
    def time_to(self, s):
        a, s0, h = self.a, self.s0, self.h
        if h == 1:
            return math.log((a - s0) / (a - s)) if s != s0 else 0.0
        if self.stuck:
            return 0.0 if s == 0 else math.inf
        if h == 2:
            q0, q = s0 * s0, s * s
            return math.log(q * (a - q0) / (q0 * (a - q))) / (2 * a) if q != q0 else 0.0
        x = s / self.r
        if a > 0:
            return float(_G_plus(x, h) - _G_plus(self.x0, h)) / self.kappa
        return -float(_G_minus(x, h) - _G_minus(self.x0, h)) / self.kappa

    # --- s(t)
    def at(self, t):
        t = np.asarray(t, dtype=float)
        a, s0, h = self.a, self.s0, self.h
        if h == 1:
            return s0 - (a - s0) * np.expm1(-t)
        if self.rest:
            return np.full(t.shape, s0)
        if h == 2:
            q0 = s0 * s0
            # q = a q0 / (q0 + (a - q0) e^{-2at}); the denominator is written as a sum of terms of
            # one sign in each case (no cancellation, q(0) = q0 exactly)
            if a > 0 and q0 <= a:
                den = q0 + (a - q0) * np.exp(-2 * a * t)
            elif a > 0:
                den = a - (q0 - a) * np.expm1(-2 * a * t)
            else:
                den = -(-a * np.exp(-2 * a * t) + q0 * np.expm1(-2 * a * t))
            return np.sqrt(a * q0 / den)
        if _SCALAR_INVERSION:
            return self._at_scalar(t)
        S, note = _balanced_modes_at([self], t.reshape(-1))
        if note:
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        return S[:, 0].reshape(t.shape)

    def _at_scalar(self, t):
        """h >= 3, one time at a time (the scalar reference for :class:`_BalancedInverse`)."""
        t = np.asarray(t, dtype=float)
        return np.array([self._s_of_t(float(tk)) for tk in t.reshape(-1)]).reshape(t.shape)

    def _s_of_t(self, t):
        if t == 0.0:
            return self.s0
        h, kap, x0 = self.h, self.kappa, self.x0
        if self.a > 0:
            # x = 1 -+ e^{-v}; the term -log|x - 1|/h of G is v/h exactly (full precision near the
            # equilibrium, where x rounds to 1), the rest of G is smooth there; below 1 the map is
            # x = -expm1(-v), v0 = -log1p(-x0) (full relative precision of small x, on a plateau)
            below = x0 < 1.0
            v0 = _v_of_x(x0)
            G0 = -x0 ** (2.0 - h) / (h - 2) + float(_log_part(x0, h, 0.0, skip_one=True)) + v0 / h

            def x_of(v):
                return -math.expm1(-v) if below else 1.0 + math.exp(-v)

            def T(v):
                x = x_of(v)
                return (-x ** (2.0 - h) / (h - 2) + float(_log_part(x, h, 0.0, skip_one=True)) + v / h
                        - G0) / kap

            def dT(v):                      # dG/dx dx/dv with 1 - x^h = (1 - x)(1 + x + ... + x^{h-1})
                x = x_of(v)
                return 1.0 / (x ** (h - 1) * sum(x ** k for k in range(h))) / kap
        else:                               # a < 0: x = e^{-v} decays to 0
            G0 = _G_minus(x0, h)

            def x_of(v):
                return math.exp(-v)

            def T(v):
                return -(float(_G_minus(x_of(v), h)) - G0) / kap

            def dT(v):
                x = x_of(v)
                return x / (x ** (h - 1) * (1 + x ** h)) / kap
            v0 = -math.log(x0)
        v = _increasing_root(T, dT, t, v0, grow=lambda lo, step: lo + step)
        return self.r * x_of(v)


#: True: invert t(s) one time point at a time with the scalar root finder (the reference path
#: that the tests compare with and ``benchmarks/exact.py`` times); False: all at once.
_SCALAR_INVERSION = False

#: beyond this v the state ``x = 1 -+ e^{-v}`` of a learning mode rounds to 1 (e^{-40} < eps/4)
_V_SAT = 40.0
#: the bracketing grid: offsets ``v - v0 = 2^(j / _GRID_PER_OCTAVE)`` over the octaves
#: ``_GRID_OCTAVES`` (extended upwards, up to ``2^1000``, while a time lies beyond the grid)
_GRID_PER_OCTAVE = 4
_GRID_OCTAVES = (-40, 11)


def _v_of_x(x0):
    """``-log|1 - x0|`` (``x0 != 1``): the unknown of a learning mode (``a > 0``) at ``x0``."""
    return -math.log1p(-x0) if x0 < 1.0 else -math.log(x0 - 1.0)


def _x_of_v(v, sgn):
    """Inverse of :func:`_v_of_x`: ``x = 1 - e^{-v}`` (``sgn = 1``, from below, as ``-expm1(-v)``)
    or ``1 + e^{-v}`` (``sgn = -1``); vectorized."""
    return np.where(sgn > 0, -np.expm1(-v), 1.0 + np.exp(-v))


class _BalancedInverse:
    """``s(t)`` of several 0-balanced modes of one depth ``h >= 3`` at many times at once.

    Same unknown ``v`` and closed form ``T(v) = t(s(v))`` as :meth:`_Balanced._s_of_t` (the
    scalar path; ``a > 0``: ``x = 1 -+ e^{-v}`` with the term ``-log|x - 1|/h = v/h`` exact;
    ``a < 0``: ``x = e^{-v}``), for every (time, mode) lane together: ``T`` is evaluated on a
    grid of ``v`` per mode (geometric offsets from ``v0``, where ``T = 0``), each time gets the
    grid cell that contains it (``T`` is increasing) and a start by linear interpolation in
    it, then :func:`_increasing_roots` polishes every lane to full double precision. A
    learning mode whose time is past ``T(_V_SAT)`` is at its equilibrium to rounding.
    """

    def __init__(self, bals):
        h = bals[0].h
        assert all(b.h == h and b.moving for b in bals)
        self.h = h
        self.r = np.array([b.r for b in bals])
        self.kap = np.array([b.kappa for b in bals])
        self.s0 = np.array([b.s0 for b in bals])
        self.pos = np.array([b.a > 0 for b in bals])
        self.sgn = np.array([1.0 if b.x0 < 1.0 else -1.0 for b in bals])
        self.v0, self.G0 = np.empty(len(bals)), np.empty(len(bals))
        for k, b in enumerate(bals):
            x0 = b.x0
            if b.a > 0:      # as in _Balanced._s_of_t, operation for operation
                v0 = _v_of_x(x0)
                self.G0[k] = -x0 ** (2.0 - h) / (h - 2) + float(_log_part(x0, h, 0.0, skip_one=True)) + v0 / h
            else:
                v0 = -math.log(x0)
                self.G0[k] = _G_minus(x0, h)
            self.v0[k] = v0

    def x_of(self, v, m):
        return np.where(self.pos[m], _x_of_v(v, self.sgn[m]), np.exp(-v))

    def T_dT(self, v, m):
        """``T(v)`` and ``T'(v)`` of the lanes of modes ``m`` (arrays of one shape)."""
        h = self.h
        v, m = np.asarray(v, dtype=float), np.asarray(m)
        T, dT = np.empty(v.shape), np.empty(v.shape)
        pos = self.pos[m]
        if pos.any():
            vp, mp = v[pos], m[pos]
            x = _x_of_v(vp, self.sgn[mp])
            kap = self.kap[mp]
            T[pos] = (-x ** (2.0 - h) / (h - 2) + _log_part(x, h, 0.0, skip_one=True) + vp / h
                      - self.G0[mp]) / kap
            geo = sum(x ** k for k in range(h))     # 1 - x^h = (1 - x)(1 + x + ... + x^{h-1})
            dT[pos] = 1.0 / (x ** (h - 1) * geo) / kap
        neg = ~pos
        if neg.any():
            vn, mn = v[neg], m[neg]
            x = np.exp(-vn)
            kap = self.kap[mn]
            T[neg] = -(_G_minus(x, h) - self.G0[mn]) / kap
            dT[neg] = x / (x ** (h - 1) * (1 + x ** h)) / kap
        return T, dT

    def _grid(self, lo_oct, hi_oct):
        n = len(self.v0)
        j = np.arange(lo_oct * _GRID_PER_OCTAVE, hi_oct * _GRID_PER_OCTAVE)
        off = 2.0 ** (j / _GRID_PER_OCTAVE)
        V = self.v0[:, None] + off[None, :]
        m = np.broadcast_to(np.arange(n)[:, None], V.shape)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            T, _ = self.T_dT(V, m)
        return V, T

    def solve(self, t, max_iter=None):
        """``s`` at times ``t`` (1-D, ``>= 0``, any order), shape ``(len(t), n_modes)``, and a
        note (``None``, or what ran out of budget). ``max_iter``: default ``ROOT_BUDGET``."""
        max_iter = ROOT_BUDGET if max_iter is None else max_iter
        t = np.asarray(t, dtype=float)
        n_m, n_t = len(self.v0), t.size
        S = np.empty((n_t, n_m))
        S[t == 0.0, :] = self.s0[None, :]                # the initial state, exactly
        lane_t = np.broadcast_to(t[:, None], (n_t, n_m))
        lane_m = np.broadcast_to(np.arange(n_m)[None, :], (n_t, n_m))
        live = lane_t > 0.0
        # learning modes past T(_V_SAT): at the equilibrium to rounding (x rounds to 1)
        if self.pos.any():
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                Tsat, _ = self.T_dT(np.full(n_m, _V_SAT), np.arange(n_m))
            sat = live & self.pos[None, :] & (self.v0 < _V_SAT)[None, :] & (lane_t >= Tsat[None, :])
            S[sat] = np.broadcast_to(self.r[None, :], S.shape)[sat]
            live &= ~sat
        if not live.any():
            return S, None
        tl, ml = lane_t[live], lane_m[live]
        # grid brackets, extended upwards while a time lies beyond the grid of its mode
        lo_oct, hi_oct = _GRID_OCTAVES
        V, T = self._grid(lo_oct, hi_oct)
        tmax = np.full(n_m, -np.inf)
        np.maximum.at(tmax, ml, tl)
        while np.any(T[:, -1] < tmax):
            if hi_oct >= 1000:
                raise RuntimeError("exact: could not bracket the root")   # pragma: no cover
            V2, T2 = self._grid(hi_oct, hi_oct + 16)
            V, T, hi_oct = np.hstack([V, V2]), np.hstack([T, T2]), hi_oct + 16
        V = np.hstack([self.v0[:, None], V])
        T = np.hstack([np.zeros((n_m, 1)), T])           # T(v0) = 0
        T = np.maximum.accumulate(np.where(np.isnan(T), -np.inf, T), axis=1)
        idx = np.empty(tl.size, dtype=int)
        for k in range(n_m):
            sel = ml == k
            idx[sel] = np.searchsorted(T[k], tl[sel], side="left")
        idx = np.clip(idx, 1, V.shape[1] - 1)
        lo, hi = V[ml, idx - 1], V[ml, idx]
        Tlo, Thi = T[ml, idx - 1], T[ml, idx]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            frac = (tl - Tlo) / (Thi - Tlo)
        frac = np.where(np.isfinite(frac), np.clip(frac, 0.0, 1.0), 0.5)
        v_start = lo + frac * (hi - lo)

        def F(v, lanes):
            return self.T_dT(v, ml[lanes])
        v, left, worst = _increasing_roots(F, tl, lo, hi, v_start, max_iter=max_iter)
        S[live] = self.r[ml] * self.x_of(v, ml)
        note = None
        if left:
            note = (f"exact: inverting the closed form t(z) ran out of its budget of {max_iter} safeguarded "
                    f"Newton steps at {left} of {tl.size} (time, mode) points; there z is accurate to the "
                    f"remaining bracket ({worst:.1e} relative in its log-variable)")
        return S, note


def _balanced_modes_at(bals, t):
    """``s(t)`` (shape ``(len(t), len(bals))``) of moving 0-balanced modes of depth >= 3 (any
    depths: grouped by depth), all times and modes at once; and a note when a budget ran out."""
    t = np.asarray(t, dtype=float).reshape(-1)
    S = np.empty((t.size, len(bals)))
    notes = []
    for h in sorted({b.h for b in bals}):
        cols = [k for k, b in enumerate(bals) if b.h == h]
        Sk, note = _BalancedInverse([bals[k] for k in cols]).solve(t)
        S[:, cols] = Sk
        if note:
            notes.append(note)
    return S, "; ".join(notes) or None


def _balanced_args(sigma, z0, h):
    h = _depth(h)
    sigma = _positive(sigma, "sigma")
    z0 = _positive(z0, "z0", allow_zero=True)
    return sigma, z0, h


def balanced_mode(t, sigma, z0, h):
    """Per-layer mode value ``z(t)`` of the 0-balanced aligned flow, eq. (61).

    SOURCE: eq. (61), ``dz/dt = z^{h-1} (sigma - z^h)`` (Section 5.4); each layer carries
    ``z`` on the mode, the end-to-end singular value is ``z^h``. h = 1: ``z = sigma + (z0 -
    sigma) e^{-t}``; h = 2: ``z^2`` is logistic (Saxe, McClelland, Ganguli 2014),
    ``z^2 = sigma z0^2 / (z0^2 + (sigma - z0^2) e^{-2 sigma t})``; h >= 3: ``z`` solves the
    closed-form implicit equation of :func:`balanced_time` (partial fractions over the h-th
    roots of unity), inverted for all times at once (a grid bracket per time, then a vectorized
    safeguarded Newton with bisection fallback) to full double precision. A step budget that
    runs out (``ROOT_BUDGET`` per time point; not seen in practice) gives a ``RuntimeWarning``.
    Accuracy: that of the closed form, whose rounding ``delta t ~ eps t`` moves ``z`` by
    ``delta t |dz/dt|``; for a start far above ``sigma^(1/h)`` the closed form cancels at very
    early times (measured relative error in ``z``: ~1e-9 at t = 1e-10 for sigma = 2, z0 = 5,
    h = 7; ~1e-6 at t = 1e-12 for z0 = 50, h = 4; ~3e-12 still at t = 1e-6 there).

    CONDITIONS: ``sigma > 0``, ``z0 >= 0`` (``z0 = 0`` is the saddle: z stays 0 for h >= 2),
    times ``t >= 0``.

    Examples
    --------
    >>> from dlnsys.exact import balanced_mode
    >>> z = balanced_mode([0.0, 10.0, 100.0], sigma=2.0, z0=0.1, h=3)
    >>> [round(float(v), 12) for v in z]
    [0.1, 1.259921049895, 1.259921049895]
    """
    sigma, z0, h = _balanced_args(sigma, z0, h)
    t = np.asarray(_times_any(t), dtype=float)
    return _Balanced(sigma, z0, h).at(t)


def _times_any(t):
    t = as_finite_array(t, "t")
    if np.any(t < 0):
        raise ValueError(f"t: times must be non-negative, got min {t.min():g}")
    return t


def balanced_time(z, sigma, z0, h):
    """Time at which the 0-balanced mode (61) started at ``z0`` reaches ``z`` (closed form).

    SOURCE: integral of eq. (61). With ``r = sigma^{1/h}``, ``x = z/r``:
    ``t = (G(x) - G(x0)) / sigma^{(2h-2)/h}`` where, for h >= 3,
    ``G(x) = -x^{2-h}/(h-2) - (1/h) Re sum_{k=0}^{h-1} w_k^2 log(x - w_k)``,
    ``w_k = exp(2 pi i k/h)`` (partial fractions of ``1/(x^{h-1}(1 - x^h))``; a conjugate
    pair gives ``2[cos 2th log|x - w| - sin 2th arg(x - w)]``). h = 1: ``t = log((sigma - z0)/
    (sigma - z))``; h = 2: ``t = log(z^2 (sigma - z0^2) / (z0^2 (sigma - z^2))) / (2 sigma)``.

    CONDITIONS: ``sigma > 0``, ``z0 > 0``, ``z`` between ``z0`` and ``sigma^{1/h}`` (the
    trajectory never crosses the equilibrium); otherwise ``ValueError`` naming ``z``.

    Examples
    --------
    >>> from dlnsys.exact import balanced_time, balanced_mode
    >>> t = balanced_time(1.0, sigma=2.0, z0=0.1, h=3)
    >>> round(t, 9), round(float(balanced_mode(t, 2.0, 0.1, 3)), 12)
    (4.661327539, 1.0)
    """
    sigma, z0, h = _balanced_args(sigma, z0, h)
    z = float(as_finite_array(z, "z"))
    r = sigma ** (1.0 / h)
    if z0 == 0.0 or not (min(z0, r) <= z <= max(z0, r)) or (z == r and z0 != r):
        raise ValueError(f"z: must lie between z0 = {z0!r} and sigma^(1/h) = {r!r} (excluded), got {z!r}")
    return _Balanced(sigma, z0, h).time_to(z)


def balanced_escape_time(sigma, z0, h, level=0.5, order="exact"):
    """Time at which a 0-balanced mode started at per-layer value ``z0`` learns ``level * sigma``.

    The end-to-end value ``z^h`` crosses ``level * sigma``; 0 if ``z0^h >= level * sigma``.

    ``order="exact"``: :func:`balanced_time` at ``z = (level sigma)^{1/h}``.
    ``order="leading"``: every term of the small-``z0`` expansion that does not vanish as
    ``z0 -> 0`` (so ``leading - exact -> 0``):

    * h = 1: ``log(1/(1 - level))`` (no plateau);
    * h = 2: ``log(level sigma / ((1 - level) z0^2)) / (2 sigma)`` (error ``O(z0^2)``);
    * h >= 3: ``1/((h-2) sigma z0^{h-2}) + (G(level^{1/h}) - G_0) / sigma^{(2h-2)/h}``, with
      ``G`` of :func:`balanced_time` and ``G_0 = lim_{x->0} G(x) + x^{2-h}/(h-2)``; the first
      term is the plateau length (error ``O(z0^2)``).

    SOURCE: eq. (61) and its integral (see :func:`balanced_time`). CONDITIONS: ``sigma > 0``,
    ``z0 > 0``, ``0 < level < 1``; vectorized over ``sigma`` and ``z0``.

    Examples
    --------
    >>> from dlnsys.exact import balanced_escape_time
    >>> e = balanced_escape_time(2.0, 1e-3, 3)
    >>> l = balanced_escape_time(2.0, 1e-3, 3, order="leading")
    >>> round(float(e), 6), bool(abs(e - l) < 1e-5)
    (499.662578, True)
    """
    h = _depth(h)
    level = _level(level)
    if order not in ("exact", "leading"):
        raise ValueError(f"order: expected 'exact' or 'leading', got {order!r}")
    sig = as_finite_array(sigma, "sigma")
    z = as_finite_array(z0, "z0")
    if np.any(sig <= 0):
        raise ValueError("sigma: every singular value must be positive")
    if np.any(z <= 0):
        raise ValueError("z0: the per-layer initial mode values must be positive")
    sig, z = np.broadcast_arrays(sig, z)
    out = np.empty(sig.shape)
    for idx in np.ndindex(sig.shape):
        out[idx] = _balanced_escape(float(sig[idx]), float(z[idx]), h, level, order)
    return out if out.ndim else float(out)


def _balanced_escape(sigma, z0, h, level, order):
    target = level * sigma
    if order == "exact":
        if z0 ** h >= target:
            return 0.0
        return _Balanced(sigma, z0, h).time_to(target ** (1.0 / h))
    if h == 1:
        return math.log(1.0 / (1.0 - level))
    if h == 2:
        return math.log(level * sigma / ((1.0 - level) * z0 * z0)) / (2 * sigma)
    kap = sigma ** ((2.0 * h - 2.0) / h)
    const = (float(_G_plus(level ** (1.0 / h), h)) - _G_reg0(h, 0.0)) / kap
    return 1.0 / ((h - 2) * sigma * z0 ** (h - 2)) + const


# ====================================================================== the 1-D leaf of a chain
class _Channel:
    """One channel (scalar chain) on its 1-D leaf; see the module notes for ``s``, ``m``, ``b``."""

    def __init__(self, w, sigma, tol=1e-12):
        w = np.asarray(w, dtype=float)
        self.w0, self.sigma, self.h = w.copy(), float(sigma), w.size
        h = self.h
        sq = w * w
        u = float(sq.min())
        # layers whose |w| equals the smallest to relative rounding (rotated 0-balanced states
        # carry ~1e-16 differences); relative to |w| itself, so a leaf that passes close to a
        # saddle (tiny but nonzero constants) keeps its own parametrization
        self.K = sq - u <= tol * u if u > 0 else sq == 0.0
        self.m = int(self.K.sum())
        self.b = np.where(self.K, 0.0, sq - u)[~self.K]
        self._b = [float(v) for v in self.b]
        self.eps = np.where(w < 0, -1.0, 1.0)
        if self.m == 1:
            self.s0 = float(w[self.K][0])
            self.eps[self.K] = 1.0
        else:
            self.s0 = math.sqrt(u) if u > 0 else 0.0
        self.E = float(np.prod(self.eps))
        self.a = self.E * self.sigma
        if h == 1 or self.m == h:
            self.kind = "balanced"
            self.bal = _Balanced(self.a if h > 1 else self.sigma, self.s0 if h > 1 else float(w[0]), h)
            if h == 1:
                self.E, self.a = 1.0, self.sigma
        elif self.s0 == 0.0 and self.m >= 2:
            self.kind = "stuck"
        else:
            self.kind = "quad"
            self._setup_quad()

    # --- geometry
    def g(self, s):
        ss = s * s
        return math.prod([math.sqrt(ss + b) for b in self._b])     # scalar math: quad calls it a lot

    def P(self, s):
        """``s^m g(s)`` (the product up to the sign E)."""
        return s ** self.m * self.g(s)

    def weights(self, s):
        s = np.asarray(s, dtype=float)[..., None]
        out = np.empty(s.shape[:-1] + (self.h,))
        out[..., self.K] = self.eps[self.K] * s
        out[..., ~self.K] = self.eps[~self.K] * np.sqrt(s * s + self.b)
        return out

    def product(self, s):
        return self.E * self.P(s)

    def _solve_P(self, target):
        """The ``s`` with ``s^m g(s) = target`` (m = 1: odd and increasing; m >= 2: s > 0)."""
        sign = 1.0
        if target < 0:
            sign, target = -1.0, -target            # m = 1 only: P is odd
        if target == 0:
            return 0.0
        hi = min(target ** (1.0 / self.h), (target / math.sqrt(float(np.prod(self.b)))) ** (1.0 / self.m))
        hi = max(hi, 1e-300)
        while self.P(hi) < target:
            hi *= 2.0

        def dP(s):
            return s ** (self.m - 1) * self.g(s) * (self.m + float(np.sum(s * s / (s * s + self.b))))
        return sign * _increasing_root(lambda s: self.P(s), dP, target, 0.0, hi)

    # --- quadrature case
    def _setup_quad(self):
        m = self.m
        self.beta = math.sqrt(float(self.b.min())) if m == 1 else None
        self.theta0 = self._theta(self.s0)
        if m >= 2 and self.a < 0:
            self.s_star = None
        else:
            self.s_star = self._solve_P(self.a)
        if self.s_star is not None:
            s = self.s_star
            self.theta_star = self._theta(s)
            self.kappa = (s ** (2 * m - 2) * self.g(s) ** 2 * (m + float(np.sum(s * s / (s * s + self.b)))))
            # at (or rounding-close to) the equilibrium the channel does not move
            self.at_rest = abs(self.theta0 - self.theta_star) <= 8 * _EPS * max(1.0, abs(self.theta_star))
        else:
            self.at_rest = False

    def _theta(self, s):
        return math.asinh(s / self.beta) if self.m == 1 else math.log(s)

    def _s(self, theta):
        return self.beta * math.sinh(theta) if self.m == 1 else math.exp(theta)

    def F(self, theta):
        """``d theta/dt``."""
        s = self._s(theta)
        g = self.g(s)
        if self.m == 1:
            return g * (self.a - s * g) / math.sqrt(s * s + self.beta ** 2)
        return s ** (self.m - 2) * g * (self.a - s ** self.m * g)

    def _R(self, theta):
        """``1/F + 1/(kappa (theta - theta*))``: smooth at theta*, but computed by cancellation
        (rounding noise ``eps / (kappa |theta - theta*|)``). Within ``dmin = 1e-4 max(1, |theta*|)``
        of theta* it is extrapolated linearly from ``dmin`` and ``2 dmin`` (error ``O(dmin^2)``
        in R, ``O(dmin^3)`` in a time, at states within ``dmin`` of the equilibrium)."""
        d = theta - self.theta_star
        dmin = 1e-4 * max(1.0, abs(self.theta_star))
        if abs(d) >= dmin:
            return 1.0 / self.F(theta) + 1.0 / (self.kappa * d)
        sgn = math.copysign(1.0, d if d != 0 else (self.theta0 - self.theta_star))
        r = []
        for k in (1.0, 2.0):
            th = self.theta_star + sgn * k * dmin
            r.append(1.0 / self.F(th) + 1.0 / (self.kappa * (th - self.theta_star)))
        return r[0] + (r[1] - r[0]) * (abs(d) - dmin) / dmin

    def _quad(self, f, lo, hi):
        from scipy.integrate import quad
        if lo == hi:
            return 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # epsabs: an absolute time error of 1e-13 moves the state by rate * 1e-13 (it keeps
            # quad from chasing the rounding noise of R next to the equilibrium)
            val, _ = quad(f, lo, hi, epsabs=1e-13, epsrel=5e-14, limit=200)
        return val

    def _v_param(self):
        """Unknown ``v`` with ``T`` increasing: theta = theta* -+ e^{-v}, or theta0 - v without theta*."""
        if self.s_star is None:
            return (lambda v: self.theta0 - v), 0.0
        sgn = 1.0 if self.theta0 < self.theta_star else -1.0
        v0 = -math.log(abs(self.theta0 - self.theta_star))
        return (lambda v: self.theta_star - sgn * math.exp(-v)), v0

    def _T(self, v, anchor):
        """Time from theta0 to theta(v); ``anchor = [theta_a, I_a]`` caches the integral up to theta_a.

        With an equilibrium, ``-log|theta - theta*| = v``: the logarithmic part is exact even
        where theta rounds to theta*."""
        theta_of, v0 = self._v_param()
        theta = theta_of(v)
        if self.s_star is None:
            return anchor[1] + self._quad(lambda th: 1.0 / self.F(th), anchor[0], theta)
        return (v - v0) / self.kappa + anchor[1] + self._quad(self._R, anchor[0], theta)

    def _time_quad(self, ts):
        theta_of, v0 = self._v_param()
        anchor = [self.theta0, 0.0]
        out = np.empty(len(ts))
        v_lo = v0
        for k, t in enumerate(ts):
            if t == 0.0:
                out[k] = self.s0
                continue

            def T(v):
                return self._T(v, anchor)

            def dT(v):
                th = theta_of(v)
                F = self.F(th)
                if self.s_star is None:
                    return 1.0 / abs(F)
                if F == 0.0:                         # theta rounds to theta*: the limit of e^{-v}/|F|
                    return 1.0 / self.kappa
                return math.exp(-v) / abs(F)
            if self.s_star is not None:
                # beyond v_sat theta rounds to theta*: the state is the equilibrium to rounding
                v_sat = -math.log(0.5 * _EPS * max(1.0, abs(self.theta_star)))
                if v_sat > v_lo and T(v_sat) <= t:
                    out[k:] = self.s_star
                    break
            v = _increasing_root(T, dT, t, v_lo, grow=lambda lo, step: lo + step,
                                 ftol=2e-13 * max(1.0, t))
            th = theta_of(v)
            # move the anchor to the solution: later times integrate from here
            if self.s_star is None:
                anchor = [th, anchor[1] + self._quad(lambda x: 1.0 / self.F(x), anchor[0], th)]
            else:
                anchor = [th, anchor[1] + self._quad(self._R, anchor[0], th)]
            v_lo = v
            out[k] = self._s(th)
        return out

    # --- public-ish
    def s_at(self, t):
        t = np.asarray(t, dtype=float)
        if self.kind == "balanced":
            return self.bal.at(t)
        if self.kind == "stuck" or self.at_rest:
            return np.full(t.shape, self.s0)
        flat = t.reshape(-1)
        order = np.argsort(flat)
        s = np.empty(flat.size)
        s[order] = self._time_quad(flat[order])
        return s.reshape(t.shape)

    def at(self, t):
        """Chain weights at times t, shape ``(len(t), h)``."""
        if self.kind == "balanced" and self.h == 1:
            return self.bal.at(t)[:, None]
        return self.weights(self.s_at(t))

    def time_to_product(self, p):
        """Time at which the product reaches ``p`` (inf if never; 0 if already there)."""
        p0 = float(np.prod(self.w0))
        if p0 >= p:                    # p < sigma and the product only moves towards sigma: already past
            return 0.0
        if self.kind == "stuck":
            return math.inf
        if self.kind == "balanced":
            if self.h == 1:
                return self.bal.time_to(p)
            if self.a < 0:
                return math.inf              # the product decays to the saddle p = 0
            return self.bal.time_to(p ** (1.0 / self.h))
        if self.m >= 2 and self.a < 0:
            return math.inf
        if self.at_rest:
            return math.inf
        s = self._solve_P(self.E * p) if self.m == 1 else self._solve_P(p)
        th = self._theta(s)
        if self.s_star is None:
            return self._quad(lambda x: 1.0 / self.F(x), self.theta0, th)
        return self._T(-math.log(abs(th - self.theta_star)), [self.theta0, 0.0])


def _chain_args(sigma, w0):
    sigma = _positive(sigma, "sigma")
    w0 = as_finite_array(w0, "w0")
    if w0.ndim != 1 or w0.size == 0:
        raise ValueError(f"w0: expected a 1-D array of the h chain weights, got shape {w0.shape}")
    return sigma, w0


def chain_trajectory(t, sigma, w0):
    """Weights ``w(t)`` of the scalar chain (dims ``(1,)*(h+1)``) from ``w0``, exactly.

    SOURCE: the flow (9) of a chain, ``dw_i/dt = prod_{k != i} w_k (sigma - prod w)``, on its
    1-D leaf ``w_i^2 - w_{i+1}^2 = c_i`` (Prop. 6; (55) with d_y = 1). Parametrized as in the
    module notes, ``t(s) = int ds / (s^{m-1} g(s) (a - s^m g(s)))``: the 0-balanced leaf
    (``c = 0``, ``g = 1``) has the closed forms of :func:`balanced_mode` (h = 1 linear, h = 2
    logistic, h >= 3 partial fractions); other leaves are integrated by
    ``scipy.integrate.quad`` (relative tolerance 1e-14) in ``theta = asinh(s/sqrt(min b))``
    (``m = 1``) or ``theta = log s`` (``m >= 2``), with the logarithmic singularity at the
    equilibrium subtracted analytically, and ``t(s) = t_k`` is inverted by safeguarded Newton.

    CONDITIONS: ``sigma > 0``; any ``w0`` (weights may cross zero; two or more zero weights
    are a saddle, where the chain stays). Limit: the leaf constants are squares, so weights
    below about 1e-154 in modulus (whose squares underflow) count as 0.

    Returns
    -------
    ndarray, shape ``(len(t), h)``

    Examples
    --------
    >>> from dlnsys.exact import chain_trajectory
    >>> w = chain_trajectory([0.0, 5.0, 50.0], sigma=1.0, w0=[0.3, -0.1, 0.2])
    >>> w.round(9).tolist()[-1], round(float(w[-1].prod()), 12)
    ([1.021701644, 0.981770976, 0.996932419], 1.0)
    """
    sigma, w0 = _chain_args(sigma, w0)
    t = _times_any(t)
    t1 = np.atleast_1d(t).reshape(-1)
    return _Channel(w0, sigma).at(t1).reshape(np.shape(t) + (w0.size,))


def chain_time(p, sigma, w0):
    """Time at which the chain's product ``prod w`` reaches ``p`` (0 if it starts at or past
    ``p`` towards sigma, ``inf`` if it never gets there), by the quadrature or closed form of
    :func:`chain_trajectory` (same SOURCE and CONDITIONS).

    Examples
    --------
    >>> from dlnsys.exact import chain_time
    >>> round(chain_time(0.5, 1.0, [0.05, 0.02, 0.03]), 6)
    29.600524
    """
    sigma, w0 = _chain_args(sigma, w0)
    p = float(as_finite_array(p, "p"))
    return _Channel(w0, sigma).time_to_product(p)


def diagonal_trajectory(t, sigma, xi0):
    """The block-shift diagonal flow (55) from ``xi0`` (layer-major ``(h, d_y)`` or flat
    ``(h*d_y,)`` as in :mod:`dlnsys.reductions`), exactly, channel by channel.

    SOURCE: eq. (55): the channels ``j`` are independent scalar chains with target
    ``sigma_j`` on the leaves ``xi_{i,j}^2 - xi_{i+1,j}^2 = c_{i,j}``; each is solved by
    :func:`chain_trajectory`. CONDITIONS: ``sigma`` positive, any leaf.

    Returns
    -------
    ndarray, shape ``(len(t), h * d_y)`` (layer-major, the :mod:`dlnsys.reductions` order)

    Examples
    --------
    >>> from dlnsys.exact import diagonal_trajectory
    >>> xi = diagonal_trajectory([0.0, 30.0], [2.0, 1.0], [[0.1, 0.2], [0.1, -0.05]])
    >>> xi.shape, round(float(xi[-1, 0] * xi[-1, 2]), 9)
    ((2, 4), 2.0)
    """
    sig = as_finite_array(sigma, "sigma").reshape(-1)
    if sig.size == 0 or np.any(sig <= 0):
        raise ValueError("sigma: expected positive singular values")
    xi = as_finite_array(xi0, "xi0")
    d = sig.size
    if xi.ndim == 1 and xi.size % d == 0 and xi.size:
        xi = xi.reshape(-1, d)
    if xi.ndim != 2 or xi.shape[1] != d:
        raise ValueError(f"xi0: expected shape (h, {d}) or (h * {d},), got {np.shape(xi0)}")
    t = _times_any(t)
    t1 = np.atleast_1d(t).reshape(-1)
    h = xi.shape[0]
    out, _ = _channels_at([_Channel(xi[:, j], sig[j]) for j in range(d)], t1)
    return out.reshape(np.shape(t) + (h * d,))


# ====================================================================== full networks
def linear_trajectory(net, x0, t):
    """h = 1: ``W(t) = Sigma + (W_0 - Sigma) e^{-t}`` from any ``W_0``.

    SOURCE: eq. (9) with h = 1, ``dW/dt = Sigma - W`` (linear). CONDITIONS: ``net.h == 1``,
    no regularization or mask.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> from dlnsys.exact import linear_trajectory
    >>> net = Network((2, 1), [1.0])
    >>> linear_trajectory(net, np.array([0.0, 1.0]), [np.log(2.0)]).x.round(12).tolist()
    [[0.5, 0.5]]
    """
    start = _time.perf_counter()
    net = _check_net(net)
    x0, t = _state(net, x0), _times(t)
    _plain(net, "net")
    if net.h != 1:
        raise NotApplicable(f"net: the linear solution needs h = 1, got h = {net.h}")
    ev = _linear_eval(net, x0)
    return _trajectory(net, t, ev(t), "exact:linear", "exact solution, h = 1 (linear)", start, _Dense(ev))


def _linear_eval(net, x0):
    S = net.Sigma.reshape(-1)

    def evaluate(t):
        return x0[None, :] - np.expm1(-t)[:, None] * (S - x0)[None, :]
    return evaluate


def _decoupling(net, x0):
    from .structure import decoupling_basis, is_block_shift_diagonal
    if is_block_shift_diagonal(net, x0, tol=0.0):
        # already diagonal: the identity bases (decoupling_basis can miss them when many
        # entries vanish, its documented false negative for dead channels)
        Qs = [np.eye(d) for d in net.dims[1:-1]]
    else:
        Qs = decoupling_basis(net, x0, tol=STRUCTURE_TOL)
    if Qs is None:
        return None
    Ws = net.unpack(x0)
    Q = [np.eye(net.d_x)] + list(Qs) + [np.eye(net.d_y)]
    Ds = [Q[i + 1].T @ Ws[i] @ Q[i] for i in range(net.h)]
    return Q, Ds


def _decoupled_eval(net, x0, decomp, require_balanced=False):
    Q, Ds = decomp
    h, dy = net.h, net.d_y
    xi = np.array([[D[j, j] for j in range(dy)] for D in Ds])          # (h, d_y)
    channels = [_Channel(xi[:, j], net.sigma[j]) for j in range(dy)]
    if require_balanced:
        bad = [j + 1 for j, c in enumerate(channels) if not (c.kind == "balanced" or c.kind == "stuck")]
        if bad:
            raise ValueError(f"x0: not 0-balanced on channel(s) {bad}: the layers' mode values differ "
                             "in modulus (use decoupled_trajectory for other leaves)")
    # the dead channels j >= d_y (and every off-diagonal zero) stay constant (see Section 5.2.1)
    base = [np.zeros_like(D) for D in Ds]
    for i, D in enumerate(Ds):
        q = min(D.shape)
        idx = np.arange(dy, q)
        base[i][idx, idx] = D[idx, idx]

    def evaluate(t):
        vals, note = _channels_at(channels, t)                          # (n_t, h, d_y)
        if note:
            evaluate.notes.append(note)
        out = []
        idx = np.arange(dy)
        for i in range(h):
            Dt = np.broadcast_to(base[i], (t.size,) + base[i].shape).copy()
            Dt[:, idx, idx] = vals[:, i, :]
            out.append(Q[i + 1] @ Dt @ Q[i].T)
        return net.pack(out)
    evaluate.notes = []
    return evaluate, channels


def _channels_at(channels, t):
    """Weights of every channel at times ``t`` (1-D), shape ``(n_t, h, n_channels)``, and a note
    when an inversion ran out of its budget. The moving 0-balanced channels of depth >= 3 are
    solved together (:class:`_BalancedInverse`: every time and channel at once), the others
    one by one."""
    t = np.asarray(t, dtype=float)
    movers = [j for j, c in enumerate(channels) if c.kind == "balanced" and c.bal.moving]
    cols, note = {}, None
    if movers and not _SCALAR_INVERSION:
        S, note = _balanced_modes_at([channels[j].bal for j in movers], t)
        if note:
            warnings.warn(note, RuntimeWarning, stacklevel=3)
        cols = {j: channels[j].weights(S[:, k]) for k, j in enumerate(movers)}
    vals = np.stack([cols[j] if j in cols else c.at(t) for j, c in enumerate(channels)], axis=-1)
    return vals, note


def decoupled_trajectory(net, x0, t):
    """Exact flow from a decoupled state (Prop. 32) on any leaf: (55) per channel, lifted back.

    SOURCE: Props. 8, 31, 32 and eq. (55): if orthogonal ``Q_1, ..., Q_{h-1}`` make every
    ``D_i = Q_i^T W_i Q_{i-1}`` rectangular diagonal (``Q_0 = I``, ``Q_h = I``), then
    ``W_i(t) = Q_i D_i(t) Q_{i-1}^T`` with ``D(t)`` the block-shift diagonal flow (55); its
    channels ``j <= d_y`` are scalar chains (:func:`chain_trajectory`: closed form on
    0-balanced channels, quadrature on other leaves), the dead channels ``j > d_y`` are
    constant. The ``Q_i`` come from :func:`dlnsys.structure.decoupling_basis` (a certificate).

    CONDITIONS: ``x0`` decoupled (within ``STRUCTURE_TOL`` relative), no regularization,
    mask or bottleneck; otherwise :class:`NotApplicable`.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.exact import decoupled_trajectory
    >>> net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    >>> x0 = init.decoupled(net, [[0.2, 0.1], [0.3, -0.1], [0.25, 0.1]], seed=0)
    >>> tr = decoupled_trajectory(net, x0, [0.0, 60.0])
    >>> np.round(np.diag(net.product(tr.x[-1])), 6).tolist()    # mode 2: negative product, decays to 0
    [2.0, -3e-06]
    """
    start = _time.perf_counter()
    net = _check_net(net)
    x0, t = _state(net, x0), _times(t)
    _plain(net, "net")
    decomp = _decoupling(net, x0)
    if decomp is None:
        raise NotApplicable("x0: not decoupled (no orthogonal hidden bases make every layer diagonal, Prop. 32)")
    evaluate, _ = _decoupled_eval(net, x0, decomp)
    X = evaluate(t)
    return _trajectory(net, t, X, "exact:decoupled",
                       "exact solution: decoupled flow (55) on the 1-D leaves of its channels", start,
                       _Dense(evaluate), note="; ".join(evaluate.notes))


def balanced_trajectory(net, x0, t):
    """Exact 0-balanced aligned flow of any depth: (61) on every mode, lifted to the weights.

    SOURCE: eq. (61) (Section 5.4) and Props. 32, 34: a 0-balanced state whose end-to-end
    map is aligned with the data (``W_{1:h}(0) = [diag(p) 0]``, i.e. decoupled) has
    ``W_i = Q_i diag(eps_{i,j} z_j) Q_{i-1}^T`` with constant ``Q_i`` and signs, and each
    ``z_j`` follows ``dz/dt = z^{h-1} (E_j sigma_j - z^h)`` (``E_j = prod_i eps_{i,j}``: (61)
    when the mode's product is positive, decay to the saddle when negative). Explicit for
    h = 1, 2 (logistic, Saxe et al. 2014); for h >= 3 the closed-form implicit ``t(z)`` of
    :func:`balanced_time` (partial fractions), inverted for all times and modes at once by a
    vectorized safeguarded Newton (a step budget that runs out: ``status`` 2, a message and a
    ``RuntimeWarning``).

    CONDITIONS: ``x0`` 0-balanced and decoupled (within ``STRUCTURE_TOL``); else
    ``ValueError`` (not 0-balanced) or :class:`NotApplicable` (not decoupled).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.exact import balanced_trajectory
    >>> net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    >>> x0 = init.decoupled(net, [0.1, 0.1], seed=1)           # 0-balanced, every mode at 0.1
    >>> tr = balanced_trajectory(net, x0, [20.0, 200.0])
    >>> np.round(np.diag(net.product(tr.x[-1])), 9).tolist()
    [2.0, 1.0]
    """
    start = _time.perf_counter()
    net = _check_net(net)
    x0, t = _state(net, x0), _times(t)
    _plain(net, "net")
    decomp = _decoupling(net, x0)
    if decomp is None:
        from .structure import is_balanced
        if net.h > 1 and not is_balanced(net, x0, tol=STRUCTURE_TOL):
            raise ValueError("x0: not 0-balanced (W_i W_i^T != W_{i+1}^T W_{i+1})")
        raise NotApplicable("x0: 0-balanced but its end-to-end map is not aligned with the data "
                            "(W_{1:h}(0) is not [diag(p) 0]); no per-mode solution")
    evaluate, _ = _decoupled_eval(net, x0, decomp, require_balanced=True)
    X = evaluate(t)
    return _trajectory(net, t, X, "exact:balanced",
                       "exact solution: 0-balanced aligned flow (61) per mode", start, _Dense(evaluate),
                       note="; ".join(evaluate.notes))


# ====================================================================== h = 2, lambda-balanced
def _lambda_of(net, W1, W2):
    D = W2.T @ W2 - W1 @ W1.T
    lam = float(np.trace(D)) / D.shape[0]
    scale = max(float(np.sum(W1 * W1)), float(np.sum(W2 * W2)), abs(lam), 1e-300)
    res = float(np.linalg.norm(D - lam * np.eye(D.shape[0])))
    return lam, res, scale


def lambda_balanced_h2(net, x0, t, *, lam=None):
    """Exact flow of a two-layer network from lambda-balanced weights (any alignment).

    SOURCE: Fukumizu (1998) for lambda = 0; Domine, Braun, Fitzgerald, Saxe (2023), "Exact
    learning dynamics of deep linear networks with prior knowledge", for general lambda.
    Derivation in this package's conventions (``Sigma = [diag(sigma) 0]``, ``W_1`` of shape
    ``(d_1, d_x)``, ``W_2`` of shape ``(d_y, d_1)``, flow (9)): ``Q = [W_1^T; W_2]`` obeys
    ``dQ/dt = [[0, R^T], [R, 0]] Q`` with ``R = Sigma - W_2 W_1``; with ``Z = diag(I, -I)``
    and ``Q^T Z Q = W_1 W_1^T - W_2^T W_2 = -lambda I`` this is
    ``dQ/dt = A Q - Q (Q^T Q) / 2``, ``A = [[0, Sigma^T], [Sigma, 0]] - (lambda/2) Z``. So
    ``M = Q Q^T`` solves the Riccati equation ``dM/dt = A M + M A - M^2``, whose solution is
    the matrix closed form

    ``Q Q^T(t) = e^{At} Q_0 K(t)^{-1} Q_0^T e^{At}``,
    ``K(t) = I + Q_0^T (int_0^t e^{2As} ds) Q_0``

    (eigen-decomposition of the symmetric A; ``Q Q^T`` holds the end-to-end map
    ``W_2 W_1`` and the Gram matrices ``W_1^T W_1``, ``W_2 W_2^T``). The weights themselves
    are ``Q(t) = e^{At} Q_0 B(t)`` with ``B B^T = K^{-1}`` and ``dB/dt = -K^{-1} K' B / 2``,
    ``B(0) = I``: the hidden-layer frame (the orthogonal freedom ``Q -> Q O`` that ``Q Q^T``
    and the network function do not see) obeys this ``d_1 x d_1`` *linear* ODE with
    closed-form coefficients. For ``d_1 = 1`` it is ``B = K^{-1/2}``; otherwise it is
    integrated numerically (DOP853, rtol 1e-13) on segments of length ``4 / max|eig A|``,
    restarting the closed form from the segment's end state (this keeps ``e^{At}`` and ``B``
    well scaled).

    CONDITIONS: ``net.h == 2``, ``W_2^T W_2 - W_1 W_1^T = lambda I`` (note: this is
    ``C_1 = -lambda I`` in the package's conservation law), within ``STRUCTURE_TOL``
    relative; ``lam`` is computed from ``x0`` if omitted, and a given ``lam`` must match
    (``ValueError`` naming ``lam``). No regularization, mask or bottleneck.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.exact import lambda_balanced_h2
    >>> net = Network((3, 2, 2), sigma=[3.0, 1.0])
    >>> x0 = init.balanced(net, 0.05, seed=2)                  # lambda = 0, not aligned
    >>> tr = lambda_balanced_h2(net, x0, [0.0, 1.0, 30.0])
    >>> (np.round(net.product(tr.x[-1]), 9) + 0.0).tolist()
    [[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    start = _time.perf_counter()
    net = _check_net(net)
    x0, t = _state(net, x0), _times(t)
    _plain(net, "net")
    if net.h != 2:
        raise NotApplicable(f"net: the lambda-balanced solution needs h = 2, got h = {net.h}")
    W1, W2 = net.unpack(x0)
    found, res, scale = _lambda_of(net, W1, W2)
    if res > STRUCTURE_TOL * scale:
        if lam is not None:
            raise ValueError(f"lam: x0 is not lambda-balanced for any lambda (||W_2^T W_2 - W_1 W_1^T - "
                             f"lambda I|| = {res:.3g} at the best lambda = {found:.6g})")
        raise NotApplicable(f"x0: not lambda-balanced (||W_2^T W_2 - W_1 W_1^T - lambda I|| = {res:.3g} "
                            f"relative {res / scale:.3g})")
    if lam is not None:
        lam_v = float(as_finite_array(lam, "lam"))
        if abs(lam_v - found) > STRUCTURE_TOL * scale:
            raise ValueError(f"lam: {lam_v!r} does not match the weights, whose W_2^T W_2 - W_1 W_1^T "
                             f"= {found:.12g} I")
    evaluate = _riccati_eval(net, W1, W2, found)
    return _trajectory(net, t, evaluate(t), "exact:lambda_balanced",
                       f"exact solution: lambda-balanced h = 2 (lambda = {found:.6g}), matrix Riccati",
                       start, _Dense(evaluate))


def _riccati_eval(net, W1, W2, lam):
    dx, d1, dy = net.dims
    n = dx + dy
    A = np.zeros((n, n))
    A[dx:, :dx] = net.Sigma
    A[:dx, dx:] = net.Sigma.T
    A -= 0.5 * lam * np.diag(np.r_[np.ones(dx), -np.ones(dy)])
    alpha, V = np.linalg.eigh(A)
    amax = max(float(np.max(np.abs(alpha))), 1e-12)
    tau = 4.0 / amax
    Q0 = np.vstack([W1.T, W2])

    two = 2.0 * alpha
    zero = two == 0.0
    inv_two = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, two))
    eye = np.eye(d1)

    def K_Kp(G, s):
        """``K(s) = I + G^T diag((e^{2 alpha s} - 1)/(2 alpha)) G`` (``= s`` at alpha = 0) and ``K'(s)``."""
        em1 = np.expm1(two * s)
        ph = em1 * inv_two
        ph[zero] = s
        return eye + (G.T * ph) @ G, (G.T * (em1 + 1.0)) @ G

    def segment(G, times):
        """Q at the given times (measured from the segment start) from Q_start = V G."""
        times = np.asarray(times, dtype=float)
        if d1 == 1:
            Bs = [np.array([[1.0 / math.sqrt(float(K_Kp(G, s)[0][0, 0]))]]) for s in times]
        else:
            from scipy.integrate import solve_ivp

            def rhs(s, y):
                K, Kp = K_Kp(G, s)
                return (-0.5 * np.linalg.solve(K, Kp @ y.reshape(d1, d1))).reshape(-1)
            Bs = []
            pos = times > 0
            if np.any(pos):
                sol = solve_ivp(rhs, (0.0, float(times[-1])), np.eye(d1).reshape(-1), method="DOP853",
                                rtol=1e-13, atol=1e-16, t_eval=times[pos])
                if sol.status < 0:                            # pragma: no cover
                    raise RuntimeError(f"exact: hidden-frame ODE failed: {sol.message}")
                it = iter(sol.y.T)
            Bs = [np.eye(d1) if s == 0 else next(it).reshape(d1, d1) for s in times]
        return [V @ (np.exp(alpha * s)[:, None] * G) @ B for s, B in zip(times, Bs)]

    def evaluate(t):
        t = np.asarray(t, dtype=float)
        out = np.empty((t.size, net.n_params))
        Q, t_start, k = Q0, 0.0, 0
        while k < t.size:
            t_end = t_start + tau
            sel = [j for j in range(k, t.size) if t[j] <= t_end]
            rel = [t[j] - t_start for j in sel]
            last = k + len(sel) >= t.size
            if not last and (not rel or rel[-1] < tau):
                rel.append(tau)                       # the restart state at the segment's end
            Qs = segment(V.T @ Q, rel) if rel else []
            for j, Qj in zip(sel, Qs):
                out[j] = net.pack([Qj[:dx].T, Qj[dx:]])
            k += len(sel)
            if not last:
                Q = Qs[-1]
            t_start = t_end
        return out
    return evaluate


# ====================================================================== dispatch
def exact_trajectory(net, x0, t, *, lam=None):
    """The exact solution from ``x0`` at times ``t``, by the first family that applies.

    Order: h = 1 -> :func:`linear_trajectory`; ``lam`` given -> :func:`lambda_balanced_h2`;
    decoupled ``x0`` (any depth, any leaf; 0-balanced channels in closed form) ->
    :func:`decoupled_trajectory`; h = 2 and lambda-balanced -> :func:`lambda_balanced_h2`;
    otherwise :class:`NotApplicable` with the reason. ``Trajectory.method`` names the family
    (``"exact:linear"``, ``"exact:decoupled"``, ``"exact:lambda_balanced"``), and
    ``Trajectory.at`` evaluates the exact solution at any time in ``[t[0], t[-1]]``.

    Parameters
    ----------
    net : Network
    x0 : array (n_params,)
        The state at time 0.
    t : array of float
        Strictly increasing times ``>= 0`` (``t[0]`` may be > 0).
    lam : float, optional
        For h = 2: the lambda of ``W_2^T W_2 - W_1 W_1^T = lambda I`` (checked against x0).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init, simulate
    >>> from dlnsys.exact import exact_trajectory
    >>> net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    >>> x0 = init.decoupled(net, [0.3, 0.2], seed=0)
    >>> ex = exact_trajectory(net, x0, [10.0, 40.0])
    >>> sim = simulate(net, x0, 40.0, rtol=1e-12, atol=1e-14, t_eval=[10.0, 40.0])
    >>> ex.method, bool(np.max(np.abs(ex.x - sim.x)) < 1e-8)
    ('exact:decoupled', True)
    """
    net = _check_net(net)
    x0, t = _state(net, x0), _times(t)
    _plain(net, "net")
    if net.h == 1:
        if lam is not None:
            raise ValueError("lam: only meaningful for h = 2 (lambda-balanced two-layer networks)")
        return linear_trajectory(net, x0, t)
    if lam is not None:
        if net.h != 2:
            raise ValueError(f"lam: only meaningful for h = 2 (lambda-balanced two-layer networks), net has "
                             f"h = {net.h}")
        return lambda_balanced_h2(net, x0, t, lam=lam)
    if _decoupling(net, x0) is not None:
        return decoupled_trajectory(net, x0, t)
    if net.h == 2:
        try:
            return lambda_balanced_h2(net, x0, t)
        except NotApplicable:
            pass
        raise NotApplicable("x0: neither decoupled (Prop. 32) nor lambda-balanced "
                            "(W_2^T W_2 - W_1 W_1^T = lambda I)")
    raise NotApplicable(f"x0: not decoupled (Prop. 32); for h = {net.h} >= 3 only decoupled states have an "
                        "exact solution here")


def escape_times(net, x0=None, *, scale=None, level=0.5, order="exact"):
    """Time at which each singular value is learned to ``level``: ``[W_{1:h}(t)]_{ii} = level * sigma_i``.

    The data's singular vectors are the coordinate vectors, so ``u_i^T W_{1:h} v_i`` is the
    ``(i, i)`` entry of the end-to-end map. For the families here each mode's product moves
    monotonically towards ``sigma_i``, so it crosses ``level * sigma_i`` at most once.

    Parameters
    ----------
    net : Network
    x0 : array (n_params,), optional
        An initial state: h = 1 (any), or decoupled (Prop. 32, any leaf). Exactly one of
        ``x0`` and ``scale``.
    scale : float, optional
        The 0-balanced aligned initialization of that scale: every layer's mode value
        ``xi_{i,j} = scale`` (e.g. ``init.diagonal(net, scale)``), so each mode's product
        starts at ``scale**h``.
    level : float in (0, 1)
        Fraction of sigma_i that counts as learned (0.5: the midpoint of the transition).
    order : {"exact", "leading"}
        ``"exact"``: closed form (0-balanced modes, :func:`balanced_escape_time`) or
        quadrature (other leaves, :func:`chain_time`). ``"leading"``: the small-scale
        expansion of :func:`balanced_escape_time` (``1/((h-2) sigma_i z0^{h-2}) + const`` for
        h >= 3, ``log(level sigma_i / ((1 - level) z0^2)) / (2 sigma_i)`` for h = 2,
        ``log(1/(1 - level))`` for h = 1), for 0-balanced modes with a positive product.

    Returns
    -------
    ndarray (d_y,)
        0 for a mode already at or past ``level * sigma_i``; ``inf`` for a mode that never
        gets there (a product of the wrong sign on a 0-balanced channel decays to the saddle;
        a channel sitting at a saddle).

    Examples
    --------
    >>> from dlnsys import Network
    >>> from dlnsys.exact import escape_times
    >>> net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    >>> escape_times(net, scale=0.1).round(4).tolist()
    [47.6169, 60.6028, 83.3279, 133.3217]
    >>> escape_times(net, scale=0.1, order="leading").round(4).tolist()
    [47.617, 60.603, 83.3282, 133.3225]
    """
    net = _check_net(net)
    level = _level(level)
    if order not in ("exact", "leading"):
        raise ValueError(f"order: expected 'exact' or 'leading', got {order!r}")
    if (x0 is None) == (scale is None):
        raise ValueError("x0, scale: give exactly one of them")
    _plain(net, "net")
    if scale is not None:
        scale = _positive(scale, "scale")
        return np.array([_balanced_escape(float(s), scale, net.h, level, order) for s in net.sigma])
    x0 = _state(net, x0)
    if net.h == 1:
        p0 = np.diag(net.unpack(x0)[0][:, :net.d_y])
        chans = [_Channel([p], s) for p, s in zip(p0, net.sigma)]
    else:
        decomp = _decoupling(net, x0)
        if decomp is None:
            raise NotApplicable("x0: escape times need h = 1 or a decoupled state (Prop. 32); this one is not")
        _, chans = _decoupled_eval(net, x0, decomp)
    out = np.empty(net.d_y)
    for j, c in enumerate(chans):
        if order == "exact":
            out[j] = c.time_to_product(level * c.sigma)
            continue
        if c.h == 1:
            out[j] = math.log(1.0 / (1.0 - level))
        elif c.kind == "balanced" and c.a > 0:
            out[j] = _balanced_escape(c.sigma, c.s0, c.h, level, "leading")
        elif c.kind == "stuck" or (c.kind == "balanced" and c.a < 0):
            out[j] = math.inf
        else:
            raise NotApplicable(f"order: 'leading' is defined for 0-balanced modes; mode {j + 1} is on the leaf "
                                f"c = {(c.w0[:-1] ** 2 - c.w0[1:] ** 2).tolist()} (use order='exact')")
    return out
