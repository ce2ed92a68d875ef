/* cast_tmpl.h -- the 16-bit storage formats of weights, to and from float32: IEEE half (float16, 1-5-10)
 * and bfloat16 (1-8-7, the top half of a float32). Included by cast.c (the baseline ISA, CNET_ISA
 * _portable, with the public functions of cnet.h), cast_avx2.c (_avx2, F16C) and cast_avx512.c
 * (_avx512). Element-wise, threads over fixed blocks: the result does not depend on n_threads.
 *
 * Every path gives the same bits for every input (the tests run all 65536 16-bit patterns and float32
 * edge cases through each):
 *   half -> float32: exact; a NaN keeps its sign and payload, with the quiet bit set (as F16C does).
 *   float32 -> half: rounded to nearest, ties to even, with subnormal halves (no flush to zero);
 *     |x| >= 65520 gives inf; a NaN keeps its sign and the top 10 payload bits, quiet bit set (as F16C).
 *   bfloat16 -> float32: exact, a shift (NaN payloads kept as they are).
 *   float32 -> bfloat16: rounded to nearest, ties to even, subnormals kept; a NaN is truncated with the
 *     quiet bit set. Integer arithmetic compiled for each path. (AVX512_BF16's VCVTNEPS2BF16 is not
 *     used: it treats subnormal inputs as zero, which the other paths do not; and widening needs no
 *     instruction of its own.)
 * The F16C instructions (vcvtph2ps, vcvtps2ph) convert 8 (AVX2) or 16 (AVX-512) elements at a time; a
 * last partial vector goes through a zero-padded copy, so every element of the SIMD paths is converted
 * by the instruction. */
#ifndef CNET_CAST_SHARED
#define CNET_CAST_SHARED

#include <string.h>

#include "cnet_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CNET_CAST_CAT_(a, b) a##b
#define CNET_CAST_CAT(a, b) CNET_CAST_CAT_(a, b)
/* Elements per block of the parallel loops (a multiple of every vector width). */
#define CAST_BLOCK 4096

static inline uint32_t cast_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float cast_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline float cast_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0x1f) return cast_float(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0u));
    if (e == 0) return cast_float(sign | cast_bits((float)m * 0x1p-24f)); /* zero or subnormal: exact */
    return cast_float(sign | ((e + 112u) << 23) | (m << 13));
}

static inline uint16_t cast_float_to_half(float f) {
    uint32_t u = cast_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((u >> 13) & 0x3ffu)); /* NaN */
    if (u >= 0x47800000u) return (uint16_t)(sign | 0x7c00u);                       /* >= 65536, inf */
    if (u < 0x38800000u) { /* below 2^-14: a subnormal half or zero; the float add rounds (ties to even) */
        const float magic = 0.5f; /* 2^-1: its ulp is 2^-24, the smallest half subnormal */
        return (uint16_t)(sign | (cast_bits(cast_float(u) + magic) - cast_bits(magic)));
    }
    /* a normal half: rebias the exponent, round the 13 dropped bits to nearest even (a carry may reach
     * the exponent, up to inf for [65520, 65536)) */
    u += 0xc8000fffu + ((u >> 13) & 1u);
    return (uint16_t)(sign | (u >> 13));
}

static inline float cast_bf16_to_float(uint16_t b) { return cast_float((uint32_t)b << 16); }

static inline uint16_t cast_float_to_bf16(float f) {
    const uint32_t u = cast_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: quiet */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

#endif /* CNET_CAST_SHARED */

#define CNAME(name) CNET_CAST_CAT(name, CNET_ISA)

#if defined(__F16C__) && defined(__AVX512F__)
#define CAST_VL 16
#define CAST_WIDEN(d, s) _mm512_storeu_ps((d), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(s))))
#define CAST_NARROW(d, s)                                                                          \
    _mm256_storeu_si256((__m256i *)(d), _mm512_cvtps_ph(_mm512_loadu_ps(s), _MM_FROUND_TO_NEAREST_INT))
#elif defined(__F16C__)
#define CAST_VL 8
#define CAST_WIDEN(d, s) _mm256_storeu_ps((d), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s))))
#define CAST_NARROW(d, s)                                                                          \
    _mm_storeu_si128((__m128i *)(d), _mm256_cvtps_ph(_mm256_loadu_ps(s), _MM_FROUND_TO_NEAREST_INT))
#endif

/* y (n,) float32 = x (n,) half bits. */
void CNAME(cnet_cast_f16_to_f32)(float *y, const uint16_t *x, int64_t n, int n_threads) {
    const int64_t nb = (n + CAST_BLOCK - 1) / CAST_BLOCK;
    const int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t i0 = blk * CAST_BLOCK, i1 = i0 + CAST_BLOCK < n ? i0 + CAST_BLOCK : n;
#ifdef CAST_VL
        int64_t i = i0;
        for (; i + CAST_VL <= i1; i += CAST_VL) CAST_WIDEN(y + i, x + i);
        if (i < i1) {
            uint16_t s[CAST_VL] = {0};
            float d[CAST_VL];
            memcpy(s, x + i, sizeof(uint16_t) * (size_t)(i1 - i));
            CAST_WIDEN(d, s);
            memcpy(y + i, d, sizeof(float) * (size_t)(i1 - i));
        }
#else
        for (int64_t i = i0; i < i1; i++) y[i] = cast_half_to_float(x[i]);
#endif
    }
}

/* y (n,) half bits = x (n,) float32, rounded to nearest even. */
void CNAME(cnet_cast_f32_to_f16)(uint16_t *y, const float *x, int64_t n, int n_threads) {
    const int64_t nb = (n + CAST_BLOCK - 1) / CAST_BLOCK;
    const int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t i0 = blk * CAST_BLOCK, i1 = i0 + CAST_BLOCK < n ? i0 + CAST_BLOCK : n;
#ifdef CAST_VL
        int64_t i = i0;
        for (; i + CAST_VL <= i1; i += CAST_VL) CAST_NARROW(y + i, x + i);
        if (i < i1) {
            float s[CAST_VL] = {0};
            uint16_t d[CAST_VL];
            memcpy(s, x + i, sizeof(float) * (size_t)(i1 - i));
            CAST_NARROW(d, s);
            memcpy(y + i, d, sizeof(uint16_t) * (size_t)(i1 - i));
        }
#else
        for (int64_t i = i0; i < i1; i++) y[i] = cast_float_to_half(x[i]);
#endif
    }
}

/* y (n,) float32 = x (n,) bfloat16 bits. */
void CNAME(cnet_cast_bf16_to_f32)(float *y, const uint16_t *x, int64_t n, int n_threads) {
    const int64_t nb = (n + CAST_BLOCK - 1) / CAST_BLOCK;
    const int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t i0 = blk * CAST_BLOCK, i1 = i0 + CAST_BLOCK < n ? i0 + CAST_BLOCK : n;
        for (int64_t i = i0; i < i1; i++) y[i] = cast_bf16_to_float(x[i]);
    }
}

/* y (n,) bfloat16 bits = x (n,) float32, rounded to nearest even. */
void CNAME(cnet_cast_f32_to_bf16)(uint16_t *y, const float *x, int64_t n, int n_threads) {
    const int64_t nb = (n + CAST_BLOCK - 1) / CAST_BLOCK;
    const int nt = cnet_threads_for(n, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t i0 = blk * CAST_BLOCK, i1 = i0 + CAST_BLOCK < n ? i0 + CAST_BLOCK : n;
        for (int64_t i = i0; i < i1; i++) y[i] = cast_float_to_bf16(x[i]);
    }
}

#undef CNAME
#undef CAST_VL
#undef CAST_WIDEN
#undef CAST_NARROW
