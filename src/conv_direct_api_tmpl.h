/* conv_direct_api_tmpl.h -- the public functions of cnet.h, the template (instantiate.h) of
 * conv_direct.c: layout conversions, and the passes, which plan their tiles and call the path whose block
 * is cb. */

typedef struct {
    dc_has_fn has;
    /* the layout conversions in registers (NULL: the portable loops below) */
    void (*to_blk)(REAL *, const REAL *, int64_t, int64_t, int64_t, int);
    void (*from_blk)(REAL *, const REAL *, int64_t, int64_t, int64_t, int);
    int (*conv)(REAL *, const REAL *, const REAL *, const REAL *, const dc_problem *, const dc_tile *,
                int, int);
    int (*wgrad)(REAL *, REAL *, const REAL *, const REAL *, const dc_problem *, const dc_tile *,
                 int64_t, int64_t, int);
    int fpc; /* FMAs a cycle of the path's vector on Zen 4: 1 zmm, 2 ymm */
} SFX(dc_isa);

/* The kernels whose block is cb: AVX-512 for a 64-byte block, AVX2 (or portable, below AVX2) for a
 * 32-byte one. 0 when the CPU (or CNET_SIMD) has no such path. */
static int SFX(pick)(int64_t cb, SFX(dc_isa) *o) {
    const int lvl = cnet_simd_level();
#if defined(__x86_64__)
    if (cb == (int64_t)(64 / sizeof(REAL)) && lvl >= CNET_SIMD_AVX512) {
        o->has = SFX(cnet_dconv_has_avx512), o->conv = SFX(cnet_dconv_conv_avx512);
        o->wgrad = SFX(cnet_dconv_wgrad_avx512), o->fpc = 1;
        o->to_blk = SFX(cnet_dconv_to_blk_avx512), o->from_blk = SFX(cnet_dconv_from_blk_avx512);
        return 1;
    }
    if (cb == (int64_t)(32 / sizeof(REAL)) && lvl >= CNET_SIMD_AVX2) {
        o->has = SFX(cnet_dconv_has_avx2), o->conv = SFX(cnet_dconv_conv_avx2);
        o->wgrad = SFX(cnet_dconv_wgrad_avx2), o->fpc = 2;
        o->to_blk = SFX(cnet_dconv_to_blk_avx2), o->from_blk = SFX(cnet_dconv_from_blk_avx2);
        return 1;
    }
#endif
    if (cb == (int64_t)(32 / sizeof(REAL))) {
        o->has = SFX(cnet_dconv_has_portable), o->conv = SFX(cnet_dconv_conv_portable);
        o->wgrad = SFX(cnet_dconv_wgrad_portable), o->fpc = 2;
        o->to_blk = NULL, o->from_blk = NULL;
        return 1;
    }
    return 0;
}

int64_t SFX(cnet_blk_width)(void) {
    return cnet_simd_level() >= CNET_SIMD_AVX512 ? (int64_t)(64 / sizeof(REAL))
                                                 : (int64_t)(32 / sizeof(REAL));
}

/* The layout conversions run over tiles of CONV_TILE pixels: a tile's cb lanes (CONV_TILE * cb elements)
 * stay in L1 while cb planes are read or written, where a whole block (H*W*cb) fell out of L1 between two
 * lanes (4-6x slower than a copy). */
#define CONV_TILE 64

void SFX(cnet_blk_from_nchw)(REAL *xb, const REAL *x, int64_t N, int64_t C, int64_t H, int64_t W,
                             int64_t cb, int n_threads) {
    SFX(dc_isa) isa;
    if (SFX(pick)(cb, &isa) && isa.to_blk) {
        isa.to_blk(xb, x, N, C, H * W, n_threads);
        return;
    }
    const int64_t Cb = (C + cb - 1) / cb, hw = H * W;
    const int nt = cnet_threads_for(N * Cb * hw * cb, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        const int64_t n = q / Cb, b = q % Cb;
        REAL *d = xb + q * hw * cb;
        for (int64_t i0 = 0; i0 < hw; i0 += CONV_TILE) {
            const int64_t i1 = i0 + CONV_TILE < hw ? i0 + CONV_TILE : hw;
            for (int64_t l = 0; l < cb; l++) {
                const int64_t c = b * cb + l;
                if (c < C) {
                    const REAL *s = x + (n * C + c) * hw;
                    for (int64_t i = i0; i < i1; i++) d[i * cb + l] = s[i];
                } else {
                    for (int64_t i = i0; i < i1; i++) d[i * cb + l] = 0;
                }
            }
        }
    }
}

void SFX(cnet_blk_to_nchw)(REAL *x, const REAL *xb, int64_t N, int64_t C, int64_t H, int64_t W,
                           int64_t cb, int n_threads) {
    SFX(dc_isa) isa;
    if (SFX(pick)(cb, &isa) && isa.from_blk) {
        isa.from_blk(x, xb, N, C, H * W, n_threads);
        return;
    }
    const int64_t Cb = (C + cb - 1) / cb, hw = H * W;
    const int nt = cnet_threads_for(N * C * hw, n_threads);
    #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t q = 0; q < N * Cb; q++) {
        const int64_t n = q / Cb, b = q % Cb, lanes = C - b * cb < cb ? C - b * cb : cb;
        const REAL *s = xb + q * hw * cb;
        for (int64_t i0 = 0; i0 < hw; i0 += CONV_TILE) {
            const int64_t i1 = i0 + CONV_TILE < hw ? i0 + CONV_TILE : hw;
            for (int64_t l = 0; l < lanes; l++) {
                REAL *d = x + (n * C + b * cb + l) * hw;
                for (int64_t i = i0; i < i1; i++) d[i] = s[i * cb + l];
            }
        }
    }
}

void SFX(cnet_conv2d_blk_weights)(REAL *wb, const REAL *w, int64_t K, int64_t C, int64_t KH,
                                  int64_t KW, int64_t cb, int plain) {
    const int64_t Kb = (K + cb - 1) / cb, ci = plain ? C : cb, CI = plain ? 1 : (C + cb - 1) / cb;
    for (int64_t kb = 0; kb < Kb; kb++)
        for (int64_t b = 0; b < CI; b++)
            for (int64_t i = 0; i < KH; i++)
                for (int64_t j = 0; j < KW; j++)
                    for (int64_t l = 0; l < ci; l++) {
                        REAL *d = wb + ((((kb * CI + b) * KH + i) * KW + j) * ci + l) * cb;
                        const int64_t c = b * ci + l;
                        for (int64_t m = 0; m < cb; m++) {
                            const int64_t k = kb * cb + m;
                            d[m] = k < K && c < C ? w[((k * C + c) * KH + i) * KW + j] : 0;
                        }
                    }
}

void SFX(cnet_conv2d_blk_weights_bwd)(REAL *wt, const REAL *w, int64_t K, int64_t C, int64_t KH,
                                      int64_t KW, int64_t cb) {
    const int64_t Kb = (K + cb - 1) / cb, Cb = (C + cb - 1) / cb;
    for (int64_t b = 0; b < Cb; b++)
        for (int64_t kb = 0; kb < Kb; kb++)
            for (int64_t i = 0; i < KH; i++)
                for (int64_t j = 0; j < KW; j++)
                    for (int64_t m = 0; m < cb; m++) {
                        REAL *d = wt + ((((b * Kb + kb) * KH + i) * KW + j) * cb + m) * cb;
                        const int64_t k = kb * cb + m;
                        for (int64_t l = 0; l < cb; l++) {
                            const int64_t c = b * cb + l;
                            d[l] = k < K && c < C
                                       ? w[((k * C + c) * KH + KH - 1 - i) * KW + KW - 1 - j]
                                       : 0;
                        }
                    }
}

static dc_problem SFX(forward_problem)(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                       int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                       int64_t PW, int64_t cb, int plain) {
    dc_problem p;
    p.N = N, p.ib = plain ? C : (C + cb - 1) / cb, p.ih = H, p.iw = W;
    p.ob = (K + cb - 1) / cb, p.oh = (H + 2 * PH - KH) / SH + 1, p.ow = (W + 2 * PW - KW) / SW + 1;
    p.KH = KH, p.KW = KW, p.SH = SH, p.SW = SW;
    p.top = PH, p.left = PW, p.dh = 1, p.dw = 1;
    /* blocked: read in place, the padding skipped; plain (a reduction of C*KH*KW, a few steps): a
     * padded copy, so that every tile is a full interior tile */
    p.hp = plain && (PH || PW) ? H + 2 * PH : 0, p.wp = plain && (PH || PW) ? W + 2 * PW : 0;
    p.plain = plain;
    return p;
}

int SFX(cnet_conv2d_blk_forward)(REAL *yb, const REAL *x, const REAL *wb, const REAL *b, int64_t N,
                                 int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
                                 int64_t SH, int64_t SW, int64_t PH, int64_t PW, int64_t cb, int plain,
                                 int relu, int n_threads) {
    SFX(dc_isa) isa;
    if (!SFX(pick)(cb, &isa)) return CNET_ERR_LAYOUT;
    const dc_problem p = SFX(forward_problem)(N, C, H, W, K, KH, KW, SH, SW, PH, PW, cb, plain);
    dc_tile t;
    plan_conv(&t, isa.has, SW == 1 ? (plain ? 1 : 0) : 2, p.ob,
              p.hp ? p.ow : interior_cols(p.ow, SW, PW, KW, W), isa.fpc);
    t.cpc = plan_cpc(t.kb, KH, KW, plain ? C : cb, cb, sizeof(REAL));
    last_fkb = t.kb, last_frw = t.rw;
    REAL *bp = NULL;
    if (b) { /* the bias padded to whole blocks */
        if (!(bp = (REAL *)cnet_scratch_alloc((size_t)(p.ob * cb) * sizeof(REAL)))) return CNET_ERR_NOMEM;
        for (int64_t k = 0; k < p.ob * cb; k++) bp[k] = k < K ? b[k] : 0;
    }
    const int rc = isa.conv(yb, x, wb, bp, &p, &t, relu, n_threads);
    cnet_scratch_free(bp);
    return rc;
}

/* Stride 1: the forward convolution of dy, padded by KH-1-PH (KW-1-PW), with the flipped, transposed
 * weights; dy is read in place and the taps over the padding skipped.
 * Stride S > 1: dx splits into S x S phases (rows ih = rh + S*i, columns iw = rw + S*j); phase (rh, rw)
 * receives only the kernel rows kh = khr + S*t (khr = (rh + PH) mod S) and columns alike, so it is a
 * stride-1 convolution of dy with a ceil(KH/S) x ceil(KW/S) sub-kernel, computed into a compact
 * buffer and scattered into dx. No multiply by an inserted zero; the phases of an element never mix,
 * so the result does not depend on the threads. */
static dc_problem SFX(bwd_problem)(int64_t N, int64_t Kb, int64_t OH, int64_t OW, int64_t Cb,
                                   int64_t oh, int64_t ow, int64_t KH, int64_t KW, int64_t top,
                                   int64_t left) {
    dc_problem p;
    p.N = N, p.ib = Kb, p.ih = OH, p.iw = OW, p.ob = Cb, p.oh = oh, p.ow = ow;
    p.KH = KH, p.KW = KW, p.SH = 1, p.SW = 1, p.top = top, p.left = left, p.dh = 1, p.dw = 1;
    p.hp = 0, p.wp = 0, p.plain = 0;
    return p;
}

int SFX(cnet_conv2d_blk_backward_data)(REAL *dxb, const REAL *dyb, const REAL *wt, int64_t N,
                                       int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH,
                                       int64_t KW, int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                                       int64_t cb, int n_threads) {
    SFX(dc_isa) isa;
    if (!SFX(pick)(cb, &isa)) return CNET_ERR_LAYOUT;
    const int64_t Kb = (K + cb - 1) / cb, Cb = (C + cb - 1) / cb;
    const int64_t OH = (H + 2 * PH - KH) / SH + 1, OW = (W + 2 * PW - KW) / SW + 1;
    dc_tile t;
    if (SH == 1 && SW == 1) {
        const dc_problem p = SFX(bwd_problem)(N, Kb, OH, OW, Cb, H, W, KH, KW, KH - 1 - PH, KW - 1 - PW);
        plan_conv(&t, isa.has, 0, p.ob, interior_cols(p.ow, 1, p.left, KW, p.iw), isa.fpc);
        t.cpc = plan_cpc(t.kb, KH, KW, cb, cb, sizeof(REAL));
        last_bkb = t.kb, last_brw = t.rw;
        return isa.conv(dxb, dyb, wt, NULL, &p, &t, 0, n_threads);
    }
    const int64_t Hf = (H + SH - 1) / SH, Wf = (W + SW - 1) / SW;
    const int64_t Th_max = (KH + SH - 1) / SH, Tw_max = (KW + SW - 1) / SW;
    REAL *buf = (REAL *)cnet_scratch_alloc((size_t)(N * Cb * Hf * Wf * cb) * sizeof(REAL));
    REAL *wph = (REAL *)cnet_scratch_alloc((size_t)(Cb * Kb * Th_max * Tw_max * cb * cb) * sizeof(REAL));
    int rc = buf && wph ? CNET_OK : CNET_ERR_NOMEM;
    for (int64_t rh = 0; rh < SH && rh < H && rc == CNET_OK; rh++)
        for (int64_t rw = 0; rw < SW && rw < W && rc == CNET_OK; rw++) {
            const int64_t hf = (H - rh + SH - 1) / SH, wf = (W - rw + SW - 1) / SW;
            const int64_t khr = (rh + PH) % SH, kwr = (rw + PW) % SW;
            const int64_t Th = khr < KH ? (KH - khr + SH - 1) / SH : 0;
            const int64_t Tw = kwr < KW ? (KW - kwr + SW - 1) / SW : 0;
            const int64_t ch = (rh + PH - khr) / SH, cw = (rw + PW - kwr) / SW;
            if (Th > 0 && Tw > 0) {
                /* the sub-kernel, flipped: tap (a, b) is kernel (khr + SH*(Th-1-a), kwr + SW*(Tw-1-b)),
                 * which wt holds flipped at (KH-1-kh, KW-1-kw) */
                for (int64_t q = 0; q < Cb * Kb; q++)
                    for (int64_t a = 0; a < Th; a++)
                        for (int64_t b = 0; b < Tw; b++) {
                            const int64_t i = KH - 1 - (khr + SH * (Th - 1 - a));
                            const int64_t j = KW - 1 - (kwr + SW * (Tw - 1 - b));
                            memcpy(wph + ((q * Th + a) * Tw + b) * cb * cb,
                                   wt + ((q * KH + i) * KW + j) * cb * cb, (size_t)(cb * cb) * sizeof(REAL));
                        }
                const dc_problem p = SFX(bwd_problem)(N, Kb, OH, OW, Cb, hf, wf, Th, Tw, Th - 1 - ch, Tw - 1 - cw);
                plan_conv(&t, isa.has, 0, p.ob, interior_cols(p.ow, 1, p.left, Tw, p.iw), isa.fpc);
                t.cpc = plan_cpc(t.kb, Th, Tw, cb, cb, sizeof(REAL));
                last_bkb = t.kb, last_brw = t.rw;
                rc = isa.conv(buf, dyb, wph, NULL, &p, &t, 0, n_threads);
            }
            if (rc != CNET_OK) break;
            /* scatter the phase into dx (zeros when no kernel tap reaches it) */
            const int nt = cnet_threads_for(N * Cb * hf * wf * cb, n_threads);
            #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
            for (int64_t q = 0; q < N * Cb; q++)
                for (int64_t i = 0; i < hf; i++)
                    for (int64_t j = 0; j < wf; j++) {
                        REAL *d = dxb + ((q * H + rh + SH * i) * W + rw + SW * j) * cb;
                        if (Th > 0 && Tw > 0)
                            memcpy(d, buf + ((q * hf + i) * wf + j) * cb, (size_t)cb * sizeof(REAL));
                        else
                            memset(d, 0, (size_t)cb * sizeof(REAL));
                    }
        }
    cnet_scratch_free(wph);
    cnet_scratch_free(buf);
    return rc;
}

int SFX(cnet_conv2d_blk_backward_weights)(REAL *dw, REAL *db, const REAL *dyb, const REAL *x,
                                          int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                          int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                                          int64_t PW, int64_t cb, int plain, int n_threads) {
    SFX(dc_isa) isa;
    if (!SFX(pick)(cb, &isa)) return CNET_ERR_LAYOUT;
    const dc_problem p = SFX(forward_problem)(N, C, H, W, K, KH, KW, SH, SW, PH, PW, cb, plain);
    dc_tile t;
    plan_wgrad(&t, isa.has, plain, p.ob, KH, KW, cb, isa.fpc);
    const int64_t ci = plain ? C : cb, CI = plain ? 1 : p.ib, wblk = CI * KH * KW * ci * cb;
    const int64_t plen = p.ob * wblk, n_kg = (p.ob + t.kb - 1) / t.kb;
    const int64_t n_tiles = plain ? n_kg * C * ((KH + t.th - 1) / t.th) * ((KW + t.tw - 1) / t.tw)
                                  : n_kg * p.ib * KH * KW * (cb / t.nc);
    int64_t chunk, n_chunks;
    plan_chunks(N, n_tiles, plen, &chunk, &n_chunks);
    last_dwa = plain ? t.th * 10 + t.tw : t.nc, last_dwkb = t.kb, last_chunks = n_chunks;
    REAL *part = (REAL *)cnet_scratch_alloc((size_t)(n_chunks * (plen + p.ob * cb)) * sizeof(REAL));
    if (!part) return CNET_ERR_NOMEM;
    REAL *dbpart = part + n_chunks * plen;
    const int rc = isa.wgrad(part, dbpart, dyb, x, &p, &t, chunk, n_chunks, n_threads);
    if (rc == CNET_OK) {
        /* the chunk partials added in chunk order, into (K, C, KH, KW) */
        const int nt = cnet_threads_for(n_chunks * K * C * KH * KW, n_threads);
        #pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t k = 0; k < K; k++) {
            const int64_t kb = k / cb, kl = k % cb;
            for (int64_t c = 0; c < C; c++)
                for (int64_t i = 0; i < KH; i++)
                    for (int64_t j = 0; j < KW; j++) {
                        const int64_t e =
                            plain ? (((kb * KH + i) * KW + j) * C + c) * cb + kl
                                  : ((((kb * CI + c / cb) * KH + i) * KW + j) * cb + c % cb) * cb + kl;
                        REAL s = part[e];
                        for (int64_t ch = 1; ch < n_chunks; ch++) s += part[ch * plen + e];
                        dw[((k * C + c) * KH + i) * KW + j] = s;
                    }
            if (db) {
                REAL s = dbpart[k];
                for (int64_t ch = 1; ch < n_chunks; ch++) s += dbpart[ch * p.ob * cb + k];
                db[k] = s;
            }
        }
    }
    cnet_scratch_free(part);
    return rc;
}
