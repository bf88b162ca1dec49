"""Shared pytest options.

``--fuzz-long``: run the fuzz suite (tests/test_fuzz.py) with many more examples and random
(not derandomized) seeds, for local hunting; CI runs the short, deterministic profile.
"""
from __future__ import annotations

import os
import sys


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help="run tests/test_fuzz.py with many examples and fresh random seeds (slow)")


def pytest_configure(config):
    # read by tests/test_fuzz.py at import time (its hypothesis settings are decorators)
    if config.getoption("--fuzz-long"):
        os.environ["DLNSYS_FUZZ_LONG"] = "1"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print how many inputs the fuzz suite tried per door (kept for the reliability report)."""
    mod = next((m for name, m in list(sys.modules.items()) if name.endswith("test_fuzz")
                and hasattr(m, "FUZZ_COUNTS")), None)
    if mod is None or not mod.FUZZ_COUNTS:
        return
    terminalreporter.section("dlnsys fuzz: inputs tried per door")
    for door, n in sorted(mod.FUZZ_COUNTS.items()):
        terminalreporter.write_line(f"{door:<40} {n}")
