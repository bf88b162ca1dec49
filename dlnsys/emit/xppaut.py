"""XPPAUT writer: an ``.ode`` file that ``xppaut FILE.ode -silent`` integrates (or iterates).

Layout: comments (description, metadata), ``par`` and ``init`` lines, one temporary
``name=expr`` per intermediate (definition order = dependency order), one ``x'=...`` per
variable (``x(t+1)=...`` for maps), ``aux`` outputs, ``@`` options (method, tolerances,
total, dt, maxstor, bounds, output; AUTO limits for continuation problems) and ``done``.

XPPAUT facts this relies on (Debian xppaut 6.11): names are case-insensitive and only their
first 10 characters count (the spec enforces both); at most 1948 ODEs; lines of at most 1024
characters. Longer expressions are split over extra temporaries ``xw1, xw2, ...`` at sums
and products; a model that still cannot fit (or has too many variables) is a ValueError.
``output.dat`` has the columns ``t``, the variables in order, then the aux outputs.
The analytic Jacobian of the spec is not used (XPPAUT differentiates numerically).
"""
from __future__ import annotations

import ast
import math

from .spec import OdeSpec, metadata_text, parse_expr, render, render_node, write_text

__all__ = ["generate_xppaut", "write_xppaut", "MAX_ODES", "MAX_LINE", "METHODS"]

#: XPPAUT's limits.
MAX_ODES = 1948
MAX_LINE = 1024
#: Integration methods we pass through (XPPAUT names).
METHODS = ("cvode", "stiff", "qualrk", "rungekutta", "euler", "backeuler", "gear", "discrete", "dormprince",
           "rosenbrock", "adams", "modeuler", "5dp", "83dp", "2rb")
_INTEGRATOR_TO_METHOD = {"vode": "cvode", "dopri": "83dp", "radau": "cvode"}
_WRAP = 900   # target length of an expression when splitting (leaves room for "name=")


def _fmt(v) -> str:
    return repr(float(v))


class _Wrapper:
    """Splits long expressions into temporaries ``xw<k>`` (names not used by the spec)."""

    def __init__(self, taken):
        self.taken = {t.lower() for t in taken}
        self.count = 0
        self.lines = []

    def new_name(self):
        while True:
            self.count += 1
            nm = f"xw{self.count}"
            if nm.lower() not in self.taken:
                self.taken.add(nm.lower())
                return nm

    def temp(self, text):
        nm = self.new_name()
        self.lines.append(f"{nm}={text}")
        return nm

    def fit(self, text, limit=_WRAP):
        """``text`` (XPPAUT syntax from render) made at most ``limit`` characters."""
        if len(text) <= limit:
            return text
        return self._node(parse_expr(text.replace("^", "**")), limit)

    def _txt(self, node):
        return render_node(node, power="^")

    def _node(self, node, limit):
        text = self._txt(node)
        if len(text) <= limit:
            return text
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            terms = []                      # flatten the +/- chain into signed terms
            cur = node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, (ast.Add, ast.Sub)):
                terms.append(("+" if isinstance(cur.op, ast.Add) else "-", cur.right))
                cur = cur.left
            terms.append(("+", cur))
            terms.reverse()
            pieces = []
            chunk = ""
            for sign, t in terms:
                tt = self._txt(t)
                if len(tt) > limit // 2:
                    tt = self.temp(self._node(t, limit))
                elif isinstance(t, (ast.BinOp, ast.UnaryOp)) and isinstance(getattr(t, "op", None),
                                                                           (ast.Add, ast.Sub, ast.USub)):
                    tt = f"({tt})"
                piece = (sign if (chunk or sign == "-") else "") + tt
                if len(chunk) + len(piece) > limit:
                    pieces.append(chunk)
                    chunk = ("" if sign == "+" else "-") + tt
                else:
                    chunk += piece
            pieces.append(chunk)
            names = [self.temp(p) for p in pieces]
            out = "+".join(names)
            return out if len(out) <= limit else self.fit(out, limit)
        if isinstance(node, ast.BinOp):
            left = self._node(node.left, limit // 2)
            right = self._node(node.right, limit // 2)
            if not _is_atom(left):
                left = self.temp(left) if len(left) > limit // 4 else f"({left})"
            if not _is_atom(right):
                right = self.temp(right) if len(right) > limit // 4 else f"({right})"
            op = {ast.Mult: "*", ast.Div: "/", ast.Pow: "^"}[type(node.op)]
            return f"{left}{op}{right}"
        if isinstance(node, ast.UnaryOp):
            return f"-{self.temp(self._node(node.operand, limit))}"
        if isinstance(node, ast.Call):
            return f"{node.func.id}({self.temp(self._node(node.args[0], limit))})"
        raise ValueError(f"expression: cannot split {text[:60]!r}... below {MAX_LINE} characters")


def _is_atom(text):
    return text.replace("_", "").replace(".", "").isalnum()


def generate_xppaut(spec: OdeSpec, *, t_end=None, dt=None, method=None, rtol=None, atol=None, maxstor=None,
                    output="output.dat", bounds=1e8, aux=True) -> str:
    """The ``.ode`` text of ``spec``.

    t_end: total time (number of iterations for maps); dt: output step (1 for maps);
    method: an XPPAUT method (default ``cvode``; ``discrete`` for maps); rtol/atol: ``tol``
    and ``atol``; maxstor: stored points (default: enough for ``t_end/dt``); output: the
    file ``-silent`` writes (a plain file name); bounds: XPPAUT stops when a variable
    exceeds it. Defaults come from ``spec.options``.
    """
    spec.validate()
    if spec.n > MAX_ODES:
        raise ValueError(f"spec: {spec.n} variables exceed XPPAUT's limit of {MAX_ODES} ODEs; "
                         "use a reduction (--reduction diagonal|logistic) or another target")
    opts = spec.options
    is_map = spec.kind == "map"
    t_end = float(t_end if t_end is not None else opts.get("t_end", 1000.0 if is_map else 10.0))
    dt = float(dt if dt is not None else (1.0 if is_map else opts.get("dt", 0.01)))
    rtol = float(rtol if rtol is not None else opts.get("rtol", 1e-10))
    atol = float(atol if atol is not None else opts.get("atol", 1e-12))
    if method is None:
        method = "discrete" if is_map else _INTEGRATOR_TO_METHOD.get(opts.get("integrator", "vode"), "cvode")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    for nm, v in (("t_end", t_end), ("dt", dt), ("rtol", rtol), ("atol", atol), ("bounds", bounds)):
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"{nm}: must be a positive finite number, got {v!r}")
    if not isinstance(output, str) or not output or not all(c.isalnum() or c in "._-" for c in output) \
            or output.startswith((".", "-")):
        raise ValueError(f"output: expected a plain file name such as output.dat, got {output!r}")
    n_steps = int(math.ceil(t_end / dt))
    if maxstor is None:
        maxstor = max(opts.get("maxstor", 0), n_steps + 100, 5000)
    if isinstance(maxstor, bool) or int(maxstor) != maxstor or maxstor < 1:
        raise ValueError(f"maxstor: expected a positive integer, got {maxstor!r}")
    maxstor = int(maxstor)

    taken = list(spec.variables) + list(spec.parameters) + [n for n, _ in spec.intermediates] + \
        [n for n, _ in spec.aux]
    wrap = _Wrapper(taken)
    out = [f"# {spec.name}: {spec.description}" if spec.description else f"# {spec.name}",
           "# generated by dlnsys (dlnsys emit --target xppaut); run: xppaut THIS_FILE -silent",
           f"# output columns: t, {spec.n} variables in order, then aux: "
           + " ".join(n for n, _ in spec.aux) if aux and spec.aux else "# output columns: t, then the variables"]
    for k, v in spec.metadata.items():
        line = f"# {k}: {metadata_text(v)}"
        out.append(line if len(line) <= 200 else line[:196] + " ...")
    if spec.continuation is not None:
        c = spec.continuation
        out.append(f"# continuation: parameter {c.parameter}, form {c.form}, range {c.parameter_range}, "
                   f"extra unknowns {' '.join(c.extra_unknowns) or 'none'}; the initial state is an equilibrium")

    def chunked(keyword, pairs):
        line = ""
        for item in pairs:
            if line and len(line) + len(item) + 2 > 200:
                out.append(line)
                line = ""
            line = f"{keyword} {item}" if not line else f"{line}, {item}"
        if line:
            out.append(line)

    chunked("par", [f"{p}={_fmt(v)}" for p, v in spec.parameters.items()])
    chunked("init", [f"{v}={_fmt(x)}" for v, x in zip(spec.variables, spec.initial)])

    def emit(prefix, expr):
        text = render(expr, power="^")
        text = wrap.fit(text, min(_WRAP, MAX_LINE - len(prefix) - 4))
        out.extend(wrap.lines)
        wrap.lines.clear()
        line = prefix + text
        if len(line) > MAX_LINE:
            raise ValueError(f"spec: the line for {prefix.rstrip('=')!r} is {len(line)} characters, more than "
                             f"XPPAUT's {MAX_LINE}")
        out.append(line)

    for nm, ex in spec.intermediates:
        emit(f"{nm}=", ex)
    for v, ex in zip(spec.variables, spec.rhs):
        emit(f"{v}(t+1)=" if is_map else f"{v}'=", ex)
    if aux:
        for nm, ex in spec.aux:
            emit(f"aux {nm}=", ex)
    opt = [f"meth={method}", f"total={_fmt(t_end)}", f"dt={_fmt(dt)}", f"maxstor={maxstor}", f"bounds={_fmt(bounds)}"]
    if not is_map:
        opt += [f"tol={_fmt(rtol)}", f"atol={_fmt(atol)}"]
    out.append("@ " + ", ".join(opt))
    out.append(f"@ output={output}")
    if spec.continuation is not None:
        c = spec.continuation
        lo, hi = c.parameter_range
        out.append(f"@ parmin={_fmt(lo)}, parmax={_fmt(hi)}, ds={_fmt(c.step)}, dsmax={_fmt(abs(c.step) * 10)}, "
                   f"nmax={c.max_steps}")
    out.append("done")
    for line in out:
        if len(line) > MAX_LINE:      # comments and option lines are short by construction
            raise ValueError(f"spec: an emitted line is {len(line)} characters, more than XPPAUT's {MAX_LINE}")
    return "\n".join(out) + "\n"


def write_xppaut(spec: OdeSpec, path, force=False, **options) -> str:
    """Write :func:`generate_xppaut` to ``path`` (refuses to overwrite without ``force``)."""
    return write_text(path, generate_xppaut(spec, **options), force=force)
