/* gemm_affine_tmpl.h -- the dense (fully connected) layer through cnet's GEMM, and the column sums its
 * bias gradient needs: the template (instantiate.h) of gemm_affine.c. */
#ifndef CNET_GEMM_AFFINE_SHARED
#define CNET_GEMM_AFFINE_SHARED

#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

#endif /* CNET_GEMM_AFFINE_SHARED */

/* x is (N, D), out is (D,): out[j] = sum_i x[i, j]. Overwrites out. Rows are summed in fixed chunks of
 * CNET_REDUCE_CHUNK, in order, and the chunk partials then in order: the same for every n_threads.
 * Partials are kept in double. */
void SFX(cnet_colsum)(REAL *out, const REAL *x, int64_t N, int64_t D, int n_threads) {
    int64_t n_chunks = (N + CNET_REDUCE_CHUNK - 1) / CNET_REDUCE_CHUNK;
    if (n_chunks <= 1) {
        for (int64_t j = 0; j < D; j++) {
            double s = 0.0;
            for (int64_t i = 0; i < N; i++) s += (double)x[i * D + j];
            out[j] = (REAL)s;
        }
        return;
    }
    double *part = (double *)cnet_scratch_alloc((size_t)(n_chunks * D) * sizeof(double));
    if (part == NULL) {  /* out of memory: the same sums in the same order, column by column */
        for (int64_t j = 0; j < D; j++) {
            double total = 0.0;
            for (int64_t c = 0; c < n_chunks; c++) {
                int64_t end = (c + 1) * CNET_REDUCE_CHUNK < N ? (c + 1) * CNET_REDUCE_CHUNK : N;
                double s = 0.0;
                for (int64_t i = c * CNET_REDUCE_CHUNK; i < end; i++) s += (double)x[i * D + j];
                total += s;
            }
            out[j] = (REAL)total;
        }
        return;
    }
    int nt = cnet_threads_for(N * D, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t c = 0; c < n_chunks; c++) {
        double *p = part + c * D;
        for (int64_t j = 0; j < D; j++) p[j] = 0.0;
        int64_t end = (c + 1) * CNET_REDUCE_CHUNK < N ? (c + 1) * CNET_REDUCE_CHUNK : N;
        for (int64_t i = c * CNET_REDUCE_CHUNK; i < end; i++) {
            const REAL *row = x + i * D;
            for (int64_t j = 0; j < D; j++) p[j] += (double)row[j];
        }
    }
    for (int64_t j = 0; j < D; j++) {
        double s = 0.0;
        for (int64_t c = 0; c < n_chunks; c++) s += part[c * D + j];
        out[j] = (REAL)s;
    }
    cnet_scratch_free(part);
}

/* x (N, D), w (D, U), b (U,) or NULL -> y (N, U) = x . w + b, then max(., 0) when relu. Overwrites y.
 * Returns the GEMM's status. */
int SFX(cnet_affine_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, int64_t N, int64_t D,
                             int64_t U, int relu, int n_threads) {
    return SFX(cnet_gemm)(0, 0, N, U, D, (REAL)1, x, D, w, U, (REAL)0, y, U, b,
                          relu ? CNET_EPI_RELU : CNET_EPI_NONE, n_threads);
}

/* dy (N, U), x (N, D), w (D, U) -> dx (N, D) = dy . wᵀ, dw (D, U) = xᵀ . dy, db (U,) = column sums
 * of dy. All three overwritten; dx or db may be NULL (not computed). Returns CNET_OK, or
 * CNET_ERR_NOMEM when a GEMM failed (the rest is then skipped). */
int SFX(cnet_affine_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,
                              int64_t N, int64_t D, int64_t U, int n_threads) {
    if (dx != NULL && SFX(cnet_gemm)(0, 1, N, D, U, (REAL)1, dy, U, w, U, (REAL)0, dx, D, NULL, CNET_EPI_NONE,
                                     n_threads) != CNET_OK)
        return CNET_ERR_NOMEM;
    if (SFX(cnet_gemm)(1, 0, D, U, N, (REAL)1, x, D, dy, U, (REAL)0, dw, U, NULL, CNET_EPI_NONE, n_threads) !=
        CNET_OK)
        return CNET_ERR_NOMEM;
    if (db != NULL) SFX(cnet_colsum)(db, dy, N, U, n_threads);
    return CNET_OK;
}
