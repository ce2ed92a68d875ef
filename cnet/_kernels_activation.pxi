# Bindings of the activation family: ReLU, sigmoid, tanh and softmax (src/activation*.c). Included by
# _kernels.pyx (its directives, cimports and shared helpers apply); the checks for users:
# cnet/ops/activation.py. Element-wise kernels take flat views, softmax (rows, L) views.

def relu_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_relu_forward_f32, cnet_relu_forward_f64, "relu_forward y/x")

def relu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _map2(dx, dy, y, n_threads, cnet_relu_backward_f32, cnet_relu_backward_f64, "relu_backward dx/dy/y")

def sigmoid_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_sigmoid_forward_f32, cnet_sigmoid_forward_f64, "sigmoid_forward y/x")

def sigmoid_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _map2(dx, dy, y, n_threads, cnet_sigmoid_backward_f32, cnet_sigmoid_backward_f64,
          "sigmoid_backward dx/dy/y")

def tanh_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_tanh_forward_f32, cnet_tanh_forward_f64, "tanh_forward y/x")

def tanh_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] y, int n_threads):
    _map2(dx, dy, y, n_threads, cnet_tanh_backward_f32, cnet_tanh_backward_f64, "tanh_backward dx/dy/y")

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


# ---- activation_param.c: parameters, and backward ops that take the forward input x --------------

cdef inline int64_t _sizes(Py_ssize_t n, Py_ssize_t a, Py_ssize_t b, str what) except -1:
    if a != n or (b >= 0 and b != n):
        raise ValueError(f"{what}: sizes differ ({n}, {a}, {b})")
    return n

def elu_forward(floating[::1] y, const floating[::1] x, double alpha, double scale, int n_threads):
    cdef int64_t n = _sizes(y.shape[0], x.shape[0], -1, "elu_forward y/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_elu_forward_f32(&y[0], &x[0], alpha, scale, n, n_threads)
        else:
            cnet_elu_forward_f64(&y[0], &x[0], alpha, scale, n, n_threads)

def elu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, double alpha, double scale,
                 int n_threads):
    cdef int64_t n = _sizes(dx.shape[0], dy.shape[0], x.shape[0], "elu_backward dx/dy/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_elu_backward_f32(&dx[0], &dy[0], &x[0], alpha, scale, n, n_threads)
        else:
            cnet_elu_backward_f64(&dx[0], &dy[0], &x[0], alpha, scale, n, n_threads)

def leaky_relu_forward(floating[::1] y, const floating[::1] x, double alpha, double threshold,
                       double max_value, int n_threads):
    cdef int64_t n = _sizes(y.shape[0], x.shape[0], -1, "leaky_relu_forward y/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_leaky_relu_forward_f32(&y[0], &x[0], alpha, threshold, max_value, n, n_threads)
        else:
            cnet_leaky_relu_forward_f64(&y[0], &x[0], alpha, threshold, max_value, n, n_threads)

def leaky_relu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, double alpha,
                        double threshold, double max_value, int n_threads):
    cdef int64_t n = _sizes(dx.shape[0], dy.shape[0], x.shape[0], "leaky_relu_backward dx/dy/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_leaky_relu_backward_f32(&dx[0], &dy[0], &x[0], alpha, threshold, max_value, n, n_threads)
        else:
            cnet_leaky_relu_backward_f64(&dx[0], &dy[0], &x[0], alpha, threshold, max_value, n, n_threads)

def softplus_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_softplus_forward_f32, cnet_softplus_forward_f64, "softplus_forward y/x")

def softplus_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, int n_threads):
    _map2(dx, dy, x, n_threads, cnet_softplus_backward_f32, cnet_softplus_backward_f64,
          "softplus_backward dx/dy/x")

def softsign_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_softsign_forward_f32, cnet_softsign_forward_f64, "softsign_forward y/x")

def softsign_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, int n_threads):
    _map2(dx, dy, x, n_threads, cnet_softsign_backward_f32, cnet_softsign_backward_f64,
          "softsign_backward dx/dy/x")

def hard_sigmoid_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_hard_sigmoid_forward_f32, cnet_hard_sigmoid_forward_f64,
          "hard_sigmoid_forward y/x")

def hard_sigmoid_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, int n_threads):
    _map2(dx, dy, x, n_threads, cnet_hard_sigmoid_backward_f32, cnet_hard_sigmoid_backward_f64,
          "hard_sigmoid_backward dx/dy/x")

def swish_forward(floating[::1] y, const floating[::1] x, int n_threads):
    _map1(y, x, n_threads, cnet_swish_forward_f32, cnet_swish_forward_f64, "swish_forward y/x")

def swish_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, int n_threads):
    _map2(dx, dy, x, n_threads, cnet_swish_backward_f32, cnet_swish_backward_f64, "swish_backward dx/dy/x")

def gelu_forward(floating[::1] y, const floating[::1] x, bint approximate, int n_threads):
    cdef int64_t n = _sizes(y.shape[0], x.shape[0], -1, "gelu_forward y/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_gelu_forward_f32(&y[0], &x[0], approximate, n, n_threads)
        else:
            cnet_gelu_forward_f64(&y[0], &x[0], approximate, n, n_threads)

def gelu_backward(floating[::1] dx, const floating[::1] dy, const floating[::1] x, bint approximate,
                  int n_threads):
    cdef int64_t n = _sizes(dx.shape[0], dy.shape[0], x.shape[0], "gelu_backward dx/dy/x")
    if n == 0:
        return
    with nogil:
        if floating is float:
            cnet_gelu_backward_f32(&dx[0], &dy[0], &x[0], approximate, n, n_threads)
        else:
            cnet_gelu_backward_f64(&dx[0], &dy[0], &x[0], approximate, n, n_threads)

def prelu_forward(floating[:, ::1] y, const floating[:, ::1] x, const floating[::1] alpha, int n_threads):
    cdef int64_t rows = x.shape[0], F = x.shape[1]
    _same_size(y.shape[0], rows, "prelu_forward y/x rows")
    _same_size(y.shape[1], F, "prelu_forward y/x columns")
    _same_size(alpha.shape[0], F, "prelu_forward alpha/x columns")
    if rows == 0 or F == 0:
        return
    with nogil:
        if floating is float:
            cnet_prelu_forward_f32(&y[0, 0], &x[0, 0], &alpha[0], rows, F, n_threads)
        else:
            cnet_prelu_forward_f64(&y[0, 0], &x[0, 0], &alpha[0], rows, F, n_threads)

def prelu_backward(floating[:, ::1] dx, floating[::1] dalpha, const floating[:, ::1] dy,
                   const floating[:, ::1] x, const floating[::1] alpha, int n_threads):
    """dx None: only dalpha is computed."""
    cdef int64_t rows = x.shape[0], F = x.shape[1]
    cdef floating *pdx = NULL
    _same_size(dy.shape[0], rows, "prelu_backward dy/x rows")
    _same_size(dy.shape[1], F, "prelu_backward dy/x columns")
    _same_size(alpha.shape[0], F, "prelu_backward alpha/x columns")
    _same_size(dalpha.shape[0], F, "prelu_backward dalpha/x columns")
    if dx is not None:
        _same_size(dx.shape[0], rows, "prelu_backward dx/x rows")
        _same_size(dx.shape[1], F, "prelu_backward dx/x columns")
    if rows == 0 or F == 0:
        return
    if dx is not None:
        pdx = &dx[0, 0]
    with nogil:
        if floating is float:
            cnet_prelu_backward_f32(pdx, &dalpha[0], &dy[0, 0], &x[0, 0], &alpha[0], rows, F, n_threads)
        else:
            cnet_prelu_backward_f64(pdx, &dalpha[0], &dy[0, 0], &x[0, 0], &alpha[0], rows, F, n_threads)
