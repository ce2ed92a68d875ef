/* batchnorm.c -- batch normalisation over (N, D) per feature and (N, C, H, W) per channel.
 *
 * Both layouts are seen as x (N, C, S): C features/channels, S = H*W positions (S = 1 for (N, D)).
 * Per-channel statistics are reductions over N and S. They are taken in double over fixed chunks of
 * samples (BN_CHUNK_ELEMS elements per chunk, rounded to whole samples: a function of the shape only),
 * chunks in parallel, then the chunk sums are added in chunk order -- so the results are bit-identical
 * for every n_threads. Mean and variance are two passes (the variance sums (x - mean)^2), as the
 * reference does. The bodies are written once in batchnorm_tmpl.h for float and double.
 */
#define CNET_EW_ISA _portable
#include "regularization_batchnorm_tmpl.h"

#define DISPATCH(name, dt, params, args) CNET_EW_DISPATCH(name, dt, params, args)
#define DISPATCH_RET(ret, name, dt, params, args) CNET_EW_DISPATCH_RET(ret, name, dt, params, args)

DISPATCH_RET(int, cnet_batchnorm_forward, f32, (float *y, float *mean, float *inv_std, const float *x, const float *gamma, const float *beta, double eps, int64_t N, int64_t C, int64_t S, int n_threads), (y, mean, inv_std, x, gamma, beta, eps, N, C, S, n_threads))
DISPATCH_RET(int, cnet_batchnorm_forward, f64, (double *y, double *mean, double *inv_std, const double *x, const double *gamma, const double *beta, double eps, int64_t N, int64_t C, int64_t S, int n_threads), (y, mean, inv_std, x, gamma, beta, eps, N, C, S, n_threads))
DISPATCH_RET(int, cnet_batchnorm_backward, f32, (float *dx, float *dgamma, float *dbeta, const float *dy, const float *x, const float *gamma, const float *mean, const float *inv_std, int64_t N, int64_t C, int64_t S, int n_threads), (dx, dgamma, dbeta, dy, x, gamma, mean, inv_std, N, C, S, n_threads))
DISPATCH_RET(int, cnet_batchnorm_backward, f64, (double *dx, double *dgamma, double *dbeta, const double *dy, const double *x, const double *gamma, const double *mean, const double *inv_std, int64_t N, int64_t C, int64_t S, int n_threads), (dx, dgamma, dbeta, dy, x, gamma, mean, inv_std, N, C, S, n_threads))
DISPATCH_RET(int, cnet_batchnorm_inference, f32, (float *y, const float *x, const float *gamma, const float *beta, const float *running_mean, const float *running_var, double eps, int64_t N, int64_t C, int64_t S, int n_threads), (y, x, gamma, beta, running_mean, running_var, eps, N, C, S, n_threads))
DISPATCH_RET(int, cnet_batchnorm_inference, f64, (double *y, const double *x, const double *gamma, const double *beta, const double *running_mean, const double *running_var, double eps, int64_t N, int64_t C, int64_t S, int n_threads), (y, x, gamma, beta, running_mean, running_var, eps, N, C, S, n_threads))
