"""cnet's own GEMM and the dense layer against the NumPy reference: every SIMD path, both dtypes,
transposes, alpha/beta, epilogues, awkward shapes and thread counts."""
import itertools

import numpy as np
import pytest

import cnet
from cnet import ops
from helpers import (DTYPES, assert_bit_identical, assert_close, run_c, run_numpy)

GEMM_TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}
SIZES = [1, 2, 3, 7, 17, 33, 65, 129]


def _operands(m, n, k, ta, tb, dtype, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


def _scale_tol(dtype, k):
    # sums of k products: errors grow with k; compare relative to the magnitude of the terms
    return GEMM_TOL[np.dtype(dtype)] * max(1.0, np.sqrt(k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_gemm_matches_reference_awkward_shapes(simd, dtype, ta, tb):
    rng = np.random.default_rng(0)
    for m, n, k in [(1, 1, 1), (2, 3, 7), (17, 33, 65), (129, 7, 3), (3, 129, 33), (65, 65, 129),
                    (13, 31, 300), (100, 37, 1),
                    (16, 40, 50), (32, 17, 300), (64, 33, 20), (80, 10, 30), (128, 16, 9),  # 16-row tiles
                    (20, 200, 70), (150, 300, 40), (100, 150, 100)]:   # op(B) in place or packed
        a, b = _operands(m, n, k, ta, tb, dtype, rng)
        got = run_c(ops.gemm, a, b, trans_a=ta, trans_b=tb, threads=2)
        want = run_numpy(ops.gemm, a, b, trans_a=ta, trans_b=tb)
        assert_close(got, want, tol=_scale_tol(dtype, k), name=f"gemm {m}x{k}x{n} ta={ta} tb={tb} {simd}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_alpha_beta_bias_relu(simd, dtype):
    rng = np.random.default_rng(1)
    m, n, k = 37, 45, 29
    a, b = _operands(m, n, k, False, True, dtype, rng)
    bias = rng.standard_normal(n).astype(dtype)
    c0 = rng.standard_normal((m, n)).astype(dtype)
    for alpha, beta, use_bias, relu in [(1.0, 1.0, False, False), (0.5, -2.0, True, False),
                                        (2.0, 0.0, True, True), (1.0, 1.0, True, True)]:
        c = c0.copy()
        got = run_c(ops.gemm, a, b, c=c, trans_b=True, alpha=alpha, beta=beta,
                    bias=bias if use_bias else None, relu=relu)
        assert got is c
        want = run_numpy(ops.gemm, a, b, c=c0.copy(), trans_b=True, alpha=alpha, beta=beta,
                         bias=bias if use_bias else None, relu=relu)
        assert_close(got, want, tol=_scale_tol(dtype, k), name=f"alpha={alpha} beta={beta}")
    # beta == 0 overwrites whatever c held, NaN included
    c = np.full((m, n), np.nan, dtype=dtype)
    got = run_c(ops.gemm, a, b, c=c, trans_b=True, beta=0.0)
    assert np.all(np.isfinite(got))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_few_rows_path(simd, dtype):
    """At most 3 rows and a row-major op(B): B is read in place by the row kernels (vector blocks of
    every width, masked or scalar last columns), with the whole epilogue."""
    rng = np.random.default_rng(2)
    for m, n, k, ta in itertools.product([1, 2, 3], [1, 5, 16, 17, 31, 64, 65, 127, 128, 129, 300],
                                         [1, 9, 70], [False, True]):
        a, b = _operands(m, n, k, ta, False, dtype, rng)
        bias = rng.standard_normal(n).astype(dtype)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        for alpha, beta, use_bias, relu in [(1.0, 0.0, False, False), (0.5, -2.0, True, False),
                                            (1.0, 1.0, True, True)]:
            kw = dict(trans_a=ta, alpha=alpha, beta=beta, bias=bias if use_bias else None, relu=relu)
            c = np.full((m, n), np.nan, dtype=dtype) if beta == 0.0 else c0.copy()
            got = run_c(ops.gemm, a, b, c=c, threads=2, **kw)
            want = run_numpy(ops.gemm, a, b, c=c0.copy(), **kw)
            assert_close(got, want, tol=_scale_tol(dtype, k),
                         name=f"gemm {m}x{k}x{n} ta={ta} alpha={alpha} beta={beta} {simd}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_right_edges(simd, dtype):
    """Every width of a last column panel (the AVX-512 tile's edge runs on a full, a half or one and a
    half vectors), with beta, bias and ReLU, for in-place and packed operands."""
    rng = np.random.default_rng(4)
    for n in range(17, 65):
        for ta, tb in [(False, False), (True, False), (False, True)]:
            m, k = 13, 21
            a, b = _operands(m, n, k, ta, tb, dtype, rng)
            bias = rng.standard_normal(n).astype(dtype)
            c0 = rng.standard_normal((m, n)).astype(dtype)
            kw = dict(trans_a=ta, trans_b=tb, alpha=1.5, beta=-1.0, bias=bias, relu=True)
            got = run_c(ops.gemm, a, b, c=c0.copy(), threads=1, **kw)
            want = run_numpy(ops.gemm, a, b, c=c0.copy(), **kw)
            assert_close(got, want, tol=_scale_tol(dtype, k), name=f"gemm {m}x{k}x{n} ta={ta} tb={tb} {simd}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_long_k_small_output(simd, dtype):
    """X^T . dY with a small output and a long K (a first convolution's weight gradient): split into K
    chunks, and on AVX-512 computed by the skinny kernel reading both operands in place, at the edges
    of its tile heights and vector widths; alpha, beta, bias, ReLU; the same bits for every thread
    count."""
    rng = np.random.default_rng(3)
    for m, n, k in [(1, 1, 2048), (9, 32, 5000), (24, 16, 2100), (25, 8, 2100), (144, 16, 2100),
                    (145, 9, 2100), (12, 32, 2500), (13, 17, 2500), (72, 31, 2100), (73, 33, 2100),
                    (7, 15, 3001), (40, 7, 2049)]:
        a, b = _operands(m, n, k, True, False, dtype, rng)
        outs = [run_c(ops.gemm, a, b, trans_a=True, threads=t) for t in (1, 2, 3, 7)]
        assert_bit_identical(outs, f"gemm {m}x{k}x{n} {simd}")
        want = run_numpy(ops.gemm, a, b, trans_a=True)
        assert_close(outs[0], want, tol=_scale_tol(dtype, k), name=f"gemm {m}x{k}x{n} {simd}")
        bias = rng.standard_normal(n).astype(dtype)
        c0 = rng.standard_normal((m, n)).astype(dtype)
        kw = dict(trans_a=True, alpha=-0.5, beta=2.0, bias=bias, relu=True)
        got = run_c(ops.gemm, a, b, c=c0.copy(), threads=2, **kw)
        want = run_numpy(ops.gemm, a, b, c=c0.copy(), **kw)
        assert_close(got, want, tol=_scale_tol(dtype, k), name=f"gemm {m}x{k}x{n} epilogue {simd}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_bit_identical_across_threads(dtype):
    rng = np.random.default_rng(2)
    # tall-skinny (conv forward), tiny output with huge K (weight gradient), square
    for (m, n, k, ta, tb) in [(3000, 32, 9, False, False), (9, 32, 5000, True, False),
                              (200, 190, 300, False, True)]:
        a, b = _operands(m, n, k, ta, tb, dtype, rng)
        outs = [run_c(ops.gemm, a, b, trans_a=ta, trans_b=tb, threads=t) for t in (1, 2, 3, 7)]
        assert_bit_identical(outs, f"gemm {m}x{k}x{n}")
        want = run_numpy(ops.gemm, a, b, trans_a=ta, trans_b=tb)
        assert_close(outs[0], want, tol=_scale_tol(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", (1, 2, 3))
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 784, 10), (7, 13, 5), (128, 9216, 128), (300, 17, 33),
                                   (1000, 100, 10)])
def test_affine_matches_reference(dtype, threads, shape):
    n, d, u = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, d)).astype(dtype)
    w = rng.standard_normal((d, u)).astype(dtype)
    b = rng.standard_normal(u).astype(dtype)
    dy = rng.standard_normal((n, u)).astype(dtype)
    tol = _scale_tol(dtype, max(d, n))
    assert_close(run_c(ops.affine_forward, x, w, b, threads=threads),
                 run_numpy(ops.affine_forward, x, w, b), tol=tol, name="y")
    assert_close(run_c(ops.affine_forward, x, w, None, threads=threads),
                 run_numpy(ops.affine_forward, x, w, None), tol=tol, name="y without bias")
    got = run_c(ops.affine_backward, dy, x, w, threads=threads)
    want = run_numpy(ops.affine_backward, dy, x, w)
    for name, g, e in zip(("dx", "dw", "db"), got, want):
        assert g.dtype == dtype
        assert_close(g, e, tol=tol, name=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_4d_input_and_thread_invariance(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((600, 3, 4, 5)).astype(dtype)
    w = rng.standard_normal((60, 11)).astype(dtype)
    dy = rng.standard_normal((600, 11)).astype(dtype)
    outs = [run_c(ops.affine_backward, dy, x, w, threads=t) for t in (1, 2, 3, 7)]
    assert_bit_identical(outs, "affine_backward")
    assert outs[0][0].shape == x.shape
    want = run_numpy(ops.affine_backward, dy, x, w)
    for g, e in zip(outs[0], want):
        assert_close(g, e, tol=_scale_tol(dtype, 600))


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_gemm_affine_bad_inputs(backend):
    a = np.ones((4, 5), np.float32)
    with cnet.use_backend(backend):
        with pytest.raises(ValueError, match=r"inner dimensions differ"):
            ops.gemm(a, np.ones((4, 5), np.float32))
        with pytest.raises(TypeError, match="float32"):
            ops.gemm(a, np.ones((5, 2), np.float64))
        with pytest.raises(ValueError, match=r"c: expected shape \(4, 2\)"):
            ops.gemm(a, np.ones((5, 2), np.float32), c=np.empty((2, 4), np.float32))
        ro = np.empty((4, 2), np.float32)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="writable"):
            ops.gemm(a, np.ones((5, 2), np.float32), c=ro)
        with pytest.raises(ValueError, match=r"bias: expected shape \(2,\)"):
            ops.gemm(a, np.ones((5, 2), np.float32), bias=np.ones(3, np.float32))
        with pytest.raises(ValueError, match="x has 5 features per sample"):
            ops.affine_forward(a, np.ones((6, 3), np.float32), None)
        with pytest.raises(ValueError, match=r"b: expected shape \(3,\)"):
            ops.affine_forward(a, np.ones((5, 3), np.float32), np.ones(4, np.float32))
        with pytest.raises(ValueError, match=r"dy: expected shape \(4, 3\)"):
            ops.affine_backward(np.ones((4, 2), np.float32), a, np.ones((5, 3), np.float32))
        with pytest.raises(ValueError, match="empty batch"):
            ops.affine_forward(np.ones((0, 5), np.float32), np.ones((5, 3), np.float32), None)
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            ops.affine_forward(np.ones(5, np.float32), np.ones((5, 3), np.float32), None)
