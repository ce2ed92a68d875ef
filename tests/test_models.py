"""Sequential: the Keras 2 surface on tiny synthetic data (callbacks: test_callbacks.py)."""
import math
import re

import numpy as np
import pytest

import cnet
from cnet import callbacks as cbs
from cnet.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential


def _blobs(n=240, d=20, classes=3, seed=0):
    """Linearly separable-ish data: class c shifts feature c."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(0, 0.5, (n, d))
    x[np.arange(n), y] += 2.0
    return x.astype(np.float32), y


def _images(n=96, seed=0):
    """8x8 images, class 0: bright left half, class 1: bright right half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 8, 8)) * 0.2
    for i in range(n):
        if y[i]:
            x[i, :, 4:] += 0.8
        else:
            x[i, :, :4] += 0.8
    return (x * 255).astype(np.uint8), y


def _mlp(d=20, classes=3, **kw):
    return Sequential([Dense(16, activation="relu", input_shape=(d,)), Dense(classes, activation="softmax")],
                      **kw)


# ---- a Keras program, unchanged but for its imports ----------------------------------------------

def test_keras_mnist_mlp_program_runs_unchanged(capsys):
    import cnet as keras
    from cnet.models import Sequential
    from cnet.layers import Dense, Dropout
    from cnet.optimizers import RMSprop
    from cnet.utils import to_categorical

    batch_size, num_classes, epochs = 32, 3, 3
    x_train, y_train = _blobs(960, seed=1)
    x_test, y_test = _blobs(60, seed=2)
    x_train = x_train.astype('float32')
    y_train = to_categorical(y_train, num_classes)
    y_test = to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Dense(32, activation='relu', input_shape=(20,)))
    model.add(Dropout(0.2))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(num_classes, activation='softmax'))
    model.summary()
    model.compile(loss='categorical_crossentropy', optimizer=RMSprop(), metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=1,
                        validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print('Test loss:', score[0])
    print('Test accuracy:', score[1])
    out = capsys.readouterr().out
    assert 'Epoch 3/3' in out and 'Total params' in out
    assert re.search(r"30/30 \[=+\] - .*loss: [0-9.]+ - accuracy: [0-9.]+ - val_loss: .* - val_accuracy", out)
    assert score[1] > 0.9
    assert len(history.history['val_acc']) == epochs


def test_keras_mnist_cnn_program_runs_unchanged(capsys):
    import cnet as keras
    from cnet.models import Sequential
    from cnet.layers import Dense, Dropout, Flatten, Conv2D, MaxPooling2D
    from cnet import backend as K
    from cnet.utils import to_categorical

    num_classes, img_rows, img_cols = 2, 8, 8
    x_train, y_train = _images(96, seed=3)
    x_test, y_test = _images(32, seed=4)
    if K.image_data_format() == 'channels_first':
        x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
        x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
        input_shape = (1, img_rows, img_cols)
    else:
        x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
        x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
        input_shape = (img_rows, img_cols, 1)
    x_train = x_train.astype('float32')
    x_test = x_test.astype('float32')
    x_train /= 255
    x_test /= 255
    y_train = to_categorical(y_train, num_classes)
    y_test = to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Conv2D(4, kernel_size=(3, 3), activation='relu', input_shape=input_shape))
    model.add(Conv2D(8, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(16, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation='softmax'))
    model.compile(loss=keras.losses.categorical_crossentropy, optimizer=keras.optimizers.Adadelta(),
                  metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=16, epochs=4, verbose=2, validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    out = capsys.readouterr().out
    assert out.count('Epoch ') == 4 and '6/6 - ' in out and '[' not in out   # verbose=2: no bar
    assert score[1] > 0.8
    probs = model.predict(x_test)
    assert probs.shape == (32, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_sparse_labels_uint8_inputs_and_verbose0(capsys):
    x, y = _images(64, seed=5)
    cnet.set_seed(1)
    model = Sequential([Flatten(input_shape=(8, 8)), Dense(2, activation='softmax')])
    model.compile(cnet.optimizers.Adam(lr=0.01), 'sparse_categorical_crossentropy', metrics=['acc'])
    h = model.fit(x / 255.0, y.astype(np.uint8), epochs=5, batch_size=8, verbose=0)   # float64 inputs, uint8 labels
    assert capsys.readouterr().out == ''
    assert set(h.history) == {'loss', 'acc'} and h.history['accuracy'] == h.history['acc']
    assert model.evaluate(x.astype(np.float64) / 255, y, verbose=0)[1] > 0.8
    assert model.predict(x[:5]).dtype == np.float32


@pytest.mark.parametrize("labels, problem", [
    (np.array([10 ** 30, 1] * 32, dtype=object), "whole class indices, got 10{30}"),
    (np.array([1.5, 1.0] * 32), "whole class indices, got 1.5"),
    (np.array([np.nan, 1.0] * 32), "whole class indices, got nan"),
    (np.array([2 ** 63 + 5, 1] * 32, dtype=np.uint64), "class indices, got 9223372036854775813"),
    (np.array(["0", "1"] * 32), "integer class indices, got an array of <U1"),
    (np.array([None, 1] * 32, dtype=object), "whole class indices, got None"),
])
def test_sparse_targets_that_are_not_class_indices_are_refused(labels, problem):
    """They were cast to int64: 1.5 became 1 silently, 10**30 raised OverflowError, NaN a huge index."""
    x, _ = _images(64, seed=5)
    model = Sequential([Flatten(input_shape=(8, 8)), Dense(2, activation='softmax')])
    model.compile('sgd', 'sparse_categorical_crossentropy')
    for run in (lambda: model.fit(x, labels, verbose=0), lambda: model.evaluate(x, labels, verbose=0)):
        with pytest.raises(ValueError, match=f"sparse_categorical_crossentropy: the targets must be .*{problem}"):
            run()
    model.fit(x, np.array([0.0, 1.0] * 32), epochs=1, verbose=0)       # whole floats are indices, as in Keras


# ---- History, evaluate, batches ------------------------------------------------------------------

def test_history_keys_aliases_and_params():
    x, y = _blobs()
    model = _mlp()
    model.compile('rmsprop', 'sparse_categorical_crossentropy', metrics=['accuracy'])
    h = model.fit(x, y, batch_size=50, epochs=2, verbose=0, validation_split=0.25)
    assert list(h.history) == ['loss', 'accuracy', 'val_loss', 'val_accuracy']
    assert h.history['acc'] is h.history['accuracy'] and h.history['val_acc'] is h.history['val_accuracy']
    assert 'acc' in h.history and 'val_acc' in h.history
    assert h.epoch == [0, 1] and h.params['epochs'] == 2 and h.params['samples'] == 180
    assert h.params['steps'] == 4
    # validation_split takes the last 25%, as Keras
    val = model.evaluate(x[180:], y[180:], verbose=0)
    assert h.history['val_loss'][-1] == pytest.approx(val[0], rel=1e-6)
    assert h.history['val_acc'][-1] == pytest.approx(val[1])


def test_evaluate_without_metrics_returns_a_scalar_and_batches():
    x, y = _blobs(100)
    model = _mlp()
    model.compile('sgd', 'sparse_categorical_crossentropy')
    loss = model.evaluate(x, y, batch_size=33, verbose=0)
    assert isinstance(loss, float)
    # the size-weighted mean over batches equals the whole-set loss
    assert loss == pytest.approx(model.evaluate(x, y, batch_size=100, verbose=0), rel=1e-5)
    before = model.evaluate(x[:20], y[:20], verbose=0)
    tl = model.train_on_batch(x[:20], y[:20])   # the loss before the update (no dropout here)
    assert isinstance(tl, float) and tl == pytest.approx(before, rel=1e-5)
    assert model.evaluate(x[:20], y[:20], verbose=0) < before
    model.compile('sgd', 'sparse_categorical_crossentropy', metrics=['accuracy'])
    assert len(model.test_on_batch(x[:20], y[:20])) == 2
    assert model.predict_classes(x[:4]).shape == (4,)


def test_fused_softmax_head_matches_unfused_loss_and_gradients():
    """The fused path (logits into softmax cross-entropy) and the plain one (the model's softmax, then the
    cross-entropy of probabilities) give the same loss, gradients, metrics and training step."""
    x, y = _blobs(40)
    x64 = x.astype(np.float64)
    cnet.set_seed(3)

    def mlp():
        return Sequential([Dense(5, activation='relu', input_shape=(20,)), Dense(3, activation='softmax')],
                          dtype='float64')

    class ProbabilityCrossentropy(cnet.losses.SparseCategoricalCrossentropy):
        fuses_softmax = False    # the model runs its softmax; the loss takes probabilities

    fused, unfused = mlp(), mlp()
    unfused.set_weights(fused.get_weights())
    fused.compile(cnet.optimizers.SGD(lr=0.1), 'sparse_categorical_crossentropy', ['accuracy'])
    unfused.compile(cnet.optimizers.SGD(lr=0.1), ProbabilityCrossentropy(), ['accuracy'])
    assert fused._fused() and not unfused._fused()
    probs = fused.predict(x64)
    np.testing.assert_array_equal(probs, unfused.predict(x64))
    assert np.allclose(probs.sum(axis=1), 1) and probs.min() > 1e-4   # the unfused clipping does not bite
    expected = -np.mean(np.log(probs[np.arange(40), y]))
    assert fused.loss(x64, y) == pytest.approx(expected, rel=1e-10)
    assert unfused.loss(x64, y) == pytest.approx(expected, rel=1e-10)
    g_fused, g_unfused = fused.gradient(x64, y), unfused.gradient(x64, y)
    assert len(g_fused) == len(g_unfused) == 4      # the same layers (named dense..., dense_2...)
    for (key, a), b in zip(g_fused.items(), g_unfused.values()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=key)
    assert fused.evaluate(x64, y, verbose=0) == pytest.approx(unfused.evaluate(x64, y, verbose=0), rel=1e-10)
    assert fused.train_on_batch(x64, y) == pytest.approx(unfused.train_on_batch(x64, y), rel=1e-10)
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # book-style gradient checks through both heads
    for model in (fused, unfused):
        errors = cnet.gradcheck(model, x64[:6], y[:6])
        assert max(errors.values()) < 1e-6, errors


def test_float64_model_and_seeded_reproducibility():
    x, y = _blobs(120)

    def run(seed):
        cnet.set_seed(seed)
        model = Sequential([Dense(8, activation='relu', input_shape=(20,)), Dropout(0.3),
                            Dense(3, activation='softmax')], dtype='float64')
        model.compile('adam', 'sparse_categorical_crossentropy', ['accuracy'])
        h = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return model, h.history['loss']

    m1, l1 = run(7)
    m2, l2 = run(7)
    _, l3 = run(8)
    assert all(w.dtype == np.float64 for w in m1.get_weights())
    assert l1 == l2 and l1 != l3
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_book_style_params_grads_forward_backward():
    x, y = _blobs(30)
    model = _mlp(name='book')
    model.compile('sgd', 'sparse_categorical_crossentropy')
    assert sorted(model.params) == sorted(model.grads) and all('/' in k for k in model.params)
    grads = model.gradient(x, y)
    assert set(grads) == set(model.params)
    key = next(iter(model.params))
    w = model.params[key].copy()
    opt = cnet.optimizers.SGD(lr=0.1)
    opt.update(model.params, grads)   # in place, book style
    assert not np.array_equal(model.params[key], w)
    model.params[key] = np.zeros_like(w)   # rebinding reaches the layer
    model.forward(x, train=False)
    assert not model.layers[0].params['W'].any()
    out = model.forward(x, train=True)
    dx = model.backward(np.ones_like(out))
    assert dx.shape == x.shape


def test_build_on_first_batch_and_summary_text():
    model = Sequential(name='lazy')
    model.add(Dense(4, activation='relu'))
    model.add(Dense(2, activation='softmax'))
    assert not model.built
    model.compile('sgd', 'sparse_categorical_crossentropy')
    model.fit(np.zeros((6, 3), np.float32), np.zeros(6, np.int64), verbose=0)
    assert model.built and model.input_shape == (3,)
    lines = []
    model.summary(print_fn=lines.append)
    text = '\n'.join(lines)
    assert text.startswith('Model: "lazy"')
    assert re.search(r"dense\S* \(Dense\) +\(None, 4\) +16", text)
    assert 'Total params: 26' in text and 'Trainable params: 26' in text and 'Non-trainable params: 0' in text
    with pytest.raises(ValueError, match='unique names'):
        model.add(Dense(2, name=model.layers[0].name))


def test_fit_errors_are_clear():
    model = _mlp()
    with pytest.raises(RuntimeError, match='compile'):
        model.fit(np.zeros((2, 20)), np.zeros(2))
    model.compile('sgd', 'sparse_categorical_crossentropy')
    with pytest.raises(ValueError, match='same number of samples'):
        model.fit(np.zeros((3, 20)), np.zeros(2, np.int64), verbose=0)


def test_layers_without_softmax_head_and_binary_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32).reshape(-1, 1)
    model = Sequential([Dense(8, activation='relu', input_shape=(4,)), Dense(1, activation='sigmoid')])
    model.compile(cnet.optimizers.Adam(lr=0.01), 'binary_crossentropy', ['accuracy'])
    h = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert h.history['acc'][-1] > 0.8
    model = Sequential([Dense(3, input_shape=(4,)), Activation('softmax')])
    model.compile('sgd', 'categorical_crossentropy', ['accuracy'])
    assert model._fused()
    model.fit(x, cnet.utils.to_categorical((x[:, 0] > 0).astype(int), 3), epochs=1, verbose=0)
    # mse with one-hot targets: argmax accuracy
    model = Sequential([Dense(3, activation='softmax', input_shape=(4,))])
    model.compile('sgd', 'mse', ['accuracy'])
    loss, acc = model.evaluate(x, cnet.utils.to_categorical(np.zeros(80, int), 3), verbose=0)
    assert 0.0 <= acc <= 1.0


def test_conv_model_float64_gradcheck(conv_engine):
    rng = np.random.default_rng(0)
    cnet.set_seed(0)
    model = Sequential([Conv2D(2, 3, activation='relu', input_shape=(1, 6, 6)), MaxPooling2D(),
                        Flatten(), Dense(3, activation='softmax')], dtype='float64')
    model.compile('sgd', 'sparse_categorical_crossentropy')
    errors = cnet.gradcheck(model, rng.normal(size=(3, 1, 6, 6)), np.array([0, 1, 2]))
    assert max(errors.values()) < 1e-5, errors


def test_inf_loss_names_epoch_and_step_and_terminate_on_nan_alone():
    x, y = _blobs(48)
    x[20] = np.inf                      # the second batch of 16 (no shuffling), epoch 1
    model = Sequential([Dense(3, activation='softmax', input_shape=(20,))])
    model.compile('sgd', 'sparse_categorical_crossentropy')
    with pytest.warns(RuntimeWarning, match=r'the loss became nan at epoch 1, step 2/3'):
        h = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert 'epoch 1, step 2/3' in model.stop_reason and h.epoch == [] and h.diverged['step'] == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # TerminateOnNaN on its own: any non-finite batch loss stops training
    for bad in (math.nan, math.inf, -math.inf):
        term = cbs.TerminateOnNaN()
        term.set_model(model)
        model.stop_training = False
        term.on_batch_end(0, {'loss': 1.0})
        assert not model.stop_training
        term.on_batch_end(1, {'loss': bad})
        assert model.stop_training


@pytest.mark.parametrize('backend', ['c', 'numpy'])
@pytest.mark.parametrize('dtype, big', [('float32', 1e36), ('float64', 1e300)])
def test_extreme_logits_give_finite_losses_and_gradients(backend, dtype, big):
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 1.0]], dtype=dtype)
    with cnet.use_backend(backend):
        for loss in ('sparse_categorical_crossentropy', 'categorical_crossentropy'):
            model = Sequential([Dense(3, activation='softmax', input_shape=(2,))], dtype=dtype)
            model.compile('sgd', loss)
            model.layers[0].set_weights([np.array([[big, -big, 0.0], [-big, big, big]]), np.zeros(3)])
            labels = np.array([1, 0, 2, 0])             # mostly the least likely class
            y = labels if loss.startswith('sparse') else np.eye(3, dtype=dtype)[labels]
            value = model.evaluate(x, y, verbose=0)
            assert math.isfinite(value) and value > 0
            grads = model.gradient(x, y)
            assert all(np.isfinite(g).all() for g in grads.values())
            probs = model.predict(x)
            assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1)
            assert math.isfinite(model.train_on_batch(x, y))
    # the Keras functions clip probabilities: log(0) cannot happen
    from cnet import losses
    p = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    assert np.isfinite(losses.categorical_crossentropy(t, p)).all()
    assert np.isfinite(losses.sparse_categorical_crossentropy(np.array([1, 0]), p)).all()
    assert np.isfinite(losses.binary_crossentropy(t, p)).all()


def test_complex_and_string_inputs_are_refused_not_truncated():
    model = _mlp()
    for x in (np.ones((4, 20), np.complex64), np.full((4, 20), 'a')):
        with pytest.raises(TypeError, match='inputs must be numeric'):
            model.predict(x)
    np.testing.assert_array_equal(model.predict(np.ones((2, 20), object)), model.predict(np.ones((2, 20))))
    for odd in (None, "1"):     # an object array holding something else than numbers: not NaN, not parsed
        x = np.ones((2, 20), object)
        x[1, 3] = odd
        with pytest.raises(TypeError, match='inputs must be numeric'):
            model.predict(x)


# ---- every argument is honoured or refused by name -----------------------------------------------

def _compiled(metrics=('accuracy',)):
    cnet.set_seed(0)
    model = _mlp()
    model.compile('sgd', 'sparse_categorical_crossentropy', list(metrics))
    return model


def test_evaluate_steps():
    x, y = _blobs(100)
    model = _compiled()
    assert model.evaluate(x, y, batch_size=10, steps=2, verbose=0) == \
        pytest.approx(model.evaluate(x[:20], y[:20], verbose=0))
    assert model.evaluate(x, y, batch_size=30, steps=9, verbose=0) == \
        pytest.approx(model.evaluate(x, y, verbose=0))          # more steps than batches: every sample
    for bad in (0, -1, -1.5, True, "2"):
        with pytest.raises(ValueError, match='steps must be a positive number of batches'):
            model.evaluate(x, y, verbose=0, steps=bad)


def test_evaluate_return_dict():
    x, y = _blobs(100)
    model = _compiled()
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert isinstance(d, dict) and list(d) == ['loss', 'accuracy']
    assert [d['loss'], d['accuracy']] == pytest.approx(model.evaluate(x, y, verbose=0))
    assert list(_compiled(metrics=()).evaluate(x, y, verbose=0, return_dict=True)) == ['loss']


def test_evaluate_refuses_unknown_arguments():
    x, y = _blobs(100)
    model = _compiled()
    with pytest.raises(TypeError, match='callbacks'):
        model.evaluate(x, y, verbose=0, callbacks=[])


def test_predict_steps():
    x, _ = _blobs(50)
    model = _compiled()
    p = model.predict(x, batch_size=8, steps=3)
    assert p.shape == (24, 3)
    np.testing.assert_array_equal(p, model.predict(x[:24], batch_size=8))
    assert model.predict(x, batch_size=8, steps=100).shape == (50, 3)
    with pytest.raises(ValueError, match='steps must be a positive number of batches'):
        model.predict(x, steps=0)


def test_fit_validation_freq():
    x, y = _blobs(120)
    model = _compiled()
    h = model.fit(x, y, epochs=4, verbose=0, validation_split=0.25, validation_freq=2)
    assert len(h.history['loss']) == 4 and len(h.history['val_loss']) == 2
    assert h.history['val_loss'][-1] == pytest.approx(model.evaluate(x[90:], y[90:], verbose=0)[0])
    seen = []

    class Record(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, 'val_loss' in logs))
    model.fit(x, y, epochs=4, verbose=0, validation_data=(x[:30], y[:30]), validation_freq=[1, 3],
              callbacks=[Record()])
    assert seen == [(0, True), (1, False), (2, True), (3, False)]
    for bad in (0, 1.5, 'each', [0, 2]):
        with pytest.raises(ValueError, match='validation_freq'):
            model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, validation_freq=bad)


def test_fit_validation_steps():
    x, y = _blobs(120)
    model = _compiled()
    h = model.fit(x, y, epochs=1, batch_size=10, verbose=0, validation_data=(x, y), validation_steps=2)
    assert h.history['val_loss'][0] == pytest.approx(model.evaluate(x[:20], y[:20], verbose=0)[0])


def test_fit_refuses_generator_options():
    x, y = _blobs(40)
    model = _compiled()
    for kwargs, match in (({'workers': 4}, 'workers=4 applies to a generator or a cnet.utils.Sequence'),
                          ({'use_multiprocessing': True}, 'use_multiprocessing=True is not supported'),
                          ({'max_queue_size': 2}, 'max_queue_size=2 applies to a generator')):
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, verbose=0, **kwargs)
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0, workers=1, use_multiprocessing=False, max_queue_size=10)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(TypeError, match='no_such_option'):
        model.fit(x, y, verbose=0, no_such_option=1)


def test_fit_validation_data_with_or_without_sample_weights():
    x, y = _blobs(40)
    model = _compiled()
    h = model.fit(x, y, verbose=0, validation_data=(x, y, None))   # no weights: as (x, y)
    assert h.history['val_loss'][0] == pytest.approx(model.evaluate(x, y, verbose=0)[0])
    w = np.linspace(0.0, 2.0, len(x))
    h = model.fit(x, y, verbose=0, validation_data=(x, y, w))
    assert h.history['val_loss'][0] == pytest.approx(model.evaluate(x, y, verbose=0, sample_weight=w)[0])


def test_save_and_save_weights_with_overwrite_false(tmp_path):
    model = _compiled()
    for save in (model.save, model.save_weights):
        path = tmp_path / f'{save.__name__}.cnet.npz'
        save(str(path), overwrite=False)                      # a new file: written
        before = path.read_bytes()
        model.layers[0].params['W'] += 1.0
        with pytest.raises(FileExistsError, match=f'{path.name} exists and overwrite=False'):
            save(str(path), overwrite=False)
        assert path.read_bytes() == before                    # left as it was
        save(str(path))                                       # the default overwrites, as Keras
        assert path.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['save.cnet.npz', 'save_weights.cnet.npz']


def test_load_weights_by_name(tmp_path):
    cnet.set_seed(1)
    source = Sequential([Dense(8, activation='relu', input_shape=(20,), name='hidden'),
                         Dense(3, activation='softmax', name='old_head')])
    source.save_weights(str(tmp_path / 'w.npz'))
    # a new head (other name, other size) over the same hidden layer, and a layer the file lacks
    target = Sequential([Dense(8, activation='relu', input_shape=(20,), name='hidden'),
                         Dense(5, activation='relu', name='extra'), Dense(2, activation='softmax', name='head')])
    extra, head = target.layers[1].get_weights(), target.layers[2].get_weights()
    with pytest.raises(ValueError, match='holds weights for 2 layers but the model has 3'):
        target.load_weights(str(tmp_path / 'w.npz'))
    target.load_weights(str(tmp_path / 'w.npz'), by_name=True)
    for a, b in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for layer, kept in ((target.layers[1], extra), (target.layers[2], head)):
        for a, b in zip(layer.get_weights(), kept):
            np.testing.assert_array_equal(a, b)
    x, _ = _blobs(4)
    np.testing.assert_array_equal(target.layers[0].forward(x, train=False), source.layers[0].forward(x, train=False))
    # a layer of the same name with other shapes is an error, as in Keras
    clash = Sequential([Dense(8, input_shape=(20,), name='hidden'), Dense(4, name='old_head')])
    with pytest.raises(ValueError, match=r"'layers/1/0'.*old_head.*shape \(8, 3\), expected \(8, 4\)"):
        clash.load_weights(str(tmp_path / 'w.npz'), by_name=True)
