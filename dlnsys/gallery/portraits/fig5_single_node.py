"""Fig. 5: the single hidden node (62) -- phase plane, loss landscape, and the equilibrium (64) of each leaf."""
from __future__ import annotations

from .._registry import Block, Portrait

SIGMA = 1.0
BOX = 2.2


def compute():
    import numpy as np

    from dlnsys import Network
    from dlnsys.leaves import equilibria_on_leaf
    from dlnsys.separatrices import separatrices
    from dlnsys.simulate import simulate

    net = Network((1, 1, 1), sigma=[1.0])          # (62): x = (w1, w2), w1' = w2 (sigma - w1 w2), ...
    # trajectories from a ring of initial conditions (none on the separatrix w1 = -w2)
    theta = (2 * np.arange(24) + 1) * np.pi / 24
    ring = simulate(net, 2.0 * np.column_stack([np.cos(theta), np.sin(theta)]), 40.0,
                    t_eval=np.linspace(0.0, 40.0, 800))
    # stable and unstable manifolds of the saddle at the origin (leaf-restricted eigendirections)
    seps = separatrices(net, np.zeros(2), bound=3.0)
    # the equilibria (64) (and their mirrors) on a few leaves w1^2 - w2^2 = c; c = 0 holds the saddle too
    leaves = {}
    for c in (-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0):
        eqs = equilibria_on_leaf(net, [c])
        leaves[c] = [(e.state, e.kind, e.leaf_eigenvalues) for e in eqs]

    # sliders: sigma and the leaf constant c; on each leaf the equilibrium (64) and four trajectories
    frames = {}
    for sigma in (0.5, 1.0, 2.0):
        net_s = Network((1, 1, 1), sigma=[sigma])
        for c in np.round(np.linspace(-3.0, 3.0, 13), 10):
            eqs = equilibria_on_leaf(net_s, [c])
            starts = np.array([[s1 * np.sqrt(c + 4.0), s2 * 2.0] for s1 in (1, -1) for s2 in (1, -1)])
            traj = simulate(net_s, starts, 30.0, t_eval=np.linspace(0.0, 30.0, 300))
            frames[(sigma, float(c))] = dict(
                equilibria=[(e.state, e.kind, e.leaf_eigenvalues) for e in eqs], paths=traj.x)
    return dict(net=net, ring=ring, seps=seps, leaves=leaves, frames=frames)


def _hyperbolas(c=None, sigma=None, box=BOX, n=400):
    """Branches of w1^2 - w2^2 = c (a leaf) or of w1 w2 = sigma (the minima), clipped to the box."""
    import numpy as np

    if sigma is not None:
        w1 = np.linspace(sigma / box, box, n)
        return [np.column_stack([w1, sigma / w1]), np.column_stack([-w1, -sigma / w1])]
    t = np.linspace(-3.0, 3.0, n)
    r = np.sqrt(abs(c))
    if c > 0:
        out = [np.column_stack([r * np.cosh(t), r * np.sinh(t)]), np.column_stack([-r * np.cosh(t), r * np.sinh(t)])]
    elif c < 0:
        out = [np.column_stack([r * np.sinh(t), r * np.cosh(t)]), np.column_stack([r * np.sinh(t), -r * np.cosh(t)])]
    else:
        s = np.linspace(-box, box, 2)
        out = [np.column_stack([s, s]), np.column_stack([s, -s])]
    return [p[np.all(np.abs(p) <= box * 1.05, axis=1)] for p in out]


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz
    from dlnsys.emit.generators import network_spec

    net, lim = data["net"], (-BOX, BOX)
    leaves = [p for c in data["leaves"] if c != 0 for p in _hyperbolas(c=c)]
    eq = [(s, k, ev) for c, lst in data["leaves"].items() for s, k, ev in lst]
    phase = (viz.phase_vector_field(net, lim, lim, n=23)
             * viz.hyperbola_paths(leaves, "leaves w₁² − w₂² = c (c = ±0.5, ±1.5, ±3)", "#777777",
                                   dash="dashed", width=1.4)
             * viz.hyperbola_paths(_hyperbolas(sigma=SIGMA), "global minima w₁w₂ = σ", viz.COLORS["minima_set"],
                                   width=3)
             * viz.trajectory_paths(data["ring"], label="trajectories of (62)", line_width=1.4, alpha=0.8)
             * viz.direction_arrows(data["ring"], size=9)
             * viz.separatrix_paths(data["seps"])
             * viz.equilibrium_points([s for s, _, _ in eq], [k for _, k, _ in eq], eigenvalues=[ev for _, _, ev in eq],
                                      extra={viz.dim("c", "leaf c = w₁² − w₂²"):
                                             [c for c, lst in data["leaves"].items() for _ in lst]}))
    phase = phase.opts(hv.opts.Overlay(frame_width=600, frame_height=600, xlim=lim, ylim=lim,
                                       legend_position="right", title="(a) Phase plane of (62), σ = 1",
                                       fontsize={"legend": 9},
                                       hooks=[viz.click_to_integrate(network_spec(net), key="phase62")]))

    # (b) the loss landscape L = (sigma - w1 w2)^2 / 2 as a surface; the plateau sits around the origin
    g = np.linspace(-2.0, 2.0, 81)
    W1, W2 = np.meshgrid(g, g)
    L = 0.5 * (SIGMA - W1 * W2) ** 2
    w = np.linspace(0.5, 2.0, 60)
    surf = hv.Surface((g, g, L), kdims=[viz.dim("w1", "w₁"), viz.dim("w2", "w₂")], vdims=[viz.dim("L", "𝓛")]).opts(
        cmap="viridis", backend="plotly")
    minima = viz.curve_paths_3d([np.column_stack([w, SIGMA / w, 0 * w]), np.column_stack([-w, -SIGMA / w, 0 * w])],
                                label="global minima (𝓛 = 0)", color=viz.COLORS["minimum"], width=8)
    # the saddle at the origin, at the height of the plateau (its eigenvalues: those of the leaf c = 0 through it)
    s0, k0, ev0 = [e for e in data["leaves"][0.0] if e[1] != "global minimum"][0]
    saddle = viz.equilibrium_points_3d([[s0[0], s0[1], 0.5 * SIGMA ** 2]], [k0], eigenvalues=[ev0], size=8,
                                       label="saddle (plateau 𝓛 = σ²/2)",
                                       kdims=[viz.dim("w1", "w₁"), viz.dim("w2", "w₂"), viz.dim("L", "𝓛")])
    landscape = (surf * minima * saddle).opts(hv.opts.Overlay(width=900, height=520, backend="plotly",
                                                              hooks=[viz.plotly_legend],
                                                              title="(b) Loss landscape 𝓛(w) = ½(σ − w₁w₂)²"))

    # (c) sliders over sigma and the leaf constant c (every frame has the same layers, see viz.holomap)
    frames = {}
    for (sigma, c), fr in data["frames"].items():
        minima = np.array([s for s, k, _ in fr["equilibria"] if k == "global minimum"])
        lam = [float(ev[-1]) for s, k, ev in fr["equilibria"] if k == "global minimum"]
        we = minima[minima[:, 0] > 0][0]
        paths = [fr["paths"][:, b, :] for b in range(fr["paths"].shape[1])]
        kd = [viz.dim("w1", "w₁"), viz.dim("w2", "w₂")]
        frames[(sigma, c)] = (
            viz.hyperbola_paths(_hyperbolas(c=c, n=150), "leaf w₁² − w₂² = c", "#555", width=2.5)
            * viz.hyperbola_paths(_hyperbolas(sigma=sigma, n=150), "minima w₁w₂ = σ", viz.COLORS["minima_set"], width=2,
                                  dash="dashed")
            * viz.curve_paths(paths, label="trajectories on the leaf", color=viz.COLORS["trajectory"], line_width=2)
            * hv.Points(fr["paths"][0], kd, label="their starts").opts(color="white", line_color=viz.COLORS["trajectory"],
                                                                       size=8)
            # every frame has both layers (the saddle's is empty off c = 0): viz.holomap needs the same layers
            * viz.equilibrium_points([s for s, _, _ in fr["equilibria"]], [k for _, k, _ in fr["equilibria"]],
                                     eigenvalues=[ev for _, _, ev in fr["equilibria"]], size=13,
                                     show_kinds=["global minimum", "strict saddle"],
                                     label={"global minimum": "equilibria (64) on the leaf (global minima)",
                                            "strict saddle": "saddle (on the leaf c = 0 only)"})
        ).relabel(f"(c) σ = {sigma:g}, c = {c:g}: (64) gives w_e = ({we[0]:.3f}, {we[1]:.3f}), "
                  f"leaf eigenvalue {lam[0]:.3f}")
    hmap = viz.holomap(frames, [viz.dim("sigma", "σ"), viz.dim("c", "leaf constant c")], frame_width=560,
                       frame_height=560, xlim=lim, ylim=lim, legend_position="right", title="{label}",
                       fontsize={"title": 10.5, "legend": 9},
                       hooks=[viz.click_to_integrate(network_spec(net), key="leaf62",
                                                     params=lambda key: {"s1": key[0]})])   # key = (sigma, c)
    return [
        Block(phase, caption="Arrows: direction of the flow (62), grey level log₁₀‖ẇ‖ (pale near the origin: the "
                             "plateau). Green dots: the equilibria (64) on the leaves drawn (dotted); the whole green "
                             "hyperbola w₁w₂ = σ consists of global minima. Red: the saddle at the origin. Solid "
                             "blue: its stable manifold w₁ = −w₂ (the separatrix); dashed magenta: its unstable "
                             "manifold, the heteroclinic orbits on w₁ = w₂ ending at ±√σ(1, 1)."),
        Block(landscape, backend="plotly",
              caption="The landscape is flat around the saddle at the origin (𝓛 = σ²/2 there, and 𝓛̇ = "
                      "−2(w₁² + w₂²)𝓛 vanishes to second order): trajectories starting near it linger."),
        Block(hmap, caption="Move σ and c: each leaf w₁² − w₂² = c meets the minima hyperbola in exactly the two "
                            "points ±(64); every trajectory on the leaf converges to one of them (which one is "
                            "set by the sign of w₁ + w₂, fixed by the separatrix). The leaf-restricted eigenvalue "
                            "is −(σ² + w₁⁴)/w₁² < 0: on its leaf each equilibrium is isolated and hyperbolic. At c = 0 "
                            "the leaf is the pair of lines w₁ = ±w₂ and also holds the saddle."),
    ]


def models():
    from dlnsys.emit.generators import chain_leaf_spec, paper_spec

    # (62) itself, and the equilibrium (64) continued in the leaf constant c1
    return [paper_spec("62"), chain_leaf_spec(2, 1.0, [0.0], name="leaf62", parameter="c1",
                                              parameter_range=(-3.0, 3.0))]


PORTRAITS = [
    Portrait(
        slug="fig5-single-hidden-node",
        section="paper",
        title="Fig. 5 · One hidden node (62)",
        description="Phase plane, separatrix and heteroclinic orbits, loss plateau, and the equilibrium (64) of every "
                    "leaf under sliders for σ and c.",
        paper="Section 6.2.1, eqs. (62)–(64), Fig. 5",
        caption=(
            "<p>The network with one input, one hidden node and one output, "
            "<code>Network((1, 1, 1), sigma=[σ])</code>, has the two weights w = (w₁, w₂) and the flow (62) "
            "ẇ₁ = w₂(σ − w₁w₂), ẇ₂ = w₁(σ − w₁w₂). Its equilibria are the origin (a strict saddle with Jacobian "
            "eigenvalues ±σ) and the hyperbola w₁w₂ = σ of global minima, where the Jacobian has a zero eigenvalue. "
            "The conservation law w₁² − w₂² = c (Prop. 6) foliates the plane into leaves; on each leaf with c ≠ 0 "
            "there are exactly two equilibria, (64) and its mirror, obtained here with "
            "<code>dlnsys.leaves.equilibria_on_leaf</code>, with leaf-restricted eigenvalue −(σ² + w₁⁴)/w₁².</p>"
            "<p>As in the paper's Fig. 5(a), the line w₁ = −w₂ (stable manifold of the origin) separates the "
            "trajectories that converge to the branch w₁, w₂ &gt; 0 from those converging to w₁, w₂ &lt; 0; the "
            "half-lines w₁ = w₂ are heteroclinic orbits from the saddle to ±√σ(1, 1). Both are computed by "
            "<code>dlnsys.separatrices.separatrices</code> from the leaf-restricted eigendirections of the saddle, "
            "not drawn by hand. Panel (b) is Fig. 5(b): the loss landscape with its plateau around the origin.</p>"),
        compute=compute, draw=draw, cost=3.0, plotly=True, models=models),
]
