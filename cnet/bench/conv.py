"""The conv section of cnet-bench: every convolution layer of the bundled models, each pass, on both
engines of Conv2D, with the plan the layer gets.

Per layer and pass -- forward (with bias and ReLU, as the layers fuse them), backward-data, backward-weights
(with the bias gradient) -- GFLOP/s in the conventional count 2*N*K*C*KH*KW*OH*OW of every pass, and that
as a share of the machine's GEMM peak (numpy.matmul, measured by the machine section). The direct engine is
timed on blocked activations (the kernels and their weight-layout conversions; not the NCHW conversions a
layer adds around them); im2col is cnet.ops.conv2d_forward/backward. im2col has no backward-data call of
its own: its backward-data figure is (full backward) - (backward without the data gradient), medians.
"""
import numpy as np

from cnet import ops

from .cases import f32, model_cases
from .timing import fmt_x, interleaved, stats

PASSES = ("fwd", "bwd_d", "bwd_w")


def conv_layers(n):
    """(model, layer, (n, c, h, w, k, ks, pad)) of every conv layer of the bundled models at batch n, once
    per shape (the first model that has it)."""
    seen, out = set(), []
    for case in model_cases(n):
        if case.op == "conv2d" and case.direction == "fwd" and case.conv not in seen:
            seen.add(case.conv)
            out.append((case.model, case.layer, case.conv))
    return out


def _contenders(geom, rng, plan):
    """{(engine, kind): callable}: the direct passes on blocked arrays, im2col's forward, full backward and
    backward without dx."""
    n, c, h, w, k, ks, pad = geom
    oh, ow = h + 2 * pad - ks + 1, w + 2 * pad - ks + 1
    x, wt, b, dy = f32(rng, n, c, h, w), f32(rng, k, c, ks, ks, scale=0.1), f32(rng, k), f32(rng, n, k, oh, ow)
    cb = ops.conv.blk_width(np.float32)
    plain = c <= ops.conv.PLAIN_MAX_CHANNELS
    with ops.use_backend("c"):
        xk = x if plain else ops.to_blocked(x, cb)
        dyb = ops.to_blocked(dy, cb)
    yb = np.empty((n, -(-k // cb), oh, ow, cb), np.float32)
    dxb = np.empty((n, -(-c // cb), h, w, cb), np.float32)
    grads = (np.empty_like(wt), np.empty(k, np.float32))
    y, outs = np.empty((n, k, oh, ow), np.float32), (np.empty_like(x), np.empty_like(wt), np.empty(k, np.float32))
    return {
        ("direct", "fwd"): lambda: ops.conv2d_blk_forward(xk, wt, b, 1, pad, plain, cb, out=yb, relu=True),
        ("direct", "bwd_d"): lambda: ops.conv2d_blk_backward_data(dyb, wt, x.shape, 1, pad, out=dxb),
        ("direct", "bwd_w"): lambda: ops.conv2d_blk_backward_weights(dyb, xk, wt.shape, 1, pad, plain, out=grads),
        ("im2col", "fwd"): lambda: ops.conv2d_forward(x, wt, b, 1, pad, out=y, relu=True),
        ("im2col", "bwd"): lambda: ops.conv2d_backward(dy, x, wt, 1, pad, out=outs),
        ("im2col", "bwd_w"): lambda: ops.conv2d_backward(dy, x, wt, 1, pad, out=(None,) + outs[1:], need_dx=False),
    }


def run_conv(suite):
    """The conv table (rows in suite.results['conv'])."""
    suite.out("== conv " + "=" * 73)
    n = suite.mode["gemm_batch"]
    suite.out(f"-- conv layers at batch {n}: GFLOP/s (conventional count) and % of the GEMM peak; direct on "
              "blocked activations, im2col on NCHW; plan = the engine Conv2D picks (cnet.ops.conv.conv2d_plan)")
    suite.out(f"  {'layer':<26}{'pass':<6}{'thr':>4}  {'direct':>7} {'%pk':>5}  {'im2col':>7} {'%pk':>5}  "
              f"{'d/i':>6}  plan")
    rows = suite.results.setdefault("conv", [])
    keep = suite.mode.get("kernel_filter")
    for model, layer, geom in conv_layers(n):
        if keep and model not in keep and f"{model}.{layer}" not in keep:
            continue
        n_, c, h, w, k, ks, pad = geom
        flops = 2.0 * n_ * k * c * ks * ks * (h + 2 * pad - ks + 1) * (w + 2 * pad - ks + 1)
        with ops.use_backend("c"):
            plan = ops.conv.conv2d_plan((n_, c, h, w), (k, c, ks, ks), 1, pad, np.float32)
        plan_s = plan["engine"] + (" (plain)" if plan.get("plain") else "")
        calls = _contenders(geom, np.random.default_rng(suite.args.seed), plan)
        cons = [{"key": (key, t), "enter": suite.enter("c", t), "fn": fn}
                for t in suite.threads for key, fn in calls.items()]
        res = interleaved(cons, suite.mode)
        tiles = ops.conv.conv2d_blk_last_tiles()    # of this layer's last direct calls
        plan = dict(plan, tiles=tiles)
        if plan["engine"] == "direct":
            plan_s += " tiles fwd {}x{} bwd_d {}x{} dW {}x{} ({} chunks)".format(
                *tiles["forward"], *tiles["backward_data"], *tiles["backward_weights"], tiles["weight_chunks"])
        for t in suite.threads:
            med = {}
            for key in calls:
                rec = res.get((key, t)) or {}
                med[key] = stats(rec["samples"])["median_s"] if rec.get("samples") else None
            if med[("im2col", "bwd")] and med[("im2col", "bwd_w")]:
                d = med[("im2col", "bwd")] - med[("im2col", "bwd_w")]
                med[("im2col", "bwd_d")] = d if d > 0 else None
            for p in PASSES:
                row = {"section": "conv", "model": model, "layer": layer, "pass": p, "threads": t, "batch": n_,
                       "shape": list(geom), "flops": flops, "plan": plan}
                figs = {}
                for engine in ("direct", "im2col"):
                    s = med.get((engine, p))
                    err = (res.get(((engine, p), t)) or {}).get("error")
                    row[engine] = ({"median_s": s, "gflops": flops / s / 1e9,
                                    "pct_peak": suite.pct(flops / s / 1e9, t)} if s else
                                   {"status": "skipped", "reason": err or "not measured"})
                    figs[engine] = row[engine].get("gflops")
                rows.append(row)
                ratio = figs["direct"] / figs["im2col"] if figs["direct"] and figs["im2col"] else None

                def cell(e):
                    g, pk = row[e].get("gflops"), row[e].get("pct_peak")
                    return f"{g:>7.1f} {('%.0f%%' % pk) if pk else '-':>5}" if g else f"{'-':>7} {'-':>5}"
                suite.out(f"  {model + '.' + layer:<26}{p:<6}{t:>4}  {cell('direct')}  {cell('im2col')}  "
                          f"{fmt_x(ratio):>6}  {plan_s}")
