"""Model.fit's loop: epochs of shuffled batches (of arrays, a cnet.utils.Sequence or a generator:
cnet._data), sample and class weights, validation (cnet._evaluation), callbacks, the stop signals (SIGINT,
SIGTERM), the divergence check, and the training state a checkpoint keeps so that a resumed run continues
bit for bit, from the end of an epoch or from inside one (cnet.models' Sequential and Model call these;
nothing here imports cnet.models). x and y are arrays, or cnet._compile.Arrays for several inputs or
outputs (len() and indexing take the same samples of each)."""
import math
import numbers
import warnings

import numpy as np

from . import _data, _evaluation, _parallel
from . import callbacks as callbacks_module
from . import initializers
from ._evaluation import as_array, positive_int  # noqa: F401 - cnet._compile uses as_array from here
from ._signals import StopRequest, signal_name
from .layers import Dropout

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


def require_batches(who, x, instead):
    """The Keras 2.1 *_generator methods take a generator or a Sequence only."""
    if _data.input_kind(x) == "arrays":
        raise ValueError(f"{who} takes a generator or a cnet.utils.Sequence, got {type(x).__name__}; for arrays use "
                         f"{instead}")


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


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        initial_epoch, steps_per_epoch, seed, class_weight, sample_weight, validation_steps, validation_freq,
        max_queue_size, workers, use_multiprocessing, stop=None, **kwargs):
    """Model.fit (its docstring says what each argument does): check the arguments, set up the
    batches, the validation and the callbacks, run the epochs. `stop`: the StopRequest polled after every
    step (default: a new one, for SIGINT and SIGTERM; a distributed run passes one that combines its
    ranks)."""
    model._require_compiled("fit")
    unknown = set(kwargs) - {"nb_epoch"}
    if unknown:
        raise TypeError(f"fit got unexpected arguments: {', '.join(sorted(unknown))}")
    epochs = kwargs.get("nb_epoch", epochs)
    kind = _data.input_kind(x)
    workers, max_queue_size = _data.reader_options("fit", kind, workers, use_multiprocessing, max_queue_size)
    validate = validation_schedule(validation_freq)
    validation_steps = _evaluation.step_count(validation_steps, "validation_steps")
    steps_per_epoch = _evaluation.step_count(steps_per_epoch, "steps_per_epoch")
    if kind == "arrays":
        source, validation = _array_sources(model, x, y, batch_size, sample_weight, class_weight, validation_split,
                                            validation_data)
        model._ensure_built(source.x[:1])
    else:
        source = _generator_source(model, kind, x, y, batch_size, sample_weight, class_weight, validation_split,
                                   steps_per_epoch, epochs - initial_epoch, workers, max_queue_size)
        validation = _validation_source(model, validation_data, workers, max_queue_size)
    rng = model._rng_for(seed)
    steps = steps_per_epoch or source.steps
    if source.steps is not None and kind == "sequence" and steps > source.steps:
        raise ValueError(f"fit: steps_per_epoch={steps} but the Sequence holds {source.steps} batches (an epoch "
                         "reads each batch once at most)")
    if validation is not None and validation[0] == "data":
        validation_steps = _checked_validation_steps(validation[1], validation_steps)

    resume = None
    if model._resume_rng is not None and (initial_epoch > 0 or model._epoch_step > 0):
        # a model loaded from a checkpoint continues the shuffling where the checkpoint left it
        # (fit's seed, if given, already decided that state in the first run), inside the epoch it
        # stopped in when it holds that epoch's progress
        rng = model._rng = model._resume_rng
        if model._unfinished is not None and initial_epoch == model._epochs_done:
            resume = _unfinished_epoch(model, source.batch_size, steps)
    model._resume_rng = None
    engine = _parallel.engine()
    if engine is not None:   # cnet.distributed: rank 0's weights, seeds and shuffling; rank 0 prints
        rng = engine.begin_fit(model, rng)
        verbose = verbose if engine.rank == 0 else 0

    history = callbacks_module.History()
    cbs = [callbacks_module.ProgbarLogger("steps")] if verbose else []
    cbs += list(callbacks or []) + [history]       # Keras's order: History records what the others logged
    params = {"epochs": epochs, "steps": steps, "batch_size": source.batch_size, "samples": source.samples,
              "verbose": verbose, "do_validation": validation is not None,
              "metrics": model.metrics_names + (["val_" + m for m in model.metrics_names]
                                                if validation is not None else [])}
    history.params = params
    cblist = callbacks_module.CallbackList(cbs, model, params)
    model.history = history
    model.stop_training = False
    model.stop_reason = None
    validation = None if validation is None else validation + (validate, validation_steps)
    try:
        with (StopRequest() if stop is None else stop) as stop:
            if engine is not None:   # cnet.distributed: every process stops after the same step
                stop = engine.agreed(stop)
            fit_epochs(model, source, validation, rng, shuffle, epochs, initial_epoch, steps, cblist, history, stop,
                       resume)
            if stop.poll() and history.interrupted is None and history.diverged is None:   # at the very end
                _interrupted(model, history, stop.poll(), model._epochs_done, model._epoch_step, steps, {})
    finally:
        source.close()
    return history


def _array_sources(model, x, y, batch_size, sample_weight, class_weight, validation_split, validation_data):
    """(the training batches, ('arrays', x_val, y_val, w_val) or None) of fit on arrays (matched to the
    model's inputs and outputs: an array, or a cnet._compile.Arrays for several)."""
    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x, y = model._input_data(x), model._target_data(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
    w = _data.output_weights(model, y, sample_weight, class_weight, "fit")
    validation = None
    if validation_data is not None:
        validation = ("arrays",) + validation_arrays(model, validation_data)
    elif validation_split:
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        split = int(len(x) * (1.0 - validation_split))
        validation = ("arrays", x[split:], y[split:], _data.take_weights(w, slice(split, None)))
        x, y, w = x[:split], y[:split], _data.take_weights(w, slice(0, split))
    if len(x) == 0:
        raise ValueError("fit: no training samples")
    return _data.Arrays(x, y, w, batch_size), validation


def validation_arrays(model, validation_data):
    """(x_val, y_val, per-output weights or None) of fit's validation_data (x, y) or (x, y, sample_weight),
    matched to the model's inputs and outputs."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight), a "
                         "generator or a cnet.utils.Sequence")
    x_val, y_val = model._input_data(validation_data[0], "x_val"), model._target_data(validation_data[1], "y_val")
    if len(x_val) != len(y_val):
        raise ValueError(f"validation_data: x_val and y_val must hold the same number of samples, got {len(x_val)} "
                         f"and {len(y_val)}")
    w = None if len(validation_data) == 2 else validation_data[2]
    return x_val, y_val, _data.output_weights(model, y_val, w, None, "fit: validation_data")


def _generator_source(model, kind, x, y, batch_size, sample_weight, class_weight, validation_split,
                      steps_per_epoch, epochs, workers, max_queue_size):
    """The training batches of fit on a Sequence or a generator."""
    for name, value in (("y", y), ("batch_size", batch_size), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"fit: {name} must be None when x is a {kind}: the {kind} makes the batches (with "
                             "their targets and sample weights)")
    if validation_split:
        raise ValueError(f"fit: validation_split needs arrays; with a {kind}, pass validation_data (arrays, a "
                         "generator or a Sequence)")
    prepare = _data.preparer(model, class_weight)
    if kind == "sequence":
        return _data.SequenceBatches(x, "fit", True, prepare, workers, max_queue_size)
    if steps_per_epoch is None:
        raise ValueError("fit: steps_per_epoch is required with a generator (how many of its batches make an "
                         "epoch); a cnet.utils.Sequence knows its length")
    return _data.GeneratorBatches(x, "fit", True, prepare, workers, max_queue_size,
                                  total=max(epochs, 0) * steps_per_epoch)


def _validation_source(model, validation_data, workers, max_queue_size):
    """fit's validation on a Sequence/generator input: ('arrays', ...), ('data', x_val, workers, queue), None."""
    if validation_data is None:
        return None
    kind = _data.input_kind(validation_data)
    if kind == "arrays":
        return ("arrays",) + validation_arrays(model, validation_data)
    # one thread at most for a generator (it runs in one thread at a time), whatever reads a training Sequence
    return ("data", validation_data, min(workers, 1) if kind == "generator" else workers, max_queue_size)


def _checked_validation_steps(data, steps):
    kind = _data.input_kind(data)
    if kind == "generator" and steps is None:
        raise ValueError("fit: validation_steps is required when validation_data is a generator (how many of its "
                         "batches to evaluate); a cnet.utils.Sequence knows its length")
    if kind == "sequence" and steps is not None and steps > len(data):
        raise ValueError(f"fit: validation_steps={steps} but the validation Sequence holds {len(data)} batches")
    return steps


def _unfinished_epoch(model, batch_size, steps):
    """(steps done, metric sums, samples seen) of the epoch a loaded checkpoint stopped in."""
    done, unfinished = model._epoch_step, model._unfinished
    if unfinished["batch_size"] != batch_size or done > steps:
        saved, now = (f"batch_size={b}" if b else "batches of a Sequence or generator"
                      for b in (unfinished["batch_size"], batch_size))
        raise ResumeMismatch(f"fit: the model was saved after {done} steps of epoch {model._epochs_done + 1} "
                             f"with {saved}; resume it with that batch size and the same data (got {now}, {steps} "
                             "steps per epoch)")
    if len(unfinished["sums"]) != len(model.metrics_names):
        raise ResumeMismatch(f"fit: the model was saved inside an epoch with {len(unfinished['sums'])} metrics "
                         f"logged, but it has {len(model.metrics_names)} now ({model.metrics_names})")
    return done, np.array(unfinished["sums"], dtype=np.float64), unfinished["seen"]


# ---- the loop ------------------------------------------------------------------------------------

def fit_epochs(model, source, validation, rng, shuffle, epochs, initial_epoch, steps, cblist, history, stop,
               resume=None):
    """Epochs initial_epoch..epochs-1 of `steps` batches of `source` each (cnet._data). validation: None,
    or (kind, data..., validate(epoch) -> bool, validation_steps). stop: polled after every step and every
    epoch. resume: None, or (steps done, metric sums, samples seen) of epoch initial_epoch, whose first
    steps are skipped (rng is at that epoch's start, so the shuffling is the same)."""
    names = model.metrics_names
    cblist.on_train_begin({})
    for epoch in range(initial_epoch, epochs):
        cblist.on_epoch_begin(epoch, {})
        start_state = None if rng is None else rng.bit_generator.state
        order = source.order(rng, shuffle)
        first, sums, seen = (0, np.zeros(len(names)), 0) if resume is None else resume
        resume = None
        model._epoch_step = first
        model._unfinished = {"shuffle_rng": start_state, "sums": sums, "seen": seen,
                             "batch_size": source.batch_size}
        batches = source.batches(order, first, steps)
        try:
            for step in range(first, steps):
                xb, yb, wb = next(batches)
                xb = model._cast(xb)
                model._ensure_built(xb)
                yb = model._prepare_y(yb)
                m = len(xb)
                cblist.on_train_batch_begin(step, {"batch": step, "size": m})
                try:
                    values = model._train_batch(xb, yb) if wb is None else model._train_batch(xb, yb, wb)
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
                cblist.on_train_batch_end(step, logs)
                if history.diverged is None and stop.poll():
                    _interrupted(model, history, stop.poll(), epoch, step + 1, steps, logs)
                if model.stop_training:
                    break
        finally:
            batches.close()
        if history.interrupted is not None or history.diverged is not None:
            break   # an unfinished epoch: no on_epoch_end, so no checkpoint claims it is done
        if model._epoch_step == steps:
            model._epochs_done, model._epoch_step = epoch + 1, 0
        epoch_logs = callbacks_module.MetricsDict(zip(names, (sums / max(seen, 1)).tolist()))
        if validation is not None and not model.stop_reason and validation[-2](epoch):
            epoch_logs.update(("val_" + k, v) for k, v in zip(names, _validate(model, validation, source)))
        cblist.on_epoch_end(epoch, epoch_logs)
        if isinstance(source, _data.SequenceBatches):
            source.end_of_pass()
        if stop.poll() and epoch + 1 < epochs:
            _interrupted(model, history, stop.poll(), epoch + 1, 0, steps, {})
        if model.stop_training:
            break
    cblist.on_train_end({})


def _validate(model, validation, source):
    """[val_loss, val metrics...] of one validation run."""
    kind, validation_steps = validation[0], validation[-1]
    if kind == "arrays":
        x_val, y_val, w_val = validation[1:4]
        batch_size = source.batch_size or 32
        n = len(x_val) if validation_steps is None else min(len(x_val), validation_steps * batch_size)
        src = _data.Arrays(x_val[:n], y_val[:n], _data.take_weights(w_val, slice(0, n)), batch_size)
        steps = src.steps
    else:
        src, steps = _evaluation.source(model, "fit: validation_data", validation[1], None, None, validation_steps,
                                        workers=validation[2], max_queue_size=validation[3])
    return _evaluation.evaluate_source(model, src, steps)


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
                                     "seen": int(unfinished["seen"]), "batch_size": unfinished["batch_size"]}
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
        if key == "batch_size" and v is None:
            continue        # a run on a Sequence or a generator
        if not isinstance(v, int) or isinstance(v, bool) or v < least:
            raise ValueError(f"training state: the unfinished epoch's {key!r} must be an integer >= {least}, "
                             f"got {v!r}")
    return {"shuffle_rng": shuffle_rng, "sums": [float(v) for v in sums], "seen": seen, "batch_size": batch}
