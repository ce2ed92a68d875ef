# Bindings of the loss family: the fused softmax cross-entropy (class indices or dense targets; also with a
# weight per sample) and the mean squared error (src/loss*.c). Included by _kernels.pyx (its directives, cimports and shared helpers
# apply); the checks for users: cnet/ops/loss.py.

cdef void _check_labels(const int64_t[::1] labels, int64_t L) except *:
    cdef Py_ssize_t i
    cdef int64_t bad = -1
    with nogil:
        for i in range(labels.shape[0]):
            if labels[i] < 0 or labels[i] >= L:
                bad = i
                break
    if bad >= 0:
        raise ValueError(f"labels[{bad}] = {labels[bad]} is out of range: expected 0 <= label < {L}")

def softmax_xent_forward(floating[:, ::1] probs, floating[::1] row_loss,
                         const floating[:, ::1] logits, const int64_t[::1] labels, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_forward probs/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_forward row_loss/logits rows")
    _same_size(labels.shape[0], N, "softmax_xent_forward labels/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_forward: empty logits")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], &labels[0],
                                               N, L, n_threads)
        else:
            rc = cnet_softmax_xent_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], &labels[0],
                                               N, L, n_threads)
    _check_alloc(rc, "softmax_xent_forward")
    return loss

def softmax_xent_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                          const int64_t[::1] labels, int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_backward dlogits/probs columns")
    _same_size(labels.shape[0], N, "softmax_xent_backward labels/probs rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_backward: empty probs")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            cnet_softmax_xent_backward_f32(&dlogits[0, 0], &probs[0, 0], &labels[0], N, L, n_threads)
        else:
            cnet_softmax_xent_backward_f64(&dlogits[0, 0], &probs[0, 0], &labels[0], N, L, n_threads)

def softmax_xent_dense_forward(floating[:, ::1] probs, floating[::1] row_loss,
                               const floating[:, ::1] logits, const floating[:, ::1] targets, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_dense_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_dense_forward probs/logits columns")
    _same_size(targets.shape[0], N, "softmax_xent_dense_forward targets/logits rows")
    _same_size(targets.shape[1], L, "softmax_xent_dense_forward targets/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_dense_forward row_loss/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_dense_forward: empty logits")
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_dense_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                     &targets[0, 0], N, L, n_threads)
        else:
            rc = cnet_softmax_xent_dense_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                     &targets[0, 0], N, L, n_threads)
    _check_alloc(rc, "softmax_xent_dense_forward")
    return loss

def softmax_xent_dense_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                                const floating[:, ::1] targets, int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_dense_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_dense_backward dlogits/probs columns")
    _same_size(targets.shape[0], N, "softmax_xent_dense_backward targets/probs rows")
    _same_size(targets.shape[1], L, "softmax_xent_dense_backward targets/probs columns")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_dense_backward: empty probs")
    with nogil:
        if floating is float:
            cnet_softmax_xent_dense_backward_f32(&dlogits[0, 0], &probs[0, 0], &targets[0, 0], N, L, n_threads)
        else:
            cnet_softmax_xent_dense_backward_f64(&dlogits[0, 0], &probs[0, 0], &targets[0, 0], N, L, n_threads)


# ---- with a weight per sample: the C functions take labels or targets (the other NULL) ----------

def softmax_xent_weighted_forward(floating[:, ::1] probs, floating[::1] row_loss,
                                  const floating[:, ::1] logits, const int64_t[::1] labels,
                                  const double[::1] weights, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_weighted_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_weighted_forward probs/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_weighted_forward row_loss/logits rows")
    _same_size(labels.shape[0], N, "softmax_xent_weighted_forward labels/logits rows")
    _same_size(weights.shape[0], N, "softmax_xent_weighted_forward weights/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_weighted_forward: empty logits")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_weighted_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                        &labels[0], NULL, &weights[0], N, L, n_threads)
        else:
            rc = cnet_softmax_xent_weighted_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0],
                                                        &labels[0], NULL, &weights[0], N, L, n_threads)
    _check_alloc(rc, "softmax_xent_weighted_forward")
    return loss

def softmax_xent_weighted_dense_forward(floating[:, ::1] probs, floating[::1] row_loss,
                                        const floating[:, ::1] logits, const floating[:, ::1] targets,
                                        const double[::1] weights, int n_threads):
    cdef int64_t N = logits.shape[0], L = logits.shape[1]
    cdef double loss = 0.0
    cdef int rc
    _same_size(probs.shape[0], N, "softmax_xent_weighted_dense_forward probs/logits rows")
    _same_size(probs.shape[1], L, "softmax_xent_weighted_dense_forward probs/logits columns")
    _same_size(targets.shape[0], N, "softmax_xent_weighted_dense_forward targets/logits rows")
    _same_size(targets.shape[1], L, "softmax_xent_weighted_dense_forward targets/logits columns")
    _same_size(row_loss.shape[0], N, "softmax_xent_weighted_dense_forward row_loss/logits rows")
    _same_size(weights.shape[0], N, "softmax_xent_weighted_dense_forward weights/logits rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_weighted_dense_forward: empty logits")
    with nogil:
        if floating is float:
            rc = cnet_softmax_xent_weighted_forward_f32(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], NULL,
                                                        &targets[0, 0], &weights[0], N, L, n_threads)
        else:
            rc = cnet_softmax_xent_weighted_forward_f64(&loss, &probs[0, 0], &row_loss[0], &logits[0, 0], NULL,
                                                        &targets[0, 0], &weights[0], N, L, n_threads)
    _check_alloc(rc, "softmax_xent_weighted_dense_forward")
    return loss

def softmax_xent_weighted_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                                   const int64_t[::1] labels, const double[::1] weights, int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_weighted_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_weighted_backward dlogits/probs columns")
    _same_size(labels.shape[0], N, "softmax_xent_weighted_backward labels/probs rows")
    _same_size(weights.shape[0], N, "softmax_xent_weighted_backward weights/probs rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_weighted_backward: empty probs")
    _check_labels(labels, L)
    with nogil:
        if floating is float:
            cnet_softmax_xent_weighted_backward_f32(&dlogits[0, 0], &probs[0, 0], &labels[0], NULL, &weights[0],
                                                    N, L, n_threads)
        else:
            cnet_softmax_xent_weighted_backward_f64(&dlogits[0, 0], &probs[0, 0], &labels[0], NULL, &weights[0],
                                                    N, L, n_threads)

def softmax_xent_weighted_dense_backward(floating[:, ::1] dlogits, const floating[:, ::1] probs,
                                         const floating[:, ::1] targets, const double[::1] weights,
                                         int n_threads):
    cdef int64_t N = probs.shape[0], L = probs.shape[1]
    _same_size(dlogits.shape[0], N, "softmax_xent_weighted_dense_backward dlogits/probs rows")
    _same_size(dlogits.shape[1], L, "softmax_xent_weighted_dense_backward dlogits/probs columns")
    _same_size(targets.shape[0], N, "softmax_xent_weighted_dense_backward targets/probs rows")
    _same_size(targets.shape[1], L, "softmax_xent_weighted_dense_backward targets/probs columns")
    _same_size(weights.shape[0], N, "softmax_xent_weighted_dense_backward weights/probs rows")
    if N == 0 or L == 0:
        raise ValueError("softmax_xent_weighted_dense_backward: empty probs")
    with nogil:
        if floating is float:
            cnet_softmax_xent_weighted_backward_f32(&dlogits[0, 0], &probs[0, 0], NULL, &targets[0, 0],
                                                    &weights[0], N, L, n_threads)
        else:
            cnet_softmax_xent_weighted_backward_f64(&dlogits[0, 0], &probs[0, 0], NULL, &targets[0, 0],
                                                    &weights[0], N, L, n_threads)


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
    _map2(dy, y, t, n_threads, cnet_mse_backward_f32, cnet_mse_backward_f64, "mse_backward dy/y/t")
