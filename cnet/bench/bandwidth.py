"""Memory-bound ops against the machine's copy bandwidth: the copy measurement of the machine section, the
byte model of the kernels section's GB/s and % copy columns, and their Markdown table.

Copy bandwidth. A float32 array of max(64 MiB, 2 x the last-level cache) is copied into a preallocated one
with numpy.copyto: one warm-up copy (it also faults the destination's pages in), then timed copies in
interleaved rounds (at least 5), one copy per sample; the figure is the median. GB/s counts the bytes read
plus the bytes written (2 x the array), as STREAM's Copy does, so it compares with the byte model below.
At 1 thread that is a plain numpy.copyto. numpy's copy is single-threaded, so at N > 1 threads the array
is cut into N contiguous slices copied by numpy.copyto on N Python threads (a thread pool made before the
timing; numpy releases the GIL while it copies), one sample being the whole array copied once. The results
JSON has it as ``machine.copy_gbs`` ({threads: GB/s}), with every sample in ``machine.copy_rows``.

The byte model (:data:`BYTE_MODEL`): the bytes an op must move at the least, every input array read once
and every output array written once (an array updated in place counts once read and once written);
float arrays have the op's float size f (4 for the float32 cases), indices and masks their own dtype.
Shapes: x is the op's full-size array (its input, or for a backward its input gradient), y the pooled
output, c one value per channel (per feature for (N, D) batch norm), p the parameter vector.

====================  ====  ====================================  ===================================
op                    pass  read                                  written
====================  ====  ====================================  ===================================
relu                  fwd   x                                     y
relu                  bwd   dy, y                                 dx
maxpool2d (NCHW)      fwd   x                                     y, argmax (window positions, uint8)
maxpool2d (NCHW)      bwd   dy, argmax (uint8)                    dx
avgpool2d (NCHW)      fwd   x                                     y
avgpool2d (NCHW)      bwd   dy                                    dx
maxpool2d_blk (2x2)   fwd   xb                                    yb, arg (uint8, 1 byte)
maxpool2d_blk (2x2)   bwd   dyb, arg (uint8)                      dxb
dropout               fwd   x                                     y, mask (the op's float dtype)
dropout               bwd   dy, mask                              dx
batchnorm             fwd   x, gamma (c), beta (c)                y, mean (c), inv_std (c)
batchnorm             bwd   dy, x, gamma, mean, inv_std (c each)  dx, dgamma (c), dbeta (c)
<optimizer>_update    upd   p, g, each state array                p, each state array
====================  ====  ====================================  ===================================

The optimizers' state arrays: sgd none; momentum and nesterov v; adagrad and rmsprop h; adam and nadam m, v;
adadelta h, d; adamax m, u. The blocked arrays (N, ceil(C/cb), H, W, cb) count their padding lanes: the
kernel moves them. Batch norm's forward reads x twice on the way (the statistics, then the normalization)
and its backward reads dy and x twice (the two sums, then dx): when x does not stay in cache a two-pass
kernel moves 3/2 (forward) and 5/3 (backward) of the model, so the model's GB/s is the one that says how
far from the floor the op is. A figure at 1 or 32 images measures call overhead and caches, not memory.

Columns: GB/s = the model's bytes / the median time of a call; % copy = that / the copy bandwidth of the
same thread count. The kernels section's older ``c rate`` column (``gbs`` in the JSON) keeps its own byte
counts (they differ from the model for batch norm); the model's figures are ``min_bytes``, ``traffic``,
``min_gbs`` and ``pct_copy`` in each row of the JSON.
"""
import glob
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .timing import interleaved, stats

COPY_MIB = 64
F = "f"     # in BYTE_MODEL: the op's float size
_R, _W = "read", "write"

# (op, direction): [(read | write, array, shape key, bytes per element)]
BYTE_MODEL = {
    ("relu", "fwd"): [(_R, "x", "x", F), (_W, "y", "x", F)],
    ("relu", "bwd"): [(_R, "dy", "x", F), (_R, "y", "x", F), (_W, "dx", "x", F)],
    ("maxpool2d", "fwd"): [(_R, "x", "x", F), (_W, "y", "y", F), (_W, "argmax", "y", 1)],
    ("maxpool2d", "bwd"): [(_R, "dy", "y", F), (_R, "argmax", "y", 1), (_W, "dx", "x", F)],
    ("avgpool2d", "fwd"): [(_R, "x", "x", F), (_W, "y", "y", F)],
    ("avgpool2d", "bwd"): [(_R, "dy", "y", F), (_W, "dx", "x", F)],
    ("maxpool2d_blk", "fwd"): [(_R, "xb", "x", F), (_W, "yb", "y", F), (_W, "arg", "y", 1)],
    ("maxpool2d_blk", "bwd"): [(_R, "dyb", "y", F), (_R, "arg", "y", 1), (_W, "dxb", "x", F)],
    ("dropout", "fwd"): [(_R, "x", "x", F), (_W, "y", "x", F), (_W, "mask", "x", F)],
    ("dropout", "bwd"): [(_R, "dy", "x", F), (_R, "mask", "x", F), (_W, "dx", "x", F)],
    ("batchnorm", "fwd"): [(_R, "x", "x", F), (_R, "gamma", "c", F), (_R, "beta", "c", F),
                           (_W, "y", "x", F), (_W, "mean", "c", F), (_W, "inv_std", "c", F)],
    ("batchnorm", "bwd"): [(_R, "dy", "x", F), (_R, "x", "x", F), (_R, "gamma", "c", F), (_R, "mean", "c", F),
                           (_R, "inv_std", "c", F), (_W, "dx", "x", F), (_W, "dgamma", "c", F),
                           (_W, "dbeta", "c", F)],
}
# Each optimizer's state arrays, in the order of its cnet.ops signature.
OPTIMIZER_STATE = {"sgd": (), "momentum": ("v",), "nesterov": ("v",), "adagrad": ("h",), "rmsprop": ("h",),
                   "adam": ("m", "v"), "adadelta": ("h", "d"), "adamax": ("m", "u"), "nadam": ("m", "v")}
for _name, _state in OPTIMIZER_STATE.items():
    BYTE_MODEL[(f"{_name}_update", "upd")] = (
        [(_R, a, "p", F) for a in ("p", "g") + _state] + [(_W, a, "p", F) for a in ("p",) + _state])


def traffic(op, direction, shapes, itemsize=4):
    """{'read': {array: bytes}, 'write': {array: bytes}} of the byte model of (op, direction), with `shapes`
    the shapes of the model's keys (x, y, c, p) it uses; KeyError for an op the model does not cover."""
    out = {_R: {}, _W: {}}
    for rw, name, key, per in BYTE_MODEL[(op, direction)]:
        per = itemsize if per == F else per
        out[rw][name] = int(np.prod(shapes[key], dtype=np.int64)) * per
    return out


def min_bytes(op, direction, shapes, itemsize=4):
    """The bytes (op, direction) moves at the least: the sum of :func:`traffic`."""
    t = traffic(op, direction, shapes, itemsize)
    return sum(t[_R].values()) + sum(t[_W].values())


def figures(traffic_, median_s, copy_gbs):
    """The row figures of a memory-bound case: min_bytes, traffic, min_gbs, pct_copy (None without a copy
    figure at that thread count)."""
    nbytes = sum(traffic_[_R].values()) + sum(traffic_[_W].values())
    gbs = nbytes / median_s / 1e9
    return {"min_bytes": nbytes, "traffic": traffic_, "min_gbs": gbs,
            "pct_copy": 100.0 * gbs / copy_gbs if copy_gbs else None}


# ---- copy bandwidth ------------------------------------------------------------------------------

def llc_bytes():
    """The size of cpu0's last-level cache in bytes, from sysfs (None when it is not there)."""
    best = (0, None)
    for d in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(os.path.join(d, "level")) as f:
                level = int(f.read())
            with open(os.path.join(d, "size")) as f:
                size = f.read().strip()
        except (OSError, ValueError):
            continue
        mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(size[-1:].upper(), 1)
        try:
            nbytes = int(size.rstrip("KMGkmg")) * mult
        except ValueError:
            continue
        if level > best[0] or (level == best[0] and nbytes > (best[1] or 0)):
            best = (level, nbytes)
    return best[1]


class _ThreadedCopy:
    """numpy.copyto of src into dst on n Python threads, each a contiguous slice (made before timing)."""

    def __init__(self, dst, src, n):
        cuts = [(len(src) * i // n) // 1024 * 1024 for i in range(n)] + [len(src)]
        self.dst = [dst[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
        self.src = [src[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
        self.pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="cnet-bench-copy")

    def __call__(self):
        for _ in self.pool.map(np.copyto, self.dst, self.src):
            pass

    def close(self):
        self.pool.shutdown(wait=True)


def copy_method(t):
    return "numpy.copyto" if t == 1 else f"numpy.copyto on {t} Python threads, one slice each"


def measure_copy(mode, threads):
    """The copy bandwidth per thread count: (rows, {threads: median GB/s, read + written})."""
    llc = llc_bytes()
    nbytes = max(COPY_MIB * 2 ** 20, 2 * llc if llc else 0)
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    copiers = {t: (lambda: np.copyto(dst, src)) if t == 1 else _ThreadedCopy(dst, src, t) for t in threads}
    try:
        cons = [{"key": t, "enter": (lambda: None), "fn": copiers[t]} for t in threads]
        res = interleaved(cons, mode, warmup=1, rounds=max(5, mode["rounds"]), per_round=1, settle=1,
                          min_time=0.0)
    finally:
        for c in copiers.values():
            if isinstance(c, _ThreadedCopy):
                c.close()
    rows, copy = [], {}
    for t in threads:
        rec = res.get(t, {})
        st = stats(rec.get("samples", []))
        gbs = 2.0 * src.nbytes / st["median_s"] / 1e9 if st else None
        rows.append({"threads": t, "array_bytes": src.nbytes, "llc_bytes": llc, "method": copy_method(t),
                     "gbs": gbs, "gbs_best": 2.0 * src.nbytes / st["min_s"] / 1e9 if st else None,
                     "error": rec.get("error"), "samples_s": rec.get("samples", []), **st})
        if gbs:
            copy[t] = gbs
    return rows, copy


def copy_text(copy, rows):
    """The machine line's copy figure: 'copy 64 MiB f32 (numpy.copyto, read + written): 1 thr 25.1 GB/s, ...'."""
    if not copy:
        return "copy bandwidth: not measured"
    mib = rows[0]["array_bytes"] / 2 ** 20 if rows else COPY_MIB
    per = ", ".join(f"{t} thr {g:.1f} GB/s" for t, g in sorted(copy.items()))
    return f"copy {mib:.0f} MiB f32 (numpy.copyto, N threads on slices; read + written): {per}"


# ---- Markdown --------------------------------------------------------------------------------------

def membound_table(res):
    """README-ready table of the memory-bound kernels at the largest batch: GB/s of the byte model and % of
    the copy bandwidth, C and PyTorch, each thread count."""
    rows = [r for r in res.get("kernels") or [] if r.get("min_gbs") and r.get("status") == "ok"]
    if not rows:
        return []
    nmax = max(r["batch"] for r in rows)
    copy = (res.get("machine") or {}).get("copy_gbs") or {}
    by = {(r["case"], r["backend"], r["threads"]): r for r in rows if r["batch"] == nmax}
    copy_s = ", ".join(f"{t} thr {g:.1f} GB/s" for t, g in sorted(copy.items(), key=lambda kv: int(kv[0])))
    out = ["", f"Memory-bound kernels at batch {nmax} (GB/s: each input read once, each output written once, "
           f"cnet/bench/bandwidth.py; % of the copy bandwidth of the same thread count: {copy_s or 'n/a'}):", "",
           "| kernel | shape | threads | C GB/s | C % copy | PyTorch GB/s | PyTorch % copy |",
           "|---|---|---|---|---|---|---|"]
    for (case, backend, t), r in by.items():
        if backend != "c":
            continue
        tt = by.get((case, "torch", t))
        g = lambda x: f"{x['min_gbs']:.1f}" if x else "-"                                    # noqa: E731
        p = lambda x: f"{x['pct_copy']:.0f} %" if x and x.get("pct_copy") is not None else "-"   # noqa: E731
        out.append(f"| {case} | {r['shape']} | {t} | {g(r)} | {p(r)} | {g(tt)} | {p(tt)} |")
    return out
