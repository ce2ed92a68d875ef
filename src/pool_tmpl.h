/* pool_tmpl.h -- 2-D max and average pooling over each (H, W) plane, forward and backward: the template
 * (instantiate.h) of pool.c, pool_avx2.c and pool_avx512.c, one per SIMD path (cnet_internal.h, "per-ISA
 * families"): the same C body, which the compiler vectorizes with each path's vectors, except the 2x2
 * max pool's rows, which the AVX2/AVX-512 paths run in explicit vectors (max2x2_row, max2x2_short for
 * rows shorter than a vector: the compiler's own code for the float32 selects with int64 indices ran at
 * a quarter of the copy bandwidth, 3 to 9 GB/s). Every path
 * computes the same comparisons, selects and sums in the same order: bit-identical results. Pooling is
 * bound by memory bandwidth: one pass over the input, threads over the N*C planes (disjoint writes), and
 * a fast path for the common 2x2 window with stride 2 and no padding. Geometry: x is (N, C, H, W);
 * windows KH x KW; stride (SH, SW); padding (PH, PW); OH = (H + 2*PH - KH)/SH + 1, OW likewise
 * (cnet_valid_range from cnet_internal.h). */
#ifndef CNET_POOL_SHARED
#define CNET_POOL_SHARED

#include <string.h>

#include "cnet_internal.h"

/* take ? a : b without a branch: gcc turns the ternary on floats into a jump, which random data
 * mispredicts half the time (commit 50a1a80 measured the max pool's loss). */
static inline int64_t select_i64(int64_t take, int64_t a, int64_t b) { return b ^ ((a ^ b) & -take); }

#endif /* CNET_POOL_SHARED */

/* take ? a : b for REAL, through its bits (see select_i64). */
static inline REAL SFX(select)(int64_t take, REAL a, REAL b) {
    UINT ua, ub, m = 0u - (UINT)take;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ub ^= (ua ^ ub) & m;
    memcpy(&b, &ub, sizeof b);
    return b;
}

/* Max of one window of plane xc over rows [h0+i0, h0+i1), columns [w0+j0, w0+j1), all inside the plane:
 * the first element in row-major order that is the maximum, a NaN winning (the first NaN). */
static inline __attribute__((always_inline)) void SFX(window_max)(const REAL *xc, int64_t W, int64_t h0,
                                                                  int64_t i0, int64_t i1, int64_t w0,
                                                                  int64_t j0, int64_t j1, REAL *y,
                                                                  int64_t *arg) {
    int64_t best_i = (h0 + i0) * W + w0 + j0;
    REAL best = xc[best_i];
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) {
            const int64_t idx = (h0 + i) * W + w0 + j;
            const REAL v = xc[idx];
            const int take = (v > best) | ((v != v) & (best == best));
            best = SFX(select)(take, v, best);
            best_i = select_i64(take, idx, best_i);
        }
    *y = best;
    *arg = best_i;
}

#if defined(__AVX2__)
/* 32-byte vectors of the dtype and of the same-width integers (GCC vector extensions: comparisons give
 * all-ones lanes; casts between them reinterpret the bits), and PN int64 lanes for the argmax. The
 * AVX2 and AVX-512 paths only: the baseline's 16-byte vectors shuffle these slower than its scalar loop. */
typedef REAL SFX(pv) __attribute__((vector_size(32)));
typedef CNET_PICK(IS_F32, int32_t, int64_t) SFX(pe);
typedef SFX(pe) SFX(pi) __attribute__((vector_size(32)));
typedef int64_t SFX(pl) __attribute__((vector_size(8 * 32 / sizeof(REAL))));
typedef uint8_t SFX(pp) __attribute__((vector_size(32 / sizeof(REAL))));
#define PN (int64_t)(32 / sizeof(REAL))
/* Lanes of the pair (a, b) by index: clang's __builtin_shufflevector (constant indices), GCC's
 * __builtin_shuffle (an index vector; GCC has the former only from version 12). */
#if defined(__clang__)
#define SHUF(a, b, m, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(a, b, m, ...) __builtin_shuffle(a, b, m)
#endif
/* The even and odd elements of the 2*PN elements at p: the left and right columns of PN windows. */
#if IS_F32
#define SPLIT(p, ev, od)                                                                             \
    do {                                                                                             \
        SFX(pv) a_, b_;                                                                              \
        memcpy(&a_, (p), sizeof a_), memcpy(&b_, (p) + PN, sizeof b_);                               \
        ev = SHUF(a_, b_, ((SFX(pi)){0, 2, 4, 6, 8, 10, 12, 14}), 0, 2, 4, 6, 8, 10, 12, 14);        \
        od = SHUF(a_, b_, ((SFX(pi)){1, 3, 5, 7, 9, 11, 13, 15}), 1, 3, 5, 7, 9, 11, 13, 15);        \
    } while (0)
#else
#define SPLIT(p, ev, od)                                                                             \
    do {                                                                                             \
        SFX(pv) a_, b_;                                                                              \
        memcpy(&a_, (p), sizeof a_), memcpy(&b_, (p) + PN, sizeof b_);                               \
        ev = SHUF(a_, b_, ((SFX(pi)){0, 2, 4, 6}), 0, 2, 4, 6);                                      \
        od = SHUF(a_, b_, ((SFX(pi)){1, 3, 5, 7}), 1, 3, 5, 7);                                      \
    } while (0)
#endif

/* One row of the 2x2 stride-2 max pool, OW >= PN outputs: rows r0, r1 of the input, yr the row's
 * maxima, and ar their flat indices (row: the index of r0[0]) or, when pr is given, pr their window
 * positions 0..3. The comparisons and selects of the scalar loop, PN windows at a time (the same
 * results); a last partial group is the row's last PN windows, some of them computed twice (the same
 * values written again). */
static void SFX(max2x2_row)(REAL *yr, int64_t *ar, uint8_t *pr, const REAL *r0, const REAL *r1, int64_t W,
                            int64_t row, int64_t OW) {
    SFX(pi) lane;
    for (int64_t l = 0; l < PN; l++) lane[l] = (SFX(pe))(2 * l);
    for (int64_t o = 0; o < OW; o += PN) {
        const int64_t ow = o + PN <= OW ? o : OW - PN;
        SFX(pv) b, v[3];
        SPLIT(r0 + 2 * ow, b, v[0]);
        SPLIT(r1 + 2 * ow, v[1], v[2]);
        const SFX(pe) o2 = pr ? 2 : (SFX(pe))W, o3 = pr ? 3 : (SFX(pe))(W + 1);
        const SFX(pi) offs[3] = {(SFX(pi)){0} + 1, (SFX(pi)){0} + o2, (SFX(pi)){0} + o3};
        SFX(pi) off = {0};
        for (int k = 0; k < 3; k++) {
            const SFX(pi) take = (v[k] > b) | ((v[k] != v[k]) & (b == b));
            b = (SFX(pv))(((SFX(pi))v[k] & take) | ((SFX(pi))b & ~take));
            off = (offs[k] & take) | (off & ~take);
        }
        memcpy(yr + ow, &b, sizeof b);
        if (pr) {
            const SFX(pp) pos = __builtin_convertvector(off, SFX(pp));
            memcpy(pr + ow, &pos, sizeof pos);
        } else {
            const SFX(pl) at = __builtin_convertvector(off + lane, SFX(pl)) + (row + 2 * ow);
            memcpy(ar + ow, &at, sizeof at);
        }
    }
}

/* The same for a row of 0 < OW < PN windows: whole vectors read from the rows (their lanes past the
 * row's 2*OW elements computed and dropped) while they stay before xend, the end of x; else the row's
 * elements copied into a buffer first. */
static void SFX(max2x2_short)(REAL *yr, int64_t *ar, uint8_t *pr, const REAL *r0, const REAL *r1, int64_t W,
                              int64_t row, int64_t OW, const REAL *xend) {
    REAL y[PN];
    int64_t a[PN];
    uint8_t q[PN];
    if (r1 + 2 * PN <= xend) {
        SFX(max2x2_row)(y, a, pr ? q : NULL, r0, r1, W, row, PN);
    } else {
        REAL b0[2 * PN] = {0}, b1[2 * PN] = {0};
        memcpy(b0, r0, (size_t)(2 * OW) * sizeof(REAL));
        memcpy(b1, r1, (size_t)(2 * OW) * sizeof(REAL));
        SFX(max2x2_row)(y, a, pr ? q : NULL, b0, b1, W, row, PN);
    }
    memcpy(yr, y, (size_t)OW * sizeof(REAL));
    if (pr) memcpy(pr, q, (size_t)OW);
    else memcpy(ar, a, (size_t)OW * sizeof(int64_t));
}
#undef SPLIT
#undef SHUF
#endif

/* x is (N, C, H, W). Overwrites y (N, C, OH, OW) with the window maxima, and either argmax (N, C, OH,
 * OW) with the flat index h*W + w of each maximum in its unpadded input plane or, when argmax is NULL,
 * pos (N, C, OH, OW) with its position i*KW + j in its window (KH*KW <= 256). Padding never wins (the
 * reference pads with -inf and requires pad < window, so every window holds an input element). */
void KNAME(cnet_maxpool2d_forward)(REAL *y, int64_t *argmax, uint8_t *pos, const REAL *x, int64_t N,
                                 int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t SH,
                                 int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int nt = cnet_threads_for(N * C * H * W, n_threads);
    const int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t p = 0; p < N * C; p++) {
        const REAL *xc = x + p * H * W;
        REAL *yc = y + p * OH * OW;
        int64_t *ac = argmax ? argmax + p * OH * OW : NULL;
        uint8_t *pc = argmax ? NULL : pos + p * OH * OW;
        if (fast2x2) {
            for (int64_t oh = 0; oh < OH; oh++) {
                const REAL *r0 = xc + 2 * oh * W, *r1 = r0 + W;
                const int64_t row = 2 * oh * W;
                REAL *yr = yc + oh * OW;
                int64_t *ar = ac ? ac + oh * OW : NULL;
                uint8_t *pr = pc ? pc + oh * OW : NULL;
#if defined(__AVX2__)     /* PN windows at a time (the portable path's 16-byte vectors: one at a time) */
                if (OW >= PN)
                    SFX(max2x2_row)(yr, ar, pr, r0, r1, W, row, OW);
                else
                    SFX(max2x2_short)(yr, ar, pr, r0, r1, W, row, OW, x + N * C * H * W);
                continue;
#endif
                const int64_t o2 = pr ? 2 : W, o3 = pr ? 3 : W + 1;
                /* branch-free selects (random data would mispredict every comparison) */
                for (int64_t ow = 0; ow < OW; ow++) {
                    REAL best = r0[2 * ow], v;
                    int64_t off = 0, take;
                    v = r0[2 * ow + 1];
                    take = (v > best) | ((v != v) & (best == best));
                    best = SFX(select)(take, v, best);
                    off = select_i64(take, 1, off);
                    v = r1[2 * ow];
                    take = (v > best) | ((v != v) & (best == best));
                    best = SFX(select)(take, v, best);
                    off = select_i64(take, o2, off);
                    v = r1[2 * ow + 1];
                    take = (v > best) | ((v != v) & (best == best));
                    best = SFX(select)(take, v, best);
                    off = select_i64(take, o3, off);
                    yr[ow] = best;
                    if (pr) pr[ow] = (uint8_t)off;
                    else ar[ow] = row + 2 * ow + off;
                }
            }
            continue;
        }
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * SH - PH;
            int64_t i0, i1;
            cnet_valid_range(KH, 1, h0, H, &i0, &i1);
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * SW - PW;
                int64_t j0, j1;
                cnet_valid_range(KW, 1, w0, W, &j0, &j1);
                int64_t at;
                if (KH == 3 && KW == 3 && i1 - i0 == 3 && j1 - j0 == 3) /* constant bounds: unrolled */
                    SFX(window_max)(xc, W, h0, 0, 3, w0, 0, 3, yc + oh * OW + ow, &at);
                else
                    SFX(window_max)(xc, W, h0, i0, i1, w0, j0, j1, yc + oh * OW + ow, &at);
                if (pc) pc[oh * OW + ow] = (uint8_t)((at / W - h0) * KW + at % W - w0);
                else ac[oh * OW + ow] = at;
            }
        }
    }
}

/* One plane of the backward from int64 plane indices: dxc.flat[ac[o]] += dyc[o] in output order; an
 * index outside [0, hw) is skipped. Returns whether there was one. */
static inline int64_t SFX(scatter_index)(REAL *dxc, const REAL *dyc, const int64_t *ac, int64_t n, uint64_t hw) {
    int64_t out = 0;
    for (int64_t o = 0; o < n; o++) {
        const uint64_t i = (uint64_t)ac[o];
        if (i >= hw) {
            out = 1;
            continue;
        }
        dxc[i] += dyc[o];
    }
    return out;
}

/* One plane of the backward from window positions: dy to the element position q of each window names
 * (ti, tj: q's row and column in the window); a position past the window or on its padding is skipped.
 * Returns whether there was one. */
static inline int64_t SFX(scatter_pos)(REAL *dxc, const REAL *dyc, const uint8_t *pc, int64_t H, int64_t W,
                                       int64_t OH, int64_t OW, int64_t kk, int64_t SH, int64_t SW, int64_t PH,
                                       int64_t PW, const uint8_t *ti, const uint8_t *tj, int fast2x2) {
    int64_t out = 0;
    if (fast2x2) { /* position q: the element delta[q] = (q >> 1) * W + (q & 1) from its window's */
        const int64_t delta[4] = {0, 1, W, W + 1};
        for (int64_t oh = 0; oh < OH; oh++) {
            REAL *d = dxc + 2 * oh * W;
            const REAL *g = dyc + oh * OW;
            const uint8_t *pr = pc + oh * OW;
            for (int64_t ow = 0; ow < OW; ow++, d += 2) {
                const uint64_t q = pr[ow];
                if (q > 3) {
                    out = 1;
                    continue;
                }
                d[delta[q]] += g[ow];
            }
        }
        return out;
    }
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t q = pc[oh * OW + ow];
            const int64_t h = oh * SH - PH + ti[q], w = ow * SW - PW + tj[q];
            if (q >= kk || (uint64_t)h >= (uint64_t)H || (uint64_t)w >= (uint64_t)W) {
                out = 1;
                continue;
            }
            dxc[h * W + w] += dyc[oh * OW + ow];
        }
    return out;
}

/* dy is (N, C, OH, OW), and argmax the forward's int64 plane indices or, when argmax is NULL, pos its
 * window positions (KH x KW windows, KH*KW <= 256, at stride (SH, SW) and padding (PH, PW); the window
 * is read only then). Overwrites dx (N, C, H, W): dy to the element each names, in output order
 * (overlapping windows add). An index outside the plane, a position past its window or on its padding,
 * is skipped (a branch never taken on valid input: no pass of its own); returns the number of planes
 * that hold one. (A one-pass write of 2x2 blocks measured slower than this zeroing and scattering into a
 * plane that stays in L1.) */
int64_t KNAME(cnet_maxpool2d_backward)(REAL *dx, const REAL *dy, const int64_t *argmax, const uint8_t *pos,
                                       int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW,
                                       int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                       int n_threads) {
    const int nt = cnet_threads_for(N * C * H * W, n_threads);
    const int64_t kk = argmax ? 0 : KH * KW;
    const int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0;
    uint8_t ti[256] = {0}, tj[256] = {0}; /* position -> its row and column in the window */
    for (int64_t q = 0; q < kk && q < 256; q++) {
        ti[q] = (uint8_t)(q / KW);
        tj[q] = (uint8_t)(q % KW);
    }
    int64_t bad = 0;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1) reduction(+ : bad)
    for (int64_t p = 0; p < N * C; p++) {
        REAL *dxc = dx + p * H * W;
        const REAL *dyc = dy + p * OH * OW;
        memset(dxc, 0, (size_t)(H * W) * sizeof(REAL));
        bad += argmax ? SFX(scatter_index)(dxc, dyc, argmax + p * OH * OW, OH * OW, (uint64_t)(H * W))
                      : SFX(scatter_pos)(dxc, dyc, pos + p * OH * OW, H, W, OH, OW, kk, SH, SW, PH, PW, ti, tj,
                                         fast2x2);
    }
    return bad;
}

/* x is (N, C, H, W). Overwrites y (N, C, OH, OW) with the window sums divided by KH*KW (padding counts
 * as zeros in the divisor), summed from 0 in row-major window order like the reference. */
void KNAME(cnet_avgpool2d_forward)(REAL *y, const REAL *x, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                 int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int nt = cnet_threads_for(N * C * H * W, n_threads);
    const REAL div = (REAL)(KH * KW);
    const int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t p = 0; p < N * C; p++) {
        const REAL *xc = x + p * H * W;
        REAL *yc = y + p * OH * OW;
        if (fast2x2) {
            for (int64_t oh = 0; oh < OH; oh++) {
                const REAL *r0 = xc + 2 * oh * W, *r1 = r0 + W;
                for (int64_t ow = 0; ow < OW; ow++)
                    yc[oh * OW + ow] =
                        (((((REAL)0 + r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / div;
            }
            continue;
        }
        for (int64_t oh = 0; oh < OH; oh++) {
            const int64_t h0 = oh * SH - PH;
            int64_t i0, i1;
            cnet_valid_range(KH, 1, h0, H, &i0, &i1);
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * SW - PW;
                int64_t j0, j1;
                cnet_valid_range(KW, 1, w0, W, &j0, &j1);
                REAL s = 0;
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = j0; j < j1; j++) s += xc[(h0 + i) * W + w0 + j];
                yc[oh * OW + ow] = s / div;
            }
        }
    }
}

/* dy is (N, C, OH, OW). Overwrites dx (N, C, H, W): every input element gets dy/(KH*KW) from each window
 * that covers it, added in (i, j) order like the reference. */
void KNAME(cnet_avgpool2d_backward)(REAL *dx, const REAL *dy, int64_t N, int64_t C, int64_t H, int64_t W,
                                  int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                  int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int nt = cnet_threads_for(N * C * H * W, n_threads);
    const REAL div = (REAL)(KH * KW);
    const int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0;
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t p = 0; p < N * C; p++) {
        REAL *dxc = dx + p * H * W;
        const REAL *dyc = dy + p * OH * OW;
        if (fast2x2) { /* windows tile the plane: one contribution per element (0 + g, as the reference) */
            for (int64_t h = 0; h < H; h++) {
                REAL *d = dxc + h * W;
                if (h >= 2 * OH) {
                    memset(d, 0, (size_t)W * sizeof(REAL));
                    continue;
                }
                const REAL *g = dyc + (h / 2) * OW;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const REAL v = (REAL)0 + g[ow] / div;
                    d[2 * ow] = v;
                    d[2 * ow + 1] = v;
                }
                for (int64_t w = 2 * OW; w < W; w++) d[w] = 0;
            }
            continue;
        }
        memset(dxc, 0, (size_t)(H * W) * sizeof(REAL));
        for (int64_t i = 0; i < KH; i++)
            for (int64_t j = 0; j < KW; j++) {
                int64_t oh0, oh1, ow0, ow1;
                cnet_valid_range(OH, SH, i - PH, H, &oh0, &oh1);
                cnet_valid_range(OW, SW, j - PW, W, &ow0, &ow1);
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    REAL *d = dxc + (oh * SH + i - PH) * W + j - PW;
                    const REAL *g = dyc + oh * OW;
                    for (int64_t ow = ow0; ow < ow1; ow++) d[ow * SW] += g[ow] / div;
                }
            }
    }
}

/* The public functions of cnet.h, defined by pool.c (CNET_DISPATCH, cnet_internal.h). */
CNET_DISPATCH(cnet_maxpool2d_forward,
              (REAL *y, int64_t *argmax, uint8_t *pos, const REAL *x, int64_t N, int64_t C, int64_t H,
               int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads),
              (y, argmax, pos, x, N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads))
CNET_DISPATCH_RET(int64_t, cnet_maxpool2d_backward,
              (REAL *dx, const REAL *dy, const int64_t *argmax, const uint8_t *pos, int64_t N, int64_t C,
               int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
               int64_t PH, int64_t PW, int n_threads),
              (dx, dy, argmax, pos, N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, n_threads))
CNET_DISPATCH(cnet_avgpool2d_forward,
              (REAL *y, const REAL *x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
               int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads),
              (y, x, N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads))
CNET_DISPATCH(cnet_avgpool2d_backward,
              (REAL *dx, const REAL *dy, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW,
               int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads),
              (dx, dy, N, C, H, W, KH, KW, SH, SW, PH, PW, n_threads))
#ifdef PN
#undef PN
#endif
