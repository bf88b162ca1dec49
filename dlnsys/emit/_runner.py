"""Run emitted model files in their tools (used by the cross-check tests and benchmarks).

* PyDSTool scripts run with the Python 3.9 interpreter named by ``DLNSYS_PYDSTOOL_PYTHON``
  (``make test`` exports it) or ``./.venv39/bin/python`` (current directory, then the
  repository of this package), always in a fresh temporary working directory because the
  compiled generators build under the current directory (``dop853_temp``, ``radau5_temp``,
  ``build``).
* AUTO-07p problems run with the generated ``NAME.sh`` driver (gcc, gfortran and AUTO's
  libraries; no Python) in a temporary directory; dlnsys reads ``b.NAME``/``s.NAME`` itself.

Every ``find_*`` function returns ``(path_or_None, reason)`` so callers can skip or fail
with the reason.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .auto import generate_auto, read_auto
from .pydstool import generate_pydstool, script_filename

__all__ = ["find_pydstool_python", "find_auto", "run_pydstool", "run_auto", "ToolError"]


class ToolError(RuntimeError):
    """An external tool failed; the message has the command and the tail of its output."""


def _tail(text, n=25):
    lines = (text or "").strip().splitlines()
    return "\n".join(lines[-n:])


def find_pydstool_python(check_import=True):
    """``(path, reason)``: the Python 3.9 interpreter with PyDSTool, or None and why not.

    check_import: also run ``python -c "import PyDSTool"`` once (cached per interpreter).
    """
    env = os.environ.get("DLNSYS_PYDSTOOL_PYTHON")
    cands = []
    if env:
        cands.append(("DLNSYS_PYDSTOOL_PYTHON", Path(env)))
    cands.append(("./.venv39", Path.cwd() / ".venv39" / "bin" / "python"))
    cands.append(("repository .venv39", Path(__file__).resolve().parents[2] / ".venv39" / "bin" / "python"))
    tried = []
    for what, p in cands:
        if p.is_file() and os.access(p, os.X_OK):
            if not check_import:
                return str(p), ""
            err = _import_error(str(p))
            if err is None:
                return str(p), ""
            tried.append(f"{what}: {p} cannot import PyDSTool ({err})")
        else:
            tried.append(f"{what}: {p} not found")
    return None, ("no Python 3.9 with PyDSTool (set DLNSYS_PYDSTOOL_PYTHON or run 'make externals'); "
                  + "; ".join(tried))


@functools.lru_cache(maxsize=None)
def _import_error(python):
    try:
        proc = subprocess.run([python, "-c", "import PyDSTool"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {proc.returncode}"
    return None


def find_auto():
    """``(AUTO_DIR, reason)``: AUTO-07p's library directory plus gcc/gfortran, or None and why not."""
    missing = [t for t in ("gcc", "gfortran") if shutil.which(t) is None]
    auto_dir = os.environ.get("AUTO_DIR") or "/usr/lib/auto-07p"
    lib = Path(auto_dir) / "lib"
    if not (lib / "libauto_c.a").is_file():
        missing.append(f"AUTO-07p libraries ({lib}/libauto_c.a; Debian package auto-07p)")
    if missing:
        return None, "missing " + ", ".join(missing)
    return auto_dir, ""


def run_pydstool(spec, *, integrator="vode", args=(), workdir=None, timeout=600, python=None,
                 inputs=None, **gen_kwargs):
    """Write the PyDSTool script for ``spec``, run it, return its JSON result (a dict).

    args: extra command-line arguments for the script. inputs: ``{option: data}`` written as
    JSON files and passed as ``--option FILE`` (e.g. ``{'jacobian-at': states}``).
    workdir: where to run (default: a fresh temporary directory, removed afterwards).
    The result gains ``'wall_s'`` (the whole process, including Python start-up and build).
    """
    if python is None:
        python, reason = find_pydstool_python()
        if python is None:
            raise ToolError(reason)
    text = generate_pydstool(spec, integrator=integrator, **gen_kwargs)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dlnsys-pydstool-")
        workdir = tmp.name
    try:
        wd = Path(workdir)
        script = wd / script_filename(spec)
        script.write_text(text)
        out = wd / "result.json"
        cmd = [python, str(script), "--out", str(out), "--integrator", integrator, *map(str, args)]
        for opt, data in (inputs or {}).items():
            f = wd / f"input-{opt}.json"
            f.write_text(json.dumps(data))
            cmd += [f"--{opt}", str(f)]
        t0 = time.time()
        try:
            proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ToolError(f"PyDSTool script for {spec.name!r} ({integrator}) timed out after {timeout} s") from None
        wall = time.time() - t0
        if proc.returncode != 0 or not out.is_file():
            raise ToolError(f"PyDSTool script for {spec.name!r} ({integrator}) failed with status "
                            f"{proc.returncode}:\n{_tail(proc.stderr) or _tail(proc.stdout)}")
        result = json.loads(out.read_text())
        result["wall_s"] = wall
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


def run_auto(spec, *, workdir=None, timeout=300, **gen_kwargs):
    """Write the AUTO-07p problem for ``spec``, run its ``NAME.sh`` driver, read the results.

    Returns an :class:`~dlnsys.emit.auto.AutoResult` (with ``wall_s`` set as an attribute).
    """
    auto_dir, reason = find_auto()
    if auto_dir is None:
        raise ToolError(reason)
    files = generate_auto(spec, **gen_kwargs)
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dlnsys-auto-")
        workdir = tmp.name
    try:
        wd = Path(workdir)
        for fn, text in files.items():
            (wd / fn).write_text(text)
        env = dict(os.environ, AUTO_DIR=auto_dir)
        t0 = time.time()
        try:
            proc = subprocess.run(["sh", f"{spec.name}.sh"], cwd=wd, capture_output=True, text=True,
                                  timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ToolError(f"AUTO-07p run for {spec.name!r} timed out after {timeout} s") from None
        wall = time.time() - t0
        b = wd / f"b.{spec.name}"
        if proc.returncode != 0 or not b.is_file():
            raise ToolError(f"AUTO-07p run for {spec.name!r} failed with status {proc.returncode}:\n"
                            f"{_tail(proc.stderr)}\n{_tail(proc.stdout)}")
        result = read_auto(wd, spec.name)
        result.wall_s = wall
        result.stdout = proc.stdout
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()
