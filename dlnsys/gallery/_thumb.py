"""Small inline SVG previews of HoloViews objects, drawn from their data (no browser needed).

The index page shows one thumbnail per portrait. Rendering a PNG would need a browser (bokeh's
export goes through a webdriver) and seconds per page; instead the data already held by the
HoloViews elements is drawn as an SVG a few kilobytes long: curves and paths as polylines, points
as dots, images as a coarse grid of cells, graphs as edges, 3D elements projected with a fixed
oblique view. Colours come from the elements' bokeh (or plotly) style options. Axes, labels and
annotations are left out: a thumbnail is a picture of the portrait, not a figure.
"""
from __future__ import annotations

import html
import math

import numpy as np

from ._compact import rdp_mask

__all__ = ["svg_thumbnail"]

_DEFAULT = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]     # viridis stops


def _style(el, backend):
    import holoviews as hv

    try:
        return dict(hv.Store.lookup_options(backend, el, "style").kwargs)
    except Exception:          # pragma: no cover - unusual element or backend not loaded
        return {}


def _plot_opts(el, backend):
    import holoviews as hv

    try:
        return dict(hv.Store.lookup_options(backend, el, "plot").kwargs)
    except Exception:          # pragma: no cover
        return {}


def _color(value, k):
    if isinstance(value, str) and (value.startswith("#") or value.isalpha()):
        return value
    return _DEFAULT[k % len(_DEFAULT)]


def _first(obj, panel=0):
    """The ``panel``-th item of a Layout (then the first of any nested one), or the last frame of a HoloMap."""
    import holoviews as hv

    while True:
        if isinstance(obj, (hv.Layout, hv.NdLayout, hv.GridSpace)):
            items = list(obj.values())
            obj = items[min(panel, len(items) - 1)]
            panel = 0
        elif isinstance(obj, (hv.HoloMap,)):
            obj = obj.last
        else:
            return obj


def _elements(obj, panel=0):
    import holoviews as hv

    obj = _first(obj, panel)
    if isinstance(obj, (hv.Overlay, hv.NdOverlay)):
        out = []
        for el in obj.values():
            out.extend(_elements(el))
        return out
    return [obj]


def _rotate(P):
    az, el = math.radians(40.0), math.radians(25.0)
    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    xr = x * math.cos(az) - y * math.sin(az)
    yr = x * math.sin(az) + y * math.cos(az)
    return np.column_stack([xr, z * math.cos(el) - yr * math.sin(el)])


def _thin(a, m=240):
    """At most about ``m`` rows of ``a``, keeping every NaN row (the breaks between joined curves)."""
    if len(a) <= m:
        return a
    keep = np.zeros(len(a), bool)
    keep[np.unique(np.linspace(0, len(a) - 1, m).round().astype(int))] = True
    if a.ndim == 2:
        keep |= ~np.all(np.isfinite(a), axis=1)
    return a[keep]


def _collect(obj, panel=0):
    """Primitives ``(kind, points (N, 2), colour, width)`` in data coordinates; kind in
    {'line', 'dot', 'cell'}; and the log flags of the axes."""
    import holoviews as hv

    prims = []
    logx = logy = False
    k = 0
    for el in _elements(obj, panel):
        three_d = isinstance(el, (hv.Path3D, hv.Scatter3D, hv.Surface, hv.TriSurface))
        backend = "plotly" if three_d else "bokeh"
        st = _style(el, backend)
        po = _plot_opts(el, backend)
        logx = logx or bool(po.get("logx"))
        logy = logy or bool(po.get("logy"))
        col = _color(st.get("color", st.get("line_color", st.get("edge_color"))), k)
        try:
            if isinstance(el, (hv.Curve, hv.Area, hv.Spread)):
                xy = np.column_stack([el.dimension_values(0), el.dimension_values(1)]).astype(float)
                prims.append(("line", xy, col, 1.6))
                k += 1
            elif isinstance(el, hv.Path3D):
                for p in el.split():
                    P = np.column_stack([p.dimension_values(i) for i in range(3)]).astype(float)
                    prims.append(("line", _rotate(P), col, 1.2))
            elif isinstance(el, (hv.Path, hv.Contours)):
                for p in el.split():
                    xy = np.column_stack([p.dimension_values(0), p.dimension_values(1)]).astype(float)
                    prims.append(("line", xy, col, 1.2))
            elif isinstance(el, hv.VectorField):
                xy = np.column_stack([el.dimension_values(0), el.dimension_values(1)]).astype(float)
                ang = el.dimension_values(2).astype(float)
                span = np.ptp(xy[:, 0]) if len(xy) else 1.0
                L = 0.02 * (span or 1.0)
                for (x0, y0), a in zip(_thin(xy, 300), _thin(ang, 300)):
                    prims.append(("line", np.array([[x0, y0], [x0 + L * math.cos(a), y0 + L * math.sin(a)]]),
                                  "#b0b0b0", 0.8))
            elif isinstance(el, (hv.Scatter, hv.Points)):
                xy = np.column_stack([el.dimension_values(0), el.dimension_values(1)]).astype(float)
                prims.append(("dot", _thin(xy, 400), col, 2.4 if len(xy) < 50 else 1.2))
                k += 1
            elif isinstance(el, hv.Scatter3D):
                P = np.column_stack([el.dimension_values(i) for i in range(3)]).astype(float)
                prims.append(("dot", _thin(_rotate(P), 400), col, 1.6))
                k += 1
            elif isinstance(el, hv.Surface):
                Z = np.asarray(el.dimension_values(2, flat=False), float)
                X = np.asarray(el.dimension_values(0, flat=False), float)
                Y = np.asarray(el.dimension_values(1, flat=False), float)
                if X.shape != Z.shape:
                    X, Y = np.meshgrid(np.unique(el.dimension_values(0)), np.unique(el.dimension_values(1)))
                step = max(1, Z.shape[0] // 12)
                for r in range(0, Z.shape[0], step):
                    P = np.column_stack([X[r], Y[r], Z[r]])
                    prims.append(("line", _rotate(P), "#8fcf8f", 0.8))
            elif isinstance(el, hv.Image):
                Z = np.asarray(el.dimension_values(2, flat=False), float)
                l, b, r, t = el.bounds.lbrt()
                cmap = _style(el, "bokeh").get("cmap")
                prims.append(("cell", (Z, (l, b, r, t), cmap), None, 0))
            elif isinstance(el, hv.Graph):
                nodes = el.nodes
                xs, ys = nodes.dimension_values(0), nodes.dimension_values(1)
                idx = {v: i for i, v in enumerate(nodes.dimension_values(2))}
                src, dst = el.dimension_values(0), el.dimension_values(1)
                w = el.dimension_values(2).astype(float) if len(el.vdims) else np.ones(len(src))
                wmax = max(float(np.max(np.abs(w))) if w.size else 1.0, 1e-12)
                for a, b, ww in zip(src, dst, w):
                    i, j = idx[a], idx[b]
                    c = "#b2182b" if ww > 0 else "#2166ac"
                    prims.append(("line", np.array([[xs[i], ys[i]], [xs[j], ys[j]]]), c,
                                  0.2 + 2.0 * abs(ww) / wmax))
                prims.append(("dot", np.column_stack([xs, ys]), "#333333", 2.0))
        except Exception:      # pragma: no cover - a thumbnail must never break the build
            continue
    return prims, logx, logy


def _finite_runs(finite):
    f = np.concatenate([[False], finite, [False]]).astype(np.int8)
    d = np.diff(f)
    return zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))


def _cell_rgb(Z, cmap, max_cells=(90, 140)):
    """``(ny, nx, 3)`` uint8 colours of the raster ``Z`` (rows bottom-up), at most ``max_cells``; NaN white."""
    ny, nx = Z.shape
    Zs = Z[::max(1, -(-ny // max_cells[0])), ::max(1, -(-nx // max_cells[1]))]
    finite = Zs[np.isfinite(Zs)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    rgb = np.full(Zs.shape + (3,), 255, np.uint8)
    for i in range(Zs.shape[0]):
        for j in range(Zs.shape[1]):
            v = Zs[i, j]
            if not np.isfinite(v):
                continue
            if isinstance(cmap, (list, tuple)) and cmap:
                c = cmap[int(round(v)) % len(cmap)]
            else:
                c = _ramp((v - lo) / ((hi - lo) or 1.0))
            rgb[i, j] = _hex_rgb(c)
    return rgb[::-1]                       # top row first, as in an image


def _hex_rgb(c):
    c = str(c).lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return tuple(int(c[k:k + 2], 16) for k in (0, 2, 4))
    except ValueError:
        return (128, 128, 128)


def _png_uri(rgb) -> str:
    """A ``data:image/png`` URI of an ``(h, w, 3)`` uint8 array (stdlib zlib; no imaging library)."""
    import base64
    import struct
    import zlib

    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _ramp(v):
    v = min(max(v, 0.0), 1.0) * (len(_RAMP) - 1)
    return _RAMP[int(round(v))]


def svg_thumbnail(obj, width=260, height=170, pad=8, uid="t", panel=0) -> str:
    """An ``<svg>`` element (a string) previewing ``obj`` (a HoloViews object; ``panel``: which item of a
    Layout)."""
    prims, logx, logy = _collect(obj, panel)

    def tf(xy):
        xy = np.array(xy, float)
        if logx:
            xy[:, 0] = np.log10(np.where(xy[:, 0] > 0, xy[:, 0], np.nan))
        if logy:
            xy[:, 1] = np.log10(np.where(xy[:, 1] > 0, xy[:, 1], np.nan))
        return xy

    pts = []
    for kind, p, _, _ in prims:
        if kind == "cell":
            l, b, r, t = p[1]
            pts.append(np.array([[l, b], [r, t]], float))
        else:
            pts.append(tf(p))
    allp = np.vstack(pts) if pts else np.zeros((0, 2))
    allp = allp[np.all(np.isfinite(allp), axis=1)]
    if len(allp) == 0:
        x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
    else:
        x0, y0 = np.percentile(allp, 0.5, axis=0)
        x1, y1 = np.percentile(allp, 99.5, axis=0)
        if len(allp) < 400:
            x0, y0 = allp.min(axis=0)
            x1, y1 = allp.max(axis=0)
    sx = (width - 2 * pad) / ((x1 - x0) or 1.0)
    sy = (height - 2 * pad) / ((y1 - y0) or 1.0)

    def px(xy):
        return np.column_stack([pad + (xy[:, 0] - x0) * sx, height - pad - (xy[:, 1] - y0) * sy])

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img"><rect width="100%" height="100%" fill="#ffffff"/>',
           f'<clipPath id="clip-{uid}"><rect x="0" y="0" width="{width}" height="{height}"/></clipPath>'
           f'<g clip-path="url(#clip-{uid})">']
    # draw order: cells, lines, dots
    for kind, p, col, w in prims:
        if kind != "cell":
            continue
        Z, (l, b, r, t), cmap = p
        (X0, Y0), (X1, Y1) = px(np.array([[l, b], [r, t]], float))
        # a raster as one small PNG (a few hundred bytes), not one <rect> per cell
        out.append(f'<image x="{X0:.1f}" y="{Y1:.1f}" width="{X1 - X0:.1f}" height="{Y0 - Y1:.1f}" '
                   f'preserveAspectRatio="none" opacity="0.75" href="{_png_uri(_cell_rgb(Z, cmap))}"/>')
    # lines: one <path> per colour and width (the arrows of a vector field are hundreds of two-point lines)
    groups = {}
    for kind, p, col, w in prims:
        if kind != "line":
            continue
        P = px(tf(p))
        finite = np.all(np.isfinite(P), axis=1)
        for i, j in _finite_runs(finite):
            seg = P[i:j]
            if len(seg) < 2:
                continue
            seg = seg[rdp_mask(seg, 0.35)]          # a third of a pixel: the picture does not change
            groups.setdefault((col, w), []).append("M" + " ".join(f"{q[0]:.1f},{q[1]:.1f}" for q in seg))
    for (col, w), parts in groups.items():
        out.append(f'<path d="{"".join(parts)}" fill="none" stroke="{html.escape(col)}" '
                   f'stroke-width="{w:.1f}" stroke-linejoin="round"/>')
    # dots: zero-length strokes with round caps, one <path> per colour and size, one dot per half pixel
    dots = {}
    for kind, p, col, w in prims:
        if kind != "dot":
            continue
        for q in px(tf(p)):
            if not np.all(np.isfinite(q)) or not (-w <= q[0] <= width + w and -w <= q[1] <= height + w):
                continue
            dots.setdefault((col, w), {}).setdefault((round(q[0] * 2), round(q[1] * 2)), f"M{q[0]:.1f},{q[1]:.1f}h0")
    for (col, w), pts in dots.items():
        out.append(f'<path d="{"".join(pts.values())}" stroke="{html.escape(col)}" stroke-width="{2 * w:.1f}" '
                   'stroke-linecap="round" class="dots"/>')
    out.append("</g></svg>")
    return "".join(out)
