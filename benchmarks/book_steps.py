"""CPU time of one Trainer step of the book's training scripts: the book's own code against cnet.book.

    python benchmarks/book_steps.py BOOK_REPO [--net simple deep] [--steps 10] [--rounds 3]
                                    [--python PYTHON ...] [--cnet-nets]

The step of ch07/train_convnet.py (SimpleConvNet) and ch08/train_deepnet.py (DeepConvNet): a mini-batch
of 100 drawn with replacement, gradient, Adam update, the loss measured again -- float64, one thread
(OMP/OPENBLAS/MKL_NUM_THREADS=1). The book's run imports the book's own common/ and network file; the
cnet run imports the same network file with common/ served by cnet.book (as ``python -m cnet.book``
does). --cnet-nets times cnet.book's own network classes too (the chapter's helper module served by
cnet.book, as ``python -m cnet.book --cnet-nets`` does: its layers chained like a model's). Each run is a
fresh process; the runs alternate (book, cnet, book, cnet, ...) so that both see the same machine. Time
is the process's CPU time per step (time.process_time), which other jobs on a shared machine disturb much
less than wall time (book_compare.py measures wall time between printed lines). --python runs the cnet
side under other interpreters too (another checkout's venv: before and after a change, in the same
sitting). Prints the median and best step of each run.
"""
import argparse
import os
import statistics
import subprocess
import sys

_STEP = r'''
import os, sys, time
import numpy as np
repo, chapter, module, cls, side, steps = sys.argv[1:7]
if side in ("cnet", "cnet-nets"):
    from cnet.book._runner import BookImportHook, _chapter_nets
    nets = _chapter_nets(os.path.join(repo, chapter)) if side == "cnet-nets" else None
    sys.meta_path.insert(0, BookImportHook(nets))
    sys.path.insert(0, os.path.join(repo, chapter))
else:
    sys.path[:0] = [repo, os.path.join(repo, chapter)]
os.chdir(os.path.join(repo, chapter))
Net = getattr(__import__(module), cls)
from dataset.mnist import load_mnist
from common.optimizer import Adam
(x_train, t_train), _ = load_mnist(flatten=False)
np.random.seed(0)
net, opt = Net(), Adam(lr=0.001)

def step():
    batch = np.random.choice(x_train.shape[0], 100)
    x, t = x_train[batch], t_train[batch]
    opt.update(net.params, net.gradient(x, t))
    return net.loss(x, t)

for _ in range(2):
    step()
times = []
for _ in range(int(steps)):
    t0 = time.process_time()
    step()
    times.append(time.process_time() - t0)
print(" ".join("%.6f" % t for t in times))
'''

NETS = {"simple": ("ch07", "simple_convnet", "SimpleConvNet"), "deep": ("ch08", "deep_convnet", "DeepConvNet")}


def run(python, repo, net, side, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([python, "-c", _STEP, os.path.abspath(repo), *NETS[net], side, str(steps)],
                         env=env, capture_output=True, text=True, check=True).stdout
    return [float(t) * 1e3 for t in out.split()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("book_repo")
    p.add_argument("--net", nargs="*", choices=sorted(NETS), default=["simple", "deep"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--python", nargs="*", default=[sys.executable],
                   help="interpreters whose cnet runs the cnet side (default: this one)")
    p.add_argument("--cnet-nets", action="store_true",
                   help="also time cnet.book's own network classes (python -m cnet.book --cnet-nets)")
    a = p.parse_args()
    for net in a.net:
        medians = {}
        for r in range(a.rounds):
            sides = [("book", sys.executable, "book")] + [(f"cnet.book ({py})", py, "cnet") for py in a.python]
            if a.cnet_nets:
                sides += [(f"cnet.book --cnet-nets ({py})", py, "cnet-nets") for py in a.python]
            for label, python, side in sides:
                times = run(python, a.book_repo, net, side, a.steps)
                medians.setdefault(label, []).append(statistics.median(times))
                print(f"{net} round {r + 1}: {label}: step CPU median {statistics.median(times):.1f} ms, "
                      f"best {min(times):.1f} ms", flush=True)
        book = statistics.median(medians["book"])
        for label, values in medians.items():
            if label != "book":
                print(f"{net}: book {book:.1f} ms / {label} {statistics.median(values):.1f} ms = "
                      f"{book / statistics.median(values):.2f}x (medians of {a.rounds} runs)", flush=True)


if __name__ == "__main__":
    main()
