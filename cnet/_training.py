"""Model.fit's loop: epochs of shuffled batches, validation, callbacks, the stop signals (SIGINT,
SIGTERM), the divergence check, and the training state a checkpoint keeps so that a resumed run continues
bit for bit, from the end of an epoch or from inside one (cnet.models' Sequential and Model call these;
nothing here imports cnet.models). x and y are arrays, or cnet._compile.Arrays for several inputs or
outputs (len() and indexing take the same samples of each)."""
import math
import numbers
import warnings

import numpy as np

from . import _parallel
from . import callbacks as callbacks_module
from . import initializers
from ._signals import StopRequest, signal_name
from .layers import Dropout
from .progbar import Progbar

# Bit generators whose state a model file may restore (named in the file; never an arbitrary attribute).
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class NonFiniteLoss(Exception):
    """The loss of a batch is NaN or infinite (raised before the weights are updated)."""


class ResumeMismatch(ValueError):
    """fit was asked to resume, inside an epoch, a run saved with another batch size or other metrics."""


class Diverged(Exception):
    """A training step left NaN or Inf in a layer's weights, its optimizer state or its statistics
    (raised after that step's update; the message names the layer)."""


def check_finite(model):
    """Raise Diverged when the last step of `model` left a non-finite number: in the arrays its optimizer
    wrote (the optimizer's `nonfinite` list) or in a layer's statistics (BatchNormalization's moving
    mean and variance, a few numbers per channel)."""
    opt = model.optimizer
    for slot, key in getattr(opt, "nonfinite", ()):
        layer, name = model._param_owner.get(key, (None, key))
        layer = f"layer {layer.name!r}" if layer is not None else f"parameter {key!r}"
        what = f"the weight {name}" if slot is None else f"{type(opt).__name__}'s {slot} for the weight {name}"
        raise Diverged(f"{what} of {layer} holds NaN or Inf values after the update")
    for layer in model.layers:
        for name, a in layer.state.items():
            if not np.isfinite(a).all():
                raise Diverged(f"the {name} of layer {layer.name!r} holds NaN or Inf values")


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
    """(x_val, y_val) of fit's validation_data: (x, y), or (x, y, None) (no sample weights); not converted
    (the model matches them to its inputs and outputs)."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val)")
    if len(validation_data) == 3 and validation_data[2] is not None:
        raise NotImplementedError("fit: validation_data holds sample weights (a third element), which cnet "
                                  "does not support (fit and evaluate take no sample_weight): pass "
                                  "(x_val, y_val)")
    return validation_data[0], validation_data[1]


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        initial_epoch, steps_per_epoch, seed, class_weight, sample_weight, validation_steps, validation_freq,
        max_queue_size, workers, use_multiprocessing, stop=None, **kwargs):
    """Model.fit (its docstring says what each argument does): check the arguments, set up the
    validation data and the callbacks, run the epochs. `stop`: the StopRequest polled after every step
    (default: a new one, for SIGINT and SIGTERM; a distributed run passes one that combines its ranks)."""
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
    x, y = model._input_data(x), model._target_data(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
    if validation_data is not None:
        x_val, y_val = validation_arrays(validation_data)
        x_val, y_val = model._input_data(x_val, "x_val"), model._target_data(y_val, "y_val")
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

    resume = None
    if model._resume_rng is not None and (initial_epoch > 0 or model._epoch_step > 0):
        # a model loaded from a checkpoint continues the shuffling where the checkpoint left it
        # (fit's seed, if given, already decided that state in the first run), inside the epoch it
        # stopped in when it holds that epoch's progress
        rng = model._rng = model._resume_rng
        if model._unfinished is not None and initial_epoch == model._epochs_done:
            resume = _unfinished_epoch(model, batch_size, steps)
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
    with (StopRequest() if stop is None else stop) as stop:
        if engine is not None:   # cnet.distributed: every process stops after the same step
            stop = engine.agreed(stop)
        fit_epochs(model, x, y, validation, rng, shuffle, batch_size, epochs, initial_epoch, steps, cblist,
                   history, stop, resume)
        if stop.poll() and history.interrupted is None and history.diverged is None:   # at the very end
            _interrupted(model, history, stop.poll(), model._epochs_done, model._epoch_step, steps, {})
    return history


def _unfinished_epoch(model, batch_size, steps):
    """(steps done, metric sums, samples seen) of the epoch a loaded checkpoint stopped in."""
    done, unfinished = model._epoch_step, model._unfinished
    if unfinished["batch_size"] != batch_size or done > steps:
        raise ResumeMismatch(f"fit: the model was saved after {done} steps of epoch {model._epochs_done + 1} "
                         f"with batch_size={unfinished['batch_size']}; resume it with that batch size and the "
                         f"same data (got batch_size={batch_size}, {steps} steps per epoch)")
    if len(unfinished["sums"]) != len(model.metrics_names):
        raise ResumeMismatch(f"fit: the model was saved inside an epoch with {len(unfinished['sums'])} metrics "
                         f"logged, but it has {len(model.metrics_names)} now ({model.metrics_names})")
    return done, np.array(unfinished["sums"], dtype=np.float64), unfinished["seen"]


# ---- the loop ------------------------------------------------------------------------------------

def fit_epochs(model, x, y, validation, rng, shuffle, batch_size, epochs, initial_epoch, steps, cblist,
               history, stop, resume=None):
    """Epochs initial_epoch..epochs-1 of `steps` batches each. validation: None, or (x_val, y_val,
    validate(epoch) -> bool, validation_steps). stop: polled after every step and every epoch. resume:
    None, or (steps done, metric sums, samples seen) of epoch initial_epoch, whose first steps are skipped
    (rng is at that epoch's start, so the shuffling is the same)."""
    names = model.metrics_names
    n = len(x)
    cblist.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        cblist.on_epoch_begin(epoch, {})
        start_state = None if rng is None else rng.bit_generator.state
        order = rng.permutation(n) if shuffle else None
        first, sums, seen = (0, np.zeros(len(names)), 0) if resume is None else resume
        resume = None
        model._epoch_step = first
        model._unfinished = {"shuffle_rng": start_state, "sums": sums, "seen": seen, "batch_size": batch_size}
        for step in range(first, steps):
            start = (step * batch_size) % n
            stop_at = min(start + batch_size, n)
            idx = slice(start, stop_at) if order is None else order[start:stop_at]
            xb = model._cast(x[idx])
            yb = model._prepare_y(y[idx])
            m = len(xb)
            cblist.on_batch_begin(step, {"batch": step, "size": m})
            try:
                values = model._train_batch(xb, yb)
                model._steps_done += 1
                model._epoch_step = step + 1
            except (NonFiniteLoss, Diverged) as exc:
                values = ([exc.args[0]] if isinstance(exc, NonFiniteLoss) else [math.nan]) + \
                    [math.nan] * (len(names) - 1)
                _diverged(model, history, exc, epoch, step, steps)
            sums += np.asarray(values) * m
            seen += m
            model._unfinished["seen"] = seen
            logs = callbacks_module.MetricsDict(zip(names, (sums / seen).tolist()))
            logs.update(batch=step, size=m)
            cblist.on_batch_end(step, logs)
            if history.diverged is None and stop.poll():
                _interrupted(model, history, stop.poll(), epoch, step + 1, steps, logs)
            if model.stop_training:
                break
        if history.interrupted is not None or history.diverged is not None:
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
        if stop.poll() and epoch + 1 < epochs:
            _interrupted(model, history, stop.poll(), epoch + 1, 0, steps, {})
        if model.stop_training:
            break
    cblist.on_train_end({})


def _diverged(model, history, exc, epoch, step, steps):
    """Stop fit: the step (0-based) of epoch left NaN/Inf (Diverged) or was not taken (NonFiniteLoss)."""
    where = f"at epoch {epoch + 1}, step {step + 1}/{steps}"
    lr = getattr(model.optimizer, "learning_rate", None)
    lower = "lower the learning rate" + ("" if lr is None else f" (now {lr:g})")
    if isinstance(exc, NonFiniteLoss):
        model.stop_reason = (f"the loss became {exc.args[0]} {where}; training stopped before that step's "
                             f"update: {lower}, or check the inputs")
    else:
        model.stop_reason = (f"training diverged {where}: {exc}; training stopped: {lower}, or check the "
                             "inputs (the model holds that step's non-finite numbers: it cannot be saved)")
    model.stop_training = True
    history.diverged = {"epoch": epoch, "step": step, "reason": model.stop_reason}
    warnings.warn("fit: " + model.stop_reason, RuntimeWarning, stacklevel=5)


def _interrupted(model, history, signum, epoch, step, steps, logs):
    """Stop fit after `step` steps of `epoch` (0-based): a stop signal arrived."""
    name = signal_name(signum)
    model.stop_training = True
    model.stop_reason = (f"interrupted ({name}) at epoch {epoch + 1}, step {step}/{steps}; stopped after that "
                         f"step. The weights hold every step done, the history the {len(history.epoch)} "
                         "completed epochs, and model.training_state where to resume (save the model, "
                         "load it and fit with initial_epoch=training_state['epoch'])")
    history.interrupted = {"epoch": epoch, "step": step, "signal": name,
                           "logs": callbacks_module.MetricsDict(logs)}
    warnings.warn("fit: " + model.stop_reason, RuntimeWarning, stacklevel=5)


# ---- the state a checkpoint keeps -----------------------------------------------------------------

def training_state(model):
    """Everything besides weights and optimizer state that decides the rest of a run: counters, the
    shuffling Generator's state and each Dropout layer's seed and step (JSON data)."""
    state = dict(model.training_state)
    rng, unfinished = model._rng, model._unfinished
    state["shuffle_rng"] = None if rng is None else rng.bit_generator.state
    if model._epoch_step > 0 and unfinished is not None:     # stopped inside an epoch: resume inside it
        state["shuffle_rng"] = unfinished["shuffle_rng"]
        state["unfinished_epoch"] = {"sums": [float(v) for v in unfinished["sums"]],
                                     "seen": int(unfinished["seen"]), "batch_size": int(unfinished["batch_size"])}
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
    unfinished = _unfinished_state(state.get("unfinished_epoch"), rs, counters["epoch_step"])
    for layer, seed, step in updates:
        layer._base_seed, layer.step = seed, step
    model._epochs_done, model._steps_done, model._epoch_step = (counters["epoch"], counters["step"],
                                                                counters["epoch_step"])
    model._rng = model._resume_rng = rng
    model._dist_exponents = exponents
    model._unfinished = unfinished


def _unfinished_state(entry, shuffle_rng, epoch_step):
    """model._unfinished from a training state's 'unfinished_epoch' entry (checked), or None."""
    if entry is None or epoch_step == 0:
        return None
    if not isinstance(entry, dict):
        raise ValueError("training state 'unfinished_epoch' must be a JSON object")
    sums, seen, batch = entry.get("sums"), entry.get("seen"), entry.get("batch_size")
    if not isinstance(sums, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                             and math.isfinite(v) for v in sums):
        raise ValueError(f"training state: invalid metric sums {sums!r} of the unfinished epoch")
    for key, v, least in (("seen", seen, 0), ("batch_size", batch, 1)):
        if not isinstance(v, int) or isinstance(v, bool) or v < least:
            raise ValueError(f"training state: the unfinished epoch's {key!r} must be an integer >= {least}, "
                             f"got {v!r}")
    return {"shuffle_rng": shuffle_rng, "sums": [float(v) for v in sums], "seen": seen, "batch_size": batch}
