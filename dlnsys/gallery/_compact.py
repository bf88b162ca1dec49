"""Smaller pages: drop the points of drawn curves that no screen could show.

A gallery page embeds the data of every curve of every slider frame. Trajectories come from
``simulate`` with hundreds to thousands of samples each, far more than a 600-pixel plot resolves.
:func:`simplify_curves` walks a HoloViews object (layouts, overlays, HoloMap frames) and removes the
points of :class:`~holoviews.Curve`, :class:`~holoviews.Path` (and contours) and
:class:`~holoviews.Path3D` elements that lie within ``tolerance`` of the chord through their kept
neighbours (Ramer-Douglas-Peucker), with distances measured in units of the drawn range: the x and y
spans of the element, or the smaller span of any ``xlim``/``ylim`` declared in the object (a zoomed
view must keep the detail it shows). The default 1/1000 of the range is below half a pixel of the
gallery's largest plots. Positive coordinates spanning more than two decades are also simplified in
logarithmic scale and the two selections merged, so log axes lose nothing either. The first and last
point of every curve, NaN breaks between joined curves, and every vertex of non-curve elements
(points, equilibria, images, meshes) are kept exactly.

Only the gallery uses this: ``dlnsys.viz`` itself returns every point it is given.
"""
from __future__ import annotations

import base64
import gzip
import html
import json
import re

import numpy as np

__all__ = ["rdp_mask", "simplify_curves", "compact_document", "DEFAULT_TOLERANCE"]

#: Tolerance as a fraction of the drawn range (1/1000: < 0.6 px on a 560 px frame).
DEFAULT_TOLERANCE = 1e-3
# Curves shorter than this are left alone: nothing to gain.
_MIN_POINTS = 64


def rdp_mask(points, tolerance) -> np.ndarray:
    """Boolean mask of the points of the polyline ``points`` (``(N, d)``, finite) kept by
    Ramer-Douglas-Peucker: every dropped point lies within ``tolerance`` (Euclidean) of the segment
    between the kept points around it. The end points are always kept."""
    P = np.asarray(points, float)
    n = len(P)
    keep = np.zeros(n, bool)
    if n == 0:
        return keep
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = P[i], P[j]
        seg = b - a
        L2 = float(seg @ seg)
        Q = P[i + 1:j] - a
        if L2 == 0.0:
            d2 = np.einsum("ij,ij->i", Q, Q)
        else:
            # distance to the segment (not the infinite line): a curve that turns back is kept
            s = np.clip(Q @ seg / L2, 0.0, 1.0)
            R = Q - s[:, None] * seg
            d2 = np.einsum("ij,ij->i", R, R)
        k = int(np.argmax(d2))
        if d2[k] > tolerance * tolerance:
            m = i + 1 + k
            keep[m] = True
            stack.append((i, m))
            stack.append((m, j))
    return keep


def _runs(finite):
    """``(start, stop)`` of the runs of True in ``finite``."""
    f = np.concatenate([[False], finite, [False]]).astype(np.int8)
    d = np.diff(f)
    return zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))


def _mask(cols, scales, tolerance) -> np.ndarray:
    """Rows of the columns ``cols`` (list of 1-D arrays) to keep: NaN rows always, each finite run
    simplified in coordinates divided by ``scales``, and in log10 where a column is positive over
    more than two decades."""
    X = np.column_stack([np.asarray(c, float) for c in cols])
    n = len(X)
    keep = np.ones(n, bool)
    if n < _MIN_POINTS:
        return keep
    finite = np.all(np.isfinite(X), axis=1)
    spaces = [X / scales]
    pos = [bool(np.all(X[finite, k] > 0)) and X[finite, k].max() > 100 * X[finite, k].min()
           for k in range(X.shape[1])] if finite.any() else []
    if any(pos):
        Y = X.copy()
        for k, p in enumerate(pos):
            if p:
                col = np.log10(X[finite, k])
                Y[finite, k] = col / ((col.max() - col.min()) or 1.0)
            else:
                Y[:, k] = X[:, k] / scales[k]
        spaces.append(Y)
    keep[finite] = False
    # a run of NaN rows breaks the line once: keep its first row only
    keep[1:] &= finite[1:] | finite[:-1]
    for i, j in _runs(finite):
        for S in spaces:
            keep[i:j] |= rdp_mask(S[i:j], tolerance)
    return keep


def _span(values) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.max() - v.min()) if v.size else 0.0


def _declared_limits(obj):
    """The smallest x and y spans declared by ``xlim``/``ylim`` options anywhere in ``obj``."""
    import holoviews as hv

    spans = {"xlim": np.inf, "ylim": np.inf}

    def visit(o):
        for backend in ("bokeh", "plotly"):
            try:
                kw = hv.Store.lookup_options(backend, o, "plot").kwargs
            except Exception:       # noqa: BLE001 - backend not loaded, or not an element
                continue
            for key in spans:
                lim = kw.get(key)
                if isinstance(lim, tuple) and len(lim) == 2 and all(isinstance(v, (int, float)) and np.isfinite(v)
                                                                       for v in lim if v is not None) \
                        and None not in lim and lim[1] > lim[0]:
                    spans[key] = min(spans[key], float(lim[1] - lim[0]))
        return o

    obj.traverse(visit)
    return spans["xlim"], spans["ylim"]


def _simplify_element(el, tolerance, xlim_span, ylim_span):
    import holoviews as hv

    three_d = isinstance(el, hv.Path3D)
    ndims = 3 if three_d else 2
    if isinstance(el, hv.Curve):
        cols = [el.dimension_values(k) for k in range(2)]
        if len(cols[0]) < _MIN_POINTS:
            return el
        scales = _scales(cols, (xlim_span, ylim_span))
        idx = np.flatnonzero(_mask(cols, scales, tolerance))
        return el if len(idx) == len(cols[0]) else el.iloc[idx]
    # Path, Contours, Path3D: one or more sub-paths, each possibly with NaN breaks
    allcols = [el.dimension_values(k) for k in range(ndims)]
    if len(allcols[0]) < _MIN_POINTS:
        return el
    subs = el.split()
    scales = _scales(allcols, (xlim_span, ylim_span, np.inf)[:ndims])
    data, changed = [], False
    for s in subs:
        cols = [s.dimension_values(k) for k in range(ndims)]
        idx = np.flatnonzero(_mask(cols, scales, tolerance))
        changed |= len(idx) < len(cols[0])
        n, c = len(cols[0]), s.columns()
        if len(idx) < n:
            # per-point columns are thinned, per-path values (scalars) kept as they are
            c = {k: (v[idx] if np.ndim(v) == 1 and len(v) == n else v) for k, v in c.items()}
        data.append(c)
    return el.clone(data) if changed else el


def _scales(cols, lim_spans):
    out = []
    for c, lim in zip(cols, lim_spans):
        s = min(_span(c), lim)
        out.append(s if s > 0 else 1.0)
    return np.array(out)


def simplify_curves(obj, tolerance=DEFAULT_TOLERANCE):
    """A copy of the HoloViews object ``obj`` whose curves keep only the points needed to draw them
    within ``tolerance`` of the drawn range (see the module docstring). Options, labels and every
    non-curve element are unchanged.

    Examples
    --------
    >>> import numpy as np, holoviews as hv
    >>> t = np.linspace(0, 1, 2001)
    >>> len(simplify_curves(hv.Curve((t, 2 * t + 1))))          # a straight line: two points
    2
    """
    import holoviews as hv

    if not isinstance(obj, hv.core.Dimensioned):
        return obj
    xspan, yspan = _declared_limits(obj)
    return obj.map(lambda el: _simplify_element(el, tolerance, xspan, yspan), [hv.Curve, hv.Path])


# --------------------------------------------------------------------------- the serialized document
#: Arrays up to this length are written as plain JSON lists (the ndarray wrapper and its gzip header
#: cost more than the numbers); longer float64 arrays become float32 when that is exact to 1e-4 of
#: their span (far below a pixel).
_SMALL_ARRAY = 16
_F32_REL = 1e-4

_JSON_SCRIPT = re.compile(r'(<script type="application/json" id="[^"]+">)(.*?)(</script>)', re.DOTALL)


def _float32_ok(a) -> bool:
    v = a[np.isfinite(a)]
    if v.size == 0:
        return True
    big = float(np.max(np.abs(v)))
    tiny = np.abs(v[v != 0])
    # inside float32's normal range the relative error is 6e-8 (log axes lose nothing either)
    if big > 1e38 or (tiny.size and float(tiny.min()) < 1.2e-38):
        return False
    span = float(v.max() - v.min())
    return span > 0 and big * 2.0 ** -24 <= _F32_REL * span


def _bokeh_array(node):
    """A Bokeh ``{"type": "ndarray"}`` node, compacted (or returned unchanged)."""
    arr = node.get("array")
    dtype = node.get("dtype")
    if not (isinstance(arr, dict) and arr.get("type") == "bytes" and isinstance(arr.get("data"), str)
            and dtype in ("float64", "float32", "int32") and node.get("order", "little") == "little"):
        return node
    raw = base64.b64decode(arr["data"])
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    a = np.frombuffer(raw, dtype="<" + {"float64": "f8", "float32": "f4", "int32": "i4"}[dtype])
    shape = node.get("shape", [a.size])
    if len(shape) == 1 and a.size <= _SMALL_ARRAY and np.all(np.isfinite(a)):
        return [int(x) for x in a] if dtype == "int32" else [float(x) for x in a]
    if dtype == "float64" and _float32_ok(a):
        a, dtype = a.astype("<f4"), "float32"
    data = base64.b64encode(gzip.compress(a.tobytes(), compresslevel=9, mtime=0)).decode("ascii")
    return dict(node, array={"type": "bytes", "data": data}, dtype=dtype)


def _plotly_array(node):
    """A Plotly ``{"dtype": "f8", "bdata": ...}`` typed array, as float32 when that is exact enough."""
    if node.get("dtype") != "f8" or set(node) - {"dtype", "bdata", "shape"}:
        return node
    a = np.frombuffer(base64.b64decode(node["bdata"]), dtype="<f8")
    if a.size <= _SMALL_ARRAY or not _float32_ok(a):
        return node
    return dict(node, dtype="f4", bdata=base64.b64encode(a.astype("<f4").tobytes()).decode("ascii"))


def _compact_node(node):
    if isinstance(node, list):
        return [_compact_node(v) for v in node]
    if isinstance(node, str):
        # a PATCH-DOC message of an embedded slider state: JSON inside a string
        if node.startswith('{"events":'):
            try:
                inner = json.loads(node)
            except ValueError:
                return node
            return json.dumps(_compact_node(inner), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return node
    if not isinstance(node, dict):
        return node
    if node.get("type") == "map" and isinstance(node.get("entries"), list):
        # plotly typed arrays are serialized by bokeh as maps with entries [["dtype", "f8"], ["bdata", ...]]
        try:
            plain = dict(node["entries"])
        except (TypeError, ValueError):
            plain = None
        if plain is not None and "bdata" in plain and "dtype" in plain and all(isinstance(k, str) for k in plain):
            new = _plotly_array(plain)
            if new is not plain:
                return dict(node, entries=[[k, v] for k, v in new.items()])
    if node.get("type") == "ndarray":
        return _bokeh_array(node)
    if "bdata" in node and "dtype" in node:
        return _plotly_array(node)
    return {k: _compact_node(v) for k, v in node.items()}


def _html_unescape(text: str) -> str:
    # the inverse of html.escape(quote=False), which is how Bokeh writes the document into the page
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def compact_document(page: str) -> str:
    """The saved page with its serialized Bokeh document(s) compacted: small arrays as JSON lists,
    float64 arrays as float32 where that is exact to 1e-4 of their span (including Plotly's typed
    arrays and the arrays inside the embedded slider states), JSON without spaces. The figures and
    their hover values (small arrays, e.g. equilibria, keep every digit) do not change."""
    def repl(m):
        try:
            doc = json.loads(_html_unescape(m.group(2)))
        except ValueError:
            return m.group(0)
        text = json.dumps(_compact_node(doc), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return m.group(1) + html.escape(text, quote=False) + m.group(3)

    return _JSON_SCRIPT.sub(repl, page)
