"""The workspaces of a model's training step placed in one slab by lifetime (cnet/layers/_workspace.py):
no buffer is overwritten while it may still be read, a step replays the placement, a step that departs
from it is placed anew, and training computes exactly what it computes with a buffer per layer."""
import numpy as np
import pytest

import cnet
from cnet import layers as L, ops, zoo
from cnet.layers import _workspace
from cnet.layers._workspace import StepMemory


class _Layer:
    """A stand-in for a layer: what StepMemory reads of one (step_bound)."""

    def __init__(self, name):
        self.name, self.dtype, self.input_shape, self.output_shape = name, np.dtype(np.float32), (64,), (64,)


def _step(memory, layers, sizes, rng_seed, batch=4):
    """One step of `layers`: each call asks for buffers of the given sizes (forward, then backward in
    reverse order, some temp), stamps each with its own number, and checks after every call that every
    buffer still alive holds its stamp. Returns the buffers asked for, in order."""
    rng = np.random.default_rng(rng_seed)
    n = len(layers)
    memory.begin(batch, layers)
    got, alive = [], []

    def ask(layer, key, size, temp, end):
        buf = memory.request(layer, key, (size,), np.dtype(np.float32), temp)
        stamp = float(len(got) + 1)
        buf.fill(stamp)
        got.append(buf)
        alive.append((buf, stamp, end))

    def check(t):
        for buf, stamp, end in alive:
            if end >= t:
                assert (buf == stamp).all(), f"a buffer alive until event {end} was overwritten at event {t}"
    for i, layer in enumerate(layers):
        memory.t = i
        for k in range(sizes[i][0]):
            ask(layer, f"f{k}", int(rng.integers(1, 3000)),
                False, 1 << 62 if i in memory.kept else 2 * n - 1 - i)
        check(i)
    for i in range(n - 1, -1, -1):
        t = memory.t = 2 * n - 1 - i
        for k in range(sizes[i][1]):
            temp = bool(rng.integers(0, 2))
            ask(layers[i], f"b{k}", int(rng.integers(1, 3000)), temp, t if temp else 2 * n)
        check(t)
    check(2 * n)
    return got


@pytest.mark.parametrize("seed", range(6))
def test_no_buffer_is_overwritten_while_alive_and_a_step_replays(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    layers = [_Layer(f"l{i}") for i in range(n)]
    sizes = [(int(rng.integers(0, 4)), int(rng.integers(0, 3))) for _ in range(n)]
    memory = StepMemory(n, kept=[n - 1])
    first = _step(memory, layers, sizes, seed)
    again = _step(memory, layers, sizes, seed)
    assert all(a is b for a, b in zip(first, again))            # replayed: the same views
    assert memory.own_bytes() == 0 and memory.high_water() <= sum(b.nbytes + 64 for b in first)
    # a step that asks for other buffers (other sizes) is placed anew, and still keeps every one alive
    _step(memory, layers, sizes, seed + 100)
    _step(memory, layers, sizes, seed)


def test_buffers_with_overlapping_lifetimes_never_share_memory():
    layers = [_Layer(f"l{i}") for i in range(6)]
    memory = StepMemory(6, kept=[5])
    _step(memory, layers, [(2, 2), (1, 1), (3, 0), (0, 2), (2, 1), (1, 1)], 3)
    bufs = memory.buffers()
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if a["start"] <= b["end"] and b["start"] <= a["end"]:
                assert a["offset"] + a["size"] <= b["offset"] or b["offset"] + b["size"] <= a["offset"]


def test_a_buffer_a_model_output_is_a_view_of_outlives_the_step():
    """A model ending in a Flatten or Reshape outputs a view of the buffer of the call before: that
    buffer must survive the backward too (the metrics read the output after it)."""
    layers = [_Layer(f"l{i}") for i in range(3)]
    memory = StepMemory(3, kept=[2])
    memory.begin(4, layers)
    for t, key in ((0, "a"), (1, "b")):
        memory.t = t
        memory.request(layers[t], key, (1000,), np.float32, False)
    b = memory.buffers()[1]
    out = memory._plan[1][6].reshape(10, 100)          # the output: a view of call 1's buffer
    memory.end_forward([out])
    memory.t = 5                                       # the backward of call 0, after call 1's
    d = memory.request(layers[0], "dx", (1000,), np.float32, False)
    assert not np.shares_memory(d, out) and memory.buffers()[1]["end"] > 6 and b["end"] == 4


def _reshape_last():
    return cnet.models.Sequential([
        L.Conv2D(4, 3, activation="relu", input_shape=(2, 7, 7)), L.PReLU(), L.Flatten(), L.Dense(30),
        L.Activation("tanh"), L.Dense(200), L.Reshape((200,))])     # the output: a view of the Dense's


def test_a_model_ending_in_a_view_trains_and_measures_as_with_a_buffer_per_layer():
    def run(enabled):
        previous = _workspace.ENABLED
        _workspace.ENABLED = enabled
        try:
            cnet.set_seed(3)
            model = _reshape_last()
            model.compile("adam", "mse", metrics=["mae"])   # mae: of the outputs, after the backward
            rng = np.random.default_rng(4)
            x, y = rng.standard_normal((40, 2, 7, 7)).astype(np.float32), rng.random((40, 200), np.float32)
            return model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history, model.get_weights()
        finally:
            _workspace.ENABLED = previous
    (h0, w0), (h1, w1) = run(False), run(True)
    assert h0 == h1 and all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))


def test_buffers_past_the_reservation_get_memory_of_their_own(monkeypatch):
    layers = [_Layer("a"), _Layer("b")]
    monkeypatch.setattr(_workspace, "step_bound", lambda layers, batch: 1 << 20)
    memory = StepMemory(2, kept=[1])
    memory.begin(4, layers)
    small = memory.request(layers[0], "y", (1000,), np.float32, False)
    big = memory.request(layers[0], "z", (1 << 19,), np.float32, False)       # 2 MiB: past the slab
    assert memory.buffers()[0]["offset"] == 0 and memory.buffers()[1]["offset"] is None
    assert memory.own_bytes() == big.nbytes and not np.shares_memory(small, big)
    monkeypatch.setattr(_workspace, "_reserve", lambda nbytes: None)          # the system refuses
    memory = StepMemory(2, kept=[1])
    memory.begin(4, layers)
    assert memory.request(layers[0], "y", (10,), np.float32, False).shape == (10,)
    assert memory.buffers()[0]["offset"] is None


def _fit(build, shape, enabled, epochs=2, batch=8, n=20, dtype="float32", loss="sparse_categorical_crossentropy"):
    previous = _workspace.ENABLED
    _workspace.ENABLED = enabled
    try:
        cnet.set_seed(11)
        model = build()
        model.compile("adam", loss)
        rng = np.random.default_rng(2)
        x = rng.standard_normal((n,) + shape).astype(dtype)
        y = rng.integers(0, 4, n)
        h = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=False)
        return h.history["loss"], model.get_weights(), model
    finally:
        _workspace.ENABLED = previous


def _dag():
    inp = L.Input((3, 8, 8))
    a = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    shared = L.Conv2D(6, 3, padding="same")
    b = L.MaxPooling2D()(shared(a))
    c = L.MaxPooling2D()(shared(L.ReLU()(a)))
    m = L.Add()([b, c])
    m = L.Concatenate(axis=1)([m, L.BatchNormalization(axis=1)(L.Activation("tanh")(b))])
    d = L.Dropout(0.3, seed=5)(L.Flatten()(m))
    out = L.Dense(4, activation="softmax")(L.PReLU()(L.Dense(10)(d)))
    return cnet.models.Model(inp, out)


MODELS = {
    "convnet": (lambda: cnet.models.Sequential([
        L.Conv2D(8, 3, activation="relu", input_shape=(1, 13, 13)), L.Conv2D(20, 3, activation="relu"),
        L.MaxPooling2D(), L.Dropout(0.25, seed=1), L.Conv2D(12, 3, padding="same"), L.Dropout(0.2, seed=2),
        L.Flatten(), L.Dense(16, activation="relu"), L.Dropout(0.5, seed=3), L.Dense(4, activation="softmax")]),
        (1, 13, 13)),
    "dag": (_dag, (3, 8, 8)),
    "channels_last": (lambda: cnet.models.Sequential([
        L.Conv2D(6, 3, activation="relu", data_format="channels_last", input_shape=(9, 9, 2)),
        L.ELU(), L.MaxPooling2D(data_format="channels_last"), L.Flatten(), L.Dense(4, activation="softmax")]),
        (9, 9, 2)),
    "mlp": (lambda: zoo.build_model("mlp", num_classes=4), (784,)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("blocked", [True, False])
def test_training_gives_the_same_bits_as_a_buffer_per_layer(name, blocked):
    build, shape = MODELS[name]
    previous = ops.conv.blocked_activations()
    ops.conv.set_blocked_activations(blocked)
    try:
        loss0, w0, _ = _fit(build, shape, enabled=False)
        loss1, w1, model = _fit(build, shape, enabled=True)
    finally:
        ops.conv.set_blocked_activations(previous)
    assert loss0 == loss1
    assert all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))
    memory = model._graph._memory
    assert memory.buffers() and memory.own_bytes() == 0      # the last step (4 samples) ran in the slab


@pytest.mark.parametrize("name", ["cnn", "simple_convnet", "deep_convnet"])
def test_bundled_convnets_same_bits(name):
    def build():
        return zoo.build_model(name, num_classes=4)
    loss0, w0, _ = _fit(build, (1, 28, 28), enabled=False, epochs=1, batch=6, n=10)
    loss1, w1, _ = _fit(build, (1, 28, 28), enabled=True, epochs=1, batch=6, n=10)
    assert loss0 == loss1 and all(a.tobytes() == b.tobytes() for a, b in zip(w0, w1))


def test_keras_convnet_step_memory():
    """The Keras convnet's step at batch 128: its buffers overlap in time only where they must; the slab
    holds less than four fifths of what a buffer per layer would, and does not grow when the batch
    shrinks (the last batch of an epoch) and comes back."""
    cnet.set_seed(0)
    model = zoo.build_model("cnn")
    model.compile("adadelta", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((128, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 128)
    model.train_on_batch(x, y)
    memory = model._graph._memory
    bufs, slab = memory.buffers(), memory._slab
    assert memory.own_bytes() == 0
    assert memory.high_water() < 0.8 * sum(b["size"] for b in bufs)
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if a["start"] <= b["end"] and b["start"] <= a["end"]:
                assert a["offset"] + a["size"] <= b["offset"] or b["offset"] + b["size"] <= a["offset"]
    model.train_on_batch(x[:40], y[:40])
    model.train_on_batch(x, y)
    assert memory._slab is slab and memory.buffers() == bufs
