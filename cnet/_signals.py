"""Stopping cleanly on the signals a person or a scheduler sends: SIGINT (Ctrl-C) and SIGTERM (what Slurm,
Kubernetes, systemd and ``timeout`` send before SIGKILL).

- :class:`StopRequest`: while training runs (``with StopRequest() as stop:``), the first SIGINT or SIGTERM
  only records itself; the loop asks ``stop.poll()`` after every step and ends there, with consistent
  weights, optimizer state and history. A second one of the same signal acts at once.
- :class:`Interrupted`: the KeyboardInterrupt of SIGTERM (and of any stop signal but SIGINT), so that code
  which cleans up on Ctrl-C cleans up on it too; :func:`raise_interrupted` is the handler that raises it,
  which the commands install (:func:`interrupting`) and :func:`exit_code` is their exit status for it
  (128 + the signal's number: 130 for SIGINT, 143 for SIGTERM).

This module imports nothing of cnet.
"""
import contextlib
import signal
import threading

__all__ = ["StopRequest", "Interrupted", "raise_interrupted", "interrupting", "exit_code", "signal_name"]

STOP_SIGNALS = ("SIGINT", "SIGTERM")


class Interrupted(KeyboardInterrupt):
    """A stop signal other than Ctrl-C (SIGTERM) turned into a KeyboardInterrupt; `signum` is its number."""

    def __init__(self, signum):
        super().__init__(signal_name(signum))
        self.signum = signum


def signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def raise_interrupted(signum, frame):
    """A signal handler: KeyboardInterrupt for SIGINT, Interrupted(signum) for any other signal."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Interrupted(signum)


def exit_code(exc):
    """The exit status of a command ended by KeyboardInterrupt `exc`: 128 + the signal's number."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


def _replaceable(signum):
    """The handlers of `signum` that cnet may replace: Python's defaults, and cnet's own."""
    default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    return (default, raise_interrupted)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interrupting():
    """While the block runs, SIGTERM raises Interrupted (where Python's default would end the process
    without cleaning up), in the main thread and unless a handler of the user's is installed."""
    previous = None
    if _in_main_thread():
        with contextlib.suppress(ValueError, OSError, AttributeError):
            if signal.getsignal(signal.SIGTERM) in _replaceable(signal.SIGTERM):
                previous = signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class StopRequest:
    """The state of a run that a stop signal asks to end after its current step.

    Inside ``with StopRequest() as stop:`` (the main thread only; elsewhere nothing is installed) the
    first SIGINT or SIGTERM sets `signum` and puts that signal's previous handler back, so a second one
    acts at once (KeyboardInterrupt for Ctrl-C; for SIGTERM its previous action, which ends the process,
    or, under a cnet command, Interrupted). Only Python's default handlers and cnet's own are replaced: a
    handler the user installed is left alone.

    The loop calls ``poll()`` after every step and stops when it returns a signal number. A distributed
    run overrides ``poll`` to combine every process's `signum` (e.g. an allreduce of the maximum), so that
    all of them stop after the same step and write one consistent checkpoint."""

    def __init__(self):
        self.signum = 0
        self._previous = {}

    def poll(self):
        """The number of the signal that asked to stop, or 0."""
        return self.signum

    def _handler(self, signum, frame):
        if not self.signum:
            self.signum = signum
        signal.signal(signum, self._previous[signum])

    def __enter__(self):
        if _in_main_thread():
            for name in STOP_SIGNALS:
                signum = getattr(signal, name, None)
                with contextlib.suppress(ValueError, OSError, TypeError):   # no signals here
                    if signum is not None and signal.getsignal(signum) in _replaceable(signum):
                        self._previous[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handler:
                signal.signal(signum, previous)
        self._previous = {}
