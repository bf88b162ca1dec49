"""Atomic file writes: a temporary file in the target's folder, then ``os.replace``.

An interrupted write leaves either the old file or the new one, never a truncated one. The new
file gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s ``0o600``.
"""
from __future__ import annotations

import os
import tempfile

__all__ = ["write_bytes_atomic", "write_text_atomic", "savez_atomic"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_bytes_atomic(path, data: bytes):
    """Write ``data`` to ``path`` atomically; returns the path."""
    return _atomic(path, lambda fh: fh.write(data))


def write_text_atomic(path, text: str):
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def savez_atomic(path, **arrays):
    """``numpy.savez_compressed`` to ``path`` atomically; returns the path."""
    import numpy as np
    return _atomic(path, lambda fh: np.savez_compressed(fh, **arrays))
