"""Equilibrium manifolds on leaves (dlnsys.manifolds).

Oracles: closed forms (the circle of saddles and the two minima of Network([3, 1, 1]); the Stiefel
dimension of the h = 2, S = {} component; n_params - d_x d_y - n_laws for minima on generic leaves;
the orbit dimension on the 0-balanced leaf), the exact chain answers of equilibria_on_leaf, and the
rank of the bordered Jacobian [J; DC] computed here independently of the module.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlnsys
from dlnsys import Network, equilibrium_manifolds, init
from dlnsys.cli import main
from dlnsys.critical import read_signature
from dlnsys.invariants import conservation_differential, conserved
from dlnsys.leaves import equilibria_on_leaf

BOUND = 1e-10


def on_set(net, C, x, S):
    """The residual bounds of the issue, checked here from scratch."""
    mats = C if isinstance(C, list) else dlnsys.leaves.parse_leaf(net, C)[0]
    f = np.linalg.norm(net.vector_field(x))
    leaf_err = math.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(conserved(net, x), mats)))
    leaf_norm = math.sqrt(sum(float(np.sum(m * m)) for m in mats))
    return (f <= BOUND * np.linalg.norm(net.Sigma) and leaf_err <= BOUND * (1 + leaf_norm)
            and read_signature(net, x) == tuple(S))


def bordered_rank_nullity(net, x):
    """n_params - rank [J; DC], by an SVD with a relative threshold."""
    M = np.vstack([net.jacobian(x), conservation_differential(net, x)])
    s = np.linalg.svd(M, compute_uv=False)
    return net.n_params - int(np.sum(s > 1e-8 * max(s[0], 1.0)))


# ----------------------------------------------------------------------- the small examples
def test_network_311_mirror_minima_and_circle_of_saddles():
    net = Network([3, 1, 1], [1.0])
    res = equilibrium_manifolds(net, [0.8], seed=0)
    assert res.status == "ok" and [s.status for s in res] == ["found", "found"]
    sad, = res[()].components
    # a = w = 0, b^2 + c^2 = 0.8: a circle (Stiefel V_1(R^2)), index 1 on the leaf
    assert sad.dimension == 1 == sad.expected_dimension and sad.kernel_dimension == 1
    assert sad.index == 1 and sad.normally_hyperbolic and sad.kind == "strict saddle" and sad.strict
    a, b, c, w = sad.point
    assert abs(a) < 1e-10 and abs(w) < 1e-10 and b * b + c * c == pytest.approx(0.8, abs=1e-10)
    curve = sad.trace()
    assert curve.closed and curve.status == "ok"
    assert curve.length == pytest.approx(2 * math.pi * math.sqrt(0.8), rel=2e-3)      # polyline of a circle
    P = curve.points
    assert np.allclose(P[:, [0, 3]], 0, atol=1e-10)
    assert np.allclose(P[:, 1] ** 2 + P[:, 2] ** 2, 0.8, atol=1e-10)
    # the two minima: b = c = 0, w a = 1, a^2 - w^2 = 0.8 -> isolated (4 - 3 - 1 = 0), a mirror pair
    mins = res[(1,)].components
    assert len(mins) == 2 and all(m.dimension == 0 == m.expected_dimension for m in mins)
    a2 = (0.8 + math.sqrt(0.64 + 4)) / 2
    pts = sorted(tuple(np.round(m.point, 9)) for m in mins)
    want = sorted(tuple(np.round(s * np.array([math.sqrt(a2), 0, 0, 1 / math.sqrt(a2)]), 9)) for s in (1, -1))
    assert pts == want
    for m in mins:
        assert m.index == 0 and m.normally_hyperbolic and m.kind == "global minimum"
        assert np.all(m.normal_eigenvalues < 0) and m.normal_eigenvalues.size == 3
        assert on_set(net, [np.array([[0.8]])], m.point, (1,))


def test_network_311_negative_leaf_has_no_saddle_and_the_search_agrees():
    net = Network([3, 1, 1], [1.0])
    res = equilibrium_manifolds(net, [-0.8])
    assert res[()].status == "absent" and "negative eigenvalue" in res[()].reason
    unproved = equilibrium_manifolds(net, [-0.8], signatures=[()], proofs=False, n_starts=8, max_time=10)
    assert unproved[()].status == "not found" and unproved[()].tried["starts"] > 0


def _random_leaf_221(rng):
    net = Network([2, 2, 1], [1.5])
    return net, dlnsys.leaf_of(net, init.gaussian(net, scale=float(rng.uniform(0.3, 1.2)), seed=rng))


def test_network_221_minima_are_closed_curves_and_samples_stay_on_them():
    net = Network([2, 2, 1], [1.5])
    x0 = init.gaussian(net, scale=0.5, seed=1)
    C = dlnsys.leaf_of(net, x0)
    res = equilibrium_manifolds(net, C, seed=0)
    mins = res[(1,)]
    assert mins.status == "found" and 1 <= len(mins.components) <= 2
    for comp in mins.components:
        assert comp.dimension == 1 == comp.expected_dimension == bordered_rank_nullity(net, comp.point)
        assert comp.normally_hyperbolic and comp.index == 0
        T = comp.tangent_basis
        assert np.allclose(T.T @ T, np.eye(1), atol=1e-10)
        assert np.linalg.norm(net.jacobian(comp.point) @ T) <= 1e-8        # tangent vectors are null directions
        curve = comp.trace()
        assert curve.closed and curve.status == "ok" and curve.length > 0
        assert np.linalg.norm(curve.points[-1] - curve.points[0]) <= 1e-12  # returns to its start
        for p in curve.points[:: max(1, len(curve.points) // 10)]:
            assert on_set(net, C, p, (1,))
        pts = comp.sample(6, seed=3)
        assert len(pts) == 6
        for p in pts:
            assert on_set(net, C, p, (1,))
            # on this curve (not on another component)
            assert np.min(np.linalg.norm(curve.points - p, axis=1)) <= 2 * np.max(
                np.linalg.norm(np.diff(curve.points, axis=0), axis=1))
    if len(mins.components) == 2:
        c0 = mins.components[0].trace()
        assert np.min(np.linalg.norm(c0.points - mins.components[1].point, axis=1)) > 1e-3


def test_network_221_positive_definite_leaf_has_two_curves_told_apart_by_det_w1():
    """C_1 positive definite: two closed curves of minima 0.14 apart, one with det W_1 > 0 and one with det W_1 < 0
    (a reflection in an eigenvector of C_1 maps one onto the other); they must not be merged."""
    net = Network([2, 2, 1], [1.5])
    x0 = init.gaussian(net, scale=0.6, seed=5)
    C = dlnsys.leaf_of(net, x0)
    assert np.all(np.linalg.eigvalsh(C[0]) > 0)
    comps = equilibrium_manifolds(net, C, signatures=[(1,)], x0=x0, seed=0)[(1,)].components
    assert len(comps) == 2
    signs = []
    for comp in comps:
        P = comp.trace().points
        det = P[:, 0] * P[:, 3] - P[:, 1] * P[:, 2]
        assert np.all(det > 0) or np.all(det < 0)
        signs.append(np.sign(det[0]))
    assert sorted(signs) == [-1, 1]


def test_cover_builds_an_atlas_of_a_surface_of_minima():
    """Network([3, 2, 1]): 8 weights - 3 product constraints - 3 laws = 2: the minima on a leaf are surfaces."""
    net = Network([3, 2, 1], [1.2])
    C = dlnsys.leaf_of(net, init.gaussian(net, scale=0.6, seed=4))
    comp = equilibrium_manifolds(net, C, signatures=[(1,)], seed=0)[(1,)].components[0]
    assert comp.dimension == 2 == comp.expected_dimension
    atlas = comp.cover(max_charts=40, max_time=20)
    assert atlas.centers.shape[0] >= 7 and atlas.triangles.shape[1] == 3 and len(atlas.triangles) >= 6
    for p in atlas.centers:
        assert on_set(net, C, p, (1,))
    d = np.linalg.norm(atlas.centers[:, None, :] - atlas.centers[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.min(d) >= 0.85 * atlas.radius           # charts do not pile up


# ----------------------------------------------------------------------- absence proofs against the search
def test_h2_empty_signature_exists_iff_psd_of_low_rank():
    """h = 2, S = {}: the leaf holds such points iff C_1 is PSD of rank <= d_x - d_y (proved); the search
    finds them whenever the condition allows (with the Stiefel dimension) and never where it does not."""
    rng = np.random.default_rng(7)
    for trial in range(6):
        dy = 1
        dx = int(rng.integers(2, 4))
        d1 = int(rng.integers(1, 4))
        net = Network([dx, d1, dy], [1.3])
        if trial % 2 == 0:                                  # the condition holds: C_1 = M M^T
            r = int(rng.integers(1, min(d1, dx - dy) + 1))
            M = rng.standard_normal((d1, r)) @ rng.standard_normal((r, dx - dy))
            C = M @ M.T
        else:                                               # a generic leaf: C_1 indefinite or of full rank
            C = dlnsys.leaf_of(net, rng.standard_normal(net.n_params))[0]
        reason = dlnsys.absence_reason(net, C, ())
        res = equilibrium_manifolds(net, C, signatures=[()], proofs=False, seed=trial, n_starts=8, max_time=15)
        if reason is None:
            assert res[()].status == "found", (net.dims, C)
            comp = res[()].components[0]
            rank = np.linalg.matrix_rank(C, tol=1e-9)
            assert comp.dimension == rank * (dx - dy) - rank * (rank + 1) // 2 == comp.expected_dimension
            assert on_set(net, [C], comp.point, ())
        else:
            assert res[()].status == "not found"


def test_h2_inertia_bound_is_respected_by_the_search():
    rng = np.random.default_rng(11)
    net = Network([3, 3, 2], [2.0, 1.0])
    checked = 0
    for _ in range(4):
        C = dlnsys.leaf_of(net, rng.standard_normal(net.n_params))[0]
        for S in [(1,), (2,)]:
            reason = dlnsys.absence_reason(net, C, S)
            res = equilibrium_manifolds(net, C, signatures=[S], proofs=False, seed=1, max_time=10)
            if reason is not None:
                checked += 1
                assert res[S].status == "not found"
            elif res[S].status == "found":
                for comp in res[S].components:
                    assert on_set(net, [C], comp.point, S)
    # a leaf where the bound bites: C_1 with 2 negative eigenvalues rules out |S| = 1
    C = -np.diag([1.0, 2.0, 0.0]) + np.diag([0, 0, 3.0])
    for S in [(1,), (2,)]:
        assert "at most 1 negative" in dlnsys.absence_reason(net, C, S)
        assert equilibrium_manifolds(net, C, signatures=[S], proofs=False, max_time=10)[S].status == "not found"


# ----------------------------------------------------------------------- chains: agreement with the exact answers
@pytest.mark.parametrize("h,c", [(2, [0.5]), (2, [0.0]), (2, [-1.2]), (3, [0.4, -0.7]), (3, [1.0, -1.0]),
                                 (3, [0.0, 0.0])])
def test_chains_agree_with_the_exact_equilibria(h, c):
    net = Network((1,) * (h + 1), [1.7])
    exact = equilibria_on_leaf(net, c)
    res = equilibrium_manifolds(net, c, seed=0)
    comps = res.components
    assert all(m.dimension == 0 for m in comps)
    assert len(comps) == len(exact)
    for e in exact:
        d = [np.linalg.norm(m.point - e.state) for m in comps]
        m = comps[int(np.argmin(d))]
        assert min(d) <= 1e-9
        assert m.normally_hyperbolic == e.hyperbolic
        assert m.kind == e.kind
    if exact.status == "ok" and not any(e.signature == () for e in exact):
        assert res[()].status == "absent"


@pytest.mark.parametrize("dims,channels", [((2, 2, 2), [[0.5, -0.3]]), ((2, 2, 2, 2), [[0.4, -0.2], [0.3, 0.1]])])
def test_diagonal_leaves_agree_with_the_exact_diagonal_equilibria(dims, channels):
    """Every exact point of the diagonal reduction (55) is an equilibrium of the leaf analysis with the same kind,
    the same leaf nullity (kernel dimension), and its signature is found; off the diagonal there can be more
    (on these leaves the reduction has no saddle, the full network has strict ones)."""
    net = Network(dims, [2.0, 1.0])
    C = np.array(channels)
    exact = equilibria_on_leaf(net, C, method="diagonal")
    res = equilibrium_manifolds(net, C, seed=0)
    assert exact.status == "ok" and len(exact) > 0
    for e in exact:
        m = dlnsys.manifold_at(net, C, e.state)
        assert m.kind == e.kind and m.signature == e.signature
        assert m.kernel_dimension == e.leaf_nullity == bordered_rank_nullity(net, e.state)
        assert res[e.signature].status == "found"
        assert any(c.dimension == m.dimension for c in res[e.signature].components)
    for entry in res:
        for comp in entry.components:
            assert on_set(net, dlnsys.leaves.parse_leaf(net, C)[0], comp.point, entry.signature)
            assert comp.strict == (comp.kind == "strict saddle") and comp.kind == dlnsys.classify(net, comp.point).kind


# ----------------------------------------------------------------------- random architectures
@st.composite
def architectures(draw):
    h = draw(st.integers(1, 4))
    dy = draw(st.integers(1, 2))
    dims = [draw(st.integers(dy, 4))] + [draw(st.integers(dy, 4)) for _ in range(h - 1)] + [dy]
    return dims, draw(st.integers(0, 2 ** 31 - 1))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures())
def test_random_architectures_minima_dimension_matches_the_bordered_rank(arch):
    dims, seed = arch
    sigma = [2.0, 1.0][: dims[-1]]
    net = Network(dims, sigma)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(net.n_params) * 0.7
    C = dlnsys.leaf_of(net, x0) if net.h > 1 else None
    full = tuple(range(1, net.d_y + 1))
    res = equilibrium_manifolds(net, C, signatures=[full], seed=seed, x0=x0, max_time=20)
    entry = res[full]
    assert entry.status == "found"
    for comp in entry.components:
        assert on_set(net, C if C is not None else [], comp.point, full)
        assert comp.kernel_dimension == bordered_rank_nullity(net, comp.point)
        if not comp.leaf_singular:
            # generic leaf: the count n_params - d_x d_y - (independent laws) applies
            D = conservation_differential(net, comp.point)
            laws = np.linalg.matrix_rank(D) if D.size else 0
            assert comp.dimension == net.n_params - net.d_x * net.d_y - laws == comp.expected_dimension
            assert comp.normally_hyperbolic and comp.index == 0
        if comp.dimension:
            for p in comp.sample(3, seed=1):
                assert on_set(net, C if C is not None else [], p, full)


# ----------------------------------------------------------------------- the Section 6.1 network
SECTION61 = ([11, 6, 6, 6, 6, 4], [7, 5.5, 4, 2.5])


def test_section61_generic_leaf_minima_are_a_70_dimensional_normally_hyperbolic_manifold():
    net = Network(*SECTION61)
    x0 = init.gaussian(net, scale=0.5, seed=1)
    C = dlnsys.leaf_of(net, x0)
    res = equilibrium_manifolds(net, C, signatures=[(1, 2, 3, 4), (1, 2, 3)], x0=x0, symmetries=0,
                                n_starts=2, max_time=12)
    comp = res[(1, 2, 3, 4)].components[0]
    assert comp.dimension == 70 == comp.expected_dimension == 198 - 44 - 84
    assert comp.kernel_dimension == 70 and comp.normally_hyperbolic and comp.index == 0
    assert np.all(comp.normal_eigenvalues < 0) and comp.normal_eigenvalues.size == 44
    assert on_set(net, C, comp.point, (1, 2, 3, 4))
    sad = res[(1, 2, 3)]
    if sad.status == "found":
        for c in sad.components:
            assert on_set(net, C, c.point, (1, 2, 3))
            assert c.index >= 1 and c.kind == "strict saddle" or c.kind == "non-strict saddle"


def test_section61_balanced_leaf_components_are_orbits():
    """On C = 0 every balanced critical point is W_i = U_i D U_(i-1)^T: the component of signature S is a product
    of Stiefel manifolds, of dimension sum_i (k d_i - k (k + 1) / 2), k = |S|."""
    net = Network(*SECTION61)
    res = equilibrium_manifolds(net, np.zeros(84), signatures=[(), (1,), (2, 4), (1, 2, 3, 4)], max_time=40)
    for S, dim in [((), 0), ((1,), 20), ((2, 4), 36), ((1, 2, 3, 4), 56)]:
        entry = res[S]
        assert entry.status == "found" and len(entry.components) == 1
        comp = entry.components[0]
        assert comp.dimension == dim == comp.expected_dimension
        assert comp.leaf_singular
        assert on_set(net, np.zeros(84), comp.point, S)
    assert res[()].components[0].kind == "non-strict saddle" and not res[()].components[0].normally_hyperbolic


# ----------------------------------------------------------------------- equilibria_on_leaf, bad input, CLI
def test_equilibria_on_leaf_default_call_returns_the_manifolds():
    net = Network([2, 2, 1], [1.5])
    C = dlnsys.leaf_of(net, init.gaussian(net, scale=0.5, seed=1))
    res = equilibria_on_leaf(net, C, n_starts=5)
    assert res.status == "manifold" and "not isolated" in res.message
    assert res.manifolds is not None and len(res) == len(res.manifolds.components)
    assert all(e.dimension == 1 for e in res)


@pytest.mark.parametrize("kw,match", [
    (dict(net=Network([2, 2, 1], [1.0], gamma=0.1)), "gamma"),
    (dict(C=[1.0, 2.0]), "C"),
    (dict(signatures=[(3,)]), "signatures"),
    (dict(signatures="1"), "signatures"),
    (dict(n_starts=0.5), "n_starts"),
    (dict(max_time=-1), "max_time"),
    (dict(x0=np.zeros(5)), "x0"),
])
def test_bad_input_names_the_argument(kw, match):
    args = dict(net=Network([2, 2, 1], [1.0]), C=[[0.5, 0.1], [0.1, -0.2]])
    args.update(kw)
    net, C = args.pop("net"), args.pop("C")
    with pytest.raises(ValueError, match=match):
        equilibrium_manifolds(net, C, **args)


def test_mask_is_refused():
    mask = np.ones(6, bool)
    mask[1] = False
    net = Network([2, 2, 1], [1.0], mask=mask)
    with pytest.raises(ValueError, match="mask"):
        equilibrium_manifolds(net, [[0.5, 0.1], [0.1, -0.2]])


def test_cli_rows_json_and_samples(tmp_path, capsys):
    assert main(["manifolds", "--dims", "3,1,1", "--sigma", "1", "--leaf", "0.8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].split()[:5] == ["{}", "found", "1", "1", "1"]
    assert out[3].split()[:5] == ["{1}", "found", "2", "0", "0"]
    path = tmp_path / "pts.npz"
    assert main(["manifolds", "--dims", "2,2,1", "--sigma", "1.5", "--leaf", "0.5,0.1,-0.2", "--samples", "4",
                 "--out", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [s["status"] for s in d["sets"]] == ["absent", "found"]
    net = Network([2, 2, 1], [1.5])
    with np.load(path) as z:
        keys = [k for k in z.files if k.startswith("S1__")]
        assert keys
        for k in keys:
            for p in z[k]:
                assert on_set(net, [np.array([[0.5, 0.1], [0.1, -0.2]])], p, (1,))
    # nothing overwritten without --force; bad input: exit 2 and one line
    assert main(["manifolds", "--dims", "2,2,1", "--sigma", "1.5", "--leaf", "0.5,0.1,-0.2", "--out", str(path)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["manifolds", "--dims", "2,2,1", "--sigma", "1.5", "--leaf", "1,2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dlnsys: error: --leaf")


def test_cli_leaf_from_a_run(tmp_path, capsys):
    run = tmp_path / "run.npz"
    assert main(["simulate", "--dims", "2,2,1", "--sigma", "1.5", "--init", "large", "--t", "5", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["manifolds", "--dims", "2,2,1", "--sigma", "1.5", "--leaf-from", str(run), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    traj = dlnsys.Trajectory.from_npz(run)
    leaf = np.concatenate([m[np.triu_indices(2)] for m in dlnsys.leaf_of(Network([2, 2, 1], [1.5]), traj.x[0])])
    assert np.allclose(np.concatenate([np.array(m)[np.triu_indices(2)] for m in d["leaf"]]), leaf)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["manifolds", "--dims", "2,2,1", "--sigma", "1.5", "--leaf-from", str(bad)]) == 2
    assert "--leaf-from" in capsys.readouterr().err


def test_docstring_examples_run():
    import doctest

    import dlnsys.manifolds
    result = doctest.testmod(dlnsys.manifolds, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


# ----------------------------------------------------------------------- matrix-free (n_params > 5,000)
@pytest.mark.parametrize("dims", [[5, 3, 4, 2], [4, 4, 4, 4, 3], [6, 3, 3]])
def test_matrix_free_operators_and_analysis_agree_with_dense(dims):
    from dlnsys._leafscale import LargeOperators, minimum_analysis, polish_minimum
    from dlnsys.critical import _product_differential
    net = Network(dims, [2.0, 1.5, 1.0][: dims[-1]])
    rng = np.random.default_rng(len(dims))
    x = rng.standard_normal(net.n_params)
    ops = LargeOperators(net, x)
    K, D = _product_differential(net, x), conservation_differential(net, x)
    E = np.eye(net.n_params)
    assert np.allclose(np.array([ops.K(e) for e in E]).T, K, atol=1e-12)
    assert np.allclose(np.array([ops.DC(e) for e in E]).T, D, atol=1e-12)
    assert np.allclose(np.array([ops.KT(e) for e in np.eye(K.shape[0])]).T, K.T, atol=1e-12)
    assert np.allclose(np.array([ops.DCT(e) for e in np.eye(D.shape[0])]).T, D.T, atol=1e-12)
    C = dlnsys.leaf_of(net, 0.7 * x)
    pol = polish_minimum(net, C, 0.7 * x)
    assert pol.status == "ok" and on_set(net, C, pol.x, tuple(range(1, net.d_y + 1)))
    an = minimum_analysis(net, pol.x, k=3)
    dense = dlnsys.manifold_at(net, C, pol.x)
    assert an.certified and an.dimension == dense.dimension == bordered_rank_nullity(net, pol.x)
    assert np.allclose(np.sort(an.normal_eigenvalues), np.sort(dense.normal_eigenvalues)[:3], rtol=1e-6)


def test_matrix_free_budget_is_reported():
    from dlnsys._leafscale import polish_minimum
    net = Network([4, 4, 4, 4, 3], [2.0, 1.5, 1.0])
    x = np.random.default_rng(0).standard_normal(net.n_params)
    pol = polish_minimum(net, dlnsys.leaf_of(net, x), 3 * x, max_iter=1)
    assert pol.status in ("failed", "budget") and pol.message


def test_above_5000_weights_the_minima_are_analysed_matrix_free():
    net = Network([32] * 6, np.linspace(2.0, 1.0, 32))                   # 5,120 weights, 2,112 laws
    x = dlnsys.random_critical_point(net, tuple(range(1, 33)), 0).x
    C = dlnsys.leaf_of(net, x)
    rng = np.random.default_rng(1)
    res = equilibrium_manifolds(net, C, x0=x + 1e-4 * rng.standard_normal(net.n_params))
    comp, = res.components
    assert comp.dimension == 5120 - 32 * 32 - 4 * 32 * 33 // 2 == comp.expected_dimension == 1984
    assert comp.normally_hyperbolic and comp.index == 0 and comp.tangent_basis is None
    assert np.all(comp.normal_eigenvalues < 0)
    assert on_set(net, C, comp.point, tuple(range(1, 33)))
    with pytest.raises(ValueError, match="sample"):
        comp.sample(2)
    saddle = equilibrium_manifolds(net, C, x0=x, signatures=[(1,)])
    assert saddle[(1,)].status == "not found" and "only the global minima" in saddle[(1,)].reason
