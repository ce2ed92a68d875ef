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

Model files (save, save_weights, load_model, load_weights) are in cnet.saving's format: this module
builds the header and arrays of a model and rebuilds the model from them. The fit loop is in
cnet._training, the metrics in cnet.metrics.
"""
import math
import threading
import warnings

import numpy as np

from . import _evaluation, _model_io, _training, backend, losses, optimizers, saving
from . import layers as layers_module
from . import metrics as metrics_module
from .layers.base import sync_params

__all__ = ["Sequential", "load_model", "save_model"]


def _softmax_head(layer):
    """True when `layer` ends in a softmax over the features of 2-D outputs (Dense/Conv2D with
    activation='softmax', Activation('softmax'), Softmax()): forward(x, train, logits=True) skips it."""
    act = getattr(layer, "_act", None)
    if act is None or not getattr(act, "is_softmax", False):
        return False
    out = getattr(layer, "output_shape", None)
    return out is None or len(out) == 1


def _loss_name(loss, given):
    if isinstance(given, str):
        return given
    for attr in ("name", "__name__"):
        name = getattr(loss, attr, None) or getattr(given, attr, None)
        if isinstance(name, str):
            return name
    return type(loss).__name__


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
        self._loss_name = None
        self._sparse_labels = False
        self._metric_specs = []
        self._metrics, self._weighted_metrics, self._weighted_specs = [], [], []
        self.metrics_names = ["loss"]
        self.history = None
        self._seed = seed
        self._rng = None
        self._resume_rng = None
        self._epochs_done = 0
        self._steps_done = 0
        self._epoch_step = 0
        self._unfinished = None      # the epoch fit is in: shuffling state at its start, metric sums...
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
        if isinstance(layer, layers_module.InputLayer):
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
        sync_params(self._params, self._seen, self._param_owner, "model.params")

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
        return (self._loss is not None and bool(self.layers) and bool(getattr(self._loss, "fuses_softmax", False))
                and _softmax_head(self.layers[-1]))

    def _forward_to_loss_input(self, x, train):
        """Forward up to what the loss takes: the logits for a fused softmax head, else the output."""
        self._sync_params()
        fused = self._fused()
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer.forward(x, train=train, logits=fused and i == last)
        return x

    def _loss_forward(self, out, y, sample_weight=None):
        """The loss of a batch; with sample weights, Keras's weighted loss (cnet.losses)."""
        fused = True if self._fused() else None
        if sample_weight is not None:
            return float(self._loss.weighted_forward(out, y, sample_weight, from_logits=fused))
        return float(self._loss.forward(out, y, from_logits=fused))

    def _prepare_y(self, y):
        y = np.asarray(y)
        if self._sparse_labels:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            return y.astype(np.int64, copy=False)
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
        self.backward(self._loss.backward())
        return self.grads

    # -- Keras's interface --
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, **kwargs):
        """Choose the optimizer (name or instance), the loss (name, function or object) and metrics;
        weighted_metrics: metrics weighted by fit's/evaluate's sample weights, as in Keras 2 (those of
        `metrics` are not), logged as 'weighted_<name>'."""
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='categorical_crossentropy'")
        if sample_weight_mode is not None:
            raise ValueError(f"compile: sample_weight_mode={sample_weight_mode!r} is not supported: cnet weighs "
                             "whole samples (one weight per sample, sample_weight_mode=None)")
        if kwargs:
            raise TypeError(f"compile got unexpected arguments: {', '.join(sorted(kwargs))}")
        self.optimizer = optimizers.get(optimizer)
        self._loss = losses.get(loss)
        self.loss_functions = [self._loss]
        name = _loss_name(self._loss, loss)
        self._loss_name = name
        self._sparse_labels = "sparse" in name.lower()
        self._metric_specs = list(metrics or [])
        self._weighted_specs = list(weighted_metrics or [])
        binary = "binary" in name.lower()
        self._metrics = [metrics_module.get(m, binary=binary) for m in self._metric_specs]
        self._weighted_metrics = [metrics_module.get(m, binary=binary, weighted=True) for m in self._weighted_specs]
        self.metrics_names = ["loss"] + [n for n, _, _ in self._metrics + self._weighted_metrics]
        self.stop_training = False

    def _rng_for(self, seed):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        elif self._rng is None:
            s = self._seed if self._seed is not None else _training.default_seed()
            self._rng = np.random.default_rng(s)
        return self._rng

    def _train_batch(self, xb, yb, sample_weight=None):
        """One optimizer step on a cast batch; returns [loss, metrics...] (the metrics of the batch's
        outputs before the update). Raises NonFiniteLoss before touching the weights when the loss is
        NaN or infinite, Diverged after the update when it left NaN or Inf in the weights or state.
        sample_weight: None, or the batch's per-sample weights (Keras's weighted loss)."""
        with self._step_lock, layers_module.training_workspaces(self.layers):  # the step reuses buffers
            out = self._forward_to_loss_input(xb, train=True)
            loss = self._loss_forward(out, yb, sample_weight)
            if not math.isfinite(loss):
                raise _training.NonFiniteLoss(loss)
            self.backward(self._loss.backward() if sample_weight is None else self._loss.weighted_backward())
            self.optimizer.update(self.trainable_params, self.grads)
            values = [loss] + self._batch_metrics(out, yb, sample_weight)
            _training.check_finite(self)
            return values

    def _test_batch(self, xb, yb, sample_weight=None):
        """[loss, metrics...] of a cast batch in inference mode."""
        with self._step_lock:
            out = self._forward_to_loss_input(xb, train=False)
            return [self._loss_forward(out, yb, sample_weight)] + self._batch_metrics(out, yb, sample_weight)

    def _batch_metrics(self, out, yb, sample_weight=None):
        if not (self._metrics or self._weighted_metrics):
            return []
        probs = self._loss.probs if self._fused() else out
        return ([fn(yb, probs if needs_probs else out) for _, fn, needs_probs in self._metrics]
                + [fn(yb, probs if needs_probs else out, sample_weight)
                   for _, fn, needs_probs in self._weighted_metrics])

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One gradient step on one batch; returns the loss (or [loss, metrics...]). sample_weight (one
        number per sample) or class_weight ({class: weight}): Keras's weighted loss."""
        self._require_compiled("train_on_batch")
        x = self._cast(x)
        self._ensure_built(x)
        yb = self._prepare_y(y)
        w = _training.batch_weights(y, sample_weight, class_weight, "train_on_batch")
        try:
            values = self._train_batch(x, yb) if w is None else self._train_batch(x, yb, w)
        except _training.NonFiniteLoss as exc:
            warnings.warn(f"train_on_batch: the loss is {exc.args[0]}; the weights were not updated",
                          RuntimeWarning, stacklevel=2)
            n = len(self.metrics_names) - 1
            return exc.args[0] if not n else [exc.args[0]] + [math.nan] * n
        except _training.Diverged as exc:
            warnings.warn(f"train_on_batch: training diverged: {exc}; lower the learning rate", RuntimeWarning,
                          stacklevel=2)
            return math.nan if len(self.metrics_names) == 1 else [math.nan] * len(self.metrics_names)
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (or [loss, metrics...]) of one batch in inference mode (weighted by sample_weight)."""
        self._require_compiled("test_on_batch")
        x = self._cast(x)
        self._ensure_built(x)
        yb = self._prepare_y(y)
        w = _training.batch_weights(y, sample_weight, None, "test_on_batch")
        values = self._test_batch(x, yb) if w is None else self._test_batch(x, yb, w)
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        """The outputs of one batch in inference mode."""
        x = self._cast(x)
        self._ensure_built(x)
        with self._step_lock:
            return self.forward(x, train=False).copy()

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, seed=None, class_weight=None, sample_weight=None, validation_steps=None,
            validation_freq=1, max_queue_size=10, workers=1, use_multiprocessing=False, **kwargs):
        """Train for `epochs` epochs; returns a History (history.history: loss, accuracy, val_loss, ...).

        x: arrays (with y), a cnet.utils.Sequence, or a generator yielding (x, y) or (x, y,
        sample_weight) batches forever (steps_per_epoch batches make an epoch). verbose: 0 silent, 1
        progress bar, 2 one line per epoch. validation_split takes the last fraction of x/y (before
        shuffling), like Keras. validation_data: (x_val, y_val), (x_val, y_val, val_sample_weight), a
        Sequence or a generator (then validation_steps batches). validation_freq: validate every N
        epochs, or after the listed (1-based) epochs. seed: reseed the shuffling Generator. shuffle: the
        samples of arrays, the batch order of a Sequence (not a generator's). sample_weight (arrays) or
        class_weight ({class: weight}): Keras 2's weighted loss. workers: threads reading a Sequence (N)
        or a generator (1; also a validation generator) ahead, at most max_queue_size batches; 0 reads
        on this thread.
        """
        return _training.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                             validation_data, shuffle, initial_epoch, steps_per_epoch, seed, class_weight,
                             sample_weight, validation_steps, validation_freq, max_queue_size, workers,
                             use_multiprocessing, **kwargs)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0, validation_freq=1):
        """Keras 2.1's fit_generator: fit on a generator or a cnet.utils.Sequence (see fit)."""
        _training.require_batches("fit_generator", generator, "fit(x, y)")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        class_weight=class_weight, max_queue_size=max_queue_size, workers=workers,
                        use_multiprocessing=use_multiprocessing, shuffle=shuffle, initial_epoch=initial_epoch,
                        validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None,
                 max_queue_size=10, workers=1, use_multiprocessing=False, return_dict=False):
        """Loss and metrics in inference mode: [loss, acc] (or the loss alone without metrics), or
        {'loss': ..., 'accuracy': ...} with return_dict=True. x: arrays (with y), a Sequence or a
        generator (see fit). steps: evaluate the first `steps` batches only (None: every sample, every
        batch of a Sequence, a generator until it ends). sample_weight: Keras 2's weighted loss."""
        return _evaluation.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, max_queue_size, workers,
                                    use_multiprocessing, return_dict)

    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                           verbose=0):
        """Keras 2.1's evaluate_generator: evaluate on a generator or a Sequence (see evaluate)."""
        _training.require_batches("evaluate_generator", generator, "evaluate(x, y)")
        return self.evaluate(generator, steps=steps, max_queue_size=max_queue_size, workers=workers,
                             use_multiprocessing=use_multiprocessing, verbose=verbose)

    def predict(self, x, batch_size=None, verbose=0, steps=None, max_queue_size=10, workers=1,
                use_multiprocessing=False):
        """The model's outputs (probabilities for a softmax head), computed batch by batch; x: arrays, a
        Sequence or a generator (of x, or of tuples whose first element is x); steps: the outputs of the
        first `steps` batches only (None: every sample, or a generator until it ends)."""
        return _evaluation.predict(self, x, batch_size, verbose, steps, max_queue_size, workers, use_multiprocessing)

    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                          verbose=0):
        """Keras 2.1's predict_generator: predict on a generator or a Sequence (see predict)."""
        _training.require_batches("predict_generator", generator, "predict(x)")
        return self.predict(generator, steps=steps, max_queue_size=max_queue_size, workers=workers,
                            use_multiprocessing=use_multiprocessing, verbose=verbose)

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
                "layers": [layers_module.serialize(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config):
        """Rebuild an (untrained) model from get_config(); layer classes come from cnet.layers only."""
        return cls._assemble(*_model_io.layers_from_config(config))

    @classmethod
    def _assemble(cls, name, dtype, input_shape, layers):
        model = cls(name=name, dtype=dtype)
        model.input_shape = input_shape
        for layer in layers:
            model.add(layer)
        if model.input_shape is not None and not model.built:
            model.build()
        return model

    # -- files --
    @property
    def training_state(self):
        """{'epoch': completed epochs, 'step': optimizer steps done by fit, 'epoch_step': steps done in an
        unfinished epoch (0 after a complete one)}: with load_model, resume with
        fit(..., initial_epoch=model.training_state['epoch'])."""
        return {"epoch": self._epochs_done, "step": self._steps_done, "epoch_step": self._epoch_step}

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """Save architecture, weights, compile configuration, optimizer and training state to one safe
        file (see cnet.saving); the write is atomic. overwrite=False refuses (FileExistsError) to
        replace an existing file, where Keras would ask on the terminal."""
        _model_io.save(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True):
        """Save the weights (with the architecture, which load_weights checks); overwrite as in save."""
        _model_io.save(self, filepath, weights_only=True, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False):
        """Load weights saved by save_weights or save. The file's layer i goes into layer i (same
        layers and shapes), or, with by_name=True, into the layer of the same name (as Keras: layers
        whose name is not in the file keep their weights; a name with other shapes is an error)."""
        _model_io.load_weights(self, filepath, by_name=by_name)
        self._collect_params()


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Keras's save_model: model.save(filepath, overwrite, include_optimizer)."""
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def _model_from_header(mf):
    """The model a file describes, built only after its declared shapes were checked against the
    file's arrays (a small file cannot make the loader allocate a large model)."""
    spec = mf.header.get("model")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise mf.error("the 'model' entry is missing or malformed")
    if spec.get("class_name") != "Sequential":
        raise mf.error(f"unknown model class {spec.get('class_name')!r} (cnet saves Sequential models)")
    try:
        parts = _model_io.layers_from_config(spec["config"])
        _model_io.check_shapes(mf, parts[2], parts[3])
        return Sequential._assemble(*parts)
    except ValueError as exc:
        raise exc if str(exc).startswith(mf.path) else mf.error(str(exc)) from None
    except (TypeError, KeyError, AttributeError) as exc:
        raise mf.error(f"invalid model configuration ({type(exc).__name__}: {exc})") from None


def load_model(filepath, compile=True, custom_objects=None):
    """Load a model saved with model.save(filepath): architecture, weights, compile configuration,
    optimizer and training state. Never unpickles; errors are ValueError naming the file."""
    if custom_objects:
        raise ValueError("custom_objects is not supported: cnet model files name only cnet's own "
                         "layers, losses and optimizers")
    with saving.ModelFile(filepath) as mf:
        mf.require_kind("model")
        model = _model_from_header(mf)
        _model_io.restore(mf, model, compile=compile)
    return model


def _layer_input_shape(layer):
    shape = getattr(layer, "_declared_input_shape", None)
    return None if shape is None else tuple(int(s) for s in shape)
