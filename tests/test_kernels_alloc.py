"""Out-of-memory paths of the C kernels, driven by the testing hook debug_fail_alloc_after(n): the n+1-th
scratch allocation (and every later one) fails. A kernel must then raise MemoryError -- never return
with outputs silently unwritten -- and the process must go on working. Also: the fused softmax
cross-entropy returns exactly cnet_softmax_forward's probabilities."""
import numpy as np
import pytest

import cnet
from cnet import _kernels, ops
from helpers import DTYPES, run_c

THREADS = (1, 2)
# Attempts with the hook at n = 0, 1, ..., up to this, until the op succeeds.
MAX_SUCCESSFUL_ALLOCS = 64


@pytest.fixture
def fail_alloc():
    """Arms the hook; always reset afterwards so that no other test runs out of memory."""
    try:
        yield _kernels.debug_fail_alloc_after
    finally:
        _kernels.debug_fail_alloc_after(-1)


def _rng_arrays(dtype, *shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def _same_bits(a, b):
    return all(np.asarray(x).tobytes() == np.asarray(y).tobytes() for x, y in zip(a, b))


# Each case: (op name, function of (dtype) -> callable running the op through the C backend). The
# shapes take the kernels' allocating paths: GEMM packing (serial and thread grid), split-K partials
# (small C, long K), conv im2col buffers and weight-gradient partials (over images and in chunks),
# softmax cross-entropy chunk sums (more than 64 chunks of 256 rows).
def _gemm_grid(dtype):
    a, b = _rng_arrays(dtype, (200, 150), (150, 170))
    return lambda: ops.gemm(a, b)


def _gemm_splitk(dtype):
    a, b = _rng_arrays(dtype, (4096, 20), (4096, 12))
    return lambda: ops.gemm(a, b, trans_a=True)


def _affine_forward(dtype):
    x, w, b = _rng_arrays(dtype, (130, 70), (70, 90), (90,))
    return lambda: ops.affine_forward(x, w, b, relu=True)


def _affine_backward(dtype):
    dy, x, w = _rng_arrays(dtype, (130, 90), (130, 70), (70, 90))
    return lambda: ops.affine_backward(dy, x, w)


def _conv_forward(dtype):
    x, w, b = _rng_arrays(dtype, (5, 3, 12, 12), (8, 3, 3, 3), (8,))
    return lambda: ops.conv2d_forward(x, w, b, stride=1, pad=1)


def _conv_backward(dtype):
    x, w, dy = _rng_arrays(dtype, (9, 3, 12, 12), (8, 3, 3, 3), (9, 8, 12, 12))
    return lambda: ops.conv2d_backward(dy, x, w, stride=1, pad=1)


def _conv_backward_1x1(dtype):  # direct 1x1: no im2col buffers, only the partials and the GEMMs'
    x, w, dy = _rng_arrays(dtype, (9, 6, 5, 5), (4, 6, 1, 1), (9, 4, 5, 5))
    return lambda: ops.conv2d_backward(dy, x, w)


def _direct_forward(dtype):   # direct conv: the bias padded to whole blocks
    x, w, b = _rng_arrays(dtype, (5, 19, 12, 12), (8, 19, 3, 3), (8,))
    xb = ops.to_blocked(x)
    return lambda: ops.conv2d_blk_forward(xb, w, b, stride=1, pad=1, relu=True)


def _direct_forward_plain(dtype):   # a first layer: the padded copy of each image
    x, w, b = _rng_arrays(dtype, (5, 1, 12, 12), (8, 1, 3, 3), (8,))
    return lambda: ops.conv2d_blk_forward(x, w, b, stride=1, pad=1, plain=True)


def _direct_backward_data(dtype):   # stride 2: the phase buffers
    x, w, dy = _rng_arrays(dtype, (3, 6, 11, 10), (7, 6, 3, 3), (3, 7, 6, 5))
    dyb = ops.to_blocked(dy)
    return lambda: ops.conv2d_blk_backward_data(dyb, w, x.shape, stride=2, pad=1)


def _direct_backward_weights(dtype):   # the per-chunk weight-gradient partials
    x, w, dy = _rng_arrays(dtype, (9, 6, 8, 8), (7, 6, 3, 3), (9, 7, 8, 8))
    xb, dyb = ops.to_blocked(x), ops.to_blocked(dy)
    return lambda: ops.conv2d_blk_backward_weights(dyb, xb, w.shape, stride=1, pad=1)


def _softmax_xent(dtype):
    (logits,) = _rng_arrays(dtype, (64 * 256 + 1, 3))
    labels = np.arange(logits.shape[0]) % 3
    return lambda: ops.softmax_xent_forward(logits, labels)


def _softmax_xent_dense(dtype):
    (logits,) = _rng_arrays(dtype, (64 * 256 + 1, 3))
    targets = np.eye(3, dtype=dtype)[np.arange(logits.shape[0]) % 3]
    return lambda: ops.softmax_xent_forward(logits, targets)


def _bn_forward(dtype):
    x, g, b = _rng_arrays(dtype, (6, 5, 4, 4), (5,), (5,))
    return lambda: ops.batchnorm_forward(x, g, b)


def _bn_backward(dtype):
    dy, x, g = _rng_arrays(dtype, (6, 5, 4, 4), (6, 5, 4, 4), (5,))
    _, mean, inv_std = ops.batchnorm_forward(x, g, np.zeros(5, dtype))
    return lambda: ops.batchnorm_backward(dy, x, g, mean, inv_std)


def _bn_inference(dtype):
    x, g, b, m = _rng_arrays(dtype, (6, 5, 4, 4), (5,), (5,), (5,))
    return lambda: ops.batchnorm_inference(x, g, b, m, np.ones(5, dtype))


CASES = {
    "gemm": _gemm_grid,
    "gemm_splitk": _gemm_splitk,
    "affine_forward": _affine_forward,
    "affine_backward": _affine_backward,
    "conv2d_forward": _conv_forward,
    "conv2d_backward": _conv_backward,
    "conv2d_backward_1x1": _conv_backward_1x1,
    "conv2d_blk_forward": _direct_forward,
    "conv2d_blk_forward_plain": _direct_forward_plain,
    "conv2d_blk_backward_data": _direct_backward_data,
    "conv2d_blk_backward_weights": _direct_backward_weights,
    "softmax_xent_forward": _softmax_xent,
    "softmax_xent_dense_forward": _softmax_xent_dense,
    "batchnorm_forward": _bn_forward,
    "batchnorm_backward": _bn_backward,
    "batchnorm_inference": _bn_inference,
}


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CASES))
def test_failed_allocation_raises_memory_error(case, dtype, threads, fail_alloc):
    """With the first n allocations allowed, for n = 0, 1, 2, ...: the op either raises MemoryError
    naming its op and a byte count, or returns exactly the result of an unhindered run. The first call
    (n = 0) must raise: every case allocates."""
    run = CASES[case](dtype)
    expected = _as_tuple(run_c(run, threads=threads))
    op = case.replace("_splitk", "").replace("_1x1", "").replace("_plain", "")
    raised = 0
    for n in range(MAX_SUCCESSFUL_ALLOCS + 1):
        fail_alloc(n)
        try:
            got = _as_tuple(run_c(run, threads=threads))
        except MemoryError as e:
            assert str(e).startswith(f"{op}: could not allocate "), str(e)
            assert str(e).endswith(" bytes of scratch") and int(str(e).split()[4]) > 0, str(e)
            raised += 1
            continue
        finally:
            fail_alloc(-1)
        assert _same_bits(got, expected), f"{case}: with {n} allocations allowed, a wrong result"
        break
    else:
        pytest.fail(f"{case}: still failing with {MAX_SUCCESSFUL_ALLOCS} allocations allowed")
    assert raised >= 1
    # the process is unharmed: the same op, and a whole training step, work again
    assert _same_bits(_as_tuple(run_c(run, threads=threads)), expected)


def test_freed_scratch_is_kept_per_thread_bounded_and_given_back_at_thread_exit():
    """src/scratch.c keeps a thread's freed scratch for its next kernels (the same blocks every training
    step, instead of growing glibc's per-thread arenas): a repeated op reuses them, a block over the
    16 MiB a thread may keep is freed, and a thread's blocks are freed when it exits."""
    import threading
    a, b = _rng_arrays(np.float32, (300, 200), (200, 260))
    expected = run_c(lambda: ops.gemm(a, b), threads=1)
    base = _kernels.scratch_cached_bytes()
    results, seen = [], []

    def work():
        for _ in range(3):     # the same op again: served from this thread's cache
            results.append(run_c(lambda: ops.gemm(a, b), threads=1))
            seen.append(_kernels.scratch_cached_bytes())
        big_a, big_b = _rng_arrays(np.float32, (3000, 4000), (4000, 2000))
        run_c(lambda: ops.gemm(big_a, big_b), threads=1)      # packing blocks of tens of MiB
        seen.append(_kernels.scratch_cached_bytes())
    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert all(_same_bits((r,), (expected,)) for r in results)
    assert seen[0] > base and seen[0] == seen[1] == seen[2]       # kept, then reused: no growth
    assert seen[3] - base <= 16 << 20
    assert _kernels.scratch_cached_bytes() == base                # given back when the thread exited


def test_model_step_raises_and_recovers(fail_alloc):
    """A training step that runs out of scratch raises MemoryError out of fit; with memory back, the
    same model trains."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=32)
    model = cnet.models.Sequential([
        cnet.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(1, 8, 8)),
        cnet.layers.Flatten(), cnet.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with cnet.use_backend("c"):
        fail_alloc(0)
        with pytest.raises(MemoryError, match="could not allocate"):
            model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        fail_alloc(-1)
        history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 10), (300, 17), (5000, 10), (40, 1000)])
@pytest.mark.parametrize("threads", (1, 3))
def test_softmax_xent_probs_are_softmax_forward(dtype, shape, threads):
    """predict() (softmax_forward) and the loss (softmax_xent_forward) see the same probabilities, to
    the bit, on the C backend."""
    (z,) = _rng_arrays(dtype, shape, seed=1)
    z *= 4
    labels = np.arange(shape[0]) % shape[1]
    probs = run_c(ops.softmax_forward, z, threads=threads)
    _, xent_probs = run_c(ops.softmax_xent_forward, z, labels, threads=threads)
    _, dense_probs = run_c(ops.softmax_xent_forward, z, np.eye(shape[1], dtype=dtype)[labels],
                           threads=threads)
    assert probs.tobytes() == xent_probs.tobytes(), \
        f"max |difference| {np.max(np.abs(probs.astype(np.float64) - xent_probs)):.3e}"
    assert probs.tobytes() == dense_probs.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", THREADS)
def test_mse_without_scratch_gives_the_same_bits(dtype, threads, fail_alloc):
    """Beyond 64 chunks the MSE loss keeps its chunk sums in scratch; when that cannot be allocated it
    adds the same chunks serially, in the same order: the same bits, no error."""
    y, t = _rng_arrays(dtype, (64 * 16384 + 5,), (64 * 16384 + 5,), seed=1)
    want = run_c(ops.mse_forward, y, t, threads=threads)
    fail_alloc(0)
    try:
        got = run_c(ops.mse_forward, y, t, threads=threads)
    finally:
        fail_alloc(-1)
    assert np.float64(got).tobytes() == np.float64(want).tobytes()


CNET_ERR_NOMEM = 1      # src/cnet.h's error enum


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", ["forward", "backward", "inference"])
def test_batchnorm_reports_nomem_code(kernel, dtype, fail_alloc):
    """The C batchnorm kernels return CNET_ERR_NOMEM (not -1) when their scratch cannot be allocated:
    the binding turns any non-zero code into MemoryError, so only the C entry points show the code."""
    import ctypes
    lib = ctypes.CDLL(_kernels.__file__)
    suffix = "f32" if dtype == np.float32 else "f64"
    fn = getattr(lib, f"cnet_batchnorm_{kernel}_{suffix}")
    fn.restype = ctypes.c_int
    n, c, s = 6, 5, 16
    big, small = _rng_arrays(dtype, (n, c, s), (c,))
    ptr = lambda a: ctypes.c_void_p(a.ctypes.data)                   # noqa: E731
    outs = [np.empty_like(big), np.empty_like(small), np.empty_like(small)]
    i64 = [ctypes.c_int64(v) for v in (n, c, s)]
    eps = ctypes.c_double(1e-5)
    if kernel == "forward":
        args = [*map(ptr, outs), ptr(big), ptr(small), ptr(small), eps, *i64]
    elif kernel == "backward":
        args = [*map(ptr, outs), ptr(big), ptr(big), ptr(small), ptr(small), ptr(np.abs(small) + 1), *i64]
    else:
        args = [ptr(outs[0]), ptr(big), ptr(small), ptr(small), ptr(small), ptr(np.abs(small) + 1), eps, *i64]
    fail_alloc(0)
    assert fn(*args, ctypes.c_int(2)) == CNET_ERR_NOMEM
    fail_alloc(-1)
    assert fn(*args, ctypes.c_int(2)) == 0
