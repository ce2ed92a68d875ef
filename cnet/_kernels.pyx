# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The one binding of cnet's C kernel library (src/cnet.h).

Typed memoryviews in (C-contiguous), caller-supplied outputs, the kernel called without the GIL.
Shapes and dtypes are checked for users in cnet/ops.py; this module checks only what keeps a wrong
size from reaching C (cheap equality checks), and never takes &x[0] of an empty view.
"""
from cython cimport floating
from libc.stdint cimport int64_t

cdef extern from "cnet.h" nogil:
    int cnet_have_openmp()
    const char *cnet_openmp_runtime()
    const char *cnet_simd_path()
    int cnet_set_simd_path(const char *name)
    int cnet_omp_max_threads()
    void cnet_omp_set_num_threads(int n)
    size_t cnet_scratch_failed_bytes()
    void cnet_debug_fail_alloc_after(int n)

    void cnet_relu_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_relu_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_relu_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_relu_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)

    int cnet_softmax_xent_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                      const int64_t *labels, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_forward_f64(double *loss, double *probs, double *row_loss, const double *logits,
                                      const int64_t *labels, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_dense_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                            const float *targets, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_dense_forward_f64(double *loss, double *probs, double *row_loss,
                                            const double *logits, const double *targets, int64_t N, int64_t L,
                                            int n_threads)
    void cnet_softmax_xent_dense_backward_f32(float *dlogits, const float *probs, const float *targets,
                                              int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_dense_backward_f64(double *dlogits, const double *probs, const double *targets,
                                              int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_backward_f32(float *dlogits, const float *probs, const int64_t *labels,
                                        int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_backward_f64(double *dlogits, const double *probs, const int64_t *labels,
                                        int64_t N, int64_t L, int n_threads)


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


cdef inline void _check_alloc(int status, str op) except *:
    """Raises MemoryError when a kernel (status != 0) could not allocate its scratch."""
    if status != 0:
        raise MemoryError(f"{op}: could not allocate {cnet_scratch_failed_bytes()} bytes of scratch")


cdef inline void _same_size(Py_ssize_t a, Py_ssize_t b, str what) except *:
    if a != b:
        raise ValueError(f"{what}: sizes differ ({a} != {b})")


# ---- activations ---------------------------------------------------------------------------------

def relu_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _same_size(y.shape[0], x.shape[0], "relu_forward y/x")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_relu_forward_f32(&y[0], &x[0], n, n_threads)
        else:
            cnet_relu_forward_f64(&y[0], &x[0], n, n_threads)

def relu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _same_size(dx.shape[0], dy.shape[0], "relu_backward dx/dy")
    _same_size(dx.shape[0], y.shape[0], "relu_backward dx/y")
    cdef int64_t n = dx.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_relu_backward_f32(&dx[0], &dy[0], &y[0], n, n_threads)
        else:
            cnet_relu_backward_f64(&dx[0], &dy[0], &y[0], n, n_threads)


# ---- fused softmax + cross-entropy -------------------------------------------------------------

cdef void _check_labels(const int64_t[::1] labels, int64_t L) except *:
    cdef Py_ssize_t i
    cdef int64_t bad = -1
    with nogil:
        for i in range(labels.shape[0]):
            if labels[i] < 0 or labels[i] >= L:
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"labels[{bad}] = {labels[bad]} is out of range: expected 0 <= label < {L}")

def softmax_xent_forward(floating[:, ::1] probs, floating[::1] row_loss,
                         const floating[:, ::1] logits, const int64_t[::1] labels, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_forward probs/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_forward row_loss/logits rows")
    _same_size(labels.shape[0], N, "softmax_xent_forward labels/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_forward: empty logits")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], &labels[0],
                                               N, L, n_threads)
        else:
            rc = cnet_softmax_xent_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], &labels[0],
                                               N, L, n_threads)
    _check_alloc(rc, "softmax_xent_forward")
    return loss

def softmax_xent_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                          const int64_t[::1] labels, int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_backward dlogits/probs columns")
    _same_size(labels.shape[0], N, "softmax_xent_backward labels/probs rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_backward: empty probs")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            cnet_softmax_xent_backward_f32(&dlogits[0, 0], &probs[0, 0], &labels[0], N, L, n_threads)
        else:
            cnet_softmax_xent_backward_f64(&dlogits[0, 0], &probs[0, 0], &labels[0], N, L, n_threads)

def softmax_xent_dense_forward(floating[:, ::1] probs, floating[::1] row_loss,
                               const floating[:, ::1] logits, const floating[:, ::1] targets, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_dense_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_dense_forward probs/logits columns")
    _same_size(targets.shape[0], N, "softmax_xent_dense_forward targets/logits rows")
    _same_size(targets.shape[1], L, "softmax_xent_dense_forward targets/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_dense_forward row_loss/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_dense_forward: empty logits")
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_dense_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                     &targets[0, 0], N, L, n_threads)
        else:
            rc = cnet_softmax_xent_dense_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                     &targets[0, 0], N, L, n_threads)
    _check_alloc(rc, "softmax_xent_dense_forward")
    return loss

def softmax_xent_dense_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                                const floating[:, ::1] targets, int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_dense_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_dense_backward dlogits/probs columns")
    _same_size(targets.shape[0], N, "softmax_xent_dense_backward targets/probs rows")
    _same_size(targets.shape[1], L, "softmax_xent_dense_backward targets/probs columns")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_dense_backward: empty probs")
    with nogil:
        if floating is float:
            cnet_softmax_xent_dense_backward_f32(&dlogits[0, 0], &probs[0, 0], &targets[0, 0], N, L, n_threads)
        else:
            cnet_softmax_xent_dense_backward_f64(&dlogits[0, 0], &probs[0, 0], &targets[0, 0], N, L, n_threads)


# ---- the other op families, one include file each ------------------------------------------------
include "_kernels_gemm.pxi"
include "_kernels_conv.pxi"
include "_kernels_elementwise.pxi"
