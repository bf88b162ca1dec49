"""The block-form flow against finite differences, the adjacency form (12) and the paper's examples."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlnsys import Network
from dlnsys.invariants import conservation_differential


@st.composite
def networks(draw, max_h=6, max_width=7, gamma=False):
    h = draw(st.integers(1, max_h))
    widths = draw(st.lists(st.integers(1, max_width), min_size=h + 1, max_size=h + 1))
    d_y = min(widths[0], widths[-1])
    widths[-1] = d_y                                    # d_x >= d_y (Assumption 1)
    widths[1:-1] = [max(w, d_y) for w in widths[1:-1]]  # no bottleneck: keep the warnings out of property tests
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sigma = np.sort(rng.uniform(0.5, 3.0, d_y))[::-1] + np.arange(d_y)[::-1] * 1e-3
    g = draw(st.floats(0.0, 0.5)) if gamma else 0.0
    net = Network(widths, sigma, gamma=g)
    # Entries of size 1/sqrt(width) keep W_{1:h} of order one whatever the depth.
    x = np.concatenate([rng.normal(size=r * c) / np.sqrt(c) for r, c in net.shapes])
    return net, x, rng


def fd_gradient(f, x, eps):
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        out.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(networks(gamma=True))
def test_vector_field_is_minus_gradient_of_loss(case):
    net, x, _ = case
    f = net.vector_field(x)
    # Central differences: truncation O(eps^2 |L'''|) ~ 1e-10, rounding O(1e-16 L / eps) ~ 1e-11 L.
    g = fd_gradient(net.loss, x, 1e-5)
    assert np.linalg.norm(g + f) <= 1e-6 * max(np.linalg.norm(f), 1.0)
    np.testing.assert_allclose(net.gradient(x), -f)


@settings(max_examples=40, deadline=None)
@given(networks(gamma=True))
def test_block_form_equals_adjacency_form_12(case):
    net, x, _ = case
    f = net.vector_field(x)
    A_dot = net.vector_field_adjacency(net.adjacency(x))
    # Same products in another order: agreement to rounding, 1e-12 relative.
    assert np.linalg.norm(net.from_adjacency(A_dot) - f) <= 1e-12 * max(np.linalg.norm(f), 1.0)


@settings(max_examples=30, deadline=None)
@given(networks(max_h=5, max_width=5, gamma=True))
def test_jacobian_hvp_and_hessian_form(case):
    net, x, rng = case
    J = net.jacobian(x)
    Jfd = fd_gradient(net.vector_field, x, 1e-5).T
    assert np.linalg.norm(J - Jfd) <= 1e-6 * max(np.linalg.norm(J), 1.0)
    np.testing.assert_allclose(J, J.T, atol=1e-12 * max(np.abs(J).max(), 1.0))   # gradient system
    V = rng.normal(size=(3, net.n_params))
    scale = max(np.abs(J).max(), 1.0) * np.abs(V).max()
    np.testing.assert_allclose(net.hvp(x, V), -(V @ J.T), atol=1e-12 * scale * net.n_params)
    np.testing.assert_allclose(net.hvp(x, V[0]), -(J @ V[0]), atol=1e-12 * scale * net.n_params)
    quad = -np.einsum("ki,ij,kj->k", V, J, V)
    np.testing.assert_allclose(net.hessian_form(x, V), quad, rtol=1e-10, atol=1e-10 * scale)


@settings(max_examples=25, deadline=None)
@given(networks())
def test_stacks_evaluate_row_by_row(case):
    net, x, rng = case
    X = x + rng.normal(size=(4, 3, net.n_params)) * 0.1
    F = net.vector_field(X)
    L = net.loss(X)
    assert F.shape == X.shape and L.shape == X.shape[:-1]
    for idx in np.ndindex(X.shape[:-1]):
        np.testing.assert_allclose(F[idx], net.vector_field(X[idx]), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(L[idx], net.loss(X[idx]), rtol=1e-13)


@settings(max_examples=25, deadline=None)
@given(networks())
def test_nilpotent_adjacency_and_conservation_orthogonal_to_flow(case):
    net, x, _ = case
    A = net.adjacency(x)
    P = np.linalg.matrix_power(A, net.h)
    np.testing.assert_allclose(P[np.ix_(range(net.node_offsets[-2], net.n_nodes), range(net.d_x))],
                               net.product(x), atol=1e-12)        # A^h = blk_h(W_{1:h}) (13)
    assert np.all(np.linalg.matrix_power(A, net.h + 1) == 0)       # A^{h+1} = 0 exactly (block pattern)
    for k in range(1, net.h + 2):
        assert np.trace(np.linalg.matrix_power(A, k)) == 0
    # The differential of every conservation law annihilates the flow (Prop. 6, J dQ/dt = 0).
    D = conservation_differential(net, x)
    f = net.vector_field(x)
    assert np.abs(D @ f).max(initial=0) <= 1e-12 * max(np.abs(D).max(initial=1) * np.abs(f).max(), 1)


def test_gd_step_is_eq_67():
    net = Network((3, 2, 2), [2.0, 1.0])
    x = np.random.default_rng(1).normal(size=net.n_params)
    A = net.adjacency(x)
    A_next = A + 0.01 * net.vector_field_adjacency(A)
    np.testing.assert_allclose(net.gd_step(x, 0.01), net.from_adjacency(A_next), atol=1e-14)
    with pytest.raises(ValueError, match="eta"):
        net.gd_step(x, -1.0)


# ------------------------------------------------------------------ paper examples
def test_paper_62_vector_field_jacobian_and_loss_rate():
    s = 1.7
    net = Network((1, 1, 1), [s])
    rng = np.random.default_rng(0)
    for w1, w2 in rng.normal(size=(20, 2)) * 2:
        x = np.array([w1, w2])
        np.testing.assert_allclose(net.vector_field(x), [w2 * (s - w1 * w2), w1 * (s - w1 * w2)], rtol=1e-14)
        J = np.array([[-w2**2, s - 2 * w1 * w2], [s - 2 * w1 * w2, -w1**2]])
        np.testing.assert_allclose(net.jacobian(x), J, rtol=1e-14, atol=1e-14)
        # dL/dt = grad L . f = -2 (w1^2 + w2^2) L along (62).
        rate = net.gradient(x) @ net.vector_field(x)
        np.testing.assert_allclose(rate, -2 * (w1**2 + w2**2) * net.loss(x), rtol=1e-12)
    lam, vec = np.linalg.eigh(net.jacobian(np.zeros(2)))
    np.testing.assert_allclose(lam, [-s, s], atol=1e-15)
    np.testing.assert_allclose(np.abs(vec[:, 1]), [2**-0.5, 2**-0.5])                # v1 = [1, 1]
    np.testing.assert_allclose(vec[0, 0] * vec[1, 0], -0.5, atol=1e-15)              # v2 = [1, -1]
    for w1 in (0.3, 1.0, -2.5):
        lam = np.linalg.eigvalsh(net.jacobian(np.array([w1, s / w1])))
        np.testing.assert_allclose(lam, sorted([0.0, -(s**2 + w1**4) / w1**2]), atol=1e-12)


def test_paper_65_and_66_vector_fields_in_paper_order():
    s = 0.8
    rng = np.random.default_rng(2)
    net65 = Network((1, 1, 1, 1), [s])
    net66 = Network((1, 2, 1), [s])
    assert net65.variable_names() == ["w1", "w2", "w3"]
    assert net66.variable_names() == ["w1", "w2", "w3", "w4"]
    for _ in range(10):
        w1, w2, w3, w4 = rng.normal(size=4)
        r = s - w1 * w2 * w3
        np.testing.assert_allclose(net65.vector_field([w1, w2, w3]), [w2 * w3 * r, w1 * w3 * r, w1 * w2 * r],
                                   rtol=1e-14, atol=1e-15)
        r = s - w1 * w3 - w2 * w4
        np.testing.assert_allclose(net66.vector_field([w1, w2, w3, w4]), [w3 * r, w4 * r, w1 * r, w2 * r],
                                   rtol=1e-14, atol=1e-15)
        # (66) conserved quantities: W1 W1^T - W2^T W2 = [[c1, c3], [c3, c2]].
        C = net66.conserved([w1, w2, w3, w4])[0]
        np.testing.assert_allclose(C, [[w1**2 - w3**2, w1 * w2 - w3 * w4], [w1 * w2 - w3 * w4, w2**2 - w4**2]])
        x = np.array([w1, w2, w3, w4])
        np.testing.assert_allclose(net66.gradient(x) @ net66.vector_field(x),
                                   -2 * np.sum(x**2) * net66.loss(x), rtol=1e-12)
        assert net66.independent_conservation_laws(x) == 3


def test_section_6_1_counts():
    net = Network((11, 6, 6, 6, 6, 4), [7, 5.5, 4, 2.5])
    assert (net.h, net.n_nodes, net.n_params, net.n_conservation_laws) == (5, 39, 198, 84)
    x = np.random.default_rng(0).normal(size=198)
    r = net.independent_conservation_laws(x)
    assert 0 < r <= net.n_conservation_laws


def test_conservation_laws_outnumber_their_rank_for_wide_single_hidden_layer():
    # Section 6.2.3: with d_x = d_y = 1 and d_1 = 4 there are 10 laws on 8 weights; since the
    # flow is orthogonal to all of them their rank is at most n_params - 1.
    net = Network((1, 4, 1), [1.0])
    x = np.random.default_rng(3).normal(size=net.n_params)
    assert net.n_conservation_laws == 10
    assert net.independent_conservation_laws(x) == net.n_params - 1
    assert net.independent_conservation_laws(np.zeros(net.n_params)) == 0
