"""General matrix multiply: the twin of cnet's own GEMM kernel."""
import numpy as np

from ._util import as_float, check_same_dtype


def gemm(a, b, c=None, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, bias=None, relu=False):
    """alpha * op(a) @ op(b) + beta * c (+ bias per column) (then max(., 0) when relu).

    op(a) is a.T when trans_a, else a; the same for b. When c is given the result is written into it
    (and returned); beta == 0 ignores c's old content, NaN included. Otherwise a new array is returned.
    """
    a = as_float(a, "a")
    b = as_float(b, "b")
    check_same_dtype(a, b=b)
    oa = a.T if trans_a else a
    ob = b.T if trans_b else b
    if oa.ndim != 2 or ob.ndim != 2 or oa.shape[1] != ob.shape[0]:
        raise ValueError(f"gemm: op(a) {oa.shape} and op(b) {ob.shape} cannot be multiplied")
    dtype = a.dtype
    r = (oa @ ob) * dtype.type(alpha)
    if beta != 0 and c is not None:
        r += dtype.type(beta) * c
    if bias is not None:
        r += bias
    if relu:
        np.maximum(r, 0, out=r)  # NaN stays NaN
    if c is not None:
        c[...] = r
        return c
    return r
