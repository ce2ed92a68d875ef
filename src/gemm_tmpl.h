/* gemm_tmpl.h -- cnet_gemm_f32/f64, the entry of cnet's GEMM (see cnet.h): the template (instantiate.h)
 * that gemm.c instantiates last. It asks gemm_plan.c for the plan of the product and follows it: the
 * row kernels (at most a few rows of C), split-K (gemm_splitk_tmpl.h) or the blocked loop on a thread
 * grid (gemm_blocked_tmpl.h). */
#ifndef CNET_GEMM_SHARED
#define CNET_GEMM_SHARED

#include "gemm_plan.h"

#endif /* CNET_GEMM_SHARED */

/* C = beta * C (+ bias, relu): the K == 0 case. */
static void SFX(scale_c)(REAL *C, int64_t ldc, int64_t M, int64_t N, REAL beta, const REAL *bias,
                         int relu) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            REAL v = beta == (REAL)0 ? (REAL)0 : beta * C[i * ldc + j];
            if (bias) v += bias[j];
            if (relu) v = v < (REAL)0 ? (REAL)0 : v;
            C[i * ldc + j] = v;
        }
}

/* The kernels by the plan's ids (gemm_plan.h); the ISA ones are in gemm_avx2.c and gemm_avx512.c. */
static const SFX(cnet_ukr) SFX(ukrs)[CNET_UKR_COUNT] = {
    [CNET_UKR_PORTABLE] = SFX(ukr_portable),
#if defined(__x86_64__)
    [CNET_UKR_AVX2] = SFX(cnet_gemm_ukr_avx2),
    [CNET_UKR_AVX2_NARROW] = SFX(cnet_gemm_ukr_avx2_narrow),
    [CNET_UKR_AVX512] = SFX(cnet_gemm_ukr_avx512),
    [CNET_UKR_AVX512_NARROW] = SFX(cnet_gemm_ukr_avx512_narrow),
    [CNET_UKR_AVX512_M16] = SFX(cnet_gemm_ukr_avx512_m16),
#endif
};
static const SFX(cnet_rowk) SFX(rowks)[] = {
    [CNET_SIMD_PORTABLE] = SFX(rowk_portable),
#if defined(__x86_64__)
    [CNET_SIMD_AVX2] = SFX(cnet_gemm_rowk_avx2),
    [CNET_SIMD_AVX512] = SFX(cnet_gemm_rowk_avx512),
#endif
};

/* The row route: row by row, width columns per call of the row kernel, which reads op(B) (row-major) in
 * place. One thread: such a product is a pass over B. */
static void SFX(gemm_rows)(SFX(cnet_rowk) rowk, int64_t width, int trans_a, int64_t M, int64_t N, int64_t K,
                           REAL alpha, const REAL *A, int64_t lda, const REAL *B, int64_t ldb, REAL beta,
                           REAL *C, int64_t ldc, const REAL *bias, int relu) {
    const int64_t rs_a = trans_a ? 1 : lda, cs_a = trans_a ? lda : 1;
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j0 = 0; j0 < N; j0 += width)
            rowk(K, A + i * rs_a, cs_a, B + j0, ldb, C + i * ldc + j0, imin(width, N - j0), alpha, beta,
                 bias ? bias + j0 : NULL, relu);
}

int SFX(cnet_gemm)(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, REAL alpha, const REAL *A,
                   int64_t lda, const REAL *B, int64_t ldb, REAL beta, REAL *C, int64_t ldc, const REAL *bias,
                   int epilogue, int n_threads) {
    const int relu = epilogue == CNET_EPI_RELU;
    if (M <= 0 || N <= 0) return CNET_OK;
    if (K <= 0 || alpha == (REAL)0) {
        SFX(scale_c)(C, ldc, M, N, beta, bias, relu);
        return CNET_OK;
    }
    const cnet_gemm_plan p =
        cnet_gemm_make_plan(sizeof(REAL), trans_a, trans_b, M, N, K, lda, ldb, n_threads);
    if (p.route == CNET_GEMM_ROWS) {
        SFX(gemm_rows)(SFX(rowks)[p.simd], p.rowk_width, trans_a, M, N, K, alpha, A, lda, B, ldb, beta, C,
                       ldc, bias, relu);
        return CNET_OK;
    }
    SFX(gemm_t) g = {trans_a, trans_b, A, B, lda, ldb, alpha,
                     {SFX(ukrs)[p.ukr], p.blk.mr, p.blk.nr, p.blk.mc, p.blk.kc, p.blk.nc},
                     p.direct_a, p.direct_b, p.skinny, NULL};
#if defined(__x86_64__)
    if (p.packbt) g.packbt = SFX(cnet_gemm_packbt_avx512);
#endif
    if (p.route == CNET_GEMM_SPLITK)
        return SFX(gemm_splitk)(&g, M, N, K, p.chunks, beta, C, ldc, bias, relu, p.nt);
    return SFX(gemm_blocked)(&g, M, N, K, beta, C, ldc, bias, relu, p.nt, p.tm, p.tn);
}
