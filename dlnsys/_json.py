"""One conversion of result values to JSON-ready Python values, shared by every result object and the CLI."""
from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

__all__ = ["jsonable"]


def jsonable(value):
    """numpy arrays and scalars, tuples, sets, dataclasses and nested containers to JSON-ready values.

    NaN becomes None and infinities the strings ``"inf"``/``"-inf"`` (JSON has neither);
    sets become sorted lists; objects JSON does not know become their ``str``.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if hasattr(value, "to_dict") else jsonable(dataclasses.asdict(value))
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isfinite(v):
            return v
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(value, (frozenset, set)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str):
        return value
    return str(value)
