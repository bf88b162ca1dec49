"""``dlnsys manifolds``: the equilibria on a leaf as manifolds, signature by signature."""
from __future__ import annotations


import numpy as np

from . import (add_json_arg, add_network_args, add_output_args, add_progress_arg, add_seed_arg,
               check_output_path, float_in, int_in, network_from_args, new_parser, print_json, report_status)
from .equilibria import LEAF_HELP, parse_leaf_text

NAME = "manifolds"
HELP = "equilibrium manifolds on a leaf: per signature found/absent, components, dimension, index"


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="The equilibria of the gradient flow on the leaf {x : C(x) = C} of the conservation laws "
                    "(Prop. 6), treated as manifolds: for every signature S (Section 4.2) either the components "
                    "found (a point, the local dimension, the index = number of unstable normal directions, "
                    "normal hyperbolicity, the kind from classify), or a proof of absence, or 'not found' with "
                    "what the search tried. One row per signature; --json gives everything.",
        examples=[
            "dlnsys manifolds --dims 3,1,1 --sigma 1 --leaf 0.8",
            "dlnsys manifolds --dims 2,2,1 --sigma 1.5 --leaf '0.5,0.1,-0.2' --samples 20 --out pts.npz",
            "dlnsys manifolds --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --balanced",
            "dlnsys simulate --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --init large --t 20 --out run.npz\n"
            "  dlnsys manifolds --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --leaf-from run.npz --json",
        ])
    add_network_args(p, gamma=False)
    g = p.add_argument_group("leaf")
    leaf = g.add_mutually_exclusive_group(required=True)
    leaf.add_argument("--leaf", metavar="C", help=LEAF_HELP)
    leaf.add_argument("--leaf-from", metavar="RUN.npz",
                      help="the leaf of the initial state of a trajectory written by 'dlnsys simulate --out'")
    leaf.add_argument("--balanced", action="store_true", help="the 0-balanced leaf C = 0")
    s = p.add_argument_group("search")
    s.add_argument("--signatures", metavar="S;S;...", default=None,
                   help="signatures to analyse, e.g. '1,2;1;' (';'-separated, empty = the empty set); "
                        "default all 2^d_y")
    s.add_argument("--starts", type=int_in(1, 1000), default=6, metavar="N",
                   help="random starts per signature (default 6)")
    s.add_argument("--symmetries", type=int_in(0, 1000), default=16, metavar="N",
                   help="images of found points under up to N leaf symmetries (default 16)")
    s.add_argument("--max-time", type=float_in(0.0, 1e5, open_lo=True), default=20.0, metavar="SECONDS",
                   help="time budget for the whole leaf (default 20; more groups more points into components)")
    add_seed_arg(s)
    o = p.add_argument_group("output")
    o.add_argument("--samples", type=int_in(0, 10**5), default=0, metavar="N",
                   help="N sample points on each component (written with --out)")
    add_output_args(o, "the samples (arrays per component: S..._k, and the leaf)", suffix=".npz")
    add_json_arg(o)
    add_progress_arg(o)
    return p


def _parse_signatures(text):
    if text is None:
        return None
    out = []
    for part in text.split(";"):
        part = part.strip().strip("{}")
        try:
            out.append(tuple(int(v) for v in part.split(",") if v.strip()))
        except ValueError:
            raise ValueError(f"--signatures: {part!r} is not a comma-separated list of integers") from None
    return out


def _leaf_from_run(path, net):
    from ..simulate import Trajectory
    traj = Trajectory.from_npz(path, "--leaf-from")       # every problem: one line naming the file
    if tuple(traj.net.dims) != tuple(net.dims):
        raise ValueError(f"--leaf-from: the run is for dims {list(traj.net.dims)}, not {list(net.dims)}")
    x0 = np.asarray(traj.x)[0]
    return net.conserved(x0), x0


def run(args):
    from ..manifolds import equilibrium_manifolds
    from .._io import savez_atomic

    net = network_from_args(args)
    out = check_output_path(args.out, args.force, suffix=".npz")
    if args.samples and out is None:
        raise ValueError("--samples: give --out PATH for the sample points")
    x0 = None
    if args.balanced:
        C = np.zeros(net.n_conservation_laws)
    elif args.leaf_from is not None:
        C, x0 = _leaf_from_run(args.leaf_from, net)
    else:
        from ..leaves import parse_leaf
        C, _ = parse_leaf(net, parse_leaf_text(args.leaf), name="--leaf")
    res = equilibrium_manifolds(net, C, signatures=_parse_signatures(args.signatures), n_starts=args.starts,
                                symmetries=args.symmetries, seed=args.seed, x0=x0, max_time=args.max_time,
                                progress=args.progress or None)
    if out is not None:
        arrays = {"dims": np.array(net.dims), "sigma": np.asarray(net.sigma, float),
                  "leaf": np.concatenate([m[np.triu_indices(m.shape[0])] for m in res.leaf]) if res.leaf
                  else np.zeros(0)}
        for entry in res:
            name = "S" + "_".join(map(str, entry.signature)) if entry.signature else "S"
            for k, comp in enumerate(entry.components):
                arrays[f"{name}__{k}"] = comp.sample(args.samples, seed=args.seed) if args.samples else comp.point[None]
        savez_atomic(out, **arrays)
    if args.json:
        d = res.to_dict(vectors=False)
        if out is not None:
            d["out"] = out
        print_json(d)
    else:
        print(res.summary())
        if out is not None:
            print(f"samples written to {out}")
    report_status(res.status, getattr(res, "message", ""), ok=("ok",))
    return 0
