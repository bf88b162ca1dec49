"""Jacobian spectra of the gradient flow, in the full state space or on a conservation-law leaf.

The Jacobian of the vectorized flow (9) is ``J = -H`` with ``H`` the Hessian of the loss,
so it is symmetric and its eigenvalues are real. No equilibrium of the flow is isolated
(Prop. 3), so ``J`` always has zero eigenvalues at an equilibrium; restricted to the
tangent space of the conservation-law leaf through the point (the null space of the
differential of the laws of Prop. 6, invariant under ``J`` at an equilibrium) the
equilibria become, generically, isolated, and their leaf-restricted spectrum tells
whether they are hyperbolic on the leaf. For (62) on the leaf through (64) the
restricted spectrum is the single eigenvalue ``-(sigma^2 + w1^4) / w1^2``.

Small networks are handled densely (``numpy.linalg.eigh``); large ones matrix-free, with
Lanczos iterations (``scipy.sparse.linalg.eigsh``) on a ``LinearOperator`` that applies
the Hessian-vector product ``net.hvp`` and never forms the Hessian, returning the ``k``
extreme eigenvalues.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from . import flow, invariants
from ._json import jsonable

if TYPE_CHECKING:      # imported on use below: scipy.sparse.linalg takes 0.4 s to import
    from scipy.sparse.linalg import LinearOperator

__all__ = ["Spectrum", "spectrum", "hessian_operator", "relative_gradient", "DENSE_MAX"]

#: Largest operator dimension handled densely by ``method="auto"`` when ``k`` is given.
DENSE_MAX = 3000


# ----------------------------------------------------------------------- results
_jsonable = jsonable


class _Result:
    """Mixin: ``to_dict()`` of a dataclass result, JSON-ready (arrays become lists)."""

    #: fields holding large arrays, dropped by ``to_dict(vectors=False)``
    _vector_fields: tuple = ()

    def to_dict(self, vectors: bool = True) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            if not vectors and f.name in self._vector_fields:
                continue
            out[f.name] = _jsonable(getattr(self, f.name))
        return out


# ----------------------------------------------------------------------- helpers
def _single_state(net, x, name="x"):
    x = net._single(x, name)
    return x


def relative_gradient(net, x) -> float:
    """Size of the gradient relative to the size its terms can have at x.

    ``||grad L(x)|| / ((||Sigma||_F + ||W_{1:h}||_F) * sum_j prod_{k != j} ||W_k||_2 + gamma ||x||)``.
    Every term ``W_{j+1:h}^T (Sigma - W_{1:h}) W_{1:j-1}^T`` of the gradient (9) is bounded by
    the corresponding term of the denominator, so the ratio is scale-free and at most 1
    (up to the mask); it is 0 exactly at critical points. A point where every weight is
    zero and h >= 3 has a zero denominator: the ratio is then 0 if the gradient vanishes.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> relative_gradient(net, np.array([2.0, 0.5]))
    0.0
    >>> round(relative_gradient(net, np.array([1.0, 0.0])), 6)
    1.0
    """
    x = _single_state(net, x)
    g = float(np.linalg.norm(flow.vector_field(net, x)))
    Ws = net.unpack(x)
    norms = [np.linalg.norm(W, 2) if W.size else 0.0 for W in Ws]
    prod_terms = 0.0
    for j in range(net.h):
        p = 1.0
        for k, nk in enumerate(norms):
            if k != j:
                p *= nk
        prod_terms += p
    scale = (np.linalg.norm(net.Sigma) + np.linalg.norm(net.product(x))) * prod_terms
    if net.gamma:
        scale += net.gamma * np.linalg.norm(x)
    if scale == 0.0:
        return 0.0 if g == 0.0 else math.inf
    return float(g / scale)


def _natural_scale(net) -> float:
    """Size of the Hessian at a balanced global minimum, ``~ sigma_1^(2 - 2/h)`` (at least gamma)."""
    return max(float(net.sigma[0]) ** (2.0 - 2.0 / net.h), net.gamma, 1e-300)


def hessian_operator(net, x) -> "LinearOperator":
    """The Hessian of the loss at x as a matrix-free ``scipy.sparse.linalg.LinearOperator``.

    Each product costs O(h) matrix products (``net.hvp``); the Hessian is never formed.
    With a mask, the operator acts on the learnable coordinates only (in state order).

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[2.0])
    >>> H = hessian_operator(net, np.zeros(2))
    >>> H @ np.array([1.0, 1.0])
    array([-2., -2.])
    """
    from scipy.sparse.linalg import LinearOperator

    x = _single_state(net, x)
    n = net.n_params
    if net.mask is None:
        def mv(v):
            v = np.asarray(v, dtype=float).reshape(-1)
            return flow.hvp(net, x, v)
        m = n
    else:
        free = np.flatnonzero(net.mask)
        m = free.size

        def mv(v):
            full = np.zeros(n)
            full[free] = np.asarray(v, dtype=float).reshape(-1)
            return flow.hvp(net, x, full)[free]

    def mm(V):
        V = np.asarray(V, dtype=float)
        return np.column_stack([mv(V[:, c]) for c in range(V.shape[1])]) if V.ndim == 2 else mv(V)

    return LinearOperator((m, m), matvec=mv, matmat=mm, rmatvec=mv, dtype=float)


# ----------------------------------------------------------------------- result
@dataclasses.dataclass
class Spectrum(_Result):
    """Eigenvalues (and eigenvectors) of the Jacobian ``J = -H`` of the flow at a point.

    Attributes
    ----------
    eigenvalues : ndarray
        Jacobian eigenvalues in ascending order (all of them when ``complete``, else the
        ``k`` extreme ones).
    eigenvectors : ndarray or None
        Shape ``(n_params, len(eigenvalues))``: unit eigenvectors as state-space directions
        (for ``on_leaf``, mapped back from leaf coordinates, so they are tangent to the leaf).
    on_leaf : bool
        Whether the spectrum is that of ``B^T J B`` with ``B`` an orthonormal basis of the
        tangent space of the leaf through x.
    dimension : int
        Dimension of the space the operator acts on (learnable parameters, or the leaf).
    complete : bool
        True when every eigenvalue was computed (dense method).
    method : str
        ``"dense"`` or ``"lanczos"``.
    zero_tol : float
        Absolute threshold: eigenvalues with ``|lambda| <= zero_tol`` count as zero.
    n_negative, n_zero, n_positive : int or None
        Counts (only when ``complete``).
    hyperbolic : bool or None
        No eigenvalue within ``zero_tol`` of 0 (only when ``complete``). With ``on_leaf``
        at an equilibrium, this is hyperbolicity of the equilibrium on its leaf.
    vector_field_norm : float
        ``||f(x)||``.
    relative_gradient : float
        See :func:`relative_gradient`.
    is_equilibrium : bool
        ``relative_gradient <= equilibrium_tol``.
    invariance_residual : float or None
        ``||(I - B B^T) J B||_2`` for dense leaf spectra: 0 (to rounding) at an equilibrium,
        where the leaf tangent space is invariant under ``J``.
    notes : list of str
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    on_leaf: bool
    dimension: int
    complete: bool
    method: str
    zero_tol: float
    n_negative: int | None
    n_zero: int | None
    n_positive: int | None
    hyperbolic: bool | None
    vector_field_norm: float
    relative_gradient: float
    is_equilibrium: bool
    invariance_residual: float | None = None
    notes: list = dataclasses.field(default_factory=list)

    _vector_fields = ("eigenvectors",)


# ----------------------------------------------------------------------- main
def _check_k(k, dim):
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, (numbers.Integral, np.integer)):
        raise ValueError(f"k: expected a positive integer or None, got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k: expected a positive integer, got {k}")
    if k > dim:
        raise ValueError(f"k: asked for {k} eigenvalues of an operator of dimension {dim}")
    return k


def _lanczos(op, k_low, k_high, want_vectors, seed=0, notes=None):
    """Extreme eigenpairs of a symmetric operator: ``k_low`` smallest and ``k_high`` largest.

    ARPACK's stopping test is relative to the Ritz value, so an end of the spectrum at 0
    (the bottom of a positive semidefinite Hessian, with its large null space) never
    converges. Each end is therefore computed on a shifted operator ``H -+ 2 s I``, with
    ``s ~ ||H||_2``, whose targeted eigenvalues have modulus between ``s`` and ``3 s``; the
    tolerance ``1e-13`` then bounds the absolute error by about ``4e-13 ||H||_2``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    m = op.shape[0]
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(m)
    if m <= max(k_low, k_high) + 2 or m < 8:          # tiny operators: dense (ARPACK needs k < m - 1)
        M = op @ np.eye(m)
        w, V = np.linalg.eigh(0.5 * (M + M.T))
        idx = np.r_[np.arange(k_low), np.arange(m - k_high, m)].astype(int)
        return w[idx], (V[:, idx] if want_vectors else None)
    s = float(np.abs(eigsh(op, k=1, which="LM", tol=1e-2, v0=v0, return_eigenvectors=False,
                           ncv=min(m, 20), maxiter=max(1000, 10 * m))[0]))
    if s == 0.0:
        return np.zeros(k_low + k_high), (np.zeros((m, k_low + k_high)) if want_vectors else None)
    vals, vecs = [], []
    for kk, which, shift in ((k_low, "SA", -2.0 * s), (k_high, "LA", 2.0 * s)):
        if kk == 0:
            continue
        shifted = LinearOperator((m, m), dtype=float,
                                 matvec=lambda v, sh=shift: op.matvec(v) + sh * np.asarray(v).reshape(-1))
        ncv = min(m, max(2 * kk + 1, 40))
        try:
            w, V = eigsh(shifted, k=kk, which=which, tol=1e-13, ncv=ncv, v0=v0,
                         return_eigenvectors=True, maxiter=max(2000, 20 * m))
        except ArpackNoConvergence as err:
            w, V = err.eigenvalues, err.eigenvectors
            if notes is not None:
                notes.append(f"Lanczos: only {len(w)} of the {kk} eigenvalues at the "
                             f"{'low' if which == 'SA' else 'high'} end converged")
        vals.append(np.asarray(w) - shift)
        vecs.append(V)
    w = np.concatenate(vals)
    V = np.concatenate(vecs, axis=1)
    order = np.argsort(w)
    return w[order], (V[:, order] if want_vectors else None)


def spectrum(net, x, *, on_leaf=False, k=None, which="both", method="auto", tol=1e-8,
             equilibrium_tol=1e-8, eigenvectors=True) -> Spectrum:
    """Eigenvalues and eigenvectors of the Jacobian of the flow at x.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_params,)
        The point (usually an equilibrium).
    on_leaf : bool, optional
        Restrict to the tangent space of the conservation-law leaf through x: with ``B``
        from :func:`dlnsys.invariants.leaf_tangent_basis` (orthonormal null space of the
        differential of an independent set of the laws), the eigenvalues of ``B^T J B``.
        At an equilibrium this space is invariant under ``J`` (checked:
        ``invariance_residual``). The basis is computed densely (an SVD of the laws'
        differential), so leaf spectra need ``O(n_params^2)`` memory.
    k : int, optional
        Number of extreme eigenvalues; None means all of them (dense).
    which : {"both", "largest", "smallest"}
        Which end of the Jacobian spectrum ``k`` refers to: ``"both"`` gives ``ceil(k/2)``
        largest (the most unstable directions) and ``floor(k/2)`` smallest.
    method : {"auto", "dense", "lanczos"}
        ``"auto"`` is dense when ``k`` is None or the dimension is at most ``DENSE_MAX``,
        otherwise Lanczos (``scipy.sparse.linalg.eigsh`` on ``hvp``, machine-precision
        convergence, a fixed start vector so results are reproducible).
    tol : float
        Relative zero threshold: ``zero_tol = tol * max(max |lambda|, sigma_1^(2-2/h))``
        (the second term is the Hessian's size at a balanced global minimum, so that a
        Jacobian that vanishes identically, as at the origin of (65), has zero eigenvalues).
    equilibrium_tol : float
        ``is_equilibrium`` means ``relative_gradient(net, x) <= equilibrium_tol``.
    eigenvectors : bool
        Also return eigenvectors.

    Returns
    -------
    Spectrum

    Examples
    --------
    The origin of (62) is a saddle with Jacobian eigenvalues ``+-sigma``; the equilibrium
    (64) on the leaf ``w1^2 - w2^2 = c`` has the single eigenvalue ``-(sigma^2 + w1^4)/w1^2``:

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[2.0])
    >>> spectrum(net, np.zeros(2)).eigenvalues
    array([-2.,  2.])
    >>> w1 = 2.0
    >>> s = spectrum(net, np.array([w1, 2.0 / w1]), on_leaf=True)
    >>> s.dimension, s.hyperbolic, bool(np.isclose(s.eigenvalues[0], -(4.0 + w1**4) / w1**2))
    (1, True, True)

    Matrix-free, the two extreme eigenvalues of a larger network:

    >>> net = Network((6, 5, 5, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    >>> x = np.random.default_rng(0).standard_normal(net.n_params)
    >>> lz = spectrum(net, x, k=2, method="lanczos")
    >>> dn = spectrum(net, x)
    >>> bool(np.allclose(lz.eigenvalues, dn.eigenvalues[[0, -1]]))
    True
    """
    x = _single_state(net, x)
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'lanczos', got {method!r}")
    if which not in ("both", "largest", "smallest"):
        raise ValueError(f"which: expected 'both', 'largest' or 'smallest', got {which!r}")
    for name, val in (("tol", tol), ("equilibrium_tol", equilibrium_tol)):
        if isinstance(val, bool) or not isinstance(val, (numbers.Real, np.floating)) \
                or not np.isfinite(val) or val < 0:
            raise ValueError(f"{name}: expected a finite non-negative number, got {val!r}")
    notes = []
    f = flow.vector_field(net, x)
    fnorm = float(np.linalg.norm(f))
    relg = relative_gradient(net, x)
    is_eq = relg <= equilibrium_tol

    free = None if net.mask is None else np.flatnonzero(net.mask)
    B = None
    if on_leaf:
        B = invariants.leaf_tangent_basis(net, x)          # (n_params, m), zeros on fixed coords
        if free is not None:
            B = B[free]
        dim = B.shape[1]
        if not is_eq:
            notes.append("x is not an equilibrium (relative gradient "
                         f"{relg:.3g}): the leaf tangent space need not be invariant under J")
    else:
        dim = net.n_params if free is None else free.size
    k = _check_k(k, dim)
    if method == "auto":
        method = "dense" if (k is None or dim <= DENSE_MAX) else "lanczos"
    if method == "lanczos" and k is None:
        raise ValueError("k: the Lanczos method returns k extreme eigenvalues; give k")

    invariance = None
    if dim == 0:
        w = np.zeros(0)
        V = np.zeros((net.n_params, 0))
        complete = True
    elif method == "dense":
        H = flow.hessian(net, x)
        if free is not None:
            H = H[np.ix_(free, free)]
        J = -H
        if B is not None:
            JB = J @ B
            Jr = B.T @ JB
            invariance = float(np.linalg.norm(JB - B @ Jr, 2)) if JB.size else 0.0
        else:
            Jr = J
        Jr = 0.5 * (Jr + Jr.T)
        if eigenvectors:
            w, V = np.linalg.eigh(Jr)
        else:
            w, V = np.linalg.eigvalsh(Jr), None
        complete = True
        if k is not None:
            complete = k == dim
            idx = _extreme_indices(len(w), k, which)
            w = w[idx]
            V = None if V is None else V[:, idx]
    else:
        Hop = hessian_operator(net, x)
        if B is not None:
            from scipy.sparse.linalg import LinearOperator

            Hfull, Bm = Hop, B
            Hop = LinearOperator((dim, dim), dtype=float,
                                 matvec=lambda u: Bm.T @ (Hfull @ (Bm @ np.asarray(u).reshape(-1))))
        n_high = {"both": (k + 1) // 2, "largest": k, "smallest": 0}[which]
        n_low = k - n_high
        # largest Jacobian eigenvalues = -(smallest Hessian eigenvalues)
        wh, Vh = _lanczos(Hop, n_high, n_low, eigenvectors, notes=notes)
        w = -wh[::-1]
        V = None if Vh is None else Vh[:, ::-1]
        complete = len(w) == dim
    if V is not None and dim:
        if B is not None:
            V = B @ V
        if free is not None:
            full = np.zeros((net.n_params, V.shape[1]))
            full[free] = V
            V = full
    scale = max(float(np.max(np.abs(w))) if w.size else 0.0, _natural_scale(net))
    zero_tol = float(tol) * scale
    if complete:
        n_neg = int(np.sum(w < -zero_tol))
        n_zero = int(np.sum(np.abs(w) <= zero_tol))
        n_pos = int(np.sum(w > zero_tol))
        hyperbolic = n_zero == 0
    else:
        n_neg = n_zero = n_pos = None
        hyperbolic = None
        notes.append(f"{len(w)} extreme eigenvalues of {dim}: counts and hyperbolicity need the full spectrum")
    return Spectrum(eigenvalues=w, eigenvectors=V if eigenvectors else None, on_leaf=bool(on_leaf),
                    dimension=int(dim), complete=bool(complete), method=method, zero_tol=zero_tol,
                    n_negative=n_neg, n_zero=n_zero, n_positive=n_pos, hyperbolic=hyperbolic,
                    vector_field_norm=fnorm, relative_gradient=float(relg), is_equilibrium=bool(is_eq),
                    invariance_residual=invariance, notes=notes)


def _extreme_indices(n, k, which):
    if which == "largest":
        return np.arange(n - k, n)
    if which == "smallest":
        return np.arange(k)
    n_high = (k + 1) // 2
    return np.concatenate([np.arange(k - n_high), np.arange(n - n_high, n)])
