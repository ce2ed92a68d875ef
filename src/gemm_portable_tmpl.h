/* gemm_portable_tmpl.h -- the portable micro-kernel and row kernel (the contract of gemm_internal.h):
 * the template (instantiate.h) that gemm.c instantiates after gemm_update_tmpl.h, compiled for the
 * baseline ISA. */
#ifndef CNET_GEMM_PORTABLE_SHARED
#define CNET_GEMM_PORTABLE_SHARED

#include "gemm_internal.h"

#endif /* CNET_GEMM_PORTABLE_SHARED */

/* The portable tile: MR rows x NR columns (gemm_internal.h). */
#define MR CNET_PORTABLE_MR
#if IS_F32
#define NR CNET_PORTABLE_NR_F32
#else
#define NR CNET_PORTABLE_NR_F64
#endif

/* The portable micro-kernel, MR x NR, plain C that compilers vectorize for the baseline ISA. */
static void SFX(ukr_portable)(CNET_UKR_ARGS(REAL)) {
    REAL ab[MR * NR];
    for (int i = 0; i < MR * NR; ++i) ab[i] = 0;
    for (int64_t p = 0; p < kc; ++p) {
        const REAL *ap = a + p * cs_a, *bp = b + p * rs_b;
        for (int i = 0; i < MR; ++i) {
            const REAL ai = ap[i * rs_a];
            for (int j = 0; j < NR; ++j) ab[i * NR + j] += ai * bp[j];
        }
    }
    SFX(tile_update)(c, ldc, ab, NR, m, n, alpha, beta, bias, relu);
}

/* Portable row kernel: acc[j] += a_p * b[p][j] for a block of CNET_PORTABLE_ROWK_WIDTH columns. */
static void SFX(rowk_portable)(CNET_ROWK_ARGS(REAL)) {
    REAL acc[CNET_PORTABLE_ROWK_WIDTH];
    for (int64_t j = 0; j < CNET_PORTABLE_ROWK_WIDTH; ++j) acc[j] = 0;
    for (int64_t p = 0; p < k; ++p) {
        const REAL ap = a[p * cs_a], *bp = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) acc[j] += ap * bp[j];
    }
    SFX(tile_update)(c, 0, acc, 0, 1, n, alpha, beta, bias, relu);
}

#undef MR
#undef NR
