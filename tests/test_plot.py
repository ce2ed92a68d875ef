"""cnet.plot: each picture is a valid PNG of the documented size; counts and inputs are checked; without
matplotlib the functions raise ImportError naming what to install."""
import importlib.util
import struct
import sys

import numpy as np
import pytest

from cnet import plot

needs_mpl = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                               reason="matplotlib not installed (pip install 'cnet[plot]')")


def png_size(path):
    """(width, height) from the PNG header; fails unless the file starts with the PNG signature and IHDR."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


HISTORY = {"loss": [1.2, 0.6, 0.4], "accuracy": [0.6, 0.8, 0.88],
           "val_loss": [0.9, 0.55, 0.5], "val_accuracy": [0.7, 0.82, 0.85]}


@needs_mpl
def test_history_png(tmp_path):
    path = plot.history(HISTORY, tmp_path / "sub" / "h.png")        # creates the folder
    assert png_size(path) == (1000, 400)
    # a History object (of a fit resumed at epoch 3), one epoch, no validation, Keras 1 metric name
    class H:
        history = {"loss": [0.5], "acc": [0.9]}
        epoch = [3]
    assert png_size(plot.history(H(), tmp_path / "h1.png")) == (1000, 400)
    with pytest.raises(ValueError, match="loss"):
        plot.history({}, tmp_path / "bad.png")


@needs_mpl
def test_confusion_counts_and_png(tmp_path):
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    cm = plot.confusion_counts(y_true, y_pred)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert plot.confusion_counts(y_true, y_pred, num_classes=10).shape == (10, 10)
    path = plot.confusion_matrix(plot.confusion_counts(y_true, y_pred, 10), tmp_path / "c.png")
    assert png_size(path) == (700, 600)
    names = ["T-shirt/top", "Trouser", "Pullover"]
    assert png_size(plot.confusion_matrix(cm, tmp_path / "c2.png", class_names=names)) == (700, 600)
    with pytest.raises(ValueError, match="square"):
        plot.confusion_matrix(np.zeros((2, 3)), tmp_path / "bad.png")
    with pytest.raises(ValueError, match="class_names"):
        plot.confusion_matrix(cm, tmp_path / "bad.png", class_names=["a"])


def test_images_of_any_layout():
    x = np.arange(2 * 784, dtype=np.float64)
    for shape in [(2, 784), (2, 28, 28), (2, 1, 28, 28), (2, 28, 28, 1)]:
        np.testing.assert_array_equal(plot._as_images(x.reshape(shape)), x.reshape(2, 28, 28))
    assert plot._as_images(np.zeros((2, 3, 8, 8))).shape == (2, 8, 8, 3)
    with pytest.raises(ValueError, match="square"):
        plot._as_images(np.zeros((2, 780)))


@needs_mpl
def test_misclassified_png(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 28, 28))
    y_true = np.arange(40) % 10
    y_pred = y_true.copy()
    y_pred[::3] = (y_pred[::3] + 1) % 10                          # 14 wrong -> a 4 x 4 grid
    probs = np.eye(10)[y_pred]
    path = plot.misclassified(x, y_true, y_pred, tmp_path / "m.png", probs=probs)
    assert png_size(path) == (480, 590)       # 4 columns x 1.2 in; 4 rows x 1.4 in + 0.3 in of title
    y_pred[:] = y_true
    y_pred[:30] = 0                                                 # 27 wrong, n=25 -> 5 x 5
    assert png_size(plot.misclassified(x.reshape(40, 784), y_true, y_pred, tmp_path / "m2.png")) == (600, 730)
    with pytest.raises(ValueError, match="differ in length"):
        plot.misclassified(x, y_true[:3], y_pred, tmp_path / "bad.png")


@needs_mpl
def test_misclassified_none_wrong(tmp_path):
    y = np.arange(5)
    assert png_size(plot.misclassified(np.zeros((5, 784)), y, y, tmp_path / "m.png")) == (200, 170)


@needs_mpl
def test_filters_png(tmp_path):
    rng = np.random.default_rng(1)
    assert png_size(plot.filters(rng.standard_normal((32, 1, 3, 3)), tmp_path / "f.png")) == (640, 350)
    assert png_size(plot.filters(rng.standard_normal((30, 1, 5, 5)), tmp_path / "f2.png")) == (640, 350)
    assert png_size(plot.filters(rng.standard_normal((6, 3, 5, 5)), tmp_path / "f3.png")) == (480, 130)
    with pytest.raises(ValueError, match="filters, channels"):
        plot.filters(np.zeros((3, 3)), tmp_path / "bad.png")


@needs_mpl
def test_first_conv_weights_and_report(tmp_path):
    from cnet.layers import Conv2D, Dense, Flatten
    from cnet.models import Sequential
    model = Sequential([Conv2D(4, 3, input_shape=(1, 8, 8)), Flatten(), Dense(3, activation="softmax")])
    model.build()
    assert plot.first_conv_weights(model).shape == (4, 1, 3, 3)
    assert plot.first_conv_weights(Sequential([Dense(2, input_shape=(3,))])) is None
    rng = np.random.default_rng(2)
    x = rng.random((12, 1, 8, 8)).astype(np.float32)
    probs = model.predict(x)
    y = np.arange(12) % 3
    paths = plot.save_report(tmp_path / "out", y, probs, x=x, history_=HISTORY, model=model)
    names = sorted(p.split("/")[-1] for p in map(str, paths))
    assert names == ["confusion.png", "filters.png", "history.png", "misclassified.png"]
    for p in paths:
        png_size(p)


def test_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)    # `import matplotlib` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'cnet\[plot\]'"):
        plot.history(HISTORY, tmp_path / "h.png")
    with pytest.raises(ImportError, match="matplotlib"):
        plot.save_report(tmp_path, [0], [[1.0, 0.0]])
    assert not (tmp_path / "h.png").exists()
