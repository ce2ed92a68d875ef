/* cnet_blocked.h -- the kernels of the channel-blocked layout: direct 2-D convolution and 2x2 max
 * pooling on (N, ceil(C/cb), H, W, cb) arrays. Part of cnet.h's public interface (cnet.h includes it at
 * its end, inside its extern "C"; include cnet.h, not this file), kept apart so that each header reads
 * in one sitting. Types, error codes and the dims legend are cnet.h's. */
#ifndef CNET_BLOCKED_H
#define CNET_BLOCKED_H
#ifndef CNET_H
#error "include cnet.h, which includes cnet_blocked.h"
#endif

/* ---- direct 2-D convolution on a channel-blocked layout (conv_direct*.c) --------------------------
 * Geometry as for conv2d above: SH/SW stride, PH/PW zero padding.
 *
 * The blocked layout: an activation (N, C, H, W) is stored as (N, Cb, H, W, cb), Cb = ceil(C / cb),
 * channel c in block c / cb, lane c % cb; lanes past C hold zeros. cb is one SIMD register of the
 * element type: 16 floats / 8 doubles for AVX-512, 8 / 4 for AVX2 and the portable path
 * (cnet_blk_width_*). The kernels run the path whose width is cb: a layout made with cb = 8 floats runs
 * the AVX2 kernels even on an AVX-512 machine (tests use this to cover every path).
 *
 * Weights for the forward pass: wb (Kb, CI, KH, KW, ci, cb), lanes past K or C zero, where
 *   blocked input: CI = Cb, ci = cb;   plain input (x stays NCHW, the first layer): CI = 1, ci = C.
 * Weights for backward-data: wt (Cb, Kb, KH, KW, cb (k), cb (c)), the kernel flipped:
 *   wt[c/cb, k/cb, i, j, k%cb, c%cb] = w[k, c, KH-1-i, KW-1-j].
 * The user's arrays stay NCHW and (K, C, KH, KW); the conversions below are the only way in and out.
 *
 * Results are bit-identical for every n_threads: every output element of forward and backward-data is
 * one fixed sum, and the weight gradient is summed per chunk of images (chunks fixed by the shape),
 * the chunks added in order. Kernels that allocate return CNET_OK, CNET_ERR_NOMEM (outputs then
 * unspecified) or CNET_ERR_LAYOUT (cb is no path's width for this dtype on this CPU). */

/* The block width of the SIMD path in force (cnet_simd_path) for each dtype. */
int64_t cnet_blk_width_f32(void);
int64_t cnet_blk_width_f64(void);

/* x (N, C, H, W) -> xb (N, Cb, H, W, cb), lanes past C zero. Overwrites xb. */
void cnet_blk_from_nchw_f32(float *xb, const float *x, int64_t N, int64_t C, int64_t H, int64_t W,
                            int64_t cb, int n_threads);
void cnet_blk_from_nchw_f64(double *xb, const double *x, int64_t N, int64_t C, int64_t H, int64_t W,
                            int64_t cb, int n_threads);
/* xb (N, Cb, H, W, cb) -> x (N, C, H, W) (lanes past C dropped). Overwrites x. */
void cnet_blk_to_nchw_f32(float *x, const float *xb, int64_t N, int64_t C, int64_t H, int64_t W,
                          int64_t cb, int n_threads);
void cnet_blk_to_nchw_f64(double *x, const double *xb, int64_t N, int64_t C, int64_t H, int64_t W,
                          int64_t cb, int n_threads);

/* w (K, C, KH, KW) -> wb (forward layout above; plain: the input stays NCHW). Overwrites wb. */
void cnet_conv2d_blk_weights_f32(float *wb, const float *w, int64_t K, int64_t C, int64_t KH,
                                 int64_t KW, int64_t cb, int plain);
void cnet_conv2d_blk_weights_f64(double *wb, const double *w, int64_t K, int64_t C, int64_t KH,
                                 int64_t KW, int64_t cb, int plain);
/* w (K, C, KH, KW) -> wt (backward-data layout above). Overwrites wt. */
void cnet_conv2d_blk_weights_bwd_f32(float *wt, const float *w, int64_t K, int64_t C, int64_t KH,
                                     int64_t KW, int64_t cb);
void cnet_conv2d_blk_weights_bwd_f64(double *wt, const double *w, int64_t K, int64_t C, int64_t KH,
                                     int64_t KW, int64_t cb);

/* x blocked (N, Cb, H, W, cb), or NCHW (N, C, H, W) when plain; wb from cnet_conv2d_blk_weights with
 * the same plain; b (K,) or NULL. Overwrites yb (N, Kb, OH, OW, cb) with
 * y[n, k, oh, ow] = sum_{c, i, j} x_padded[n, c, oh*SH + i, ow*SW + j] * w[k, c, i, j] (summed in the
 * order c-block, i, j, lane), + b[k], then max(., 0) when relu. Lanes past K get 0 (+ relu). */
int cnet_conv2d_blk_forward_f32(float *yb, const float *x, const float *wb, const float *b, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t cb, int plain,
                                int relu, int n_threads);
int cnet_conv2d_blk_forward_f64(double *yb, const double *x, const double *wb, const double *b,
                                int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t cb,
                                int plain, int relu, int n_threads);
/* dyb (N, Kb, OH, OW, cb), wt from cnet_conv2d_blk_weights_bwd. Overwrites dxb (N, Cb, H, W, cb) with
 * the data gradient (lanes past C get 0). */
int cnet_conv2d_blk_backward_data_f32(float *dxb, const float *dyb, const float *wt, int64_t N,
                                      int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                      int64_t cb, int n_threads);
int cnet_conv2d_blk_backward_data_f64(double *dxb, const double *dyb, const double *wt, int64_t N,
                                      int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                      int64_t cb, int n_threads);
/* dyb (N, Kb, OH, OW, cb), x blocked or NCHW (plain) as in the forward. Overwrites dw (K, C, KH, KW)
 * and db (K,) (db may be NULL) with the batch sums. */
int cnet_conv2d_blk_backward_weights_f32(float *dw, float *db, const float *dyb, const float *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                         int64_t PW, int64_t cb, int plain, int n_threads);
int cnet_conv2d_blk_backward_weights_f64(double *dw, double *db, const double *dyb, const double *x,
                                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                         int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                         int64_t PW, int64_t cb, int plain, int n_threads);

/* Testing and tuning hooks: force the forward/backward-data tile (kb output blocks x rw pixels) and the
 * weight-gradient tile (nc lanes or th x tw taps, x kb); 0 restores the planner's choice. A forced
 * tile the path has not compiled is ignored. */
void cnet_debug_conv2d_blk_force_tile(int kb, int rw, int dw_nc, int dw_kb);
/* The tiles the planner chose for the last call of each pass, process-wide (for benchmark output;
 * concurrent calls may overwrite each other's record). */
void cnet_conv2d_blk_last_tiles(int *fwd_kb, int *fwd_rw, int *bwd_kb, int *bwd_rw, int *dw_a,
                                int *dw_kb, int64_t *dw_chunks);

/* ---- 2x2 max pooling on the channel-blocked layout (pool_blocked*.c) ------------------------- */

/* 2x2 max pooling, stride 2, no padding, on the blocked layout: xb (N, Cb, H, W, cb) -> yb
 * (N, Cb, H/2, W/2, cb) and arg (same shape, one byte per element: the window position 0..3 of the
 * maximum, row-major; ties: the first; a NaN wins, the first). Overwrites yb and arg. */
void cnet_maxpool2d_blk_forward_f32(float *yb, uint8_t *arg, const float *xb, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t cb, int n_threads);
void cnet_maxpool2d_blk_forward_f64(double *yb, uint8_t *arg, const double *xb, int64_t N, int64_t C,
                                    int64_t H, int64_t W, int64_t cb, int n_threads);
/* dyb, arg (N, Cb, H/2, W/2, cb) -> dxb (N, Cb, H, W, cb): each dy to its window's maximum, 0
 * elsewhere (odd last rows/columns too). Overwrites dxb. */
void cnet_maxpool2d_blk_backward_f32(float *dxb, const float *dyb, const uint8_t *arg, int64_t N,
                                     int64_t C, int64_t H, int64_t W, int64_t cb, int n_threads);
void cnet_maxpool2d_blk_backward_f64(double *dxb, const double *dyb, const uint8_t *arg, int64_t N,
                                     int64_t C, int64_t H, int64_t W, int64_t cb, int n_threads);

#endif /* CNET_BLOCKED_H */
