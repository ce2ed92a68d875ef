"""fit/evaluate/predict on generators and cnet.utils.Sequence (Keras 2's data pipelines): the same batches
train bit for bit like arrays, with any number of reading threads; the Keras 2.1 *_generator methods;
predict_on_batch; every unsupported combination refused with a message."""
import threading

import numpy as np
import pytest

import cnet
from cnet import layers as L
from cnet.models import Sequential
from cnet.utils import Sequence

N, B = 96, 16          # 6 batches


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 6)).astype(np.float32)
    y = rng.integers(0, 3, N)
    return x, y


def _model(metrics=("accuracy",)):
    cnet.set_seed(1)
    model = Sequential([L.Dense(8, activation="relu", input_shape=(6,)), L.Dropout(0.2),
                        L.Dense(3, activation="softmax")], seed=5)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def _same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def _loop(x, y, w=None, order=None):
    """A Keras-style generator: the batches of x, y in order, forever."""
    while True:
        for i in (range(N // B) if order is None else order):
            part = slice(i * B, (i + 1) * B)
            yield (x[part], y[part]) if w is None else (x[part], y[part], w[part])


class Batches(Sequence):
    def __init__(self, x, y, w=None, slow=False):
        self.x, self.y, self.w, self.slow = x, y, w, slow
        self.epochs_ended = 0
        self.threads = set()

    def __len__(self):
        return len(self.x) // B

    def __getitem__(self, i):
        self.threads.add(threading.get_ident())
        if self.slow and i % 2 == 0:
            threading.Event().wait(0.01)      # finish out of order when read by several threads
        part = slice(i * B, (i + 1) * B)
        return (self.x[part], self.y[part]) if self.w is None else (self.x[part], self.y[part], self.w[part])

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("workers", [0, 1])
def test_generator_trains_like_arrays_bit_for_bit(workers):
    x, y = _data()
    ref = _model()
    h_ref = ref.fit(x, y, batch_size=B, epochs=3, shuffle=False, verbose=0, validation_data=(x, y))
    model = _model()
    h = model.fit(_loop(x, y), steps_per_epoch=N // B, epochs=3, verbose=0, workers=workers,
                  validation_data=_loop(x, y), validation_steps=N // B)
    assert _same_weights(model, ref)
    assert h.history == h_ref.history and h.params["samples"] is None and h.params["batch_size"] is None


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_sequence_trains_like_arrays_bit_for_bit(workers):
    x, y = _data()
    ref = _model()
    h_ref = ref.fit(x, y, batch_size=B, epochs=3, shuffle=False, verbose=0, validation_data=(x, y))
    seq = Batches(x, y, slow=workers > 1)
    model = _model()
    h = model.fit(seq, epochs=3, shuffle=False, verbose=0, workers=workers, validation_data=Batches(x, y))
    assert _same_weights(model, ref) and h.history == h_ref.history
    assert seq.epochs_ended == 3
    assert (threading.get_ident() in seq.threads) == (workers == 0)


def test_validation_freq_with_a_generator():
    x, y = _data()
    h = _model().fit(Batches(x, y), epochs=3, verbose=0, validation_data=_loop(x, y), validation_steps=2,
                     validation_freq=[1, 3], workers=2)      # the validation generator: one thread
    assert len(h.history["loss"]) == 3 and len(h.history["val_loss"]) == 2


def test_sequence_shuffles_its_batch_order_with_fits_generator():
    """shuffle=True reads each epoch's batches in an order drawn from fit's seeded Generator: the same as
    training on the batches in that order."""
    x, y = _data()
    model = _model()
    model.fit(Batches(x, y), epochs=2, verbose=0, seed=11, workers=2)
    rng = np.random.default_rng(11)
    orders = [rng.permutation(N // B) for _ in range(2)]
    assert not all((o == np.arange(N // B)).all() for o in orders)
    ref = _model()
    ref.fit(_loop(x, y, order=np.concatenate(orders)), steps_per_epoch=N // B, epochs=2, verbose=0)
    assert _same_weights(model, ref)
    again = _model()
    again.fit(Batches(x, y), epochs=2, verbose=0, seed=11, workers=0)
    assert _same_weights(model, again)


def test_fit_generator_and_friends_take_keras_21_arguments():
    x, y = _data()
    ref = _model()
    ref.fit(x, y, batch_size=B, epochs=2, shuffle=False, verbose=0)
    model = _model()
    h = model.fit_generator(_loop(x, y), steps_per_epoch=N // B, epochs=2, verbose=0, validation_data=(x, y),
                            max_queue_size=3, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0)
    assert _same_weights(model, ref) and len(h.history["val_loss"]) == 2
    assert model.evaluate_generator(_loop(x, y), steps=N // B) == ref.evaluate(x, y, batch_size=B, verbose=0)
    np.testing.assert_array_equal(model.predict_generator(Batches(x, y)), ref.predict(x, batch_size=B))
    for method in (model.fit_generator, model.evaluate_generator, model.predict_generator):
        with pytest.raises(ValueError, match="takes a generator or a cnet.utils.Sequence"):
            method(x)


def test_evaluate_and_predict_on_sequences_and_generators():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    want = model.evaluate(x, y, batch_size=B, verbose=0)
    assert model.evaluate(Batches(x, y), verbose=0) == want
    assert model.evaluate(_loop(x, y), steps=N // B, verbose=0, workers=0) == want
    assert model.evaluate(iter(list(Batches(x, y))), verbose=0) == want      # a finite iterator: to its end
    assert model.evaluate(Batches(x, y), verbose=0, return_dict=True) == dict(zip(model.metrics_names, want))
    assert model.evaluate(Batches(x, y), steps=2, verbose=0) == model.evaluate(x[:2 * B], y[:2 * B], B, 0)
    assert model.evaluate(x, y, B, 0, steps=1.5) == model.evaluate(x[:2 * B], y[:2 * B], B, 0)   # Keras 2.1: ceil
    probs = model.predict(x, batch_size=B)
    np.testing.assert_array_equal(model.predict(Batches(x, y), workers=3), probs)
    np.testing.assert_array_equal(model.predict((x[i:i + B] for i in range(0, N, B))), probs)
    np.testing.assert_array_equal(model.predict(_loop(x, y), steps=2), probs[:2 * B])
    np.testing.assert_array_equal(model.predict_on_batch(x[:5]), probs[:5])
    seq = Batches(x, y)
    model.predict(seq)
    model.evaluate(seq, verbose=0)
    assert seq.epochs_ended == 2          # after each full pass
    # weights of 2: Keras's sum(w * loss) / (the number of nonzero w) doubles the loss, not the accuracy
    doubled = model.evaluate(_loop(x, y, w=np.full(N, 2.0)), steps=N // B, verbose=0)
    assert doubled == pytest.approx([2 * want[0], want[1]], rel=1e-6)


def test_the_reading_thread_reads_no_more_than_asked():
    x, y = _data()
    taken = []

    def counted():
        for batch in _loop(x, y):
            taken.append(1)
            yield batch
    gen = counted()
    model = _model()
    model.fit(gen, steps_per_epoch=2, epochs=2, verbose=0, max_queue_size=10)
    assert len(taken) == 4
    model.evaluate(gen, steps=3, verbose=0)
    assert len(taken) == 7


def test_generator_errors_reach_fit():
    x, y = _data()

    def broken():
        yield x[:B], y[:B]
        raise RuntimeError("the disk went away")
    for workers in (0, 1):
        with pytest.raises(RuntimeError, match="the disk went away"):
            _model().fit(broken(), steps_per_epoch=3, verbose=0, workers=workers)

    def short():
        yield x[:B], y[:B]
    with pytest.raises(ValueError, match="the generator stopped after 1 of the 3 batches"):
        _model().fit(short(), steps_per_epoch=3, verbose=0)

    class Broken(Batches):
        def __getitem__(self, i):
            if i == 3:
                raise IndexError("no batch 3")
            return super().__getitem__(i)
    with pytest.raises(IndexError, match="no batch 3"):
        _model().fit(Broken(x, y), verbose=0, workers=2, shuffle=False)


def test_stop_training_stops_the_reader():
    x, y = _data()

    class StopAt(cnet.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True
    before = threading.active_count()
    model = _model()
    h = model.fit(_loop(x, y), steps_per_epoch=5, epochs=3, verbose=0, callbacks=[StopAt()])
    assert h.epoch == [0] and model.training_state["step"] == 2
    for _ in range(50):
        if threading.active_count() <= before:
            break
        threading.Event().wait(0.05)
    assert threading.active_count() <= before


def test_unsupported_combinations_are_refused():
    x, y = _data()
    model = _model()
    gen = _loop(x, y)
    cases = [
        (dict(x=gen), "steps_per_epoch is required with a generator"),
        (dict(x=gen, steps_per_epoch=2, workers=2), "workers=2 with a Python generator"),
        (dict(x=gen, steps_per_epoch=2, use_multiprocessing=True), "use_multiprocessing=True is not supported"),
        (dict(x=gen, steps_per_epoch=2, batch_size=8), "batch_size must be None when x is a generator"),
        (dict(x=gen, y=y, steps_per_epoch=2), "y must be None"),
        (dict(x=gen, steps_per_epoch=2, sample_weight=np.ones(N)), "sample_weight must be None"),
        (dict(x=gen, steps_per_epoch=2, validation_split=0.2), "validation_split needs arrays"),
        (dict(x=gen, steps_per_epoch=2, validation_data=_loop(x, y)), "validation_steps is required"),
        (dict(x=Batches(x, y), steps_per_epoch=7), "the Sequence holds 6 batches"),
        (dict(x=Batches(x, y), validation_data=Batches(x, y), validation_steps=9), "holds 6 batches"),
        (dict(x=gen, steps_per_epoch=2, max_queue_size=0), "max_queue_size must be a positive integer"),
        (dict(x=gen, steps_per_epoch=2, workers=-1), "workers must be an integer >= 0"),
        (dict(x=iter([x[:4]]), steps_per_epoch=1), r"must be a tuple \(x, y\) or \(x, y, sample_weight\); got a "
                                                   "ndarray"),
        (dict(x=iter([(x[:4], y[:3])]), steps_per_epoch=1), "batch 0 holds 4 inputs but 3 targets"),
        (dict(x=iter([(x[:4], y[:4], np.ones(3))]), steps_per_epoch=1), "sample_weight must hold one real number"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            model.fit(verbose=0, **kwargs)
    with pytest.raises(ValueError, match="at least one batch"):
        model.fit(Batches(x[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match="steps=9 but the Sequence holds 6 batches"):
        model.evaluate(Batches(x, y), steps=9, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be None"):
        model.predict(Batches(x, y), batch_size=4)
    with pytest.raises(NotImplementedError, match="must define __len__"):
        model.fit(Sequence(), verbose=0)


def test_a_sequence_of_images_trains_a_convnet():
    rng = np.random.default_rng(3)
    x = rng.random((N, 1, 8, 8)).astype(np.float32)
    y = cnet.utils.to_categorical(rng.integers(0, 2, N), 2)
    cnet.set_seed(2)
    model = Sequential([L.Conv2D(4, 3, activation="relu", input_shape=(1, 8, 8)), L.Flatten(),
                        L.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(Batches(x, y), epochs=2, verbose=0, workers=2)
    assert len(h.history["loss"]) == 2 and model.predict(Batches(x, y)).shape == (N, 2)


def test_several_inputs_and_outputs_from_a_sequence():
    """A two-input, two-output functional model trains on a Sequence of ([x1, x2], [y1, y2]) batches
    exactly as on the arrays; predict gives one array per output."""
    from test_functional import _two_heads, _two_heads_data
    x, y = _two_heads_data(n=40)

    class Pairs(Sequence):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            part = slice(8 * i, 8 * i + 8)
            return [a[part] for a in x], {"cls": y[0][part], "reg": y[1][part]}

    def compiled():
        model = _two_heads()
        model.compile("adam", {"cls": "sparse_categorical_crossentropy", "reg": "mse"}, metrics={"cls": ["acc"]})
        return model
    a, b = compiled(), compiled()
    ha = a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(Pairs(), epochs=2, shuffle=False, verbose=0, workers=2)
    assert _same_weights(a, b) and ha.history == hb.history
    p = b.predict(Pairs())
    assert [q.shape for q in p] == [(40, 3), (40, 1)]
    for got, want in zip(p, b.predict(x, batch_size=8)):
        np.testing.assert_array_equal(got, want)
    assert b.evaluate(Pairs(), verbose=0) == b.evaluate(x, y, batch_size=8, verbose=0)
    assert [q.shape for q in b.predict_on_batch([a_[:3] for a_ in x])] == [(3, 3), (3, 1)]
