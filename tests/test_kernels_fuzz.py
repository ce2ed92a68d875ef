"""Property-based robustness of the ops: no input crashes the interpreter (runs under the sanitizers too).

Every public op of cnet.ops is driven, on both backends, with random shapes (0-sized included), dtypes
(int, bool, float16, complex, object), memory layouts (non-contiguous, negative strides, read-only,
Fortran order, zero-stride broadcasts), NaN/Inf values and mismatched arguments. Each case must end in a
result or in TypeError/ValueError/MemoryError/NotImplementedError with a message, and the two backends
must agree on which (their checks are shared) -- and on the result, within rounding, when the inputs are
finite and moderate (see `agree`). Shapes are small, except in the dedicated huge-shape tests, which must
be refused before anything is allocated. Layers, losses, optimizers and models: tests/test_fuzz.py.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cnet
from cnet import ops
from helpers import assert_close

ALLOWED = (TypeError, ValueError, MemoryError, NotImplementedError)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True, database=None)

FLOATS = [np.float32, np.float64]
ODD_DTYPES = [np.float16, np.int32, np.int64, np.uint8, np.bool_, np.complex64, object]


# ---- outcome of a call, and the two backends against each other ----------------------------------

def call(fn, *args, messages=None, **kwargs):
    """('ok', the result) or (the exception class, None); any exception outside ALLOWED (or without a
    message) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = fn(*args, **kwargs)
        except ALLOWED as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message from {fn.__name__}"
            if messages is not None:
                messages.append(str(exc))
            return type(exc), None
    if messages is not None:
        messages.append("")
    return "ok", result


def outcome(fn, *args, messages=None, **kwargs):
    """'ok' or the exception class (see call)."""
    return call(fn, *args, messages=messages, **kwargs)[0]


# Inputs up to this magnitude (and finite): the two backends then differ by rounding only. Beyond it
# (or with NaN/Inf) they may overflow in different places (float64 vs float32 sums, another order).
TAME = 1e6
# Tolerances of the comparison (assert_close's: relative to the largest magnitude), by the least precise
# float dtype among the inputs and results: rounding differences grow through a few operations.
AGREE_TOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def _leaves(value):
    """The arrays and numbers in a (nested) result or argument list."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def tame(*values):
    """True when every float array and real number among values is finite and at most TAME in magnitude."""
    for v in _leaves(values):
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size:
            with np.errstate(all="ignore"):
                if not (np.all(np.isfinite(v)) and np.max(np.abs(v)) <= TAME):
                    return False
        elif isinstance(v, (float, np.floating)) and not (math.isfinite(v) and abs(v) <= TAME):
            return False
    return True


def agree(c_value, numpy_value, name="result", inputs=(), tol=None):
    """Assert that the C backend's result and the NumPy backend's are the same: the same structure, NaN
    and infinities in the same places, the finite values within tol (default: AGREE_TOL of the least
    precise float dtype among the results and the inputs they came from), integer arrays equal."""
    if tol is None:
        dtypes = [v.dtype for v in _leaves((c_value, numpy_value, inputs)) if isinstance(v, np.ndarray)]
        dtypes += [np.dtype(np.float64) for v in _leaves((c_value, numpy_value)) if isinstance(v, float)]
        tol = max((AGREE_TOL[d] for d in dtypes if d in AGREE_TOL), default=0)
    if isinstance(c_value, dict):
        assert isinstance(numpy_value, dict) and c_value.keys() == numpy_value.keys(), name
        c_value, numpy_value = list(c_value.values()), list(numpy_value.values())
    if isinstance(c_value, (tuple, list)):
        assert isinstance(numpy_value, (tuple, list)) and len(c_value) == len(numpy_value), (
            f"{name}: C backend {c_value!r}, NumPy backend {numpy_value!r}")
        for i, (a, b) in enumerate(zip(c_value, numpy_value)):
            agree(a, b, f"{name}[{i}]", tol=tol)
        return
    if c_value is None or numpy_value is None:
        assert c_value is None and numpy_value is None, f"{name}: C {c_value!r}, NumPy {numpy_value!r}"
        return
    a, b = np.asarray(c_value), np.asarray(numpy_value)
    assert a.shape == b.shape and a.dtype == b.dtype, (
        f"{name}: C backend {a.dtype} {a.shape}, NumPy backend {b.dtype} {b.shape}")
    if a.dtype.kind != "f":
        np.testing.assert_array_equal(a, b, err_msg=name)
        return
    for special in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(special(a), special(b), err_msg=f"{name}: {special.__name__} differs")
    finite = np.isfinite(a)
    assert_close(a[finite], b[finite], tol=tol, name=f"{name}, C backend vs NumPy backend")


def _snapshot(value):
    """value with every array in it copied (a result may be an input updated in place)."""
    if isinstance(value, (tuple, list)):
        return type(value)(_snapshot(v) for v in value)
    return value.copy() if isinstance(value, np.ndarray) else value


def both_backends(fn, *args, **kwargs):
    """Run fn on each backend, from the same inputs (the arrays it may update in place are restored
    before each run and after the last, their layout kept); the outcomes must agree, and with tame inputs
    the results and the arrays updated in place too. Returns the outcome."""
    written = list({id(x): x for x in list(args) + list(kwargs.values())
                    if isinstance(x, np.ndarray) and x.flags.writeable}.values())
    saved = [x.copy() for x in written]
    results, messages, values = [], [], []
    try:
        for backend in ("c", "numpy"):
            for x, x0 in zip(written, saved):
                np.copyto(x, x0)
            with cnet.use_backend(backend):
                kind, value = call(fn, *args, messages=messages, **kwargs)
            results.append(kind)
            values.append(_snapshot((value, written)))
    finally:
        for x, x0 in zip(written, saved):
            np.copyto(x, x0)
    assert results[0] == results[1], (f"{fn.__name__}: C backend -> {results[0]} {messages[0]!r}, "
                                      f"NumPy -> {results[1]} {messages[1]!r}")
    if results[0] == "ok" and tame(args, kwargs):
        agree(values[0], values[1], fn.__name__, inputs=(args, kwargs))
    return results[0]


def test_both_backends_catches_a_disagreement(monkeypatch):
    """The comparison can fail: a C implementation off by more than rounding, or with NaN in another
    place than the reference, is reported (the outcomes alone would agree)."""
    x = np.linspace(-1, 1, 9, dtype=np.float32)
    assert both_backends(ops.relu_forward, x) == "ok"
    c_impls = ops._table._IMPLS["c"]
    monkeypatch.setitem(c_impls, "relu_forward", lambda x, out: np.maximum(x, 0) * np.float32(1.01))
    with pytest.raises(AssertionError, match="C backend vs NumPy backend"):
        both_backends(ops.relu_forward, x)
    monkeypatch.setitem(c_impls, "relu_forward", lambda x, out: np.where(x > 0.9, np.nan, np.maximum(x, 0)))
    with pytest.raises(AssertionError, match="isnan differs"):
        both_backends(ops.relu_forward, x)


# ---- strategies ---------------------------------------------------------------------------------

VALUES = st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e-30, 3e38, -3e38, np.nan, np.inf, -np.inf, 88.0, -1e4])


@st.composite
def layouts(draw, arr):
    """The same values in an awkward memory layout (or left alone)."""
    kind = draw(st.sampled_from(["plain", "plain", "plain", "noncontig", "reversed", "readonly",
                                 "fortran"]))
    if kind == "noncontig" and arr.ndim:
        big = np.repeat(arr, 2, axis=-1)
        return big[..., ::2]
    if kind == "reversed" and arr.ndim:
        return np.ascontiguousarray(arr[::-1])[::-1]
    if kind == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
        return arr
    if kind == "fortran":
        return np.asfortranarray(arr)
    return arr


@st.composite
def arrays(draw, shape, dtype=None, odd=0.15, special=0.2):
    """An array of `shape` (perturbed now and then) with mostly finite values, sometimes NaN/Inf, an odd
    dtype or an awkward layout."""
    shape = tuple(shape)
    if draw(st.floats(0, 1)) < 0.08:
        shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    if dtype is None or draw(st.floats(0, 1)) < odd:
        dtype = draw(st.sampled_from(FLOATS + ODD_DTYPES if dtype is None or odd else FLOATS))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    a = np.asarray(rng.standard_normal(shape)) * draw(st.sampled_from([1.0, 10.0, 1e3]))
    if a.size and draw(st.floats(0, 1)) < special:
        flat = a.reshape(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, a.size - 1))] = draw(VALUES)
    if dtype is object:
        return np.array(a, dtype=object)
    with np.errstate(all="ignore"):
        a = np.asarray(a).astype(dtype)
    return draw(layouts(a))


def dims(lo=0, hi=4):
    return st.integers(lo, hi)


def reals():
    return st.one_of(st.floats(-2, 2), st.sampled_from([0.0, 1.0, np.nan, np.inf, -1.0, 1e300]),
                     st.sampled_from(["0.1", None, True, np.float32(0.5), 3]))


def seeds():
    return st.one_of(st.integers(0, 2 ** 64 - 1), st.sampled_from([-1, 2 ** 64, 1.5, "1", None, True]))


# ---- element-wise ops ---------------------------------------------------------------------------

UNARY = ["relu_forward", "sigmoid_forward", "tanh_forward", "softmax_forward"]
BINARY = ["relu_backward", "sigmoid_backward", "tanh_backward", "softmax_backward", "dropout_backward",
          "mse_forward", "mse_backward"]


@pytest.mark.parametrize("name", UNARY)
@FUZZ
@given(data=st.data())
def test_unary_ops(name, data):
    shape = data.draw(st.lists(dims(0, 5), min_size=0, max_size=4), label="shape")
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays(shape, dtype), label="x")
    fn = getattr(ops, name)
    both_backends(fn, x)
    if data.draw(st.booleans()):   # an out= argument: right, wrong shape/dtype, read-only or x itself
        out = data.draw(st.one_of(arrays(np.shape(x), x.dtype), st.just(x), st.just([0.0])), label="out")
        both_backends(fn, x, out=out)


@pytest.mark.parametrize("name", BINARY)
@FUZZ
@given(data=st.data())
def test_binary_ops(name, data):
    shape = data.draw(st.lists(dims(0, 5), min_size=0, max_size=4), label="shape")
    dtype = data.draw(st.sampled_from(FLOATS))
    a = data.draw(arrays(shape, dtype), label="a")
    b = data.draw(arrays(shape, dtype), label="b")
    both_backends(getattr(ops, name), a, b)


@FUZZ
@given(data=st.data())
def test_dropout_ops(data):
    shape = data.draw(st.lists(dims(0, 5), min_size=0, max_size=4), label="shape")
    x = data.draw(arrays(shape, np.float32), label="x")
    rate = data.draw(st.one_of(st.floats(0, 0.99), reals()), label="rate")
    seed = data.draw(seeds(), label="seed")
    both_backends(ops.dropout_forward, x, rate, seed)
    both_backends(ops.dropout_forward_keep, x, rate, seed)
    with np.errstate(invalid="ignore"):
        keep = (np.abs(x) > 1).astype(np.uint8) if isinstance(x, np.ndarray) else x
    both_backends(ops.dropout_backward_keep, x, keep, rate)
    dtype = data.draw(st.sampled_from(FLOATS + [np.int32, "float16", "nonsense", None]), label="dtype")
    mshape = data.draw(st.one_of(st.just(shape), st.integers(-2, 6), st.just("3"), st.just((2, -1))),
                       label="mask shape")
    both_backends(ops.dropout_mask, mshape, rate, seed, dtype)
    both_backends(ops.counter_uniform, data.draw(st.integers(-2, 50)), data.draw(seeds()))


@FUZZ
@given(data=st.data())
def test_softmax_xent_ops(data):
    n, c = data.draw(dims(0, 5)), data.draw(dims(0, 6))
    logits = data.draw(arrays((n, c), np.float32), label="logits")
    kind = data.draw(st.sampled_from(["int", "int", "float", "odd"]))
    if kind == "int":
        labels = np.asarray(data.draw(st.lists(st.integers(-2, c + 1), min_size=n, max_size=n)),
                            dtype=data.draw(st.sampled_from([np.int64, np.int32, np.uint8])))
        labels = data.draw(layouts(labels))
    elif kind == "float":
        labels = data.draw(arrays((n, c), np.float32), label="targets")
    else:
        labels = data.draw(st.one_of(arrays((n,), object), st.just([0] * n), st.just(None)))
    both_backends(ops.softmax_xent_forward, logits, labels)
    both_backends(ops.softmax_xent_backward, logits, labels)


# ---- dense, gemm, batch normalization -----------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_gemm_and_affine(data):
    m, k, n = (data.draw(dims(0, 5)) for _ in range(3))
    dtype = data.draw(st.sampled_from(FLOATS))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    a = data.draw(arrays((k, m) if ta else (m, k), dtype), label="a")
    b = data.draw(arrays((n, k) if tb else (k, n), dtype), label="b")
    c = data.draw(st.one_of(st.none(), arrays((m, n), dtype)), label="c")
    bias = data.draw(st.one_of(st.none(), arrays((n,), dtype)), label="bias")
    both_backends(ops.gemm, a, b, c, ta, tb, data.draw(reals()), data.draw(reals()), bias,
                  data.draw(st.booleans()))
    x = data.draw(arrays((m, k), dtype), label="x")
    w = data.draw(arrays((k, n), dtype), label="w")
    bb = data.draw(st.one_of(st.none(), arrays((n,), dtype)), label="b")
    both_backends(ops.affine_forward, x, w, bb)
    dy = data.draw(arrays((m, n), dtype), label="dy")
    both_backends(ops.affine_backward, dy, x, w)


@FUZZ
@given(data=st.data())
def test_batchnorm_ops(data):
    shape = data.draw(st.sampled_from([(3, 2), (2, 3, 2, 2), (1, 1), (0, 2), (2, 0), (2,), (1, 2, 3)]))
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays(shape, dtype), label="x")
    c = shape[1] if len(shape) > 1 else 1
    g, b, m, v = (data.draw(arrays((c,), dtype), label=nm) for nm in ("gamma", "beta", "mean", "var"))
    eps = data.draw(st.one_of(st.just(1e-3), reals()), label="eps")
    both_backends(ops.batchnorm_forward, x, g, b, eps)
    both_backends(ops.batchnorm_inference, x, g, b, m, np.abs(v) if v.dtype.kind == "f" else v, eps)
    dy = data.draw(arrays(shape, dtype), label="dy")
    both_backends(ops.batchnorm_backward, dy, x, g, m, v)


# ---- convolution, pooling -----------------------------------------------------------------------

def _conv_shapes(data):
    n, c, h, w = (data.draw(dims(1, 4)) for _ in range(4))
    if data.draw(st.floats(0, 1)) < 0.1:
        n = 0
    kh, kw = data.draw(dims(0, 4)), data.draw(dims(1, 4))
    stride = data.draw(st.one_of(dims(1, 3), st.tuples(dims(0, 3), dims(1, 3)), st.just("2"),
                                 st.just((1, 2, 3))))
    pad = data.draw(st.one_of(dims(0, 2), st.tuples(dims(0, 2), st.integers(-1, 2)), st.just(1.5)))
    return (n, c, h, w), kh, kw, stride, pad


def _out_hw(h, w, kh, kw, stride, pad):
    try:
        sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
        ph, pw = pad if isinstance(pad, tuple) else (pad, pad)
        return (max(int((h + 2 * ph - kh) // sh + 1), 0), max(int((w + 2 * pw - kw) // sw + 1), 0))
    except (TypeError, ZeroDivisionError, ValueError):
        return 1, 1


@FUZZ
@given(data=st.data())
def test_im2col_col2im(data):
    xs, kh, kw, stride, pad = _conv_shapes(data)
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays(xs, dtype), label="x")
    both_backends(ops.im2col, x, kh, kw, stride, pad)
    oh, ow = _out_hw(xs[2], xs[3], kh, kw, stride, pad)
    col = data.draw(arrays((xs[0] * oh * ow, xs[1] * kh * kw), dtype), label="col")
    x_shape = data.draw(st.one_of(st.just(xs), st.just(list(xs)), st.just(xs[:3]), st.just((1, 1, -1, 1))))
    both_backends(ops.col2im, col, x_shape, kh, kw, stride, pad)


@FUZZ
@given(data=st.data())
def test_conv2d(data):
    xs, kh, kw, stride, pad = _conv_shapes(data)
    kf = data.draw(dims(1, 3))
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays(xs, dtype), label="x")
    w = data.draw(arrays((kf, xs[1], kh, kw), dtype), label="w")
    b = data.draw(st.one_of(st.none(), arrays((kf,), dtype)), label="b")
    both_backends(ops.conv2d_forward, x, w, b, stride, pad)
    oh, ow = _out_hw(xs[2], xs[3], kh, kw, stride, pad)
    dy = data.draw(arrays((xs[0], kf, oh, ow), dtype), label="dy")
    both_backends(ops.conv2d_backward, dy, x, w, stride, pad)


@pytest.mark.parametrize("kind", ["max", "avg"])
@FUZZ
@given(data=st.data())
def test_pooling(kind, data):
    xs, ph, pw, stride, pad = _conv_shapes(data)
    stride = data.draw(st.one_of(st.none(), st.just(stride)))
    dtype = data.draw(st.sampled_from(FLOATS))
    x = data.draw(arrays(xs, dtype), label="x")
    oh, ow = _out_hw(xs[2], xs[3], ph, pw, (ph, pw) if stride is None else stride, pad)
    dy = data.draw(arrays((xs[0], xs[1], oh, ow), dtype), label="dy")
    x_shape = data.draw(st.one_of(st.just(xs), st.just((xs[0], xs[1] + 1, xs[2], xs[3])), st.just((1, 1))))
    if kind == "max":
        both_backends(ops.maxpool2d_forward, x, ph, pw, stride, pad)
        argmax = data.draw(st.one_of(
            st.just(np.zeros(dy.shape, np.int64)),
            st.builds(lambda v: np.full(dy.shape, v, np.int64), st.integers(-5, 2 ** 40)),
            arrays(dy.shape, np.float32)), label="argmax")
        both_backends(ops.maxpool2d_backward, dy, argmax, x_shape)
    else:
        both_backends(ops.avgpool2d_forward, x, ph, pw, stride, pad)
        both_backends(ops.avgpool2d_backward, dy, x_shape, ph, pw, stride, pad)


# ---- optimizer updates --------------------------------------------------------------------------

UPDATES = {"sgd_update": 0, "momentum_update": 1, "nesterov_update": 1, "adagrad_update": 1,
           "rmsprop_update": 1, "adam_update": 2, "adadelta_update": 2}
HYPER = {"sgd_update": 1, "momentum_update": 2, "nesterov_update": 2, "adagrad_update": 2,
         "rmsprop_update": 3, "adam_update": 5, "adadelta_update": 3}


@pytest.mark.parametrize("name", sorted(UPDATES))
@FUZZ
@given(data=st.data())
def test_optimizer_update_ops(name, data):
    shape = data.draw(st.lists(dims(0, 4), min_size=0, max_size=3), label="shape")
    dtype = data.draw(st.sampled_from(FLOATS))
    p = data.draw(arrays(shape, dtype), label="p")
    g = data.draw(arrays(shape, dtype), label="g")
    state = [data.draw(arrays(shape, dtype), label=f"state{i}") for i in range(UPDATES[name])]
    if state and data.draw(st.floats(0, 1)) < 0.1:
        state[0] = p                                    # aliasing: must be refused
    hyper = [data.draw(st.one_of(st.floats(0, 0.99), reals())) for _ in range(HYPER[name])]
    if name == "adam_update":
        hyper[-1] = data.draw(st.one_of(st.integers(-1, 10 ** 6), st.just(2.5)))   # t, the step count
    both_backends(getattr(ops, name), p, g, *state, *hyper)


# ---- huge shapes: refused before allocating -----------------------------------------------------

BIG = 2 ** 40          # elements: 4 TiB of float32 -- more than any machine this runs on


def _refused(fn, *args):
    for backend in ("c", "numpy"):
        with cnet.use_backend(backend):
            with pytest.raises((MemoryError, ValueError)) as info:
                fn(*args)
            assert str(info.value)


def test_huge_outputs_are_refused_before_allocating():
    x = np.ones((1, 1, 2, 2), np.float32)
    _refused(ops.im2col, x, 1, 1, 1, 2 ** 20)                       # (4e12, 1) columns from the padding
    _refused(ops.conv2d_forward, x, np.ones((1, 1, 1, 1), np.float32), None, 1, 2 ** 20)
    _refused(ops.maxpool2d_forward, np.ones((1, 1, 4, 4), np.float32), 2, 2, 1, 2 ** 21)
    _refused(ops.avgpool2d_forward, x, 1, 1, 1, 2 ** 20)
    dy = np.ones((1, 1, 1, 1), np.float32)
    _refused(ops.maxpool2d_backward, dy, np.zeros((1, 1, 1, 1), np.int64), (1, 1, 2 ** 20, 2 ** 21))
    _refused(ops.avgpool2d_backward, dy, (1, 1, 2 ** 20, 2 ** 21), 2 ** 20, 2 ** 21)
    _refused(ops.col2im, np.ones((1, 1), np.float32), (1, 1, 2 ** 20, 2 ** 21), 2 ** 20, 2 ** 21)
    _refused(ops.dropout_mask, (BIG,), 0.5, 0, np.float32)
    _refused(ops.dropout_mask, (2 ** 31, 2 ** 31, 2 ** 31), 0.5, 0, np.float32)   # overflows int64
    # (m, 0) @ (0, n): tiny operands, a 4 TiB product
    _refused(ops.gemm, np.ones((2 ** 20, 0), np.float32), np.ones((0, 2 ** 20), np.float32))


def test_huge_zero_stride_inputs_are_refused_before_copying():
    x = np.broadcast_to(np.float32(1.0), (BIG,))          # 4 TiB that take no memory until copied
    for fn in (ops.relu_forward, ops.sigmoid_forward, ops.tanh_forward):
        _refused(fn, x)
    _refused(ops.softmax_forward, x.reshape(2 ** 20, 2 ** 20))
    _refused(ops.mse_forward, x, x)
