"""Click-to-integrate for static Bokeh phase planes: the browser integrates the flow from a clicked point.

:func:`dlnsys.viz.click_to_integrate` returns a HoloViews hook built here. The hook adds to the plot a
``ColumnDataSource`` of drawn trajectories, start markers and arrowheads, and a ``CustomJS`` tap
callback whose code carries everything it needs: the model (``dlnsys.emit.javascript.javascript_model``
of the same :class:`~dlnsys.emit.spec.OdeSpec` that the model files come from) and the integrator
below. No Python server: the page works from disk.

The integrator is Dormand-Prince 5(4) (the pair of ``scipy.integrate.RK45``) with the usual error
control (RMS norm of the local error against ``atol + rtol max(|y|, |y_new|)``, step factor
``0.9 err^(-1/5)`` clipped to [0.2, 5]); from the click it runs forward and backward in time and stops
at an equilibrium (``|f| <= eq_tol (1 + |x|)``), at the plot's edge (the projected point leaves the
visible ranges by more than 5 %), at ``t_max``, or after ``max_steps`` steps (every loop is bounded).
Each drawn path keeps its times (column ``ts``), so a test can compare it with ``dlnsys.simulate``.

The clicked starts are kept in the URL hash (``#<key>=x,y;x,y``), so a view can be shared; the page
restores them on load (the gallery's page template calls every callback tagged ``dlnsys-click`` with
``{restore: true}``), and ``window.dlnsysTrace.clear()`` (the page's "clear" button) removes them.
"""
from __future__ import annotations

import json

__all__ = ["INTEGRATOR_JS", "RESTORE_JS", "click_hook"]

#: Defines ``window.dlnsysTrace`` once per page: the integrator, the per-plot registry, the URL hash.
INTEGRATOR_JS = r"""
if (!window.dlnsysTrace) window.dlnsysTrace = (function () {
  const A = [[], [1/5], [3/40, 9/40], [44/45, -56/15, 32/9], [19372/6561, -25360/2187, 64448/6561, -212/729],
             [9017/3168, -355/33, 46732/5247, 49/176, -5103/18656], [35/384, 0, 500/1113, 125/192, -2187/6784, 11/84]];
  const C = [0, 1/5, 3/10, 4/5, 8/9, 1, 1];
  const B = [35/384, 0, 500/1113, 125/192, -2187/6784, 11/84, 0];
  const E = [71/57600, 0, -71/16695, 71/1920, -17253/339200, 22/525, -1/40];   // B - B_hat (4th order)
  const norm = (v) => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
  function integrate(f, x0, dir, o) {
    // f(t, x) -> dx/dt; dir = +1 forward, -1 backward; o: rtol, atol, t_max, max_steps, eq_tol, inside(x)
    const n = x0.length, g = (t, x) => f(dir * t, x).map((v) => dir * v);
    let t = 0, x = x0.slice(), k1 = g(t, x), status = "t_max", steps = 0;
    const ts = [0], xs = [x.slice()];
    let h = Math.min(0.01, o.t_max), fsal = k1;
    while (t < o.t_max) {
      if (steps >= o.max_steps) { status = "max_steps"; break; }
      if (norm(fsal) <= o.eq_tol * (1 + norm(x))) { status = "equilibrium"; break; }
      if (h < 1e-12 * Math.max(1, t)) { status = "step_too_small"; break; }
      h = Math.min(h, o.t_max - t);
      const K = [fsal];
      for (let s = 1; s < 7; s++) {
        const y = x.slice();
        for (let j = 0; j < s; j++) { const a = A[s][j]; if (a !== 0) for (let i = 0; i < n; i++) y[i] += h * a * K[j][i]; }
        K.push(g(t + C[s] * h, y));
        if (s === 6) K.ynew = y;
      }
      const ynew = K.ynew;
      let err = 0;
      for (let i = 0; i < n; i++) {
        let e = 0;
        for (let s = 0; s < 7; s++) e += E[s] * K[s][i];
        const sc = o.atol + o.rtol * Math.max(Math.abs(x[i]), Math.abs(ynew[i]));
        err += (h * e / sc) ** 2;
      }
      err = Math.sqrt(err / n);
      steps += 1;
      if (!isFinite(err)) { h *= 0.2; continue; }
      if (err <= 1) {
        t += h; x = ynew; fsal = K[6];
        ts.push(dir * t); xs.push(x.slice());
        if (!o.inside(x)) { status = "edge"; break; }
        h *= Math.min(5, 0.9 * Math.pow(Math.max(err, 1e-10), -0.2));
      } else {
        h *= Math.max(0.2, 0.9 * Math.pow(err, -0.2));
      }
    }
    return {ts: ts, xs: xs, status: status, steps: steps};
  }
  const plots = {};
  function readHash() {
    const out = {};
    for (const part of (location.hash || "").replace(/^#/, "").split("&")) {
      const [k, v] = part.split("=");
      if (!k || !v) continue;
      out[decodeURIComponent(k)] = decodeURIComponent(v).split(";").map((p) => p.split(",").map(Number))
        .filter((p) => p.length === 2 && p.every(isFinite));
    }
    return out;
  }
  function writeHash() {
    const parts = [];
    for (const k of Object.keys(plots).sort()) {
      const c = plots[k].clicks;
      if (c.length) parts.push(encodeURIComponent(k) + "=" + c.map((p) => p.map((v) => +v.toPrecision(6)).join(",")).join(";"));
    }
    const hash = parts.length ? "#" + parts.join("&") : "";
    try { history.replaceState(null, "", location.pathname + location.search + hash); }
    catch (e) { location.hash = hash; }
  }
  function draw(P, px, py) {
    const o = P.opts, m = P.model, [i, j] = o.dims;
    const xr = P.xr, yr = P.yr, mx = 0.05 * (xr.end - xr.start), my = 0.05 * (yr.end - yr.start);
    const lo = [Math.min(xr.start, xr.end) - Math.abs(mx), Math.min(yr.start, yr.end) - Math.abs(my)];
    const hi = [Math.max(xr.start, xr.end) + Math.abs(mx), Math.max(yr.start, yr.end) + Math.abs(my)];
    const inside = (x) => x[i] >= lo[0] && x[i] <= hi[0] && x[j] >= lo[1] && x[j] <= hi[1];
    const fr = frameContext(P);
    const x0 = fr.base.slice(); x0[i] = px; x0[j] = py;
    const f = (t, x) => m.rhs(t, x, fr.params);
    const d = {xs: [], ys: [], ts: [], direction: [], status: []};
    const ar = {x0: [], y0: [], x1: [], y1: []};
    for (const dir of [1, -1]) {
      const r = integrate(f, x0, dir, {rtol: o.rtol, atol: o.atol, t_max: o.t_max, max_steps: o.max_steps,
                                       eq_tol: o.eq_tol, inside: inside});
      d.xs.push(r.xs.map((x) => x[i])); d.ys.push(r.xs.map((x) => x[j])); d.ts.push(r.ts);
      d.direction.push(dir > 0 ? "forward" : "backward"); d.status.push(r.status);
      // an arrowhead half way along the path (by arclength), pointing the way time runs
      const px_ = d.xs[d.xs.length - 1], py_ = d.ys[d.ys.length - 1];
      let L = 0; const cum = [0];
      for (let k = 1; k < px_.length; k++) { L += Math.hypot(px_[k] - px_[k-1], py_[k] - py_[k-1]); cum.push(L); }
      if (L > 1e-9) {
        let k = cum.findIndex((c) => c >= L / 2); k = Math.max(1, k);
        const a = dir > 0 ? k - 1 : k, b = dir > 0 ? k : k - 1;
        ar.x0.push(px_[a]); ar.y0.push(py_[a]); ar.x1.push(px_[b]); ar.y1.push(py_[b]);
      }
    }
    const old = P.src.data, olda = P.arrows.data, olds = P.starts.data;
    const cat = (a, b) => Array.from(a || []).concat(b);
    P.src.data = {xs: cat(old.xs, d.xs), ys: cat(old.ys, d.ys), ts: cat(old.ts, d.ts),
                  direction: cat(old.direction, d.direction), status: cat(old.status, d.status)};
    P.arrows.data = {x0: cat(olda.x0, ar.x0), y0: cat(olda.y0, ar.y0), x1: cat(olda.x1, ar.x1), y1: cat(olda.y1, ar.y1)};
    P.starts.data = {x: cat(olds.x, [px]), y: cat(olds.y, [py])};
  }
  function frameContext(P) {
    // a HoloMap frame may change the parameters and the fixed coordinates: read them from ctx
    const d = P.ctx ? P.ctx.data : null, get = (k) => d ? (d instanceof Map ? d.get(k) : d[k]) : null;
    const pj = get("params_json"), bj = get("base_json");
    return {params: pj && pj.length ? JSON.parse(pj[0]) : P.opts.params,
            base: bj && bj.length ? JSON.parse(bj[0]) : P.opts.base};
  }
  function redraw(P) {
    // the frame changed: recompute the kept clicks with the new frame's parameters
    const clicks = P.clicks.slice();
    clearPlot(P);
    P.clicks = clicks;
    for (const [x, y] of clicks) draw(P, x, y);
  }
  function clearPlot(P) {
    P.clicks = [];
    P.src.data = {xs: [], ys: [], ts: [], direction: [], status: []};
    P.arrows.data = {x0: [], y0: [], x1: [], y1: []};
    P.starts.data = {x: [], y: []};
  }
  return {
    integrate: integrate, plots: plots,
    handle: function (key, P, event, data) {
      if (!plots[key]) { P.clicks = []; plots[key] = P; }
      const Q = plots[key];
      if (data && data.frame) { redraw(Q); return; }
      if (data && data.restore) {
        const saved = readHash()[key] || [];
        if (Q.clicks.length === 0) for (const [x, y] of saved) { Q.clicks.push([x, y]); draw(Q, x, y); }
        return;
      }
      if (!event || !isFinite(event.x) || !isFinite(event.y)) return;
      Q.clicks.push([event.x, event.y]);
      draw(Q, event.x, event.y);
      writeHash();
    },
    clear: function () { for (const k of Object.keys(plots)) clearPlot(plots[k]); writeHash(); },
  };
})();
"""

#: For the page template: after Bokeh has built the documents, replay the clicks saved in the URL hash.
RESTORE_JS = r"""
(function () {
  let tries = 0;
  function replay() {
    const docs = (window.Bokeh && Bokeh.documents) || [];
    let found = 0;
    for (const doc of docs) for (const m of doc.all_models)
      if (m.tags && Array.from(m.tags).includes("dlnsys-click")) { found += 1; m.execute(null, {restore: true}); }
    if (found > 0) { const help = document.getElementById("dlnsys-click-help"); if (help) help.hidden = false; }
    else if (tries++ < 100) setTimeout(replay, 200);
  }
  window.addEventListener("load", () => setTimeout(replay, 100));
})();
"""


def _callback_code(model_js, key, opts):
    return (INTEGRATOR_JS
            + f"\nconst model = {model_js};\n"
            + f"window.dlnsysTrace.handle({json.dumps(key)}, {{model: model, opts: {json.dumps(opts)}, src: src, "
            + "starts: starts, arrows: arrows, xr: xr, yr: yr, ctx: ctx}, cb_obj, cb_data);\n")


def click_hook(spec, *, key, dims=(0, 1), base=None, params=None, t_max=200.0, rtol=1e-10, atol=1e-12,
               max_steps=20000, eq_tol=1e-9, color="#7b3294"):
    """A HoloViews (bokeh) hook adding click-to-integrate to a 2-D plot of ``spec``'s state.

    See :func:`dlnsys.viz.click_to_integrate` (the public entry point) for the parameters.
    """
    from .emit.javascript import javascript_model

    n = len(spec.variables)
    dims = tuple(int(d) for d in dims)
    if len(dims) != 2 or dims[0] == dims[1] or not all(0 <= d < n for d in dims):
        raise ValueError(f"dims: two distinct state indices in 0..{n - 1}, got {dims}")
    def check_base(b):
        b = [0.0] * n if b is None else [float(v) for v in b]
        if len(b) != n or not all(abs(v) < float("inf") for v in b):
            raise ValueError(f"base: expected {n} finite values (one per state variable), got {b!r}")
        return b

    def check_params(pr):
        pr = dict(spec.parameters, **(pr or {}))
        unknown = sorted(set(pr) - set(spec.parameters))
        if unknown:
            raise ValueError(f"params: unknown parameter(s) {unknown}; the spec has {list(spec.parameters)}")
        return {k: float(v) for k, v in pr.items()}

    # callables of the HoloMap frame key give per-frame values (e.g. sigma of a slider)
    base_of = base if callable(base) else (lambda key, b=check_base(base): b)
    params_of = params if callable(params) else (lambda key, p=check_params(params): p)
    for name, v in (("t_max", t_max), ("rtol", rtol), ("atol", atol), ("eq_tol", eq_tol)):
        if not (isinstance(v, (int, float)) and 0 < v < float("inf")):
            raise ValueError(f"{name}: a positive finite number, got {v!r}")
    if not (isinstance(max_steps, int) and 1 <= max_steps <= 10**6):
        raise ValueError(f"max_steps: an integer in 1..1000000, got {max_steps!r}")
    opts = dict(dims=list(dims), base=check_base(None if callable(base) else base),
                params=check_params(None if callable(params) else params), t_max=float(t_max),
                rtol=float(rtol), atol=float(atol), max_steps=max_steps, eq_tol=float(eq_tol))
    code = _callback_code(javascript_model(spec), key, opts)

    def hook(plot, element):
        from bokeh.models import Arrow, ColumnDataSource, CustomJS, VeeHead

        fig = plot.state
        frame = getattr(plot, "current_key", None)
        # the frame key is part of the context on purpose: Panel's embed records, for each slider state,
        # only the changes since the state it visited before; a context that differs in every frame is
        # recorded in every state (else a change of only the outer slider would be lost)
        context = dict(params_json=[json.dumps(check_params(params_of(frame)))],
                       base_json=[json.dumps(check_base(base_of(frame)))], frame=[repr(frame)])
        ctx = getattr(plot, "_dlnsys_click_ctx", None)
        if ctx is not None:                          # a new frame of a HoloMap: new parameters, same glyphs
            if dict(ctx.data) != context:
                ctx.data = context
            return
        fig.tags = list(fig.tags) + [f"dlnsys-click:{key}"]
        ctx = ColumnDataSource(data=context, name=f"dlnsys-click-ctx-{key}")
        plot._dlnsys_click_ctx = ctx
        src = ColumnDataSource(data=dict(xs=[], ys=[], ts=[], direction=[], status=[]), name=f"dlnsys-click-{key}")
        starts = ColumnDataSource(data=dict(x=[], y=[]), name=f"dlnsys-click-starts-{key}")
        arrows = ColumnDataSource(data=dict(x0=[], y0=[], x1=[], y1=[]), name=f"dlnsys-click-arrows-{key}")
        fig.multi_line("xs", "ys", source=src, line_color=color, line_width=2.4, line_alpha=0.95)
        fig.add_layout(Arrow(end=VeeHead(size=11, fill_color=color, line_color=color), source=arrows,
                             x_start="x0", y_start="y0", x_end="x1", y_end="y1", line_alpha=0.0))
        fig.scatter("x", "y", source=starts, marker="circle", size=9, fill_color="white", line_color=color,
                    line_width=2)
        cb = CustomJS(args=dict(src=src, starts=starts, arrows=arrows, xr=fig.x_range, yr=fig.y_range, ctx=ctx),
                      code=code, tags=["dlnsys-click", key])
        fig.js_on_event("tap", cb)
        # a slider moved to another frame: redraw the kept clicks with that frame's parameters
        ctx.js_on_change("data", CustomJS(args=dict(cb=cb), code="cb.execute(null, {frame: true});"))

    return hook
