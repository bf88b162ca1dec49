"""Reduced flows: the diagonal reduction (55), the 0-balanced logistic reduction (61) and
scalar chains, with maps between reduced and full states (used as cross-checks of the
full flow and of the emitted model files).

Conventions
-----------
* Diagonal reduction (Section 5.2.1): ``xi = [xi_1, ..., xi_h]`` layer-major, ``xi_i`` the
  diagonal of the upper-left ``d_y x d_y`` block of ``W_i``; flat index ``(i-1)*d_y + (j-1)``
  for ``xi_{i,j}`` (1-based i, j). ``dxi_{i,j}/dt = bar xi_{i,j} (sigma_j - hat xi_j) - gamma xi_{i,j}``.
* Logistic reduction (Section 5.4): ``z_j`` the common diagonal value of every layer (all
  ``xi_{i,j} = z_j``), ``dz_j/dt = z_j^{h-1}(sigma_j - z_j^h) - gamma z_j``; with ``gamma > 0`` the
  0-balanced diagonal set stays invariant (``dC_i/dt = -2 gamma C_i``), so the regularized
  logistic equation is exact too.
* Scalar chain of depth h: the network with ``dims = (1,) * (h + 1)``, one weight per layer;
  on the leaf ``w_i^2 - w_{i+1}^2 = c_i`` the positive branch is parametrized by the last
  weight: ``w_i = sqrt(c_i + ... + c_{h-1} + w_h^2)``.
"""
from __future__ import annotations

import numpy as np

from ._validate import as_finite_array, as_gamma

__all__ = [
    "diagonal_vector_field", "diagonal_loss", "diagonal_from_state", "diagonal_to_state",
    "logistic_vector_field", "logistic_loss", "logistic_to_diagonal", "logistic_to_state",
    "logistic_equilibria", "logistic_fold", "logistic_branch_point",
    "chain_network", "chain_vector_field", "chain_leaf_point", "chain_leaf_equilibrium",
    "chain_leaf_constants",
]


def _sigma(sigma):
    s = as_finite_array(sigma, "sigma")
    s = s.reshape(-1) if s.ndim == 0 else s
    if s.ndim != 1 or s.size == 0 or np.any(s <= 0):
        raise ValueError(f"sigma: expected a 1-D sequence of positive values, got {np.asarray(sigma).tolist()}")
    return s


def _depth(h):
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or int(h) < 1:
        raise ValueError(f"h: expected a positive integer depth, got {h!r}")
    return int(h)


# ------------------------------------------------------------------ diagonal (55)
def _xi(xi, h, d_y):
    xi = as_finite_array(xi, "xi")
    if xi.ndim == 0 or xi.shape[-1] != h * d_y:
        raise ValueError(f"xi: expected shape (..., {h * d_y}) = (..., h * d_y), got {xi.shape}")
    return xi.reshape(xi.shape[:-1] + (h, d_y))


def diagonal_vector_field(xi, sigma, h, gamma=0.0):
    """(55) with optional regularization: ``bar xi_i o (sigma - hat xi) - gamma xi_i`` (stacks allowed)."""
    s = _sigma(sigma)
    h = _depth(h)
    g = as_gamma(gamma)
    X = _xi(xi, h, s.size)
    hat = np.prod(X, axis=-2)
    out = np.empty_like(X)
    for i in range(h):
        bar = np.prod(np.delete(X, i, axis=-2), axis=-2)
        out[..., i, :] = bar * (s - hat)
    out = out - g * X
    return out.reshape(out.shape[:-2] + (h * s.size,))


def diagonal_loss(xi, sigma, h, gamma=0.0):
    s = _sigma(sigma)
    X = _xi(xi, _depth(h), s.size)
    g = as_gamma(gamma)
    return 0.5 * np.sum((s - np.prod(X, axis=-2)) ** 2, axis=-1) + 0.5 * g * np.sum(X * X, axis=(-2, -1))


def diagonal_from_state(net, x):
    """``xi`` (layer-major) of a full state: the diagonals of the upper-left ``d_y x d_y`` blocks."""
    Ws = net.unpack(net._x(x))
    d = net.d_y
    return np.concatenate([np.diagonal(W[..., :d, :d], axis1=-2, axis2=-1) for W in Ws], axis=-1)


def diagonal_to_state(net, xi):
    """The full state whose ``W_i`` are zero except ``[W_i]_{jj} = xi_{i,j}``, j <= d_y (Section 5.2.1)."""
    if net.is_bottleneck:
        raise ValueError(f"net: the diagonal reduction needs every width >= d_y, got dims {net.dims}")
    X = _xi(xi, net.h, net.d_y)
    lead = X.shape[:-2]
    Ws = []
    for i, (r, c) in enumerate(net.shapes):
        W = np.zeros(lead + (r, c))
        idx = np.arange(net.d_y)
        W[..., idx, idx] = X[..., i, :]
        Ws.append(W)
    return net.pack(Ws)


# ------------------------------------------------------------------ logistic (61)
def _z(z, d_y=None):
    z = as_finite_array(z, "z")
    if z.ndim == 0:
        z = z.reshape(1)
    if d_y is not None and z.shape[-1] != d_y:
        raise ValueError(f"z: expected shape (..., {d_y}) (one value per channel), got {z.shape}")
    return z


def logistic_vector_field(z, sigma, h, gamma=0.0):
    """(61) with optional regularization: ``z^{h-1} o (sigma - z^h) - gamma z`` (stacks allowed)."""
    s = _sigma(sigma)
    h = _depth(h)
    z = _z(z, s.size)
    return z ** (h - 1) * (s - z ** h) - as_gamma(gamma) * z


def logistic_loss(z, sigma, h, gamma=0.0):
    """Loss of the lifted network: ``1/2 ||sigma - z^h||^2 + gamma/2 * h ||z||^2``.

    The logistic equation is the flow of this loss divided by h on each channel (every one of
    the h layers carries z_j); i.e. ``dz/dt = -(1/h) dL/dz``.
    """
    s = _sigma(sigma)
    h = _depth(h)
    z = _z(z, s.size)
    return 0.5 * np.sum((s - z ** h) ** 2, axis=-1) + 0.5 * as_gamma(gamma) * h * np.sum(z * z, axis=-1)


def logistic_to_diagonal(z, h):
    """``xi`` with ``xi_{i,j} = z_j`` for every layer i."""
    z = _z(z)
    h = _depth(h)
    return np.concatenate([z] * h, axis=-1)


def logistic_to_state(net, z):
    """The 0-balanced diagonal full state with ``[W_i]_{jj} = z_j`` for every layer."""
    return diagonal_to_state(net, logistic_to_diagonal(_z(z, net.d_y), net.h))


def logistic_equilibria(sigma_j, h, gamma=0.0):
    """Sorted real equilibria ``z`` of one channel: 0 and the roots of ``z^{h-2}(sigma - z^h) = gamma``.

    (For h = 1 the equation is ``sigma - z - gamma z = 0``.)
    """
    s = float(sigma_j)
    h = _depth(h)
    g = as_gamma(gamma)
    if h == 1:
        return np.array([s / (1.0 + g)])
    if g == 0.0:
        r = s ** (1.0 / h)
        return np.array([-r, 0.0, r]) if h % 2 == 0 else np.array([0.0, r])
    # z * (z^{h-2} (s - z^h) - g) = 0; the bracket is -z^{2h-2} + s z^{h-2} - g (no root at 0 when g > 0)
    coeffs = np.zeros(2 * h - 1)
    coeffs[0] = -1.0
    coeffs[h] += s
    coeffs[-1] += -g
    dcoeffs = np.polyder(coeffs)
    found = [0.0]
    for z in np.roots(coeffs):
        if abs(z.imag) > 1e-6 * max(1.0, abs(z)):
            continue
        z = z.real
        for _ in range(50):                               # Newton polish
            d = np.polyval(dcoeffs, z)
            if d == 0:
                break
            step = np.polyval(coeffs, z) / d
            z -= step
            if abs(step) <= 1e-16 * max(1.0, abs(z)):
                break
        if abs(np.polyval(coeffs, z)) <= 1e-9 * max(1.0, s, g) and all(abs(z - f) > 1e-9 for f in found):
            found.append(float(z))
    return np.sort(np.array(found))


def logistic_fold(sigma_j, h):
    """``(gamma_fold, z_fold)`` of the regularized logistic equation for h >= 3.

    ``g(z) = z^{h-2}(sigma - z^h)`` is largest at ``z^h = (h-2) sigma / (2h-2)``; the nonzero
    equilibria ``g(z) = gamma`` meet there in a fold: ``gamma_fold = z^{h-2} sigma h / (2h-2)``
    (h = 3: ``z = (sigma/4)^{1/3}``, ``gamma = (3 sigma / 4) (sigma/4)^{1/3}``).
    """
    h = _depth(h)
    if h < 3:
        raise ValueError(f"h: the fold exists for h >= 3 (h = 2 has a branch point at gamma = sigma), got {h}")
    s = float(sigma_j)
    z = ((h - 2) * s / (2 * h - 2)) ** (1.0 / h)
    return z ** (h - 2) * s * h / (2 * h - 2), z


def logistic_branch_point(sigma_j):
    """h = 2: the nonzero equilibria ``z = +-sqrt(sigma - gamma)`` meet z = 0 at ``gamma = sigma``."""
    return float(sigma_j)


# --------------------------------------------------------------- scalar chains
def chain_network(depth, sigma, gamma=0.0):
    """The scalar chain of ``depth`` weights as a :class:`dlnsys.Network` (dims ``(1,)*(depth+1)``)."""
    from .network import Network
    return Network((1,) * (_depth(depth) + 1), [float(_sigma(sigma)[0])], gamma=gamma)


def chain_vector_field(w, sigma, gamma=0.0):
    """``dw_i/dt = prod_{k != i} w_k (sigma - prod w) - gamma w_i`` (stacks allowed)."""
    w = as_finite_array(w, "w")
    return diagonal_vector_field(w, [float(_sigma(sigma)[0])], w.shape[-1], gamma)


def chain_leaf_constants(w):
    """``c_i = w_i^2 - w_{i+1}^2``, i = 1..h-1 (the conserved quantities of a chain)."""
    w = as_finite_array(w, "w")
    return w[..., :-1] ** 2 - w[..., 1:] ** 2


def chain_leaf_point(w_last, c):
    """The chain state on the positive branch of the leaf ``c`` with last weight ``w_last``."""
    c = as_finite_array(c, "c").reshape(-1)
    w = [float(w_last)]
    for ci in c[::-1]:
        sq = ci + w[-1] ** 2
        if sq < 0:
            raise ValueError(f"c: no real point on the leaf {c.tolist()} with last weight {w_last!r}")
        w.append(np.sqrt(sq))
    return np.array(w[::-1])


def chain_leaf_equilibrium(sigma, c):
    """The unique equilibrium with positive weights on the chain leaf ``c`` (generalizes (64)).

    On the positive branch ``prod w`` increases strictly with ``w_h > 0`` from a value
    <= 0 (or 0) to infinity, so ``prod w = sigma`` has exactly one root (bisection).
    For h = 2 this is (64): ``w_1 = sqrt((c + sqrt(c^2 + 4 sigma^2))/2)``, ``w_2 = sigma / w_1``.
    """
    s = float(_sigma(sigma)[0])
    c = as_finite_array(c, "c").reshape(-1)
    if c.size == 0:
        return np.array([s])
    # lowest admissible w_h: every partial sum c_i + ... + c_{h-1} + w_h^2 >= 0
    tails = np.cumsum(c[::-1])
    lo = float(np.sqrt(max(0.0, -tails.min())))

    def prod(t):
        return float(np.prod(chain_leaf_point(t, c)))

    hi = max(1.0, lo * 2.0 + 1.0)
    while prod(hi) < s:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if prod(mid) < s:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-16 * hi:
            break
    return chain_leaf_point(0.5 * (lo + hi), c)
