"""Beyond the paper: basins of attraction of (62) and (65)."""
from __future__ import annotations

from .._registry import Block, Portrait

N62 = 121
LEAVES62 = (-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0)
N65 = 49
N65_FINE = 400
W3_SLICES = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)


def compute_62():
    import numpy as np

    from dlnsys import Network, spectrum
    from dlnsys.leaves import equilibria_on_leaf
    from dlnsys.separatrices import basins, separatrices

    net = Network((1, 1, 1), sigma=[1.0])
    g = np.linspace(-2.0, 2.0, N62)
    W1, W2 = np.meshgrid(g, g)                      # row-major from w2 = -2
    result = basins(net, np.column_stack([W1.ravel(), W2.ravel()]))
    seps = separatrices(net, np.zeros(2), bound=3.0)
    # the equilibria (exact, (64)) on a few leaves w1^2 - w2^2 = c: the minima of both basins, and the saddle
    # (on c = 0). The plane is the whole state space of (62): the eigenvalues of its Jacobian (one is 0 at a
    # minimum, along the hyperbola of minima), and of the Jacobian restricted to the leaf
    equilibria = []
    for c in LEAVES62:
        for e in equilibria_on_leaf(net, [c]):
            s = spectrum(net, e.state)
            equilibria.append(dict(state=e.state, kind=e.kind, c=c, leaf_eigenvalues=e.leaf_eigenvalues,
                                   eigenvalues=np.where(np.abs(s.eigenvalues) <= s.zero_tol, 0.0, s.eigenvalues)))
    return dict(result=result, seps=seps, shape=W1.shape, net=net, equilibria=equilibria)


def compute_65():
    import numpy as np

    from dlnsys import Network, classify, spectrum
    from dlnsys.separatrices import basins

    net = Network((1, 1, 1, 1), sigma=[1.0])
    sigma = float(net.sigma[0])

    def limit_signs(W):
        """Sign pattern of the minimum reached, from the conservation laws: |w_i|^2 - |w_j|^2 is conserved,
        so only the smallest weight can cross zero, and it does iff the product is negative (the limit
        has w1 w2 w3 = sigma > 0). Ties for the smallest weight (with a negative product) are the basin
        boundaries: the stable sets of the saddles (two zero weights)."""
        S = np.where(W >= 0, 1, -1)
        k = np.argmin(np.abs(W), axis=1)
        flip = np.prod(S, axis=1) < 0
        S[np.arange(len(W))[flip], k[flip]] *= -1
        return S

    fine = np.linspace(-2.0, 2.0, N65_FINE)           # even count: no grid point on an axis
    F1, F2 = np.meshgrid(fine, fine)
    g = np.linspace(-2.0, 2.0, N65)
    W1, W2 = np.meshgrid(g, g)
    slices = {}
    for w3 in W3_SLICES:
        Wf = np.column_stack([F1.ravel(), F2.ravel(), np.full(F1.size, w3)])
        X0 = np.column_stack([W1.ravel(), W2.ravel(), np.full(W1.size, w3)])
        result = basins(net, X0)                  # integrated: the class of the equilibrium each point reaches
        rule = limit_signs(X0)
        A = np.sort(np.abs(X0), axis=1)
        tie = np.isclose(A[:, 0], A[:, 1], rtol=0, atol=1e-12)   # on a boundary: the rule does not decide
        minima = np.array([lab.startswith("{1}") for lab in result.labels])
        check = minima & ~tie
        agree = np.all(np.sign(result.final[check]) == rule[check], axis=1)
        # the equilibria of (65) in the plane, closed forms: where the sheets of minima w1 w2 w3 = sigma cross it,
        # the hyperbola w1 w2 = sigma / w3 (marked at its vertices); the saddles (two zero weights) (0, 0, w3),
        # and at w3 = 0 the axes w1 and w2 (marked at +-1) and the origin. Kinds from dlnsys.classify; the plane
        # is a slice, not invariant: the eigenvalues of the Jacobian of (65) (3-D) and of its leaf restriction
        if w3 != 0:
            v = np.sqrt(sigma / abs(w3))
            points = [(v, np.sign(w3) * v, w3), (-v, -np.sign(w3) * v, w3), (0.0, 0.0, w3)]
        else:
            points = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)]
        equilibria = []
        for x in np.array(points):
            cl, s, sl = classify(net, x), spectrum(net, x), spectrum(net, x, on_leaf=True)
            assert cl.is_critical
            equilibria.append(dict(state=x, kind=cl.kind,
                                   eigenvalues=np.where(np.abs(s.eigenvalues) <= s.zero_tol, 0.0, s.eigenvalues),
                                   leaf_eigenvalues=np.where(np.abs(sl.eigenvalues) <= sl.zero_tol, 0.0,
                                                             sl.eigenvalues)))
        slices[w3] = dict(signs=limit_signs(Wf), checked=int(check.sum()), agree=int(agree.sum()),
                          boundary=int(tie.sum()), equilibria=equilibria)
    return dict(slices=slices, shape=F1.shape, sigma=sigma)


def draw_62(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz
    from dlnsys.emit.generators import network_spec

    lim = (-2.0, 2.0)
    image, classes = viz.basin_image(data["result"], data["shape"], lim, lim,
                                     order=["{1} (+,+)", "{1} (-,-)", "{} (0,0)"],
                                     colors=["#9ecae1", "#fdae6b", "#d62728"])
    sigma = float(data["net"].sigma[0])
    w = np.linspace(sigma / lim[1], lim[1], 200)
    minima = viz.hyperbola_paths([np.column_stack([w, sigma / w]), np.column_stack([-w, -sigma / w])],
                                 "global minima w₁w₂ = σ (every point)", viz.COLORS["minima_set"], width=2.5)
    eq = data["equilibria"]
    points = viz.equilibrium_points(
        [e["state"] for e in eq], [e["kind"] for e in eq], eigenvalues=[e["eigenvalues"] for e in eq],
        eigenvalue_label="eigenvalues of the Jacobian of (62) (the plane is its state space)",
        extra={viz.dim("c", "leaf c = w₁² − w₂²"): [e["c"] for e in eq],
               viz.dim("leaf_ev", "eigenvalue on the leaf"): [viz.format_eigenvalues(e["leaf_eigenvalues"])
                                                               for e in eq]},
        label={"global minimum": "minima (64) on the leaves c = 0, ±0.5, ±1.5, ±3",
               "strict saddle": "saddle (on the basin boundary)"})
    plot = (image * viz.phase_vector_field(data["net"], lim, lim, n=17) * minima * viz.separatrix_paths(data["seps"])
            * points).opts(
        hv.opts.Overlay(frame_width=560, frame_height=560, xlim=lim, ylim=lim, legend_position="right",
                        title="Basins of (62), σ = 1: where each initial condition converges",
                        hooks=[viz.click_to_integrate(network_spec(data["net"]), key="basins62")]))
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(data["result"].counts.items()))
    return [Block(plot, caption=f"Limit classes on a {N62}×{N62} grid (signature and sign pattern of the limit): "
                                f"{counts}. The boundary between the two basins is the separatrix w₁ = −w₂ (blue, from "
                                f"dlnsys.separatrices.separatrices); grid points exactly on it converge to the saddle. Each basin "
                                f"holds one branch of the hyperbola of minima w₁w₂ = σ (green line); markers: the "
                                f"equilibria (64) on a few leaves w₁² − w₂² = c (filled circles, minima) and the saddle "
                                f"at the origin (open square), on the boundary. Hover: the eigenvalues of the Jacobian "
                                f"of (62) (0 along the hyperbola at a minimum) and the one on the leaf.")]


def draw_65(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import Network, viz
    from dlnsys.emit.generators import network_spec

    lim = (-2.0, 2.0)
    patterns = [(1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)]
    names = ["{1} (+,+,+)", "{1} (+,-,-)", "{1} (-,+,-)", "{1} (-,-,+)"]
    colors = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc"]
    kd = [viz.dim("w1", "w₁"), viz.dim("w2", "w₂")]
    frames = {}
    for w3, sl in data["slices"].items():
        code = np.zeros(len(sl["signs"]))
        for k, pat in enumerate(patterns):
            code[np.all(sl["signs"] == pat, axis=1)] = k
        img = hv.Image(np.flipud(code.reshape(data["shape"])), kdims=kd, vdims=[viz.dim("cls", "limit class")],
                       bounds=(lim[0], lim[0], lim[1], lim[1])).opts(cmap=colors, clim=(-0.5, 3.5), colorbar=False,
                                                                      alpha=0.75)
        legend = [hv.Points([(np.nan, np.nan)], kd, label=n).opts(color=c, size=12, marker="square")
                  for n, c in zip(names, colors)]
        # where the sheets of minima cross the plane: w1 w2 = sigma / w3 (none at w3 = 0)
        # (every frame has every layer, see viz.holomap; a layer without data gets a NaN point, so that its
        # legend entry keeps its glyph)
        none = [np.full((1, 2), np.nan)]
        c = data["sigma"] / w3 if w3 else 0.0
        w = np.linspace(abs(c) / lim[1], lim[1], 200)
        minima = viz.hyperbola_paths([np.column_stack([w, c / w]), np.column_stack([-w, -c / w])] if w3 else none,
                                     "minima in the plane: w₁w₂ = σ/w₃", viz.COLORS["minima_set"], width=2.5)
        axes = [np.array([[lim[0], 0.0], [lim[1], 0.0]]), np.array([[0.0, lim[0]], [0.0, lim[1]]])] if w3 == 0 else none
        saddle_lines = viz.hyperbola_paths(axes, "lines of saddles: the axes (w₃ = 0 only)", viz.COLORS["saddle"],
                                           width=2, dash="dashed")
        eq = sl["equilibria"]
        points = viz.equilibrium_points(
            [e["state"] for e in eq], [e["kind"] for e in eq], eigenvalues=[e["eigenvalues"] for e in eq],
            eigenvalue_label="eigenvalues of the Jacobian of (65) (3-D: the plane is a slice)",
            extra={viz.dim("w3_point", "w₃"): [e["state"][2] for e in eq],
                   viz.dim("leaf_ev", "eigenvalues on the leaf"): [viz.format_eigenvalues(e["leaf_eigenvalues"])
                                                                  for e in eq]},
            show_kinds=["global minimum", "strict saddle", "non-strict saddle"], size=13,
            label={"global minimum": "minima (vertices of w₁w₂ = σ/w₃)", "strict saddle": "strict saddles",
                   "non-strict saddle": "non-strict saddle: the origin (w₃ = 0 only)"})
        frames[w3] = (hv.Overlay([img] + legend) * minima * saddle_lines * points).relabel(
            f"plane w₃ = {w3:g} (basins() agrees at {sl['agree']}/{sl['checked']} points)")
    # a click at (w1, w2) starts (65) at (w1, w2, w3) of the slice shown; the drawn path is its projection
    click = viz.click_to_integrate(network_spec(Network((1, 1, 1, 1), sigma=[1.0])), key="basins65",
                                   base=lambda key: [0.0, 0.0, key[0]])
    hmap = viz.holomap(frames, [viz.dim("w3", "w₃ (slice)")], frame_width=520, frame_height=520, xlim=lim, ylim=lim,
                       legend_position="right", title="Basins of (65), σ = 1, {label}", hooks=[click],
                       fontsize={"title": 10.5, "legend": 9})
    return [Block(hmap, caption="Move the slider through the planes w₃ = const. Colours: the sign pattern of the "
                                "minimum w₁w₂w₃ = σ reached (four patterns with positive product), on a "
                                f"{N65_FINE}×{N65_FINE} grid from the conservation laws (only the smallest weight can "
                                "change sign, and it does iff the product is negative), so the boundaries are exact: "
                                "they are where two weights tie for the smallest, the stable sets of the saddles. "
                                f"Checked against dlnsys.separatrices.basins (integration) on a {N65}×{N65} grid: the "
                                "title gives the agreement (grid points exactly on a boundary, where two weights tie, are left out: "
                                "there the integration ends on either side or on a saddle). A click starts (65) at (w₁, w₂, w₃) of the plane shown and "
                                "draws the projection of its trajectory onto (w₁, w₂): it leaves the plane, so it may "
                                "cross colours before it ends at the minimum of the start's colour. Markers: the "
                                "equilibria in the plane (closed forms, kinds from dlnsys.classify): the two sheets of "
                                "minima that cross it, along the green hyperbola w₁w₂ = σ/w₃ (marked at its vertices; "
                                "the other two sheets do not meet the plane), and the saddle (0, 0, w₃) on the boundary; "
                                "at w₃ = 0 no minima, the origin (non-strict) and the axes, lines of strict saddles that "
                                "are the boundaries there. Hover: the eigenvalues of the Jacobian of (65) (3-D; the plane "
                                "is not invariant) and of its restriction to the leaf.")]


def models_62():
    from dlnsys.emit.generators import paper_spec

    return [paper_spec("62")]


def models_65():
    from dlnsys.emit.generators import paper_spec

    return [paper_spec("65")]


PORTRAITS = [
    Portrait(
        slug="basins-62",
        section="beyond",
        title="Basins of attraction of (62)",
        description="Which minimum each initial condition of the single-hidden-node flow reaches, with the separatrix.",
        paper="Section 6.2.1, eqs. (62)–(64), Fig. 5",
        caption=(
            "<p><code>dlnsys.separatrices.basins(net, X0)</code> integrates a whole grid of initial conditions as "
            "one batch and classifies each limit by its signature and sign pattern. For (62) the basins of the "
            "two branches of minima, w₁, w₂ &gt; 0 and w₁, w₂ &lt; 0, are the half-planes w₁ + w₂ &gt; 0 and "
            "w₁ + w₂ &lt; 0 (the sign of w₁ + w₂ is preserved by the flow); within each, the leaf w₁² − w₂² = c "
            "selects the limit point (64). The boundary is the stable manifold of the saddle.</p>"),
        compute=compute_62, draw=draw_62, cost=1.0, models=models_62),
    Portrait(
        slug="basins-65",
        section="beyond",
        title="Basins of attraction of (65), slice by slice",
        description="Basins of the four sheets of minima of the two-hidden-layer chain in planes w₃ = const, with a "
                    "slider.",
        paper="Section 6.2.2, eq. (65), Fig. 6",
        caption=(
            "<p>The chain with three weights has four sheets of global minima w₁w₂w₃ = σ, one per sign pattern with "
            "positive product. <code>dlnsys.separatrices.basins</code> classifies the limit of every point of a "
            f"{N65}×{N65} grid in each plane w₃ = const; the slider moves through the planes. The basin boundaries "
            "are the stable manifolds of the saddle sets (the coordinate axes), which, unlike (62), are not "
            "planes.</p>"),
        compute=compute_65, draw=draw_65, cost=2.5, models=models_65),
]
