"""Callbacks for Sequential.fit, with Keras 2's names: Callback, BaseLogger, History, ProgbarLogger,
EarlyStopping, ModelCheckpoint, TerminateOnNaN, LearningRateScheduler, ReduceLROnPlateau, CSVLogger,
LambdaCallback.

A callback sees `self.model` (set by fit) and `self.params` ({'epochs', 'steps', 'batch_size', 'samples',
'verbose', 'metrics'}); `logs` is a dict of Python floats ('loss', 'accuracy', 'val_loss', ...). A batch's
logs hold the epoch's running means so far (as tf.keras's do), with 'batch' and 'size'. fit calls the
callbacks in Keras's order: its ProgbarLogger (verbose), the given callbacks, then the History it returns
(which so records what the given callbacks add to the epoch logs, e.g. the schedulers' 'lr').
Setting `self.model.stop_training = True` ends fit after the current batch.
"""
import csv
import inspect
import math
import numbers
import os
import sys
import warnings

import numpy as np

from . import backend
from .progbar import Progbar, format_value

__all__ = ["Callback", "CallbackList", "BaseLogger", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "TerminateOnNaN", "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger",
           "LambdaCallback", "MetricsDict"]

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
        old = _KERAS2_NAMES.get(hook)

        def call(*args):
            for cb in self.callbacks:
                # a callback written for Keras 2.1 has only on_batch_begin/end
                fn = getattr(cb, hook, None) if old is None or hasattr(cb, hook) else getattr(cb, old)
                if fn is None:
                    raise AttributeError(f"{type(cb).__name__} has no {hook} (subclass cnet.callbacks.Callback)")
                fn(*args)
        return call


_KERAS2_NAMES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class BaseLogger(Callback):
    """Keras's BaseLogger, which puts the epoch's mean of each metric into the epoch logs. cnet's fit
    does that itself, and a batch's logs already hold the epoch's running means, so BaseLogger copies the
    last batch's value of each metric of params['metrics'] into the epoch logs (where fit has put the
    same number); stateful_metrics (Keras's metrics not to average) is accepted: every metric is."""

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or ())

    def on_epoch_begin(self, epoch, logs=None):
        self.last = {}

    def on_batch_end(self, batch, logs=None):
        self.last.update((k, v) for k, v in (logs or {}).items() if k not in ("batch", "size"))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            for k in self.params.get("metrics", ()):
                if k in self.last:
                    logs[k] = self.last[k]


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
    """Prints 'Epoch i/N' and a Progbar per epoch (verbose=1) or one summary line per epoch (verbose=2),
    verbose being fit's (or the `verbose` given here). count_mode: the bar counts 'steps' (batches; fit's
    own bar) or 'samples' (Keras 2.1's default; steps when the number of samples is unknown, as with a
    generator). stateful_metrics is accepted: the logs already hold running means, shown as they are."""

    def __init__(self, count_mode="samples", stateful_metrics=None, verbose=None, stream=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"ProgbarLogger: count_mode must be 'steps' or 'samples', got {count_mode!r} "
                             "(the verbosity is fit's verbose, or verbose=...)")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self._verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.progbar = None
        self.seen = 0

    @property
    def verbose(self):
        return self.params.get("verbose", 1) if self._verbose is None else self._verbose

    def _values(self, logs):
        return [(k, v) for k, v in (logs or {}).items() if k not in ("batch", "size")]

    def _target(self):
        samples = self.params.get("samples")
        return samples if self.count_mode == "samples" and samples else self.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            self.stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs')}\n")
            self.stream.flush()
            unit = "sample" if self._target() != self.params.get("steps") else "step"
            self.progbar = Progbar(self._target(), verbose=self.verbose, stream=self.stream, unit_name=unit)
        self.seen = self.steps_seen = 0

    def on_batch_end(self, batch, logs=None):
        self.steps_seen = batch + 1
        counts_samples = self._target() != self.params.get("steps")
        self.seen = self.seen + (logs or {}).get("size", 0) if counts_samples else batch + 1
        self.last = self._values(logs)
        if self.progbar is not None and self.seen < (self._target() or math.inf):
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


# ---- learning-rate schedules ---------------------------------------------------------------------------

def _optimizer_lr(model, who):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "lr"):
        raise ValueError(f"{who}: the model's optimizer has no learning rate ('lr' attribute); compile the model "
                         "with a cnet optimizer")
    return opt


def _takes_lr(schedule):
    """Does schedule take (epoch, lr) (Keras 2.2+) or only (epoch) (Keras 2.1)?"""
    try:
        params = list(inspect.signature(schedule).parameters.values())
    except (TypeError, ValueError):      # no signature (a builtin): try the two-argument form
        return True
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    return len(positional) >= 2 and len(required) <= 2


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch)`` (Keras 2.1) or
    ``schedule(epoch, lr)`` (Keras 2.2+: lr is the current one), epoch counting from 0. The epoch logs
    (and so the History) get the learning rate used, as 'lr'. verbose=1 prints the new rate."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be a function of the epoch (and the learning "
                            f"rate), got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._two_args = _takes_lr(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        opt = _optimizer_lr(self.model, "LearningRateScheduler")
        current = float(backend.get_value(opt.lr))
        lr = self.schedule(epoch, current) if self._two_args else self.schedule(epoch)
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (numbers.Real, np.floating, np.integer)) \
                or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite number >= 0, got {lr!r} "
                             f"for epoch {epoch}")
        backend.set_value(opt.lr, float(lr))
        if self.verbose > 0:
            sys.stdout.write(f"\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to {lr}.\n")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(backend.get_value(self.model.optimizer.lr))


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved by more than `min_delta`
    for `patience` epochs (Keras 2.2's counting), then wait `cooldown` epochs before counting again;
    never below `min_lr`. mode: 'min', 'max' or 'auto' (max for accuracies). The epoch logs get the
    epoch's learning rate as 'lr'. (Keras's old name of min_delta, epsilon=, is accepted.)"""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau: epsilon is Keras's old name of min_delta", DeprecationWarning,
                          stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected arguments: {', '.join(sorted(kwargs))}")
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1) (it multiplies the learning rate), "
                             f"got {factor!r}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = int(patience)
        self.verbose = verbose
        self.mode = _monitor_mode(monitor, mode)
        self.min_delta = float(min_delta)
        self.cooldown = int(cooldown)
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        opt = _optimizer_lr(self.model, "ReduceLROnPlateau")
        logs = logs if logs is not None else {}
        logs["lr"] = float(backend.get_value(opt.lr))
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = float(backend.get_value(opt.lr))
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    backend.set_value(opt.lr, new)
                    if self.verbose > 0:
                        sys.stdout.write(f"\nEpoch {epoch + 1:05d}: ReduceLROnPlateau reducing learning rate to "
                                         f"{new}.\n")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# ---- logging -------------------------------------------------------------------------------------------

class CSVLogger(Callback):
    """Write one row per epoch to a CSV file: 'epoch' (from 0) and the epoch logs' values, columns sorted
    by name ('NA' where an epoch has no value, e.g. val_loss between validations). separator: the field
    delimiter. append=True adds rows to an existing file (its header must name the same columns) instead
    of starting a new one. Each row is written and the file closed at the end of its epoch."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.sep = separator
        self.append = bool(append)
        self.keys = None

    def _existing_header(self):
        try:
            with open(self.filename, newline="") as f:
                return next(csv.reader(f, delimiter=self.sep), None)
        except FileNotFoundError:
            return None

    def on_train_begin(self, logs=None):
        self.keys = None
        self._header = self._existing_header() if self.append else None
        if not self.append:
            with open(self.filename, "w", newline=""):
                pass        # a new file (and an unwritable destination fails before training)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            names = set(logs) | set(self.params.get("metrics", ()))
            self.keys = sorted(k for k in names if k not in ("batch", "size"))
            if self._header and self._header != ["epoch"] + self.keys:
                raise ValueError(f"CSVLogger: {self.filename!r} holds the columns {self._header} but this run logs "
                                 f"{['epoch'] + self.keys}; pass append=False to start a new file")
        row = [epoch] + [_csv_value(logs[k]) if k in logs else "NA" for k in self.keys]
        with open(self.filename, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.sep)
            if not self._header:
                writer.writerow(["epoch"] + self.keys)
                self._header = ["epoch"] + self.keys
            writer.writerow(row)


def _csv_value(v):
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray) and v.ndim > 0 or isinstance(v, (list, tuple)):
        return "[" + ", ".join(map(str, np.ravel(v))) + "]"
    return v


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_batch_begin(batch, logs), on_batch_end(batch, logs), on_train_begin(logs), on_train_end(logs); also
    tf.keras's on_train_batch_begin/end(batch, logs). A hook not given does nothing."""

    _HOOKS = {"on_epoch_begin": 2, "on_epoch_end": 2, "on_batch_begin": 2, "on_batch_end": 2,
              "on_train_begin": 1, "on_train_end": 1, "on_train_batch_begin": 2, "on_train_batch_end": 2}

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(self._HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: fit calls no hook named {', '.join(unknown)} (it calls "
                            f"{', '.join(self._HOOKS)})")
        given = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_batch_begin=on_batch_begin,
                     on_batch_end=on_batch_end, on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be a function, got {type(fn).__name__}")
            setattr(self, name, _lambda_hook(fn, self._HOOKS[name]))


def _lambda_hook(fn, n_args):
    if n_args == 1:
        return lambda logs=None: fn(logs)
    return lambda index, logs=None: fn(index, logs)
