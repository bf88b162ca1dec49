"""Beyond the paper: the separatrix surface of Network([3, 1, 1]), the stable manifold of a circle of saddles."""
from __future__ import annotations

from .._registry import Block, Portrait

SIGMAS = [1.0, 2.0]
LEAVES = [-0.5, 0.5, 1.0]       # the leaf constant C = a^2 + b^2 + c^2 - w^2 (no saddles when C < 0)
N_CIRCLE = 32                   # samples of the circle of saddles (the seam of the mesh)
STEP = 0.2                      # mesh size and ring spacing of the surface
LENGTH = 1.6                    # how far the surface is grown from the circle (along the orbits)
OFFSET = 0.06                   # trajectories start this far off the surface, on either side
T_FINAL = 30.0


def compute():
    import numpy as np

    from dlnsys import Network, classify, simulate, spectrum
    from dlnsys.separatrices import basins, invariant_surface

    frames = {}
    for sigma in SIGMAS:
        net = Network([3, 1, 1], sigma=[sigma])   # x = (a, b, c, w): W1 = [a b c] (1x3), W2 = [w] (1x1)
        for C in LEAVES:
            # the minima of the leaf: b = c = 0, a w = sigma, a^2 - w^2 = C (two, mirror images x -> -x)
            w = np.sqrt((-C + np.sqrt(C * C + 4 * sigma ** 2)) / 2)
            minima = np.array([[sigma / w, 0, 0, w], [-sigma / w, 0, 0, -w]])
            fr = dict(minima=minima, minima_kinds=[classify(net, m).kind for m in minima],
                      # eigenvalues of the Jacobian restricted to the (3-D) leaf at each minimum
                      minima_eigenvalues=[spectrum(net, m, on_leaf=True).eigenvalues for m in minima],
                      circle=np.zeros((0, 4)), vertices=np.zeros((0, 4)),
                      triangles=np.zeros((0, 3), dtype=int), n_vertices=0, status="no saddles", seconds=0.0)
            if C > 0:
                # equilibria with w = 0 have a = 0: the circle b^2 + c^2 = C of saddles (signature {})
                th = np.linspace(0, 2 * np.pi, N_CIRCLE, endpoint=False)
                circle = np.column_stack([0 * th, np.sqrt(C) * np.cos(th), np.sqrt(C) * np.sin(th), 0 * th])
                surf = invariant_surface(net, circle, kind="stable", step=STEP, length=LENGTH)
                fr.update(circle=circle, vertices=surf.vertices, triangles=surf.triangles, n_vertices=surf.n_vertices,
                          status=surf.status, seconds=surf.elapsed,
                          normal_eigenvalue=float(surf.eigenvalues[0, 0]))
                # starts: points of a middle ring of the surface, pushed off it on either side along the
                # mesh normal (in the 3-D coordinates of the page, where the leaf is all of R^3 minus 0)
                V3 = _leaf_coords(surf.vertices)
                T = surf.triangles
                nrm = np.cross(V3[T[:, 1]] - V3[T[:, 0]], V3[T[:, 2]] - V3[T[:, 0]])
                vn = np.zeros_like(V3)
                for k in range(3):
                    np.add.at(vn, T[:, k], nrm)
                vn /= np.linalg.norm(vn, axis=1)[:, None]
                picks = []
                for ring, side in zip(surf.rings, surf.ring_sides):
                    if side != 0 and len(picks) < 2 * 6 and abs(surf.geodesic[ring[0]] - 0.75 * LENGTH) < STEP / 2:
                        picks += list(ring[:: max(1, len(ring) // 3)][:3])
                picks = np.array(picks)
                P0 = np.vstack([V3[picks] + OFFSET * vn[picks], V3[picks] - OFFSET * vn[picks]])
                starts = _leaf_point(P0, C)
                side = np.repeat([1, -1], len(picks))
            else:
                # C < 0: two components, w > 0 and w < 0 (W1 = 0 is allowed, |w| >= sqrt(-C)); starts on both
                rng = np.random.default_rng(0)
                W1 = rng.uniform(-1.5, 1.5, size=(8, 3))
                wsign = np.repeat([1.0, -1.0], 4)
                starts = np.column_stack([W1, wsign * np.sqrt(np.sum(W1 ** 2, axis=1) - C)])
                side = wsign.astype(int)
            traj = simulate(net, starts, T_FINAL, t_eval=np.linspace(0.0, T_FINAL, 301))
            ends = basins(net, starts)                  # which minimum each start reaches
            fr.update(starts=starts, side=side, paths=traj.x, labels=ends.labels, final=ends.final)
            frames[(C, sigma)] = fr
    return dict(frames=frames)


def _leaf_coords(X):
    """3-D coordinates of the leaf: P = W1 (1 + w / |W1|), a diffeomorphism of the leaf C > 0 onto R^3 minus
    the origin (|P| = |W1| + w increases with w: the spheres |P| = r are the levels of w, and |P| = sqrt(C) is
    w = 0); for C < 0 it maps the component w > 0 outside the ball |P| <= sqrt(-C) and w < 0 inside it."""
    import numpy as np

    X = np.asarray(X, float).reshape(-1, 4)
    W1, w = X[:, :3], X[:, 3:]
    n = np.maximum(np.linalg.norm(W1, axis=1, keepdims=True), 1e-300)
    return W1 * (1 + w / n)


def _leaf_point(P, C):
    """The inverse of _leaf_coords on the leaf C > 0: rho = |P|, w = (rho^2 - C) / (2 rho), W1 = P (rho - w) / rho."""
    import numpy as np

    rho = np.linalg.norm(P, axis=1, keepdims=True)
    w = (rho ** 2 - C) / (2 * rho)
    return np.hstack([P * (rho - w) / rho, w])


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    names = ["p₁", "p₂", "p₃"]
    kd = [viz.dim("p1", names[0]), viz.dim("p2", names[1]), viz.dim("p3", names[2])]
    colors = {1: viz.PALETTE[0], -1: viz.PALETTE[1]}
    frames = {}
    for (C, sigma), fr in data["frames"].items():
        thin = np.unique(np.geomspace(1, fr["paths"].shape[0], 45).astype(int) - 1)   # dense early, sparse late
        paths = {s: [np.round(_leaf_coords(fr["paths"][thin, b, :]), 3) for b in np.flatnonzero(fr["side"] == s)] for s in (1, -1)}
        ends = {s: sorted(set(np.array(fr["labels"])[fr["side"] == s])) for s in (1, -1)}
        circle = _leaf_coords(fr["circle"])
        # three great circles of the sphere |p| = sqrt|C| (w = 0 when C > 0, W1 = 0 when C < 0), for orientation
        t = np.linspace(0, 2 * np.pi, 73)
        r0 = np.sqrt(abs(C))
        sphere = [r0 * np.column_stack([np.cos(t), np.sin(t), 0 * t])[:, perm] for perm in ([0, 1, 2], [2, 0, 1],
                                                                                           [1, 2, 0])]
        els = [
            viz.mesh_3d(_leaf_coords(fr["vertices"]), fr["triangles"], names=names, color=viz.COLORS["stable_manifold"],
                        alpha=0.35, decimals=3, label="stable manifold of the circle of saddles (separatrix surface)"),
            viz.curve_paths_3d([np.vstack([circle, circle[:1]])] if len(circle) else [], label="circle of saddles "
                               "a = w = 0, b² + c² = C", color=viz.COLORS["saddle"], width=9, names=names),
            viz.curve_paths_3d(sphere, label="sphere ‖p‖ = √|C|: w = 0 (C > 0), W₁ = 0 (C < 0)", color="#b0b0b0",
                               width=1.5, names=names),
            viz.equilibrium_points_3d(_leaf_coords(fr["minima"]), fr["minima_kinds"], kdims=kd, size=7,
                                      eigenvalues=fr["minima_eigenvalues"], label="global minima ±(σ/w*, 0, 0, w*)",
                                      extra={viz.dim("x", "(a, b, c, w)"): ["(" + ", ".join(f"{v:.4g}" for v in m)
                                                                              + ")" for m in fr["minima"]]}),
            viz.curve_paths_3d(paths[1], label="trajectories from one side", color=colors[1], width=4, names=names),
            viz.curve_paths_3d(paths[-1], label="trajectories from the other side", color=colors[-1], width=4,
                               names=names),
            hv.Scatter3D(_leaf_coords(fr["starts"]), kdims=kd, label="starts").opts(
                color="black", size=3, marker="circle-open", backend="plotly"),
        ]
        what = (f"{fr['n_vertices']} vertices, normal eigenvalue {fr['normal_eigenvalue']:.3f}" if C > 0
                else "no saddles: two components, one minimum each")
        # string keys: the slider starts at C = 0.5 ("0.5" < "1" < "−0.5"), a leaf with the surface
        frames[(f"{C:g}".replace("-", "−"), sigma)] = hv.Overlay(els).relabel(
            f"C = {C:g}, σ = {sigma:g}: {what}; ends {' / '.join(ends[1])} and {' / '.join(ends[-1])}")
    hmap = viz.holomap(frames, [viz.dim("leafC", "C"), viz.dim("sig", "σ")], backend="plotly", width=1100,
                       height=720, title="{label}", hooks=[viz.plotly_legend])
    return [Block(hmap, backend="plotly",
                  caption="Drag to rotate; the sliders pick the leaf constant C and σ. Coordinates: "
                          "p = (p₁, p₂, p₃) = W₁ (1 + w/‖W₁‖) with W₁ = [a b c] and W₂ = [w], which maps the leaf "
                          "C > 0 one to one onto space minus the origin: the sphere ‖p‖ = √C is w = 0, outside it "
                          "w > 0, inside w < 0 (the mirror x ↦ −x of the flow is the inversion p ↦ −C p/‖p‖²). "
                          "Blue surface: <code>invariant_surface(net, circle)</code>, the stable manifold of the "
                          "red circle of saddles, grown by backward integration in arclength from the circle's "
                          "stable normal direction; it separates the basins of the two green minima. Trajectories "
                          "(<code>dlnsys.simulate</code>) start just off the surface on either side, run along it "
                          "to the circle, and then leave to different minima (which one: "
                          "<code>dlnsys.separatrices.basins</code>, in the title as signature and sign pattern "
                          "of (a, w)). For C &lt; 0 the circle is gone: the leaf has two components, w &gt; 0 "
                          "(outside the sphere ‖p‖ = √−C) and w &lt; 0 (inside), each the basin of one minimum.")]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((3, 1, 1), sigma=[1.0]), name="net311")]


PORTRAITS = [
    Portrait(
        slug="separatrix-surface-311",
        section="beyond",
        title="The separatrix surface of Network([3, 1, 1]): stable manifold of a circle of saddles",
        description="A 2-D invariant surface in a 3-D leaf: the stable manifold of a circle of saddles separates "
                    "the basins of two minima.",
        paper="Section 4.2, Prop. 6, eq. (31); Section 6.2.1",
        caption=(
            "<p><code>Network([3, 1, 1])</code> has four weights, x = (a, b, c, w) with W₁ = [a b c] and "
            "W₂ = [w], data Σ = [σ 0 0], and the flow ȧ = w(σ − wa), ḃ = −w²b, ċ = −w²c, "
            "ẇ = σa − w(a² + b² + c²). One law is conserved (Prop. 6), C = a² + b² + c² − w², so every leaf "
            "is 3-dimensional. Its equilibria: w = 0 forces a = 0, so on a leaf with C &gt; 0 the saddles "
            "(signature {}, critical value (31) σ²/2) form the circle b² + c² = C; the global minima are "
            "b = c = 0, aw = σ, two per leaf (w*² = (−C + √(C² + 4σ²))/2). On the leaf, each saddle has one "
            "zero eigenvalue (along the circle), one unstable and one stable normal eigenvalue "
            "(−C ∓ √(C² + 4σ²))/2, so the stable manifold of the circle is a surface: "
            "<code>dlnsys.separatrices.invariant_surface</code> computes it as a triangle mesh with the orbit "
            "time of every vertex. It is the 3-D analogue of the separatrix w₁ = −w₂ of Fig. 5.</p>"),
        compute=compute, draw=draw, cost=1.5, plotly=True, models=models),
]
