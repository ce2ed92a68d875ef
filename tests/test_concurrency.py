"""Threads: two models trained at the same time from two Python threads end exactly as when trained one
after the other (the kernels release the GIL; per-layer workspaces are per layer; nothing else is shared).

Process-wide settings are not per thread: cnet.set_backend / use_backend, cnet.set_num_threads and
cnet.set_seed's generator. Each model below therefore gets explicit seeds for its shuffling and dropout,
and its weights are drawn before the threads start. Threads sharing one model take turns step by step
(a training step, or one batch of predict/evaluate, holds the model's lock: its layers reuse buffers).
"""
import threading

import numpy as np
import pytest

import cnet
from cnet.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    return x, (x[:, 0, :4].sum(axis=(1, 2)) > 0).astype(np.int64)


def _models():
    cnet.set_seed(11)
    out = []
    for i, opt in enumerate(("adam", "rmsprop")):
        model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(1, 8, 8)), BatchNormalization(),
                            MaxPooling2D(), Flatten(), Dropout(0.3, seed=100 + i),
                            Dense(16, activation="relu"), Dense(2, activation="softmax")], seed=i)
        model.compile(opt, "sparse_categorical_crossentropy", ["accuracy"])
        out.append(model)
    return out


def _train(model, seed, results, key):
    x, y = _data(seed)
    hist = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    results[key] = (hist.history["loss"], model.get_weights(), model.predict(x))


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_two_models_in_two_threads_match_sequential_training(backend):
    with cnet.use_backend(backend):
        sequential = {}
        for i, model in enumerate(_models()):
            _train(model, i, sequential, i)

        concurrent = {}
        threads = [threading.Thread(target=_train, args=(model, i, concurrent, i))
                   for i, model in enumerate(_models())]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)

    assert sorted(concurrent) == [0, 1]
    for i in (0, 1):
        loss_s, w_s, p_s = sequential[i]
        loss_c, w_c, p_c = concurrent[i]
        assert loss_s == loss_c
        for a, b in zip(w_s, w_c):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(p_s, p_c)


def test_ops_from_many_threads_match_one_thread():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((8, 3, 10, 10)).astype(np.float32) for _ in range(6)]
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)

    def work(x):
        y = cnet.ops.conv2d_forward(x, w, None, 1, 1)
        p, _ = cnet.ops.maxpool2d_forward(y, 2, 2)
        return cnet.ops.softmax_forward(p.reshape(len(x), -1))

    expected = [work(x) for x in xs]
    got = [None] * len(xs)

    def run(i):
        for _ in range(5):
            got[i] = work(xs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def _shared_model():
    cnet.set_seed(5)
    model = Sequential([Conv2D(6, 3, activation="relu", input_shape=(1, 8, 8)), MaxPooling2D(), Flatten(),
                        Dense(12, activation="relu"), Dense(2, activation="softmax")])
    model.compile(cnet.optimizers.SGD(0.05), "sparse_categorical_crossentropy", ["accuracy"])
    return model


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_one_model_shared_by_threads_takes_turns(backend):
    """Two threads stepping the same model on the same batch while a third predicts. Every step is the
    same function of the weights (one batch, SGD, no dropout), so 2 x 15 steps taken in turns end
    exactly where 30 steps on one thread do; steps that overlapped would mix each other's buffers.
    Every predict sees whole weights (finite probabilities summing to 1)."""
    x, y = _data(3)
    x, y = x[:16], y[:16]
    steps = 15
    with cnet.use_backend(backend):
        ref = _shared_model()
        for _ in range(2 * steps):
            ref.train_on_batch(x, y)
        model = _shared_model()
        errors, preds = [], []

        def trainer():
            try:
                for _ in range(steps):
                    model.train_on_batch(x, y)
            except Exception as exc:   # pragma: no cover - reported below
                errors.append(exc)

        def predictor():
            try:
                for _ in range(20):
                    preds.append(model.predict(x, batch_size=8))
            except Exception as exc:   # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=trainer), threading.Thread(target=trainer),
                   threading.Thread(target=predictor)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads) and not errors, errors
    for w, w_ref in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(w, w_ref)
    for p in preds:
        assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
