"""``import dlnsys`` stays light: heavy dependencies are imported where they are used.

The whole-process time of a short ``dlnsys simulate`` (compared with XPPAUT's in
``benchmarks/run.py``) is mostly imports; scipy.sparse.linalg alone costs ~0.4 s.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

PKG_ROOT = str(pathlib.Path(__file__).resolve().parents[1])
HEAVY = ("scipy.sparse.linalg", "scipy.integrate", "scipy.optimize", "networkx", "holoviews", "bokeh",
         "plotly")


def _loaded_after(code):
    probe = code + "\nimport sys\nprint(' '.join(k for k in %r if k in sys.modules))\n" % (HEAVY,)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=PKG_ROOT))
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_import_dlnsys_does_not_import_heavy_dependencies():
    assert _loaded_after("import dlnsys") == []


def test_compiled_simulation_needs_no_scipy_integrate():
    code = ("import dlnsys\n"
            "from dlnsys import Network, init, simulate, compiled\n"
            "net = Network((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5))\n"
            "tr = simulate(net, init.gaussian(net, 0.05, seed=0), 5.0)\n"
            "assert tr.method == ('CBDF' if compiled.available() else tr.method)\n")
    loaded = _loaded_after(code)
    import dlnsys.compiled
    if dlnsys.compiled.available():
        assert "scipy.integrate" not in loaded
