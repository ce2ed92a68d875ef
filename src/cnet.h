/*
 * cnet.h -- the public header of cnet's C kernel library.
 *
 * Dimension legend (all arrays are C-contiguous, row-major, channels-first):
 *   N   batch size               C   input channels          H, W   input height / width
 *   K   filters (out channels)   KH, KW  kernel height/width  OH, OW output height / width
 *   D   features of a dense layer (input), U units (output)   L  classes (labels)
 *
 * Conventions:
 *   - Names: cnet_<op>_<forward|backward>_<f32|f64>. Argument order: outputs, caches, inputs/weights,
 *     sizes, n_threads. Each function says which outputs it overwrites and which it accumulates into.
 *   - Sizes and indices are int64_t; no kernel checks its arguments (Python does, once).
 *   - Results are bit-identical for every n_threads: no reduction order depends on the thread count.
 *   - The library never allocates persistent memory: callers own every output and cache. Per-thread
 *     scratch is allocated inside the parallel region and freed there.
 */
#ifndef CNET_H
#define CNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runtime: threads and CPU dispatch (dispatch.c) ------------------------------------------ */

/* 1 when the library was built with OpenMP, else 0 (kernels then run serially). */
int cnet_have_openmp(void);
/* The OpenMP runtime's name ("libgomp", "llvm-openmp", ... or "none"). */
const char *cnet_openmp_runtime(void);
/* The SIMD path the kernels use: "avx512", "avx2" or "portable". Chosen once from the CPU's features;
 * the environment variable CNET_SIMD=portable|avx2|avx512 forces a lower (or equal) path. */
const char *cnet_simd_path(void);
/* Forces a path ("portable", "avx2", "avx512"); returns 0 on success, -1 if the CPU lacks it. */
int cnet_set_simd_path(const char *name);

/* omp_get_max_threads() (1 without OpenMP), and omp_set_num_threads(n) (no-op without OpenMP). */
int cnet_omp_max_threads(void);
void cnet_omp_set_num_threads(int n);

/* ---- GEMM (gemm.c, gemm_avx2.c, gemm_avx512.c) ----------------------------------------------
 * C = alpha * op(A) . op(B) + beta * C, then the epilogue (row-major, all matrices).
 *   op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
 *   op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b.
 *   C is (M, N) with row stride ldc. beta == 0 overwrites C (C may hold NaN/garbage); else accumulates.
 *   bias: NULL or a length-N vector added to every row after alpha*AB + beta*C.
 *   epilogue: CNET_EPI_NONE or CNET_EPI_RELU (max(0, .) applied last).
 * Results do not depend on n_threads (K is never split across threads in a thread-count-dependent way).
 * n_threads <= 1 runs on the calling thread (safe to call from inside another parallel region). */
enum { CNET_EPI_NONE = 0, CNET_EPI_RELU = 1 };
void cnet_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                   float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc, const float *bias, int epilogue, int n_threads);
void cnet_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                   double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                   double beta, double *C, int64_t ldc, const double *bias, int epilogue, int n_threads);
/* The reference triple loop, same contract and arguments (one sequential sum per element, threads over
 * rows): the oracle in tests and a fallback for odd shapes. */
void cnet_gemm_naive_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                         float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                         float beta, float *C, int64_t ldc, const float *bias, int epilogue, int n_threads);
void cnet_gemm_naive_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                         double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                         double beta, double *C, int64_t ldc, const double *bias, int epilogue,
                         int n_threads);

/* ---- dense layer (affine.c) ------------------------------------------------------------------- */

/* x (N, D), w (D, U), b (U,) or NULL -> y (N, U) = x . w + b, then max(., 0) when relu. Overwrites y. */
void cnet_affine_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                             int64_t D, int64_t U, int relu, int n_threads);
void cnet_affine_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                             int64_t D, int64_t U, int relu, int n_threads);
/* dy (N, U), x (N, D), w (D, U) -> dx (N, D) = dy . wT, dw (D, U) = xT . dy, db (U,) = column sums of
 * dy. All overwritten; dx and db may be NULL (not computed). */
void cnet_affine_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                              const float *w, int64_t N, int64_t D, int64_t U, int n_threads);
void cnet_affine_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                              const double *w, int64_t N, int64_t D, int64_t U, int n_threads);
/* x (N, D) -> out (D,) = column sums, in fixed row chunks (thread-count independent). Overwrites out. */
void cnet_colsum_f32(float *out, const float *x, int64_t N, int64_t D, int n_threads);
void cnet_colsum_f64(double *out, const double *x, int64_t N, int64_t D, int n_threads);

/* ---- activations (activation.c) ---------------------------------------------------------------- */

/* y (n,) = max(x, 0). Overwrites y; y may alias x. */
void cnet_relu_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_relu_forward_f64(double *y, const double *x, int64_t n, int n_threads);
/* dx (n,) = dy where y > 0, else 0 (y is the forward output). Overwrites dx; dx may alias dy. */
void cnet_relu_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads);
void cnet_relu_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads);

/* ---- fused softmax + cross-entropy (softmax_xent.c) ------------------------------------------- */

/* logits (N, L); labels (N,) int64 in [0, L). probs (N, L) overwritten with softmax(logits);
 * row_loss (N,) overwritten with -log p[label]. Returns the mean loss, summed in fixed chunks. */
double cnet_softmax_xent_forward_f32(float *probs, float *row_loss, const float *logits,
                                     const int64_t *labels, int64_t N, int64_t L, int n_threads);
double cnet_softmax_xent_forward_f64(double *probs, double *row_loss, const double *logits,
                                     const int64_t *labels, int64_t N, int64_t L, int n_threads);
/* The same with dense targets (N, L) (one-hot or soft): row_loss = -sum_j t_j log p_j. */
double cnet_softmax_xent_dense_forward_f32(float *probs, float *row_loss, const float *logits,
                                           const float *targets, int64_t N, int64_t L, int n_threads);
double cnet_softmax_xent_dense_forward_f64(double *probs, double *row_loss, const double *logits,
                                           const double *targets, int64_t N, int64_t L, int n_threads);
/* dlogits (N, L) = (probs * sum_j t_j - t) / N, overwritten; may alias probs (not targets). */
void cnet_softmax_xent_dense_backward_f32(float *dlogits, const float *probs, const float *targets,
                                          int64_t N, int64_t L, int n_threads);
void cnet_softmax_xent_dense_backward_f64(double *dlogits, const double *probs, const double *targets,
                                          int64_t N, int64_t L, int n_threads);
/* dlogits (N, L) = (probs - onehot(labels)) / N. Overwrites dlogits; may alias probs. */
void cnet_softmax_xent_backward_f32(float *dlogits, const float *probs, const int64_t *labels,
                                    int64_t N, int64_t L, int n_threads);
void cnet_softmax_xent_backward_f64(double *dlogits, const double *probs, const int64_t *labels,
                                    int64_t N, int64_t L, int n_threads);

#ifdef __cplusplus
}
#endif
#endif /* CNET_H */
