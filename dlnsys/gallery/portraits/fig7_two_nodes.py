"""Fig. 7: one hidden layer of two nodes (66) -- 3D slices of the 4D weight space."""
from __future__ import annotations

from .._registry import Block, Portrait

SLICES = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]


def compute():
    import numpy as np

    from dlnsys import Network, init
    from dlnsys.critical import classify, critical_point
    from dlnsys.separatrices import basins
    from dlnsys.simulate import simulate

    net = Network((1, 2, 1), sigma=[1.0])      # (66): W1 = [w1; w2], W2 = [w3 w4]; 3 conservation laws
    X0 = init.gaussian(net, 1.0, seed=1, n=400)
    ends = basins(net, X0)                      # where 400 random initial conditions converge
    traj = simulate(net, X0[:12], 30.0, t_eval=np.linspace(0.0, 30.0, 300))
    saddle = critical_point(net, ())            # signature {} (nothing learned): the origin
    kind = classify(net, saddle.x).kind          # "strict saddle"
    return dict(initial=X0, final=ends.final, kinds=ends.kinds, labels=ends.labels, paths=traj.x,
                saddles=saddle.x[None, :], saddle_kind=kind, counts=ends.counts)


def draw(data):
    import holoviews as hv

    from dlnsys import viz

    plots = []
    for k, dims in enumerate(SLICES):
        names = [viz.weight_label(i + 1) for i in dims]
        paths = [data["paths"][:, b, :] for b in range(data["paths"].shape[1])]
        el = (viz.curve_paths_3d(paths, dims, label="trajectories", color="#555555", width=4, names=names)
              * viz.start_points_3d(paths, dims, names=names, color="#555555")
              * viz.equilibrium_points_3d(data["final"], data["kinds"], dims, names=names, size=2)
              * viz.equilibrium_points_3d(data["saddles"], [data["saddle_kind"]], dims, names=names, size=8))
        plots.append(el.opts(hv.opts.Overlay(width=540, height=490, backend="plotly",
                                             hooks=[viz.plotly_legend] if k == 0 else [],
                                             title=f"slice ({', '.join(names)})")))
    layout = hv.Layout(plots).cols(2)
    return [Block(layout, backend="plotly",
                  caption="Each panel projects the 4D weight space on three of the weights. Green: the equilibria "
                          "reached from 400 random initial conditions (dlnsys.separatrices.basins), all global "
                          "minima w₁w₃ + w₂w₄ = σ; grey: 12 trajectories; red: the saddle at the origin. Only the "
                          "slices containing a conserved pair ((w₁, w₃) or (w₂, w₄)) show an easily identified "
                          "pattern; in the others the critical points fill the space.")]


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
