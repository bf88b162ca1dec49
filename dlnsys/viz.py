"""HoloViews elements from dlnsys result objects (the drawing layer of the gallery).

Nothing in the numerical core imports this module: it needs the ``gallery`` extra
(``pip install 'dlnsys[gallery]'``: holoviews, bokeh, plotly) and is imported on demand.
Every function takes a result object of the core (a :class:`~dlnsys.simulate.Trajectory`,
a :class:`~dlnsys.separatrices.Separatrices`, a :class:`~dlnsys.continuation.Branch`, an
:class:`~dlnsys.arcs.Arc`, ...) or plain arrays, and returns a HoloViews element or overlay
whose axes carry the paper's symbols (``w₁``, ``σ``, ``𝓛``, ``‖A‖_F``, ...). Styling is set for
the bokeh backend; the ``*_3d`` functions return plotly-ready 3D elements.

Colours follow the paper's figures: global minima green, saddles red (non-strict saddles
orange, since the paper distinguishes them in Sections 4.4 and 6.2.2), stable branches solid,
unstable branches dashed.

Example
-------
>>> import numpy as np, holoviews as hv                       # doctest: +SKIP
>>> from dlnsys import Network
>>> from dlnsys.simulate import simulate
>>> from dlnsys import viz
>>> net = Network((1, 1, 1), sigma=[1.0])
>>> traj = simulate(net, np.array([[0.1, 1.5], [-1.2, 0.3]]), 10.0)
>>> viz.phase_vector_field(net, (-2, 2), (-2, 2)) * viz.trajectory_paths(traj)   # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

try:
    import holoviews as hv
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dlnsys.viz needs holoviews (and bokeh, plotly): pip install 'dlnsys[gallery]'") from exc

def _ensure_backends():
    """Load the bokeh (and, if installed, plotly) plotting extensions so that options can be set; a
    backend the user already loaded and selected stays current, otherwise bokeh becomes current."""
    prev = hv.Store.current_backend if hv.Store.current_backend in hv.Store.renderers else None
    for name in ("plotly", "bokeh"):
        if name not in hv.Store.renderers:
            try:
                hv.renderer(name)
            except ImportError:  # pragma: no cover - plotly is part of the gallery extra
                pass
    hv.Store.set_current_backend(prev or "bokeh")


_ensure_backends()

__all__ = [
    "COLORS", "KIND_COLORS", "PALETTE", "weight_label", "dim", "kind_color",
    "phase_vector_field", "trajectory_paths", "trajectory_paths_3d", "curve_paths", "separatrix_paths",
    "equilibrium_points", "equilibrium_points_3d", "loss_curve", "singular_value_curves", "frobenius_curve",
    "alignment_curves", "plateau_marks", "arc_curves", "branch_plot", "spectrum_scatter", "network_graph",
    "basin_image", "hyperbola_paths", "label_of_signature", "holomap", "curve_paths_3d", "plotly_legend",
    "click_to_integrate", "KIND_MARKERS", "kind_style", "direction_arrows", "start_points_3d",
    "plotly_hover", "special_points", "format_eigenvalues",
]

#: Named colours used across the gallery.
COLORS = {
    "minimum": "#2ca02c",        # green: global minima (the paper's green dots)
    "saddle": "#d62728",         # red: saddles (the paper's red dots)
    "non-strict": "#ff7f0e",     # orange: non-strict saddles
    "stable_manifold": "#1f3b99",
    "unstable_manifold": "#c2185b",
    "leaf": "#9e9e9e",
    "trajectory": "#4a6fa5",
    "field": "#8c8c8c",
    "minima_set": "#2ca02c",
}
#: Colour of each kind of critical point (the strings of :mod:`dlnsys.leaves` / :mod:`dlnsys.critical`).
KIND_COLORS = {
    "global minimum": COLORS["minimum"],
    "strict saddle": COLORS["saddle"],
    "non-strict saddle": COLORS["non-strict"],
    "strict or non-strict saddle": "#9467bd",
    # equilibria of scalar equations such as (61), classified by the sign of f'(z)
    "stable": COLORS["minimum"],
    "unstable": COLORS["saddle"],
    "semi-stable": COLORS["non-strict"],
}
#: A qualitative palette (from Tableau) for families of curves.
#: Without the green, red and orange of the critical points, so that no family of curves shares a colour
#: with the equilibria drawn over it.
PALETTE = ["#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79",
           "#637939", "#7b4173"]

_SUB = str.maketrans("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def _sub(text) -> str:
    """Unicode subscript of ``text`` (digits and the letters that have one)."""
    return str(text).translate(_SUB)


def weight_label(i) -> str:
    """``w₁``, ``w₂``, ... (1-based), the paper's names of the weights of (62), (65), (66)."""
    return "w" + _sub(i)


def dim(name, label=None, **kw):
    """A :class:`holoviews.Dimension` with a display label (the paper's symbol)."""
    return hv.Dimension(name, label=label or name, **kw)


def _kind_key(kind) -> str:
    """The key of :data:`KIND_MARKERS`/:data:`KIND_COLORS` for ``kind``: itself if listed, ``"semi-stable"``
    for any ``"semi-stable ..."``, ``"strict saddle"`` for another saddle or unstable point, else
    ``"global minimum"``."""
    kind = str(kind or "")
    if kind in KIND_COLORS:
        return kind
    if kind.startswith("semi-stable"):
        return "semi-stable"
    return "strict saddle" if ("saddle" in kind or "unstable" in kind) else "global minimum"


def kind_color(kind) -> str:
    return KIND_COLORS[_kind_key(kind)]


def label_of_signature(S) -> str:
    """``(1, 2)`` -> ``"{1,2}"``, ``()`` -> ``"∅"``."""
    S = tuple(S)
    return "{" + ",".join(str(int(i)) for i in S) + "}" if S else "∅"


def _wdims(dims, names=None):
    names = names or [weight_label(i + 1) for i in dims]
    return [dim(f"w{i + 1}", n) for i, n in zip(dims, names)]


# ---------------------------------------------------------------------------------- phase plane
def phase_vector_field(net, xlim, ylim, n=21, dims=(0, 1), fixed=None, normalize=True, names=None):
    """Arrows of the flow ``net.vector_field`` on an ``n x n`` grid of the plane of coordinates ``dims``.

    Other coordinates are held at ``fixed`` (a full state; zeros by default). With ``normalize``
    every arrow has the same length and the magnitude ``|f|`` goes to the colour (log scale),
    which keeps the plateau around the origin visible.
    """
    xs = np.linspace(*xlim, n)
    ys = np.linspace(*ylim, n)
    X, Y = np.meshgrid(xs, ys)
    base = np.zeros(net.n_params) if fixed is None else np.asarray(fixed, float)
    S = np.repeat(base[None, :], X.size, axis=0)
    S[:, dims[0]] = X.ravel()
    S[:, dims[1]] = Y.ravel()
    F = net.vector_field(S)
    u, v = F[:, dims[0]], F[:, dims[1]]
    mag = np.hypot(u, v)
    angle = np.arctan2(v, u)
    length = np.where(mag > 0, 1.0, 0.0) if normalize else mag / max(mag.max(), 1e-300)
    logmag = np.log10(np.maximum(mag, 1e-12))
    kd = _wdims(dims, names)
    vf = hv.VectorField((X.ravel(), Y.ravel(), angle, length, logmag), kdims=kd,
                        vdims=["angle", "length", dim("logf", "log₁₀‖ẇ‖")], label="vector field")
    # bokeh's VectorField draws lengths ``magnitude * (grid spacing) / scale``
    return vf.opts(magnitude="length", color=hv.dim("logf"), cmap=["#d9d9d9", "#1a1a1a"], pivot="mid",
                   line_width=1.1, scale=1.4, colorbar=False,
                   clim=(float(np.percentile(logmag, 2)), float(np.percentile(logmag, 98))))


def _joined(curves, dims):
    """One ``(N, len(dims))`` array of the curves separated by NaN rows (one glyph, one legend entry)."""
    parts = []
    for c in curves:
        c = np.asarray(c, float)
        if c.ndim != 2 or len(c) == 0:
            continue
        parts.append(c[:, list(dims)])
        parts.append(np.full((1, len(dims)), np.nan))
    return np.vstack(parts[:-1]) if parts else np.zeros((0, len(dims)))


def curve_paths(curves, dims=(0, 1), label="", names=None, **style):
    """Curves (``(N, n)`` point arrays) projected on coordinates ``dims``, drawn as one line glyph with
    NaN breaks, so that a family of curves is one legend entry."""
    kd = _wdims(dims, names)
    xy = _joined(curves, dims)
    el = hv.Curve((xy[:, 0], xy[:, 1]), kdims=kd[:1], vdims=kd[1:], label=label)
    return el.opts(**style) if style else el


def trajectory_paths(traj, dims=(0, 1), label="trajectories", names=None, **style):
    """Paths of a (batch) :class:`~dlnsys.simulate.Trajectory` projected on coordinates ``dims``."""
    x = np.asarray(traj.x)
    curves = [x[:, b, :] for b in range(x.shape[1])] if x.ndim == 3 else [x]
    style = {"color": COLORS["trajectory"], "line_width": 1.6, **style}
    return curve_paths(curves, dims, label=label, names=names, **style)


def _curve_list(curves):
    if hasattr(curves, "x") and hasattr(curves, "t"):          # a Trajectory
        x = np.asarray(curves.x)
        return [x[:, b, :] for b in range(x.shape[1])] if x.ndim == 3 else [x]
    return [np.asarray(c, float) for c in curves if len(c)]


def direction_arrows(curves, dims=(0, 1), names=None, color=None, at=0.5, size=10, label="direction of time"):
    """Arrowheads (rotated triangles) half way along each curve (by arclength, or at fraction ``at``),
    pointing the way time runs, and open circles at the starts: the direction on every trajectory.
    ``curves``: a :class:`~dlnsys.simulate.Trajectory` or a list of ``(N, n)`` arrays. The angle is taken in
    data units, so the arrows are exact on plots with equal x and y scales."""
    kd = _wdims(dims, names)
    color = color or COLORS["trajectory"]
    heads, starts = [], []
    for c in _curve_list(curves):
        xy = c[:, list(dims)]
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) < 2:
            continue
        starts.append(tuple(xy[0]))
        seg = np.hypot(*np.diff(xy, axis=0).T)
        if seg.sum() <= 0:
            continue
        s = np.concatenate([[0.0], np.cumsum(seg)])
        k = int(np.clip(np.searchsorted(s, at * s[-1]), 1, len(xy) - 1))
        d = xy[k] - xy[k - 1]
        # bokeh's triangle points up at angle 0; angles are counter-clockwise in radians
        heads.append((xy[k, 0], xy[k, 1], float(np.arctan2(d[1], d[0]) - np.pi / 2)))
    arrows = hv.Points(heads, kdims=kd, vdims=[dim("angle")], label=label).opts(
        marker="triangle", angle=hv.dim("angle"), color=color, size=size, line_color=color)
    start = hv.Points(starts, kdims=kd, label="start").opts(marker="circle", size=7, fill_color="white",
                                                            line_color=color, line_width=1.5)
    return arrows * start


def start_points_3d(curves, dims=(0, 1, 2), names=None, color=None, size=4, label="starts (○)"):
    """Open circles (plotly) at the first point of each curve: the direction of 3-D trajectories."""
    kd = _wdims(dims, names)
    pts = [c[0, list(dims)] for c in _curve_list(curves) if np.all(np.isfinite(c[0, list(dims)]))]
    return hv.Scatter3D(np.array(pts).reshape(-1, len(dims)), kdims=kd, label=label).opts(
        color=color or COLORS["trajectory"], size=size, marker="circle-open", backend="plotly")


def trajectory_paths_3d(traj, dims=(0, 1, 2), label="trajectories", color=None, names=None):
    """3D paths (plotly backend) of a (batch) trajectory: one :class:`holoviews.Path3D` per member."""
    x = np.asarray(traj.x)
    curves = [x[:, b, :] for b in range(x.shape[1])] if x.ndim == 3 else [x]
    return curve_paths_3d(curves, dims, label=label, color=color or COLORS["trajectory"], names=names)


def curve_paths_3d(curves, dims=(0, 1, 2), label="", color="#444", width=4, names=None):
    """Curves in 3D (plotly backend), joined with NaN breaks into one :class:`holoviews.Path3D`
    (one legend entry)."""
    kd = _wdims(dims, names)
    return hv.Path3D(_joined(curves, dims), kdims=kd, label=label).opts(color=color, line_width=width,
                                                                         backend="plotly")


def separatrix_paths(seps, dims=(0, 1), names=None):
    """The stable (blue) and unstable (magenta) manifolds of a :class:`~dlnsys.separatrices.Separatrices`."""
    st = [c.points for c in seps.stable()]
    un = [c.points for c in seps.unstable()]
    out = []
    if st:
        out.append(curve_paths(st, dims, label="stable manifold of the saddle (separatrix)", names=names,
                               color=COLORS["stable_manifold"], line_width=3.5))
    if un:
        out.append(curve_paths(un, dims, label="unstable manifold (heteroclinic orbits)", names=names,
                               color=COLORS["unstable_manifold"], line_width=3.5, line_dash="dashed"))
    return hv.Overlay(out)


def hyperbola_paths(points_list, label, color, dims=(0, 1), dash="solid", width=1.5, names=None):
    """Curves given as a list of ``(N, 2)`` arrays already in plane coordinates (leaves, minima sets)."""
    return curve_paths(points_list, (0, 1), label=label, names=[weight_label(i + 1) for i in dims] if names is None
                       else names, color=color, line_dash=dash, line_width=width)


#: Marker of each kind of critical point: shape and fill carry the stability, not the colour alone
#: (filled: stable; open: unstable; half-tone: non-strict, i.e. undecided at second order).
KIND_MARKERS = {
    "global minimum": ("circle", "filled"),
    "strict saddle": ("square", "open"),
    "non-strict saddle": ("diamond", "half"),
    "strict or non-strict saddle": ("triangle", "half"),
    "stable": ("circle", "filled"),
    "unstable": ("square", "open"),
    "semi-stable": ("diamond", "half"),
}


def kind_style(kind, size=11) -> dict:
    """Bokeh style of a critical point of ``kind`` (see :data:`KIND_MARKERS`)."""
    marker, fill = KIND_MARKERS[_kind_key(kind)]
    color = kind_color(kind)
    style = dict(marker=marker, size=size, line_color=color if fill == "open" else "black", line_width=1)
    if fill == "filled":
        style.update(fill_color=color)
    elif fill == "open":
        style.update(fill_color="white", line_width=2.5)
    else:
        style.update(fill_color=color, fill_alpha=0.45, line_color=color, line_width=2)
    return style


def format_eigenvalues(ev, max_shown=8) -> str:
    """``"-1.5, 0.25"``; a spectrum longer than ``max_shown`` is summarized by its count, its three smallest
    and three largest values and the number of positive ones."""
    ev = np.sort(np.atleast_1d(np.asarray(ev, float)).ravel())
    fmt = lambda vs: ", ".join(f"{v:.4g}" for v in vs)        # noqa: E731
    if ev.size <= max_shown:
        return fmt(ev)
    return f"{ev.size} values: {fmt(ev[:3])}, …, {fmt(ev[-3:])} ({int(np.sum(ev > 0))} > 0)"


_fmt_eigenvalues = format_eigenvalues


def _equilibrium_rows(states, kinds, dims, eigenvalues, extra):
    states = np.atleast_2d(np.asarray(states, float))
    kinds = [str(k) for k in kinds]
    if len(states) != len(kinds) and not (len(kinds) == 0 and states.size == 0):
        raise ValueError(f"kinds: one entry per point ({len(states)}), got {len(kinds)}")
    # without eigenvalues the hover says so (the gallery always gives them: tests/test_gallery.py)
    evs = ["not given"] * len(kinds) if eigenvalues is None else [_fmt_eigenvalues(e) for e in eigenvalues]
    if len(evs) != len(kinds):
        raise ValueError(f"eigenvalues: one entry per point ({len(kinds)}), got {len(evs)}")
    extra = dict(extra or {})
    for name, vals in extra.items():
        if len(vals) != len(kinds):
            raise ValueError(f"extra[{name!r}]: one entry per point ({len(kinds)}), got {len(vals)}")
    rows = [tuple(states[i, list(dims)]) + (kinds[i], evs[i]) + tuple(v[i] for v in extra.values())
            for i in range(len(kinds))]
    return rows, kinds


def _label_of(label, kind):
    if isinstance(label, dict):
        return label.get(kind, kind)
    return label or kind


def _extra_dims(extra):
    return [d if isinstance(d, hv.Dimension) else dim(str(d)) for d in (extra or {})]


def equilibrium_points(states, kinds, dims=(0, 1), label=None, size=11, names=None, eigenvalues=None,
                       eigenvalue_label="leaf eigenvalues", kdims=None, extra=None, show_kinds=None):
    """Equilibria as points, one element per kind: green filled circles (minima, stable points), red open
    squares (strict saddles, unstable points), orange half-tone diamonds (non-strict saddles, semi-stable
    points); see :data:`KIND_MARKERS`. Hovering shows the coordinates, the kind and the eigenvalues.

    Parameters
    ----------
    states : array (N, n)
        The points; coordinates ``dims`` are drawn.
    kinds : sequence of str
        The kind of each point (``"global minimum"``, ``"strict saddle"``, ``"non-strict saddle"``, or
        ``"stable"``, ``"unstable"``, ``"semi-stable ..."`` for scalar equations).
    eigenvalues : sequence of arrays, optional
        One array per point: the eigenvalues of the Jacobian restricted to the leaf of the point
        (``LeafEquilibrium.leaf_eigenvalues``, ``dlnsys.spectrum(net, x, on_leaf=True)``), or of the
        Jacobian where there is no leaf reduction; ``eigenvalue_label`` names them in the hover (which
        says "not given" without them; every gallery page gives them).
    label : str or dict, optional
        Legend label of every element, or ``{kind: label}`` (default: the kind).
    kdims : list of Dimension, optional
        The axes, when they are not the weights ``w_i`` (default from ``dims`` and ``names``).
    extra : dict, optional
        More hover columns ``{name or Dimension: values (one per point)}``.
    show_kinds : sequence of str, optional
        Kinds that get an element even without points, in this order (the layers of every frame of a
        :func:`holomap` must be the same); kinds not listed follow.
    """
    rows, kinds = _equilibrium_rows(states, kinds, dims, eigenvalues, extra)
    kd = list(kdims) if kdims is not None else _wdims(dims, names)
    vd = [dim("kind"), dim("eigenvalues", eigenvalue_label)] + _extra_dims(extra)
    els = []
    for kind in dict.fromkeys(list(show_kinds or []) + kinds):
        sel = [r for r, k in zip(rows, kinds) if k == kind]
        els.append(hv.Points(sel, kdims=kd, vdims=vd, label=_label_of(label, kind)).opts(
            tools=["hover"], **kind_style(kind, size)))
    return hv.Overlay(els)


def click_to_integrate(spec, *, key="trace", dims=(0, 1), base=None, params=None, t_max=200.0, rtol=1e-10,
                       atol=1e-12, max_steps=20000, color="#7b3294"):
    """A bokeh hook: clicking the plot draws the trajectory of ``spec`` from that point, in the browser.

    ``element.opts(hooks=[viz.click_to_integrate(spec)])`` on a 2-D phase plane whose axes are the
    state variables ``dims`` of ``spec`` (an :class:`~dlnsys.emit.spec.OdeSpec`, e.g.
    ``dlnsys.emit.generators.network_spec(net)``). The page integrates forward and backward in time
    with an adaptive Dormand-Prince 5(4) method (no Python server; see :mod:`dlnsys._clicktrace`) and
    stops at equilibria, at the plot's edge, at ``t_max`` or after ``max_steps`` steps. Arrowheads give
    the direction of time, a circle marks the start. The starts are kept in the URL hash under ``key``
    (one key per plot of a page), so a view can be shared; the gallery's pages replay them on load and
    have a "clear" button (``window.dlnsysTrace.clear()``).

    Parameters
    ----------
    spec : OdeSpec
    key : str
        Name of this plot in the URL hash (letters, digits, ``-`` and ``_``).
    dims : (int, int)
        State indices on the x and y axes.
    base : sequence of float or callable, optional
        The other state coordinates of a clicked point (default zeros). On a ``HoloMap``, a function of
        the frame's key (e.g. ``lambda key: [0, 0, key[0]]`` for a slice ``w3 = key[0]``).
    params : dict or callable, optional
        Parameter values overriding the spec's (``{"s1": 2.0}``); on a ``HoloMap``, a function of the
        frame's key (``lambda key: {"s1": key[0]}`` for a slider over sigma). Moving a slider redraws the
        clicked trajectories with the new frame's values.
    t_max, rtol, atol, max_steps
        Integration horizon (each direction), tolerances and step budget.
    color : str
        Colour of the drawn trajectories (keep it apart from the plot's other families).

    Examples
    --------
    >>> from dlnsys import Network, viz
    >>> from dlnsys.emit.generators import network_spec
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> plane = viz.phase_vector_field(net, (-2, 2), (-2, 2))
    >>> plane = plane.opts(hooks=[viz.click_to_integrate(network_spec(net), key="p62")])
    """
    import re

    from ._clicktrace import click_hook

    if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key)):
        raise ValueError(f"key: letters, digits, '-' and '_' (1 to 40 characters), got {key!r}")
    return click_hook(spec, key=key, dims=dims, base=base, params=params, t_max=t_max, rtol=rtol, atol=atol,
                      max_steps=max_steps, color=color)


def plotly_legend(plot, element):
    """HoloViews plotly hook (``.opts(hooks=[plotly_legend], backend="plotly")``) that lists every named trace
    in the legend: HoloViews hides the legend entries of ``Path3D`` traces, and duplicate names are shown once.
    Set on an overlay, it runs on each of its elements (those without hooks of their own); it also gives the
    points of a :class:`holoviews.Scatter3D` their hover text (:func:`plotly_hover`)."""
    fig = plot.state
    seen = set()
    for trace in fig.get("data", []):
        name = trace.get("name")
        show = bool(name) and name not in seen
        trace["showlegend"] = show
        if show:
            seen.add(name)
    layout = fig.setdefault("layout", {})
    layout["showlegend"] = True
    layout["legend"] = {"x": 1.0, "y": 1.0, "xanchor": "left", "yanchor": "top", "bgcolor": "rgba(255,255,255,0.8)",
                        "font": {"size": 11}}
    plotly_hover(plot, element)


_PLOTLY_SYMBOL = {"circle": "circle", "square": "square", "diamond": "diamond", "triangle": "diamond"}


def _hover_value(v):
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


def plotly_hover(plot, element):
    """HoloViews plotly hook: the hover text of every point of a :class:`holoviews.Scatter3D` lists all the
    element's dimensions (coordinates and value columns such as the kind and the eigenvalues of an
    equilibrium), one per line, with their labels; other elements are left alone. Set it on the overlay
    (``overlay.opts(hv.opts.Overlay(hooks=[viz.plotly_hover], backend="plotly"))``), where it runs on each
    element; :func:`plotly_legend` does it too. (An element's own hooks replace those of its overlay, which is
    why :func:`equilibrium_points_3d` sets none.)"""
    if not isinstance(element, hv.Scatter3D) or isinstance(element, hv.TriSurface) or not element.vdims:
        return
    traces = plot.state.get("data", [])
    if not traces:
        return
    dims = element.dimensions()
    cols = [element.dimension_values(d) for d in dims]
    text = ["<br>".join(f"{d.pprint_label} = {_hover_value(c[i])}" for d, c in zip(dims, cols))
            for i in range(len(element))]
    traces[0]["hovertext"] = text
    traces[0]["hoverinfo"] = "text+name"


def equilibrium_points_3d(states, kinds, dims=(0, 1, 2), size=6, names=None, eigenvalues=None,
                          eigenvalue_label="leaf eigenvalues", label=None, kdims=None, extra=None):
    """Equilibria in 3D (plotly), one element per kind, with the markers of :data:`KIND_MARKERS`
    (plotly symbols: filled circle, open square, half-tone diamond). Hovering shows the coordinates, the
    kind and the eigenvalues (as in :func:`equilibrium_points`; ``label``, ``kdims`` and
    ``extra`` as there) when the overlay has the hook :func:`plotly_legend` or :func:`plotly_hover`."""
    rows, kinds = _equilibrium_rows(states, kinds, dims, eigenvalues, extra)
    kd = list(kdims) if kdims is not None else _wdims(dims, names)
    vd = [dim("kind"), dim("eigenvalues", eigenvalue_label)] + _extra_dims(extra)
    els = []
    for kind in dict.fromkeys(kinds):
        sel = [r for r, k in zip(rows, kinds) if k == kind]
        marker, fill = KIND_MARKERS[_kind_key(kind)]
        symbol = _PLOTLY_SYMBOL[marker] + ("-open" if fill == "open" else "")
        els.append(hv.Scatter3D(sel, kdims=kd, vdims=vd, label=_label_of(label, kind)).opts(
            color=kind_color(kind), size=size, marker=symbol, opacity=0.55 if fill == "half" else 1.0,
            backend="plotly"))
    return hv.Overlay(els)


def holomap(frames, kdims, backend=None, **overlay_opts):
    """A :class:`holoviews.HoloMap` of overlays (sliders over ``kdims``) drawn *framewise*.

    By default HoloViews normalizes the axis ranges of every element over all frames, and redoes it at
    every slider step; embedding the frames in a static page (Panel's ``embed=True``) then costs
    seconds per frame. Framewise ranges avoid that; pass ``xlim``/``ylim`` so that the axes stay put.

    Every frame must hold the same layers (element type, group and label, in the same order; data may
    be empty): HoloViews matches the layers of an overlay across frames by those keys, and a layer
    that only some frames have keeps its last data in an embedded page when the slider moves on
    (a ``ValueError`` says which frame differs).

    ``backend``: the backend the options are for (``"plotly"`` for frames of 3D elements; default: the
    current one).
    """
    bk = {} if backend is None else {"backend": backend}

    def layers(fr):
        els = fr.values() if isinstance(fr, hv.Overlay) else [fr]
        return [(type(el).__name__, el.group, el.label) for el in els]

    items = list(frames.items())
    ref_key, ref = items[0][0], layers(items[0][1])
    for key, fr in items[1:] if isinstance(items[0][1], hv.Overlay) else []:   # a single element is one layer
        if layers(fr) != ref:
            raise ValueError(f"frames: the frame {key!r} has the layers {layers(fr)}, but {ref_key!r} has {ref}; "
                             "give every frame the same layers (constant labels, empty elements where needed)")
    hm = hv.HoloMap(frames, kdims=kdims)
    types = set()
    overlays = all(isinstance(fr, hv.Overlay) for fr in hm.values())
    for fr in hm.values():
        for el in (fr.values() if isinstance(fr, hv.Overlay) else [fr]):
            types.add(type(el).__name__)
    if overlays:
        opts = [getattr(hv.opts, t)(framewise=True, **bk) for t in sorted(types) if hasattr(hv.opts, t)]
        opts.append(hv.opts.Overlay(framewise=True, **bk, **overlay_opts))
    else:                              # frames are single elements: the options go to them
        opts = [getattr(hv.opts, t)(framewise=True, **bk, **overlay_opts) for t in sorted(types)
                if hasattr(hv.opts, t)]
    return hm.opts(*opts)


# ---------------------------------------------------------------------------------- time series
_T = dim("t", "t")


def _traj_member(traj, member, tmin=None):
    t, x, L = np.asarray(traj.t), np.asarray(traj.x), np.asarray(traj.loss)
    if x.ndim == 3:
        x, L = x[:, member], L[:, member]
    if tmin is not None:              # e.g. drop t = 0 for a logarithmic time axis
        keep = t >= tmin
        t, x, L = t[keep], x[keep], L[keep]
    return t, x, L


def loss_curve(traj, member=0, label="𝓛(t)", logy=True, color="black", tmin=None):
    """The loss ``𝓛(A(t))`` against time (``tmin``: first time shown, e.g. for a log time axis)."""
    t, _, L = _traj_member(traj, member, tmin)
    floor = 1e-12 * max(float(np.max(L)), 1.0)
    return hv.Curve((t, np.maximum(L, floor)), _T, dim("L", "𝓛"), label=label).opts(
        logy=logy, color=color, line_width=2.5)


def singular_value_curves(net, traj, of="product", member=0, colors=None, max_points=600, tmin=None):
    """Singular values against time: ``of="product"`` those of ``A^h`` (the ``d_y`` values of
    ``W_{1:h}``), ``of="layers"`` those of every layer (= the nonzero ones of ``A``, Prop. 39), one
    colour per layer, ``of="A"`` the singular values of A in decreasing order."""
    from . import structure

    t, x, _ = _traj_member(traj, member, tmin)
    idx = _thin(len(t), max_points)
    t, x = t[idx], x[idx]
    colors = colors or PALETTE
    els = []
    if of == "product":
        s = structure.singular_values_product(net, x)
        for j in range(s.shape[1]):
            els.append(hv.Curve((t, s[:, j]), _T, dim("s", "singular values of Aʰ"),
                                label=f"σ{_sub(j + 1)}(Aʰ)").opts(color=colors[j % len(colors)], line_width=2.5))
    elif of == "layers":
        per = structure.layer_singular_values(net, x)
        for i, s in enumerate(per):           # one legend entry per layer: its curves joined with NaN breaks
            tt = np.concatenate([np.append(t, np.nan) for _ in range(s.shape[1])])
            ss = np.concatenate([np.append(s[:, j], np.nan) for j in range(s.shape[1])])
            els.append(hv.Curve((tt, ss), _T, dim("s", "singular values of A"),
                                label=f"layer W{_sub(i + 1)}").opts(color=colors[i % len(colors)], line_width=1.6))
    elif of == "A":
        s = structure.singular_values(net, x)
        for j in range(s.shape[1]):
            els.append(hv.Curve((t, s[:, j]), _T, dim("s", "singular values of A")).opts(
                color=colors[j % len(colors)], line_width=1.2))
    else:
        raise ValueError(f"of: expected 'product', 'layers' or 'A', got {of!r}")
    return hv.Overlay(els)


def frobenius_curve(net, traj, member=0, color="#1f77b4", max_points=600, tmin=None):
    """``‖A(t)‖_F`` (not monotone in general, Prop. 9) against time."""
    t, x, _ = _traj_member(traj, member, tmin)
    idx = _thin(len(t), max_points)
    return hv.Curve((t[idx], np.linalg.norm(x[idx], axis=-1)), _T, dim("normA", "‖A‖ (Frobenius)"),
                    label="‖A‖ (Frobenius)").opts(color=color, line_width=2.5)


def alignment_curves(net, traj, member=0, directions=None, colors=None, max_points=600, tmin=None):
    """Misalignment ``‖[V_{k+1}ᵀ U_k]_{1:r,1:r} − I‖²_F``, k = 1..h−1, against time (Section 6.1)."""
    from . import structure

    t, x, _ = _traj_member(traj, member, tmin)
    idx = _thin(len(t), max_points)
    t, x = t[idx], x[idx]
    a = structure.alignment(net, x, directions=directions)
    colors = colors or PALETTE
    return hv.Overlay([hv.Curve((t, a[:, k]), _T, dim("align", "‖Vₖ₊₁ᵀUₖ − I‖² (Frobenius)"),
                                label=f"k = {k + 1}").opts(color=colors[k % len(colors)], line_width=2)
                       for k in range(a.shape[1])])


def plateau_marks(itin, y="loss", logy=False, span_alpha=0.10, tmin=None):
    """Shaded plateaus of an :class:`~dlnsys.separatrices.Itinerary`, each labelled with its signature
    ``S = {...}``. A label sits at its plateau's start (the last plateau's, if the trajectory ends on it, at
    the end, right-aligned), at height ``y``: a number, or ``"loss"`` for the plateau's loss, i.e. on the
    step of the loss curve."""
    spans, left, right = [], [], []
    t0 = itin.t_start if tmin is None else max(itin.t_start, tmin)
    for k, p in enumerate(itin):
        t1 = p.t_exit if p.t_exit is not None else itin.t_end
        spans.append(hv.VSpan(max(p.t_enter, t0), t1).opts(color=PALETTE[k % len(PALETTE)], alpha=span_alpha))
        yy = p.loss if y == "loss" else y
        if logy:
            yy = max(yy, 1e-9)
        text = " S = " + label_of_signature(p.signature) + " "
        if p.t_exit is None:                 # the trajectory ends on this plateau: label at the end
            right.append((itin.t_end, yy, text))
        else:
            left.append((max(p.t_enter, t0), yy, text))
    kd = [_T, dim("L", "𝓛")]
    style = dict(text_font_size="9pt", text_color="#222", text_baseline="bottom")
    return hv.Overlay(spans + [hv.Labels(left, kd, "text").opts(text_align="left", **style),
                               hv.Labels(right, kd, "text").opts(text_align="right", **style)])


def _thin(n, m):
    if n <= m:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, m).round().astype(int))


# ---------------------------------------------------------------------------------- arcs, branches
def arc_curves(arcs, colors=None, closed_form=True):
    """``𝓛(A(α))`` along arcs of Theorem 24 (:class:`~dlnsys.arcs.Arc`), one curve each; dots mark the
    values sampled on the states, the line the closed form."""
    colors = colors or PALETTE
    els = []
    for k, a in enumerate(arcs):
        name = f"{label_of_signature(a.S1)} → {label_of_signature(a.S2)}"
        c = colors[k % len(colors)]
        if closed_form:
            els.append(hv.Curve((a.alpha, a.loss_closed_form), dim("alpha", "α"), dim("L", "𝓛(A(α))"),
                                label=name).opts(color=c, line_width=2.5))
        sub = _thin(len(a.alpha), 11)
        els.append(hv.Scatter((a.alpha[sub], a.loss[sub]), dim("alpha", "α"), dim("L", "𝓛(A(α))"),
                              label=name).opts(color=c, size=6, marker="circle"))
    return hv.Overlay(els)


def _runs(labels):
    out = []
    for k, s in enumerate(labels):
        if not out or out[-1][0] != s:
            out.append([s, k, k])
        out[-1][2] = k
    return out


def branch_plot(branch, y=None, ylabel="w₁", xlabel=None, color="#1f77b4", label=None, special=True,
                recurse=True):
    """A :class:`~dlnsys.continuation.Branch`: solid where stable on its leaf, dashed red where unstable,
    dotted where neutral, special points (LP, BP) as labelled diamonds. ``y`` maps a state array
    ``(N, n)`` to the plotted values (default: the first component). Branches switched to at a BP are
    drawn too (``recurse``). One legend entry per stability class."""
    y = y or (lambda S: np.asarray(S)[:, 0])
    xlabel = xlabel or _param_symbol(branch.param)
    kx, ky = dim("p", xlabel), dim("y", ylabel)
    branches = list(branch.all_branches()) if recurse else [branch]
    segments = {}
    for b in branches:
        p = np.asarray(b.parameter)
        v = np.asarray(y(np.asarray(b.states)))
        for stab, a, e in _runs(b.stability):
            e2 = min(e + 1, len(p) - 1)          # connect to the next run
            segments.setdefault(stab, []).append(np.column_stack([p[a:e2 + 1], v[a:e2 + 1]]))
    style = {"stable": dict(color=color, line_dash="solid"), "unstable": dict(color="#d62728", line_dash="dashed"),
             "neutral": dict(color="#7f7f7f", line_dash="dotted")}
    els = []
    for stab in ("stable", "unstable", "neutral"):
        if stab in segments:
            xy = _joined(segments[stab], (0, 1))
            name = f"{label}, {stab}" if label else stab
            els.append(hv.Curve((xy[:, 0], xy[:, 1]), kx, ky, label=name).opts(line_width=3, **style[stab]))
    if special:
        els.extend(special_points(branches, y=y, xlabel=xlabel, ylabel=ylabel).values())
    return hv.Overlay(els)


def special_points(branches, y=None, xlabel="p", ylabel="w₁", types=("LP", "BP"), tol=1e-5):
    """The folds (LP) and branch points (BP) of :class:`~dlnsys.continuation.Branch` objects (and of the
    branches switched to at a BP) as black diamonds labelled with their type in bold, on the axes
    ``(parameter, y(state))`` of :func:`branch_plot`; hovering shows the type, the parameter, the state and
    the eigenvalues of the Jacobian on the leaf there (one of them crosses zero). A point met twice (a BP is
    the end of the branches switched to there, or where two branches meet) is drawn once: points of the same type within
    ``tol`` (relative to ``1 + |value|``) in both coordinates are one. ``branches``: a
    :class:`~dlnsys.continuation.Branch` (with the branches switched to) or a list of branches. Returns an
    overlay of the points and their labels, empty when there is no such point."""
    y = y or (lambda S: np.asarray(S)[:, 0])
    kx, ky = dim("p", xlabel), dim("y", ylabel)
    if not isinstance(branches, (list, tuple)):
        branches = list(branches.all_branches())
    pts = []
    for b in branches:
        for sp in b.special_points:
            if sp.type not in types:
                continue
            yv = float(np.asarray(y(np.asarray(sp.state)[None]))[0])
            if any(q[2] == sp.type and abs(sp.parameter - q[0]) <= tol * (1 + abs(q[0]))
                   and abs(yv - q[1]) <= tol * (1 + abs(q[1])) for q in pts):
                continue
            state = "(" + ", ".join(f"{v:.4g}" for v in np.atleast_1d(sp.state)) + ")"
            pts.append((float(sp.parameter), yv, sp.type, state, _fmt_eigenvalues(sp.eigenvalues)))
    if not pts:
        return hv.Overlay([])
    vd = [dim("type", "special point"), dim("state"), dim("eigenvalues", "leaf eigenvalues")]
    marks = hv.Points(pts, [kx, ky], vd, label="LP fold, BP branch point").opts(
        color="black", marker="diamond", size=14, tools=["hover"])
    text = hv.Labels([(q[0], q[1], "  " + q[2]) for q in pts], [kx, ky], dim("text", "special point")).opts(
        text_font_size="11pt", text_align="left", text_baseline="bottom", text_font_style="bold",
        text_color="black")
    return hv.Overlay([marks, text])


def _param_symbol(param):
    if param.startswith("gamma"):
        return "γ"
    if param.startswith("sigma"):
        return "σ" + _sub(param[5:])
    if param.startswith("c"):
        return "c" + _sub(param[1:])
    return param


# ---------------------------------------------------------------------------------- spectra
def spectrum_scatter(rows, jitter=0.18, seed=0):
    """Eigenvalues at several critical points: ``rows`` are ``(label, kind, eigenvalues)``; x is the
    point's position (categories ``label``), y the eigenvalue, colour the kind."""
    rng = np.random.default_rng(seed)
    by_kind = {}
    ticks = []
    for i, (lab, kind, ev) in enumerate(rows):
        ev = np.asarray(ev, float)
        xs = i + rng.uniform(-jitter, jitter, ev.size)
        by_kind.setdefault(kind, []).append(np.column_stack([xs, ev, np.full(ev.size, i)]))
        ticks.append((i, lab))
    els = [hv.HLine(0).opts(color="#999", line_width=1)]
    for kind, arrs in by_kind.items():
        a = np.vstack(arrs)
        els.append(hv.Scatter(a[:, :2], dim("point", "critical point (signature S)"),
                              dim("lam", "eigenvalues λ of the Jacobian −∇²𝓛"), label=kind).opts(
            color=kind_color(kind), size=6, alpha=0.8, tools=["hover"]))
    return hv.Overlay(els).opts(hv.opts.Scatter(xticks=ticks))


# ---------------------------------------------------------------------------------- graph
def network_graph(net, x, vmax=None, width_scale=6.0):
    """The network as a layered graph (``net.to_networkx``, placed by ``networkx.multipartite_layout``
    on its ``layer`` attribute: inputs left, outputs right), edges coloured by the sign and
    width-scaled by the size of their weight (``vmax``: the weight of the widest edge)."""
    import networkx as nx

    G = net.to_networkx(x)
    raw = nx.multipartite_layout(G, subset_key="layer", align="vertical", scale=1.0)
    # keep networkx's spacing but order each layer by unit index, index 0 on top (no crossing for a diagonal A)
    pos = {}
    for layer in sorted({d["layer"] for _, d in G.nodes(data=True)}):
        members = sorted((n for n, d in G.nodes(data=True) if d["layer"] == layer), key=lambda n: G.nodes[n]["index"])
        ys = sorted((float(raw[n][1]) for n in members), reverse=True)
        for n, y in zip(members, ys):
            pos[n] = (float(raw[n][0]), y)
    nodes = list(G.nodes)
    index = {n: k for k, n in enumerate(nodes)}
    src, dst, w = [], [], []
    for a, b, data in G.edges(data=True):
        src.append(index[a])
        dst.append(index[b])
        w.append(data["weight"])
    w = np.asarray(w, float)
    vmax = vmax or max(float(np.max(np.abs(w))) if w.size else 1.0, 1e-12)
    xs = np.array([pos[n][0] for n in nodes])
    ys = np.array([pos[n][1] for n in nodes])
    layer = np.array([G.nodes[n]["layer"] for n in nodes])
    node_el = hv.Nodes((xs, ys, np.arange(len(nodes)), layer), vdims=[dim("layer", "layer")])
    width = 0.3 + width_scale * np.abs(w) / vmax
    graph = hv.Graph(((src, dst, w, width), node_el), vdims=[dim("weight", "weight"), "width"])
    return graph.opts(edge_color="weight", edge_cmap="RdBu_r", edge_line_width="width", node_size=9,
                      node_color="#333", clim=(-vmax, vmax), xaxis=None, yaxis=None, colorbar=True,
                      edge_alpha=0.85, tools=["hover"])


# ---------------------------------------------------------------------------------- basins
def basin_image(result, shape, xlim, ylim, dims=(0, 1), names=None, order=None, colors=None, group=None):
    """A :class:`~dlnsys.separatrices.Basins` on a regular grid (``shape = (ny, nx)``, row-major from
    ``ylim[0]``) as an image of class indices with a legend of the classes (the limit equilibria).
    ``group`` maps a class label to the label shown (to merge classes); ``order`` lists the shown labels
    in colour order (others follow); returns ``(overlay, classes)``."""
    labels = [group(lab) for lab in result.labels] if group else list(result.labels)
    if order is not None:
        order = list(order) + sorted(set(labels) - set(order))
    classes = order or sorted(dict.fromkeys(labels), key=lambda s: (s.count(","), s))
    code = {c: k for k, c in enumerate(classes)}
    img = np.flipud(np.array([code[s] for s in labels], float).reshape(shape))   # hv.Image rows run top-down
    colors = colors or PALETTE
    kd = _wdims(dims, names)
    cmap = [colors[k % len(colors)] for k in range(len(classes))]
    image = hv.Image(img, kdims=kd, vdims=[dim("cls", "limit class")],
                     bounds=(xlim[0], ylim[0], xlim[1], ylim[1])).opts(
        cmap=cmap, clim=(-0.5, len(classes) - 0.5), colorbar=False, alpha=0.75)
    legend = [hv.Points([(np.nan, np.nan)], kd, label=c).opts(color=cmap[k], size=12, marker="square")
              for k, c in enumerate(classes)]
    return hv.Overlay([image] + legend), classes

# ---------------------------------------------------------------------------------- triangle meshes (3D)
import param as _param  # noqa: E402  (holoviews depends on param)

__all__ += ["mesh_3d", "Mesh3D"]


class Mesh3D(hv.TriSurface):
    """A triangle mesh in 3D with *given* triangles (drawn as a plotly ``mesh3d`` trace).

    :class:`holoviews.TriSurface` re-triangulates its points (Delaunay in x, y), which is wrong for a
    surface that folds over the x-y plane, such as an :class:`~dlnsys.surfaces.InvariantSurface`;
    this element keeps the triangles: ``Mesh3D(points (V, 3), triangles=(T, 3) int array)``.
    """

    group = _param.String(default="Mesh3D", constant=True)
    triangles = _param.Array(default=None, doc="Vertex indices of the triangles, shape (T, 3).")


def _register_mesh3d():
    try:
        from holoviews.plotting.plotly.chart3d import Chart3DPlot
    except ImportError:  # pragma: no cover - plotly is part of the gallery extra
        return

    class Mesh3DPlot(Chart3DPlot):
        style_opts = ["color", "alpha", "flatshading", "lighting", "visible"]

        @classmethod
        def trace_kwargs(cls, is_geo=False, **kwargs):
            return {"type": "mesh3d"}

        def get_data(self, element, ranges, style, **kwargs):
            T = element.triangles
            T = np.zeros((0, 3), dtype=int) if T is None else np.asarray(T, dtype=int).reshape(-1, 3)
            return [dict(x=element.dimension_values(0), y=element.dimension_values(1),
                         z=element.dimension_values(2), i=T[:, 0], j=T[:, 1], k=T[:, 2])]

        def graph_options(self, element, ranges, style, **kwargs):
            opts = super().graph_options(element, ranges, style, **kwargs)
            opts["showlegend"] = bool(element.label)
            return opts

    hv.Store.register({Mesh3D: Mesh3DPlot}, "plotly")


_register_mesh3d()


def mesh_3d(vertices, triangles, label="", color="#1f3b99", alpha=0.45, names=None, decimals=4):
    """A triangle mesh (plotly backend) from 3-D ``vertices`` (V, 3) and ``triangles`` (T, 3) vertex
    indices, e.g. an :class:`~dlnsys.surfaces.InvariantSurface`'s ``vertices`` mapped to 3-D
    coordinates and its ``triangles``. Coordinates are rounded to ``decimals`` digits (a smaller
    page). An empty mesh is allowed (a HoloMap frame without the surface)."""
    V = np.asarray(vertices, float).reshape(-1, 3)
    T = np.asarray(triangles, dtype=int).reshape(-1, 3)
    kd = _wdims((0, 1, 2), names)
    return Mesh3D(np.round(V, decimals), kdims=kd, label=label, triangles=T).opts(
        color=color, alpha=alpha, backend="plotly")
