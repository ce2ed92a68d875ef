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

/* ---- scratch memory (scratch.c) ----------------------------------------------------------------
 * The library's one allocator of per-thread scratch: 64-byte aligned, any size (0 gives a valid
 * pointer). Returns NULL when out of memory -- or when the testing hook cnet_debug_fail_alloc_after
 * says so -- and then records the size for cnet_scratch_failed_bytes. Free with cnet_scratch_free
 * (NULL is fine). A kernel whose allocation fails computes nothing more and returns CNET_ERR_NOMEM. */
void *cnet_scratch_alloc(size_t bytes);
void cnet_scratch_free(void *p);

/* A flag shared by the threads of a parallel region, raised by a thread whose scratch allocation (or
 * whose GEMM's) failed. Threads allocate first, raise the flag on failure, meet at a barrier and then
 * all read the same value: either every thread works or none does. Atomic accesses, so no data race. */
static inline void cnet_flag_raise(int *flag) {
#pragma omp atomic write
    *flag = 1;
}

static inline int cnet_flag_read(int *flag) {
    int v;
#pragma omp atomic read
    v = *flag;
    return v;
}

/* ---- window geometry (im2col.c, pool2d.c) ------------------------------------------------------ */

/* Outputs o in [0, O) whose input index o*S + off lies in [0, L): the range [*lo, *hi). */
static inline void cnet_valid_range(int64_t O, int64_t S, int64_t off, int64_t L, int64_t *lo,
                                    int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + S - 1) / S;
    int64_t b = L - 1 - off < 0 ? 0 : (L - 1 - off) / S + 1;
    if (a > O) a = O;
    if (b > O) b = O;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

#endif /* CNET_INTERNAL_H */
