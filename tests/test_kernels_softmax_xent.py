"""Fused softmax cross-entropy: C kernel against the NumPy reference, and its bad inputs."""
import numpy as np
import pytest

import cnet
from cnet import ops
from helpers import DTYPES, RTOL, THREAD_COUNTS, assert_bit_identical, assert_close, run_c, run_numpy

# (N, L): batch 1, odd sizes, more rows than one reduction chunk (256), wide rows
SHAPES = [(1, 10), (3, 1), (7, 3), (128, 10), (257, 17), (1000, 10), (33, 1000), (4099, 5)]


def _inputs(shape, dtype, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    logits = (scale * rng.standard_normal(shape)).astype(dtype)
    labels = rng.integers(0, shape[1], size=shape[0])
    return logits, labels


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_matches_reference_int_labels(dtype, shape, threads):
    logits, labels = _inputs(shape, dtype)
    loss, probs = run_c(ops.softmax_xent_forward, logits, labels, threads=threads)
    ref_loss, ref_probs = run_numpy(ops.softmax_xent_forward, logits, labels)
    assert isinstance(loss, float) and probs.dtype == dtype
    assert_close(np.float64(loss), np.float64(ref_loss), rtol=RTOL[np.dtype(dtype)], name="loss")
    assert_close(probs, ref_probs, name="probs")
    d = run_c(ops.softmax_xent_backward, probs, labels, threads=threads)
    assert d.dtype == dtype
    assert_close(d, run_numpy(ops.softmax_xent_backward, ref_probs, labels), name="dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 10), (7, 3), (300, 10)])
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_matches_reference_dense_targets(dtype, shape, threads):
    logits, labels = _inputs(shape, dtype, seed=1)
    rng = np.random.default_rng(2)
    soft = rng.random(shape).astype(dtype)
    soft /= soft.sum(axis=1, keepdims=True)
    onehot = np.eye(shape[1], dtype=dtype)[labels]
    for targets in (onehot, soft, 2 * soft):  # the last does not sum to one: the exact gradient still holds
        loss, probs = run_c(ops.softmax_xent_forward, logits, targets, threads=threads)
        ref_loss, ref_probs = run_numpy(ops.softmax_xent_forward, logits, targets)
        assert_close(np.float64(loss), np.float64(ref_loss), rtol=RTOL[np.dtype(dtype)], name="loss")
        assert_close(probs, ref_probs, name="probs")
        assert_close(run_c(ops.softmax_xent_backward, probs, targets, threads=threads),
                     run_numpy(ops.softmax_xent_backward, ref_probs, targets), name="dlogits")
    # one-hot targets and class indices are the same loss
    loss_i, _ = run_c(ops.softmax_xent_forward, logits, labels)
    loss_t, _ = run_c(ops.softmax_xent_forward, logits, onehot)
    assert abs(loss_i - loss_t) <= 1e-6 * max(1, abs(loss_i))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_across_threads(dtype):
    logits, labels = _inputs((5000, 10), dtype, seed=3)
    results = []
    for t in (1, 2, 3, 7):
        loss, probs = run_c(ops.softmax_xent_forward, logits, labels, threads=t)
        results.append((np.float64(loss), probs, run_c(ops.softmax_xent_backward, probs, labels, threads=t)))
    assert_bit_identical(results, "softmax_xent")


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_logits_stay_finite(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-3e38, 3e38, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    labels = np.array([1, 0, 2])
    loss, probs = run_c(ops.softmax_xent_forward, logits, labels)
    assert np.isfinite(loss) and np.all(np.isfinite(probs))
    ref_loss, _ = run_numpy(ops.softmax_xent_forward, logits, labels)
    assert_close(np.float64(loss), np.float64(ref_loss), rtol=RTOL[np.dtype(dtype)], name="loss")
    assert np.all(np.isfinite(run_c(ops.softmax_xent_backward, probs, labels)))


def test_gradient_near_certainty_does_not_cancel():
    # p[label] close to 1: the gradient there is tiny and must keep its relative accuracy in float32
    logits = np.array([[20.0, 0.0, 0.0]], np.float32)
    loss, probs = run_c(ops.softmax_xent_forward, logits, np.array([0]))
    d = run_c(ops.softmax_xent_backward, probs, np.array([0]))
    expected = probs[0, 0].astype(np.float64) - 1.0
    assert abs(d[0, 0] - expected) <= 1e-6 * abs(expected)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_bad_inputs(backend):
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
