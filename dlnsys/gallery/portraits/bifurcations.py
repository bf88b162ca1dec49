"""Beyond the paper: continuation of equilibria -- bifurcations in gamma, and the branch of (62) against c."""
from __future__ import annotations

from .._registry import Block, Portrait


def compute_gamma():
    from dlnsys import Network
    from dlnsys.continuation import LogisticSystem, continuation

    sigma = 1.0
    # logistic (61) with regularization, h = 2: from the origin at gamma = 2 down to 0; the branch point
    # at gamma = sigma is found and both nonzero branches z = +-sqrt(sigma - gamma) are followed
    h2 = continuation(LogisticSystem(h=2, sigma=sigma, gamma=2.0), [0.0], param="gamma", p_to=0.0)
    # h = 3: the trivial branch, and the nonzero branch from z = sigma^(1/3) at gamma = 0 through its fold
    h3_trivial = continuation(LogisticSystem(h=3, sigma=sigma, gamma=2.0), [0.0], param="gamma", p_to=0.0,
                              switch=False)
    h3 = continuation(LogisticSystem(h=3, sigma=sigma, gamma=0.0), [1.0], param="gamma", p_to=2.0, switch=False)
    # the regularized single hidden node (62): w' = -grad (L + gamma |w|^2 / 2), pitchfork at gamma = sigma
    net = Network((1, 1, 1), sigma=[sigma], gamma=2.0)
    n62 = continuation(net, param="gamma", p_to=0.0)
    return dict(h2=h2, h3=[h3_trivial, h3], n62=n62, sigma=sigma)


def compute_leaf():
    import numpy as np

    from dlnsys import Network
    from dlnsys.continuation import continuation

    branches = {}
    for sigma in (0.5, 1.0, 2.0):
        net = Network((1, 1, 1), sigma=[sigma])
        # the equilibrium (64) of the leaf w1^2 - w2^2 = c, followed from c = -5 to c = 5 (bordered system)
        b = continuation(net, param="c1", p_from=-5.0, p_to=5.0)
        c = np.asarray(b.parameter)
        w1 = np.sqrt(0.5 * (c + np.sqrt(c ** 2 + 4 * sigma ** 2)))          # (64), for comparison
        branches[sigma] = dict(branch=b, c=c, closed_w1=w1, closed_w2=sigma / w1,
                               closed_lambda=-(sigma ** 2 + w1 ** 4) / w1 ** 2,
                               error=float(np.max(np.abs(np.asarray(b.states) - np.column_stack([w1, sigma / w1])))))
    return dict(branches=branches)


def draw_gamma(data):
    import holoviews as hv

    from dlnsys import viz

    def panel(el, title, legend=False):
        # one legend for the three panels (same line styles), right of the last frame: none covers a branch
        return el.opts(hv.opts.Overlay(title=title, frame_width=265, frame_height=300, show_grid=True,
                                       show_legend=legend, legend_position="right",
                                       fontsize={"legend": 8.5, "title": 10.5}))

    # every fold (LP) and branch point (BP) found by the continuation: a black diamond labelled LP / BP
    p2 = panel(viz.branch_plot(data["h2"], ylabel="z", xlabel="γ"), "(a) h = 2: pitchfork (BP) at γ = σ")
    # (b): the special points of both branches in one call, so that the BP at the origin, where both end, is
    # labelled once
    p3 = panel(viz.branch_plot(data["h3"][0], ylabel="z", xlabel="γ", special=False)
               * viz.branch_plot(data["h3"][1], ylabel="z", xlabel="γ", special=False)
               * viz.special_points([b for br in data["h3"] for b in br.all_branches()], ylabel="z", xlabel="γ"),
               "(b) h = 3: fold (LP), γ = ¾σ∛(σ/4)")
    p62 = panel(viz.branch_plot(data["n62"], ylabel="w₁", xlabel="γ"), "(c) regularized (62): BP at γ = σ",
                legend=True)
    return [Block(hv.Layout([p2, p3, p62]).cols(3).opts(shared_axes=False),
                  caption="Solid: stable equilibria, dashed red: unstable (eigenvalues of the Jacobian; with γ > 0 "
                          "there are no conservation laws). Diamonds: branch points (BP) and folds (LP) located by "
                          "dlnsys.continuation (test functions refined by bisection); hover one for its state and "
                          "eigenvalues. The branch points at γ = 0 in "
                          "(b) and (c) mark where the isolated equilibria join the continua of the unregularized flow "
                          "(the origin for h = 3, the hyperbola w₁w₂ = σ for (62)).")]


def draw_leaf(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    cd = viz.dim("c", "leaf constant c = w₁² − w₂²")
    w_plots, lam_plots = [], []
    for k, (sigma, r) in enumerate(data["branches"].items()):
        b, col = r["branch"], viz.PALETTE[k]
        lam = np.array([float(np.max(ev)) for ev in b.eigenvalues])
        # viz.branch_plot: solid where stable on the leaf (dashed red if it were unstable), folds (LP) and branch
        # points (BP) labelled (this branch has none); w2 as a thinner line
        w_plots += [viz.branch_plot(b, y=lambda S: np.asarray(S)[:, 0], xlabel=cd.label, ylabel="equilibrium (64)",
                                    color=col, label=f"w₁, σ = {sigma:g}"),
                    viz.branch_plot(b, y=lambda S: np.asarray(S)[:, 1], xlabel=cd.label, ylabel="equilibrium (64)",
                                    color=col, label=f"w₂, σ = {sigma:g}").opts(hv.opts.Curve(line_width=1.5)),
                    hv.Scatter((r["c"][::12], r["closed_w1"][::12]), viz.dim("p", cd.label),
                               viz.dim("y", "equilibrium (64)")).opts(color="black", size=4, marker="x")]
        lam_plots += [hv.Curve((b.parameter, lam), cd, viz.dim("lam", "leaf eigenvalue λ"), label=f"σ = {sigma:g}")
                      .opts(color=col, line_width=3),
                      hv.Scatter((r["c"][::12], r["closed_lambda"][::12]), cd, viz.dim("lam", "leaf eigenvalue λ"))
                      .opts(color="black", size=4, marker="x")]
    opts = dict(frame_width=400, frame_height=320, show_grid=True, legend_position="right", fontsize={"legend": 9})
    left = hv.Overlay(w_plots).opts(title="(a) the equilibrium (64) of each leaf", **opts)
    right = hv.Overlay(lam_plots).opts(title="(b) its eigenvalue on the leaf, −(σ² + w₁⁴)/w₁²", **opts)
    worst = max(r["error"] for r in data["branches"].values())
    return [Block(hv.Layout([left, right]).cols(2).opts(shared_axes=False),
                  caption=f"Lines: the branch followed by dlnsys.continuation in the leaf constant c (bordered system "
                          f"f(w) + μ∇π(w) = 0, π(w) = c), w₁ thick and w₂ thin, solid where stable on the leaf; crosses: the closed forms (64) and −(σ² + w₁⁴)/w₁². Largest "
                          f"deviation from (64) along the branches: {worst:.1e}. The eigenvalue stays negative: every "
                          "leaf's equilibrium is hyperbolic and stable on its leaf; no fold or branch point.")]


def models_gamma():
    from dlnsys import Network
    from dlnsys.emit.generators import logistic_spec, network_spec

    # the regularized logistic equation continued in gam (h = 2 from the origin, h = 3 on the folding branch),
    # and the regularized (62)
    return [logistic_spec([1.0], 2, [0.0], name="logreg_h2", continuation="gam"),
            logistic_spec([1.0], 3, name="logreg_h3", continuation="gam"),
            network_spec(Network((1, 1, 1), sigma=[1.0], gamma=0.5), name="reg62", regularized=True)]


def models_leaf():
    from dlnsys.emit.generators import chain_leaf_spec

    return [chain_leaf_spec(2, 1.0, [0.0], name="leaf62", parameter="c1", parameter_range=(-5.0, 5.0))]


PORTRAITS = [
    Portrait(
        slug="bifurcations-in-gamma",
        section="beyond",
        title="Bifurcation diagrams in the regularization γ",
        description="Equilibria of the regularized logistic equation (h = 2, 3) and of the regularized (62) against "
                    "γ: pitchforks and a fold.",
        paper="eqs. (24), (25), (61), (62); Section 5.4",
        caption=(
            "<p>Adding the L2 regularization ½γ‖A‖²<sub>F</sub> (eq. 24) to the loss gives the flows (25). In the 0-balanced "
            "diagonal reduction each channel follows ż = zʰ⁻¹(σ − zʰ) − γz "
            "(<code>dlnsys.continuation.LogisticSystem</code>). For h = 2 the nonzero equilibria ±√(σ − γ) merge "
            "with z = 0 in a pitchfork at γ = σ; for h = 3 the equilibria solve z(σ − z³) = γ and a stable and an "
            "unstable branch meet in a fold at z = ∛(σ/4), γ = ¾σ·∛(σ/4) ≈ 0.4725 for σ = 1: beyond it only "
            "z = 0 is left, so strong regularization forgets σ abruptly. The regularized single hidden node (62) "
            "(<code>Network((1, 1, 1), sigma=[1], gamma=γ)</code>, continued in the full space since γ > 0 removes "
            "the conservation law) has its pitchfork at γ = σ as well. All branches, their stability and the "
            "special points come from <code>dlnsys.continuation.continuation(..., param=\"gamma\")</code>.</p>"),
        compute=compute_gamma, draw=draw_gamma, cost=0.6, models=models_gamma),
    Portrait(
        slug="branch-62-in-c",
        section="beyond",
        title="The equilibrium branch of (62) against the leaf constant c",
        description="Pseudo-arclength continuation of the leaf equilibrium (64) in c for three σ, with its "
                    "leaf-restricted eigenvalue.",
        paper="Section 6.2.1, eqs. (62)–(64)",
        caption=(
            "<p>Without regularization every equilibrium of (62) lies on a continuum (the hyperbola w₁w₂ = σ), which "
            "classic continuation tools cannot follow. On a leaf w₁² − w₂² = c the equilibrium is isolated, so dlnsys "
            "continues it in the leaf constant c on the bordered system (one law, one multiplier μ that vanishes at "
            "solutions): <code>continuation(Network((1, 1, 1), sigma=[σ]), param=\"c1\", p_from=-5, p_to=5)</code>. "
            "The branch reproduces (64) and its leaf-restricted eigenvalue −(σ² + w₁⁴)/w₁² for every c.</p>"),
        compute=compute_leaf, draw=draw_leaf, cost=0.6, models=models_leaf),
]
