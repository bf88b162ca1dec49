"""Correctness of the compiled kernels (dlnsys.compiled) and of the workspace RHS (dlnsys.fastflow).

No timing assertions here: speed is measured by benchmarks/run.py. Tolerances: the compiled
right-hand side and Jacobian evaluate the same formulas as dlnsys.flow in another order, so
they agree to rounding; 1e-12 relative to the largest entry leaves a factor ~1e3 above the
observed differences (~2e-16). Integration results are compared with a tight scipy reference
at tolerances derived from the requested rtol (stated at each check).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dlnsys import Network, compiled, flow, init
from dlnsys.fastflow import BlockFlow

needs_compiled = pytest.mark.skipif(not compiled.available(),
                                    reason=f"dlnsys.compiled unavailable: {compiled.unavailable_reason()}")

ARCHS = [
    ((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5), 0.0, None),     # Section 6.1
    ((1, 1, 1), (1.0,), 0.0, None),                             # (62)
    ((1, 2, 1), (0.5,), 0.0, None),                             # (66)
    ((3, 2), (2.0, 1.0), 0.0, None),                            # h = 1
    ((4, 3, 2), (2.0, 1.0), 0.1, None),                         # regularized (25)
    ((5, 3, 4, 2), (3.0, 1.2), 0.0, "mask"),                    # fixed entries (Section 7)
    ((2, 3, 5, 3, 2), (1.7, 0.4), 0.05, None),                  # widths vary, bottleneck-free
]


def _net(dims, sigma, gamma, mask):
    net = Network(dims, sigma, gamma=gamma)
    if mask == "mask":
        m = np.ones(net.n_params, dtype=bool)
        m[::3] = False
        net = Network(dims, sigma, gamma=gamma, mask=m)
    return net


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(params=ARCHS, ids=lambda a: "-".join(map(str, a[0])) + ("-gam" if a[2] else "")
                + ("-mask" if a[3] else ""))
def arch(request):
    return _net(*request.param)


@needs_compiled
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_rhs_matches_flow(arch, scale):
    cf = compiled.CompiledFlow(arch)
    X = init.gaussian(arch, scale, seed=4, n=5)
    for x in X:
        assert _rel(cf.vector_field(x), arch.vector_field(x)) < 1e-12
    # stacks, and the solve_ivp-style closures
    assert _rel(cf.vector_field(X), arch.vector_field(X)) < 1e-12
    assert _rel(cf.rhs_function()(0.0, X[0]), arch.vector_field(X[0])) < 1e-12
    assert _rel(cf.rhs_function(batch=5)(0.0, X.reshape(-1)), arch.vector_field(X).reshape(-1)) < 1e-12


@needs_compiled
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_jacobian_matches_flow(arch, scale):
    cf = compiled.CompiledFlow(arch)
    for x in init.gaussian(arch, scale, seed=5, n=3):
        J = cf.jacobian(x)
        assert J.shape == (arch.n_params, arch.n_params)
        assert _rel(J, arch.jacobian(x)) < 1e-12
        assert _rel(cf.jacobian_function()(0.0, x), arch.jacobian(x)) < 1e-12


@needs_compiled
def test_loss_matches_flow(arch):
    cf = compiled.CompiledFlow(arch)
    X = init.gaussian(arch, 0.7, seed=6, n=4)
    np.testing.assert_allclose(cf.loss(X), arch.loss(X), rtol=1e-12, atol=0)
    assert cf.loss(X[0]) == pytest.approx(float(arch.loss(X[0])), rel=1e-12)


@needs_compiled
def test_conserved_drift_matches_numpy(arch):
    # random states (not a trajectory), so every law drifts: compare with conserved_vector
    from dlnsys.invariants import conserved_vector
    cf = compiled.CompiledFlow(arch)
    for X in (init.gaussian(arch, 0.8, seed=7, n=6),                      # (n_t, n)
              init.gaussian(arch, 0.8, seed=8, n=12).reshape(4, 3, -1)):  # (n_t, batch, n)
        C = conserved_vector(arch, X)
        d = np.abs(C - C[0])
        if C.shape[-1] == 0:
            assert cf.conserved_drift(X) == (0.0, 0.0)
            continue
        rel, ab = cf.conserved_drift(X)
        assert ab > 0
        assert rel == pytest.approx(float(np.max(d / np.maximum(1.0, np.abs(C[0])))), rel=1e-12)
        assert ab == pytest.approx(float(np.max(d)), rel=1e-12)
    X = init.gaussian(arch, 0.8, seed=9, n=3)
    X[1, -1] = np.nan
    if arch.h > 1:
        assert all(np.isnan(v) for v in cf.conserved_drift(X))
    with pytest.raises(ValueError, match="x"):
        cf.conserved_drift(X[0])


@needs_compiled
def test_closures_keep_the_c_object_alive():
    import gc
    net = Network((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5))
    fun = compiled.CompiledFlow(net).rhs_function()           # the CompiledFlow itself is dropped
    jac = compiled.CompiledFlow(net).jacobian_function()
    gc.collect()
    x = init.gaussian(net, 0.3, seed=2)
    assert _rel(fun(0.0, x), net.vector_field(x)) < 1e-12
    assert _rel(jac(0.0, x), net.jacobian(x)) < 1e-12


@needs_compiled
def test_bad_input_is_refused():
    net = Network((3, 2), (2.0, 1.0))
    cf = compiled.CompiledFlow(net)
    with pytest.raises(ValueError, match="x"):
        cf.vector_field(np.zeros(5))
    with pytest.raises(ValueError, match="x"):
        cf.jacobian(np.zeros((2, 6)))
    with pytest.raises(ValueError, match="net"):
        compiled.CompiledFlow("not a network")
    big = Network((64,) * 3, np.linspace(2.0, 1.0, 64))           # 8,192 weights > MAX_PARAMS
    with pytest.raises(ValueError, match="net"):
        compiled.solve(big, np.zeros(big.n_params), 1.0)


def _reference(net, x0, T, t_eval=None):
    sol = solve_ivp(lambda t, y: flow.vector_field(net, y), (0.0, T), x0, method="DOP853", rtol=1e-12,
                    atol=1e-14, t_eval=t_eval)
    assert sol.success
    return sol


@needs_compiled
@pytest.mark.parametrize("dims, sigma, gamma, mask", ARCHS[1:], ids=lambda v: str(v))
def test_bdf_solution_matches_reference(dims, sigma, gamma, mask):
    net = _net(dims, sigma, gamma, mask)
    x0 = init.gaussian(net, 0.6, seed=7)
    T = 6.0
    te = np.linspace(0.0, T, 13)
    ref = _reference(net, x0, T, te)
    sol = compiled.solve(net, x0, T, rtol=1e-10, atol=1e-12, t_eval=te)
    assert sol.status == 0 and sol.nfev > 0 and sol.njev >= 1 and sol.nlu >= 1
    np.testing.assert_array_equal(sol.t, te)
    np.testing.assert_array_equal(sol.x[0], x0)
    # rtol 1e-10 over a short interval: the global error stays within ~1e3 rtol.
    np.testing.assert_allclose(sol.x, ref.y.T, rtol=0, atol=1e-7 * max(1.0, np.max(np.abs(ref.y))))
    # every step (no t_eval): increasing times from 0 to T, last state = the t_eval one
    every = compiled.solve(net, x0, T, rtol=1e-10, atol=1e-12)
    assert every.t[0] == 0.0 and every.t[-1] == T and np.all(np.diff(every.t) > 0)
    np.testing.assert_allclose(every.x[-1], sol.x[-1], rtol=0, atol=1e-12 * max(1.0, np.max(np.abs(sol.x))))
    if mask:
        fixed = ~net.mask
        np.testing.assert_array_equal(every.x[:, fixed], np.broadcast_to(x0[fixed], every.x[:, fixed].shape))


@needs_compiled
def test_bdf_section61_against_dop853():
    """Section 6.1 network from scale 1 to t = 5 at the default tolerances (stiff tail)."""
    net = Network((11, 6, 6, 6, 6, 4), (7.0, 5.5, 4.0, 2.5))
    x0 = init.gaussian(net, 1.0, seed=0)
    cf = compiled.CompiledFlow(net)
    ref = solve_ivp(cf.rhs_function(), (0.0, 5.0), x0, method="DOP853", rtol=1e-12, atol=1e-14)
    sol = compiled.solve(net, x0, 5.0, flow=cf)              # rtol 1e-8, atol 1e-10
    assert sol.status == 0
    # measured 1.9e-8 relative at t = 20; 1e-6 is the benchmark's accuracy target
    assert _rel(sol.x[-1], ref.y[:, -1]) < 1e-6
    c0 = np.concatenate([c.ravel() for c in net.conserved(x0)])
    c1 = np.concatenate([c.ravel() for c in net.conserved(sol.x[-1])])
    assert np.max(np.abs(c1 - c0)) < 1e-5 * max(1.0, np.max(np.abs(c0)))


@needs_compiled
def test_until_loss_stops_at_the_crossing():
    net = Network((1, 1, 1), (1.0,))
    sol = compiled.solve(net, np.array([0.3, 0.2]), 100.0, until_loss=1e-6)
    assert sol.status == 1 and "until_loss" in sol.message
    assert float(net.loss(sol.x[-1])) == pytest.approx(1e-6, rel=1e-6)
    assert np.all(net.loss(sol.x[:-1]) > 1e-6)
    te = np.linspace(0.0, 100.0, 101)
    sol2 = compiled.solve(net, np.array([0.3, 0.2]), 100.0, until_loss=1e-6, t_eval=te)
    assert sol2.status == 1
    assert sol2.t[-1] == pytest.approx(sol.t[-1], rel=1e-6)
    np.testing.assert_array_equal(sol2.t[:-1], te[:sol2.t.size - 1])


@needs_compiled
@pytest.mark.parametrize("ensemble", ["joint", "separate"])
def test_batch_matches_single_runs(ensemble):
    net = Network((4, 3, 2), (2.0, 1.0))
    X0 = init.gaussian(net, 0.7, seed=11, n=4)
    te = np.linspace(0.0, 4.0, 9)
    batch = compiled.solve(net, X0, 4.0, rtol=1e-10, atol=1e-12, t_eval=te, ensemble=ensemble)
    assert batch.x.shape == (9, 4, net.n_params) and batch.status == 0
    for b in range(4):
        one = compiled.solve(net, X0[b], 4.0, rtol=1e-10, atol=1e-12, t_eval=te)
        # both are rtol-1e-10 solutions; they agree to the accumulated global error (~1e3 rtol)
        np.testing.assert_allclose(batch.x[:, b], one.x, rtol=0, atol=1e-7)
    if ensemble == "separate":
        free = compiled.solve(net, X0, 4.0, rtol=1e-10, atol=1e-12, ensemble="separate")
        assert free.t[0] == 0.0 and free.t[-1] == 4.0 and free.x.shape[1:] == (4, net.n_params)


@needs_compiled
def test_ensemble_of_62_converges_to_the_closed_form():
    """(62): every member ends on its leaf w1^2 - w2^2 = c at w1 w2 = sigma (eq. 64)."""
    net = Network((1, 1, 1), (1.0,))
    g = np.linspace(0.2, 1.5, 10)
    X0 = np.array([[a, b] for a in g for b in g + 0.013])
    sol = compiled.solve(net, X0, 40.0, rtol=1e-10, atol=1e-12)
    w1, w2 = sol.x[-1].T
    np.testing.assert_allclose(w1 * w2, 1.0, atol=1e-8)
    np.testing.assert_allclose(w1 ** 2 - w2 ** 2, X0[:, 0] ** 2 - X0[:, 1] ** 2, atol=1e-8)


@needs_compiled
def test_build_info_and_cache():
    info = compiled.build_info()
    assert os.path.isfile(info["path"]) and info["compile_s"] >= 0 and "flags" in info


def test_disabled_by_environment():
    code = "from dlnsys import compiled; print(compiled.available(), '|', compiled.unavailable_reason())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, DLNSYS_COMPILED="0")).stdout
    assert out.startswith("False |") and "DLNSYS_COMPILED" in out


def test_missing_compiler_is_reported(tmp_path):
    code = "from dlnsys import compiled; print(compiled.available(), '|', compiled.unavailable_reason())"
    env = dict(os.environ, DLNSYS_CC="no-such-compiler-xyz", DLNSYS_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env).stdout
    assert out.startswith("False |") and "compiler" in out


# ---------------------------------------------------------------- dlnsys.fastflow
def test_blockflow_matches_flow(arch):
    bf = BlockFlow(arch)
    for x in init.gaussian(arch, 0.8, seed=8, n=3):
        assert _rel(bf.vector_field(x), arch.vector_field(x)) < 1e-12
        out = np.empty(arch.n_params)
        assert bf.vector_field(x, out=out) is out
        assert _rel(bf.rhs_function()(0.0, x), arch.vector_field(x)) < 1e-12


def test_blockflow_wide_layers():
    net = Network((64, 64, 64, 64), np.linspace(2.0, 1.0, 64))
    x = init.gaussian(net, 0.125, seed=1)
    assert _rel(BlockFlow(net).vector_field(x), net.vector_field(x)) < 1e-12
    with pytest.raises(ValueError, match="x"):
        BlockFlow(net).vector_field(x[:-1])


def test_public_vector_field_of_a_large_network_uses_per_thread_work_arrays():
    import pickle
    import threading

    from dlnsys import fastflow
    net = Network((64, 64, 64, 64), np.linspace(2.0, 1.0, 64), gamma=0.01)
    assert net.n_params >= fastflow.MIN_PARAMS
    X = init.gaussian(net, 0.125, seed=3, n=2)
    f0, f1 = net.vector_field(X[0]), net.vector_field(X[1])
    # fresh outputs (not the work arrays), equal to the allocating block form
    assert not np.shares_memory(f0, f1)
    assert _rel(f0, flow.vector_field(net, X[0])) < 1e-13 and _rel(f1, flow.vector_field(net, X[1])) < 1e-13
    assert _rel(net.vector_field(X), flow.vector_field(net, X)) < 1e-13        # stacks: the block form
    got = {}

    def work(i):
        for _ in range(5):
            got[i] = net.vector_field(X[i % 2])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, f in got.items():
        assert _rel(f, f0 if i % 2 == 0 else f1) < 1e-13
    # the cache is not part of the network's state
    clone = pickle.loads(pickle.dumps(net))
    assert clone == net and "_block_flows" not in clone.__dict__
