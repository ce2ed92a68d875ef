"""Threads, configuration and the backend switch."""
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cnet
from cnet import ops


def test_show_config_reports_openmp_threads_simd():
    buf = io.StringIO()
    cnet.show_config(file=buf)
    text = buf.getvalue()
    assert "OpenMP:   yes" in text
    assert f"threads:  {cnet.get_num_threads()}" in text
    assert cnet._kernels.simd_path() in text
    assert re.search(r"\n    relu_forward +c\n", text)


def test_default_threads_is_cpu_count():
    code = "import cnet; print(cnet.get_num_threads(), cnet.cpu_count())"
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    n, cpus = map(int, out.stdout.split())
    assert n == cpus >= 1


def test_omp_num_threads_is_honoured():
    code = "import cnet; print(cnet.get_num_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"


def test_set_num_threads_and_threadpoolctl():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    previous = cnet.get_num_threads()
    try:
        cnet.set_num_threads(3)
        assert cnet.get_num_threads() == 3
        with threadpoolctl.threadpool_limits(1):
            assert cnet.get_num_threads() == 1
        assert cnet.get_num_threads() == 3
    finally:
        cnet.set_num_threads(previous)
    with pytest.raises(ValueError, match="positive int"):
        cnet.set_num_threads(0)
    with pytest.raises(ValueError, match="positive int"):
        cnet.set_num_threads(2.5)


def test_backend_switch_is_visible():
    assert cnet.get_backend() == "c"
    with cnet.use_backend("numpy"):
        assert cnet.get_backend() == "numpy"
        assert set(ops.op_backends().values()) == {"numpy"}
        assert ops.implementation("relu_forward").__module__.startswith("cnet.reference")
    assert cnet.get_backend() == "c"
    assert ops.op_backends()["relu_forward"] == "c"
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        cnet.set_backend("gpu")


def test_simd_override_environment():
    code = "import cnet; print(cnet._kernels.simd_path())"
    env = dict(os.environ, CNET_SIMD="portable")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "portable"
    with pytest.raises(ValueError, match="not available"):
        cnet._kernels.set_simd_path("sse9")


def test_results_agree_on_every_simd_path():
    x = np.random.default_rng(0).standard_normal((70, 10)).astype(np.float32)
    labels = np.arange(70) % 10
    current = cnet._kernels.simd_path()
    results = []
    try:
        for path in ("portable", "avx2", "avx512"):
            try:
                cnet._kernels.set_simd_path(path)
            except ValueError:
                continue
            results.append(ops.softmax_xent_forward(x, labels)[1])
    finally:
        cnet._kernels.set_simd_path(current)
    assert len(results) >= 2 or cnet._kernels.simd_path() == "portable"
    for r in results[1:]:  # the paths differ by FMA contraction at most: a few ulp
        np.testing.assert_allclose(r, results[0], rtol=1e-6, atol=1e-7)


def test_set_num_threads_none_restores_the_environment_default():
    code = ("import cnet; cnet.set_num_threads(2); a = cnet.get_num_threads(); "
            "cnet.set_num_threads(None); print(a, cnet.get_num_threads())")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "1"]


def test_version_and_show_config_have_one_home_each(tmp_path):
    from cnet import _info, _version, saving
    assert cnet.__version__ == _version.__version__ and cnet.show_config is _info.show_config
    assert _info.config()["cnet"] == _version.__version__
    saving.save_params(str(tmp_path / "p.npz"), {"w": np.zeros(2)})
    assert saving.read_header(str(tmp_path / "p.npz"))["cnet_version"] == _version.__version__
