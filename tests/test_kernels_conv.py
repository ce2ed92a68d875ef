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
    # few channels, stride 1: rows of output pixels (conv_px_tmpl.h) where a row holds a vector
    ((3, 1, 28, 28), (30, 5, 5), 1, 0),         # the book's first layer: K past a tile's rows
    ((2, 1, 28, 28), (16, 3, 3), 1, 1),         # padded, rows of 28: a last vector that overlaps
    ((5, 2, 9, 40), (9, 2, 3), 1, (0, 2)),      # several vector groups a row, padding on one axis
    ((1, 4, 17, 19), (3, 4, 4), 1, 1),          # C = 4 (the most), batch 1: threads over channels
    ((2, 5, 10, 20), (3, 3, 3), 1, 0),          # C = 5: im2col again
    ((2, 1, 6, 30), (7, 3, 3), 1, 0),           # K = 7 on rows of four AVX-512 double vectors
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
    yr = run_c(ops.conv2d_forward, x, wt, b, stride, pad, relu=True, threads=threads)
    assert_close(yr, run_numpy(ops.conv2d_forward, x, wt, b, stride, pad, relu=True), tol=tol,
                 name="conv y (relu)")
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


# ---- direct convolution on the channel-blocked layout (src/conv_direct*.c) ------------------------
# Through the layout conversion against the NumPy reference. Integer data (every sum exact in either
# dtype) makes each path's result equal to the reference bit for bit, whatever order it adds in; real
# data checks the rounding within CONV_TOL. The block width is the path's (cnet.ops.conv.blk_width).

# (N, C, H, W), (K, KH, KW), stride, pad, plain (the input stays NCHW: a network's first layer)
DIRECT_CASES = [
    ((2, 16, 12, 12), (16, 3, 3), 1, 1, False),     # DeepConvNet-like, pad 1
    ((2, 1, 14, 13), (16, 3, 3), 1, 1, True),       # one input channel, plain, padded copy
    ((2, 1, 12, 12), (30, 5, 5), 1, 0, True),       # SimpleConvNet's first layer, 5x5
    ((2, 32, 8, 8), (20, 3, 3), 1, 2, False),       # pad 2 (DeepConvNet conv4), K not a multiple of cb
    ((2, 3, 7, 9), (5, 3, 3), 1, 1, False),         # odd H/W, C and K below one block
    ((1, 30, 12, 11), (30, 5, 5), 1, 0, False),     # 5x5 valid
    ((2, 20, 9, 9), (17, 1, 1), 1, 0, False),       # 1x1
    ((2, 6, 4, 4), (9, 1, 1), 1, 1, False),         # 1x1 with padding (backward-data crops)
    ((2, 17, 11, 10), (19, 3, 3), 2, 1, False),     # stride 2: backward-data by phases
    ((2, 5, 13, 12), (7, 5, 5), 2, 2, False),       # stride 2, 5x5, pad 2
    ((2, 3, 10, 11), (33, 3, 3), (2, 1), (1, 0), True),   # plain, strides and pads differ per axis
    ((2, 4, 9, 8), (6, 3, 2), (1, 2), (0, 1), False),     # non-square kernel
    ((1, 16, 3, 37), (48, 3, 3), 1, 1, False),      # wide rows: several row tiles per row
    ((1, 7, 1, 1), (3, 3, 3), 1, 1, False),         # 1x1 image, every tap but the centre in padding
    ((9, 16, 4, 4), (16, 3, 3), 1, 1, False),       # batch 9: several weight-gradient chunks
    ((2, 40, 6, 6), (70, 3, 3), 1, 1, False),       # several blocks of C and K
]


def _direct_id(case):
    return "x{}-w{}-s{}-p{}{}".format(*case[:4], "-plain" if case[4] else "")


def _direct_arrays(case, dtype, exact, seed=0):
    (n, c, h, w), (k, kh, kw), stride, pad, plain = case
    rng = np.random.default_rng(seed)

    def draw(*shape):
        a = rng.integers(-2, 3, size=shape) if exact else rng.standard_normal(shape)
        return a.astype(dtype)
    x, wt, b = draw(n, c, h, w), draw(k, c, kh, kw), draw(k)
    y = run_numpy(ops.conv2d_forward, x, wt, b, stride, pad)
    return x, wt, b, draw(*y.shape), stride, pad, plain


def _direct_passes(x, wt, b, dy, stride, pad, plain, threads=None, relu=True):
    """(y, dx, dw, db) in NCHW through the blocked C kernels (layout conversions included)."""
    k, c = wt.shape[:2]
    cb = ops.conv.blk_width(x.dtype)
    xk = x if plain else run_c(ops.to_blocked, x, cb)
    yb = run_c(ops.conv2d_blk_forward, xk, wt, b, stride, pad, plain, cb, relu=relu, threads=threads)
    dyb = run_c(ops.to_blocked, dy, cb)
    dxb = run_c(ops.conv2d_blk_backward_data, dyb, wt, x.shape, stride, pad, threads=threads)
    dw, db = run_c(ops.conv2d_blk_backward_weights, dyb, xk, wt.shape, stride, pad, plain, threads=threads)
    return run_c(ops.from_blocked, yb, k), run_c(ops.from_blocked, dxb, c), dw, db


def _direct_expected(x, wt, b, dy, stride, pad, relu=True):
    y = run_numpy(ops.conv2d_forward, x, wt, b, stride, pad, relu=relu)
    dx, dw, db = run_numpy(ops.conv2d_backward, dy, x, wt, stride, pad)
    return y, dx, dw, db


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DIRECT_CASES, ids=_direct_id)
def test_direct_conv_exact_and_bit_identical_across_threads(simd, case, dtype):
    """Integer data: equal to the reference to the bit on every path; threads 1/2/3/7 the same bits."""
    args = _direct_arrays(case, dtype, exact=True)
    results = [_direct_passes(*args, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(results, "direct conv (y, dx, dw, db)")
    for g, e, name in zip(results[0], _direct_expected(*args[:-1]), ("y", "dx", "dw", "db")):
        assert g.dtype == dtype
        assert_close(g, e, tol=0, name=f"direct {name}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DIRECT_CASES, ids=_direct_id)
def test_direct_conv_real_data_matches_reference(simd, case, dtype):
    args = _direct_arrays(case, dtype, exact=False, seed=1)
    threads = 3
    tol = CONV_TOL[np.dtype(dtype)]
    got = _direct_passes(*args, threads=threads, relu=False)
    for g, e, name in zip(got, _direct_expected(*args[:-1], relu=False), ("y", "dx", "dw", "db")):
        assert_close(g, e, tol=tol, name=f"direct {name}")
    x, wt, _, dy, stride, pad, plain = args
    y0 = run_c(ops.conv2d_blk_forward, x if plain else ops.to_blocked(x), wt, None, stride, pad, plain)
    assert_close(ops.from_blocked(y0, wt.shape[0]), run_numpy(ops.conv2d_forward, x, wt, None, stride, pad),
                 tol=tol, name="direct y (no bias)")


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_conv_lanes_past_the_channels_stay_zero(simd, dtype):
    """The invariant every blocked kernel keeps: the lanes past C (K) of a blocked array hold zeros --
    also with a bias that is negative or positive and with ReLU off."""
    x, wt, b, dy, stride, pad, _ = _direct_arrays(((2, 5, 7, 6), (7, 3, 3), 1, 1, False), dtype, exact=False)
    b[:] = np.linspace(-3, 3, b.size)
    cb = ops.conv.blk_width(dtype)
    xb = run_c(ops.to_blocked, x, cb)
    assert not xb[..., 5:].any()
    for relu in (False, True):
        yb = run_c(ops.conv2d_blk_forward, xb, wt, b, stride, pad, relu=relu)
        assert not yb[..., 7:].any(), "forward wrote into the lanes past K"
    dxb = run_c(ops.conv2d_blk_backward_data, run_c(ops.to_blocked, dy, cb), wt, x.shape, stride, pad)
    assert not dxb[..., 5:].any(), "backward-data wrote into the lanes past C"
    dy2 = np.ones((2, 7, 4, 3), dtype)      # stride 2: the phases and their scatter
    dxb = run_c(ops.conv2d_blk_backward_data, run_c(ops.to_blocked, dy2, cb), wt, x.shape, 2, 1)
    assert not dxb[..., 5:].any(), "strided backward-data wrote into the lanes past C"


TILE_SWEEP_CASES = [
    ((1, 20, 5, 29), (70, 3, 3), 1, 1, False),
    ((1, 2, 5, 29), (40, 3, 3), 1, 1, True),
    ((2, 20, 5, 17), (40, 3, 3), 2, 1, False),
    ((2, 1, 9, 9), (40, 5, 5), 1, 2, True),
]


@pytest.fixture
def force_tile():
    try:
        yield _kernels_hook()
    finally:
        _kernels_hook()(0, 0, 0, 0)


def _kernels_hook():
    from cnet import _kernels
    return _kernels.debug_conv2d_blk_force_tile


def _sweep(dtype, force_tile, rws, ncs):
    cases = [(_direct_arrays(c, dtype, exact=True, seed=4 + i)) for i, c in enumerate(TILE_SWEEP_CASES)]
    expected = [_direct_expected(*a[:-1]) for a in cases]
    for kb in (1, 2, 3, 4):
        for rw in rws:            # forward / backward-data tiles: kb output blocks x rw pixels
            force_tile(kb, rw, 0, 0)
            for (x, wt, b, dy, stride, pad, plain), want in zip(cases, expected):
                cb = ops.conv.blk_width(dtype)
                yb = run_c(ops.conv2d_blk_forward, x if plain else ops.to_blocked(x, cb), wt, b, stride, pad,
                           plain, cb, relu=True, threads=2)
                dxb = run_c(ops.conv2d_blk_backward_data, ops.to_blocked(dy, cb), wt, x.shape, stride, pad,
                            threads=2)
                assert_close(ops.from_blocked(yb, wt.shape[0]), want[0], tol=0, name=f"y, tile {kb}x{rw}")
                assert_close(ops.from_blocked(dxb, x.shape[1]), want[1], tol=0, name=f"dx, tile {kb}x{rw}")
        for nc in ncs:   # weight-gradient tiles: nc lanes (or taps) x kb blocks
            force_tile(0, 0, nc, kb)
            for (x, wt, b, dy, stride, pad, plain), want in zip(cases, expected):
                cb = ops.conv.blk_width(dtype)
                dw, db = run_c(ops.conv2d_blk_backward_weights, ops.to_blocked(dy, cb),
                               x if plain else ops.to_blocked(x, cb), wt.shape, stride, pad, plain, threads=2)
                assert_close(dw, want[2], tol=0, name=f"dw, tile {nc}x{kb}")
                assert_close(db, want[3], tol=0, name=f"db, tile {nc}x{kb}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_conv_forced_tiles(simd, dtype, force_tile):
    """Register tiles forced one by one (a tile the path lacks is ignored): integer data, the
    reference's bits. A sample of the row widths here; every one in the slow test below."""
    _sweep(dtype, force_tile, (1, 3, 6, 14, 28), (1, 4, 16))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
def test_direct_conv_every_forced_tile(simd, dtype, force_tile):
    """Every compiled register tile (row widths 1..28), forced one by one."""
    _sweep(dtype, force_tile, range(1, 29), (1, 2, 3, 4, 8, 16))


def test_direct_conv_argument_checks():
    x = np.zeros((2, 5, 6, 6), np.float32)
    w = np.zeros((4, 5, 3, 3), np.float32)
    cb = ops.conv.blk_width(np.float32)
    xb = ops.to_blocked(x)
    assert xb.shape == (2, -(-5 // cb), 6, 6, cb)
    with pytest.raises(ValueError, match="blocked array"):
        ops.conv2d_blk_forward(x[:, :, :, :, None], w, None)
    with pytest.raises(ValueError, match="blocked array .* of 40 channels"):
        ops.conv2d_blk_forward(xb, np.zeros((4, 40, 3, 3), np.float32), None)
    with pytest.raises(TypeError, match="dtype float32"):
        ops.conv2d_blk_forward(xb, w.astype(np.float64), None)
    with pytest.raises(ValueError, match="b: expected shape"):
        ops.conv2d_blk_forward(xb, w, np.zeros(3, np.float32))
    with cnet.use_backend("c"):
        odd = ops.to_blocked(x, cb=3)      # a layout no path runs: the kernels refuse it
        with pytest.raises(ValueError, match="block width"):
            ops.conv2d_blk_forward(odd, w, None)
    with pytest.raises(ValueError, match="dyb: expected shape"):
        ops.conv2d_blk_backward_data(ops.to_blocked(np.zeros((2, 4, 5, 5), np.float32)), w, x.shape, 1, 1)
    with pytest.raises(ValueError, match="x_shape: expected 5 channels"):
        ops.conv2d_blk_backward_data(ops.to_blocked(np.zeros((2, 4, 6, 6), np.float32)), w,
                                     (2, 6, 6, 6), 1, 1)
    with pytest.raises(ValueError, match="x: block width"):
        ops.conv2d_blk_backward_weights(ops.to_blocked(np.zeros((2, 4, 4, 4), np.float32)),
                                        ops.to_blocked(x, cb=cb * 2), w.shape)
    with pytest.raises(ValueError, match="blocked array"):
        ops.from_blocked(xb, 5 + cb)
    for backend in ("c", "numpy"):
        with cnet.use_backend(backend):
            assert ops.from_blocked(ops.to_blocked(x + 1), 5).tobytes() == (x + 1).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_layout_conversions_every_path(simd, dtype):
    """to_blocked / from_blocked against the reference on every path and both block widths (the AVX
    paths transpose vector-wide tiles in registers; the rest runs element by element): channels short
    of a block and past it, planes that are not a multiple of the vector, several threads."""
    rng = np.random.default_rng(3)
    for cb in sorted({ops.conv.blk_width(dtype), 32 // np.dtype(dtype).itemsize, 3}):
        for shape in [(2, 1, 3, 3), (3, 5, 7, 9), (2, cb, 4, 4), (1, 2 * cb + 1, 5, 13), (2, 17, 1, 1)]:
            x = rng.standard_normal(shape).astype(dtype)
            want = run_numpy(ops.to_blocked, x, cb)
            for threads in THREAD_COUNTS:
                xb = run_c(ops.to_blocked, x, cb, threads=threads)
                assert xb.tobytes() == want.tobytes(), (cb, shape, threads)
                back = run_c(ops.from_blocked, xb, shape[1], threads=threads)
                assert back.tobytes() == x.tobytes(), (cb, shape, threads)
