/* gemm_internal.h -- the contract between the GEMM driver (gemm.c) and its micro-kernels
 * (gemm.c portable, gemm_avx2.c, gemm_avx512.c). Not part of the public API.
 *
 * A micro-kernel computes one MR x NR tile of C from packed panels:
 *   a: MR x kc panel of op(A), stored k-major: a[p*MR + i] (rows past the matrix edge are zero;
 *      alpha is already folded in by the packing).
 *   b: kc x NR panel of op(B), stored k-major: b[p*NR + j] (columns past the edge are zero).
 * and updates the m x n corner (m <= MR, n <= NR) of the tile at c (row stride ldc):
 *   beta == 0: c = ab        (c is never read, so NaN/garbage is overwritten)
 *   beta == 1: c = c + ab
 *   otherwise: c = beta*c + ab
 * then, when bias != NULL, c += bias[j] (bias points at the tile's first column), and when relu != 0,
 * c = max(c, 0) with NaN propagated. The driver passes bias/relu only with the last K block.
 * Every element is a sequential FMA chain over p, so the value of an element does not depend on
 * which tile or thread computed it. */
#ifndef CNET_GEMM_INTERNAL_H
#define CNET_GEMM_INTERNAL_H

#include "cnet_internal.h"

typedef void (*cnet_ukr_f32)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                             int64_t m, int64_t n, float beta, const float *bias, int relu);
typedef void (*cnet_ukr_f64)(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                             int64_t m, int64_t n, double beta, const double *bias, int relu);

/* Register-block sizes of each path (MR rows x NR columns). */
#define CNET_AVX512_MR_F32 12
#define CNET_AVX512_NR_F32 32
#define CNET_AVX512_MR_F64 12
#define CNET_AVX512_NR_F64 16
#define CNET_AVX2_MR_F32 6
#define CNET_AVX2_NR_F32 16
#define CNET_AVX2_MR_F64 6
#define CNET_AVX2_NR_F64 8

#if defined(__x86_64__)
void cnet_gemm_ukr_avx512_f32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                              int64_t m, int64_t n, float beta, const float *bias, int relu);
void cnet_gemm_ukr_avx512_f64(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                              int64_t m, int64_t n, double beta, const double *bias, int relu);
void cnet_gemm_ukr_avx2_f32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                            int64_t m, int64_t n, float beta, const float *bias, int relu);
void cnet_gemm_ukr_avx2_f64(int64_t kc, const double *a, const double *b, double *c, int64_t ldc,
                            int64_t m, int64_t n, double beta, const double *bias, int relu);
#endif

#endif /* CNET_GEMM_INTERNAL_H */
