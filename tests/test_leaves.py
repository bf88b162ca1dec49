"""Equilibria on conservation-law leaves: closed forms (64), exact chains, the diagonal
reduction (55), bordered Newton, projection onto leaves, bad input and the CLI."""
import json

import numpy as np
import pytest

from dlnsys import Network
from dlnsys.cli import main
from dlnsys.invariants import conserved_vector, leaf_tangent_basis
from dlnsys.leaves import (KIND_MINIMUM, KIND_NONSTRICT, KIND_STRICT, bordered_newton, equilibria_on_leaf,
                           leaf_of, parse_leaf, project_to_leaf)


def w64(c, sigma):
    """(64): the equilibrium of (62) on the leaf w1^2 - w2^2 = c."""
    w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * sigma * sigma)))
    return np.array([w1, sigma / w1])


def chain(h, sigma):
    return Network((1,) * (h + 1), [sigma])


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("sigma", [1.0, 2.5])
@pytest.mark.parametrize("c", [-3.0, -0.5, 0.0, 0.5, 3.0])
def test_62_leaf_equilibria_are_64_and_its_mirror(c, sigma):
    res = equilibria_on_leaf(chain(2, sigma), [c])
    assert res.status == "ok" and res.method == "exact-chain"
    mins = res.minima()
    assert len(mins) == 2
    ref = w64(c, sigma)
    got = sorted((e.state for e in mins), key=lambda w: -w[0])
    # (64) and its mirror, to 1e-12 (relative to the size of the weights)
    assert np.max(np.abs(got[0] - ref)) <= 1e-12 * max(1.0, ref.max())
    assert np.max(np.abs(got[1] + ref)) <= 1e-12 * max(1.0, ref.max())
    for e in mins:
        assert e.signature == (1,) and e.kind == KIND_MINIMUM and e.dimension == 0
        assert e.leaf_residual <= 1e-12 * max(1.0, abs(c))
        # the leaf-restricted eigenvalue -(sigma^2 + w1^4) / w1^2 (DESIGN.md, Section 6.2.1)
        w1 = e.state[0]
        assert e.leaf_eigenvalues.shape == (1,)
        assert e.leaf_eigenvalues[0] == pytest.approx(-(sigma**2 + w1**4) / w1**2, rel=1e-10)
    # the origin (the only saddle) is on the leaf iff c = 0
    sad = res.saddles()
    if c == 0.0:
        assert len(sad) == 1 and np.all(sad[0].state == 0) and sad[0].kind == KIND_STRICT
        assert np.allclose(sad[0].leaf_eigenvalues, [-sigma, sigma], rtol=1e-12)
    else:
        assert sad == []


def test_depth4_chain_random_leaves_product_and_constraints():
    rng = np.random.default_rng(42)
    worst_prod = worst_leaf = 0.0
    for _ in range(60):
        sigma = float(rng.uniform(0.2, 5.0))
        c = rng.normal(scale=2.0, size=3)
        res = equilibria_on_leaf(chain(4, sigma), c, kind="minimum")
        assert res.status == "ok"
        assert len(res) == 8                                   # 2^(h-1) admissible sign patterns
        pats = {e.sign_pattern for e in res}
        assert len(pats) == 8 and all(np.prod(p) == 1 for p in pats)
        for e in res:
            w = e.state
            worst_prod = max(worst_prod, abs(np.prod(w) - sigma) / sigma)
            worst_leaf = max(worst_leaf, np.max(np.abs(w[:-1] ** 2 - w[1:] ** 2 - c)) / max(1.0, np.max(w ** 2)))
    assert worst_prod <= 1e-12
    assert worst_leaf <= 1e-12


def test_chain_saddles_from_known_points():
    """A point with two or more zero weights is an equilibrium; the exact method finds it on its leaf."""
    cases = [np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.7, 0.0, -1.2]), np.array([1.3, 0.0, 0.0]),
             np.array([0.0, 0.5, 0.0, 0.0, 2.0]), np.array([0.0, 0.0, 0.0])]
    for w in cases:
        net = chain(len(w), 1.7)
        res = equilibria_on_leaf(net, leaf_of(net, w), kind="saddle")
        assert res.status == "ok"
        dist = min(np.max(np.abs(e.state - w)) for e in res)
        assert dist <= 1e-14
        for e in res:
            assert e.signature == () and e.loss == pytest.approx(0.5 * 1.7**2, rel=1e-14)
            n_zero = int(np.sum(e.state == 0))
            assert n_zero >= 2
            assert e.kind == (KIND_STRICT if n_zero == 2 else KIND_NONSTRICT)


def test_chain_leaf_without_saddles_gives_empty_result_with_reason():
    res = equilibria_on_leaf(chain(2, 1.0), [0.5], kind="saddle")
    assert res.status == "empty" and len(res) == 0
    assert "origin" in res.message and "c = 0" in res.message
    res = equilibria_on_leaf(chain(3, 1.0), [1.0, -1.0], kind="saddle")
    assert res.status == "empty" and "two or more zero weights" in res.message
    assert equilibria_on_leaf(chain(3, 1.0), [1.0, -1.0]).status == "ok"


@pytest.mark.parametrize("h", [2, 3, 4, 5])
def test_chain_equilibria_hyperbolic_on_leaf_except_degenerate_saddles(h):
    """Every chain-leaf equilibrium is hyperbolic on its leaf except where >= 3 weights vanish
    (the origin for h >= 3, whose Jacobian vanishes); leaf eigenvalue signs match the kind."""
    rng = np.random.default_rng(h)
    leaves = [rng.normal(size=h - 1) for _ in range(15)]
    # leaves through saddles: two zero weights, and (h >= 3) the origin
    for k in range(h - 1):
        w = rng.normal(size=h)
        w[k] = w[k + 1] = 0.0
        leaves.append(w[:-1] ** 2 - w[1:] ** 2)
    leaves.append(np.zeros(h - 1))
    seen_nonhyperbolic = 0
    for c in leaves:
        res = equilibria_on_leaf(chain(h, 1.3), c)
        assert res.status == "ok"
        for e in res:
            n_zero = int(np.sum(np.abs(e.state) == 0))
            assert e.loss == pytest.approx(e.critical_value, abs=1e-12)
            if n_zero >= 3:
                assert not e.hyperbolic and np.all(e.leaf_eigenvalues == 0) and e.kind == KIND_NONSTRICT
                seen_nonhyperbolic += 1
                continue
            assert e.hyperbolic, (c, e)
            if e.kind == KIND_MINIMUM:
                assert np.all(e.leaf_eigenvalues < 0) and e.n_unstable == 0
            else:
                assert e.kind == KIND_STRICT
                assert np.any(e.leaf_eigenvalues > 0) and np.any(e.leaf_eigenvalues < 0)
    assert seen_nonhyperbolic == (1 if h >= 3 else 0)     # exactly the origin (c = 0)


# ------------------------------------------------------------------ bordered Newton
def test_bordered_newton_agrees_with_exact_chain_answers():
    rng = np.random.default_rng(7)
    for h in (2, 3, 4):
        for _ in range(4):
            c = rng.normal(size=h - 1)
            net = chain(h, float(rng.uniform(0.5, 3.0)))
            exact = equilibria_on_leaf(net, c)
            for e in exact:
                x0 = e.state + 0.05 * rng.normal(size=h)
                b = bordered_newton(net, c, x0)
                assert b.converged
                assert np.max(np.abs(b.state - e.state)) <= 1e-12 * max(1.0, np.max(np.abs(e.state)))
                assert np.max(np.abs(b.multipliers)) <= 1e-10
                assert b.kind == e.kind and b.signature == e.signature
    # from random points of the leaf (flowed along it): always one of the exact minima
    net = chain(3, 2.0)
    c = [0.4, -0.7]
    exact = np.array([e.state for e in equilibria_on_leaf(net, c, kind="minimum")])
    res = equilibria_on_leaf(net, c, method="newton", seed=1, n_starts=4)
    assert res.status == "ok" and len(res) >= 1
    for e in res:
        assert np.min(np.max(np.abs(exact - e.state), axis=1)) <= 1e-12
        assert np.max(np.abs(e.multipliers)) <= 1e-10


def test_bordered_newton_at_a_singular_point_of_the_leaf():
    """The saddle (0, 0, 1) of (65) on the leaf c = (0, -1): the laws' differential drops rank there."""
    net = chain(3, 2.0)
    b = bordered_newton(net, [0.0, -1.0], np.array([0.05, -0.03, 1.1]))
    assert b.converged and np.max(np.abs(b.state - [0, 0, 1])) <= 1e-12
    assert np.max(np.abs(b.multipliers)) <= 1e-10
    assert b.kind == KIND_STRICT and b.hyperbolic
    assert np.allclose(b.leaf_eigenvalues, [-2.0, 2.0], rtol=1e-10)


@pytest.mark.parametrize("dims,sigma,c", [
    ((2, 2, 2), [2.0, 1.0], [[0.5, -0.3]]),
    ((2, 2, 2), [2.0, 1.0], [[0.5, 0.0]]),                 # channel 2 can sit at its saddle
    ((3, 3, 3, 2), [3.0, 1.0], [[0.4, -0.2], [-0.6, 0.1]]),
])
def test_bordered_newton_agrees_with_the_exact_diagonal_reduction(dims, sigma, c):
    net = Network(dims, sigma)
    exact = equilibria_on_leaf(net, c, method="diagonal")
    assert exact.status == "ok" and exact.method == "exact-diagonal"
    rng = np.random.default_rng(3)
    target = conserved_vector(net, exact[0].state)
    for e in exact:
        assert np.max(np.abs(conserved_vector(net, e.state) - target)) <= 1e-12
        # channel products: sigma_j on learned channels, 0 elsewhere
        P = np.diag(net.product(e.state))[:net.d_y]
        S = set(e.signature)
        assert np.allclose(P, [s if j + 1 in S else 0.0 for j, s in enumerate(sigma)], atol=1e-12)
        # Newton on the full network from a perturbed diagonal seed (perturbing nonzero entries only)
        x0 = e.state + 1e-2 * rng.normal(size=e.state.size) * (e.state != 0)
        b = bordered_newton(net, c, x0)
        assert b.converged
        assert np.max(np.abs(b.state - e.state)) <= 1e-12 * max(1.0, np.max(np.abs(e.state)))
        assert np.max(np.abs(b.multipliers)) <= 1e-10
        assert b.kind == e.kind and b.signature == e.signature
        # within (55) the point is hyperbolic on its own leaf
        assert np.all(np.abs(e.reduced_eigenvalues) > 1e-6)


@pytest.mark.parametrize("dims,expect", [
    # h = 3, balanced leaf C = 0: a channel at its saddle has three zero weights (tightened), so a
    # prefix signature {1..r} is a non-strict saddle and any other a strict one (Prop. 18)
    ((2, 2, 2, 2), {(1, 2): KIND_MINIMUM, (1,): KIND_NONSTRICT, (2,): KIND_STRICT, (): KIND_NONSTRICT}),
    # one hidden layer: every saddle is strict
    ((2, 2, 2), {(1, 2): KIND_MINIMUM, (1,): KIND_STRICT, (2,): KIND_STRICT, (): KIND_STRICT}),
])
def test_diagonal_saddles_on_the_balanced_leaf_follow_prop_18(dims, expect):
    net = Network(dims, [2.0, 1.0])
    res = equilibria_on_leaf(net, np.zeros((net.h - 1, 2)), method="diagonal", sign_patterns="positive")
    assert res.status == "ok"
    got = {e.signature: e.kind for e in res}
    assert got == expect
    for e in res:
        assert e.loss == pytest.approx(e.critical_value, abs=1e-12)
        assert all(v >= 0 for p in e.sign_pattern for v in p)
    full = equilibria_on_leaf(net, np.zeros((net.h - 1, 2)), method="diagonal", kind="minimum")
    assert len(full) == (2 ** (net.h - 1)) ** 2                  # every sign pattern of both channels


def test_equilibrium_set_dimension_is_real():
    """dims (2, 2, 2): the minima on a generic leaf form a curve (8 weights, 3 laws, W2 W1 = Sigma);
    bordered Newton reports dimension 1, and moving along the null direction and correcting gives
    another equilibrium of the same leaf."""
    net = Network((2, 2, 2), [2.0, 1.0])
    rng = np.random.default_rng(5)
    C = leaf_of(net, rng.normal(size=8))
    res = equilibria_on_leaf(net, C, seed=2, n_starts=1)
    assert res.status == "manifold" and res.manifolds is not None      # not isolated: the manifolds
    e = res.minima()[0]
    assert e.kind == KIND_MINIMUM and e.dimension == 1 and e.leaf_dimension == 5
    B = leaf_tangent_basis(net, e.state)
    w, V = np.linalg.eigh(B.T @ net.jacobian(e.state) @ B)
    v = B @ V[:, np.argmin(np.abs(w))]
    b = bordered_newton(net, C, e.state + 0.05 * v)
    assert b.converged and b.loss <= 1e-20 and b.leaf_residual <= 1e-12
    assert np.linalg.norm(b.state - e.state) > 0.02          # a different point of the same curve


# ------------------------------------------------------------------ leaves
def test_leaf_of_and_project_to_leaf():
    net = Network((3, 3, 2, 2), [2.0, 1.0])
    rng = np.random.default_rng(11)
    x, z = rng.normal(size=(2, net.n_params))
    C = leaf_of(net, z)
    assert len(C) == 2 and all(np.allclose(Ci, Ci.T) for Ci in C)
    y = project_to_leaf(net, x, C)
    assert np.max(np.abs(conserved_vector(net, y) - conserved_vector(net, z))) <= 1e-12
    B = leaf_tangent_basis(net, y)
    assert np.linalg.norm(B.T @ (x - y)) <= 1e-10 * np.linalg.norm(x - y)      # orthogonal projection
    # (62): the point of the leaf c = 0 (the lines w1 = +-w2) nearest to (1, 0.2) is (0.6, 0.6)
    assert np.allclose(project_to_leaf(Network((1, 1, 1), [1.0]), [1.0, 0.2], [0.0]), [0.6, 0.6], atol=1e-13)
    # and the leaf c = 3 nearest to (1, 1): on the hyperbola w1^2 - w2^2 = 3, normal offset
    y = project_to_leaf(Network((1, 1, 1), [1.0]), [1.0, 1.0], [3.0])
    assert y[0] ** 2 - y[1] ** 2 == pytest.approx(3.0, abs=1e-12)
    assert abs((1 - y[0]) * y[1] + (1 - y[1]) * y[0]) <= 1e-12          # x - y is parallel to (w1, -w2)


def test_leaf_forms_are_equivalent():
    net = Network((3, 2, 2, 2), [2.0, 1.0])
    mats = [np.array([[0.5, 0.1], [0.1, -0.2]]), np.array([[0.3, 0.0], [0.0, 0.7]])]
    vec = np.concatenate([m[np.triu_indices(2)] for m in mats])
    for form in (mats, np.array(mats), vec):
        got, ch = parse_leaf(net, form)
        assert all(np.array_equal(a, b) for a, b in zip(got, mats)) and ch is None
    got, ch = parse_leaf(net, [[0.5, -0.2], [0.3, 0.7]])
    assert np.array_equal(got[0], np.diag([0.5, -0.2])) and np.array_equal(ch, [[0.5, -0.2], [0.3, 0.7]])


def test_bad_leaf_input():
    net = Network((1, 2, 1), [1.0])
    with pytest.raises(ValueError, match="symmetric"):
        equilibria_on_leaf(net, [np.array([[0.5, 0.2], [0.1, -0.3]])])
    with pytest.raises(ValueError, match="C: expected"):
        equilibria_on_leaf(net, [1.0, 2.0])
    with pytest.raises(ValueError, match="C_1 must have shape"):
        equilibria_on_leaf(net, [np.eye(3)])
    with pytest.raises(ValueError, match="NaN"):
        equilibria_on_leaf(chain(2, 1.0), [np.nan])
    # an empty leaf: C_1 = W1 W1^T - W2^T W2 has at most one positive eigenvalue here
    res = equilibria_on_leaf(net, [np.array([[0.5, 0.2], [0.2, 0.3]])])
    assert res.status == "empty" and "leaf is empty" in res.message and len(res) == 0
    with pytest.raises(ValueError, match="gamma"):
        equilibria_on_leaf(Network((1, 1, 1), [1.0], gamma=0.1), [0.0])
    with pytest.raises(ValueError, match="mask"):
        equilibria_on_leaf(Network((1, 1, 1), [1.0], mask=[True, False]), [0.0])
    with pytest.raises(ValueError, match="scalar chain"):
        equilibria_on_leaf(net, [np.diag([0.5, -0.3])], method="exact")
    with pytest.raises(ValueError, match="kind"):
        equilibria_on_leaf(chain(2, 1.0), [0.0], kind="maximum")


def test_results_are_json():
    res = equilibria_on_leaf(chain(3, 1.0), [0.0, -1.0])
    d = json.loads(json.dumps(res.to_dict()))
    assert d["status"] == "ok" and len(d["equilibria"]) == len(res)
    assert {e["kind"] for e in d["equilibria"]} == {KIND_MINIMUM, KIND_STRICT}
    assert isinstance(d["equilibria"][0]["leaf_eigenvalues"], list)


# ------------------------------------------------------------------ command line
def test_cli_equilibria(capsys):
    assert main(["equilibria", "--dims", "1,1,1", "--sigma", "1", "--leaf", "0.5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    ref = w64(0.5, 1.0)
    assert d["status"] == "ok" and len(d["equilibria"]) == 2
    assert np.allclose(sorted((e["state"] for e in d["equilibria"]), key=lambda w: -w[0])[0], ref, atol=1e-14)
    assert main(["equilibria", "--dims", "1,1,1", "--sigma", "1", "--leaf", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "global minimum" in out and "1.13171392" in out
    # no saddle on this leaf: an empty answer with the reason, exit 0
    assert main(["equilibria", "--dims", "1,1,1", "--sigma", "1", "--leaf", "0.5", "--kind", "saddle"]) == 0
    assert "status empty" in capsys.readouterr().out
    # the diagonal reduction from per-channel constants
    assert main(["equilibria", "--dims", "2,2,2", "--sigma", "2,1", "--leaf", "0.5,-0.3", "--method", "diagonal",
                 "--kind", "minimum", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "exact-diagonal" and len(d["equilibria"]) == 4


@pytest.mark.parametrize("argv,needle", [
    (["--dims", "1,1,1", "--sigma", "1", "--leaf", "0.5,1"], "--leaf: expected"),
    (["--dims", "1,2,1", "--sigma", "1", "--leaf", "[[[0.5,0.2],[0.1,-0.3]]]"], "symmetric"),
    (["--dims", "1,1,1", "--sigma", "1", "--leaf", "[1,2"], "not valid JSON"),
    (["--dims", "1,1,1", "--sigma", "1", "--leaf", "abc"], "--leaf"),
    (["--dims", "1,1,1", "--sigma", "1", "--leaf", "0.5", "--x0", "1,2,3"], "--x0"),
])
def test_cli_equilibria_bad_input(capsys, argv, needle):
    assert main(["equilibria"] + argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
