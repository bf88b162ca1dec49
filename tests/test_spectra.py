"""Jacobian spectra: the paper's closed forms (62)-(66), leaf restriction, finite differences,
and the matrix-free Lanczos path against dense ``eigh``.

Tolerances: the closed forms involve O(1)-O(10) numbers and are checked to 1e-10 (rounding
is ~1e-14); Lanczos runs to machine precision (``tol=0``) and is compared with ``eigh`` to
1e-8 relative to the spectral radius, as the issue asks; finite-difference Jacobians
(central, step 1e-6) carry an O(step^2) = 1e-12 truncation and ~1e-10 rounding error, hence 1e-7.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlnsys import Network
from dlnsys import critical as C
from dlnsys import invariants
from dlnsys.network import AssumptionWarning, BottleneckWarning
from dlnsys.spectra import hessian_operator, relative_gradient, spectrum


def quiet_net(dims, sigma, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (BottleneckWarning, AssumptionWarning))
        return Network(dims, sigma, **kw)


def eq64(sigma, c):
    w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * sigma * sigma)))
    return np.array([w1, sigma / w1])


# ------------------------------------------------------------------ paper examples
def test_62_origin_eigenvalues_pm_sigma():
    sigma = 1.7
    s = spectrum(Network((1, 1, 1), sigma=[sigma]), np.zeros(2))
    assert np.allclose(s.eigenvalues, [-sigma, sigma], atol=1e-12)
    v_unstable = s.eigenvectors[:, 1]
    assert abs(abs(v_unstable @ [1, 1]) / np.sqrt(2) - 1) < 1e-12        # v1 = [1 1]
    assert s.hyperbolic and s.n_negative == 1 and s.n_positive == 1


@pytest.mark.parametrize("c", [-3.0, -0.4, 0.0, 0.5, 2.0])
def test_62_leaf_through_64_single_eigenvalue(c):
    sigma = 1.3
    net = Network((1, 1, 1), sigma=[sigma])
    w = eq64(sigma, c)
    assert np.linalg.norm(net.vector_field(w)) < 1e-12
    assert w[0] ** 2 - w[1] ** 2 == pytest.approx(c, abs=1e-12)
    s = spectrum(net, w, on_leaf=True)
    assert s.dimension == 1 and s.is_equilibrium and s.hyperbolic
    assert s.eigenvalues[0] == pytest.approx(-(sigma ** 2 + w[0] ** 4) / w[0] ** 2, abs=1e-10)
    assert s.invariance_residual < 1e-12
    full = spectrum(net, w)                              # the paper: 0 and -(sigma^2 + w1^4)/w1^2
    assert np.allclose(full.eigenvalues, [-(sigma ** 2 + w[0] ** 4) / w[0] ** 2, 0.0], atol=1e-10)
    assert not full.hyperbolic and full.n_zero == 1


def test_65_origin_all_zero_and_leaf_eigenvalue():
    net = Network((1, 1, 1, 1), sigma=[2.0])
    s = spectrum(net, np.zeros(3))
    assert np.all(s.eigenvalues == 0) and s.n_zero == 3 and not s.hyperbolic
    # a global minimum on the leaf: the tangent is grad(w1 w2 w3), eigenvalue -||grad||^2
    w1, w2 = 1.5, 0.8
    w = np.array([w1, w2, 2.0 / (w1 * w2)])
    s = spectrum(net, w, on_leaf=True)
    g = np.array([w[1] * w[2], w[0] * w[2], w[0] * w[1]])
    assert s.dimension == 1 and s.hyperbolic
    assert s.eigenvalues[0] == pytest.approx(-g @ g, abs=1e-10)


def test_66_leaf_eigenvalue():
    """(66): three independent laws, a 1-dimensional leaf; at a minimum the eigenvalue is -sum w_i^2."""
    net = Network((1, 2, 1), sigma=[1.0])
    rng = np.random.default_rng(0)
    for _ in range(3):
        a = rng.standard_normal(2)
        b = rng.standard_normal(2)
        b *= 1.0 / (a @ b)                                 # w1 w3 + w2 w4 = sigma
        w = np.array([a[0], a[1], b[0], b[1]])
        assert net.independent_conservation_laws(w) == 3
        s = spectrum(net, w, on_leaf=True)
        assert s.dimension == 1 and s.hyperbolic
        assert s.eigenvalues[0] == pytest.approx(-w @ w, abs=1e-10)
        D = invariants.conservation_differential(net, w)
        assert np.linalg.norm(D @ s.eigenvectors[:, 0]) < 1e-12   # tangent to the leaf


def test_section61_global_minimum_on_its_leaf_is_not_isolated():
    """154-dim minima meet the 114-dim leaf (84 independent laws) transversally: 70 zero eigenvalues."""
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    x = C.random_critical_point(net, (1, 2, 3, 4), rng=0).x
    s = spectrum(net, x, on_leaf=True, eigenvectors=False)
    assert s.dimension == 198 - 84
    fiber = C.fiber_dimension(net, x)
    assert s.n_zero == fiber + s.dimension - net.n_params == 70
    assert s.n_positive == 0 and s.hyperbolic is False
    assert s.invariance_residual < 1e-10


# ------------------------------------------------------------------ finite differences
def test_eigenpairs_against_finite_difference_jacobian():
    net = Network((3, 4, 3, 2), sigma=[2.0, 0.7])
    x = np.random.default_rng(1).standard_normal(net.n_params)
    s = spectrum(net, x)
    eps = 1e-6
    for k in (0, 5, -1):
        v = s.eigenvectors[:, k]
        Jv = (net.vector_field(x + eps * v) - net.vector_field(x - eps * v)) / (2 * eps)
        assert np.allclose(Jv, s.eigenvalues[k] * v, atol=1e-7 * max(1.0, abs(s.eigenvalues[k])))
    assert not s.is_equilibrium and s.relative_gradient > 1e-3


def test_hessian_operator_matches_dense_hessian():
    net = Network((3, 4, 3, 2), sigma=[2.0, 0.7])
    x = np.random.default_rng(2).standard_normal(net.n_params)
    H = net.hessian(x)
    op = hessian_operator(net, x)
    V = np.random.default_rng(3).standard_normal((net.n_params, 3))
    assert np.allclose(op @ V, H @ V, atol=1e-12)
    assert np.allclose(op.matvec(V[:, 0]), H @ V[:, 0], atol=1e-12)


# ------------------------------------------------------------------ Lanczos
def test_lanczos_agrees_with_dense_on_2000_parameters():
    net = quiet_net((20, 20, 20, 20, 20, 20), sigma=np.linspace(3.0, 1.0, 20))
    assert net.n_params == 2000
    x = np.random.default_rng(0).standard_normal(net.n_params) * 1.2 / np.sqrt(20)
    dense = spectrum(net, x, eigenvectors=False)
    lz = spectrum(net, x, k=6, method="lanczos")
    ref = np.r_[dense.eigenvalues[:3], dense.eigenvalues[-3:]]
    radius = np.max(np.abs(dense.eigenvalues))
    assert np.max(np.abs(lz.eigenvalues - ref)) <= 1e-8 * radius
    assert lz.method == "lanczos" and not lz.complete and lz.n_zero is None
    # eigenvectors from Lanczos are eigenvectors of the Jacobian (residual via hvp)
    for k in range(6):
        v = lz.eigenvectors[:, k]
        assert np.linalg.norm(-net.hvp(x, v) - lz.eigenvalues[k] * v) <= 1e-8 * radius


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 4), d=st.lists(st.integers(2, 6), min_size=5, max_size=5),
       which=st.sampled_from(["both", "largest", "smallest"]), k=st.integers(1, 4), seed=st.integers(0, 2 ** 31))
def test_lanczos_extremes_property(h, d, which, k, seed):
    d_y = min(d[-1], d[0])
    dims = [d[0]] + d[1:h] + [d_y]
    net = quiet_net(dims, sigma=np.arange(d_y, 0, -1) + 0.5)
    k = min(k, net.n_params)
    x = np.random.default_rng(seed).standard_normal(net.n_params)
    dense = spectrum(net, x, eigenvectors=False).eigenvalues
    lz = spectrum(net, x, k=k, which=which, method="lanczos").eigenvalues
    n_high = {"both": (k + 1) // 2, "largest": k, "smallest": 0}[which]
    ref = np.r_[dense[:k - n_high], dense[len(dense) - n_high:]]
    assert np.allclose(lz, ref, atol=1e-8 * max(1.0, np.max(np.abs(dense))))


def test_lanczos_at_a_minimum_with_a_large_null_space():
    """The bottom of a PSD Hessian is a 154-fold zero: ARPACK's relative test needs the shift."""
    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])
    x = C.random_critical_point(net, (1, 2, 3, 4), rng=0).x
    dense = spectrum(net, x, eigenvectors=False).eigenvalues
    lz = spectrum(net, x, k=6, method="lanczos")
    radius = np.max(np.abs(dense))
    assert np.max(np.abs(lz.eigenvalues - np.r_[dense[:3], dense[-3:]])) <= 1e-8 * radius
    assert np.all(np.abs(lz.eigenvalues[3:]) <= 1e-10 * radius)
    assert not any("converged" in n for n in lz.notes)


def test_leaf_lanczos_matches_dense_leaf():
    net = Network((4, 4, 4, 3), sigma=[3.0, 2.0, 1.0])
    x = C.random_critical_point(net, (1, 3), rng=1).x
    dense = spectrum(net, x, on_leaf=True, eigenvectors=False).eigenvalues
    lz = spectrum(net, x, on_leaf=True, k=4, method="lanczos").eigenvalues
    assert np.allclose(lz, np.r_[dense[:2], dense[-2:]], atol=1e-9 * np.max(np.abs(dense)))


# ------------------------------------------------------------------ masks, notes, input
def test_masked_network_acts_on_learnable_coordinates():
    mask = np.array([True, True, False, True, True, True, True, True])
    net = Network((2, 2, 2), sigma=[2.0, 1.0], mask=mask)
    x = np.random.default_rng(0).standard_normal(8)
    s = spectrum(net, x)
    assert s.dimension == 7 and np.all(s.eigenvectors[2] == 0)
    H = net.hessian(x)[np.ix_(mask, mask)]
    assert np.allclose(np.sort(-np.linalg.eigvalsh(H)), s.eigenvalues, atol=1e-12)


def test_leaf_spectrum_off_equilibrium_is_flagged():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    s = spectrum(net, np.random.default_rng(0).standard_normal(8), on_leaf=True)
    assert not s.is_equilibrium and any("not an equilibrium" in n for n in s.notes)
    json.dumps(s.to_dict())


def test_relative_gradient_scale_free():
    net = Network((2, 3, 2), sigma=[2.0, 1.0])
    x = np.random.default_rng(0).standard_normal(net.n_params)
    r = relative_gradient(net, x)
    assert 0 < r <= 1
    assert relative_gradient(net, C.critical_point(net, (1,)).x) == 0.0


def test_bad_input():
    net = Network((2, 2, 2), sigma=[2.0, 1.0])
    x = np.zeros(8)
    with pytest.raises(ValueError, match="k: asked for 9"):
        spectrum(net, x, k=9)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        spectrum(net, x, k=0)
    with pytest.raises(ValueError, match="method"):
        spectrum(net, x, method="arpack")
    with pytest.raises(ValueError, match="which"):
        spectrum(net, x, which="middle")
    with pytest.raises(ValueError, match="give k"):
        spectrum(net, x, method="lanczos")
    with pytest.raises(ValueError, match="tol"):
        spectrum(net, x, tol=float("nan"))
    with pytest.raises(ValueError, match="expected shape"):
        spectrum(net, np.zeros(7))
    with pytest.raises(ValueError, match="NaN"):
        spectrum(net, np.full(8, np.inf))
