"""Section 6.1 demo: sequential learning from a small initialization (``python -m dlnsys.demo``).

The network of Section 6.1 (``dims = (11, 6, 6, 6, 6, 4)``, ``sigma = (7, 5.5, 4, 2.5)``,
198 weights, 84 conservation laws) starts from i.i.d. ``N(0, 1e-4)`` weights
(``init.gaussian(net, 1e-2, seed=0)``) and is integrated until all four singular values are
learned. The loss lingers on plateaus at the critical values (31)
``1/2 sum_{i not in S} sigma_i^2`` for ``S = {}, {1}, {1,2}, {1,2,3}`` -- the saddles
visited in turn -- before reaching the global minimum ``S = {1,2,3,4}`` (loss 0).

With scale 1e-2 the plateaus are long: for seed 0 the transitions happen near
``t = 4950, 7350, 13420, 82000`` (the escape time from a plateau grows like
``1 / (sigma_j s^(h-2))`` for a mode of size ``s``), so the run goes to ``t = 2e5`` and stops
as soon as the loss is below 1e-9; this takes a few seconds. ``--scale 0.05`` gives the
same picture by ``t ~ 700``.

The demo prints the plateaus found (intervals where ``|dL/dt| / L < 0.1`` for at least 10
time units) next to the critical values, the final loss, the drift of the conservation
laws and the wall time, and exits with status 1 if the plateaus are not the expected
sequence. It is the temporary body of ``make gallery``.
"""
from __future__ import annotations

import argparse
import itertools
import sys

import numpy as np

__all__ = ["main", "run_demo", "critical_values"]

DIMS = (11, 6, 6, 6, 6, 4)
SIGMA = (7.0, 5.5, 4.0, 2.5)


def critical_values(sigma):
    """``{S: 1/2 sum_{i not in S} sigma_i^2}`` for every signature S (1-based frozensets), eq. (31)."""
    sigma = np.asarray(sigma, float)
    d = sigma.size
    out = {}
    for r in range(d + 1):
        for S in itertools.combinations(range(1, d + 1), r):
            out[frozenset(S)] = 0.5 * float(sum(sigma[i - 1] ** 2 for i in range(1, d + 1) if i not in S))
    return out


def nearest_signature(value, crit):
    """The signature whose critical value is closest to ``value``, and that value."""
    S = min(crit, key=lambda s: abs(crit[s] - value))
    return S, crit[S]


def run_demo(scale=1e-2, seed=0, t_max=2e5, until_loss=1e-9, method="auto", progress=False,
             rate_tol=0.1, min_duration=10.0):
    """Run the simulation and return ``(trajectory, rows)``; ``rows`` lists the plateaus as dicts."""
    from . import init
    from .network import Network
    from .simulate import simulate

    net = Network(DIMS, SIGMA)
    x0 = init.gaussian(net, scale, seed=seed)
    traj = simulate(net, x0, t_max, method=method, until_loss=until_loss, progress=progress)
    crit = critical_values(net.sigma)
    rows = []
    for p in traj.plateaus(rate_tol=rate_tol, min_duration=min_duration):
        S, c = nearest_signature(p.loss, crit)
        rows.append({"signature": sorted(S), "critical_value": c, "plateau_loss": p.loss,
                     "t_start": p.t_start, "t_end": p.t_end})
    return traj, rows


def _fmt_set(S):
    return "{" + ",".join(str(i) for i in S) + "}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dlnsys.demo",
        description="Section 6.1: sequential learning of the singular values from a small initialization.")
    parser.add_argument("--scale", type=float, default=1e-2, help="entry scale of the Gaussian init (1e-2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--t-max", type=float, default=2e5, help="largest time (2e5); the run stops "
                        "earlier once the loss is below 1e-9")
    parser.add_argument("--method", default="auto", help="integrator (auto)")
    args = parser.parse_args(argv)

    expected = [[], [1], [1, 2], [1, 2, 3]]
    print(f"Section 6.1: dims {DIMS}, sigma {SIGMA}; init.gaussian(scale={args.scale:g}, seed={args.seed}); "
          f"integrating to t = {args.t_max:g} or until the loss < 1e-9 ...", flush=True)
    try:
        traj, rows = run_demo(args.scale, args.seed, args.t_max, method=args.method,
                              progress=sys.stderr.isatty())
    except ValueError as e:
        print(f"dlnsys.demo: error: {e}", file=sys.stderr)
        return 2
    crit = critical_values(SIGMA)
    print("\nplateaus (|dL/dt|/L < 0.1 for at least 10 time units) vs critical values (31):")
    print(f"  {'S':<11}{'1/2 sum_(i not in S) sigma_i^2':>32}{'plateau loss':>16}{'t from':>11}{'t to':>11}")
    for r in rows:
        print(f"  {_fmt_set(r['signature']):<11}{r['critical_value']:>32.6g}{r['plateau_loss']:>16.8g}"
              f"{r['t_start']:>11.5g}{r['t_end']:>11.5g}")
    print(f"  {_fmt_set([1, 2, 3, 4]):<11}{crit[frozenset({1, 2, 3, 4})]:>32.6g}"
          f"{traj.final_loss:>16.3g}{'(final)':>11}")
    found = [r["signature"] for r in rows]
    ok = found == expected and traj.final_loss < 1e-6
    worst = max((abs(r["plateau_loss"] - r["critical_value"]) / max(r["critical_value"], 1.0) for r in rows),
                default=float("nan"))
    print(f"\nfinal loss       {traj.final_loss:.3g} at t = {traj.t_final:.6g} ({traj.message})")
    print(f"plateau losses   within {worst:.1e} (relative) of the critical values")
    print(f"conserved drift  {traj.conserved_drift:.2e} relative, {traj.conserved_drift_abs:.2e} absolute "
          f"(84 conservation laws)")
    print(f"integration      {traj.method}, nfev {traj.nfev}, njev {traj.njev}, wall time {traj.wall_time:.2f} s")
    print("sequential learning: " + ("yes, the plateaus are S = {}, {1}, {1,2}, {1,2,3} in this order" if ok
                                     else f"NOT as expected (plateaus {found})"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
