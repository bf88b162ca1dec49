"""Critical points of the loss: signatures, construction, equivalence and classification (Section 4).

Under Assumption 1 every critical point ``A*`` has ``(A*)^h = blk_h(S Sigma)`` for a unique
*signature* ``S``, a subset of ``{1, ..., d_y}`` (1-based, the learned singular values), with
critical value ``1/2 sum_{i not in S} sigma_i^2`` (Prop. 14, eq. 31). Conversely every
signature is realized by the points ``A* = P (A_1 + Z) P^{-1}`` of the parametrization
(32)-(33), ``P`` a change of basis of the hidden nodes and ``Z`` a null-space addition; they
are critical when at least two blocks ``Z_i`` vanish (the sufficient condition of
Section 4.4). The kind of a critical point (Props. 14, 18, 21, 23):

* ``S = {1, ..., d_y}`` (``{1, ..., d_min}`` for a bottleneck, Section 7): global minimum;
* ``S != {1, ..., r}``: strict saddle, with the explicit negative direction of Prop. 21;
* ``S = {1, ..., r}``, ``r`` below the maximum: non-strict saddle when tightened (Prop. 23,
  sufficient condition: at least three blocks of rank exactly ``r``), strict otherwise.

Signatures are given as any iterable of distinct 1-based ints and returned as sorted
tuples. Everything here is for the unregularized flow (``gamma = 0``) without a mask.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import numbers

import numpy as np

from . import flow
from ._validate import as_finite_array, as_seed_rng
from .spectra import DENSE_MAX, _Result, relative_gradient, spectrum

__all__ = [
    "KINDS", "as_signature", "critical_value", "global_minimum_signature", "arc_counts",
    "SignatureInfo", "Signatures", "signatures",
    "CriticalPoint", "critical_point", "random_critical_point",
    "equivalent", "equivalent_point", "fiber_dimension",
    "negative_direction", "zero_direction", "read_signature",
    "Classification", "classify",
]

KINDS = ("global minimum", "strict saddle", "non-strict saddle", "regular point")


# ----------------------------------------------------------------------- validation
def _require_plain(net, what):
    if net.gamma:
        raise ValueError(f"net: {what} follows Section 4, which is for the unregularized flow "
                         f"(gamma = 0); got gamma = {net.gamma}")
    if net.mask is not None:
        raise ValueError(f"net: {what} follows Section 4, which is for networks without a mask "
                         "(fixed edges change the critical points)")


def as_signature(net, S, name: str = "S") -> tuple:
    """A signature as a sorted tuple of distinct 1-based ints in ``1..d_y``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> as_signature(Network((3, 3, 3), sigma=[3, 2, 1]), {3, 1})
    (1, 3)
    """
    if isinstance(S, (str, bytes)) or np.ndim(S) > 1:
        raise ValueError(f"{name}: expected a set of 1-based output indices such as {{1, 3}}, got {S!r}")
    try:
        items = list(np.atleast_1d(S).tolist()) if isinstance(S, np.ndarray) else list(S)
    except TypeError:
        raise ValueError(f"{name}: expected a set of 1-based output indices such as {{1, 3}}, got {S!r}") from None
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{name}: indices must be integers in 1..{net.d_y}, got {v!r}")
        if not isinstance(v, (numbers.Integral, np.integer)):
            if isinstance(v, (numbers.Real, np.floating)) and float(v).is_integer():
                v = int(v)
            else:
                raise ValueError(f"{name}: indices must be integers in 1..{net.d_y}, got {v!r}")
        v = int(v)
        if not 1 <= v <= net.d_y:
            raise ValueError(f"{name}: index {v} is out of range 1..d_y = 1..{net.d_y} (indices are 1-based)")
        out.append(v)
    if len(set(out)) != len(out):
        dup = sorted({v for v in out if out.count(v) > 1})
        raise ValueError(f"{name}: repeated index {dup[0]} (a signature is a set of distinct indices)")
    return tuple(sorted(out))


def global_minimum_signature(net) -> tuple:
    """``{1, ..., d_y}``, or ``{1, ..., d_min}`` for a bottleneck network (Section 7)."""
    return tuple(range(1, min(net.d_y, net.d_min) + 1))


def critical_value(net, S) -> float:
    """Critical value (31): ``1/2 sum_{i not in S} sigma_i^2``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> critical_value(Network((2, 2, 2), sigma=[3.0, 1.0]), {2})
    4.5
    """
    S = as_signature(net, S)
    mask = np.ones(net.d_y, dtype=bool)
    mask[[s - 1 for s in S]] = False
    return float(0.5 * np.sum(net.sigma[mask] ** 2))


def arc_counts(net, S) -> tuple:
    """Numbers ``(unstable, stable)`` of arcs of Theorem 24 at a critical point of signature S.

    Unstable arcs go to the signatures ``S2`` strictly containing S, stable ones to those
    strictly contained in S: ``2^(d_y - k) - 1`` and ``2^k - 1`` for ``k = card(S)``
    (Theorem 24.3). For a bottleneck network only signatures of at most ``d_min`` indices
    are critical (Section 7), and only those are counted.

    Examples
    --------
    >>> from dlnsys import Network
    >>> arc_counts(Network((4, 4, 4), sigma=[4, 3, 2, 1]), {1})
    (7, 1)
    """
    S = as_signature(net, S)
    k, d, cap = len(S), net.d_y, min(net.d_y, net.d_min)
    if net.h < 2:
        return (0, 0)
    unstable = sum(math.comb(d - k, m) for m in range(1, cap - k + 1)) if k <= cap else 0
    stable = 2 ** k - 1
    return (int(unstable), int(stable))


# ----------------------------------------------------------------------- signatures
@dataclasses.dataclass(frozen=True)
class SignatureInfo(_Result):
    """One signature: its critical value (31), the kind of its critical points and its arcs.

    ``kind`` is ``"global minimum"``, ``"strict saddle"`` (every point of the fiber,
    Prop. 21, or every saddle of a one-hidden-layer network) or ``"strict or non-strict
    saddle"`` (``S = {1..r}``: non-strict exactly at tightened points, Props. 18 and 23).
    """

    signature: tuple
    critical_value: float
    rank: int
    kind: str
    n_unstable_arcs: int
    n_stable_arcs: int


@dataclasses.dataclass
class Signatures(_Result):
    """The signatures of a network sorted by critical value (then by size), with context.

    Iterating, ``len`` and indexing go through ``entries``.

    Attributes
    ----------
    entries : tuple of SignatureInfo
    global_minimum : tuple
        ``{1..d_y}``, or the reduced ``{1..d_min}`` of a bottleneck network.
    bottleneck : bool
    d_min : int
    assumption2 : bool or None
        Whether all partial sums of squared singular values are distinct (None: not checked,
        ``d_y`` too large). When False, distinct signatures share a critical value.
    notes : list of str
    """

    entries: tuple
    global_minimum: tuple
    bottleneck: bool
    d_min: int
    assumption2: bool | None
    notes: list

    def __iter__(self):
        return iter(self.entries)

    def __len__(self):
        return len(self.entries)

    def __getitem__(self, i):
        return self.entries[i]

    def to_dict(self, vectors: bool = True) -> dict:
        d = super().to_dict(vectors)
        d["entries"] = [e.to_dict() for e in self.entries]
        return d


def _check_assumption2(net):
    if net.d_y > 16:
        return None
    sq = net.sigma ** 2
    sums = np.sort([sq[list(s)].sum() for r in range(net.d_y + 1)
                    for s in itertools.combinations(range(net.d_y), r)])
    return bool(np.all(np.diff(sums) > 1e-12 * sums[-1])) if net.d_y > 1 else True


def _signature_kind(net, S):
    G = global_minimum_signature(net)
    if S == G:
        return "global minimum"
    if S != tuple(range(1, len(S) + 1)):
        return "strict saddle"
    if net.h == 2:
        return "strict saddle"
    return "strict or non-strict saddle"


def signatures(net, max_dy: int = 16) -> Signatures:
    """All signatures of critical points with their critical values (31), sorted by value.

    Under Assumption 2 the ``2^{d_y}`` values are distinct (Prop. 15); the check is reported
    in ``assumption2``. A bottleneck network (a hidden width ``d_min < d_y``, Section 7) has
    only the signatures of at most ``d_min`` indices and the reduced global minimum
    ``{1..d_min}``. A network with a single layer (``h = 1``) is linear regression: its
    only critical point is the global minimum.

    Parameters
    ----------
    net : Network
    max_dy : int
        Refuse to enumerate ``2^{d_y}`` signatures beyond this ``d_y``.

    Returns
    -------
    Signatures

    Examples
    --------
    >>> from dlnsys import Network
    >>> table = signatures(Network((2, 2, 2), sigma=[2.0, 1.0]))
    >>> [(e.signature, e.critical_value) for e in table]
    [((1, 2), 0.0), ((1,), 0.5), ((2,), 2.0), ((), 2.5)]
    >>> table[1].kind, table[1].n_unstable_arcs, table[1].n_stable_arcs
    ('strict saddle', 1, 1)
    """
    _require_plain(net, "signatures")
    if net.d_y > max_dy:
        raise ValueError(f"net: d_y = {net.d_y} gives 2^{net.d_y} signatures; raise max_dy "
                         f"(now {max_dy}) to enumerate them")
    G = global_minimum_signature(net)
    notes = []
    entries = []
    for r in range(net.d_y + 1):
        for comb in itertools.combinations(range(1, net.d_y + 1), r):
            S = tuple(comb)
            if net.h < 2 and S != G:
                continue
            if r > len(G):
                continue
            u, s = arc_counts(net, S)
            entries.append(SignatureInfo(signature=S, critical_value=critical_value(net, S), rank=r,
                                         kind=_signature_kind(net, S), n_unstable_arcs=u, n_stable_arcs=s))
    entries.sort(key=lambda e: (e.critical_value, -e.rank, e.signature))
    a2 = _check_assumption2(net)
    if net.is_bottleneck:
        notes.append(f"bottleneck: hidden width d_min = {net.d_min} < d_y = {net.d_y}; the global "
                     f"minimum is the reduced signature {set(G)} and signatures with more than "
                     f"{net.d_min} indices are not critical (Section 7)")
    if net.h < 2:
        notes.append("h = 1 (linear regression): the loss is convex and its only critical point is "
                     "the global minimum")
    if a2 is False:
        notes.append("Assumption 2 fails: two partial sums of squared singular values coincide, so "
                     "distinct signatures share a critical value")
    elif a2 is None:
        notes.append("Assumption 2 not checked (d_y > 16)")
    return Signatures(entries=tuple(entries), global_minimum=G, bottleneck=net.is_bottleneck,
                      d_min=net.d_min, assumption2=a2, notes=notes)


# ----------------------------------------------------------------------- construction
@dataclasses.dataclass
class CriticalPoint(_Result):
    """A critical point built by the parametrization (32)-(33): ``A* = P (A_1 + Z) P^{-1}``.

    Attributes
    ----------
    x : ndarray
        The state vector of ``A*``.
    signature : tuple
    critical_value : float
        (31).
    x_A1 : ndarray
        The near-diagonal representative ``A_1`` of (32).
    P : list of ndarray
        The hidden-layer changes of basis ``P_1, ..., P_{h-1}``.
    Z : list of ndarray
        The blocks ``Z_1, ..., Z_h`` of (33) (shapes ``(d_1-r, d_x)``,
        ``(d_i-r, d_{i-1}-r)``, ``(d_y-r, d_{h-1}-r)``).
    zero_blocks : tuple
        1-based indices of the blocks ``Z_i`` that vanish (empty blocks count).
    """

    x: np.ndarray
    signature: tuple
    critical_value: float
    x_A1: np.ndarray
    P: list
    Z: list
    zero_blocks: tuple

    _vector_fields = ("x", "x_A1", "P", "Z")


def _Z_shapes(net, r):
    d, h = net.dims, net.h
    shapes = [(d[1] - r, d[0])]
    shapes += [(d[i] - r, d[i - 1] - r) for i in range(2, h)]
    shapes.append((d[h] - r, d[h - 1] - r))
    return shapes


def _as_P(net, P):
    if P is None:
        return [np.eye(d) for d in net.dims[1:-1]]
    if isinstance(P, np.ndarray) and P.ndim == 2 and net.h == 2:
        P = [P]
    try:
        P = list(P)
    except TypeError:
        raise ValueError(f"P: expected a list of h - 1 = {net.h - 1} square matrices, got {type(P).__name__}") from None
    if len(P) != net.h - 1:
        raise ValueError(f"P: expected h - 1 = {net.h - 1} hidden-layer matrices P_1..P_{net.h - 1}, got {len(P)}")
    out = []
    for i, (Pi, d) in enumerate(zip(P, net.dims[1:-1]), start=1):
        Pi = as_finite_array(Pi, f"P[{i - 1}]")
        if Pi.shape != (d, d):
            raise ValueError(f"P[{i - 1}]: P_{i} must have shape {(d, d)}, got {Pi.shape}")
        if d and np.linalg.cond(Pi) > 1e12:
            raise ValueError(f"P[{i - 1}]: P_{i} is singular or nearly so (condition number "
                             f"{np.linalg.cond(Pi):.3g}); a change of basis must be invertible")
        out.append(Pi)
    return out


def _apply_P(net, Ws, P):
    """``W_i -> P_i W_i P_{i-1}^{-1}`` (``P_0 = I``, ``P_h = I``)."""
    out = []
    for i, W in enumerate(Ws):                       # W is the paper's W_{i+1}
        left = P[i] if i < net.h - 1 else None
        right = P[i - 1] if i >= 1 else None
        Wn = W if left is None else left @ W
        if right is not None:
            Wn = np.linalg.solve(right.T, Wn.T).T
        out.append(Wn)
    return out


def _A1_blocks(net, S):
    """The near-diagonal representative (32) as a list of weight matrices."""
    d, h, r = net.dims, net.h, len(S)
    idx = [s - 1 for s in S]
    W1 = np.zeros((d[1], d[0]))
    if h == 1:                                        # A^h = A = S Sigma
        W1[idx, idx] = net.sigma[idx]
        return [W1]
    W1[np.arange(r), idx] = net.sigma[idx]
    Ws = [W1]
    for i in range(2, h):
        Wi = np.zeros((d[i], d[i - 1]))
        Wi[np.arange(r), np.arange(r)] = 1.0
        Ws.append(Wi)
    Wh = np.zeros((d[h], d[h - 1]))
    Wh[idx, np.arange(r)] = 1.0
    Ws.append(Wh)
    return Ws


def _as_Z(net, Z, r):
    shapes = _Z_shapes(net, r)
    if Z is None:
        return [np.zeros(s) for s in shapes]
    try:
        Z = list(Z)
    except TypeError:
        raise ValueError(f"Z: expected a list of h = {net.h} blocks Z_1..Z_h, got {type(Z).__name__}") from None
    if len(Z) != net.h:
        raise ValueError(f"Z: expected h = {net.h} blocks Z_1..Z_{net.h} (use None for a zero block), got {len(Z)}")
    out = []
    for i, (Zi, shape) in enumerate(zip(Z, shapes), start=1):
        if Zi is None:
            out.append(np.zeros(shape))
            continue
        Zi = as_finite_array(Zi, f"Z[{i - 1}]")
        if Zi.shape != shape:
            raise ValueError(f"Z[{i - 1}]: Z_{i} must have shape {shape} for a signature of size r = {r} "
                             f"(see (33)), got {Zi.shape}")
        out.append(Zi)
    return out


def _embed_Z(net, S, Z):
    d, h, r = net.dims, net.h, len(S)
    Q = [q for q in range(net.d_y) if q + 1 not in S]
    blocks = []
    B1 = np.zeros((d[1], d[0]))
    B1[r:, :] = Z[0]
    blocks.append(B1)
    for i in range(2, h):
        Bi = np.zeros((d[i], d[i - 1]))
        Bi[r:, r:] = Z[i - 1]
        blocks.append(Bi)
    Bh = np.zeros((d[h], d[h - 1]))
    Bh[np.ix_(Q, np.arange(r, d[h - 1]))] = Z[h - 1]
    blocks.append(Bh)
    return blocks


def critical_point(net, S, *, P=None, Z=None) -> CriticalPoint:
    """The critical point ``A* = P (A_1 + Z) P^{-1}`` of signature S, by (32)-(33).

    ``A_1 = blk_1([U_S^T Sigma; 0], [I_r 0; 0 0], ..., [U_S 0])`` with ``U_S`` the columns
    of ``I_{d_y}`` in S; ``Z = blk_1([0; Z_1], [0 0; 0 Z_2], ..., [0  U_Q Z_h])`` with
    ``U_Q`` the other columns; ``P = blk_0(I, P_1, ..., P_{h-1}, I)``.

    Parameters
    ----------
    net : Network
        ``gamma = 0``, no mask, ``h >= 2`` (for ``h = 1`` only the global minimum exists).
    S : iterable of int
        1-based learned indices, at most ``d_min`` of them.
    P : list of h-1 invertible arrays, optional
        Hidden-layer changes of basis ``P_i`` of shape ``(d_i, d_i)``; identity by default.
    Z : list of h arrays (or None entries), optional
        Null-space additions of shapes ``(d_1-r, d_x)``, ``(d_i-r, d_{i-1}-r)``,
        ``(d_y-r, d_{h-1}-r)``. They must meet the sufficient condition of Section 4.4:
        at least two blocks ``Z_i`` vanish (empty blocks count as zero).

    Returns
    -------
    CriticalPoint

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((3, 3, 3, 2), sigma=[2.0, 1.0])
    >>> cp = critical_point(net, {2})
    >>> net.product(cp.x)
    array([[0., 0., 0.],
           [0., 1., 0.]])
    >>> float(np.linalg.norm(net.vector_field(cp.x))), cp.critical_value
    (0.0, 2.0)
    """
    _require_plain(net, "critical_point")
    S = as_signature(net, S)
    r = len(S)
    G = global_minimum_signature(net)
    if net.h == 1:
        if S != G:
            raise ValueError(f"S: with h = 1 (linear regression) the only critical point is the global "
                             f"minimum {set(G)}, got {set(S) or '{}'}")
        if P is not None and len(list(P)):
            raise ValueError("P: a network with h = 1 has no hidden layer")
        Ws = _A1_blocks(net, S)
        x = net.pack(Ws)
        return CriticalPoint(x=x, signature=S, critical_value=critical_value(net, S), x_A1=x.copy(),
                             P=[], Z=[], zero_blocks=(1,))
    if r > net.d_min:
        raise ValueError(f"S: {r} indices but the narrowest layer has d_min = {net.d_min} nodes, so "
                         f"rank(A^h) <= {net.d_min}: no critical point has this signature (Section 7)")
    Pm = _as_P(net, P)
    Zm = _as_Z(net, Z, r)
    zero = tuple(i for i, Zi in enumerate(Zm, start=1) if Zi.size == 0 or not np.any(Zi))
    if len(zero) < 2:
        raise ValueError(f"Z: the sufficient condition of Section 4.4 needs at least two zero blocks "
                         f"Z_i, Z_j (i != j); only {list(zero) or 'none'} vanish")
    A1 = _A1_blocks(net, S)
    Ws = [a + z for a, z in zip(A1, _embed_Z(net, S, Zm))]
    Ws = _apply_P(net, Ws, Pm)
    return CriticalPoint(x=net.pack(Ws), signature=S, critical_value=critical_value(net, S),
                         x_A1=net.pack(A1), P=Pm, Z=Zm, zero_blocks=zero)


def _random_invertible(rng, d, spread=0.5):
    """``Q_1 diag(exp(u)) Q_2`` with ``u`` uniform in ``[-spread, spread]``: condition <= e^(2 spread)."""
    if d == 0:
        return np.zeros((0, 0))
    Q1, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Q2, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (Q1 * np.exp(rng.uniform(-spread, spread, d))) @ Q2


def random_critical_point(net, S, rng=None, *, zero_blocks=None, scale=1.0,
                          change_of_basis=True) -> CriticalPoint:
    """A generic critical point of signature S: random ``P`` and ``Z`` in (32)-(33).

    Parameters
    ----------
    net : Network
    S : iterable of int
    rng : int, numpy Generator or None
        Seed or generator.
    zero_blocks : iterable of int, optional
        1-based indices of the blocks ``Z_i`` set to zero (at least two, the sufficient
        condition). By default two distinct blocks drawn at random; the others are Gaussian
        with standard deviation ``scale``. Three or more zero blocks make the point
        tightened (Prop. 23).
    scale : float
        Size of the nonzero ``Z_i`` entries.
    change_of_basis : bool
        Draw random well-conditioned ``P_i`` (condition number at most e); otherwise identity.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((4, 3, 3, 3), sigma=[3.0, 2.0, 1.0])
    >>> cp = random_critical_point(net, {1, 3}, rng=0)
    >>> bool(np.allclose(net.product(cp.x), np.diag([3.0, 0.0, 1.0]) @ np.eye(3, 4)))
    True
    """
    _require_plain(net, "random_critical_point")
    S = as_signature(net, S)
    rng = as_seed_rng(rng)
    scale = float(scale)
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale: expected a finite non-negative number, got {scale!r}")
    if net.h == 1:
        return critical_point(net, S)
    if zero_blocks is None:
        zero = tuple(sorted(rng.choice(np.arange(1, net.h + 1), size=2, replace=False).tolist()))
    else:
        zero = _as_index_set(zero_blocks, net.h, "zero_blocks")
        if len(zero) < 2:
            raise ValueError("zero_blocks: the sufficient condition of Section 4.4 needs at least two zero blocks")
    r = len(S)
    if r > net.d_min:
        return critical_point(net, S)               # raises with the bottleneck message
    Z = [None if i in zero else scale * rng.standard_normal(shape)
         for i, shape in enumerate(_Z_shapes(net, r), start=1)]
    P = [_random_invertible(rng, d) for d in net.dims[1:-1]] if change_of_basis else None
    return critical_point(net, S, P=P, Z=Z)


def _as_index_set(items, n, name):
    """Distinct 1-based ints in ``1..n`` as a sorted tuple (for layer indices)."""
    try:
        vals = list(items)
    except TypeError:
        raise ValueError(f"{name}: expected an iterable of 1-based indices, got {items!r}") from None
    out = []
    for v in vals:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            raise ValueError(f"{name}: indices must be integers in 1..{n}, got {v!r}")
        if not 1 <= int(v) <= n:
            raise ValueError(f"{name}: index {int(v)} is out of range 1..{n}")
        out.append(int(v))
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated index")
    return tuple(sorted(out))


# ----------------------------------------------------------------------- equivalence
def equivalent(net, x1, x2, *, rtol: float = 1e-9) -> bool:
    """Whether ``A_1 ~ A_2``, i.e. ``A_1^h = A_2^h`` (``W_{1:h}`` equal), to a relative tolerance.

    ``||W^{(1)}_{1:h} - W^{(2)}_{1:h}||_F <= rtol * max(||Sigma||_F, ||W^{(1)}_{1:h}||_F, ||W^{(2)}_{1:h}||_F)``.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((1, 1, 1), sigma=[1.0])
    >>> equivalent(net, [2.0, 0.5], [0.25, 4.0]), equivalent(net, [1.0, 1.0], [1.0, 2.0])
    (True, False)
    """
    M1 = net.product(net._single(x1, "x1"))
    M2 = net.product(net._single(x2, "x2"))
    rtol = float(rtol)
    if not np.isfinite(rtol) or rtol < 0:
        raise ValueError(f"rtol: expected a finite non-negative number, got {rtol!r}")
    scale = max(np.linalg.norm(net.Sigma), np.linalg.norm(M1), np.linalg.norm(M2))
    return bool(np.linalg.norm(M1 - M2) <= rtol * scale)


def _null_basis(M, rtol=1e-10):
    """Orthonormal basis (columns) of the null space of M."""
    if M.shape[0] == 0:
        return np.eye(M.shape[1])
    _, s, vt = np.linalg.svd(M, full_matrices=True)
    tol = rtol * (s[0] if s.size else 0.0) * max(M.shape)
    rank = int(np.sum(s > max(tol, 1e-300)))
    return vt[rank:].T


def equivalent_point(net, x, rng=None, *, P=None, Z=None, scale=1.0) -> np.ndarray:
    """A point equivalent to x (same ``A^h``) by Prop. 40 (Prop. 16 is the case ``A Z = Z A = 0``).

    ``A_2 = P (A + Z) P^{-1}`` with ``P`` a hidden-layer change of basis and
    ``Z = blk_1(Z_1, ..., Z_h)`` with ``W_{j+1} Z_j = 0`` (``j < h``), ``Z_j W_{j-1} = 0``
    (``j > 1``) and ``Z_{1:h} = Z_h ... Z_1 = 0``.

    Parameters
    ----------
    net : Network
    x : array_like
    rng : int, Generator or None
        Used for the random ``P`` and ``Z`` that are not given.
    P : list of h-1 invertible arrays, optional
        Default: random, well-conditioned.
    Z : list of h arrays (or None entries), optional
        Checked against the conditions above (relative tolerance 1e-9). Default: random in
        the allowed null spaces (standard deviation ``scale``) with one random block set to
        zero so that ``Z_{1:h} = 0``.

    Returns
    -------
    ndarray
        The state vector of ``A_2``; ``equivalent(net, x, result)`` holds.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((3, 4, 2), sigma=[2.0, 1.0])
    >>> x = np.random.default_rng(0).standard_normal(net.n_params)
    >>> y = equivalent_point(net, x, rng=1)
    >>> equivalent(net, x, y), bool(np.allclose(x, y))
    (True, False)
    """
    x = net._single(x)
    rng = as_seed_rng(rng)
    Ws = [W.copy() for W in net.unpack(x)]
    h = net.h
    if Z is None:
        zero_j = int(rng.integers(h))
        Zs = []
        for j in range(h):                         # 0-based: Z[j] pairs with W[j]
            if j == zero_j:
                Zs.append(np.zeros_like(Ws[j]))
                continue
            Nl = _null_basis(Ws[j + 1]) if j + 1 < h else np.eye(Ws[j].shape[0])
            Nr = _null_basis(Ws[j - 1].T) if j >= 1 else np.eye(Ws[j].shape[1])
            G = float(scale) * rng.standard_normal((Nl.shape[1], Nr.shape[1]))
            Zs.append(Nl @ G @ Nr.T)
    else:
        try:
            Zl = list(Z)
        except TypeError:
            raise ValueError(f"Z: expected a list of h = {h} arrays, got {type(Z).__name__}") from None
        if len(Zl) != h:
            raise ValueError(f"Z: expected h = {h} blocks Z_1..Z_{h}, got {len(Zl)}")
        Zs = []
        for j, (Zj, W) in enumerate(zip(Zl, Ws)):
            if Zj is None:
                Zs.append(np.zeros_like(W))
                continue
            Zj = as_finite_array(Zj, f"Z[{j}]")
            if Zj.shape != W.shape:
                raise ValueError(f"Z[{j}]: Z_{j + 1} must have the shape of W_{j + 1}, {W.shape}, got {Zj.shape}")
            Zs.append(Zj)
        ref = max(1.0, max(np.linalg.norm(W) for W in Ws), max(np.linalg.norm(Zj) for Zj in Zs)) ** 2
        for j in range(h):
            if j + 1 < h and np.linalg.norm(Ws[j + 1] @ Zs[j]) > 1e-9 * ref:
                raise ValueError(f"Z[{j}]: Prop. 40 needs W_{j + 2} Z_{j + 1} = 0 (columns of Z_{j + 1} "
                                 f"in the null space of W_{j + 2})")
            if j >= 1 and np.linalg.norm(Zs[j] @ Ws[j - 1]) > 1e-9 * ref:
                raise ValueError(f"Z[{j}]: Prop. 40 needs Z_{j + 1} W_{j} = 0 (rows of Z_{j + 1} "
                                 f"orthogonal to the range of W_{j})")
        prodZ = Zs[0]
        for j in range(1, h):
            prodZ = Zs[j] @ prodZ
        if np.linalg.norm(prodZ) > 1e-9 * ref ** (h / 2):
            raise ValueError("Z: Prop. 40 needs Z_h ... Z_1 = 0 (Z nilpotent of index <= h)")
    if P is None:
        Pm = [_random_invertible(rng, d) for d in net.dims[1:-1]]
    else:
        Pm = _as_P(net, P)
    Ws = _apply_P(net, [W + Zj for W, Zj in zip(Ws, Zs)], Pm)
    return net.pack(Ws)


def _product_differential(net, x):
    """``K = d vec(W_{1:h}) / dx``, shape ``(d_y d_x, n_params)`` (row-major vec)."""
    Ws = net.unpack(x)
    h, dims, offs = net.h, net.dims, net.param_offsets
    S = flow._suffixes(Ws)
    P = [np.eye(dims[0])]
    for k in range(h - 1):
        P.append(Ws[k] @ P[-1])
    K = np.empty((dims[-1] * dims[0], net.n_params))
    for k in range(h):
        Sk = np.eye(dims[-1]) if S[k] is None else S[k]
        K[:, offs[k]:offs[k + 1]] = np.kron(Sk, P[k].T)
    return K


def fiber_dimension(net, x, tol=None) -> int:
    """``n_params - rank(d phi(x))``, ``phi(x) = W_{1:h}``: the dimension of the fiber through x.

    This is the dimension of ``phi^{-1}(phi(x))`` near x wherever the rank of ``d phi`` is
    locally constant; at every global minimum of a network without bottleneck ``d phi`` is
    onto, so the fiber (the set of global minima) has dimension ``n_params - d_x d_y``.
    At a global minimum the Hessian is ``K^T K`` with ``K = d phi``, so it has at least
    this many zero eigenvalues.

    Examples
    --------
    >>> from dlnsys import Network
    >>> net = Network((11, 6, 6, 6, 6, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    >>> fiber_dimension(net, critical_point(net, {1, 2, 3, 4}).x)
    154
    """
    x = net._single(x)
    K = _product_differential(net, x)
    s = np.linalg.svd(K, compute_uv=False)
    if tol is None:
        tol = (s[0] if s.size else 0.0) * max(K.shape) * np.finfo(float).eps * 10
    return int(net.n_params - np.sum(s > tol))


# ----------------------------------------------------------------------- directions
def _signature_of_product(net, M):
    """Nearest signature to the product M and the relative residual ``||M - S Sigma|| / ||Sigma||``."""
    diag = np.diag(M[:, :net.d_y]) / net.sigma
    S = tuple(int(i) + 1 for i in np.flatnonzero(diag > 0.5))
    target = np.zeros_like(M)
    for s in S:
        target[s - 1, s - 1] = net.sigma[s - 1]
    return S, float(np.linalg.norm(M - target) / np.linalg.norm(net.Sigma))


def read_signature(net, x, tol: float = 1e-6):
    """The signature S with ``W_{1:h} = S Sigma`` (Prop. 14.3a), or None if no S fits.

    S is read off the diagonal (``s_i = 1`` when ``[W_{1:h}]_ii > sigma_i / 2``) and accepted
    when ``||W_{1:h} - S Sigma||_F <= tol ||Sigma||_F``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> net = Network((2, 2, 2), sigma=[2.0, 1.0])
    >>> read_signature(net, critical_point(net, {2}).x)
    (2,)
    """
    x = net._single(x)
    S, res = _signature_of_product(net, net.product(x))
    return S if res <= tol else None


def _checked_signature(net, x, S):
    if S is None:
        S, res = _signature_of_product(net, net.product(x))
        if res > 1e-6:
            raise ValueError(f"x: W_{{1:h}} is not of the form S Sigma (relative residual {res:.3g}); "
                             "not a critical point (Prop. 14.3a)")
        return S
    return as_signature(net, S)


def negative_direction(net, x, i=None, j=None, *, S=None) -> np.ndarray:
    """Prop. 21's negative direction at a critical point of signature ``S != {1..r}``.

    For ``i`` not in S and ``j`` in S, ``i < j`` (1-based), the direction ``V`` with
    ``V_1 = (sigma_i / sigma_j) W_1 e_j e_i^T`` (column i of ``V_1`` is column j of ``W_1``,
    rescaled), ``V_h = e_i e_j^T W_h`` (row i of ``V_h`` is row j of ``W_h``) and the other
    blocks zero gives ``h(A, V) = -(sigma_i^2 - sigma_j^2) < 0`` at every point with
    ``W_{1:h} = S Sigma``. At ``A = P (A_1 + Z) P^{-1}`` with ``Z_1 e_j = 0`` it is the
    paper's ``R`` carried by the change of basis (Lemma 19: ``h(P A P^{-1}, P R P^{-1}) = h(A, R)``).

    Parameters
    ----------
    net : Network
    x : array_like
        A critical point (only ``W_{1:h} = S Sigma`` is used).
    i, j : int, optional
        The index pair; by default ``i = min(Q)`` and the largest ``j`` in S above it
        (the most negative value).
    S : iterable of int, optional
        The signature; read from x when omitted.

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((2, 2, 2, 2), sigma=[2.0, 1.0])
    >>> x = critical_point(net, {2}).x
    >>> V = negative_direction(net, x)
    >>> round(net.hessian_form(x, V), 12)     # -(sigma_1^2 - sigma_2^2)
    -3.0
    """
    _require_plain(net, "negative_direction")
    x = net._single(x)
    if net.h < 2:
        raise ValueError("net: Prop. 21 needs h >= 2 (with h = 1 there are no saddles)")
    S = _checked_signature(net, x, S)
    Q = [q for q in range(1, net.d_y + 1) if q not in S]
    if i is None and j is None:
        pairs = [(a, b) for a in Q for b in S if a < b]
        if not pairs:
            raise ValueError(f"S: Prop. 21 needs S != {{1..r}}; S = {set(S) or '{}'} has no i < j with "
                             "i not in S, j in S")
        i, j = max(pairs, key=lambda p: net.sigma[p[0] - 1] ** 2 - net.sigma[p[1] - 1] ** 2)
    elif i is None or j is None:
        raise ValueError("i, j: give both indices or neither")
    i = as_signature(net, [i], "i")[0]
    j = as_signature(net, [j], "j")[0]
    if i in S:
        raise ValueError(f"i: must not be in S = {set(S)}, got {i}")
    if j not in S:
        raise ValueError(f"j: must be in S = {set(S) or '{}'}, got {j}")
    if not i < j:
        raise ValueError(f"i, j: Prop. 21 needs i < j, got i = {i}, j = {j}")
    Ws = net.unpack(x)
    Vs = [np.zeros_like(W) for W in Ws]
    si, sj = net.sigma[i - 1], net.sigma[j - 1]
    Vs[0][:, i - 1] = (si / sj) * Ws[0][:, j - 1]
    Vs[-1][i - 1, :] = Ws[-1][j - 1, :]
    return net.pack(Vs)


def zero_direction(net, x, *, S=None) -> np.ndarray:
    """Prop. 20's direction ``V != 0`` with ``h(A, V) = 0`` at a critical point.

    With ``card(S) > 0``: ``V_1 = -W_1 Pi_S``, ``V_h = Pi_S W_h`` (``Pi_S`` keeps the
    coordinates in S; the paper's ``blk_1([-U_S^T Sigma; 0], 0, ..., [U_S 0])`` carried by the
    change of basis), the tangent of the rescaling ``W_1 -> W_1 (I - t Pi_S)``,
    ``W_h -> (I + t Pi_S) W_h`` of the learned channels: ``rho_1 = 0`` and
    ``tr(rho_2 (E - A^h)^T) = 0``. With ``S`` empty: a direction on a single layer i with
    ``W_{i+1:h} V_i W_{1:i-1} = 0`` (the paper takes columns of ``W_{1:i}`` when
    ``R(W_{1:i})`` lies in ``N(W_{i+1})``), so ``rho_1 = rho_2 = 0``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> net = Network((2, 2, 2, 2), sigma=[2.0, 1.0])
    >>> x = random_critical_point(net, {1}, rng=3).x
    >>> abs(net.hessian_form(x, zero_direction(net, x))) < 1e-12
    True
    """
    _require_plain(net, "zero_direction")
    x = net._single(x)
    S = _checked_signature(net, x, S)
    Ws = net.unpack(x)
    Vs = [np.zeros_like(W) for W in Ws]
    if S and net.h >= 2:
        idx = [s - 1 for s in S]
        Vs[0][:, idx] = -Ws[0][:, idx]
        Vs[-1][idx, :] = Ws[-1][idx, :]
        V = net.pack(Vs)
        if np.any(V):
            return V
    if net.h >= 2 and not S:
        # the paper's construction: the last i with W_{1:i} != 0 has R(W_{1:i}) in N(W_{i+1})
        prod = None
        last = None
        for k in range(net.h - 1):
            prod = Ws[0] if k == 0 else Ws[k] @ prod
            if np.any(prod):
                last = (k, prod)
        if last is not None:
            k, prod = last
            c = int(np.argmax(np.linalg.norm(prod, axis=0)))
            Vs[k][:, 0] = prod[:, c] / np.linalg.norm(prod[:, c])
            return net.pack(Vs)
    # any single-layer direction in the kernel of V_k -> W_{k+1:h} V_k W_{1:k-1}
    K = _product_differential(net, x)
    offs = net.param_offsets
    for k in range(net.h):
        N = _null_basis(K[:, offs[k]:offs[k + 1]])
        if N.shape[1]:
            V = np.zeros(net.n_params)
            V[offs[k]:offs[k + 1]] = N[:, 0]
            return V
    raise ValueError("x: no zero direction found (is x a critical point of a network with h >= 2?)")


# ----------------------------------------------------------------------- classification
@dataclasses.dataclass
class Classification(_Result):
    """What kind of point x is, by theory (Props. 14, 18, 21, 23) and by the Hessian.

    Attributes
    ----------
    is_critical : bool
        ``relative_gradient <= tol`` and ``W_{1:h}`` within ``signature_tol`` of some ``S Sigma``.
    signature : tuple or None
        S read from ``A^h = blk_h(S Sigma)`` (None for a regular point).
    critical_value : float or None
        (31).
    kind : str
        One of ``KINDS``: the theoretical kind when the theory decides it, otherwise the
        Hessian's verdict.
    theory_kind, theory_reason : str or None, str
        The kind from the propositions (None when the sufficient conditions do not decide:
        ``S = {1..r}`` not tightened by the sufficient condition and a rank-deficient middle
        product) and why.
    numerical_kind : str or None
        From the Hessian: strict iff an eigenvalue is below ``-eig_tol``.
    consistent : bool or None
        ``theory_kind == numerical_kind`` (None when either is missing).
    tightened : bool or None
        The Section 4.4 sufficient condition: at least three blocks ``W_i`` of rank exactly
        ``r = card(S)`` (all blocks have rank ``>= r`` at a critical point).
    block_ranks : tuple of int
        Numerical ranks of ``W_1..W_h`` (singular values above ``max(sqrt(tol), 1e-10)``
        times the largest singular value of all blocks).
    gradient_norm, relative_gradient, signature_residual : float
    n_negative, n_zero, n_positive : int or None
        Hessian eigenvalue counts (dense method only).
    min_eigenvalue : float
        Smallest Hessian eigenvalue.
    eig_tol : float
        Absolute threshold for zero Hessian eigenvalues.
    negative_direction : ndarray or None
        A direction V with ``h(A, V) < 0`` when strict: Prop. 21's construction when
        ``S != {1..r}``, otherwise the Hessian eigenvector of the smallest eigenvalue.
    negative_curvature : float or None
        ``h(A, V)`` (eq. 22) along it (``-(sigma_i^2 - sigma_j^2)`` for Prop. 21).
    negative_direction_source : str or None
    zero_directions : ndarray
        Shape ``(m, n_params)``: Prop. 20's direction(s) with ``h(A, V) = 0``.
    n_unstable_arcs, n_stable_arcs : int or None
        Theorem 24.3.
    notes : list of str
    """

    is_critical: bool
    signature: tuple | None
    critical_value: float | None
    kind: str
    theory_kind: str | None
    theory_reason: str
    numerical_kind: str | None
    consistent: bool | None
    tightened: bool | None
    block_ranks: tuple
    gradient_norm: float
    relative_gradient: float
    signature_residual: float
    n_negative: int | None
    n_zero: int | None
    n_positive: int | None
    min_eigenvalue: float
    eig_tol: float
    negative_direction: np.ndarray | None
    negative_curvature: float | None
    negative_direction_source: str | None
    zero_directions: np.ndarray
    n_unstable_arcs: int | None
    n_stable_arcs: int | None
    tol: float
    notes: list = dataclasses.field(default_factory=list)

    _vector_fields = ("negative_direction", "zero_directions")


def _block_ranks(Ws, rtol):
    svs = [np.linalg.svd(W, compute_uv=False) if W.size else np.zeros(0) for W in Ws]
    smax = max((s[0] for s in svs if s.size), default=0.0)
    if smax == 0.0:
        return tuple(0 for _ in Ws)
    return tuple(int(np.sum(s > rtol * smax)) for s in svs)


def classify(net, x, tol: float = 1e-6, *, eig_tol=None, signature_tol=None, method="auto") -> Classification:
    """Classify x: regular point, global minimum, strict or non-strict saddle.

    Parameters
    ----------
    net : Network
        ``gamma = 0`` and no mask (Section 4).
    x : array_like, shape (n_params,)
    tol : float
        Relative criticality tolerance: x is critical when
        ``relative_gradient(net, x) <= tol`` (the gradient norm divided by the size its
        terms ``W_{j+1:h}^T (Sigma - W_{1:h}) W_{1:j-1}^T`` can have at x, see
        :func:`dlnsys.spectra.relative_gradient`) and ``W_{1:h}`` is within
        ``signature_tol`` of some ``S Sigma``.
    eig_tol : float, optional
        Relative threshold for zero Hessian eigenvalues, scaled by
        ``max(|lambda|_max, sigma_1^(2-2/h))``. Default ``max(1e-8, 10 * relative_gradient)``:
        at a point critical only to within its relative gradient, the zero eigenvalues are
        perturbed by about that much.
    signature_tol : float, optional
        Relative tolerance on ``||W_{1:h} - S Sigma||_F / ||Sigma||_F``; default ``sqrt(tol)``.
    method : {"auto", "dense", "lanczos"}
        Hessian eigenvalues: dense (all, with counts) up to ``DENSE_MAX`` parameters,
        otherwise Lanczos for the smallest ones (no counts).

    Returns
    -------
    Classification

    Examples
    --------
    The origin of (62) is a strict saddle, that of (65) a non-strict one:

    >>> import numpy as np
    >>> from dlnsys import Network
    >>> c = classify(Network((1, 1, 1), sigma=[1.0]), np.zeros(2))
    >>> c.kind, c.signature, c.n_negative, c.n_unstable_arcs, c.n_stable_arcs
    ('strict saddle', (), 1, 1, 0)
    >>> c = classify(Network((1, 1, 1, 1), sigma=[1.0]), np.zeros(3))
    >>> c.kind, c.tightened, c.n_zero
    ('non-strict saddle', True, 3)
    >>> classify(Network((1, 1, 1), sigma=[1.0]), [1.0, 0.5]).kind
    'regular point'
    """
    _require_plain(net, "classify")
    x = net._single(x)
    for name, val in (("tol", tol), ("eig_tol", eig_tol), ("signature_tol", signature_tol)):
        if val is None and name != "tol":
            continue
        if isinstance(val, bool) or not isinstance(val, (numbers.Real, np.floating)) \
                or not np.isfinite(val) or val < 0:
            raise ValueError(f"{name}: expected a finite non-negative number, got {val!r}")
    tol = float(tol)
    notes = []
    gnorm = float(np.linalg.norm(flow.vector_field(net, x)))
    relg = relative_gradient(net, x)
    S, res = _signature_of_product(net, net.product(x))
    sig_tol = math.sqrt(tol) if signature_tol is None else float(signature_tol)
    is_critical = relg <= tol and res <= sig_tol
    if relg <= tol and res > sig_tol:
        notes.append(f"the gradient is small (relative {relg:.3g}) but W_{{1:h}} is not close to any "
                     f"S Sigma (residual {res:.3g}); treated as a regular point")
    Ws = net.unpack(x)
    ranks = _block_ranks(Ws, max(math.sqrt(tol), 1e-10))

    # numerical: Hessian eigenvalues (Jacobian = -Hessian)
    etol = max(1e-8, 10.0 * relg) if eig_tol is None else float(eig_tol)
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"method: expected 'auto', 'dense' or 'lanczos', got {method!r}")
    use_dense = method == "dense" or (method == "auto" and net.n_params <= DENSE_MAX)
    if use_dense:
        sp = spectrum(net, x, tol=etol, method="dense")
    else:
        sp = spectrum(net, x, k=min(6, net.n_params), which="largest", tol=etol, method="lanczos")
        notes.append("Lanczos: only the smallest Hessian eigenvalues were computed (no counts)")
    hess = -sp.eigenvalues[::-1]
    vecs = None if sp.eigenvectors is None else sp.eigenvectors[:, ::-1]
    min_eig = float(hess[0]) if hess.size else 0.0
    abs_tol = sp.zero_tol
    has_negative = min_eig < -abs_tol
    n_neg = sp.n_positive
    n_zero = sp.n_zero
    n_pos = sp.n_negative

    sig = crit_val = theory = numerical = consistent = tightened = None
    reason = "not a critical point"
    neg_dir = neg_curv = neg_src = None
    zero_dirs = np.zeros((0, net.n_params))
    n_unst = n_stab = None
    if is_critical:
        sig = S
        crit_val = critical_value(net, S)
        r = len(S)
        G = global_minimum_signature(net)
        tightened = bool(net.h >= 3 and sum(rk == r for rk in ranks) >= 3 and all(rk >= r for rk in ranks))
        if S == G:
            theory = "global minimum"
            reason = ("Section 7: reduced global minimum {1..d_min} of a bottleneck network" if net.is_bottleneck
                      else "Prop. 14.2(a): rank(A^h) = d_y")
        elif S != tuple(range(1, r + 1)):
            theory = "strict saddle"
            reason = "Props. 18.2(a), 21: S != {1..r}"
        elif tightened:
            theory = "non-strict saddle"
            reason = ("Props. 18.2(b)ii, 23: S = {1..r} and tightened (sufficient condition: at least "
                      "three blocks of rank r)")
        else:
            mid = np.eye(net.dims[1])
            for W in Ws[1:-1]:
                mid = W @ mid
            p = min(net.dims[1:-1])
            if net.h >= 2 and np.linalg.matrix_rank(mid) == p:
                theory = "strict saddle"
                reason = (f"S = {{1..r}} with rank(W_{{h-1}} ... W_2) = {p}, the smallest hidden width: every "
                          "saddle is strict ([24] Kawaguchi 2016, Thm. 2.3(iv); for h = 2 all saddles)")
            else:
                theory = None
                reason = ("S = {1..r} but neither the sufficient condition for tightened points (Prop. 23) "
                          "nor full rank of the middle product holds: the theory cited here does not "
                          "decide; the Hessian does")
        if S == G:
            numerical = "global minimum" if not has_negative else "strict saddle"
        else:
            numerical = "strict saddle" if has_negative else "non-strict saddle"
        consistent = None if theory is None else theory == numerical
        if consistent is False:
            notes.append(f"theory ({reason}) says {theory!r} but the Hessian says {numerical!r} "
                         f"(smallest eigenvalue {min_eig:.3g}, zero threshold {abs_tol:.3g})")
        kind = theory if theory is not None else numerical
        n_unst, n_stab = arc_counts(net, S)
        if kind == "strict saddle":
            if net.h >= 2 and S != tuple(range(1, r + 1)):
                neg_dir = negative_direction(net, x, S=S)
                neg_curv = float(flow.hessian_form(net, x, neg_dir))
                Q = [q for q in range(1, net.d_y + 1) if q not in S]
                pairs = [(a, b) for a in Q for b in S if a < b]
                i, j = max(pairs, key=lambda pr: net.sigma[pr[0] - 1] ** 2 - net.sigma[pr[1] - 1] ** 2)
                neg_src = f"Prop. 21 with (i, j) = ({i}, {j})"
            elif has_negative and vecs is not None:
                neg_dir = vecs[:, 0].copy()
                neg_curv = float(flow.hessian_form(net, x, neg_dir))
                neg_src = "Hessian eigenvector of the smallest eigenvalue"
        if net.h >= 2:
            zero_dirs = zero_direction(net, x, S=S)[None, :]
    else:
        kind = "regular point"
        if has_negative and vecs is not None:
            notes.append("not critical: the Hessian's negative eigenvalues say nothing about a saddle here")
    return Classification(
        is_critical=bool(is_critical), signature=sig, critical_value=crit_val, kind=kind,
        theory_kind=theory, theory_reason=reason, numerical_kind=numerical, consistent=consistent,
        tightened=tightened, block_ranks=ranks, gradient_norm=gnorm, relative_gradient=float(relg),
        signature_residual=res, n_negative=n_neg, n_zero=n_zero, n_positive=n_pos,
        min_eigenvalue=min_eig, eig_tol=abs_tol, negative_direction=neg_dir,
        negative_curvature=neg_curv, negative_direction_source=neg_src, zero_directions=zero_dirs,
        n_unstable_arcs=n_unst, n_stable_arcs=n_stab, tol=tol, notes=notes)

