/* gemm_internal.h -- the contract between the GEMM driver (gemm.c and its templates) and its kernels
 * (gemm_portable_tmpl.h, gemm_avx2.c, gemm_avx512.c). Not part of the public API.
 *
 * A micro-kernel computes one MR x NR tile of C:
 *   a: the MR x kc block of op(A), element (i, p) at a[i*rs_a + p*cs_a]. Packed panels have rs_a = 1,
 *      cs_a = MR (rows past the matrix edge are zero); a row-major A may be read in place (rs_a = lda,
 *      cs_a = 1), but then all MR rows must exist.
 *   b: kc x NR panel of op(B), row p at b + p*rs_b: packed k-major (rs_b = NR, columns past the edge
 *      zero), or a row-major op(B) read in place (rs_b = ldb; all NR columns exist). No alignment is
 *      assumed (unaligned loads).
 * and updates the m x n corner (m <= MR, n <= NR) of the tile at c (row stride ldc), ab scaled by
 * alpha first:
 *   beta == 0: c = alpha*ab        (c is never read, so NaN/garbage is overwritten)
 *   beta == 1: c = c + alpha*ab
 *   otherwise: c = beta*c + alpha*ab
 * then, when bias != NULL, c += bias[j] (bias points at the tile's first column), and when relu != 0,
 * c = max(c, 0) with NaN propagated. The driver passes bias/relu only with the last K block.
 * Every element is a sequential FMA chain over p, so the value of an element does not depend on
 * which tile or thread computed it, nor on whether its A rows were packed. */
#ifndef CNET_GEMM_INTERNAL_H
#define CNET_GEMM_INTERNAL_H

#include "cnet_internal.h"

#define CNET_UKR_ARGS(R)                                                                           \
    int64_t kc, const R *a, int64_t rs_a, int64_t cs_a, const R *b, int64_t rs_b, R *c, int64_t ldc, \
        int64_t m, int64_t n, R alpha, R beta, const R *bias, int relu
typedef void (*cnet_ukr_f32)(CNET_UKR_ARGS(float));
typedef void (*cnet_ukr_f64)(CNET_UKR_ARGS(double));
/* In an ISA file's micro-kernel: BODYF(MRC, NV, <the kernel's arguments>) on MRC rows x NV vectors, with
 * the strides of a packed A of MR-row tiles (rs_a 1, cs_a MR) as constants when they are, so that the
 * compiler specializes the common case. MRC < MR: a bottom-edge tile of m <= MRC rows on a lower body
 * (the rows past m are padding no store reads; each row's sums are the same on any body). */
#define CNET_UKR_CALL_TILE(BODYF, MRC, NV, MR)                                                     \
    if (rs_a == 1 && cs_a == (MR))                                                                 \
        BODYF(MRC, NV, kc, a, 1, MR, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);              \
    else                                                                                           \
        BODYF(MRC, NV, kc, a, rs_a, cs_a, b, rs_b, c, ldc, m, n, alpha, beta, bias, relu);
#define CNET_UKR_CALL(BODYF, MRC, NV) CNET_UKR_CALL_TILE(BODYF, MRC, NV, MRC)

/* The portable micro-kernel's tile (gemm_portable_tmpl.h): MR rows x NR columns, per dtype. (The ISA
 * kernels' tiles are fixed by their code; gemm_plan.c lists them all.) */
#define CNET_PORTABLE_MR 4
#define CNET_PORTABLE_NR_F32 8
#define CNET_PORTABLE_NR_F64 4

/* A row kernel computes one row of C from a row-major op(B) read in place (no packing), for GEMMs with
 * very few rows (a dense layer predicting one sample):
 *   c[j] = update(sum_p a[p*cs_a] * b[p*ldb + j]) for 0 <= j < n <= its width,
 * the update as above (alpha, beta, bias, relu). Element j is one sequential FMA chain over p. Widths:
 * 8 vectors of the path (gemm_plan.c), 64 columns for the portable one. */
#define CNET_ROWK_ARGS(R)                                                                          \
    int64_t k, const R *a, int64_t cs_a, const R *b, int64_t ldb, R *c, int64_t n, R alpha, R beta,  \
        const R *bias, int relu
typedef void (*cnet_rowk_f32)(CNET_ROWK_ARGS(float));
typedef void (*cnet_rowk_f64)(CNET_ROWK_ARGS(double));
#define CNET_ROWK_VECTORS 8
#define CNET_PORTABLE_ROWK_WIDTH 64
/* Each ISA's row kernel switches on its vector count nv, so that BODYF(nv, ...) gets a compile-time
 * constant (nv >= 8: 8). */
#define CNET_ROWK_DISPATCH(BODYF, nv, ...)                                                         \
    switch (nv) {                                                                                  \
    case 0: BODYF(0, __VA_ARGS__); break;                                                          \
    case 1: BODYF(1, __VA_ARGS__); break;                                                          \
    case 2: BODYF(2, __VA_ARGS__); break;                                                          \
    case 3: BODYF(3, __VA_ARGS__); break;                                                          \
    case 4: BODYF(4, __VA_ARGS__); break;                                                          \
    case 5: BODYF(5, __VA_ARGS__); break;                                                          \
    case 6: BODYF(6, __VA_ARGS__); break;                                                          \
    case 7: BODYF(7, __VA_ARGS__); break;                                                          \
    default: BODYF(8, __VA_ARGS__); break;                                                         \
    }

/* A skinny kernel computes all of a small C from a transposed op(A) and a row-major op(B), both read
 * in place (no packing): the weight gradient X^T . dY of a layer with few inputs and outputs over a
 * long K (a first convolution: 9 x 86528 x 32):
 *   c[i*ldc + j] = alpha * sum_p a[p*lda + i] * b[p*ldb + j], 0 <= i < m, 0 <= j < n,
 * c overwritten. AVX-512: n <= 2 vectors, m <= CNET_SKINNY_MR_2V (n > 1 vector) or CNET_SKINNY_MR_1V.
 * Each element is one sequential FMA chain over p. */
#define CNET_SKINNY_ARGS(R)                                                                        \
    int64_t k, const R *a, int64_t lda, const R *b, int64_t ldb, R *c, int64_t ldc, int64_t m,       \
        int64_t n, R alpha
#define CNET_SKINNY_MR_1V 24 /* rows with one vector of columns */
#define CNET_SKINNY_MR_2V 12 /* rows with two */

/* Packs one panel of a transposed op(B) (op(B)[p][j] = src[j*ldb + p]) k-major: d[p*nr + j] for
 * 0 <= p < kc, 0 <= j < nr, zero for j >= n; nr a multiple of the vector width. */
#define CNET_PACKBT_ARGS(R)                                                                        \
    R *restrict d, const R *restrict src, int64_t ldb, int64_t kc, int64_t n, int64_t nr

/* A row stride (bytes) whose multiples put the rows of a tile into a few L1 sets, where they evict each
 * other: an operand with such a stride is packed (gemm_plan.c), and copied rows avoid it (gemm_pack). */
#define CNET_GEMM_CONFLICT_STRIDE 2048

#if defined(__x86_64__)
void cnet_gemm_packbt_avx512_f32(CNET_PACKBT_ARGS(float));
void cnet_gemm_packbt_avx512_f64(CNET_PACKBT_ARGS(double));
void cnet_gemm_skinny_avx512_f32(CNET_SKINNY_ARGS(float));
void cnet_gemm_skinny_avx512_f64(CNET_SKINNY_ARGS(double));
void cnet_gemm_rowk_avx512_f32(CNET_ROWK_ARGS(float));
void cnet_gemm_rowk_avx512_f64(CNET_ROWK_ARGS(double));
void cnet_gemm_rowk_avx2_f32(CNET_ROWK_ARGS(float));
void cnet_gemm_rowk_avx2_f64(CNET_ROWK_ARGS(double));
void cnet_gemm_ukr_avx512_f32(CNET_UKR_ARGS(float));
void cnet_gemm_ukr_avx512_narrow_f32(CNET_UKR_ARGS(float));
void cnet_gemm_ukr_avx512_m16_f32(CNET_UKR_ARGS(float));
void cnet_gemm_ukr_avx512_m16_f64(CNET_UKR_ARGS(double));
void cnet_gemm_ukr_avx512_f64(CNET_UKR_ARGS(double));
void cnet_gemm_ukr_avx512_narrow_f64(CNET_UKR_ARGS(double));
void cnet_gemm_ukr_avx2_f32(CNET_UKR_ARGS(float));
void cnet_gemm_ukr_avx2_narrow_f32(CNET_UKR_ARGS(float));
void cnet_gemm_ukr_avx2_f64(CNET_UKR_ARGS(double));
void cnet_gemm_ukr_avx2_narrow_f64(CNET_UKR_ARGS(double));
#endif

#endif /* CNET_GEMM_INTERNAL_H */
