"""Smoke test of the benchmark suite: it runs and writes the JSON it promises. Never how fast anything is."""
import json
import os
import subprocess
import sys

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
    for key in ("meta", "machine", "kernels", "gemm", "e2e", "memory", "scaling", "skipped"):
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
