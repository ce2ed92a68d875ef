# Bindings of the regularization family: dropout and batch normalization (src/regularization*.c).
# Included by _kernels.pyx (its directives, cimports and shared helpers apply); the checks for users:
# cnet/ops/regularization.py. Dropout takes flat views, batch normalization x as (N, C, S).

cdef void _check_rate(double rate) except *:
    if not (0.0 <= rate < 1.0):
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")

def dropout_mask(floating[::1] mask, double rate, uint64_t seed, int n_threads):
    _check_rate(rate)
    cdef int64_t n = mask.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_dropout_mask_f32(&mask[0], n, rate, seed, n_threads)
        else:
            cnet_dropout_mask_f64(&mask[0], n, rate, seed, n_threads)

def dropout_forward(floating[::1] y, floating[::1] mask, const floating[::1] x, double rate, uint64_t seed,
                    int n_threads):
    _check_rate(rate)
    _same_size(y.shape[0], x.shape[0], "dropout_forward y/x")
    _same_size(mask.shape[0], x.shape[0], "dropout_forward mask/x")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_dropout_forward_f32(&y[0], &mask[0], &x[0], n, rate, seed, n_threads)
        else:
            cnet_dropout_forward_f64(&y[0], &mask[0], &x[0], n, rate, seed, n_threads)

def dropout_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] mask, int n_threads):
    _map2(dx, dy, mask, n_threads, cnet_dropout_backward_f32, cnet_dropout_backward_f64,
          "dropout_backward dx/dy/mask")

def dropout_forward_keep(floating[::1] y, uint8_t[::1] keep, const floating[::1] x, double rate, uint64_t seed,
                         int n_threads):
    _check_rate(rate)
    _same_size(y.shape[0], x.shape[0], "dropout_forward_keep y/x")
    _same_size(keep.shape[0], x.shape[0], "dropout_forward_keep keep/x")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_dropout_forward_keep_f32(&y[0], &keep[0], &x[0], n, rate, seed, n_threads)
        else:
            cnet_dropout_forward_keep_f64(&y[0], &keep[0], &x[0], n, rate, seed, n_threads)

def dropout_backward_keep(floating[::1] dx, const floating[::1] dy, const uint8_t[::1] keep, double rate,
                          int n_threads):
    _check_rate(rate)
    _same_size(dx.shape[0], dy.shape[0], "dropout_backward_keep dx/dy")
    _same_size(keep.shape[0], dy.shape[0], "dropout_backward_keep keep/dy")
    cdef int64_t n = dy.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_dropout_backward_keep_f32(&dx[0], &dy[0], &keep[0], n, rate, n_threads)
        else:
            cnet_dropout_backward_keep_f64(&dx[0], &dy[0], &keep[0], n, rate, n_threads)


# ---- batch normalisation: x as (N, C, S) --------------------------------------------------------

cdef void _bn_sizes(Py_ssize_t *a, Py_ssize_t *b, str what) except *:
    _same_size(a[0], b[0], what + " N")
    _same_size(a[1], b[1], what + " C")
    _same_size(a[2], b[2], what + " S")

def batchnorm_forward(floating[:, :, ::1] y, floating[::1] mean, floating[::1] inv_std,
                      const floating[:, :, ::1] x, const floating[::1] gamma, const floating[::1] beta,
                      double eps, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef int rc = 0
    _bn_sizes(&y.shape[0], &x.shape[0], "batchnorm_forward y/x")
    _same_size(mean.shape[0], C, "batchnorm_forward mean/channels")
    _same_size(inv_std.shape[0], C, "batchnorm_forward inv_std/channels")
    _same_size(gamma.shape[0], C, "batchnorm_forward gamma/channels")
    _same_size(beta.shape[0], C, "batchnorm_forward beta/channels")
    if N == 0 or C == 0 or S == 0:
        raise ValueError("batchnorm_forward: empty x")
    with nogil:
        if floating is float:
            rc = cnet_batchnorm_forward_f32(&y[0, 0, 0], &mean[0], &inv_std[0], &x[0, 0, 0], &gamma[0],
                                            &beta[0], eps, N, C, S, n_threads)
        else:
            rc = cnet_batchnorm_forward_f64(&y[0, 0, 0], &mean[0], &inv_std[0], &x[0, 0, 0], &gamma[0],
                                            &beta[0], eps, N, C, S, n_threads)
    _check_alloc(rc, "batchnorm_forward")

def batchnorm_backward(floating[:, :, ::1] dx, floating[::1] dgamma, floating[::1] dbeta,
                       const floating[:, :, ::1] dy, const floating[:, :, ::1] x, const floating[::1] gamma,
                       const floating[::1] mean, const floating[::1] inv_std, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef int rc = 0
    _bn_sizes(&dx.shape[0], &x.shape[0], "batchnorm_backward dx/x")
    _bn_sizes(&dy.shape[0], &x.shape[0], "batchnorm_backward dy/x")
    _same_size(dgamma.shape[0], C, "batchnorm_backward dgamma/channels")
    _same_size(dbeta.shape[0], C, "batchnorm_backward dbeta/channels")
    _same_size(gamma.shape[0], C, "batchnorm_backward gamma/channels")
    _same_size(mean.shape[0], C, "batchnorm_backward mean/channels")
    _same_size(inv_std.shape[0], C, "batchnorm_backward inv_std/channels")
    if N == 0 or C == 0 or S == 0:
        raise ValueError("batchnorm_backward: empty x")
    with nogil:
        if floating is float:
            rc = cnet_batchnorm_backward_f32(&dx[0, 0, 0], &dgamma[0], &dbeta[0], &dy[0, 0, 0], &x[0, 0, 0],
                                             &gamma[0], &mean[0], &inv_std[0], N, C, S, n_threads)
        else:
            rc = cnet_batchnorm_backward_f64(&dx[0, 0, 0], &dgamma[0], &dbeta[0], &dy[0, 0, 0], &x[0, 0, 0],
                                             &gamma[0], &mean[0], &inv_std[0], N, C, S, n_threads)
    _check_alloc(rc, "batchnorm_backward")

def batchnorm_inference(floating[:, :, ::1] y, const floating[:, :, ::1] x, const floating[::1] gamma,
                        const floating[::1] beta, const floating[::1] running_mean,
                        const floating[::1] running_var, double eps, int n_threads):
    cdef int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2]
    cdef int rc = 0
    _bn_sizes(&y.shape[0], &x.shape[0], "batchnorm_inference y/x")
    _same_size(gamma.shape[0], C, "batchnorm_inference gamma/channels")
    _same_size(beta.shape[0], C, "batchnorm_inference beta/channels")
    _same_size(running_mean.shape[0], C, "batchnorm_inference running_mean/channels")
    _same_size(running_var.shape[0], C, "batchnorm_inference running_var/channels")
    if N == 0 or C == 0 or S == 0:
        raise ValueError("batchnorm_inference: empty x")
    with nogil:
        if floating is float:
            rc = cnet_batchnorm_inference_f32(&y[0, 0, 0], &x[0, 0, 0], &gamma[0], &beta[0],
                                              &running_mean[0], &running_var[0], eps, N, C, S, n_threads)
        else:
            rc = cnet_batchnorm_inference_f64(&y[0, 0, 0], &x[0, 0, 0], &gamma[0], &beta[0],
                                              &running_mean[0], &running_var[0], eps, N, C, S, n_threads)
    _check_alloc(rc, "batchnorm_inference")
