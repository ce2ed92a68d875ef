"""Sequential.fit's loop: epochs of shuffled batches, validation, callbacks, the Ctrl-C guard, and the
training state a checkpoint keeps so that a resumed run continues bit for bit (cnet.models' Sequential
calls these; nothing here imports cnet.models)."""
import math
import numbers
import signal
import threading
import warnings

import numpy as np

from . import _parallel
from . import callbacks as callbacks_module
from . import initializers
from .layers import Dropout
from .progbar import Progbar

# Bit generators whose state a model file may restore (named in the file; never an arbitrary attribute).
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class NonFiniteLoss(Exception):
    """The loss of a batch is NaN or infinite (raised before the weights are updated)."""


class SigintGuard:
    """While fit runs in the main thread, the first Ctrl-C (SIGINT) only sets `requested`: fit stops
    after the current step, with consistent weights, optimizer state and history. The handler is then
    removed, so a second Ctrl-C raises KeyboardInterrupt at once. A handler installed by the user (not
    Python's default) is left alone."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self._previous = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):   # no signals here (embedded interpreters)
                self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None and signal.getsignal(signal.SIGINT) == self._handler:
            signal.signal(signal.SIGINT, self._previous)
        self._previous = None


# ---- arguments -----------------------------------------------------------------------------------

def default_seed():
    """A shuffling seed drawn from cnet.initializers' Generator, so cnet.set_seed(s) fixes it too."""
    return int(initializers.get_rng().integers(2 ** 63))


def as_array(a, name):
    if a is None:
        raise ValueError(f"{name} is required")
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple)) and len(a) == 1 and isinstance(a[0], np.ndarray):
        return a[0]   # Keras accepts a list holding the single input array
    return np.asarray(a)


def progbar(n, batch_size, verbose):
    return Progbar(math.ceil(n / batch_size), verbose=verbose) if verbose and _parallel.is_root() else None


def positive_int(value, what, allow_none=True):
    """value as an int >= 1 (None passes when allow_none); anything else raises naming `what`."""
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise ValueError(f"{what} must be a positive integer{' or None' if allow_none else ''}, got {value!r}")


def refuse_generator_options(who, workers, use_multiprocessing, max_queue_size):
    """Keras's workers/use_multiprocessing/max_queue_size drive a generator's queue; cnet takes arrays,
    so only their defaults mean something."""
    for name, value, default in (("workers", workers, 1), ("use_multiprocessing", use_multiprocessing, False),
                                 ("max_queue_size", max_queue_size, 10)):
        if value != default:
            raise ValueError(f"{who}: {name}={value!r} is not supported: it sets up the queue of a data "
                             f"generator, and cnet takes arrays (each batch is computed with cnet's threads: "
                             f"cnet.set_num_threads); leave {name} at its default ({default!r})")


def validation_schedule(freq):
    """validation_freq -> a function of the 0-based epoch: validate after it? An int N validates every
    N epochs (N, 2N, ... counted from 1); a collection of ints validates after those (1-based) epochs."""
    if isinstance(freq, numbers.Integral) and not isinstance(freq, bool):
        n = positive_int(freq, "validation_freq", allow_none=False)
        return lambda epoch: (epoch + 1) % n == 0
    if isinstance(freq, (list, tuple, set, frozenset, range)):
        epochs = {positive_int(e, "each epoch in validation_freq", allow_none=False) for e in freq}
        return lambda epoch: epoch + 1 in epochs
    raise ValueError(f"validation_freq must be a positive integer or a list of (1-based) epochs, got {freq!r}")


def validation_arrays(validation_data):
    """(x_val, y_val) of fit's validation_data: (x, y), or (x, y, None) (no sample weights)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val)")
    if len(validation_data) == 3 and validation_data[2] is not None:
        raise NotImplementedError("fit: validation_data holds sample weights (a third element), which cnet "
                                  "does not support (fit and evaluate take no sample_weight): pass "
                                  "(x_val, y_val)")
    return as_array(validation_data[0], "x_val"), as_array(validation_data[1], "y_val")


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        initial_epoch, steps_per_epoch, seed, class_weight, sample_weight, validation_steps, validation_freq,
        max_queue_size, workers, use_multiprocessing, **kwargs):
    """Sequential.fit (its docstring says what each argument does): check the arguments, set up the
    validation data and the callbacks, run the epochs."""
    model._require_compiled("fit")
    unknown = set(kwargs) - {"nb_epoch"}
    if unknown:
        raise TypeError(f"fit got unexpected arguments: {', '.join(sorted(unknown))}")
    if class_weight is not None or sample_weight is not None:
        raise NotImplementedError("fit: class_weight and sample_weight are not supported yet")
    refuse_generator_options("fit", workers, use_multiprocessing, max_queue_size)
    validate = validation_schedule(validation_freq)
    validation_steps = positive_int(validation_steps, "validation_steps")
    epochs = kwargs.get("nb_epoch", epochs)
    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x, y = as_array(x, "x"), as_array(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
    if validation_data is not None:
        x_val, y_val = validation_arrays(validation_data)
    elif validation_split:
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        split = int(len(x) * (1.0 - validation_split))
        x, x_val = x[:split], x[split:]
        y, y_val = y[:split], y[split:]
    else:
        x_val = y_val = None
    n = len(x)
    if n == 0:
        raise ValueError("fit: no training samples")
    model._ensure_built(x[:1])
    rng = model._rng_for(seed)
    steps = steps_per_epoch or math.ceil(n / batch_size)

    if model._resume_rng is not None and initial_epoch > 0:
        # a model loaded from a checkpoint continues the shuffling where the checkpoint left it
        # (fit's seed, if given, already decided that state in the first run)
        rng = model._rng = model._resume_rng
    model._resume_rng = None
    engine = _parallel.engine()
    if engine is not None:   # cnet.distributed: rank 0's weights, seeds and shuffling; rank 0 prints
        rng = engine.begin_fit(model, rng)
        verbose = verbose if engine.rank == 0 else 0

    history = callbacks_module.History()
    cbs = [history]
    if verbose:
        cbs.append(callbacks_module.ProgbarLogger(verbose))
    cbs += list(callbacks or [])
    params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n,
              "verbose": verbose, "do_validation": x_val is not None,
              "metrics": model.metrics_names + (["val_" + m for m in model.metrics_names]
                                                if x_val is not None else [])}
    history.params = params
    cblist = callbacks_module.CallbackList(cbs, model, params)
    model.history = history
    model.stop_training = False
    model.stop_reason = None
    validation = None if x_val is None else (x_val, y_val, validate, validation_steps)
    with SigintGuard() as sigint:
        fit_epochs(model, x, y, validation, rng, shuffle, batch_size, epochs, initial_epoch, steps, cblist,
                   history, sigint if engine is None else engine.agreed(sigint))
    return history


# ---- the loop ------------------------------------------------------------------------------------

def fit_epochs(model, x, y, validation, rng, shuffle, batch_size, epochs, initial_epoch, steps, cblist,
               history, sigint):
    """Epochs initial_epoch..epochs-1 of `steps` batches each. validation: None, or (x_val, y_val,
    validate(epoch) -> bool, validation_steps)."""
    names = model.metrics_names
    n = len(x)
    cblist.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        cblist.on_epoch_begin(epoch, {})
        order = rng.permutation(n) if shuffle else None
        sums = np.zeros(len(names))
        seen = 0
        model._epoch_step = 0
        for step in range(steps):
            start = (step * batch_size) % n
            stop = min(start + batch_size, n)
            idx = slice(start, stop) if order is None else order[start:stop]
            xb = model._cast(x[idx])
            yb = model._prepare_y(y[idx])
            m = len(xb)
            cblist.on_batch_begin(step, {"batch": step, "size": m})
            try:
                values = model._train_batch(xb, yb)
            except NonFiniteLoss as exc:
                model.stop_training = True
                model.stop_reason = (f"the loss became {exc.args[0]} at epoch {epoch + 1}, step "
                                     f"{step + 1}/{steps}; training stopped before that step's "
                                     "update (lower the learning rate, or check the inputs)")
                warnings.warn("fit: " + model.stop_reason, RuntimeWarning, stacklevel=4)
                values = [exc.args[0]] + [math.nan] * (len(names) - 1)
            sums += np.asarray(values) * m
            seen += m
            if not model.stop_reason:
                model._steps_done += 1
                model._epoch_step = step + 1
            logs = callbacks_module.MetricsDict(zip(names, (sums / seen).tolist()))
            logs.update(batch=step, size=m)
            cblist.on_batch_end(step, logs)
            if sigint.requested and not model.stop_reason:
                model.stop_training = True
                model.stop_reason = (f"interrupted (SIGINT) at epoch {epoch + 1}, step {step + 1}/{steps}; "
                                     f"stopped after that step. The weights hold every step done, the "
                                     f"history the {len(history.epoch)} completed epochs, and the "
                                     f"checkpoints of completed epochs are valid")
                history.interrupted = {"epoch": epoch, "step": step + 1,
                                       "logs": callbacks_module.MetricsDict(logs)}
                warnings.warn("fit: " + model.stop_reason, RuntimeWarning, stacklevel=4)
                break
            if model.stop_training:
                break
        if history.interrupted is not None:
            break   # an unfinished epoch: no on_epoch_end, so no checkpoint claims it is done
        if model._epoch_step == steps:
            model._epochs_done, model._epoch_step = epoch + 1, 0
        epoch_logs = callbacks_module.MetricsDict(zip(names, (sums / max(seen, 1)).tolist()))
        if validation is not None and not model.stop_reason and validation[2](epoch):
            x_val, y_val, _, validation_steps = validation
            val = model.evaluate(x_val, y_val, batch_size=batch_size, verbose=0, steps=validation_steps)
            val = val if isinstance(val, list) else [val]
            epoch_logs.update(("val_" + k, v) for k, v in zip(names, val))
        cblist.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cblist.on_train_end({})


# ---- the state a checkpoint keeps -----------------------------------------------------------------

def training_state(model):
    """Everything besides weights and optimizer state that decides the rest of a run: counters, the
    shuffling Generator's state and each Dropout layer's seed and step (JSON data)."""
    state = dict(model.training_state)
    rng = model._rng
    state["shuffle_rng"] = None if rng is None else rng.bit_generator.state
    state["dropout"] = [{"layer": i, "seed": layer._base_seed, "step": int(layer.step)}
                        for i, layer in enumerate(model.layers) if isinstance(layer, Dropout)]
    if model._dist_exponents:   # cnet.distributed's fixed-point grid of each gradient
        state["grad_exponents"] = dict(model._dist_exponents)
    return state


def restore_training_state(model, state):
    """Inverse of training_state; raises ValueError on malformed data (and then changes nothing)."""
    if not isinstance(state, dict):
        raise ValueError("the training state must be a JSON object")
    counters = {}
    for key in ("epoch", "step", "epoch_step"):
        v = state.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"training state {key!r} must be an integer >= 0, got {v!r}")
        counters[key] = v
    rng = None
    rs = state.get("shuffle_rng")
    if rs is not None:
        name = rs.get("bit_generator") if isinstance(rs, dict) else None
        if name not in _BIT_GENERATORS:
            raise ValueError(f"training state: unknown shuffling generator {name!r} "
                             f"(expected one of {', '.join(_BIT_GENERATORS)})")
        rng = np.random.Generator(getattr(np.random, name)())
        try:
            rng.bit_generator.state = rs
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ValueError(f"training state: invalid {name} generator state ({exc})") from None
    dropout = state.get("dropout") or []
    if not isinstance(dropout, list):
        raise ValueError("training state 'dropout' must be a list")
    updates = []
    for entry in dropout:
        i = entry.get("layer") if isinstance(entry, dict) else None
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(model.layers) \
                or not isinstance(model.layers[i], Dropout):
            raise ValueError(f"training state: dropout entry {entry!r} names no Dropout layer")
        seed, step = entry.get("seed"), entry.get("step")
        if not (seed is None or (isinstance(seed, int) and 0 <= seed < 2 ** 64)) or \
                not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"training state: invalid dropout seed/step in {entry!r}")
        updates.append((model.layers[i], seed, step))
    exponents = state.get("grad_exponents")
    if exponents is not None and not (isinstance(exponents, dict) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and abs(v) < 4096
            for k, v in exponents.items())):
        raise ValueError("training state: 'grad_exponents' must map parameter names to integers")
    for layer, seed, step in updates:
        layer._base_seed, layer.step = seed, step
    model._epochs_done, model._steps_done, model._epoch_step = (counters["epoch"], counters["step"],
                                                                counters["epoch_step"])
    model._rng = model._resume_rng = rng
    model._dist_exponents = exponents
