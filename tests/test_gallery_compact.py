"""Smaller gallery pages: curve simplification, document compaction, thumbnails, Plotly's gl3d bundle.

Oracles: the geometric guarantee of Ramer-Douglas-Peucker (every dropped point within the tolerance
of the kept polyline), exact decoding of the compacted arrays (float32 within its rounding), a PNG
decoded by hand, and the sha512 integrity of a tarball built here (no network needed).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import struct
import tarfile
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

hv = pytest.importorskip("holoviews", reason="the gallery needs holoviews (pip install 'dlnsys[gallery]')")

from dlnsys.gallery import _compact, _plotly_bundle, _thumb  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _backends():
    hv.extension("bokeh", "plotly", logo=False)


def _distance_to_polyline(P, Q):
    """Distance of each point of ``P`` to the polyline through ``Q`` (both ``(N, d)``)."""
    best = np.full(len(P), np.inf)
    for a, b in zip(Q[:-1], Q[1:]):
        seg = b - a
        L2 = seg @ seg
        s = np.clip(((P - a) @ seg) / L2, 0, 1) if L2 > 0 else np.zeros(len(P))
        best = np.minimum(best, np.linalg.norm(P - a - s[:, None] * seg, axis=1))
    return best


# ----------------------------------------------------------------------------------- rdp_mask
def test_rdp_straight_line_keeps_its_ends():
    P = np.column_stack([np.linspace(0, 1, 1001), np.linspace(2, -1, 1001)])
    keep = _compact.rdp_mask(P, 1e-9)
    assert keep.tolist() == [True] + [False] * 999 + [True]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 400), st.integers(0, 2**31 - 1), st.sampled_from([1e-3, 1e-2, 0.1]), st.sampled_from([2, 3]))
def test_rdp_every_dropped_point_is_within_tolerance(n, seed, tol, d):
    P = np.cumsum(np.random.default_rng(seed).normal(size=(n, d)) * 0.05, axis=0)
    keep = _compact.rdp_mask(P, tol)
    assert keep[0] and keep[-1]
    assert np.all(_distance_to_polyline(P, P[keep]) <= tol * (1 + 1e-9))


def test_rdp_keeps_a_curve_that_turns_back():
    # out and back along the same line: the chord from start to end is a point, the turn must stay
    P = np.column_stack([np.concatenate([np.linspace(0, 1, 50), np.linspace(1, 0, 50)]), np.zeros(100)])
    keep = _compact.rdp_mask(P, 1e-3)
    assert np.max(P[keep, 0]) == pytest.approx(1.0)


# ----------------------------------------------------------------------------------- simplify_curves
def test_simplified_curve_stays_within_the_tolerance_of_the_range():
    t = np.linspace(0, 10, 5001)
    y = np.sin(t) * np.exp(-0.1 * t)
    out = _compact.simplify_curves(hv.Curve((t, y), "t", "y"), tolerance=1e-3)
    xs, ys = out.dimension_values(0), out.dimension_values(1)
    assert 20 < len(xs) < 600
    scale = np.array([np.ptp(t), np.ptp(y)])
    err = _distance_to_polyline(np.column_stack([t, y]) / scale, np.column_stack([xs, ys]) / scale)
    assert err.max() <= 1e-3 * (1 + 1e-9)
    assert (xs[0], xs[-1]) == (t[0], t[-1])


def test_nan_breaks_between_joined_curves_are_kept():
    t = np.linspace(0, 1, 300)
    pieces = [np.column_stack([t, k + t ** 2]) for k in range(3)]
    joined = np.vstack([pieces[0], [[np.nan, np.nan]], [[np.nan, np.nan]], pieces[1], [[np.nan, np.nan]], pieces[2]])
    out = _compact.simplify_curves(hv.Curve(joined, "x", "y"))
    y = out.dimension_values(1)
    runs = np.flatnonzero(np.diff(np.isnan(y).astype(int)) == 1)
    assert len(runs) == 2 and np.isnan(y).sum() == 2          # one NaN row per break, both breaks
    assert len(y) < 150


def test_log_scale_detail_survives():
    # a loss curve over 12 decades: linear-scale RDP would flatten everything below 1e-3 of the top
    t = np.linspace(0, 100, 4001)
    L = np.exp(-0.3 * t) + 1e-12 * (1 + np.sin(t) ** 2)
    out = _compact.simplify_curves(hv.Curve((t, L), "t", "L"), tolerance=1e-3)
    xs, ys = out.dimension_values(0), np.log10(out.dimension_values(1))
    scale = np.array([np.ptp(t), np.ptp(np.log10(L))])
    err = _distance_to_polyline(np.column_stack([t, np.log10(L)]) / scale, np.column_stack([xs, ys]) / scale)
    assert err.max() <= 1e-3 * (1 + 1e-6)


def test_declared_limits_keep_the_detail_of_a_zoomed_view():
    t = np.linspace(-50, 50, 20001)
    curve = hv.Curve((t, np.sin(t)), "x", "y")
    wide = _compact.simplify_curves(curve)
    zoomed = _compact.simplify_curves(hv.Overlay([curve]).opts(hv.opts.Overlay(xlim=(-1, 1), backend="bokeh")))
    assert len(zoomed.values()[0]) > len(wide)


def test_paths_3d_and_other_elements():
    hv.extension("bokeh", "plotly", logo=False)
    s = np.linspace(0, 6 * np.pi, 3000)
    helix = np.column_stack([np.cos(s), np.sin(s), s / 10])
    pts = hv.Scatter3D(helix[::300])
    obj = hv.Overlay([hv.Path3D(helix), pts])
    out = _compact.simplify_curves(obj)
    path, same = out.values()
    P = np.column_stack([path.dimension_values(k) for k in range(3)])
    assert 30 < len(P) < 1500
    scale = np.ptp(helix, axis=0)
    assert _distance_to_polyline(helix / scale, P / scale).max() <= 1e-3 * (1 + 1e-9)
    assert len(same) == len(pts)


def test_holomap_frames_are_simplified():
    t = np.linspace(0, 1, 2000)
    hm = hv.HoloMap({k: hv.Curve((t, t ** k)) for k in (1, 2, 3)}, kdims=["k"])
    out = _compact.simplify_curves(hm)
    assert list(out.keys()) == [1, 2, 3]
    assert len(out[1]) == 2 and all(len(out[k]) < 200 for k in (2, 3))


# ----------------------------------------------------------------------------------- compact_document
def _bokeh_array(a, compress=True):
    raw = np.asarray(a, "<f8").tobytes()
    data = gzip.compress(raw) if compress else raw
    return {"type": "ndarray", "array": {"type": "bytes", "data": base64.b64encode(data).decode()},
            "shape": [len(a)], "dtype": "float64", "order": "little"}


def _decode(node):
    if isinstance(node, list):
        return np.array(node, float)
    raw = base64.b64decode(node["array"]["data"])
    raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return np.frombuffer(raw, {"float64": "<f8", "float32": "<f4", "int32": "<i4"}[node["dtype"]]).astype(float)


def _page(doc):
    text = json.dumps(doc)
    from html import escape
    return f'<html><script type="application/json" id="x1">{escape(text, quote=False)}</script></html>'


def _doc_of(page):
    m = re.search(r'<script type="application/json" id="x1">(.*?)</script>', page, re.S)
    return json.loads(m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def test_compact_document_arrays():
    rng = np.random.default_rng(1)
    long = np.cumsum(rng.normal(size=500))
    tiny_loss = np.logspace(-35, 0, 200)                       # log axis: relative precision must survive
    small = np.array([0.1, 1 / 3, 2.0])
    huge = np.array([1e40, 2e40] * 20)                         # outside float32: left alone
    patch = json.dumps({"events": [{"kind": "ColumnDataChanged", "data": {"type": "map", "entries": [
        ["x", _bokeh_array(long)]]}}]})
    doc = {"d": {"roots": [{"x": _bokeh_array(long), "L": _bokeh_array(tiny_loss), "s": _bokeh_array(small),
                            "h": _bokeh_array(huge), "text": "a < b & c"}],
                 "state": {"type": "map", "entries": [["content", patch]]}}}
    page = _page(doc)
    out = _compact.compact_document(page)
    assert len(out) < 0.75 * len(page)
    root = _doc_of(out)["d"]["roots"][0]
    assert root["text"] == "a < b & c"
    assert root["s"] == small.tolist()                          # small arrays: plain lists, every digit
    assert root["x"]["dtype"] == "float32" and np.allclose(_decode(root["x"]), long, rtol=1e-7, atol=0)
    assert root["L"]["dtype"] == "float32" and np.allclose(_decode(root["L"]), tiny_loss, rtol=1e-7, atol=0)
    assert root["h"]["dtype"] == "float64" and np.array_equal(_decode(root["h"]), huge)
    inner = json.loads(_doc_of(out)["d"]["state"]["entries"][0][1])
    x = inner["events"][0]["data"]["entries"][0][1]
    assert x["dtype"] == "float32" and np.allclose(_decode(x), long, rtol=1e-7)


def test_float32_only_when_exact_to_the_span():
    assert _compact._float32_ok(np.linspace(0, 1, 100))
    assert not _compact._float32_ok(1e6 + np.linspace(0, 1e-3, 100))     # offset hides a tiny span
    assert not _compact._float32_ok(np.full(50, 3.0))                    # no span to compare with


def test_plotly_typed_arrays():
    z = np.random.default_rng(2).random(400)
    node = {"type": "map", "entries": [["dtype", "f8"], ["bdata", base64.b64encode(z.tobytes()).decode()],
                                       ["shape", "20, 20"]]}
    out = _compact._compact_node(node)
    d = dict(out["entries"])
    assert d["dtype"] == "f4" and d["shape"] == "20, 20"
    assert np.allclose(np.frombuffer(base64.b64decode(d["bdata"]), "<f4"), z, rtol=1e-7)


# ----------------------------------------------------------------------------------- thumbnails
def _read_png(uri):
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        n, = struct.unpack(">I", png[pos:pos + 4])
        tag, data, crc = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n], png[pos + 8 + n:pos + 12 + n]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(tag + data) & 0xFFFFFFFF
        chunks[tag] = chunks.get(tag, b"") + data
        pos += 12 + n
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[r * (3 * w + 1):(r + 1) * (3 * w + 1)] for r in range(h)]
    assert all(r[0] == 0 for r in rows) and (depth, ctype) == (8, 2)
    return np.array([np.frombuffer(r[1:], np.uint8).reshape(w, 3) for r in rows])


def test_thumbnail_raster_is_one_png_with_the_colours():
    Z = np.zeros((40, 60))
    Z[:, 30:] = 1                                       # left half colour 0, right half colour 1
    Z[0, 0] = np.nan
    rgb = _thumb._cell_rgb(Z, ["#ff0000", "#0000ff"])
    img = _read_png(_thumb._png_uri(rgb))
    assert img.shape == (40, 60, 3)
    assert tuple(img[5, 5]) == (255, 0, 0) and tuple(img[5, 50]) == (0, 0, 255)
    assert tuple(img[-1, 0]) == (255, 255, 255)         # NaN: white; row 0 of Z is the bottom row
    hv.extension("bokeh", logo=False)
    svg = _thumb.svg_thumbnail(hv.Image(Z, bounds=(0, 0, 1, 1)).opts(cmap=["#ff0000", "#0000ff"]), uid="i")
    assert svg.count("<image") == 1 and svg.count("<rect") == 2 and len(svg) < 6000     # background, clip


def test_thumbnail_lines_are_simplified_paths():
    hv.extension("bokeh", logo=False)
    t = np.linspace(0, 1, 20000)
    svg = _thumb.svg_thumbnail(hv.Curve((t, t ** 2)), uid="c")
    d = re.search(r'<path d="([^"]+)"', svg).group(1)
    assert d.startswith("M") and d.count(",") < 200


# ----------------------------------------------------------------------------------- Plotly's gl3d bundle
def test_trace_types_read_from_the_documents_not_the_template():
    hv.extension("bokeh", "plotly", logo=False)
    from dlnsys.gallery import Block, Portrait, _site

    def draw(data):
        return [Block(hv.Scatter3D(np.random.default_rng(0).random((30, 3))), backend="plotly")]

    p = Portrait(slug="t3d", section="paper", title="3D (65)", description="d", paper="p", caption="",
                 compute=lambda: {}, draw=draw, plotly=True)
    page, _ = _site.render_page_html(p, draw({}))
    assert "barpolar" in page                     # the layout template names every trace type ...
    assert _plotly_bundle.plotly_trace_types(page) == {"scatter3d"}      # ... the figure has one
    assert _plotly_bundle.uses_only_gl3d_traces(page)
    assert not _plotly_bundle.uses_only_gl3d_traces(page.replace('["type","scatter3d"]', '["type","heatmap"]'))


def _tarball(js: bytes):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/plotly-gl3d.min.js")
        info.size = len(js)
        tar.addfile(info, io.BytesIO(js))
    blob = buf.getvalue()
    return blob, "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode()


@pytest.mark.parametrize("case", ["ok", "bad-integrity", "wrong-version", "offline"])
def test_fetch_gl3d_bundle(case, tmp_path, monkeypatch):
    import urllib.error

    version = _plotly_bundle.plotly_js_version()
    banner = version if case != "wrong-version" else "0.0.1"
    js = f"/**\n* plotly.js (gl3d - minified) v{banner}\n*/\nwindow.Plotly={{}};".encode()
    blob, integrity = _tarball(js)
    if case == "bad-integrity":
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    url = f"{_plotly_bundle.REGISTRY}/{_plotly_bundle.PACKAGE}/-/x-{version}.tgz"

    def fake_get(u, timeout):
        if case == "offline":
            raise urllib.error.URLError("no route to host")
        if u.endswith(f"/{version}"):
            return json.dumps({"dist": {"tarball": url, "integrity": integrity}}).encode()
        assert u == url
        return blob

    monkeypatch.setattr(_plotly_bundle, "_get", fake_get)
    res = _plotly_bundle.fetch_gl3d_bundle(tmp_path)
    if case == "ok":
        assert res.status == "fetched" and (tmp_path / f"plotly-gl3d-{version}.min.js").read_bytes() == js
        assert _plotly_bundle.cached_gl3d_bundle(tmp_path) is not None
        assert _plotly_bundle.fetch_gl3d_bundle(tmp_path).status == "cached"
    else:
        assert res.status == "failed" and not res.ok and res.message
        assert not list(tmp_path.iterdir()) and _plotly_bundle.cached_gl3d_bundle(tmp_path) is None
