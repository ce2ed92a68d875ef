/* activation_tmpl.h -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax, written once.
 *
 * Included without REAL defined (by activation.c, activation_avx2.c, activation_avx512.c, each with its
 * CNET_EW_ISA; see elementwise_dispatch.h), it instantiates itself for float and double, with the exp and
 * tanh of activation_vexp.h. Included again with REAL and SFX defined, it is the body: REAL is the element
 * type, SFX(name) appends the dtype suffix, KNAME(name) the path and dtype suffixes.
 * Element-wise kernels are bound by memory bandwidth: one pass, static schedule, no reductions. */
#ifndef REAL

#include <math.h>
#include <string.h>

/* The selects of sigmoid/tanh/exp compute both sides; gcc if-converts (vectorizes) them only when FP
 * operations may be assumed not to trap. Results are unchanged (this is not gcc's fast-math mode: no
 * reassociation, no flush-to-zero, NaN and inf kept). FMA contraction stays allowed (gcc's default):
 * the AVX2/AVX-512 builds may round the polynomials differently from the SSE2 build in the last bit,
 * within the tolerances against the reference; within one path, results do not depend on n_threads. */
#include "elementwise_dispatch.h"

/* Horner forms of exp(r) (Taylor, |r| <= ln2/2) and of (expm1(r) - r)/r^2 = 1/2! + r/3! + ... (Taylor,
 * |r| <= ln2/2: truncation below half an ulp of expm1(r)). */
#define POLY_EXP_F32(r) (1.0f + (r) * (1.0f + (r) * (0.5f + (r) * (1.6666667e-1f + (r) * (4.1666668e-2f + \
    (r) * (8.3333338e-3f + (r) * (1.3888889e-3f + (r) * 1.9841270e-4f)))))))
#define POLY_EXPM1_F32(r) (0.5f + (r) * (1.6666667e-1f + (r) * (4.1666668e-2f + (r) * (8.3333338e-3f + \
    (r) * (1.3888889e-3f + (r) * 1.9841270e-4f)))))
#define POLY_EXP_F64(r) (1.0 + (r) * (1.0 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + \
    (r) * (1.0 / 120 + (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 + \
    (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 + (r) * (1.0 / 6227020800.0))))))))))))))
#define POLY_EXPM1_F64(r) (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + (r) * (1.0 / 120 + (r) * (1.0 / 720 + \
    (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 + (r) * (1.0 / 3628800 + \
    (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 + (r) * (1.0 / 6227020800.0 + \
    (r) * (1.0 / 87178291200.0)))))))))))))

#define REAL float
#define SFX(name) CNET_EW_CAT(name, _f32)
#define UINT uint32_t
#define MANT_BITS 23
#define EXP_BIAS 127
#define MAGIC 12582912.0f            /* 1.5 * 2^23 */
#define EXP_HI 89.0f                 /* exp overflows to inf above ~88.72 */
#define EXP_LO -104.0f               /* and underflows to 0 below ~-103.97 */
#define LN2_HI 0.693359375f          /* 355/512: n * LN2_HI is exact */
#define LN2_LO -2.12194440e-4f
#define POLY_EXP POLY_EXP_F32
#define POLY_EXPM1 POLY_EXPM1_F32
#define COPYSIGN copysignf
#define TANH_CLAMP 20.0f             /* tanh(10) rounds to 1 */
#include "activation_vexp_tmpl.h"

#define REAL double
#define SFX(name) CNET_EW_CAT(name, _f64)
#define UINT uint64_t
#define MANT_BITS 52
#define EXP_BIAS 1023
#define MAGIC 6755399441055744.0     /* 1.5 * 2^52 */
#define EXP_HI 710.0
#define EXP_LO -746.0
#define LN2_HI 6.93147180369123816490e-01   /* ln2 with its low 21 bits zero */
#define LN2_LO 1.90821492927058770002e-10
#define POLY_EXP POLY_EXP_F64
#define POLY_EXPM1 POLY_EXPM1_F64
#define COPYSIGN copysign
#define TANH_CLAMP 40.0              /* tanh(20) rounds to 1 */
#include "activation_vexp_tmpl.h"

#define REAL float
#define SFX(name) CNET_EW_CAT(name, _f32)
#define EXP vexp_f32
#define TANH vtanh_f32
#define FABS fabsf
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS

#define REAL double
#define SFX(name) CNET_EW_CAT(name, _f64)
#define EXP vexp_f64
#define TANH vtanh_f64
#define FABS fabs
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS

#else /* ---- the body ---- */

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
        REAL e = EXP(-FABS(v));
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
    for (int64_t i = 0; i < n; i++) y[i] = TANH(x[i]);
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
        for (int64_t j = 0; j < L; j++) yr[j] = EXP(xr[j] - m); /* vectorized: no reduction in it */
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

#endif /* REAL */
