"""cnet-bench's --batch option (e2e training at chosen batch sizes) and its infer section (predict on a batch and
one image against the PyTorch twin): they run and put their figures into the JSON, with and without torch.
Smoke mode; never how fast anything is."""
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from cnet import bench

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(tmp_path, *argv):
    out = tmp_path / "res.json"
    p = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--threads", "1,2", "--no-memory",
                        "--json", str(out), *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"exit code {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"
    with open(out) as f:
        return json.load(f), p.stdout


@pytest.fixture(scope="module")
def no_torch(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bench"), "--no-torch", "--only", "e2e,infer", "--batch", "3,5",
                "--models", "simple_convnet,mlp:adam,mlp,bogus")


@pytest.fixture(scope="module")
def with_torch(tmp_path_factory):
    pytest.importorskip("torch")
    return _run(tmp_path_factory.mktemp("bench"), "--only", "e2e,infer", "--batch", "4",
                "--models", "cnn,simple_convnet")


def _measured(rows, **match):
    return [r for r in rows if r.get("status") == "ok" and all(r.get(k) == v for k, v in match.items())]


def test_batch_option_measures_every_model_at_every_batch(no_torch):
    res, stdout = no_torch
    e2e = res["e2e"]
    for model in ("simple_convnet", "mlp:adam"):
        for batch in (3, 5):
            got = {(r["backend"], r["threads"]) for r in _measured(e2e, model=model, batch=batch)}
            assert got == {("c", 1), ("c", 2), ("numpy", 1), ("numpy", 2)}, (model, batch, got)
            for r in _measured(e2e, model=model, batch=batch):
                assert r["images_per_s"] > 0 and r["step_median_s"] > 0
                assert r["epoch_s"] == pytest.approx(60000 / batch * r["step_median_s"])
            sp = [r for r in e2e if r.get("kind") == "speedup" and r["model"] == model and r["batch"] == batch]
            assert [r["threads"] for r in sp] == [1, 2] and all(r["c_vs_numpy"] > 0 for r in sp)
            assert all(r["c_vs_torch"] is None for r in sp)
        # inference in the e2e section: measured once per model, with its first batch
        assert all("infer_images_per_s" in r for r in _measured(e2e, model=model, batch=3))
        assert not any("infer_images_per_s" in r for r in _measured(e2e, model=model, batch=5))
    torch_rows = [r for r in e2e if r.get("backend") == "torch"]
    assert torch_rows and all(r["status"] == "skipped" and "--no-torch" in r["reason"] for r in torch_rows)
    assert {(r["model"], r["batch"]) for r in res["scaling"]} >= {("mlp", 3), ("mlp", 5)}
    assert "-- simple_convnet: batch 5," in stdout and "simple_convnet batch 5 " in stdout
    assert "| simple_convnet | 5 | 2 |" in bench.markdown_report(res, "smoke")


def test_infer_section_without_torch(no_torch):
    res, stdout = no_torch
    rows = res["infer"]
    assert "== infer" in stdout and "model.predict_on_batch(x[:1])" in stdout
    assert sorted({r["model"] for r in rows if r.get("kind") != "speedup"}) == ["mlp", "simple_convnet"]
    for model in ("mlp", "simple_convnet"):      # mlp once, though --models names it twice
        c = _measured(rows, model=model, backend="c")
        assert [r["threads"] for r in c] == [1, 2]
        for r in c:
            assert r["batch"] == 4 and len(r["predict_samples_s"]) == 1 and r["predict_median_s"] > 0
            assert r["images_per_s"] == pytest.approx(4 / r["predict_median_s"])
            assert r["latency_call"] == "predict_on_batch(x[:1])" and r["latency_median_s"] > 0
            assert r["latency_predict_call"] == "predict(x[:1])" and r["latency_predict_median_s"] > 0
        t = [r for r in rows if r.get("backend") == "torch" and r["model"] == model]
        assert len(t) == 2 and all(r["status"] == "skipped" and r["reason"] for r in t)
    assert not [r for r in rows if r.get("kind") == "speedup"]
    assert any(s["section"] == "infer" and s["case"] == "bogus" for s in res["skipped"])
    assert "Inference: `model.predict(x, batch_size=4)`" in bench.markdown_report(res, "smoke")


def test_batch_and_infer_against_torch(with_torch):
    res, stdout = with_torch
    for model in ("cnn", "simple_convnet"):
        got = {(r["backend"], r["threads"]) for r in _measured(res["e2e"], model=model, batch=4)}
        assert got == {(b, t) for b in ("c", "numpy", "torch") for t in (1, 2)}, got
        sp = [r for r in res["e2e"] if r.get("kind") == "speedup" and r["model"] == model]
        assert [r["batch"] for r in sp] == [4, 4] and all(r["c_vs_torch"] > 0 for r in sp)
        rows = res["infer"]
        assert {(r["backend"], r["threads"]) for r in _measured(rows, model=model)} == \
            {(b, t) for b in ("c", "torch") for t in (1, 2)}
        for r in _measured(rows, model=model, backend="torch"):
            assert r["latency_call"].startswith("model(x[:1]) in eval mode under torch.no_grad()")
            assert r["predict_median_s"] > 0 and r["latency_median_s"] > 0
        sp = [r for r in rows if r.get("kind") == "speedup" and r["model"] == model]
        assert [r["threads"] for r in sp] == [1, 2]
        for r in sp:
            c = _measured(rows, model=model, backend="c", threads=r["threads"])[0]
            t = _measured(rows, model=model, backend="torch", threads=r["threads"])[0]
            assert r["predict_c_vs_torch"] == pytest.approx(t["predict_median_s"] / c["predict_median_s"])
            assert r["latency_c_vs_torch"] == pytest.approx(t["latency_median_s"] / c["latency_median_s"])
            assert r["latency_predict_c_vs_torch"] == pytest.approx(
                t["latency_median_s"] / c["latency_predict_median_s"])
    assert "speedup c/torch: predict" in stdout
    assert {s["case"] for s in res["speedups"]} >= {"infer cnn predict 4", "infer cnn 1 image", "e2e cnn"}


def test_batch_option_is_checked():
    parse = bench.build_parser().parse_args
    assert parse(["--batch", "32"]).batch == [32]
    assert parse(["--batch", "128,32,128"]).batch == [128, 32]
    assert parse([]).batch is None
    for bad in ("0", "32,x", ","):
        with pytest.raises(SystemExit):
            parse(["--batch", bad])
    assert "infer" in parse([]).only and parse(["--only", "infer"]).only == ["infer"]


@pytest.mark.parametrize("argv", [["--only", "infer"], ["--distributed"]])
def test_batch_without_the_e2e_section_is_refused(argv, capsys):
    assert bench.main(["--batch", "32"] + argv) == 2
    assert "--batch" in capsys.readouterr().err


def test_train_batches_default_to_the_current_ones():
    from cnet.bench import e2e, timing
    suite = SimpleNamespace(args=SimpleNamespace(batch=None), mode=timing.mode_settings("full"))
    assert e2e.train_batches(suite, 128) == [128]
    suite.mode = timing.mode_settings("quick")
    assert e2e.train_batches(suite, 128) == [32]
    suite.args.batch = [32, 64]
    assert e2e.train_batches(suite, 128) == [32, 64]


def test_infer_models_by_base_name():
    from cnet.bench import infer, timing
    suite = SimpleNamespace(args=SimpleNamespace(models="cnn:adam,cnn,mlp"), mode=timing.mode_settings("full"))
    assert infer.infer_models(suite) == ["cnn", "mlp"]
    suite.args.models = None
    assert infer.infer_models(suite) == ["softmax", "mlp", "cnn", "simple_convnet", "deep_convnet"]
