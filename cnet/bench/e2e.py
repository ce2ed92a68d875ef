"""cnet-bench's end-to-end section: one training step of each bundled model (cnet.zoo) on one batch, on the C
backend, the NumPy reference and the equivalent PyTorch model; images/s, seconds per MNIST epoch, inference
throughput and single-image latency, and the thread scaling."""
import math
import os

import numpy as np

from cnet import initializers, ops, zoo

from .timing import fmt_time, fmt_x, interleaved, stats
from .torch_twin import torch_from_cnet, torch_optimizer

MNIST_TRAIN = 60000


def _e2e_spec(spec):
    """'cnn' -> ('cnn', its cnet-train batch, optimizer and lr); 'cnn:adam' -> ('cnn', its batch, 'adam',
    Keras's default lr of that optimizer): a bundled model trained with another optimizer."""
    base, _, opt = spec.partition(":")
    d = zoo.DEFAULTS.get(base)
    batch, opt_name, lr = (d.batch_size, d.optimizer, d.lr) if d else (None, None, None)
    if opt:
        opt_name, lr = opt, float(zoo.make_optimizer(opt).learning_rate)
    return base, batch, opt_name, lr


def cnet_model(name, seed, opt_name=None, lr=None):
    """The bundled model `name` (cnet.zoo), seeded and compiled with its cnet-train optimizer unless
    opt_name/lr are given."""
    initializers.set_seed(seed)
    if opt_name is None:
        d = zoo.DEFAULTS[name]
        opt_name, lr = d.optimizer, d.lr
    model = zoo.build_model(name)
    model.compile(optimizer=zoo.make_optimizer(opt_name, lr), loss="sparse_categorical_crossentropy")
    return model


_MNIST = {}


def _e2e_data(n, shape, seed):
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
    x = x.reshape((n,) + shape)
    return np.ascontiguousarray(x), y, src


def train_batches(suite, default_batch):
    """The batch sizes a model trains at in the e2e section: --batch when given (any mode), else its cnet-train
    batch in the full suite and the mode's batch otherwise."""
    chosen = getattr(suite.args, "batch", None)
    if chosen:
        return list(chosen)
    return [default_batch if suite.mode["name"] == "full" else suite.mode["e2e_batch"]]


def run_e2e(suite):
    mode, threads = suite.mode, suite.threads
    out = suite.out
    out("== e2e " + "=" * 74)
    models = list(suite.args.models.split(",")) if suite.args.models else list(mode["models"] or zoo.MODELS)
    if suite.torch is None:
        out(f"  torch rows: skipped: {suite.torch_note}")
    out(f"  training step on one batch (median (IQR)), images/s and seconds per MNIST epoch "
        f"({MNIST_TRAIN} images, extrapolated); inference: predict on {mode['infer_batch']} images; "
        "latency: predict on 1 image")
    out(f"  {'model':<15}{'batch':>6}{'thr':>4}  {'backend':<7}{'step':>20}{'img/s':>9}{'epoch s':>9}"
        f"{'infer img/s':>12}{'latency':>10}")
    ips = {}        # (model, batch, backend, threads) -> training images/s
    batches = {}    # model -> the batch sizes it was measured at
    for name in models:
        try:
            base, default_batch, opt_name, lr = _e2e_spec(name)
        except ValueError as exc:
            suite.skip("e2e", name, f"unknown optimizer: {exc}")
            continue
        if base not in zoo.MODELS:
            suite.skip("e2e", name, f"unknown model (choose from {', '.join(zoo.MODELS)}, optionally "
                                    f"with :optimizer, e.g. cnn:adam)")
            continue
        batches[name] = train_batches(suite, default_batch)
        for i, batch in enumerate(batches[name]):
            # inference does not depend on the training batch: measured once per model, with its first batch
            _run_model(suite, name, base, batch, opt_name, lr, ips, infer=(i == 0),
                       tag="" if len(batches[name]) == 1 else f" batch {batch}")
    # thread scaling
    if len(threads) > 1:
        t0, t1 = threads[0], threads[-1]
        out(f"  thread scaling {t0} -> {t1} (training images/s ratio):")
        labels = {(name, batch): name if len(batches.get(name, ())) < 2 else f"{name} batch {batch}"
                  for name in models for batch in batches.get(name, [None])}
        width = max([15] + [len(lab) + 1 for lab in labels.values()])
        for name in models:
            for batch in batches.get(name, [None]):
                parts = []
                for b in ("c", "numpy", "torch"):
                    a, z = ips.get((name, batch, b, t0)), ips.get((name, batch, b, t1))
                    if a and z:
                        suite.results["scaling"].append({"model": name, "batch": batch, "backend": b,
                                                         "from_threads": t0, "to_threads": t1, "ratio": z / a})
                        parts.append(f"{b} {z / a:.2f}x")
                out(f"    {labels[(name, batch)]:<{width}}" + (", ".join(parts) if parts
                                                                 else "skipped: no training figures"))


def _run_model(suite, name, base, batch, opt_name, lr, ips, infer, tag):
    """One model at one training batch: its training step (and, when `infer`, its inference and latency) on
    each backend and thread count, printed and recorded; training images/s go into `ips`."""
    mode, threads, out, torch = suite.mode, suite.threads, suite.out, suite.torch
    shape = zoo.input_shape(base)
    nbig = max(batch, mode["infer_batch"])
    x_all, y_all, data_src = _e2e_data(nbig, shape, suite.args.seed)
    x, y = x_all[:batch], y_all[:batch]
    xi, x1 = x_all[:mode["infer_batch"]], x_all[:1]
    out(f"  -- {name}: batch {batch}, optimizer {opt_name} lr {lr:g}, data {data_src}")
    contenders, reasons = {}, {}
    for b in ("c", "numpy"):
        try:
            with ops.use_backend(b):
                m = cnet_model(base, suite.args.seed, opt_name, lr)
                m.train_on_batch(x[:2], y[:2])
            contenders[b] = m
        except Exception as exc:
            reasons[b] = f"cnet model unavailable: {exc.__class__.__name__}: {exc}"
    if torch is not None:
        try:
            ref = contenders.get("c") or contenders.get("numpy")
            if ref is None:
                raise RuntimeError("no cnet model to mirror")
            torch.manual_seed(suite.args.seed)
            tm = torch_from_cnet(torch, ref, shape)
            topt = torch_optimizer(torch, tm.parameters(), ref.optimizer)
            contenders["torch"] = (tm, topt)
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
    res_train = interleaved(
        [{"key": (b, t), "enter": suite.enter(b, t), "fn": step_fn(b)} for t in threads for b in order],
        mode, warmup=mode["e2e_warmup"], rounds=mode["e2e_rounds"], per_round=mode["e2e_per_round"],
        settle=mode["settle"], min_time=0.0)
    res_inf, res_lat = {}, {}
    if infer:
        res_inf = interleaved(
            [{"key": (b, t), "enter": suite.enter(b, t), "fn": predict_fn(b, xi)} for t in threads for b in order],
            mode, warmup=1, rounds=mode["latency_rounds"], per_round=1, settle=0, min_time=0.0)
        res_lat = interleaved(
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
                    suite.results["skipped"].append({"section": "e2e", "case": f"{name}{tag}.{b}",
                                                     "reason": row["reason"]})
                continue
            if rec is None or "error" in rec:
                row.update(status="skipped", reason=(rec or {}).get("error", "not run"))
                suite.results["e2e"].append(row)
                out(f"  {name:<15}{batch:>6}{t:>4}  {b:<7}skipped: {row['reason']}")
                continue
            st = stats(rec["samples"])
            row.update(status="ok", step_samples_s=rec["samples"], **{"step_" + k: v for k, v in st.items()})
            row["images_per_s"] = batch / st["median_s"]
            row["epoch_s"] = MNIST_TRAIN / batch * st["median_s"]
            if infer:
                _inference_figures(row, res_inf.get((b, t), {}), res_lat.get((b, t), {}), mode["infer_batch"])
            else:
                row["infer_batch"] = None   # measured with the model's first batch only
            suite.results["e2e"].append(row)
            ips[(name, batch, b, t)] = row["images_per_s"]
            step = f"{fmt_time(st['median_s'])} ({fmt_time(st['q3_s'] - st['q1_s'])})"
            inf = (f"{row['infer_images_per_s']:.0f}" if "infer_images_per_s" in row else "err" if infer else "-")
            lat = fmt_time(row.get("latency_median_s"))
            out(f"  {name:<15}{batch:>6}{t:>4}  {b:<7}{step:>20}{row['images_per_s']:>9.0f}"
                f"{row['epoch_s']:>9.1f}{inf:>12}{lat:>10}")
        c = ips.get((name, batch, "c", t))
        n_, t_ = ips.get((name, batch, "numpy", t)), ips.get((name, batch, "torch", t))
        sp_np = c / n_ if c and n_ else None
        sp_t = c / t_ if c and t_ else None
        if c:
            out(f"  {'':<15}{'':>6}{t:>4}  speedup c/numpy {fmt_x(sp_np)}, c/torch {fmt_x(sp_t)}")
            suite.speedups.append((f"e2e {name}{tag}", t, sp_np, sp_t))
            suite.results["e2e"].append({"section": "e2e", "model": name, "batch": batch, "threads": t,
                                         "kind": "speedup", "c_vs_numpy": sp_np, "c_vs_torch": sp_t})


def _inference_figures(row, ri, rl, infer_batch):
    if "samples" in ri:
        si = stats(ri["samples"])
        row.update(infer_samples_s=ri["samples"], infer_median_s=si["median_s"],
                   infer_images_per_s=infer_batch / si["median_s"])
    else:
        row["infer_error"] = ri.get("error")
    if "samples" in rl:
        sl = stats(rl["samples"])
        row.update(latency_samples_s=rl["samples"], latency_median_s=sl["median_s"],
                   latency_q1_s=sl["q1_s"], latency_q3_s=sl["q3_s"])
    else:
        row["latency_error"] = rl.get("error")
