"""A plain ReLU layer right after a Conv2D or Dense with no activation of its own is applied by that
layer as it writes its output, and a plain ReLU whose one consumer is a max pool has its backward mask
applied by the pool on the pooled gradient (cnet/_graph.py): the same values, so a model computes the
same bits with and without the fusions, in training and inference, on both engines and in both layouts."""
import numpy as np
import pytest

import cnet
from cnet import layers as L, ops


def _model(dtype="float32"):
    return cnet.models.Sequential([
        L.Conv2D(4, 3, input_shape=(1, 9, 9)), L.ReLU(),            # fused
        L.Conv2D(6, 3, padding="same"), L.Activation("relu"),        # fused
        L.MaxPooling2D(),                                            # applies the ReLU's mask
        L.Conv2D(5, 3, activation="relu", padding="same"), L.ReLU(),   # not fused (conv has its own)
        L.MaxPooling2D(3, strides=2, padding="same"),                # overlapping windows, NCHW: mask
        L.ReLU(max_value=0.5),                                       # not: options
        L.Flatten(), L.Dense(7), L.ReLU(),                           # fused
        L.Dense(3, activation="softmax")], dtype=dtype)


def _run(fuse, monkeypatch, dtype="float32"):
    if not fuse:
        monkeypatch.setattr(L.Activation, "_plain_relu", lambda self: False)
        monkeypatch.setattr(L.ReLU, "_plain_relu", lambda self: False)
    try:
        cnet.set_seed(5)
        model = _model(dtype)
        model.compile("adam", "sparse_categorical_crossentropy")
        rng = np.random.default_rng(1)
        x = rng.standard_normal((12, 1, 9, 9)).astype(dtype)
        y = rng.integers(0, 3, 12)
        loss = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False).history["loss"]
        return loss, model.get_weights(), model.predict(x), model
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("blocked", [True, False])
def test_fused_relu_same_bits(monkeypatch, conv_engine, blocked):
    previous = ops.conv.blocked_activations()
    ops.conv.set_blocked_activations(blocked)
    try:
        loss0, w0, p0, _ = _run(False, monkeypatch)
        loss1, w1, p1, model = _run(True, monkeypatch)
    finally:
        ops.conv.set_blocked_activations(previous)
    assert loss0 == loss1
    assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))
    assert p0.tobytes() == p1.tobytes()
    graph = model._graph
    fused = [(type(e[0]).__name__, o, i) for e, o, i in zip(graph.plan, graph._relu_out, graph._relu_in)]
    assert [f[0] for f in fused if f[1]] == ["Conv2D", "Conv2D", "Dense"]
    assert [f[0] for f in fused if f[2]] == ["ReLU", "Activation", "ReLU"]
    folded = [(type(e[0]).__name__, o, i) for e, o, i in zip(graph.plan, graph._grad_out, graph._grad_in)]
    assert [f[0] for f in folded if f[1]] == ["Activation", "ReLU"]
    assert [f[0] for f in folded if f[2]] == ["MaxPooling2D", "MaxPooling2D"]
    # the flags live only around a call: a layer used on its own computes its own ReLU
    assert not any(layer._relu_out or layer._relu_in or layer._relu_grad_out or layer._relu_grad_in
                   for layer in model.layers)


def test_fused_relu_float64_gradcheck():
    cnet.set_seed(0)
    model = _model("float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(2).standard_normal((3, 1, 9, 9))
    errors = cnet.gradcheck(model, x, np.array([0, 1, 2]))
    assert max(errors.values()) < 1e-6, errors


def test_no_fusion_when_the_output_is_used_twice_or_is_a_model_output():
    inp = cnet.layers.Input((6,))
    h = L.Dense(4)(inp)
    a = L.ReLU()(h)
    model = cnet.models.Model(inp, [a, h])       # h is also an output: the ReLU must not be applied to it
    x = np.random.default_rng(0).standard_normal((2, 6)).astype(np.float32)
    ya, yh = model.predict(x)
    assert (yh < 0).any() and np.array_equal(ya, np.maximum(yh, 0))
    assert not any(model._graph._relu_out)
