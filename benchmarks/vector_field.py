"""Vector-field cost: block form vs the adjacency form (12) vs a bare loop of the same products.

    python benchmarks/vector_field.py [--json out.json] [--quick]

For each architecture it prints microseconds per evaluation of
  * ``block``     -- ``net.vector_field(x)`` (public call, with input validation),
  * ``adjacency`` -- ``net.vector_field_adjacency(A)``, eq. (12) with powers of A,
  * ``floor``     -- a bare Python loop doing exactly the matrix products of the block form
                     into preallocated arrays (no validation, no concatenation),
and the ratios adjacency/block (target >= 100 at 11 x 64) and block/floor (target <= 3).
All three run in the same process, so the ratios are what to compare across machines.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from dlnsys import Network

CASES = {
    "section 6.1 (11,6,6,6,6,4)": (11, 6, 6, 6, 6, 4),
    "6 layers x 32": (32,) * 7,
    "11 layers x 64": (64,) * 12,
    "5 layers x 256": (256,) * 6,
}


def per_call(fn, min_time=0.3, max_reps=200_000):
    """Median over 5 batches of the time per call (seconds); batches last about min_time / 5."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = int(min(max_reps, max(1, (min_time / 5) / one)))
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t0) / reps)
    return float(np.median(samples))


def bare_floor(net, x):
    """The block form's matrix products and nothing else (preallocated outputs)."""
    Ws = net.unpack(x)
    h = len(Ws)
    d_y = net.d_y
    S = [np.empty((d_y, net.dims[k + 1])) for k in range(h)]
    R = [np.empty((d_y, net.dims[k])) for k in range(h)]
    out = [np.empty(W.shape) for W in Ws]
    M = np.empty((d_y, net.d_x))
    Sigma = net.Sigma
    WT = [W.T for W in Ws]
    ST = [s.T for s in S]

    def run():
        if h > 1:
            S[h - 2][...] = Ws[h - 1]
            for k in range(h - 3, -1, -1):
                np.matmul(S[k + 1], Ws[k + 1], out=S[k])
            np.matmul(S[0], Ws[0], out=M)
        else:
            M[...] = Ws[0]
        np.subtract(Sigma, M, out=R[0])
        for k in range(h):
            if k < h - 1:
                np.matmul(ST[k], R[k], out=out[k])
                np.matmul(R[k], WT[k], out=R[k + 1])
            else:
                out[k][...] = R[k]
    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--quick", action="store_true", help="shorter timing windows")
    args = p.parse_args(argv)
    min_time = 0.1 if args.quick else 0.4
    rng = np.random.default_rng(0)
    rows = []
    hdr = f"{'architecture':28s} {'n_params':>9s} {'block us':>10s} {'adjacency us':>13s} {'floor us':>9s}" \
          f" {'adj/block':>10s} {'block/floor':>12s}"
    print(hdr)
    print("-" * len(hdr))
    for name, dims in CASES.items():
        # Generic singular values (evenly spaced ones can break Assumption 2 and warn).
        net = Network(dims, np.sort(rng.uniform(1.0, 2.0, dims[-1]))[::-1])
        x = np.concatenate([rng.normal(size=r * c) / np.sqrt(c) for r, c in net.shapes])
        A = net.adjacency(x)
        t_block = per_call(lambda: net.vector_field(x), min_time)
        t_adj = per_call(lambda: net.vector_field_adjacency(A), min_time, max_reps=2000)
        t_floor = per_call(bare_floor(net, x), min_time)
        row = dict(architecture=name, dims=list(dims), n_params=net.n_params, block_us=t_block * 1e6,
                   adjacency_us=t_adj * 1e6, floor_us=t_floor * 1e6,
                   adjacency_over_block=t_adj / t_block, block_over_floor=t_block / t_floor)
        rows.append(row)
        print(f"{name:28s} {net.n_params:9d} {row['block_us']:10.1f} {row['adjacency_us']:13.1f} "
              f"{row['floor_us']:9.1f} {row['adjacency_over_block']:10.1f} {row['block_over_floor']:12.2f}")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
