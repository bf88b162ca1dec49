"""The file boundary of dlnsys: every file it reads and writes goes through this module.

Writes are atomic: a temporary file in the target's folder, then ``os.replace``. An interrupted
write leaves either the old file or the new one, never a truncated one; two processes writing
the same target each rename a complete file of their own, so the result is one of them whole,
never an interleaving. The new file gets the usual permissions (``0o666`` less the umask), not
``mkstemp``'s ``0o600``.

Reads (:func:`read_npz`, :func:`read_json`, :func:`read_text`) turn every failure -- missing
file, a folder, no permission, truncated or not a zip, wrong or missing arrays, wrong dtype,
Python-object arrays, NaN/inf where not allowed, sizes beyond the machine -- into a
``ValueError`` of one line that names the file (through ``what``, the option or argument it
came from) and the problem, so that the command line prints ``dlnsys: error: ...`` and exits 2.
"""
from __future__ import annotations

import json
import math
import os
import signal
import tempfile
import zipfile
import zlib

__all__ = ["write_bytes_atomic", "write_text_atomic", "savez_atomic", "read_npz", "read_json", "read_text",
           "read_bytes", "available_memory", "check_memory", "MAX_TEXT_BYTES", "MAX_NPZ_MEMBERS"]

#: Largest text or JSON file read (bytes) unless a reader is given another limit.
MAX_TEXT_BYTES = 64 * 1024 * 1024
#: Most arrays an .npz file may hold (a zip of a million tiny members is a denial of service).
MAX_NPZ_MEMBERS = 10000


# ------------------------------------------------------------------ writing
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # Ctrl-C between creating the temporary file and entering the try block would leave it behind:
    # hold SIGINT/SIGTERM for that instant (delivered right after, inside the try, which cleans up)
    held = {signal.SIGINT, signal.SIGTERM} if hasattr(signal, "pthread_sigmask") else set()
    if held:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    finally:
        if held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
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


# ------------------------------------------------------------------ memory
def available_memory() -> int:
    """Bytes this process may still allocate (``MemAvailable``; 4 GiB when unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _fmt_bytes(n) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} EiB"  # pragma: no cover


def check_memory(estimate, what, detail=""):
    """ValueError naming ``what`` when ``estimate`` bytes exceed half the available memory.

    Half: the estimate counts the main arrays only, and numpy needs temporaries of the same size.
    """
    limit = available_memory() // 2
    if not math.isfinite(float(estimate)) or estimate > limit:
        raise ValueError(f"{what}: needs about {_fmt_bytes(float(estimate))}{(' ' + detail) if detail else ''}, "
                         f"more than this machine can give (limit {_fmt_bytes(limit)}, half the available memory)")


# ------------------------------------------------------------------ reading
def _label(what, path):
    return f"{what}: {path!r}" if what else repr(path)


def _check_file(path, what):
    """The path as a string, if it names a readable regular file (ValueError otherwise)."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise ValueError(f"{what}: expected a file path, got {type(path).__name__}") from None
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if path == "":
        raise ValueError(f"{what}: empty file name")
    if "\x00" in path:
        raise ValueError(f"{what}: the file name contains a NUL character")
    try:
        if os.path.isdir(path):
            raise ValueError(f"{_label(what, path)} is a folder, not a file")
        if not os.path.exists(path):
            raise ValueError(f"{_label(what, path)}: no such file")
        if not os.path.isfile(path):
            raise ValueError(f"{_label(what, path)} is not a regular file")
    except (OSError, UnicodeError) as e:       # too long a name, undecodable characters
        raise ValueError(f"{what}: cannot use the file name ({_os_reason(e)})") from None
    return path


def _os_reason(e):
    return e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__


def read_bytes(path, what, *, max_bytes=MAX_TEXT_BYTES) -> bytes:
    """The content of a file (ValueError naming ``what`` and the file on any problem)."""
    path = _check_file(path, what)
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise ValueError(f"{_label(what, path)} is {_fmt_bytes(size)}, larger than the {_fmt_bytes(max_bytes)} "
                             "read limit")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise ValueError(f"{_label(what, path)}: cannot read it ({_os_reason(e)})") from None
    if len(data) > max_bytes:
        raise ValueError(f"{_label(what, path)} is larger than the {_fmt_bytes(max_bytes)} read limit")
    return data


def read_text(path, what, *, max_bytes=MAX_TEXT_BYTES, newline_exact=False) -> str:
    """UTF-8 text of a file. ``newline_exact``: keep ``\\r\\n`` as is (byte comparisons)."""
    data = read_bytes(path, what, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{_label(what, os.fspath(path))} is not UTF-8 text (byte {e.start})") from None
    if not newline_exact:
        text = text.replace("\r\n", "\n")
    return text


def _reject_constant(name):
    raise ValueError(f"JSON constant {name} is not allowed (numbers must be finite)")


def loads_json(text, what):
    """Parse JSON text: NaN/Infinity refused, deep nesting refused, errors as one line naming ``what``."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ValueError(f"{what}: JSON nested too deeply") from None
    except ValueError as e:                     # the parse_constant refusal, huge integers
        raise ValueError(f"{what}: {' '.join(str(e).split())}") from None


def read_json(path, what, *, max_bytes=MAX_TEXT_BYTES):
    """The JSON value in a file (NaN/Infinity refused)."""
    text = read_text(path, what, max_bytes=max_bytes)
    return loads_json(text, _label(what, os.fspath(path)))


_NUMERIC_KINDS = "biuf"
_TEXT_KINDS = "US"


def read_npz(path, what, *, required=(), optional=(), text=(), allow_nan=(), all_arrays=False,
             max_bytes=None):
    """Arrays of an ``.npz`` file as a dict ``name -> ndarray`` (text arrays -> ``str``).

    Parameters
    ----------
    path : path
    what : str
        The option or argument the file came from (``"--trajectory"``): starts every message.
    required, optional : iterable of str
        Arrays that must be / may be present (others are not read unless ``all_arrays``).
    text : iterable of str
        Arrays that hold a string (returned as ``str``); every other array must be numeric
        (bool, integer or float: complex, strings, objects and structured dtypes are refused).
    allow_nan : iterable of str or True
        Numeric arrays that may hold NaN or infinities (True: all); the others must be finite.
    all_arrays : bool
        Read every array of the file (at most ``MAX_NPZ_MEMBERS``).
    max_bytes : int, optional
        Limit on the total decompressed size (default: half the available memory). Sizes come
        from the array headers and are checked before anything is decompressed.
    """
    import numpy as np

    path = _check_file(path, what)
    where = _label(what, path)
    required, optional, text = tuple(required), tuple(optional), set(text)
    limit = available_memory() // 2 if max_bytes is None else int(max_bytes)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError):
        raise ValueError(f"{where} is not an .npz archive (not a zip file, or truncated)") from None
    except OSError as e:
        raise ValueError(f"{where}: cannot read it ({_os_reason(e)})") from None
    with zf:
        try:
            infos = zf.infolist()
        except Exception:  # pragma: no cover - infolist is read at open time
            raise ValueError(f"{where}: unreadable zip directory") from None
        if len(infos) > MAX_NPZ_MEMBERS:
            raise ValueError(f"{where} holds {len(infos)} entries, more than {MAX_NPZ_MEMBERS}")
        members = {}
        for info in infos:
            if info.filename.endswith(".npy"):
                members.setdefault(info.filename[:-4], info)
        names = sorted(members)
        missing = [n for n in required if n not in members]
        if missing:
            have = ", ".join(repr(n) for n in names[:12]) + (" ..." if len(names) > 12 else "")
            raise ValueError(f"{where} has no array {missing[0]!r} (it holds {have or 'no arrays'})")
        wanted = names if all_arrays else [n for n in (*required, *optional) if n in members]
        # sizes from the headers first: nothing is decompressed before the total is known to fit
        headers, total = {}, 0
        for n in wanted:
            headers[n] = hdr = _npy_header(zf, members[n], where, n)
            total += hdr[2]
            if total > limit:
                raise ValueError(f"{where}: array {n!r} would need {_fmt_bytes(total)} in memory, more than the "
                                 f"{_fmt_bytes(limit)} this machine can give")
        out = {}
        for n in wanted:
            shape, dtype, nbytes = headers[n]
            try:
                with zf.open(members[n]) as fh:
                    arr = np.lib.format.read_array(fh, allow_pickle=False)
            except Exception as e:    # noqa: BLE001 - hostile bytes: zlib.error, BadZipFile (CRC), EOFError, ...
                raise ValueError(f"{where}: array {n!r} is truncated or corrupt ({_one_line(e)})") from None
            if arr.shape != shape or arr.dtype != dtype:
                raise ValueError(f"{where}: array {n!r} does not match its header (truncated?)")
            out[n] = _check_array(arr, n, where, n in text,
                                  allow_nan is True or (not isinstance(allow_nan, bool) and n in allow_nan))
    return out


def _one_line(e):
    s = " ".join(str(e).split())
    return (s[:200] + "...") if len(s) > 200 else (s or type(e).__name__)


def _npy_header(zf, info, where, name):
    """(shape, dtype, nbytes) of one member, from its .npy header only."""
    import numpy as np
    from numpy.lib import format as npf

    try:
        with zf.open(info) as fh:
            version = npf.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npf.read_array_header_1_0(fh, max_header_size=100000)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npf.read_array_header_2_0(fh, max_header_size=100000)
            else:
                raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:    # noqa: BLE001 - numpy parses hostile bytes: tokenize.TokenError, SyntaxError, ...
        raise ValueError(f"{where}: array {name!r} has no valid .npy header ({_one_line(e)})") from None
    if dtype.hasobject:
        raise ValueError(f"{where}: array {name!r} holds Python objects (pickles are refused); save numbers")
    if any(int(s) < 0 for s in shape):
        raise ValueError(f"{where}: array {name!r} has a negative dimension in its shape {shape}")
    count = 1
    for s in shape:
        count *= int(s)
    nbytes = count * dtype.itemsize
    return tuple(int(s) for s in shape), dtype, nbytes


def _check_array(arr, name, where, is_text, allow_nan):
    import numpy as np

    if is_text:
        if arr.dtype.kind not in _TEXT_KINDS or arr.size != 1:
            raise ValueError(f"{where}: array {name!r} must hold one string, got dtype {arr.dtype} shape {arr.shape}")
        v = arr.reshape(()).item()
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    if arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.fields is not None:
        raise ValueError(f"{where}: array {name!r} must hold real numbers, got dtype {arr.dtype}")
    if not allow_nan and arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: array {name!r} contains NaN or infinite values")
    return arr
