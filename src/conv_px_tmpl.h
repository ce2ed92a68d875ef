/* conv_px_tmpl.h -- convolution of a few-channel NCHW input, stride 1, straight into NCHW output, the
 * vector running along an output row (the first layer of a network called on its own, as the book's
 * Convolution is: its im2col has a reduction of C*KH*KW <= 25 or so, too short for the GEMM to amortize
 * the im2col, the bias pass and the packing around it). The template (instantiate.h) of conv_direct.c,
 * conv_direct_avx2.c and conv_direct_avx512.c, which define V, VL, VLOAD, VSTORE, VBCAST, VFMA, VADD,
 * VRELU (conv_direct_tmpl.h's contract), VAND (bitwise and), PX_KR (a forward tile's output channels, by
 * its vectors) and PX_WKR (a weight-gradient tile's), and PX_KR2, PX_WKR2: fewer channels a tile, taken
 * when they round K up to fewer (px_rows: 30 filters in 5 tiles of 6 rather than 4 of 8, two of them
 * computed for nothing).
 *
 * Forward tile: KR output channels x NV vectors of one output row, KR*NV accumulators kept over all
 * C*KH*KW taps; per tap NV input vectors are loaded (the row of x under the tap, read in place, or from a
 * zero-padded copy of the image when there is padding) and KR weights broadcast. A row whose width is
 * not a multiple of VL ends with a vector that overlaps the one before it (the same values written
 * twice), so OW >= VL is required. Each output is one FMA chain from the bias over the taps in (c, i, j)
 * order: the same bits for any number of threads.
 *
 * Weight-gradient tile: PX_WKR output channels x up to 5 taps of one kernel row, accumulated over every
 * pixel vector of an image (the overlapping last vector of a row with the lanes counted already masked
 * out), then summed across lanes; the bias gradient is each dy plane's sum. Sums run per image into a chunk's partial, in
 * image order; the chunks (fixed by the shape) are added in order: the same bits for any thread count. */
#ifndef CNET_CONV_PX_SHARED
#define CNET_CONV_PX_SHARED

#include <string.h>

#include "conv_direct_internal.h"

#define PX_MAX_NV 4
#endif /* CNET_CONV_PX_SHARED */

/* Vector v's first column of the row group starting at ow0: NV vectors from ow0, the last ones pulled
 * back to end at OW. */
static inline int64_t SFX(px_col)(int64_t ow0, int v, int64_t OW) {
    const int64_t c = ow0 + (int64_t)v * VL;
    return c + VL <= OW ? c : OW - VL;
}

/* Copies image xi (C, H, W) into s (C, HP, WP) at (PH, PW); s was zeroed once, and every image writes
 * the same positions, so the border stays zero. */
static void SFX(px_pad_image)(REAL *s, const REAL *xi, const px_geom *g) {
    const int64_t spl = g->HP * g->WP;
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t h = 0; h < g->H; h++)
            memcpy(s + c * spl + (h + g->PH) * g->WP + g->PW, xi + (c * g->H + h) * g->W,
                   (size_t)g->W * sizeof(REAL));
}

/* Output channels [k0, k0 + KR) (kn of them real) of one image: xi (C, HP, WP), wt (taps, KP) the
 * transposed weights, bp (KP) the bias (zeros without one), y the image's (K, OH, OW). */
static inline __attribute__((always_inline)) void SFX(px_fwd_tile)(REAL *y, const REAL *xi, const REAL *wt,
                                                                   const REAL *bp, const int64_t *toff,
                                                                   const px_geom *g, int64_t k0, int64_t kn,
                                                                   int relu, const int NV, const int KR) {
    const int64_t taps = g->C * g->KH * g->KW, OW = g->OW, plane = g->OH * OW;
    for (int64_t oh = 0; oh < g->OH; oh++) {
        const REAL *xr = xi + oh * g->WP;
        for (int64_t ow0 = 0; ow0 < OW; ow0 += (int64_t)NV * VL) {
            int64_t col[PX_MAX_NV];
            V acc[8][PX_MAX_NV];
            for (int v = 0; v < NV; v++) col[v] = SFX(px_col)(ow0, v, OW);
            for (int r = 0; r < KR; r++) {
                const V b = VBCAST(bp + k0 + r);
                for (int v = 0; v < NV; v++) acc[r][v] = b;
            }
            for (int64_t t = 0; t < taps; t++) {
                const REAL *xt = xr + toff[t], *wr = wt + t * g->KP + k0;
                V xv[PX_MAX_NV];
                for (int v = 0; v < NV; v++) xv[v] = VLOAD(xt + col[v]);
                for (int r = 0; r < KR; r++) {
                    const V wv = VBCAST(wr + r);
                    for (int v = 0; v < NV; v++) acc[r][v] = VFMA(wv, xv[v], acc[r][v]);
                }
            }
            for (int r = 0; r < KR; r++) {
                if (r >= kn) break;
                REAL *yr = y + (k0 + r) * plane + oh * OW;
                for (int v = 0; v < NV; v++) VSTORE(yr + col[v], relu ? VRELU(acc[r][v]) : acc[r][v]);
            }
        }
    }
}

/* The tile rows (output channels) that pad K to fewer channels: kr, else kr2 when it pads less. */
static inline int64_t SFX(px_rows)(int64_t K, int64_t kr, int64_t kr2) {
    return (K + kr2 - 1) / kr2 * kr2 < (K + kr - 1) / kr * kr ? kr2 : kr;
}

#define PX_FWD_CASE(nv)                                                                            \
    case nv:                                                                                       \
        if (KR == PX_KR(nv))                                                                       \
            SFX(px_fwd_tile)(yn, xi, wt, bp, toff, g, k0, kn, relu, nv, PX_KR(nv));                \
        else                                                                                       \
            SFX(px_fwd_tile)(yn, xi, wt, bp, toff, g, k0, kn, relu, nv, PX_KR2(nv));               \
        break;

/* y (N, K, OH, OW) = conv(x (N, C, H, W), w) + b, ReLU'd when relu; stride 1, padding PH, PW. wt (taps, KP)
 * and bp (KP): the weights transposed and the bias, zero past K. Returns CNET_OK or CNET_ERR_NOMEM. */
int KNAME(cnet_conv_px_forward)(REAL *y, const REAL *x, const REAL *wt, const REAL *bp, const px_geom *g,
                                int relu, int n_threads) {
    const int NV = (int)((g->OW + VL - 1) / VL < PX_MAX_NV ? (g->OW + VL - 1) / VL : PX_MAX_NV);
    const int64_t KR = SFX(px_rows)(g->K, PX_KR(NV), PX_KR2(NV)), groups = (g->K + KR - 1) / KR;
    const int64_t taps = g->C * g->KH * g->KW;
    const int64_t xs = g->C * g->H * g->W, ys = g->K * g->OH * g->OW;
    const int padded = g->PH > 0 || g->PW > 0;
    const int64_t spl = g->HP * g->WP;
    int64_t *toff = (int64_t *)cnet_scratch_alloc((size_t)taps * sizeof(int64_t));
    if (!toff) return CNET_ERR_NOMEM;
    for (int64_t c = 0, t = 0; c < g->C; c++)
        for (int64_t i = 0; i < g->KH; i++)
            for (int64_t j = 0; j < g->KW; j++) toff[t++] = c * spl + i * g->WP + j;
    int nt = n_threads < 1 ? 1 : n_threads;
    if (nt > g->N * groups) nt = (int)(g->N * groups);
    int failed = 0;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        REAL *s = padded ? (REAL *)cnet_scratch_alloc((size_t)(g->C * spl) * sizeof(REAL)) : NULL;
        if (padded && !s) cnet_flag_raise(&failed);
        if (s) memset(s, 0, (size_t)(g->C * spl) * sizeof(REAL));
        int64_t have = -1; /* the image in s */
        #pragma omp barrier
        #pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < g->N * groups; q++) {
            if (cnet_flag_read(&failed)) continue;
            const int64_t n = q / groups, k0 = (q % groups) * KR;
            const int64_t kn = g->K - k0 < KR ? g->K - k0 : KR;
            const REAL *xi = x + n * xs;
            if (padded) {
                if (have != n) {
                    SFX(px_pad_image)(s, xi, g);
                    have = n;
                }
                xi = s;
            }
            REAL *yn = y + n * ys;
            switch (NV) {
                PX_FWD_CASE(1)
                PX_FWD_CASE(2)
                PX_FWD_CASE(3)
                default: PX_FWD_CASE(4)
            }
        }
        cnet_scratch_free(s);
    }
    cnet_scratch_free(toff);
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}
#undef PX_FWD_CASE

int KNAME(cnet_conv_px_vl)(void) { return VL; }

/* The lanes of *v, summed pairwise (a fixed tree: the same bits wherever it runs). By pointer: a vector
 * argument of 32 bytes changes the ABI without AVX (gcc's -Wpsabi). */
static inline REAL SFX(px_hsum)(const V *v) {
    REAL t[VL];
    VSTORE(t, *v);
    for (int w = VL / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) t[l] += t[l + w];
    return t[0];
}

/* The weight gradient of output channels [k0, k0 + KR) x taps (c, i, j0 .. j0 + TJ) of one image: the
 * dy rows against the x rows under the taps, over every pixel vector; channels past K and taps past KW
 * read valid rows again (their sums are dropped). tail: the lanes of a row's last vector counted by the
 * one before (mask: all-ones bits in the lanes still to count). Sums into part[(tap)*K + k], or
 * overwrites them when first. */
static inline __attribute__((always_inline)) void SFX(px_wgrad_tile)(REAL *part, const REAL *dyn, const REAL *xc,
                                                                     const px_geom *g, int64_t k0, int64_t i,
                                                                     int64_t j0, int64_t tap0, const REAL *mask,
                                                                     int first, const int KR, const int TJ) {
    const int64_t OW = g->OW, plane = g->OH * OW, full = OW / VL * VL;
    const REAL *dr[8];
    int64_t jo[8];
    for (int r = 0; r < KR; r++) dr[r] = dyn + (k0 + r < g->K ? k0 + r : g->K - 1) * plane;
    for (int j = 0; j < TJ; j++) jo[j] = j0 + j < g->KW ? j0 + j : g->KW - 1;
    V acc[8][5];
    for (int r = 0; r < KR; r++)
        for (int j = 0; j < TJ; j++) acc[r][j] = VZERO();
    /* the whole vectors of every row, then the rows' last vectors (masked) in a pass of their own: the
     * mask then takes no register in the main loop (KR*TJ + KR + 1 of them: 31 with 5 x 5) */
    for (int64_t oh = 0; oh < g->OH; oh++) {
        const REAL *xr = xc + (oh + i) * g->WP;
        for (int64_t c0 = 0; c0 < full; c0 += VL) {
            V dv[8];
            for (int r = 0; r < KR; r++) dv[r] = VLOAD(dr[r] + oh * OW + c0);
            for (int j = 0; j < TJ; j++) {
                const V xv = VLOAD(xr + c0 + jo[j]);
                for (int r = 0; r < KR; r++) acc[r][j] = VFMA(dv[r], xv, acc[r][j]);
            }
        }
    }
    if (full < OW) {
        const V m = VLOAD(mask);
        const int64_t c0 = OW - VL;
        for (int64_t oh = 0; oh < g->OH; oh++) {
            const REAL *xr = xc + (oh + i) * g->WP;
            V dv[8];
            for (int r = 0; r < KR; r++) dv[r] = VAND(VLOAD(dr[r] + oh * OW + c0), m);
            for (int j = 0; j < TJ; j++) {
                const V xv = VLOAD(xr + c0 + jo[j]);
                for (int r = 0; r < KR; r++) acc[r][j] = VFMA(dv[r], xv, acc[r][j]);
            }
        }
    }
    for (int r = 0; r < KR; r++) {
        if (k0 + r >= g->K) break;
        for (int j = 0; j < TJ; j++) {
            if (j0 + j >= g->KW) break;
            REAL *p = part + (tap0 + j) * g->K + k0 + r;
            const REAL s = SFX(px_hsum)(&acc[r][j]);
            *p = first ? s : *p + s;
        }
    }
}

#define PX_WG_CASE(tj)                                                                             \
    case tj:                                                                                       \
        if (WKR == PX_WKR)                                                                         \
            SFX(px_wgrad_tile)(part, dyn, xc, g, k0, i, j0, tap0, mask, first, PX_WKR, tj);        \
        else                                                                                       \
            SFX(px_wgrad_tile)(part, dyn, xc, g, k0, i, j0, tap0, mask, first, PX_WKR2, tj);       \
        break;

/* One image's weight and bias gradients into part (C*KH*KW + 1, K): rows of taps (c, i, j), then the
 * bias row (each a sum over the image's pixels, added to part -- or written, when first). xn is the
 * image (C, H, W); pad, a zeroed (C, HP, WP) buffer for it when there is padding (the same positions
 * are written for every image). Stride 1, OW >= VL. */
void KNAME(cnet_conv_px_wgrad_image)(REAL *part, const REAL *dyn, const REAL *xn, REAL *pad,
                                     const px_geom *g, int first) {
    const int64_t spl = g->HP * g->WP, taps = g->C * g->KH * g->KW, plane = g->OH * g->OW;
    const REAL *xi = xn;
    if (g->PH > 0 || g->PW > 0) {
        SFX(px_pad_image)(pad, xn, g);
        xi = pad;
    }
    /* the last vector of a row keeps its last OW % VL lanes (all of them when the row is whole vectors) */
    const int64_t tail = g->OW % VL;
    UINT bits[VL];
    for (int64_t l = 0; l < VL; l++) bits[l] = tail == 0 || l >= VL - tail ? ~(UINT)0 : 0;
    REAL mask[VL];
    memcpy(mask, bits, sizeof mask);
    const int TJ = (int)(g->KW < 5 ? g->KW : 5);
    const int64_t WKR = SFX(px_rows)(g->K, PX_WKR, PX_WKR2);
    for (int64_t c = 0; c < g->C; c++)
        for (int64_t i = 0; i < g->KH; i++)
            for (int64_t j0 = 0; j0 < g->KW; j0 += TJ)
                for (int64_t k0 = 0; k0 < g->K; k0 += WKR) {
                    const REAL *xc = xi + c * spl;
                    const int64_t tap0 = (c * g->KH + i) * g->KW + j0;
                    switch (TJ) {
                        PX_WG_CASE(1)
                        PX_WG_CASE(2)
                        PX_WG_CASE(3)
                        PX_WG_CASE(4)
                        default: PX_WG_CASE(5)
                    }
                }
    for (int64_t k = 0; k < g->K; k++) { /* the bias: each plane's sum, in vectors, then the rest */
        const REAL *d = dyn + k * plane;
        V s0 = VZERO(), s1 = VZERO(), s2 = VZERO(), s3 = VZERO(); /* four chains: one waits on each add */
        int64_t e = 0;
        for (; e + 4 * VL <= plane; e += 4 * VL) {
            s0 = VADD(s0, VLOAD(d + e));
            s1 = VADD(s1, VLOAD(d + e + VL));
            s2 = VADD(s2, VLOAD(d + e + 2 * VL));
            s3 = VADD(s3, VLOAD(d + e + 3 * VL));
        }
        for (; e + VL <= plane; e += VL) s0 = VADD(s0, VLOAD(d + e));
        V s = VADD(VADD(s0, s1), VADD(s2, s3));
        REAL t = SFX(px_hsum)(&s);
        for (; e < plane; e++) t += d[e];
        part[taps * g->K + k] = first ? t : part[taps * g->K + k] + t;
    }
}
#undef PX_WG_CASE
