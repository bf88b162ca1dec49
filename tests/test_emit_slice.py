"""Slice continuation of a non-isolated equilibrium (bordered_spec(..., slice=True), dlnsys emit --slice).

The global minima of Network([2, 2, 1]) on a generic leaf form closed curves (dimension 1: 6 weights - 2
product constraints - 3 laws), so the bordered system of the leaf is singular along them and AUTO-07p /
PyCont see folds and branch points that do not exist. The slice (phase condition normal to the curve at a
reference point) makes the equilibrium isolated. Oracles: W_2 W_1 = [s1, 0] at every global minimum (closed
form), the leaf constants, x - x_ref orthogonal to the tangent, the multipliers vanish; the documented
system assembled independently from dlnsys.flow / dlnsys.invariants; finite differences; the real tools.
"""
from __future__ import annotations

import dataclasses
import subprocess

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import dlnsys
from dlnsys import Network, flow, init
from dlnsys.cli import main
from dlnsys.emit.generators import bordered_spec, slice_basis
from dlnsys.invariants import conservation_differential, conserved_vector

from _external import missing, require_tool

S_RANGE = (1.0, 2.5)
_CACHE = {}


def _reference_minimum(seed=1):
    """A point of the curve of global minima on the leaf through a seeded Gaussian init."""
    if seed not in _CACHE:
        net = Network([2, 2, 1], [1.5])
        x0 = init.gaussian(net, scale=0.5, seed=seed)
        C = dlnsys.leaf_of(net, x0)
        comp = dlnsys.equilibrium_manifolds(net, C, signatures=[(1,)], seed=0)[(1,)].components[0]
        _CACHE[seed] = (net, C, comp)
    return _CACHE[seed]


def _fd_jacobian(spec, state):
    """Jacobian of the spec's right-hand side text (central differences, step 1e-6: error ~1e-10)."""
    ev = spec.evaluator()
    x = np.asarray(state, float)
    e = 1e-6
    return np.array([(ev.rhs(x + e * v) - ev.rhs(x - e * v)) / (2 * e) for v in np.eye(x.size)]).T


def _documented_rhs(net, x_ref, T, cvals, z):
    """x' = f + D^T mu + T nu, mu' = pi - c, nu' = T^T (x - x_ref), from dlnsys.flow / invariants."""
    n, K = net.n_params, len(cvals)
    x, mu, nu = z[:n], z[n:n + K], z[n + K:]
    return np.concatenate([net.vector_field(x) + conservation_differential(net, x).T @ mu + T @ nu,
                           conserved_vector(net, x) - cvals, T.T @ (x - x_ref)])


def test_slice_basis_is_the_tangent_of_the_curve_of_minima():
    net, C, comp = _reference_minimum()
    x = comp.point
    T = slice_basis(net, x)
    assert T.shape == (6, 1)
    assert abs(abs(float(T[:, 0] @ comp.tangent_basis[:, 0])) - 1) < 1e-8      # dlnsys.manifolds' tangent
    # closed form: along the curve W2 W1 = [s, 0] and the laws are constant, so both differentials kill t
    t = T[:, 0]
    w = net.unpack(x)
    dw = net.unpack(t)
    dprod = dw[1] @ w[0] + w[1] @ dw[0]
    assert np.max(np.abs(dprod)) <= 1e-10
    assert np.max(np.abs(conservation_differential(net, x) @ t)) <= 1e-10
    assert np.max(np.abs(flow.hessian(net, x) @ t)) <= 1e-10


def test_slice_makes_the_bordered_jacobian_nonsingular():
    net, C, comp = _reference_minimum()
    x = comp.point
    plain = bordered_spec(net, x, parameter="s1")
    sliced = bordered_spec(net, x, parameter="s1", slice=True)
    assert sliced.variables == plain.variables + ["xnu1"]
    assert sliced.continuation.extra_unknowns == ["xmu1", "xmu2", "xmu3", "xnu1"]
    T = np.array(sliced.metadata["slice"]["tangents"]).T
    assert sliced.metadata["slice"]["dimension"] == 1 and np.allclose(T, slice_basis(net, x), atol=0)
    # the bordered Jacobian of the emitted text: singular without the slice, well conditioned with it
    s_plain = np.linalg.svd(_fd_jacobian(plain, plain.initial), compute_uv=False)
    s_slice = np.linalg.svd(_fd_jacobian(sliced, sliced.initial), compute_uv=False)
    print(f"\nbordered Jacobian at a minimum of Network([2,2,1]): smallest/largest singular value "
          f"{s_plain[-1]:.2e}/{s_plain[0]:.2f} without the slice, {s_slice[-1]:.3f}/{s_slice[0]:.2f} with it")
    assert s_plain[-1] <= 1e-8 * s_plain[0]                       # singular: the curve (difference error ~1e-10)
    assert s_slice[-1] >= 1e-2 * s_slice[0]                       # isolated with the slice
    # the same matrix assembled from the analytic Hessian: [[J, D^T, T], [D, 0, 0], [T^T, 0, 0]]
    J, D = -flow.hessian(net, x), conservation_differential(net, x)
    M = np.block([[J, D.T, T], [D, np.zeros((3, 4))], [T.T, np.zeros((1, 4))]])
    assert np.max(np.abs(_fd_jacobian(sliced, sliced.initial) - M)) <= 1e-8
    assert np.linalg.svd(M[:9, :9], compute_uv=False)[-1] <= 1e-12     # unsliced: exactly singular
    # x_ref with mu = nu = 0 solves the sliced system
    assert np.linalg.norm(sliced.evaluator().rhs(np.asarray(sliced.initial, float))) <= 1e-12


def test_emitted_slice_equations_are_the_documented_system():
    net, C, comp = _reference_minimum()
    x_ref = comp.point
    spec = bordered_spec(net, x_ref, parameter="s1", slice=True)
    T = slice_basis(net, x_ref)
    cvals = conserved_vector(net, x_ref)
    ev = spec.evaluator()
    rng = np.random.default_rng(5)
    for _ in range(5):
        z = rng.normal(size=10)
        assert np.max(np.abs(ev.rhs(z) - _documented_rhs(net, x_ref, T, cvals, z))) <= 1e-12


def test_isolated_equilibrium_gets_no_slice():
    net62 = Network((1, 1, 1), [1.0])
    w1 = np.sqrt((0.5 + np.sqrt(0.25 + 4)) / 2)                   # (64) on the leaf c = 0.5
    s62 = bordered_spec(net62, [w1, 1 / w1], slice=True)
    assert s62.variables == ["w1", "w2", "xmu1"] and s62.metadata["slice"]["dimension"] == 0
    assert s62.rhs == bordered_spec(net62, [w1, 1 / w1]).rhs


def test_slice_bad_input():
    net, C, comp = _reference_minimum()
    with pytest.raises(ValueError, match="^x_eq: expected 6 values"):
        bordered_spec(net, comp.point[:4], slice=True)
    with pytest.raises(ValueError, match="^x_eq: contains NaN"):
        slice_basis(net, np.full(6, np.nan))
    x_off = comp.point + 1e-3 * np.arange(6)                      # not an equilibrium
    with pytest.raises(ValueError, match=r"^x_eq: not an equilibrium of the flow \(\|f\(x_eq\)\| = "):
        bordered_spec(net, x_off, parameter="s1", slice=True)
    with pytest.raises(ValueError, match="^x_eq: not an equilibrium"):
        slice_basis(net, x_off)
    bordered_spec(net, x_off, parameter="s1")                     # without the slice x_eq is only a start
    with pytest.raises(ValueError, match="^net: expected a dlnsys.Network"):
        slice_basis("2,2,1", comp.point)


def test_cli_emit_slice(tmp_path, capsys):
    rc = main(["emit", "--dims", "2,2,1", "--sigma", "1.5", "--ics", "0.5,0.1,-0.3,0.8,1.0,0.2", "--continuation",
               "s1", "--form", "bordered", "--slice", "--target", "json", "-o", str(tmp_path)])
    assert rc == 0
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ["dln_bord.json"]            # no temporary file left behind
    spec = dlnsys.load_spec(files[0])
    assert spec.variables[-1] == "xnu1" and spec.metadata["slice"]["dimension"] == 1
    net = Network([2, 2, 1], [1.5])
    x = np.asarray(spec.initial[:6])
    assert np.linalg.norm(net.vector_field(x)) <= 1e-9                 # the start is an equilibrium
    assert np.allclose(net.product(x), [[1.5, 0.0]], atol=1e-9)       # ... a global minimum
    assert np.linalg.norm(spec.evaluator().rhs(np.asarray(spec.initial, float))) <= 1e-9
    for argv in (["--dims", "2,2,1", "--sigma", "1.5", "--slice"],                         # no continuation
                 ["--system", "paper-62", "--continuation", "c1", "--slice"],              # leaf-reduced
                 ["--dims", "2,2,1", "--sigma", "1.5", "--reduction", "logistic", "--continuation", "s1",
                  "--slice"]):
        capsys.readouterr()
        rc = main(["emit", *argv, "--target", "json", "-o", str(tmp_path / "b")])
        assert rc == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("dlnsys: error: --slice: applies to bordered"), err
    assert not (tmp_path / "b").exists()


def _check_points(net, C, comp, s_values, X):
    """Every continued point: an equilibrium of the flow at its sigma, a global minimum (W2 W1 = [s, 0]),
    on the leaf, in the slice; the multipliers (when given) vanish."""
    t = comp.tangent_basis[:, 0]
    assert len(s_values) == len(X) > 0
    for s, x in zip(s_values, X):
        w = x[:6]
        n2 = net.with_(sigma=[s])
        assert np.linalg.norm(n2.vector_field(w)) <= 1e-8
        assert np.allclose(n2.product(w), [[s, 0.0]], atol=1e-8)
        for a, b in zip(dlnsys.leaf_of(net, w), C):
            assert np.allclose(a, b, atol=1e-8)
        assert abs(t @ (w - comp.point)) <= 1e-8
        assert np.max(np.abs(x[6:]), initial=0.0) <= 1e-8                 # mu and nu vanish


@pytest.mark.external
def test_auto_follows_the_sliced_minimum_in_sigma_without_spurious_points():
    from dlnsys.emit import _runner
    auto_dir, reason = _runner.find_auto()
    if auto_dir is None:
        missing(reason)
    net, C, comp = _reference_minimum()
    plain = _runner.run_auto(bordered_spec(net, comp.point, parameter="s1"), parameter="s1",
                             parameter_range=S_RANGE)
    spurious = [sp for sp in plain.special_points() if sp.type in ("LP", "BP")]
    spec = bordered_spec(net, comp.point, parameter="s1", slice=True)
    # AUTO prints every weight at every computed point when they are monitored aux outputs
    weights = [f"vw{i + 1}" for i in range(6)]
    spec = dataclasses.replace(spec, aux=spec.aux + [(v, f"w{i + 1}") for i, v in enumerate(weights)])
    res = _runner.run_auto(spec, parameter="s1", parameter_range=S_RANGE, monitor=["pi1", "pi2", "pi3"] + weights)
    s = res.column("s1")
    print(f"\nAUTO in s1 on a curve of minima of Network([2,2,1]): without the slice {len(spurious)} LP/BP "
          f"({[sp.type for sp in spurious]}); with it {len(s)} points, special points "
          f"{[sp.type for sp in res.special_points()]}")
    assert spurious                                           # the contrast: singular without the slice
    assert res.bifurcations() == []
    assert [sp.type for sp in res.special_points()] == ["EP", "UZ", "EP", "UZ"]
    ends = sorted(sp.value for sp in res.special_points("UZ"))
    assert ends == pytest.approx(list(S_RANGE), abs=1e-6)
    assert s.min() == pytest.approx(S_RANGE[0], abs=1e-6) and s.max() == pytest.approx(S_RANGE[1], abs=1e-6)
    # along the branch (every point of the b-file; AUTO prints 11 significant digits)
    cvec = conserved_vector(net, comp.point)
    for k in range(3):
        assert np.max(np.abs(res.column(f"pi{k + 1}") - cvec[k])) <= 1e-8
    X = np.column_stack([res.column(v) for v in weights])
    _check_points(net, C, comp, s, X)
    # full states at the labelled points (the s-file, full precision): mu and nu vanish there too
    pts = [sp for sp in res.special_points() if sp.state is not None]
    assert len(pts) == 4
    _check_points(net, C, comp, [sp.value for sp in pts], [np.asarray(sp.state) for sp in pts])


@pytest.mark.external
def test_pycont_follows_the_sliced_minimum_in_sigma_without_spurious_points():
    from dlnsys.emit import _runner
    py, reason = _runner.find_pydstool_python()
    if py is None:
        missing(reason)
    net, C, comp = _reference_minimum()
    plain = _runner.run_pydstool(bordered_spec(net, comp.point, parameter="s1", parameter_range=S_RANGE))
    spurious = [sp["type"] for sp in plain["special_points"] if sp["type"] in ("LP", "BP")]
    spec = bordered_spec(net, comp.point, parameter="s1", slice=True, parameter_range=S_RANGE)
    res = _runner.run_pydstool(spec)
    assert res["mode"] == "continuation" and res["parameter"] == "s1"
    assert res["variables"] == spec.variables
    s = np.array([p["parameter"] for p in res["points"]])
    X = np.array([p["x"] for p in res["points"]])
    print(f"\nPyCont in s1 on a curve of minima of Network([2,2,1]): without the slice {len(spurious)} LP/BP; "
          f"with it {len(s)} points, s1 in [{s.min():.3f}, {s.max():.3f}], special points "
          f"{[sp['type'] for sp in res['special_points']]}")
    assert spurious                                           # the contrast: singular without the slice
    assert [sp["type"] for sp in res["special_points"]] == ["EP", "EP"]
    assert s.min() == pytest.approx(S_RANGE[0], abs=1e-6) and s.max() == pytest.approx(S_RANGE[1], abs=1e-6)
    _check_points(net, C, comp, s, X)


@pytest.mark.external
def test_xppaut_integrates_the_sliced_system_as_documented(tmp_path):
    """XPPAUT reads the sliced equations (long numeric lines, xnu1) as the documented system."""
    from dlnsys.emit.xppaut import MAX_LINE, write_xppaut
    xpp = require_tool("xppaut")
    net, C, comp = _reference_minimum()
    x_ref = comp.point
    spec = bordered_spec(net, x_ref, parameter="s1", slice=True)
    z0 = np.asarray(spec.initial, float) + 0.01 * np.random.default_rng(2).normal(size=10)
    spec = dataclasses.replace(spec, initial=[float(v) for v in z0])
    ode = tmp_path / f"{spec.name}.ode"
    write_xppaut(spec, ode, t_end=0.5, dt=0.5)
    assert max(len(line) for line in ode.read_text().splitlines()) <= MAX_LINE
    proc = subprocess.run([xpp, ode.name, "-silent"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = proc.stdout + proc.stderr
    assert "illegal" not in log.lower() and "error" not in log.lower(), log[-2000:]
    dat = np.atleast_2d(np.loadtxt(tmp_path / "output.dat"))
    T, cvals = slice_basis(net, x_ref), conserved_vector(net, x_ref)
    ref = solve_ivp(lambda t, z: _documented_rhs(net, x_ref, T, cvals, z), (0.0, 0.5), z0, method="DOP853",
                    rtol=1e-13, atol=1e-13).y[:, -1]
    assert dat[-1, 0] == pytest.approx(0.5)
    # XPPAUT's CVODE (tol 1e-12) writes 8 significant digits: 1e-6 relative as in test_emit_xppaut.py
    assert np.max(np.abs(dat[-1, 1:11] - ref)) / max(1.0, np.max(np.abs(ref))) <= 1e-6
