"""Convergence-rate bounds of the loss (Section 4.7, Props. 26-28).

* Prop. 26 (eq. 47): along any trajectory ``dL/dt <= -kappa(x) L`` with
  ``kappa(x) = sum_j prod_{i<j} lambda_min(W_i^T W_i) prod_{i>j} lambda_min(W_i W_i^T)``.
  (The proof gives twice this, ``dL/dt <= -2 kappa L``, since the final trace is
  ``||Sigma - W_{1:h}||_F^2 = 2L``; both are reported, the paper's (47) is ``kappa``.)
* Prop. 27 (eq. 49): a time-invariant constant from the conservation laws when the widths
  rise up to a layer ``j`` and fall after it and the ``C_i`` have enough positive /
  negative eigenvalues; then ``L(t) <= L(0) exp(-c t)``.
* Prop. 28 (eq. 52, from [33]): ``alpha_h = prod_i alpha_(i)`` when ``C_i >= 0`` for ``i < j``
  and ``C_i <= 0`` for ``i >= j`` and every hidden width is at least ``d_x`` and ``d_y``.

Eigenvalues ``lambda_k`` are numbered in increasing order (``lambda_1`` the smallest), the
convention under which (49) and (52) are positive under their hypotheses.

Two corrections to (49), both from its own proof: the index of the first product is
``lambda_{1 + d_i - d_{i-1}}(C_i)`` (the smallest eigenvalue of ``W_i^T W_i`` is the
``(1 + d_i - d_{i-1})``-th of ``W_i W_i^T``), not ``1 + d_{i+1} - d_i``; and the proof only
uses ``d_0 <= ... <= d_{j-1}`` and ``d_j >= ... >= d_h`` (each implied by the eigenvalue
counts), so e.g. the Section 6.1 network ``(11, 6, 6, 6, 6, 4)`` qualifies with ``j = 1``
although ``d_x > d_1``. :func:`prop27` checks the proof's hypotheses and reports whether the
stated width condition holds too.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import flow, invariants
from .critical import _require_plain
from .spectra import _Result

__all__ = ["prop26_rate", "DecayCheck", "prop26", "RateConstant", "prop27", "prop28", "observed_rate"]


def _lmin_gram(W, side):
    """``lambda_min(W^T W)`` (side='right') or ``lambda_min(W W^T)`` (side='left'), stacks allowed."""
    G = np.swapaxes(W, -1, -2) @ W if side == "right" else W @ np.swapaxes(W, -1, -2)
    if G.shape[-1] == 0:
        return np.ones(G.shape[:-2])
    return np.maximum(np.linalg.eigvalsh(G)[..., 0], 0.0)


def prop26_rate(net, x):
    """``kappa(x)`` of (47): ``dL/dt <= -kappa(x) L`` at x (stacks of states allowed).

    Examples
    --------
    For (62) it is ``w1^2 + w2^2`` (and the exact rate is ``2 (w1^2 + w2^2)``):

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> float(prop26_rate(Network((1, 1, 1), sigma=[1.0]), np.array([0.5, 2.0])))
    4.25
    """
    _require_plain(net, "prop26_rate")
    x = net._x(x)
    Ws = net.unpack(x)
    h = net.h
    right = [_lmin_gram(W, "right") for W in Ws]       # lambda_min(W_i^T W_i)
    left = [_lmin_gram(W, "left") for W in Ws]         # lambda_min(W_i W_i^T)
    total = np.zeros(x.shape[:-1])
    for j in range(h):
        term = np.ones(x.shape[:-1])
        for i in range(j):
            term = term * right[i]
        for i in range(j + 1, h):
            term = term * left[i]
        total = total + term
    return total if total.ndim else float(total)


@dataclasses.dataclass
class DecayCheck(_Result):
    """Prop. 26 along a trajectory.

    Attributes
    ----------
    t : ndarray
    loss : ndarray
    bound : ndarray
        ``kappa(x(t))`` of (47).
    measured : ndarray
        The instantaneous decay rate ``-dL/dt / L = ||grad L||^2 / L`` (exact, from the
        states; NaN where ``L = 0``).
    interval_rate : ndarray
        ``log(L(t_k) / L(t_{k+1})) / (t_{k+1} - t_k)``, the rate measured from the losses alone
        (length ``len(t) - 1``).
    interval_bound : ndarray
        The trapezoidal mean of ``kappa`` over each interval (what (47) integrates to).
    holds : bool
        ``measured >= bound`` at every sample and ``interval_rate >= interval_bound`` on every
        interval, within the relative tolerance ``rtol``.
    min_ratio : float
        ``min measured / bound`` over samples where ``bound > 0`` (at least 2 in exact
        arithmetic, see the module docstring).
    rtol : float
    """

    t: np.ndarray
    loss: np.ndarray
    bound: np.ndarray
    measured: np.ndarray
    interval_rate: np.ndarray
    interval_bound: np.ndarray
    holds: bool
    min_ratio: float
    rtol: float

    _vector_fields = ("t", "loss", "bound", "measured", "interval_rate", "interval_bound")


def _trajectory_arrays(net, trajectory, x):
    if x is None:
        if not (hasattr(trajectory, "t") and hasattr(trajectory, "x")):
            raise ValueError("trajectory: expected an object with fields t and x (a dlnsys Trajectory) "
                             "or the times t with the states x")
        t, xs = trajectory.t, trajectory.x
    else:
        t, xs = trajectory, x
    t = np.asarray(t, dtype=float)
    xs = net._x(xs, "x")
    if t.ndim != 1 or xs.ndim != 2 or xs.shape[0] != t.size:
        raise ValueError(f"x: expected states of shape (len(t), {net.n_params}) = ({t.size}, {net.n_params}), "
                         f"got {xs.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("t: contains NaN or infinite values")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("t: times must be strictly increasing")
    return t, xs


def prop26(net, trajectory, x=None, *, rtol=1e-6) -> DecayCheck:
    """Check Prop. 26 along a trajectory: the measured decay rate of L is never below (47).

    Parameters
    ----------
    net : Network
    trajectory : Trajectory or array_like
        A :class:`dlnsys.simulate.Trajectory` (fields ``t``, ``x``), or the times ``t``
        when ``x`` is given.
    x : array_like, optional
        States, shape ``(len(t), n_params)``.
    rtol : float
        Relative slack for the comparisons (integration error in the interval rates).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> sol = solve_ivp(lambda t, x: net.vector_field(x), (0, 5), [0.3, -0.1], rtol=1e-10, atol=1e-12,
    ...                 t_eval=np.linspace(0, 5, 51))
    >>> chk = prop26(net, sol.t, sol.y.T)
    >>> chk.holds, round(chk.min_ratio, 6)
    (True, 2.0)
    """
    _require_plain(net, "prop26")
    t, xs = _trajectory_arrays(net, trajectory, x)
    loss = np.asarray(net.loss(xs), dtype=float)
    g2 = np.sum(flow.vector_field(net, xs) ** 2, axis=-1)
    bound = np.atleast_1d(prop26_rate(net, xs))
    with np.errstate(divide="ignore", invalid="ignore"):
        measured = np.where(loss > 0, g2 / loss, np.nan)
        ratio = np.where(bound > 0, measured / bound, np.nan)
        lr = np.log(loss)
        interval = -(np.diff(lr)) / np.diff(t)
    ib = 0.5 * (bound[1:] + bound[:-1])
    ok_pts = np.isnan(measured) | (measured >= bound * (1 - rtol))
    finite = np.isfinite(interval)
    # the trapezoidal mean of kappa approximates its integral: allow rtol plus the curvature error
    ok_int = ~finite | (interval >= ib * (1 - rtol) - np.abs(np.diff(bound)))
    min_ratio = float(np.nanmin(ratio)) if np.any(np.isfinite(ratio)) else float("nan")
    return DecayCheck(t=t, loss=loss, bound=bound, measured=measured, interval_rate=interval,
                      interval_bound=ib, holds=bool(np.all(ok_pts) and np.all(ok_int)),
                      min_ratio=min_ratio, rtol=float(rtol))


def observed_rate(t, loss) -> float:
    """``min_k log(L(0) / L(t_k)) / t_k`` over ``t_k > 0`` with ``L(t_k) > 0``: the exponential rate
    ``c`` certified by the samples (``L(t_k) <= L(0) exp(-c t_k)`` for all k)."""
    t = np.asarray(t, dtype=float)
    loss = np.asarray(loss, dtype=float)
    keep = (t > t[0]) & (loss > 0)
    if not np.any(keep):
        return float("nan")
    return float(np.min(np.log(loss[0] / loss[keep]) / (t[keep] - t[0])))


@dataclasses.dataclass
class RateConstant(_Result):
    """An exponential rate constant ``c`` with ``L(t) <= L(0) exp(-c t)``, or why there is none.

    Attributes
    ----------
    proposition : int
        27 or 28.
    rate : float or None
        The constant (the best over the admissible ``j``), None when the hypotheses fail.
    j : int or None
        The layer index ``j`` (1-based) achieving it.
    reason : str
        Why the hypotheses hold or fail.
    candidates : dict
        ``j -> rate or reason`` for every ``j`` tried.
    stated_width_condition : bool or None
        Prop. 27: whether the paper's ``d_x <= d_1 <= ... <= d_j >= ... >= d_y`` holds for the
        chosen ``j`` (the proof needs less, see the module docstring).
    """

    proposition: int
    rate: float | None
    j: int | None
    reason: str
    candidates: dict
    stated_width_condition: bool | None = None


def _eig_inc(C):
    return np.linalg.eigvalsh(C) if C.size else np.zeros(0)


def _tol(Cs):
    scale = max([np.max(np.abs(C)) for C in Cs if C.size] + [1e-300])
    return 1e-12 * scale


def prop27(net, x0) -> RateConstant:
    """Prop. 27's rate constant (49) at the initial point x0 (None with the reason if it fails).

    For a ``j`` in ``1..h`` the hypotheses are: ``C_i`` has at least ``d_{i-1}`` positive
    eigenvalues for ``i < j`` and at least ``d_{i+1}`` negative ones for ``i >= j`` (which forces
    the widths to rise to ``d_{j-1}`` and fall from ``d_j``). The constant is

        prod_{i<j} lambda_{1 + d_i - d_{i-1}}(C_i) * prod_{i>=j} lambda_{1 + d_i - d_{i+1}}(-C_i)

    (increasing order; the first index corrected from the proof), a lower bound of the
    ``j``-th term of (47) along the whole trajectory since the ``C_i`` are conserved.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> prop27(net, [2.0, 1.0]).rate        # j = 2: lambda(C_1) = w1^2 - w2^2
    3.0
    >>> prop27(net, [1.0, 1.0]).rate is None  # 0-balanced: no constant
    True
    """
    _require_plain(net, "prop27")
    x0 = net._single(x0, "x0")
    d, h = net.dims, net.h
    Cs = invariants.conserved(net, x0)
    tol = _tol(Cs)
    eig = [_eig_inc(C) for C in Cs]                 # eig[i-1] for C_i, i = 1..h-1
    cands = {}
    for j in range(1, h + 1):
        rate, why = 1.0, None
        for i in range(1, j):                        # need >= d_{i-1} positive eigenvalues of C_i
            e = eig[i - 1]
            npos = int(np.sum(e > tol))
            if npos < d[i - 1]:
                why = f"C_{i} has {npos} positive eigenvalues, needs d_{i - 1} = {d[i - 1]}"
                break
            rate *= float(e[d[i] - d[i - 1]])        # lambda_{1 + d_i - d_{i-1}}, 0-based index
        if why is None:
            for i in range(j, h):                    # need >= d_{i+1} negative eigenvalues of C_i
                e = -eig[i - 1][::-1]                # eigenvalues of -C_i, increasing
                nneg = int(np.sum(e > tol))
                if nneg < d[i + 1]:
                    why = f"C_{i} has {nneg} negative eigenvalues, needs d_{i + 1} = {d[i + 1]}"
                    break
                rate *= float(e[d[i] - d[i + 1]])    # lambda_{1 + d_i - d_{i+1}}(-C_i)
        cands[j] = why if why is not None else rate
    good = {j: r for j, r in cands.items() if not isinstance(r, str) and r > 0}
    if not good:
        reasons = "; ".join(f"j = {j}: {r}" for j, r in cands.items())
        return RateConstant(proposition=27, rate=None, j=None,
                            reason=f"the hypotheses of Prop. 27 fail for every j ({reasons})",
                            candidates=cands)
    j = max(good, key=good.get)
    stated = all(d[i] <= d[i + 1] for i in range(0, j)) and all(d[i] >= d[i + 1] for i in range(j, h))
    return RateConstant(proposition=27, rate=good[j], j=j,
                        reason=f"Prop. 27 with j = {j}: the conservation laws fix the {j}-th term of (47) "
                               f"from below", candidates=cands, stated_width_condition=bool(stated))


def prop28(net, x0) -> RateConstant:
    """Prop. 28's rate (52) at the initial point x0 (None with the reason if it fails).

    Hypotheses: every hidden width ``d_i >= d_x, d_y``, and for some ``j`` in ``1..h``,
    ``C_i >= 0`` (positive semidefinite) for ``i < j`` and ``C_i <= 0`` for ``i >= j``. Then
    ``alpha_h = prod_{i=1}^{h-1} alpha_(i)`` with ``alpha_(i) = sum_{l=j}^{i} lambda_{1+d_l-d_y}(-C_l)``
    for ``i >= j`` and ``sum_{l=i}^{j-1} lambda_{1+d_l-d_x}(C_l)`` for ``i < j`` (increasing order:
    the ``d_y``-th, resp. ``d_x``-th, largest eigenvalue).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> prop28(net, [1.0, 2.0]).rate        # j = 1: lambda(-C_1) = w2^2 - w1^2
    3.0
    """
    _require_plain(net, "prop28")
    x0 = net._single(x0, "x0")
    d, h = net.dims, net.h
    bad = [i for i in range(1, h) if d[i] < d[0] or d[i] < d[h]]
    if bad:
        return RateConstant(proposition=28, rate=None, j=None,
                            reason=f"Prop. 28 needs every hidden width >= d_x = {d[0]} and >= d_y = {d[h]}; "
                                   f"layer(s) {bad} are narrower", candidates={})
    Cs = invariants.conserved(net, x0)
    tol = _tol(Cs)
    eig = [_eig_inc(C) for C in Cs]
    cands = {}
    for j in range(1, h + 1):
        why = None
        for i in range(1, h):
            e = eig[i - 1]
            if i < j and e.size and e[0] < -tol:
                why = f"C_{i} is not positive semidefinite (eigenvalue {e[0]:.3g})"
                break
            if i >= j and e.size and e[-1] > tol:
                why = f"C_{i} is not negative semidefinite (eigenvalue {e[-1]:.3g})"
                break
        if why is not None:
            cands[j] = why
            continue
        rate = 1.0
        for i in range(1, h):
            if i >= j:
                a = sum(float(-eig[l - 1][::-1][d[l] - d[h]]) for l in range(j, i + 1))
            else:
                a = sum(float(eig[l - 1][d[l] - d[0]]) for l in range(i, j))
            rate *= a
        cands[j] = rate
    good = {j: r for j, r in cands.items() if not isinstance(r, str) and r > 0}
    if not good:
        reasons = "; ".join(f"j = {j}: {r if isinstance(r, str) else 'rate 0'}" for j, r in cands.items())
        return RateConstant(proposition=28, rate=None, j=None,
                            reason=f"the hypotheses of Prop. 28 fail (or give rate 0) for every j ({reasons})",
                            candidates=cands)
    j = max(good, key=good.get)
    return RateConstant(proposition=28, rate=good[j], j=j,
                        reason=f"Prop. 28 with j = {j}", candidates=cands)
