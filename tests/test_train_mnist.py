"""A quick real-MNIST run of cnet-train: a small MLP on 2000 images reaches well above chance, on both
backends, and the same seed gives the same model. Needs CNET_DATA (a folder holding mnist/)."""
import os
import re

import numpy as np
import pytest

import cnet
from cnet import train
from cnet.models import load_model

DATA = os.environ.get("CNET_DATA")
pytestmark = pytest.mark.skipif(
    not DATA or not os.path.isdir(os.path.join(DATA, "mnist")),
    reason="real MNIST not available: set CNET_DATA to a folder holding mnist/ (the 4 IDX files)")

ARGS = ["--model", "mlp", "--limit", "2000", "--test-limit", "2000", "--epochs", "3", "--batch-size", "100",
        "--verbose", "0", "--seed", "7"]


def _run(tmp_path, capsys, backend, name):
    out = str(tmp_path / name)
    previous = cnet.get_backend()
    try:
        assert train.main(ARGS + ["--backend", backend, "--out", out]) == 0
    finally:
        cnet.set_backend(previous)
    text = capsys.readouterr().out
    acc = float(re.search(r"Test accuracy: ([0-9.]+)", text).group(1))
    return acc, load_model(out), text


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_small_mlp_learns_mnist_and_is_reproducible(tmp_path, capsys, backend):
    acc, model, text = _run(tmp_path, capsys, backend, "a.cnet.npz")
    assert f"backend {backend}" in text and "Saved the model" in text
    assert acc > 0.8, text   # measured: 0.8455 (chance: 0.1)
    # the saved model gives the reported accuracy
    from cnet.datasets import mnist
    (_, _), (x_test, y_test) = mnist.load_data()
    x = x_test[:2000].reshape(2000, 784).astype(np.float32) / 255
    assert model.evaluate(x, y_test[:2000], verbose=0)[1] == pytest.approx(acc, abs=1e-4)
    # same seed, same result
    acc2, model2, _ = _run(tmp_path, capsys, backend, "b.cnet.npz")
    assert acc2 == acc
    for w1, w2 in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(w1, w2)
