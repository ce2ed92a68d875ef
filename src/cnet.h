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
 *     scratch is allocated inside the parallel region and freed there (the allocator keeps a thread's
 *     last few freed blocks, at most 16 MiB, for its next kernels, and frees them when it exits).
 *   - A kernel that allocates scratch returns an int: CNET_OK (0), or CNET_ERR_NOMEM when an allocation
 *     failed. It then skips the rest of its work -- no thread computes from missing scratch -- and its
 *     outputs are unspecified (partly written). It never fails silently.
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

/* ---- scratch memory (scratch.c) ---------------------------------------------------------------- */

enum { CNET_OK = 0, CNET_ERR_NOMEM = 1, CNET_ERR_LAYOUT = 2 };
/* The size in bytes of the most recent scratch allocation that failed (0 if none), for error messages.
 * Process-wide: when kernels run out of memory in two threads at once it may be the other's size. */
size_t cnet_scratch_failed_bytes(void);
/* Testing hook, not for production: after n more successful scratch allocations (counted over all
 * threads and kernels), every scratch allocation fails until the hook is reset; n < 0 resets it
 * (allocations succeed again). Lets tests drive every out-of-memory path of the kernels. */
void cnet_debug_fail_alloc_after(int n);
/* The bytes of freed scratch the threads keep for their next requests (scratch.c: at most 16 MiB a
 * thread, given back to malloc when the thread exits), summed over the threads; for tests. */
size_t cnet_scratch_cached_bytes(void);

/* ---- GEMM (gemm*.c) --------------------------------------------------------------------------
 * C = alpha * op(A) . op(B) + beta * C, then the epilogue (row-major, all matrices).
 *   op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
 *   op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b.
 *   C is (M, N) with row stride ldc. beta == 0 overwrites C (C may hold NaN/garbage); else accumulates.
 *   bias: NULL or a length-N vector added to every row after alpha*AB + beta*C.
 *   epilogue: CNET_EPI_NONE or CNET_EPI_RELU (max(0, .) applied last).
 * Results do not depend on n_threads (K is never split across threads in a thread-count-dependent way).
 * n_threads <= 1 runs on the calling thread (safe to call from inside another parallel region).
 * Scratch: packing buffers per thread, and the partial products of the split-K path; returns CNET_OK or
 * CNET_ERR_NOMEM (C then unspecified). */
enum { CNET_EPI_NONE = 0, CNET_EPI_RELU = 1 };
int cnet_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                  float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc, const float *bias, int epilogue, int n_threads);
int cnet_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                  double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                  double beta, double *C, int64_t ldc, const double *bias, int epilogue, int n_threads);

/* ---- dense layer (gemm_affine.c) -------------------------------------------------------------- */

/* x (N, D), w (D, U), b (U,) or NULL -> y (N, U) = x . w + b, then max(., 0) when relu. Overwrites y.
 * Returns the GEMM's status (CNET_OK or CNET_ERR_NOMEM). */
int cnet_affine_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                            int64_t D, int64_t U, int relu, int n_threads);
int cnet_affine_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                            int64_t D, int64_t U, int relu, int n_threads);
/* dy (N, U), x (N, D), w (D, U) -> dx (N, D) = dy . wT, dw (D, U) = xT . dy, db (U,) = column sums of
 * dy. All overwritten; dx and db may be NULL (not computed). Returns CNET_OK or CNET_ERR_NOMEM (from a
 * GEMM). */
int cnet_affine_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                             const float *w, int64_t N, int64_t D, int64_t U, int n_threads);
int cnet_affine_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                             const double *w, int64_t N, int64_t D, int64_t U, int n_threads);
/* x (N, D) -> out (D,) = column sums, in fixed row chunks (thread-count independent). Overwrites out.
 * Without memory for its chunk partials it takes the same sums column by column: it cannot fail. */
void cnet_colsum_f32(float *out, const float *x, int64_t N, int64_t D, int n_threads);
void cnet_colsum_f64(double *out, const double *x, int64_t N, int64_t D, int n_threads);

/* ---- activations (activation.c) ---------------------------------------------------------------- */

/* y (n,) = max(x, 0). Overwrites y; y may alias x. */
void cnet_relu_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_relu_forward_f64(double *y, const double *x, int64_t n, int n_threads);
/* dx (n,) = dy where y > 0, else 0 (y is the forward output). Overwrites dx; dx may alias dy. */
void cnet_relu_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads);
void cnet_relu_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads);
/* y (n,) = 1/(1 + exp(-x)), through exp(-|x|) so no exp overflows. Overwrites y; y may alias x. */
void cnet_sigmoid_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_sigmoid_forward_f64(double *y, const double *x, int64_t n, int n_threads);
/* dx (n,) = dy * y * (1 - y) (y is the forward output). Overwrites dx; dx may alias dy. */
void cnet_sigmoid_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads);
void cnet_sigmoid_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads);
/* y (n,) = tanh(x). Overwrites y; y may alias x. */
void cnet_tanh_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_tanh_forward_f64(double *y, const double *x, int64_t n, int n_threads);
/* dx (n,) = dy * (1 - y*y) (y is the forward output). Overwrites dx; dx may alias dy. */
void cnet_tanh_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads);
void cnet_tanh_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads);
/* x, y (rows, L): softmax of each row (over the last axis), the exp sum in double. Overwrites y; may
 * alias x. */
void cnet_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t L, int n_threads);
void cnet_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t L, int n_threads);
/* dy, y, dx (rows, L): dx = y * (dy - sum_j dy_j y_j) per row. Overwrites dx; may alias dy. */
void cnet_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows, int64_t L,
                               int n_threads);
void cnet_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows, int64_t L,
                               int n_threads);

/* ---- activations with parameters or an input-based backward (activation_param.c) ----------------
 * Every backward takes the forward INPUT x (not y). Element-wise: x, y, dy, dx (n,); outputs overwritten,
 * y may alias x and dx may alias dy. */
/* y = scale * (x > 0 ? x : alpha (exp(x) - 1)) (ELU; SELU with Keras's alpha and scale). */
void cnet_elu_forward_f32(float *y, const float *x, double alpha, double scale, int64_t n, int n_threads);
void cnet_elu_forward_f64(double *y, const double *x, double alpha, double scale, int64_t n, int n_threads);
void cnet_elu_backward_f32(float *dx, const float *dy, const float *x, double alpha, double scale, int64_t n,
                           int n_threads);
void cnet_elu_backward_f64(double *dx, const double *dy, const double *x, double alpha, double scale,
                           int64_t n, int n_threads);
/* y = x > threshold ? min(x, max_value) : alpha (x - threshold) (Keras's ReLU; max_value may be +inf). */
void cnet_leaky_relu_forward_f32(float *y, const float *x, double alpha, double threshold, double max_value,
                                 int64_t n, int n_threads);
void cnet_leaky_relu_forward_f64(double *y, const double *x, double alpha, double threshold,
                                 double max_value, int64_t n, int n_threads);
void cnet_leaky_relu_backward_f32(float *dx, const float *dy, const float *x, double alpha, double threshold,
                                  double max_value, int64_t n, int n_threads);
void cnet_leaky_relu_backward_f64(double *dx, const double *dy, const double *x, double alpha,
                                  double threshold, double max_value, int64_t n, int n_threads);
/* softplus log(1 + exp(x)), softsign x / (1 + |x|), hard sigmoid clip(0.2 x + 0.5, 0, 1), swish x sigmoid(x). */
void cnet_softplus_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_softplus_forward_f64(double *y, const double *x, int64_t n, int n_threads);
void cnet_softplus_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads);
void cnet_softplus_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads);
void cnet_softsign_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_softsign_forward_f64(double *y, const double *x, int64_t n, int n_threads);
void cnet_softsign_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads);
void cnet_softsign_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads);
void cnet_hard_sigmoid_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_hard_sigmoid_forward_f64(double *y, const double *x, int64_t n, int n_threads);
void cnet_hard_sigmoid_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads);
void cnet_hard_sigmoid_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads);
void cnet_swish_forward_f32(float *y, const float *x, int64_t n, int n_threads);
void cnet_swish_forward_f64(double *y, const double *x, int64_t n, int n_threads);
void cnet_swish_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads);
void cnet_swish_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads);
/* GELU: approximate 0, x/2 (1 + erf(x / sqrt 2)); 1, the tanh approximation. */
void cnet_gelu_forward_f32(float *y, const float *x, int approximate, int64_t n, int n_threads);
void cnet_gelu_forward_f64(double *y, const double *x, int approximate, int64_t n, int n_threads);
void cnet_gelu_backward_f32(float *dx, const float *dy, const float *x, int approximate, int64_t n,
                            int n_threads);
void cnet_gelu_backward_f64(double *dx, const double *dy, const double *x, int approximate, int64_t n,
                            int n_threads);
/* PReLU over (rows, F) with alpha (F,): y = x > 0 ? x : alpha x. Backward: dx (may be NULL) and dalpha (F,)
 * = column sums of dy min(x, 0), each in row order in double (thread-count independent). */
void cnet_prelu_forward_f32(float *y, const float *x, const float *alpha, int64_t rows, int64_t F,
                            int n_threads);
void cnet_prelu_forward_f64(double *y, const double *x, const double *alpha, int64_t rows, int64_t F,
                            int n_threads);
void cnet_prelu_backward_f32(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha,
                             int64_t rows, int64_t F, int n_threads);
void cnet_prelu_backward_f64(double *dx, double *dalpha, const double *dy, const double *x,
                             const double *alpha, int64_t rows, int64_t F, int n_threads);

/* ---- fused softmax + cross-entropy (loss_softmax_xent.c) -------------------------------------- */

/* logits (N, L); labels (N,) int64 in [0, L). probs (N, L) overwritten with softmax(logits), computed
 * by cnet_softmax_forward itself (so bit-identical to it); probs must not alias logits. row_loss (N,)
 * overwritten with -log p[label], through log-sum-exp (finite for finite logits). *loss = the mean of
 * row_loss, summed in fixed chunks. Above 64 chunks of CNET_REDUCE_CHUNK rows the chunk sums need
 * scratch: returns CNET_OK, or CNET_ERR_NOMEM (then *loss is NaN and probs, row_loss unspecified). */
int cnet_softmax_xent_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                  const int64_t *labels, int64_t N, int64_t L, int n_threads);
int cnet_softmax_xent_forward_f64(double *loss, double *probs, double *row_loss, const double *logits,
                                  const int64_t *labels, int64_t N, int64_t L, int n_threads);
/* The same with dense targets (N, L) (one-hot or soft): row_loss = -sum_j t_j log p_j. */
int cnet_softmax_xent_dense_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                        const float *targets, int64_t N, int64_t L, int n_threads);
int cnet_softmax_xent_dense_forward_f64(double *loss, double *probs, double *row_loss,
                                        const double *logits, const double *targets, int64_t N, int64_t L,
                                        int n_threads);
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

/* With a weight per sample (Keras's sample_weight): exactly one of labels (N,) / targets (N, L) is
 * non-NULL (the other NULL); weights (N,) finite doubles. probs and row_loss (unweighted) as above;
 * *loss = sum_i weights[i] * row_loss_i / N, the products in double, rows of weight 0 left out (even an
 * infinite row loss). Returns CNET_OK or CNET_ERR_NOMEM, as above. */
int cnet_softmax_xent_weighted_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                           const int64_t *labels, const float *targets, const double *weights,
                                           int64_t N, int64_t L, int n_threads);
int cnet_softmax_xent_weighted_forward_f64(double *loss, double *probs, double *row_loss,
                                           const double *logits, const int64_t *labels, const double *targets,
                                           const double *weights, int64_t N, int64_t L, int n_threads);
/* dlogits (N, L): row i of the unweighted backward (labels or targets, one NULL) times weights[i] rounded
 * to the dtype. Overwrites dlogits; may alias probs. */
void cnet_softmax_xent_weighted_backward_f32(float *dlogits, const float *probs, const int64_t *labels,
                                             const float *targets, const double *weights, int64_t N,
                                             int64_t L, int n_threads);
void cnet_softmax_xent_weighted_backward_f64(double *dlogits, const double *probs, const int64_t *labels,
                                             const double *targets, const double *weights, int64_t N,
                                             int64_t L, int n_threads);

/* ---- mean squared error (loss_mse.c) --------------------------------------------------------- */

/* y, t (n,). Returns mean((y - t)^2), computed in double over fixed chunks (thread-count independent). */
double cnet_mse_forward_f32(const float *y, const float *t, int64_t n, int n_threads);
double cnet_mse_forward_f64(const double *y, const double *t, int64_t n, int n_threads);
/* dy (n,) = (y - t) * (2/n rounded to the dtype). Overwrites dy; may alias y or t. */
void cnet_mse_backward_f32(float *dy, const float *y, const float *t, int64_t n, int n_threads);
void cnet_mse_backward_f64(double *dy, const double *y, const double *t, int64_t n, int n_threads);

/* ---- inverted dropout (regularization_dropout.c) ----------------------------------------------
 * Element i (flat) is kept when u_i >= rate, u_i the counter-based uniform of (seed, i) (splitmix64
 * finaliser, see cnet/reference/rng.py), compared in double; kept elements are scaled by 1/(1 - rate)
 * (double, rounded to the dtype). The same mask for every n_threads. 0 <= rate < 1 (not checked). */
/* mask (n,) = scale where kept, else 0. Overwrites mask. */
void cnet_dropout_mask_f32(float *mask, int64_t n, double rate, uint64_t seed, int n_threads);
void cnet_dropout_mask_f64(double *mask, int64_t n, double rate, uint64_t seed, int n_threads);
/* x, y, mask (n,): mask as above and y = x * mask, in one pass. Overwrites y and mask; y may alias x. */
void cnet_dropout_forward_f32(float *y, float *mask, const float *x, int64_t n, double rate, uint64_t seed,
                              int n_threads);
void cnet_dropout_forward_f64(double *y, double *mask, const double *x, int64_t n, double rate,
                              uint64_t seed, int n_threads);
/* dx (n,) = dy * mask. Overwrites dx; may alias dy. */
void cnet_dropout_backward_f32(float *dx, const float *dy, const float *mask, int64_t n, int n_threads);
void cnet_dropout_backward_f64(double *dx, const double *dy, const double *mask, int64_t n, int n_threads);
/* The same two with the mask as keep flags, keep (n,) = 1 where kept, else 0 (a quarter of a float mask's
 * bytes): y as cnet_dropout_forward's (may alias x), dx = dy * (scale where keep, else 0), the products
 * of the float mask's. Overwrite y and keep, dx (may alias dy). */
void cnet_dropout_forward_keep_f32(float *y, uint8_t *keep, const float *x, int64_t n, double rate, uint64_t seed,
                                   int n_threads);
void cnet_dropout_forward_keep_f64(double *y, uint8_t *keep, const double *x, int64_t n, double rate,
                                   uint64_t seed, int n_threads);
void cnet_dropout_backward_keep_f32(float *dx, const float *dy, const uint8_t *keep, int64_t n, double rate,
                                    int n_threads);
void cnet_dropout_backward_keep_f64(double *dx, const double *dy, const uint8_t *keep, int64_t n, double rate,
                                    int n_threads);

/* ---- batch normalisation (regularization_batchnorm.c) -------------------------------------------
 * x, y, dy, dx are (N, C, S): (N, D) is C = D, S = 1; (N, C, H, W) is S = H*W. Per-channel arrays are
 * (C,). Statistics are reductions over N and S in double, in fixed chunks (thread-count independent).
 * Each returns CNET_OK, or CNET_ERR_NOMEM when its small scratch buffers cannot be allocated (outputs
 * then unspecified). */
/* Training mode: mean = E[x], inv_std = 1/sqrt(E[(x - mean)^2] + eps), y = (x - mean)*gamma*inv_std + beta.
 * Overwrites y, mean, inv_std (y may alias x). */
int cnet_batchnorm_forward_f32(float *y, float *mean, float *inv_std, const float *x, const float *gamma,
                               const float *beta, double eps, int64_t N, int64_t C, int64_t S, int n_threads);
int cnet_batchnorm_forward_f64(double *y, double *mean, double *inv_std, const double *x,
                               const double *gamma, const double *beta, double eps, int64_t N, int64_t C,
                               int64_t S, int n_threads);
/* xhat = (x - mean)*inv_std, M = N*S: dbeta = sum dy, dgamma = sum dy*xhat,
 * dx = gamma*inv_std/M * (M*dy - dbeta - xhat*dgamma). Overwrites dx, dgamma, dbeta (dx may alias dy). */
int cnet_batchnorm_backward_f32(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *gamma, const float *mean, const float *inv_std,
                                int64_t N, int64_t C, int64_t S, int n_threads);
int cnet_batchnorm_backward_f64(double *dx, double *dgamma, double *dbeta, const double *dy,
                                const double *x, const double *gamma, const double *mean,
                                const double *inv_std, int64_t N, int64_t C, int64_t S, int n_threads);
/* y = (x - running_mean) * gamma/sqrt(running_var + eps) + beta. Overwrites y (may alias x). */
int cnet_batchnorm_inference_f32(float *y, const float *x, const float *gamma, const float *beta,
                                 const float *running_mean, const float *running_var, double eps,
                                 int64_t N, int64_t C, int64_t S, int n_threads);
int cnet_batchnorm_inference_f64(double *y, const double *x, const double *gamma, const double *beta,
                                 const double *running_mean, const double *running_var, double eps,
                                 int64_t N, int64_t C, int64_t S, int n_threads);

/* ---- optimizer updates (optim.c) ----------------------------------------------------------------
 * p, g and the state arrays (v, h, m, d) are (n,). p and the state are updated in place in one pass;
 * g is read only. The effective gradient is g + weight_decay*p (p before the update) when weight_decay
 * != 0. Formulas and rounding as cnet/reference/optim.py: coefficients in double, rounded to the dtype.
 * Each returns a bitmask of the arrays it wrote that hold NaN or Inf afterwards: bit 0 p, bits 1 and 2
 * the state arrays in argument order (0: all finite). */
/* p -= lr*g */
int cnet_sgd_update_f32(float *p, const float *g, int64_t n, double lr, double weight_decay, int n_threads);
int cnet_sgd_update_f64(double *p, const double *g, int64_t n, double lr, double weight_decay,
                        int n_threads);
/* v = momentum*v - lr*g; p += v */
int cnet_momentum_update_f32(float *p, float *v, const float *g, int64_t n, double lr, double momentum,
                             double weight_decay, int n_threads);
int cnet_momentum_update_f64(double *p, double *v, const double *g, int64_t n, double lr, double momentum,
                             double weight_decay, int n_threads);
/* v = momentum*v - lr*g; p += momentum*v - lr*g */
int cnet_nesterov_update_f32(float *p, float *v, const float *g, int64_t n, double lr, double momentum,
                             double weight_decay, int n_threads);
int cnet_nesterov_update_f64(double *p, double *v, const double *g, int64_t n, double lr, double momentum,
                             double weight_decay, int n_threads);
/* h += g*g; p -= lr*g/(sqrt(h) + eps) */
int cnet_adagrad_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double eps,
                            double weight_decay, int n_threads);
int cnet_adagrad_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double eps,
                            double weight_decay, int n_threads);
/* h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps) */
int cnet_rmsprop_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double rho,
                            double eps, double weight_decay, int n_threads);
int cnet_rmsprop_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double rho,
                            double eps, double weight_decay, int n_threads);
/* Keras 2.1 Adam, t >= 1: lr_t = lr*sqrt(1 - beta2^t)/(1 - beta1^t); m = beta1*m + (1 - beta1)*g;
 * v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps) */
int cnet_adam_update_f32(float *p, float *m, float *v, const float *g, int64_t n, double lr, double beta1,
                         double beta2, double eps, int64_t t, double weight_decay, int n_threads);
int cnet_adam_update_f64(double *p, double *m, double *v, const double *g, int64_t n, double lr,
                         double beta1, double beta2, double eps, int64_t t, double weight_decay,
                         int n_threads);
/* Keras 2.1 Adadelta: h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps); p -= lr*upd;
 * d = rho*d + (1 - rho)*upd*upd */
int cnet_adadelta_update_f32(float *p, float *h, float *d, const float *g, int64_t n, double lr,
                             double rho, double eps, double weight_decay, int n_threads);
int cnet_adadelta_update_f64(double *p, double *h, double *d, const double *g, int64_t n, double lr,
                             double rho, double eps, double weight_decay, int n_threads);
/* Keras 2.1 Adamax, t >= 1: lr_t = lr/(1 - beta1^t); m = beta1*m + (1 - beta1)*g; u = max(beta2*u, |g|)
 * (NaN when either is); p -= lr_t*m/(u + eps) */
int cnet_adamax_update_f32(float *p, float *m, float *u, const float *g, int64_t n, double lr, double beta1,
                           double beta2, double eps, int64_t t, double weight_decay, int n_threads);
int cnet_adamax_update_f64(double *p, double *m, double *u, const double *g, int64_t n, double lr,
                           double beta1, double beta2, double eps, int64_t t, double weight_decay,
                           int n_threads);
/* Keras 2.1 Nadam, t >= 1, mu_t and mu_next the momentum schedule at t and t + 1, m_schedule the product
 * mu_1...mu_t: m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*(g*g);
 * p -= lr*(cg*g + cm*m)/(sqrt(v*cv) + eps), cg = (1 - mu_t)/(1 - m_schedule),
 * cm = mu_next/(1 - m_schedule*mu_next), cv = 1/(1 - beta2^t) */
int cnet_nadam_update_f32(float *p, float *m, float *v, const float *g, int64_t n, double lr, double beta1,
                          double beta2, double eps, int64_t t, double mu_t, double mu_next, double m_schedule,
                          double weight_decay, int n_threads);
int cnet_nadam_update_f64(double *p, double *m, double *v, const double *g, int64_t n, double lr,
                          double beta1, double beta2, double eps, int64_t t, double mu_t, double mu_next,
                          double m_schedule, double weight_decay, int n_threads);

/* ---- im2col / col2im (conv_im2col.c) -------------------------------------------------------------
 * Geometry of im2col, conv2d and pooling: x is (N, C, H, W); windows KH x KW; stride (SH, SW) >= 1;
 * padding (PH, PW) >= 0; OH = (H + 2*PH - KH)/SH + 1 >= 1, OW = (W + 2*PW - KW)/SW + 1 >= 1.
 * im2col and conv2d pad with zeros. */

/* The book's layout: col (N*OH*OW, C*KH*KW), row (n, oh, ow), column (c, i, j), from x (N, C, H, W).
 * Overwrites col. */
void cnet_im2col_f32(float *col, const float *x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                     int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
void cnet_im2col_f64(double *col, const double *x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                     int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
/* Its adjoint: x (N, C, H, W) = sum of the col entries (book layout) landing on each element; entries
 * in the padding are dropped. Overwrites x. */
void cnet_col2im_f32(float *x, const float *col, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                     int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
void cnet_col2im_f64(double *x, const double *col, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                     int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
/* One image, Caffe's layout: col (C*KH*KW, OH*OW), row (c, i, j), column (oh, ow), from x (C, H, W), so
 * that W (K, C*KH*KW) . col is the image's (K, OH*OW) output. Overwrites col. n_threads <= 1 runs on the
 * calling thread (safe inside a parallel region). */
void cnet_im2col_image_f32(float *col, const float *x, int64_t C, int64_t H, int64_t W, int64_t KH,
                           int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
void cnet_im2col_image_f64(double *col, const double *x, int64_t C, int64_t H, int64_t W, int64_t KH,
                           int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
/* Its adjoint: x (C, H, W) = sum of the col entries (Caffe layout) landing on each element. Overwrites x. */
void cnet_col2im_image_f32(float *x, const float *col, int64_t C, int64_t H, int64_t W, int64_t KH,
                           int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);
void cnet_col2im_image_f64(double *x, const double *col, int64_t C, int64_t H, int64_t W, int64_t KH,
                           int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads);

/* ---- 2-D convolution (conv.c) ---------------------------------------------------------------------
 * Cross-correlation (the kernel is not flipped), zero padding, geometry as for im2col.
 * Per image: im2col into a per-thread C*KH*KW x OH*OW buffer (none for 1x1, stride 1, no padding), then
 * the GEMM; threads over images, or inside im2col and the GEMM when the batch is smaller than n_threads.
 * The backward also holds per-chunk weight-gradient partials: at most 2^21 elements, or two partials
 * of (C*KH*KW + 1) x K when one alone is larger. Both return CNET_OK, or CNET_ERR_NOMEM when their
 * scratch or a GEMM's could not be allocated (outputs then unspecified). */

/* x (N, C, H, W), w (K, C, KH, KW), b (K,) or NULL. Overwrites y (N, K, OH, OW) with
 * y[n, k] = sum_{c,i,j} x_padded[n, c, oh*SH + i, ow*SW + j] * w[k, c, i, j] + b[k], then max(., 0)
 * when relu (applied by the GEMM as it writes y). */
int cnet_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                            int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads);
int cnet_conv2d_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                            int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                            int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads);
/* dy (N, K, OH, OW), x (N, C, H, W), w (K, C, KH, KW). Overwrites dx (N, C, H, W) (skipped when NULL),
 * dw (K, C, KH, KW) and db (K,). The batch sums of dw and db run over chunks of images fixed by the
 * shape, added in chunk order: bit-identical for every n_threads. */
int cnet_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                             const float *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                             int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                             int n_threads);
int cnet_conv2d_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                             const double *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                             int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                             int n_threads);

/* ---- 2-D pooling (pool.c) -------------------------------------------------------------------------
 * Window KH x KW, stride (SH, SW), padding (PH, PW) < (KH, KW); geometry as for im2col. */

/* Overwrites y (N, C, OH, OW) with the window maxima (padding never wins; ties: the first element in
 * row-major window order; a NaN wins, the first one) and argmax (N, C, OH, OW) with each maximum's flat
 * index h*W + w in its unpadded (H, W) plane -- or, when argmax is NULL, pos (N, C, OH, OW) with its
 * position i*KW + j in its window (KH*KW <= 256). */
void cnet_maxpool2d_forward_f32(float *y, int64_t *argmax, uint8_t *pos, const float *x, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                                int64_t SW, int64_t PH, int64_t PW, int n_threads);
void cnet_maxpool2d_forward_f64(double *y, int64_t *argmax, uint8_t *pos, const double *x, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                                int64_t SW, int64_t PH, int64_t PW, int n_threads);
/* dy (N, C, OH, OW) and argmax (N, C, OH, OW) -- or, when argmax is NULL, the window positions pos of
 * the forward's KH x KW windows at stride (SH, SW) and padding (PH, PW), read only then. Overwrites dx
 * (N, C, H, W) with the scatter-add of dy to the elements they name (dx[n, c].flat[argmax] += dy). An
 * index outside [0, H*W), or a position past its window or on padding, is not written: returns the
 * number of planes that hold one (0: all valid; otherwise dx is unspecified). */
int64_t cnet_maxpool2d_backward_f32(float *dx, const float *dy, const int64_t *argmax, const uint8_t *pos,
                                    int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads);
int64_t cnet_maxpool2d_backward_f64(double *dx, const double *dy, const int64_t *argmax, const uint8_t *pos,
                                    int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads);
/* Overwrites y (N, C, OH, OW) with the window sums / (KH*KW) (zero padding counts in the divisor). */
void cnet_avgpool2d_forward_f32(float *y, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                int n_threads);
void cnet_avgpool2d_forward_f64(double *y, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                int n_threads);
/* dy (N, C, OH, OW). Overwrites dx (N, C, H, W): each element gets dy/(KH*KW) from every window
 * covering it. */
void cnet_avgpool2d_backward_f32(float *dx, const float *dy, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads);
void cnet_avgpool2d_backward_f64(double *dx, const double *dy, int64_t N, int64_t C, int64_t H,
                                 int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                 int64_t PW, int n_threads);

/* ---- 16-bit weight storage (cast.c) ----------------------------------------------------------------
 * x and y are (n,); y overwritten. Half (IEEE float16) and bfloat16 values are passed as their bits
 * (uint16_t). Widening is exact; narrowing rounds to nearest, ties to even, keeps subnormals, gives inf
 * past the format's range and a quiet NaN for a NaN. Every SIMD path gives the same bits (cast_tmpl.h). */
void cnet_cast_f16_to_f32(float *y, const uint16_t *x, int64_t n, int n_threads);
void cnet_cast_f32_to_f16(uint16_t *y, const float *x, int64_t n, int n_threads);
void cnet_cast_bf16_to_f32(float *y, const uint16_t *x, int64_t n, int n_threads);
void cnet_cast_f32_to_bf16(uint16_t *y, const float *x, int64_t n, int n_threads);

/* ---- the channel-blocked layout: direct convolution, 2x2 max pooling (cnet_blocked.h) ----------- */
#include "cnet_blocked.h"

#ifdef __cplusplus
}
#endif
#endif /* CNET_H */
