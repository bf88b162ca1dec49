"""Continuation through PyCoBi (AUTO-07p driven from Python, models built by PyRates).

``dlnsys.continuation(..., backend="pycobi")`` lands here. The problem is set up exactly as for
the built-in continuation (same validation, start point, law selection, leaf), written as an
:class:`~dlnsys.emit.spec.OdeSpec` (``logistic_spec``, ``bordered_spec`` or ``network_spec``),
emitted as a PyRates template (:mod:`dlnsys.emit.pyrates`) and handed to
``pycobi.ODESystem.from_yaml``, which generates Fortran through PyRates and runs AUTO-07p.
The result is the same :class:`dlnsys.continuation.Branch` the built-in backend returns.

What comes from AUTO and what from dlnsys
    Points, parameter values, states, multipliers and the LP/BP labels are AUTO's (every
    step is labelled, ``NPR = 1``, so the s-file holds every full state). Stability is
    dlnsys's definition, evaluated at AUTO's points: the eigenvalues of the flow restricted to
    the leaf (the bordered system's own eigenvalues, which AUTO reports, always include as many
    positive ones as there are laws, see ``bordered_spec``), so the two backends label stability
    the same way. ``test_value`` of a special point is NaN (AUTO does not report it).
    Branch switching (``switch=True``): AUTO restarts from each BP with ``ISW = -1`` in both
    directions (``MXBF = 0``: AUTO's automatic switching is off, dlnsys decides, as built in).

Run-time fixes (all here, none edits a file of AUTO, PyCoBi or PyRates; checked with Debian
``auto-07p`` 0.9.2, ``pycobi`` 1.1.0, ``pyrates`` 1.2.3, numpy 2):

1. AUTO's Python package is at ``<AUTO_DIR>/python`` (Debian: ``/usr/lib/auto-07p/python``),
   not on ``sys.path``, and PyCoBi needs ``AUTO_DIR``: :func:`auto_dir` finds it
   (``$AUTO_DIR``, else ``/usr/lib/auto-07p``) and :func:`_import_auto` puts it on the path.
2. ``auto/parseS.py`` (``fileS.readfloats``, line 159) compares a numpy array with ``[]``, which
   numpy 2 refuses (upstream auto-07p issue 37), and its fallback ``N.array(map(...))`` is
   Python 2 code: :func:`_patch_parses` replaces that one method with a numpy-2 version.
3. PyCoBi's per-point diagnostics (``pycobi/utility.py:198``) raise ``AttributeError`` on
   AUTO's multi-branch results (``MXBF > 0``) and misread stability: runs use ``MXBF = 0``
   and ``get_stability=False``, and dlnsys reads ``fort.7``/``fort.8`` itself
   (:func:`dlnsys.emit.auto.read_auto`) instead of PyCoBi's summary table.
4. AUTO's Python wrapper keeps ``parnames``/``unames`` between runs and PyRates names its
   Fortran module after ``file_name``: every run resets AUTO's state
   (``ODESystem.reset_auto_state``), uses a fresh temporary folder and a unique module name,
   and restores the working directory (PyCoBi ``chdir``\\ s into its folder).
5. ``pyrates`` 1.2.3 imports ``pkg_resources``: the ``pycobi`` extra pins ``setuptools<81``.
6. PyRates' Fortran has real literals without a kind (``y(1) = 0.5502505227``, ``0.1*x``), which
   Fortran reads in single precision: the start point and any non-dyadic constant would be off by
   ~1e-8. :func:`_double_literals` rewrites them as ``d0`` literals in the generated ``.f90``
   (in dlnsys's temporary folder) before AUTO compiles it.

Work is bounded: AUTO takes at most ``max_steps`` steps per run (``NMX``), compilation is one
gfortran call; everything AUTO prints is captured (shown in the error message on failure).
"""
from __future__ import annotations

import contextlib
import gc
import io
import itertools
import math
import os
import re
import shutil
import sys
import tempfile
import warnings

import numpy as np

__all__ = ["available", "auto_dir", "continuation_pycobi", "INSTALL_HINT", "PyCoBiUnavailable"]

INSTALL_HINT = ("install it with: pip install 'dlnsys[pycobi]' (PyCoBi + PyRates), plus Debian packages "
                "auto-07p and gfortran (make externals does both)")
_DEFAULT_AUTO_DIR = "/usr/lib/auto-07p"
_counter = itertools.count(1)
_patched = False


class PyCoBiUnavailable(ImportError, ValueError):
    """PyCoBi, PyRates or AUTO-07p is missing (a ValueError too, so the CLI exits 2 with one line)."""


def auto_dir():
    """The AUTO-07p installation folder (``$AUTO_DIR`` or Debian's ``/usr/lib/auto-07p``), or None."""
    for cand in (os.environ.get("AUTO_DIR"), _DEFAULT_AUTO_DIR):
        if cand and os.path.isdir(os.path.join(cand, "python", "auto")) and os.path.isdir(os.path.join(cand, "lib")):
            return cand
    return None


def available():
    """``(True, '')`` when PyCoBi, PyRates, AUTO-07p and gfortran are usable, else ``(False, reason)``."""
    try:
        _import_all()
    except PyCoBiUnavailable as exc:
        return False, str(exc)
    return True, ""


def _import_auto(adir):
    os.environ.setdefault("AUTO_DIR", adir)
    path = os.path.join(adir, "python")
    if path not in sys.path:
        sys.path.append(path)       # appended: never shadows an installed package
    import auto  # noqa: F401  (AUTO's Python package)
    _patch_parses()


def _patch_parses():
    """Fix 2 of the module docstring: a numpy-2-safe ``auto.parseS.fileS.readfloats``."""
    global _patched
    if _patched:
        return
    from auto import parseB, parseS

    def readfloats(self, i, total):
        data = self.readstr(i)
        if isinstance(data, np.ndarray):
            return data
        toks = data.split()
        try:
            fdata = np.array([float(t) for t in toks], dtype=float)
        except ValueError:          # Fortran output such as 1.5-100 or 1.0D+00
            fdata = np.array([parseB.AUTOatof(t) for t in toks], dtype=float)
        if len(fdata) != total:
            raise parseS.PrematureEndofData
        self.solutions[i]["data"] = fdata
        return fdata

    readfloats.__doc__ = "dlnsys: numpy-2-safe replacement (see dlnsys._pycobi)."
    parseS.fileS.readfloats = readfloats
    _patched = True


def _import_all():
    try:
        import pyrates  # noqa: F401
        from pycobi import ODESystem
    except Exception as exc:     # ImportError, or pkg_resources missing under setuptools >= 81
        raise PyCoBiUnavailable(f"backend='pycobi': PyCoBi/PyRates not importable ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}); {INSTALL_HINT}") from None
    adir = auto_dir()
    if adir is None:
        raise PyCoBiUnavailable(f"backend='pycobi': AUTO-07p not found (looked at $AUTO_DIR and "
                                f"{_DEFAULT_AUTO_DIR}); {INSTALL_HINT}")
    if shutil.which("gfortran") is None:
        raise PyCoBiUnavailable(f"backend='pycobi': gfortran not found on PATH (AUTO-07p links every model "
                                f"with it); {INSTALL_HINT}")
    try:
        _import_auto(adir)
    except Exception as exc:
        raise PyCoBiUnavailable(f"backend='pycobi': AUTO-07p's Python package in {adir}/python does not import "
                                f"({type(exc).__name__}: {exc}); {INSTALL_HINT}") from None
    return ODESystem, adir


# ----------------------------------------------------------------------------- problem -> spec
def _spec_for(P, u0, p0, param, system, name):
    """The OdeSpec whose equilibria are the solutions of the built-in problem ``P``, and the
    name of the spec parameter that plays ``param``."""
    from .continuation import _LogisticProblem
    from .emit import generators as g

    if isinstance(P, _LogisticProblem):
        s = system
        sigma, gamma = (p0, s.gamma) if P.ptype == "sigma" else (s.sigma, p0)
        # built at placeholder values (logistic_spec checks sigma > 0, gamma >= 0 as a Network does;
        # continuation may start anywhere), then the real values
        spec = g.logistic_spec([1.0], s.h, [float(u0[0])], gamma=0.0, regularized=True, name=name)
        spec.parameters["s1"], spec.parameters["gam"] = float(sigma), float(gamma)
        spec.validate()
        return spec, ("s1" if P.ptype == "sigma" else "gam")
    view = P.view(p0)
    from .network import Network
    # Network enforces sigma > 0 ordered; the spec only needs the numbers, so build it at the
    # network's own sigma and overwrite the parameter value (as continuation's _View does).
    net = Network(P.net.dims, P.net.sigma, float(view.gamma) if P.ptype == "gamma" else P.net.gamma)
    x = np.asarray(u0[:P.n], dtype=float)
    if P.formulation == "bordered":
        pname = {"c": None, "sigma": f"s{P.index + 1}", "gamma": "gam"}[P.ptype]
        spec = g.bordered_spec(net, x, parameter="c1", name=name, laws=[int(k) for k in P.sel])
        if P.ptype == "c":
            # bordered_spec numbers its constants by position in the law subset
            pname = f"c{P.kpos + 1}"
        # the constants at x (on the start leaf) are the built-in targets
        for k, c in enumerate(P.tsel(p0)):
            spec.parameters[f"c{k + 1}"] = float(c)
    else:
        spec = g.network_spec(net, x, name=name, regularized=True, jacobian=False, conserved=False)
        pname = {"sigma": f"s{P.index + 1}", "gamma": "gam"}[P.ptype]
    for j, sj in enumerate(view.sigma):
        spec.parameters[f"s{j + 1}"] = float(sj)
    if "gam" in spec.parameters:
        spec.parameters["gam"] = float(view.gamma)
    spec.validate()
    return spec, pname


# ----------------------------------------------------------------------------- running
class _Session:
    """One PyCoBi ODESystem in a temporary folder; AUTO's output is captured in ``log``."""

    def __init__(self, spec, jacobian):
        from .emit.pyrates import generate_pyrates
        ODESystem, adir = _import_all()
        self.spec = spec
        self.log = io.StringIO()
        self.cwd = os.getcwd()
        self.dir = tempfile.mkdtemp(prefix="dlnsys-pycobi-")
        path = os.path.join(self.dir, spec.name + ".yaml")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(generate_pyrates(spec, aux=False))
        self.prefix = f"p/{spec.name}_op/"
        self.module = f"dlnsys_eq{os.getpid()}_{next(_counter)}"
        ODESystem.reset_auto_state()
        _clear_pyrates_caches()
        try:
            with self._quiet():
                self.ode = ODESystem.from_yaml(f"{self.dir}/{spec.name}/{spec.name}", working_dir=self.dir,
                                               auto_dir=adir, init_cont=False, auto_constants=("eq",),
                                               analytical_jacobian=jacobian, file_name=self.module)
            # fix 6: PyRates writes real literals without a kind (single precision in Fortran)
            _double_literals(os.path.join(self.dir, self.module + ".f90"))
        except BaseException:
            self.close()
            raise

    @contextlib.contextmanager
    def _quiet(self):
        try:
            # AUTO's parser leaves fort.9 open: its ResourceWarning is noise for dlnsys's users
            with contextlib.redirect_stdout(self.log), contextlib.redirect_stderr(self.log), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                yield
                gc.collect()
        finally:
            os.chdir(self.cwd)

    def run(self, **kw):
        """One AUTO run; returns ``dlnsys.emit.auto.AutoResult`` read from this run's fort.7/fort.8."""
        from .emit.auto import read_auto
        for f in ("fort.7", "fort.8", "fort.9"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.dir, f))
        with self._quiet():
            os.chdir(self.dir)
            _, sol = self.ode.run(c="eq", get_stability=False, **kw)
        # PyCoBi's key of this run: the origin of restarts from its labels (BP1, BP2, ...)
        self.last_key = getattr(sol, "pycobi_key", None)
        if not os.path.isfile(os.path.join(self.dir, "fort.7")):
            raise RuntimeError("backend='pycobi': AUTO-07p wrote no results; its output ends with:\n"
                               + _tail(self.log.getvalue()))
        return read_auto(self.dir)

    def close(self):
        os.chdir(self.cwd)
        _clear_pyrates_caches()
        self.module_cleanup()
        if os.environ.get("DLNSYS_PYCOBI_KEEP", "") not in ("", "0"):
            sys.stderr.write(f"dlnsys: PyCoBi files kept in {self.dir} (DLNSYS_PYCOBI_KEEP)\n")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def module_cleanup(self):
        for m in [m for m in sys.modules if m == self.module or m.startswith(self.module + ".")]:
            del sys.modules[m]


_REAL_LITERAL = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+)(?:[eE]([+-]?\d+))?(?![\w.])")


def _double_literals(path):
    """Rewrite every real literal of a generated Fortran file in double precision (``0.3`` ->
    ``0.3d0``): a literal without a kind is single precision, so PyRates' ``y(1) = 0.5502505227``
    in ``stpnt`` starts AUTO at 0.55025052 (float32) and ``0.1*x`` in an equation is 0.1 + 1.5e-9."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    new = _REAL_LITERAL.sub(lambda m: f"{m.group(1)}d{m.group(2) or '0'}", text)
    if new != text:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)


def _clear_pyrates_caches():
    from pyrates import clear_frontend_caches
    clear_frontend_caches()


def _tail(text, n=15):
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[-n:])


def _points(result, P, pidx_name):
    """``[(type, y)]`` along one AUTO run (y = (u, p)), in AUTO's order, from the s-file."""
    sols = result.solutions
    out = []
    for s in sols:
        if not s.icp:
            continue
        p = float(s.par[s.icp[0] - 1])
        u = np.asarray(s.state, dtype=float).reshape(-1)
        out.append((s.type, np.append(u, p)))
    return out


def continuation_pycobi(system, x0=None, *, param, p_to, p_from=None, leaf=None, step=0.05, max_steps=5000,
                        formulation="auto", start="auto", switch=True, max_depth=1, tol=1e-11, bound=1e3,
                        min_step=1e-10, max_step=None):
    """:func:`dlnsys.continuation.continuation` through PyCoBi/AUTO-07p (same arguments, same Branch).

    See the module docstring for what comes from AUTO and what from dlnsys. ``tol`` sets AUTO's
    ``EPSL``/``EPSU`` (at least 1e-10: AUTO's s-file keeps 11 significant digits), special points
    are located to ``EPSS = 1e-9`` (relative arclength).

    Raises
    ------
    PyCoBiUnavailable
        PyCoBi, PyRates, AUTO-07p or gfortran is missing (also a ValueError).
    ValueError
        Bad arguments: checked by :func:`dlnsys.continuation.continuation` before it calls this.
    """
    import importlib
    C = importlib.import_module(".continuation", __package__)   # the module (the package exports the function)

    _import_all()                          # fail fast, before any set-up work
    LogisticSystem = C.LogisticSystem
    # the arguments were checked (and converted) by continuation(), which calls this
    ptype, index = C._parse_param(param, system)
    max_step = step if max_step is None else max_step
    if isinstance(system, LogisticSystem):
        P = C._LogisticProblem(system, ptype)
        p0 = P.value0() if p_from is None else C._finite(p_from, "p_from")
        if x0 is not None and np.size(x0) != 1:
            raise ValueError(f"x0: the logistic equation has one state z, got {np.size(x0)} values")
        u0 = np.zeros(1) if x0 is None else np.asarray(x0, dtype=float).reshape(-1)[:1]
        fixed = f"gamma = {system.gamma:g}" if ptype == "sigma" else f"sigma = {system.sigma:g}"
        desc = f"z' = z^{system.h - 1} (sigma - z^{system.h}) - gamma z ({fixed})"
        leafvec = np.zeros(0)
    else:
        if system.mask is not None:
            raise ValueError("net: continuation needs a network without a mask")
        p0 = None if p_from is None else C._finite(p_from, "p_from")
        P, u0, p0, leafvec = C._setup_network(system, x0, ptype, index, p0, p_to, leaf, formulation, start)
        desc = (f"Network(dims={system.dims}, sigma={[float(s) for s in system.sigma]}, "
                f"gamma={system.gamma:g})")
    if p0 == p_to:
        raise ValueError(f"p_to: equals the start value {p0!r}; nothing to continue")
    R = C._Runner(P, tol, 12, bound)
    u0, ok = R.correct_fixed_p(u0, p0)
    if not ok:
        raise ValueError(f"x0: not an equilibrium at {param} = {p0:g} and Newton did not reach one "
                         f"(|G| = {np.linalg.norm(P.G(u0, p0)):.3g})")
    # a new model name per run: PyRates caches operator templates by name
    spec, pname = _spec_for(P, u0, p0, param, system, name=f"dlncont{os.getpid()}x{next(_counter)}")
    lo, hi = min(p0, p_to), max(p0, p_to)
    direction = 1.0 if p_to > p0 else -1.0
    n_unknowns = P.n + P.m
    # PyRates differentiates with SymPy: 21 s at 32 unknowns, > 18 min at 198 (tools/EXTERNAL-TOOLS.md)
    sess = _Session(spec, jacobian=n_unknowns <= 16)
    try:
        icp = sess.prefix + pname
        consts = dict(ICP=icp, NMX=int(max_steps) + 1, NPR=1, MXBF=0, ILP=1, ISP=2, ISW=1,
                      DSMIN=float(min_step), DSMAX=float(max_step),
                      EPSL=max(tol, 1e-10), EPSU=max(tol, 1e-10), EPSS=1e-9, ITNW=12, NWTN=4, ITMX=8,
                      A1=float(bound), UZSTOP={icp: [lo, hi]},
                      # backstop: UZSTOP is missed when a BP falls on the range end (one label per step)
                      RL0=lo - 2 * max_step, RL1=hi + 2 * max_step)
        result = sess.run(DS=direction * step, **consts)
        opts = dict(switch=bool(switch), max_depth=int(max_depth), step=step, lo=lo, hi=hi, bound=bound,
                    max_steps=int(max_steps))
        return _branch(sess, result, P, desc, param, leafvec, consts, opts, depth=0, skip_first=False)
    finally:
        sess.close()


def _branch(sess, result, P, desc, param, leafvec, consts, opts, depth, skip_first):
    """A dlnsys Branch from one AUTO run (and, recursively, the runs switched to at its BPs)."""
    from .continuation import Branch, SpecialPoint, _record

    origin = sess.last_key                 # PyCoBi's key of the run that produced `result`
    pts = _points(result, P, None)
    lo, hi = opts["lo"], opts["hi"]
    tol_p = 1e-9 * max(1.0, abs(lo), abs(hi))
    outside = [k for k, (_, y) in enumerate(pts) if not lo - tol_p <= y[-1] <= hi + tol_p]
    cut = bool(outside) and outside[0] > 0
    if cut:             # RL0/RL1 stopped AUTO past the range end (UZSTOP missed at a BP there)
        pts = pts[:outside[0]]
    ys = [y for _, y in pts]
    types = [t for t, _ in pts]
    recs = [_record(P, y) for y in ys]
    specials = []
    status, message = "max_steps", f"stopped after max_steps = {opts['max_steps']} steps"
    last = types[-1] if types else ""
    end_p = ys[-1][-1] if ys else math.nan
    if any(t == "MX" for t in types):
        status, message = "failed", "AUTO-07p: no convergence (MX)"
    elif ys and (abs(end_p - lo) <= tol_p or abs(end_p - hi) <= tol_p) and len(ys) > 1:
        status, message = "ok", ""
    elif cut:
        status, message = "ok", "AUTO-07p stepped past the end of the range; cut at the last point inside"
    elif ys and np.linalg.norm(ys[-1][:-1]) >= opts["bound"] * (1 - 1e-6):
        status, message = "unbounded", f"|u| exceeded bound = {opts['bound']:g}"
    bp_count = 0
    for k, (t, y) in enumerate(pts):
        if t == "LP":
            specials.append(SpecialPoint(type="LP", index=k, parameter=float(y[-1]), state=np.array(P.state(y[:-1])),
                                         multipliers=np.array(P.mult(y[:-1])), eigenvalues=np.asarray(recs[k][0]),
                                         test_value=math.nan, note="fold: the parameter turns back (AUTO-07p LP)"))
        elif t == "BP":
            bp_count += 1
            if skip_first and k == 0:
                continue
            sp = SpecialPoint(type="BP", index=k, parameter=float(y[-1]), state=np.array(P.state(y[:-1])),
                              multipliers=np.array(P.mult(y[:-1])), eigenvalues=np.asarray(recs[k][0]),
                              test_value=math.nan, note="branch point (AUTO-07p BP)")
            if opts["switch"] and depth < opts["max_depth"]:
                for sgn in (1.0, -1.0):
                    sub = sess.run(starting_point=f"BP{bp_count}", origin=origin,
                                   **dict(consts, ISW=-1, DS=sgn * opts["step"]))
                    b = _branch(sess, sub, P, desc, param, leafvec, consts, opts, depth + 1, skip_first=True)
                    if len(b) > 1:
                        sp.branches.append(b)
            specials.append(sp)
    if status == "ok" and ys:
        k = len(ys) - 1
        specials.append(SpecialPoint(type="EP", index=k, parameter=float(ys[k][-1]), state=np.array(P.state(ys[k][:-1])),
                                     multipliers=np.array(P.mult(ys[k][:-1])), eigenvalues=np.asarray(recs[k][0]),
                                     test_value=float(ys[k][-1] - (hi if abs(ys[k][-1] - hi) <= tol_p else lo)),
                                     note="end of the parameter range"))
    for sp in specials:
        pos = sp.index
        before = recs[pos - 1][1] if pos > 0 else recs[pos][1]
        after = recs[pos + 1][1] if pos + 1 < len(recs) else recs[pos][1]
        sp.stability = (before, after)
    Y = np.array(ys) if ys else np.zeros((0, P.n + P.m + 1))
    from .continuation import _NetProblem
    sigs = [P.signature(y[:-1], y[-1]) for y in ys] if isinstance(P, _NetProblem) else None
    return Branch(system=desc + " [PyCoBi/AUTO-07p]", param=param, formulation=P.formulation, parameter=Y[:, -1],
                  states=np.array([P.state(y[:-1]) for y in ys]), multipliers=np.array([P.mult(y[:-1]) for y in ys]),
                  eigenvalues=[r[0] for r in recs], stability=[r[1] for r in recs],
                  n_unstable=np.array([r[2] for r in recs], dtype=int), signatures=sigs, special_points=specials,
                  laws=[int(k) for k in P.sel], leaf=np.asarray(leafvec), status=status, message=message, depth=depth)

