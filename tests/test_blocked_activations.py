"""Activations kept blocked between the layers of a model (cnet/layers/_blocked.py, off by default):
switched on, a model computes exactly what it computes switched off -- the same kernels on the same
numbers, only the layout conversions between layers are skipped -- and no blocked array reaches a user."""
import numpy as np
import pytest

import cnet
from cnet import layers as L, ops, zoo
from cnet.layers._blocked import Blocked


# These tests check the plan per layer shape: the automatic engine choice, whatever CNET_CONV says (a test
# that forces an engine does so through the conv_engine fixture, after this one).
pytestmark = pytest.mark.usefixtures("auto_conv_engine")


@pytest.fixture
def blocked():
    """Runs the test with blocked activations on (and the direct engine everywhere it applies)."""
    previous = ops.conv.blocked_activations()
    ops.conv.set_blocked_activations(True)
    yield
    ops.conv.set_blocked_activations(previous)


def _model(dtype="float32"):
    return cnet.models.Sequential([
        L.Conv2D(8, 3, activation="relu", input_shape=(1, 12, 12)),    # plain first layer, blocked out
        L.Conv2D(20, 3, padding="same"),                                 # blocked in and out (linear)
        L.ReLU(), L.MaxPooling2D(), L.Dropout(0.25, seed=1),
        L.Conv2D(12, 3, activation="relu", strides=2),                   # stride 2
        L.MaxPooling2D(), L.Flatten(), L.Dense(4, activation="softmax")], dtype=dtype)


def _train(blocked_on, build=_model, epochs=2, dtype="float32"):
    previous = ops.conv.blocked_activations()
    ops.conv.set_blocked_activations(blocked_on)
    try:
        cnet.set_seed(7)
        model = build(dtype)
        model.compile("adam", "sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        shape = tuple(model.input_shape)
        x = rng.standard_normal((20,) + (shape[1:] if shape[0] is None else shape)).astype(dtype)
        y = rng.integers(0, 4, 20)
        h = model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False)
        return h.history["loss"], model.get_weights(), model.predict(x), model
    finally:
        ops.conv.set_blocked_activations(previous)


def test_blocked_model_gives_the_same_bits():
    loss0, w0, p0, _ = _train(False)
    loss1, w1, p1, model = _train(True)
    assert loss0 == loss1
    assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))
    assert type(p1) is np.ndarray and p1.tobytes() == p0.tobytes()
    assert [p["engine"] for p in model.conv_plans().values()] == ["direct"] * 3
    # the blocked path ran: conv outputs, the pools', ReLU's and dropout's inputs stayed blocked
    conv1, conv2, relu, pool1, drop, conv3, pool2 = model.layers[:7]
    assert conv1._blk_y and conv2._blk_y and conv2._blk_in and relu._blk_x and pool1._blk_x and drop._blk_x
    assert conv3._blk_in and conv3._blk_y and pool2._blk_x and not pool2._blk_y  # it converts for Flatten


@pytest.mark.parametrize("name", ["cnn", "simple_convnet", "deep_convnet"])
def test_bundled_convnets_same_bits(name):
    def build(dtype):
        return zoo.build_model(name, dtype=dtype)
    loss0, w0, _, _ = _train(False, build, epochs=1)
    loss1, w1, _, _ = _train(True, build, epochs=1)
    assert loss0 == loss1 and all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))


def test_blocked_float64_gradcheck(blocked):
    cnet.set_seed(0)
    model = cnet.models.Sequential([
        L.Conv2D(3, 3, padding="same", activation="relu", input_shape=(2, 6, 6)), L.MaxPooling2D(),
        L.Conv2D(5, 3, padding="same"), L.Activation("relu"), L.Flatten(), L.Dense(3, activation="softmax")],
        dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    errors = cnet.gradcheck(model, np.random.default_rng(1).normal(size=(3, 2, 6, 6)), np.array([0, 1, 2]),
                            max_elements=8)
    assert max(errors.values()) < 1e-6, errors


def test_no_blocked_array_leaves_a_model_or_a_layer(blocked):
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    # a model ending with a conv, a pool and a ReLU: its output is NCHW
    for last in (L.Conv2D(4, 3), L.MaxPooling2D(), L.ReLU()):
        model = cnet.models.Sequential([L.Conv2D(6, 3, padding="same", input_shape=(1, 8, 8)), last])
        y = model.predict(x)
        assert type(y) is np.ndarray and y.ndim == 4
    # a layer called on its own
    conv = L.Conv2D(6, 3)
    assert type(conv.forward(x)) is np.ndarray
    # a tensor two layers consume, and a merge: converted where needed, the same result as switched off
    inp = cnet.layers.Input((1, 8, 8))
    h = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    a, b = L.MaxPooling2D()(h), L.MaxPooling2D()(L.Conv2D(6, 3, padding="same")(h))
    out = L.Dense(2)(L.Flatten()(L.Concatenate(axis=1)([a, b])))
    model = cnet.models.Model(inp, out)
    got = model.predict(x)
    ops.conv.set_blocked_activations(False)
    assert got.tobytes() == model.predict(x).tobytes()


def test_switch_and_environment():
    import os
    import subprocess
    import sys
    with pytest.raises(TypeError):
        ops.conv.set_blocked_activations("yes")
    code = "import cnet; print(cnet.ops.conv.blocked_activations())"
    for value, expected in (("1", "True"), ("0", "False"), ("", "True")):     # on by default
        out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, CNET_BLOCKED=value),
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected
    bad = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, CNET_BLOCKED="yes"),
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "CNET_BLOCKED" in bad.stderr
    assert Blocked(np.zeros((1, 1, 2, 2, 8), np.float32), 3).nchw_shape == (1, 3, 2, 2)


def test_channels_last_and_batchnorm_models_same_bits():
    """Layers that take no blocked input (channels-last ones, BatchNormalization) get NCHW arrays."""
    def build_cl(dtype):
        return cnet.models.Sequential([
            L.Conv2D(6, 3, activation="relu", data_format="channels_last", input_shape=(8, 8, 3)),
            L.MaxPooling2D(data_format="channels_last"), L.Flatten(), L.Dense(4, activation="softmax")],
            dtype=dtype)

    def build_bn(dtype):
        return cnet.models.Sequential([
            L.Conv2D(6, 3, activation="relu", input_shape=(2, 8, 8)), L.BatchNormalization(axis=1),
            L.Conv2D(6, 3), L.MaxPooling2D(), L.Flatten(), L.Dense(4, activation="softmax")], dtype=dtype)
    for build in (build_cl, build_bn):
        loss0, w0, p0, _ = _train(False, build, epochs=1)
        loss1, w1, p1, _ = _train(True, build, epochs=1)
        assert loss0 == loss1 and p0.tobytes() == p1.tobytes()
        assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))


def test_relu_with_options_and_dilated_conv_same_bits():
    """A ReLU with options (its own kernel) takes NCHW; a dilated conv runs its zero-filled kernel."""
    def build(dtype):
        return cnet.models.Sequential([
            L.Conv2D(6, 3, input_shape=(2, 10, 10)), L.ReLU(max_value=1.5),
            L.Conv2D(6, 3, dilation_rate=2, activation="relu"), L.ReLU(), L.MaxPooling2D(),
            L.Flatten(), L.Dense(4, activation="softmax")], dtype=dtype)
    loss0, w0, p0, _ = _train(False, build, epochs=1)
    loss1, w1, p1, model = _train(True, build, epochs=1)
    assert loss0 == loss1 and p0.tobytes() == p1.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))
    assert not model.layers[1]._blk_y and model.layers[2]._blk_y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["relu", None])
@pytest.mark.parametrize("hw", [12, 13])      # 13: the pool leaves the conv's last row and column out
def test_pool_writes_the_conv_gradient_into_the_output_lent_to_it(dtype, act, hw):
    """A Conv2D (ReLU or linear, blocked output) lends its output to the MaxPooling2D after it: in a
    training step the pool scatters its gradient, the ReLU's derivative applied, into the conv's output,
    and the conv skips its own ReLU backward -- the same bits as switched off, and no gradient buffer of
    the pool's (nor a conversion of the conv's)."""
    def build(dtype):
        return cnet.models.Sequential([
            L.Conv2D(6, 3, activation="relu", input_shape=(1, hw, hw)),
            L.Conv2D(20, 3, activation=act), L.MaxPooling2D(), L.Dropout(0.3, seed=3),   # 20: not whole blocks
            L.Flatten(), L.Dense(4, activation="softmax")], dtype=dtype)
    loss0, w0, p0, _ = _train(False, build, dtype=dtype)
    loss1, w1, p1, model = _train(True, build, dtype=dtype)
    assert loss0 == loss1 and p0.tobytes() == p1.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))
    conv1, conv2, pool, drop = model.layers[:4]
    previous = ops.conv.blocked_activations()
    ops.conv.set_blocked_activations(True)
    try:    # the state a training step leaves (predict, in _train, ran last)
        model.train_on_batch(np.ones((8, 1, hw, hw), dtype), np.zeros(8, np.int64))
    finally:
        ops.conv.set_blocked_activations(previous)
    asked = {(b["layer"], b["key"]) for b in model._graph._memory.buffers()}   # the step's workspaces
    assert conv2._lent and pool._lent is conv2._y
    assert (pool, "dxb") not in asked and (conv2, "dyb") not in asked and (pool, "argb") in asked
    assert conv1._lent and (conv1, "dyb") not in asked    # lent to a conv, which does not use it
    # the dropout before Flatten drops on the NCHW copy of its blocked input: its output (and so the
    # gradient it hands the pool) is NCHW
    assert pool._blk_y and not drop._blk_x and drop._mask.shape == (8, 20) + pool.output_shape[1:]


def test_a_conv_called_on_its_own_lends_nothing(blocked):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    conv = L.Conv2D(6, 3, activation="relu")
    y = conv.forward(x)
    assert type(y) is np.ndarray and not conv._lent
    conv.backward(np.ones_like(y))
    assert not conv._lent
