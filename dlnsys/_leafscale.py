"""Matrix-free leaf analysis of the global minima for large networks (n_params > 5,000).

Nothing of size ``n_params^2`` or ``n_laws x n_params`` is formed: the differential of the
product ``K = d W_(1:h)`` and of the laws ``DC`` are applied (and transposed) by O(h) matrix
products, and

* a point of the minima on the leaf comes from Gauss-Newton with minimum-norm steps computed by
  LSMR on ``A = [K / |Sigma|; DC / (1 + |C|)]`` (LSMR from zero converges to the minimum-norm
  least-squares solution);
* the dimension is ``n_params - rank A``: at a global minimum ``J = -K^T K``, so the kernel of J
  on the leaf tangent space ``ker DC`` is ``ker K ∩ ker DC = ker A``; ``A`` has full row rank
  ``d_x d_y + n_laws`` when the smallest eigenvalue of ``A A^T`` (Lanczos on the operator) is
  clearly positive, which certifies the dimension ``n_params - d_x d_y - n_laws``;
* the normal spectrum at a minimum is ``-s^2`` for the singular values s of ``K`` restricted to
  ``ker DC``; its most negative values are the largest eigenvalues of ``K P K^T`` with
  ``P = I - DC^T (DC DC^T)^(-1) DC`` applied by conjugate gradients; the index is 0 because
  ``J = -K^T K`` is negative semidefinite there.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from . import invariants
from .flow import _suffixes

__all__ = ["LargeOperators", "polish_minimum", "minimum_analysis"]


class LargeOperators:
    """``K v``, ``K^T u``, ``DC v``, ``DC^T u`` at one point, by matrix products."""

    def __init__(self, net, x):
        self.net = net
        self.Ws = net.unpack(np.asarray(x, dtype=float))
        h = net.h
        self.S = _suffixes(self.Ws)                                  # W_h .. W_(k+2), d_y x d_(k+1)
        P = [np.eye(net.dims[0])]                                    # prefixes W_k .. W_1
        for k in range(h - 1):
            P.append(self.Ws[k] @ P[-1])
        self.P = P
        self.tri = [invariants._triu(d) for d in net.dims[1:-1]]
        self.m_prod = net.d_y * net.d_x
        self.m_laws = net.n_conservation_laws

    def K(self, v):
        Vs = self.net.unpack(v)
        out = np.zeros((self.net.d_y, self.net.d_x))
        for k, V in enumerate(Vs):
            left = V if self.S[k] is None else self.S[k] @ V
            out += left @ self.P[k]
        return out.ravel()

    def KT(self, u):
        U = u.reshape(self.net.d_y, self.net.d_x)
        blocks = []
        for k in range(self.net.h):
            left = U if self.S[k] is None else self.S[k].T @ U
            blocks.append((left @ self.P[k].T).ravel())
        return np.concatenate(blocks)

    def DC(self, v):
        Vs = self.net.unpack(v)
        Ws = self.Ws
        parts = []
        for i, iu in enumerate(self.tri):
            M = Vs[i] @ Ws[i].T
            N = Vs[i + 1].T @ Ws[i + 1]
            D = M + M.T - N - N.T
            parts.append(D[iu])
        return np.concatenate(parts) if parts else np.zeros(0)

    def DCT(self, u):
        Ws = self.Ws
        grads = [np.zeros_like(W) for W in Ws]
        o = 0
        for i, iu in enumerate(self.tri):
            d = Ws[i].shape[0]
            U = np.zeros((d, d))
            k = len(iu[0])
            U[iu] = u[o:o + k]
            o += k
            Us = U + U.T                           # d/dW <U, W W^T> = (U + U^T) W (U upper triangular)
            grads[i] += Us @ Ws[i]
            grads[i + 1] -= Ws[i + 1] @ Us
        return np.concatenate([g.ravel() for g in grads])


def _stacked(ops, a, b):
    """The LinearOperator ``[K / a; DC / b]``."""
    from scipy.sparse.linalg import LinearOperator
    m1, m2, n = ops.m_prod, ops.m_laws, ops.net.n_params

    def mv(v):
        v = np.ravel(v)
        return np.concatenate([ops.K(v) / a, ops.DC(v) / b])

    def rmv(u):
        u = np.ravel(u)
        return ops.KT(u[:m1]) / a + ops.DCT(u[m1:]) / b

    return LinearOperator((m1 + m2, n), matvec=mv, rmatvec=rmv, dtype=float)


@dataclasses.dataclass
class Polished:
    x: np.ndarray
    residual: float
    leaf_error: float
    iterations: int
    status: str
    message: str


def polish_minimum(net, mats, x0, *, max_iter=40, max_time=120.0):
    """Gauss-Newton (LSMR minimum-norm steps) onto ``{W_(1:h) = Sigma, C(x) = C}`` from x0; status 'ok',
    'budget' or 'failed'. The acceptance bounds are those of :mod:`dlnsys.manifolds`."""
    from scipy.sparse.linalg import lsmr
    deadline = time.perf_counter() + max_time
    sn = float(np.linalg.norm(net.Sigma))
    target = np.concatenate([m[invariants._triu(m.shape[0])] for m in mats]) if mats else np.zeros(0)
    cn = 1.0 + math.sqrt(sum(float(np.sum(m * m)) for m in mats))

    def G(x):
        return np.concatenate([(net.product(x) - net.Sigma).ravel() / sn,
                               (invariants.conserved_vector(net, x) - target) / cn])

    x = np.array(x0, dtype=float)
    g = G(x)
    ng = float(np.linalg.norm(g))
    status, message, it = "failed", "", 0
    for it in range(1, max_iter + 1):
        if time.perf_counter() > deadline:
            status, message = "budget", f"time budget of {max_time:g} s reached after {it - 1} iterations"
            break
        A = _stacked(LargeOperators(net, x), sn, cn)
        step = lsmr(A, -g, atol=1e-14, btol=1e-14, maxiter=2000)[0]
        t = 1.0
        while True:
            xn = x + t * step
            gn = G(xn)
            ngn = float(np.linalg.norm(gn))
            if ngn < (1 - 1e-4 * t) * ng or t < 1e-6:
                break
            t *= 0.5
        if not ngn < ng:
            break
        x, g, prev, ng = xn, gn, ng, ngn
        if ng <= 1e-15 or (ng < 1e-13 and ng > 0.5 * prev):
            break
    f = float(np.linalg.norm(net.vector_field(x)))
    leaf_err = math.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(invariants.conserved(net, x), mats)))
    ok = f <= 1e-10 * sn and leaf_err <= 1e-10 * cn
    if ok:
        status, message = "ok", ""
    elif status != "budget":
        message = f"Gauss-Newton stopped at ||G|| = {ng:.3g} after {it} iterations"
    return Polished(x=x, residual=f, leaf_error=leaf_err, iterations=it, status=status, message=message)


@dataclasses.dataclass
class LargeAnalysis:
    dimension: int | None
    certified: bool
    smallest_gram_eigenvalue: float
    largest_gram_eigenvalue: float
    normal_eigenvalues: np.ndarray
    index: int
    seconds: dict
    status: str
    message: str


def minimum_analysis(net, x, *, k=6, max_time=300.0):
    """Dimension (certified), index and the k most negative normal eigenvalues at a global minimum x."""
    from scipy.sparse.linalg import LinearOperator, cg, eigsh
    t0 = time.perf_counter()
    secs = {}
    ops = LargeOperators(net, x)
    sn = float(np.linalg.norm(net.Sigma))
    A = _stacked(ops, 1.0, 1.0)
    m = A.shape[0]
    gram = LinearOperator((m, m), matvec=lambda u: A.matvec(A.rmatvec(u)), dtype=float)
    lmax = float(eigsh(gram, k=1, which="LA", tol=1e-3, maxiter=300, return_eigenvectors=False)[0])
    status, message = "ok", ""
    # the smallest eigenvalue of A A^T by inverse iteration, each solve by conjugate gradients: Lanczos from the
    # low end stalls on this spectrum (condition ~1e5), while CG converging on a random right-hand side already
    # shows A A^T nonsingular, and the Rayleigh quotients of the iterates converge to lambda_min from above
    rng = np.random.default_rng(0)
    y = rng.standard_normal(m)
    y /= np.linalg.norm(y)
    lmin = float("nan")
    deadline = t0 + max_time / 2
    for _ in range(8):
        z, info = cg(gram, y, rtol=1e-10, maxiter=20000)
        if info != 0:
            status, message = "uncertified", ("conjugate gradients on A A^T did not converge: A may not have full row "
                                              "rank (or the budget was too small)")
            break
        new = 1.0 / float(z @ y)                         # Rayleigh quotient of (A A^T)^-1 at y, inverted
        y = z / np.linalg.norm(z)
        if np.isfinite(lmin) and abs(new - lmin) <= 1e-3 * lmin:
            lmin = new
            break
        lmin = new
        if time.perf_counter() > deadline:
            break
    secs["rank certificate"] = time.perf_counter() - t0
    certified = bool(np.isfinite(lmin) and lmin > 1e-10 * lmax)
    dim = net.n_params - m if certified else None
    if not certified and status == "ok":
        status, message = "uncertified", (f"the smallest eigenvalue of A A^T ({lmin:.3g}) is not clearly positive "
                                          f"(largest {lmax:.3g}): the rank of A is not certified")
    # normal spectrum: -s^2 of K on ker DC; the largest eigenvalues of K P K^T, P through CG on DC DC^T
    t1 = time.perf_counter()
    L = ops.m_laws
    DDt = LinearOperator((L, L), matvec=lambda u: ops.DC(ops.DCT(u)), dtype=float)

    def project(v):
        y, info = cg(DDt, ops.DC(v), rtol=1e-10, maxiter=5000)
        return v - ops.DCT(y)

    KPKt = LinearOperator((ops.m_prod, ops.m_prod), matvec=lambda u: ops.K(project(ops.KT(u))), dtype=float)
    top = np.sort(eigsh(KPKt, k=k, which="LA", tol=1e-8, maxiter=500, return_eigenvectors=False))[::-1]
    secs["normal eigenvalues"] = time.perf_counter() - t1
    secs["total"] = time.perf_counter() - t0
    if time.perf_counter() - t0 > max_time and status == "ok":
        status, message = "budget", f"over the time budget of {max_time:g} s"
    return LargeAnalysis(dimension=dim, certified=certified, smallest_gram_eigenvalue=lmin,
                         largest_gram_eigenvalue=lmax, normal_eigenvalues=-top, index=0, seconds=secs,
                         status=status, message=message)
