"""PyDSTool writer: an :class:`~dlnsys.emit.spec.OdeSpec` as a Python 3.9 script.

PyDSTool 0.91 only imports on Python <= 3.9 with numpy < 1.20, so dlnsys never imports it:
it writes a self-contained script that needs only PyDSTool and numpy (plus the standard
library) and runs in that environment::

    python model.py [--out result.json] [--integrator vode|dopri|radau] [--t-final T]

The script builds PyDSTool's ``args`` -- ``varspecs`` (right-hand sides written in helper
names only), ``reuseterms`` (``{expression: name}`` for the spec's intermediates, in
dependency order), ``auxvars`` (loss, conserved quantities), ``pars``, ``ics``,
``fnspecs['Jacobian']`` (the spec's analytic Jacobian, rows and columns in PyDSTool's sorted
variable order; never ``Jacobian_pars``, which breaks PyCont), ``tdomain``, ``algparams``
-- and the Generator the user picks (``Vode_ODEsystem``, ``Dopri_ODEsystem``,
``Radau_ODEsystem``). Run as a script it integrates and writes the result as JSON; for a
spec with a continuation block it runs PyCont's EP-C curve in the free parameter instead
(``--integrate`` integrates anyway). The compiled generators (Dopri, Radau) build in
``./dop853_temp`` or ``./radau5_temp`` under the current directory (``--build-dir`` moves
that). Other options: ``--jacobian-at FILE`` / ``--rhs-at FILE`` evaluate the generator's
Jacobian / vector field at the states listed in a JSON file (used by the cross-checks).

The script contains literals (names, numbers, expression strings of the spec's whitelisted
language) and the code that hands them to PyDSTool; it reads nothing but the optional
JSON data files named on its command line.

Building a compiled generator costs time roughly quadratic in the spec text, so the script
keeps the spec compact: every expression is re-rendered with minimal parentheses and each
intermediate appears once.
"""
from __future__ import annotations

import re
from pathlib import Path

from .spec import INTEGRATORS, OdeSpec, render

__all__ = ["generate_pydstool", "write_pydstool", "script_filename", "GENERATOR_CLASSES"]

#: PyDSTool Generator class for each integrator name.
GENERATOR_CLASSES = {"vode": "Vode_ODEsystem", "dopri": "Dopri_ODEsystem", "radau": "Radau_ODEsystem"}

_DEFAULTS = {"t_end": 10.0, "rtol": 1e-9, "atol": 1e-12}
_N_OUT = 100  # output samples of the trajectory when the spec gives no dt

_TOKEN_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _eqs_text(eqs):
    """The paper's equation numbers for a comment (metadata is validated safe text)."""
    if isinstance(eqs, (list, tuple)):
        return ", ".join(f"({e})" for e in eqs)
    return str(eqs)


def script_filename(spec: OdeSpec) -> str:
    """The file name :func:`write_pydstool` uses inside a directory: ``<name>.py``."""
    return f"{spec.name}.py"


def _substitute(expr, mapping):
    """Replace whole names (never parts of names or numbers) by ``mapping[name]``."""
    if not mapping:
        return expr

    def repl(m):
        tok = m.group(0)
        return mapping.get(tok, tok)

    return _TOKEN_RE.sub(repl, expr)


# Names PyDSTool protects (math, random, scipy.special aliases, its own helpers) that the spec's
# RESERVED list does not already exclude; up to the spec's 10-character limit. PyDSTool refuses
# them as variables or parameters and silently shadows them as reused terms.
_PYDSTOOL_PROTECTED = frozenset("""
    BPF LOG4 Random TWOPI acosh arccosh arcsinh arctan2 arctanh asinh atanh choice choices comb
    copysign degrees dist expovariate factorial fsum gauss gcd getbound getindex getstate
    initcond isclose isfinite isinf isnan isqrt lcm nextafter perm prod radians randbytes randint
    random randrange remainder sample seed setstate shuffle triangular ulp uniform
""".split())
# PyDSTool's tokenizer reads a name that starts with e or E and a digit as a number or as
# math.e (checked: e1, e01, e1x, E1 and e1_ all break a Vode generator).
_PYDSTOOL_BAD_START = re.compile(r"^[eE][0-9]")


def _pydstool_names(spec):
    """``{spec name: PyDSTool name}`` for the names PyDSTool cannot take as they are."""
    names = spec.symbols()
    used = {n.lower() for n in names}
    out = {}
    for n in names:
        if n in _PYDSTOOL_PROTECTED or _PYDSTOOL_BAD_START.match(n):
            new = f"n_{n}" if _PYDSTOOL_BAD_START.match(n) else f"{n}_"
            while new.lower() in used or new in _PYDSTOOL_PROTECTED:
                new += "_"
            used.add(new.lower())
            out[n] = new
    return out


def _py(expr):
    """Minimal-parentheses text for PyDSTool. Powers are written ``pow(x,n)``: PyDSTool refuses
    ``**`` inside reused terms ("Operator ** is not allowed. Please use the pow() call")."""
    return render(expr, power="pow")


def _reuse_terms(spec, jac_inter, pmap):
    """``[(key, name)]`` for PyDSTool's ``reuseterms`` plus the renaming of dropped names.

    PyDSTool defines a reused term in a generated function when its *name* occurs in a
    right-hand side (or in an earlier term it needs), but it first searches each right-hand
    side for the term's *expression text* and replaces it with ``str.replace`` -- which would
    corrupt a right-hand side that happens to contain that text inside a longer name. So:
    intermediates that are a bare name or number are substituted away, duplicate expressions
    are merged (keys of a dict), and a key that occurs in any spec text is wrapped in extra
    parentheses until it does not.
    """
    rename = {}
    pairs = []
    seen = {}
    for nm, ex in list(spec.intermediates) + list(jac_inter):
        nm = pmap.get(nm, nm)
        text = _py(_substitute(_substitute(ex, pmap), rename))
        if _NUMBER_RE.match(text) or _NAME_RE.match(text):
            rename[nm] = text
            continue
        if text in seen:
            rename[nm] = seen[text]
            continue
        seen[text] = nm
        pairs.append([text, nm])
    return pairs, rename


def _unique_keys(pairs, texts):
    haystack = "\n".join(texts)
    keys = set()
    for pair in pairs:
        key = pair[0]
        while key in haystack or key in keys:
            key = f"({key})"
        pair[0] = key
        keys.add(key)
    return pairs


def _jacobian_text(spec, pmap, rename, variables, order):
    """Dense Jacobian string in PyDSTool's sorted variable order (rows and columns)."""
    n = spec.n
    pos = {v: k for k, v in enumerate(variables)}
    dense = [["0"] * n for _ in range(n)]
    for i, j, ex in spec.jacobian.entries:
        dense[i][j] = _py(_substitute(_substitute(ex, pmap), rename))
    perm = [pos[v] for v in order]
    if n == 1:
        return dense[0][0]
    rows = ["[" + ", ".join(dense[i][j] for j in perm) + "]" for i in perm]
    return "[" + ",\n ".join(rows) + "]"


def _fmt_pairs(pairs):
    return "".join(f"    ({a!r}, {b!r}),\n" for a, b in pairs)


def _fmt_dict(items):
    # repr: floats round-trip, strings are plain quoted literals (validated character set)
    return "".join(f"    {k!r}: {v!r},\n" for k, v in items)


def generate_pydstool(spec: OdeSpec, *, integrator=None, t_final=None, dt=None, rtol=None,
                      atol=None, jacobian=True, max_pts=None) -> str:
    """The PyDSTool script for ``spec`` (see the module docstring); a pure function.

    integrator: ``'vode'``, ``'dopri'`` or ``'radau'`` -- the default of the script's
        ``--integrator`` (spec option ``integrator``, else ``'vode'``).
    t_final, dt, rtol, atol: integration defaults (spec options ``t_end``, ``dt``, ``rtol``,
        ``atol``; else 10, ``t_final/100``, 1e-9, 1e-12). ``dt`` is Vode's output step and the
        spacing of the trajectory samples written to the result.
    jacobian: include the spec's analytic Jacobian (when it has one) as
        ``fnspecs['Jacobian']``; False leaves it out.
    max_pts: PyDSTool's ``max_pts`` (most stored steps). The compiled integrators allocate
        ``max_pts x n`` doubles up front (1e6 points of the 198-weight model cost 10 s), so the
        default is ``max(10_000, min(1_000_000, 5_000_000 // n))``.
    """
    if not isinstance(spec, OdeSpec):
        raise ValueError(f"spec: expected an OdeSpec, got {type(spec).__name__}")
    spec.validate()
    if spec.kind != "ode":
        raise ValueError(f"spec: kind {spec.kind!r} is not supported by the PyDSTool writer "
                         "(only 'ode'; write maps for XPPAUT)")
    opts = spec.options
    integrator = integrator if integrator is not None else opts.get("integrator", "vode")
    if integrator not in INTEGRATORS:
        raise ValueError(f"integrator: expected one of {INTEGRATORS}, got {integrator!r}")

    def positive(v, what, default):
        v = default if v is None else v
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: expected a positive number, got {v!r}") from None
        if not (f > 0 and f < float("inf")):
            raise ValueError(f"{what}: expected a positive finite number, got {v!r}")
        return f

    t_final = positive(t_final, "t_final", opts.get("t_end", _DEFAULTS["t_end"]))
    dt = positive(dt, "dt", opts.get("dt", t_final / _N_OUT))
    rtol = positive(rtol, "rtol", opts.get("rtol", _DEFAULTS["rtol"]))
    atol = positive(atol, "atol", opts.get("atol", _DEFAULTS["atol"]))
    if max_pts is None:
        max_pts = max(10_000, min(1_000_000, 5_000_000 // spec.n))
    if type(max_pts) is not int or max_pts < 1:
        raise ValueError(f"max_pts: expected a positive integer, got {max_pts!r}")

    use_jac = bool(jacobian) and spec.jacobian is not None
    jac_inter = spec.jacobian.intermediates if use_jac else []
    pmap = _pydstool_names(spec)
    pn = lambda n: pmap.get(n, n)  # noqa: E731
    variables = [pn(v) for v in spec.variables]
    pairs, rename = _reuse_terms(spec, jac_inter, pmap)
    rhs = [(v, _py(_substitute(_substitute(ex, pmap), rename))) for v, ex in zip(variables, spec.rhs)]
    aux = [(pn(nm), _py(_substitute(_substitute(ex, pmap), rename))) for nm, ex in spec.aux]
    order = sorted(variables)
    jac_text = _jacobian_text(spec, pmap, rename, variables, order) if use_jac else None
    texts = [t for _, t in rhs] + [t for _, t in aux] + ([jac_text] if jac_text else [])
    pairs = _unique_keys(pairs, texts)

    from .. import __version__
    md = spec.metadata
    eqs = md.get("equations")
    lines = []
    w = lines.append
    w("#!/usr/bin/env python3")
    w(f"# {spec.name}: {spec.description}" if spec.description else f"# {spec.name}")
    w(f"# PyDSTool model generated by dlnsys {__version__}; do not edit (regenerate instead).")
    if eqs is not None:
        w(f"# Paper equations: {_eqs_text(eqs)}")
    w("# Needs Python 3.9 with PyDSTool 0.91 and numpy < 1.20. Run:")
    w(f"#   python {spec.name}.py [--out result.json] [--integrator vode|dopri|radau] [--t-final T]")
    if spec.continuation is not None:
        w("#   (runs the PyCont EP-C continuation; --integrate integrates instead)")
    w("# Dopri and Radau compile C code in ./dop853_temp or ./radau5_temp (see --build-dir).")
    w("import argparse")
    w("import json")
    w("import os")
    w("import sys")
    w("import time")
    w("")
    w("import numpy as np")
    w("import PyDSTool as dst")
    w("")
    w(f"NAME = {spec.name!r}")
    w(f"VARIABLES = {variables!r}  # state order")
    w(f"INITIAL = {[float(v) for v in spec.initial]!r}")
    w("PARAMETERS = {")
    lines.append(_fmt_dict((pn(k), v) for k, v in spec.parameters.items()).rstrip("\n"))
    w("}")
    w("# names PyDSTool cannot take as they are: PyDSTool name -> spec name (results use spec names)")
    w(f"SPEC_NAMES = {dict((b, a) for a, b in pmap.items())!r}")
    w("# intermediates: (expression, name) in dependency order -> PyDSTool reuseterms")
    w("REUSE = [")
    if pairs:
        lines.append(_fmt_pairs(pairs).rstrip("\n"))
    w("]")
    w("RHS = {")
    lines.append(_fmt_dict(rhs).rstrip("\n"))
    w("}")
    w("AUX = {")
    if aux:
        lines.append(_fmt_dict(aux).rstrip("\n"))
    w("}")
    w("# analytic Jacobian; rows and columns in sorted(VARIABLES) order (PyDSTool's)")
    if jac_text is None:
        w("JACOBIAN = None")
    else:
        w("JACOBIAN = (")
        for row in jac_text.split("\n"):
            w(f"    {row!r}")
        w(")")
    if spec.continuation is not None:
        c = spec.continuation
        cont = {"parameter": pn(c.parameter), "form": c.form, "extra_unknowns": [pn(u) for u in c.extra_unknowns],
                "range": [float(c.parameter_range[0]), float(c.parameter_range[1])],
                "step": float(c.step), "max_steps": int(c.max_steps)}
        w(f"CONTINUATION = {cont!r}")
    else:
        w("CONTINUATION = None")
    w(f"INTEGRATOR = {integrator!r}")
    w(f"T_FINAL = {t_final!r}")
    w(f"DT = {dt!r}")
    w(f"RTOL = {rtol!r}")
    w(f"ATOL = {atol!r}")
    w(f"MAX_PTS = {max_pts!r}")
    w(f"METADATA = {md!r}")
    w(f"DLNSYS_VERSION = {__version__!r}")
    lines.append(_SCRIPT_BODY)
    return "\n".join(lines)


_SCRIPT_BODY = r'''GENERATORS = {'vode': 'Vode_ODEsystem', 'dopri': 'Dopri_ODEsystem', 'radau': 'Radau_ODEsystem'}
PYCONT_TYPES = {'H': 'HB', 'B': 'EP'}  # PyCont label -> AUTO-style name


def make_args(ics=None, pars=None, t_final=T_FINAL, dt=DT, rtol=RTOL, atol=ATOL, integrator=INTEGRATOR,
              max_pts=MAX_PTS):
    """PyDSTool's args for this model (ics and pars override the defaults)."""
    args = dst.args(name=NAME)
    varspecs = dict(RHS)
    varspecs.update(AUX)
    args.varspecs = varspecs
    args.auxvars = list(AUX)
    args.reuseterms = dict(REUSE)
    p = dict(PARAMETERS)
    p.update(pars or {})
    args.pars = p
    x0 = INITIAL if ics is None else [float(v) for v in ics]
    args.ics = dict(zip(VARIABLES, x0))
    if JACOBIAN is not None:
        args.fnspecs = {'Jacobian': (['t'] + sorted(VARIABLES), JACOBIAN)}
    args.tdomain = [0.0, float(t_final)]
    alg = {'rtol': float(rtol), 'atol': float(atol), 'max_pts': int(max_pts)}
    if integrator == 'vode':
        alg['init_step'] = float(dt)   # Vode's output step
    else:
        # Dopri and Radau store their own steps and interpolate linearly in between: record the
        # output times from their dense output instead
        alg['use_special'] = 1
        alg['specialtimes'] = sample_times(t_final, dt)
    args.algparams = alg
    return args


def spec_name(name):
    return SPEC_NAMES.get(name, name)


def sample_times(t_final, dt):
    n_out = max(1, int(round(float(t_final) / float(dt))))
    return [float(t_final) * k / n_out for k in range(n_out + 1)]


def make_generator(args, integrator=INTEGRATOR):
    if integrator not in GENERATORS:
        raise SystemExit('integrator: expected one of %s, got %r' % (sorted(GENERATORS), integrator))
    return getattr(dst.Generator, GENERATORS[integrator])(args)


def _state(point):
    return [float(point[v]) for v in VARIABLES]


def integrate(gen, t_final, dt, max_out=2000):
    """Integrate; the result holds stored points only (PyDSTool interpolates linearly between
    them), thinned evenly to at most max_out + 1 of them, the final point always included."""
    t0 = time.time()
    traj = gen.compute('run')
    run_s = time.time() - t0
    pts = traj.sample()
    tt = np.asarray(pts['t'], dtype=float)
    xx = np.array([pts[v] for v in VARIABLES], dtype=float).T
    keep = np.unique(np.r_[np.arange(0, len(tt), max(1, int(np.ceil(len(tt) / float(max_out))))), len(tt) - 1])
    t_end = float(tt[-1])
    final = traj(t_end)
    out = {
        'mode': 'integrate',
        't_final': t_end,
        'completed': bool(abs(t_end - t_final) <= 1e-9 * max(1.0, abs(t_final))),
        'x_final': [float(v) for v in xx[-1]],
        'aux_final': dict((spec_name(a), float(final[a])) for a in AUX),
        't': [float(v) for v in tt[keep]],
        'x': [[float(v) for v in row] for row in xx[keep]],
        'steps': int(len(tt)),
        'run_s': run_s,
    }
    return out


def continuation(gen):
    par = CONTINUATION['parameter']
    step = CONTINUATION['step']
    cont = dst.ContClass(gen)
    pc = dst.args(name='EQ1', type='EP-C')
    pc.freepars = [par]
    pc.StepSize = abs(step)
    pc.MaxStepSize = 10.0 * abs(step)
    pc.MinStepSize = 1e-6 * abs(step)
    pc.MaxNumPoints = int(CONTINUATION['max_steps'])
    pc.LocBifPoints = 'all'
    pc.SaveEigen = True
    pc.StopAtPoints = ['B']
    pc.verbosity = 0
    cont.newCurve(pc)
    curve = cont['EQ1']
    t0 = time.time()
    if step > 0:        # forward() goes towards larger parameter values
        curve.forward()
        curve.backward()
    else:
        curve.backward()
        curve.forward()
    run_s = time.time() - t0
    sol = curve.sol
    points, special = [], []
    for i in range(len(sol)):
        pt = sol[i]
        labels = pt.labels
        ep = labels.get('EP', {})
        evals = ep['data'].evals if 'data' in ep and hasattr(ep['data'], 'evals') else []
        points.append({
            'parameter': float(pt[par]),
            'x': _state(pt),
            'stability': ep.get('stab'),
            'eigenvalues_real': [float(np.real(e)) for e in evals],
            'eigenvalues_imag': [float(np.imag(e)) for e in evals],
        })
        for key in labels:
            if key in ('EP', 'P'):
                continue
            special.append({'type': PYCONT_TYPES.get(key, key), 'pycont_type': key, 'index': i,
                            'parameter': float(pt[par]), 'x': _state(pt)})
    return {'mode': 'continuation', 'parameter': spec_name(par), 'form': CONTINUATION['form'],
            'extra_unknowns': [spec_name(u) for u in CONTINUATION['extra_unknowns']], 'points': points,
            'special_points': special, 'run_s': run_s}


def _states_from(path):
    with open(path) as fh:
        data = json.load(fh)
    states = np.asarray(data, dtype=float)
    if states.ndim == 1:
        states = states[None, :]
    if states.ndim != 2 or states.shape[1] != len(VARIABLES):
        raise SystemExit('%s: expected a list of states with %d values each' % (path, len(VARIABLES)))
    return states


def jacobian_at(gen, states):
    """Jacobians at the given states (spec order), from the generator's Jacobian function."""
    order = sorted(VARIABLES)
    pos = [order.index(v) for v in VARIABLES]
    out = []
    for x in states:
        J = np.atleast_2d(np.asarray(gen.Jacobian(0.0, dict(zip(VARIABLES, x))), dtype=float))
        out.append(J[np.ix_(pos, pos)].tolist())
    return out


def rhs_at(gen, states):
    order = sorted(VARIABLES)
    pos = [order.index(v) for v in VARIABLES]
    out = []
    for x in states:
        f = np.atleast_1d(np.asarray(gen.Rhs(0.0, dict(zip(VARIABLES, x))), dtype=float))
        out.append(f[pos].tolist())
    return out


def _pydstool_version():
    # PyDSTool.__version__ is numpy's (PyDSTool does `from numpy import *`); ask the installer
    try:
        from importlib import metadata
        return metadata.version('pydstool')
    except Exception:
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(prog=NAME + '.py', description='PyDSTool model %s (generated by dlnsys)' % NAME)
    ap.add_argument('--out', default=NAME + '-result.json', help='result file (JSON); default %(default)s')
    ap.add_argument('--integrator', choices=sorted(GENERATORS), default=INTEGRATOR)
    ap.add_argument('--t-final', type=float, default=T_FINAL)
    ap.add_argument('--dt', type=float, default=None)
    ap.add_argument('--rtol', type=float, default=RTOL)
    ap.add_argument('--atol', type=float, default=ATOL)
    ap.add_argument('--max-pts', type=int, default=MAX_PTS, help='most stored points (default %(default)s)')
    ap.add_argument('--ics', help='JSON file with one initial state (list of %d numbers)' % len(VARIABLES))
    ap.add_argument('--integrate', action='store_true', help='integrate even if the model has a continuation block')
    ap.add_argument('--jacobian-at', help='JSON file with a list of states: write the Jacobians there')
    ap.add_argument('--rhs-at', help='JSON file with a list of states: write the vector field there')
    ap.add_argument('--build-dir', help='directory for the compiled integrator (default: current directory)')
    opts = ap.parse_args(argv)
    out_path = os.path.abspath(opts.out)
    ics = None
    if opts.ics:
        ics = _states_from(opts.ics)[0].tolist()
    jac_states = _states_from(opts.jacobian_at) if opts.jacobian_at else None
    rhs_states = _states_from(opts.rhs_at) if opts.rhs_at else None
    if opts.build_dir:
        os.makedirs(opts.build_dir, exist_ok=True)
        os.chdir(opts.build_dir)
    dt = opts.dt if opts.dt else (DT if opts.t_final == T_FINAL else opts.t_final / 100.0)
    args = make_args(ics=ics, t_final=opts.t_final, dt=dt, rtol=opts.rtol, atol=opts.atol,
                     integrator=opts.integrator, max_pts=max(opts.max_pts, int(opts.t_final / dt) + 10))
    if CONTINUATION is not None and not opts.integrate:
        args.pdomain = {CONTINUATION['parameter']: list(CONTINUATION['range'])}
    t0 = time.time()
    gen = make_generator(args, opts.integrator)
    build_s = time.time() - t0
    result = {'model': NAME, 'integrator': opts.integrator, 'generator': GENERATORS[opts.integrator],
              'variables': [spec_name(v) for v in VARIABLES],
              'parameters': dict((spec_name(k), v) for k, v in args.pars.items()),
              'aux': [spec_name(a) for a in AUX],
              'has_jacobian': JACOBIAN is not None, 'build_s': build_s,
              'pydstool_version': _pydstool_version(), 'python': sys.version.split()[0],
              'dlnsys_version': DLNSYS_VERSION}
    if jac_states is not None or rhs_states is not None:
        result['mode'] = 'evaluate'
        if jac_states is not None:
            result['jacobian'] = jacobian_at(gen, jac_states)
        if rhs_states is not None:
            result['rhs'] = rhs_at(gen, rhs_states)
    elif CONTINUATION is not None and not opts.integrate:
        result.update(continuation(gen))
    else:
        result.update(integrate(gen, opts.t_final, dt))
    with open(out_path, 'w') as fh:
        json.dump(result, fh)
    print('%s: %s with %s done (build %.2f s); result in %s' % (NAME, result['mode'], opts.integrator, build_s, out_path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
'''


def write_pydstool(spec: OdeSpec, path, *, force=False, **kwargs) -> Path:
    """Write :func:`generate_pydstool` to ``path`` (a file, or a directory: ``<name>.py`` in it).

    An existing file is only replaced with ``force=True`` (ValueError naming the path otherwise).
    Keyword arguments go to :func:`generate_pydstool`. Returns the path written.
    """
    path = Path(path)
    if path.is_dir():
        path = path / script_filename(spec)
    text = generate_pydstool(spec, **kwargs)
    if path.exists() and not force:
        raise ValueError(f"path: {str(path)!r} exists; pass force=True (--force) to overwrite it")
    if not path.parent.is_dir():
        raise ValueError(f"path: directory {str(path.parent)!r} does not exist")
    from .._io import write_text_atomic
    write_text_atomic(path, text)          # temporary file + rename: never half a script
    return path
