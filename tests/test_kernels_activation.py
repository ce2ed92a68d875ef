"""C activation kernels (ReLU, sigmoid, tanh, softmax) against the NumPy reference: dtypes x thread counts
x awkward shapes on every SIMD path, thread-count invariance, in-place forms, bad inputs, and the SIMD
paths against each other."""
import numpy as np
import pytest

import cnet
from cnet import ops, reference
from helpers import (DTYPES, SIMD_PATHS, THREAD_COUNTS, assert_bit_identical, assert_close, on_path,
                     run_c, run_numpy, several_simd_paths)


# Tolerances relative to the output's scale (expf/tanhf of glibc and NumPy's SIMD ones may differ by
# an ulp or two; sums are taken in double by the kernels, in the dtype by the reference). ReLU is exact.
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}

# size 1, odd sizes, a last axis not a multiple of the vector width, above CNET_MIN_PARALLEL_WORK (32768)
SHAPES = [(1,), (7,), (3, 5), (2, 3, 4, 5), (64, 1031), (5, 40001)]
SOFTMAX_SHAPES = [(1,), (1, 1), (7, 3), (4, 1, 10), (128, 10), (300, 129), (3, 20001)]

# the element-wise activations: name -> (forward, backward)
ACTIVATIONS = {name: (getattr(ops, f"{name}_forward"), getattr(ops, f"{name}_backward"))
               for name in ("relu", "sigmoid", "tanh")}


def _x(shape, dtype, seed=0, scale=4.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def _tol(name, dtype):
    return 0 if name == "relu" else TOL[np.dtype(dtype)]


# ---- ReLU, sigmoid, tanh ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_activation_matches_reference(simd, name, dtype, shape, threads):
    fwd, bwd = ACTIVATIONS[name]
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1, scale=1.0)
    tol = _tol(name, dtype)
    y = run_c(fwd, x, threads=threads)
    assert y.dtype == dtype and y.shape == shape
    y_ref = run_numpy(fwd, x)
    assert_close(y, y_ref, tol=tol, name="y")
    dx = run_c(bwd, dy, y_ref, threads=threads)
    assert dx.dtype == dtype
    assert_close(dx, run_numpy(bwd, dy, y_ref), tol=tol, name="dx")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_thread_invariance_and_in_place(simd, name, dtype):
    fwd, bwd = ACTIVATIONS[name]
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
def test_relu_keeps_nan_like_the_reference(simd, dtype):
    x = np.array([np.nan, -1.0, 2.0, -np.inf, np.inf], dtype=dtype)
    y = run_c(ops.relu_forward, x)
    np.testing.assert_array_equal(y, run_numpy(ops.relu_forward, x))
    assert np.isnan(y[0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tanh_extremes(simd, dtype):
    big = np.finfo(dtype).max
    x = np.array([-big, -1000.0, -80.0, -1e-30, 0.0, 1e-30, 80.0, 1000.0, big, np.inf, -np.inf], dtype)
    with np.errstate(all="raise"):
        y = run_c(ops.sigmoid_forward, x)
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert_close(y, run_numpy(ops.sigmoid_forward, x), tol=TOL[np.dtype(dtype)])
    assert_close(run_c(ops.tanh_forward, x), np.tanh(x), tol=TOL[np.dtype(dtype)])


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
    assert_close(y, y_ref, tol=tol, name="y")
    dx = run_c(ops.softmax_backward, dy, y_ref, threads=threads)
    assert_close(dx, run_numpy(ops.softmax_backward, dy, y_ref), tol=tol, name="dx")


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
    assert_close(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]], tol=TOL[np.dtype(dtype)])


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


# ---- bad inputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name", list(ACTIVATIONS) + ["softmax"])
def test_activation_bad_inputs(backend, name):
    fwd, bwd = getattr(ops, f"{name}_forward"), getattr(ops, f"{name}_backward")
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
    assert_close(run_c(ops.relu_forward, x), np.maximum(x, 0), tol=0)
    assert_close(run_c(ops.sigmoid_forward, x), reference.sigmoid_forward(x), tol=1e-10)
    assert_close(run_c(ops.softmax_forward, x), reference.softmax_forward(x), tol=1e-10)


# ---- across SIMD paths -----------------------------------------------------------------------------

@several_simd_paths
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_bit_identical_across_simd_paths(dtype):
    x = np.random.default_rng(3).standard_normal((301, 257)).astype(dtype)
    x[0, :4] = [np.nan, -0.0, np.inf, -np.inf]
    ys = [on_path(p, ops.relu_forward, x, threads=3) for p in SIMD_PATHS]
    assert_bit_identical(ys, "relu across paths")
    assert_bit_identical([on_path(p, ops.relu_backward, x, ys[0], threads=3) for p in SIMD_PATHS], "relu dx")


@several_simd_paths
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_tanh_softmax_paths_agree(dtype):
    """sigmoid/tanh/softmax (own exp/expm1, FMA allowed on AVX2/AVX-512) agree within tolerance on every
    SIMD path, forward and backward."""
    x, dy = _x((13, 7001), dtype), _x((13, 7001), dtype, seed=1)
    tol = TOL[np.dtype(dtype)]
    for name in ("sigmoid", "tanh", "softmax"):
        fwd, bwd = getattr(ops, f"{name}_forward"), getattr(ops, f"{name}_backward")
        ys = [on_path(p, fwd, x) for p in SIMD_PATHS]
        dxs = [on_path(p, bwd, dy, ys[0]) for p in SIMD_PATHS]
        for p, y, dx in zip(SIMD_PATHS[1:], ys[1:], dxs[1:]):
            assert_close(y, ys[0], tol=tol, name=f"{fwd.__name__} {p} vs {SIMD_PATHS[0]}")
            assert_close(dx, dxs[0], tol=tol, name=f"{bwd.__name__} {p} vs {SIMD_PATHS[0]}")


# ---- activations with parameters (activation_param.c; backward from the input x) -------------------

PARAM_CASES = {   # name -> the parameter sets tested
    "elu": [(), (0.5, 1.0), (1.6732632423543772, 1.0507009873554805)],
    "leaky_relu": [(), (0.3,), (0.1, 0.5, 2.0), (0.0, 0.0, 6.0)],
    "softplus": [()], "softsign": [()], "hard_sigmoid": [()], "swish": [()],
    "gelu": [(False,), (True,)],
}
PARAM_TOL = {np.dtype(np.float32): 2e-6, np.dtype(np.float64): 1e-13}


def _param_ops_of(name):
    return getattr(ops, f"{name}_forward"), getattr(ops, f"{name}_backward")


@pytest.mark.parametrize("name", list(PARAM_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4, 5), (5, 40001)])
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_param_activation_matches_reference(name, dtype, shape, threads):
    fwd, bwd = _param_ops_of(name)
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1, scale=1.0)
    for params in PARAM_CASES[name]:
        y = run_c(fwd, x, *params, threads=threads)
        assert y.dtype == dtype and y.shape == shape
        assert_close(y, run_numpy(fwd, x, *params), tol=PARAM_TOL[np.dtype(dtype)], name=f"{name}{params} y")
        dx = run_c(bwd, dy, x, *params, threads=threads)
        assert_close(dx, run_numpy(bwd, dy, x, *params), tol=PARAM_TOL[np.dtype(dtype)],
                     name=f"{name}{params} dx")


@pytest.mark.parametrize("name", list(PARAM_CASES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_param_activation_thread_invariance_and_in_place(name, dtype):
    fwd, bwd = _param_ops_of(name)
    x, dy = _x((300, 301), dtype), _x((300, 301), dtype, seed=1)
    params = PARAM_CASES[name][-1]
    ys = [run_c(fwd, x, *params, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(ys, "y")
    assert_bit_identical([run_c(bwd, dy, x, *params, threads=t) for t in (1, 2, 3, 7)], "dx")
    z = x.copy()
    assert run_c(fwd, z, *params, out=z) is z
    assert_bit_identical([z, ys[0]], "in-place y")
    d = dy.copy()
    assert run_c(bwd, d, x, *params, out=d) is d
    assert_bit_identical([d, run_c(bwd, dy, x, *params)], "in-place dx")


@pytest.mark.parametrize("backend", ["c", "numpy"])
@pytest.mark.parametrize("name", list(PARAM_CASES))
def test_param_activation_derivative_by_finite_differences(backend, name):
    """The backward of both backends is the derivative of the forward (away from the kinks)."""
    fwd, bwd = _param_ops_of(name)
    x = _x((400,), np.float64, seed=5, scale=3.0)
    for params in PARAM_CASES[name]:
        kinks = [0.0, -2.5, 2.5] + [p for p in params if not isinstance(p, bool)]
        xs = x[np.min(np.abs(x[:, None] - np.array(kinks)[None, :]), axis=1) > 1e-3]
        h = 1e-6
        with cnet.use_backend(backend):
            num = (fwd(xs + h, *params) - fwd(xs - h, *params)) / (2 * h)
            got = bwd(np.ones_like(xs), xs, *params)
        assert_close(got, num, tol=1e-6, name=f"{name}{params} d/dx")


@pytest.mark.parametrize("dtype", DTYPES)
def test_param_activation_extremes(dtype):
    big = np.finfo(dtype).max
    x = np.array([-big, -1000.0, -80.0, -1e-30, 0.0, 1e-30, 80.0, 1000.0, big], dtype)
    for name in ("elu", "softplus", "softsign", "hard_sigmoid", "swish", "gelu"):
        fwd, bwd = _param_ops_of(name)
        with np.errstate(over="ignore", invalid="ignore"):
            y = run_c(fwd, x)
            dx = run_c(bwd, np.ones_like(x), x)
        assert np.all(np.isfinite(y[1:-1])) and np.all(np.isfinite(dx)), name
        assert_close(y[1:-1], run_numpy(fwd, x[1:-1]), tol=PARAM_TOL[np.dtype(dtype)], name=name)
    nan = np.array([np.nan, 1.0], dtype)
    assert np.isnan(run_c(ops.leaky_relu_forward, nan, 0.1, 0.0, 6.0)[0])


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_param_activation_bad_arguments(backend):
    x = np.ones((4, 5), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match="max_value .* must be >= threshold"):
            ops.leaky_relu_forward(x, 0.1, 2.0, 1.0)
        with pytest.raises(TypeError, match="alpha: expected a real number"):
            ops.elu_forward(x, "a")
        with pytest.raises(TypeError, match="unexpected keyword argument 'beta'"):
            ops.elu_forward(x, beta=1.0)
        with pytest.raises(TypeError, match="at most 1 parameters"):
            ops.gelu_forward(x, True, 2)
        with pytest.raises(ValueError, match="dy and x must have the same shape"):
            ops.swish_backward(x, np.ones((4, 6), np.float32))
        with pytest.raises(TypeError, match="expected dtype float32"):
            ops.softplus_backward(x, np.ones((4, 5), np.float64))


# ---- PReLU -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (33, 65), (130, 129), (3000, 17)])
@pytest.mark.parametrize("threads", THREAD_COUNTS)
def test_prelu_matches_reference(dtype, shape, threads):
    x, dy = _x(shape, dtype), _x(shape, dtype, seed=1, scale=1.0)
    alpha = np.random.default_rng(2).uniform(-0.5, 0.5, shape[1]).astype(dtype)
    tol = TOL[np.dtype(dtype)]
    y = run_c(ops.prelu_forward, x, alpha, threads=threads)
    assert_close(y, run_numpy(ops.prelu_forward, x, alpha), tol=0, name="y")
    dx, da = run_c(ops.prelu_backward, dy, x, alpha, threads=threads)
    dx_ref, da_ref = run_numpy(ops.prelu_backward, dy, x, alpha)
    assert_close(dx, dx_ref, tol=0, name="dx")
    assert_close(da, da_ref, tol=tol * max(1, shape[0] / 100), name="dalpha")
    none, da2 = run_c(ops.prelu_backward, dy, x, alpha, need_dx=False, threads=threads)
    assert none is None
    assert_bit_identical([da2, da], "dalpha without dx")


@pytest.mark.parametrize("dtype", DTYPES)
def test_prelu_thread_invariance_and_outputs(dtype):
    x, dy = _x((2001, 130), dtype), _x((2001, 130), dtype, seed=1)
    alpha = np.full(130, 0.25, dtype)
    outs = [run_c(ops.prelu_backward, dy, x, alpha, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(outs, "prelu backward")
    dx, da = np.empty_like(dy), np.empty_like(alpha)
    got = run_c(ops.prelu_backward, dy, x, alpha, out=(dx, da))
    assert got[0] is dx and got[1] is da
    assert_bit_identical([(dx, da), outs[0]], "into out")


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_prelu_bad_inputs(backend):
    x = np.ones((4, 5), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"alpha has shape \(4,\).*expected \(5,\)"):
            ops.prelu_forward(x, np.ones(4, np.float32))
        with pytest.raises(ValueError, match="expected 2 dimensions"):
            ops.prelu_forward(np.ones((2, 3, 4), np.float32), np.ones(4, np.float32))
        with pytest.raises(TypeError, match="expected dtype float32"):
            ops.prelu_backward(x, x, np.ones(5, np.float64))
