"""Structure of a state: SVDs of A (Prop. 7, Prop. 39), singular values, alignment,
balance and decoupling (Section 5), numerical range (Prop. 11), ``||A||_F`` dynamics (Prop. 9).

Singular vectors and the sign convention
----------------------------------------
Each layer's SVD ``W_i = U_i Lambda_i V_i^T`` is full (``U_i`` is ``d_i x d_i``, ``V_i`` is
``d_{i-1} x d_{i-1}``) with singular values in decreasing order. An SVD is unique only up
to the sign of each singular pair ``(u_{i,j}, v_{i,j})`` (and up to rotations inside
repeated singular values, including the null spaces). :func:`layer_svds` fixes the signs
along the chain: layer 1 keeps LAPACK's signs; then for ``k = 1..h-1`` the pairs of layer
``k+1`` are flipped so that ``diag(V_{k+1}^T U_k) >= 0`` (right singular vectors without a
partner, i.e. null-space columns, are flipped alone). Because ``||M - I||_F^2 =
||M||_F^2 - 2 tr M + r`` and flipping changes only signs of diagonal entries, this convention
minimizes every alignment measure over all sign choices at once: the measure no longer
depends on arbitrary LAPACK signs, and it vanishes for aligned states with distinct
singular values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import as_state
from .invariants import balancedness

__all__ = [
    "LayerSVD", "BlockShiftSVD", "NumericalRangeFacts", "FrobeniusRate",
    "layer_svds", "block_shift_svd", "standard_svd", "singular_values", "singular_values_product",
    "layer_singular_values", "alignment", "balancedness", "is_aligned", "is_decoupled",
    "is_block_shift_diagonal", "is_balanced", "decoupling_basis", "numerical_range_facts",
    "frobenius_norm_rate",
]

_TINY = 1e-300


def _T(a):
    return np.swapaxes(a, -1, -2)


def _state(net, x, single=False):
    x = as_state(x, net.n_params)
    if single and x.ndim != 1:
        raise ValueError(f"x: expected one state of shape ({net.n_params},), got {x.shape}")
    return x


def _check_tol(tol):
    t = float(tol)
    if not np.isfinite(t) or t < 0:
        raise ValueError(f"tol: expected a non-negative finite number, got {tol!r}")
    return t


# ---------------------------------------------------------------------- SVDs
@dataclass(frozen=True)
class LayerSVD:
    """Per-layer SVDs ``W_i = U_i diag(s_i) V_i^T`` (lists indexed by layer, 0-based)."""
    U: list
    s: list
    V: list


def layer_svds(net, x) -> LayerSVD:
    """Full SVD of every layer with the chain sign convention of the module notes.

    ``U[i]`` has shape ``(..., d_{i+1}, d_{i+1})``, ``s[i]`` ``(..., min(d_i, d_{i+1}))``
    decreasing, ``V[i]`` ``(..., d_i, d_i)`` (0-based: ``U[i]`` is the paper's ``U_{i+1}``);
    stacks of states allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import layer_svds
    >>> net = Network((3, 3, 2), sigma=[2.0, 1.0])
    >>> svd = layer_svds(net, init.balanced(net, 1.0, seed=0))
    >>> bool(np.allclose(svd.s[0][:2], svd.s[1]))      # 0-balanced: equal singular values
    True
    """
    x = _state(net, x)
    Us, ss, Vs = [], [], []
    for W in net.unpack(x):
        U, s, Vt = np.linalg.svd(W, full_matrices=True)
        Us.append(U)
        ss.append(s)
        Vs.append(_T(Vt).copy())
    for k in range(net.h - 1):
        # M = V_{k+1}^T U_k with paper indices, i.e. Vs[k+1]^T Us[k].
        diag = np.einsum("...ij,...ij->...j", Vs[k + 1], Us[k])
        sign = np.where(diag < 0, -1.0, 1.0)
        Vs[k + 1] = Vs[k + 1] * sign[..., None, :]
        q = ss[k + 1].shape[-1]
        Us[k + 1][..., :, :q] = Us[k + 1][..., :, :q] * sign[..., None, :q]
    return LayerSVD(Us, ss, Vs)


@dataclass(frozen=True)
class BlockShiftSVD:
    """The block-shift SVD ``A = U Lambda V^T`` of Prop. 7 and its per-layer factors.

    ``U = blk_0(0, U_1, ..., U_h)``, ``V = blk_0(V_1, ..., V_h, 0)``,
    ``Lambda = blk_1(Lambda_1, ..., Lambda_h)`` (``n_v x n_v``); ``Us``, ``Lambdas``, ``Vs``
    are the layer factors (``Lambda_i`` rectangular ``d_i x d_{i-1}``).
    """
    U: np.ndarray
    Lambda: np.ndarray
    V: np.ndarray
    Us: list
    Lambdas: list
    Vs: list

    def matrix(self):
        """``U Lambda V^T`` (equals A)."""
        return self.U @ self.Lambda @ self.V.T


def block_shift_svd(net, x) -> BlockShiftSVD:
    """Block-shift SVD of the adjacency matrix (Prop. 7), signs as in :func:`layer_svds`.

    For an aligned state ``V^T U = J = blk_0(0, I, ..., I, 0)``.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import block_shift_svd
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> x = init.gaussian(net, 1.0, seed=0)
    >>> b = block_shift_svd(net, x)
    >>> bool(np.allclose(b.U @ b.Lambda @ b.V.T, net.adjacency(x)))
    True
    """
    x = _state(net, x, single=True)
    svd = layer_svds(net, x)
    nv, o = net.n_nodes, net.node_offsets
    U, V, L = np.zeros((nv, nv)), np.zeros((nv, nv)), np.zeros((nv, nv))
    Lambdas = []
    for i in range(net.h):
        rows, cols = net.shapes[i]
        Li = np.zeros((rows, cols))
        q = svd.s[i].shape[-1]
        Li[np.arange(q), np.arange(q)] = svd.s[i]
        Lambdas.append(Li)
        U[o[i + 1]:o[i + 2], o[i + 1]:o[i + 2]] = svd.U[i]
        V[o[i]:o[i + 1], o[i]:o[i + 1]] = svd.V[i]
        L[o[i + 1]:o[i + 2], o[i]:o[i + 1]] = Li
    return BlockShiftSVD(U, L, V, svd.U, Lambdas, svd.V)


def standard_svd(net, x):
    """A standard SVD ``A = U diag(s) Vt`` assembled from the layers (Prop. 39, Appendix A.4).

    The blocks of A have disjoint row and column supports, so the singular triples of A are
    those of the layers (left vectors embedded in the rows of node layer i, right vectors in
    the columns of node layer i-1), completed by ``n_v - q`` zero singular values
    (``q = sum_i min(d_i, d_{i-1})``) whose vectors are the layers' null-space vectors plus
    the input (left) and output (right) coordinate vectors. ``s`` is sorted decreasingly.

    Returns
    -------
    U : (n_v, n_v) orthogonal
    s : (n_v,)
    Vt : (n_v, n_v) orthogonal

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import standard_svd
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> x = init.gaussian(net, 1.0, seed=0)
    >>> U, s, Vt = standard_svd(net, x)
    >>> bool(np.allclose(U @ np.diag(s) @ Vt, net.adjacency(x)))
    True
    >>> bool(np.allclose(s, np.linalg.svd(net.adjacency(x), compute_uv=False)))
    True
    """
    x = _state(net, x, single=True)
    nv, o = net.n_nodes, net.node_offsets
    svd = layer_svds(net, x)
    sig_vals, sig_u, sig_v = [], [], []
    null_u, null_v = [], []
    for i in range(net.h):
        q = svd.s[i].shape[-1]
        for j in range(svd.U[i].shape[-1]):
            u = np.zeros(nv)
            u[o[i + 1]:o[i + 2]] = svd.U[i][:, j]
            (sig_u if j < q else null_u).append(u)
        for j in range(svd.V[i].shape[-1]):
            v = np.zeros(nv)
            v[o[i]:o[i + 1]] = svd.V[i][:, j]
            (sig_v if j < q else null_v).append(v)
        sig_vals.extend(svd.s[i].tolist())
    eye = np.eye(nv)
    null_u.extend(eye[o[0]:o[1]])               # input nodes: no row of A touches them
    null_v.extend(eye[o[net.h]:o[net.h + 1]])   # output nodes: no column of A touches them
    order = np.argsort(-np.asarray(sig_vals), kind="stable")
    s = np.concatenate([np.asarray(sig_vals)[order], np.zeros(len(null_u))])
    U = np.column_stack([np.asarray(sig_u)[order].T if sig_vals else np.zeros((nv, 0))] + null_u)
    V = np.column_stack([np.asarray(sig_v)[order].T if sig_vals else np.zeros((nv, 0))] + null_v)
    return U, s, V.T


def layer_singular_values(net, x) -> list:
    """Singular values of each layer (list of ``(..., min(d_i, d_{i-1}))`` arrays, decreasing).

    Examples
    --------
    >>> from dlnsys import Network
    >>> from dlnsys.structure import layer_singular_values
    >>> net = Network((2, 2, 1), sigma=[1.0])
    >>> [s.round(12).tolist() for s in layer_singular_values(net, [3.0, 0.0, 0.0, 2.0, 1.0, 0.0])]
    [[3.0, 2.0], [1.0]]
    """
    x = _state(net, x)
    return [np.linalg.svd(W, compute_uv=False) for W in net.unpack(x)]


def singular_values(net, x) -> np.ndarray:
    """Singular values of A (decreasing, length ``n_v``; stacks give ``(..., n_v)``).

    By Prop. 39 they are the layers' singular values plus zeros.

    Examples
    --------
    >>> from dlnsys import Network
    >>> from dlnsys.structure import singular_values
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> singular_values(net, [0.5, -2.0])
    array([2. , 0.5, 0. ])
    """
    x = _state(net, x)
    parts = layer_singular_values(net, x)
    q = sum(p.shape[-1] for p in parts)
    lead = x.shape[:-1]
    allv = np.concatenate(parts + [np.zeros(lead + (net.n_nodes - q,))], axis=-1)
    return -np.sort(-allv, axis=-1)


def singular_values_product(net, x) -> np.ndarray:
    """Singular values of ``W_{1:h}``, the nonzero block of ``A^h`` (``d_y`` values, decreasing;
    ``A^h`` itself has ``n_v - d_y`` further zeros).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import singular_values_product
    >>> net = Network((2, 2, 2), sigma=[2.0, 1.0])
    >>> singular_values_product(net, init.diagonal(net, [[1.0, 3.0], [1.0, 0.5]]))
    array([1.5, 1. ])
    """
    x = _state(net, x)
    return np.linalg.svd(net.product(x), compute_uv=False)


# ---------------------------------------------------------------- alignment
def _directions(net, directions):
    if directions is None:
        return [net.d_min] * (net.h - 1)
    if isinstance(directions, str):
        if directions != "all":
            raise ValueError(f"directions: expected None, 'all' or a positive integer, got {directions!r}")
        return list(net.dims[1:-1])
    r = int(directions)
    if r != directions or r < 1 or r > min(net.dims[1:-1], default=r):
        raise ValueError(f"directions: expected an integer in 1..{min(net.dims[1:-1], default=1)}, "
                         f"got {directions!r}")
    return [r] * (net.h - 1)


def alignment(net, x, directions=None) -> np.ndarray:
    """Misalignment ``||[V_{k+1}^T U_k]_{1:r,1:r} - I||_F^2`` for ``k = 1..h-1`` (Section 6.1).

    Singular vectors are ordered by decreasing singular value and signs fixed as in the
    module notes (so the value is the minimum over all sign choices of the SVDs).

    By default ``r = d_y`` (``d_min`` with a bottleneck): the first ``d_y`` singular
    directions, as in Fig. 3 of the paper (``[V_{k+1}^T U_k]_{1:d_y,1:d_y}``). Directions
    beyond the rank of a layer are null-space vectors with an arbitrary basis, so including
    them (``directions="all"``, the ``d_k x d_k`` measure of Fig. 2) is meaningful only when
    the layers have full rank with distinct singular values. Even within ``1:r``, singular
    vectors of (nearly) repeated singular values are individually ill-determined and the
    measure reflects the mixing inside their subspace (the phenomenon of Fig. 3(b)).

    Parameters
    ----------
    directions : None, "all" or int
        ``r``: None for ``d_min``, "all" for the whole ``d_k x d_k`` block.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., h-1)`` (stacks of states allowed); empty for ``h = 1``.

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import alignment
    >>> net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    >>> bool(alignment(net, init.balanced(net, 1.0, seed=0)).max() < 1e-20)
    True
    """
    x = _state(net, x)
    rs = _directions(net, directions)
    svd = layer_svds(net, x)
    out = []
    for k in range(net.h - 1):
        r = rs[k]
        M = _T(svd.V[k + 1][..., :, :r]) @ svd.U[k][..., :, :r]
        out.append(np.sum((M - np.eye(r)) ** 2, axis=(-2, -1)))
    if not out:
        return np.zeros(x.shape[:-1] + (0,))
    return np.stack(out, axis=-1)


def _sv_padded(s, n):
    pad = np.zeros(s.shape[:-1] + (max(n - s.shape[-1], 0),))
    return np.concatenate([s, pad], axis=-1)[..., :n]


def _alignment_gaps(net, x):
    """Relative von Neumann gaps ``(sum_j prod_k s_{k,j}^2 - ||W_{b:a}||_F^2) / sum_j prod_k s_{k,j}^2``
    for every consecutive run of layers ``a < b`` (0 for an aligned state)."""
    Ws = net.unpack(x)
    ss = [np.linalg.svd(W, compute_uv=False) for W in Ws]
    n = max(net.dims)
    ss = [_sv_padded(s, n) for s in ss]
    gaps = []
    for a in range(net.h):
        P = Ws[a]
        prod = ss[a] ** 2
        for b in range(a + 1, net.h):
            P = Ws[b] @ P
            prod = prod * ss[b] ** 2
            ref = float(np.sum(prod))
            gaps.append(0.0 if ref <= _TINY else (ref - float(np.sum(P * P))) / ref)
    return np.asarray(gaps)


def is_aligned(net, x, tol=1e-8) -> bool:
    """Whether A is aligned: SVDs exist with ``V_{k+1}^T U_k = I`` for all k (Section 5).

    Test: for each run of consecutive layers ``a..b``, ``||W_b ... W_a||_F^2`` equals
    ``sum_j prod_{k=a}^b s_j(W_k)^2`` (singular values sorted decreasingly, padded with
    zeros). The left side never exceeds the right one (von Neumann's trace inequality and
    Horn's product inequalities), and equality for ``b = a+1`` means exactly that
    ``W_a W_a^T`` and ``W_{a+1}^T W_{a+1}`` have a common eigenbasis with both eigenvalue
    sequences decreasing, i.e. ``U_a = V_{a+1}`` for suitable SVDs. This characterizes
    alignment when each layer's nonzero singular values are distinct (the generic case; the
    longer runs catch some degenerate counterexamples). Independent of the singular-vector
    signs. The gaps are relative to the right side and quadratic in the misalignment angle:
    ``tol = 1e-8`` accepts angles of about ``1e-4`` rad.

    A block-shift diagonal state whose channels are ordered differently in different layers
    is *not* aligned in this (the paper's) sense, though it is decoupled (see
    :func:`is_decoupled`).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_aligned
    >>> net = Network((3, 3, 2), sigma=[2.0, 1.0])
    >>> is_aligned(net, init.balanced(net, 1.0, seed=0)), is_aligned(net, init.gaussian(net, 1.0, seed=0))
    (True, False)
    """
    x = _state(net, x, single=True)
    tol = _check_tol(tol)
    g = _alignment_gaps(net, x)
    return bool(np.all(g <= tol))


def is_block_shift_diagonal(net, x, tol=1e-12) -> bool:
    """Whether every ``W_i`` is (rectangular) diagonal: off-diagonal entries at most
    ``tol * max|x|`` (Section 5).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_block_shift_diagonal
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> is_block_shift_diagonal(net, init.diagonal(net, [1.0, 2.0]))
    True
    """
    x = _state(net, x, single=True)
    tol = _check_tol(tol)
    ref = np.max(np.abs(x), initial=0.0)
    worst = 0.0
    for W in net.unpack(x):
        off = W.copy()
        q = min(W.shape)
        off[np.arange(q), np.arange(q)] = 0.0
        worst = max(worst, np.max(np.abs(off), initial=0.0))
    return bool(worst <= tol * ref)


def is_balanced(net, x, tol=1e-12) -> bool:
    """Whether A is 0-balanced: ``max_i ||C_i||_F <= tol * max_i ||W_i||_F^2`` (Section 5).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_balanced
    >>> net = Network((3, 3, 2), sigma=[2.0, 1.0])
    >>> is_balanced(net, init.balanced(net, 1.0, seed=0)), is_balanced(net, init.gaussian(net, 1.0, seed=0))
    (True, False)
    """
    x = _state(net, x, single=True)
    tol = _check_tol(tol)
    ref = max(float(np.sum(W * W)) for W in net.unpack(x))
    return bool(float(balancedness(net, x)) <= tol * ref)


def decoupling_basis(net, x, tol=1e-10):
    """Orthogonal changes of basis ``[Q_1, ..., Q_{h-1}]`` of the hidden layers with every
    ``Q_i^T W_i Q_{i-1}`` diagonal (``Q_0 = I``, ``Q_h = I``), or None if none is found.

    This is Prop. 32's block-shift diagonalization ``A = P D P^T``, ``P = blk_0(I, Q_1, ...,
    Q_{h-1}, I)``. Construction: at hidden node k, slot j gets the direction of the forward
    image ``W_k ... W_1 e_j`` of input j or of the backward image ``W_{k+1}^T ... W_h^T e_j``
    of output j; remaining slots are filled by propagating single layers forward and
    backward, and finally by an orthonormal completion. The result is verified
    (off-diagonal parts of ``Q_i^T W_i Q_{i-1}`` at most ``tol * max|x|``), so a returned
    basis is a certificate. None can be a false negative only for degenerate states whose
    dead channels (zero at both ends) carry nonzero weights that the completion misses.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import decoupling_basis
    >>> net = Network((2, 3, 2), sigma=[2.0, 1.0])
    >>> x = init.decoupled(net, [[1.0, 0.5], [2.0, 0.25]], seed=0)
    >>> Q = decoupling_basis(net, x)
    >>> W1, W2 = net.unpack(x)
    >>> np.round(np.abs(np.diag(Q[0].T @ W1)), 12).tolist()
    [1.0, 0.5]
    """
    x = _state(net, x, single=True)
    tol = _check_tol(tol)
    h, dims = net.h, net.dims
    Ws = net.unpack(x)
    ref = max(np.max(np.abs(x), initial=0.0), _TINY)
    if h == 1:
        return [] if _offdiag(Ws[0]) <= tol * ref else None
    # Q[k] for node k = 0..h: columns (slot j) or None when not yet assigned.
    Q = [[None] * d for d in dims]
    Q[0] = list(np.eye(dims[0]))
    Q[h] = list(np.eye(dims[h]))

    def assign(k, j, vec, scale):
        nrm = np.linalg.norm(vec)
        if nrm <= 1e-9 * max(scale, _TINY):
            return False
        if j >= dims[k]:
            raise _NotDecoupled
        v = vec / nrm
        if Q[k][j] is None:
            Q[k][j] = v
            return True
        if abs(abs(v @ Q[k][j]) - 1.0) > 1e-6:
            raise _NotDecoupled
        return False

    try:
        # Forward images of inputs and backward images of outputs.
        F = np.eye(dims[0])
        for k in range(1, h):
            F = Ws[k - 1] @ F
            sc = np.max(np.linalg.norm(F, axis=0), initial=0.0)
            for j in range(dims[0]):
                assign(k, j, F[:, j], sc)
        B = np.eye(dims[h])
        for k in range(h - 1, 0, -1):
            B = B @ Ws[k]
            sc = np.max(np.linalg.norm(B, axis=1), initial=0.0)
            for j in range(dims[h]):
                assign(k, j, B[j], sc)
        while True:
            changed = True
            while changed:
                changed = False
                for k in range(1, h):          # forward through single layers
                    W = Ws[k - 1]
                    sc = np.linalg.norm(W, 2)
                    for j, q in enumerate(Q[k - 1]):
                        if q is not None and j < dims[k] and Q[k][j] is None:
                            changed |= assign(k, j, W @ q, sc)
                for k in range(h - 1, 0, -1):  # backward
                    W = Ws[k]
                    sc = np.linalg.norm(W, 2)
                    for j, q in enumerate(Q[k + 1]):
                        if q is not None and j < dims[k] and Q[k][j] is None:
                            changed |= assign(k, j, W.T @ q, sc)
            open_nodes = [k for k in range(1, h) if any(q is None for q in Q[k])]
            if not open_nodes:
                break
            k = open_nodes[0]
            have = np.array([q for q in Q[k] if q is not None]).reshape(-1, dims[k])
            # Orthonormal completion: eigenvectors of the local Gram matrix inside the complement.
            _, sv, vt = np.linalg.svd(have, full_matrices=True) if have.size else (None, np.zeros(0), np.eye(dims[k]))
            N = vt[int(np.sum(sv > 0.5)):].T
            G = Ws[k - 1] @ Ws[k - 1].T + Ws[k].T @ Ws[k]
            _, vecs = np.linalg.eigh(N.T @ G @ N)
            fill = iter((N @ vecs).T)
            Q[k] = [q if q is not None else next(fill) for q in Q[k]]
    except _NotDecoupled:
        return None
    Qs = [np.column_stack(Q[k]) for k in range(h + 1)]
    for k in range(1, h):
        if np.max(np.abs(Qs[k].T @ Qs[k] - np.eye(dims[k]))) > 1e-8:
            return None
    for i in range(h):
        if _offdiag(Qs[i + 1].T @ Ws[i] @ Qs[i]) > tol * ref:
            return None
    return Qs[1:h]


class _NotDecoupled(Exception):
    pass


def _offdiag(M):
    off = M.copy()
    q = min(M.shape)
    off[np.arange(q), np.arange(q)] = 0.0
    return np.max(np.abs(off), initial=0.0)


def is_decoupled(net, x, tol=1e-10) -> bool:
    """Whether A is decoupled in the sense of Prop. 32: ``A = P D P^T`` with ``P`` an
    orthogonal change of basis of the hidden layers and ``D`` block-shift diagonal.

    This is the property the flow preserves (Props. 31, 32) and it contains every
    block-shift diagonal state. Section 5's literal definition (aligned with ``U_h = I``,
    ``V_1 = I``) additionally asks the channels to be ordered by decreasing singular value
    consistently in every layer with a nonnegative end-to-end diagonal; test that with
    ``is_decoupled(...) and is_aligned(...)`` plus ``W_{1:h}`` diagonal and decreasing.
    Uses :func:`decoupling_basis` (a True answer is certified).

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import is_decoupled
    >>> net = Network((3, 3, 2), sigma=[2.0, 1.0])
    >>> is_decoupled(net, init.decoupled(net, [1.0, 0.5], seed=0)), is_decoupled(net, init.balanced(net, 1.0, seed=0))
    (True, False)
    """
    return decoupling_basis(net, x, tol) is not None


# ---------------------------------------------------------------- Prop. 11
@dataclass(frozen=True)
class NumericalRangeFacts:
    """The quantities of Prop. 11 at one state (errors are absolute; compare with ``scale``).

    Attributes
    ----------
    eig_sym : eigenvalues of ``A_sy = (A + A^T)/2``, increasing
    eig_skew : eigenvalues of ``A_sk = (A - A^T)/2`` (purely imaginary), by increasing imaginary part
    skew_vs_sym_error : ``max |Im Sp(A_sk) - Sp(A_sy)|`` (item 2: ``Sp(A_sk) = i Sp(A_sy)``);
        ``Sp(A_sk)`` is computed as ``i`` times the spectrum of the Hermitian ``-i A_sk``
    symmetry_error : ``max |lambda_j + lambda_{n+1-j}|`` over ``Sp(A_sy)`` (item 3)
    trace_values : ``tr((A^k)^T A)`` for ``k = 2..h`` (item 4; ``A^k = 0`` for ``k > h``)
    trace_error : their maximum absolute value (0 if ``h = 1``)
    numerical_radius : radius of the disk ``W(A)`` (item 1) ``= lambda_max(A_sy)``
    scale : ``||A||_2``, the natural size of the eigenvalue errors
    frobenius_sq : ``||A||_F^2``; ``|tr((A^k)^T A)| <= scale^(k-1) * frobenius_sq``
    """
    eig_sym: np.ndarray
    eig_skew: np.ndarray
    skew_vs_sym_error: float
    symmetry_error: float
    trace_values: np.ndarray
    trace_error: float
    numerical_radius: float
    scale: float
    frobenius_sq: float

    def holds(self, rtol=1e-10) -> bool:
        """Items 2-4 of Prop. 11 within ``rtol`` times their natural size (eigenvalues:
        ``scale``; traces: ``max(1, scale)^(h-1) * frobenius_sq``)."""
        s = self.scale
        tr_ref = max(1.0, s) ** max(len(self.trace_values), 0) * self.frobenius_sq
        return bool(self.skew_vs_sym_error <= rtol * s and self.symmetry_error <= rtol * s
                    and self.trace_error <= rtol * tr_ref)


def numerical_range_facts(net, x) -> NumericalRangeFacts:
    """Check Prop. 11 at a state: spectra of ``A_sy`` and ``A_sk``, their symmetry, the
    vanishing traces ``tr((A^k)^T A)``, and the numerical radius.

    Examples
    --------
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import numerical_range_facts
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> facts = numerical_range_facts(net, init.gaussian(net, 1.0, seed=0))
    >>> facts.holds()
    True
    """
    x = _state(net, x, single=True)
    A = net.adjacency(x)
    Asy, Ask = 0.5 * (A + A.T), 0.5 * (A - A.T)
    ev_sy = np.linalg.eigvalsh(Asy)
    mu = np.linalg.eigvalsh(-1j * Ask)          # Sp(A_sk) = i * mu, mu increasing
    ev_sk = 1j * mu
    im_sorted = mu
    traces = []
    P = A
    for _ in range(2, net.h + 1):
        P = P @ A
        traces.append(float(np.sum(P * A)))
    traces = np.asarray(traces)
    return NumericalRangeFacts(
        eig_sym=ev_sy,
        eig_skew=ev_sk,
        skew_vs_sym_error=float(np.max(np.abs(im_sorted - ev_sy), initial=0.0)),
        symmetry_error=float(np.max(np.abs(ev_sy + ev_sy[::-1]), initial=0.0)),
        trace_values=traces,
        trace_error=float(np.max(np.abs(traces), initial=0.0)),
        numerical_radius=float(ev_sy[-1]),
        scale=float(np.linalg.norm(A, 2)),
        frobenius_sq=float(np.sum(A * A)),
    )


# ----------------------------------------------------------------- Prop. 9
@dataclass(frozen=True)
class FrobeniusRate:
    """Both sides of Prop. 9 (23): ``d/dt ||A||_F^2``.

    Attributes
    ----------
    direct : ``2 <A, f(x)>`` with the network's vector field (includes gamma and the mask)
    prop9 : ``2h (<E, A^h> - ||A^h||_F^2) = 2h (<Sigma, W_{1:h}> - ||W_{1:h}||_F^2)`` (gamma = 0)
    regularization : ``-2 gamma ||A||_F^2``, the extra term for gamma > 0 (eq. 25)
    predicted : ``prop9 + regularization`` (equals ``direct`` for any gamma, without a mask)
    """
    direct: np.ndarray
    prop9: np.ndarray
    regularization: np.ndarray
    predicted: np.ndarray


def frobenius_norm_rate(net, x) -> FrobeniusRate:
    """``d/dt ||A||_F^2`` computed directly and by Prop. 9 (stacks of states allowed).

    Prop. 9 is stated for gamma = 0; with L2 regularization (25) the rate gains
    ``-2 gamma ||A||_F^2`` (field ``regularization``). With a mask (fixed entries) the direct
    rate differs from the formula: the identity needs every weight to follow (9).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network, init
    >>> from dlnsys.structure import frobenius_norm_rate
    >>> net = Network((3, 2, 2), sigma=[2.0, 1.0])
    >>> rate = frobenius_norm_rate(net, init.gaussian(net, 1.0, seed=0))
    >>> bool(np.isclose(rate.direct, rate.prop9))
    True
    """
    x = _state(net, x)
    f = net.vector_field(x)
    direct = 2.0 * np.sum(x * f, axis=-1)
    M = net.product(x)
    prop9 = 2.0 * net.h * (np.sum(net.Sigma * M, axis=(-2, -1)) - np.sum(M * M, axis=(-2, -1)))
    reg = -2.0 * net.gamma * np.sum(x * x, axis=-1)
    return FrobeniusRate(direct, prop9, reg, prop9 + reg)
