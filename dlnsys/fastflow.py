"""Allocation-light block-form vector field for large networks (numpy + BLAS, no compiler).

For wide layers the matrix products of :func:`dlnsys.flow.vector_field` run at BLAS speed,
but each evaluation also allocates ``~2 h`` fresh arrays of ``d x d`` doubles (the suffix
products, the residual chain and the output blocks, then their concatenation). Arrays that
large come from fresh pages of memory, and the page faults cost as much as the arithmetic:
measured on a 2-core machine for 5 layers of width 256 (327,680 weights), the products alone
took 5.3 ms, ``flow.vector_field`` 10-13 ms, and :class:`BlockFlow` 5.5 ms (products written with
``out=`` into preallocated work arrays, and straight into the blocks of the one output vector).

:class:`BlockFlow` computes exactly the same products in the same order as
``flow.vector_field`` (results agree to rounding; ``tests/test_compiled.py`` checks 1e-12
relative). It keeps work arrays, so one instance must not be used from two threads at once.
Small networks gain nothing from it (there the cost is Python and numpy call overhead; see
:mod:`dlnsys.compiled`).
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["BlockFlow", "MIN_PARAMS", "for_thread"]

#: From this many weights a single state's vector field goes through a :class:`BlockFlow`
#: (``Network.vector_field`` and ``simulate``'s right-hand side): below, numpy call overhead
#: dominates and fresh arrays are cheap.
MIN_PARAMS = 4096


class BlockFlow:
    """``vector_field(x)`` of one network with preallocated work arrays (one state at a time).

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> from dlnsys.fastflow import BlockFlow
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> BlockFlow(net).vector_field(np.array([0.5, 0.5]))
    array([0.375, 0.375])
    """

    def __init__(self, net):
        from .network import Network

        if not isinstance(net, Network):
            raise ValueError(f"net: expected a dlnsys.Network, got {type(net).__name__}")
        self.net = net
        self.n = net.n_params
        h, d, dy = net.h, net.dims, net.d_y
        self._S = [np.empty((dy, d[k + 1])) for k in range(h)]      # suffix products; S[h-1] unused
        self._R = [np.empty((dy, d[k])) for k in range(h)]          # residual chain R_k
        self._Sigma = np.ascontiguousarray(net.Sigma)

    def vector_field(self, x, out=None):
        """``f(x)`` for one state ``(n,)``; a new array unless ``out`` (shape ``(n,)``) is given."""
        net = self.net
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n,):
            raise ValueError(f"x: expected shape ({self.n},), got {x.shape}")
        f = np.empty(self.n) if out is None else out
        h, d, o = net.h, net.dims, net.param_offsets
        Ws = [x[o[k]:o[k + 1]].reshape(d[k + 1], d[k]) for k in range(h)]
        S, R = self._S, self._R
        if h >= 2:
            S[h - 2][...] = Ws[h - 1]
            for k in range(h - 3, -1, -1):
                np.matmul(S[k + 1], Ws[k + 1], out=S[k])
            np.matmul(S[0], Ws[0], out=R[0])
        else:
            R[0][...] = Ws[0]
        np.subtract(self._Sigma, R[0], out=R[0])
        for k in range(h):
            block = f[o[k]:o[k + 1]].reshape(d[k + 1], d[k])
            if k < h - 1:
                np.matmul(S[k].T, R[k], out=block)
                np.matmul(R[k], Ws[k].T, out=R[k + 1])
            else:
                block[...] = R[k]
        if net.gamma:
            f -= net.gamma * x
        if net.mask is not None:
            f *= net.mask
        return f

    def rhs_function(self):
        """``fun(t, y)`` for ``scipy.integrate.solve_ivp`` (returns a new array each call)."""
        vf = self.vector_field

        def fun(t, y):
            return vf(y)
        return fun


def for_thread(net) -> BlockFlow:
    """The calling thread's :class:`BlockFlow` of ``net``, created on first use.

    Kept on the network (one per thread, since a BlockFlow's work arrays must not be shared
    between threads), so repeated ``net.vector_field(x)`` calls reuse the same work arrays.
    """
    flows = net.__dict__.setdefault("_block_flows", {})
    key = threading.get_ident()
    bf = flows.get(key)
    if bf is None:
        bf = flows[key] = BlockFlow(net)
    return bf
