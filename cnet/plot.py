"""PNG pictures of a training run: learning curves, confusion matrix, misclassified images, conv filters.

    from cnet import plot
    plot.history(model.fit(...), "history.png")
    plot.confusion_matrix(plot.confusion_counts(y_test, y_pred), "confusion.png")
    plot.misclassified(x_test, y_test, y_pred, "misclassified.png")
    plot.filters(plot.first_conv_weights(model), "filters.png")

Needs matplotlib (``pip install 'cnet[plot]'``), imported on first use; figures are drawn by the
non-interactive Agg canvas (pyplot is not used), so it works without a display and never opens a window.
Each function writes `path` (its folder is created), returns it, and draws at a fixed size: the picture is
figsize x dpi pixels (documented per function), whatever is drawn.
"""
import math
import os

import numpy as np

__all__ = ["history", "confusion_matrix", "misclassified", "filters", "confusion_counts",
           "first_conv_weights", "save_report", "require_matplotlib", "MATPLOTLIB_HINT"]

MATPLOTLIB_HINT = "plots need matplotlib: pip install 'cnet[plot]' (or: pip install matplotlib)"
DPI = 100


def require_matplotlib():
    """The matplotlib module, or ImportError with the command that installs it."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise ImportError(MATPLOTLIB_HINT, name="matplotlib") from None
    return matplotlib


def _figure(width, height, constrained=True):
    """A Figure drawn by the Agg canvas. pyplot is never imported: no window, no global backend switch
    (a notebook's inline backend stays as it is), no figure left registered. Grids of small images pass
    constrained=False and place their axes themselves (the layout engine takes seconds on 25 axes)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if not constrained:
        fig = Figure(figsize=(width, height), dpi=DPI)
    else:
        try:
            fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        except TypeError:                    # matplotlib < 3.6
            fig = Figure(figsize=(width, height), dpi=DPI, constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig


def _grid_axes(fig, rows, cols, title_inches, label_inches):
    """rows x cols image axes filling the figure below a title band, each with room for a label above."""
    w, h = fig.get_size_inches()
    top = 1.0 - title_inches / h
    cell_h = top / rows
    cell_w = 1.0 / cols
    pad_w = 0.06 / w
    axes = []
    for r in range(rows):
        for c in range(cols):
            bottom = top - (r + 1) * cell_h + 0.04 / h
            height = cell_h - label_inches / h - 0.04 / h
            axes.append(fig.add_axes([c * cell_w + pad_w, bottom, cell_w - 2 * pad_w, height]))
    for ax in axes:
        ax.axis("off")
    return axes


def _save(fig, path):
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    return path


def _names(class_names, n):
    if class_names is None:
        return [str(i) for i in range(n)]
    names = [str(c) for c in class_names]
    if len(names) < n:
        raise ValueError(f"class_names holds {len(names)} names for {n} classes")
    return names


# ---- learning curves ---------------------------------------------------------------------------------

def history(history, path, title=None):
    """Loss (left) and accuracy (right) per epoch, training and validation when present.

    history: a History (fit's return value) or its .history dict (e.g. {'loss': [...], 'val_loss': [...]}).
    Picture: 1000 x 400 pixels."""
    h = getattr(history, "history", history)
    if not isinstance(h, dict) or not h.get("loss"):
        raise ValueError("history: expected a History or a dict with a non-empty 'loss' list")
    acc_key = next((k for k in ("accuracy", "acc") if h.get(k)), None)
    fig = _figure(10, 4)
    axes = fig.subplots(1, 2 if acc_key else 1, squeeze=False)[0]
    panels = [("loss", "loss")] + ([(acc_key, "accuracy")] if acc_key else [])
    for ax, (key, label) in zip(axes, panels):
        for k, name, style in ((key, "training", "o-"), ("val_" + key, "validation", "s--")):
            values = h.get(k)
            if values:
                epochs = np.arange(1, len(values) + 1)
                done = list(getattr(history, "epoch", []))
                if len(done) == len(values):     # a resumed fit numbers its epochs from initial_epoch
                    epochs = np.asarray(done) + 1
                ax.plot(epochs, values, style, label=name, markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


# ---- confusion matrix ----------------------------------------------------------------------------------

def confusion_counts(y_true, y_pred, num_classes=None):
    """The confusion matrix as int64 counts: row = true class, column = predicted class."""
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} and {y_pred.size}")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def confusion_matrix(cm, path, class_names=None, title=None):
    """The confusion matrix `cm` (row = true, column = predicted) as a heat map with the counts written
    in the cells. Picture: 700 x 600 pixels."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion_matrix: expected a square matrix, got shape {cm.shape}")
    n = cm.shape[0]
    names = _names(class_names, n)
    fig = _figure(7, 6)
    ax = fig.subplots()
    # colour by the share of each true class, so a rare class's errors show as clearly as a common one's
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the true class")
    small = 7 if n <= 12 else 5
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=small,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right"
                       if max(map(len, names)) > 2 else "center", fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = cm.sum()
    ax.set_title(title or f"confusion matrix: {int(np.trace(cm))}/{int(total)} correct "
                          f"({np.trace(cm) / max(total, 1):.2%})")
    return _save(fig, path)


# ---- image grids ----------------------------------------------------------------------------------------

def _as_images(x):
    """(N, 784), (N, 28, 28), (N, 1, 28, 28) or (N, 28, 28, 1) -> (N, H, W); (N, 3, H, W) -> (N, H, W, 3)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"cannot show rows of {x.shape[1]} values as square images")
        return x.reshape(-1, side, side)
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4 and x.shape[-1] == 1:
        return x[..., 0]
    if x.ndim == 4 and x.shape[1] == 3:
        return x.transpose(0, 2, 3, 1)
    if x.ndim == 3:
        return x
    raise ValueError(f"cannot show an array of shape {x.shape} as images")


def _grid(n, cols=None):
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


def misclassified(x, y_true, y_pred, path, n=25, class_names=None, probs=None):
    """A grid of the first `n` misclassified images, each titled 'predicted (true)' (with the predicted
    probability when `probs` (N, classes) is given). Picture: 1.2 x 1.4 inches per cell (cols x rows of the
    square-ish grid) plus 0.3 inch for the title, at least 2 inches wide."""
    images = _as_images(x)
    y_true = np.asarray(y_true).astype(np.int64).ravel()
    y_pred = np.asarray(y_pred).astype(np.int64).ravel()
    if not (len(images) == len(y_true) == len(y_pred)):
        raise ValueError(f"x, y_true and y_pred differ in length: {len(images)}, {len(y_true)}, {len(y_pred)}")
    wrong = np.flatnonzero(y_true != y_pred)[:max(int(n), 0)]
    names = _names(class_names, int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1)
    rows, cols = _grid(len(wrong))
    fig = _figure(max(1.2 * cols, 2.0), 1.4 * rows + 0.3, constrained=False)
    if len(wrong) == 0:
        fig.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        return _save(fig, path)
    axes = _grid_axes(fig, rows, cols, title_inches=0.3, label_inches=0.22)
    for ax, i in zip(axes, wrong):
        ax.imshow(images[i], cmap="gray", interpolation="nearest")
        label = f"{names[y_pred[i]]} ({names[y_true[i]]})"
        if probs is not None:
            label = f"{names[y_pred[i]]} {float(np.asarray(probs)[i, y_pred[i]]):.0%} ({names[y_true[i]]})"
        ax.set_title(label, fontsize=8, color="firebrick")
    fig.suptitle("misclassified: predicted (true)", fontsize=9, y=1.0 - 0.05 / fig.get_size_inches()[1],
                 va="top")
    return _save(fig, path)


def first_conv_weights(model):
    """The weights (filters, channels, kh, kw) of the model's first convolution layer, or None."""
    for layer in getattr(model, "layers", []):
        w = getattr(layer, "params", {}).get("W")
        if w is not None and np.ndim(w) == 4:
            return np.asarray(w)
    return None


def filters(weights, path, title=None, cols=None):
    """The learned filters of a conv layer as a grid of small images, one per filter (light = positive
    weight, each filter scaled to its own range, as "Deep Learning from Scratch" shows them).

    weights: (filters, channels, kh, kw), e.g. model.layers[0].params['W']. One channel: grey levels;
    three: colour; otherwise the mean over the channels. Picture: 0.8 x 0.8 inches per cell (at most 8
    columns unless `cols` is given), at least 2 x 1 inches."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"filters: expected conv weights of shape (filters, channels, kh, kw), got {w.shape}")
    if w.shape[1] == 3:
        tiles = w.transpose(0, 2, 3, 1)
    elif w.shape[1] == 1:
        tiles = w[:, 0]
    else:
        tiles = w.mean(axis=1)
    k = len(tiles)
    rows, cols = _grid(k, cols or min(8, k))
    band = 0.3 if title is not False else 0.0
    fig = _figure(max(0.8 * cols, 2.0), max(0.8 * rows, 1.0) + band, constrained=False)
    axes = _grid_axes(fig, rows, cols, title_inches=band, label_inches=0.0)
    for ax, t in zip(axes, tiles):
        lo, hi = t.min(), t.max()
        t = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
        ax.imshow(t, cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    if title is not False:
        fig.suptitle(title or f"{k} filters {w.shape[2]}x{w.shape[3]} of the first conv layer", fontsize=9,
                     y=1.0 - 0.05 / fig.get_size_inches()[1], va="top")
    return _save(fig, path)


# ---- what `cnet train --plot` and `cnet evaluate --plot` write -----------------------------------------

def save_report(folder, y_true, probs, x=None, history_=None, model=None, class_names=None):
    """Write the pictures of a run into `folder`: history.png (when a history is given), filters.png (when
    the model has a conv layer), confusion.png and misclassified.png (when x is given). Returns the paths."""
    require_matplotlib()
    y_pred = np.asarray(probs).argmax(axis=1)
    written = []
    if history_ is not None:
        written.append(history(history_, os.path.join(folder, "history.png")))
    w = first_conv_weights(model) if model is not None else None
    if w is not None:
        written.append(filters(w, os.path.join(folder, "filters.png")))
    cm = confusion_counts(y_true, y_pred, num_classes=np.asarray(probs).shape[1])
    written.append(confusion_matrix(cm, os.path.join(folder, "confusion.png"), class_names=class_names))
    if x is not None:
        written.append(misclassified(x, y_true, y_pred, os.path.join(folder, "misclassified.png"),
                                     class_names=class_names, probs=probs))
    return written
