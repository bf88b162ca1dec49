"""Plotly's gl3d partial bundle: the 3-D pages need 1.7 MB of plotly.js instead of 4.8 MB.

plotly.py ships only the full plotly.js (every trace type: maps, tables, sankey, ...); the gallery's
Plotly blocks draw ``scatter3d``, ``mesh3d`` and ``surface`` traces, all in Plotly's official partial
bundle ``plotly.js-gl3d-dist-min`` (published on npm with every plotly.js release). :func:`fetch_gl3d_bundle`
downloads the bundle of exactly the plotly.js version that the installed plotly.py carries from the npm
registry (no npm needed: one HTTPS request for the version's metadata, one for the tarball, verified
against the registry's sha512 integrity and the version banner) into ``~/.cache/dlnsys/js/``;
``dlnsys gallery assets`` runs it and ``make gallery``/``make test`` call that. The builder then writes
the partial bundle to ``_static/`` in place of the full one, for pages whose traces it all covers
(:func:`uses_only_gl3d_traces`); without the cached file, or for a page with another trace type, the
full bundle is used and the site is 3 MB larger, nothing else changes.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import pathlib
import re
import tarfile
import urllib.error
import urllib.request

__all__ = ["GL3D_TRACES", "plotly_js_version", "cached_gl3d_bundle", "fetch_gl3d_bundle", "BundleFetch",
           "uses_only_gl3d_traces", "plotly_trace_types", "default_js_cache_dir"]

PACKAGE = "plotly.js-gl3d-dist-min"
REGISTRY = "https://registry.npmjs.org"
#: Trace types in the gl3d bundle (plotly.js lib/index-gl3d.js).
GL3D_TRACES = frozenset({"scatter", "scatter3d", "surface", "mesh3d", "isosurface", "volume", "cone", "streamtube"})
_BANNER = re.compile(rb"plotly\.js(?: \(gl3d - minified\))? v(\d+\.\d+\.\d+)")
_JSON_DOC = re.compile(r'<script type="application/json" id="[^"]+">(.*?)</script>', re.DOTALL)


@dataclasses.dataclass
class BundleFetch:
    """Result of :func:`fetch_gl3d_bundle`: ``status`` is ``"cached"``, ``"fetched"`` or ``"failed"``."""

    status: str
    version: str
    path: str | None = None
    bytes: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("cached", "fetched")


def default_js_cache_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base, "dlnsys", "js")


def plotly_js_version() -> str:
    """The plotly.js version bundled with the installed plotly.py (``"4.1.1"``)."""
    import plotly

    path = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    with open(path, "rb") as f:
        m = _BANNER.search(f.read(4096))
    if not m:
        raise RuntimeError(f"cannot read the plotly.js version from {path}")
    return m.group(1).decode()


def _bundle_path(cache_dir, version) -> pathlib.Path:
    return pathlib.Path(cache_dir or default_js_cache_dir()) / f"plotly-gl3d-{version}.min.js"


def _valid(path: pathlib.Path, version: str) -> bool:
    try:
        with open(path, "rb") as f:
            m = _BANNER.search(f.read(4096))
    except OSError:
        return False
    return bool(m) and m.group(1).decode() == version


def cached_gl3d_bundle(cache_dir=None) -> pathlib.Path | None:
    """The cached gl3d bundle for the installed plotly.js version, or ``None``."""
    version = plotly_js_version()
    path = _bundle_path(cache_dir, version)
    return path if path.is_file() and _valid(path, version) else None


def _get(url, timeout):
    req = urllib.request.Request(url, headers={"Accept": "application/json, application/octet-stream",
                                               "User-Agent": "dlnsys-gallery"})
    with urllib.request.urlopen(req, timeout=timeout) as r:      # noqa: S310 - fixed https registry URL
        return r.read()


def fetch_gl3d_bundle(cache_dir=None, timeout=60.0) -> BundleFetch:
    """Download ``plotly.js-gl3d-dist-min`` of the installed plotly.js version into the cache (see the
    module docstring); a no-op when it is there. Never raises for network or registry problems: the
    result says ``status="failed"`` and why."""
    from .._io import write_bytes_atomic

    version = plotly_js_version()
    path = _bundle_path(cache_dir, version)
    if path.is_file() and _valid(path, version):
        return BundleFetch("cached", version, str(path), path.stat().st_size, f"{path} is up to date")
    try:
        meta = json.loads(_get(f"{REGISTRY}/{PACKAGE}/{version}", timeout))
        dist = meta["dist"]
        tarball, integrity = dist["tarball"], dist["integrity"]
        if not tarball.startswith(REGISTRY + "/") or not integrity.startswith("sha512-"):
            return BundleFetch("failed", version, message=f"unexpected registry metadata for {PACKAGE}@{version}")
        blob = _get(tarball, timeout)
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
        return BundleFetch("failed", version, message=f"cannot download {PACKAGE}@{version} from {REGISTRY}: {exc}")
    if base64.b64encode(hashlib.sha512(blob).digest()).decode() != integrity[len("sha512-"):]:
        return BundleFetch("failed", version, message=f"{PACKAGE}@{version}: the tarball does not match its sha512 integrity")
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            member = tar.getmember("package/plotly-gl3d.min.js")
            js = tar.extractfile(member).read()
    except (tarfile.TarError, KeyError, AttributeError) as exc:
        return BundleFetch("failed", version, message=f"{PACKAGE}@{version}: unreadable tarball ({exc})")
    m = _BANNER.search(js[:4096])
    if not m or m.group(1).decode() != version:
        return BundleFetch("failed", version, message=f"{PACKAGE}@{version}: the file is not plotly.js v{version}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, js)
    return BundleFetch("fetched", version, str(path), len(js), f"{PACKAGE}@{version} -> {path}")


def _map_value(node, key, default=None):
    """``node[key]`` of a Bokeh-serialized map (``{"type": "map", "entries": [[k, v], ...]}``) or a dict."""
    if isinstance(node, dict) and node.get("type") == "map" and isinstance(node.get("entries"), list):
        for entry in node["entries"]:
            if isinstance(entry, list) and len(entry) == 2 and entry[0] == key:
                return entry[1]
        return default
    return node.get(key, default) if isinstance(node, dict) else default


def plotly_trace_types(page: str) -> set:
    """The ``type`` of every Plotly trace in the serialized documents of a saved page (the traces of each
    ``PlotlyPlot`` and those set by embedded slider states); not the layout's template, which names
    every trace type there is."""
    found = set()

    def traces(lst):
        for tr in lst if isinstance(lst, list) else []:
            t = _map_value(tr, "type", "scatter")
            found.add(t if isinstance(t, str) else "?")

    def walk(node):
        if isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, dict):
            if node.get("name") == "panel.models.plotly.PlotlyPlot":
                traces(_map_value(node.get("attributes", {}), "data", []))
            if node.get("kind") == "ModelChanged" and node.get("attr") == "data":
                traces(node.get("new"))
            for v in node.values():
                walk(v)
        elif isinstance(node, str) and node.startswith('{"events":'):
            try:
                walk(json.loads(node))
            except ValueError:
                found.add("?")

    for doc in _JSON_DOC.findall(page):
        text = doc.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        try:
            walk(json.loads(text))
        except ValueError:
            found.add("?")                        # unreadable: the caller keeps the full bundle
    return found


def uses_only_gl3d_traces(page: str) -> bool:
    """Whether every Plotly trace of the saved ``page`` has a type of the gl3d bundle."""
    return plotly_trace_types(page) <= GL3D_TRACES
