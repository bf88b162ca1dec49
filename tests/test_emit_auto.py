"""AUTO-07p writer and reader, checked by AUTO-07p itself.

Analytic oracles (derived by hand):

* regularized logistic z' = z^{h-1}(s - z^h) - gamma z.
  h = 2: equilibria z = 0 and z^2 = s - gamma; the two branches cross at gamma = s (branch
  point); z = 0 has eigenvalue s - gamma (unstable below gamma = s, stable above).
  h = 3: nonzero equilibria satisfy z(s - z^3) = gamma; d/dz [s z - z^4] = 0 at z^3 = s/4, so
  the fold is at gamma_LP = (3/4) s (s/4)^{1/3} with z_LP = (s/4)^{1/3}.
* (62) on the leaf w1^2 - w2^2 = c: the unique equilibrium (64), w1 = sqrt((c + sqrt(c^2 + 4 s^2))/2),
  w2 = s/w1, for every c: a smooth branch without folds or branch points.

Without AUTO-07p (gcc, gfortran, /usr/lib/auto-07p) the cross-checks skip with the reason,
except under ``CI=true`` where they fail.
"""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from _external import missing, require_tool

from dlnsys import Network
from dlnsys.emit.auto import (auto_filenames, generate_auto, read_auto, read_auto_branch, read_auto_fort7,
                              read_auto_solutions, write_auto)
from dlnsys.emit.generators import (bordered_spec, chain_leaf_spec, logistic_spec, network_spec, paper_spec,
                                    section61_network)
from dlnsys.emit.spec import JacobianSpec, OdeSpec


def _require(ok, reason):
    """A missing tool fails under CI=true and skips (with the reason) otherwise."""
    if not ok:
        missing(reason)


@pytest.fixture(scope="module")
def runner():
    from dlnsys.emit import _runner
    auto_dir, reason = _runner.find_auto()
    _require(auto_dir is not None, reason)
    return _runner


def _fold_spec():
    """x' = mu - x^2, y' = x - y with names that clash with C/AUTO identifiers (real, func, logical)."""
    return OdeSpec(name="clash", kind="ode", variables=["real", "func"], initial=[1.0, 1.0],
                   parameters={"logical": 1.0}, intermediates=[("doublereal", "real*real")],
                   rhs=["logical-doublereal", "real-func"], aux=[("loss", "0.5*doublereal")],
                   jacobian=JacobianSpec([], [(0, 0, "-2.0*real"), (1, 0, "1.0"), (1, 1, "-1.0")]))


# ------------------------------------------------------------------ pure tests
def test_generate_files_and_constants():
    spec = logistic_spec([2.0], 3, continuation="gam")
    files = generate_auto(spec)
    assert list(files) == auto_filenames(spec.name) == ["logreg3.c", "c.logreg3", "logreg3.sh", "logreg3.auto"]
    c = files["logreg3.c"]
    for fn in ("func", "stpnt", "bcnd", "icnd", "fopt", "pvls"):
        assert re.search(rf"^int {fn}\(", c, re.M), fn
    assert '#include "auto_f2c.h"' in c
    k = files["c.logreg3"]
    assert "NDIM = 1, IPS = 1" in k and "ICP = ['gam', 'loss']" in k and "JAC = -1" in k
    lo, hi = spec.continuation.parameter_range
    assert f"UZSTOP = {{'gam': [{lo!r}, {hi!r}]}}" in k
    assert "parnames = {1: 's1', 2: 'gam', 3: 'loss'}" in k
    assert files == generate_auto(spec)                              # deterministic
    sh = files["logreg3.sh"]
    assert "DS = -0.01" in sh and "b.logreg3" in sh
    assert "rm -rf" not in sh and "clean()" not in files["logreg3.auto"]
    one_way = generate_auto(spec, both_directions=False, step=-0.02)
    assert "DS = -0.02," in one_way["c.logreg3"] and "DS = 0.02" not in one_way["logreg3.sh"]


def test_generate_without_jacobian_and_errors():
    spec = paper_spec("62", jacobian=False)
    files = generate_auto(spec, parameter="s1", parameter_range=(0.5, 2.0))
    assert "JAC = 0" in files["c.paper62"] and "dfdu[" not in files["paper62.c"]
    with pytest.raises(ValueError, match="parameter"):
        generate_auto(spec)                                  # no continuation block, no parameter
    with pytest.raises(ValueError, match="not a parameter"):
        generate_auto(spec, parameter="gam", parameter_range=(0, 1))
    with pytest.raises(ValueError, match="outside"):
        generate_auto(spec, parameter="s1", parameter_range=(2.0, 3.0))
    with pytest.raises(ValueError, match="step"):
        generate_auto(spec, parameter="s1", parameter_range=(0.5, 2.0), step=0.0)
    with pytest.raises(ValueError, match="monitor"):
        generate_auto(spec, parameter="s1", parameter_range=(0.5, 2.0), monitor=["nope"])


def test_c_names_that_clash_are_renamed():
    c = generate_auto(_fold_spec(), parameter="logical", parameter_range=(-0.5, 2.0))["clash.c"]
    assert "const doublereal real_ = u[0];" in c and "const doublereal func_ = u[1];" in c
    assert "const doublereal logical_ = par[0];" in c and "doublereal_ = real_*real_" in c
    assert not re.search(r"doublereal (real|func|logical|doublereal) =", c)


def test_write_refuses_to_overwrite(tmp_path):
    spec = chain_leaf_spec(2, 1.0)
    paths = write_auto(spec, tmp_path / "out")
    assert [p.name for p in paths] == auto_filenames(spec.name)
    target = tmp_path / "out" / "leaf62.c"
    target.write_text("old")
    with pytest.raises(ValueError, match=re.escape(str(target))):
        write_auto(spec, tmp_path / "out")
    assert target.read_text() == "old"
    write_auto(spec, tmp_path / "out", force=True)
    assert target.read_text() == generate_auto(spec)["leaf62.c"]


_B_SAMPLE = """\
   0  -1.7976+308  1.7976+308 -1.7976+308  1.7976+308
   0   NDIM=   1   IPS =   1   IRS =   0   ILP =   1
   0   parnames = {1: 's1', 2: 'gam'}
   0   unames   = {1: 'z1'}
   0
   0    PT  TY  LAB      gam             L2-NORM               z1
   1     1   9    1  0.0000000000E+000  1.4142135624E+000  1.4142135624E+000
   1    -2   0    0  1.0000000000E-002  1.4106735980E+000  1.4106735980E+000
   1   -33   2    2  1.9999999999E+000  1.2345678901-100  1.2345678901-100
   1    34   1    3  2.5000000000E+000  0.0000000000E+000  0.0000000000E+000
   0
   0    PT  TY  LAB      gam             L2-NORM               z1
   1     1   9    1  0.0000000000E+000  1.4142135624E+000  1.4142135624E+000
   1   -12  -4    2 -3.0000000000E-001  1.5165750888E+000  1.5165750888E+000
"""


def test_read_b_file_sample(tmp_path):
    p = tmp_path / "fort.7"
    p.write_text(_B_SAMPLE)
    res = read_auto_fort7(p)
    assert len(res.branches) == 2 and res.parnames == {1: "s1", 2: "gam"} and res.unames == {1: "z1"}
    b = res.branches[0]
    assert b.columns == ["gam", "L2-NORM", "z1"] and b.parameter == "gam"
    assert b.stable.tolist() == [False, True, True, False]
    assert b.point.tolist() == [1, 2, 33, 34]
    assert b.column("z1")[2] == pytest.approx(1.2345678901e-100)      # Fortran's E-less exponent
    types = [(sp.type, sp.value) for sp in res.special_points()]
    assert types == [("EP", 0.0), ("LP", 1.9999999999), ("BP", 2.5), ("EP", 0.0), ("UZ", -0.3)]
    assert [sp.type for sp in res.bifurcations()] == ["LP", "BP"]
    assert res.special_points("BP")[0].stable is False
    np.testing.assert_allclose(res.column("gam")[-1], -0.3)
    bad = tmp_path / "bad"
    bad.write_text("   1     1   9    1  0.0\n")
    with pytest.raises(ValueError, match="before any column header"):
        read_auto_branch(bad)
    with pytest.raises(ValueError, match="not a file"):
        read_auto_branch(tmp_path / "missing")


# ----------------------------------------------------- cross-checks with AUTO
def _points_near(res, value, types, tol):
    return [sp for sp in res.special_points() if sp.type in types and abs(sp.value - value) < tol]


@pytest.mark.external
@pytest.mark.parametrize("sigma", [2.0, 0.7])
def test_logistic_h2_branch_point_at_gamma_equal_sigma(runner, sigma):
    # start on z = 0 at gamma = 0; AUTO switches branches at the BP by itself
    spec = logistic_spec([sigma], 2, z0=[0.0], continuation="gam", parameter_range=(-0.1, 1.5 * sigma))
    res = runner.run_auto(spec, branch_switching=True)
    bps = res.special_points("BP")
    print(f"\nlogistic h=2, sigma={sigma}: BP at gamma = {[round(sp.value, 12) for sp in bps]} "
          f"(analytic {sigma}); {res.wall_s:.2f} s")
    assert len(bps) == 1 and bps[0].value == pytest.approx(sigma, abs=1e-6)
    assert abs(bps[0].state[0]) < 1e-8
    triv = [b for b in res.branches if np.all(np.abs(b.column("z1")) < 1e-12)]
    nontriv = [b for b in res.branches if np.any(np.abs(b.column("z1")) > 1e-3)]
    assert triv and nontriv
    for b in triv:                     # z = 0: eigenvalue sigma - gamma
        g = b.column("gam")
        far = np.abs(g - sigma) > 1e-3
        np.testing.assert_array_equal(b.stable[far], g[far] > sigma)
    for b in nontriv:                  # the bifurcating branch z^2 = sigma - gamma, stable
        g, z = b.column("gam"), b.column("z1")
        np.testing.assert_allclose(z ** 2, sigma - g, atol=1e-8)
        assert np.all(b.stable[np.abs(z) > 1e-3])


@pytest.mark.external
def test_logistic_h2_from_the_nonzero_branch(runner):
    """The generator's default start (z = sqrt(sigma) at gamma = 0): the branch z^2 = sigma - gamma
    reaches z = 0 at gamma = sigma, where it is also a turning point in gamma; both AUTO's fold
    and branch test functions vanish there, so AUTO marks LP and/or BP (which, depends on the last
    digits of the start point) -- at gamma = sigma and nowhere else."""
    sigma = 2.0
    spec = logistic_spec([sigma], 2, continuation="gam")
    res = runner.run_auto(spec)
    hits = _points_near(res, sigma, ("LP", "BP"), 1e-6)
    print(f"\nlogistic h=2 from z=sqrt(sigma): {[(sp.type, sp.value) for sp in res.bifurcations()]}")
    assert hits and all(abs(sp.state[0]) < 1e-6 for sp in hits)
    assert all(abs(sp.value - sigma) < 1e-6 for sp in res.bifurcations())


@pytest.mark.external
@pytest.mark.parametrize("sigma", [2.0, 0.7])
def test_logistic_h3_fold_at_analytic_value(runner, sigma):
    gamma_lp = 0.75 * sigma * (sigma / 4) ** (1 / 3)
    z_lp = (sigma / 4) ** (1 / 3)
    spec = logistic_spec([sigma], 3, continuation="gam")
    res = runner.run_auto(spec)
    lps = res.special_points("LP")
    print(f"\nlogistic h=3, sigma={sigma}: LP at gamma = {[sp.value for sp in lps]} (analytic {gamma_lp!r}), "
          f"z = {[float(sp.state[0]) for sp in lps]} (analytic {z_lp!r}); {res.wall_s:.2f} s")
    assert len(lps) == 1
    assert lps[0].value == pytest.approx(gamma_lp, rel=1e-8)
    assert lps[0].state[0] == pytest.approx(z_lp, rel=1e-5)
    assert lps[0].parameters["gam"] == pytest.approx(gamma_lp, rel=1e-8)
    # the upper branch (z > z_LP) is stable, the lower one (0 < z < z_LP) unstable
    b = res.branches[0]
    z = b.column("z1")
    far = np.abs(z - z_lp) > 1e-2
    np.testing.assert_array_equal(b.stable[far & (z > 0)], (z > z_lp)[far & (z > 0)])
    # the monitored loss column is the spec's loss
    ev = spec.evaluator()
    for g, zz, loss in zip(b.column("gam")[:20], z[:20], b.column("loss")[:20]):
        assert loss == pytest.approx(ev.aux([zz], params={"gam": g})["loss"], rel=1e-9, abs=1e-12)


def _w64(c, sigma):
    w1 = np.sqrt((c + np.sqrt(c ** 2 + 4 * sigma ** 2)) / 2)
    return w1, sigma / w1


@pytest.mark.external
@pytest.mark.parametrize("form", ["leaf-reduced", "bordered"])
def test_62_on_a_leaf_has_no_fold(runner, form):
    sigma = 1.3
    if form == "leaf-reduced":
        spec = chain_leaf_spec(2, sigma)
    else:
        w1, w2 = _w64(0.5, sigma)
        spec = bordered_spec(Network((1, 1, 1), [sigma]), [w1, w2], parameter="c1")
    lo, hi = spec.continuation.parameter_range
    res = runner.run_auto(spec)
    assert res.bifurcations() == []                        # no LP, BP, HB on the leaf
    ends = sorted(sp.value for sp in res.special_points("UZ"))
    assert ends == pytest.approx([lo, hi], abs=1e-6)       # the whole range was covered
    c = res.column("c1")
    w1, w2 = _w64(c, sigma)
    if form == "leaf-reduced":
        err = np.max(np.abs(res.column("w2") - w2))
        # isolated and hyperbolic: the leaf eigenvalue -(s^2 + w1^4)/w1^2 < 0 everywhere (AUTO: stable)
        assert res.stable.all()
        np.testing.assert_allclose(res.column("vw1"), w1, atol=1e-9)
    else:
        err = max(np.max(np.abs(res.column("w1") - w1)), np.max(np.abs(res.column("w2") - w2)))
        assert np.max(np.abs(res.column("xmu1"))) < 1e-9
    print(f"\nAUTO on the leaf of (62) ({form}): {len(c)} points, c in [{c.min():.2f}, {c.max():.2f}], "
          f"max |w - (64)| = {err:.2e}, special points {[sp.type for sp in res.special_points()]}")
    assert err < 1e-8
    for sp in res.special_points():                        # full states from the s-file
        assert sp.state is not None and sp.parameters["c1"] == pytest.approx(sp.value)


@pytest.mark.external
def test_62_without_a_leaf_confuses_auto(runner):
    """The contrast that motivates leaves: on the full (62) every equilibrium lies on a curve of
    equilibria (zero eigenvalue), and AUTO's test functions fire at points that are not bifurcations."""
    spec = paper_spec("62", x0=[1.0, 1.0])
    res = runner.run_auto(spec, parameter="s1", parameter_range=(0.5, 2.0))
    spurious = [sp for sp in res.special_points() if sp.type in ("LP", "BP", "MX")]
    print(f"\nAUTO on the full (62) in s1: {[(sp.type, round(sp.value, 4)) for sp in spurious]}")
    assert spurious


@pytest.mark.external
def test_clashing_names_compile_and_fold(runner):
    res = runner.run_auto(_fold_spec(), parameter="logical", parameter_range=(-0.5, 2.0), step=-0.01)
    lps = res.special_points("LP")
    assert len(lps) == 1 and abs(lps[0].value) < 1e-8 and lps[0].state == pytest.approx([0, 0], abs=1e-4)


@pytest.mark.external
def test_clui_driver_agrees_with_shell_driver(runner, tmp_path):
    exe = require_tool("auto-07p")
    spec = logistic_spec([2.0], 3, continuation="gam")
    write_auto(spec, tmp_path)
    proc = subprocess.run([exe, f"{spec.name}.auto"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    clui = read_auto(tmp_path, spec.name)
    shell = runner.run_auto(spec)
    a = [(sp.type, round(sp.value, 9)) for sp in clui.special_points()]
    b = [(sp.type, round(sp.value, 9)) for sp in shell.special_points()]
    assert a == b and ("LP", round(0.75 * 2.0 * 0.5 ** (1 / 3), 9)) in a
    assert len(read_auto_solutions(tmp_path / f"s.{spec.name}")) == len(a)


@pytest.mark.external
def test_section61_equations_compile(runner, tmp_path):
    """The 198-variable network (no Jacobian) in AUTO's C: compiles cleanly with gcc."""
    spec = network_spec(section61_network(), name="sec61")
    files = generate_auto(spec, parameter="s1", parameter_range=(6.0, 8.0))
    (tmp_path / "sec61.c").write_text(files["sec61.c"])
    proc = subprocess.run(["gcc", "-fsyntax-only", "-Wall", "-I/usr/lib/auto-07p/include", "sec61.c"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error" not in proc.stderr
