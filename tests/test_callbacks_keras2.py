"""Keras 2's training-control callbacks: LearningRateScheduler, ReduceLROnPlateau, CSVLogger,
LambdaCallback, ProgbarLogger(count_mode), BaseLogger, History's place; the tf.keras batch hooks."""
import csv
import io

import numpy as np
import pytest

import cnet
from cnet import backend as K
from cnet import callbacks as C
from cnet import layers as L
from cnet.models import Sequential


def _data(n=48):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


def _model(lr=0.1):
    cnet.set_seed(1)
    model = Sequential([L.Dense(3, activation="softmax", input_shape=(5,))], seed=2)
    model.compile(cnet.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class LrSeen(C.Callback):
    """The learning rate of each batch's update."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_batch_begin(self, batch, logs=None):
        self.seen.append(float(K.get_value(self.model.optimizer.lr)))


def test_learning_rate_scheduler_one_and_two_arguments(capsys):
    x, y = _data()
    for schedule, want in ((lambda epoch: 0.1 / (epoch + 1), [0.1, 0.05, 0.1 / 3]),
                           (lambda epoch, lr: lr * 0.5, [0.05, 0.025, 0.0125])):
        seen = LrSeen()
        model = _model()
        h = model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[C.LearningRateScheduler(schedule), seen])
        assert seen.seen == pytest.approx(np.repeat(want, 3).tolist())
        assert h.history["lr"] == pytest.approx(want)      # History comes last: it records the schedule's 'lr'

    def keyword_default(epoch, lr=None):   # Keras 2.2's form with a default still gets the rate
        return 0.2 if lr is None else lr

    model = _model(0.07)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(keyword_default, verbose=1)])
    assert model.optimizer.lr == 0.07
    assert "Epoch 00001: LearningRateScheduler setting learning rate to 0.07" in capsys.readouterr().out
    for bad in (lambda epoch: "fast", lambda epoch: float("nan"), lambda epoch: -1.0):
        with pytest.raises(ValueError, match="the schedule must return a finite number >= 0"):
            _model().fit(x, y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(bad)])


def test_scheduled_training_equals_fits_with_those_rates():
    x, y = _data()
    a = _model()
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
          callbacks=[C.LearningRateScheduler(lambda e: [0.3, 0.01][e])])
    b = _model(0.3)
    b.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    b.optimizer.lr = 0.01
    b.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


class _FakeModel:
    def __init__(self, lr):
        self.optimizer = cnet.optimizers.SGD(lr)
        self.stop_training = False


def _plateau(values, **kwargs):
    cb = C.ReduceLROnPlateau(**kwargs)
    cb.set_model(_FakeModel(1.0))
    cb.on_train_begin()
    lrs = []
    for epoch, v in enumerate(values):
        logs = {"val_loss": v, "val_acc": v}
        cb.on_epoch_end(epoch, logs)
        lrs.append(float(cb.model.optimizer.lr))
        assert logs["lr"] == (lrs[-2] if len(lrs) > 1 else 1.0)    # the rate this epoch used
    return lrs


def test_reduce_lr_on_plateau_counts_as_keras():
    # patience 2: the second epoch without improvement reduces, and the count starts again
    assert _plateau([1, 0.9, 0.95, 0.92, 0.93, 0.94, 0.5], factor=0.5, patience=2) == \
        [1, 1, 1, 0.5, 0.5, 0.25, 0.25]
    # min_delta: an improvement smaller than it does not count
    assert _plateau([1, 0.99, 0.98, 0.97], factor=0.1, patience=1, min_delta=0.05) == \
        pytest.approx([1, 0.1, 0.01, 0.001])
    # cooldown: after a reduction the counter runs down first, at the start of each epoch's check (Keras's
    # order), so cooldown=2 leaves one epoch out
    assert _plateau([1, 2, 2, 2, 2, 2, 2], factor=0.5, patience=1, cooldown=2) == \
        [1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    # min_lr bounds it; mode max (auto for an accuracy)
    assert _plateau([1, 1, 1, 1], factor=0.1, patience=1, min_lr=0.05) == [1, 0.1, 0.05, 0.05]
    assert _plateau([0.5, 0.6, 0.6, 0.6], monitor="val_acc", factor=0.5, patience=1) == [1, 1, 0.5, 0.25]
    with pytest.raises(ValueError, match="factor must be in"):
        C.ReduceLROnPlateau(factor=1.5)
    with pytest.warns(DeprecationWarning, match="min_delta"):
        assert C.ReduceLROnPlateau(epsilon=0.3).min_delta == 0.3
    with pytest.raises(TypeError, match="unexpected arguments: lr"):
        C.ReduceLROnPlateau(lr=0.1)


def test_reduce_lr_on_plateau_in_fit():
    x, y = _data()
    seen = LrSeen()
    model = _model(0.5)
    h = model.fit(x, y, batch_size=48, epochs=4, verbose=0, validation_data=(x, y),
                  callbacks=[C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0), seen])
    # the first epoch sets the best value; each later one misses by min_delta and halves the rate
    assert seen.seen == [0.5, 0.5, 0.25, 0.125] and h.history["lr"] == [0.5, 0.5, 0.25, 0.125]


def _rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    h = _model().fit(x, y, epochs=3, verbose=0, validation_split=0.25, validation_freq=2,
                     callbacks=[C.CSVLogger(path)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert rows[1][3:] == ["NA", "NA"] and float(rows[2][4]) == h.history["val_loss"][0]
    assert [float(r[2]) for r in rows[1:]] == h.history["loss"]
    _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[C.CSVLogger(path, append=True)])
    assert len(_rows(path)) == 6 and _rows(path)[4][0] == "0"
    with pytest.raises(ValueError, match="holds the columns"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[C.CSVLogger(path, append=True)])
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[C.CSVLogger(path, separator=";")])
    assert _rows(path, ";")[0] == ["epoch", "accuracy", "loss"] and len(_rows(path, ";")) == 2
    with pytest.raises(ValueError, match="one character"):
        C.CSVLogger(path, separator="::")


def test_lambda_callback_hooks():
    x, y = _data()
    calls = []
    cb = C.LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                          on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
                          on_batch_end=lambda batch, logs: calls.append(("batch", batch, round(logs["loss"], 9))),
                          on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
                          on_train_end=lambda logs: calls.append("train_end"))
    h = _model().fit(x, y, batch_size=24, epochs=2, verbose=0, callbacks=[cb])
    assert calls[0] == "train_begin" and calls[-1] == "train_end"
    assert [c[0] for c in calls[1:-1]] == ["epoch_begin", "batch", "batch", "epoch_end"] * 2
    assert calls[4] == ("epoch_end", 0, ["accuracy", "loss"]) and calls[3][2] == round(h.history["loss"][0], 9)
    with pytest.raises(TypeError, match="fit calls no hook named on_test_begin"):
        C.LambdaCallback(on_test_begin=print)
    with pytest.raises(TypeError, match="must be a function"):
        C.LambdaCallback(on_epoch_end=3)


def test_tf_keras_batch_hooks_are_called():
    x, y = _data()

    class Modern(C.Callback):
        begun = ended = 0

        def on_train_batch_begin(self, batch, logs=None):
            self.begun += 1

        def on_train_batch_end(self, batch, logs=None):
            self.ended += 1
    cb = Modern()
    _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert cb.begun == cb.ended == 6


def test_progbar_logger_counts_samples_or_steps():
    x, y = _data(50)
    out = io.StringIO()
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[C.ProgbarLogger(stream=out, verbose=2)])
    assert out.getvalue().splitlines()[1].startswith("50/50 - ")      # Keras 2.1's default: samples
    out = io.StringIO()
    _model().fit(x, y, batch_size=16, epochs=1, verbose=2, callbacks=[C.ProgbarLogger("steps", stream=out)])
    assert out.getvalue().splitlines()[1].startswith("4/4 - ")        # verbose: fit's
    out = io.StringIO()
    _model().fit(x, y, epochs=1, verbose=0, callbacks=[C.ProgbarLogger(stream=out)])
    assert out.getvalue() == ""                                        # fit(verbose=0): silent, as Keras
    with pytest.raises(ValueError, match="count_mode must be 'steps' or 'samples'"):
        C.ProgbarLogger(1)


def test_base_logger_and_history_as_in_keras():
    x, y = _data()
    base = C.BaseLogger()
    h = _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[base])
    assert isinstance(h, C.History) and h.epoch == [0, 1] and h.params["metrics"] == ["loss", "accuracy"]
    assert base.last["loss"] == h.history["loss"][-1]
