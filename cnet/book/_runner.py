"""``python -m cnet.book SCRIPT [ARGS]`` (and ``cnet book``): run a script of the book's repository
unchanged, with its ``common`` and ``dataset`` imports served by cnet.book; and ``cnet convert``.

How a script is run:
- ``common``, ``common.*``, ``dataset`` and ``dataset.*`` are answered by an import hook placed first on
  sys.meta_path: they are cnet.book's modules (``common.layers`` is ``cnet.book.common.layers``). The
  book's own common/ and dataset/ folders are never imported, though the scripts put them on sys.path.
- The script runs as ``__main__`` (runpy) with its folder as the working directory and as sys.path[0],
  as ``python SCRIPT`` run from that folder would: it finds its data files (``params.pkl``) and its
  chapter's helper modules (``two_layer_net.py``, ``simple_convnet.py``, ``deep_convnet.py``), which
  then also import cnet.book's common. With ``--cnet-nets`` those helper modules are cnet.book's own
  (cnet.book.ch04.two_layer_net, ...) instead of the files beside the script.
- ``pickle.load``/``pickle.loads`` read through cnet.book's allow-list unpickler while the script runs
  (the book's scripts unpickle their weight files); ``--trust-pickles`` restores Python's own.
- ``--seed N`` calls ``np.random.seed(N)`` first, so runs are reproducible (the book's code draws
  every random number from numpy's global generator, and so does cnet.book).
"""
import argparse
import importlib
import importlib.abc
import importlib.util
import os
import pickle
import runpy
import sys
import traceback

import numpy as np

from .._command import UserError
from . import pickles

__all__ = ["main", "convert_main", "run_script"]

SERVED = ("common", "dataset")                            # top-level names answered by cnet.book
CHAPTER_NETS = {"two_layer_net": ("ch04", "ch05"), "simple_convnet": ("ch07",), "deep_convnet": ("ch08",)}


class _Alias(importlib.abc.Loader):
    """Loads a name as an existing cnet.book module (the same module object under both names)."""

    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass


class BookImportHook(importlib.abc.MetaPathFinder):
    """Answers imports of ``common``/``dataset`` (and, when given, chapter helper modules) with cnet.book."""

    def __init__(self, chapter_nets=None):
        self.chapter_nets = dict(chapter_nets or {})     # module name -> cnet.book module name

    def target(self, fullname):
        top = fullname.partition(".")[0]
        if top in SERVED:
            return "cnet.book." + fullname
        return self.chapter_nets.get(fullname)

    def find_spec(self, fullname, path=None, target=None):
        name = self.target(fullname)
        if name is None:
            return None
        if importlib.util.find_spec(name) is None:
            return None                # no such module in cnet.book: ModuleNotFoundError, as in the book
        is_package = fullname in SERVED
        return importlib.util.spec_from_loader(fullname, _Alias(name), is_package=is_package)


def _chapter_nets(script_dir):
    """{helper module name: cnet.book module} for the chapter the script belongs to."""
    chapter = os.path.basename(os.path.abspath(script_dir))
    return {name: f"cnet.book.{chapter}.{name}" for name, chapters in CHAPTER_NETS.items()
            if chapter in chapters}


def run_script(path, args=(), seed=None, cnet_nets=False, trust_pickles=False):
    """Run the book's script at path as __main__ (see the module docstring); returns its globals."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    folder = os.path.dirname(path)
    hook = BookImportHook(_chapter_nets(folder) if cnet_nets else None)
    _forget(hook, folder)              # nothing of the book's own common/ may linger
    saved = (sys.argv, list(sys.path), os.getcwd(), pickle.load, pickle.loads)
    sys.meta_path.insert(0, hook)
    sys.argv = [path] + list(args)
    sys.path.insert(0, folder)
    os.chdir(folder)
    if not trust_pickles:
        pickle.load, pickle.loads = pickles.load, pickles.loads
    try:
        if seed is not None:
            np.random.seed(seed)
        return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        os.chdir(saved[2])
        pickle.load, pickle.loads = saved[3], saved[4]
        sys.meta_path.remove(hook)
        _forget(hook, folder)


def _forget(hook, folder):
    """Drop the modules a run imports under the book's names (the aliases, the chapter's helpers)."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        beside = isinstance(file, str) and os.path.dirname(os.path.abspath(file)) == folder
        if beside or hook.target(name) is not None:
            del sys.modules[name]


def _parser(prog):
    p = argparse.ArgumentParser(
        prog=prog, description="Run a script of the book \"Deep Learning from Scratch\" unchanged, its "
                               "common and dataset modules served by cnet.book (cnet's kernels).",
        epilog="Example: python -m cnet.book --seed 0 deep-learning-from-scratch/ch07/train_convnet.py")
    p.add_argument("--seed", type=int, help="call np.random.seed(SEED) before the script runs")
    p.add_argument("--cnet-nets", action="store_true",
                   help="serve the chapter's helper networks (two_layer_net, simple_convnet, deep_convnet) "
                        "from cnet.book too, instead of the files beside the script")
    p.add_argument("--trust-pickles", action="store_true",
                   help="let the script's pickle.load run Python's own unpickler (default: cnet.book's "
                        "allow-list, which reads arrays and refuses anything that could run code)")
    p.add_argument("script", help="the book's script, e.g. ch05/train_neuralnet.py")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    return p


def main(argv=None, prog="python -m cnet.book"):
    """Entry point of ``python -m cnet.book`` and ``cnet book``; returns the exit code."""
    opts = _parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.isfile(opts.script):
        print(f"{prog}: error: no such script: {opts.script}", file=sys.stderr)
        return 2
    try:
        run_script(opts.script, opts.args, seed=opts.seed, cnet_nets=opts.cnet_nets,
                   trust_pickles=opts.trust_pickles)
    except SystemExit as exc:
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception:  # the script's own error: its traceback, as `python SCRIPT` shows it
        traceback.print_exc()
        return 1
    return 0


def convert_main(argv=None, prog="cnet convert"):
    """``cnet convert IN.pkl OUT.cnet.npz``: the book's parameter pickle to cnet's safe format."""
    p = argparse.ArgumentParser(
        prog=prog, description="Convert the book's parameter pickle (params.pkl, deep_convnet_params.pkl) "
                               "to cnet's safe format, read with an allow-list unpickler: a pickle naming "
                               "anything but arrays, numbers, strings and containers is refused.")
    p.add_argument("source", help="the book's .pkl file (a dict of named arrays)")
    p.add_argument("destination", help="the cnet parameter file to write (e.g. params.cnet.npz)")
    p.add_argument("--network", help="the network's class name recorded in the file (e.g. SimpleConvNet)")
    opts = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        params = pickles.convert(opts.source, opts.destination, network=opts.network)
    except ValueError as exc:       # a refused or malformed file: the user's to fix, said in one line
        raise UserError(str(exc)) from None
    total = sum(int(np.asarray(a).size) for a in params.values())
    print(f"{opts.destination}: {len(params)} arrays ({', '.join(params)}), {total:,} numbers")
    return 0
