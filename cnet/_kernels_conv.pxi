# Bindings of the conv family: im2col/col2im and 2-D convolution (src/conv*.c). Included by _kernels.pyx
# (its directives, cimports and shared helpers apply); the checks for users: cnet/ops/conv.py.

def im2col(floating[:, ::1] col, const floating[:, :, :, ::1] x, int64_t KH, int64_t KW, int64_t SH,
           int64_t SW, int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "im2col")
    _same_shape((col.shape[0], col.shape[1]), (N * OH * OW, C * KH * KW), "im2col col")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_im2col_f32(&col[0, 0], &x[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            cnet_im2col_f64(&col[0, 0], &x[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)


def col2im(floating[:, :, :, ::1] x, const floating[:, ::1] col, int64_t KH, int64_t KW, int64_t SH,
           int64_t SW, int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "col2im")
    _same_shape((col.shape[0], col.shape[1]), (N * OH * OW, C * KH * KW), "col2im col")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_col2im_f32(&x[0, 0, 0, 0], &col[0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            cnet_col2im_f64(&x[0, 0, 0, 0], &col[0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)


def conv2d_forward(floating[:, :, :, ::1] y, const floating[:, :, :, ::1] x,
                   const floating[:, :, :, ::1] w, const floating[::1] b, int64_t SH, int64_t SW,
                   int64_t PH, int64_t PW, bint relu, int n_threads):
    """b may be None (no bias)."""
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int64_t K = w.shape[0], KH = w.shape[2], KW = w.shape[3], OH, OW
    cdef const floating *bp = NULL
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "conv2d_forward")
    _same_size(w.shape[1], C, "conv2d_forward w/x channels")
    _same_shape((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, K, OH, OW), "conv2d_forward y")
    if b is not None:
        _same_size(b.shape[0], K, "conv2d_forward b/w filters")
    if N * C * K == 0:
        raise ValueError("conv2d_forward: empty x or w")
    if b is not None:
        bp = &b[0]
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_conv2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], bp,
                                         N, C, H, W, K, KH, KW, SH, SW, PH, PW, relu, n_threads)
        else:
            rc = cnet_conv2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], bp,
                                         N, C, H, W, K, KH, KW, SH, SW, PH, PW, relu, n_threads)
    _check_alloc(rc, "conv2d_forward")


def conv2d_backward(dx, floating[:, :, :, ::1] dw, floating[::1] db,
                    const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                    const floating[:, :, :, ::1] w, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                    int n_threads):
    """dx may be None (the data gradient is then not computed). (dx is an untyped argument so that
    None does not decide the fused dtype; it is typed below, after the dtype is known from dw.)"""
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int64_t K = w.shape[0], KH = w.shape[2], KW = w.shape[3], OH, OW
    cdef floating *dxp = NULL
    cdef floating[:, :, :, ::1] dxv
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "conv2d_backward")
    _same_size(w.shape[1], C, "conv2d_backward w/x channels")
    _same_shape((dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, K, OH, OW), "conv2d_backward dy")
    _same_shape((dw.shape[0], dw.shape[1], dw.shape[2], dw.shape[3]), (w.shape[0], w.shape[1], w.shape[2], w.shape[3]), "conv2d_backward dw")
    _same_size(db.shape[0], K, "conv2d_backward db/w filters")
    if dx is not None:
        dxv = dx
        _same_shape((dxv.shape[0], dxv.shape[1], dxv.shape[2], dxv.shape[3]),
                     (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), "conv2d_backward dx")
    if N * C * K == 0:
        raise ValueError("conv2d_backward: empty x or w")
    if dx is not None:
        dxp = &dxv[0, 0, 0, 0]
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_conv2d_backward_f32(dxp, &dw[0, 0, 0, 0], &db[0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                          &w[0, 0, 0, 0], N, C, H, W, K, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            rc = cnet_conv2d_backward_f64(dxp, &dw[0, 0, 0, 0], &db[0], &dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                          &w[0, 0, 0, 0], N, C, H, W, K, KH, KW, SH, SW, PH, PW, n_threads)
    _check_alloc(rc, "conv2d_backward")
