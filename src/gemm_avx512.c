/* gemm_avx512.c -- AVX-512 GEMM micro-kernels (contract in gemm_internal.h).
 *
 * 12 rows x 2 vectors: f32 12x32, f64 12x16. 24 accumulators + 2 B vectors + 1 broadcast fit the 32
 * zmm registers. On Zen 4 a 512-bit FMA costs two 256-bit ones, so the gain over AVX2 is the register
 * count (a 12x32 tile loads 2 B vectors per 24 FMAs) and masked stores for the right edge.
 * Accumulators are named variables: GCC 12 spilled an accumulator array to the stack.
 * The body is written once and instantiated for float and double by including this file into itself. */
#if defined(__x86_64__)
#ifndef CNET_GEMM512_TEMPLATE

#include <immintrin.h>

#include "gemm_internal.h"

#define CNET_GEMM512_TEMPLATE
#define T float
#define V __m512
#define VL 16
#define MASK __mmask16
#define OP(name) name##_ps
#define NAME cnet_gemm_ukr_avx512_f32
#include "gemm_avx512.c"
#undef T
#undef V
#undef VL
#undef MASK
#undef OP
#undef NAME

#define T double
#define V __m512d
#define VL 8
#define MASK __mmask8
#define OP(name) name##_pd
#define NAME cnet_gemm_ukr_avx512_f64
#include "gemm_avx512.c"
#undef T
#undef V
#undef VL
#undef MASK
#undef OP
#undef NAME
#undef CNET_GEMM512_TEMPLATE

#else /* ---- the body ------------------------------------------------------------------------ */

#define ROW_FMA(i)                                                                                 \
    {                                                                                              \
        const V ai = OP(_mm512_set1)(a[i]);                                                        \
        c##i##a = OP(_mm512_fmadd)(ai, b0, c##i##a);                                               \
        c##i##b = OP(_mm512_fmadd)(ai, b1, c##i##b);                                               \
    }

/* One vector of the update; full: unmasked. */
#define UPD(ptr, acc, mask, full)                                                                  \
    {                                                                                              \
        V v_ = (acc);                                                                              \
        if (beta != (T)0) {                                                                        \
            const V old_ = (full) ? OP(_mm512_loadu)(ptr) : OP(_mm512_maskz_loadu)(mask, ptr);     \
            v_ = beta == (T)1 ? OP(_mm512_add)(old_, v_) : OP(_mm512_fmadd)(vbeta, old_, v_);      \
        }                                                                                          \
        if (bias) v_ = OP(_mm512_add)(v_, bias##mask);                                             \
        if (relu) v_ = OP(_mm512_max)(zero, v_); /* max(0, NaN) = NaN */                           \
        if (full) OP(_mm512_storeu)(ptr, v_);                                                      \
        else OP(_mm512_mask_storeu)(ptr, mask, v_);                                                \
    }

#define ROW_STORE(i, full)                                                                         \
    if (i < m) {                                                                                   \
        T *ci = c + (int64_t)i * ldc;                                                              \
        UPD(ci, c##i##a, k0, full);                                                                \
        UPD(ci + VL, c##i##b, k1, full);                                                           \
    }

#define ALL_ROWS(X, ...)                                                                           \
    X(0, __VA_ARGS__) X(1, __VA_ARGS__) X(2, __VA_ARGS__) X(3, __VA_ARGS__) X(4, __VA_ARGS__)      \
    X(5, __VA_ARGS__) X(6, __VA_ARGS__) X(7, __VA_ARGS__) X(8, __VA_ARGS__) X(9, __VA_ARGS__)      \
    X(10, __VA_ARGS__) X(11, __VA_ARGS__)

void NAME(int64_t kc, const T *a, const T *b, T *c, int64_t ldc, int64_t m, int64_t n, T beta,
          const T *bias, int relu) {
    const V zero = OP(_mm512_setzero)();
    V c0a = zero, c0b = zero, c1a = zero, c1b = zero, c2a = zero, c2b = zero, c3a = zero, c3b = zero;
    V c4a = zero, c4b = zero, c5a = zero, c5b = zero, c6a = zero, c6b = zero, c7a = zero, c7b = zero;
    V c8a = zero, c8b = zero, c9a = zero, c9b = zero, c10a = zero, c10b = zero, c11a = zero,
      c11b = zero;
    for (int64_t p = 0; p < kc; ++p) {
        const V b0 = OP(_mm512_load)(b), b1 = OP(_mm512_load)(b + VL);
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        ROW_FMA(6) ROW_FMA(7) ROW_FMA(8) ROW_FMA(9) ROW_FMA(10) ROW_FMA(11)
        a += 12;
        b += 2 * VL;
    }
    const V vbeta = OP(_mm512_set1)(beta);
    const int64_t n0 = n < VL ? n : VL, n1 = n - n0;
    const MASK k0 = (MASK)((1u << n0) - 1u), k1 = (MASK)((1u << n1) - 1u);
    V biask0 = zero, biask1 = zero;
    if (bias) {
        biask0 = OP(_mm512_maskz_loadu)(k0, bias);
        biask1 = OP(_mm512_maskz_loadu)(k1, bias + VL);
    }
    if (n == 2 * VL) {
        ALL_ROWS(ROW_STORE, 1)
    } else {
        ALL_ROWS(ROW_STORE, 0)
    }
}

#undef ROW_FMA
#undef UPD
#undef ROW_STORE
#undef ALL_ROWS

#endif /* CNET_GEMM512_TEMPLATE */
#endif /* __x86_64__ */
