"""The book's common/optimizer.py: SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam with the book's
constructors, defaults and update rules, computed by cnet's fused update kernels (cnet.optimizers).

``update(params, grads)`` updates every entry of the dict ``params`` with the gradient of the same key:
arrays in place (float32 or float64), and, as in the book's two-dimensional example, plain numbers
(``params['x'] = -7.0``), whose new value is stored back into the dict (as a numpy float64).

    SGD(lr=0.01)                        p -= lr g
    Momentum(lr=0.01, momentum=0.9)     v = momentum v - lr g;  p += v
    Nesterov(lr=0.01, momentum=0.9)     p += momentum**2 v - (1 + momentum) lr g;  v = momentum v - lr g
    AdaGrad(lr=0.01)                    h += g g;  p -= lr g / (sqrt(h) + 1e-7)
    RMSprop(lr=0.01, decay_rate=0.99)   h = decay_rate h + (1 - decay_rate) g g;  p -= lr g / (sqrt(h) + 1e-7)
    Adam(lr=0.001, beta1=0.9, beta2=0.999)
        t += 1;  m += (1 - beta1)(g - m);  v += (1 - beta2)(g g - v)
        p -= lr sqrt(1 - beta2**t) / (1 - beta1**t) m / (sqrt(v) + 1e-7)

Nesterov's line is the book's; written as v_new = momentum v - lr g; p += momentum v_new - lr g it is
the same update, which is how cnet's kernel computes it. The state (v, h, m) is created on the first
update, zeros shaped like each parameter. ``lr`` may be changed between updates.
"""
import numpy as np

from cnet import optimizers as _optimizers

__all__ = ["np", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]

_EPSILON = 1e-7      # the book's constant in AdaGrad, RMSprop and Adam


class _BookUpdate:
    """update() that also takes numbers (and 0-d arrays) as parameters, as the book's code does."""

    def update(self, params, grads):
        boxed = {}
        for key, value in params.items():
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                try:
                    boxed[key] = np.array([value], dtype=np.float64)
                except (TypeError, ValueError):
                    raise TypeError(f"{type(self).__name__}.update: parameter {key!r} must be an array or "
                                    f"a number, got {type(value).__name__}") from None
        if not boxed:
            return super().update(params, grads)
        box_params = {k: boxed.get(k, v) for k, v in params.items()}
        box_grads = dict(grads)
        for key in boxed:
            if key in grads:
                box_grads[key] = np.asarray(grads[key], dtype=np.float64).reshape(1)
        super().update(box_params, box_grads)
        for key, box in boxed.items():
            if isinstance(params[key], np.ndarray):
                params[key][...] = box[0]
            else:
                params[key] = box[0]


class SGD(_BookUpdate, _optimizers.SGD):
    """SGD(lr=0.01): p -= lr * g."""

    def __init__(self, lr=0.01):
        super().__init__(learning_rate=lr)


class Momentum(_BookUpdate, _optimizers.Momentum):
    """Momentum(lr=0.01, momentum=0.9): v = momentum*v - lr*g; p += v."""

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr=lr, momentum=momentum)


class Nesterov(_BookUpdate, _optimizers.Nesterov):
    """Nesterov(lr=0.01, momentum=0.9): Nesterov's accelerated gradient, the book's update (see the
    module docstring)."""

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__(lr=lr, momentum=momentum)


class AdaGrad(_BookUpdate, _optimizers.AdaGrad):
    """AdaGrad(lr=0.01): h += g*g; p -= lr*g/(sqrt(h) + 1e-7)."""

    def __init__(self, lr=0.01):
        super().__init__(learning_rate=lr, epsilon=_EPSILON)


class RMSprop(_BookUpdate, _optimizers.RMSprop):
    """RMSprop(lr=0.01, decay_rate=0.99): h = decay_rate*h + (1 - decay_rate)*g*g;
    p -= lr*g/(sqrt(h) + 1e-7)."""

    def __init__(self, lr=0.01, decay_rate=0.99):
        super().__init__(learning_rate=lr, rho=decay_rate, epsilon=_EPSILON)

    decay_rate = property(lambda self: self.rho)


class Adam(_BookUpdate, _optimizers.Adam):
    """Adam(lr=0.001, beta1=0.9, beta2=0.999): bias-corrected through the step size
    lr*sqrt(1 - beta2**t)/(1 - beta1**t), epsilon 1e-7; ``iter`` is t, the number of updates."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        super().__init__(learning_rate=lr, beta_1=beta1, beta_2=beta2, epsilon=_EPSILON)

    iter = property(lambda self: self.iterations)
