/* regularization_batchnorm_tmpl.h -- batch normalisation over (N, D) per feature and (N, C, H, W) per
 * channel: the template (instantiate.h) of regularization_batchnorm.c, _avx2.c and _avx512.c, one per
 * SIMD path (cnet_internal.h, "per-ISA families"); built with -ffp-contract=off (CMakeLists.txt): every
 * path rounds every operation as written, so all give the bit-identical results of the baseline build.
 *
 * Both layouts are seen as x (N, C, S): C features/channels, S = H*W positions (S = 1 for (N, D)).
 * Per-channel statistics are reductions over N and S. They are taken in double over fixed chunks of
 * samples (BN_CHUNK_ELEMS elements per chunk, rounded to whole samples: a function of the shape only),
 * chunks in parallel, then the chunk sums are added in chunk order -- so the results are bit-identical
 * for every n_threads. Mean and variance are two passes (the variance sums (x - mean)^2), as the
 * reference does. */
#ifndef CNET_REGULARIZATION_BATCHNORM_SHARED
#define CNET_REGULARIZATION_BATCHNORM_SHARED

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

/* Elements per reduction chunk. */
#define BN_CHUNK_ELEMS (256 * CNET_REDUCE_CHUNK)

static int64_t bn_rows_per_chunk(int64_t C, int64_t S) {
    int64_t r = BN_CHUNK_ELEMS / (C * S);
    return r < 1 ? 1 : r;
}

/* What a reduction pass sums per channel: x; (x - mean)^2; dy and dy * xhat. */
enum { BN_SUM = 0, BN_SQDEV = 1, BN_DY = 2 };

#endif /* CNET_REGULARIZATION_BATCHNORM_SHARED */

/* What a reduction pass reads (unused fields NULL). */
struct SFX(bn_pass) {
    const REAL *x, *dy;
    const double *mean_d;             /* for the variance pass */
    const REAL *mean, *inv_std;       /* for the backward pass */
    int64_t N, C, S;
};

/* Sum of a contiguous run, 8 accumulators in a fixed order (independent chains). */
static double SFX(run_sum)(const REAL *x, int64_t S) {
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t s = 0;
    for (; s + 8 <= S; s += 8)
        for (int k = 0; k < 8; k++) a[k] += (double)x[s + k];
    double t = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; s < S; s++) t += (double)x[s];
    return t;
}

/* Sum of (x - mean)^2 over a contiguous run. */
static double SFX(run_sqdev)(const REAL *x, int64_t S, double mean) {
    double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t s = 0;
    for (; s + 8 <= S; s += 8)
        for (int k = 0; k < 8; k++) {
            double d = (double)x[s + k] - mean;
            a[k] += d * d;
        }
    double t = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; s < S; s++) {
        double d = (double)x[s] - mean;
        t += d * d;
    }
    return t;
}

/* Sums of dy and of dy * xhat (xhat = (x - mean) * inv_std, rounded to REAL as in the reference) over a
 * contiguous run: 8 lanes (lane l takes the elements l, l + 8, ..., added pairwise at the end) in two
 * 32-byte vectors of doubles (GCC vector types: every path's registers hold them; written as scalar
 * arrays, the compiler left this loop scalar). */
typedef double bn_v4d __attribute__((vector_size(32)));
typedef REAL SFX(bn_v4) __attribute__((vector_size(4 * sizeof(REAL))));
static void SFX(run_dy)(const REAL *dy, const REAL *x, int64_t S, REAL mean, REAL inv_std,
                        double *sum_dy, double *sum_dyxhat) {
    bn_v4d a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0};
    int64_t s = 0;
    for (; s + 8 <= S; s += 8) {
        SFX(bn_v4) x0, x1, g0, g1;
        memcpy(&x0, x + s, sizeof x0), memcpy(&x1, x + s + 4, sizeof x1);
        memcpy(&g0, dy + s, sizeof g0), memcpy(&g1, dy + s + 4, sizeof g1);
        const bn_v4d h0 = __builtin_convertvector((x0 - mean) * inv_std, bn_v4d);
        const bn_v4d h1 = __builtin_convertvector((x1 - mean) * inv_std, bn_v4d);
        const bn_v4d d0 = __builtin_convertvector(g0, bn_v4d), d1 = __builtin_convertvector(g1, bn_v4d);
        a0 += d0, a1 += d1;
        b0 += d0 * h0, b1 += d1 * h1;
    }
    double ta = ((a0[0] + a0[1]) + (a0[2] + a0[3])) + ((a1[0] + a1[1]) + (a1[2] + a1[3]));
    double tb = ((b0[0] + b0[1]) + (b0[2] + b0[3])) + ((b1[0] + b1[1]) + (b1[2] + b1[3]));
    for (; s < S; s++) {
        REAL xh = (x[s] - mean) * inv_std;
        ta += (double)dy[s];
        tb += (double)dy[s] * (double)xh;
    }
    *sum_dy = ta;
    *sum_dyxhat = tb;
}

/* One chunk of samples [n0, n1): p1[c] (and p2[c] for BN_DY) overwritten with the chunk's sums. */
static void SFX(bn_chunk)(double *p1, double *p2, int mode, const struct SFX(bn_pass) *a,
                          int64_t n0, int64_t n1) {
    const int64_t C = a->C, S = a->S;
    for (int64_t c = 0; c < C; c++) p1[c] = p2[c] = 0.0;
    if (S == 1) {
        /* (N, D): a sample is one row of C features; the accumulators run along the row. */
        for (int64_t n = n0; n < n1; n++) {
            const REAL *xr = a->x + n * C;
            if (mode == BN_SUM) {
                for (int64_t c = 0; c < C; c++) p1[c] += (double)xr[c];
            } else if (mode == BN_SQDEV) {
                for (int64_t c = 0; c < C; c++) {
                    double d = (double)xr[c] - a->mean_d[c];
                    p1[c] += d * d;
                }
            } else {
                const REAL *dyr = a->dy + n * C;
                for (int64_t c = 0; c < C; c++) {
                    REAL xh = (xr[c] - a->mean[c]) * a->inv_std[c];
                    p1[c] += (double)dyr[c];
                    p2[c] += (double)dyr[c] * (double)xh;
                }
            }
        }
        return;
    }
    for (int64_t n = n0; n < n1; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t off = (n * C + c) * S;
            if (mode == BN_SUM) {
                p1[c] += SFX(run_sum)(a->x + off, S);
            } else if (mode == BN_SQDEV) {
                p1[c] += SFX(run_sqdev)(a->x + off, S, a->mean_d[c]);
            } else {
                double s1, s2;
                SFX(run_dy)(a->dy + off, a->x + off, S, a->mean[c], a->inv_std[c], &s1, &s2);
                p1[c] += s1;
                p2[c] += s2;
            }
        }
}

/* Per-channel totals tot1[c] (and tot2[c] for BN_DY) over all N and S, thread-count independent.
 * Returns CNET_OK, or CNET_ERR_NOMEM when the chunk buffer cannot be allocated. */
static int SFX(bn_reduce)(double *tot1, double *tot2, int mode, const struct SFX(bn_pass) *a,
                          int n_threads) {
    const int64_t N = a->N, C = a->C;
    int64_t rpc = bn_rows_per_chunk(C, a->S);
    int64_t n_chunks = (N + rpc - 1) / rpc;
    double *part = (double *)cnet_scratch_alloc((size_t)(n_chunks * 2 * C) * sizeof(double));
    if (part == NULL) return CNET_ERR_NOMEM;
    int nt = cnet_threads_for(N * C * a->S, n_threads);
    if (nt > n_chunks) nt = (int)n_chunks;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t k = 0; k < n_chunks; k++) {
        int64_t n1 = (k + 1) * rpc < N ? (k + 1) * rpc : N;
        SFX(bn_chunk)(part + k * 2 * C, part + k * 2 * C + C, mode, a, k * rpc, n1);
    }
    for (int64_t c = 0; c < C; c++) {
        double t1 = 0.0, t2 = 0.0;
        for (int64_t k = 0; k < n_chunks; k++) {
            t1 += part[k * 2 * C + c];
            t2 += part[k * 2 * C + C + c];
        }
        tot1[c] = t1;
        if (tot2 != NULL) tot2[c] = t2;
    }
    cnet_scratch_free(part);
    return CNET_OK;
}

/* y = (x - shift[c]) * scale[c] + bias[c] over x, y (N, C, S). Overwrites y (may alias x). */
static void SFX(bn_affine)(REAL *y, const REAL *x, const REAL *shift, const REAL *scale, const REAL *bias,
                           int64_t N, int64_t C, int64_t S, int n_threads) {
    int nt = cnet_threads_for(N * C * S, n_threads);
    if (S == 1) {
        #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
        for (int64_t n = 0; n < N; n++) {
            const REAL *xr = x + n * C;
            REAL *yr = y + n * C;
            for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - shift[c]) * scale[c] + bias[c];
        }
        return;
    }
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < N * C; r++) {
        int64_t c = r % C;
        REAL sh = shift[c], sc = scale[c], b = bias[c];
        const REAL *xr = x + r * S;
        REAL *yr = y + r * S;
        for (int64_t s = 0; s < S; s++) yr[s] = (xr[s] - sh) * sc + b;
    }
}

/* x, y are (N, C, S); gamma, beta, mean, inv_std are (C,). Training-mode forward:
 * mean = E[x], var = E[(x - mean)^2] (biased), inv_std = 1/sqrt(var + eps) (in REAL, as the reference),
 * y = (x - mean) * (gamma * inv_std) + beta. Overwrites y, mean, inv_std (y may alias x).
 * Returns CNET_OK, or CNET_ERR_NOMEM when scratch memory cannot be allocated (outputs then unspecified). */
int KNAME(cnet_batchnorm_forward)(REAL *y, REAL *mean, REAL *inv_std, const REAL *x, const REAL *gamma,
                                const REAL *beta, double eps, int64_t N, int64_t C, int64_t S,
                                int n_threads) {
    double *tot = (double *)cnet_scratch_alloc((size_t)C * sizeof(double));
    REAL *scale = (REAL *)cnet_scratch_alloc((size_t)C * sizeof(REAL));
    int rc = CNET_ERR_NOMEM;
    if (tot == NULL || scale == NULL) goto done;
    const double M = (double)N * (double)S;
    struct SFX(bn_pass) a = {x, NULL, NULL, NULL, NULL, N, C, S};
    if (SFX(bn_reduce)(tot, NULL, BN_SUM, &a, n_threads) != CNET_OK) goto done;
    for (int64_t c = 0; c < C; c++) {
        tot[c] /= M;
        mean[c] = (REAL)tot[c];
    }
    a.mean_d = tot;
    if (SFX(bn_reduce)(tot, NULL, BN_SQDEV, &a, n_threads) != CNET_OK) goto done;
    for (int64_t c = 0; c < C; c++) {
        REAL var = (REAL)(tot[c] / M);
        inv_std[c] = (REAL)1 / SQRT(var + (REAL)eps);
        scale[c] = gamma[c] * inv_std[c];
    }
    SFX(bn_affine)(y, x, mean, scale, beta, N, C, S, n_threads);
    rc = CNET_OK;
done:
    cnet_scratch_free(tot);
    cnet_scratch_free(scale);
    return rc;
}

/* dy, x, dx are (N, C, S); gamma, mean, inv_std, dgamma, dbeta are (C,). With xhat = (x - mean) * inv_std
 * and M = N*S: dbeta = sum dy, dgamma = sum dy*xhat (reductions in double),
 * dx = gamma * inv_std / M * (M*dy - dbeta - xhat*dgamma). Overwrites dx, dgamma, dbeta (dx may alias dy).
 * Returns CNET_OK, or CNET_ERR_NOMEM when scratch memory cannot be allocated. */
int KNAME(cnet_batchnorm_backward)(REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy, const REAL *x,
                                 const REAL *gamma, const REAL *mean, const REAL *inv_std,
                                 int64_t N, int64_t C, int64_t S, int n_threads) {
    double *tot = (double *)cnet_scratch_alloc((size_t)(2 * C) * sizeof(double));
    REAL *scale = (REAL *)cnet_scratch_alloc((size_t)C * sizeof(REAL));
    if (tot == NULL || scale == NULL) {
        cnet_scratch_free(tot);
        cnet_scratch_free(scale);
        return CNET_ERR_NOMEM;
    }
    struct SFX(bn_pass) a = {x, dy, NULL, mean, inv_std, N, C, S};
    if (SFX(bn_reduce)(tot, tot + C, BN_DY, &a, n_threads) != CNET_OK) {
        cnet_scratch_free(tot);
        cnet_scratch_free(scale);
        return CNET_ERR_NOMEM;
    }
    const REAL m = (REAL)((double)N * (double)S);
    for (int64_t c = 0; c < C; c++) {
        dbeta[c] = (REAL)tot[c];
        dgamma[c] = (REAL)tot[C + c];
        scale[c] = gamma[c] * inv_std[c] / m;
    }
    int nt = cnet_threads_for(N * C * S, n_threads);
    if (S == 1) {
        #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
        for (int64_t n = 0; n < N; n++) {
            const REAL *xr = x + n * C, *dyr = dy + n * C;
            REAL *dxr = dx + n * C;
            for (int64_t c = 0; c < C; c++) {
                REAL xh = (xr[c] - mean[c]) * inv_std[c];
                dxr[c] = scale[c] * (m * dyr[c] - dbeta[c] - xh * dgamma[c]);
            }
        }
    } else {
        #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
        for (int64_t r = 0; r < N * C; r++) {
            int64_t c = r % C;
            REAL mu = mean[c], is = inv_std[c], sc = scale[c], db = dbeta[c], dg = dgamma[c];
            const REAL *xr = x + r * S, *dyr = dy + r * S;
            REAL *dxr = dx + r * S;
            for (int64_t s = 0; s < S; s++) {
                REAL xh = (xr[s] - mu) * is;
                dxr[s] = sc * (m * dyr[s] - db - xh * dg);
            }
        }
    }
    cnet_scratch_free(tot);
    cnet_scratch_free(scale);
    return CNET_OK;
}

/* x, y are (N, C, S); gamma, beta, running_mean, running_var are (C,).
 * y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta. Overwrites y (may alias x).
 * Returns CNET_OK, or CNET_ERR_NOMEM when scratch memory cannot be allocated. */
int KNAME(cnet_batchnorm_inference)(REAL *y, const REAL *x, const REAL *gamma, const REAL *beta,
                                  const REAL *running_mean, const REAL *running_var, double eps,
                                  int64_t N, int64_t C, int64_t S, int n_threads) {
    REAL *scale = (REAL *)cnet_scratch_alloc((size_t)C * sizeof(REAL));
    if (scale == NULL) return CNET_ERR_NOMEM;
    for (int64_t c = 0; c < C; c++) scale[c] = gamma[c] / SQRT(running_var[c] + (REAL)eps);
    SFX(bn_affine)(y, x, running_mean, scale, beta, N, C, S, n_threads);
    cnet_scratch_free(scale);
    return CNET_OK;
}

/* The public functions of cnet.h, defined by regularization_batchnorm.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH_RET(int, cnet_batchnorm_forward,
                  (REAL *y, REAL *mean, REAL *inv_std, const REAL *x, const REAL *gamma, const REAL *beta,
                   double eps, int64_t N, int64_t C, int64_t S, int n_threads),
                  (y, mean, inv_std, x, gamma, beta, eps, N, C, S, n_threads))
CNET_DISPATCH_RET(int, cnet_batchnorm_backward,
                  (REAL *dx, REAL *dgamma, REAL *dbeta, const REAL *dy, const REAL *x, const REAL *gamma,
                   const REAL *mean, const REAL *inv_std, int64_t N, int64_t C, int64_t S, int n_threads),
                  (dx, dgamma, dbeta, dy, x, gamma, mean, inv_std, N, C, S, n_threads))
CNET_DISPATCH_RET(int, cnet_batchnorm_inference,
                  (REAL *y, const REAL *x, const REAL *gamma, const REAL *beta, const REAL *running_mean,
                   const REAL *running_var, double eps, int64_t N, int64_t C, int64_t S, int n_threads),
                  (y, x, gamma, beta, running_mean, running_var, eps, N, C, S, n_threads))
