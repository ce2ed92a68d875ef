/* cnet_internal.h -- helpers shared by the kernel files; not part of the public API. */
#ifndef CNET_INTERNAL_H
#define CNET_INTERNAL_H

#include "cnet.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum { CNET_SIMD_PORTABLE = 0, CNET_SIMD_AVX2 = 1, CNET_SIMD_AVX512 = 2 };

/* The SIMD level in force (see cnet_simd_path); cheap to call (a cached integer). */
int cnet_simd_level(void);

/* Sums are taken over fixed-size chunks, then the chunk sums are added in order, so that the result
 * does not depend on the number of threads. */
#define CNET_REDUCE_CHUNK 256

/* Rows of a row-wise kernel below which threading costs more than it gains. */
#define CNET_MIN_PARALLEL_WORK 32768

static inline int cnet_threads_for(int64_t work, int n_threads) {
    if (n_threads < 1 || work < CNET_MIN_PARALLEL_WORK) return 1;
    return n_threads;
}

#endif /* CNET_INTERNAL_H */
