/* optim_tmpl.h -- optimizer updates, in place, one fused pass over the parameter, its gradient and
 * state: the template (instantiate.h) of optim.c, optim_avx2.c and optim_avx512.c, one per SIMD path
 * (cnet_internal.h, "per-ISA families"); built with -ffp-contract=off (CMakeLists.txt): every path rounds
 * every operation as written, so all give the bit-identical results of the baseline build. */
#ifndef CNET_OPTIM_SHARED
#define CNET_OPTIM_SHARED

#include <math.h>

#include "cnet_internal.h"

/* NONFINITE(x): 1 when x is +-Inf or NaN (then x - x is NaN, which compares unequal to itself), else 0. */
#define NONFINITE(x) ((x) - (x) != (x) - (x))

/* Runs BODY for every i in [0, n) in parallel with gi, the effective gradient g[i] + wd * p[i] (read
 * before p[i] is updated), or g[i] alone when weight_decay == 0 -- two loops, so the test is not in
 * the loop and 0 * p is never added (it would turn an inf in p into a NaN, which the reference avoids).
 * FLAGS, an int expression of the values BODY wrote, is or-ed over all i into the kernel's result:
 * bit 0 for p, bits 1, 2 for the state arrays in argument order, set when one of them holds a
 * non-finite value after the update (the optimizers' divergence check, at no extra pass). */
#define OPT_LOOP(BODY, FLAGS)                                                    \
    do {                                                                         \
        int nt_ = cnet_threads_for(n, n_threads);                                \
        if (weight_decay != 0.0) {                                               \
            const REAL wd_ = (REAL)weight_decay;                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt_) if(nt_ > 1) reduction(|:bad)") \
            for (int64_t i = 0; i < n; i++) {                                    \
                const REAL gi = g[i] + wd_ * p[i];                               \
                BODY                                                             \
                bad |= (FLAGS);                                                  \
            }                                                                    \
        } else {                                                                 \
            _Pragma("omp parallel for schedule(static) num_threads(nt_) if(nt_ > 1) reduction(|:bad)") \
            for (int64_t i = 0; i < n; i++) {                                    \
                const REAL gi = g[i];                                            \
                BODY                                                             \
                bad |= (FLAGS);                                                  \
            }                                                                    \
        }                                                                        \
    } while (0)

#endif /* CNET_OPTIM_SHARED */

/* Every array is (n,) -- p the parameter, g its gradient, then the state (v, h, m, d) -- and every
 * function overwrites p and its state in place, reading g only. The formulas, and the order of the
 * operations within them, are the reference's (cnet/reference/optim.py): scalar coefficients are
 * computed in double and rounded to REAL, then the arithmetic is done in REAL. Each returns the
 * bitmask of OPT_LOOP's FLAGS: which written arrays hold NaN or Inf afterwards (0: all finite). */

/* p -= lr * g */
int KNAME(cnet_sgd_update)(REAL *p, const REAL *g, int64_t n, double lr, double weight_decay,
                         int n_threads) {
    const REAL lr_ = (REAL)lr;
    int bad = 0;
    OPT_LOOP(REAL pi = p[i] - lr_ * gi; p[i] = pi;, NONFINITE(pi));
    return bad;
}

/* v = momentum*v - lr*g; p += v */
int KNAME(cnet_momentum_update)(REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum,
                              double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, mom = (REAL)momentum;
    int bad = 0;
    OPT_LOOP(REAL vi = v[i] * mom - lr_ * gi; v[i] = vi; REAL pi = p[i] + vi; p[i] = pi;,
             NONFINITE(pi) | NONFINITE(vi) << 1);
    return bad;
}

/* v = momentum*v - lr*g; p += momentum*v - lr*g */
int KNAME(cnet_nesterov_update)(REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum,
                              double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, mom = (REAL)momentum;
    int bad = 0;
    OPT_LOOP(REAL lg = lr_ * gi; REAL vi = v[i] * mom - lg; v[i] = vi; REAL pi = p[i] + (mom * vi - lg);
             p[i] = pi;, NONFINITE(pi) | NONFINITE(vi) << 1);
    return bad;
}

/* h += g*g; p -= lr*g/(sqrt(h) + eps) */
int KNAME(cnet_adagrad_update)(REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double eps,
                             double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, eps_ = (REAL)eps;
    int bad = 0;
    OPT_LOOP(REAL hi = h[i] + gi * gi; h[i] = hi; REAL pi = p[i] - lr_ * gi / (SQRT(hi) + eps_); p[i] = pi;,
             NONFINITE(pi) | NONFINITE(hi) << 1);
    return bad;
}

/* h = rho*h + (1 - rho)*g*g; p -= lr*g/(sqrt(h) + eps) */
int KNAME(cnet_rmsprop_update)(REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double rho,
                             double eps, double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, rho_ = (REAL)rho, omr = (REAL)(1.0 - rho), eps_ = (REAL)eps;
    int bad = 0;
    OPT_LOOP(REAL hi = h[i] * rho_ + omr * gi * gi; h[i] = hi;
             REAL pi = p[i] - lr_ * gi / (SQRT(hi) + eps_); p[i] = pi;, NONFINITE(pi) | NONFINITE(hi) << 1);
    return bad;
}

/* Keras 2.1 Adam, t >= 1 the step count: lr_t = lr*sqrt(1 - beta2^t)/(1 - beta1^t) (double);
 * m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*g*g; p -= lr_t*m/(sqrt(v) + eps) */
int KNAME(cnet_adam_update)(REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1,
                          double beta2, double eps, int64_t t, double weight_decay, int n_threads) {
    const double lr_t = lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t));
    const REAL lrt = (REAL)lr_t, b1 = (REAL)beta1, b2 = (REAL)beta2;
    const REAL omb1 = (REAL)(1.0 - beta1), omb2 = (REAL)(1.0 - beta2), eps_ = (REAL)eps;
    int bad = 0;
    OPT_LOOP(REAL mi = m[i] * b1 + omb1 * gi; REAL vi = v[i] * b2 + omb2 * gi * gi;
             m[i] = mi; v[i] = vi; REAL pi = p[i] - lrt * mi / (SQRT(vi) + eps_); p[i] = pi;,
             NONFINITE(pi) | NONFINITE(mi) << 1 | NONFINITE(vi) << 2);
    return bad;
}

/* Keras 2.1 Adadelta (h: accumulated g^2, d: accumulated update^2):
 * h = rho*h + (1 - rho)*g*g; upd = g*sqrt(d + eps)/sqrt(h + eps); p -= lr*upd;
 * d = rho*d + (1 - rho)*upd*upd */
int KNAME(cnet_adadelta_update)(REAL *p, REAL *h, REAL *d, const REAL *g, int64_t n, double lr, double rho,
                              double eps, double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, rho_ = (REAL)rho, omr = (REAL)(1.0 - rho), eps_ = (REAL)eps;
    int bad = 0;
    OPT_LOOP(REAL hi = h[i] * rho_ + omr * gi * gi; h[i] = hi;
             REAL upd = gi * SQRT(d[i] + eps_) / SQRT(hi + eps_);
             REAL pi = p[i] - lr_ * upd; p[i] = pi; REAL di = d[i] * rho_ + omr * upd * upd; d[i] = di;,
             NONFINITE(pi) | NONFINITE(hi) << 1 | NONFINITE(di) << 2);
    return bad;
}

/* Keras 2.1 Adamax, t >= 1: lr_t = lr/(1 - beta1^t) (double); m = beta1*m + (1 - beta1)*g;
 * u = max(beta2*u, |g|) (NaN when either is, as NumPy's maximum); p -= lr_t*m/(u + eps) */
int KNAME(cnet_adamax_update)(REAL *p, REAL *m, REAL *u, const REAL *g, int64_t n, double lr, double beta1,
                              double beta2, double eps, int64_t t, double weight_decay, int n_threads) {
    const REAL lrt = (REAL)(lr / (1.0 - pow(beta1, (double)t))), b1 = (REAL)beta1, b2 = (REAL)beta2;
    const REAL omb1 = (REAL)(1.0 - beta1), eps_ = (REAL)eps;
    int bad = 0;
    OPT_LOOP(REAL mi = m[i] * b1 + omb1 * gi; REAL ua = u[i] * b2; REAL ub = FABS(gi);
             REAL ui = (ua > ub || ua != ua) ? ua : ub; m[i] = mi; u[i] = ui;
             REAL pi = p[i] - lrt * mi / (ui + eps_); p[i] = pi;,
             NONFINITE(pi) | NONFINITE(mi) << 1 | NONFINITE(ui) << 2);
    return bad;
}

/* Keras 2.1 Nadam, t >= 1; mu_t, mu_next the momentum schedule at t and t + 1, m_schedule the product
 * mu_1...mu_t: m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*(g*g);
 * p -= lr*(cg*g + cm*m)/(sqrt(v*cv) + eps) with cg = (1 - mu_t)/(1 - m_schedule),
 * cm = mu_next/(1 - m_schedule*mu_next), cv = 1/(1 - beta2^t) (double, rounded to REAL) */
int KNAME(cnet_nadam_update)(REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1,
                             double beta2, double eps, int64_t t, double mu_t, double mu_next,
                             double m_schedule, double weight_decay, int n_threads) {
    const REAL lr_ = (REAL)lr, b1 = (REAL)beta1, b2 = (REAL)beta2, eps_ = (REAL)eps;
    const REAL omb1 = (REAL)(1.0 - beta1), omb2 = (REAL)(1.0 - beta2);
    const REAL cg = (REAL)((1.0 - mu_t) / (1.0 - m_schedule));
    const REAL cm = (REAL)(mu_next / (1.0 - m_schedule * mu_next));
    const REAL cv = (REAL)(1.0 / (1.0 - pow(beta2, (double)t)));
    int bad = 0;
    OPT_LOOP(REAL mi = m[i] * b1 + omb1 * gi; REAL vi = v[i] * b2 + omb2 * (gi * gi); m[i] = mi; v[i] = vi;
             REAL pi = p[i] - lr_ * (cg * gi + cm * mi) / (SQRT(vi * cv) + eps_); p[i] = pi;,
             NONFINITE(pi) | NONFINITE(mi) << 1 | NONFINITE(vi) << 2);
    return bad;
}

/* The public functions of cnet.h, defined by optim.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH_RET(int, cnet_sgd_update,
              (REAL *p, const REAL *g, int64_t n, double lr, double weight_decay, int n_threads),
              (p, g, n, lr, weight_decay, n_threads))
/* momentum and nesterov take the same arguments */
#define MOMENTUM_PARAMS                                                                            \
    (REAL *p, REAL *v, const REAL *g, int64_t n, double lr, double momentum, double weight_decay, int n_threads)
#define MOMENTUM_ARGS (p, v, g, n, lr, momentum, weight_decay, n_threads)
CNET_DISPATCH_RET(int, cnet_momentum_update, MOMENTUM_PARAMS, MOMENTUM_ARGS)
CNET_DISPATCH_RET(int, cnet_nesterov_update, MOMENTUM_PARAMS, MOMENTUM_ARGS)
#undef MOMENTUM_PARAMS
#undef MOMENTUM_ARGS
CNET_DISPATCH_RET(int, cnet_adagrad_update,
              (REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double eps, double weight_decay,
               int n_threads),
              (p, h, g, n, lr, eps, weight_decay, n_threads))
CNET_DISPATCH_RET(int, cnet_rmsprop_update,
              (REAL *p, REAL *h, const REAL *g, int64_t n, double lr, double rho, double eps,
               double weight_decay, int n_threads),
              (p, h, g, n, lr, rho, eps, weight_decay, n_threads))
CNET_DISPATCH_RET(int, cnet_adam_update,
              (REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1, double beta2,
               double eps, int64_t t, double weight_decay, int n_threads),
              (p, m, v, g, n, lr, beta1, beta2, eps, t, weight_decay, n_threads))
CNET_DISPATCH_RET(int, cnet_adadelta_update,
              (REAL *p, REAL *h, REAL *d, const REAL *g, int64_t n, double lr, double rho, double eps,
               double weight_decay, int n_threads),
              (p, h, d, g, n, lr, rho, eps, weight_decay, n_threads))
CNET_DISPATCH_RET(int, cnet_adamax_update,
              (REAL *p, REAL *m, REAL *u, const REAL *g, int64_t n, double lr, double beta1, double beta2,
               double eps, int64_t t, double weight_decay, int n_threads),
              (p, m, u, g, n, lr, beta1, beta2, eps, t, weight_decay, n_threads))
CNET_DISPATCH_RET(int, cnet_nadam_update,
              (REAL *p, REAL *m, REAL *v, const REAL *g, int64_t n, double lr, double beta1, double beta2,
               double eps, int64_t t, double mu_t, double mu_next, double m_schedule, double weight_decay,
               int n_threads),
              (p, m, v, g, n, lr, beta1, beta2, eps, t, mu_t, mu_next, m_schedule, weight_decay, n_threads))
