"""The book's common/trainer.py: ``Trainer``, mini-batch training of a network as the book runs it.

    Trainer(network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
            optimizer='SGD', optimizer_param={'lr': 0.01}, evaluate_sample_num_per_epoch=None,
            verbose=True)

The network is anything with ``params``, ``gradient(x, t)``, ``loss(x, t)`` and ``accuracy(x, t)``
(cnet.book's networks, the book's own, yours). Each step:

1. draws a mini-batch WITH replacement: ``np.random.choice(train_size, mini_batch_size)`` (numpy's global
   generator, so ``np.random.seed`` reproduces the book's runs);
2. ``grads = network.gradient(x, t)`` and ``optimizer.update(network.params, grads)``;
3. measures the loss of the same batch again, after the update (``network.loss(x, t)``), appends it to
   ``train_loss_list`` and, when verbose, prints ``train loss:<loss>``;
4. at steps 0, iter_per_epoch, 2 iter_per_epoch, ... (before the step counter moves, so the first
   evaluation follows the first update) measures the accuracy of the first
   ``evaluate_sample_num_per_epoch`` training and test samples (all when None), appends them to
   ``train_acc_list``/``test_acc_list`` and prints ``=== epoch:<n>, train acc:<a>, test acc:<b> ===``.

``iter_per_epoch`` is ``max(train_size / mini_batch_size, 1)`` (a float, as in the book) and ``train()``
runs ``int(epochs * iter_per_epoch)`` steps, then prints the test accuracy on every test sample.
optimizer: 'SGD', 'Momentum', 'Nesterov', 'AdaGrad', 'RMSprop' or 'Adam' (any case), built as
``cls(**optimizer_param)`` from cnet.book.common.optimizer; an optimizer instance is used as is.
"""
import os  # noqa: F401  (the book's module exports os and sys to star-imports)
import sys  # noqa: F401

import numpy as np

from .optimizer import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

__all__ = ["np", "os", "sys", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam", "Trainer"]

_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam)}


def _optimizer(optimizer, optimizer_param):
    if not isinstance(optimizer, str):
        if not hasattr(optimizer, "update"):
            raise TypeError(f"Trainer: optimizer must be a name ({', '.join(_OPTIMIZERS)}) or an object "
                            f"with update(params, grads), got {optimizer!r}")
        return optimizer
    cls = _OPTIMIZERS.get(optimizer.lower())
    if cls is None:
        raise ValueError(f"Trainer: unknown optimizer {optimizer!r}; the book's are "
                         f"{', '.join(_OPTIMIZERS)} (any case)")
    return cls(**dict(optimizer_param or {}))


class Trainer:
    """Mini-batch training of a network with the book's semantics (see the module docstring)."""

    def __init__(self, network, x_train, t_train, x_test, t_test, epochs=20, mini_batch_size=100,
                 optimizer="SGD", optimizer_param={"lr": 0.01}, evaluate_sample_num_per_epoch=None,
                 verbose=True):
        self.network = network
        self.verbose = verbose
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.epochs = epochs
        self.batch_size = mini_batch_size
        self.evaluate_sample_num_per_epoch = evaluate_sample_num_per_epoch
        self.optimizer = _optimizer(optimizer, optimizer_param)
        self.train_size = x_train.shape[0]
        self.iter_per_epoch = max(self.train_size / mini_batch_size, 1)
        self.max_iter = int(epochs * self.iter_per_epoch)
        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list = []
        self.train_acc_list = []
        self.test_acc_list = []

    def _evaluate(self):
        n = self.evaluate_sample_num_per_epoch
        x_tr, t_tr, x_te, t_te = self.x_train, self.t_train, self.x_test, self.t_test
        if n is not None:
            x_tr, t_tr, x_te, t_te = x_tr[:n], t_tr[:n], x_te[:n], t_te[:n]
        train_acc = self.network.accuracy(x_tr, t_tr)
        test_acc = self.network.accuracy(x_te, t_te)
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        if self.verbose:
            print(f"=== epoch:{self.current_epoch}, train acc:{train_acc}, test acc:{test_acc} ===")

    def train_step(self):
        """One step: sample a batch (with replacement), update, record the loss; evaluate each epoch."""
        batch = np.random.choice(self.train_size, self.batch_size)
        x_batch, t_batch = self.x_train[batch], self.t_train[batch]
        grads = self.network.gradient(x_batch, t_batch)
        self.optimizer.update(self.network.params, grads)
        loss = self.network.loss(x_batch, t_batch)
        self.train_loss_list.append(loss)
        if self.verbose:
            print(f"train loss:{loss}")
        if self.current_iter % self.iter_per_epoch == 0:
            self.current_epoch += 1
            self._evaluate()
        self.current_iter += 1

    def train(self):
        """max_iter steps, then the accuracy on the whole test set (printed when verbose)."""
        for _ in range(self.max_iter):
            self.train_step()
        test_acc = self.network.accuracy(self.x_test, self.t_test)
        if self.verbose:
            print("=============== Final Test Accuracy ===============")
            print(f"test acc:{test_acc}")
