"""Callbacks for Sequential.fit, with Keras 2's names: Callback, History, ProgbarLogger, EarlyStopping,
ModelCheckpoint, TerminateOnNaN.

A callback sees `self.model` (set by fit) and `self.params` ({'epochs', 'steps', 'batch_size', 'samples',
'verbose', 'metrics'}); `logs` is a dict of Python floats ('loss', 'accuracy', 'val_loss', ...).
Setting `self.model.stop_training = True` ends fit after the current batch.
"""
import math
import sys
import warnings

import numpy as np

from .progbar import Progbar, format_value

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
           "TerminateOnNaN", "MetricsDict"]

# Keras 2.2 called the accuracy metric 'acc', Keras 2.3+ 'accuracy': both spellings are accepted on read.
_ALIASES = {"acc": "accuracy", "accuracy": "acc", "val_acc": "val_accuracy", "val_accuracy": "val_acc"}


class MetricsDict(dict):
    """A dict in which 'acc' and 'accuracy' (and 'val_acc'/'val_accuracy') name the same entry."""

    def _key(self, key):
        if not dict.__contains__(self, key) and dict.__contains__(self, _ALIASES.get(key, key)):
            return _ALIASES[key]
        return key

    def __getitem__(self, key):
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key):
        return dict.__contains__(self, self._key(key))

    def get(self, key, default=None):
        return dict.get(self, self._key(key), default)

    def copy(self):
        return MetricsDict(self)


class Callback:
    """Base class: override any of the hooks. `epoch` and `batch` count from 0."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    # Keras 2.3 names
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)


class CallbackList:
    """Calls every callback's hook in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call


class History(Callback):
    """Records the epoch logs: `history` maps each metric name to its list of per-epoch values,
    `epoch` lists the epoch indices, `params` holds fit's parameters. Returned by fit.

    `interrupted` is None, or, when a stop signal (Ctrl-C's SIGINT, a scheduler's SIGTERM) ended fit,
    {'epoch': the 0-based epoch it stopped in, 'step': steps done in it, 'signal': 'SIGINT' or 'SIGTERM',
    'logs': their running metrics} (an unfinished epoch is not in `history`/`epoch`, and no epoch-end
    callback, e.g. ModelCheckpoint, ran for it).

    `diverged` is None, or, when a batch's loss or a step's weights or optimizer state stopped being
    finite numbers, {'epoch', 'step': the 0-based step that did, 'reason': the message} (that epoch is
    not recorded and no epoch-end callback ran for it: the last checkpoint is the last good state)."""

    def __init__(self):
        super().__init__()
        self.history = MetricsDict()
        self.epoch = []
        self.interrupted = None
        self.diverged = None

    def on_train_begin(self, logs=None):
        self.epoch = []  # Keras keeps the dict across fits but restarts the epoch list only on a new History

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Prints 'Epoch i/N' and a Progbar per epoch (verbose=1) or one summary line per epoch (verbose=2)."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.progbar = None
        self.seen = 0

    def _values(self, logs):
        return [(k, v) for k, v in (logs or {}).items() if k not in ("batch", "size")]

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            self.stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs')}\n")
            self.stream.flush()
            self.progbar = Progbar(self.params.get("steps"), verbose=self.verbose, stream=self.stream)
        self.seen = 0

    def on_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.last = self._values(logs)
        if self.progbar is not None and self.seen < (self.params.get("steps") or math.inf):
            self.progbar.update(self.seen, self.last)

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is not None:
            self.progbar.update(self.seen, self._values(logs), finalize=True)
            self.progbar = None

    def on_train_end(self, logs=None):
        if self.progbar is not None:    # an epoch a signal or a divergence cut short: end its line
            self.progbar.update(self.seen, getattr(self, "last", []), finalize=True)
            self.progbar = None


def _monitor_mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


def _improved(current, best, mode, min_delta):
    if best is None:
        return True
    if mode == "min":
        return current < best - min_delta
    return current > best + min_delta


def _monitored(logs, monitor, who):
    value = MetricsDict(logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{who}: the monitored quantity {monitor!r} is not in the logs (available: "
                      f"{', '.join(sorted(logs or {}))}); nothing is done for this epoch", RuntimeWarning,
                      stacklevel=3)
    return value


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs (Keras 2's
    counting: the epoch in which the number of epochs without improvement reaches max(patience, 1)).

    mode: 'min', 'max' or 'auto' (max for accuracies, min otherwise). restore_best_weights: put back the
    weights of the best epoch when stopping. `stopped_epoch` is the (0-based) epoch that stopped, or 0.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _monitor_mode(monitor, mode)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self.baseline
        self.best_weights = None
        self.best_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if current is None:
            return
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [w.copy() for w in self.model.get_weights()]
            return
        self.wait += 1
        if self.wait >= self.patience:   # Keras 2.2+: patience 0 and 1 both stop at the first miss
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            sys.stdout.write(f"Epoch {self.stopped_epoch + 1}: early stopping\n")


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after every epoch, or only when `monitor` improves.

    filepath may hold Keras-style fields filled from the epoch (1-based) and the logs, e.g.
    'weights.{epoch:02d}-{val_loss:.2f}.cnet.npz'. Every save is atomic (see cnet.saving).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", period=1):
        super().__init__()
        self.filepath = str(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_mode(monitor, mode)
        self.period = max(1, int(period))
        self.best = None
        self._since = 0

    def on_epoch_end(self, epoch, logs=None):
        self._since += 1
        if self._since < self.period:
            return
        self._since = 0
        logs = MetricsDict(logs or {})
        fields = dict(logs)
        for k, v in list(fields.items()):
            if k in _ALIASES:
                fields.setdefault(_ALIASES[k], v)
        try:
            path = self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as exc:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} names {exc} which is not in the "
                           f"logs (available: {', '.join(sorted(fields))})") from None
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None or not np.isfinite(current) or \
                    not _improved(current, self.best, self.mode, 0.0):
                return
            if self.verbose:
                sys.stdout.write(f"\nEpoch {epoch + 1}: {self.monitor} improved from "
                                 f"{'inf' if self.best is None else format_value(self.best)} to "
                                 f"{format_value(current)}, saving model to {path}\n")
            self.best = current
        elif self.verbose:
            sys.stdout.write(f"\nEpoch {epoch + 1}: saving model to {path}\n")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            sys.stdout.write(f"Batch {batch}: invalid loss {loss}, terminating training\n")
            self.model.stop_training = True
