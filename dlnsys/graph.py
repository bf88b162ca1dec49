"""networkx export and import of a network's weights, with skip connections (Section 7)."""
from __future__ import annotations

import networkx as nx
import numpy as np

__all__ = ["to_networkx", "from_networkx"]


def to_networkx(net, x):
    G = nx.DiGraph(dims=net.dims, sigma=net.sigma.tolist(), gamma=net.gamma)
    for layer, d in enumerate(net.dims):
        for i in range(d):
            G.add_node((layer, i), layer=layer, index=i)
    mask = np.ones(net.n_params, bool) if net.mask is None else net.mask
    for k, W in enumerate(net.unpack(x)):
        off = net.param_offsets[k]
        rows, cols = W.shape
        for r in range(rows):
            for c in range(cols):
                trainable = bool(mask[off + r * cols + c])
                if trainable or W[r, c] != 0.0:
                    G.add_edge((k, c), (k + 1, r), weight=float(W[r, c]), trainable=trainable)
    return G


def _layers_of(G):
    layers = {}
    for node, data in G.nodes(data=True):
        if "layer" not in data:
            raise ValueError(f"G: node {node!r} has no 'layer' attribute")
        layer = data["layer"]
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or layer < 0:
            raise ValueError(f"G: node {node!r} has layer {layer!r}; layers are non-negative integers")
        layers.setdefault(int(layer), []).append(node)
    h = max(layers) if layers else -1
    if h < 1 or sorted(layers) != list(range(h + 1)):
        raise ValueError(f"G: layers must be 0..h with h >= 1 and none empty, got {sorted(layers)}")

    def key(node):
        return G.nodes[node].get("index", 0), str(node)
    return [sorted(layers[l], key=key) for l in range(h + 1)]


def from_networkx(G, sigma=None, gamma=None):
    from .network import Network
    if not isinstance(G, nx.DiGraph):
        raise ValueError(f"G: expected a networkx.DiGraph, got {type(G).__name__}")
    layers = _layers_of(G)
    sigma = G.graph.get("sigma") if sigma is None else sigma
    if sigma is None:
        raise ValueError("sigma: not given and the graph has no 'sigma' attribute")
    gamma = G.graph.get("gamma", 0.0) if gamma is None else gamma
    h = len(layers) - 1
    members = [list(nodes) for nodes in layers]       # grows with artificial chain nodes
    layer_of = {n: l for l, nodes in enumerate(layers) for n in nodes}
    fixed = []                                        # (u, v, weight) edges kept constant
    learn = []
    for u, v, data in G.edges(data=True):
        lu, lv = layer_of[u], layer_of[v]
        w = float(data.get("weight", 0.0))
        if not np.isfinite(w):
            raise ValueError(f"G: edge {u!r} -> {v!r} has a non-finite weight")
        if lv <= lu:
            raise ValueError(f"G: edge {u!r} -> {v!r} goes from layer {lu} to layer {lv}; "
                             "only feed-forward edges are allowed")
        if lv == lu + 1:
            (learn if data.get("trainable", True) else fixed).append((u, v, w))
            continue
        # Skip connection (Section 7): a chain of artificial nodes with fixed unit weights.
        prev = u
        for layer in range(lu + 1, lv):
            node = ("skip", u, v, layer)
            members[layer].append(node)
            layer_of[node] = layer
            fixed.append((prev, node, 1.0))
            prev = node
        fixed.append((prev, v, float(data.get("weight", 1.0))))
    dims = [len(m) for m in members]
    index = [{n: i for i, n in enumerate(m)} for m in members]
    Ws = [np.zeros((dims[k + 1], dims[k])) for k in range(h)]
    masks = [np.zeros((dims[k + 1], dims[k]), bool) for k in range(h)]
    for edges, trainable in ((learn, True), (fixed, False)):
        for u, v, w in edges:
            k = layer_of[u]
            Ws[k][index[k + 1][v], index[k][u]] = w
            masks[k][index[k + 1][v], index[k][u]] = trainable
    net = Network(dims, sigma, gamma, mask=masks)
    return net, net.pack(Ws)
