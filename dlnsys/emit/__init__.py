"""Model files for dynamical-systems tools: a neutral :class:`OdeSpec` and one writer per target.

* :mod:`dlnsys.emit.spec` -- the spec, its expression language, validator and safe evaluator;
* :mod:`dlnsys.emit.generators` -- specs for networks, reductions, paper examples, continuation;
* :mod:`dlnsys.emit.json` -- JSON round trip (``generate_json``, ``write_json``, ``load_spec``);
* :mod:`dlnsys.emit.xppaut` -- XPPAUT ``.ode`` files; PyDSTool, AUTO-07p and PyRates writers live in
  :mod:`dlnsys.emit.pydstool`, :mod:`dlnsys.emit.auto` and :mod:`dlnsys.emit.pyrates`;
* :mod:`dlnsys.emit.catalog` -- the committed catalog in ``models/`` (``dlnsys models regenerate``).
"""
from .json import generate_json, load_spec, write_json
from .spec import Continuation, JacobianSpec, OdeSpec, SpecEvaluator, render, validate_expr
from .xppaut import generate_xppaut, write_xppaut

__all__ = ["OdeSpec", "JacobianSpec", "Continuation", "SpecEvaluator", "render", "validate_expr",
           "generate_json", "write_json", "load_spec", "generate_xppaut", "write_xppaut"]
