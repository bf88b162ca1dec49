"""XPPAUT writer: text checks, limits, and real ``xppaut FILE.ode -silent`` runs against dlnsys.

Agreement target: 1e-6 relative on the state at the final time. XPPAUT's CVODE runs at
tol = atol = 1e-12 and writes 8 significant digits, so the observed agreement is ~1e-8; the
reference is scipy's DOP853 at rtol = atol = 1e-13 on ``net.vector_field``.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from _external import require_tool
from dlnsys import Network
from dlnsys import reductions as red
from dlnsys.emit import generators as g
from dlnsys.emit.xppaut import MAX_LINE, generate_xppaut, write_xppaut


def run_xpp(spec, tmp_path, **opts):
    xpp = require_tool("xppaut")
    ode = tmp_path / f"{spec.name}.ode"
    write_xppaut(spec, ode, **opts)
    proc = subprocess.run([xpp, ode.name, "-silent"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = proc.stdout + proc.stderr
    assert "illegal" not in log.lower() and "error" not in log.lower(), log[-2000:]
    out = tmp_path / "output.dat"
    assert out.is_file(), log[-2000:]
    return np.atleast_2d(np.loadtxt(out))


def reference(f, x0, T):
    sol = solve_ivp(lambda t, x: f(x), (0.0, T), np.asarray(x0, float), method="DOP853", rtol=1e-13, atol=1e-13)
    assert sol.success
    return sol.y[:, -1]


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / max(1.0, np.max(np.abs(b)))


# ------------------------------------------------------------------ text
def test_text_layout_and_determinism():
    spec = g.paper_spec("62")
    text = generate_xppaut(spec, t_end=5.0, dt=0.5)
    assert text == generate_xppaut(spec, t_end=5.0, dt=0.5)
    lines = text.splitlines()
    assert "par s1=1.0" in lines and "init w1=0.6, w2=0.3" in lines
    assert "r1_1_1=s1-w2*w1" in lines
    assert "w1'=w2*r1_1_1" in lines and "w2'=r1_1_1*w1" in lines
    assert "aux loss=0.5*r1_1_1^2" in lines
    assert any(l.startswith("@ meth=cvode") and "tol=1e-10" in l and "total=5.0" in l for l in lines)
    assert lines[-1] == "done"
    assert all(len(l) <= MAX_LINE for l in lines)


def test_map_text():
    spec = g.gd_map_spec(Network((1, 1, 1), [1.0]), 0.1, [0.6, 0.3])
    text = generate_xppaut(spec, t_end=50)
    assert "w1(t+1)=w1+eta*w2*r1_1_1" in text and "meth=discrete" in text


def test_limits():
    big = g.diagonal_spec(np.linspace(3.0, 1.0, 400), 5)        # 2000 variables
    with pytest.raises(ValueError, match="1948"):
        generate_xppaut(big)
    wide = g.network_spec(Network((3, 90, 3), [3.0, 2.0, 1.0], gamma=0.05))
    text = generate_xppaut(wide)
    assert max(len(l) for l in text.splitlines()) <= MAX_LINE
    assert "xw1=" in text                      # long sums split over temporaries
    for bad in ({"output": "../x.dat"}, {"output": "a b"}, {"t_end": -1.0}, {"method": "shell"}, {"maxstor": 0}):
        with pytest.raises(ValueError):
            generate_xppaut(g.paper_spec("62"), **bad)


def test_no_overwrite(tmp_path):
    p = tmp_path / "m.ode"
    write_xppaut(g.paper_spec("62"), p)
    with pytest.raises(ValueError, match="force"):
        write_xppaut(g.paper_spec("62"), p)
    write_xppaut(g.paper_spec("65"), p, force=True)
    assert "w3'" in p.read_text()


# ------------------------------------------------------------------ real runs
PAPER = [("62", (1, 1, 1)), ("65", (1, 1, 1, 1)), ("66", (1, 2, 1))]


@pytest.mark.external
@pytest.mark.parametrize("key,dims", PAPER)
def test_xppaut_paper_examples_agree_with_dlnsys(key, dims, tmp_path):
    spec = g.paper_spec(key, sigma=1.0)
    net = Network(dims, [1.0])
    T = 8.0
    dat = run_xpp(spec, tmp_path, t_end=T, dt=0.5, rtol=1e-12, atol=1e-12)
    assert dat[-1, 0] == pytest.approx(T)
    x_ref = reference(net.vector_field, spec.initial, T)
    assert rel(dat[-1, 1:1 + spec.n], x_ref) < 1e-6
    # aux columns: loss and conserved quantities
    assert dat[-1, 1 + spec.n] == pytest.approx(float(net.loss(x_ref)), abs=1e-7)
    C0 = np.concatenate([np.atleast_1d(C[np.triu_indices(C.shape[0])]) for C in net.conserved(spec.initial)])
    assert np.allclose(dat[-1, 2 + spec.n:], C0, atol=1e-7)


@pytest.mark.external
def test_xppaut_section61_agrees_with_dlnsys(tmp_path):
    net = g.section61_network()
    spec = g.network_spec(net, name="sec61")
    T = 5.0
    dat = run_xpp(spec, tmp_path, t_end=T, dt=0.5, rtol=1e-12, atol=1e-12)
    x_ref = reference(net.vector_field, spec.initial, T)
    assert dat[-1, 0] == pytest.approx(T)
    assert rel(dat[-1, 1:1 + spec.n], x_ref) < 1e-6


@pytest.mark.external
def test_xppaut_long_lines_and_regularization(tmp_path):
    net = Network((3, 90, 3), [3.0, 2.0, 1.0], gamma=0.05)
    spec = g.network_spec(net, name="wide")
    T = 1.0
    dat = run_xpp(spec, tmp_path, t_end=T, dt=0.5, rtol=1e-12, atol=1e-12)
    x_ref = reference(net.vector_field, spec.initial, T)
    assert rel(dat[-1, 1:1 + spec.n], x_ref) < 1e-6
    assert dat[-1, 1 + spec.n] == pytest.approx(float(net.loss(x_ref)), rel=1e-6)


@pytest.mark.external
def test_xppaut_gd_map_agrees_with_gd_step(tmp_path):
    net = Network((2, 2, 2), [2.0, 1.0])
    spec = g.gd_map_spec(net, 0.05, name="gd")
    steps = 40
    dat = run_xpp(spec, tmp_path, t_end=steps)
    x = np.array(spec.initial)
    for _ in range(steps):
        x = net.gd_step(x, 0.05)
    assert dat[-1, 0] == steps
    assert rel(dat[-1, 1:1 + spec.n], x) < 1e-6


@pytest.mark.external
def test_xppaut_reductions_agree(tmp_path):
    sigma = [7.0, 5.5, 4.0, 2.5]
    spec = g.logistic_spec(sigma, 3, [0.3, 0.4, 0.5, 0.6], gamma=0.1)
    T = 3.0
    dat = run_xpp(spec, tmp_path, t_end=T, dt=0.5, rtol=1e-12, atol=1e-12)
    ref = reference(lambda z: red.logistic_vector_field(z, sigma, 3, 0.1), spec.initial, T)
    assert rel(dat[-1, 1:5], ref) < 1e-6
    spec = g.diagonal_spec(sigma, 5, name="diag")
    (tmp_path / "d").mkdir()
    dat = run_xpp(spec, tmp_path / "d", t_end=T, dt=0.5, rtol=1e-12, atol=1e-12)
    ref = reference(lambda x: red.diagonal_vector_field(x, sigma, 5), spec.initial, T)
    assert rel(dat[-1, 1:1 + spec.n], ref) < 1e-6


@pytest.mark.external
def test_xppaut_leaf_and_bordered_62_rest_at_64(tmp_path):
    """The continuation files start at the equilibrium (64) and XPPAUT keeps them there."""
    c = 0.5
    w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4)))
    spec = g.chain_leaf_spec(2, 1.0, [c])
    dat = run_xpp(spec, tmp_path, t_end=2.0, dt=0.5)
    assert dat[-1, 1] == pytest.approx(1 / w1, rel=1e-7)
    net = Network((1, 1, 1), [1.0])
    spec = g.bordered_spec(net, red.chain_leaf_equilibrium(1.0, [c]))
    (tmp_path / "b").mkdir()
    dat = run_xpp(spec, tmp_path / "b", t_end=0.5, dt=0.5)
    assert np.allclose(dat[-1, 1:4], [w1, 1 / w1, 0.0], atol=1e-7)


# ------------------------------------------------------------------ the committed catalog
def _catalog_xpp():
    from dlnsys.emit.catalog import catalog_specs
    return [s for s, targets in catalog_specs() if "xppaut" in targets]


def _reference_final(spec):
    """dlnsys's own final state for a catalog spec (not the spec evaluator, where dlnsys has a function)."""
    m = spec.metadata
    x0 = np.array(spec.initial)
    T = spec.options.get("t_end", 10.0)
    if spec.kind == "map":
        net = Network(m["dims"], m["sigma"], m["gamma"])
        x = x0
        for _ in range(int(T)):
            x = net.gd_step(x, spec.parameters["eta"])
        return x
    if m.get("reduction") == "none":
        f = Network(m["dims"], m["sigma"], m["gamma"]).vector_field
    elif m.get("reduction") == "logistic":
        f = lambda z: red.logistic_vector_field(z, m["sigma"], m["h"], spec.parameters.get("gam", 0.0))  # noqa: E731
    elif m.get("reduction") == "diagonal":
        f = lambda x: red.diagonal_vector_field(x, m["sigma"], m["h"], spec.parameters.get("gam", 0.0))  # noqa: E731
    else:                                    # leaf-reduced / bordered: the spec itself (checked in test_emit_spec)
        ev = spec.evaluator()
        f = ev.rhs
    return reference(f, x0, T)


@pytest.mark.external
@pytest.mark.parametrize("spec", _catalog_xpp(), ids=lambda s: s.name)
def test_every_catalog_xppaut_file_agrees_with_dlnsys(spec, tmp_path):
    import os
    import shutil
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "xppaut")
    xpp = require_tool("xppaut")
    shutil.copy(os.path.join(root, f"{spec.name}.ode"), tmp_path)
    proc = subprocess.run([xpp, f"{spec.name}.ode", "-silent"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert (tmp_path / "output.dat").is_file(), (proc.stdout + proc.stderr)[-2000:]
    dat = np.atleast_2d(np.loadtxt(tmp_path / "output.dat"))
    assert dat[-1, 0] == pytest.approx(spec.options.get("t_end", 10.0))
    # the catalog runs at the spec's tolerances (rtol 1e-10, atol 1e-12): 1e-6 relative is ample
    assert rel(dat[-1, 1:1 + spec.n], _reference_final(spec)) < 1e-6


def test_emitted_file_holds_only_model_statements():
    """Comments, par/init/aux lines, name=expr temporaries, x'=/x(t+1)= equations, @ options, done."""
    import re
    from dlnsys.emit.catalog import catalog_specs
    pat = re.compile(r"^(#.*|par [A-Za-z].*|init [A-Za-z].*|aux [A-Za-z][A-Za-z0-9_]*=[A-Za-z0-9_+\-*/^(). ]+|"
                     r"[A-Za-z][A-Za-z0-9_]*('|\(t\+1\))?=[A-Za-z0-9_+\-*/^(). ]+|@ .*|done)$")
    for spec, targets in catalog_specs():
        for line in generate_xppaut(spec).splitlines():
            assert pat.match(line), (spec.name, line)
            if line.startswith("@"):
                assert all(re.fullmatch(r"[a-z]+=[A-Za-z0-9_.+\-]+", kv.strip()) for kv in line[2:].split(","))


def test_cli_xppaut_target(tmp_path, capsys):
    from dlnsys.cli import main
    assert main(["emit", "--system", "paper-65", "--target", "xppaut", "-o", str(tmp_path), "--t-end", "3"]) == 0
    text = (tmp_path / "paper65.ode").read_text()
    assert "total=3.0" in text and "w3'=" in text
    assert main(["emit", "--dims", "16,16,16,16,16,16,16,16,16,16", "--sigma", ",".join(str(16 - i) for i in range(16)),
                 "--target", "xppaut", "-o", str(tmp_path)]) == 2
    errors = [l for l in capsys.readouterr().err.splitlines() if l.startswith("dlnsys: error:")]
    assert len(errors) == 1 and "1948" in errors[0]


def test_missing_tool_fails_under_ci_and_skips_otherwise(monkeypatch):
    from _pytest.outcomes import Failed, Skipped
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed):
        require_tool("no-such-tool-dlnsys")
    monkeypatch.delenv("CI")
    with pytest.raises(Skipped):
        require_tool("no-such-tool-dlnsys")
