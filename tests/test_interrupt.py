"""Ctrl-C during fit: training stops after the current step, the model stays usable, History holds
what was done, the last checkpoint is valid; a second Ctrl-C raises KeyboardInterrupt at once."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import cnet
from cnet.callbacks import Callback, ModelCheckpoint
from cnet.layers import Dense, Dropout
from cnet.models import Sequential, load_model

CHILD = textwrap.dedent("""
    import json, signal, sys, time
    # A shell that starts jobs in the background makes them ignore SIGINT; Ctrl-C handling is tested
    # with Python's ordinary handler in place.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import cnet
    from cnet.callbacks import Callback, ModelCheckpoint
    from cnet.layers import Dense, Dropout
    from cnet.models import Sequential, load_model

    class Pace(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                print("EPOCH2", flush=True)
        def on_batch_end(self, batch, logs=None):
            self.last = batch
            time.sleep(0.02)          # so that the signal lands inside epoch 2

    cnet.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 20)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = Sequential([Dense(32, activation="relu", input_shape=(20,)), Dropout(0.2),
                        Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    ckpt = sys.argv[1]
    pace = Pace()
    hist = model.fit(x, y, batch_size=4, epochs=5, verbose=0, seed=1,
                     callbacks=[ModelCheckpoint(ckpt), pace])
    after = model.predict(x[:8])
    state, reason = model.training_state, model.stop_reason
    model.fit(x, y, batch_size=100, epochs=1, verbose=0)      # still trainable
    saved = load_model(ckpt)
    print(json.dumps({"epochs": hist.epoch, "interrupted": dict(hist.interrupted or {}, logs=None),
                      "reason": reason, "finite": bool(np.isfinite(after).all()),
                      "ckpt_epoch": saved.training_state["epoch"], "last_batch": pace.last,
                      "state": state, "loss": hist.history["loss"]}), flush=True)
    # the handler is gone after fit: a Ctrl-C now is an ordinary KeyboardInterrupt
    try:
        import os, signal
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
        print("NO-INTERRUPT", flush=True)
    except KeyboardInterrupt:
        print("KEYBOARD-INTERRUPT", flush=True)
""")


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    """Python's ordinary Ctrl-C handler, as in an interactive session (a shell that starts the test run
    in the background makes it ignore SIGINT, and fit leaves a non-default handler alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_sigint_from_outside_stops_fit_cleanly(tmp_path):
    ckpt = str(tmp_path / "ckpt.npz")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, ckpt], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "EPOCH2", line + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = out.strip().splitlines()
    result = json.loads(lines[0])
    assert result["epochs"] == [0] and len(result["loss"]) == 1            # only the completed epoch
    assert result["interrupted"]["epoch"] == 1
    assert 1 <= result["interrupted"]["step"] < 100                       # stopped inside epoch 2
    assert result["interrupted"]["step"] == result["last_batch"] + 1      # right after that step
    assert result["state"] == {"epoch": 1, "step": 100 + result["interrupted"]["step"],
                               "epoch_step": result["interrupted"]["step"]}
    assert "interrupted (SIGINT) at epoch 2" in result["reason"]
    assert result["finite"] and result["ckpt_epoch"] == 1
    assert "interrupted (SIGINT)" in err                                  # the RuntimeWarning
    assert lines[1] == "KEYBOARD-INTERRUPT"


def _model(optimizer="sgd"):
    cnet.set_seed(0)
    model = Sequential([Dense(8, activation="relu", input_shape=(5,)), Dropout(0.3),
                        Dense(3, activation="softmax")])
    model.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])
    return model


class _SelfSigint(Callback):
    """Sends `signum` (SIGINT) to this process after `at` batches in all, counting from 1 (twice in a row
    with twice=True)."""

    def __init__(self, at, twice=False, signum=signal.SIGINT):
        super().__init__()
        self.at, self.twice, self.n, self.signum = at, twice, 0, signum

    def on_batch_end(self, batch, logs=None):
        self.n += 1
        if self.n == self.at:
            os.kill(os.getpid(), self.signum)
            if self.twice:
                os.kill(os.getpid(), self.signum)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_sigint_in_process_then_checkpoint_resumes(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 5)).astype(np.float32), rng.integers(0, 3, 40)
    model = _model()
    ckpt = str(tmp_path / "c.npz")
    with pytest.warns(RuntimeWarning, match=r"interrupted \(SIGINT\) at epoch 2, step 3/4"):
        hist = model.fit(x, y, batch_size=10, epochs=4, verbose=0,
                         callbacks=[ModelCheckpoint(ckpt), _SelfSigint(7)])
    assert hist.epoch == [0] and hist.interrupted["step"] == 3 and model.stop_training
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler     # restored
    assert load_model(ckpt).training_state == {"epoch": 1, "step": 4, "epoch_step": 0}
    assert model.evaluate(x, y, verbose=0)[0] > 0
    # a second Ctrl-C while stopping is not swallowed
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, batch_size=1, epochs=1, verbose=0, callbacks=[_SelfSigint(2, twice=True)])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_user_sigint_handler_is_left_alone():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 5)).astype(np.float32), rng.integers(0, 3, 20)
    seen = []
    previous = signal.signal(signal.SIGINT, lambda s, f: seen.append(s))
    try:
        hist = _model().fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[_SelfSigint(1)])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIGINT] and hist.epoch == [0, 1] and hist.interrupted is None
