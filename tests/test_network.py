"""Network: conventions, validation, masks and networkx round trips."""
import warnings

import networkx as nx
import numpy as np
import pytest

from dlnsys import AssumptionWarning, BottleneckWarning, Network


def test_pack_unpack_roundtrip_and_row_major_order():
    net = Network((3, 2, 2), [2.0, 1.0])
    W1 = np.arange(6.0).reshape(2, 3)
    W2 = np.arange(6.0, 10.0).reshape(2, 2)
    x = net.pack([W1, W2])
    np.testing.assert_array_equal(x, np.arange(10.0))      # row-major, layer after layer
    U1, U2 = net.unpack(x)
    np.testing.assert_array_equal(U1, W1)
    np.testing.assert_array_equal(U2, W2)
    assert net.weight_index(2, 1, 0) == 8
    A = net.adjacency(x)
    assert A.shape == (7, 7)
    np.testing.assert_array_equal(A[3:5, 0:3], W1)
    np.testing.assert_array_equal(A[5:7, 3:5], W2)
    np.testing.assert_array_equal(net.from_adjacency(A), x)
    A[0, 6] = 1.0
    with pytest.raises(ValueError, match="^A: .*outside the block-shift"):
        net.from_adjacency(A)


def test_variable_names_sort_in_state_order():
    for dims in [(1, 1, 1), (3, 3, 1), (11, 6, 6, 6, 6, 4), (4, 5, 4)]:
        net = Network(dims, np.arange(dims[-1], 0, -1.0))
        names = net.variable_names()
        assert len(names) == net.n_params == len(set(names))
        assert sorted(names) == names
        assert all(n.isidentifier() and n.startswith("w") for n in names)
    assert Network((3, 3, 1), [1.0]).variable_names()[:2] == ["w01", "w02"]


@pytest.mark.parametrize("kwargs, arg", [
    (dict(dims=(3,), sigma=[1.0]), "dims"),
    (dict(dims=(3, 0, 1), sigma=[1.0]), "dims"),
    (dict(dims=(3, -2, 1), sigma=[1.0]), "dims"),
    (dict(dims=(3, 2.5, 1), sigma=[1.0]), "dims"),
    (dict(dims="3,2,1", sigma=[1.0]), "dims"),
    (dict(dims=(1, 2, 3), sigma=[3, 2, 1]), "dims"),
    (dict(dims=(3, 2, 2), sigma=[1.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[2.0, -1.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[2.0, 0.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[1.0, 2.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[1.0, 1.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[np.nan, 1.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[np.inf, 1.0]), "sigma"),
    (dict(dims=(3, 2, 2), sigma=[2.0, 1.0], gamma=-0.1), "gamma"),
    (dict(dims=(3, 2, 2), sigma=[2.0, 1.0], gamma=np.nan), "gamma"),
    (dict(dims=(3, 2, 2), sigma=[2.0, 1.0], mask=np.ones(5, bool)), "mask"),
    (dict(dims=(3, 2, 2), sigma=[2.0, 1.0], mask=[np.ones((2, 3)), np.ones((3, 2))]), "mask"),
])
def test_bad_construction_names_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=f"^{arg}: "):
        Network(**kwargs)


def test_bad_states_name_the_argument():
    net = Network((3, 2, 2), [2.0, 1.0])
    for bad in (np.zeros(9), np.zeros((2, 11)), np.array([np.nan] * 10), np.array([np.inf] + [0.0] * 9)):
        with pytest.raises(ValueError, match="^x: "):
            net.vector_field(bad)
        with pytest.raises(ValueError, match="^x: "):
            net.loss(bad)
    with pytest.raises(ValueError, match="^v: "):
        net.hvp(np.zeros(10), np.zeros(3))
    with pytest.raises(ValueError, match="^x: "):
        net.jacobian(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"^Ws\[1\]: "):
        net.pack([np.zeros((2, 3)), np.zeros((3, 2))])


def test_bottleneck_and_assumption_2_warn_but_work():
    with pytest.warns(BottleneckWarning, match=r"\{1..1\}"):
        net = Network((3, 1, 2), [2.0, 1.0])
    assert net.is_bottleneck and net.d_min == 1
    assert np.all(np.isfinite(net.vector_field(np.ones(net.n_params))))
    with pytest.warns(AssumptionWarning, match="partial sums"):
        Network((3, 3, 3), [np.sqrt(5.0), 2.0, 1.0])          # 5 = 4 + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Network((11, 6, 6, 6, 6, 4), [7, 5.5, 4, 2.5])         # the paper's example is clean


def test_mask_freezes_entries_and_gives_the_restricted_gradient():
    rng = np.random.default_rng(4)
    mask = rng.random(12) < 0.6
    net = Network((3, 2, 2), [2.0, 1.0], gamma=0.1, mask=mask[:10])
    x = rng.normal(size=10)
    f = net.vector_field(x)
    assert np.all(f[~net.mask] == 0)
    full = Network((3, 2, 2), [2.0, 1.0], gamma=0.1)
    np.testing.assert_allclose(f[net.mask], full.vector_field(x)[net.mask])
    J = net.jacobian(x)
    assert np.all(J[~net.mask] == 0)
    v = rng.normal(size=10)
    np.testing.assert_allclose(net.hvp(x, v), -J @ v, atol=1e-12)
    A_dot = net.vector_field_adjacency(net.adjacency(x))
    np.testing.assert_allclose(net.from_adjacency(A_dot), f, atol=1e-13)


def test_networkx_roundtrip():
    net = Network((3, 2, 2), [2.0, 1.0], gamma=0.2)
    x = np.random.default_rng(5).normal(size=net.n_params)
    G = net.to_networkx(x)
    assert G.number_of_nodes() == net.n_nodes and G.number_of_edges() == net.n_params
    assert G.nodes[(1, 0)]["layer"] == 1
    assert G.edges[(0, 2), (1, 1)]["weight"] == net.unpack(x)[0][1, 2]
    net2, x2 = Network.from_networkx(G)
    assert net2 == net
    np.testing.assert_array_equal(x2, x)


def test_skip_connection_becomes_section_7_block_form():
    # Chain 0 -> 1 -> 2 -> 3 of width 2, plus the identity skip from layer 1 to layer 3.
    rng = np.random.default_rng(6)
    G = nx.DiGraph(sigma=[2.0, 1.0])
    Ws = [rng.normal(size=(2, 2)) for _ in range(3)]
    for layer in range(4):
        for i in range(2):
            G.add_node(f"n{layer}{i}", layer=layer, index=i)
    for k, W in enumerate(Ws):
        for r in range(2):
            for c in range(2):
                G.add_edge(f"n{k}{c}", f"n{k + 1}{r}", weight=W[r, c])
    for i in range(2):
        G.add_edge(f"n1{i}", f"n3{i}", weight=1.0)
    net, x = Network.from_networkx(G)
    assert net.dims == (2, 2, 4, 2)                      # d_k (j - 1) = 2 artificial nodes in layer 2
    # Paper, Section 7: W_{1:h} = W_3 W_2 W_1 + W_1 (the skip adds W_{k+j+1:h} W_{1:k} with k = 1).
    np.testing.assert_allclose(net.product(x), Ws[2] @ Ws[1] @ Ws[0] + Ws[0], atol=1e-14)
    f = net.vector_field(x)
    assert np.all(f[~net.mask] == 0) and net.mask.sum() == 12
    # Learnable part of the flow = minus the gradient of the skip network's loss in its own weights.
    def skip_loss(w):
        V = [w[0:4].reshape(2, 2), w[4:8].reshape(2, 2), w[8:12].reshape(2, 2)]
        return 0.5 * np.sum((net.Sigma - (V[2] @ V[1] @ V[0] + V[0])) ** 2)
    w0 = np.concatenate([W.ravel() for W in Ws])
    eps = 1e-6
    g = np.array([(skip_loss(w0 + eps * e) - skip_loss(w0 - eps * e)) / (2 * eps) for e in np.eye(12)])
    learn = net.to_networkx(x)
    learned = {(u, v) for u, v, d in learn.edges(data=True) if d["trainable"]}
    assert len(learned) == 12
    # Map each original weight to its position in x through the graph weights.
    order = []
    for k, W in enumerate(Ws):
        for r in range(2):
            for c in range(2):
                order.append(net.weight_index(k + 1, r, c))
    np.testing.assert_allclose(f[order], -g, rtol=1e-7, atol=1e-9)


def test_from_networkx_rejects_bad_graphs():
    G = nx.DiGraph(sigma=[1.0])
    G.add_node("a", layer=0)
    G.add_node("b")
    with pytest.raises(ValueError, match="^G: .*'layer'"):
        Network.from_networkx(G)
    G = nx.DiGraph()
    G.add_node("a", layer=0)
    G.add_node("b", layer=1)
    G.add_edge("b", "a", weight=1.0)
    with pytest.raises(ValueError, match="^sigma: "):
        Network.from_networkx(G)
    with pytest.raises(ValueError, match="^G: .*feed-forward"):
        Network.from_networkx(G, sigma=[1.0])
