"""Fig. 1: the 0-balanced logistic reduction (61) and sequential / non-sequential learning."""
from __future__ import annotations

from .._registry import Block, Portrait


def compute():
    import numpy as np
    from scipy.integrate import solve_ivp

    from dlnsys import Network
    from dlnsys.continuation import LogisticSystem
    from dlnsys.reductions import (diagonal_from_state, logistic_equilibria, logistic_to_state,
                                   logistic_vector_field)
    from dlnsys.simulate import simulate

    # (a) the graph of (61), z' = z^(h-1) (sigma - z^h), for h = 2..6, and its equilibria
    sigma = 1.0
    z = np.linspace(-1.3, 1.3, 1041)
    graphs = {}
    for h in range(2, 7):
        f = logistic_vector_field(z[:, None], [sigma], h)[:, 0]
        system = LogisticSystem(h=h, sigma=sigma)
        points = []
        for ze in logistic_equilibria(sigma, h):
            slope = system.derivative(ze)
            left, right = system.vector_field(ze - 1e-3), system.vector_field(ze + 1e-3)
            if slope < 0 or (slope == 0 and left > 0 > right):
                kind = "stable"
            elif slope > 0 or (left < 0 < right):
                kind = "unstable"
            else:
                kind = "semi-stable (attracting from one side)"
            points.append((float(ze), kind, float(slope)))     # slope: the Jacobian (1x1) of (61) there
        graphs[h] = dict(f=f, points=points)

    # (b) learning curves of the full flow from 0-balanced diagonal states (the lift of (61)):
    # the singular values of every layer are the channels z_j(t)
    net = Network((3, 3, 3, 3, 3), sigma=[3.0, 2.0, 1.0])          # h = 4, d_y = 3
    runs = {}
    for name, z0 in (("equal", [0.1, 0.1, 0.1]), ("unequal", [0.05, 0.12, 0.3])):
        traj = simulate(net, logistic_to_state(net, z0), 250.0, t_eval=np.linspace(0.0, 250.0, 1001))
        channels = diagonal_from_state(net, traj.x)[:, :net.d_y]       # layer 1: z_1, z_2, z_3
        reduced = solve_ivp(lambda t, u: logistic_vector_field(u, net.sigma, net.h), (0.0, 250.0), z0,
                            t_eval=np.linspace(0.0, 250.0, 51), rtol=1e-10, atol=1e-12)
        runs[name] = dict(t=traj.t, z=channels, t_reduced=reduced.t, z_reduced=reduced.y.T, z0=z0,
                          drift=traj.conserved_drift)
    return dict(z=z, sigma=sigma, graphs=graphs, runs=runs, net_sigma=net.sigma, h=net.h)


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    z, graphs = data["z"], data["graphs"]
    zd, fd = viz.dim("z", "z (= sⱼ, any layer)"), viz.dim("zdot", "ż")

    def graph(zoom):
        sel = np.abs(z) <= (0.55 if zoom else 10)
        els = []
        for k, (h, g) in enumerate(graphs.items()):
            els.append(hv.Curve((z[sel], g["f"][sel]), zd, fd, label=f"h = {h}").opts(
                color=viz.PALETTE[k], line_width=2.5))
        els.append(hv.HLine(0).opts(color="#999", line_width=1))
        # the equilibria; stability by marker shape and fill (viz.KIND_MARKERS: filled circle stable, open
        # square unstable, half-tone diamond semi-stable); hover: z, the kind, f'(z) and the depth h
        pts = [(ze, kind, slope, h) for h, g in graphs.items() for ze, kind, slope in g["points"]
               if not zoom or abs(ze) < 0.55]
        els.append(viz.equilibrium_points([(ze, 0.0) for ze, _, _, _ in pts], [kind for _, kind, _, _ in pts],
                                          kdims=[zd, fd], size=11, eigenvalues=[[sl] for _, _, sl, _ in pts],
                                          eigenvalue_label="eigenvalue f′(z) of (61)",
                                          label={"semi-stable (attracting from one side)": "semi-stable (one side)"},
                                          extra={viz.dim("h", "depth h"): [h for _, _, _, h in pts]}))
        title = ("(a) lower: zoom on the plateau around z = 0" if zoom
                 else "(a) ż = zʰ⁻¹(σ − zʰ), σ = 1 (eq. 61)")
        return hv.Overlay(els).opts(title=title, frame_width=360, frame_height=330, legend_position="right",
                                    ylim=(-0.025, 0.025) if zoom else (-1.6, 1.6), show_grid=True,
                                    fontsize={"legend": 9})

    def learning(name, title):
        r = data["runs"][name]
        els = []
        for j in range(r["z"].shape[1]):
            c = viz.PALETTE[j]
            els.append(hv.Curve((r["t"], r["z"][:, j]), viz.dim("t", "t"), viz.dim("s", "singular values sⱼ(t)"),
                                label=f"s{'₁₂₃'[j]}, σ{'₁₂₃'[j]} = {data['net_sigma'][j]:g}").opts(color=c, line_width=2.5))
            els.append(hv.Scatter((r["t_reduced"], r["z_reduced"][:, j]), viz.dim("t", "t"),
                                  viz.dim("s", "singular values sⱼ(t)"),
                                  label="(61) integrated" if j == 0 else "").opts(color=c, size=5, marker="x"))
        for j in range(r["z"].shape[1]):
            els.append(hv.HLine(data["net_sigma"][j] ** (1.0 / data["h"])).opts(
                color=viz.PALETTE[j], line_dash="dotted", line_width=1))
        return hv.Overlay(els).opts(title=title, frame_width=360, frame_height=330, legend_position="right",
                                    show_grid=True, ylim=(0, 1.45), fontsize={"legend": 9})

    layout = (graph(False)
              + learning("equal", "(b) upper: s₁(0) = s₂(0) = s₃(0) = 0.1, sequential")
              + graph(True)
              + learning("unequal", "(b) lower: s(0) = (0.05, 0.12, 0.3), not sequential")).cols(2)
    return [Block(layout.opts(shared_axes=False),
                  caption="(a) Graph of the scalar equation (61) for σ = 1 and depths h = 2..6: green dots are the "
                          "stable points σ<sup>1/h</sup> (and −σ<sup>1/h</sup> for even h), the origin is unstable (for odd h it "
                          "attracts from the left only). The lower panel zooms on the nearly, but not exactly, flat "
                          "plateau around z = 0 that grows with h. (b) The full gradient flow of the network "
                          "dims (3, 3, 3, 3, 3), σ = (3, 2, 1), started on 0-balanced diagonal states: every layer "
                          "has the singular values sⱼ(t) = zⱼ(t) (lines); crosses are (61) integrated on its own. "
                          "Dotted: the limits σⱼ<sup>1/4</sup>.")]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import logistic_spec, network_spec

    return [logistic_spec([3.0, 2.0, 1.0], 4, name="logistic_h4"),
            network_spec(Network((3, 3, 3, 3, 3), sigma=[3.0, 2.0, 1.0]), name="net33333")]


PORTRAITS = [
    Portrait(
        slug="fig1-logistic-reduction",
        section="paper",
        title="Fig. 1 · The logistic reduction (61)",
        description="ż against z for h = 2..6 with stable and unstable points and the plateau; learning curves "
                    "from equal and unequal channels.",
        paper="Section 5.4, eq. (61), Fig. 1",
        caption=(
            "<p>For diagonal, 0-balanced weights every layer carries the same value zⱼ in channel j and the "
            "gradient flow decouples into the generalized logistic equations (61), "
            "żⱼ = zⱼʰ⁻¹(σⱼ − zⱼʰ) (<code>dlnsys.reductions.logistic_vector_field</code>; equilibria from "
            "<code>logistic_equilibria</code>, their stability from the derivative of "
            "<code>dlnsys.continuation.LogisticSystem</code>). Around the origin the right-hand side vanishes "
            "to order h − 1: a plateau that a trajectory starting near 0 needs a long time to leave.</p>"
            "<p>Panel (b) runs the <em>full</em> flow (<code>dlnsys.simulate</code>) from the lifted states "
            "<code>logistic_to_state(net, z0)</code>: with equal initial channels the singular values are learned "
            "from the largest to the smallest (sequential learning); with unequal ones the smallest σ₃ is learned "
            "first although the state is 0-balanced, as in the lower panel of the paper's Fig. 1(b).</p>"),
        compute=compute, draw=draw, cost=1.0, models=models),
]
