"""Smoke test of the benchmark suite: it runs and writes the JSON it promises. Never how fast anything is."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cnet import bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """Run `python -m benchmarks --smoke` (minimum sizes and repeats, every section) in a subprocess."""
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    p = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--threads", "1,2", "--no-torch",
                        "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"exit code {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
    with open(out) as f:
        return json.load(f), p.stdout


def test_smoke_writes_every_section(smoke):
    res, stdout = smoke
    for key in ("meta", "machine", "kernels", "gemm", "conv", "e2e", "memory", "scaling", "skipped"):
        assert key in res, key
    assert res["meta"]["mode"] == "smoke"
    assert res["meta"]["threads"] == [1, 2]
    m = res["machine"]
    for key in ("cpu", "flags", "cpus_usable", "simd", "numpy", "op_backends", "gemm_peak_rows", "line"):
        assert key in m, key
    assert {r["threads"] for r in m["gemm_peak_rows"]} == {1, 2}
    assert "== kernels" in stdout and "== gemm" in stdout and "== e2e" in stdout


@pytest.mark.parametrize("section", ["kernels", "gemm"])
def test_both_backends_at_one_and_two_threads(smoke, section):
    rows = [r for r in smoke[0][section] if r.get("status") == "ok"]
    assert rows, f"no {section} rows were measured"
    cases = {r["case"] for r in rows}
    for case in cases:
        got = {(r["backend"], r["threads"]) for r in rows if r["case"] == case}
        assert {("c", 1), ("c", 2), ("numpy", 1), ("numpy", 2)} <= got, (case, got)
    for r in rows:
        assert r["median_s"] > 0 and r["samples_s"]


def test_conv_section_has_every_pass_both_engines_and_the_plan(smoke):
    res, stdout = smoke
    rows = res["conv"]
    assert "== conv" in stdout and rows
    assert {r["pass"] for r in rows} == {"fwd", "bwd_d", "bwd_w"} and {r["threads"] for r in rows} == {1, 2}
    for r in rows:
        assert r["plan"]["engine"] in ("direct", "im2col") and r["flops"] > 0
        assert min(r["plan"]["tiles"]["forward"]) >= 1 and r["plan"]["tiles"]["weight_chunks"] >= 1
        for engine in ("direct", "im2col"):
            fig = r[engine]
            assert fig.get("gflops", 0) > 0 or fig.get("reason"), (r["layer"], r["pass"], engine, fig)
    assert "| layer | pass | threads | direct |" in bench.markdown_report(res, "smoke")


def test_copy_bandwidth_is_in_the_json_and_on_the_machine_line(smoke):
    res, stdout = smoke
    m = res["machine"]
    assert set(m["copy_gbs"]) == {"1", "2"}
    for t, g in m["copy_gbs"].items():
        assert isinstance(g, float) and g > 0, (t, g)
    assert [r["threads"] for r in m["copy_rows"]] == [1, 2]
    assert all(r["array_bytes"] >= 64 * 2 ** 20 and len(r["samples_s"]) >= 5 for r in m["copy_rows"])
    assert " | copy " in m["line"] and m["line"].endswith("GB/s")
    assert m["line"] in stdout


MEMORY_BOUND_IN_SMOKE = {"relu", "maxpool2d", "maxpool2d_blk", "rmsprop_update"}


def test_memory_bound_kernels_have_gbs_and_pct_copy(smoke):
    from cnet.bench import bandwidth
    res, stdout = smoke
    rows = [r for r in res["kernels"] if r.get("status") == "ok"]
    mem = [r for r in rows if (r["op"], r["direction"]) in bandwidth.BYTE_MODEL]
    assert {r["op"] for r in mem} == MEMORY_BOUND_IN_SMOKE
    copy = res["machine"]["copy_gbs"]
    for r in mem:
        t = r["traffic"]
        assert r["min_bytes"] == sum(t["read"].values()) + sum(t["write"].values()) > 0
        assert r["min_gbs"] == pytest.approx(r["min_bytes"] / r["median_s"] / 1e9)
        assert r["pct_copy"] == pytest.approx(100 * r["min_gbs"] / copy[str(r["threads"])])
    assert not [r for r in rows if r not in mem and ("min_gbs" in r or "pct_copy" in r)]
    header, = [ln for ln in stdout.splitlines() if ln.lstrip().startswith("case ")]
    assert header.split()[-2:] == ["GB/s", "%copy"]
    for case in ("simple_convnet.relu1.fwd", "simple_convnet.pool_blk.bwd", "softmax.rmsprop_update.upd"):
        line, = [ln for ln in stdout.splitlines() if ln.lstrip().startswith(case + " N=1")]
        gbs, pct = line.split()[-2:]
        assert float(gbs) > 0 and pct.endswith("%") and float(pct[:-1]) >= 0, line
    assert "| kernel | shape | threads | C GB/s | C % copy |" in bench.markdown_report(res, "smoke")


def test_torch_absent_is_recorded_not_fatal(smoke):
    torch_rows = [r for r in smoke[0]["kernels"] if r["backend"] == "torch"]
    assert torch_rows and all(r["status"] == "skipped" and r["reason"] for r in torch_rows)


def test_e2e_rows_are_measured_or_skipped_with_a_reason(smoke):
    res = smoke[0]
    rows = [r for r in res["e2e"] if r.get("kind") != "speedup"]
    assert rows
    for r in rows:
        assert r["status"] in ("ok", "skipped")
        if r["status"] == "ok":
            assert r["images_per_s"] > 0 and r["epoch_s"] > 0
        else:
            assert r["reason"]
    assert {(r["backend"], r["threads"]) for r in rows} >= {("c", 1), ("c", 2), ("numpy", 1), ("numpy", 2)}
    mem = res["memory"]
    assert mem is not None and mem["status"] in ("ok", "skipped")


def test_cli_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        bench.build_parser().parse_args(["--only", "nonsense"])
    with pytest.raises(SystemExit):
        bench.build_parser().parse_args(["--threads", "0"])
    args = bench.build_parser().parse_args(["--only", "gemm,e2e", "--threads", "2,1"])
    assert args.only == ["gemm", "e2e"] and args.threads == [1, 2]


def test_report_renders_markdown_from_the_json(smoke):
    from cnet import bench
    res, _ = smoke
    text = bench.markdown_report(res, "python -m benchmarks --smoke")
    assert "| model | batch | threads |" in text
    assert "| softmax |" in text
    assert f"commit `{(res['machine']['git'] or {}).get('commit', '?')[:10]}" in text


# ---- the pieces of cnet/bench/, each on its own (cheap: nothing is timed for its speed) -----------------------

@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn", "simple_convnet", "deep_convnet"])
def test_kernel_cases_are_the_bundled_models(name):
    """cases.py writes the bundled models' layer geometry out as cases; it must stay the zoo's: the matrix
    product of every dense and conv layer in order, the parameter count and the optimizer of the update."""
    from cnet import zoo
    from cnet.bench import cases
    from cnet.layers import Conv2D, Dense
    n = 3
    model = zoo.build_model(name)
    expected = []
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            (c, _, _), (k, oh, ow) = layer.input_shape, layer.output_shape
            expected.append((n * oh * ow, c * layer.kernel_size[0] * layer.kernel_size[1], k))
        elif isinstance(layer, Dense):
            expected.append((n, int(np.prod(layer.input_shape)), layer.units))
    mine = [c for c in cases.model_cases(n) if c.model == name]
    assert [c.gemm for c in mine if c.gemm] == expected
    update, = [c for c in mine if c.direction == "upd"]
    assert update.op == zoo.DEFAULTS[name].optimizer + "_update"
    assert update.shape == f"{model.count_params()} params"


def test_gemm_products_come_from_the_cases_once_each():
    from cnet.bench import cases
    prods = cases.gemm_products(2, models={"mlp"}, squares=(64,))
    assert [p[0] for p in prods[:3]] == ["mlp.dense1.fwd", "mlp.dense1.dW", "mlp.dense1.dX"]
    assert prods[0][1:5] == (2, 784, 500, "fwd") and prods[1][5] == (784, 2, 500) and prods[2][5] == (2, 500, 784)
    assert prods[-1] == ("square64", 64, 64, 64, "square", (64, 64, 64))
    keys = [(p[4],) + p[1:4] for p in cases.gemm_products(2)]
    assert len(keys) == len(set(keys))
    kernel = cases.kernel_cases(2)   # deduplicated by (op, direction, shape): a shape shared by two models
    assert len({c.dedup_key for c in kernel}) == len(kernel)
    assert any(c.also for c in kernel)


def test_interleaved_rounds_and_stats():
    from cnet.bench import timing
    calls = []
    contenders = [{"key": "a", "enter": lambda: calls.append("enter a"), "fn": lambda: calls.append("a")},
                  {"key": "bad", "enter": lambda: None, "fn": lambda: 1 / 0},
                  {"key": "b", "enter": lambda: calls.append("enter b"), "fn": lambda: calls.append("b")}]
    mode = timing.mode_settings("smoke")
    res = timing.interleaved(contenders, mode, warmup=1, rounds=3, per_round=2, settle=0, min_time=0.0)
    assert res["bad"] == {"error": "ZeroDivisionError: division by zero"}
    assert len(res["a"]["samples"]) == len(res["b"]["samples"]) == 6 and res["a"]["calls"] == [1] * 6
    timed = [c for c in calls if not c.startswith("enter")][2:]          # after the two warm-up calls
    assert timed == ["a", "a", "b", "b"] * 3                             # the contenders take turns
    st = timing.stats([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (st["median_s"], st["q1_s"], st["q3_s"], st["min_s"], st["max_s"], st["n"]) == (3.0, 2.0, 4.0, 1.0, 5.0, 5)
    assert timing.stats([]) == {}
    assert [timing.fmt_time(s) for s in (None, 2e-6, 0.0123, 4.5)] == ["-", "2.0us", "12.30ms", "4.500s"]
    with pytest.raises(ValueError):
        timing.mode_settings("nonsense")


def test_e2e_models_and_optimizers_come_from_the_zoo():
    from cnet import zoo
    from cnet.bench import e2e
    assert e2e._e2e_spec("cnn") == ("cnn", zoo.DEFAULTS["cnn"].batch_size, "adadelta", 1.0)
    assert e2e._e2e_spec("mlp:sgd") == ("mlp", 1000, "sgd", pytest.approx(0.01))
    assert e2e._e2e_spec("bogus") == ("bogus", None, None, None)
    with pytest.raises(ValueError, match="unknown optimizer"):
        e2e._e2e_spec("cnn:nope")
    model = e2e.cnet_model("softmax", seed=0)
    assert type(model.optimizer).__name__ == "RMSprop" and model.optimizer.learning_rate == pytest.approx(0.001)


def test_machine_line_from_facts():
    from cnet.bench import machine
    info = {"cpu": "TestCPU", "flags": {"avx2": True, "fma": False}, "cpus_usable": 2, "openmp_runtime": "libgomp",
            "cnet_threads": 2, "cnet": "0.1.0", "git": {"commit": "0123456789abcdef", "dirty": True}, "simd": "avx2",
            "numpy": "2.0", "threadpools": [], "threadpools_note": "no BLAS info", "torch": None}
    line = machine.machine_line(info, {1: 50.0, 2: 99.6})
    assert line.startswith("CPU: TestCPU [avx2] | CPUs usable: 2 | OpenMP: libgomp (2 thr) | cnet 0.1.0 @ "
                           "0123456789+dirty, SIMD avx2 | numpy 2.0, no BLAS info | torch absent")
    assert line.endswith("fp32 GEMM peak (numpy.matmul): 1 thr 50 GFLOP/s, 2 thr 100 GFLOP/s")
    from cnet.bench import bandwidth
    copy = bandwidth.copy_text({1: 20.04, 2: 31.96}, [{"array_bytes": 64 * 2 ** 20}])
    assert machine.machine_line(info, {1: 50.0}, copy).endswith(
        "1 thr 50 GFLOP/s | copy 64 MiB f32 (numpy.copyto, N threads on slices; read + written): "
        "1 thr 20.0 GB/s, 2 thr 32.0 GB/s")


@pytest.mark.parametrize("name", ["softmax", "mlp", "cnn", "simple_convnet", "deep_convnet"])
def test_the_torch_twin_has_the_same_parameters(name):
    torch = pytest.importorskip("torch")
    from cnet import zoo
    from cnet.bench.torch_twin import torch_from_cnet
    model = zoo.build_model(name)
    model.build((None,) + zoo.input_shape(name))
    twin = torch_from_cnet(torch, model, zoo.input_shape(name))
    expected = sorted(w.size for w in model.trainable_params.values())
    assert sorted(p.numel() for p in twin.parameters()) == expected


def test_the_torch_twin_optimizer_honours_the_settings():
    torch = pytest.importorskip("torch")
    from cnet import optimizers
    from cnet.bench.torch_twin import torch_optimizer
    params = [torch.nn.Parameter(torch.zeros(3))]
    sgd = torch_optimizer(torch, params, optimizers.SGD(0.1, momentum=0.9, nesterov=True))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert torch_optimizer(torch, params, optimizers.Nesterov()).defaults["nesterov"]
    assert isinstance(torch_optimizer(torch, params, optimizers.AdaGrad()), torch.optim.Adagrad)
    assert torch_optimizer(torch, params, optimizers.RMSprop(rho=0.8)).defaults["alpha"] == 0.8
    with pytest.raises(ValueError, match="decay"):
        torch_optimizer(torch, params, optimizers.Adam(decay=0.01))


def test_the_torch_twin_of_item_4_layers():
    """Dilation and SpatialDropout2D have torch equivalents; regularizers and ReLU's options are refused, not
    dropped."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from cnet import layers as L
    from cnet.bench.torch_twin import torch_from_cnet
    from cnet.models import Sequential
    model = Sequential([L.Conv2D(3, 3, dilation_rate=2, padding="same", input_shape=(1, 9, 9),
                                 data_format="channels_first"), L.SpatialDropout2D(0.2), L.Flatten(), L.Dense(2)],
                       dtype="float32")
    twin = torch_from_cnet(torch, model, (1, 9, 9))
    conv = twin[0]
    assert conv.dilation == (2, 2)
    assert isinstance(twin[1], torch.nn.Dropout2d)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(model.layers[0].params["W"]))
        conv.bias.copy_(torch.from_numpy(model.layers[0].params["b"]))
        x = np.random.default_rng(0).standard_normal((2, 1, 9, 9)).astype(np.float32)
        np.testing.assert_allclose(conv(torch.from_numpy(x)).numpy(), model.layers[0](x), rtol=1e-5, atol=1e-5)
    for bad, what in ((L.Dense(2, kernel_regularizer="l2"), "regularizers"), (L.ReLU(max_value=6.0), "ReLU")):
        m = Sequential([L.Dense(4, input_shape=(3,)), bad])
        m.build((None, 3))
        with pytest.raises(ValueError, match=what):
            torch_from_cnet(torch, m, (3,))
