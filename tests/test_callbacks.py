"""Callbacks (History aside) and the progress bar, on a small Sequential model."""
import io
import os

import numpy as np
import pytest

import cnet
from cnet import callbacks as cbs
from cnet.models import Sequential
from cnet.layers import Dense
from cnet.progbar import Progbar
from test_models import _blobs, _mlp


# ---- callbacks -----------------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_best_weights():
    x, y = _blobs(60)
    model = _mlp()
    model.compile(cnet.optimizers.SGD(lr=0.0), 'sparse_categorical_crossentropy')   # nothing improves
    stop = cbs.EarlyStopping(monitor='val_loss', patience=1, restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0, validation_split=0.2, callbacks=[stop])
    assert len(h.epoch) == 2 and stop.stopped_epoch == 1 and model.stop_training

    class Worse(cbs.Callback):   # after epoch 0, stop learning and spoil the weights
        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 1:
                self.model.optimizer.learning_rate = 0.0
                for w in self.model.layers[-1].params.values():
                    w *= -3.0

    model = _mlp()
    model.compile(cnet.optimizers.SGD(lr=0.1), 'sparse_categorical_crossentropy', ['acc'])
    stop = cbs.EarlyStopping(monitor='val_loss', patience=0, restore_best_weights=True, mode='auto')
    assert stop.mode == 'min' and cbs.EarlyStopping(monitor='val_acc').mode == 'max'
    best = None

    class Snapshot(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            nonlocal best
            if epoch == 0:
                best = self.model.get_weights()

    h = model.fit(x, y, epochs=5, verbose=0, validation_split=0.2, callbacks=[Worse(), Snapshot(), stop])
    assert stop.best_epoch == 0 and stop.stopped_epoch == 1 and len(h.epoch) == 2
    for a, b in zip(model.get_weights(), best):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_writes_formatted_files(tmp_path):
    x, y = _blobs(60)
    model = _mlp()
    model.compile('adam', 'sparse_categorical_crossentropy', ['accuracy'])
    pattern = str(tmp_path / 'w.{epoch:02d}-{val_loss:.2f}.cnet.npz')
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.2,
              callbacks=[cbs.ModelCheckpoint(pattern, monitor='val_loss')])
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2 and names[0].startswith('w.01-') and names[1].startswith('w.02-')
    best = tmp_path / 'best.cnet.npz'
    ck = cbs.ModelCheckpoint(str(best), monitor='val_acc', save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.2, callbacks=[ck])
    assert best.exists() and ck.best is not None
    other = _mlp()
    other.load_weights(str(best))


def test_nan_loss_stops_fit_with_a_message_and_terminate_on_nan():
    x, y = _blobs(64)
    x[40:] = np.nan                      # batch 3 (of 16 samples each, no shuffling) holds NaNs

    def linear():
        return Sequential([Dense(3, activation='softmax', input_shape=(20,))])

    model = linear()
    model.compile('sgd', 'sparse_categorical_crossentropy')
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match=r'epoch 1, step 3/4'):
        h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    # a diverged epoch is not finished: no epoch-end callback (no checkpoint) sees it
    assert h.epoch == [] and h.history == {} and model.stop_training
    assert h.diverged['epoch'] == 0 and h.diverged['step'] == 2 and 'loss became nan' in h.diverged['reason']
    assert all(np.isfinite(w).all() for w in model.get_weights())   # the NaN step did not update
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))

    model = linear()
    model.compile('sgd', 'sparse_categorical_crossentropy')
    term = cbs.TerminateOnNaN()
    with pytest.warns(RuntimeWarning):
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[term])
    assert model.stop_training


def test_custom_callback_hooks_order():
    events = []

    class Recorder(cbs.Callback):
        def on_train_begin(self, logs=None):
            events.append('train_begin')

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f'epoch_begin {epoch}')

        def on_batch_end(self, batch, logs=None):
            events.append(f'batch_end {batch} {sorted(k for k in logs if k in ("loss", "accuracy"))}')

        def on_epoch_end(self, epoch, logs=None):
            events.append(f'epoch_end {epoch} {sorted(logs)}')

        def on_train_end(self, logs=None):
            events.append('train_end')

    x, y = _blobs(20)
    model = _mlp()
    model.compile('sgd', 'sparse_categorical_crossentropy', ['accuracy'])
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, initial_epoch=1, callbacks=[Recorder()])
    assert events == ['train_begin', 'epoch_begin 1', "batch_end 0 ['accuracy', 'loss']",
                      "batch_end 1 ['accuracy', 'loss']", "epoch_end 1 ['accuracy', 'loss']", 'train_end']


# ---- the progress bar ----------------------------------------------------------------------------

class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progbar_redraws_on_a_tty_and_writes_one_line_otherwise():
    tty = _Stream(True)
    bar = Progbar(4, stream=tty, interval=0)
    for i in range(1, 5):
        bar.update(i, [('loss', 0.5 / i), ('accuracy', 0.25 * i)])
    text = tty.getvalue()
    assert text.count('\r') == 4 and text.endswith('\n') and text.count('\n') == 1
    assert 'ETA:' in text and '4/4 [==============================]' in text
    assert '2/4 [==============>...............] - ETA:' in text
    assert text.rstrip().endswith('loss: 0.1250 - accuracy: 1.0000')

    pipe = _Stream(False)
    bar = Progbar(4, stream=pipe, interval=0)
    for i in range(1, 5):
        bar.update(i, [('loss', 1e-5)])
    assert '\r' not in pipe.getvalue() and pipe.getvalue().count('\n') == 1
    assert 'loss: 1.0000e-05' in pipe.getvalue() and '/step' in pipe.getvalue()
