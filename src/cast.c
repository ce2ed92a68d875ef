/* cast.c -- float16 and bfloat16 weights to and from float32 (cast_tmpl.h) for the baseline ISA, and the
 * public functions of cnet.h, each dispatching to this path or to cast_avx2.c / cast_avx512.c. The
 * F16C instructions come with AVX2 on every CPU cnet's AVX2 path runs on, but are checked anyway. */
#define CNET_ISA _portable
#include "cast_tmpl.h"

#if defined(__x86_64__)
#define CAST_FUNCS(name, Y, X)                                                                     \
    void name##_avx2(Y *y, const X *x, int64_t n, int n_threads);                                  \
    void name##_avx512(Y *y, const X *x, int64_t n, int n_threads);                                \
    void name(Y *y, const X *x, int64_t n, int n_threads) {                                        \
        const int level = cnet_simd_level();                                                       \
        if (level == CNET_SIMD_AVX512) name##_avx512(y, x, n, n_threads);                          \
        else if (level == CNET_SIMD_AVX2 && __builtin_cpu_supports("f16c"))                        \
            name##_avx2(y, x, n, n_threads);                                                       \
        else name##_portable(y, x, n, n_threads);                                                  \
    }
#else
#define CAST_FUNCS(name, Y, X)                                                                     \
    void name(Y *y, const X *x, int64_t n, int n_threads) { name##_portable(y, x, n, n_threads); }
#endif

CAST_FUNCS(cnet_cast_f16_to_f32, float, uint16_t)
CAST_FUNCS(cnet_cast_f32_to_f16, uint16_t, float)
CAST_FUNCS(cnet_cast_bf16_to_f32, float, uint16_t)
CAST_FUNCS(cnet_cast_f32_to_bf16, uint16_t, float)
