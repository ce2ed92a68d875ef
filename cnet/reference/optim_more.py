"""Optimizer updates of the optim family added for Keras 2's Adamax and Nadam, in place on the parameter p
and its state arrays, with the conventions of optim.py: state arrays have p's shape and dtype,
weight_decay adds weight_decay * p to g first, scalar coefficients are computed in float64 and rounded to
p's dtype before they touch an array. The functions return None."""

import numpy as np

from .optim import _check, _effective_grad, _scalar


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
