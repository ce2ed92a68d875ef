/* pool2d.c -- 2-D max and average pooling over each (H, W) plane, forward and backward.
 * Pooling is bound by memory bandwidth: one pass over the input, threads over the N*C planes, and a
 * fast path for the common 2x2 window with stride 2 and no padding. The bodies are in pool2d_tmpl.h,
 * instantiated for float and double. */
#include <string.h>

#include "cnet_internal.h"

/* take ? a : b without a branch: gcc turns the ternary on floats into a jump, which random data
 * mispredicts half the time (a 5x slower max pool). */
static inline int64_t select_i64(int64_t take, int64_t a, int64_t b) { return b ^ ((a ^ b) & -take); }
static inline float select_f32(int64_t take, float a, float b) {
    uint32_t ua, ub, m = 0u - (uint32_t)take;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub ^= (ua ^ ub) & m;
    memcpy(&b, &ub, sizeof b);
    return b;
}
static inline double select_f64(int64_t take, double a, double b) {
    uint64_t ua, ub, m = 0u - (uint64_t)take;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub ^= (ua ^ ub) & m;
    memcpy(&b, &ub, sizeof b);
    return b;
}

#define CNET_TEMPLATE "pool_tmpl.h"
#include "instantiate.h"
