"""C optimizer updates against the NumPy reference: trajectories of several steps over dtypes x thread
counts x shapes (with and without weight decay), thread-count invariance, the bitmask of non-finite arrays
each update returns, and bad inputs."""
import numpy as np
import pytest

import cnet
from cnet import ops, reference
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path, run_c,
                     run_numpy, several_simd_paths)


TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

# name: (op, state array names, hyperparameters after the state)
OPTIMIZERS = {
    "sgd": (ops.sgd_update, (), dict(lr=0.1)),
    "momentum": (ops.momentum_update, ("v",), dict(lr=0.1, momentum=0.9)),
    "nesterov": (ops.nesterov_update, ("v",), dict(lr=0.1, momentum=0.9)),
    "adagrad": (ops.adagrad_update, ("h",), dict(lr=0.05, eps=1e-7)),
    "rmsprop": (ops.rmsprop_update, ("h",), dict(lr=0.01, rho=0.9, eps=1e-7)),
    "adam": (ops.adam_update, ("m", "v"), dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7)),
    "adadelta": (ops.adadelta_update, ("h", "d"), dict(lr=1.0, rho=0.95, eps=1e-6)),
    "adamax": (ops.adamax_update, ("m", "u"), dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7)),
    "nadam": (ops.nadam_update, ("m", "v"), dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7)),
}
STEP_COUNTED = ("adam", "adamax", "nadam")


def _step_args(name, step):
    """The step count (and Nadam's momentum schedule, made up but step-dependent) of update `step`."""
    if name not in STEP_COUNTED:
        return {}
    if name == "nadam":
        mu = [0.9 * (1 - 0.5 * 0.96 ** (t * 0.004)) for t in range(1, step + 2)]
        return dict(t=step, mu_t=mu[-2], mu_next=mu[-1], m_schedule=float(np.prod(mu[:-1])))
    return dict(t=step)
# size 1, odd sizes, the Keras MNIST convnet's small arrays, above CNET_MIN_PARALLEL_WORK
SHAPES = [(1,), (7,), (3, 5), (32, 1, 3, 3), (128, 10), (300, 301)]
STEPS = 4


def _trajectory(run, name, shape, dtype, weight_decay, threads=None):
    """p and the state after STEPS updates (fresh gradients each step) run by `run` (run_c/run_numpy)."""
    op, state_names, hyper = OPTIMIZERS[name]
    r = np.random.default_rng(0)
    p = r.standard_normal(shape).astype(dtype)
    state = [np.zeros(shape, dtype) for _ in state_names]
    for step in range(1, STEPS + 1):
        g = r.standard_normal(shape).astype(dtype)
        kwargs = dict(hyper, weight_decay=weight_decay, **_step_args(name, step))
        args = (p, g, *state)
        if threads is None:
            assert run(op, *args, **kwargs) == 0          # every array finite
        else:
            assert run(op, *args, threads=threads, **kwargs) == 0
    return (p, *state)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_update_trajectory_matches_reference(name, dtype, shape, threads):
    tol = TOL[np.dtype(dtype)]
    for wd in (0.0, 1e-2):
        got = _trajectory(run_c, name, shape, dtype, wd, threads=threads)
        expected = _trajectory(run_numpy, name, shape, dtype, wd)
        for k, (a, b) in enumerate(zip(got, expected)):
            assert a.dtype == dtype
            assert_close(a, b, tol=tol, name=f"{name} wd={wd} array {k}")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_update_bit_identical_across_threads(simd, name, dtype):
    results = [_trajectory(run_c, name, (400, 301), dtype, 1e-3, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(results, name)


def test_weight_decay_zero_does_not_touch_infinite_parameters():
    # With weight_decay == 0, p is not multiplied by 0 (which would turn inf into NaN), as in the reference.
    p = np.array([np.inf, 1.0], np.float32)
    run_c(ops.sgd_update, p, np.zeros(2, np.float32), 0.1)
    assert p[0] == np.inf and p[1] == 1.0


def test_noncontiguous_gradient_is_copied():
    r = np.random.default_rng(1)
    g = r.standard_normal((10, 20))[:, ::2]
    p, p_ref = np.ones((10, 10)), np.ones((10, 10))
    m, v, m_ref, v_ref = (np.zeros((10, 10)) for _ in range(4))
    run_c(ops.adam_update, p, g, m, v, 0.01, 0.9, 0.999, 1e-7, 1)
    run_numpy(ops.adam_update, p_ref, g, m_ref, v_ref, 0.01, 0.9, 0.999, 1e-7, 1)
    for a, b in ((p, p_ref), (m, m_ref), (v, v_ref)):
        assert_close(a, b, tol=1e-10)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_update_bad_inputs(backend):
    p = np.ones((4, 6), np.float32)
    g = np.ones((4, 6), np.float32)
    with cnet.use_backend(backend):
        # the parameter and the state are updated in place: never silently a copy
        with pytest.raises(ValueError, match="p: it is updated in place, so it must be C-contiguous"):
            ops.sgd_update(np.ones((6, 4), np.float32).T, g, 0.1)
        ro = np.ones((4, 6), np.float32)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="p: it is updated in place, so it must be writable"):
            ops.sgd_update(ro, g, 0.1)
        with pytest.raises(ValueError, match="v: it is updated in place, so it must be C-contiguous"):
            ops.momentum_update(p, g, np.zeros((4, 12), np.float32)[:, ::2], 0.1, 0.9)
        with pytest.raises(ValueError, match="d: it is updated in place, so it must be writable"):
            ops.adadelta_update(p, g, np.zeros_like(p), ro, 1.0, 0.95, 1e-6)
        with pytest.raises(TypeError, match="p: expected a numpy.ndarray"):
            ops.sgd_update([1.0, 2.0], [1.0, 2.0], 0.1)
        with pytest.raises(TypeError, match="p: expected dtype float32 or float64"):
            ops.sgd_update(np.ones(3, np.int64), np.ones(3, np.int64), 0.1)
        with pytest.raises(ValueError, match=r"h: expected the shape and dtype of p, \(4, 6\) float32, "
                                             r"got \(4, 5\) float32"):
            ops.adagrad_update(p, g, np.zeros((4, 5), np.float32), 0.1, 1e-7)
        with pytest.raises(ValueError, match="m: expected the shape and dtype of p.*float64"):
            ops.adam_update(p, g, np.zeros((4, 6)), np.zeros_like(p), 0.01, 0.9, 0.999, 1e-7, 1)
        with pytest.raises(ValueError, match="g: expected the shape and dtype of p"):
            ops.sgd_update(p, g.astype(np.float64), 0.1)
        with pytest.raises(TypeError, match="g: expected a numpy.ndarray"):
            ops.sgd_update(p, 1.0, 0.1)
        with pytest.raises(ValueError, match="p and v share memory"):
            ops.momentum_update(p, g, p, 0.1, 0.9)
        with pytest.raises(ValueError, match="m and v share memory"):
            m = np.zeros_like(p)
            ops.adam_update(p, g, m, m, 0.01, 0.9, 0.999, 1e-7, 1)
        with pytest.raises(ValueError, match="Adam's step count t starts at 1, got 0"):
            ops.adam_update(p, g, np.zeros_like(p), np.zeros_like(p), 0.01, 0.9, 0.999, 1e-7, 0)
        with pytest.raises(TypeError, match="t: expected an integer step count"):
            ops.adam_update(p, g, np.zeros_like(p), np.zeros_like(p), 0.01, 0.9, 0.999, 1e-7, 1.5)
        with pytest.raises(ValueError, match="beta2: expected a finite number 0.0 <= beta2 < 1.0, got 1.0"):
            ops.adam_update(p, g, np.zeros_like(p), np.zeros_like(p), 0.01, 0.9, 1.0, 1e-7, 1)
        with pytest.raises(TypeError, match="lr: expected a real number"):
            ops.sgd_update(p, g, "0.1")
        with pytest.raises(ValueError, match="lr: expected a finite number"):
            ops.sgd_update(p, g, float("nan"))
        with pytest.raises(TypeError, match="weight_decay: expected a real number"):
            ops.sgd_update(p, g, 0.1, weight_decay=None)
    np.testing.assert_array_equal(p, 1.0)   # no failed call touched p


@several_simd_paths
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_update_bit_identical_across_simd_paths(name, dtype):
    """No FMA contraction in the optimizer kernels: every path rounds as the scalar code does. (So the
    reference comparison above, run on the default path, holds on every path.)"""
    for wd in (0.0, 1e-3):
        results = [on_path(p, _trajectory, run_c, name, (97, 301), dtype, wd, threads=2) for p in SIMD_PATHS]
        assert_bit_identical(results, f"{name} wd={wd} across paths")


# ---- the report of non-finite arrays ---------------------------------------------------------------

def _poisoned(name, size, dtype, where, value, seed=3):
    """p, g and the state of `name` (size elements), with `value` put at index size // 2 of the array
    `where` (0 p, 1 g, 2 and 3 the state arrays)."""
    r = np.random.default_rng(seed)
    p, g = r.standard_normal(size).astype(dtype), r.standard_normal(size).astype(dtype)
    state = [np.abs(r.standard_normal(size)).astype(dtype) for _ in OPTIMIZERS[name][1]]
    arrays = [p, g, *state]
    arrays[where][size // 2] = value
    return arrays


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_update_reports_the_arrays_it_left_non_finite(name, dtype):
    """The C kernels find NaN and Inf in their own pass; the mask equals the reference's np.isfinite
    report, for any thread count and on both sides of the parallel threshold."""
    op, state_names, hyper = OPTIMIZERS[name]
    kwargs = dict(hyper, **_step_args(name, 2))
    for size in (5, 70001):
        for where in range(2 + len(state_names)):
            for value in (np.inf, -np.inf, np.nan):
                ref = _poisoned(name, size, dtype, where, value)
                with np.errstate(all="ignore"):
                    want = run_numpy(op, *ref, **kwargs)
                expected = sum((not np.isfinite(a).all()) << i for i, a in enumerate([ref[0]] + ref[2:]))
                assert want == expected     # (Adamax heals u = -inf: max(-inf, |g|))
                for threads in (1, 2, 3, 7):
                    got = _poisoned(name, size, dtype, where, value)
                    assert run_c(op, *got, threads=threads, **kwargs) == want, (size, where, value, threads)
                    assert_bit_identical([got, ref], f"{name} poisoned array {where} with {value}")


def test_adamax_keeps_numpy_maximum_nan_rule():
    """u = max(beta2*u, |g|) is NaN when either side is (np.maximum), never the other operand (fmax)."""
    for where, mask in ((1, 0b111), (3, 0b101)):     # g NaN: p, m and u; u NaN: p and u
        want = _poisoned("adamax", 9, np.float64, where, np.nan)
        got = _poisoned("adamax", 9, np.float64, where, np.nan)
        with np.errstate(all="ignore"):
            assert run_numpy(ops.adamax_update, *want, 0.01, 0.9, 0.999, 1e-7, 1) == mask
        assert run_c(ops.adamax_update, *got, 0.01, 0.9, 0.999, 1e-7, 1) == mask
        assert np.isnan(got[3][4]) and np.isnan(got[0][4])
        assert_bit_identical([got, want], "adamax NaN")


def test_keras2_update_bad_inputs():
    p, g, m, s = (np.ones(3) for _ in range(4))
    with pytest.raises(ValueError, match="Adamax's step count t starts at 1, got 0"):
        ops.adamax_update(p, g, m, s, 0.01, 0.9, 0.999, 1e-7, 0)
    with pytest.raises(TypeError, match="t: expected an integer step count"):
        ops.nadam_update(p, g, m, s, 0.01, 0.9, 0.999, 1e-7, 1.5, 0.4, 0.4, 0.4)
    with pytest.raises(ValueError, match="beta1: expected a finite number"):
        ops.adamax_update(p, g, m, s, 0.01, 1.0, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="mu_next: expected a finite number"):
        ops.nadam_update(p, g, m, s, 0.01, 0.9, 0.999, 1e-7, 1, 0.4, 1.5, 0.4)
    with pytest.raises(ValueError, match="u: expected the shape and dtype of p"):
        ops.adamax_update(p, g, m, np.zeros(4), 0.01, 0.9, 0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="m and v share memory"):
        ops.nadam_update(p, g, m, m, 0.01, 0.9, 0.999, 1e-7, 1, 0.4, 0.4, 0.4)
