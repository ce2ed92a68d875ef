/* gemm_pack_tmpl.h -- one product as the GEMM's loops see it (SFX(gemm_t): the operands and the plan's
 * choices), and the packing of its operands into the micro-kernels' layouts (gemm_internal.h): the
 * template (instantiate.h) that gemm.c instantiates before the blocked and split-K loops. */
#ifndef CNET_GEMM_PACK_SHARED
#define CNET_GEMM_PACK_SHARED

#include <string.h>

#include "gemm_plan.h"

#endif /* CNET_GEMM_PACK_SHARED */

/* The plan's micro-kernel (gemm_plan.h). */
typedef struct {
    SFX(cnet_ukr) ukr;
    int64_t mr, nr, mc, kc, nc; /* and its blocking (gemm_plan.h) */
} SFX(kernel_t);

/* One product: its operands, and the plan's choices that the loops read. */
typedef struct {
    int trans_a, trans_b;
    const REAL *A, *B;
    int64_t lda, ldb;
    REAL alpha;
    SFX(kernel_t) k;
    int direct_a; /* read full MR-row tiles of op(A) in place instead of packing them */
    int direct_b; /* read full NR-column panels of a row-major op(B) in place */
    int skinny;   /* split-K chunks computed by the skinny kernel */
    void (*packbt)(CNET_PACKBT_ARGS(REAL)); /* SIMD packing of a transposed op(B), or NULL */
} SFX(gemm_t);

/* d[0 : w] = s[0 : w]. The widths of the kernels' tiles and panels are copied by constant-size memcpy,
 * which compiles to inlined moves (a call to memcpy cost most of packing 12 elements at a time). */
static inline void SFX(copy_n)(REAL *restrict d, const REAL *restrict s, int64_t w) {
    switch (w) {
    case 4: memcpy(d, s, sizeof(REAL) * 4); break;
    case 6: memcpy(d, s, sizeof(REAL) * 6); break;
    case 8: memcpy(d, s, sizeof(REAL) * 8); break;
    case 12: memcpy(d, s, sizeof(REAL) * 12); break;
    case 16: memcpy(d, s, sizeof(REAL) * 16); break;
    case 24: memcpy(d, s, sizeof(REAL) * 24); break;
    case 32: memcpy(d, s, sizeof(REAL) * 32); break;
    default: memcpy(d, s, sizeof(REAL) * (size_t)w);
    }
}

/* Packs op(A)[i0 : i0+mc, p0 : p0+kc] into MR-high panels: dst[panel][p][i] (op(A) transposed,
 * i.e. A is (K, M) and op(A)[i][p] = A[p*lda + i]). p outer: each row of A is read sequentially. */
static void SFX(pack_a)(REAL *restrict dst, const SFX(gemm_t) *g, int64_t i0, int64_t mc, int64_t p0,
                        int64_t kc) {
    const int64_t mr = g->k.mr, lda = g->lda, mfull = mc / mr * mr;
    for (int64_t p = 0; p < kc; ++p) {
        const REAL *src = g->A + (p0 + p) * lda + i0;
        for (int64_t ir = 0; ir < mfull; ir += mr) SFX(copy_n)(dst + ir * kc + p * mr, src + ir, mr);
        if (mfull < mc) {
            REAL *d = dst + mfull * kc + p * mr;
            for (int64_t i = 0; i < mr; ++i) d[i] = mfull + i < mc ? src[mfull + i] : (REAL)0;
        }
    }
}

/* Row stride of A rows copied by pack_a_rows: kc rounded up to a cache line, and not a multiple of
 * CNET_GEMM_CONFLICT_STRIDE. */
static inline int64_t SFX(rows_ld)(int64_t kc) {
    int64_t ld = cdiv(kc, 64 / (int64_t)sizeof(REAL)) * (64 / (int64_t)sizeof(REAL));
    if ((ld * (int64_t)sizeof(REAL)) % CNET_GEMM_CONFLICT_STRIDE == 0) ld += 64 / (int64_t)sizeof(REAL);
    return ld;
}

/* Copies rows i0 : i0+mc of a row-major op(A), columns p0 : p0+kc, to dst with row stride ld (a
 * plain copy, much cheaper than packing panels), and zero rows up to a multiple of MR. */
static void SFX(pack_a_rows)(REAL *restrict dst, const SFX(gemm_t) *g, int64_t i0, int64_t mc, int64_t p0,
                             int64_t kc, int64_t ld) {
    const int64_t mr = g->k.mr;
    for (int64_t i = 0; i < mc; ++i) memcpy(dst + i * ld, g->A + (i0 + i) * g->lda + p0, sizeof(REAL) * kc);
    for (int64_t i = mc; i < cdiv(mc, mr) * mr; ++i) memset(dst + i * ld, 0, sizeof(REAL) * kc);
}

/* Packs op(B)[p0 : p0+kc, j0 : j0+nc] into NR-wide panels: dst[panel][p][j]. */
static void SFX(pack_b)(REAL *restrict dst, const SFX(gemm_t) *g, int64_t p0, int64_t kc, int64_t j0,
                        int64_t nc) {
    const int64_t nr = g->k.nr, ldb = g->ldb;
    for (int64_t jr = 0; jr < nc; jr += nr) {
        const int64_t n = imin(nr, nc - jr);
        REAL *restrict d = dst + jr * kc;
        if (!g->trans_b) { /* op(B)[p][j] = B[p*ldb + j] */
            const REAL *src = g->B + p0 * ldb + j0 + jr;
            if (n == nr)
                for (int64_t p = 0; p < kc; ++p) SFX(copy_n)(d + p * nr, src + p * ldb, nr);
            else
                for (int64_t p = 0; p < kc; ++p)
                    for (int64_t j = 0; j < nr; ++j) d[p * nr + j] = j < n ? src[p * ldb + j] : 0;
        } else if (g->packbt) { /* op(B)[p][j] = B[j*ldb + p]: blocks transposed in registers */
            g->packbt(d, g->B + (j0 + jr) * ldb + p0, ldb, kc, n, nr);
        } else {
            /* p outer: the panel is written contiguously, the n rows of B are read as n streams */
            const REAL *src = g->B + (j0 + jr) * ldb + p0;
            for (int64_t p = 0; p < kc; ++p) {
                for (int64_t j = 0; j < n; ++j) d[p * nr + j] = src[j * ldb + p];
                for (int64_t j = n; j < nr; ++j) d[p * nr + j] = 0;
            }
        }
    }
}
