"""Equilibria on conservation-law leaves (see "Why leaves matter" in DESIGN.md).

No critical point of the flow (9) is isolated (Prop. 3); restricted to a leaf
``{x : C(x) = C}`` of the conservation laws of Prop. 6 the equilibria become, generically,
isolated and hyperbolic. This module finds them:

* **scalar chains** (every width 1, any depth h), exactly. With ``c_i = w_i^2 - w_{i+1}^2``
  and ``u = w_h^2`` the leaf is ``w_i^2 = u + s_i`` with ``s_i = sum_{k >= i} c_k``
  (``s_h = 0``), admissible for ``u >= u_min = max(0, max_i -s_i)``. The global minima solve
  ``prod_i (u + s_i) = sigma^2``, a polynomial increasing on ``[u_min, inf)`` that vanishes
  at ``u_min``: one root, found by Brent's method and a Newton polish to rounding, then
  every sign pattern with a positive product of signs (``2^(h-1)`` points; for (62) these
  are (64) and its mirror). The saddles (Prop. 33: at least two zero weights) can only
  sit at ``u = u_min``, and exist when at least two of the ``u_min + s_i`` vanish; every
  sign choice of the nonzero weights gives one. The origin is on the leaf iff all
  ``c_i = 0``.
* **the diagonal reduction (55)**, exactly, channel by channel (each channel j is a scalar
  chain with ``sigma_j`` and constants ``c_{., j}``); the points are lifted to block-shift
  diagonal weights of the full network.
* **any network**, numerically: Newton's method on the bordered system
  ``f(x) + sum_k mu_k grad pi_k(x) = 0, pi(x) = C`` over an independent subset of the laws
  (rows of the laws' differential picked by a rank-revealing QR at the start point). The
  multipliers ``mu`` vanish at solutions (``f`` is orthogonal to every ``grad pi_k``); the
  dimension of the set of equilibria on the leaf through the solution is estimated by the
  nullity of the leaf-restricted Hessian.

Every equilibrium comes with its signature (learned singular values, Section 4.2), kind
(global minimum / strict saddle / non-strict saddle, from the full Hessian as in
Prop. 18), sign pattern (chains and diagonal points), loss against (31) and the spectrum of
the Jacobian restricted to the tangent space of the leaf.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
import numbers

import numpy as np

from ._json import jsonable

from . import flow, invariants
from ._validate import as_finite_array, as_state

__all__ = [
    "LeafEquilibrium", "LeafEquilibria", "equilibria_on_leaf", "leaf_of", "project_to_leaf",
    "bordered_newton", "parse_leaf", "signature_of", "critical_value",
    "KIND_MINIMUM", "KIND_STRICT", "KIND_NONSTRICT",
]

KIND_MINIMUM = "global minimum"
KIND_STRICT = "strict saddle"
KIND_NONSTRICT = "non-strict saddle"
_KIND_ALIASES = {
    None: None, "all": None, "any": None,
    "minimum": "minimum", "min": "minimum", "global minimum": "minimum", "global_minimum": "minimum",
    "saddle": "saddle", "saddles": "saddle",
    "strict": KIND_STRICT, "strict saddle": KIND_STRICT, "strict_saddle": KIND_STRICT,
    "non-strict": KIND_NONSTRICT, "nonstrict": KIND_NONSTRICT, "non-strict saddle": KIND_NONSTRICT,
    "non_strict_saddle": KIND_NONSTRICT, "nonstrict_saddle": KIND_NONSTRICT,
}
_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------- JSON helpers
_jsonable = jsonable


class _ResultMixin:
    """``to_dict()`` (JSON-ready) and ``to_json()`` for the dataclass results of this package part."""

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.name.startswith("_")}

    def to_json(self, path=None, **kw) -> str:
        """The JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        kw.setdefault("indent", 2)
        text = json.dumps(self.to_dict(), **kw)
        if path is not None:
            from ._io import write_text_atomic
            write_text_atomic(path, text + "\n")     # never a half-written file on Ctrl-C
        return text


def _fmt_sig(sig) -> str:
    return "{" + ",".join(str(s) for s in sig) + "}"


# ----------------------------------------------------------------------- results
@dataclasses.dataclass
class LeafEquilibrium(_ResultMixin):
    """One equilibrium on a leaf.

    Attributes
    ----------
    state : ndarray (n_params,)
        The point x (full network state; diagonal points are lifted to diagonal weights).
    signature : tuple of int
        1-based indices of the learned singular values (``W_{1:h} = S Sigma``, Section 4.2).
    kind : str
        ``"global minimum"``, ``"strict saddle"`` (the full Hessian has a negative
        eigenvalue) or ``"non-strict saddle"``.
    sign_pattern : tuple or None
        Chains: the sign (+1, -1, 0) of each weight. Diagonal reduction: one tuple per channel
        (signs of ``xi_{1,j}, ..., xi_{h,j}``). None otherwise.
    loss, critical_value : float
        The loss at x and the value (31) of its signature (equal at an equilibrium).
    leaf_eigenvalues : ndarray
        Eigenvalues of ``B^T J B`` (J the Jacobian, B an orthonormal basis of the tangent space
        of the leaf at x, the null space of the laws' differential), ascending.
    leaf_dimension : int
        Dimension of that tangent space.
    hyperbolic : bool
        No leaf eigenvalue within ``zero_tol`` of 0.
    zero_tol : float
        Threshold used for ``hyperbolic`` and ``leaf_nullity`` (``1e-8`` times the larger of the
        largest ``|eigenvalue|`` and ``sigma_1^(2 - 2/h)``, as in :mod:`dlnsys.spectra`).
    leaf_nullity : int
        Number of zero leaf eigenvalues.
    dimension : int
        Dimension of the set of equilibria on the leaf through x: 0 for the exact chain and
        diagonal-reduction answers (they are isolated within their system); for bordered
        Newton the nullity of the leaf-restricted Hessian (exact when the equilibrium set is
        a manifold there, an upper bound otherwise).
    n_unstable : int
        Number of positive leaf eigenvalues.
    multipliers : ndarray or None
        Bordered Newton: the final ``mu`` (vanish at a solution).
    residual : float
        ``||f(x)||``.
    leaf_residual : float
        ``max |C(x) - C|`` over every law (also the ones left out of the bordered system).
    method : str
        ``"exact-chain"``, ``"exact-diagonal"`` or ``"bordered-newton"``.
    converged : bool
    iterations : int
    laws : list of int or None
        Bordered Newton: positions (in :func:`dlnsys.invariants.conserved_vector` order) of the
        laws used.
    reduced_eigenvalues : ndarray or None
        Diagonal reduction: the spectrum of (55) restricted to its own leaf (channel blocks).
    notes : list of str
    """

    state: np.ndarray
    signature: tuple
    kind: str
    sign_pattern: tuple | None
    loss: float
    critical_value: float
    leaf_eigenvalues: np.ndarray
    leaf_dimension: int
    hyperbolic: bool
    zero_tol: float
    leaf_nullity: int
    dimension: int
    n_unstable: int
    multipliers: np.ndarray | None = None
    residual: float = 0.0
    leaf_residual: float = 0.0
    method: str = ""
    converged: bool = True
    iterations: int = 0
    laws: list | None = None
    reduced_eigenvalues: np.ndarray | None = None
    notes: list = dataclasses.field(default_factory=list)

    @property
    def is_minimum(self) -> bool:
        return self.kind == KIND_MINIMUM

    @property
    def is_saddle(self) -> bool:
        return self.kind != KIND_MINIMUM

    def label(self) -> str:
        """Short class label: signature and sign pattern, e.g. ``"{1} (+,+)"``."""
        s = _fmt_sig(self.signature)
        if self.sign_pattern is None:
            return s
        return s + " " + _fmt_signs(self.sign_pattern)

    def __repr__(self):
        x = np.array2string(np.asarray(self.state), precision=6, separator=", ", threshold=8)
        return (f"LeafEquilibrium({self.kind}, signature={_fmt_sig(self.signature)}, state={x}, "
                f"leaf_eigenvalues={np.array2string(np.asarray(self.leaf_eigenvalues), precision=4)}, "
                f"dimension={self.dimension})")


def _fmt_signs(pattern) -> str:
    ch = {1: "+", -1: "-", 0: "0"}
    if pattern and isinstance(pattern[0], tuple):
        return " ".join("(" + ",".join(ch[int(v)] for v in p) + ")" for p in pattern)
    return "(" + ",".join(ch[int(v)] for v in pattern) + ")"


@dataclasses.dataclass
class LeafEquilibria(_ResultMixin):
    """The equilibria found on one leaf.

    Attributes
    ----------
    dims, sigma : the network
    leaf : list of ndarray
        The leaf constants ``[C_1, ..., C_{h-1}]``.
    kind : str or None
        The requested kind (None: all).
    method : str
        ``"exact-chain"``, ``"exact-diagonal"`` or ``"bordered-newton"``.
    status : str
        ``"ok"``; ``"empty"`` (the leaf holds no equilibrium of the requested kind; ``message``
        says why); ``"failed"`` (Newton did not converge); ``"truncated"`` (more than
        ``max_points`` equilibria; the first ones are returned); ``"manifold"`` (the equilibria
        are not isolated on this leaf: ``equilibria`` holds one point per component and
        ``manifolds`` the :class:`dlnsys.LeafCriticalSets` of :func:`dlnsys.equilibrium_manifolds`,
        when the call had no ``x0``).
    message : str
    equilibria : list of LeafEquilibrium
    manifolds : LeafCriticalSets or None
    """

    dims: tuple
    sigma: np.ndarray
    leaf: list
    kind: str | None
    method: str
    status: str
    message: str
    equilibria: list = dataclasses.field(default_factory=list)
    manifolds: object = None

    def __len__(self):
        return len(self.equilibria)

    def __iter__(self):
        return iter(self.equilibria)

    def __getitem__(self, i):
        return self.equilibria[i]

    @property
    def states(self) -> np.ndarray:
        n = sum(a * b for a, b in zip(self.dims[1:], self.dims[:-1]))
        if not self.equilibria:
            return np.zeros((0, n))
        return np.array([e.state for e in self.equilibria])

    def minima(self):
        return [e for e in self.equilibria if e.kind == KIND_MINIMUM]

    def saddles(self):
        return [e for e in self.equilibria if e.kind != KIND_MINIMUM]

    def summary(self) -> str:
        """A human-readable table (used by ``dlnsys equilibria``)."""
        lines = [f"leaf equilibria ({self.method}): status {self.status}"
                 + (f" - {self.message}" if self.message else "")]
        for k, e in enumerate(self.equilibria):
            x = np.array2string(np.asarray(e.state), precision=8, separator=", ", threshold=12,
                                suppress_small=False, max_line_width=10**6)
            ev = np.array2string(np.asarray(e.leaf_eigenvalues), precision=6, separator=", ",
                                 threshold=8, max_line_width=10**6)
            lines.append(f"  [{k}] {e.kind:17s} signature {_fmt_sig(e.signature):10s} "
                         + (f"signs {_fmt_signs(e.sign_pattern)}  " if e.sign_pattern is not None else "")
                         + f"x = {x}")
            if e.dimension and self.manifolds is not None:
                # a point of a manifold: its zero eigenvalues are tangent, not a failure of hyperbolicity
                verdict = next((f"a point of a component of dimension {c.dimension}, index {c.index}, "
                                f"{'normally hyperbolic' if c.normally_hyperbolic else 'not normally hyperbolic'}"
                                for c in self.manifolds.components if c.point is e.state
                                or np.array_equal(c.point, e.state)), f"dimension {e.dimension}")
                lines.append(f"       leaf eigenvalues {ev} ({verdict}), loss {e.loss:.12g} "
                             f"(31: {e.critical_value:.12g})")
                continue
            lines.append(f"       leaf eigenvalues {ev} ({'hyperbolic' if e.hyperbolic else 'not hyperbolic'}"
                         f" on the leaf), loss {e.loss:.12g} (31: {e.critical_value:.12g})"
                         + (f", dimension {e.dimension}" if e.dimension else ""))
        return "\n".join(lines)


# ----------------------------------------------------------------------- leaf parsing
def _check_net(net):
    if net.mask is not None:
        raise ValueError("net: the conservation laws of Prop. 6 do not hold for a network with fixed "
                         "entries (mask); leaves are only defined without a mask")


def parse_leaf(net, C, name="C"):
    """Normalize leaf constants to ``(matrices, channels)``.

    Accepted forms of ``C``:

    * ``h-1`` symmetric matrices ``C_i`` of shape ``(d_i, d_i)`` (a list, or a 3-D array when
      all hidden widths agree; for h = 2 also the single matrix ``C_1``);
    * the vector of the upper-triangular entries of every ``C_i``
      (:func:`dlnsys.invariants.conserved_vector` order, ``n_conservation_laws`` numbers);
    * per-channel constants of the diagonal reduction (55), shape ``(h-1, d_y)``,
      ``c_{i,j} = xi_{i,j}^2 - xi_{i+1,j}^2``;
    * for a scalar chain, ``h-1`` numbers ``c_i = w_i^2 - w_{i+1}^2`` (a number when h = 2).

    Returns the list of matrices and, when every ``C_i`` is diagonal and zero beyond channel
    ``d_y``, the ``(h-1, d_y)`` per-channel constants (else None). Raises ``ValueError`` naming
    ``name`` for any other shape, non-finite or non-symmetric input.
    """
    h, dims = net.h, net.dims
    hid = dims[1:-1]
    if h == 1:
        if C is None or np.size(C) == 0:
            return [], np.zeros((0, min(dims[-1], dims[0])))
        raise ValueError(f"{name}: a network with one layer has no conservation laws; leave {name} empty")
    if C is None:
        raise ValueError(f"{name}: leaf constants are required")
    if all(d == 1 for d in dims):
        want = f"{h - 1} number{'s' if h > 2 else ''} c_i = w_i^2 - w_(i+1)^2 (scalar chain)"
    else:
        want = (f"{h - 1} symmetric matri{'ces' if h > 2 else 'x'} of shape{'s' if h > 2 else ''} "
                f"{', '.join(f'({d}, {d})' for d in hid)}, the {net.n_conservation_laws} upper-triangular entries "
                f"of the C_i, or per-channel constants of shape ({h - 1}, {net.d_y})")
    mats = None
    if isinstance(C, (list, tuple)) and len(C) == h - 1 and all(np.ndim(c) == 2 for c in C):
        mats = [as_finite_array(c, f"{name}[{i}]") for i, c in enumerate(C)]
    else:
        arr = as_finite_array(C, name)
        if arr.ndim == 3 and arr.shape[0] == h - 1:
            mats = list(arr)
        elif arr.ndim == 2 and h == 2 and arr.shape == (hid[0], hid[0]) and arr.shape != (1, net.d_y):
            mats = [arr]
        elif arr.ndim == 2 and arr.shape == (h - 1, net.d_y):
            mats = []
            for i in range(h - 1):
                m = np.zeros((hid[i], hid[i]))
                k = min(net.d_y, hid[i])
                if np.any(arr[i, k:] != 0):
                    raise ValueError(f"{name}: channel constants beyond the width {hid[i]} of hidden layer {i + 1}")
                m[np.arange(k), np.arange(k)] = arr[i, :k]
                mats.append(m)
        elif arr.ndim <= 1 and arr.size != net.n_conservation_laws and arr.size == (h - 1) * net.d_y:
            return parse_leaf(net, arr.reshape(h - 1, net.d_y), name)
        elif arr.ndim <= 1 and arr.size == net.n_conservation_laws:
            vec = arr.reshape(-1)
            mats, o = [], 0
            for d in hid:
                m = np.zeros((d, d))
                iu = np.triu_indices(d)
                k = len(iu[0])
                m[iu] = vec[o:o + k]
                m = m + np.triu(m, 1).T
                mats.append(m)
                o += k
        else:
            raise ValueError(f"{name}: expected {want}; got shape {arr.shape}")
    for i, (m, d) in enumerate(zip(mats, hid)):
        if m.shape != (d, d):
            raise ValueError(f"{name}[{i}]: C_{i + 1} must have shape ({d}, {d}), got {m.shape}")
        scale = max(float(np.max(np.abs(m), initial=0.0)), 1e-300)
        asym = float(np.max(np.abs(m - m.T), initial=0.0))
        if asym > 1e-12 * scale:
            raise ValueError(f"{name}[{i}]: C_{i + 1} must be symmetric (C_i = W_i W_i^T - W_(i+1)^T W_(i+1)); "
                             f"max |C - C^T| = {asym:.3g}")
        mats[i] = 0.5 * (m + m.T)
    r = min(net.d_y, min(hid))
    channels = np.zeros((h - 1, net.d_y))
    for i, m in enumerate(mats):
        off = m - np.diag(np.diag(m))
        if np.any(off != 0.0) or np.any(np.diag(m)[r:] != 0.0):
            channels = None
            break
        channels[i, :r] = np.diag(m)[:r]
    return mats, channels


def _leaf_vector(net, mats):
    if not mats:
        return np.zeros(0)
    return np.concatenate([m[np.triu_indices(m.shape[0])] for m in mats])


def _leaf_empty_reason(net, mats):
    """Why the leaf is empty (None if the rank test of :func:`invariants.empty_leaf_reason` passes)."""
    found = invariants.empty_leaf_reason(net, mats)
    return None if found is None else found[1]


def leaf_of(net, x):
    """The leaf through x: ``[C_1, ..., C_{h-1}]`` with ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (Prop. 6).

    The result is accepted as ``C`` by every function of this module.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> [float(C[0, 0]) for C in leaf_of(net, np.array([2.0, 1.0]))]
    [3.0]
    """
    x = net._single(x)
    return [np.array(C, dtype=float) for C in invariants.conserved(net, x)]


def _select_laws(D, tol=None):
    """Rows of D forming an independent set (QR with column pivoting of D^T), sorted, and the rank."""
    import scipy.linalg

    if D.shape[0] == 0:
        return np.zeros(0, dtype=int), 0
    _, R, piv = scipy.linalg.qr(D.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    if diag.size == 0 or diag[0] == 0.0:
        return np.zeros(0, dtype=int), 0
    tol = diag[0] * max(D.shape) * _EPS * 100 if tol is None else tol
    rank = int(np.sum(diag > tol))
    return np.sort(piv[:rank]), rank


def project_to_leaf(net, x, C, *, tol=1e-13, max_iter=100, orthogonal=True):
    """The point of the leaf ``{C(y) = C}`` nearest to x.

    Gauss-Newton with minimum-norm steps (``lstsq`` on the laws' differential, so dependent
    laws are harmless) reaches the leaf; with ``orthogonal=True`` Newton's method on the
    Lagrange conditions of ``min |y - x|`` on the leaf (``y - x + D_S(y)^T lam = 0``,
    ``pi_S(y) = c_S``) then makes ``x - y`` normal to the leaf: a nearest point (a local one,
    when x is far from the leaf).

    Raises ``ValueError`` when the leaf is provably empty (rank test on the ``C_i``) or when
    the iteration does not reach it.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> y = project_to_leaf(net, np.array([1.0, 0.2]), [0.0])     # onto w1^2 = w2^2
    >>> np.round(y, 12).tolist()
    [0.6, 0.6]
    """
    _check_net(net)
    x = net._single(x).astype(float)
    mats, _ = parse_leaf(net, C)
    if net.h == 1:
        return x.copy()
    reason = _leaf_empty_reason(net, mats)
    if reason:
        raise ValueError(f"C: {reason}")
    target = _leaf_vector(net, mats)
    y = _gauss_newton_leaf(net, x, target, tol, max_iter)
    if orthogonal:
        y = _nearest_on_leaf(net, x, y, target, max_iter)
    return y


def _nearest_on_leaf(net, x, y, target, max_iter):
    """Newton on the Lagrange system of min |y - x|^2 / 2 s.t. pi_S(y) = c_S (S independent laws):
    ``(y - x) + D_S(y)^T lam = 0``, ``pi_S(y) = c_S``, from the Gauss-Newton point y. Falls back to y
    if the iteration does not improve on it."""
    D = invariants.conservation_differential(net, y)
    sel, _ = _select_laws(D)
    if len(sel) == 0:
        return y
    n, m = net.n_params, len(sel)
    tsel = target[sel]

    def F(y, lam):
        D = invariants.conservation_differential(net, y)[sel]
        return np.concatenate([(y - x) + D.T @ lam, invariants.conserved_vector(net, y)[sel] - tsel]), D

    lam = np.linalg.lstsq(D[sel].T, -(y - x), rcond=None)[0]
    r, Ds = F(y, lam)
    nr = np.linalg.norm(r)
    y0 = y
    scale = max(1.0, float(np.linalg.norm(x)))
    for _ in range(max_iter):
        if nr <= 1e-14 * scale:
            break
        A = np.zeros((n + m, n + m))
        A[:n, :n] = np.eye(n) + _law_curvature(net, sel, lam)
        A[:n, n:] = Ds.T
        A[n:, :n] = Ds
        step = np.linalg.lstsq(A, -r, rcond=None)[0]
        t = 1.0
        while t >= 1e-8:
            yn, ln = y + t * step[:n], lam + t * step[n:]
            rn, Dn = F(yn, ln)
            if np.linalg.norm(rn) < (1 - 1e-4 * t) * nr:
                break
            t *= 0.5
        else:
            break
        y, lam, r, Ds, nr = yn, ln, rn, Dn, float(np.linalg.norm(rn))
    res_leaf = np.max(np.abs(invariants.conserved_vector(net, y) - target), initial=0.0)
    if not np.all(np.isfinite(y)) or res_leaf > 1e-10 * max(1.0, float(np.max(np.abs(target), initial=0.0)),
                                                              float(y @ y)):
        return y0
    return y


def _gauss_newton_leaf(net, x, target, tol, max_iter):
    y = x.copy()
    scale = max(float(np.max(np.abs(target), initial=0.0)), float(x @ x), 1e-300)
    err = np.inf
    for it in range(max_iter + 1):
        F = invariants.conserved_vector(net, y) - target
        ref = max(scale, float(np.sum(y * y)), 1e-300)
        err = float(np.max(np.abs(F), initial=0.0)) / ref
        if err <= tol:
            return y
        if it == max_iter:
            break
        D = invariants.conservation_differential(net, y)
        step = np.linalg.lstsq(D, -F, rcond=None)[0]
        n0 = np.linalg.norm(F)
        t = 1.0
        while t >= 1e-8:
            yn = y + t * step
            if np.linalg.norm(invariants.conserved_vector(net, yn) - target) < (1 - 1e-4 * t) * n0:
                break
            t *= 0.5
        else:
            break
        y = yn
    raise ValueError(f"C: could not reach the leaf from x (relative residual {err:.3g} after {it} "
                     "Gauss-Newton iterations); the leaf may be empty or far from x")


# ----------------------------------------------------------------------- classification
def critical_value(net, signature) -> float:
    """The critical value (31): ``1/2 sum_{i not in S} sigma_i^2`` (plus nothing for gamma)."""
    S = set(int(s) for s in signature)
    return 0.5 * float(sum(net.sigma[i] ** 2 for i in range(net.d_y) if i + 1 not in S))


def signature_of(net, x, rtol=1e-6):
    """Signature of (a point near) a critical point: the 1-based j with ``sigma_j`` among the
    singular values of ``W_{1:h}`` (relative tolerance ``rtol``), as a sorted tuple."""
    sv = np.linalg.svd(np.atleast_2d(net.product(x)), compute_uv=False)
    out = []
    used = np.zeros(sv.shape, bool)
    for j, s in enumerate(net.sigma):
        d = np.abs(sv - s)
        d[used] = np.inf
        k = int(np.argmin(d)) if d.size else -1
        if k >= 0 and d[k] <= rtol * s:
            used[k] = True
            out.append(j + 1)
    return tuple(out)


def _min_signature(net):
    return tuple(range(1, min(net.d_y, net.d_min) + 1))


def _zero_tol(net, w):
    from .spectra import _natural_scale  # the same scale as dlnsys.spectra
    return 1e-8 * max(float(np.max(np.abs(w))) if np.size(w) else 0.0, _natural_scale(net))


def _hessian_max_jac_eig(net, x):
    """Largest Jacobian eigenvalue (= -smallest Hessian eigenvalue) and the zero tolerance."""
    if net.n_params <= 1500:
        w = np.linalg.eigvalsh(-flow.hessian(net, x))
        return float(w[-1]), _zero_tol(net, w)
    from .spectra import spectrum
    s = spectrum(net, x, k=2, which="largest", eigenvectors=False)
    return float(s.eigenvalues[-1]), s.zero_tol


def _kind(net, x, sig):
    if sig == _min_signature(net) and (len(sig) == net.d_y or net.is_bottleneck):
        return KIND_MINIMUM
    lam, ztol = _hessian_max_jac_eig(net, x)
    return KIND_STRICT if lam > ztol else KIND_NONSTRICT


def _leaf_spectrum(net, x):
    B = invariants.leaf_tangent_basis(net, x)
    if B.shape[1] == 0:
        return np.zeros(0), 0
    Jr = B.T @ (-flow.hessian(net, x)) @ B
    return np.linalg.eigvalsh(0.5 * (Jr + Jr.T)), B.shape[1]


def _describe(net, x, *, method, target=None, sig=None, kind=None, sign_pattern=None, dimension=None,
              multipliers=None, iterations=0, converged=True, laws=None, reduced=None, notes=None):
    x = np.asarray(x, dtype=float)
    if sig is None:
        sig = signature_of(net, x)
    if kind is None:
        kind = _kind(net, x, sig)
    w, m = _leaf_spectrum(net, x)
    ztol = _zero_tol(net, w)
    nullity = int(np.sum(np.abs(w) <= ztol))
    if target is None or net.h == 1:
        leaf_res = 0.0
    else:
        leaf_res = float(np.max(np.abs(invariants.conserved_vector(net, x) - target), initial=0.0))
    return LeafEquilibrium(
        state=x, signature=tuple(sig), kind=kind, sign_pattern=sign_pattern,
        loss=float(net.loss(x)), critical_value=critical_value(net, sig),
        leaf_eigenvalues=w, leaf_dimension=m, hyperbolic=nullity == 0, zero_tol=ztol,
        leaf_nullity=nullity, dimension=nullity if dimension is None else int(dimension),
        n_unstable=int(np.sum(w > ztol)), multipliers=multipliers,
        residual=float(np.linalg.norm(net.vector_field(x))), leaf_residual=leaf_res, method=method,
        converged=converged, iterations=iterations, laws=laws, reduced_eigenvalues=reduced,
        notes=list(notes or []))


# ----------------------------------------------------------------------- scalar chains
def _chain_root(s, sigma):
    """The u > u_min with prod_i (u + s_i) = sigma^2 (Brent, then Newton to rounding)."""
    from scipy.optimize import brentq

    u_min = max(0.0, float(np.max(-s)))
    target = 2.0 * math.log(sigma)

    def g(u):
        return float(np.sum(np.log(u + s))) - target

    span = max(sigma ** (2.0 / len(s)), float(np.max(np.abs(s))), 1.0)
    hi = u_min + span
    while g(hi) <= 0:
        span *= 2.0
        hi = u_min + span
    lo_span = span
    lo = u_min + lo_span
    while g(lo) >= 0:
        lo_span *= 0.5
        lo = u_min + lo_span
        if lo_span < 1e-300:
            break
    u = brentq(g, lo, hi, xtol=1e-300, rtol=4 * _EPS, maxiter=500)
    for _ in range(5):                         # polish on the polynomial itself
        f = u + s
        p = float(np.prod(f)) - sigma ** 2
        dp = float(np.prod(f) * np.sum(1.0 / f))
        if dp <= 0:
            break
        un = u - p / dp
        if not (un > u_min) or abs(un - u) <= 2 * _EPS * u:
            if un > u_min:
                u = un
            break
        u = un
    return u


def _chain_points(h, c, sigma, kind_filter=None, positive=False):
    """Exact equilibria of a scalar chain on the leaf c: list of (weights, kind_tag, zeros)."""
    c = np.asarray(c, dtype=float).reshape(h - 1)
    s = np.zeros(h)
    if h > 1:
        s[:-1] = np.cumsum(c[::-1])[::-1]
    pts = []
    if kind_filter in (None, "minimum"):
        u = _chain_root(s, sigma)
        mag = np.sqrt(np.maximum(u + s, 0.0))
        for signs in itertools.product((1.0,) if positive else (1.0, -1.0), repeat=h - 1):
            last = float(np.prod(signs))
            sg = np.array(signs + (last,))
            pts.append((sg * mag, "minimum", 0))
    if kind_filter != "minimum":
        u_min = max(0.0, float(np.max(-s)))
        scale = float(np.sum(np.abs(c))) + u_min
        zero = np.abs(u_min + s) <= 64 * _EPS * max(scale, 1e-300)
        if np.sum(zero) >= 2:
            mag = np.where(zero, 0.0, np.sqrt(np.maximum(u_min + s, 0.0)))
            nz = np.flatnonzero(~zero)
            for signs in itertools.product((1.0,) if positive else (1.0, -1.0), repeat=len(nz)):
                w = mag.copy()
                w[nz] *= np.array(signs)
                pts.append((w, "saddle", int(np.sum(zero))))
    return pts


def _chain_no_saddle_reason(h, c):
    c = np.asarray(c, dtype=float).reshape(h - 1)
    if h == 2:
        return (f"the leaf w1^2 - w2^2 = {c[0]:g} does not pass through the origin (the only saddle of (62)); "
                "it does iff c = 0")
    return ("no point of this leaf has two or more zero weights (Prop. 33): that needs two of the "
            "w_i^2 = u + s_i to vanish at u = max(0, max_i -s_i), s_i = sum_{k>=i} c_k")


def _sign_tuple(w, tol=0.0):
    return tuple(int(v) for v in np.where(np.abs(w) <= tol, 0, np.sign(w)))


# ----------------------------------------------------------------------- bordered Newton
def _lambda_blocks(net, sel, mu):
    """Symmetric matrices Lambda_i with sum_k mu_k pi_k = sum_i <Lambda_i, C_i> (selected laws)."""
    hid = net.dims[1:-1]
    lams = [np.zeros((d, d)) for d in hid]
    where = []
    for i, d in enumerate(hid):
        iu = np.triu_indices(d)
        where += [(i, a, b) for a, b in zip(iu[0], iu[1])]
    for k, m in zip(sel, mu):
        i, a, b = where[k]
        if a == b:
            lams[i][a, a] += m
        else:
            lams[i][a, b] += 0.5 * m
            lams[i][b, a] += 0.5 * m
    return lams


def _law_curvature(net, sel, mu):
    """``sum_k mu_k Hess pi_k`` (a constant matrix: the laws are quadratic).

    With ``sum_k mu_k pi_k = sum_i tr(Lambda_i (W_i W_i^T - W_{i+1}^T W_{i+1}))`` the gradient has
    the blocks ``2 Lambda_i W_i`` (layer i) and ``-2 W_{i+1} Lambda_i`` (layer i+1), so the Hessian
    is block diagonal: ``2 Lambda_i (x) I`` and ``-2 I (x) Lambda_{i-1}`` (row-major vec)."""
    n = net.n_params
    M = np.zeros((n, n))
    lams = _lambda_blocks(net, sel, mu)
    o = net.param_offsets
    for layer in range(net.h):
        r, c = net.shapes[layer]
        blk = np.zeros((r * c, r * c))
        if layer < net.h - 1:
            blk += 2.0 * np.kron(lams[layer], np.eye(c))
        if layer > 0:
            blk -= 2.0 * np.kron(np.eye(r), lams[layer - 1])
        M[o[layer]:o[layer + 1], o[layer]:o[layer + 1]] = blk
    return M


def _bordered_F(net, x, mu, sel, target_sel):
    D = invariants.conservation_differential(net, x)[sel]
    f = flow.vector_field(net, x)
    r1 = f + D.T @ mu
    r2 = invariants.conserved_vector(net, x)[sel] - target_sel if len(sel) else np.zeros(0)
    return np.concatenate([r1, r2]), D


def _bordered_J(net, x, mu, sel, D):
    n, m = net.n_params, len(sel)
    J = np.zeros((n + m, n + m))
    J[:n, :n] = -flow.hessian(net, x)
    if m:
        J[:n, :n] += _law_curvature(net, sel, mu)
        J[:n, n:] = D.T
        J[n:, :n] = D
    return J


def bordered_newton(net, C, x0, *, tol=1e-12, max_iter=60, project=True):
    """Newton's method on the bordered system for one equilibrium on the leaf C.

    Unknowns ``(x, mu)``; equations ``f(x) + D_S(x)^T mu = 0`` and ``pi_S(x) = C_S`` where S is an
    independent subset of the laws (rank-revealing QR of their differential at the start) and
    ``D_S`` their differential. The linear systems are solved in the least-squares sense
    (minimum norm), so a singular bordered Jacobian (equilibria forming a manifold on the
    leaf, or a start at a singular point of the leaf) still gives convergence to a point of
    the equilibrium set. Steps are damped by backtracking on ``||F||``.

    Returns a :class:`LeafEquilibrium` with ``method="bordered-newton"``, ``converged``, the
    multipliers and the number of iterations.
    """
    _check_net(net)
    mats, _ = parse_leaf(net, C)
    x = as_state(x0, net.n_params, "x0").astype(float).copy()
    if x.ndim != 1:
        raise ValueError(f"x0: expected one state of shape ({net.n_params},), got {x.shape}")
    target = _leaf_vector(net, mats)
    notes = []
    if net.h > 1:
        reason = _leaf_empty_reason(net, mats)
        if reason:
            raise ValueError(f"C: {reason}")
        if project:
            x = project_to_leaf(net, x, mats, orthogonal=False)
        D_all = invariants.conservation_differential(net, x)
        sel, rank = _select_laws(D_all)
        if rank < D_all.shape[0]:
            notes.append(f"{D_all.shape[0] - rank} of the {D_all.shape[0]} laws are dependent at the start "
                         "and were left out of the bordered system (their residual is checked)")
    else:
        sel, rank = np.zeros(0, dtype=int), 0
    m = len(sel)
    mu = np.zeros(m)
    tsel = target[sel] if m else np.zeros(0)
    scale_f = max(float(np.linalg.norm(net.Sigma)), 1.0)
    it = 0
    converged = False
    F, D = _bordered_F(net, x, mu, sel, tsel)
    nF = float(np.linalg.norm(F))
    best, stall = nF, 0
    for it in range(1, max_iter + 1):
        Jb = _bordered_J(net, x, mu, sel, D)
        step = np.linalg.lstsq(Jb, -F, rcond=None)[0]
        t = 1.0
        while True:
            xn = x + t * step[:net.n_params]
            mun = mu + t * step[net.n_params:]
            Fn, Dn = _bordered_F(net, xn, mun, sel, tsel)
            nFn = float(np.linalg.norm(Fn))
            if nFn < (1 - 1e-4 * t) * nF or nFn <= 1e-15 * scale_f or t < 1e-6:
                break
            t *= 0.5
        small_step = np.linalg.norm(t * step) <= 1e-15 * max(1.0, np.linalg.norm(x))
        x, mu, F, D, nF_old, nF = xn, mun, Fn, Dn, nF, nFn
        if nF <= tol * scale_f and (small_step or nF >= 0.5 * nF_old or nF <= 1e-14 * scale_f):
            converged = True
            break
        if small_step:
            break
        if nF < 0.5 * best:
            best, stall = nF, 0
        else:
            stall += 1
            if stall >= 12:                    # no progress: give up early (not converging from here)
                break
    # one more pass to settle at rounding level
    if converged:
        Jb = _bordered_J(net, x, mu, sel, D)
        step = np.linalg.lstsq(Jb, -F, rcond=None)[0]
        xn, mun = x + step[:net.n_params], mu + step[net.n_params:]
        Fn, Dn = _bordered_F(net, xn, mun, sel, tsel)
        if np.linalg.norm(Fn) <= nF:
            x, mu, F = xn, mun, Fn
    if m:
        # report the multipliers of the converged point: the minimum-norm least-squares solution of
        # f(x) + D_S^T mu = 0 (a law whose differential vanishes at x, at a singular point of the
        # leaf, does not enter and gets mu = 0 instead of whatever the iteration left)
        D = invariants.conservation_differential(net, x)[sel]
        mu = np.linalg.lstsq(D.T, -flow.vector_field(net, x), rcond=None)[0]
    if not converged:
        notes.append(f"Newton did not converge: ||F|| = {nF:.3g} after {it} iterations")
    sig = signature_of(net, x)
    sign = _sign_tuple(x, 1e-12 * max(1.0, float(np.max(np.abs(x))))) if all(d == 1 for d in net.dims) else None
    return _describe(net, x, method="bordered-newton", target=target if net.h > 1 else None, sig=sig,
                     sign_pattern=sign, multipliers=mu, iterations=it, converged=converged,
                     laws=[int(k) for k in sel], notes=notes)


# ----------------------------------------------------------------------- main entry point
def _kind_filter(kind):
    key = kind.lower().strip() if isinstance(kind, str) else kind
    if key not in _KIND_ALIASES:
        raise ValueError(f"kind: expected 'minimum', 'saddle', 'strict', 'non-strict' or None, got {kind!r}")
    return _KIND_ALIASES[key]


def _matches(kind_tag, kind, want):
    if want is None:
        return True
    if want == "minimum":
        return kind == KIND_MINIMUM
    if want == "saddle":
        return kind != KIND_MINIMUM
    return kind == want


def equilibria_on_leaf(net, C, *, kind=None, method="auto", x0=None, seed=None, n_starts=1,
                       max_points=4096, tol=1e-12, t_flow=None, sign_patterns="all"):
    """The equilibria on the leaf ``{x : C(x) = C}``.

    Parameters
    ----------
    net : Network
        Without a mask; ``gamma`` must be 0 (with regularization the laws are not conserved:
        ``C_i`` decays like ``exp(-2 gamma t)`` and every equilibrium lies on ``C = 0``).
    C : leaf constants
        Any form accepted by :func:`parse_leaf` (matrices, upper-triangular vector,
        per-channel constants, chain constants).
    kind : {None, "minimum", "saddle", "strict", "non-strict"}
        Keep only equilibria of this kind; an empty result says why.
    method : {"auto", "exact", "diagonal", "newton"}
        ``"exact"``: scalar chains (every width 1), closed form. ``"diagonal"``: the diagonal
        reduction (55) channel by channel (C must be per-channel or diagonal); the points are
        the equilibria in the invariant set of diagonal weights, lifted to the full network.
        ``"newton"``: bordered Newton (any network) from ``x0``, or from ``n_starts`` random
        points of the leaf (``seed``) first moved along the flow (which stays on the leaf) for
        ``t_flow`` time units. ``"auto"``: exact for chains, Newton otherwise.
    x0 : array, optional
        Start of Newton (a seed; it is projected onto the leaf first). A 2-D array gives several.
    seed : int, optional
        Random starts on the leaf (:func:`dlnsys.init.on_leaf`) when ``x0`` is None.
    n_starts : int
        Number of random starts (duplicates are merged).
    max_points : int
        Cap on the number of equilibria returned by the exact methods.
    tol : float
        Newton tolerance on ``||F|| / max(1, ||Sigma||)``.
    t_flow : float, optional
        Flow time before Newton for random starts (default ``20 / sigma_d^(2-2/h)``, doubled
        until the point is nearly stationary).
    sign_patterns : {"all", "positive"}
        Exact methods: every sign pattern (``2^(h-1)`` minima per channel, ``2^(nonzero)`` saddles),
        or only the one with nonnegative weights (one point per zero set and channel; the others
        follow by the sign symmetries ``w_i -> -w_i, w_j -> -w_j``).

    Returns
    -------
    LeafEquilibria

    Examples
    --------
    >>> from dlnsys import Network
    >>> res = equilibria_on_leaf(Network((1, 1, 1), sigma=[1.0]), [0.0])
    >>> [(e.kind, e.label()) for e in res]        # doctest: +NORMALIZE_WHITESPACE
    [('global minimum', '{1} (+,+)'), ('global minimum', '{1} (-,-)'), ('strict saddle', '{} (0,0)')]
    """
    _check_net(net)
    if net.gamma:
        raise ValueError("net: gamma > 0 breaks the conservation laws (C_i(t) = C_i(0) exp(-2 gamma t)); "
                         "every equilibrium lies on the leaf C = 0; use gamma = 0 or dlnsys.continuation")
    if method not in ("auto", "exact", "diagonal", "newton"):
        raise ValueError(f"method: expected 'auto', 'exact', 'diagonal' or 'newton', got {method!r}")
    want = _kind_filter(kind)
    if sign_patterns not in ("all", "positive"):
        raise ValueError(f"sign_patterns: expected 'all' or 'positive', got {sign_patterns!r}")
    if isinstance(max_points, bool) or not isinstance(max_points, (numbers.Integral, np.integer)) or max_points < 1:
        raise ValueError(f"max_points: expected a positive integer, got {max_points!r}")
    mats, channels = parse_leaf(net, C)
    chain = all(d == 1 for d in net.dims)
    if method == "auto":
        method = "exact" if chain else "newton"
    if method == "exact" and not chain:
        raise ValueError(f"method: 'exact' needs a scalar chain (every width 1); dims {net.dims}; "
                         "use method='diagonal' for diagonal leaves or 'newton'")
    if method == "diagonal" and channels is None:
        raise ValueError("C: method='diagonal' needs per-channel constants of shape "
                         f"({net.h - 1}, {net.d_y}) or diagonal C_i vanishing beyond channel {net.d_y}")
    if method == "diagonal" and net.is_bottleneck:
        raise ValueError(f"dims: the diagonal reduction needs every hidden width >= d_y = {net.d_y}")
    reason = _leaf_empty_reason(net, mats) if net.h > 1 else None
    base = dict(dims=net.dims, sigma=np.array(net.sigma), leaf=mats, kind=kind if kind is None else str(kind))
    target = _leaf_vector(net, mats)
    if reason:
        return LeafEquilibria(method={"exact": "exact-chain", "diagonal": "exact-diagonal"}.get(method,
                              "bordered-newton"), status="empty", message=reason, **base)
    positive = sign_patterns == "positive"
    if method == "exact":
        return _exact_chain(net, mats, target, want, max_points, base, positive)
    if method == "diagonal":
        return _exact_diagonal(net, channels, target, want, max_points, base, positive)
    return _newton(net, mats, target, want, x0, seed, n_starts, tol, t_flow, base)


def _exact_chain(net, mats, target, want, max_points, base, positive=False):
    h, sigma = net.h, float(net.sigma[0])
    c = np.array([m[0, 0] for m in mats])
    kf = None if want is None else ("minimum" if want == "minimum" else "saddle")
    pts = _chain_points(h, c, sigma, kf, positive)
    out = []
    status, msg = "ok", ""
    for w, tag, nzero in pts:
        sig = (1,) if tag == "minimum" else ()
        kind = KIND_MINIMUM if tag == "minimum" else (KIND_STRICT if nzero == 2 else KIND_NONSTRICT)
        if not _matches(tag, kind, want):
            continue
        if len(out) >= max_points:
            status, msg = "truncated", f"more than max_points = {max_points} equilibria; the first ones are returned"
            break
        e = _describe(net, w, method="exact-chain", target=target, sig=sig, kind=kind,
                      sign_pattern=_sign_tuple(w), dimension=0)
        out.append(e)
    if not out:
        if want in ("saddle", KIND_STRICT, KIND_NONSTRICT):
            has_saddle = any(tag == "saddle" for _, tag, _ in pts)
            msg = (_chain_no_saddle_reason(h, c) if not has_saddle else
                   f"the saddles on this leaf are not of kind {want!r}")
        else:
            msg = "no equilibrium of the requested kind on this leaf"
        status = "empty"
    return LeafEquilibria(method="exact-chain", status=status, message=msg, equilibria=out, **base)


def _exact_diagonal(net, channels, target, want, max_points, base, positive=False):
    h, r = net.h, net.d_y
    per = []
    for j in range(r):
        pj = _chain_points(h, channels[:, j], float(net.sigma[j]), None, positive)
        per.append(pj)
    out = []
    status, msg = "ok", ""
    for combo in itertools.product(*per):
        tags = [t for _, t, _ in combo]
        sig = tuple(j + 1 for j, t in enumerate(tags) if t == "minimum")
        if want == "minimum" and len(sig) != r:
            continue
        if want == "saddle" and len(sig) == r:
            continue
        xi = np.array([w for w, _, _ in combo]).T          # (h, r): xi[i, j]
        Ws = []
        for i in range(h):
            W = np.zeros(net.shapes[i])
            W[np.arange(r), np.arange(r)] = xi[i]
            Ws.append(W)
        x = net.pack(Ws)
        kind = None if len(sig) != r else KIND_MINIMUM
        e = _describe(net, x, method="exact-diagonal", target=target, sig=sig, kind=kind,
                      sign_pattern=tuple(_sign_tuple(xi[:, j]) for j in range(r)))
        if not _matches(None, e.kind, want):
            continue
        # spectrum of (55) on its own leaf, channel by channel
        red = []
        for j in range(r):
            cn = _chain_net(h, float(net.sigma[j]))
            red.append(_leaf_spectrum(cn, xi[:, j])[0])
        e.reduced_eigenvalues = np.sort(np.concatenate(red)) if red else np.zeros(0)
        e.dimension = 0
        e.notes.append("isolated within the diagonal reduction (55); on the full leaf the set of "
                       f"equilibria through this point has dimension <= {e.leaf_nullity} (leaf nullity)")
        if len(out) >= max_points:
            status, msg = "truncated", f"more than max_points = {max_points} equilibria; the first ones are returned"
            break
        out.append(e)
    if not out:
        status = "empty"
        msg = ("no channel leaf admits a saddle (two or more zero weights in one channel)"
               if want in ("saddle", KIND_STRICT, KIND_NONSTRICT) else "no equilibrium of the requested kind")
    return LeafEquilibria(method="exact-diagonal", status=status, message=msg, equilibria=out, **base)


def _chain_net(h, sigma):
    """A scalar chain ``Network((1,)*(h+1), [sigma])`` (helper)."""
    from .network import Network
    return Network((1,) * (h + 1), [sigma])


def _flow_along_leaf(net, x, t_final, rel_grad=1e-6, max_doublings=8):
    """Integrate the flow (which stays on the leaf) for t_final, then for doubling times until the
    relative gradient is below ``rel_grad`` (at most ``max_doublings`` times); returns the end point."""
    from scipy.integrate import solve_ivp
    from .spectra import relative_gradient

    y, T = np.asarray(x, dtype=float), float(t_final)
    for _ in range(max_doublings + 1):
        sol = solve_ivp(lambda t, z: flow.vector_field(net, z), (0.0, T), y, method="LSODA",
                        jac=lambda t, z: -flow.hessian(net, z), rtol=1e-10, atol=1e-12)
        y = sol.y[:, -1]
        if sol.status < 0 or relative_gradient(net, y) <= rel_grad:
            break
        T *= 2.0
    return y


def _newton(net, mats, target, want, x0, seed, n_starts, tol, t_flow, base):
    starts = []
    if x0 is not None:
        X = as_state(x0, net.n_params, "x0")
        starts = list(np.atleast_2d(X))
    else:
        if isinstance(n_starts, bool) or not isinstance(n_starts, (numbers.Integral, np.integer)) or n_starts < 1:
            raise ValueError(f"n_starts: expected a positive integer, got {n_starts!r}")
        from . import init
        from ._validate import as_seed_rng
        rng = as_seed_rng(seed)
        if t_flow is None:
            t_flow = 20.0 / float(net.sigma[-1]) ** (2.0 - 2.0 / net.h)
        for _ in range(int(n_starts)):
            y = init.on_leaf(net, mats if net.h > 1 else None, seed=rng) if net.h > 1 else rng.standard_normal(net.n_params)
            starts.append(_flow_along_leaf(net, y, float(t_flow)))
    out, notes = [], []
    failed = 0
    for y in starts:
        try:
            e = bordered_newton(net, mats if net.h > 1 else None, y, tol=tol, max_iter=40)
        except ValueError as err:             # e.g. the start could not be projected onto the leaf
            failed += 1
            notes.append(str(err))
            continue
        if not e.converged and x0 is not None:
            # globalization: flow along the leaf (the flow keeps C) towards an equilibrium, then Newton
            tf = 20.0 / float(net.sigma[-1]) ** (2.0 - 2.0 / net.h) if t_flow is None else float(t_flow)
            try:
                yl = project_to_leaf(net, y, mats, orthogonal=False) if net.h > 1 else y
                e2 = bordered_newton(net, mats if net.h > 1 else None, _flow_along_leaf(net, yl, tf), tol=tol)
            except ValueError:
                e2 = e
            if e2.converged:
                e2.notes.append("Newton from x0 did not converge; the start was first moved along the flow "
                                "(which stays on the leaf) until nearly stationary")
                e = e2
        if not e.converged:
            failed += 1
            notes.append(e.notes[-1] if e.notes else "Newton failed")
            continue
        if any(np.linalg.norm(e.state - o.state) <= 1e-8 * max(1.0, np.linalg.norm(o.state)) for o in out):
            continue
        out.append(e)
    kept = [e for e in out if _matches(None, e.kind, want)]
    all_failed = not kept and failed == len(starts)
    if (all_failed or any(e.dimension > 0 for e in out)) and net.h > 1:
        return _as_manifolds(net, mats, want, kept, base, x0, seed, notes)
    if kept:
        status, msg = "ok", ""
    elif failed == len(starts):
        status, msg = "failed", "; ".join(notes)
    else:
        status = "empty"
        found = ", ".join(sorted({e.kind for e in out})) or "nothing"
        msg = (f"Newton converged to {found}, not to an equilibrium of kind {want!r}; start from a point "
               "near the wanted one (x0)")
    return LeafEquilibria(method="bordered-newton", status=status, message=msg, equilibria=kept, **base)


def _as_manifolds(net, mats, want, kept, base, x0, seed, notes):
    """The non-isolated case of :func:`equilibria_on_leaf`: the manifolds, or a pointer to them."""
    from .manifolds import equilibrium_manifolds
    if x0 is not None:
        dims = sorted({e.dimension for e in kept})
        msg = (f"the equilibria found are not isolated on this leaf (dimension {', '.join(map(str, dims))}); "
               "dlnsys.equilibrium_manifolds(net, C) gives the components, their dimension and normal spectrum")
        return LeafEquilibria(method="bordered-newton", status="manifold", message=msg, equilibria=kept, **base)
    full = tuple(range(1, min(net.d_y, net.d_min) + 1))
    sigs = None
    if want == "minimum":
        sigs = [full]
    elif want is not None:
        sigs = [tuple(c) for r in range(len(full)) for c in itertools.combinations(range(1, net.d_y + 1), r)]
    if sigs is None and net.d_y > 12:
        sigs = [full]
    res = equilibrium_manifolds(net, mats, signatures=sigs, seed=seed if seed is not None else 0, max_time=20.0)
    eqs = []
    for comp in res.components:
        e = _describe(net, comp.point, method="equilibrium-manifolds", target=_leaf_vector(net, mats),
                      sig=comp.signature, kind=comp.kind, dimension=comp.dimension,
                      notes=[f"a point of a component of dimension {comp.dimension} (index {comp.index}, "
                             f"normally hyperbolic: {comp.normally_hyperbolic}); see .manifolds"])
        if _matches(None, e.kind, want):
            eqs.append(e)
    found = [s for s in res if s.components]
    dims = sorted({c.dimension for c in res.components})
    msg = (f"the equilibria on this leaf are not isolated: {len(res.components)} component(s) over {len(found)} "
           f"signature(s), dimension {', '.join(map(str, dims)) or '-'}; `manifolds` holds them "
           "(dlnsys.equilibrium_manifolds); `equilibria` has one point per component")
    if res.status != "ok":
        msg += f" (search: {res.status}: {res.message})"
    status = "manifold" if eqs else ("empty" if res.status == "ok" else "failed")
    return LeafEquilibria(method="equilibrium-manifolds", status=status, message=msg, equilibria=eqs, manifolds=res,
                          **base)
