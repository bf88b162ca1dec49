"""Every committed catalog model, run UNCHANGED in its tool and compared with dlnsys (issue 7, item 6).

The XPPAUT files are run by ``tests/test_emit_xppaut.py``
(``test_every_catalog_xppaut_file_agrees_with_dlnsys``); this module runs the rest:

* ``models/pydstool/NAME.py`` -- the committed script (copied into a temporary directory, since
  PyDSTool builds and writes there) with the Python 3.9 interpreter of PyDSTool
  (``DLNSYS_PYDSTOOL_PYTHON`` or ``./.venv39``), ``--integrator vode`` (no compiled build) and the
  file's own defaults for everything else (final time, output step, rtol, atol, initial state).

  - integration models: the final state (and every stored sample) against dlnsys's own flow from
    the file's initial state to the file's final time -- ``dlnsys.simulate`` (DOP853, rtol 1e-12)
    for full networks and the paper's examples, ``dlnsys.reductions``' vector fields (scipy DOP853,
    rtol 1e-12) for the logistic (61) and diagonal (55) reductions. Tolerance 1e-6 relative (max
    abs. difference / max abs. reference): the files integrate at their defaults rtol 1e-10 /
    atol 1e-12, and Vode's global error is measured at 1e-13..3e-10 at the final time but up to
    1.3e-7 on intermediate samples during the fast growth phases of the logistic/diagonal flows
    (it scales with rtol: 8e-9 at rtol 1e-12), so 1e-6 keeps an order of magnitude of margin; a
    wrong term or coefficient is still caught (a 1e-5 relative change of one coefficient of
    (62) gave 1.9e-6: the flows move the state by O(1) and the error shows up at that scale).
    The loss and (where emitted) the conserved quantities written as aux outputs are checked too.
  - continuation models (PyCont EP-C): closed forms. (62) on the leaf w1^2 - w2^2 = c (leaf-reduced
    ``leaf62`` and bordered ``bordered62``) follows (64), w1 = sqrt((c + sqrt(c^2 + 4 s^2))/2),
    w2 = s/w1, over the whole range with no LP/BP; the regularized logistic z' = z^{h-1}(s - z^h)
    - gam z has a branch point at gam = s for h = 2 (``logreg_h2`` starts on z = 0) and a fold at
    gam = (3/4) s (s/4)^{1/3}, z = (s/4)^{1/3} for h = 3 (``logreg_h3``).

* ``models/auto/NAME/`` -- the committed directory (copied into a temporary directory) run with its
  own ``sh NAME.sh`` driver (gcc + gfortran + AUTO-07p's libraries), read back with
  ``dlnsys.emit.auto.read_auto``, and checked against the same closed forms.

Oracle derivations (by hand):

* h = 2: equilibria z = 0 and z^2 = s - gam; they cross at gam = s (transcritical branch point).
  On z = 0 the eigenvalue is s - gam.
* h = 3: z = 0 and z(s - z^3) = gam; d/dz [s z - z^4] = 0 at z^3 = s/4 gives the fold. The nonzero
  branch also passes through z = 0 at gam = 0, where it crosses the trivial branch z = 0: a TRUE
  branch point at (gam, z) = (0, 0), which both tools report. On the nonzero branch the eigenvalue
  is f'(z) = 2z(s - z^3) - 3z^4 - gam = s z - 4 z^4.
* (62) on a leaf: the leaf-reduced flow in w2 has the single eigenvalue -(s^2 + w1^4)/w1^2 < 0.
  The bordered system [[A, b], [b^T, 0]] (A = Jacobian of the gradient flow, negative semidefinite
  at an equilibrium; b = grad pi != 0) always has a positive eigenvalue (v = (t b, 1), small t > 0,
  gives v^T M v = t^2 b^T A b + 2 t |b|^2 > 0), so its equilibria are never "stable" for a tool.

A missing tool is a failure under ``CI=true`` and a skip with the reason otherwise (``_external``).
Each model runs in about a second (the 198-weight Section 6.1 network: ~10 s of Vode).
"""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from _external import missing
from dlnsys import Network
from dlnsys import reductions as red
from dlnsys.invariants import conserved_vector

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
PYD_DIR = MODELS / "pydstool"
AUTO_DIR = MODELS / "auto"

pytestmark = pytest.mark.external


# ------------------------------------------------------------------ helpers
def _literals(path):
    """The module-level literal assignments of a committed PyDSTool script (read with ast; nothing
    in the file is executed by dlnsys's Python)."""
    out = {}
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def _pyd_models():
    return sorted(p.stem for p in PYD_DIR.glob("*.py"))


def _pyd_integration_models():
    return [m for m in _pyd_models() if _literals(PYD_DIR / f"{m}.py").get("CONTINUATION") is None]


def _pyd_continuation_models():
    return [m for m in _pyd_models() if _literals(PYD_DIR / f"{m}.py").get("CONTINUATION") is not None]


def _auto_models():
    return sorted(p.name for p in AUTO_DIR.iterdir() if p.is_dir() and (p / f"{p.name}.sh").is_file())


def _rel_err(x, ref):
    x, ref = np.asarray(x, float), np.asarray(ref, float)
    return float(np.max(np.abs(x - ref)) / max(float(np.max(np.abs(ref))), 1e-300))


def _w64(c, sigma):
    """(64): the equilibrium of (62) on the leaf w1^2 - w2^2 = c."""
    c = np.asarray(c, float)
    w1 = np.sqrt((c + np.sqrt(c ** 2 + 4.0 * sigma ** 2)) / 2.0)
    return w1, sigma / w1


def _fold_h3(sigma):
    """(gam, z) of the fold of z' = z^2 (s - z^3) - gam z."""
    return 0.75 * sigma * (sigma / 4.0) ** (1.0 / 3.0), (sigma / 4.0) ** (1.0 / 3.0)


def _catalog_metadata(name):
    """Metadata of a catalog model from its committed JSON spec (plain JSON, executes nothing)."""
    return json.loads((MODELS / "json" / f"{name}.json").read_text())["metadata"]


@pytest.fixture(scope="module")
def pydstool_python():
    from dlnsys.emit._runner import find_pydstool_python
    py, reason = find_pydstool_python()
    if py is None:
        missing(reason)
    return py


@pytest.fixture(scope="module")
def auto_dir():
    from dlnsys.emit._runner import find_auto
    d, reason = find_auto()
    if d is None:
        missing(reason)
    if shutil.which("sh") is None:
        missing("no 'sh' on PATH to run the AUTO-07p driver")
    return d


def _run_committed_pydstool(name, python, tmp_path, timeout=600):
    """Copy models/pydstool/NAME.py into tmp_path and run it there with Vode; returns (result, literals)."""
    src = PYD_DIR / f"{name}.py"
    vals = _literals(src)
    script = tmp_path / src.name
    shutil.copyfile(src, script)
    assert script.read_bytes() == src.read_bytes()
    cmd = [python, script.name, "--out", "result.json"]
    if "vode" in vals.get("GENERATORS", {}):          # pure-Python RHS: no compiled build
        cmd += ["--integrator", "vode"]
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    wall = time.time() - t0
    out = tmp_path / "result.json"
    assert proc.returncode == 0 and out.is_file(), \
        f"{name}.py failed with status {proc.returncode}:\n{(proc.stderr or proc.stdout)[-3000:]}"
    res = json.loads(out.read_text())
    res["wall_s"] = wall
    assert res["model"] == name and res["integrator"] == "vode"
    return res, vals


# ------------------------------------------------------------------ coverage of the catalog
def test_every_catalog_model_is_run_here():
    """The models found on disk (and so parametrized below) are exactly the catalog's PyDSTool and
    AUTO-07p models: a model missing from models/ cannot silently drop out of the cross-checks."""
    from dlnsys.emit.catalog import catalog_specs
    specs = catalog_specs()
    assert _pyd_models() == sorted(s.name for s, t in specs if "pydstool" in t)
    assert _auto_models() == sorted(s.name for s, t in specs if "auto" in t)
    assert set(_pyd_continuation_models()) == {s.name for s, t in specs if "pydstool" in t and s.continuation}
    assert _pyd_integration_models() and _pyd_continuation_models() and _auto_models()


# ------------------------------------------------------------------ PyDSTool: integration
def _reference(vals, times):
    """dlnsys's states at ``times`` from the file's INITIAL, with the file's parameters."""
    md = vals["METADATA"]
    pars = vals["PARAMETERS"]
    x0 = np.array(vals["INITIAL"], float)
    sigma = [float(v) for v in md["sigma"]]
    # the parameters PyDSTool integrates with are the ones the metadata describes
    assert [pars[f"s{j + 1}"] for j in range(len(sigma))] == sigma
    gamma = float(pars.get("gam", md.get("gamma", 0.0)))
    assert gamma == float(md.get("gamma", 0.0))
    t_final = float(times[-1])
    reduction = md.get("reduction")
    if reduction == "none":                      # full networks and the paper's examples
        from dlnsys.simulate import simulate
        net = Network(tuple(md["dims"]), sigma, gamma)
        assert net.n_params == len(x0)
        tr = simulate(net, x0, t_final, method="DOP853", rtol=1e-12, atol=1e-14, t_eval=np.asarray(times))
        return tr.x, net.loss, (lambda x: conserved_vector(net, x))
    if reduction == "logistic":
        f = lambda z: red.logistic_vector_field(z, sigma, md["h"], gamma)  # noqa: E731
        loss = lambda z: red.logistic_loss(z, sigma, md["h"], gamma)  # noqa: E731
    elif reduction == "diagonal":
        f = lambda xi: red.diagonal_vector_field(xi, sigma, md["h"], gamma)  # noqa: E731
        loss = lambda xi: red.diagonal_loss(xi, sigma, md["h"], gamma)  # noqa: E731
    else:
        pytest.fail(f"{vals['NAME']}: no dlnsys reference for reduction {reduction!r}; add one here")
    sol = solve_ivp(lambda t, x: f(x), (0.0, t_final), x0, method="DOP853", rtol=1e-12, atol=1e-14,
                    t_eval=np.asarray(times))
    assert sol.success, sol.message
    return sol.y.T, loss, None


def _conserved_reduction(vals, x):
    """Diagonal reduction: cq{i}_{j} = xi_{i,j}^2 - xi_{i+1,j}^2 (layer-major state, i-major order):
    the chain laws of each channel (reductions.chain_leaf_constants on the channel's column)."""
    d = len(vals["METADATA"]["sigma"])
    xi = np.asarray(x, float).reshape(-1, d)                    # (h, d_y)
    return red.chain_leaf_constants(xi.T).T.reshape(-1)         # (h-1, d_y), row-major


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m == "sec61" else m
                                  for m in _pyd_integration_models()])
def test_committed_pydstool_integration_agrees_with_dlnsys(name, pydstool_python, tmp_path):
    res, vals = _run_committed_pydstool(name, pydstool_python, tmp_path)
    assert res["mode"] == "integrate" and res["completed"]
    assert res["t_final"] == pytest.approx(vals["T_FINAL"], abs=1e-9)
    assert res["variables"] == [vals["SPEC_NAMES"].get(v, v) for v in vals["VARIABLES"]]
    t = np.array(res["t"])
    X = np.array(res["x"])
    assert t[0] == 0.0 and t[-1] == pytest.approx(vals["T_FINAL"], abs=1e-9) and len(t) >= 10
    assert X[0].tolist() == [float(v) for v in vals["INITIAL"]]
    assert X[-1].tolist() == res["x_final"]
    t_ref = t.copy()
    t_ref[-1] = min(t_ref[-1], vals["T_FINAL"])
    ref, loss, conserved = _reference(vals, t_ref)
    err_final = _rel_err(res["x_final"], ref[-1])
    err_all = _rel_err(X, ref)
    moved = _rel_err(ref[-1], ref[0])                          # how far the flow moved (relative)
    # the aux loss is dlnsys's loss at the tool's own final state (the formula: to rounding), and
    # close to the loss of dlnsys's final state on the scale of the initial loss (the final loss
    # itself can be ~1e-17, where a relative comparison means nothing)
    loss0 = float(loss(np.array(vals["INITIAL"], float)))
    err_loss_formula = abs(res["aux_final"]["loss"] - float(loss(X[-1]))) / loss0
    err_loss = abs(res["aux_final"]["loss"] - float(loss(ref[-1]))) / loss0
    cq = [a for a in res["aux"] if a.startswith("cq")]           # the file's order
    err_cq = 0.0
    if cq:
        c0 = conserved(np.array(vals["INITIAL"])) if conserved else _conserved_reduction(vals, vals["INITIAL"])
        got = np.array([res["aux_final"][a] for a in cq])
        assert got.shape == c0.shape
        # the tool's aux outputs are the conserved quantities of its final state, equal to their
        # values at the initial state (dlnsys.invariants / reductions.chain_leaf_constants)
        cT = conserved(X[-1]) if conserved else _conserved_reduction(vals, X[-1])
        assert np.max(np.abs(got - cT)) <= 1e-12 * max(1.0, np.max(np.abs(c0)))
        err_cq = float(np.max(np.abs(got - c0)) / max(1.0, np.max(np.abs(c0))))
    print(f"\n{name}: {len(vals['VARIABLES'])} variables, T = {vals['T_FINAL']}, {len(t)} samples; "
          f"rel. error final {err_final:.1e}, all samples {err_all:.1e}, loss {err_loss:.1e} "
          f"(formula {err_loss_formula:.0e}), "
          f"conserved {err_cq:.1e} ({len(cq)} laws); state moved {moved:.2f}; "
          f"build {res['build_s']:.2f} s, run {res['run_s']:.2f} s, wall {res['wall_s']:.1f} s")
    assert moved > 1e-2                                        # the comparison is not trivial
    assert err_final <= 1e-6
    assert err_all <= 1e-6
    assert err_loss_formula <= 1e-12
    assert err_loss <= 1e-6
    assert err_cq <= 1e-6


# ------------------------------------------------------------------ PyDSTool: continuation (PyCont EP-C)
def _bifurcations(special):
    """PyCont's labelled points other than the curve's end points (B = domain boundary -> 'EP')."""
    return [sp for sp in special if sp["type"] != "EP"]


def _check_pycont_leaf62(name, res, vals):
    md = vals["METADATA"]
    sigma = float(res["parameters"]["s1"])
    assert sigma == float(md["sigma"][0])
    lo, hi = vals["CONTINUATION"]["range"]
    c = np.array([p["parameter"] for p in res["points"]])
    X = np.array([p["x"] for p in res["points"]])
    w1, w2 = _w64(c, sigma)
    if vals["CONTINUATION"]["form"] == "leaf-reduced":
        assert res["variables"] == ["w2"]             # w1 = sqrt(c + w2^2) on the positive leaf branch
        err = float(np.max(np.abs(X[:, 0] - w2)))
        # isolated and hyperbolic on the leaf: eigenvalue -(s^2 + w1^4)/w1^2
        lam = np.array([p["eigenvalues_real"][0] for p in res["points"]])
        err_lam = float(np.max(np.abs(lam + (sigma ** 2 + w1 ** 4) / w1 ** 2) / np.abs(lam)))
        assert {p["stability"] for p in res["points"]} == {"S"}
        assert err_lam <= 1e-6
        extra = f", eigenvalue rel. error {err_lam:.1e}"
    else:
        assert res["variables"] == ["w1", "w2", "xmu1"] and res["extra_unknowns"] == ["xmu1"]
        err = float(max(np.max(np.abs(X[:, 0] - w1)), np.max(np.abs(X[:, 1] - w2))))
        mu = float(np.max(np.abs(X[:, 2])))
        assert mu < 1e-9                               # the multiplier vanishes at true equilibria
        assert "S" not in {p["stability"] for p in res["points"]}   # bordered: always a positive eigenvalue
        extra = f", max |mu| {mu:.1e}"
    bif = _bifurcations(res["special_points"])
    print(f"\n{name} (PyCont, {vals['CONTINUATION']['form']}): {len(c)} points, c in [{c.min():.6f}, {c.max():.6f}], "
          f"max |w - (64)| = {err:.1e}{extra}; special {[sp['pycont_type'] for sp in res['special_points']]}; "
          f"run {res['run_s']:.2f} s, wall {res['wall_s']:.1f} s")
    assert err < 1e-8
    assert c.min() == pytest.approx(lo, abs=1e-6) and c.max() == pytest.approx(hi, abs=1e-6)
    assert bif == [], bif                              # no LP, no BP, no Hopf: (64) is smooth in c


def _check_pycont_logistic(name, res, vals):
    md = vals["METADATA"]
    h = int(md["h"])
    sigma = float(res["parameters"]["s1"])
    assert sigma == float(md["sigma"][0]) and res["parameter"] == "gam"
    g = np.array([p["parameter"] for p in res["points"]])
    z = np.array([p["x"][0] for p in res["points"]])
    lam = np.array([p["eigenvalues_real"][0] for p in res["points"]])
    bif = _bifurcations(res["special_points"])
    lo, hi = vals["CONTINUATION"]["range"]
    if h == 2:
        gam_bp = sigma
        assert md["expected"] == [{"type": "branch_point", "gam": gam_bp}]
        # started on z = 0 (INITIAL), the curve is the trivial branch, eigenvalue s - gam
        assert vals["INITIAL"] == [0.0] and np.all(np.abs(z) < 1e-12)
        err_lam = float(np.max(np.abs(lam - (sigma - g))))
        bps = [sp for sp in bif if sp["pycont_type"] == "BP"]
        print(f"\n{name} (PyCont): {len(g)} points on z = 0, gam in [{g.min():.6f}, {g.max():.6f}]; "
              f"special {[(sp['pycont_type'], sp['parameter']) for sp in res['special_points']]}; "
              f"BP error {abs(bps[0]['parameter'] - gam_bp) if bps else float('nan'):.1e} (analytic {gam_bp}); "
              f"eigenvalue error {err_lam:.1e}; run {res['run_s']:.2f} s")
        assert len(bps) == 1 and bps[0]["parameter"] == pytest.approx(gam_bp, abs=1e-6)
        assert abs(bps[0]["x"][0]) < 1e-12
        assert [sp["pycont_type"] for sp in bif] == ["BP"]      # no fold on the trivial branch
        assert err_lam <= 1e-8
        assert g.min() == pytest.approx(lo, abs=1e-6) and g.max() == pytest.approx(hi, abs=1e-6)
    elif h == 3:
        gam_lp, z_lp = _fold_h3(sigma)
        assert md["expected"][0]["type"] == "fold"
        assert md["expected"][0]["gam"] == pytest.approx(gam_lp, rel=1e-14)
        # every point is on the nonzero branch gam = z (s - z^3), eigenvalue s z - 4 z^4 there
        err_branch = float(np.max(np.abs(g - z * (sigma - z ** 3))))
        err_lam = float(np.max(np.abs(lam - (sigma * z - 4 * z ** 4))))
        lps = [sp for sp in bif if sp["pycont_type"] == "LP"]
        bps = [sp for sp in bif if sp["pycont_type"] == "BP"]
        print(f"\n{name} (PyCont): {len(g)} points, gam in [{g.min():.6f}, {g.max():.6f}], z in [{z.min():.4f}, "
              f"{z.max():.4f}]; special {[(sp['pycont_type'], sp['parameter'], sp['x'][0]) for sp in bif]}; "
              f"LP error gam {abs(lps[0]['parameter'] - gam_lp) if lps else float('nan'):.1e}, "
              f"z {abs(lps[0]['x'][0] - z_lp) if lps else float('nan'):.1e}; branch residual {err_branch:.1e}; "
              f"eigenvalue error {err_lam:.1e}; run {res['run_s']:.2f} s")
        assert err_branch <= 1e-8 and err_lam <= 1e-6
        assert len(lps) == 1
        assert lps[0]["parameter"] == pytest.approx(gam_lp, abs=1e-6)
        assert lps[0]["x"][0] == pytest.approx(z_lp, abs=1e-6)
        # the only other bifurcation: the TRUE branch point where the nonzero branch crosses z = 0
        # at gam = 0 (see the module docstring); anything else would be spurious
        assert len(bps) == 1 and abs(bps[0]["parameter"]) < 1e-6 and abs(bps[0]["x"][0]) < 1e-6
        assert len(bif) == 2
        # the curve reaches the lower end of the range on both sides of the fold
        assert g.min() == pytest.approx(lo, abs=1e-6) and g.max() == pytest.approx(gam_lp, abs=1e-6)
    else:
        pytest.fail(f"{name}: no closed-form oracle for the logistic reduction with h = {h}; add one here")


@pytest.mark.parametrize("name", _pyd_continuation_models())
def test_committed_pycont_continuation_matches_closed_forms(name, pydstool_python, tmp_path):
    res, vals = _run_committed_pydstool(name, pydstool_python, tmp_path)
    assert res["mode"] == "continuation"
    assert res["parameter"] == vals["CONTINUATION"]["parameter"]
    md = vals["METADATA"]
    if md.get("dims") == [1, 1, 1] and md.get("reduction") in ("leaf", "leaf-bordered"):
        _check_pycont_leaf62(name, res, vals)
    elif md.get("reduction") == "logistic":
        _check_pycont_logistic(name, res, vals)
    else:
        pytest.fail(f"{name}: no closed-form oracle for this continuation model; add one here")


# ------------------------------------------------------------------ AUTO-07p
def _run_committed_auto(name, auto_dir, tmp_path, timeout=300):
    """Copy models/auto/NAME/ into tmp_path and run its own driver ``sh NAME.sh`` there."""
    from dlnsys.emit.auto import read_auto
    src = AUTO_DIR / name
    wd = tmp_path / name
    shutil.copytree(src, wd)
    t0 = time.time()
    proc = subprocess.run(["sh", f"{name}.sh"], cwd=wd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, AUTO_DIR=auto_dir))
    wall = time.time() - t0
    assert proc.returncode == 0 and (wd / f"b.{name}").is_file(), \
        f"sh {name}.sh failed with status {proc.returncode}:\n{proc.stderr[-2000:]}\n{proc.stdout[-2000:]}"
    res = read_auto(wd, name)
    assert res.branches and res.solutions
    return res, wall


def _uzstop(name):
    """The parameter range of the committed constants file (UZSTOP = {'par': [lo, hi]})."""
    for line in (AUTO_DIR / name / f"c.{name}").read_text().splitlines():
        if line.startswith("UZSTOP"):
            (par, (lo, hi)), = ast.literal_eval(line.split("=", 1)[1].strip()).items()
            return par, float(lo), float(hi)
    raise AssertionError(f"c.{name}: no UZSTOP line")


@pytest.mark.parametrize("name", _auto_models())
def test_committed_auto_problem_matches_closed_forms(name, auto_dir, tmp_path):
    res, wall = _run_committed_auto(name, auto_dir, tmp_path)
    md = _catalog_metadata(name)
    par, lo, hi = _uzstop(name)
    sps = res.special_points()
    assert all(sp.state is not None for sp in sps)           # full states from the s-file
    sigma = sps[0].parameters["s1"]                           # the value AUTO ran with (stpnt)
    assert sigma == float(md["sigma"][0])
    bif = res.bifurcations()
    summary = [(sp.type, sp.value) for sp in sps if sp.type not in ("EP",)]
    if md.get("dims") == [1, 1, 1] and md.get("reduction") in ("leaf", "leaf-bordered"):
        assert par == "c1"
        c = res.column("c1")
        w1, w2 = _w64(c, sigma)
        if md["reduction"] == "leaf":
            err = float(max(np.max(np.abs(res.column("w2") - w2)), np.max(np.abs(res.column("vw1") - w1))))
            assert res.stable.all()                           # -(s^2 + w1^4)/w1^2 < 0
            law = res.column("cq1_1_1")                       # monitored w1^2 - w2^2
        else:
            err = float(max(np.max(np.abs(res.column("w1") - w1)), np.max(np.abs(res.column("w2") - w2))))
            assert np.max(np.abs(res.column("xmu1"))) < 1e-9
            assert not res.stable.any()                       # bordered: always a positive eigenvalue
            law = res.column("pi1")
        # monitored aux outputs: the conserved quantity is the leaf constant c, the loss vanishes
        # (w1 w2 = s at every point of (64))
        np.testing.assert_allclose(law, c, atol=1e-8)
        assert np.max(np.abs(res.column("loss"))) < 1e-12
        ends = sorted(sp.value for sp in res.special_points("UZ"))
        print(f"\n{name} (AUTO): {len(c)} points, c in [{c.min():.6f}, {c.max():.6f}], max |w - (64)| = {err:.1e}; "
              f"special {summary}; wall {wall:.2f} s")
        assert bif == [], [(sp.type, sp.value) for sp in bif]  # no LP, no BP over the range
        assert ends == pytest.approx([lo, hi], abs=1e-6)       # the whole range was covered
        assert err < 1e-8
    elif md.get("reduction") == "logistic" and md.get("h") == 2:
        assert par == "gam"
        g, z = res.column("gam"), res.column("z1")
        bps = res.special_points("BP")
        print(f"\n{name} (AUTO): {len(g)} points, gam in [{g.min():.6f}, {g.max():.6f}]; special {summary}; "
              f"BP error {abs(bps[0].value - sigma) if bps else float('nan'):.1e} (analytic {sigma}); "
              f"wall {wall:.2f} s")
        assert len(bps) == 1 and bps[0].value == pytest.approx(sigma, abs=1e-6)
        assert bps[0].parameters["gam"] == pytest.approx(sigma, abs=1e-6) and abs(bps[0].state[0]) < 1e-12
        assert [sp.type for sp in bif] == ["BP"]              # no fold
        assert np.all(np.abs(z) < 1e-12)                      # started on z = 0 (no branch switching)
        far = np.abs(g - sigma) > 1e-3                        # eigenvalue s - gam on z = 0
        np.testing.assert_array_equal(res.stable[far], g[far] > sigma)
        # monitored loss (pvls) = dlnsys's loss of the lifted network, 1/2 (s - z^2)^2 + gam/2 * h z^2
        # (dlnsys takes gamma >= 0 only; the range has gam < 0: add the gamma term by hand)
        np.testing.assert_allclose(res.column("loss"), red.logistic_loss(z[:, None], [sigma], 2, 0.0)
                                   + 0.5 * g * 2 * z ** 2, rtol=1e-9, atol=1e-12)
        assert sorted(sp.value for sp in res.special_points("UZ")) == pytest.approx([lo, hi], abs=1e-6)
    elif md.get("reduction") == "logistic" and md.get("h") == 3:
        assert par == "gam"
        gam_lp, z_lp = _fold_h3(sigma)
        g, z = res.column("gam"), res.column("z1")
        lps = res.special_points("LP")
        err_branch = float(np.max(np.abs(g - z * (sigma - z ** 3))))
        print(f"\n{name} (AUTO): {len(g)} points, gam in [{g.min():.6f}, {g.max():.6f}]; special {summary}; "
              f"LP error gam {abs(lps[0].value - gam_lp) if lps else float('nan'):.1e}, "
              f"z {abs(lps[0].state[0] - z_lp) if lps else float('nan'):.1e}; branch residual {err_branch:.1e}; "
              f"wall {wall:.2f} s")
        assert len(lps) == 1
        assert lps[0].value == pytest.approx(gam_lp, abs=1e-6)
        assert lps[0].parameters["gam"] == pytest.approx(gam_lp, abs=1e-6)
        assert lps[0].state[0] == pytest.approx(z_lp, abs=1e-5)
        assert err_branch < 1e-8                              # the whole curve is the nonzero branch
        # the only other bifurcation is the TRUE crossing with z = 0 at gam = 0 (module docstring)
        others = [sp for sp in bif if sp is not lps[0] and sp.type != "LP"]
        assert [sp.type for sp in others] == ["BP"] and abs(others[0].value) < 1e-6 \
            and abs(others[0].state[0]) < 1e-6
        assert len(bif) == 2
        # stability on the nonzero branch: eigenvalue s z - 4 z^4 (stable for z < 0 and z > z_LP)
        lam = sigma * z - 4 * z ** 4
        clear = np.abs(lam) > 1e-3
        np.testing.assert_array_equal(res.stable[clear], lam[clear] < 0)
        # monitored loss (pvls) = dlnsys's loss of the lifted network at each point
        # (dlnsys takes gamma >= 0 only; the range has gam < 0: add gam/2 * h z^2 to the gamma = 0 loss)
        loss = red.logistic_loss(z[:, None], [sigma], 3, 0.0) + 0.5 * g * 3 * z ** 2
        np.testing.assert_allclose(res.column("loss"), loss, rtol=1e-8, atol=1e-10)
    else:
        pytest.fail(f"{name}: no closed-form oracle for this AUTO-07p problem; add one here")
