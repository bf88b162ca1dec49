"""The committed model catalog (``models/``): which specs, which targets, which files.

``dlnsys models regenerate`` (``make models``) writes every file listed by :func:`catalog_files`;
``dlnsys models regenerate --check`` (and ``tests/test_models_catalog.py``) checks that the
committed files are reproduced byte for byte. Targets whose writer module is not available
are skipped (and said so); a writer that refuses a spec (``ValueError``, e.g. a map for a tool
without maps) skips that one file, deterministically.

Layout: ``models/json/NAME.json``, ``models/xppaut/NAME.ode``, ``models/pydstool/NAME.py``,
``models/auto/NAME/<files>`` (AUTO-07p needs its files together), ``models/pyrates/NAME.yaml``,
``models/README.md``.
"""
from __future__ import annotations

import importlib
import os

from .._io import read_text, write_text_atomic
from . import generators as g

__all__ = ["catalog_specs", "catalog_files", "render_target", "TARGETS", "target_available", "regenerate",
           "check"]

TARGETS = ("json", "xppaut", "pydstool", "auto", "pyrates")
SECTION61_SIGMA = (7.0, 5.5, 4.0, 2.5)


def catalog_specs():
    """``[(spec, targets)]`` in catalog order (deterministic)."""
    specs = []
    for ex in ("62", "65", "66"):
        specs.append(g.paper_spec(ex, options={"t_end": 10.0, "dt": 0.1}))
    specs.append(g.network_spec(g.section61_network(SECTION61_SIGMA), name="sec61", system="section-6.1",
                                options={"t_end": 5.0, "dt": 0.1}))
    for h in (2, 3, 4, 5):
        specs.append(g.logistic_spec(SECTION61_SIGMA, h, name=f"logistic_h{h}", options={"t_end": 10.0, "dt": 0.1}))
    specs.append(g.diagonal_spec(SECTION61_SIGMA, 5, name="diag_dy4_h5", options={"t_end": 10.0, "dt": 0.1}))
    specs.append(g.chain_leaf_spec(2, 1.0, [0.0], name="leaf62", parameter="c1", parameter_range=(-3.0, 3.0)))
    net62 = g.Network((1, 1, 1), [1.0])
    from ..reductions import chain_leaf_equilibrium
    specs.append(g.bordered_spec(net62, chain_leaf_equilibrium(1.0, [0.0]), parameter="c1", name="bordered62",
                                 parameter_range=(-3.0, 3.0)))
    # h = 2 starts on the trivial branch z = 0, which the nonzero branch z^2 = sigma - gam crosses at
    # gam = sigma: from there the tools report a clean branch point (from the nonzero side AUTO may
    # label the same point LP). h = 3 starts on the nonzero branch, which folds at reductions.logistic_fold.
    specs.append(g.logistic_spec([2.0], 2, [0.0], name="logreg_h2", continuation="gam"))
    specs.append(g.logistic_spec([2.0], 3, name="logreg_h3", continuation="gam"))
    specs.append(g.gd_map_spec(net62, 0.1, [0.6, 0.3], name="gd62", options={"t_end": 200.0, "dt": 1.0}))
    out = []
    for s in specs:
        if s.kind == "map":
            targets = ("json", "xppaut")                     # maps: XPPAUT iterates them
        elif s.continuation is None:
            targets = ("json", "xppaut", "pydstool", "pyrates")   # AUTO is for continuation problems
        else:
            targets = TARGETS
        out.append((s, targets))
    return out


def _writer(target):
    if target == "json":
        from .json import generate_json
        return generate_json
    if target == "xppaut":
        from .xppaut import generate_xppaut
        return generate_xppaut
    mod = importlib.import_module(f"dlnsys.emit.{target}")
    return getattr(mod, f"generate_{target}")


def target_available(target):
    try:
        _writer(target)
        return True
    except (ImportError, AttributeError):
        return False


_EXT = {"json": ".json", "xppaut": ".ode", "pydstool": ".py", "auto": ".c", "javascript": ".js", "pyrates": ".yaml"}


def render_target(spec, target):
    """``{relative_path: text}`` of one spec in one target (paths relative to the target folder)."""
    out = _writer(target)(spec)
    if isinstance(out, str):
        return {spec.name + _EXT[target]: out}
    if isinstance(out, dict):
        files = {}
        for fname, text in out.items():
            fname = os.path.basename(str(fname))
            files[f"{spec.name}/{fname}" if target == "auto" else fname] = text
        return files
    raise TypeError(f"generate_{target} returned {type(out).__name__}; expected str or dict")


def catalog_files():
    """``({path relative to models/: text}, [notes])`` for every available target."""
    files, notes = {}, []
    for spec, targets in catalog_specs():
        for t in targets:
            if not target_available(t):
                continue
            try:
                rendered = render_target(spec, t)
            except (ValueError, NotImplementedError) as exc:
                notes.append(f"{t}/{spec.name}: skipped ({' '.join(str(exc).split())[:120]})")
                continue
            for rel, text in rendered.items():
                files[f"{t}/{rel}"] = text
    for t in TARGETS:
        if not target_available(t):
            notes.append(f"{t}: writer dlnsys.emit.{t} not available, target skipped")
    files["README.md"] = _readme(files, notes)
    return files, notes


def _readme(files, notes):
    by_target = {}
    for rel in sorted(files):
        t = rel.split("/", 1)[0]
        by_target.setdefault(t, []).append(rel)
    lines = [
        "# dlnsys model catalog",
        "",
        "Generated by `dlnsys models regenerate` (or `make models`); do not edit by hand.",
        "`dlnsys models regenerate --check` (run by the test suite) verifies that regeneration reproduces",
        "every file byte for byte. Variable names follow the state order of dlnsys",
        "(`w` + zero-padded index, the paper's `w1..w4` for (62), (65), (66)); parameters are",
        "`s1..` (sigma_j), `gam` (gamma), `c1..` (leaf constants), `eta` (step of (67)).",
        "",
        "## Models",
        "",
        "| name | what | paper |",
        "|---|---|---|",
    ]
    for spec, _ in catalog_specs():
        eq = ", ".join(f"({e})" for e in spec.metadata.get("equations", []))
        extra = ""
        if spec.continuation is not None:
            c = spec.continuation
            extra = f"; continuation in `{c.parameter}` ({c.form})"
        lines.append(f"| `{spec.name}` | {spec.description}{extra} | {eq} |")
    lines += [
        "",
        "## How to run each file",
        "",
        "* **JSON** (`json/NAME.json`): the neutral spec; `dlnsys.emit.json.load_spec(path)` validates it",
        "  (executing nothing) and `dlnsys emit` regenerates any target from the same generators.",
        "* **XPPAUT** (`xppaut/NAME.ode`): `cd models/xppaut && xppaut NAME.ode -silent` integrates",
        "  (maps iterate) and writes `output.dat`: columns `t`, the variables in order, then the aux",
        "  outputs (loss, conserved quantities). Interactively: `xppaut NAME.ode`. Files of continuation",
        "  problems start at an equilibrium and carry AUTO limits (`@ parmin, parmax, ds, nmax`).",
        "* **PyDSTool** (`pydstool/NAME.py`): Python 3.9 scripts that need only PyDSTool and numpy;",
        "  run them with the pinned environment (created by `make externals`):",
        "  `.venv39/bin/python models/pydstool/NAME.py [--out result.json] [--integrator vode|dopri|radau]`;",
        "  each integrates (or, for continuation problems, runs PyCont EP-C) and writes its result as",
        "  JSON (see the script's header for every option).",
        "* **AUTO-07p** (`auto/NAME/`, continuation problems only): `NAME.c` (equations), `c.NAME`",
        "  (constants), and two equivalent drivers: `cd models/auto/NAME && sh NAME.sh` (gcc + gfortran,",
        "  no Python) or `auto-07p NAME.auto`. Both write `b.NAME`, `s.NAME`, `d.NAME`; dlnsys reads",
        "  them itself (`dlnsys.emit.auto.read_auto`).",
        "* **PyRates** (`pyrates/NAME.yaml`, every ODE): a PyRates template (operator `NAME_op`, node,",
        "  circuit `NAME`) for current Python; quantities are `p/NAME_op/<name>`. Simulate:",
        "  `CircuitTemplate.from_yaml('models/pyrates/NAME/NAME').run(simulation_time=10.0, step_size=1e-3,",
        "  outputs={'w1': 'p/NAME_op/w1'}, solver='scipy')`; continue with PyCoBi:",
        "  `ODESystem.from_yaml('models/pyrates/NAME/NAME', auto_dir='/usr/lib/auto-07p', auto_constants=('eq',))`",
        "  after the run-time fixes of `dlnsys._pycobi` (or just `dlnsys.continuation(..., backend='pycobi')`).",
        "",
        "Run outputs (`output.dat`, `b.NAME`, ...) are ignored by the catalog check, but it is tidier to",
        "run a copy: `cp -r models/auto/leaf62 /tmp/ && cd /tmp/leaf62 && sh leaf62.sh`.",
        "",
        "## Files",
        "",
    ]
    for t in TARGETS:
        if t in by_target:
            lines.append(f"* {t}: " + ", ".join(f"`{r}`" for r in by_target[t]))
    if notes:
        lines += ["", "## Notes", ""] + [f"* {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _is_model_file(fname):
    """Files the catalog writes (run outputs such as output.dat, b.NAME, fort.7 are ignored)."""
    return fname.endswith((".ode", ".json", ".py", ".c", ".sh", ".auto", ".yaml")) or fname.startswith("c.")


def _existing(root):
    out = set()
    for t in TARGETS:
        base = os.path.join(root, t)
        for dirpath, _, fnames in os.walk(base):
            for f in fnames:
                if not _is_model_file(f):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                out.add(rel)
    return out


def check(root):
    """Differences between ``root`` and a fresh regeneration: ``(changed, missing, stale, notes)``."""
    files, notes = catalog_files()
    changed, missing = [], []
    for rel, text in sorted(files.items()):
        p = os.path.join(root, rel)
        if not os.path.isfile(p):
            missing.append(rel)
            continue
        if read_text(p, "--dir", newline_exact=True) != text:
            changed.append(rel)
    available = {t for t in TARGETS if target_available(t)}
    stale = sorted(r for r in _existing(root) if r not in files and r.split("/", 1)[0] in available)
    return changed, missing, stale, notes


def regenerate(root):
    """Write every catalog file under ``root``; returns ``(written, notes)`` (paths relative to root)."""
    files, notes = catalog_files()
    for rel, text in sorted(files.items()):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        write_text_atomic(p, text)         # temporary file + rename: a stopped run leaves whole files
    return sorted(files), notes
