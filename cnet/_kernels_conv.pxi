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


# ---- direct convolution on the channel-blocked layout (src/conv_direct*.c) ------------------------
# Blocked activations are (N, Cb, H, W, cb), Cb = ceil(C / cb); the block width cb is read from the
# arrays, the channel counts C, K from the arguments (the blocks hide them). cnet.h: the layouts.

cdef inline int64_t _blocks(int64_t c, int64_t cb):
    return (c + cb - 1) // cb


cdef inline void _check_layout(int status, str op) except *:
    if status == CNET_ERR_LAYOUT:
        raise ValueError(f"{op}: the block width is no SIMD path's width for this dtype on this CPU "
                         f"(blocked arrays must be made with blk_width() of the path in force)")
    _check_alloc(status, op)


def blk_width(bint f64):
    """The block width cb of the SIMD path in force: floats (f64 False) or doubles per vector."""
    return cnet_blk_width_f64() if f64 else cnet_blk_width_f32()


def to_blocked(floating[:, :, :, :, ::1] xb, const floating[:, :, :, ::1] x, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], cb = xb.shape[4]
    if cb < 1:
        raise ValueError("to_blocked: block width must be >= 1")
    _same_shape((xb.shape[0], xb.shape[1], xb.shape[2], xb.shape[3], xb.shape[4]), (N, _blocks(C, cb), H, W, cb), "to_blocked xb")
    if N * C * H * W == 0:
        return
    with nogil:
        if floating is float:
            cnet_blk_from_nchw_f32(&xb[0, 0, 0, 0, 0], &x[0, 0, 0, 0], N, C, H, W, cb, n_threads)
        else:
            cnet_blk_from_nchw_f64(&xb[0, 0, 0, 0, 0], &x[0, 0, 0, 0], N, C, H, W, cb, n_threads)


def from_blocked(floating[:, :, :, ::1] x, const floating[:, :, :, :, ::1] xb, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], cb = xb.shape[4]
    if cb < 1:
        raise ValueError("from_blocked: block width must be >= 1")
    _same_shape((xb.shape[0], xb.shape[1], xb.shape[2], xb.shape[3], xb.shape[4]), (N, _blocks(C, cb), H, W, cb), "from_blocked xb")
    if N * C * H * W == 0:
        return
    with nogil:
        if floating is float:
            cnet_blk_to_nchw_f32(&x[0, 0, 0, 0], &xb[0, 0, 0, 0, 0], N, C, H, W, cb, n_threads)
        else:
            cnet_blk_to_nchw_f64(&x[0, 0, 0, 0], &xb[0, 0, 0, 0, 0], N, C, H, W, cb, n_threads)


def conv2d_blk_weights(floating[:, :, :, :, :, ::1] wb, const floating[:, :, :, ::1] w, bint plain):
    """w (K, C, KH, KW) -> wb (Kb, Cb, KH, KW, cb, cb), or (Kb, 1, KH, KW, C, cb) when plain."""
    cdef int64_t K = w.shape[0], C = w.shape[1], KH = w.shape[2], KW = w.shape[3], cb = wb.shape[5]
    if cb < 1 or K * C * KH * KW == 0:
        raise ValueError("conv2d_blk_weights: empty w or block width < 1")
    cdef int64_t one = 1
    expected = (_blocks(K, cb), one, KH, KW, C, cb) if plain else (_blocks(K, cb), _blocks(C, cb), KH, KW, cb, cb)
    _same_shape((wb.shape[0], wb.shape[1], wb.shape[2], wb.shape[3], wb.shape[4], wb.shape[5]), expected, "conv2d_blk_weights wb")
    with nogil:
        if floating is float:
            cnet_conv2d_blk_weights_f32(&wb[0, 0, 0, 0, 0, 0], &w[0, 0, 0, 0], K, C, KH, KW, cb, plain)
        else:
            cnet_conv2d_blk_weights_f64(&wb[0, 0, 0, 0, 0, 0], &w[0, 0, 0, 0], K, C, KH, KW, cb, plain)


def conv2d_blk_weights_bwd(floating[:, :, :, :, :, ::1] wt, const floating[:, :, :, ::1] w):
    """w (K, C, KH, KW) -> wt (Cb, Kb, KH, KW, cb, cb), flipped (the backward-data layout)."""
    cdef int64_t K = w.shape[0], C = w.shape[1], KH = w.shape[2], KW = w.shape[3], cb = wt.shape[5]
    if cb < 1 or K * C * KH * KW == 0:
        raise ValueError("conv2d_blk_weights_bwd: empty w or block width < 1")
    _same_shape((wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3], wt.shape[4], wt.shape[5]), (_blocks(C, cb), _blocks(K, cb), KH, KW, cb, cb), "conv2d_blk_weights_bwd wt")
    with nogil:
        if floating is float:
            cnet_conv2d_blk_weights_bwd_f32(&wt[0, 0, 0, 0, 0, 0], &w[0, 0, 0, 0], K, C, KH, KW, cb)
        else:
            cnet_conv2d_blk_weights_bwd_f64(&wt[0, 0, 0, 0, 0, 0], &w[0, 0, 0, 0], K, C, KH, KW, cb)


def conv2d_blk_forward(floating[:, :, :, :, ::1] yb, x, const floating[:, :, :, :, :, ::1] wb,
                       const floating[::1] b, int64_t C, int64_t K, int64_t SH, int64_t SW, int64_t PH,
                       int64_t PW, bint plain, bint relu, int n_threads):
    """x: (N, C, H, W) when plain, else blocked (N, Cb, H, W, cb); wb from conv2d_blk_weights (same
    plain); b (K,) or None. Overwrites yb (N, Kb, OH, OW, cb)."""
    cdef const floating[:, :, :, ::1] x4
    cdef const floating[:, :, :, :, ::1] x5
    cdef const floating *xp
    cdef const floating *bp = NULL
    cdef int64_t cb = yb.shape[4], KH = wb.shape[2], KW = wb.shape[3], N, H, W, OH, OW
    if plain:
        x4 = x
        N, H, W = x4.shape[0], x4.shape[2], x4.shape[3]
        _same_size(x4.shape[1], C, "conv2d_blk_forward x channels")
        _same_shape((wb.shape[0], wb.shape[1], wb.shape[2], wb.shape[3], wb.shape[4], wb.shape[5]), (_blocks(K, cb), <int64_t>1, KH, KW, C, cb), "conv2d_blk_forward wb")
    else:
        x5 = x
        N, H, W = x5.shape[0], x5.shape[2], x5.shape[3]
        _same_shape((x5.shape[1], x5.shape[4]), (_blocks(C, cb), cb), "conv2d_blk_forward x blocks")
        _same_shape((wb.shape[0], wb.shape[1], wb.shape[2], wb.shape[3], wb.shape[4], wb.shape[5]), (_blocks(K, cb), _blocks(C, cb), KH, KW, cb, cb), "conv2d_blk_forward wb")
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "conv2d_blk_forward")
    _same_shape((yb.shape[0], yb.shape[1], yb.shape[2], yb.shape[3], yb.shape[4]), (N, _blocks(K, cb), OH, OW, cb), "conv2d_blk_forward yb")
    if b is not None:
        _same_size(b.shape[0], K, "conv2d_blk_forward b/filters")
        bp = &b[0]
    if N * C * K == 0:
        raise ValueError("conv2d_blk_forward: empty x or w")
    xp = &x4[0, 0, 0, 0] if plain else &x5[0, 0, 0, 0, 0]
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_conv2d_blk_forward_f32(&yb[0, 0, 0, 0, 0], xp, &wb[0, 0, 0, 0, 0, 0], bp, N, C, H, W, K,
                                             KH, KW, SH, SW, PH, PW, cb, plain, relu, n_threads)
        else:
            rc = cnet_conv2d_blk_forward_f64(&yb[0, 0, 0, 0, 0], xp, &wb[0, 0, 0, 0, 0, 0], bp, N, C, H, W, K,
                                             KH, KW, SH, SW, PH, PW, cb, plain, relu, n_threads)
    _check_layout(rc, "conv2d_blk_forward")


def conv2d_blk_backward_data(floating[:, :, :, :, ::1] dxb, const floating[:, :, :, :, ::1] dyb,
                             const floating[:, :, :, :, :, ::1] wt, int64_t C, int64_t K, int64_t SH,
                             int64_t SW, int64_t PH, int64_t PW, int n_threads):
    """dyb (N, Kb, OH, OW, cb), wt from conv2d_blk_weights_bwd. Overwrites dxb (N, Cb, H, W, cb)."""
    cdef int64_t N = dxb.shape[0], H = dxb.shape[2], W = dxb.shape[3], cb = dxb.shape[4]
    cdef int64_t KH = wt.shape[2], KW = wt.shape[3], OH, OW
    _same_shape((dxb.shape[1],), (_blocks(C, cb),), "conv2d_blk_backward_data dxb blocks")
    _same_shape((wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3], wt.shape[4], wt.shape[5]), (_blocks(C, cb), _blocks(K, cb), KH, KW, cb, cb), "conv2d_blk_backward_data wt")
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "conv2d_blk_backward_data")
    _same_shape((dyb.shape[0], dyb.shape[1], dyb.shape[2], dyb.shape[3], dyb.shape[4]), (N, _blocks(K, cb), OH, OW, cb), "conv2d_blk_backward_data dyb")
    if N * C * K == 0:
        raise ValueError("conv2d_blk_backward_data: empty dx or w")
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_conv2d_blk_backward_data_f32(&dxb[0, 0, 0, 0, 0], &dyb[0, 0, 0, 0, 0], &wt[0, 0, 0, 0, 0, 0],
                                                   N, C, H, W, K, KH, KW, SH, SW, PH, PW, cb, n_threads)
        else:
            rc = cnet_conv2d_blk_backward_data_f64(&dxb[0, 0, 0, 0, 0], &dyb[0, 0, 0, 0, 0], &wt[0, 0, 0, 0, 0, 0],
                                                   N, C, H, W, K, KH, KW, SH, SW, PH, PW, cb, n_threads)
    _check_layout(rc, "conv2d_blk_backward_data")


def conv2d_blk_backward_weights(floating[:, :, :, ::1] dw, db, const floating[:, :, :, :, ::1] dyb, x,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, bint plain, int n_threads):
    """dyb (N, Kb, OH, OW, cb); x as in the forward (plain: NCHW). Overwrites dw (K, C, KH, KW) and db
    (K,) (None: not computed)."""
    cdef const floating[:, :, :, ::1] x4
    cdef const floating[:, :, :, :, ::1] x5
    cdef floating[::1] dbv
    cdef const floating *xp
    cdef floating *dbp = NULL
    cdef int64_t K = dw.shape[0], C = dw.shape[1], KH = dw.shape[2], KW = dw.shape[3], cb = dyb.shape[4]
    cdef int64_t N, H, W, OH, OW
    if plain:
        x4 = x
        N, H, W = x4.shape[0], x4.shape[2], x4.shape[3]
        _same_size(x4.shape[1], C, "conv2d_blk_backward_weights x channels")
    else:
        x5 = x
        N, H, W = x5.shape[0], x5.shape[2], x5.shape[3]
        _same_shape((x5.shape[1], x5.shape[4]), (_blocks(C, cb), cb), "conv2d_blk_backward_weights x blocks")
    OH, OW = _window_out(H, W, KH, KW, SH, SW, PH, PW, "conv2d_blk_backward_weights")
    _same_shape((dyb.shape[0], dyb.shape[1], dyb.shape[2], dyb.shape[3], dyb.shape[4]), (N, _blocks(K, cb), OH, OW, cb), "conv2d_blk_backward_weights dyb")
    if db is not None:
        dbv = db
        _same_size(dbv.shape[0], K, "conv2d_blk_backward_weights db/filters")
        dbp = &dbv[0]
    if N * C * K == 0:
        raise ValueError("conv2d_blk_backward_weights: empty x or dw")
    xp = &x4[0, 0, 0, 0] if plain else &x5[0, 0, 0, 0, 0]
    cdef int rc
    with nogil:
        if floating is float:
            rc = cnet_conv2d_blk_backward_weights_f32(&dw[0, 0, 0, 0], dbp, &dyb[0, 0, 0, 0, 0], xp, N, C, H, W,
                                                      K, KH, KW, SH, SW, PH, PW, cb, plain, n_threads)
        else:
            rc = cnet_conv2d_blk_backward_weights_f64(&dw[0, 0, 0, 0], dbp, &dyb[0, 0, 0, 0, 0], xp, N, C, H, W,
                                                      K, KH, KW, SH, SW, PH, PW, cb, plain, n_threads)
    _check_layout(rc, "conv2d_blk_backward_weights")


def debug_conv2d_blk_force_tile(int kb, int rw, int dw_nc, int dw_kb):
    """Testing hook (process-wide, not thread-safe): force the direct convolution's register tiles;
    all 0 restores the planner's choice. A tile the path has not compiled is ignored."""
    cnet_debug_conv2d_blk_force_tile(kb, rw, dw_nc, dw_kb)


def conv2d_blk_last_tiles():
    """The tiles the planner chose at the last call of each pass (process-wide): a dict."""
    cdef int fkb, frw, bkb, brw, dwa, dwkb
    cdef int64_t chunks
    cnet_conv2d_blk_last_tiles(&fkb, &frw, &bkb, &brw, &dwa, &dwkb, &chunks)
    return {"forward": (fkb, frw), "backward_data": (bkb, brw), "backward_weights": (dwa, dwkb),
            "weight_chunks": chunks}
