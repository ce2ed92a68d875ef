/* gemm_avx2.c -- AVX2+FMA GEMM micro-kernels (contract in gemm_internal.h).
 *
 * 6 rows x 2 vectors: f32 6x16, f64 6x8. 12 accumulators + 2 B vectors + 1 broadcast fit the 16 ymm
 * registers. Full tiles update C with vector loads/stores; edge tiles go through a small buffer
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
#define EDGE avx2_edge_f32
#define BCAST _mm256_broadcast_ss
#include "gemm_avx2.c"
#undef T
#undef V
#undef VL
#undef OP
#undef NAME
#undef EDGE
#undef BCAST

#define T double
#define V __m256d
#define VL 4
#define OP(name) name##_pd
#define NAME cnet_gemm_ukr_avx2_f64
#define EDGE avx2_edge_f64
#define BCAST _mm256_broadcast_sd
#include "gemm_avx2.c"
#undef T
#undef V
#undef VL
#undef OP
#undef NAME
#undef EDGE
#undef BCAST
#undef CNET_GEMM256_TEMPLATE

#else /* ---- the body ------------------------------------------------------------------------ */

/* c (m x n) = update(ab (6 x 2*VL)) for edge tiles. */
static void EDGE(T *c, int64_t ldc, const T *ab, int64_t m, int64_t n, T beta, const T *bias,
                 int relu) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            T v = ab[i * 2 * VL + j];
            if (beta == (T)1) v = c[i * ldc + j] + v;
            else if (beta != (T)0) v = beta * c[i * ldc + j] + v;
            if (bias) v += bias[j];
            if (relu) v = v < (T)0 ? (T)0 : v;
            c[i * ldc + j] = v;
        }
}

#define ROW_FMA(i)                                                                                 \
    {                                                                                              \
        const V ai = BCAST(a + i);                                                \
        c##i##a = OP(_mm256_fmadd)(ai, b0, c##i##a);                                               \
        c##i##b = OP(_mm256_fmadd)(ai, b1, c##i##b);                                               \
    }

#define UPD(ptr, acc, bv)                                                                          \
    {                                                                                              \
        V v_ = (acc);                                                                              \
        if (beta != (T)0) {                                                                        \
            const V old_ = OP(_mm256_loadu)(ptr);                                                  \
            v_ = beta == (T)1 ? OP(_mm256_add)(old_, v_) : OP(_mm256_fmadd)(vbeta, old_, v_);      \
        }                                                                                          \
        if (bias) v_ = OP(_mm256_add)(v_, bv);                                                     \
        if (relu) v_ = OP(_mm256_max)(zero, v_); /* max(0, NaN) = NaN */                           \
        OP(_mm256_storeu)(ptr, v_);                                                                \
    }

#define ROW_STORE(i)                                                                               \
    if (i < m) {                                                                                   \
        T *ci = c + (int64_t)i * ldc;                                                              \
        UPD(ci, c##i##a, bias0);                                                                   \
        UPD(ci + VL, c##i##b, bias1);                                                              \
    }

#define ROW_SAVE(i)                                                                                \
    OP(_mm256_storeu)(ab + i * 2 * VL, c##i##a);                                                   \
    OP(_mm256_storeu)(ab + i * 2 * VL + VL, c##i##b);

void NAME(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int64_t m, int64_t n, T beta,
          const T *bias, int relu) {
    const V zero = OP(_mm256_setzero)();
    V c0a = zero, c0b = zero, c1a = zero, c1b = zero, c2a = zero, c2b = zero;
    V c3a = zero, c3b = zero, c4a = zero, c4b = zero, c5a = zero, c5b = zero;
    for (int64_t p = 0; p < kc; ++p) {
        const V b0 = OP(_mm256_load)(b), b1 = OP(_mm256_load)(b + VL);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        a += 6;
        b += 2 * VL;
    }
    if (n == 2 * VL) {
        const V vbeta = OP(_mm256_set1)(beta);
        V bias0 = zero, bias1 = zero;
        if (bias) {
            bias0 = OP(_mm256_loadu)(bias);
            bias1 = OP(_mm256_loadu)(bias + VL);
        }
        ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
    } else {
        T ab[6 * 2 * VL];
        ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3) ROW_SAVE(4) ROW_SAVE(5)
        EDGE(c, ldc, ab, m, n, beta, bias, relu);
    }
}

#undef ROW_FMA
#undef UPD
#undef ROW_STORE
#undef ROW_SAVE

#endif /* CNET_GEMM256_TEMPLATE */
#endif /* __x86_64__ */
