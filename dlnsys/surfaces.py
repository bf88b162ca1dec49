"""Two-dimensional stable and unstable manifolds in a leaf, as triangulated surfaces.

:func:`invariant_surface` computes the 2-D stable (or unstable) manifold of

* a **point saddle** whose leaf-restricted Jacobian has exactly two stable eigenvalues (and no zero
  one): the manifold is grown from a small circle in the 2-D stable eigenspace;
* a **curve of saddles** (a 1-D set of equilibria on one leaf, given by ordered samples, closed or
  open) whose leaf-restricted Jacobian has, at every sample, one zero eigenvalue (along the set)
  and exactly one stable normal eigenvalue: the manifold is grown from the two copies of the set
  offset by ``+-radius`` along the stable normal. Example: the circle of saddles
  ``a = w = 0, b^2 + c^2 = C`` of ``Network([3, 1, 1])`` (``x = (a, b, c, w)``,
  ``W_1 = [a b c]``, ``W_2 = [w]``) on a leaf ``a^2 + b^2 + c^2 - w^2 = C > 0``: its stable
  manifold separates the basins of the two minima of the leaf.

Method: a front (a closed or open curve of points on the manifold, the *ring*) is advanced by a
fixed arclength ``step`` along the orbits, backward in time for a stable manifold (the backward
flow attracts to it: errors across the manifold shrink) and forward for an unstable one. The
orbits are integrated in arclength, ``dx/ds = -+f / |f|``, so that every ring lies at the same
distance along the orbits from the saddle (an orbit-based approximation of the geodesic level sets
of Krauskopf and Osinga; it is exact where the orbits are geodesics of the surface, and orbits
that blow up in finite backward time are no problem). Where two neighbours drift more than
``1.5 step`` apart a point is inserted: a new orbit, started on the initial ring at the middle
ring parameter and advanced to the previous ring and the new one (orbits keep their order on the
surface, so it runs between its neighbours). No interpolation error is carried along: an error
across the manifold grows like ``exp(lambda_u t)`` along the orbit, so a vertex interpolated on a
late ring would be far off the manifold by the time the orbit nears the saddle. Where a point's
neighbours come within ``step`` of each other it is removed. Consecutive rings are joined by triangles (a merge of the two rings in their parameter, so
the mesh is consistently oriented and conforming: an edge of the previous band that receives an
inserted point is split).

Every vertex carries the orbit time ``times``: the time it takes (forward for a stable manifold,
backward for an unstable one) to reach the initial ring at distance ``radius`` from the saddle set
(``inf`` for the points of the set itself), and ``geodesic``, its distance along the orbits from
the set (``radius`` plus the arclength travelled).

Work is bounded: ``max_vertices`` and ``max_time`` (seconds) stop the growth between two rings,
the mesh stays consistent and ``status`` says what ran out.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import time

import numpy as np

from . import flow, invariants
from .leaves import _gauss_newton_leaf, _ResultMixin, _leaf_vector, _zero_tol, parse_leaf

__all__ = ["InvariantSurface", "invariant_surface"]

_INSERT = 1.5       # insert a point where neighbours are more than 1.5 step apart
_REMOVE = 1.0       # remove a point whose two neighbours are less than 1.0 step apart
_PASSES = 4         # insertion passes per ring (a gap that is still too wide is split again)


@dataclasses.dataclass
class InvariantSurface(_ResultMixin):
    """A 2-D stable or unstable manifold as a triangle mesh (see :func:`invariant_surface`).

    Attributes
    ----------
    kind : str
        ``"stable"`` or ``"unstable"``.
    source : str
        ``"point"`` (a point saddle) or ``"curve"`` (a 1-D set of saddles).
    saddle : ndarray, shape (n_params,) or (M, n_params)
        The saddle, or the samples of the set of saddles (in order).
    closed : bool
        The set of saddles is a closed curve (always False for a point).
    leaf : list of ndarray
        The leaf constants ``[C_1, ..., C_{h-1}]`` (empty with ``gamma > 0``: the whole space).
    eigenvalues : ndarray
        Leaf-restricted Jacobian eigenvalues (ascending) at the saddle, shape (d,), or at each
        sample of the set, shape (M, d).
    directions : ndarray
        The initial directions: an orthonormal basis of the 2-D eigenspace, shape (2, n_params),
        or the unit normal at each sample, shape (M, n_params) (signs made continuous).
    vertices : ndarray, shape (V, n_params)
        The mesh vertices (states of the network); the saddle (set) is part of the mesh.
    triangles : ndarray of int, shape (T, 3)
        Consistently oriented triangles (indices into ``vertices``).
    times : ndarray, shape (V,)
        Orbit time from each vertex to the initial ring (``inf`` on the saddle set).
    geodesic : ndarray, shape (V,)
        Distance along the orbits from the saddle set.
    rings : list of ndarray of int
        The vertex indices of each ring, in ring order (the fronts: approximate geodesic circles).
        For a curve of saddles the first ring is the set itself, shared by both sides.
    ring_sides : ndarray of int
        For each ring, the side it grows on (``+1``/``-1`` along ``directions`` for a curve of
        saddles, 0 for the set itself and for every ring of a point saddle).
    radius, step, length, bound : float
        The parameters used.
    reached : float
        Largest ``geodesic`` of a vertex.
    n_inserted, n_removed : int
        Points inserted into and removed from the fronts.
    leaf_error : float
        ``max |C(v) - C|`` over the vertices (integration drift off the leaf).
    elapsed : float
        Seconds spent.
    status : str
        ``"ok"`` (the fronts reached ``length`` or ``bound``, or stopped at equilibria),
        ``"max_vertices"``, ``"max_time"`` (a budget ran out: the mesh is what was grown until
        then), ``"not_2d"`` (the manifold of this saddle is not 2-dimensional on the leaf: empty
        mesh), ``"nonhyperbolic"`` (extra zero eigenvalues: empty mesh) or ``"nonorientable"``
        (the normal of a closed set of saddles flips sign around it).
    message : str
    """

    kind: str
    source: str
    saddle: np.ndarray
    closed: bool
    leaf: list
    eigenvalues: np.ndarray
    directions: np.ndarray
    vertices: np.ndarray
    triangles: np.ndarray
    times: np.ndarray
    geodesic: np.ndarray
    rings: list
    ring_sides: np.ndarray
    radius: float
    step: float
    length: float
    bound: float
    reached: float
    n_inserted: int
    n_removed: int
    leaf_error: float
    elapsed: float
    status: str
    message: str

    @property
    def n_vertices(self) -> int:
        return int(len(self.vertices))

    @property
    def n_triangles(self) -> int:
        return int(len(self.triangles))

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def boundary_edges(self) -> np.ndarray:
        """Edges ``(i, j)`` that belong to one triangle only (the outer rings, and the ends of an
        open set of saddles), shape (k, 2)."""
        if not len(self.triangles):
            return np.zeros((0, 2), dtype=int)
        e = np.concatenate([self.triangles[:, [0, 1]], self.triangles[:, [1, 2]], self.triangles[:, [2, 0]]])
        key = np.sort(e, axis=1)
        uniq, counts = np.unique(key, axis=0, return_counts=True)
        return uniq[counts == 1]

    def __repr__(self):
        return (f"InvariantSurface(kind={self.kind!r}, source={self.source!r}, vertices={self.n_vertices}, "
                f"triangles={self.n_triangles}, reached={self.reached:.4g}, status={self.status!r})")


# ----------------------------------------------------------------------- validation helpers
def _positive(v, name, allow_inf=False):
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a positive number, got {v!r}")
    v = float(v)
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name}: expected a {'' if allow_inf else 'finite '}positive number, got {v!r}")
    return v


def _saddle_input(net, obj, closed):
    """``(points (M, n), is_point, closed)`` from a state, an array of samples, a Curve or a 1-D
    EquilibriumManifold."""
    if hasattr(obj, "trace") and hasattr(obj, "dimension"):          # an EquilibriumManifold
        if obj.dimension == 0:
            obj = obj.point
        elif obj.dimension == 1:
            obj = obj.trace()
        else:
            raise ValueError(f"saddle_or_set: the equilibrium manifold has dimension {obj.dimension}; "
                             "invariant_surface takes a point (dimension 0) or a curve (dimension 1)")
    if hasattr(obj, "points") and hasattr(obj, "closed"):            # a Curve (EquilibriumManifold.trace())
        if closed is None:
            closed = bool(obj.closed)
        obj = obj.points
    try:
        P = np.asarray(obj, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("saddle_or_set: expected a state (n_params,), samples (M, n_params) of a curve of saddles, "
                         f"a Curve or an EquilibriumManifold, got {type(obj).__name__}") from None
    if P.size == 0 or not np.all(np.isfinite(P)):
        raise ValueError("saddle_or_set: empty, or contains NaN or infinite values")
    if P.ndim == 1:
        P = P[None, :]
    if P.ndim != 2 or P.shape[1] != net.n_params:
        raise ValueError(f"saddle_or_set: expected shape ({net.n_params},) or (M, {net.n_params}), got {np.shape(obj)}")
    if len(P) == 1:
        if closed:
            raise ValueError("closed: a single saddle is a point, not a closed curve")
        return P, True, False
    seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
    scale = max(1.0, float(np.max(np.abs(P))))
    if np.any(seg <= 1e-12 * scale):
        # a closed trace repeats its first point at the end: drop it; other repeats are an error
        if seg[-1] <= 1e-12 * scale and np.all(seg[:-1] > 1e-12 * scale) and len(P) > 3:
            P = P[:-1]
            seg = seg[:-1]
            closed = True if closed is None else closed
        else:
            raise ValueError("saddle_or_set: consecutive samples of the curve coincide")
    if closed is None:
        closed = bool(len(P) >= 3 and np.linalg.norm(P[0] - P[-1]) <= 1.5 * float(np.median(seg)))
    if closed and len(P) < 3:
        raise ValueError("saddle_or_set: a closed curve needs at least 3 samples")
    return P, False, bool(closed)


def _catmull_rom(P0, P1, P2, P3, t):
    t = np.asarray(t, float)[..., None]
    return 0.5 * (2 * P1 + (P2 - P0) * t + (2 * P0 - 5 * P1 + 4 * P2 - P3) * t ** 2
                  + (3 * P1 - P0 - 3 * P2 + P3) * t ** 3)


# ----------------------------------------------------------------------- the mesh under construction
class _Mesh:
    def __init__(self, n):
        self.X = np.zeros((1024, n))
        self.tau = np.zeros(1024)
        self.geo = np.zeros(1024)
        self.nv = 0
        self.tris = []

    def add(self, X, tau, geo):
        X = np.atleast_2d(X)
        k = len(X)
        while self.nv + k > len(self.X):
            self.X = np.vstack([self.X, np.zeros_like(self.X)])
            self.tau = np.concatenate([self.tau, np.zeros_like(self.tau)])
            self.geo = np.concatenate([self.geo, np.zeros_like(self.geo)])
        ids = np.arange(self.nv, self.nv + k)
        self.X[ids], self.tau[ids], self.geo[ids] = X, tau, geo
        self.nv += k
        return ids


class _Front:
    """One advancing ring: vertex ids in ring order, ring parameters u in [0, 1), alive flags and,
    for the ring's edges, the index of the triangle of the last band that holds each edge."""

    def __init__(self, ids, u, side, closed):
        self.ids = list(int(i) for i in ids)
        self.u = list(float(v) for v in u)
        self.alive = [True] * len(self.ids)
        self.side = side
        self.closed = closed
        self.edge_tri = {}
        self.done = False


def _zip(mesh, A, uA, B, uB, closed):
    """Triangles joining ring A (inner) and ring B (outer), both in increasing ring parameter:
    a merge on the parameter (points of A and B with the same parameter lie on one orbit); a quad
    between two orbits is split along its shorter diagonal. Orientation: (A_i, A_i+1, B_j) is
    counter-clockwise in (parameter, ring) coordinates. Degenerate triangles (a vertex shared by
    both rings: a frozen point) are dropped."""
    A, uA, B, uB = list(A), list(uA), list(B), list(uB)
    if closed:
        A, uA, B, uB = A + [A[0]], uA + [uA[0] + 1.0], B + [B[0]], uB + [uB[0] + 1.0]
    X = mesh.X
    i = j = 0
    out = []
    nA, nB = len(A), len(B)
    while i < nA - 1 or j < nB - 1:
        if i == nA - 1:
            step = "b"
        elif j == nB - 1:
            step = "a"
        else:
            ua, ub = uA[i + 1], uB[j + 1]
            step = "ab" if abs(ua - ub) <= 1e-12 else ("a" if ua < ub else "b")
        if step == "a":
            out.append((A[i], A[i + 1], B[j]))
            i += 1
        elif step == "b":
            out.append((A[i], B[j + 1], B[j]))
            j += 1
        else:
            if np.linalg.norm(X[A[i]] - X[B[j + 1]]) <= np.linalg.norm(X[A[i + 1]] - X[B[j]]):
                out += [(A[i], A[i + 1], B[j + 1]), (A[i], B[j + 1], B[j])]
            else:
                out += [(A[i], A[i + 1], B[j]), (A[i + 1], B[j + 1], B[j])]
            i += 1
            j += 1
    return [t for t in out if len({t[0], t[1], t[2]}) == 3]


def _register_band(front, mesh, first, ring_ids):
    """Map every edge of the ring ``ring_ids`` to the triangle (from index ``first`` on) that holds it."""
    ring = set(ring_ids)
    front.edge_tri = {}
    for t in range(first, len(mesh.tris)):
        a, b, c = mesh.tris[t]
        for p, q in ((a, b), (b, c), (c, a)):
            if p in ring and q in ring:
                front.edge_tri[(min(p, q), max(p, q))] = t


def _split_edge(front, mesh, p, q, m):
    """Split the triangle of the last band holding edge p-q at the new vertex m (keeps the mesh
    conforming: no vertex in the middle of another triangle's edge)."""
    t = front.edge_tri.pop((min(p, q), max(p, q)), None)
    if t is None:
        return
    a, b, c = mesh.tris[t]
    for x, y, z in ((a, b, c), (b, c, a), (c, a, b)):
        if {x, y} == {p, q}:
            break
    mesh.tris[t] = (x, m, z)
    mesh.tris.append((m, y, z))
    front.edge_tri[(min(x, m), max(x, m))] = t
    front.edge_tri[(min(m, y), max(m, y))] = len(mesh.tris) - 1


# ----------------------------------------------------------------------- the public function
def invariant_surface(net, saddle_or_set, *, kind="stable", leaf=None, closed=None, radius=None, step=None,
                      length=None, bound=np.inf, max_vertices=20000, max_time=60.0, rtol=1e-9,
                      atol=1e-12) -> InvariantSurface:
    """The 2-D stable or unstable manifold of a saddle, or of a curve of saddles, on its leaf.

    Parameters
    ----------
    net : Network
        Without a mask. With ``gamma = 0`` the computation lives in the leaf of the saddle (the flow
        conserves C); with ``gamma > 0`` there are no leaves and the whole space is used.
    saddle_or_set : array or Curve or EquilibriumManifold
        A point saddle (shape ``(n_params,)``) whose leaf-restricted Jacobian has exactly two
        eigenvalues of the sign of ``kind`` (negative for stable) and no zero one; or a curve of
        saddles: ordered samples ``(M, n_params)`` (spacing about ``step`` or finer: the samples are
        the seam of the mesh), a :class:`~dlnsys.manifolds.Curve` or a 1-D
        :class:`~dlnsys.manifolds.EquilibriumManifold` (traced), with, at every sample, one zero
        leaf eigenvalue (along the set) and exactly one of the sign of ``kind``. Every point must
        be an equilibrium (relative gradient <= 1e-8) and all on one leaf.
    kind : {"stable", "unstable"}
    leaf : leaf constants, optional
        Any form :func:`dlnsys.leaves.parse_leaf` accepts; checked against the saddle (default: the
        leaf of the saddle).
    closed : bool, optional
        The samples form a closed curve (default: from the Curve, or when the last sample is as
        close to the first as neighbours are).
    radius : float, optional
        Distance of the initial ring from the saddle set, along the eigen/normal directions
        (default ``1e-3 max(1, |x_s|)``).
    step : float, optional
        Arclength between rings, and the target distance between neighbours on a ring
        (default ``0.05 max(1, |x_s|)``).
    length : float, optional
        How far to grow: the distance along the orbits from the set (default ``2 max(1, |x_s|)``).
    bound : float
        Front points stop where ``|x| > bound`` (default: no bound).
    max_vertices : int
        Vertex budget (the growth stops before a ring would exceed it: status ``"max_vertices"``).
    max_time : float
        Seconds (checked between rings: status ``"max_time"``).
    rtol, atol : float
        Tolerances of the arclength integration (DOP853).

    Returns
    -------
    InvariantSurface

    Examples
    --------
    The circle of saddles of ``Network([3, 1, 1])`` on the leaf ``C = 1`` (``x = (a, b, c, w)``):

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> from dlnsys.separatrices import invariant_surface
    >>> net = Network([3, 1, 1], sigma=[1.0])
    >>> th = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    >>> circle = np.column_stack([0 * th, np.cos(th), np.sin(th), 0 * th])   # a = w = 0, b^2 + c^2 = 1
    >>> surf = invariant_surface(net, circle, step=0.2, length=1.0)
    >>> surf.status, surf.source, surf.closed
    ('ok', 'curve', True)
    >>> bool(np.all(np.isfinite(surf.times[48:])))                    # inf only on the circle itself
    True
    """
    from scipy.integrate import solve_ivp

    from .spectra import relative_gradient

    t_start = time.perf_counter()
    if net.mask is not None:
        raise ValueError("net: invariant surfaces need a network without a mask")
    if kind not in ("stable", "unstable"):
        raise ValueError(f"kind: expected 'stable' or 'unstable', got {kind!r}")
    if closed is not None and not isinstance(closed, (bool, np.bool_)):
        raise ValueError(f"closed: expected True, False or None, got {closed!r}")
    P, is_point, closed = _saddle_input(net, saddle_or_set, closed)
    scale = max(1.0, float(np.max(np.linalg.norm(P, axis=1))))
    radius = 1e-3 * scale if radius is None else _positive(radius, "radius")
    step = 0.05 * scale if step is None else _positive(step, "step")
    length = 2.0 * scale if length is None else _positive(length, "length")
    bound = _positive(bound, "bound", allow_inf=True)
    if isinstance(max_vertices, bool) or not isinstance(max_vertices, (numbers.Integral, np.integer)) \
            or max_vertices < 3:
        raise ValueError(f"max_vertices: expected an integer >= 3, got {max_vertices!r}")
    max_vertices = int(max_vertices)
    max_time = _positive(max_time, "max_time", allow_inf=True)
    rtol = _positive(rtol, "rtol")
    atol = _positive(atol, "atol")
    if radius >= length:
        raise ValueError(f"radius: must be smaller than length = {length:g}, got {radius:g}")
    for k, x in enumerate(P):
        rg = relative_gradient(net, x)
        if rg > 1e-8:
            where = "saddle_or_set" if is_point else f"saddle_or_set[{k}]"
            raise ValueError(f"{where}: not an equilibrium (relative gradient {rg:.3g})")
    has_leaf = net.gamma == 0 and net.h > 1
    if has_leaf:
        Cs = invariants.conserved_vector(net, P)
        ref = max(1.0, float(np.max(np.abs(Cs))))
        if np.max(np.abs(Cs - Cs[0])) > 1e-8 * ref:
            raise ValueError("saddle_or_set: the samples lie on different leaves (their conserved quantities differ "
                             f"by {float(np.max(np.abs(Cs - Cs[0]))):.3g}); a surface is computed in one leaf")
        target = Cs[0].copy()
        if leaf is not None:
            mats, _ = parse_leaf(net, leaf, "leaf")
            tv = _leaf_vector(net, mats)
            if np.max(np.abs(tv - target)) > 1e-8 * max(ref, float(np.max(np.abs(tv)))):
                raise ValueError(f"leaf: the saddle is not on this leaf (its conserved quantities are {target.tolist()}, "
                                 f"the leaf's {tv.tolist()})")
        leaf_mats = [np.asarray(C, dtype=float) for C in invariants.conserved(net, P[0])]
    else:
        if leaf is not None and np.size(leaf) != 0:
            raise ValueError("leaf: with gamma > 0 (or a single layer) there are no conservation laws; leave leaf "
                             "unset")
        target = np.zeros(0)
        leaf_mats = []

    sign = -1.0 if kind == "stable" else 1.0       # stable manifold: grow backward in time

    # ---- spectra at the saddle(s): the eigenspace (point) or the normal direction (curve)
    eigs, dirs = [], []
    for x in P:
        B = invariants.leaf_tangent_basis(net, x) if has_leaf else np.eye(net.n_params)
        J = -flow.hessian(net, x)
        w, V = np.linalg.eigh(0.5 * (B.T @ J @ B + (B.T @ J @ B).T))
        eigs.append(w)
        dirs.append((B @ V).T)
    eigs = np.array(eigs)
    n_zero = [int(np.sum(np.abs(w) <= _zero_tol(net, w))) for w in eigs]
    n_want = [int(np.sum(sign * w > _zero_tol(net, w))) for w in eigs]

    def empty(status, message, directions):
        return InvariantSurface(
            kind=kind, source="point" if is_point else "curve", saddle=P[0] if is_point else P, closed=closed,
            leaf=leaf_mats, eigenvalues=eigs[0] if is_point else eigs, directions=directions,
            vertices=np.zeros((0, net.n_params)), triangles=np.zeros((0, 3), dtype=int), times=np.zeros(0),
            geodesic=np.zeros(0), rings=[], ring_sides=np.zeros(0, dtype=int), radius=radius, step=step,
            length=length, bound=bound, reached=0.0, n_inserted=0, n_removed=0, leaf_error=0.0,
            elapsed=time.perf_counter() - t_start, status=status, message=message)

    want_zero = 0 if is_point else 1
    want = 2 if is_point else 1
    bad = [k for k in range(len(P)) if n_zero[k] != want_zero]
    if bad:
        k = bad[0]
        where = "the saddle" if is_point else f"sample {k}"
        if n_zero[k] > want_zero:
            return empty("nonhyperbolic", f"the leaf-restricted Jacobian at {where} has {n_zero[k]} zero eigenvalue(s) "
                                          f"(expected {want_zero}): the linearization does not give the manifold",
                         np.zeros((0, net.n_params)))
        return empty("not_2d", f"the leaf-restricted Jacobian at {where} has no zero eigenvalue: these samples are "
                               "isolated saddles, not a curve of saddles", np.zeros((0, net.n_params)))
    bad = [k for k in range(len(P)) if n_want[k] != want]
    if bad:
        k = bad[0]
        where = "the saddle" if is_point else f"sample {k}"
        return empty("not_2d", f"the {kind} manifold of {where} has dimension {n_want[k] + want_zero} on the leaf "
                               f"({n_want[k]} {kind} eigenvalue(s)), not 2", np.zeros((0, net.n_params)))

    if is_point:
        sel = np.flatnonzero(sign * eigs[0] > 0)
        D = dirs[0][sel]                                     # (2, n), orthonormal
        lam_min = float(np.min(np.abs(eigs[0][sel])))
    else:
        k_sel = [int(np.flatnonzero(sign * w > _zero_tol(net, w))[0]) for w in eigs]
        D = np.array([dirs[k][k_sel[k]] for k in range(len(P))])
        for k in range(1, len(P)):                           # continuous signs along the set
            if D[k] @ D[k - 1] < 0:
                D[k] = -D[k]
        if closed and D[-1] @ D[0] < 0:
            return empty("nonorientable", "the normal direction flips sign around the closed set of saddles: its "
                                          f"{kind} manifold is a Moebius band, not drawn as two sides", D)
        lam_min = float(np.min(np.abs([eigs[k][k_sel[k]] for k in range(len(P))])))
    # smoothing of the arclength field near equilibria: |f| is about lam radius on the initial
    # ring; 1/100 of that is far below any |f| met away from equilibria
    eps_f = 1e-2 * lam_min * radius

    def onto_leaf(X):
        """The offset points x_s + radius v leave the leaf by O(radius^2): put them back on it (the
        flow would keep the error forever)."""
        if not has_leaf:
            return X
        return np.array([_gauss_newton_leaf(net, x, target, 1e-15, 20) for x in X])

    mesh = _Mesh(net.n_params)
    fronts = []
    rings, ring_sides = [], []
    if is_point:
        c = mesh.add(P[0], np.inf, 0.0)[0]
        n0 = 16
        u = np.arange(n0) / n0
        X0 = onto_leaf(P[0] + radius * (np.cos(2 * np.pi * u)[:, None] * D[0]
                                        + np.sin(2 * np.pi * u)[:, None] * D[1]))
        ids = mesh.add(X0, np.zeros(n0), np.full(n0, radius))
        first = len(mesh.tris)
        # the fan is the band from the ring {c} to the first ring: the orientation of _zip
        mesh.tris += [(c, int(ids[(i + 1) % n0]), int(ids[i])) for i in range(n0)]
        f = _Front(ids, u, 0, True)
        _register_band(f, mesh, first, ids)
        fronts.append(f)
        rings += [np.array([c]), ids]
        ring_sides += [0, 0]
    else:
        seg = np.linalg.norm(np.diff(np.vstack([P, P[:1]]) if closed else P, axis=0), axis=1)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        u = cum[:len(P)] / cum[-1]
        sid = mesh.add(P, np.full(len(P), np.inf), np.zeros(len(P)))
        rings.append(sid)
        ring_sides.append(0)
        for side in (1, -1):
            ids = mesh.add(onto_leaf(P + side * radius * D), np.zeros(len(P)), np.full(len(P), radius))
            first = len(mesh.tris)
            band = _zip(mesh, sid, u, ids, u, closed)
            if side < 0:                                     # mirror side: keep one orientation overall
                band = [(a, cc, b) for a, b, cc in band]
            mesh.tris += band
            f = _Front(ids, u, side, closed)
            _register_band(f, mesh, first, ids)
            fronts.append(f)
            rings.append(ids)
            ring_sides.append(side)

    n = net.n_params

    def advance(X, tau, geo, ds=None):
        """Advance states by arclength ``ds`` (default: one step) along the (sign-reversed) flow; also the
        orbit time. ``ds`` may be an array (one length per state)."""
        N = len(X)
        if N == 0:
            return X, tau, geo
        ds = np.full(N, step) if ds is None else np.broadcast_to(np.asarray(ds, float), (N,))
        smax = float(np.max(ds))
        rate = ds / smax                     # integrate s' in [0, smax]: each state at its own speed

        def rhs(s, y):
            Y = y.reshape(N, n + 1)
            F = sign * flow.vector_field(net, Y[:, :n])
            nf = np.sqrt(np.sum(F * F, axis=1) + eps_f * eps_f)
            out = np.empty_like(Y)
            out[:, :n] = F * (rate / nf)[:, None]
            out[:, n] = rate / nf
            return out.ravel()

        y0 = np.column_stack([X, np.zeros(N)]).ravel()
        sol = solve_ivp(rhs, (0.0, smax), y0, method="DOP853", rtol=rtol, atol=atol)
        Y = sol.y[:, -1].reshape(N, n + 1)
        if sol.status < 0:
            Y[:] = np.nan
        return Y[:, :n], tau + Y[:, n], geo + ds

    if not is_point:
        seg_u = u                                            # ring parameter of the samples (arclength)

    def initial_points(uq, side):
        """Points of the initial ring at parameters uq: on the circle in the eigenspace (point), or the
        set and its normal interpolated (Catmull-Rom) at uq and offset by side * radius (curve)."""
        uq = np.asarray(uq, float)
        if is_point:
            X0 = P[0] + radius * (np.cos(2 * np.pi * uq)[:, None] * D[0] + np.sin(2 * np.pi * uq)[:, None] * D[1])
            return onto_leaf(X0)
        m = len(P)
        if closed:
            k = (np.searchsorted(seg_u, uq, side="right") - 1) % m
            u0 = seg_u[k]
            u1 = np.where(k + 1 < m, seg_u[(k + 1) % m], 1.0)
            idx = lambda j: j % m                            # noqa: E731
        else:
            k = np.clip(np.searchsorted(seg_u, uq, side="right") - 1, 0, m - 2)
            u0, u1 = seg_u[k], seg_u[k + 1]
            idx = lambda j: np.clip(j, 0, m - 1)             # noqa: E731
        t = np.clip((uq - u0) / np.maximum(u1 - u0, 1e-300), 0.0, 1.0)
        S = _catmull_rom(P[idx(k - 1)], P[idx(k)], P[idx(k + 1)], P[idx(k + 2)], t)
        N_ = _catmull_rom(D[idx(k - 1)], D[idx(k)], D[idx(k + 1)], D[idx(k + 2)], t)
        N_ /= np.linalg.norm(N_, axis=1)[:, None]
        return onto_leaf(S + side * radius * N_)

    n_ins = n_rem = 0
    status, message = "ok", ""

    def grow(front):
        """One ring: advance, insert, remove, triangulate. Returns the new ring's vertex ids."""
        nonlocal n_ins, n_rem
        A_ids, A_u, alive = front.ids, front.u, front.alive
        live = [i for i, a in enumerate(alive) if a]
        Xn, Tn, Gn = advance(mesh.X[[A_ids[i] for i in live]], mesh.tau[[A_ids[i] for i in live]],
                             mesh.geo[[A_ids[i] for i in live]])
        # the new ring as records: (u, X, tau, geo, moved, old id)
        B = []
        li = 0
        for i, vid in enumerate(A_ids):
            if alive[i]:
                B.append([A_u[i], Xn[li], Tn[li], Gn[li], True, None])
                li += 1
            else:
                B.append([A_u[i], mesh.X[vid], mesh.tau[vid], mesh.geo[vid], False, vid])
        for _ in range(_PASSES):                             # insertion
            m = len(B)
            gaps = []
            for j in range(m if front.closed else m - 1):
                a, b = B[j], B[(j + 1) % m]
                if a[4] and b[4] and np.linalg.norm(a[1] - b[1]) > _INSERT * step:
                    ua, ub = a[0], b[0] + (1.0 if j == m - 1 else 0.0)
                    gaps.append((ua + ub) / 2 % 1.0)
            if not gaps:
                break
            uq = np.array(gaps)
            # a new orbit, started on the initial ring at the middle parameter (orbits keep their order
            # on the surface, so it runs between its neighbours' orbits) and advanced to ring A, then
            # to B: no interpolation error is carried (one made on ring A would be amplified by
            # exp(lambda_u t) along the orbit, the conditioning of a stable manifold)
            s_A = [mesh.geo[front.ids[j]] for j in range(len(front.ids)) if front.alive[j]]
            s_A = max(s_A) if s_A else radius
            X0 = initial_points(uq, front.side if front.side else 1)
            if s_A > radius * (1 + 1e-12):
                pts, tau, geo = advance(X0, np.zeros(len(uq)), np.full(len(uq), radius), s_A - radius)
            else:
                pts, tau, geo = X0, np.zeros(len(uq)), np.full(len(uq), radius)
            new_ids = mesh.add(pts, tau, geo)
            for q, vid in zip(uq, new_ids):                  # the new points join ring A as vertices
                pos = int(np.searchsorted(front.u, q))
                left = front.ids[(pos - 1) % len(front.ids)]
                right = front.ids[pos % len(front.ids)]
                _split_edge(front, mesh, left, right, int(vid))
                front.ids.insert(pos, int(vid))
                front.u.insert(pos, float(q))
                front.alive.insert(pos, True)
            Xi, Ti, Gi = advance(pts, tau, geo)
            for q, x, tt, g in zip(uq, Xi, Ti, Gi):
                pos = int(np.searchsorted([r[0] for r in B], q))
                B.insert(pos, [float(q), x, tt, g, True, None])
            n_ins += len(uq)
        # removal: a moved point whose neighbours are close, never an anchor (u = 0, open ends), never two
        # neighbours in one ring
        keep = [True] * len(B)
        m = len(B)
        for j in range(m):
            if not B[j][4] or B[j][0] == 0.0 or (not front.closed and j in (0, m - 1)):
                continue
            jl, jr = (j - 1) % m, (j + 1) % m
            if not (keep[jl] and B[jl][4] and B[jr][4]):
                continue
            if np.linalg.norm(B[jl][1] - B[jr][1]) < _REMOVE * step:
                keep[j] = False
                n_rem += 1
        B = [r for r, k in zip(B, keep) if k]
        # vertices of the new ring, and what stops: equilibria, the bound, the length, failures
        Xb = np.array([r[1] for r in B])
        fb = np.linalg.norm(flow.vector_field(net, np.where(np.isfinite(Xb), Xb, 0.0)), axis=1)
        ids, us, al = [], [], []
        for r, fv in zip(B, fb):
            if not r[4]:
                ids.append(r[5])
                al.append(False)
            elif not np.all(np.isfinite(r[1])):
                # integration failed: the orbit stops at its previous vertex (dropped from the ring)
                continue
            else:
                ids.append(int(mesh.add(r[1], r[2], r[3])[0]))
                stop = (r[3] >= length * (1 - 1e-12) or np.linalg.norm(r[1]) > bound or fv < 10 * eps_f)
                al.append(not stop)
            us.append(r[0])
        first = len(mesh.tris)
        band = _zip(mesh, front.ids, front.u, ids, us, front.closed)
        if front.side < 0:                                   # the mirror side, as in the first band
            band = [(a, cc, b) for a, b, cc in band]
        mesh.tris += band
        front.ids, front.u, front.alive = ids, us, al
        _register_band(front, mesh, first, ids)
        front.done = not any(al)
        return np.array(ids)

    while True:
        todo = [f for f in fronts if not f.done]
        if not todo:
            break
        stop = False
        for f in todo:
            if time.perf_counter() - t_start > max_time:
                status, message = "max_time", f"stopped after {time.perf_counter() - t_start:.3g} s (max_time)"
                stop = True
                break
            # a ring grows by at most a factor 2 ** _PASSES through insertions; be conservative
            if mesh.nv + 2 * len(f.ids) > max_vertices:
                status, message = "max_vertices", (f"stopped at {mesh.nv} vertices: the next ring could exceed "
                                                    f"max_vertices = {max_vertices}")
                stop = True
                break
            rings.append(grow(f))
            ring_sides.append(f.side)
        if stop:
            break
    V = mesh.X[:mesh.nv].copy()
    err = float(np.max(np.abs(invariants.conserved_vector(net, V) - target))) if has_leaf and len(V) else 0.0
    geo = mesh.geo[:mesh.nv].copy()
    return InvariantSurface(
        kind=kind, source="point" if is_point else "curve", saddle=P[0] if is_point else P, closed=closed,
        leaf=leaf_mats, eigenvalues=eigs[0] if is_point else eigs, directions=D, vertices=V,
        triangles=np.array(mesh.tris, dtype=int).reshape(-1, 3), times=mesh.tau[:mesh.nv].copy(), geodesic=geo,
        rings=rings, ring_sides=np.array(ring_sides, dtype=int), radius=radius, step=step, length=length,
        bound=bound, reached=float(np.max(geo)) if len(geo) else 0.0, n_inserted=n_ins, n_removed=n_rem,
        leaf_error=err, elapsed=time.perf_counter() - t_start, status=status, message=message)
