"""Figs. 2 and 3: the Section 6.1 network (198 weights) from small, large and delta-balanced initializations."""
from __future__ import annotations

from .._registry import Block, Portrait

FRAME_WIDTH = 285


def compute_fig2():
    from dlnsys import Network, init
    from dlnsys.separatrices import itinerary
    from dlnsys.simulate import simulate

    net = Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5])   # Section 6.1: h = 5, 198 weights
    runs = {}
    # (a) near the origin: i.i.d. N(0, 0.05^2) weights; (b) away from it: N(0, 1).
    # Every solver step is saved (the itinerary needs the transitions resolved).
    for name, scale, t_final in (("small", 0.05, 1500.0), ("large", 1.0, 20.0)):
        traj = simulate(net, init.gaussian(net, scale, seed=0), t_final, until_loss=1e-12)
        runs[name] = dict(traj=traj, itinerary=itinerary(net, traj), scale=scale)
    return dict(net=net, runs=runs)


def compute_fig3():
    import numpy as np

    from dlnsys import Network, init
    from dlnsys.separatrices import itinerary
    from dlnsys.simulate import simulate

    runs = {}
    # delta-balanced initial conditions, delta = 0.04 (Section 5.3.1), end-to-end scale 1e-4
    for name, sigma in (("close", [7.0, 5.5, 4.0, 2.5]),           # sigma_j - sigma_{j+1} = 1.5
                        ("very close", [7.0, 6.9, 4.0, 3.9])):      # sigma_j - sigma_{j+1} = 0.1 for j = 1, 3
        net = Network((11, 6, 6, 6, 6, 4), sigma=sigma)
        x0 = init.delta_balanced(net, 0.04, 1e-4, seed=0)
        traj = simulate(net, x0, 80.0, t_eval=np.linspace(0.0, 80.0, 1601), until_loss=1e-12)
        runs[name] = dict(net=net, traj=traj, itinerary=itinerary(net, traj))
    return dict(runs=runs)


def _panel(el, title, legend=True, **opts):
    import holoviews as hv

    el = el if isinstance(el, hv.Overlay) else hv.Overlay([el])
    # legends to the right of the frame, never over the curves; three panels and two legends fit 1280 px
    return el.opts(title=title, frame_width=FRAME_WIDTH, frame_height=240, show_grid=True, show_legend=legend,
                   legend_position="right", fontsize={"legend": 8, "title": 10}, **opts)


def _plateau_marks(itin, logx=False, logy=False, tmin=None):
    """The plateaus (shaded, from viz.plateau_marks) with their labels S = {...} inside the frame, at the height
    of the plateau: one that starts in the left half of the time axis is labelled from its start on, one that
    starts in the right half left of its start, ending where the loss drops onto it (the loss decreases, so the
    curve is higher there), the last one, if the run ends on it, ending at the end of the run (under its step on
    a linear axis)."""
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    spans = [el for el in viz.plateau_marks(itin, "loss", logy=logy, tmin=tmin) if isinstance(el, hv.VSpan)]
    t0 = itin.t_start if tmin is None else max(itin.t_start, tmin)
    x = np.log10 if logx else float
    middle = 0.5 * (x(t0) + x(itin.t_end))
    after, before, last = [], [], []
    for p in itin:
        y = max(p.loss, 1e-9) if logy else p.loss
        text = " S = " + viz.label_of_signature(p.signature) + " "
        if p.t_exit is None:
            last.append((itin.t_end, y, text))
        elif x(max(p.t_enter, t0)) < middle:
            after.append((max(p.t_enter, t0), y, text))
        else:
            before.append((p.t_enter, y, text))
    kd = [viz.dim("t", "t"), viz.dim("L", "𝓛")]
    style = dict(text_font_size="8pt", text_color="#222")
    return hv.Overlay(spans + [
        hv.Labels(after, kd, "text").opts(text_align="left", text_baseline="bottom", **style),
        hv.Labels(before, kd, "text").opts(text_align="right", text_baseline="bottom", **style),
        # (linear axis: under the last step, clear of the loss curve, which is above it everywhere)
        hv.Labels(last, kd, "text").opts(text_align="right", text_baseline="bottom" if logy else "top", **style)])


def draw_fig2(data):
    import holoviews as hv

    from dlnsys import viz

    net = data["net"]
    blocks = []
    for name, tag, tmin in (("small", "(a) A(0) near the origin", 0.1), ("large", "(b) A(0) away from it", 1e-4)):
        r = data["runs"][name]
        traj, itin = r["traj"], r["itinerary"]
        logy = name == "large"          # (a): linear loss axis, the plateaus are steps at the values (31)
        loss = viz.loss_curve(traj, logy=logy, tmin=tmin) * _plateau_marks(itin, logx=True, logy=logy, tmin=tmin)
        plots = [
            _panel(loss, f"{tag}: loss 𝓛", legend=False, logx=True, logy=logy),
            _panel(viz.singular_value_curves(net, traj, of="layers", tmin=tmin), "singular values of A (per layer Wᵢ)",
                   logx=True),
            _panel(viz.singular_value_curves(net, traj, of="product", tmin=tmin), "singular values of Aʰ", logx=True),
            _panel(viz.frobenius_curve(net, traj, tmin=tmin), "Frobenius norm ‖A(t)‖", legend=False, logx=True),
            _panel(viz.alignment_curves(net, traj, tmin=tmin), "alignment ‖Vₖ₊₁ᵀUₖ − I‖² (Frobenius, first d_y)",
                   logx=True),
        ]
        seq = " → ".join("S = " + viz.label_of_signature(p.signature) for p in itin) or "none"
        blocks.append(Block(hv.Layout(plots).cols(3).opts(shared_axes=False),
                            caption=f"{tag}: init.gaussian(net, {r['scale']:g}, seed=0). Plateaus found by "
                                    f"dlnsys.separatrices.itinerary: {seq}. Conservation laws kept to "
                                    f"{traj.conserved_drift:.1e} (relative)."))
    return blocks


def draw_fig3(data):
    import holoviews as hv

    from dlnsys import viz

    blocks = []
    for name, tag in (("close", "(a) σ = (7, 5.5, 4, 2.5): relatively close spacing"),
                      ("very close", "(b) σ = (7, 6.9, 4, 3.9): pairwise very close")):
        r = data["runs"][name]
        net, traj, itin = r["net"], r["traj"], r["itinerary"]
        plots = [
            _panel(viz.loss_curve(traj, logy=False) * _plateau_marks(itin), f"{tag[:3]} loss 𝓛",
                   legend=False),
            _panel(viz.singular_value_curves(net, traj, of="product"), "singular values of Aʰ"),
            _panel(viz.alignment_curves(net, traj), "alignment ‖Vₖ₊₁ᵀUₖ − I‖² (Frobenius, first d_y)"),
        ]
        seq = " → ".join("S = " + viz.label_of_signature(p.signature) for p in itin) or "none"
        blocks.append(Block(hv.Layout(plots).cols(3).opts(shared_axes=False),
                            caption=f"{tag}. Saddles visited (itinerary): {seq}."))
    return blocks


_FIG2_CAPTION = (
    "<p>The network of Section 6.1: h = 5 layers, dims (11, 6, 6, 6, 6, 4), σ = (7, 5.5, 4, 2.5), 198 weights and "
    "84 conservation laws, integrated with <code>dlnsys.simulate.simulate</code> (LSODA with the analytic "
    "Jacobian). From a small initialization (a) the loss lingers on plateaus at the critical values (31), "
    "½∑<sub>i∉S</sub> σᵢ², of the saddles S = ∅, {1}, {1,2}, {1,2,3} (labelled from "
    "<code>dlnsys.separatrices.itinerary</code>): the singular values of Aʰ are learned one by one, largest "
    "first, the layers acquire h·d_y = 20 large singular values and the others stay small, and consecutive layers "
    "align (‖V<sub>k+1</sub>ᵀU<sub>k</sub> − I‖²<sub>F</sub> → 0 on the first d_y directions, <code>dlnsys.structure.alignment</code>). "
    "From a large initialization (b) convergence is orders of magnitude faster, there are no plateaus, A keeps "
    "more than h·d_y sizeable singular values, the layers do not align, and ‖A‖<sub>F</sub> is not monotone (Prop. 9), "
    "although 𝓛 is. Time is on a logarithmic axis in both rows.</p>")

_FIG3_CAPTION = (
    "<p>δ-balanced initial conditions (max ‖Cᵢ‖<sub>F</sub> = δ = 0.04, <code>dlnsys.init.delta_balanced</code>, "
    "Section 5.3.1) for the Section 6.1 architecture. When the σⱼ are well separated (a) the singular vectors of "
    "consecutive layers come into alignment as each σⱼ is learned. When they are pairwise very close (b), learning "
    "a new, distinct σ moves the layers towards alignment, while learning its almost identical neighbour moves "
    "them away: the singular vectors of nearly equal singular values are not aligned individually (Section "
    "5.3.1, eq. (60)).</p>")

def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5]), name="sec61")]


PORTRAITS = [
    Portrait(
        slug="fig2-section61-small-large",
        section="paper",
        title="Fig. 2 · Section 6.1 network, small and large initialization",
        description="Loss with the saddles visited, singular values of A and Aʰ, the Frobenius norm of A and the alignment over time.",
        paper="Section 6.1, eqs. (12), (31), Fig. 2",
        caption=_FIG2_CAPTION, compute=compute_fig2, draw=draw_fig2, cost=4.0, models=models),
    Portrait(
        slug="fig3-delta-balanced",
        section="paper",
        title="Fig. 3 · δ-balanced runs, close and very close σ",
        description="Singular values of Aʰ and alignment for δ = 0.04 with relatively close and pairwise very "
                    "close singular values.",
        paper="Section 6.1 and 5.3.1, eq. (60), Fig. 3",
        caption=_FIG3_CAPTION, compute=compute_fig3, draw=draw_fig3, cost=3.0, models=models),
]
