/* Template body of conv2d.c (REAL, SFX and GEMM defined by the includer). */

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

/* Caffe layout for image n: col (CKK, OHW) = im2col(x_n); y_n (K, OHW) = W (K, CKK) . col + b.
 * col is NULL for a 1x1 kernel with stride 1 and no padding: then col is x_n itself. */
static void SFX(forward_image)(REAL *yn, const REAL *xn, const REAL *w, const REAL *b, REAL *col,
                               const conv_geom *g, int nt) {
    const int64_t ckk = g->C * g->KH * g->KW, ohw = g->OH * g->OW;
    const REAL *B = xn;
    if (col) {
        SFX(cnet_im2col_image)(col, xn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW, nt);
        B = col;
    }
    if (b) /* the bias is per row (per filter): start C from it and accumulate (beta = 1) */
        for (int64_t k = 0; k < g->K; k++)
            for (int64_t p = 0; p < ohw; p++) yn[k * ohw + p] = b[k];
    GEMM(0, 0, g->K, ohw, ckk, (REAL)1, w, ckk, B, ohw, b ? (REAL)1 : (REAL)0, yn, ohw, NULL,
         CNET_EPI_NONE, nt);
}

/* x is (N, C, H, W), w is (K, C, KH, KW), b is (K,) or NULL; y is (N, K, OH, OW), overwritten.
 * Per image: im2col into a per-thread buffer, then one GEMM. Threads over images (a static share each,
 * and each thread allocates its own col buffer once); images left over after the last full round of
 * n_threads, and batches smaller than n_threads, give their threads to im2col and the GEMM instead. */
void SFX(cnet_conv2d_forward)(REAL *y, const REAL *x, const REAL *w, const REAL *b, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t SH,
                              int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const conv_geom g = make_geom(N, C, H, W, K, KH, KW, SH, SW, PH, PW);
    const int64_t xs = C * H * W, ys = K * g.OH * g.OW;
    const size_t col_bytes = g.direct ? 0 : (size_t)(C * KH * KW) * (size_t)(g.OH * g.OW) * sizeof(REAL);
    int nt = n_threads < 1 ? 1 : n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    /* Small images with many threads: one image per thread costs less than splitting each GEMM. */
    const int64_t n_outer = nt > 1 ? N / nt * nt : 0;
    if (n_outer > 0) {
        #pragma omp parallel num_threads(nt)
        {
            REAL *col = g.direct ? NULL : (REAL *)scratch_alloc(col_bytes);
            if (g.direct || col) {
                #pragma omp for schedule(static)
                for (int64_t n = 0; n < n_outer; n++)
                    SFX(forward_image)(y + n * ys, x + n * xs, w, b, col, &g, 1);
            }
            free(col);
        }
    }
    if (n_outer < N) {
        REAL *col = g.direct ? NULL : (REAL *)scratch_alloc(col_bytes);
        if (g.direct || col)
            for (int64_t n = n_outer; n < N; n++)
                SFX(forward_image)(y + n * ys, x + n * xs, w, b, col, &g, nt);
        free(col);
    }
}

/* The weight and bias gradients of chunk `ch` (images [ch*chunk, min(N, (ch+1)*chunk))) into dw_part
 * (K, CKK) and db_part (K,), overwritten; the data gradient of those images into dx (unless NULL).
 * col: a CKK x OHW buffer (NULL for a direct 1x1 convolution). */
static void SFX(backward_chunk)(REAL *dx, REAL *dw_part, REAL *db_part, const REAL *dy, const REAL *x,
                                const REAL *w, REAL *col, const conv_geom *g, int64_t chunk, int64_t ch,
                                int nt) {
    const int64_t ckk = g->C * g->KH * g->KW, ohw = g->OH * g->OW;
    const int64_t xs = g->C * g->H * g->W, ys = g->K * ohw;
    const int64_t n0 = ch * chunk, n1 = n0 + chunk < g->N ? n0 + chunk : g->N;
    for (int64_t n = n0; n < n1; n++) {
        const REAL *xn = x + n * xs, *dyn = dy + n * ys;
        const REAL *B = xn;
        if (col) {
            SFX(cnet_im2col_image)(col, xn, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH, g->PW,
                                   nt);
            B = col;
        }
        /* dw_part (K, CKK) (+)= dy_n (K, OHW) . col^T */
        GEMM(0, 1, g->K, ckk, ohw, (REAL)1, dyn, ohw, B, ohw, n == n0 ? (REAL)0 : (REAL)1, dw_part, ckk,
             NULL, CNET_EPI_NONE, nt);
        for (int64_t k = 0; k < g->K; k++) {
            const REAL s = SFX(row_sum)(dyn + k * ohw, ohw);
            db_part[k] = n == n0 ? s : db_part[k] + s;
        }
        if (dx) {
            /* dcol (CKK, OHW) = W^T . dy_n, then dx_n = col2im(dcol); a direct 1x1 writes dx_n itself */
            REAL *dxn = dx + n * xs;
            GEMM(1, 0, ckk, ohw, g->K, (REAL)1, w, ckk, dyn, ohw, (REAL)0, col ? col : dxn, ohw, NULL,
                 CNET_EPI_NONE, nt);
            if (col)
                SFX(cnet_col2im_image)(dxn, col, g->C, g->H, g->W, g->KH, g->KW, g->SH, g->SW, g->PH,
                                       g->PW, nt);
        }
    }
}

/* acc[e] = (first ? 0 + : acc[e] +) part[0][e] + part[1][e] + ... in order, for e in [e0, e1). */
static void SFX(add_parts)(REAL *acc, const REAL *part, int64_t n_parts, int64_t stride, int first,
                           int64_t e0, int64_t e1) {
    for (int64_t p = 0; p < n_parts; p++) {
        const REAL *src = part + p * stride;
        if (first && p == 0) memcpy(acc + e0, src + e0, (size_t)(e1 - e0) * sizeof(REAL));
        else for (int64_t e = e0; e < e1; e++) acc[e] += src[e];
    }
}

/* dy is (N, K, OH, OW), x (N, C, H, W), w (K, C, KH, KW). Overwrites dx (N, C, H, W) (skipped when
 * dx is NULL), dw (K, C, KH, KW) and db (K,).
 * dw and db are sums over the batch: the batch is cut into chunks of a size that depends on the shape
 * only; each chunk's gradient is computed on one thread into its own partial buffer and the partials are
 * added in chunk order, in rounds of n_threads chunks (so the scratch is n_threads partials, never the
 * batch). The result is the same for every n_threads. */
void SFX(cnet_conv2d_backward)(REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x, const REAL *w,
                               int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                               int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW, int n_threads) {
    const conv_geom g = make_geom(N, C, H, W, K, KH, KW, SH, SW, PH, PW);
    const int64_t ckk = C * KH * KW;
    const int64_t chunk = grad_chunk(&g), n_chunks = (N + chunk - 1) / chunk;
    const int64_t part_len = K * ckk + K; /* dw then db */
    const size_t col_bytes = g.direct ? 0 : (size_t)ckk * (size_t)(g.OH * g.OW) * sizeof(REAL);
    int nt = n_threads < 1 ? 1 : n_threads;
#ifndef _OPENMP
    nt = 1;
#endif
    if (nt > n_chunks) nt = (int)n_chunks;
    REAL *part = (REAL *)scratch_alloc((size_t)(nt > 1 ? nt : 1) * (size_t)part_len * sizeof(REAL));
    if (!part) return;
    if (nt <= 1) { /* chunk by chunk on the calling thread; im2col and the GEMMs get the threads */
        REAL *col = g.direct ? NULL : (REAL *)scratch_alloc(col_bytes);
        if (g.direct || col)
            for (int64_t ch = 0; ch < n_chunks; ch++) {
                SFX(backward_chunk)(dx, part, part + K * ckk, dy, x, w, col, &g, chunk, ch, n_threads);
                SFX(add_parts)(dw, part, 1, part_len, ch == 0, 0, K * ckk);
                SFX(add_parts)(db, part + K * ckk, 1, part_len, ch == 0, 0, K);
            }
        free(col);
        free(part);
        return;
    }
    #pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num(), nth = omp_get_num_threads();
#else
        const int t = 0, nth = 1;
#endif
        REAL *col = g.direct ? NULL : (REAL *)scratch_alloc(col_bytes); /* on failure: chunk skipped */
        for (int64_t r0 = 0; r0 < n_chunks; r0 += nth) {
            const int64_t ch = r0 + t, n_round = n_chunks - r0 < nth ? n_chunks - r0 : nth;
            if (ch < n_chunks && (g.direct || col))
                SFX(backward_chunk)(dx, part + t * part_len, part + t * part_len + K * ckk, dy, x, w, col,
                                    &g, chunk, ch, 1);
            #pragma omp barrier
            /* add this round's partials, in chunk order, element ranges split over the threads */
            const int64_t e0 = part_len * t / nth, e1 = part_len * (t + 1) / nth;
            const int64_t d0 = e0 < K * ckk ? e0 : K * ckk, d1 = e1 < K * ckk ? e1 : K * ckk;
            if (d1 > d0) SFX(add_parts)(dw, part, n_round, part_len, r0 == 0, d0, d1);
            const int64_t b0 = (e0 > K * ckk ? e0 : K * ckk) - K * ckk, b1 = (e1 > K * ckk ? e1 : K * ckk) - K * ckk;
            if (b1 > b0) SFX(add_parts)(db, part + K * ckk, n_round, part_len, r0 == 0, b0, b1);
            #pragma omp barrier
        }
        free(col);
    }
    free(part);
}
