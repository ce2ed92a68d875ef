"""Optimizer updates, in place on the parameter p and its state arrays (v, h, m, u, d).

Every state array has p's shape and dtype. weight_decay adds the L2 term first:
g_eff = g + weight_decay * p (g itself is not modified). Scalar coefficients are computed in
float64 and rounded to p's dtype before they touch an array, so float32 parameters are updated
in float32 arithmetic. The functions return None.
"""

import math

import numpy as np

from ._util import FLOAT_DTYPES


def _check(p, g, **state):
    if not isinstance(p, np.ndarray):
        raise TypeError(f"p must be a NumPy array (it is updated in place), got {type(p).__name__}")
    if p.dtype not in FLOAT_DTYPES:
        raise TypeError(f"p must be float32 or float64, got {p.dtype}")
    arrays = dict(g=g, **state)
    for name, a in arrays.items():
        if name != "g" and not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a NumPy array (it is updated in place), "
                            f"got {type(a).__name__}")
        a = np.asarray(a)
        if a.shape != p.shape or a.dtype != p.dtype:
            raise ValueError(f"{name} is {a.dtype} {a.shape} but p is {p.dtype} {p.shape}")


def _scalar(p, value):
    """A float64-computed coefficient rounded to p's dtype."""
    return p.dtype.type(float(value))


def _effective_grad(p, g, weight_decay):
    if weight_decay:
        return g + _scalar(p, weight_decay) * p
    return g


def sgd_update(p, g, lr, weight_decay=0.0):
    """p -= lr * g"""
    _check(p, g)
    g = _effective_grad(p, g, weight_decay)
    p -= _scalar(p, lr) * g


def momentum_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += v  (Keras SGD with momentum, the book's Momentum)"""
    _check(p, g, v=v)
    g = _effective_grad(p, g, weight_decay)
    v *= _scalar(p, momentum)
    v -= _scalar(p, lr) * g
    p += v


def nesterov_update(p, g, v, lr, momentum, weight_decay=0.0):
    """v = momentum*v - lr*g; p += momentum*v - lr*g  (Keras 2 SGD with nesterov=True)"""
    _check(p, g, v=v)
    g = _effective_grad(p, g, weight_decay)
    mom, lr_ = _scalar(p, momentum), _scalar(p, lr)
    v *= mom
    v -= lr_ * g
    p += mom * v - lr_ * g


def adagrad_update(p, g, h, lr, eps, weight_decay=0.0):
    """h += g*g; p -= lr*g/(sqrt(h) + eps)"""
    _check(p, g, h=h)
    g = _effective_grad(p, g, weight_decay)
    h += g * g
    p -= _scalar(p, lr) * g / (np.sqrt(h) + _scalar(p, eps))


def rmsprop_update(p, g, h, lr, rho, eps, weight_decay=0.0):
    """h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps)"""
    _check(p, g, h=h)
    g = _effective_grad(p, g, weight_decay)
    h *= _scalar(p, rho)
    h += _scalar(p, 1.0 - rho) * g * g
    p -= _scalar(p, lr) * g / (np.sqrt(h) + _scalar(p, eps))


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adam, t the step count starting at 1:

    lr_t = lr*sqrt(1 - beta2**t)/(1 - beta1**t)   (float64)
    m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps)
    """
    _check(p, g, m=m, v=v)
    t = int(t)
    if t < 1:
        raise ValueError(f"Adam's step count t starts at 1, got {t}")
    g = _effective_grad(p, g, weight_decay)
    lr_t = lr * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    m *= _scalar(p, beta1)
    m += _scalar(p, 1.0 - beta1) * g
    v *= _scalar(p, beta2)
    v += _scalar(p, 1.0 - beta2) * g * g
    p -= _scalar(p, lr_t) * m / (np.sqrt(v) + _scalar(p, eps))


def adadelta_update(p, g, h, d, lr, rho, eps, weight_decay=0.0):
    """Keras 2.1 Adadelta (h: accumulated g^2, d: accumulated update^2):

    h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps); p -= lr*upd;
    d = rho*d + (1 - rho)*upd*upd
    """
    _check(p, g, h=h, d=d)
    g = _effective_grad(p, g, weight_decay)
    rho_, one_minus_rho, eps_ = _scalar(p, rho), _scalar(p, 1.0 - rho), _scalar(p, eps)
    h *= rho_
    h += one_minus_rho * g * g
    upd = g * np.sqrt(d + eps_) / np.sqrt(h + eps_)
    p -= _scalar(p, lr) * upd
    d *= rho_
    d += one_minus_rho * upd * upd


def _start(p, g, t, weight_decay, who, **state):
    """Check the arrays and the step count t; returns (the effective gradient, t)."""
    _check(p, g, **state)
    t = int(t)
    if t < 1:
        raise ValueError(f"{who}'s step count t starts at 1, got {t}")
    return _effective_grad(p, g, weight_decay), t


def _average(p, a, value, beta):
    """a = beta*a + (1 - beta)*value, in place."""
    a *= _scalar(p, beta)
    a += _scalar(p, 1.0 - beta) * value


def adamax_update(p, g, m, u, lr, beta1, beta2, eps, t, weight_decay=0.0):
    """Keras 2.1 Adamax (Adam with the infinity norm), t the step count starting at 1:

    lr_t = lr/(1 - beta1**t)   (float64)
    m = beta1*m + (1 - beta1)*g; u = max(beta2*u, |g|); p -= lr_t*m/(u + eps)
    """
    g, t = _start(p, g, t, weight_decay, "Adamax", m=m, u=u)
    _average(p, m, g, beta1)
    u *= _scalar(p, beta2)
    np.maximum(u, np.abs(g), out=u)
    p -= _scalar(p, lr / (1.0 - beta1 ** t)) * m / (u + _scalar(p, eps))


def nadam_update(p, g, m, v, lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule, weight_decay=0.0):
    """Keras 2.1 Nadam, t the step count starting at 1. The caller keeps the momentum schedule:
    mu_t = beta1*(1 - 0.5*0.96**(t*schedule_decay)), mu_next the same at t + 1, and m_schedule the
    product mu_1*...*mu_t (this step's included):

    g' = g/(1 - m_schedule); m = beta1*m + (1 - beta1)*g; m' = m/(1 - m_schedule*mu_next)
    v = beta2*v + (1 - beta2)*g*g; v' = v/(1 - beta2**t)
    p -= lr*((1 - mu_t)*g' + mu_next*m')/(sqrt(v') + eps)
    """
    g, t = _start(p, g, t, weight_decay, "Nadam", m=m, v=v)
    _average(p, m, g, beta1)
    _average(p, v, g * g, beta2)
    m_bar = (_scalar(p, (1.0 - mu_t) / (1.0 - m_schedule)) * g
             + _scalar(p, mu_next / (1.0 - m_schedule * mu_next)) * m)
    v_hat = v * _scalar(p, 1.0 / (1.0 - beta2 ** t))
    p -= _scalar(p, lr) * m_bar / (np.sqrt(v_hat) + _scalar(p, eps))
