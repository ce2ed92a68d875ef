"""The book's common/gradient.py: numerical gradients by central differences, h = 1e-4.

``numerical_gradient(f, x)`` returns an array shaped like x (``np.zeros_like(x)``, so x's dtype) whose
element i is (f(x + h e_i) - f(x - h e_i)) / (2 h). x is perturbed IN PLACE, one element at a time, and
restored: f may ignore its argument and read x through a network's params, which is how the book's
networks call it (``numerical_gradient(lambda W: self.loss(x, t), self.params['W1'])``).
``numerical_gradient_2d(f, X)`` calls ``_numerical_gradient_1d`` on each row of a 2-D X (f receives the
row), or on X itself when X is 1-D.
"""
import numpy as np

__all__ = ["np", "numerical_gradient", "numerical_gradient_2d"]

H = 1e-4


def _central_difference(f, x, index, arg, widen):
    """(f(arg) at x[index] + H minus f(arg) at x[index] - H) / 2H; x[index] restored afterwards.
    widen: x[index] + H computed in Python floats (the book's 1-D variant) rather than in x's dtype."""
    saved = x[index]
    x[index] = (float(saved) if widen else saved) + H
    above = f(arg)
    x[index] = saved - H
    below = f(arg)
    x[index] = saved
    return (above - below) / (2 * H)


def _gradient(f, x, widen):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"numerical_gradient: x must be a NumPy array (it is perturbed in place), "
                        f"got {type(x).__name__}")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        grad[index] = _central_difference(f, x, index, x, widen)
    return grad


def numerical_gradient(f, x):
    """d f / d x by central differences (x, an array of any shape, is perturbed in place)."""
    return _gradient(f, x, False)


def _numerical_gradient_1d(f, x):
    """numerical_gradient for a 1-D x."""
    return _gradient(f, x, True)


def numerical_gradient_2d(f, X):
    """Row by row for a 2-D X (f is called with the row being perturbed); a 1-D X as a whole."""
    if X.ndim == 1:
        return _numerical_gradient_1d(f, X)
    grad = np.zeros_like(X)
    for i, row in enumerate(X):
        grad[i] = _numerical_gradient_1d(f, row)
    return grad
