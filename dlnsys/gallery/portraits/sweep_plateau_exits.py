"""Beyond the paper: plateau exit times from a real sweep (dlnsys.sweep) against the exact solutions (dlnsys.exact)."""
from __future__ import annotations

from .._registry import Block, Portrait

#: The study (also offered as a download): the Section 6.1 widths at depths h = 2..6, 0-balanced inits
#: aligned with the data, end-to-end scales over five decades, three seeds (random mode strengths).
STUDY = """\
name = "plateau-exits"
design = "grid"

[parameters]
# the Section 6.1 network (h = 5) and the same widths at depths 2, 3, 4 and 6
dims = [[11, 6, 4], [11, 6, 6, 4], [11, 6, 6, 6, 4], [11, 6, 6, 6, 6, 4], [11, 6, 6, 6, 6, 6, 4]]
sigma = [[7.0, 5.5, 4.0, 2.5]]
# 0-balanced and aligned with the data: mode i starts at [W_1:h]_ii = scale |N(0, 1)|
init = ["aligned_balanced"]
scale = {logspace = [-5, 0, 6]}
seed = {range = [0, 3]}

[integration]
t_final = 20000.0
rtol = 1e-10
atol = 1e-12
until_loss = 1e-10

[measures]
record = ["final_loss", "escape_times", "predicted_escape_times"]
escape_level = 0.5
"""


def compute():
    import hashlib
    import os

    import numpy as np

    from dlnsys import Network, escape_times
    from dlnsys.sweep import Study, load_sweep, sweep

    study = Study.from_toml(STUDY)
    # the sweep's folder: rows are kept, so a second build only reads them (dlnsys sweep resumes too);
    # `dlnsys sweep plateau-exits.toml --out results/` runs the same study on a local Dask cluster
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(cache, "dlnsys", "sweeps", "plateau-exits-" + hashlib.sha256(STUDY.encode()).hexdigest()[:12])
    result = sweep(study, folder, scheduler="serial", progress=False)
    table = load_sweep(folder)
    sigma = [7.0, 5.5, 4.0, 2.5]
    curves = {}
    for dims in sorted({tuple(int(v) for v in d.split(",")) for d in table["dims"]}, key=len):
        net = Network(dims, sigma=sigma)
        z0 = np.geomspace(1e-6, 1.0, 60) ** (1.0 / net.h)           # layer value of a mode: product z0^h
        exact = np.array([escape_times(net, scale=z, level=0.5) for z in z0])
        leading = np.array([escape_times(net, scale=z, level=0.5, order="leading") for z in z0])
        curves[net.h] = dict(p0=z0 ** net.h, exact=exact, leading=leading)
    cols = ["depth", "seed", "scale", "status"] + [
        f"{k}_{i}" for k in ("mode_initial", "escape_time", "escape_pred") for i in range(1, 5)]
    return dict(rows=table[cols].to_dict("list"), curves=curves, sigma=sigma, n_runs=result.n_runs,
                seconds=result.seconds, folder=folder, study=STUDY)


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    rows = {k: np.asarray(v) for k, v in data["rows"].items()}
    colors = ["#1f77b4", "#9467bd", "#8c564b", "#17becf"]
    p0d = viz.dim("p0", "initial mode strength [W₁:ₕ(0)]ᵢᵢ")
    td = viz.dim("t", "time to reach σᵢ/2")
    frames = {}
    for h, cv in data["curves"].items():
        els = []
        sel = rows["depth"] == h
        for i, s in enumerate(data["sigma"]):
            # log axes: only starts below sigma_i / 2 (an escape time > 0) and positive leading orders
            ex = np.where(cv["exact"][:, i] > 0, cv["exact"][:, i], np.nan)
            lo = np.where(cv["leading"][:, i] > 0, cv["leading"][:, i], np.nan)
            t_meas = rows[f"escape_time_{i + 1}"][sel]
            keep = t_meas > 0
            els.append(hv.Curve((cv["p0"], ex), p0d, td, label=f"σ{i + 1} = {s:g}: exact").opts(
                color=colors[i], line_width=2))
            els.append(hv.Curve((cv["p0"], lo), p0d, td, label=f"σ{i + 1}: leading order").opts(
                color=colors[i], line_width=1.2, line_dash="dashed"))
            els.append(hv.Points((rows[f"mode_initial_{i + 1}"][sel][keep], t_meas[keep]),
                                 [p0d, td], label=f"σ{i + 1}: measured (sweep)").opts(
                color=colors[i], size=7, marker="circle", fill_color="white", line_width=1.5))
        frames[h] = hv.Overlay(els).relabel(f"depth h = {h}")
    hmap = viz.holomap(frames, [viz.dim("h", "depth h")], frame_width=520, frame_height=420, logx=True, logy=True,
                       show_grid=True, legend_position="right", title="{label}: plateau exits, measured and exact",
                       fontsize={"legend": 8.5})
    measured = np.concatenate([rows[f"escape_time_{i}"] for i in range(1, 5)])
    exact = np.concatenate([rows[f"escape_pred_{i}"] for i in range(1, 5)])
    p0 = np.concatenate([rows[f"mode_initial_{i}"] for i in range(1, 5)])
    depth = np.concatenate([rows["depth"]] * 4)
    # modes that start above the level have no plateau to leave (exact time 0): nothing to compare
    ok = np.isfinite(measured) & np.isfinite(exact) & (exact > 0)
    rel = np.abs(measured[ok] / exact[ok] - 1)
    p0, depth = p0[ok], depth[ok]
    err = hv.Overlay([hv.Points((p0[depth == h], np.maximum(rel[depth == h], 1e-16)),
                                [p0d, viz.dim("rel", "|measured / exact − 1|")], label=f"h = {h}").opts(
        color=viz.PALETTE[k], size=6) for k, h in enumerate(sorted(data["curves"]))]).opts(
        frame_width=560, frame_height=300, logx=True, logy=True, show_grid=True, legend_position="right",
        title="measured against exact escape times, every run and mode")
    return [Block(hmap, caption="Move the slider over the depth. Lines: the exact escape time of each mode of a "
                                "0-balanced aligned start (dlnsys.exact.escape_times, the closed form of (61)), "
                                "dashed: its leading order in the initial strength (for h ≥ 3, "
                                "1/((h − 2) σ z₀<sup>h−2</sup>) plus a constant; logarithmic for h = 2). Circles: the "
                                "times measured by the sweep (first crossing of σᵢ/2 by the mode of the simulated "
                                "product), one per run and mode; seeds draw the initial strengths."),
            Block(err, caption="Relative difference between every measured escape time and the exact prediction "
                               "for the same start: the integration tolerance (rtol 1e-10) and the linear "
                               "interpolation of the crossing between saved steps, not the model.")]


def files():
    return {"plateau-exits.toml": STUDY}


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import logistic_spec, network_spec

    # the Section 6.1 network of the study, and the per-mode equation (61) at its depth
    return [network_spec(Network((11, 6, 6, 6, 6, 4), sigma=[7.0, 5.5, 4.0, 2.5]), name="sec61"),
            logistic_spec([7.0, 5.5, 4.0, 2.5], 5, name="logistic_h5")]


PORTRAITS = [
    Portrait(
        slug="sweep-plateau-exits",
        section="beyond",
        title="Plateau exit times: a sweep against the exact solutions",
        description="A study run by dlnsys.sweep over depths 2-6 and five decades of init scale, measured plateau "
                    "exits against dlnsys.exact.",
        paper="Sections 5.3 and 6.1, eq. (61)",
        caption=(
            "<p>Small initializations make the gradient flow linger near the saddles: each singular value σᵢ is "
            "learned after a plateau whose length grows as the initial strength z₀ of its mode shrinks, like "
            "log(1/z₀)/σᵢ for h = 2 and like z₀<sup>−(h−2)</sup>/((h − 2)σᵢ) for deeper networks (the per-mode "
            "equation (61)). This page is built from a real study: <code>dlnsys.sweep</code> runs every "
            "combination of the study file (downloadable below: depth, scale, seed) and records, per run, the time "
            "at which each mode reaches half its target, next to the prediction of <code>dlnsys.exact</code> for "
            "the same start. <code>dlnsys sweep plateau-exits.toml --out results/</code> runs it on a local Dask "
            "cluster (the gallery runs it in-process and keeps the rows, so rebuilds only read them).</p>"),
        compute=compute, draw=draw, cost=3.0, models=models, files=files),
]
