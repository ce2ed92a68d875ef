"""Workspaces: ops write into caller-supplied outputs, fuse ReLU, skip unneeded input gradients; a
model's training step in steady state allocates (almost) nothing."""
import tracemalloc

import numpy as np
import pytest

import cnet
from cnet import ops
from cnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential
from helpers import assert_close

BACKENDS = ["c", "numpy"]


def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_out_relu_need_dx(backend, dtype):
    r = _rng()
    x = r.standard_normal((9, 7)).astype(dtype)
    w = r.standard_normal((7, 5)).astype(dtype)
    b = r.standard_normal(5).astype(dtype)
    dy = r.standard_normal((9, 5)).astype(dtype)
    with cnet.use_backend(backend):
        y = ops.affine_forward(x, w, b)
        out = np.empty_like(y)
        assert ops.affine_forward(x, w, b, out=out) is out
        assert_close(out, y)
        assert_close(ops.affine_forward(x, w, b, relu=True), np.maximum(y, 0))
        dx, dw, db = ops.affine_backward(dy, x, w)
        bufs = (np.empty_like(dx), np.empty_like(dw), np.empty_like(db))
        got = ops.affine_backward(dy, x, w, out=bufs)
        assert all(g is o for g, o in zip(got, bufs))
        for g, e in zip(got, (dx, dw, db)):
            assert_close(g, e)
        none_dx = ops.affine_backward(dy, x, w, out=(None, bufs[1], None), need_dx=False)
        assert none_dx[0] is None and none_dx[1] is bufs[1]
        assert_close(none_dx[2], db)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_pool_dropout_out(backend, dtype):
    r = _rng()
    x = r.standard_normal((3, 2, 9, 8)).astype(dtype)
    w = r.standard_normal((4, 2, 3, 3)).astype(dtype)
    b = r.standard_normal(4).astype(dtype)
    with cnet.use_backend(backend):
        y = ops.conv2d_forward(x, w, b, 1, 1)
        out = np.empty_like(y)
        assert ops.conv2d_forward(x, w, b, 1, 1, out=out) is out
        assert_close(out, y)
        assert_close(ops.conv2d_forward(x, w, b, 1, 1, relu=True), np.maximum(y, 0))
        dy = r.standard_normal(y.shape).astype(dtype)
        dx, dw, db = ops.conv2d_backward(dy, x, w, 1, 1)
        bufs = (np.empty_like(dx), np.empty_like(dw), np.empty_like(db))
        got = ops.conv2d_backward(dy, x, w, 1, 1, out=bufs)
        assert all(g is o for g, o in zip(got, bufs))
        for g, e in zip(got, (dx, dw, db)):
            assert_close(g, e)
        nodx = ops.conv2d_backward(dy, x, w, 1, 1, need_dx=False)
        assert nodx[0] is None
        assert_close(nodx[1], dw)

        p, am = ops.maxpool2d_forward(x, 2, 2)
        pb = (np.empty_like(p), np.empty_like(am))
        got = ops.maxpool2d_forward(x, 2, 2, out=pb)
        assert got[0] is pb[0] and got[1] is pb[1]
        np.testing.assert_array_equal(pb[1], am)
        dxp = np.empty_like(x)
        assert ops.maxpool2d_backward(p, am, x.shape, out=dxp) is dxp
        assert_close(dxp, ops.maxpool2d_backward(p, am, x.shape))

        yd, mask = ops.dropout_forward(x, 0.3, 7)
        db_ = (np.empty_like(x), np.empty_like(x))
        got = ops.dropout_forward(x, 0.3, 7, out=db_)
        np.testing.assert_array_equal(got[0], yd)
        np.testing.assert_array_equal(got[1], mask)
        with pytest.raises(TypeError, match="out must be a tuple of 2 arrays"):
            ops.dropout_forward(x, 0.3, 7, out=np.empty_like(x))
        with pytest.raises(ValueError, match="writable"):
            ro = np.empty_like(x)
            ro.flags.writeable = False
            ops.dropout_forward(x, 0.3, 7, out=(ro, None))


def _convnet():
    cnet.set_seed(0)
    m = Sequential([Conv2D(8, 3, activation="relu", input_shape=(1, 16, 16)),
                    Conv2D(16, 3, activation="relu"), MaxPooling2D(2), Dropout(0.25, seed=1), Flatten(),
                    Dense(32, activation="relu"), Dropout(0.5, seed=2), Dense(10, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


def test_training_step_allocates_almost_nothing_in_steady_state():
    r = _rng()
    x = r.random((64, 1, 16, 16)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, 64)]
    m = _convnet()
    for _ in range(3):  # the first steps create the workspaces and the optimizer state
        m.train_on_batch(x, y)
    activations = 64 * (8 * 14 * 14 + 16 * 12 * 12) * 4  # bytes of the two conv outputs
    tracemalloc.start()
    try:
        m.train_on_batch(x, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < activations / 4, f"a steady-state step allocated up to {peak} bytes (activations: {activations})"


def test_workspaces_do_not_change_results():
    r = _rng()
    x = r.random((32, 1, 16, 16)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, 32)]
    a, b = _convnet(), _convnet()
    for _ in range(3):
        la = a.train_on_batch(x, y)
        # b: the book's way, layer by layer without workspaces
        gb = b.gradient(x, y)
        b.optimizer.update(b.trainable_params, gb)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert np.isfinite(la[0])


def test_nothing_is_reused_outside_a_training_step():
    r = _rng()
    x = r.random((16, 1, 16, 16)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, 16)]
    m = _convnet()
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    a = m.forward(x[:4])
    a_copy = a.copy()
    b = m.forward(x[4:8])
    assert not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, a_copy)
    dx = m.backward(np.ones_like(b))
    assert dx is not None and dx.shape == (4, 1, 16, 16)
    assert all(not layer._workspace for layer in m.layers)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_overlapping_inputs_are_refused(backend):
    r = _rng()
    a = r.standard_normal((6, 6)).astype(np.float32)
    x = r.standard_normal((6, 6)).astype(np.float32)
    w = r.standard_normal((6, 6)).astype(np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="overlaps an input"):
            ops.gemm(a, a.copy(), c=a)
        with pytest.raises(ValueError, match="overlaps an input"):
            ops.affine_forward(x, w, None, out=x)
        with pytest.raises(ValueError, match="overlaps an input"):
            ops.dropout_forward(x, 0.5, 1, out=(None, x))
        big = r.standard_normal(40).astype(np.float32)
        with pytest.raises(ValueError, match="overlaps an input"):
            ops.relu_forward(big[:20], out=big[10:30])  # a shifted view of the input
        # in place, with exactly the input's layout, is fine for element-wise ops
        z = x.copy()
        assert ops.relu_forward(z, out=z) is z


def test_book_network_gradient_uses_workspaces_and_matches():
    from cnet.nets import SimpleConvNet
    r = _rng()
    x = r.random((8, 1, 12, 12)).astype(np.float32)
    t = r.integers(0, 10, 8)
    cnet.set_seed(0)
    net = SimpleConvNet(input_dim=(1, 12, 12), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0,
                                                           "stride": 1}, hidden_size=16)
    for _ in range(2):
        grads = {k: v.copy() for k, v in net.gradient(x, t).items()}
    tracemalloc.start()
    try:
        net.gradient(x, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the same gradients without workspaces: loss and backward layer by layer
    net.loss(x, t)
    dout = net.last_layer.backward(1)
    for layer in reversed(list(net.layers.values())):
        dout = layer.backward(dout)
    for key, (lname, p) in net._owners.items():
        np.testing.assert_array_equal(grads[key], net.layers[lname].grads[p])
    conv_out = 8 * 4 * 10 * 10 * 4
    assert peak < 2 * conv_out, f"gradient() allocated up to {peak} bytes"
