# Bindings of the gemm family: GEMM and the dense (affine) layer (src/gemm*.c). Included by _kernels.pyx
# (its directives, cimports and shared helpers apply); the checks for users: cnet/ops/gemm.py.

def gemm(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c, bint trans_a, bint trans_b,
         double alpha, double beta, const floating[::1] bias, bint relu, int n_threads):
    """c = alpha * op(a) . op(b) + beta * c (+ bias) (ReLU); bias may be None."""
    cdef int64_t M = a.shape[1] if trans_a else a.shape[0]
    cdef int64_t K = a.shape[0] if trans_a else a.shape[1]
    cdef int64_t Kb = b.shape[1] if trans_b else b.shape[0]
    cdef int64_t N = b.shape[0] if trans_b else b.shape[1]
    _same_size(K, Kb, "gemm inner dimensions")
    _same_size(c.shape[0], M, "gemm c rows")
    _same_size(c.shape[1], N, "gemm c columns")
    if bias is not None:
        _same_size(bias.shape[0], N, "gemm bias")
    if M == 0 or N == 0:
        return
    cdef const floating *pa = &a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL
    cdef const floating *pb = &b[0, 0] if b.shape[0] > 0 and b.shape[1] > 0 else NULL
    cdef const floating *pbias = &bias[0] if bias is not None else NULL
    cdef int epi = 1 if relu else 0
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_gemm_f32(trans_a, trans_b, M, N, K, <float>alpha, pa, a.shape[1], pb, b.shape[1],
                               <float>beta, &c[0, 0], N, pbias, epi, n_threads)
        else:
            rc = cnet_gemm_f64(trans_a, trans_b, M, N, K, alpha, pa, a.shape[1], pb, b.shape[1],
                               beta, &c[0, 0], N, pbias, epi, n_threads)
    _check_alloc(rc, "gemm")


def affine_forward(floating[:, ::1] y, const floating[:, ::1] x, const floating[:, ::1] w,
                   const floating[::1] b, bint relu, int n_threads):
    cdef int64_t N = x.shape[0], D = x.shape[1], U = w.shape[1]
    _same_size(w.shape[0], D, "affine_forward w rows / x columns")
    _same_size(y.shape[0], N, "affine_forward y rows")
    _same_size(y.shape[1], U, "affine_forward y columns")
    if b is not None:
        _same_size(b.shape[0], U, "affine_forward b")
    if N == 0 or U == 0 or D == 0:
        raise ValueError("affine_forward: empty operand")
    cdef const floating *pb = &b[0] if b is not None else NULL
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_affine_forward_f32(&y[0, 0], &x[0, 0], &w[0, 0], pb, N, D, U, relu, n_threads)
        else:
            rc = cnet_affine_forward_f64(&y[0, 0], &x[0, 0], &w[0, 0], pb, N, D, U, relu, n_threads)
    _check_alloc(rc, "affine_forward")


def affine_backward(floating[:, ::1] dw, floating[:, ::1] dx, floating[::1] db, const floating[:, ::1] dy,
                    const floating[:, ::1] x, const floating[:, ::1] w, int n_threads):
    """dx and db may be None (not computed). dw comes first: Cython picks the dtype from it."""
    cdef int64_t N = x.shape[0], D = x.shape[1], U = w.shape[1]
    _same_size(w.shape[0], D, "affine_backward w rows / x columns")
    _same_size(dy.shape[0], N, "affine_backward dy rows")
    _same_size(dy.shape[1], U, "affine_backward dy columns")
    _same_size(dw.shape[0], D, "affine_backward dw rows")
    _same_size(dw.shape[1], U, "affine_backward dw columns")
    if dx is not None:
        _same_size(dx.shape[0], N, "affine_backward dx rows")
        _same_size(dx.shape[1], D, "affine_backward dx columns")
    if db is not None:
        _same_size(db.shape[0], U, "affine_backward db")
    if N == 0 or U == 0 or D == 0:
        raise ValueError("affine_backward: empty operand")
    cdef floating *pdx = &dx[0, 0] if dx is not None else NULL
    cdef floating *pdb = &db[0] if db is not None else NULL
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_affine_backward_f32(pdx, &dw[0, 0], pdb, &dy[0, 0], &x[0, 0], &w[0, 0], N, D, U,
                                          n_threads)
        else:
            rc = cnet_affine_backward_f64(pdx, &dw[0, 0], pdb, &dy[0, 0], &x[0, 0], &w[0, 0], N, D, U,
                                          n_threads)
    _check_alloc(rc, "affine_backward")
