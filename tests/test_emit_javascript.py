"""The JavaScript writer (dlnsys.emit.javascript): every catalog spec, run by Node, agrees with the spec's
own evaluator (the same expressions, the same IEEE doubles: 1e-13 relative) and with the network's
vector field; names cannot collide with JavaScript; writes are refused without force."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from dlnsys import Network
from dlnsys.emit import catalog
from dlnsys.emit import generators as g
from dlnsys.emit.javascript import generate_javascript, javascript_model, write_javascript

from _external import require_tool


def _node_eval(tmp_path, spec, X):
    """rhs, jacobian (or None) and aux of ``spec`` at the rows of X, computed by Node from the emitted file."""
    node = require_tool("node", "install Node.js (Debian package nodejs; make externals)")
    path = tmp_path / f"{spec.name}.js"
    write_javascript(spec, path)
    script = (f"const m = require({json.dumps(str(path))}); const X = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify({rhs: X.map(x => m.rhs(0, x)),"
              " jac: m.jacobian ? X.map(x => m.jacobian(0, x)) : null, aux: X.map(x => m.aux(0, x)),"
              " names: m.variables, params: m.parameters, initial: m.initial, kind: m.kind}));")
    r = subprocess.run([node, "-e", script], input=json.dumps(np.asarray(X).tolist()), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def _specs():
    out = [s for s, _ in catalog.catalog_specs()]
    out.append(g.network_spec(Network((3, 2, 2, 2), sigma=[2.0, 0.5], gamma=0.1), name="reg3222"))
    return out


@pytest.mark.parametrize("spec", _specs(), ids=lambda s: s.name)
def test_catalog_specs_agree_with_the_spec_evaluator(spec, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((20, spec.n)) * 0.8 + np.asarray(spec.initial)
    got = _node_eval(tmp_path, spec, X)
    ev = spec.evaluator()
    want = ev.rhs(X)
    scale = np.maximum(np.abs(want).max(axis=1, keepdims=True), 1e-300)
    assert np.abs(np.array(got["rhs"]) - want).max() / scale.max() <= 1e-13
    assert got["names"] == list(spec.variables) and got["kind"] == spec.kind
    assert got["params"] == {k: float(v) for k, v in spec.parameters.items()}
    assert np.array_equal(got["initial"], np.asarray(spec.initial, float))
    if spec.jacobian is None:
        assert got["jac"] is None
    else:
        Jw = np.array([ev.jacobian(x) for x in X[:5]])
        assert np.abs(np.array(got["jac"][:5]) - Jw).max() <= 1e-13 * max(np.abs(Jw).max(), 1.0)
    aux_want = ev.aux(X[0])
    for name, v in aux_want.items():
        assert np.isclose(got["aux"][0][name], float(np.ravel(v)[0]), rtol=1e-13, atol=1e-300), name


def test_network_rhs_equals_vector_field(tmp_path):
    """Independent oracle: the block-form vector field of dlnsys.flow (not the spec)."""
    net = Network((4, 3, 3, 2), sigma=[1.5, 0.4], gamma=0.05)
    spec = g.network_spec(net, name="net4332")
    X = np.random.default_rng(0).standard_normal((50, net.n_params))
    got = np.array(_node_eval(tmp_path, spec, X)["rhs"])
    want = net.vector_field(X)
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()


def test_names_are_prefixed_so_nothing_collides():
    spec = g.paper_spec("62")
    text = javascript_model(spec)
    assert "var $w1 = x[0];" in text and "var $s1 = p[\"s1\"];" in text
    assert "Math.pow(" in text or "**" not in text      # no JS '**' (a unary minus before it is a syntax error)


def test_write_refuses_to_overwrite(tmp_path):
    spec = g.paper_spec("62")
    path = tmp_path / "m.js"
    write_javascript(spec, path)
    before = path.read_text()
    with pytest.raises(ValueError, match="exists"):
        write_javascript(spec, path)
    write_javascript(spec, path, force=True)
    assert path.read_text() == before == generate_javascript(spec)
