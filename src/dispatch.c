/* dispatch.c -- which OpenMP runtime and which SIMD path the library uses.
 *
 * The SIMD level is chosen once from the CPU's features (__builtin_cpu_supports); the environment
 * variable CNET_SIMD can force a lower path so that tests exercise every path on one machine. */
#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

static int simd_level = -1;

static int cpu_max_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return CNET_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CNET_SIMD_AVX2;
#endif
    return CNET_SIMD_PORTABLE;
}

static int level_from_name(const char *name) {
    if (name == NULL) return -1;
    if (strcmp(name, "portable") == 0) return CNET_SIMD_PORTABLE;
    if (strcmp(name, "avx2") == 0) return CNET_SIMD_AVX2;
    if (strcmp(name, "avx512") == 0) return CNET_SIMD_AVX512;
    return -1;
}

int cnet_simd_level(void) {
    int level = __atomic_load_n(&simd_level, __ATOMIC_RELAXED);
    if (level >= 0) return level;
    level = cpu_max_level();
    int forced = level_from_name(getenv("CNET_SIMD"));
    if (forced >= 0 && forced < level) level = forced;
    __atomic_store_n(&simd_level, level, __ATOMIC_RELAXED);
    return level;
}

const char *cnet_simd_path(void) {
    switch (cnet_simd_level()) {
    case CNET_SIMD_AVX512: return "avx512";
    case CNET_SIMD_AVX2: return "avx2";
    default: return "portable";
    }
}

int cnet_set_simd_path(const char *name) {
    int level = level_from_name(name);
    if (level < 0 || level > cpu_max_level()) return -1;
    __atomic_store_n(&simd_level, level, __ATOMIC_RELAXED);
    return 0;
}

int cnet_have_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

const char *cnet_openmp_runtime(void) {
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__)
    return "libgomp";
#elif defined(_OPENMP)
    return "llvm-openmp";
#else
    return "none";
#endif
}

int cnet_omp_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void cnet_omp_set_num_threads(int n) {
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}
