"""PyRates models (``dlnsys emit --target pyrates``, ``models/pyrates/``) and continuation through
PyCoBi/AUTO-07p (``dlnsys.continuation(..., backend="pycobi")``), checked by the real tools.

Oracles:

* the exact fold of the regularized logistic (61)+(25), ``z' = z^(h-1)(s - z^h) - g z``. Its
  nonzero equilibria satisfy ``g = G(z) = s z^(h-2) - z^(2h-2)``; ``G'(z) = 0`` gives
  ``(h-2) s z^(h-3) = (2h-2) z^(2h-3)``, i.e. ``z_LP^h = (h-2) s / (2h-2)`` (h >= 3), and then
  ``g_LP = z_LP^(h-2) (s - z_LP^h) = s z_LP^(h-2) h / (2h-2)``. For h = 3: ``(3/4) s (s/4)^(1/3)``
  (0.4724703937 for s = 1). Required: PyCoBi within 1e-6 (issue 14); AUTO's s-file keeps 11
  significant digits and ``EPSS = 1e-9``, so it actually lands within ~1e-9.
* (64) for the branch of (62) in the leaf constant: ``w1 = sqrt((c + sqrt(c^2 + 4 s^2)) / 2)``, ``w2 = s / w1``.
* dlnsys's own continuation, point for point: the built-in corrector started at every PyCoBi point
  (``continuation(..., x0=point, p_from=its parameter, max_steps=1)``) must stay there (to 1e-8:
  AUTO prints 11 significant digits), with the same stability label.

Without PyCoBi/PyRates/AUTO-07p the tool tests skip with the reason, and fail under ``CI=true``.
PyRates code generation takes seconds per model: each model is built once per session.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from _external import missing

from dlnsys import Network
from dlnsys.cli import main
from dlnsys.continuation import LogisticSystem, continuation
from dlnsys.emit.catalog import catalog_specs
from dlnsys.emit.generators import logistic_spec, paper_spec
from dlnsys.emit.pyrates import generate_pyrates, unsafe_name, write_pyrates
from dlnsys.emit.spec import OdeSpec, OverwriteError

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
PYRATES_SPECS = [s for s, targets in catalog_specs() if "pyrates" in targets]


def exact_fold(sigma, h):
    """(gamma_LP, z_LP) of the regularized logistic, derived in the module docstring."""
    z = ((h - 2) * sigma / (2 * h - 2)) ** (1.0 / h)
    return sigma * z ** (h - 2) * h / (2 * h - 2), z


# ------------------------------------------------------------------ pure tests (no tools)
def test_exact_fold_formula_matches_the_paper_and_reductions():
    assert exact_fold(1.0, 3)[0] == pytest.approx(0.75 * 0.25 ** (1 / 3), rel=1e-15)
    from dlnsys.reductions import logistic_fold
    for s, h in ((1.0, 3), (2.5, 3), (0.7, 4), (1.5, 5)):
        g, z = exact_fold(s, h)
        assert logistic_fold(s, h)[0] == pytest.approx(g, rel=1e-12)
        # the fold is an equilibrium with zero derivative
        sysm = LogisticSystem(h, s, g)
        assert abs(sysm.vector_field(z)) <= 1e-14 and abs(sysm.derivative(z)) <= 1e-13


def test_generate_pyrates_layout_and_determinism():
    spec = paper_spec("62")
    text = generate_pyrates(spec)
    assert text == generate_pyrates(spec)
    assert text.startswith("%YAML 1.2\n---\n")
    for needle in ("paper62_op:\n  base: OperatorTemplate", "paper62_node:\n  base: NodeTemplate",
                   "paper62:\n  base: CircuitTemplate", "    p: paper62_node", "w1: output(", "w2: variable(",
                   '"d/dt * w1 = ', "s1: 1.0"):
        assert needle in text, needle
    # names exactly as DESIGN.md: state order, parameters
    lg = generate_pyrates(logistic_spec([2.0], 3, continuation="gam"))
    assert "gam: 0.0" in lg and "s1: 2.0" in lg and "continuation: parameter gam" in lg
    assert "loss" not in generate_pyrates(spec, aux=False)


def test_pyrates_refuses_maps_and_unsafe_names_and_renames_intermediates():
    gd = [s for s, _ in catalog_specs() if s.kind == "map"][0]
    with pytest.raises(ValueError, match="ODEs only"):
        generate_pyrates(gd)
    assert unsafe_name("E") and unsafe_name("beta") and unsafe_name("y") and unsafe_name("li")
    assert not unsafe_name("w01") and not unsafe_name("gam") and not unsafe_name("xmu1")
    bad = OdeSpec(name="bad", kind="ode", variables=["S"], initial=[0.0], parameters={"s1": 1.0},
                  intermediates=[], rhs=["s1-S"])
    with pytest.raises(ValueError, match="variables: 'S'"):
        generate_pyrates(bad)
    ok = OdeSpec(name="ok", kind="ode", variables=["x1"], initial=[0.0], parameters={"s1": 1.0},
                 intermediates=[("li", "s1-x1")], rhs=["li*x1"], aux=[("E1", "x1")])
    text = generate_pyrates(ok)
    assert '"li_p = s1-x1"' in text and '"d/dt * x1 = li_p*x1"' in text and "E1_p" in text


def test_catalog_names_are_safe_for_the_installed_sympy():
    """The static list in dlnsys.emit._pyrates_names against the SymPy that PyRates will use."""
    try:
        import sympy
    except ImportError:
        missing("sympy is not installed (it comes with the pycobi extra: pip install 'dlnsys[pycobi]')")
    for spec in PYRATES_SPECS:
        for nm in spec.symbols():
            v = sympy.sympify(nm)
            assert isinstance(v, sympy.Symbol) and v.name == nm, (spec.name, nm)


def test_write_pyrates_refuses_overwrite(tmp_path):
    spec = paper_spec("62")
    p = tmp_path / "paper62.yaml"
    write_pyrates(spec, p)
    assert p.read_text() == generate_pyrates(spec)
    with pytest.raises(OverwriteError):
        write_pyrates(spec, p)
    write_pyrates(spec, p, force=True)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_committed_pyrates_files_are_the_writer_output():
    for spec in PYRATES_SPECS:
        with open(os.path.join(ROOT, "pyrates", spec.name + ".yaml"), encoding="utf-8") as fh:
            assert fh.read() == generate_pyrates(spec), spec.name


def test_double_literals(tmp_path):
    from dlnsys._pycobi import _double_literals
    f = tmp_path / "m.f90"
    f.write_text("y(1) = 0.5502505227  ! w1\ndy(1) = r1_1_1*w2 + 2.0*w1 - 1.5e-3*x + 3.d0 + .5\nargs(2) = -3.0E+01\n")
    _double_literals(f)
    assert f.read_text() == ("y(1) = 0.5502505227d0  ! w1\ndy(1) = r1_1_1*w2 + 2.0d0*w1 - 1.5d-3*x + 3.d0 + .5d0\n"
                             "args(2) = -3.0d+01\n")


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend: expected 'builtin' or 'pycobi', got 'auto'"):
        continuation(LogisticSystem(3, 1.0), [1.0], param="gamma", p_to=1.0, backend="auto")


def test_cli_unknown_backend(capsys):
    assert main(["continue", "--system", "logistic", "--depth", "3", "--sigma", "1", "--param", "gamma",
                 "--to", "1", "--backend", "auto"]) == 2
    err = capsys.readouterr().err
    assert "--backend" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_pycobi_missing_is_one_line_naming_the_fix(monkeypatch, capsys):
    import sys
    monkeypatch.setitem(sys.modules, "pycobi", None)     # import pycobi -> ImportError
    with pytest.raises(ValueError, match=r"pip install 'dlnsys\[pycobi\]'"):
        continuation(LogisticSystem(3, 1.0), [1.0], param="gamma", p_to=1.0, backend="pycobi")
    assert main(["continue", "--system", "logistic", "--depth", "3", "--sigma", "1", "--param", "gamma",
                 "--x0", "1", "--to", "1", "--backend", "pycobi"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'dlnsys[pycobi]'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_emit_cli_pyrates_target(tmp_path, capsys):
    assert main(["emit", "--system", "paper-62", "--continuation", "c1", "--target", "pyrates",
                 "-o", str(tmp_path)]) == 0
    assert (tmp_path / "leaf62.yaml").read_text().startswith("%YAML 1.2")


# ------------------------------------------------------------------ the real tools
@pytest.fixture(scope="module")
def tools():
    from dlnsys import _pycobi
    ok, reason = _pycobi.available()
    if not ok:
        missing(reason)
    return _pycobi


@pytest.fixture(scope="module")
def pyrates_runs(tmp_path_factory, tools):
    """Each catalog model built and simulated once by PyRates (the slow part: code generation)."""
    import contextlib
    import io

    from pyrates import CircuitTemplate, clear_frontend_caches
    out = {}
    base = tmp_path_factory.mktemp("pyrates")
    for spec in PYRATES_SPECS:
        shutil.copy(os.path.join(ROOT, "pyrates", spec.name + ".yaml"), base / (spec.name + ".yaml"))
        outputs = {v: f"p/{spec.name}_op/{v}" for v in spec.variables}
        with contextlib.redirect_stdout(io.StringIO()):
            c = CircuitTemplate.from_yaml(f"{base}/{spec.name}/{spec.name}")
            res = c.run(simulation_time=1.0, step_size=1e-3, sampling_step_size=0.1, outputs=outputs,
                        solver="scipy", method="LSODA", rtol=1e-10, atol=1e-12)
        out[spec.name] = res
        clear_frontend_caches()
    return out


@pytest.mark.external
@pytest.mark.parametrize("spec", PYRATES_SPECS, ids=lambda s: s.name)
def test_models_load_and_simulate_in_pyrates(pyrates_runs, spec):
    from scipy.integrate import solve_ivp
    res = pyrates_runs[spec.name]
    t = np.asarray(res.index, dtype=float)
    assert len(t) >= 10 and t[0] == 0.0 and abs(t[-1] - 0.9) < 1e-9
    ev = spec.evaluator()
    ref = solve_ivp(lambda _, x: ev.rhs(x), (0.0, t[-1]), spec.initial, method="DOP853", rtol=1e-13, atol=1e-15,
                    t_eval=t).y.T
    got = res[spec.variables].to_numpy()
    # PyRates runs LSODA at rtol 1e-10 (DOP853 at 1e-12 took 9-35 s per small model through PyRates'
    # generated right-hand side); its global error over t <= 1 measured up to 4.4e-8 (sec61). 1e-6 is
    # far below what a wrong term or a wrong parameter gives (O(1e-2) at t = 0.1 for these models).
    assert np.all(np.abs(got - ref) <= 1e-6 * np.maximum(1.0, np.abs(ref))), np.max(np.abs(got - ref))


def _check_against_builtin(b, system, *, leaf=None, param, atol=1e-8, skip_special=True):
    """Every point of the PyCoBi branch b, handed to the built-in continuation as its start, is an
    equilibrium there (the built-in Newton stays within atol) with the same stability label."""
    special = {sp.index for sp in b.special_points if sp.type in ("BP", "LP")}
    checked = 0
    for k in range(len(b)):
        if skip_special and k in special:
            continue          # the built-in refuses to start at a branch point (not a curve there)
        p = b.parameter[k]
        x0 = b.states[k]
        one = continuation(system, x0, param=param, p_from=p, p_to=p + 1e-6, leaf=leaf, max_steps=1,
                           step=1e-6, switch=False)
        assert one.parameter[0] == p
        assert np.max(np.abs(one.states[0] - x0)) <= atol * max(1.0, np.max(np.abs(x0))), (k, p)
        # at points where an eigenvalue crosses zero the labels may legitimately differ by rounding
        if b.stability[k] != "neutral" and one.stability[0] != "neutral":
            assert one.stability[0] == b.stability[k], (k, p)
        checked += 1
    assert checked >= len(b) - len(special)


@pytest.mark.external
@pytest.mark.parametrize("sigma,h", [(1.0, 3), (2.5, 3), (0.7, 4), (1.5, 5)])
def test_pycobi_regularized_logistic_fold(tools, sigma, h):
    g_lp, z_lp = exact_fold(sigma, h)
    z0 = sigma ** (1.0 / h)        # near the nonzero equilibrium at gamma = -0.2 g_lp (Newton corrects it)
    # from below 0: the branch folds at g_lp, returns through the BP with z = 0 at gamma = 0 and ends at
    # -0.2 g_lp (a range end at gamma = 0 would put the BP exactly on it)
    kw = dict(param="gamma", p_from=-0.2 * g_lp, p_to=1.5 * g_lp, step=0.05 * g_lp)
    b = continuation(LogisticSystem(h, sigma), [z0], backend="pycobi", **kw)
    ref = continuation(LogisticSystem(h, sigma), [z0], **kw)
    lps = b.points("LP")
    # odd h: the branch ends on z < 0 at the range end; even h: G(-z) = G(z), so it folds again at -z_LP
    expected = ["LP", "BP", "EP"] if h % 2 else ["LP", "BP", "LP", "EP"]
    assert [sp.type for sp in b.special_points] == expected
    assert [sp.type for sp in ref.special_points] == expected       # the built-in agrees (no LP at the BP)
    assert abs(b.points("BP")[0].parameter) <= 1e-8
    for sp in b.points("LP"):       # every fold AUTO finds, dlnsys finds too
        assert abs(sp.parameter - g_lp) <= 1e-6 and abs(abs(sp.state[0]) - z_lp) <= 1e-5
        assert min(abs(r.parameter - sp.parameter) + abs(r.state[0] - sp.state[0]) for r in ref.points("LP")) <= 1e-5
    assert abs(lps[0].parameter - g_lp) <= 1e-6, lps[0].parameter - g_lp          # issue 14: to 1e-6
    assert abs(lps[0].state[0] - z_lp) <= 1e-5                        # z is flat in gamma at a fold
    assert abs(lps[0].parameter - ref.points("LP")[0].parameter) <= 1e-6
    assert lps[0].stability == ref.points("LP")[0].stability == ("stable", "unstable")
    # both end where the branch leaves [0, 1.5 g_lp] again, past the fold
    assert b.status == ref.status == "ok"
    assert abs(b.parameter[-1] - ref.parameter[-1]) <= 1e-6
    _check_against_builtin(b, LogisticSystem(h, sigma), param="gamma")


@pytest.mark.external
def test_pycobi_branch_point_and_switching_h2(tools):
    """h = 2 from z = 0 at gamma = 2: BP at gamma = sigma, switched branches z^2 = sigma - gamma."""
    sysm = LogisticSystem(2, 1.0, 2.0)
    b = continuation(sysm, [0.0], param="gamma", p_to=0.0, backend="pycobi")
    ref = continuation(sysm, [0.0], param="gamma", p_to=0.0)
    bps = b.points("BP")
    assert len(bps) == 1 and abs(bps[0].parameter - 1.0) <= 1e-8
    assert abs(bps[0].parameter - ref.points("BP")[0].parameter) <= 1e-8
    assert len(bps[0].branches) == 2
    ends = sorted(float(sb.states[-1, 0]) for sb in bps[0].branches)
    assert np.allclose(ends, [-1.0, 1.0], atol=1e-8)
    for sb in bps[0].branches:
        assert np.max(np.abs(sb.states[:, 0] ** 2 - (1.0 - sb.parameter))) <= 1e-9
        assert all(s == "stable" for s in sb.stability[1:])
    _check_against_builtin(b, sysm, param="gamma")


@pytest.mark.external
def test_pycobi_branch_of_62_in_the_leaf_constant(tools):
    net = Network((1, 1, 1), [1.0])
    b = continuation(net, param="c1", p_from=-3.0, p_to=3.0, step=0.1, backend="pycobi")
    assert b.formulation == "bordered" and b.status == "ok"
    assert b.parameter[0] == -3.0 and abs(b.parameter[-1] - 3.0) <= 1e-9
    assert [sp.type for sp in b.special_points] == ["EP"]           # no folds, no branch points
    c = b.parameter
    w1 = np.sqrt((c + np.sqrt(c ** 2 + 4.0)) / 2.0)                   # (64)
    assert np.max(np.abs(b.states[:, 0] - w1)) <= 1e-9 and np.max(np.abs(b.states[:, 1] - 1.0 / w1)) <= 1e-9
    assert np.max(np.abs(b.multipliers)) <= 1e-9
    assert all(s == "stable" for s in b.stability)
    ref = continuation(net, param="c1", p_from=-3.0, p_to=3.0, step=0.1)
    assert ref.status == "ok" and ref.laws == b.laws
    _check_against_builtin(b, net, param="c1")


@pytest.mark.external
def test_pycobi_bordered_leaf_problem_of_a_non_scalar_network(tools):
    """dims (1, 2, 1): 4 weights, 3 laws (C_1 is 2x2 symmetric), isolated equilibria on each leaf."""
    net = Network((1, 2, 1), [1.0])
    leaf = [np.array([[0.3, 0.1], [0.1, -0.2]])]
    b = continuation(net, param="c1", leaf=leaf, p_to=1.5, step=0.1, backend="pycobi")
    ref = continuation(net, param="c1", leaf=leaf, p_to=1.5, step=0.1)
    assert b.status == ref.status == "ok" and b.laws == ref.laws == [0, 1, 2]
    assert b.parameter[0] == pytest.approx(0.3, abs=1e-12) and abs(b.parameter[-1] - 1.5) <= 1e-9
    assert np.max(np.abs(b.multipliers)) <= 1e-9
    assert np.max(np.abs(b.states[-1] - ref.states[-1])) <= 1e-8
    # the other leaf constants stay put along the branch
    from dlnsys.invariants import conserved_vector
    for k in range(len(b)):
        cv = conserved_vector(net, b.states[k])
        assert np.allclose(cv, [b.parameter[k], 0.1, -0.2], atol=1e-9)
    _check_against_builtin(b, net, leaf=leaf, param="c1")


@pytest.mark.external
def test_cli_continue_backend_pycobi(tools, capsys):
    assert main(["continue", "--system", "logistic", "--depth", "3", "--sigma", "1", "--param", "gamma",
                 "--from", "-0.5", "--to", "1", "--x0", "1", "--backend", "pycobi"]) == 0
    out = capsys.readouterr().out
    assert "PyCoBi/AUTO-07p" in out and "LP at gamma = 0.472470393" in out


@pytest.mark.external
def test_readme_pycobi_snippet_runs(tools, tmp_path, monkeypatch):
    """The README's PyCoBi example (a ```py block, so test_readme does not need PyCoBi) runs as written."""
    import re
    text = open(os.path.join(os.path.dirname(ROOT), "README.md"), encoding="utf-8").read()
    code = re.findall(r"```py\n(.*?)```", text, flags=re.S)
    assert len(code) == 1 and 'backend="pycobi"' in code[0]
    try:
        import matplotlib  # noqa: F401 - the README snippet draws with it
    except ImportError:
        missing("matplotlib is not installed (it comes with the pycobi extra: pip install 'dlnsys[pycobi]')")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    exec(compile(code[0], "README.md", "exec"), {"__name__": "__readme__"})
    assert (tmp_path / "logistic_fold.png").stat().st_size > 1000
