/* optim.c -- optimizer updates, in place, one fused pass over the parameter, its gradient and state.
 * The bodies are written once in optim_tmpl.h and instantiated for float and double. */
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

#define REAL float
#define SFX(name) name##_f32
#define SQRT sqrtf
#include "optim_tmpl.h"
#undef REAL
#undef SFX
#undef SQRT

#define REAL double
#define SFX(name) name##_f64
#define SQRT sqrt
#include "optim_tmpl.h"
#undef REAL
#undef SFX
#undef SQRT
