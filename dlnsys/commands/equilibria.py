"""``dlnsys equilibria``: the equilibria on a conservation-law leaf."""
from __future__ import annotations

import json

import numpy as np

from . import (add_json_arg, add_network_args, add_seed_arg, float_in, float_list, int_in, network_from_args,
               new_parser, print_json, report_status)

NAME = "equilibria"
HELP = "equilibria on a conservation-law leaf C(x) = C, with signature, kind and leaf spectrum"

LEAF_HELP = ("leaf constants: comma-separated numbers (a scalar chain's c_i = w_i^2 - w_(i+1)^2, or the "
             "upper-triangular entries of C_1, ..., C_(h-1) in order); rows separated by ';' (the matrix "
             "C_1 when h = 2, or per-channel constants of shape (h-1, d_y) for --method diagonal); or JSON, "
             "e.g. '[[[0.5, 0.2], [0.2, -0.3]]]' for the list of matrices C_i")


def parse_leaf_text(text, option="--leaf"):
    """The leaf constants given on the command line as a nested list / array (ValueError names the option)."""
    if text is None:
        return None
    s = text.strip()
    if not s:
        raise ValueError(f"{option}: empty value")
    if s.startswith("["):
        try:
            value = json.loads(s)
        except json.JSONDecodeError as e:
            raise ValueError(f"{option}: not valid JSON ({e.msg} at position {e.pos})") from None
        try:
            if isinstance(value, list) and value and all(isinstance(v, list) and v and isinstance(v[0], list)
                                                         for v in value):
                return [np.array(v, dtype=float) for v in value]
            return np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{option}: the JSON must hold numbers, lists of numbers or matrices") from None
    rows = [r for r in s.split(";")]
    try:
        parsed = [float_list(r) for r in rows]
    except Exception as e:  # argparse.ArgumentTypeError
        raise ValueError(f"{option}: {e}") from None
    if len(parsed) == 1:
        return np.array(parsed[0])
    if len({len(r) for r in parsed}) != 1:
        raise ValueError(f"{option}: rows separated by ';' must have the same length")
    return np.array(parsed)


def parse_state_text(text, net, option="--x0"):
    if text is None:
        return None
    try:
        vals = float_list(text)
    except Exception as e:
        raise ValueError(f"{option}: {e}") from None
    if len(vals) != net.n_params:
        raise ValueError(f"{option}: expected {net.n_params} numbers (the state vector for dims {net.dims}), "
                         f"got {len(vals)}")
    return np.array(vals)


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="The equilibria of the gradient flow on the leaf {x : C(x) = C} of the conservation laws "
                    "(Prop. 6), where they are (generically) isolated: exactly for scalar chains (global minima of "
                    "every admissible sign pattern, saddles with two or more zero weights; (64) for dims 1,1,1) and "
                    "for the diagonal reduction (55); by Newton's method on the bordered system f(x) + sum_k mu_k "
                    "grad pi_k(x) = 0, pi(x) = C for any network. Each comes with its signature, kind, sign pattern, "
                    "loss against (31) and the spectrum of the Jacobian restricted to the leaf.",
        examples=[
            "dlnsys equilibria --dims 1,1,1 --sigma 1 --leaf 0.5",
            "dlnsys equilibria --dims 1,1,1 --sigma 1 --leaf 0 --kind saddle --json",
            "dlnsys equilibria --dims 1,1,1,1 --sigma 2 --leaf 0,-1",
            "dlnsys equilibria --dims 2,2,2 --sigma 2,1 --leaf '0.5,-0.3' --method diagonal",
            "dlnsys equilibria --dims 1,2,1 --sigma 1 --leaf '[[[0.5,0.2],[0.2,-0.3]]]' --starts 4",
        ])
    add_network_args(p, gamma=False)
    g = p.add_argument_group("leaf and method")
    g.add_argument("--leaf", required=True, metavar="C", help=LEAF_HELP)
    g.add_argument("--kind", default="all", choices=["all", "minimum", "saddle", "strict", "non-strict"],
                   help="keep only equilibria of this kind (default all)")
    g.add_argument("--method", default="auto", choices=["auto", "exact", "diagonal", "newton"],
                   help="exact (scalar chains), diagonal (reduction (55)), newton (bordered Newton, any "
                        "network); auto = exact for chains, newton otherwise")
    g.add_argument("--positive-only", action="store_true",
                   help="exact methods: only the sign pattern with nonnegative weights (per zero set and channel)")
    g.add_argument("--x0", default=None, metavar="X1,...,XN", help="start of Newton (projected onto the leaf)")
    g.add_argument("--starts", type=int_in(1, 1000), default=3, metavar="N",
                   help="random starts on the leaf for Newton without --x0 (default 3)")
    add_seed_arg(g)
    g.add_argument("--tol", type=float_in(1e-16, 1.0), default=1e-12, help="Newton tolerance (default 1e-12)")
    add_json_arg(g)
    return p


def run(args):
    from ..leaves import equilibria_on_leaf, parse_leaf

    net = network_from_args(args)
    C = parse_leaf_text(args.leaf)
    mats, _ = parse_leaf(net, C, name="--leaf")
    if net.h > 1 and args.method == "diagonal":
        leaf = C
    else:
        leaf = mats
    x0 = parse_state_text(args.x0, net)
    res = equilibria_on_leaf(net, leaf, kind=None if args.kind == "all" else args.kind, method=args.method,
                             x0=x0, seed=args.seed, n_starts=args.starts, tol=args.tol,
                             sign_patterns="positive" if args.positive_only else "all")
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.summary())
    report_status(res.status, getattr(res, "message", ""), ok=("ok",))
    return 0
