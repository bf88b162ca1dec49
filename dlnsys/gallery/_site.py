"""The site builder: one offline HTML page per portrait, an index with thumbnails, and a local server.

Pipeline for a portrait (in a worker process):

1. ``compute()`` (dlnsys numerics) -> data; ``draw(data)`` -> blocks of HoloViews objects.
2. The blocks go into a ``panel.Column`` (bokeh blocks, plotly blocks for 3D), saved by Panel with
   inline resources and ``embed=True`` (every frame of a ``HoloMap`` is stored in the page behind
   static sliders: no server needed) into the page template of this module.
3. :func:`dlnsys.gallery._offline.inline_cdn_references` replaces Panel's CDN stylesheet references
   by ``data:`` URIs; a page that still references the network is an error.
4. :func:`dlnsys.gallery._offline.externalize_libraries` moves the inlined library code (Bokeh, Panel,
   Plotly: 3-9 MB a page) to content-addressed files under ``_static/``, shared by all pages and
   referenced by relative paths (pages still open from disk); the cache keeps the inline page.
5. A thumbnail (inline SVG) is drawn from the first block's data for the index.

Pages are cached by a key that covers the portrait's module, the gallery code, the dlnsys core and
the versions of the libraries (see :func:`cache_key`); a cache entry is written to a temporary file
and moved into place atomically, so concurrent builds never see half a file.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime
import hashlib
import html
import io
import json
import multiprocessing
import os
import pathlib
import platform
import shutil
import sys
import tempfile
import time
import traceback

__all__ = ["build", "BuildReport", "PageResult", "serve", "make_server", "default_cache_dir", "cache_key",
           "render_page_html", "DEFAULT_OUT"]

#: Where ``dlnsys gallery build`` writes by default (relative to the current directory).
DEFAULT_OUT = os.path.join("gallery", "_build")
_MARKER = "build.json"
_PKG = pathlib.Path(__file__).resolve().parent           # dlnsys/gallery
_CORE = _PKG.parent                                       # dlnsys


# ----------------------------------------------------------------------------------- results
@dataclasses.dataclass
class PageResult:
    slug: str
    ok: bool
    seconds: float                 # wall time spent on this page in this build (cache hits: ~0)
    compute_seconds: float = 0.0   # of the build that produced the page (cached pages keep theirs)
    render_seconds: float = 0.0
    cached: bool = False
    bytes: int = 0
    thumbnail: str = ""
    error: str = ""
    plots: int = 0


@dataclasses.dataclass
class BuildReport:
    out: str
    index: str
    pages: list
    seconds: float
    jobs: int
    cache_dir: str | None
    plotly_bundle: str = ""        # "gl3d" (the partial bundle), "full", or "" (no plotly page)
    site_bytes: int = 0            # everything under ``out``: pages, _static/, downloads/, index

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pages)

    @property
    def failed(self) -> list:
        return [p for p in self.pages if not p.ok]

    def to_dict(self) -> dict:
        return {"out": self.out, "index": self.index, "seconds": round(self.seconds, 3), "jobs": self.jobs,
                "cache_dir": self.cache_dir, "ok": self.ok, "plotly_bundle": self.plotly_bundle,
                "site_bytes": self.site_bytes,
                "pages": [{k: (round(v, 3) if isinstance(v, float) else v)
                           for k, v in dataclasses.asdict(p).items() if k != "thumbnail"} for p in self.pages]}


# ----------------------------------------------------------------------------------- caching
def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dlnsys", "gallery")


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("dlnsys", "numpy", "scipy", "networkx", "holoviews", "bokeh", "panel", "plotly"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:      # pragma: no cover
            out[name] = "?"
    return out


def _common_digest() -> str:
    """Digest of what every page depends on: the dlnsys core modules and native sources (not the CLI or
    the model emitters), the drawing layer, the gallery machinery, and library versions."""
    h = hashlib.sha256()
    files = sorted(_CORE.glob("*.py")) + sorted(_PKG.glob("*.py"))
    files += sorted(f for f in _CORE.glob("_native/**/*") if f.is_file() and f.suffix in (".py", ".c", ".h"))
    for f in files:
        if f.name in ("cli.py", "demo.py"):
            continue
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(json.dumps(_versions(), sort_keys=True).encode())
    return h.hexdigest()


def cache_key(portrait, common=None, context="") -> str:
    """Key of a page: the portrait's module source, the common digest and the page context (neighbours)."""
    h = hashlib.sha256()
    h.update((common or _common_digest()).encode())
    h.update(portrait.slug.encode())
    h.update(portrait.module_source().encode())
    h.update(context.encode())
    return h.hexdigest()[:32]


def _atomic_write(path, data: bytes):
    from .._io import write_bytes_atomic
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


# ----------------------------------------------------------------------------------- templates
SITE_CSS = """
:root { --fg: #1d232b; --muted: #5b6572; --accent: #2b5d9b; --bg: #ffffff; --card: #f6f7f9; --line: #dde1e6; }
html, body { margin: 0; padding: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
a { color: var(--accent); }
header.site { display: flex; gap: 1.2em; align-items: baseline; padding: .6em 1.5em; border-bottom: 1px solid var(--line);
  background: #fafbfc; font-size: 14px; }
header.site .home { font-weight: 600; text-decoration: none; }
header.site nav { margin-left: auto; display: flex; gap: 1em; }
main { padding: 0.5em 1.5em 2em; max-width: 1320px; }
h1 { font-size: 1.55em; margin: .5em 0 .2em; }
h2 { font-size: 1.2em; margin: 1.4em 0 .4em; }
p.lead { font-size: 1.05em; margin: .2em 0; }
p.paper { color: var(--muted); margin: .1em 0 .8em; }
.plot { margin: .5em 0 1em; }
section.caption { max-width: 1000px; }
section.caption p { margin: .5em 0; }
pre { background: var(--card); border: 1px solid var(--line); padding: .8em 1em; overflow-x: auto; font-size: 13px;
  line-height: 1.4; max-width: 1100px; }
details summary { cursor: pointer; color: var(--accent); margin: .6em 0; }
footer { color: var(--muted); font-size: 13px; margin-top: 2em; border-top: 1px solid var(--line); padding-top: .6em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; display: flex;
  flex-direction: column; text-decoration: none; color: inherit; }
.card:hover { border-color: var(--accent); box-shadow: 0 1px 6px rgba(0,0,0,.08); }
.card svg { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.card h3 { font-size: 1.0em; margin: .5em 0 .2em; color: var(--accent); }
.card p { margin: 0; font-size: 13.5px; }
.card .ref { color: var(--muted); font-size: 12.5px; margin-top: .3em; }
.card.failed { border-color: #d62728; }
.card.failed pre { font-size: 11px; white-space: pre-wrap; }
.intro { max-width: 1000px; }
code { font-size: 0.93em; }
.click-help { max-width: 1000px; color: var(--muted); }
.downloads ul { padding-left: 20px; max-width: 1000px; } .downloads li { margin: 4px 0; }
.downloads code { color: var(--muted); }
.click-help button { margin-left: 6px; font: inherit; padding: 1px 10px; cursor: pointer; }
"""

_FAVICON = "data:,"    # an empty icon: keeps browsers from asking the server for /favicon.ico

PAGE_TEMPLATE = """
{% block preamble %}
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dlnsys gallery">
<link rel="icon" href="{{ favicon }}">
<style>{{ site_css }}</style>
<script>{{ click_script }}</script>
{% endblock %}
{% block contents %}
<header class="site">
  <a class="home" href="index.html">dlnsys phase-portrait gallery</a>
  <span>{{ section_title }}</span>
  <nav>{{ nav }}</nav>
</header>
<main>
<h1>{{ page_title }}</h1>
<p class="lead">{{ description }}</p>
<p class="paper">{{ paper }}</p>
<p id="dlnsys-click-help" class="click-help" hidden>Click a phase plane below to draw the trajectory through
that point, forward and backward in time (integrated in your browser, adaptive Dormand–Prince 5(4); arrowheads
show the direction of time). The clicked points are kept in the address, so the view can be shared.
<button type="button" onclick="window.dlnsysTrace &amp;&amp; window.dlnsysTrace.clear()">clear trajectories</button></p>
<div class="plot">
{{ super() }}
</div>
<section class="caption">
{{ caption }}
</section>
{{ downloads }}
<section class="reproduce">
<h2>Reproduce</h2>
<p>The numbers were computed by this function of <code>{{ module }}</code> (dlnsys public API only);
<code>dlnsys gallery build --only {{ slug }}</code> rebuilds this page.</p>
<pre><code>{{ compute_source }}</code></pre>
<details><summary>Drawing code ({{ draw_name }}, with <code>dlnsys.viz</code> and HoloViews)</summary>
<pre><code>{{ draw_source }}</code></pre></details>
</section>
<footer>{{ footer }}</footer>
</main>
{% endblock %}
"""


def _nav(prev, nxt):
    parts = []
    if prev:
        parts.append(f'<a href="{html.escape(prev.filename)}">← {html.escape(prev.title)}</a>')
    parts.append('<a href="index.html">index</a>')
    if nxt:
        parts.append(f'<a href="{html.escape(nxt.filename)}">{html.escape(nxt.title)} →</a>')
    return " ".join(parts)


def render_page_html(portrait, blocks, *, prev=None, nxt=None, compute_seconds=0.0, max_states=1000, downloads=""):
    """The portrait page (a string): the blocks rendered by Panel into :data:`PAGE_TEMPLATE`, then made
    offline. Returns ``(html, n_plots)``."""
    import panel as pn
    from bokeh.resources import INLINE
    from panel.io.save import save as pn_save

    from .._clicktrace import RESTORE_JS
    from ._compact import compact_document
    from ._offline import OfflineError, external_references, inline_cdn_references
    from ._registry import SECTIONS

    items = []
    for b in blocks:
        pane = pn.pane.HoloViews(b.obj, backend=b.backend, widget_location="bottom", linked_axes=False)
        items.append(pane.layout)          # the plot with its widgets (sliders of a HoloMap), if any
        if b.caption:
            items.append(pn.pane.HTML(f'<div style="max-width:1000px;font:14px/1.45 system-ui,sans-serif;'
                                      f'color:#333;margin:0 0 14px 4px">{b.caption}</div>', width=1000))
    column = pn.Column(*items)
    v = _versions()
    footer = (f"Built {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC with dlnsys {v['dlnsys']}, "
              f"HoloViews {v['holoviews']}, Bokeh {v['bokeh']}, Panel {v['panel']}, Plotly {v['plotly']}; "
              f"numerics took {compute_seconds:.1f} s. Works offline: the libraries are files in _static/, nothing is fetched.")
    variables = dict(
        site_css=SITE_CSS, favicon=_FAVICON, nav=_nav(prev, nxt), page_title=html.escape(portrait.title),
        description=html.escape(portrait.description), paper=html.escape(portrait.paper),
        caption=portrait.caption, section_title=html.escape(SECTIONS[portrait.section][0]),
        module=html.escape(portrait.module), slug=html.escape(portrait.slug),
        compute_source=html.escape(portrait.source("compute")),
        draw_source=html.escape(portrait.source("draw")), draw_name=html.escape(portrait.draw.__name__),
        click_script=RESTORE_JS, downloads=downloads,
        footer=html.escape(footer))
    buf = io.StringIO()
    pn_save(column, buf, resources=INLINE, embed=True, max_states=max_states, progress=False,
            template=PAGE_TEMPLATE, template_variables=variables, title=f"{portrait.title} · dlnsys gallery")
    page, _ = inline_cdn_references(buf.getvalue())
    page = compact_document(page)          # small arrays as lists, float32 where exact to 1e-4 of the span
    left = external_references(page)
    if left:
        raise OfflineError(f"{portrait.slug}: the page still references the network: {left[:3]}")
    return page, len(blocks)


# ----------------------------------------------------------------------------------- workers
_WORKER_READY = False


def _worker_init(single_blas_thread=False):
    global _WORKER_READY
    if _WORKER_READY:
        return
    import warnings

    if single_blas_thread:
        # several workers on few cores: multi-threaded BLAS on small matrices only thrashes
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)

    import holoviews as hv
    import panel as pn  # noqa: F401
    from bokeh.core.validation import silence
    from bokeh.core.validation.warnings import FIXED_SIZING_MODE

    # HoloViews sizes plots by frame_width/frame_height, which bokeh's validator reports as a fixed
    # sizing mode without width and height: harmless, and one log line per plot
    silence(FIXED_SIZING_MODE, True)
    warnings.filterwarnings("ignore", category=UserWarning, module="holoviews")

    hv.extension("bokeh", "plotly", logo=False)
    hv.renderer("bokeh").theme = None
    _WORKER_READY = True


def _write_page(target, page: str) -> int:
    """Write a rendered page with its libraries moved to the shared ``_static/`` folder next to it
    (Plotly's gl3d partial bundle instead of the full plotly.js when it is cached); returns the size of
    the page's own file (bytes)."""
    from ._offline import STATIC_DIR, externalize_libraries
    from ._plotly_bundle import cached_gl3d_bundle

    target = pathlib.Path(target)
    page, _ = externalize_libraries(page, target.parent / STATIC_DIR, plotly_bundle=cached_gl3d_bundle())
    data = page.encode("utf-8")
    _atomic_write(target, data)
    return len(data)


def _prune_static(out):
    """Remove shared library files that no page of the build refers to (left by older builds)."""
    from ._offline import STATIC_DIR, static_references

    folder = pathlib.Path(out, STATIC_DIR)
    if not folder.is_dir():
        return
    used = set()
    for page in pathlib.Path(out).glob("*.html"):
        used |= static_references(page.read_text(encoding="utf-8"))
    for f in folder.iterdir():
        if f.is_file() and f.name not in used:
            f.unlink()


def _build_page(slug, out_dir, cache_dir, common, context, prev_slug, next_slug, parallel=False):
    """Build one page in a worker; returns a :class:`PageResult` (never raises)."""
    from ._compact import simplify_curves
    from ._downloads import DOWNLOADS_DIR, MODELS_DIR, downloads_html, shared_model_folders, write_downloads
    from ._registry import portraits
    from ._thumb import svg_thumbnail

    t0 = time.perf_counter()
    try:
        _worker_init(single_blas_thread=parallel)
        allp = {p.slug: p for p in portraits()}
        p = allp[slug]
        key = cache_key(p, common, context)
        entry = pathlib.Path(cache_dir, key) if cache_dir else None
        target = pathlib.Path(out_dir, p.filename)
        if entry is not None and (entry / "meta.json").is_file():
            try:
                from .._io import read_json, read_text
                meta = read_json(entry / "meta.json", "cache")
                page_text = read_text(entry / "page.html", "cache")
                thumb_text = read_text(entry / "thumb.svg", "cache")
                cached = dict(compute_seconds=float(meta["compute_seconds"]),
                              render_seconds=float(meta["render_seconds"]), plots=int(meta["plots"]))
            except (ValueError, KeyError, TypeError):
                cached = None        # a damaged cache entry (e.g. edited by hand): compute the page again
            if cached is not None:
                if (entry / "downloads").is_dir():     # the page's folder and the shared model folders it uses
                    shutil.copytree(entry / "downloads", pathlib.Path(out_dir, DOWNLOADS_DIR), dirs_exist_ok=True)
                _write_page(target, page_text)
                return PageResult(slug=slug, ok=True, seconds=time.perf_counter() - t0, cached=True,
                                  bytes=target.stat().st_size, thumbnail=thumb_text, **cached)
        t1 = time.perf_counter()
        data = p.compute()
        blocks = p.draw(data)
        if any(b.backend == "plotly" for b in blocks) and not p.plotly:
            raise ValueError(f"portrait {slug}: a block uses the plotly backend; declare Portrait(..., plotly=True)")
        # curves keep the points a screen can show (1/1000 of the drawn range): pages and downloads shrink
        # several-fold, the figures do not change (dlnsys/gallery/_compact.py)
        blocks = [dataclasses.replace(b, obj=simplify_curves(b.obj)) for b in blocks]
        t2 = time.perf_counter()
        items = write_downloads(out_dir, slug, blocks, p.models() if p.models else [],
                                files=p.files() if p.files else None)
        page, nplots = render_page_html(p, blocks, prev=allp.get(prev_slug), nxt=allp.get(next_slug),
                                        compute_seconds=t2 - t1, downloads=downloads_html(items))
        thumb = svg_thumbnail(blocks[p.thumbnail_block].obj, uid=slug, panel=p.thumbnail_panel)
        t3 = time.perf_counter()
        own = _write_page(target, page)
        res = PageResult(slug=slug, ok=True, seconds=time.perf_counter() - t0, compute_seconds=t2 - t1,
                         render_seconds=t3 - t2, bytes=own, thumbnail=thumb, plots=nplots)
        if entry is not None:
            tmp = pathlib.Path(tempfile.mkdtemp(dir=cache_dir, prefix=".tmp-"))
            (tmp / "page.html").write_text(page, encoding="utf-8")
            (tmp / "thumb.svg").write_text(thumb, encoding="utf-8")
            shutil.copytree(pathlib.Path(out_dir, DOWNLOADS_DIR, slug), tmp / "downloads" / slug)
            for name in shared_model_folders(items):
                shutil.copytree(pathlib.Path(out_dir, DOWNLOADS_DIR, MODELS_DIR, name),
                                tmp / "downloads" / MODELS_DIR / name)
            (tmp / "meta.json").write_text(json.dumps({"slug": slug, "compute_seconds": res.compute_seconds,
                                                       "render_seconds": res.render_seconds, "plots": nplots}))
            try:
                os.replace(tmp, entry)          # atomic; another worker may have won the race
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        return res
    except Exception:
        return PageResult(slug=slug, ok=False, seconds=time.perf_counter() - t0,
                          error=traceback.format_exc(limit=12))


# ----------------------------------------------------------------------------------- index
def _index_html(ports, results, report_seconds, jobs):
    from ._registry import SECTIONS

    v = _versions()
    by = {r.slug: r for r in results}
    parts = []
    for key, (heading, intro) in SECTIONS.items():
        items = [p for p in ports if p.section == key]
        if not items:
            continue
        parts.append(f'<section id="{key}"><h2>{html.escape(heading)}</h2><p class="intro">{html.escape(intro)}</p>'
                     '<div class="grid">')
        for p in items:
            r = by.get(p.slug)
            if r is not None and r.ok:
                parts.append(
                    f'<a class="card" href="{html.escape(p.filename)}" id="card-{html.escape(p.slug)}">{r.thumbnail}'
                    f'<h3>{html.escape(p.title)}</h3><p>{html.escape(p.description)}</p>'
                    f'<p class="ref">{html.escape(p.paper)}</p></a>')
            else:
                err = html.escape((r.error if r else "not built").strip().splitlines()[-1])
                parts.append(f'<div class="card failed" id="card-{html.escape(p.slug)}"><h3>{html.escape(p.title)}</h3>'
                             f'<p>{html.escape(p.description)}</p><p class="ref">build failed:</p><pre>{err}</pre></div>')
        parts.append("</div></section>")
    n_ok = sum(1 for r in results if r.ok)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dlnsys phase-portrait gallery</title>
<link rel="icon" href="{_FAVICON}">
<style>{SITE_CSS}</style></head>
<body>
<header class="site"><a class="home" href="index.html">dlnsys phase-portrait gallery</a>
<nav><a href="#paper">the paper's figures</a><a href="#beyond">beyond the paper</a></nav></header>
<main>
<h1>Phase portraits of deep linear networks</h1>
<p class="intro">Gradient-flow dynamics of deep linear neural networks, computed with
<code>dlnsys</code> and drawn with HoloViews. Each page names the equation or
figure of the paper it reproduces and shows the dlnsys calls that produced it. Every page works
offline (open the files directly or run <code>dlnsys gallery serve</code>); the sliders are embedded in the pages, no server is needed.</p>
{''.join(parts)}
<footer>{n_ok} of {len(ports)} portraits built in {report_seconds:.1f} s ({jobs} worker(s)) with dlnsys {v['dlnsys']},
HoloViews {v['holoviews']}, Bokeh {v['bokeh']}, Panel {v['panel']}, Plotly {v['plotly']}, Python {v['python']}.</footer>
</main></body></html>
"""


# ----------------------------------------------------------------------------------- build
def _prepare_out(out):
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / _MARKER).is_file():
        raise ValueError(f"--out: {str(out)!r} is a non-empty folder that is not a gallery build "
                         f"(no {_MARKER}); choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    for f in out.glob("*.html"):          # pages of a previous build (portraits may have been renamed)
        f.unlink()
    shutil.rmtree(out / "downloads", ignore_errors=True)      # written again with the pages
    return out


def build(out=DEFAULT_OUT, *, jobs=None, cache=True, cache_dir=None, only=None, log=None) -> BuildReport:
    """Build the gallery into ``out``; returns a :class:`BuildReport`.

    Parameters
    ----------
    out : path
        Output folder (created; a previous build there is replaced; any other non-empty folder is refused).
    jobs : int, optional
        Worker processes (default: the number of CPUs, at most the number of pages).
    cache : bool
        Reuse pages whose inputs did not change (see :func:`cache_key`).
    cache_dir : path, optional
        Default :func:`default_cache_dir` (``$XDG_CACHE_HOME/dlnsys/gallery``).
    only : iterable of str, optional
        Build only these portraits (the index then lists only them).
    log : callable, optional
        Receives one progress line per page (default: print to stderr).
    """
    from ._registry import portraits

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    _require_plotting()
    ports = portraits(only)
    out = _prepare_out(out)
    if cache:
        cache_dir = os.fspath(cache_dir or default_cache_dir())
        os.makedirs(cache_dir, exist_ok=True)
    else:
        cache_dir = None
    jobs = max(1, min(int(jobs or os.cpu_count() or 1), len(ports)))
    common = _common_digest()
    # Pages with plotly blocks go last: once a process has rendered a plotly figure, Panel bundles plotly.js
    # (4.6 MB) into every page it saves afterwards. The pool hands out tasks in submission order, so no
    # worker renders a bokeh-only page after a plotly one. Within each group, expensive pages first.
    order = sorted(range(len(ports)), key=lambda i: (ports[i].plotly, -ports[i].cost))
    plotly_bundle = ""
    if any(p.plotly for p in ports):
        from ._plotly_bundle import cached_gl3d_bundle

        plotly_bundle = "gl3d" if cached_gl3d_bundle() is not None else "full"
        if plotly_bundle == "full":
            log("note: Plotly's gl3d bundle is not cached (run 'dlnsys gallery assets' once): the 3-D pages "
                "use the full plotly.js, 3 MB more")
    tasks = []
    for i in order:
        p = ports[i]
        prev = ports[i - 1] if i > 0 else None
        nxt = ports[i + 1] if i + 1 < len(ports) else None
        context = json.dumps([prev and (prev.slug, prev.title), nxt and (nxt.slug, nxt.title)])
        tasks.append((p.slug, os.fspath(out), cache_dir, common, context, prev and prev.slug, nxt and nxt.slug,
                      jobs > 1))
    results = {}
    log(f"dlnsys gallery: building {len(ports)} portrait(s) into {out} with {jobs} worker(s)"
        + (f", cache {cache_dir}" if cache_dir else ", no cache"))
    if jobs == 1:
        for t in tasks:
            r = _build_page(*t)
            results[r.slug] = r
            _log_page(log, r)
    else:
        # fork: the workers inherit the imported libraries (holoviews, bokeh, panel take seconds to import)
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        if ctx.get_start_method() == "fork":
            _preload()
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futs = {pool.submit(_build_page, *t): t[0] for t in tasks}
            for f in cf.as_completed(futs):
                try:
                    r = f.result()
                except Exception as e:        # a worker died (e.g. killed): report the page, keep the others
                    r = PageResult(slug=futs[f], ok=False, seconds=0.0, error=f"{type(e).__name__}: {e}")
                results[r.slug] = r
                _log_page(log, r)
    ordered = [results[p.slug] for p in ports]
    _prune_static(out)
    seconds = time.perf_counter() - t0
    index = out / "index.html"
    _atomic_write(index, _index_html(ports, ordered, seconds, jobs).encode("utf-8"))   # whole or not at all
    site_bytes = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and f.name != _MARKER)
    report = BuildReport(out=os.fspath(out), index=os.fspath(index), pages=ordered, seconds=seconds, jobs=jobs,
                         cache_dir=cache_dir, plotly_bundle=plotly_bundle, site_bytes=site_bytes)
    meta = report.to_dict()
    meta["versions"] = _versions()
    meta["portraits"] = [{"slug": p.slug, "title": p.title, "section": p.section, "file": p.filename,
                          "paper": p.paper} for p in ports]
    _atomic_write(out / _MARKER, json.dumps(meta, indent=2).encode("utf-8"))
    return report


def _require_plotting():
    import importlib.util

    missing = [m for m in ("holoviews", "bokeh", "panel", "plotly") if importlib.util.find_spec(m) is None]
    if missing:
        raise ValueError(f"the gallery needs {', '.join(missing)}: install the 'gallery' extra, "
                         "pip install 'dlnsys[gallery]'")


def _preload():
    """Import the heavy libraries in the parent before forking (not the extension: that stays per process)."""
    import holoviews  # noqa: F401
    import panel  # noqa: F401
    import plotly  # noqa: F401


def _log_page(log, r):
    if r.ok:
        how = "cached" if r.cached else f"numerics {r.compute_seconds:.1f} s, page {r.render_seconds:.1f} s"
        log(f"  {r.slug:<28} ok   {r.seconds:6.1f} s  ({how}, {r.bytes / 1e6:.1f} MB)")
    else:
        last = r.error.strip().splitlines()[-1] if r.error else "?"
        log(f"  {r.slug:<28} FAILED after {r.seconds:.1f} s: {last}")


# ----------------------------------------------------------------------------------- serve
def make_server(directory, host="127.0.0.1", port=8000):
    """A ``ThreadingHTTPServer`` serving ``directory`` (quietly) on ``host:port`` (port 0: any free port)."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):   # noqa: A002 - signature of the base class
            pass

    return http.server.ThreadingHTTPServer((host, int(port)), functools.partial(Handler, directory=os.fspath(directory)))


def serve(directory=DEFAULT_OUT, host="127.0.0.1", port=8000, announce=None):
    """Serve a built gallery until interrupted; ``announce(url)`` is called once it listens."""
    directory = pathlib.Path(directory)
    if not (directory / "index.html").is_file():
        raise ValueError(f"--dir: {str(directory)!r} holds no index.html; run 'dlnsys gallery build' first")
    try:
        srv = make_server(directory, host, port)
    except OSError as e:
        raise ValueError(f"--port: cannot listen on {host}:{port} ({e.strerror or e}); choose another port "
                         "(0 picks a free one)") from None
    url = f"http://{host}:{srv.server_address[1]}/"
    (announce or print)(url)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return url
