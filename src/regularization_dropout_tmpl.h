/* regularization_dropout_tmpl.h -- inverted dropout (mask, forward, backward) with a counter-based
 * generator (the reference's cnet/reference/rng.py): element i's random number depends only on
 * (seed, i), so every thread count draws the same mask. The template (instantiate.h) of
 * regularization_dropout.c, _avx2.c and _avx512.c, one per SIMD path (cnet_internal.h, "per-ISA
 * families"); built with -ffp-contract=off (CMakeLists.txt): every path rounds every operation as
 * written, so all give the bit-identical results of the baseline build. */
#ifndef CNET_REGULARIZATION_DROPOUT_SHARED
#define CNET_REGULARIZATION_DROPOUT_SHARED

#include <math.h>

#include "cnet_internal.h"

/* splitmix64's finaliser applied to seed + (i + 1) * golden (uint64 wrap-around); true when the 24-bit
 * uniform u = (z >> 40) * 2^-24 is >= rate, i.e. the element is kept. The reference compares u >= rate
 * in double; since z >> 40 is an integer and rate * 2^24 is exact, that is z >> 40 >= ceil(rate * 2^24),
 * an integer comparison (threshold from dropout_threshold). */
static inline int dropout_keep(uint64_t seed, int64_t i, uint64_t threshold) {
    uint64_t z = seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (z >> 40) >= threshold;
}

static uint64_t dropout_threshold(double rate) {
    return (uint64_t)ceil(rate * 16777216.0); /* 0 <= rate < 1: in [0, 2^24] */
}

#endif /* CNET_REGULARIZATION_DROPOUT_SHARED */

/* The keep scale is 1/(1 - rate) computed in double, then rounded to REAL (as the reference). */

/* mask is (n,), element i of the flat array: scale where kept, 0 where dropped. Overwrites mask. */
void KNAME(cnet_dropout_mask)(REAL *mask, int64_t n, double rate, uint64_t seed, int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    uint64_t threshold = dropout_threshold(rate);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) mask[i] = dropout_keep(seed, i, threshold) ? scale : (REAL)0;
}

/* x, y, mask are (n,). mask as cnet_dropout_mask, y = x * mask, both written in one pass. Overwrites y
 * and mask; y may alias x (mask may not). */
void KNAME(cnet_dropout_forward)(REAL *y, REAL *mask, const REAL *x, int64_t n, double rate, uint64_t seed,
                               int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    uint64_t threshold = dropout_threshold(rate);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        REAL m = dropout_keep(seed, i, threshold) ? scale : (REAL)0;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

/* dy, mask, dx are (n,). dx = dy * mask. Overwrites dx (may alias dy). */
void KNAME(cnet_dropout_backward)(REAL *dx, const REAL *dy, const REAL *mask, int64_t n, int n_threads) {
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}

/* x, y (n,), keep (n,): keep = 1 where kept, else 0, and y = x * (scale where kept, else 0) -- the y of
 * cnet_dropout_forward, its mask as one byte per element. Overwrites y and keep; y may alias x. */
void KNAME(cnet_dropout_forward_keep)(REAL *y, uint8_t *keep, const REAL *x, int64_t n, double rate,
                                      uint64_t seed, int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    uint64_t threshold = dropout_threshold(rate);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) {
        int k = dropout_keep(seed, i, threshold);
        keep[i] = (uint8_t)k;
        y[i] = x[i] * (k ? scale : (REAL)0);
    }
}

/* dy, dx, keep (n,): dx = dy * (scale where keep, else 0), scale of `rate` -- cnet_dropout_backward with
 * the mask of those keep flags. Overwrites dx (may alias dy). */
void KNAME(cnet_dropout_backward_keep)(REAL *dx, const REAL *dy, const uint8_t *keep, int64_t n, double rate,
                                       int n_threads) {
    REAL scale = (REAL)(1.0 / (1.0 - rate));
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (keep[i] ? scale : (REAL)0);
}

/* The public functions of cnet.h, defined by regularization_dropout.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH(cnet_dropout_mask, (REAL *mask, int64_t n, double rate, uint64_t seed, int n_threads),
              (mask, n, rate, seed, n_threads))
CNET_DISPATCH(cnet_dropout_forward,
              (REAL *y, REAL *mask, const REAL *x, int64_t n, double rate, uint64_t seed, int n_threads),
              (y, mask, x, n, rate, seed, n_threads))
CNET_DISPATCH(cnet_dropout_backward, (REAL *dx, const REAL *dy, const REAL *mask, int64_t n, int n_threads),
              (dx, dy, mask, n, n_threads))
CNET_DISPATCH(cnet_dropout_forward_keep,
              (REAL *y, uint8_t *keep, const REAL *x, int64_t n, double rate, uint64_t seed, int n_threads),
              (y, keep, x, n, rate, seed, n_threads))
CNET_DISPATCH(cnet_dropout_backward_keep,
              (REAL *dx, const REAL *dy, const uint8_t *keep, int64_t n, double rate, int n_threads),
              (dx, dy, keep, n, rate, n_threads))
