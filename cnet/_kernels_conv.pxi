# Bindings of the conv kernels; included by _kernels.pyx (same directives, same cimports).
# im2col/col2im, conv2d and pooling (src/im2col.c, src/conv2d.c, src/pool2d.c). cnet/_ops_conv.py checks
# the arguments for users; here only what keeps a wrong size from reaching C is checked again.

cdef extern from "cnet.h" nogil:
    void cnet_im2col_f32(float *col, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_im2col_f64(double *col, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_col2im_f32(float *x, const float *col, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_col2im_f64(double *x, const double *col, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    int cnet_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads)
    int cnet_conv2d_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads)
    int cnet_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                                 const float *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads)
    int cnet_conv2d_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                                 const double *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads)
    void cnet_maxpool2d_forward_f32(float *y, int64_t *argmax, const float *x, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                    int64_t PH, int64_t PW, int n_threads)
    void cnet_maxpool2d_forward_f64(double *y, int64_t *argmax, const double *x, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                    int64_t PH, int64_t PW, int n_threads)
    void cnet_maxpool2d_backward_f32(float *dx, const float *dy, const int64_t *argmax, int64_t N, int64_t C,
                                     int64_t H, int64_t W, int64_t OH, int64_t OW, int n_threads)
    void cnet_maxpool2d_backward_f64(double *dx, const double *dy, const int64_t *argmax, int64_t N,
                                     int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, int n_threads)
    void cnet_avgpool2d_forward_f32(float *y, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads)
    void cnet_avgpool2d_forward_f64(double *y, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads)
    void cnet_avgpool2d_backward_f32(float *dx, const float *dy, int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                     int n_threads)
    void cnet_avgpool2d_backward_f64(double *dx, const double *dy, int64_t N, int64_t C, int64_t H,
                                     int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                     int64_t PW, int n_threads)


cdef (int64_t, int64_t) _window_out(int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                    int64_t PH, int64_t PW, str what) except *:
    """(OH, OW) of a sliding window, or ValueError for a geometry that C must never see."""
    if KH < 1 or KW < 1 or SH < 1 or SW < 1 or PH < 0 or PW < 0 or H < 1 or W < 1 \
            or H + 2 * PH < KH or W + 2 * PW < KW:
        raise ValueError(f"{what}: invalid geometry: input {(H, W)}, window {(KH, KW)}, "
                         f"stride {(SH, SW)}, pad {(PH, PW)}")
    return (H + 2 * PH - KH) // SH + 1, (W + 2 * PW - KW) // SW + 1


cdef inline void _same_shape4(tuple got, tuple expected, str what) except *:
    if got != expected:
        raise ValueError(f"{what}: shape {got} != expected {expected}")


def im2col(floating[:, ::1] col, const floating[:, :, :, ::1] x, int64_t KH, int64_t KW, int64_t SH,
           int64_t SW, int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "im2col")
    _same_shape4((col.shape[0], col.shape[1]), (N * OH * OW, C * KH * KW), "im2col col")
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
    _same_shape4((col.shape[0], col.shape[1]), (N * OH * OW, C * KH * KW), "col2im col")
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
    _same_shape4((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, K, OH, OW), "conv2d_forward y")
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
    _same_shape4((dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, K, OH, OW), "conv2d_backward dy")
    _same_shape4((dw.shape[0], dw.shape[1], dw.shape[2], dw.shape[3]), (w.shape[0], w.shape[1], w.shape[2], w.shape[3]), "conv2d_backward dw")
    _same_size(db.shape[0], K, "conv2d_backward db/w filters")
    if dx is not None:
        dxv = dx
        _same_shape4((dxv.shape[0], dxv.shape[1], dxv.shape[2], dxv.shape[3]),
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


def maxpool2d_forward(floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] argmax,
                      const floating[:, :, :, ::1] x, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "maxpool2d_forward")
    if PH >= KH or PW >= KW:
        raise ValueError(f"maxpool2d_forward: pad {(PH, PW)} must be smaller than the window {(KH, KW)}")
    _same_shape4((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, C, OH, OW), "maxpool2d_forward y")
    _same_shape4((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (N, C, OH, OW), "maxpool2d_forward argmax")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_maxpool2d_forward_f32(&y[0, 0, 0, 0], &argmax[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            cnet_maxpool2d_forward_f64(&y[0, 0, 0, 0], &argmax[0, 0, 0, 0], &x[0, 0, 0, 0],
                                       N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)


def maxpool2d_backward(floating[:, :, :, ::1] dx, const floating[:, :, :, ::1] dy,
                       const int64_t[:, :, :, ::1] argmax, int n_threads):
    cdef int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef int64_t OH = dy.shape[2], OW = dy.shape[3], i, n_idx, bad = -1
    cdef const int64_t *a
    _same_shape4((dy.shape[0], dy.shape[1]), (N, C), "maxpool2d_backward dy/dx")
    _same_shape4((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), "maxpool2d_backward argmax/dy")
    if N * C * H * W == 0:
        return
    if OH * OW == 0:
        dx[:, :, :, :] = 0
        return
    a = &argmax[0, 0, 0, 0]
    n_idx = N * C * OH * OW
    with nogil:
        for i in range(n_idx):
            if a[i] < 0 or a[i] >= H * W:
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"argmax holds indices outside [0, {H * W}): flat element {bad} is {a[bad]}")
    with nogil:
        if floating is float:
            cnet_maxpool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &argmax[0, 0, 0, 0],
                                        N, C, H, W, OH, OW, n_threads)
        else:
            cnet_maxpool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &argmax[0, 0, 0, 0],
                                        N, C, H, W, OH, OW, n_threads)


def avgpool2d_forward(floating[:, :, :, ::1] y, const floating[:, :, :, ::1] x, int64_t KH, int64_t KW,
                      int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "avgpool2d_forward")
    _same_shape4((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, C, OH, OW), "avgpool2d_forward y")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_avgpool2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW,
                                       n_threads)
        else:
            cnet_avgpool2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH, PW,
                                       n_threads)


def avgpool2d_backward(floating[:, :, :, ::1] dx, const floating[:, :, :, ::1] dy, int64_t KH, int64_t KW,
                       int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "avgpool2d_backward")
    _same_shape4((dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, C, OH, OW), "avgpool2d_backward dy")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_avgpool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH,
                                        PW, n_threads)
        else:
            cnet_avgpool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH,
                                        PW, n_threads)
