"""What the commands (``cnet``, ``cnet-train``, ``cnet-bench``) share: how they end on an error.

A mistake the user can fix ends the command with its message alone, on one line of stderr, and exit code 2:
a bad argument (:class:`UserError`), a data set that is missing, unreadable or corrupt
(:class:`cnet.datasets.DatasetError`), a file that cannot be read or written (``OSError``), an optional
package that is not installed (``ImportError`` of a package outside cnet). Anything else is a bug and keeps
its traceback. ``CNET_TRACEBACK=1`` shows the traceback of the expected errors too.
"""
import os
import sys

__all__ = ["UserError", "EXIT_ERROR", "run"]

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


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
    says: ``<prog>: error: <message>`` on stderr and EXIT_ERROR; Ctrl-C: ``<prog>: interrupted``, 130."""
    try:
        return command(argv) or 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if not _expected(exc) or os.environ.get("CNET_TRACEBACK"):
            raise
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
