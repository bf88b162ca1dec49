"""Subcommands of the ``dlnsys`` command line, and the argument helpers they share.

Adding a subcommand
-------------------
Write ``dlnsys/commands/<module>.py`` with

* ``NAME`` -- the command word (``"critical-points"``); ``HELP`` -- a one-line summary;
* ``add_parser(subparsers)`` -- create the parser with :func:`new_parser` (which sets the
  help formatter and the epilog with examples) and add its arguments; return it;
* ``run(args) -> int`` -- do the work and return the exit status (0 on success).

then append the module name to :data:`MODULES` (the order of ``dlnsys --help``). Raise
``ValueError`` for bad input: ``dlnsys.cli.main`` prints it as one line
``dlnsys: error: ...`` and exits with status 2. Warnings print as ``dlnsys: warning: ...``.

Helpers
-------
:func:`add_network_args` / :func:`network_from_args` (``--dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5
[--gamma G]``), :func:`add_seed_arg`, :func:`add_json_arg` / :func:`print_json`,
:func:`add_output_args` / :func:`check_output_path` (``--out``, ``--force``),
:func:`add_progress_arg`, and argparse ``type=`` converters :func:`int_list`,
:func:`float_list`, :func:`positive_float`, :func:`nonnegative_float`, :func:`positive_int`,
:func:`nonnegative_int`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys


#: Subcommand modules (under ``dlnsys.commands``) in the order ``dlnsys --help`` lists them.
MODULES = [
    "simulate",
    "critical_points",
    "classify",
    "emit",
    "models",
    "equilibria",
    "manifolds",
    "continue_",
    "itinerary",
    "gallery",
    "sweep",
]

__all__ = [
    "MODULES", "new_parser", "int_list", "float_list", "positive_float", "nonnegative_float",
    "positive_int", "nonnegative_int", "add_network_args", "network_from_args", "add_seed_arg",
    "add_json_arg", "add_output_args", "check_output_path", "add_progress_arg", "print_json",
    "to_jsonable", "format_set", "float_in", "int_in", "TOLERANCE", "report_status",
]

#: The range of relative/absolute tolerance options: below 1e-15 nothing converges in float64.
TOLERANCE = (1e-15, 1.0)


# ------------------------------------------------------------------ parsers
def new_parser(subparsers, name, help, description=None, examples=None):
    """A subcommand parser with the house style: description, and ``examples`` (lines) in the epilog."""
    epilog = None
    if examples:
        epilog = "examples:\n" + "\n".join("  " + line for line in examples)
    return subparsers.add_parser(name, help=help, description=description or help, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


# ------------------------------------------------------------------ type converters
def _items(text, what):
    if not isinstance(text, str) or not text.strip():
        raise argparse.ArgumentTypeError(f"expected {what}, got an empty value")
    parts = [p.strip() for p in text.split(",")]
    if any(p == "" for p in parts):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r} (empty entry)")
    return parts


def int_list(text):
    """``"11,6,4"`` -> ``(11, 6, 4)``."""
    what = "comma-separated integers such as 11,6,4"
    out = []
    for p in _items(text, what):
        try:
            out.append(int(p))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; {p!r} is not an integer") from None
    return tuple(out)


def float_list(text):
    """``"7,5.5,4"`` -> ``(7.0, 5.5, 4.0)``; NaN and infinities are refused."""
    what = "comma-separated numbers such as 7,5.5,4"
    out = []
    for p in _items(text, what):
        try:
            v = float(p)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}; {p!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"expected finite numbers; got {p!r}")
        out.append(v)
    return tuple(out)


def _number(text, *, positive, integer):
    kind = ("a positive" if positive else "a non-negative") + (" integer" if integer else " number")
    try:
        v = int(text) if integer else float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if not integer and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
    if (positive and v <= 0) or v < 0:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
    return v


def positive_float(text):
    return _number(text, positive=True, integer=False)


def float_in(lo, hi, *, open_lo=False):
    """An argparse type: a number in ``[lo, hi]`` (``(lo, hi]`` with ``open_lo``).

    Every numeric option gets a range: absurd steps, tolerances, horizons and counts would make
    a run spin for hours or exhaust memory instead of failing with a clear message.
    """
    def conv(text):
        try:
            v = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(v) or v > hi or (v <= lo if open_lo else v < lo):
            left = "(" if open_lo else "["
            raise argparse.ArgumentTypeError(f"expected a number in {left}{lo:g}, {hi:g}], got {text!r}")
        return v
    conv.__name__ = f"number in {'(' if open_lo else '['}{lo:g}, {hi:g}]"
    return conv


def int_in(lo, hi):
    """An argparse type: an integer in ``[lo, hi]``."""
    def conv(text):
        try:
            v = int(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"expected an integer in [{lo}, {hi}], got {text!r}")
        return v
    conv.__name__ = f"integer in [{lo}, {hi}]"
    return conv


def nonnegative_float(text):
    return _number(text, positive=False, integer=False)


def positive_int(text):
    return _number(text, positive=True, integer=True)


def nonnegative_int(text):
    return _number(text, positive=False, integer=True)


# ------------------------------------------------------------------ common arguments
def add_network_args(parser, *, required=True, gamma=True):
    """``--dims``, ``--sigma`` (and ``--gamma``) describing a :class:`dlnsys.Network`."""
    g = parser.add_argument_group("network")
    g.add_argument("--dims", type=int_list, required=required, metavar="D0,D1,...,DH",
                   help="layer widths d_x,d_1,...,d_y, e.g. 11,6,6,6,6,4 (Section 6.1)")
    g.add_argument("--sigma", type=float_list, required=required, metavar="S1,...,SDY",
                   help="singular values of the data, strictly decreasing and positive, one per output, "
                        "e.g. 7,5.5,4,2.5")
    if gamma:
        g.add_argument("--gamma", type=float_in(0.0, 1e6), default=0.0, metavar="G",
                       help="L2 regularization gamma of eq. (24) (default 0)")
    return g


def network_from_args(args):
    """The :class:`dlnsys.Network` of ``--dims/--sigma/--gamma`` (ValueError names the argument)."""
    from ..network import Network

    if getattr(args, "dims", None) is None or getattr(args, "sigma", None) is None:
        raise ValueError("--dims and --sigma are required")
    check_network_size(args.dims, args.sigma)
    return Network(args.dims, args.sigma, getattr(args, "gamma", 0.0) or 0.0)


#: Command-line limits on the data: beyond them the flow's products overflow float64.
SIGMA_RANGE = (1e-8, 1e8)
MAX_DEPTH = 64


def check_network_size(dims, sigma=None, option="--dims"):
    """Refuse networks the machine cannot hold, with the estimate (ValueError naming the option).

    The analyses keep a few dense ``n x n`` matrices (Jacobian, Hessian, LU) for ``n`` weights;
    the estimate is three of them.
    """
    from .._io import check_memory

    dims = tuple(int(d) for d in dims)
    if len(dims) - 1 > MAX_DEPTH:
        raise ValueError(f"{option}: {len(dims) - 1} weight layers; at most {MAX_DEPTH} are supported")
    if any(d < 1 for d in dims):
        raise ValueError(f"{option}: every layer width must be a positive integer, got {list(dims)}")
    n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    check_memory(3 * 8 * float(n) ** 2, option, f"(three dense {n} x {n} matrices for {n} weights)")
    if sigma is not None:
        lo, hi = SIGMA_RANGE
        bad = [s for s in sigma if not lo <= s <= hi]
        if bad:
            raise ValueError(f"--sigma: singular values must lie in [{lo:g}, {hi:g}] (the flow's products "
                             f"overflow beyond), got {bad[0]!r}")


def add_seed_arg(parser, default=0):
    parser.add_argument("--seed", type=nonnegative_int, default=default, metavar="N",
                        help=f"random seed (default {default})")


def add_json_arg(parser):
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def add_progress_arg(parser):
    parser.add_argument("--progress", action="store_true", help="show progress on stderr")


def add_output_args(parser, what="the result", suffix=None):
    parser.add_argument("--out", metavar="PATH", default=None,
                        help=f"write {what} to PATH" + (f" ({suffix} is appended if missing)" if suffix else ""))
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")


def check_output_path(path, force=False, suffix=None, option="--out"):
    """The path that will be written; ValueError if it exists (without ``force``) or its folder is missing.

    Call it *before* the work, so that a long run does not end in a refused write.
    """
    if path is None:
        return None
    path = os.fspath(path)
    if suffix and not path.endswith(suffix):
        path += suffix
    if os.path.isdir(path):
        raise ValueError(f"{option}: {path!r} is a directory")
    if os.path.exists(path) and not force:
        raise ValueError(f"{option}: {path!r} exists; pass --force to overwrite it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{option}: the folder {parent!r} does not exist")
    return path


# ------------------------------------------------------------------ output
def to_jsonable(obj):
    """JSON-ready values (see :func:`dlnsys._json.jsonable`)."""
    from .._json import jsonable
    return jsonable(obj)


def print_json(obj, stream=None):
    stream = sys.stdout if stream is None else stream
    stream.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def report_status(status, message, ok=("ok", 0, 1)):
    """A ``dlnsys: warning:`` line when a run stopped short of its goal (budget, failure).

    The result with its status and message is printed on stdout as usual and the exit status
    stays 0: a stopped run is a reported outcome, not a crash (exit 2 is for bad input).
    """
    if status not in ok:
        import warnings
        warnings.warn(f"the run stopped with status {status}: {message}", stacklevel=2)


def format_set(S):
    """``{1, 3}`` -> ``"{1,3}"``; the empty set -> ``"{}"``."""
    return "{" + ",".join(str(int(i)) for i in sorted(S)) + "}"
