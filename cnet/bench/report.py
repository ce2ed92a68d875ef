"""What cnet-bench reports besides its live tables: README-ready Markdown tables from a results JSON
(``--report``) and a bar chart of the speedups (``--plot``)."""
import numpy as np

from .bandwidth import membound_table
from .timing import fmt_time


def _median_of(rows, **match):
    """The first measured row matching every key (None when there is none)."""
    for r in rows:
        if all(r.get(k) == v for k, v in match.items()) and r.get("status") == "ok":
            return r
    return None


def markdown_report(res, command):
    """README-ready tables from a results dict: the machine, end-to-end training per model (and batch),
    inference against PyTorch, the layer kernels of the Keras convnet at batch 128, the convnet's GEMM
    products, the memory-bound kernels against the copy bandwidth, and every conv layer's passes."""
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
    blocks = [(r["model"], r["batch"]) for r in res["e2e"] if r.get("backend") == "c" and r["threads"] == thr[0]]
    for model, batch in blocks:   # a model measured at several batches (--batch 32,128) has a block each
        for t in thr:
            c = _median_of(res["e2e"], model=model, batch=batch, backend="c", threads=t)
            n = _median_of(res["e2e"], model=model, batch=batch, backend="numpy", threads=t)
            tt = _median_of(res["e2e"], model=model, batch=batch, backend="torch", threads=t)
            if c is None:
                continue
            ips = lambda r: f"{r['images_per_s']:,.0f}" if r else "-"
            ratio = lambda r: f"{c['images_per_s'] / r['images_per_s']:.2f}x" if r else "-"
            out.append(f"| {model} | {c['batch']} | {t} | {ips(c)} | {ips(n)} | {ips(tt)} | {ratio(n)} | "
                       f"{ratio(tt)} | {c['epoch_s']:.1f} |")
    sc = {(r["model"], r.get("batch"), r["backend"]): r["ratio"] for r in res.get("scaling", [])}
    if sc:
        several = len({m for m, _, _ in sc}) < len({(m, bt) for m, bt, _ in sc})
        out += ["", "Thread scaling 1 -> 2 (training images/s): " + ", ".join(
            f"{mdl}{f' batch {bt}' if several else ''} {sc[(mdl, bt, 'c')]:.2f}x" for mdl, bt, b in sc if b == "c")
            + "."]
    mem = res.get("memory") or {}
    if mem.get("status") == "ok":
        out += [f"Peak resident memory of a training process (MNIST loaded, Keras convnet, batch "
                f"{mem['batch']}, {mem['steps']} steps): {mem['vmhwm_kb'] / 1024:.0f} MB."]
    out += _infer_table(res)
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
            f = lambda x: fmt_time(x["median_s"]) if x else "-"
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
    out += membound_table(res)
    out += _conv_table(res)
    return "\n".join(out) + "\n"


def _infer_table(res):
    """The infer section: predict on a batch and one image, cnet (C) against the PyTorch twin."""
    rows = [r for r in res.get("infer") or [] if r.get("status") == "ok"]
    if not rows:
        return []
    out = ["", f"Inference: `model.predict(x, batch_size={rows[0]['batch']})` on {rows[0]['batch']} images "
           "(images/s) and one image (`model.predict_on_batch(x[:1])`; `model.predict(x[:1])` in brackets), "
           "against the PyTorch twin in eval mode under `torch.no_grad()` (median of the rounds; ratio = "
           "PyTorch's time / cnet's):", "",
           "| model | threads | cnet img/s | PyTorch img/s | ratio | cnet 1 image | PyTorch 1 image | ratio |",
           "|---|---|---|---|---|---|---|---|"]
    for c in rows:
        if c["backend"] != "c":
            continue
        tt = _median_of(rows, model=c["model"], backend="torch", threads=c["threads"])
        lat = fmt_time(c["latency_median_s"]) + (f" ({fmt_time(c['latency_predict_median_s'])})"
                                                 if "latency_predict_median_s" in c else "")
        ips = f"{tt['images_per_s']:,.0f}" if tt else "-"
        r_ips = f"{c['images_per_s'] / tt['images_per_s']:.2f}x" if tt else "-"
        tlat = fmt_time(tt["latency_median_s"]) if tt else "-"
        r_lat = f"{tt['latency_median_s'] / c['latency_median_s']:.2f}x" if tt else "-"
        out.append(f"| {c['model']} | {c['threads']} | {c['images_per_s']:,.0f} | {ips} | {r_ips} | {lat} | "
                   f"{tlat} | {r_lat} |")
    return out


def _conv_table(res):
    """Every conv layer and pass: both engines' GFLOP/s and % of the GEMM peak, and the layer's plan."""
    rows = res.get("conv") or []
    if not rows:
        return []
    out = ["", f"Conv layers of the bundled models, batch {rows[0]['batch']} (GFLOP/s in the conventional "
           "count, % of the numpy.matmul peak of the same thread count; direct on blocked activations):", "",
           "| layer | pass | threads | direct | % peak | im2col | % peak | direct / im2col | plan |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d, i = r["direct"], r["im2col"]
        g = lambda e: f"{e['gflops']:.1f}" if e.get("gflops") else "-"
        p = lambda e: f"{e['pct_peak']:.0f} %" if e.get("pct_peak") else "-"
        ratio = f"{d['gflops'] / i['gflops']:.2f}x" if d.get("gflops") and i.get("gflops") else "-"
        plan = r["plan"]["engine"] + (" (plain)" if r["plan"].get("plain") else "")
        out.append(f"| {r['model']}.{r['layer']} | {r['pass']} | {r['threads']} | {g(d)} | {p(d)} | {g(i)} | "
                   f"{p(i)} | {ratio} | {plan} |")
    return out


def plot_speedups(speedups, t, path, out=print):
    """A PNG bar chart of the speedups (label, threads, c/numpy, c/torch) at `t` threads (needs matplotlib:
    without it, a line says so and nothing is written)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:
        out(f"plot: skipped: matplotlib is not available ({exc.__class__.__name__}); "
            "pip install matplotlib to get --plot")
        return
    rows = [(lab, np_, tr) for lab, th, np_, tr in speedups if th == t and np_]
    if not rows:
        out("plot: nothing to plot")
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
    out(f"plot: {path}")
