/* optim.c -- optimizer updates, in place, one fused pass over the parameter, its gradient and state.
 * The bodies are written once in optim_tmpl.h and instantiated for float and double. */
#define CNET_EW_ISA _portable
#include "optim_tmpl.h"

#define DISPATCH(name, dt, params, args) CNET_EW_DISPATCH(name, dt, params, args)
#define DISPATCH_RET(ret, name, dt, params, args) CNET_EW_DISPATCH_RET(ret, name, dt, params, args)

DISPATCH(cnet_sgd_update, f32, (float *p, const float *g, int64_t n, double lr, double weight_decay, int n_threads), (p, g, n, lr, weight_decay, n_threads))
DISPATCH(cnet_sgd_update, f64, (double *p, const double *g, int64_t n, double lr, double weight_decay, int n_threads), (p, g, n, lr, weight_decay, n_threads))
DISPATCH(cnet_momentum_update, f32, (float *p, float *v, const float *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads), (p, v, g, n, lr, momentum, weight_decay, n_threads))
DISPATCH(cnet_momentum_update, f64, (double *p, double *v, const double *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads), (p, v, g, n, lr, momentum, weight_decay, n_threads))
DISPATCH(cnet_nesterov_update, f32, (float *p, float *v, const float *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads), (p, v, g, n, lr, momentum, weight_decay, n_threads))
DISPATCH(cnet_nesterov_update, f64, (double *p, double *v, const double *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads), (p, v, g, n, lr, momentum, weight_decay, n_threads))
DISPATCH(cnet_adagrad_update, f32, (float *p, float *h, const float *g, int64_t n, double lr, double eps, double weight_decay, int n_threads), (p, h, g, n, lr, eps, weight_decay, n_threads))
DISPATCH(cnet_adagrad_update, f64, (double *p, double *h, const double *g, int64_t n, double lr, double eps, double weight_decay, int n_threads), (p, h, g, n, lr, eps, weight_decay, n_threads))
DISPATCH(cnet_rmsprop_update, f32, (float *p, float *h, const float *g, int64_t n, double lr, double rho, double eps, double weight_decay, int n_threads), (p, h, g, n, lr, rho, eps, weight_decay, n_threads))
DISPATCH(cnet_rmsprop_update, f64, (double *p, double *h, const double *g, int64_t n, double lr, double rho, double eps, double weight_decay, int n_threads), (p, h, g, n, lr, rho, eps, weight_decay, n_threads))
DISPATCH(cnet_adam_update, f32, (float *p, float *m, float *v, const float *g, int64_t n, double lr, double beta1, double beta2, double eps, int64_t t, double weight_decay, int n_threads), (p, m, v, g, n, lr, beta1, beta2, eps, t, weight_decay, n_threads))
DISPATCH(cnet_adam_update, f64, (double *p, double *m, double *v, const double *g, int64_t n, double lr, double beta1, double beta2, double eps, int64_t t, double weight_decay, int n_threads), (p, m, v, g, n, lr, beta1, beta2, eps, t, weight_decay, n_threads))
DISPATCH(cnet_adadelta_update, f32, (float *p, float *h, float *d, const float *g, int64_t n, double lr, double rho, double eps, double weight_decay, int n_threads), (p, h, d, g, n, lr, rho, eps, weight_decay, n_threads))
DISPATCH(cnet_adadelta_update, f64, (double *p, double *h, double *d, const double *g, int64_t n, double lr, double rho, double eps, double weight_decay, int n_threads), (p, h, d, g, n, lr, rho, eps, weight_decay, n_threads))
