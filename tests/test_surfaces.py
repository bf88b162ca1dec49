"""2-D stable and unstable manifolds (dlnsys.surfaces, re-exported by dlnsys.separatrices).

Oracles: the flow itself (dlnsys.simulate forward from every vertex), the basins of
dlnsys.separatrices.basins, closed forms for Network([3, 1, 1]) and the symmetry of its flow.

Network([3, 1, 1]): x = (a, b, c, w) with W1 = [a b c], W2 = [w], Sigma = [sigma 0 0]:
    a' = w (sigma - w a),  b' = -w^2 b,  c' = -w^2 c,  w' = sigma a - w (a^2 + b^2 + c^2),
conserved C = a^2 + b^2 + c^2 - w^2. Equilibria: w = 0 forces a = 0 (saddles, any b, c: on the leaf
C > 0 the circle b^2 + c^2 = C), else b = c = 0, a w = sigma (the two minima of the leaf, with
w^2 = (-C + sqrt(C^2 + 4 sigma^2)) / 2). At a saddle the leaf Jacobian is 0 along the circle and
[[0, sigma], [sigma, -C]] on (a, w): stable eigenvalue lam_s = (-C - sqrt(C^2 + 4 sigma^2)) / 2 with
eigenvector (a, w) ~ (sigma, lam_s). The flow commutes with rotations of (b, c), so the stable
manifold of the circle is a surface of revolution.

The 3-D picture used for "sides": P(x) = W1 (1 + w / |W1|), a diffeomorphism of the leaf C > 0 onto
R^3 minus the origin (|P| = |W1| + w grows with w; the sphere |P| = sqrt(C) is w = 0). Its inverse:
rho = |P|, w = (rho^2 - C) / (2 rho), W1 = P (rho - w) / rho.
"""
import json
import math
import time

import numpy as np
import pytest

from dlnsys import Network, flow, invariants, simulate
from dlnsys.separatrices import InvariantSurface, basins, invariant_surface

SIGMA = 1.0
C = 1.0
M = 64                     # samples of the circle of saddles (spacing 0.098, about the step)
STEP = 0.1
LENGTH = 1.5
RADIUS = 1e-3


def _circle(C=C, m=M):
    th = np.linspace(0, 2 * np.pi, m, endpoint=False)
    r = math.sqrt(C)
    return np.column_stack([0 * th, r * np.cos(th), r * np.sin(th), 0 * th])


def _dist_to_circle(X, C=C):
    return np.sqrt(X[..., 0] ** 2 + X[..., 3] ** 2 + (np.hypot(X[..., 1], X[..., 2]) - math.sqrt(C)) ** 2)


def _P(X):
    W1, w = X[..., :3], X[..., 3:]
    n = np.linalg.norm(W1, axis=-1, keepdims=True)
    return W1 * (1 + w / n)


def _P_inv(P, C=C):
    rho = np.linalg.norm(P, axis=-1, keepdims=True)
    w = (rho ** 2 - C) / (2 * rho)
    return np.concatenate([P * (rho - w) / rho, w], axis=-1)


@pytest.fixture(scope="module")
def net311():
    return Network([3, 1, 1], sigma=[SIGMA])


@pytest.fixture(scope="module")
def circle_surface(net311):
    s = invariant_surface(net311, _circle(), step=STEP, length=LENGTH, radius=RADIUS)
    assert s.status == "ok", s.message
    return s


def _flow_for(net, V, tau, extra=0.0):
    """Each state V[i] integrated forward for its own time tau[i] + extra, as one batch: x' = (tau + extra) f(x)
    over s in [0, 1] (scipy DOP853, rtol 1e-12, independent of the surface code). Also the smallest distance
    function values are left to the caller: returns the states at s = 1 and the dense solution."""
    from scipy.integrate import solve_ivp

    T = np.asarray(tau, float) + extra
    N, n = V.shape

    def rhs(s, y):
        return (T[:, None] * flow.vector_field(net, y.reshape(N, n))).ravel()

    sol = solve_ivp(rhs, (0.0, 1.0), V.ravel(), method="DOP853", rtol=1e-12, atol=1e-14,
                    t_eval=np.linspace(0, 1, 401))
    assert sol.status == 0
    return sol.y.T.reshape(-1, N, n)


def _vertex_normals(V3, T):
    """Area-weighted vertex normals of a consistently oriented mesh in R^3."""
    n = np.cross(V3[T[:, 1]] - V3[T[:, 0]], V3[T[:, 2]] - V3[T[:, 0]])
    vn = np.zeros_like(V3)
    for k in range(3):
        np.add.at(vn, T[:, k], n)
    return vn / np.maximum(np.linalg.norm(vn, axis=1), 1e-300)[:, None]


def _closest_on_mesh(p, A, B, Cc):
    """Closest point to p on each triangle (Ericson, Real-Time Collision Detection 5.1.5), vectorized over
    triangles; returns (distance, triangle index, barycentric weights of the closest point)."""
    ab, ac, ap = B - A, Cc - A, p - A
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    bp = p - B
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    cp = p - Cc
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    denom = np.where(np.abs(va + vb + vc) > 0, va + vb + vc, 1e-300)
    v, w = vb / denom, vc / denom
    bary = np.column_stack([1 - v - w, v, w])                                # interior
    t_ab = np.clip(d1 / np.maximum(d1 - d3, 1e-300), 0, 1)
    t_ac = np.clip(d2 / np.maximum(d2 - d6, 1e-300), 0, 1)
    t_bc = np.clip((d4 - d3) / np.maximum((d4 - d3) + (d5 - d6), 1e-300), 0, 1)
    conds = [
        (d1 <= 0) & (d2 <= 0), (d3 >= 0) & (d4 <= d3), (d6 >= 0) & (d5 <= d6),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0), (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0),
    ]
    vals = [np.array([1, 0, 0.]), np.array([0, 1, 0.]), np.array([0, 0, 1.]),
            np.column_stack([1 - t_ab, t_ab, 0 * t_ab]), np.column_stack([1 - t_ac, 0 * t_ac, t_ac]),
            np.column_stack([0 * t_bc, 1 - t_bc, t_bc])]
    done = np.zeros(len(A), bool)
    for cnd, val in zip(conds, vals):
        sel = cnd & ~done
        bary[sel] = val if val.ndim == 1 else val[sel]
        done |= sel
    Q = bary[:, :1] * A + bary[:, 1:2] * B + bary[:, 2:] * Cc
    d = np.linalg.norm(Q - p, axis=1)
    k = int(np.argmin(d))
    return float(d[k]), k, bary[k], Q[k]


# =========================================================================== circle of saddles
def test_initial_directions_and_symmetry_match_the_closed_form(net311, circle_surface):
    s = circle_surface
    lam_s = (-C - math.sqrt(C * C + 4 * SIGMA ** 2)) / 2
    # normal eigenvalue and eigenvector at every sample: (a, w) ~ (sigma, lam_s), nothing along b, c
    assert np.allclose(s.eigenvalues[:, 0], lam_s, rtol=1e-10)
    v = np.array([SIGMA, lam_s]) / math.hypot(SIGMA, lam_s)
    D = s.directions
    assert np.allclose(np.abs(D[:, [0, 3]]), np.abs(v), atol=1e-10) and np.allclose(D[:, 1:3], 0, atol=1e-10)
    assert np.all(np.sign(D[:, 0]) == np.sign(D[0, 0]))                  # one side, continuously
    # the flow commutes with rotations of (b, c): every ring of the surface is a circle (constant a, w
    # and radius); 1e-9 is the integration tolerance
    for r in s.rings[1:]:
        X = s.vertices[r]
        for col in (X[:, 0], X[:, 3], np.hypot(X[:, 1], X[:, 2])):
            assert np.ptp(col) < 1e-8 * max(1.0, np.max(np.abs(col)))
    # stays on the leaf; the whole mesh grew to the requested distance
    assert s.leaf_error < 1e-10
    assert LENGTH <= s.reached < LENGTH + STEP
    assert s.source == "curve" and s.closed and s.rings[0].tolist() == list(range(M))
    assert np.all(np.isinf(s.times[:M])) and np.all(np.isfinite(s.times[M:])) and np.all(s.times[M:] >= 0)


def test_every_vertex_flows_to_the_circle_of_saddles(net311, circle_surface):
    """Forward from every vertex for its orbit time, the orbit lands on the initial ring (distance
    ``radius`` from the saddle circle, to 2 %), and 3 time units later it is closer still (below
    0.5 radius: the normal contraction is exp(-1.618 t)).

    This is a sharp test: an error e of a vertex across the manifold grows like exp(0.618 t) on the
    way (up to a factor 1e3 here), so a vertex off the manifold by 1e-5 (a tenth of a percent of the
    mesh size) would miss the ring by far more than 2 %. Contrast: points 0.02 off the surface (along
    its normal) stay far from the circle."""
    s = circle_surface
    V, tau = s.vertices[M:], s.times[M:]
    X = _flow_for(net311, V, tau)
    d_at = _dist_to_circle(X[-1])
    assert np.all(np.abs(d_at - RADIUS) < 0.02 * RADIUS), (d_at.min(), d_at.max())
    X = _flow_for(net311, V, tau, extra=3.0)
    assert _dist_to_circle(X[-1]).max() < 0.5 * RADIUS
    # contrast: points 0.02 off the surface (along its normal in P coordinates) do not come close
    V3 = _P(s.vertices)
    N3 = _vertex_normals(V3, s.triangles)
    pick = np.arange(M, len(s.vertices), 97)
    off = _P_inv(V3[pick] + 0.02 * N3[pick])
    T = float(np.max(tau)) + 10.0
    tr2 = simulate(net311, off, T, t_eval=np.linspace(0, T, 500), method="DOP853", rtol=1e-11, atol=1e-13)
    assert _dist_to_circle(tr2.x).min(axis=0).min() > 10 * RADIUS


def test_points_just_off_the_surface_reach_different_minima(net311, circle_surface):
    """x(P(v) +- delta n) for vertices v, delta = 1e-3 (the vertices are on the manifold to ~1e-9; the
    mesh normal is off by O(step) only in angle): every + point reaches one minimum, every - point the
    other."""
    s = circle_surface
    V3 = _P(s.vertices)
    N3 = _vertex_normals(V3, s.triangles)
    outer = set(np.unique(s.boundary_edges()))
    pick = np.array([i for i in range(M, len(V3), 7) if i not in outer])
    plus = _P_inv(V3[pick] + 1e-3 * N3[pick])
    minus = _P_inv(V3[pick] - 1e-3 * N3[pick])
    b = basins(net311, np.vstack([plus, minus]))
    assert b.status == "ok", b.message
    lp, lm = set(b.labels[:len(pick)]), set(b.labels[len(pick):])
    assert len(lp) == 1 and len(lm) == 1 and lp != lm, (lp, lm)
    # the two minima of the leaf, in closed form
    w2 = (-C + math.sqrt(C * C + 4 * SIGMA ** 2)) / 2
    ends = np.unique(np.round(b.final[:, [0, 3]], 6), axis=0)
    w = math.sqrt(w2)
    assert np.allclose(sorted(ends.tolist()), [[-SIGMA / w, -w], [SIGMA / w, w]], atol=1e-5)
    assert np.allclose(b.final[:, 1:3], 0, atol=1e-5)


def test_the_surface_separates_the_basins_on_a_grid_of_the_leaf(net311, circle_surface):
    """A grid of the leaf (a grid of P coordinates): the side of the triangulated surface (sign of the
    offset from the closest point of the mesh along the face normal) predicts the basin label of
    dlnsys.separatrices.basins for every grid point farther than 0.03 from the mesh (in P
    coordinates: the piecewise-linear mesh departs from the smooth surface by about step^2 times the
    curvature, < 0.01 here). Grid points whose closest point is on the mesh's outer boundary (beyond
    the computed patch) are left out."""
    s = circle_surface
    V3 = _P(s.vertices)
    T = s.triangles
    A, B, Cc = V3[T[:, 0]], V3[T[:, 1]], V3[T[:, 2]]
    fn = np.cross(B - A, Cc - A)
    fn /= np.linalg.norm(fn, axis=1)[:, None]
    boundary = {tuple(e) for e in s.boundary_edges().tolist()}
    g = np.linspace(-2.4, 2.4, 9)
    G = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    G = G[np.linalg.norm(G, axis=1) > 0.3]
    side, keep = [], []
    for p in G:
        d, k, bary, Q = _closest_on_mesh(p, A, B, Cc)
        tri = T[k]
        on_boundary = False
        if np.sum(bary > 1e-9) <= 2:                     # on an edge or a vertex: is it a boundary one?
            vs = tri[bary > 1e-9]
            on_boundary = (len(vs) == 2 and tuple(sorted(vs.tolist())) in boundary) or \
                          (len(vs) == 1 and any(vs[0] in e for e in boundary))
        if d > 0.03 and not on_boundary:
            keep.append(p)
            side.append(np.sign((p - Q) @ fn[k]))
    keep = np.array(keep)
    side = np.array(side)
    assert len(keep) >= 150 and np.sum(side > 0) >= 30 and np.sum(side < 0) >= 30, (len(keep), np.sum(side > 0))
    b = basins(net311, _P_inv(keep))
    assert b.status == "ok", b.message
    labels = np.array(b.labels)
    lp, lm = set(labels[side > 0]), set(labels[side < 0])
    assert len(lp) == 1 and len(lm) == 1 and lp != lm, (lp, lm)


def test_unstable_surface_of_the_circle_ends_at_the_two_minima(net311):
    s = invariant_surface(net311, _circle(), kind="unstable", step=0.1, length=4.0)
    assert s.status == "ok", s.message
    w = math.sqrt((-C + math.sqrt(C * C + 4 * SIGMA ** 2)) / 2)
    mins = np.array([[SIGMA / w, 0, 0, w], [-SIGMA / w, 0, 0, -w]])
    # the fronts stop at equilibria (|f| below 10 eps): the last ring of each side is at one minimum
    last = {side: s.rings[max(i for i, sd in enumerate(s.ring_sides) if sd == side)] for side in (1, -1)}
    ends = [s.vertices[last[side]] for side in (1, -1)]
    assert s.reached < 4.0
    for E in ends:
        d = np.min(np.linalg.norm(E[:, None, :] - mins[None], axis=2), axis=1)
        assert d.max() < 1e-3
    assert not np.allclose(ends[0].mean(0), ends[1].mean(0))
    # invariance: the vector field is tangent to the surface (in P coordinates, where the leaf is R^3)
    _check_tangent(net311, s, ratio=0.05, P=True)


def _check_tangent(net, s, ratio, P=False, skip=None):
    """|f . n| / |f| at the vertices (n: mesh vertex normal) below ``ratio``: the piecewise-linear normal is
    off by O(step x curvature), the flow is tangent to the exact surface."""
    V = s.vertices
    if P:
        V3 = _P(V)
        # the flow in P coordinates: dP = JP f, by central differences (P is smooth on the leaf C > 0)
        f = flow.vector_field(net, V)
        h = 1e-6
        F = (_P(V + h * f) - _P(V - h * f)) / (2 * h)
    else:
        V3, F = V, flow.vector_field(net, V)
    n = _vertex_normals(V3, s.triangles)
    nf = np.linalg.norm(F, axis=1)
    sel = nf > 1e-6 * nf.max()
    if skip is not None:
        sel[skip] = False
    r = np.abs(np.sum(F * n, axis=1))[sel] / nf[sel]
    assert r.max() < ratio, r.max()
    return r


def test_accepts_an_equilibrium_manifold_and_a_curve(net311):
    from dlnsys import equilibrium_manifolds

    res = equilibrium_manifolds(net311, [[C]], signatures=[()], seed=0, max_time=20.0)
    comps = res[()].components
    assert comps and comps[0].dimension == 1
    s = invariant_surface(net311, comps[0], step=0.2, length=0.6)
    assert s.status == "ok" and s.closed, s.message
    assert np.allclose(_dist_to_circle(s.saddle), 0, atol=1e-8)


# =========================================================================== point saddle
@pytest.fixture(scope="module")
def reg211():
    # Network([2, 1, 1]) with weight decay: x = (a, b, w), no conservation law (gamma > 0: the leaf is R^3).
    # The origin: J = [[-g, 0, s], [0, -g, 0], [s, 0, -g]], eigenvalues -g - s, -g (along b), s - g:
    # an index-1 saddle whose stable manifold is a surface.
    return Network([2, 1, 1], sigma=[SIGMA], gamma=0.3)


def test_point_saddle_surface_is_invariant_and_flows_to_the_saddle(reg211):
    s = invariant_surface(reg211, np.zeros(3), step=0.05, length=1.2)
    assert s.status == "ok", s.message
    assert s.source == "point" and np.allclose(s.eigenvalues, [-1.3, -0.3, 0.7])
    assert s.n_inserted > 0                               # the ring grows: points were inserted
    # tangency of the flow: 0.02 (measured 0.008: the piecewise-linear normal, step 0.05)
    _check_tangent(reg211, s, ratio=0.02)
    # closed-form curves in the manifold: the b axis (a = w = 0: b' = -g b) and the line b = 0, a = -w
    # (there (a + w)' = (a + w)(s - g - a w) and w' = -w (s + g + w^2)): points of both, up to 0.9 from
    # the origin (the mesh reaches 1.2), lie on the mesh up to its chord error (step^2 x curvature, < 1e-3)
    V, T = s.vertices, s.triangles
    t = np.linspace(-0.9, 0.9, 13)
    pts = np.vstack([np.column_stack([0 * t, t, 0 * t]), np.column_stack([t, 0 * t, -t]) / math.sqrt(2)])
    d = [_closest_on_mesh(p, V[T[:, 0]], V[T[:, 1]], V[T[:, 2]])[0] for p in pts]
    assert max(d) < 1e-3, max(d)
    # every vertex, flowed for its orbit time, lands on the initial ring |x| = radius (to 2 %; the orbit
    # times reach 20 here and errors across the manifold grow like exp(0.7 t): the vertices are exact
    # orbits of the initial circle, not interpolated), and comes closer still afterwards
    V, tau = s.vertices[1:], s.times[1:]
    X = _flow_for(reg211, V, tau)
    r = np.linalg.norm(X[-1], axis=1)
    assert np.all(np.abs(r - s.radius) < 0.02 * s.radius), (r.min(), r.max())
    X = _flow_for(reg211, V, tau, extra=3.0)
    assert np.linalg.norm(X[-1], axis=1).max() < 0.5 * s.radius


def test_mesh_is_conforming_and_consistently_oriented(reg211, circle_surface):
    for s in (invariant_surface(reg211, np.zeros(3), step=0.05, length=1.0), circle_surface):
        T = s.triangles
        assert T.min() >= 0 and T.max() < s.n_vertices
        e = np.concatenate([T[:, [0, 1]], T[:, [1, 2]], T[:, [2, 0]]])
        directed, counts = np.unique(e, axis=0, return_counts=True)
        assert counts.max() == 1                          # each directed edge once: one orientation
        und, uc = np.unique(np.sort(e, axis=1), axis=0, return_counts=True)
        assert uc.max() == 2                              # a surface: no edge in three triangles
        # the boundary is the outer ring(s) only: no T-junctions inside (inserted points split edges)
        outer = set()
        for side in set(s.ring_sides.tolist()):
            idx = [i for i, sd in enumerate(s.ring_sides) if sd == side]
            outer |= set(s.rings[idx[-1]].tolist())
        assert set(np.unique(s.boundary_edges()).tolist()) <= outer


def test_budgets(reg211):
    s = invariant_surface(reg211, np.zeros(3), step=0.05, length=1.5, max_vertices=300)
    assert s.status == "max_vertices" and "max_vertices" in s.message
    assert 17 <= s.n_vertices <= 300 and s.triangles.max() < s.n_vertices and s.reached < 1.5
    t0 = time.perf_counter()
    s = invariant_surface(reg211, np.zeros(3), step=0.01, length=5.0, max_time=0.3)
    assert s.status == "max_time" and time.perf_counter() - t0 < 3.0
    assert s.n_vertices > 0 and s.triangles.max() < s.n_vertices


def test_wrong_dimension_is_a_status_not_a_surface():
    # (62): the origin of Network([1, 1, 1]) on its leaf c = 0: one stable direction on a 1-D leaf
    net = Network([1, 1, 1], sigma=[1.0])
    s = invariant_surface(net, np.zeros(2))
    assert s.status in ("not_2d", "nonhyperbolic") and s.n_vertices == 0 and s.message
    # no unstable manifold of dimension 2 at the index-1 saddle of the regularized network
    s = invariant_surface(Network([2, 1, 1], sigma=[1.0], gamma=0.3), np.zeros(3), kind="unstable")
    assert s.status == "not_2d" and "dimension 1" in s.message


def test_validation(net311, reg211):
    circ = _circle()
    with pytest.raises(ValueError, match="kind"):
        invariant_surface(net311, circ, kind="sideways")
    for name, kw in (("radius", dict(radius=-1)), ("step", dict(step=0)), ("length", dict(length=float("nan"))),
                     ("max_vertices", dict(max_vertices=2.5)), ("max_time", dict(max_time=0)),
                     ("radius", dict(radius=3.0, length=2.0)), ("closed", dict(closed="yes"))):
        with pytest.raises(ValueError, match=name):
            invariant_surface(net311, circ, **kw)
    with pytest.raises(ValueError, match="saddle_or_set"):
        invariant_surface(net311, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"saddle_or_set\[0\]: not an equilibrium"):
        invariant_surface(net311, circ + np.array([0.1, 0, 0, 0]))
    with pytest.raises(ValueError, match="different leaves"):
        invariant_surface(net311, np.vstack([circ, 2 * circ]))
    with pytest.raises(ValueError, match="leaf: the saddle is not on this leaf"):
        invariant_surface(net311, circ, leaf=[[2.0]])
    with pytest.raises(ValueError, match="closed"):
        invariant_surface(reg211, np.zeros(3), closed=True)
    with pytest.raises(ValueError, match="leaf"):
        invariant_surface(reg211, np.zeros(3), leaf=[[1.0]])


def test_to_dict_is_json(reg211):
    s = invariant_surface(reg211, np.zeros(3), step=0.1, length=0.4)
    assert isinstance(s, InvariantSurface)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["status"] == "ok" and len(d["vertices"]) == s.n_vertices and d["times"][0] == "inf"
    assert len(d["triangles"]) == s.n_triangles and len(d["rings"]) == len(s.rings)


def test_docstring_example_runs():
    import doctest

    import dlnsys.surfaces

    result = doctest.testmod(dlnsys.surfaces, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
