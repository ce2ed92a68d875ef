"""C sigmoid/tanh/softmax, mse and dropout kernels against the NumPy reference: dtypes x thread counts x
awkward shapes, thread-count invariance, in-place forms, and bad inputs."""
import numpy as np
import pytest

import cnet
from cnet import ops, reference
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path,
                     run_c, run_numpy)


# Tolerances relative to the output's scale (expf/tanhf of glibc and NumPy's SIMD ones may differ by
# an ulp or two; sums are taken in double by the kernels, in the dtype by the reference).
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

# size 1, odd sizes, a last axis not a multiple of the vector width, above CNET_MIN_PARALLEL_WORK (32768)
SHAPES = [(1,), (7,), (3, 5), (2, 3, 4, 5), (64, 1031), (5, 40001)]
SOFTMAX_SHAPES = [(1,), (1, 1), (7, 3), (4, 1, 10), (128, 10), (300, 129), (3, 20001)]


def _x(shape, dtype, seed=0, scale=4.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


# ---- sigmoid, tanh -------------------------------------------------------------------------------

ACTIVATIONS = [(ops.sigmoid_forward, ops.sigmoid_backward), (ops.tanh_forward, ops.tanh_backward)]


@pytest.mark.parametrize("fwd, bwd", ACTIVATIONS, ids=["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_activation_matches_reference(simd, fwd, bwd, dtype, shape, threads):
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1, scale=1.0)
    tol = TOL[np.dtype(dtype)]
    y = run_c(fwd, x, threads=threads)
    assert y.dtype == dtype and y.shape == shape
    y_ref = run_numpy(fwd, x)
    assert_close(y, y_ref, rtol=tol, name="y")
    dx = run_c(bwd, dy, y_ref, threads=threads)
    assert dx.dtype == dtype
    assert_close(dx, run_numpy(bwd, dy, y_ref), rtol=tol, name="dx")


@pytest.mark.parametrize("fwd, bwd", ACTIVATIONS, ids=["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_thread_invariance_and_in_place(simd, fwd, bwd, dtype):
    x, dy = _x((300, 301), dtype), _x((300, 301), dtype, seed=1)
    outs = [run_c(fwd, x, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(outs, "y")
    assert_bit_identical([run_c(bwd, dy, outs[0], threads=t) for t in (1, 2, 3, 7)], "dx")
    z = x.copy()
    assert run_c(fwd, z, out=z) is z
    assert_bit_identical([z, outs[0]], "in-place y")
    d = dy.copy()
    assert run_c(bwd, d, outs[0], out=d) is d
    assert_bit_identical([d, run_c(bwd, dy, outs[0])], "in-place dx")


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tanh_extremes(simd, dtype):
    big = np.finfo(dtype).max
    x = np.array([-big, -1000.0, -80.0, -1e-30, 0.0, 1e-30, 80.0, 1000.0, big, np.inf, -np.inf], dtype)
    with np.errstate(all="raise"):
        y = run_c(ops.sigmoid_forward, x)
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert_close(y, run_numpy(ops.sigmoid_forward, x), rtol=TOL[np.dtype(dtype)])
    assert_close(run_c(ops.tanh_forward, x), np.tanh(x), rtol=TOL[np.dtype(dtype)])


# ---- softmax -------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_softmax_matches_reference(simd, dtype, shape, threads):
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1, scale=1.0)
    tol = TOL[np.dtype(dtype)]
    y = run_c(ops.softmax_forward, x, threads=threads)
    y_ref = run_numpy(ops.softmax_forward, x)
    assert y.dtype == dtype
    assert_close(y, y_ref, rtol=tol, name="y")
    dx = run_c(ops.softmax_backward, dy, y_ref, threads=threads)
    assert_close(dx, run_numpy(ops.softmax_backward, dy, y_ref), rtol=tol, name="dx")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_thread_invariance_in_place_and_axis(simd, dtype):
    x, dy = _x((700, 130), dtype), _x((700, 130), dtype, seed=1)
    ys = [run_c(ops.softmax_forward, x, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(ys, "y")
    assert_bit_identical([run_c(ops.softmax_backward, dy, ys[0], threads=t) for t in (1, 2, 3, 7)], "dx")
    z = x.copy()
    assert run_c(ops.softmax_forward, z, out=z) is z
    assert_bit_identical([z, ys[0]], "in-place")
    # axis=1 of a 2-D array is the last axis too
    assert_bit_identical([run_c(ops.softmax_forward, x, axis=1), ys[0]], "axis=1")
    d = dy.copy()
    assert run_c(ops.softmax_backward, d, ys[0], axis=1, out=d) is d


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_stable(simd, dtype):
    big = np.finfo(dtype).max
    x = np.array([[1e4, -1e4, 0.0], [1000.0, 1000.0, 1000.0], [big, -big, 0.0]], dtype)
    with np.errstate(over="ignore"):
        y = run_c(ops.softmax_forward, x)
    assert np.all(np.isfinite(y))
    assert_close(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]], rtol=TOL[np.dtype(dtype)])


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_softmax_other_axis_refused_on_both_backends(backend):
    x = np.ones((2, 3, 4), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"only the last axis is supported \(axis=-1 or 2 .*got axis=1"):
            ops.softmax_forward(x, axis=1)
        with pytest.raises(ValueError, match="only the last axis"):
            ops.softmax_backward(x, x, axis=0)
        with pytest.raises(TypeError, match="axis must be an int"):
            ops.softmax_forward(x, axis=1.5)
        with pytest.raises(ValueError, match="at least 1 dimensions"):
            ops.softmax_forward(np.array(1.0, np.float32))
        assert ops.softmax_forward(x, axis=2).shape == x.shape


# ---- mse -----------------------------------------------------------------------------------------

MSE_SHAPES = [(1,), (7,), (3, 5), (128, 10), (64, 1031), (16385,), (3, 70001)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", MSE_SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_mse_matches_reference(simd, dtype, shape, threads):
    y, t = _x(shape, dtype), _x(shape, dtype, seed=1)
    loss = run_c(ops.mse_forward, y, t, threads=threads)
    assert isinstance(loss, float)
    # both sums are in float64 (the reference pairwise, the kernel in fixed chunks)
    assert loss == pytest.approx(run_numpy(ops.mse_forward, y, t), rel=1e-12)
    dy = run_c(ops.mse_backward, y, t, threads=threads)
    assert dy.dtype == dtype
    assert_close(dy, run_numpy(ops.mse_backward, y, t), rtol=0, name="dy")  # same float ops: exact


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_thread_invariance(simd, dtype):
    y, t = _x((3, 70001), dtype), _x((3, 70001), dtype, seed=1)
    losses = [run_c(ops.mse_forward, y, t, threads=n) for n in (1, 2, 3, 7)]
    assert_bit_identical([np.float64(v) for v in losses], "mse")


def test_mse_beyond_64_chunks():
    # more than 64 reduction chunks (64 * 64 * 256 elements): the chunk sums live on the heap
    y, t = _x((1_100_001,), np.float32), _x((1_100_001,), np.float32, seed=1)
    losses = [run_c(ops.mse_forward, y, t, threads=n) for n in (1, 2, 3)]
    assert_bit_identical([np.float64(v) for v in losses], "mse")
    assert_close(np.float64(losses[0]), np.float64(run_numpy(ops.mse_forward, y, t)), rtol=1e-6)


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


# ---- bad inputs of the activations and mse -----------------------------------------------------

@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("fwd, bwd", ACTIVATIONS + [(ops.softmax_forward, ops.softmax_backward)],
                         ids=["sigmoid", "tanh", "softmax"])
def test_activation_bad_inputs(backend, fwd, bwd):
    x = np.ones((4, 5), np.float32)
    ro = np.empty_like(x)
    ro.flags.writeable = False
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="writable"):
            fwd(x, out=ro)
        with pytest.raises(ValueError, match="C-contiguous"):
            fwd(x, out=np.empty((5, 4), np.float32).T)
        with pytest.raises(ValueError, match=r"expected shape \(4, 5\) and dtype float32"):
            fwd(x, out=np.empty((4, 5), np.float64))
        with pytest.raises(TypeError, match="float32 or float64.*int64"):
            fwd(np.ones((4, 5), np.int64))
        with pytest.raises(TypeError, match="ndarray"):
            fwd([1.0, 2.0])
        with pytest.raises(ValueError, match="empty batch"):
            fwd(np.ones((0, 5), np.float32))
        with pytest.raises(ValueError, match="dy and y must have the same shape"):
            bwd(x, np.ones((4, 6), np.float32))
        with pytest.raises(TypeError, match="expected dtype float32"):
            bwd(x, np.ones((4, 5), np.float64))
        with pytest.raises(ValueError, match="writable"):
            bwd(x, x, out=ro)


def test_activation_noncontiguous_input_is_copied():
    x = _x((20, 30), np.float64)[:, ::2]
    assert_close(run_c(ops.sigmoid_forward, x), reference.sigmoid_forward(x), rtol=1e-10)
    assert_close(run_c(ops.softmax_forward, x), reference.softmax_forward(x), rtol=1e-10)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_mse_bad_inputs(backend):
    y = np.ones((4, 3), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="y and t must have the same shape"):
            ops.mse_forward(y, y[:2])
        with pytest.raises(TypeError, match="t: expected dtype float32"):
            ops.mse_backward(y, y.astype(np.float64))
        with pytest.raises(TypeError, match="y: expected a numpy.ndarray"):
            ops.mse_forward([1.0], y)
        with pytest.raises(ValueError, match="empty batch"):
            ops.mse_forward(y[:0], y[:0])


# ---- across SIMD paths -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_paths_agree(dtype):
    """Dropout masks and the mse sum (fixed chunked order, no FMA contraction) are bit-identical on every
    SIMD path; sigmoid/tanh/softmax (own exp/expm1, FMA allowed on AVX2/AVX-512) agree within tolerance."""
    x, t = _x((13, 7001), dtype), _x((13, 7001), dtype, seed=1)
    for threads in (1, 3):
        per_path = [on_path(p, ops.dropout_forward, x, 0.3, 12345, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical(per_path, "dropout across paths")
        masks = [on_path(p, ops.dropout_mask, (13, 7001), 0.3, 99, dtype, threads=threads) for p in SIMD_PATHS]
        assert_bit_identical(masks, "dropout_mask across paths")
        assert_bit_identical([np.float64(on_path(p, ops.mse_forward, x, t, threads=threads)) for p in SIMD_PATHS],
                             "mse across paths")
        assert_bit_identical([on_path(p, ops.mse_backward, x, t, threads=threads) for p in SIMD_PATHS],
                             "mse dy across paths")
    for fwd, bwd in ACTIVATIONS + [(ops.softmax_forward, ops.softmax_backward)]:
        ys = [on_path(p, fwd, x) for p in SIMD_PATHS]
        for p, y in zip(SIMD_PATHS, ys):
            assert_close(y, ys[0], rtol=TOL[np.dtype(dtype)], name=f"{fwd.__name__} {p} vs portable")
