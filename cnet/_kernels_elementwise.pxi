# Bindings of the elementwise kernels; included by _kernels.pyx (same directives, same cimports).
# Activations (sigmoid, tanh, softmax), mse, dropout, batch normalisation, optimizer updates.
# Every array is a flat (or (rows, L)) C-contiguous view; the Python side (cnet/_ops_elementwise.py) has
# checked dtypes, shapes and values, this file checks only that sizes agree before C sees a pointer.
from libc.stdint cimport uint64_t

cdef extern from "cnet.h" nogil:
    void cnet_sigmoid_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_sigmoid_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_sigmoid_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_sigmoid_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)
    void cnet_tanh_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_tanh_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_tanh_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_tanh_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)
    void cnet_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t L, int n_threads)
    void cnet_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t L, int n_threads)
    void cnet_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows, int64_t L,
                                   int n_threads)
    void cnet_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows, int64_t L,
                                   int n_threads)

    double cnet_mse_forward_f32(const float *y, const float *t, int64_t n, int n_threads)
    double cnet_mse_forward_f64(const double *y, const double *t, int64_t n, int n_threads)
    void cnet_mse_backward_f32(float *dy, const float *y, const float *t, int64_t n, int n_threads)
    void cnet_mse_backward_f64(double *dy, const double *y, const double *t, int64_t n, int n_threads)

    void cnet_dropout_mask_f32(float *mask, int64_t n, double rate, uint64_t seed, int n_threads)
    void cnet_dropout_mask_f64(double *mask, int64_t n, double rate, uint64_t seed, int n_threads)
    void cnet_dropout_forward_f32(float *y, float *mask, const float *x, int64_t n, double rate,
                                  uint64_t seed, int n_threads)
    void cnet_dropout_forward_f64(double *y, double *mask, const double *x, int64_t n, double rate,
                                  uint64_t seed, int n_threads)
    void cnet_dropout_backward_f32(float *dx, const float *dy, const float *mask, int64_t n, int n_threads)
    void cnet_dropout_backward_f64(double *dx, const double *dy, const double *mask, int64_t n,
                                   int n_threads)

    int cnet_batchnorm_forward_f32(float *y, float *mean, float *inv_std, const float *x,
                                   const float *gamma, const float *beta, double eps,
                                   int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_forward_f64(double *y, double *mean, double *inv_std, const double *x,
                                   const double *gamma, const double *beta, double eps,
                                   int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_backward_f32(float *dx, float *dgamma, float *dbeta, const float *dy,
                                    const float *x, const float *gamma, const float *mean,
                                    const float *inv_std, int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_backward_f64(double *dx, double *dgamma, double *dbeta, const double *dy,
                                    const double *x, const double *gamma, const double *mean,
                                    const double *inv_std, int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_inference_f32(float *y, const float *x, const float *gamma, const float *beta,
                                     const float *running_mean, const float *running_var, double eps,
                                     int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_inference_f64(double *y, const double *x, const double *gamma, const double *beta,
                                     const double *running_mean, const double *running_var, double eps,
                                     int64_t N, int64_t C, int64_t S, int n_threads)

    void cnet_sgd_update_f32(float *p, const float *g, int64_t n, double lr, double weight_decay,
                             int n_threads)
    void cnet_sgd_update_f64(double *p, const double *g, int64_t n, double lr, double weight_decay,
                             int n_threads)
    void cnet_momentum_update_f32(float *p, float *v, const float *g, int64_t n, double lr,
                                  double momentum, double weight_decay, int n_threads)
    void cnet_momentum_update_f64(double *p, double *v, const double *g, int64_t n, double lr,
                                  double momentum, double weight_decay, int n_threads)
    void cnet_nesterov_update_f32(float *p, float *v, const float *g, int64_t n, double lr,
                                  double momentum, double weight_decay, int n_threads)
    void cnet_nesterov_update_f64(double *p, double *v, const double *g, int64_t n, double lr,
                                  double momentum, double weight_decay, int n_threads)
    void cnet_adagrad_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double eps,
                                 double weight_decay, int n_threads)
    void cnet_adagrad_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double eps,
                                 double weight_decay, int n_threads)
    void cnet_rmsprop_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double rho,
                                 double eps, double weight_decay, int n_threads)
    void cnet_rmsprop_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double rho,
                                 double eps, double weight_decay, int n_threads)
    void cnet_adam_update_f32(float *p, float *m, float *v, const float *g, int64_t n, double lr,
                              double beta1, double beta2, double eps, int64_t t, double weight_decay,
                              int n_threads)
    void cnet_adam_update_f64(double *p, double *m, double *v, const double *g, int64_t n, double lr,
                              double beta1, double beta2, double eps, int64_t t, double weight_decay,
                              int n_threads)
    void cnet_adadelta_update_f32(float *p, float *h, float *d, const float *g, int64_t n, double lr,
                                  double rho, double eps, double weight_decay, int n_threads)
    void cnet_adadelta_update_f64(double *p, double *h, double *d, const double *g, int64_t n, double lr,
                                  double rho, double eps, double weight_decay, int n_threads)


# ---- sigmoid, tanh, softmax ---------------------------------------------------------------------

def sigmoid_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _same_size(y.shape[0], x.shape[0], "sigmoid_forward y/x")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_sigmoid_forward_f32(&y[0], &x[0], n, n_threads)
        else:
            cnet_sigmoid_forward_f64(&y[0], &x[0], n, n_threads)

def sigmoid_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _same_size(dx.shape[0], dy.shape[0], "sigmoid_backward dx/dy")
    _same_size(dx.shape[0], y.shape[0], "sigmoid_backward dx/y")
    cdef int64_t n = dx.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_sigmoid_backward_f32(&dx[0], &dy[0], &y[0], n, n_threads)
        else:
            cnet_sigmoid_backward_f64(&dx[0], &dy[0], &y[0], n, n_threads)

def tanh_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _same_size(y.shape[0], x.shape[0], "tanh_forward y/x")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_tanh_forward_f32(&y[0], &x[0], n, n_threads)
        else:
            cnet_tanh_forward_f64(&y[0], &x[0], n, n_threads)

def tanh_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _same_size(dx.shape[0], dy.shape[0], "tanh_backward dx/dy")
    _same_size(dx.shape[0], y.shape[0], "tanh_backward dx/y")
    cdef int64_t n = dx.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_tanh_backward_f32(&dx[0], &dy[0], &y[0], n, n_threads)
        else:
            cnet_tanh_backward_f64(&dx[0], &dy[0], &y[0], n, n_threads)

def softmax_forward(floating[:, ::1] y, const floating[:, ::1] x, int n_threads):
    cdef int64_t rows = x.shape[0], L = x.shape[1]
    _same_size(y.shape[0], rows, "softmax_forward y/x rows")
    _same_size(y.shape[1], L, "softmax_forward y/x columns")
    if rows == 0 or L == 0:
        return
    with nogil:
        if floating is float:
            cnet_softmax_forward_f32(&y[0, 0], &x[0, 0], rows, L, n_threads)
        else:
            cnet_softmax_forward_f64(&y[0, 0], &x[0, 0], rows, L, n_threads)

def softmax_backward(floating[:, ::1] dx, const floating[:, ::1] dy, const floating[:, ::1] y,
                     int n_threads):
    cdef int64_t rows = y.shape[0], L = y.shape[1]
    _same_size(dx.shape[0], rows, "softmax_backward dx/y rows")
    _same_size(dx.shape[1], L, "softmax_backward dx/y columns")
    _same_size(dy.shape[0], rows, "softmax_backward dy/y rows")
    _same_size(dy.shape[1], L, "softmax_backward dy/y columns")
    if rows == 0 or L == 0:
        return
    with nogil:
        if floating is float:
            cnet_softmax_backward_f32(&dx[0, 0], &dy[0, 0], &y[0, 0], rows, L, n_threads)
        else:
            cnet_softmax_backward_f64(&dx[0, 0], &dy[0, 0], &y[0, 0], rows, L, n_threads)


# ---- mean squared error ---------------------------------------------------------------------------

def mse_forward(const floating[::1] y, const floating[::1] t, int n_threads):
    _same_size(y.shape[0], t.shape[0], "mse_forward y/t")
    cdef int64_t n = y.shape[0]
    cdef double loss = 0.0
    if n == 0:
        return 0.0
    with nogil:
        if floating is float:
            loss = cnet_mse_forward_f32(&y[0], &t[0], n, n_threads)
        else:
            loss = cnet_mse_forward_f64(&y[0], &t[0], n, n_threads)
    return loss

def mse_backward(floating[::1] dy, const floating[::1] y, const floating[::1] t, int n_threads):
    _same_size(dy.shape[0], y.shape[0], "mse_backward dy/y")
    _same_size(dy.shape[0], t.shape[0], "mse_backward dy/t")
    cdef int64_t n = y.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_mse_backward_f32(&dy[0], &y[0], &t[0], n, n_threads)
        else:
            cnet_mse_backward_f64(&dy[0], &y[0], &t[0], n, n_threads)


# ---- dropout --------------------------------------------------------------------------------------

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
    _same_size(dx.shape[0], dy.shape[0], "dropout_backward dx/dy")
    _same_size(dx.shape[0], mask.shape[0], "dropout_backward dx/mask")
    cdef int64_t n = dy.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_dropout_backward_f32(&dx[0], &dy[0], &mask[0], n, n_threads)
        else:
            cnet_dropout_backward_f64(&dx[0], &dy[0], &mask[0], n, n_threads)


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


# ---- optimizer updates (p and the state in place; g read only) ----------------------------------

def sgd_update(floating[::1] p, const floating[::1] g, double lr, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "sgd_update p/g")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_sgd_update_f32(&p[0], &g[0], n, lr, weight_decay, n_threads)
        else:
            cnet_sgd_update_f64(&p[0], &g[0], n, lr, weight_decay, n_threads)

def momentum_update(floating[::1] p, floating[::1] v, const floating[::1] g, double lr, double momentum,
                    double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "momentum_update p/g")
    _same_size(p.shape[0], v.shape[0], "momentum_update p/v")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_momentum_update_f32(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
        else:
            cnet_momentum_update_f64(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)

def nesterov_update(floating[::1] p, floating[::1] v, const floating[::1] g, double lr, double momentum,
                    double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "nesterov_update p/g")
    _same_size(p.shape[0], v.shape[0], "nesterov_update p/v")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_nesterov_update_f32(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
        else:
            cnet_nesterov_update_f64(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)

def adagrad_update(floating[::1] p, floating[::1] h, const floating[::1] g, double lr, double eps,
                   double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adagrad_update p/g")
    _same_size(p.shape[0], h.shape[0], "adagrad_update p/h")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_adagrad_update_f32(&p[0], &h[0], &g[0], n, lr, eps, weight_decay, n_threads)
        else:
            cnet_adagrad_update_f64(&p[0], &h[0], &g[0], n, lr, eps, weight_decay, n_threads)

def rmsprop_update(floating[::1] p, floating[::1] h, const floating[::1] g, double lr, double rho,
                   double eps, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "rmsprop_update p/g")
    _same_size(p.shape[0], h.shape[0], "rmsprop_update p/h")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_rmsprop_update_f32(&p[0], &h[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)
        else:
            cnet_rmsprop_update_f64(&p[0], &h[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)

def adam_update(floating[::1] p, floating[::1] m, floating[::1] v, const floating[::1] g, double lr,
                double beta1, double beta2, double eps, int64_t t, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adam_update p/g")
    _same_size(p.shape[0], m.shape[0], "adam_update p/m")
    _same_size(p.shape[0], v.shape[0], "adam_update p/v")
    if t < 1:
        raise ValueError(f"Adam's step count t starts at 1, got {t}")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_adam_update_f32(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, weight_decay,
                                 n_threads)
        else:
            cnet_adam_update_f64(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, weight_decay,
                                 n_threads)

def adadelta_update(floating[::1] p, floating[::1] h, floating[::1] d, const floating[::1] g, double lr,
                    double rho, double eps, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adadelta_update p/g")
    _same_size(p.shape[0], h.shape[0], "adadelta_update p/h")
    _same_size(p.shape[0], d.shape[0], "adadelta_update p/d")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_adadelta_update_f32(&p[0], &h[0], &d[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)
        else:
            cnet_adadelta_update_f64(&p[0], &h[0], &d[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)
