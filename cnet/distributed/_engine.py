"""The data-parallel engine: what a training step, an evaluation batch and the start of training are when
several processes share the work (cnet.distributed.init() registers it in cnet._parallel, where
Sequential, fit and the book's Trainer find it).

A global batch of m samples is cut into S pieces (np.array_split's sizes, fixed by m and S alone): S is the
number of micro-batches (deterministic mode, any number of processes) or the number of processes. Process r
takes the pieces S*r//P .. S*(r+1)//P - 1, runs forward and backward on each, and the gradients of all the
pieces are summed exactly (cnet.distributed._reduce) into the gradient of the global batch's mean loss;
every process applies the same update. Dropout masks are cut from the mask of the whole global batch, so
that a sample's mask does not depend on the piece it is in. Losses and metrics are the pieces' values
weighted by their sizes, added in piece order.
"""
import contextlib
import math

import numpy as np

from .. import ops
from .._training import NonFiniteLoss, check_finite
from ..layers import BatchNormalization, Dropout, GaussianDropout, GaussianNoise, SpatialDropout2D
from ..models import Sequential
from ..nets import _BookNet
from ._reduce import Reducer, Tensor


def _refuse_batchnorm(layers, what):
    for layer in layers:
        if isinstance(layer, BatchNormalization):
            raise NotImplementedError(
                f"cnet.distributed: {what} has a BatchNormalization layer ({layer.name}), which data-parallel "
                "training does not support: each process would normalize with the statistics of its own "
                "piece of the batch, so the result would depend on the number of processes (synchronized "
                "batch normalization is not implemented). Train this model in a single process.")
        if isinstance(layer, (SpatialDropout2D, GaussianNoise, GaussianDropout)):
            raise NotImplementedError(
                f"cnet.distributed: {what} has a {type(layer).__name__} layer ({layer.name}), whose noise "
                "data-parallel training does not draw as one process would. Train this model in a single process.")
        if any(getattr(layer, k, None) is not None
               for k in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")):
            raise NotImplementedError(
                f"cnet.distributed: {what} has a layer with a regularizer ({layer.name}), which data-parallel "
                "training does not support yet (each process would add the weight penalties' gradients to its "
                "piece's). Train this model in a single process, or without regularizers.")


def _signature(layers, extra=()):
    """What the buckets depend on: the layers, their parameter names and sizes."""
    return tuple((id(layer), layer.trainable, tuple((k, v.size) for k, v in layer.params.items()))
                 for layer in layers) + tuple(extra)


class _ModelRunner:
    """A model's pieces: training with its losses and optimizer (or, for the book's Trainer, with the
    Trainer's optimizer on every parameter), evaluation. A Sequential's buckets are summed as the backward
    pass leaves their layers; a functional model's (a graph, maybe with shared layers) after the pass."""

    def __init__(self, engine, model, optimizer=None, holder=None):
        self.model, self.optimizer = model, optimizer
        self.holder = holder if holder is not None else model
        _refuse_batchnorm(model.layers, f"model {model.name!r}")
        hooked = isinstance(model, Sequential)
        tensors = []
        for layer in reversed(model.layers):
            if layer.trainable or optimizer is not None:
                for p, arr in layer.params.items():
                    tensors.append(Tensor(f"{layer.name}/{p}", layer if hooked else None,
                                          lambda layer=layer, p=p: layer.grads[p], arr.size, arr.dtype))
        self.n_stats = len(model.metrics_names) if optimizer is None else 1
        self.signature = self.current_signature()
        self.reducer = Reducer(engine.comm, tensors, engine.pieces, self.n_stats, engine.bucket_bytes)
        self.dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]

    def current_signature(self):
        return _signature(self.model.layers, (len(self.model.metrics_names), self.optimizer is None))

    def context(self):
        stack = contextlib.ExitStack()
        stack.enter_context(self.model._step_lock)
        stack.enter_context(self.model._graph.workspaces())
        return stack

    def run_piece(self, x, y, after_layer):
        model = self.model
        x, y = model._cast(x), model._prepare_y(y)
        out = model._forward_to_loss_input(x, train=True)
        loss = model._loss_forward(out, y)
        values = [loss]
        if self.optimizer is None:
            values += model._heads.output_losses() + model._batch_metrics(out, y)
        model._graph.backward(model._heads.loss_backward(), after_layer)
        return values

    def test_piece(self, x, y):
        model = self.model
        out = model._forward_to_loss_input(x, train=False)
        loss = model._loss_forward(out, y)
        return [loss] + model._heads.output_losses() + model._batch_metrics(out, y)

    def update(self):
        model = self.model
        if self.optimizer is None:
            model.optimizer.update(model.trainable_params, model.grads)
            check_finite(model)    # Diverged, on every process alike (the same weights)
        else:
            self.optimizer.update(model.params, model.grads)


class _NetRunner:
    """A network of the book's Trainer that is not a Sequential: cnet's book nets (backward hooked layer by
    layer), or any object with params, gradient(x, t) and loss(x, t) (summed after its backward)."""

    def __init__(self, engine, trainer):
        net = self.net = trainer.network
        self.optimizer, self.holder = trainer.optimizer, trainer
        self.hooked = isinstance(net, _BookNet)
        layers = list(net.layers.values()) if isinstance(getattr(net, "layers", None), dict) \
            else list(getattr(net, "layers", None) or [])
        _refuse_batchnorm(layers, type(net).__name__)
        self.layers = layers
        self.current = {}
        tensors = []
        if self.hooked:
            for layer in reversed(layers):
                for key, (lname, p) in net._owners.items():
                    if net.layers[lname] is layer:
                        tensors.append(Tensor(key, layer, lambda layer=layer, p=p: layer.grads[p],
                                              net.params[key].size, net.params[key].dtype))
        else:
            for key in reversed(list(net.params)):
                arr = np.asarray(net.params[key])
                tensors.append(Tensor(key, None, lambda key=key: self.current[key], arr.size, arr.dtype))
        self.n_stats = 1
        self.signature = self.current_signature()
        self.reducer = Reducer(engine.comm, tensors, engine.pieces, 1, engine.bucket_bytes)
        self.dropouts = [layer for layer in layers if isinstance(layer, Dropout)]

    def current_signature(self):
        return _signature(self.layers, tuple((k, np.size(v)) for k, v in self.net.params.items()))

    def context(self):
        return contextlib.nullcontext()

    def run_piece(self, x, t, after_layer):
        net = self.net
        if self.hooked:
            self.current = net.gradient(x, t, after_layer=after_layer)
            return [float(net.last_loss)]
        self.current = net.gradient(x, t)
        loss = getattr(net, "last_loss", None)
        return [float(net.loss(x, t) if loss is None else loss)]

    def update(self):
        grads = {t.key: t.grad() for t in self.reducer.tensors}
        self.optimizer.update(self.net.params, grads)


class _AgreedStop:
    """fit's StopRequest as all processes see it: ``poll()`` is the largest signal number that any process
    received (one small allreduce per call until it is not 0, then that number without asking), so every
    process stops after the same step."""

    def __init__(self, comm, stop):
        self._comm, self._stop, self._agreed = comm, stop, 0

    def poll(self):
        if not self._agreed:
            self._comm.what = "the check for a stop signal"
            self._agreed = int(self._comm.max(self._stop.poll()))
        return self._agreed

    def __getattr__(self, name):
        return getattr(self._stop, name)


class Engine:
    """Registered in cnet._parallel by cnet.distributed.init(); the models and the Trainer call it."""

    def __init__(self, comm, deterministic, micro_batches, bucket_bytes):
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        self.deterministic = deterministic
        self.pieces = micro_batches if deterministic else comm.size
        self.mine = range(self.pieces * self.rank // self.size, self.pieces * (self.rank + 1) // self.size)
        self.bucket_bytes = bucket_bytes
        self.steps = 0
        self.redone = 0

    def bounds(self, m):
        """[(start, stop)] of the S pieces of a batch of m samples."""
        q, r = divmod(m, self.pieces)
        starts = [j * q + min(j, r) for j in range(self.pieces + 1)]
        return list(zip(starts[:-1], starts[1:]))

    # ---- runners ----------------------------------------------------------------------------

    def _runner(self, owner, make):
        runner = owner.__dict__.get("_dist_runner")
        if runner is None or runner.engine is not self or runner.signature != runner.current_signature():
            runner = make()
            runner.engine = self
            owner._dist_runner = runner
        return runner

    def _model_runner(self, model):
        return self._runner(model, lambda: _ModelRunner(self, model))

    def _trainer_runner(self, trainer):
        net = trainer.network
        if isinstance(net, Sequential):
            return self._runner(trainer, lambda: _ModelRunner(self, net, trainer.optimizer, trainer))
        return self._runner(trainer, lambda: _NetRunner(self, trainer))

    # ---- the start: every process from rank 0's state ------------------------------------------

    def _sync(self, arrays, dropouts, holder, rng):
        """Overwrite weights, dropout seeds/steps, gradient exponents and the shuffling Generator's state
        with rank 0's. The processes meet here after whatever each did before (reading data...): no time
        limit."""
        self.comm.what = "the start of training (weights from rank 0)"
        for a in arrays:
            self.comm.bcast_array(a, timeout=None)
        if self.rank == 0:
            for layer in dropouts:
                layer._ensure_seed()
        state = {"dropout": [[layer._base_seed, layer.step] for layer in dropouts],
                 "exponents": getattr(holder, "_dist_exponents", None),
                 "rng": None if rng is None else rng.bit_generator.state}
        state = self.comm.bcast_json(state if self.rank == 0 else None, timeout=None)
        for layer, (seed, step) in zip(dropouts, state["dropout"]):
            layer._base_seed, layer.step = seed, step
        holder._dist_exponents = state["exponents"]
        if rng is not None:
            rng.bit_generator.state = state["rng"]

    def begin_fit(self, model, rng):
        """At the start of fit: the same weights, seeds and shuffling on every process. Returns rng."""
        runner = self._model_runner(model)
        arrays = [w for layer in model.layers for w in layer._weights()]
        self._sync(arrays, runner.dropouts, model, rng)
        return rng

    def begin_trainer(self, trainer):
        """When the book's Trainer is created: the network's parameters, dropout seeds and the Trainer's
        shuffling from rank 0."""
        runner = self._trainer_runner(trainer)
        net = trainer.network
        arrays = list(net.params.values())
        if isinstance(net, Sequential):
            arrays = [w for layer in net.layers for w in layer._weights()]
        self._sync(arrays, runner.dropouts, trainer, trainer._rng)

    def agreed(self, stop):
        return _AgreedStop(self.comm, stop)

    # ---- steps ------------------------------------------------------------------------------

    def _first_contact(self, model):
        if model.__dict__.get("_dist_runner") is None:
            self.begin_fit(model, None)    # train_on_batch or evaluate before any fit: rank 0's weights

    def train_batch(self, model, x, y):
        """Sequential._train_batch over all processes: [loss, metrics...] of the global batch."""
        self._first_contact(model)
        return self._step(self._model_runner(model), x, y)

    def trainer_step(self, trainer, x, t):
        """The book Trainer's gradient and update over all processes; returns the global batch's loss."""
        return self._step(self._trainer_runner(trainer), x, t)[0]

    def _masks(self, dropouts, m):
        """Each training Dropout's mask for the whole global batch (one draw of its seed per step). Every
        process draws all of it and uses its rows: the counter RNG numbers elements from 0, and a start
        offset in ops.dropout_mask (a kernel change) would let each draw only its rows."""
        masks = []
        for layer in dropouts:
            if layer.rate == 0.0:
                continue
            if not layer.built:
                raise ValueError(f"cnet.distributed: Dropout layer {layer.name!r} must be built before "
                                 "data-parallel training (its input shape decides the mask)")
            shape = (m,) + tuple(layer.input_shape)
            masks.append((layer, ops.dropout_mask(shape, layer.rate, layer._mask_seed(), layer.dtype)))
        return masks

    def _piece(self, runner, x, y, bounds, j, m, masks):
        a, b = bounds[j]
        for layer, mask in masks:
            layer._shard_mask = mask[a:b]
        red = runner.reducer
        red.begin_piece(j, (b - a) / m)
        values = runner.run_piece(x[a:b], y[a:b], red.layer_done)
        red.end_piece()
        return values

    def _step(self, runner, x, y):
        m = len(x)
        bounds = self.bounds(m)
        local = [j for j in self.mine if bounds[j][1] > bounds[j][0]]
        red = runner.reducer
        masks = self._masks(runner.dropouts, m)
        holder = runner.holder
        saved = getattr(holder, "_dist_exponents", None) or {}
        exponents = [saved.get(t.key) for t in red.tensors]
        values = {}
        self.comm.what = f"the gradient sum of step {self.steps + 1}"
        try:
            with runner.context():
                red.begin(exponents, len(local))
                for j in local:
                    values[j] = self._piece(runner, x, y, bounds, j, m, masks)
                while True:
                    for j in local:
                        red.meta[j, :runner.n_stats] = values[j]
                    meta = red.finish()
                    stats = self._check_finite(meta, bounds, runner.n_stats, red)
                    ok, exponents = red.next_exponents(red.largest())
                    if ok:
                        break
                    # Redo the sums on this step's own grid: the last piece's gradients are still in place,
                    # the others are computed again (the same masks, the same numbers).
                    self.redone += 1
                    red.begin(exponents, len(local))
                    if local:
                        red.begin_piece(local[-1], (bounds[local[-1]][1] - bounds[local[-1]][0]) / m)
                        red.end_piece()
                        for j in local[:-1]:
                            self._piece(runner, x, y, bounds, j, m, masks)
                red.write_gradients()
                holder._dist_exponents = {t.key: k for t, k in zip(red.tensors, exponents) if k is not None}
                runner.update()
        finally:
            for layer, _ in masks:
                layer._shard_mask = None
        self.steps += 1
        return stats

    def _check_finite(self, meta, bounds, n_stats, red):
        """The global batch's [loss, metrics...]; NonFiniteLoss (on every process alike) when a piece's
        loss or a gradient is not finite."""
        stats = [0.0] * n_stats
        m = bounds[-1][1]
        for j, (a, b) in enumerate(bounds):
            if b > a:
                loss = meta[j, 0]
                if not math.isfinite(loss):
                    raise NonFiniteLoss(float(loss))
                for i in range(n_stats):
                    stats[i] += meta[j, i] * ((b - a) / m)
        if not np.all(np.isfinite(red.largest())):
            raise NonFiniteLoss(math.nan)
        return stats

    # ---- evaluation ----------------------------------------------------------------------------

    def _rows(self, m, fn, width, what):
        """fn(a, b) -> the values of one piece (rows of this process's pieces), summed over the processes
        (each row comes from one process: the sum is a copy); with the pieces' bounds."""
        bounds = self.bounds(m)
        rows = np.zeros((self.pieces, width))
        for j in self.mine:
            a, b = bounds[j]
            if b > a:
                rows[j] = fn(a, b)
        self.comm.what = what
        return self.comm.allreduce(rows), bounds

    def test_batch(self, model, x, y):
        """Sequential._test_batch over all processes: [loss, metrics...] of the batch, the pieces' values
        weighted by their sizes and added in order."""
        self._first_contact(model)
        runner = self._model_runner(model)
        width = len(model.metrics_names)
        with model._step_lock:
            rows, bounds = self._rows(len(x), lambda a, b: runner.test_piece(x[a:b], y[a:b]), width,
                                      "an evaluation batch")
        total = [0.0] * width
        for j, (a, b) in enumerate(bounds):
            if b > a:
                for i in range(width):
                    total[i] += rows[j, i] * ((b - a) / len(x))
        return total

    def accuracy(self, fn, x, t):
        """The book Trainer's accuracy fn(x, t) over all processes: each counts the hits of its pieces
        (integers, so the total is exact)."""
        rows, _ = self._rows(len(x), lambda a, b: [round(fn(x[a:b], t[a:b]) * (b - a))], 1,
                             "an accuracy evaluation")
        return float(rows.sum()) / len(x)
