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

/* ---- per-ISA families (activation, loss_mse, optim, pool, regularization_*) ----------------------
 * Their template is compiled three times (instantiate.h): by X.c with CNET_ISA _portable (no ISA flags,
 * baseline SSE2), by X_avx2.c with _avx2 and by X_avx512.c with _avx512 (CMakeLists.txt gives these
 * files their ISA flags), so that KNAME(cnet_relu_forward) is cnet_relu_forward_avx2_f32 in X_avx2.c.
 * The template ends with one CNET_DISPATCH per kernel (CNET_DISPATCH_RET for one that returns a value):
 * params is the parenthesized parameter list, args the argument list that forwards it. In X.c, which
 * defines CNET_DISPATCHERS, that is the public function SFX(name) of cnet.h, one switch on
 * cnet_simd_level() per call; in the ISA files it is nothing. The vector code is the compiler's
 * auto-vectorization of the same C body; CMakeLists.txt's floating-point flags say where the paths are
 * bit-identical. */
#if !defined(CNET_DISPATCHERS)
#define CNET_DISPATCH(name, params, args)
#define CNET_DISPATCH_RET(ret, name, params, args)
#elif defined(__x86_64__)
#define CNET_DISPATCH_DECLARE(ret, name, params)                                                   \
    ret SFX(name##_portable) params;                                                               \
    ret SFX(name##_avx2) params;                                                                   \
    ret SFX(name##_avx512) params;
#define CNET_DISPATCH(name, params, args)                                                          \
    CNET_DISPATCH_DECLARE(void, name, params)                                                      \
    void SFX(name) params {                                                                        \
        switch (cnet_simd_level()) {                                                               \
        case CNET_SIMD_AVX512: SFX(name##_avx512) args; return;                                    \
        case CNET_SIMD_AVX2: SFX(name##_avx2) args; return;                                        \
        default: SFX(name##_portable) args; return;                                                \
        }                                                                                          \
    }
#define CNET_DISPATCH_RET(ret, name, params, args)                                                 \
    CNET_DISPATCH_DECLARE(ret, name, params)                                                       \
    ret SFX(name) params {                                                                         \
        switch (cnet_simd_level()) {                                                               \
        case CNET_SIMD_AVX512: return SFX(name##_avx512) args;                                     \
        case CNET_SIMD_AVX2: return SFX(name##_avx2) args;                                         \
        default: return SFX(name##_portable) args;                                                 \
        }                                                                                          \
    }
#else /* no x86 files: the portable kernels are the only ones */
#define CNET_DISPATCH(name, params, args)                                                          \
    void SFX(name) params { SFX(name##_portable) args; }
#define CNET_DISPATCH_RET(ret, name, params, args)                                                 \
    ret SFX(name) params { return SFX(name##_portable) args; }
#endif

/* Sums are taken over fixed-size chunks, then the chunk sums are added in order, so that the result
 * does not depend on the number of threads. */
#define CNET_REDUCE_CHUNK 256

/* Work, counted in array elements (n, rows * L, N*C*H*W: the size of what a kernel passes over, not a
 * number of rows), below which a kernel runs on one thread: threading would cost more than it gains. */
#define CNET_MIN_PARALLEL_WORK 32768

static inline int cnet_threads_for(int64_t work, int n_threads) {
    if (n_threads < 1 || work < CNET_MIN_PARALLEL_WORK) return 1;
    return n_threads;
}

/* ---- scratch memory (scratch.c) ----------------------------------------------------------------
 * The library's one allocator of per-thread scratch: 64-byte aligned, any size (0 gives a valid
 * pointer). Returns NULL when out of memory -- or when the testing hook cnet_debug_fail_alloc_after
 * says so -- and then records the size for cnet_scratch_failed_bytes. Free with cnet_scratch_free
 * (NULL is fine), on any thread: the freeing thread keeps the block for its next requests while it
 * keeps at most 4 blocks and 16 MiB (scratch.c says why). A kernel whose allocation fails computes
 * nothing more and returns CNET_ERR_NOMEM. */
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

/* ---- window geometry (conv_im2col_tmpl.h, pool_tmpl.h) ----------------------------------------- */

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
