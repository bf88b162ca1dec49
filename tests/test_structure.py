"""Structure of states: SVDs (Prop. 7, Prop. 39), alignment, decoupling and balance (Section 5,
Props. 31, 32, 34), numerical range (Prop. 11) and ||A||_F dynamics (Prop. 9)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

from dlnsys import Network, init
from dlnsys import structure as S


@st.composite
def states(draw, min_h=1, max_h=5, max_width=5, gamma=False):
    h = draw(st.integers(min_h, max_h))
    d_y = draw(st.integers(1, 3))
    d_x = draw(st.integers(d_y, max_width))
    hidden = draw(st.lists(st.integers(d_y, max_width), min_size=h - 1, max_size=h - 1))
    seed = draw(st.integers(0, 2**32 - 1))
    sigma = 3.0 - 0.7 * np.arange(d_y) - 0.01 * np.arange(d_y) ** 2
    g = draw(st.floats(0.0, 0.5)) if gamma else 0.0
    net = Network([d_x, *hidden, d_y], sigma, gamma=g)
    rng = np.random.default_rng(seed)
    # Entries of size 1/sqrt(width) keep W_{1:h} of order one whatever the depth.
    x = np.concatenate([rng.normal(size=r * c) / np.sqrt(c) for r, c in net.shapes])
    return net, x, rng


def integrate(net, x0, T, n_eval=6, dense=False):
    sol = solve_ivp(lambda t, y: net.vector_field(y), (0.0, T), x0, method="DOP853",
                    rtol=1e-10, atol=1e-12, t_eval=None if dense else np.linspace(0.0, T, n_eval),
                    dense_output=dense)
    assert sol.success
    return sol if dense else sol.y.T


def R(a):
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def rotate_hidden(net, x, rng):
    """x -> P x P^T with random orthogonal P on the hidden layers (Prop. 8)."""
    Ps = [np.eye(net.d_x)] + [init.random_orthogonal(d, rng) for d in net.dims[1:-1]] + [np.eye(net.d_y)]
    return net.pack([Ps[i + 1] @ W @ Ps[i].T for i, W in enumerate(net.unpack(x))])


def blk0(net, blocks):
    n, o = net.n_nodes, net.node_offsets
    M = np.zeros((n, n))
    for k, B in enumerate(blocks):
        M[o[k]:o[k + 1], o[k]:o[k + 1]] = B
    return M


# --------------------------------------------------------------------- SVDs
@settings(max_examples=40, deadline=None)
@given(states())
def test_block_shift_svd_prop7(case):
    net, x, _ = case
    b = S.block_shift_svd(net, x)
    A = net.adjacency(x)
    np.testing.assert_allclose(b.U @ b.Lambda @ b.V.T, A, atol=1e-12 * max(1.0, np.abs(A).max()))
    np.testing.assert_allclose(b.matrix(), A, atol=1e-12 * max(1.0, np.abs(A).max()))
    # U = blk_0(0, U_1..U_h), V = blk_0(V_1..V_h, 0) with orthogonal blocks.
    eye = [np.eye(d) for d in net.dims]
    np.testing.assert_allclose(b.U.T @ b.U, blk0(net, [0 * eye[0]] + eye[1:]), atol=1e-12)
    np.testing.assert_allclose(b.V.T @ b.V, blk0(net, eye[:-1] + [0 * eye[-1]]), atol=1e-12)
    # Lambda = blk_1(Lambda_1..Lambda_h): same pattern as A, nonnegative decreasing diagonals.
    np.testing.assert_array_equal(net.from_adjacency(b.Lambda), net.pack(b.Lambdas))
    for L in b.Lambdas:
        d = np.diag(L)
        assert np.all(d >= 0) and np.all(np.diff(d) <= 0)
        E = np.zeros(L.shape)
        E[np.arange(d.size), np.arange(d.size)] = d
        np.testing.assert_array_equal(L, E)
    # Sign convention: diag(V_{k+1}^T U_k) >= 0.
    for k in range(net.h - 1):
        assert np.all(np.diag(b.Vs[k + 1].T @ b.Us[k]) >= 0)


@settings(max_examples=40, deadline=None)
@given(states())
def test_standard_svd_prop39(case):
    net, x, _ = case
    A = net.adjacency(x)
    U, s, Vt = S.standard_svd(net, x)
    n = net.n_nodes
    assert U.shape == (n, n) and s.shape == (n,) and Vt.shape == (n, n)
    np.testing.assert_allclose(U.T @ U, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(Vt @ Vt.T, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(U @ np.diag(s) @ Vt, A, atol=1e-12 * max(1.0, np.abs(A).max()))
    # Backward-stable SVDs on both sides: singular values agree to ~n eps ||A||_2.
    np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False), atol=1e-12 * max(1.0, s[0]))
    assert np.all(np.diff(s) <= 0)
    q = sum(min(r, c) for r, c in net.shapes)
    assert np.all(s[q:] == 0.0)                                    # n_v - q structural zeros


@settings(max_examples=30, deadline=None)
@given(states())
def test_singular_values_of_A_and_of_A_power_h(case):
    net, x, rng = case
    A = net.adjacency(x)
    ref = max(1.0, np.linalg.norm(A, 2))
    np.testing.assert_allclose(S.singular_values(net, x), np.linalg.svd(A, compute_uv=False), atol=1e-12 * ref)
    Ah = np.linalg.matrix_power(A, net.h)
    sp = S.singular_values_product(net, x)
    assert sp.shape == (net.d_y,)
    np.testing.assert_allclose(sp, np.linalg.svd(Ah, compute_uv=False)[:net.d_y],
                               atol=1e-11 * max(1.0, np.linalg.norm(Ah, 2)))
    layers = S.layer_singular_values(net, x)
    assert [s.shape[-1] for s in layers] == [min(r, c) for r, c in net.shapes]
    # Stacks: one row per state.
    X = np.stack([x, 2 * x])
    sv = S.singular_values(net, X)
    np.testing.assert_allclose(sv[1], 2 * sv[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(S.singular_values_product(net, X)[1],
                               2 ** net.h * S.singular_values_product(net, x), rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------- alignment
@settings(max_examples=30, deadline=None)
@given(states(min_h=2))
def test_alignment_is_invariant_under_orthogonal_changes_of_basis(case):
    net, x, rng = case
    # V_{k+1}^T U_k is unchanged by P_k (both rotate), up to the signs the convention removes.
    a = S.alignment(net, x)
    b = S.alignment(net, rotate_hidden(net, x, rng))
    sv = S.layer_singular_values(net, x)
    gaps = [np.min(np.abs(np.diff(s)), initial=1.0) / s[0] for s in sv]
    if min(gaps) > 1e-3:     # singular vectors are determined (to ~eps / gap) only for distinct values
        np.testing.assert_allclose(a, b, atol=1e-8)
    assert S.is_aligned(net, x) == S.is_aligned(net, rotate_hidden(net, x, rng))   # Prop. 30


def test_alignment_sign_convention_and_directions():
    net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    x = init.balanced(net, 1.0, seed=0)
    svd = S.layer_svds(net, x)
    for k in range(net.h - 1):
        assert np.all(np.diag(svd.V[k + 1].T @ svd.U[k]) >= 0)
    assert S.alignment(net, x).shape == (2,)
    assert S.alignment(net, x).max() < 1e-20
    assert S.alignment(net, x, directions=1).max() < 1e-20
    # On all 3 directions the third is a null direction of W_2 (rank 2): well defined here
    # because d_1 - 2 = 1 leaves only a sign, which the convention fixes.
    assert S.alignment(net, x, directions="all").max() < 1e-20
    g = init.gaussian(net, 1.0, seed=0)
    assert S.alignment(net, g).min() > 1e-3
    X = np.stack([x, g])
    np.testing.assert_allclose(S.alignment(net, X), [S.alignment(net, x), S.alignment(net, g)], atol=1e-14)
    assert S.alignment(Network((3, 2), sigma=[2.0, 1.0]), np.ones(6)).shape == (0,)


def aligned_unbalanced_state():
    """Aligned (U_1 = V_2 = Q), not 0-balanced (Lambda_1 != Lambda_2), not decoupled
    (U_2, V_1 not identities, W_{1:2} not diagonal); distinct singular values."""
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    Q = R(0.3)
    W1 = Q @ np.diag([1.0, 0.5]) @ R(0.7).T
    W2 = R(-0.4) @ np.diag([0.8, 0.2]) @ Q.T
    return net, net.pack([W1, W2])


def test_alignment_is_not_preserved_prop31():
    net, x0 = aligned_unbalanced_state()
    assert S.is_aligned(net, x0) and S.alignment(net, x0)[0] < 1e-25
    assert not S.is_balanced(net, x0) and not S.is_decoupled(net, x0)
    ys = integrate(net, x0, 0.5)
    # Misalignment grows like t^2 (the singular vectors rotate at different speeds):
    # ~6e-5 at t = 0.1 and ~7e-4 at t = 0.5, both far above the 1e-8 alignment tolerance.
    for y in ys[1:]:
        assert not S.is_aligned(net, y)
        assert S.alignment(net, y)[0] > 1e-6


def test_decoupled_not_aligned_when_channel_orders_differ():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    x = init.diagonal(net, [[1.0, 2.0], [2.0, 1.0]])       # channel orders cross between layers
    assert S.is_block_shift_diagonal(net, x) and S.is_decoupled(net, x)
    assert not S.is_aligned(net, x)
    y = init.diagonal(net, [[2.0, 1.0], [3.0, 0.5]])
    assert S.is_aligned(net, y) and S.is_decoupled(net, y)


def test_predicates_on_known_states():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    g = init.gaussian(net, 1.0, seed=1)
    assert not any([S.is_aligned(net, g), S.is_decoupled(net, g), S.is_block_shift_diagonal(net, g),
                    S.is_balanced(net, g)])
    d = init.diagonal(net, [[0.5, 0.2], [0.6, 0.1], [0.7, 0.3]])
    assert S.is_block_shift_diagonal(net, d) and S.is_decoupled(net, d) and not S.is_balanced(net, d)
    c = init.decoupled(net, [[0.5, 0.2], [0.6, 0.1], [0.7, 0.3]], seed=2)
    assert S.is_decoupled(net, c) and S.is_aligned(net, c) and not S.is_block_shift_diagonal(net, c)
    b = init.balanced(net, 1.0, seed=3)
    assert S.is_balanced(net, b) and S.is_aligned(net, b) and not S.is_decoupled(net, b)   # Prop. 34
    zb = init.balanced(net, 1.0, seed=3, rotate=False)
    # A small perturbation breaks each property by more than its tolerance.
    e = 1e-4 * init.gaussian(net, 1.0, seed=9)
    assert not S.is_balanced(net, b + e) and not S.is_block_shift_diagonal(net, d + e)
    assert not S.is_decoupled(net, c + e)
    assert S.is_balanced(net, zb)
    assert S.is_balanced(net, net.zeros()) and S.is_aligned(net, net.zeros()) and S.is_decoupled(net, net.zeros())
    assert S.balancedness(net, b) <= 1e-12 * max(float(np.sum(W * W)) for W in net.unpack(b))


def test_diagonal_and_decoupled_stay_so_along_the_flow():
    net = Network((5, 4, 3, 4, 3), sigma=[3.0, 2.0, 1.0])
    d0 = init.diagonal_random(net, 0.6, seed=5)
    ys = integrate(net, d0, 2.0)
    assert net.loss(ys[-1]) < 0.9 * net.loss(d0)
    for y in ys:
        # The vector field of a diagonal state is diagonal in exact zeros, so Runge-Kutta
        # combinations keep every off-diagonal entry exactly 0.
        assert S.is_block_shift_diagonal(net, y, tol=0.0)
    c0 = init.decoupled(net, np.abs(net.unpack(d0)[0].diagonal()[:3]) + 0.2, seed=6)
    ys = integrate(net, c0, 2.0)
    for y in ys:
        # Equivariance holds step by step up to rounding (~1e-15), far inside tol = 1e-10.
        assert S.is_decoupled(net, y)
    assert not S.is_decoupled(net, integrate(net, c0 + 1e-3 * init.gaussian(net, 1.0, seed=0), 1.0)[-1])


# -------------------------------------------------------------- Prop. 11
def _check_prop11(net, x):
    f = S.numerical_range_facts(net, x)
    assert f.holds(1e-10)
    A = net.adjacency(x)
    s = max(f.scale, 1e-300)
    # Item 1: the Hermitian part of e^{i theta} A has the same top eigenvalue for every
    # theta (a disk centered at 0), equal to the radius; eigensolver error ~ n eps ||A||.
    for theta in np.linspace(0.0, np.pi, 7):
        H = 0.5 * (np.exp(1j * theta) * A + np.exp(-1j * theta) * A.T)
        assert abs(np.linalg.eigvalsh(H)[-1] - f.numerical_radius) <= 1e-10 * s
    assert f.numerical_radius >= 0
    assert abs(f.numerical_radius - (-f.eig_sym[0])) <= 1e-10 * s          # item 3
    np.testing.assert_allclose(np.sort(f.eig_skew.imag), f.eig_sym, atol=1e-10 * s)
    assert f.trace_values.shape == (net.h - 1,)
    # Independent check of item 4 with matrix powers.
    for k in range(2, net.h + 3):
        assert abs(np.trace(np.linalg.matrix_power(A, k).T @ A)) <= 1e-12 * max(1.0, s) ** (k + 1)


@settings(max_examples=40, deadline=None)
@given(states())
def test_numerical_range_prop11_random_states(case):
    net, x, _ = case
    _check_prop11(net, x)


def test_numerical_range_prop11_along_a_trajectory():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    for y in integrate(net, init.gaussian(net, 0.5, seed=0), 3.0):
        _check_prop11(net, y)


def test_numerical_range_detects_a_non_block_shift_matrix():
    # Sanity check that the facts are not vacuous: for a matrix that is not block-shift
    # (an upper-triangular entry added) the spectrum of A_sy is not symmetric.
    net = Network((1, 1, 1), sigma=[1.0])
    A = net.adjacency([1.0, 2.0])
    A[0, 2] = 1.5                                        # a cycle: not nilpotent, not block-shift
    ev = np.linalg.eigvalsh(0.5 * (A + A.T))
    assert np.max(np.abs(ev + ev[::-1])) > 0.1


# --------------------------------------------------------------- Prop. 9
@settings(max_examples=40, deadline=None)
@given(states(gamma=True))
def test_frobenius_norm_rate_prop9_random_states(case):
    net, x, _ = case
    r = S.frobenius_norm_rate(net, x)
    M = net.product(x)
    # Natural size of the terms: 2h(|<Sigma, M>| + ||M||^2) and 2 gamma ||x||^2; the direct
    # side sums h layer products, so rounding is ~h eps times that.
    size = 2 * net.h * (abs(np.sum(net.Sigma * M)) + np.sum(M * M)) + 2 * net.gamma * np.sum(x * x)
    assert abs(r.direct - r.predicted) <= 1e-10 * max(size, 1e-300)
    if net.gamma == 0:
        assert abs(r.direct - r.prop9) <= 1e-10 * max(size, 1e-300)
    np.testing.assert_allclose(r.regularization, -2 * net.gamma * np.sum(x * x))


def test_frobenius_norm_rate_along_a_trajectory():
    net = Network((4, 3, 3, 2), sigma=[2.0, 1.0])
    sol = integrate(net, init.gaussian(net, 1.2, seed=2), 2.0, dense=True)
    ts = np.linspace(0.1, 1.9, 10)
    hstep = 1e-3
    norm2 = lambda t: float(np.sum(sol.sol(t) ** 2))
    for t in ts:
        fd = (norm2(t + hstep) - norm2(t - hstep)) / (2 * hstep)
        r = S.frobenius_norm_rate(net, sol.sol(t))
        # Central difference: truncation h^2/6 |d^3/dt^3 ||A||^2| ~ 1e-6 here, dense-output
        # interpolation error ~ rtol / hstep ~ 1e-7; allow 1e-5 relative to the norm scale.
        assert abs(fd - r.prop9) <= 1e-5 * max(1.0, norm2(t))
    # ||A||_F is not monotone in general (Fig. 2(b)); here it at least changes.
    assert abs(norm2(1.9) - norm2(0.1)) > 1e-3
    R_ = S.frobenius_norm_rate(net, sol.sol(ts).T)
    assert R_.direct.shape == (len(ts),)


def test_frobenius_norm_rate_mask_breaks_prop9():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    mask = np.ones(net.n_params, bool)
    mask[1] = False
    masked = Network(net.dims, net.sigma, mask=mask)
    x = init.gaussian(net, 1.0, seed=0)
    r = S.frobenius_norm_rate(masked, x)
    assert abs(r.direct - r.prop9) > 1e-6


# ------------------------------------------------------------- bad input
NET = Network((3, 3, 2), sigma=[2.0, 1.0])
X = init.gaussian(NET, 1.0, seed=0)


@pytest.mark.parametrize("call, name", [
    (lambda: S.block_shift_svd(NET, np.zeros(4)), "x"),
    (lambda: S.block_shift_svd(NET, np.stack([X, X])), "x"),
    (lambda: S.standard_svd(NET, np.full(NET.n_params, np.nan)), "x"),
    (lambda: S.singular_values(NET, np.zeros(3)), "x"),
    (lambda: S.alignment(NET, X, directions="some"), "directions"),
    (lambda: S.alignment(NET, X, directions=4), "directions"),
    (lambda: S.alignment(NET, X, directions=0), "directions"),
    (lambda: S.is_aligned(NET, X, tol=-1.0), "tol"),
    (lambda: S.is_balanced(NET, X, tol=float("nan")), "tol"),
    (lambda: S.is_decoupled(NET, X, tol=-1.0), "tol"),
    (lambda: S.is_block_shift_diagonal(NET, X, tol=-1.0), "tol"),
    (lambda: S.numerical_range_facts(NET, "abc"), "x"),
    (lambda: S.frobenius_norm_rate(NET, np.zeros(2)), "x"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
