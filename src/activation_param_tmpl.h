/* activation_param_tmpl.h -- the element-wise activations with parameters or without a backward from
 * their output (ELU/SELU, leaky/thresholded/clipped ReLU, softplus, softsign, hard sigmoid, swish, GELU)
 * and PReLU, forward and backward: the template (instantiate.h) of activation_param.c. Unlike
 * activation_tmpl.h's kernels, every backward here takes the forward INPUT x (swish and GELU cannot be
 * differentiated from their output). Portable C with <math.h>'s expm1/log1p/erf, one path for every CPU;
 * element-wise loops with a static schedule and no reduction, so results do not depend on n_threads.
 * PReLU's parameter gradient sums columns over rows in row order, a tile of columns per thread. */
#ifndef CNET_ACTIVATION_PARAM_SHARED
#define CNET_ACTIVATION_PARAM_SHARED

#include <math.h>

#include "cnet_internal.h"

#define CNET_PRELU_TILE 64

#endif /* CNET_ACTIVATION_PARAM_SHARED */

#define EXPM1 CNET_PICK(IS_F32, expm1f, expm1)
#define LOG1P CNET_PICK(IS_F32, log1pf, log1p)
#define ERF CNET_PICK(IS_F32, erff, erf)
#define TANH CNET_PICK(IS_F32, tanhf, tanh)

/* The loop every element-wise kernel here shares: i over [0, n), static schedule. */
#define CNET_EACH(n, n_threads)                                                                     \
    int nt_ = cnet_threads_for(n, n_threads);                                                       \
    _Pragma("omp parallel for schedule(static) num_threads(nt_) if(nt_ > 1)")                      \
    for (int64_t i = 0; i < n; i++)

/* x, y (n,). y = scale * (x > 0 ? x : alpha * (exp(x) - 1)). Overwrites y (may alias x). */
void SFX(cnet_elu_forward)(REAL *y, const REAL *x, double alpha, double scale, int64_t n, int n_threads) {
    const REAL a = (REAL)alpha, s = (REAL)scale;
    CNET_EACH(n, n_threads) {
        REAL v = x[i];
        y[i] = v > (REAL)0 ? s * v : s * (a * EXPM1(v));
    }
}

/* dy, x, dx (n,); x the forward input. dx = dy * scale * (x > 0 ? 1 : alpha * exp(x)). Overwrites dx. */
void SFX(cnet_elu_backward)(REAL *dx, const REAL *dy, const REAL *x, double alpha, double scale, int64_t n,
                            int n_threads) {
    const REAL a = (REAL)alpha, s = (REAL)scale;
    CNET_EACH(n, n_threads) {
        REAL v = x[i];
        dx[i] = v > (REAL)0 ? dy[i] * s : dy[i] * (s * (a * EXP(v)));
    }
}

/* x, y (n,). y = x > threshold ? min(x, max_value) : alpha * (x - threshold) (Keras's ReLU; max_value
 * may be +inf). Overwrites y (may alias x). NaN stays NaN. */
void SFX(cnet_leaky_relu_forward)(REAL *y, const REAL *x, double alpha, double threshold, double max_value,
                                  int64_t n, int n_threads) {
    const REAL a = (REAL)alpha, t = (REAL)threshold, m = (REAL)max_value;
    CNET_EACH(n, n_threads) {
        REAL v = x[i];
        y[i] = v > t ? (v > m ? m : v) : (v <= t ? a * (v - t) : v);
    }
}

/* dy, x, dx (n,); x the forward input. dx = dy * (x > threshold ? (x < max_value ? 1 : 0) : alpha).
 * Overwrites dx (may alias dy). */
void SFX(cnet_leaky_relu_backward)(REAL *dx, const REAL *dy, const REAL *x, double alpha, double threshold,
                                   double max_value, int64_t n, int n_threads) {
    const REAL a = (REAL)alpha, t = (REAL)threshold, m = (REAL)max_value;
    CNET_EACH(n, n_threads) {
        REAL v = x[i], g = dy[i];
        dx[i] = v > t ? (v < m ? g : (REAL)0) : a * g;
    }
}

/* x, y (n,). y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), which never overflows. */
void SFX(cnet_softplus_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) {
        REAL v = x[i];
        y[i] = (v > (REAL)0 ? v : (REAL)0) + LOG1P(EXP(-FABS(v)));
    }
}

/* The logistic sigmoid through exp(-|v|) (no overflow), as activation_tmpl.h and the reference compute it. */
static inline REAL SFX(cnet_sigm_)(REAL v) {
    REAL e = EXP(-FABS(v));
    return v >= (REAL)0 ? (REAL)1 / ((REAL)1 + e) : e / ((REAL)1 + e);
}

/* dy, x, dx (n,); x the forward input. dx = dy * sigmoid(x). Overwrites dx (may alias dy). */
void SFX(cnet_softplus_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) dx[i] = dy[i] * SFX(cnet_sigm_)(x[i]);
}

/* x, y (n,). y = x / (1 + |x|). Overwrites y (may alias x). */
void SFX(cnet_softsign_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) y[i] = x[i] / ((REAL)1 + FABS(x[i]));
}

/* dy, x, dx (n,). dx = dy / (1 + |x|)^2. Overwrites dx (may alias dy). */
void SFX(cnet_softsign_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) {
        REAL d = (REAL)1 + FABS(x[i]);
        dx[i] = dy[i] / (d * d);
    }
}

/* x, y (n,). y = clip(0.2 x + 0.5, 0, 1) (Keras 2's hard sigmoid). Overwrites y (may alias x). */
void SFX(cnet_hard_sigmoid_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) {
        REAL v = (REAL)0.2 * x[i] + (REAL)0.5;
        y[i] = v < (REAL)0 ? (REAL)0 : (v > (REAL)1 ? (REAL)1 : v);
    }
}

/* dy, x, dx (n,). dx = 0.2 dy where -2.5 < x < 2.5, else 0. Overwrites dx (may alias dy). */
void SFX(cnet_hard_sigmoid_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) {
        REAL v = x[i], g = dy[i];
        dx[i] = (v > (REAL)-2.5 && v < (REAL)2.5) ? (REAL)0.2 * g : (REAL)0;
    }
}

/* x, y (n,). y = x * sigmoid(x). Overwrites y (may alias x). */
void SFX(cnet_swish_forward)(REAL *y, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) y[i] = x[i] * SFX(cnet_sigm_)(x[i]);
}

/* dy, x, dx (n,). dx = dy * (s + x s (1 - s)), s = sigmoid(x). Overwrites dx (may alias dy). */
void SFX(cnet_swish_backward)(REAL *dx, const REAL *dy, const REAL *x, int64_t n, int n_threads) {
    CNET_EACH(n, n_threads) {
        REAL v = x[i], s = SFX(cnet_sigm_)(v);
        dx[i] = dy[i] * (s + v * s * ((REAL)1 - s));
    }
}

/* x, y (n,). approximate 0: y = x/2 (1 + erf(x / sqrt 2)); 1: the tanh form
 * x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Overwrites y (may alias x). */
void SFX(cnet_gelu_forward)(REAL *y, const REAL *x, int approximate, int64_t n, int n_threads) {
    const REAL c = (REAL)0.7978845608028654, h = (REAL)0.5, r2 = (REAL)0.7071067811865476;
    if (approximate) {
        CNET_EACH(n, n_threads) {
            REAL v = x[i];
            y[i] = h * v * ((REAL)1 + TANH(c * (v + (REAL)0.044715 * v * v * v)));
        }
    } else {
        CNET_EACH(n, n_threads) {
            REAL v = x[i];
            y[i] = h * v * ((REAL)1 + ERF(v * r2));
        }
    }
}

/* dy, x, dx (n,). The derivative of the GELU of the same `approximate`. Overwrites dx (may alias dy). */
void SFX(cnet_gelu_backward)(REAL *dx, const REAL *dy, const REAL *x, int approximate, int64_t n,
                             int n_threads) {
    const REAL c = (REAL)0.7978845608028654, h = (REAL)0.5, r2 = (REAL)0.7071067811865476;
    const REAL p = (REAL)0.3989422804014327; /* 1/sqrt(2 pi) */
    if (approximate) {
        CNET_EACH(n, n_threads) {
            REAL v = x[i];
            REAL t = TANH(c * (v + (REAL)0.044715 * v * v * v));
            REAL du = c * ((REAL)1 + (REAL)(3 * 0.044715) * v * v);
            dx[i] = dy[i] * (h * ((REAL)1 + t) + h * v * ((REAL)1 - t * t) * du);
        }
    } else {
        CNET_EACH(n, n_threads) {
            REAL v = x[i];
            dx[i] = dy[i] * (h * ((REAL)1 + ERF(v * r2)) + v * p * EXP(-h * v * v));
        }
    }
}

/* x, y (rows, F); alpha (F,). y = x > 0 ? x : alpha[j] * x. Overwrites y (may alias x). */
void SFX(cnet_prelu_forward)(REAL *y, const REAL *x, const REAL *alpha, int64_t rows, int64_t F,
                             int n_threads) {
    int nt = cnet_threads_for(rows * F, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *xr = x + r * F;
        REAL *yr = y + r * F;
        for (int64_t j = 0; j < F; j++) yr[j] = xr[j] > (REAL)0 ? xr[j] : alpha[j] * xr[j];
    }
}

/* dy, x, dx (rows, F), alpha and dalpha (F,); x the forward input. dx = dy where x > 0, else alpha * dy
 * (overwritten; may alias dy); dalpha[j] = sum over rows of dy * min(x, 0) (overwritten), each column
 * summed in row order in double whatever the thread count. dx may be NULL (not computed). */
void SFX(cnet_prelu_backward)(REAL *dx, REAL *dalpha, const REAL *dy, const REAL *x, const REAL *alpha,
                              int64_t rows, int64_t F, int n_threads) {
    int64_t tiles = (F + CNET_PRELU_TILE - 1) / CNET_PRELU_TILE;
    int nt = cnet_threads_for(rows * F, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t j0 = t * CNET_PRELU_TILE, j1 = j0 + CNET_PRELU_TILE < F ? j0 + CNET_PRELU_TILE : F;
        double acc[CNET_PRELU_TILE] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const REAL *xr = x + r * F, *gr = dy + r * F;
            for (int64_t j = j0; j < j1; j++) {
                REAL v = xr[j];
                if (v < (REAL)0) acc[j - j0] += (double)(gr[j] * v);
            }
        }
        for (int64_t j = j0; j < j1; j++) dalpha[j] = (REAL)acc[j - j0];
    }
    if (dx == NULL) return;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const REAL *xr = x + r * F, *gr = dy + r * F;
        REAL *dr = dx + r * F;
        for (int64_t j = 0; j < F; j++) {
            REAL g = gr[j];
            dr[j] = xr[j] > (REAL)0 ? g : alpha[j] * g;
        }
    }
}

#undef CNET_EACH
#undef EXPM1
#undef LOG1P
#undef ERF
#undef TANH
