"""Ctrl-C while the ``glassnet`` command is still starting: one line and exit code 130.

Importing glassnet (NumPy and the rest) takes most of a second, and a Ctrl-C in that
time printed a long traceback from the middle of the imports. When this process is the
``glassnet`` command (the console script or ``python -m glassnet``), the package calls
``hold`` before its imports: a Ctrl-C then ends the process with ``glassnet:
interrupted``. ``release`` at the end of the package's imports puts Python's handler
back, and from there ``glassnet.cli.main`` handles Ctrl-C itself. Imported as a library,
nothing changes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

COMMAND = "glassnet"
_SCRIPT_NAMES = (COMMAND, f"{COMMAND}.exe", f"{COMMAND}-script.py")


def launched_as_command() -> bool:
    """Whether this process is ``glassnet ...`` or ``python -m glassnet ...``."""
    argv = list(getattr(sys, "orig_argv", ()))[1:]  # the interpreter's own arguments
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return i + 1 < len(argv) and argv[i + 1] == COMMAND
        if arg.startswith("-m"):
            return arg[2:] == COMMAND
        if arg in ("-X", "-W"):  # an option with its value in the next argument
            i += 2
            continue
        if arg in ("-c", "-") or not arg.startswith("-"):  # a command, stdin or a script
            break
        i += 1
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in _SCRIPT_NAMES


def _interrupted(signum, frame):  # pragma: no cover - runs in a child process
    try:
        sys.stderr.write(f"{COMMAND}: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(130)  # nothing is written yet: end at once, not from inside an import


_held = False


def hold() -> None:
    """In the glassnet command, make Ctrl-C end the start-up quietly (until ``release``)."""
    global _held
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
            and launched_as_command()):
        signal.signal(signal.SIGINT, _interrupted)
        _held = True


def release() -> None:
    """Give Ctrl-C back to Python (KeyboardInterrupt), as ``hold`` found it."""
    global _held
    if _held and signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _held = False
