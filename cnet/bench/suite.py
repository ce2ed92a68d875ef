"""A run of cnet-bench (:class:`Suite`): the machine section, the kernels and gemm sections (each case timed
on the C backend, the NumPy reference and PyTorch, interleaved), and the JSON file of every raw figure."""
import contextlib
import json
import os

import numpy as np

from cnet import ops
from cnet._fileio import atomic_write

from . import bandwidth
from .cases import f32, gemm_products, kernel_cases
from .conv import run_conv
from .e2e import run_e2e
from .machine import machine_info, machine_line, measure_peak
from .memory import run_memory
from .report import plot_speedups
from .timing import Threads, fmt_time, fmt_x, interleaved, mode_settings, stats
from .torch_twin import import_torch


class Suite:
    """One run of the suite: its settings, the thread control, and the results (the JSON file's content)."""

    def __init__(self, args):
        self.args = args
        self.mode = mode_settings("smoke" if args.smoke else "quick" if args.quick else "full")
        if args.repeats:
            self.mode["rounds"] = args.repeats
            self.mode["e2e_rounds"] = args.repeats
        self.threads = args.threads
        self.ctl = Threads()
        self.torch, self.torch_note = import_torch(not args.no_torch)
        self.peak = {}
        self.copy = {}      # threads -> copy bandwidth, GB/s (bandwidth.measure_copy)
        self.results = {"meta": {}, "machine": {}, "kernels": [], "gemm": [], "conv": [], "e2e": [], "memory": None,
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
        self.out(f"  measuring copy bandwidth (numpy.copyto, read + written), threads {self.threads} ...")
        copy_rows, self.copy = bandwidth.measure_copy(self.mode, self.threads)
        info["copy_rows"] = copy_rows
        info["copy_gbs"] = {str(t): g for t, g in self.copy.items()}
        info["line"] = machine_line(info, self.peak, bandwidth.copy_text(self.copy, copy_rows))
        self.results["machine"] = info
        self.out("  " + info["line"])
        for r in rows:
            self.out(f"    matmul {r['size']}^2 {r['threads']} thr: median {fmt_time(r.get('median_s'))} "
                     f"-> {r['gflops']:.1f} GFLOP/s (best sample {r['gflops_best']:.1f})"
                     if r["gflops"] else f"    matmul {r['size']} failed")
        for r in copy_rows:
            self.out(f"    copy {r['array_bytes'] / 2 ** 20:.0f} MiB {r['threads']} thr ({r['method']}): median "
                     f"{fmt_time(r.get('median_s'))} -> {r['gbs']:.1f} GB/s (best sample {r['gbs_best']:.1f})"
                     if r["gbs"] else f"    copy {r['threads']} thr failed: {r['error']}")
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
               f"{'c rate':>15}  {'c/np':>7}  {'c/torch':>7}  {'GB/s':>7}  {'%copy':>5}")
        for n in self.mode["kernel_batches"]:
            cases = kernel_cases(n)
            if self.mode["kernel_filter"]:
                keep = self.mode["kernel_filter"]
                cases = [c for c in cases if c.model in keep or f"{c.model}.{c.layer}" in keep]
            self.out(f"-- batch {n}: {len(cases)} cases; median (IQR) per call; "
                     "'c*' = that op has no C kernel yet and ran the NumPy reference; memory-bound ops: GB/s "
                     "= c's minimum bytes (each input read once, each output written once; "
                     "cnet/bench/bandwidth.py) per second, %copy = that / the copy bandwidth at the same threads")
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
        elif self.torch is not None:
            tnote = "no PyTorch equivalent of this kernel"
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
            res = interleaved(cons, self.mode)
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
                    st = stats(rec["samples"])
                    row.update(status="ok", samples_s=rec["samples"], calls_per_sample=rec["calls"], **st)
                    row.update(self._row_figures(st, case.flops, case.nbytes, t))
                    if case.traffic is not None and st:
                        row.update(bandwidth.figures(case.traffic, st["median_s"], self.copy.get(t)))
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
            return f"{fmt_time(r['median_s'])} ({fmt_time(iqr)})"
        c = rs.get("c")
        rate = ""
        if c is not None:
            if "gflops" in c:
                pct = c.get("pct_peak")
                rate = f"{c['gflops']:.1f}GF {pct:.0f}%" if pct is not None else f"{c['gflops']:.1f}GF"
            elif "gbs" in c:
                rate = f"{c['gbs']:.2f}GB/s"
        gbs = f"{c['min_gbs']:.2f}" if c and "min_gbs" in c else ""
        pct_copy = f"{c['pct_copy']:.0f}%" if c and c.get("pct_copy") is not None else ""
        mem = f"  {gbs:>7}  {pct_copy:>5}" if gbs else ""
        sp_np = rs["numpy"]["median_s"] / c["median_s"] if (c and "numpy" in rs) else None
        sp_t = rs["torch"]["median_s"] / c["median_s"] if (c and "torch" in rs) else None
        self.speedups.append((case.name + f" N={c['batch']}" if c else case.name, t, sp_np, sp_t))
        cname = "c*" if c_impl != "c" else "c"
        if label:
            self.out(f"{t:>3}  {cell('c'):>16}  {cell('numpy'):>16}  {cell('torch'):>16}  {rate:>15}  "
                     f"{fmt_x(sp_np):>7}  {fmt_x(sp_t):>7}{mem}" + ("  [c*: reference]" if cname == "c*" else ""))
        else:
            self.out(f"  {'':<44}{t:>3}  {cell('c'):>16}  {cell('numpy'):>16}  {cell('torch'):>16}  "
                     f"{rate:>15}  {fmt_x(sp_np):>7}  {fmt_x(sp_t):>7}{mem}")
        for b in self.backends():
            rec = res.get((b, t))
            if rec is not None and "error" in rec:
                self.out(f"  {'':<44}     {b}: skipped: {rec['error']}")

    # ---- gemm ------------------------------------------------------------------------------------
    def run_gemm(self):
        self.out("== gemm " + "=" * 73)
        n = self.mode["gemm_batch"]
        self.out(f"-- layer products at batch {n} (M x K x N of the product); fwd X.W, dW X^T.dY, dX dY.W^T; "
                 "cnet.ops.gemm(trans_a/trans_b) vs numpy.matmul on transposed views")
        self.out(f"  {'product':<32}{'MxKxN':>20}{'thr':>4}  {'c GF/s':>8} {'%pk':>5}  {'numpy GF/s':>10}  "
                 f"{'torch GF/s':>10}  {'c/np':>6}  {'c/torch':>7}")
        rng = np.random.default_rng(self.args.seed)
        for name, m, k, nn, kind, shape in gemm_products(n, self.mode["gemm_filter"], self.mode["squares"]):
            x, w, dy = f32(rng, m, k), f32(rng, k, nn), f32(rng, m, nn)
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
            res = interleaved(cons, self.mode)
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
                        st = stats(rec["samples"])
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
                         f"{fmt_x(r_np):>6}  {fmt_x(r_t):>7}")
                self.speedups.append((f"gemm {name}", t, r_np, r_t))

    # ---- conv: both engines per conv layer and pass (cnet/bench/conv.py) ---------------------------
    def run_conv(self):
        run_conv(self)

    # ---- e2e -------------------------------------------------------------------------------------
    def run_e2e(self):
        run_e2e(self)
        if not self.args.no_memory:
            run_memory(self)

    # ---- output ----------------------------------------------------------------------------------
    def write_json(self, path):
        self.results["speedups"] = [{"case": lab, "threads": t, "c_vs_numpy": a, "c_vs_torch": b}
                                    for lab, t, a, b in self.speedups]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        text = json.dumps(self.results, indent=1, default=_json_default)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))   # never half a results file
        self.out(f"JSON: {path}")

    def plot(self, path):
        plot_speedups(self.speedups, max(self.threads), path, self.out)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (set, tuple)):
        return list(o)
    return repr(o)
