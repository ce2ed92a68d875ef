/* Template body of im2col.c (REAL and SFX defined by the includer; range helpers above the include).
 * Geometry everywhere: x is (N, C, H, W); windows KH x KW; stride (SH, SW); zero padding (PH, PW);
 * OH = (H + 2*PH - KH)/SH + 1, OW = (W + 2*PW - KW)/SW + 1. */

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
        valid_range(OW, SW, j - PW, W, &lo, &hi);
        for (int64_t oh = 0; oh < OH; oh++, dst += OW) {
            const int64_t h = oh * SH + i - PH;
            if (h < 0 || h >= H) {
                memset(dst, 0, (size_t)OW * sizeof(REAL));
                continue;
            }
            const REAL *src = xc + h * W + j - PW; /* src[ow*SW] is x[c, h, ow*SW + j - PW] */
            for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0;
            if (SW == 1) memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(REAL));
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
                valid_range(OW, SW, j - PW, W, &lo, &hi);
                valid_range(OH, SH, i - PH, H, &oh0, &oh1);
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

/* x is (N, C, H, W). Overwrites col. Threads over (n, oh) row blocks. */
void SFX(cnet_im2col)(REAL *col, const REAL *x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t ckk = C * KH * KW;
    const int nt = cnet_threads_for(N * OH * OW * ckk, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t r = 0; r < N * OH; r++) {
        const int64_t n = r / OH, oh = r % OH;
        const REAL *xn = x + n * C * H * W;
        REAL *dst = col + r * OW * ckk;
        int64_t i0, i1; /* kernel rows i that land inside the image */
        valid_range(KH, 1, oh * SH - PH, H, &i0, &i1);
        for (int64_t ow = 0; ow < OW; ow++, dst += ckk) {
            const int64_t w0 = ow * SW - PW;
            int64_t j0, j1;
            valid_range(KW, 1, w0, W, &j0, &j1);
            for (int64_t c = 0; c < C; c++) {
                REAL *d = dst + c * KH * KW;
                const REAL *s = xn + (c * H + oh * SH - PH) * W + w0; /* s[i*W + j] is x[n, c, h, w] */
                if (i0 == 0 && i1 == KH && j0 == 0 && j1 == KW) { /* the window is inside the image */
                    for (int64_t i = 0; i < KH; i++, d += KW)
                        for (int64_t j = 0; j < KW; j++) d[j] = s[i * W + j];
                    continue;
                }
                for (int64_t i = 0; i < KH; i++, d += KW) {
                    if (i < i0 || i >= i1) {
                        for (int64_t j = 0; j < KW; j++) d[j] = 0;
                        continue;
                    }
                    for (int64_t j = 0; j < KW; j++) d[j] = (j >= j0 && j < j1) ? s[i * W + j] : (REAL)0;
                }
            }
        }
    }
}

/* The adjoint of cnet_im2col: x (N, C, H, W) = sum of the col entries that land on each element
 * (padding dropped), added in (i, j) order like the reference. Overwrites x. Threads over (n, c). */
void SFX(cnet_col2im)(REAL *x, const REAL *col, int64_t N, int64_t C, int64_t H, int64_t W, int64_t KH,
                      int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    const int64_t ckk = C * KH * KW;
    const int nt = cnet_threads_for(N * OH * OW * ckk, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if(nt > 1)
    for (int64_t p = 0; p < N * C; p++) {
        const int64_t n = p / C, c = p % C;
        REAL *xc = x + p * H * W;
        memset(xc, 0, (size_t)(H * W) * sizeof(REAL));
        const REAL *colc = col + n * OH * OW * ckk + c * KH * KW;
        for (int64_t i = 0; i < KH; i++)
            for (int64_t j = 0; j < KW; j++) {
                int64_t lo, hi, oh0, oh1;
                valid_range(OW, SW, j - PW, W, &lo, &hi);
                valid_range(OH, SH, i - PH, H, &oh0, &oh1);
                for (int64_t oh = oh0; oh < oh1; oh++) {
                    REAL *d = xc + (oh * SH + i - PH) * W + j - PW;
                    const REAL *s = colc + oh * OW * ckk + i * KW + j;
                    for (int64_t ow = lo; ow < hi; ow++) d[ow * SW] += s[ow * ckk];
                }
            }
    }
}
