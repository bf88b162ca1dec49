"""Tests of dlnsys.simulate: integration of the gradient flow (9) and gradient descent (67).

Oracles: monotonicity of the loss along a gradient flow, the conservation laws of Prop. 6,
the critical values (31) as plateaus of sequential learning (Section 6.1), the closed form
dL/dt = -2 (w1^2 + w2^2) L of example (62), and the first-order convergence of gradient
descent to the flow.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dlnsys import Network, init
from dlnsys.simulate import AUTO_METHOD, METHODS, Trajectory, simulate, simulate_gd

DIMS_61 = (11, 6, 6, 6, 6, 4)
SIGMA_61 = (7.0, 5.5, 4.0, 2.5)
# Critical values (31) of the intermediate saddles S = {1}, {1,2}, {1,2,3}, and of S = {} (x = 0).
CRIT_61 = [0.5 * sum(s * s for s in SIGMA_61[k:]) for k in range(5)]   # 50.75, 26.25, 11.125, 3.125, 0

# Tolerances that keep every conservation law of the Section 6.1 runs within 1e-8 (relative,
# see Trajectory.conserved_drift) until convergence: at the default rtol=1e-8 the measured drift
# is 1.2e-8 (LSODA, small init) and 2.2e-8 (large init); at rtol=1e-10, atol=1e-12 it is below
# 1e-9 for both, a factor >10 of margin.
TIGHT = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def net61():
    return Network(DIMS_61, SIGMA_61)


@pytest.fixture(scope="module")
def small_run(net61):
    """Section 6.1 from init.gaussian(scale 1e-2, seed 0) to t = 1e5: the four transitions happen
    near t = 4950, 7350, 13420 and 82000 (measured), then the loss decays to rounding level."""
    x0 = init.gaussian(net61, 1e-2, seed=0)
    return simulate(net61, x0, 1e5, **TIGHT)


@pytest.fixture(scope="module")
def large_run(net61):
    """Section 6.1 from init.gaussian(scale 1, seed 0) to t = 40 (loss ~1e-14 there, from ~2e4)."""
    x0 = init.gaussian(net61, 1.0, seed=0)
    return simulate(net61, x0, 40.0, **TIGHT)


def _uniform(traj, n=20001):
    """Loss on a uniform time grid (linear interpolation of the saved points; the saved points
    are the solver's steps, dense where the loss changes)."""
    t = np.linspace(traj.t[0], traj.t[-1], n)
    return t, np.interp(t, traj.t, traj.loss)


# ---------------------------------------------------------------- monotone loss
def _max_increase(traj):
    L = traj.loss
    return np.max(np.diff(L) / np.maximum(L[:-1], 1e-300))


@pytest.mark.parametrize("which", ["small_run", "large_run"])
def test_loss_never_increases(which, request):
    traj = request.getfixturevalue(which)
    assert traj.success
    L = traj.loss
    # dL/dt = -|f|^2 <= 0. Allowed: (i) 1e-12 * L, the rounding level of evaluating
    # L = 1/2 ||Sigma - W_5...W_1||^2 (the product loses ~h * d * eps ~ 1e-14 relative; margin
    # 100); (ii) 100 * atol^2 absolute: once converged, the solver holds x only to ~atol, so L
    # (quadratic in the residual, |d residual / dx| ~ 10) jitters at ~(10 atol)^2. Measured:
    # increases of at most 4e-25 (< 1e-22), only where L < 1e-25, at the end of the small-init run.
    increases = np.diff(L) - (1e-12 * L[:-1] + 100 * traj.atol ** 2)
    assert np.all(increases <= 0), f"loss increases by up to {np.max(np.diff(L)):.3g}"
    assert L[-1] < 1e-10 * L[0]        # and it did converge


def test_loss_never_increases_gd_and_regularized():
    net = Network((4, 3, 3, 2), (2.0, 1.0), gamma=0.05)
    x0 = init.gaussian(net, 0.5, seed=3)
    tr = simulate(net, x0, 30.0)
    assert np.all(np.diff(tr.loss) <= 1e-12 * tr.loss[:-1])
    gd = simulate_gd(net, x0, 1e-2, 3000, record_every=10)
    # GD decreases L when eta < 2 / lambda_max(Hessian) along the path (lambda_max < 20 here).
    assert np.all(np.diff(gd.loss) <= 1e-12 * gd.loss[:-1])
    assert gd.loss[-1] < 0.5 * gd.loss[0]


# ---------------------------------------------------------------- conservation laws
@pytest.mark.parametrize("which", ["small_run", "large_run"])
def test_conserved_quantities_drift_at_most_1e8(which, request):
    traj = request.getfixturevalue(which)
    assert traj.final_loss < 1e-10                 # converged (to the global minimum)
    # Relative drift max_k |C_k(t) - C_k(0)| / max(1, |C_k(0)|) over all 84 laws and saved times.
    assert traj.conserved_drift <= 1e-8
    assert traj.conserved_drift_abs <= 1e-8 * max(1.0, np.max(np.abs(traj.net.conserved(traj.x[0])[0])))
    assert traj.conserved_drift > 0.0              # it is measured, not skipped


def test_conserved_drift_definition():
    net = Network((2, 2, 1), (1.0,))
    # A hand-made "trajectory" with a known violation: C = W1 W1^T - W2^T W2 changes by 0.5 in one entry.
    x = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [np.sqrt(1.5), 0.0, 0.0, 1.0, 0.0, 0.0]])
    tr = simulate_gd(net, x[0], 1e-9, 0)
    assert tr.conserved_drift == 0.0
    from dlnsys.simulate import _drift
    rel, ab = _drift(net, x)
    assert ab == pytest.approx(0.5, rel=1e-12)
    assert rel == pytest.approx(0.5 / max(1.0, 1.0), rel=1e-12)   # C_11(0) = 1 -> divided by 1


# ---------------------------------------------------------------- sequential learning
def test_small_init_plateaus_at_the_critical_values_in_order(small_run):
    plateaus = small_run.plateaus(rate_tol=0.1, min_duration=10.0)
    losses = [p.loss for p in plateaus]
    # S = {}, {1}, {1,2}, {1,2,3}: the saddles are visited in order of decreasing critical value.
    assert len(losses) == 4, plateaus
    for found, expected in zip(losses, CRIT_61[:4]):
        # On a plateau the state is within ~s^2 of the saddle; |L - L_S| <= 1e-6 L_S is loose
        # (measured 5e-9 relative).
        assert found == pytest.approx(expected, rel=1e-6)
    assert all(a > b for a, b in zip(losses, losses[1:]))
    # Plateaus dominate the time: each lasts much longer than the transitions between them.
    gaps = [b.t_start - a.t_end for a, b in zip(plateaus, plateaus[1:])]
    assert max(gaps) < 0.01 * min(p.duration for p in plateaus)


def _fraction_near_intermediate(traj):
    """Fraction of the time to convergence (L < 1e-6 L(0)) spent within 5% of the critical
    values of the intermediate saddles S = {1}, {1,2}, {1,2,3}."""
    t, L = _uniform(traj)
    t_conv = t[np.argmax(L < 1e-6 * L[0])]
    keep = t <= t_conv
    near = np.zeros_like(keep)
    for c in CRIT_61[1:4]:
        near |= np.abs(L - c) < 0.05 * c
    return np.mean(near[keep]), t_conv


def test_large_init_learns_without_plateaus(large_run, small_run):
    frac_large, t_large = _fraction_near_intermediate(large_run)
    frac_small, t_small = _fraction_near_intermediate(small_run)
    # Measured: ~94% of the time near the saddles' values from small init, ~0.5% from large init.
    assert frac_small > 0.5
    assert frac_large < 0.05
    # ... and no interval at all where |dL/dt| / L < 0.1 (small init: four such, each >= 2400 long).
    assert large_run.plateaus(rate_tol=0.1, min_duration=0.0) == []
    assert t_large < 1e-3 * t_small       # orders of magnitude faster (Section 6.1)


# ---------------------------------------------------------------- ensembles
@pytest.mark.parametrize("method, ensemble", [
    ("RK45", "joint"), ("DOP853", "joint"), ("LSODA", "joint"), ("BDF", "joint"), ("Radau", "joint"),
    ("LSODA", "separate"), ("BDF", "separate"), ("CBDF", "joint"), ("CBDF", "separate"),
])
def test_batch_equals_separate_runs(method, ensemble):
    if method == "CBDF":
        from dlnsys import compiled
        if not compiled.available():
            from _external import missing          # a failure under CI=true, a skip with the reason otherwise
            missing(f"dlnsys.compiled unavailable: {compiled.unavailable_reason()}")
    net = Network((4, 3, 2), (2.0, 1.0))
    X0 = init.gaussian(net, 0.7, seed=11, n=4)
    t_eval = np.linspace(0.0, 4.0, 9)
    opts = dict(method=method, rtol=1e-10, atol=1e-12, t_eval=t_eval)
    batch = simulate(net, X0, 4.0, ensemble=ensemble, **opts)
    assert batch.x.shape == (9, 4, net.n_params) and batch.loss.shape == (9, 4)
    for b in range(4):
        one = simulate(net, X0[b], 4.0, **opts)
        # Both are 1e-10-accurate solutions (a joint batch's error control is over the stack):
        # they agree to the accumulated global error, ~1e3 * rtol on this interval.
        np.testing.assert_allclose(batch.x[:, b], one.x, rtol=0, atol=1e-7)
        np.testing.assert_allclose(batch.loss[:, b], one.loss, rtol=1e-7, atol=1e-12)


def test_separate_ensemble_common_grid_and_until_loss(net61):
    """Members integrated one by one share one time grid (the union of their steps); with
    until_loss the early finishers are continued until the last member reaches it."""
    X0 = init.gaussian(net61, 1.0, seed=1, n=3)
    tr = simulate(net61, X0, 50.0, until_loss=1e-3, dense_output=True)     # auto -> separate (198 params)
    assert tr.status == 1 and tr.x.shape[1:] == (3, net61.n_params)
    assert np.max(tr.loss[-1]) == pytest.approx(1e-3, rel=1e-6)
    assert np.all(np.max(tr.loss[:-1], axis=1) > 1e-3)
    for b in range(3):
        one = simulate(net61, X0[b], tr.t_final, t_eval=tr.t[tr.t <= 2.0])
        # An independent run (its first step depends on t_final) read at the same times: they
        # agree to the global error at rtol 1e-8 (measured 1.2e-8; an off-by-one in the grid
        # or a member mix-up gives O(1e-2) differences).
        np.testing.assert_allclose(tr.x[: one.n_t, b], one.x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(tr.at(tr.t[7]), tr.x[7], rtol=0, atol=1e-12)
    assert tr.conserved_drift < 1e-7


def test_paper_example_62_loss_rate_on_1000_trajectories():
    """(62): dL/dt = -2 (w1^2 + w2^2) L, checked by finite differences of the saved loss."""
    net = Network((1, 1, 1), (1.0,))
    X0 = np.random.default_rng(62).uniform(-1.5, 1.5, size=(1000, 2))
    dt = 1e-3
    t_eval = np.arange(0, 2001) * dt
    tr = simulate(net, X0, 2.0, t_eval=t_eval, rtol=1e-11, atol=1e-13)
    assert tr.x.shape == (2001, 1000, 2) and tr.success
    L = tr.loss
    fd = (L[:-4] - 8 * L[1:-3] + 8 * L[3:-1] - L[4:]) / (12 * dt)     # fourth-order central difference
    w = tr.x[2:-2]
    formula = -2.0 * (w[..., 0] ** 2 + w[..., 1] ** 2) * L[2:-2]
    # Truncation error dt^4/30 |L^(5)| plus ~1e-10 integration error in L over dt: measured at most
    # 8.6e-9 * (1 + |dL/dt|) (|dL/dt| up to 37); the bound 1e-7 * (1 + |dL/dt|) leaves a margin of 10,
    # while an error in the formula (e.g. a factor 2, or w1*w2 instead of squares) is O(1).
    assert np.all(np.abs(fd - formula) <= 1e-7 * (1 + np.abs(formula)))
    # The conservation law w1^2 - w2^2 = c holds for every member.
    c = tr.x[..., 0] ** 2 - tr.x[..., 1] ** 2
    assert np.max(np.abs(c - c[0])) < 1e-9
    assert tr.conserved_drift < 1e-9


# ---------------------------------------------------------------- gradient descent
def test_gd_approaches_the_flow_as_eta_shrinks():
    net = Network((3, 2, 2), (2.0, 1.0))
    x0 = init.gaussian(net, 0.6, seed=5)
    T = 2.0
    flow_end = simulate(net, x0, T, rtol=1e-11, atol=1e-13).final
    errs = []
    for eta in (1e-2, 1e-3):
        gd = simulate_gd(net, x0, eta, int(round(T / eta)), record_every=100)
        assert gd.t[-1] == pytest.approx(T)
        assert gd.method == "gd" and gd.eta == eta and gd.nfev == int(round(T / eta))
        assert np.all(np.diff(gd.loss) <= 0)
        errs.append(np.max(np.abs(gd.final - flow_end)))
    # Euler's method is first order: the error shrinks ~10x when eta does (allow 7x).
    assert errs[1] < errs[0] / 7
    assert errs[1] < 1e-2


def test_gd_divergence_is_reported():
    net = Network((1, 1, 1), (1.0,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no overflow warnings leak out
        gd = simulate_gd(net, [3.0, 2.0], 5.0, 100)
    assert gd.status == -1 and not gd.success and "diverged" in gd.message
    assert np.all(np.isfinite(gd.x))


def test_gd_batch_and_record_every():
    net = Network((1, 1, 1), (1.0,))
    X0 = np.array([[0.5, 0.3], [1.0, -0.2]])
    gd = simulate_gd(net, X0, 0.1, 25, record_every=10)
    np.testing.assert_allclose(gd.t, [0.0, 1.0, 2.0, 2.5])
    assert gd.x.shape == (4, 2, 2)
    x = X0.copy()
    for _ in range(25):
        x = x + 0.1 * net.vector_field(x)
    np.testing.assert_allclose(gd.final, x, rtol=1e-15, atol=0)


# ---------------------------------------------------------------- options and result object
def test_auto_method_and_method_names():
    net = Network((1, 1, 1), (1.0,))
    tr = simulate(net, [0.5, 0.3], 1.0)
    assert tr.method in (AUTO_METHOD, "CBDF")       # CBDF when dlnsys.compiled is available
    assert simulate(net, [0.5, 0.3], 1.0, method="radau").method == "Radau"
    assert set(METHODS) >= {"auto", "RK45", "DOP853", "LSODA", "BDF", "Radau"}


def test_until_loss_stops_at_the_threshold():
    net = Network((1, 1, 1), (1.0,))
    tr = simulate(net, [0.3, 0.2], 100.0, until_loss=1e-6)
    assert tr.status == 1 and tr.success
    assert tr.final_loss == pytest.approx(1e-6, rel=1e-6)
    assert tr.t_final < 100.0
    assert np.all(tr.loss[:-1] > 1e-6)
    # With t_eval, the stopping point is appended.
    tr2 = simulate(net, [0.3, 0.2], 100.0, until_loss=1e-6, t_eval=np.linspace(0, 100, 101))
    assert tr2.t[-1] == pytest.approx(tr.t_final, rel=1e-6)


def test_dense_output_matches_saved_points():
    net = Network((3, 2, 2), (2.0, 1.0))
    X0 = init.gaussian(net, 0.5, seed=2, n=3)
    tr = simulate(net, X0, 5.0, dense_output=True, rtol=1e-10, atol=1e-12)
    k = len(tr.t) // 2
    np.testing.assert_allclose(tr.at(tr.t[k]), tr.x[k], atol=1e-12)
    assert tr.at(np.array([0.5, 1.0])).shape == (2, 3, net.n_params)
    with pytest.raises(ValueError, match="dense"):
        simulate(net, X0[0], 1.0).at(0.5)


def test_progress_reports(capsys):
    net = Network((3, 2, 2), (2.0, 1.0))
    x0 = init.gaussian(net, 0.5, seed=2)
    seen = []
    simulate(net, x0, 5.0, progress=lambda t, frac: seen.append(frac))
    assert seen and seen[-1] == pytest.approx(1.0) and all(a <= b for a, b in zip(seen, seen[1:]))
    simulate(net, x0, 5.0, progress=True)
    err = capsys.readouterr().err
    assert "100.0%" in err and len(err.splitlines()) <= 10


def test_npz_roundtrip(tmp_path):
    net = Network((3, 2, 2), (2.0, 1.0), gamma=0.01, mask=[1] * 9 + [0])
    x0 = init.gaussian(net, 0.5, seed=2)
    tr = simulate(net, x0, 3.0)
    path = tr.to_npz(tmp_path / "run")
    assert path.endswith("run.npz")
    back = Trajectory.from_npz(path)
    assert back.net == net
    np.testing.assert_array_equal(back.x, tr.x)
    np.testing.assert_array_equal(back.t, tr.t)
    for field in ("conserved_drift", "nfev", "njev", "status", "message", "method", "rtol", "atol", "eta"):
        assert getattr(back, field) == getattr(tr, field)
    np.save(tmp_path / "other.npy", np.zeros(3))
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a dlnsys trajectory"):
        Trajectory.from_npz(tmp_path / "other.npz")


def test_to_dict_is_json(net61):
    tr = simulate(net61, init.gaussian(net61, 0.3, seed=1, n=2), 0.5)
    d = tr.to_dict()
    json.dumps(d, allow_nan=False)
    for key in ("final_loss", "conserved_drift", "conserved_drift_abs", "nfev", "njev", "status", "success",
                "message", "wall_time", "method", "dims", "sigma"):
        assert key in d
    assert d["batch"] == 2 and len(d["final_loss"]) == 2
    assert "x" in tr.to_dict(arrays=True)
    with pytest.raises((AttributeError, TypeError)):
        tr.nfev = 3                                   # frozen
    with pytest.raises(ValueError):
        tr.x[0, 0, 0] = 1.0                           # read-only arrays


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, name", [
    (dict(t_final=0.0), "t_final"), (dict(t_final=-1.0), "t_final"), (dict(t_final=np.inf), "t_final"),
    (dict(t_final=np.nan), "t_final"), (dict(t_final="10"), "t_final"),
    (dict(x0=np.zeros(3)), "x0"), (dict(x0=np.zeros((2, 2, 2))), "x0"), (dict(x0=[np.nan, 1.0]), "x0"),
    (dict(method="euler"), "method"), (dict(rtol=0.0), "rtol"), (dict(atol=-1e-3), "atol"),
    (dict(t_eval=[0.0, 2.0]), "t_eval"), (dict(t_eval=[0.5, 0.2]), "t_eval"), (dict(t_eval=[-0.1, 0.5]), "t_eval"),
    (dict(t_eval=[]), "t_eval"), (dict(max_step=0.0), "max_step"), (dict(until_loss=-1.0), "until_loss"),
    (dict(progress="yes"), "progress"),
])
def test_simulate_rejects_bad_input(kwargs, name):
    net = Network((1, 1, 1), (1.0,))
    args = dict(x0=[0.5, 0.3], t_final=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}:"):
        simulate(net, args.pop("x0"), args.pop("t_final"), **args)


@pytest.mark.parametrize("args, name", [
    ((0.0, 10), "eta"), ((-0.1, 10), "eta"), ((np.nan, 10), "eta"), ((0.1, -1), "steps"), ((0.1, 2.5), "steps"),
])
def test_simulate_gd_rejects_bad_input(args, name):
    net = Network((1, 1, 1), (1.0,))
    with pytest.raises(ValueError, match=f"^{name}:"):
        simulate_gd(net, [0.5, 0.3], *args)
    with pytest.raises(ValueError, match="^record_every:"):
        simulate_gd(net, [0.5, 0.3], 0.1, 10, record_every=0)
