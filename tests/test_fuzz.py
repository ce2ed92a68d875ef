"""Property-based robustness: no input crashes the interpreter -- layers, losses, optimizers, models.

Every layer's forward/backward, the losses, the optimizers' update and Sequential.fit/evaluate/predict
are driven with random shapes (0-sized included), dtypes (int, bool, float16, complex, object), memory
layouts, NaN/Inf values and mismatched batches between x and y; each case ends in a result or in
TypeError/ValueError/MemoryError/NotImplementedError with a message. The ops themselves:
tests/test_kernels_fuzz.py (also run under the sanitizers).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cnet
from cnet import layers as L
from cnet import losses, ops, optimizers
from cnet.models import Sequential
from test_kernels_fuzz import BIG, FLOATS, FUZZ, arrays, dims, outcome


def test_huge_layers_and_models_are_refused():
    with pytest.raises((MemoryError, ValueError)):
        L.Dense(2 ** 20).build((2 ** 21,))
    with pytest.raises((MemoryError, ValueError)):
        L.Conv2D(2 ** 15, 2 ** 10).build((2 ** 10, 2 ** 10, 2 ** 10))
    with pytest.raises(MemoryError):
        ops.counter_uniform(BIG, 0)
    model = Sequential([L.Dense(3, input_shape=(4,))])
    with pytest.raises((MemoryError, ValueError)):
        model.predict(np.broadcast_to(np.float32(0), (BIG, 4)), batch_size=BIG)


# ---- layers --------------------------------------------------------------------------------------

LAYER_MAKERS = {
    "Dense": (lambda: L.Dense(3, activation="relu"), (4,)),
    "DenseSoftmax": (lambda: L.Dense(3, activation="softmax"), (4,)),
    "Conv2D": (lambda: L.Conv2D(2, 2, padding="same", activation="tanh"), (1, 4, 4)),
    "Conv2DValid": (lambda: L.Conv2D(2, (3, 2), strides=2), (2, 5, 5)),
    "MaxPooling2D": (lambda: L.MaxPooling2D(), (2, 4, 4)),
    "AveragePooling2D": (lambda: L.AveragePooling2D(3, strides=1, padding="same"), (1, 4, 3)),
    "Flatten": (lambda: L.Flatten(), (2, 3)),
    "Reshape": (lambda: L.Reshape((3, 2)), (6,)),
    "Activation": (lambda: L.Activation("sigmoid"), (5,)),
    "ReLU": (lambda: L.ReLU(), (2, 2)),
    "Softmax": (lambda: L.Softmax(), (4,)),
    "Dropout": (lambda: L.Dropout(0.5, seed=1), (6,)),
    "BatchNormalization": (lambda: L.BatchNormalization(), (3,)),
    "BatchNormalization4D": (lambda: L.BatchNormalization(), (2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYER_MAKERS))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(data=st.data())
def test_layer_forward_backward(name, data):
    make, in_shape = LAYER_MAKERS[name]
    n = data.draw(st.integers(0, 4), label="batch")
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays((n,) + in_shape, dtype, odd=0.3), label="x")
    layer = make()
    if data.draw(st.booleans()):
        outcome(layer.build, in_shape, dtype)
    train = data.draw(st.booleans())
    for backend in ("c", "numpy"):
        with cnet.use_backend(backend):
            result = outcome(layer.forward, x, train)
            if result != "ok" or not train:
                continue
            y = layer.forward(x, train)
            dout = data.draw(arrays(y.shape, dtype, odd=0.3), label="dout")
            outcome(layer.backward, dout)


# ---- losses ---------------------------------------------------------------------------------------

LOSSES = ["categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy", "mse"]


@pytest.mark.parametrize("name", LOSSES)
@FUZZ
@given(data=st.data())
def test_losses(name, data):
    n, c = data.draw(dims(0, 4)), data.draw(dims(0, 4))
    y_pred = data.draw(arrays((n, c), np.float32, odd=0.3), label="y_pred")
    if "sparse" in name and data.draw(st.booleans()):
        y_true = np.asarray(data.draw(st.lists(st.integers(-1, c), min_size=n, max_size=n)), np.int64)
    else:
        y_true = data.draw(arrays((n, c), np.float32, odd=0.3), label="y_true")
    for backend in ("c", "numpy"):
        with cnet.use_backend(backend):
            outcome(getattr(losses, name), y_true, y_pred)
            loss = losses.get(name)
            from_logits = data.draw(st.sampled_from([None, False, True]))
            if outcome(loss.forward, y_pred, y_true, from_logits) == "ok":
                outcome(loss.backward)


# ---- optimizers' update ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adadelta"])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(data=st.data())
def test_optimizers_update(name, data):
    shape = data.draw(st.lists(dims(0, 3), min_size=0, max_size=2), label="shape")
    p = data.draw(arrays(shape, np.float32, odd=0.2), label="p")
    g = data.draw(arrays(data.draw(st.sampled_from([shape, [2, 2]])), np.float32, odd=0.2), label="g")
    for backend in ("c", "numpy"):
        opt = optimizers.get(name)
        with cnet.use_backend(backend):
            params = {"w": p.copy() if p.flags.writeable else p}
            outcome(opt.update, params, {"w": g})
            with pytest.raises(KeyError, match="no gradient for parameter 'w'"):   # a missing gradient
                opt.update(params, {"v": g})


# ---- Sequential -----------------------------------------------------------------------------------

def _small_model(loss):
    model = Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dropout(0.2, seed=0),
                        L.Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", loss, ["accuracy"])
    return model


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy", "mse"])
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(data=st.data())
def test_sequential_fit_evaluate_predict(loss, data):
    n = data.draw(st.integers(0, 6), label="n")
    feat = data.draw(st.sampled_from([(3,), (3,), (4,), (1, 3), ()]), label="features")
    x = data.draw(arrays((n,) + feat, np.float32, odd=0.3), label="x")
    ny = data.draw(st.sampled_from([n, n, n, n + 1, max(n - 1, 0)]), label="y batch")
    if "sparse" in loss and data.draw(st.booleans()):
        y = np.asarray(data.draw(st.lists(st.integers(-1, 2), min_size=ny, max_size=ny)), np.int64)
    else:
        y = data.draw(arrays((ny, 2), np.float32, odd=0.3), label="y")
    batch_size = data.draw(st.sampled_from([1, 2, 32, None, 0]), label="batch_size")
    for backend in ("c", "numpy"):
        with cnet.use_backend(backend):
            model = _small_model(loss)
            outcome(model.fit, x, y, batch_size=batch_size, epochs=1, verbose=0)
            outcome(model.evaluate, x, y, batch_size=batch_size, verbose=0)
            outcome(model.predict, x, batch_size=batch_size)
