"""cnet.distributed: data-parallel training under mpiexec (tests/mpi_worker.py runs in 1, 2 or 3 processes
of one thread each). Needs the mpi extra (mpi4py and an MPI library with mpiexec): without it these tests
are skipped, unless CNET_REQUIRE_MPI=1 (set by .ci/run), which makes them fail instead."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return shutil.which("mpiexec", path=os.pathsep.join([os.path.dirname(sys.executable),
                                                         os.environ.get("PATH", "")]))


MPIEXEC = _mpiexec()
if MPIEXEC is None and os.environ.get("CNET_REQUIRE_MPI") == "1":
    raise RuntimeError('CNET_REQUIRE_MPI=1 but mpi4py or mpiexec is missing: pip install -e ".[test,mpi]"')
needs_mpi = pytest.mark.skipif(MPIEXEC is None, reason='needs the mpi extra: pip install -e ".[test,mpi]"')


def mpirun(n, *args, timeout=90, env=None, module=None):
    """Run the worker (or `python -m module`) in n processes; returns (CompletedProcess, seconds)."""
    full = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE.parent), **(env or {}))
    target = ["-m", module] if module else [str(WORKER)]
    start = time.perf_counter()
    p = subprocess.run([MPIEXEC, "-n", str(n), sys.executable] + target + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout, env=full, stdin=subprocess.DEVNULL)
    return p, time.perf_counter() - start


def ok(p):
    assert p.returncode == 0, f"exit code {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def load(folder, name, n):
    """The array `name` of every rank; asserts that all ranks hold the same bits."""
    arrays = [np.load(Path(folder) / f"{name}-rank{r}.npy") for r in range(n)]
    for r, a in enumerate(arrays[1:], start=1):
        assert np.array_equal(a, arrays[0]), f"{name}: rank {r} differs from rank 0"
    return arrays[0]


NAMES = [f"{what}-{dtype}{part}" for what in ("seq", "trainer") for dtype in ("float32", "float64")
         for part in ("", "-history")] + ["seq-float32-evaluate", "seq-float64-evaluate", "functional",
                                           "functional-history"]


@needs_mpi
def test_deterministic_same_weights_for_1_2_3_processes(tmp_path):
    """deterministic=True: Sequential.fit (dropout, validation) and the book's Trainer, float32 and
    float64, and a functional model (two outputs, a shared layer): the same bits in every process and for
    every process count."""
    results = {}
    for n in (1, 2, 3):
        out = tmp_path / f"n{n}"
        out.mkdir()
        ok(mpirun(n, "same_answer", out, "det")[0])
        results[n] = {name: load(out, name, n) for name in NAMES}
    for n in (2, 3):
        for name in NAMES:
            assert np.array_equal(results[n][name], results[1][name]), f"{name}: {n} processes differ from 1"
    assert np.all(np.isfinite(results[1]["seq-float32"]))


@needs_mpi
def test_default_mode_repeatable_and_close_to_one_process(tmp_path):
    """deterministic=False: two runs on 2 processes give the same bits on both ranks; the weights are those
    of a single process to rounding; only rank 0 writes the model files."""
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        out.mkdir()
        ok(mpirun(2, "files", out)[0])
        runs.append(load(out, "fast", 2))
        assert sorted(os.listdir(out / "cwd0")) == ["ckpt.cnet.npz", "model.cnet.npz", "params.cnet.npz",
                                                    "weights.cnet.npz"]
        assert os.listdir(out / "cwd1") == []
    assert np.array_equal(runs[0], runs[1])
    single = tmp_path / "single"
    single.mkdir()
    ok(mpirun(1, "files", single)[0])
    one = load(single, "fast", 1)
    assert not np.array_equal(one, runs[0])      # another batch split: other rounding
    np.testing.assert_allclose(runs[0], one, rtol=1e-4, atol=1e-5)


@needs_mpi
def test_resume_with_another_process_count(tmp_path):
    """A checkpoint written by 2 processes, resumed by 3: the weights of an uninterrupted 2-epoch run."""
    ok(mpirun(2, "resume", tmp_path, "first", "det")[0])
    ok(mpirun(3, "resume", tmp_path, "second", "det")[0])
    resumed = load(tmp_path, "resume-second", 3)
    ok(mpirun(2, "resume", tmp_path, "whole", "det")[0])
    assert np.array_equal(resumed, load(tmp_path, "resume-whole", 2))


@needs_mpi
@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_stops_every_process(tmp_path, how):
    p, seconds = mpirun(2, "fault", tmp_path, how, timeout=60)
    assert p.returncode != 0
    text = p.stdout + p.stderr
    assert "stopped:" not in text    # no process went on to the end of fit
    if how == "raise":
        assert "cnet.distributed: rank 1 of 2" in text and "raised RuntimeError: a planted failure" in text
        assert "stopping all 2 processes" in text
    else:
        assert "signal 9" in text or "Killed" in text
    assert seconds < 60


@needs_mpi
def test_a_process_that_leaves_stops_the_others_after_the_timeout(tmp_path):
    p, seconds = mpirun(2, "fault", tmp_path, "exit", env={"CNET_TEST_TIMEOUT": "3"}, timeout=60)
    assert p.returncode != 0
    assert "rank 0 of 2" in p.stderr and "no answer from the other processes" in p.stderr
    assert seconds < 60


@needs_mpi
def test_nonfinite_loss_on_one_rank_stops_all_at_the_same_step(tmp_path):
    p = ok(mpirun(2, "fault", tmp_path, "nan")[0])
    found = re.findall(r"rank (\d): stopped: the loss became nan at epoch 1, step 2/3;.*?; steps done (\d)", p.stdout)
    assert sorted(found) == [("0", "1"), ("1", "1")], p.stdout


@needs_mpi
def test_a_stop_signal_to_one_rank_stops_all_after_the_same_step(tmp_path):
    p = ok(mpirun(2, "fault", tmp_path, "term")[0])
    found = re.findall(r"rank (\d): stopped: interrupted \(SIGTERM\) at epoch 1, step 2/3;.*?; steps done (\d)",
                       p.stdout)
    assert sorted(found) == [("0", "2"), ("1", "2")], p.stdout


@needs_mpi
def test_api_and_batchnorm_refused(tmp_path):
    ok(mpirun(3, "api", tmp_path)[0])
    load(tmp_path, "broadcast", 3)     # rank 0's weights everywhere
    p = ok(mpirun(2, "refused", tmp_path)[0])
    assert p.stdout.count("refused: cnet.distributed: model") == 2 and "BatchNormalization" in p.stdout
    assert p.stdout.count("weights refused: sample_weight and class_weight are not supported in distributed") == 4


@needs_mpi
@pytest.mark.skipif(not os.environ.get("CNET_DATA"), reason="needs MNIST: set CNET_DATA")
def test_cnet_train_under_mpiexec(tmp_path):
    """mpiexec -n 2 cnet-train: one report (rank 0's), one model file, the accuracy of one process."""
    reports = {}
    for n in (1, 2):
        out = tmp_path / f"m{n}.cnet.npz"
        p = ok(mpirun(n, "--model", "mlp", "--epochs", "2", "--batch-size", "64", "--limit", "640", "--test-limit",
                      "200", "--out", out, "--verbose", "2", "--deterministic", module="cnet.train")[0])
        assert p.stdout.count("Test accuracy:") == 1 and f"Data-parallel: {n} process" in p.stdout
        reports[n] = [line for line in p.stdout.splitlines() if line.startswith("Test")]
        assert out.exists()
    assert reports[1] == reports[2]


def test_without_mpi4py_init_names_the_extra():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import cnet.distributed as dist\n"
            "try:\n    dist.init()\nexcept ImportError as exc:\n    print(exc)\n")
    p = ok(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60))
    assert 'pip install "cnet[mpi]"' in p.stdout
    p = ok(subprocess.run([sys.executable, "-c", "import sys, cnet, cnet.distributed, cnet.train; "
                           "print('mpi4py' in sys.modules)"], capture_output=True, text=True, timeout=60))
    assert p.stdout.strip() == "False"


@needs_mpi
def test_bench_distributed_smoke(tmp_path):
    """cnet-bench --distributed --smoke: every configuration runs; over TCP the bytes go through loopback."""
    out = tmp_path / "dist.json"
    p = subprocess.run([sys.executable, "-m", "cnet.bench", "--distributed", "--smoke", "--json", str(out)],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(HERE.parent)))
    ok(p)
    rows = {r["label"]: r for r in json.loads(out.read_text())["rows"]}
    assert len(rows) == 6 and "2 processes x 1 thread, shared memory" in p.stdout
    tcp = rows["2 processes x 1 thread, TCP on loopback"]
    assert tcp["processes"] == 2 and tcp["sum_bytes"] > 0
    if tcp.get("loopback_bytes") is not None:
        assert tcp["loopback_bytes"] >= tcp["sum_bytes"]
