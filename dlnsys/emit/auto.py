"""AUTO-07p writer and reader: continuation of equilibria of an :class:`OdeSpec`.

:func:`generate_auto` returns the files of one AUTO-07p problem (a pure function)::

    NAME.c     equations: func (right-hand side and, when the spec has one, the analytic
               Jacobian dfdu), stpnt (the spec's initial point and parameter values),
               pvls (auxiliary outputs such as the loss, monitored as extra parameters),
               and stubs for bcnd, icnd, fopt
    c.NAME     constants: equilibrium continuation (IPS = 1) in the chosen free parameter,
               with fold (LP) and branch point (BP) detection, stopping at the ends of the
               parameter range (UZSTOP)
    NAME.sh    driver without Python: compiles with gcc/gfortran against AUTO's libraries,
               runs forward (DS > 0) and backward (DS < 0) from the start point and writes
               b.NAME, s.NAME, d.NAME  (``sh NAME.sh``)
    NAME.auto  the same two runs through AUTO's Python CLUI (``auto-07p NAME.auto``)

dlnsys reads the results itself (:func:`read_auto`, :func:`read_auto_branch`,
:func:`read_auto_solutions`) with plain Python: AUTO's own parser breaks under numpy 2.

b-file (``fort.7``) facts used here: lines whose first field is ``0`` are headers (the column
line is ``0 PT TY LAB <names>``); data lines are ``BR PT TY LAB`` and the values
``PAR(ICP(1)) L2-NORM U(1) .. U(k) PAR(ICP(2)) ..`` -- only the first few ``U`` are printed,
so full states come from the s-file. ``PT < 0`` marks a stable point (IPS = 1). TY codes:
1 BP, 2 LP, 3 HB, -1 BT, -2 CP, -3 ZH, -32 GH, 4 RG, -4 UZ, 5 LP (ODE), 6 BP (ODE), 7 PD,
8 TR, 9 EP (begin/end), -9 MX (abnormal end).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .spec import OdeSpec, render, validate_expr

__all__ = [
    "generate_auto", "write_auto", "auto_filenames", "read_auto", "read_auto_branch",
    "read_auto_fort7", "read_auto_solutions", "AutoResult", "AutoBranch", "AutoSolution",
    "SpecialPoint", "TYPE_NAMES",
]

#: AUTO-07p point type codes (TY column) and their short names.
TYPE_NAMES = {0: "", 1: "BP", 2: "LP", 3: "HB", -1: "BT", -2: "CP", -3: "ZH", -32: "GH", 4: "RG",
              -4: "UZ", 5: "LP", 6: "BP", 7: "PD", 8: "TR", -5: "R1", -6: "R2", -7: "R3", -8: "R4",
              23: "LTR", 77: "PTR", 28: "LPD", 88: "TTR", 9: "EP", -9: "MX"}

# Identifiers that the C file must not reuse: auto_f2c.h typedefs and macros, the argument
# names of AUTO's user functions, and macros from the standard headers auto_f2c.h includes.
_C_TAKEN = frozenset("""
    integer real doublereal complex doublecomplex logical TRUE_ FALSE_ VOID abs fabs min max dmin
    dmax ARRAY2D ARRAY3D blhom_1 getp FC_FUNC F2C_INCLUDE WRAPPER user user_function_list
    user_func_t user_stpnt_t user_bcnd_t user_icnd_t user_fopt_t user_pvls_t uses_fortran
    func stpnt bcnd icnd fopt pvls ndim u icp par ijac f dfdu dfdp t nbc u0 u1 fb dbc nint uold
    udot upold fi dint fs k
    pow sqrt exp log NULL EOF stdin stdout stderr errno assert isnan isinf isfinite signbit
    fpclassify isnormal
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while
""".split())


def _eqs_text(eqs):
    """The paper's equation numbers for a comment (metadata is validated safe text)."""
    if isinstance(eqs, (list, tuple)):
        return ", ".join(f"({e})" for e in eqs)
    return str(eqs)


def auto_filenames(name):
    """The files :func:`generate_auto` produces for a model called ``name``."""
    return [f"{name}.c", f"c.{name}", f"{name}.sh", f"{name}.auto"]


def _c_names(spec):
    """Spec name -> C identifier (unchanged unless it clashes with the C side)."""
    names = spec.symbols()
    used = {n.lower() for n in names}
    out = {}
    for n in names:
        if n in _C_TAKEN or (n.upper() == n and any(ch.isalpha() for ch in n)):
            new = f"{n}_"
            while new.lower() in used or new in _C_TAKEN:
                new += "_"
            used.add(new.lower())
            out[n] = new
    return out


_TOKEN_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*")


def _c(expr, rename):
    text = render(expr, power="pow", float_literals=True)
    if rename:
        text = _TOKEN_RE.sub(lambda m: rename.get(m.group(0), m.group(0)), text)
    return text


def _needed(exprs, intermediates):
    """The intermediates (in order) that ``exprs`` need, directly or through other intermediates."""
    need = set()
    for ex in exprs:
        need |= validate_expr(ex)
    keep = []
    for nm, ex in reversed(intermediates):
        if nm in need:
            keep.append((nm, ex))
            need |= validate_expr(ex)
    return keep[::-1]


def _par_indices(names):
    """1-based AUTO parameter indices; 11-14 are skipped (AUTO uses them for periods and time)."""
    idx, k = {}, 1
    for n in names:
        while 11 <= k <= 14:
            k += 1
        idx[n] = k
        k += 1
    return idx


def _num(v):
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"value {v!r} is not finite")
    return repr(v)


def generate_auto(spec: OdeSpec, *, parameter=None, parameter_range=None, step=None, max_steps=None,
                  monitor=None, branch_switching=False, both_directions=True, ntst=20,
                  tolerances=(1e-10, 1e-10, 1e-8)) -> dict:
    """The AUTO-07p problem for ``spec``: ``{filename: text}`` (see the module docstring).

    parameter, parameter_range, step, max_steps: the continuation; default to the spec's
        continuation block (a spec without one needs ``parameter`` and ``parameter_range``;
        step defaults to 1/100 of the range, max_steps to 500). ``step``'s sign is the
        first direction.
    monitor: names of aux outputs printed as extra columns of the b-file (computed in pvls);
        default: every aux output when there are at most 6, else ``loss`` if present.
    branch_switching: let AUTO follow the branches through every branch point (MXBF = 5).
    both_directions: the drivers also run backward from the start point (DS = -step).
    ntst: AUTO's NTST (unused by equilibria, kept for restarts into periodic problems).
    tolerances: ``(EPSL, EPSU, EPSS)``.
    """
    if not isinstance(spec, OdeSpec):
        raise ValueError(f"spec: expected an OdeSpec, got {type(spec).__name__}")
    spec.validate()
    if spec.kind != "ode":
        raise ValueError(f"spec: kind {spec.kind!r} is not supported by the AUTO-07p writer (only 'ode')")
    cont = spec.continuation
    if parameter is None:
        if cont is None:
            raise ValueError("parameter: the spec has no continuation block; name the free parameter")
        parameter = cont.parameter
    if parameter not in spec.parameters:
        raise ValueError(f"parameter: {parameter!r} is not a parameter of the spec "
                         f"({', '.join(spec.parameters) or 'none'})")
    if parameter_range is None:
        if cont is None or cont.parameter != parameter:
            raise ValueError("parameter_range: needed (lo, hi) when the spec's continuation block does not "
                             f"cover {parameter!r}")
        parameter_range = cont.parameter_range
    try:
        lo, hi = (float(v) for v in parameter_range)
    except (TypeError, ValueError):
        raise ValueError(f"parameter_range: expected (lo, hi), got {parameter_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"parameter_range: expected finite lo < hi, got {parameter_range!r}")
    p0 = spec.parameters[parameter]
    if not lo <= p0 <= hi:
        raise ValueError(f"parameter_range: the start value {parameter} = {p0!r} is outside ({lo!r}, {hi!r})")
    if step is None:
        step = cont.step if cont is not None and cont.parameter == parameter else (hi - lo) / 100.0
    try:
        step = float(step)
    except (TypeError, ValueError):
        raise ValueError(f"step: expected a nonzero finite number, got {step!r}") from None
    if not (math.isfinite(step) and step != 0):
        raise ValueError(f"step: expected a nonzero finite number, got {step!r}")
    if max_steps is None:
        max_steps = cont.max_steps if cont is not None and cont.parameter == parameter else 500
    if type(max_steps) is not int or max_steps < 1:
        raise ValueError(f"max_steps: expected a positive integer, got {max_steps!r}")
    aux_names = [n for n, _ in spec.aux]
    if monitor is None:
        monitor = aux_names if len(aux_names) <= 6 else [n for n in aux_names if n == "loss"]
    monitor = list(monitor)
    for m in monitor:
        if m not in aux_names:
            raise ValueError(f"monitor: {m!r} is not an aux output of the spec ({', '.join(aux_names) or 'none'})")
    epsl, epsu, epss = (float(v) for v in tolerances)

    name = spec.name
    rename = _c_names(spec)
    cn = lambda n: rename.get(n, n)  # noqa: E731
    pidx = _par_indices(list(spec.parameters) + monitor)
    npar = max(pidx.values()) if pidx else 1
    n = spec.n
    aux = dict(spec.aux)

    from .. import __version__
    eqs = spec.metadata.get("equations")
    c = []
    w = c.append
    w(f"/* {name}: {spec.description} */" if spec.description else f"/* {name} */")
    w(f"/* AUTO-07p equations generated by dlnsys {__version__}; do not edit (regenerate instead). */")
    if eqs is not None:
        w(f"/* Paper equations: {_eqs_text(eqs)} */")
    w(f"/* Continuation of equilibria in {parameter}: sh {name}.sh  (or: auto-07p {name}.auto) */")
    w("/* State U(i) = u[i-1]: " + " ".join(f"{i + 1}:{v}" for i, v in enumerate(spec.variables)) + " */")
    w("/* Parameters PAR(k) = par[k-1]: " + " ".join(f"{k}:{p}" for p, k in pidx.items()) + " */")
    if rename:
        w("/* Renamed for C: " + " ".join(f"{a}->{b}" for a, b in rename.items()) + " */")
    w('#include "auto_f2c.h"')
    w("#include <math.h>")
    w("")

    def unpack_state(indent="  "):
        out = []
        for i, v in enumerate(spec.variables):
            out.append(f"{indent}const doublereal {cn(v)} = u[{i}];")
        return out

    def unpack_pars(indent="  ", only=None):
        out = []
        for p in spec.parameters:
            if only is None or p in only:
                out.append(f"{indent}const doublereal {cn(p)} = par[{pidx[p] - 1}];")
        return out

    w("int func(integer ndim, const doublereal *u, const integer *icp, const doublereal *par,")
    w("         integer ijac, doublereal *f, doublereal *dfdu, doublereal *dfdp)")
    w("{")
    c.extend(unpack_state())
    c.extend(unpack_pars())
    for nm, ex in spec.intermediates:
        w(f"  const doublereal {cn(nm)} = {_c(ex, rename)};")
    for i, ex in enumerate(spec.rhs):
        w(f"  f[{i}] = {_c(ex, rename)};")
    if spec.jacobian is not None:
        w("  if (ijac == 0) return 0;")
        w("  { /* analytic Jacobian: dfdu[i + ndim*j] = d f_i / d u_j (JAC = -1: AUTO differences in PAR) */")
        w("    integer k;")
        w("    for (k = 0; k < ndim * ndim; k++) dfdu[k] = 0.0;")
        jtext = []
        for nm, ex in spec.jacobian.intermediates:
            jtext.append(f"    const doublereal {cn(nm)} = {_c(ex, rename)};")
        # C89 wants declarations first: put the block of Jacobian intermediates in its own scope
        if jtext:
            w("    {")
            c.extend("  " + line for line in jtext)
        ind = "      " if jtext else "    "
        for i, j, ex in spec.jacobian.entries:
            w(f"{ind}dfdu[{i} + ndim * {j}] = {_c(ex, rename)};")
        if jtext:
            w("    }")
        w("  }")
    else:
        w("  (void)ijac; (void)dfdu; /* JAC = 0: AUTO differences the right-hand side */")
    w("  (void)ndim; (void)icp; (void)dfdp;")
    w("  return 0;")
    w("}")
    w("")
    w("int stpnt(integer ndim, doublereal t, doublereal *u, doublereal *par)")
    w("{")
    for p, v in spec.parameters.items():
        w(f"  par[{pidx[p] - 1}] = {_num(v)}; /* {p} */")
    for i, (v, x0) in enumerate(zip(spec.variables, spec.initial)):
        w(f"  u[{i}] = {_num(x0)}; /* {v} */")
    w("  (void)ndim; (void)t;")
    w("  return 0;")
    w("}")
    w("")
    w("int pvls(integer ndim, const doublereal *u, doublereal *par)")
    w("{")
    if monitor:
        exprs = [aux[m] for m in monitor]
        inter = _needed(exprs, spec.intermediates)
        used = set()
        for ex in exprs + [ex for _, ex in inter]:
            used |= validate_expr(ex)
        for i, v in enumerate(spec.variables):
            if v in used:
                w(f"  const doublereal {cn(v)} = u[{i}];")
        c.extend(unpack_pars(only=used))
        for nm, ex in inter:
            w(f"  const doublereal {cn(nm)} = {_c(ex, rename)};")
        for m in monitor:
            w(f"  par[{pidx[m] - 1}] = {_c(aux[m], rename)}; /* {m} */")
    w("  (void)ndim; (void)u; (void)par;")
    w("  return 0;")
    w("}")
    w("")
    w("/* not used for equilibria */")
    w("int bcnd(integer ndim, const doublereal *par, const integer *icp, integer nbc, const doublereal *u0,")
    w("         const doublereal *u1, integer ijac, doublereal *fb, doublereal *dbc) { return 0; }")
    w("int icnd(integer ndim, const doublereal *par, const integer *icp, integer nint, const doublereal *u,")
    w("         const doublereal *uold, const doublereal *udot, const doublereal *upold, integer ijac,")
    w("         doublereal *fi, doublereal *dint) { return 0; }")
    w("int fopt(integer ndim, const doublereal *u, const integer *icp, const doublereal *par, integer ijac,")
    w("         doublereal *fs, doublereal *dfdu, doublereal *dfdp) { return 0; }")
    c_text = "\n".join(c) + "\n"

    unames = ", ".join(f"{i + 1}: {v!r}" for i, v in enumerate(spec.variables))
    parnames = ", ".join(f"{k}: {p!r}" for p, k in pidx.items())
    icp = ", ".join(repr(p) for p in [parameter] + monitor)
    jac = -1 if spec.jacobian is not None else 0
    k = [
        f"# {name}: AUTO-07p constants generated by dlnsys {__version__}",
        f"# continuation of equilibria in {parameter} over [{_num(lo)}, {_num(hi)}] from {parameter} = {_num(p0)}",
        f"unames = {{{unames}}}",
        f"parnames = {{{parnames}}}",
        f"NDIM = {n}, IPS = 1, IRS = 0, ILP = 1",
        f"ICP = [{icp}]",
        f"NTST = {int(ntst)}, NCOL = 4, IAD = 3, ISP = 2, ISW = 1, IPLT = 0, NBC = 0, NINT = 0",
        f"NMX = {max_steps}, NPR = {max_steps + 1}, MXBF = {5 if branch_switching else 0}, IID = 2, "
        f"ITMX = 8, ITNW = 7, NWTN = 3, JAC = {jac}",
        f"EPSL = {_num(epsl)}, EPSU = {_num(epsu)}, EPSS = {_num(epss)}",
        f"DS = {_num(step)}, DSMIN = {_num(abs(step) * 1e-5)}, DSMAX = {_num(abs(step) * 10)}, IADS = 1",
        f"NPAR = {npar}, THL = {{}}, THU = {{}}",
        f"UZSTOP = {{{parameter!r}: [{_num(lo)}, {_num(hi)}]}}",
    ]
    c_consts = "\n".join(k) + "\n"

    back = _num(-step)
    sh = [
        "#!/bin/sh",
        f"# {name}: AUTO-07p driver generated by dlnsys {__version__} (no Python needed).",
        f"# Continuation of equilibria in {parameter}: forward (DS = {_num(step)})"
        + (f" and backward (DS = {back})" if both_directions else "") + " from the start point.",
        f"# Usage: sh {name}.sh   (in the directory of {name}.c and c.{name}); writes b.{name}, s.{name}, d.{name}.",
        "# Needs gcc, gfortran and AUTO-07p's libraries (AUTO_DIR, default /usr/lib/auto-07p).",
        "set -e",
        'AUTO_DIR="${AUTO_DIR:-/usr/lib/auto-07p}"',
        f'gcc -O2 -fPIC -I"$AUTO_DIR/include" -c {name}.c -o {name}.o',
        f'gfortran -fopenmp {name}.o -o {name}.exe "$AUTO_DIR"/lib/*.o -L"$AUTO_DIR/lib" -lauto_c',
        f"rm -f fort.7 fort.8 fort.9 b.{name} s.{name} d.{name}",
        f"./{name}.exe < c.{name}",
        f"mv fort.7 b.{name}; mv fort.8 s.{name}; mv fort.9 d.{name}",
    ]
    if both_directions:
        sh += [
            f'(cat c.{name}; echo "DS = {back}") | ./{name}.exe',
            f"cat fort.7 >> b.{name}; cat fort.8 >> s.{name}; cat fort.9 >> d.{name}",
            "rm -f fort.7 fort.8 fort.9",
        ]
    sh += [f"rm -f {name}.o {name}.exe fort.2 fort.3"]
    sh_text = "\n".join(sh) + "\n"

    au = [
        f"# {name}: AUTO-07p CLUI driver generated by dlnsys {__version__}: auto-07p {name}.auto",
        f"# Continuation of equilibria in {parameter}; writes b.{name}, s.{name}, d.{name}.",
        f"fw = run(e='{name}', c='{name}')",
    ]
    if both_directions:
        au += [f"bw = run(e='{name}', c='{name}', DS={back})", f"save(fw + bw, '{name}')"]
    else:
        au += [f"save(fw, '{name}')"]
    au_text = "\n".join(au) + "\n"
    return {f"{name}.c": c_text, f"c.{name}": c_consts, f"{name}.sh": sh_text, f"{name}.auto": au_text}


def write_auto(spec: OdeSpec, directory, *, force=False, **kwargs) -> list:
    """Write the files of :func:`generate_auto` into ``directory`` (created if missing).

    Existing files are only replaced with ``force=True`` (ValueError naming the first
    existing path otherwise; nothing is written then). Returns the paths written.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory: {str(directory)!r} is not a directory")
    files = generate_auto(spec, **kwargs)
    if not force:
        for fn in files:
            if (directory / fn).exists():
                raise ValueError(f"path: {str(directory / fn)!r} exists; pass force=True (--force) to overwrite it")
    from .._io import write_text_atomic
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for fn, text in files.items():
        p = directory / fn
        write_text_atomic(p, text)         # temporary file + rename: never half a file
        out.append(p)
    return out


# ------------------------------------------------------------------ reading
_FLOAT_FIX = re.compile(r"^([+-]?\d*\.?\d+)([+-]\d+)$")


def _float(tok):
    try:
        return float(tok)
    except ValueError:
        m = _FLOAT_FIX.match(tok)       # Fortran drops the E of 3-digit exponents: 1.5-100
        if m:
            return float(f"{m.group(1)}E{m.group(2)}")
        raise ValueError(f"not a number: {tok!r}") from None


@dataclass
class SpecialPoint:
    """A labelled point of an AUTO branch (BP, LP, HB, UZ, EP, MX, ...)."""
    type: str
    type_code: int
    branch: int
    point: int
    label: int
    stable: bool
    parameter: str
    value: float                       # of the principal continuation parameter
    values: dict                       # every b-file column at this point
    state: np.ndarray | None = None    # full state from the s-file (None if not read)
    parameters: dict | None = None     # every named parameter from the s-file


@dataclass
class AutoBranch:
    """One branch segment of a b-file: the rows after one header block."""
    number: int
    columns: list
    data: np.ndarray                   # (n_points, len(columns))
    point: np.ndarray                  # |PT|
    stable: np.ndarray                 # PT < 0
    type_code: np.ndarray
    label: np.ndarray
    header: list = field(default_factory=list)

    @property
    def parameter(self) -> str:
        """The principal continuation parameter (first value column)."""
        return self.columns[0]

    def column(self, name) -> np.ndarray:
        if name not in self.columns:
            raise KeyError(f"column {name!r} not in branch {self.number} ({', '.join(self.columns)})")
        return self.data[:, self.columns.index(name)]

    @property
    def special_points(self) -> list:
        out = []
        for r in np.flatnonzero(self.type_code != 0):
            code = int(self.type_code[r])
            out.append(SpecialPoint(
                type=_type_name(code), type_code=code, branch=self.number, point=int(self.point[r]),
                label=int(self.label[r]), stable=bool(self.stable[r]), parameter=self.parameter,
                value=float(self.data[r, 0]), values=dict(zip(self.columns, map(float, self.data[r])))))
        return out


@dataclass
class AutoSolution:
    """One labelled solution of an s-file (for equilibria: the full state)."""
    branch: int
    point: int
    type_code: int
    label: int
    state: np.ndarray
    par: np.ndarray                    # PAR(1..NPAR)
    icp: list

    @property
    def type(self) -> str:
        return _type_name(self.type_code)


@dataclass
class AutoResult:
    """Everything dlnsys reads from one AUTO run: branches (b-file) and solutions (s-file)."""
    branches: list
    solutions: list = field(default_factory=list)
    parnames: dict = field(default_factory=dict)   # AUTO index -> name
    unames: dict = field(default_factory=dict)

    def special_points(self, type=None) -> list:
        """Labelled points of every branch, with full states when the s-file was read;
        ``type`` filters by short name (``'LP'``, ``'BP'``, ...; RG/UZ/EP included unless filtered)."""
        pts = [sp for b in self.branches for sp in b.special_points]
        # the s-file lists the labelled points in the b-file's order (labels repeat across runs)
        pos = 0
        for sp in pts:
            for k in range(pos, len(self.solutions)):
                sol = self.solutions[k]
                if (sol.branch, sol.point, sol.label) == (sp.branch, sp.point, sp.label):
                    sp.state = sol.state
                    sp.parameters = {nm: float(sol.par[i - 1]) for i, nm in self.parnames.items()
                                     if i - 1 < len(sol.par)}
                    pos = k + 1
                    break
        if type is not None:
            pts = [sp for sp in pts if sp.type == type]
        return pts

    def bifurcations(self) -> list:
        """Special points that are bifurcations (not EP, UZ, RG, MX)."""
        return [sp for sp in self.special_points() if sp.type not in ("EP", "UZ", "RG", "MX", "")]

    def column(self, name) -> np.ndarray:
        """One column over all branches, concatenated."""
        return np.concatenate([b.column(name) for b in self.branches]) if self.branches else np.zeros(0)

    @property
    def stable(self) -> np.ndarray:
        return np.concatenate([b.stable for b in self.branches]) if self.branches else np.zeros(0, bool)


def _type_name(code):
    if code in TYPE_NAMES:
        return TYPE_NAMES[code]
    base = code % 10 if code >= 0 else -((-code) % 10)
    return TYPE_NAMES.get(base, f"TY{code}")


def _parse_names(line, key):
    m = re.search(key + r"\s*=\s*\{([^}]*)\}", line)
    if not m:
        return {}
    out = {}
    for item in re.finditer(r"(\d+)\s*:\s*'([^']*)'", m.group(1)):
        out[int(item.group(1))] = item.group(2)
    return out


def _read_b(text, path="b-file"):
    branches, header, cur, columns = [], [], None, None
    parnames, unames = {}, {}

    def close():
        nonlocal cur
        if cur is not None and cur["rows"]:
            rows = cur["rows"]
            ncol = len(cur["columns"])
            data = np.array([r[4][:ncol] + [math.nan] * (ncol - len(r[4])) for r in rows], dtype=float)
            branches.append(AutoBranch(
                number=rows[0][0], columns=list(cur["columns"]), data=data,
                point=np.array([abs(r[1]) for r in rows]), stable=np.array([r[1] < 0 for r in rows]),
                type_code=np.array([r[2] for r in rows]), label=np.array([r[3] for r in rows]),
                header=cur["header"]))
        cur = None

    for lineno, line in enumerate(text.splitlines(), 1):
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "0":
            if cur is not None:
                close()
                header = []
            header.append(line)
            if "parnames" in line:
                parnames.update(_parse_names(line, "parnames"))
            if "unames" in line:
                unames.update(_parse_names(line, "unames"))
            if len(tok) >= 4 and tok[1:4] == ["PT", "TY", "LAB"]:
                columns = tok[4:]
            continue
        if cur is None:
            if columns is None:
                raise ValueError(f"{path}:{lineno}: data line before any column header")
            cur = {"columns": columns, "rows": [], "header": header}
        try:
            br, pt, ty, lab = (int(v) for v in tok[:4])
            vals = [_float(v) for v in tok[4:]]
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: not an AUTO b-file data line ({exc})") from None
        if cur["rows"] and br != cur["rows"][-1][0]:
            close()
            cur = {"columns": columns, "rows": [], "header": header}
        cur["rows"].append((br, pt, ty, lab, vals))
    close()
    return branches, parnames, unames


def read_auto_branch(path) -> AutoResult:
    """Read a b-file (``b.NAME`` or ``fort.7``): branches with their columns, stability and
    special points (no full states; see :func:`read_auto`)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: {str(path)!r} is not a file")
    branches, parnames, unames = _read_b(path.read_text(), str(path))
    return AutoResult(branches=branches, parnames=parnames, unames=unames)


#: ``fort.7`` is the b-file under its run-time name.
read_auto_fort7 = read_auto_branch


def read_auto_solutions(path) -> list:
    """Read an s-file (``s.NAME`` or ``fort.8``): one :class:`AutoSolution` per labelled point."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: {str(path)!r} is not a file")
    lines = path.read_text().splitlines()
    sols, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        try:
            head = [int(v) for v in lines[i].split()]
            ibr, ntot, itp, lab, nfpr, _isw, ntpl, nar, nrowpr, _ntst, _ncol, npar = head[:12]
        except ValueError:
            raise ValueError(f"{path}:{i + 1}: not an AUTO s-file header line") from None
        toks = " ".join(lines[i + 1:i + 1 + nrowpr]).split()
        i += 1 + nrowpr
        vals = toks
        k = ntpl * nar
        tu = [_float(v) for v in vals[:k]]
        icp = [int(v) for v in vals[k:k + nfpr]]
        k += 2 * nfpr                          # ICP, then RLDOT
        k += ntpl * (nar - 1)                  # UDOT
        par = [_float(v) for v in vals[k:k + npar]]
        if len(par) != npar:
            raise ValueError(f"{path}: solution {lab} is truncated")
        state = np.array(tu[1:nar]) if ntpl == 1 else np.array(tu).reshape(ntpl, nar)
        sols.append(AutoSolution(branch=ibr, point=abs(ntot), type_code=itp, label=lab, state=state,
                                 par=np.array(par), icp=icp))
    return sols


def read_auto(path, name=None) -> AutoResult:
    """Read the results of an AUTO run: ``path`` is a directory (with ``b.NAME``/``s.NAME`` or
    ``fort.7``/``fort.8``) or a b-file; the s-file next to it supplies full states."""
    path = Path(path)
    if path.is_dir():
        if name is not None:
            b, s = path / f"b.{name}", path / f"s.{name}"
        else:
            cands = sorted(path.glob("b.*"))
            if len(cands) > 1:
                raise ValueError(f"path: {str(path)!r} holds several b-files; pass name")
            b = cands[0] if cands else path / "fort.7"
            s = path / ("s." + b.name[2:] if b.name.startswith("b.") else "fort.8")
    else:
        b = path
        s = path.with_name("s." + path.name[2:]) if path.name.startswith("b.") else path.with_name("fort.8")
    result = read_auto_branch(b)
    if s.is_file():
        result.solutions = read_auto_solutions(s)
    return result
