"""``dlnsys gallery``: build the offline phase-portrait gallery, serve it, or list its portraits."""
from __future__ import annotations

import os
import sys

from . import (int_in, new_parser, print_json)

NAME = "gallery"
HELP = "build the offline phase-portrait gallery (HTML) or serve it on localhost"


def _port(text):
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {text!r}")
    return v


def _slugs(text):
    import argparse

    parts = [s.strip() for s in text.split(",")]
    if not text.strip() or any(not s for s in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated portrait names, got {text!r}")
    return parts


def add_parser(subparsers):
    from ..gallery import DEFAULT_OUT

    p = new_parser(
        subparsers, NAME, HELP,
        description="The phase-portrait gallery: every figure of the paper (Figs. 1-7) and more, computed with "
                    "dlnsys and drawn with HoloViews into static HTML pages that work offline (all scripts and "
                    "styles inlined, sliders embedded). 'build' writes the site, 'serve' serves it on "
                    "127.0.0.1, 'list' names the portraits.",
        examples=[
            "dlnsys gallery build                      # into ./gallery/_build",
            "dlnsys gallery build --out /tmp/site --jobs 2 --no-cache",
            "dlnsys gallery build --only fig5-single-hidden-node",
            "dlnsys gallery serve --dir gallery/_build --port 8000",
            "dlnsys gallery assets                     # once: Plotly's gl3d bundle for smaller 3-D pages",
            "dlnsys gallery list",
        ])
    sub = p.add_subparsers(dest="action", metavar="<action>", title="actions")
    b = sub.add_parser("build", help="build the site (index.html + one page per portrait)",
                       description="Compute and draw every portrait into static offline HTML pages.")
    b.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                   help=f"output folder (default {DEFAULT_OUT}); a previous build there is replaced, any other "
                        "non-empty folder is refused")
    b.add_argument("--jobs", type=int_in(1, 256), default=None, metavar="N",
                   help="worker processes (default: number of CPUs)")
    b.add_argument("--no-cache", action="store_true",
                   help="recompute every page (default: reuse pages whose code and inputs did not change)")
    b.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="page cache folder (default $XDG_CACHE_HOME/dlnsys/gallery or ~/.cache/dlnsys/gallery)")
    b.add_argument("--only", type=_slugs, default=None, metavar="NAME[,NAME...]",
                   help="build only these portraits (see 'dlnsys gallery list')")
    b.add_argument("--json", action="store_true", help="print the build report as JSON on stdout")
    s = sub.add_parser("serve", help="serve a built gallery on http://127.0.0.1:PORT/",
                       description="Serve the gallery folder over HTTP on localhost until interrupted (Ctrl-C).")
    s.add_argument("--dir", metavar="DIR", default=DEFAULT_OUT, help=f"the built site (default {DEFAULT_OUT})")
    s.add_argument("--port", type=_port, default=8000, metavar="P", help="port (default 8000; 0 picks a free one)")
    s.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="address to listen on (default 127.0.0.1, this machine only)")
    a = sub.add_parser("assets", help="download Plotly's gl3d partial bundle (1.7 MB instead of 4.8 MB) into the cache",
                       description="Download plotly.js-gl3d-dist-min of the installed plotly.js version from the npm "
                                   "registry (sha512-verified) into ~/.cache/dlnsys/js; 'build' then ships it instead "
                                   "of the full plotly.js. Without it the site works the same and is 3 MB larger.")
    a.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="folder for the file (default $XDG_CACHE_HOME/dlnsys/js or ~/.cache/dlnsys/js)")
    a.add_argument("--json", action="store_true", help="print the result as JSON")
    lst = sub.add_parser("list", help="list the portraits (name, section, title)")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(_gallery_parser=p)
    return p


def run(args):
    from .. import gallery
    # not gallery.portraits: importing the subpackage dlnsys.gallery.portraits (the registry does)
    # rebinds that package attribute to the module, and a second call in one process fails
    from ..gallery._registry import portraits

    if args.action is None:
        args._gallery_parser.print_help(sys.stderr)
        return 2
    if args.action == "list":
        rows = [{"name": p.slug, "section": p.section, "title": p.title, "paper": p.paper,
                 "description": p.description} for p in portraits()]
        if args.json:
            print_json(rows)
        else:
            w = max(len(r["name"]) for r in rows)
            for r in rows:
                print(f"{r['name']:<{w}}  {r['section']:<6}  {r['title']}")
        return 0
    if args.action == "assets":
        from ..gallery._plotly_bundle import fetch_gl3d_bundle

        res = fetch_gl3d_bundle(args.cache_dir)
        if args.json:
            print_json({"status": res.status, "version": res.version, "path": res.path, "bytes": res.bytes,
                        "message": res.message})
        elif res.ok:
            print(f"dlnsys gallery assets: {res.status}: {res.message}")
        if not res.ok:
            print(f"dlnsys: error: {res.message}", file=sys.stderr)
            return 1
        return 0
    if args.action == "serve":
        def announce(url):
            print(f"Serving {os.path.abspath(args.dir)} at {url} (Ctrl-C to stop)", flush=True)
        gallery.serve(args.dir, host=args.host, port=args.port, announce=announce)
        return 0
    # build
    report = gallery.build(args.out, jobs=args.jobs, cache=not args.no_cache, cache_dir=args.cache_dir,
                           only=args.only)
    if args.json:
        print_json(report.to_dict())
    index = os.path.abspath(report.index)
    n_ok = len(report.pages) - len(report.failed)
    print(f"dlnsys gallery: {n_ok} of {len(report.pages)} portraits built in {report.seconds:.1f} s; "
          f"site {report.site_bytes / 1e6:.1f} MB", file=sys.stderr)
    if not args.json:
        print(f"index: {index}")
        print(f"open it directly (file://{index}) or serve it: dlnsys gallery serve --dir {args.out}")
    if report.failed:
        for r in report.failed:
            print(f"dlnsys: error: portrait {r.slug} failed: {r.error.strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    return 0
