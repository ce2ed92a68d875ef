"""cnet.book.common.optimizer: the book's defaults and update rules, arrays and plain numbers."""
import numpy as np
import pytest

from cnet import optimizers as keras_optimizers
from cnet.book.common import optimizer as O


def _book_rule(name, **hyper):
    """The book's update rules, written out from the published formulas (state per key)."""
    state = {"t": 0}

    def step(p, g, key):
        st = state.setdefault(key, {"v": 0.0, "h": 0.0, "m": 0.0})
        if name == "SGD":
            return p - hyper["lr"] * g
        if name == "Momentum":
            st["v"] = hyper["momentum"] * st["v"] - hyper["lr"] * g
            return p + st["v"]
        if name == "Nesterov":
            m, lr = hyper["momentum"], hyper["lr"]
            p = p + m * m * st["v"] - (1 + m) * lr * g
            st["v"] = m * st["v"] - lr * g
            return p
        if name == "AdaGrad":
            st["h"] = st["h"] + g * g
            return p - hyper["lr"] * g / (np.sqrt(st["h"]) + 1e-7)
        if name == "RMSprop":
            r = hyper["decay_rate"]
            st["h"] = r * st["h"] + (1 - r) * g * g
            return p - hyper["lr"] * g / (np.sqrt(st["h"]) + 1e-7)
        if name == "Adam":
            b1, b2 = hyper["beta1"], hyper["beta2"]
            st["m"] = st["m"] + (1 - b1) * (g - st["m"])
            st["v"] = st["v"] + (1 - b2) * (g * g - st["v"])
            t = state["t"]
            lr_t = hyper["lr"] * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            return p - lr_t * st["m"] / (np.sqrt(st["v"]) + 1e-7)
        raise AssertionError(name)
    return state, step


DEFAULTS = {"SGD": {"lr": 0.01}, "Momentum": {"lr": 0.01, "momentum": 0.9},
            "Nesterov": {"lr": 0.01, "momentum": 0.9}, "AdaGrad": {"lr": 0.01},
            "RMSprop": {"lr": 0.01, "decay_rate": 0.99}, "Adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999}}


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_defaults_and_rules_on_arrays(name):
    opt = getattr(O, name)()
    hyper = DEFAULTS[name]
    assert opt.lr == hyper["lr"]
    state, book_step = _book_rule(name, **hyper)
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    ref = {k: v.copy() for k, v in params.items()}
    arrays = dict(params)
    for _ in range(25):
        grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
        opt.update(params, grads)
        state["t"] += 1
        ref = {k: book_step(ref[k], grads[k], k) for k in ref}
    for k in params:
        assert params[k] is arrays[k]                       # updated in place
        np.testing.assert_allclose(params[k], ref[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_plain_numbers_as_parameters(name):
    """optimizer_compare_naive.py: params {'x': -7.0, 'y': 2.0}, gradients of x**2/20 + y**2."""
    hyper = dict(DEFAULTS[name], lr=0.1)
    opt = getattr(O, name)(**hyper)
    state, book_step = _book_rule(name, **hyper)
    params = {"x": -7.0, "y": 2.0}
    ref = dict(params)
    for _ in range(30):
        grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
        ref_grads = {"x": ref["x"] / 10.0, "y": 2.0 * ref["y"]}
        opt.update(params, grads)
        state["t"] += 1
        ref = {k: book_step(ref[k], ref_grads[k], k) for k in ref}
    for k in params:
        assert np.ndim(params[k]) == 0
        assert float(params[k]) == pytest.approx(ref[k], rel=1e-12, abs=1e-14)
    x0 = np.array(1.0)
    zero_d = {"x": x0}
    getattr(O, name)(**hyper).update(zero_d, {"x": 0.5})
    assert zero_d["x"] is x0 and float(x0) < 1.0          # a 0-d array is updated in place


def test_book_names_of_hyperparameters_and_keras_surface_unchanged():
    assert O.RMSprop().decay_rate == 0.99 and O.RMSprop(decay_rate=0.9).rho == 0.9
    adam = O.Adam(lr=0.01, beta1=0.8, beta2=0.99)
    assert (adam.lr, adam.beta1, adam.beta2, adam.iter) == (0.01, 0.8, 0.99, 0)
    adam.update({"w": np.ones(2)}, {"w": np.ones(2)})
    assert adam.iter == 1
    assert isinstance(O.SGD(), keras_optimizers.SGD)          # one implementation underneath
    assert keras_optimizers.RMSprop().learning_rate == 0.001   # Keras keeps Keras's defaults
    with pytest.raises(TypeError, match="array or a number"):
        O.SGD().update({"w": "text"}, {"w": 1.0})
    with pytest.raises(KeyError, match="no gradient"):
        O.SGD().update({"w": np.ones(2)}, {})


def test_star_import_brings_numpy_as_the_books_module_does():
    namespace = {}
    exec("from cnet.book.common.optimizer import *", namespace)   # optimizer_compare_mnist.py uses np
    assert namespace["np"] is np and "Adam" in namespace
