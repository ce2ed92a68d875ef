# Bindings of the cast family: float16 and bfloat16 weights (as their 16-bit patterns) to and from
# float32 (src/cast*.c). Included by _kernels.pyx; the checks for users: cnet/ops/cast.py.

def cast_to_float32(float[::1] y, const uint16_t[::1] x, str fmt, int n_threads):
    """y = x widened: fmt 'float16' (IEEE half bits) or 'bfloat16'."""
    cdef int64_t n = x.shape[0]
    cdef int half = fmt == "float16"
    if not half and fmt != "bfloat16":
        raise ValueError(f"cast_to_float32: format must be 'float16' or 'bfloat16', got {fmt!r}")
    if y.shape[0] != n:
        raise ValueError(f"cast_to_float32: sizes differ ({y.shape[0]}, {n})")
    if n == 0:
        return
    with nogil:
        if half:
            cnet_cast_f16_to_f32(&y[0], &x[0], n, n_threads)
        else:
            cnet_cast_bf16_to_f32(&y[0], &x[0], n, n_threads)


def cast_from_float32(uint16_t[::1] y, const float[::1] x, str fmt, int n_threads):
    """y = x rounded to fmt ('float16' or 'bfloat16'), as 16-bit patterns."""
    cdef int64_t n = x.shape[0]
    cdef int half = fmt == "float16"
    if not half and fmt != "bfloat16":
        raise ValueError(f"cast_from_float32: format must be 'float16' or 'bfloat16', got {fmt!r}")
    if y.shape[0] != n:
        raise ValueError(f"cast_from_float32: sizes differ ({y.shape[0]}, {n})")
    if n == 0:
        return
    with nogil:
        if half:
            cnet_cast_f32_to_f16(&y[0], &x[0], n, n_threads)
        else:
            cnet_cast_f32_to_bf16(&y[0], &x[0], n, n_threads)
