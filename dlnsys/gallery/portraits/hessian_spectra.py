"""Beyond the paper: Hessian spectra at the critical points of a d_y = 3 network, coloured by kind."""
from __future__ import annotations

from .._registry import Block, Portrait


def compute():
    import numpy as np

    from dlnsys import Network
    from dlnsys.critical import classify, critical_point, random_critical_point, signatures
    from dlnsys.spectra import spectrum

    net = Network((4, 3, 3, 3), sigma=[3.0, 2.0, 1.0])     # h = 3, d_y = 3: 2^3 = 8 signatures, 30 weights
    rows = []
    for info in signatures(net):                          # sorted by critical value (31)
        points = [("A₁ (32)", critical_point(net, info.signature).x)]
        points += [(f"random {k + 1}", random_critical_point(net, info.signature, rng=k).x) for k in range(3)]
        for name, x in points:
            c = classify(net, x)
            hessian = -spectrum(net, x).eigenvalues            # Hessian = -Jacobian
            rows.append(dict(signature=info.signature, value=info.critical_value, point=name, kind=c.kind,
                             eigenvalues=np.sort(hessian), n_negative=c.n_negative, n_zero=c.n_zero))
    return dict(rows=rows, dims=net.dims, sigma=net.sigma)


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    rows = data["rows"]
    sigs = list(dict.fromkeys(r["signature"] for r in rows))
    by_kind = {}
    ticks = []
    for i, S in enumerate(sigs):
        mine = [r for r in rows if r["signature"] == S]
        ticks.append((i, f"{viz.label_of_signature(S)}\n𝓛 = {mine[0]['value']:g}"))
        for j, r in enumerate(mine):
            ev = r["eigenvalues"]
            xs = np.full(ev.size, i - 0.27 + 0.18 * j)
            by_kind.setdefault(r["kind"], []).append(np.column_stack([xs, ev]))
    xd = viz.dim("S", "critical point: signature S and critical value (31); four points per signature")
    yd = viz.dim("lam", "eigenvalues of the Hessian ∇²𝓛")

    def overlay(**opts):
        els = []
        for kind, arrs in by_kind.items():
            a = np.vstack(arrs)
            els.append(hv.Scatter(a, xd, yd, label=kind).opts(color=viz.kind_color(kind), size=7, alpha=0.75,
                                                              marker="circle", line_color="black", line_width=0.3))
        els.append(hv.HLine(0).opts(color="#999", line_width=1))
        # the legend right of the frame (inside it would hide eigenvalues)
        return hv.Overlay(els).opts(frame_width=880, frame_height=380, xticks=ticks, show_grid=True,
                                    legend_position="right", xlim=(-0.6, len(sigs) - 0.4), **opts)

    plot = overlay(title="Hessian eigenvalues at critical points of dims (4, 3, 3, 3), σ = (3, 2, 1)")
    zoom = overlay(ylim=(-4.5, 4.5), title="zoom on the small eigenvalues (negative: strict saddles)")
    return [Block(plot), Block(zoom, caption="In each column: the representative A₁ of (32) (leftmost) and three "
                                             "random points of the same fiber (32)-(33). Colours: the kind found by "
                                             "dlnsys.critical.classify.")]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((4, 3, 3, 3), sigma=[3.0, 2.0, 1.0]), name="net4333")]


PORTRAITS = [
    Portrait(
        slug="hessian-spectra",
        section="beyond",
        title="Hessian spectra at the critical points, by kind",
        description="Eigenvalues of ∇²𝓛 at critical points of every signature of a d_y = 3 network, coloured as "
                    "global minimum, strict or non-strict saddle.",
        paper="Section 4: eqs. (31)–(33), Props. 18, 20, 21, 23",
        caption=(
            "<p>For the network dims (4, 3, 3, 3) with σ = (3, 2, 1) there are 2³ = 8 signatures S "
            "(<code>dlnsys.critical.signatures</code>). For each, <code>critical_point(net, S)</code> builds the "
            "representative A₁ of (32) and <code>random_critical_point(net, S, rng)</code> generic points "
            "P(A₁ + Z)P⁻¹ of the same fiber; <code>dlnsys.spectra.spectrum</code> gives the Jacobian eigenvalues "
            "(the Hessian is their negative) and <code>dlnsys.critical.classify</code> the kind. Every S other than "
            "{1, 2, 3} is a saddle; the signatures that are not initial segments {1..r} are always strict "
            "(Prop. 21: a negative eigenvalue −(σᵢ² − σⱼ²)-like curvature), while S = {1..r} can be non-strict at "
            "tightened points such as A₁ (Props. 18 and 23), where all the curvature is non-negative and the "
            "escape is of higher order. The many zero eigenvalues are the directions along the manifold of "
            "critical points (Prop. 3: none is isolated).</p>"),
        compute=compute, draw=draw, cost=0.8, models=models),
]
