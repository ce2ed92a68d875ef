# Bindings of the optim family: the optimizers' updates (src/optim*.c), p and the state in place, g read
# only. Included by _kernels.pyx (its directives, cimports and shared helpers apply); the checks for
# users: cnet/ops/optim.py. Each returns the kernel's bitmask of the arrays left holding NaN or Inf
# (bit 0 p, bits 1, 2 the state arrays in argument order; 0 when all are finite).

def sgd_update(floating[::1] p, const floating[::1] g, double lr, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "sgd_update p/g")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_sgd_update_f32(&p[0], &g[0], n, lr, weight_decay, n_threads)
        else:
            bad = cnet_sgd_update_f64(&p[0], &g[0], n, lr, weight_decay, n_threads)
    return bad

def momentum_update(floating[::1] p, floating[::1] v, const floating[::1] g, double lr, double momentum,
                    double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "momentum_update p/g")
    _same_size(p.shape[0], v.shape[0], "momentum_update p/v")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_momentum_update_f32(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
        else:
            bad = cnet_momentum_update_f64(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
    return bad

def nesterov_update(floating[::1] p, floating[::1] v, const floating[::1] g, double lr, double momentum,
                    double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "nesterov_update p/g")
    _same_size(p.shape[0], v.shape[0], "nesterov_update p/v")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_nesterov_update_f32(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
        else:
            bad = cnet_nesterov_update_f64(&p[0], &v[0], &g[0], n, lr, momentum, weight_decay, n_threads)
    return bad

def adagrad_update(floating[::1] p, floating[::1] h, const floating[::1] g, double lr, double eps,
                   double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adagrad_update p/g")
    _same_size(p.shape[0], h.shape[0], "adagrad_update p/h")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_adagrad_update_f32(&p[0], &h[0], &g[0], n, lr, eps, weight_decay, n_threads)
        else:
            bad = cnet_adagrad_update_f64(&p[0], &h[0], &g[0], n, lr, eps, weight_decay, n_threads)
    return bad

def rmsprop_update(floating[::1] p, floating[::1] h, const floating[::1] g, double lr, double rho,
                   double eps, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "rmsprop_update p/g")
    _same_size(p.shape[0], h.shape[0], "rmsprop_update p/h")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_rmsprop_update_f32(&p[0], &h[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)
        else:
            bad = cnet_rmsprop_update_f64(&p[0], &h[0], &g[0], n, lr, rho, eps, weight_decay, n_threads)
    return bad

def adam_update(floating[::1] p, floating[::1] m, floating[::1] v, const floating[::1] g, double lr,
                double beta1, double beta2, double eps, int64_t t, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adam_update p/g")
    _same_size(p.shape[0], m.shape[0], "adam_update p/m")
    _same_size(p.shape[0], v.shape[0], "adam_update p/v")
    if t < 1:
        raise ValueError(f"Adam's step count t starts at 1, got {t}")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_adam_update_f32(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, weight_decay,
                                       n_threads)
        else:
            bad = cnet_adam_update_f64(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, weight_decay,
                                       n_threads)
    return bad

def adadelta_update(floating[::1] p, floating[::1] h, floating[::1] d, const floating[::1] g, double lr,
                    double rho, double eps, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adadelta_update p/g")
    _same_size(p.shape[0], h.shape[0], "adadelta_update p/h")
    _same_size(p.shape[0], d.shape[0], "adadelta_update p/d")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_adadelta_update_f32(&p[0], &h[0], &d[0], &g[0], n, lr, rho, eps, weight_decay,
                                           n_threads)
        else:
            bad = cnet_adadelta_update_f64(&p[0], &h[0], &d[0], &g[0], n, lr, rho, eps, weight_decay,
                                           n_threads)
    return bad

def adamax_update(floating[::1] p, floating[::1] m, floating[::1] u, const floating[::1] g, double lr,
                  double beta1, double beta2, double eps, int64_t t, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "adamax_update p/g")
    _same_size(p.shape[0], m.shape[0], "adamax_update p/m")
    _same_size(p.shape[0], u.shape[0], "adamax_update p/u")
    if t < 1:
        raise ValueError(f"Adamax's step count t starts at 1, got {t}")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_adamax_update_f32(&p[0], &m[0], &u[0], &g[0], n, lr, beta1, beta2, eps, t,
                                         weight_decay, n_threads)
        else:
            bad = cnet_adamax_update_f64(&p[0], &m[0], &u[0], &g[0], n, lr, beta1, beta2, eps, t,
                                         weight_decay, n_threads)
    return bad

def nadam_update(floating[::1] p, floating[::1] m, floating[::1] v, const floating[::1] g, double lr,
                 double beta1, double beta2, double eps, int64_t t, double mu_t, double mu_next,
                 double m_schedule, double weight_decay, int n_threads):
    _same_size(p.shape[0], g.shape[0], "nadam_update p/g")
    _same_size(p.shape[0], m.shape[0], "nadam_update p/m")
    _same_size(p.shape[0], v.shape[0], "nadam_update p/v")
    if t < 1:
        raise ValueError(f"Nadam's step count t starts at 1, got {t}")
    cdef int64_t n = p.shape[0]
    if n == 0:
        return 0
    cdef int bad
    with nogil:
        if floating is float:
            bad = cnet_nadam_update_f32(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, mu_t,
                                        mu_next, m_schedule, weight_decay, n_threads)
        else:
            bad = cnet_nadam_update_f64(&p[0], &m[0], &v[0], &g[0], n, lr, beta1, beta2, eps, t, mu_t,
                                        mu_next, m_schedule, weight_decay, n_threads)
    return bad
