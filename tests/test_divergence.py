"""Numbers that stop being numbers: set_weights refuses NaN/Inf; an update that leaves NaN/Inf in a weight,
an optimizer slot or a layer's statistics stops fit at that step with a message naming the layer and the
learning rate; a diverged model is never saved (over a good file or at all); the commands exit 3."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import cnet
from cnet import optimizers
from cnet.callbacks import Callback, ModelCheckpoint
from cnet.layers import BatchNormalization, Dense
from cnet.models import Sequential, load_model

MNIST = "/work/shared/datasets/mnist"
DATA = os.environ.get("CNET_DATA") or os.path.dirname(MNIST)
needs_mnist = pytest.mark.skipif(not os.path.isdir(os.path.join(DATA, "mnist")), reason="no MNIST files")


def test_set_weights_refuses_nan_and_inf():
    model = Sequential([Dense(3, input_shape=(4,), name="hidden"), Dense(2, name="top")])
    good = model.get_weights()
    for bad_value, word in ((np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "Inf")):
        weights = [w.copy() for w in good]
        weights[3][1] = bad_value
        with pytest.raises(ValueError, match=rf"^top: weight 1 \(b\) holds {word} values: weights must be finite"):
            model.set_weights(weights)
        with pytest.raises(ValueError, match=rf"hidden: weight 0 \(W\) holds {word} values"):
            model.layers[0].set_weights([np.full((4, 3), bad_value), good[1]])
    for now, before in zip(model.get_weights(), good):
        np.testing.assert_array_equal(now, before)                  # nothing was changed


@pytest.mark.parametrize("opt, watched", [
    (optimizers.Adam(), [("v", "w")]), (optimizers.RMSprop(), [("h", "w")]),
    (optimizers.Adagrad(), [("h", "w")]), (optimizers.Adadelta(), [("h", "w")])])
def test_a_second_moment_that_overflows_is_found_though_the_parameter_stays_finite(opt, watched):
    """The issue's Adam/RMSprop case: g*g overflows float32, the slot is Inf, the step is 0: the loss
    stays finite (1e14-1e32) and training went on for ever."""
    p = np.ones(4, np.float32)
    opt.update({"w": p}, {"w": np.ones(4, np.float32)})
    assert opt.nonfinite == []
    opt.update({"w": p}, {"w": np.array([1, 2, 1e30, 4], np.float32)})
    assert np.isfinite(p).all() and opt.nonfinite == watched


@pytest.mark.parametrize("opt", [optimizers.SGD(), optimizers.SGD(momentum=0.9), optimizers.Nesterov(),
                                 optimizers.Adam(), optimizers.RMSprop(), optimizers.Adadelta()])
def test_a_nan_gradient_is_found_in_the_parameter(opt):
    p = np.ones((2, 3))
    g = np.zeros((2, 3))
    g[1, 2] = np.nan
    opt.update({"a": np.ones(2), "w": p}, {"a": np.zeros(2), "w": g})
    assert (None, "w") in opt.nonfinite and all(key == "w" for _, key in opt.nonfinite)


def test_finite_values_whose_sum_overflows_are_not_flagged():
    """Values near the top of the float range (their sum overflows) are finite: no false alarm; an Inf
    among them is found."""
    opt = optimizers.SGD(learning_rate=0.0)
    big = np.full(8, 3e38, np.float32)
    opt.update({"w": big}, {"w": np.zeros(8, np.float32)})
    assert opt.nonfinite == []
    big[5] = -np.inf
    opt.update({"w": big}, {"w": np.zeros(8, np.float32)})
    assert opt.nonfinite == [(None, "w")]


def _mlp(optimizer):
    cnet.backend.clear_session()
    cnet.set_seed(0)
    model = Sequential([Dense(64, activation="relu", input_shape=(100,)), Dense(64, activation="relu"),
                        Dense(64, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
    return model


def _data(n=200):
    rng = np.random.default_rng(1)
    return rng.random((n, 100), dtype=np.float32), rng.integers(0, 3, n)


class _HugeLearningRate(Callback):
    """From epoch `at` (0-based) on, the learning rate is 1e6 (the issue's --lr 1e6)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            self.model.optimizer.learning_rate = 1e6


@pytest.mark.parametrize("optimizer, message", [
    ("adam", r"training diverged at epoch 2, step \d+/10: Adam's v for the weight \w of layer 'dense(_\d)?' "
             r"holds NaN or Inf values after the update; training stopped: lower the learning rate "
             r"\(now 1e\+06\), or check the inputs"),
    ("rmsprop", r"training diverged at epoch 2, step \d+/10: RMSprop's h for the weight"),
    ("sgd", r"the loss became (nan|inf) at epoch 2, step \d+/10; training stopped before that step's update: "
            r"lower the learning rate \(now 1e\+06\)")])
def test_divergence_stops_fit_and_never_replaces_a_good_checkpoint(tmp_path, optimizer, message):
    x, y = _data()
    model = _mlp(optimizer)
    ckpt = tmp_path / "ckpt.npz"
    with pytest.warns(RuntimeWarning, match="fit: " + message):
        hist = model.fit(x, y, batch_size=20, epochs=6, verbose=0, shuffle=False,
                         callbacks=[ModelCheckpoint(str(ckpt)), _HugeLearningRate(1)])
    assert hist.epoch == [0] and hist.diverged["epoch"] == 1 and model.stop_training
    good = ckpt.read_bytes()
    saved = load_model(str(ckpt))
    assert saved.training_state["epoch"] == 1 and all(np.isfinite(w).all() for w in saved.get_weights())
    if optimizer != "sgd":        # the update happened: the model in memory holds Inf/NaN, and is not saved
        with pytest.raises(ValueError, match=rf"^cannot save {ckpt}: .* holds NaN or Inf values \(training "
                                             r"diverged\?\); nothing was written"):
            model.save(str(ckpt))
        assert ckpt.read_bytes() == good
    assert [n for n in os.listdir(tmp_path)] == ["ckpt.npz"]


def test_non_finite_layer_statistics_are_found():
    """BatchNormalization's moving variance overflows while its output (x / sqrt(Inf) = 0) and the loss
    stay finite: only the statistics show it."""
    cnet.set_seed(0)
    model = Sequential([Dense(4, input_shape=(3,), kernel_initializer="ones"), BatchNormalization(),
                        Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.array([[1, -1, 0.1], [-1, 1, 0.3], [1, 1, 0]], np.float32) * 1e20
    with pytest.warns(RuntimeWarning, match=r"step 1/1: the moving_variance of layer 'batch_normalization\w*' "
                                            r"holds NaN or Inf values"):
        hist = model.fit(x, np.array([0, 1, 0]), batch_size=3, epochs=2, verbose=0)
    assert hist.diverged["step"] == 0 and not np.isfinite(model.layers[1].state["moving_variance"]).all()


def test_train_on_batch_warns():
    model = _mlp("adam")
    model.optimizer.learning_rate = 1e6
    x, y = _data(20)
    with pytest.warns(RuntimeWarning, match="train_on_batch: training diverged: .* lower the learning rate"):
        for _ in range(10):
            loss = model.train_on_batch(x, y)
            if isinstance(loss, list) and math.isnan(loss[0]):
                break


def test_save_params_refuses_nan(tmp_path):
    from cnet import saving
    with pytest.raises(ValueError, match=r"array 'params/1' holds NaN or Inf"):
        saving.save_params(str(tmp_path / "p.npz"), {"W1": np.ones(2), "b1": np.array([0.0, np.nan])})
    assert os.listdir(tmp_path) == []


def _train(*args, env=None):
    full = dict(os.environ, CNET_DATA=DATA, OMP_NUM_THREADS="1")
    full.pop("CNET_TRACEBACK", None)
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=full, timeout=300)


@needs_mnist
@pytest.mark.parametrize("how", [("cnet.train",), ("cnet", "train")])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_commands_exit_3_and_leave_out_and_the_checkpoint(tmp_path, how, optimizer):
    out, ckpt = tmp_path / "out.npz", tmp_path / "ckpt.npz"
    out.write_bytes(b"a good model")
    p = _train(*how, "--model", "mlp", "--optimizer", optimizer, "--lr", "1e6", "--epochs", "2", "--limit", "500",
               "--test-limit", "50", "--batch-size", "100", "--verbose", "0", "--out", out, "--resume", ckpt)
    prog = "cnet-train" if how == ("cnet.train",) else "cnet train"
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 3 and len(lines) == 1, p.stderr
    assert lines[0].startswith(f"{prog}: ") and "lower the learning rate (now 1e+06)" in lines[0]
    assert lines[0].endswith(f"No checkpoint was written; {out} was left as it was")
    assert out.read_bytes() == b"a good model" and not ckpt.exists() and "Test accuracy" not in p.stdout
