"""Fig. 4: the loss along the arcs A(alpha) between critical points (Theorem 24)."""
from __future__ import annotations

from .._registry import Block, Portrait

CASES = {
    "equal": [((), ()), ((1,), (1,)), ((1, 3), (1, 3)), ((1, 2, 3, 4), (1, 2, 3, 4))],
    "subset": [((), (1,)), ((1,), (1, 2)), ((2,), (1, 2, 3)), ((), (1, 2, 3, 4))],
    "superset": [((1,), ()), ((1, 2), (1,)), ((1, 2, 3), (2,)), ((1, 2, 3, 4), ())],
    "mixed": [((1,), (2,)), ((1, 3), (2,)), ((2, 4), (1, 3)), ((1, 2), (3, 4))],
}


def compute():
    import numpy as np

    from dlnsys import Network
    from dlnsys.arcs import arc
    from dlnsys.critical import critical_value

    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])     # Section 6.1
    alpha = np.linspace(0.0, 1.0, 101)
    arcs = {case: [arc(net, S1, S2, alpha) for S1, S2 in pairs] for case, pairs in CASES.items()}
    values = {S: critical_value(net, S) for pairs in CASES.values() for pair in pairs for S in pair}
    return dict(arcs=arcs, values=values)


def draw(data):
    import holoviews as hv

    from dlnsys import viz

    titles = {"equal": "S₁ = S₂: constant (Theorem 24.1)",
              "subset": "S₁ ⊂ S₂: decreasing (Theorem 24.2)",
              "superset": "S₁ ⊃ S₂: increasing",
              "mixed": "mixed case: not monotone (Theorem 24.4)"}
    panels = []
    for case, arcs in data["arcs"].items():
        el = viz.arc_curves(arcs)
        panels.append(el.opts(hv.opts.Overlay(title=f"({'abcd'[len(panels)]}) {titles[case]}", frame_width=385,
                                              frame_height=260, legend_position="right", show_grid=True,
                                              fontsize={"legend": 9, "title": 10.5})))
    return [Block(hv.Layout(panels).cols(2).opts(shared_axes=False),
                  caption="Lines: the closed form of 𝓛(A(α)) (proof of Theorem 24); dots: the loss evaluated on the "
                          "states A(α) that dlnsys.arcs.arc builds in the fibers φ⁻¹(Φ(α)). The ends are critical "
                          "points, at the critical values (31) ½∑<sub>i∉S</sub> σᵢ². In the mixed case the minimum sits at "
                          "α* = a/(a + b), a = ∑<sub>S₂∖S₁</sub> σ², b = ∑<sub>S₁∖S₂</sub> σ².")]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5]), name="sec61")]


PORTRAITS = [
    Portrait(
        slug="fig4-arcs",
        section="paper",
        title="Fig. 4 · Arcs 𝓛(A(α)) between critical points",
        description="The loss along arcs joining critical points of equal, subset, superset and mixed signatures.",
        paper="Section 4.6 and 6.1, Theorem 24, eq. (31), Fig. 4",
        caption=(
            "<p>For two critical points A₁, A₂ of signatures S₁, S₂ of the Section 6.1 network (σ = (7, 5.5, 4, 2.5)), "
            "Theorem 24 follows the arc A(α) in the fibers φ⁻¹(Φ(α)) over the segment Φ(α) = (1 − α)A₁ʰ + αA₂ʰ. "
            "<code>dlnsys.arcs.arc(net, S1, S2, alpha)</code> builds such an arc (0-balanced, block-shift diagonal "
            "states), checks that it lies in the fibers and that its ends are critical, and returns the loss along "
            "it. When S₁ ⊂ S₂ the loss decreases (an unstable submanifold of A₁ and a stable one of A₂); when "
            "S₁ ⊃ S₂ it increases; when the signatures are of mixed type, 𝓛(A(α)) has an interior minimum, "
            "although 𝓛 has no local minima: the arcs are not trajectories of the flow.</p>"),
        compute=compute, draw=draw, cost=0.5, thumbnail_panel=3, models=models),
]
