"""C batch normalization kernels against the NumPy reference: (N, D) and (N, C, H, W), dtypes x thread
counts x awkward shapes, thread-count invariance of the reductions, and bad inputs."""
import numpy as np
import pytest

import cnet
from cnet import ops
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path,
                     run_c, run_numpy)


TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

# (N, D): batch 1, odd features, many rows (several reduction chunks); (N, C, H, W): one channel,
# channels not a multiple of the vector width, 1x1 images, sizes above CNET_MIN_PARALLEL_WORK
SHAPES = [(1, 1), (1, 5), (7, 3), (128, 128), (3000, 37), (70000, 3),
          (1, 1, 1, 1), (2, 3, 1, 1), (3, 5, 4, 7), (1, 17, 9, 9), (8, 3, 33, 35), (16, 13, 26, 26)]


def _inputs(shape, dtype, seed=0):
    r = np.random.default_rng(seed)
    c = shape[1]
    x = (r.standard_normal(shape) * 2 + 1).astype(dtype)
    gamma = r.uniform(0.5, 1.5, c).astype(dtype)
    beta = r.standard_normal(c).astype(dtype)
    dy = r.standard_normal(shape).astype(dtype)
    return x, gamma, beta, dy


def _oracle(fn, *args):
    """The reference run in float64 on the same values, the results rounded back to the inputs' dtype.
    For float32 this is the better oracle: NumPy sums a (N, D) column in float32 one row after the other,
    which for N = 70000 is off by ~2e-5 of the scale, while the kernels accumulate in double."""
    dtype = args[0].dtype
    up = [a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args]
    out = run_numpy(fn, *up)
    return tuple(o.astype(dtype) for o in out) if isinstance(out, tuple) else out.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_batchnorm_matches_reference(simd, dtype, shape, threads):
    x, gamma, beta, dy = _inputs(shape, dtype)
    tol = TOL[np.dtype(dtype)]
    y, mean, inv_std = run_c(ops.batchnorm_forward, x, gamma, beta, 1e-3, threads=threads)
    y_r, mean_r, inv_std_r = _oracle(ops.batchnorm_forward, x, gamma, beta, 1e-3)
    assert y.dtype == mean.dtype == inv_std.dtype == dtype
    assert_close(mean, mean_r, rtol=tol, name="mean")
    assert_close(inv_std, inv_std_r, rtol=tol, name="inv_std")
    assert_close(y, y_r, rtol=tol, name="y")
    if shape[0] < 1000:   # where NumPy's float32 sums are accurate, the float32 reference agrees too
        assert_close(y, run_numpy(ops.batchnorm_forward, x, gamma, beta, 1e-3)[0], rtol=tol, name="y")

    dx, dgamma, dbeta = run_c(ops.batchnorm_backward, dy, x, gamma, mean_r, inv_std_r, threads=threads)
    dx_r, dgamma_r, dbeta_r = _oracle(ops.batchnorm_backward, dy, x, gamma, mean_r, inv_std_r)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype
    assert_close(dbeta, dbeta_r, rtol=tol, name="dbeta")
    assert_close(dgamma, dgamma_r, rtol=tol, name="dgamma")
    assert_close(dx, dx_r, rtol=tol, name="dx")

    rv = (1.0 / inv_std_r.astype(np.float64) ** 2 - 1e-3).astype(dtype)
    y_inf = run_c(ops.batchnorm_inference, x, gamma, beta, mean_r, rv, 1e-3, threads=threads)
    assert_close(y_inf, run_numpy(ops.batchnorm_inference, x, gamma, beta, mean_r, rv, 1e-3), rtol=tol,
                 name="inference y")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(70000, 3), (3000, 37), (16, 13, 26, 26), (3, 1, 150, 150)])
def test_batchnorm_bit_identical_across_threads(simd, dtype, shape):
    x, gamma, beta, dy = _inputs(shape, dtype, seed=3)
    fwd = [run_c(ops.batchnorm_forward, x, gamma, beta, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(fwd, "forward")
    _, mean, inv_std = fwd[0]
    bwd = [run_c(ops.batchnorm_backward, dy, x, gamma, mean, inv_std, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(bwd, "backward")


def test_batchnorm_float32_statistics_are_accurate():
    # An offset large against the spread: the kernel's double accumulators keep the statistics close
    # to the float64 values of the same float32 data.
    x = (np.random.default_rng(4).standard_normal((256, 8, 12, 12)) + 50).astype(np.float32)
    gamma, beta = np.ones(8, np.float32), np.zeros(8, np.float32)
    _, mean, inv_std = run_c(ops.batchnorm_forward, x, gamma, beta, 1e-3)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2, 3)), rtol=1e-7)
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(x64.var(axis=(0, 2, 3)) + 1e-3), rtol=1e-6)


def test_batchnorm_noncontiguous_inputs_are_copied():
    x, gamma, beta, dy = _inputs((6, 4, 5, 10), np.float64)
    xs = x[:, :, :, ::2]
    y = run_c(ops.batchnorm_forward, xs, gamma[::1], beta)[0]
    assert_close(y, run_numpy(ops.batchnorm_forward, np.ascontiguousarray(xs), gamma, beta)[0], rtol=1e-10)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_batchnorm_bad_inputs(backend):
    x, gamma, beta, dy = _inputs((4, 3, 2, 2), np.float32)
    mean, inv_std = np.zeros(3, np.float32), np.ones(3, np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"x: expected 2 dimensions \(N, D\) or 4 dimensions"):
            ops.batchnorm_forward(x[0], gamma, beta)
        with pytest.raises(ValueError, match=r"gamma: expected shape \(3,\)"):
            ops.batchnorm_forward(x, gamma[:-1], beta)
        with pytest.raises(ValueError, match="beta: expected 1 dimensions"):
            ops.batchnorm_forward(x, gamma, beta.reshape(1, 3))
        with pytest.raises(TypeError, match="beta: expected dtype float32"):
            ops.batchnorm_forward(x, gamma, beta.astype(np.float64))
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64"):
            ops.batchnorm_forward(x.astype(np.int32), gamma, beta)
        with pytest.raises(ValueError, match="empty batch"):
            ops.batchnorm_forward(x[:0], gamma, beta)
        with pytest.raises(ValueError, match="eps: expected a finite number 0.0 <= eps"):
            ops.batchnorm_forward(x, gamma, beta, -1.0)
        with pytest.raises(TypeError, match="eps: expected a real number"):
            ops.batchnorm_forward(x, gamma, beta, None)
        with pytest.raises(ValueError, match="dy and x must have the same shape"):
            ops.batchnorm_backward(dy[:, :, :1], x, gamma, mean, inv_std)
        with pytest.raises(ValueError, match=r"inv_std: expected shape \(3,\)"):
            ops.batchnorm_backward(dy, x, gamma, mean, inv_std[:2])
        with pytest.raises(TypeError, match="mean: expected dtype float32"):
            ops.batchnorm_backward(dy, x, gamma, mean.astype(np.float64), inv_std)
        with pytest.raises(ValueError, match=r"running_var: expected shape \(3,\)"):
            ops.batchnorm_inference(x, gamma, beta, mean, inv_std[:1])
        with pytest.raises(TypeError, match="running_mean: expected a numpy.ndarray"):
            ops.batchnorm_inference(x, gamma, beta, [0.0, 0.0, 0.0], inv_std)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3000, 37), (16, 13, 26, 26)])
def test_batchnorm_bit_identical_across_simd_paths(dtype, shape):
    x, gamma, beta, dy = _inputs(shape, dtype, seed=4)
    fwd = [on_path(p, ops.batchnorm_forward, x, gamma, beta, threads=2) for p in SIMD_PATHS]
    assert_bit_identical(fwd, "forward across paths")
    _, mean, inv_std = fwd[0]
    bwd = [on_path(p, ops.batchnorm_backward, dy, x, gamma, mean, inv_std, threads=2) for p in SIMD_PATHS]
    assert_bit_identical(bwd, "backward across paths")
