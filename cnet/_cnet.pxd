# The C kernel library (src/cnet.h), declared once for Cython: every function the binding
# (_kernels.pyx and its _kernels_<family>.pxi) calls, grouped by op family. The meaning of each
# argument, what is overwritten and what accumulated: src/cnet.h.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint64_t

cdef extern from "cnet.h" nogil:
    # ---- runtime: threads and CPU dispatch (dispatch.c), scratch memory (scratch.c)
    int cnet_have_openmp()
    const char *cnet_openmp_runtime()
    const char *cnet_simd_path()
    int cnet_set_simd_path(const char *name)
    int cnet_omp_max_threads()
    void cnet_omp_set_num_threads(int n)
    size_t cnet_scratch_failed_bytes()
    void cnet_debug_fail_alloc_after(int n)
    size_t cnet_scratch_cached_bytes()

    # ---- gemm: GEMM and the dense (affine) layer
    int cnet_gemm_f32(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc, const float *bias, int epilogue, int n_threads)
    int cnet_gemm_f64(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K,
                      double alpha, const double *A, int64_t lda, const double *B, int64_t ldb,
                      double beta, double *C, int64_t ldc, const double *bias, int epilogue, int n_threads)
    int cnet_affine_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                                int64_t D, int64_t U, int relu, int n_threads)
    int cnet_affine_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                                int64_t D, int64_t U, int relu, int n_threads)
    int cnet_affine_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                                 const float *w, int64_t N, int64_t D, int64_t U, int n_threads)
    int cnet_affine_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                                 const double *w, int64_t N, int64_t D, int64_t U, int n_threads)

    # ---- conv: im2col/col2im and 2-D convolution
    void cnet_im2col_f32(float *col, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_im2col_f64(double *col, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_col2im_f32(float *x, const float *col, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_col2im_f64(double *x, const double *col, int64_t N, int64_t C, int64_t H, int64_t W,
                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads)
    int cnet_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads)
    int cnet_conv2d_forward_f64(double *y, const double *x, const double *w, const double *b, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads)
    int cnet_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy, const float *x,
                                 const float *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads)
    int cnet_conv2d_backward_f64(double *dx, double *dw, double *db, const double *dy, const double *x,
                                 const double *w, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads)


    # ---- conv: direct convolution on the channel-blocked layout (conv_direct*.c)
    enum: CNET_ERR_LAYOUT
    int64_t cnet_blk_width_f32()
    int64_t cnet_blk_width_f64()
    void cnet_blk_from_nchw_f32(float *xb, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t cb, int n_threads)
    void cnet_blk_from_nchw_f64(double *xb, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t cb, int n_threads)
    void cnet_blk_to_nchw_f32(float *x, const float *xb, int64_t N, int64_t C, int64_t H, int64_t W,
                              int64_t cb, int n_threads)
    void cnet_blk_to_nchw_f64(double *x, const double *xb, int64_t N, int64_t C, int64_t H, int64_t W,
                              int64_t cb, int n_threads)
    void cnet_conv2d_blk_weights_f32(float *wb, const float *w, int64_t K, int64_t C, int64_t KH,
                                     int64_t KW, int64_t cb, int plain)
    void cnet_conv2d_blk_weights_f64(double *wb, const double *w, int64_t K, int64_t C, int64_t KH,
                                     int64_t KW, int64_t cb, int plain)
    void cnet_conv2d_blk_weights_bwd_f32(float *wt, const float *w, int64_t K, int64_t C, int64_t KH,
                                         int64_t KW, int64_t cb)
    void cnet_conv2d_blk_weights_bwd_f64(double *wt, const double *w, int64_t K, int64_t C, int64_t KH,
                                         int64_t KW, int64_t cb)
    int cnet_conv2d_blk_forward_f32(float *yb, const float *x, const float *wb, const float *b, int64_t N,
                                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                    int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t cb, int plain,
                                    int relu, int n_threads)
    int cnet_conv2d_blk_forward_f64(double *yb, const double *x, const double *wb, const double *b,
                                    int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                    int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t cb,
                                    int plain, int relu, int n_threads)
    int cnet_conv2d_blk_backward_data_f32(float *dxb, const float *dyb, const float *wt, int64_t N,
                                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                          int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                          int64_t cb, int n_threads)
    int cnet_conv2d_blk_backward_data_f64(double *dxb, const double *dyb, const double *wt, int64_t N,
                                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                          int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                          int64_t cb, int n_threads)
    int cnet_conv2d_blk_backward_weights_f32(float *dw, float *db, const float *dyb, const float *x,
                                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                             int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                             int64_t PW, int64_t cb, int plain, int n_threads)
    int cnet_conv2d_blk_backward_weights_f64(double *dw, double *db, const double *dyb, const double *x,
                                             int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                             int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                             int64_t PW, int64_t cb, int plain, int n_threads)
    void cnet_debug_conv2d_blk_force_tile(int kb, int rw, int dw_nc, int dw_kb)
    void cnet_conv2d_blk_last_tiles(int *fwd_kb, int *fwd_rw, int *bwd_kb, int *bwd_rw, int *dw_a,
                                    int *dw_kb, int64_t *dw_chunks)
    # ---- pool: 2-D max and average pooling
    void cnet_maxpool2d_forward_f32(float *y, int64_t *argmax, uint8_t *pos, const float *x, int64_t N,
                                    int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                                    int64_t SW, int64_t PH, int64_t PW, int n_threads)
    void cnet_maxpool2d_forward_f64(double *y, int64_t *argmax, uint8_t *pos, const double *x, int64_t N,
                                    int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                                    int64_t SW, int64_t PH, int64_t PW, int n_threads)
    int64_t cnet_maxpool2d_backward_f32(float *dx, const float *dy, const int64_t *argmax, const uint8_t *pos,
                                        int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                        int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                        int n_threads)
    int64_t cnet_maxpool2d_backward_f64(double *dx, const double *dy, const int64_t *argmax,
                                        const uint8_t *pos, int64_t N, int64_t C, int64_t H, int64_t W,
                                        int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                                        int64_t PH, int64_t PW, int n_threads)
    void cnet_avgpool2d_forward_f32(float *y, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads)
    void cnet_avgpool2d_forward_f64(double *y, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                    int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                    int n_threads)
    void cnet_avgpool2d_backward_f32(float *dx, const float *dy, int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                     int n_threads)
    void cnet_avgpool2d_backward_f64(double *dx, const double *dy, int64_t N, int64_t C, int64_t H,
                                     int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                     int64_t PW, int n_threads)


    # ---- pool: 2x2 max pooling on the channel-blocked layout (pool_blocked*.c)
    void cnet_maxpool2d_blk_forward_f32(float *yb, uint8_t *arg, const float *xb, int64_t N, int64_t C,
                                        int64_t H, int64_t W, int64_t cb, int n_threads)
    void cnet_maxpool2d_blk_forward_f64(double *yb, uint8_t *arg, const double *xb, int64_t N, int64_t C,
                                        int64_t H, int64_t W, int64_t cb, int n_threads)
    void cnet_maxpool2d_blk_backward_f32(float *dxb, const float *dyb, const uint8_t *arg, int64_t N,
                                         int64_t C, int64_t H, int64_t W, int64_t cb, int n_threads)
    void cnet_maxpool2d_blk_backward_f64(double *dxb, const double *dyb, const uint8_t *arg, int64_t N,
                                         int64_t C, int64_t H, int64_t W, int64_t cb, int n_threads)
    # ---- activation: ReLU, sigmoid, tanh, softmax
    void cnet_relu_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_relu_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_relu_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_relu_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)
    void cnet_sigmoid_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_sigmoid_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_sigmoid_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_sigmoid_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)
    void cnet_tanh_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_tanh_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_tanh_backward_f32(float *dx, const float *dy, const float *y, int64_t n, int n_threads)
    void cnet_tanh_backward_f64(double *dx, const double *dy, const double *y, int64_t n, int n_threads)
    void cnet_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t L, int n_threads)
    void cnet_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t L, int n_threads)
    void cnet_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows, int64_t L,
                                   int n_threads)
    void cnet_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows, int64_t L,
                                   int n_threads)

    # ---- activation (activation_param.c): the backward ops take the forward input x
    void cnet_elu_forward_f32(float *y, const float *x, double alpha, double scale, int64_t n, int n_threads)
    void cnet_elu_forward_f64(double *y, const double *x, double alpha, double scale, int64_t n, int n_threads)
    void cnet_elu_backward_f32(float *dx, const float *dy, const float *x, double alpha, double scale, int64_t n,
                               int n_threads)
    void cnet_elu_backward_f64(double *dx, const double *dy, const double *x, double alpha, double scale,
                               int64_t n, int n_threads)
    void cnet_leaky_relu_forward_f32(float *y, const float *x, double alpha, double threshold, double max_value,
                                     int64_t n, int n_threads)
    void cnet_leaky_relu_forward_f64(double *y, const double *x, double alpha, double threshold,
                                     double max_value, int64_t n, int n_threads)
    void cnet_leaky_relu_backward_f32(float *dx, const float *dy, const float *x, double alpha,
                                      double threshold, double max_value, int64_t n, int n_threads)
    void cnet_leaky_relu_backward_f64(double *dx, const double *dy, const double *x, double alpha,
                                      double threshold, double max_value, int64_t n, int n_threads)
    void cnet_softplus_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_softplus_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_softplus_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads)
    void cnet_softplus_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads)
    void cnet_softsign_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_softsign_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_softsign_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads)
    void cnet_softsign_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads)
    void cnet_hard_sigmoid_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_hard_sigmoid_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_hard_sigmoid_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads)
    void cnet_hard_sigmoid_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads)
    void cnet_swish_forward_f32(float *y, const float *x, int64_t n, int n_threads)
    void cnet_swish_forward_f64(double *y, const double *x, int64_t n, int n_threads)
    void cnet_swish_backward_f32(float *dx, const float *dy, const float *x, int64_t n, int n_threads)
    void cnet_swish_backward_f64(double *dx, const double *dy, const double *x, int64_t n, int n_threads)
    void cnet_gelu_forward_f32(float *y, const float *x, int approximate, int64_t n, int n_threads)
    void cnet_gelu_forward_f64(double *y, const double *x, int approximate, int64_t n, int n_threads)
    void cnet_gelu_backward_f32(float *dx, const float *dy, const float *x, int approximate, int64_t n,
                                int n_threads)
    void cnet_gelu_backward_f64(double *dx, const double *dy, const double *x, int approximate, int64_t n,
                                int n_threads)
    void cnet_prelu_forward_f32(float *y, const float *x, const float *alpha, int64_t rows, int64_t F,
                                int n_threads)
    void cnet_prelu_forward_f64(double *y, const double *x, const double *alpha, int64_t rows, int64_t F,
                                int n_threads)
    void cnet_prelu_backward_f32(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha,
                                 int64_t rows, int64_t F, int n_threads)
    void cnet_prelu_backward_f64(double *dx, double *dalpha, const double *dy, const double *x,
                                 const double *alpha, int64_t rows, int64_t F, int n_threads)

    # ---- loss: the fused softmax cross-entropy (class indices or dense targets), mean squared error
    int cnet_softmax_xent_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                      const int64_t *labels, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_forward_f64(double *loss, double *probs, double *row_loss, const double *logits,
                                      const int64_t *labels, int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_backward_f32(float *dlogits, const float *probs, const int64_t *labels,
                                        int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_backward_f64(double *dlogits, const double *probs, const int64_t *labels,
                                        int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_dense_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                            const float *targets, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_dense_forward_f64(double *loss, double *probs, double *row_loss,
                                            const double *logits, const double *targets, int64_t N, int64_t L,
                                            int n_threads)
    void cnet_softmax_xent_dense_backward_f32(float *dlogits, const float *probs, const float *targets,
                                              int64_t N, int64_t L, int n_threads)
    void cnet_softmax_xent_dense_backward_f64(double *dlogits, const double *probs, const double *targets,
                                              int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_weighted_forward_f32(double *loss, float *probs, float *row_loss, const float *logits,
                                               const int64_t *labels, const float *targets,
                                               const double *weights, int64_t N, int64_t L, int n_threads)
    int cnet_softmax_xent_weighted_forward_f64(double *loss, double *probs, double *row_loss,
                                               const double *logits, const int64_t *labels,
                                               const double *targets, const double *weights, int64_t N,
                                               int64_t L, int n_threads)
    void cnet_softmax_xent_weighted_backward_f32(float *dlogits, const float *probs, const int64_t *labels,
                                                 const float *targets, const double *weights, int64_t N,
                                                 int64_t L, int n_threads)
    void cnet_softmax_xent_weighted_backward_f64(double *dlogits, const double *probs, const int64_t *labels,
                                                 const double *targets, const double *weights, int64_t N,
                                                 int64_t L, int n_threads)
    double cnet_mse_forward_f32(const float *y, const float *t, int64_t n, int n_threads)
    double cnet_mse_forward_f64(const double *y, const double *t, int64_t n, int n_threads)
    void cnet_mse_backward_f32(float *dy, const float *y, const float *t, int64_t n, int n_threads)
    void cnet_mse_backward_f64(double *dy, const double *y, const double *t, int64_t n, int n_threads)

    # ---- regularization: dropout, batch normalization
    void cnet_dropout_mask_f32(float *mask, int64_t n, double rate, uint64_t seed, int n_threads)
    void cnet_dropout_mask_f64(double *mask, int64_t n, double rate, uint64_t seed, int n_threads)
    void cnet_dropout_forward_f32(float *y, float *mask, const float *x, int64_t n, double rate,
                                  uint64_t seed, int n_threads)
    void cnet_dropout_forward_f64(double *y, double *mask, const double *x, int64_t n, double rate,
                                  uint64_t seed, int n_threads)
    void cnet_dropout_backward_f32(float *dx, const float *dy, const float *mask, int64_t n, int n_threads)
    void cnet_dropout_backward_f64(double *dx, const double *dy, const double *mask, int64_t n,
                                   int n_threads)
    void cnet_dropout_forward_keep_f32(float *y, uint8_t *keep, const float *x, int64_t n, double rate,
                                       uint64_t seed, int n_threads)
    void cnet_dropout_forward_keep_f64(double *y, uint8_t *keep, const double *x, int64_t n, double rate,
                                       uint64_t seed, int n_threads)
    void cnet_dropout_backward_keep_f32(float *dx, const float *dy, const uint8_t *keep, int64_t n,
                                        double rate, int n_threads)
    void cnet_dropout_backward_keep_f64(double *dx, const double *dy, const uint8_t *keep, int64_t n,
                                        double rate, int n_threads)
    int cnet_batchnorm_forward_f32(float *y, float *mean, float *inv_std, const float *x,
                                   const float *gamma, const float *beta, double eps,
                                   int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_forward_f64(double *y, double *mean, double *inv_std, const double *x,
                                   const double *gamma, const double *beta, double eps,
                                   int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_backward_f32(float *dx, float *dgamma, float *dbeta, const float *dy,
                                    const float *x, const float *gamma, const float *mean,
                                    const float *inv_std, int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_backward_f64(double *dx, double *dgamma, double *dbeta, const double *dy,
                                    const double *x, const double *gamma, const double *mean,
                                    const double *inv_std, int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_inference_f32(float *y, const float *x, const float *gamma, const float *beta,
                                     const float *running_mean, const float *running_var, double eps,
                                     int64_t N, int64_t C, int64_t S, int n_threads)
    int cnet_batchnorm_inference_f64(double *y, const double *x, const double *gamma, const double *beta,
                                     const double *running_mean, const double *running_var, double eps,
                                     int64_t N, int64_t C, int64_t S, int n_threads)

    # ---- optim: the optimizers' updates
    int cnet_sgd_update_f32(float *p, const float *g, int64_t n, double lr, double weight_decay,
                            int n_threads)
    int cnet_sgd_update_f64(double *p, const double *g, int64_t n, double lr, double weight_decay,
                            int n_threads)
    int cnet_momentum_update_f32(float *p, float *v, const float *g, int64_t n, double lr,
                                 double momentum, double weight_decay, int n_threads)
    int cnet_momentum_update_f64(double *p, double *v, const double *g, int64_t n, double lr,
                                 double momentum, double weight_decay, int n_threads)
    int cnet_nesterov_update_f32(float *p, float *v, const float *g, int64_t n, double lr,
                                 double momentum, double weight_decay, int n_threads)
    int cnet_nesterov_update_f64(double *p, double *v, const double *g, int64_t n, double lr,
                                 double momentum, double weight_decay, int n_threads)
    int cnet_adagrad_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double eps,
                                double weight_decay, int n_threads)
    int cnet_adagrad_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double eps,
                                double weight_decay, int n_threads)
    int cnet_rmsprop_update_f32(float *p, float *h, const float *g, int64_t n, double lr, double rho,
                                double eps, double weight_decay, int n_threads)
    int cnet_rmsprop_update_f64(double *p, double *h, const double *g, int64_t n, double lr, double rho,
                                double eps, double weight_decay, int n_threads)
    int cnet_adam_update_f32(float *p, float *m, float *v, const float *g, int64_t n, double lr,
                             double beta1, double beta2, double eps, int64_t t, double weight_decay,
                            int n_threads)
    int cnet_adam_update_f64(double *p, double *m, double *v, const double *g, int64_t n, double lr,
                             double beta1, double beta2, double eps, int64_t t, double weight_decay,
                            int n_threads)
    int cnet_adadelta_update_f32(float *p, float *h, float *d, const float *g, int64_t n, double lr,
                                 double rho, double eps, double weight_decay, int n_threads)
    int cnet_adadelta_update_f64(double *p, double *h, double *d, const double *g, int64_t n, double lr,
                                 double rho, double eps, double weight_decay, int n_threads)
    int cnet_adamax_update_f32(float *p, float *m, float *u, const float *g, int64_t n, double lr,
                               double beta1, double beta2, double eps, int64_t t, double weight_decay,
                               int n_threads)
    int cnet_adamax_update_f64(double *p, double *m, double *u, const double *g, int64_t n, double lr,
                               double beta1, double beta2, double eps, int64_t t, double weight_decay,
                               int n_threads)
    int cnet_nadam_update_f32(float *p, float *m, float *v, const float *g, int64_t n, double lr,
                              double beta1, double beta2, double eps, int64_t t, double mu_t, double mu_next,
                              double m_schedule, double weight_decay, int n_threads)
    int cnet_nadam_update_f64(double *p, double *m, double *v, const double *g, int64_t n, double lr,
                              double beta1, double beta2, double eps, int64_t t, double mu_t, double mu_next,
                              double m_schedule, double weight_decay, int n_threads)

    # ---- cast: 16-bit weight storage (float16, bfloat16 bits) to and from float32
    void cnet_cast_f16_to_f32(float *y, const uint16_t *x, int64_t n, int n_threads)
    void cnet_cast_f32_to_f16(uint16_t *y, const float *x, int64_t n, int n_threads)
    void cnet_cast_bf16_to_f32(float *y, const uint16_t *x, int64_t n, int n_threads)
    void cnet_cast_f32_to_bf16(uint16_t *y, const float *x, int64_t n, int n_threads)
