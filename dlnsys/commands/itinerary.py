"""``dlnsys itinerary``: the saddle-to-saddle itinerary of a trajectory."""
from __future__ import annotations

import os

from . import (add_json_arg, add_network_args, add_output_args, add_seed_arg, check_output_path, float_in,
               int_in, new_parser, print_json, report_status, TOLERANCE)

NAME = "itinerary"
HELP = "the critical points (plateaus) a trajectory passes near, with signatures, times and losses vs (31)"


def add_parser(subparsers):
    from .simulate import INITS

    p = new_parser(
        subparsers, NAME, HELP,
        description="Find the plateaus of a trajectory (stretches where the relative loss rate |dL/dt| / L is "
                    "small) and, for each, the signature of the critical point it passes near (singular values "
                    "of W_{1:h} against sigma), entry and exit times, the plateau loss against the critical value "
                    "(31), and whether it is a strict or non-strict saddle. Reads a trajectory saved by 'dlnsys "
                    "simulate --out', or simulates one.",
        examples=[
            "dlnsys itinerary --trajectory run.npz",
            "dlnsys itinerary --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --init small --seed 3 --t 30000 "
            "--until-loss 1e-12",
            "dlnsys itinerary --dims 1,1,1 --sigma 1 --init small --t 100 --json",
        ])
    g = p.add_argument_group("trajectory (a file, or simulate one)")
    g.add_argument("--trajectory", metavar="FILE.npz", default=None, help="a file written by 'dlnsys simulate --out'")
    g.add_argument("--member", type=int_in(0, 10**9), default=None, metavar="K", help="member of a batch trajectory")
    add_network_args(p, required=False, gamma=False)
    g2 = p.add_argument_group("simulation (without --trajectory)")
    g2.add_argument("--init", choices=list(INITS), default="small", help="initialization (default small)")
    g2.add_argument("--scale", type=float_in(0.0, 100.0, open_lo=True), default=None, metavar="S",
                    help="initialization scale")
    add_seed_arg(g2)
    g2.add_argument("--t", type=float_in(0.0, 1e12, open_lo=True), default=None, metavar="T", dest="t_final",
                    help="final time")
    g2.add_argument("--max-time", type=float_in(0.0, 1e6, open_lo=True), default=3600.0, metavar="SECONDS",
                    help="wall-time budget of the simulation (default 3600)")
    g2.add_argument("--until-loss", type=float_in(0.0, 1e300), default=None, metavar="L",
                    help="stop the simulation once the loss is at most L")
    g2.add_argument("--rtol", type=float_in(*TOLERANCE), default=1e-8, help="default 1e-8")
    g2.add_argument("--atol", type=float_in(1e-30, 1.0), default=1e-10, help="default 1e-10")
    add_output_args(g2, "the simulated trajectory", suffix=".npz")
    g3 = p.add_argument_group("plateau detection")
    g3.add_argument("--rate-tol", type=float_in(0.0, 1e6, open_lo=True), default=1e-3, metavar="TOL",
                    help="plateau: |dL/dt| / L < TOL * h sigma_1^(2-2/h) (default 1e-3)")
    g3.add_argument("--sig-rtol", type=float_in(0.0, 1.0, open_lo=True), default=1e-2, metavar="TOL",
                    help="relative tolerance matching singular values of W_{1:h} to sigma (default 1e-2)")
    add_json_arg(g3)
    return p


def run(args):
    from ..separatrices import itinerary
    from ..simulate import Trajectory, simulate

    if args.trajectory is not None:
        for opt in ("dims", "sigma", "t_final", "until_loss", "out", "scale"):
            if getattr(args, opt, None) is not None:
                raise ValueError(f"--{opt.replace('_', '-') if opt != 't_final' else 't'}: not used with --trajectory "
                                 "(the network and the states come from the file)")
        path = os.fspath(args.trajectory)
        traj = Trajectory.from_npz(path, "--trajectory")      # every problem: one line naming the file
        net = traj.net
        if traj.is_batch and args.member is None:
            raise ValueError(f"--member: {path!r} holds a batch of {traj.batch_size} trajectories; choose one")
    else:
        from . import network_from_args
        from .simulate import initial_state

        if args.dims is None or args.sigma is None:
            raise ValueError("--trajectory or --dims/--sigma (to simulate) is required")
        if args.t_final is None:
            raise ValueError("--t: required to simulate (or give --trajectory)")
        out = check_output_path(args.out, args.force, suffix=".npz")
        net = network_from_args(args)
        x0, _ = initial_state(net, args.init, args.scale, args.seed)
        traj = simulate(net, x0, args.t_final, rtol=args.rtol, atol=args.atol, until_loss=args.until_loss,
                        max_time=args.max_time)
        report_status(traj.status, traj.message, ok=(0, 1))
        if out is not None:
            traj.to_npz(out)
    it = itinerary(net, traj, member=args.member, rate_tol=args.rate_tol, sig_rtol=args.sig_rtol)
    if args.json:
        d = it.to_dict()
        d["network"] = {"dims": list(net.dims), "sigma": [float(s) for s in net.sigma]}
        print_json(d)
    else:
        print(it.summary())
    return 0
