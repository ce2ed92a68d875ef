/* pool_blocked_tmpl.h -- 2x2 max pooling (stride 2, no padding) on the channel-blocked layout
 * (cnet.h): the template (instantiate.h) of pool_blocked.c, pool_blocked_avx2.c and
 * pool_blocked_avx512.c, one per SIMD path (cnet_internal.h, "per-ISA families"). The lane loops are
 * plain C that the compiler vectorizes: selects, no branches -- CMakeLists.txt builds these files with
 * -fno-trapping-math, which lets it if-convert them (results unchanged). Bound by memory bandwidth:
 * one pass over x and y, threads over the (N, Cb) planes. */
#ifndef CNET_POOL_BLOCKED_SHARED
#define CNET_POOL_BLOCKED_SHARED

#include <string.h>

#include "cnet_internal.h"
#include "cnet.h"

#endif /* CNET_POOL_BLOCKED_SHARED */

/* 32-byte vectors of the dtype and of the same-width integers (GCC vector extensions: comparisons give
 * all-ones lanes, casts between them reinterpret the bits). cb is a multiple of their length. */
typedef REAL SFX(pv) __attribute__((vector_size(32)));
typedef CNET_PICK(IS_F32, int32_t, int64_t) SFX(pi) __attribute__((vector_size(32)));
typedef uint8_t SFX(pb) __attribute__((vector_size(32 / sizeof(REAL))));
#define PV SFX(pv)
#define PI SFX(pi)
#define PN (int64_t)(32 / sizeof(REAL))

/* One window, cb lanes: the maximum of a0..a3 (row-major window order) and its position; a later
 * element wins when greater, or when it is a NaN and the best so far is not (the first NaN wins). */
static inline __attribute__((always_inline)) void SFX(win4)(REAL *y, uint8_t *arg, const REAL *a0,
                                                            const REAL *a1, const REAL *a2,
                                                            const REAL *a3, int64_t cb) {
    for (int64_t l = 0; l < cb; l += PN) {
        PV b, v[3];
        memcpy(&b, a0 + l, sizeof b);
        memcpy(&v[0], a1 + l, sizeof b), memcpy(&v[1], a2 + l, sizeof b), memcpy(&v[2], a3 + l, sizeof b);
        PI at = {0};
        for (int k = 0; k < 3; k++) {
            const PI take = (v[k] > b) | ((v[k] != v[k]) & (b == b));
            b = (PV)(((PI)v[k] & take) | ((PI)b & ~take));
            at = (((PI){0} + (k + 1)) & take) | (at & ~take);
        }
        const SFX(pb) ab = __builtin_convertvector(at, SFX(pb));
        memcpy(y + l, &b, sizeof b);
        memcpy(arg + l, &ab, sizeof ab);
    }
}

void KNAME(cnet_maxpool2d_blk_forward)(REAL *yb, uint8_t *arg, const REAL *xb, int64_t N, int64_t C,
                                       int64_t H, int64_t W, int64_t cb, int n_threads) {
    const int64_t Cb = (C + cb - 1) / cb, OH = H / 2, OW = W / 2;
    const int nt = cnet_threads_for(N * Cb * H * W * cb, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        const REAL *x = xb + q * H * W * cb;
        REAL *y = yb + q * OH * OW * cb;
        uint8_t *a = arg + q * OH * OW * cb;
        for (int64_t oh = 0; oh < OH; oh++) {
            const REAL *r0 = x + 2 * oh * W * cb, *r1 = r0 + W * cb;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t o = (oh * OW + ow) * cb, i = 2 * ow * cb;
                SFX(win4)(y + o, a + o, r0 + i, r0 + i + cb, r1 + i, r1 + i + cb, cb);
            }
        }
    }
}

/* dx for one window: lane l of position k gets dy[l] when arg[l] == k, else 0 */
static inline __attribute__((always_inline)) void SFX(unwin4)(REAL *d0, REAL *d1, REAL *d2, REAL *d3,
                                                              const REAL *dy, const uint8_t *arg,
                                                              int64_t cb) {
    for (int64_t l = 0; l < cb; l += PN) {
        PV g;
        SFX(pb) ab;
        memcpy(&g, dy + l, sizeof g);
        memcpy(&ab, arg + l, sizeof ab);
        const PI at = __builtin_convertvector(ab, PI), gi = (PI)g;
        const PV v0 = (PV)(gi & (at == 0)), v1 = (PV)(gi & (at == 1));
        const PV v2 = (PV)(gi & (at == 2)), v3 = (PV)(gi & (at == 3));
        memcpy(d0 + l, &v0, sizeof v0), memcpy(d1 + l, &v1, sizeof v1);
        memcpy(d2 + l, &v2, sizeof v2), memcpy(d3 + l, &v3, sizeof v3);
    }
}

void KNAME(cnet_maxpool2d_blk_backward)(REAL *dxb, const REAL *dyb, const uint8_t *arg, int64_t N,
                                        int64_t C, int64_t H, int64_t W, int64_t cb, int n_threads) {
    const int64_t Cb = (C + cb - 1) / cb, OH = H / 2, OW = W / 2;
    const int nt = cnet_threads_for(N * Cb * H * W * cb, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        REAL *dx = dxb + q * H * W * cb;
        const REAL *dy = dyb + q * OH * OW * cb;
        const uint8_t *a = arg + q * OH * OW * cb;
        for (int64_t oh = 0; oh < OH; oh++) {
            REAL *r0 = dx + 2 * oh * W * cb, *r1 = r0 + W * cb;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t o = (oh * OW + ow) * cb, i = 2 * ow * cb;
                SFX(unwin4)(r0 + i, r0 + i + cb, r1 + i, r1 + i + cb, dy + o, a + o, cb);
            }
            if (W % 2) {
                memset(r0 + (W - 1) * cb, 0, (size_t)cb * sizeof(REAL));
                memset(r1 + (W - 1) * cb, 0, (size_t)cb * sizeof(REAL));
            }
        }
        if (H % 2) memset(dx + (H - 1) * W * cb, 0, (size_t)(W * cb) * sizeof(REAL));
    }
}

#undef PV
#undef PI
#undef PN

CNET_DISPATCH(cnet_maxpool2d_blk_forward,
              (REAL *yb, uint8_t *arg, const REAL *xb, int64_t N, int64_t C, int64_t H, int64_t W,
               int64_t cb, int n_threads),
              (yb, arg, xb, N, C, H, W, cb, n_threads))
CNET_DISPATCH(cnet_maxpool2d_blk_backward,
              (REAL *dxb, const REAL *dyb, const uint8_t *arg, int64_t N, int64_t C, int64_t H,
               int64_t W, int64_t cb, int n_threads),
              (dxb, dyb, arg, N, C, H, W, cb, n_threads))
