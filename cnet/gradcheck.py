"""Finite-difference gradient checks: ``cnet.gradcheck(obj, x, y=None, eps=1e-6)``.

Returns ``{key: relative error}`` with relative error = ||analytic - numeric|| / max(||analytic|| +
||numeric||, 1e-30) (norms over the whole array), numeric gradients by central differences
(f(p + eps) - f(p - eps)) / (2 eps), one element at a time.

- A ``Layer``: a float64 copy of the layer is checked (the layer itself is not modified) on the
  scalar function f = sum(forward(x, train=True) * R), R fixed random weights. Keys: each parameter
  ('W', 'b', 'gamma', ...) and 'x' (the input gradient returned by backward).
- A network with the book's interface (cnet.nets, the book's TwoLayerNet/SimpleConvNet): an object
  with ``params`` (dict of arrays, updated in place), ``loss(x, t)`` and ``gradient(x, t)``
  (returning a dict of gradients with the params' keys). Its parameters are perturbed in place and
  restored; they should be float64 for a meaningful check (float32 gives errors of ~1e-3).
- A model with ``params`` and ``loss_and_grads(x, y) -> (loss, grads)`` (same keys as params) is
  checked the same way, ``loss`` being loss_and_grads(x, y)[0] when there is no ``loss(x, t)``.

Dropout masks are frozen during the check (every evaluation sees the same mask); BatchNormalization
uses batch statistics (train=True) and its moving averages change, which does not affect f.
``keys`` restricts the check to some parameters; ``max_elements`` samples at most that many
elements per array (all by default).
"""
import copy
import warnings

import numpy as np

from . import layers as _layers

__all__ = ["gradcheck", "numerical_gradient", "relative_error"]


def relative_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = max(float(np.linalg.norm(a) + np.linalg.norm(b)), 1e-30)
    return float(np.linalg.norm(a - b)) / denom


def _indices(size, max_elements, rng):
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def numerical_gradient(f, arr, eps=1e-6, indices=None):
    """Central differences (f() at arr[i] + eps minus f() at arr[i] - eps) / (2 eps) of the scalar
    function f() (no argument: it reads arr, directly or through a model) with respect to the elements
    ``indices`` of arr's flat view (all of them by default). arr, C-contiguous, is perturbed in place
    and restored. Returns a float64 array shaped like arr; elements not in indices are 0."""
    flat = arr.reshape(-1)
    if not np.shares_memory(flat, arr):
        raise ValueError("numerical_gradient needs a C-contiguous array (it is perturbed in place)")
    grad = np.zeros(arr.size)
    for i in (range(arr.size) if indices is None else indices):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad.reshape(arr.shape)


def _compare(analytic, numeric, idx):
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)[idx]
    n = numeric.reshape(-1)[idx]
    return relative_error(a, n)


def _check_layer(layer, x, eps, keys, max_elements, seed):
    # A stream of its own, so that R is not the caller's x drawn from the same small seed
    # (f = sum(BN(x) * x) has a degenerate, nearly zero input gradient).
    rng = np.random.default_rng((seed, 0x9C7E))
    layer = copy.deepcopy(layer)
    x = np.array(x, dtype=np.float64)
    if layer.built:
        layer.build(layer.input_shape, np.float64)
    else:
        layer.build(x.shape[1:], np.float64)
    y = layer.forward(x, train=True)
    r = rng.standard_normal(y.shape)

    def f():
        return float(np.sum(layer.forward(x, train=True) * r))

    f()
    dx = layer.backward(r.copy())
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    analytic["x"] = dx
    arrays = dict(layer.params)
    arrays["x"] = x
    result = {}
    for key, arr in arrays.items():
        if keys is not None and key not in keys:
            continue
        idx = _indices(arr.size, max_elements, rng)
        result[key] = _compare(analytic[key], numerical_gradient(f, arr, eps, idx), idx)
    return result


def _check_network(net, x, t, eps, keys, max_elements, seed):
    rng = np.random.default_rng(seed)
    if hasattr(net, "gradient"):
        grads = net.gradient(x, t)
    elif hasattr(net, "loss_and_grads"):
        grads = net.loss_and_grads(x, t)[1]
    else:
        raise TypeError("gradcheck: a network needs gradient(x, t) or loss_and_grads(x, y)")
    grads = {k: np.array(g, dtype=np.float64) for k, g in grads.items()}
    if any(np.asarray(p).dtype != np.float64 for p in net.params.values()):
        warnings.warn("gradcheck: the network has parameters that are not float64; central differences "
                      "in float32 give relative errors of ~1e-3. Build it in float64 "
                      "(e.g. Sequential(..., dtype='float64')).", stacklevel=3)
    if hasattr(net, "loss"):
        def f():
            return float(net.loss(x, t))
    else:
        def f():
            return float(net.loss_and_grads(x, t)[0])
    result = {}
    for key, arr in net.params.items():
        if keys is not None and key not in keys:
            continue
        if key not in grads:
            raise KeyError(f"gradcheck: the network's gradients have no entry {key!r}")
        idx = _indices(arr.size, max_elements, rng)
        result[key] = _compare(grads[key], numerical_gradient(f, arr, eps, idx), idx)
    return result


def gradcheck(obj, x, y=None, eps=1e-6, keys=None, max_elements=None, seed=0):
    """{key: relative error between backprop and central differences} (see the module docstring)."""
    with _layers.frozen_dropout():
        if isinstance(obj, _layers.Layer):
            return _check_layer(obj, x, eps, keys, max_elements, seed)
        if hasattr(obj, "params") and (hasattr(obj, "gradient") or hasattr(obj, "loss_and_grads")):
            return _check_network(obj, x, y, eps, keys, max_elements, seed)
    raise TypeError(f"gradcheck: expected a cnet Layer or a network with params and gradient(x, t) "
                    f"(or loss_and_grads(x, y)), got {type(obj).__name__}")
