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
Adamax(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
Nadam(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_decay=0.004)

Every class takes ``learning_rate=`` or the old ``lr=`` (and exposes both ``.learning_rate`` and
``.lr``), Keras's ``decay`` (learning rate lr / (1 + decay * iterations), iterations counted before
this update) and ``weight_decay`` (an L2 term added to the gradient by the op). The book's keyword
spellings (decay_rate for rho, beta1/beta2) are accepted. Where a book default differs from Keras
(RMSprop's lr and rho) the Keras default wins: pass the book's values explicitly. Nesterov follows
Keras 2's rule (v = m*v - lr*g; p += m*v - lr*g), not the book's variant.

Hyperparameters Keras keeps in variables (learning_rate/lr, decay, momentum, rho, beta_1, beta_2, and the
step count ``iterations``) can be changed between updates: ``opt.lr = 0.01``, or, as in Keras,
``K.set_value(model.optimizer.lr, 0.01)`` with ``K = cnet.backend`` (read back with ``K.get_value``).

Gradient clipping (every optimizer, before the update): ``clipnorm=c`` rescales each gradient array whose
L2 norm exceeds c to norm c (tf.keras's per-array rule); ``global_clipnorm=c`` rescales all gradients of
an update together when their joint norm exceeds c (the rule of multi-backend Keras 2.0-2.3's clipnorm);
``clipvalue=c`` then clips every element to [-c, c]. 0 or None: no clipping. Norms are summed in float64.

Divergence: after each ``update`` the optimizer lists in ``nonfinite`` the arrays it wrote that hold NaN or
Inf, as (slot, key) pairs (slot None for the parameter itself; empty when all are finite): the parameter,
and the state arrays through which an overflow would not reach it (Adam's and Nadam's v, Adamax's u,
RMSprop's and Adagrad's h, Adadelta's h and d: a second moment that overflowed to Inf turns the step into
0 and leaves the parameter finite). The update ops report it from their own pass over the arrays (a
bitmask, cnet.ops.optim), so the check costs no extra pass; a model's fit stops on it (cnet._training)
and names the layer.

Checkpoints: ``get_state()`` returns ``{'iterations': int, '<slot>:<key>': array, ...}``;
``set_state(state)`` restores it. ``get_config()``/``from_config()`` hold the hyperparameters.
``cnet.optimizers.get('adam')`` (case-insensitive), an instance, a class or a {'class_name', 'config'} dict.
"""
import math
import numbers

import numpy as np

from . import backend, ops

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "RMSprop", "Adagrad", "AdaGrad", "Adadelta",
           "Adam", "Adamax", "Nadam", "get", "serialize"]


def _real(owner, name, value, low=0.0, high=None, high_open=False):
    """value as a float in [low, high] (or [low, high)), else ValueError naming the optimizer and `name`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{type(owner).__name__}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    v = float(value)
    if not (math.isfinite(v) and v >= low and (high is None or (v < high if high_open else v <= high))):
        upper = "" if high is None else f" and {'<' if high_open else '<='} {high}"
        raise ValueError(f"{type(owner).__name__}: {name} must be a finite number >= {low}{upper}, got {value!r}")
    return v


def _variable(name, high=None, high_open=False, doc=None):
    """A hyperparameter attribute Keras keeps in a variable: reads give a backend.BoundFloat (so that
    K.get_value/K.set_value reach it), writes are checked and apply from the next update."""
    def get(self):
        return backend.BoundFloat(self._hp[name], self, name)

    def set(self, value):
        self._hp[name] = _real(self, name, value, 0.0, high, high_open)
    return property(get, set, doc=doc or f"{name} (settable between updates; K.set_value works on it)")


class Optimizer:
    """Base class. Subclasses set ``_slots`` (state array names) and ``_step(key, p, g, lr, state)``."""

    _slots = ()
    _hyper = ()    # names of the hyperparameters in get_config, beside learning_rate/decay/weight_decay
    _watched = ()  # slots an overflow can make non-finite without making the parameter so

    def __init__(self, learning_rate=0.01, decay=0.0, weight_decay=0.0, lr=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        self._hp = {}
        if lr is not None:
            learning_rate = lr
        self.learning_rate = learning_rate
        self.decay = decay
        self.weight_decay = _real(self, "weight_decay", weight_decay)
        if clipnorm and global_clipnorm:
            raise ValueError(f"{type(self).__name__}: give clipnorm (each gradient array) or global_clipnorm (all "
                             "of them together), not both")
        self.clipnorm = None if clipnorm is None else _real(self, "clipnorm", clipnorm)
        self.global_clipnorm = None if global_clipnorm is None else _real(self, "global_clipnorm", global_clipnorm)
        self.clipvalue = None if clipvalue is None else _real(self, "clipvalue", clipvalue)
        self._iterations = 0
        self._state = {slot: {} for slot in self._slots}
        self.nonfinite = []

    learning_rate = _variable("learning_rate", doc="The learning rate (K.set_value(optimizer.lr, v) sets it too).")
    lr = property(lambda self: backend.BoundFloat(self._hp["learning_rate"], self, "learning_rate"),
                  lambda self, value: setattr(self, "learning_rate", value), doc="learning_rate's Keras 2.1 name")
    decay = _variable("decay", doc="Keras's time decay: the learning rate is lr / (1 + decay * iterations).")

    @property
    def iterations(self):
        """The number of update() calls so far (settable, e.g. K.set_value(optimizer.iterations, 0))."""
        return backend.BoundInt(self._iterations, self, "iterations")

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)) or value < 0:
            raise ValueError(f"{type(self).__name__}: iterations must be an integer >= 0, got {value!r}")
        self._iterations = int(value)

    def current_learning_rate(self):
        """The learning rate of the next update (with Keras's time decay)."""
        lr, decay = self._hp["learning_rate"], self._hp["decay"]
        return lr / (1.0 + decay * self._iterations) if decay else lr

    def _slot(self, slot, key, p):
        arrays = self._state[slot]
        a = arrays.get(key)
        if a is None or a.shape != p.shape or a.dtype != p.dtype:
            a = arrays[key] = np.zeros_like(p)
        return a

    def update(self, params, grads):
        """One step on every parameter of ``params`` (in place), with the gradient of the same key
        (clipped first when the optimizer clips)."""
        lr = self.current_learning_rate()
        self._iterations += 1
        pairs = []
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
            pairs.append((key, p, g))
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            pairs = self._clipped(pairs)
        self._prepare()
        found = []
        for key, p, g in pairs:
            found += self._nonfinite(key, p, self._step(key, p, g, lr))
        self.nonfinite = found

    def _clipped(self, pairs):
        """The (key, p, g) list with new, clipped gradient arrays (the given ones are left as they are)."""
        def norm(g):
            return math.sqrt(float(np.sum(np.square(g, dtype=np.float64))))

        def scaled(g, factor):
            return g * g.dtype.type(factor)
        if self.clipnorm:
            c = self.clipnorm
            pairs = [(k, p, g if (n := norm(g)) <= c else scaled(g, c / n)) for k, p, g in pairs]
        elif self.global_clipnorm:
            c = self.global_clipnorm
            n = math.sqrt(sum(norm(g) ** 2 for _, _, g in pairs))
            if n > c:
                pairs = [(k, p, scaled(g, c / n)) for k, p, g in pairs]
        if self.clipvalue:
            c = self.clipvalue
            pairs = [(k, p, np.clip(g, -c, c)) for k, p, g in pairs]
        return pairs

    def _prepare(self):
        """Per-update work before the parameters' steps (Nadam's momentum schedule)."""

    def _nonfinite(self, key, p, mask):
        """[(slot, key), ...]: p's arrays that this update left holding NaN or Inf (slot None: p itself).
        mask is the op's report (bit 0 p, bit i the i-th of _slots); a _step that returns None (a
        subclass's own) is checked with np.isfinite instead."""
        if mask is None:
            states = [self._state[slot].get(key) for slot in self._slots]
            mask = sum((a is not None and not np.isfinite(a).all()) << i
                       for i, a in enumerate([p] + states))
        if not mask:
            return []
        return [(None, key)] * (mask & 1) + [(slot, key) for i, slot in enumerate(self._slots, 1)
                                             if mask >> i & 1 and slot in self._watched]

    def _step(self, key, p, g, lr):
        raise NotImplementedError

    def get_config(self):
        config = {"learning_rate": float(self.learning_rate)}
        config.update({name: _plain(getattr(self, name)) for name in self._hyper})
        config.update(decay=float(self.decay), weight_decay=self.weight_decay)
        for name in ("clipnorm", "global_clipnorm", "clipvalue"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
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

    momentum = _variable("momentum")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, weight_decay=0.0,
                 lr=None, **clipping):
        super().__init__(learning_rate, decay, weight_decay, lr, **clipping)
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def _step(self, key, p, g, lr):
        if self.nesterov:
            return ops.nesterov_update(p, g, self._slot("v", key, p), lr, self._hp["momentum"], self.weight_decay)
        if self._hp["momentum"]:
            return ops.momentum_update(p, g, self._slot("v", key, p), lr, self._hp["momentum"], self.weight_decay)
        return ops.sgd_update(p, g, lr, self.weight_decay)


class Momentum(SGD):
    """The book's Momentum(lr=0.01, momentum=0.9): SGD with momentum."""

    def __init__(self, lr=0.01, momentum=0.9, learning_rate=None, nesterov=False, decay=0.0, weight_decay=0.0,
                 **clipping):
        super().__init__(lr if learning_rate is None else learning_rate, momentum, nesterov, decay, weight_decay,
                         **clipping)


class Nesterov(SGD):
    """The book's Nesterov(lr=0.01, momentum=0.9): SGD(momentum, nesterov=True) with Keras 2's rule."""

    def __init__(self, lr=0.01, momentum=0.9, learning_rate=None, nesterov=True, decay=0.0, weight_decay=0.0,
                 **clipping):
        super().__init__(lr if learning_rate is None else learning_rate, momentum, nesterov, decay, weight_decay,
                         **clipping)


class RMSprop(Optimizer):
    """h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + epsilon). Book: RMSprop(lr, decay_rate)."""

    _slots = _watched = ("h",)
    _hyper = ("rho", "epsilon")
    rho = _variable("rho", high=1.0)

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None,
                 decay_rate=None, **clipping):
        super().__init__(learning_rate, decay, weight_decay, lr, **clipping)
        self.rho = rho if decay_rate is None else decay_rate
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        return ops.rmsprop_update(p, g, self._slot("h", key, p), lr, self._hp["rho"], self.epsilon, self.weight_decay)


class Adagrad(Optimizer):
    """h += g*g; p -= lr*g/(sqrt(h) + epsilon). The book's AdaGrad(lr=0.01) is the same."""

    _slots = _watched = ("h",)
    _hyper = ("epsilon",)

    def __init__(self, learning_rate=0.01, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None, **clipping):
        super().__init__(learning_rate, decay, weight_decay, lr, **clipping)
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        return ops.adagrad_update(p, g, self._slot("h", key, p), lr, self.epsilon, self.weight_decay)


class AdaGrad(Adagrad):
    """The book's spelling of Adagrad."""


class Adadelta(Optimizer):
    """Keras 2.1 Adadelta (learning_rate=1.0, rho=0.95)."""

    _slots = _watched = ("h", "d")
    _hyper = ("rho", "epsilon")
    rho = _variable("rho", high=1.0)

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-7, decay=0.0, weight_decay=0.0, lr=None,
                 **clipping):
        super().__init__(learning_rate, decay, weight_decay, lr, **clipping)
        self.rho = rho
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)

    def _step(self, key, p, g, lr):
        return ops.adadelta_update(p, g, self._slot("h", key, p), self._slot("d", key, p), lr, self._hp["rho"],
                            self.epsilon, self.weight_decay)


class _Betas(Optimizer):
    """The Adam family's hyperparameters: beta_1, beta_2 (Keras variables), epsilon."""

    _hyper = ("beta_1", "beta_2", "epsilon")
    beta_1 = _variable("beta_1", high=1.0, high_open=True)
    beta_2 = _variable("beta_2", high=1.0, high_open=True)

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, decay, weight_decay, lr, **clipping):
        super().__init__(learning_rate, decay, weight_decay, lr, **clipping)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = 1e-7 if epsilon is None else float(epsilon)


class Adam(_Betas):
    """Keras 2.1 Adam: lr_t = lr*sqrt(1 - beta_2**t)/(1 - beta_1**t), t = iterations after this call;
    m = b1*m + (1 - b1)*g; v = b2*v + (1 - b2)*g*g; p -= lr_t*m/(sqrt(v) + epsilon).
    Book: Adam(lr=0.001, beta1=0.9, beta2=0.999)."""

    _slots = ("m", "v")
    _watched = ("v",)       # m overflows only with v
    beta1 = property(lambda self: self.beta_1)
    beta2 = property(lambda self: self.beta_2)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0,
                 weight_decay=0.0, lr=None, beta1=None, beta2=None, amsgrad=False, **clipping):
        if amsgrad:
            raise NotImplementedError("Adam: amsgrad=True is not supported by cnet (use amsgrad=False, or "
                                      "Adamax, Adam's variant with the infinity norm)")
        super().__init__(learning_rate, beta_1 if beta1 is None else beta1, beta_2 if beta2 is None else beta2,
                         epsilon, decay, weight_decay, lr, **clipping)

    def _step(self, key, p, g, lr):
        return ops.adam_update(p, g, self._slot("m", key, p), self._slot("v", key, p), lr, self._hp["beta_1"],
                        self._hp["beta_2"], self.epsilon, self._iterations, self.weight_decay)


class Adamax(_Betas):
    """Keras 2.1 Adamax, Adam with the infinity norm: lr_t = lr/(1 - beta_1**t), t = iterations after
    this call; m = b1*m + (1 - b1)*g; u = max(b2*u, |g|); p -= lr_t*m/(u + epsilon)."""

    _slots = ("m", "u")
    _watched = ("u",)      # an infinite u turns the step into 0

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, decay=0.0, weight_decay=0.0,
                 lr=None, **clipping):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, decay, weight_decay, lr, **clipping)

    def _step(self, key, p, g, lr):
        hp = self._hp
        return ops.adamax_update(p, g, self._slot("m", key, p), self._slot("u", key, p), lr, hp["beta_1"], hp["beta_2"],
                          self.epsilon, self._iterations, self.weight_decay)


class Nadam(_Betas):
    """Keras 2.1 Nadam (Adam with Nesterov momentum and Dozat's warming momentum schedule), with t =
    iterations after this call: mu_t = beta_1*(1 - 0.5*0.96**(t*schedule_decay)), m_schedule *= mu_t;
    g' = g/(1 - m_schedule); m = b1*m + (1 - b1)*g; m' = m/(1 - m_schedule*mu_(t+1));
    v = b2*v + (1 - b2)*g*g; v' = v/(1 - b2**t); p -= lr*((1 - mu_t)*g' + mu_(t+1)*m')/(sqrt(v') + epsilon).
    Keras 2.1's Nadam has no time decay; cnet's takes ``decay`` as every optimizer does (default 0).
    The schedule's product is part of get_state()."""

    _slots = ("m", "v")
    _watched = ("v",)
    _hyper = ("beta_1", "beta_2", "epsilon", "schedule_decay")

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_decay=0.004,
                 decay=0.0, weight_decay=0.0, lr=None, **clipping):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, decay, weight_decay, lr, **clipping)
        self.schedule_decay = _real(self, "schedule_decay", schedule_decay)
        self.m_schedule = 1.0

    def _momentum(self, t):
        return self._hp["beta_1"] * (1.0 - 0.5 * 0.96 ** (t * self.schedule_decay))

    def _prepare(self):
        t = self._iterations
        self._mu = self._momentum(t), self._momentum(t + 1)
        self.m_schedule *= self._mu[0]

    def _step(self, key, p, g, lr):
        hp = self._hp
        return ops.nadam_update(p, g, self._slot("m", key, p), self._slot("v", key, p), lr, hp["beta_1"], hp["beta_2"],
                         self.epsilon, self._iterations, self._mu[0], self._mu[1], self.m_schedule, self.weight_decay)

    def get_state(self):
        state = super().get_state()
        state["m_schedule"] = self.m_schedule
        return state

    def set_state(self, state):
        state = dict(state)
        m_schedule = state.pop("m_schedule", 1.0)
        if isinstance(m_schedule, bool) or not isinstance(m_schedule, (int, float)) or not 0 < m_schedule <= 1:
            raise ValueError(f"Nadam.set_state: m_schedule must be a number in (0, 1], got {m_schedule!r}")
        super().set_state(state)
        self.m_schedule = float(m_schedule)


def _plain(value):
    """A hyperparameter as plain data for get_config."""
    return value._plain(value) if isinstance(value, (backend.BoundFloat, backend.BoundInt)) else value


_BY_NAME = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "rmsprop": RMSprop,
            "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam, "adamax": Adamax, "nadam": Nadam}
_CLASSES = {c.__name__: c for c in (SGD, Momentum, Nesterov, RMSprop, Adagrad, AdaGrad, Adadelta, Adam, Adamax,
                                    Nadam)}


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
