"""The neutral model spec every writer reads: :class:`OdeSpec`.

A generator (``dlnsys.emit.generators``) turns a network, a reduction or a paper example
into an ``OdeSpec``; one writer per target turns the spec into text
(``generate_<target>(spec) -> str``). Writers never look at a ``Network``: everything they
need is here, already validated, in a small expression language that every target can
express (``+ - * /``, parentheses, numbers, names, integer powers, ``sqrt exp log``).

Usage example for a writer::

    from dlnsys.emit.spec import OdeSpec, render

    def generate_mytool(spec: OdeSpec) -> str:
        spec.validate()                                   # cheap; raises ValueError
        lines = [f"# {spec.name}: {spec.description}"]
        for p, v in spec.parameters.items():              # ordered name -> float
            lines.append(f"par {p}={v!r}")
        for v, x0 in zip(spec.variables, spec.initial):
            lines.append(f"init {v}={x0!r}")
        for name, expr in spec.intermediates:             # dependency order
            lines.append(f"{name}={render(expr, power='^')}")
        for v, expr in zip(spec.variables, spec.rhs):     # state order
            lines.append(f"{v}'={render(expr, power='^')}")
        if spec.jacobian is not None:                     # optional, sparse
            for name, expr in spec.jacobian.intermediates:
                ...
            for i, j, expr in spec.jacobian.entries:      # d rhs[i] / d variables[j]
                ...
        for name, expr in spec.aux:                       # loss, conserved quantities
            lines.append(f"aux {name}={render(expr, power='^')}")
        return "\\n".join(lines) + "\\n"

    # numeric cross-check without eval/exec:
    ev = spec.evaluator()
    ev.rhs(x)            # x of shape (n,) or (m, n); parameters default to spec.parameters
    ev.jacobian(x)       # dense (n, n) from spec.jacobian (None if absent)
    ev.aux(x)            # {name: value}

    # files: refuse to overwrite unless force=True
    def write_mytool(spec, path, force=False):
        return write_text(path, generate_mytool(spec), force=force)

Contents of an ``OdeSpec``
--------------------------
``name``
    Model name: a safe identifier (letter, then letters/digits/underscore, at most 40
    characters), not a reserved word. Writers use it for file names and model names.
``kind``
    ``'ode'`` (``x' = rhs``) or ``'map'`` (``x(k+1) = rhs``, e.g. gradient descent (67)).
``variables``
    State variable names in state order (for networks: ``concat(vec(W_1), ..., vec(W_h))``,
    row-major; names ``w`` + zero-padded 1-based index so that they sort as strings in state
    order; the paper's examples use ``w1 .. w4``). Continuation problems in bordered form
    append the multipliers (``mu1, mu2, ...``) after the weights.
``initial``
    Initial values, one float per variable (for continuation problems: a point on the
    equilibrium branch at the starting parameter value).
``parameters``
    Ordered ``{name: float}``. Names are legal in every target: ``s1 .. s<d_y>`` for sigma_j,
    ``gam`` for gamma, ``c1 ..`` for leaf constants, ``eta`` for the step of (67).
``intermediates``
    Ordered ``[(name, expr)]``: temporaries computed once per evaluation, in dependency
    order; an expression may use variables, parameters and *earlier* intermediates. For
    networks these are the suffix products ``S_k``, the residual ``Xi = Sigma - W_{1:h}``
    and ``R_k = Xi W_1^T ... W_k^T`` of the block form (``dlnsys.flow``), so the text grows
    with the multiply-adds of one evaluation, never with the number of paths.
``rhs``
    One expression per variable (same order): may use variables, parameters, intermediates.
``jacobian``
    ``None`` or a :class:`JacobianSpec`: its own ordered ``intermediates`` (may use
    everything above plus earlier Jacobian intermediates) and sparse ``entries``
    ``[(row, col, expr)]`` = ``d rhs[row] / d variables[col]`` (0-based; entries not listed
    are zero; each ``(row, col)`` at most once). Size choice: a dense Jacobian has ``n^2``
    entries (39,204 for the Section 6.1 network) and is not shared the way the right-hand
    side is, so generators attach it only when ``n <= JACOBIAN_MAX_VARIABLES`` unless asked
    explicitly (``jacobian=True``); entries are written as products of shared blocks
    (``S_k^T S_j``, ``P_k P_j^T``, ...) so each entry is a short sum of two products. Writers
    include the Jacobian whenever it is present (and may drop it above their own limits).
    For ``kind == 'map'`` it is the Jacobian of the map.
``aux``
    Ordered ``[(name, expr)]`` auxiliary outputs (``loss``, conserved quantities ``c1_1_1``..):
    may use variables, parameters and intermediates (not other aux).
``metadata``
    JSON-compatible dict (str keys; values numbers, bools, None, safe text, lists, dicts):
    ``dims``, ``sigma``, ``gamma``, ``system``, ``reduction``, ``equations`` (the paper's
    equation numbers), ``dlnsys_version``, ``multiply_adds``, ... Strings are *safe text*
    (see below), so writers may copy metadata into comments.
``continuation``
    ``None`` or a :class:`Continuation` (free parameter, form ``'bordered'`` or
    ``'leaf-reduced'``, extra unknowns, parameter range, step, max_steps). The equilibria of
    the spec's ODE are the solutions being continued; ``initial`` is one of them.
``options``
    Writer hints (all optional): ``t_end`` (final time or number of map steps), ``dt``
    (output/step size), ``rtol``, ``atol``, ``integrator`` (``'vode'|'dopri'|'radau'``),
    ``maxstor`` (stored points). Writers take keyword overrides.
``description``
    One line of safe text for comments.

Expression language (checked by :func:`validate_expr` with ``ast`` and a whitelist, never
evaluated with ``eval``/``exec``):

* ASCII only, characters ``A-Z a-z 0-9 _ + - * / ( ) . `` and spaces (no newlines);
* numbers: non-negative decimal literals (``2``, ``0.5``, ``1e-05``; ``repr(float)`` output,
  finite); negative values are written with unary minus;
* names: declared variables, parameters, intermediates (see the scoping above);
* operators: binary ``+ - * /``, unary ``-``, and ``**`` with a literal integer exponent
  ``0..64`` (writers translate: XPPAUT ``^``, C ``pow``/products, Python ``**``; use
  :func:`render`). Integer literals must not be divided by integer literals (``1/2`` is
  0 in C); generators write floats;
* functions: ``sqrt(x)``, ``exp(x)``, ``log(x)`` (one argument each);
* at most ``MAX_EXPR_CHARS`` characters and ``MAX_EXPR_OPS`` operators per expression.

Names: every name (model, variables, parameters, intermediates, aux) matches
``[A-Za-z][A-Za-z0-9_]*``, has at most ``MAX_NAME_LEN`` = 10 characters (XPPAUT reads no
more; the model name may have ``MAX_MODEL_NAME_LEN`` = 40), is not in
``RESERVED`` (reserved words of XPPAUT, C, Python and PyDSTool, checked case-insensitively)
and all names of one spec are distinct case-insensitively (XPPAUT ignores case).

Stability of this module: other modules import it; changes are additive only.
"""
from __future__ import annotations

import ast
import copy
import math
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "OdeSpec", "JacobianSpec", "Continuation", "SpecEvaluator", "validate_expr", "expr_names",
    "render", "render_node", "parse_expr", "compile_expr", "check_identifier", "check_safe_text", "RESERVED",
    "JACOBIAN_MAX_VARIABLES", "MAX_NAME_LEN", "MAX_MODEL_NAME_LEN", "MAX_EXPR_CHARS", "MAX_EXPR_OPS", "MAX_EXPR_DEPTH", "FUNCTIONS",
    "KINDS", "CONTINUATION_FORMS", "INTEGRATORS", "write_text", "OverwriteError",
]

#: Generators attach an analytic Jacobian automatically up to this many variables.
JACOBIAN_MAX_VARIABLES = 64
#: Longest symbol name (variables, parameters, intermediates, aux): XPPAUT reads only the first
#: 10 characters of a name (longer names are an "illegal expression" there).
MAX_NAME_LEN = 10
#: Longest model name (used for file names, never inside expressions).
MAX_MODEL_NAME_LEN = 40
#: Longest expression text; generators keep sums short (XPPAUT lines are <= 1024 chars).
MAX_EXPR_CHARS = 20000
#: Most operators (binary, unary, calls) per expression (Python's parser recursion).
MAX_EXPR_OPS = 1000
#: Deepest nesting of an expression (unary minus, calls, powers, parenthesized groups; long
#: +/- and *// chains count once): the writers render recursively and the targets' parsers
#: have nesting limits (Python's is 200 parentheses).
MAX_EXPR_DEPTH = 100
#: Largest integer literal (exact in float64, fits C's long long).
_MAX_INT_LITERAL = 2 ** 53
#: The whitelisted functions (one argument each).
FUNCTIONS = ("sqrt", "exp", "log")
KINDS = ("ode", "map")
CONTINUATION_FORMS = ("bordered", "leaf-reduced")
INTEGRATORS = ("vode", "dopri", "radau")
_MAX_POW = 64

#: Names refused everywhere (compared case-insensitively): XPPAUT built-ins and keywords,
#: C keywords and math.h names, Python keywords and builtins a script might need, PyDSTool
#: specials, and the usual constant names.
RESERVED = frozenset(w.lower() for w in """
    e pi gamma t sum min max abs sign heav mod flr ran normal besselj besselx bessely erf erfc
    if then else sin cos tan asin acos atan atan2 sinh cosh tanh exp log log10 sqrt pow ln
    delay shift del_shft ishift int not and or hom_bcs lgamma arccos arcsin arctan
    par param p init i number num aux global done wiener table markov set only bdry
    special x0 y0 dt tau
    auto break case char const continue default do double enum extern float for goto
    long register return short signed sizeof static struct switch typedef union unsigned
    void volatile while inline restrict main
    false none true as assert async await class def elif except finally from
    import in is lambda nonlocal pass raise try with yield print exec eval open
    len range list dict tuple str object type input file np numpy math
    args pars ics varspecs fnspecs auxvars reuseterms tdomain algparams name
    jacobian initialdata inf nan
    u f ndim icp ijac dfdu dfdp rpar ipar fb nbc nint u0 uold udot upold fa dbc dicp dint par0
    j0 j1 jn y1 yn fabs floor ceil tgamma hypot fmod rint round trunc cbrt expm1 log1p log2
    ldexp frexp modf signbit exp2 erfcx
""".split())

_IDENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EXPR_CHARS_RE = re.compile(r"^[A-Za-z0-9_+\-*/(). ]*$")
_SAFE_TEXT_RE = re.compile(r"^[A-Za-z0-9 .,:;()\[\]=+\-_<>^|!?%&~@]*$")
_MAX_SAFE_TEXT = 400


def check_identifier(name, what="name", max_len=MAX_NAME_LEN) -> str:
    """A name that may appear in any emitted file; ValueError naming ``what`` otherwise.

    ``max_len``: ``MAX_NAME_LEN`` (10) for symbols; model names use ``MAX_MODEL_NAME_LEN`` (40).
    """
    if not isinstance(name, str) or not _IDENT_RE.fullmatch(name) or len(name) > max_len:
        raise ValueError(
            f"{what}: {name!r} is not a safe identifier (a letter, then up to {max_len - 1} "
            "letters, digits or '_')")
    if name.lower() in RESERVED:
        raise ValueError(f"{what}: {name!r} is a reserved word in at least one target tool")
    return name


def check_safe_text(text, what="description") -> str:
    """One line of plain text that may be copied into a comment of any target."""
    if not isinstance(text, str) or len(text) > _MAX_SAFE_TEXT or not _SAFE_TEXT_RE.fullmatch(text):
        raise ValueError(
            f"{what}: must be one line of at most {_MAX_SAFE_TEXT} characters from letters, digits, "
            f"spaces and .,:;()[]=+-_<>^|!?%&~@ (no quotes, '#', '*', '/', backslashes or newlines), "
            f"got {text!r:.80}")
    return text


# ----------------------------------------------------------------- expressions
def _parse(expr, what):
    if not isinstance(expr, str):
        raise ValueError(f"{what}: expression must be a string, got {type(expr).__name__}")
    if len(expr) > MAX_EXPR_CHARS:
        raise ValueError(f"{what}: expression longer than {MAX_EXPR_CHARS} characters")
    if not expr.strip():
        raise ValueError(f"{what}: empty expression")
    if not _EXPR_CHARS_RE.fullmatch(expr):
        bad = sorted(set(c for c in expr if not _EXPR_CHARS_RE.fullmatch(c)))
        raise ValueError(f"{what}: characters not allowed in an expression: {''.join(bad)!r}")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"{what}: syntax error in expression {expr[:60]!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"{what}: expression too deeply nested") from None
    return tree.body


def _same_chain(parent, child):
    """True when ``child`` continues the left-deep +/- or *// chain of ``parent`` (the renderers
    flatten such chains iteratively, so they do not add nesting depth)."""
    groups = ((ast.Add, ast.Sub), (ast.Mult, ast.Div))
    return (isinstance(child, ast.BinOp) and any(isinstance(parent.op, g) and isinstance(child.op, g)
                                                 for g in groups))


def _check_tree(node, what, allowed_names):
    """Whitelist walk (iterative). Returns the set of names used (functions excluded).

    Also bounds the nesting depth (``MAX_EXPR_DEPTH``): the writers render recursively and
    their targets' parsers nest parentheses, so ``----...--w1`` 999 deep would otherwise pass
    validation and crash a writer (RecursionError) or a target's parser.
    """
    used = set()
    n_ops = 0
    stack = [(node, 1)]
    while stack:
        nd, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            raise ValueError(f"{what}: expression nested more than {MAX_EXPR_DEPTH} levels deep (unary minus, "
                             "function calls, powers, parentheses); simplify it or use intermediates")
        if isinstance(nd, ast.BinOp):
            n_ops += 1
            if isinstance(nd.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                stack.append((nd.left, depth if _same_chain(nd, nd.left) else depth + 1))
                stack.append((nd.right, depth + 1))
            elif isinstance(nd.op, ast.Pow):
                r = nd.right
                if not (isinstance(r, ast.Constant) and type(r.value) is int and 0 <= r.value <= _MAX_POW):
                    raise ValueError(
                        f"{what}: '**' needs a literal integer exponent 0..{_MAX_POW} (use sqrt, exp, log "
                        "for anything else)")
                stack.append((nd.left, depth + 1))
            else:
                raise ValueError(f"{what}: operator {type(nd.op).__name__} is not allowed")
        elif isinstance(nd, ast.UnaryOp):
            n_ops += 1
            if not isinstance(nd.op, ast.USub):
                raise ValueError(f"{what}: only unary minus is allowed, got {type(nd.op).__name__}")
            stack.append((nd.operand, depth + 1))
        elif isinstance(nd, ast.Constant):
            v = nd.value
            if type(v) not in (int, float):
                raise ValueError(f"{what}: constant {v!r} is not a number")
            if type(v) is int and abs(v) > _MAX_INT_LITERAL:
                # beyond 2^53 an integer is not exact in float64, overflows C ints (AUTO) and
                # math.isfinite raises OverflowError past 1e308: write it as a float
                raise ValueError(f"{what}: integer constant {str(v)[:20]}{'...' if len(str(v)) > 20 else ''} is "
                                 f"larger than 2^53; write it as a float (e.g. 1e20)")
            if not math.isfinite(v):
                raise ValueError(f"{what}: constant {v!r} is not a finite number")
        elif isinstance(nd, ast.Name):
            if nd.id in FUNCTIONS:
                raise ValueError(f"{what}: function {nd.id!r} used without a call")
            if allowed_names is not None and nd.id not in allowed_names:
                raise ValueError(f"{what}: unknown name {nd.id!r} (not a variable, parameter or earlier "
                                 "intermediate)")
            used.add(nd.id)
        elif isinstance(nd, ast.Call):
            n_ops += 1
            if not (isinstance(nd.func, ast.Name) and nd.func.id in FUNCTIONS):
                raise ValueError(f"{what}: only the functions {', '.join(FUNCTIONS)} may be called")
            if len(nd.args) != 1 or nd.keywords:
                raise ValueError(f"{what}: {nd.func.id}() takes exactly one argument")
            stack.append((nd.args[0], depth + 1))
        else:
            raise ValueError(f"{what}: syntax element {type(nd).__name__} is not allowed in an expression")
        if n_ops > MAX_EXPR_OPS:
            raise ValueError(f"{what}: more than {MAX_EXPR_OPS} operators in one expression")
    return used


def validate_expr(expr, allowed_names=None, what="expression"):
    """Check ``expr`` against the expression language; return the set of names it uses.

    ``allowed_names`` (a set) restricts the names; None accepts any identifier. Raises
    ValueError naming ``what``. Nothing is evaluated.
    """
    return _check_tree(_parse(expr, what), what, allowed_names)


def expr_names(expr):
    """The names an (already valid) expression uses."""
    return validate_expr(expr)


# Precedence for rendering: higher binds tighter.
_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2}
_P_UNARY = 3
_P_POW = 4
_P_ATOM = 5


def render(expr, *, power="**", float_literals=False, functions=None):
    """Re-print a valid expression for a target, with the parentheses its precedence needs.

    power: ``'**'`` (Python, PyDSTool), ``'^'`` (XPPAUT), ``'pow'`` (C: ``pow(x,n)``) or
    ``'mul'`` (repeated products ``(x*x*x)``; ``x**0`` becomes ``1``).
    float_literals: print integer literals as ``2.0`` (for C, where ``1/2`` is 0).
    functions: optional renaming of ``sqrt/exp/log`` (e.g. ``{'log': 'ln'}``).
    Unary minus on a power is written ``-(x^2)`` so no target can read it as ``(-x)^2``;
    a unary minus inside a larger expression is parenthesized (``a-(-b)``, never ``a--b``).
    """
    if power not in ("**", "^", "pow", "mul"):
        raise ValueError(f"power: expected '**', '^', 'pow' or 'mul', got {power!r}")
    node = _parse(expr, "expr")
    _check_tree(node, "expr", None)
    return render_node(node, power=power, float_literals=float_literals, functions=functions)


def render_node(node, *, power="**", float_literals=False, functions=None):
    """:func:`render` for an already validated ``ast`` node (long +/- and * chains are
    handled without deep recursion)."""
    return _render(node, power, float_literals, dict(functions or {}))[0]


def _render(node, power, float_literals, fmap):
    def num(v):
        if type(v) is int:
            return f"{v}.0" if float_literals else str(v)
        return repr(float(v))

    def go(nd):
        """Returns (text, precedence)."""
        if isinstance(nd, ast.Constant):
            return num(nd.value), _P_ATOM
        if isinstance(nd, ast.Name):
            return nd.id, _P_ATOM
        if isinstance(nd, ast.Call):
            inner, _ = go(nd.args[0])
            return f"{fmap.get(nd.func.id, nd.func.id)}({inner})", _P_ATOM
        if isinstance(nd, ast.UnaryOp):
            t, p = go(nd.operand)
            if p <= _P_POW:       # parenthesize sums, products, unary and powers
                t = f"({t})"
            return f"-{t}", _P_UNARY
        if isinstance(nd, ast.BinOp) and isinstance(nd.op, ast.Pow):
            n = nd.right.value
            t, p = go(nd.left)
            if p < _P_ATOM:
                t = f"({t})"
            if power == "**":
                return f"{t}**{n}", _P_POW
            if power == "^":
                return f"{t}^{n}", _P_POW
            if power == "pow":
                return f"pow({t},{num(n) if float_literals else n})", _P_ATOM
            if n == 0:
                return num(1), _P_ATOM
            if n == 1:
                return t, _P_ATOM
            return "(" + "*".join([t] * n) + ")", _P_ATOM
        # binary + - * / : flatten left-deep chains of the same precedence iteratively
        prec = _PREC[type(nd.op)]
        chain = []
        cur = nd
        while isinstance(cur, ast.BinOp) and type(cur.op) in _PREC and _PREC[type(cur.op)] == prec:
            chain.append((cur.op, cur.right))
            cur = cur.left
        t, p = go(cur)
        parts = [t if p >= prec and p != _P_UNARY else f"({t})"]
        for op, right in reversed(chain):
            rt, rp = go(right)
            # the right operand of - and / needs parentheses at equal precedence
            if rp < prec or (rp == prec and isinstance(op, (ast.Sub, ast.Div))) or rp == _P_UNARY:
                rt = f"({rt})"
            parts.append({ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(op)] + rt)
        return "".join(parts), prec

    return go(node)


def parse_expr(expr, allowed_names=None, what="expression"):
    """The validated ``ast`` node of an expression (for writers that restructure expressions)."""
    node = _parse(expr, what)
    _check_tree(node, what, allowed_names)
    return node


# ------------------------------------------------------------ safe evaluation
# A validated expression is compiled to a postfix program over a numpy stack.
_OP_NUM, _OP_NAME, _OP_BIN, _OP_NEG, _OP_POW, _OP_CALL = range(6)
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_FUN = {"sqrt": np.sqrt, "exp": np.exp, "log": np.log}


def compile_expr(expr, allowed_names=None, what="expression"):
    """A postfix program ``[(opcode, arg), ...]`` for :func:`_run` (validates first)."""
    node = _parse(expr, what)
    _check_tree(node, what, allowed_names)
    prog = []
    stack = [(node, False)]
    while stack:
        nd, done = stack.pop()
        if isinstance(nd, ast.Constant):
            prog.append((_OP_NUM, float(nd.value)))
        elif isinstance(nd, ast.Name):
            prog.append((_OP_NAME, nd.id))
        elif isinstance(nd, ast.UnaryOp):
            if done:
                prog.append((_OP_NEG, None))
            else:
                stack.append((nd, True))
                stack.append((nd.operand, False))
        elif isinstance(nd, ast.Call):
            if done:
                prog.append((_OP_CALL, _FUN[nd.func.id]))
            else:
                stack.append((nd, True))
                stack.append((nd.args[0], False))
        elif isinstance(nd.op, ast.Pow):
            if done:
                prog.append((_OP_POW, nd.right.value))
            else:
                stack.append((nd, True))
                stack.append((nd.left, False))
        else:
            if done:
                prog.append((_OP_BIN, _BIN[type(nd.op)]))
            else:
                stack.append((nd, True))
                stack.append((nd.right, False))
                stack.append((nd.left, False))
    return prog


def _run(prog, env):
    st = []
    for op, arg in prog:
        if op == _OP_NAME:
            st.append(env[arg])
        elif op == _OP_NUM:
            st.append(arg)
        elif op == _OP_BIN:
            b = st.pop()
            st.append(arg(st.pop(), b))
        elif op == _OP_NEG:
            st.append(-st.pop())
        elif op == _OP_POW:
            st.append(st.pop() ** arg)
        else:
            st.append(arg(st.pop()))
    return st[0]


# ------------------------------------------------------------------- the spec
@dataclass
class JacobianSpec:
    """Sparse analytic Jacobian: ``entries[(row, col, expr)] = d rhs[row] / d variables[col]``."""
    intermediates: list = field(default_factory=list)
    entries: list = field(default_factory=list)

    def dense_exprs(self, n):
        """``n x n`` nested list of expression strings (``'0'`` where no entry is listed)."""
        out = [["0"] * n for _ in range(n)]
        for i, j, e in self.entries:
            out[i][j] = e
        return out


@dataclass
class Continuation:
    """Continuation of equilibria in one parameter (see the module docstring).

    parameter: the free parameter (a key of ``OdeSpec.parameters``).
    form: ``'bordered'`` (``x' = f(x) + sum_k mu_k grad pi_k(x)``, ``mu_k' = pi_k(x) - c_k``:
        its equilibria are the equilibria of f on the leaf ``pi = c``; the mu vanish there) or
        ``'leaf-reduced'`` (the flow written in coordinates of one leaf).
    extra_unknowns: names (among the spec's variables) of the added unknowns (the mu_k).
    parameter_range: ``(lo, hi)`` the continuation should cover; the start value is the
        parameter's value in ``OdeSpec.parameters`` (and ``initial`` is an equilibrium there).
    step: initial step size (signed: the direction to go first). max_steps: step budget.
    """
    parameter: str
    form: str
    extra_unknowns: list = field(default_factory=list)
    parameter_range: tuple = (0.0, 1.0)
    step: float = 0.01
    max_steps: int = 500


def _check_metadata(value, path="metadata", depth=0):
    if depth > 8:
        raise ValueError(f"{path}: nested too deeply")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{path}: {value!r} is not finite")
        return
    if isinstance(value, str):
        check_safe_text(value, path)
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_metadata(v, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", k):
                raise ValueError(f"{path}: key {k!r} is not a safe identifier")
            _check_metadata(v, f"{path}.{k}", depth + 1)
        return
    raise ValueError(f"{path}: {type(value).__name__} is not JSON-compatible (numbers, text, lists, dicts)")


def _finite(v, what):
    if isinstance(v, bool):
        raise ValueError(f"{what}: expected a number, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a number, got {v!r}") from None
    except OverflowError:               # an integer beyond the float range (JSON allows any length)
        raise ValueError(f"{what}: {str(v)[:20]}... is too large (beyond the float64 range)") from None
    if not math.isfinite(f):
        raise ValueError(f"{what}: must be finite, got {v!r}")
    return f


_OPTION_KEYS = {"t_end": float, "dt": float, "rtol": float, "atol": float, "integrator": str,
                "maxstor": int}


@dataclass
class OdeSpec:
    """A model for any target tool; see the module docstring for every field."""
    name: str
    kind: str
    variables: list
    initial: list
    parameters: dict
    intermediates: list
    rhs: list
    aux: list = field(default_factory=list)
    jacobian: JacobianSpec | None = None
    metadata: dict = field(default_factory=dict)
    continuation: Continuation | None = None
    options: dict = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        self.validate()

    @property
    def n(self) -> int:
        return len(self.variables)

    def copy(self) -> "OdeSpec":
        return copy.deepcopy(self)

    # ------------------------------------------------------------ validation
    def validate(self) -> "OdeSpec":
        """Check every field (names, expressions, scoping, sizes); ValueError naming the field."""
        check_identifier(self.name, "name", MAX_MODEL_NAME_LEN)
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        check_safe_text(self.description, "description")
        seen = {self.name.lower(): "name"}

        def declare(nm, what):
            check_identifier(nm, what)
            low = nm.lower()
            if low in seen:
                raise ValueError(f"{what}: {nm!r} clashes with {seen[low]} (names are compared "
                                 "case-insensitively)")
            seen[low] = what

        if not isinstance(self.variables, (list, tuple)) or not self.variables:
            raise ValueError("variables: expected a non-empty list of names")
        for i, v in enumerate(self.variables):
            declare(v, f"variables[{i}]")
        if not isinstance(self.initial, (list, tuple)) or len(self.initial) != len(self.variables):
            raise ValueError(f"initial: expected {len(self.variables)} values (one per variable)")
        self.initial = [_finite(v, f"initial[{i}]") for i, v in enumerate(self.initial)]
        if not isinstance(self.parameters, dict):
            raise ValueError("parameters: expected an ordered mapping name -> value")
        for p in list(self.parameters):
            declare(p, f"parameters[{p!r}]")
            self.parameters[p] = _finite(self.parameters[p], f"parameters[{p!r}]")
        scope = set(self.variables) | set(self.parameters)
        for i, item in enumerate(self.intermediates):
            nm, ex = _pair(item, f"intermediates[{i}]")
            declare(nm, f"intermediates[{i}]")
            validate_expr(ex, scope, f"intermediates[{i}] ({nm})")
            scope.add(nm)
        if not isinstance(self.rhs, (list, tuple)) or len(self.rhs) != len(self.variables):
            raise ValueError(f"rhs: expected {len(self.variables)} expressions (one per variable)")
        for i, ex in enumerate(self.rhs):
            validate_expr(ex, scope, f"rhs[{i}] ({self.variables[i]})")
        aux_names = []
        for i, item in enumerate(self.aux):
            nm, ex = _pair(item, f"aux[{i}]")
            declare(nm, f"aux[{i}]")
            validate_expr(ex, scope, f"aux[{i}] ({nm})")
            aux_names.append(nm)
        if self.jacobian is not None:
            if not isinstance(self.jacobian, JacobianSpec):
                raise ValueError("jacobian: expected a JacobianSpec or None")
            jscope = set(scope)
            for i, item in enumerate(self.jacobian.intermediates):
                nm, ex = _pair(item, f"jacobian.intermediates[{i}]")
                declare(nm, f"jacobian.intermediates[{i}]")
                validate_expr(ex, jscope, f"jacobian.intermediates[{i}] ({nm})")
                jscope.add(nm)
            n = len(self.variables)
            cells = set()
            for k, ent in enumerate(self.jacobian.entries):
                if not (isinstance(ent, (list, tuple)) and len(ent) == 3):
                    raise ValueError(f"jacobian.entries[{k}]: expected (row, col, expr)")
                i, j, ex = ent
                if not (type(i) is int and type(j) is int and 0 <= i < n and 0 <= j < n):
                    raise ValueError(f"jacobian.entries[{k}]: row and col must be integers in 0..{n - 1}")
                if (i, j) in cells:
                    raise ValueError(f"jacobian.entries[{k}]: entry ({i}, {j}) listed twice")
                cells.add((i, j))
                validate_expr(ex, jscope, f"jacobian.entries[{k}]")
        if not isinstance(self.metadata, dict):
            raise ValueError("metadata: expected a dict")
        _check_metadata(self.metadata)
        if not isinstance(self.options, dict):
            raise ValueError("options: expected a dict")
        for k, v in self.options.items():
            if k not in _OPTION_KEYS:
                raise ValueError(f"options: unknown key {k!r} (known: {', '.join(_OPTION_KEYS)})")
            if _OPTION_KEYS[k] is str:
                if v not in INTEGRATORS:
                    raise ValueError(f"options.integrator: expected one of {INTEGRATORS}, got {v!r}")
            elif _OPTION_KEYS[k] is int:
                if type(v) is not int or v < 1:
                    raise ValueError(f"options.{k}: expected a positive integer, got {v!r}")
            else:
                f = _finite(v, f"options.{k}")
                if f <= 0:
                    raise ValueError(f"options.{k}: must be positive, got {v!r}")
        if self.continuation is not None:
            c = self.continuation
            if not isinstance(c, Continuation):
                raise ValueError("continuation: expected a Continuation or None")
            if c.parameter not in self.parameters:
                raise ValueError(f"continuation.parameter: {c.parameter!r} is not a parameter of the spec "
                                 f"({', '.join(self.parameters) or 'none'})")
            if c.form not in CONTINUATION_FORMS:
                raise ValueError(f"continuation.form: expected one of {CONTINUATION_FORMS}, got {c.form!r}")
            for u in c.extra_unknowns:
                if u not in self.variables:
                    raise ValueError(f"continuation.extra_unknowns: {u!r} is not a variable")
            if not (isinstance(c.parameter_range, (list, tuple)) and len(c.parameter_range) == 2):
                raise ValueError("continuation.parameter_range: expected (lo, hi)")
            lo, hi = (_finite(v, "continuation.parameter_range") for v in c.parameter_range)
            if not lo < hi:
                raise ValueError("continuation.parameter_range: expected lo < hi")
            c.parameter_range = (lo, hi)
            c.step = _finite(c.step, "continuation.step")
            if c.step == 0:
                raise ValueError("continuation.step: must be nonzero")
            if type(c.max_steps) is not int or c.max_steps < 1:
                raise ValueError("continuation.max_steps: expected a positive integer")
        return self

    # --------------------------------------------------------------- sizes
    def symbols(self) -> list:
        """Every name the spec defines: variables, parameters, intermediates, aux outputs and
        Jacobian intermediates, in that order (what a writer may have to rename for its target)."""
        names = list(self.variables) + list(self.parameters) + [n for n, _ in self.intermediates]
        names += [n for n, _ in self.aux]
        if self.jacobian is not None:
            names += [n for n, _ in self.jacobian.intermediates]
        return names

    def text_size(self) -> int:
        """Characters of ``name=expr`` lines for intermediates and right-hand sides (a neutral
        measure of model size, the body of an XPPAUT file without options)."""
        size = sum(len(nm) + len(ex) + 2 for nm, ex in self.intermediates)
        size += sum(len(v) + len(ex) + 3 for v, ex in zip(self.variables, self.rhs))
        return size

    def evaluator(self) -> "SpecEvaluator":
        return SpecEvaluator(self)


def _pair(item, what):
    if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], str)):
        raise ValueError(f"{what}: expected a (name, expression) pair")
    return item[0], item[1]


class SpecEvaluator:
    """Numeric evaluation of a validated spec (postfix programs over numpy; no eval/exec).

    ``x`` may be one state ``(n,)`` or a stack ``(m, n)``; ``params`` overrides parameter values.
    """

    def __init__(self, spec: OdeSpec):
        spec.validate()
        self.spec = spec
        self._inter = [(nm, compile_expr(ex)) for nm, ex in spec.intermediates]
        self._rhs = [compile_expr(ex) for ex in spec.rhs]
        self._aux = [(nm, compile_expr(ex)) for nm, ex in spec.aux]
        if spec.jacobian is not None:
            self._jinter = [(nm, compile_expr(ex)) for nm, ex in spec.jacobian.intermediates]
            self._jent = [(i, j, compile_expr(ex)) for i, j, ex in spec.jacobian.entries]
        else:
            self._jinter = self._jent = None

    def _env(self, x, params):
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.spec.n or x.ndim > 2:
            raise ValueError(f"x: expected shape ({self.spec.n},) or (m, {self.spec.n}), got {x.shape}")
        env = dict(self.spec.parameters)
        if params:
            for k, v in params.items():
                if k not in env:
                    raise ValueError(f"params: unknown parameter {k!r}")
                env[k] = float(v)
        for i, v in enumerate(self.spec.variables):
            env[v] = x[..., i]
        with np.errstate(all="ignore"):
            for nm, prog in self._inter:
                env[nm] = _run(prog, env)
        return x, env

    def _stack(self, vals, x):
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), x.shape[:-1]) for v in vals], axis=-1)

    def rhs(self, x, params=None):
        x, env = self._env(x, params)
        with np.errstate(all="ignore"):
            return self._stack([_run(p, env) for p in self._rhs], x)

    def aux(self, x, params=None):
        x, env = self._env(x, params)
        with np.errstate(all="ignore"):
            return {nm: np.broadcast_to(np.asarray(_run(p, env), dtype=float), x.shape[:-1]).copy()
                    if x.ndim > 1 else float(_run(p, env)) for nm, p in self._aux}

    def jacobian(self, x, params=None):
        """Dense Jacobian at one state (None when the spec has no Jacobian)."""
        if self._jent is None:
            return None
        x = np.asarray(x, dtype=float)
        if x.ndim != 1:
            raise ValueError("x: the Jacobian takes one state of shape (n,)")
        x, env = self._env(x, params)
        with np.errstate(all="ignore"):
            for nm, prog in self._jinter:
                env[nm] = _run(prog, env)
            J = np.zeros((self.spec.n, self.spec.n))
            for i, j, prog in self._jent:
                J[i, j] = _run(prog, env)
        return J


# ------------------------------------------------------------------ writing files
def metadata_text(v) -> str:
    """A metadata value (safe text, numbers, lists, dicts) on one line, for comments of model files."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {metadata_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(metadata_text(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


class OverwriteError(FileExistsError, ValueError):
    """An output file exists and ``force`` was not given (a ValueError too, so the CLI exits 2)."""


def write_text(path, text, *, force=False):
    """Write ``text`` to ``path`` (UTF-8, ``\\n`` line ends); refuse to overwrite without ``force``.

    Writers' ``write_<target>(spec, path, force=False)`` use this. Returns the path as a string.
    """
    import os
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"path: {path!r} is a directory; give a file name")
    if os.path.exists(path) and not force:
        raise OverwriteError(f"path: {path!r} exists; pass force=True (--force) to overwrite it")
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"path: directory {parent!r} does not exist")
    from .._io import write_text_atomic
    write_text_atomic(path, text)          # temporary file + rename: never half a model file
    return path
