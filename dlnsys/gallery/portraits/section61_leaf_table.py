"""Beyond the paper: the critical sets of the Section 6.1 network on two leaves, signature by signature."""
from __future__ import annotations

from .._registry import Block, Portrait

DIMS = (11, 6, 6, 6, 6, 4)
SIGMA = (7.0, 5.5, 4.0, 2.5)
MAX_TIME = 20.0
GAUSS_SCALE = 0.5
GAUSS_SEED = 1


def compute():
    import numpy as np

    from dlnsys import Network, equilibrium_manifolds, init, leaf_of

    net = Network(DIMS, sigma=SIGMA)              # Section 6.1: 198 weights, 4 x 21 = 84 conservation laws
    leaves = {
        "0-balanced leaf C = 0": np.zeros(84),
        f"leaf of init.gaussian(net, scale={GAUSS_SCALE:g}, seed={GAUSS_SEED})":
            leaf_of(net, init.gaussian(net, scale=GAUSS_SCALE, seed=GAUSS_SEED)),
    }
    out = {}
    for name, C in leaves.items():
        res = equilibrium_manifolds(net, C, max_time=MAX_TIME)     # all 2^4 = 16 signatures
        rows = []
        for s in res:                               # one SignatureSet per signature
            comps = s.components
            rows.append(dict(
                signature=s.signature, status=s.status, critical_value=s.critical_value,
                components=len(comps), more=bool(s.tried.get("not_grouped")),
                dimension=sorted({c.dimension for c in comps}), expected=sorted({c.expected_dimension for c in comps
                                                                                 if c.expected_dimension is not None}),
                index=sorted({c.index for c in comps}), normally_hyperbolic=sorted({c.normally_hyperbolic for c in comps}),
                kind=sorted({c.kind for c in comps}), reason=s.reason,
                # the normal spectrum of the leaf-restricted Jacobian at a point of the first component
                normal_eigenvalues=comps[0].normal_eigenvalues if comps else []))
        out[name] = dict(rows=rows, status=res.status, message=res.message, seconds=res.seconds,
                         leaf_singular=res.leaf_singular, summary=res.summary())
    return out


def _join(values, fmt=str):
    return ", ".join(fmt(v) for v in values) if values else "–"


def _sig(S):
    return "{" + ",".join(str(i) for i in S) + "}" if S else "∅"


def draw(data):
    import holoviews as hv

    from dlnsys import viz

    markers = ["circle", "triangle"]
    pts_dim, pts_idx = [], []
    for k, (name, leaf) in enumerate(data.items()):
        for kind in dict.fromkeys(kd for r in leaf["rows"] for kd in r["kind"]):
            rows = [r for r in leaf["rows"] if r["kind"] and r["kind"][0] == kind]
            recs = [(r["critical_value"], max(r["dimension"]), max(r["index"]), _sig(r["signature"]),
                     r["status"], kind, viz.format_eigenvalues(r["normal_eigenvalues"]))
                    for r in rows]
            value = viz.dim("value", "critical value (31)")
            dimension = viz.dim("dimension", "dimension of the critical set")
            index = viz.dim("index", "index")
            extra = [viz.dim("signature"), viz.dim("status"), viz.dim("kind"),
                     viz.dim("eigenvalues", "normal leaf eigenvalues")]
            style = dict(color=viz.kind_color(kind), marker=markers[k % 2], size=11 if k == 0 else 12,
                         line_color="black", tools=["hover"], alpha=0.9)
            label = f"{'0-balanced' if k == 0 else 'Gaussian'} leaf: {kind}"
            pts_dim.append(hv.Points([(v, d, i, *more) for v, d, i, *more in recs], kdims=[value, dimension],
                                     vdims=[index] + extra, label=label).opts(**style))
            pts_idx.append(hv.Points([(v, i, d, *more) for v, d, i, *more in recs], kdims=[value, index],
                                     vdims=[dimension] + extra, label=label).opts(**style))
    common = dict(frame_width=420, frame_height=330, show_grid=True)
    left = hv.Overlay(pts_dim).opts(hv.opts.Overlay(title="dimension of each critical set on the leaf",
                                                    show_legend=False, **common))
    right = hv.Overlay(pts_idx).opts(hv.opts.Overlay(title="index: unstable normal directions on the leaf",
                                                     legend_position="right", **common))
    facts = []
    for name, leaf in data.items():
        found = [r for r in leaf["rows"] if r["dimension"]]
        dims = sorted({d for r in found for d in r["dimension"]})
        nh = sorted({v for r in found for v in r["normally_hyperbolic"]})
        hyp = {(True,): "all normally hyperbolic", (False,): "none normally hyperbolic"}.get(tuple(nh), "some normally "
                                                                                             "hyperbolic")
        facts.append(f"{name}: dimensions {_join(dims)}, {hyp}")
    blocks = [Block(hv.Layout([left, right]).cols(2),
                    caption="One marker per signature S (circles: the 0-balanced leaf; triangles: the Gaussian leaf), "
                            "at its critical value (31), ½ Σ<sub>i∉S</sub> σᵢ²; colour: the kind (green global "
                            "minimum, red strict saddle, orange non-strict saddle). Hover for the signature. "
                            + "; ".join(facts) + ".")]
    for name, leaf in data.items():
        recs = []
        for r in leaf["rows"]:
            comp = str(r["components"]) + ("+" if r["more"] else "")
            nh = _join(r["normally_hyperbolic"], lambda v: "yes" if v else "no")
            recs.append((_sig(r["signature"]), r["status"], comp, _join(r["dimension"]), _join(r["expected"]),
                         _join(r["index"]), nh, _join(r["kind"]), round(r["critical_value"], 6)))
        table = hv.Table(recs, kdims=[viz.dim("signature", "signature S")],
                         vdims=["status", "components", "dimension", viz.dim("expected", "expected dim."), "index",
                                viz.dim("nh", "norm. hyp."), "kind",
                                viz.dim("value", "value (31)")]).opts(
            width=1000, height=30 + 25 * len(recs), title=name)
        found = sum(r["status"] == "found" for r in leaf["rows"])
        absent = [r for r in leaf["rows"] if r["status"] != "found"]
        notes = "".join(f"<li>{_sig(r['signature'])}: {r['status']}: {r['reason']}</li>" for r in absent)
        more = sum(r["more"] for r in leaf["rows"])
        blocks.append(Block(table, caption=(
            f"<b>{name}</b>: analysis status <code>{leaf['status']}</code> in {leaf['seconds']:.1f} s"
            f"{' (the laws drop rank at points found: a singular leaf)' if leaf['leaf_singular'] else ''}; {found} of "
            f"{len(leaf['rows'])} signatures found"
            + (f", {len(absent)} absent or not found:<ul>{notes}</ul>" if absent else ".")
            + (f" “+” after the number of components: {more} signature(s) had points left ungrouped when the time "
               "budget ran out, so there may be more components than listed." if more else ""))))
    return blocks


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network(DIMS, sigma=SIGMA), name="sec61")]


PORTRAITS = [
    Portrait(
        slug="section61-leaf-table",
        section="beyond",
        title="Critical sets of the Section 6.1 network, leaf by leaf",
        description="All 16 signatures of Network([11, 6, 6, 6, 6, 4]) on the 0-balanced leaf and on a Gaussian "
                    "leaf: found or absent, dimension, index, normal hyperbolicity.",
        paper="Section 6.1, Figs. 2–3; Section 4.2, eq. (31)",
        caption=(
            "<p>The network of Section 6.1, <code>Network([11, 6, 6, 6, 6, 4], sigma=[7, 5.5, 4, 2.5])</code>, has "
            "198 weights and four conserved 6×6 matrices Cᵢ = WᵢWᵢᵀ − Wᵢ₊₁ᵀWᵢ₊₁ (Prop. 6, 84 laws). Its critical "
            "points are not isolated even on a leaf {C(x) = C}: for each of the 2⁴ = 16 signatures S (the learned "
            "singular values, critical value (31)) <code>dlnsys.equilibrium_manifolds(net, C, max_time=20)</code> "
            "searches the leaf, groups the points it finds into connected components, and measures at a point of "
            "each its dimension, the normal spectrum of the leaf-restricted Jacobian (index = number of unstable "
            "normal directions; normally hyperbolic = no zero normal eigenvalue) and the kind "
            "(<code>dlnsys.classify</code>). The tables below compare the 0-balanced leaf C = 0 (the δ-balanced runs "
            "of Fig. 3 start close to it) with the leaf of a Gaussian initialization like the runs of Fig. 2. On a "
            "generic leaf the global minima form a manifold of dimension 198 − 44 product constraints − 84 laws = "
            "70. The search has a budget of 20 s per leaf (the gallery caches the page); as the budget is wall time, "
            "a build on a slower or busier machine may group fewer points, and for a saddle signature with several "
            "components the one described (its dimension and index) may differ between builds.</p>"),
        compute=compute, draw=draw, cost=8.0, thumbnail_block=0, thumbnail_panel=0, models=models),
]
