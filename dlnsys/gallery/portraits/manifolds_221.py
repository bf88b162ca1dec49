"""Beyond the paper: the curves of global minima of Network([2, 2, 1]) on several leaves, with trajectories."""
from __future__ import annotations

from .._registry import Block, Portrait

SIGMA = 1.5
SCALE = 1.0
LEAF_SEEDS = [0, 2, 11]       # Gaussian inits gaussian(net, scale=SCALE, seed=s): two indefinite leaves, one definite
N_EXTRA = 3                    # more starts on each leaf (dlnsys.init.on_leaf)
T_FINAL = 40.0
VIEW = (4, 5, 1)               # the coordinates drawn: w5 = (W2)_11, w6 = (W2)_12, w2 = (W1)_12


def compute():
    import numpy as np

    from dlnsys import Network, classify, equilibrium_manifolds, init, leaf_of, simulate, spectrum

    net = Network((2, 2, 1), sigma=[SIGMA])        # x = (w1..w4 = W1 row-major, w5, w6 = W2): 6 weights, 3 laws
    leaves = []
    for seed in LEAF_SEEDS:
        x0 = init.gaussian(net, scale=SCALE, seed=seed)
        C = leaf_of(net, x0)                        # [C1], C1 = W1 W1^T - W2^T W2 (2x2 symmetric: 3 laws)
        res = equilibrium_manifolds(net, C, signatures=[(1,)], x0=x0, seed=0, max_time=20.0)
        minima = res[(1,)]                          # signature {1}: the global minima W2 W1 = Sigma on this leaf
        comps = []
        for comp in minima.components:
            curve = comp.trace()                    # the whole component, by pseudo-arclength
            comps.append(dict(points=curve.points, closed=curve.closed, unbounded=curve.unbounded,
                              length=curve.length, status=curve.status, dimension=comp.dimension,
                              expected=comp.expected_dimension, index=comp.index, kind=comp.kind,
                              normally_hyperbolic=comp.normally_hyperbolic,
                              normal_eigenvalues=comp.normal_eigenvalues,
                              det_w1=curve.points[:, 0] * curve.points[:, 3] - curve.points[:, 1] * curve.points[:, 2]))
        starts = np.vstack([x0] + [init.on_leaf(net, C, seed=100 * seed + k, scale=SCALE) for k in range(N_EXTRA)])
        traj = simulate(net, starts, T_FINAL, t_eval=np.linspace(0.0, T_FINAL, 400))
        ends = traj.x[-1]
        # the ends are equilibria: their kind, and the eigenvalues of the Jacobian restricted to the leaf (one
        # is zero, along the curve of minima: the minima are not isolated even on a leaf)
        end_kinds = [classify(net, e).kind for e in ends]
        end_eigenvalues = [spectrum(net, e, on_leaf=True).eigenvalues for e in ends]
        # distance of each end to each traced curve (to its segments), and the nearest curve
        dist = np.array([[_polyline_distance(e, c["points"]) for c in comps] for e in ends])
        # the minima project on the W2 plane onto w C1 w^T + |w|^4 = sigma^2 (from W2 W1 W1^T W2^T = sigma^2)
        th = np.linspace(0.0, 2 * np.pi, 721)
        u = np.column_stack([np.cos(th), np.sin(th)])
        c = np.einsum("ni,ij,nj->n", u, C[0], u)
        r = np.sqrt((-c + np.sqrt(c ** 2 + 4 * SIGMA ** 2)) / 2)
        leaves.append(dict(seed=seed, C1=np.array(C[0]), eig=np.linalg.eigvalsh(C[0]), status=minima.status,
                           components=comps, paths=traj.x, starts=starts, ends=ends, end_kinds=end_kinds,
                           end_eigenvalues=end_eigenvalues,
                           landing=dist.argmin(axis=1), landing_distance=dist.min(axis=1),
                           end_loss=net.loss(ends), quartic=u * r[:, None]))
    return dict(leaves=leaves, n_params=net.n_params)


def _polyline_distance(p, P):
    import numpy as np

    a, b = P[:-1], P[1:]
    t = np.clip(np.einsum("ij,ij->i", p - a, b - a) / np.maximum(np.einsum("ij,ij->i", b - a, b - a), 1e-300), 0, 1)
    return float(np.min(np.linalg.norm(a + t[:, None] * (b - a) - p, axis=1)))


TD = "border:1px solid #ccd;padding:2px 8px;text-align:center"


def _leaf_label(k, lf):
    C = lf["C1"]
    return (f"leaf {k + 1}: C₁ = [[{C[0, 0]:.3f}, {C[0, 1]:.3f}], [{C[1, 0]:.3f}, {C[1, 1]:.3f}]]")


def _sign_text(det):
    if det.min() > 0:
        return "+ (det W₁ &gt; 0)"
    if det.max() < 0:
        return "− (det W₁ &lt; 0)"
    return "changes sign"


def _component_rows(data):
    rows = []
    for k, lf in enumerate(data["leaves"]):
        for j, c in enumerate(lf["components"]):
            hits = int((lf["landing"] == j).sum())
            cells = [k + 1, j + 1, f"{c['dimension']} (expected {c['expected']})",
                     "closed" if c["closed"] else ("unbounded" if c["unbounded"] else c["status"]),
                     f"{c['length']:.3f}", len(c["points"]), _sign_text(c["det_w1"]), c["index"],
                     "yes" if c["normally_hyperbolic"] else "no", c["kind"], hits]
            rows.append("<tr>" + "".join(f"<td style='{TD}'>{v}</td>" for v in cells) + "</tr>")
    head = ["leaf", "component", "dimension", "curve", "length", "points traced", "sign of det W₁ along it", "index",
            "normally hyperbolic", "kind", "trajectories landing"]
    return ("<table style='border-collapse:collapse;margin:8px 0;font-size:13px'><tr>"
            + "".join(f"<th style='{TD};background:#f0f2f5'>{h}</th>" for h in head) + "</tr>" + "".join(rows)
            + "</table>")


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    names = ["w₅ = (W₂)₁₁", "w₆ = (W₂)₁₂", "w₂ = (W₁)₁₂"]
    kd = [viz.dim(f"w{i + 1}", n) for i, n in zip(VIEW, names)]
    els = []
    for k, lf in enumerate(data["leaves"]):
        col = viz.PALETTE[k % 10]
        lens = ", ".join(f"{c['length']:.2f}" for c in lf["components"])
        els.append(viz.curve_paths_3d([c["points"] for c in lf["components"]], VIEW, names=names, color=col, width=9,
                                      label=f"leaf {k + 1}: {len(lf['components'])} closed curves of minima "
                                            f"(lengths {lens})"))
        paths = [lf["paths"][:, b, :] for b in range(lf["paths"].shape[1])]
        els.append(viz.curve_paths_3d(paths, VIEW, names=names, color=col, width=2.5,
                                      label=f"leaf {k + 1}: trajectories (○ start)"))
        els.append(hv.Scatter3D(lf["starts"][:, VIEW], kdims=kd).opts(
            color=col, size=4, marker="circle-open", backend="plotly"))
    # where the trajectories end (all leaves: one legend entry); hover: kind and eigenvalues on the leaf
    els.append(viz.equilibrium_points_3d(np.vstack([lf["ends"] for lf in data["leaves"]]),
                                         [k for lf in data["leaves"] for k in lf["end_kinds"]], VIEW, kdims=kd, size=4,
                                         eigenvalues=[ev for lf in data["leaves"] for ev in lf["end_eigenvalues"]],
                                         label="ends of the trajectories",
                                         extra={viz.dim("leaf"): [k + 1 for k, lf in enumerate(data["leaves"])
                                                                  for _ in lf["ends"]]}))
    scene = hv.Overlay(els).opts(hv.opts.Overlay(width=1080, height=740, backend="plotly", hooks=[viz.plotly_legend],
                                                 title="Global minima of Network([2, 2, 1]) on three leaves, "
                                                       "in (w₅, w₆, w₂)"))
    allxy = np.vstack([lf["paths"].reshape(-1, lf["paths"].shape[-1])[:, VIEW[:2]] for lf in data["leaves"]]
                      + [lf["quartic"] for lf in data["leaves"]])
    lo, hi = float(np.nanmin(allxy)) - 0.15, float(np.nanmax(allxy)) + 0.15
    panels = []
    for k, lf in enumerate(data["leaves"]):
        col = viz.PALETTE[k % 10]
        q = viz.curve_paths([lf["quartic"]], (0, 1), names=names[:2], label="w C₁ wᵀ + |w|⁴ = σ²",
                            color="#9e9e9e", line_dash="dashed", line_width=1.5)
        comp = [viz.curve_paths([c["points"]], VIEW[:2], names=names[:2], label=f"minima, component {j + 1}",
                                color=col, line_width=6 if j == 0 else 3, alpha=0.45 if j == 0 else 1.0,
                                line_dash="solid")
                for j, c in enumerate(lf["components"])]
        paths = [lf["paths"][:, b, :] for b in range(lf["paths"].shape[1])]
        tr = viz.curve_paths(paths, VIEW[:2], names=names[:2], label="trajectories", color="#555555", line_width=1)
        st = hv.Points(lf["starts"][:, VIEW[:2]], kdims=kd[:2], label="starts").opts(
            color="white", line_color="black", size=7)
        en = viz.equilibrium_points(lf["ends"], lf["end_kinds"], VIEW[:2], kdims=kd[:2], size=8, label="ends",
                                    eigenvalues=lf["end_eigenvalues"])
        ev = lf["eig"]
        last = k == len(data["leaves"]) - 1
        panels.append(hv.Overlay([q, *comp, tr, st, en]).opts(
            hv.opts.Overlay(frame_width=275, frame_height=275, xlim=(lo, hi), ylim=(lo, hi), show_legend=last,
                            legend_position="right", title=f"leaf {k + 1} (eigenvalues of C₁: {ev[0]:.2f}, "
                                                           f"{ev[1]:.2f})")))
    top = hv.Layout(panels).cols(3)
    leaves = "".join(f"<li>{_leaf_label(k, lf)} (from <code>init.gaussian(net, scale={SCALE:g}, seed={lf['seed']})"
                     f"</code>; eigenvalues {lf['eig'][0]:.3f}, {lf['eig'][1]:.3f}; largest distance of a trajectory "
                     f"end to the traced curves {lf['landing_distance'].max():.2g}, largest final loss "
                     f"{lf['end_loss'].max():.1e})</li>" for k, lf in enumerate(data["leaves"]))
    return [
        Block(scene, backend="plotly",
              caption="Drag to rotate. Thick lines: the components of the global minima on each leaf, traced by "
                      "<code>EquilibriumManifold.trace()</code>; thin lines: trajectories of the flow from the "
                      "Gaussian initial state that defines the leaf and from three more points of the same leaf "
                      f"(<code>dlnsys.init.on_leaf</code>), integrated to t = {T_FINAL:g}; green dots: where they "
                      "end, on the curves. Coordinates: the first three axes are the weights w₅, w₆ (the output layer "
                      "W₂ = [w₅ w₆]) and w₂ (the entry (1, 2) of W₁ = [[w₁, w₂], [w₃, w₄]]); w₁, w₃, w₄ "
                      "are not shown. (On the minima the first column of W₁, (w₁, w₃), is a function of W₂: it equals "
                      "(C₁ + W₂ᵀW₂) W₂ᵀ / σ, so a view with w₁ would fold each curve onto an arc; the second column "
                      "tells the two passes apart.) Curves of different leaves may cross in this projection; the "
                      "leaves themselves are disjoint." + f"<ul>{leaves}</ul>" + _component_rows(data)),
        Block(top, caption="The same curves and trajectories seen from above, in the plane of W₂ = [w₅ w₆]. Dashed "
                           "grey: the quartic w C₁ wᵀ + |w|⁴ = σ² on which every minimum projects (multiply "
                           "W₂W₁ = Σ by its transpose: W₂ W₁W₁ᵀ W₂ᵀ = W₂ (C₁ + W₂ᵀW₂) W₂ᵀ = σ²). When C₁ is "
                           "indefinite (leaves 1, 2) only the arcs where C₁ + W₂ᵀW₂ is positive semidefinite carry "
                           "minima; each component lies over one arc and covers it twice: on the minima "
                           "W₁ = P^½ [q, ±Jq] with P = C₁ + W₂ᵀW₂, q = P^½W₂ᵀ/σ and J the rotation by 90°, the two "
                           "passes differ in the sign of the second column and join at the ends of the arc, where P is "
                           "singular (so det W₁ changes sign along the curve). The two components are mirror images "
                           "x ↦ −x. When C₁ is positive definite (leaf 3) both components lie over the whole "
                           "quartic, one with det W₁ &gt; 0, one with det W₁ &lt; 0."),
    ]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((2, 2, 1), sigma=[SIGMA]), name="net221")]


PORTRAITS = [
    Portrait(
        slug="manifolds-221",
        section="beyond",
        title="Curves of global minima on leaves of Network([2, 2, 1])",
        description="Equilibrium manifolds you can see: the closed curves of minima on three leaves, in 3D, with the "
                    "trajectories that land on them.",
        paper="Section 3.5, Prop. 6, eq. (31); Section 6.2.3",
        caption=(
            f"<p><code>Network([2, 2, 1], sigma=[{SIGMA:g}])</code> has six weights, W₁ = [[w₁, w₂], [w₃, w₄]] and "
            "W₂ = [w₅ w₆], and one conserved matrix C₁ = W₁W₁ᵀ − W₂ᵀW₂ (Prop. 6): three laws, so every leaf "
            "{C(x) = C₁} is 3-dimensional. The global minima (signature {1}, critical value (31) = 0) satisfy the "
            "two product constraints W₂W₁ = Σ = [σ 0], so on a generic leaf they form a set of dimension "
            "6 − 2 − 3 = 1: curves. <code>dlnsys.equilibrium_manifolds(net, C, signatures=[(1,)])</code> finds "
            "their components (here two per leaf), measures their dimension (1, as expected), their normal "
            "spectrum on the leaf (two negative eigenvalues: index 0, normally hyperbolic) and "
            "<code>.trace()</code> follows each one around: every component is a closed curve, and its length is "
            "given below. Each trajectory stays on its leaf (the laws are conserved) and converges to a point of "
            "one of the two curves of that leaf: which point depends on the start, since the minima are not "
            "isolated even on a leaf.</p>"),
        compute=compute, draw=draw, cost=1.5, plotly=True, models=models),
]
