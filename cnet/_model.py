"""The Model class: what Sequential and the functional Model(inputs, outputs) share (cnet.models is the
public module: see its docstring). A model holds a cnet._graph.Graph and runs every forward and backward
pass through it: the book's forward/backward/params/grads and Keras 2's compile/fit/evaluate/predict,
train_on_batch/test_on_batch, summary, get_config/to_json, save/save_weights/load_weights.
"""
import json
import math
import numbers
import threading
import warnings

import numpy as np

from . import _compile, _data, _evaluation, _graph, _model_io, _parallel, _summary, _training, optimizers
from ._compile import Arrays, listed
from .layers import _half
from .layers.base import sync_params
from .layers.node import is_symbolic

__all__ = ["Model"]

_COMPILE_UNSUPPORTED = ("target_tensors", "run_eagerly", "steps_per_execution", "jit_compile")


def _cast_array(x, dtype):
    x = np.asarray(x)
    if x.dtype != dtype:
        if x.dtype.kind not in "biuf":   # complex would silently lose its imaginary part
            try:    # an object array of numbers (a pandas column); None would become NaN, '1' would parse
                if x.dtype.kind != "O" or not all(isinstance(v, numbers.Real) for v in x.flat):
                    raise TypeError
                return x.astype(dtype)
            except (TypeError, ValueError):
                raise TypeError(f"inputs must be numeric (bool, int or float), got an array of dtype "
                                f"{x.dtype} and shape {x.shape}") from None
        x = x.astype(dtype)
    return x


def _refuse_distributed_weights(sample_weight):
    if sample_weight is not None:
        raise NotImplementedError("sample_weight and class_weight are not supported in distributed training "
                                  "(cnet.distributed) yet: train without them there, or on one process")


def _unique(names):
    out = []
    for n in names:
        k, name = 0, n
        while name in out:
            k += 1
            name = f"{n}_{k}"
        out.append(name)
    return out


class Model:
    """A functional model: the layers that lead from `inputs` to `outputs` (symbolic tensors from
    cnet.layers.Input and layer calls; a list for several).

    Args:
        inputs, outputs: a tensor or a list of tensors (Keras 2.0's input=/output= are accepted too).
        name: the model's name (shown by summary()).
        seed: seed of the Generator that shuffles the training data in fit().
    """

    _functional = True    # summary() shows what each layer is connected to

    def __init__(self, inputs=None, outputs=None, name=None, seed=None, **kwargs):
        for old, new in (("input", "inputs"), ("output", "outputs")):   # Keras 2.0's spellings
            if old in kwargs:
                if (inputs if new == "inputs" else outputs) is not None:
                    raise TypeError(f"Model: give {new}= or {old}=, not both")
                if new == "inputs":
                    inputs = kwargs.pop(old)
                else:
                    outputs = kwargs.pop(old)
        if kwargs:
            raise TypeError(f"Model: unexpected keyword argument(s) {sorted(kwargs)}")
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs) needs both (symbolic tensors from cnet.layers.Input and layer "
                            "calls); subclassing Model with a call() method is not supported: build the model "
                            "from layer calls, or use Sequential")
        self._init_state(name or "model", seed)
        self._set_graph(_graph.Graph(inputs, outputs))

    def _init_state(self, name, seed):
        self.name = name
        self.built = False
        self._graph = None
        self.layers = []
        self.inputs = self.outputs = None
        self.input_names, self.output_names = [], []
        self.stop_training = False
        self.stop_reason = None
        self.optimizer = None
        self.loss_functions = None
        self._heads = None
        self._loss = None
        self.metrics_names = ["loss"]
        self.history = None
        self._seed = seed
        self._rng = None
        self._resume_rng = None
        self._epochs_done = 0
        self._steps_done = 0
        self._epoch_step = 0
        self._unfinished = None      # the epoch fit is in: shuffling state at its start, metric sums...
        self._dist_exponents = None  # cnet.distributed's gradient exponents (part of the training state)
        self._params = {}
        self._param_owner = {}
        self._seen = {}
        self._trainable = True
        # One step at a time: a training step, or one batch of test_on_batch/evaluate/predict, holds it
        # (the layers reuse their buffers), so threads sharing a model take turns batch by batch.
        self._step_lock = threading.RLock()

    def _set_graph(self, graph, layers=None):
        self._graph = graph
        self.layers = list(graph.layers) if layers is None else layers
        self.inputs, self.outputs = list(graph.inputs), list(graph.outputs)
        self.input_names = [t.layer.name for t in self.inputs]
        self.output_names = _unique([t.layer.name for t in self.outputs])
        self._dtypes = [t.dtype for t in self.inputs]
        self.dtype = self._dtypes[0]
        shapes = [t.shape[1:] for t in self.inputs], [t.shape[1:] for t in self.outputs]
        self.input_shape, self.output_shape = (s[0] if len(s) == 1 else s for s in shapes)
        self.built = True
        self._collect_params()
        if self._heads is not None:
            self._heads.attach(graph, self.output_names)

    # -- structure --
    input = property(lambda self: self._ends("inputs"), doc="The input tensor (a list for several).")
    output = property(lambda self: self._ends("outputs"), doc="The output tensor (a list for several).")

    def _ends(self, what):
        tensors = getattr(self, what)
        if tensors is None:
            raise AttributeError(f"the model {self.name!r} is not built yet: it has no {what} (give input_shape "
                                 "to its first layer, or call build)")
        return tensors[0] if len(tensors) == 1 else list(tensors)

    def _ensure_built(self, x):
        """Build from a batch of inputs (a Sequential without an input shape; a functional model is built)."""

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
    def trainable(self):
        """model.trainable = False freezes every layer of the model (True unfreezes them all), as tf.keras
        sets the flag of each layer; a layer's own flag (layer.trainable) can be changed afterwards."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = self._trainable

    trainable_weights = property(lambda self: [w for layer in self.layers for w in layer.trainable_weights],
                                 doc="Every layer's trainable_weights (the arrays, as Keras's variables).")
    non_trainable_weights = property(lambda self: [w for layer in self.layers for w in layer.non_trainable_weights],
                                     doc="Every layer's non_trainable_weights.")
    weights = property(lambda self: self.trainable_weights + self.non_trainable_weights,
                       doc="trainable_weights + non_trainable_weights, as in Keras.")

    @property
    def trainable_params(self):
        return {k: v for k, v in self._params.items() if self._param_owner[k][0].trainable}

    def count_params(self):
        return sum(layer.count_params() for layer in self.layers)

    def conv_plans(self):
        """{layer name: plan} of every Conv2D layer: the engine (direct or im2col) its last call ran and
        why (cnet.ops.conv.conv2d_plan); None for a layer that has not run yet."""
        return {layer.name: layer.conv_plan() for layer in self.layers if hasattr(layer, "conv_plan")}

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

    def set_weight_dtype(self, dtype):
        """Store the parameters of every layer in 16 bits for inference: 'float16' or 'bfloat16' (half
        the memory of float32; widened to the layers' dtype by the cast kernels before each layer's
        forward pass, so predict/evaluate compute with the 16-bit values exactly). None (or 'float32')
        widens them back, to train: fit refuses 16-bit weights. See Layer.set_weight_dtype."""
        if not self.built:
            raise ValueError("set_weight_dtype: the model has no weights before it is built")
        for layer in self.layers:
            _half.resolve(layer, dtype)             # a bad dtype changes nothing
        for layer in self.layers:
            layer.set_weight_dtype(dtype)
        self._collect_params()

    def get_layer(self, name=None, index=None):
        """The layer at `index` (of model.layers), or the one called `name`."""
        if index is not None:
            if not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: no layer at index {index!r}: the model has {len(self.layers)} layers")
            return self.layers[index]
        if name is None:
            raise ValueError("get_layer needs name= or index=")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; the layers are {[lay.name for lay in self.layers]}")

    # -- data --
    def _cast(self, x):
        """A batch of inputs cast to the model's dtype(s) (an Arrays for several inputs)."""
        if isinstance(x, Arrays):
            return Arrays([_cast_array(a, dtype) for a, dtype in zip(x.arrays, self._dtypes)])
        return _cast_array(x, self.dtype)

    def _input_data(self, x, what="x"):
        """x for fit/evaluate/predict: an array (one input) or an Arrays (several), checked."""
        return _compile.match(x, self.input_names or ["input"], what)

    def _target_data(self, y, what="y"):
        return _compile.match(y, self.output_names or ["output"], what)

    def _prepare_y(self, y):
        """Targets as the losses take them (class indices for a sparse loss, else the model's dtype)."""
        heads = self._heads.heads
        if isinstance(y, Arrays):
            return Arrays([h.prepare(a, self.dtype) for h, a in zip(heads, y.arrays)])
        return heads[0].prepare(y, self.dtype)

    def _unlist(self, values):
        return values[0] if len(values) == 1 else values

    # -- the book's interface --
    def forward(self, x, train=True):
        """Run the layers; returns the output (probabilities for a softmax head), a list for several."""
        x = self._cast(self._input_data(x))
        self._ensure_built(x)
        self._sync_params()
        return self._unlist(self._graph.forward(listed(x), train))

    def backward(self, dout, after_layer=None):
        """Backpropagate dout (gradient of the loss w.r.t. the output; a list for several outputs); fills
        every layer's grads; returns the gradient of the input (a list for several). after_layer(layer) is
        called after each layer's gradients are complete (cnet.distributed can start summing them while
        the layers below compute)."""
        douts = list(dout) if len(self.outputs) > 1 else [dout]
        if len(douts) != len(self.outputs):
            raise ValueError(f"backward: the model has {len(self.outputs)} outputs, got {len(douts)} gradients")
        return self._unlist(self._graph.backward(douts, after_layer))

    def _fused(self):
        """True when training/evaluation feed the logits of an output to a fused softmax cross-entropy."""
        return self._heads is not None and self.built and any(h.fused for h in self._heads.heads)

    def _forward_to_loss_input(self, x, train):
        """Forward up to what the losses take: the logits for a fused softmax head, else the outputs."""
        self._sync_params()
        return self._unlist(self._graph.forward(listed(x), train, fused=True))

    def _loss_forward(self, out, y, sample_weight=None):
        """The total loss of a batch; sample_weight: None, or each output's sample weights (None or (N,)):
        Keras 2's weighted loss (cnet.losses). The layers' regularization penalties are added, as Keras does."""
        loss = self._heads.loss_forward(out if len(self.outputs) > 1 else [out], listed(y), sample_weight)
        penalties = [layer.regularization_loss() for layer in self.layers]
        return loss + sum(penalties) if any(penalties) else loss

    def _batch_metrics(self, out, yb):
        return self._heads.batch_metrics(out if len(self.outputs) > 1 else [out], listed(yb))

    def _require_compiled(self, what):
        if self._heads is None:
            raise RuntimeError(f"{what}: compile the model first (model.compile(optimizer, loss, metrics))")

    def loss(self, x, t):
        """The loss of a batch (training-mode forward), book style: model.loss(x, t) -> float."""
        self._require_compiled("loss")
        x = self._cast(self._input_data(x))
        self._ensure_built(x)
        out = self._forward_to_loss_input(x, train=True)
        return self._loss_forward(out, self._prepare_y(self._target_data(t, "t")))

    def gradient(self, x, t):
        """Backpropagation, book style: {'layername/W': gradient} for a batch (no update)."""
        self.loss(x, t)
        self._graph.backward(self._heads.loss_backward())
        return self.grads

    # -- Keras's interface --
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, **kwargs):
        """Choose the optimizer (name or instance), the loss (name, function or object), the metrics and
        loss_weights; with several outputs each may be one for all, a list or a dict by output name.
        weighted_metrics: metrics weighted by fit's/evaluate's sample weights, as in Keras 2 (those of
        `metrics` are not), logged as 'weighted_<name>'."""
        unsupported = sorted(k for k in kwargs if k in _COMPILE_UNSUPPORTED)
        if unsupported:
            raise NotImplementedError(f"compile: {', '.join(unsupported)} is not supported by cnet")
        if kwargs:
            raise TypeError(f"compile got unexpected arguments: {', '.join(sorted(kwargs))}")
        if sample_weight_mode is not None:
            raise NotImplementedError(f"compile: sample_weight_mode is not supported by cnet (got "
                                      f"{sample_weight_mode!r}): it weighs whole samples, one weight per sample "
                                      "(sample_weight_mode=None)")
        names = self.output_names or ["output"]
        heads = _compile.Heads(names, loss, loss_weights, metrics, weighted_metrics)
        self.optimizer = optimizers.get(optimizer)
        self._heads = heads
        self.loss_functions = [h.loss for h in heads.heads]
        self._loss = heads.heads[0].loss if len(heads.heads) == 1 else None
        self.metrics_names = list(heads.names)
        self.stop_training = False
        if self.built:
            heads.attach(self._graph, self.output_names)

    def _rng_for(self, seed):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        elif self._rng is None:
            s = self._seed if self._seed is not None else _training.default_seed()
            self._rng = np.random.default_rng(s)
        return self._rng

    def _train_batch(self, xb, yb, sample_weight=None):
        """One optimizer step on a cast batch; returns [loss, output losses..., metrics...] (the metrics of
        the batch's outputs before the update). Raises NonFiniteLoss before touching the weights when the
        loss is NaN or infinite, Diverged after the update when it left NaN or Inf in the weights or state.
        sample_weight: None, or each output's sample weights (Keras's weighted loss)."""
        if _parallel.engine() is not None:   # cnet.distributed: this process's share, summed over all
            _refuse_distributed_weights(sample_weight)
            return _parallel.engine().train_batch(self, xb, yb)
        with self._step_lock, self._graph.workspaces():  # the step reuses buffers
            out = self._forward_to_loss_input(xb, train=True)
            loss = self._loss_forward(out, yb, sample_weight)
            if not math.isfinite(loss):
                raise _training.NonFiniteLoss(loss)
            self._graph.backward(self._heads.loss_backward())
            self.optimizer.update(self.trainable_params, self.grads)
            values = [loss] + self._heads.output_losses() + self._batch_metrics(out, yb)
            _training.check_finite(self)
            return values

    def _test_batch(self, xb, yb, sample_weight=None):
        """[loss, output losses..., metrics...] of a cast batch in inference mode."""
        if _parallel.engine() is not None:
            _refuse_distributed_weights(sample_weight)
            return _parallel.engine().test_batch(self, xb, yb)
        with self._step_lock:
            out = self._forward_to_loss_input(xb, train=False)
            loss = self._loss_forward(out, yb, sample_weight)
            return [loss] + self._heads.output_losses() + self._batch_metrics(out, yb)

    def _batch(self, x, y, what):
        self._require_compiled(what)
        x = self._cast(self._input_data(x))
        self._ensure_built(x)
        y = self._target_data(y)
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of samples, got {len(x)} and {len(y)}")
        return x, self._prepare_y(y)

    def _predict_batch(self, xb):
        """The outputs (a list) of a batch of inputs in inference mode (the caller holds _step_lock)."""
        xb = self._cast(xb)
        self._ensure_built(xb)
        self._sync_params()
        return self._graph.forward(listed(xb), False)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None):
        """One gradient step on one batch; returns the loss (or [loss, metrics...]). sample_weight (one
        number per sample) or class_weight ({class: weight}); per output (a list or a dict by name) for
        several: Keras's weighted loss."""
        x, yb = self._batch(x, y, "train_on_batch")
        w = _data.output_weights(self, yb, sample_weight, class_weight, "train_on_batch")
        width = len(self.metrics_names)
        try:
            values = self._train_batch(x, yb) if w is None else self._train_batch(x, yb, w)
        except _training.NonFiniteLoss as exc:
            warnings.warn(f"train_on_batch: the loss is {exc.args[0]}; the weights were not updated",
                          RuntimeWarning, stacklevel=2)
            values = [exc.args[0]] + [math.nan] * (width - 1)
        except _training.Diverged as exc:
            warnings.warn(f"train_on_batch: training diverged: {exc}; lower the learning rate", RuntimeWarning,
                          stacklevel=2)
            values = [math.nan] * width
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x, y, sample_weight=None):
        """The loss (or [loss, metrics...]) of one batch in inference mode (weighted by sample_weight)."""
        x, yb = self._batch(x, y, "test_on_batch")
        w = _data.output_weights(self, yb, sample_weight, None, "test_on_batch")
        values = self._test_batch(x, yb) if w is None else self._test_batch(x, yb, w)
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        """The outputs of one batch in inference mode (a list for several outputs)."""
        with self._step_lock:
            return self._unlist([out.copy() for out in self._predict_batch(self._input_data(x))])

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, seed=None, class_weight=None, sample_weight=None, validation_steps=None,
            validation_freq=1, max_queue_size=10, workers=1, use_multiprocessing=False, **kwargs):
        """Train for `epochs` epochs; returns a History (history.history: loss, accuracy, val_loss, ...).

        x, y: arrays (lists or dicts by name for several inputs or outputs), or x a cnet.utils.Sequence
        or a generator yielding (x, y) or (x, y, sample_weight) batches forever (steps_per_epoch batches
        make an epoch). verbose: 0 silent, 1 progress bar, 2 one line per epoch. validation_split takes
        the last fraction of x/y (before shuffling), like Keras. validation_data: (x_val, y_val),
        (x_val, y_val, val_sample_weight), a Sequence or a generator (then validation_steps batches).
        validation_freq: validate every N epochs, or after the listed (1-based) epochs. seed: reseed the
        shuffling Generator. shuffle: the samples of arrays, the batch order of a Sequence (not a
        generator's). sample_weight (arrays) or class_weight ({class: weight}): Keras 2's weighted loss.
        workers: threads reading a Sequence (N) or a generator (1; also a validation generator) ahead, at
        most max_queue_size batches; 0 reads on this thread.
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
        """The model's outputs (probabilities for a softmax head; a list for several outputs), computed
        batch by batch; x: arrays, a Sequence or a generator (of x, or of tuples whose first element is x);
        steps: the outputs of the first `steps` batches only (None: every sample, or a generator until it
        ends)."""
        return _evaluation.predict(self, x, batch_size, verbose, steps, max_queue_size, workers, use_multiprocessing)

    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                          verbose=0):
        """Keras 2.1's predict_generator: predict on a generator or a Sequence (see predict)."""
        _training.require_batches("predict_generator", generator, "predict(x)")
        return self.predict(generator, steps=steps, max_queue_size=max_queue_size, workers=workers,
                            use_multiprocessing=use_multiprocessing, verbose=verbose)

    def __call__(self, x, *args, **kwargs):
        """model(x): predict(x) on arrays. On symbolic tensors (a model used as a layer): refused."""
        if is_symbolic(x):
            raise NotImplementedError(f"calling the model {self.name!r} on symbolic tensors (a model used as a "
                                      "layer) is not supported: call its layers on the tensors instead")
        return self.predict(x, *args, **kwargs)

    # -- description --
    def summary(self, line_length=None, positions=None, print_fn=None):
        """Print Keras 2's table: layer (type), output shape, number of parameters (and what each layer is
        connected to, for a functional model); totals. positions: the columns' right ends (fractions of
        line_length, or characters)."""
        print_fn = print_fn or print
        for line in _summary.summary_lines(self, line_length, positions,
                                           functional=self._functional):
            print_fn(line)

    def get_config(self):
        """JSON-able architecture: Keras 2's functional config (layers with their inbound nodes, input and
        output layers)."""
        return self._graph.get_config(self.name)

    @classmethod
    def from_config(cls, config):
        """Rebuild an (untrained) model from get_config(); layer classes come from cnet.layers only."""
        return cls._from_parts(*_graph.parse_config(config))

    @classmethod
    def _from_parts(cls, name, layers, calls, inputs, outputs):
        values = _graph.replay(layers, calls, lambda layer: layer.output, lambda layer, x: layer(x))
        model = cls.__new__(cls)
        model._init_state(name or "model", None)
        model._set_graph(_graph.Graph([values[r] for r in inputs], [values[r] for r in outputs],
                                      layer_order=layers))
        return model

    def to_json(self, **kwargs):
        """The architecture as a JSON string (model_from_json rebuilds it); kwargs go to json.dumps."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config(), "backend": "cnet"},
                          **kwargs)

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
        replace an existing file, where Keras would ask on the terminal. A name ending in .h5 or .hdf5 is
        written in Keras 2's HDF5 format instead (cnet.keras_h5: architecture, weights and compile
        configuration, not the optimizer's state)."""
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
