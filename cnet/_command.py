"""What the commands (``cnet``, ``cnet-train``, ``cnet-bench``) share: how they end on an error or a signal.

A mistake the user can fix ends the command with its message alone, on one line of stderr, and exit code 2:
a bad argument (:class:`UserError`), a data set that is missing, unreadable or corrupt
(:class:`cnet.datasets.DatasetError`), a file that cannot be read or written (``OSError``), an optional
package that is not installed (``ImportError`` of a package outside cnet). Anything else is a bug and keeps
its traceback. ``CNET_TRACEBACK=1`` shows the traceback of the expected errors too.

Ctrl-C (SIGINT) and SIGTERM (a scheduler's, ``timeout``'s, ``kill``'s) end a command with ``<prog>:
interrupted (SIGTERM)`` and exit code 128 + the signal's number (130, 143), as a shell reports a process
the signal killed; training commands first finish the step and save their checkpoint (cnet.train).
Training that diverged (NaN or Inf numbers) ends with EXIT_DIVERGED (3).
"""
import os
import sys

from ._signals import exit_code, interrupting, signal_name

__all__ = ["UserError", "EXIT_ERROR", "EXIT_DIVERGED", "run"]

EXIT_ERROR = 2
EXIT_DIVERGED = 3


class UserError(Exception):
    """A mistake the user can fix (a bad argument, a file that is not what it should be): reported in one
    line, exit code 2."""


def _expected(exc):
    from .datasets import DatasetError
    if isinstance(exc, (UserError, DatasetError, OSError)):
        return True
    if isinstance(exc, ImportError):    # an optional package (its name is set), not a broken cnet
        top = (exc.name or "").split(".")[0]
        return top not in ("", "cnet")
    return False


def one_line(exc):
    """The message of `exc` on one line (white space folded)."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def run(command, argv, prog):
    """Return ``command(argv)`` (an exit code; None means 0), or end an expected error as the module doc
    says: ``<prog>: error: <message>`` on stderr and EXIT_ERROR; Ctrl-C or SIGTERM: ``<prog>: interrupted
    (SIGINT)``, 128 + the signal's number."""
    try:
        with interrupting():      # SIGTERM raises, as Ctrl-C does, instead of ending Python unannounced
            return command(argv) or 0
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)
        print(f"{prog}: interrupted ({signal_name(signum) if signum else 'SIGINT'})", file=sys.stderr)
        return exit_code(exc)
    except Exception as exc:
        if not _expected(exc) or os.environ.get("CNET_TRACEBACK"):
            raise
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
