"""``dlnsys models regenerate [--check]``: the committed model catalog in ``models/``."""
from __future__ import annotations

import os
import sys

from . import new_parser

NAME = "models"
HELP = "regenerate (or check) the committed model catalog in models/"


def _default_dir():
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cand = os.path.join(here, "models")
    return cand if os.path.isdir(cand) else os.path.join(os.getcwd(), "models")


def add_parser(subparsers):
    p = new_parser(subparsers, NAME, HELP,
                   description="Write every model of the catalog (paper examples, Section 6.1, reductions, "
                               "continuation problems) for every available target, deterministically.",
                   examples=["dlnsys models regenerate", "dlnsys models regenerate --check"])
    p.add_argument("action", choices=("regenerate",), help="what to do")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if any committed file differs from a fresh regeneration")
    p.add_argument("--dir", default=None, metavar="DIR",
                   help="catalog folder (default: models/ of the source tree, else ./models)")
    return p


def run(args) -> int:
    from ..emit.catalog import check, regenerate
    root = args.dir or _default_dir()
    if args.check:
        if not os.path.isdir(root):
            raise ValueError(f"--dir: {root!r} is not a folder")
        changed, missing, stale, notes = check(root)
        for n in notes:
            sys.stdout.write(f"note: {n}\n")
        for kind, items in (("differs", changed), ("missing", missing), ("stale", stale)):
            for rel in items:
                sys.stdout.write(f"{kind}: {rel}\n")
        if changed or missing or stale:
            sys.stdout.write(f"catalog {root} is out of date: run 'dlnsys models regenerate'\n")
            return 1
        sys.stdout.write(f"catalog {root} is up to date\n")
        return 0
    os.makedirs(root, exist_ok=True)
    written, notes = regenerate(root)
    for n in notes:
        sys.stdout.write(f"note: {n}\n")
    sys.stdout.write(f"wrote {len(written)} files under {root}\n")
    return 0
