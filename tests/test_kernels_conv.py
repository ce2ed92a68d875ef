"""C im2col/col2im and conv2d kernels against the NumPy reference: dtypes x thread counts x awkward shapes
on every SIMD path (the convolution's GEMMs have one per path), bit-identical results across thread
counts, and the argument checks."""
import numpy as np
import pytest

import cnet
from cnet import ops
from helpers import DTYPES, THREAD_COUNTS, assert_bit_identical, assert_close, run_c, run_numpy

# Products and sums in a different order than the reference (GEMM blocking, batch chunks).
CONV_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

# (N, C, H, W), (K, KH, KW), stride, pad
CONV_CASES = [
    ((1, 1, 5, 5), (1, 3, 3), 1, 0),            # batch 1, C = K = 1
    ((2, 3, 7, 9), (5, 3, 3), 1, 1),            # odd H/W, C = 3, K = 5, pad 1
    ((3, 17, 6, 5), (4, 1, 1), 1, 0),           # 1x1, stride 1, no pad: no im2col at all
    ((2, 3, 6, 6), (4, 1, 1), 2, 1),            # 1x1 with stride and pad: the im2col path
    ((2, 3, 5, 4), (2, 5, 4), 1, 0),            # kernel equal to the input: OH = OW = 1
    ((4, 2, 11, 10), (3, 2, 2), 3, 0),          # stride larger than the kernel
    ((3, 3, 9, 8), (5, 3, 2), (2, 1), (2, 1)),  # non-square kernel, stride and pad
    ((5, 17, 8, 7), (5, 3, 3), 2, 2),           # pad 2, stride 2, C = 17
    ((9, 3, 12, 12), (5, 3, 3), 1, 1),          # several weight-gradient chunks, odd batch
    ((1, 8, 30, 30), (6, 3, 3), 1, 1),          # batch 1 large enough to thread inside im2col/GEMM
    ((2, 8, 31, 29), (3, 5, 3), 1, (2, 1)),     # batch smaller than some thread counts
]


def _case_arrays(case, dtype, seed=0):
    (n, c, h, w), (k, kh, kw), stride, pad = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((k, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    y = run_numpy(ops.conv2d_forward, x, wt, b, stride, pad)
    dy = rng.standard_normal(y.shape).astype(dtype)
    return x, wt, b, dy, stride, pad


def _case_id(case):
    return "x{}-w{}-s{}-p{}".format(*case)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_im2col_col2im_match_reference(case, threads, dtype):
    x, wt, _, _, stride, pad = _case_arrays(case, dtype)
    kh, kw = wt.shape[2:]
    col = run_c(ops.im2col, x, kh, kw, stride, pad, threads=threads)
    assert col.dtype == dtype
    assert_close(col, run_numpy(ops.im2col, x, kh, kw, stride, pad), tol=0, name="im2col")
    dcol = np.random.default_rng(1).standard_normal(col.shape).astype(dtype)
    dx = run_c(ops.col2im, dcol, x.shape, kh, kw, stride, pad, threads=threads)
    # overlapping windows add in (oh, ow) order here, in (i, j) order in the reference
    assert_close(dx, run_numpy(ops.col2im, dcol, x.shape, kh, kw, stride, pad),
                 tol=CONV_TOL[np.dtype(dtype)], name="col2im")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv2d_matches_reference(simd, case, threads, dtype):
    x, wt, b, dy, stride, pad = _case_arrays(case, dtype)
    tol = CONV_TOL[np.dtype(dtype)]
    y = run_c(ops.conv2d_forward, x, wt, b, stride, pad, threads=threads)
    assert y.dtype == dtype
    assert_close(y, run_numpy(ops.conv2d_forward, x, wt, b, stride, pad), tol=tol, name="conv y")
    y0 = run_c(ops.conv2d_forward, x, wt, None, stride, pad, threads=threads)
    assert_close(y0, run_numpy(ops.conv2d_forward, x, wt, None, stride, pad), tol=tol, name="conv y (no b)")
    got = run_c(ops.conv2d_backward, dy, x, wt, stride, pad, threads=threads)
    expected = run_numpy(ops.conv2d_backward, dy, x, wt, stride, pad)
    for g, e, name in zip(got, expected, ("dx", "dw", "db")):
        assert g.dtype == dtype
        assert_close(g, e, tol=tol, name=f"conv {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv2d_bit_identical_across_threads(simd, case, dtype):
    x, wt, b, dy, stride, pad = _case_arrays(case, dtype, seed=2)
    kh, kw = wt.shape[2:]
    counts = (1, 2, 3, 7)
    assert_bit_identical([run_c(ops.conv2d_forward, x, wt, b, stride, pad, threads=t) for t in counts], "conv y")
    assert_bit_identical([run_c(ops.conv2d_backward, dy, x, wt, stride, pad, threads=t) for t in counts],
                         "conv backward")
    col = run_c(ops.im2col, x, kh, kw, stride, pad)
    assert_bit_identical([run_c(ops.col2im, col, x.shape, kh, kw, stride, pad, threads=t) for t in counts],
                         "col2im")


def test_conv2d_keras_shape_threads_bit_identical(simd):
    # batch 16 over 2/3/7 threads: rounds of weight-gradient chunks that do not divide evenly
    x, wt, b, dy, stride, pad = _case_arrays(((16, 4, 14, 14), (8, 3, 3), 1, 0), np.float32, seed=3)
    results = [run_c(ops.conv2d_backward, dy, x, wt, stride, pad, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(results, "conv backward")
    expected = run_numpy(ops.conv2d_backward, dy, x, wt, stride, pad)
    for g, e, name in zip(results[0], expected, ("dx", "dw", "db")):
        assert_close(g, e, tol=1e-5, name=name)


def test_conv2d_large_weights_single_chunk(simd):
    # weights larger than the partial-sum budget: the batch runs as one chunk, threads go to the GEMMs
    x, wt, b, dy, stride, pad = _case_arrays(((3, 512, 3, 3), (480, 3, 3), 1, 0), np.float32, seed=5)
    results = [run_c(ops.conv2d_backward, dy, x, wt, stride, pad, threads=t) for t in (1, 2, 3)]
    assert_bit_identical(results, "conv backward")
    expected = run_numpy(ops.conv2d_backward, dy, x, wt, stride, pad)
    for g, e, name in zip(results[0], expected, ("dx", "dw", "db")):
        assert_close(g, e, tol=1e-5, name=name)


def test_conv2d_backward_kernel_without_dx(simd):
    # the binding skips the data gradient when dx is None (a network's first layer needs none)
    from cnet import _kernels
    x, wt, b, dy, stride, pad = _case_arrays(((3, 3, 9, 8), (5, 3, 2), (2, 1), (2, 1)), np.float64)
    dw, db = np.empty_like(wt), np.empty(wt.shape[0])
    _kernels.conv2d_backward(None, dw, db, dy, x, wt, 2, 1, 2, 1, 2)
    _, dw_ref, db_ref = run_numpy(ops.conv2d_backward, dy, x, wt, stride, pad)
    assert_close(dw, dw_ref, tol=1e-10, name="dw")
    assert_close(db, db_ref, tol=1e-10, name="db")


def test_conv2d_noncontiguous_inputs_are_copied():
    x, wt, b, dy, stride, pad = _case_arrays(((2, 3, 8, 8), (4, 3, 3), 1, 1), np.float64)
    xt = np.asfortranarray(x)
    assert_close(run_c(ops.conv2d_forward, xt, wt, b, 1, 1),
                 run_numpy(ops.conv2d_forward, x, wt, b, 1, 1), tol=1e-10)


def test_conv_ops_run_in_c():
    backends = cnet.ops.op_backends()
    for name in ("im2col", "col2im", "conv2d_forward", "conv2d_backward"):
        assert backends[name] == "c", name
    with cnet.use_backend("numpy"):
        assert cnet.ops.op_backends()["conv2d_forward"] == "numpy"


# ---- bad input: the exception type and the message, on both backends --------------------------------

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_conv2d_bad_input(backend):
    f32, f64 = np.float32, np.float64
    x = np.ones((2, 3, 6, 6), f32)
    w = np.ones((4, 3, 3, 3), f32)
    b = np.ones(4, f32)
    dy = np.ones((2, 4, 4, 4), f32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"x: expected 4 dimensions, got array of shape \(3, 6, 6\)"):
            ops.conv2d_forward(x[0], w, b)
        with pytest.raises(ValueError, match=r"w: expected 4 dimensions"):
            ops.conv2d_forward(x, w[0], b)
        with pytest.raises(ValueError, match=r"w: expected 3 input channels .* got w of shape \(4, 2, 3, 3\)"):
            ops.conv2d_forward(x, np.ones((4, 2, 3, 3), f32), b)
        with pytest.raises(ValueError, match=r"kernel \(7, 7\) is larger than the padded input"):
            ops.conv2d_forward(x, np.ones((4, 3, 7, 7), f32), b)
        with pytest.raises(ValueError, match=r"kernel \(9, 3\) is larger than the padded input.*pad \(1, 1\)"):
            ops.conv2d_forward(x, np.ones((4, 3, 9, 3), f32), b, pad=1)
        with pytest.raises(ValueError, match=r"stride must be positive, got \(0, 0\)"):
            ops.conv2d_forward(x, w, b, stride=0)
        with pytest.raises(ValueError, match=r"stride must be positive, got \(1, -1\)"):
            ops.conv2d_backward(dy, x, w, stride=(1, -1))
        with pytest.raises(TypeError, match="stride: expected an int"):
            ops.conv2d_forward(x, w, b, stride=1.5)
        with pytest.raises(ValueError, match=r"stride: expected an int or an \(h, w\) pair"):
            ops.conv2d_forward(x, w, b, stride=(1, 1, 1))
        with pytest.raises(ValueError, match=r"pad must be >= 0, got \(-1, -1\)"):
            ops.conv2d_forward(x, w, b, pad=-1)
        with pytest.raises(TypeError, match="w: expected dtype float32 .* got array of shape .* float64"):
            ops.conv2d_forward(x, w.astype(f64), b)
        with pytest.raises(TypeError, match="b: expected dtype float32"):
            ops.conv2d_forward(x, w, b.astype(f64))
        with pytest.raises(TypeError, match="dy: expected dtype float32"):
            ops.conv2d_backward(dy.astype(f64), x, w)
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got .* int64"):
            ops.conv2d_forward(x.astype(np.int64), w, b)
        with pytest.raises(TypeError, match="x: expected a numpy.ndarray"):
            ops.conv2d_forward(x.tolist(), w, b)
        with pytest.raises(ValueError, match=r"b: expected shape \(4,\) \(one bias per filter"):
            ops.conv2d_forward(x, w, np.ones(5, f32))
        with pytest.raises(ValueError, match=r"dy: expected shape \(2, 4, 4, 4\) .* got \(2, 4, 5, 5\)"):
            ops.conv2d_backward(np.ones((2, 4, 5, 5), f32), x, w)
        with pytest.raises(ValueError, match="x: empty batch"):
            ops.conv2d_forward(x[:0], w, b)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_im2col_col2im_bad_input(backend):
    x = np.ones((2, 3, 6, 6), np.float64)
    col = np.ones((2 * 16, 27), np.float64)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="x: expected 4 dimensions"):
            ops.im2col(x[0], 3, 3)
        with pytest.raises(ValueError, match=r"kernel size must be positive, got \(0, 3\)"):
            ops.im2col(x, 0, 3)
        with pytest.raises(TypeError, match="kernel height: expected an int"):
            ops.im2col(x, 2.0, 3)
        with pytest.raises(ValueError, match=r"kernel \(7, 3\) is larger than the padded input"):
            ops.im2col(x, 7, 3)
        with pytest.raises(ValueError, match="stride must be positive"):
            ops.im2col(x, 3, 3, stride=(0, 1))
        with pytest.raises(ValueError, match=r"col: expected shape \(32, 27\) .* got \(32, 26\)"):
            ops.col2im(col[:, :26], x.shape, 3, 3)
        with pytest.raises(ValueError, match=r"x_shape: expected \(N, C, H, W\)"):
            ops.col2im(col, (3, 6, 6), 3, 3)
        with pytest.raises(ValueError, match="x_shape: expected positive sizes"):
            ops.col2im(col, (2, 3, 0, 6), 3, 3)
        with pytest.raises(ValueError, match="col: expected 2 dimensions"):
            ops.col2im(col.reshape(2, 16, 27), x.shape, 3, 3)
