"""The gradient flow (9)/(25) of a deep linear network and its derivatives.

Everything here is computed in block form with prefix and suffix products of the
weights (O(h) matrix products per evaluation); the adjacency form (12) with powers of
A is kept only as a cross-check and as the baseline of the benchmarks.

All functions take a :class:`dlnsys.Network` and validated arrays; the public entry
points are the methods of ``Network`` (``net.vector_field(x)`` and so on), which
validate their input and then call these.

Index conventions (0-based in code, 1-based in the paper): ``W[k]`` is the paper's
``W_{k+1}`` with shape ``(d_{k+1}, d_k)``; the product ``W_{1:h} = W[h-1] @ ... @ W[0]``.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "loss", "vector_field", "vector_field_adjacency", "jacobian", "hessian", "hvp",
    "hessian_form", "gd_step",
]


def _T(a):
    return np.swapaxes(a, -1, -2)


def _suffixes(Ws):
    """``S[k] = W[h-1] @ ... @ W[k+1]`` (shape ``d_y x d_{k+1}``); ``S[h-1]`` is None for the identity."""
    h = len(Ws)
    S = [None] * h
    if h > 1:
        S[h - 2] = Ws[h - 1]
        for k in range(h - 3, -1, -1):
            S[k] = S[k + 1] @ Ws[k + 1]
    return S


def _product(Ws, S):
    return Ws[0] if S[0] is None else S[0] @ Ws[0]


def residual(net, x):
    """``Xi = Sigma - W_{1:h}`` for a state or a stack of states."""
    Ws = net.unpack(x)
    return net.Sigma - _product(Ws, _suffixes(Ws))


def loss(net, x):
    """``L = 1/2 ||Sigma - W_{1:h}||_F^2 + gamma/2 ||x||^2`` (eqs. 5, 24)."""
    xi = residual(net, x)
    value = 0.5 * np.sum(xi * xi, axis=(-2, -1))
    if net.gamma:
        value = value + 0.5 * net.gamma * np.sum(x * x, axis=-1)
    return value


def _flatten(blocks):
    lead = blocks[0].shape[:-2]
    return np.concatenate([b.reshape(lead + (-1,)) for b in blocks], axis=-1)


def vector_field(net, x):
    """``dW_j/dt = W_{j+1:h}^T (Sigma - W_{1:h}) W_{1:j-1}^T - gamma W_j`` (eqs. 9, 25), vectorized."""
    Ws = net.unpack(x)
    h = len(Ws)
    S = _suffixes(Ws)
    R = net.Sigma - _product(Ws, S)          # R_k = Xi W_1^T ... W_k^T, shape d_y x d_k
    # each block is written straight into its slice of the one output array (no concatenation:
    # for wide layers a second copy of the output costs as much as a matrix product)
    lead = R.shape[:-2]
    f = np.empty(lead + (net.n_params,))
    o, d = net.param_offsets, net.dims
    for k in range(h):
        block = f[..., o[k]:o[k + 1]].reshape(lead + (d[k + 1], d[k]))    # a view: rows are contiguous
        if S[k] is None:
            block[...] = R
        else:
            np.matmul(_T(S[k]), R, out=block)
        if k + 1 < h:
            R = R @ _T(Ws[k])
    if net.gamma:
        f -= net.gamma * x
    if net.mask is not None:
        f *= net.mask
    return f


def gd_step(net, x, eta):
    """One step of gradient descent (67): ``x + eta * f(x)``."""
    return x + eta * vector_field(net, x)


def vector_field_adjacency(net, A):
    """Eq. (12)/(25) literally: ``sum_j (A^{h-j})^T (E - A^h) (A^{j-1})^T - gamma A``, with powers of A."""
    h = net.h
    powers = [np.eye(A.shape[-1])]
    for _ in range(h):
        powers.append(powers[-1] @ A)
    M = net.E - powers[h]
    out = np.zeros_like(A)
    for j in range(1, h + 1):
        out += powers[h - j].T @ M @ powers[j - 1].T
    if net.gamma:
        out -= net.gamma * A
    if net.mask is not None:
        out *= net.adjacency(net.mask.astype(float))
    return out


def hvp(net, x, v):
    """Hessian of the loss times ``v`` (``v`` of shape ``(n,)`` or a stack ``(k, n)``), never forming it.

    Forward-mode derivative of the block-form recursion, so O(h) matrix products per
    direction. Equals ``-jacobian(x) @ v``: with a mask, only learnable rows are nonzero.
    """
    Ws = net.unpack(x)
    Vs = net.unpack(v)
    h = len(Ws)
    S = _suffixes(Ws)
    dS = [None] * h                           # directional derivatives of the suffixes
    if h > 1:
        dS[h - 2] = Vs[h - 1]
        for k in range(h - 3, -1, -1):
            dS[k] = dS[k + 1] @ Ws[k + 1] + S[k + 1] @ Vs[k + 1]
    if S[0] is None:
        dM = Vs[0]
    else:
        dM = dS[0] @ Ws[0] + S[0] @ Vs[0]
    R = net.Sigma - _product(Ws, S)
    dR = -dM
    blocks = []
    for k in range(h):
        if S[k] is None:
            blocks.append(dR)
        else:
            blocks.append(_T(dS[k]) @ R + _T(S[k]) @ dR)
        if k + 1 < h:
            dR = dR @ _T(Ws[k]) + R @ _T(Vs[k])
            R = R @ _T(Ws[k])
    out = -_flatten(blocks)
    if out.shape != np.shape(v):
        out = np.broadcast_to(out, np.broadcast_shapes(out.shape, np.shape(v))).copy()
    if net.gamma:
        out = out + net.gamma * v
    if net.mask is not None:
        out = out * net.mask
    return out


def hessian(net, x):
    """Dense analytic Hessian of the loss (unmasked), from Kronecker products.

    ``H = K^T K + H_2 + gamma I`` with ``K_k = d vec(W_{1:h}) / d vec(W_k) = S_k (x) P_k^T``
    (Gauss-Newton part) and, for layers ``j < k``, the second-order block
    ``H_2[k, j][(a,c),(d,b)] = -G[a,b] T[c,d]`` with ``G = S_k^T Xi P_j^T`` and
    ``T = W_{k-1} ... W_{j+1}`` (row-major vectorization).
    """
    Ws = net.unpack(np.asarray(x))
    h = len(Ws)
    dims = net.dims
    S = _suffixes(Ws)
    P = [np.eye(dims[0])]                     # P[k] = W[k-1] ... W[0], shape d_k x d_0
    for k in range(h - 1):
        P.append(Ws[k] @ P[-1])
    Xi = net.Sigma - _product(Ws, S)
    offs = net.param_offsets
    K = np.empty((dims[-1] * dims[0], net.n_params))
    for k in range(h):
        Sk = np.eye(dims[-1]) if S[k] is None else S[k]
        K[:, offs[k]:offs[k + 1]] = np.kron(Sk, P[k].T)
    H = K.T @ K
    for k in range(1, h):
        Sk = np.eye(dims[-1]) if S[k] is None else S[k]
        XiSk = Sk.T @ Xi                      # d_{k+1} x d_0
        T = np.eye(dims[k])                   # W[k-1] ... W[j+1], starts at j = k-1
        for j in range(k - 1, -1, -1):
            G = XiSk @ P[j].T                 # d_{k+1} x d_j
            block = -np.einsum("ab,cd->acdb", G, T).reshape(dims[k + 1] * dims[k], dims[j + 1] * dims[j])
            H[offs[k]:offs[k + 1], offs[j]:offs[j + 1]] += block
            H[offs[j]:offs[j + 1], offs[k]:offs[k + 1]] += block.T
            if j > 0:
                T = T @ Ws[j]
    if net.gamma:
        H[np.diag_indices_from(H)] += net.gamma
    return H


def jacobian(net, x):
    """Dense analytic Jacobian of :func:`vector_field` (``= -Hessian``; masked rows are zero)."""
    J = -hessian(net, x)
    if net.mask is not None:
        J *= net.mask[:, None]
    return J


def hessian_form(net, x, V):
    """Hessian quadratic form (22) from rho_1, rho_2 of (20)-(21), with powers of A.

    ``h(A, V) = ||rho_1(A, V)||_F^2 - 2 tr(rho_2(A, V) (E - A^h)^T) + gamma ||V||_F^2``
    (the last term is the regularization of (24)). ``V`` is a direction of shape
    ``(n,)`` or a stack ``(k, n)``; returns a float or an array of ``k`` values.
    """
    A = net.adjacency(x)
    Vs = np.asarray(V, dtype=float)
    single = Vs.ndim == 1
    Vs = np.atleast_2d(Vs)
    h = net.h
    P = [np.eye(A.shape[0])]
    for _ in range(h):
        P.append(P[-1] @ A)
    M = net.E - P[h]
    out = np.empty(Vs.shape[0])
    for n, v in enumerate(Vs):
        Vm = net.adjacency(v)
        rho1 = sum(P[h - j] @ Vm @ P[j - 1] for j in range(1, h + 1))
        rho2 = np.zeros_like(A)
        for i in range(h - 1):
            for j in range(h - 1 - i):
                k = h - 2 - i - j
                rho2 += P[i] @ Vm @ P[j] @ Vm @ P[k]
        out[n] = np.sum(rho1 * rho1) - 2.0 * np.sum(rho2 * M) + net.gamma * np.sum(v * v)
    return float(out[0]) if single else out
