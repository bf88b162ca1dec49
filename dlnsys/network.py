"""The ``Network``: architecture, data and the state-vector conventions.

State vector ``x = concat(vec(W_1), ..., vec(W_h))`` with each ``W_i`` (shape
``d_i x d_{i-1}``) flattened row-major; for the paper's small examples this is exactly
the order ``w1, w2, ...`` of (62), (65), (66).
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from . import fastflow, flow, invariants
from ._validate import as_dims, as_finite_array, as_gamma, as_sigma, as_state

__all__ = ["Network", "BottleneckWarning", "AssumptionWarning"]


class BottleneckWarning(UserWarning):
    """A hidden layer is narrower than the output (Section 7): the global minimum is reduced."""


class AssumptionWarning(UserWarning):
    """Assumption 2 (distinct partial sums of squared singular values) fails."""


# Checking every partial sum costs 2^d_y; above this the check is skipped (and said so).
_MAX_DY_PARTIAL_SUMS = 16


class Network:
    """A deep linear network with data singular values, the object every dlnsys call takes.

    Parameters
    ----------
    dims : sequence of int
        Layer widths ``(d_0, d_1, ..., d_h)``: ``d_0 = d_x`` inputs, ``d_h = d_y`` outputs,
        ``h = len(dims) - 1`` weight layers.
    sigma : sequence of float
        Singular values of the data, ``sigma_1 > ... > sigma_dy > 0`` (eq. 6).
    gamma : float, optional
        L2 regularization (eqs. 24-25); 0 by default.
    mask : array of bool, optional
        Learnable entries (True) of the state vector, shape ``(n_params,)`` or one array per
        layer of the weight shapes; fixed entries keep their value (skip connections,
        Section 7). None means every weight is learnable.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])          # the single hidden node (62)
    >>> net.vector_field(np.array([0.5, 0.5]))
    array([0.375, 0.375])
    >>> net.variable_names()
    ['w1', 'w2']
    """

    def __init__(self, dims, sigma, gamma=0.0, mask=None):
        self.dims = as_dims(dims)
        self.sigma = as_sigma(sigma, self.dims[-1])
        self.gamma = as_gamma(gamma)
        self.shapes = tuple((self.dims[i + 1], self.dims[i]) for i in range(self.h))
        sizes = [r * c for r, c in self.shapes]
        self.param_offsets = tuple(int(v) for v in np.concatenate([[0], np.cumsum(sizes)]))
        self.node_offsets = tuple(int(v) for v in np.concatenate([[0], np.cumsum(self.dims)]))
        self.mask = self._as_mask(mask)
        Sigma = np.zeros((self.d_y, self.d_x))
        Sigma[np.arange(self.d_y), np.arange(self.d_y)] = self.sigma
        self.Sigma = Sigma
        Sigma.setflags(write=False)
        self.sigma.setflags(write=False)
        self.partial_sums_checked = self.d_y <= _MAX_DY_PARTIAL_SUMS
        self._warn_assumptions()

    # ----------------------------------------------------------------- structure
    @property
    def h(self) -> int:
        """Number of weight layers."""
        return len(self.dims) - 1

    @property
    def d_x(self) -> int:
        return self.dims[0]

    @property
    def d_y(self) -> int:
        return self.dims[-1]

    @property
    def d_min(self) -> int:
        """Smallest width: the largest rank ``A^h`` can reach (Section 7)."""
        return min(self.dims)

    @property
    def is_bottleneck(self) -> bool:
        return self.d_min < self.d_y

    @property
    def n_nodes(self) -> int:
        """``n_v = sum_i d_i``, the size of the adjacency matrix (10)."""
        return sum(self.dims)

    @property
    def n_params(self) -> int:
        return self.param_offsets[-1]

    @property
    def n_conservation_laws(self) -> int:
        """``sum_{i=1}^{h-1} d_i (d_i + 1) / 2`` (Section 3.2)."""
        return sum(d * (d + 1) // 2 for d in self.dims[1:-1])

    @property
    def E(self) -> np.ndarray:
        """``E = blk_h(Sigma)``, the data in adjacency form."""
        E = np.zeros((self.n_nodes, self.n_nodes))
        o = self.node_offsets
        E[o[self.h]:o[self.h + 1], o[0]:o[1]] = self.Sigma
        return E

    def __repr__(self):
        extra = f", gamma={self.gamma!r}" if self.gamma else ""
        extra += ", mask=..." if self.mask is not None else ""
        return f"Network(dims={self.dims}, sigma={self.sigma.tolist()}{extra})"

    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        same_mask = (self.mask is None and other.mask is None) or (
            self.mask is not None and other.mask is not None and np.array_equal(self.mask, other.mask))
        return (self.dims == other.dims and np.array_equal(self.sigma, other.sigma)
                and self.gamma == other.gamma and same_mask)

    __hash__ = None

    def __getstate__(self):          # the per-thread work arrays of fastflow.for_thread stay behind
        state = dict(self.__dict__)
        state.pop("_block_flows", None)
        return state

    def with_(self, *, sigma=None, gamma=None, mask=None):
        """A copy with some of ``sigma``, ``gamma``, ``mask`` replaced."""
        return Network(self.dims, self.sigma if sigma is None else sigma,
                       self.gamma if gamma is None else gamma,
                       self.mask if mask is None else mask)

    def _as_mask(self, mask):
        if mask is None:
            return None
        if isinstance(mask, (list, tuple)) and len(mask) == self.h and all(np.ndim(m) == 2 for m in mask):
            for i, (m, shape) in enumerate(zip(mask, self.shapes)):
                if np.shape(m) != shape:
                    raise ValueError(f"mask: layer {i + 1} has shape {np.shape(m)}, expected {shape}")
            flat = np.concatenate([np.asarray(m).reshape(-1) for m in mask])
        else:
            flat = np.asarray(mask)
            if flat.shape != (self.n_params,):
                raise ValueError(
                    f"mask: expected shape ({self.n_params},) or one array per layer with shapes "
                    f"{list(self.shapes)}, got shape {flat.shape}")
        if flat.dtype != bool:
            if not np.all(np.isin(flat, (0, 1))):
                raise ValueError("mask: entries must be booleans or 0/1")
            flat = flat.astype(bool)
        if flat.all():
            return None
        flat = flat.copy()
        flat.setflags(write=False)
        return flat

    def _warn_assumptions(self):
        if self.is_bottleneck:
            warnings.warn(
                f"dims {self.dims}: bottleneck (a hidden width {self.d_min} < d_y = {self.d_y}, Section 7); "
                f"the global minimum has the reduced signature {{1..{self.d_min}}}",
                BottleneckWarning, stacklevel=3)
        if self.partial_sums_checked and self.d_y > 1:
            sq = self.sigma ** 2
            sums = np.array([sq[list(s)].sum() for r in range(self.d_y + 1)
                             for s in itertools.combinations(range(self.d_y), r)])
            sums.sort()
            gaps = np.diff(sums)
            if np.any(gaps <= 1e-12 * sums[-1]):
                warnings.warn(
                    f"sigma {self.sigma.tolist()}: two partial sums of squared singular values coincide "
                    "(Assumption 2); distinct signatures share a critical value",
                    AssumptionWarning, stacklevel=3)

    # -------------------------------------------------------- pack and unpack
    def pack(self, Ws) -> np.ndarray:
        """``[W_1, ..., W_h]`` (or stacks of them) to the state vector ``x``."""
        if len(Ws) != self.h:
            raise ValueError(f"Ws: expected {self.h} weight matrices, got {len(Ws)}")
        parts = []
        lead = None
        for i, (W, shape) in enumerate(zip(Ws, self.shapes)):
            W = as_finite_array(W, f"Ws[{i}]")
            if W.shape[-2:] != shape:
                raise ValueError(f"Ws[{i}]: W_{i + 1} must have shape {shape}, got {W.shape}")
            lead = W.shape[:-2] if lead is None else np.broadcast_shapes(lead, W.shape[:-2])
            parts.append(W)
        return np.concatenate([np.broadcast_to(W, lead + W.shape[-2:]).reshape(lead + (-1,)) for W in parts],
                              axis=-1)

    def unpack(self, x) -> list:
        """State vector(s) to ``[W_1, ..., W_h]`` (views; shapes ``(..., d_i, d_{i-1})``)."""
        x = np.asarray(x)
        lead = x.shape[:-1]
        o = self.param_offsets
        return [x[..., o[i]:o[i + 1]].reshape(lead + self.shapes[i]) for i in range(self.h)]

    def adjacency(self, x) -> np.ndarray:
        """``A = blk_1(W_1, ..., W_h)`` (eq. 10), shape ``(n_v, n_v)`` (stacks allowed)."""
        x = as_state(x, self.n_params)
        Ws = self.unpack(x)
        A = np.zeros(x.shape[:-1] + (self.n_nodes, self.n_nodes))
        o = self.node_offsets
        for i, W in enumerate(Ws):
            A[..., o[i + 1]:o[i + 2], o[i]:o[i + 1]] = W
        return A

    def from_adjacency(self, A, *, atol=0.0) -> np.ndarray:
        """The state vector of a block-shift matrix ``A``; entries outside the blocks must vanish."""
        A = as_finite_array(A, "A")
        if A.shape[-2:] != (self.n_nodes, self.n_nodes):
            raise ValueError(f"A: expected shape (..., {self.n_nodes}, {self.n_nodes}), got {A.shape}")
        o = self.node_offsets
        Ws = [A[..., o[i + 1]:o[i + 2], o[i]:o[i + 1]] for i in range(self.h)]
        rest = A.copy()
        for i in range(self.h):
            rest[..., o[i + 1]:o[i + 2], o[i]:o[i + 1]] = 0.0
        if np.max(np.abs(rest), initial=0.0) > atol:
            raise ValueError("A: has nonzero entries outside the block-shift pattern blk_1(W_1, ..., W_h)")
        return self.pack(Ws)

    def variable_names(self) -> list:
        """Model-file names of the state variables: ``w`` + 1-based index, zero-padded.

        They sort lexicographically in state order (PyDSTool sorts names as strings) and
        give the paper's ``w1, w2, ...`` for networks with fewer than 10 weights.
        """
        width = len(str(self.n_params))
        return [f"w{k:0{width}d}" for k in range(1, self.n_params + 1)]

    def weight_index(self, layer: int, row: int, col: int) -> int:
        """Position in x of ``[W_layer]_{row, col}`` (layer 1-based, row and col 0-based)."""
        if not 1 <= layer <= self.h:
            raise ValueError(f"layer: must be in 1..{self.h}, got {layer}")
        r, c = self.shapes[layer - 1]
        if not (0 <= row < r and 0 <= col < c):
            raise ValueError(f"row, col: ({row}, {col}) outside W_{layer} of shape {(r, c)}")
        return self.param_offsets[layer - 1] + row * c + col

    def zeros(self) -> np.ndarray:
        return np.zeros(self.n_params)

    # ------------------------------------------------------------------ flow
    def _x(self, x, name="x"):
        return as_state(x, self.n_params, name)

    def loss(self, x):
        """Loss ``1/2 ||Sigma - W_{1:h}||_F^2 (+ gamma/2 ||x||^2)`` (eqs. 5, 24); stacks allowed."""
        return flow.loss(self, self._x(x))

    def residual(self, x):
        """``Sigma - W_{1:h}`` (shape ``d_y x d_x``; stacks allowed)."""
        return flow.residual(self, self._x(x))

    def product(self, x):
        """The end-to-end map ``W_{1:h} = W_h ... W_1`` (the nonzero block of ``A^h``)."""
        return self.Sigma - flow.residual(self, self._x(x))

    def vector_field(self, x):
        """``-grad L`` (eqs. 9, 25) in block form; stacks of states ``(..., n_params)`` allowed."""
        x = self._x(x)
        if x.ndim == 1 and self.n_params >= fastflow.MIN_PARAMS:
            return fastflow.for_thread(self).vector_field(x)     # same products, no fresh work arrays
        return flow.vector_field(self, x)

    def gradient(self, x):
        """``grad L = -vector_field(x)`` (masked entries are zero)."""
        return -flow.vector_field(self, self._x(x))

    def jacobian(self, x):
        """Dense analytic Jacobian of the vector field (``= -Hessian of L``)."""
        return flow.jacobian(self, self._single(x))

    def hessian(self, x):
        """Dense analytic Hessian of the loss (ignores the mask)."""
        return flow.hessian(self, self._single(x))

    def hvp(self, x, v):
        """Hessian-vector product ``-jacobian(x) @ v`` without forming the Hessian; ``v`` may be ``(k, n)``."""
        return flow.hvp(self, self._single(x), self._x(v, "v"))

    def hessian_form(self, x, V):
        """Hessian quadratic form ``h(A, V)`` of eq. (22) via rho_1, rho_2 (20)-(21)."""
        return flow.hessian_form(self, self._single(x), self._x(V, "V"))

    def vector_field_adjacency(self, A):
        """Eq. (12)/(25) with powers of A: the cross-check and benchmark baseline. Returns ``dA/dt``."""
        A = as_finite_array(A, "A")
        if A.shape != (self.n_nodes, self.n_nodes):
            raise ValueError(f"A: expected shape ({self.n_nodes}, {self.n_nodes}), got {A.shape}")
        return flow.vector_field_adjacency(self, A)

    def gd_step(self, x, eta):
        """Gradient descent (67): ``x - eta * grad L(x)``."""
        eta = float(eta)
        if not np.isfinite(eta) or eta <= 0:
            raise ValueError(f"eta: step size must be a positive finite number, got {eta!r}")
        return flow.gd_step(self, self._x(x), eta)

    def _single(self, x, name="x"):
        x = self._x(x, name)
        if x.ndim != 1:
            raise ValueError(f"{name}: expected one state of shape ({self.n_params},), got {x.shape}")
        return x

    # ------------------------------------------------------------ invariants
    def conserved(self, x):
        """``[C_1, ..., C_{h-1}]`` with ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (Prop. 6)."""
        return invariants.conserved(self, self._x(x))

    def independent_conservation_laws(self, x, tol=None) -> int:
        """Rank at x of the differential of the conservation laws."""
        return invariants.independent_conservation_laws(self, self._single(x), tol)

    # -------------------------------------------------------------- networkx
    def to_networkx(self, x):
        """A ``networkx.DiGraph``: nodes ``(layer, index)`` with attribute ``layer``; edges carry
        ``weight`` and ``trainable``. Learnable edges are all present; fixed ones only when nonzero."""
        from .graph import to_networkx
        return to_networkx(self, self._single(x))

    @classmethod
    def from_networkx(cls, G, sigma=None, gamma=None):
        """``(net, x)`` from a layered DiGraph; an edge that skips layers becomes the expanded
        block form of Section 7 with fixed identity chains (a fixed-edge mask)."""
        from .graph import from_networkx
        return from_networkx(G, sigma=sigma, gamma=gamma)
