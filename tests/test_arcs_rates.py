"""Arcs of Theorem 24 and the convergence-rate bounds of Props. 26-28.

Oracles: the closed form of the loss along an arc (proof of Theorem 24.2), the critical
values (31), and simulated trajectories (``solve_ivp`` with rtol 1e-10, atol 1e-12, so losses
are accurate to ~1e-9 relative; rate comparisons allow 1e-6 relative slack).
"""
from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from dlnsys import Network
from dlnsys import critical as C
from dlnsys import rates as R
from dlnsys.arcs import arc, arc_loss, arc_relation
from dlnsys.network import AssumptionWarning, BottleneckWarning


def quiet_net(dims, sigma):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (BottleneckWarning, AssumptionWarning))
        return Network(dims, sigma)


def integrate(net, x0, T, n=200):
    sol = solve_ivp(lambda t, x: net.vector_field(x), (0.0, T), x0, method="LSODA",
                    jac=lambda t, x: net.jacobian(x), rtol=1e-10, atol=1e-12, t_eval=np.linspace(0, T, n))
    assert sol.success
    return sol.t, sol.y.T


# ------------------------------------------------------------------ arcs (Theorem 24)
def test_arc_four_cases_on_section61_network():
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    cases = {((1,), (1, 2)): ("subset", "decreasing"), ((1, 2), (1,)): ("superset", "increasing"),
             ((1, 3), (1, 3)): ("equal", "constant"), ((1, 3), (2,)): ("mixed", "non-monotone")}
    for (S1, S2), (rel, mono) in cases.items():
        a = arc(net, S1, S2)
        assert (a.relation, a.monotone) == (rel, mono)
        assert np.allclose(a.loss, a.loss_closed_form, atol=1e-10)
        assert a.loss[0] == pytest.approx(C.critical_value(net, S1), abs=1e-10)
        assert a.loss[-1] == pytest.approx(C.critical_value(net, S2), abs=1e-10)
        assert a.product_error <= 1e-10                     # A(alpha) in phi^{-1}(Phi(alpha))
        assert max(a.endpoint_gradients) <= 1e-10           # both ends are critical points
        assert C.classify(net, a.x[0]).signature == tuple(S1)
        assert C.classify(net, a.x[-1]).signature == tuple(S2)
    mixed = arc(net, (1, 3), (2,), alpha=np.linspace(0, 1, 1001))
    a_, b_ = 5.5 ** 2, 7.0 ** 2 + 4.0 ** 2
    assert mixed.alpha_min == pytest.approx(a_ / (a_ + b_))
    assert mixed.alpha[np.argmin(mixed.loss)] == pytest.approx(mixed.alpha_min, abs=1e-3)
    json.dumps(mixed.to_dict(vectors=False))


def test_arc_with_change_of_basis_stays_in_fibers():
    net = Network((3, 4, 4, 3), sigma=[3.0, 2.0, 1.0])
    rng = np.random.default_rng(0)
    P = [np.eye(4) + 0.3 * rng.standard_normal((4, 4)) for _ in range(2)]
    a = arc(net, (2,), (1, 2, 3), alpha=np.linspace(0, 1, 21), P=P)
    assert a.product_error <= 1e-10 and max(a.endpoint_gradients) <= 1e-10
    assert a.monotone == "decreasing"
    plain = arc(net, (2,), (1, 2, 3), alpha=np.linspace(0, 1, 21))
    assert not np.allclose(a.x, plain.x) and np.allclose(a.loss, plain.loss, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(S1=st.sets(st.integers(1, 3)), S2=st.sets(st.integers(1, 3)))
def test_arc_monotonicity_follows_theorem24(S1, S2):
    net = Network((3, 3, 3, 3), sigma=[3.0, 2.0, 1.2])
    a = arc(net, S1, S2, alpha=np.linspace(0, 1, 41))
    expected = {"equal": "constant", "subset": "decreasing", "superset": "increasing",
                "mixed": "non-monotone"}[arc_relation(net, S1, S2)]
    assert a.monotone == expected
    assert np.allclose(a.loss, arc_loss(net, S1, S2, a.alpha), atol=1e-10)


def test_theorem24_counts_from_arcs():
    """The unstable (stable) arcs of S are the decreasing (increasing) arcs to the other signatures."""
    net = Network((4, 4, 4, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    sigs = [S for r in range(5) for S in itertools.combinations(range(1, 5), r)]
    alpha = np.linspace(0, 1, 61)         # steps 1/60 resolve the interior minimum of mixed arcs (>= 1/30)
    for S in sigs:
        mono = [arc(net, S, T, alpha=alpha).monotone for T in sigs if T != S]
        k = len(S)
        assert mono.count("decreasing") == 2 ** (4 - k) - 1
        assert mono.count("increasing") == 2 ** k - 1
        assert (mono.count("decreasing"), mono.count("increasing")) == C.arc_counts(net, S)


def test_arc_bad_input():
    net = quiet_net((3, 2, 3), sigma=[3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="d_min"):
        arc(net, (1, 2), (3,))
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    with pytest.raises(ValueError, match=r"alpha: values must lie in \[0, 1\]"):
        arc(net, (1,), (2,), alpha=[0.0, 1.5])
    with pytest.raises(ValueError, match="NaN"):
        arc(net, (1,), (2,), alpha=[np.nan])
    with pytest.raises(ValueError, match="S2: index 3 is out of range"):
        arc(net, (1,), (3,))
    with pytest.raises(ValueError, match="h >= 2"):
        arc(Network((2, 2), sigma=[2.0, 1.0]), (1, 2), (1, 2))


# ------------------------------------------------------------------ Prop. 26
def test_prop26_rate_closed_form_62_and_65():
    net = Network((1, 1, 1), sigma=[1.0])
    w = np.array([[0.5, 2.0], [-1.0, 0.1]])
    assert np.allclose(R.prop26_rate(net, w), np.sum(w ** 2, axis=1))
    net = Network((1, 1, 1, 1), sigma=[1.0])
    w = np.array([0.5, 2.0, 3.0])
    assert R.prop26_rate(net, w) == pytest.approx(4 * 9 + 0.25 * 9 + 0.25 * 4)


def test_prop26_along_simulated_trajectories():
    rng = np.random.default_rng(0)
    for dims, sigma, scale in [((11, 6, 6, 6, 6, 4), [7.0, 5.5, 4.0, 2.5], 0.5),
                               ((3, 4, 3, 2), [2.0, 1.0], 0.8), ((2, 3, 2), [1.5, 0.5], 0.1)]:
        net = Network(dims, sigma)
        x0 = scale * rng.standard_normal(net.n_params)
        t, xs = integrate(net, x0, 5.0)
        chk = R.prop26(net, t, xs)
        assert chk.holds
        assert np.all(chk.bound >= 0) and np.max(chk.bound) > 0
        # the proof's trace inequality gives twice (47): measured >= 2 kappa
        assert chk.min_ratio >= 2 * (1 - 1e-6)
        ok = np.isfinite(chk.interval_rate)
        assert np.all(chk.interval_rate[ok] >= chk.interval_bound[ok] * (1 - 1e-6) - np.abs(np.diff(chk.bound))[ok])


def test_prop26_accepts_a_trajectory_object():
    from dlnsys.simulate import simulate
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    traj = simulate(net, np.random.default_rng(1).standard_normal(8), 4.0, rtol=1e-10, atol=1e-12,
                    t_eval=np.linspace(0, 4, 50))
    chk = R.prop26(net, traj)
    assert chk.holds and chk.t.size == 50


# ------------------------------------------------------------------ Props. 27, 28
def top_down(net, rng, shrink, scale):
    """``C_i <= 0`` for every i: ``W_h`` random, ``W_i = W_{i+1}^T K_i`` with ``||K_i||_2 = shrink < 1``."""
    d, h = net.dims, net.h
    Ws = [None] * h
    Ws[-1] = scale * rng.standard_normal(net.shapes[-1])
    for i in range(h - 2, -1, -1):
        K = rng.standard_normal((d[i + 2], d[i]))
        Ws[i] = Ws[i + 1].T @ (shrink * K / np.linalg.norm(K, 2))
    return net.pack(Ws)


def layered(net, rng, scales):
    """Gaussian layers with given scales (for sign patterns of the C_i)."""
    return net.pack([s * rng.standard_normal(shape) / np.sqrt(shape[1]) for s, shape in zip(scales, net.shapes)])


def orthogonal_layers(net, rng, scales):
    """``W_i = s_i Q_i`` with orthonormal rows or columns: ``C_i`` has a definite sign pattern."""
    Ws = []
    for s, (r, c) in zip(scales, net.shapes):
        Q, _ = np.linalg.qr(rng.standard_normal((max(r, c), min(r, c))))
        Ws.append(s * (Q if r >= c else Q.T))
    return net.pack(Ws)


@pytest.mark.parametrize("dims", [(2, 2, 2), (2, 3, 2), (3, 3, 3), (1, 2, 2, 1), (2, 3, 3, 2)])
def test_prop27_28_rates_bound_observed_decay(dims):
    net = Network(dims, sigma=np.linspace(2.0, 1.0, dims[-1]) if dims[-1] > 1 else [1.5])
    rng = np.random.default_rng(sum(dims))
    found = {27: 0, 28: 0}
    for _ in range(3):
        x0 = top_down(net, rng, shrink=rng.uniform(0.3, 0.8), scale=rng.uniform(0.7, 1.5))
        t, xs = integrate(net, x0, 3.0, n=120)
        loss = net.loss(xs)
        inst = np.sum(net.vector_field(xs) ** 2, axis=1) / loss
        for res in (R.prop27(net, x0), R.prop28(net, x0)):
            if res.rate is None:
                assert res.reason
                continue
            found[res.proposition] += 1
            assert res.rate > 0
            assert R.observed_rate(t, loss) >= res.rate * (1 - 1e-6)
            assert np.min(inst) >= res.rate * (1 - 1e-6)
    assert found[28] == 3                     # top-down points always satisfy Prop. 28's hypotheses
    if dims in ((2, 2, 2), (2, 3, 2), (3, 3, 3)):
        assert found[27] == 3


def test_prop27_middle_j_and_section61():
    # widths rise to d_2 = 4 and fall: j = 3 needs C_1, C_2 dominated by W_1, W_2 and C_3 by W_4.
    # The proof asks d_0 <= d_1 <= d_2 and d_3 >= d_4 >= d_5; the stated d_1 <= ... <= d_j = d_3 fails.
    net = Network((2, 3, 4, 3, 2), sigma=[2.0, 1.0])
    checked = 0
    for seed in range(4):
        x0 = layered(net, np.random.default_rng(seed), [6.0, 2.0, 0.2, 3.0])
        res = R.prop27(net, x0)
        if res.rate is None:
            continue
        checked += 1
        assert res.j == 3 and res.stated_width_condition is False
        t, xs = integrate(net, x0, 0.5, n=100)
        loss = net.loss(xs)
        assert R.observed_rate(t, loss) >= res.rate
        assert np.min(np.sum(net.vector_field(xs) ** 2, axis=1) / loss) >= res.rate
    assert checked >= 3
    rng = np.random.default_rng(5)
    # Section 6.1: d_x > d_1, yet j = 1 works when every later layer dominates (see the rates docstring)
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    x0 = orthogonal_layers(net, rng, [0.2, 1.0, 1.6, 2.4, 3.5])
    res = R.prop27(net, x0)
    assert res.rate is not None and res.j == 1 and res.stated_width_condition is False
    t, xs = integrate(net, x0, 1.0, n=60)
    loss = net.loss(xs)
    assert R.observed_rate(t, loss) >= res.rate
    assert np.min(np.sum(net.vector_field(xs) ** 2, axis=1) / loss) >= res.rate


def test_prop27_28_fail_with_reason():
    net = Network((1, 1, 1), sigma=[1.0])
    r27, r28 = R.prop27(net, [1.0, 1.0]), R.prop28(net, [1.0, 1.0])   # 0-balanced: C = 0
    assert r27.rate is None and "j = 1" in r27.reason and "j = 2" in r27.reason
    assert r28.rate is None and "rate 0" in r28.reason
    net = quiet_net((3, 1, 2), sigma=[2.0, 1.0])
    r28 = R.prop28(net, np.ones(net.n_params))
    assert r28.rate is None and "hidden width" in r28.reason
    json.dumps(r28.to_dict())


def test_rates_bad_input():
    net = Network((1, 1, 1), sigma=[1.0])
    with pytest.raises(ValueError, match="x: expected states of shape"):
        R.prop26(net, np.linspace(0, 1, 5), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="strictly increasing"):
        R.prop26(net, np.array([0.0, 0.0]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="fields t and x"):
        R.prop26(net, object())
    with pytest.raises(ValueError, match="NaN"):
        R.prop27(net, [np.nan, 1.0])
    with pytest.raises(ValueError, match="gamma = 0"):
        R.prop28(Network((1, 1, 1), sigma=[1.0], gamma=0.5), [1.0, 2.0])
