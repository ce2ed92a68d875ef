"""Machine facts for cnet-bench: CPU and flags, CPUs usable, OpenMP runtime, cnet's SIMD path, NumPy and its
BLAS (threadpoolctl), torch, the git commit, and the measured float32 GEMM peak (numpy.matmul); the copy
bandwidth, measured in cnet/bench/bandwidth.py, ends the machine line."""
import os
import platform
import subprocess
import sys

import numpy as np

import cnet
from cnet import ops

from .timing import interleaved, stats

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
        res = interleaved(cons, mode, warmup=1, rounds=max(3, mode["rounds"]), min_time=0.0)
        for t in threads:
            st = stats(res[t].get("samples", []))
            gf = 2.0 * size ** 3 / st["median_s"] / 1e9 if st else None
            best = 2.0 * size ** 3 / st["min_s"] / 1e9 if st else None
            rows.append({"size": size, "threads": t, "gflops": gf, "gflops_best": best, **st})
            if best is not None:
                # The peak is the best sample: what the machine can do, not what a busy minute allowed.
                peak[t] = max(peak.get(t, 0.0), best)
    return rows, peak


def machine_line(info, peak, copy=None):
    """The one-line summary of the machine; `copy`, the copy bandwidth's text (bandwidth.copy_text), ends
    it when given."""
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
            f"torch {info['torch'] or 'absent'} | fp32 GEMM peak (numpy.matmul): {peak_s}"
            + (f" | {copy}" if copy else ""))


def loadavg():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None
