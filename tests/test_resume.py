"""Training survives interruption: a run stopped after epoch k and resumed from its checkpoint ends
bit-identical to one never interrupted (weights, optimizer state, shuffling and dropout masks)."""
import os

import numpy as np
import pytest

import cnet
from cnet import saving
from cnet.callbacks import ModelCheckpoint
from cnet.layers import Dense, Dropout
from cnet.models import Sequential, load_model

MNIST = "/work/shared/datasets/mnist"


def _data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    return x, (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1)


def _model(optimizer="adam"):
    cnet.backend.clear_session()   # same layer names in every run
    cnet.set_seed(7)   # weights and the Dropout layers' seeds (drawn on their first training call)
    model = Sequential([Dense(16, activation="relu", input_shape=(12,)), Dropout(0.4),
                        Dense(8, activation="tanh"), Dropout(0.3), Dense(3, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
    return model


def _fit(model, path, epochs, initial_epoch=0):
    x, y = _data()
    return model.fit(x, y, batch_size=16, epochs=epochs, initial_epoch=initial_epoch, verbose=0, seed=3,
                     callbacks=[ModelCheckpoint(path)])


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for u, v in zip(wa, wb):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_interrupted_after_epoch_1_and_resumed_is_bit_identical(tmp_path, optimizer):
    full = _model(optimizer)
    hist_full = _fit(full, str(tmp_path / "full.npz"), 3)

    part = _model(optimizer)
    ckpt = str(tmp_path / "ckpt.npz")
    _fit(part, ckpt, 1)                      # "interrupted" after epoch 1
    del part
    resumed = load_model(ckpt)
    assert resumed.training_state == {"epoch": 1, "step": 6, "epoch_step": 0}
    hist = _fit(resumed, ckpt, 3, initial_epoch=resumed.training_state["epoch"])

    _same_weights(full, resumed)
    assert resumed.optimizer.iterations == full.optimizer.iterations == 18
    for k, v in full.optimizer.get_state().items():
        np.testing.assert_array_equal(v, resumed.optimizer.get_state()[k])
    assert hist.epoch == [1, 2]
    assert hist.history["loss"] == hist_full.history["loss"][1:]
    assert [lay.step for lay in resumed.layers if isinstance(lay, Dropout)] == \
        [lay.step for lay in full.layers if isinstance(lay, Dropout)]
    # the checkpoint of the resumed run and of the full run hold the same thing
    assert load_model(ckpt).training_state == full.training_state
    _same_weights(load_model(ckpt), load_model(str(tmp_path / "full.npz")))


def test_resume_from_any_epoch_of_a_run(tmp_path):
    full = _model()
    x, y = _data()
    full.fit(x, y, batch_size=16, epochs=3, verbose=0, seed=3,
             callbacks=[ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    for k in (1, 2):
        m = load_model(str(tmp_path / f"e{k}.npz"))
        m.fit(x, y, batch_size=16, epochs=3, initial_epoch=k, verbose=0, seed=12345)  # the seed is moot
        _same_weights(full, m)


def test_training_state_in_the_file_and_its_validation(tmp_path):
    model = _model()
    path = str(tmp_path / "m.npz")
    _fit(model, path, 1)
    header = saving.read_header(path)
    state = header["training_state"]
    assert state["epoch"] == 1 and state["step"] == 6 and state["shuffle_rng"]["bit_generator"] == "PCG64"
    assert [d["layer"] for d in state["dropout"]] == [1, 3] and all(d["step"] == 6 for d in state["dropout"])

    import json
    import zipfile

    def rewrite(change):
        bad = str(tmp_path / "bad.npz")
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == saving.HEADER:
                    h = json.loads(data)
                    change(h["training_state"])
                    data = json.dumps(h).encode()
                zout.writestr(info.filename, data)
        return bad

    cases = [(lambda s: s.update(epoch=-1), "'epoch' must be an integer"),
             (lambda s: s["shuffle_rng"].update(bit_generator="os.system"), "unknown shuffling generator"),
             (lambda s: s["shuffle_rng"].update(state="x"), "invalid PCG64 generator state"),
             (lambda s: s["dropout"][0].update(layer=0), "names no Dropout layer"),
             (lambda s: s["dropout"][0].update(step="1"), "invalid dropout seed/step")]
    for change, message in cases:
        with pytest.raises(ValueError, match="cannot restore the training state: .*" + message):
            load_model(rewrite(change))
    # files without a training state (older files) still load, and train from epoch 0 state
    m = load_model(rewrite(lambda s: s.clear()))
    assert m.training_state == {"epoch": 0, "step": 0, "epoch_step": 0}


@pytest.mark.skipif(not os.path.isdir(MNIST), reason="the MNIST files are not at " + MNIST)
def test_cnet_train_resume_is_bit_identical(tmp_path, monkeypatch, capsys):
    from cnet import train
    monkeypatch.setenv("CNET_DATA", os.path.dirname(MNIST))
    common = ["--model", "cnn", "--limit", "160", "--test-limit", "50", "--batch-size", "40",
              "--threads", "1", "--verbose", "0", "--seed", "5"]
    previous = cnet.get_num_threads()
    try:
        full = str(tmp_path / "full.npz")
        assert train.main(common + ["--epochs", "3", "--out", full]) == 0
        ckpt, out = str(tmp_path / "ckpt.npz"), str(tmp_path / "resumed.npz")
        assert train.main(common + ["--epochs", "1", "--resume", ckpt, "--out", "none"]) == 0
        assert load_model(ckpt).training_state["epoch"] == 1
        assert train.main(common + ["--epochs", "3", "--resume", ckpt, "--out", out]) == 0
        assert "Resuming from" in capsys.readouterr().out
    finally:
        cnet.set_num_threads(previous)
        cnet.set_backend("c")
    _same_weights(load_model(full), load_model(out))
    assert load_model(ckpt).training_state["epoch"] == 3
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert train.main(common + ["--epochs", "1", "--resume", str(bad), "--out", "none"]) == 2
    assert "--resume" in capsys.readouterr().err
