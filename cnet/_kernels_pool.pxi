# Bindings of the pool family: 2-D max and average pooling (src/pool*.c). Included by _kernels.pyx
# (its directives, cimports and shared helpers apply); the checks for users: cnet/ops/pool.py.

def maxpool2d_forward(floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] argmax,
                      const floating[:, :, :, ::1] x, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "maxpool2d_forward")
    if PH >= KH or PW >= KW:
        raise ValueError(f"maxpool2d_forward: pad {(PH, PW)} must be smaller than the window {(KH, KW)}")
    _same_shape((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, C, OH, OW), "maxpool2d_forward y")
    _same_shape((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (N, C, OH, OW), "maxpool2d_forward argmax")
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
    _same_shape((dy.shape[0], dy.shape[1]), (N, C), "maxpool2d_backward dy/dx")
    _same_shape((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), "maxpool2d_backward argmax/dy")
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
    _same_shape((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, C, OH, OW), "avgpool2d_forward y")
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
    _same_shape((dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, C, OH, OW), "avgpool2d_backward dy")
    if N * C == 0:
        return
    with nogil:
        if floating is float:
            cnet_avgpool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH,
                                        PW, n_threads)
        else:
            cnet_avgpool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], N, C, H, W, KH, KW, SH, SW, PH,
                                        PW, n_threads)
