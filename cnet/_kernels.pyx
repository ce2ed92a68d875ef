# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The one binding of cnet's C kernel library (src/cnet.h, declared once in _cnet.pxd).

Typed memoryviews in (C-contiguous), caller-supplied outputs, the kernel called without the GIL.
Shapes and dtypes are checked for users in cnet/ops/; this module checks only what keeps a wrong
size from reaching C (cheap equality checks), and never takes &x[0] of an empty view.

This file: the runtime functions and the helpers every family shares; then one include file per op
family (_kernels_<family>.pxi: the same stem as its C files, ops module, reference and kernel tests).
"""
from cython cimport floating
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint64_t

from cnet._cnet cimport *


# ---- runtime ------------------------------------------------------------------------------------

def have_openmp():
    return bool(cnet_have_openmp())

def openmp_runtime():
    return cnet_openmp_runtime().decode()

def simd_path():
    return cnet_simd_path().decode()

def set_simd_path(str name):
    if cnet_set_simd_path(name.encode()) != 0:
        raise ValueError(f"SIMD path {name!r} is not available on this CPU "
                         f"(expected one of 'portable', 'avx2', 'avx512' up to {simd_path()!r})")

def omp_max_threads():
    return cnet_omp_max_threads()

def omp_set_num_threads(int n):
    cnet_omp_set_num_threads(n)

def debug_fail_alloc_after(int n):
    """Testing hook, not for production: after n more successful scratch allocations of the C library
    (over all threads and kernels), every one fails -- the kernels then raise MemoryError -- until
    debug_fail_alloc_after(-1) turns failures off again."""
    cnet_debug_fail_alloc_after(n)

def scratch_cached_bytes():
    """The bytes of freed scratch the threads keep for their next kernels (src/scratch.c), summed."""
    return cnet_scratch_cached_bytes()


cdef inline void _check_alloc(int status, str op) except *:
    """Raises MemoryError when a kernel (status != 0) could not allocate its scratch."""
    if status != 0:
        raise MemoryError(f"{op}: could not allocate {cnet_scratch_failed_bytes()} bytes of scratch")


cdef inline void _same_size(Py_ssize_t a, Py_ssize_t b, str what) except *:
    if a != b:
        raise ValueError(f"{what}: sizes differ ({a} != {b})")


cdef inline void _same_shape(tuple got, tuple expected, str what) except *:
    if got != expected:
        raise ValueError(f"{what}: shape {got} != expected {expected}")


cdef (int64_t, int64_t) _window_out(int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                    int64_t PH, int64_t PW, str what) except *:
    """(OH, OW) of a sliding window, or ValueError for a geometry that C must never see."""
    if KH < 1 or KW < 1 or SH < 1 or SW < 1 or PH < 0 or PW < 0 or H < 1 or W < 1 \
            or H + 2 * PH < KH or W + 2 * PW < KW:
        raise ValueError(f"{what}: invalid geometry: input {(H, W)}, window {(KH, KW)}, "
                         f"stride {(SH, SW)}, pad {(PH, PW)}")
    return (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1


# ---- element-wise kernels: one body for every out = f(a) and out = f(a, b) over n elements ---------

ctypedef void (*map1_f32)(float *, const float *, int64_t, int) noexcept nogil
ctypedef void (*map1_f64)(double *, const double *, int64_t, int) noexcept nogil
ctypedef void (*map2_f32)(float *, const float *, const float *, int64_t, int) noexcept nogil
ctypedef void (*map2_f64)(double *, const double *, const double *, int64_t, int) noexcept nogil


cdef inline void _map1(floating[::1] out, const floating[::1] a, int n_threads, map1_f32 f32, map1_f64 f64,
                       str what) except *:
    """out = f(a) (f32 or f64, by the dtype); what: the op and its arrays, for the error message."""
    cdef int64_t n = out.shape[0]
    if a.shape[0] != n:
        raise ValueError(f"{what}: sizes differ ({n} != {a.shape[0]})")
    if n == 0:
        return
    with nogil:
        if floating is float:
            f32(&out[0], &a[0], n, n_threads)
        else:
            f64(&out[0], &a[0], n, n_threads)


cdef inline void _map2(floating[::1] out, const floating[::1] a, const floating[::1] b, int n_threads,
                       map2_f32 f32, map2_f64 f64, str what) except *:
    """out = f(a, b) (f32 or f64, by the dtype); what: the op and its arrays, for the error message."""
    cdef int64_t n = out.shape[0]
    if a.shape[0] != n or b.shape[0] != n:
        raise ValueError(f"{what}: sizes differ ({n}, {a.shape[0]}, {b.shape[0]})")
    if n == 0:
        return
    with nogil:
        if floating is float:
            f32(&out[0], &a[0], &b[0], n, n_threads)
        else:
            f64(&out[0], &a[0], &b[0], n, n_threads)


# ---- the op families, one include file each -------------------------------------------------------
include "_kernels_gemm.pxi"
include "_kernels_conv.pxi"
include "_kernels_pool.pxi"
include "_kernels_activation.pxi"
include "_kernels_loss.pxi"
include "_kernels_regularization.pxi"
include "_kernels_optim.pxi"
include "_kernels_cast.pxi"
