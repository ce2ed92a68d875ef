"""Model files: round trips, resuming, and refusal of malicious, truncated or mismatched files."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import cnet
from cnet import saving
from cnet.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential, load_model

CALLS = []


def _record(*args):   # what a malicious pickle would call: must never run
    CALLS.append(args)
    return args


class _Evil:
    def __reduce__(self):
        return (_record, ("pwned",))


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, n)


def _model(dropout=True):
    cnet.set_seed(0)
    layers = [Conv2D(4, 3, activation='relu', input_shape=(1, 8, 8)), BatchNormalization(), MaxPooling2D(),
              Flatten()]
    layers += [Dropout(0.3)] if dropout else []
    layers += [Dense(3, activation='softmax')]
    model = Sequential(layers, name='saved')
    model.compile('adam', 'sparse_categorical_crossentropy', ['accuracy'])
    return model


@pytest.fixture
def trained(tmp_path):
    x, y = _data()
    model = _model(dropout=False)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / 'model.cnet.npz'
    model.save(str(path))
    return model, path, x, y


def test_round_trip_identical_predictions_compile_and_optimizer_state(trained):
    model, path, x, y = trained
    loaded = load_model(str(path))
    np.testing.assert_array_equal(model.predict(x), loaded.predict(x))
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]
    assert [a.name for a in loaded.layers] == [a.name for a in model.layers]
    assert loaded.metrics_names == ['loss', 'accuracy'] and type(loaded.optimizer).__name__ == 'Adam'
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    # resuming gives exactly the same training (the Adam moments came back)
    h1 = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    h2 = loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert h1.history['loss'] == h2.history['loss']
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_is_plain_npz_data(trained):
    _, path, _, _ = trained
    with np.load(str(path), allow_pickle=False) as f:
        header = json.loads(f['__model__.json'].decode('utf-8'))
        assert header['format'] == 'cnet-model' and header['format_version'] == 1
        assert header['model']['config']['layers'][0]['class_name'] == 'Conv2D'
        assert f['layers/0/0'].shape == (4, 1, 3, 3)
        assert header['compile']['loss'] == 'sparse_categorical_crossentropy'
    with zipfile.ZipFile(str(path)) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())


def test_weights_only_and_model_with_dropout(tmp_path):
    x, _ = _data()
    model = _model()
    model.save_weights(str(tmp_path / 'w.npz'))
    other = _model()
    other.load_weights(str(tmp_path / 'w.npz'))
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    with pytest.raises(ValueError, match="holds 'weights' data"):
        load_model(str(tmp_path / 'w.npz'))
    model.save(str(tmp_path / 'm.model'))   # any extension but .h5/.hdf5 (Keras's HDF5): the exact path
    np.testing.assert_array_equal(load_model(str(tmp_path / 'm.model')).predict(x), model.predict(x))
    assert sorted(os.listdir(tmp_path)) == ['m.model', 'w.npz']   # no temporary files left


def _rewrite(src, dst, header=None, drop=(), replace=None):
    """Copy a model file, optionally changing its JSON header, dropping or replacing members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            if info.filename == '__model__.json' and header is not None:
                h = json.loads(data)
                header(h)
                data = json.dumps(h).encode()
            if replace and info.filename in replace:
                data = replace[info.filename]
            zout.writestr(info.filename, data)


def _npy_bytes(arr, allow_pickle=False):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_object_array_is_refused_without_unpickling(trained, tmp_path):
    _, path, _, _ = trained
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil()
    bad = tmp_path / 'evil.npz'
    _rewrite(str(path), str(bad), replace={'layers/0/0.npy': _npy_bytes(evil, allow_pickle=True)})
    CALLS.clear()
    with pytest.raises(ValueError, match='object array'):
        load_model(str(bad))
    assert CALLS == []
    # a raw pickle renamed as a model file is refused too
    raw = tmp_path / 'raw.npz'
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError, match='not a cnet model file'):
        load_model(str(raw))
    assert CALLS == []


def test_unknown_layer_class_is_named(trained, tmp_path):
    _, path, _, _ = trained

    def rename(h):
        h['model']['config']['layers'][1]['class_name'] = 'os.system'
    bad = tmp_path / 'unknown.npz'
    _rewrite(str(path), str(bad), header=rename)
    with pytest.raises(ValueError, match=r"layer 1: unknown layer class 'os.system'"):
        load_model(str(bad))


@pytest.mark.parametrize('case, message', [
    ('newer', 'newer cnet'),
    ('format', 'unknown format'),
    ('missing', r"missing array 'layers/0/1'"),
    ('shape', r'has shape \(4, 1, 3, 3\), expected \(4, 1, 5, 5\)'),
    ('nojson', 'no __model__.json'),
    ('badjson', 'not valid JSON'),
    ('config', 'invalid config'),
])
def test_mismatched_files_raise_clear_value_errors(trained, tmp_path, case, message):
    _, path, _, _ = trained
    bad = str(tmp_path / 'bad.npz')
    if case == 'newer':
        _rewrite(str(path), bad, header=lambda h: h.update(format_version=99))
    elif case == 'format':
        _rewrite(str(path), bad, header=lambda h: h.update(format='keras-h5'))
    elif case == 'missing':
        _rewrite(str(path), bad, drop=('layers/0/1.npy',))
    elif case == 'shape':
        _rewrite(str(path), bad, header=lambda h: h['model']['config']['layers'][0]['config']
                 .update(kernel_size=[5, 5], input_shape=[1, 8, 8]))
    elif case == 'nojson':
        _rewrite(str(path), bad, drop=('__model__.json',))
    elif case == 'badjson':
        _rewrite(str(path), bad, replace={'__model__.json': b'{"format": '})
    elif case == 'config':
        _rewrite(str(path), bad, header=lambda h: h['model']['config']['layers'][0]['config']
                 .update(no_such_argument=1))
    with pytest.raises(ValueError, match=message):
        load_model(bad)


@pytest.mark.parametrize('fraction', [0.0, 0.3, 0.6, 0.95])
def test_truncated_files_raise_value_error(trained, tmp_path, fraction):
    _, path, _, _ = trained
    data = path.read_bytes()
    bad = tmp_path / 'cut.npz'
    bad.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ValueError):
        load_model(str(bad))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(str(tmp_path / 'nope.npz'))


def test_save_is_atomic_when_interrupted(trained, tmp_path, monkeypatch):
    model, path, x, _ = trained
    before = path.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt('power cut')
        return real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, 'write_array', crash)
    model.layers[-1].params['W'] += 1.0
    with pytest.raises(KeyboardInterrupt):
        model.save(str(path))
    monkeypatch.setattr(np.lib.format, 'write_array', real)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['model.cnet.npz']
    load_model(str(path))


def test_float64_model_round_trip(tmp_path):
    model = Sequential([Dense(4, activation='relu', input_shape=(3,)), Dense(2, activation='softmax')],
                       dtype='float64')
    model.compile('sgd', 'categorical_crossentropy', ['acc'])
    model.save(str(tmp_path / 'f64.npz'))
    loaded = load_model(str(tmp_path / 'f64.npz'))
    assert loaded.dtype == np.float64 and all(w.dtype == np.float64 for w in loaded.get_weights())
    assert loaded.metrics_names == ['loss', 'acc']
    x = np.random.default_rng(0).random((5, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_params_files(tmp_path):
    params = {'W1': np.arange(6.0).reshape(2, 3), 'b1': np.zeros(3, np.float32)}
    saving.save_params(str(tmp_path / 'p.npz'), params, network='Toy')
    back = saving.load_params(str(tmp_path / 'p.npz'), expected=params)
    np.testing.assert_array_equal(back['W1'], params['W1'])
    with pytest.raises(ValueError, match="parameter 'W1' is not a parameter"):
        saving.load_params(str(tmp_path / 'p.npz'), expected={'W2': params['W1'], 'b1': params['b1']})
    with pytest.raises(ValueError, match='has shape'):
        saving.load_params(str(tmp_path / 'p.npz'), expected={'W1': np.zeros((3, 2)), 'b1': params['b1']})


class _OpensAFile:
    """Unpickling this creates the file `path` (what a hostile model file would try)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.mark.parametrize('where', ['weights', 'optimizer', 'header', 'whole'])
def test_a_file_crafted_to_run_code_runs_nothing(trained, tmp_path, where):
    _, path, _, _ = trained
    marker = tmp_path / 'pwned'
    evil = np.empty(2, dtype=object)
    evil[:] = [_OpensAFile(str(marker)), 1]
    payload = _npy_bytes(evil, allow_pickle=True)
    bad = tmp_path / 'evil.npz'
    if where == 'weights':
        _rewrite(str(path), str(bad), replace={'layers/0/0.npy': payload})
    elif where == 'optimizer':
        with zipfile.ZipFile(str(path)) as z:
            member = sorted(n for n in z.namelist() if n.startswith('optimizer/'))[0]
        _rewrite(str(path), str(bad), replace={member: payload})
    elif where == 'header':
        _rewrite(str(path), str(bad), replace={'__model__.json': pickle.dumps(_OpensAFile(str(marker)))})
    else:
        bad.write_bytes(pickle.dumps(_OpensAFile(str(marker))))
    for load in (load_model, lambda p: _model(dropout=False).load_weights(p), saving.read_header):
        try:
            load(str(bad))
        except ValueError as exc:
            assert str(bad) in str(exc)
        assert not marker.exists()
    with pytest.raises(ValueError, match='object array|not valid JSON|not a cnet model file'):
        load_model(str(bad))
    assert not marker.exists()


@pytest.mark.parametrize('offset', [0.3, 0.7])
def test_flipped_bytes_in_an_array_are_detected(trained, tmp_path, offset):
    _, path, _, _ = trained
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(str(path)) as z:
        info = max((i for i in z.infolist() if i.filename.endswith('.npy')), key=lambda i: i.file_size)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 128
    pos = start + int((info.file_size - 128) * offset)
    data[pos] ^= 0xFF
    bad = tmp_path / 'flipped.npz'
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt.*Bad CRC-32 for file '%s'" % info.filename):
        load_model(str(bad))


_KILLED_WRITER = r'''
import sys, time
import numpy as np
import cnet
from cnet.layers import Dense
from cnet.models import Sequential
cnet.set_seed(0)
model = Sequential([Dense(1500, input_shape=(1500,)), Dense(1500), Dense(10, activation="softmax")])
model.compile("adam", "categorical_crossentropy")
model.save(sys.argv[1])
print("SAVED", flush=True)
real = np.lib.format.write_array
calls = []
def slow(*args, **kwargs):
    real(*args, **kwargs)
    calls.append(1)
    if len(calls) == 2:
        print("WRITING", flush=True)
        time.sleep(60)
np.lib.format.write_array = slow
for layer in model.layers:
    layer.params["W"] += 1.0
model.save(sys.argv[1])
print("NOT KILLED", flush=True)
'''


def test_save_killed_by_sigkill_leaves_the_previous_file(tmp_path):
    import signal
    import subprocess
    import sys
    path = tmp_path / 'big.cnet.npz'
    proc = subprocess.Popen([sys.executable, '-c', _KILLED_WRITER, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'SAVED'
        before = path.read_bytes()
        assert proc.stdout.readline().strip() == 'WRITING'     # the second save is half written
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    model = load_model(str(path))
    assert model.count_params() == 1500 * 1501 * 2 + 1501 * 10
    # the only other file is the killed writer's temporary file, which no loader picks up ...
    others = [p.name for p in tmp_path.iterdir() if p != path]
    assert others and all(n.startswith('.big.cnet.npz.') and n.endswith('.tmp') for n in others)
    # ... and which the next save to that name removes
    model.save(str(path))
    assert [p.name for p in tmp_path.iterdir()] == ['big.cnet.npz']


def test_temporaries_of_killed_saves_are_removed(tmp_path):
    """A save killed before its rename leaves .<name>.<pid>.*.tmp (the model file itself untouched);
    the next save to that name removes it, but not a temporary whose process is alive (saving now)."""
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(dead.stdout)
    model, (x, _) = _model(dropout=False), _data()
    path = tmp_path / "m.npz"
    model.save(str(path))
    stale = tmp_path / f".m.npz.{dead_pid}.abc123.tmp"
    live = tmp_path / f".m.npz.{os.getppid()}.def456.tmp"
    other = tmp_path / f".other.npz.{dead_pid}.x.tmp"
    for f in (stale, live, other):
        f.write_bytes(b"partial")
    model.save(str(path))
    assert not stale.exists() and live.exists() and other.exists()
    np.testing.assert_array_equal(load_model(str(path)).predict(x), model.predict(x))


@pytest.mark.parametrize("make", [lambda: cnet.losses.CategoricalCrossentropy(from_logits=True),
                                  lambda: cnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  lambda: cnet.losses.SoftmaxCrossEntropy()],
                         ids=["categorical", "sparse", "softmax_crossentropy"])
def test_losses_of_logits_come_back(tmp_path, make):
    """A model trained on logits loads with the same loss: from_logits was lost (the loaded model took its
    logits for probabilities, another loss), and SoftmaxCrossEntropy's name was unknown to load_model."""
    rng = np.random.default_rng(2)
    x, labels = rng.random((8, 3)), np.array([0, 1, 2, 0, 1, 2, 0, 1])
    y = labels if "Sparse" in type(make()).__name__ else np.eye(3)[labels]
    model = Sequential([Dense(3, input_shape=(3,))])        # no softmax: logits
    model.compile("sgd", make())
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.cnet")
    loaded = load_model(tmp_path / "m.cnet")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-12)
    assert cnet.losses.get(make().name).get_config() == make().get_config()


@pytest.mark.parametrize("ext", ["cnet", "h5"])
def test_load_model_custom_objects(tmp_path, ext):
    """load_model(path, custom_objects={...}) as in Keras: a custom metric function (and a Loss) named by the
    saved compile configuration comes back; it was refused whatever it held."""
    if ext == "h5":
        pytest.importorskip("h5py")

    def top2(y_true, y_pred):
        return cnet.metrics.top_k_categorical_accuracy(y_true, y_pred, k=2)

    rng = np.random.default_rng(3)
    x, y = rng.random((8, 3)), np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]
    model = Sequential([Dense(3, activation="softmax", input_shape=(3,))])
    model.compile("sgd", "categorical_crossentropy", metrics=[top2])
    path = tmp_path / f"m.{ext}"
    model.save(path)
    with pytest.raises(ValueError, match="unknown metric 'top2'.*compile=False"):
        load_model(path)
    loaded = load_model(path, custom_objects={"top2": top2, "Dense": Dense})
    assert loaded.metrics_names == ["loss", "top2"]
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-12)
    with pytest.raises(ValueError, match="by its class name"):
        load_model(path, custom_objects={"MyDense": Dense})
    with pytest.raises(ValueError, match=r"custom_objects\['n'\]"):
        load_model(path, custom_objects={"n": 3})
