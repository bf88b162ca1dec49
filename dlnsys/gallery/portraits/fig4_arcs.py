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

    from dlnsys import Network, classify, spectrum
    from dlnsys.arcs import arc
    from dlnsys.critical import critical_value

    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])     # Section 6.1
    alpha = np.linspace(0.0, 1.0, 101)
    arcs = {case: [arc(net, S1, S2, alpha) for S1, S2 in pairs] for case, pairs in CASES.items()}
    values = {S: critical_value(net, S) for pairs in CASES.values() for pair in pairs for S in pair}
    # the ends A(0), A(1) of every arc are critical points, i.e. equilibria of the flow (states of 198 weights):
    # their signature and kind (dlnsys.classify) and the eigenvalues of the Jacobian restricted to their leaf
    ends = {}
    for case, lst in arcs.items():
        ends[case] = []
        for a in lst:
            for k, S in ((0, a.S1), (-1, a.S2)):
                x = a.x[k]
                cl, sp = classify(net, x), spectrum(net, x, on_leaf=True)
                assert cl.is_critical and tuple(cl.signature) == tuple(S), (S, cl.signature)
                ends[case].append(dict(alpha=float(a.alpha[k]), loss=float(a.loss[k]), signature=tuple(S),
                                       critical_value=cl.critical_value, kind=cl.kind, arc=(a.S1, a.S2),
                                       eigenvalues=np.where(np.abs(sp.eigenvalues) <= sp.zero_tol, 0.0,
                                                            sp.eigenvalues)))
    return dict(arcs=arcs, values=values, ends=ends)


def draw(data):
    import holoviews as hv

    from dlnsys import viz

    titles = {"equal": "S₁ = S₂: constant (Theorem 24.1)",
              "subset": "S₁ ⊂ S₂: decreasing (Theorem 24.2)",
              "superset": "S₁ ⊃ S₂: increasing",
              "mixed": "mixed case: not monotone (Theorem 24.4)"}
    panels = []
    for case, arcs in data["arcs"].items():
        # the ends of the arcs are critical points: marked by kind (shape), hover with signature, loss and the
        # spectrum of the Jacobian on the leaf at that state of the 198 weights (axes: alpha and the loss)
        ends = data["ends"][case]
        name = lambda S1, S2: f"{viz.label_of_signature(S1)} → {viz.label_of_signature(S2)}"   # noqa: E731
        marks = viz.equilibrium_points(
            [(e["alpha"], e["loss"]) for e in ends], [e["kind"] for e in ends],
            eigenvalues=[e["eigenvalues"] for e in ends], size=10,
            kdims=[viz.dim("alpha", "α"), viz.dim("L", "𝓛(A(α))")],
            eigenvalue_label="eigenvalues of the Jacobian on the leaf at A(α)",
            extra={viz.dim("signature", "signature S"): [viz.label_of_signature(e["signature"]) for e in ends],
                   viz.dim("value", "critical value (31)"): [e["critical_value"] for e in ends],
                   viz.dim("arc", "end of the arc"): [name(*e["arc"]) for e in ends],
                   viz.dim("signs", "leaf eigenvalues < 0, = 0, > 0"):
                       [" / ".join(str(int(n)) for n in (sum(e["eigenvalues"] < 0), sum(e["eigenvalues"] == 0),
                                                          sum(e["eigenvalues"] > 0))) for e in ends]})
        el = viz.arc_curves(arcs) * marks
        panels.append(el.opts(hv.opts.Overlay(title=f"({'abcd'[len(panels)]}) {titles[case]}", frame_width=370,
                                              frame_height=260, xlim=(-0.04, 1.04), legend_position="right", show_grid=True,
                                              fontsize={"legend": 9, "title": 10.5})))
    return [Block(hv.Layout(panels).cols(2).opts(shared_axes=False),
                  caption="Lines: the closed form of 𝓛(A(α)) (proof of Theorem 24); dots: the loss evaluated on the "
                          "states A(α) that dlnsys.arcs.arc builds in the fibers φ⁻¹(Φ(α)). The ends are critical "
                          "points, at the critical values (31) ½∑<sub>i∉S</sub> σᵢ², marked by kind (dlnsys.classify: "
                          "filled circle global minimum, open square strict saddle, half-tone diamond non-strict "
                          "saddle); hover for the signature and the eigenvalues of the Jacobian restricted to the leaf "
                          "at that state of the 198 weights (the number of positive ones is the index). In the mixed case the minimum sits at "
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
