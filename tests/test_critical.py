"""Critical points (Section 4): signatures (31), the parametrization (32)-(33), Props. 14-23,
Theorem 24's counts, equivalence (Props. 16, 40), classification and the CLI.

Tolerances: constructed points have O(1) entries and changes of basis with condition number
at most e, so their gradient and the closed forms hold to rounding (~1e-14); 1e-10 leaves
four orders of margin. Dense Hessian eigenvalues are exact to ~1e-13 here, so a
"non-negative" eigenvalue is checked against -1e-9.
"""
from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlnsys import Network
from dlnsys import critical as C
from dlnsys.network import AssumptionWarning, BottleneckWarning

TOL = 1e-10


def quiet_net(dims, sigma, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (BottleneckWarning, AssumptionWarning))
        return Network(dims, sigma, **kw)


def all_signatures(net):
    cap = min(net.d_y, net.d_min)
    for r in range(cap + 1):
        yield from itertools.combinations(range(1, net.d_y + 1), r)


def A_power_h(net, x):
    return np.linalg.matrix_power(net.adjacency(x), net.h)


def blk_h(net, M):
    E = np.zeros((net.n_nodes, net.n_nodes))
    o = net.node_offsets
    E[o[net.h]:o[net.h + 1], o[0]:o[1]] = M
    return E


def S_Sigma(net, S):
    M = np.zeros((net.d_y, net.d_x))
    for s in S:
        M[s - 1, s - 1] = net.sigma[s - 1]
    return M


@st.composite
def architectures(draw, min_h=2, max_h=4, bottleneck=True):
    h = draw(st.integers(min_h, max_h))
    d_y = draw(st.integers(1, 3))
    lo = 1 if bottleneck else d_y
    hidden = [draw(st.integers(lo, d_y + 2)) for _ in range(h - 1)]
    d_x = draw(st.integers(d_y, d_y + 2))
    gaps = draw(st.lists(st.floats(0.2, 1.5), min_size=d_y, max_size=d_y))
    sigma = np.cumsum(gaps[::-1])[::-1] + 0.3          # strictly decreasing, >= 0.5
    return quiet_net([d_x] + hidden + [d_y], sigma)


# ------------------------------------------------------------------ signatures (31)
def test_signatures_values_sorted_and_counted():
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    table = C.signatures(net)
    assert len(table) == 16
    values = [e.critical_value for e in table]
    assert values == sorted(values)
    sq = net.sigma ** 2
    for e in table:
        expected = 0.5 * sum(sq[i - 1] for i in range(1, 5) if i not in e.signature)
        assert e.critical_value == pytest.approx(expected, abs=1e-12)
        assert e.rank == len(e.signature)
    assert table[0].signature == (1, 2, 3, 4) and table[0].kind == "global minimum"
    assert table[-1].signature == () and table[-1].critical_value == pytest.approx(0.5 * sq.sum())
    assert table.assumption2 is True and not table.bottleneck
    kinds = {e.signature: e.kind for e in table}
    assert kinds[(1, 2, 4)] == "strict saddle"          # S != {1..r}: Prop. 21
    assert kinds[(1, 2)] == "strict or non-strict saddle"
    json.dumps(table.to_dict())


def test_signatures_assumption2_violation_is_reported():
    # sigma^2 = (5, 4, 1): {1} and {2, 3} have the same partial sum
    net = quiet_net((3, 3, 3), sigma=[np.sqrt(5.0), 2.0, 1.0])
    table = C.signatures(net)
    assert table.assumption2 is False
    assert any("Assumption 2" in n for n in table.notes)


def test_signatures_bottleneck_reduced_global_minimum():
    with pytest.warns(BottleneckWarning):
        net = Network((4, 3, 2, 3), sigma=[3.0, 2.0, 1.0])
    table = C.signatures(net)
    assert table.global_minimum == (1, 2)
    assert all(len(e.signature) <= 2 for e in table)
    assert len(table) == 1 + 3 + 3
    kinds = {e.signature: e.kind for e in table}
    assert kinds[(1, 2)] == "global minimum"
    assert kinds[(1, 3)] == "strict saddle"             # rank d_min but S != {1..d_min} (Section 7)
    assert any("bottleneck" in n for n in table.notes)
    with pytest.raises(ValueError, match="d_min"):
        C.critical_point(net, (1, 2, 3))


def test_h1_has_only_the_global_minimum():
    net = Network((3, 2), sigma=[2.0, 1.0])
    table = C.signatures(net)
    assert [e.signature for e in table] == [(1, 2)]
    cp = C.critical_point(net, (1, 2))
    assert np.allclose(net.product(cp.x), S_Sigma(net, (1, 2)))
    with pytest.raises(ValueError, match="only critical point"):
        C.critical_point(net, (1,))


# ------------------------------------------------------------------ (32)-(33): constructed points
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=architectures(), seed=st.integers(0, 2 ** 31))
def test_constructed_critical_points_property(net, seed):
    """Every signature: |f| <= 1e-10, A^h = blk_h(S Sigma), loss = (31), and classify agrees."""
    rng = np.random.default_rng(seed)
    for S in all_signatures(net):
        cp = C.random_critical_point(net, S, rng)
        x = cp.x
        assert np.linalg.norm(net.vector_field(x)) <= TOL
        assert np.max(np.abs(A_power_h(net, x) - blk_h(net, S_Sigma(net, S)))) <= TOL
        assert abs(net.loss(x) - C.critical_value(net, S)) <= TOL
        assert C.equivalent(net, x, cp.x_A1)
        c = C.classify(net, x)
        assert c.is_critical and c.signature == S
        assert c.critical_value == pytest.approx(C.critical_value(net, S), abs=1e-12)
        assert c.consistent in (True, None), c.notes
        assert (c.n_unstable_arcs, c.n_stable_arcs) == C.arc_counts(net, S)


def test_near_diagonal_representative_is_32():
    net = Network((4, 3, 3, 3), sigma=[3.0, 2.0, 1.0])
    cp = C.critical_point(net, (1, 3))
    W1, W2, W3 = net.unpack(cp.x)
    assert np.array_equal(W1, [[3, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])   # [U_S^T Sigma; 0]
    assert np.array_equal(W2, np.diag([1.0, 1.0, 0.0]))                      # [I_r 0; 0 0]
    assert np.array_equal(W3, [[1, 0, 0], [0, 0, 0], [0, 1, 0]])             # [U_S 0]
    assert cp.zero_blocks == (1, 2, 3)


def test_critical_point_with_P_and_Z():
    net = Network((3, 4, 4, 4, 2), sigma=[2.0, 1.0])
    rng = np.random.default_rng(0)
    P = [np.eye(4) + 0.3 * rng.standard_normal((4, 4)) for _ in range(3)]
    Z = [None, rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), None]   # r = 1
    cp = C.critical_point(net, {1}, P=P, Z=Z)
    assert cp.zero_blocks == (1, 4)
    assert np.linalg.norm(net.vector_field(cp.x)) <= TOL
    assert np.allclose(net.product(cp.x), S_Sigma(net, (1,)), atol=TOL)
    # the change of basis is the one given: W_2 = P_2 (A_1 + Z)_2 P_1^{-1}
    A1Z = net.unpack(C.critical_point(net, {1}, Z=Z).x)
    assert np.allclose(net.unpack(cp.x)[1], P[1] @ A1Z[1] @ np.linalg.inv(P[0]))


def test_one_zero_block_is_refused_and_not_critical():
    """The sufficient condition needs two zero blocks; with one the point is indeed not critical."""
    net = Network((2, 2, 2, 2), sigma=[2.0, 1.0])
    Z = [np.ones((1, 2)), np.ones((1, 1)), None]
    with pytest.raises(ValueError, match="at least two zero blocks"):
        C.critical_point(net, {1}, Z=Z)
    # build the same point by hand: the gradient of layer 3 is Z_3-free but layer 2's is not zero
    A1 = net.unpack(C.critical_point(net, {1}).x)
    A1[0][1:, :] = 1.0
    A1[1][1:, 1:] = 1.0
    assert np.linalg.norm(net.vector_field(net.pack(A1))) > 0.1


# ------------------------------------------------------------------ Props. 20, 21
def paper_R(net, cp, i, j):
    """Prop. 21's R for the pair (i, j), carried by the construction's P as V = P R P^{-1} (Lemma 19)."""
    S = cp.signature
    Ws = [np.zeros(s) for s in net.shapes]
    pos = S.index(j)
    Ws[0][pos, i - 1] = net.sigma[i - 1]          # [U_K^T Sigma; 0], U_K = E_{i, pos(j)}
    Ws[-1][i - 1, pos] = 1.0                      # [U_K 0]
    return net.pack(C._apply_P(net, Ws, cp.P))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=architectures(), seed=st.integers(0, 2 ** 31))
def test_prop21_negative_direction_value(net, seed):
    """h(A, V) = -(sigma_i^2 - sigma_j^2) for every admissible (i, j), both forms of V, to 1e-10."""
    rng = np.random.default_rng(seed)
    for S in all_signatures(net):
        r = len(S)
        if S == tuple(range(1, r + 1)):
            continue
        cp = C.random_critical_point(net, S, rng)
        H = net.hessian(cp.x)
        for i, j in itertools.product(range(1, net.d_y + 1), S):
            if i in S or i > j:
                continue
            target = -(net.sigma[i - 1] ** 2 - net.sigma[j - 1] ** 2)
            for V in (C.negative_direction(net, cp.x, i, j), paper_R(net, cp, i, j)):
                assert abs(net.hessian_form(cp.x, V) - target) <= TOL
                assert abs(V @ H @ V - target) <= TOL          # (22) agrees with the dense Hessian


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=architectures(), seed=st.integers(0, 2 ** 31))
def test_prop20_zero_direction(net, seed):
    rng = np.random.default_rng(seed)
    for S in all_signatures(net):
        cp = C.random_critical_point(net, S, rng)
        V = C.zero_direction(net, cp.x)
        assert np.linalg.norm(V) > 1e-3
        assert abs(net.hessian_form(cp.x, V)) <= TOL


def test_prop20_empty_signature_paper_case():
    """S empty, A != 0: V on layer i with columns from W_{1:i}, R(W_{1:i}) in N(W_{i+1})."""
    net = Network((2, 3, 3, 3, 2), sigma=[2.0, 1.0])
    Z = [np.ones((3, 2)), np.ones((3, 3)), None, None]     # r = 0: W_{1:2} != 0, W_3 = 0
    cp = C.critical_point(net, (), Z=Z)
    assert np.linalg.norm(net.vector_field(cp.x)) <= TOL
    V = C.zero_direction(net, cp.x)
    Vs = net.unpack(V)
    assert np.any(Vs[1]) and not any(np.any(Vs[k]) for k in (0, 2, 3))
    W1, W2, W3, _ = net.unpack(cp.x)
    assert np.allclose(W3 @ Vs[1], 0)                      # AV = 0 on that layer
    assert abs(net.hessian_form(cp.x, V)) <= TOL


# ------------------------------------------------------------------ Props. 18, 23 and the Hessian
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=architectures(min_h=3, max_h=5), seed=st.integers(0, 2 ** 31))
def test_prop23_tightened_points_have_no_negative_eigenvalue(net, seed):
    rng = np.random.default_rng(seed)
    cap = min(net.d_y, net.d_min)
    for r in range(cap):                                   # S = {1..r}, r below the maximum
        S = tuple(range(1, r + 1))
        zero = rng.choice(np.arange(1, net.h + 1), size=3, replace=False)
        cp = C.random_critical_point(net, S, rng, zero_blocks=zero)
        w = np.linalg.eigvalsh(net.hessian(cp.x))
        assert w[0] >= -1e-9
        c = C.classify(net, cp.x)
        assert c.tightened and c.kind == "non-strict saddle" and c.consistent


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=architectures(), seed=st.integers(0, 2 ** 31))
def test_strict_points_have_a_negative_eigenvalue(net, seed):
    """S != {1..r}: lambda_min(H) <= h(A, V) / ||V||^2 < 0 (Rayleigh quotient of Prop. 21's V)."""
    rng = np.random.default_rng(seed)
    for S in all_signatures(net):
        if S == tuple(range(1, len(S) + 1)):
            continue
        cp = C.random_critical_point(net, S, rng)
        V = C.negative_direction(net, cp.x)
        lam = np.linalg.eigvalsh(net.hessian(cp.x))[0]
        assert lam <= net.hessian_form(cp.x, V) / (V @ V) + 1e-10 < 0
        c = C.classify(net, cp.x)
        assert c.kind == "strict saddle" and c.numerical_kind == "strict saddle"
        assert c.n_negative >= 1 and c.negative_curvature < 0
        assert c.negative_direction_source.startswith("Prop. 21")


def test_one_hidden_layer_saddles_are_strict():
    net = Network((3, 3, 3), sigma=[3.0, 2.0, 1.0])
    for r in range(3):
        cp = C.random_critical_point(net, tuple(range(1, r + 1)), rng=r)
        c = C.classify(net, cp.x)
        assert c.theory_kind == "strict saddle" and c.numerical_kind == "strict saddle"
        assert c.negative_direction_source.startswith("Hessian eigenvector")
        assert c.negative_curvature == pytest.approx(c.min_eigenvalue, abs=1e-10)


def test_theorem24_counts_dy4():
    net = Network((5, 4, 4, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    table = {e.signature: e for e in C.signatures(net)}
    assert len(table) == 16
    for S in all_signatures(net):
        k = len(S)
        assert (table[S].n_unstable_arcs, table[S].n_stable_arcs) == (2 ** (4 - k) - 1, 2 ** k - 1)
        # the counts by enumeration of supersets / subsets (Theorem 24.3's proof)
        sup = sum(1 for T in table if set(S) < set(T))
        sub = sum(1 for T in table if set(T) < set(S))
        assert (sup, sub) == (2 ** (4 - k) - 1, 2 ** k - 1)
        c = C.classify(net, C.random_critical_point(net, S, rng=k).x)
        assert (c.n_unstable_arcs, c.n_stable_arcs) == (2 ** (4 - k) - 1, 2 ** k - 1)


# ------------------------------------------------------------------ paper examples
def test_62_origin_strict_and_65_origin_nonstrict():
    c62 = C.classify(Network((1, 1, 1), sigma=[1.5]), np.zeros(2))
    assert c62.kind == "strict saddle" and c62.consistent
    assert c62.n_negative == 1 and c62.min_eigenvalue == pytest.approx(-1.5)
    v = c62.negative_direction / np.linalg.norm(c62.negative_direction)
    assert abs(abs(v @ np.array([1, 1]) / np.sqrt(2)) - 1) < 1e-12     # escape along w1 = w2
    c65 = C.classify(Network((1, 1, 1, 1), sigma=[1.5]), np.zeros(3))
    assert c65.kind == "non-strict saddle" and c65.tightened and c65.n_zero == 3
    assert c65.negative_direction is None


def test_62_equilibria_are_global_minima():
    net = Network((1, 1, 1), sigma=[2.0])
    for w1 in (0.3, 1.0, -4.0):
        c = C.classify(net, [w1, 2.0 / w1])
        assert c.kind == "global minimum" and c.signature == (1,)
        assert c.n_zero == 1 and c.n_positive == 1


def test_section61_global_minimum_zero_eigenvalues_cover_the_fiber():
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    cp = C.random_critical_point(net, (1, 2, 3, 4), rng=0)
    dim = C.fiber_dimension(net, cp.x)
    assert dim == net.n_params - 11 * 4 == 154
    c = C.classify(net, cp.x)
    assert c.kind == "global minimum"
    assert c.n_zero >= dim
    # the fiber's tangent directions from the hidden changes of basis, [G, A], are null vectors of H
    A = net.adjacency(cp.x)
    o = net.node_offsets
    rng = np.random.default_rng(1)
    for _ in range(5):
        G = np.zeros_like(A)
        k = rng.integers(1, net.h)
        G[o[k]:o[k + 1], o[k]:o[k + 1]] = rng.standard_normal((6, 6))
        V = net.from_adjacency(G @ A - A @ G, atol=1e-12)
        assert np.linalg.norm(net.hvp(cp.x, V)) <= 1e-10 * np.linalg.norm(V) * np.linalg.norm(A) ** 2


def test_fiber_dimension_finite_differences():
    """Directions in the kernel of d phi keep W_{1:h} fixed to second order (finite differences)."""
    net = Network((3, 3, 2), sigma=[2.0, 1.0])
    x = np.random.default_rng(2).standard_normal(net.n_params)
    K = C._product_differential(net, x)
    eps = 1e-6
    rng = np.random.default_rng(3)
    for _ in range(3):
        v = rng.standard_normal(net.n_params)
        fd = (net.product(x + eps * v) - net.product(x - eps * v)).reshape(-1) / (2 * eps)
        assert np.allclose(K @ v, fd, atol=1e-8)
    assert C.fiber_dimension(net, x) == net.n_params - 6


# ------------------------------------------------------------------ equivalence (Props. 16, 40)
@settings(max_examples=50, deadline=None)
@given(net=architectures(), seed=st.integers(0, 2 ** 31))
def test_equivalent_points_share_the_product(net, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(net.n_params)
    y = C.equivalent_point(net, x, rng)
    assert C.equivalent(net, x, y)
    assert abs(net.loss(x) - net.loss(y)) <= 1e-9 * max(1.0, net.loss(x))
    z = x + 1e-3 * rng.standard_normal(net.n_params)
    if np.linalg.norm(net.product(z) - net.product(x)) > 1e-6:
        assert not C.equivalent(net, x, z)


def test_equivalent_point_of_critical_point_by_P_stays_critical():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    cp = C.random_critical_point(net, (2,), rng=0)
    y = C.equivalent_point(net, cp.x, rng=1, Z=[None, None, None])
    assert C.equivalent(net, cp.x, y) and not np.allclose(y, cp.x)
    assert np.linalg.norm(net.vector_field(y)) <= TOL


def test_equivalent_point_prop40_conditions_are_checked():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    x = net.pack([np.diag([1.0, 0.0]), np.diag([2.0, 0.0])])
    ok = [np.array([[0.0, 0.0], [0.0, 1.0]]), None]      # W_2 Z_1 = 0
    y = C.equivalent_point(net, x, P=[np.eye(2)], Z=ok)
    assert C.equivalent(net, x, y) and not np.allclose(x, y)
    with pytest.raises(ValueError, match="null space"):
        C.equivalent_point(net, x, Z=[np.array([[1.0, 0.0], [0.0, 0.0]]), None])
    with pytest.raises(ValueError, match="Z_h ... Z_1 = 0"):
        C.equivalent_point(net, x, Z=[np.array([[0.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [0.0, 1.0]])])


# ------------------------------------------------------------------ classification details
def test_classify_regular_and_nearly_critical_points():
    net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    cp = C.random_critical_point(net, (1,), rng=4)
    near = cp.x + 1e-9 * np.random.default_rng(0).standard_normal(net.n_params)
    c = C.classify(net, near)
    assert c.is_critical and c.signature == (1,)          # relative gradient ~1e-9 <= 1e-6
    far = cp.x + 1e-2 * np.random.default_rng(0).standard_normal(net.n_params)
    c = C.classify(net, far)
    assert not c.is_critical and c.kind == "regular point" and c.signature is None
    assert c.n_unstable_arcs is None
    c = C.classify(net, far, tol=1.0)                      # a loose tolerance accepts it
    assert c.relative_gradient <= 1.0


def test_classify_lanczos_path_matches_dense():
    net = Network((6, 5, 5, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    for S in [(1, 3), (1, 2, 3, 4), (1, 2)]:
        x = C.random_critical_point(net, S, rng=len(S)).x
        dense = C.classify(net, x)
        lz = C.classify(net, x, method="lanczos")
        assert lz.kind == dense.kind and lz.signature == dense.signature
        assert lz.n_negative is None and any("Lanczos" in n for n in lz.notes)
        assert lz.min_eigenvalue == pytest.approx(dense.min_eigenvalue, abs=1e-8 * max(1, abs(dense.min_eigenvalue)))


def test_classify_to_dict_is_json():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    c = C.classify(net, C.critical_point(net, (2,)).x)
    d = c.to_dict()
    json.dumps(d)
    assert d["signature"] == [2] and d["kind"] == "strict saddle"
    assert "negative_direction" not in c.to_dict(vectors=False)
    json.dumps(C.random_critical_point(net, (1,), rng=0).to_dict())


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("S, msg", [
    ((0,), "out of range"), ((3,), "out of range"), ((1, 1), "repeated"), (("a",), "integers"),
    ("12", "set of 1-based"), ((1.5,), "integers"), ((True,), "integers"), (5, "set of 1-based"),
])
def test_bad_signatures(S, msg):
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    with pytest.raises(ValueError, match=msg):
        C.critical_point(net, S)


def test_bad_P_Z_and_points():
    net = Network((2, 3, 2), sigma=[2.0, 1.0])
    with pytest.raises(ValueError, match=r"P\[0\]: P_1 must have shape"):
        C.critical_point(net, (1,), P=[np.eye(2)])
    with pytest.raises(ValueError, match="singular"):
        C.critical_point(net, (1,), P=[np.zeros((3, 3))])
    with pytest.raises(ValueError, match="NaN"):
        C.critical_point(net, (1,), P=[np.full((3, 3), np.nan)])
    with pytest.raises(ValueError, match=r"Z\[0\]: Z_1 must have shape"):
        C.critical_point(net, (1,), Z=[np.zeros((3, 2)), None])
    with pytest.raises(ValueError, match="expected shape"):
        C.classify(net, np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        C.classify(net, np.full(net.n_params, np.nan))
    with pytest.raises(ValueError, match="tol"):
        C.classify(net, np.zeros(net.n_params), tol=-1)
    with pytest.raises(ValueError, match="gamma = 0"):
        C.classify(Network((2, 3, 2), sigma=[2.0, 1.0], gamma=0.1), np.zeros(12))
    with pytest.raises(ValueError, match="i < j"):
        C.negative_direction(net, C.critical_point(net, (1,)).x, 2, 1)
    with pytest.raises(ValueError, match=r"S != \{1..r\}"):
        C.negative_direction(net, C.critical_point(net, (1,)).x)
    with pytest.raises(ValueError, match="not of the form"):
        C.negative_direction(net, np.full(net.n_params, 0.7))


# ------------------------------------------------------------------ CLI
def test_cli_critical_points(capsys):
    from dlnsys.cli import main
    assert main(["critical-points", "--dims", "3,3,3,2", "--sigma", "2,1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {tuple(e["signature"]): e for e in out["entries"]}
    assert rows[()]["critical_value"] == pytest.approx(2.5)
    assert rows[()]["n_unstable_arcs"] == 3 and rows[(1, 2)]["n_stable_arcs"] == 3
    assert main(["critical-points", "--dims", "3,3,3,2", "--sigma", "2,1"]) == 0
    assert "strict saddle" in capsys.readouterr().out


def test_cli_classify(tmp_path, capsys):
    from dlnsys.cli import main
    net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    cp = C.random_critical_point(net, (2,), rng=0)
    good = tmp_path / "w.npz"
    np.savez(good, *net.unpack(cp.x))
    assert main(["classify", "--dims", "3,3,3,2", "--sigma", "2,1", "--weights", str(good), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "strict saddle" and out["signature"] == [2]
    np.savez(tmp_path / "x.npz", x=cp.x)
    assert main(["classify", "--dims", "3,3,3,2", "--sigma", "2,1", "--weights", str(tmp_path / "x.npz")]) == 0
    assert "strict saddle" in capsys.readouterr().out
    bad = {"shape.npz": {"x": np.zeros(5)}, "nan.npz": {"x": np.full(net.n_params, np.nan)},
           "W.npz": {"W1": np.zeros((3, 3)), "W2": np.zeros((2, 3)), "W3": np.zeros((2, 3))}}
    for name, arrays in bad.items():
        np.savez(tmp_path / name, **arrays)
        assert main(["classify", "--dims", "3,3,3,2", "--sigma", "2,1", "--weights", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("dlnsys: error: --weights") and "\n" not in err
    assert main(["classify", "--dims", "3,3,3,2", "--sigma", "2,1", "--weights", str(tmp_path / "none.npz")]) == 2
    assert main(["critical-points", "--dims", "3,3,3,2", "--sigma", "1,2"]) == 2
    assert capsys.readouterr().err.count("\n") == 2
