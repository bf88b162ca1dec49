"""Pseudo-arclength continuation: (62) along its leaves against (64), the pitchfork and the fold of
the regularized logistic equation, the pitchfork of the regularized (62), continuation in sigma,
JSON export, bad input and the CLI."""
import json

import numpy as np
import pytest

from dlnsys import Network
from dlnsys.cli import main
from dlnsys.continuation import Branch, LogisticSystem, continuation
from dlnsys.leaves import equilibria_on_leaf


def w64(c, sigma):
    w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * sigma * sigma)))
    return np.stack([w1, sigma / w1], axis=-1)


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_62_along_c_follows_64(sigma):
    b = continuation(Network((1, 1, 1), [sigma]), param="c1", p_from=-5.0, p_to=5.0, step=0.1)
    assert isinstance(b, Branch) and b.status == "ok" and b.formulation == "bordered"
    assert b.parameter[0] == -5.0 and b.parameter[-1] == 5.0
    assert np.all(np.diff(b.parameter) > 0)                       # no fold
    err = np.max(np.abs(b.states - w64(b.parameter, sigma)))
    assert err <= 1e-10
    assert np.max(np.abs(b.multipliers)) <= 1e-10
    assert [s.type for s in b.special_points] == ["EP"]            # no spurious LP/BP
    assert set(b.stability) == {"stable"}
    # the leaf-restricted eigenvalue along the branch is -(sigma^2 + w1^4) / w1^2
    w1 = b.states[:, 0]
    lam = np.array([ev[0] for ev in b.eigenvalues])
    assert np.allclose(lam, -(sigma**2 + w1**4) / w1**2, rtol=1e-9)
    assert all(s == (1,) for s in b.signatures)
    # the mirror branch
    m = continuation(Network((1, 1, 1), [sigma]), -w64(-5.0, sigma), param="c1", p_to=5.0, step=0.1)
    assert np.max(np.abs(m.states + w64(m.parameter, sigma))) <= 1e-10


@pytest.mark.parametrize("sigma", [1.0, 2.5])
def test_logistic_h2_branch_point_at_sigma(sigma):
    b = continuation(LogisticSystem(h=2, sigma=sigma, gamma=2 * sigma), [0.0], param="gamma", p_to=0.0)
    bps = b.points("BP")
    assert len(bps) == 1
    assert abs(bps[0].parameter - sigma) <= 1e-6
    assert abs(bps[0].state[0]) <= 1e-10
    assert not b.points("LP")
    # the trivial branch: stable for gamma > sigma, unstable below
    assert all(s == "stable" for p, s in zip(b.parameter, b.stability) if p > sigma + 1e-6)
    assert all(s == "unstable" for p, s in zip(b.parameter, b.stability) if p < sigma - 1e-6)
    # branch switching: the two halves z = +-sqrt(sigma - gamma), stable
    kids = bps[0].branches
    assert len(kids) == 2
    ends = sorted(k.states[-1, 0] for k in kids)
    assert np.allclose(ends, [-np.sqrt(sigma), np.sqrt(sigma)], atol=1e-10)
    for k in kids:
        assert np.max(np.abs(k.states[:, 0] ** 2 - (sigma - k.parameter))) <= 1e-10
        assert all(s == "stable" for p, s in zip(k.parameter, k.stability) if p < sigma - 1e-6)


@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_logistic_h3_fold(sigma):
    """z' = z^2 (sigma - z^3) - gamma z: the nonzero equilibria satisfy gamma = z sigma - z^4, whose
    maximum over z (d/dz = sigma - 4 z^3 = 0) is the fold z* = (sigma/4)^(1/3),
    gamma_LP = z* (sigma - sigma/4) = (3/4) sigma (sigma/4)^(1/3)."""
    z_lp = (sigma / 4) ** (1 / 3)
    g_lp = 0.75 * sigma * (sigma / 4) ** (1 / 3)
    z0 = 1.2 * sigma ** (1 / 3)                     # a guess on the upper branch at gamma = -0.5
    b = continuation(LogisticSystem(h=3, sigma=sigma), [z0], param="gamma", p_from=-0.5, p_to=2 * g_lp,
                     switch=False)
    lps = b.points("LP")
    assert len(lps) == 1
    assert abs(lps[0].parameter - g_lp) <= 1e-6
    assert abs(lps[0].state[0] - z_lp) <= 1e-6
    assert lps[0].stability == ("stable", "unstable")        # the upper branch is stable, the lower not
    # on both sides every point satisfies gamma = z sigma - z^4
    z = b.states[:, 0]
    assert np.max(np.abs(b.parameter - (z * sigma - z**4))) <= 1e-10
    # the lower branch crosses z = 0 at gamma = 0: a transcritical branch point
    bps = b.points("BP")
    assert len(bps) == 1 and abs(bps[0].parameter) <= 1e-6
    try:                                             # cross-check with the reductions module if present
        from dlnsys.reductions import logistic_fold
        g_ref, z_ref = logistic_fold(sigma, 3)
        assert abs(g_ref - g_lp) <= 1e-12 and abs(z_ref - z_lp) <= 1e-12
    except ImportError:
        pass


@pytest.mark.parametrize("sigma,h", [(0.7, 4), (1.0, 4), (1.0, 6), (2.0, 8)])
def test_logistic_even_h_branch_point_is_not_a_fold(sigma, h):
    """Even h: the nonzero equilibria satisfy gamma = z^(h-2) (sigma - z^h), even in z, so the branch
    folds at +-z* = ((h-2) sigma / (2h-2))^(1/h) and passes through the branch point (z, gamma) = (0, 0),
    where it meets z = 0 and turns back in gamma (G_gamma = -z = 0 lies in the range of G_z = 0): a BP,
    not a fold. Expected, as AUTO-07p reports it: LP, BP, LP, EP."""
    z_lp = ((h - 2) * sigma / (2 * h - 2)) ** (1 / h)
    g_lp = z_lp ** (h - 2) * (sigma - z_lp ** h)
    b = continuation(LogisticSystem(h=h, sigma=sigma), [sigma ** (1 / h)], param="gamma", p_from=-0.2 * g_lp,
                     p_to=1.5 * g_lp, step=0.05 * g_lp, switch=False)
    assert [sp.type for sp in b.special_points] == ["LP", "BP", "LP", "EP"]
    lp1, bp, lp2 = b.special_points[:3]
    for lp, sign in ((lp1, 1), (lp2, -1)):
        assert abs(lp.parameter - g_lp) <= 1e-6 and abs(lp.state[0] - sign * z_lp) <= 1e-5
    assert abs(bp.state[0]) <= 1e-6 and abs(bp.parameter) <= 1e-6
    z, g = b.states[:, 0], b.parameter
    assert np.max(np.abs(z ** (h - 1) * (sigma - z ** h) - g * z)) <= 1e-12      # every point an equilibrium
    far = np.abs(z) > 0.05                     # and on the nonzero branch (near z = 0, gamma is ill-conditioned)
    assert far.sum() > 20 and np.max(np.abs(g[far] - z[far] ** (h - 2) * (sigma - z[far] ** h))) <= 1e-9


@pytest.mark.parametrize("h", [3, 4])
@pytest.mark.parametrize("p_from", [-0.1, -0.1001])
def test_branch_point_found_when_a_step_lands_on_it(h, p_from):
    """The trivial branch z = 0 of z' = z^(h-1)(sigma - z^h) - gamma z has G_z = -gamma: a branch point
    at gamma = 0. From -0.1 with step 0.05 a step lands exactly on it (the determinant is exactly 0
    there); from -0.1001 the steps straddle it. Both must report it, and switch to z^(h-2)(sigma - z^h) = gamma."""
    b = continuation(LogisticSystem(h=h, sigma=1.0), [0.0], param="gamma", p_from=p_from, p_to=0.8, step=0.05)
    assert [sp.type for sp in b.special_points] == ["BP", "EP"]
    bp = b.points("BP")[0]
    assert abs(bp.parameter) <= 1e-9 and abs(bp.state[0]) <= 1e-12
    assert b.parameter[bp.index] == bp.parameter           # the special point is a point of the branch
    assert len(bp.branches) == 2
    for br in bp.branches:
        z, g = br.states[:, 0], br.parameter
        far = np.abs(z) > 0.05
        assert far.sum() >= 2 and np.max(np.abs(g[far] - z[far] ** (h - 2) * (1.0 - z[far] ** h))) <= 1e-9


@pytest.mark.parametrize("sigma", [1.0, 1.5])
def test_regularized_62_pitchfork_at_sigma(sigma):
    net = Network((1, 1, 1), [sigma], gamma=2 * sigma)
    b = continuation(net, param="gamma", p_to=0.05, step=0.1)
    assert b.formulation == "full" and b.status == "ok"
    assert np.all(b.states == 0)                     # the trivial branch: the origin
    bps = b.points("BP")
    assert len(bps) == 1 and abs(bps[0].parameter - sigma) <= 1e-6
    assert len(bps[0].branches) == 2
    for k in bps[0].branches:
        w = k.states
        assert np.max(np.abs(w[:, 0] - w[:, 1])) <= 1e-10           # balanced, w1 = w2
        assert np.max(np.abs(w[:, 0] ** 2 - (sigma - k.parameter))) <= 1e-10
        assert all(s == "stable" for p, s in zip(k.parameter, k.stability) if p < sigma - 1e-6)
    ends = sorted(k.states[-1, 0] for k in bps[0].branches)
    assert np.allclose(ends, [-np.sqrt(sigma - 0.05), np.sqrt(sigma - 0.05)], atol=1e-10)


def test_continuation_in_sigma_on_a_depth3_leaf():
    net = Network((1, 1, 1, 1), [1.0])
    c = [0.3, -0.2]
    b = continuation(net, param="sigma1", leaf=c, p_to=3.0, step=0.1)
    assert b.status == "ok" and b.parameter[-1] == 3.0
    for p in (1.0, 1.7, 2.4, 3.0):
        k = int(np.argmin(np.abs(b.parameter - p)))
        ref = equilibria_on_leaf(Network((1, 1, 1, 1), [b.parameter[k]]), c, kind="minimum")
        d = min(np.max(np.abs(e.state - b.states[k])) for e in ref)
        assert d <= 1e-10
    assert np.max(np.abs(b.multipliers)) <= 1e-10


def test_depth3_chain_along_a_leaf_constant():
    net = Network((1, 1, 1, 1), [2.0])
    b = continuation(net, param="c2", leaf=[0.5, -1.0], p_to=1.0, step=0.1)
    assert b.status == "ok" and b.parameter[0] == -1.0 and b.parameter[-1] == 1.0
    for k in range(0, len(b), 5):
        ref = equilibria_on_leaf(net, [0.5, b.parameter[k]], kind="minimum")
        assert min(np.max(np.abs(e.state - b.states[k])) for e in ref) <= 1e-10


def test_branch_exports_to_json(tmp_path):
    b = continuation(LogisticSystem(h=2, sigma=1.0, gamma=2.0), [0.0], param="gamma", p_to=0.0)
    path = tmp_path / "b.json"
    text = b.to_json(path)
    d = json.loads(path.read_text())
    assert d == json.loads(text)
    assert d["param"] == "gamma" and len(d["parameter"]) == len(b)
    bp = [s for s in d["special_points"] if s["type"] == "BP"][0]
    assert abs(bp["parameter"] - 1.0) <= 1e-6 and len(bp["branches"]) == 2
    assert len(list(b.all_branches())) == 3


def test_bad_continuation_input():
    net = Network((1, 1, 1), [1.0])
    with pytest.raises(ValueError, match="param"):
        continuation(net, param="w1", p_to=1.0)
    with pytest.raises(ValueError, match="c3 out of range"):
        continuation(net, param="c3", p_to=1.0)
    with pytest.raises(ValueError, match="sigma2 out of range"):
        continuation(net, param="sigma2", p_to=1.0)
    with pytest.raises(ValueError, match="no leaf constants"):
        continuation(LogisticSystem(2, 1.0), param="c1", p_to=1.0)
    with pytest.raises(ValueError, match="formulation"):
        continuation(net, param="gamma", p_to=1.0, formulation="bordered")
    with pytest.raises(ValueError, match="not an equilibrium"):
        continuation(net, [0.3, 0.1], param="c1", p_to=1.0)
    with pytest.raises(ValueError, match="symmetric"):
        continuation(Network((1, 2, 1), [1.0]), param="c1", p_to=1.0, leaf=[np.array([[0.5, 0.2], [0.1, -0.3]])])
    # a continuum of equilibria on the leaf (hidden width 2): refused with the reason
    with pytest.raises(ValueError, match="not isolated"):
        continuation(Network((2, 2, 2), [2.0, 1.0]), param="c1", p_to=1.0, leaf=[np.diag([0.5, -0.3])])


def test_cli_continue(tmp_path, capsys):
    out = tmp_path / "branch.json"
    assert main(["continue", "--system", "logistic", "--depth", "2", "--sigma", "1", "--param", "gamma",
                 "--from", "2", "--to", "0", "--x0", "0", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "BP at gamma = 1" in text
    d = json.loads(out.read_text())
    assert any(s["type"] == "BP" for s in d["special_points"])
    assert main(["continue", "--dims", "1,1,1", "--sigma", "1", "--param", "c1", "--from", "-1", "--to", "1",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["formulation"] == "bordered" and d["parameter"][-1] == 1.0
    assert np.max(np.abs(np.array(d["states"]) - w64(np.array(d["parameter"]), 1.0))) <= 1e-10


@pytest.mark.parametrize("argv,needle", [
    (["--dims", "1,1,1", "--sigma", "1", "--param", "c9", "--to", "1"], "c9 out of range"),
    (["--dims", "1,1,1", "--sigma", "1", "--param", "c1", "--to", "1", "--leaf", "1,2"], "--leaf"),
    (["--system", "logistic", "--sigma", "1", "--param", "gamma", "--to", "1"], "--depth"),
    (["--dims", "1,1,1", "--sigma", "1", "--param", "gamma", "--to", "1", "--formulation", "bordered"],
     "formulation"),
    (["--dims", "2,2,2", "--sigma", "2,1", "--param", "c1", "--to", "1", "--leaf", "0.5,0,-0.3"], "not isolated"),
])
def test_cli_continue_bad_input(capsys, argv, needle):
    assert main(["continue"] + argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
