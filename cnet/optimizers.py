"""Optimizers: Keras 2.1 classes and defaults, the book's update(params, grads).

``update(params, grads)`` takes two dicts with the same keys (a key identifies a parameter, as in the
book: 'W1', 'b1', ... or a model's 'dense/W'); each parameter array is updated in place by one fused
``ops.<rule>_update`` call. Per-key state arrays (velocity, accumulators, moments) are created lazily,
zeros shaped like the parameter. ``iterations`` counts update() calls (one per call, whatever the
number of keys).

Keras                                                           book (common/optimizer.py)
SGD(learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0)  SGD(lr=0.01)
                                                                Momentum(lr=0.01, momentum=0.9)
                                                                Nesterov(lr=0.01, momentum=0.9)
RMSprop(learning_rate=0.001, rho=0.9, epsilon=1e-7)             RMSprop(lr=0.01, decay_rate=0.99)
Adagrad(learning_rate=0.01, epsilon=1e-7)                       AdaGrad(lr=0.01)
Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7)
Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7) Adam(lr=0.001, beta1=0.9, beta2=0.999)

Every class takes ``learning_rate=`` or the old ``lr=`` (and exposes both ``.learning_rate`` and
``.lr``), Keras's ``decay`` (learning rate lr / (1 + decay * iterations), iterations counted before
this update) and ``weight_decay`` (an L2 term added to the gradient by the op). The book's keyword
spellings (decay_rate for rho, beta1/beta2) are accepted. Where a book default differs from Keras
(RMSprop's lr and rho) the Keras default wins: pass the book's values explicitly. Nesterov follows
Keras 2's rule (v = m*v - lr*g; p += m*v - lr*g), not the book's variant.

Divergence: after each ``update`` the optimizer lists in ``nonfinite`` the arrays it wrote that hold NaN or
Inf, as (slot, key) pairs (slot None for the parameter itself; empty when all are finite): the parameter,
and the state arrays through which an overflow would not
reach it (Adam's v, RMSprop's and Adagrad's h, Adadelta's h and d: a second moment that overflowed to Inf
turns the step into 0 and leaves the parameter finite). Each is one ``np.isfinite(a).all()``; a model's
fit stops on it (cnet._training) and names the layer.

Checkpoints: ``get_state()`` returns ``{'iterations': int, '<slot>:<key>': array, ...}``;
``set_state(state)`` restores it. ``get_config()``/``from_config()`` hold the hyperparameters.
``cnet.optimizers.get('adam')`` (case-insensitive), an instance, a class or a {'class_name', 'config'} dict.
"""
import numpy as np

from . import ops

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "RMSprop", "Adagrad", "AdaGrad", "Adadelta",
           "Adam", "get", "serialize"]


def _all_finite(a):
    """No NaN or Inf in a. A NaN or an Inf makes the sum NaN or Inf, so a finite sum settles it in one pass
    without a temporary array; a sum that is not finite (or finite values adding up past the float range)
    is settled element by element."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return True
    return bool(np.isfinite(a).all())


class Optimizer:
    """Base class. Subclasses set ``_slots`` (state array names) and ``_step(key, p, g, lr, state)``."""

    _slots = ()
    _hyper = ()    # names of the hyperparameters in get_config, beside learning_rate/decay/weight_decay
    _watched = ()  # slots an overflow can make non-finite without making the parameter so

    def __init__(self, learning_rate=0.01, decay=0.0, weight_decay=0.0, lr=None):
        if lr is not None:
            learning_rate = lr
        self.learning_rate = float(learning_rate)
        self.decay = float(decay)
        self.weight_decay = float(weight_decay)
        if self.learning_rate < 0 or self.decay < 0 or self.weight_decay < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate, decay and weight_decay must be >= 0")
        self.iterations = 0
        self._state = {slot: {} for slot in self._slots}
        self.nonfinite = []

    lr = property(lambda self: self.learning_rate,
                  lambda self, value: setattr(self, "learning_rate", float(value)))

    def current_learning_rate(self):
        """The learning rate of the next update (with Keras's time decay)."""
        if self.decay:
            return self.learning_rate / (1.0 + self.decay * self.iterations)
        return self.learning_rate

    def _slot(self, slot, key, p):
        arrays = self._state[slot]
        a = arrays.get(key)
        if a is None or a.shape != p.shape or a.dtype != p.dtype:
            a = arrays[key] = np.zeros_like(p)
        return a

    def update(self, params, grads):
        """One step on every parameter of ``params`` (in place), with the gradient of the same key."""
        lr = self.current_learning_rate()
        self.iterations += 1
        for key, p in params.items():
            try:
                g = grads[key]
            except KeyError:
                raise KeyError(f"{type(self).__name__}.update: no gradient for parameter {key!r} "
                               f"(grads has {sorted(grads)})") from None
            if not isinstance(p, np.ndarray):
                raise TypeError(f"{type(self).__name__}.update: parameter {key!r} must be a NumPy array "
                                f"(it is updated in place), got {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}.update: parameter {key!r} must be a float array, "
                                f"got dtype {p.dtype}")
            if not isinstance(g, np.ndarray) or g.dtype != p.dtype:
                try:
                    g = np.asarray(g, dtype=p.dtype)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise TypeError(f"{type(self).__name__}.update: the gradient of {key!r} is not "
                                    f"convertible to {p.dtype} ({exc})") from None
            self._step(key, p, g, lr)
        self.nonfinite = self._nonfinite(params)

    def _nonfinite(self, params):
        """[(slot, key), ...]: the arrays of this update holding NaN or Inf (slot None: the parameter)."""
        found = []
        for key, p in params.items():
            if not _all_finite(p):
                found.append((None, key))
            for slot in self._watched:
                a = self._state[slot].get(key)
                if a is not None and not _all_finite(a):
                    found.append((slot, key))
        return found

    def _step(self, key, p, g, lr):
        raise NotImplementedError

    def get_config(self):
        config = {"learning_rate": self.learning_rate}
        config.update({name: getattr(self, name) for name in self._hyper})
        config.update(decay=self.decay, weight_decay=self.weight_decay)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_state(self):
        state = {"iterations": int(self.iterations)}
        for slot, arrays in self._state.items():
            for key, a in arrays.items():
                state[f"{slot}:{key}"] = a.copy()
        return state

    def set_state(self, state):
        self.iterations = int(state.get("iterations", 0))
        slots = {slot: {} for slot in self._slots}
        for name, a in state.items():
            if name == "iterations":
                continue
            slot, sep, key = name.partition(":")
            if not sep or slot not in slots:
                raise ValueError(f"{type(self).__name__}.set_state: unexpected entry {name!r} "
                                 f"(expected 'iterations' or '<slot>:<key>' with slot in {self._slots})")
            slots[slot][key] = np.array(a, copy=True)
        self._state = slots

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Keras SGD: p -= lr*g; with momentum v = m*v - lr*g, p += v; nesterov p += m*v - lr*g."""

    _slots = ("v",)
    _hyper = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, weight_decay=0.0,
                 lr=None):
        super().__init__(learning_rate, decay, weight_decay, lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        if not 0.0 <= self.momentum:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum!r}")

    def _step(self, key, p, g, lr):
        if self.nesterov:
            ops.nesterov_update(p, g, self._slot("v", key, p), lr, self.momentum, self.weight_decay)
        elif self.momentum:
            ops.momentum_update(p, g, self._slot("v", key, p), lr, self.momentum, self.weight_decay)
        else:
            ops.sgd_update(p, g, lr, self.weight_decay)


class Momentum(SGD):
    """The book's Momentum(lr=0.01, momentum=0.9): SGD with momentum."""

    def __init__(self, lr=0.01, momentum=0.9, learning_rate=None, nesterov=False, decay=0.0, weight_decay=0.0):
        super().__init__(lr if learning_rate is None else learning_rate, momentum, nesterov, decay, weight_decay)


class Nesterov(SGD):
    """The book's Nesterov(lr=0.01, momentum=0.9): SGD(momentum, nesterov=True) with Keras 2's rule."""

    def __init__(self, lr=0.01, momentum=0.9, learning_rate=None, nesterov=True, decay=0.0, weight_decay=0.0):
        super().__init__(lr if learning_rate is None else learning_rate, momentum, nesterov, decay, weight_decay)


class RMSprop(Optimizer):
    """h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + epsilon). Book: RMSprop(lr, decay_rate)."""

    _slots = _watched = ("h",)
    _hyper = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None,
                 decay_rate=None):
        super().__init__(learning_rate, decay, weight_decay, lr)
        self.rho = float(rho if decay_rate is None else decay_rate)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        ops.rmsprop_update(p, g, self._slot("h", key, p), lr, self.rho, self.epsilon, self.weight_decay)


class Adagrad(Optimizer):
    """h += g*g; p -= lr*g/(sqrt(h) + epsilon). The book's AdaGrad(lr=0.01) is the same."""

    _slots = _watched = ("h",)
    _hyper = ("epsilon",)

    def __init__(self, learning_rate=0.01, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None):
        super().__init__(learning_rate, decay, weight_decay, lr)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        ops.adagrad_update(p, g, self._slot("h", key, p), lr, self.epsilon, self.weight_decay)


class AdaGrad(Adagrad):
    """The book's spelling of Adagrad."""


class Adadelta(Optimizer):
    """Keras 2.1 Adadelta (learning_rate=1.0, rho=0.95)."""

    _slots = _watched = ("h", "d")
    _hyper = ("rho", "epsilon")

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None):
        super().__init__(learning_rate, decay, weight_decay, lr)
        self.rho = float(rho)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        ops.adadelta_update(p, g, self._slot("h", key, p), self._slot("d", key, p), lr, self.rho,
                            self.epsilon, self.weight_decay)


class Adam(Optimizer):
    """Keras 2.1 Adam: lr_t = lr*sqrt(1 - beta_2**t)/(1 - beta_1**t), t = iterations after this call;
    m = b1*m + (1 - b1)*g; v = b2*v + (1 - b2)*g*g; p -= lr_t*m/(sqrt(v) + epsilon).
    Book: Adam(lr=0.001, beta1=0.9, beta2=0.999)."""

    _slots = ("m", "v")
    _watched = ("v",)       # m overflows only with v
    _hyper = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0,
                 weight_decay=0.0, lr=None, beta1=None, beta2=None, amsgrad=False):
        if amsgrad:
            raise NotImplementedError("Adam: amsgrad=True is not supported by cnet")
        super().__init__(learning_rate, decay, weight_decay, lr)
        self.beta_1 = float(beta_1 if beta1 is None else beta1)
        self.beta_2 = float(beta_2 if beta2 is None else beta2)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    beta1 = property(lambda self: self.beta_1)
    beta2 = property(lambda self: self.beta_2)

    def _step(self, key, p, g, lr):
        ops.adam_update(p, g, self._slot("m", key, p), self._slot("v", key, p), lr, self.beta_1,
                        self.beta_2, self.epsilon, self.iterations, self.weight_decay)


_BY_NAME = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "rmsprop": RMSprop,
            "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam}
_CLASSES = {c.__name__: c for c in (SGD, Momentum, Nesterov, RMSprop, Adagrad, AdaGrad, Adadelta, Adam)}


def get(identifier):
    """An optimizer from a name ('sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam', ...; any case), an
    instance (returned as is), a class, or a {'class_name', 'config'} dict; Keras defaults."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown optimizer class {identifier.get('class_name')!r}; known: {sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}; known: {sorted(_BY_NAME)}")
        return cls()
    raise ValueError(f"an optimizer must be a name or an Optimizer, got {identifier!r}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
