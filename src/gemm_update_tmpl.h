/* gemm_update_tmpl.h -- SFX(tile_update), the update of a tile of C from its sums (alpha, beta, bias,
 * ReLU, as gemm_internal.h says), in plain C: the template (instantiate.h) that gemm.c instantiates for
 * the portable kernels and gemm_avx2.c for the AVX2 ones' edge tiles, each compiled with its file's
 * flags. */
#ifndef CNET_GEMM_UPDATE_SHARED
#define CNET_GEMM_UPDATE_SHARED

#include "gemm_internal.h"

#endif /* CNET_GEMM_UPDATE_SHARED */

/* c (m x n, row stride ldc) = update(ab (row stride nr)); the tile update of gemm_internal.h. */
static void SFX(tile_update)(REAL *c, int64_t ldc, const REAL *ab, int64_t nr, int64_t m, int64_t n,
                             REAL alpha, REAL beta, const REAL *bias, int relu) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            REAL v = ab[i * nr + j];
            if (alpha != (REAL)1) v = v * alpha;
            if (beta == (REAL)1) v = c[i * ldc + j] + v;
            else if (beta != (REAL)0) v = beta * c[i * ldc + j] + v;
            if (bias) v += bias[j];
            if (relu) v = v < (REAL)0 ? (REAL)0 : v;
            c[i * ldc + j] = v;
        }
}
