/* conv_tmpl.h -- 2-D convolution (cross-correlation) forward and backward by im2col + GEMM.
 *
 * Caffe's layout per image: col_n (C*KH*KW, OH*OW) = im2col(x_n), so that y_n (K, OH*OW) = W . col_n
 * is already the image's NCHW output. One image at a time per thread keeps the scratch at
 * n_threads * C*KH*KW*OH*OW elements whatever the batch (the book's whole-batch im2col is N times that).
 * A 1x1 kernel with stride 1 and no padding needs no im2col: col_n is x_n. An input of at most PX_MAX_C
 * channels at stride 1 (a first layer) needs neither for its forward pass and weight gradient: they run
 * along rows of output pixels (conv_px_tmpl.h) where a row holds a vector of the SIMD path (on one
 * thread per image or chunk: a batch of one runs them on one thread); its input gradient stays
 * GEMM + col2im.
 * Out of memory (a col buffer, the partials, or a GEMM's scratch): every thread allocates before any
 * computes, a failure is raised in a shared flag, no thread then starts another image or chunk, and the
 * kernel returns CNET_ERR_NOMEM.
 * The template (instantiate.h) of conv.c. */
#ifndef CNET_CONV_SHARED
#define CNET_CONV_SHARED

#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"
#include "conv_direct_internal.h"

typedef struct {
    int64_t N, C, H, W, K, KH, KW, SH, SW, PH, PW, OH, OW;
    int direct; /* 1x1, stride 1, no padding: col_n is x_n */
} conv_geom;

static conv_geom make_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                           int64_t SH, int64_t SW, int64_t PH, int64_t PW) {
    conv_geom g = {N, C, H, W, K, KH, KW, SH, SW, PH, PW, (H + 2 * PH - KH) / SH + 1,
                   (W + 2 * PW - KW) / SW + 1, 0};
    g.direct = KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0;
    return g;
}

/* Images per chunk of the weight-gradient sum, and the number of chunks. Both depend on the shape only
 * (never on n_threads), so the order of the sum is fixed. A chunk costs one extra pass over a (K, CKK)
 * partial: chunks of at least ~256 output pixels keep that pass small beside the chunk's GEMMs, and the
 * partials of all chunks together stay within PART_BUDGET elements (a layer whose weights alone exceed
 * it runs as one chunk, the threads going to the GEMMs). */
#define PART_BUDGET ((int64_t)1 << 21)
static void grad_chunks(const conv_geom *g, int64_t *chunk, int64_t *n_chunks) {
    const int64_t ohw = g->OH * g->OW, plen = (g->C * g->KH * g->KW + 1) * g->K;
    int64_t c = (256 + ohw - 1) / ohw;
    if (c < 2) c = 2;
    int64_t max_chunks = PART_BUDGET / plen;
    if (max_chunks < 1) max_chunks = 1;
    if (max_chunks > 64) max_chunks = 64;
    const int64_t c_budget = (g->N + max_chunks - 1) / max_chunks;
    if (c < c_budget) c = c_budget;
    *chunk = c;
    *n_chunks = (g->N + c - 1) / c;
}

/* Inputs of at most this many channels convolve by rows of output pixels (conv_px_tmpl.h) when the
 * stride is 1 and a row holds a vector: their im2col's reduction (C*KH*KW) is too short for the GEMM. */
#define PX_MAX_C 4
#endif /* CNET_CONV_SHARED */

/* v[0] + ... + v[n-1] in eight interleaved partial sums (vectorizable, and more accurate than one). */
static REAL SFX(row_sum)(const REAL *v, int64_t n) {
    REAL s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) s[l] += v[i + l];
    REAL t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; i++) t += v[i];
    return t;
}

/* n zeroed elements of scratch (NULL when out of memory). */
static REAL *SFX(zeroed)(size_t n) {
    REAL *p = (REAL *)cnet_scratch_alloc(n * sizeof(REAL));
    if (p) memset(p, 0, n * sizeof(REAL));
    return p;
}

/* Caffe layout for image n: col (CKK, OHW) = im2col(x_n); y_n (K, OHW) = W (K, CKK) . col + b.
 * col is NULL for a 1x1 kernel with stride 1 and no padding: then col is x_n itself. Returns the GEMM's
 * status. */
static int SFX(forward_image)(REAL *yn, const REAL *xn, const REAL *w, const REAL *b, REAL *col,
                               const conv_geom *g, int epilogue, int nt) {
    const int64_t ckk = g->C * g->KH * g->KW, ohw = g->OH * g->OW;
    const REAL *B = xn;
    if (col) {
        SFX(cnet_im2col_image)(col, xn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, nt);
        B = col;
    }
    if (b) /* the bias is per row (per filter): start C from it and accumulate (beta = 1) */
        for (int64_t k = 0; k < g->K; k++)
            for (int64_t p = 0; p < ohw; p++) yn[k * ohw + p] = b[k];
    return SFX(cnet_gemm)(0, 0, g->K, ohw, ckk, (REAL)1, w, ckk, B, ohw, b ? (REAL)1 : (REAL)0, yn, ohw, NULL,
                epilogue, nt);
}

/* The pixel-row kernels (conv_px_tmpl.h) of the SIMD path running. */
typedef struct {
    int (*forward)(REAL *, const REAL *, const REAL *, const REAL *, const px_geom *, int, int);
    void (*wgrad)(REAL *, const REAL *, const REAL *, REAL *, const px_geom *, int);
    int vl;
} SFX(px_path);

/* Whether the pixel-row kernels take the shape (a few input channels, stride 1, a row holding a vector
 * of the path, not the 1x1 kernel that needs no im2col): then *k is the path and *pg the geometry. */
static int SFX(px_takes)(const conv_geom *g, SFX(px_path) *k, px_geom *pg) {
    if (g->SH != 1 || g->SW != 1 || g->C > PX_MAX_C || g->direct) return 0;
    switch (cnet_simd_level()) {
#if defined(__x86_64__)
    case CNET_SIMD_AVX512:
        *k = (SFX(px_path)){SFX(cnet_conv_px_forward_avx512), SFX(cnet_conv_px_wgrad_image_avx512),
                            SFX(cnet_conv_px_vl_avx512)()};
        break;
    case CNET_SIMD_AVX2:
        *k = (SFX(px_path)){SFX(cnet_conv_px_forward_avx2), SFX(cnet_conv_px_wgrad_image_avx2),
                            SFX(cnet_conv_px_vl_avx2)()};
        break;
#endif
    default:
        *k = (SFX(px_path)){SFX(cnet_conv_px_forward_portable), SFX(cnet_conv_px_wgrad_image_portable),
                            SFX(cnet_conv_px_vl_portable)()};
        break;
    }
    *pg = (px_geom){g->N, g->C, g->H, g->W, g->K, g->KH, g->KW, g->PH, g->PW, g->OH, g->OW,
                    g->H + 2 * g->PH, g->W + 2 * g->PW, (g->K + 23) / 24 * 24};
    return g->OW >= k->vl;
}

/* y = conv(x, w) + b (relu) by the pixel-row kernels when they take the shape (px_takes). Returns
 * CNET_OK, CNET_ERR_NOMEM, or 1 when they do not. */
static int SFX(px_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, const conv_geom *g,
                           int relu, int nt) {
    SFX(px_path) k;
    px_geom pg;
    if (!SFX(px_takes)(g, &k, &pg)) return 1;
    const int64_t taps = g->C * g->KH * g->KW, KP = pg.KP;
    REAL *wt = (REAL *)cnet_scratch_alloc((size_t)((taps + 1) * KP) * sizeof(REAL));
    if (!wt) return CNET_ERR_NOMEM;
    REAL *bp = wt + taps * KP;
    for (int64_t t = 0; t < taps; t++)
        for (int64_t c = 0; c < KP; c++) wt[t * KP + c] = c < g->K ? w[c * taps + t] : (REAL)0;
    for (int64_t c = 0; c < KP; c++) bp[c] = b && c < g->K ? b[c] : (REAL)0;
    const int status = k.forward(y, x, wt, bp, &pg, relu, nt);
    cnet_scratch_free(wt);
    return status;
}

/* x is (N, C, H, W), w is (K, C, KH, KW), b is (K,) or NULL; y is (N, K, OH, OW), overwritten.
 * Per image: im2col into a per-thread buffer, then one GEMM. Threads over images, each thread allocating
 * its col buffer once; the schedule is dynamic (an image's result does not depend on the thread that
 * computes it, and a core busy with another process then does not hold the others up). Images left
 * over after the last full round of n_threads, and batches smaller than n_threads, give their threads
 * to im2col and the GEMM instead. Returns CNET_OK or CNET_ERR_NOMEM (y then unspecified). */
int SFX(cnet_conv2d_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, int64_t N, int64_t C,
                             int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t SH,
                             int64_t SW, int64_t PH, int64_t PW, int relu, int n_threads) {
    const conv_geom g = make_geom(N, C, H, W, K, KH, KW, SH, SW, PH, PW);
    const int64_t xs = C * H * W, ys = K * g.OH * g.OW;
    const int epi = relu ? CNET_EPI_RELU : CNET_EPI_NONE;
    const int px = SFX(px_forward)(y, x, w, b, &g, relu, n_threads);
    if (px != 1) return px;
    const size_t col_bytes = g.direct ? 0 : (size_t)(C * KH * KW) * (size_t)(g.OH * g.OW) * sizeof(REAL);
    int nt = n_threads < 1 ? 1 : n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    /* Small images with many threads: one image per thread costs less than splitting each GEMM. */
    const int64_t n_outer = nt > 1 ? N / nt * nt : 0;
    if (n_outer > 0) {
        int failed = 0;
        #pragma omp parallel num_threads(nt)
        {
            REAL *col = g.direct ? NULL : (REAL *)cnet_scratch_alloc(col_bytes);
            if (!g.direct && !col) cnet_flag_raise(&failed);
            #pragma omp barrier
            /* a GEMM that fails raises the flag too: no thread starts another image after that */
            #pragma omp for schedule(dynamic, 1)
            for (int64_t n = 0; n < n_outer; n++)
                if (!cnet_flag_read(&failed) &&
                    SFX(forward_image)(y + n * ys, x + n * xs, w, b, col, &g, epi, 1) != CNET_OK)
                    cnet_flag_raise(&failed);
            cnet_scratch_free(col);
        }
        if (failed) return CNET_ERR_NOMEM;
    }
    int status = CNET_OK;
    if (n_outer < N) {
        REAL *col = g.direct ? NULL : (REAL *)cnet_scratch_alloc(col_bytes);
        if (!g.direct && !col) return CNET_ERR_NOMEM;
        for (int64_t n = n_outer; n < N && status == CNET_OK; n++)
            status = SFX(forward_image)(y + n * ys, x + n * xs, w, b, col, &g, epi, nt);
        cnet_scratch_free(col);
    }
    return status;
}

/* The weight and bias gradients of image n into part (added, or overwritten when first): part is
 * (CKK + 1, K), rows 0..CKK-1 the transposed weight gradient dw^T, row CKK the bias gradient. By the
 * pixel-row kernel when px (pad: its zeroed image buffer), else im2col into col (NULL for a direct 1x1
 * convolution) and a GEMM. Returns CNET_OK, or CNET_ERR_NOMEM from the GEMM. */
static int SFX(wgrad_image)(REAL *part, const REAL *dyn, const REAL *xn, REAL *col, const conv_geom *g,
                            int first, int nt, const SFX(px_path) *px, const px_geom *pg, REAL *pad) {
    const int64_t K = g->K, ckk = g->C * g->KH * g->KW, ohw = g->OH * g->OW;
    if (px) {
        px->wgrad(part, dyn, xn, pad, pg, first);
        return CNET_OK;
    }
    const REAL *B = xn;
    if (col) {
        SFX(cnet_im2col_image)(col, xn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, nt);
        B = col;
    }
    /* dw^T (CKK, K) (+)= col (CKK, OHW) . dy_n^T: cheaper to pack than dy_n . col^T (the small dy_n is
     * the transposed operand) */
    if (SFX(cnet_gemm)(0, 1, ckk, K, ohw, (REAL)1, B, ohw, dyn, ohw, first ? (REAL)0 : (REAL)1, part, K, NULL,
                       CNET_EPI_NONE, nt) != CNET_OK)
        return CNET_ERR_NOMEM;
    REAL *db_part = part + ckk * K;
    for (int64_t k = 0; k < K; k++) {
        const REAL s = SFX(row_sum)(dyn + k * ohw, ohw);
        db_part[k] = first ? s : db_part[k] + s;
    }
    return CNET_OK;
}

/* The weight and bias gradients of chunk `ch` (images [ch*chunk, min(N, (ch+1)*chunk))) into part,
 * overwritten (wgrad_image, in image order). The data gradient of those images goes to dx (unless
 * NULL). col: a CKK x OHW buffer (NULL for a direct 1x1 convolution, or for the pixel-row kernel px when
 * there is no dx). Returns CNET_OK, or CNET_ERR_NOMEM from a GEMM (it then stops). */
static int SFX(backward_chunk)(REAL *dx, REAL *part, const REAL *dy, const REAL *x, const REAL *w,
                                REAL *col, const conv_geom *g, int64_t chunk, int64_t ch, int nt,
                                const SFX(px_path) *px, const px_geom *pg, REAL *pad) {
    const int64_t K = g->K, ckk = g->C * g->KH * g->KW, ohw = g->OH * g->OW;
    const int64_t xs = g->C * g->H * g->W, ys = K * ohw;
    const int64_t n0 = ch * chunk, n1 = n0 + chunk < g->N ? n0 + chunk : g->N;
    for (int64_t n = n0; n < n1; n++) {
        const REAL *xn = x + n * xs, *dyn = dy + n * ys;
        if (SFX(wgrad_image)(part, dyn, xn, col, g, n == n0, nt, px, pg, pad) != CNET_OK)
            return CNET_ERR_NOMEM;
        if (dx) {
            /* dcol (CKK, OHW) = W^T . dy_n, then dx_n = col2im(dcol); a direct 1x1 writes dx_n itself */
            REAL *dxn = dx + n * xs;
            if (SFX(cnet_gemm)(1, 0, ckk, ohw, K, (REAL)1, w, ckk, dyn, ohw, (REAL)0, col ? col : dxn, ohw,
                               NULL, CNET_EPI_NONE, nt) != CNET_OK)
                return CNET_ERR_NOMEM;
            if (col)
                SFX(cnet_col2im_image)(dxn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH,
                                       g->PW, nt);
        }
    }
    return CNET_OK;
}

/* Rows [r0, r1) of the (CKK + 1, K) chunk partials summed in chunk order (s = p0; s += p1; ...), written
 * transposed to dw (K, CKK) (rows < CKK) and to db (row CKK). */
static void SFX(sum_parts)(REAL *dw, REAL *db, const REAL *part, int64_t n_parts, int64_t ckk, int64_t K,
                           int64_t r0, int64_t r1) {
    const int64_t plen = (ckk + 1) * K;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t k = 0; k < K; k++) {
            REAL s = part[r * K + k];
            for (int64_t c = 1; c < n_parts; c++) s += part[c * plen + r * K + k];
            if (r < ckk) dw[k * ckk + r] = s;
            else db[k] = s;
        }
}

/* dy is (N, K, OH, OW), x (N, C, H, W), w (K, C, KH, KW). Overwrites dx (N, C, H, W) (skipped when
 * dx is NULL), dw (K, C, KH, KW) and db (K,).
 * dw and db are sums over the batch. The batch is cut into chunks whose size depends on the shape only;
 * each chunk's gradient is computed by one thread (any thread: a dynamic schedule keeps busy cores from
 * stalling the others) into its own partial, then the partials are added in chunk order. The result is
 * the same for every n_threads. Scratch: the partials (bounded by grad_chunks) and one col per thread.
 * A batch of one chunk (or one thread) runs chunk by chunk and gives the threads to im2col and GEMM.
 * Returns CNET_OK or CNET_ERR_NOMEM (dx, dw, db then unspecified). */
int SFX(cnet_conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,
                              int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                              int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const conv_geom g = make_geom(N, C, H, W, K, KH, KW, SH, SW, PH, PW);
    const int64_t ckk = C * KH * KW, plen = (ckk + 1) * K;
    int64_t chunk, n_chunks;
    grad_chunks(&g, &chunk, &n_chunks);
    SFX(px_path) pxk;
    px_geom pg;
    const SFX(px_path) *px = SFX(px_takes)(&g, &pxk, &pg) ? &pxk : NULL;
    /* per thread: the col (none for a direct 1x1, nor for the pixel-row kernel without dx), and the
     * pixel-row kernel's zero-padded image */
    const size_t col_bytes = g.direct || (px && !dx) ? 0 : (size_t)ckk * (size_t)(g.OH * g.OW) * sizeof(REAL);
    const size_t pad_n = px && (PH > 0 || PW > 0) ? (size_t)(C * pg.HP * pg.WP) : 0;
    int nt = n_threads < 1 ? 1 : n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt > n_chunks) nt = (int)n_chunks;
    if (nt <= 1) { /* chunk by chunk on the calling thread: part[0] the running sum, part[1] the chunk */
        REAL *part = (REAL *)cnet_scratch_alloc(2 * (size_t)plen * sizeof(REAL));
        REAL *col = col_bytes ? (REAL *)cnet_scratch_alloc(col_bytes) : NULL;
        REAL *pad = pad_n ? SFX(zeroed)(pad_n) : NULL;
        int status = part && (!col_bytes || col) && (!pad_n || pad) ? CNET_OK : CNET_ERR_NOMEM;
        for (int64_t ch = 0; ch < n_chunks && status == CNET_OK; ch++) {
            status = SFX(backward_chunk)(dx, ch == 0 ? part : part + plen, dy, x, w, col, &g, chunk, ch,
                                         n_threads, px, &pg, pad);
            if (ch > 0 && status == CNET_OK)
                for (int64_t e = 0; e < plen; e++) part[e] += part[plen + e];
        }
        if (status == CNET_OK) SFX(sum_parts)(dw, db, part, 1, ckk, K, 0, ckk + 1);
        cnet_scratch_free(pad);
        cnet_scratch_free(col);
        cnet_scratch_free(part);
        return status;
    }
    REAL *part = (REAL *)cnet_scratch_alloc((size_t)n_chunks * (size_t)plen * sizeof(REAL));
    if (!part) return CNET_ERR_NOMEM;
    int failed = 0;
    #pragma omp parallel num_threads(nt)
    {
        REAL *col = col_bytes ? (REAL *)cnet_scratch_alloc(col_bytes) : NULL;
        REAL *pad = pad_n ? SFX(zeroed)(pad_n) : NULL;
        if ((col_bytes && !col) || (pad_n && !pad)) cnet_flag_raise(&failed);
        #pragma omp barrier
        /* a GEMM that fails raises the flag too: no thread starts another chunk after that */
        #pragma omp for schedule(dynamic, 1)
        for (int64_t ch = 0; ch < n_chunks; ch++)
            if (!cnet_flag_read(&failed) &&
                SFX(backward_chunk)(dx, part + ch * plen, dy, x, w, col, &g, chunk, ch, 1, px, &pg, pad) !=
                    CNET_OK)
                cnet_flag_raise(&failed);
        cnet_scratch_free(pad);
        cnet_scratch_free(col);
        /* after the loop's barrier the flag is final: every thread reads the same value */
        const int ok = !cnet_flag_read(&failed);
        #pragma omp for schedule(static)
        for (int64_t r = 0; r <= ckk; r++)
            if (ok) SFX(sum_parts)(dw, db, part, n_chunks, ckk, K, r, r + 1);
    }
    cnet_scratch_free(part);
    return failed ? CNET_ERR_NOMEM : CNET_OK;
}
