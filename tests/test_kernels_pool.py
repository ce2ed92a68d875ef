"""C max/average pooling kernels against the NumPy reference: SIMD paths x dtypes x thread counts x awkward
shapes, NaN and tie semantics, bit-identical results across thread counts, and the argument checks."""
import numpy as np
import pytest

import cnet
from cnet import ops
from helpers import DTYPES, THREAD_COUNTS, assert_bit_identical, assert_close, run_c, run_numpy

# (N, C, H, W), (PH, PW), stride, pad
POOL_CASES = [
    ((1, 1, 4, 4), (2, 2), None, 0),            # batch 1, the 2x2 stride-2 fast path
    ((2, 3, 7, 9), (2, 2), 2, 0),               # fast path, odd H/W (last row/column unused)
    ((3, 17, 6, 5), (3, 3), 1, 1),              # overlapping windows, pad 1, C = 17
    ((2, 3, 5, 4), (5, 4), None, 0),            # window equal to the input
    ((2, 2, 11, 10), (2, 2), 3, 0),             # stride larger than the window
    ((2, 3, 9, 8), (3, 2), (2, 1), (1, 1)),     # non-square window and stride, padding
    ((3, 5, 10, 9), (5, 5), 2, 2),              # pad 2
    ((2, 2, 6, 6), (1, 1), 1, 0),               # 1x1 window
    ((4, 64, 24, 24), (2, 2), 2, 0),            # large enough to be threaded
    ((2, 48, 25, 23), (3, 3), 2, 1),            # large, general path, threaded
    ((3, 7, 35, 37), (2, 2), 2, 0),             # fast path, rows of 17/18 windows: vector remainders
    ((2, 5, 6, 19), (2, 2), 2, 0),              # fast path, 9 windows a row: one vector past a group
]


def _case_id(case):
    return "x{}-k{}-s{}-p{}".format(*case)


def _x(case, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(case[0]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("case", POOL_CASES, ids=_case_id)
def test_maxpool_matches_reference(simd, case, threads, dtype):
    x = _x(case, dtype)
    _, (ph, pw), stride, pad = case
    y, argmax = run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, threads=threads)
    y_ref, argmax_ref = run_numpy(ops.maxpool2d_forward, x, ph, pw, stride, pad)
    assert y.dtype == dtype and argmax.dtype == np.int64
    assert_close(y, y_ref, tol=0, name="maxpool y")
    assert_close(argmax, argmax_ref, tol=0, name="maxpool argmax")
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx = run_c(ops.maxpool2d_backward, dy, argmax, x.shape, threads=threads)
    # the same additions in the same order (output order) as the reference's np.add.at
    assert_close(dx, run_numpy(ops.maxpool2d_backward, dy, argmax_ref, x.shape), tol=0, name="maxpool dx")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("case", POOL_CASES, ids=_case_id)
def test_maxpool_window_positions(simd, case, threads, dtype):
    # positions=True: each maximum's place in its window as a byte; the same maxima, the same elements
    # as the int64 indices, and the same gradient
    x = _x(case, dtype, seed=3)
    _, (ph, pw), stride, pad = case
    window = (ph, pw, stride, pad)
    y, pos = run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, positions=True, threads=threads)
    y_ref, pos_ref = run_numpy(ops.maxpool2d_forward, x, ph, pw, stride, pad, positions=True)
    assert pos.dtype == np.uint8 and pos.shape == y.shape
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(pos, pos_ref)
    _, argmax = run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, threads=threads)
    sh, sw = (ph, pw) if stride is None else np.broadcast_to(stride, 2)
    pad_h, pad_w = np.broadcast_to(pad, 2)
    i, j = np.divmod(pos.astype(np.int64), pw)
    rows = np.arange(y.shape[2])[:, None] * sh - pad_h + i
    cols = np.arange(y.shape[3])[None, :] * sw - pad_w + j
    np.testing.assert_array_equal(rows * x.shape[3] + cols, argmax)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx = run_c(ops.maxpool2d_backward, dy, pos, x.shape, window=window, threads=threads)
    np.testing.assert_array_equal(dx, run_c(ops.maxpool2d_backward, dy, argmax, x.shape, threads=threads))
    np.testing.assert_array_equal(dx, run_numpy(ops.maxpool2d_backward, dy, pos_ref, x.shape, window=window))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
@pytest.mark.parametrize("case", POOL_CASES, ids=_case_id)
def test_avgpool_matches_reference(simd, case, threads, dtype):
    x = _x(case, dtype)
    shape, (ph, pw), stride, pad = case
    y = run_c(ops.avgpool2d_forward, x, ph, pw, stride, pad, threads=threads)
    assert y.dtype == dtype
    assert_close(y, run_numpy(ops.avgpool2d_forward, x, ph, pw, stride, pad), tol=0, name="avgpool y")
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    dx = run_c(ops.avgpool2d_backward, dy, shape, ph, pw, stride, pad, threads=threads)
    assert_close(dx, run_numpy(ops.avgpool2d_backward, dy, shape, ph, pw, stride, pad), tol=0,
                 name="avgpool dx")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=_case_id)
def test_pool_bit_identical_across_threads(simd, case, dtype):
    x = _x(case, dtype, seed=2)
    shape, (ph, pw), stride, pad = case
    counts = (1, 2, 3, 7)
    fwd = [run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, threads=t) for t in counts]
    assert_bit_identical(fwd, "maxpool forward")
    y, argmax = fwd[0]
    assert_bit_identical([run_c(ops.maxpool2d_backward, y, argmax, shape, threads=t) for t in counts],
                         "maxpool backward")
    pos = [run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, positions=True, threads=t) for t in counts]
    assert_bit_identical(pos, "maxpool forward, positions")
    assert_bit_identical([run_c(ops.maxpool2d_backward, y, pos[0][1], shape, window=(ph, pw, stride, pad),
                                threads=t) for t in counts], "maxpool backward, positions")
    y = run_c(ops.avgpool2d_forward, x, ph, pw, stride, pad)
    assert_bit_identical([run_c(ops.avgpool2d_forward, x, ph, pw, stride, pad, threads=t) for t in counts],
                         "avgpool forward")
    assert_bit_identical([run_c(ops.avgpool2d_backward, y, shape, ph, pw, stride, pad, threads=t)
                          for t in counts], "avgpool backward")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [((2, 3, 8, 8), (2, 2), 2, 0), ((2, 3, 20, 39), (2, 2), 2, 0),
                                  ((2, 3, 6, 10), (2, 2), 2, 0), ((2, 3, 4, 34), (2, 2), 2, 0),
                                  ((2, 3, 7, 8), (3, 3), 2, 1)], ids=_case_id)
def test_maxpool_ties_nan_and_inf_like_reference(simd, case, dtype):
    rng = np.random.default_rng(4)
    x = rng.integers(-2, 3, size=case[0]).astype(dtype)     # many ties
    x.flat[rng.choice(x.size, 12, replace=False)] = np.nan  # NaN wins, the first one
    x[0, 0] = -np.inf                                       # a plane of -inf: padding must never win
    x[1, 1, :3, :3] = np.nan
    _, (ph, pw), stride, pad = case
    y, argmax = run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad)
    y_ref, argmax_ref = run_numpy(ops.maxpool2d_forward, x, ph, pw, stride, pad)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    assert np.isnan(y).any() and np.isneginf(y[0, 0]).all()
    np.testing.assert_array_equal(run_c(ops.maxpool2d_forward, x, ph, pw, stride, pad, positions=True)[1],
                                  run_numpy(ops.maxpool2d_forward, x, ph, pw, stride, pad, positions=True)[1])


def test_pool_ops_run_in_c():
    backends = cnet.ops.op_backends()
    for name in ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"):
        assert backends[name] == "c", name


# ---- bad input: the exception type and the message, on both backends --------------------------------

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_pool_bad_input(backend):
    x = np.ones((2, 3, 6, 6), np.float32)
    y, argmax = run_numpy(ops.maxpool2d_forward, x, 2, 2)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"x: expected 4 dimensions, got array of shape \(3, 6, 6\)"):
            ops.maxpool2d_forward(x[0], 2, 2)
        with pytest.raises(ValueError, match=r"pad \(2, 2\) must be smaller than the pool window \(2, 2\)"):
            ops.maxpool2d_forward(x, 2, 2, pad=2)
        with pytest.raises(ValueError, match=r"pad \(0, 1\) must be smaller than the pool window \(3, 1\)"):
            ops.maxpool2d_forward(x, 3, 1, pad=(0, 1))
        with pytest.raises(ValueError, match=r"pool window \(7, 2\) is larger than the padded input"):
            ops.maxpool2d_forward(x, 7, 2)
        with pytest.raises(ValueError, match=r"pool window \(2, 9\) is larger than the padded input"):
            ops.avgpool2d_forward(x, 2, 9, pad=1)
        with pytest.raises(ValueError, match=r"stride must be positive, got \(0, 0\)"):
            ops.maxpool2d_forward(x, 2, 2, stride=0)
        with pytest.raises(ValueError, match=r"stride must be positive, got \(-1, 2\)"):
            ops.avgpool2d_forward(x, 2, 2, stride=(-1, 2))
        with pytest.raises(ValueError, match=r"pool window size must be positive, got \(0, 2\)"):
            ops.avgpool2d_forward(x, 0, 2)
        with pytest.raises(TypeError, match="x: expected dtype float32 or float64, got .* int32"):
            ops.avgpool2d_forward(x.astype(np.int32), 2, 2)
        with pytest.raises(TypeError, match="argmax: expected integer indices"):
            ops.maxpool2d_backward(y, argmax.astype(np.float32), x.shape)
        with pytest.raises(ValueError, match=r"argmax: expected shape \(2, 3, 3, 3\)"):
            ops.maxpool2d_backward(y, argmax[:, :, :2], x.shape)
        with pytest.raises(ValueError, match=r"dy: expected N, C = \(2, 4\)"):
            ops.maxpool2d_backward(y, argmax, (2, 4, 6, 6))
        bad = argmax.copy()
        bad[1, 2, 0, 1] = 36
        with pytest.raises(ValueError, match=r"argmax holds indices outside \[0, 36\)"):
            ops.maxpool2d_backward(y, bad, x.shape)
        bad[1, 2, 0, 1] = -1
        with pytest.raises(ValueError, match=r"argmax holds indices outside \[0, 36\)"):
            ops.maxpool2d_backward(y, bad, x.shape)
        with pytest.raises(ValueError, match=r"dy: expected shape \(2, 3, 3, 3\) .* got \(2, 3, 2, 3\)"):
            ops.avgpool2d_backward(y[:, :, :2], x.shape, 2, 2)
        # uint8 window positions
        big = np.ones((1, 1, 17, 17), np.float32)
        with pytest.raises(ValueError, match=r"positions=True: .* at most 256 elements; got a 17x16 window"):
            ops.maxpool2d_forward(big, 17, 16, positions=True)
        with pytest.raises(TypeError, match="positions: expected True or False, got 1"):
            ops.maxpool2d_forward(x, 2, 2, positions=1)
        _, pos = run_numpy(ops.maxpool2d_forward, x, 2, 2, positions=True)
        with pytest.raises(ValueError, match=r"argmax of uint8 holds window positions .* window=\(ph, pw"):
            ops.maxpool2d_backward(y, pos, x.shape)
        with pytest.raises(ValueError, match=r"window: given with int64 indices, which need none"):
            ops.maxpool2d_backward(y, argmax, x.shape, window=(2, 2, None, 0))
        with pytest.raises(ValueError, match=r"window: expected the forward's \(ph, pw, stride, pad\)"):
            ops.maxpool2d_backward(y, pos, x.shape, window=(2, 2))
        with pytest.raises(ValueError, match=r"dy: expected shape \(2, 3, 2, 2\)"):
            ops.maxpool2d_backward(y, pos, x.shape, window=(3, 3, None, 0))
        bad = pos.copy()
        bad[1, 2, 0, 1] = 4         # past a 2x2 window
        with pytest.raises(ValueError, match=r"window positions outside their 2x2 windows or on their padding"):
            ops.maxpool2d_backward(y, bad, x.shape, window=(2, 2, None, 0))
        y3, pos3 = run_numpy(ops.maxpool2d_forward, x, 3, 3, 2, 1, positions=True)
        bad = pos3.copy()
        bad[0, 0, 0, 0] = 0         # the top-left window's corner is padding
        with pytest.raises(ValueError, match=r"window positions outside their 3x3 windows or on their padding"):
            ops.maxpool2d_backward(y3, bad, x.shape, window=(3, 3, 2, 1))
        with pytest.raises(ValueError, match=r"x_shape: expected \(N, C, H, W\)"):
            ops.avgpool2d_backward(y, (3, 6, 6), 2, 2)


# ---- 2x2 max pooling on the channel-blocked layout (src/pool_blocked*.c) ----------------------------

BLK_POOL_SHAPES = [(2, 16, 28, 28), (3, 5, 7, 9), (1, 33, 6, 5), (2, 1, 1, 3), (2, 20, 3, 2),
                   (1, 9, 5, 135)]   # rows of 67 windows: passes of 32, 32 and 3


def _blk_pool_input(shape, dtype, seed=0):
    """Small integers (ties in many windows), and NaNs: the first NaN of a window wins."""
    x = np.random.default_rng(seed).integers(-3, 4, size=shape).astype(dtype)
    flat = x.reshape(-1)
    if flat.size > 20:
        flat[5] = flat[17] = np.nan
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BLK_POOL_SHAPES, ids=str)
def test_maxpool2d_blk_matches_reference_bit_identical_across_threads(simd, shape, dtype):
    x = _blk_pool_input(shape, dtype)
    xb = ops.to_blocked(x)
    n, c, h, w = shape
    dyb = ops.to_blocked(np.random.default_rng(1).standard_normal((n, c, h // 2, w // 2)).astype(dtype))
    runs = []
    for t in (1, 2, 3, 7):
        yb, arg = run_c(ops.maxpool2d_blk_forward, xb, threads=t)
        runs.append((yb, arg, run_c(ops.maxpool2d_blk_backward, dyb, arg, (h, w), threads=t)))
    assert_bit_identical(runs, "blocked maxpool (y, arg, dx)")
    want = run_numpy(ops.maxpool2d_blk_forward, xb)
    want = want + (run_numpy(ops.maxpool2d_blk_backward, dyb, want[1], (h, w)),)
    for g, e, name in zip(runs[0], want, ("y", "arg", "dx")):
        assert g.shape == e.shape and g.dtype == e.dtype, name
        assert g.tobytes() == e.tobytes(), f"blocked maxpool {name} differs from the reference"
    if h >= 2 and w >= 2:   # and the same maxima as the NCHW pooling
        y_nchw, _ = run_numpy(ops.maxpool2d_forward, x[:, :, :h // 2 * 2, :w // 2 * 2], 2, 2)
        assert ops.from_blocked(runs[0][0], c).tobytes() == y_nchw.tobytes()
    assert not runs[0][2][..., c:].any() and not runs[0][0][..., c:].any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("blocks", [3, 65, 130], ids=lambda b: f"cb={b}vectors")
def test_maxpool2d_blk_any_block_width(simd, dtype, blocks):
    """A block of any multiple of the 32-byte vector (the kernel keeps a pass's positions in a 2 KB
    buffer: wider blocks run in slices of lanes, the last one shorter) matches the reference."""
    cb = blocks * (32 // np.dtype(dtype).itemsize)
    x = _blk_pool_input((2, cb + 5, 6, 7), dtype)
    xb = ops.to_blocked(x, cb=cb)
    yb, arg = run_c(ops.maxpool2d_blk_forward, xb, threads=2)
    want_y, want_arg = run_numpy(ops.maxpool2d_blk_forward, xb)
    assert yb.tobytes() == want_y.tobytes() and arg.tobytes() == want_arg.tobytes()
    dyb = ops.to_blocked(np.random.default_rng(1).standard_normal((2, cb + 5, 3, 3)).astype(dtype), cb=cb)
    dxb = run_c(ops.maxpool2d_blk_backward, dyb, arg, (6, 7))
    assert dxb.tobytes() == run_numpy(ops.maxpool2d_blk_backward, dyb, want_arg, (6, 7)).tobytes()


def test_maxpool2d_blk_argument_checks():
    xb = ops.to_blocked(np.zeros((2, 3, 4, 4), np.float32))
    yb, arg = ops.maxpool2d_blk_forward(xb)
    with pytest.raises(ValueError, match="multiple of 8"):
        ops.maxpool2d_blk_forward(ops.to_blocked(np.zeros((2, 3, 4, 4), np.float32), cb=3))
    with pytest.raises(TypeError, match="uint8"):
        ops.maxpool2d_blk_backward(yb, arg.astype(np.int64), (4, 4))
    with pytest.raises(ValueError, match="does not pool"):
        ops.maxpool2d_blk_backward(yb, arg, (6, 4))
    bad = arg.copy()
    bad.reshape(-1)[3] = 4
    with cnet.use_backend("c"):
        with pytest.raises(ValueError, match="outside 0..3"):
            ops.maxpool2d_blk_backward(yb, bad, (4, 4))
