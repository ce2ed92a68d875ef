"""How cnet-bench times things: the modes (sizes and repeat counts), thread control, interleaved rounds, and
the figures' formats.

Timing: a warm-up, then rounds in which every contender (backend x threads) runs in turn -- one untimed
"settle" call (it absorbs the previous contender's spinning worker threads) then the timed samples -- so
ratios come from the same minute. Each sample times enough calls to last at least ``min_time``. Figures are
medians with the interquartile range; every raw sample goes to the JSON file.
"""
import time

import numpy as np

import cnet


def mode_settings(name):
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
                    kernel_filter={"softmax", "simple_convnet.conv", "simple_convnet.relu1",
                                   "simple_convnet.pool", "simple_convnet.pool_blk"},
                    gemm_filter={"softmax"},
                    models=("softmax",))
    raise ValueError(name)


class Threads:
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


def stats(samples):
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


def interleaved(contenders, mode, warmup=None, rounds=None, per_round=None, settle=None,
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


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms"
    return f"{s:.3f}s"


def fmt_x(r):
    return "-" if r is None else f"{r:.2f}x"
