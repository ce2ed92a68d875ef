/* conv_im2col_tmpl.h -- unfold the kernel-sized windows of an image batch into a matrix, and its
 * adjoint: the template (instantiate.h) of conv_im2col.c. Two layouts: the book's (one row per output
 * pixel, used by users of im2col/col2im) and Caffe's per image (one row per (channel, kernel offset),
 * used by conv_tmpl.h so that the product with the weights lands directly in NCHW).
 * Geometry everywhere: x is (N, C, H, W); windows KH x KW; stride (SH, SW); zero padding (PH, PW);
 * OH = (H + 2*PH - KH)/SH + 1, OW = (W + 2*PW - KW)/SW + 1. */
#ifndef CNET_CONV_IM2COL_SHARED
#define CNET_CONV_IM2COL_SHARED

#include <string.h>

#include "cnet_internal.h"

#endif /* CNET_CONV_IM2COL_SHARED */

/* ---- one image, Caffe layout: col (C*KH*KW, OH*OW), row (c, i, j), column (oh, ow) ------------ */

/* x is (C, H, W). Overwrites col. Threads over the rows of col (n_threads <= 1: calling thread). */
void SFX(cnet_im2col_image)(REAL *col, const REAL *x, int64_t C, int64_t H, int64_t W, int64_t KH,
                            int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t rows = C * KH * KW, ohw = OH * OW;
    const int nt = cnet_threads_for(rows * ohw, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t c = r / (KH * KW), i = (r / KW) % KH, j = r % KW;
        const REAL *xc = x + c * H * W;
        REAL *dst = col + r * ohw;
        int64_t lo, hi;
        cnet_valid_range(OW, SW, j - PW, W, &lo, &hi);
        for (int64_t oh = 0; oh < OH; oh++, dst += OW) {
            const int64_t h = oh * SH + i - PH;
            if (h < 0 || h >= H) {
                memset(dst, 0, (size_t)OW * sizeof(REAL));
                continue;
            }
            const REAL *src = xc + h * W + j - PW; /* src[ow*SW] is x[c, h, ow*SW + j - PW] */
            for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
            if (SW == 1) /* an inline loop rather than a memcpy call per row: rows are short (24 elements
                          * in the book's 5x5 layer) */
                for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow];
            else if (SW == 2) for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[2 * ow];
            else for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * SW];
            for (int64_t ow = hi; ow < OW; ow++) dst[ow] = 0;
        }
    }
}

/* The adjoint of cnet_im2col_image: x (C, H, W) = sum of the col entries that land on each element
 * (padding dropped), added in (i, j) order like the reference. Overwrites x. Threads over channels. */
void SFX(cnet_col2im_image)(REAL *x, const REAL *col, int64_t C, int64_t H, int64_t W, int64_t KH,
                            int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t ohw = OH * OW;
    const int nt = cnet_threads_for(C * KH * KW * ohw, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t c = 0; c < C; c++) {
        REAL *xc = x + c * H * W;
        memset(xc, 0, (size_t)(H * W) * sizeof(REAL));
        for (int64_t i = 0; i < KH; i++)
            for (int64_t j = 0; j < KW; j++) {
                const REAL *src = col + ((c * KH + i) * KW + j) * ohw;
                int64_t lo, hi, oh0, oh1;
                cnet_valid_range(OW, SW, j - PW, W, &lo, &hi);
                cnet_valid_range(OH, SH, i - PH, H, &oh0, &oh1);
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    REAL *d = xc + (oh * SH + i - PH) * W + j - PW;
                    const REAL *s = src + oh * OW;
                    if (SW == 1) for (int64_t ow = lo; ow < hi; ow++) d[ow] += s[ow];
                    else for (int64_t ow = lo; ow < hi; ow++) d[ow * SW] += s[ow];
                }
            }
    }
}

/* ---- the book's layout: col (N*OH*OW, C*KH*KW), row (n, oh, ow), column (c, i, j) --------------- */

/* One window that lies inside the image: d[(c*KH + i)*KW + j] = s[(c*H + i)*W + j]. Inlined with a
 * constant KW by the switch below, so the short rows become straight-line moves. */
static inline __attribute__((always_inline)) void SFX(copy_window)(REAL *restrict d, const REAL *restrict s,
                                                                  int64_t C, int64_t H, int64_t W,
                                                                  int64_t KH, int64_t KW) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < KH; i++, d += KW) {
            const REAL *si = s + (c * H + i) * W;
            for (int64_t j = 0; j < KW; j++) d[j] = si[j];
        }
}

/* A window that may overlap the padding: rows [i0, i1) and columns [j0, j1) of it are inside. */
static void SFX(copy_window_edge)(REAL *d, const REAL *s, int64_t C, int64_t H, int64_t W, int64_t KH,
                                  int64_t KW, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < KH; i++, d += KW) {
            const REAL *si = s + (c * H + i) * W;
            for (int64_t j = 0; j < KW; j++)
                d[j] = (i >= i0 && i < i1 && j >= j0 && j < j1) ? si[j] : (REAL)0;
        }
}

/* x is (N, C, H, W). Overwrites col. Threads over (n, oh) row blocks. */
void SFX(cnet_im2col)(REAL *col, const REAL *x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t ckk = C * KH * KW;
    const int nt = cnet_threads_for(N * OH * OW * ckk, n_threads);
    /* windows ow in [ow0, ow1) lie inside the image horizontally */
    int64_t ow0, ow1;
    cnet_valid_range(OW, SW, -PW, W - KW + 1, &ow0, &ow1);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < N * OH; r++) {
        const int64_t n = r / OH, oh = r % OH;
        /* s[(c*H + i)*W + j] below is x[n, c, oh*SH - PH + i, ow*SW - PW + j] */
        const REAL *xr = x + n * C * H * W + (oh * SH - PH) * W - PW;
        REAL *dst = col + r * OW * ckk;
        int64_t i0, i1; /* kernel rows i that land inside the image */
        cnet_valid_range(KH, 1, oh * SH - PH, H, &i0, &i1);
        const int rows_inside = i0 == 0 && i1 == KH;
        for (int64_t ow = 0; ow < OW; ow++) {
            REAL *d = dst + ow * ckk;
            const REAL *s = xr + ow * SW;
            if (!rows_inside || ow < ow0 || ow >= ow1) {
                int64_t j0, j1;
                cnet_valid_range(KW, 1, ow * SW - PW, W, &j0, &j1);
                SFX(copy_window_edge)(d, s, C, H, W, KH, KW, i0, i1, j0, j1);
                continue;
            }
            switch (KW) { /* the common kernel widths get constant-length inner loops */
            case 1: SFX(copy_window)(d, s, C, H, W, KH, 1); break;
            case 2: SFX(copy_window)(d, s, C, H, W, KH, 2); break;
            case 3: SFX(copy_window)(d, s, C, H, W, KH, 3); break;
            case 5: SFX(copy_window)(d, s, C, H, W, KH, 5); break;
            default: SFX(copy_window)(d, s, C, H, W, KH, KW); break;
            }
        }
    }
}

/* One (n, c) plane of cnet_col2im: xc (H, W) += the plane's col entries (colc points at its first
 * column, rows ckk apart), in (oh, ow) order. */
static void SFX(col2im_plane)(REAL *xc, const REAL *colc, int64_t H, int64_t W, int64_t KH, int64_t KW,
                              int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t OH, int64_t OW,
                              int64_t ckk) {
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t i0, i1;
        cnet_valid_range(KH, 1, oh * SH - PH, H, &i0, &i1);
        for (int64_t ow = 0; ow < OW; ow++) {
            int64_t j0, j1;
            cnet_valid_range(KW, 1, ow * SW - PW, W, &j0, &j1);
            const REAL *s = colc + (oh * OW + ow) * ckk;
            REAL *d = xc + (oh * SH - PH) * W + ow * SW - PW;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) d[i * W + j] += s[i * KW + j];
        }
    }
}

/* The adjoint of copy_window: x[(c*H + i)*W + j] += s[(c*KH + i)*KW + j], window inside the image. */
static inline __attribute__((always_inline)) void SFX(add_window)(REAL *restrict x, const REAL *restrict s,
                                                                 int64_t C, int64_t H, int64_t W,
                                                                 int64_t KH, int64_t KW) {
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < KH; i++, s += KW) {
            REAL *xi = x + (c * H + i) * W;
            for (int64_t j = 0; j < KW; j++) xi[j] += s[j];
        }
}

/* The adjoint of cnet_im2col: x (N, C, H, W) = sum of the col entries that land on each element
 * (padding dropped), added in (oh, ow) order. Overwrites x. Threads over images, reading col once in
 * order; a batch smaller than the threads is split over (n, c) planes instead (same sums, same order). */
void SFX(cnet_col2im)(REAL *x, const REAL *col, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t ckk = C * KH * KW, kk = KH * KW;
    int nt = cnet_threads_for(N * OH * OW * ckk, n_threads);
    if (N >= nt) {
        int64_t ow0, ow1;
        cnet_valid_range(OW, SW, -PW, W - KW + 1, &ow0, &ow1);
        #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
        for (int64_t n = 0; n < N; n++) {
            REAL *xn = x + n * C * H * W;
            const REAL *coln = col + n * OH * OW * ckk;
            memset(xn, 0, (size_t)(C * H * W) * sizeof(REAL));
            for (int64_t oh = 0; oh < OH; oh++) {
                int64_t i0, i1;
                cnet_valid_range(KH, 1, oh * SH - PH, H, &i0, &i1);
                const int rows_inside = i0 == 0 && i1 == KH;
                for (int64_t ow = 0; ow < OW; ow++) {
                    const REAL *s = coln + (oh * OW + ow) * ckk;
                    REAL *d = xn + (oh * SH - PH) * W + ow * SW - PW;
                    if (rows_inside && ow >= ow0 && ow < ow1) {
                        switch (KW) {
                        case 1: SFX(add_window)(d, s, C, H, W, KH, 1); break;
                        case 2: SFX(add_window)(d, s, C, H, W, KH, 2); break;
                        case 3: SFX(add_window)(d, s, C, H, W, KH, 3); break;
                        case 5: SFX(add_window)(d, s, C, H, W, KH, 5); break;
                        default: SFX(add_window)(d, s, C, H, W, KH, KW); break;
                        }
                        continue;
                    }
                    int64_t j0, j1;
                    cnet_valid_range(KW, 1, ow * SW - PW, W, &j0, &j1);
                    for (int64_t c = 0; c < C; c++, s += kk, d += H * W)
                        for (int64_t i = i0; i < i1; i++)
                            for (int64_t j = j0; j < j1; j++) d[i * W + j] += s[i * KW + j];
                }
            }
        }
        return;
    }
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t p = 0; p < N * C; p++) {
        const int64_t n = p / C, c = p % C;
        REAL *xc = x + p * H * W;
        memset(xc, 0, (size_t)(H * W) * sizeof(REAL));
        SFX(col2im_plane)(xc, col + n * OH * OW * ckk + c * kk, H, W, KH, KW, SH, SW, PH, PW, OH, OW, ckk);
    }
}
