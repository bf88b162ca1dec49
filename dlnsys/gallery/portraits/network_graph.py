"""Beyond the paper: the network as a graph, with its edge weights along a trajectory."""
from __future__ import annotations

from .._registry import Block, Portrait


def compute():
    import numpy as np

    from dlnsys import Network, init
    from dlnsys.separatrices import itinerary
    from dlnsys.simulate import simulate

    net = Network((5, 4, 4, 3), sigma=[3.0, 2.0, 1.0])        # h = 3, 48 weights
    traj = simulate(net, init.gaussian(net, 0.05, seed=1), 150.0, until_loss=1e-10)
    times = np.unique(np.concatenate([[0.0], np.geomspace(1.0, traj.t_final, 23)]))
    states = np.array([np.interp(times, traj.t, traj.x[:, k]) for k in range(net.n_params)]).T
    graph = net.to_networkx(states[-1])                     # networkx DiGraph: nodes (layer, index), edge weights
    return dict(net=net, traj=traj, times=times, states=states, itinerary=itinerary(net, traj),
                n_nodes=graph.number_of_nodes(), n_edges=graph.number_of_edges())


def draw(data):
    import holoviews as hv
    import numpy as np

    from dlnsys import viz

    net, traj = data["net"], data["traj"]
    vmax = float(np.max(np.abs(data["states"])))
    graphs = {}
    for t, x in zip(data["times"], data["states"]):
        graphs[float(round(t, 3))] = viz.network_graph(net, x, vmax=vmax).relabel(
            f"weights at t = {t:.3g}, 𝓛 = {net.loss(x):.4g}")
    g = viz.holomap(graphs, [viz.dim("time", "time t")], title="{label}", frame_width=620, frame_height=420)
    shown = data["times"][data["times"] >= 0.5]
    loss = (viz.loss_curve(traj, tmin=0.5) * viz.plateau_marks(data["itinerary"], "loss", logy=True, tmin=0.5)
            * hv.Scatter((shown, [net.loss(x) for t, x in zip(data["times"], data["states"]) if t >= 0.5]),
                         viz.dim("t", "t"), viz.dim("L", "𝓛"), label="times on the slider").opts(
                color="#7f7f7f", size=5))
    # the slider's time on the loss curve: a HoloMap with the graph's key dimension shares its slider
    marks = {}
    for t, x in zip(data["times"], data["states"]):
        tt = max(float(t), 0.5)                 # t = 0 is off the log axis: mark it at the left edge
        marks[float(round(t, 3))] = hv.Points([(tt, net.loss(x))], [viz.dim("t", "t"), viz.dim("L", "𝓛")],
                                              label="the slider's time").opts(
            color="#d62728", marker="circle", size=13, line_color="black")
    marker = hv.HoloMap(marks, kdims=[viz.dim("time", "time t")])
    # framewise: without it HoloViews recomputes the ranges over all frames at every slider state (slow embed)
    loss = (loss * marker).opts(
        hv.opts.Curve(framewise=True), hv.opts.Scatter(framewise=True), hv.opts.Points(framewise=True),
        hv.opts.VSpan(framewise=True), hv.opts.Labels(framewise=True), hv.opts.Overlay(
            framewise=True, frame_width=620, frame_height=260, logx=True, logy=True, show_grid=True,
            legend_position="right", xlim=(0.5, float(traj.t_final) * 1.2),
            title="loss 𝓛(t), the saddles visited (dlnsys.separatrices.itinerary) and the slider's time"))
    # the two plots share no axis: without shared_axes=False and axiswise ranges HoloViews computes every range
    # over both plots and all 24 frames at each slider state (18 s -> 12 s to embed)
    both = (g + loss).cols(1).opts(hv.opts.Layout(shared_axes=False), hv.opts.Graph(axiswise=True),
                                   hv.opts.Overlay(axiswise=True), hv.opts.Curve(axiswise=True),
                                   hv.opts.Points(axiswise=True), hv.opts.Scatter(axiswise=True))
    return [Block(both,
                  caption="Move the slider: nodes are the units of each layer (inputs on the left, outputs on the "
                          "right); each edge is a weight, red positive, blue negative, width ∝ |weight|. The red "
                          "dot on the loss curve is the time shown. As the plateaus are left one by one, one more "
                          "path of strong weights appears through the network: the network learns one singular "
                          "value (one mode) at a time.")]


def models():
    from dlnsys import Network
    from dlnsys.emit.generators import network_spec

    return [network_spec(Network((5, 4, 4, 3), sigma=[3.0, 2.0, 1.0]), name="net5443")]


PORTRAITS = [
    Portrait(
        slug="network-graph",
        section="beyond",
        title="The network as a graph along a trajectory",
        description="The weights of a 5-4-4-3 network as a layered graph (networkx), with a time slider over a "
                    "sequential-learning run.",
        paper="Section 2 (adjacency matrix A, eq. (10)) and Section 6.1",
        caption=(
            "<p>The paper views the network as a directed graph with adjacency matrix A = blk₁(W₁, ..., W_h) "
            "(eq. (10)). <code>Network.to_networkx(x)</code> exports a state as a networkx DiGraph whose nodes "
            "are (layer, unit) and whose edges carry the weights. The run (<code>dlnsys.simulate</code> from a small "
            "Gaussian initialization of the network dims (5, 4, 4, 3), σ = (3, 2, 1)) visits the saddles "
            "S = ∅, {1}, {1, 2} (<code>dlnsys.separatrices.itinerary</code>) before the global minimum; the "
            "slider shows the weights at 24 times.</p>"),
        compute=compute, draw=draw, cost=1.0, models=models),
]
