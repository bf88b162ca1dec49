"""PyRates writer: a YAML template (operator, node, circuit) that PyRates loads, simulates and
hands to PyCoBi (AUTO-07p) for continuation.

Layout of ``NAME.yaml`` (one file, three templates)::

    NAME_op:    OperatorTemplate  equations: the intermediates ``r = ...`` (algebraic, in
                                  dependency order), then ``d/dt * x = ...`` per variable (state
                                  order), then the aux outputs ``loss = ...`` (unless aux=False);
                                  variables: the first state ``output(x0)``, the other states
                                  ``variable(x0)``, intermediates and aux ``variable(0.0)``,
                                  parameters as constants (``s1: 1.0``, ``gam``, ``c1`` ...)
    NAME_node:  NodeTemplate      operators: [NAME_op]
    NAME:       CircuitTemplate   nodes: {p: NAME_node}

Load it with ``CircuitTemplate.from_yaml("DIR/NAME/NAME")`` (PyRates' path form: folder, file
name without ``.yaml``, template name); a quantity is addressed as ``p/NAME_op/<name>``
(``p/NAME_op/w01``, ``p/NAME_op/gam``). PyCoBi: ``ODESystem.from_yaml("DIR/NAME/NAME",
auto_dir=..., auto_constants=('eq',))`` (or ``dlnsys.continuation(..., backend="pycobi")``,
which does this for you: :mod:`dlnsys._pycobi`).

Names are the spec's (DESIGN.md: ``w`` + zero-padded index, ``z1..``, ``s1..``, ``gam``,
``c1..``, ``xmu1..``). PyRates parses equations with ``sympy.sympify`` without a namespace, so
a symbol named like a SymPy object (``E``, ``S``, ``beta``, ``li`` ...) or like one of PyRates'
own names (``y``, ``dy``) would be misread: variables and parameters with such names are a
ValueError naming the field (they would need renaming, which DESIGN.md forbids); intermediates
and aux outputs are renamed (``<name>_p``; a comment lists the renames).

What PyRates does not take: maps (``kind == 'map'``, gradient descent (67)) -- PyRates builds
ODE right-hand sides only (ValueError). The spec's analytic Jacobian is not written: PyRates
differentiates the equations itself with SymPy when PyCoBi asks for an analytic Jacobian.

Size (measured on 2 shared cores, PyRates 1.2.3; tools/EXTERNAL-TOOLS.md): the Section 6.1
network (198 variables, 188 intermediates) loads and simulates in about 10 s and PyCoBi's Fortran
for it is generated in 8 s; PyRates' symbolic (SymPy) Jacobian is where it stops scaling (21 s at
32 variables, not finished after 18 min at 198), so ``dlnsys._pycobi`` asks for it only up to 16
unknowns (``BUILD_NOTE``). Files are written for every size; the limit is documented, not enforced.
"""
from __future__ import annotations

import re

from ._pyrates_names import PYRATES_NAME_PARTS, PYRATES_NAMES, SYMPY_NAMES
from .spec import OdeSpec, metadata_text, render, write_text

__all__ = ["generate_pyrates", "write_pyrates", "pyrates_paths", "unsafe_name", "BUILD_NOTE"]

#: What the build (``CircuitTemplate.from_yaml(...).run(...)`` or PyCoBi's Fortran generation)
#: costs, measured; repeated in tools/EXTERNAL-TOOLS.md.
BUILD_NOTE = ("PyRates builds the small catalog models in 0.1-0.6 s and the Section 6.1 network (198 variables) "
              "in about 10 s (simulation) or 8 s (Fortran for AUTO); its SymPy Jacobian is the limit: 21 s at 32 "
              "variables, over 18 min at 198 (tools/EXTERNAL-TOOLS.md)")


def unsafe_name(name: str) -> bool:
    """True when PyRates (SymPy parsing, its reserved names, its Fortran code) would misread ``name``."""
    return (name in SYMPY_NAMES or name.lower() in PYRATES_NAMES
            or any(part in name for part in PYRATES_NAME_PARTS))


def _yfloat(v) -> str:
    """A float YAML 1.1 and 1.2 both read as a float (``1e-05`` has no dot: YAML 1.1 reads a string)."""
    r = repr(float(v))
    if "e" in r:
        mant, exp = r.split("e")
        if "." not in mant:
            mant += ".0"
        r = f"{mant}e{exp}"
    return r


def pyrates_paths(spec: OdeSpec, directory="DIR") -> dict:
    """How to address the model in PyRates: ``{'template': 'DIR/NAME/NAME', 'operator': 'NAME_op',
    'node': 'p', 'prefix': 'p/NAME_op/'}`` (``prefix + name`` is a variable or parameter)."""
    return {"template": f"{directory}/{spec.name}/{spec.name}", "operator": f"{spec.name}_op",
            "node": "p", "prefix": f"p/{spec.name}_op/"}


def generate_pyrates(spec: OdeSpec, *, aux=True) -> str:
    """The PyRates YAML text of ``spec`` (a pure function; the same spec gives the same text).

    Parameters
    ----------
    spec : OdeSpec
        An ODE (``kind == 'ode'``); maps are refused.
    aux : bool
        Also define the aux outputs (loss, conserved quantities) as algebraic variables, so a
        simulation can record them (``outputs={'loss': 'p/NAME_op/loss'}``). They do not enter
        the right-hand side.

    Returns
    -------
    str
        The YAML file (``%YAML 1.2`` header, comments, three templates).

    Raises
    ------
    ValueError
        ``spec`` is a map, or a variable or parameter name PyRates would misread.
    """
    spec.validate()
    if spec.kind != "ode":
        raise ValueError(f"spec: PyRates builds ODEs only; {spec.name!r} is a {spec.kind!r} "
                         "(emit it for xppaut or json)")
    for what, names in (("variables", spec.variables), ("parameters", list(spec.parameters))):
        for nm in names:
            if unsafe_name(nm):
                raise ValueError(f"{what}: {nm!r} is a SymPy or PyRates name that PyRates would misread; "
                                 "rename it in the spec")
    taken = {n.lower() for n in spec.symbols()}
    rename = {}

    def safe(nm):
        if not unsafe_name(nm):
            return nm
        k, new = 0, f"{nm}_p"
        while new.lower() in taken or unsafe_name(new):
            k += 1
            new = f"{nm}_p{k}"
        taken.add(new.lower())
        rename[nm] = new
        return new

    inter = [(safe(nm), ex) for nm, ex in spec.intermediates]
    aux_items = [(safe(nm), ex) for nm, ex in spec.aux] if aux else []

    def expr(e):
        text = render(e, power="**")
        if rename:
            # rename whole identifiers only (names are [A-Za-z][A-Za-z0-9_]*)
            text = re.sub(r"[A-Za-z][A-Za-z0-9_]*", lambda m: rename.get(m.group(0), m.group(0)), text)
        return text

    op, node = f"{spec.name}_op", f"{spec.name}_node"
    out = ["%YAML 1.2", "---",
           f"# {spec.name}: {spec.description}" if spec.description else f"# {spec.name}",
           "# generated by dlnsys (dlnsys emit --target pyrates): a PyRates template (operator, node, circuit)",
           f"# load: pyrates.CircuitTemplate.from_yaml('DIR/{spec.name}/{spec.name}') (folder, file name without "
           f".yaml, circuit); quantities are p/{op}/<name>",
           f"# state order: {' '.join(spec.variables)}"]
    for k, v in spec.metadata.items():
        line = f"# {k}: {metadata_text(v)}"
        out.append(line if len(line) <= 200 else line[:196] + " ...")
    if spec.continuation is not None:
        c = spec.continuation
        out.append(f"# continuation: parameter {c.parameter}, form {c.form}, range {c.parameter_range}, step "
                   f"{c.step!r}, max_steps {c.max_steps}, extra unknowns {' '.join(c.extra_unknowns) or 'none'}; "
                   "the initial state is an equilibrium")
        out.append(f"# PyCoBi: ODESystem.from_yaml(path, auto_dir='/usr/lib/auto-07p', auto_constants=('eq',)), then "
                   f"run(c='eq', ICP='p/{op}/{c.parameter}', ...) (see dlnsys._pycobi for the AUTO 0.9.2 fixes)")
    if rename:
        out.append("# renamed for PyRates (SymPy names): " + ", ".join(f"{a} -> {b}" for a, b in rename.items()))
    if spec.jacobian is not None:
        out.append("# the spec's analytic Jacobian is not written: PyRates derives one with SymPy when asked")
    out += ["", f"{op}:", "  base: OperatorTemplate", "  equations:"]
    for nm, ex in inter:
        out.append(f'    - "{nm} = {expr(ex)}"')
    for v, ex in zip(spec.variables, spec.rhs):
        out.append(f'    - "d/dt * {v} = {expr(ex)}"')
    for nm, ex in aux_items:
        out.append(f'    - "{nm} = {expr(ex)}"')
    out.append("  variables:")
    for k, (v, x0) in enumerate(zip(spec.variables, spec.initial)):
        # PyRates allows one 'output' per operator; the other states are 'variable's
        out.append(f"    {v}: {'output' if k == 0 else 'variable'}({_yfloat(x0)})")
    for nm, _ in inter + aux_items:
        out.append(f"    {nm}: variable(0.0)")
    for p, v in spec.parameters.items():
        out.append(f"    {p}: {_yfloat(v)}")
    out += ["", f"{node}:", "  base: NodeTemplate", "  operators:", f"    - {op}",
            "", f"{spec.name}:", "  base: CircuitTemplate", "  nodes:", f"    p: {node}"]
    return "\n".join(out) + "\n"


def write_pyrates(spec: OdeSpec, path, force=False, **options) -> str:
    """Write :func:`generate_pyrates` to ``path`` atomically (refuses to overwrite without ``force``).

    Parameters
    ----------
    spec : OdeSpec
    path : str or os.PathLike
        The file (``NAME.yaml``; PyRates finds it as ``DIR/NAME/NAME``).
    force : bool
        Overwrite an existing file.
    **options
        Passed to :func:`generate_pyrates` (``aux``).

    Returns
    -------
    str
        The path written.
    """
    return write_text(path, generate_pyrates(spec, **options), force=force)
