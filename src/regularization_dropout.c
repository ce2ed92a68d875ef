/* dropout.c -- inverted dropout with a counter-based generator (the reference's cnet/reference/rng.py):
 * element i's random number depends only on (seed, i), so every thread count draws the same mask.
 * The bodies are written once in dropout_tmpl.h and instantiated for float and double. */
#define CNET_EW_ISA _portable
#include "regularization_dropout_tmpl.h"

#define DISPATCH(name, dt, params, args) CNET_EW_DISPATCH(name, dt, params, args)
#define DISPATCH_RET(ret, name, dt, params, args) CNET_EW_DISPATCH_RET(ret, name, dt, params, args)

DISPATCH(cnet_dropout_mask, f32, (float *mask, int64_t n, double rate, uint64_t seed, int n_threads), (mask, n, rate, seed, n_threads))
DISPATCH(cnet_dropout_mask, f64, (double *mask, int64_t n, double rate, uint64_t seed, int n_threads), (mask, n, rate, seed, n_threads))
DISPATCH(cnet_dropout_forward, f32, (float *y, float *mask, const float *x, int64_t n, double rate, uint64_t seed, int n_threads), (y, mask, x, n, rate, seed, n_threads))
DISPATCH(cnet_dropout_forward, f64, (double *y, double *mask, const double *x, int64_t n, double rate, uint64_t seed, int n_threads), (y, mask, x, n, rate, seed, n_threads))
DISPATCH(cnet_dropout_backward, f32, (float *dx, const float *dy, const float *mask, int64_t n, int n_threads), (dx, dy, mask, n, n_threads))
DISPATCH(cnet_dropout_backward, f64, (double *dx, const double *dy, const double *mask, int64_t n, int n_threads), (dx, dy, mask, n, n_threads))
