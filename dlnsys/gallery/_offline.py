"""Make saved HoloViews/Panel pages self-contained: no request may leave the page's own origin.

``hv.save(..., resources='inline')`` (panel 1.9, bokeh 3.9) inlines the JavaScript and the Bokeh
CSS, but Panel still refers to its own stylesheets on ``https://cdn.holoviz.org/panel/<version>/dist/``:
the theme and layout CSS are ``ImportedStyleSheet`` models inside the serialized document (loaded by
the browser when the roots render), and Panel's page template links a favicon there. Setting
``pn.config.inline`` does not change that. Offline, each one is a failed request and a console error.

The fix here works on the final HTML text: every ``https://cdn.holoviz.org/panel/<v>/dist/<path>``
reference is replaced by a ``data:`` URI holding the file ``<path>`` from the *installed* panel
package (``panel/dist``; the same version, so the same bytes the CDN would serve). CSS files are
inlined recursively: their ``url(...)`` references (spinner SVGs, icons) become ``data:`` URIs too.
A reference to a file that the installed panel does not ship is an error (:class:`OfflineError`),
never silently left pointing at the network. :func:`external_references` lists what remains that a
browser could fetch (the gallery test asserts it is empty, and checks the browser's network log).

URLs that only appear inside the inlined JavaScript libraries (documentation links, lazily loaded
extras such as MathJax or web fonts that the gallery never triggers) are left alone: they are string
constants, not requests; the browser test proves that no page requests them.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import pathlib
import re

__all__ = ["OfflineError", "inline_cdn_references", "external_references", "data_uri", "panel_dist_dir",
           "externalize_libraries", "static_references", "STATIC_DIR"]

_CDN = re.compile(r"https?://cdn\.holoviz\.org/panel/[^/\"'\\\s]+/dist/([^\"'\\?#\s)]+)(?:[?#][^\"'\\\s)]*)?")
_CSS_URL = re.compile(r"url\(\s*([\"']?)([^\"')]+)\1\s*\)")
# what a browser would fetch by itself from the HTML (not string constants inside scripts)
_FETCHING = re.compile(r"<(?:link|script|img|iframe|source|embed)\b[^>]*?\b(?:href|src)\s*=\s*[\"']?(https?:|//)[^\"'\s>]*",
                       re.IGNORECASE)


_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>).*?(</script>)", re.IGNORECASE | re.DOTALL)


class OfflineError(RuntimeError):
    """A page refers to a CDN resource that the installed package does not provide."""


def panel_dist_dir() -> pathlib.Path:
    import panel

    return pathlib.Path(panel.__file__).resolve().parent / "dist"


@functools.lru_cache(maxsize=None)
def data_uri(path) -> str:
    """The file at ``path`` as a base64 ``data:`` URI (CSS with its own ``url()`` references inlined)."""
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if path.suffix.lower() == ".css":
        raw = _inline_css_urls(raw.decode("utf-8"), path.parent).encode("utf-8")
        mime = "text/css"
    else:
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")


def _inline_css_urls(css: str, base: pathlib.Path) -> str:
    def repl(m):
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        if ref.startswith(("http:", "https:", "//")):
            hit = _CDN.match(ref)
            if hit and (panel_dist_dir() / hit.group(1)).is_file():
                return f"url('{data_uri(panel_dist_dir() / hit.group(1))}')"
            raise OfflineError(f"a stylesheet in {base} refers to the network: {ref}")
        target = (base / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            raise OfflineError(f"a stylesheet in {base} refers to {ref!r}, which the installed panel lacks")
        return f"url('{data_uri(target)}')"

    return _CSS_URL.sub(repl, css)


def inline_cdn_references(html: str) -> tuple[str, int]:
    """Replace every Panel CDN reference in ``html`` by a ``data:`` URI; returns ``(html, count)``."""
    dist = panel_dist_dir()
    count = 0

    def repl(m):
        nonlocal count
        target = dist / m.group(1)
        if not target.is_file():
            raise OfflineError(f"the page refers to {m.group(0)}, which the installed panel ({dist}) lacks")
        count += 1
        return data_uri(target)

    return _CDN.sub(repl, html), count


def external_references(html: str) -> list[str]:
    """Network references a browser would load from the markup: CDN links left in the page
    (anywhere, including the serialized Bokeh document) and ``<link>/<script>/<img>`` tags whose
    ``href``/``src`` is an ``http(s)`` URL."""
    found = [m.group(0) for m in _CDN.finditer(html)]
    markup = _SCRIPT_BODY.sub(r"\1\2", html)      # string constants inside scripts are not requests
    found += [m.group(0) for m in _FETCHING.finditer(markup)]
    return found


# ------------------------------------------------------------------ one copy of each library
#: Folder (relative to the pages) that holds the shared library files.
STATIC_DIR = "_static"
# Inline bodies at least this large go to a shared file; the page's own small scripts stay inline.
_MIN_SHARED = 16_384
_INLINE_BLOCK = re.compile(r'<script type="text/javascript">(.*?)</script>|<style>(.*?)</style>', re.DOTALL)
_BANNER = re.compile(r"/\*\s*BEGIN\s+([\w.-]+?)(?:\.min)?\.js|plotly\.js v|es-module-shims|maplibregl")
# src="_static/x.js", href="_static/x.css", and "url":"_static/x.css" of the serialized document
_STATIC_REF = re.compile(r'(?:src=|href=|\\?"url\\?":\\?)"' + STATIC_DIR + r'/([\w.-]+)\\?"')
# Panel's stylesheets, inlined as data: URIs by inline_cdn_references (up to 87 kB a page, repeated on
# every page); the small ones stay inline
_CSS_DATA_URI = re.compile(r"data:text/css;base64,([A-Za-z0-9+/]+={0,2})")
_MIN_SHARED_CSS = 2048


def _library_name(body: str) -> str:
    m = _BANNER.search(body[:2000])
    if not m:
        return "lib"
    if m.group(1):
        return m.group(1)
    return {"p": "plotly", "e": "es-module-shims", "m": "maplibre"}[m.group(0)[0]]


def externalize_libraries(html: str, static_dir, plotly_bundle=None) -> tuple[str, list[str]]:
    """Move the inlined library code of a saved page into shared files; returns ``(html, names)``.

    Panel saves every page with its own copy of Bokeh, Panel and Plotly (3-9 MB, nearly all of a
    page). Each inline ``<script type="text/javascript">`` or ``<style>`` body of at least
    16 KiB is written once to ``static_dir/<library>-<sha256 prefix>.js`` (``.css``) and referenced by
    the relative path ``_static/<name>``. The names are content addressed, so pages built by
    different processes (or from the cache) share the files, a file never changes once written, and
    concurrent writers write the same bytes (atomically). Relative references keep pages working
    from disk (``file://``) and from ``dlnsys gallery serve``; scripts stay synchronous and in order,
    so they execute exactly as when inlined. Small per-page scripts and the page's document stay inline.
    ``plotly_bundle``: the path of Plotly's gl3d partial bundle (:mod:`._plotly_bundle`), written in
    place of the full plotly.js when every trace type of the page is in it.
    Panel's stylesheets, which :func:`inline_cdn_references` made ``data:`` URIs inside the serialized
    document (``ImportedStyleSheet``), become shared ``_static/panel-<hash>.css`` files too: Bokeh loads
    them with ``<link>`` elements, which resolve relative to the page, from disk as from the server.
    """
    from .._io import write_bytes_atomic

    from ._plotly_bundle import uses_only_gl3d_traces

    static_dir = pathlib.Path(static_dir)
    names = []
    gl3d = None
    if plotly_bundle is not None and uses_only_gl3d_traces(html):
        gl3d = pathlib.Path(plotly_bundle).read_bytes()

    def shared_file(lib, data, ext):
        """Write ``data`` once as ``_static/<lib>-<sha256 prefix>.<ext>``; returns the file name."""
        name = f"{lib}-{hashlib.sha256(data).hexdigest()[:16]}.{ext}"
        target = static_dir / name
        if not target.is_file() or target.stat().st_size != len(data):
            static_dir.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(target, data)
        names.append(name)
        return name

    def repl(m):
        js = m.group(1) is not None
        body = m.group(1) if js else m.group(2)
        if len(body) < _MIN_SHARED:
            return m.group(0)
        data = body.encode("utf-8")
        lib = _library_name(body)
        if js and lib == "plotly" and gl3d is not None:
            data, lib = gl3d, "plotly-gl3d"
        name = shared_file(lib, data, "js" if js else "css")
        if js:
            return f'<script type="text/javascript" src="{STATIC_DIR}/{name}"></script>'
        return f'<link rel="stylesheet" href="{STATIC_DIR}/{name}">'

    def repl_css(m):
        if len(m.group(1)) < _MIN_SHARED_CSS:
            return m.group(0)
        return f"{STATIC_DIR}/{shared_file('panel', base64.b64decode(m.group(1)), 'css')}"

    html = _INLINE_BLOCK.sub(repl, html)
    return _CSS_DATA_URI.sub(repl_css, html), names


def static_references(html: str) -> set[str]:
    """Names of the shared files under ``_static/`` that a page refers to."""
    return set(_STATIC_REF.findall(html))
