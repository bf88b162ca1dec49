"""``dlnsys simulate``: integrate the gradient flow from a chosen initialization."""
from __future__ import annotations

import argparse

import numpy as np

from . import (add_json_arg, add_network_args, add_output_args, add_progress_arg, add_seed_arg,
               check_output_path, float_in, format_set, int_in, network_from_args, new_parser, print_json,
               report_status, TOLERANCE)

NAME = "simulate"
HELP = "integrate the gradient flow (9) from a random, balanced or diagonal initialization"

#: --init choice -> (init function name, default scale, description)
INITS = {
    "small": ("gaussian", 1e-2, "i.i.d. N(0, scale^2) weights, scale 1e-2 by default (sequential learning)"),
    "large": ("gaussian", 1.0, "i.i.d. N(0, scale^2) weights, scale 1 by default"),
    "balanced": ("balanced", 1e-2, "exactly 0-balanced (init.balanced; scale = entry scale of W_{1:h})"),
    "diagonal": ("diagonal_random", 1e-2, "block-shift diagonal with N(0, scale^2) diagonal entries"),
}


def _method(text):
    from ..simulate import METHODS

    for m in METHODS:
        if m.lower() == text.lower():
            return m
    raise argparse.ArgumentTypeError(f"unknown method {text!r}; choose one of {', '.join(METHODS)}")


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="Integrate the gradient flow dx/dt = -grad L(x) (eq. 9) of a deep linear network and "
                    "report the final loss, the signature reached (the learned singular values, eq. 31), "
                    "the drift of the conservation laws (Prop. 6), the work done and the wall time.",
        examples=[
            "dlnsys simulate --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --init large --t 20",
            "dlnsys simulate --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --init small --scale 0.05 --t 1000 --json",
            "dlnsys simulate --dims 1,1,1 --sigma 1 --init large --t 50 --out run.npz --force",
            "",
            "init choices:",
        ] + [f"  {k:9s} {v[2]}" for k, v in INITS.items()])
    add_network_args(p)
    g = p.add_argument_group("initial condition")
    g.add_argument("--init", choices=list(INITS), default="small", help="initialization (default small)")
    g.add_argument("--scale", type=float_in(0.0, 100.0, open_lo=True), default=None, metavar="S",
                   help="scale of the initialization (default: 1e-2, 1 for --init large)")
    add_seed_arg(g)
    g = p.add_argument_group("integration")
    g.add_argument("--t", type=float_in(0.0, 1e12, open_lo=True), required=True, metavar="T", dest="t_final",
                   help="final time (the Section 6.1 network needs t ~ 1e5 from scale 1e-2, ~700 from "
                        "scale 5e-2, ~10 from scale 1)")
    g.add_argument("--until-loss", type=float_in(0.0, 1e300), default=None, metavar="L",
                   help="stop early once the loss is at most L")
    g.add_argument("--max-time", type=float_in(0.0, 1e6, open_lo=True), default=3600.0, metavar="SECONDS",
                   help="wall-time budget (default 3600): the run stops there with status 2")
    g.add_argument("--max-steps", type=int_in(1, 10**9), default=None, metavar="N",
                   help="budget of solver steps (default: as many as memory holds); status 2 when spent")
    g.add_argument("--method", type=_method, default="auto",
                   help="integrator: auto (default), RK45, RK23, DOP853, LSODA, BDF, Radau")
    g.add_argument("--rtol", type=float_in(*TOLERANCE), default=1e-8, help="relative tolerance (default 1e-8)")
    g.add_argument("--atol", type=float_in(1e-30, 1.0), default=1e-10, help="absolute tolerance (default 1e-10)")
    g.add_argument("--sv-tol", type=float_in(0.0, 1.0, open_lo=True), default=1e-3, metavar="TOL",
                   help="relative tolerance for calling a singular value learned (default 1e-3)")
    add_progress_arg(g)
    g = p.add_argument_group("output")
    add_json_arg(g)
    add_output_args(g, "the trajectory (t, x, loss, network)", suffix=".npz")
    return p


def initial_state(net, kind, scale, seed):
    from .. import init

    func_name, default_scale, _ = INITS[kind]
    scale = default_scale if scale is None else scale
    return getattr(init, func_name)(net, scale, seed=seed), scale


def learned_signature(net, x, tol=1e-3):
    """The signature S (1-based set) of the critical point near x, judged from the product alone.

    Singular values ``s`` of ``W_{1:h}``: index j is learned if some ``s_k`` (each used once) is
    within ``tol * sigma_j`` of ``sigma_j``; every other ``s_k`` must be below ``tol * sigma_1``
    (unlearned). Returns ``(S, s)`` with ``S = None`` when some ``s_k`` is neither (the state is
    between critical points). A simple test for reporting; :mod:`dlnsys.critical` classifies.
    """
    s = np.linalg.svd(net.product(x), compute_uv=False)
    sigma = np.asarray(net.sigma)
    used = np.zeros(s.size, bool)
    S = set()
    for j, sj in enumerate(sigma):
        d = np.where(used, np.inf, np.abs(s - sj))
        k = int(np.argmin(d))
        if d[k] <= tol * sj:
            used[k] = True
            S.add(j + 1)
    rest = s[~used]
    if np.any(rest > tol * sigma[0]):
        return None, s
    return S, s


def critical_value(net, S):
    """``1/2 sum_{i not in S} sigma_i^2`` (eq. 31), S 1-based."""
    sigma = np.asarray(net.sigma)
    return 0.5 * float(sum(sigma[i] ** 2 for i in range(sigma.size) if (i + 1) not in S))


def run(args):
    from ..simulate import simulate

    net = network_from_args(args)
    out = check_output_path(args.out, args.force, suffix=".npz")
    x0, scale = initial_state(net, args.init, args.scale, args.seed)
    traj = simulate(net, x0, args.t_final, method=args.method, rtol=args.rtol, atol=args.atol,
                    progress=args.progress, until_loss=args.until_loss, max_time=args.max_time,
                    max_steps=args.max_steps)
    S, s = learned_signature(net, traj.final, args.sv_tol)
    summary = traj.to_dict()
    summary.update({
        "init": args.init, "scale": scale, "seed": args.seed,
        "signature": None if S is None else sorted(S),
        "critical_value": None if S is None else critical_value(net, S),
        "product_singular_values": s.tolist(),
        "sv_tol": args.sv_tol,
    })
    if out is not None:
        summary["out"] = traj.to_npz(out)
    if args.json:
        print_json(summary)
    else:
        sig = "none (between critical points)" if S is None else (
            f"{format_set(S)}  (critical value {critical_value(net, S):.6g})")
        lines = [
            f"network          dims {net.dims}, sigma {[float(v) for v in net.sigma]}"
            + (f", gamma {net.gamma:g}" if net.gamma else ""),
            f"initialization   {args.init} (scale {scale:g}, seed {args.seed})",
            f"integration      t = 0 .. {traj.t_final:.6g} with {traj.method} "
            f"(rtol {args.rtol:g}, atol {args.atol:g}): {traj.message}",
            f"loss             {summary['initial_loss']:.6g} -> {traj.final_loss:.6g}",
            f"signature        {sig}",
            f"product s.v.     {', '.join(f'{v:.6g}' for v in s)}",
            f"conserved drift  {traj.conserved_drift:.2e} relative, {traj.conserved_drift_abs:.2e} absolute",
            f"evaluations      nfev {traj.nfev}, njev {traj.njev}",
            f"wall time        {traj.wall_time:.3g} s",
        ]
        if out is not None:
            lines.append(f"saved            {summary['out']}")
        print("\n".join(lines))
    report_status(traj.status, traj.message, ok=(0, 1))
    return 0
