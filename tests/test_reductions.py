"""Reductions (55), (61), scalar chains against the full flow, and their closed forms.

Tolerance 1e-12 (relative to the values' scale): the same products in a different order.
"""
from __future__ import annotations

import numpy as np
import pytest

from dlnsys import Network
from dlnsys import reductions as red


def close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    assert np.max(np.abs(a - b), initial=0.0) <= rtol * scale, np.max(np.abs(a - b))


@pytest.mark.parametrize("dims,gamma", [((4, 5, 4, 3), 0.0), ((3, 3, 3, 3, 3), 0.1), ((6, 2), 0.0),
                                        ((11, 6, 6, 6, 6, 4), 0.05)])
def test_diagonal_reduction_is_the_flow_on_diagonal_states(dims, gamma):
    rng = np.random.default_rng(len(dims))
    sigma = np.linspace(3.0, 1.0, dims[-1])
    net = Network(dims, sigma, gamma=gamma)
    h, d = net.h, net.d_y
    xi = rng.normal(size=(5, h * d))
    x = red.diagonal_to_state(net, xi)
    close(red.diagonal_from_state(net, x), xi)
    f = net.vector_field(x)
    close(red.diagonal_from_state(net, f), red.diagonal_vector_field(xi, sigma, h, gamma))
    # the full field keeps diagonal states diagonal: it is the lift of the reduced field
    close(f, red.diagonal_to_state(net, red.diagonal_vector_field(xi, sigma, h, gamma)))
    close(net.loss(x), red.diagonal_loss(xi, sigma, h, gamma))


@pytest.mark.parametrize("h,gamma", [(1, 0.0), (2, 0.0), (3, 0.3), (5, 0.0)])
def test_logistic_reduction_is_the_flow_on_balanced_diagonal_states(h, gamma):
    rng = np.random.default_rng(h)
    sigma = np.array([3.0, 2.0, 0.5])
    net = Network((4,) + (3,) * h, sigma, gamma=gamma)
    z = rng.uniform(-1.5, 1.5, size=(4, 3))
    x = red.logistic_to_state(net, z)
    f = net.vector_field(x)
    # every layer's diagonal moves by the same amount, (61)
    dz = red.logistic_vector_field(z, sigma, h, gamma)
    close(f, red.logistic_to_state(net, dz))
    close(net.loss(x), red.logistic_loss(z, sigma, h, gamma))
    # and it is the diagonal reduction restricted to xi_{i,j} = z_j
    xi = red.logistic_to_diagonal(z, h)
    close(red.diagonal_vector_field(xi, sigma, h, gamma), red.logistic_to_diagonal(dz, h))
    # balancedness is preserved (0-balanced state: C_i = 0)
    assert all(np.max(np.abs(C)) < 1e-14 for C in net.conserved(x[0]))


def test_logistic_equilibria_fold_and_branch_point():
    s = 2.0
    # gamma = 0: 0 and +-sigma^(1/h)
    for h in (2, 3, 4):
        eq = red.logistic_equilibria(s, h, 0.0)
        assert 0.0 in eq and np.isclose(eq.max(), s ** (1 / h))
        close(red.logistic_vector_field([eq.max()], [s], h), [0.0])
    # h = 2: +-sqrt(s - gamma) exist for gamma < s and meet 0 at gamma = s
    close(red.logistic_equilibria(s, 2, 0.5), [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    assert list(red.logistic_equilibria(s, 2, 2.5)) == [0.0]
    assert red.logistic_branch_point(s) == s
    # h = 3: fold at gamma = (3s/4)(s/4)^(1/3), z = (s/4)^(1/3)
    gf, zf = red.logistic_fold(s, 3)
    close([gf, zf], [0.75 * s * (s / 4) ** (1 / 3), (s / 4) ** (1 / 3)])
    assert len(red.logistic_equilibria(s, 3, gf * 0.99)[red.logistic_equilibria(s, 3, gf * 0.99) > 0]) == 2
    assert len(red.logistic_equilibria(s, 3, gf * 1.01)[red.logistic_equilibria(s, 3, gf * 1.01) > 0]) == 0
    # at the fold the derivative of the reduced field vanishes
    eps = 1e-6
    d = (red.logistic_vector_field([zf + eps], [s], 3, gf) - red.logistic_vector_field([zf - eps], [s], 3, gf)) / (2 * eps)
    assert abs(d[0]) < 1e-8
    with pytest.raises(ValueError, match="h"):
        red.logistic_fold(s, 2)


def test_chain_network_and_field():
    rng = np.random.default_rng(1)
    for h in (1, 2, 3, 7):
        net = red.chain_network(h, 1.5, gamma=0.1)
        w = rng.normal(size=(3, h))
        close(red.chain_vector_field(w, 1.5, 0.1), net.vector_field(w))


def test_chain_leaf_equilibrium_is_64_and_on_the_leaf():
    for s in (0.5, 1.0, 3.0):
        for c in (-4.0, -0.5, 0.0, 0.3, 5.0):
            w = red.chain_leaf_equilibrium(s, [c])
            w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * s * s)))
            close(w, [w1, s / w1])
    for c in ([0.5, -0.3, 0.2], [0.0, 0.0, 0.0, 0.0], [-1.0, 2.0]):
        w = red.chain_leaf_equilibrium(2.0, c)
        close(red.chain_leaf_constants(w), c)
        close(np.prod(w), 2.0)
        assert np.all(w > 0)
        net = red.chain_network(len(w), 2.0)
        assert np.linalg.norm(net.vector_field(w)) < 1e-12
    with pytest.raises(ValueError, match="c"):
        red.chain_leaf_point(0.1, [-1.0])


def test_input_validation():
    with pytest.raises(ValueError, match="xi"):
        red.diagonal_vector_field(np.zeros(5), [1.0, 0.5], 2)
    with pytest.raises(ValueError, match="h"):
        red.logistic_vector_field([1.0], [1.0], 0)
    with pytest.raises(ValueError, match="sigma"):
        red.logistic_vector_field([1.0], [-1.0], 2)
    with pytest.raises(ValueError, match="z"):
        red.logistic_vector_field([1.0, 2.0], [1.0], 2)
