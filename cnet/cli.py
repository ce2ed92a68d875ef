"""The `cnet` command (also `python -m cnet`): train, evaluate, predict, bench, info, book, convert.

    cnet train --model cnn --epochs 1 --plot out/     # train on MNIST, save cnn.cnet.npz, write pictures
    cnet evaluate cnn.cnet.npz --plot out/            # accuracy, loss, per-class table, confusion matrix
    cnet predict cnn.cnet.npz my_digit.png            # your own handwritten digit
    cnet bench --quick                                # the benchmark suite (cnet-bench)
    cnet info                                         # version, threads, OpenMP, SIMD, which ops run in C
    cnet book ch07/train_convnet.py                   # a script of the book's repository, on cnet.book
    cnet convert params.pkl params.cnet.npz           # the book's pickled weights, read safely

With the progress bar, this is the only module that prints for users. Errors a user can fix (a missing
file, an unreadable image, a model that does not take 28x28 digits, a missing optional package) end the
command with a one-line message on stderr and exit code 2; CNET_TRACEBACK=1 shows the traceback instead
(see cnet._command). A bug keeps its traceback.
"""
import argparse
import os
import sys

from ._command import EXIT_ERROR, UserError, run

__all__ = ["main"]

_COMMANDS = {
    "train": "train a model on MNIST or Fashion-MNIST and save it (the cnet-train script)",
    "evaluate": "accuracy, loss, per-class precision/recall and confusion matrix of a saved model",
    "predict": "classify your own images of handwritten digits with a saved model",
    "bench": "run the benchmark suite (the cnet-bench script; its options pass through)",
    "info": "version, threads, OpenMP runtime, SIMD path, which ops run in C, optional packages",
    "book": "run a script of the book \"Deep Learning from Scratch\" on cnet.book (python -m cnet.book)",
    "convert": "convert the book's .pkl weights to cnet's format (an allow-list unpickler reads them)",
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _main_parser():
    from . import __version__
    p = argparse.ArgumentParser(
        prog="cnet", formatter_class=_Formatter,
        description="cnet: neural networks trained on the CPU (C kernels + OpenMP).",
        epilog="commands:\n" + "\n".join(f"  {k:<9} {v}" for k, v in _COMMANDS.items())
        + "\n\n`cnet COMMAND --help` explains each command's options and their defaults.\n"
          "Errors exit with code 2 and a one-line message; set CNET_TRACEBACK=1 to see the traceback.")
    p.add_argument("--version", action="version", version=f"cnet {__version__}")
    p.add_argument("command", choices=tuple(_COMMANDS), metavar="COMMAND",
                   help="one of: " + ", ".join(_COMMANDS))
    return p


def _common_run_options(p):
    p.add_argument("--no-rescale", action="store_true",
                   help="feed raw 0-255 pixels, for models trained with --no-rescale (default: pixels / 255)")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (default: 256)")
    p.add_argument("--threads", type=int,
                   help="threads of the C kernels (default: all usable CPUs, or OMP_NUM_THREADS)")
    p.add_argument("--backend", choices=("c", "numpy"), default="c",
                   help="c: the compiled kernels; numpy: the pure NumPy reference (default: c)")


def _evaluate_parser():
    p = argparse.ArgumentParser(
        prog="cnet evaluate",
        description="Evaluate a saved model on the test set: loss, accuracy, a per-class table (precision, "
                    "recall, count) and the confusion matrix.")
    p.add_argument("model", metavar="MODEL", help="model file written by cnet train or model.save()")
    p.add_argument("--dataset", choices=("mnist", "fashion_mnist"), default="mnist",
                   help="test set to use (default: mnist)")
    p.add_argument("--data-dir", help="folder holding mnist/ or fashion_mnist/ (or the 4 IDX files); "
                   "default: $CNET_DATA, then the cache, then a download")
    p.add_argument("--limit", type=int, help="evaluate on the first N test images only (default: all 10000)")
    p.add_argument("--plot", metavar="DIR",
                   help="write confusion.png and misclassified.png into DIR (needs matplotlib; "
                        "default: no pictures)")
    _common_run_options(p)
    return p


def _predict_parser():
    p = argparse.ArgumentParser(
        prog="cnet predict",
        description="Classify images of handwritten digits (PNG, JPEG, BMP, ...; any size and colour, dark "
                    "on light or light on dark) with a saved model. Each image is turned into an MNIST digit "
                    "(grayscale, cropped, scaled into 20x20, centred by mass in 28x28): see cnet.image. "
                    "Needs Pillow.")
    p.add_argument("model", metavar="MODEL", help="model file written by cnet train or model.save()")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--top", type=int, default=3, help="how many of the most likely classes to show (default: 3)")
    p.add_argument("--show", action="store_true",
                   help="also print each image as the model sees it (28x28, in characters) (default: off)")
    _common_run_options(p)
    return p


# ---- helpers -----------------------------------------------------------------------------------------------

def _setup(args):
    import cnet
    cnet.set_backend(args.backend)
    if args.threads is not None:
        if args.threads < 1:
            raise UserError(f"--threads must be >= 1, got {args.threads}")
        cnet.set_num_threads(args.threads)
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be >= 1, got {args.batch_size}")


def _load_model(path):
    from .models import load_model
    if not os.path.exists(path):
        raise UserError(f"no such model file: {path}")
    if os.path.isdir(path):
        raise UserError(f"{path} is a folder, not a model file")
    try:
        model = load_model(path, compile=False)
    except ValueError as exc:           # not a model file, or a damaged one: the message names the file
        raise UserError(str(exc)) from None
    if model.input_shape is None:
        raise UserError(f"{path}: the model has no input shape (it was saved before being built)")
    return model


def _input_shape_for_digits(model, path):
    """The model's input shape, when it takes 28x28 single-channel images (784 values)."""
    shape = tuple(model.input_shape)
    if int(_prod(shape)) != 28 * 28:
        raise UserError(f"{path}: the model takes inputs of shape {shape}, not 28x28 grayscale images "
                        "(784 values, e.g. (784,) or (1, 28, 28))")
    return shape


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def _probabilities(out):
    """The model's outputs as probabilities: a softmax head's as they are, logits through a softmax."""
    import numpy as np
    out = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
    if out.shape[1] == 1:                                    # one sigmoid unit: P(class 1)
        return np.concatenate([1.0 - out, out], axis=1)
    if (out >= 0).all() and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        return out
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ascii(img):
    """A 28x28 image in [0, 1] as 28 lines of characters (two per pixel so it looks square)."""
    ramp = " .:-=+*#%@"
    rows = []
    for row in img.reshape(28, 28):
        rows.append("".join(ramp[min(int(v * len(ramp)), len(ramp) - 1)] * 2 for v in row).rstrip())
    return "\n".join(rows)


# ---- commands ----------------------------------------------------------------------------------------------

def cmd_train(argv):
    from . import train
    return train.main(argv, prog="cnet train")


def cmd_bench(argv):
    from . import bench
    return bench.main(argv, prog="cnet bench")


def cmd_info(argv):
    p = argparse.ArgumentParser(prog="cnet info",
                                description="Show cnet's version, threads, OpenMP runtime, SIMD path, which "
                                            "implementation (c or numpy) each op uses, and the optional "
                                            "packages. No options besides --help.")
    p.parse_args(argv)
    import cnet
    cnet.show_config()
    print("  optional packages:")
    for dist, module, use in (
            ("Pillow", "PIL", "cnet predict, cnet.image; pip install 'cnet[image]'"),
            ("matplotlib", "matplotlib", "--plot, cnet.plot; pip install 'cnet[plot]'"),
            ("threadpoolctl", "threadpoolctl", "cnet bench's BLAS thread control; pip install 'cnet[bench]'")):
        print(f"    {dist:<13}  {_dist_version(dist, module) or 'not installed':<13}  ({use})")
    return 0


def _dist_version(dist, module):
    """The installed version of an optional package, or None when it cannot be imported."""
    import importlib.util
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except (ImportError, ValueError):          # ValueError: sys.modules[module] is None (blocked)
        return None
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:                          # importable but without metadata (a source checkout)
        return "installed"


def cmd_evaluate(argv):
    args = _evaluate_parser().parse_args(argv)
    import numpy as np

    import cnet
    from . import plot as plot_module
    from .datasets import fashion_mnist
    from .train import _load
    if args.plot:
        plot_module.require_matplotlib()       # fail before the work, not after it
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")
    _setup(args)
    model = _load_model(args.model)
    shape = _input_shape_for_digits(model, args.model)
    (_, _), (x_test, y_test) = _load(args.dataset, args.data_dir)
    if args.limit:
        x_test, y_test = x_test[:args.limit], y_test[:args.limit]
    x = x_test.reshape((len(x_test),) + shape).astype(np.float32)
    if not args.no_rescale:
        x /= 255.0
    y = y_test.astype(np.int64)
    probs = _probabilities(model.predict(x, batch_size=args.batch_size))
    k = probs.shape[1]
    if y.max() >= k:
        raise UserError(f"{args.model}: the model has {k} outputs but {args.dataset} has labels up to {y.max()}")
    pred = probs.argmax(axis=1)
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))
    correct = int((pred == y).sum())
    cm = plot_module.confusion_counts(y, pred, num_classes=k)
    names = list(fashion_mnist.CLASS_NAMES) if args.dataset == "fashion_mnist" else [str(i) for i in range(k)]
    names += [str(i) for i in range(len(names), k)]

    print(f"cnet {cnet.__version__}: {args.model} ({model.name}, input {tuple(model.input_shape)}) on "
          f"{args.dataset}: {len(y)} test images, backend {cnet.get_backend()}, "
          f"{cnet.get_num_threads()} threads")
    print(f"Test loss: {loss:.4f} (cross-entropy)")
    print(f"Test accuracy: {correct / len(y):.4f} ({correct}/{len(y)})")
    print()
    print(_class_table(cm, names))
    print()
    print(_confusion_table(cm, names))
    if args.plot:
        for path in plot_module.save_report(args.plot, y, probs, x=x, class_names=names):
            print(f"Wrote {path}")
    return 0


def _class_table(cm, names):
    import numpy as np
    width = max(5, max(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall   count"]
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    for i, name in enumerate(names):
        tp = cm[i, i]
        prec = f"{tp / predicted[i]:.4f}" if predicted[i] else "-"
        rec = f"{tp / actual[i]:.4f}" if actual[i] else "-"
        lines.append(f"{name:<{width}}  {prec:>9}  {rec:>6}  {actual[i]:>6}")
    total = cm.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.diag(cm) / predicted
        r = np.diag(cm) / actual
    lines.append(f"{'mean':<{width}}  {np.nanmean(p):>9.4f}  {np.nanmean(r):>6.4f}  {total:>6}")
    return "\n".join(lines)


def _confusion_table(cm, names):
    labels = [n if len(n) <= 6 else n[:6] for n in names]
    cell = max(5, len(str(int(cm.max()))) + 1, max(len(n) for n in labels) + 1)
    head = max(len(n) for n in labels)
    lines = ["Confusion matrix (row: true class, column: predicted class):",
             " " * head + "".join(f"{n:>{cell}}" for n in labels)]
    for name, row in zip(labels, cm):
        lines.append(f"{name:>{head}}" + "".join(f"{int(v):>{cell}}" for v in row))
    return "\n".join(lines)


def cmd_predict(argv):
    args = _predict_parser().parse_args(argv)
    import numpy as np

    from . import image
    image.require_pillow()                     # the message names what to install
    if args.top < 1:
        raise UserError(f"--top must be >= 1, got {args.top}")
    _setup(args)
    model = _load_model(args.model)
    shape = _input_shape_for_digits(model, args.model)
    digits = []
    for path in args.images:
        if not os.path.exists(path):
            raise UserError(f"no such image file: {path}")
        try:
            digits.append(image.load_digit(path))
        except ValueError as exc:       # a blank image: the message names the file
            raise UserError(str(exc)) from None
    x = np.stack(digits).reshape((len(digits),) + shape).astype(np.float32)
    if args.no_rescale:
        x *= 255.0
    probs = _probabilities(model.predict(x, batch_size=args.batch_size))
    top = min(args.top, probs.shape[1])
    width = max(len(p) for p in args.images)
    for path, p, d in zip(args.images, probs, digits):
        order = np.argsort(-p, kind="stable")[:top]
        ranked = ", ".join(f"{int(c)}: {p[c]:.1%}" for c in order)
        print(f"{path:<{width}}  {int(order[0])}  ({ranked})")
        if args.show:
            print(_ascii(d))
    return 0


def cmd_book(argv):
    from .book._runner import main as book_main
    return book_main(argv, prog="cnet book")


def cmd_convert(argv):
    from .book._runner import convert_main
    return convert_main(argv, prog="cnet convert")


_HANDLERS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "bench": cmd_bench,
             "info": cmd_info, "book": cmd_book, "convert": cmd_convert}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        _main_parser().print_help(sys.stderr)
        return EXIT_ERROR
    if argv[0] not in _HANDLERS:
        # --help, --version or a misspelt command: argparse prints and exits (code 0, or 2 on an error)
        _main_parser().parse_args(argv[:1])
        return EXIT_ERROR
    command, rest = argv[0], argv[1:]
    return run(_HANDLERS[command], rest, f"cnet {command}")


if __name__ == "__main__":
    sys.exit(main())
