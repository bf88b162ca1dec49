"""Initializations: 0-balanced (Procedure 1 + Prop. 8), delta-balanced, diagonal, decoupled,
points on a leaf, and argument validation."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

from dlnsys import BottleneckWarning, Network, init
from dlnsys import structure as S
from dlnsys.invariants import balancedness


@st.composite
def networks(draw, min_h=1, max_h=5, max_width=5, min_dy=1):
    h = draw(st.integers(min_h, max_h))
    d_y = draw(st.integers(min_dy, 3))
    d_x = draw(st.integers(d_y, max_width))
    hidden = draw(st.lists(st.integers(d_y, max_width), min_size=h - 1, max_size=h - 1))
    seed = draw(st.integers(0, 2**32 - 1))
    sigma = 3.0 - 0.7 * np.arange(d_y) - 0.01 * np.arange(d_y) ** 2
    return Network([d_x, *hidden, d_y], sigma), seed


def weight_scale(net, x):
    """max_i ||W_i||_F^2: the natural size of C_i = W_i W_i^T - W_{i+1}^T W_{i+1}."""
    return max(float(np.sum(W * W)) for W in net.unpack(x))


def integrate(net, x0, T, n_eval=6):
    sol = solve_ivp(lambda t, y: net.vector_field(y), (0.0, T), x0, method="DOP853",
                    rtol=1e-10, atol=1e-12, t_eval=np.linspace(0.0, T, n_eval))
    assert sol.success
    return sol.y.T


PAPER_NET = dict(dims=(11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])   # Section 6.1, Fig. 3(a)


# ---------------------------------------------------------------- balanced
@settings(max_examples=40, deadline=None)
@given(networks(), st.floats(0.05, 3.0))
def test_balanced_is_exactly_zero_balanced(case, scale):
    net, seed = case
    x = init.balanced(net, scale, seed=seed)
    assert x.shape == (net.n_params,)
    # Construction is exact up to rounding: |C_i| ~ n * eps * ||W||^2, far below 1e-12 relative.
    assert balancedness(net, x) <= 1e-12 * weight_scale(net, x)
    assert S.is_balanced(net, x)


@settings(max_examples=30, deadline=None)
@given(networks(min_h=2))
def test_balanced_is_aligned_with_equal_layer_singular_values_prop34(case):
    net, seed = case
    x = init.balanced(net, 1.0, seed=seed)
    assert S.is_aligned(net, x)
    # Sign-fixed singular vectors of consecutive layers coincide on the d_y directions of
    # nonzero singular values; error ~ eps / (relative singular value gap), squared.
    assert S.alignment(net, x).max() <= 1e-12
    svals = S.layer_singular_values(net, x)
    r = net.d_min
    for s in svals[1:]:
        np.testing.assert_allclose(s[:r], svals[0][:r], rtol=1e-12, atol=1e-14)
    for s in svals:                       # rank d_y: the padding directions carry nothing
        assert np.all(s[r:] <= 1e-12 * s[0])
    # The end-to-end map has the layers' singular values to the power h.
    np.testing.assert_allclose(S.singular_values_product(net, x)[:r], svals[0][:r] ** net.h, rtol=1e-10)


def test_balanced_rotation_changes_hidden_bases_but_not_the_product():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    plain = init.balanced(net, 1.0, seed=3, rotate=False)
    rotated = init.balanced(net, 1.0, seed=3)
    np.testing.assert_allclose(net.product(plain), net.product(rotated), atol=1e-13)
    W2 = net.unpack(plain)[1]
    assert np.count_nonzero(W2 - np.diag(np.diag(W2))) == 0       # hidden layers: S^(1/h), diagonal
    assert np.count_nonzero(net.unpack(rotated)[1] - np.diag(np.diag(net.unpack(rotated)[1]))) > 0


def test_balanced_bottleneck_uses_rank_d_min():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BottleneckWarning)
        net = Network((5, 2, 4, 3), sigma=[3.0, 2.0, 1.0])
    x = init.balanced(net, 1.0, seed=0)
    assert balancedness(net, x) <= 1e-12 * weight_scale(net, x)
    assert np.linalg.matrix_rank(net.product(x), tol=1e-10) == 2
    assert S.is_aligned(net, x)


def test_balanced_stays_balanced_and_aligned_along_the_flow():
    net = Network(**PAPER_NET)
    x0 = init.balanced(net, 0.3, seed=7)
    ys = integrate(net, x0, 1.0)
    assert net.loss(ys[-1]) < 0.9 * net.loss(x0)        # the run does move
    for y in ys:
        # rtol 1e-10 per step on x gives C errors ~1e-9 relative to ||W||^2 over the run.
        assert balancedness(net, y) <= 1e-8 * weight_scale(net, y)
        assert S.is_aligned(net, y)


def test_ensembles_and_seeds():
    net = Network((3, 3, 2), sigma=[2.0, 1.0])
    X = init.balanced(net, 1.0, seed=1, n=4)
    assert X.shape == (4, net.n_params)
    assert np.all(balancedness(net, X) <= 1e-12 * max(weight_scale(net, x) for x in X))
    assert len({x.tobytes() for x in X}) == 4                       # independent draws
    np.testing.assert_array_equal(init.balanced(net, 1.0, seed=1), init.balanced(net, 1.0, seed=1))
    rng = np.random.default_rng(0)
    a, b = init.gaussian(net, 1.0, seed=rng), init.gaussian(net, 1.0, seed=rng)
    assert not np.array_equal(a, b)                                 # a Generator is advanced
    assert init.gaussian(net, 1.0, seed=0, n=3).shape == (3, net.n_params)
    assert init.decoupled(net, [1.0, 0.5], seed=0, n=2).shape == (2, net.n_params)
    assert init.diagonal_random(net, 1.0, seed=0, n=2).shape == (2, net.n_params)
    assert init.delta_balanced(net, 0.1, 1.0, seed=0, n=2).shape == (2, net.n_params)


# ---------------------------------------------------------------- gaussian
def test_gaussian_scale_and_mask():
    net = Network((20, 20, 20), sigma=np.linspace(2.0, 1.0, 20))
    x = init.gaussian(net, 0.3, seed=0)
    # 800 samples: the sample std has relative standard error 1/sqrt(1600) = 2.5%; allow 4 sigma.
    assert abs(x.std() / 0.3 - 1) < 0.1
    assert abs(x.mean()) < 4 * 0.3 / np.sqrt(x.size)
    mask = np.ones(net.n_params, bool)
    mask[::3] = False
    masked = Network(net.dims, net.sigma, mask=mask)
    base = np.arange(net.n_params, dtype=float)
    y = init.gaussian(masked, 0.3, seed=0, base=base)
    np.testing.assert_array_equal(y[~mask], base[~mask])
    np.testing.assert_array_equal(y[mask], x[mask])              # same draws for the free entries
    assert np.all(init.gaussian(masked, 0.3, seed=0)[~mask] == 0.0)


def test_structured_init_refuses_to_overwrite_fixed_entries():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    offdiag = np.array([True, False, False, True] * 2)          # only diagonal entries learnable
    masked = Network(net.dims, net.sigma, mask=offdiag)
    np.testing.assert_array_equal(init.diagonal(masked, [1.0, 2.0]), init.diagonal(net, [1.0, 2.0]))
    with pytest.raises(ValueError, match="^net: .*mask"):
        init.decoupled(masked, [1.0, 2.0], seed=0)
    with pytest.raises(ValueError, match="^net: .*mask"):
        init.balanced(masked, 1.0, seed=0)


# ---------------------------------------------------------- delta-balanced
@settings(max_examples=25, deadline=None)
@given(networks(min_h=2), st.sampled_from([1e-3, 0.04, 0.5, 3.0]), st.sampled_from([0.01, 1.0]))
def test_delta_balanced_attains_the_bound(case, delta, scale):
    net, seed = case
    x = init.delta_balanced(net, delta, scale, seed=seed)
    b = balancedness(net, x)
    # Bisection stops within 1e-12 relative of delta and always on the side b <= delta.
    assert 0 < b <= delta
    assert b >= delta * (1 - 1e-9)


def test_delta_balanced_paper_fig3_and_limits():
    net = Network(**PAPER_NET)
    x = init.delta_balanced(net, 0.04, 0.01, seed=0)
    assert 0.04 * (1 - 1e-9) <= balancedness(net, x) <= 0.04
    x0 = init.delta_balanced(net, 0.0, 0.01, seed=0)
    assert balancedness(net, x0) <= 1e-12 * weight_scale(net, x0)
    one = Network((3, 2), sigma=[2.0, 1.0])                   # h = 1: no conservation laws
    assert init.delta_balanced(one, 0.1, 1.0, seed=0).shape == (6,)


# ------------------------------------------------------ diagonal, decoupled
def test_diagonal_places_values_on_the_channels():
    net = Network((4, 3, 2), sigma=[2.0, 1.0])
    x = init.diagonal(net, [[1.0, -2.0], [3.0, 4.0]])
    W1, W2 = net.unpack(x)
    expected1 = np.zeros((3, 4))
    expected1[0, 0], expected1[1, 1] = 1.0, -2.0
    expected2 = np.zeros((2, 3))
    expected2[0, 0], expected2[1, 1] = 3.0, 4.0
    np.testing.assert_array_equal(W1, expected1)
    np.testing.assert_array_equal(W2, expected2)
    np.testing.assert_array_equal(init.diagonal(net, [1.0, 2.0]), init.diagonal(net, [[1.0, 2.0]] * 2))
    np.testing.assert_array_equal(init.diagonal(net, 0.5), init.diagonal(net, [[0.5, 0.5]] * 2))
    np.testing.assert_allclose(net.product(x), np.diag([3.0, -8.0]) @ np.eye(2, 4))


@settings(max_examples=25, deadline=None)
@given(networks(min_h=2, min_dy=1))
def test_decoupled_is_a_rotated_diagonal_state(case):
    net, seed = case
    values = np.random.default_rng(seed).uniform(0.2, 2.0, (net.h, net.d_min))
    x = init.decoupled(net, values, seed=seed)
    Qs = S.decoupling_basis(net, x)
    assert Qs is not None
    # Rotating back recovers the diagonal values up to sign (the certificate of Prop. 32).
    Ws = net.unpack(x)
    full = [np.eye(net.d_x)] + Qs + [np.eye(net.d_y)]
    r = net.d_min
    for i, W in enumerate(Ws):
        D = full[i + 1].T @ W @ full[i]
        np.testing.assert_allclose(np.abs(np.diag(D)[:r]), values[i], rtol=1e-10)
    # Orthogonal changes of basis keep the end-to-end map and the loss (Prop. 8).
    np.testing.assert_allclose(net.product(x), net.product(init.diagonal(net, values)), atol=1e-12)


def test_decoupled_flow_equals_diagonal_flow_prop32():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    values = [[0.3, 0.2], [0.4, 0.1], [0.5, 0.3]]
    yd = integrate(net, init.diagonal(net, values), 3.0)
    yc = integrate(net, init.decoupled(net, values, seed=4), 3.0)
    # Equivariance (Prop. 8): same loss and end-to-end map at all times; the two runs take
    # different steps, so agreement is to the integration tolerance (rtol 1e-10), say 1e-8.
    np.testing.assert_allclose(net.loss(yc), net.loss(yd), rtol=1e-8)
    np.testing.assert_allclose(net.product(yc), net.product(yd), atol=1e-8)
    assert net.loss(yd[-1]) < 0.5 * net.loss(yd[0])


# ------------------------------------------------------------------- leaves
@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_on_leaf_scalar_chain_is_exact(h, seed):
    net = Network((1,) * (h + 1), sigma=[1.0])
    c = np.random.default_rng(seed).uniform(-2.0, 2.0, h - 1)
    x = init.on_leaf(net, c, seed=seed)
    got = np.array([C[0, 0] for C in net.conserved(x)])
    # Exact construction: w_i^2 = w_h^2 + sum_{k>=i} c_k, so only rounding errors (~eps * w^2).
    assert np.max(np.abs(got - c)) <= 1e-12 * max(1.0, float(np.max(x ** 2)))
    # The same leaf through 1x1 matrices, with a prescribed output weight.
    w_h = float(np.sqrt(max(0.0, -np.min(np.cumsum(c[::-1])))) + 0.5)
    y = init.on_leaf(net, [np.array([[ci]]) for ci in c], last=w_h, signs=1)
    assert y[-1] == w_h and np.all(y >= 0)
    got = np.array([C[0, 0] for C in net.conserved(y)])
    assert np.max(np.abs(got - c)) <= 1e-12 * max(1.0, float(np.max(y ** 2)))


def test_on_leaf_single_hidden_node_62():
    net = Network((1, 1, 1), sigma=[1.0])
    x = init.on_leaf(net, [0.75], last=0.5, signs=[1, -1])
    np.testing.assert_allclose(x, [1.0, -0.5])                     # w1^2 - w2^2 = 0.75


def test_on_leaf_impossible_chain_leaf_raises():
    net = Network((1, 1, 1, 1), sigma=[1.0])
    # w_2^2 = w_3^2 + c_2 = 0.25 - 1 < 0: no point of this leaf has w_3 = 0.5.
    with pytest.raises(ValueError, match=r"^C: .*w\^2"):
        init.on_leaf(net, [0.0, -1.0], last=0.5)
    x = init.on_leaf(net, [0.0, -1.0], seed=0)                     # a drawn w_3 is always admissible
    assert x[2] ** 2 >= 1.0


@settings(max_examples=25, deadline=None)
@given(networks(min_h=2, max_h=4), st.booleans())
def test_on_leaf_diagonal_networks_are_exact(case, as_matrices):
    net, seed = case
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1.0, 1.0, (net.h - 1, net.d_min))
    if as_matrices:
        C = []
        for i in range(net.h - 1):
            m = np.zeros((net.dims[i + 1],) * 2)
            m[np.arange(net.d_min), np.arange(net.d_min)] = c[i]
            C.append(m)
    else:
        C = c
    x = init.on_leaf(net, C, seed=seed)
    assert S.is_block_shift_diagonal(net, x, tol=0.0)
    ref = max(1.0, weight_scale(net, x))
    for i, Ci in enumerate(net.conserved(x)):
        expected = np.zeros_like(Ci)
        expected[np.arange(net.d_min), np.arange(net.d_min)] = c[i]
        assert np.max(np.abs(Ci - expected)) <= 1e-12 * ref


@settings(max_examples=15, deadline=None)
@given(networks(min_h=2, max_h=4, max_width=4))
def test_on_leaf_general_newton_projection(case):
    net, seed = case
    # A leaf known to be non-empty: the one through a random state.
    target = net.conserved(init.gaussian(net, 1.0, seed=seed + 1))
    x = init.on_leaf(net, target, seed=seed)
    ref = max(1.0, weight_scale(net, x))
    # Newton stops at 1e-12 relative residual (quadratic convergence gets there in a few steps).
    for got, want in zip(net.conserved(x), target):
        assert np.max(np.abs(got - want)) <= 1e-12 * ref


def test_on_leaf_general_respects_mask_and_reports_failure():
    net = Network((3, 3, 2), sigma=[2.0, 1.0])
    mask = np.ones(net.n_params, bool)
    mask[:3] = False                                               # first row of W_1 fixed
    masked = Network(net.dims, net.sigma, mask=mask)
    x0 = init.gaussian(net, 1.0, seed=0)
    target = net.conserved(init.gaussian(net, 1.0, seed=1))
    target_free = masked.conserved(x0 + 0.1 * mask * init.gaussian(net, 1.0, seed=2))
    x = init.on_leaf(masked, target_free, x0=x0, method="newton")
    np.testing.assert_array_equal(x[:3], x0[:3])
    assert np.max(np.abs(masked.conserved(x)[0] - target_free[0])) <= 1e-12 * weight_scale(net, x)
    with pytest.raises(ValueError, match="^C: Gauss-Newton"):
        init.on_leaf(net, target, seed=0, max_iter=0)


def test_on_leaf_rank_condition():
    net = Network((1, 2, 1), sigma=[1.0])       # C_1 = w1 w1^T - w2^T w2: one + and one - at most
    with pytest.raises(ValueError, match=r"^C\[0\]: .*empty"):
        init.on_leaf(net, [np.eye(2)], seed=0)
    x = init.on_leaf(net, [np.diag([1.0, -1.0])], seed=0)
    np.testing.assert_allclose(net.conserved(x)[0], np.diag([1.0, -1.0]), atol=1e-12)


# ------------------------------------------------------------- bad input
NET = Network((3, 3, 2), sigma=[2.0, 1.0])


@pytest.mark.parametrize("call, name", [
    (lambda: init.gaussian(NET, 0.0), "scale"),
    (lambda: init.gaussian(NET, -1.0), "scale"),
    (lambda: init.gaussian(NET, float("nan")), "scale"),
    (lambda: init.gaussian(NET, float("inf")), "scale"),
    (lambda: init.gaussian(NET, "1"), "scale"),
    (lambda: init.gaussian(NET, True), "scale"),
    (lambda: init.gaussian(NET, 1.0, n=0), "n"),
    (lambda: init.gaussian(NET, 1.0, n=2.5), "n"),
    (lambda: init.gaussian(NET, 1.0, seed=-1), "seed"),
    (lambda: init.gaussian(NET, 1.0, seed="x"), "seed"),
    (lambda: init.gaussian(NET, 1.0, base=np.zeros(3)), "base"),
    (lambda: init.balanced(NET, -0.1), "scale"),
    (lambda: init.delta_balanced(NET, -0.1, 1.0), "delta"),
    (lambda: init.delta_balanced(NET, float("nan"), 1.0), "delta"),
    (lambda: init.delta_balanced(NET, 0.1, 0.0), "scale"),
    (lambda: init.diagonal(NET, [1.0, 2.0, 3.0]), "values"),
    (lambda: init.diagonal(NET, np.ones((3, 2))), "values"),
    (lambda: init.diagonal(NET, [1.0, float("nan")]), "values"),
    (lambda: init.decoupled(NET, np.ones((2, 3)), seed=0), "values"),
    (lambda: init.diagonal_random(NET, 0.0), "scale"),
    (lambda: init.on_leaf(NET, [np.eye(2)]), r"C\[0\]"),
    (lambda: init.on_leaf(NET, [np.array([[1.0, 2.0, 0], [0, 1.0, 0], [0, 0, 1.0]])]), r"C\[0\]"),
    (lambda: init.on_leaf(NET, [1.0, 2.0, 3.0]), "C"),
    (lambda: init.on_leaf(NET, [[0.1, 0.2]], method="magic"), "method"),
    (lambda: init.on_leaf(NET, [[0.1, 0.2]], last=[1.0, 2.0, 3.0]), "last"),
    (lambda: init.on_leaf(NET, [[0.1, 0.2]], signs=[2.0, 1.0]), "signs"),
    (lambda: init.on_leaf(NET, [[0.1, 0.2]], scale=-1.0), "scale"),
    (lambda: init.on_leaf(NET, [np.eye(3)], restarts=-1), "restarts"),
    (lambda: init.on_leaf(NET, [np.eye(3)], max_iter=1.5), "max_iter"),
    (lambda: init.on_leaf(NET, [np.eye(3)], tol=0.0), "tol"),
    (lambda: init.on_leaf(NET, [np.ones((3, 3))], method="diagonal"), "C"),
    (lambda: init.on_leaf(NET, [np.ones((3, 3))], last=1.0), "last"),
    (lambda: init.on_leaf(NET, [np.ones((3, 3))], x0=np.zeros(4), method="newton"), "x0"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
