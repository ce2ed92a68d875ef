/* loss_mse_tmpl.h -- mean squared error, forward (a reduction, thread-count independent) and backward:
 * the template (instantiate.h) of loss_mse.c, loss_mse_avx2.c and loss_mse_avx512.c, one per SIMD path
 * (cnet_internal.h, "per-ISA families"). CMakeLists.txt builds them with -ffp-contract=off: every path
 * rounds every operation as written, so the AVX2 and AVX-512 builds give the bit-identical results of
 * the baseline build (vector lanes do the scalar arithmetic). */
#ifndef CNET_LOSS_MSE_SHARED
#define CNET_LOSS_MSE_SHARED

#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

/* Elements per reduction chunk: a multiple of CNET_REDUCE_CHUNK large enough that the chunk sums fit
 * on the stack for arrays up to 1M elements. */
#define LOSS_CHUNK (64 * CNET_REDUCE_CHUNK)

#endif /* CNET_LOSS_MSE_SHARED */

/* Sum of (y - t)^2 over [begin, end), in double, with 8 independent accumulators added in a fixed order
 * (keeps the adds from being one long dependency chain; the order depends only on the indices). */
static double SFX(sq_diff_sum)(const REAL *y, const REAL *t, int64_t begin, int64_t end) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = begin;
    for (; i + 8 <= end; i += 8)
        for (int k = 0; k < 8; k++) {
            double d = (double)y[i + k] - (double)t[i + k];
            acc[k] += d * d;
        }
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < end; i++) {
        double d = (double)y[i] - (double)t[i];
        s += d * d;
    }
    return s;
}

/* y, t are (n,). Returns mean((y - t)^2) computed in double: fixed chunks of LOSS_CHUNK elements are
 * summed (in parallel), then the chunk sums in order, so the result is the same for every n_threads. */
double KNAME(cnet_mse_forward)(const REAL *y, const REAL *t, int64_t n, int n_threads) {
    if (n <= 0) return 0.0;
    int64_t n_chunks = (n + LOSS_CHUNK - 1) / LOSS_CHUNK;
    double chunk_stack[64];
    double *chunk_sum = n_chunks <= 64 ? chunk_stack
                                       : (double *)cnet_scratch_alloc((size_t)n_chunks * sizeof(double));
    if (chunk_sum == NULL) {  /* out of memory: the same chunk sums, serially, added in the same order */
        double total = 0.0;
        for (int64_t c = 0; c < n_chunks; c++) {
            int64_t end = (c + 1) * LOSS_CHUNK < n ? (c + 1) * LOSS_CHUNK : n;
            total += SFX(sq_diff_sum)(y, t, c * LOSS_CHUNK, end);
        }
        return total / (double)n;
    }
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        int64_t end = (c + 1) * LOSS_CHUNK < n ? (c + 1) * LOSS_CHUNK : n;
        chunk_sum[c] = SFX(sq_diff_sum)(y, t, c * LOSS_CHUNK, end);
    }
    double total = 0.0;
    for (int64_t c = 0; c < n_chunks; c++) total += chunk_sum[c];
    if (chunk_sum != chunk_stack) cnet_scratch_free(chunk_sum);
    return total / (double)n;
}

/* y, t, dy are (n,). dy = (y - t) * s with s = 2/n rounded to REAL (as the reference). Overwrites dy
 * (may alias y or t). */
void KNAME(cnet_mse_backward)(REAL *dy, const REAL *y, const REAL *t, int64_t n, int n_threads) {
    REAL s = (REAL)(2.0 / (double)n);
    int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t i = 0; i < n; i++) dy[i] = (y[i] - t[i]) * s;
}

/* The public functions of cnet.h, defined by loss_mse.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH_RET(double, cnet_mse_forward, (const REAL *y, const REAL *t, int64_t n, int n_threads),
                  (y, t, n, n_threads))
CNET_DISPATCH(cnet_mse_backward, (REAL *dy, const REAL *y, const REAL *t, int64_t n, int n_threads),
              (dy, y, t, n, n_threads))
