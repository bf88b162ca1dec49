"""Jacobian spectra: matrix-free Lanczos (``hvp``) against dense ``eigh``.

    python benchmarks/spectra.py [--json out.json] [--quick] [--k K]

For each architecture it prints the number of parameters, the time of one Hessian-vector
product, the time of ``spectrum(net, x, k=K, method="lanczos")`` (the K extreme Jacobian
eigenvalues, both ends) and its number of products, and, where the dense Hessian fits
(``n_params <= 4000``), the time of the dense Hessian + ``eigvalsh`` and the largest
difference between the Lanczos eigenvalues and the matching dense ones, relative to the
spectral radius (the issue asks for <= 1e-8 on ~2,000 parameters). The points are random
Gaussian states of scale ``1.2 / sqrt(width)`` (neither critical nor tiny) and, for the
Section 6.1 network, a generic global minimum. No timing is asserted anywhere.

BLAS threads: unless ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` are already set, they are
set to 1 before numpy is imported. On a small shared machine, multi-threaded OpenBLAS
busy-waits against other processes and a 150 x 150 product can take ~70 ms instead of
~1 ms; one thread gives stable, reproducible figures. The setting is printed.
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

from dlnsys import Network  # noqa: E402
from dlnsys.critical import random_critical_point  # noqa: E402
from dlnsys.spectra import hessian_operator, spectrum  # noqa: E402

CASES = {
    "section 6.1 minimum (11,6,6,6,6,4)": ((11, 6, 6, 6, 6, 4), "minimum"),
    "5 layers x 20 (2,000 params)": ((20,) * 6, "random"),
    "5 layers x 40": ((40,) * 6, "random"),
    "5 layers x 150 (112,500 params)": ((150,) * 6, "random"),
    "5 layers x 200 (200,000 params)": ((200,) * 6, "random"),
}
QUICK = ("section 6.1 minimum (11,6,6,6,6,4)", "5 layers x 20 (2,000 params)", "5 layers x 150 (112,500 params)")
DENSE_LIMIT = 4000


class Counting:
    def __init__(self, op):
        self.op, self.n = op, 0

    def __call__(self, v):
        self.n += 1
        return self.op.matvec(v)


def run_case(name, dims, kind, k, seed=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = Network(dims, sigma=np.linspace(3.0, 1.0, dims[-1]))
    rng = np.random.default_rng(seed)
    if kind == "minimum":
        x = random_critical_point(net, range(1, net.d_y + 1), rng).x
    else:
        x = rng.standard_normal(net.n_params) * 1.2 / np.sqrt(dims[1])
    op = hessian_operator(net, x)
    v = rng.standard_normal(net.n_params)
    op.matvec(v)
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        op.matvec(v)
    t_hvp = (time.perf_counter() - t0) / reps

    # count products through a wrapped operator, with the same settings as spectrum()
    import dlnsys.spectra as sp
    counter = Counting(op)
    orig = sp.hessian_operator
    sp.hessian_operator = lambda net_, x_: sp.LinearOperator(op.shape, matvec=counter, dtype=float)
    try:
        t0 = time.perf_counter()
        lz = spectrum(net, x, k=k, method="lanczos", eigenvectors=False)
        t_lz = time.perf_counter() - t0
    finally:
        sp.hessian_operator = orig
    row = {"case": name, "n_params": net.n_params, "hvp_ms": 1e3 * t_hvp, "lanczos_s": t_lz,
           "products": counter.n, "eigenvalues": lz.eigenvalues.tolist(),
           "dense_s": None, "max_rel_diff": None}
    if net.n_params <= DENSE_LIMIT:
        t0 = time.perf_counter()
        dense = spectrum(net, x, eigenvectors=False).eigenvalues
        row["dense_s"] = time.perf_counter() - t0
        n_high = (k + 1) // 2
        ref = np.r_[dense[:k - n_high], dense[len(dense) - n_high:]]
        row["max_rel_diff"] = float(np.max(np.abs(lz.eigenvalues - ref)) / np.max(np.abs(dense)))
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.add_argument("--quick", action="store_true", help="three cases only")
    p.add_argument("--k", type=int, default=6, help="extreme eigenvalues to compute (default 6)")
    args = p.parse_args(argv)
    names = QUICK if args.quick else tuple(CASES)
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; k = {args.k} extreme eigenvalues")
    rows = []
    hdr = (f"{'case':<36} {'n_params':>9} {'hvp [ms]':>9} {'Lanczos [s]':>11} {'products':>8} "
           f"{'dense [s]':>9} {'max rel diff':>12}")
    print(hdr)
    print("-" * len(hdr))
    for name in names:
        dims, kind = CASES[name]
        r = run_case(name, dims, kind, args.k)
        rows.append(r)
        dense = "-" if r["dense_s"] is None else f"{r['dense_s']:.2f}"
        diff = "-" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"
        print(f"{name:<36} {r['n_params']:>9} {r['hvp_ms']:>9.2f} {r['lanczos_s']:>11.2f} {r['products']:>8} "
              f"{dense:>9} {diff:>12}", flush=True)
    for r in rows:
        ev = ", ".join(f"{v:.6g}" for v in r["eigenvalues"])
        print(f"  {r['case']}: extreme Jacobian eigenvalues {ev}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
