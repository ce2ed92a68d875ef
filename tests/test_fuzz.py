"""Property-based robustness: no input crashes the interpreter -- layers, losses, optimizers, models --
and the C and NumPy backends give the same answer.

Every layer's forward/backward, the losses, the optimizers' update and Sequential.fit/evaluate/predict
are driven with random shapes (0-sized included), dtypes (int, bool, float16, complex, object), memory
layouts, NaN/Inf values and mismatched batches between x and y; each case ends in a result or in
TypeError/ValueError/MemoryError/NotImplementedError with a message, the same on both backends, and with
finite, moderate inputs the same results within rounding (test_kernels_fuzz.agree). The ops themselves:
tests/test_kernels_fuzz.py (also run under the sanitizers).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cnet
from cnet import initializers, layers as L
from cnet import losses, ops, optimizers
from cnet.models import Sequential
from test_kernels_fuzz import AGREE_TOL, BIG, FLOATS, FUZZ, agree, arrays, call, dims, outcome, tame

BACKENDS = ("c", "numpy")


def each_backend():
    """Each backend in turn, in force, with cnet's random generator at the same state for both (layers and
    models built in the loop get the same initial weights)."""
    rng = initializers.get_rng()
    state = rng.bit_generator.state
    for backend in BACKENDS:
        rng.bit_generator.state = state
        with cnet.use_backend(backend):
            yield backend


def _same_outcomes(runs, what):
    """runs: {backend: [(outcome, result), ...]}, one entry per step; the steps' outcomes must agree."""
    kinds = {b: [k for k, _ in steps] for b, steps in runs.items()}
    assert kinds["c"] == kinds["numpy"], f"{what}: C backend -> {kinds['c']}, NumPy backend -> {kinds['numpy']}"


def _same_results(runs, what, scale_from=None, scale=1.0):
    """Compare the results of the steps that succeeded (call only with tame inputs). The tolerance is
    float32's whatever the inputs' dtypes: layers, losses and models compute in float32 (or float64);
    steps from index scale_from on compare with it times scale."""
    for i, ((kind, c_value), (_, np_value)) in enumerate(zip(runs["c"], runs["numpy"])):
        if kind == "ok":
            factor = scale if scale_from is not None and i >= scale_from else 1.0
            agree(c_value, np_value, f"{what} step {i}", tol=AGREE_TOL[np.dtype(np.float32)] * factor)


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
    "DenseGelu": (lambda: L.Dense(3, activation="gelu", kernel_regularizer="l2"), (4,)),
    "LeakyReLU": (lambda: L.LeakyReLU(0.1), (3,)),
    "PReLU": (lambda: L.PReLU(), (2, 3)),
    "ReLUOptions": (lambda: L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5), (3,)),
    "GlobalAveragePooling2D": (lambda: L.GlobalAveragePooling2D(), (2, 3, 3)),
    "GlobalMaxPooling2D": (lambda: L.GlobalMaxPooling2D(), (2, 3, 3)),
    "ZeroPadding2D": (lambda: L.ZeroPadding2D(1), (1, 2, 3)),
    "UpSampling2D": (lambda: L.UpSampling2D(2), (1, 2, 3)),
    "Conv2DDilated": (lambda: L.Conv2D(2, 2, dilation_rate=2, padding="same"), (1, 4, 4)),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same"), (2, 3, 3)),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(2, depth_multiplier=2), (2, 3, 3)),
    "SeparableConv2D": (lambda: L.SeparableConv2D(2, 2, padding="same", activation="swish"), (2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYER_MAKERS))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(data=st.data())
def test_layer_forward_backward(name, data):
    make, in_shape = LAYER_MAKERS[name]
    initializers.set_seed(0)   # the same weights whatever the tests before drew (the tolerance depends on them)
    n = data.draw(st.integers(0, 4), label="batch")
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays((n,) + in_shape, dtype, odd=0.3), label="x")
    build, train = data.draw(st.booleans(), label="build first"), data.draw(st.booleans(), label="train")
    runs, dout = {}, None
    for backend in each_backend():
        layer, steps = make(), []
        if build:
            steps.append((outcome(layer.build, in_shape, dtype), None))
        steps.append(call(layer.forward, x, train))
        if steps[-1][0] == "ok" and train:
            if dout is None:
                dout = data.draw(arrays(steps[-1][1].shape, dtype, odd=0.3), label="dout")
            steps.append(call(layer.backward, dout))
            steps.append(("ok", {k: g.copy() for k, g in layer.grads.items()}))
        runs[backend] = steps
    _same_outcomes(runs, name)
    if tame(x, dout):
        # The backward steps sum x (or the weights) times dout times an activation's derivative, each
        # backend's to rounding: near saturation tanh' = 1 - y*y keeps only the absolute error of y (one ulp
        # of 1 apart between the C and NumPy tanh), so their tolerance grows with |x| and |dout|.
        big = max(1.0, float(np.max(np.abs(x), initial=0))) * max(1.0, float(np.max(np.abs(dout), initial=0))
                                                                if dout is not None else 1.0)
        _same_results(runs, name, scale_from=int(build) + 1, scale=big)


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
    from_logits = data.draw(st.sampled_from([None, False, True]), label="from_logits")
    runs = {}
    for backend in BACKENDS:
        with cnet.use_backend(backend):
            loss = losses.get(name)
            steps = [call(getattr(losses, name), y_true, y_pred), call(loss.forward, y_pred, y_true, from_logits)]
            if steps[-1][0] == "ok":
                steps.append(call(loss.backward))
        runs[backend] = steps
    _same_outcomes(runs, name)
    if tame(y_pred, y_true):
        _same_results(runs, name)


# ---- optimizers' update ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adadelta"])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
@given(data=st.data())
def test_optimizers_update(name, data):
    shape = data.draw(st.lists(dims(0, 3), min_size=0, max_size=2), label="shape")
    p = data.draw(arrays(shape, np.float32, odd=0.2), label="p")
    g = data.draw(arrays(data.draw(st.sampled_from([shape, [2, 2]])), np.float32, odd=0.2), label="g")
    runs = {}
    for backend in BACKENDS:
        opt = optimizers.get(name)
        with cnet.use_backend(backend):
            params = {"w": p.copy() if p.flags.writeable else p}
            steps = [(outcome(opt.update, params, {"w": g}), None)]
            steps.append(("ok", params["w"].copy()))   # p after the update (unchanged when refused)
            with pytest.raises(KeyError, match="no gradient for parameter 'w'"):   # a missing gradient
                opt.update(params, {"v": g})
        runs[backend] = steps
    _same_outcomes(runs, name)
    if tame(p, g):
        _same_results(runs, name)


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
    runs = {}
    for backend in each_backend():
        model = _small_model(loss)
        fit = call(model.fit, x, y, batch_size=batch_size, epochs=1, verbose=0)
        runs[backend] = [(fit[0], fit[1].history if fit[0] == "ok" else None),
                         call(model.evaluate, x, y, batch_size=batch_size, verbose=0),
                         call(model.predict, x, batch_size=batch_size)]
    _same_outcomes(runs, loss)
    if tame(x, y):
        _same_results(runs, loss)
