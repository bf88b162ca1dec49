"""Start-up of the ``dlnsys`` command: Ctrl-C while the libraries load is an interruption, not a crash.

Imported first by ``dlnsys/__init__.py``. For the ``dlnsys`` console script only (``argv[0]``), and only
while Python's own SIGINT handler is in place: Ctrl-C during the few tenths of a second in which numpy
and scipy load, before ``cli.main`` can catch ``KeyboardInterrupt``, ends with "dlnsys: interrupted" and
exit status 130 as Ctrl-C does later, not with a traceback. ``cli.main`` puts Python's handler back
first thing (:func:`restore`). Programs that import dlnsys are not affected.
"""
from __future__ import annotations

import os
import signal
import sys

__all__ = ["restore"]

_INSTALLED = False


def _interrupted(signum, frame):
    os.write(2, b"dlnsys: interrupted\n")
    os._exit(130)          # nothing has been written yet: no cleanup to skip


def _install():
    global _INSTALLED
    if os.path.basename(sys.argv[0] if sys.argv else "") != "dlnsys":
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    try:
        signal.signal(signal.SIGINT, _interrupted)
        _INSTALLED = True
    except ValueError:     # not the main thread
        pass


def restore():
    """Python's SIGINT handler again (``KeyboardInterrupt``), if :func:`_install` replaced it."""
    global _INSTALLED
    if _INSTALLED and signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _INSTALLED = False


_install()
