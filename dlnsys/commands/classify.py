"""``dlnsys classify``: is a weight configuration a critical point, and of which kind?"""
from __future__ import annotations

import os

import numpy as np

from . import (add_json_arg, add_network_args, float_in, format_set, int_in, network_from_args, new_parser,
               print_json)

NAME = "classify"
HELP = "classify a weight configuration: regular point, global minimum, strict or non-strict saddle"


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="Read weights from an .npz file and classify the point: its signature (from A^h = "
                    "blk_h(S Sigma)), critical value (31), kind by Props. 14, 18, 21, 23 confirmed by the Hessian "
                    "eigenvalues, tightenedness (Section 4.4), and the unstable/stable arcs of Theorem 24. "
                    "The file holds either the state vector 'x' (or a dlnsys trajectory file, whose state at "
                    "--index is used), or the weight matrices 'W1', ..., 'Wh' (or 'arr_0', ... as written by "
                    "numpy.savez(path, *Ws)).",
        examples=[
            "dlnsys classify --dims 1,1,1 --sigma 1 --weights origin.npz",
            "dlnsys simulate --dims 3,3,3,2 --sigma 2,1 --init large --t 50 --out run.npz",
            "dlnsys classify --dims 3,3,3,2 --sigma 2,1 --weights run.npz --json",
        ])
    add_network_args(p, gamma=False)
    g = p.add_argument_group("input and tolerances")
    g.add_argument("--weights", required=True, metavar="FILE.npz", help="weights (see above)")
    g.add_argument("--index", type=int_in(-10**12, 10**12), default=-1, metavar="K",
                   help="which saved state of a trajectory file (default -1, the last)")
    g.add_argument("--tol", type=float_in(0.0, 1.0, open_lo=True), default=1e-6,
                   help="relative criticality tolerance (default 1e-6; see dlnsys.classify)")
    g.add_argument("--eig-tol", type=float_in(0.0, 1.0), default=None, metavar="TOL",
                   help="relative zero threshold for Hessian eigenvalues (default max(1e-8, 10 x relative gradient))")
    add_json_arg(g)
    g.add_argument("--vectors", action="store_true",
                   help="with --json, include the negative and zero directions")
    return p


def load_weights(net, path, index=-1):
    """The state vector stored in ``path`` for ``net`` (ValueError naming --weights on any problem)."""
    from .._io import read_npz

    where = f"--weights: {os.fspath(path)!r}"
    # only the arrays that can hold the weights are read (a trajectory file also holds strings)
    wanted = ("x", "dims") + tuple(f"W{i}" for i in range(1, net.h + 1)) + tuple(f"arr_{i}" for i in range(net.h))
    z = read_npz(path, "--weights", optional=wanted, allow_nan=True)
    files = set(z)
    if "dims" in files:
        fd = np.atleast_1d(z["dims"])
        if fd.ndim != 1 or fd.dtype.kind not in "iu" or tuple(int(d) for d in fd) != net.dims:
            raise ValueError(f"{where} is for dims {tuple(fd.reshape(-1).tolist())[:10]}, not --dims {net.dims}")
    if "x" in files:
        x = np.asarray(z["x"])
        if x.ndim == 2:
            if not -x.shape[0] <= index < x.shape[0]:
                raise ValueError(f"--index: {index} is out of range for {x.shape[0]} saved states")
            x = x[index]
        elif x.ndim != 1:
            raise ValueError(f"{where}: 'x' must be one state of shape ({net.n_params},) or a "
                             f"trajectory (n_t, {net.n_params}); got shape {x.shape}")
    else:
        names = [f"W{i}" for i in range(1, net.h + 1)]
        if not all(n in files for n in names):
            names = [f"arr_{i}" for i in range(net.h)]
            if not all(n in files for n in names):
                raise ValueError(f"{where}: expected an array 'x' or arrays W1..W{net.h} "
                                 f"(or arr_0..arr_{net.h - 1}); the file has none of them")
        Ws = []
        for i, n in enumerate(names):
            W = np.asarray(z[n])
            if W.shape != net.shapes[i]:
                raise ValueError(f"{where}: {n} must have shape {net.shapes[i]} for dims {net.dims}, "
                                 f"got {W.shape}")
            Ws.append(W)
        x = np.concatenate([W.reshape(-1) for W in Ws])
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{where}: expected real numbers, got dtype {x.dtype}")
    x = x.astype(float)
    if x.shape != (net.n_params,):
        raise ValueError(f"{where}: the state has {x.size} entries, dims {net.dims} need {net.n_params}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{where}: the state contains NaN or infinite values")
    return x


def run(args):
    from ..critical import classify

    net = network_from_args(args)
    x = load_weights(net, args.weights, args.index)
    c = classify(net, x, tol=args.tol, eig_tol=args.eig_tol)
    if args.json:
        out = c.to_dict(vectors=args.vectors)
        out["dims"] = list(net.dims)
        out["sigma"] = [float(s) for s in net.sigma]
        print_json(out)
        return 0
    counts = ("n/a" if c.n_negative is None else
              f"{c.n_negative} negative, {c.n_zero} zero, {c.n_positive} positive")
    lines = [f"network          dims {net.dims}, sigma {[float(v) for v in net.sigma]}",
             f"kind             {c.kind}",
             f"gradient         {c.gradient_norm:.3e} (relative {c.relative_gradient:.3e}, tol {c.tol:g})"]
    if c.is_critical:
        lines += [
            f"signature        {format_set(c.signature)}  (critical value {c.critical_value:.6g})",
            f"theory           {c.theory_kind or 'undecided'}: {c.theory_reason}",
            f"Hessian          {c.numerical_kind}; {counts}; smallest {c.min_eigenvalue:.6g} "
            f"(zero threshold {c.eig_tol:.2e})",
            f"tightened        {c.tightened} (block ranks {list(c.block_ranks)})",
            f"arcs             {c.n_unstable_arcs} unstable, {c.n_stable_arcs} stable (Theorem 24)",
        ]
        if c.negative_direction is not None:
            lines.append(f"negative dir.    h(A, V) = {c.negative_curvature:.6g} ({c.negative_direction_source})")
    else:
        lines.append(f"Hessian          {counts}; smallest {c.min_eigenvalue:.6g}")
    lines += [f"note             {n}" for n in c.notes]
    print("\n".join(lines))
    return 0
