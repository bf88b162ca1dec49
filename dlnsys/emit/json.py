"""JSON round trip of an :class:`OdeSpec` (``--target json``, ``dlnsys.load_spec``).

The file is plain data: ``{"format": "dlnsys-odespec", "format_version": 1, "name": ..., ...}``
with the fields of ``OdeSpec`` (intermediates and aux as ``[name, expr]`` pairs, Jacobian
entries as ``[row, col, expr]``). :func:`load_spec` parses it with :mod:`json` (NaN and
Infinity refused), checks every key and type, and builds an ``OdeSpec`` whose validation
parses each expression with :mod:`ast` against the whitelist: nothing from the file is ever
executed. Every problem is a ``ValueError`` that names the offending field.
"""
from __future__ import annotations

import json as _json
import os

from .spec import Continuation, JacobianSpec, OdeSpec, write_text

__all__ = ["generate_json", "write_json", "load_spec", "spec_to_dict", "spec_from_dict", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "dlnsys-odespec"
FORMAT_VERSION = 1
#: Largest JSON spec load_spec reads (bytes).
MAX_BYTES = 64 * 1024 * 1024

_TOP_KEYS = ("format", "format_version", "name", "kind", "description", "variables", "initial", "parameters",
             "intermediates", "rhs", "aux", "jacobian", "metadata", "continuation", "options")
_REQUIRED = ("format", "format_version", "name", "kind", "variables", "initial", "parameters", "intermediates",
             "rhs")


def spec_to_dict(spec: OdeSpec) -> dict:
    spec.validate()
    d = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": spec.name, "kind": spec.kind,
         "description": spec.description, "variables": list(spec.variables), "initial": list(spec.initial),
         "parameters": dict(spec.parameters), "intermediates": [list(p) for p in spec.intermediates],
         "rhs": list(spec.rhs), "aux": [list(p) for p in spec.aux],
         "jacobian": None if spec.jacobian is None else {
             "intermediates": [list(p) for p in spec.jacobian.intermediates],
             "entries": [list(e) for e in spec.jacobian.entries]},
         "metadata": spec.metadata,
         "continuation": None if spec.continuation is None else {
             "parameter": spec.continuation.parameter, "form": spec.continuation.form,
             "extra_unknowns": list(spec.continuation.extra_unknowns),
             "parameter_range": list(spec.continuation.parameter_range),
             "step": spec.continuation.step, "max_steps": spec.continuation.max_steps},
         "options": dict(spec.options)}
    return d


def generate_json(spec: OdeSpec) -> str:
    """The spec as deterministic JSON text (one line per list item is not attempted: compact
    separators, a newline after each top-level field)."""
    d = spec_to_dict(spec)
    lines = [_json.dumps(k) + ": " + _json.dumps(v, separators=(",", ":"), allow_nan=False) for k, v in d.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_json(spec: OdeSpec, path, force=False) -> str:
    return write_text(path, generate_json(spec), force=force)


def _reject_constant(name):
    raise ValueError(f"spec: JSON constant {name} is not allowed (numbers must be finite)")


def _pairs(value, what):
    if not isinstance(value, list):
        raise ValueError(f"{what}: expected a list of [name, expression] pairs")
    out = []
    for i, p in enumerate(value):
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)):
            raise ValueError(f"{what}[{i}]: expected [name, expression] (two strings)")
        out.append((p[0], p[1]))
    return out


def _str_list(value, what):
    if not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        raise ValueError(f"{what}: expected a list of strings")
    return list(value)


def spec_from_dict(d) -> OdeSpec:
    """Build (and validate) an OdeSpec from the dict of a JSON spec."""
    if not isinstance(d, dict):
        raise ValueError("spec: the JSON top level must be an object")
    unknown = [k for k in d if k not in _TOP_KEYS]
    if unknown:
        raise ValueError(f"spec: unknown field(s) {', '.join(map(repr, unknown))}")
    missing = [k for k in _REQUIRED if k not in d]
    if missing:
        raise ValueError(f"spec: missing field(s) {', '.join(missing)}")
    if d["format"] != FORMAT:
        raise ValueError(f"format: expected {FORMAT!r}, got {d['format']!r}")
    if d["format_version"] != FORMAT_VERSION:
        raise ValueError(f"format_version: this dlnsys reads version {FORMAT_VERSION}, got {d['format_version']!r}")
    for k in ("name", "kind"):
        if not isinstance(d[k], str):
            raise ValueError(f"{k}: expected a string")
    if not isinstance(d.get("description", ""), str):
        raise ValueError("description: expected a string")
    variables = _str_list(d["variables"], "variables")
    initial = d["initial"]
    if not (isinstance(initial, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                              for v in initial)):
        raise ValueError("initial: expected a list of numbers")
    params = d["parameters"]
    if not isinstance(params, dict) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in params.values()):
        raise ValueError("parameters: expected an object name -> number")
    jac = d.get("jacobian")
    if jac is not None:
        if not isinstance(jac, dict) or set(jac) - {"intermediates", "entries"}:
            raise ValueError("jacobian: expected null or {\"intermediates\": [...], \"entries\": [...]}")
        ents = jac.get("entries", [])
        if not isinstance(ents, list):
            raise ValueError("jacobian.entries: expected a list of [row, col, expression]")
        for i, e in enumerate(ents):
            if not (isinstance(e, list) and len(e) == 3 and type(e[0]) is int and type(e[1]) is int
                    and isinstance(e[2], str)):
                raise ValueError(f"jacobian.entries[{i}]: expected [row, col, expression]")
        jac = JacobianSpec(_pairs(jac.get("intermediates", []), "jacobian.intermediates"),
                           [tuple(e) for e in ents])
    cont = d.get("continuation")
    if cont is not None:
        keys = {"parameter", "form", "extra_unknowns", "parameter_range", "step", "max_steps"}
        if not isinstance(cont, dict) or set(cont) - keys or not {"parameter", "form"} <= set(cont):
            raise ValueError(f"continuation: expected null or an object with keys {', '.join(sorted(keys))}")
        if not isinstance(cont["parameter"], str) or not isinstance(cont["form"], str):
            raise ValueError("continuation: parameter and form must be strings")
        kw = {k: cont[k] for k in ("step", "max_steps") if k in cont}
        if "parameter_range" in cont:
            if not isinstance(cont["parameter_range"], list):
                raise ValueError("continuation.parameter_range: expected [lo, hi]")
            kw["parameter_range"] = tuple(cont["parameter_range"])
        cont = Continuation(parameter=cont["parameter"], form=cont["form"],
                            extra_unknowns=_str_list(cont.get("extra_unknowns", []), "continuation.extra_unknowns"),
                            **kw)
    options = d.get("options", {})
    if not isinstance(options, dict):
        raise ValueError("options: expected an object")
    rhs = _str_list(d["rhs"], "rhs")
    return OdeSpec(name=d["name"], kind=d["kind"], variables=variables, initial=list(initial),
                   parameters=dict(params), intermediates=_pairs(d["intermediates"], "intermediates"),
                   rhs=rhs, aux=_pairs(d.get("aux", []), "aux"), jacobian=jac,
                   metadata=d.get("metadata", {}) if d.get("metadata") is not None else {},
                   continuation=cont, options=dict(options), description=d.get("description", ""))


def load_spec(source) -> OdeSpec:
    """Read a JSON spec from a path (str or PathLike), a JSON text (starting with ``{``) or a dict.

    Validates everything (structure, names, every expression against the whitelist); executes
    nothing. Raises ValueError with the field at fault.
    """
    if isinstance(source, dict):
        return spec_from_dict(source)
    if isinstance(source, (str, os.PathLike)):
        text = source if isinstance(source, str) and source.lstrip().startswith("{") else None
        from .._io import loads_json
        if text is not None:
            return spec_from_dict(loads_json(text, "spec"))
        from .._io import read_text
        path = os.fspath(source)
        text = read_text(path, "path", max_bytes=MAX_BYTES)      # one line naming the file on any problem
        try:
            return spec_from_dict(loads_json(text, "spec"))
        except ValueError as e:          # name the file: "path: 'm.json': rhs[0] (w1): ..."
            raise ValueError(f"path: {path!r}: {' '.join(str(e).split())}") from None
    raise ValueError(f"source: expected a path, JSON text or dict, got {type(source).__name__}")
