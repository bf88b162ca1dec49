"""The Section 6.1 leaf analysis: equilibrium_manifolds per leaf, against one bordered-Newton solve.

    python benchmarks/leaf_analysis.py [--json out.json] [--max-time 20] [--quick] [--large]

For the network of Section 6.1 (dims 11,6,6,6,6,4, sigma 7,5.5,4,2.5) on the leaves of Gaussian
initializations at scales 0.05, 0.5 and 1 (seeds 0, 1, 2) and on the 0-balanced leaf, it runs
``dlnsys.equilibrium_manifolds(net, C, x0=x0, max_time=...)`` (all 16 signatures) and prints, per
leaf: how many signatures were found / proved absent / not found, the dimension and normal
hyperbolicity of the minima, the largest residual ``||f|| / ||Sigma||`` and leaf error of the points,
the time of the search and first components (phase 1) and the whole wall time (the budget: the rest
groups points into components), with the time of the baseline, one ``bordered_newton`` solve from x0 (what
``equilibria_on_leaf`` did before: one loose point, no components), as a ratio to the search time. Peak memory is
the process's peak resident set size. One BLAS thread (see benchmarks/spectra.py). No timing
is asserted anywhere.

``--large`` runs the matrix-free analysis of the global minima instead (more than 5,000 weights:
``dlnsys._leafscale``) on square networks up to 11 layers x 64 (45,056 weights, 20,800 laws) at a
random global minimum (``random_critical_point``) and its leaf: time of the Gauss-Newton polish (from
the minimum perturbed by 1e-6), of the rank certificate of [K; DC] and of the 6 most negative normal
eigenvalues, the dimension, and the peak resident memory; for the sizes where it fits, the dense
analysis (``manifold_at``) in the same process as the baseline of the ratio.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import resource  # noqa: E402

import numpy as np  # noqa: E402

import dlnsys  # noqa: E402
from dlnsys import init  # noqa: E402
from dlnsys.leaves import bordered_newton  # noqa: E402


def leaves(quick):
    net = dlnsys.Network((11, 6, 6, 6, 6, 4), [7, 5.5, 4, 2.5])
    out = [("0-balanced", None, np.zeros(net.n_conservation_laws))]
    for scale in (0.05, 0.5, 1.0):
        for seed in ((1,) if quick else (0, 1, 2)):
            x0 = init.gaussian(net, scale=scale, seed=seed)
            out.append((f"gaussian {scale:g} seed {seed}", x0, net.conserved(x0)))
    return net, out


def large():
    import warnings
    from dlnsys._leafscale import minimum_analysis, polish_minimum
    warnings.simplefilter("ignore")          # Assumption 2 (distinct partial sums) is not the point here
    print(f"{'network':<16}{'weights':>8}{'laws':>7}{'dim':>7}{'cert.':>6}{'polish s':>9}{'rank s':>8}"
          f"{'normal s':>9}{'total s':>8}{'dense s':>8}{'ratio':>7}{'RSS MiB':>8}  most negative normal eigenvalues")
    rows = []
    for w, L in ((16, 4), (24, 6), (32, 5), (64, 4), (64, 11)):
        net = dlnsys.Network([w] * (L + 1), np.linspace(2.0, 1.0, w))
        x = dlnsys.random_critical_point(net, tuple(range(1, w + 1)), 0).x
        C = dlnsys.leaf_of(net, x)
        y = x + 1e-6 * np.random.default_rng(1).standard_normal(net.n_params)
        t = time.perf_counter()
        pol = polish_minimum(net, C, y)
        tp = time.perf_counter() - t
        an = minimum_analysis(net, pol.x, k=6)
        dense = None
        if net.n_params <= 2000:
            t = time.perf_counter()
            dlnsys.manifold_at(net, C, pol.x)
            dense = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tot = tp + an.seconds["total"]
        ratio = f"{tot / dense:>7.2f}" if dense else f"{'-':>7}"
        print(f"{f'{L} x {w}':<16}{net.n_params:>8}{net.n_conservation_laws:>7}{str(an.dimension):>7}"
              f"{'yes' if an.certified else 'no':>6}{tp:>9.2f}{an.seconds['rank certificate']:>8.2f}"
              f"{an.seconds['normal eigenvalues']:>9.2f}{tot:>8.2f}{(f'{dense:.2f}' if dense else '-'):>8}{ratio}"
              f"{rss:>8.0f}  {np.round(np.sort(an.normal_eigenvalues)[:3], 3).tolist()}")
        rows.append(dict(network=f"{L} x {w}", weights=net.n_params, laws=net.n_conservation_laws,
                         dimension=an.dimension, certified=an.certified, polish_seconds=tp, seconds=an.seconds,
                         dense_seconds=dense, peak_rss_mib=rss, polish_status=pol.status))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-time", type=float, default=20.0)
    ap.add_argument("--quick", action="store_true", help="one seed per scale")
    ap.add_argument("--json", default=None)
    ap.add_argument("--large", action="store_true", help="the matrix-free analysis of minima, up to 11 x 64")
    args = ap.parse_args()
    if args.large:
        rows = large()
        if args.json:
            with open(args.json + ".tmp", "w") as fh:
                json.dump(rows, fh, indent=2)
            os.replace(args.json + ".tmp", args.json)
        return
    net, cases = leaves(args.quick)
    sn = float(np.linalg.norm(net.Sigma))
    rows = []
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; max_time {args.max_time:g} s")
    head = (f"{'leaf':<22}{'found':>6}{'absent':>7}{'n.f.':>5}{'min dim':>8}{'NH':>4}{'max |f|/|S|':>13}"
            f"{'max leaf err':>13}{'search s':>9}{'time s':>8}{'newton s':>9}{'ratio':>7}")
    print(head)
    for k, (name, x0, C) in enumerate(cases):
        t = time.perf_counter()
        res = dlnsys.equilibrium_manifolds(net, C, x0=x0, max_time=args.max_time)
        dt = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024      # Linux: KiB
        t = time.perf_counter()
        try:
            bordered_newton(net, C, x0 if x0 is not None else init.gaussian(net, scale=0.1, seed=0))
        except ValueError:
            pass
        tb = time.perf_counter() - t
        counts = {s: sum(1 for e in res if e.status == s) for s in ("found", "absent", "not found")}
        mins = res[(1, 2, 3, 4)].components
        fmax = max((np.linalg.norm(net.vector_field(c.point)) / sn for c in res.components), default=float("nan"))
        lmax = max((c.leaf_error / (1 + math.sqrt(sum(float(np.sum(m * m)) for m in res.leaf)))
                    for c in res.components), default=float("nan"))
        mdim = ",".join(str(d) for d in sorted({c.dimension for c in mins})) or "-"
        nh = "yes" if mins and all(c.normally_hyperbolic for c in mins) else "no"
        print(f"{name:<22}{counts['found']:>6}{counts['absent']:>7}{counts['not found']:>5}{mdim:>8}{nh:>4}"
              f"{fmax:>13.2e}{lmax:>13.2e}{res.search_seconds:>9.2f}{dt:>8.2f}{tb:>9.3f}{res.search_seconds / tb:>7.0f}")
        rows.append(dict(leaf=name, **counts, minima_dimension=mdim, minima_normally_hyperbolic=nh == "yes",
                         max_relative_residual=fmax, max_relative_leaf_error=lmax, seconds=dt,
                         newton_seconds=tb, peak_bytes=peak, search_seconds=res.search_seconds,
                         table=res.summary()))
    print(f"peak resident memory of the process: {peak / 2**20:.0f} MiB")
    if args.json:
        with open(args.json + ".tmp", "w") as fh:
            json.dump(rows, fh, indent=2)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
