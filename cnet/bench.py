"""cnet's benchmark suite: ``cnet-bench`` (installed) or ``python -m benchmarks`` (repository root).

Sections (select with ``--only``):

- machine: CPU, flags, CPUs, OpenMP runtime, cnet's SIMD path, numpy/BLAS (threadpoolctl), torch, and the
  measured float32 GEMM peak (numpy.matmul on 1024/2048 squares at each thread count).
- kernels: forward and backward of every op at the shapes of the bundled models, on the C backend, the NumPy
  reference and (when importable) PyTorch's CPU kernels, at each thread count.
- gemm: the layers' matrix products (forward X.W, weight gradient X^T.dY, input gradient dY.W^T) and square
  1024 through cnet.ops.gemm against numpy.matmul on the transposed views (and torch.mm).
- e2e: training images/s and seconds per MNIST epoch of each bundled model, inference throughput and
  single-image latency, peak memory of a training process (subprocess), thread scaling.

Timing: a warm-up, then rounds in which every contender (backend x threads) runs in turn -- one untimed
"settle" call (it absorbs the previous contender's spinning worker threads) then the timed samples -- so
ratios come from the same minute. Each sample times enough calls to last at least ``min_time``. Figures are
medians with the interquartile range; every raw sample goes to the JSON file.

The implementation lives here, inside the installed package, so that ``cnet-bench`` works after
``pip install .``; ``benchmarks/__main__.py`` in the repository is a thin wrapper around :func:`main`.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

import cnet
from cnet import ops

SECTIONS = ("machine", "kernels", "gemm", "e2e")
MNIST_TRAIN = 60000
F32 = 4  # bytes


# ================================================================================================
# Modes
# ================================================================================================

def _mode(name):
    """Sizes and repeat counts of a mode: 'full', 'quick' (< 2 min) or 'smoke' (< 20 s, for the tests)."""
    if name == "full":
        return dict(name="full", kernel_batches=(1, 32, 128), gemm_batch=128, squares=(1024,),
                    peak_sizes=(1024, 2048), e2e_batch=128, infer_batch=1000, warmup=2, rounds=7,
                    per_round=1, settle=1, min_time=0.02, e2e_rounds=4, e2e_per_round=2, e2e_warmup=2,
                    latency_rounds=5, mem_steps=20, kernel_filter=None, gemm_filter=None,
                    # the bundled models with their cnet-train optimizers, and the Keras convnet with Adam
                    models=("softmax", "mlp", "cnn", "cnn:adam", "simple_convnet", "deep_convnet"))
    if name == "quick":
        return dict(name="quick", kernel_batches=(32,), gemm_batch=32, squares=(1024,),
                    peak_sizes=(1024,), e2e_batch=32, infer_batch=100, warmup=1, rounds=3,
                    per_round=1, settle=1, min_time=0.005, e2e_rounds=2, e2e_per_round=1, e2e_warmup=1,
                    latency_rounds=3, mem_steps=3, kernel_filter=None, gemm_filter=None, models=None)
    if name == "smoke":
        return dict(name="smoke", kernel_batches=(1,), gemm_batch=1, squares=(128,),
                    peak_sizes=(256,), e2e_batch=2, infer_batch=4, warmup=0, rounds=1,
                    per_round=1, settle=0, min_time=0.0, e2e_rounds=1, e2e_per_round=1, e2e_warmup=0,
                    latency_rounds=1, mem_steps=1,
                    kernel_filter={"softmax", "simple_convnet.conv", "simple_convnet.pool"},
                    gemm_filter={"softmax"},
                    models=("softmax",))
    raise ValueError(name)


# ================================================================================================
# Thread and backend control
# ================================================================================================

class _Threads:
    """Sets cnet's threads, the BLAS's threads (threadpoolctl) and torch's threads before each call."""

    def __init__(self):
        self.note = None
        self._blas = None
        try:
            import threadpoolctl
            self._blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
        except Exception as exc:  # threadpoolctl is optional
            self.note = (f"threadpoolctl unavailable ({exc.__class__.__name__}): the NumPy BLAS "
                         "runs with its default thread count")
        self._orig = None
        if self._blas is not None:
            self._orig = [lc.num_threads for lc in self._blas.lib_controllers]

    def set(self, n, torch_mod=None):
        cnet.set_num_threads(n)
        if self._blas is not None:
            for lc in self._blas.lib_controllers:
                lc.set_num_threads(n)
        if torch_mod is not None:
            torch_mod.set_num_threads(n)

    def restore(self):
        cnet.set_num_threads(None)
        if self._blas is not None:
            for lc, n in zip(self._blas.lib_controllers, self._orig):
                lc.set_num_threads(n)


def _import_torch(enabled):
    if not enabled:
        return None, "disabled with --no-torch"
    try:
        import torch
        return torch, None
    except Exception as exc:
        return None, f"torch not importable ({exc.__class__.__name__}: {exc})"


# ================================================================================================
# Timing
# ================================================================================================

def _stats(samples):
    a = np.asarray(samples, dtype=np.float64)
    if a.size == 0:
        return {}
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return {"median_s": float(med), "q1_s": float(q1), "q3_s": float(q3),
            "min_s": float(a.min()), "max_s": float(a.max()), "n": int(a.size)}


def _sample(fn, min_time):
    """One timed sample: call fn until min_time has passed (at least once); (seconds per call, calls).

    The clock is read after every call rather than calibrating a call count beforehand: on a busy
    machine one slow call would otherwise turn a planned 5 ms sample into seconds."""
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return elapsed / n, n


def _interleaved(contenders, mode, warmup=None, rounds=None, per_round=None, settle=None,
                 min_time=None):
    """Time contenders in interleaved rounds.

    contenders: list of dicts with 'key', 'enter' (sets backend/threads; untimed) and 'fn' (the call).
    Returns {key: {'samples': [seconds per call], 'calls': [calls per sample]} or {'error': reason}}.
    """
    warmup = mode["warmup"] if warmup is None else warmup
    rounds = mode["rounds"] if rounds is None else rounds
    per_round = mode["per_round"] if per_round is None else per_round
    settle = mode["settle"] if settle is None else settle
    min_time = mode["min_time"] if min_time is None else min_time
    out = {}
    live = []
    for c in contenders:
        try:
            c["enter"]()
            for _ in range(max(1, warmup)):   # at least one call: a failing contender fails here
                c["fn"]()
        except Exception as exc:
            out[c["key"]] = {"error": f"{exc.__class__.__name__}: {exc}"}
            continue
        out[c["key"]] = {"samples": [], "calls": []}
        live.append(c)
    for _ in range(rounds):
        for c in live:
            rec = out[c["key"]]
            if "error" in rec:
                continue
            fn = c["fn"]
            try:
                c["enter"]()
                for _ in range(settle):
                    fn()
                for _ in range(per_round):
                    s, n = _sample(fn, min_time)
                    rec["samples"].append(s)
                    rec["calls"].append(n)
            except Exception as exc:
                out[c["key"]] = {"error": f"{exc.__class__.__name__}: {exc}"}
    return out


def _fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms"
    return f"{s:.3f}s"


def _fmt_x(r):
    return "-" if r is None else f"{r:.2f}x"


# ================================================================================================
# Machine
# ================================================================================================

FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16")


def _cpu_info():
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine(), platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return model, {f: (f in flags) for f in FLAGS} if flags else {}


def _git_commit():
    root = os.path.dirname(os.path.dirname(os.path.abspath(cnet.__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(torch_mod, torch_note, threads_ctl):
    model, flags = _cpu_info()
    info = {
        "cpu": model, "flags": flags, "cpus_usable": cnet.cpu_count(), "os_cpu_count": os.cpu_count(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "cnet": cnet.__version__, "git": _git_commit(),
        "numpy": np.__version__,
    }
    try:
        from cnet import _info
        cfg = _info.config()
        info.update({"openmp": cfg.get("openmp"), "openmp_runtime": cfg.get("openmp_runtime"),
                     "cnet_threads": cfg.get("threads"), "simd": cfg.get("simd")})
    except Exception as exc:
        info["config_error"] = repr(exc)
    with ops.use_backend("c"):
        info["op_backends"] = ops.op_backends()
    try:
        import threadpoolctl
        info["threadpools"] = [{k: d.get(k) for k in ("user_api", "internal_api", "version",
                                                      "num_threads", "threading_layer", "architecture",
                                                      "filepath")}
                               for d in threadpoolctl.threadpool_info()]
    except Exception as exc:
        info["threadpools"] = None
        info["threadpools_note"] = f"threadpoolctl unavailable ({exc.__class__.__name__})"
    info["torch"] = torch_mod.__version__ if torch_mod is not None else None
    info["torch_note"] = torch_note
    if threads_ctl.note:
        info["threads_note"] = threads_ctl.note
    return info


def measure_peak(mode, threads, ctl, seed):
    """numpy.matmul float32 on squares: GFLOP/s per (size, threads); the peak is the best per thread count."""
    rng = np.random.default_rng(seed)
    rows, peak = [], {}
    for size in mode["peak_sizes"]:
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        c = np.empty((size, size), dtype=np.float32)
        cons = [{"key": t, "enter": (lambda t=t: ctl.set(t)), "fn": (lambda: np.matmul(a, b, out=c))}
                for t in threads]
        res = _interleaved(cons, mode, warmup=1, rounds=max(3, mode["rounds"]), min_time=0.0)
        for t in threads:
            st = _stats(res[t].get("samples", []))
            gf = 2.0 * size ** 3 / st["median_s"] / 1e9 if st else None
            best = 2.0 * size ** 3 / st["min_s"] / 1e9 if st else None
            rows.append({"size": size, "threads": t, "gflops": gf, "gflops_best": best, **st})
            if best is not None:
                # The peak is the best sample: what the machine can do, not what a busy minute allowed.
                peak[t] = max(peak.get(t, 0.0), best)
    return rows, peak


def machine_line(info, peak):
    flags = " ".join(f for f, on in info.get("flags", {}).items() if on) or "?"
    blas = []
    for d in info.get("threadpools") or []:
        if d.get("user_api") == "blas":
            blas.append(f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, "
                        f"{d.get('num_threads')} thr)")
    blas_s = ", ".join(blas) or info.get("threadpools_note", "BLAS unknown")
    git = info.get("git")
    git_s = (git["commit"][:10] + ("+dirty" if git["dirty"] else "")) if git else "n/a"
    peak_s = ", ".join(f"{t} thr {g:.0f} GFLOP/s" for t, g in sorted(peak.items())) or "not measured"
    return (f"CPU: {info['cpu']} [{flags}] | CPUs usable: {info['cpus_usable']} | "
            f"OpenMP: {info.get('openmp_runtime')} ({info.get('cnet_threads')} thr) | "
            f"cnet {info['cnet']} @ {git_s}, SIMD {info.get('simd')} | numpy {info['numpy']}, {blas_s} | "
            f"torch {info['torch'] or 'absent'} | fp32 GEMM peak (numpy.matmul): {peak_s}")


# ================================================================================================
# Kernel cases
# ================================================================================================

class Case:
    """One op at one shape: how to build its inputs, call it through cnet.ops and through torch."""

    def __init__(self, model, layer, op, direction, shape, flops=None, nbytes=None, setup=None, torch=None):
        self.model, self.layer, self.op, self.direction = model, layer, op, direction
        self.shape, self.flops, self.nbytes = shape, flops, nbytes
        self.setup = setup      # rng -> (callable through cnet.ops, state dict for torch)
        self.torch = torch      # (torch, state) -> callable, or None
        self.also = []

    @property
    def name(self):
        return f"{self.model}.{self.layer}.{self.direction}"

    @property
    def dedup_key(self):
        return (self.op, self.direction, self.shape)


def _f32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))


def _conv(model, layer, n, c, h, w, k, ks, pad):
    oh, ow = h + 2 * pad - ks + 1, w + 2 * pad - ks + 1
    shape = f"x({n},{c},{h},{w}) w({k},{c},{ks},{ks}) pad {pad}"
    fl = 2.0 * n * k * oh * ow * c * ks * ks

    def setup_f(rng):
        x, wt, b = _f32(rng, n, c, h, w), _f32(rng, k, c, ks, ks, scale=0.1), _f32(rng, k)
        y = np.empty((n, k, oh, ow), np.float32)
        return (lambda: ops.conv2d_forward(x, wt, b, 1, pad)), dict(
            x=x, w=wt, b=b, c_call=lambda: ops.conv2d_forward(x, wt, b, 1, pad, out=y))

    def setup_b(rng):
        x, wt, dy = _f32(rng, n, c, h, w), _f32(rng, k, c, ks, ks, scale=0.1), _f32(rng, n, k, oh, ow)
        outs = (np.empty_like(x), np.empty_like(wt), np.empty(k, np.float32))
        return (lambda: ops.conv2d_backward(dy, x, wt, 1, pad)), dict(
            x=x, w=wt, dy=dy, c_call=lambda: ops.conv2d_backward(dy, x, wt, 1, pad, out=outs))

    def torch_f(torch, s):
        x, wt, b = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "b"))
        return lambda: torch.nn.functional.conv2d(x, wt, b, 1, pad)

    def torch_b(torch, s):
        x, wt, dy = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "dy"))
        return lambda: torch.ops.aten.convolution_backward(dy, x, wt, [k], [1, 1], [pad, pad], [1, 1], False,
                                                           [0, 0], 1, [True, True, True])
    return [Case(model, layer, "conv2d", "fwd", shape, fl, None, setup_f, torch_f),
            Case(model, layer, "conv2d", "bwd", shape, 2 * fl, None, setup_b, torch_b)]


def _dense(model, layer, n, d, u):
    shape = f"x({n},{d}) w({d},{u})"
    fl = 2.0 * n * d * u

    def setup_f(rng):
        x, wt, b = _f32(rng, n, d), _f32(rng, d, u, scale=0.05), _f32(rng, u)
        y = np.empty((n, u), np.float32)
        return (lambda: ops.affine_forward(x, wt, b)), dict(
            x=x, w=wt, b=b, c_call=lambda: ops.affine_forward(x, wt, b, out=y))

    def setup_b(rng):
        x, wt, dy = _f32(rng, n, d), _f32(rng, d, u, scale=0.05), _f32(rng, n, u)
        outs = (np.empty_like(x), np.empty_like(wt), np.empty(u, np.float32))
        return (lambda: ops.affine_backward(dy, x, wt)), dict(
            x=x, w=wt, dy=dy, c_call=lambda: ops.affine_backward(dy, x, wt, out=outs))

    def torch_f(torch, s):
        x, wt, b = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "b"))
        return lambda: torch.addmm(b, x, wt)

    def torch_b(torch, s):
        x, wt, dy = (torch.from_numpy(s[k_]) for k_ in ("x", "w", "dy"))
        return lambda: (torch.mm(dy, wt.t()), torch.mm(x.t(), dy), dy.sum(0))
    return [Case(model, layer, "affine", "fwd", shape, fl, None, setup_f, torch_f),
            Case(model, layer, "affine", "bwd", shape, 2 * fl, None, setup_b, torch_b)]


def _relu(model, layer, shape_t):
    size = int(np.prod(shape_t))
    shape = f"x{shape_t}"

    def setup_f(rng):
        x = _f32(rng, *shape_t)
        y = np.empty_like(x)
        return (lambda: ops.relu_forward(x)), dict(x=x, c_call=lambda: ops.relu_forward(x, out=y))

    def setup_b(rng):
        dy, y = _f32(rng, *shape_t), np.maximum(_f32(rng, *shape_t), 0)
        dx = np.empty_like(dy)
        return (lambda: ops.relu_backward(dy, y)), dict(dy=dy, y=y, c_call=lambda: ops.relu_backward(dy, y, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.relu(x)

    def torch_b(torch, s):
        dy, y = torch.from_numpy(s["dy"]), torch.from_numpy(s["y"])
        return lambda: torch.ops.aten.threshold_backward(dy, y, 0)
    return [Case(model, layer, "relu", "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
            Case(model, layer, "relu", "bwd", shape, None, 3 * size * F32, setup_b, torch_b)]


def _unary(model, layer, op, shape_t):
    """sigmoid/tanh/softmax forward and backward (torch: the aten forward and backward kernels)."""
    size = int(np.prod(shape_t))
    shape = f"x{shape_t}"
    fwd, bwd = getattr(ops, op + "_forward"), getattr(ops, op + "_backward")

    def setup_f(rng):
        x = _f32(rng, *shape_t)
        y = np.empty_like(x)
        return (lambda: fwd(x)), dict(x=x, c_call=lambda: fwd(x, out=y))

    def setup_b(rng):
        dy, x = _f32(rng, *shape_t), _f32(rng, *shape_t)
        from cnet import reference
        y = getattr(reference, op + "_forward")(x)
        dx = np.empty_like(dy)
        return (lambda: bwd(dy, y)), dict(dy=dy, y=y, c_call=lambda: bwd(dy, y, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "softmax": lambda v: torch.softmax(v, -1)}[op]
        return lambda: f(x)

    def torch_b(torch, s):
        dy, y = torch.from_numpy(s["dy"]), torch.from_numpy(s["y"])
        aten = torch.ops.aten
        if op == "softmax":
            return lambda: aten._softmax_backward_data(dy, y, -1, torch.float32)
        f = {"sigmoid": aten.sigmoid_backward, "tanh": aten.tanh_backward}[op]
        return lambda: f(dy, y)
    return [Case(model, layer, op, "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
            Case(model, layer, op, "bwd", shape, None, 3 * size * F32, setup_b, torch_b)]


def _maxpool(model, layer, shape_t, p=2):
    n, c, h, w = shape_t
    size = n * c * h * w
    osize = size // (p * p)
    shape = f"x{shape_t} {p}x{p}"

    def setup_f(rng):
        x = _f32(rng, *shape_t)
        oshape = (n, c, h // p, w // p)
        outs = (np.empty(oshape, np.float32), np.empty(oshape, np.int64))
        return (lambda: ops.maxpool2d_forward(x, p, p)), dict(
            x=x, c_call=lambda: ops.maxpool2d_forward(x, p, p, out=outs))

    def setup_b(rng):
        from cnet import reference
        x = _f32(rng, *shape_t)
        y, argmax = reference.maxpool2d_forward(x, p, p)
        dy = _f32(rng, *y.shape)
        dx = np.empty_like(x)
        return (lambda: ops.maxpool2d_backward(dy, argmax, x.shape)), dict(
            x=x, dy=dy, c_call=lambda: ops.maxpool2d_backward(dy, argmax, x.shape, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.ops.aten.max_pool2d_with_indices(x, [p, p], [p, p])

    def torch_b(torch, s):
        x, dy = torch.from_numpy(s["x"]), torch.from_numpy(s["dy"])
        _, idx = torch.ops.aten.max_pool2d_with_indices(x, [p, p], [p, p])
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(dy, x, [p, p], [p, p], [0, 0],
                                                                        [1, 1], False, idx)
    byt = size * F32 + osize * (F32 + 8)
    return [Case(model, layer, "maxpool2d", "fwd", shape, None, byt, setup_f, torch_f),
            Case(model, layer, "maxpool2d", "bwd", shape, None, byt, setup_b, torch_b)]


def _dropout(model, layer, shape_t, rate):
    size = int(np.prod(shape_t))
    shape = f"x{shape_t} rate {rate}"

    def setup_f(rng):
        x = _f32(rng, *shape_t)
        outs = (np.empty_like(x), np.empty_like(x))
        return (lambda: ops.dropout_forward(x, rate, 1234)), dict(
            x=x, c_call=lambda: ops.dropout_forward(x, rate, 1234, out=outs))

    def setup_b(rng):
        from cnet import reference
        dy = _f32(rng, *shape_t)
        mask = reference.dropout_mask(shape_t, rate, 1234, np.float32)
        dx = np.empty_like(dy)
        return (lambda: ops.dropout_backward(dy, mask)), dict(
            dy=dy, c_call=lambda: ops.dropout_backward(dy, mask, out=dx))

    def torch_f(torch, s):
        x = torch.from_numpy(s["x"])
        return lambda: torch.ops.aten.native_dropout(x, rate, True)

    def torch_b(torch, s):
        dy = torch.from_numpy(s["dy"])
        _, mask = torch.ops.aten.native_dropout(torch.ones_like(dy), rate, True)
        scale = 1.0 / (1.0 - rate)
        return lambda: torch.ops.aten.native_dropout_backward(dy, mask, scale)
    return [Case(model, layer, "dropout", "fwd", shape, None, 3 * size * F32, setup_f, torch_f),
            Case(model, layer, "dropout", "bwd", shape, None, 3 * size * F32, setup_b, torch_b)]


def _xent(model, n, classes=10):
    shape = f"logits({n},{classes}) int labels"
    size = n * classes

    def setup_f(rng):
        logits, labels = _f32(rng, n, classes), rng.integers(0, classes, n).astype(np.int64)
        return (lambda: ops.softmax_xent_forward(logits, labels)), dict(x=logits, t=labels)

    def setup_b(rng):
        from cnet import reference
        logits, labels = _f32(rng, n, classes), rng.integers(0, classes, n).astype(np.int64)
        probs = reference.softmax_forward(logits)
        return (lambda: ops.softmax_xent_backward(probs, labels)), dict(x=logits, t=labels)

    def torch_f(torch, s):
        x, t = torch.from_numpy(s["x"]), torch.from_numpy(s["t"])
        aten = torch.ops.aten

        def f():
            ls = aten._log_softmax(x, 1, False)
            return aten.nll_loss_forward(ls, t, None, 1, -100), ls
        return f

    def torch_b(torch, s):
        x, t = torch.from_numpy(s["x"]), torch.from_numpy(s["t"])
        aten = torch.ops.aten
        ls = aten._log_softmax(x, 1, False)
        _, tw = aten.nll_loss_forward(ls, t, None, 1, -100)
        one = torch.ones((), dtype=torch.float32)

        def f():
            g = aten.nll_loss_backward(one, ls, t, None, 1, -100, tw)
            return aten._log_softmax_backward_data(g, ls, 1, torch.float32)
        return f
    return [Case(model, "softmax_xent", "softmax_xent", "fwd", shape, None, 2 * size * F32, setup_f, torch_f),
            Case(model, "softmax_xent", "softmax_xent", "bwd", shape, None, 2 * size * F32, setup_b, torch_b)]


def _optimizer(model, name, nparams):
    """One update of every parameter of a model, as one flat vector (per-array call overhead not included)."""
    shape = f"{nparams} params"
    reads = {"sgd": 2, "momentum": 3, "rmsprop": 3, "adam": 4, "adadelta": 4}[name]
    writes = {"sgd": 1, "momentum": 2, "rmsprop": 2, "adam": 3, "adadelta": 3}[name]

    def setup(rng):
        p, g = _f32(rng, nparams), _f32(rng, nparams, scale=0.01)
        s1, s2 = np.zeros(nparams, np.float32), np.zeros(nparams, np.float32)
        state = dict(p=p, g=g)
        if name == "sgd":
            return (lambda: ops.sgd_update(p, g, 0.01)), state
        if name == "momentum":
            return (lambda: ops.momentum_update(p, g, s1, 0.01, 0.9)), state
        if name == "rmsprop":
            return (lambda: ops.rmsprop_update(p, g, s1, 0.001, 0.9, 1e-7)), state
        if name == "adam":
            return (lambda: ops.adam_update(p, g, s1, s2, 0.001, 0.9, 0.999, 1e-7, 1)), state
        return (lambda: ops.adadelta_update(p, g, s1, s2, 1.0, 0.95, 1e-7)), state

    def torch_u(torch, s):
        p = torch.nn.Parameter(torch.from_numpy(s["p"].copy()))
        p.grad = torch.from_numpy(s["g"])
        if name == "sgd":
            opt = torch.optim.SGD([p], lr=0.01, foreach=False)
        elif name == "momentum":
            opt = torch.optim.SGD([p], lr=0.01, momentum=0.9, foreach=False)
        elif name == "rmsprop":
            opt = torch.optim.RMSprop([p], lr=0.001, alpha=0.9, eps=1e-7, foreach=False)
        elif name == "adam":
            opt = torch.optim.Adam([p], lr=0.001, eps=1e-7, foreach=False)
        else:
            opt = torch.optim.Adadelta([p], lr=1.0, rho=0.95, eps=1e-7, foreach=False)
        return opt.step
    return [Case(model, f"{name}_update", f"{name}_update", "upd", shape, None,
                 (reads + writes) * nparams * F32, setup, torch_u)]


def _batchnorm(model, layer, shape_t):
    size = int(np.prod(shape_t))
    c = shape_t[1]
    shape = f"x{shape_t}"

    def setup_f(rng):
        x, g, b = _f32(rng, *shape_t), np.ones(c, np.float32), np.zeros(c, np.float32)
        return (lambda: ops.batchnorm_forward(x, g, b)), dict(x=x, g=g, b=b)

    def setup_b(rng):
        from cnet import reference
        x, g, b, dy = _f32(rng, *shape_t), np.ones(c, np.float32), np.zeros(c, np.float32), _f32(rng, *shape_t)
        _, mean, inv_std = reference.batchnorm_forward(x, g, b)
        return (lambda: ops.batchnorm_backward(dy, x, g, mean, inv_std)), dict(x=x, g=g, b=b, dy=dy)

    def torch_f(torch, s):
        x, g, b = (torch.from_numpy(s[k]) for k in ("x", "g", "b"))
        return lambda: torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.0, 1e-3)

    def torch_b(torch, s):
        x, g, b, dy = (torch.from_numpy(s[k]) for k in ("x", "g", "b", "dy"))
        _, mean, invstd = torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.0, 1e-3)
        return lambda: torch.ops.aten.native_batch_norm_backward(dy, x, g, None, None, mean, invstd, True,
                                                                 1e-3, [True, True, True])
    return [Case(model, layer, "batchnorm", "fwd", shape, None, 3 * size * F32, setup_f, torch_f),
            Case(model, layer, "batchnorm", "bwd", shape, None, 4 * size * F32, setup_b, torch_b)]


# Parameter counts of the bundled models (for the optimizer-update cases).
def _nparams(layers):
    return int(sum(a * b + b for a, b in layers))


def kernel_cases(n):
    """Every op of the bundled models at batch n (deduplicated by op and shape)."""
    cs = []
    # Softmax regression 784 -> 10 (SGD)
    cs += _dense("softmax", "dense", n, 784, 10) + _xent("softmax", n)
    cs += _optimizer("softmax", "rmsprop", _nparams([(784, 10)]))
    # MLP 784-500-250-100-10 (Adam)
    dims = [784, 500, 250, 100, 10]
    for i in range(4):
        cs += _dense("mlp", f"dense{i + 1}", n, dims[i], dims[i + 1])
        if i < 3:
            cs += _relu("mlp", f"relu{i + 1}", (n, dims[i + 1]))
    cs += _xent("mlp", n)
    cs += _optimizer("mlp", "adam", _nparams(zip(dims[:-1], dims[1:])))
    # Keras MNIST convnet (Adadelta)
    cs += _conv("cnn", "conv1", n, 1, 28, 28, 32, 3, 0) + _relu("cnn", "relu1", (n, 32, 26, 26))
    cs += _conv("cnn", "conv2", n, 32, 26, 26, 64, 3, 0) + _relu("cnn", "relu2", (n, 64, 24, 24))
    cs += _maxpool("cnn", "pool", (n, 64, 24, 24))
    cs += _dropout("cnn", "dropout1", (n, 64, 12, 12), 0.25)
    cs += _dense("cnn", "dense1", n, 9216, 128) + _relu("cnn", "relu3", (n, 128))
    cs += _dropout("cnn", "dropout2", (n, 128), 0.5)
    cs += _dense("cnn", "dense2", n, 128, 10) + _xent("cnn", n)
    cs += _optimizer("cnn", "adadelta", 1 * 9 * 32 + 32 + 32 * 9 * 64 + 64 + _nparams([(9216, 128), (128, 10)]))
    # SimpleConvNet: conv 30 5x5, pool, 4320-100-10 (Adam)
    cs += _conv("simple_convnet", "conv", n, 1, 28, 28, 30, 5, 0) + _relu("simple_convnet", "relu1", (n, 30, 24, 24))
    cs += _maxpool("simple_convnet", "pool", (n, 30, 24, 24))
    cs += _dense("simple_convnet", "dense1", n, 4320, 100) + _relu("simple_convnet", "relu2", (n, 100))
    cs += _dense("simple_convnet", "dense2", n, 100, 10) + _xent("simple_convnet", n)
    cs += _optimizer("simple_convnet", "adam", 30 * 25 + 30 + _nparams([(4320, 100), (100, 10)]))
    # DeepConvNet (the book's geometry: conv4 has pad 2), Adam
    deep = [("conv1", 1, 28, 16, 1), ("conv2", 16, 28, 16, 1), ("conv3", 16, 14, 32, 1),
            ("conv4", 32, 14, 32, 2), ("conv5", 32, 8, 64, 1), ("conv6", 64, 8, 64, 1)]
    pools = {"conv2": (16, 28), "conv4": (32, 16), "conv6": (64, 8)}
    for name, c, hw, k, pad in deep:
        cs += _conv("deep_convnet", name, n, c, hw, hw, k, 3, pad)
        ohw = hw + 2 * pad - 2
        cs += _relu("deep_convnet", "relu_" + name, (n, k, ohw, ohw))
        if name in pools:
            pc, phw = pools[name]
            cs += _maxpool("deep_convnet", "pool_" + name, (n, pc, phw, phw))
    cs += _dense("deep_convnet", "dense1", n, 1024, 50) + _relu("deep_convnet", "relu7", (n, 50))
    cs += _dropout("deep_convnet", "dropout", (n, 50), 0.5)
    cs += _dense("deep_convnet", "dense2", n, 50, 10) + _dropout("deep_convnet", "dropout2", (n, 10), 0.5)
    cs += _xent("deep_convnet", n)
    deep_p = sum(k * c * 9 + k for _, c, _, k, _ in deep) + _nparams([(1024, 50), (50, 10)])
    cs += _optimizer("deep_convnet", "adam", deep_p)
    # Ops of the library no bundled model uses, at representative shapes
    cs += _batchnorm("extra", "batchnorm_conv", (n, 64, 24, 24)) + _batchnorm("extra", "batchnorm_dense", (n, 500))
    for op in ("sigmoid", "tanh", "softmax"):
        cs += _unary("extra", op, op, (n, 500))
    seen, out = {}, []
    for c in cs:
        if c.dedup_key in seen:
            seen[c.dedup_key].also.append(c.name)
            continue
        seen[c.dedup_key] = c
        out.append(c)
    return out


# ================================================================================================
# Runner
# ================================================================================================

class Suite:
    def __init__(self, args):
        self.args = args
        self.mode = _mode("smoke" if args.smoke else "quick" if args.quick else "full")
        if args.repeats:
            self.mode["rounds"] = args.repeats
            self.mode["e2e_rounds"] = args.repeats
        self.threads = args.threads
        self.ctl = _Threads()
        self.torch, self.torch_note = _import_torch(not args.no_torch)
        self.peak = {}
        self.results = {"meta": {}, "machine": {}, "kernels": [], "gemm": [], "e2e": [], "memory": None,
                        "scaling": [], "skipped": []}
        self.speedups = []  # (label, threads, c/numpy, c/torch) for the plot

    # ---- helpers ---------------------------------------------------------------------------------
    def out(self, *a, **k):
        try:
            print(*a, **k, flush=True)
        except BrokenPipeError:   # stdout piped into `head`: keep measuring, the JSON still gets written
            pass

    def backends(self):
        # torch is always listed: without it its rows are recorded as skipped, with the reason.
        return ["c", "numpy", "torch"]

    def enter(self, backend, t):
        def f():
            if backend != "torch":
                ops.set_backend(backend)
            self.ctl.set(t, self.torch if backend == "torch" else None)
        return f

    def skip(self, section, what, reason):
        self.out(f"  {what}: skipped: {reason}")
        self.results["skipped"].append({"section": section, "case": what, "reason": reason})

    # ---- machine ---------------------------------------------------------------------------------
    def run_machine(self):
        info = machine_info(self.torch, self.torch_note, self.ctl)
        self.out("== machine " + "=" * 70)
        self.out(f"  measuring numpy.matmul float32 peak on {self.mode['peak_sizes']} squares, "
                 f"threads {self.threads} ...")
        rows, self.peak = measure_peak(self.mode, self.threads, self.ctl, self.args.seed)
        info["gemm_peak_rows"] = rows
        info["gemm_peak_gflops"] = {str(t): g for t, g in self.peak.items()}
        info["line"] = machine_line(info, self.peak)
        self.results["machine"] = info
        self.out("  " + info["line"])
        for r in rows:
            self.out(f"    matmul {r['size']}^2 {r['threads']} thr: median {_fmt_time(r.get('median_s'))} "
                     f"-> {r['gflops']:.1f} GFLOP/s (best sample {r['gflops_best']:.1f})"
                     if r["gflops"] else f"    matmul {r['size']} failed")
        c_ops = [k for k, v in info["op_backends"].items() if v == "c"]
        ref_ops = [k for k, v in info["op_backends"].items() if v != "c"]
        if info.get("threads_note"):
            self.out(f"  NOTE: {info['threads_note']} (the NumPy columns' thread counts are not enforced)")
        self.out(f"  ops with a C kernel: {', '.join(c_ops) or 'none'}")
        self.out(f"  ops on the NumPy reference under the C backend: {', '.join(ref_ops) or 'none'}")

    def pct(self, gflops, t):
        p = self.peak.get(t)
        return 100.0 * gflops / p if (gflops and p) else None

    # ---- kernels ---------------------------------------------------------------------------------
    def _row_figures(self, st, flops, nbytes, t):
        fig = {}
        if st:
            if flops:
                fig["gflops"] = flops / st["median_s"] / 1e9
                fig["pct_peak"] = self.pct(fig["gflops"], t)
            if nbytes:
                fig["gbs"] = nbytes / st["median_s"] / 1e9
        return fig

    def run_kernels(self):
        self.out("== kernels " + "=" * 70)
        if self.torch is None:
            self.out(f"  torch column: skipped: {self.torch_note}")
        with ops.use_backend("c"):
            impl = ops.op_backends()
        hdr = (f"  {'case':<44}{'thr':>3}  {'c':>16}  {'numpy':>16}  {'torch':>16}  "
               f"{'c rate':>15}  {'c/np':>7}  {'c/torch':>7}")
        for n in self.mode["kernel_batches"]:
            cases = kernel_cases(n)
            if self.mode["kernel_filter"]:
                keep = self.mode["kernel_filter"]
                cases = [c for c in cases if c.model in keep or f"{c.model}.{c.layer}" in keep]
            self.out(f"-- batch {n}: {len(cases)} cases; median (IQR) per call; "
                     "'c*' = that op has no C kernel yet and ran the NumPy reference")
            self.out(hdr)
            for case in cases:
                self._run_case(case, n, impl)

    def _run_case(self, case, n, impl):
        label = f"{case.name} N={n}"
        self.out(f"  {label:<44}", end="")
        rng = np.random.default_rng(self.args.seed)
        try:
            call, state = case.setup(rng)
        except Exception as exc:
            self.out("")
            self.skip("kernels", label, f"setup failed: {exc.__class__.__name__}: {exc}")
            return
        tcall, tnote = None, self.torch_note
        if self.torch is not None and case.torch is not None:
            try:
                tcall = case.torch(self.torch, state)
            except Exception as exc:
                tnote = f"torch equivalent failed: {exc.__class__.__name__}: {exc}"
        op_key = {"fwd": f"{case.op}_forward", "bwd": f"{case.op}_backward"}.get(case.direction, case.op)
        c_impl = impl.get(op_key, "numpy")
        cons = []
        for t in self.threads:
            for b in ("c", "numpy"):
                # cnet's layers write into per-layer workspaces in training: the C column calls the op
                # with preallocated out= buffers where it has them; NumPy code allocates its results.
                fn = state.get("c_call", call) if b == "c" else call
                cons.append({"key": (b, t), "enter": self.enter(b, t), "fn": fn})
            if tcall is not None:
                cons.append({"key": ("torch", t), "enter": self.enter("torch", t), "fn": tcall})
        ctx = self.torch.inference_mode() if self.torch is not None else contextlib.nullcontext()
        with ctx:
            res = _interleaved(cons, self.mode)
        first = True
        for t in self.threads:
            row_stats = {}
            for b in self.backends():
                rec = res.get((b, t))
                row = {"section": "kernels", "case": case.name, "model": case.model, "layer": case.layer,
                       "op": case.op, "direction": case.direction, "batch": n, "shape": case.shape,
                       "also": case.also, "backend": b, "threads": t, "flops": case.flops,
                       "bytes": case.nbytes}
                if b == "c":
                    row["c_impl"] = c_impl
                if rec is None:
                    row.update(status="skipped", reason=tnote if b == "torch" else "not run")
                elif "error" in rec:
                    row.update(status="skipped", reason=rec["error"])
                else:
                    st = _stats(rec["samples"])
                    row.update(status="ok", samples_s=rec["samples"], calls_per_sample=rec["calls"], **st)
                    row.update(self._row_figures(st, case.flops, case.nbytes, t))
                    row_stats[b] = row
                self.results["kernels"].append(row)
            self._print_line(label if first else "", t, row_stats, c_impl, case, res)
            first = False

    def _print_line(self, label, t, rs, c_impl, case, res):
        def cell(b):
            r = rs.get(b)
            if r is None:
                return "skipped"
            iqr = r["q3_s"] - r["q1_s"]
            return f"{_fmt_time(r['median_s'])} ({_fmt_time(iqr)})"
        c = rs.get("c")
        rate = ""
        if c is not None:
            if "gflops" in c:
                pct = c.get("pct_peak")
                rate = f"{c['gflops']:.1f}GF {pct:.0f}%" if pct is not None else f"{c['gflops']:.1f}GF"
            elif "gbs" in c:
                rate = f"{c['gbs']:.2f}GB/s"
        sp_np = rs["numpy"]["median_s"] / c["median_s"] if (c and "numpy" in rs) else None
        sp_t = rs["torch"]["median_s"] / c["median_s"] if (c and "torch" in rs) else None
        self.speedups.append((case.name + f" N={c['batch']}" if c else case.name, t, sp_np, sp_t))
        cname = "c*" if c_impl != "c" else "c"
        if label:
            self.out(f"{t:>3}  {cell('c'):>16}  {cell('numpy'):>16}  {cell('torch'):>16}  {rate:>15}  "
                     f"{_fmt_x(sp_np):>7}  {_fmt_x(sp_t):>7}" + ("  [c*: reference]" if cname == "c*" else ""))
        else:
            self.out(f"  {'':<44}{t:>3}  {cell('c'):>16}  {cell('numpy'):>16}  {cell('torch'):>16}  "
                     f"{rate:>15}  {_fmt_x(sp_np):>7}  {_fmt_x(sp_t):>7}")
        for b in self.backends():
            rec = res.get((b, t))
            if rec is not None and "error" in rec:
                self.out(f"  {'':<44}     {b}: skipped: {rec['error']}")

    # ---- gemm ------------------------------------------------------------------------------------
    def gemm_products(self, n):
        """(name, M, K, N, kind) of the bundled layers' products at batch n; X (M,K), W (K,N), dY (M,N)."""
        layers = []

        def conv(model, name, c, h, k, ks, pad):
            oh = h + 2 * pad - ks + 1
            layers.append((f"{model}.{name}", n * oh * oh, c * ks * ks, k))

        def dense(model, name, d, u):
            layers.append((f"{model}.{name}", n, d, u))
        dense("softmax", "dense", 784, 10)
        dims = [784, 500, 250, 100, 10]
        for i in range(4):
            dense("mlp", f"dense{i + 1}", dims[i], dims[i + 1])
        conv("cnn", "conv1", 1, 28, 32, 3, 0)
        conv("cnn", "conv2", 32, 26, 64, 3, 0)
        dense("cnn", "dense1", 9216, 128)
        dense("cnn", "dense2", 128, 10)
        conv("simple_convnet", "conv", 1, 28, 30, 5, 0)
        dense("simple_convnet", "dense1", 4320, 100)
        dense("simple_convnet", "dense2", 100, 10)
        for name, c, hw, k, pad in [("conv1", 1, 28, 16, 1), ("conv2", 16, 28, 16, 1), ("conv3", 16, 14, 32, 1),
                                    ("conv4", 32, 14, 32, 2), ("conv5", 32, 8, 64, 1), ("conv6", 64, 8, 64, 1)]:
            conv("deep_convnet", name, c, hw, k, 3, pad)
        dense("deep_convnet", "dense1", 1024, 50)
        dense("deep_convnet", "dense2", 50, 10)
        if self.mode["gemm_filter"]:
            layers = [lay for lay in layers if lay[0].split(".")[0] in self.mode["gemm_filter"]]
        prods, seen = [], set()
        for name, m, k, nn in layers:
            for kind, shape in (("fwd", (m, k, nn)), ("dW", (k, m, nn)), ("dX", (m, nn, k))):
                key = (kind, m, k, nn)
                if key in seen:
                    continue
                seen.add(key)
                prods.append((f"{name}.{kind}", m, k, nn, kind, shape))
        for s in self.mode["squares"]:
            prods.append((f"square{s}", s, s, s, "square", (s, s, s)))
        return prods

    def run_gemm(self):
        self.out("== gemm " + "=" * 73)
        n = self.mode["gemm_batch"]
        self.out(f"-- layer products at batch {n} (M x K x N of the product); fwd X.W, dW X^T.dY, dX dY.W^T; "
                 "cnet.ops.gemm(trans_a/trans_b) vs numpy.matmul on transposed views")
        self.out(f"  {'product':<32}{'MxKxN':>20}{'thr':>4}  {'c GF/s':>8} {'%pk':>5}  {'numpy GF/s':>10}  "
                 f"{'torch GF/s':>10}  {'c/np':>6}  {'c/torch':>7}")
        rng = np.random.default_rng(self.args.seed)
        for name, m, k, nn, kind, shape in self.gemm_products(n):
            x, w, dy = _f32(rng, m, k), _f32(rng, k, nn), _f32(rng, m, nn)
            if kind in ("fwd", "square"):
                cf = lambda x=x, w=w: ops.gemm(x, w)                              # noqa: E731
                nf = lambda x=x, w=w: np.matmul(x, w)                             # noqa: E731
                tf_args = (x, w, False, False)
            elif kind == "dW":
                cf = lambda x=x, dy=dy: ops.gemm(x, dy, trans_a=True)             # noqa: E731
                nf = lambda x=x, dy=dy: np.matmul(x.T, dy)                        # noqa: E731
                tf_args = (x, dy, True, False)
            else:
                cf = lambda dy=dy, w=w: ops.gemm(dy, w, trans_b=True)             # noqa: E731
                nf = lambda dy=dy, w=w: np.matmul(dy, w.T)                        # noqa: E731
                tf_args = (dy, w, False, True)
            flops = 2.0 * shape[0] * shape[1] * shape[2]
            mkn = "x".join(map(str, shape))
            self.out(f"  {name:<32}{mkn:>20}", end="")
            cons = []
            for t in self.threads:
                cons.append({"key": ("c", t), "enter": self.enter("c", t), "fn": cf})
                cons.append({"key": ("numpy", t), "enter": self.enter("numpy", t), "fn": nf})
                if self.torch is not None:
                    a_, b_, ta, tb = tf_args
                    ta_, tb_ = self.torch.from_numpy(a_), self.torch.from_numpy(b_)
                    ta_ = ta_.t() if ta else ta_
                    tb_ = tb_.t() if tb else tb_
                    cons.append({"key": ("torch", t), "enter": self.enter("torch", t),
                                 "fn": (lambda p=ta_, q=tb_: self.torch.mm(p, q))})
            res = _interleaved(cons, self.mode)
            for i, t in enumerate(self.threads):
                g = {}
                for b in self.backends():
                    rec = res.get((b, t))
                    row = {"section": "gemm", "case": name, "kind": kind, "mkn": list(shape), "batch": n,
                           "backend": b, "threads": t, "flops": flops}
                    if rec is None or "error" in rec:
                        row.update(status="skipped",
                                   reason=(rec or {}).get("error", self.torch_note if b == "torch" else "not run"))
                    else:
                        st = _stats(rec["samples"])
                        row.update(status="ok", samples_s=rec["samples"], calls_per_sample=rec["calls"], **st)
                        row["gflops"] = flops / st["median_s"] / 1e9
                        row["pct_peak"] = self.pct(row["gflops"], t)
                        g[b] = row
                    self.results["gemm"].append(row)
                c = g.get("c")
                r_np = c["gflops"] / g["numpy"]["gflops"] if (c and "numpy" in g) else None
                r_t = c["gflops"] / g["torch"]["gflops"] if (c and "torch" in g) else None
                pct = c.get("pct_peak") if c else None
                pre = "" if i == 0 else "  " + " " * 52
                gf = {k: ("%.1f" % g[k]["gflops"] if k in g else "-") for k in ("c", "numpy", "torch")}
                pct_s = "-" if pct is None else "%.0f%%" % pct
                self.out(f"{pre}{t:>4}  {gf['c']:>8} {pct_s:>5}  {gf['numpy']:>10}  {gf['torch']:>10}  "
                         f"{_fmt_x(r_np):>6}  {_fmt_x(r_t):>7}")
                self.speedups.append((f"gemm {name}", t, r_np, r_t))

    # ---- e2e -------------------------------------------------------------------------------------
    def run_e2e(self):
        run_e2e(self)

    # ---- output ----------------------------------------------------------------------------------
    def write_json(self, path):
        self.results["speedups"] = [{"case": lab, "threads": t, "c_vs_numpy": a, "c_vs_torch": b}
                                    for lab, t, a, b in self.speedups]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(self.results, f, indent=1, default=_json_default)
        self.out(f"JSON: {path}")

    def plot(self, path):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except Exception as exc:
            self.out(f"plot: skipped: matplotlib is not available ({exc.__class__.__name__}); "
                     "pip install matplotlib to get --plot")
            return
        t = max(self.threads)
        rows = [(lab, np_, tr) for lab, th, np_, tr in self.speedups if th == t and np_]
        if not rows:
            self.out("plot: nothing to plot")
            return
        fig, ax = plt.subplots(figsize=(10, max(3, 0.22 * len(rows))))
        y = np.arange(len(rows))
        ax.barh(y - 0.2, [r[1] for r in rows], 0.4, label="C / NumPy reference")
        if any(r[2] for r in rows):
            ax.barh(y + 0.2, [r[2] or 0 for r in rows], 0.4, label="C / PyTorch")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([r[0] for r in rows], fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel(f"speedup of cnet's C backend (x, {t} threads; > 1 is faster)")
        ax.legend()
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        self.out(f"plot: {path}")


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    return repr(o)


# ================================================================================================
# End to end
# ================================================================================================

E2E_MODELS = ("softmax", "mlp", "cnn", "simple_convnet", "deep_convnet")
IMAGE_MODELS = ("cnn", "simple_convnet", "deep_convnet")


def _model_defaults(name):
    """(batch size, optimizer name, learning rate) of a bundled model, from cnet.train when it is there."""
    try:
        from cnet import train
        _, batch, opt, lr = train.DEFAULTS[name]
        return batch, opt, lr
    except Exception:
        return {"softmax": (128, "rmsprop", 0.001), "mlp": (1000, "adam", 0.001), "cnn": (128, "adadelta", 1.0),
                "simple_convnet": (100, "adam", 0.001), "deep_convnet": (100, "adam", 0.001)}[name]


def _e2e_spec(spec):
    """'cnn' -> ('cnn', its cnet-train optimizer and lr); 'cnn:adam' -> ('cnn', 'adam', Keras's default
    lr of that optimizer): a bundled model trained with another optimizer."""
    base, _, opt = spec.partition(":")
    batch, opt_name, lr = _model_defaults(base) if base in E2E_MODELS else (None, None, None)
    if opt:
        from cnet import optimizers
        opt_name, lr = opt, float(optimizers.get(opt).learning_rate)
    return base, batch, opt_name, lr


def _cnet_model(name, seed, opt_name=None, lr=None):
    """The bundled model through the public API (cnet.train.build_model + compile), or raise; with its
    cnet-train optimizer unless opt_name/lr are given."""
    from cnet import optimizers, train
    try:
        from cnet import initializers
        initializers.set_seed(seed)
    except Exception:
        pass
    if opt_name is None:
        _, opt_name, lr = _model_defaults(name)
    import inspect
    kwargs = {"seed": seed} if "seed" in inspect.signature(train.build_model).parameters else {}
    model = train.build_model(name, **kwargs)
    opt = optimizers.get(opt_name)
    opt = type(opt)(learning_rate=lr)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    return model


def _torch_from_cnet(torch, model, input_shape):
    """An equivalent torch.nn.Sequential, read off the cnet model's layers (same layers, same sizes)."""
    nn = torch.nn
    mods = []
    probe = torch.zeros((1,) + tuple(input_shape))

    def shape_now():
        with torch.no_grad():
            return nn.Sequential(*mods)(probe).shape if mods else probe.shape

    def act(a):
        a = (a or "linear") if isinstance(a, str) else getattr(a, "__name__", "linear")
        a = a.lower()
        if a == "relu":
            mods.append(nn.ReLU())
        elif a == "sigmoid":
            mods.append(nn.Sigmoid())
        elif a == "tanh":
            mods.append(nn.Tanh())
        elif a not in ("linear", "softmax", "none"):   # softmax: fused into the cross-entropy, as in cnet
            raise ValueError(f"no torch equivalent for activation {a!r}")

    for layer in model.layers:
        kind = type(layer).__name__
        cfg = layer.get_config() if hasattr(layer, "get_config") else {}
        if kind in ("Dense", "Affine"):
            if len(shape_now()) > 2:
                mods.append(nn.Flatten())
            mods.append(nn.Linear(int(np.prod(shape_now()[1:])), layer.units, bias=layer.use_bias))
            act(cfg.get("activation"))
        elif kind in ("Conv2D", "Convolution"):
            pad = tuple(getattr(layer, "_pad", (0, 0)))
            extra = tuple(getattr(layer, "_extra", (0, 0)) or (0, 0))
            if any(extra):
                mods.append(nn.ZeroPad2d((0, extra[1], 0, extra[0])))
            mods.append(nn.Conv2d(shape_now()[1], layer.filters, tuple(layer.kernel_size),
                                  tuple(layer.strides), pad, bias=layer.use_bias))
            act(cfg.get("activation"))
        elif kind in ("MaxPooling2D", "Pooling", "AveragePooling2D"):
            pad = tuple(getattr(layer, "_pad", (0, 0)))
            cls = nn.AvgPool2d if kind == "AveragePooling2D" else nn.MaxPool2d
            mods.append(cls(tuple(layer.pool_size), tuple(layer.strides), pad))
        elif kind == "Dropout":
            mods.append(nn.Dropout(layer.rate))
        elif kind == "Flatten":
            mods.append(nn.Flatten())
        elif kind in ("Activation", "ReLU", "Relu", "Softmax", "Sigmoid"):
            act(cfg.get("activation", {"ReLU": "relu", "Relu": "relu", "Softmax": "softmax",
                                        "Sigmoid": "sigmoid"}.get(kind)))
        elif kind in ("InputLayer", "Reshape"):
            if kind == "Reshape":
                mods.append(nn.Unflatten(1, tuple(layer.target_shape)))
        elif kind == "BatchNormalization":
            c = shape_now()[1]
            mods.append(nn.BatchNorm2d(c, eps=1e-3) if len(shape_now()) == 4 else nn.BatchNorm1d(c, eps=1e-3))
        else:
            raise ValueError(f"no torch equivalent for layer {kind}")
    return nn.Sequential(*mods)


def _torch_optimizer(torch, params, cnet_opt):
    """torch's optimizer matching a cnet (Keras 2.1) optimizer and its hyper-parameters."""
    kind = type(cnet_opt).__name__.lower()
    lr = float(getattr(cnet_opt, "learning_rate", getattr(cnet_opt, "lr", 0.01)))
    eps = float(getattr(cnet_opt, "epsilon", 1e-7) or 1e-7)
    o = torch.optim
    if kind == "adadelta":
        return o.Adadelta(params, lr=lr, rho=cnet_opt.rho, eps=eps)
    if kind == "adam":
        return o.Adam(params, lr=lr, betas=(cnet_opt.beta_1, cnet_opt.beta_2), eps=eps)
    if kind == "rmsprop":
        return o.RMSprop(params, lr=lr, alpha=getattr(cnet_opt, "rho", 0.9), eps=eps)
    if kind in ("adagrad",):
        return o.Adagrad(params, lr=lr, eps=eps)
    momentum = float(getattr(cnet_opt, "momentum", 0.0) or 0.0)
    return o.SGD(params, lr=lr, momentum=momentum, nesterov=(kind == "nesterov"))


_MNIST = {}


def _e2e_data(n, image, seed):
    """A batch of n MNIST images (real ones when CNET_DATA is set, else synthetic) and int64 labels."""
    src = "synthetic"
    x = None
    if os.environ.get("CNET_DATA"):
        try:
            if "train" not in _MNIST:
                from cnet.datasets import mnist
                _MNIST["train"] = mnist.load_data()[0]
            xt, yt = _MNIST["train"]
            reps = int(math.ceil(n / len(xt)))
            x = np.tile(xt, (reps, 1, 1))[:n].astype(np.float32) / np.float32(255)
            y = np.tile(yt, reps)[:n].astype(np.int64)
            src = "mnist"
        except Exception as exc:
            src = f"synthetic (MNIST failed: {exc.__class__.__name__})"
    if x is None:
        rng = np.random.default_rng(seed)
        x = rng.random((n, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n).astype(np.int64)
    x = x.reshape((n, 1, 28, 28) if image else (n, 784))
    return np.ascontiguousarray(x), y, src


def run_e2e(suite):
    mode, threads = suite.mode, suite.threads
    out = suite.out
    out("== e2e " + "=" * 74)
    models = list(suite.args.models.split(",")) if suite.args.models else list(mode["models"] or E2E_MODELS)
    torch = suite.torch
    if torch is None:
        out(f"  torch rows: skipped: {suite.torch_note}")
    out(f"  training step on one batch (median (IQR)), images/s and seconds per MNIST epoch "
        f"({MNIST_TRAIN} images, extrapolated); inference: predict on {mode['infer_batch']} images; "
        "latency: predict on 1 image")
    out(f"  {'model':<15}{'batch':>6}{'thr':>4}  {'backend':<7}{'step':>20}{'img/s':>9}{'epoch s':>9}"
        f"{'infer img/s':>12}{'latency':>10}")
    ips = {}
    for name in models:
        try:
            base, default_batch, opt_name, lr = _e2e_spec(name)
        except ValueError as exc:
            suite.skip("e2e", name, f"unknown optimizer: {exc}")
            continue
        if base not in E2E_MODELS:
            suite.skip("e2e", name, f"unknown model (choose from {', '.join(E2E_MODELS)}, optionally "
                                    f"with :optimizer, e.g. cnn:adam)")
            continue
        batch = default_batch if mode["name"] == "full" else mode["e2e_batch"]
        image = base in IMAGE_MODELS
        shape = (1, 28, 28) if image else (784,)
        nbig = max(batch, mode["infer_batch"])
        x_all, y_all, data_src = _e2e_data(nbig, image, suite.args.seed)
        x, y = x_all[:batch], y_all[:batch]
        xi, x1 = x_all[:mode["infer_batch"]], x_all[:1]
        out(f"  -- {name}: batch {batch}, optimizer {opt_name} lr {lr:g}, data {data_src}")
        contenders, reasons = {}, {}
        for b in ("c", "numpy"):
            try:
                with ops.use_backend(b):
                    m = _cnet_model(base, suite.args.seed, opt_name, lr)
                    m.train_on_batch(x[:2], y[:2])
                contenders[b] = m
            except Exception as exc:
                reasons[b] = f"cnet model unavailable: {exc.__class__.__name__}: {exc}"
        torch_model = None
        if torch is not None:
            try:
                ref = contenders.get("c") or contenders.get("numpy")
                if ref is None:
                    raise RuntimeError("no cnet model to mirror")
                torch.manual_seed(suite.args.seed)
                tm = _torch_from_cnet(torch, ref, shape)
                topt = _torch_optimizer(torch, tm.parameters(), ref.optimizer)
                torch_model = (tm, topt)
                contenders["torch"] = torch_model
            except Exception as exc:
                reasons["torch"] = f"torch equivalent unavailable: {exc.__class__.__name__}: {exc}"
        else:
            reasons["torch"] = suite.torch_note

        def step_fn(b):
            if b == "torch":
                tm, topt = contenders["torch"]
                tx, ty = torch.from_numpy(x), torch.from_numpy(y)
                lossf = torch.nn.functional.cross_entropy

                def f():
                    tm.train()
                    topt.zero_grad(set_to_none=True)
                    loss = lossf(tm(tx), ty)
                    loss.backward()
                    topt.step()
                return f
            m = contenders[b]
            return lambda: m.train_on_batch(x, y)

        def predict_fn(b, xs):
            if b == "torch":
                tm, _ = contenders["torch"]
                tx = torch.from_numpy(xs)

                def f():
                    tm.eval()
                    with torch.inference_mode():
                        return tm(tx)
                return f
            m = contenders[b]
            return lambda: m.predict(xs, batch_size=len(xs))

        order = [b for b in ("c", "numpy", "torch") if b in contenders]
        res_train = _interleaved(
            [{"key": (b, t), "enter": suite.enter(b, t), "fn": step_fn(b)} for t in threads for b in order],
            mode, warmup=mode["e2e_warmup"], rounds=mode["e2e_rounds"], per_round=mode["e2e_per_round"],
            settle=mode["settle"], min_time=0.0)
        res_inf = _interleaved(
            [{"key": (b, t), "enter": suite.enter(b, t), "fn": predict_fn(b, xi)} for t in threads for b in order],
            mode, warmup=1, rounds=mode["latency_rounds"], per_round=1, settle=0, min_time=0.0)
        res_lat = _interleaved(
            [{"key": (b, t), "enter": suite.enter(b, t), "fn": predict_fn(b, x1)} for t in threads for b in order],
            mode, warmup=1, rounds=mode["latency_rounds"], per_round=1, settle=0,
            min_time=max(mode["min_time"], 0.002) if mode["name"] != "smoke" else 0.0)
        for t in threads:
            for b in ("c", "numpy", "torch"):
                row = {"section": "e2e", "model": name, "backend": b, "threads": t, "batch": batch,
                       "optimizer": opt_name, "lr": lr, "data": data_src, "infer_batch": mode["infer_batch"]}
                rec = res_train.get((b, t))
                if b not in contenders:
                    row.update(status="skipped", reason=reasons.get(b, "not run"))
                    suite.results["e2e"].append(row)
                    out(f"  {name:<15}{batch:>6}{t:>4}  {b:<7}skipped: {row['reason']}")
                    if t == threads[0]:
                        suite.results["skipped"].append({"section": "e2e", "case": f"{name}.{b}",
                                                         "reason": row["reason"]})
                    continue
                if rec is None or "error" in rec:
                    row.update(status="skipped", reason=(rec or {}).get("error", "not run"))
                    suite.results["e2e"].append(row)
                    out(f"  {name:<15}{batch:>6}{t:>4}  {b:<7}skipped: {row['reason']}")
                    continue
                st = _stats(rec["samples"])
                row.update(status="ok", step_samples_s=rec["samples"], **{"step_" + k: v for k, v in st.items()})
                row["images_per_s"] = batch / st["median_s"]
                row["epoch_s"] = MNIST_TRAIN / batch * st["median_s"]
                ri, rl = res_inf.get((b, t), {}), res_lat.get((b, t), {})
                if "samples" in ri:
                    si = _stats(ri["samples"])
                    row.update(infer_samples_s=ri["samples"], infer_median_s=si["median_s"],
                               infer_images_per_s=mode["infer_batch"] / si["median_s"])
                else:
                    row["infer_error"] = ri.get("error")
                if "samples" in rl:
                    sl = _stats(rl["samples"])
                    row.update(latency_samples_s=rl["samples"], latency_median_s=sl["median_s"],
                               latency_q1_s=sl["q1_s"], latency_q3_s=sl["q3_s"])
                else:
                    row["latency_error"] = rl.get("error")
                suite.results["e2e"].append(row)
                ips[(name, b, t)] = row["images_per_s"]
                step = f"{_fmt_time(st['median_s'])} ({_fmt_time(st['q3_s'] - st['q1_s'])})"
                inf = f"{row['infer_images_per_s']:.0f}" if "infer_images_per_s" in row else "err"
                lat = _fmt_time(row.get("latency_median_s"))
                out(f"  {name:<15}{batch:>6}{t:>4}  {b:<7}{step:>20}{row['images_per_s']:>9.0f}"
                    f"{row['epoch_s']:>9.1f}{inf:>12}{lat:>10}")
            c = ips.get((name, "c", t))
            sp_np = c / ips[(name, "numpy", t)] if c and (name, "numpy", t) in ips else None
            sp_t = c / ips[(name, "torch", t)] if c and (name, "torch", t) in ips else None
            if c:
                out(f"  {'':<15}{'':>6}{t:>4}  speedup c/numpy {_fmt_x(sp_np)}, c/torch {_fmt_x(sp_t)}")
                suite.speedups.append((f"e2e {name}", t, sp_np, sp_t))
                suite.results["e2e"].append({"section": "e2e", "model": name, "threads": t, "kind": "speedup",
                                             "c_vs_numpy": sp_np, "c_vs_torch": sp_t})
    # thread scaling
    if len(threads) > 1:
        t0, t1 = threads[0], threads[-1]
        out(f"  thread scaling {t0} -> {t1} (training images/s ratio):")
        for name in models:
            parts = []
            for b in ("c", "numpy", "torch"):
                a, z = ips.get((name, b, t0)), ips.get((name, b, t1))
                if a and z:
                    suite.results["scaling"].append({"model": name, "backend": b, "from_threads": t0,
                                                     "to_threads": t1, "ratio": z / a})
                    parts.append(f"{b} {z / a:.2f}x")
            out(f"    {name:<15}" + (", ".join(parts) if parts else "skipped: no training figures"))
    if not suite.args.no_memory:
        run_memory(suite)


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
        p = subprocess.run([sys.executable, "-c", "import sys, cnet.bench as b; b._memory_child(sys.argv[1])", arg],
                           capture_output=True, text=True, timeout=600, env=env)
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


def _memory_child(arg):
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
            (xt, yt), _ = mnist.load_data()
            data = "mnist"
        except Exception as exc:
            data = f"synthetic (MNIST failed: {exc.__class__.__name__})"
            xt = None
        if xt is not None:
            x = xt.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
            y = yt.astype(np.int64)
    if x is None:
        rng = np.random.default_rng(a["seed"])
        x = rng.random((MNIST_TRAIN, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, MNIST_TRAIN).astype(np.int64)
    rec["data"] = data
    rec["rss_after_data_kb"] = _vm("VmRSS")
    try:
        model = _cnet_model("cnn", a["seed"])
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


# ================================================================================================
# CLI
# ================================================================================================

def _loadavg():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def _parse_threads(s):
    try:
        ts = sorted({int(v) for v in s.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads: expected a comma-separated list of ints, got {s!r}")
    if not ts or ts[0] < 1:
        raise argparse.ArgumentTypeError(f"--threads: thread counts must be >= 1, got {s!r}")
    return ts


def _parse_only(s):
    parts = [p.strip() for p in s.split(",") if p.strip()]
    bad = [p for p in parts if p not in SECTIONS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"--only: expected some of {', '.join(SECTIONS)}, got {s!r}")
    return parts



# ================================================================================================
# Markdown summary of a results JSON (what README.md shows)
# ================================================================================================

def _median_of(rows, **match):
    """The first measured row matching every key (None when there is none)."""
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()) and r.get("status") == "ok":
            return r
    return None


def markdown_report(res, command):
    """README-ready tables from a results dict: the machine, end-to-end training per model, the layer
    kernels of the Keras convnet at batch 128, and the convnet's GEMM products."""
    m, meta = res["machine"], res["meta"]
    thr = meta["threads"]
    git = m.get("git") or {}
    commit = (git.get("commit") or "?")[:10] + (" + uncommitted changes" if git.get("dirty") else "")
    out = [f"Measured by `{command}` at commit `{commit}` ({meta['mode']} mode, "
           f"{meta['duration_s'] / 60:.0f} min; load average {meta['loadavg_start'][0]:.2f} at the start).",
           "", f"Machine: {m['line']}", ""]
    # end to end
    out += ["Training (one optimizer step per batch; images/s, median of the timed steps; speedups in the same run):",
            "", "| model | batch | threads | cnet C img/s | NumPy img/s | PyTorch img/s | C / NumPy | C / PyTorch "
            "| s per MNIST epoch (C) |", "|---|---|---|---|---|---|---|---|---|"]
    for model in [r["model"] for r in res["e2e"] if r.get("backend") == "c" and r["threads"] == thr[0]]:
        for t in thr:
            c = _median_of(res["e2e"], model=model, backend="c", threads=t)
            n = _median_of(res["e2e"], model=model, backend="numpy", threads=t)
            tt = _median_of(res["e2e"], model=model, backend="torch", threads=t)
            if c is None:
                continue
            ips = lambda r: f"{r['images_per_s']:,.0f}" if r else "-"
            ratio = lambda r: f"{c['images_per_s'] / r['images_per_s']:.2f}x" if r else "-"
            out.append(f"| {model} | {c['batch']} | {t} | {ips(c)} | {ips(n)} | {ips(tt)} | {ratio(n)} | "
                       f"{ratio(tt)} | {c['epoch_s']:.1f} |")
    sc = {(r["model"], r["backend"]): r["ratio"] for r in res.get("scaling", [])}
    if sc:
        out += ["", "Thread scaling 1 -> 2 (training images/s): " + ", ".join(
            f"{mdl} {sc[(mdl, 'c')]:.2f}x" for mdl, b in sc if b == "c") + "."]
    mem = res.get("memory") or {}
    if mem.get("status") == "ok":
        out += [f"Peak resident memory of a training process (MNIST loaded, Keras convnet, batch "
                f"{mem['batch']}, {mem['steps']} steps): {mem['vmhwm_kb'] / 1024:.0f} MB."]
    # kernels of the Keras convnet at the largest batch
    if res.get("kernels"):   # absent when the run was --only e2e, say
        nmax = max(r["batch"] for r in res["kernels"])
        t = thr[-1]
        out += ["", f"Kernels of the Keras convnet, batch {nmax}, {t} threads (median per call; C writes into "
                "preallocated outputs as the layers do in training, NumPy allocates):", "",
                "| kernel | C | NumPy | PyTorch | C / NumPy | C / PyTorch |", "|---|---|---|---|---|---|"]
        for r in res["kernels"]:
            if r["model"] != "cnn" or r["batch"] != nmax or r["backend"] != "c" or r["threads"] != t:
                continue
            n = _median_of(res["kernels"], case=r["case"], batch=nmax, backend="numpy", threads=t)
            tt = _median_of(res["kernels"], case=r["case"], batch=nmax, backend="torch", threads=t)
            f = lambda x: _fmt_time(x["median_s"]) if x else "-"
            q = lambda x: f"{x['median_s'] / r['median_s']:.1f}x" if x else "-"
            out.append(f"| {r['case']} | {f(r)} | {f(n)} | {f(tt)} | {q(n)} | {q(tt)} |")
    # gemm products
    if res.get("gemm"):
        out += ["", "GEMM products of the Keras convnet's training step at batch 128 and square 1024 "
                "(GFLOP/s; numpy.matmul is OpenBLAS):", "",
                "| product | M x K x N | threads | cnet | numpy | cnet / numpy |", "|---|---|---|---|---|---|"]
        for r in res["gemm"]:
            if r["backend"] != "c" or not (r["case"].startswith("cnn.") or r["case"].startswith("square")):
                continue
            n = _median_of(res["gemm"], case=r["case"], backend="numpy", threads=r["threads"])
            mkn = "x".join(map(str, r["mkn"]))
            out.append(f"| {r['case']} | {mkn} | {r['threads']} | {r['gflops']:.1f} | "
                       f"{n['gflops']:.1f} | {r['gflops'] / n['gflops']:.2f}x |" if n else
                       f"| {r['case']} | {mkn} | {r['threads']} | {r['gflops']:.1f} | - | - |")
    return "\n".join(out) + "\n"


def build_parser(prog="cnet-bench"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="cnet benchmark suite: machine line, kernels, GEMM, end-to-end training "
                    "(C backend vs NumPy reference vs PyTorch when importable).")
    p.add_argument("--quick", action="store_true", help="smallest sizes, few repeats (< 2 min on 2 cores); default: the full suite")
    p.add_argument("--smoke", action="store_true",
                   help="minimum sizes and repeats of a few cases in every section (for tests; < 20 s); default: off")
    p.add_argument("--only", type=_parse_only, default=list(SECTIONS),
                   help="comma-separated sections among machine,kernels,gemm,e2e (the machine line is "
                        "always collected; the GEMM peak is measured whenever any section runs); default: all")
    p.add_argument("--threads", type=_parse_threads, default=None,
                   help="comma-separated thread counts (default: 1 and the CPUs usable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs and models (default: 0)")
    p.add_argument("--repeats", type=int, default=None, help="the number of timed rounds (default: 7, or 3 with --quick)")
    p.add_argument("--models", default=None,
                   help="comma-separated e2e models among " + ",".join(E2E_MODELS) + ", each optionally with "
                        ":optimizer for another optimizer at its Keras default learning rate (cnn:adam) "
                        "(default: all, and cnn:adam)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when importable (default: include it when importable)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess (default: measure it)")
    p.add_argument("--json", default=None,
                   help="where to write every raw figure (default benchmarks/results/<timestamp>.json "
                        "relative to the current directory)")
    p.add_argument("--plot", default=None, help="PNG chart of the speedups (needs matplotlib; default: no chart)")
    p.add_argument("--report", metavar="JSON", default=None,
                   help="print README-ready Markdown tables from an earlier run's JSON and exit (measures nothing)")
    return p


def main(argv=None, prog="cnet-bench"):
    args = build_parser(prog).parse_args(argv)
    if args.report:
        with open(args.report) as f:
            res = json.load(f)
        argv_run = " ".join(["python -m benchmarks"] + res["meta"]["argv"])
        print(markdown_report(res, argv_run), end="")
        return 0
    if args.threads is None:
        args.threads = sorted({1, cnet.cpu_count()})
    started = time.time()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = args.json or os.path.join("benchmarks", "results", f"{stamp}.json")
    suite = Suite(args)
    suite.results["meta"] = {
        "argv": sys.argv[1:] if argv is None else list(argv), "mode": suite.mode["name"],
        "seed": args.seed, "threads": args.threads, "sections": args.only, "started": stamp,
        "timing": {k: suite.mode[k] for k in ("warmup", "rounds", "per_round", "settle", "min_time",
                                               "e2e_rounds", "e2e_per_round", "e2e_warmup")},
    }
    previous_backend = ops.get_backend()
    load = _loadavg()
    suite.results["meta"]["loadavg_start"] = load
    try:
        suite.out(f"cnet-bench: mode {suite.mode['name']}, threads {args.threads}, sections {','.join(args.only)}, "
                  f"seed {args.seed}")
        if load is not None and load[0] > 0.5 * cnet.cpu_count():
            suite.out(f"WARNING: the machine is busy (1-min load average {load[0]:.2f} on {cnet.cpu_count()} CPUs): "
                      "figures, especially multi-threaded ones, will be noisy and pessimistic")
        suite.run_machine()
        suite.results["meta"]["section_s"] = {"machine": time.time() - started}
        for section in ("kernels", "gemm", "e2e"):
            if section in args.only:
                t0 = time.time()
                getattr(suite, f"run_{section}")()
                suite.results["meta"]["section_s"][section] = time.time() - t0
    finally:
        ops.set_backend(previous_backend)
        suite.ctl.restore()
        suite.results["meta"]["loadavg_end"] = _loadavg()
        suite.results["meta"]["duration_s"] = time.time() - started
        suite.write_json(json_path)
    if args.plot:
        suite.plot(args.plot)
    suite.out(f"done in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
