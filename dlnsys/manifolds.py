"""Equilibrium manifolds on a conservation-law leaf: components, dimension, normal spectrum, index.

On a leaf ``{x : C(x) = C}`` of the conservation laws (Prop. 6) the equilibria of a network that
is not a scalar chain are, in general, not isolated: the critical set of signature S meets the
leaf in manifolds (the global minima of ``Network([11, 6, 6, 6, 6, 4])`` on a generic leaf form a
70-dimensional one: 198 weights - 44 product constraints - 84 laws). This module treats them as
such. For each signature S (Section 4.2) :func:`equilibrium_manifolds` answers one of

* **found**: the connected components of ``E_S = {f(x) = 0, W_{1:h} = S Sigma, C(x) = C}`` that
  the search reached, each an :class:`EquilibriumManifold` (a point, its local dimension, a
  tangent basis, the normal spectrum, the index, normal hyperbolicity);
* **absent**: proved, with the reason as a sentence (:func:`absence_reason`);
* **not found**: the numerical search failed; what was tried is reported.

How a point is found: Gauss-Newton with minimum-norm steps (least squares through the SVD, so
rank-deficient Jacobians, at singular points of the leaf or on manifolds of solutions, are
harmless) on ``G_S(x) = [f(x); W_{1:h} - S Sigma; C(x) - C]`` (for the global minima
``f = 0`` follows from ``W_{1:h} = Sigma`` and is left out). Starts: the exact construction of
the diagonal reduction (55) when the leaf is diagonal (this is how every signature of the
0-balanced leaf is reached), points of the leaf moved along the flow (minima), and random
critical points of signature S from the parametrization (32)-(33) moved onto the leaf by the
same iteration. Images of found points under the symmetries that keep the leaf
(``W_i -> Q_i W_i Q_{i-1}^T`` with ``Q_i C_i Q_i^T = C_i``, ``Q_0 = Q_h = I``; Section 3.5) are
added: for a generic leaf these are the sign changes in the eigenbases of the ``C_i``, which
give, e.g., the mirror minimum of (62).

How the local structure is measured at a point x of ``E_S``:

* the **kernel dimension** is the nullity of the Jacobian ``J = -Hess L`` restricted to the
  tangent space ``ker DC(x)`` of the leaf (``B^T J B``, B an orthonormal basis of ``ker DC``;
  at an equilibrium J maps that space into itself), by a symmetric eigendecomposition with
  the zero threshold of :mod:`dlnsys.spectra`; it equals ``n_params - rank [J; DC]``;
* the **dimension** of the set itself is measured, not assumed: kernel directions v are
  followed (``x + eps v``) and brought back onto ``E_S`` by the Gauss-Newton iteration, whose
  minimum-norm correction is normal to the set; the returned displacement, divided by eps,
  is the tangent component of v. The rank of these displacements is the dimension, and their
  span the tangent space. When the two agree the set is Morse-Bott there (a clean critical
  manifold): ``normally_hyperbolic`` is True and the **normal spectrum** (the eigenvalues of
  ``B^T J B`` on the orthogonal complement of the tangent space) has no zero. When the kernel
  is larger (degenerate directions, e.g. the origin of a deep scalar chain) the extra zero
  eigenvalues are normal ones and the set is not normally hyperbolic;
* the **index** is the number of positive normal eigenvalues (unstable normal directions on
  the leaf); ``kind`` is :func:`dlnsys.classify`'s verdict (global minimum / strict saddle /
  non-strict saddle) at the same point.

Singular leaves: where the laws' differential drops rank at the point (the 0-balanced leaf of a wide
network, points with vanishing weights) ``leaf_singular`` is set and said in the notes. On the
0-balanced leaf every critical point is balanced, ``W_i = U_i D U_(i-1)^T``, and the component is the
orbit of the hidden-layer rotations: its dimension ``sum_i (k d_i - k (k + 1) / 2)`` (``k = |S|``) is
taken from the orbit. Elsewhere the measured dimension is an upper bound there and the orbit of the
leaf's symmetries a lower bound (both are reported).

Closed forms checked in the tests: for the global minima on a leaf where ``D W_{1:h}`` and
``DC`` are jointly onto (generic leaves without bottleneck), the dimension is
``n_params - d_x d_y - n_laws``; for h = 2 and S = {} the component is
``{W_2 = 0, W_1 = [0, M], M M^T = C_1}``, a Stiefel manifold of dimension
``r (d_x - d_y) - r (r + 1) / 2`` with ``r = rank C_1``.

Networks without a mask and with ``gamma = 0`` only (the laws are not conserved otherwise).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import time

import numpy as np

from . import flow, invariants
from ._json import jsonable
from ._validate import as_seed_rng, as_state
from .spectra import _Result

__all__ = [
    "EquilibriumManifold", "SignatureSet", "LeafCriticalSets", "Curve", "Atlas",
    "equilibrium_manifolds", "absence_reason", "manifold_at",
    "FOUND", "ABSENT", "NOT_FOUND",
]

FOUND, ABSENT, NOT_FOUND = "found", "absent", "not found"
RESIDUAL_BOUND = 1e-10          # ||f|| <= 1e-10 ||Sigma||_F ; ||C(x) - C|| <= 1e-10 (1 + ||C||)
DENSE_LIMIT = 5000              # above this many weights only the matrix-free path (minima) is used


# ----------------------------------------------------------------------- the problem on one leaf
class _Leaf:
    """Network, signature and leaf: residuals, Jacobians and the Gauss-Newton solve on E_S."""

    def __init__(self, net, mats, S):
        self.net = net
        self.mats = [np.array(m, dtype=float) for m in mats]
        self.target = _leaf_vector(self.mats)
        self.S = tuple(S)
        self.minimum = (len(self.S) == net.d_y)          # product = Sigma implies f = 0
        T = np.zeros((net.d_y, net.d_x))
        for s in self.S:
            T[s - 1, s - 1] = net.sigma[s - 1]
        self.product_target = T
        self.sigma_norm = float(np.linalg.norm(net.Sigma))
        self.leaf_norm = float(math.sqrt(sum(float(np.sum(m * m)) for m in self.mats)))

    # residuals -------------------------------------------------------
    def residual(self, x) -> float:
        return float(np.linalg.norm(flow.vector_field(self.net, x)))

    def leaf_error(self, x) -> float:
        if self.net.h == 1:
            return 0.0
        Cx = invariants.conserved(self.net, x)
        return float(math.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(Cx, self.mats))))

    def on_set(self, x) -> bool:
        """The acceptance test of a point: both residual bounds and the signature."""
        from .critical import read_signature
        return (self.residual(x) <= RESIDUAL_BOUND * self.sigma_norm
                and self.leaf_error(x) <= RESIDUAL_BOUND * (1.0 + self.leaf_norm)
                and read_signature(self.net, x, tol=1e-6) == self.S)

    def G(self, x):
        net = self.net
        parts = []
        if not self.minimum:
            parts.append(flow.vector_field(net, x) / self.sigma_norm)
        parts.append((net.product(x) - self.product_target).ravel() / self.sigma_norm)
        if net.h > 1:
            parts.append((invariants.conserved_vector(net, x) - self.target) / (1.0 + self.leaf_norm))
        return np.concatenate(parts)

    def DG(self, x):
        from .critical import _product_differential
        net = self.net
        rows = []
        if not self.minimum:
            rows.append(-flow.hessian(net, x) / self.sigma_norm)
        rows.append(_product_differential(net, x) / self.sigma_norm)
        if net.h > 1:
            rows.append(invariants.conservation_differential(net, x) / (1.0 + self.leaf_norm))
        return np.vstack(rows)

    def solve(self, x0, *, max_iter=60, tol=1e-15, deadline=None, stall=10):
        """Gauss-Newton with minimum-norm steps and backtracking on ||G||; returns (x, ||G||, iterations)."""
        x = np.array(x0, dtype=float)
        g = self.G(x)
        ng = float(np.linalg.norm(g))
        history = [ng]
        it = 0
        for it in range(1, max_iter + 1):
            if ng <= tol or (deadline is not None and time.perf_counter() > deadline):
                break
            J = self.DG(x)
            for robust in (False, True):
                # the fast solve first; if its step does not descend (an ill-conditioned normal matrix), LAPACK's
                # rank-revealing least squares
                step = _minnorm(J, -g, robust=robust)
                t = 1.0
                while True:
                    xn = x + t * step
                    gn = self.G(xn)
                    ngn = float(np.linalg.norm(gn))
                    if ngn < (1 - 1e-4 * t) * ng or t < 1e-6:
                        break
                    t *= 0.5
                if ngn < ng:
                    break
            if not (ngn < ng):
                break
            x, g, prev, ng = xn, gn, ng, ngn
            if ng > 0.9 * prev and ng < 1e-13:     # rounding level reached
                break
            history.append(ng)
            if len(history) > stall and ng > 0.5 * history[-stall - 1]:
                break                              # stagnating in a local minimum of ||G||: give up early
        return x, ng, it

    def solve_on_set(self, x0, **kw):
        """:meth:`solve`, then the acceptance test: (x or None, ||G||)."""
        try:
            x, ng, _ = self.solve(x0, **kw)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return None, float("inf")
        if not np.all(np.isfinite(x)):
            return None, float("inf")
        return (x if self.on_set(x) else None), ng


def _minnorm(J, R, robust=False):
    """Minimum-norm least-squares solution of ``J X = R`` (R a vector or a matrix of right-hand sides).

    Wide Jacobians of full row rank (the minima: product and laws) go through a Cholesky factor of
    ``J J^T``; anything else (tall, or rank-deficient: singular leaves, saddles) through LAPACK's
    rank-revealing QR least squares (``gelsy``), which returns the minimum-norm solution too.
    """
    import scipy.linalg
    m, n = J.shape
    if m < n and not robust:
        G = J @ J.T
        d = np.diag(G)
        if d.size and np.min(d) > 0:
            try:
                c, low = scipy.linalg.cho_factor(G, check_finite=False)
                piv = np.abs(np.diag(c))
                if np.min(piv) > 1e-7 * np.max(piv):           # condition of G below ~1e14
                    return J.T @ scipy.linalg.cho_solve((c, low), R, check_finite=False)
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                pass
    return scipy.linalg.lstsq(J, R, cond=1e-13, lapack_driver="gelsy", check_finite=False)[0]


def _chain_term(net, Ws, a, b, L, R):
    """``F = L W_b ... W_a R`` (1-based layers a..b; L, R fixed matrices) and ``dvec(F)/dx`` (row-major vec).

    The derivative in ``W_j`` is ``(L W_b..W_(j+1)) dW_j (W_(j-1)..W_a R)``, that is the columns
    ``kron(L W_b..W_(j+1), (W_(j-1)..W_a R)^T)`` of the block of layer j."""
    offs = net.param_offsets
    right = [R]                                   # right[j - a] = W_(j-1)..W_a R
    for j in range(a, b + 1):
        right.append(Ws[j - 1] @ right[-1])
    F = L @ right[-1]
    D = np.zeros((F.size, net.n_params))
    left = L
    for j in range(b, a - 1, -1):
        D[:, offs[j - 1]:offs[j]] = np.kron(left, right[j - a].T)
        left = left @ Ws[j - 1]
    return F, D


class _BlockedLeaf(_Leaf):
    """E_S through blocked channels: for every i not in S, ``W_(1:k) e_i = 0`` and ``e_i^T W_(k+1:h) = 0``.

    Then ``f_j = sum_(i not in S) sigma_i (W_(j+1:h)^T e_i)(W_(1:j-1) e_i)^T`` vanishes for every j
    (one factor is zero on each side of layer k), so with ``W_(1:h) = S Sigma`` the point is
    critical: the Hessian is not needed. For a single missing index every critical point is of
    this form for some k (the factors ``W_(j+1:h)^T e_i`` vanish for j <= some k and the
    ``W_(1:j-1) e_i`` for j > k); for h = 2 it is the whole critical set."""

    def __init__(self, net, mats, S, k):
        super().__init__(net, mats, S)
        self.k = int(k)
        self.missing = [i for i in range(1, net.d_y + 1) if i not in self.S]
        self.minimum = True                       # no f rows: f = 0 follows from the blocks

    def _blocks(self, x):
        net, k = self.net, self.k
        Ws = net.unpack(x)
        vals, ders = [], []
        for i in self.missing:
            e_in = np.zeros((net.d_x, 1))
            e_in[i - 1, 0] = 1.0
            e_out = np.zeros((1, net.d_y))
            e_out[0, i - 1] = 1.0
            F, D = _chain_term(net, Ws, 1, k, np.eye(net.dims[k]), e_in)
            vals.append(F.ravel())
            ders.append(D)
            F, D = _chain_term(net, Ws, k + 1, net.h, e_out, np.eye(net.dims[k]))
            vals.append(F.ravel())
            ders.append(D)
        return np.concatenate(vals) / self.sigma_norm, np.vstack(ders) / self.sigma_norm

    def G(self, x):
        return np.concatenate([self._blocks(x)[0], super().G(x)])

    def DG(self, x):
        return np.vstack([self._blocks(x)[1], super().DG(x)])


def _leaf_homotopy(net, mats, S, x, *, max_steps=60, deadline=None):
    """Move a point x of E_S (on its own leaf C(x)) to the leaf ``mats`` along E_S.

    The leaf constants go linearly from ``C(x)`` to the target, ``C(t) = (1 - t) C(x) + t C``;
    at each t the point is corrected onto ``E_S`` on the leaf ``C(t)`` by Gauss-Newton, from a
    secant predictor. The step in t halves on failure (down to 1e-4). Returns the point on the
    target leaf, or None (and the t reached) when the path leaves the set of reachable leaves.
    """
    C0 = invariants.conserved(net, x)
    t, dt = 0.0, 0.25
    prev = None
    for _ in range(max_steps):
        if deadline is not None and time.perf_counter() > deadline:
            return None, t
        tn = min(1.0, t + dt)
        prob = _Leaf(net, [(1 - tn) * a + tn * b for a, b in zip(C0, mats)], S)
        guess = x if prev is None else x + (x - prev[0]) * ((tn - t) / max(t - prev[1], 1e-300))
        y, ng, _ = prob.solve(guess, max_iter=25)
        if ng <= 1e-11 and np.all(np.isfinite(y)):
            prev, x, t = (x, t), y, tn
            if t >= 1.0:
                return x, 1.0
            dt = min(0.5, 1.5 * dt)
        else:
            dt *= 0.5
            if dt < 1e-4:
                return None, t
    return None, t


def _leaf_vector(mats):
    if not mats:
        return np.zeros(0)
    return np.concatenate([m[np.triu_indices(m.shape[0])] for m in mats])


# ----------------------------------------------------------------------- local structure at a point
def _generic_law_rank(net):
    """Rank of DC at a random point (the generic number of independent laws), cached on the network."""
    key = "_dlnsys_generic_law_rank"
    r = net.__dict__.get(key)
    if r is None:
        if net.h == 1:
            r = 0
        else:
            x = np.random.default_rng(12345).standard_normal(net.n_params)
            r = invariants.independent_conservation_laws(net, x)
        net.__dict__[key] = r
    return r


def _null_space(M, rel=None):
    """Orthonormal basis of ker M (columns) and the rank, rank-revealing through the SVD."""
    n = M.shape[1]
    if M.shape[0] == 0:
        return np.eye(n), 0
    _, s, vt = np.linalg.svd(M, full_matrices=True)
    tol = (s[0] if s.size else 0.0) * max(M.shape) * np.finfo(float).eps * 10 if rel is None else rel
    rank = int(np.sum(s > tol))
    return vt[rank:].T, rank


@dataclasses.dataclass
class _Local:
    kernel_dimension: int
    dimension: int
    tangent: np.ndarray
    normal_eigenvalues: np.ndarray
    zero_tol: float
    leaf_rank: int
    leaf_singular: bool
    verified: bool
    notes: list


def _local_structure(prob, x, *, eps=None, deadline=None):
    """Kernel dimension, measured dimension, tangent basis and normal spectrum at x (see module doc)."""
    net = prob.net
    n = net.n_params
    D = invariants.conservation_differential(net, x) if net.h > 1 else np.zeros((0, n))
    B, rank = _null_space(D)
    generic = _generic_law_rank(net)
    singular = rank < generic
    J = -flow.hessian(net, x)
    Jl = B.T @ J @ B
    w, V = np.linalg.eigh(0.5 * (Jl + Jl.T))
    from .leaves import _zero_tol
    ztol = _zero_tol(net, w)
    zero = np.abs(w) <= ztol
    k = int(np.sum(zero))
    K = B @ V[:, zero]                                   # kernel of the leaf Jacobian, orthonormal
    notes = []
    verified = True
    zero_leaf = all(not np.any(m) for m in prob.mats)
    if singular and zero_leaf:
        # at a singular point of the leaf, first-order projections cannot tell tangent directions from directions that
        # leave the leaf at second order; on the 0-balanced leaf the component is the orbit of the symmetries
        T = _orbit_tangent(net, x, prob.mats)
        notes.append("dimension from the orbit of the leaf's symmetries (W_i -> Q_i W_i Q_(i-1)^T): on the 0-balanced "
                     "leaf this orbit is the whole component (balanced critical points are W_i = U_i D U_(i-1)^T)")
    elif k == 0:
        T = np.zeros((n, 0))
    else:
        # follow each kernel direction and come back to E_S: the displacement is its tangent part. The
        # correction is a chord iteration with the pseudo-inverse of DG(x) (the steps are tiny, so DG(x) serves
        # for all of them; its minimum-norm corrections are normal to the set), a full Gauss-Newton solve if not
        scale = max(1.0, float(np.linalg.norm(x)))
        eps = 1e-5 * scale if eps is None else eps
        pinv = np.linalg.pinv(prob.DG(x), rcond=1e-12)
        U = np.zeros((n, k))
        failed = 0
        for j in range(k):
            if deadline is not None and time.perf_counter() > deadline:
                verified = False
                break
            y = x + eps * K[:, j]
            for _ in range(6):
                g = prob.G(y)
                if np.linalg.norm(g) <= 1e-14:
                    break
                y = y - pinv @ g
            if np.linalg.norm(prob.G(y)) > 1e-12:
                y, ng, _ = prob.solve(x + eps * K[:, j], max_iter=15)
                if ng > 1e-11:
                    failed += 1
                    continue
            U[:, j] = (y - x) / eps
        if not verified:
            T = K
            notes.append("time budget reached while measuring the dimension; the kernel dimension is reported "
                         "(the set is assumed clean)")
        else:
            if failed:
                notes.append(f"{failed} of {k} kernel directions could not be brought back onto the set "
                             "(Gauss-Newton did not converge); they count as normal directions")
            Uq, s, _ = np.linalg.svd(U, full_matrices=False)
            m = int(np.sum(s > 0.5))                     # tangent directions come back with |u| ~ 1
            if np.any((s > 1e-3) & (s <= 0.5)):
                mid = s[(s > 1e-3) & (s <= 0.5)]
                notes.append(f"{mid.size} kernel directions came back neither tangent nor normal (displacement "
                             f"ratios {mid.min():.2g} .. {mid.max():.2g}): the set may not be a manifold here")
            T = Uq[:, :m]
            # re-orthonormalize inside the kernel (T is tangent to first order only)
            T = K @ np.linalg.qr(K.T @ T)[0] if m else np.zeros((n, 0))
    if singular and not zero_leaf:
        lower = _orbit_tangent(net, x, prob.mats).shape[1]
        notes.append(f"singular point of the leaf: the measured dimension {T.shape[1]} is an upper bound (directions that "
                     f"leave the leaf at second order look tangent to first order); the orbit of the leaf's "
                     f"symmetries gives the lower bound {lower}")
    dim = T.shape[1]
    # normal spectrum: B^T J B on the complement of the tangent space inside ker DC
    if dim:
        Tb = B.T @ T
        N, _ = _null_space(Tb.T)
        Jn = N.T @ Jl @ N
        wn = np.linalg.eigvalsh(0.5 * (Jn + Jn.T))
    else:
        wn = w
    if singular:
        notes.append(f"the leaf is singular here: the laws' differential has rank {rank} < {generic} (the generic "
                     "rank); the 'leaf tangent space' is ker DC, which contains directions that leave the leaf "
                     "at second order")
    return _Local(kernel_dimension=k, dimension=dim, tangent=T, normal_eigenvalues=np.sort(wn), zero_tol=ztol,
                  leaf_rank=rank, leaf_singular=singular, verified=verified, notes=notes)


def _orbit_tangent(net, x, mats):
    """Orthonormal basis of the tangent space at x of the orbit of the symmetries that keep the leaf and the loss:
    ``{(Q_1..Q_(h-1)) : Q_i C_i Q_i^T = C_i}`` on the hidden layers and the rotations R of the input columns
    beyond d_y (``Sigma R = Sigma``).

    The generators are skew ``K_i`` commuting with ``C_i``; ``K_i`` moves ``W_i`` by ``K_i W_i`` and ``W_(i+1)`` by
    ``-W_(i+1) K_i``; a skew ``K_0`` on the extra input columns moves ``W_1`` by ``W_1 K_0``."""
    Ws = net.unpack(x)
    offs = net.param_offsets
    cols = []
    for i, C in enumerate(mats):
        d = C.shape[0]
        # basis of so(d) commuting with C: null space of K -> K C - C K on the skew basis E_ab - E_ba
        basis = []
        for a in range(d):
            for b in range(a + 1, d):
                E = np.zeros((d, d))
                E[a, b], E[b, a] = 1.0, -1.0
                basis.append(E)
        if not basis:
            continue
        M = np.array([(E @ C - C @ E).ravel() for E in basis]).T
        N, _ = _null_space(M, rel=1e-10 * max(1.0, float(np.max(np.abs(C), initial=0.0))))
        for coeffs in N.T:
            K = sum(c * E for c, E in zip(coeffs, basis))
            v = np.zeros(net.n_params)
            v[offs[i]:offs[i + 1]] = (K @ Ws[i]).ravel()
            v[offs[i + 1]:offs[i + 2]] = (-Ws[i + 1] @ K).ravel()
            cols.append(v)
    # rotations of the input columns beyond d_y keep Sigma (Sigma R = Sigma), the loss and every C_i
    m = net.d_x - net.d_y
    for a in range(m):
        for b in range(a + 1, m):
            K = np.zeros((net.d_x, net.d_x))
            K[net.d_y + a, net.d_y + b], K[net.d_y + b, net.d_y + a] = 1.0, -1.0
            v = np.zeros(net.n_params)
            v[offs[0]:offs[1]] = (Ws[0] @ K).ravel()
            cols.append(v)
    if not cols:
        return np.zeros((net.n_params, 0))
    U, s, _ = np.linalg.svd(np.array(cols).T, full_matrices=False)
    r = int(np.sum(s > 1e-10 * max(1.0, s[0])))
    return U[:, :r]


# ----------------------------------------------------------------------- results
@dataclasses.dataclass
class Curve(_Result):
    """A 1-dimensional component traced by pseudo-arclength (:meth:`EquilibriumManifold.trace`).

    Attributes
    ----------
    points : ndarray, shape (m, n_params)
        Points along the curve, in order (every one meets the residual bounds).
    closed : bool
        The trace came back to its start.
    unbounded : bool
        ``max_length`` was reached in a direction without closing (a long or unbounded curve).
    length : float
        Arclength of the polyline.
    status, message : str
        ``'ok'``, ``'budget'`` (steps or time ran out) or ``'failed'`` (the corrector failed).
    """

    points: np.ndarray
    closed: bool
    unbounded: bool
    length: float
    status: str
    message: str
    steps: int

    _vector_fields = ("points",)


@dataclasses.dataclass
class Atlas(_Result):
    """A covering of a 2-dimensional component by charts (:meth:`EquilibriumManifold.cover`).

    Attributes
    ----------
    centers : ndarray, shape (m, n_params)
        Chart centres, each on the component (residual bounds met).
    tangents : ndarray, shape (m, n_params, 2)
        Orthonormal tangent basis of each chart.
    radius : float
        Chart radius.
    triangles : ndarray of int, shape (k, 3)
        A triangle mesh on the centres (neighbouring charts), for drawing.
    complete : bool
        No chart had an uncovered frontier direction left (a compact component was closed up).
    status, message : str
    """

    centers: np.ndarray
    tangents: np.ndarray
    radius: float
    triangles: np.ndarray
    complete: bool
    status: str
    message: str

    _vector_fields = ("centers", "tangents", "triangles")


@dataclasses.dataclass
class EquilibriumManifold(_Result):
    """One connected component of the equilibria of signature S on a leaf.

    Attributes
    ----------
    signature : tuple
        S, the learned singular values (1-based).
    critical_value : float
        (31): ``1/2 sum_{i not in S} sigma_i^2``.
    point : ndarray
        A point of the component: ``||f|| <= 1e-10 ||Sigma||_F`` (``residual``) and
        ``||C(x) - C||_F <= 1e-10 (1 + ||C||_F)`` (``leaf_error``).
    dimension : int
        Local dimension of the set at ``point`` (measured: see the module docstring).
    kernel_dimension : int
        Nullity of the Jacobian restricted to the leaf tangent space (``n_params - rank [J; DC]``).
    expected_dimension : int or None
        The closed form where one applies (``n_params - d_x d_y - n_laws`` for minima on a regular
        leaf; the Stiefel dimension for h = 2, S = {}), else None.
    tangent_basis : ndarray, shape (n_params, dimension)
        Orthonormal.
    normal_eigenvalues : ndarray
        Eigenvalues of the leaf Jacobian on the complement of the tangent space (ascending).
    index : int
        Number of positive normal eigenvalues (unstable normal directions on the leaf).
    normally_hyperbolic : bool
        No zero normal eigenvalue (``dimension == kernel_dimension``).
    kind : str
        :func:`dlnsys.classify`'s verdict at ``point``; ``strict`` is ``kind == 'strict saddle'``.
    leaf_singular : bool
        The laws' differential drops rank at ``point``.
    n_points : int
        Points of the search that landed on this component.
    notes : list of str
    """

    signature: tuple
    critical_value: float
    point: np.ndarray
    residual: float
    leaf_error: float
    dimension: int
    kernel_dimension: int
    expected_dimension: int | None
    tangent_basis: np.ndarray
    normal_eigenvalues: np.ndarray
    index: int
    normally_hyperbolic: bool
    kind: str
    strict: bool
    leaf_singular: bool
    zero_tol: float
    n_points: int = 1
    notes: list = dataclasses.field(default_factory=list)
    _problem: object = dataclasses.field(default=None, repr=False, compare=False)
    _members: list = dataclasses.field(default_factory=list, repr=False, compare=False)

    _vector_fields = ("point", "tangent_basis", "normal_eigenvalues")

    def to_dict(self, vectors: bool = True) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_") or (not vectors and f.name in self._vector_fields):
                continue
            out[f.name] = jsonable(getattr(self, f.name))
        return out

    def __repr__(self):
        return (f"EquilibriumManifold(signature={self.signature}, dimension={self.dimension}, index={self.index}, "
                f"normally_hyperbolic={self.normally_hyperbolic}, kind={self.kind!r})")

    # --------------------------------------------------------- sampling
    def sample(self, n, seed=None, *, step=None, max_time=30.0):
        """``n`` points on the component: random tangent steps, each projected back onto the set.

        A random walk from ``point``: from a random earlier sample, a step of length ``step``
        (default ``0.2 max(1, |point|)``) along a random unit vector of the tangent space, then
        Gauss-Newton back onto ``E_S``. A projected point is kept when it meets the residual
        bounds and stays near (within two steps of) where it started, so the walk does not jump
        to another component. Returns an array of shape ``(m, n_params)`` with ``m <= n``
        (fewer when ``max_time`` seconds ran out; a dimension-0 component gives its point).

        Examples
        --------
        >>> import dlnsys
        >>> net = dlnsys.Network([2, 2, 1], [1.5])
        >>> res = dlnsys.equilibrium_manifolds(net, [[0.5, 0.1], [0.1, -0.2]], signatures=[(1,)], seed=0)
        >>> comp = res[(1,)].components[0]
        >>> pts = comp.sample(5, seed=1)
        >>> pts.shape
        (5, 6)
        """
        n = _positive_int(n, "n")
        rng = as_seed_rng(seed)
        prob = self._problem
        if prob is None:
            raise ValueError(f"sample: not available for the matrix-free analysis (more than {DENSE_LIMIT} weights)")
        if self.dimension == 0:
            return np.repeat(self.point[None, :], 1, axis=0)
        step = 0.2 * max(1.0, float(np.linalg.norm(self.point))) if step is None else float(step)
        if not (step > 0 and math.isfinite(step)):
            raise ValueError(f"step: expected a positive number, got {step!r}")
        deadline = time.perf_counter() + float(max_time)
        pts = [self.point]
        tangents = [self.tangent_basis]
        out = []
        tries = 0
        while len(out) < n and time.perf_counter() < deadline and tries < 20 * n:
            tries += 1
            i = int(rng.integers(len(pts)))
            x, T = pts[i], tangents[i]
            v = T @ rng.standard_normal(T.shape[1])
            v /= max(np.linalg.norm(v), 1e-300)
            y, _ = prob.solve_on_set(x + step * v, max_iter=40)
            if y is None or np.linalg.norm(y - x) > 2.0 * step:
                continue
            out.append(y)
            pts.append(y)
            tangents.append(_tangent_of(prob, y, T))
        return np.array(out).reshape(len(out), prob.net.n_params)

    # --------------------------------------------------------- 1-D: tracing
    def trace(self, *, step=None, max_steps=2000, max_length=None, max_time=60.0) -> Curve:
        """The whole curve through ``point`` (1-dimensional components), by pseudo-arclength.

        Predictor: a step ``step`` along the unit tangent (kept in a consistent direction);
        corrector: Gauss-Newton on ``E_S`` with minimum-norm corrections, that is, normal to the
        curve. The step halves when the corrector fails or turns too far (down to
        ``step / 1024``). The trace ends when it comes back within one step of its start after
        going at least three steps away (``closed``), or when the length exceeds ``max_length``
        (default ``100 max(1, |point|)``), in which case it is traced the other way too and
        reported ``unbounded`` (or too long to tell).
        """
        if self.dimension != 1:
            raise ValueError(f"trace: the component has dimension {self.dimension}; trace() needs a curve "
                             "(dimension 1); use sample() or cover()")
        prob = self._problem
        scale = max(1.0, float(np.linalg.norm(self.point)))
        h0 = 0.05 * scale if step is None else float(step)
        if not (h0 > 0 and math.isfinite(h0)):
            raise ValueError(f"step: expected a positive number, got {step!r}")
        max_length = 100.0 * scale if max_length is None else float(max_length)
        max_steps = _positive_int(max_steps, "max_steps")
        deadline = time.perf_counter() + float(max_time)
        x0 = self.point
        t0 = self.tangent_basis[:, 0]
        status, message = "ok", ""
        branches = []
        closed = False
        unbounded = False
        steps = 0
        for direction in (1.0, -1.0):
            x, t = x0.copy(), direction * t0
            pts = [x0.copy()]
            length = 0.0
            h = h0
            while True:
                if steps >= max_steps or time.perf_counter() > deadline:
                    status, message = "budget", f"stopped after {steps} steps / the time budget"
                    break
                steps += 1
                y, _ = prob.solve_on_set(x + h * t, max_iter=30)
                ok = y is not None and np.linalg.norm(y - x) <= 1.5 * h
                if ok:
                    tn = _tangent_of(prob, y, t[:, None])[:, 0]
                    if tn @ t < 0:
                        tn = -tn
                    ok = tn @ t > 0.8
                if not ok:
                    h *= 0.5
                    if h < h0 / 1024:
                        status, message = "failed", f"the corrector failed at arclength {length:.4g}"
                        break
                    continue
                length += float(np.linalg.norm(y - x))
                x, t = y, tn
                pts.append(x.copy())
                if len(pts) > 3 and np.linalg.norm(x - x0) < 1.01 * h0 and length > 3 * h0:
                    closed = True
                    pts.append(x0.copy())
                    length += float(np.linalg.norm(x - x0))
                    break
                if length > max_length:
                    unbounded = True
                    break
                h = min(h0, 1.5 * h)
            branches.append(pts)
            if closed or status != "ok":
                break
        if closed:
            P = np.array(branches[0])
        else:
            back = branches[1][::-1] if len(branches) > 1 else []
            P = np.array(list(back[:-1]) + branches[0]) if back else np.array(branches[0])
        total = float(np.sum(np.linalg.norm(np.diff(P, axis=0), axis=1))) if len(P) > 1 else 0.0
        if unbounded and not message:
            message = (f"length above max_length = {max_length:g} without closing: unbounded, or longer than "
                       "max_length")
        return Curve(points=P, closed=closed, unbounded=unbounded, length=total, status=status, message=message,
                     steps=steps)

    # --------------------------------------------------------- 2-D: atlas
    def cover(self, *, radius=None, max_charts=400, max_time=60.0) -> Atlas:
        """An atlas of charts over a 2-dimensional component, for drawing it as a mesh.

        Charts are tangent discs of radius ``radius`` (default ``0.25 max(1, |point|)``), in the
        spirit of Henderson's multiple-parameter continuation (multifario, COCO's atlas
        algorithms): a chart's frontier is probed in six directions of its tangent plane
        (60 degrees apart); a probe point is projected onto the component and becomes the
        centre of a new chart unless it lies within ``0.9 radius`` of an existing centre. The
        covering is breadth first and stops when no chart has an open direction left
        (``complete``) or after ``max_charts`` charts / ``max_time`` seconds. Unlike
        multifario's polyhedral chart boundaries, overlap is decided by distance between
        centres, so a strongly curved region may get a few redundant charts. The mesh
        ``triangles`` joins each chart with consecutive neighbours (centres within
        ``1.3 radius``).
        """
        if self.dimension != 2:
            raise ValueError(f"cover: the component has dimension {self.dimension}; cover() builds an atlas of a "
                             "surface (dimension 2)")
        prob = self._problem
        R = 0.25 * max(1.0, float(np.linalg.norm(self.point))) if radius is None else float(radius)
        if not (R > 0 and math.isfinite(R)):
            raise ValueError(f"radius: expected a positive number, got {radius!r}")
        max_charts = _positive_int(max_charts, "max_charts")
        deadline = time.perf_counter() + float(max_time)
        centers = [self.point.copy()]
        tangents = [self.tangent_basis.copy()]
        queue = [0]
        status, message = "ok", ""
        angles = np.arange(6) * np.pi / 3
        while queue:
            if len(centers) >= max_charts or time.perf_counter() > deadline:
                status, message = "budget", f"stopped at {len(centers)} charts (max_charts or time budget)"
                break
            i = queue.pop(0)
            c, T = centers[i], tangents[i]
            for a in angles:
                p = c + R * (math.cos(a) * T[:, 0] + math.sin(a) * T[:, 1])
                if min(np.linalg.norm(p - q) for q in centers) < 0.9 * R:
                    continue
                y, _ = prob.solve_on_set(p, max_iter=30)
                if y is None or np.linalg.norm(y - c) > 1.5 * R:
                    continue
                if min(np.linalg.norm(y - q) for q in centers) < 0.9 * R:
                    continue
                centers.append(y)
                tangents.append(_tangent_of(prob, y, T))
                queue.append(len(centers) - 1)
        C = np.array(centers)
        tri = _chart_triangles(C, np.array(tangents), 1.3 * R)
        return Atlas(centers=C, tangents=np.array(tangents), radius=R, triangles=tri,
                     complete=(status == "ok"), status=status, message=message)


def _tangent_of(prob, y, T_prev):
    """Tangent basis at y near T_prev: T_prev projected onto ker DG(y) (minimum-norm solves), re-orthonormalized.

    Valid along a clean set (the kernel of the stacked Jacobian is the tangent space and has the
    dimension of T_prev); the QR keeps the orientation of T_prev."""
    m = T_prev.shape[1]
    if m == 0:
        return np.zeros((len(y), 0))
    J = prob.DG(y)
    T = T_prev - _minnorm(J, J @ T_prev)
    Q, R = np.linalg.qr(T)
    return Q * np.sign(np.where(np.diag(R) == 0, 1.0, np.diag(R)))


def _chart_triangles(C, Ts, reach):
    """Triangles between neighbouring chart centres, ordered by angle in each chart's tangent plane."""
    m = len(C)
    tris = set()
    for i in range(m):
        d = np.linalg.norm(C - C[i], axis=1)
        nb = [j for j in np.flatnonzero((d > 0) & (d <= reach))]
        if len(nb) < 2:
            continue
        coords = (C[nb] - C[i]) @ Ts[i]
        ang = np.arctan2(coords[:, 1], coords[:, 0])
        order = [nb[k] for k in np.argsort(ang)]
        for a, b in zip(order, order[1:] + order[:1]):
            if a != b and np.linalg.norm(C[a] - C[b]) <= reach:
                tris.add(tuple(sorted((i, a, b))))
    return np.array(sorted(tris), dtype=int).reshape(-1, 3)


@dataclasses.dataclass
class SignatureSet(_Result):
    """What the leaf holds for one signature.

    Attributes
    ----------
    signature : tuple
    critical_value : float
        (31).
    status : str
        ``'found'``, ``'absent'`` (proved: ``reason``) or ``'not found'`` (search failed: ``tried``).
    components : list of EquilibriumManifold
    reason : str
        The proof of absence, or how the points were found.
    tried : dict
        Starts by kind, converged starts, the best residual ``||G_S||`` reached.
    """

    signature: tuple
    critical_value: float
    status: str
    components: list
    reason: str
    tried: dict

    def to_dict(self, vectors: bool = True) -> dict:
        out = {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "components"}
        out["components"] = [c.to_dict(vectors) for c in self.components]
        return out

    @property
    def dimension(self):
        """Largest component dimension (None unless found)."""
        return max((c.dimension for c in self.components), default=None)


@dataclasses.dataclass
class LeafCriticalSets(_Result):
    """The critical sets of the loss on one leaf, signature by signature.

    Index it by signature (``res[(1, 2)]``) or iterate over the :class:`SignatureSet` entries.
    ``status`` is ``'ok'`` when every signature is found or proved absent, ``'incomplete'`` when
    some search failed, ``'budget'`` when ``max_time`` ran out (the remaining signatures are
    ``'not found'`` with the reason).
    """

    dims: tuple
    sigma: np.ndarray
    leaf: list
    leaf_singular: bool
    sets: list
    status: str
    message: str
    seconds: float
    search_seconds: float = 0.0
    notes: list = dataclasses.field(default_factory=list)

    def to_dict(self, vectors: bool = True) -> dict:
        out = {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "sets"}
        out["sets"] = [s.to_dict(vectors) for s in self.sets]
        return out

    def to_json(self, path=None, vectors=True, **kw) -> str:
        import json
        text = json.dumps(self.to_dict(vectors), **kw)
        if path is not None:
            from ._io import write_text_atomic
            write_text_atomic(path, text + "\n")
        return text

    def __iter__(self):
        return iter(self.sets)

    def __len__(self):
        return len(self.sets)

    def __getitem__(self, key):
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
            return self.sets[key]
        want = tuple(sorted(int(s) for s in key))
        for s in self.sets:
            if s.signature == want:
                return s
        raise KeyError(f"signature {want} was not analysed")

    @property
    def components(self):
        return [c for s in self.sets for c in s.components]

    def summary(self) -> str:
        """One row per signature: status, components, dimension, index, normally hyperbolic, value."""
        rows = [f"leaf analysis of dims {list(self.dims)}: {self.status} ({self.seconds:.2f} s, search and first "
                f"components {self.search_seconds:.2f} s)"
                + (f"; {self.message}" if self.message else "")]
        rows.append(f"{'signature':<14}{'status':<11}{'comp':>5}{'dim':>6}{'index':>7}  {'norm.hyp.':<10}"
                    f"{'kind':<19}{'value':>12}")
        for s in self.sets:
            k = len(s.signature)
            sig = ("{1.." + str(k) + "}" if k > 6 and s.signature == tuple(range(1, k + 1))
                   else "{" + ",".join(map(str, s.signature)) + "}")
            comp_s = str(len(s.components)) + ("+" if s.tried.get("not_grouped") else "")
            if s.components:
                dims = sorted({c.dimension for c in s.components})
                idx = sorted({c.index for c in s.components})
                nh = sorted({c.normally_hyperbolic for c in s.components})
                kinds = sorted({c.kind for c in s.components})
                dim_s = ",".join(map(str, dims))
                idx_s = ",".join(map(str, idx))
                nh_s = "/".join("yes" if v else "no" for v in nh)
                kind_s = "/".join(kinds)
            else:
                dim_s = idx_s = nh_s = kind_s = "-"
            rows.append(f"{sig:<14}{s.status:<11}{comp_s:>5}{dim_s:>6}{idx_s:>7}  {nh_s:<10}"
                        f"{kind_s:<19}{s.critical_value:>12.6g}")
        return "\n".join(rows)


# ----------------------------------------------------------------------- absence proofs
def _inertia(M, tol_rel=1e-10):
    ev = np.linalg.eigvalsh(M)
    tol = tol_rel * max(float(np.max(np.abs(ev), initial=0.0)), 1e-300)
    return int(np.sum(ev > tol)), int(np.sum(ev < -tol)), ev


def absence_reason(net, C, S):
    """A proof that the leaf holds no critical point of signature S, as a sentence, or None.

    Proved conditions (necessary for existence; for chains and for h = 2, S = {} also
    sufficient):

    * the leaf is empty (rank test of :func:`dlnsys.invariants.empty_leaf_reason`);
    * ``|S| > d_min`` (bottleneck, Section 7): ``W_{1:h}`` has rank at most ``d_min``;
    * **scalar chains**: the saddle (S = {}) needs two or more zero weights (Prop. 33), possible
      only when two of the ``u_min + s_i`` vanish (see :mod:`dlnsys.leaves`);
    * **h = 2, any S** with ``k = |S|``: at a critical point ``W_2^T (Sigma - W_2 W_1) = 0`` and
      ``(Sigma - W_2 W_1) W_1^T = 0`` with ``W_2 W_1 = S Sigma`` give: the rows ``i not in S`` of
      ``W_2`` vanish and the columns ``i not in S`` (``i <= d_y``) of ``W_1`` vanish. Hence
      ``rank W_2 <= k`` and ``rank W_1 <= k + d_x - d_y``, and ``C_1 = W_1 W_1^T - W_2^T W_2`` has at
      most ``k`` negative and at most ``min(d_1, k + d_x - d_y)`` positive eigenvalues. For
      ``S = {}`` this reads ``W_2 = 0``, ``W_1 = [0, M]``, ``C_1 = M M^T``: the leaf holds such points
      iff ``C_1`` is positive semidefinite of rank ``<= d_x - d_y`` (then ``M = C_1^(1/2)``-type
      factors exist).

    Examples
    --------
    >>> import dlnsys
    >>> absence_reason(dlnsys.Network([3, 1, 1], [1.0]), [-0.8], ())
    'h = 2, S = {}: a critical point with W_2 W_1 = 0 has W_2 = 0 and its first d_y = 1 columns of W_1 zero, so C_1 = W_1 W_1^T must be positive semidefinite of rank <= d_x - d_y = 2; here C_1 has 1 negative eigenvalue'
    """
    from .critical import _require_plain, as_signature
    from .leaves import parse_leaf
    _require_plain(net, "absence_reason")
    mats, _ = parse_leaf(net, C)
    S = as_signature(net, S)
    return _absence(net, mats, S)


def _absence(net, mats, S):
    from .leaves import _chain_points, _chain_no_saddle_reason
    if net.h > 1:
        found = invariants.empty_leaf_reason(net, mats)
        if found is not None:
            return found[1]
    k = len(S)
    if k > net.d_min:
        return (f"|S| = {k} > d_min = {net.d_min}: the product W_(1:h) of a bottleneck network has rank at most "
                f"{net.d_min}, so no critical point has W_(1:h) = S Sigma")
    if all(d == 1 for d in net.dims) and net.h > 1 and k == 0:
        c = np.array([m[0, 0] for m in mats])
        if not any(tag == "saddle" for _, tag, _ in _chain_points(net.h, c, float(net.sigma[0]), "saddle")):
            return "scalar chain: " + _chain_no_saddle_reason(net.h, c)
    if net.h == 2:
        dx, d1, dy = net.dims
        pos, neg, ev = _inertia(mats[0])
        free = dx - dy
        if k == 0:
            if neg > 0 or pos > free:
                what = (f"{neg} negative eigenvalue{'s' if neg != 1 else ''}" if neg > 0 else
                        f"rank {pos}")
                return (f"h = 2, S = {{}}: a critical point with W_2 W_1 = 0 has W_2 = 0 and its first d_y = {dy} "
                        f"columns of W_1 zero, so C_1 = W_1 W_1^T must be positive semidefinite of rank <= d_x - d_y "
                        f"= {free}; here C_1 has {what}")
        else:
            pmax = min(d1, k + free)
            if neg > k or pos > pmax:
                return (f"h = 2, |S| = {k}: at a critical point the rows i not in S of W_2 and the columns i not in S "
                        f"(i <= d_y) of W_1 vanish, so C_1 = W_1 W_1^T - W_2^T W_2 has at most {k} negative and at most "
                        f"{pmax} positive eigenvalues; here C_1 has {neg} negative and {pos} positive")
    return None


def _expected_dimension(net, mats, S, local):
    """Closed-form dimension where one is proved (None otherwise)."""
    if all(not np.any(m) for m in mats) and not net.is_bottleneck:
        k = len(S)                                   # balanced: W_i = U_i D U_(i-1)^T, U_i in Stiefel(d_i, k)
        return int(sum(k * d - k * (k + 1) // 2 for d in net.dims[1:-1]))
    n = net.n_params
    if net.h == 2 and len(S) == 0:                 # {W_2 = 0, W_1 = [0, M], M M^T = C_1}: a Stiefel manifold
        r = int(np.linalg.matrix_rank(mats[0], tol=1e-10 * max(1e-300, float(np.max(np.abs(mats[0]), initial=0)))))
        m = net.d_x - net.d_y
        return r * m - r * (r + 1) // 2
    if local.leaf_singular:
        return None
    if len(S) == net.d_y and not net.is_bottleneck:
        return n - net.d_x * net.d_y - _generic_law_rank(net)
    return None


# ----------------------------------------------------------------------- starts
def _diagonal_starts(net, channels, S, rng, limit):
    """Exact points of the diagonal reduction (55): channel j a chain minimum (j in S) or saddle (j not in S)."""
    from .leaves import _chain_points
    if channels is None or net.is_bottleneck:
        return []
    h, r = net.h, net.d_y
    per = []
    for j in range(r):
        tag = "minimum" if (j + 1) in S else "saddle"
        pts = [w for w, t, _ in _chain_points(h, channels[:, j], float(net.sigma[j]), tag)]
        if not pts:
            return []
        per.append(pts)
    out = []
    combos = itertools.product(*per)
    for combo in itertools.islice(combos, limit):
        xi = np.array(combo).T
        Ws = []
        for i in range(h):
            W = np.zeros(net.shapes[i])
            W[np.arange(r), np.arange(r)] = xi[i]
            Ws.append(W)
        out.append(net.pack(Ws))
    return out


def _leaf_symmetries(net, mats, rng, count):
    """Up to ``count`` elements (Q_1..Q_{h-1}) of the finite group of sign changes in the eigenbases of the C_i
    (they keep the leaf: Q_i C_i Q_i^T = C_i); the all-minus element first."""
    if net.h == 1 or count <= 0:
        return []
    bases = [np.linalg.eigh(m)[1] for m in mats]
    sizes = [b.shape[0] for b in bases]
    out = [[-np.eye(d) for d in sizes]]
    total = sum(sizes)
    seen = set()
    for _ in range(4 * count):
        if len(out) >= count:
            break
        signs = rng.choice([-1.0, 1.0], size=total)
        key = tuple(signs)
        if key in seen or np.all(signs == 1.0):
            continue
        seen.add(key)
        Qs, o = [], 0
        for b, d in zip(bases, sizes):
            Qs.append((b * signs[o:o + d]) @ b.T)
            o += d
        out.append(Qs)
    return out


def _apply_symmetry(net, x, Qs):
    Ws = net.unpack(x)
    h = net.h
    full = [None] + list(Qs) + [None]
    out = []
    for i in range(h):
        W = Ws[i]
        if full[i + 1] is not None:
            W = full[i + 1] @ W
        if full[i] is not None:
            W = W @ full[i].T
        out.append(W)
    return net.pack(out)


# ----------------------------------------------------------------------- components
def _same_component(prob, p, q, T_p, dim, *, max_steps=60, deadline=None):
    """Walk from p towards q inside E_S (tangent steps + projection); True when q is reached."""
    scale = max(1.0, float(np.linalg.norm(p)), float(np.linalg.norm(q)))
    if np.linalg.norm(p - q) <= 1e-7 * scale:
        return True
    if dim == 0:
        return False
    x, T = p.copy(), T_p
    hmax = 0.25 * scale
    best = float(np.linalg.norm(q - x))
    for _ in range(max_steps):
        if deadline is not None and time.perf_counter() > deadline:
            return False
        d = q - x
        nd = float(np.linalg.norm(d))
        if nd <= 1e-7 * scale:
            return True
        v = T @ (T.T @ d)
        nv = float(np.linalg.norm(v))
        if nv < 0.05 * nd:                       # q lies (nearly) normal to the set from here: no way on
            return False
        h = min(hmax, nv)
        y, _ = prob.solve_on_set(x + h * v / nv, max_iter=30)
        if y is None:
            hmax *= 0.5
            if hmax < 1e-4 * scale:
                return False
            continue
        ny = float(np.linalg.norm(q - y))
        if ny >= best - 1e-9 * scale:
            hmax *= 0.5
            if hmax < 1e-4 * scale:
                return False
            continue
        best = ny
        x, T = y, _tangent_of(prob, y, T)
    return False


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or int(v) < 1:
        raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    return int(v)


def _make_component(prob, x, local, mats):
    from .critical import classify
    net = prob.net
    cls = classify(net, x)
    w = local.normal_eigenvalues
    idx = int(np.sum(w > local.zero_tol))
    nh = local.dimension == local.kernel_dimension and local.verified
    notes = list(local.notes)
    exp = _expected_dimension(net, mats, prob.S, local)
    if exp is not None and exp != local.dimension:
        notes.append(f"the closed-form dimension {exp} does not apply here (measured {local.dimension}): the "
                     "constraints are not transversal at this point")
    return EquilibriumManifold(
        signature=prob.S, critical_value=_critical_value(net, prob.S), point=x, residual=prob.residual(x),
        leaf_error=prob.leaf_error(x), dimension=local.dimension, kernel_dimension=local.kernel_dimension,
        expected_dimension=exp, tangent_basis=local.tangent, normal_eigenvalues=w, index=idx,
        normally_hyperbolic=bool(nh), kind=cls.kind, strict=(cls.kind == "strict saddle"),
        leaf_singular=local.leaf_singular, zero_tol=local.zero_tol, notes=notes, _problem=prob, _members=[x])


def _critical_value(net, S):
    return 0.5 * float(sum(net.sigma[i] ** 2 for i in range(net.d_y) if i + 1 not in S))


# ----------------------------------------------------------------------- driver
def equilibrium_manifolds(net, C, *, signatures=None, n_starts=6, symmetries=16, seed=0, x0=None,
                          max_components=8, max_time=20.0, proofs=True, progress=None) -> LeafCriticalSets:
    """The equilibria on the leaf ``{x : C(x) = C}``, as manifolds, signature by signature.

    Parameters
    ----------
    net : Network
        Any architecture, without a mask, ``gamma = 0``.
    C : leaf constants
        Every form :func:`dlnsys.leaves.parse_leaf` accepts: the matrices ``C_i`` (e.g.
        ``dlnsys.leaf_of(net, x0)``), their upper-triangular entries (``net.conserved(x0)``),
        per-channel constants ``(h-1, d_y)``, chain constants; ``np.zeros(n_laws)`` is the
        0-balanced leaf.
    signatures : iterable of signatures, optional
        Default: all ``2^d_y``; only the global minima when ``d_y > 12`` or above 5,000 weights.
        Above 5,000 weights only the global minima are analysed, matrix-free (:mod:`dlnsys._leafscale`:
        Gauss-Newton with LSMR steps from ``x0``, the dimension certified by the rank of ``[K; DC]``,
        the most negative normal eigenvalues by Lanczos with the leaf projector applied by conjugate
        gradients; no tangent basis is formed).
    n_starts : int
        Random starts per signature (random critical points of signature S moved onto the leaf,
        and for the minima points of the leaf).
    symmetries : int
        Images of each found point under up to this many leaf symmetries (sign changes in the
        eigenbases of the ``C_i``) are added before grouping into components.
    seed : int or Generator
    x0 : array, optional
        A state on (or near) the leaf, e.g. the end of a simulation; used as an extra start.
    max_components : int
        At most this many components per signature are kept (the search says when it stopped).
    max_time : float
        Budget in seconds for the whole leaf (default 20). Three quarters go to the search and the
        analysis of a first component per signature (minima first, then an equal share each); the
        rest, and what the search left, to grouping the other points into components, which stops
        at the budget (``tried['not_grouped']`` counts the points left; the summary shows ``1+``).
        Signatures not reached are ``'not found'`` with the reason, and ``status`` is ``'budget'``.
    proofs : bool
        Use the absence proofs of :func:`absence_reason` (default). ``False`` searches every
        signature numerically (a check of the proofs: nothing is found where absence is proved).
    progress : callable, optional
        Called as ``progress(done, total)`` after each signature.

    Returns
    -------
    LeafCriticalSets

    Notes
    -----
    Components are found from points: two points belong to one component when a walk inside
    the set joins them (tangent steps towards the target, each projected back onto the set; for
    1-dimensional components the traced curve decides). The walk can fail between points of one
    strongly curved component, which then shows as two components; it never merges points of
    different components (every step is a point of the set). Components that no start reaches
    are missed: the default starts (exact diagonal points, the flow, random critical points,
    symmetry images) reach every component of the tests' small networks.

    Examples
    --------
    The mirror minima and the circle of saddles of ``Network([3, 1, 1])`` on the leaf ``C_1 = 0.8``:

    >>> import dlnsys
    >>> net = dlnsys.Network([3, 1, 1], [1.0])
    >>> res = dlnsys.equilibrium_manifolds(net, [0.8])
    >>> [(s.signature, s.status, len(s.components), s.dimension) for s in res]
    [((), 'found', 1, 1), ((1,), 'found', 2, 0)]
    >>> sad = res[()].components[0]
    >>> sad.index, sad.normally_hyperbolic, sad.kind
    (1, True, 'strict saddle')
    """
    from .critical import _require_plain, as_signature
    from .leaves import parse_leaf
    from ._progress import make_progress
    _require_plain(net, "equilibrium_manifolds")
    mats, channels = parse_leaf(net, C)
    n_starts = _positive_int(n_starts, "n_starts") if n_starts != 0 else 0
    if isinstance(symmetries, bool) or not isinstance(symmetries, (numbers.Integral, np.integer)) or symmetries < 0:
        raise ValueError(f"symmetries: expected a non-negative integer, got {symmetries!r}")
    max_components = _positive_int(max_components, "max_components")
    max_time = float(max_time)
    if not (max_time > 0 and math.isfinite(max_time)):
        raise ValueError(f"max_time: expected a positive number of seconds, got {max_time!r}")
    rng = as_seed_rng(seed)
    if x0 is not None:
        x0 = as_state(x0, net.n_params, "x0")
        if x0.ndim != 1:
            raise ValueError(f"x0: expected one state of shape ({net.n_params},), got {x0.shape}")
    if signatures is None:
        if net.d_y > 12 or net.n_params > DENSE_LIMIT:
            sigs = [tuple(range(1, min(net.d_y, net.d_min) + 1))]      # 2^d_y is too many / saddles not at scale
        else:
            sigs = [tuple(c) for r in range(net.d_y + 1) for c in itertools.combinations(range(1, net.d_y + 1), r)]
    else:
        if isinstance(signatures, (str, bytes)):
            raise ValueError(f"signatures: expected an iterable of signatures, got {signatures!r}")
        try:
            sigs = [as_signature(net, s, "signatures") for s in signatures]
        except TypeError:
            raise ValueError(f"signatures: expected an iterable of signatures, got {signatures!r}") from None
        if len(set(sigs)) != len(sigs):
            raise ValueError("signatures: repeated signature")
    if net.n_params > DENSE_LIMIT:
        return _large(net, mats, channels, sigs, x0, max_time)
    t_start = time.perf_counter()
    deadline = t_start + max_time
    bar = make_progress(progress, len(sigs), label="signatures", unit="")
    sets = []
    any_singular = False
    # phase 1: every signature gets an equal share of 60% of the budget for its search and first component
    phase1 = t_start + 0.6 * max_time
    pending = []
    full = tuple(range(1, min(net.d_y, net.d_min) + 1))
    order = sorted(range(len(sigs)), key=lambda i: sigs[i] != full)      # the global minima first
    by_index = {}
    for done, i in enumerate(order, 1):
        S = sigs[i]
        now = time.perf_counter()
        if now > deadline:
            by_index[i] = (SignatureSet(signature=S, critical_value=_critical_value(net, S), status=NOT_FOUND,
                                        components=[], reason=f"not searched: the time budget max_time = {max_time:g} "
                                        "s ran out", tried={}), [])
            continue
        left = len(sigs) - done + 1
        share = min(deadline, now + max((phase1 - now) / left, 0.25 * max_time / len(sigs),
                                        0.25 * (phase1 - now) if S == full else 0.0))
        by_index[i] = _search_signature(net, mats, channels, S, rng, n_starts, symmetries, x0, share, proofs)
        bar.update(done)
    for i in range(len(sigs)):
        sets.append(by_index[i][0])
        pending.append(by_index[i][1])
    bar.close()
    search_seconds = time.perf_counter() - t_start
    # phase 2: group the other points into components, round robin over the signatures, until the budget ends
    while any(pending) and time.perf_counter() <= deadline:
        for entry, rest in zip(sets, pending):
            if rest and time.perf_counter() <= deadline:
                now = time.perf_counter()
                left_sigs = sum(1 for r in pending if r)
                _group(entry, rest, max_components, now + (deadline - now) / max(left_sigs, 1))
    for entry, rest in zip(sets, pending):
        _finish(entry, len(rest), max_components)
        any_singular |= any(c.leaf_singular for c in entry.components)
    seconds = time.perf_counter() - t_start
    budget = any(s.status == NOT_FOUND and s.reason.startswith("not searched") for s in sets)
    missing = [s.signature for s in sets if s.status == NOT_FOUND]
    status = "budget" if budget else ("incomplete" if missing else "ok")
    message = "" if not missing else f"no point found (nor absence proved) for {len(missing)} signature(s)"
    return LeafCriticalSets(dims=net.dims, sigma=np.array(net.sigma), leaf=mats, leaf_singular=any_singular,
                            sets=sets, status=status, message=message, seconds=seconds,
                            search_seconds=search_seconds)


def _starts(net, mats, channels, prob, rng, n_starts, x0, tried, deadline):
    """Starting points for the Gauss-Newton solve on E_S, best first, drawn lazily (the caller stops at its deadline):
    exact diagonal points (55); x0; for saddles, points of E_S with the missing channels blocked at one hidden layer
    (:class:`_BlockedLeaf`, from points of the leaf); for minima, points of the leaf; then random critical points of
    signature S, perturbed, and their leaf homotopy (:func:`_leaf_homotopy`)."""
    from .critical import random_critical_point
    from . import init
    S = prob.S
    for x in _diagonal_starts(net, channels, S, rng, limit=4):
        yield "diagonal", x

    def leaf_points(count):
        if x0 is not None:
            yield x0
        for _ in range(count):
            try:
                yield init.on_leaf(net, mats, seed=rng)
            except ValueError:
                return

    if prob.minimum or net.h == 1:
        for i, x in enumerate(leaf_points(n_starts if net.h > 1 else 0)):
            yield ("flow" if i == 0 and x0 is not None else "leaf"), x
    else:
        pts = []
        noise = 0.1 * math.sqrt(prob.leaf_norm / max(1, net.n_params // net.h)) + 1e-8
        plateaus = _plateau_points(net, x0) if x0 is not None else {}
        # the flow from x0 stays on the leaf and lingers near saddles (Section 6.1): its closest approaches to
        # critical points of signature S first
        pts += plateaus.get(S, [])
        xm = _a_minimum(net, mats, channels, x0, rng, deadline)
        if xm is not None:
            # the channels not in S removed from a global minimum of the leaf (forward and backward), slightly
            # perturbed (the deflated point is a stationary point of ||G||)
            pts.append(_deflate(net, xm, S) + noise * rng.standard_normal(net.n_params))
        for S2 in sorted(plateaus, key=len):                  # plateaus of larger signatures, deflated to S
            if set(S) < set(S2):
                pts += [_deflate(net, y, S) + noise * rng.standard_normal(net.n_params) for y in plateaus[S2]]
        pts += list(leaf_points(max(1, n_starts // 2)))
        # middle and early layers first: on generic leaves of deep networks they block most often (the last
        # layers would need W_h to lose rank)
        layers = sorted(range(1, net.h), key=lambda k: (abs(k - (net.h - 1) / 2), k))
        for xl in pts:                                        # best starts first, each at every blocking layer
            for k in layers:
                if time.perf_counter() > deadline:
                    return
                tried["blocked_tries"] += 1
                y, ng, _ = _BlockedLeaf(net, mats, S, k).solve(xl, max_iter=60, deadline=deadline)
                if ng <= 1e-8 and np.all(np.isfinite(y)):          # the caller polishes it on E_S
                    yield "blocked", y
                    break
    scale = math.sqrt(1.0 + prob.leaf_norm) if net.h > 1 else 1.0
    for i in range(n_starts):
        # a random critical point of signature S (32)-(33), perturbed: the parametrization puts many of them at
        # places where the Jacobian of G_S vanishes (e.g. the origin), where Gauss-Newton cannot move
        cp = random_critical_point(net, S, rng, scale=float(rng.uniform(0.3, 1.5)) * min(scale, 3.0))
        if i % 2 == 1 and net.h > 1:
            tried["homotopy_tries"] += 1
            y, t_reached = _leaf_homotopy(net, mats, S, cp.x, deadline=deadline)
            tried["homotopy_t"].append(round(float(t_reached), 4))
            if y is not None:
                yield "homotopy", y
                continue
        noise = rng.standard_normal(net.n_params) * (0.3 * scale / math.sqrt(max(1, net.n_params / net.h)))
        yield "critical", cp.x + noise


def _deflate(net, x, S):
    """x with every channel i not in S removed: along the forward chain ``v_0 = e_i``, ``v_j ~ W_j v_(j-1)``,
    ``W_j -> W_j (I - v_(j-1) v_(j-1)^T)``, then along the backward chain from ``e_i^T``. From a global minimum this
    gives ``W_(1:h) = S Sigma`` with the channel blocked at every layer (up to the leaf constants)."""
    Ws = [W.copy() for W in net.unpack(x)]
    for i in range(1, net.d_y + 1):
        if i in S:
            continue
        v = np.zeros(net.d_x)
        v[i - 1] = 1.0
        for j in range(net.h):
            w = Ws[j] @ v
            Ws[j] -= np.outer(w, v)
            nw = np.linalg.norm(w)
            if nw == 0.0:
                break
            v = w / nw
        u = np.zeros(net.d_y)
        u[i - 1] = 1.0
        for j in range(net.h - 1, -1, -1):
            w = Ws[j].T @ u
            Ws[j] -= np.outer(u, w)
            nw = np.linalg.norm(w)
            if nw == 0.0:
                break
            u = w / nw
    return net.pack(Ws)


_PLATEAU_CACHE = {}


def _plateau_points(net, x0):
    """States of the trajectory from x0 at its closest approaches to critical points, by signature (a dict)."""
    key = (net.dims, tuple(float(v) for v in net.sigma), x0.tobytes())
    if key not in _PLATEAU_CACHE:
        from .simulate import simulate
        from .separatrices import itinerary
        pts = {}
        try:
            traj = simulate(net, x0, 1e4, until_loss=1e-10 * float(np.sum(np.asarray(net.sigma) ** 2)))
            for p in itinerary(net, traj).plateaus:
                k = int(np.argmin(np.abs(traj.t - p.t_closest)))
                pts.setdefault(tuple(p.signature), []).append(np.array(traj.x[k]))
        except (ValueError, RuntimeError, np.linalg.LinAlgError):
            pass
        if len(_PLATEAU_CACHE) > 8:
            _PLATEAU_CACHE.clear()
        _PLATEAU_CACHE[key] = pts
    return _PLATEAU_CACHE[key]


_MINIMUM_CACHE = {}


def _a_minimum(net, mats, channels, x0, rng, deadline):
    """One global minimum on the leaf (cached per network and leaf), or None."""
    key = (net.dims, tuple(float(v) for v in net.sigma), _leaf_vector(mats).tobytes())
    if key in _MINIMUM_CACHE:
        return _MINIMUM_CACHE[key]
    if net.is_bottleneck:
        return None
    prob = _Leaf(net, mats, tuple(range(1, net.d_y + 1)))
    cands = list(_diagonal_starts(net, channels if channels is not None else np.zeros((net.h - 1, net.d_y)),
                                  prob.S, rng, limit=1))
    if x0 is not None:
        cands.append(x0)
    out = None
    for x in cands:
        y, _ = prob.solve_on_set(x, max_iter=80, deadline=deadline)
        if y is not None:
            out = y
            break
    if len(_MINIMUM_CACHE) > 32:
        _MINIMUM_CACHE.clear()
    _MINIMUM_CACHE[key] = out
    return out


def _search_signature(net, mats, channels, S, rng, n_starts, symmetries, x0, deadline, proofs=True):
    """Phase 1 for one signature: absence proof, or search, and the analysis of the first component.

    Returns the :class:`SignatureSet` and the other points found (to be grouped in phase 2)."""
    value = _critical_value(net, S)
    reason = _absence(net, mats, S) if proofs else None
    if reason is not None:
        return SignatureSet(signature=S, critical_value=value, status=ABSENT, components=[], reason=reason,
                            tried={}), []
    prob = _Leaf(net, mats, S)
    tried = {"diagonal": 0, "flow": 0, "leaf": 0, "plateau": 0, "blocked": 0, "blocked_tries": 0, "critical": 0, "homotopy": 0,
             "homotopy_tries": 0, "homotopy_t": [], "converged": 0, "best_residual": float("inf")}
    points = []
    n_tried = 0
    for kind, x in _starts(net, mats, channels, prob, rng, n_starts, x0, tried, deadline):
        if time.perf_counter() > deadline:
            break
        n_tried += 1
        tried[kind] += 1
        if kind == "diagonal" and prob.on_set(x):          # exact already
            y, ng = x, 0.0
        else:
            y, ng = prob.solve_on_set(x, max_iter=80, deadline=deadline)
        tried["best_residual"] = min(tried["best_residual"], ng)
        if y is not None:
            tried["converged"] += 1
            points.append(y)
    tried["starts"] = n_tried
    if not points:
        return SignatureSet(signature=S, critical_value=value, status=NOT_FOUND, components=[],
                            reason=(f"Gauss-Newton on f = 0, W_(1:h) = S Sigma, C(x) = C from {n_tried} starts "
                                    f"did not reach the set (best ||G_S|| = {tried['best_residual']:.3g}); absence "
                                    "is not proved"), tried=tried), []
    # symmetric images (they keep the leaf and the product, so they are exact points of E_S)
    images = []
    for Qs in _leaf_symmetries(net, mats, rng, symmetries):
        for p in points[:2]:
            y = _apply_symmetry(net, p, Qs)
            if prob.on_set(y):
                images.append(y)
    tried["symmetry_images"] = len(images)
    first = _make_component(prob, points[0], _local_structure(prob, points[0]), mats)
    entry = SignatureSet(signature=S, critical_value=value, status=FOUND, components=[first], reason="", tried=tried)
    return entry, points[1:] + images


def _group(entry, pending, max_components, deadline):
    """Phase 2 for one signature: place the pending points into components; returns the points left.

    Two points are joined when a path inside E_S is known between them (a walk, the traced curve of a
    1-dimensional component, the orbit argument on the 0-balanced leaf). Each new point is tested against
    every component found so far, and a point joined to two of them merges them: the components are the
    connected components of the graph whose edges are the joins (union-find)."""
    comps = entry.components
    prob = comps[0]._problem
    while pending and time.perf_counter() <= deadline:
        p = pending.pop(0)
        scale = max(1.0, float(np.linalg.norm(p)))
        if any(np.linalg.norm(p - q) <= 1e-7 * scale for c in comps for q in c._members):
            continue                                         # a duplicate
        joined = [c for c in comps if _belongs(prob, c, p, deadline)]
        if not joined and time.perf_counter() > deadline:
            pending.insert(0, p)
            break
        if joined:
            keep = joined[0]
            keep._members.append(p)
            keep.n_points += 1
            for c in joined[1:]:                             # p links two components: they are one
                keep._members += c._members
                keep.n_points += c.n_points
            comps[:] = [c for c in comps if not any(c is j for j in joined[1:])]
            continue
        if len(comps) >= max_components:
            entry.tried["over_max_components"] = entry.tried.get("over_max_components", 0) + 1
            continue
        comps.append(_make_component(prob, p, _local_structure(prob, p, deadline=deadline), prob.mats))
    return pending


def _finish(entry, left, max_components):
    t = entry.tried
    comps = entry.components
    if entry.status != FOUND:
        return
    if len(comps) > 1 and max(c.dimension for c in comps) >= 2:
        for c in comps:
            c.notes.append(f"one of {len(comps)} components: no walk inside the set joined their points (a walk can "
                           "fail on a strongly curved component, so some of them may be one)")
    entry.reason = (f"{t['converged']} of {t['starts']} starts reached the set"
                    + (f"; {t['symmetry_images']} symmetry images" if t.get("symmetry_images") else "")
                    + (f"; more than max_components = {max_components} components" if t.get("over_max_components")
                       else "")
                    + (f"; {left} points not grouped (time budget): there may be more components" if left else ""))
    t["not_grouped"] = left


def _belongs(prob, comp, p, deadline):
    scale = max(1.0, float(np.linalg.norm(p)))
    if any(np.linalg.norm(p - q) <= 1e-7 * scale for q in comp._members):
        return True
    net = prob.net
    if all(not np.any(m) for m in prob.mats) and len(prob.S) < min(net.dims[1:-1], default=0):
        # 0-balanced leaf: E_S is {W_i = U_i D U_(i-1)^T, U_i in Stiefel(d_i, k)}, one orbit of the connected
        # product of Stiefel manifolds (k < d_i): a single component
        return True
    if comp.dimension == 0:
        return False
    if comp.dimension == 1:
        curve = getattr(comp, "_curve", None)
        if curve is None:
            curve = comp.trace(max_time=max(1.0, min(20.0, deadline - time.perf_counter())))
            object.__setattr__(comp, "_curve", curve)
        if curve.status == "ok" and curve.closed:
            # a point of the traced curve lies within ~ seg^2 * curvature of a chord; another curve of the same
            # leaf can pass much closer than a step
            return _near_polyline(p, curve.points, max(1e-8 * scale, 0.05 * _max_seg(curve.points)))
    # walk from the new point to the component's point, then the other way
    T_p = _tangent_of(prob, p, comp.tangent_basis)
    return (_same_component(prob, p, comp.point, T_p, comp.dimension, deadline=deadline)
            or _same_component(prob, comp.point, p, comp.tangent_basis, comp.dimension, deadline=deadline))


def _max_seg(P):
    return float(np.max(np.linalg.norm(np.diff(P, axis=0), axis=1))) if len(P) > 1 else 0.0


def _near_polyline(p, P, tol):
    """Distance from p to the segments of the polyline P is at most tol."""
    a, b = P[:-1], P[1:]
    d = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-300), 0.0, 1.0)
    return bool(np.min(np.linalg.norm(a + t[:, None] * d - p, axis=1)) <= tol)


def manifold_at(net, C, x) -> EquilibriumManifold:
    """The local analysis of :func:`equilibrium_manifolds` at one equilibrium x on the leaf C.

    ``x`` must meet the residual bounds (``||f|| <= 1e-10 ||Sigma||_F`` and
    ``||C(x) - C||_F <= 1e-10 (1 + ||C||_F)``) and have a signature; polish it first otherwise.
    """
    from .critical import _require_plain, read_signature
    from .leaves import parse_leaf
    _require_plain(net, "manifold_at")
    mats, _ = parse_leaf(net, C)
    x = as_state(x, net.n_params, "x").astype(float)
    S = read_signature(net, x, tol=1e-6)
    if S is None:
        raise ValueError("x: W_(1:h) is not of the form S Sigma; not an equilibrium (Prop. 14.3a)")
    prob = _Leaf(net, mats, S)
    if not prob.on_set(x):
        raise ValueError(f"x: not an equilibrium on the leaf within the bounds (||f|| = {prob.residual(x):.3g}, "
                         f"||C(x) - C|| = {prob.leaf_error(x):.3g})")
    return _make_component(prob, x, _local_structure(prob, x), mats)


def _large(net, mats, channels, sigs, x0, max_time):
    """Above DENSE_LIMIT weights: the global minima only, matrix-free (:mod:`dlnsys._leafscale`).

    The point comes from Gauss-Newton (LSMR steps) on ``W_(1:h) = Sigma, C(x) = C`` from ``x0`` (a state
    near a global minimum of the leaf, e.g. the end of a simulation, or a constructed minimum) or, on a
    diagonal leaf, from the exact point of the reduction (55). The dimension is certified through the
    rank of ``[K; DC]`` (the set is then a manifold by the regular value theorem, so it is normally
    hyperbolic), the index is 0 (``J = -K^T K``) and the most negative normal eigenvalues come from Lanczos on
    ``K P K^T``, P the leaf projector applied by conjugate gradients."""
    from . import _leafscale
    t_start = time.perf_counter()
    full = tuple(range(1, net.d_y + 1))
    sets = []
    for S in sigs:
        value = _critical_value(net, S)
        reason = _absence(net, mats, S)
        if reason is not None:
            sets.append(SignatureSet(signature=S, critical_value=value, status=ABSENT, components=[], reason=reason,
                                     tried={}))
            continue
        if S != full or net.is_bottleneck:
            sets.append(SignatureSet(signature=S, critical_value=value, status=NOT_FOUND, components=[],
                                     reason=f"not searched: above {DENSE_LIMIT} weights only the global minima are "
                                            "analysed (matrix-free)", tried={}))
            continue
        starts = ([x0] if x0 is not None else []) + _diagonal_starts(net, channels, S, None, limit=1)
        if not starts:
            sets.append(SignatureSet(signature=S, critical_value=value, status=NOT_FOUND, components=[],
                                     reason=f"above {DENSE_LIMIT} weights the search needs a start: pass x0 (a state "
                                            "near a global minimum of this leaf) or a diagonal leaf", tried={}))
            continue
        pol = None
        for x in starts:
            budget = max(1.0, max_time - (time.perf_counter() - t_start))
            pol = _leafscale.polish_minimum(net, mats, x, max_time=budget / 2)
            if pol.status == "ok":
                break
        tried = {"starts": len(starts), "polish": pol.status, "polish_iterations": pol.iterations}
        if pol.status != "ok":
            sets.append(SignatureSet(signature=S, critical_value=value, status=NOT_FOUND, components=[],
                                     reason=f"matrix-free Gauss-Newton from the start did not reach the set: {pol.message}",
                                     tried=tried))
            continue
        an = _leafscale.minimum_analysis(net, pol.x, max_time=max(1.0, max_time - (time.perf_counter() - t_start)))
        tried.update(seconds=an.seconds, smallest_gram_eigenvalue=an.smallest_gram_eigenvalue,
                     largest_gram_eigenvalue=an.largest_gram_eigenvalue)
        notes = [f"matrix-free analysis ({net.n_params} weights): the tangent basis ({net.n_params} x dimension numbers) "
                 "is not formed; normal_eigenvalues holds the most negative ones only"]
        if not an.certified:
            notes.append(an.message)
        n_laws = net.n_conservation_laws
        comp = EquilibriumManifold(
            signature=S, critical_value=value, point=pol.x, residual=pol.residual, leaf_error=pol.leaf_error,
            dimension=an.dimension if an.certified else -1, kernel_dimension=an.dimension if an.certified else -1,
            expected_dimension=net.n_params - net.d_x * net.d_y - n_laws, tangent_basis=None,
            normal_eigenvalues=np.sort(an.normal_eigenvalues), index=0, normally_hyperbolic=an.certified,
            kind="global minimum", strict=False, leaf_singular=not an.certified, zero_tol=0.0, notes=notes)
        sets.append(SignatureSet(signature=S, critical_value=value, status=FOUND, components=[comp],
                                 reason="matrix-free Gauss-Newton from the start; dimension certified by the rank of "
                                        "[K; DC]" if an.certified else "found; dimension not certified", tried=tried))
    missing = [s for s in sets if s.status == NOT_FOUND]
    return LeafCriticalSets(dims=net.dims, sigma=np.array(net.sigma), leaf=mats, leaf_singular=False, sets=sets,
                            status="ok" if not missing else "incomplete",
                            message="" if not missing else f"{len(missing)} signature(s) not searched or not found",
                            seconds=time.perf_counter() - t_start, search_seconds=time.perf_counter() - t_start)
