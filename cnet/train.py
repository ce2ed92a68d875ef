"""cnet-train: train a model on MNIST or Fashion-MNIST, report the test accuracy, save the model.

    cnet-train --model cnn                      # the Keras example convnet, its defaults (12 epochs)
    cnet-train --model mlp --epochs 3 --limit 10000 --backend numpy
    python -m cnet.train --model simple_convnet --threads 2 --out simple.cnet.npz
    cnet train --model cnn --epochs 1 --plot out/   # the same, through the `cnet` command; + pictures

Models: softmax (softmax regression on the 784 pixels), mlp (784-500-250-100-10 ReLU, Glorot init),
cnn (Keras's mnist_cnn.py: Conv2D 32-Conv2D 64-MaxPool-Dropout-Dense 128-Dropout-Dense 10),
simple_convnet and deep_convnet (the nets of "Deep Learning from Scratch", chapters 7 and 8).
Each model has defaults (epochs, batch size, optimizer, learning rate) that reach its usual accuracy;
every flag overrides them. The saved file is loadable with cnet.models.load_model.
"""
import argparse
import os
import sys
import time

import numpy as np

__all__ = ["main", "build_model", "DEFAULTS"]

# model -> (epochs, batch size, optimizer, learning rate)
DEFAULTS = {
    "softmax": (20, 128, "rmsprop", 0.001),
    "mlp": (10, 1000, "adam", 0.001),
    "cnn": (12, 128, "adadelta", 1.0),
    "simple_convnet": (20, 100, "adam", 0.001),
    "deep_convnet": (20, 100, "adam", 0.001),
}
IMAGE_MODELS = ("cnn", "simple_convnet", "deep_convnet")


def build_model(name, num_classes=10, dtype="float32"):
    """The Sequential model called `name` (see the module doc), for 28x28 single-channel images:
    flat (784,) inputs for softmax/mlp, (1, 28, 28) for the convnets."""
    from . import nets
    from .layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from .models import Sequential
    if name == "softmax":
        layers = [Dense(num_classes, activation="softmax", input_shape=(784,))]
    elif name == "mlp":
        layers = [Dense(500, activation="relu", kernel_initializer="glorot_uniform", input_shape=(784,)),
                  Dense(250, activation="relu", kernel_initializer="glorot_uniform"),
                  Dense(100, activation="relu", kernel_initializer="glorot_uniform"),
                  Dense(num_classes, activation="softmax", kernel_initializer="glorot_uniform")]
    elif name == "cnn":
        layers = [Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=(1, 28, 28)),
                  Conv2D(64, (3, 3), activation="relu"),
                  MaxPooling2D(pool_size=(2, 2)),
                  Dropout(0.25),
                  Flatten(),
                  Dense(128, activation="relu"),
                  Dropout(0.5),
                  Dense(num_classes, activation="softmax")]
    elif name == "simple_convnet":
        return nets.SimpleConvNet(output_size=num_classes, dtype=dtype).model
    elif name == "deep_convnet":
        return nets.DeepConvNet(output_size=num_classes, dtype=dtype).model
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(DEFAULTS)}")
    return Sequential(layers, name=name, dtype=dtype)


def _parser(prog="cnet-train"):
    p = argparse.ArgumentParser(
        prog=prog, description="Train a model on MNIST or Fashion-MNIST with cnet.",
        epilog="Per-model defaults (epochs, batch size, optimizer, lr): " + "; ".join(
            f"{m}: {e}, {b}, {o}, {lr:g}" for m, (e, b, o, lr) in DEFAULTS.items()))
    p.add_argument("--dataset", choices=("mnist", "fashion_mnist"), default="mnist",
                   help="data set (default: mnist)")
    p.add_argument("--model", choices=tuple(DEFAULTS), default="cnn",
                   help="model to train, see the list below (default: cnn)")
    p.add_argument("--epochs", type=int, help="number of epochs (default: per model)")
    p.add_argument("--batch-size", type=int, help="mini-batch size (default: per model)")
    p.add_argument("--optimizer", help="optimizer name: sgd, momentum, nesterov, adagrad, rmsprop, adam, "
                   "adadelta (default: per model)")
    p.add_argument("--lr", type=float, help="learning rate (default: per model)")
    p.add_argument("--threads", type=int, help="threads of the C kernels (default: all usable CPUs)")
    p.add_argument("--backend", choices=("c", "numpy"), default="c",
                   help="c: the compiled kernels; numpy: the pure NumPy reference (default: c)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, dropout and shuffling (default 0)")
    p.add_argument("--no-rescale", action="store_true", help="feed raw 0-255 pixels (default: x/255)")
    p.add_argument("--out", help="model file to write (default: <model>.cnet.npz; 'none' to skip)")
    p.add_argument("--data-dir", help="folder holding mnist/ or fashion_mnist/ (or the 4 IDX files); "
                   "default: $CNET_DATA, then the cache, then a download")
    p.add_argument("--limit", type=int, help="train on the first N training images only (default: all 60000)")
    p.add_argument("--test-limit", type=int,
                   help="evaluate on the first N test images only (default: all 10000)")
    p.add_argument("--validation-split", type=float, default=0.0,
                   help="fraction of the training images (the last ones) held out to validate after each "
                        "epoch (default: 0, none)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2),
                   help="0 silent, 1 progress bar, 2 one line per epoch (default: 1 on a terminal, else 2)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="checkpoint file, written after every epoch (atomically); when it exists, training "
                        "continues from it (weights, optimizer and its settings, epoch, shuffling and "
                        "dropout state): with the same --model, --seed and data options, the run ends "
                        "bit-identical to one never interrupted")
    p.add_argument("--plot", metavar="DIR",
                   help="write history.png, filters.png (convnets), confusion.png and misclassified.png "
                        "into DIR (needs matplotlib; default: no pictures)")
    return p


def _load(dataset, data_dir):
    from .datasets import fashion_mnist, mnist
    module = mnist if dataset == "mnist" else fashion_mnist
    path = None
    if data_dir:
        sub = os.path.join(data_dir, dataset)
        path = sub if os.path.isdir(sub) else data_dir
    return module.load_data(path)


def _make_optimizer(name, lr):
    from . import optimizers
    opt = optimizers.get(name)
    return type(opt)(learning_rate=lr) if lr is not None else opt


def main(argv=None, prog="cnet-train"):
    args = _parser(prog).parse_args(argv)
    if args.plot:
        from . import plot
        try:
            plot.require_matplotlib()
        except ImportError as exc:   # before the training, not after it
            print(f"{prog}: error: --plot: {exc}", file=sys.stderr)
            return 2
    import cnet
    from . import initializers

    epochs, batch_size, opt_name, lr = DEFAULTS[args.model]
    epochs = args.epochs if args.epochs is not None else epochs
    batch_size = args.batch_size or batch_size
    if args.optimizer:
        opt_name, lr = args.optimizer, None
    lr = args.lr if args.lr is not None else lr
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    cnet.set_backend(args.backend)
    if args.threads:
        cnet.set_num_threads(args.threads)
    initializers.set_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = _load(args.dataset, args.data_dir)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    shape = (1, 28, 28) if args.model in IMAGE_MODELS else (784,)
    x_train = x_train.reshape((len(x_train),) + shape).astype(np.float32)
    x_test = x_test.reshape((len(x_test),) + shape).astype(np.float32)
    if not args.no_rescale:
        x_train /= 255.0
        x_test /= 255.0
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)

    initial_epoch, callbacks = 0, []
    if args.resume and os.path.exists(args.resume):
        from .models import load_model
        try:
            model = load_model(args.resume)
        except (ValueError, OSError) as exc:
            print(f"{prog}: error: --resume: {exc}", file=sys.stderr)
            return 2
        if model.optimizer is None:
            print(f"{prog}: error: --resume: {args.resume} holds no optimizer (saved without compile)",
                  file=sys.stderr)
            return 2
        initial_epoch = model.training_state["epoch"]
        lr = None
        print(f"Resuming from {args.resume}: {initial_epoch} of {epochs} epochs done")
    else:
        model = build_model(args.model)
        model.compile(optimizer=_make_optimizer(opt_name, lr), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    if args.resume:
        from .callbacks import ModelCheckpoint
        callbacks.append(ModelCheckpoint(args.resume))
    print(f"cnet {cnet.__version__}: {args.model} on {args.dataset} ({len(x_train)} training, "
          f"{len(x_test)} test images), backend {cnet.get_backend()}, {cnet.get_num_threads()} threads; "
          f"{epochs} epochs, batch {batch_size}, {type(model.optimizer).__name__}"
          f"{'' if lr is None else f' lr {lr:g}'}, seed {args.seed}")
    if verbose:
        model.summary()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose,
              validation_split=args.validation_split, shuffle=True, seed=args.seed,
              initial_epoch=initial_epoch, callbacks=callbacks)
    train_time = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, batch_size=max(batch_size, 256), verbose=0)
    print(f"Training time: {train_time:.1f}s ({train_time / max(epochs, 1):.1f}s/epoch)")
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {acc:.4f}")
    out = args.out or f"{args.model}.cnet.npz"
    if out.lower() != "none":
        model.save(out)
        print(f"Saved the model to {out}")
    if args.plot:
        from . import plot
        from .datasets import fashion_mnist
        probs = model.predict(x_test, batch_size=max(batch_size, 256))
        names = fashion_mnist.CLASS_NAMES if args.dataset == "fashion_mnist" else None
        for path in plot.save_report(args.plot, y_test, probs, x=x_test, history_=history, model=model,
                                     class_names=names):
            print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
