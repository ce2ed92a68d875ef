/* activation_tmpl.h -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax, forward and
 * backward: the template (instantiate.h) of activation.c, activation_avx2.c and activation_avx512.c, one
 * per SIMD path (cnet_internal.h, "per-ISA families"). exp and tanh are the vectorizable SFX(vexp) and
 * SFX(vtanh) of activation_vexp_tmpl.h. Element-wise kernels are bound by memory bandwidth: one pass,
 * static schedule, no reductions.
 *
 * CMakeLists.txt builds these files with -fno-trapping-math: the selects of sigmoid/tanh/exp compute
 * both sides, and the compiler if-converts (vectorizes) them only when FP operations may be assumed not
 * to trap. Results are unchanged (this is not fast-math: no reassociation, no flush-to-zero, NaN and
 * inf kept). FMA contraction stays allowed: the AVX2/AVX-512 builds may round the polynomials
 * differently from the SSE2 build in the last bit, within the tolerances against the reference; within
 * one path, results do not depend on n_threads. */
#ifndef CNET_ACTIVATION_SHARED
#define CNET_ACTIVATION_SHARED

#include <math.h>
#include <string.h>

#include "cnet_internal.h"

#endif /* CNET_ACTIVATION_SHARED */

#include "activation_vexp_tmpl.h"

/* x, y are (n,). Overwrites y (may alias x). NaN stays NaN (v < 0 is false for NaN), as in np.maximum:
 * a diverging model must not have its NaNs hidden. */
void KNAME(cnet_relu_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL v = x[i];
        y[i] = v < (REAL)0 ? (REAL)0 : v;
    }
}

/* dy, y, dx are (n,); y is the forward output. Overwrites dx (may alias dy). */
void KNAME(cnet_relu_backward)(REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL g = dy[i]; /* loaded unconditionally: lets gcc turn the select into vector code */
        dx[i] = y[i] > (REAL)0 ? g : (REAL)0;
    }
}

/* x, y are (n,). y = 1/(1 + exp(-x)), evaluated as the reference does through e = exp(-|x|) so that no
 * exp overflows: y = 1/(1 + e) for x >= 0, e/(1 + e) otherwise. Overwrites y (may alias x). */
void KNAME(cnet_sigmoid_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL v = x[i];
        REAL e = SFX(vexp)(-FABS(v));
        REAL d = (REAL)1 + e;
        y[i] = v >= (REAL)0 ? (REAL)1 / d : e / d;
    }
}

/* dy, y, dx are (n,); y is the forward output. dx = dy * y * (1 - y). Overwrites dx (may alias dy). */
void KNAME(cnet_sigmoid_backward)(REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * ((REAL)1 - y[i]);
}

/* x, y are (n,). y = tanh(x). Overwrites y (may alias x). */
void KNAME(cnet_tanh_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) y[i] = SFX(vtanh)(x[i]);
}

/* dy, y, dx are (n,); y is the forward output. dx = dy * (1 - y*y). Overwrites dx (may alias dy). */
void KNAME(cnet_tanh_backward)(REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * ((REAL)1 - y[i] * y[i]);
}

/* x, y are (rows, L): softmax of each row, exp(x - max) / sum(exp(x - max)). The sum is accumulated in
 * double (in index order, so the result does not depend on n_threads). Overwrites y (may alias x). */
void KNAME(cnet_softmax_forward)(REAL *y, const REAL *x, int64_t rows, int64_t L, int n_threads) {
    int nt = cnet_threads_for(rows * L, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *xr = x + r * L;
        REAL *yr = y + r * L;
        REAL m = xr[0];
        for (int64_t j = 1; j < L; j++) m = xr[j] > m ? xr[j] : m;
        for (int64_t j = 0; j < L; j++) yr[j] = SFX(vexp)(xr[j] - m); /* vectorized: no reduction in it */
        double s = 0.0;
        for (int64_t j = 0; j < L; j++) s += (double)yr[j];
        REAL sr = (REAL)s;
        for (int64_t j = 0; j < L; j++) yr[j] = yr[j] / sr;
    }
}

/* dy, y, dx are (rows, L); y is the forward output. dx = y * (dy - sum_j dy_j y_j) per row, the sum
 * accumulated in double. Overwrites dx (may alias dy). */
void KNAME(cnet_softmax_backward)(REAL *dx, const REAL *dy, const REAL *y, int64_t rows, int64_t L,
                                int n_threads) {
    int nt = cnet_threads_for(rows * L, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *dyr = dy + r * L, *yr = y + r * L;
        REAL *dxr = dx + r * L;
        double s = 0.0;
        for (int64_t j = 0; j < L; j++) s += (double)dyr[j] * (double)yr[j];
        REAL sr = (REAL)s;
        for (int64_t j = 0; j < L; j++) dxr[j] = yr[j] * (dyr[j] - sr);
    }
}

/* The public functions of cnet.h, defined by activation.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH(cnet_relu_forward, (REAL *y, const REAL *x, int64_t n, int n_threads), (y, x, n, n_threads))
CNET_DISPATCH(cnet_relu_backward, (REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads),
              (dx, dy, y, n, n_threads))
CNET_DISPATCH(cnet_sigmoid_forward, (REAL *y, const REAL *x, int64_t n, int n_threads), (y, x, n, n_threads))
CNET_DISPATCH(cnet_sigmoid_backward, (REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads),
              (dx, dy, y, n, n_threads))
CNET_DISPATCH(cnet_tanh_forward, (REAL *y, const REAL *x, int64_t n, int n_threads), (y, x, n, n_threads))
CNET_DISPATCH(cnet_tanh_backward, (REAL *dx, const REAL *dy, const REAL *y, int64_t n, int n_threads),
              (dx, dy, y, n, n_threads))
CNET_DISPATCH(cnet_softmax_forward, (REAL *y, const REAL *x, int64_t rows, int64_t L, int n_threads),
              (y, x, rows, L, n_threads))
CNET_DISPATCH(cnet_softmax_backward,
              (REAL *dx, const REAL *dy, const REAL *y, int64_t rows, int64_t L, int n_threads),
              (dx, dy, y, rows, L, n_threads))
