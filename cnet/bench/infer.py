"""cnet-bench's infer section: inference of each bundled model on the C backend against its PyTorch twin, at
each thread count -- ``model.predict(x, batch_size=N)`` on N images (1000; 100 in --quick) and the latency of
one image (``model.predict_on_batch(x[:1])``, the cheapest call a user has for one image, and
``model.predict(x[:1])``, the Keras habit). The twin is read off the cnet model's layers (same architecture,
its own weights), in eval mode under ``torch.no_grad()``; it ends at the logits (its softmax is the loss's in
training), so torch does slightly less work than cnet's predict, which returns probabilities. Interleaved
rounds and medians (timing.py); ratios are cnet's speedup: torch's time / cnet's, > 1 when cnet is faster."""
from cnet import ops, zoo

from .e2e import _e2e_data, cnet_model
from .timing import fmt_time, fmt_x, interleaved, stats
from .torch_twin import torch_from_cnet

#: the latency contenders: key -> (backend the timing enters, what the JSON calls the call)
LATENCY_CALLS = {"c": ("c", "predict_on_batch(x[:1])"), "c.predict": ("c", "predict(x[:1])"),
                 "torch": ("torch", "model(x[:1]) in eval mode under torch.no_grad()")}


def infer_models(suite):
    """The section's models: --models (else the mode's e2e models) by base name, each once (an optimizer
    suffix such as cnn:adam changes training, not inference)."""
    specs = suite.args.models.split(",") if suite.args.models else list(suite.mode["models"] or zoo.MODELS)
    names = []
    for spec in specs:
        base = spec.strip().partition(":")[0]
        if base and base not in names:
            names.append(base)
    return names


def run_infer(suite):
    mode, out = suite.mode, suite.out
    results = suite.results.setdefault("infer", [])
    n = mode["infer_batch"]
    out("== infer " + "=" * 72)
    if suite.torch is None:
        out(f"  torch rows: skipped: {suite.torch_note}")
    out(f"  predict: model.predict(x, batch_size={n}) on {n} images; 1 image: model.predict_on_batch(x[:1]) "
        "(and model.predict(x[:1])); torch: the twin in eval mode under torch.no_grad(), model(x); "
        f"median (IQR) of {mode['rounds']} rounds; speedup = torch's time / cnet's")
    out(f"  {'model':<15}{'thr':>4}  {'backend':<7}{f'predict {n}':>22}{'img/s':>9}{'1 image':>20}"
        f"{'predict(x[:1])':>16}")
    for name in infer_models(suite):
        if name not in zoo.MODELS:
            suite.skip("infer", name, f"unknown model (choose from {', '.join(zoo.MODELS)})")
            continue
        _infer_model(suite, name, n, results)


def _infer_model(suite, name, n, results):
    mode, threads, out, torch = suite.mode, suite.threads, suite.out, suite.torch
    shape = zoo.input_shape(name)
    x, _, data_src = _e2e_data(n, shape, suite.args.seed)
    x1 = x[:1]
    out(f"  -- {name}: {n} images, data {data_src}")
    model, twin, reasons = None, None, {}
    try:
        with ops.use_backend("c"):
            model = cnet_model(name, suite.args.seed)
            model.predict_on_batch(x1)   # builds it (the twin is read off the built layers)
    except Exception as exc:
        reasons["c"] = f"cnet model unavailable: {exc.__class__.__name__}: {exc}"
    if torch is None:
        reasons["torch"] = suite.torch_note
    elif model is None:
        reasons["torch"] = "no cnet model to mirror"
    else:
        try:
            torch.manual_seed(suite.args.seed)
            twin = torch_from_cnet(torch, model, shape).eval()
            tx, tx1 = torch.from_numpy(x), torch.from_numpy(x1)
        except Exception as exc:
            reasons["torch"] = f"torch equivalent unavailable: {exc.__class__.__name__}: {exc}"
            twin = None

    def torch_fn(t_in):
        def f():
            with torch.no_grad():
                return twin(t_in)
        return f

    fns_batch, fns_one = {}, {}
    if model is not None:
        fns_batch["c"] = lambda: model.predict(x, batch_size=n)
        fns_one["c"] = lambda: model.predict_on_batch(x1)
        fns_one["c.predict"] = lambda: model.predict(x1)
    if twin is not None:
        fns_batch["torch"] = torch_fn(tx)
        fns_one["torch"] = torch_fn(tx1)
    res_batch = interleaved(
        [{"key": (k, t), "enter": suite.enter(k, t), "fn": f} for t in threads for k, f in fns_batch.items()],
        mode, warmup=max(1, mode["warmup"]), per_round=1)
    res_one = interleaved(
        [{"key": (k, t), "enter": suite.enter(LATENCY_CALLS[k][0], t), "fn": f}
         for t in threads for k, f in fns_one.items()],
        mode, warmup=max(1, mode["warmup"]), per_round=1,
        min_time=max(mode["min_time"], 0.002) if mode["name"] != "smoke" else 0.0)
    for t in threads:
        med = {}
        for b in ("c", "torch"):
            row = {"section": "infer", "model": name, "backend": b, "threads": t, "batch": n, "data": data_src}
            rb, r1 = res_batch.get((b, t)), res_one.get((b, t))
            reason = reasons.get(b) or next((r["error"] for r in (rb, r1) if r and "error" in r), None)
            if reason or rb is None or r1 is None:
                row.update(status="skipped", reason=reason or "not run")
                results.append(row)
                out(f"  {name:<15}{t:>4}  {b:<7}skipped: {row['reason']}")
                if t == threads[0]:
                    suite.results["skipped"].append({"section": "infer", "case": f"{name}.{b}",
                                                     "reason": row["reason"]})
                continue
            row["status"] = "ok"
            _figures(row, "predict", rb["samples"])
            row["images_per_s"] = n / row["predict_median_s"]
            row["latency_call"] = LATENCY_CALLS[b][1]
            _figures(row, "latency", r1["samples"])
            med[b] = row["predict_median_s"], row["latency_median_s"]
            cells = [_cell(row, "predict"), f"{row['images_per_s']:.0f}", _cell(row, "latency"), "-"]
            if b == "c":
                rp = res_one.get(("c.predict", t)) or {}
                if "samples" in rp:
                    row["latency_predict_call"] = LATENCY_CALLS["c.predict"][1]
                    _figures(row, "latency_predict", rp["samples"])
                    med["c.predict"] = row["latency_predict_median_s"]
                    cells[3] = fmt_time(row["latency_predict_median_s"])
                else:
                    row["latency_predict_error"] = rp.get("error", "not run")
                    cells[3] = "err"
            results.append(row)
            out(f"  {name:<15}{t:>4}  {b:<7}{cells[0]:>22}{cells[1]:>9}{cells[2]:>20}{cells[3]:>16}")
        if "c" in med and "torch" in med:
            sp = {"predict_c_vs_torch": med["torch"][0] / med["c"][0],
                  "latency_c_vs_torch": med["torch"][1] / med["c"][1],
                  "latency_predict_c_vs_torch": (med["torch"][1] / med["c.predict"] if "c.predict" in med
                                                 else None)}
            out(f"  {'':<15}{t:>4}  speedup c/torch: predict {fmt_x(sp['predict_c_vs_torch'])}, 1 image "
                f"{fmt_x(sp['latency_c_vs_torch'])} (predict(x[:1]) {fmt_x(sp['latency_predict_c_vs_torch'])})")
            results.append({"section": "infer", "model": name, "threads": t, "batch": n, "kind": "speedup", **sp})
            suite.speedups.append((f"infer {name} predict {n}", t, None, sp["predict_c_vs_torch"]))
            suite.speedups.append((f"infer {name} 1 image", t, None, sp["latency_c_vs_torch"]))


def _figures(row, prefix, samples):
    st = stats(samples)
    row.update({f"{prefix}_samples_s": samples, f"{prefix}_median_s": st["median_s"],
                f"{prefix}_q1_s": st["q1_s"], f"{prefix}_q3_s": st["q3_s"]})


def _cell(row, prefix):
    return (f"{fmt_time(row[prefix + '_median_s'])} "
            f"({fmt_time(row[prefix + '_q3_s'] - row[prefix + '_q1_s'])})")
