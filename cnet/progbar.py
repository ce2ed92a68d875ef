"""A Keras-style text progress bar, no dependency: the only place (with the CLI) that prints to the terminal.

    Progbar(target=469).update(300, [("loss", 0.2154), ("accuracy", 0.9342)])
    ->  300/469 [==================>...........] - ETA: 12s - loss: 0.2154 - accuracy: 0.9342

On a terminal (or a notebook) the line is redrawn in place with '\\r'; on a pipe or a file only the final
line is written, so logs hold one line per epoch. verbose=2 writes the final line only, without the bar.
"""
import os
import sys
import time

__all__ = ["Progbar", "format_value", "format_duration"]


def format_value(v):
    """A metric as Keras shows it: 4 decimals, scientific notation for tiny values."""
    v = float(v)
    return f"{v:.4f}" if abs(v) > 1e-3 or v == 0.0 else f"{v:.4e}"


def format_duration(seconds):
    """ETA style: 12s, 3:05, 1:02:03."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s >= 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def _per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


def _is_interactive(stream):
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules or bool(os.environ.get("CNET_PROGBAR_DYNAMIC"))


class Progbar:
    """Progress of `target` steps (None when unknown); `update(current, values)` with values a list of
    (name, number) pairs already averaged by the caller. `finalize` (default: current >= target) writes
    the closing line: total time, time per step and the values."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, stream=None, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream if stream is not None else sys.stdout
        self.unit_name = unit_name
        self.dynamic = _is_interactive(self.stream)
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._prev_len = 0
        self._done = False

    def _bar(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        text = f"{current:{digits}d}/{self.target} ["
        filled = int(self.width * min(current, self.target) / max(self.target, 1))
        if filled > 0:
            text += "=" * (filled - 1) + (">" if current < self.target else "=")
        return text + "." * (self.width - filled) + "]"

    def update(self, current, values=None, finalize=None):
        if self.verbose == 0 or self._done:
            return
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.perf_counter()
        if not finalize and (not self.dynamic or self.verbose != 1 or now - self._last_draw < self.interval):
            return
        self._last_draw = now
        elapsed = now - self._start
        metrics = "".join(f" - {name}: {format_value(v)}" for name, v in (values or []))
        if finalize:
            self._done = True
            per = _per_step(elapsed / max(current, 1)) + "/" + self.unit_name
            timing = f" - {format_duration(elapsed)} {per}"
            head = self._bar(current) if self.verbose == 1 else f"{current}/{self.target}"
            line = head + timing + metrics
        else:
            eta = elapsed / max(current, 1) * (self.target - current) if self.target else 0.0
            line = self._bar(current) + f" - ETA: {format_duration(eta)}" + metrics
        if self.dynamic and self.verbose == 1:
            pad = " " * max(self._prev_len - len(line), 0)
            self.stream.write("\r" + line + pad)
            self._prev_len = len(line)
        else:
            self.stream.write(line)
        if finalize:
            self.stream.write("\n")
        self.stream.flush()

    def add(self, n, values=None):
        """Advance by n steps (Keras's Progbar.add)."""
        self._current = getattr(self, "_current", 0) + n
        self.update(self._current, values)
