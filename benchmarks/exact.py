"""Exact solutions: the vectorized inversion of the closed form t(z) against the scalar one.

    python benchmarks/exact.py [--json out.json] [--quick] [--repeats N]

For the 0-balanced aligned flow (61) of depth h >= 3 the exact solution is the closed form
``t(z)`` (partial fractions) inverted for ``z``. ``dlnsys.exact`` inverts it for every time
point and mode at once (``_BalancedInverse``: a grid bracket per lane, then a vectorized
safeguarded Newton); the previous code called a scalar safeguarded Newton once per time point
and mode, which is still there as the reference path (``dlnsys.exact._SCALAR_INVERSION =
True``). Both run here in the same process on the same inputs:

* ``exact_trajectory`` on a rotated 0-balanced state (``init.decoupled``, d_y = 4 modes,
  sigma of Section 6.1, hidden width 5) of depth h = 3, 4, 6, at n = 100, 1,000, 10,000 times
  spread evenly over ``[0, 1.5 x`` the last escape time ``]`` (the plateaus and the escapes);
* ``balanced_mode`` (one mode, the inversion alone) at the same times.

Columns: median wall time of the scalar (old) and vectorized (new) paths, new / old, and the
largest difference between the two results relative to the largest state (the two paths stop
at full double precision of the same closed form; they may differ at the rounding level of
``t(z)``). No timing is asserted anywhere.

BLAS threads: as ``benchmarks/spectra.py`` (1 unless already set; printed).
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from dlnsys import Network, init  # noqa: E402
from dlnsys import exact as ex  # noqa: E402

SIGMA = (7.0, 5.5, 4.0, 2.5)
#: depth -> per-layer init scale (plateaus of a few hundred time units at most)
CASES = {3: 0.05, 4: 0.15, 6: 0.4}
SIZES = (100, 1000, 10000)
QUICK_SIZES = (100, 1000)


def _median_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _scalar(fn):
    """``fn`` with the scalar inversion (the previous code path)."""
    def run():
        ex._SCALAR_INVERSION = True
        try:
            return fn()
        finally:
            ex._SCALAR_INVERSION = False
    return run


def run_case(h, n, repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = Network((6,) + (5,) * (h - 1) + (4,), SIGMA)
    scale = CASES[h]
    x0 = init.decoupled(net, scale, seed=0)
    t_end = 1.5 * float(np.max(ex.escape_times(net, scale=scale)))
    t = np.linspace(0.0, t_end, n)
    # the scalar path is slow: fewer repeats where one run takes seconds
    rep_old = repeats if n <= 1000 else 1
    new_s, new = _median_time(lambda: ex.exact_trajectory(net, x0, t), repeats)
    old_s, old = _median_time(_scalar(lambda: ex.exact_trajectory(net, x0, t)), rep_old)
    assert new.method == old.method == "exact:decoupled" and new.status == old.status == 0
    diff = float(np.max(np.abs(new.x - old.x)) / np.max(np.abs(old.x)))
    # one mode: the inversion alone (the smallest singular value: the longest plateau)
    sig = SIGMA[-1]
    mnew_s, zn = _median_time(lambda: ex.balanced_mode(t, sig, scale, h), repeats)
    mold_s, zo = _median_time(_scalar(lambda: ex.balanced_mode(t, sig, scale, h)), rep_old)
    mdiff = float(np.max(np.abs(zn - zo) / np.abs(zo)))
    return {"h": h, "n_t": n, "scale": scale, "t_end": t_end, "n_params": net.n_params,
            "traj_old_s": old_s, "traj_new_s": new_s, "traj_ratio": new_s / old_s, "traj_max_rel_diff": diff,
            "mode_old_s": mold_s, "mode_new_s": mnew_s, "mode_ratio": mnew_s / mold_s, "mode_max_rel_diff": mdiff}


def _fmt(v):
    return f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--quick", action="store_true", help="100 and 1,000 time points only")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per path (median; default 3; the "
                   "scalar path runs once at 10,000 points)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats: must be at least 1")
    sizes = QUICK_SIZES if args.quick else SIZES
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; d_y = {len(SIGMA)} modes, sigma = {SIGMA}")
    hdr = (f"{'h':>2} {'n_t':>6} | {'trajectory old':>14} {'new':>9} {'new/old':>8} {'max diff':>8} | "
           f"{'one mode old':>12} {'new':>9} {'new/old':>8} {'max diff':>8}")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for h in CASES:
        for n in sizes:
            r = run_case(h, n, args.repeats)
            rows.append(r)
            print(f"{h:>2} {n:>6} | {_fmt(r['traj_old_s']):>14} {_fmt(r['traj_new_s']):>9} "
                  f"{r['traj_ratio']:>8.4f} {r['traj_max_rel_diff']:>8.1e} | {_fmt(r['mode_old_s']):>12} "
                  f"{_fmt(r['mode_new_s']):>9} {r['mode_ratio']:>8.4f} {r['mode_max_rel_diff']:>8.1e}", flush=True)
    if args.json:
        from dlnsys._io import write_text_atomic

        write_text_atomic(args.json, json.dumps(rows, indent=2))       # never a half-written file
    return 0


if __name__ == "__main__":
    sys.exit(main())
