"""The signals a scheduler sends: SIGTERM (Slurm, Kubernetes, systemd, `timeout`) is treated as Ctrl-C's SIGINT
by fit (stop after the step) and by the commands (save the checkpoint, leave --out, exit 128 + signal:
130, 143); a run stopped inside an epoch resumes inside it, bit for bit. Real signals, sent to this process
from a callback or to a subprocess from outside."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from cnet import _training
from cnet._signals import StopRequest
from cnet.models import load_model
from test_interrupt import _model as _interrupt_model, _SelfSigint

MAIN = threading.current_thread() is threading.main_thread()
MNIST = "/work/shared/datasets/mnist"
needs_mnist = pytest.mark.skipif(not os.path.isdir(os.environ.get("CNET_DATA", "") + "/mnist")
                                 and not os.path.isdir(MNIST), reason="the MNIST files are not available")


@pytest.fixture(autouse=True)
def _python_handlers():
    """Python's own handlers, as in a terminal session (a background job inherits SIGINT ignored)."""
    if not MAIN:
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler), signal.signal(signal.SIGTERM,
                                                                                       signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _data(n=60):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 5)).astype(np.float32), rng.integers(0, 3, n)


def _model():
    return _interrupt_model("adam")


def _same(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.mark.skipif(not MAIN, reason="signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("at", [3, 6, 8, 12])    # inside epoch 1, at its end, inside epoch 2, at its end
def test_a_signal_stops_fit_and_the_saved_state_resumes_bit_for_bit(tmp_path, signum, at):
    x, y = _data()
    full = _model()
    hist_full = full.fit(x, y, batch_size=10, epochs=3, verbose=0, seed=1)     # 6 steps per epoch

    part = _model()
    with pytest.warns(RuntimeWarning, match=rf"interrupted \({signal.Signals(signum).name}\) at epoch"):
        hist = part.fit(x, y, batch_size=10, epochs=3, verbose=0, seed=1, callbacks=[_SelfSigint(at, signum=signum)])
    epoch = (at - 1) // 6
    step = at - 6 * epoch                     # 6: after an epoch's last step, before its end callbacks
    assert hist.interrupted["signal"] == signal.Signals(signum).name
    assert (hist.interrupted["epoch"], hist.interrupted["step"]) == (epoch, step)
    assert part.training_state == {"epoch": epoch, "step": at, "epoch_step": step}
    assert hist.epoch == list(range(epoch)) and part.stop_training
    # the handlers are Python's again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    ckpt = str(tmp_path / "stopped.npz")
    part.save(ckpt)
    resumed = load_model(ckpt)
    assert resumed.training_state == part.training_state
    hist2 = resumed.fit(x, y, batch_size=10, epochs=3, verbose=0, initial_epoch=resumed.training_state["epoch"])
    _same(full, resumed)
    assert resumed.optimizer.iterations == full.optimizer.iterations == 18
    assert hist2.epoch == list(range(epoch, 3))
    assert hist2.history["loss"] == hist_full.history["loss"][epoch:]      # the resumed epoch's logs too


@pytest.mark.skipif(not MAIN, reason="signals")
def test_resuming_inside_an_epoch_needs_its_batch_size(tmp_path):
    x, y = _data()
    model = _model()
    with pytest.warns(RuntimeWarning):
        model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[_SelfSigint(2, signum=signal.SIGTERM)])
    model.save(str(tmp_path / "m.npz"))
    with pytest.raises(ValueError, match=r"saved after 2 steps of epoch 1 with batch_size=10; resume it with "
                                         r"that batch size"):
        load_model(str(tmp_path / "m.npz")).fit(x, y, batch_size=20, epochs=2, verbose=0)


def test_a_distributed_run_can_combine_the_stop_requests():
    """cnet.distributed (another issue) passes a StopRequest whose poll combines the ranks' flags: here
    another rank's SIGTERM, seen at the third poll, stops this rank after the same step."""
    class OtherRank(StopRequest):
        polls = 0

        def poll(self):
            self.polls += 1
            return signal.SIGTERM if self.polls >= 3 else self.signum

    x, y = _data()
    model = _model()
    with pytest.warns(RuntimeWarning, match=r"interrupted \(SIGTERM\) at epoch 1, step 3/6"):
        hist = _training.fit(model, x, y, batch_size=10, epochs=2, verbose=0, callbacks=None,
                             validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
                             steps_per_epoch=None, seed=1, class_weight=None, sample_weight=None,
                             validation_steps=None, validation_freq=1, max_queue_size=10, workers=1,
                             use_multiprocessing=False, stop=OtherRank())
    assert hist.interrupted["step"] == 3 and model.training_state["epoch_step"] == 3


CHILD = textwrap.dedent("""
    import json, signal, sys, time
    import numpy as np
    import cnet
    from cnet.callbacks import Callback
    from cnet.layers import Dense
    from cnet.models import Sequential

    class Pace(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print("EPOCH", epoch, flush=True)
        def on_batch_end(self, batch, logs=None):
            time.sleep(0.01)

    cnet.set_seed(0)
    x = np.random.default_rng(0).standard_normal((2000, 8)).astype(np.float32)
    model = Sequential([Dense(8, activation="relu", input_shape=(8,)), Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    hist = model.fit(x, (x[:, 0] > 0).astype(np.int64), batch_size=4, epochs=3, verbose=0, callbacks=[Pace()])
    print(json.dumps({"interrupted": dict(hist.interrupted or {}, logs=None), "state": model.training_state,
                      "default": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL}), flush=True)
    time.sleep(30)          # a second SIGTERM ends the process at once, as SIGTERM does
    print("STILL RUNNING", flush=True)
""")


def test_sigterm_from_outside_then_a_second_one_ends_the_process(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "EPOCH 0", proc.stderr.read()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        line = proc.stdout.readline()
        result = json.loads(line)
        assert result["interrupted"]["signal"] == "SIGTERM" and result["interrupted"]["epoch"] == 0
        assert 0 < result["state"]["epoch_step"] < 500 and result["default"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGTERM and "STILL RUNNING" not in out
    assert "fit: interrupted (SIGTERM) at epoch 1" in err                    # fit's warning


# ---- the commands --------------------------------------------------------------------------------

def _train_cmd(how):
    return [sys.executable, "-m", "cnet.train"] if how == "cnet-train" else [sys.executable, "-m", "cnet", "train"]


def _start(how, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.setdefault("CNET_DATA", os.path.dirname(MNIST))
    env.pop("CNET_TRACEBACK", None)
    return subprocess.Popen(_train_cmd(how) + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _stop_during_training(proc, signum, epoch_line="Epoch 1/"):
    """Wait until the training prints epoch_line, let it run a moment, send signum; (out, err)."""
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(epoch_line):
                break
        time.sleep(0.4)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return "".join(seen) + out, err


# 1500 steps an epoch: several seconds under load, over a second on a quiet machine, so that the signal
# sent 0.4 s after "Epoch 1/" lands inside the first epoch.
COMMON = ("--model", "mlp", "--limit", "12000", "--test-limit", "100", "--batch-size", "8", "--threads", "1",
          "--verbose", "2", "--seed", "3", "--epochs", "2")


@needs_mnist
@pytest.mark.parametrize("how, signum", [("cnet-train", signal.SIGTERM), ("cnet train", signal.SIGINT)])
def test_the_command_saves_the_checkpoint_leaves_out_and_exits_128_plus_the_signal(tmp_path, how, signum):
    out, ckpt = tmp_path / "out.npz", tmp_path / "ckpt.npz"
    out.write_bytes(b"the previous model")
    stdout, err = _stop_during_training(_start(how, *COMMON, "--out", out, "--resume", ckpt), signum)
    name = signal.Signals(signum).name
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{how}: interrupted by {name} at epoch 1, after step "), err
    assert f"the checkpoint {ckpt} holds the state reached" in lines[0] and f"{out} was left as it was" in lines[0]
    assert "Test accuracy" not in stdout and out.read_bytes() == b"the previous model"
    state = load_model(str(ckpt)).training_state
    assert state["epoch"] == 0 and 0 < state["epoch_step"] < 1500


@needs_mnist
@pytest.mark.slow       # three runs (~15 s); fit's own resume inside an epoch is tested above, quickly
def test_a_run_stopped_by_sigterm_resumes_bit_identical(tmp_path):
    full = tmp_path / "full.npz"
    p = subprocess.run(_train_cmd("cnet-train") + list(COMMON) + ["--out", str(full)], capture_output=True,
                       text=True, env=dict(os.environ, OMP_NUM_THREADS="1",
                                           CNET_DATA=os.environ.get("CNET_DATA", os.path.dirname(MNIST))),
                       timeout=300)
    assert p.returncode == 0, p.stderr
    ckpt, out = tmp_path / "ckpt.npz", tmp_path / "resumed.npz"
    proc = _start("cnet-train", *COMMON, "--out", out, "--resume", ckpt)
    _, err = _stop_during_training(proc, signal.SIGTERM, epoch_line="Epoch 2/")
    assert proc.returncode == 143 and not out.exists(), err
    stopped = load_model(str(ckpt)).training_state
    assert stopped["epoch"] == 1 and stopped["epoch_step"] > 0              # inside the second epoch
    proc = _start("cnet-train", *COMMON, "--out", out, "--resume", ckpt)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"1 of 2 epochs and {stopped['epoch_step']} steps of epoch 2 done" in stdout
    _same(load_model(str(full)), load_model(str(out)))


@pytest.mark.parametrize("how", ["cnet-train", "cnet train"])
def test_sigterm_outside_the_training_ends_the_command_with_143(tmp_path, how):
    """While the data loads (here: a planted slow loader), SIGTERM ended Python without a word."""
    slow = "import time, cnet.train\ndef slow(*a):\n    print('LOADING', flush=True)\n    time.sleep(60)\n" \
           "cnet.train._load = slow\n"
    entry = "from cnet.train import main" if how == "cnet-train" else \
        "from cnet.cli import main\nsys.argv[1:1] = ['train']"
    prog = f"import sys\n{slow}{entry}\nsys.argv[0] = 'cnet-train'\nsys.exit(main())\n"
    proc = subprocess.Popen([sys.executable, "-c", prog, "--model", "softmax", "--out", str(tmp_path / "m.npz")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "LOADING"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and err.strip() == f"{how}: interrupted (SIGTERM)", err
    assert os.listdir(tmp_path) == []


@needs_mnist
def test_resuming_with_another_batch_size_is_one_line(tmp_path):
    ckpt = tmp_path / "ckpt.npz"
    _, err = _stop_during_training(_start("cnet-train", *COMMON, "--out", "none", "--resume", ckpt),
                                   signal.SIGTERM)
    assert load_model(str(ckpt)).training_state["epoch_step"] > 0, err
    other = list(COMMON)
    other[other.index("--batch-size") + 1] = "16"
    proc = _start("cnet-train", *other, "--out", "none", "--resume", ckpt)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"cnet-train: error: --resume: {ckpt}: fit: the model was saved after ") and \
        "with batch_size=8; resume it with that batch size" in err
