/* pool_blocked_tmpl.h -- 2x2 max pooling (stride 2, no padding) on the channel-blocked layout
 * (cnet.h): the template (instantiate.h) of pool_blocked.c, pool_blocked_avx2.c and
 * pool_blocked_avx512.c, one per SIMD path (cnet_internal.h, "per-ISA families"). The lane loops are
 * plain C that the compiler vectorizes: selects, no branches -- CMakeLists.txt builds these files with
 * -fno-trapping-math, which lets it if-convert them (results unchanged). Bound by memory bandwidth:
 * one pass over x and y, threads over the (N, Cb) planes, each input row read (or written) whole before
 * the next: taking a window's two rows together, two streams a row apart, ran from DRAM at a third of
 * the copy bandwidth (float32 128x64x24x24, forward 2.67 -> 0.91 ms, backward 1.38 -> 1.02 ms). */
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

/* Window rows, lanes [l0, l0 + ls) of each block of cb: the maxima of the windows' elements in row-major
 * window order and their positions; a later element wins when greater, or when it is a NaN and the best
 * so far is not (the first NaN wins). The top row of a window row (first): y, at from elements 0 and 1
 * of each window; then the bottom row updates them with elements 2 and 3. One input row at a time: a
 * single stream through memory (reading both rows window by window ran at a third of the copy bandwidth
 * from DRAM). at holds nw * ls / PN vectors, window by window. */
static inline __attribute__((always_inline)) void SFX(row2)(REAL *y, PI *at, const REAL *r, int64_t nw,
                                                            int64_t cb, int64_t l0, int64_t ls, int first) {
    for (int64_t ow = 0; ow < nw; ow++)
        for (int64_t l = l0; l < l0 + ls; l += PN) {
            const int64_t o = ow * cb + l, i = 2 * ow * cb + l, e = (ow * ls + l - l0) / PN;
            PV b, v[2];
            PI a;
            if (first) {
                memcpy(&b, r + i, sizeof b);
                a = (PI){0};
            } else {
                memcpy(&b, y + o, sizeof b);
                a = at[e];
            }
            memcpy(&v[1], r + i + cb, sizeof b);
            if (!first) memcpy(&v[0], r + i, sizeof b);
            for (int k = first; k < 2; k++) {
                const PI take = (v[k] > b) | ((v[k] != v[k]) & (b == b));
                b = (PV)(((PI)v[k] & take) | ((PI)b & ~take));
                a = (((PI){0} + (first ? 1 : k + 2)) & take) | (a & ~take);
            }
            memcpy(y + o, &b, sizeof b);
            at[e] = a;
        }
}

/* The positions of a pass of row2 stay in a stack buffer of AT_N vectors (2 KB): a pass takes a slice of
 * ls <= AT_N * PN lanes of as many windows as fit. */
#define AT_N 64

void KNAME(cnet_maxpool2d_blk_forward)(REAL *yb, uint8_t *arg, const REAL *xb, int64_t N, int64_t C,
                                       int64_t H, int64_t W, int64_t cb, int n_threads) {
    const int64_t Cb = (C + cb - 1) / cb, OH = H / 2, OW = W / 2;
    const int64_t ls = cb < AT_N * PN ? cb : AT_N * PN, nwmax = AT_N * PN / ls;
    const int nt = cnet_threads_for(N * Cb * H * W * cb, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        PI at[AT_N];
        const REAL *x = xb + q * H * W * cb;
        REAL *y = yb + q * OH * OW * cb;
        uint8_t *a = arg + q * OH * OW * cb;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t w0 = 0; w0 < OW; w0 += nwmax)
                for (int64_t l0 = 0; l0 < cb; l0 += ls) {
                    const int64_t nw = OW - w0 < nwmax ? OW - w0 : nwmax, n = cb - l0 < ls ? cb - l0 : ls;
                    const REAL *r0 = x + (2 * oh * W + 2 * w0) * cb, *r1 = r0 + W * cb;
                    REAL *yr = y + (oh * OW + w0) * cb;
                    uint8_t *ar = a + (oh * OW + w0) * cb;
                    SFX(row2)(yr, at, r0, nw, cb, l0, n, 1);
                    SFX(row2)(yr, at, r1, nw, cb, l0, n, 0);
                    for (int64_t ow = 0; ow < nw; ow++)
                        for (int64_t l = l0; l < l0 + n; l += PN) {
                            const SFX(pb) ab = __builtin_convertvector(at[(ow * n + l - l0) / PN], SFX(pb));
                            memcpy(ar + ow * cb + l, &ab, sizeof ab);
                        }
                }
    }
}
#undef AT_N

/* One input row of dx under a row of windows, cb lanes: lane l of a window's left (right) element gets
 * dy[l] when arg[l] is the element's position (top row: 0, 1; bottom row: 2, 3), else 0. A row at a
 * time, as the forward pass reads. */
static inline __attribute__((always_inline)) void SFX(unrow2)(REAL *d, const REAL *dy, const uint8_t *arg,
                                                              int64_t OW, int64_t cb, int bottom) {
    const PI left = (PI){0} + 2 * bottom, right = left + 1;
    for (int64_t ow = 0; ow < OW; ow++)
        for (int64_t l = 0; l < cb; l += PN) {
            const int64_t o = ow * cb + l, i = 2 * ow * cb + l;
            PV g;
            SFX(pb) ab;
            memcpy(&g, dy + o, sizeof g);
            memcpy(&ab, arg + o, sizeof ab);
            const PI at = __builtin_convertvector(ab, PI), gi = (PI)g;
            const PV v0 = (PV)(gi & (at == left)), v1 = (PV)(gi & (at == right));
            memcpy(d + i, &v0, sizeof v0), memcpy(d + i + cb, &v1, sizeof v1);
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
            SFX(unrow2)(r0, dy + oh * OW * cb, a + oh * OW * cb, OW, cb, 0);
            if (W % 2) memset(r0 + (W - 1) * cb, 0, (size_t)cb * sizeof(REAL));
            SFX(unrow2)(r1, dy + oh * OW * cb, a + oh * OW * cb, OW, cb, 1);
            if (W % 2) memset(r1 + (W - 1) * cb, 0, (size_t)cb * sizeof(REAL));
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
