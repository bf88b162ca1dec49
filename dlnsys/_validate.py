"""Conversion and validation of user input at the public boundary.

Every error names the argument it is about, so that a message such as
``ValueError: sigma: must be strictly decreasing ...`` tells the user what to fix.
"""
from __future__ import annotations

import numbers
import re

import numpy as np

__all__ = ["as_dims", "as_sigma", "as_gamma", "as_state", "as_finite_array", "as_seed_rng", "check_name"]


def as_dims(dims) -> tuple[int, ...]:
    """Architecture ``(d_0, ..., d_h)`` as a tuple of positive Python ints."""
    if isinstance(dims, (str, bytes)):
        raise ValueError(f"dims: expected a sequence of layer widths such as (11, 6, 4), got the string {dims!r}")
    try:
        items = list(dims)
    except TypeError:
        raise ValueError(f"dims: expected a sequence of layer widths such as (11, 6, 4), got {dims!r}") from None
    if len(items) < 2:
        raise ValueError(f"dims: needs at least two entries (inputs and outputs), got {len(items)}")
    out = []
    for i, d in enumerate(items):
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)):
            if isinstance(d, (numbers.Real, np.floating)) and float(d).is_integer():
                d = int(d)
            else:
                raise ValueError(f"dims: entry {i} must be a positive integer, got {d!r}")
        if int(d) < 1:
            raise ValueError(f"dims: entry {i} must be a positive integer, got {d!r}")
        out.append(int(d))
    if out[0] < out[-1]:
        raise ValueError(
            f"dims: the input width d_x = {out[0]} is smaller than the output width d_y = {out[-1]}; "
            "Sigma = [diag(sigma) 0] needs d_x >= d_y (Assumption 1)")
    return tuple(out)


def as_finite_array(a, name: str, *, dtype=float) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers, got {type(a).__name__}") from None
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def as_sigma(sigma, d_y: int) -> np.ndarray:
    """Singular values of the data: 1-D, length d_y, finite, positive and strictly decreasing."""
    s = as_finite_array(sigma, "sigma")
    if s.ndim == 0:
        s = s.reshape(1)
    if s.ndim != 1:
        raise ValueError(f"sigma: expected a 1-D sequence of d_y = {d_y} values, got shape {s.shape}")
    if s.shape[0] != d_y:
        raise ValueError(f"sigma: expected d_y = {d_y} values (one per output), got {s.shape[0]}")
    if np.any(s <= 0):
        raise ValueError(f"sigma: every singular value must be positive, got {s.tolist()}")
    if d_y > 1:
        diffs = np.diff(s)
        if np.any(diffs == 0):
            raise ValueError(f"sigma: repeated singular values are not allowed (Assumption 2), got {s.tolist()}")
        if np.any(diffs > 0):
            raise ValueError(
                f"sigma: must be strictly decreasing (sigma_1 > ... > sigma_dy > 0), got {s.tolist()}")
    return s.copy()


def as_gamma(gamma) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"gamma: expected a non-negative number, got {gamma!r}")
    g = float(gamma)
    if not np.isfinite(g) or g < 0:
        raise ValueError(f"gamma: expected a finite non-negative number, got {gamma!r}")
    return g


def as_state(x, n_params: int, name: str = "x") -> np.ndarray:
    """A state vector or a stack of them, shape ``(..., n_params)``, finite floats."""
    arr = as_finite_array(x, name)
    if arr.ndim == 0 or arr.shape[-1] != n_params:
        raise ValueError(
            f"{name}: expected shape (..., {n_params}) for this network (n_params = {n_params}), got {arr.shape}")
    return arr


def as_seed_rng(seed) -> np.random.Generator:
    """A numpy Generator from a seed, an existing Generator, or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool)):
        if seed is not None and int(seed) < 0:
            raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(seed)
    raise ValueError(f"seed: expected an integer, None or a numpy Generator, got {seed!r}")


_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def check_name(name: str, what: str = "name") -> str:
    """Identifiers that go into generated files: a letter then letters, digits, underscores."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"{what}: {name!r} is not a safe identifier (a letter, then up to 39 letters, digits or '_')")
    return name
