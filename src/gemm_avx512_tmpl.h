/* gemm_avx512_tmpl.h -- the AVX-512 GEMM kernels (contract in gemm_internal.h): the template
 * (instantiate.h) of gemm_avx512.c.
 *
 * Wide: 12 rows x 2 vectors (f32 12x32, f64 12x16); narrow, for N <= one vector: 24 rows x 1 vector;
 * m16, for M a multiple of 16 (filters of a convolution): 16 rows x 1 vector. The row and skinny kernels
 * read both operands in place (gemm_internal.h), and a transposed op(B) is packed by register
 * transposes. Either way 24 accumulators + the B vectors + 1 broadcast fit the 32 zmm registers. On
 * Zen 4 a 512-bit FMA costs two 256-bit ones, so the gain over AVX2 is the register count (a 12x32 tile
 * loads 2 B vectors per 24 FMAs) and masked stores for the right edge. Accumulators are named variables:
 * GCC 12 spilled an accumulator array to the stack. */
#ifndef CNET_GEMM_AVX512_SHARED
#define CNET_GEMM_AVX512_SHARED

#include <immintrin.h>

#include "gemm_internal.h"
#include "simd_transpose.h"

#endif /* CNET_GEMM_AVX512_SHARED */

/* This dtype's vectors: V the 512-bit type, VL its elements, MASK its lane mask, OP(name) the
 * intrinsic's _ps/_pd form, V2 the 256-bit half and CAST256 a V's low half. */
#if IS_F32
#define V __m512
#define VL 16
#define MASK __mmask16
#define OP(name) name##_ps
#define V2 __m256
#define CAST256(x) _mm512_castps512_ps256(x)
#else
#define V __m512d
#define VL 8
#define MASK __mmask8
#define OP(name) name##_pd
#define V2 __m256d
#define CAST256(x) _mm512_castpd512_pd256(x)
#endif

/* ROW_FMA(i, g, o): row i of the tile += op(A)(i, p) broadcast * the NV B vectors. Row i = 3*g + o
 * reads ag<g>[o * rs_a]: 8 group pointers and one stride keep the addresses of 24 rows of an in-place A
 * in registers (one pointer per row spilled to the stack). */
#define ROW_FMA(i, g, o)                                                                           \
    if (i < MRC) {                                                                                 \
        const V ai = OP(_mm512_set1)(ag##g[o * rs_a]);                                             \
        c##i##a = OP(_mm512_fmadd)(ai, b0, c##i##a);                                               \
        if (NV > 1) c##i##b = OP(_mm512_fmadd)(ai, b1, c##i##b);                                   \
    }

/* UPD(ptr, acc, bv, mask, full): one vector of C at ptr updated from accumulator acc (alpha, beta,
 * bias vector bv, relu: gemm_internal.h); full: unmasked, else the lanes of mask. */
#define UPD(ptr, acc, bv, mask, full)                                                              \
    {                                                                                              \
        V v_ = (acc);                                                                              \
        if (alpha != (REAL)1) v_ = OP(_mm512_mul)(v_, valpha);                                     \
        if (beta != (REAL)0) {                                                                     \
            const V old_ = (full) ? OP(_mm512_loadu)(ptr) : OP(_mm512_maskz_loadu)(mask, ptr);     \
            v_ = beta == (REAL)1 ? OP(_mm512_add)(old_, v_) : OP(_mm512_fmadd)(vbeta, old_, v_);   \
        }                                                                                          \
        if (bias) v_ = OP(_mm512_add)(v_, bv);                                                     \
        if (relu) v_ = OP(_mm512_max)(zero, v_); /* max(0, NaN) = NaN */                           \
        if (full) OP(_mm512_storeu)(ptr, v_);                                                      \
        else OP(_mm512_mask_storeu)(ptr, mask, v_);                                                \
    }

/* ROW_STORE(i, full): row i of the tile updated in C (k0, k1: the masks of its two vectors). */
#define ROW_STORE(i, full)                                                                         \
    if (i < MRC && i < m) {                                                                        \
        REAL *ci = c + (int64_t)i * ldc;                                                           \
        UPD(ci, c##i##a, bias0, k0, full);                                                         \
        if (NV > 1) UPD(ci + VL, c##i##b, bias1, k1, full);                                        \
    }

/* ALL_ROWS(X, arg): X(i, arg) for the 24 rows of the largest tile (X tests i < MRC itself);
 * FMA_ROWS(X): X(i, g, o) with row i = 3*g + o; DECL_ACC(i, _): row i's two accumulators, zeroed. */
#define ALL_ROWS(X, arg)                                                                           \
    X(0, arg) X(1, arg) X(2, arg) X(3, arg) X(4, arg) X(5, arg) X(6, arg) X(7, arg) X(8, arg)      \
    X(9, arg) X(10, arg) X(11, arg) X(12, arg) X(13, arg) X(14, arg) X(15, arg) X(16, arg)         \
    X(17, arg) X(18, arg) X(19, arg) X(20, arg) X(21, arg) X(22, arg) X(23, arg)

#define FMA_ROWS(X)                                                                                \
    X(0, 0, 0) X(1, 0, 1) X(2, 0, 2) X(3, 1, 0) X(4, 1, 1) X(5, 1, 2)                              \
    X(6, 2, 0) X(7, 2, 1) X(8, 2, 2) X(9, 3, 0) X(10, 3, 1) X(11, 3, 2)                            \
    X(12, 4, 0) X(13, 4, 1) X(14, 4, 2) X(15, 5, 0) X(16, 5, 1) X(17, 5, 2)                        \
    X(18, 6, 0) X(19, 6, 1) X(20, 6, 2) X(21, 7, 0) X(22, 7, 1) X(23, 7, 2)

#define DECL_ACC(i, _) V c##i##a = zero, c##i##b = zero;

/* The micro-kernel on MRC rows x NV vectors; MRC, NV, and in the packed case rs_a and cs_a, are
 * compile-time constants once inlined. Edges are masked loads and stores. */
static inline __attribute__((always_inline)) void SFX(ukr_body)(const int MRC, const int NV,
                                                                CNET_UKR_ARGS(REAL)) {
    const V zero = OP(_mm512_setzero)();
    ALL_ROWS(DECL_ACC, 0)
    /* group g's pointer exists only when its rows do (a row-major A read in place ends after row MRC) */
    const REAL *ag0 = a, *ag1 = a + 3 * rs_a, *ag2 = a + 6 * rs_a, *ag3 = a + 9 * rs_a;
    const REAL *ag4 = MRC > 12 ? a + 12 * rs_a : a, *ag5 = MRC > 15 ? a + 15 * rs_a : a;
    const REAL *ag6 = MRC > 18 ? a + 18 * rs_a : a, *ag7 = MRC > 21 ? a + 21 * rs_a : a;
    for (int64_t p = 0; p < kc; ++p) {
        const V b0 = OP(_mm512_loadu)(b);
        const V b1 = NV > 1 ? OP(_mm512_loadu)(b + VL) : zero;
        FMA_ROWS(ROW_FMA)
        b += rs_b;
        ag0 += cs_a, ag1 += cs_a, ag2 += cs_a, ag3 += cs_a, ag4 += cs_a, ag5 += cs_a, ag6 += cs_a,
            ag7 += cs_a;
    }
    const V valpha = OP(_mm512_set1)(alpha), vbeta = OP(_mm512_set1)(beta);
    const int64_t n0 = n < VL ? n : VL, n1 = n - n0;
    const MASK k0 = (MASK)((1u << n0) - 1u), k1 = (MASK)((1u << n1) - 1u);
    V bias0 = zero, bias1 = zero;
    if (bias) {
        bias0 = OP(_mm512_maskz_loadu)(k0, bias);
        if (NV > 1) bias1 = OP(_mm512_maskz_loadu)(k1, bias + VL);
    }
    if (n == NV * VL) {
        ALL_ROWS(ROW_STORE, 1)
    } else {
        ALL_ROWS(ROW_STORE, 0)
    }
}

/* SFX(ukr_body_half): a 12-row tile whose columns are NZ (0 or 1) full vectors and one half vector
 * (256 bits): on Zen 4 a 256-bit FMA costs half a 512-bit one, so a right edge of n <= VL/2 or
 * VL < n <= 3VL/2 columns costs what its width rounded up to VL/2 costs (a 100-column C: 104 columns of
 * work, not 128). H_FMA(i, g, o): row i's multiply-adds (full vector c<i>a if NZ, half vector h<i>);
 * H_STORE(i, _): row i updated in C (kz, kh: the masks of the full and the half vector); H_DECL(i, _):
 * row i's accumulators, zeroed. */
#define H_FMA(i, g, o)                                                                             \
    if (i < 12) {                                                                                  \
        const V ai = OP(_mm512_set1)(ag##g[o * rs_a]);                                             \
        if (NZ) c##i##a = OP(_mm512_fmadd)(ai, b0, c##i##a);                                       \
        h##i = OP(_mm256_fmadd)(CAST256(ai), bh, h##i);                                            \
    }
#define H_STORE(i, _)                                                                              \
    if (i < 12 && i < m) {                                                                         \
        REAL *ci = c + (int64_t)i * ldc;                                                           \
        if (NZ) UPD(ci, c##i##a, bias0, kz, 0);                                                    \
        V2 v_ = h##i;                                                                              \
        if (alpha != (REAL)1) v_ = OP(_mm256_mul)(v_, CAST256(valpha));                            \
        if (beta != (REAL)0) {                                                                     \
            const V2 old_ = OP(_mm256_maskz_loadu)(kh, ci + NZ * VL);                              \
            v_ = beta == (REAL)1 ? OP(_mm256_add)(old_, v_) : OP(_mm256_fmadd)(CAST256(vbeta), old_, v_); \
        }                                                                                          \
        if (bias) v_ = OP(_mm256_add)(v_, biash);                                                  \
        if (relu) v_ = OP(_mm256_max)(CAST256(zero), v_);                                          \
        OP(_mm256_mask_storeu)(ci + NZ * VL, kh, v_);                                              \
    }
#define H_DECL(i, _) V c##i##a = zero; V2 h##i = CAST256(zero);

static inline __attribute__((always_inline)) void SFX(ukr_body_half)(const int NZ, CNET_UKR_ARGS(REAL)) {
    const V zero = OP(_mm512_setzero)();
    ALL_ROWS(H_DECL, 0)
    const REAL *ag0 = a, *ag1 = a + 3 * rs_a, *ag2 = a + 6 * rs_a, *ag3 = a + 9 * rs_a;
    const REAL *ag4 = NULL, *ag5 = NULL, *ag6 = NULL, *ag7 = NULL; /* rows 12-23: none here */
    for (int64_t p = 0; p < kc; ++p) {
        const V b0 = NZ ? OP(_mm512_loadu)(b) : zero;
        const V2 bh = OP(_mm256_loadu)(b + NZ * VL);
        FMA_ROWS(H_FMA)
        b += rs_b;
        ag0 += cs_a, ag1 += cs_a, ag2 += cs_a, ag3 += cs_a;
    }
    const V valpha = OP(_mm512_set1)(alpha), vbeta = OP(_mm512_set1)(beta);
    const int64_t nz = NZ ? VL : 0, nh = n - nz; /* 1 <= nh <= VL/2 */
    const MASK kz = (MASK)((1u << nz) - 1u);
    const __mmask8 kh = (__mmask8)((1u << nh) - 1u);
    V bias0 = zero;
    V2 biash = CAST256(zero);
    if (bias) {
        if (NZ) bias0 = OP(_mm512_loadu)(bias);
        biash = OP(_mm256_maskz_loadu)(kh, bias + nz);
    }
    ALL_ROWS(H_STORE, 0)
}

/* The kernels. The wide one runs a right edge of at most half a vector, one vector, or one and a half on
 * the narrower bodies, and a bottom edge of at most 4 or 8 rows on the 4- or 8-row body (a 25-row C in
 * 12-row tiles computed 36 rows; now 28). So does the narrow one with 8 and 16 rows. */
void SFX(cnet_gemm_ukr_avx512)(CNET_UKR_ARGS(REAL)) {
    if (n <= VL / 2)
        SFX(ukr_body_half)(0, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
    else if (n <= VL)
        SFX(ukr_body)(12, 1, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
    else if (n <= VL + VL / 2)
        SFX(ukr_body_half)(1, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
    else if (m <= 4) {
        CNET_UKR_CALL_TILE(SFX(ukr_body), 4, 2, 12)
    } else if (m <= 8) {
        CNET_UKR_CALL_TILE(SFX(ukr_body), 8, 2, 12)
    } else {
        CNET_UKR_CALL(SFX(ukr_body), 12, 2)
    }
}

void SFX(cnet_gemm_ukr_avx512_narrow)(CNET_UKR_ARGS(REAL)) {
    if (m <= 8) {
        CNET_UKR_CALL_TILE(SFX(ukr_body), 8, 1, 24)
    } else if (m <= 16) {
        CNET_UKR_CALL_TILE(SFX(ukr_body), 16, 1, 24)
    } else {
        CNET_UKR_CALL(SFX(ukr_body), 24, 1)
    }
}

void SFX(cnet_gemm_ukr_avx512_m16)(CNET_UKR_ARGS(REAL)) { CNET_UKR_CALL(SFX(ukr_body), 16, 1) }

/* Transposes the VL x VL block in r (r[i] row i) in registers (simd_transpose.h). */
#define TRANSPOSE CNET_PICK(IS_F32, cnet_transpose_16x16_ps, cnet_transpose_8x8_pd)

/* The transposed-B packing (gemm_internal.h) in VL x VL blocks transposed in registers; the last
 * kc % VL rows element by element. */
void SFX(cnet_gemm_packbt_avx512)(CNET_PACKBT_ARGS(REAL)) {
    const V zero = OP(_mm512_setzero)();
    int64_t p = 0;
    for (; p + VL <= kc; p += VL)
        for (int64_t j0 = 0; j0 < nr; j0 += VL) {
            V r[VL];
            for (int q = 0; q < VL; ++q)
                r[q] = j0 + q < n ? OP(_mm512_loadu)(src + (j0 + q) * ldb + p) : zero;
            TRANSPOSE(r);
            for (int q = 0; q < VL; ++q) OP(_mm512_storeu)(d + (p + q) * nr + j0, r[q]);
        }
    for (; p < kc; ++p)
        for (int64_t j = 0; j < nr; ++j) d[p * nr + j] = j < n ? src[j * ldb + p] : (REAL)0;
}

/* The row kernel (gemm_internal.h): NVR vectors of accumulators, the last one masked to n.
 * RK_FMA(q): accumulator q += a_p * the q-th vector of B's row p; RK_STORE(q): accumulator q updated in
 * C; RK_ALL(X): X(q) for the 8 accumulators (X tests q < NVR itself). */
#define RK_FMA(q)                                                                                  \
    if (q < NVR) {                                                                                 \
        const V bv_ = q == NVR - 1 ? OP(_mm512_maskz_loadu)(mlast, bp + q * VL)                    \
                                   : OP(_mm512_loadu)(bp + q * VL);                                \
        r##q = OP(_mm512_fmadd)(av, bv_, r##q);                                                    \
    }
#define RK_STORE(q)                                                                                \
    if (q < NVR) {                                                                                 \
        const MASK mq_ = q == NVR - 1 ? mlast : (MASK)~(MASK)0;                                    \
        V bq_ = zero;                                                                              \
        if (bias) bq_ = OP(_mm512_maskz_loadu)(mq_, bias + q * VL);                                \
        UPD(c + q * VL, r##q, bq_, mq_, 0);                                                        \
    }
#define RK_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static inline __attribute__((always_inline)) void SFX(rowk_body)(const int NVR, CNET_ROWK_ARGS(REAL)) {
    const V zero = OP(_mm512_setzero)();
    V r0 = zero, r1 = zero, r2 = zero, r3 = zero, r4 = zero, r5 = zero, r6 = zero, r7 = zero;
    const int64_t nl = n - (int64_t)(NVR - 1) * VL; /* columns in the last vector, 1..VL */
    const MASK mlast = (MASK)((nl >= VL) ? ~(MASK)0 : (MASK)((1u << nl) - 1u));
    for (int64_t p = 0; p < k; ++p) {
        const V av = OP(_mm512_set1)(a[p * cs_a]);
        const REAL *bp = b + p * ldb;
        RK_ALL(RK_FMA)
    }
    const V valpha = OP(_mm512_set1)(alpha), vbeta = OP(_mm512_set1)(beta);
    RK_ALL(RK_STORE)
}

void SFX(cnet_gemm_rowk_avx512)(CNET_ROWK_ARGS(REAL)) {
    CNET_ROWK_DISPATCH(SFX(rowk_body), (n + VL - 1) / VL, k, a, cs_a, b, ldb, c, n, alpha, beta, bias, relu)
}

/* The skinny kernel (gemm_internal.h): MRC rows x NV vectors of accumulators, both operands read in
 * place, the B vectors masked to n. SK_FMA(i, _): row i += A's element (p, i) * the B vectors;
 * SK_STORE(i, _): row i times alpha stored to C (masked); SK1(r)/SK2(r): the switch case for r rows of
 * one/two vectors; SK_1_12(X), SK_13_24(X): X(r) for those row counts. */
#define SK_FMA(i, _)                                                                               \
    if (i < MRC) {                                                                                 \
        const V ai = OP(_mm512_set1)(ap[i]);                                                       \
        c##i##a = OP(_mm512_fmadd)(ai, b0, c##i##a);                                               \
        if (NV > 1) c##i##b = OP(_mm512_fmadd)(ai, b1, c##i##b);                                   \
    }
#define SK_STORE(i, _)                                                                             \
    if (i < MRC) {                                                                                 \
        OP(_mm512_mask_storeu)(c + (int64_t)i * ldc, k0, OP(_mm512_mul)(valpha, c##i##a));         \
        if (NV > 1) OP(_mm512_mask_storeu)(c + (int64_t)i * ldc + VL, k1, OP(_mm512_mul)(valpha, c##i##b)); \
    }

static inline __attribute__((always_inline)) void SFX(skinny_body)(const int MRC, const int NV,
                                                         CNET_SKINNY_ARGS(REAL)) {
    const V zero = OP(_mm512_setzero)();
    ALL_ROWS(DECL_ACC, 0)
    const int64_t n0 = n < VL ? n : VL, n1 = n - n0;
    const MASK k0 = (MASK)((1u << n0) - 1u), k1 = (MASK)((1u << n1) - 1u);
    for (int64_t p = 0; p < k; ++p) {
        const REAL *ap = a + p * lda, *bp = b + p * ldb;
        const V b0 = OP(_mm512_maskz_loadu)(k0, bp);
        const V b1 = NV > 1 ? OP(_mm512_maskz_loadu)(k1, bp + VL) : zero;
        ALL_ROWS(SK_FMA, 0)
    }
    const V valpha = OP(_mm512_set1)(alpha);
    ALL_ROWS(SK_STORE, 0)
}

#define SK1(r) case r: SFX(skinny_body)(r, 1, k, a, lda, b, ldb, c, ldc, m, n, alpha); break;
#define SK2(r) case r: SFX(skinny_body)(r, 2, k, a, lda, b, ldb, c, ldc, m, n, alpha); break;
#define SK_1_12(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12)
#define SK_13_24(X) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)

void SFX(cnet_gemm_skinny_avx512)(CNET_SKINNY_ARGS(REAL)) {
    if (n > VL) {
        switch (m) { SK_1_12(SK2) default: break; }
    } else {
        switch (m) { SK_1_12(SK1) SK_13_24(SK1) default: break; }
    }
}

#undef SK_FMA
#undef SK_STORE
#undef SK1
#undef SK2
#undef SK_1_12
#undef SK_13_24

#undef RK_FMA
#undef RK_STORE
#undef RK_ALL

#undef H_FMA
#undef H_STORE
#undef H_DECL
#undef ROW_FMA
#undef UPD
#undef ROW_STORE
#undef ALL_ROWS
#undef DECL_ACC
#undef FMA_ROWS

#undef V
#undef VL
#undef MASK
#undef OP
#undef V2
#undef CAST256
#undef TRANSPOSE
