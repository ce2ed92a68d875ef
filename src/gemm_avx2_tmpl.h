/* gemm_avx2_tmpl.h -- the AVX2+FMA GEMM kernels (contract in gemm_internal.h): the template
 * (instantiate.h) of gemm_avx2.c, after gemm_update_tmpl.h.
 *
 * Wide: 6 rows x 2 vectors (f32 6x16, f64 6x8); narrow, for N <= one vector: 12 rows x 1 vector.
 * Either way 12 accumulators + the B vectors + 1 broadcast fit the 16 ymm registers. Accumulators are
 * named variables (GCC 12 spilled an array). */
#ifndef CNET_GEMM_AVX2_SHARED
#define CNET_GEMM_AVX2_SHARED

#include <immintrin.h>

#include "gemm_internal.h"

#endif /* CNET_GEMM_AVX2_SHARED */

/* This dtype's vectors: V the 256-bit type, VL its elements, OP(name) the intrinsic's _ps/_pd form,
 * BCAST the broadcast of one element from memory. */
#if IS_F32
#define V __m256
#define VL 8
#define OP(name) name##_ps
#define BCAST _mm256_broadcast_ss
#else
#define V __m256d
#define VL 4
#define OP(name) name##_pd
#define BCAST _mm256_broadcast_sd
#endif

/* ROW_FMA(i, g, o): row i of the tile += op(A)(i, p) * the B vectors; row i = 3*g + o reads
 * ag<g>[o * rs_a] (group pointers keep in-place A addresses in registers). */
#define ROW_FMA(i, g, o)                                                                           \
    if (i < MRC) {                                                                                 \
        const V ai = BCAST(ag##g + o * rs_a);                                                      \
        c##i##a = OP(_mm256_fmadd)(ai, b0, c##i##a);                                               \
        if (NV > 1) c##i##b = OP(_mm256_fmadd)(ai, b1, c##i##b);                                   \
    }

/* UPD(ptr, acc, bv): one vector of C at ptr updated from accumulator acc (alpha, beta, bias vector bv,
 * relu: gemm_internal.h). */
#define UPD(ptr, acc, bv)                                                                          \
    {                                                                                              \
        V v_ = (acc);                                                                              \
        if (alpha != (REAL)1) v_ = OP(_mm256_mul)(v_, valpha);                                     \
        if (beta != (REAL)0) {                                                                     \
            const V old_ = OP(_mm256_loadu)(ptr);                                                  \
            v_ = beta == (REAL)1 ? OP(_mm256_add)(old_, v_) : OP(_mm256_fmadd)(vbeta, old_, v_);   \
        }                                                                                          \
        if (bias) v_ = OP(_mm256_add)(v_, bv);                                                     \
        if (relu) v_ = OP(_mm256_max)(zero, v_); /* max(0, NaN) = NaN */                           \
        OP(_mm256_storeu)(ptr, v_);                                                                \
    }

/* ROW_STORE(i): row i of a full tile updated in C. */
#define ROW_STORE(i)                                                                               \
    if (i < MRC && i < m) {                                                                        \
        REAL *ci = c + (int64_t)i * ldc;                                                           \
        UPD(ci, c##i##a, bias0);                                                                   \
        if (NV > 1) UPD(ci + VL, c##i##b, bias1);                                                  \
    }

/* ROW_SAVE(i): row i of the accumulators saved to ab, for the update of an edge tile. */
#define ROW_SAVE(i)                                                                                \
    if (i < MRC) {                                                                                 \
        OP(_mm256_storeu)(ab + i * NV * VL, c##i##a);                                              \
        if (NV > 1) OP(_mm256_storeu)(ab + i * NV * VL + VL, c##i##b);                             \
    }

/* ALL_ROWS(X): X(i) for the 12 rows of the largest tile (X tests i < MRC itself); FMA_ROWS(X):
 * X(i, g, o) with row i = 3*g + o; DECL_ACC(i): row i's two accumulators, zeroed. */
#define ALL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define FMA_ROWS(X)                                                                                \
    X(0, 0, 0) X(1, 0, 1) X(2, 0, 2) X(3, 1, 0) X(4, 1, 1) X(5, 1, 2)                              \
    X(6, 2, 0) X(7, 2, 1) X(8, 2, 2) X(9, 3, 0) X(10, 3, 1) X(11, 3, 2)
#define DECL_ACC(i) V c##i##a = zero, c##i##b = zero;

/* The micro-kernel on MRC rows x NV vectors (compile-time constants once inlined): full tiles update C
 * with vector loads and stores; edge tiles go through ab and SFX(tile_update) (AVX2 masked stores are
 * slow on AMD). */
static inline __attribute__((always_inline)) void SFX(ukr_body)(const int MRC, const int NV,
                                                                CNET_UKR_ARGS(REAL)) {
    const V zero = OP(_mm256_setzero)();
    ALL_ROWS(DECL_ACC)
    /* group g's pointer exists only when its rows do (a row-major A read in place ends after row MRC) */
    const REAL *ag0 = a, *ag1 = a + 3 * rs_a;
    const REAL *ag2 = MRC > 6 ? a + 6 * rs_a : a, *ag3 = MRC > 9 ? a + 9 * rs_a : a;
    for (int64_t p = 0; p < kc; ++p) {
        const V b0 = OP(_mm256_loadu)(b);
        const V b1 = NV > 1 ? OP(_mm256_loadu)(b + VL) : zero;
        FMA_ROWS(ROW_FMA)
        b += rs_b;
        ag0 += cs_a, ag1 += cs_a, ag2 += cs_a, ag3 += cs_a;
    }
    if (n == NV * VL) {
        const V valpha = OP(_mm256_set1)(alpha), vbeta = OP(_mm256_set1)(beta);
        V bias0 = zero, bias1 = zero;
        if (bias) {
            bias0 = OP(_mm256_loadu)(bias);
            if (NV > 1) bias1 = OP(_mm256_loadu)(bias + VL);
        }
        ALL_ROWS(ROW_STORE)
    } else {
        REAL ab[12 * VL];
        ALL_ROWS(ROW_SAVE)
        SFX(tile_update)(c, ldc, ab, NV * VL, m, n, alpha, beta, bias, relu);
    }
}

void SFX(cnet_gemm_ukr_avx2)(CNET_UKR_ARGS(REAL)) { CNET_UKR_CALL(SFX(ukr_body), 6, 2) }

void SFX(cnet_gemm_ukr_avx2_narrow)(CNET_UKR_ARGS(REAL)) { CNET_UKR_CALL(SFX(ukr_body), 12, 1) }

/* The row kernel (gemm_internal.h): NVR full vectors of accumulators, the columns past them (fewer
 * than a vector) as scalar chains; the update goes through SFX(tile_update) on the row's sums.
 * RK_FMA(q): accumulator q += a_p * the q-th vector of B's row p; RK_SAVE(q): accumulator q to ab;
 * RK_ALL(X): X(q) for the 8 accumulators (X tests q < NVR itself). */
#define RK_FMA(q)                                                                                  \
    if (q < NVR) r##q = OP(_mm256_fmadd)(av, OP(_mm256_loadu)(bp + q * VL), r##q);
#define RK_SAVE(q)                                                                                 \
    if (q < NVR) OP(_mm256_storeu)(ab + q * VL, r##q);
#define RK_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static inline __attribute__((always_inline)) void SFX(rowk_body)(const int NVR, CNET_ROWK_ARGS(REAL)) {
    const V zero = OP(_mm256_setzero)();
    V r0 = zero, r1 = zero, r2 = zero, r3 = zero, r4 = zero, r5 = zero, r6 = zero, r7 = zero;
    REAL ab[8 * VL];
    for (int64_t p = 0; p < k; ++p) {
        const V av = OP(_mm256_set1)(a[p * cs_a]);
        const REAL *bp = b + p * ldb;
        RK_ALL(RK_FMA)
    }
    RK_ALL(RK_SAVE)
    for (int64_t j = (int64_t)NVR * VL; j < n; ++j) {
        REAL s = 0;
        for (int64_t p = 0; p < k; ++p) s = __builtin_fma(a[p * cs_a], b[p * ldb + j], s);
        ab[j] = s;
    }
    SFX(tile_update)(c, 0, ab, 0, 1, n, alpha, beta, bias, relu);
}

void SFX(cnet_gemm_rowk_avx2)(CNET_ROWK_ARGS(REAL)) {
    CNET_ROWK_DISPATCH(SFX(rowk_body), n / VL, k, a, cs_a, b, ldb, c, n, alpha, beta, bias, relu)
}

#undef RK_FMA
#undef RK_SAVE
#undef RK_ALL

#undef ROW_FMA
#undef UPD
#undef ROW_STORE
#undef ROW_SAVE
#undef ALL_ROWS
#undef DECL_ACC
#undef FMA_ROWS

#undef V
#undef VL
#undef OP
#undef BCAST
