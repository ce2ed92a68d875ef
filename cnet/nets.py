"""The convolutional networks of "Deep Learning from Scratch" (chapters 7 and 8) and its Trainer, built
from cnet's layers (so the C kernels run them).

    from cnet.datasets import load_mnist
    from cnet.nets import SimpleConvNet, Trainer
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    network = SimpleConvNet()
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=20, optimizer='Adam',
                      optimizer_param={'lr': 0.001})
    trainer.train()
    network.save_params("params.cnet.npz")

Each net has the book's interface: ``params`` ('W1', 'b1', ...; the arrays the layers compute with),
``layers`` (an ordered dict of the book's layer names -> cnet layers), ``last_layer`` (SoftmaxWithLoss),
``predict(x, train_flg=False)`` (scores, before the softmax), ``loss(x, t)``, ``accuracy(x, t)``,
``gradient(x, t)`` (a dict with the keys of params) and ``save_params``/``load_params`` -- in cnet's
safe file format (cnet.saving), not pickle. ``model`` is the same layers as a cnet Sequential ending
in a softmax, for Keras-style fit/evaluate/predict/save. Parameters are float32 unless dtype='float64'
(gradient checks). Random numbers come from cnet.initializers (``cnet.set_seed``).
"""
import collections
import sys
import time

import numpy as np

from . import _parallel, initializers, optimizers, saving
from ._training import NonFiniteLoss
from .layers import (Affine, Convolution, Dropout, Pooling, Relu, Softmax, SoftmaxWithLoss,
                     training_workspaces)
from .layers import _half
from .layers.base import sync_params
from .models import Sequential

__all__ = ["SimpleConvNet", "DeepConvNet", "Trainer"]


def _conv_out(size, filter_size, pad, stride):
    out = (size + 2 * pad - filter_size) / stride + 1
    if out < 1 or out != int(out):
        raise ValueError(f"a {filter_size}x{filter_size} filter with pad {pad} and stride {stride} does "
                         f"not tile an input of size {size}")
    return int(out)


class _BookNet:
    """Shared machinery: layers in an OrderedDict, params named like the book, a Sequential view."""

    def _finish(self, layers, owners, name, dtype):
        """layers: [(book name, layer)]; owners: {'W1': (book layer name, 'W'), ...}."""
        self.layers = collections.OrderedDict(layers)
        self._owners = owners
        self._param_layers = {key: (self.layers[lname], p) for key, (lname, p) in owners.items()}
        self.params = {key: self.layers[lname].params[p] for key, (lname, p) in owners.items()}
        self._seen = dict(self.params)
        self.last_layer = SoftmaxWithLoss()
        self.last_loss = None
        self.model = Sequential(list(self.layers.values()) + [Softmax(name="Softmax")], name=name,
                                dtype=dtype)
        self.model.build(self.input_dim)

    def _sync(self):
        """Book style: an array rebound in params (params['W1'] = ...) is what the layers use."""
        sync_params(self.params, self._seen, self._param_layers)

    def predict(self, x, train_flg=False):
        """The scores (logits) of x (N, C, H, W); train_flg=True drops out and caches for backward."""
        self._sync()
        for layer in self.layers.values():
            x = layer.forward(x, train=train_flg)
        return x

    def loss(self, x, t):
        """Mean softmax cross-entropy of x with labels t (class indices or one-hot rows)."""
        y = self.predict(x, train_flg=True)
        self.last_loss = self.last_layer.forward(y, np.asarray(t))
        return self.last_loss

    def accuracy(self, x, t, batch_size=100):
        """Fraction of x whose highest score is the label (every sample, the last partial batch too)."""
        t = np.asarray(t)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            y = self.predict(x[i:i + batch_size], train_flg=False)
            correct += int(np.sum(np.argmax(y, axis=1) == t[i:i + batch_size]))
        return correct / x.shape[0]

    def gradient(self, x, t, after_layer=None):
        """Backpropagation: {'W1': dW1, 'b1': db1, ...} for the batch (x, t); also sets last_loss.
        after_layer(layer) is called after each layer's backward (cnet.distributed uses it)."""
        with training_workspaces(self.layers.values()):  # the step reuses the layers' buffers
            self.loss(x, t)
            dout = self.last_layer.backward(1)
            for layer in reversed(list(self.layers.values())):
                dout = layer.backward(dout)
                if after_layer is not None:
                    after_layer(layer)
        return {key: self.layers[lname].grads[p] for key, (lname, p) in self._owners.items()}

    def set_weight_dtype(self, dtype):
        """Store params in 16 bits for inference, 'float16' or 'bfloat16' (Model.set_weight_dtype); None
        widens them back, to train."""
        self._sync()
        self.model.set_weight_dtype(dtype)
        self._sync()

    def _stored_format(self):
        return next(iter(self._param_layers.values()))[0]._weight_format

    def save_params(self, file_name="params.cnet.npz"):
        """Write params to file_name in cnet's safe format (atomic; no pickle); in data-parallel training
        (cnet.distributed), on rank 0 only. bfloat16 params (set_weight_dtype) are written as float32."""
        self._sync()
        if not _parallel.is_root():
            return
        params = self.params
        if self._stored_format() == "bfloat16":
            params = {k: _half.widened_array(v, "bfloat16", np.float32) for k, v in params.items()}
        saving.save_params(file_name, params, network=type(self).__name__)

    def load_params(self, file_name="params.cnet.npz"):
        """Read params saved by save_params (names and shapes are checked) into the layers' arrays (16-bit
        params: read in full precision, then rounded again)."""
        self._sync()
        fmt = self._stored_format()
        if fmt is not None:
            self.set_weight_dtype(None)
            try:
                return self.load_params(file_name)
            finally:
                self.set_weight_dtype(fmt)
        loaded = saving.load_params(file_name, expected=self.params)
        for key, arr in loaded.items():
            np.copyto(self.params[key], arr, casting="unsafe")


class SimpleConvNet(_BookNet):
    """conv - relu - pool - affine - relu - affine - softmax (the book's chapter 7 network).

    Params: W1 (filter_num, C, filter_size, filter_size), b1, W2 (filter_num*pool_h*pool_w, hidden_size),
    b2, W3 (hidden_size, output_size), b3; weights Gaussian with std weight_init_std (a number, or a
    cnet.initializers name such as 'he').
    """

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param={"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1},
                 hidden_size=100, output_size=10, weight_init_std=0.01, dtype="float32"):
        self.input_dim = tuple(input_dim)
        fn, fs = conv_param["filter_num"], conv_param["filter_size"]
        pad, stride = conv_param["pad"], conv_param["stride"]
        conv_out = _conv_out(self.input_dim[1], fs, pad, stride)
        pool_out = fn * (conv_out // 2) * (conv_out // 2)
        init = initializers.get(weight_init_std)
        zeros = initializers.zeros()
        shapes = {"W1": (fn, self.input_dim[0], fs, fs), "b1": (fn,), "W2": (pool_out, hidden_size),
                  "b2": (hidden_size,), "W3": (hidden_size, output_size), "b3": (output_size,)}
        p = {k: (init if k[0] == "W" else zeros)(s, dtype) for k, s in shapes.items()}
        layers = [("Conv1", Convolution(p["W1"], p["b1"], stride, pad, name="Conv1")),
                  ("Relu1", Relu(name="Relu1")),
                  ("Pool1", Pooling(pool_h=2, pool_w=2, stride=2, name="Pool1")),
                  ("Affine1", Affine(p["W2"], p["b2"], name="Affine1")),
                  ("Relu2", Relu(name="Relu2")),
                  ("Affine2", Affine(p["W3"], p["b3"], name="Affine2"))]
        owners = {"W1": ("Conv1", "W"), "b1": ("Conv1", "b"), "W2": ("Affine1", "W"),
                  "b2": ("Affine1", "b"), "W3": ("Affine2", "W"), "b3": ("Affine2", "b")}
        self._finish(layers, owners, "simple_convnet", dtype)


class DeepConvNet(_BookNet):
    """The book's chapter 8 network (over 99% on MNIST):

    conv - relu - conv - relu - pool - conv - relu - conv - relu - pool - conv - relu - conv - relu - pool -
    affine - relu - dropout - affine - dropout - softmax. He initialization (Gaussian, std sqrt(2/fan_in)).
    Params W1..W8, b1..b8.
    """

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param_1={"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
                 conv_param_2={"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 1},
                 conv_param_3={"filter_num": 32, "filter_size": 3, "pad": 1, "stride": 1},
                 conv_param_4={"filter_num": 32, "filter_size": 3, "pad": 2, "stride": 1},
                 conv_param_5={"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
                 conv_param_6={"filter_num": 64, "filter_size": 3, "pad": 1, "stride": 1},
                 hidden_size=50, output_size=10, dtype="float32"):
        self.input_dim = tuple(input_dim)
        he = initializers.get("he")
        zeros = initializers.zeros()
        layers, owners = [], {}
        channels, size = self.input_dim[0], self.input_dim[1]
        convs = [conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6]
        n_relu = n_pool = 0
        for i, cp in enumerate(convs, start=1):
            fn, fs, pad, stride = cp["filter_num"], cp["filter_size"], cp["pad"], cp["stride"]
            W = he((fn, channels, fs, fs), dtype)
            b = zeros((fn,), dtype)
            layers.append((f"Conv{i}", Convolution(W, b, stride, pad, name=f"Conv{i}")))
            owners[f"W{i}"], owners[f"b{i}"] = (f"Conv{i}", "W"), (f"Conv{i}", "b")
            n_relu += 1
            layers.append((f"Relu{n_relu}", Relu(name=f"Relu{n_relu}")))
            channels, size = fn, _conv_out(size, fs, pad, stride)
            if i % 2 == 0:
                n_pool += 1
                layers.append((f"Pool{n_pool}", Pooling(pool_h=2, pool_w=2, stride=2, name=f"Pool{n_pool}")))
                size //= 2
        flat = channels * size * size
        W7, b7 = he((flat, hidden_size), dtype), zeros((hidden_size,), dtype)
        W8, b8 = he((hidden_size, output_size), dtype), zeros((output_size,), dtype)
        layers += [("Affine1", Affine(W7, b7, name="Affine1")),
                   (f"Relu{n_relu + 1}", Relu(name=f"Relu{n_relu + 1}")),
                   ("Dropout1", Dropout(dropout_ratio=0.5, name="Dropout1")),
                   ("Affine2", Affine(W8, b8, name="Affine2")),
                   ("Dropout2", Dropout(dropout_ratio=0.5, name="Dropout2"))]
        owners.update({"W7": ("Affine1", "W"), "b7": ("Affine1", "b"),
                       "W8": ("Affine2", "W"), "b8": ("Affine2", "b")})
        self._finish(layers, owners, "deep_convnet", dtype)


class Trainer:
    """The book's Trainer: mini-batch training of a network with gradient(x, t), params and
    accuracy(x, t) (cnet's nets, the book's own networks, or a cnet Sequential).

    optimizer: 'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop', 'Adam' (any case; also 'Adadelta')
    or an optimizer instance, with optimizer_param passed to its constructor ({'lr': 0.01}).
    Unlike the book, each epoch visits every training sample once (a shuffled permutation from a
    Generator seeded by `seed` or cnet.set_seed), and the accuracies are measured after each epoch.
    Lists: train_loss_list (per step), train_acc_list and test_acc_list (per epoch).
    """

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
                 optimizer="SGD", optimizer_param={"lr": 0.01}, evaluate_sample_num_per_epoch=None,
                 verbose=True, seed=None, stream=None):
        self.network = network
        self.verbose = verbose
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.epochs = int(epochs)
        self.batch_size = int(mini_batch_size)
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        if isinstance(optimizer, str):
            cls = type(optimizers.get(optimizer))
            self.optimizer = cls(**dict(optimizer_param or {}))
        else:
            self.optimizer = optimizers.get(optimizer)
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = max(int(np.ceil(self.train_size / self.batch_size)), 1)
        self.max_iter = self.epochs * self.iter_per_epoch
        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list, self.train_acc_list, self.test_acc_list = [], [], []
        if seed is None:
            seed = int(initializers.get_rng().integers(2 ** 63))
        self._rng = np.random.default_rng(seed)
        self._order = None
        self.stream = stream if stream is not None else sys.stdout
        if _parallel.engine() is not None:   # cnet.distributed: rank 0's parameters and shuffling
            _parallel.engine().begin_trainer(self)

    def _say(self, text):
        if self.verbose and _parallel.is_root():
            self.stream.write(text + "\n")
            self.stream.flush()

    def _accuracy(self, x, t):
        if _parallel.engine() is not None:   # each process counts the hits of its share
            return _parallel.engine().accuracy(self._local_accuracy, x, t)
        return self._local_accuracy(x, t)

    def _local_accuracy(self, x, t):
        if hasattr(self.network, "accuracy"):
            return self.network.accuracy(x, t)
        scores = self.network.predict(x)
        t = np.asarray(t)
        if t.ndim != 1:
            t = t.argmax(axis=1)
        return float(np.mean(scores.argmax(axis=1) == t))

    def train_step(self):
        step = self.current_iter % self.iter_per_epoch
        if step == 0:
            self._order = self._rng.permutation(self.train_size)
            self._epoch_start = time.perf_counter()
        idx = self._order[step * self.batch_size:(step + 1) * self.batch_size]
        x_batch, t_batch = self.x_train[idx], self.t_train[idx]
        if _parallel.engine() is not None:   # cnet.distributed: the gradient summed over every share
            try:
                loss = _parallel.engine().trainer_step(self, x_batch, t_batch)
            except NonFiniteLoss as exc:     # raised before the update, on every process alike
                loss = exc.args[0]
        else:
            grads = self.network.gradient(x_batch, t_batch)
            self.optimizer.update(self.network.params, grads)
            loss = getattr(self.network, "last_loss", None)
            if loss is None:
                loss = self.network.loss(x_batch, t_batch)
        loss = float(loss)
        self.train_loss_list.append(loss)
        if not np.isfinite(loss):
            raise FloatingPointError(f"Trainer: the loss became {loss} at epoch {self.current_epoch + 1}, "
                                     f"step {step + 1}; lower the learning rate")
        self.current_iter += 1
        if self.current_iter % self.iter_per_epoch == 0:
            self.current_epoch += 1
            x_tr, t_tr, x_te, t_te = self.x_train, self.t_train, self.x_test, self.t_test
            n = self.evaluate_sample_num_per_epoch
            if n is not None:
                x_tr, t_tr, x_te, t_te = x_tr[:n], t_tr[:n], x_te[:n], t_te[:n]
            train_acc, test_acc = self._accuracy(x_tr, t_tr), self._accuracy(x_te, t_te)
            self.train_acc_list.append(train_acc)
            self.test_acc_list.append(test_acc)
            recent = self.train_loss_list[-self.iter_per_epoch:]
            self._say(f"=== epoch:{self.current_epoch}/{self.epochs}, train loss:{np.mean(recent):.4f}, "
                      f"train acc:{train_acc:.4f}, test acc:{test_acc:.4f} "
                      f"({time.perf_counter() - self._epoch_start:.1f}s) ===")

    def train(self):
        for _ in range(self.max_iter - self.current_iter):
            self.train_step()
        test_acc = self._accuracy(self.x_test, self.t_test)
        self._say("=============== Final Test Accuracy ===============")
        self._say(f"test acc:{test_acc}")
        return test_acc
