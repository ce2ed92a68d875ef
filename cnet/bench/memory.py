"""cnet-bench's peak-memory figure: a fresh process loads MNIST, builds the Keras convnet ('cnn') and trains a
few steps; its peak resident memory (VmHWM) comes back as one JSON line."""
import json
import os
import resource
import subprocess
import sys

import numpy as np

import cnet
from cnet import ops

from .e2e import MNIST_TRAIN, cnet_model


def run_memory(suite):
    """Peak resident memory of a training process (MNIST + Keras convnet + batch 128), in a subprocess."""
    steps = suite.mode["mem_steps"]
    batch = 128 if suite.mode["name"] != "smoke" else 8
    suite.out(f"  peak memory: subprocess loading MNIST ({'real' if os.environ.get('CNET_DATA') else 'synthetic'}), "
              f"building the Keras convnet ('cnn') and training {steps} steps of batch {batch} (C backend, "
              f"{max(suite.threads)} threads) ...")
    arg = json.dumps({"steps": steps, "batch": batch, "threads": max(suite.threads), "seed": suite.args.seed})
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(cnet.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        p = subprocess.run([sys.executable, "-c", "import sys, cnet.bench.memory as m; m.memory_child(sys.argv[1])",
                            arg], capture_output=True, text=True, timeout=600, env=env)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("CNET_BENCH_MEMORY ")]
        if p.returncode != 0 or not line:
            raise RuntimeError(f"exit code {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}")
        rec = json.loads(line[-1].split(" ", 1)[1])
    except Exception as exc:
        rec = {"status": "skipped", "reason": f"memory subprocess failed: {exc}"}
    suite.results["memory"] = rec
    if rec.get("status") == "ok":
        mb = lambda k: f"{rec[k] / 1024:.0f} MB" if rec.get(k) is not None else "-"  # noqa: E731
        # VmHWM is the figure: Linux carries ru_maxrss across fork+exec, so the child's ru_maxrss can
        # include the parent's RSS at the fork.
        suite.out(f"    peak RSS (VmHWM) {mb('vmhwm_kb')} (ru_maxrss {mb('peak_rss_kb')}); after imports "
                  f"{mb('rss_after_import_kb')}, after data {mb('rss_after_data_kb')}, after model "
                  f"{mb('rss_after_model_kb')}; data {rec.get('data')}")
    else:
        suite.out(f"    skipped: {rec.get('reason')}")
        suite.results["skipped"].append({"section": "e2e", "case": "memory", "reason": rec.get("reason")})


def _vm(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_child(arg):
    """Run in a fresh process: load MNIST, build and train the Keras convnet, print the peak RSS as JSON."""
    a = json.loads(arg)
    rec = {"status": "ok", "rss_after_import_kb": _vm("VmRSS"), "steps": a["steps"], "batch": a["batch"],
           "threads": a["threads"]}
    cnet.set_num_threads(a["threads"])
    ops.set_backend("c")
    data = "synthetic"
    x = None
    if os.environ.get("CNET_DATA"):
        try:
            from cnet.datasets import mnist
            xt, yt = mnist.load_data()[0]      # the test set is not kept: nothing here evaluates
            data = "mnist"
        except Exception as exc:
            data = f"synthetic (MNIST failed: {exc.__class__.__name__})"
            xt = None
        if xt is not None:
            # as Keras's mnist_cnn.py does (x_train = x_train.astype('float32'); x_train /= 255): the
            # float32 copy replaces the uint8 images, which are not kept beside it
            x = xt.reshape(-1, 1, 28, 28).astype(np.float32)
            y = yt.astype(np.int64)
            del xt, yt
            x /= np.float32(255)
    if x is None:
        rng = np.random.default_rng(a["seed"])
        x = rng.random((MNIST_TRAIN, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, MNIST_TRAIN).astype(np.int64)
    rec["data"] = data
    rec["rss_after_data_kb"] = _vm("VmRSS")
    try:
        model = cnet_model("cnn", a["seed"])
        rec["rss_after_model_kb"] = _vm("VmRSS")
        b = a["batch"]
        for i in range(a["steps"]):
            j = (i * b) % (len(x) - b)
            model.train_on_batch(x[j:j + b], y[j:j + b])
    except Exception as exc:
        rec["status"] = "skipped"
        rec["reason"] = f"Keras convnet unavailable: {exc.__class__.__name__}: {exc}"
    rec["vmhwm_kb"] = _vm("VmHWM")
    rec["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    print("CNET_BENCH_MEMORY " + json.dumps(rec), flush=True)
