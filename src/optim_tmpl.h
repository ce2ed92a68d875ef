/* optim_tmpl.h -- optimizer updates, in place, one fused pass over the parameter, its gradient and
 * state: the template (instantiate.h) of optim.c, optim_avx2.c and optim_avx512.c, one per SIMD path
 * (cnet_internal.h, "per-ISA families"); built with -ffp-contract=off (CMakeLists.txt): every path rounds
 * every operation as written, so all give the bit-identical results of the baseline build. */
#ifndef CNET_OPTIM_SHARED
#define CNET_OPTIM_SHARED

#include <math.h>

#include "cnet_internal.h"

/* Runs BODY for every i in [0, n) in parallel with gi, the effective gradient g[i] + wd * p[i] (read
 * before p[i] is updated), or g[i] alone when weight_decay == 0 -- two loops, so the test is not in
 * the loop and 0 * p is never added (it would turn an inf in p into a NaN, which the reference avoids). */
#define OPT_LOOP(BODY)                                                           \
    do {                                                                         \
        int nt_ = cnet_threads_for(n, n_threads);                                \
        if (weight_decay != 0.0) {                                               \
            const REAL wd_ = (REAL)weight_decay;                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt_) if(nt_ > 1)") \
            for (int64_t i = 0; i < n; i++) {                                    \
                const REAL gi = g[i] + wd_ * p[i];                               \
                BODY                                                             \
            }                                                                    \
        } else {                                                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt_) if(nt_ > 1)") \
            for (int64_t i = 0; i < n; i++) {                                    \
                const REAL gi = g[i];                                            \
                BODY                                                             \
            }                                                                    \
        }                                                                        \
    } while (0)

#endif /* CNET_OPTIM_SHARED */

/* Every array is (n,) -- p the parameter, g its gradient, then the state (v, h, m, d) -- and every
 * function overwrites p and its state in place, reading g only. The formulas, and the order of the
 * operations within them, are the reference's (cnet/reference/optim.py): scalar coefficients are
 * computed in double and rounded to REAL, then the arithmetic is done in REAL. */

/* p -= lr * g */
void KNAME(cnet_sgd_update)(REAL *p, const REAL *g, int64_t n, double lr, double weight_decay,
                          int n_threads) {
    const REAL lr_ = (REAL)lr;
    OPT_LOOP(p[i] = p[i] - lr_ * gi;);
}

/* v = momentum*v - lr*g; p += v */
void KNAME(cnet_momentum_update)(REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum,
                               double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, mom = (REAL)momentum;
    OPT_LOOP(REAL vi = v[i] * mom - lr_ * gi; v[i] = vi; p[i] = p[i] + vi;);
}

/* v = momentum*v - lr*g; p += momentum*v - lr*g */
void KNAME(cnet_nesterov_update)(REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum,
                               double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, mom = (REAL)momentum;
    OPT_LOOP(REAL lg = lr_ * gi; REAL vi = v[i] * mom - lg; v[i] = vi; p[i] = p[i] + (mom * vi - lg););
}

/* h += g*g; p -= lr*g/(sqrt(h) + eps) */
void KNAME(cnet_adagrad_update)(REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double eps,
                              double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, eps_ = (REAL)eps;
    OPT_LOOP(REAL hi = h[i] + gi * gi; h[i] = hi; p[i] = p[i] - lr_ * gi / (SQRT(hi) + eps_););
}

/* h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps) */
void KNAME(cnet_rmsprop_update)(REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double rho,
                              double eps, double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, rho_ = (REAL)rho, omr = (REAL)(1.0 - rho), eps_ = (REAL)eps;
    OPT_LOOP(REAL hi = h[i] * rho_ + omr * gi * gi; h[i] = hi;
             p[i] = p[i] - lr_ * gi / (SQRT(hi) + eps_););
}

/* Keras 2.1 Adam, t >= 1 the step count: lr_t = lr*sqrt(1 - beta2^t)/(1 - beta1^t) (double);
 * m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps) */
void KNAME(cnet_adam_update)(REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1,
                           double beta2, double eps, int64_t t, double weight_decay, int n_threads) {
    const double lr_t = lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t));
    const REAL lrt = (REAL)lr_t, b1 = (REAL)beta1, b2 = (REAL)beta2;
    const REAL omb1 = (REAL)(1.0 - beta1), omb2 = (REAL)(1.0 - beta2), eps_ = (REAL)eps;
    OPT_LOOP(REAL mi = m[i] * b1 + omb1 * gi; REAL vi = v[i] * b2 + omb2 * gi * gi;
             m[i] = mi; v[i] = vi; p[i] = p[i] - lrt * mi / (SQRT(vi) + eps_););
}

/* Keras 2.1 Adadelta (h: accumulated g^2, d: accumulated update^2):
 * h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps); p -= lr*upd;
 * d = rho*d + (1 - rho)*upd*upd */
void KNAME(cnet_adadelta_update)(REAL *p, REAL *h, REAL *d, const REAL *g, int64_t n, double lr, double rho,
                               double eps, double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, rho_ = (REAL)rho, omr = (REAL)(1.0 - rho), eps_ = (REAL)eps;
    OPT_LOOP(REAL hi = h[i] * rho_ + omr * gi * gi; h[i] = hi;
             REAL upd = gi * SQRT(d[i] + eps_) / SQRT(hi + eps_);
             p[i] = p[i] - lr_ * upd; d[i] = d[i] * rho_ + omr * upd * upd;);
}

/* The public functions of cnet.h, defined by optim.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH(cnet_sgd_update,
              (REAL *p, const REAL *g, int64_t n, double lr, double weight_decay, int n_threads),
              (p, g, n, lr, weight_decay, n_threads))
/* momentum and nesterov take the same arguments */
#define MOMENTUM_PARAMS                                                                            \
    (REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads)
#define MOMENTUM_ARGS (p, v, g, n, lr, momentum, weight_decay, n_threads)
CNET_DISPATCH(cnet_momentum_update, MOMENTUM_PARAMS, MOMENTUM_ARGS)
CNET_DISPATCH(cnet_nesterov_update, MOMENTUM_PARAMS, MOMENTUM_ARGS)
#undef MOMENTUM_PARAMS
#undef MOMENTUM_ARGS
CNET_DISPATCH(cnet_adagrad_update,
              (REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double eps, double weight_decay,
               int n_threads),
              (p, h, g, n, lr, eps, weight_decay, n_threads))
CNET_DISPATCH(cnet_rmsprop_update,
              (REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double rho, double eps,
               double weight_decay, int n_threads),
              (p, h, g, n, lr, rho, eps, weight_decay, n_threads))
CNET_DISPATCH(cnet_adam_update,
              (REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1, double beta2,
               double eps, int64_t t, double weight_decay, int n_threads),
              (p, m, v, g, n, lr, beta1, beta2, eps, t, weight_decay, n_threads))
CNET_DISPATCH(cnet_adadelta_update,
              (REAL *p, REAL *h, REAL *d, const REAL *g, int64_t n, double lr, double rho, double eps,
               double weight_decay, int n_threads),
              (p, h, d, g, n, lr, rho, eps, weight_decay, n_threads))
