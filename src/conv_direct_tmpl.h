/* conv_direct_tmpl.h -- the direct-convolution kernels of one SIMD path, written once: the template
 * (instantiate.h) of conv_direct.c (portable), conv_direct_avx2.c and conv_direct_avx512.c, which define
 * CNET_ISA and, for the dtype being instantiated (through CNET_PICK(IS_F32, ...)):
 *   V, a vector of VL REALs, and VZERO(), VLOAD(p), VSTORE(p, v) (unaligned), VBCAST(p) (a vector of
 *   *p), VFMA(a, b, c) = a*b + c, VADD(a, b), VRELU(v) = max(v, 0) with NaN kept;
 *   the compiled tiles: FWD_LIST(X) (X(kb, rw, mode), mode 0: blocked stride 1, 1: plain stride 1,
 *   2: any stride, runtime strides), DWB_LIST(X) (X(nc, kb, _)), DWP_LIST(X) (X(th, tw, kb)).
 *
 * Forward tile: kb output blocks x rw neighbouring pixels of one output row, kb*rw accumulators that
 * stay in registers over the whole reduction (input block, kernel row, kernel column, lane); per step
 * kb weight vectors are loaded and each of the rw input values is broadcast once (AVX-512: folded into
 * the FMA as an embedded broadcast). Weight-gradient tile: nc input lanes x kb output blocks of one
 * kernel tap (blocked), or th x tw taps x kb output blocks of one input channel (plain), accumulated
 * over all pixels of an image; the dy vectors are loaded once per pixel and the x values broadcast. */

#ifndef CNET_CONV_DIRECT_SHARED
#define CNET_CONV_DIRECT_SHARED

#include <string.h>

#include "conv_direct_internal.h"

/* Strides of a forward tile (in elements) -- shared by all tiles of a problem. */
typedef struct {
    int64_t y_ks; /* between output blocks of y */
    int64_t x_cs; /* between input blocks (blocked) */
    int64_t x_ci; /* between input lanes of a block (1 blocked, the plane size plain) */
    int64_t x_rs; /* between input rows */
    int64_t x_ps; /* between the windows of neighbouring output pixels (SW * pixel size) */
    int64_t x_ks; /* between kernel columns (the pixel size: VL blocked, 1 plain) */
    int64_t nci;  /* lanes per input block (VL blocked, C plain) */
    int64_t ncb;  /* input blocks (1 plain) */
    int64_t cpc;  /* input blocks per call of a tile (cache blocking of the weights) */
    int64_t KH, KW;
    int64_t w_ks; /* between output blocks of the weights */
    int64_t y_ps; /* between the outputs of neighbouring tile pixels (mode 2: VL along a row, OW*VL
                   * down a column) */
    int relu;
} dc_fargs;
/* Strides of a weight-gradient tile. */
typedef struct {
    int64_t x_rs, x_ps, SH; /* input row stride, window step between pixels, stride in rows */
    int64_t OH, OW;         /* the pixels a plain tile runs over; OW is also the row length of dy */
    int64_t dy_ks;          /* between output blocks of dy */
    int64_t p_ks;           /* between output blocks of the partial */
    int64_t p_th, p_tw;     /* plain: between kernel rows / columns of the partial */
} dc_gargs;
enum { DC_FIRST = 1, DC_LAST = 2 };
#endif /* CNET_CONV_DIRECT_SHARED */

#include "conv_direct_tiles_tmpl.h"

/* ---- drivers --------------------------------------------------------------------------------- */

int KNAME(cnet_dconv_has)(int kind, int a, int b, int c) {
    switch (kind) {
    case 0: return a >= 0 && a < 3 && b >= 1 && b < 5 && c >= 1 && c < 29 && SFX(fwd_tab)[a][b][c];
    case 1: return a >= 1 && a <= 16 && b >= 1 && b < 5 && SFX(dwb_tab)[a][b];
    case 2: return a >= 1 && a < 6 && b >= 1 && b < 6 && c >= 1 && c < 3 && SFX(dwp_tab)[a][b][c];
    default: return 0;
    }
}

/* Copies image src (planes x ih x iw x lanes) into the scratch s (planes x hp x wp x lanes) at
 * (top + i*dh, left + j*dw); s was zeroed once, and every image writes the same positions. */
static void SFX(fill_scratch)(REAL *s, const REAL *src, const dc_problem *p, int64_t lanes) {
    int64_t i0, i1, j0, j1;
    cnet_valid_range(p->ih, p->dh, p->top, p->hp, &i0, &i1);
    cnet_valid_range(p->iw, p->dw, p->left, p->wp, &j0, &j1);
    const int64_t splane = p->hp * p->wp * lanes, iplane = p->ih * p->iw * lanes;
    for (int64_t c = 0; c < p->ib; c++)
        for (int64_t i = i0; i < i1; i++) {
            REAL *d = s + c * splane + ((p->top + i * p->dh) * p->wp + p->left) * lanes;
            const REAL *r = src + c * iplane + i * p->iw * lanes;
            if (p->dw == 1)
                memcpy(d + j0 * lanes, r + j0 * lanes, (size_t)((j1 - j0) * lanes) * sizeof(REAL));
            else
                for (int64_t j = j0; j < j1; j++)
                    memcpy(d + j * p->dw * lanes, r + j * lanes, (size_t)lanes * sizeof(REAL));
        }
}

static REAL *SFX(alloc_scratch)(const dc_problem *p, int64_t lanes) {
    const size_t n = p->hp > 0 ? (size_t)(p->ib * p->hp * p->wp * lanes) : 0;
    REAL *s = (REAL *)cnet_scratch_alloc(n * sizeof(REAL));
    if (s) memset(s, 0, n * sizeof(REAL));
    return s;
}

static inline int SFX(thread_id)(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Output positions o in [0, O) whose window (taps 0..K-1 at o*S - off) lies wholly inside [0, L):
 * [*lo, *hi), lo <= hi. */
static void SFX(full_range)(int64_t O, int64_t S, int64_t off, int64_t K, int64_t L, int64_t *lo,
                            int64_t *hi) {
    int64_t a = off > 0 ? (off + S - 1) / S : 0;                   /* o*S - off >= 0 */
    int64_t b = L - K + off >= 0 ? (L - K + off) / S + 1 : 0;      /* o*S - off + K - 1 < L */
    if (a > O) a = O;
    if (b > O) b = O;
    if (b < a) b = a;
    *lo = a, *hi = b;
}

/* Taps k in [0, K) of output position o that fall inside [0, L): [*k0, *k1), k0 <= k1. */
static inline void SFX(tap_range)(int64_t o, int64_t S, int64_t off, int64_t K, int64_t L, int64_t *k0,
                                  int64_t *k1) {
    const int64_t i = o * S - off; /* the input position of tap 0 */
    int64_t a = i < 0 ? -i : 0, b = L - i < K ? L - i : K;
    if (b < a) b = a;
    *k0 = a, *k1 = b;
}

/* y (N, ob, oh, ow, VL) = conv(x, w) + bias, relu (see conv_direct_internal.h for the problem).
 * The input is read in place (or from the dilated scratch of a strided backward-data): taps over the
 * padding are skipped. Each output row's interior columns (all taps inside) run in row tiles over the
 * row's valid kernel rows; the few edge columns run down the rows in column tiles over their valid
 * kernel columns, the corner pixels one by one. Items (image, output-block group, band of rows), split
 * into equal contiguous ranges; each output element is one fixed sum whatever thread computes it. */
int KNAME(cnet_dconv_conv)(REAL *y, const REAL *x, const REAL *w, const REAL *bias,
                           const dc_problem *p, const dc_tile *t, int relu, int n_threads) {
    const int64_t lanes = p->plain ? 1 : VL;
    const int64_t x_img = p->ib * p->ih * p->iw * lanes, y_img = p->ob * p->oh * p->ow * VL;
    const int scratch = p->hp > 0;
    const int64_t IH = scratch ? p->hp : p->ih, IW = scratch ? p->wp : p->iw;
    const int64_t top = scratch ? 0 : p->top, left = scratch ? 0 : p->left;
    const int64_t KH = p->KH, KW = p->KW, SH = p->SH, SW = p->SW, OH = p->oh, OW = p->ow;
    const int mode = SW == 1 ? (p->plain ? 1 : 0) : 2;
    const int64_t kb = t->kb, rw = t->rw;
    const int64_t n_kg = (p->ob + kb - 1) / kb;
    dc_fargs A;
    A.y_ks = OH * OW * VL;
    A.x_cs = IH * IW * lanes;
    A.x_ci = p->plain ? IH * IW : 1;
    A.x_rs = IW * lanes;
    A.x_ps = SW * lanes;
    A.x_ks = lanes;
    A.nci = p->plain ? p->ib : VL;
    A.ncb = p->plain ? 1 : p->ib;
    A.KH = KH;
    A.KW = KW;
    A.w_ks = (p->plain ? 1 : p->ib) * KH * KW * A.nci * VL;
    A.y_ps = VL;
    A.relu = relu;
    A.cpc = t->cpc < 1 || t->cpc > A.ncb ? A.ncb : t->cpc;
    dc_fargs Av = A; /* column tiles: pixels down a column */
    Av.x_ps = SH * A.x_rs;
    Av.y_ps = OW * VL;
    const int64_t w_cs = KH * KW * A.nci * VL, w_ts = A.nci * VL; /* weights: input block, tap */
    int64_t rt, rb, cl, cr; /* rows / columns whose windows lie inside the input */
    SFX(full_range)(OH, SH, top, KH, IH, &rt, &rb);
    SFX(full_range)(OW, SW, left, KW, IW, &cl, &cr);
    const int64_t n_st = cr > cl ? (cr - cl + rw - 1) / rw : 0;
    const int64_t rw_last = cr - cl - (n_st - 1) * rw;
    /* column tiles (mode 2, kb <= 2): two blocks when the group has them, as many rows as compiled */
    const int64_t kbv = kb > 1 && SFX(fwd_tab)[2][2][1] ? 2 : 1;
    int64_t cv = 1;
    for (int64_t r = 28; r >= 1; r--)
        if (SFX(fwd_tab)[2][kbv][r]) {
            cv = r;
            break;
        }
    /* rows in bands: enough items for the threads (the result does not depend on the bands) */
    int64_t band = OH;
    while (band > 1 && p->N * n_kg * ((OH + band - 1) / band) < 8 * (int64_t)n_threads) band = (band + 1) / 2;
    const int64_t n_band = (OH + band - 1) / band;
    const int64_t items = p->N * n_kg * n_band;
    int nt = n_threads < 1 ? 1 : n_threads;
    if (nt > items) nt = (int)items;
    int failed = 0;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        REAL *s = NULL;
        if (scratch && !(s = SFX(alloc_scratch)(p, lanes))) cnet_flag_raise(&failed);
        #pragma omp barrier
        if (!cnet_flag_read(&failed)) {
            const int tid = SFX(thread_id)();
            const int64_t i0 = items * tid / nt, i1 = items * (tid + 1) / nt;
            int64_t cur = -1;
            for (int64_t it = i0; it < i1; it++) {
                const int64_t n = it / (n_kg * n_band), kg = it / n_band % n_kg, bd = it % n_band;
                if (s && n != cur) SFX(fill_scratch)(s, x + n * x_img, p, lanes);
                cur = n;
                const REAL *xi = s ? s : x + n * x_img;
                REAL *yi = y + n * y_img + kg * kb * A.y_ks;
                const int64_t kbs = p->ob - kg * kb < kb ? p->ob - kg * kb : kb;
                const int64_t r0 = bd * band, r1 = r0 + band < OH ? r0 + band : OH;
                const REAL *bk = bias ? bias + kg * kb * VL : NULL;
                for (int64_t c0 = 0; c0 < A.ncb; c0 += A.cpc) {
                    const int64_t nb = A.ncb - c0 < A.cpc ? A.ncb - c0 : A.cpc;
                    const int flags = (c0 == 0 ? DC_FIRST : 0) | (c0 + nb == A.ncb ? DC_LAST : 0);
                    const REAL *wk = w + kg * kb * A.w_ks + c0 * w_cs, *xc = xi + c0 * A.x_cs;
                    /* interior columns, row by row */
                    for (int64_t orow = r0; orow < r1 && n_st > 0; orow++) {
                        int64_t kh0, kh1;
                        SFX(tap_range)(orow, SH, top, KH, IH, &kh0, &kh1);
                        const REAL *xr = kh1 > kh0 ? xc + (orow * SH + kh0 - top) * A.x_rs : xc;
                        REAL *yr = yi + (orow * OW + cl) * VL;
                        for (int64_t st = 0; st < n_st; st++) {
                            const int64_t rws = st < n_st - 1 ? rw : rw_last;
                            SFX(fwd_tab)[mode][kbs][rws](yr + st * rw * VL,
                                                         xr + ((cl + st * rw) * SW - left) * lanes,
                                                         wk + kh0 * KW * w_ts, bk, &A, nb, flags,
                                                         kh1 - kh0, KW);
                        }
                    }
                    /* edge columns: down the band's full rows in column tiles, the rest pixel by pixel */
                    for (int64_t oc = 0; oc < OW; oc++) {
                        if (oc == cl && cr > cl) oc = cr;
                        if (oc >= OW) break;
                        int64_t kw0, kw1;
                        SFX(tap_range)(oc, SW, left, KW, IW, &kw0, &kw1);
                        const int64_t xcol = kw1 > kw0 ? (oc * SW + kw0 - left) * lanes : 0;
                        const int64_t f0 = r0 > rt ? r0 : rt, f1 = r1 < rb ? r1 : rb;
                        for (int64_t j = 0; j < kbs; j += kbv) {
                            const int64_t kj = kbs - j < kbv ? kbs - j : kbv;
                            const REAL *wj = wk + j * A.w_ks + kw0 * w_ts, *bj = bk ? bk + j * VL : NULL;
                            for (int64_t orow = r0; orow < r1; orow++) {
                                if (orow == f0 && f1 > f0) { /* the full rows in column tiles */
                                    for (int64_t q = f0; q < f1; q += cv) {
                                        const int64_t m = f1 - q < cv ? f1 - q : cv;
                                        SFX(fwd_tab)[2][kj][m](yi + j * A.y_ks + (q * OW + oc) * VL,
                                                               xc + (q * SH - top) * A.x_rs + xcol, wj, bj,
                                                               &Av, nb, flags, KH, kw1 - kw0);
                                    }
                                    orow = f1 - 1;
                                    continue;
                                }
                                int64_t kh0, kh1;
                                SFX(tap_range)(orow, SH, top, KH, IH, &kh0, &kh1);
                                const int ok = kh1 > kh0 && kw1 > kw0;
                                SFX(fwd_tab)[2][kj][1](yi + j * A.y_ks + (orow * OW + oc) * VL,
                                                       ok ? xc + (orow * SH + kh0 - top) * A.x_rs + xcol : xc,
                                                       wj + kh0 * KW * w_ts, bj, &Av, nb, flags,
                                                       ok ? kh1 - kh0 : 0, kw1 - kw0);
                            }
                        }
                    }
                }
            }
        }
        cnet_scratch_free(s);
    }
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}

/* The weight (and bias) gradient partials of n_chunks chunks of `chunk` images: part (n_chunks, ob,
 * CI, KH, KW, ci, VL) in the forward weight layout, dbpart (n_chunks, ob*VL); both overwritten. Items
 * (chunk, tile) split into equal contiguous ranges; a thread walks its chunk's images once, running
 * all its tiles on each image while it is in cache. Each partial element is one sequential chain over
 * the chunk's images and pixels, whatever thread computes it. A blocked tile reads the input in place
 * and runs only the pixels whose tap lies inside it; a plain tile (several taps) reads a padded scratch
 * copy when there is padding. The bias gradient of a block group goes with its first tile. */
int KNAME(cnet_dconv_wgrad)(REAL *part, REAL *dbpart, const REAL *dy, const REAL *x,
                            const dc_problem *p, const dc_tile *t, int64_t chunk, int64_t n_chunks,
                            int n_threads) {
    const int plain = p->plain;
    const int64_t lanes = plain ? 1 : VL, ci_n = plain ? p->ib : VL, cib = plain ? 1 : p->ib;
    const int64_t KH = p->KH, KW = p->KW;
    const int64_t wblk = cib * KH * KW * ci_n * VL, plen = p->ob * wblk;
    const int64_t x_img = p->ib * p->ih * p->iw * lanes, y_img = p->ob * p->oh * p->ow * VL;
    const int scratch = p->hp > 0;
    const int64_t IH = scratch ? p->hp : p->ih, IW = scratch ? p->wp : p->iw;
    const int64_t top = scratch ? 0 : p->top, left = scratch ? 0 : p->left;
    const int64_t plane = IH * IW * lanes;
    const int64_t kb = t->kb, n_kg = (p->ob + kb - 1) / kb;
    const int64_t nc = t->nc, ncg = plain ? 1 : VL / nc;
    const int64_t th = t->th, tw = t->tw;
    const int64_t nthg = plain ? (KH + th - 1) / th : 1, ntwg = plain ? (KW + tw - 1) / tw : 1;
    const int64_t per_kg = plain ? p->ib * nthg * ntwg : p->ib * KH * KW * ncg;
    const int64_t n_tiles = n_kg * per_kg, items = n_chunks * n_tiles;
    dc_gargs G;
    G.x_rs = IW * lanes;
    G.x_ps = p->SW * lanes;
    G.SH = p->SH;
    G.OH = p->oh;
    G.OW = p->ow;
    G.dy_ks = p->oh * p->ow * VL;
    G.p_ks = wblk;
    G.p_th = KW * ci_n * VL;
    G.p_tw = ci_n * VL;
    int nt = n_threads < 1 ? 1 : n_threads;
    if (nt > items) nt = (int)items;
    int failed = 0;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        REAL *s = NULL;
        if (scratch && !(s = SFX(alloc_scratch)(p, lanes))) cnet_flag_raise(&failed);
        #pragma omp barrier
        if (!cnet_flag_read(&failed)) {
            const int tid = SFX(thread_id)();
            const int64_t i0 = items * tid / nt, i1 = items * (tid + 1) / nt;
            for (int64_t it = i0; it < i1;) {
                const int64_t ch = it / n_tiles, ta = it % n_tiles;
                const int64_t tb = n_tiles - ta < i1 - it ? n_tiles : ta + (i1 - it);
                const int64_t n0 = ch * chunk, n1 = n0 + chunk < p->N ? n0 + chunk : p->N;
                REAL *pc = part + ch * plen, *dbc = dbpart + ch * p->ob * VL;
                for (int64_t n = n0; n < n1; n++) {
                    if (s) SFX(fill_scratch)(s, x + n * x_img, p, lanes);
                    const REAL *xi = s ? s : x + n * x_img, *dyi = dy + n * y_img;
                    for (int64_t tl = ta; tl < tb; tl++) {
                        const int64_t kg = tl / per_kg, r = tl % per_kg;
                        const int64_t kbs = p->ob - kg * kb < kb ? p->ob - kg * kb : kb;
                        REAL *pk = pc + kg * kb * wblk;
                        const REAL *dyk = dyi + kg * kb * G.dy_ks;
                        if (!plain) {
                            const int64_t cg = r % ncg, kw = r / ncg % KW, kh = r / ncg / KW % KH;
                            const int64_t cb = r / ncg / KW / KH;
                            int64_t oh0, oh1, ow0, ow1;
                            cnet_valid_range(p->oh, p->SH, kh - top, IH, &oh0, &oh1);
                            cnet_valid_range(p->ow, p->SW, kw - left, IW, &ow0, &ow1);
                            const int ok = oh1 > oh0 && ow1 > ow0;
                            const REAL *xt = ok ? xi + cb * plane + (oh0 * p->SH + kh - top) * G.x_rs +
                                                      (ow0 * p->SW + kw - left) * VL + cg * nc
                                                : xi;
                            SFX(dwb_tab)[nc][kbs](pk + (((cb * KH + kh) * KW + kw) * VL + cg * nc) * VL, xt,
                                                  ok ? dyk + (oh0 * p->ow + ow0) * VL : dyk, n == n0,
                                                  ok ? oh1 - oh0 : 0, ok ? ow1 - ow0 : 0, &G);
                            if (r == 0)
                                SFX(db_sum)(dbc + kg * kb * VL, dyk, kbs, G.dy_ks, p->oh * p->ow, n == n0);
                        } else {
                            const int64_t wg = r % ntwg, hg = r / ntwg % nthg, c = r / ntwg / nthg;
                            const int64_t kh0 = hg * th, kw0 = wg * tw;
                            const int64_t ths = KH - kh0 < th ? KH - kh0 : th;
                            const int64_t tws = KW - kw0 < tw ? KW - kw0 : tw;
                            REAL *db = r == 0 ? dbc + kg * kb * VL : NULL;
                            SFX(dwp_tab)[ths][tws][kbs](pk + ((kh0 * KW + kw0) * ci_n + c) * VL,
                                                        xi + c * plane + kh0 * G.x_rs + kw0, dyk, db,
                                                        n == n0, &G);
                        }
                    }
                }
                it += tb - ta;
            }
        }
        cnet_scratch_free(s);
    }
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}

/* ---- layout conversions ---------------------------------------------------------------------- */
#ifdef VTRANSPOSE
/* x (N, C, H*W) -> xb (N, Cb, H*W, VL), lanes past C zero: VL pixels x VL channels at a time, the
 * channel rows transposed into pixel vectors in registers; the last hw % VL pixels element by element. */
void KNAME(cnet_dconv_to_blk)(REAL *xb, const REAL *x, int64_t N, int64_t C, int64_t hw, int n_threads) {
    const int64_t Cb = (C + VL - 1) / VL, hw0 = hw / VL * VL;
    const int nt = cnet_threads_for(N * Cb * hw * VL, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        const int64_t n = q / Cb, b = q % Cb, lanes = C - b * VL < VL ? C - b * VL : VL;
        const REAL *s = x + (n * C + b * VL) * hw;
        REAL *d = xb + q * hw * VL;
        for (int64_t i = 0; i < hw0; i += VL) {
            V r[VL];
            for (int l = 0; l < VL; l++) r[l] = l < lanes ? VLOAD(s + l * hw + i) : VZERO();
            VTRANSPOSE(r);
            for (int p = 0; p < VL; p++) VSTORE(d + (i + p) * VL, r[p]);
        }
        for (int64_t i = hw0; i < hw; i++)
            for (int64_t l = 0; l < VL; l++) d[i * VL + l] = l < lanes ? s[l * hw + i] : (REAL)0;
    }
}

/* xb (N, Cb, H*W, VL) -> x (N, C, H*W), lanes past C dropped: the inverse of cnet_dconv_to_blk. */
void KNAME(cnet_dconv_from_blk)(REAL *x, const REAL *xb, int64_t N, int64_t C, int64_t hw, int n_threads) {
    const int64_t Cb = (C + VL - 1) / VL, hw0 = hw / VL * VL;
    const int nt = cnet_threads_for(N * C * hw, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        const int64_t n = q / Cb, b = q % Cb, lanes = C - b * VL < VL ? C - b * VL : VL;
        const REAL *s = xb + q * hw * VL;
        REAL *d = x + (n * C + b * VL) * hw;
        for (int64_t i = 0; i < hw0; i += VL) {
            V r[VL];
            for (int p = 0; p < VL; p++) r[p] = VLOAD(s + (i + p) * VL);
            VTRANSPOSE(r);
            for (int64_t l = 0; l < lanes; l++) VSTORE(d + l * hw + i, r[l]);
        }
        for (int64_t i = hw0; i < hw; i++)
            for (int64_t l = 0; l < lanes; l++) d[l * hw + i] = s[i * VL + l];
    }
}
#endif
