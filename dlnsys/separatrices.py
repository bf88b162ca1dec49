"""Separatrices, basins and the saddle-to-saddle itinerary of a trajectory.

* :func:`separatrices`: the stable and unstable manifolds of a saddle equilibrium of a small
  system (scalar chains such as (62) and (65), networks of a few weights), integrated from
  the eigendirections of the Jacobian restricted to the tangent space of the leaf through
  the saddle: forward in time from ``x_s +- eps v`` for an unstable eigenvalue, backward for a
  stable one, until the curve leaves the ball ``|x| <= bound`` or converges to an equilibrium.
  For (62) the stable manifold of the origin is the line ``w1 = -w2`` (the separatrix of
  Fig. 5) and the unstable one the two half lines ``w1 = w2`` ending at ``+-sqrt(sigma) (1, 1)``.
* :func:`invariant_surface` (from :mod:`dlnsys.surfaces`): 2-D stable and unstable manifolds of a
  saddle, or of a curve of saddles, on a leaf, as a triangulated :class:`InvariantSurface`.
* :func:`basins`: for a batch of initial conditions, the class of equilibrium each one
  converges to (signature and, for chains and diagonal states, the sign pattern).
* :func:`itinerary`: the critical points a trajectory passes near (its plateaus, Section 6.1
  and 5.3.1), each with its signature (singular values of ``W_{1:h}`` against sigma), entry and
  exit times, plateau loss against (31), and whether it is a strict or non-strict saddle.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from . import flow, invariants
from .simulate import true_runs
from .leaves import (KIND_MINIMUM, KIND_NONSTRICT, KIND_STRICT, _fmt_sig, _fmt_signs, _ResultMixin,
                     _zero_tol, critical_value, signature_of)
from .surfaces import InvariantSurface, invariant_surface   # 2-D manifolds (re-exported here)

__all__ = ["separatrices", "basins", "itinerary", "Separatrices", "InvariantCurve", "Basins",
           "Itinerary", "ItineraryPlateau", "invariant_surface", "InvariantSurface"]


def _natural_scale(net):
    return max(float(net.sigma[0]) ** (2.0 - 2.0 / net.h), net.gamma, 1e-300)


def _pos(v, name, allow_zero=False):
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)) or not math.isfinite(float(v)):
        raise ValueError(f"{name}: expected a finite positive number, got {v!r}")
    v = float(v)
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a positive number, got {v!r}")
    return v


def _chain_like(net):
    return all(d == 1 for d in net.dims)


def _sign_pattern(net, x, rtol=1e-6):
    """Chains: signs of the weights; square diagonal-compatible networks with diagonal weights:
    per-channel signs; else None."""
    scale = max(1.0, float(np.max(np.abs(x)))) if np.size(x) else 1.0
    tol = rtol * scale
    if _chain_like(net):
        return tuple(int(v) for v in np.where(np.abs(x) <= tol, 0, np.sign(x)))
    Ws = net.unpack(x)
    r = net.d_y
    diag = []
    for W in Ws:
        off = W.copy()
        k = min(W.shape[0], W.shape[1], r)
        off[np.arange(k), np.arange(k)] = 0.0
        if np.max(np.abs(off), initial=0.0) > tol or k < r:
            return None
        diag.append(np.diag(W)[:r])
    xi = np.array(diag)                        # (h, r)
    return tuple(tuple(int(v) for v in np.where(np.abs(xi[:, j]) <= tol, 0, np.sign(xi[:, j]))) for j in range(r))


def _kind_at(net, x, sig):
    from .leaves import _kind
    return _kind(net, x, sig)


# ----------------------------------------------------------------------- separatrices
@dataclasses.dataclass
class InvariantCurve(_ResultMixin):
    """One branch (one side) of a stable or unstable manifold, as a curve of states.

    ``points`` are ordered from the saddle outwards (for a stable manifold, that is backward
    in time); ``times`` are the (signed) integration times; ``end`` says how it stopped:
    ``"bound"`` (left ``|x| <= bound``), ``"equilibrium"`` (converged; ``end_signature`` and
    ``end_label`` classify the limit) or ``"t_max"``.
    """

    type: str
    side: int
    eigenvalue: float
    direction: np.ndarray
    points: np.ndarray
    times: np.ndarray
    end: str
    end_state: np.ndarray
    end_signature: tuple | None = None
    end_label: str | None = None


@dataclasses.dataclass
class Separatrices(_ResultMixin):
    """Stable and unstable manifolds of a saddle (see :func:`separatrices`).

    ``leaf_eigenvalues`` / ``leaf_directions`` are the spectrum of the leaf-restricted
    Jacobian at the saddle (directions as states); ``curves`` one :class:`InvariantCurve` per
    eigendirection and side. ``status``: ``"ok"``, ``"nonhyperbolic"`` (a zero leaf eigenvalue:
    no curves; ``message`` says why) or ``"not_saddle"`` (no unstable or no stable direction).
    """

    saddle: np.ndarray
    leaf: list
    leaf_eigenvalues: np.ndarray
    leaf_directions: np.ndarray
    curves: list
    status: str
    message: str

    def stable(self):
        return [c for c in self.curves if c.type == "stable"]

    def unstable(self):
        return [c for c in self.curves if c.type == "unstable"]


def _integrate(net, x0, sign, t_max, bound, conv_tol, rtol, atol, max_step):
    from scipy.integrate import solve_ivp

    def rhs(t, y):
        return sign * flow.vector_field(net, y)

    def leave(t, y):
        return bound - float(np.linalg.norm(y))
    leave.terminal = True
    leave.direction = -1

    f0 = float(np.linalg.norm(flow.vector_field(net, x0)))

    def converged(t, y):
        return math.log(max(float(np.linalg.norm(flow.vector_field(net, y))), 1e-300)) - math.log(conv_tol)
    converged.terminal = True
    converged.direction = -1

    events = [leave] if sign < 0 else [leave, converged]
    if f0 <= conv_tol:
        events = [leave]
    sol = solve_ivp(rhs, (0.0, t_max), x0, method="DOP853", rtol=rtol, atol=atol, events=events,
                    dense_output=False, max_step=max_step)
    pts = sol.y.T
    ts = sol.t
    end = "t_max"
    if sol.status == 1:
        if sol.t_events[0].size:
            end = "bound"                      # solve_ivp ends the solution at the terminal event
        elif len(sol.t_events) > 1 and sol.t_events[1].size:
            end = "equilibrium"
    elif sol.status < 0:
        end = "failed: " + sol.message
    return pts, sign * ts, end


def separatrices(net, saddle, *, offset=1e-6, bound=2.0, t_max=None, rtol=1e-12, atol=1e-15,
                 max_step=np.inf, conv_tol=None) -> Separatrices:
    """Stable and unstable manifolds of a saddle, from its leaf-restricted eigendirections.

    Parameters
    ----------
    net : Network
        A small system: a scalar chain (2 or 3 weights: (62), (65)) or any network of a few
        weights (the computation is dense). With ``gamma > 0`` there are no leaves and the full
        Jacobian is used.
    saddle : array (n_params,)
        The equilibrium (``relative_gradient <= 1e-8`` is required).
    offset : float
        Distance of the starting points ``x_s +- offset v`` from the saddle.
    bound : float
        Curves stop when ``|x|`` exceeds ``bound`` (the stable manifolds of (62) reach infinity
        in finite backward time).
    t_max : float, optional
        Longest integration time (default ``50 / |lambda|_min * log(1/offset)``-ish).
    rtol, atol : float
        Integration tolerances (DOP853).
    conv_tol : float, optional
        A forward curve stops when ``|f(x)| <= conv_tol`` (default ``1e-12 * sigma_1^2``).

    Returns
    -------
    Separatrices
    """
    from .spectra import relative_gradient

    if net.mask is not None:
        raise ValueError("net: separatrices need a network without a mask")
    x = net._single(saddle, "saddle").astype(float)
    offset = _pos(offset, "offset")
    bound = _pos(bound, "bound")
    if np.linalg.norm(x) >= bound:
        raise ValueError(f"bound: the saddle lies outside |x| <= bound = {bound:g}")
    rg = relative_gradient(net, x)
    if rg > 1e-8:
        raise ValueError(f"saddle: not an equilibrium (relative gradient {rg:.3g}); find one with "
                         "dlnsys.equilibria_on_leaf first")
    if net.gamma == 0 and net.h > 1:
        B = invariants.leaf_tangent_basis(net, x)
    else:
        B = np.eye(net.n_params)
    leaf = [np.asarray(C) for C in invariants.conserved(net, x)]
    J = -flow.hessian(net, x)
    Jr = B.T @ J @ B
    w, V = np.linalg.eigh(0.5 * (Jr + Jr.T))
    dirs = (B @ V).T
    ztol = _zero_tol(net, w)
    base = dict(saddle=x, leaf=leaf, leaf_eigenvalues=w, leaf_directions=dirs)
    if np.any(np.abs(w) <= ztol):
        return Separatrices(curves=[], status="nonhyperbolic",
                            message=(f"the leaf-restricted Jacobian at the saddle has {int(np.sum(np.abs(w) <= ztol))} "
                                     "zero eigenvalue(s) (e.g. the origin for h >= 3, where every derivative of "
                                     "order < h-1 vanishes): the linearization does not give the manifolds"), **base)
    if not (np.any(w > 0) and np.any(w < 0)):
        what = "no unstable" if not np.any(w > 0) else "no stable"
        return Separatrices(curves=[], status="not_saddle",
                            message=f"{what} direction on the leaf: this equilibrium is not a saddle on its leaf",
                            **base)
    lam_min = float(np.min(np.abs(w)))
    if t_max is None:
        t_max = 50.0 * (1.0 + math.log(1.0 / offset)) / lam_min
    t_max = _pos(t_max, "t_max")
    if conv_tol is None:
        conv_tol = 1e-12 * max(1.0, float(net.sigma[0]) ** 2)
    curves = []
    for lam, v in zip(w, dirs):
        typ = "unstable" if lam > 0 else "stable"
        sign = 1.0 if lam > 0 else -1.0
        for side in (1, -1):
            x0 = x + side * offset * v
            pts, ts, end = _integrate(net, x0, sign, t_max, bound, conv_tol, rtol, atol, max_step)
            pts = np.vstack([x[None, :], pts])
            ts = np.append(0.0, ts)
            endx = pts[-1]
            sig = lab = None
            if end == "equilibrium":
                sig = signature_of(net, endx, rtol=1e-6)
                sp = _sign_pattern(net, endx)
                lab = _fmt_sig(sig) + ("" if sp is None else " " + _fmt_signs(sp))
            curves.append(InvariantCurve(type=typ, side=side, eigenvalue=float(lam), direction=v, points=pts,
                                         times=ts, end=end, end_state=endx, end_signature=sig, end_label=lab))
    return Separatrices(curves=curves, status="ok", message="", **base)


# ----------------------------------------------------------------------- basins
@dataclasses.dataclass
class Basins(_ResultMixin):
    """Where each initial condition goes (see :func:`basins`).

    Attributes
    ----------
    initial, final : ndarray (N, n_params)
    signatures : list of tuple
    sign_patterns : list
        Per point (chains: weight signs; diagonal states: per-channel signs; else None).
    kinds : list of str
    labels : list of str
        ``"{signature} (signs)"``: the class of the limit equilibrium.
    converged : ndarray of bool
        ``|f(x_final)| <= conv_tol``.
    leaf_constants : ndarray (N, n_laws)
        ``conserved_vector`` at the initial states (the leaf each trajectory stays on).
    counts : dict
        Label -> number of points.
    t_final : float
        Integration time used.
    """

    initial: np.ndarray
    final: np.ndarray
    signatures: list
    sign_patterns: list
    kinds: list
    labels: list
    converged: np.ndarray
    leaf_constants: np.ndarray
    counts: dict
    t_final: float
    status: str = "ok"
    message: str = ""


def _integrate_batch(net, X, t_final, rtol, atol):
    from scipy.integrate import solve_ivp

    shape = X.shape

    def rhs(t, y):
        return flow.vector_field(net, y.reshape(shape)).reshape(-1)

    sol = solve_ivp(rhs, (0.0, t_final), X.reshape(-1), method="DOP853", rtol=rtol, atol=atol)
    return sol.y[:, -1].reshape(shape), sol.status >= 0


def basins(net, X0, *, t_final=None, t_max=None, conv_tol=None, rtol=1e-10, atol=1e-13) -> Basins:
    """The class of equilibrium (signature and sign pattern) each initial condition converges to.

    The batch is integrated as one system (DOP853) over ``t_final``, then the members that have
    not converged (``|f| > conv_tol``) are integrated further, doubling the time up to
    ``t_max``. The limit is classified by :func:`dlnsys.leaves.signature_of` (learned
    singular values), its kind (global minimum, strict / non-strict saddle) and its sign
    pattern. For (62): the leaf ``c = w1^2 - w2^2`` fixes the pair of minima ``+-(64)``, and the
    side of the separatrix ``w1 = -w2`` (the sign of ``w1 + w2``, which the flow preserves)
    picks one; points on the separatrix go to the saddle at the origin.

    Parameters
    ----------
    net : Network
    X0 : array (N, n_params) or (n_params,)
    t_final : float, optional
        First integration time (default ``20 / sigma_dy^(2 - 2/h)``).
    t_max : float, optional
        Longest total time (default ``64 t_final``).
    conv_tol : float, optional
        Default ``1e-9 * max(1, sigma_1^2)``.

    Returns
    -------
    Basins
    """
    if net.mask is not None:
        raise ValueError("net: basins need a network without a mask")
    X = np.atleast_2d(net._x(X0, "X0")).astype(float)
    if X.ndim != 2:
        raise ValueError(f"X0: expected shape (N, {net.n_params}), got {np.shape(X0)}")
    if t_final is None:
        t_final = 20.0 / max(float(net.sigma[-1]) ** (2.0 - 2.0 / net.h), 1e-12)
    t_final = _pos(t_final, "t_final")
    t_max = 64.0 * t_final if t_max is None else _pos(t_max, "t_max")
    if conv_tol is None:
        conv_tol = 1e-9 * max(1.0, float(net.sigma[0]) ** 2)
    Xf, ok = _integrate_batch(net, X, t_final, rtol, atol)
    total = t_final
    T = t_final
    while True:
        g = np.linalg.norm(flow.vector_field(net, Xf), axis=-1)
        todo = np.flatnonzero(g > conv_tol)
        if todo.size == 0 or total >= t_max:
            break
        T = min(T * 2.0, t_max - total)
        Xf[todo], _ = _integrate_batch(net, Xf[todo], T, rtol, atol)
        total += T
    g = np.linalg.norm(flow.vector_field(net, Xf), axis=-1)
    conv = g <= conv_tol
    sigs, pats, kinds, labels = [], [], [], []
    for x in Xf:
        sig = signature_of(net, x, rtol=1e-6)
        pat = _sign_pattern(net, x)
        kinds.append(_kind_at(net, x, sig))
        sigs.append(sig)
        pats.append(pat)
        labels.append(_fmt_sig(sig) + ("" if pat is None else " " + _fmt_signs(pat)))
    counts = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    L0 = invariants.conserved_vector(net, X) if net.h > 1 else np.zeros((len(X), 0))
    status, msg = "ok", ""
    if not np.all(conv):
        status = "incomplete"
        msg = f"{int(np.sum(~conv))} of {len(X)} points had not converged by t = {total:g} (|f| > {conv_tol:g})"
    return Basins(initial=X, final=Xf, signatures=sigs, sign_patterns=pats, kinds=kinds, labels=labels,
                  converged=conv, leaf_constants=L0, counts=counts, t_final=float(total), status=status,
                  message=msg)


# ----------------------------------------------------------------------- itinerary
@dataclasses.dataclass
class ItineraryPlateau(_ResultMixin):
    """One plateau of a trajectory: a stretch where it lingers near a critical point.

    Attributes
    ----------
    signature : tuple
        Learned singular values at the closest approach (singular values of ``W_{1:h}`` within
        ``sig_rtol`` of ``sigma_j``).
    t_enter, t_exit : float
        Where the relative loss rate crosses the threshold (interpolated in log rate between
        saved times); ``t_exit`` is None if the trajectory ends on the plateau.
    t_closest : float
        Time of the smallest relative rate (the closest approach).
    loss : float
        Loss at the closest approach.
    critical_value : float
        (31) for the signature.
    loss_error : float
        ``|loss - (31)| / (31)`` (relative), or ``|loss|`` when (31) is 0 (absolute).
    kind : str
        ``"global minimum"``, ``"strict saddle"`` or ``"non-strict saddle"``: strict when the Hessian
        at the closest approach has an eigenvalue below ``-strict_tol * sigma_1^(2-2/h)``.
    min_hessian_eigenvalue : float
    theory : str
        What Prop. 18 says of the signature: ``"global minimum"``, ``"strict saddle"`` (S is not
        {1..r}) or ``"strict or non-strict saddle"`` (S = {1..r}: non-strict iff tightened).
    rate : float
        The smallest relative rate ``|dL/dt| / max(L, loss_floor)``.
    singular_values : ndarray
        Of ``W_{1:h}`` at the closest approach.
    """

    signature: tuple
    t_enter: float
    t_exit: float | None
    t_closest: float
    loss: float
    critical_value: float
    loss_error: float
    kind: str
    theory: str
    min_hessian_eigenvalue: float
    rate: float
    singular_values: np.ndarray

    @property
    def strict(self) -> bool:
        return self.kind == KIND_STRICT


@dataclasses.dataclass
class Itinerary(_ResultMixin):
    """The saddle-to-saddle itinerary of a trajectory (see :func:`itinerary`)."""

    plateaus: list
    rate_threshold: float
    loss_floor: float
    t_start: float
    t_end: float
    status: str = "ok"
    message: str = ""

    @property
    def signatures(self) -> list:
        return [p.signature for p in self.plateaus]

    def __len__(self):
        return len(self.plateaus)

    def __iter__(self):
        return iter(self.plateaus)

    def __getitem__(self, i):
        return self.plateaus[i]

    def summary(self) -> str:
        seq = " -> ".join(_fmt_sig(s) for s in self.signatures) or "(none)"
        lines = [f"itinerary: {seq}" + (f"  [{self.status}: {self.message}]" if self.status != "ok" else "")]
        for k, p in enumerate(self.plateaus):
            te = "end" if p.t_exit is None else f"{p.t_exit:.6g}"
            err = "abs" if p.critical_value == 0 else "rel"
            lines.append(f"  [{k}] {_fmt_sig(p.signature):12s} t = {p.t_enter:.6g} .. {te}  loss {p.loss:.10g} "
                         f"(31: {p.critical_value:.10g}, {err} err {p.loss_error:.2e})  {p.kind}")
        return "\n".join(lines)


def _traj_arrays(net, trajectory, member):
    if hasattr(trajectory, "t") and hasattr(trajectory, "x"):
        t, x = np.asarray(trajectory.t, float), np.asarray(trajectory.x, float)
    elif isinstance(trajectory, dict):
        t, x = np.asarray(trajectory["t"], float), np.asarray(trajectory["x"], float)
    elif isinstance(trajectory, (tuple, list)) and len(trajectory) == 2:
        t, x = np.asarray(trajectory[0], float), np.asarray(trajectory[1], float)
    else:
        raise ValueError("trajectory: expected a Trajectory (from dlnsys.simulate), a (t, x) pair or a dict "
                         "with 't' and 'x'")
    if x.ndim == 3:
        if member is None:
            raise ValueError("member: this is a batch trajectory; say which member (0-based)")
        if not 0 <= int(member) < x.shape[1]:
            raise ValueError(f"member: must be in 0..{x.shape[1] - 1}, got {member!r}")
        x = x[:, int(member)]
    if x.ndim != 2 or x.shape[-1] != net.n_params:
        raise ValueError(f"trajectory: states must have shape (n_t, {net.n_params}), got {x.shape}")
    if t.shape != (x.shape[0],):
        raise ValueError(f"trajectory: {t.shape[0]} times for {x.shape[0]} states")
    if t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("trajectory: needs at least two strictly increasing times")
    if not np.all(np.isfinite(x)):
        raise ValueError("trajectory: contains NaN or infinite states")
    return t, x


def itinerary(net, trajectory=None, *, member=None, rate_tol=1e-3, loss_floor=None, sig_rtol=1e-2,
              strict_tol=1e-3, min_duration=0.0) -> Itinerary:
    """The critical points a trajectory passes near: its plateaus, in time order.

    A saved time is *stationary* when the relative loss rate
    ``rho = |dL/dt| / max(L, loss_floor)`` (``dL/dt = -|f(x)|^2`` exactly) is below
    ``rate_tol * kappa`` with ``kappa = h sigma_1^(2-2/h)`` (the fastest rate of the balanced
    reduction (61) at its minimum: a scale-free threshold). Maximal runs of stationary times
    are plateaus (runs with the same signature separated only by non-stationary blips are
    merged). At the point of smallest rate (the closest approach) the plateau gets its
    signature (singular values of ``W_{1:h}`` against sigma), its loss (against (31)) and its
    kind: strict when the Hessian there has an eigenvalue below ``-strict_tol * sigma_1^(2-2/h)``
    (the near-tightened saddles visited from a small initialization are non-strict,
    Prop. 18 and Section 5.3.1).

    Parameters
    ----------
    net : Network
    trajectory : Trajectory, (t, x) pair or dict
        Saved times should resolve the transitions (``dlnsys.simulate`` with the default
        ``t_eval`` saves every solver step).
    member : int, optional
        Which member of a batch trajectory.
    rate_tol : float
    loss_floor : float, optional
        Loss below which the plateau is the global minimum and the rate is measured against
        the floor (default ``1e-6 * max(1, L(0))``).
    sig_rtol : float
        Relative tolerance matching singular values of ``W_{1:h}`` to sigma.
    strict_tol : float
    min_duration : float
        Drop plateaus shorter than this.

    Returns
    -------
    Itinerary
    """
    if net.mask is not None:
        raise ValueError("net: the itinerary needs a network without a mask")
    if trajectory is None:
        raise ValueError("trajectory: required")
    if getattr(trajectory, "net", None) is not None and trajectory.net != net:
        raise ValueError("trajectory: was computed for another network "
                         f"({trajectory.net!r}, not {net!r})")
    t, x = _traj_arrays(net, trajectory, member)
    rate_tol = _pos(rate_tol, "rate_tol")
    sig_rtol = _pos(sig_rtol, "sig_rtol")
    strict_tol = _pos(strict_tol, "strict_tol")
    min_duration = _pos(min_duration, "min_duration", allow_zero=True)
    L = np.asarray(flow.loss(net, x))
    if loss_floor is None:
        loss_floor = 1e-6 * max(1.0, float(L[0]))
    loss_floor = _pos(loss_floor, "loss_floor")
    f = flow.vector_field(net, x)
    dL = np.sum(f * f, axis=-1)
    rho = dL / np.maximum(L, loss_floor)
    kappa = net.h * _natural_scale(net)
    thr = rate_tol * kappa
    flat = rho < thr
    runs = [[k, j] for k, j in true_runs(flat)]

    def crossing(a, b):
        """Time in [t_a, t_b] where log rho crosses log thr (linear interpolation)."""
        la, lb = math.log(max(rho[a], 1e-300)), math.log(max(rho[b], 1e-300))
        lt = math.log(thr)
        if la == lb:
            return float(t[b])
        s = min(max((lt - la) / (lb - la), 0.0), 1.0)
        return float(t[a] + s * (t[b] - t[a]))

    plateaus = []
    for a, b in runs:
        i = a + int(np.argmin(rho[a:b + 1]))
        sig = signature_of(net, x[i], rtol=sig_rtol)
        t_in = float(t[0]) if a == 0 else crossing(a - 1, a)
        t_out = None if b == len(t) - 1 else crossing(b, b + 1)
        if plateaus and plateaus[-1]["sig"] == sig:
            P = plateaus[-1]                       # merge with the previous run
            P["t_out"] = t_out
            if rho[i] < P["rho"]:
                P.update(i=i, rho=float(rho[i]))
            continue
        plateaus.append(dict(sig=sig, t_in=t_in, t_out=t_out, i=i, rho=float(rho[i])))
    out = []
    for P in plateaus:
        end = t[-1] if P["t_out"] is None else P["t_out"]
        if end - P["t_in"] < min_duration:
            continue
        xi = x[P["i"]]
        sig = P["sig"]
        cv = critical_value(net, sig)
        Lp = float(L[P["i"]])
        err = abs(Lp) if cv == 0 else abs(Lp - cv) / cv
        lam = _min_hessian_eig(net, xi)
        full = tuple(range(1, min(net.d_y, net.d_min) + 1))
        if sig == full and cv == 0:
            kind = KIND_MINIMUM
        else:
            kind = KIND_STRICT if lam < -strict_tol * _natural_scale(net) else KIND_NONSTRICT
        if sig == full:
            theory = KIND_MINIMUM
        elif sig == tuple(range(1, len(sig) + 1)):
            theory = "strict or non-strict saddle"
        else:
            theory = KIND_STRICT
        out.append(ItineraryPlateau(signature=sig, t_enter=P["t_in"], t_exit=P["t_out"], t_closest=float(t[P["i"]]),
                                    loss=Lp, critical_value=cv, loss_error=float(err), kind=kind, theory=theory,
                                    min_hessian_eigenvalue=lam, rate=P["rho"],
                                    singular_values=np.linalg.svd(np.atleast_2d(net.product(xi)), compute_uv=False)))
    status, msg = "ok", ""
    if not out:
        status, msg = "empty", ("no plateau: the relative loss rate never fell below "
                                f"rate_tol * kappa = {thr:.3g} at the saved times")
    return Itinerary(plateaus=out, rate_threshold=float(thr), loss_floor=float(loss_floor), t_start=float(t[0]),
                     t_end=float(t[-1]), status=status, message=msg)


def _min_hessian_eig(net, x):
    if net.n_params <= 1500:
        return float(np.linalg.eigvalsh(flow.hessian(net, x))[0])
    from .spectra import spectrum
    s = spectrum(net, x, k=1, which="largest", eigenvectors=False)
    return float(-s.eigenvalues[-1])
