"""C activation kernels against the NumPy reference: dtypes x thread counts x awkward shapes."""
import numpy as np
import pytest

from cnet import ops
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path,
                     run_c, run_numpy)


SHAPES = [(1,), (7,), (3, 5), (2, 3, 4, 5), (64, 1031), (5, 40001)]  # the last is above the threading cut-off


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_relu_matches_reference(simd, dtype, shape, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y = run_c(ops.relu_forward, x, threads=threads)
    assert y.dtype == dtype
    assert_close(y, run_numpy(ops.relu_forward, x), rtol=0, name="relu y")
    dx = run_c(ops.relu_backward, dy, y, threads=threads)
    assert_close(dx, run_numpy(ops.relu_backward, dy, y), rtol=0, name="relu dx")


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_in_place_and_thread_invariance(simd, dtype):
    x = np.random.default_rng(1).standard_normal((300, 301)).astype(dtype)
    expected = np.maximum(x, 0)
    outs = [run_c(ops.relu_forward, x, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(outs, "relu")
    z = x.copy()
    assert run_c(ops.relu_forward, z, out=z) is z
    assert_close(z, expected, rtol=0)


def test_relu_noncontiguous_input_is_copied():
    x = np.random.default_rng(2).standard_normal((20, 30))[:, ::2]
    assert_close(run_c(ops.relu_forward, x), np.maximum(x, 0), rtol=0)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_relu_bad_output(backend):
    x = np.ones((4, 5), np.float32)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    import cnet
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="writable"):
            ops.relu_forward(x, out=ro)
        with pytest.raises(ValueError, match="C-contiguous"):
            ops.relu_forward(x, out=np.empty((5, 4), np.float32).T)
        with pytest.raises(ValueError, match=r"expected shape \(4, 5\) and dtype float32"):
            ops.relu_forward(x, out=np.empty((4, 5), np.float64))
        with pytest.raises(TypeError, match="float32 or float64.*int64"):
            ops.relu_forward(np.ones((4, 5), np.int64))
        with pytest.raises(TypeError, match="ndarray"):
            ops.relu_forward([1.0, 2.0])
        with pytest.raises(ValueError, match="empty batch"):
            ops.relu_forward(np.ones((0, 5), np.float32))
        with pytest.raises(ValueError, match="same shape"):
            ops.relu_backward(np.ones((4, 5), np.float32), np.ones((4, 6), np.float32))
        with pytest.raises(TypeError, match="float32"):
            ops.relu_backward(np.ones((4, 5), np.float32), np.ones((4, 5), np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_keeps_nan_like_the_reference(simd, dtype):
    x = np.array([np.nan, -1.0, 2.0, -np.inf, np.inf], dtype=dtype)
    y = run_c(ops.relu_forward, x)
    np.testing.assert_array_equal(y, run_numpy(ops.relu_forward, x))
    assert np.isnan(y[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_bit_identical_across_simd_paths(dtype):
    x = np.random.default_rng(3).standard_normal((301, 257)).astype(dtype)
    x[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
    ys = [on_path(p, ops.relu_forward, x, threads=3) for p in SIMD_PATHS]
    assert_bit_identical(ys, "relu across paths")
    assert_bit_identical([on_path(p, ops.relu_backward, x, ys[0], threads=3) for p in SIMD_PATHS], "relu dx")
