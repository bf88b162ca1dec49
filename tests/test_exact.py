"""Exact solutions (dlnsys.exact) against the integrated flow, and their escape times.

Oracle: ``simulate(..., method="LSODA", rtol=1e-12, atol=1e-16)``. Agreement asked: 1e-9
relative, per saved time ``max|x_exact - x_sim| <= 1e-9 * max|x_sim|``. Why LSODA: on
plateau runs (init scale 2e-2..5e-2, depth 3) the exact solutions agree with Radau at rtol
1e-12 to 4e-13..6e-13, while the global error at rtol 1e-12 was 1.1e-9..1.2e-9 for the
compiled BDF (``method="auto"``), 3e-9..3e-7 for DOP853 and 2e-10..5e-10 for LSODA; Radau
is 10-20x slower than LSODA. So LSODA keeps a margin under 1e-9 at a cost that fits the
time budget, and the plateaus drawn here are no longer than those measured.

Rotated (decoupled but not diagonal) states are drawn only where the modes are learned in
order (equal init per mode, positive products): the decoupled set is invariant but, near a
saddle that learned a smaller singular value before a larger one, transversally unstable
(Prop. 21: a strict saddle with a negative direction outside the diagonal states), so a
simulation from a rotated state leaves it at the rounding level times the growth. Random
leaves, signs and out-of-order learning are drawn on block-shift diagonal states, which the
integrator keeps exactly diagonal (off-diagonal entries stay exact zeros).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dlnsys import Network, init, simulate
from dlnsys import exact as ex

RTOL = 1e-9
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def simulated(net, x0, t):
    # atol below every nonzero initial entry: an entry that starts below atol is not
    # controlled at all, and near a saddle it is amplified by the escape (e.g. 1e-22 by 1e14)
    nonzero = np.abs(x0[x0 != 0])
    atol = 1e-16 * min(1.0, float(nonzero.min())) if nonzero.size else 1e-16
    # a budget: with entries near 1e-23 (atol 1e-39) LSODA can take over ten minutes (seen with some
    # hypothesis versions' examples); a run stopped by it has status 2 and the example is discarded
    return simulate(net, x0, float(t[-1]), method="LSODA", rtol=1e-12, atol=atol, t_eval=t, max_time=20.0)


def assert_agree(exact, sim, rtol=RTOL):
    """Relative to the state's size at each time, floored at 1e-3 of the largest state of the run
    (a mode that decays to the saddle at 0 is then measured against the run's scale instead of
    against the integrator's atol)."""
    assert exact.x.shape == sim.x.shape
    err = np.max(np.abs(exact.x - sim.x), axis=-1)
    size = np.max(np.abs(sim.x), axis=-1)
    scale = np.maximum(np.maximum(size, 1e-3 * size.max()), 1e-300)     # the zero state is exact
    worst = float(np.max(err / scale))
    assert worst <= rtol, f"relative disagreement {worst:.3g}"
    return worst


def sigmas(d):
    """Distinct decreasing singular values with distinct partial sums of squares (Assumption 2)."""
    return st.lists(st.floats(0.5, 4.0), min_size=d, max_size=d).filter(
        lambda s: min(np.diff(sorted(s)), default=1.0) > 0.05).map(lambda s: sorted(s, reverse=True))


@st.composite
def architecture(draw, h_min=1, h_max=4, dy_max=3):
    h = draw(st.integers(h_min, h_max))
    dy = draw(st.integers(1, dy_max))
    dims = [dy + draw(st.integers(0, 2)) for _ in range(h)] + [dy]
    sigma = draw(sigmas(dy))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Network(dims, sigma)


def times(t_final, n=8, first=0.0):
    return np.linspace(first, t_final, n + 1)[1:] if first == 0.0 else np.linspace(first, t_final, n)


# ------------------------------------------------------------------ h = 1
@settings(max_examples=6, **SETTINGS)
@given(net=architecture(1, 1), seed=st.integers(0, 10 ** 6))
def test_linear_h1_matches_simulate(net, seed):
    x0 = init.gaussian(net, 1.0, seed=seed)
    t = times(8.0)
    tr = ex.exact_trajectory(net, x0, t)
    assert tr.method == "exact:linear"
    assert_agree(tr, simulated(net, x0, t))


# ------------------------------------------------------------------ 0-balanced aligned, any depth
@settings(max_examples=10, **SETTINGS)
@given(net=architecture(2, 5), z=st.floats(0.03, 0.6), seed=st.integers(0, 10 ** 6))
def test_balanced_aligned_rotated_matches_simulate(net, z, seed):
    """Equal per-mode init z (sequential learning), random hidden rotations; z small enough
    for long plateaus at depth 3-5 (t up to 1.3 x the last escape time)."""
    if net.h >= 4:
        z = max(z, 0.15)          # plateau ~ 1/((h-2) sigma z^{h-2}); keep LSODA's global error < 1e-9
    x0 = init.decoupled(net, z, seed=seed)
    t_end = 1.3 * float(np.max(ex.escape_times(net, scale=z)))
    t = times(max(t_end, 1.0))
    tr = ex.balanced_trajectory(net, x0, t)
    assert tr.method == "exact:balanced"
    assert_agree(tr, simulated(net, x0, t))
    assert_agree(ex.exact_trajectory(net, x0, t), tr, rtol=0.0)    # the dispatcher picks the same solution


@settings(max_examples=10, **SETTINGS)
@given(net=architecture(2, 5), data=st.data())
def test_balanced_diagonal_any_signs_and_modes_matches_simulate(net, data):
    """Per-mode z0 of any size (some near the saddle at 0, some above sigma^(1/h)) and random
    layer signs: negative products decay to the saddle, positive ones are learned."""
    h, dy = net.h, net.d_y
    z = np.array(data.draw(st.lists(st.floats(0.05, 1.6), min_size=dy, max_size=dy)))
    if h >= 4:
        z = np.maximum(z, 0.2)
    signs = np.array(data.draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=h * dy, max_size=h * dy)))
    vals = signs.reshape(h, dy) * z
    x0 = init.diagonal(net, vals)
    t = times(data.draw(st.floats(2.0, 40.0)))
    tr = ex.exact_trajectory(net, x0, t)
    assert_agree(tr, simulated(net, x0, t))


@pytest.mark.parametrize("h,z", [(3, 1e-3), (4, 2e-2), (6, 0.25)])
def test_balanced_mode_close_to_the_saddle(h, z):
    """Very long plateaus (t ~ 1/((h-2) sigma z^{h-2}) up to 500): the scalar mode (61)
    against a DOP853 integration of (61) itself at rtol 1e-13, across the whole escape."""
    from scipy.integrate import solve_ivp
    sigma = 2.0
    te = ex.balanced_escape_time(sigma, z, h)
    t = np.linspace(0.0, 1.5 * te, 31)
    sol = solve_ivp(lambda _, y: y ** (h - 1) * (sigma - y ** h), (0, t[-1]), [z], method="DOP853",
                    rtol=1e-13, atol=1e-300, t_eval=t)
    zt = ex.balanced_mode(t, sigma, z, h)
    assert np.max(np.abs(zt - sol.y[0]) / sol.y[0]) < 1e-9
    assert abs(float(ex.balanced_mode(te, sigma, z, h)) ** h - 0.5 * sigma) < 1e-12 * sigma


def test_balanced_time_inverts_balanced_mode():
    for h in (1, 2, 3, 4, 7):
        for z0, z in ((0.01, 0.9), (0.3, 0.31), (1.5, 1.2)):
            sigma = 1.0
            t = ex.balanced_time(z, sigma, z0, h)
            # conditioning: a rounding error eps * t in the time moves z by eps * t * |dz/dt|
            rate = abs(z ** (h - 1) * (sigma - z ** h))
            bound = 4 * np.finfo(float).eps * (z + t * rate)
            assert abs(float(ex.balanced_mode(t, sigma, z0, h)) - z) <= bound, (h, z0, z)


# ------------------------------------------------------------------ any leaf: chains and (55)
@settings(max_examples=12, **SETTINGS)
@given(h=st.integers(2, 4), data=st.data())
def test_chain_on_any_leaf_matches_simulate(h, data):
    """Scalar chains on random leaves, including tiny leaf constants (a pass close to the
    saddle at the origin) and weights that cross zero."""
    scale = data.draw(st.sampled_from([0.02, 0.1, 0.5, 1.0])) if h <= 3 else data.draw(
        st.sampled_from([0.2, 0.5, 1.0]))
    w0 = np.array(data.draw(st.lists(st.floats(-1.0, 1.0).filter(lambda v: abs(v) > 0.05),
                                     min_size=h, max_size=h))) * scale
    sigma = data.draw(st.floats(0.5, 3.0))
    net = Network((1,) * (h + 1), [sigma])
    t = times(data.draw(st.floats(3.0, 60.0)))
    tr = ex.exact_trajectory(net, w0, t)
    assert tr.method == "exact:decoupled"
    assert_agree(tr, simulated(net, w0, t))
    np.testing.assert_array_equal(ex.chain_trajectory(t, sigma, w0), tr.x)


@settings(max_examples=10, **SETTINGS)
@given(net=architecture(2, 4), data=st.data())
def test_diagonal_reduction_on_any_leaf_matches_simulate(net, data):
    """Block-shift diagonal states with i.i.d. entries: every channel on its own leaf
    (generic, partly degenerate when two entries are equal in modulus, or 0-balanced)."""
    h, dy = net.h, net.d_y
    # entries are 0 or at least 1e-100 in modulus: squares of smaller ones underflow, and the
    # leaf constants are squares (a documented limit of the leaf parametrization)
    entry = st.floats(-0.8, 0.8).filter(lambda v: v == 0 or abs(v) >= 1e-100)
    xi = np.array(data.draw(st.lists(entry, min_size=h * dy, max_size=h * dy))).reshape(h, dy)
    if data.draw(st.booleans()):                      # a partly degenerate leaf: |xi_1| = |xi_2|
        xi[1] = -xi[0]
    x0 = init.diagonal(net, xi)
    t = times(data.draw(st.floats(2.0, 30.0)))
    tr = ex.exact_trajectory(net, x0, t)
    sim = simulated(net, x0, t)
    assume(sim.status != 2)                 # the oracle ran out of its budget: nothing to compare
    assert_agree(tr, sim)
    from dlnsys import reductions as red
    np.testing.assert_allclose(red.diagonal_from_state(net, tr.x),
                               ex.diagonal_trajectory(t, net.sigma, xi), rtol=0, atol=1e-15)


# ------------------------------------------------------------------ h = 2, lambda-balanced
def lambda_balanced_state(net, lam, scale, rng):
    """W_1 random; W_2 = O (W_1 W_1^T + lam I)^{1/2} (d_1 = d_y, O orthogonal): W_2^T W_2 - W_1 W_1^T = lam I."""
    d0, d1, d2 = net.dims
    W1 = scale * rng.standard_normal((d1, d0))
    ev, U = np.linalg.eigh(W1 @ W1.T + lam * np.eye(d1))
    O = init.random_orthogonal(d2, rng)
    W2 = O @ (np.sqrt(ev)[:, None] * U.T)
    return net.pack([W1, W2])


@settings(max_examples=8, **SETTINGS)
@given(dy=st.integers(1, 3), extra=st.integers(0, 2), lam=st.floats(-0.5, 1.0),
       scale=st.sampled_from([0.05, 0.3, 1.0]), seed=st.integers(0, 10 ** 6), data=st.data())
def test_lambda_balanced_unaligned_matches_simulate(dy, extra, lam, scale, seed, data):
    sigma = data.draw(sigmas(dy))
    net = Network((dy + extra, dy, dy), sigma)
    rng = np.random.default_rng(seed)
    W1 = scale * rng.standard_normal((dy, dy + extra))
    lam = max(lam, -0.9 * float(np.linalg.eigvalsh(W1 @ W1.T).min()))       # W_2^T W_2 must be PSD
    x0 = lambda_balanced_state(net, lam, scale, np.random.default_rng(seed))
    t = times(data.draw(st.floats(2.0, 12.0)))
    tr = ex.exact_trajectory(net, x0, t, lam=float(np.trace(net.unpack(x0)[1].T @ net.unpack(x0)[1]
                                                            - net.unpack(x0)[0] @ net.unpack(x0)[0].T) / dy))
    assert tr.method == "exact:lambda_balanced"
    assert_agree(tr, simulated(net, x0, t))


@settings(max_examples=6, **SETTINGS)
@given(dx=st.integers(1, 3), d1=st.integers(0, 2), scale=st.sampled_from([0.01, 0.1, 1.0]),
       seed=st.integers(0, 10 ** 6))
def test_fukumizu_zero_balanced_any_widths_matches_simulate(dx, d1, scale, seed):
    """lambda = 0 from init.balanced (random, unaligned end-to-end map), wide hidden layer,
    small scale: the product starts near the saddle at the origin."""
    dy = min(dx, 2)
    net = Network((dx, dy + d1, dy), [2.5, 1.0][:dy])
    x0 = init.balanced(net, scale, seed=seed)
    t = times(10.0)
    tr = ex.exact_trajectory(net, x0, t)
    assert tr.method in ("exact:lambda_balanced", "exact:decoupled")
    assert_agree(tr, simulated(net, x0, t))


# ------------------------------------------------------------------ escape times
@pytest.mark.parametrize("h", [1, 2, 3, 4, 6])
def test_escape_times_leading_converges_to_exact(h):
    """|leading - exact| -> 0 as scale -> 0, at the rate of the first neglected term
    (O(scale^2); h = 1 also gets O(scale))."""
    net = Network((3,) * h + (2,), [3.0, 1.5]) if h > 1 else Network((3, 2), [3.0, 1.5])
    scales = [1e-1, 1e-2, 1e-3] if h <= 4 else [0.3, 0.1, 0.03]
    errs = []
    for s in scales:
        exact = ex.escape_times(net, scale=s)
        lead = ex.escape_times(net, scale=s, order="leading")
        errs.append(np.max(np.abs(lead - exact)))
        assert np.all(np.isfinite(exact))
    ratio = 10.0 if h <= 4 else 10.0 / 3
    need = ratio if h == 1 else ratio ** 2
    assert errs[1] <= errs[0] / (0.5 * need) and errs[2] <= errs[1] / (0.5 * need), errs


@settings(max_examples=8, **SETTINGS)
@given(net=architecture(1, 4), z=st.floats(0.05, 0.5), level=st.floats(0.1, 0.9), seed=st.integers(0, 99))
def test_escape_times_are_where_the_simulation_crosses(net, z, level, seed):
    """At the predicted time the simulated mode's end-to-end value is level * sigma_i."""
    if net.h >= 4:
        z = max(z, 0.2)
    x0 = init.decoupled(net, z, seed=seed)
    te = ex.escape_times(net, x0, level=level)
    np.testing.assert_allclose(te, ex.escape_times(net, scale=z, level=level), rtol=1e-12)
    for i, ti in enumerate(te):
        if ti == 0.0:                                 # already learned at t = 0
            assert z ** net.h >= level * net.sigma[i]
            continue
        sim = simulated(net, x0, np.array([ti]))
        p = net.product(sim.x[-1])[i, i]
        assert abs(p - level * net.sigma[i]) <= 1e-9 * net.sigma[i]


@settings(max_examples=8, **SETTINGS)
@given(h=st.integers(2, 4), data=st.data())
def test_escape_times_on_any_leaf_are_where_the_simulation_crosses(h, data):
    dy = 2
    net = Network((dy,) * (h + 1), [2.0, 0.7])
    xi = np.array(data.draw(st.lists(st.floats(0.1, 0.6), min_size=h * dy, max_size=h * dy))).reshape(h, dy)
    x0 = init.diagonal(net, xi)
    te = ex.escape_times(net, x0)
    for i, ti in enumerate(te):
        assert np.isfinite(ti)
        if ti == 0:
            assert np.prod(xi[:, i]) >= 0.5 * net.sigma[i]
            continue
        sim = simulated(net, x0, np.array([ti]))
        assert abs(net.product(sim.x[-1])[i, i] - 0.5 * net.sigma[i]) <= 1e-9 * net.sigma[i]


def test_escape_times_special_cases():
    net = Network((2, 2, 2, 2), [2.0, 1.0])
    # a mode with a negative product decays to the saddle: never learned
    x0 = init.diagonal(net, [[0.1, 0.1], [0.1, 0.1], [-0.1, 0.1]])
    te = ex.escape_times(net, x0)
    assert te[0] == math.inf and np.isfinite(te[1])
    # a mode already past the level: 0
    x0 = init.diagonal(net, [1.2, 0.1])
    assert ex.escape_times(net, x0)[0] == 0.0
    assert ex.escape_times(net, scale=1.2)[0] == 0.0
    # leading order is for 0-balanced modes only
    x0 = init.diagonal(net, [[0.1, 0.1], [0.2, 0.1], [0.1, 0.1]])
    with pytest.raises(ex.NotApplicable, match="order"):
        ex.escape_times(net, x0, order="leading")
    # h = 1: no plateau, leading order is the scale -> 0 limit
    net1 = Network((2, 2), [2.0, 1.0])
    np.testing.assert_allclose(ex.escape_times(net1, scale=1e-9), math.log(2.0), rtol=1e-8)


# ------------------------------------------------------------------ the Trajectory it returns
def test_trajectory_fields_dense_output_and_late_start():
    net = Network((3, 3, 3, 2), [2.0, 1.0])
    x0 = init.decoupled(net, [0.2, 0.3], seed=0)
    t = np.array([5.0, 7.5, 20.0])                    # t[0] > 0: x0 is at t = 0, not saved
    tr = ex.exact_trajectory(net, x0, t)
    assert tr.success and tr.nfev == 0 and tr.t.tolist() == t.tolist()
    assert tr.conserved_drift < 1e-12
    np.testing.assert_allclose(tr.loss, net.loss(tr.x), rtol=1e-15)
    np.testing.assert_allclose(tr.at(t), tr.x, rtol=0, atol=1e-15)
    mid = tr.at(10.0)
    np.testing.assert_allclose(mid, ex.exact_trajectory(net, x0, [10.0]).x[0], rtol=0, atol=1e-15)
    t0 = ex.exact_trajectory(net, x0, [0.0, 1.0])
    np.testing.assert_allclose(t0.x[0], x0, rtol=0, atol=1e-15)


# ------------------------------------------------------------------ errors
def test_not_applicable_cases():
    assert issubclass(ex.NotApplicable, ValueError)
    net3 = Network((3, 3, 3, 2), [2.0, 1.0])
    with pytest.raises(ex.NotApplicable, match="decoupled"):
        ex.exact_trajectory(net3, init.gaussian(net3, 0.3, seed=0), [1.0])
    with pytest.raises(ex.NotApplicable, match="aligned"):          # 0-balanced, product not diagonal
        ex.balanced_trajectory(net3, init.balanced(net3, 0.3, seed=0), [1.0])
    net2 = Network((3, 2, 2), [2.0, 1.0])
    with pytest.raises(ex.NotApplicable, match="lambda-balanced"):
        ex.exact_trajectory(net2, init.gaussian(net2, 0.3, seed=0), [1.0])
    with pytest.raises(ex.NotApplicable, match="gamma"):
        ex.exact_trajectory(Network((2, 2, 2), [2.0, 1.0], gamma=0.1), np.zeros(8), [1.0])
    with pytest.raises(ex.NotApplicable):
        ex.escape_times(net3, init.gaussian(net3, 0.3, seed=0))


def test_bad_input_names_the_argument():
    net = Network((3, 2, 2), [2.0, 1.0])
    x0 = init.balanced(net, 0.1, seed=0)
    with pytest.raises(ValueError, match="^t:"):
        ex.exact_trajectory(net, x0, [-1.0, 1.0])
    with pytest.raises(ValueError, match="^t:"):
        ex.exact_trajectory(net, x0, [2.0, 1.0])
    with pytest.raises(ValueError, match="^t:"):
        ex.exact_trajectory(net, x0, [np.nan])
    with pytest.raises(ValueError, match="^x0:"):
        ex.exact_trajectory(net, x0[:-1], [1.0])
    with pytest.raises(ValueError, match="^x0:"):
        ex.exact_trajectory(net, np.full(net.n_params, np.nan), [1.0])
    with pytest.raises(ValueError, match="^lam:"):
        ex.exact_trajectory(net, x0, [1.0], lam=0.5)                  # x0 is 0-balanced
    with pytest.raises(ValueError, match="^lam:"):
        ex.exact_trajectory(Network((3, 3, 3, 2), [2.0, 1.0]), np.zeros(24), [1.0], lam=0.0)
    with pytest.raises(ValueError, match="^lam:"):
        ex.lambda_balanced_h2(net, init.gaussian(net, 0.3, seed=1), [1.0], lam=0.0)
    with pytest.raises(ValueError, match="^x0:"):                     # decoupled but not 0-balanced
        ex.balanced_trajectory(Network((2, 2, 2, 2), [2.0, 1.0]),
                               init.diagonal(Network((2, 2, 2, 2), [2.0, 1.0]), [[0.1, 0.1], [0.2, 0.1],
                                                                                 [0.1, 0.1]]), [1.0])
    with pytest.raises(ValueError, match="^net:"):
        ex.exact_trajectory("net", x0, [1.0])
    with pytest.raises(ValueError, match="^x0, scale:"):
        ex.escape_times(net)
    with pytest.raises(ValueError, match="^scale:"):
        ex.escape_times(net, scale=-1.0)
    with pytest.raises(ValueError, match="^level:"):
        ex.escape_times(net, scale=0.1, level=1.0)
    with pytest.raises(ValueError, match="^order:"):
        ex.escape_times(net, scale=0.1, order="first")
    with pytest.raises(ValueError, match="^h:"):
        ex.balanced_mode([1.0], 1.0, 0.1, 0)
    with pytest.raises(ValueError, match="^z:"):
        ex.balanced_time(2.0, 1.0, 0.1, 3)                              # beyond the equilibrium
    with pytest.raises(ValueError, match="^sigma:"):
        ex.chain_trajectory([1.0], -1.0, [0.1, 0.2])
    with pytest.raises(ValueError, match="^xi0:"):
        ex.diagonal_trajectory([1.0], [2.0, 1.0], np.zeros(5))


# ------------------------------------------------------------------ vectorized inversion of t(z)
EPS = np.finfo(float).eps


def closed_form_noise(t, z, a, s0, h):
    """Rounding of the closed form t(z) (h >= 3) in time units: eps times the sum of the moduli of
    the terms that G(x) - G(x0) adds up (x^{2-h}/(h-2) and the logarithms, each of |log| <=
    |log(modulus)| + pi), over kappa, plus t (for a > 0 the term log|x - 1| is carried exactly as
    the unknown v, about h kappa t late in the run). Near-cancelling terms (starts far above
    sigma^(1/h), where the terms are ~log x and the difference tiny) make t(z) ill-conditioned
    there; elsewhere this is about eps * t."""
    r, kap = abs(a) ** (1.0 / h), abs(a) ** ((2.0 * h - 2.0) / h)
    x, x0 = z / r, s0 / r
    total = (x ** (2.0 - h) + x0 ** (2.0 - h)) / (h - 2)
    shift = 0.0 if a > 0 else 1.0
    with np.errstate(divide="ignore"):
        for k in range(1 if a > 0 else 0, h):
            th = math.pi * (2 * k + shift) / h
            c, s = math.cos(th), math.sin(th)
            total = total + (np.abs(np.log(np.hypot(x - c, s))) + abs(math.log(math.hypot(x0 - c, s)))
                             + math.pi) / h
    return EPS * (total / kap + t)


# (a, z0): plateaus from close to the saddle, moderate starts, starts above the equilibrium
# sigma^(1/h) (a > 0) and decays to the saddle (a < 0, from below and from above 1)
INVERSION_CASES = [(2.0, 1e-3), (0.7, 2e-2), (2.0, 0.3), (3.0, 1.45), (2.0, 5.0), (-2.0, 0.1), (-1.0, 3.0)]


@pytest.mark.parametrize("h", [3, 4, 5, 6, 7])
def test_vectorized_inversion_matches_the_scalar_root_finder(h):
    """All times at once (_BalancedInverse) against one safeguarded Newton per time (the scalar
    reference path), z to 1e-13 relative plus the conditioning of the closed form: a rounding
    delta of t(z) moves z by delta * |dz/dt|, and both paths solve the same rounded t(z) (see
    closed_form_noise; this term only matters for starts far above the equilibrium at t < 1e-6).
    Times: t = 0, very early (1e-14..), across the plateau and escape, very late (1e12 x)."""
    for a, z0 in INVERSION_CASES:
        b = ex._Balanced(a, z0, h)
        assert b.moving
        scale = (1.0 / ((h - 2) * abs(a) * z0 ** (h - 2)) if a > 0 and z0 ** h < a else 1.0) + 1.0
        t = np.r_[0.0, np.geomspace(1e-14, 1e-3, 40), np.linspace(0.0, 2.0 * scale, 120)[1:],
                  np.geomspace(2.0 * scale, 1e12 * scale, 40)]
        t = np.unique(t)
        with warnings.catch_warnings():
            warnings.simplefilter("error")                 # no budget ran out
            z_vec = b.at(t)
        z_ref = b._at_scalar(t)
        assert z_vec[0] == z0
        rate = np.abs(z_ref ** (h - 1) * (a - z_ref ** h))
        with np.errstate(invalid="ignore"):
            cond = np.where(rate > 0, closed_form_noise(t, z_ref, a, z0, h) * rate, 0.0)
        err = np.abs(z_vec - z_ref)
        bound = 1e-13 * np.abs(z_ref) + cond
        assert np.all(err <= bound), (a, z0, float(np.max(err / bound)), t[np.argmax(err / bound)])
        # 1e-13 flat wherever t(z) is well conditioned: every time for starts below sigma^(1/h)
        # (plateaus included), from t = 1e-4 on for starts above it (measured: <= 1.5e-14 there;
        # at earlier times err / z reaches 4e-9 for h = 7, z0 = 5, at 0.05 x the bound above)
        rel = err / np.abs(z_ref)
        above = z0 > abs(a) ** (1.0 / h)
        assert np.max(rel[t >= 1e-4] if above else rel) <= 1e-13, (a, z0)


@pytest.mark.parametrize("h,z0", [(3, 1e-3), (4, 1e-2), (6, 0.1)])
def test_vectorized_inversion_matches_brentq_on_the_public_closed_form(h, z0):
    """An inversion independent of the unknown v: scipy's brentq on balanced_time(z) (in z itself,
    xtol 1e-300, rtol 4 eps) per time point, across the plateau and the escape of a learning mode."""
    from scipy.optimize import brentq
    sigma = 2.0
    r = sigma ** (1.0 / h)
    te = ex.balanced_escape_time(sigma, z0, h)
    z_hi = r * (1 - 1e-12)
    t_hi = ex.balanced_time(z_hi, sigma, z0, h)            # the end of the escape
    t = np.r_[np.geomspace(1e-12, 1e-2, 10) * te, np.linspace(0.01 * te, t_hi, 60)[:-1]]
    z_vec = ex.balanced_mode(t, sigma, z0, h)
    for tk, zk in zip(t, z_vec):
        zr = brentq(lambda z: ex.balanced_time(z, sigma, z0, h) - tk, z0, z_hi,
                    xtol=1e-300, rtol=4 * EPS, maxiter=400)
        rate = abs(zr ** (h - 1) * (sigma - zr ** h))
        # brentq solves t(z) in z, where the term log|x - 1| loses digits as z -> r: allow its
        # conditioning (eps |log|x - 1|| / kappa in time) on top of the common one
        kap = sigma ** ((2.0 * h - 2.0) / h)
        extra = EPS * abs(math.log(abs(zr / r - 1.0))) / (h * kap) * rate
        tol = 1e-13 * zr + 2 * closed_form_noise(tk, zr, sigma, z0, h) * rate + 4 * extra
        assert abs(zk - zr) <= tol, (tk, zk, zr, abs(zk - zr) / zr)


def test_vectorized_inversion_any_order_and_all_modes_at_once():
    """Unsorted times with repeats give the sorted answer; modes of several depths and signs
    solved together equal each mode solved alone; the trajectory equals the scalar path's."""
    b = ex._Balanced(2.0, 0.05, 4)
    rng = np.random.default_rng(0)
    t = np.r_[rng.uniform(0.0, 400.0, 200), 0.0, 3.0, 3.0]
    z = b.at(t)
    order = np.argsort(t)
    np.testing.assert_array_equal(z[order], b.at(t[order]))
    assert z[-3] == 0.05 and z[-1] == z[-2]
    bals = [ex._Balanced(a, s, h) for a, s, h in [(2.0, 0.05, 4), (-1.0, 0.4, 4), (3.0, 2.0, 4), (1.0, 0.2, 3),
                                                   (-2.0, 0.3, 6)]]
    S, note = ex._balanced_modes_at(bals, t)
    assert note is None
    for k, bk in enumerate(bals):
        np.testing.assert_allclose(S[:, k], bk.at(t), rtol=1e-15, atol=0)
    # a decoupled state with a 0-balanced channel (batched), a quadrature one and a dead one
    net = Network((3, 3, 3, 3), [2.0, 1.0, 0.5])
    x0 = init.diagonal(net, [[0.1, 0.2, 0.0], [0.1, -0.3, 0.0], [0.1, 0.25, 0.0]])
    tt = np.linspace(0.0, 120.0, 50)
    tr = ex.exact_trajectory(net, x0, tt)
    ex._SCALAR_INVERSION = True
    try:
        ref = ex.exact_trajectory(net, x0, tt)
    finally:
        ex._SCALAR_INVERSION = False
    assert tr.status == 0 and tr.method == ref.method == "exact:decoupled"
    np.testing.assert_allclose(tr.x, ref.x, rtol=0, atol=1e-13 * np.max(np.abs(ref.x)))


def test_inversion_budget_is_reported(monkeypatch):
    """House rule: an iteration that runs out of its budget says so (status 2 + message on the
    trajectory, a RuntimeWarning from the array functions), never silently."""
    v, left, worst = ex._increasing_roots(lambda v, k: (v ** 3, 3 * v ** 2), np.array([1.0, 8.0, 27.0]),
                                          np.zeros(3), np.full(3, 10.0), np.full(3, 9.0), max_iter=2)
    assert left == 3 and worst > 0.1
    v, left, worst = ex._increasing_roots(lambda v, k: (v ** 3, 3 * v ** 2), np.array([1.0, 8.0, 27.0]),
                                          np.zeros(3), np.full(3, 10.0), np.full(3, 9.0), max_iter=100)
    assert left == 0 and np.allclose(v, [1.0, 2.0, 3.0], rtol=4 * EPS, atol=0)
    monkeypatch.setattr(ex, "ROOT_BUDGET", 1)
    net = Network((3, 3, 3, 2), [2.0, 1.0])
    x0 = init.decoupled(net, 0.1, seed=0)
    with pytest.warns(RuntimeWarning, match="budget of 1 "):
        tr = ex.balanced_trajectory(net, x0, [10.0, 50.0])
    assert tr.status == 2 and tr.success and "budget" in tr.message
    with pytest.warns(RuntimeWarning, match="budget"):
        ex.balanced_mode([1.0, 3.0, 5.0], 2.0, 0.1, 3)
