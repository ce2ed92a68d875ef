/* loss.c -- mean squared error, forward (a reduction, thread-count independent) and backward.
 * The bodies are written once in loss_tmpl.h and instantiated for float and double. */
#define CNET_EW_ISA _portable
#include "loss_mse_tmpl.h"

#define DISPATCH(name, dt, params, args) CNET_EW_DISPATCH(name, dt, params, args)
#define DISPATCH_RET(ret, name, dt, params, args) CNET_EW_DISPATCH_RET(ret, name, dt, params, args)

DISPATCH_RET(double, cnet_mse_forward, f32, (const float *y, const float *t, int64_t n, int n_threads), (y, t, n, n_threads))
DISPATCH_RET(double, cnet_mse_forward, f64, (const double *y, const double *t, int64_t n, int n_threads), (y, t, n, n_threads))
DISPATCH(cnet_mse_backward, f32, (float *dy, const float *y, const float *t, int64_t n, int n_threads), (dy, y, t, n, n_threads))
DISPATCH(cnet_mse_backward, f64, (double *dy, const double *y, const double *t, int64_t n, int n_threads), (dy, y, t, n, n_threads))
