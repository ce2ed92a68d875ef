# Bindings of the pool family: 2-D max and average pooling (src/pool*.c). Included by _kernels.pyx
# (its directives, cimports and shared helpers apply); the checks for users: cnet/ops/pool.py.

ctypedef fused pool_arg:     # the maxima's int64 plane indices, or their uint8 window positions
    int64_t
    uint8_t


def maxpool2d_forward(floating[:, :, :, ::1] y, pool_arg[:, :, :, ::1] argmax,
                      const floating[:, :, :, ::1] x, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], OH, OW
    cdef int64_t *index = NULL
    cdef uint8_t *pos = NULL
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "maxpool2d_forward")
    if PH >= KH or PW >= KW:
        raise ValueError(f"maxpool2d_forward: pad {(PH, PW)} must be smaller than the window {(KH, KW)}")
    if pool_arg is uint8_t and KH * KW > 256:
        raise ValueError(f"maxpool2d_forward: window positions are uint8: a window of at most 256 elements, "
                         f"got {(KH, KW)}")
    _same_shape((y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, C, OH, OW), "maxpool2d_forward y")
    _same_shape((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (N, C, OH, OW), "maxpool2d_forward argmax")
    if N * C == 0:
        return
    if pool_arg is uint8_t:
        pos = &argmax[0, 0, 0, 0]
    else:
        index = &argmax[0, 0, 0, 0]
    with nogil:
        if floating is float:
            cnet_maxpool2d_forward_f32(&y[0, 0, 0, 0], index, pos, &x[0, 0, 0, 0],
                                       N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            cnet_maxpool2d_forward_f64(&y[0, 0, 0, 0], index, pos, &x[0, 0, 0, 0],
                                       N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads)


def maxpool2d_backward(floating[:, :, :, ::1] dx, const floating[:, :, :, ::1] dy,
                       const int64_t[:, :, :, ::1] argmax, int n_threads):
    cdef int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef int64_t OH = dy.shape[2], OW = dy.shape[3], i, n_idx, bad = 0
    cdef const int64_t *a
    _same_shape((dy.shape[0], dy.shape[1]), (N, C), "maxpool2d_backward dy/dx")
    _same_shape((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]), (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), "maxpool2d_backward argmax/dy")
    if N * C * H * W == 0:
        return
    if OH * OW == 0:
        dx[:, :, :, :] = 0
        return
    # the kernel skips (and counts) indices outside [0, H*W) as it scatters: no pass of its own here;
    # the first bad one is looked for only when there is one
    with nogil:
        if floating is float:
            bad = cnet_maxpool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &argmax[0, 0, 0, 0], NULL,
                                              N, C, H, W, OH, OW, 0, 0, 0, 0, 0, 0, n_threads)
        else:
            bad = cnet_maxpool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], &argmax[0, 0, 0, 0], NULL,
                                              N, C, H, W, OH, OW, 0, 0, 0, 0, 0, 0, n_threads)
    if bad:
        a = &argmax[0, 0, 0, 0]
        n_idx = N * C * OH * OW
        for i in range(n_idx):
            if a[i] < 0 or a[i] >= H * W:
                raise ValueError(f"argmax holds indices outside [0, {H * W}): flat element {i} is {a[i]}")


def maxpool2d_backward_pos(floating[:, :, :, ::1] dx, const floating[:, :, :, ::1] dy,
                           const uint8_t[:, :, :, ::1] pos, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                           int64_t PH, int64_t PW, int n_threads):
    cdef int64_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3], OH, OW, bad = 0
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "maxpool2d_backward")
    if PH >= KH or PW >= KW or KH * KW > 256:
        raise ValueError(f"maxpool2d_backward: window {(KH, KW)} with pad {(PH, PW)}: expected a pad smaller "
                         f"than the window and a window of at most 256 elements")
    _same_shape((dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, C, OH, OW), "maxpool2d_backward dy")
    _same_shape((pos.shape[0], pos.shape[1], pos.shape[2], pos.shape[3]), (N, C, OH, OW), "maxpool2d_backward pos")
    if N * C * H * W == 0:
        return
    with nogil:
        if floating is float:
            bad = cnet_maxpool2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], NULL, &pos[0, 0, 0, 0],
                                              N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, n_threads)
        else:
            bad = cnet_maxpool2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], NULL, &pos[0, 0, 0, 0],
                                              N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, n_threads)
    if bad:
        raise ValueError(f"pos holds window positions outside their {KH}x{KW} windows or on their padding "
                         f"({bad} of the {N * C} planes)")


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


# ---- 2x2 max pooling on the channel-blocked layout (src/pool_blocked*.c) ----------------------------

cdef inline int64_t _pool_blk_width(int64_t cb, Py_ssize_t itemsize, str what) except -1:
    """cb, which the kernels step through in 32-byte vectors: a multiple of 32 / itemsize."""
    if cb < 1 or (cb * itemsize) % 32 != 0:
        raise ValueError(f"{what}: block width {cb} is not a multiple of {32 // itemsize} (one 32-byte vector)")
    return cb


def maxpool2d_blk_forward(floating[:, :, :, :, ::1] yb, uint8_t[:, :, :, :, ::1] arg,
                          const floating[:, :, :, :, ::1] xb, int n_threads):
    """xb (N, Cb, H, W, cb) -> yb and arg (N, Cb, H//2, W//2, cb): 2x2 windows, stride 2."""
    cdef int64_t N = xb.shape[0], Cb = xb.shape[1], H = xb.shape[2], W = xb.shape[3]
    cdef int64_t cb = _pool_blk_width(xb.shape[4], sizeof(floating), "maxpool2d_blk_forward")
    _same_shape((yb.shape[0], yb.shape[1], yb.shape[2], yb.shape[3], yb.shape[4]), (N, Cb, H // 2, W // 2, cb), "maxpool2d_blk_forward yb")
    _same_shape((arg.shape[0], arg.shape[1], arg.shape[2], arg.shape[3], arg.shape[4]), (N, Cb, H // 2, W // 2, cb), "maxpool2d_blk_forward arg")
    if N * Cb * (H // 2) * (W // 2) == 0:
        return
    with nogil:
        if floating is float:
            cnet_maxpool2d_blk_forward_f32(&yb[0, 0, 0, 0, 0], &arg[0, 0, 0, 0, 0], &xb[0, 0, 0, 0, 0],
                                           N, Cb * cb, H, W, cb, n_threads)
        else:
            cnet_maxpool2d_blk_forward_f64(&yb[0, 0, 0, 0, 0], &arg[0, 0, 0, 0, 0], &xb[0, 0, 0, 0, 0],
                                           N, Cb * cb, H, W, cb, n_threads)


def maxpool2d_blk_backward(floating[:, :, :, :, ::1] dxb, const floating[:, :, :, :, ::1] dyb,
                           const uint8_t[:, :, :, :, ::1] arg, int n_threads):
    """Overwrites dxb (N, Cb, H, W, cb): each dy to its window's maximum (arg, values 0..3), 0 elsewhere."""
    cdef int64_t N = dxb.shape[0], Cb = dxb.shape[1], H = dxb.shape[2], W = dxb.shape[3], i, n, bad = -1
    cdef int64_t cb = _pool_blk_width(dxb.shape[4], sizeof(floating), "maxpool2d_blk_backward")
    cdef const uint8_t *a
    _same_shape((dyb.shape[0], dyb.shape[1], dyb.shape[2], dyb.shape[3], dyb.shape[4]), (N, Cb, H // 2, W // 2, cb), "maxpool2d_blk_backward dyb")
    _same_shape((arg.shape[0], arg.shape[1], arg.shape[2], arg.shape[3], arg.shape[4]), (N, Cb, H // 2, W // 2, cb), "maxpool2d_blk_backward arg")
    if N * Cb * H * W == 0:
        return
    if (H // 2) * (W // 2) == 0:
        dxb[:, :, :, :, :] = 0
        return
    a = &arg[0, 0, 0, 0, 0]
    n = N * Cb * (H // 2) * (W // 2) * cb
    cdef uint8_t bits = 0
    with nogil:
        for i in range(n):      # branch-free (vectorized); a value past 3 sets a bit past the lowest two
            bits |= a[i]
        if bits > 3:
            for i in range(n):
                if a[i] > 3:
                    bad = i
                    break
    if bad >= 0:
        raise ValueError(f"arg holds window positions outside 0..3: flat element {bad} is {a[bad]}")
    with nogil:
        if floating is float:
            cnet_maxpool2d_blk_backward_f32(&dxb[0, 0, 0, 0, 0], &dyb[0, 0, 0, 0, 0], &arg[0, 0, 0, 0, 0],
                                            N, Cb * cb, H, W, cb, n_threads)
        else:
            cnet_maxpool2d_blk_backward_f64(&dxb[0, 0, 0, 0, 0], &dyb[0, 0, 0, 0, 0], &arg[0, 0, 0, 0, 0],
                                            N, Cb * cb, H, W, cb, n_threads)
