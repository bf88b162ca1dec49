"""Fig. 6: two hidden layers of one node (65) -- the 3D phase space."""
from __future__ import annotations

from .._registry import Block, Portrait

BOX = 1.8
SIGMA = 1.0
LEAVES = [(0.0, 0.0), (0.6, 0.4), (-0.5, 0.9), (0.4, -0.8), (-1.0, -0.3)]


def compute():
    import numpy as np

    from dlnsys import Network, classify, spectrum
    from dlnsys.leaves import equilibria_on_leaf
    from dlnsys.simulate import simulate

    net = Network((1, 1, 1, 1), sigma=[SIGMA])    # (65): w = (w1, w2, w3), conserved c1 = w1^2 - w2^2, c2 = w2^2 - w3^2
    leaves = {}
    for c1, c2 in LEAVES:
        # the leaf: w2^2 = c2 + w3^2, w1^2 = c1 + c2 + w3^2, parametrized by w3 (four sign branches of w1, w2)
        w3 = np.linspace(-BOX, BOX, 401)
        w2sq, w1sq = c2 + w3 ** 2, c1 + c2 + w3 ** 2
        ok = (w2sq >= 0) & (w1sq >= 0)
        branches = []
        for s1 in (1, -1):
            for s2 in (1, -1):
                pts = np.column_stack([s1 * np.sqrt(np.where(ok, w1sq, np.nan)),
                                       s2 * np.sqrt(np.where(ok, w2sq, np.nan)), w3])
                branches.append(pts)
        eqs = equilibria_on_leaf(net, [c1, c2])          # exact: minima (4 sign patterns) and saddles
        # trajectories from points of the leaf far out on each branch
        starts = np.array([b[k] for b in branches for k in (5, -6) if np.all(np.isfinite(b[k]))])
        traj = simulate(net, starts, 40.0, t_eval=np.linspace(0.0, 40.0, 400))
        # each equilibrium with its kind and the eigenvalues of the Jacobian restricted to the leaf
        leaves[(c1, c2)] = dict(branches=branches, equilibria=[(e.state, e.kind, e.leaf_eigenvalues) for e in eqs],
                                paths=traj.x)
    origin_kind = classify(net, np.zeros(3)).kind           # (65): a non-strict saddle (Prop. 21, h = 3)
    # at the origin the laws' differentials vanish: the leaf's tangent space is all of R^3, the Jacobian is 0
    origin_eigenvalues = spectrum(net, np.zeros(3), on_leaf=True).eigenvalues
    return dict(net=net, leaves=leaves, origin_kind=origin_kind, origin_eigenvalues=origin_eigenvalues)


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    names = ["w₁", "w₂", "w₃"]
    kd = [viz.dim("w1", names[0]), viz.dim("w2", names[1]), viz.dim("w3", names[2])]
    # the minima w1 w2 w3 = sigma: four smooth sheets (one per sign pattern with positive product), each
    # parametrized by (u, v) = (log|w1|, log|w2|) over the triangle where every |w_i| <= BOX, so the
    # sheets end exactly on the faces of the box (no clipped grid cells)
    a, b, n = np.log(BOX), np.log(BOX / SIGMA), 28
    corners = np.array([[a, a], [a, -b - a], [-b - a, a]])
    ij = [(i, j) for i in range(n + 1) for j in range(n + 1 - i)]
    uv = np.array([corners[0] + i / n * (corners[1] - corners[0]) + j / n * (corners[2] - corners[0]) for i, j in ij])
    index = {p: k for k, p in enumerate(ij)}
    tris = [(index[(i, j)], index[(i + 1, j)], index[(i, j + 1)]) for i, j in ij if i + j < n]
    tris += [(index[(i + 1, j)], index[(i + 1, j + 1)], index[(i, j + 1)]) for i, j in ij if i + j < n - 1]
    verts, faces = [], []
    for s1, s2 in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        w = np.column_stack([s1 * np.exp(uv[:, 0]), s2 * np.exp(uv[:, 1]), s1 * s2 * SIGMA * np.exp(-uv.sum(1))])
        faces.append(np.array(tris) + len(verts) * len(uv))
        verts.append(w)
    surface = viz.mesh_3d(np.vstack(verts), np.vstack(faces), label="global minima w₁w₂w₃ = σ", color="#2ca02c",
                          alpha=0.35, names=names)
    axes = viz.curve_paths_3d([np.array([[-BOX, 0, 0], [BOX, 0, 0]]), np.array([[0, -BOX, 0], [0, BOX, 0]]),
                               np.array([[0, 0, -BOX], [0, 0, BOX]])], label="saddles: two weights zero",
                              color=viz.COLORS["saddle"], width=6, names=names)
    leaves = [b for lf in data["leaves"].values() for b in lf["branches"]]
    els = [surface, axes, viz.curve_paths_3d(leaves, label="leaves (c₁, c₂) = " + ", ".join(
        f"({c1:g}, {c2:g})" for c1, c2 in data["leaves"]), color="#444444", width=2, names=names)]
    for k, ((c1, c2), lf) in enumerate(data["leaves"].items()):
        paths = [lf["paths"][:, b, :] for b in range(lf["paths"].shape[1])]
        els.append(viz.curve_paths_3d(paths, label=f"trajectories on the leaf c = ({c1:g}, {c2:g}), ○ = start",
                                      color=viz.PALETTE[k % 10], width=6, names=names))
        els.append(hv.Scatter3D(lf["paths"][0], kdims=kd).opts(        # no label: no second legend entry
            color=viz.PALETTE[k % 10], size=4, marker="circle-open", backend="plotly"))
    # the equilibria of the leaves but the origin (drawn below, larger)
    eq = [(s, kind, ev, f"({c1:g}, {c2:g})") for (c1, c2), lf in data["leaves"].items()
          for s, kind, ev in lf["equilibria"] if np.any(np.asarray(s) != 0)]
    els.append(viz.equilibrium_points_3d(np.array([e[0] for e in eq]), [e[1] for e in eq], names=names, size=5,
                                         eigenvalues=[e[2] for e in eq], extra={viz.dim("leaf", "leaf (c₁, c₂)"):
                                                                                [e[3] for e in eq]}))
    # the origin, where every axis of saddles passes: drawn larger so that it stays visible
    els.append(viz.equilibrium_points_3d(np.zeros((1, 3)), [data["origin_kind"]], names=names, size=11,
                                         eigenvalues=[data["origin_eigenvalues"]]))
    scene = hv.Overlay(els).opts(hv.opts.Overlay(width=1150, height=760, backend="plotly", hooks=[viz.plotly_legend],
                                                 title="(65): phase space, leaves, minima and saddles"))
    return [Block(scene, backend="plotly",
                  caption="Drag to rotate. Green surface: the global minima w₁w₂w₃ = σ (four sheets, one per sign "
                          "pattern with positive product), drawn as smooth parametric sheets that end on the faces of the box. "
                          "Red lines: the coordinate axes, where two weights vanish "
                          "and the points are saddles (Prop. 33); they meet at the origin, a non-strict saddle (the "
                          "half-tone diamond). Grey curves: leaves, the intersections of the two "
                          "conserved hyperboloids w₁² − w₂² = c₁, w₂² − w₃² = c₂; coloured curves: trajectories on "
                          "them; dots: the equilibria on each leaf (green minima, red/orange saddles) from "
                          "dlnsys.leaves.equilibria_on_leaf.")]


def models():
    from dlnsys.emit.generators import paper_spec

    return [paper_spec("65")]


PORTRAITS = [
    Portrait(
        slug="fig6-two-hidden-layers",
        section="paper",
        title="Fig. 6 · Two hidden layers of one node (65)",
        description="3D phase space with the minima surface, the saddle sets, leaves (intersections of two "
                    "hyperboloids) and trajectories.",
        paper="Section 6.2.2, eq. (65), Fig. 6",
        caption=(
            "<p>The chain <code>Network((1, 1, 1, 1), sigma=[1])</code> has three weights and the flow (65), "
            "ẇᵢ = ∏<sub>j≠i</sub> wⱼ (σ − w₁w₂w₃). Its critical points are the minima surface w₁w₂w₃ = σ and the saddles "
            "with at least two zero weights (the coordinate axes; the origin is a non-strict saddle where every "
            "derivative of order below h − 1 = 2 vanishes). The two conservation laws c₁ = w₁² − w₂², "
            "c₂ = w₂² − w₃² cut the space into curves (leaves); on each leaf the equilibria are isolated: "
            "<code>dlnsys.leaves.equilibria_on_leaf(net, [c1, c2])</code> returns them exactly, one minimum per "
            "admissible sign pattern and the saddles the leaf meets. Trajectories (<code>dlnsys.simulate</code>) "
            "stay on their leaf and converge to one of its minima. The leaf c = (0, 0) is the 0-balanced one: the "
            "four diagonals through the origin.</p>"),
        compute=compute, draw=draw, cost=1.0, plotly=True, models=models),
]
