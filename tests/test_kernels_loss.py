"""C loss kernels against the NumPy reference: the fused softmax cross-entropy (class indices and dense
targets; with a weight per sample, also against a direct NumPy computation) and the mean squared error -- dtypes x thread counts x awkward shapes, thread-count invariance,
extreme inputs, bad inputs, and the SIMD paths against each other."""
import numpy as np
import pytest

import cnet
from cnet import ops, reference
from helpers import (DEFAULT_TOL, DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close,
                     on_path, run_c, run_numpy, several_simd_paths)


def _x(shape, dtype, seed=0, scale=4.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


# ---- fused softmax + cross-entropy ----------------------------------------------------------------

# (N, L): batch 1, odd sizes, more rows than one reduction chunk (256), wide rows
XENT_SHAPES = [(1, 10), (3, 1), (7, 3), (128, 10), (257, 17), (1000, 10), (33, 1000), (4099, 5)]


def _xent_inputs(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    logits = (scale * rng.standard_normal(shape)).astype(dtype)
    labels = rng.integers(0, shape[1], size=shape[0])
    return logits, labels


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", XENT_SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_softmax_xent_matches_reference_int_labels(dtype, shape, threads):
    logits, labels = _xent_inputs(shape, dtype)
    loss, probs = run_c(ops.softmax_xent_forward, logits, labels, threads=threads)
    ref_loss, ref_probs = run_numpy(ops.softmax_xent_forward, logits, labels)
    assert isinstance(loss, float) and probs.dtype == dtype
    assert_close(np.float64(loss), np.float64(ref_loss), tol=DEFAULT_TOL[np.dtype(dtype)], name="loss")
    assert_close(probs, ref_probs, name="probs")
    d = run_c(ops.softmax_xent_backward, probs, labels, threads=threads)
    assert d.dtype == dtype
    assert_close(d, run_numpy(ops.softmax_xent_backward, ref_probs, labels), name="dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 10), (7, 3), (300, 10)])
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_softmax_xent_matches_reference_dense_targets(dtype, shape, threads):
    logits, labels = _xent_inputs(shape, dtype, seed=1)
    rng = np.random.default_rng(2)
    soft = rng.random(shape).astype(dtype)
    soft /= soft.sum(axis=1, keepdims=True)
    onehot = np.eye(shape[1], dtype=dtype)[labels]
    for targets in (onehot, soft, 2 * soft):  # the last does not sum to one: the exact gradient still holds
        loss, probs = run_c(ops.softmax_xent_forward, logits, targets, threads=threads)
        ref_loss, ref_probs = run_numpy(ops.softmax_xent_forward, logits, targets)
        assert_close(np.float64(loss), np.float64(ref_loss), tol=DEFAULT_TOL[np.dtype(dtype)], name="loss")
        assert_close(probs, ref_probs, name="probs")
        assert_close(run_c(ops.softmax_xent_backward, probs, targets, threads=threads),
                     run_numpy(ops.softmax_xent_backward, ref_probs, targets), name="dlogits")
    # one-hot targets and class indices are the same loss
    loss_i, _ = run_c(ops.softmax_xent_forward, logits, labels)
    loss_t, _ = run_c(ops.softmax_xent_forward, logits, onehot)
    assert abs(loss_i - loss_t) <= 1e-6 * max(1, abs(loss_i))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_bit_identical_across_threads(dtype):
    logits, labels = _xent_inputs((5000, 10), dtype, seed=3)
    results = []
    for t in (1, 2, 3, 7):
        loss, probs = run_c(ops.softmax_xent_forward, logits, labels, threads=t)
        results.append((np.float64(loss), probs, run_c(ops.softmax_xent_backward, probs, labels, threads=t)))
    assert_bit_identical(results, "softmax_xent")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_xent_extreme_logits_stay_finite(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-3e38, 3e38, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    labels = np.array([1, 0, 2])
    loss, probs = run_c(ops.softmax_xent_forward, logits, labels)
    assert np.isfinite(loss) and np.all(np.isfinite(probs))
    ref_loss, _ = run_numpy(ops.softmax_xent_forward, logits, labels)
    assert_close(np.float64(loss), np.float64(ref_loss), tol=DEFAULT_TOL[np.dtype(dtype)], name="loss")
    assert np.all(np.isfinite(run_c(ops.softmax_xent_backward, probs, labels)))


def test_softmax_xent_gradient_near_certainty_does_not_cancel():
    # p[label] close to 1: the gradient there is tiny and must keep its relative accuracy in float32
    logits = np.array([[20.0, 0.0, 0.0]], np.float32)
    loss, probs = run_c(ops.softmax_xent_forward, logits, np.array([0]))
    d = run_c(ops.softmax_xent_backward, probs, np.array([0]))
    expected = probs[0, 0].astype(np.float64) - 1.0
    assert abs(d[0, 0] - expected) <= 1e-6 * abs(expected)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_softmax_xent_bad_inputs(backend):
    logits = np.zeros((4, 3), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"labels\[2\] = 3 is out of range: expected 0 <= label < 3"):
            ops.softmax_xent_forward(logits, np.array([0, 1, 3, 2]))
        with pytest.raises(ValueError, match="out of range"):
            ops.softmax_xent_backward(logits, np.array([0, -1, 0, 0]))
        with pytest.raises(ValueError, match=r"expected shape \(4,\)"):
            ops.softmax_xent_forward(logits, np.array([0, 1]))
        with pytest.raises(ValueError, match="2 dimensions"):
            ops.softmax_xent_forward(np.zeros(4, np.float32), np.array([0]))
        with pytest.raises(ValueError, match="empty batch"):
            ops.softmax_xent_forward(np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
        with pytest.raises(TypeError, match="float32 or float64"):
            ops.softmax_xent_forward(logits.astype(np.float16), np.array([0, 1, 2, 0]))
        with pytest.raises(TypeError, match="integer class indices or float targets"):
            ops.softmax_xent_forward(logits, np.array(["a", "b", "c", "d"]))
        with pytest.raises(ValueError, match="float targets must have the shape"):
            ops.softmax_xent_forward(logits, np.zeros((4, 2), np.float32))


# ---- fused softmax + cross-entropy with a weight per sample -------------------------------------

def _weighted_inputs(shape, dtype, seed=0):
    logits, labels = _xent_inputs(shape, dtype, seed)
    weights = np.random.default_rng(seed + 100).random(shape[0]) * 3.0
    weights[::4] = 0.0
    return logits, labels, weights


def _direct_weighted(logits, t, w):
    """sum_n w[n] * cross-entropy of row n / N and its gradient, in float64."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = -(t * np.log(p)).sum(axis=1)
    n = len(w)
    return (w * rows).sum() / n, w[:, None] * (p * t.sum(axis=1, keepdims=True) - t) / n


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 10), (3, 1), (7, 3), (128, 10), (257, 17), (1000, 10), (4099, 5)])
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_weighted_xent_matches_reference(dtype, shape, threads):
    logits, labels, w = _weighted_inputs(shape, dtype)
    tol = DEFAULT_TOL[np.dtype(dtype)]
    soft = np.random.default_rng(5).random(shape).astype(dtype)
    soft /= soft.sum(axis=1, keepdims=True)
    for targets in (labels, np.eye(shape[1], dtype=dtype)[labels], soft):
        loss, probs = run_c(ops.softmax_xent_weighted_forward, logits, targets, w, threads=threads)
        ref_loss, ref_probs = run_numpy(ops.softmax_xent_weighted_forward, logits, targets, w)
        assert isinstance(loss, float) and probs.dtype == dtype
        assert_close(np.float64(loss), np.float64(ref_loss), tol=tol, name="loss")
        assert_close(probs, ref_probs, name="probs")
        d = run_c(ops.softmax_xent_weighted_backward, probs, targets, w, threads=threads)
        assert d.dtype == dtype
        assert_close(d, run_numpy(ops.softmax_xent_weighted_backward, ref_probs, targets, w), name="dlogits")
        t64 = np.eye(shape[1])[labels] if targets is labels else targets.astype(np.float64)
        want_loss, want_d = _direct_weighted(logits, t64, w)
        assert_close(np.float64(loss), np.float64(want_loss), tol=tol, name="direct loss")
        assert_close(d.astype(np.float64), want_d, tol=tol, name="direct dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
def test_weights_of_ones_are_the_unweighted_op(dtype):
    logits, labels, _ = _weighted_inputs((300, 7), dtype, seed=4)
    ones = np.ones(300)
    loss, probs = ops.softmax_xent_weighted_forward(logits, labels, ones)
    loss0, probs0 = ops.softmax_xent_forward(logits, labels)
    assert abs(loss - loss0) <= DEFAULT_TOL[np.dtype(dtype)] * loss0
    np.testing.assert_array_equal(probs, probs0)
    np.testing.assert_array_equal(ops.softmax_xent_weighted_backward(probs, labels, ones),
                                  ops.softmax_xent_backward(probs, labels))


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_xent_bit_identical_across_threads(dtype):
    logits, labels, w = _weighted_inputs((5000, 10), dtype, seed=3)
    outs = [run_c(ops.softmax_xent_weighted_forward, logits, labels, w, threads=t) for t in THREAD_COUNTS]
    assert_bit_identical([np.float64(o[0]) for o in outs], name="loss")
    assert_bit_identical([run_c(ops.softmax_xent_weighted_backward, o[1], labels, w, threads=t)
                          for o, t in zip(outs, THREAD_COUNTS)], name="dlogits")


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_weighted_xent_bad_weights(backend):
    logits, labels, w = _weighted_inputs((4, 3), np.float32)
    with cnet.use_backend(backend):
        for bad, match in ((w[:3], r"shape \(4,\)"), (np.array([1, 2, np.nan, 1.0]), "finite"),
                           (np.array(["a"] * 4), "real numbers")):
            for fn in (ops.softmax_xent_weighted_forward, reference.softmax_xent_weighted_forward):
                with pytest.raises(ValueError, match=match):
                    fn(logits, labels, bad)
            with pytest.raises(ValueError, match=match):
                ops.softmax_xent_weighted_backward(logits, labels, bad)
        with pytest.raises(ValueError, match="labels"):
            ops.softmax_xent_weighted_forward(logits, np.array([0, 1, 3, 0]), w)
        strided = ops.softmax_xent_weighted_forward(logits, labels, np.ones(8)[::2])   # any layout
        assert strided[0] == ops.softmax_xent_weighted_forward(logits, labels, np.ones(4))[0]


# ---- mean squared error ---------------------------------------------------------------------------

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
    assert_close(dy, run_numpy(ops.mse_backward, y, t), tol=0, name="dy")  # same float ops: exact


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
    assert_close(np.float64(losses[0]), np.float64(run_numpy(ops.mse_forward, y, t)), tol=1e-6)


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

@several_simd_paths
@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_bit_identical_across_simd_paths(dtype):
    """The mse sum (fixed chunked order, no FMA contraction) and its gradient are bit-identical on every
    SIMD path."""
    x, t = _x((13, 7001), dtype), _x((13, 7001), dtype, seed=1)
    for threads in (1, 3):
        assert_bit_identical([np.float64(on_path(p, ops.mse_forward, x, t, threads=threads)) for p in SIMD_PATHS],
                             "mse across paths")
        assert_bit_identical([on_path(p, ops.mse_backward, x, t, threads=threads) for p in SIMD_PATHS],
                             "mse dy across paths")
