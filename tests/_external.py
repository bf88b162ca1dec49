"""Helpers for cross-checks against external tools (XPPAUT, AUTO-07p, PyDSTool).

A missing tool is a test FAILURE when the environment variable ``CI`` is ``true`` (CI must
really run the cross-checks) and a SKIP with the reason printed otherwise (``pytest -ra``
lists it). Use from a test module in ``tests/``::

    from _external import require_tool, in_ci

    def test_something(tmp_path):
        xpp = require_tool("xppaut")          # absolute path of the executable
        ...
"""
from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["in_ci", "missing", "require_tool", "require_file"]


def in_ci() -> bool:
    """True when ``CI`` is set to ``true`` (or ``1``/``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str):
    """Fail under CI, skip otherwise (never returns)."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, hint: str = "run 'make externals' (tools/setup-externals.sh)") -> str:
    """Absolute path of the executable ``name`` on PATH (``/usr/bin`` is always searched)."""
    path = shutil.which(name) or shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + "/usr/bin")
    if not path:
        missing(f"external tool {name!r} not found on PATH; {hint}")
    return path


def require_file(path, what: str, hint: str = "run 'make externals'") -> str:
    """``path`` if it exists and is executable (e.g. the Python 3.9 interpreter of PyDSTool)."""
    p = os.fspath(path) if path else ""
    if not p or not os.path.isfile(p) or not os.access(p, os.X_OK):
        missing(f"{what} not available at {p!r}; {hint}")
    return p
