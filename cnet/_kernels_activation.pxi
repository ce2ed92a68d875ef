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
