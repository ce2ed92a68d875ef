"""Sequential models: Keras 2's compile/fit/evaluate/predict, and the book's forward/backward/params/grads.

    model = Sequential([Dense(512, activation='relu', input_shape=(784,)), Dense(10, activation='softmax')])
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=128, epochs=20, validation_data=(x_test, y_test))

When the model ends in a softmax (Dense(..., activation='softmax'), Activation('softmax') or Softmax())
and the loss is a cross-entropy, training and evaluation skip the softmax and feed the logits to the
fused, numerically stable softmax cross-entropy; predict() still returns probabilities.

Inputs of any numeric dtype (uint8 images, float64 arrays) are cast to the model's dtype (float32 unless
Sequential(dtype='float64')) one batch at a time. Shuffling uses a NumPy Generator seeded by
Sequential(seed=...), fit(seed=...) or cnet.initializers' global seed: the same seed gives the same run.
"""
import math
import signal
import threading
import warnings

import numpy as np

from . import backend
from . import callbacks as callbacks_module
from . import saving
from .layers import training_workspaces

__all__ = ["Sequential", "load_model"]

_ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy",
                   "binary_accuracy")


# ---- adapters to the layer / loss / optimizer modules --------------------------------------------

def _layers_module():
    from . import layers
    return layers


def _softmax_head(layer):
    """True when `layer` ends in a softmax over the features of 2-D outputs (Dense/Conv2D with
    activation='softmax', Activation('softmax'), Softmax()): forward(x, train, logits=True) skips it."""
    act = getattr(layer, "_act", None)
    if act is None or not getattr(act, "is_softmax", False):
        return False
    out = getattr(layer, "output_shape", None)
    return out is None or len(out) == 1


def _loss_fuses_softmax(loss):
    return bool(getattr(loss, "fuses_softmax", False))


def _loss_name(loss, given):
    if isinstance(given, str):
        return given
    for attr in ("name", "__name__"):
        name = getattr(loss, attr, None) or getattr(given, attr, None)
        if isinstance(name, str):
            return name
    return type(loss).__name__


def _optimizer_config(opt):
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def _optimizer_from_config(spec):
    from . import optimizers
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"malformed optimizer entry {spec!r}")
    cls = type(optimizers.get(spec["class_name"]))
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"malformed optimizer config {config!r}")
    if hasattr(cls, "from_config"):
        return cls.from_config(config)
    return cls(**config)


def _default_seed():
    """A shuffling seed drawn from cnet.initializers' Generator, so cnet.set_seed(s) fixes it too."""
    from . import initializers
    return int(initializers.get_rng().integers(2 ** 63))


# ---- metrics -----------------------------------------------------------------------------------

def _accuracy(out, y):
    """Fraction of correct predictions: argmax for one-hot/sparse targets, threshold 0.5 for one unit."""
    if out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1):
        pred = out.reshape(out.shape[0], -1)[:, 0] > 0.5
        return float(np.mean(pred == (np.asarray(y).reshape(out.shape[0], -1)[:, 0] > 0.5)))
    pred = out.reshape(out.shape[0], -1).argmax(axis=1)
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        y = y.reshape(y.shape[0], -1).argmax(axis=1)
    return float(np.mean(pred == y.reshape(-1)))


def _binary_accuracy(out, y):
    return float(np.mean((out > 0.5) == (np.asarray(y).reshape(out.shape) > 0.5)))


def _mse(out, y):
    return float(np.mean((out.astype(np.float64) - np.asarray(y).reshape(out.shape)) ** 2))


def _mae(out, y):
    return float(np.mean(np.abs(out.astype(np.float64) - np.asarray(y).reshape(out.shape))))


_METRICS = {"mse": _mse, "mean_squared_error": _mse, "mae": _mae, "mean_absolute_error": _mae,
            "binary_accuracy": _binary_accuracy}


def _resolve_metric(m):
    """(log name, fn(out, y) -> float, needs probabilities)."""
    if isinstance(m, str):
        if m in _ACCURACY_NAMES and m != "binary_accuracy":
            return m, _accuracy, False
        if m in _METRICS:
            return m, _METRICS[m], True
        raise ValueError(f"unknown metric {m!r}; known: {', '.join(_ACCURACY_NAMES + tuple(_METRICS))}")
    if callable(m):
        name = getattr(m, "__name__", type(m).__name__)
        return name, (lambda out, y, fn=m: float(np.mean(fn(y, out)))), True
    raise TypeError(f"a metric must be a name or a function, got {type(m).__name__}")


class _NonFiniteLoss(Exception):
    pass


class _SigintGuard:
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


# Bit generators whose state a model file may restore (named in the file; never an arbitrary attribute).
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


# ---- the model -----------------------------------------------------------------------------------

class Sequential:
    """A linear stack of layers.

    Args:
        layers: layers to add, in order.
        name: the model's name (shown by summary()).
        dtype: 'float32' or 'float64': the dtype of the weights and of the computation (default:
            ``cnet.backend.floatx()`` when the model is created, 'float32' unless ``set_floatx`` changed it).
        seed: seed of the Generator that shuffles the training data in fit().
    """

    def __init__(self, layers=None, name=None, dtype=None, seed=None):
        self.name = name or "sequential"
        self.dtype = np.dtype(backend.floatx() if dtype is None else dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.layers = []
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self.stop_training = False
        self.stop_reason = None
        self.optimizer = None
        self.loss_functions = None
        self._loss = None
        self._loss_given = None
        self._loss_name = None
        self._sparse_labels = False
        self._metric_specs = []
        self._metrics = []
        self.metrics_names = ["loss"]
        self.history = None
        self._seed = seed
        self._rng = None
        self._resume_rng = None
        self._epochs_done = 0
        self._steps_done = 0
        self._epoch_step = 0
        self._params = {}
        self._param_owner = {}
        self._seen = {}
        # One step at a time: a training step, or one batch of test_on_batch/evaluate/predict, holds it
        # (the layers reuse their buffers), so threads sharing a model take turns batch by batch.
        self._step_lock = threading.RLock()
        for layer in layers or []:
            self.add(layer)

    # -- structure --
    def add(self, layer):
        """Append a layer (an InputLayer only fixes the input shape)."""
        if not (hasattr(layer, "forward") and hasattr(layer, "backward") and hasattr(layer, "build")):
            raise TypeError(f"Sequential.add expects a cnet layer, got {type(layer).__name__}")
        if type(layer).__name__ == "InputLayer":
            if self.layers:
                raise ValueError("an InputLayer must come first in a Sequential model")
            self.input_shape = _layer_input_shape(layer)
            return
        if any(other.name == layer.name for other in self.layers):
            raise ValueError(f"all layers of a Sequential model need unique names; {layer.name!r} is "
                             "already used (pass name=... to the layer)")
        self.layers.append(layer)
        if len(self.layers) == 1 and self.input_shape is None:
            self.input_shape = _layer_input_shape(layer)
        if self.built:
            self._build_layers()
        elif self.input_shape is not None:
            self.build()

    def pop(self):
        """Remove the last layer."""
        if not self.layers:
            raise TypeError("there is no layer to pop in an empty Sequential model")
        self.layers.pop()
        if self.built:
            self._build_layers()

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (with or without a leading None batch axis)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            self.input_shape = tuple(int(s) for s in shape)
        if self.input_shape is None:
            raise ValueError("cannot build the model: give input_shape= to the first layer, add an "
                             "InputLayer, call build(input_shape) or fit/predict on data")
        self._build_layers()

    def _build_layers(self):
        shape = self.input_shape
        for layer in self.layers:
            if not layer.built:
                out = layer.build(shape, dtype=self.dtype)
            else:
                out = getattr(layer, "output_shape", None) or layer.compute_output_shape(shape)
            shape = tuple(out)
        self.output_shape = shape
        self.built = True
        self._collect_params()

    def _ensure_built(self, x):
        if not self.built:
            self.build(tuple(np.shape(x)[1:]))

    def _collect_params(self):
        self._params, self._param_owner = {}, {}
        for layer in self.layers:
            for pname, arr in layer.params.items():
                key = f"{layer.name}/{pname}"
                self._params[key] = arr
                self._param_owner[key] = (layer, pname)
        self._seen = dict(self._params)

    def _sync_params(self):
        """Reconcile model.params with the layers: an array rebound in model.params (book style,
        params[k] = new) goes into its layer; one rebound in a layer (a dtype change, a book net's
        load_params) replaces the model's entry."""
        if set(self._params) != set(self._seen):
            raise ValueError("model.params: keys were added or removed; the keys are fixed by the layers "
                             f"({', '.join(self._seen)})")
        for key, (layer, pname) in self._param_owner.items():
            mine, seen, theirs = self._params[key], self._seen[key], layer.params.get(pname)
            if mine is not seen:
                if not isinstance(mine, np.ndarray) or mine.shape != seen.shape:
                    raise ValueError(f"model.params[{key!r}] must be an array of shape {seen.shape}")
                if mine.dtype != layer.dtype:
                    mine = self._params[key] = mine.astype(layer.dtype)
                layer.params[pname] = mine
            elif theirs is not seen:
                self._params[key] = theirs
            self._seen[key] = self._params[key]

    @property
    def params(self):
        """{'layername/W': array}: the trainable arrays of every layer (shared, not copies)."""
        if not self.built:
            raise ValueError("the model has no parameters before it is built")
        return self._params

    @property
    def grads(self):
        """{'layername/W': array}: the gradients of the last backward pass, keyed like params."""
        return {key: layer.grads[pname] for key, (layer, pname) in self._param_owner.items()
                if pname in layer.grads}

    @property
    def trainable_params(self):
        return {k: v for k, v in self._params.items() if self._param_owner[k][0].trainable}

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self):
        """Every layer's get_weights(), concatenated (Keras order)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.get_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights: the model has {expected} weight arrays, got {len(weights)}")
        i = 0
        for layer in self.layers:
            n = len(layer.get_weights())
            if n:
                layer.set_weights(weights[i:i + n])
            i += n
        self._collect_params()

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; the layers are {[lay.name for lay in self.layers]}")

    # -- the book's interface --
    def _cast(self, x):
        x = np.asarray(x)
        if x.dtype != self.dtype:
            if x.dtype.kind not in "biuf":   # complex would silently lose its imaginary part
                try:
                    if x.dtype.kind != "O":
                        raise TypeError
                    return x.astype(self.dtype)
                except (TypeError, ValueError):
                    raise TypeError(f"inputs must be numeric (bool, int or float), got an array of dtype "
                                    f"{x.dtype} and shape {x.shape}") from None
            x = x.astype(self.dtype)
        return x

    def forward(self, x, train=True):
        """Run every layer; returns the model output (probabilities for a softmax head)."""
        x = self._cast(x)
        self._ensure_built(x)
        self._sync_params()
        for layer in self.layers:
            x = layer.forward(x, train=train)
        return x

    def backward(self, dout):
        """Backpropagate dout (gradient of the loss w.r.t. the output); fills every layer's grads."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def _fused(self):
        """True when training/evaluation feed the logits to a fused softmax cross-entropy."""
        return (self._loss is not None and bool(self.layers) and _loss_fuses_softmax(self._loss)
                and _softmax_head(self.layers[-1]))

    def _forward_to_loss_input(self, x, train):
        """Forward up to what the loss takes: the logits for a fused softmax head, else the output."""
        self._sync_params()
        fused = self._fused()
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, train=train, logits=fused and i == last)
        return x

    def _loss_forward(self, out, y):
        if self._fused():
            return float(self._loss.forward(out, y, from_logits=True))
        return float(self._loss.forward(out, y))

    def _backward_from_loss(self, dout):
        return self.backward(dout)

    def _prepare_y(self, y):
        y = np.asarray(y)
        if self._sparse_labels:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            try:
                return y.astype(np.int64, copy=False)
            except OverflowError:   # an object array holding a huge number
                raise ValueError(f"y: class indices out of range (a {y.dtype} array of shape {y.shape})") from None
        if y.dtype.kind in "iub" and y.ndim >= 2:
            return y.astype(self.dtype)
        if y.dtype.kind == "f" and y.dtype != self.dtype:
            return y.astype(self.dtype)
        return y

    def _require_compiled(self, what):
        if self._loss is None:
            raise RuntimeError(f"{what}: compile the model first (model.compile(optimizer, loss, metrics))")

    def loss(self, x, t):
        """The loss of a batch (training-mode forward), book style: model.loss(x, t) -> float."""
        self._require_compiled("loss")
        x = self._cast(x)
        self._ensure_built(x)
        out = self._forward_to_loss_input(x, train=True)
        return self._loss_forward(out, self._prepare_y(t))

    def gradient(self, x, t):
        """Backpropagation, book style: {'layername/W': gradient} for a batch (no update)."""
        self.loss(x, t)
        self._backward_from_loss(self._loss.backward())
        return self.grads

    # -- Keras's interface --
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        """Choose the optimizer (name or instance), the loss (name, function or object) and metrics."""
        from . import losses, optimizers
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self._loss = losses.get(loss)
        self._loss_given = loss
        self.loss_functions = [self._loss]
        name = _loss_name(self._loss, loss)
        self._loss_name = name
        self._sparse_labels = "sparse" in name.lower()
        self._metric_specs = list(metrics or [])
        self._metrics = [_resolve_metric(m) for m in self._metric_specs]
        if "binary" in name.lower():
            self._metrics = [(n, _binary_accuracy, True) if fn is _accuracy else (n, fn, p)
                             for n, fn, p in self._metrics]
        self.metrics_names = ["loss"] + [n for n, _, _ in self._metrics]
        self.stop_training = False

    def _rng_for(self, seed):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        elif self._rng is None:
            s = self._seed if self._seed is not None else _default_seed()
            self._rng = np.random.default_rng(s)
        return self._rng

    def _train_batch(self, xb, yb):
        """One optimizer step on a cast batch; returns [loss, metrics...] (the metrics of the batch's
        outputs before the update). Raises _NonFiniteLoss before touching the weights when the loss is
        NaN or infinite."""
        with self._step_lock, training_workspaces(self.layers):  # the step reuses the layers' buffers
            out = self._forward_to_loss_input(xb, train=True)
            loss = self._loss_forward(out, yb)
            if not math.isfinite(loss):
                raise _NonFiniteLoss(loss)
            self._backward_from_loss(self._loss.backward())
            self.optimizer.update(self.trainable_params, self.grads)
            return [loss] + self._batch_metrics(out, yb)

    def _test_batch(self, xb, yb):
        """[loss, metrics...] of a cast batch in inference mode."""
        with self._step_lock:
            out = self._forward_to_loss_input(xb, train=False)
            return [self._loss_forward(out, yb)] + self._batch_metrics(out, yb)

    def _batch_metrics(self, out, yb):
        if not self._metrics:
            return []
        values = []
        for _, fn, needs_probs in self._metrics:
            if needs_probs and self._fused():
                values.append(fn(self._loss.probs, yb))
            else:
                values.append(fn(out, yb))
        return values

    def train_on_batch(self, x, y):
        """One gradient step on one batch; returns the loss (or [loss, metrics...])."""
        self._require_compiled("train_on_batch")
        x = self._cast(x)
        self._ensure_built(x)
        yb = self._prepare_y(y)
        try:
            values = self._train_batch(x, yb)
        except _NonFiniteLoss as exc:
            warnings.warn(f"train_on_batch: the loss is {exc.args[0]}; the weights were not updated",
                          RuntimeWarning, stacklevel=2)
            return exc.args[0] if not self._metrics else [exc.args[0]] + [math.nan] * len(self._metrics)
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y):
        """The loss (or [loss, metrics...]) of one batch in inference mode."""
        self._require_compiled("test_on_batch")
        x = self._cast(x)
        self._ensure_built(x)
        yb = self._prepare_y(y)
        values = self._test_batch(x, yb)
        return values[0] if len(values) == 1 else values

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, seed=None, **kwargs):
        """Train for `epochs` epochs; returns a History (history.history: loss, accuracy, val_loss, ...).

        verbose: 0 silent, 1 progress bar, 2 one line per epoch. validation_split takes the last fraction
        of x/y (before shuffling), like Keras. seed: reseed the shuffling Generator.
        """
        self._require_compiled("fit")
        unknown = set(kwargs) - {"class_weight", "sample_weight", "validation_steps", "max_queue_size",
                                 "workers", "use_multiprocessing", "nb_epoch", "validation_freq"}
        if unknown:
            raise TypeError(f"fit got unexpected arguments: {', '.join(sorted(unknown))}")
        if kwargs.get("class_weight") is not None or kwargs.get("sample_weight") is not None:
            raise NotImplementedError("fit: class_weight and sample_weight are not supported yet")
        epochs = kwargs.get("nb_epoch", epochs)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        x, y = _as_array(x, "x"), _as_array(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            x_val, y_val = _as_array(validation_data[0], "x_val"), _as_array(validation_data[1], "y_val")
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
        self._ensure_built(x[:1])
        rng = self._rng_for(seed)
        steps = steps_per_epoch or math.ceil(n / batch_size)

        if self._resume_rng is not None and initial_epoch > 0:
            # a model loaded from a checkpoint continues the shuffling where the checkpoint left it
            # (fit's seed, if given, already decided that state in the first run)
            rng = self._rng = self._resume_rng
        self._resume_rng = None

        history = callbacks_module.History()
        cbs = [history]
        if verbose:
            cbs.append(callbacks_module.ProgbarLogger(verbose))
        cbs += list(callbacks or [])
        params = {"epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": n,
                  "verbose": verbose, "do_validation": x_val is not None,
                  "metrics": self.metrics_names + (["val_" + m for m in self.metrics_names]
                                                   if x_val is not None else [])}
        history.params = params
        cblist = callbacks_module.CallbackList(cbs, self, params)
        self.history = history
        self.stop_training = False
        self.stop_reason = None

        with _SigintGuard() as sigint:
            self._fit_epochs(x, y, x_val, y_val, rng, shuffle, batch_size, initial_epoch, epochs,
                             steps, n, cblist, history, sigint)
        return history

    def _fit_epochs(self, x, y, x_val, y_val, rng, shuffle, batch_size, initial_epoch, epochs, steps,
                    n, cblist, history, sigint):
        names = self.metrics_names
        cblist.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cblist.on_epoch_begin(epoch, {})
            order = rng.permutation(n) if shuffle else None
            sums = np.zeros(len(names))
            seen = 0
            self._epoch_step = 0
            for step in range(steps):
                start = (step * batch_size) % n
                stop = min(start + batch_size, n)
                idx = slice(start, stop) if order is None else order[start:stop]
                xb = self._cast(x[idx])
                yb = self._prepare_y(y[idx])
                m = len(xb)
                cblist.on_batch_begin(step, {"batch": step, "size": m})
                try:
                    values = self._train_batch(xb, yb)
                except _NonFiniteLoss as exc:
                    self.stop_training = True
                    self.stop_reason = (f"the loss became {exc.args[0]} at epoch {epoch + 1}, step "
                                        f"{step + 1}/{steps}; training stopped before that step's "
                                        "update (lower the learning rate, or check the inputs)")
                    warnings.warn("fit: " + self.stop_reason, RuntimeWarning, stacklevel=2)
                    values = [exc.args[0]] + [math.nan] * (len(names) - 1)
                sums += np.asarray(values) * m
                seen += m
                if not self.stop_reason:
                    self._steps_done += 1
                    self._epoch_step = step + 1
                logs = callbacks_module.MetricsDict(zip(names, (sums / seen).tolist()))
                logs.update(batch=step, size=m)
                cblist.on_batch_end(step, logs)
                if sigint.requested and not self.stop_reason:
                    self.stop_training = True
                    self.stop_reason = (f"interrupted (SIGINT) at epoch {epoch + 1}, step {step + 1}/{steps}; "
                                        f"stopped after that step. The weights hold every step done, the "
                                        f"history the {len(history.epoch)} completed epochs, and the "
                                        f"checkpoints of completed epochs are valid")
                    history.interrupted = {"epoch": epoch, "step": step + 1,
                                           "logs": callbacks_module.MetricsDict(logs)}
                    warnings.warn("fit: " + self.stop_reason, RuntimeWarning, stacklevel=3)
                    break
                if self.stop_training:
                    break
            if history.interrupted is not None:
                break   # an unfinished epoch: no on_epoch_end, so no checkpoint claims it is done
            if self._epoch_step == steps:
                self._epochs_done, self._epoch_step = epoch + 1, 0
            epoch_logs = callbacks_module.MetricsDict(zip(names, (sums / max(seen, 1)).tolist()))
            if x_val is not None and not self.stop_reason:
                val = self.evaluate(x_val, y_val, batch_size=batch_size, verbose=0)
                val = val if isinstance(val, list) else [val]
                epoch_logs.update(("val_" + k, v) for k, v in zip(names, val))
            cblist.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cblist.on_train_end({})

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, steps=None, **kwargs):
        """Loss and metrics in inference mode: [loss, acc] (or the loss alone without metrics)."""
        self._require_compiled("evaluate")
        batch_size = 32 if batch_size is None else int(batch_size)
        x, y = _as_array(x, "x"), _as_array(y, "y")
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
        n = len(x)
        if n == 0:
            raise ValueError("evaluate: no samples")
        self._ensure_built(x[:1])
        sums = np.zeros(len(self.metrics_names))
        bar = _progbar(n, batch_size, verbose)
        for i, start in enumerate(range(0, n, batch_size)):
            xb = self._cast(x[start:start + batch_size])
            yb = self._prepare_y(y[start:start + batch_size])
            sums += np.asarray(self._test_batch(xb, yb)) * len(xb)
            if bar:
                bar.update(i + 1, list(zip(self.metrics_names, (sums / min(start + batch_size, n)))))
        result = (sums / n).tolist()
        return result[0] if len(result) == 1 else result

    def predict(self, x, batch_size=None, verbose=0, steps=None):
        """The model's outputs (probabilities for a softmax head), computed batch by batch."""
        batch_size = 32 if batch_size is None else int(batch_size)
        x = _as_array(x, "x")
        n = len(x)
        if n == 0:
            raise ValueError("predict: no samples")
        self._ensure_built(x[:1])
        bar = _progbar(n, batch_size, verbose)
        result = None
        for i, start in enumerate(range(0, n, batch_size)):
            with self._step_lock:
                out = self.forward(x[start:start + batch_size], train=False)
                if result is None:
                    result = np.empty((n,) + out.shape[1:], dtype=out.dtype)
                result[start:start + len(out)] = out
            if bar:
                bar.update(i + 1)
        return result

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2 Sequential.predict_classes: argmax of the outputs (threshold 0.5 for one unit)."""
        p = self.predict(x, batch_size=batch_size, verbose=verbose)
        if p.ndim == 2 and p.shape[1] > 1:
            return p.argmax(axis=-1)
        return (p > 0.5).astype(np.int32)

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    __call__ = predict

    # -- description --
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print a Keras-like table: layer (type), output shape, number of parameters; totals."""
        print_fn = print_fn or print
        for line in self._summary_lines(line_length or 65):
            print_fn(line)

    def _summary_lines(self, width):
        cols = [int(width * 0.45), int(width * 0.85), width]
        def row(fields):
            text = ""
            for field, end in zip(fields, cols):
                text = (text + str(field))[:end - 1].ljust(end)
            return text.rstrip()
        lines = [f'Model: "{self.name}"', "_" * width,
                 row(["Layer (type)", "Output Shape", "Param #"]), "=" * width]
        total = trainable = 0
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            if layer.built:
                out = getattr(layer, "output_shape", None)
                if out is None and shape is not None:
                    out = layer.compute_output_shape(shape)
                shape = out
                out_text = str((None,) + tuple(out)) if out is not None else "multiple"
                n = layer.count_params()
            else:
                out_text, n = "(unbuilt)", 0
            lines.append(row([f"{layer.name} ({type(layer).__name__})", out_text, n]))
            lines.append("=" * width if i == len(self.layers) - 1 else "_" * width)
            total += n
            if layer.trainable:
                trainable += sum(int(np.size(p)) for p in layer.params.values())
        if not self.layers:
            lines.append("=" * width)
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * width]
        return lines

    def get_config(self):
        """JSON-able architecture: name, dtype, input shape and each layer's class name and config."""
        return {"name": self.name, "dtype": self.dtype.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        """Rebuild an (untrained) model from get_config(); layer classes come from cnet.layers only."""
        layers_mod = _layers_module()
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("a Sequential config needs a 'layers' list")
        model = cls(name=config.get("name"), dtype=config.get("dtype") or "float32")
        input_shape = config.get("input_shape")
        layers = []
        for i, spec in enumerate(config["layers"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
                raise ValueError(f"layer {i}: malformed entry {spec!r}")
            name = spec["class_name"]
            try:
                layer_cls = layers_mod.get(name)
            except (ValueError, KeyError, TypeError, AttributeError):
                layer_cls = None
            if not isinstance(layer_cls, type):
                raise ValueError(f"layer {i}: unknown layer class {name!r} (not a cnet layer)")
            lconf = spec.get("config") or {}
            if not isinstance(lconf, dict):
                raise ValueError(f"layer {i} ({name}): its config must be a JSON object")
            try:
                layers.append(layer_cls.from_config(lconf))
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"layer {i} ({name}): invalid config ({exc})") from None
        if input_shape is not None:
            if not isinstance(input_shape, list) or not all(isinstance(s, int) and s > 0
                                                            for s in input_shape):
                raise ValueError(f"invalid input_shape {input_shape!r}")
            model.input_shape = tuple(input_shape)
        for layer in layers:
            model.add(layer)
        if model.input_shape is not None and not model.built:
            model.build()
        return model

    # -- saving --
    def _compile_config(self):
        if self._loss is None:
            return None
        return {"loss": self._loss_name, "optimizer": _optimizer_config(self.optimizer),
                "metrics": [m if isinstance(m, str) else getattr(m, "__name__", str(m))
                            for m in self._metric_specs]}

    def _restore_compile(self, cfg):
        optimizer = _optimizer_from_config(cfg.get("optimizer"))
        loss = cfg.get("loss")
        if not isinstance(loss, str):
            raise ValueError(f"malformed loss entry {loss!r}")
        metrics = cfg.get("metrics") or []
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ValueError(f"malformed metrics entry {metrics!r}")
        self.compile(optimizer=optimizer, loss=loss, metrics=metrics)

    def _optimizer_state(self):
        if self.optimizer is None or not hasattr(self.optimizer, "get_state"):
            return None
        return self.optimizer.get_state()

    def _set_optimizer_state(self, state):
        self.optimizer.set_state(state)

    @property
    def training_state(self):
        """{'epoch': completed epochs, 'step': optimizer steps done by fit, 'epoch_step': steps done in an
        unfinished epoch (0 after a complete one)}: with load_model, resume with
        fit(..., initial_epoch=model.training_state['epoch'])."""
        return {"epoch": self._epochs_done, "step": self._steps_done, "epoch_step": self._epoch_step}

    def _training_state(self):
        """Everything besides weights and optimizer state that decides the rest of a run: counters, the
        shuffling Generator's state and each Dropout layer's seed and step (JSON data)."""
        state = dict(self.training_state)
        rng = self._rng
        state["shuffle_rng"] = None if rng is None else rng.bit_generator.state
        state["dropout"] = [{"layer": i, "seed": layer._base_seed, "step": int(layer.step)}
                            for i, layer in enumerate(self.layers) if _is_dropout(layer)]
        return state

    def _restore_training_state(self, state):
        """Inverse of _training_state; raises ValueError on malformed data."""
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
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.layers) \
                    or not _is_dropout(self.layers[i]):
                raise ValueError(f"training state: dropout entry {entry!r} names no Dropout layer")
            seed, step = entry.get("seed"), entry.get("step")
            if not (seed is None or (isinstance(seed, int) and 0 <= seed < 2 ** 64)) or \
                    not isinstance(step, int) or isinstance(step, bool) or step < 0:
                raise ValueError(f"training state: invalid dropout seed/step in {entry!r}")
            updates.append((self.layers[i], seed, step))
        for layer, seed, step in updates:
            layer._base_seed, layer.step = seed, step
        self._epochs_done, self._steps_done, self._epoch_step = (counters["epoch"], counters["step"],
                                                                 counters["epoch_step"])
        self._rng = self._resume_rng = rng

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Save architecture, weights, compile configuration and optimizer state to one safe file
        (see cnet.saving); the write is atomic."""
        if not self.built:
            raise ValueError("cannot save a model that is not built yet (fit it or call build first)")
        saving.save_model(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        if not self.built:
            raise ValueError("cannot save the weights of a model that is not built yet")
        saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False):
        saving.load_weights(self, filepath)
        self._collect_params()


def load_model(filepath, compile=True, custom_objects=None):
    """Load a model saved with model.save(filepath). Never unpickles; errors are ValueError."""
    if custom_objects:
        raise ValueError("custom_objects is not supported: cnet model files name only cnet's own "
                         "layers, losses and optimizers")
    return saving.load_model(filepath, compile=compile)


# ---- helpers -------------------------------------------------------------------------------------

def _is_dropout(layer):
    """A Dropout layer (its mask stream is (seed, step), see cnet.layers.Dropout)."""
    return type(layer).__name__ == "Dropout" and hasattr(layer, "step") and hasattr(layer, "_base_seed")


def _layer_input_shape(layer):
    shape = getattr(layer, "_declared_input_shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def _as_array(a, name):
    if a is None:
        raise ValueError(f"{name} is required")
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple)) and len(a) == 1 and isinstance(a[0], np.ndarray):
        return a[0]   # Keras accepts a list holding the single input array
    return np.asarray(a)


def _progbar(n, batch_size, verbose):
    if not verbose:
        return None
    from .progbar import Progbar
    return Progbar(math.ceil(n / batch_size), verbose=verbose)
