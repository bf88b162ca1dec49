"""PyDSTool writer: the emitted Python 3.9 scripts, checked by PyDSTool itself.

The cross-checks run the scripts with the interpreter of ``DLNSYS_PYDSTOOL_PYTHON`` (or
``./.venv39``); without it they skip with the reason, except under ``CI=true`` where a
missing tool is a failure.
"""
from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from _external import missing

from dlnsys import Network
from dlnsys.emit.generators import (bordered_spec, chain_leaf_spec, chain_spec, network_spec, paper_spec,
                                    section61_network)
from dlnsys.emit.pydstool import generate_pydstool, write_pydstool
from dlnsys.emit.spec import JacobianSpec, OdeSpec, render

def _require(ok, reason):
    """A missing tool fails under CI=true and skips (with the reason) otherwise."""
    if not ok:
        missing(reason)


@pytest.fixture(scope="module")
def runner():
    from dlnsys.emit import _runner
    py, reason = _runner.find_pydstool_python()
    _require(py is not None, reason)
    return _runner


def _reference(net, x0, t_final, times=None):
    """dlnsys's own integration at tight tolerances (DOP853, rtol 1e-12): the final state, or
    the states at ``times``."""
    from dlnsys.simulate import simulate
    t_eval = None if times is None else np.asarray(times, dtype=float)
    tr = simulate(net, np.asarray(x0, float), t_final, method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t_eval)
    return tr.final if times is None else tr.x


def _rel_err(x, ref):
    x, ref = np.asarray(x), np.asarray(ref)
    return float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-300))


# ------------------------------------------------------------------ pure tests
def _script_top(text):
    return ast.parse(text).body


def test_script_is_literals_and_model_code():
    """Top level: allowed imports, literal assignments, function definitions and the main guard;
    nothing anywhere calls eval/exec/compile/__import__ or spawns processes."""
    text = generate_pydstool(paper_spec("66"))
    tree = ast.parse(text)
    allowed_imports = {"argparse", "json", "os", "sys", "time", "numpy", "PyDSTool"}
    for node in tree.body:
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= allowed_imports
        elif isinstance(node, ast.Assign):
            ast.literal_eval(node.value)        # raises if not a plain literal
        elif isinstance(node, ast.FunctionDef):
            pass
        elif isinstance(node, ast.If):
            assert ast.unparse(node.test) == "__name__ == '__main__'"
        else:
            raise AssertionError(f"unexpected top-level statement: {ast.unparse(node)[:80]}")
    banned = {"eval", "exec", "compile", "__import__", "system", "popen", "Popen", "run", "remove", "rmtree",
              "unlink"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            assert fname not in banned, ast.unparse(node)
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= allowed_imports
        if isinstance(node, ast.ImportFrom):       # the installed PyDSTool version, for the result
            assert node.module == "importlib" and [a.name for a in node.names] == ["metadata"]


def _script_values(text):
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def test_reuseterms_in_dependency_order_and_rhs_in_helper_names():
    spec = network_spec(Network((3, 2, 2, 2), [2.0, 1.0]), name="net3")
    vals = _script_values(generate_pydstool(spec))
    known = set(vals["VARIABLES"]) | set(vals["PARAMETERS"]) | {"pow", "sqrt", "exp", "log"}
    for expr, name in vals["REUSE"]:
        used = set(_NAME.findall(expr))
        assert used <= known, (name, used - known)
        known.add(name)
    assert len(vals["REUSE"]) == len(spec.intermediates) + len(spec.jacobian.intermediates)
    inter_names = {n for _, n in vals["REUSE"]}
    for i, (v, rhs) in enumerate(vals["RHS"].items()):
        assert set(_NAME.findall(rhs)) <= known
        # written in helper names: the spec's right-hand side as is (no intermediate inlined)
        assert rhs == render(spec.rhs[i], power="pow")
        assert set(_NAME.findall(rhs)) & inter_names
    assert list(vals["RHS"]) == spec.variables
    assert set(vals["AUX"]) == {a for a, _ in spec.aux}


def test_jacobian_rows_and_columns_in_sorted_name_order():
    # variables in state order (y, x): PyDSTool reads the matrix in sorted order (x, y)
    spec = OdeSpec(name="perm", kind="ode", variables=["y", "x"], initial=[1.0, 2.0], parameters={"a": 3.0},
                   intermediates=[], rhs=["a*y", "y*x"],
                   jacobian=JacobianSpec([], [(0, 0, "a"), (1, 0, "x"), (1, 1, "y")]))
    vals = _script_values(generate_pydstool(spec))
    rows = ast.literal_eval(vals["JACOBIAN"].replace("a", "'a'").replace("x", "'x'").replace("y", "'y'"))
    # sorted order (x, y): d x'/dx = y, d x'/dy = x, d y'/dx = 0, d y'/dy = a
    assert rows == [["y", "x"], [0, "a"]]


def test_generate_is_deterministic_and_options():
    spec = paper_spec("62")
    a = generate_pydstool(spec, integrator="dopri", t_final=3.0, rtol=1e-11, atol=1e-13)
    assert a == generate_pydstool(spec, integrator="dopri", t_final=3.0, rtol=1e-11, atol=1e-13)
    vals = _script_values(a)
    assert (vals["INTEGRATOR"], vals["T_FINAL"], vals["RTOL"], vals["ATOL"]) == ("dopri", 3.0, 1e-11, 1e-13)
    assert "Jacobian_pars" not in a
    assert vals["CONTINUATION"] is None
    with pytest.raises(ValueError, match="integrator"):
        generate_pydstool(spec, integrator="lsoda")
    with pytest.raises(ValueError, match="t_final"):
        generate_pydstool(spec, t_final=-1)
    with pytest.raises(ValueError, match="kind"):
        from dlnsys.emit.generators import gd_map_spec
        generate_pydstool(gd_map_spec(Network((1, 1, 1), [1.0])))
    assert _script_values(generate_pydstool(spec, jacobian=False))["JACOBIAN"] is None


def test_write_refuses_to_overwrite(tmp_path):
    spec = paper_spec("65")
    p = write_pydstool(spec, tmp_path)
    assert p == tmp_path / "paper65.py" and p.read_text() == generate_pydstool(spec)
    with pytest.raises(ValueError, match=re.escape(str(p))):
        write_pydstool(spec, p)
    p.write_text("old")
    with pytest.raises(ValueError, match="exists"):
        write_pydstool(spec, tmp_path)
    assert p.read_text() == "old"
    write_pydstool(spec, p, force=True)
    assert p.read_text() == generate_pydstool(spec)


def test_continuation_block_for_pycont():
    spec = chain_leaf_spec(2, 1.0)
    vals = _script_values(generate_pydstool(spec))
    assert vals["CONTINUATION"]["parameter"] == "c1"
    assert vals["CONTINUATION"]["range"] == list(spec.continuation.parameter_range)
    assert "Jacobian_pars" not in generate_pydstool(spec)


def test_section61_text_stays_compact():
    """Build time of the compiled generators grows with the text; the Section 6.1 model's
    model text (reuse terms + right-hand sides + aux) stays about one spec's size."""
    spec = network_spec(section61_network(), name="sec61")
    vals = _script_values(generate_pydstool(spec))
    body = sum(len(e) + len(n) for e, n in vals["REUSE"]) + sum(len(v) for v in vals["RHS"].values())
    body += sum(len(v) for v in vals["AUX"].values())
    assert vals["JACOBIAN"] is None                      # 198 > JACOBIAN_MAX_VARIABLES
    assert body <= 1.25 * spec.text_size(), (body, spec.text_size())
    assert body < 40_000


# --------------------------------------------------- cross-checks with PyDSTool
_PAPER_T = 5.0


@pytest.mark.external
@pytest.mark.parametrize("integrator", ["vode", "dopri"])
@pytest.mark.parametrize("example", ["62", "65", "66"])
def test_paper_examples_agree_with_dlnsys(runner, example, integrator):
    spec = paper_spec(example)
    net = Network(tuple(spec.metadata["dims"]), spec.metadata["sigma"])
    x0 = np.array(spec.initial)
    inputs = {}
    if example == "66":      # also exercise --ics: a state other than the spec's default
        x0 = np.array([0.3, -0.4, 0.2, 0.5])
        inputs = {"ics": x0.tolist()}
    res = runner.run_pydstool(spec, integrator=integrator, t_final=_PAPER_T, rtol=1e-12, atol=1e-14,
                              inputs=inputs)
    assert res["completed"] and res["t_final"] == pytest.approx(_PAPER_T, abs=1e-9)
    assert res["variables"] == spec.variables
    ref = _reference(net, x0, _PAPER_T)
    err = _rel_err(res["x_final"], ref)
    print(f"\n({example}) {integrator}: build {res['build_s']:.2f} s, run {res['run_s']:.3f} s, "
          f"relative error {err:.2e}")
    assert err <= 1e-6
    assert res["aux_final"]["loss"] == pytest.approx(float(net.loss(ref)), rel=1e-6, abs=1e-12)
    assert res["x"][0] == pytest.approx(x0.tolist(), abs=1e-15)
    # every written sample is a stored point of the integrator (no linear interpolation)
    assert _rel_err(res["x"], _reference(net, x0, _PAPER_T, times=res["t"])) <= 1e-6


@pytest.mark.external
@pytest.mark.slow
@pytest.mark.parametrize("integrator", ["vode", "dopri"])
def test_section61_network_agrees_with_dlnsys(runner, integrator):
    net = section61_network()
    spec = network_spec(net, name="sec61")
    t_final = 4.0
    res = runner.run_pydstool(spec, integrator=integrator, t_final=t_final, dt=0.05, rtol=1e-11, atol=1e-13)
    assert res["completed"]
    ref = _reference(net, spec.initial, t_final)
    err = _rel_err(res["x_final"], ref)
    print(f"\nSection 6.1 ({spec.n} variables, spec {spec.text_size()} chars) {integrator}: "
          f"build {res['build_s']:.1f} s, run {res['run_s']:.2f} s, wall {res['wall_s']:.1f} s, "
          f"relative error {err:.2e}")
    assert err <= 1e-6
    # the run really moved: the loss dropped from its initial value
    assert res["aux_final"]["loss"] < 0.5 * float(net.loss(np.array(spec.initial)))


@pytest.mark.external
@pytest.mark.parametrize("case", ["62", "65", "66", "net332-gamma", "chain4"])
def test_pydstool_jacobian_equals_dlnsys(runner, case):
    if case in ("62", "65", "66"):
        spec = paper_spec(case)
        net = Network(tuple(spec.metadata["dims"]), spec.metadata["sigma"])
    elif case == "net332-gamma":
        net = Network((3, 3, 2), [2.0, 0.7], gamma=0.1)
        spec = network_spec(net, name="net332")
    else:
        spec = chain_spec(4, 1.5)
        net = Network((1,) * 5, [1.5])
    assert spec.jacobian is not None
    rng = np.random.default_rng(7)
    X = rng.normal(size=(4, spec.n))
    res = runner.run_pydstool(spec, inputs={"jacobian-at": X.tolist(), "rhs-at": X.tolist()})
    for x, J, f in zip(X, res["jacobian"], res["rhs"]):
        np.testing.assert_allclose(np.array(J), net.jacobian(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.array(f), net.vector_field(x), rtol=1e-12, atol=1e-12)


@pytest.mark.external
@pytest.mark.parametrize("integrator", ["vode", "dopri"])
def test_reuse_keys_that_occur_inside_right_hand_sides(runner, integrator):
    """An intermediate whose text occurs inside a longer name of a right-hand side (PyDSTool
    would str.replace it), a bare-name intermediate and a duplicate expression; the Jacobian is
    not symmetric, so the C code's column-major layout (dopri: gen.Jacobian runs the compiled
    function) is checked too."""
    spec = OdeSpec(
        name="tricky", kind="ode", variables=["a1", "b", "xa1"], initial=[0.5, -0.3, 0.8],
        parameters={"k": 2.0},
        intermediates=[("q", "a1*b"), ("pp", "xa1"), ("q2", "a1*b"), ("r", "q2*pp+k")],
        rhs=["xa1*b+q", "-pp*r", "q2-xa1*b*k"],
        aux=[("loss", "0.5*(q**2)")],
        jacobian=JacobianSpec([("jb", "xa1*b")], [(0, 0, "b"), (0, 1, "xa1+a1"), (0, 2, "b"),
                                                 (1, 0, "-pp*b*pp"), (1, 1, "-pp*a1*pp"), (1, 2, "-r-pp*q2"),
                                                 (2, 0, "b"), (2, 1, "a1-xa1*k"), (2, 2, "-b*k")]))
    text = generate_pydstool(spec)
    keys = [e for e, _ in _script_values(text)["REUSE"]]
    assert "(a1*b)" in keys and "a1*b" not in keys
    X = np.random.default_rng(3).normal(size=(3, 3))
    res = runner.run_pydstool(spec, integrator=integrator, inputs={"rhs-at": X.tolist(), "jacobian-at": X.tolist()})
    ev = spec.evaluator()
    for x, f, J in zip(X, res["rhs"], res["jacobian"]):
        np.testing.assert_allclose(f, ev.rhs(x), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(J, ev.jacobian(x), rtol=1e-13, atol=1e-14)


@pytest.mark.external
@pytest.mark.parametrize("integrator", ["vode", "dopri"])
def test_names_pydstool_cannot_take_are_renamed(runner, integrator):
    """Legal spec names that break PyDSTool: e<digit> (read as a number or math.e, as in the
    diagonal reduction's residuals e1, e2, ...) and names PyDSTool protects (random)."""
    spec = OdeSpec(name="names", kind="ode", variables=["e2", "w"], initial=[0.4, -0.7],
                   parameters={"random": 1.5}, intermediates=[("e1", "random-e2*w")],
                   rhs=["w*e1", "e2*e1"], aux=[("E5", "0.5*e1**2")],
                   jacobian=JacobianSpec([], [(0, 0, "-w*w"), (0, 1, "e1-e2*w"), (1, 0, "e1-e2*w"),
                                              (1, 1, "-e2*e2")]))
    text = generate_pydstool(spec)
    vals = _script_values(text)
    assert vals["VARIABLES"] == ["n_e2", "w"] and "random_" in vals["PARAMETERS"]
    assert vals["SPEC_NAMES"] == {"n_e2": "e2", "random_": "random", "n_e1": "e1", "n_E5": "E5"}
    X = np.random.default_rng(5).normal(size=(3, 2))
    res = runner.run_pydstool(spec, integrator=integrator, inputs={"rhs-at": X.tolist(), "jacobian-at": X.tolist()})
    ev = spec.evaluator()
    for x, f, J in zip(X, res["rhs"], res["jacobian"]):
        np.testing.assert_allclose(f, ev.rhs(x), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(J, ev.jacobian(x), rtol=1e-13, atol=1e-14)
    res = runner.run_pydstool(spec, integrator=integrator, t_final=1.0, rtol=1e-12, atol=1e-14)
    assert res["variables"] == ["e2", "w"] and set(res["parameters"]) == {"random"}
    net = Network((1, 1, 1), [1.5])
    ref = _reference(net, spec.initial, 1.0)
    assert _rel_err(res["x_final"], ref) < 1e-6
    assert res["aux_final"]["E5"] == pytest.approx(float(net.loss(ref)), rel=1e-6)


def _w64(c, sigma):
    w1 = np.sqrt((c + np.sqrt(c ** 2 + 4 * sigma ** 2)) / 2)
    return w1, sigma / w1


@pytest.mark.external
@pytest.mark.parametrize("form", ["leaf-reduced", "bordered"])
def test_pycont_leaf_continuation_of_62_reproduces_64(runner, form):
    sigma = 1.3
    if form == "leaf-reduced":
        spec = chain_leaf_spec(2, sigma)
    else:
        w1, w2 = _w64(0.5, sigma)
        spec = bordered_spec(Network((1, 1, 1), [sigma]), [w1, w2], parameter="c1")
    lo, hi = spec.continuation.parameter_range
    res = runner.run_pydstool(spec)
    assert res["mode"] == "continuation" and res["parameter"] == "c1"
    c = np.array([p["parameter"] for p in res["points"]])
    X = np.array([p["x"] for p in res["points"]])
    w1, w2 = _w64(c, sigma)
    if form == "leaf-reduced":               # the variable is w2; w1 = sqrt(c + w2^2) on the leaf
        err = np.max(np.abs(X[:, 0] - w2))
    else:
        err = max(np.max(np.abs(X[:, 0] - w1)), np.max(np.abs(X[:, 1] - w2)))
        assert np.max(np.abs(X[:, 2])) < 1e-9          # the multiplier vanishes at solutions
    print(f"\nPyCont EP-C ({form}) on the leaf of (62): {len(c)} points, c in [{c.min():.3f}, {c.max():.3f}], "
          f"max |w - (64)| = {err:.2e}, {res['run_s']:.2f} s")
    assert err < 1e-8
    assert c.min() == pytest.approx(lo, abs=1e-6) and c.max() == pytest.approx(hi, abs=1e-6)
    bif = [sp for sp in res["special_points"] if sp["type"] not in ("EP",)]
    assert bif == []                                      # no fold/branch/Hopf point on the leaf
    if form == "leaf-reduced":                            # isolated, hyperbolic and stable on the leaf
        assert {p["stability"] for p in res["points"]} == {"S"}
        lam = np.array([p["eigenvalues_real"][0] for p in res["points"]])
        np.testing.assert_allclose(lam, -(sigma ** 2 + w1 ** 4) / w1 ** 2, rtol=1e-6)


@pytest.mark.external
@pytest.mark.slow
def test_radau_generator_builds_and_agrees(runner):
    spec = paper_spec("65")
    net = Network((1, 1, 1, 1), [1.0])
    res = runner.run_pydstool(spec, integrator="radau", t_final=_PAPER_T, rtol=1e-12, atol=1e-14)
    err = _rel_err(res["x_final"], _reference(net, spec.initial, _PAPER_T))
    print(f"\n(65) radau: build {res['build_s']:.1f} s, run {res['run_s']:.3f} s, relative error {err:.2e}")
    assert res["completed"] and err <= 1e-6


@pytest.mark.external
def test_script_runs_unchanged_from_the_command_line(runner, tmp_path):
    """The written file, run as `python model.py --out result.json` in its own directory."""
    import json
    import subprocess
    py, _ = runner.find_pydstool_python()
    spec = paper_spec("62")
    path = write_pydstool(spec, tmp_path)
    proc = subprocess.run([py, path.name, "--out", "r.json", "--t-final", "2"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["mode"] == "integrate" and res["completed"] and res["t_final"] == pytest.approx(2.0)
    net = Network((1, 1, 1), [1.0])
    assert _rel_err(res["x_final"], _reference(net, spec.initial, 2.0)) < 1e-6
