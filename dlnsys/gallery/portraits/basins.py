"""Beyond the paper: basins of attraction of (62) and (65)."""
from __future__ import annotations

from .._registry import Block, Portrait

N62 = 121
N65 = 49
N65_FINE = 400
W3_SLICES = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)


def compute_62():
    import numpy as np

    from dlnsys import Network
    from dlnsys.separatrices import basins, separatrices

    net = Network((1, 1, 1), sigma=[1.0])
    g = np.linspace(-2.0, 2.0, N62)
    W1, W2 = np.meshgrid(g, g)                      # row-major from w2 = -2
    result = basins(net, np.column_stack([W1.ravel(), W2.ravel()]))
    seps = separatrices(net, np.zeros(2), bound=3.0)
    return dict(result=result, seps=seps, shape=W1.shape, net=net)


def compute_65():
    import numpy as np

    from dlnsys import Network
    from dlnsys.separatrices import basins

    net = Network((1, 1, 1, 1), sigma=[1.0])

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
        slices[w3] = dict(signs=limit_signs(Wf), checked=int(check.sum()), agree=int(agree.sum()),
                          boundary=int(tie.sum()))
    return dict(slices=slices, shape=F1.shape)


def draw_62(data):
    import holoviews as hv

    from dlnsys import viz
    from dlnsys.emit.generators import network_spec

    lim = (-2.0, 2.0)
    image, classes = viz.basin_image(data["result"], data["shape"], lim, lim,
                                     order=["{1} (+,+)", "{1} (-,-)", "{} (0,0)"],
                                     colors=["#9ecae1", "#fdae6b", "#d62728"])
    plot = (image * viz.separatrix_paths(data["seps"])
            * viz.phase_vector_field(data["net"], lim, lim, n=17)).opts(
        hv.opts.Overlay(frame_width=560, frame_height=560, xlim=lim, ylim=lim, legend_position="right",
                        title="Basins of (62), σ = 1: where each initial condition converges",
                        hooks=[viz.click_to_integrate(network_spec(data["net"]), key="basins62")]))
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(data["result"].counts.items()))
    return [Block(plot, caption=f"Limit classes on a {N62}×{N62} grid (signature and sign pattern of the limit): "
                                f"{counts}. The boundary between the two basins is the separatrix w₁ = −w₂ (blue, from "
                                f"dlnsys.separatrices.separatrices); grid points exactly on it converge to the saddle.")]


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
        frames[w3] = hv.Overlay([img] + legend).relabel(
            f"plane w₃ = {w3:g}: basins() agrees at {sl['agree']} of {sl['checked']} grid points off the boundaries")
    # a click at (w1, w2) starts (65) at (w1, w2, w3) of the slice shown; the drawn path is its projection
    click = viz.click_to_integrate(network_spec(Network((1, 1, 1, 1), sigma=[1.0])), key="basins65",
                                   base=lambda key: [0.0, 0.0, key[0]])
    hmap = viz.holomap(frames, [viz.dim("w3", "w₃ (slice)")], frame_width=520, frame_height=520, xlim=lim, ylim=lim,
                       legend_position="right", title="Basins of (65), σ = 1, {label}", hooks=[click])
    return [Block(hmap, caption="Move the slider through the planes w₃ = const. Colours: the sign pattern of the "
                                "minimum w₁w₂w₃ = σ reached (four patterns with positive product), on a "
                                f"{N65_FINE}×{N65_FINE} grid from the conservation laws (only the smallest weight can "
                                "change sign, and it does iff the product is negative), so the boundaries are exact: "
                                "they are where two weights tie for the smallest, the stable sets of the saddles. "
                                f"Checked against dlnsys.separatrices.basins (integration) on a {N65}×{N65} grid: the "
                                "title gives the agreement (grid points exactly on a boundary, where two weights tie, are left out: "
                                "there the integration ends on either side or on a saddle). A click starts (65) at (w₁, w₂, w₃) of the plane shown and "
                                "draws the projection of its trajectory onto (w₁, w₂): it leaves the plane, so it may "
                                "cross colours before it ends at the minimum of the start's colour.")]


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
