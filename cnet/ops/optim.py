"""Ops of the optim family: the optimizers' updates, in place on the parameter p and its state arrays
(v, h, m, u, d) -- checks, and their two implementations. Every kernel sees flat views. Each update
returns a bitmask of the arrays it left holding NaN or Inf: bit 0 for p, bits 1 and 2 for the state
arrays in the order of the signature (0 when all are finite) -- the C kernels find it in the update's
own pass, the NumPy implementations with np.isfinite."""
import operator

import numpy as np

from .. import _kernels, reference
from .._runtime import get_num_threads
from . import _checks
from ._table import implementation, register

__all__ = ["sgd_update", "momentum_update", "nesterov_update", "adagrad_update", "rmsprop_update",
           "adam_update", "adadelta_update", "adamax_update", "nadam_update"]

_real = _checks.real


def _updated(a, name, p=None):
    """An array the update writes in place: float ndarray, C-contiguous, writable, and (for state arrays)
    p's shape and dtype. Never copied: an update of a copy would be lost."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray (it is updated in place), got {type(a).__name__}")
    if a.dtype not in _checks.FLOAT_DTYPES:
        raise TypeError(f"{name}: expected dtype float32 or float64, got an array of shape {a.shape} "
                        f"and dtype {a.dtype}")
    if p is not None and (a.shape != p.shape or a.dtype != p.dtype):
        raise ValueError(f"{name}: expected the shape and dtype of p, {p.shape} {p.dtype}, "
                         f"got {a.shape} {a.dtype}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: it is updated in place, so it must be C-contiguous; got a non-contiguous "
                         f"array of shape {a.shape} (use np.ascontiguousarray once, when it is created)")
    if not a.flags.writeable:
        raise ValueError(f"{name}: it is updated in place, so it must be writable; got a read-only array "
                         f"of shape {a.shape}")
    return a


def _opt_args(p, g, **state):
    """Check p, g and the state arrays; returns g as a C-contiguous array of p's dtype and shape."""
    p = _updated(p, "p")
    for name, a in state.items():
        _updated(a, name, p)
    written = [("p", p)] + list(state.items())
    for i, (na, a) in enumerate(written):
        for nb, b in written[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{na} and {nb} share memory; each must be its own array")
    if not isinstance(g, np.ndarray):
        raise TypeError(f"g: expected a numpy.ndarray, got {type(g).__name__}")
    if g.shape != p.shape or g.dtype != p.dtype:
        raise ValueError(f"g: expected the shape and dtype of p, {p.shape} {p.dtype}, got {g.shape} {g.dtype}")
    return _checks.contiguous(g, "g")   # keeps a 0-d g 0-d (np.ascontiguousarray makes it (1,))


def _step_count(t, who):
    """t, an integer step count >= 1."""
    try:
        t = operator.index(t)
    except TypeError:
        raise TypeError(f"t: expected an integer step count, got {type(t).__name__} {t!r}") from None
    if t < 1:
        raise ValueError(f"{who}'s step count t starts at 1, got {t}")
    return t


def _beta(value, name):
    return _real(value, name, 0.0, 1.0, high_open=True)


def sgd_update(p, g, lr, weight_decay=0.0):
    """p -= lr * g (in place); weight_decay adds weight_decay * p to g first."""
    g = _opt_args(p, g)
    return implementation("sgd_update")(p, g, _real(lr, "lr"), _real(weight_decay, "weight_decay"))


def momentum_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += v (in place)."""
    g = _opt_args(p, g, v=v)
    return implementation("momentum_update")(p, g, v, _real(lr, "lr"), _real(momentum, "momentum"),
                                             _real(weight_decay, "weight_decay"))


def nesterov_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += momentum*v - lr*g (in place)."""
    g = _opt_args(p, g, v=v)
    return implementation("nesterov_update")(p, g, v, _real(lr, "lr"), _real(momentum, "momentum"),
                                             _real(weight_decay, "weight_decay"))


def adagrad_update(p, g, h, lr, eps, weight_decay=0.0):
    """h += g*g; p -= lr*g/(sqrt(h) + eps) (in place)."""
    g = _opt_args(p, g, h=h)
    return implementation("adagrad_update")(p, g, h, _real(lr, "lr"), _real(eps, "eps"),
                                            _real(weight_decay, "weight_decay"))


def rmsprop_update(p, g, h, lr, rho, eps, weight_decay=0.0):
    """h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps) (in place)."""
    g = _opt_args(p, g, h=h)
    return implementation("rmsprop_update")(p, g, h, _real(lr, "lr"), _real(rho, "rho"), _real(eps, "eps"),
                                            _real(weight_decay, "weight_decay"))


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adam, t >= 1 the step count (in place):
    lr_t = lr*sqrt(1 - beta2**t)/(1 - beta1**t); m = beta1*m + (1 - beta1)*g;
    v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps)."""
    g = _opt_args(p, g, m=m, v=v)
    t = _step_count(t, "Adam")
    run = implementation("adam_update")
    return run(p, g, m, v, _real(lr, "lr"), _beta(beta1, "beta1"), _beta(beta2, "beta2"), _real(eps, "eps"), t,
               _real(weight_decay, "weight_decay"))


def adadelta_update(p, g, h, d, lr, rho, eps, weight_decay=0.0):
    """Keras 2.1 Adadelta (in place): h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps);
    p -= lr*upd; d = rho*d + (1 - rho)*upd*upd."""
    g = _opt_args(p, g, h=h, d=d)
    run = implementation("adadelta_update")
    return run(p, g, h, d, _real(lr, "lr"), _real(rho, "rho"), _real(eps, "eps"),
               _real(weight_decay, "weight_decay"))


def adamax_update(p, g, m, u, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adamax, t >= 1 the step count (in place): m = beta1*m + (1 - beta1)*g;
    u = max(beta2*u, |g|); p -= lr/(1 - beta1**t) * m/(u + eps)."""
    g = _opt_args(p, g, m=m, u=u)
    t = _step_count(t, "Adamax")
    run = implementation("adamax_update")
    return run(p, g, m, u, _real(lr, "lr"), _beta(beta1, "beta1"), _beta(beta2, "beta2"), _real(eps, "eps"), t,
               _real(weight_decay, "weight_decay"))


def nadam_update(p, g, m, v, lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule, weight_decay=0.0):
    """Keras 2.1 Nadam, t >= 1 the step count (in place); mu_t and mu_next the momentum schedule at t
    and t + 1, m_schedule the product of mu_1..mu_t (cnet.reference.nadam_update has the formulas)."""
    g = _opt_args(p, g, m=m, v=v)
    t = _step_count(t, "Nadam")
    run = implementation("nadam_update")
    return run(p, g, m, v, _real(lr, "lr"), _beta(beta1, "beta1"), _beta(beta2, "beta2"), _real(eps, "eps"), t,
               _beta(mu_t, "mu_t"), _beta(mu_next, "mu_next"), _beta(m_schedule, "m_schedule"),
               _real(weight_decay, "weight_decay"))


# ---- the C implementations ------------------------------------------------------------------------

def _flat(*arrays):
    return [a.reshape(-1) for a in arrays]


def _sgd_update_c(p, g, lr, weight_decay):
    return _kernels.sgd_update(*_flat(p, g), lr, weight_decay, get_num_threads())


def _momentum_update_c(p, g, v, lr, momentum, weight_decay):
    return _kernels.momentum_update(*_flat(p, v, g), lr, momentum, weight_decay, get_num_threads())


def _nesterov_update_c(p, g, v, lr, momentum, weight_decay):
    return _kernels.nesterov_update(*_flat(p, v, g), lr, momentum, weight_decay, get_num_threads())


def _adagrad_update_c(p, g, h, lr, eps, weight_decay):
    return _kernels.adagrad_update(*_flat(p, h, g), lr, eps, weight_decay, get_num_threads())


def _rmsprop_update_c(p, g, h, lr, rho, eps, weight_decay):
    return _kernels.rmsprop_update(*_flat(p, h, g), lr, rho, eps, weight_decay, get_num_threads())


def _adam_update_c(p, g, m, v, lr, beta1, beta2, eps, t, weight_decay):
    return _kernels.adam_update(*_flat(p, m, v, g), lr, beta1, beta2, eps, t, weight_decay, get_num_threads())


def _adadelta_update_c(p, g, h, d, lr, rho, eps, weight_decay):
    return _kernels.adadelta_update(*_flat(p, h, d, g), lr, rho, eps, weight_decay, get_num_threads())


def _adamax_update_c(p, g, m, u, lr, beta1, beta2, eps, t, weight_decay):
    return _kernels.adamax_update(*_flat(p, m, u, g), lr, beta1, beta2, eps, t, weight_decay,
                                  get_num_threads())


def _nadam_update_c(p, g, m, v, lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule, weight_decay):
    return _kernels.nadam_update(*_flat(p, m, v, g), lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule,
                                 weight_decay, get_num_threads())


def _reported(ref, n_state):
    """The reference update ref, returning the bitmask of the C kernels (p and its n_state state arrays,
    which follow g in the arguments)."""
    def update(p, g, *args):
        ref(p, g, *args)
        written = (p,) + args[:n_state]
        return sum((not np.isfinite(a).all()) << i for i, a in enumerate(written))
    update.__name__ = update.__qualname__ = ref.__name__
    update.__doc__ = ref.__doc__
    return update


register("sgd_update", _reported(reference.sgd_update, 0), _sgd_update_c)
register("momentum_update", _reported(reference.momentum_update, 1), _momentum_update_c)
register("nesterov_update", _reported(reference.nesterov_update, 1), _nesterov_update_c)
register("adagrad_update", _reported(reference.adagrad_update, 1), _adagrad_update_c)
register("rmsprop_update", _reported(reference.rmsprop_update, 1), _rmsprop_update_c)
register("adam_update", _reported(reference.adam_update, 2), _adam_update_c)
register("adadelta_update", _reported(reference.adadelta_update, 2), _adadelta_update_c)
register("adamax_update", _reported(reference.adamax_update, 2), _adamax_update_c)
register("nadam_update", _reported(reference.nadam_update, 2), _nadam_update_c)
