"""C regularization kernels against the NumPy reference: dropout (exactly: the same counter-based random
stream) and batch normalization ((N, D) and (N, C, H, W)) -- dtypes x thread counts x awkward shapes,
thread-count invariance of the masks and of the reductions, bad inputs, and the SIMD paths against each
other."""
import numpy as np
import pytest

import cnet
from cnet import ops, reference
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path,
                     run_c, run_numpy, several_simd_paths)


TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def _x(shape, dtype, seed=0, scale=4.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


# ---- dropout -------------------------------------------------------------------------------------

DROPOUT_SHAPES = [(1,), (7,), (3, 5), (128, 128), (2, 3, 4, 5), (5, 40001)]
SEEDS = [0, 42, 2 ** 64 - 1, 0x123456789ABCDEF0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", DROPOUT_SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_dropout_matches_reference_exactly(simd, dtype, shape, threads):
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1)
    for rate, seed in ((0.5, 42), (0.25, 2 ** 64 - 1), (0.0, 7)):
        y, mask = run_c(ops.dropout_forward, x, rate, seed, threads=threads)
        y_ref, mask_ref = reference.dropout_forward(x, rate, seed)
        assert y.dtype == mask.dtype == dtype
        assert_bit_identical([(y, mask), (y_ref, mask_ref)], f"dropout rate={rate} seed={seed}")
        mask_only = run_c(ops.dropout_mask, shape, rate, seed, dtype, threads=threads)
        assert_bit_identical([mask_only, mask_ref], "dropout_mask")
        dx = run_c(ops.dropout_backward, dy, mask, threads=threads)
        assert_bit_identical([dx, reference.dropout_backward(dy, mask_ref)], "dropout dx")
        # the mask as keep flags: the same y and dx, bit for bit
        y_k, keep = run_c(ops.dropout_forward_keep, x, rate, seed, threads=threads)
        assert keep.dtype == np.uint8 and keep.shape == shape
        assert_bit_identical([y_k, y_ref], "dropout_forward_keep y")
        np.testing.assert_array_equal(keep, reference.dropout_forward_keep(x, rate, seed)[1])
        np.testing.assert_array_equal(keep, mask_ref != 0)
        dx_k = run_c(ops.dropout_backward_keep, dy, keep, rate, threads=threads)
        assert_bit_identical([dx_k, dx, reference.dropout_backward_keep(dy, keep, rate)], "dropout dx (keep)")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_mask_any_thread_count(simd, seed, rate):
    shape = (13, 7001)   # above the threading cut-off, not a multiple of any vector width
    masks = [run_c(ops.dropout_mask, shape, rate, seed, np.float32, threads=t) for t in (1, 2, 3, 7)]
    masks.append(reference.dropout_mask(shape, rate, seed, np.float32))
    assert_bit_identical(masks, "mask")
    assert abs((masks[0] != 0).mean() - (1 - rate)) < 0.01


def test_dropout_mask_shapes_and_in_place_backward():
    assert run_c(ops.dropout_mask, 5, 0.5, 1, np.float64).shape == (5,)
    assert run_c(ops.dropout_mask, (0, 3), 0.5, 1, "float32").shape == (0, 3)
    assert run_c(ops.dropout_mask, np.int64(4), 0.5, np.uint64(3), np.float32).shape == (4,)
    dy = _x((40, 50), np.float32)
    _, mask = run_c(ops.dropout_forward, dy, 0.3, 9)
    expected = dy * mask
    assert run_c(ops.dropout_backward, dy, mask, out=dy) is dy
    assert_bit_identical([dy, expected], "in-place dx")


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_dropout_keep_flags_in_place_and_bad_inputs(backend):
    x, dy = _x((4, 9, 11), np.float64), _x((4, 9, 11), np.float64, seed=1)
    with cnet.use_backend(backend):
        y_ref, keep_ref = ops.dropout_forward_keep(x, 0.6, 3)
        xi, keep = x.copy(), np.empty(x.shape, np.uint8)
        y, k = ops.dropout_forward_keep(xi, 0.6, 3, out=(xi, keep))
        assert y is xi and k is keep
        assert_bit_identical([y, y_ref], "in-place dropout_forward_keep")
        np.testing.assert_array_equal(keep, keep_ref)
        dx_ref = ops.dropout_backward_keep(dy, keep, 0.6)
        d = dy.copy()
        assert ops.dropout_backward_keep(d, keep, 0.6, out=d) is d
        assert_bit_identical([d, dx_ref], "in-place dropout_backward_keep")
        # strided keep flags are read as they are
        wide = np.zeros((4, 9, 22), np.uint8)
        wide[:, :, ::2] = keep
        assert_bit_identical([ops.dropout_backward_keep(dy, wide[:, :, ::2], 0.6), dx_ref], "strided keep")
        with pytest.raises(TypeError, match="keep: expected the numpy.ndarray of uint8 flags"):
            ops.dropout_backward_keep(dy, keep.astype(np.float64), 0.6)
        with pytest.raises(TypeError, match="keep: expected the numpy.ndarray of uint8 flags"):
            ops.dropout_backward_keep(dy, keep.tolist(), 0.6)
        with pytest.raises(ValueError, match=r"keep: expected shape \(4, 9, 11\)"):
            ops.dropout_backward_keep(dy, keep[:2], 0.6)
        with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
            ops.dropout_backward_keep(dy, keep, 1.0)
        with pytest.raises(ValueError, match="overlaps an input"):
            ops.dropout_forward_keep(xi, 0.6, 3, out=(None, xi.reshape(-1).view(np.uint8)[:xi.size].reshape(x.shape)))
        with pytest.raises(ValueError, match=r"out\[1\]: expected shape .* and dtype uint8"):
            ops.dropout_forward_keep(x, 0.6, 3, out=(None, np.empty(x.shape, np.float64)))


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_in_place_and_mask_into_out(backend, dtype):
    """dropout_forward may write y over x (out=(x, mask)); dropout_mask writes into out: the same bits."""
    x = _x((6, 3, 7, 5), dtype)
    with cnet.use_backend(backend):
        y_ref, mask_ref = ops.dropout_forward(x, 0.4, 11)
        xi, mask = x.copy(), np.empty_like(x)
        y, m = ops.dropout_forward(xi, 0.4, 11, out=(xi, mask))
        assert y is xi and m is mask
        assert_bit_identical([(y, m), (y_ref, mask_ref)], "in-place dropout_forward")
        out = np.full(x.shape, 7, dtype)
        assert ops.dropout_mask(x.shape, 0.4, 11, dtype, out=out) is out
        assert_bit_identical([out, mask_ref], "dropout_mask into out")
        with pytest.raises(ValueError, match="overlaps an input"):      # the mask over x: refused
            ops.dropout_forward(xi, 0.4, 11, out=(xi, xi))
        with pytest.raises(ValueError, match=r"out: expected shape \(6, 3, 7, 5\)"):
            ops.dropout_mask(x.shape, 0.4, 11, dtype, out=np.empty((6, 3, 7), dtype))
        with pytest.raises(ValueError, match="out: expected shape .* and dtype"):
            ops.dropout_mask(x.shape, 0.4, 11, dtype, out=np.empty(x.shape, np.float16))
        ro = x.copy()
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="writable"):
            ops.dropout_forward(ro, 0.4, 11, out=(ro, None))


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_dropout_bad_inputs(backend):
    x = np.ones((4, 5), np.float32)
    with cnet.use_backend(backend):
        for bad in (1.0, -0.1, 1.5, float("nan")):
            with pytest.raises(ValueError, match=r"dropout rate must be in \[0, 1\)"):
                ops.dropout_forward(x, bad, 5)
        with pytest.raises(TypeError, match="rate: expected a real number"):
            ops.dropout_forward(x, "0.5", 5)
        with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got -1"):
            ops.dropout_forward(x, 0.5, -1)
        with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\)"):
            ops.dropout_mask((3,), 0.5, 2 ** 64, np.float32)
        with pytest.raises(TypeError, match="seed must be an integer"):
            ops.dropout_forward(x, 0.5, 1.5)
        with pytest.raises(TypeError, match="dtype: expected float32 or float64, got int32"):
            ops.dropout_mask((3,), 0.5, 1, np.int32)
        with pytest.raises(ValueError, match="dimensions must be >= 0"):
            ops.dropout_mask((3, -1), 0.5, 1, np.float32)
        with pytest.raises(TypeError, match="shape: expected an int or a tuple of ints"):
            ops.dropout_mask((3, 1.5), 0.5, 1, np.float32)
        with pytest.raises(TypeError, match="float32 or float64.*int64"):
            ops.dropout_forward(np.ones(3, np.int64), 0.5, 1)
        with pytest.raises(ValueError, match="dy and mask must have the same shape"):
            ops.dropout_backward(x, np.ones((4, 6), np.float32))
        with pytest.raises(TypeError, match="expected dtype float32"):
            ops.dropout_backward(x, np.ones((4, 5), np.float64))


@several_simd_paths
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_bit_identical_across_simd_paths(dtype):
    """Dropout masks (the same integer hash, the same comparison) are bit-identical on every SIMD path."""
    x = _x((13, 7001), dtype)
    for threads in (1, 3):
        per_path = [on_path(p, ops.dropout_forward, x, 0.3, 12345, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical(per_path, "dropout across paths")
        per_path = [on_path(p, ops.dropout_forward_keep, x, 0.3, 12345, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical([y for y, _ in per_path], "dropout_forward_keep y across paths")
        assert all((k == per_path[0][1]).all() for _, k in per_path)
        keep = per_path[0][1]
        per_path = [on_path(p, ops.dropout_backward_keep, x, keep, 0.3, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical(per_path, "dropout_backward_keep across paths")
        masks = [on_path(p, ops.dropout_mask, (13, 7001), 0.3, 99, dtype, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical(masks, "dropout_mask across paths")


# ---- batch normalization: (N, D) and (N, C, H, W) ----------------------------------------------

# (N, D): batch 1, odd features, many rows (several reduction chunks); (N, C, H, W): one channel,
# channels not a multiple of the vector width, 1x1 images, sizes above CNET_MIN_PARALLEL_WORK
BN_SHAPES = [(1, 1), (1, 5), (7, 3), (128, 128), (3000, 37), (70000, 3),
          (1, 1, 1, 1), (2, 3, 1, 1), (3, 5, 4, 7), (1, 17, 9, 9), (8, 3, 33, 35), (16, 13, 26, 26)]


def _bn_inputs(shape, dtype, seed=0):
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
@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_batchnorm_matches_reference(simd, dtype, shape, threads):
    x, gamma, beta, dy = _bn_inputs(shape, dtype)
    tol = TOL[np.dtype(dtype)]
    y, mean, inv_std = run_c(ops.batchnorm_forward, x, gamma, beta, 1e-3, threads=threads)
    y_r, mean_r, inv_std_r = _oracle(ops.batchnorm_forward, x, gamma, beta, 1e-3)
    assert y.dtype == mean.dtype == inv_std.dtype == dtype
    assert_close(mean, mean_r, tol=tol, name="mean")
    assert_close(inv_std, inv_std_r, tol=tol, name="inv_std")
    assert_close(y, y_r, tol=tol, name="y")
    if shape[0] < 1000:   # where NumPy's float32 sums are accurate, the float32 reference agrees too
        assert_close(y, run_numpy(ops.batchnorm_forward, x, gamma, beta, 1e-3)[0], tol=tol, name="y")

    dx, dgamma, dbeta = run_c(ops.batchnorm_backward, dy, x, gamma, mean_r, inv_std_r, threads=threads)
    dx_r, dgamma_r, dbeta_r = _oracle(ops.batchnorm_backward, dy, x, gamma, mean_r, inv_std_r)
    assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype
    assert_close(dbeta, dbeta_r, tol=tol, name="dbeta")
    assert_close(dgamma, dgamma_r, tol=tol, name="dgamma")
    assert_close(dx, dx_r, tol=tol, name="dx")

    rv = (1.0 / inv_std_r.astype(np.float64) ** 2 - 1e-3).astype(dtype)
    y_inf = run_c(ops.batchnorm_inference, x, gamma, beta, mean_r, rv, 1e-3, threads=threads)
    assert_close(y_inf, run_numpy(ops.batchnorm_inference, x, gamma, beta, mean_r, rv, 1e-3), tol=tol,
                 name="inference y")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(70000, 3), (3000, 37), (16, 13, 26, 26), (3, 1, 150, 150)])
def test_batchnorm_bit_identical_across_threads(simd, dtype, shape):
    x, gamma, beta, dy = _bn_inputs(shape, dtype, seed=3)
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
    x, gamma, beta, dy = _bn_inputs((6, 4, 5, 10), np.float64)
    xs = x[:, :, :, ::2]
    y = run_c(ops.batchnorm_forward, xs, gamma[::1], beta)[0]
    assert_close(y, run_numpy(ops.batchnorm_forward, np.ascontiguousarray(xs), gamma, beta)[0], tol=1e-10)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_batchnorm_bad_inputs(backend):
    x, gamma, beta, dy = _bn_inputs((4, 3, 2, 2), np.float32)
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
        with pytest.raises(ValueError, match=r"x: got an empty array of shape \(4, 3, 0, 2\)"):
            ops.batchnorm_inference(np.ones((4, 3, 0, 2), np.float32), gamma, beta, mean, inv_std)
        with pytest.raises(ValueError, match=r"x: got an empty array of shape \(4, 0\)"):
            ops.batchnorm_forward(np.ones((4, 0), np.float32), gamma[:0], beta[:0])
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


@several_simd_paths
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3000, 37), (16, 13, 26, 26)])
def test_batchnorm_bit_identical_across_simd_paths(dtype, shape):
    x, gamma, beta, dy = _bn_inputs(shape, dtype, seed=4)
    fwd = [on_path(p, ops.batchnorm_forward, x, gamma, beta, threads=2) for p in SIMD_PATHS]
    assert_bit_identical(fwd, "forward across paths")
    _, mean, inv_std = fwd[0]
    bwd = [on_path(p, ops.batchnorm_backward, dy, x, gamma, mean, inv_std, threads=2) for p in SIMD_PATHS]
    assert_bit_identical(bwd, "backward across paths")
