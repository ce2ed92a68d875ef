/* gemm_plan.h -- how cnet's GEMM computes one product: which route, which micro-kernel and cache blocks,
 * which operands are read in place, how many K chunks and threads. Every such decision is made in
 * gemm_plan.c, once per call, from the shape, the strides, the SIMD level and n_threads -- never from
 * the data -- so a GEMM's result does not depend on n_threads. docs/gemm.md says what each decision is
 * and the measurements that chose it. Not part of the public API. */
#ifndef CNET_GEMM_PLAN_H
#define CNET_GEMM_PLAN_H

#include "gemm_internal.h"

/* The micro-kernels (the contract of gemm_internal.h), by SIMD path and shape. */
typedef enum {
    CNET_UKR_PORTABLE,      /* CNET_PORTABLE_MR x NR, plain C (gemm_portable_tmpl.h) */
    CNET_UKR_AVX2,          /* 6 rows x 2 vectors (gemm_avx2_tmpl.h) */
    CNET_UKR_AVX2_NARROW,   /* 12 rows x 1 vector, for N within one vector */
    CNET_UKR_AVX512,        /* 12 rows x 2 vectors, right edges on half vectors (gemm_avx512_tmpl.h) */
    CNET_UKR_AVX512_NARROW, /* 24 rows x 1 vector, for N within one vector */
    CNET_UKR_AVX512_M16,    /* 16 rows x 1 vector, for M a multiple of 16 (a convolution's filters) */
    CNET_UKR_COUNT
} cnet_ukr_id;

/* A micro-kernel's register block, MR rows x NR columns of C, and the cache blocks of the blocked loop
 * (gemm_blocked_tmpl.h): op(A) in MC x KC blocks, op(B) in KC x NC blocks. */
typedef struct {
    int64_t mr, nr, mc, kc, nc;
} cnet_gemm_blocking;

typedef enum {
    CNET_GEMM_ROWS,    /* a row kernel per row of C, op(B) read in place, one thread (gemm_tmpl.h) */
    CNET_GEMM_SPLITK,  /* K cut into chunks, their products added in chunk order (gemm_splitk_tmpl.h) */
    CNET_GEMM_BLOCKED, /* the blocked loop on a tm x tn grid of rectangles of C (gemm_blocked_tmpl.h) */
} cnet_gemm_route;

typedef struct {
    cnet_gemm_route route;
    int simd;                /* the SIMD level (cnet_internal.h) whose kernels run */
    int64_t rowk_width;      /* ROWS: columns of C per row-kernel call */
    cnet_ukr_id ukr;         /* SPLITK, BLOCKED: the micro-kernel and its blocking */
    cnet_gemm_blocking blk;
    int direct_a;            /* read full MR-row tiles of op(A) in place instead of packing them */
    int direct_b;            /* read full NR-column panels of a row-major op(B) in place */
    int packbt;              /* pack a transposed op(B) by AVX-512 register transposes */
    int skinny;              /* SPLITK: the chunks are computed by the skinny kernel */
    int64_t chunks;          /* SPLITK: the number of K chunks */
    int nt;                  /* threads (<= 1: the calling thread alone) */
    int tm, tn;              /* BLOCKED with nt > 1: the thread grid */
} cnet_gemm_plan;

/* The plan of C = alpha * op(A) . op(B) + ... for elements of esize bytes (4 float, 8 double) and
 * M, N, K >= 1 (op(A) is M x K with row stride lda, op(B) K x N with ldb; see cnet.h). */
cnet_gemm_plan cnet_gemm_make_plan(size_t esize, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                                   int64_t lda, int64_t ldb, int n_threads);

/* min, max, and a / b rounded up (a >= 0, b > 0) */
static inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

#endif /* CNET_GEMM_PLAN_H */
