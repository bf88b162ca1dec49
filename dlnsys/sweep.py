"""Parameter studies: many runs of the gradient flow, on a Dask cluster, with nothing lost.

A **study** is data, not code: a TOML file (or the same as a :class:`Study` object) naming a
design over architectures ``dims``, spectra ``sigma``, regularization ``gamma``, the
initialization family ``init``, its ``scale`` and the random ``seed``; the integration
settings; and the **measures** recorded per run. :func:`sweep` runs every run of a study into an
output folder -- on a Dask ``LocalCluster`` that it starts and stops itself (one worker process
per core), on an existing Dask cluster (``scheduler="tcp://HOST:PORT"``), or in this process
(``scheduler="serial"``) -- and :func:`load_sweep` reads the folder back as one tidy pandas table
with one row per run. ``dlnsys sweep study.toml --out results/`` is the command line;
``dlnsys sweep --example`` prints a commented study file.

The study file
--------------
::

    name = "plateaus"                 # free text
    design = "grid"                   # "grid": every combination; "random": n_runs draws
    # n_runs = 500                    # random design: the number of runs
    # design_seed = 0                 # random design: seed of the draws

    [parameters]
    dims = [[11, 6, 6, 6, 6, 4], [11, 6, 6, 4]]   # one architecture, or a list of them
    sigma = [7.0, 5.5, 4.0, 2.5]      # paired with every dims of the same d_y
    gamma = 0.0                       # number, list, {linspace = [a, b, n]}, {logspace = [a, b, n]}
    init = ["gaussian", {family = "delta_balanced", delta = 0.04}]
    scale = {logspace = [-2, -1, 5]}  # 1e-2 ... 1e-1, five values
    seed = {range = [0, 10]}          # 0, 1, ..., 9 (or an int, or a list)

    [integration]
    t_final = 400.0                   # required
    rtol = 1e-8
    atol = 1e-10
    method = "auto"                   # any method of dlnsys.simulate
    until_loss = 1e-12                # optional: stop a run once its loss is this small

    [measures]
    record = ["final_loss", "itinerary", "escape_times"]
    convergence_loss = 1e-6           # options of the measures (defaults shown in MEASURE_OPTIONS)

Every key is checked: an unknown key, an impossible architecture, an empty list, a repeated
grid value or a value of the wrong type is a ``ValueError`` naming the file and the key
(``study.toml: parameters.scale: ...``). In a **grid** design the runs are every combination, in
the order dims/sigma pair, gamma, init, scale, seed (seed varies fastest). In a **random**
design each of ``n_runs`` runs draws every parameter from its value: a list is a uniform
choice, ``{uniform = [lo, hi]}`` and ``{log_uniform = [lo, hi]}`` are continuous draws (gamma,
scale), ``{range = [a, b]}`` a uniform integer draw (seed); without ``seed`` each run draws its
own seed. The draws come from ``numpy.random.default_rng(design_seed)`` in run order.

Initialization families (``init``): ``gaussian`` (:func:`dlnsys.init.gaussian`), ``balanced``
(:func:`dlnsys.init.balanced`, option ``rotate``), ``delta_balanced``
(:func:`dlnsys.init.delta_balanced`, option ``delta``, required), ``diagonal_random``
(:func:`dlnsys.init.diagonal_random`), and ``aligned_balanced``: 0-balanced and aligned with
the data (every layer ``diag(s_j^(1/h))`` with ``s_j = scale |g_j|``, g standard normal, so the
end-to-end map is ``diag(s)``; option ``rotate`` applies random orthogonal changes of basis of
the hidden layers, :func:`dlnsys.init.decoupled`), the family for which the 0-balanced closed
forms of :mod:`dlnsys.exact` apply. Each run's initial state is
``family(net, scale, seed=seed, **options)``, so a row is reproduced with the plain API.

Measures (``measures.record``; see :data:`MEASURES`)
------------------------------------------------------
Every row has the run's parameters (``dims``, ``depth``, ``sigma``, ``gamma``, ``init``,
``init_options``, ``scale``, ``seed``), ``run_id``, ``index``, ``status`` (``"ok"`` or
``"error"``), ``error`` (``"Type: message"`` when the run or one of its measures raised; the
sweep goes on), ``warnings``, ``seconds`` (wall) and ``cpu_seconds`` (CPU) of the run, and the
simulation summary of ``final_loss``:
``method``, ``sim_status``, ``sim_message``, ``t_end``, ``n_steps``, ``nfev``, ``initial_loss``,
``final_loss``, ``conserved_drift``. The other measures add:

* ``convergence_time`` -- first time the loss is at most ``convergence_loss`` (interpolated in
  log loss between saved times; NaN if never).
* ``itinerary`` -- :func:`dlnsys.itinerary`: ``n_plateaus``, ``itinerary`` (``"{} -> {1} -> ..."``)
  and ``plateaus`` (JSON: signature, ``t_enter``, ``t_exit``, loss, kind of each plateau; see
  :func:`plateau_table` for one row per plateau).
* ``leaf`` -- the leaf of the run: ``balancedness`` (``max_i ||C_i||_F``) and ``leaf_constants``
  (JSON list of :func:`dlnsys.invariants.conserved_vector` at x0).
* ``classification`` -- :func:`dlnsys.classify` of the final state: ``end_kind``,
  ``end_signature``, ``end_critical_value``, ``end_relative_gradient``, ``end_min_eigenvalue``.
* ``rates`` -- Props. 26-28: ``prop26_holds``, ``prop26_min_ratio`` along the trajectory,
  ``observed_rate`` (:func:`dlnsys.rates.observed_rate`), ``prop27_rate``, ``prop27_holds``,
  ``prop28_rate``, ``prop28_holds`` (holds: the observed rate is at least the constant; None
  where the proposition gives no constant), all from the saved times where the loss is above
  ``RATES_LOSS_FLOOR * max(1, L(0))`` (below it the integrated loss is rounding noise).
* ``escape_times`` -- ``escape_time_i``: first time the strength of data mode i,
  ``[W_{1:h}]_ii`` (``u_i^T W_{1:h} v_i`` with the singular vectors of ``Sigma``, the coordinate
  axes), reaches ``escape_level * sigma_i`` (linear interpolation between saved times; 0 if it
  starts above, NaN if never): the definition of :func:`dlnsys.exact.escape_times`, and unlike
  the i-th singular value it follows mode i when modes are learned out of order; and
  ``mode_initial_i``, that strength at t = 0.
* ``predicted_escape_times`` -- ``escape_pred_i`` from :func:`dlnsys.exact.escape_times`, NaN and
  ``escape_pred_note`` where no prediction applies.
* ``exact`` -- ``exact_error``: ``max |x(t) - x_exact(t)| / max |x_exact(t)|`` over the saved
  times against :func:`dlnsys.exact.exact_trajectory`; NaN and ``exact_note`` (the reason)
  where no exact solution applies.

Nothing is lost
---------------
Runs have stable ids (a hash of the run's parameters, integration settings and measures), so
re-running a study into the same folder computes only the runs without a row. Runs are
grouped into tasks (``batch`` runs each; by default sized so that a task takes about
``TARGET_TASK_SECONDS``, from the measured cost of the first runs); as each task finishes, its
rows are written atomically (temporary file, then rename) to ``out/parts/`` by this process --
so the workers of a remote cluster need not see the folder. A task whose worker dies is
rescheduled by Dask; a task that still fails is split into single runs, and a single run
that fails records the error in its row. Part files are named after their run ids, and
:func:`load_sweep` keeps one row per run id, so a retried task never duplicates a row. The
study is saved as ``out/study.toml``; a different study into the same folder is refused
unless ``force=True`` (then the saved study is replaced and the rows of runs the new study
shares with the old one are reused). At most a few tasks per worker are in flight and runs
are enumerated lazily, so the memory of this process does not grow with the number of runs
(until the final table, which has one row per run). A cluster left without any worker for
``NO_WORKER_SECONDS`` stops the sweep with ``ConnectionError`` instead of waiting forever;
Ctrl-C cancels the tasks in flight, closes a cluster started here and raises
:class:`SweepInterrupted`. Either way the folder is resumable.

Examples
--------
>>> import tempfile
>>> from dlnsys.sweep import Study, sweep, load_sweep
>>> study = Study.from_toml('''
... [parameters]
... dims = [2, 2, 2]
... sigma = [2.0, 1.0]
... scale = [0.1, 0.2]
... seed = {range = [0, 3]}
... [integration]
... t_final = 20.0
... [measures]
... record = ["final_loss", "escape_times"]
... ''')
>>> study.count()
6
>>> with tempfile.TemporaryDirectory() as folder:
...     res = sweep(study, folder, scheduler="serial", progress=False)
...     table = load_sweep(folder)
>>> res.status, res.n_done, len(table), bool((table.final_loss < 1e-3).all())
('complete', 6, 6, True)
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import numbers
import os
import re
import sys
import time
import warnings

import numpy as np

from ._io import write_text_atomic

__all__ = ["Study", "SweepResult", "SweepInterrupted", "sweep", "load_sweep", "plateau_table", "MEASURES",
           "MEASURE_OPTIONS", "INIT_FAMILIES", "EXAMPLE_STUDY", "TARGET_TASK_SECONDS"]

#: Measures a study may record, with what they add to each row (the module docstring has the details).
MEASURES = {
    "final_loss": "always recorded: method, sim_status, t_end, n_steps, nfev, initial_loss, final_loss, "
                  "conserved_drift",
    "convergence_time": "convergence_time: first time the loss is <= convergence_loss",
    "itinerary": "n_plateaus, itinerary, plateaus (JSON): the saddle-to-saddle itinerary (dlnsys.itinerary)",
    "leaf": "balancedness, leaf_constants (JSON): the conservation-law leaf of x0 (Prop. 6)",
    "classification": "end_kind, end_signature, end_critical_value, end_relative_gradient, end_min_eigenvalue: "
                      "dlnsys.classify of the final state",
    "rates": "prop26_holds, prop26_min_ratio, observed_rate, prop27_rate, prop27_holds, prop28_rate, "
             "prop28_holds: the rate bounds of Props. 26-28",
    "escape_times": "escape_time_i: first time mode i of W_{1:h} ([W_1:h]_ii) reaches escape_level * sigma_i; "
                    "mode_initial_i: [W_1:h(0)]_ii",
    "predicted_escape_times": "escape_pred_i, escape_pred_note: dlnsys.exact.escape_times (NaN where it does "
                              "not apply)",
    "exact": "exact_error, exact_note: distance to dlnsys.exact.exact_trajectory (NaN where no exact solution "
             "applies)",
}

#: Options of the measures (``[measures]`` keys besides ``record``) and their defaults.
MEASURE_OPTIONS = {
    "convergence_loss": 1e-6,     # convergence_time: loss level
    "escape_level": 0.5,          # escape_times, predicted_escape_times: fraction of sigma_i
    "itinerary_rate_tol": 1e-3,   # itinerary: rate_tol of dlnsys.itinerary
    "classify_tol": 1e-6,         # classification: tol of dlnsys.classify
}

#: Initialization families and their options (name -> {option: default}; None = required).
INIT_FAMILIES = {
    "gaussian": {},
    "balanced": {"rotate": True},
    "delta_balanced": {"delta": None},
    "diagonal_random": {},
    "aligned_balanced": {"rotate": False},
}

#: The rates measure uses the saved times where the loss exceeds this times max(1, L(0)).
RATES_LOSS_FLOOR = 1e-10
#: Auto batch size: tasks of about this many seconds make Dask's per-task cost (a few ms) < 1%.
TARGET_TASK_SECONDS = 1.0
#: A sweep on a cluster without any worker for this long (or 6 connect timeouts) stops (ConnectionError).
NO_WORKER_SECONDS = 60.0
#: Largest auto batch (a worker that dies loses at most one task of work).
MAX_AUTO_BATCH = 256
#: Tasks in flight per worker thread: enough to keep workers busy while results are written.
IN_FLIGHT_PER_THREAD = 3

_FORMAT = "dlnsys.sweep/1"
_PART_FORMAT = "dlnsys.sweep-part/1"
_STUDY_FILE = "study.toml"
_PARTS = "parts"
_TOP_KEYS = ("name", "design", "n_runs", "design_seed", "parameters", "integration", "measures")
_PARAM_KEYS = ("dims", "sigma", "gamma", "init", "scale", "seed")
_INTEGRATION_DEFAULTS = {"t_final": None, "rtol": 1e-8, "atol": 1e-10, "method": "auto", "until_loss": None}

#: Column order of the table (other columns follow, sorted).
_LEAD_COLUMNS = ["index", "run_id", "dims", "depth", "sigma", "gamma", "init", "init_options", "scale", "seed",
                 "draw", "status", "error", "warnings", "seconds", "cpu_seconds", "method", "sim_status", "sim_message",
                 "t_end", "n_steps", "nfev", "initial_loss", "final_loss", "conserved_drift"]


EXAMPLE_STUDY = '''\
# A dlnsys study: run it with   dlnsys sweep study.toml --out results/
# then read the table with      python -c "from dlnsys.sweep import load_sweep; print(load_sweep('results'))"
# Every key is documented at the top of dlnsys/sweep.py.

name = "section61-plateaus"
design = "grid"                  # "grid": every combination; "random": n_runs draws (add n_runs, design_seed)

[parameters]
# The Section 6.1 network and a shallower one with the same widths (one list per architecture).
dims = [[11, 6, 6, 6, 6, 4], [11, 6, 6, 4]]
# Singular values of the data; each sigma is paired with every dims of the same d_y.
sigma = [[7.0, 5.5, 4.0, 2.5]]
gamma = 0.0                      # a number, a list, or {linspace = [a, b, n]} / {logspace = [a, b, n]}
# Families: gaussian, balanced, delta_balanced (option delta), diagonal_random, aligned_balanced
# (0-balanced and aligned with the data: the runs that predicted_escape_times and exact apply to).
init = ["gaussian", "aligned_balanced", {family = "delta_balanced", delta = 0.04}]
scale = {logspace = [-1.5, -1, 3]}    # three scales from 10^-1.5 to 10^-1
seed = {range = [0, 4]}               # seeds 0, 1, 2, 3

[integration]
t_final = 400.0
rtol = 1e-8
atol = 1e-10
method = "auto"
until_loss = 1e-12               # stop a run once its loss is this small

[measures]
# final_loss (always), convergence_time, itinerary, leaf, classification, rates, escape_times,
# predicted_escape_times, exact
record = ["final_loss", "convergence_time", "itinerary", "escape_times", "predicted_escape_times"]
convergence_loss = 1e-6          # convergence_time: the loss level
escape_level = 0.5               # escape times: when singular value i reaches escape_level * sigma_i
'''


# ====================================================================== validation helpers
class _Where:
    """Builds ``"source: key: message"`` errors."""

    def __init__(self, source):
        self.source = source

    def error(self, key, message):
        prefix = f"{self.source}: " if self.source else ""
        return ValueError(f"{prefix}{key}: {message}" if key else f"{prefix}{message}")


def _is_number(v):
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_keys(d, allowed, key, where):
    if not isinstance(d, dict):
        raise where.error(key, f"expected a table, got {d!r}")
    for k in d:
        if k not in allowed:
            full = f"{key}.{k}" if key else k
            raise where.error(full, f"unknown key (known keys{' of ' + key if key else ''}: {', '.join(allowed)})")


def _number(v, key, where, *, positive=False, nonneg=False):
    if not _is_number(v) or not math.isfinite(float(v)):
        raise where.error(key, f"expected a finite number, got {v!r}")
    v = float(v)
    if positive and v <= 0:
        raise where.error(key, f"expected a positive number, got {v!r}")
    if nonneg and v < 0:
        raise where.error(key, f"expected a non-negative number, got {v!r}")
    return v


def _dims_list(v, key, where):
    """One architecture ``[11, 6, 4]`` or a list of them -> list of int tuples."""
    if not isinstance(v, (list, tuple)) or not v:
        raise where.error(key, f"expected a list of layer widths such as [11, 6, 4] or a non-empty list of them, "
                               f"got {v!r}")
    single = all(not isinstance(e, (list, tuple)) for e in v)
    items = [v] if single else list(v)
    from ._validate import as_dims
    out = []
    for i, d in enumerate(items):
        k = key if single else f"{key}[{i}]"
        if not isinstance(d, (list, tuple)) or not all(_is_int(e) for e in d):
            raise where.error(k, f"expected a list of positive integers (layer widths), got {d!r}")
        try:
            dd = as_dims(d)
        except ValueError as e:
            raise where.error(k, str(e)) from None
        if dd in out:
            raise where.error(k, f"repeated architecture {list(dd)}")
        out.append(dd)
    return out


def _sigma_list(v, key, where):
    if not isinstance(v, (list, tuple)) or not v:
        raise where.error(key, f"expected a list of singular values such as [7.0, 5.5] or a non-empty list of them, "
                               f"got {v!r}")
    single = all(not isinstance(e, (list, tuple)) for e in v)
    items = [v] if single else list(v)
    from ._validate import as_sigma
    out = []
    for i, s in enumerate(items):
        k = key if single else f"{key}[{i}]"
        if not isinstance(s, (list, tuple)) or not s or not all(_is_number(e) for e in s):
            raise where.error(k, f"expected a non-empty list of numbers, got {s!r}")
        try:
            ss = tuple(float(e) for e in as_sigma(s, len(s)))
        except ValueError as e:
            raise where.error(k, str(e)) from None
        if ss in out:
            raise where.error(k, f"repeated sigma {list(ss)}")
        out.append(ss)
    return out


def _spaced(spec, key, where):
    (kind, val), = spec.items()
    if not isinstance(val, (list, tuple)) or len(val) != 3 or not all(_is_number(e) for e in val[:2]) \
            or not _is_int(val[2]) or val[2] < 1:
        raise where.error(f"{key}.{kind}", f"expected [start, stop, count] with a positive integer count, got {val!r}")
    a, b, n = float(val[0]), float(val[1]), int(val[2])
    return list(np.logspace(a, b, n) if kind == "logspace" else np.linspace(a, b, n))


def _real_values(v, key, where, design, *, positive):
    """Canonical spec of gamma/scale and the values (grid) or a sampler description (random)."""
    chk = dict(positive=positive, nonneg=not positive)
    if _is_number(v):
        return float(_number(v, key, where, **chk)), [float(v)]
    if isinstance(v, (list, tuple)):
        if not v:
            raise where.error(key, "empty list: the study would have no runs")
        vals = [_number(e, f"{key}[{i}]", where, **chk) for i, e in enumerate(v)]
        if len(set(vals)) != len(vals):
            raise where.error(key, f"repeated value in {vals}")
        return vals, vals
    if isinstance(v, dict):
        if len(v) != 1 or next(iter(v)) not in ("logspace", "linspace", "uniform", "log_uniform"):
            raise where.error(key, f"expected a number, a list, or one of {{logspace = [a, b, n]}}, "
                                   f"{{linspace = [a, b, n]}}, {{uniform = [lo, hi]}}, {{log_uniform = [lo, hi]}}; "
                                   f"got {v!r}")
        kind = next(iter(v))
        if kind in ("logspace", "linspace"):
            vals = _spaced(v, key, where)
            for i, e in enumerate(vals):
                _number(e, f"{key}.{kind} (value {i})", where, **chk)
            if len(set(vals)) != len(vals):
                raise where.error(f"{key}.{kind}", "gives repeated values")
            return {kind: [float(x) for x in v[kind][:2]] + [int(v[kind][2])]}, vals
        if design != "random":
            raise where.error(f"{key}.{kind}", "continuous draws are for a random design (design = \"random\"); "
                                               "use a list, logspace or linspace in a grid")
        val = v[kind]
        if not isinstance(val, (list, tuple)) or len(val) != 2 or not all(_is_number(e) for e in val):
            raise where.error(f"{key}.{kind}", f"expected [lo, hi], got {val!r}")
        lo, hi = float(val[0]), float(val[1])
        _number(lo, f"{key}.{kind}", where, **chk)
        _number(hi, f"{key}.{kind}", where, **chk)
        if not lo < hi:
            raise where.error(f"{key}.{kind}", f"expected lo < hi, got [{lo!r}, {hi!r}]")
        if kind == "log_uniform" and lo <= 0:
            raise where.error(f"{key}.{kind}", f"needs lo > 0, got {lo!r}")
        return {kind: [lo, hi]}, None
    raise where.error(key, f"expected a number, a list or a table, got {v!r}")


def _seed_values(v, key, where, design):
    if v is None:
        return None, ([0] if design == "grid" else None)
    if _is_int(v):
        if v < 0:
            raise where.error(key, f"expected a non-negative integer, got {v!r}")
        return int(v), [int(v)]
    if isinstance(v, (list, tuple)):
        if not v:
            raise where.error(key, "empty list: the study would have no runs")
        for i, e in enumerate(v):
            if not _is_int(e) or e < 0:
                raise where.error(f"{key}[{i}]", f"expected a non-negative integer, got {e!r}")
        vals = [int(e) for e in v]
        if len(set(vals)) != len(vals):
            raise where.error(key, f"repeated value in {vals}")
        return vals, vals
    if isinstance(v, dict) and set(v) == {"range"}:
        r = v["range"]
        if not isinstance(r, (list, tuple)) or len(r) != 2 or not all(_is_int(e) for e in r) or r[0] < 0:
            raise where.error(f"{key}.range", f"expected [start, stop] (non-negative integers), got {r!r}")
        if r[1] <= r[0]:
            raise where.error(f"{key}.range", f"empty range {list(r)}: the study would have no runs")
        return {"range": [int(r[0]), int(r[1])]}, range(int(r[0]), int(r[1]))
    raise where.error(key, f"expected an integer, a list of integers or {{range = [start, stop]}}, got {v!r}")


def _init_list(v, key, where):
    items = [v] if isinstance(v, (str, dict)) else v
    if not isinstance(items, (list, tuple)):
        raise where.error(key, f"expected a family name, a table {{family = ...}} or a list of them, got {v!r}")
    if not items:
        raise where.error(key, "empty list: the study would have no runs")
    out = []
    for i, e in enumerate(items):
        k = f"{key}[{i}]" if items is v else key
        if isinstance(e, str):
            e = {"family": e}
        if not isinstance(e, dict) or "family" not in e:
            raise where.error(k, f"expected a family name or a table with a 'family' key, got {e!r}")
        fam = e["family"]
        if fam not in INIT_FAMILIES:
            raise where.error(f"{k}.family" if len(e) > 1 else k,
                              f"unknown initialization family {fam!r} (known: {', '.join(INIT_FAMILIES)})")
        opts = INIT_FAMILIES[fam]
        spec = {"family": fam}
        for name in e:
            if name != "family" and name not in opts:
                known = ", ".join(opts) or "none"
                raise where.error(f"{k}.{name}", f"unknown option of family {fam} (its options: {known})")
        for name, default in opts.items():
            val = e.get(name, default)
            if val is None:
                raise where.error(f"{k}.{name}", f"required by family {fam}")
            if name == "delta":
                val = _number(val, f"{k}.delta", where, nonneg=True)
            elif name == "rotate":
                if not isinstance(val, bool):
                    raise where.error(f"{k}.rotate", f"expected true or false, got {val!r}")
            spec[name] = val
        if spec in out:
            raise where.error(k, f"repeated initialization {spec}")
        out.append(spec)
    return out


def _canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


# ====================================================================== the study
@dataclasses.dataclass(frozen=True)
class Study:
    """A parameter study: the design, the integration settings and the measures (see the module docs).

    Construct it from a TOML file or text (:meth:`from_toml`), a dict (:meth:`from_dict`), or
    directly with the same sections as keyword arguments; every field is validated and
    normalized (defaults filled in), so two studies that mean the same compare equal.

    Attributes
    ----------
    parameters : dict
        ``dims``, ``sigma``, ``gamma``, ``init``, ``scale``, ``seed`` (see the module docstring).
    integration : dict
        ``t_final`` (required), ``rtol``, ``atol``, ``method``, ``until_loss``.
    measures : dict
        ``record`` (a list of names from :data:`MEASURES`) and the options of :data:`MEASURE_OPTIONS`.
    name : str
    design : {"grid", "random"}
    n_runs : int or None
        Number of runs of a random design.
    design_seed : int
        Seed of a random design's draws.

    Examples
    --------
    >>> s = Study(parameters={"dims": [3, 2, 2], "sigma": [2.0, 1.0], "scale": [0.1, 0.2]},
    ...           integration={"t_final": 10.0})
    >>> s.count(), s.measures["record"]
    (2, ['final_loss'])
    >>> Study.from_toml(s.to_toml()) == s
    True
    """

    parameters: dict
    integration: dict
    measures: dict = dataclasses.field(default_factory=dict)
    name: str = ""
    design: str = "grid"
    n_runs: int | None = None
    design_seed: int = 0
    source: str = dataclasses.field(default="", compare=False, repr=False)

    def __post_init__(self):
        where = _Where(self.source)
        if not isinstance(self.name, str):
            raise where.error("name", f"expected a string, got {self.name!r}")
        if self.design not in ("grid", "random"):
            raise where.error("design", f"expected \"grid\" or \"random\", got {self.design!r}")
        if self.design == "random":
            if self.n_runs is None:
                raise where.error("n_runs", "required by a random design (the number of runs)")
            if not _is_int(self.n_runs) or self.n_runs < 1:
                raise where.error("n_runs", f"expected a positive integer, got {self.n_runs!r}")
            if not _is_int(self.design_seed) or self.design_seed < 0:
                raise where.error("design_seed", f"expected a non-negative integer, got {self.design_seed!r}")
        elif self.n_runs is not None:
            raise where.error("n_runs", "only for a random design (a grid has every combination)")
        params, values = self._check_parameters(where)
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "integration", self._check_integration(where))
        object.__setattr__(self, "measures", self._check_measures(where))
        if self.design == "random":
            object.__setattr__(self, "n_runs", int(self.n_runs))
        object.__setattr__(self, "design_seed", int(self.design_seed))

    # ------------------------------------------------------------ validation
    def _check_parameters(self, where):
        p = self.parameters
        _check_keys(p, _PARAM_KEYS, "parameters", where)
        for req in ("dims", "sigma", "scale"):
            if req not in p:
                raise where.error(f"parameters.{req}", "required")
        dims = _dims_list(p["dims"], "parameters.dims", where)
        sigmas = _sigma_list(p["sigma"], "parameters.sigma", where)
        pairs = []
        for d in dims:
            match = [s for s in sigmas if len(s) == d[-1]]
            if not match:
                raise where.error("parameters.sigma", f"no sigma with d_y = {d[-1]} values for dims {list(d)}")
            pairs.extend((d, s) for s in match)
        for s in sigmas:
            if not any(len(s) == d[-1] for d in dims):
                raise where.error("parameters.sigma", f"{list(s)} has {len(s)} values but no dims has d_y = {len(s)}")
        from .network import Network
        for d, s in pairs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    Network(d, s)
                except ValueError as e:
                    raise where.error("parameters.dims", f"{list(d)} with sigma {list(s)}: {e}") from None
        gamma_spec, gammas = _real_values(p.get("gamma", 0.0), "parameters.gamma", where, self.design, positive=False)
        scale_spec, scales = _real_values(p["scale"], "parameters.scale", where, self.design, positive=True)
        seed_spec, seeds = _seed_values(p.get("seed"), "parameters.seed", where, self.design)
        inits = _init_list(p.get("init", "gaussian"), "parameters.init", where)
        canon = {"dims": [list(d) for d in dims], "sigma": [list(s) for s in sigmas], "gamma": gamma_spec,
                 "init": inits, "scale": scale_spec}
        if seed_spec is not None:
            canon["seed"] = seed_spec
        values = {"pairs": pairs, "gamma": gammas, "gamma_spec": gamma_spec, "init": inits, "scale": scales,
                  "scale_spec": scale_spec, "seed": seeds, "seed_spec": seed_spec}
        return canon, values

    def _check_integration(self, where):
        s = self.integration
        _check_keys(s, tuple(_INTEGRATION_DEFAULTS), "integration", where)
        if "t_final" not in s:
            raise where.error("integration.t_final", "required (the final time of every run)")
        out = {"t_final": _number(s["t_final"], "integration.t_final", where, positive=True),
               "rtol": _number(s.get("rtol", 1e-8), "integration.rtol", where, positive=True),
               "atol": _number(s.get("atol", 1e-10), "integration.atol", where, positive=True)}
        from .simulate import METHODS
        m = s.get("method", "auto")
        names = {k.lower(): k for k in METHODS}
        if not isinstance(m, str) or m.lower() not in names:
            raise where.error("integration.method", f"unknown method {m!r} (known: {', '.join(METHODS)})")
        out["method"] = names[m.lower()]
        if s.get("until_loss") is not None:
            out["until_loss"] = _number(s["until_loss"], "integration.until_loss", where, nonneg=True)
        return out

    def _check_measures(self, where):
        m = self.measures if self.measures is not None else {}
        _check_keys(m, ("record",) + tuple(MEASURE_OPTIONS), "measures", where)
        rec = m.get("record", ["final_loss"])
        if isinstance(rec, str):
            rec = [rec]
        if not isinstance(rec, (list, tuple)):
            raise where.error("measures.record", f"expected a list of measure names, got {rec!r}")
        names = ["final_loss"]
        for i, r in enumerate(rec):
            if r not in MEASURES:
                raise where.error(f"measures.record[{i}]", f"unknown measure {r!r} (known: {', '.join(MEASURES)})")
            if r in names and r != "final_loss":
                raise where.error(f"measures.record[{i}]", f"repeated measure {r!r}")
            if r not in names:
                names.append(r)
        out = {"record": names}
        for k, default in MEASURE_OPTIONS.items():
            v = m.get(k, default)
            out[k] = _number(v, f"measures.{k}", where, positive=True)
        if not out["escape_level"] < 1.5:
            raise where.error("measures.escape_level", f"expected a fraction of sigma_i (0 < level < 1.5), "
                                                      f"got {out['escape_level']!r}")
        return out

    # ------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d, *, source="") -> "Study":
        """A study from a dict with the TOML file's layout (``parameters``, ``integration``, ``measures``, ...).

        Examples
        --------
        >>> Study.from_dict({"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": 0.1,
        ...                                 "seed": [0, 1, 2]},
        ...                  "integration": {"t_final": 5}}).count()
        3
        """
        where = _Where(source)
        _check_keys(d, _TOP_KEYS, "", where)
        for sec in ("parameters", "integration"):
            if sec not in d:
                raise where.error(sec, "required section is missing")
        kw = {k: d[k] for k in _TOP_KEYS if k in d}
        kw.setdefault("measures", {})
        return cls(source=source, **kw)

    @classmethod
    def from_toml(cls, path_or_text) -> "Study":
        """A study from a TOML file (a path) or TOML text.

        A ``pathlib.Path``, or a string without a newline that names an existing file or ends
        in ``.toml``, is read as a file; any other string is TOML text. Errors name the file.

        Examples
        --------
        >>> Study.from_toml(EXAMPLE_STUDY).count()
        72
        """
        import tomllib

        is_path = isinstance(path_or_text, os.PathLike) or (
            isinstance(path_or_text, str) and "\n" not in path_or_text
            and (path_or_text.endswith(".toml") or os.path.exists(path_or_text)))
        if is_path:
            from ._io import read_text

            path = os.fspath(path_or_text)
            source = path
            # the one reader of dlnsys (missing, folder, permissions, size, UTF-8): one line naming the file
            text = read_text(path, "study", max_bytes=4 * 2**20)
        elif isinstance(path_or_text, str):
            text, source = path_or_text, "<study>"
        else:
            raise ValueError(f"path_or_text: expected a path or TOML text, got {type(path_or_text).__name__}")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{source}: invalid TOML: {e}") from None
        return cls.from_dict(data, source=source)

    # ------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """The canonical dict (defaults filled in); ``Study.from_dict(s.to_dict()) == s``."""
        d = {"name": self.name, "design": self.design}
        if self.design == "random":
            d["n_runs"] = self.n_runs
            d["design_seed"] = self.design_seed
        d["parameters"] = json.loads(json.dumps(self.parameters))
        d["integration"] = dict(self.integration)
        d["measures"] = {"record": list(self.measures["record"]),
                         **{k: self.measures[k] for k in MEASURE_OPTIONS}}
        return d

    def to_toml(self) -> str:
        """The study as TOML text (what :func:`sweep` saves as ``study.toml``)."""
        d = self.to_dict()
        lines = ["# dlnsys study (saved by dlnsys.sweep; run it with: dlnsys sweep study.toml --out FOLDER)"]
        for k in ("name", "design", "n_runs", "design_seed"):
            if k in d:
                lines.append(f"{k} = {_toml_value(d[k])}")
        for sec in ("parameters", "integration", "measures"):
            lines.append("")
            lines.append(f"[{sec}]")
            for k, v in d[sec].items():
                if sec == "parameters" and k == "init":
                    v = [e["family"] if len(e) == 1 else e for e in v]
                lines.append(f"{k} = {_toml_value(v)}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ the runs
    def count(self) -> int:
        """Number of runs."""
        if self.design == "random":
            return self.n_runs
        v = self._values
        return len(v["pairs"]) * len(v["gamma"]) * len(v["init"]) * len(v["scale"]) * len(v["seed"])

    def _settings(self):
        return {"integration": dict(self.integration), "measures": dict(self.measures)}

    def runs(self):
        """The runs, in order, as dicts (lazily: memory does not grow with the number of runs).

        Each has ``index``, ``run_id`` (16 hex digits), ``dims``, ``sigma``, ``gamma``, ``init``
        (family and options), ``scale``, ``seed`` (and ``draw`` in a random design).
        """
        settings = _canonical_json(self._settings())
        v = self._values
        if self.design == "grid":
            combos = itertools.product(v["pairs"], v["gamma"], v["init"], v["scale"], v["seed"])
            for index, ((d, s), g, ini, sc, sd) in enumerate(combos):
                yield _make_run(index, d, s, g, ini, sc, sd, None, settings)
            return
        rng = np.random.default_rng(self.design_seed)
        for index in range(self.n_runs):
            d, s = v["pairs"][int(rng.integers(len(v["pairs"])))]
            g = _draw_real(rng, v["gamma"], v["gamma_spec"])
            ini = v["init"][int(rng.integers(len(v["init"])))]
            sc = _draw_real(rng, v["scale"], v["scale_spec"])
            spec = v["seed_spec"]
            if spec is None:
                sd = int(rng.integers(0, 2 ** 31))
            elif isinstance(spec, dict):
                sd = int(rng.integers(spec["range"][0], spec["range"][1]))
            else:
                sd = int(v["seed"][int(rng.integers(len(v["seed"])))])
            yield _make_run(index, d, s, g, ini, sc, sd, index, settings)

    def run_ids(self):
        """The run ids, in run order (a generator)."""
        for r in self.runs():
            yield r["run_id"]


def _draw_real(rng, values, spec):
    if isinstance(spec, dict) and "uniform" in spec:
        lo, hi = spec["uniform"]
        return float(rng.uniform(lo, hi))
    if isinstance(spec, dict) and "log_uniform" in spec:
        lo, hi = spec["log_uniform"]
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(values[int(rng.integers(len(values)))])


def _make_run(index, dims, sigma, gamma, init, scale, seed, draw, settings):
    params = {"dims": list(dims), "sigma": [float(x) for x in sigma], "gamma": float(gamma), "init": dict(init),
              "scale": float(scale), "seed": int(seed)}
    if draw is not None:
        params["draw"] = int(draw)
    key = _canonical_json({"format": _FORMAT, "params": params}) + settings
    run_id = hashlib.sha256(key.encode()).hexdigest()[:16]
    return {"index": index, "run_id": run_id, **params}


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_int(v):
        return str(int(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(e) for e in v) + "]"
    if isinstance(v, dict):
        items = []
        for k, e in v.items():
            key = k if _BARE_KEY.match(k) else json.dumps(k)
            items.append(f"{key} = {_toml_value(e)}")
        return "{" + ", ".join(items) + "}"
    raise ValueError(f"study: cannot write {v!r} as TOML")


def _as_study(study):
    if isinstance(study, Study):
        return study
    if isinstance(study, dict):
        return Study.from_dict(study)
    if isinstance(study, (str, os.PathLike)):
        return Study.from_toml(study)
    raise ValueError(f"study: expected a Study, a dict, a TOML file or TOML text, got {type(study).__name__}")


# ====================================================================== one run (runs on the workers)
def _one_line(text, limit=500):
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _err(e):
    return _one_line(f"{type(e).__name__}: {e}")


def _native(v):
    """Python scalars for JSON (NaN stays a float NaN)."""
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _fmt_sig(S):
    return "{" + ",".join(str(int(i)) for i in sorted(S)) + "}"


def _initial_state(net, run):
    from . import init as I
    spec = run["init"]
    fam, scale, seed = spec["family"], run["scale"], run["seed"]
    if fam == "gaussian":
        return I.gaussian(net, scale, seed=seed)
    if fam == "balanced":
        return I.balanced(net, scale, seed=seed, rotate=spec["rotate"])
    if fam == "delta_balanced":
        return I.delta_balanced(net, spec["delta"], scale, seed=seed)
    if fam == "diagonal_random":
        return I.diagonal_random(net, scale, seed=seed)
    if fam == "aligned_balanced":
        rng = np.random.default_rng(seed)
        s = scale * np.abs(rng.standard_normal(net.d_min))
        vals = s ** (1.0 / net.h)
        return I.decoupled(net, vals, seed=rng) if spec["rotate"] else I.diagonal(net, vals)
    raise ValueError(f"init: unknown family {fam!r}")     # pragma: no cover - validated in Study


def _first_crossing(t, y, level):
    """First time y(t) >= level (linear interpolation between samples; NaN if never)."""
    idx = np.flatnonzero(y >= level)
    if idx.size == 0:
        return float("nan")
    k = int(idx[0])
    if k == 0:
        return float(t[0])
    y0, y1 = y[k - 1], y[k]
    s = 0.0 if y1 == y0 else (level - y0) / (y1 - y0)
    return float(t[k - 1] + min(max(s, 0.0), 1.0) * (t[k] - t[k - 1]))


def _m_convergence_time(net, x0, traj, opts):
    L, t, target = traj.loss, traj.t, opts["convergence_loss"]
    idx = np.flatnonzero(L <= target)
    if idx.size == 0:
        return {"convergence_time": float("nan")}
    k = int(idx[0])
    if k == 0:
        return {"convergence_time": float(t[0])}
    tiny = np.finfo(float).tiny
    la, lb, lt = math.log(max(L[k - 1], tiny)), math.log(max(L[k], tiny)), math.log(target)
    s = 1.0 if la == lb else min(max((lt - la) / (lb - la), 0.0), 1.0)
    return {"convergence_time": float(t[k - 1] + s * (t[k] - t[k - 1]))}


def _m_itinerary(net, x0, traj, opts):
    from .separatrices import itinerary
    it = itinerary(net, traj, rate_tol=opts["itinerary_rate_tol"])
    plateaus = [{"signature": [int(i) for i in p.signature], "t_enter": float(p.t_enter),
                 "t_exit": None if p.t_exit is None else float(p.t_exit), "loss": float(p.loss),
                 "critical_value": float(p.critical_value), "kind": p.kind} for p in it.plateaus]
    return {"n_plateaus": len(plateaus),
            "itinerary": " -> ".join(_fmt_sig(p.signature) for p in it.plateaus),
            "plateaus": json.dumps(plateaus)}


def _m_leaf(net, x0, traj, opts):
    from . import invariants
    return {"balancedness": float(invariants.balancedness(net, x0)),
            "leaf_constants": json.dumps([float(c) for c in invariants.conserved_vector(net, x0)])}


def _m_classification(net, x0, traj, opts):
    from .critical import classify
    c = classify(net, traj.final, tol=opts["classify_tol"])
    return {"end_kind": c.kind, "end_signature": "" if c.signature is None else _fmt_sig(c.signature),
            "end_critical_value": float("nan") if c.critical_value is None else float(c.critical_value),
            "end_relative_gradient": float(c.relative_gradient), "end_min_eigenvalue": float(c.min_eigenvalue)}


def _m_rates(net, x0, traj, opts):
    from . import rates
    # Below 1e-10 max(1, L(0)) the loss of an integration at the usual tolerances is rounding noise
    # (an error e in the weights moves L by ~ e sqrt(2L)), and rates measured there mean nothing.
    keep = traj.loss > RATES_LOSS_FLOOR * max(1.0, float(traj.loss[0]))
    keep[0] = True
    t, x, L = traj.t[keep], traj.x[keep], traj.loss[keep]
    if t.size < 2:
        raise ValueError("trajectory: fewer than two saved times above the loss floor; nothing to check")
    chk = rates.prop26(net, t, x)
    obs = rates.observed_rate(t, L)
    out = {"prop26_holds": bool(chk.holds), "prop26_min_ratio": float(chk.min_ratio), "observed_rate": float(obs)}
    for prop, func in (("prop27", rates.prop27), ("prop28", rates.prop28)):
        rc = func(net, x0)
        out[f"{prop}_rate"] = float("nan") if rc.rate is None else float(rc.rate)
        # L(t) <= L(0) exp(-c t) at every saved time; relative slack for integration error
        out[f"{prop}_holds"] = None if rc.rate is None or not math.isfinite(obs) else bool(obs >= rc.rate * (1 - 1e-6))
    return out


def _m_escape_times(net, x0, traj, opts):
    P = net.product(traj.x)                            # (n_t, d_y, d_x)
    out = {}
    for i, sig in enumerate(net.sigma):
        mode = P[:, i, i]                              # strength of data mode i (Sigma's axes)
        out[f"escape_time_{i + 1}"] = _first_crossing(traj.t, mode, opts["escape_level"] * float(sig))
        out[f"mode_initial_{i + 1}"] = float(mode[0])
    return out


def _exact_module():
    """dlnsys.exact, or (None, why not): written alongside this module, it may be missing."""
    try:
        from . import exact
    except ImportError as e:
        return None, f"dlnsys.exact is not available ({_err(e)})"
    return exact, ""


def _m_predicted_escape_times(net, x0, traj, opts):
    nan = float("nan")
    out = {f"escape_pred_{i + 1}": nan for i in range(net.d_y)}
    exact, why = _exact_module()
    if exact is None:
        return {**out, "escape_pred_note": why}
    try:
        pred = exact.escape_times(net, x0, level=opts["escape_level"])
    except exact.NotApplicable as e:
        return {**out, "escape_pred_note": _one_line(e)}
    pred = np.asarray(getattr(pred, "times", pred), dtype=float).reshape(-1)
    for i in range(min(net.d_y, pred.size)):
        out[f"escape_pred_{i + 1}"] = float(pred[i])
    return {**out, "escape_pred_note": ""}


def _m_exact(net, x0, traj, opts):
    exact, why = _exact_module()
    if exact is None:
        return {"exact_error": float("nan"), "exact_note": why}
    try:
        ex = exact.exact_trajectory(net, x0, traj.t)
    except exact.NotApplicable as e:
        return {"exact_error": float("nan"), "exact_note": _one_line(e)}
    xe = np.asarray(ex.x, dtype=float)
    scale = max(float(np.max(np.abs(xe))), np.finfo(float).tiny)
    return {"exact_error": float(np.max(np.abs(traj.x - xe)) / scale), "exact_note": ""}


_MEASURE_FUNCS = {
    "convergence_time": _m_convergence_time,
    "itinerary": _m_itinerary,
    "leaf": _m_leaf,
    "classification": _m_classification,
    "rates": _m_rates,
    "escape_times": _m_escape_times,
    "predicted_escape_times": _m_predicted_escape_times,
    "exact": _m_exact,
}


def _param_columns(run):
    init = dict(run["init"])
    fam = init.pop("family")
    row = {"index": run["index"], "run_id": run["run_id"], "dims": ",".join(str(d) for d in run["dims"]),
           "depth": len(run["dims"]) - 1, "sigma": ",".join(repr(float(s)) for s in run["sigma"]),
           "gamma": run["gamma"], "init": fam, "init_options": json.dumps(init, sort_keys=True) if init else "",
           "scale": run["scale"], "seed": run["seed"]}
    if "draw" in run:
        row["draw"] = run["draw"]
    return row


def _run_one(settings, run):
    """One run: simulate and record the measures; any exception is recorded in the row."""
    from .network import Network
    from .simulate import simulate

    t0, c0 = time.perf_counter(), time.thread_time()
    row = _param_columns(run)
    errors = []
    caught = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            integ, meas = settings["integration"], settings["measures"]
            net = Network(run["dims"], run["sigma"], run["gamma"])
            x0 = _initial_state(net, run)
            traj = simulate(net, x0, integ["t_final"], method=integ["method"], rtol=integ["rtol"],
                            atol=integ["atol"], until_loss=integ.get("until_loss"))
            row.update(method=traj.method, sim_status=int(traj.status), sim_message=_one_line(traj.message),
                       t_end=float(traj.t_final), n_steps=int(traj.n_t - 1), nfev=int(traj.nfev),
                       initial_loss=float(traj.loss[0]), final_loss=float(traj.final_loss),
                       conserved_drift=float(traj.conserved_drift))
            for name in meas["record"]:
                if name == "final_loss":
                    continue
                try:
                    row.update(_MEASURE_FUNCS[name](net, x0, traj, meas))
                except Exception as e:       # noqa: BLE001 - recorded in the row, the other measures go on
                    errors.append(f"measure {name}: {_err(e)}")
        except Exception as e:               # noqa: BLE001 - recorded in the row, the sweep goes on
            errors.insert(0, _err(e))
    msgs = []
    for w in caught:
        m = _one_line(w.message, 300)
        if m not in msgs:
            msgs.append(m)
    row["status"] = "error" if errors else "ok"
    row["error"] = "; ".join(errors)
    row["warnings"] = "; ".join(msgs)
    row["seconds"] = time.perf_counter() - t0
    # CPU time of this thread: unlike ``seconds`` it does not grow when other processes share the cores
    row["cpu_seconds"] = time.thread_time() - c0
    return {k: _native(v) for k, v in row.items()}


def _run_batch(settings, runs):
    """A task: the rows of a list of runs (top level so that Dask pickles it by reference)."""
    return [_run_one(settings, r) for r in runs]


def _run_batch_json(settings, runs_json):
    """:func:`_run_batch` with the runs as one JSON string.

    The in-process scheduler of a LocalCluster keeps the deserialized arguments of finished
    tasks (measured: about 1 KB per run as dicts, distributed 2026.8); one string per task is
    about a quarter of that.
    """
    return _run_batch(settings, json.loads(runs_json))


def _error_rows(runs, message):
    rows = []
    for r in runs:
        row = _param_columns(r)
        row.update(status="error", error=_one_line(message), warnings="", seconds=float("nan"),
                   cpu_seconds=float("nan"))
        rows.append(row)
    return rows


# ====================================================================== the folder
def _part_name(runs_or_rows):
    ids = sorted(r["run_id"] for r in runs_or_rows)
    return "part-" + hashlib.sha1(",".join(ids).encode()).hexdigest()[:20] + ".json"


def _write_part(parts_dir, rows):
    text = json.dumps({"format": _PART_FORMAT, "rows": rows}, allow_nan=True)
    write_text_atomic(os.path.join(parts_dir, _part_name(rows)), text)


def _part_files(parts_dir):
    if not os.path.isdir(parts_dir):
        return []
    # temporary files of an interrupted write start with "." (dlnsys._io): never read them
    return sorted(f for f in os.listdir(parts_dir) if f.startswith("part-") and f.endswith(".json"))


def _read_part(path):
    from ._io import read_text

    try:
        # rows may hold NaN (a measure that does not apply), which JSON writes as NaN: json.loads, not read_json
        doc = json.loads(read_text(path, "part", max_bytes=256 * 2**20))
    except ValueError:
        return None                # unreadable (e.g. written by another program): its runs are recomputed
    if not isinstance(doc, dict) or doc.get("format") != _PART_FORMAT or not isinstance(doc.get("rows"), list):
        return None
    return doc["rows"]


def _id_int(run_id):
    return int(run_id, 16)


def _done_ids(parts_dir):
    """Sorted uint64 array of the run ids with a row (8 bytes per run, not a Python set)."""
    chunks = []
    for f in _part_files(parts_dir):
        rows = _read_part(os.path.join(parts_dir, f))
        if rows:
            chunks.append(np.array([_id_int(r["run_id"]) for r in rows if "run_id" in r], dtype=np.uint64))
    if not chunks:
        return np.zeros(0, dtype=np.uint64)
    return np.unique(np.concatenate(chunks))


def _contains(sorted_ids, run_id):
    if sorted_ids.size == 0:
        return False
    v = np.uint64(_id_int(run_id))
    k = int(np.searchsorted(sorted_ids, v))
    return k < sorted_ids.size and sorted_ids[k] == v


def _prepare_folder(study, out, force, write):
    """Check that ``out`` may hold this study; with ``write``, create it and save the study."""
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out: {out!r} exists and is not a folder")
    saved_path = os.path.join(out, _STUDY_FILE)
    if os.path.isdir(out) and not os.path.exists(saved_path) and os.listdir(out) and not force:
        raise ValueError(f"out: {out!r} is a non-empty folder without {_STUDY_FILE} (not a sweep folder); "
                         "choose an empty or new folder, or pass --force (force=True)")
    if os.path.exists(saved_path):
        try:
            saved = Study.from_toml(saved_path)
        except ValueError as e:
            if not force:
                raise ValueError(f"out: cannot read the study saved in the folder ({e}); pass --force "
                                 "(force=True) to replace it") from None
            saved = None
        if saved is not None and saved.to_dict() != study.to_dict() and not force:
            raise ValueError(f"out: {out!r} holds a different study ({saved_path}); choose another folder, or pass "
                             "--force (force=True) to replace it (rows of runs both studies share are reused)")
    if not write:
        return out
    try:
        os.makedirs(os.path.join(out, _PARTS), exist_ok=True)
    except OSError as e:
        raise ValueError(f"out: cannot create the folder {out!r} ({e.strerror or e})") from None
    write_text_atomic(saved_path, study.to_toml())
    return out


# ====================================================================== progress
class _Progress:
    """``dlnsys sweep: 120/2000 runs (6.0%), 12.3 runs/s, 2m31s left`` on a terminal (stderr)."""

    def __init__(self, progress, total, done):
        self.total, self.start_done, self.done = total, done, done
        self.func = progress if callable(progress) and progress is not True else None
        self.stream = sys.stderr
        if progress is None:
            try:
                progress = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                progress = False
        self.tty = progress is True
        self.t0 = time.monotonic()
        self.last = -math.inf
        self.printed = False

    def update(self, done, force=False):
        self.done = done
        if self.func is not None:
            self.func(done, self.total)
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        new = done - self.start_done
        el = now - self.t0
        rate = new / el if el > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else math.inf
        eta = "?" if not math.isfinite(left) else (f"{int(left // 60)}m{int(left % 60):02d}s" if left >= 60
                                                   else f"{left:.0f}s")
        pct = 100.0 * done / self.total if self.total else 100.0
        try:
            self.stream.write(f"\rdlnsys sweep: {done}/{self.total} runs ({pct:.1f}%), {rate:.3g} runs/s, "
                              f"{eta} left\x1b[K")
            self.stream.flush()
            self.printed = True
        except (OSError, ValueError):
            self.tty = False

    def close(self):
        if self.tty and self.printed:
            self.update(self.done, force=True)
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass


# ====================================================================== results
@dataclasses.dataclass
class SweepResult:
    """What :func:`sweep` did.

    Attributes
    ----------
    status : str
        ``"complete"`` (every run has a row), ``"partial"`` (stopped by ``max_runs``) or
        ``"interrupted"``.
    message : str
    folder : str
    table : str or None
        The table file written (``table.parquet`` with pyarrow, else ``table.csv``).
    n_runs : int
        Runs in the study.
    n_done : int
        Runs with a row now.
    n_computed : int
        Runs computed by this call.
    n_skipped : int
        Runs that already had a row (resumed).
    n_failed : int
        Rows with ``status == "error"``.
    seconds : float
        Wall time of the call.
    startup_seconds : float
        Of which starting (or connecting to) the cluster.
    compute_seconds : float
        Sum of the computed runs' own times (``seconds`` column), the work to schedule.
    cpu_seconds : float
        Sum of their CPU times (``cpu_seconds`` column; less than ``compute_seconds`` when other
        processes share the cores).
    n_workers : int
        Worker threads used (1 for serial).
    batch : int or None
        Runs per task: the one given, or the largest automatic size used.
    n_tasks : int
    scheduler : str
        ``"serial"``, ``"local"`` (a LocalCluster started here) or the scheduler's address.
    """

    status: str
    message: str
    folder: str
    table: str | None
    n_runs: int
    n_done: int
    n_computed: int
    n_skipped: int
    n_failed: int
    seconds: float
    startup_seconds: float
    compute_seconds: float
    cpu_seconds: float
    n_workers: int
    batch: int | None
    n_tasks: int
    scheduler: str

    def to_dict(self) -> dict:
        from ._json import jsonable
        return jsonable(dataclasses.asdict(self))

    def summary(self) -> str:
        lines = [f"dlnsys sweep: {self.status}: {self.n_done} of {self.n_runs} runs have a row "
                 f"({self.n_computed} computed, {self.n_skipped} resumed, {self.n_failed} with errors) "
                 f"in {self.seconds:.1f} s on {self.n_workers} worker(s) ({self.scheduler})"]
        if self.message:
            lines.append(f"  {self.message}")
        if self.table:
            lines.append(f"  table: {self.table}")
        return "\n".join(lines)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`sweep`: the cluster was closed and the folder is resumable.

    ``.result`` is the :class:`SweepResult` so far (status ``"interrupted"``).
    """

    def __init__(self, result):
        super().__init__(result.message)
        self.result = result


# ====================================================================== execution
class _Batcher:
    """Hands out the missing runs in batches, sized from the measured cost of finished runs."""

    def __init__(self, runs, n_missing, batch, n_threads, budget):
        self.it = runs
        self.remaining = n_missing if budget is None else min(n_missing, budget)
        self.batch = batch
        self.n_threads = n_threads
        self.retry = []                      # runs of failed tasks, resubmitted one by one
        self.cost_sum = 0.0
        self.cost_n = 0
        self.probes = 0
        self.max_size = batch

    def observe(self, rows):
        for r in rows:
            s = r.get("seconds")
            if isinstance(s, float) and math.isfinite(s):
                self.cost_sum += s
                self.cost_n += 1

    def size(self):
        if self.batch is not None:
            return self.batch
        if self.cost_n == 0:
            # until a run has finished the cost is unknown: one run per worker thread as a probe
            return 1 if self.probes < self.n_threads else 0
        mean = self.cost_sum / self.cost_n
        size = max(1, int(round(TARGET_TASK_SECONDS / max(mean, 1e-6))))
        # keep at least ~2 tasks per worker thread for the tail, so that the workers finish together
        cap = max(1, self.remaining // (2 * self.n_threads))
        return min(size, cap, MAX_AUTO_BATCH)

    def next(self, busy=True):
        """The next batch; [] to wait for a probe's cost (only while ``busy``: tasks are in flight)."""
        if self.retry:
            return [self.retry.pop()]
        if self.remaining <= 0:
            return []
        n = self.size()
        if n == 0:
            if busy:
                return []
            n = 1
        out = list(itertools.islice(self.it, min(n, self.remaining)))
        self.remaining -= len(out)
        if self.batch is None and self.cost_n == 0:
            self.probes += 1
        if out:
            self.max_size = max(self.max_size or 0, len(out))
        else:
            self.remaining = 0
        return out

    @property
    def exhausted(self):
        return not self.retry and self.remaining <= 0


def _missing_runs(study, done):
    for r in study.runs():
        if not _contains(done, r["run_id"]):
            yield r


def _check_scheduler(scheduler):
    if scheduler is None or scheduler == "serial":
        return scheduler
    if not isinstance(scheduler, str) or not (re.match(r"^(tcp|tls|ucx|ws|wss)://[^\s/]+$", scheduler)
                                              or re.match(r"^[A-Za-z0-9_.\-\[\]:]+:\d+$", scheduler)):
        raise ValueError(f"scheduler: expected \"serial\", None (a local cluster) or a Dask scheduler address such "
                         f"as tcp://HOST:PORT, got {scheduler!r}")
    return scheduler


def _positive_int_or_none(v, name):
    if v is None:
        return None
    if not _is_int(v) or v < 1:
        raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    return int(v)


def _start_dask(scheduler, workers, client, timeout):
    """(client, cluster or None, label, own_client). Raises ValueError for an unreachable scheduler."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise ValueError(f"scheduler: running on Dask needs dask.distributed ({e}); install the extra: "
                         "pip install 'dlnsys[sweep]' (or use scheduler=\"serial\" / --scheduler serial)") from None
    import logging
    if client is not None:
        return client, None, str(getattr(client.scheduler, "address", "client")), False
    if scheduler is not None:
        try:
            c = Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise ValueError(f"scheduler: cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
                             f"({_one_line(e, 200)})") from None
        return c, None, scheduler, True
    n = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    # No dashboard; the scheduler's HTTP endpoints (which start even without one, by default on port
    # 8787, with a warning when that is taken) on a free port of 127.0.0.1.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                           silence_logs=logging.ERROR, preload=[__name__])
    try:
        c = Client(cluster, timeout=f"{timeout}s", set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return c, cluster, "local", True


def dask_setup(worker=None):
    """Dask preload hook of the workers of the LocalCluster started by :func:`sweep`: ignore Ctrl-C.

    A terminal sends Ctrl-C's SIGINT to the whole process group, worker processes included;
    they would die printing tracebacks while :func:`sweep` closes the cluster in order. Only the
    main thread may set a signal handler; elsewhere this does nothing.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Import the integrator (and load the compiled kernels) while the worker starts, not inside the
    # first run, whose ``seconds`` would otherwise count a second of imports as work.
    from . import compiled, simulate  # noqa: F401
    compiled.available()


def _close_dask(client, cluster, own):
    import logging
    # closing while workers are being torn down logs connection errors that say nothing to the user
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.nanny", "distributed.worker",
                                             "distributed.core", "distributed.comm", "distributed.scheduler",
                                             "distributed.client", "distributed.batched")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    try:
        if own and client is not None:
            try:
                client.close(timeout=10)
            except Exception:      # noqa: BLE001 - best effort on the way out
                pass
        if cluster is not None:
            try:
                cluster.close(timeout=20)
            except Exception:      # noqa: BLE001
                pass
    finally:
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)


def sweep(study, out, *, scheduler=None, workers=None, batch=None, progress=None, client=None, force=False,
          max_runs=None, timeout=10.0) -> SweepResult:
    """Run every run of a study that has no row yet in ``out``, and write the table.

    Parameters
    ----------
    study : Study, dict, path or TOML text
    out : path
        Output folder (created if missing): ``study.toml``, ``parts/`` (the rows, written as
        tasks finish) and ``table.parquet`` / ``table.csv`` (all rows, written at the end).
    scheduler : None, "serial" or str
        None: a Dask ``LocalCluster`` on 127.0.0.1 started and closed here, ``workers`` worker
        processes with one thread each; ``"serial"``: in this process, one run after the
        other (no Dask needed; the oracle the tests compare against); otherwise the address of
        a running Dask scheduler (``tcp://HOST:PORT``), whose workers must have dlnsys.
    workers : int, optional
        Worker processes of the local cluster (default: the cores available to this process).
    batch : int, optional
        Runs per task; default automatic (tasks of about ``TARGET_TASK_SECONDS``, from the
        measured cost of one probe run per worker).
    progress : None, bool or callable
        None: a progress line on stderr if it is a terminal; True/False: on/off; a callable
        receives ``(runs_with_a_row, n_runs)`` after every task.
    client : dask.distributed.Client, optional
        Use this client (not closed here) instead of ``scheduler``.
    force : bool
        Replace a different study saved in ``out`` (or use a non-empty folder without one).
    max_runs : int, optional
        Compute at most this many runs in this call (status ``"partial"`` if some remain).
    timeout : float
        Seconds to wait for a scheduler connection.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        Bad study, a folder holding a different study, an unreachable scheduler.
    ConnectionError
        The cluster has had no worker for ``max(NO_WORKER_SECONDS, 6 * timeout)`` seconds (the
        rows computed so far are saved).
    SweepInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``), after closing the cluster; the folder is resumable.

    Examples
    --------
    >>> import tempfile
    >>> study = {"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": 0.1, "seed": [0, 1, 2, 3]},
    ...          "integration": {"t_final": 30.0}}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     first = sweep(study, folder, scheduler="serial", max_runs=3, progress=False)
    ...     again = sweep(study, folder, scheduler="serial", progress=False)
    >>> (first.status, first.n_computed), (again.status, again.n_computed, again.n_skipped)
    (('partial', 3), ('complete', 1, 3))
    """
    t_start = time.perf_counter()
    study = _as_study(study)
    scheduler = _check_scheduler(scheduler)
    workers = _positive_int_or_none(workers, "workers")
    batch = _positive_int_or_none(batch, "batch")
    max_runs = _positive_int_or_none(max_runs, "max_runs")
    if not _is_number(timeout) or not float(timeout) > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    if client is not None and scheduler is not None:
        raise ValueError("client, scheduler: give one of them")
    if workers is not None and (client is not None or scheduler is not None):
        raise ValueError("workers: sets the size of the local cluster started here; not used with a scheduler or "
                         "client")
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValueError(f"progress: expected None, True, False or a callable f(done, total), got {progress!r}")
    # checked before a cluster is started (a refused folder costs nothing), written once it is up
    folder = _prepare_folder(study, out, force, write=False)
    parts_dir = os.path.join(folder, _PARTS)
    done = _done_ids(parts_dir)
    n_runs = study.count()
    n_skipped = sum(1 for rid in study.run_ids() if _contains(done, rid))
    n_missing = n_runs - n_skipped
    settings = study._settings()
    prog = _Progress(progress, n_runs, n_skipped)
    state = dict(computed=0, failed=0, compute=0.0, cpu=0.0, tasks=0)

    def record(rows):
        _write_part(parts_dir, rows)
        state["computed"] += len(rows)
        state["failed"] += sum(r.get("status") == "error" for r in rows)
        state["compute"] += sum(r["seconds"] for r in rows if math.isfinite(r.get("seconds", math.nan)))
        state["cpu"] += sum(r["cpu_seconds"] for r in rows if math.isfinite(r.get("cpu_seconds", math.nan)))
        state["tasks"] += 1
        prog.update(n_skipped + state["computed"])

    label, n_threads, startup = "serial", 1, 0.0
    batcher = None
    interrupted = False
    dask_handles = (None, None, "", False)
    quiet = warnings.catch_warnings()
    quiet.__enter__()
    # Dask's start-up and shutdown leave unclosed sockets to the garbage collector (ResourceWarning)
    # and may warn about ports; none of it concerns the runs, whose warnings are recorded in their rows.
    warnings.filterwarnings("ignore", category=ResourceWarning)
    warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
    try:
        if n_missing == 0 or scheduler == "serial":
            _prepare_folder(study, folder, force, write=True)
        if n_missing > 0:
            if scheduler == "serial":
                batcher = _Batcher(_missing_runs(study, done), n_missing, batch, 1, max_runs)
                while not batcher.exhausted:
                    runs = batcher.next()
                    if not runs:
                        break
                    rows = _run_batch(settings, runs)
                    batcher.observe(rows)
                    record(rows)
            else:
                t0 = time.perf_counter()
                dask_handles = _start_dask(scheduler, workers, client, float(timeout))
                c = dask_handles[0]
                # a local cluster: all its workers (their start is start-up, not work); a remote one: any
                n_wait = len(dask_handles[1].workers) if dask_handles[1] is not None else 1
                try:
                    c.wait_for_workers(n_wait, timeout=float(timeout) if dask_handles[1] is None else 120.0)
                except (OSError, TimeoutError) as e:
                    raise ValueError(f"scheduler: no Dask worker joined {dask_handles[2]} within {timeout:g} s "
                                     f"({_one_line(e, 200)})") from None
                startup = time.perf_counter() - t0
                _prepare_folder(study, folder, force, write=True)
                label = dask_handles[2]
                n_threads = max(1, sum(c.nthreads().values()))
                batcher = _Batcher(_missing_runs(study, done), n_missing, batch, n_threads, max_runs)
                _dask_loop(c, settings, batcher, n_threads, record, max(NO_WORKER_SECONDS, 6.0 * float(timeout)))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        prog.close()
        try:
            if dask_handles[0] is not None:
                _close_dask(dask_handles[0], dask_handles[1], dask_handles[3])
        finally:
            quiet.__exit__(None, None, None)
    n_done = n_skipped + state["computed"]
    common = dict(folder=folder, n_runs=n_runs, n_done=n_done, n_computed=state["computed"], n_skipped=n_skipped,
                  startup_seconds=startup, compute_seconds=state["compute"], cpu_seconds=state["cpu"],
                  n_workers=n_threads,
                  batch=batch if batch is not None else (batcher.max_size if batcher else None),
                  n_tasks=state["tasks"], scheduler=label)
    if interrupted:
        res = SweepResult(status="interrupted", table=None, n_failed=state["failed"],
                          seconds=time.perf_counter() - t_start,
                          message=f"interrupted: {n_done} of {n_runs} runs have a row in {folder}; run the same "
                                  "sweep again to compute the rest", **common)
        raise SweepInterrupted(res)
    table_df = load_sweep(folder)
    table = _write_table(table_df, folder)
    n_failed = int((table_df["status"] == "error").sum()) if len(table_df) else 0
    complete = len(table_df) == n_runs
    budget = f" (max_runs = {max_runs})" if max_runs else ""
    msg = "" if complete else (f"{n_runs - len(table_df)} runs remain{budget}; run the same sweep again to "
                               "compute them")
    return SweepResult(status="complete" if complete else "partial", message=msg, table=table, n_failed=n_failed,
                       seconds=time.perf_counter() - t_start, **{**common, "n_done": len(table_df)})


class _Watchdog:
    """Raises ConnectionError once the cluster has had no worker for ``limit`` seconds.

    Dask keeps a task whose workers all left (or a finished task whose result was on a worker that
    left) waiting for new workers; without this check a sweep on a cluster that lost every worker
    would wait forever. A task may run for hours, so only the absence of workers counts, not the
    time since the last result.
    """

    def __init__(self, client, limit):
        self.client, self.limit = client, float(limit)
        self.seen = self.last = time.monotonic()

    def check(self):
        now = time.monotonic()
        if now - self.last < 2.0:
            return
        self.last = now
        if self.client.nthreads():
            self.seen = now
        elif now - self.seen > self.limit:
            raise ConnectionError(f"scheduler: no Dask worker for {self.limit:g} s; the rows computed so far are "
                                  "saved, run the same sweep again (with workers) to resume")


def _next_finished(ac, watchdog):
    """The next finished future of ``ac`` (polled, so that the watchdog runs)."""
    while not ac.has_ready():
        time.sleep(0.02)
        watchdog.check()
    return next(ac)


def _outcome(fut, watchdog):
    """``(rows, None)`` or ``(None, exception)`` of a finished future.

    Waits in steps so that the watchdog runs: fetching the result may wait for its recomputation
    (if the worker that held it left), and a task that failed is reported by its exception.
    """
    import asyncio

    while True:
        try:
            return fut.result(timeout=1.0), None
        except (TimeoutError, asyncio.TimeoutError):
            watchdog.check()
        except (Exception, asyncio.CancelledError) as e:      # noqa: BLE001 - the task failed or was cancelled
            return None, e


def _is_cancelled(exc):
    import asyncio
    import concurrent.futures
    return isinstance(exc, (asyncio.CancelledError, concurrent.futures.CancelledError))


def _dask_loop(client, settings, batcher, n_threads, record, no_worker_limit):
    """Bounded submission: at most IN_FLIGHT_PER_THREAD tasks per worker thread are pending."""
    from dask.distributed import as_completed

    window = max(2, IN_FLIGHT_PER_THREAD * n_threads)
    watchdog = _Watchdog(client, no_worker_limit)
    pending = {}
    ac = as_completed(loop=client.loop)
    try:
        while True:
            while len(pending) < window and not batcher.exhausted:
                runs = batcher.next(busy=bool(pending))
                if not runs:
                    break
                # retries: a task that raises is tried again (a worker that dies is rescheduled by Dask anyway)
                fut = client.submit(_run_batch_json, settings, json.dumps(runs), pure=False, retries=1)
                pending[fut.key] = (fut, runs)
                ac.add(fut)
            if not pending:
                break
            fut = _next_finished(ac, watchdog)
            fut_, runs = pending.pop(fut.key)
            rows, exc = _outcome(fut, watchdog)
            if exc is not None:
                if _is_cancelled(exc):
                    # cancelled by the cluster, not failed by its runs: leave them missing (a re-run computes them)
                    fut.release()
                    continue
                if len(runs) > 1:
                    batcher.retry.extend(reversed(runs))      # one by one, to isolate the run that fails
                    fut.release()
                    continue
                rows = _error_rows(runs, f"task failed: {_err(exc)}")
            batcher.observe(rows)
            record(rows)
            fut.release()
    finally:
        if pending:
            try:
                client.cancel([f for f, _ in pending.values()])
            except Exception:      # noqa: BLE001 - best effort on the way out
                pass


# ====================================================================== reading
def _ordered_columns(cols):
    lead = [c for c in _LEAD_COLUMNS if c in cols]
    rest = sorted(c for c in cols if c not in _LEAD_COLUMNS)

    def key(c):      # measure columns grouped in MEASURES order, numbered ones numerically
        m = re.match(r"^(.*?)(\d+)$", c)
        return (m.group(1), int(m.group(2))) if m else (c, -1)
    return lead + sorted(rest, key=key)


def load_sweep(folder):
    """The rows of a sweep folder as one tidy pandas DataFrame, one row per run, in run order.

    Rows are read from ``folder/parts``; each run id appears once (a retried task's rows are
    dropped), and, when the folder has its ``study.toml``, only runs of that study are kept.

    Parameters
    ----------
    folder : path

    Returns
    -------
    pandas.DataFrame
        Columns described in :mod:`dlnsys.sweep` (parameters, status, error, measures).

    Examples
    --------
    >>> import tempfile
    >>> from dlnsys.sweep import sweep, load_sweep
    >>> study = {"parameters": {"dims": [2, 1, 1], "sigma": [1.0], "scale": [0.1, 0.3]},
    ...          "integration": {"t_final": 30.0}}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = sweep(study, folder, scheduler="serial", progress=False)
    ...     df = load_sweep(folder)
    >>> list(df.scale), list(df.status)
    ([0.1, 0.3], ['ok', 'ok'])
    """
    import pandas as pd

    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"folder: no such folder {folder!r}")
    parts_dir = os.path.join(folder, _PARTS)
    study_path = os.path.join(folder, _STUDY_FILE)
    wanted = None
    if os.path.isfile(study_path):
        wanted = {rid: i for i, rid in enumerate(Study.from_toml(study_path).run_ids())}
    best = {}
    for f in _part_files(parts_dir):
        for r in _read_part(os.path.join(parts_dir, f)) or []:
            rid = r.get("run_id")
            if rid is None or (wanted is not None and rid not in wanted):
                continue
            old = best.get(rid)
            # the same run twice (a task retried after its worker died): keep one, an "ok" row first
            if old is None or (old.get("status") != "ok" and r.get("status") == "ok"):
                best[rid] = r
    rows = sorted(best.values(), key=lambda r: (wanted[r["run_id"]] if wanted else r.get("index", 0), r["run_id"]))
    df = pd.DataFrame.from_records(rows)
    if len(df):
        df = df[_ordered_columns(list(df.columns))].reset_index(drop=True)
    return df


def _write_table(df, folder):
    """``table.parquet`` when pyarrow is importable, else ``table.csv``; returns the path."""
    import io
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path = os.path.join(folder, "table.csv")
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        write_text_atomic(path, buf.getvalue())
        return path
    from ._io import write_bytes_atomic
    path = os.path.join(folder, "table.parquet")
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    write_bytes_atomic(path, buf.getvalue())
    return path


def plateau_table(table):
    """One row per plateau of the ``itinerary`` measure: ``run_id``, ``k``, ``signature``, ``t_enter``, ...

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`load_sweep` (with the ``plateaus`` column).

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id``, ``k`` (0-based order), ``signature`` (``"{1,2}"``), ``t_enter``,
        ``t_exit`` (NaN if the run ended on it), ``loss``, ``critical_value``, ``kind``.
    """
    import pandas as pd

    if "plateaus" not in table.columns:
        raise ValueError("table: has no 'plateaus' column (record the itinerary measure)")
    out = []
    for rid, text in zip(table["run_id"], table["plateaus"]):
        if not isinstance(text, str) or not text:
            continue
        for k, p in enumerate(json.loads(text)):
            out.append({"run_id": rid, "k": k, "signature": _fmt_sig(p["signature"]), "t_enter": p["t_enter"],
                        "t_exit": math.nan if p["t_exit"] is None else p["t_exit"], "loss": p["loss"],
                        "critical_value": p["critical_value"], "kind": p["kind"]})
    return pd.DataFrame.from_records(out, columns=["run_id", "k", "signature", "t_enter", "t_exit", "loss",
                                                   "critical_value", "kind"])

