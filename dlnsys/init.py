"""Initial states for the gradient flow: random, 0-balanced, delta-balanced, diagonal,
decoupled, and points on a prescribed conservation-law leaf.

Every function returns a state vector ``x`` of shape ``(n_params,)`` in the
:class:`dlnsys.Network` convention (row-major ``W_1, ..., W_h``); the random ones accept
``n=`` and then return a stack of shape ``(n, n_params)`` for ensembles. ``seed`` is an int,
None (fresh entropy) or a ``numpy.random.Generator`` (which is advanced, so successive calls
with the same Generator give different draws).

Masked networks (fixed entries, Section 7): :func:`gaussian` leaves every fixed entry at the
value it has in ``base`` (zeros by default). The structured initializations (balanced,
decoupled, ...) build every weight; they check that the result agrees with ``base`` on the
fixed entries and raise ``ValueError`` otherwise (a diagonal state with a mask that only fixes
off-diagonal zeros is fine; a randomly rotated one is not). :func:`on_leaf` with Newton
projection moves only the learnable entries.
"""
from __future__ import annotations

import numbers

import numpy as np

from . import invariants
from ._validate import as_finite_array, as_seed_rng, as_state

__all__ = ["gaussian", "balanced", "delta_balanced", "diagonal", "diagonal_random", "decoupled",
           "on_leaf", "random_orthogonal"]


# ------------------------------------------------------------------ validation
def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return v


def _nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a non-negative finite number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name}: expected a non-negative finite number, got {value!r}")
    return v


def _count(n):
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)) or int(n) < 1:
        raise ValueError(f"n: expected None or a positive integer (ensemble size), got {n!r}")
    return int(n)


def _base(net, base):
    if base is None:
        return np.zeros(net.n_params)
    b = as_state(base, net.n_params, "base")
    if b.ndim != 1:
        raise ValueError(f"base: expected one state of shape ({net.n_params},), got {b.shape}")
    return b


def _check_mask(net, x, base, what):
    """Structured states must agree with ``base`` on the fixed entries of a masked network."""
    if net.mask is None:
        return x
    fixed = ~net.mask
    ref = np.max(np.abs(x), initial=0.0) + np.max(np.abs(base), initial=0.0)
    if np.max(np.abs(x[..., fixed] - base[fixed]), initial=0.0) > 1e-12 * max(ref, 1e-300):
        raise ValueError(
            f"net: has fixed entries (mask) that a {what} state would change; use gaussian(..., base=...) "
            "or on_leaf(..., method='newton', x0=...) which move only learnable entries")
    x = np.array(x, copy=True)
    x[..., fixed] = base[fixed]
    return x


def _ensemble(make, rng, n):
    if n is None:
        return make(rng)
    return np.stack([make(rng) for _ in range(n)])


# ------------------------------------------------------------------- helpers
def random_orthogonal(d, seed=None):
    """A Haar-distributed random orthogonal ``d x d`` matrix (QR of a Gaussian, signs fixed).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys.init import random_orthogonal
    >>> Q = random_orthogonal(3, seed=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(3)))
    True
    """
    rng = as_seed_rng(seed)
    if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)) or int(d) < 1:
        raise ValueError(f"d: expected a positive integer, got {d!r}")
    Q, R = np.linalg.qr(rng.standard_normal((int(d), int(d))))
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def _rotate_hidden(net, Ws, rng):
    """``W_i -> P_i W_i P_{i-1}^T`` with Haar P_i on the hidden layers (Prop. 8; P_0 = P_h = I)."""
    h = net.h
    Ps = [None] + [random_orthogonal(net.dims[k], rng) for k in range(1, h)] + [None]
    out = []
    for i, W in enumerate(Ws):          # W is the paper's W_{i+1}: node i -> node i+1
        if Ps[i + 1] is not None:
            W = Ps[i + 1] @ W
        if Ps[i] is not None:
            W = W @ Ps[i].T
        out.append(W)
    return out


def _diagonal_layers(net, values):
    r = net.d_min
    Ws = []
    for i, (rows, cols) in enumerate(net.shapes):
        W = np.zeros((rows, cols))
        W[np.arange(r), np.arange(r)] = values[i]
        Ws.append(W)
    return Ws


def _as_values(net, values, name="values"):
    v = as_finite_array(values, name)
    r = net.d_min
    if v.ndim == 0:
        return np.full((net.h, r), float(v))
    if v.shape == (r,):
        return np.broadcast_to(v, (net.h, r)).copy()
    if v.shape == (net.h, r):
        return v.copy()
    what = "d_y" if r == net.d_y else "d_min"
    raise ValueError(f"{name}: expected a number, shape ({r},) (one value per channel, {what} = {r}) "
                     f"or ({net.h}, {r}) (per layer and channel), got shape {v.shape}")


# ---------------------------------------------------------------- Gaussian
def gaussian(net, scale, seed=None, n=None, *, base=None):
    """I.i.d. ``N(0, scale^2)`` weights.

    Parameters
    ----------
    net : Network
    scale : float
        Standard deviation of every learnable entry (positive).
    seed : int, None or numpy Generator
    n : int, optional
        Ensemble size; the result is then ``(n, n_params)``.
    base : array, optional
        State supplying the fixed entries of a masked network (zeros by default); ignored
        for unmasked networks.

    Returns
    -------
    numpy.ndarray
        ``(n_params,)`` or ``(n, n_params)``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> from dlnsys import init
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> init.gaussian(net, 0.1, seed=0).shape
    (10,)
    >>> init.gaussian(net, 0.1, seed=0, n=5).shape
    (5, 10)
    """
    scale = _positive(scale, "scale")
    n = _count(n)
    rng = as_seed_rng(seed)
    b = _base(net, base)

    def make(rng):
        x = scale * rng.standard_normal(net.n_params)
        if net.mask is not None:
            x[~net.mask] = b[~net.mask]
        return x
    return _ensemble(make, rng, n)


# ---------------------------------------------------------------- balanced
def _balanced_one(net, scale, rng, rotate):
    h, r = net.h, net.d_min
    G = scale * rng.standard_normal((net.d_y, net.d_x))
    if h == 1:
        return net.pack([G])
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    U, s, Vt = U[:, :r], s[:r], Vt[:r]
    root = s ** (1.0 / h)
    Ws = []
    for i, (rows, cols) in enumerate(net.shapes):
        W = np.zeros((rows, cols))
        if i == 0:
            W[:r, :] = root[:, None] * Vt
        elif i == h - 1:
            W[:, :r] = U * root
        else:
            W[np.arange(r), np.arange(r)] = root
        Ws.append(W)
    if rotate:
        Ws = _rotate_hidden(net, Ws, rng)
    return net.pack(Ws)


def balanced(net, scale, seed=None, n=None, *, rotate=True, base=None):
    """An exactly 0-balanced random state (``C_i = 0`` for every i, Section 5.3).

    Procedure 1 of Arora, Cohen, Golowich, Hu (ICLR 2019): draw ``G`` of shape
    ``d_y x d_x`` with i.i.d. ``N(0, scale^2)`` entries, take its SVD ``G = U S V^T`` and set
    ``W_1 = S^{1/h} V^T``, ``W_i = S^{1/h}`` for the hidden layers and ``W_h = U S^{1/h}``,
    each zero-padded to its shape. Then (``rotate=True``) every hidden layer gets an
    independent Haar-random orthogonal change of basis ``W_i -> P_i W_i P_{i-1}^T``
    (Prop. 8), which keeps ``C = 0`` and the end-to-end map. So ``scale`` is the entry
    scale of the end-to-end map ``W_{1:h} = G``; each layer has singular values
    ``s_j(G)^{1/h}``. With a bottleneck (``d_min < d_y``) the rank-``d_min`` truncation of
    ``G`` is used. With ``h = 1`` there is no conservation law and the result is ``G``.
    For layers of a given size ``s`` (e.g. the "small initialization" of Section 6.1) take
    ``scale`` of about ``s**h / sqrt(d_x)``: the end-to-end scale shrinks like the h-th power.

    Parameters
    ----------
    net : Network
    scale : float
        Entry standard deviation of the end-to-end map ``W_{1:h}`` (positive).
    seed : int, None or numpy Generator
    n : int, optional
        Ensemble size.
    rotate : bool
        Apply the random orthogonal changes of basis of the hidden layers (default True).
    base : array, optional
        Values of the fixed entries of a masked network (see the module notes).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.invariants import balancedness
    >>> net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    >>> x = init.balanced(net, 0.1, seed=1)
    >>> bool(balancedness(net, x) < 1e-15)
    True
    """
    scale = _positive(scale, "scale")
    n = _count(n)
    rng = as_seed_rng(seed)
    b = _base(net, base)
    x = _ensemble(lambda g: _balanced_one(net, scale, g, bool(rotate)), rng, n)
    return _check_mask(net, x, b, "balanced")


def delta_balanced(net, delta, scale, seed=None, n=None, *, base=None):
    """A state with ``max_i ||C_i||_F = delta`` (delta-balanced, Section 5.3.1).

    A 0-balanced state from :func:`balanced` (same ``scale``) is moved along a random
    unit direction ``z`` (i.i.d. Gaussian, normalized; only learnable entries) by the
    amount ``t`` at which ``balancedness(x0 + t z)`` reaches ``delta``, found by bracketing
    and bisection on the left of the first crossing found. The result satisfies
    ``delta * (1 - 1e-10) <= balancedness <= delta``: the bound of delta-balance holds and is
    attained up to the bisection tolerance. ``delta = 0`` (or a delta below the rounding
    level of the 0-balanced state) gives the 0-balanced state; with ``h = 1`` there are no
    conservation laws and the result is the 0-balanced (Gaussian) state.

    Fig. 3 of the paper uses ``delta = 0.04``.

    Parameters
    ----------
    net : Network
    delta : float
        Target balancedness, non-negative.
    scale : float
        Entry scale of the end-to-end map of the 0-balanced starting point (see :func:`balanced`).
    seed : int, None or numpy Generator
    n : int, optional
        Ensemble size.

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.invariants import balancedness
    >>> net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    >>> x = init.delta_balanced(net, 0.04, 0.01, seed=0)
    >>> bool(0.04 * (1 - 1e-9) <= balancedness(net, x) <= 0.04)
    True
    """
    delta = _nonnegative(delta, "delta")
    scale = _positive(scale, "scale")
    n = _count(n)
    rng = as_seed_rng(seed)
    b = _base(net, base)

    def make(rng):
        x0 = _balanced_one(net, scale, rng, True)
        x0 = _check_mask(net, x0, b, "delta-balanced")
        if net.h == 1 or delta == 0.0:
            return x0
        z = rng.standard_normal(net.n_params)
        if net.mask is not None:
            z[~net.mask] = 0.0
        z /= np.linalg.norm(z)

        def bal(t):
            return float(invariants.balancedness(net, x0 + t * z))
        if bal(0.0) >= delta:
            return x0
        lo, hi = 0.0, max(np.sqrt(delta), delta / max(1.0, np.linalg.norm(x0)))
        for _ in range(200):
            if bal(hi) > delta:
                break
            lo, hi = hi, 2.0 * hi
        else:  # pragma: no cover - balancedness grows quadratically along a generic z
            raise ValueError(f"delta: could not reach balancedness {delta} along a random direction")
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            bm = bal(mid)
            if bm <= delta:
                lo = mid
                if delta - bm <= 1e-12 * delta:
                    break
            else:
                hi = mid
            if hi - lo <= 1e-16 * hi:
                break
        return x0 + lo * z
    return _ensemble(make, rng, n)


# ---------------------------------------------------------- diagonal / decoupled
def diagonal(net, values, *, base=None):
    """A block-shift diagonal state: ``[W_i]_{jj} = values[i, j]``, every other entry 0.

    Channel ``j`` (``j < d_y``, or ``j < d_min`` with a bottleneck) connects input ``j`` to
    output ``j`` through node ``j`` of every hidden layer (Section 5.2.1); the ``h x d_y``
    values are the ``xi_{i,j}`` of the diagonal reduction (55). Hidden nodes beyond ``d_y``
    are left disconnected.

    Parameters
    ----------
    net : Network
    values : float or array
        A number (all entries), shape ``(d_y,)`` (the same per layer), or ``(h, d_y)``.

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> init.diagonal(net, [[1.0, 0.5], [2.0, 0.25]])
    array([1.  , 0.  , 0.  , 0.  , 0.5 , 0.  , 2.  , 0.  , 0.  , 0.25])
    """
    vals = _as_values(net, values)
    x = net.pack(_diagonal_layers(net, vals))
    return _check_mask(net, x, _base(net, base), "diagonal")


def diagonal_random(net, scale, seed=None, n=None, *, base=None):
    """A block-shift diagonal state with i.i.d. ``N(0, scale^2)`` diagonal entries ``xi_{i,j}``.

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_block_shift_diagonal
    >>> net = Network((3, 4, 2), sigma=[2.0, 1.0])
    >>> is_block_shift_diagonal(net, init.diagonal_random(net, 0.5, seed=0))
    True
    """
    scale = _positive(scale, "scale")
    n = _count(n)
    rng = as_seed_rng(seed)
    b = _base(net, base)
    x = _ensemble(lambda g: net.pack(_diagonal_layers(net, scale * g.standard_normal((net.h, net.d_min)))),
                  rng, n)
    return _check_mask(net, x, b, "diagonal")


def decoupled(net, values, seed=None, n=None, *, base=None):
    """A decoupled state: :func:`diagonal` followed by random orthogonal changes of basis
    of the hidden layers, ``W_i -> P_i W_i P_{i-1}^T`` (Prop. 32 read backwards).

    Its flow is equivariant to the block-shift diagonal flow of ``diagonal(net, values)``
    (Prop. 8), and it stays decoupled (Prop. 31). With positive values ordered
    consistently across layers it is also aligned with ``U_h = I``, ``V_1 = I`` in the
    literal sense of Section 5 (see :func:`dlnsys.structure.is_decoupled`).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_decoupled, is_block_shift_diagonal
    >>> net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    >>> x = init.decoupled(net, [1.0, 0.5], seed=0)
    >>> is_decoupled(net, x), is_block_shift_diagonal(net, x)
    (True, False)
    """
    vals = _as_values(net, values)
    n = _count(n)
    rng = as_seed_rng(seed)
    b = _base(net, base)
    x = _ensemble(lambda g: net.pack(_rotate_hidden(net, _diagonal_layers(net, vals), g)), rng, n)
    return _check_mask(net, x, b, "decoupled")


# ---------------------------------------------------------------- on a leaf
def _parse_leaf(net, C):
    """Return ``("channels", c)`` with c of shape (h-1, d_min) or ``("matrices", [C_i])``."""
    h = net.h
    if isinstance(C, (list, tuple)) and len(C) == h - 1 and h > 1 and all(np.ndim(c) == 2 for c in C):
        mats = []
        for i, c in enumerate(C):
            c = as_finite_array(c, f"C[{i}]")
            d = net.dims[i + 1]
            if c.shape != (d, d):
                raise ValueError(f"C[{i}]: C_{i + 1} must have shape ({d}, {d}), got {c.shape}")
            if np.max(np.abs(c - c.T), initial=0.0) > 1e-12 * max(np.max(np.abs(c), initial=0.0), 1e-300):
                raise ValueError(f"C[{i}]: C_{i + 1} must be symmetric")
            mats.append(0.5 * (c + c.T))
        return "matrices", mats
    c = as_finite_array(C, "C")
    r = net.d_min
    if c.ndim == 3 and c.shape[0] == h - 1:
        return _parse_leaf(net, list(c))
    if c.ndim == 1 and c.shape == (h - 1,) and r == 1:
        return "channels", c.reshape(h - 1, 1)
    if c.ndim == 2 and c.shape == (h - 1, r):
        return "channels", c.copy()
    if h == 1 and c.size == 0:
        return "channels", np.zeros((0, r))
    raise ValueError(
        f"C: expected {h - 1} symmetric matrices of shapes {[(d, d) for d in net.dims[1:-1]]}, "
        f"per-channel constants of shape ({h - 1}, {r}) (c_ij = xi_ij^2 - xi_(i+1)j^2)"
        + (f" or {h - 1} numbers (scalar chain)" if r == 1 else "") + f"; got {np.shape(C)}")


def _channels_from_matrices(net, mats):
    """Per-channel constants if every C_i is diagonal and zero beyond channel d_min, else None."""
    r = net.d_min
    out = np.zeros((net.h - 1, r))
    for i, c in enumerate(mats):
        off = c - np.diag(np.diag(c))
        if np.any(off != 0.0) or np.any(np.diag(c)[r:] != 0.0):
            return None
        out[i] = np.diag(c)[:r]
    return out


def _on_leaf_diagonal(net, c, rng, last, signs, scale):
    h, r = net.h, net.d_min
    # S[i, j] = sum_{k >= i} c[k, j] so that xi_i^2 = xi_h^2 + S_i (i = 0..h-1, S_{h-1} = 0).
    S = np.zeros((h, r))
    if h > 1:
        S[:-1] = np.cumsum(c[::-1], axis=0)[::-1]
    need = np.maximum(0.0, -S.min(axis=0))          # smallest admissible xi_h^2 per channel
    if last is None:
        last_sq = need + (scale * rng.standard_normal(r)) ** 2
    else:
        lv = as_finite_array(last, "last")
        if lv.ndim == 0:
            lv = np.full(r, float(lv))
        if lv.shape != (r,):
            raise ValueError(f"last: expected a number or {r} output-layer values, got shape {lv.shape}")
        last_sq = lv ** 2
    sq = last_sq[None, :] + S
    bad = sq < -1e-14 * np.maximum(np.abs(S).max(axis=0) + last_sq, 1e-300)[None, :]
    if np.any(bad):
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"C: the leaf has no point with last = {np.sqrt(last_sq[j])!r} in channel {j}: layer {i + 1} "
            f"would need w^2 = {sq[i, j]:.6g} < 0 (the output-layer weight must satisfy "
            f"w_h^2 >= {need[j]:.6g})")
    mag = np.sqrt(np.maximum(sq, 0.0))
    if signs is None:
        sg = np.where(rng.random((h, r)) < 0.5, -1.0, 1.0)
        if last is not None:
            sg[-1] = np.where(np.asarray(lv) < 0, -1.0, 1.0)
    else:
        sg = as_finite_array(signs, "signs")
        if r == 1 and sg.shape == (h,):             # scalar chain: one sign per layer
            sg = sg.reshape(h, 1)
        try:
            sg = np.broadcast_to(sg, (h, r)).astype(float)
        except ValueError:
            raise ValueError(f"signs: must broadcast to shape ({h}, {r}), got {np.shape(signs)}") from None
        if not np.all(np.isin(sg, (-1.0, 1.0))):
            raise ValueError("signs: entries must be +1 or -1")
    return net.pack(_diagonal_layers(net, sg * mag))


def _rank_bounds_check(net, mats):
    """Refuse a leaf that the rank test of :func:`invariants.empty_leaf_reason` proves empty."""
    found = invariants.empty_leaf_reason(net, mats)
    if found is not None:
        raise ValueError(f"C[{found[0]}]: {found[1]}")


def _on_leaf_newton(net, mats, rng, x0, scale, tol, max_iter, restarts):
    err = None
    for attempt in range(1 + (restarts if x0 is None else 0)):
        try:
            return _newton_once(net, mats, rng, x0, scale, tol, max_iter)
        except _NewtonFailed as e:
            err = e
    raise ValueError(
        f"C: Gauss-Newton projection onto the leaf did not converge (relative residual {err.residual:.3g} > "
        f"tol = {tol:g} after {err.iterations} iterations, {attempt + 1} start(s)); the leaf may be empty, "
        "or the start too far from it; try another seed, scale or x0")


class _NewtonFailed(Exception):
    def __init__(self, residual, iterations):
        super().__init__(residual, iterations)
        self.residual, self.iterations = residual, iterations


def _newton_once(net, mats, rng, x0, scale, tol, max_iter):
    target = np.concatenate([c[np.triu_indices(c.shape[0])] for c in mats])
    if x0 is None:
        x = scale * rng.standard_normal(net.n_params)
        if net.mask is not None:
            x[~net.mask] = 0.0
    else:
        x = as_state(x0, net.n_params, "x0").astype(float).copy()
        if x.ndim != 1:
            raise ValueError(f"x0: expected one state of shape ({net.n_params},), got {x.shape}")
    free = np.arange(net.n_params) if net.mask is None else np.flatnonzero(net.mask)

    def residual(x):
        return invariants.conserved_vector(net, x) - target

    F = residual(x)
    err = np.inf
    for it in range(max_iter + 1):
        ref = max(np.max(np.abs(target), initial=0.0),
                  max(float(np.sum(W * W)) for W in net.unpack(x)), 1e-300)
        err = np.max(np.abs(F), initial=0.0) / ref
        if err <= tol:
            return x
        if it == max_iter:
            break
        D = invariants.conservation_differential(net, x)[:, free]
        step = np.linalg.lstsq(D, -F, rcond=None)[0]
        norm0 = np.linalg.norm(F)
        t = 1.0
        while t >= 1e-6:
            xn = x.copy()
            xn[free] += t * step
            Fn = residual(xn)
            if np.linalg.norm(Fn) < (1 - 1e-4 * t) * norm0:
                break
            t *= 0.5
        else:
            break
        x, F = xn, Fn
    raise _NewtonFailed(err, it)


def on_leaf(net, C, seed=None, *, method="auto", last=None, signs=None, scale=1.0, x0=None,
            tol=1e-12, max_iter=100, restarts=5):
    """A state whose conserved quantities (Prop. 6) are the given ``C``.

    Two constructions:

    * **Scalar chains** (every width 1) and **diagonal leaves** (``C`` given per channel, or
      as diagonal matrices vanishing beyond channel ``d_y``): exact, channel by channel.
      The output-layer weight ``xi_{h,j}`` is chosen (``last``) or drawn, then
      ``xi_{i,j}^2 = xi_{i+1,j}^2 + c_{i,j}`` backwards. A drawn ``xi_{h,j}`` always gives a
      point (``xi_{h,j}^2 = max(0, -min_i sum_{k>=i} c_{k,j}) + (scale g)^2``, g standard
      normal); a given one that makes some ``xi_{i,j}^2 < 0`` raises ``ValueError``. Signs are
      random (``signs=None``) or given (``+-1``, broadcast to ``(h, d_y)``; ``(h,)`` for a
      scalar chain). The result is block-shift diagonal.
    * **General leaves** (symmetric matrices): Gauss-Newton with minimum-norm steps and
      backtracking on ``conserved_vector(x) - C`` from a random point (``N(0, scale^2)``)
      or ``x0``, moving only learnable entries; a random start that stalls in a local
      minimum of the residual is replaced by a fresh one up to ``restarts`` times (about
      1% of random starts stall on small random leaves). A rank condition (``C_i`` has at most
      ``min(d_{i-1}, d_i)`` positive and ``min(d_i, d_{i+1})`` negative eigenvalues) is checked
      first; non-convergence raises ``ValueError`` (the leaf may be empty or far away).

    Parameters
    ----------
    net : Network
    C : sequence
        ``h-1`` symmetric matrices ``C_i`` (shape ``d_i x d_i``); or per-channel constants of
        shape ``(h-1, d_y)`` (``c_{i,j} = xi_{i,j}^2 - xi_{i+1,j}^2``, Section 5.2.1); or, for a
        scalar chain, ``h-1`` numbers ``c_i = w_i^2 - w_{i+1}^2``.
    seed : int, None or numpy Generator
    method : {"auto", "diagonal", "newton"}
        "auto" uses the exact construction whenever ``C`` allows it.
    last : float or array, optional
        Output-layer diagonal weights ``xi_{h, j}`` (exact methods only).
    signs : array of +-1, optional
        Signs of the diagonal weights (exact methods only); random by default.
    scale : float
        Scale of the random choices (positive).
    x0 : array, optional
        Starting point of the Newton projection (also supplies fixed entries of a mask).
    tol : float
        Newton stops when ``max |C(x) - C| <= tol * max(max|C|, max_i ||W_i||_F^2)``.
    max_iter : int
        Newton iterations per start.
    restarts : int
        Further random starts after a failed one (not used with ``x0``).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> chain = Network((1, 1, 1, 1), sigma=[1.0])
    >>> x = init.on_leaf(chain, [0.5, -0.25], last=1.0, signs=1)
    >>> x
    array([1.11803399, 0.8660254 , 1.        ])
    >>> [round(float(c[0, 0]), 12) for c in chain.conserved(x)]
    [0.5, -0.25]
    >>> net = Network((3, 3, 2), sigma=[2.0, 1.0])
    >>> C1 = np.array([[1.0, 0.2, 0.0], [0.2, -0.5, 0.1], [0.0, 0.1, 0.3]])
    >>> x = init.on_leaf(net, [C1], seed=0)
    >>> bool(np.allclose(net.conserved(x)[0], C1, atol=1e-12))
    True
    """
    if method not in ("auto", "diagonal", "newton"):
        raise ValueError(f"method: expected 'auto', 'diagonal' or 'newton', got {method!r}")
    scale = _positive(scale, "scale")
    tol = _positive(tol, "tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (numbers.Integral, np.integer)) or max_iter < 0:
        raise ValueError(f"max_iter: expected a non-negative integer, got {max_iter!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, (numbers.Integral, np.integer)) or restarts < 0:
        raise ValueError(f"restarts: expected a non-negative integer, got {restarts!r}")
    rng = as_seed_rng(seed)
    kind, data = _parse_leaf(net, C)
    if net.h == 1:
        x = scale * rng.standard_normal(net.n_params) if x0 is None else as_state(x0, net.n_params, "x0").copy()
        return x
    channels = data if kind == "channels" else _channels_from_matrices(net, data)
    if method == "diagonal" and channels is None:
        raise ValueError("C: method='diagonal' needs per-channel constants or diagonal C_i vanishing beyond "
                         f"channel {net.d_min}")
    if method != "newton" and channels is not None:
        if net.mask is not None:
            x = _on_leaf_diagonal(net, channels, rng, last, signs, scale)
            return _check_mask(net, x, _base(net, x0), "diagonal")
        return _on_leaf_diagonal(net, channels, rng, last, signs, scale)
    if last is not None or signs is not None:
        raise ValueError("last, signs: only used by the exact (diagonal) construction; "
                         "this leaf needs Newton projection")
    if kind == "channels":
        mats = []
        for i in range(net.h - 1):
            d = net.dims[i + 1]
            m = np.zeros((d, d))
            m[np.arange(net.d_min), np.arange(net.d_min)] = data[i]
            mats.append(m)
    else:
        mats = data
    _rank_bounds_check(net, mats)
    return _on_leaf_newton(net, mats, rng, x0, scale, tol, int(max_iter), int(restarts))
