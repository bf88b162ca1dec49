"""Separatrices of (62) and (65), basins of (62) against the leaf analysis, and the
saddle-to-saddle itinerary (including the Section 6.1 small-initialization run)."""
import json

import numpy as np
import pytest

from dlnsys import Network
from dlnsys.cli import main
from dlnsys.invariants import conserved_vector
from dlnsys.leaves import KIND_MINIMUM, KIND_NONSTRICT, critical_value
from dlnsys.separatrices import basins, itinerary, separatrices


def w64(c, sigma):
    w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * sigma * sigma)))
    return np.stack([w1, sigma / w1], axis=-1)


# ------------------------------------------------------------------ separatrices
@pytest.mark.parametrize("sigma", [1.0, 1.5])
def test_separatrices_of_62(sigma):
    s = separatrices(Network((1, 1, 1), [sigma]), np.zeros(2), bound=2.0)
    assert s.status == "ok"
    assert np.allclose(s.leaf_eigenvalues, [-sigma, sigma], rtol=1e-12)
    st, un = s.stable(), s.unstable()
    assert len(st) == 2 and len(un) == 2
    for c in st:
        P = c.points
        assert np.max(np.abs(P[:, 0] + P[:, 1])) / np.sqrt(2) <= 1e-6      # on the line w1 = -w2
        assert c.end == "bound"
        assert np.linalg.norm(P[-1]) == pytest.approx(2.0, abs=1e-9)       # covers |w| <= 2
        assert np.all(np.diff(np.linalg.norm(P, axis=1)) > 0)              # moves away from the saddle
    ends = []
    for c in un:
        P = c.points
        assert np.max(np.abs(P[:, 0] - P[:, 1])) / np.sqrt(2) <= 1e-6      # on the line w1 = w2
        assert c.end == "equilibrium" and np.max(np.linalg.norm(P, axis=1)) <= 2.0
        ends.append(c.end_state)
        assert c.end_label in ("{1} (+,+)", "{1} (-,-)")
    ends = np.array(sorted(ends, key=lambda e: e[0]))
    ref = np.sqrt(sigma) * np.array([[-1.0, -1.0], [1.0, 1.0]])
    assert np.max(np.abs(ends - ref)) <= 1e-6


def test_separatrices_of_65_on_a_leaf():
    """(65) on the leaf c = (0, -1): the saddle (0, 0, 1); its curves stay on the leaf, the unstable
    ones end at the minima with signs (+,+,+) and (-,-,+)."""
    net = Network((1, 1, 1, 1), [2.0])
    x = np.array([0.0, 0.0, 1.0])
    s = separatrices(net, x, bound=5.0)
    assert s.status == "ok" and np.allclose(s.leaf_eigenvalues, [-2.0, 2.0], rtol=1e-12)
    for c in s.curves:
        dev = np.max(np.abs(conserved_vector(net, c.points) - np.array([0.0, -1.0])))
        assert dev <= 1e-9
    labels = sorted(c.end_label for c in s.unstable())
    assert labels == ["{1} (+,+,+)", "{1} (-,-,+)"]
    for c in s.unstable():
        assert np.prod(c.end_state) == pytest.approx(2.0, abs=1e-9)
    # the origin of (65) has a vanishing Jacobian: no linearization, a specific answer
    s0 = separatrices(net, np.zeros(3))
    assert s0.status == "nonhyperbolic" and s0.curves == [] and "zero eigenvalue" in s0.message
    with pytest.raises(ValueError, match="not an equilibrium"):
        separatrices(net, np.array([0.1, 0.2, 0.3]))


# ------------------------------------------------------------------ basins
def test_basins_of_62_agree_with_the_leaf_analysis():
    """The leaf c = w1^2 - w2^2 fixes the pair +-(64); w1 + w2 (whose sign the flow keeps,
    d/dt (w1 + w2) = (w1 + w2)(sigma - w1 w2)) picks the member; w1 = -w2 goes to the saddle."""
    sigma = 1.3
    net = Network((1, 1, 1), [sigma])
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(150, 2))
    X[:3] = [[1.0, -1.0], [0.5, -0.5], [-1.5, 1.5]]             # on the separatrix
    b = basins(net, X)
    assert b.status == "ok" and np.all(b.converged)
    on_sep = np.abs(X[:, 0] + X[:, 1]) < 1e-12
    assert np.all(np.array(b.labels)[on_sep] == "{} (0,0)")
    c = X[:, 0] ** 2 - X[:, 1] ** 2
    side = np.sign(X[:, 0] + X[:, 1])
    expect = side[:, None] * w64(c, sigma)
    assert np.max(np.abs(b.final[~on_sep] - expect[~on_sep])) <= 1e-8
    for lab, s in zip(np.array(b.labels)[~on_sep], side[~on_sep]):
        assert lab == ("{1} (+,+)" if s > 0 else "{1} (-,-)")
    assert np.allclose(b.leaf_constants[:, 0], c, atol=1e-14)
    assert sum(b.counts.values()) == len(X)
    json.dumps(b.to_dict())


# ------------------------------------------------------------------ itinerary
def test_itinerary_small_network():
    from dlnsys.simulate import simulate

    net = Network((3, 3, 3, 2), [2.0, 1.0])
    x0 = 1e-2 * np.random.default_rng(0).standard_normal(net.n_params)
    tr = simulate(net, x0, 3000.0, rtol=1e-10, atol=1e-12)
    it = itinerary(net, tr)
    assert it.signatures == [(), (1,), (1, 2)]
    t_prev = -1.0
    for p in it:
        cv = critical_value(net, p.signature)
        if cv:
            assert abs(p.loss - cv) / cv <= 1e-3
        else:
            assert abs(p.loss) <= 1e-8
        assert p.t_enter > t_prev
        t_prev = p.t_enter
    assert it[-1].kind == KIND_MINIMUM and it[-1].t_exit is None
    # the same from a (t, x) pair and from the CLI with a saved file
    assert itinerary(net, (tr.t, tr.x)).signatures == it.signatures


def test_itinerary_bad_input():
    net = Network((1, 1, 1), [1.0])
    with pytest.raises(ValueError, match="trajectory"):
        itinerary(net, (np.arange(3.0), np.zeros((3, 3))))
    with pytest.raises(ValueError, match="increasing"):
        itinerary(net, (np.array([0.0, 0.0, 1.0]), np.zeros((3, 2))))
    with pytest.raises(ValueError, match="trajectory"):
        itinerary(net, "run.npz")


@pytest.mark.slow
def test_itinerary_section_6_1_small_initialization():
    """Section 6.1: dims (11,6,6,6,6,4), sigma (7,5.5,4,2.5), Gaussian init of scale 1e-2 (seed 3):
    the singular values are learned one by one, {} -> {1} -> {1,2} -> {1,2,3} -> {1,2,3,4}, with
    plateau losses at the critical values (31) (relative 1e-3; absolute at the minimum)."""
    from dlnsys import init
    from dlnsys.simulate import simulate

    net = Network((11, 6, 6, 6, 6, 4), [7.0, 5.5, 4.0, 2.5])
    x0 = init.gaussian(net, 1e-2, seed=3)
    tr = simulate(net, x0, 60000.0, until_loss=1e-12)
    it = itinerary(net, tr)
    assert it.signatures == [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]
    for p in it.plateaus[:-1]:
        assert abs(p.loss - p.critical_value) / p.critical_value <= 1e-3
        assert p.kind == KIND_NONSTRICT             # near-tightened saddles (Prop. 18, Section 5.3.1)
    assert abs(it[-1].loss) <= 1e-3 and it[-1].kind == KIND_MINIMUM
    assert all(a.t_exit <= b.t_enter for a, b in zip(it.plateaus, it.plateaus[1:]))


def test_cli_itinerary(tmp_path, capsys):
    path = tmp_path / "run.npz"
    assert main(["simulate", "--dims", "3,3,3,2", "--sigma", "2,1", "--init", "small", "--t", "3000",
                 "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["itinerary", "--trajectory", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [p["signature"] for p in d["plateaus"]] == [[], [1], [1, 2]]
    assert main(["itinerary", "--dims", "1,1,1", "--sigma", "1", "--t", "100"]) == 0
    assert "{} -> {1}" in capsys.readouterr().out
    for argv, needle in ([["--trajectory", str(tmp_path / "nope.npz")], "no such file"],
                         [["--trajectory", str(path), "--dims", "1,1"], "--dims"],
                         [["--dims", "1,1,1", "--sigma", "1"], "--t"]):
        assert main(["itinerary"] + argv) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
