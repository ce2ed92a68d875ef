"""Shared test helpers: compare a C result with the NumPy reference and say where they differ; run on a
backend, a thread count, a SIMD path; finite differences."""
import numpy as np
import pytest

import cnet
from cnet.gradcheck import numerical_gradient

THREAD_COUNTS = (1, 2, 3)
DTYPES = (np.float32, np.float64)
# Default tolerances of assert_close (see there: relative to the expected output's scale), by dtype.
DEFAULT_TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}


def assert_close(actual, expected, tol=None, name="result"):
    """Assert |actual - expected| <= tol * scale for every element, scale = max(1, max|expected|): one
    tolerance for the whole array, relative to its largest magnitude (absolute below magnitude 1), not
    NumPy's per-element rtol. tol None: DEFAULT_TOL of the dtype (0 for integers); tol=0: equal values.
    On failure, report the largest difference, where it is, and both values there."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != expected {expected.shape}"
    if tol is None:
        tol = DEFAULT_TOL[np.dtype(expected.dtype)] if expected.dtype.kind == "f" else 0
    if actual.size == 0:
        return
    scale = max(1.0, float(np.max(np.abs(expected))))
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    i = np.unravel_index(int(np.argmax(diff)), diff.shape)
    worst = float(diff[i])
    assert worst <= tol * scale, (
        f"{name}: max |difference| {worst:.3e} > {tol:.1e} * scale {scale:.3e} at index {tuple(map(int, i))}: "
        f"got {actual[i]!r}, expected {expected[i]!r}")


def run_c(fn, *args, threads=None, **kwargs):
    """Run fn under the C backend with a given thread count."""
    previous = cnet.get_num_threads()
    with cnet.use_backend("c"):
        try:
            if threads is not None:
                cnet.set_num_threads(threads)
            return fn(*args, **kwargs)
        finally:
            cnet.set_num_threads(previous)


def run_numpy(fn, *args, **kwargs):
    with cnet.use_backend("numpy"):
        return fn(*args, **kwargs)


def assert_bit_identical(results, name="result"):
    """Results (a list of arrays or tuples of arrays/floats) computed with different thread counts
    must be equal to the bit."""
    first = results[0]
    for k, other in enumerate(results[1:], 1):
        a_parts = first if isinstance(first, tuple) else (first,)
        b_parts = other if isinstance(other, tuple) else (other,)
        for j, (a, b) in enumerate(zip(a_parts, b_parts)):
            a, b = np.asarray(a), np.asarray(b)
            assert a.tobytes() == b.tobytes(), f"{name}[{j}]: run {k} differs from run 0 (thread counts differ)"


def _simd_paths():
    """The SIMD paths this CPU can run (portable always; avx2/avx512 where supported)."""
    from cnet import _kernels
    current, paths = _kernels.simd_path(), []
    for p in ("portable", "avx2", "avx512"):
        try:
            _kernels.set_simd_path(p)
            paths.append(p)
        except ValueError:
            pass
    _kernels.set_simd_path(current)
    return paths


SIMD_PATHS = _simd_paths()

# For the tests that compare the SIMD paths with each other: with one path there is nothing to compare.
several_simd_paths = pytest.mark.skipif(
    len(SIMD_PATHS) < 2, reason=f"this CPU has only the {SIMD_PATHS[0]} SIMD path: comparing the paths "
                                f"would compare it with itself")


def on_path(path, fn, *args, **kwargs):
    """run_c on a given SIMD path, restoring the previous one."""
    from cnet import _kernels
    current = _kernels.simd_path()
    _kernels.set_simd_path(path)
    try:
        return run_c(fn, *args, **kwargs)
    finally:
        _kernels.set_simd_path(current)


def numerical_grad(f, x, h=1e-5):
    """Central-difference gradient of the scalar function f() with respect to every element of the
    C-contiguous array x (perturbed in place, restored after), in x's dtype."""
    return numerical_gradient(f, x, h).astype(x.dtype)


def rel_error(analytic, numeric):
    """max |a - n| relative to the largest magnitude of either gradient."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    scale = max(np.abs(analytic).max(), np.abs(numeric).max(), 1e-12)
    return np.abs(analytic - numeric).max() / scale


def assert_grad(analytic, f, x, tol=1e-6, name="grad"):
    """Assert that the analytic gradient of f() with respect to x matches central differences: the
    largest difference at most tol of the largest magnitude of either."""
    numeric = numerical_grad(f, x)
    err = rel_error(analytic, numeric)
    if not err < tol:
        where = np.unravel_index(np.abs(analytic - numeric).argmax(), x.shape)
        raise AssertionError(f"{name}: relative error {err:.3g} >= {tol:g}; worst at {where}: "
                             f"analytic {analytic[where]!r}, numeric {numeric[where]!r}")
