"""cnet-train: train a model on MNIST or Fashion-MNIST, report the test accuracy, save the model.

    cnet-train --model cnn                      # the Keras example convnet, its defaults (12 epochs)
    cnet-train --model mlp --epochs 3 --limit 10000 --backend numpy
    python -m cnet.train --model simple_convnet --threads 2 --out simple.cnet.npz
    cnet train --model cnn --epochs 1 --plot out/   # the same, through the `cnet` command; + pictures
    mpiexec -n 2 cnet-train --model cnn             # data-parallel over 2 processes (pip install "cnet[mpi]")

Models (see cnet.zoo): softmax, mlp, cnn (Keras's mnist_cnn.py), simple_convnet and deep_convnet (the
nets of "Deep Learning from Scratch"). Each has defaults (epochs, batch size, optimizer, learning rate) that
reach its usual accuracy; every flag overrides them. The saved file is loadable with cnet.models.load_model.

Started by an MPI launcher (mpiexec, mpirun, srun), the processes train together (cnet.distributed):
--batch-size stays the global batch, rank 0 prints and writes the files, and an error on one process
stops them all.
"""
import argparse
import os
import signal
import sys
import time
import warnings

import numpy as np

from . import zoo
from ._command import EXIT_DIVERGED, UserError, run
from ._fileio import check_writable
from ._training import ResumeMismatch
from .zoo import DEFAULTS, build_model

__all__ = ["main", "build_model", "DEFAULTS"]   # build_model and DEFAULTS live in cnet.zoo


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
    p.add_argument("--deterministic", action="store_true",
                   help="under mpiexec: the same weights for any number of processes (each batch cut into "
                        "--micro-batches pieces whatever the number of processes; slower); default: each "
                        "process's share of a batch is one piece")
    p.add_argument("--micro-batches", type=int, help="under mpiexec, with --deterministic: the pieces of "
                   "each batch (default: 12 for 1, 2, 3, 4, 6 or 12 processes)")
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


def _check_args(args):
    """Arguments argparse lets through but training cannot honour: UserError naming the option."""
    for option, value, least in (("--epochs", args.epochs, 0), ("--batch-size", args.batch_size, 1),
                                 ("--threads", args.threads, 1), ("--limit", args.limit, 1),
                                 ("--test-limit", args.test_limit, 1), ("--micro-batches", args.micro_batches, 1)):
        if value is not None and value < least:
            raise UserError(f"{option} must be >= {least}, got {value}")
    if not 0.0 <= args.validation_split < 1.0:
        raise UserError(f"--validation-split must be in [0, 1), got {args.validation_split}")
    for option, path in _destinations(args):     # before the work, not after an hour of it
        try:
            check_writable(path)
        except OSError as exc:
            raise UserError(f"{option}: {exc}") from None


def _destinations(args):
    """[(option, path)] of the files the run writes: --out (unless 'none') and the --resume checkpoint."""
    out = args.out or f"{args.model}.cnet.npz"
    return [(option, path) for option, path in (("--out", out), ("--resume", args.resume))
            if path and path.lower() != "none"]


def _check_free_space(args, model):
    """Each destination's file system must have room for the model's weights at least (the file holds
    them and the optimizer state): a full disk is reported before the training, not after it."""
    need = sum(w.nbytes for w in model.get_weights())
    for option, path in _destinations(args):
        folder = os.path.dirname(os.path.abspath(os.path.realpath(path)))
        try:
            st = os.statvfs(folder)
        except (OSError, AttributeError):       # no statvfs (Windows): the save reports it
            continue
        free = st.f_bavail * st.f_frsize
        if free < need:
            raise UserError(f"{option}: cannot write {path}: the file system of {folder} has {free} bytes "
                            f"free, and the model needs at least {need}")


def _make_optimizer(name, lr):
    try:
        zoo.make_optimizer(name)
    except ValueError as exc:
        raise UserError(f"--optimizer: {exc}") from None
    try:
        return zoo.make_optimizer(name, lr)
    except ValueError as exc:
        raise UserError(f"--lr: {exc}") from None


def main(argv=None, prog="cnet-train"):
    """The command: parse `argv` (default sys.argv[1:]), train, return the exit code (errors a user can
    fix: one line on stderr, exit code 2; see cnet._command)."""
    ended = {}
    code = run(lambda a: _main(a, prog, ended), argv, prog)
    from . import distributed
    if code and not ended.get("together") and distributed.is_initialized() and distributed.size() > 1:
        # an error on this process alone: the others would wait for it in their next step
        distributed.abort(f"{prog} ended with exit code {code} (its message is above)", code)
    return code


def _start_distributed(args):
    """cnet.distributed, initialized, when an MPI launcher started this process; else None."""
    from . import distributed
    if not distributed.launched():
        if args.deterministic or args.micro_batches is not None:
            raise UserError("--deterministic and --micro-batches apply to data-parallel training: start "
                            "cnet-train with mpiexec (mpiexec -n 2 cnet-train ...)")
        return None
    if args.micro_batches is not None and not args.deterministic:
        raise UserError("--micro-batches goes with --deterministic")
    distributed.init(deterministic=args.deterministic, micro_batches=args.micro_batches)
    return distributed


def _quiet(*args, **kwargs):
    """print on the processes that are not rank 0."""


def _main(argv, prog, ended):
    args = _parser(prog).parse_args(argv)
    _check_args(args)
    if args.plot:
        from . import plot
        try:
            plot.require_matplotlib()
        except ImportError as exc:   # before the training, not after it
            raise UserError(f"--plot: {exc}") from None
    import cnet
    from . import initializers
    dist = _start_distributed(args)
    root = dist is None or dist.rank() == 0
    say = print if root else _quiet

    epochs, batch_size, opt_name, lr = DEFAULTS[args.model]
    epochs = args.epochs if args.epochs is not None else epochs
    batch_size = args.batch_size or batch_size
    if args.optimizer:
        opt_name, lr = args.optimizer, None
    lr = args.lr if args.lr is not None else lr
    optimizer = _make_optimizer(opt_name, lr)
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    cnet.set_backend(args.backend)
    if args.threads:
        cnet.set_num_threads(args.threads)
    initializers.set_seed(args.seed)

    if dist is not None and not root:
        dist.barrier()   # rank 0 reads (or downloads) the data set first
    (x_train, y_train), (x_test, y_test) = _load(args.dataset, args.data_dir)
    if dist is not None and root:
        dist.barrier()
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if args.test_limit:
        x_test, y_test = x_test[:args.test_limit], y_test[:args.test_limit]
    shape = zoo.input_shape(args.model)
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
            raise UserError(f"--resume: {exc}") from None
        if model.optimizer is None:
            raise UserError(f"--resume: {args.resume} holds no optimizer (saved without compile)")
        initial_epoch = model.training_state["epoch"]
        state = model.training_state
        inside = f" and {state['epoch_step']} steps of epoch {initial_epoch + 1}" if state["epoch_step"] else ""
        say(f"Resuming from {args.resume}: {initial_epoch} of {epochs} epochs{inside} done")
        if args.lr is not None:          # e.g. lower after a divergence: the run is then a new one
            say(f"Learning rate {args.lr:g} (the checkpoint's was {model.optimizer.learning_rate:g})")
            model.optimizer.learning_rate = args.lr
        lr = None
    else:
        model = build_model(args.model)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    if args.resume:
        from .callbacks import ModelCheckpoint
        callbacks.append(ModelCheckpoint(args.resume))
    say(f"cnet {cnet.__version__}: {args.model} on {args.dataset} ({len(x_train)} training, "
        f"{len(x_test)} test images), backend {cnet.get_backend()}, {cnet.get_num_threads()} threads; "
        f"{epochs} epochs, batch {batch_size}, {type(model.optimizer).__name__}"
        f"{'' if lr is None else f' lr {lr:g}'}, seed {args.seed}")
    if dist is not None:
        say(dist.describe())
    if verbose and root:
        model.summary()
    _check_free_space(args, model)
    start = time.perf_counter()
    with warnings.catch_warnings():     # fit's warnings of a stop: this command says it itself, below
        warnings.filterwarnings("ignore", "fit: ", RuntimeWarning)
        try:
            history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose,
                                validation_split=args.validation_split, shuffle=True, seed=args.seed,
                                initial_epoch=initial_epoch, callbacks=callbacks)
        except ResumeMismatch as exc:
            raise UserError(f"--resume: {args.resume}: {exc} (--batch-size)") from None
    train_time = time.perf_counter() - start
    out = args.out or f"{args.model}.cnet.npz"
    if history.diverged is not None or history.interrupted is not None:
        ended["together"] = True      # fit stopped every process after the same step
        return _stopped(prog, args, model, history, out, root)
    loss, acc = model.evaluate(x_test, y_test, batch_size=max(batch_size, 256), verbose=0)
    say(f"Training time: {train_time:.1f}s ({train_time / max(epochs, 1):.1f}s/epoch)")
    say(f"Test loss: {loss:.4f}")
    say(f"Test accuracy: {acc:.4f}")
    if out.lower() != "none":
        model.save(out)
        say(f"Saved the model to {out}")
    if args.plot and root:
        from . import plot
        from .datasets import fashion_mnist
        probs = model.predict(x_test, batch_size=max(batch_size, 256))
        names = fashion_mnist.CLASS_NAMES if args.dataset == "fashion_mnist" else None
        for path in plot.save_report(args.plot, y_test, probs, x=x_test, history_=history, model=model,
                                     class_names=names):
            print(f"Wrote {path}")
    return 0


def _stopped(prog, args, model, history, out, root=True):
    """The end of a run that fit stopped before its last epoch: diverged (exit EXIT_DIVERGED, the
    checkpoint keeps its last good epoch) or interrupted by a signal (the checkpoint gets the state
    reached, to resume from; exit 128 + the signal's number). --out is left as it was."""
    left = f"{out} was left as it was" if out.lower() != "none" else "no model was written"
    if history.diverged is not None:
        kept = (f"The checkpoint {args.resume} holds the last epoch completed before that (resume it with a "
                "lower --lr)" if args.resume and os.path.exists(args.resume) else "No checkpoint was written")
        if root:
            print(f"{prog}: {history.diverged['reason']}. {kept}; {left}", file=sys.stderr)
        return EXIT_DIVERGED
    stop = history.interrupted
    where = f"epoch {stop['epoch'] + 1}, after step {stop['step']}" if stop["step"] else \
        f"the end of epoch {stop['epoch']}"
    if args.resume:
        model.save(args.resume)
        kept = f"the checkpoint {args.resume} holds the state reached (run the same command to resume)"
    else:
        kept = "nothing was saved (--resume CHECKPOINT keeps the state of an interrupted run)"
    if root:
        print(f"{prog}: interrupted by {stop['signal']} at {where}; {kept}; {left}", file=sys.stderr)
    return 128 + signal.Signals[stop["signal"]]      # as a shell reports a process a signal ended


if __name__ == "__main__":
    sys.exit(main())
