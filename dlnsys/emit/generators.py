"""Generators: networks, reductions, paper examples and continuation problems as :class:`OdeSpec`.

Every generator returns a validated :class:`~dlnsys.emit.spec.OdeSpec`. Text is
deterministic (floats printed with ``repr``, fixed orders, no timestamps).

Block form with shared intermediates (mirrors :func:`dlnsys.flow.vector_field`)
-----------------------------------------------------------------------------
With 1-based layers ``j = 1..h`` the flow is ``dW_j/dt = U_j^T R_j - gamma W_j`` with

* ``U_j = W_{j+1:h} = W_h ... W_{j+1}`` (``d_y x d_j``; ``U_h = I``, ``U_{h-1} = W_h``), the
  suffix products, intermediates ``u{j}_{a}_{b}`` for ``j <= h-2`` (``U_j = U_{j+1} W_{j+1}``);
* ``R_1 = Xi = Sigma - U_1 W_1`` (intermediates ``r1_{a}_{b}``) and ``R_{j+1} = R_j W_j^T``
  (``d_y x d_j``, intermediates ``r{j}_{a}_{b}``); the last layer's right-hand side is
  ``R_h = R_{h-1} W_{h-1}^T`` written directly.

Indices ``a, b`` are 1-based row and column. So the text grows with the multiply-adds of one
block-form evaluation (``metadata['multiply_adds']`` counts them), never with the number of
input-output paths.

The analytic Jacobian (``= -Hessian``, see :func:`dlnsys.flow.hessian`) uses further shared
blocks: prefix products ``P_j = W_{1:j-1}``, ``U_k^T U_j``, ``P_k P_j^T``, ``U_k^T R_j`` and
``W_{j+1:k-1}``, numbered ``jb1, jb2, ...`` (names stay within 10 characters); each entry is
``-[U_k^T U_j]_{ad} [P_k P_j^T]_{cb} + [U_k^T R_j]_{ab} [W_{j+1:k-1}]_{cd}`` (second term for
``j < k``; the upper blocks by symmetry) minus ``gam`` on the diagonal. It is attached when
``n <= JACOBIAN_MAX_VARIABLES`` (or ``jacobian=True``).
"""
from __future__ import annotations

import numpy as np

from .. import __version__
from .. import reductions
from ..network import Network
from .spec import JACOBIAN_MAX_VARIABLES, MAX_MODEL_NAME_LEN, Continuation, JacobianSpec, OdeSpec, check_identifier

__all__ = [
    "network_spec", "gd_map_spec", "chain_spec", "paper_spec", "diagonal_spec", "logistic_spec",
    "bordered_spec", "slice_basis", "chain_leaf_spec", "section61_network", "PAPER_EXAMPLES", "DEFAULT_OPTIONS",
]

#: Writer hints used when a generator is not told otherwise.
DEFAULT_OPTIONS = {"t_end": 10.0, "dt": 0.01, "rtol": 1e-10, "atol": 1e-12, "integrator": "vode"}

#: The paper's small examples: dims and a default initial state.
PAPER_EXAMPLES = {
    "62": ((1, 1, 1), (0.6, 0.3)),
    "65": ((1, 1, 1, 1), (0.5, 0.4, 0.3)),
    "66": ((1, 2, 1), (0.5, -0.2, 0.3, 0.4)),
}

#: Conserved quantities go into ``aux`` automatically up to this many laws.
CONSERVED_MAX_LAWS = 32


def _num(v) -> str:
    """A float literal (``repr``) that every target reads; negative values in parentheses."""
    s = repr(float(v))
    return f"({s})" if s.startswith("-") else s


def _pad(n):
    return len(str(n))


class _Builder:
    """Collects intermediates; symbolic matrices are nested lists of entries
    (``None`` = zero, ``'1'`` = one, otherwise a name)."""

    def __init__(self, counter_prefix=None):
        self.items = []
        self.mults = 0
        self.counter_prefix = counter_prefix

    def add(self, name, expr):
        if self.counter_prefix:                 # short names (XPPAUT reads 10 characters)
            name = f"{self.counter_prefix}{len(self.items) + 1}"
        self.items.append((name, expr))
        return name

    @staticmethod
    def product_terms(A, B, i, j):
        terms = []
        for k in range(len(B)):
            a, b = A[i][k], B[k][j]
            if a is None or b is None:
                continue
            if a == "1":
                terms.append(b)
            elif b == "1":
                terms.append(a)
            else:
                terms.append(f"{a}*{b}")
        return terms

    def count(self, terms):
        self.mults += sum(1 for t in terms if "*" in t)

    def matmul(self, A, B, prefix, inline_single=True):
        """``A @ B`` with new intermediates ``{prefix}{a}_{b}``; single names are reused."""
        out = []
        for i in range(len(A)):
            row = []
            for j in range(len(B[0])):
                terms = self.product_terms(A, B, i, j)
                self.count(terms)
                if not terms:
                    row.append(None)
                elif len(terms) == 1 and "*" not in terms[0] and inline_single:
                    row.append(terms[0])
                else:
                    row.append(self.add(f"{prefix}{i + 1}_{j + 1}", "+".join(terms)))
            out.append(row)
        return out


def _T(A):
    return [list(r) for r in zip(*A)]


def _eye(n):
    return [["1" if i == j else None for j in range(n)] for i in range(n)]


def _weights(net, names):
    mats = []
    for i, (r, c) in enumerate(net.shapes):
        o = net.param_offsets[i]
        mats.append([[names[o + a * c + b] for b in range(c)] for a in range(r)])
    return mats


def _sigma_params(sigma):
    return {f"s{j + 1}": float(v) for j, v in enumerate(sigma)}


def _check_x0(x0, n, what="x0"):
    x = np.asarray(x0, dtype=float).reshape(-1)
    if x.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what}: contains NaN or infinite values")
    return [float(v) for v in x]


def _options(options, **defaults):
    out = dict(DEFAULT_OPTIONS)
    out.update(defaults)
    if options:
        out.update(options)
    return out


def _default_state(net, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=r * c) * scale for r, c in net.shapes])
    if net.mask is not None:
        x = np.where(net.mask, x, 0.0)
    return x


def _meta(net, **extra):
    m = {
        "dims": list(net.dims), "sigma": [float(v) for v in net.sigma], "gamma": float(net.gamma),
        "h": net.h, "n_params": net.n_params, "dlnsys_version": __version__,
    }
    if net.mask is not None:
        m["mask"] = [int(v) for v in net.mask]
    m.update(extra)
    return m


def _sum(terms):
    """Join signed terms (``'+t'`` or ``'-t'``) into an expression without a leading '+'."""
    s = "".join(terms)
    return s[1:] if s.startswith("+") else s


def _block_flow(net, names, b, gam):
    """Intermediates into ``b``; returns (rhs list, [R_1 .. R_{h-1}] (at least R_1), W, U)."""
    h = net.h
    W = _weights(net, names)
    d_y = net.d_y
    # suffixes U_j = W_{j+1:h}, j = 1..h (list index j-1)
    U = [None] * h
    U[h - 1] = _eye(d_y)
    if h >= 2:
        U[h - 2] = W[h - 1]
    for j in range(h - 2, 0, -1):                 # U_j = U_{j+1} W_{j+1}, j = h-2 .. 1
        U[j - 1] = b.matmul(U[j], W[j], f"u{j}_")
    # R_1 = Xi = Sigma - U_1 W_1
    R1 = []
    for a in range(d_y):
        row = []
        for c in range(net.d_x):
            terms = b.product_terms(U[0], W[0], a, c)
            b.count(terms)
            expr = (f"s{a + 1}" if a == c else "") + "".join("-" + t for t in terms)
            row.append(b.add(f"r1_{a + 1}_{c + 1}", expr) if expr else None)
        R1.append(row)
    Rs = [R1]
    rhs_blocks = []
    R = R1
    for j in range(1, h + 1):                    # layer j: dW_j/dt = U_j^T R_j
        if j == h:
            rhs_blocks.append(R)
            break
        UT = _T(U[j - 1])
        rhs_blocks.append([[_sum(["+" + t for t in terms]) if terms else None
                            for terms in (b.product_terms(UT, R, a, c) for c in range(len(R[0])))]
                           for a in range(len(UT))])
        for row in rhs_blocks[-1]:
            b.mults += sum(e.count("*") for e in row if e)
        WT = _T(W[j - 1])
        if j + 1 == h:                            # the last layer's R_h goes straight into its rhs
            R = [[_sum(["+" + t for t in terms]) if terms else None
                  for terms in (b.product_terms(R, WT, a, c) for c in range(len(WT[0])))]
                 for a in range(len(R))]
            for row in R:
                b.mults += sum(e.count("*") for e in row if e)
        else:
            R = b.matmul(R, WT, f"r{j + 1}_")
            Rs.append(R)
    rhs = [e for block in rhs_blocks for row in block for e in row]
    out = []
    for i, e in enumerate(rhs):
        e = e if e is not None else "0"
        if gam:
            e = f"{e}-gam*{names[i]}" if e != "0" else f"-gam*{names[i]}"
        if net.mask is not None and not net.mask[i]:
            e = "0"
        out.append(e)
    return out, Rs, W, U


def _loss_aux(net, names, R1, b, gam):
    sq = [f"{e}**2" for row in R1 for e in row if e is not None]
    loss = f"0.5*({'+'.join(sq)})" if sq else "0"
    if gam:
        # long weight sums go into one intermediate per layer (short lines for XPPAUT)
        parts = []
        for i in range(net.h):
            o0, o1 = net.param_offsets[i], net.param_offsets[i + 1]
            parts.append(b.add(f"nw{i + 1}", "+".join(f"{v}**2" for v in names[o0:o1])))
        loss = f"{loss}+0.5*gam*({'+'.join(parts)})"
    return loss


def _conserved_aux(net, W):
    """``cq{i}_{a}_{b} = (W_i W_i^T - W_{i+1}^T W_{i+1})_{ab}``, upper triangle."""
    aux = []
    for i in range(net.h - 1):
        A, B = W[i], W[i + 1]
        m = len(A)
        for a in range(m):
            for c in range(a, m):
                pos = [f"{A[a][k]}**2" if a == c else f"{A[a][k]}*{A[c][k]}" for k in range(len(A[0]))]
                neg = [f"{B[k][a]}**2" if a == c else f"{B[k][a]}*{B[k][c]}" for k in range(len(B))]
                aux.append((f"cq{i + 1}_{a + 1}_{c + 1}", "+".join(pos) + "".join("-" + t for t in neg)))
    return aux


def _network_jacobian(net, names, W, U, Rs, b, gam, scale=None, identity=False):
    """Sparse Jacobian of the block-form flow (see the module docstring).

    ``scale``: a parameter name multiplying every flow entry (the GD map uses ``eta``);
    ``identity``: add 1 on the diagonal (the map ``x + eta f(x)``).
    """
    h, dims = net.h, net.dims
    jb = _Builder(counter_prefix="jb")
    Wd = W
    # prefix products P_j = W_{j-1} ... W_1 (d_{j-1} x d_0), j = 1..h
    P = [_eye(dims[0])]
    for j in range(2, h + 1):
        P.append(jb.matmul(Wd[j - 2], P[-1], f"p{j}_"))
    R = Rs                                    # R_j = Xi P_j^T, j = 1..h-1 (flow intermediates)
    entries = {}

    def put(row, col, pos, neg):
        terms = ["+" + t for t in pos] + ["-" + t for t in neg]
        if terms:
            entries[(row, col)] = _sum(terms)

    offs = net.param_offsets
    for k in range(1, h + 1):
        Tk = {k - 1: _eye(dims[k - 1])}               # Tk[j] = W_{k-1} ... W_{j+1}
        for j in range(k - 2, 0, -1):
            Tk[j] = Wd[j] if j == k - 2 else jb.matmul(Tk[j + 1], Wd[j], f"tb{k}_{j}_")
        for j in range(1, k + 1):
            GN = jb.matmul(_T(U[k - 1]), U[j - 1], f"ga{k}_{j}_")        # d_k x d_j
            Q = jb.matmul(P[k - 1], _T(P[j - 1]), f"qa{k}_{j}_")          # d_{k-1} x d_{j-1}
            if j < k:
                G = jb.matmul(_T(U[k - 1]), R[j - 1], f"gx{k}_{j}_")      # d_k x d_{j-1}
                T = Tk[j]
            rk, ck = dims[k], dims[k - 1]
            rj, cj = dims[j], dims[j - 1]
            for a in range(rk):
                for c in range(ck):
                    row = offs[k - 1] + a * ck + c
                    for d in range(rj):
                        for bb in range(cj):
                            col = offs[j - 1] + d * cj + bb
                            neg = []
                            pos = []
                            g, q = GN[a][d], Q[c][bb]
                            if g is not None and q is not None:
                                neg.append(g if q == "1" else q if g == "1" else f"{g}*{q}")
                            if j < k:
                                g2, t2 = G[a][bb], T[c][d]
                                if g2 is not None and t2 is not None:
                                    pos.append(g2 if t2 == "1" else t2 if g2 == "1" else f"{g2}*{t2}")
                            put(row, col, pos, neg)
                            if j < k:
                                put(col, row, pos, neg)
    n = net.n_params
    out = []
    for (i, j) in sorted(entries):
        if net.mask is not None and not net.mask[i]:
            continue
        e = entries[(i, j)]
        if i == j and gam:
            e = f"{e}-gam"
        if scale:
            e = f"{scale}*({e})"
        if identity and i == j:
            e = f"1+{e}"
        out.append((i, j, e))
    have = {(i, j) for i, j, _ in out}
    for i in range(n):
        if (i, i) in have:
            continue
        masked = net.mask is not None and not net.mask[i]
        if identity:
            e = "1" if masked or not gam else (f"1-{scale}*gam" if scale else "1-gam")
            out.append((i, i, e))
        elif gam and not masked:
            out.append((i, i, "-gam"))
    out.sort()
    return JacobianSpec(intermediates=jb.items, entries=out), jb.mults


def _want_jacobian(jacobian, n):
    if jacobian is None or jacobian == "auto":
        return n <= JACOBIAN_MAX_VARIABLES
    return bool(jacobian)


def _want_conserved(conserved, net):
    if conserved is None or conserved == "auto":
        return net.n_conservation_laws <= CONSERVED_MAX_LAWS
    return bool(conserved)


def network_spec(net: Network, x0=None, *, name="dln", jacobian=None, conserved=None, regularized=None,
                 options=None, system="network", equations=None, description=None, names=None) -> OdeSpec:
    """The full vectorized gradient flow (9) of ``net`` (regularized (25) when ``net.gamma > 0``
    or ``regularized=True``; a ``net.mask`` fixes entries: their rhs is 0).

    x0: initial state (default: seeded normal entries of scale 0.3, fixed entries 0).
    jacobian: None/'auto' (attach when ``n <= JACOBIAN_MAX_VARIABLES``), True or False.
    conserved: None/'auto' (aux outputs ``cq..`` when there are <= 32 laws), True or False.
    """
    check_identifier(name, "name", MAX_MODEL_NAME_LEN)
    if not isinstance(net, Network):
        raise ValueError(f"net: expected a dlnsys.Network, got {type(net).__name__}")
    names = list(names) if names is not None else net.variable_names()
    x0 = _check_x0(_default_state(net) if x0 is None else x0, net.n_params)
    gam = bool(net.gamma) if regularized is None else bool(regularized)
    params = _sigma_params(net.sigma)
    if gam:
        params["gam"] = float(net.gamma)
    b = _Builder()
    rhs, Rs, W, U = _block_flow(net, names, b, gam)
    aux = [("loss", _loss_aux(net, names, Rs[0], b, gam))]
    if _want_conserved(conserved, net):
        aux += _conserved_aux(net, W)
    jac = None
    jmults = 0
    if _want_jacobian(jacobian, net.n_params):
        jac, jmults = _network_jacobian(net, names, W, U, Rs, b, gam)
    eqs = equations or (["9", "25"] if gam else ["9"])
    meta = _meta(net, system=system, reduction="none", equations=eqs, multiply_adds=b.mults,
                 jacobian_multiply_adds=jmults, regularized=gam,
                 conserved=[a for a, _ in aux if a.startswith("cq")])
    desc = description or (f"gradient flow of a deep linear network, dims {'-'.join(map(str, net.dims))}, "
                           f"eq. {', '.join(eqs)}")
    return OdeSpec(name=name, kind="ode", variables=names, initial=x0, parameters=params,
                   intermediates=b.items, rhs=rhs, aux=aux, jacobian=jac, metadata=meta,
                   options=_options(options), description=desc)


def gd_map_spec(net: Network, eta=0.01, x0=None, *, name="dlngd", jacobian=None, conserved=None,
                options=None) -> OdeSpec:
    """Gradient descent (67) as a map ``x(k+1) = x(k) + eta f(x(k))`` (``kind='map'``, parameter ``eta``)."""
    eta = float(eta)
    if not np.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta: step size must be a positive finite number, got {eta!r}")
    flow = network_spec(net, x0, name=name, jacobian=False, conserved=conserved)
    rhs = []
    for v, e in zip(flow.variables, flow.rhs):
        rhs.append(v if e == "0" else f"{v}+eta*({e})")
    params = dict(flow.parameters)
    params["eta"] = eta
    jac = None
    if _want_jacobian(jacobian, net.n_params):
        b = _Builder()
        gam = "gam" in params
        names = flow.variables
        _, Rs, W, U = _block_flow(net, names, b, gam)
        jac, _ = _network_jacobian(net, names, W, U, Rs, b, gam, scale="eta", identity=True)
    meta = dict(flow.metadata, system="gd-map", equations=["67"], eta=eta)
    return OdeSpec(name=name, kind="map", variables=flow.variables, initial=flow.initial, parameters=params,
                   intermediates=flow.intermediates, rhs=rhs, aux=flow.aux, jacobian=jac, metadata=meta,
                   options=_options(options, t_end=1000.0, dt=1.0),
                   description=f"gradient descent map (67) with step eta, dims {'-'.join(map(str, net.dims))}")


def chain_spec(depth, sigma=1.0, x0=None, *, gamma=0.0, name=None, **kw) -> OdeSpec:
    """A scalar chain of ``depth`` weights (the network with dims ``(1,)*(depth+1)``)."""
    net = reductions.chain_network(depth, [float(np.asarray(sigma).reshape(-1)[0])], gamma)
    if x0 is None:
        x0 = [round(0.5 - 0.1 * (i % 4), 2) for i in range(net.h)]
    return network_spec(net, x0, name=name or f"chain{net.h}", system="chain", **kw)


def paper_spec(example, sigma=1.0, x0=None, *, name=None, **kw) -> OdeSpec:
    """The paper's examples (62), (65), (66) with its names ``w1, w2, ...``."""
    key = str(example).replace("paper-", "").strip("()")
    if key not in PAPER_EXAMPLES:
        raise ValueError(f"example: expected one of {', '.join(PAPER_EXAMPLES)}, got {example!r}")
    dims, default_x0 = PAPER_EXAMPLES[key]
    net = Network(dims, [float(np.asarray(sigma).reshape(-1)[0])], gamma=kw.pop("gamma", 0.0))
    return network_spec(net, default_x0 if x0 is None else x0, name=name or f"paper{key}",
                        system=f"paper-{key}", equations=[key], **kw)


def section61_network(sigma=(7.0, 5.5, 4.0, 2.5), gamma=0.0):
    """The Section 6.1 network: dims (11, 6, 6, 6, 6, 4), 198 weights, 84 conservation laws."""
    return Network((11, 6, 6, 6, 6, 4), sigma, gamma=gamma)


# ---------------------------------------------------------------- reductions
def diagonal_spec(sigma, h, xi0=None, *, gamma=0.0, regularized=None, name=None, jacobian=None,
                  options=None) -> OdeSpec:
    """The diagonal reduction (55): ``xi_{i,j}`` layer-major as ``xi01, xi02, ...``.

    Intermediates: per channel j the prefix products ``xa{i}_{j} = xi_{1,j}...xi_{i,j}`` and
    suffix products ``xb{i}_{j} = xi_{i,j}...xi_{h,j}`` and the residual ``res{j} = s_j - hat xi_j`` (not ``e{j}``: PyDSTool reads ``e1`` as a number),
    so ``bar xi_{i,j} = xa{i-1}_{j} * xb{i+1}_{j}`` costs O(h) per channel.
    """
    s = [float(v) for v in np.asarray(sigma, dtype=float).reshape(-1)]
    net = Network((len(s),) * (int(h) + 1), s, gamma=gamma)   # validates sigma, h and gamma
    h, d = net.h, net.d_y
    w = _pad(h * d)
    names = [f"xi{k:0{w}d}" for k in range(1, h * d + 1)]
    gam = bool(net.gamma) if regularized is None else bool(regularized)
    if xi0 is None:
        xi0 = [round(0.2 + 0.05 * ((k * 7) % 5), 2) for k in range(h * d)]
    xi0 = _check_x0(xi0, h * d, "xi0")
    params = _sigma_params(s)
    if gam:
        params["gam"] = float(net.gamma)
    X = [[names[i * d + j] for j in range(d)] for i in range(h)]
    b = _Builder()
    rhs = [None] * (h * d)
    for j in range(d):
        pre = [None] * h
        pre[0] = X[0][j]
        for i in range(1, h):
            pre[i] = b.add(f"xa{i + 1}_{j + 1}", f"{pre[i - 1]}*{X[i][j]}") if i < h - 1 or h == 1 else None
            b.mults += 1 if pre[i] else 0
        suf = [None] * h
        suf[h - 1] = X[h - 1][j]
        for i in range(h - 2, 0, -1):
            suf[i] = b.add(f"xb{i + 1}_{j + 1}", f"{X[i][j]}*{suf[i + 1]}")
            b.mults += 1
        hat = f"{pre[h - 2]}*{X[h - 1][j]}" if h >= 2 else X[0][j]
        b.mults += 1 if h >= 2 else 0
        e = b.add(f"res{j + 1}", f"s{j + 1}-{hat}")
        for i in range(h):
            if h == 1:
                bar = None
            elif i == 0:
                bar = suf[1]
            elif i == h - 1:
                bar = pre[h - 2]
            else:
                bar = f"{pre[i - 1]}*{suf[i + 1]}"
            expr = e if bar is None else f"{bar}*{e}"
            b.mults += expr.count("*")
            if gam:
                expr += f"-gam*{X[i][j]}"
            rhs[i * d + j] = expr
    loss = "0.5*(" + "+".join(f"res{j + 1}**2" for j in range(d)) + ")"
    if gam:
        loss += "+0.5*gam*(" + "+".join(f"{v}**2" for v in names) + ")"
    aux = [("loss", loss)]
    for i in range(h - 1):
        for j in range(d):
            aux.append((f"cq{i + 1}_{j + 1}", f"{X[i][j]}**2-{X[i + 1][j]}**2"))
    jac = None
    if _want_jacobian(jacobian, h * d):
        # dense per channel: d f_{i,j} / d xi_{k,j} = bar_ij bar_kj (i==k: -bar^2) - e_j * prod_{l != i,k}
        ents = []
        for j in range(d):
            for i in range(h):
                for k in range(h):
                    others_i = [X[l][j] for l in range(h) if l != i]
                    others_ik = [X[l][j] for l in range(h) if l not in (i, k)]
                    bar_i = "*".join(others_i) if others_i else "1"
                    bar_k = "*".join(X[l][j] for l in range(h) if l != k) or "1"
                    if i == k:
                        e_ = f"-({bar_i})**2" if len(others_i) > 1 else f"-{bar_i}**2"
                        if gam:
                            e_ += "-gam"
                    else:
                        prod_ik = "*".join(others_ik) if others_ik else "1"
                        e_ = f"res{j + 1}*{prod_ik}-{bar_i}*{bar_k}"
                    ents.append((i * d + j, k * d + j, e_))
        ents.sort()
        jac = JacobianSpec([], ents)
    meta = {"sigma": s, "gamma": float(net.gamma), "h": h, "d_y": d, "system": "reduction",
            "reduction": "diagonal", "equations": ["55"] + (["25"] if gam else []), "dlnsys_version": __version__,
            "multiply_adds": b.mults, "regularized": gam, "state_order": "layer-major xi_(i,j), i = layer, j = channel"}
    return OdeSpec(name=name or f"diag{d}h{h}", kind="ode", variables=names, initial=xi0, parameters=params,
                   intermediates=b.items, rhs=rhs, aux=aux, jacobian=jac, metadata=meta, options=_options(options),
                   description=f"diagonal reduction (55) with d_y {d} and h {h}")


def logistic_spec(sigma, h, z0=None, *, gamma=0.0, regularized=None, name=None, continuation=None,
                  parameter_range=None, options=None) -> OdeSpec:
    """The 0-balanced logistic reduction (61): ``z_j' = z_j^{h-1}(s_j - z_j^h) [- gam z_j]``, one
    equation per channel (``z1, z2, ...``).

    continuation: None or ``'gam'`` (the regularized logistic in gamma, starting on the nonzero
    branch ``z_j > 0`` at the given gamma) or ``'s1'``...; ``parameter_range`` defaults to
    ``(0, 1.5 * max feature)``. For h = 2 the branch meets ``z = 0`` at ``gam = s_j`` (branch
    point); for h >= 3 it turns at the fold ``reductions.logistic_fold`` (recorded in
    ``metadata['expected']``).
    """
    s = [float(v) for v in np.asarray(sigma, dtype=float).reshape(-1)]
    net = Network((len(s),) * (int(h) + 1), s, gamma=gamma)
    h, d = net.h, net.d_y
    gam = bool(net.gamma) if regularized is None else bool(regularized)
    if continuation == "gam":
        gam = True
    w = _pad(d)
    names = [f"z{j:0{w}d}" for j in range(1, d + 1)]
    params = _sigma_params(s)
    if gam:
        params["gam"] = float(net.gamma)
    if z0 is None:
        if continuation is not None:
            z0 = []
            for sj in s:
                eq = reductions.logistic_equilibria(sj, h, net.gamma)
                pos = eq[eq > 0]
                if pos.size == 0:
                    raise ValueError(f"gamma: no nonzero equilibrium to start the continuation at gamma {net.gamma!r}")
                z0.append(float(pos.max()))
        else:
            z0 = [0.1] * d
    z0 = _check_x0(z0, d, "z0")
    rhs = []
    mults = 0
    for j, z in enumerate(names):
        pw = (lambda k: z if k == 1 else f"{z}**{k}")
        e = f"{pw(h - 1)}*(s{j + 1}-{pw(h)})" if h > 1 else f"s{j + 1}-{z}"
        mults += 2 * h - 1
        if gam:
            e += f"-gam*{z}"
        rhs.append(e)
    loss = "0.5*(" + "+".join(f"(s{j + 1}-{z if h == 1 else f'{z}**{h}'})**2" for j, z in enumerate(names)) + ")"
    if gam:
        loss += f"+0.5*gam*{float(h)!r}*(" + "+".join(f"{z}**2" for z in names) + ")"
    jac_ents = []
    for j, z in enumerate(names):
        # d/dz [z^{h-1} s - z^{2h-1} - gam z] = (h-1) s z^{h-2} - (2h-1) z^{2h-2} - gam
        parts = []
        if h >= 2:
            parts.append(f"{float(h - 1)!r}*s{j + 1}" + ("" if h == 2 else f"*{z}" if h == 3 else f"*{z}**{h - 2}"))
        parts.append(f"{float(2 * h - 1)!r}*{z}**{2 * h - 2}" if h > 1 else "1.0")
        e = parts[0] + "-" + parts[1] if h >= 2 else "-1.0"
        if gam:
            e += "-gam"
        jac_ents.append((j, j, e))
    meta = {"sigma": s, "gamma": float(net.gamma), "h": h, "d_y": d, "system": "reduction",
            "reduction": "logistic", "equations": ["61"] + (["25"] if gam else []), "dlnsys_version": __version__,
            "multiply_adds": mults, "regularized": gam}
    cont = None
    if continuation is not None:
        if continuation not in params:
            raise ValueError(f"continuation: {continuation!r} is not a parameter ({', '.join(params)})")
        if continuation == "gam":
            expected = []
            for sj in s:
                if h == 2:
                    expected.append({"type": "branch_point", "gam": sj})
                elif h >= 3:
                    g, zf = reductions.logistic_fold(sj, h)
                    expected.append({"type": "fold", "gam": g, "z": zf})
            meta["expected"] = expected
            hi = max(e["gam"] for e in expected) * 1.5 if expected else 1.0
            rng = parameter_range or (-0.1 * hi, hi)
        else:
            rng = parameter_range or (0.0, 2.0 * max(s))
        cont = Continuation(parameter=continuation, form="leaf-reduced", extra_unknowns=[],
                            parameter_range=tuple(float(v) for v in rng), step=0.01, max_steps=1000)
    return OdeSpec(name=name or (f"logreg{h}" if gam else f"logistic{h}"), kind="ode", variables=names,
                   initial=z0, parameters=params, intermediates=[], rhs=rhs, aux=[("loss", loss)],
                   jacobian=JacobianSpec([], jac_ents), metadata=meta, continuation=cont,
                   options=_options(options),
                   description=f"0-balanced logistic reduction (61), h {h}" + (", regularized" if gam else ""))


# -------------------------------------------------------------- continuation
#: Relative tolerances of the slice: x_eq must satisfy ``|f(x_eq)| <= SLICE_EQ_RTOL * max(1, |M| |x_eq|)``
#: (M = [J; DC], so x_eq is within about 1e-9 |x_eq| of the equilibrium set), and singular values of M
#: below ``SLICE_RANK_RTOL * max(1, |M|)`` count as zero. Off the set by delta the tangent singular values
#: grow like delta (about |f| here), so the rank threshold sits two decades above the accepted residual.
SLICE_EQ_RTOL = 1e-9
SLICE_RANK_RTOL = 1e-7


def slice_basis(net: Network, x_eq, laws=None):
    """Orthonormal basis (columns, ``n x m``) of the tangent space at ``x_eq`` of the equilibria on its leaf.

    The kernel of ``M = [J(x_eq); DC(x_eq)]`` (J the Jacobian of the flow = -Hessian, DC the differential
    of the laws, or of the subset ``laws``), by a rank-revealing SVD: right singular vectors of singular
    values ``<= SLICE_RANK_RTOL * max(1, |M|)``. At a point of a clean (Morse-Bott) manifold of equilibria
    on the leaf this is the manifold's tangent space (see :mod:`dlnsys.manifolds`); it is empty (``m = 0``)
    at an isolated equilibrium. ``x_eq`` must be an equilibrium of the flow (``|f(x_eq)| <= SLICE_EQ_RTOL *
    max(1, |M| |x_eq|)``), else ValueError naming ``x_eq``: elsewhere the kernel means nothing.
    """
    from ..invariants import conservation_differential
    from .. import flow
    if not isinstance(net, Network):
        raise ValueError(f"net: expected a dlnsys.Network, got {type(net).__name__}")
    x_eq = np.asarray(_check_x0(x_eq, net.n_params, "x_eq"), dtype=float)
    D = conservation_differential(net, x_eq)
    if laws is not None:
        D = D[list(laws)]
    M = np.vstack([-flow.hessian(net, x_eq), D])
    _, sv, vt = np.linalg.svd(M, full_matrices=True)
    top = max(float(sv[0]) if sv.size else 0.0, 1.0)
    res = float(np.linalg.norm(net.vector_field(x_eq)))
    tol = SLICE_EQ_RTOL * max(1.0, top * float(np.linalg.norm(x_eq)))
    if not res <= tol:
        raise ValueError(f"x_eq: not an equilibrium of the flow (|f(x_eq)| = {res:.3g} > {tol:.3g}); the slice "
                         "is built at a point of the equilibrium manifold: polish x_eq first (e.g. "
                         "dlnsys.equilibria_on_leaf or dlnsys.equilibrium_manifolds)")
    rank = int(np.sum(sv > SLICE_RANK_RTOL * top))
    T = vt[rank:].T
    for j in range(T.shape[1]):                 # deterministic signs: largest entry positive
        if T[int(np.argmax(np.abs(T[:, j]))), j] < 0:
            T[:, j] = -T[:, j]
    return T


def bordered_spec(net: Network, x_eq, *, parameter="c1", name="bordered", parameter_range=None,
                  step=0.01, max_steps=500, laws=None, options=None, slice=False) -> OdeSpec:
    """Equilibria of ``net`` on the leaf through ``x_eq`` in bordered form, as an ODE.

    ``x' = f(x) + sum_k mu_k grad pi_k(x)``, ``mu_k' = pi_k(x) - c_k`` with ``pi_k`` the upper-
    triangular entries of ``C_i = W_i W_i^T - W_{i+1}^T W_{i+1}`` (or the subset ``laws``, indices
    into :func:`dlnsys.invariants.conserved_vector`) and leaf constants ``c_k`` (parameters
    ``c1, c2, ...``, the values at ``x_eq``). Multipliers are the extra variables ``xmu1, ...``
    (named to sort after the weights). At a solution ``mu = 0`` (f is orthogonal to every
    ``grad pi_k``), so the equilibria of this ODE are exactly the equilibria of the flow on the
    leaf; they are isolated when the bordered matrix ``[[J, G], [G^T, 0]]`` is nonsingular.

    Stability caveat: that matrix is symmetric and indefinite, so each equilibrium has as many
    positive eigenvalues as there are laws (for (62): ``+-2 sqrt(w1^2 + w2^2)`` and the leaf
    eigenvalue ``-(sigma^2 + w1^4)/w1^2``). The equilibria are hyperbolic saddles of the
    bordered ODE: fit for continuation (no spurious folds or Hopf points), not for integration;
    their stability *on the leaf* is the sign of the remaining eigenvalues.

    ``slice=True``: when the equilibria are not isolated on the leaf (a manifold E of dimension m through
    ``x_eq``, e.g. the curves of global minima of ``Network([2, 2, 1])`` on a generic leaf), the bordered
    matrix is singular and AUTO or PyCont report folds and branch points that do not exist. The slice is
    the affine plane through ``x_eq`` normal to E: with an orthonormal basis ``T = [t_1..t_m]`` of
    ``ker M``, ``M = [J(x_eq); D(x_eq)]`` (:func:`slice_basis`; ``D`` = the rows ``grad pi_k``), it adds m
    unknowns ``xnu1, ...`` and the phase conditions ``T^T (x - x_eq) = 0``::

        x' = f(x) + sum_k mu_k grad pi_k(x) + sum_j nu_j t_j,   mu_k' = pi_k(x) - c_k,   nu_j' = t_j . (x - x_eq)

    * Isolated start. ``(x_eq, 0, 0)`` is a solution; its Jacobian is ``[[J, D^T, T], [D, 0, 0], [T^T, 0, 0]]``
      (mu = 0). The laws are conserved, ``D(x) f(x) = 0`` for all x; differentiated at an equilibrium this
      gives ``D J = 0`` and, J being symmetric, ``J D^T = 0``. For a kernel vector ``(v, a, b)``: ``D v = 0``,
      ``T^T v = 0``, ``J v + D^T a + T b = 0``. Times D: ``D D^T a = 0``, so ``a = 0`` (D has full row rank,
      checked); times ``T^T``: ``b = 0`` (``J T = 0``, ``D T = 0``); then ``v`` is in ``ker M = span T`` and
      orthogonal to it: ``v = 0``. So the augmented equilibrium is isolated (and followed by the implicit
      function theorem) whatever the manifold looks like, because T is the whole kernel of M.
    * ``nu = 0`` (and ``mu = 0``) at the solutions. When E is clean (Morse-Bott: ``ker M`` is its tangent
      space, as for the global minima ``W_{1:h} = Sigma`` meeting the leaf transversally) it persists for
      nearby parameter values and meets the slice at one point ``x_p`` near ``x_eq``; ``(x_p, 0, 0)`` solves the
      augmented system, so by uniqueness it is the continued solution: an equilibrium of the flow on the
      leaf, in the slice, with ``nu = mu = 0``. (In general a solution is a critical point of the loss on
      leaf-and-slice with Lagrange multipliers ``(mu, nu)``; ``nu != 0`` along a branch says the equilibria
      stopped being a manifold of dimension m there, so read nu and mu as checks.)

    The numbers of T and ``t_j . x_eq`` are written into the equations (17 significant digits; no extra
    parameters, so XPPAUT's parameter limit is untouched and long lines are split by the writers);
    ``metadata['slice']`` has the reference point, the dimension m and the tangents. ``x_eq`` must then be
    an equilibrium (ValueError naming ``x_eq`` otherwise, see :func:`slice_basis`). With m = 0 (an isolated
    equilibrium) nothing is added.
    """
    from ..invariants import conservation_differential, conserved_vector
    x_eq = np.asarray(_check_x0(x_eq, net.n_params, "x_eq"))
    if net.mask is not None:
        raise ValueError("net: bordered continuation with a mask is not supported")
    n_all = net.n_conservation_laws
    if n_all == 0:
        raise ValueError("net: a single layer has no conservation laws; use network_spec")
    laws = list(range(n_all)) if laws is None else [int(k) for k in laws]
    if any(not 0 <= k < n_all for k in laws) or len(set(laws)) != len(laws):
        raise ValueError(f"laws: expected distinct indices in 0..{n_all - 1}")
    D = conservation_differential(net, x_eq)[laws]
    if np.linalg.matrix_rank(D) < len(laws):
        raise ValueError(
            f"laws: the {len(laws)} conservation laws are not independent at x_eq (rank "
            f"{np.linalg.matrix_rank(D)}); pass an independent subset (laws=...) or use a leaf-reduced form")
    names = net.variable_names()
    base = network_spec(net, x_eq, name=name, jacobian=False, conserved=True)
    cvals = conserved_vector(net, x_eq)[laws]
    K = len(laws)
    wm = _pad(K)
    mus = [f"xmu{k:0{wm}d}" for k in range(1, K + 1)]
    params = dict(base.parameters)
    for k in range(K):
        params[f"c{k + 1}"] = float(cvals[k])
    law_aux = [e for nm, e in base.aux if nm.startswith("cq")]
    law_exprs = [law_aux[k] for k in laws]
    # gradients of pi_k: C_i[a,c] = sum_m W_i[a,m] W_i[c,m] - sum_m W_{i+1}[m,a] W_{i+1}[m,c]
    W = _weights(net, names)
    grad_terms = [[] for _ in range(net.n_params)]
    flat = []
    for i in range(net.h - 1):
        m = net.dims[i + 1]
        for a in range(m):
            for c in range(a, m):
                flat.append((i, a, c))
    for kk, k in enumerate(laws):
        i, a, c = flat[k]
        mu = mus[kk]
        A, B = W[i], W[i + 1]
        oA, oB = net.param_offsets[i], net.param_offsets[i + 1]
        colsA, rowsB = len(A[0]), len(B)
        for mcol in range(colsA):          # d/dW_i[a,m] = W_i[c,m] (+ W_i[a,m] if a == c), similarly row c
            if a == c:
                grad_terms[oA + a * colsA + mcol].append(f"+2.0*{mu}*{A[a][mcol]}")
            else:
                grad_terms[oA + a * colsA + mcol].append(f"+{mu}*{A[c][mcol]}")
                grad_terms[oA + c * colsA + mcol].append(f"+{mu}*{A[a][mcol]}")
        for mrow in range(rowsB):          # d/dW_{i+1}[m,a] of -W[m,a] W[m,c]
            if a == c:
                grad_terms[oB + mrow * m + a].append(f"-2.0*{mu}*{B[mrow][a]}")
            else:
                grad_terms[oB + mrow * m + a].append(f"-{mu}*{B[mrow][c]}")
                grad_terms[oB + mrow * m + c].append(f"-{mu}*{B[mrow][a]}")
    rhs = []
    for i, e in enumerate(base.rhs):
        extra = "".join(grad_terms[i])
        rhs.append(e + extra if e != "0" else _sum([extra]) or "0")
    for kk in range(K):
        rhs.append(f"{law_exprs[kk]}-c{kk + 1}")
    nus = []
    if slice:
        T = slice_basis(net, x_eq, laws)
        m = T.shape[1]
        wn = _pad(m) if m else 1
        nus = [f"xnu{j:0{wn}d}" for j in range(1, m + 1)]
        for j in range(m):
            t = T[:, j]
            for i in range(net.n_params):
                if t[i] != 0.0:
                    rhs[i] = f"{rhs[i]}{_num_term(t[i])}*{nus[j]}"
            terms = "".join(f"{_num_term(t[i])}*{names[i]}" for i in range(net.n_params) if t[i] != 0.0)
            rhs.append(f"{terms}{_num_term(-float(t @ x_eq))}".lstrip("+") or "0")
    if parameter not in params:
        raise ValueError(f"parameter: {parameter!r} is not a parameter ({', '.join(params)})")
    v0 = params[parameter]
    if parameter_range is None:
        parameter_range = (v0 - 3.0, v0 + 3.0) if parameter.startswith("c") else (0.5 * v0 if v0 > 0 else -1.0,
                                                                                    2.0 * v0 if v0 > 0 else 1.0)
    cont = Continuation(parameter=parameter, form="bordered", extra_unknowns=mus + nus,
                        parameter_range=tuple(float(v) for v in parameter_range), step=float(step),
                        max_steps=int(max_steps))
    meta = dict(base.metadata, system="bordered", reduction="leaf-bordered",
                laws=[list(flat[k]) for k in laws], equations=["9", "63"] if net.dims == (1, 1, 1) else ["9"])
    aux = [a for a in base.aux if not a[0].startswith("cq")] + [(f"pi{k + 1}", law_exprs[k]) for k in range(K)]
    if slice:
        meta["slice"] = {"reference": [float(v) for v in x_eq], "dimension": len(nus),
                         "tangents": [[float(v) for v in T[:, j]] for j in range(T.shape[1])]}
    return OdeSpec(name=name, kind="ode", variables=names + mus + nus, initial=list(x_eq) + [0.0] * (K + len(nus)),
                   parameters=params, intermediates=base.intermediates, rhs=rhs, aux=aux, metadata=meta,
                   continuation=cont, options=_options(options),
                   description="equilibria on a conservation-law leaf, bordered form: "
                               "dx = f + sum mu_k grad pi_k, dmu_k = pi_k - c_k"
                               + (", sliced: + sum nu_j t_j, dnu_j = t_j.(x - x_ref)" if nus else ""))


def _num_term(v: float) -> str:
    """A signed numeric term, ``+0.5`` / ``-1.25e-3`` (17 significant digits: the slice is exact to rounding)."""
    return f"+{v:.17g}" if v >= 0 else f"-{-v:.17g}"


def chain_leaf_spec(depth, sigma=1.0, c=None, *, parameter="c1", name=None, parameter_range=None,
                    step=0.01, max_steps=1000, options=None) -> OdeSpec:
    """A scalar chain on the leaf ``w_i^2 - w_{i+1}^2 = c_i`` (positive branch), leaf-reduced.

    The only variable is the last weight ``w_h``; the others are intermediates
    ``w_i = sqrt(c_i + w_{i+1}^2)``; ``w_h' = (w_1 ... w_{h-1})(s1 - w_1 ... w_h)`` is the exact
    dynamics of ``w_h`` on the leaf. Its equilibrium is unique and isolated (it generalizes
    (64)); its eigenvalue is ``-pw * d(prod w)/dw_h < 0`` (``pw = w_1 ... w_{h-1}``), for (62)
    ``-(w1^2 + w2^2) = -(sigma^2 + w1^4)/w1^2``, the leaf eigenvalue of Section 6.2.1.
    Continuation in ``c1`` (default) reproduces (64); the analytic 1x1 Jacobian is attached.
    The initial value is the equilibrium at the given ``c`` (default all zeros: 0-balanced).
    """
    h = int(depth)
    if h < 2:
        raise ValueError(f"depth: a leaf needs at least two weights, got {depth!r}")
    s = float(np.asarray(sigma, dtype=float).reshape(-1)[0])
    net = reductions.chain_network(h, [s])
    c = np.zeros(h - 1) if c is None else np.asarray(c, dtype=float).reshape(-1)
    if c.shape != (h - 1,):
        raise ValueError(f"c: expected {h - 1} leaf constants, got {c.size}")
    w_eq = reductions.chain_leaf_equilibrium(s, c)
    names = net.variable_names()
    params = {"s1": s}
    for i in range(h - 1):
        params[f"c{i + 1}"] = float(c[i])
    inter = []
    for i in range(h - 2, -1, -1):
        inter.append((names[i], f"sqrt(c{i + 1}+{names[i + 1]}**2)"))
    prod_others = "*".join(names[:-1])
    inter.append(("pw", f"{prod_others}"))
    inter.append(("xi", f"s1-pw*{names[-1]}"))
    rhs = ["pw*xi"]
    # d/dw_h of pw*xi with dw_i/dw_h = w_h / w_i:  pw' = pw * sum_{i<h} w_h / w_i^2
    dpw = "pw*" + names[-1] + "*(" + "+".join(f"1/{v}**2" for v in names[:-1]) + ")"
    jac = JacobianSpec([("dpw", dpw)], [(0, 0, f"dpw*xi-pw*(dpw*{names[-1]}+pw)")])
    loss = "0.5*xi**2"
    aux = [("loss", loss)] + [(f"cq{i + 1}_1_1", f"{names[i]}**2-{names[i + 1]}**2") for i in range(h - 1)]
    aux += [(f"v{names[i]}", names[i]) for i in range(h - 1)]
    if parameter not in params:
        raise ValueError(f"parameter: {parameter!r} is not a parameter ({', '.join(params)})")
    v0 = params[parameter]
    if parameter_range is None:
        parameter_range = (v0 - 3.0, v0 + 3.0) if parameter.startswith("c") else (0.25 * v0, 4.0 * v0)
    cont = Continuation(parameter=parameter, form="leaf-reduced", extra_unknowns=[],
                        parameter_range=tuple(float(v) for v in parameter_range), step=float(step),
                        max_steps=int(max_steps))
    meta = {"dims": list(net.dims), "sigma": [s], "gamma": 0.0, "h": h, "system": "chain-leaf",
            "reduction": "leaf", "equations": ["62", "63", "64"] if h == 2 else ["9"],
            "dlnsys_version": __version__, "leaf_constants": [float(v) for v in c],
            "equilibrium": [float(v) for v in w_eq],
            "parametrization": "w_i = sqrt(c_i + w_(i+1)^2), positive branch, variable = last weight"}
    return OdeSpec(name=name or ("leaf62" if h == 2 else f"chainleaf{h}"), kind="ode", variables=[names[-1]],
                   initial=[float(w_eq[-1])], parameters=params, intermediates=inter, rhs=rhs, aux=aux,
                   jacobian=jac, metadata=meta, continuation=cont, options=_options(options),
                   description=f"scalar chain of depth {h} reduced to its leaf w_i^2 - w_(i+1)^2 = c_i")
