"""Programs that tests/test_distributed.py runs under mpiexec (one scenario per call):

    python tests/mpi_worker.py SCENARIO OUTDIR [det|fast]

Each process saves what the test compares with np.save into OUTDIR/<name>-rank<r>.npy (the test's own
files, not cnet's), so that the weights of every process can be checked.
"""
import os
import signal
import sys
import warnings

import numpy as np

import cnet
import cnet.distributed as dist
from cnet.callbacks import Callback, ModelCheckpoint
from cnet.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from cnet.models import Sequential, load_model
from cnet.nets import SimpleConvNet, Trainer

warnings.simplefilter("ignore", RuntimeWarning)


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8)).astype(np.float32), rng.integers(0, 4, n)


def convnet(dtype):
    model = Sequential([Conv2D(3, 3, activation="relu", input_shape=(1, 8, 8)), MaxPooling2D(2), Dropout(0.3),
                        Flatten(), Dense(12, activation="relu"), Dropout(0.5), Dense(4, activation="softmax")],
                       dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def weights(model):
    return np.concatenate([w.ravel().astype(np.float64) for w in model.get_weights()])


def save(out, name, arr):
    np.save(os.path.join(out, f"{name}-rank{dist.rank()}.npy"), np.asarray(arr, dtype=np.float64))


def same_answer(out):
    """Sequential.fit (with dropout, validation, 2 epochs) and the book's Trainer, both dtypes."""
    x, y = data()
    for dtype in ("float32", "float64"):
        cnet.set_seed(3)
        model = convnet(dtype)
        h = model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1, validation_data=(x[:10], y[:10]))
        save(out, f"seq-{dtype}", weights(model))
        save(out, f"seq-{dtype}-history", [v for k in sorted(h.history) for v in h.history[k]])
        save(out, f"seq-{dtype}-evaluate", model.evaluate(x, y, batch_size=13, verbose=0))
        cnet.set_seed(5)
        net = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 2, "filter_size": 3, "pad": 0,
                                                              "stride": 1}, hidden_size=6, output_size=4,
                            dtype=dtype)
        trainer = Trainer(net, x, y, x[:10], y[:10], epochs=2, mini_batch_size=16, optimizer="Adam",
                          optimizer_param={"lr": 0.01}, verbose=False)
        trainer.train()
        save(out, f"trainer-{dtype}", np.concatenate([p.ravel().astype(np.float64) for p in net.params.values()]))
        save(out, f"trainer-{dtype}-history", trainer.train_loss_list + trainer.test_acc_list)
    # a functional model: two outputs, a shared layer, dropout (its buckets are summed after backward)
    from cnet.layers import Input
    from cnet.models import Model
    cnet.set_seed(2)
    inp = Input(shape=(64,))
    h = Dropout(0.3)(Dense(8, activation="relu")(inp))
    shared = Dense(5, activation="relu")
    model = Model(inp, [Dense(4, activation="softmax")(shared(h)), Dense(1)(shared(h))])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], metrics=["accuracy"])
    h = model.fit(x.reshape(len(x), -1), [y, x[:, 0, 0, :1]], batch_size=16, epochs=2, verbose=0, seed=1)
    save(out, "functional", weights(model))
    save(out, "functional-history", [v for k in sorted(h.history) for v in h.history[k]])


def files(out):
    """fit with a checkpoint, then save, save_weights and save_params: each process in its own folder, so
    that a write by another rank than 0 would show; also the weights after fit (run-to-run identity)."""
    folder = os.path.join(out, f"cwd{dist.rank()}")
    os.makedirs(folder)
    os.chdir(folder)
    x, y = data()
    cnet.set_seed(3)
    model = convnet("float32")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1, callbacks=[ModelCheckpoint("ckpt.cnet.npz")])
    model.save("model.cnet.npz")
    model.save_weights("weights.cnet.npz")
    SimpleConvNet(input_dim=(1, 8, 8), hidden_size=4).save_params("params.cnet.npz")
    save(out, "fast", weights(model))


def resume(out, stage):
    """stage 'first': 1 epoch with a checkpoint; 'second': load it and train the second epoch;
    'whole': both epochs at once."""
    x, y = data()
    path = os.path.join(out, "resume.cnet.npz")
    if stage == "second":
        model = load_model(path)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, initial_epoch=model.training_state["epoch"])
    else:
        cnet.set_seed(3)
        model = convnet("float32")
        model.fit(x, y, batch_size=16, epochs=1 if stage == "first" else 2, verbose=0, seed=1,
                  callbacks=[ModelCheckpoint(path)])
    save(out, f"resume-{stage}", weights(model))


class _Fault(Callback):
    def __init__(self, how):
        self.how = how

    def on_batch_end(self, batch, logs=None):
        if dist.rank() == 1 and batch == 1:
            if self.how == "raise":
                raise RuntimeError("a planted failure")
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "exit":
                sys.exit(0)
            if self.how == "term":     # a stop signal to one process: all stop after the same step
                os.kill(os.getpid(), signal.SIGTERM)


def fault(out, how):
    x, y = data()
    if how == "nan":   # a sample of rank 1's share of the second batch (samples 16..31)
        x[16 + 12] = np.nan
    cnet.set_seed(3)
    model = convnet("float32")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1, shuffle=False, callbacks=[_Fault(how)])
    print(f"rank {dist.rank()}: stopped: {model.stop_reason}; steps done {model.training_state['step']}",
          flush=True)


def refused(out):
    from cnet.layers import BatchNormalization
    model = Sequential([Dense(4, input_shape=(3,)), BatchNormalization(), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    try:
        model.fit(np.zeros((4, 3)), np.zeros(4, int), verbose=0)
    except NotImplementedError as exc:
        print(f"refused: {exc}", flush=True)
    model = Sequential([Dense(2, input_shape=(3,), activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    for weights in ({"sample_weight": np.ones(4)}, {"class_weight": {0: 1.0, 1: 2.0}}):
        try:
            model.fit(np.zeros((4, 3)), np.zeros(4, int), verbose=0, **weights)
        except NotImplementedError as exc:
            print(f"weights refused: {exc}", flush=True)


def api(out):
    """rank/size/local helpers, allreduce, broadcast_weights, barrier."""
    r, n = dist.rank(), dist.size()
    assert dist.local_size() == n and dist.local_rank() == r and len(dist.processes()) == n
    assert dist.allreduce(r + 1, op="sum") == n * (n + 1) / 2
    assert dist.allreduce(float(r), op="max") == n - 1 and dist.allreduce(float(r), op="min") == 0
    assert np.array_equal(dist.allreduce(np.array([r, 1.0])), [(n - 1) / 2, 1.0])
    cnet.set_seed(10 + r)     # different weights on every process
    model = convnet("float32")
    dist.broadcast_weights(model)
    dist.barrier()
    save(out, "broadcast", weights(model))


if __name__ == "__main__":
    scenario, out = sys.argv[1], sys.argv[2]
    extra = sys.argv[3:]
    dist.init(deterministic="det" in extra, timeout=float(os.environ.get("CNET_TEST_TIMEOUT", "60")))
    args = [a for a in extra if a not in ("det", "fast")]
    {"same_answer": same_answer, "files": files, "resume": resume, "fault": fault, "refused": refused,
     "api": api}[scenario](out, *args)
