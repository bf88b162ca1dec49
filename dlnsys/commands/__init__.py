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
]

__all__ = [
    "MODULES", "new_parser", "int_list", "float_list", "positive_float", "nonnegative_float",
    "positive_int", "nonnegative_int", "add_network_args", "network_from_args", "add_seed_arg",
    "add_json_arg", "add_output_args", "check_output_path", "add_progress_arg", "print_json",
    "to_jsonable", "format_set",
]


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
        g.add_argument("--gamma", type=nonnegative_float, default=0.0, metavar="G",
                       help="L2 regularization gamma of eq. (24) (default 0)")
    return g


def network_from_args(args):
    """The :class:`dlnsys.Network` of ``--dims/--sigma/--gamma`` (ValueError names the argument)."""
    from ..network import Network

    if getattr(args, "dims", None) is None or getattr(args, "sigma", None) is None:
        raise ValueError("--dims and --sigma are required")
    return Network(args.dims, args.sigma, getattr(args, "gamma", 0.0) or 0.0)


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


def format_set(S):
    """``{1, 3}`` -> ``"{1,3}"``; the empty set -> ``"{}"``."""
    return "{" + ",".join(str(int(i)) for i in sorted(S)) + "}"
