"""Arcs between critical points (Theorem 24, Fig. 4).

For critical points ``A_1``, ``A_2`` of signatures ``S_1``, ``S_2`` the arc ``A(alpha)`` runs in the
fibers ``phi^{-1}(Phi(alpha))`` over the segment ``Phi(alpha) = (1 - alpha) Phi_1 + alpha Phi_2``,
``Phi_i = A_i^h = blk_h(S_i Sigma)``. Since the loss only depends on ``A^h``, every such arc has

    L(A(alpha)) = 1/2 sum_{k not in S_1 or S_2} sigma_k^2
                  + 1/2 (1 - alpha)^2 sum_{k in S_2 \\ S_1} sigma_k^2 + 1/2 alpha^2 sum_{k in S_1 \\ S_2} sigma_k^2,

constant when ``S_1 = S_2``, decreasing when ``S_1`` is a proper subset of ``S_2`` (an unstable
submanifold of ``A_1``), increasing for a proper superset, and for the "mixed" case a convex
parabola with an interior minimum at ``alpha* = a / (a + b)``, ``a = sum_{S_2 \\ S_1} sigma^2``,
``b = sum_{S_1 \\ S_2} sigma^2`` (Theorem 24.4 leaves this case open; for arcs exactly in the
fibers the loss is never monotone there).

The arc built here is ``A(alpha) = P D(alpha) P^{-1}`` with ``D(alpha)`` block-shift diagonal and
0-balanced: channel ``k`` of ``S_1 | S_2`` carries ``(c_k(alpha) sigma_k)^(1/h)`` in every layer,
``c_k(alpha) = (1 - alpha) [k in S_1] + alpha [k in S_2]``. Its end points are critical
(an unlearned channel is zero in all ``h >= 2`` layers).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ._validate import as_finite_array
from .critical import _apply_P, _as_P, _require_plain, arc_counts, as_signature
from .spectra import _Result

__all__ = ["Arc", "arc", "arc_loss", "arc_relation"]


def arc_relation(net, S1, S2) -> str:
    """``"equal"``, ``"subset"`` (S1 a proper subset of S2), ``"superset"`` or ``"mixed"``.

    Examples
    --------
    >>> from dlnsys import Network
    >>> net = Network((3, 3, 3), sigma=[3.0, 2.0, 1.0])
    >>> arc_relation(net, {1}, {1, 2}), arc_relation(net, {1}, {2})
    ('subset', 'mixed')
    """
    A, B = set(as_signature(net, S1, "S1")), set(as_signature(net, S2, "S2"))
    if A == B:
        return "equal"
    if A < B:
        return "subset"
    if A > B:
        return "superset"
    return "mixed"


def arc_loss(net, S1, S2, alpha) -> np.ndarray:
    """The closed form of ``L(A(alpha))`` along any arc in the fibers (proof of Theorem 24.2)."""
    S1, S2 = as_signature(net, S1, "S1"), as_signature(net, S2, "S2")
    alpha = _as_alpha(alpha)
    c = _coefficients(net, S1, S2, alpha)
    return 0.5 * np.sum(((1.0 - c) * net.sigma) ** 2, axis=-1)


def _as_alpha(alpha):
    a = as_finite_array(alpha, "alpha")
    if a.ndim > 1:
        raise ValueError(f"alpha: expected a number or a 1-D array, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"alpha: values must lie in [0, 1], got range [{a.min()}, {a.max()}]")
    return a


def _coefficients(net, S1, S2, alpha):
    s1 = np.zeros(net.d_y)
    s2 = np.zeros(net.d_y)
    s1[[s - 1 for s in S1]] = 1.0
    s2[[s - 1 for s in S2]] = 1.0
    a = np.asarray(alpha, dtype=float)[..., None]
    return (1.0 - a) * s1 + a * s2


@dataclasses.dataclass
class Arc(_Result):
    """An arc of Theorem 24 and the loss along it.

    Attributes
    ----------
    S1, S2 : tuple
        Signatures of the end points ``A(0)`` and ``A(1)``.
    alpha : ndarray, shape (m,)
    x : ndarray, shape (m, n_params)
        ``A(alpha)`` as state vectors.
    loss : ndarray, shape (m,)
        ``L(A(alpha))`` evaluated on the states.
    loss_closed_form : ndarray, shape (m,)
        The closed form (see the module docstring).
    relation : str
        ``"equal"``, ``"subset"``, ``"superset"`` or ``"mixed"``.
    monotone : str
        From the sampled losses: ``"constant"``, ``"decreasing"``, ``"increasing"`` or
        ``"non-monotone"`` (differences below ``1e-12 * max(L)`` count as zero).
    theorem24 : str
        What Theorem 24 says for this relation.
    alpha_min : float or None
        Mixed case: the interior minimizer ``a / (a + b)`` of the closed form.
    product_error : float
        ``max_alpha ||W_{1:h}(alpha) - ((1 - alpha) S_1 + alpha S_2) Sigma||_F``: the arc lies in the fibers.
    endpoint_gradients : tuple of float
        ``||f(A(0))||``, ``||f(A(1))||`` (zero: both ends are critical points).
    n_unstable_arcs, n_stable_arcs : tuple
        Theorem 24.3 counts at ``A(0)`` and at ``A(1)``.
    """

    S1: tuple
    S2: tuple
    alpha: np.ndarray
    x: np.ndarray
    loss: np.ndarray
    loss_closed_form: np.ndarray
    relation: str
    monotone: str
    theorem24: str
    alpha_min: float | None
    product_error: float
    endpoint_gradients: tuple
    n_unstable_arcs: tuple
    n_stable_arcs: tuple

    _vector_fields = ("x",)


_THEOREM = {
    "equal": "Theorem 24.1: the arc collapses to one point of A_phi; the loss is constant",
    "subset": "Theorem 24.2: the loss decreases monotonically (unstable submanifold at A(0), stable at A(1))",
    "superset": "Theorem 24.2 (reversed): the loss increases monotonically (stable at A(0), unstable at A(1))",
    "mixed": "Theorem 24.4: nothing can be said in general",
}


def _monotonicity(loss):
    d = np.diff(loss)
    eps = 1e-12 * max(1.0, float(np.max(np.abs(loss)))) if loss.size else 0.0
    if d.size == 0 or np.all(np.abs(d) <= eps):
        return "constant"
    if np.all(d <= eps):
        return "decreasing"
    if np.all(d >= -eps):
        return "increasing"
    return "non-monotone"


def arc(net, S1, S2, alpha=None, *, P=None) -> Arc:
    """The arc ``A(alpha)`` of Theorem 24 from signature S1 (``alpha = 0``) to S2 (``alpha = 1``).

    Parameters
    ----------
    net : Network
        ``gamma = 0``, no mask, ``h >= 2``.
    S1, S2 : iterable of int
        1-based signatures; ``card(S1 | S2)`` may not exceed ``d_min`` (``Phi(alpha)`` has that rank).
    alpha : array_like, optional
        Points of ``[0, 1]``; default 101 equally spaced.
    P : list of h-1 invertible arrays, optional
        A hidden-layer change of basis applied to the whole arc (it stays in the fibers, and
        its end points stay critical).

    Returns
    -------
    Arc

    Examples
    --------
    >>> import numpy as np
    >>> from dlnsys import Network
    >>> net = Network((11, 6, 6, 6, 6, 4), sigma=[4.0, 3.0, 2.0, 1.0])
    >>> a = arc(net, {1}, {1, 2})
    >>> a.relation, a.monotone, float(a.loss[0]), float(a.loss[-1])
    ('subset', 'decreasing', 7.0, 2.5)
    >>> b = arc(net, {1, 3}, {2})
    >>> b.monotone, round(b.alpha_min, 4)
    ('non-monotone', 0.3103)
    """
    _require_plain(net, "arc")
    if net.h < 2:
        raise ValueError("net: arcs between critical points need h >= 2 (h = 1 has a single critical point)")
    S1, S2 = as_signature(net, S1, "S1"), as_signature(net, S2, "S2")
    T = sorted(set(S1) | set(S2))
    if len(T) > net.d_min:
        raise ValueError(f"S1, S2: Phi(alpha) has rank card(S1 | S2) = {len(T)} > d_min = {net.d_min}; "
                         "no arc in the fibers exists (Section 7)")
    alpha = np.linspace(0.0, 1.0, 101) if alpha is None else np.atleast_1d(_as_alpha(alpha))
    Pm = _as_P(net, P) if P is not None else None
    c = _coefficients(net, S1, S2, alpha)                       # (m, d_y)
    Tidx = [t - 1 for t in T]
    xs = np.array([_balanced_diagonal(net, T, c[n, Tidx], Pm) for n in range(alpha.size)]).reshape(
        alpha.size, net.n_params)
    loss = np.asarray(net.loss(xs), dtype=float)
    closed = arc_loss(net, S1, S2, alpha)
    targets = c * net.sigma                                      # diagonal of Phi(alpha)
    Phi = np.zeros((alpha.size, net.d_y, net.d_x))
    Phi[:, np.arange(net.d_y), np.arange(net.d_y)] = targets
    prod_err = float(np.max(np.linalg.norm(net.product(xs) - Phi, axis=(-2, -1)))) if alpha.size else 0.0
    relation = arc_relation(net, S1, S2)
    alpha_min = None
    if relation == "mixed":
        a = float(np.sum(net.sigma[[k - 1 for k in set(S2) - set(S1)]] ** 2))
        b = float(np.sum(net.sigma[[k - 1 for k in set(S1) - set(S2)]] ** 2))
        alpha_min = a / (a + b)
    f0, f1 = (float(np.linalg.norm(net.vector_field(_balanced_diagonal(net, T, np.isin(T, S).astype(float), Pm))))
              for S in (S1, S2))
    return Arc(S1=S1, S2=S2, alpha=alpha, x=xs, loss=loss, loss_closed_form=closed, relation=relation,
               monotone=_monotonicity(loss), theorem24=_THEOREM[relation], alpha_min=alpha_min,
               product_error=prod_err, endpoint_gradients=(f0, f1),
               n_unstable_arcs=(arc_counts(net, S1)[0], arc_counts(net, S2)[0]),
               n_stable_arcs=(arc_counts(net, S1)[1], arc_counts(net, S2)[1]))


def _balanced_diagonal(net, T, coef, Pm):
    """``P D P^{-1}``: channel ``T[p]`` carries ``(coef[p] sigma_T[p])^(1/h)`` in every layer."""
    h = net.h
    cols = np.array([t - 1 for t in T], dtype=int)
    w = (np.asarray(coef, dtype=float) * net.sigma[cols]) ** (1.0 / h)
    Ws = [np.zeros(s) for s in net.shapes]
    p = np.arange(len(T))
    Ws[0][p, cols] = w
    for i in range(1, h - 1):
        Ws[i][p, p] = w
    Ws[h - 1][cols, p] = w
    if Pm is not None:
        Ws = _apply_P(net, Ws, Pm)
    return net.pack(Ws)
