"""The neutral OdeSpec: validation, safe evaluation, generators against dlnsys, JSON round trip, CLI.

Tolerances: rhs/Jacobian/aux of a spec and dlnsys compute the same sums in a different order,
so they agree to a few ulps of the largest term: 1e-12 relative to the scale of the values.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dlnsys import Network
from dlnsys import reductions as red
from dlnsys.emit import generators as g
from dlnsys.emit.json import generate_json, load_spec, write_json
from dlnsys.emit.spec import (MAX_NAME_LEN, Continuation, JacobianSpec, OdeSpec, check_identifier, render,
                              validate_expr, write_text)


def close(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    assert a.shape == b.shape
    assert np.max(np.abs(a - b), initial=0.0) <= rtol * scale, np.max(np.abs(a - b))


def states(net, rng, k=4):
    return np.stack([np.concatenate([rng.normal(size=r * c) / np.sqrt(c) for r, c in net.shapes])
                     for _ in range(k)])


def small_spec(**kw):
    d = dict(name="m", kind="ode", variables=["w1", "w2"], initial=[0.5, 0.5], parameters={"s1": 1.0},
             intermediates=[("xi", "s1-w1*w2")], rhs=["w2*xi", "w1*xi"], aux=[("loss", "0.5*xi**2")])
    d.update(kw)
    return OdeSpec(**d)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("bad", [
    "__import__('os')", "os.system", "x[0]", "lambda: 1", "(lambda x: x)(1)", "1 if w1 else 2", "'text'",
    "w1**w2", "w1**-1", "w1**0.5", "w1 ; w2", "w1\nw2", "f(w1)", "sqrt(w1, w2)", "sqrt(x=w1)", "w1 == w2",
    "w1 and w2", "[w1]", "{w1}", "w1 @ w2", "w1 // w2", "w1 % w2", "+w1", "sqrt", "nope*w1", "",
    "w1 # comment", "1e999", "True", "w1.real",
])
def test_bad_expressions_are_refused(bad):
    with pytest.raises(ValueError):
        validate_expr(bad, {"w1", "w2"})


def test_good_expressions_and_names_used():
    assert validate_expr("-w1**2 + sqrt(w2)*exp(-w1)/log(2.5) - 1e-05", {"w1", "w2"}) == {"w1", "w2"}


@pytest.mark.parametrize("name", ["a b", "x'", 'x"', "1x", "_x", "x-y", "e", "pi", "gamma", "sum", "min", "max",
                                  "t", "import", "double", "w1\n", "abcdefghijk", "", None, "u", "par", "exp"])
def test_unsafe_symbol_names_are_refused(name):
    with pytest.raises(ValueError, match="variables"):
        small_spec(variables=[name, "w2"], rhs=["w2*xi", "xi"],
                   intermediates=[("xi", "s1-w2")])


def test_model_name_rules():
    small_spec(name="a_model_name_of_thirty_characters")
    for bad in ("a b", "x;import os", "gamma", "model'", "a" * 41):
        with pytest.raises(ValueError, match="name"):
            small_spec(name=bad)
    with pytest.raises(ValueError, match="name"):
        check_identifier("a" * (MAX_NAME_LEN + 1))


def test_scoping_and_shape_errors():
    with pytest.raises(ValueError, match="unknown name 'later'"):
        small_spec(intermediates=[("xi", "s1-later"), ("later", "w1")])
    with pytest.raises(ValueError, match="clashes"):
        small_spec(parameters={"W1": 1.0, "s1": 1.0})
    with pytest.raises(ValueError, match="rhs"):
        small_spec(rhs=["w2*xi"])
    with pytest.raises(ValueError, match="initial"):
        small_spec(initial=[0.5, float("nan")])
    with pytest.raises(ValueError, match="aux"):
        small_spec(aux=[("loss", "loss2")])
    with pytest.raises(ValueError, match="kind"):
        small_spec(kind="dde")
    with pytest.raises(ValueError, match="jacobian.entries"):
        small_spec(jacobian=JacobianSpec([], [(0, 2, "w1")]))
    with pytest.raises(ValueError, match="listed twice"):
        small_spec(jacobian=JacobianSpec([], [(0, 0, "w1"), (0, 0, "w2")]))
    with pytest.raises(ValueError, match="metadata"):
        small_spec(metadata={"note": "x\nimport os"})
    with pytest.raises(ValueError, match="description"):
        small_spec(description='"""; import os')
    with pytest.raises(ValueError, match="options"):
        small_spec(options={"shell": "rm"})
    with pytest.raises(ValueError, match="continuation.parameter"):
        small_spec(continuation=Continuation(parameter="zz", form="bordered"))
    with pytest.raises(ValueError, match="continuation.form"):
        small_spec(continuation=Continuation(parameter="s1", form="magic"))


def test_evaluator_and_render_styles_agree():
    exprs = ["-w1**2 - (w2-w1) - -w1/(w2*2)/3 + 2**3*w1**3 + sqrt(w2+1)*-w1", "(-w1)**3+w2**0-exp(-w2)*log(w2+2)"]
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 1.5, size=(5, 2))
    for ex in exprs:
        base = small_spec(intermediates=[("xi", "s1")], rhs=[ex, "w1"]).evaluator().rhs(X)[:, 0]
        for style in ("**", "^", "pow", "mul"):
            txt = render(ex, power=style, float_literals=True)
            assert "--" not in txt
            if style == "^":
                txt = txt.replace("^", "**")
            if style == "pow":
                continue                      # pow(x, n) is not in the language; checked by the C writer
            val = small_spec(intermediates=[("xi", "s1")], rhs=[txt, "w1"]).evaluator().rhs(X)[:, 0]
            close(val, base, 1e-14)


def test_evaluator_stack_and_params():
    s = small_spec()
    ev = s.evaluator()
    close(ev.rhs([0.5, 0.5]), [0.375, 0.375])
    close(ev.rhs([0.5, 0.5], params={"s1": 2.0}), [0.875, 0.875])
    assert ev.rhs(np.ones((3, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match="params"):
        ev.rhs([0.5, 0.5], params={"zz": 1.0})


# ------------------------------------------------------------------ generators vs dlnsys
ARCHS = [((1, 1, 1), 0.0), ((1, 1, 1, 1), 0.1), ((1, 2, 1), 0.0), ((3, 2, 4, 2), 0.3), ((2, 2, 2, 2, 2, 2), 0.0),
         ((3, 3), 0.2), ((4, 3), 0.0), ((5, 3, 3, 2), 0.0)]


@pytest.mark.parametrize("dims,gamma", ARCHS)
def test_network_spec_matches_dlnsys(dims, gamma):
    rng = np.random.default_rng(sum(dims))
    net = Network(dims, np.linspace(3.0, 1.0, dims[-1]) + 0.01 * np.arange(dims[-1])[::-1], gamma=gamma)
    spec = g.network_spec(net, jacobian=True, conserved=True)
    ev = spec.evaluator()
    X = states(net, rng)
    close(ev.rhs(X), net.vector_field(X))
    close(ev.aux(X)["loss"], net.loss(X))
    for x in X[:2]:
        close(ev.jacobian(x), net.jacobian(x))
    aux = ev.aux(X)
    for i, C in enumerate(net.conserved(X)):
        m = C.shape[-1]
        for a in range(m):
            for c in range(a, m):
                close(aux[f"cq{i + 1}_{a + 1}_{c + 1}"], C[:, a, c])
    assert spec.variables == net.variable_names()
    assert ("gam" in spec.parameters) == bool(gamma)


def test_masked_network_spec():
    rng = np.random.default_rng(3)
    base = Network((3, 3, 3, 2), [2.0, 1.0], gamma=0.1)
    mask = rng.random(base.n_params) > 0.3
    net = Network((3, 3, 3, 2), [2.0, 1.0], gamma=0.1, mask=mask)
    spec = g.network_spec(net, jacobian=True)
    ev = spec.evaluator()
    X = states(net, rng)
    close(ev.rhs(X), net.vector_field(X))
    close(ev.jacobian(X[0]), net.jacobian(X[0]))
    assert all(spec.rhs[i] == "0" for i in np.flatnonzero(~mask))
    assert spec.metadata["mask"] == [int(v) for v in mask]


def test_section61_network_spec_and_size():
    net = g.section61_network()
    spec = g.network_spec(net)
    assert spec.n == 198 and spec.jacobian is None            # 198 > JACOBIAN_MAX_VARIABLES
    rng = np.random.default_rng(61)
    X = states(net, rng, 3)
    close(spec.evaluator().rhs(X), net.vector_field(X))
    # multiply-adds of one block-form evaluation (suffixes 432, product 264, blocks/residual chain 1392)
    assert spec.metadata["multiply_adds"] == 2088
    size = spec.text_size()
    assert size < 66_000 and size / 2088 <= 30, size
    jspec = g.network_spec(net, jacobian=True)               # on request: still correct
    close(jspec.evaluator().jacobian(X[0]), net.jacobian(X[0]), 1e-11)


def test_size_grows_with_multiply_adds_not_paths():
    # 9 layers of width 16: 16^8 paths per input-output pair; the text follows the 98,304 multiply-adds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = Network((16,) * 10, np.linspace(3.0, 1.0, 16) + np.arange(16)[::-1] * 1e-3)
    spec = g.network_spec(net, conserved=False)
    assert spec.metadata["multiply_adds"] == 7 * 16 ** 3 + 16 ** 3 + 2 * 8 * 16 ** 3
    assert spec.text_size() / spec.metadata["multiply_adds"] <= 30
    # chains: linear in depth
    sizes = [g.chain_spec(h, 1.0).text_size() for h in (10, 20, 40)]
    assert sizes[2] - sizes[1] < 2.6 * (sizes[1] - sizes[0])


def test_paper_examples_use_paper_names_and_equations():
    for key, (dims, x0) in g.PAPER_EXAMPLES.items():
        spec = g.paper_spec(key, sigma=1.5)
        assert spec.variables == [f"w{i}" for i in range(1, len(x0) + 1)]
        assert spec.metadata["equations"] == [key]
    s = g.paper_spec("62", sigma=1.5)
    w = np.array([0.7, -0.4])
    xi = 1.5 - w[0] * w[1]
    close(s.evaluator().rhs(w), [w[1] * xi, w[0] * xi])           # (62)
    s = g.paper_spec("66", sigma=1.5)
    w = np.array([0.7, -0.4, 0.2, 0.9])
    xi = 1.5 - w[0] * w[2] - w[1] * w[3]
    close(s.evaluator().rhs(w), [w[2] * xi, w[3] * xi, w[0] * xi, w[1] * xi])   # (66)
    with pytest.raises(ValueError, match="example"):
        g.paper_spec("63")


def test_chain_spec_matches_reductions():
    rng = np.random.default_rng(5)
    for h in (1, 2, 5, 12):
        spec = g.chain_spec(h, 2.0, gamma=0.05)
        W = rng.normal(size=(3, h)) * 0.8
        close(spec.evaluator().rhs(W), red.chain_vector_field(W, 2.0, 0.05))


def test_gd_map_spec():
    rng = np.random.default_rng(6)
    net = Network((3, 2, 2), [2.0, 1.0], gamma=0.1)
    spec = g.gd_map_spec(net, 0.05, jacobian=True)
    assert spec.kind == "map" and spec.parameters["eta"] == 0.05
    X = states(net, rng)
    ev = spec.evaluator()
    close(ev.rhs(X), net.gd_step(X, 0.05))
    close(ev.jacobian(X[0]), np.eye(net.n_params) + 0.05 * net.jacobian(X[0]))
    with pytest.raises(ValueError, match="eta"):
        g.gd_map_spec(net, -1.0)


@pytest.mark.parametrize("h,gamma", [(1, 0.0), (2, 0.0), (3, 0.2), (5, 0.0)])
def test_diagonal_spec(h, gamma):
    sigma = [4.0, 3.0, 2.0, 1.5]
    spec = g.diagonal_spec(sigma, h, gamma=gamma)
    ev = spec.evaluator()
    rng = np.random.default_rng(h)
    X = rng.normal(size=(4, h * 4))
    close(ev.rhs(X), red.diagonal_vector_field(X, sigma, h, gamma))
    close(ev.aux(X)["loss"], red.diagonal_loss(X, sigma, h, gamma))
    x = X[0]
    eps = 1e-6
    fd = np.array([(ev.rhs(x + eps * e) - ev.rhs(x - eps * e)) / (2 * eps) for e in np.eye(h * 4)]).T
    close(ev.jacobian(x), fd, 1e-7)
    assert spec.metadata["equations"][0] == "55"


@pytest.mark.parametrize("h", [1, 2, 3, 5])
def test_logistic_spec(h):
    sigma = [2.0, 1.0]
    spec = g.logistic_spec(sigma, h, gamma=0.2)
    ev = spec.evaluator()
    Z = np.random.default_rng(h).uniform(-1.5, 1.5, size=(4, 2))
    close(ev.rhs(Z), red.logistic_vector_field(Z, sigma, h, 0.2))
    close(ev.aux(Z)["loss"], red.logistic_loss(Z, sigma, h, 0.2))
    z = Z[0]
    eps = 1e-6
    fd = np.array([(ev.rhs(z + eps * e) - ev.rhs(z - eps * e)) / (2 * eps) for e in np.eye(2)]).T
    close(ev.jacobian(z), fd, 1e-7)


def test_regularized_logistic_continuation_specs():
    s2 = g.logistic_spec([2.0], 2, continuation="gam")
    assert s2.continuation.parameter == "gam" and s2.parameters["gam"] == 0.0
    close(s2.initial, [np.sqrt(2.0)])
    assert s2.metadata["expected"] == [{"type": "branch_point", "gam": 2.0}]
    s3 = g.logistic_spec([2.0], 3, continuation="gam")
    gf, zf = red.logistic_fold(2.0, 3)
    close(gf, 0.75 * 2.0 * (2.0 / 4) ** (1 / 3))
    assert s3.metadata["expected"][0]["type"] == "fold"
    close(s3.metadata["expected"][0]["gam"], gf)
    close(s3.evaluator().rhs(s3.initial), [0.0])


def test_bordered_62_isolated_hyperbolic():
    """Bordered (62): equilibria isolated and hyperbolic; eigenvalues +-2|w| and the leaf eigenvalue."""
    net = Network((1, 1, 1), [1.3])
    for c in (-1.0, 0.0, 0.7):
        w = red.chain_leaf_equilibrium(1.3, [c])
        spec = g.bordered_spec(net, w, parameter="c1")
        assert spec.variables == ["w1", "w2", "xmu1"] and spec.continuation.extra_unknowns == ["xmu1"]
        assert sorted(spec.variables) == spec.variables
        ev = spec.evaluator()
        x = np.array(spec.initial)
        close(ev.rhs(x), np.zeros(3))
        eps = 1e-6
        J = np.array([(ev.rhs(x + eps * e) - ev.rhs(x - eps * e)) / (2 * eps) for e in np.eye(3)]).T
        lam = np.sort(np.linalg.eigvals(J).real)
        r = np.sqrt(w @ w)
        leaf = -(1.3 ** 2 + w[0] ** 4) / w[0] ** 2
        close(lam, np.sort([-2 * r, leaf, 2 * r]), 1e-7)


def test_bordered_66_nonsingular_and_dependent_laws_refused():
    net = Network((1, 2, 1), [1.0])
    rng = np.random.default_rng(9)
    # a generic equilibrium: W2 W1 = 1 with W2 not parallel to W1^T (parallel ones have dependent laws)
    w1 = rng.normal(size=2)
    u = rng.normal(size=2)
    x = np.concatenate([w1, u + (1 - u @ w1) / (w1 @ w1) * w1])
    assert np.linalg.norm(net.vector_field(x)) < 1e-14
    spec = g.bordered_spec(net, x)
    ev = spec.evaluator()
    z = np.array(spec.initial)
    eps = 1e-6
    J = np.array([(ev.rhs(z + eps * e) - ev.rhs(z - eps * e)) / (2 * eps) for e in np.eye(spec.n)]).T
    assert np.min(np.abs(np.linalg.eigvals(J))) > 1e-3
    with pytest.raises(ValueError, match="laws"):               # parallel: rank 2 < 3 laws
        g.bordered_spec(net, np.concatenate([w1, w1 / (w1 @ w1)]))
    big = Network((1, 4, 1), [1.0])                 # 10 laws on 8 weights: always dependent
    v = rng.normal(size=4)
    u = rng.normal(size=4)
    with pytest.raises(ValueError, match="laws"):
        g.bordered_spec(big, np.concatenate([v, u + (1 - u @ v) / (v @ v) * v]))


def test_leaf_reduced_62_reproduces_64():
    for c in (-2.0, -0.3, 0.0, 0.5, 3.0):
        spec = g.chain_leaf_spec(2, 1.3, [c])
        w1 = np.sqrt(0.5 * (c + np.sqrt(c * c + 4 * 1.3 ** 2)))          # (64)
        close(spec.initial, [1.3 / w1])
        ev = spec.evaluator()
        close(ev.rhs(spec.initial), [0.0])
        close(ev.aux(spec.initial)["vw1"], w1)
        close(ev.jacobian(np.array(spec.initial)), [[-(1.3 ** 2 + w1 ** 4) / w1 ** 2]])
    deep = g.chain_leaf_spec(4, 2.0, [0.5, -0.3, 0.2])
    ev = deep.evaluator()
    close(ev.rhs(deep.initial), [0.0])
    x = np.array([deep.initial[0] * 1.1])
    eps = 1e-6
    fd = (ev.rhs(x + eps) - ev.rhs(x - eps)) / (2 * eps)
    close(ev.jacobian(x).ravel(), fd, 1e-7)


# ------------------------------------------------------------------ JSON round trip
def catalog():
    from dlnsys.emit.catalog import catalog_specs
    return [s for s, _ in catalog_specs()]


def test_json_round_trip_every_catalog_spec(tmp_path):
    for spec in catalog():
        text = generate_json(spec)
        again = load_spec(text)
        assert again == spec
        assert generate_json(again) == text
        p = tmp_path / f"{spec.name}.json"
        write_json(spec, p)
        assert load_spec(p) == spec
        with pytest.raises(ValueError, match="exists"):
            write_json(spec, p)
        write_json(spec, p, force=True)


@pytest.mark.parametrize("mutate,match", [
    (lambda d: "{not json", "malformed JSON"),
    (lambda d: d.update(rhs=["__import__('os').system('touch /tmp/pwned')"] * 2), "rhs"),
    (lambda d: d.update(extra=1), "unknown field"),
    (lambda d: d.pop("rhs"), "missing"),
    (lambda d: d.update(format="pickle"), "format"),
    (lambda d: d.update(initial=[0.1, "x"]), "initial"),
    (lambda d: d.update(name="a; rm -rf"), "name"),
    (lambda d: d.update(intermediates=[["r1_1_1", "open('x')"]]), "intermediates"),
    (lambda d: d.update(jacobian={"entries": [[0, 0, "w1"]], "code": "x"}), "jacobian"),
    (lambda d: d.update(metadata={"x": "a\nb"}), "metadata"),
    (lambda d: d.update(parameters={"s1": "NaN"}), "parameters"),
])
def test_malformed_json_specs_get_clear_errors(mutate, match, tmp_path):
    d = json.loads(generate_json(g.paper_spec("62")))
    res = mutate(d)
    text = res if isinstance(res, str) else json.dumps(d)
    with pytest.raises(ValueError, match=match):
        load_spec(text)
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(ValueError):
        load_spec(p)


def test_json_nan_refused():
    text = generate_json(g.paper_spec("62")).replace('"initial": [0.6,0.3]', '"initial": [NaN,0.3]')
    with pytest.raises(ValueError, match="NaN"):
        load_spec(text)
    with pytest.raises(ValueError, match="path"):
        load_spec("/nonexistent/file.json")


def test_write_text_refuses_overwrite(tmp_path):
    p = tmp_path / "f.txt"
    write_text(p, "a")
    with pytest.raises(ValueError, match="force"):
        write_text(p, "b")
    write_text(p, "b", force=True)
    assert p.read_text() == "b"


# ------------------------------------------------------------------ CLI
def run_cli(argv, capsys):
    from dlnsys.cli import main
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("name", ["a b", "x'y", 'q"', "import os", "gamma", "x;rm", "pi", "$(ls)"])
def test_cli_refuses_unsafe_names(name, tmp_path, capsys):
    status, out, err = run_cli(["emit", "--system", "paper-62", "--target", "json", "-o", str(tmp_path),
                                "--name", name], capsys)
    assert status == 2
    assert err.count("\n") == 1 and "--name" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_emit_json_and_no_overwrite(tmp_path, capsys):
    argv = ["emit", "--dims", "11,6,6,6,6,4", "--sigma", "7,5.5,4,2.5", "--target", "json", "-o", str(tmp_path)]
    status, out, err = run_cli(argv, capsys)
    assert status == 0, err
    spec = load_spec(tmp_path / "dln.json")
    assert spec.n == 198 and spec.metadata["dims"] == [11, 6, 6, 6, 6, 4]
    (tmp_path / "dln.json").write_text("keep")
    status, out, err = run_cli(argv, capsys)
    assert status == 2 and "--force" in err
    assert (tmp_path / "dln.json").read_text() == "keep"
    status, out, err = run_cli(argv + ["--force"], capsys)
    assert status == 0 and load_spec(tmp_path / "dln.json").n == 198


@pytest.mark.parametrize("extra,name,n", [
    (["--system", "chain", "--depth", "3", "--sigma", "2"], "chain3", 3),
    (["--system", "paper-65"], "paper65", 3),
    (["--system", "paper-66", "--ics", "0.5,-0.2,0.3,0.4", "--gamma", "0.1"], "paper66", 4),
    (["--dims", "4,4,4", "--sigma", "3,2,1.5,1", "--reduction", "logistic"], "logistic2", 4),
    (["--dims", "4,4,4", "--sigma", "3,2,1.5,1", "--reduction", "diagonal"], "diag4h2", 8),
    (["--depth", "3", "--sigma", "2", "--reduction", "logistic", "--continuation", "gam"], "logreg3", 1),
    (["--system", "paper-62", "--continuation", "c1"], "leaf62", 1),
    (["--system", "paper-62", "--continuation", "c1", "--form", "bordered"], "paper62_bord", 3),
    (["--system", "gd-map", "--dims", "2,2", "--sigma", "2,1", "--eta", "0.1"], "dlngd", 4),
])
def test_cli_systems(extra, name, n, tmp_path, capsys):
    status, out, err = run_cli(["emit", "--target", "json", "-o", str(tmp_path)] + extra, capsys)
    assert status == 0, err
    spec = load_spec(tmp_path / f"{name}.json")
    assert spec.n == n


@pytest.mark.parametrize("extra,word", [
    (["--system", "chain"], "--depth"),
    (["--dims", "3,2"], "--sigma"),
    (["--dims", "3,2", "--sigma", "1,2"], "sigma"),
    (["--system", "paper-62", "--ics", "1,2,3"], "x0"),
    (["--dims", "4,4", "--sigma", "2,1,0.5,0.2", "--reduction", "diagonal", "--continuation", "gam"],
     "--continuation"),
])
def test_cli_bad_input_is_one_line_exit_2(extra, word, tmp_path, capsys):
    status, out, err = run_cli(["emit", "--target", "json", "-o", str(tmp_path)] + extra, capsys)
    assert status == 2 and err.count("\n") == 1 and word in err, err
