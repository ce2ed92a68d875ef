"""Conv2D's two engines -- the direct convolution on the channel-blocked layout and im2col + GEMM --
against the NumPy backend (the reference): a layer's output and gradients under each engine, the plan
a layer gets per input shape, CNET_CONV, and what show_config and a model report."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cnet
from cnet import layers as L, ops
from helpers import assert_close


# These tests check the plan per layer shape: the automatic engine choice, whatever CNET_CONV says (a test
# that forces an engine does so through the conv_engine fixture, after this one).
pytestmark = pytest.mark.usefixtures("auto_conv_engine")

TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}

# (Conv2D keyword arguments, channels-first input shape without the batch)
LAYER_CASES = [
    (dict(filters=8, kernel_size=3, activation="relu"), (1, 10, 11)),             # a first layer: plain
    (dict(filters=5, kernel_size=3, padding="same"), (3, 7, 9)),                   # RGB-like, plain, 'same'
    (dict(filters=19, kernel_size=3, padding="same", strides=2), (17, 10, 9)),     # stride 2, extra pad
    (dict(filters=20, kernel_size=(5, 3), padding=(2, 1), activation="tanh"), (6, 9, 8)),
    (dict(filters=7, kernel_size=1), (20, 5, 5)),                                  # 1x1: im2col when auto
    (dict(filters=9, kernel_size=1, strides=2, use_bias=False), (6, 7, 7)),        # 1x1 strided, no bias
    (dict(filters=33, kernel_size=3, data_format="channels_last", activation="relu"), (16, 8, 8)),
    (dict(filters=6, kernel_size=3, dilation_rate=2, activation="relu"), (5, 9, 10)),  # the zero-filled kernel
]


def _run_layer(kwargs, shape, dtype, backend):
    """(y, dx, dW, db) of one training step of a fresh Conv2D (seeded weights) under a backend."""
    cnet.set_seed(3)
    layer = L.Conv2D(**kwargs, dtype=dtype)
    cl = kwargs.get("data_format") == "channels_last"
    in_shape = (shape[1], shape[2], shape[0]) if cl else shape
    layer.build(in_shape)
    layer._need_input_grad = True
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3,) + in_shape).astype(dtype)
    with cnet.use_backend(backend):
        y = layer.forward(x, train=True)
        dout = np.random.default_rng(6).standard_normal(y.shape).astype(dtype)
        dx = layer.backward(dout)
    grads = [np.array(layer.grads[k]) for k in ("W", "b") if k in layer.grads]
    return [np.array(y), np.array(dx)] + grads, layer


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
@pytest.mark.parametrize("kwargs,shape", LAYER_CASES, ids=[str(c[1]) + str(i) for i, c in enumerate(LAYER_CASES)])
def test_conv2d_layer_engines_match_reference(conv_engine, kwargs, shape, dtype):
    got, layer = _run_layer(kwargs, shape, dtype, "c")
    want, _ = _run_layer(kwargs, shape, dtype, "numpy")
    assert layer.conv_plan()["engine"] == conv_engine
    for g, e, name in zip(got, want, ("y", "dx", "dW", "db")):
        assert g.dtype == dtype
        assert_close(g, e, tol=TOL[np.dtype(dtype)], name=f"{conv_engine} {name}")


def test_conv2d_layer_direct_float64_gradcheck():
    """The direct engine's gradients, by central differences (through a small model)."""
    previous = ops.conv.conv_engine()
    ops.conv.set_conv_engine("direct")
    try:
        cnet.set_seed(0)
        model = cnet.models.Sequential([
            L.Conv2D(4, 3, padding="same", activation="relu", input_shape=(2, 6, 5)),
            L.Conv2D(3, 3, strides=2), L.Flatten(), L.Dense(3, activation="softmax")], dtype="float64")
        model.compile("sgd", "sparse_categorical_crossentropy")
        x = np.random.default_rng(0).normal(size=(3, 2, 6, 5))
        errors = cnet.gradcheck(model, x, np.array([0, 1, 2]))
        assert max(errors.values()) < 1e-6, errors
        assert [p["engine"] for p in model.conv_plans().values()] == ["direct", "direct"]
    finally:
        ops.conv.set_conv_engine(previous)


def test_plan_per_shape_and_its_rules():
    conv = L.Conv2D(16, 3, padding="same")
    conv.build((1, 12, 12))
    plan = conv.conv_plan((32, 1, 14, 14))
    assert plan["engine"] == "direct" and plan["plain"] and plan["cb"] == ops.conv.blk_width(np.float32)
    assert conv.conv_plan((32, 16, 14, 14))["plain"] is False
    # a plain input whose output does not go on blocked (a layer called on its own): im2col
    alone = conv.conv_plan((32, 1, 14, 14), in_model=False)
    assert alone["engine"] == "im2col" and "NCHW" in alone["why"]
    assert conv.conv_plan((32, 16, 14, 14), in_model=False)["engine"] == "direct"
    conv.forward(np.zeros((2, 1, 12, 12), np.float32))
    assert conv.conv_plan()["engine"] == "im2col"
    one = L.Conv2D(8, 1)
    one.build((16, 5, 5))
    assert one.conv_plan((4, 16, 5, 5))["engine"] == "im2col"
    with cnet.use_backend("numpy"):
        assert conv.conv_plan((32, 1, 14, 14))["engine"] == "numpy"
    for forced in ("im2col", "direct"):
        previous = ops.conv.conv_engine()
        ops.conv.set_conv_engine(forced)
        try:
            assert one.conv_plan((4, 16, 5, 5))["engine"] == forced == conv.conv_plan((2, 1, 14, 14))["engine"]
        finally:
            ops.conv.set_conv_engine(previous)
    with pytest.raises(ValueError, match="unknown engine"):
        ops.conv.set_conv_engine("winograd")


def test_model_reports_plans_and_show_config_the_engine():
    model = cnet.models.Sequential([L.Conv2D(4, 3, input_shape=(1, 8, 8), name="c1"), L.Conv2D(4, 1, name="c2"),
                                    L.Flatten(), L.Dense(2)])
    assert model.conv_plans() == {"c1": None, "c2": None}     # planned at the first batch
    model.predict(np.zeros((2, 1, 8, 8), np.float32))
    plans = model.conv_plans()
    assert plans["c1"]["engine"] == "direct" and plans["c2"]["engine"] == "im2col"
    assert "1x1" in plans["c2"]["why"]
    assert cnet._info.config()["conv"] == ops.conv.conv_engine()
    import io
    buf = io.StringIO()
    cnet.show_config(file=buf)
    assert "conv:" in buf.getvalue()


def test_cnet_conv_environment_variable():
    code = ("import cnet, numpy as np; from cnet import layers as L; c = L.Conv2D(3, 3); c.build((1, 6, 6));"
            "c.forward(np.zeros((1, 1, 6, 6), np.float32)); print(cnet._info.config()['conv'], c.conv_plan()['engine'])")
    for value in ("im2col", "direct"):
        env = dict(os.environ, CNET_CONV=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == [value, value]
    bad = subprocess.run([sys.executable, "-c", "import cnet"], env=dict(os.environ, CNET_CONV="fast"),
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "CNET_CONV='fast'" in bad.stderr
