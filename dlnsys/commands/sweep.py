"""``dlnsys sweep``: run a parameter study (a TOML file) on a Dask cluster, resumably."""
from __future__ import annotations

import sys
import textwrap

from . import add_json_arg, new_parser, positive_float, positive_int, print_json

NAME = "sweep"
HELP = "run a parameter study (TOML file) on a local or remote Dask cluster; one table row per run, resumable"


def add_parser(subparsers):
    p = new_parser(
        subparsers, NAME, HELP,
        description=textwrap.fill(
                    "Run every run of a study -- a grid or random design over dims, sigma, gamma, init family, "
                    "scale and seed, with the integration settings and the measures to record (final loss, "
                    "convergence time, itinerary, leaf constants, endpoint classification, Props. 26-28 rates, "
                    "escape times, exact-solution error) -- on a Dask LocalCluster started and stopped here (one "
                    "worker process per core) or on a running Dask cluster (--scheduler). Rows are saved under "
                    "FOLDER/parts/ as tasks finish; running the same command again computes only the runs without a "
                    "row. At the end FOLDER/table.parquet (with pyarrow) or FOLDER/table.csv holds one row per run; "
                    "read it in Python with 'from dlnsys.sweep import load_sweep; load_sweep(FOLDER)'. "
                    "Exit status 0 when the sweep ran (runs that raised have their error in the 'error' column), "
                    "2 for a bad study file, an unreachable scheduler or a folder holding a different study, "
                    "130 on Ctrl-C (the folder is resumable).", width=100),
        examples=[
            "dlnsys sweep --example > study.toml",
            "dlnsys sweep study.toml --out results/",
            "dlnsys sweep study.toml --out results/ --workers 4",
            "dlnsys sweep study.toml --out results/ --scheduler tcp://10.0.0.5:8786 --json",
        ])
    p.add_argument("study", nargs="?", metavar="STUDY.toml", help="the study file (see --example)")
    p.add_argument("--example", action="store_true", help="print a commented example study file and exit")
    p.add_argument("--out", metavar="FOLDER", default=None,
                   help="output folder (created if missing; re-running into it resumes)")
    p.add_argument("--force", action="store_true",
                   help="replace a different study saved in FOLDER (rows of runs both share are reused)")
    g = p.add_argument_group("where it runs")
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes of the local cluster (default: one per available core)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a running Dask scheduler, tcp://HOST:PORT (default: start a local cluster); "
                        "'serial' runs in this process without Dask")
    g.add_argument("--timeout", type=positive_float, default=10.0, metavar="S",
                   help="seconds to wait for the scheduler connection (default 10)")
    g.add_argument("--batch", type=positive_int, default=None, metavar="N",
                   help="runs per task (default: automatic, tasks of about a second)")
    g.add_argument("--max-runs", type=positive_int, default=None, metavar="N",
                   help="compute at most N runs now (the rest on a later call)")
    add_json_arg(p)
    return p


def run(args):
    from ..sweep import EXAMPLE_STUDY, SweepInterrupted, Study, sweep

    if args.example:
        if args.study is not None or args.out is not None:
            raise ValueError("--example: prints the example study and takes no study file or --out")
        sys.stdout.write(EXAMPLE_STUDY)
        return 0
    if args.study is None:
        raise ValueError("STUDY.toml: give a study file (write one with 'dlnsys sweep --example > study.toml')")
    if args.out is None:
        raise ValueError("--out: required (the folder for the rows and the table)")
    if args.workers is not None and args.scheduler is not None:
        raise ValueError("--workers: sets the size of the local cluster; not used with --scheduler")
    study = Study.from_toml(args.study if args.study.endswith(".toml") or "\n" in args.study
                            else _as_path(args.study))
    for w in _network_warnings(study):
        sys.stderr.write(f"dlnsys: warning: {w}\n")
    progress = None if not args.json else False        # None: a progress line only on a terminal
    try:
        res = sweep(study, args.out, scheduler=args.scheduler, workers=args.workers, batch=args.batch,
                    progress=progress, force=args.force, max_runs=args.max_runs, timeout=args.timeout)
    except SweepInterrupted as e:
        sys.stderr.write(f"dlnsys: {e.result.message}\n")
        return 130
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.summary())
    return 0


def _as_path(text):
    import pathlib
    return pathlib.Path(text)


def _network_warnings(study):
    """Assumption warnings of the study's networks (bottleneck, Assumption 2), once each, before the runs."""
    import warnings

    from ..network import Network

    out = []
    for d, s in study._values["pairs"]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Network(d, s)
        for w in caught:
            m = " ".join(str(w.message).split())
            if m not in out:
                out.append(m)
    return out
