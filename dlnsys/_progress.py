"""A minimal progress line for long computations (stderr, rate-limited).

Used by :func:`dlnsys.simulate.simulate` and the command line; other modules may use it
for any loop with a known end value. It never raises and prints nothing unless enabled.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress", "make_progress"]


class Progress:
    """Report ``value`` out of ``total`` on a stream, at most every ``min_interval`` seconds.

    On a terminal the line is rewritten in place (carriage return); otherwise (a log file, a
    pipe) each report is a new line and reports are spaced at least ``4 * min_interval`` apart
    so that logs stay short. :meth:`close` ends the line and prints the elapsed time.
    """

    def __init__(self, total, label="dlnsys", *, unit="t", stream=None, min_interval=0.25):
        self.total = float(total)
        self.label = label
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        try:
            self._tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self._tty = False
        self.min_interval = float(min_interval) if self._tty else 4.0 * float(min_interval)
        self._start = time.monotonic()
        self._last = -float("inf")
        self._value = 0.0
        self._printed = False
        self._closed = False

    def _line(self, value):
        frac = 0.0 if self.total <= 0 else min(max(value / self.total, 0.0), 1.0)
        elapsed = time.monotonic() - self._start
        return (f"{self.label}: {self.unit} = {value:.6g} / {self.total:.6g} "
                f"({100.0 * frac:5.1f}%), {elapsed:.1f} s")

    def update(self, value):
        """Record progress; prints only if ``min_interval`` has passed since the last report."""
        if self._closed:
            return
        if value > self._value:
            self._value = float(value)
        now = time.monotonic()
        if now - self._last < self.min_interval:
            return
        self._last = now
        self._write(self._line(self._value))

    def _write(self, text):
        try:
            if self._tty:
                self.stream.write("\r" + text + "\x1b[K")
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
            self._printed = True
        except (OSError, ValueError):
            self._closed = True

    def close(self, value=None):
        """Print the final state (only if something was printed before, or on a terminal)."""
        if self._closed:
            return
        if value is not None:
            self._value = float(value)
        if self._printed or self._tty:
            self._write(self._line(self._value))
            if self._tty:
                try:
                    self.stream.write("\n")
                    self.stream.flush()
                except (OSError, ValueError):
                    pass
        self._closed = True


class _Callback:
    """Adapts a user callable ``f(value, fraction)`` to the Progress interface."""

    def __init__(self, func, total):
        self.func = func
        self.total = float(total)
        self._value = 0.0

    def update(self, value):
        if value > self._value:
            self._value = float(value)
            self.func(self._value, self._value / self.total if self.total > 0 else 1.0)

    def close(self, value=None):
        if value is not None:
            self.update(value)


class _Null:
    def update(self, value):
        pass

    def close(self, value=None):
        pass


def make_progress(progress, total, label="dlnsys", unit="t"):
    """``progress`` is False/None (silent), True (stderr line) or a callable ``f(value, fraction)``."""
    if progress is None or progress is False:
        return _Null()
    if progress is True:
        return Progress(total, label, unit=unit)
    if callable(progress):
        return _Callback(progress, total)
    raise ValueError(f"progress: expected True, False or a callable f(value, fraction), got {progress!r}")
