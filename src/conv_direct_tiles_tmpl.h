/* conv_direct_tiles_tmpl.h -- the register tiles of the direct convolution (the micro-kernels) and
 * their tables, for one SIMD path and dtype: included by conv_direct_tmpl.h (see there for the macros
 * an ISA file defines). Each tile is an always-inline body with compile-time sizes, instantiated once
 * per compiled size (FWD_LIST, DWB_LIST, DWP_LIST) into a table the drivers index. */

/* ---- forward tile ---------------------------------------------------------------------------- */

#define FDECL(r) V a##r##_0 = z, a##r##_1 = z, a##r##_2 = z, a##r##_3 = z;
#define FSTEP(r)                                                                                   \
    if ((r) < RW) {                                                                                \
        const V xv = VBCAST(xc + (r) * ps);                                                          \
        a##r##_0 = VFMA(xv, w0, a##r##_0);                                                         \
        if (KB > 1) a##r##_1 = VFMA(xv, w1, a##r##_1);                                             \
        if (KB > 2) a##r##_2 = VFMA(xv, w2, a##r##_2);                                             \
        if (KB > 3) a##r##_3 = VFMA(xv, w3, a##r##_3);                                             \
    }
#define FLOAD1(r, j) a##r##_##j = VLOAD(y + (j) * y_ks + (r) * yps);
#define FLOAD(r)                                                                                   \
    if ((r) < RW) {                                                                                \
        FLOAD1(r, 0)                                                                               \
        if (KB > 1) FLOAD1(r, 1)                                                                   \
        if (KB > 2) FLOAD1(r, 2)                                                                   \
        if (KB > 3) FLOAD1(r, 3)                                                                   \
    }
#define FOUT(r, j)                                                                                 \
    {                                                                                              \
        V v_ = a##r##_##j;                                                                         \
        if (bias) v_ = VADD(v_, b##j);                                                             \
        if (relu) v_ = VRELU(v_);                                                                  \
        VSTORE(y + (j) * y_ks + (r) * yps, v_);                                                    \
    }
#define FSTORE(r)                                                                                  \
    if ((r) < RW) {                                                                                \
        FOUT(r, 0)                                                                                 \
        if (KB > 1) FOUT(r, 1)                                                                     \
        if (KB > 2) FOUT(r, 2)                                                                     \
        if (KB > 3) FOUT(r, 3)                                                                     \
    }

/* y: the tile's first output (block, pixel); x: the input under its first pixel's first valid tap
 * (kh0, kw0), at the first of the ncb input blocks of this call; w: the weights of its first output
 * block at that input block and tap; bias: its first block's bias vector, or NULL. The tile runs the
 * nkh x nkw taps from (kh0, kw0) -- taps over the zero padding are skipped, never multiplied. The
 * reduction over input blocks may be cut into calls (so that their weights stay in L1): DC_FIRST
 * starts from zero, else from the partial sums in y; DC_LAST applies the epilogue (bias, relu). A
 * float partial stored and reloaded is exact, so the FMA chain of an element is the same however the
 * reduction is cut, and which tile computes an element depends on the shape only. */
static inline __attribute__((always_inline)) void SFX(fwd_body)(const int KB, const int RW,
                                                                const int MODE, REAL *y,
                                                                const REAL *x, const REAL *w,
                                                                const REAL *bias,
                                                                const dc_fargs *a, int64_t ncb,
                                                                int flags, int64_t nkh,
                                                                int64_t nkw) {
    const int64_t ps = MODE == 0 ? VL : MODE == 1 ? 1 : a->x_ps;
    const int64_t ks = MODE == 0 ? VL : MODE == 1 ? 1 : a->x_ks;
    const int64_t ci = MODE == 0 ? 1 : a->x_ci;
    const int64_t nc = MODE == 0 ? VL : a->nci;
    const int64_t yps = MODE == 2 ? a->y_ps : VL;
    const int64_t w_ks = a->w_ks, x_cs = a->x_cs, x_rs = a->x_rs, y_ks = a->y_ks;
    const int64_t w_rs = a->KW * nc * VL, w_cs = a->KH * w_rs;
    const int last = flags & DC_LAST, relu = last && a->relu;
    const V z = VZERO();
    DC_PX(FDECL)
    if (!(flags & DC_FIRST)) {
        DC_PX(FLOAD)
    }
    for (int64_t cb = 0; cb < ncb; cb++)
        for (int64_t kh = 0; kh < nkh; kh++) {
            const REAL *xr = x + cb * x_cs + kh * x_rs, *wp = w + cb * w_cs + kh * w_rs;
            for (int64_t kw = 0; kw < nkw; kw++, xr += ks) {
                const REAL *xc = xr;
                for (int64_t c = 0; c < nc; c++, xc += ci, wp += VL) {
                    const V w0 = VLOAD(wp);
                    const V w1 = KB > 1 ? VLOAD(wp + w_ks) : z;
                    const V w2 = KB > 2 ? VLOAD(wp + 2 * w_ks) : z;
                    const V w3 = KB > 3 ? VLOAD(wp + 3 * w_ks) : z;
                    DC_PX(FSTEP)
                }
            }
        }
    V b0 = z, b1 = z, b2 = z, b3 = z;
    if (!last) bias = NULL;
    if (bias) {
        b0 = VLOAD(bias);
        if (KB > 1) b1 = VLOAD(bias + VL);
        if (KB > 2) b2 = VLOAD(bias + 2 * VL);
        if (KB > 3) b3 = VLOAD(bias + 3 * VL);
    }
    (void)b1, (void)b2, (void)b3, (void)w_ks;
    DC_PX(FSTORE)
}

typedef void (*SFX(fwd_fn))(REAL *, const REAL *, const REAL *, const REAL *, const dc_fargs *,
                            int64_t, int, int64_t, int64_t);
#define FWD_DEF(kb, rw, m)                                                                         \
    static void SFX(fwd_##m##_##kb##_##rw)(REAL *y, const REAL *x, const REAL *w, const REAL *b,   \
                                           const dc_fargs *a, int64_t ncb, int flags, int64_t nkh, \
                                           int64_t nkw) {                                          \
        SFX(fwd_body)(kb, rw, m, y, x, w, b, a, ncb, flags, nkh, nkw);                             \
    }
#define FWD_ENT(kb, rw, m) [m][kb][rw] = SFX(fwd_##m##_##kb##_##rw),
FWD_LIST(FWD_DEF)
static const SFX(fwd_fn) SFX(fwd_tab)[3][5][29] = {FWD_LIST(FWD_ENT)};

/* ---- weight-gradient tiles ------------------------------------------------------------------- */

#define GDECL(c) V d##c##_0 = z, d##c##_1 = z, d##c##_2 = z, d##c##_3 = z;
#define GLOAD1(c, j) d##c##_##j = VLOAD(pt + (j) * p_ks + (c) * VL);
#define GLOAD(c)                                                                                   \
    if ((c) < NC) {                                                                                \
        GLOAD1(c, 0)                                                                               \
        if (KB > 1) GLOAD1(c, 1)                                                                   \
        if (KB > 2) GLOAD1(c, 2)                                                                   \
        if (KB > 3) GLOAD1(c, 3)                                                                   \
    }
#define GSTEP(c)                                                                                   \
    if ((c) < NC) {                                                                                \
        const V xv = VBCAST(xp + (c));                                                                 \
        d##c##_0 = VFMA(xv, g0, d##c##_0);                                                         \
        if (KB > 1) d##c##_1 = VFMA(xv, g1, d##c##_1);                                             \
        if (KB > 2) d##c##_2 = VFMA(xv, g2, d##c##_2);                                             \
        if (KB > 3) d##c##_3 = VFMA(xv, g3, d##c##_3);                                             \
    }
#define GSTORE1(c, j) VSTORE(pt + (j) * p_ks + (c) * VL, d##c##_##j);
#define GSTORE(c)                                                                                  \
    if ((c) < NC) {                                                                                \
        GSTORE1(c, 0)                                                                              \
        if (KB > 1) GSTORE1(c, 1)                                                                  \
        if (KB > 2) GSTORE1(c, 2)                                                                  \
        if (KB > 3) GSTORE1(c, 3)                                                                  \
    }
/* the bias gradient of the tile's kb blocks, summed alongside (db != NULL) */
#define DB_BEGIN                                                                                   \
    V s0 = z, s1 = z, s2 = z, s3 = z;                                                              \
    if (DB && !first) {                                                                            \
        s0 = VLOAD(db);                                                                            \
        if (KB > 1) s1 = VLOAD(db + VL);                                                           \
        if (KB > 2) s2 = VLOAD(db + 2 * VL);                                                       \
        if (KB > 3) s3 = VLOAD(db + 3 * VL);                                                       \
    }
#define DB_STEP                                                                                    \
    if (DB) {                                                                                      \
        s0 = VADD(s0, g0);                                                                         \
        if (KB > 1) s1 = VADD(s1, g1);                                                             \
        if (KB > 2) s2 = VADD(s2, g2);                                                             \
        if (KB > 3) s3 = VADD(s3, g3);                                                             \
    }
#define DB_END                                                                                     \
    if (DB) {                                                                                      \
        VSTORE(db, s0);                                                                            \
        if (KB > 1) VSTORE(db + VL, s1);                                                           \
        if (KB > 2) VSTORE(db + 2 * VL, s2);                                                       \
        if (KB > 3) VSTORE(db + 3 * VL, s3);                                                       \
    }
#define G_LOADDY                                                                                   \
    const V g0 = VLOAD(dp);                                                                        \
    const V g1 = KB > 1 ? VLOAD(dp + dy_ks) : z;                                                   \
    const V g2 = KB > 2 ? VLOAD(dp + 2 * dy_ks) : z;                                               \
    const V g3 = KB > 3 ? VLOAD(dp + 3 * dy_ks) : z;

/* Blocked: pt, the partial at (first output block, input block, tap, first lane); x, the image at
 * (input block, first lane) under pixel (oh0, ow0)'s tap; dy, the image's first output block at that
 * pixel. The tile runs the noh x now output pixels whose tap falls inside the input (the others would
 * multiply padding zeros). first: the chunk's first image (the partial is overwritten, else
 * accumulated). */
static inline __attribute__((always_inline)) void SFX(dwb_body)(const int NC, const int KB, REAL *pt,
                                                                const REAL *x, const REAL *dy,
                                                                int first, int64_t noh, int64_t now,
                                                                const dc_gargs *g) {
    const int64_t p_ks = g->p_ks, dy_ks = g->dy_ks, x_rs = g->x_rs, x_ps = g->x_ps, SH = g->SH;
    const int64_t dy_rs = g->OW * VL;
    const V z = VZERO();
    DC_LANES(GDECL)
    if (!first) {
        DC_LANES(GLOAD)
    }
    for (int64_t oh = 0; oh < noh; oh++) {
        const REAL *xp = x + oh * SH * x_rs, *dp = dy + oh * dy_rs;
        for (int64_t ow = 0; ow < now; ow++, xp += x_ps, dp += VL) {
            G_LOADDY
            DC_LANES(GSTEP)
        }
    }
    DC_LANES(GSTORE)
    (void)dy_ks, (void)p_ks;
}

/* db (kb blocks) (+)= the sum of dy (kb blocks of npx pixels), pixels in order. */
static void SFX(db_sum)(REAL *db, const REAL *dy, int64_t kb, int64_t dy_ks, int64_t npx, int first) {
    for (int64_t j = 0; j < kb; j++) {
        V s = first ? VZERO() : VLOAD(db + j * VL);
        const REAL *d = dy + j * dy_ks;
        for (int64_t q = 0; q < npx; q++) s = VADD(s, VLOAD(d + q * VL));
        VSTORE(db + j * VL, s);
    }
}

#define PDECL(t) V e##t##_0 = z, e##t##_1 = z;
#define PADDR(t) (((t) / TW) * p_th + ((t) % TW) * p_tw)
#define PLOAD1(t, j) e##t##_##j = VLOAD(pt + (j) * p_ks + PADDR(t));
#define PLOAD(t)                                                                                   \
    if ((t) < TH * TW) {                                                                           \
        PLOAD1(t, 0)                                                                               \
        if (KB > 1) PLOAD1(t, 1)                                                                   \
    }
#define PSTEP(t)                                                                                   \
    if ((t) < TH * TW) {                                                                           \
        const V xv = VBCAST(xp + ((t) / TW) * x_rs + (t) % TW);                                      \
        e##t##_0 = VFMA(xv, g0, e##t##_0);                                                         \
        if (KB > 1) e##t##_1 = VFMA(xv, g1, e##t##_1);                                             \
    }
#define PSTORE1(t, j) VSTORE(pt + (j) * p_ks + PADDR(t), e##t##_##j);
#define PSTORE(t)                                                                                  \
    if ((t) < TH * TW) {                                                                           \
        PSTORE1(t, 0)                                                                              \
        if (KB > 1) PSTORE1(t, 1)                                                                  \
    }

/* Plain (NCHW input): pt, the partial at (first output block, first tap, channel); x, the channel's
 * plane at the first tap for pixel (0, 0); the tile covers TH x TW taps (kb <= 2). */
static inline __attribute__((always_inline)) void SFX(dwp_body)(const int TH, const int TW,
                                                                const int KB, const int DB,
                                                                REAL *pt, const REAL *x,
                                                                const REAL *dy, REAL *db,
                                                                int first, const dc_gargs *g) {
    const int64_t p_ks = g->p_ks, p_th = g->p_th, p_tw = g->p_tw, dy_ks = g->dy_ks;
    const int64_t x_rs = g->x_rs, x_ps = g->x_ps, SH = g->SH, OH = g->OH, OW = g->OW;
    const V z = VZERO();
    DC_TAPS(PDECL)
    if (!first) {
        DC_TAPS(PLOAD)
    }
    DB_BEGIN
    const REAL *dp = dy;
    for (int64_t oh = 0; oh < OH; oh++) {
        const REAL *xp = x + oh * SH * x_rs;
        for (int64_t ow = 0; ow < OW; ow++, xp += x_ps, dp += VL) {
            G_LOADDY
            DC_TAPS(PSTEP)
            DB_STEP
        }
    }
    DC_TAPS(PSTORE)
    DB_END
    (void)s1, (void)s2, (void)s3, (void)dy_ks, (void)p_ks, (void)p_th,
        (void)p_tw, (void)x_rs;
}

typedef void (*SFX(dwb_fn))(REAL *, const REAL *, const REAL *, int, int64_t, int64_t,
                            const dc_gargs *);
typedef void (*SFX(dw_fn))(REAL *, const REAL *, const REAL *, REAL *, int, const dc_gargs *);
#define DWB_DEF(nc, kb, _)                                                                         \
    static void SFX(dwb_##nc##_##kb)(REAL *pt, const REAL *x, const REAL *dy, int first,           \
                                     int64_t noh, int64_t now, const dc_gargs *g) {                \
        SFX(dwb_body)(nc, kb, pt, x, dy, first, noh, now, g);                                      \
    }
#define DWB_ENT(nc, kb, _) [nc][kb] = SFX(dwb_##nc##_##kb),
#define DWP_DEF(th, tw, kb)                                                                        \
    static void SFX(dwp_##th##_##tw##_##kb)(REAL *pt, const REAL *x, const REAL *dy, REAL *db,     \
                                            int first, const dc_gargs *g) {                        \
        if (db) SFX(dwp_body)(th, tw, kb, 1, pt, x, dy, db, first, g);                              \
        else SFX(dwp_body)(th, tw, kb, 0, pt, x, dy, db, first, g);                                 \
    }
#define DWP_ENT(th, tw, kb) [th][tw][kb] = SFX(dwp_##th##_##tw##_##kb),
DWB_LIST(DWB_DEF)
DWP_LIST(DWP_DEF)
static const SFX(dwb_fn) SFX(dwb_tab)[17][5] = {DWB_LIST(DWB_ENT)};
static const SFX(dw_fn) SFX(dwp_tab)[6][6][3] = {DWP_LIST(DWP_ENT)};

#undef FDECL
#undef FLOAD1
#undef FLOAD
#undef FSTEP
#undef FOUT
#undef FSTORE
#undef FWD_DEF
#undef FWD_ENT
#undef GDECL
#undef GLOAD1
#undef GLOAD
#undef GSTEP
#undef GSTORE1
#undef GSTORE
#undef DB_BEGIN
#undef DB_STEP
#undef DB_END
#undef G_LOADDY
#undef PDECL
#undef PADDR
#undef PLOAD1
#undef PLOAD
#undef PSTEP
#undef PSTORE1
#undef PSTORE
#undef DWB_DEF
#undef DWB_ENT
#undef DWP_DEF
#undef DWP_ENT

