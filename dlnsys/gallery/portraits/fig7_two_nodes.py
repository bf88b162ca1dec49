"""Fig. 7: one hidden layer of two nodes (66) -- 3D slices of the 4D weight space."""
from __future__ import annotations

from .._registry import Block, Portrait

SLICES = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]


def compute():
    import numpy as np

    from dlnsys import Network, init, spectrum
    from dlnsys.critical import classify, critical_point
    from dlnsys.separatrices import basins
    from dlnsys.simulate import simulate

    net = Network((1, 2, 1), sigma=[1.0])      # (66): W1 = [w1; w2], W2 = [w3 w4]; 3 conservation laws
    X0 = init.gaussian(net, 1.0, seed=1, n=400)
    ends = basins(net, X0)                      # where 400 random initial conditions converge
    traj = simulate(net, X0[:12], 30.0, t_eval=np.linspace(0.0, 30.0, 300))
    saddle = critical_point(net, ())            # signature {} (nothing learned): the origin
    kind = classify(net, saddle.x).kind          # "strict saddle"
    # eigenvalues of the Jacobian restricted to the leaf through each point (at the origin the laws'
    # differentials vanish, so that is the whole Jacobian: -sigma, -sigma, sigma, sigma)
    saddle_eigenvalues = spectrum(net, saddle.x, on_leaf=True).eigenvalues
    limit_eigenvalues = [spectrum(net, x, on_leaf=True).eigenvalues for x in ends.final]
    # the leaf constant c11 = w1^2 - w3^2 of each start (conserved, Prop. 6): it fixes where on the minima
    # the run ends, so colouring the limits by it shows the structure of the set of minima
    c11 = X0[:, 0] ** 2 - X0[:, 2] ** 2
    return dict(initial=X0, final=ends.final, kinds=ends.kinds, labels=ends.labels, paths=traj.x,
                saddles=saddle.x[None, :], saddle_kind=kind, saddle_eigenvalues=saddle_eigenvalues,
                limit_eigenvalues=limit_eigenvalues, counts=ends.counts, c11=c11)


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    plots = []
    evs = [viz.format_eigenvalues(ev) for ev in data["limit_eigenvalues"]]
    for k, dims in enumerate(SLICES):
        names = [viz.weight_label(i + 1) for i in dims]
        paths = [data["paths"][:, b, :] for b in range(data["paths"].shape[1])]
        el = (viz.curve_paths_3d(paths, dims, label="trajectories", color="#555555", width=4, names=names)
              * viz.start_points_3d(paths, dims, names=names, color="#555555")
              # the limits (equilibria): filled circles coloured by c11; hover: kind and leaf eigenvalues
              * hv.Scatter3D([tuple(x[list(dims)]) + (c, k, ev) for x, c, k, ev in
                              zip(data["final"], data["c11"], data["kinds"], evs)],
                             kdims=[viz.dim(f"w{i + 1}", n) for i, n in zip(dims, names)],
                             vdims=[viz.dim("c11", "c₁₁ = w₁² − w₃²"), viz.dim("kind"),
                                    viz.dim("eigenvalues", "leaf eigenvalues")],
                             label="limits of 400 runs (global minima), colour: leaf constant c₁₁").opts(
                  color="c11", cmap="coolwarm", clim=(-2.0, 2.0), size=3, colorbar=False, backend="plotly")
              * viz.equilibrium_points_3d(data["saddles"], [data["saddle_kind"]], dims, names=names, size=8,
                                          eigenvalues=[data["saddle_eigenvalues"]]))
        plots.append(el.opts(hv.opts.Overlay(width=540, height=490, backend="plotly",
                                             # the legend once; hover text (kind, eigenvalues) everywhere
                                             hooks=[viz.plotly_legend] if k == 0 else [viz.plotly_hover],
                                             title=f"slice ({', '.join(names)})")))
    layout = hv.Layout(plots).cols(2)
    return [Block(layout, backend="plotly",
                  caption="Each panel projects the 4D weight space on three of the weights. Dots: the equilibria "
                          "reached from 400 random initial conditions (dlnsys.separatrices.basins), all global "
                          "minima w₁w₃ + w₂w₄ = σ, coloured by the conserved c₁₁ = w₁² − w₃² of their start (blue "
                          "−2 or less, white 0, red 2 or more): in the slices with the conserved pair (w₁, w₃) the limits of one "
                          "colour lie on one hyperbola w₁² − w₃² = c₁₁, so the colours come in bands; grey: 12 "
                          "trajectories (○ start); the saddle at the origin (open square). In the slices without "
                          "that pair the minima fill the space and the colours mix.")]


def models():
    from dlnsys.emit.generators import paper_spec

    return [paper_spec("66")]


PORTRAITS = [
    Portrait(
        slug="fig7-two-hidden-nodes",
        section="paper",
        title="Fig. 7 · One hidden layer of two nodes (66)",
        description="3D slices of the 4D weight space with the equilibria reached from random starts and the "
                    "saddle at the origin.",
        paper="Section 6.2.3, eq. (66), Fig. 7",
        caption=(
            "<p>The shallow network <code>Network((1, 2, 1), sigma=[1])</code> has W₁ = [w₁; w₂], W₂ = [w₃ w₄] and "
            "the flow (66), ẇ₁ = w₃(σ − w₁w₃ − w₂w₄), ... . Its global minima form the 3-dimensional quadric "
            "w₁w₃ + w₂w₄ = σ of ℝ⁴, and the three conservation laws π₁ = w₁² − w₃², π₂ = w₂² − w₄², "
            "π₃ = w₁w₂ − w₃w₄ leave one-dimensional leaves. As in the paper's Fig. 7, the equilibria reached from "
            "random initial conditions are scattered over all of ℝ⁴; the origin, the critical point of signature ∅ "
            "(<code>dlnsys.critical.critical_point(net, ())</code>), is a strict saddle "
            "(<code>dlnsys.critical.classify</code>).</p>"),
        compute=compute, draw=draw, cost=1.5, plotly=True, models=models),
]
