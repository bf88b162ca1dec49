"""The ``dlnsys`` command: ``dlnsys <subcommand> [options]``.

Subcommands live in :mod:`dlnsys.commands` (one module each; see its docstring for how to
add one). Exit status: 0 success (a run stopped by its budget is a result: its status and
message are in the output, with a ``dlnsys: warning:`` line), 1 an operating-system error
(disk full), a check that found differences (``models regenerate --check``), failed gallery
pages or an internal error (a bug), 2 bad input (usage errors and ``ValueError``), 130 interrupted.
Errors print one line ``dlnsys: error: ...`` on stderr, without traceback (set the
environment variable ``DLNSYS_TRACEBACK=1`` to get one); warnings print as
``dlnsys: warning: ...``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings

from . import __version__
from .commands import MODULES

__all__ = ["main", "build_parser", "UsageError"]


class UsageError(Exception):
    """A command-line usage error (raised instead of argparse's print-and-exit)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with errors raised as :class:`UsageError` so that ``main`` prints one line."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _load_commands():
    mods = []
    for name in MODULES:
        mods.append(importlib.import_module(f".commands.{name}", __package__))
    return mods


def build_parser():
    """The full parser and a map command word -> module."""
    parser = ArgumentParser(
        prog="dlnsys",
        description="Gradient-flow dynamics of deep linear networks: simulate, find and classify "
                    "critical points, emit model files for PyDSTool, XPPAUT and AUTO-07p.",
        epilog="examples:\n"
               "  dlnsys simulate --dims 11,6,6,6,6,4 --sigma 7,5.5,4,2.5 --init large --t 20\n"
               "  dlnsys simulate --help\n\n"
               "Run 'dlnsys <command> --help' for the options of a command.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dlnsys {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    commands = {}
    for mod in _load_commands():
        mod.add_parser(sub)
        commands[mod.NAME] = mod
    return parser, commands


def _one_line(text):
    return " ".join(str(text).split())


@contextlib.contextmanager
def _warnings_as_lines(stream):
    def show(message, category, filename, lineno, file=None, line=None):
        try:
            stream.write(f"dlnsys: warning: {_one_line(message)}\n")
            stream.flush()
        except (OSError, ValueError):
            pass

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def _keep_interrupts_from_finalizers():
    """A Ctrl-C that lands while Python runs a finalizer or weakref callback (libraries such as HoloViews
    clean up with them) is swallowed by Python, which prints "Exception ignored in ... KeyboardInterrupt"
    and a traceback, and the command goes on. This hook delivers such an interrupt again to the main
    thread once the callback has returned, so that main() ends with "dlnsys: interrupted" and status 130;
    other unraisable exceptions go to the previous hook."""
    previous = sys.unraisablehook
    if getattr(previous, "_dlnsys", False):
        return

    def hook(unraisable):
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            import _thread
            import threading

            # from another thread, a moment later: raised here it would be swallowed again (inside the hook)
            threading.Timer(0.02, _thread.interrupt_main).start()
            return
        previous(unraisable)

    hook._dlnsys = True
    sys.unraisablehook = hook


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from . import _startup

    _startup.restore()          # from here on Ctrl-C is a KeyboardInterrupt, caught below
    _keep_interrupts_from_finalizers()
    err = sys.stderr
    debug = os.environ.get("DLNSYS_TRACEBACK", "") not in ("", "0")

    def fail(message, status):
        if debug:
            raise
        err.write(f"dlnsys: error: {_one_line(message)}\n")
        return status

    try:
        with _warnings_as_lines(err):
            parser, commands = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help(err)
                return 2
            status = commands[args.command].run(args)
            return 0 if status is None else int(status)
    except UsageError as e:
        return fail(e, 2)
    except ValueError as e:
        return fail(e, 2)
    except KeyboardInterrupt:
        err.write("dlnsys: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (dlnsys ... | head): stop quietly.
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as e:
        return fail(e, 1)
    except SystemExit as e:     # --help and --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except Exception as e:      # noqa: BLE001 - last line of defence: a bug, not bad input
        # Still one line and no traceback for the user, but exit 1 (not 2), so that the fuzz
        # suite (tests/test_fuzz.py) flags it: every cause found this way gets fixed at its source.
        return fail(f"internal error ({type(e).__name__}: {e}); this is a bug in dlnsys, please report it "
                    "(DLNSYS_TRACEBACK=1 shows the traceback)", 1)


if __name__ == "__main__":
    sys.exit(main())
