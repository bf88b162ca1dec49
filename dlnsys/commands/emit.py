"""``dlnsys emit``: write a model file for PyDSTool, XPPAUT, AUTO-07p, PyRates or the neutral JSON spec."""
from __future__ import annotations

import os
import sys

import numpy as np

from . import (float_in, float_list, int_in, int_list, new_parser)

NAME = "emit"
HELP = "write model files (PyDSTool, XPPAUT, AUTO-07p, PyRates, JSON, JavaScript) for a network, a reduction or a paper example"

SYSTEMS = ("network", "chain", "paper-62", "paper-65", "paper-66", "gd-map")
TARGETS = ("pydstool", "xppaut", "auto", "pyrates", "json", "javascript")


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description="Generate a model file from the block-form gradient flow (shared intermediates) or one of "
                    "its reductions, for a dynamical-systems tool. Files are never overwritten without --force.",
        examples=[
            "dlnsys emit --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --target xppaut -o out/",
            "dlnsys emit --system paper-62 --sigma 1 --target pydstool --integrator dopri -o out/",
            "dlnsys emit --system chain --depth 3 --sigma 1 --target json -o out/",
            "dlnsys emit --system paper-62 --continuation c1 --target auto -o out/",
            "dlnsys emit --system paper-62 --continuation c1 --target pyrates -o out/",
            "dlnsys emit --dims 4,4,4 --sigma 3,2,1.5,1 --reduction logistic --gamma 0 --continuation gam "
            "--target auto -o out/",
            "dlnsys emit --dims 2,2,1 --sigma 1.5 --ics 0.5,0.1,-0.3,0.8,1.0,0.2 --continuation s1 --form bordered "
            "--slice --target auto -o out/",
        ])
    p.add_argument("--target", required=True, choices=TARGETS, help="the tool to write for")
    p.add_argument("-o", "--out", "--output-dir", dest="out", required=True, metavar="DIR",
                   help="output folder (created if missing)")
    p.add_argument("--system", choices=SYSTEMS, default="network",
                   help="what to emit (default network: needs --dims and --sigma)")
    p.add_argument("--dims", type=int_list, metavar="D0,...,DH", help="layer widths, e.g. 11,6,6,6,6,4")
    p.add_argument("--sigma", type=float_list, metavar="S1,...", help="singular values (default 1 for chains)")
    p.add_argument("--depth", type=int_in(1, 64), metavar="H", help="number of weights of a chain (--system chain)")
    p.add_argument("--reduction", choices=("none", "diagonal", "logistic"), default="none",
                   help="diagonal (55) or 0-balanced logistic (61) reduction (h from --dims or --depth)")
    p.add_argument("--gamma", type=float_in(0.0, 1e6), default=None, metavar="G",
                   help="L2 regularization (eq. 25); with --gamma the parameter gam is in the model even if 0")
    p.add_argument("--ics", type=float_list, metavar="X1,...", help="initial state, one value per variable")
    p.add_argument("--integrator", choices=("vode", "dopri", "radau"), default="vode",
                   help="integrator of the PyDSTool script (default vode)")
    p.add_argument("--continuation", metavar="PARAM",
                   help="emit a continuation problem of equilibria in PARAM (c1.. leaf constants, s1.., gam)")
    p.add_argument("--form", choices=("leaf-reduced", "bordered"), default=None,
                   help="continuation form (default leaf-reduced for chains and the logistic reduction, "
                        "bordered otherwise)")
    p.add_argument("--leaf", type=float_list, metavar="C1,...", help="leaf constants for chain continuation")
    p.add_argument("--slice", action="store_true",
                   help="with --continuation and --form bordered: for a non-isolated equilibrium (a manifold of "
                        "equilibria on the leaf, e.g. the minima of 2,2,1) add phase conditions t_j.(x - x_ref) = 0 "
                        "normal to the manifold's tangents t_j at the start equilibrium x_ref (the rest point of the "
                        "flow from --ics), one extra unknown xnu1.. each (0 at solutions), so that AUTO and PyCont "
                        "see an isolated equilibrium instead of spurious folds and branch points")
    p.add_argument("--eta", type=float_in(0.0, 1e3, open_lo=True), default=0.01,
                   help="step of the gradient-descent map (gd-map)")
    p.add_argument("--t-end", type=float_in(0.0, 1e12, open_lo=True), default=None,
                   help="final time (iterations for maps)")
    p.add_argument("--dt", type=float_in(0.0, 1e12, open_lo=True), default=None, help="output step")
    p.add_argument("--jacobian", choices=("auto", "yes", "no"), default="auto",
                   help="attach the analytic Jacobian (auto: up to 64 variables)")
    p.add_argument("--name", default=None, help="model name (a safe identifier; default from the system)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def _sigma(args, default=None):
    if args.sigma is None:
        if default is None:
            raise ValueError("--sigma: required for this system (e.g. --sigma 7,5.5,4,2.5)")
        return default
    return list(args.sigma)


#: Seconds the flow may take to settle before `dlnsys emit --continuation` gives up (bounded work).
SETTLE_SECONDS = 60.0


def _equilibrium_from(net, x0, max_time=SETTLE_SECONDS):
    """Integrate the flow from x0 until it rests: an equilibrium on the leaf of x0 (at most
    ``max_time`` seconds of integration in all)."""
    import time

    from ..simulate import simulate
    x = np.asarray(x0, dtype=float)
    deadline = time.monotonic() + max_time
    for T in (50.0, 500.0, 5000.0):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        tr = simulate(net, x, T, method="LSODA", rtol=1e-11, atol=1e-13, max_time=left)
        x = np.asarray(tr.final, dtype=float)
        if np.linalg.norm(net.vector_field(x)) < 1e-10 * max(1.0, np.linalg.norm(x)):
            return x
        if tr.status != 0 and time.monotonic() >= deadline:
            break
    raise ValueError("--continuation: the flow from the initial state did not settle at an equilibrium "
                     f"(integrated up to t = 5000 within {max_time:g} s); give --ics closer to one")


_SLICE_USE = "--slice: applies to bordered leaf continuation (--continuation PARAM --form bordered of a network)"


def build_spec(args):
    """The OdeSpec the arguments describe (ValueError names the argument at fault)."""
    spec = _build_spec(args)
    if args.slice and (spec.continuation is None or spec.continuation.form != "bordered"):
        raise ValueError(_SLICE_USE)       # never silently ignored (leaf-reduced forms are isolated already)
    return spec


def _build_spec(args):
    from ..emit import generators as g
    from ..emit.spec import check_identifier, MAX_MODEL_NAME_LEN
    from ..network import Network

    if args.name is not None:
        check_identifier(args.name, "--name", MAX_MODEL_NAME_LEN)
    jac = {"auto": None, "yes": True, "no": False}[args.jacobian]
    opts = {"integrator": args.integrator}
    if args.t_end is not None:
        opts["t_end"] = args.t_end
    if args.dt is not None:
        opts["dt"] = args.dt
    gamma = args.gamma or 0.0
    regularized = True if args.gamma is not None else None
    cont = args.continuation
    kw = {"name": args.name} if args.name else {}

    if args.reduction != "none":
        if args.system not in ("network", "chain"):
            raise ValueError("--reduction: applies to --system network (h from --dims) or chain (--depth)")
        if args.dims is not None:
            h = len(args.dims) - 1
            if args.sigma is not None and len(args.sigma) != args.dims[-1]:
                raise ValueError(f"--sigma: expected d_y = {args.dims[-1]} values, got {len(args.sigma)}")
        elif args.depth is not None:
            h = args.depth
        else:
            raise ValueError("--dims or --depth: needed to know the depth h of the reduction")
        sigma = _sigma(args)
        if args.reduction == "diagonal":
            if cont:
                raise ValueError("--continuation: not available for the diagonal reduction; use --reduction logistic")
            return g.diagonal_spec(sigma, h, args.ics, gamma=gamma, regularized=regularized, jacobian=jac,
                                   options=opts, **kw)
        return g.logistic_spec(sigma, h, args.ics, gamma=gamma, regularized=regularized, continuation=cont,
                               options=opts, **kw)

    if args.system == "gd-map":
        if args.dims is None:
            raise ValueError("--dims: required for --system gd-map")
        net = Network(args.dims, _sigma(args), gamma)
        return g.gd_map_spec(net, args.eta, args.ics, jacobian=jac, options=opts, **kw)

    if args.system in ("chain", "paper-62", "paper-65"):
        if args.system == "chain":
            if args.depth is None:
                raise ValueError("--depth: required for --system chain")
            depth = args.depth
        else:
            depth = 2 if args.system == "paper-62" else 3
        sigma = _sigma(args, [1.0])
        if len(sigma) != 1:
            raise ValueError(f"--sigma: a chain has one singular value, got {len(sigma)}")
        if cont and (args.form or "leaf-reduced") == "leaf-reduced":
            if gamma:
                raise ValueError("--gamma: leaf continuation needs gamma = 0 (regularization breaks the leaves)")
            c = None
            if args.leaf is not None:
                c = list(args.leaf)
            elif args.ics is not None:
                w = np.asarray(args.ics, dtype=float)
                if w.size != depth:
                    raise ValueError(f"--ics: expected {depth} values, got {w.size}")
                c = list(w[:-1] ** 2 - w[1:] ** 2)
            name = args.name or ("leaf62" if depth == 2 and args.system == "paper-62" else f"chainleaf{depth}")
            return g.chain_leaf_spec(depth, sigma[0], c, parameter=cont, name=name, options=opts)
        if args.system == "chain":
            spec = g.chain_spec(depth, sigma[0], args.ics, gamma=gamma, regularized=regularized, jacobian=jac,
                                options=opts, **kw)
        else:
            spec = g.paper_spec(args.system, sigma[0], args.ics, gamma=gamma, regularized=regularized,
                                jacobian=jac, options=opts, **kw)
    elif args.system == "paper-66":
        sigma = _sigma(args, [1.0])
        spec = g.paper_spec("66", sigma[0], args.ics, gamma=gamma, regularized=regularized, jacobian=jac,
                            options=opts, **kw)
    else:
        if args.dims is None or args.sigma is None:
            raise ValueError("--dims and --sigma: required for --system network")
        net = Network(args.dims, args.sigma, gamma)
        spec = g.network_spec(net, args.ics, jacobian=jac, regularized=regularized, options=opts,
                              name=args.name or "dln")
    if cont:
        if args.form == "leaf-reduced":
            raise ValueError("--form leaf-reduced: available for chains and the logistic reduction; use bordered")
        if gamma:
            raise ValueError("--gamma: bordered leaf continuation needs gamma = 0 (regularization breaks the leaves)")
        dims = tuple(spec.metadata["dims"])
        net = Network(dims, spec.metadata["sigma"])
        x_eq = _equilibrium_from(net, spec.initial)
        return g.bordered_spec(net, x_eq, parameter=cont, name=args.name or f"{spec.name}_bord", options=opts,
                               slice=args.slice)
    return spec


def _files(spec, target):
    from ..emit.catalog import render_target
    if target in ("pydstool", "auto", "pyrates"):
        try:
            __import__(f"dlnsys.emit.{target}")
        except ImportError:
            raise ValueError(f"--target {target}: the writer dlnsys.emit.{target} is not available in this "
                             "installation yet") from None
    return render_target(spec, target)


def run(args) -> int:
    spec = build_spec(args)
    files = _files(spec, args.target)
    out = os.fspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out!r} exists and is not a folder")
    targets = {os.path.join(out, rel): text for rel, text in files.items()}
    clash = [p for p in targets if os.path.exists(p)]
    if clash and not args.force:
        raise ValueError(f"--out: {clash[0]!r} exists; pass --force to overwrite")
    from .._io import write_text_atomic
    for p, text in targets.items():
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        write_text_atomic(p, text)         # temporary name in the folder, then renamed
    size = sum(len(t) for t in files.values())
    sys.stdout.write(f"wrote {len(files)} file(s) for {spec.name} ({spec.n} variables, {size} characters): "
                     + ", ".join(sorted(targets)) + "\n")
    return 0
