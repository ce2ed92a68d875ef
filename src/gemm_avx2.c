/* gemm_avx2.c -- AVX2+FMA GEMM micro-kernels (contract in gemm_internal.h).
 *
 * Wide: 6 rows x 2 vectors (f32 6x16, f64 6x8); narrow, for N <= one vector: 12 rows x 1 vector.
 * Either way 12 accumulators + the B vectors + 1 broadcast fit the 16 ymm registers. Full tiles update C with vector loads/stores; edge tiles go through a small buffer
 * (AVX2 masked stores are slow on AMD). Accumulators are named variables (GCC 12 spilled an array).
 * The body is written once and instantiated for float and double by including this file into itself. */
#if defined(__x86_64__)
#ifndef CNET_GEMM256_TEMPLATE

#include <immintrin.h>

#include "gemm_internal.h"

#define CNET_GEMM256_TEMPLATE
#define T float
#define V __m256
#define VL 8
#define OP(name) name##_ps
#define NAME cnet_gemm_ukr_avx2_f32
#define NAME_NARROW cnet_gemm_ukr_avx2_narrow_f32
#define BODY body_f32
#define EDGE avx2_edge_f32
#define ROWK cnet_gemm_rowk_avx2_f32
#define ROWBODY rowbody_avx2_f32
#define BCAST _mm256_broadcast_ss
#include "gemm_avx2.c"

#define T double
#define V __m256d
#define VL 4
#define OP(name) name##_pd
#define NAME cnet_gemm_ukr_avx2_f64
#define NAME_NARROW cnet_gemm_ukr_avx2_narrow_f64
#define BODY body_f64
#define EDGE avx2_edge_f64
#define ROWK cnet_gemm_rowk_avx2_f64
#define ROWBODY rowbody_avx2_f64
#define BCAST _mm256_broadcast_sd
#include "gemm_avx2.c"
#undef CNET_GEMM256_TEMPLATE

#else /* ---- the body ------------------------------------------------------------------------ */

/* c (m x n) = update(ab (MRC x NV*VL)) for edge tiles. */
static void EDGE(T *c, int64_t ldc, const T *ab, int64_t nr, int64_t m, int64_t n, T alpha, T beta,
                 const T *bias, int relu) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            T v = ab[i * nr + j];
            if (alpha != (T)1) v = v * alpha;
            if (beta == (T)1) v = c[i * ldc + j] + v;
            else if (beta != (T)0) v = beta * c[i * ldc + j] + v;
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            c[i * ldc + j] = v;
        }
}

/* Row i = 3*g + o reads ag<g>[o * rs_a] (group pointers keep in-place A addresses in registers). */
#define ROW_FMA(i, g, o)                                                                           \
    if (i < MRC) {                                                                                 \
        const V ai = BCAST(ag##g + o * rs_a);                                                      \
        c##i##a = OP(_mm256_fmadd)(ai, b0, c##i##a);                                               \
        if (NV > 1) c##i##b = OP(_mm256_fmadd)(ai, b1, c##i##b);                                   \
    }

#define UPD(ptr, acc, bv)                                                                          \
    {                                                                                              \
        V v_ = (acc);                                                                              \
        if (alpha != (T)1) v_ = OP(_mm256_mul)(v_, valpha);                                        \
        if (beta != (T)0) {                                                                        \
            const V old_ = OP(_mm256_loadu)(ptr);                                                  \
            v_ = beta == (T)1 ? OP(_mm256_add)(old_, v_) : OP(_mm256_fmadd)(vbeta, old_, v_);      \
        }                                                                                          \
        if (bias) v_ = OP(_mm256_add)(v_, bv);                                                     \
        if (relu) v_ = OP(_mm256_max)(zero, v_); /* max(0, NaN) = NaN */                           \
        OP(_mm256_storeu)(ptr, v_);                                                                \
    }

#define ROW_STORE(i)                                                                               \
    if (i < MRC && i < m) {                                                                        \
        T *ci = c + (int64_t)i * ldc;                                                              \
        UPD(ci, c##i##a, bias0);                                                                   \
        if (NV > 1) UPD(ci + VL, c##i##b, bias1);                                                  \
    }

#define ROW_SAVE(i)                                                                                \
    if (i < MRC) {                                                                                 \
        OP(_mm256_storeu)(ab + i * NV * VL, c##i##a);                                              \
        if (NV > 1) OP(_mm256_storeu)(ab + i * NV * VL + VL, c##i##b);                             \
    }

#define ALL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define FMA_ROWS(X) \
    X(0, 0, 0) X(1, 0, 1) X(2, 0, 2) X(3, 1, 0) X(4, 1, 1) X(5, 1, 2) \
    X(6, 2, 0) X(7, 2, 1) X(8, 2, 2) X(9, 3, 0) X(10, 3, 1) X(11, 3, 2)
#define DECL_ACC(i) V c##i##a = zero, c##i##b = zero;

static inline __attribute__((always_inline)) void BODY(const int MRC, const int NV, int64_t kc,
                                                       const T *a, int64_t rs_a, int64_t cs_a,
                                                       const T *b, int64_t rs_b, T *c, int64_t ldc,
                                                       int64_t m,
                                                       int64_t n, T alpha, T beta, const T *bias,
                                                       int relu) {
    const V zero = OP(_mm256_setzero)();
    ALL_ROWS(DECL_ACC)
    /* group g's pointer exists only when its rows do (a row-major A read in place ends after row MRC) */
    const T *ag0 = a, *ag1 = a + 3 * rs_a, *ag2 = MRC > 6 ? a + 6 * rs_a : a, *ag3 = MRC > 9 ? a + 9 * rs_a : a;
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
        T ab[12 * VL];
        ALL_ROWS(ROW_SAVE)
        EDGE(c, ldc, ab, NV * VL, m, n, alpha, beta, bias, relu);
    }
}

void NAME(CNET_UKR_ARGS(T)) {
    if (rs_a == 1 && cs_a == 6) BODY(6, 2, kc, a, 1, 6, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
    else BODY(6, 2, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
}

void NAME_NARROW(CNET_UKR_ARGS(T)) {
    if (rs_a == 1 && cs_a == 12) BODY(12, 1, kc, a, 1, 12, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
    else BODY(12, 1, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
}

/* The row kernel (gemm_internal.h): NVR full vectors of accumulators, the columns past them (fewer
 * than a vector) as scalar chains; the update goes through EDGE on the row's sums. */
#define RK_FMA(q)                                                                                  \
    if (q < NVR) r##q = OP(_mm256_fmadd)(av, OP(_mm256_loadu)(bp + q * VL), r##q);
#define RK_SAVE(q)                                                                                 \
    if (q < NVR) OP(_mm256_storeu)(ab + q * VL, r##q);
#define RK_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static inline __attribute__((always_inline)) void ROWBODY(const int NVR, CNET_ROWK_ARGS(T)) {
    const V zero = OP(_mm256_setzero)();
    V r0 = zero, r1 = zero, r2 = zero, r3 = zero, r4 = zero, r5 = zero, r6 = zero, r7 = zero;
    T ab[8 * VL];
    for (int64_t p = 0; p < k; ++p) {
        const V av = OP(_mm256_set1)(a[p * cs_a]);
        const T *bp = b + p * ldb;
        RK_ALL(RK_FMA)
    }
    RK_ALL(RK_SAVE)
    for (int64_t j = (int64_t)NVR * VL; j < n; ++j) {
        T s = 0;
        for (int64_t p = 0; p < k; ++p) s = __builtin_fma(a[p * cs_a], b[p * ldb + j], s);
        ab[j] = s;
    }
    EDGE(c, 0, ab, 0, 1, n, alpha, beta, bias, relu);
}

void ROWK(CNET_ROWK_ARGS(T)) {
    CNET_ROWK_DISPATCH(ROWBODY, n / VL, k, a, cs_a, b, ldb, c, n, alpha, beta, bias, relu)
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

/* this instantiation's parameters, defined by the includer */
#undef T
#undef V
#undef VL
#undef OP
#undef NAME
#undef NAME_NARROW
#undef BODY
#undef EDGE
#undef BCAST
#undef ROWK
#undef ROWBODY

#endif /* CNET_GEMM256_TEMPLATE */
#endif /* __x86_64__ */
