"""The ops of cnet/_ops_more.py (issue 15): the weighted fused softmax cross-entropy, C path against the
NumPy reference and a direct NumPy computation; Adamax and Nadam updates on both backends against the
reference; bad inputs."""
import numpy as np
import pytest

from cnet import ops, reference
from helpers import DTYPES, RTOL, THREAD_COUNTS, assert_bit_identical, assert_close, run_c, run_numpy

SHAPES = [(1, 10), (3, 1), (7, 3), (128, 10), (257, 17), (1000, 10), (4099, 5)]


def _inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    logits = (3.0 * rng.standard_normal(shape)).astype(dtype)
    labels = rng.integers(0, shape[1], size=shape[0])
    weights = rng.random(shape[0]) * 3.0
    weights[::4] = 0.0
    return logits, labels, weights


def _direct(logits, t, w):
    """sum_n w[n] * cross-entropy of row n / N and its gradient, in float64."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = -(t * np.log(p)).sum(axis=1)
    n = len(w)
    return (w * rows).sum() / n, w[:, None] * (p * t.sum(axis=1, keepdims=True) - t) / n


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_weighted_xent_matches_reference(dtype, shape, threads):
    logits, labels, w = _inputs(shape, dtype)
    for targets in (labels, np.eye(shape[1], dtype=dtype)[labels]):
        loss, probs = run_c(ops.softmax_xent_weighted_forward, logits, targets, w, threads=threads)
        ref_loss, ref_probs = run_numpy(ops.softmax_xent_weighted_forward, logits, targets, w)
        assert isinstance(loss, float) and probs.dtype == dtype
        assert_close(np.float64(loss), np.float64(ref_loss), rtol=RTOL[np.dtype(dtype)], name="loss")
        assert_close(probs, ref_probs, name="probs")
        d = run_c(ops.softmax_xent_weighted_backward, probs, targets, w, threads=threads)
        assert d.dtype == dtype
        assert_close(d, run_numpy(ops.softmax_xent_weighted_backward, ref_probs, targets, w), name="dlogits")
        want_loss, want_d = _direct(logits, np.eye(shape[1])[labels], w)
        assert_close(np.float64(loss), np.float64(want_loss), rtol=RTOL[np.dtype(dtype)], name="direct loss")
        assert_close(d.astype(np.float64), want_d, rtol=RTOL[np.dtype(dtype)], name="direct dlogits")


@pytest.mark.parametrize("dtype", DTYPES)
def test_weights_of_ones_are_the_unweighted_op(dtype):
    logits, labels, _ = _inputs((300, 7), dtype, seed=4)
    ones = np.ones(300)
    loss, probs = ops.softmax_xent_weighted_forward(logits, labels, ones)
    loss0, probs0 = ops.softmax_xent_forward(logits, labels)
    assert abs(loss - loss0) <= RTOL[np.dtype(dtype)] * loss0
    np.testing.assert_array_equal(probs, probs0)
    np.testing.assert_array_equal(ops.softmax_xent_weighted_backward(probs, labels, ones),
                                  ops.softmax_xent_backward(probs, labels))


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_xent_bit_identical_across_threads(dtype):
    logits, labels, w = _inputs((5000, 10), dtype, seed=3)
    outs = [run_c(ops.softmax_xent_weighted_forward, logits, labels, w, threads=t) for t in THREAD_COUNTS]
    assert_bit_identical([np.float64(o[0]) for o in outs], name="loss")
    assert_bit_identical([run_c(ops.softmax_xent_weighted_backward, o[1], labels, w, threads=t)
                          for o, t in zip(outs, THREAD_COUNTS)], name="dlogits")


def test_weighted_xent_bad_weights():
    logits, labels, w = _inputs((4, 3), np.float32)
    for bad, match in ((w[:3], r"shape \(4,\)"), (np.array([1, 2, np.nan, 1.0]), "finite"),
                       (np.array(["a"] * 4), "real numbers")):
        for fn in (ops.softmax_xent_weighted_forward, reference.softmax_xent_weighted_forward):
            with pytest.raises(ValueError, match=match):
                fn(logits, labels, bad)
    with pytest.raises(ValueError, match="labels"):
        ops.softmax_xent_weighted_forward(logits, np.array([0, 1, 3, 0]), w)


# ---- Adamax and Nadam ---------------------------------------------------------------------------------

def _opt_inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    p, g, m, s = (np.array(rng.standard_normal(shape), dtype=dtype) for _ in range(4))
    m *= 0.1
    return p, g, m, np.abs(s, out=s)


UPDATES = {
    "adamax": (ops.adamax_update, reference.adamax_update, (0.01, 0.9, 0.999, 1e-7, 3, 0.01)),
    "nadam": (ops.nadam_update, reference.nadam_update, (0.01, 0.9, 0.999, 1e-7, 3, 0.45, 0.451, 0.09, 0.01)),
}


@pytest.mark.parametrize("name", sorted(UPDATES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (33, 5), (2, 3, 4, 5)])
def test_updates_match_reference_on_both_backends(name, dtype, shape):
    op, ref, args = UPDATES[name]
    want = _opt_inputs(shape, dtype)
    ref(*want[:1], want[1], *want[2:], *args)
    for runner in (run_c, run_numpy):
        got = _opt_inputs(shape, dtype)
        runner(op, got[0], got[1], got[2], got[3], *args)
        for a, b, what in zip(got, want, ("p", "g", "m", "state")):
            assert_close(a, b, name=what)


def test_update_bad_inputs():
    p, g, m, s = _opt_inputs((3,), np.float64)
    with pytest.raises(ValueError, match="step count"):
        ops.adamax_update(p, g, m, s, 0.01, 0.9, 0.999, 1e-7, 0)
    with pytest.raises(TypeError, match="integer step count"):
        ops.nadam_update(p, g, m, s, 0.01, 0.9, 0.999, 1e-7, 1.5, 0.4, 0.4, 0.4)
    with pytest.raises(ValueError, match="beta1"):
        ops.adamax_update(p, g, m, s, 0.01, 1.0, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="u"):
        ops.adamax_update(p, g, m, np.zeros(4), 0.01, 0.9, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="share memory"):
        ops.nadam_update(p, g, m, m, 0.01, 0.9, 0.999, 1e-7, 1, 0.4, 0.4, 0.4)
