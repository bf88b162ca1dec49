"""Slice continuation of a non-isolated equilibrium (bordered_spec(..., slice=True)).

The global minima of Network([2, 2, 1]) on a generic leaf form closed curves (dimension 1: 6 weights - 2
product constraints - 3 laws), so the bordered system of the leaf is singular along them and AUTO-07p /
PyCont see folds and branch points that do not exist. The slice (phase condition normal to the curve at a
reference point) makes the equilibrium isolated. Oracles: W_2 W_1 = [s1, 0] at every global minimum, the
leaf constants, x - x_ref orthogonal to the tangent, the multipliers vanish; the real tools.
"""
from __future__ import annotations

import numpy as np
import pytest

import dlnsys
from dlnsys import Network, init
from dlnsys.cli import main
from dlnsys.emit.generators import bordered_spec, slice_basis

from _external import missing


def _reference_minimum(seed=1):
    net = Network([2, 2, 1], [1.5])
    x0 = init.gaussian(net, scale=0.5, seed=seed)
    C = dlnsys.leaf_of(net, x0)
    comp = dlnsys.equilibrium_manifolds(net, C, signatures=[(1,)], seed=0)[(1,)].components[0]
    return net, C, comp


def _smallest_singular_value(spec, state):
    """Extreme singular values of the Jacobian of the spec's right-hand side (central differences of its text)."""
    ev = spec.evaluator()
    x = np.asarray(state, float)
    e = 1e-6
    J = np.array([(ev.rhs(x + e * v) - ev.rhs(x - e * v)) / (2 * e) for v in np.eye(x.size)]).T
    s = np.linalg.svd(J, compute_uv=False)
    return float(s[-1]), float(s[0])


def test_slice_makes_the_bordered_jacobian_nonsingular():
    net, C, comp = _reference_minimum()
    x = comp.point
    T = slice_basis(net, x)
    assert T.shape == (6, 1) and abs(abs(float(T[:, 0] @ comp.tangent_basis[:, 0])) - 1) < 1e-8
    plain = bordered_spec(net, x, parameter="s1")
    sliced = bordered_spec(net, x, parameter="s1", slice=True)
    assert sliced.variables[-1] == "xnu1" and sliced.continuation.extra_unknowns[-1] == "xnu1"
    s_min, s_max = _smallest_singular_value(plain, plain.initial)
    assert s_min <= 1e-8 * s_max                      # singular: the curve of minima (difference error ~1e-10)
    s_min, s_max = _smallest_singular_value(sliced, sliced.initial)
    assert s_min >= 1e-3 * s_max                      # isolated with the slice
    ev = sliced.evaluator()
    assert np.linalg.norm(ev.rhs(np.asarray(sliced.initial, float))) <= 1e-12   # x_ref solves the sliced system
    # an isolated equilibrium adds nothing
    net62 = Network((1, 1, 1), [1.0])
    w1 = np.sqrt((0.5 + np.sqrt(0.25 + 4)) / 2)
    s62 = bordered_spec(net62, [w1, 1 / w1], slice=True)
    assert s62.variables == ["w1", "w2", "xmu1"]


def test_slice_bad_input():
    net, C, comp = _reference_minimum()
    with pytest.raises(ValueError, match="x_eq"):
        bordered_spec(net, comp.point[:4], slice=True)


def test_cli_emit_slice(tmp_path, capsys):
    rc = main(["emit", "--dims", "2,2,1", "--sigma", "1.5", "--ics", "0.5,0.1,-0.3,0.8,1.0,0.2", "--continuation",
               "s1", "--form", "bordered", "--slice", "--target", "json", "-o", str(tmp_path)])
    assert rc == 0
    spec = dlnsys.load_spec(next(tmp_path.glob("*.json")))
    assert spec.variables[-1] == "xnu1" and spec.metadata["slice"]["dimension"] == 1
    net = Network([2, 2, 1], [1.5])
    x = np.asarray(spec.initial[:6])
    assert np.linalg.norm(net.vector_field(x)) <= 1e-9                 # the start is an equilibrium
    assert np.linalg.norm(spec.evaluator().rhs(np.asarray(spec.initial, float))) <= 1e-9
    capsys.readouterr()
    rc = main(["emit", "--dims", "2,2,1", "--sigma", "1.5", "--slice", "--target", "json", "-o", str(tmp_path / "b")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dlnsys: error: --slice")


def _check_points(net, C, comp, s_values, X):
    t = comp.tangent_basis[:, 0]
    for s, x in zip(s_values, X):
        w = x[:6]
        n2 = net.with_(sigma=[s])
        assert np.linalg.norm(n2.vector_field(w)) <= 1e-8
        assert np.allclose(n2.product(w), [[s, 0.0]], atol=1e-8)
        for a, b in zip(dlnsys.leaf_of(net, w), C):
            assert np.allclose(a, b, atol=1e-8)
        assert abs(t @ (w - comp.point)) <= 1e-8
        assert np.max(np.abs(x[6:])) <= 1e-8                 # the multipliers and nu vanish


@pytest.mark.external
def test_auto_follows_the_sliced_minimum_in_sigma_without_spurious_points():
    from dlnsys.emit import _runner
    auto_dir, reason = _runner.find_auto()
    if auto_dir is None:
        missing(reason)
    net, C, comp = _reference_minimum()
    plain = _runner.run_auto(bordered_spec(net, comp.point, parameter="s1"), parameter="s1",
                             parameter_range=(1.0, 2.5))
    spurious = [sp for sp in plain.special_points() if sp.type in ("LP", "BP")]
    spec = bordered_spec(net, comp.point, parameter="s1", slice=True)
    res = _runner.run_auto(spec, parameter="s1", parameter_range=(1.0, 2.5))
    print(f"\nAUTO in s1 on a curve of minima of Network([2,2,1]): without the slice {[sp.type for sp in spurious]}, "
          f"with it {[sp.type for sp in res.special_points()]}")
    assert spurious                                           # the contrast: singular without the slice
    assert res.bifurcations() == []
    ends = sorted(sp.value for sp in res.special_points("UZ"))
    assert ends == pytest.approx([1.0, 2.5], abs=1e-6)
    # along the branch (the b-file's columns): the laws stay at the leaf constants
    cvec = np.concatenate([m[np.triu_indices(2)] for m in C])
    for k in range(3):
        assert np.max(np.abs(res.column(f"pi{k + 1}") - cvec[k])) <= 1e-8
    # full states at the labelled points (the s-file): equilibria of the flow at that sigma, on the slice
    pts = [sp for sp in res.special_points() if sp.state is not None]
    assert len(pts) >= 2
    _check_points(net, C, comp, [sp.value for sp in pts], [np.asarray(sp.state) for sp in pts])


@pytest.mark.external
def test_pycont_follows_the_sliced_minimum_in_sigma_without_spurious_points():
    from dlnsys.emit import _runner
    py, reason = _runner.find_pydstool_python()
    if py is None:
        missing(reason)
    net, C, comp = _reference_minimum()
    spec = bordered_spec(net, comp.point, parameter="s1", slice=True, parameter_range=(1.0, 2.5))
    res = _runner.run_pydstool(spec)
    assert res["mode"] == "continuation" and res["parameter"] == "s1"
    s = np.array([p["parameter"] for p in res["points"]])
    X = np.array([p["x"] for p in res["points"]])
    print(f"\nPyCont in s1 on a curve of minima of Network([2,2,1]) (sliced): {len(s)} points, s1 in "
          f"[{s.min():.3f}, {s.max():.3f}], special points {[sp['type'] for sp in res['special_points']]}")
    assert [sp for sp in res["special_points"] if sp["type"] not in ("EP",)] == []
    assert s.min() == pytest.approx(1.0, abs=1e-6) and s.max() == pytest.approx(2.5, abs=1e-6)
    _check_points(net, C, comp, s, X)
