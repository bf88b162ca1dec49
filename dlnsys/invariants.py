"""Conservation laws (Prop. 6) and the leaves they define.

``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}``, i = 1..h-1, is constant along the flow (9)
without regularization. A *leaf* is a level set ``{x : C(x) = C}``; its tangent space
at x is the null space of the differential of an independent set of the laws.
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["conserved", "conservation_differential", "independent_conservation_laws",
           "leaf_tangent_basis", "conserved_vector", "balancedness", "empty_leaf_reason"]


@functools.lru_cache(maxsize=64)
def _triu(d):
    """``np.triu_indices(d)``, cached (the laws are evaluated in inner loops of Newton solvers)."""
    iu = np.triu_indices(d)
    for a in iu:
        a.setflags(write=False)
    return iu


def conserved(net, x):
    """``[C_1, ..., C_{h-1}]`` (each ``d_i x d_i``; stacks allowed)."""
    Ws = net.unpack(x)
    return [Ws[i] @ np.swapaxes(Ws[i], -1, -2) - np.swapaxes(Ws[i + 1], -1, -2) @ Ws[i + 1]
            for i in range(net.h - 1)]


def conserved_vector(net, x):
    """The upper-triangular entries of every ``C_i`` in one vector (the ``n_conservation_laws`` values)."""
    Cs = conserved(net, x)
    if not Cs:
        return np.zeros(np.shape(x)[:-1] + (0,))
    parts = []
    for C in Cs:
        iu = _triu(C.shape[-1])
        parts.append(C[..., iu[0], iu[1]])
    return np.concatenate(parts, axis=-1)


def conservation_differential(net, x):
    """Jacobian of :func:`conserved_vector` at one state: shape ``(n_conservation_laws, n_params)``.

    ``d(W W^T)_{ab}/dW_{cd} = delta_ac W_bd + delta_bc W_ad`` and
    ``d(U^T U)_{ab}/dU_{cd} = delta_bd U_ca + delta_ad U_cb``.
    """
    Ws = net.unpack(np.asarray(x, dtype=float))
    dims, offs = net.dims, net.param_offsets
    D = np.zeros((net.n_conservation_laws, net.n_params))
    row = 0
    for i in range(net.h - 1):
        m = dims[i + 1]
        iu = _triu(m)
        W, U = Ws[i], Ws[i + 1]
        I = np.eye(m)
        dW = np.einsum("ac,bd->abcd", I, W) + np.einsum("bc,ad->abcd", I, W)
        dU = np.einsum("bd,ca->abcd", I, U) + np.einsum("ad,cb->abcd", I, U)
        n_rows = len(iu[0])
        D[row:row + n_rows, offs[i]:offs[i + 1]] = dW[iu].reshape(n_rows, -1)
        D[row:row + n_rows, offs[i + 1]:offs[i + 2]] = -dU[iu].reshape(n_rows, -1)
        row += n_rows
    return D


def _rank_tol(s, shape):
    return (s[0] if s.size else 0.0) * max(shape) * np.finfo(float).eps * 10


def independent_conservation_laws(net, x, tol=None):
    """Number of independent conservation laws at x: the rank of their differential."""
    D = conservation_differential(net, x)
    if D.size == 0:
        return 0
    s = np.linalg.svd(D, compute_uv=False)
    tol = _rank_tol(s, D.shape) if tol is None else tol
    return int(np.sum(s > tol))


def leaf_tangent_basis(net, x, tol=None):
    """Orthonormal basis (columns) of the tangent space at x of the leaf through x.

    It is the null space of the differential of the conservation laws (restricted to the
    learnable coordinates when the network has a mask). At an equilibrium it is
    invariant under the Jacobian, which is symmetric, so the leaf-restricted Jacobian is
    ``B.T @ J @ B``.
    """
    D = conservation_differential(net, x)
    n = net.n_params
    if net.mask is not None:
        free = np.flatnonzero(net.mask)
        D = D[:, free]
    else:
        free = None
    if D.shape[0] == 0:
        N = np.eye(D.shape[1])
    else:
        _, s, vt = np.linalg.svd(D, full_matrices=True)
        tol = _rank_tol(s, D.shape) if tol is None else tol
        rank = int(np.sum(s > tol))
        N = vt[rank:].T
    if free is None:
        return N
    B = np.zeros((n, N.shape[1]))
    B[free] = N
    return B


def balancedness(net, x):
    """``max_i ||C_i||_F`` (0 for an exactly 0-balanced state; the delta of delta-balance)."""
    Cs = conserved(net, x)
    if not Cs:
        return np.zeros(np.shape(x)[:-1])
    return np.max(np.stack([np.linalg.norm(C, axis=(-2, -1)) for C in Cs]), axis=0)


def empty_leaf_reason(net, mats):
    """``(i, reason)`` when the leaf ``{C(x) = mats}`` is provably empty, else None.

    ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` has at most ``rank W_i <= min(d_{i-1}, d_i)`` positive and
    at most ``rank W_{i+1} <= min(d_i, d_{i+1})`` negative eigenvalues (``i`` is 0-based here).
    """
    d = net.dims
    for i, c in enumerate(mats):
        ev = np.linalg.eigvalsh(c)
        tol = 1e-12 * max(np.max(np.abs(ev), initial=0.0), 1e-300)
        pos, neg = int(np.sum(ev > tol)), int(np.sum(ev < -tol))
        pmax, nmax = min(d[i], d[i + 1]), min(d[i + 1], d[i + 2])
        if pos > pmax or neg > nmax:
            return i, (f"the leaf is empty: C_{i + 1} has {pos} positive and {neg} negative eigenvalues, but "
                       f"W_{i + 1} W_{i + 1}^T has rank <= {pmax} and W_{i + 2}^T W_{i + 2} rank <= {nmax}")
    return None
