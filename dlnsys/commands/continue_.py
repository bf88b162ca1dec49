"""``dlnsys continue``: pseudo-arclength continuation of equilibria on leaves."""
from __future__ import annotations

import numpy as np

from . import (add_json_arg, add_output_args, check_output_path, float_in, float_list, int_in, int_list,
               new_parser, print_json, report_status)
from .equilibria import LEAF_HELP, parse_leaf_text, parse_state_text

NAME = "continue"
HELP = "continue equilibria in a leaf constant, a singular value or gamma (folds, branch points, switching)"


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="Follow a branch of equilibria by pseudo-arclength continuation (tangent predictor, Newton "
                    "corrector) as a parameter varies: a leaf constant c<k>, a singular value sigma<j> or the "
                    "regularization gamma. Networks are continued on the bordered system f(x) + sum_k mu_k grad "
                    "pi_k(x) = 0, pi(x) = c (isolated equilibria on the leaf), or on the full system when gamma > 0; "
                    "--system logistic continues z' = z^(h-1)(sigma - z^h) - gamma z. Folds (LP: the parameter turns "
                    "back) and branch points (BP: the augmented Jacobian changes the sign of its determinant) are "
                    "located by bisection; the branches through a BP are followed too. Stability is that of the "
                    "flow restricted to the leaf.",
        examples=[
            "dlnsys continue --dims 1,1,1 --sigma 1 --param c1 --from -5 --to 5",
            "dlnsys continue --system logistic --depth 2 --sigma 1 --param gamma --from 2 --to 0 --x0 0",
            "dlnsys continue --system logistic --depth 3 --sigma 1 --param gamma --from -0.5 --to 1 --x0 1",
            "dlnsys continue --system logistic --depth 3 --sigma 1 --param gamma --from -0.5 --to 1 --x0 1 "
            "--backend pycobi",
            "dlnsys continue --dims 1,1,1 --sigma 1 --gamma 2 --param gamma --to 0.05 --json --out branch.json",
            "dlnsys continue --dims 1,1,1,1 --sigma 1 --leaf 0.3,0.2 --param sigma1 --to 3",
        ])
    g = p.add_argument_group("system")
    g.add_argument("--system", choices=["network", "logistic"], default="network",
                   help="network (--dims, --sigma, --gamma) or the regularized logistic equation (--depth)")
    g.add_argument("--dims", type=int_list, default=None, metavar="D0,...,DH", help="layer widths (network)")
    g.add_argument("--sigma", type=float_list, required=True, metavar="S1,...",
                   help="singular values (one number for --system logistic)")
    g.add_argument("--gamma", type=float_in(0.0, 1e6), default=0.0, metavar="G", help="regularization (default 0)")
    g.add_argument("--depth", type=int_in(1, 64), default=None, metavar="H", help="depth h (logistic)")
    g = p.add_argument_group("continuation")
    g.add_argument("--param", required=True, metavar="P",
                   help="c<k> (k-th leaf constant, conserved_vector order; c1 for dims 1,1,1), sigma<j> or gamma")
    g.add_argument("--from", dest="p_from", type=float_in(-1e12, 1e12), default=None, metavar="A",
                   help="start value (default: the current value of the parameter)")
    g.add_argument("--to", dest="p_to", type=float_in(-1e12, 1e12), required=True, metavar="B", help="end value")
    g.add_argument("--leaf", default=None, metavar="C", help="the leaf (network): " + LEAF_HELP)
    g.add_argument("--x0", default=None, metavar="X1,...",
                   help="start state (default: the exact minimum with positive weights for chains, the origin "
                        "for --param gamma, z = 0 for the logistic equation)")
    g.add_argument("--start", choices=["auto", "minimum", "saddle", "origin"], default="auto",
                   help="which equilibrium to start from without --x0 (default auto)")
    g.add_argument("--formulation", choices=["auto", "bordered", "full"], default="auto",
                   help="bordered (leaf) system or full system (default auto)")
    g.add_argument("--step", type=float_in(0.0, 1e6, open_lo=True), default=0.05,
                   help="largest arclength step (default 0.05; at most |to - from| + 2 bound)")
    g.add_argument("--max-steps", type=int_in(1, 10**6), default=5000, metavar="N", help="default 5000")
    g.add_argument("--max-time", type=float_in(0.0, 1e5, open_lo=True), default=120.0, metavar="SECONDS",
                   help="wall-time budget (default 120): the branch so far with status max_time")
    g.add_argument("--bound", type=float_in(0.0, 1e12, open_lo=True), default=1e3,
                   help="stop when |x| exceeds it (default 1e3)")
    g.add_argument("--no-switch", action="store_true", help="do not follow the branches through branch points")
    g.add_argument("--backend", choices=["builtin", "pycobi"], default="builtin",
                   help="builtin (default) or pycobi: the same problem through PyCoBi and AUTO-07p "
                        "(pip install 'dlnsys[pycobi]', apt install auto-07p gfortran)")
    g = p.add_argument_group("output")
    add_json_arg(g)
    add_output_args(g, "the branch as JSON", suffix=".json")
    return p


def run(args):
    from ..continuation import LogisticSystem, continuation

    out = check_output_path(args.out, args.force, suffix=".json")
    if args.system == "logistic":
        if args.depth is None:
            raise ValueError("--depth: required with --system logistic")
        if args.dims is not None:
            raise ValueError("--dims: not used with --system logistic (give --depth)")
        if len(args.sigma) != 1:
            raise ValueError(f"--sigma: the logistic equation has one singular value, got {len(args.sigma)}")
        if args.sigma[0] <= 0:
            raise ValueError("--sigma: must be positive")
        if args.leaf is not None:
            raise ValueError("--leaf: the logistic equation has no leaves")
        system = LogisticSystem(args.depth, args.sigma[0], args.gamma)
        x0 = None
        if args.x0 is not None:
            try:
                vals = float_list(args.x0)
            except Exception as e:
                raise ValueError(f"--x0: {e}") from None
            if len(vals) != 1:
                raise ValueError("--x0: the logistic equation has one state z")
            x0 = np.array(vals)
        leaf = None
    else:
        from ..network import Network

        if args.dims is None:
            raise ValueError("--dims: required with --system network")
        if args.depth is not None:
            raise ValueError("--depth: only for --system logistic")
        system = Network(args.dims, args.sigma, args.gamma)
        x0 = parse_state_text(args.x0, system)
        leaf = None
        if args.leaf is not None:
            from ..leaves import parse_leaf
            leaf, _ = parse_leaf(system, parse_leaf_text(args.leaf), name="--leaf")
    b = continuation(system, x0, param=args.param, p_to=args.p_to, p_from=args.p_from, leaf=leaf,
                     step=args.step, max_steps=args.max_steps, formulation=args.formulation, start=args.start,
                     switch=not args.no_switch, bound=args.bound, max_time=args.max_time, backend=args.backend)
    if out is not None:
        b.to_json(out)
    if args.json:
        print_json(b.to_dict())
    else:
        print(b.summary())
        if out is not None:
            print(f"saved {out}")
    report_status(b.status, b.message, ok=("ok",))
    return 0
