"""Run the scripts of "Deep Learning from Scratch" (chapters 3-8) twice, with the book's own code and under
``python -m cnet.book``, and compare what they print and draw.

    python benchmarks/book_compare.py BOOK_REPO [--only ch07/train_convnet.py ...] [--seed 0]
                                       [--cnet-nets] [--out DIR] [--cap LINES]

BOOK_REPO is a checkout of github.com/oreilly-japan/deep-learning-from-scratch whose dataset/ folder
holds the four MNIST .gz files (the book's loader converts them to dataset/mnist.pkl on first use);
cnet reads MNIST from $CNET_DATA. Both runs:
- start from ``np.random.seed(SEED)`` (the book's code: a driver calls it, then runs the script with
  runpy as __main__ from its folder; cnet: ``python -m cnet.book --seed SEED SCRIPT``);
- run one thread (OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1), unbuffered;
- draw with a matplotlib backend whose show() saves every open figure as a PNG and closes it.
Long scripts are capped without touching them: both runs are stopped once they have printed the
script's line cap (the table below), and the lines both printed are compared. A line matches when its
text is the same and every number in it agrees within |a - b| <= atol + rtol * |b| (float64 rounding
aside: the kernels sum in another order; numerical-gradient figures carry ~1e-12 of rounding noise).
Figures are compared pixel by pixel. For the training scripts the time between consecutive
"train loss:" lines (one Trainer step each; the steps that evaluate accuracy are left out) is the
step time. Prints a markdown table and writes logs and figures under --out.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# script, line cap (None: run to the end), atol, notes
SCRIPTS = [
    ("ch03/mnist_show.py", None, 0.0, "PIL's Image.show(); no figure window"),
    ("ch03/neuralnet_mnist.py", None, 0.0, "the script's own pickle.load of sample_weight.pkl"),
    ("ch03/neuralnet_mnist_batch.py", None, 0.0, ""),
    ("ch04/gradient_simplenet.py", None, 1e-9, ""),
    ("ch04/train_neuralnet.py", 6, 0.0, "first 6 of 17 epoch lines"),
    ("ch04/two_layer_net.py", None, 0.0, "helper module (defines TwoLayerNet)"),
    ("ch05/gradient_check.py", None, 1e-9, ""),
    ("ch05/train_neuralnet.py", 6, 0.0, "first 6 of 17 epoch lines"),
    ("ch05/two_layer_net.py", None, 0.0, "helper module"),
    ("ch06/batch_norm_gradient_check.py", None, 1e-9, ""),
    ("ch06/batch_norm_test.py", 42, 0.0, "first 2 of 16 weight scales"),
    ("ch06/hyperparameter_optimization.py", 4, 0.0, "first 4 of 100 trials"),
    ("ch06/optimizer_compare_mnist.py", 25, 0.0, "iterations 0-400 of 2000"),
    ("ch06/optimizer_compare_naive.py", None, 0.0, "figures only"),
    ("ch06/overfit_dropout.py", 60, 0.0, "first 60 lines (15 epochs of 301)"),
    ("ch06/overfit_weight_decay.py", 30, 0.0, "first 30 of 201 epochs"),
    ("ch06/weight_init_compare.py", 20, 0.0, "iterations 0-400 of 2000"),
    ("ch07/apply_filter.py", None, 0.0, "figures only; reads params.pkl"),
    ("ch07/gradient_check.py", None, 1e-9, ""),
    ("ch07/simple_convnet.py", None, 0.0, "helper module"),
    ("ch07/train_convnet.py", 42, 0.0, "first 40 steps of 12,000"),
    ("ch07/visualize_filter.py", None, 0.0, "figures only; reads params.pkl"),
    ("ch08/deep_convnet.py", None, 0.0, "helper module"),
    ("ch08/half_float_network.py", None, 0.0, "reads deep_convnet_params.pkl"),
    ("ch08/misclassified_mnist.py", None, 0.0, "reads deep_convnet_params.pkl"),
    ("ch08/train_deepnet.py", 22, 0.0, "first 20 steps of 12,000"),
]
RTOL = 1e-6

_BACKEND = '''
import os
import matplotlib.pyplot as plt
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase
_saved = [0]


def show(*args, **kwargs):
    for num in plt.get_fignums():
        _saved[0] += 1
        plt.figure(num).savefig(os.path.join(os.environ["BOOK_FIG_DIR"], "fig%02d.png" % _saved[0]))
    plt.close("all")
'''

_BOOK_DRIVER = ("import os, sys, runpy, numpy as np; np.random.seed(int(sys.argv[2])); p = sys.argv[1]; "
                "sys.argv = [p]; runpy.run_path(p, run_name='__main__')")

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")      # object addresses in reprs differ from run to run
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def run(cmd, cwd, env, cap, log, timeout):
    """Run cmd, stopping it after cap lines; returns (lines with their times, return code or 'capped')."""
    start = time.perf_counter()
    lines = []
    with open(log + ".err", "w") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                lines.append((time.perf_counter() - start, line.rstrip("\n")))
                if cap is not None and len(lines) >= cap:
                    proc.kill()
                    break
        finally:
            timer.cancel()
            proc.stdout.close()
            code = proc.wait()
    with open(log, "w") as f:
        f.writelines(f"{t:9.3f}  {text}\n" for t, text in lines)
    capped = cap is not None and len(lines) >= cap
    return lines, ("capped" if capped else code), time.perf_counter() - start


def same_line(a, b, atol):
    """(text equal, largest relative difference of the numbers, numbers within tolerance)."""
    a, b = _ADDRESS.sub("0x?", a), _ADDRESS.sub("0x?", b)
    na, nb = _NUMBER.findall(a), _NUMBER.findall(b)
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b) or len(na) != len(nb):
        return False, None, False
    worst, ok = 0.0, True
    for x, y in zip(map(float, na), map(float, nb)):
        diff = abs(x - y)
        worst = max(worst, diff / abs(y) if y else diff)
        ok = ok and diff <= atol + RTOL * abs(y)
    return True, worst, ok


def compare_lines(book, mine, atol):
    n = min(len(book), len(mine))
    worst, bad = 0.0, []
    for i in range(n):
        text_ok, rel, ok = same_line(book[i][1], mine[i][1], atol)
        if not ok:
            bad.append(i)
        if rel is not None:
            worst = max(worst, rel)
    return n, worst, bad


def compare_figures(dir_a, dir_b):
    from matplotlib.image import imread
    import numpy as np
    a = sorted(f for f in os.listdir(dir_a) if f.endswith(".png"))
    b = sorted(f for f in os.listdir(dir_b) if f.endswith(".png"))
    if a != b:
        return f"figures differ in number ({len(a)} vs {len(b)})", False
    diffs = []
    for name in a:
        x, y = imread(os.path.join(dir_a, name)), imread(os.path.join(dir_b, name))
        if x.shape != y.shape:
            return f"{name}: sizes differ", False
        diffs.append(int(np.count_nonzero(np.abs(x - y).max(axis=-1) > 1 / 255)))
    return f"{len(a)} figures, {sum(diffs)} differing pixels", sum(diffs) == 0


def step_times(lines):
    """Seconds between consecutive 'train loss:' lines with no epoch evaluation between them."""
    times, prev = [], None
    for t, text in lines:
        if text.startswith("train loss:"):
            if prev is not None:
                times.append(t - prev)
            prev = t
        elif prev is not None:
            prev = None
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("book_repo")
    p.add_argument("--only", nargs="*", help="scripts to run (default: all of the table)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cnet-nets", action="store_true", help="pass --cnet-nets to python -m cnet.book")
    p.add_argument("--out", default=None, help="folder for logs and figures (default: a temporary one)")
    p.add_argument("--timeout", type=float, default=900, help="seconds a run may take at most")
    p.add_argument("--cap", type=int, help="stop every run after this many printed lines (default: the table's)")
    opts = p.parse_args()
    out = opts.out or tempfile.mkdtemp(prefix="book_compare_")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "book_figsave.py"), "w") as f:
        f.write(_BACKEND)
    rows = []
    for script, cap, atol, notes in SCRIPTS:
        if opts.only and script not in opts.only:
            continue
        cap = opts.cap if opts.cap is not None else cap
        path = os.path.join(os.path.abspath(opts.book_repo), script)
        results = {}
        for kind in ("book", "cnet"):
            tag = os.path.join(out, script.replace("/", "_")[:-3] + "." + kind)
            os.makedirs(tag + ".figs", exist_ok=True)
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                       PYTHONUNBUFFERED="1", MPLBACKEND="module://book_figsave", BOOK_FIG_DIR=tag + ".figs",
                       PYTHONPATH=os.pathsep.join(filter(None, [out, os.environ.get("PYTHONPATH")])))
            if kind == "book":
                cmd = [sys.executable, "-c", _BOOK_DRIVER, path, str(opts.seed)]
            else:
                cmd = [sys.executable, "-m", "cnet.book", "--seed", str(opts.seed)]
                cmd += ["--cnet-nets"] if opts.cnet_nets else []
                cmd += [path]
            results[kind] = run(cmd, os.path.dirname(path), env, cap, tag + ".log", opts.timeout)
        (book, book_code, book_s), (mine, mine_code, mine_s) = results["book"], results["cnet"]
        n, worst, bad = compare_lines(book, mine, atol)
        figs, figs_ok = compare_figures(*(os.path.join(out, script.replace("/", "_")[:-3] + f".{k}.figs")
                                          for k in ("book", "cnet")))
        runs = mine_code in (0, "capped")
        same = runs and book_code == mine_code and not bad and len(book) == len(mine) and figs_ok
        detail = f"{n} lines" + (f", max rel. diff {worst:.1e}" if n else "") + f"; {figs}"
        if bad:
            detail += f"; lines differing: {[i + 1 for i in bad[:5]]}"
        if book_code != mine_code:
            detail += f"; exit: book {book_code}, cnet {mine_code}"
        timing = ""
        sb, sm = step_times(book), step_times(mine)
        if sb and sm:
            timing = (f"step median {statistics.median(sb) * 1e3:.0f} ms vs {statistics.median(sm) * 1e3:.0f} ms "
                      f"(best {min(sb) * 1e3:.0f} vs {min(sm) * 1e3:.0f}, {len(sm)} steps): "
                      f"{statistics.median(sb) / statistics.median(sm):.1f}x")
        rows.append((script, "y" if runs else "n", "y" if same else "n",
                     "; ".join(filter(None, [notes, detail, timing])), f"{book_s:.1f} s / {mine_s:.1f} s"))
        print(f"| {' | '.join(rows[-1])} |", flush=True)
    print("\n| script | runs | same figures | notes | wall time book / cnet |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    print(f"\nlogs and figures: {out}")


if __name__ == "__main__":
    main()
