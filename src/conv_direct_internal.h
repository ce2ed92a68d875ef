/* conv_direct_internal.h -- the contract between the direct-convolution driver (conv_direct.c) and its
 * per-ISA bodies (conv_direct_tmpl.h compiled by conv_direct.c, conv_direct_avx2.c,
 * conv_direct_avx512.c). Not part of the public API.
 *
 * Every pass is described by one "problem" (a convolution of stride SH, SW over an input that is either
 * blocked (IB blocks of VL lanes) or plain NCHW (IB channels)), so that forward and backward-data share
 * one driver: backward-data is the forward convolution of the dilated, padded dy with the transposed,
 * flipped weights. */
#ifndef CNET_CONV_DIRECT_INTERNAL_H
#define CNET_CONV_DIRECT_INTERNAL_H

#include "cnet_internal.h"
#include "cnet.h"

typedef struct {
    int64_t N;
    int64_t ib, ih, iw;     /* input as stored: blocks (channels when plain), height, width */
    int64_t ob, oh, ow;     /* output (always blocked): blocks, height, width */
    int64_t KH, KW, SH, SW; /* window and stride over the (scratch) input */
    /* Scratch image: hp x wp planes that hold input row i, column j at (top + i*dh, left + j*dw), zeros
     * elsewhere. hp == 0: no scratch, the kernels read the input in place (no padding, no dilation). */
    int64_t top, left, dh, dw, hp, wp;
    int plain;              /* input NCHW with ib channels (the first layer), else blocked */
} dc_problem;

/* The register tile of a pass, chosen per problem by conv_direct.c (plan_conv, plan_wgrad) among the
 * sizes the path compiled. */
typedef struct {
    int kb, rw;   /* forward / backward-data: output blocks x output pixels of a row per tile */
    int cpc;      /* forward / backward-data: input blocks per reduction chunk (weights kept in L1) */
    int nc, th, tw; /* weight gradient: input lanes (blocked) or taps th x tw (plain) per tile, x kb */
} dc_tile;

/* The per-ISA entry points (name, path, dtype). has: whether the path compiled a tile -- kind 0
 * (mode, kb, rw) forward, 1 (nc, kb, -) blocked weight gradient, 2 (th, tw, kb) plain weight gradient.
 * conv and wgrad return CNET_OK or CNET_ERR_NOMEM. Names as KNAME makes them: name, path, dtype. */
#define DC_DECLARE(isa)                                                                            \
    int cnet_dconv_has##isa##_f32(int kind, int a, int b, int c);                                 \
    int cnet_dconv_has##isa##_f64(int kind, int a, int b, int c);                                 \
    int cnet_dconv_conv##isa##_f32(float *y, const float *x, const float *w, const float *bias,   \
                                   const dc_problem *p, const dc_tile *t, int relu, int n_threads); \
    int cnet_dconv_conv##isa##_f64(double *y, const double *x, const double *w, const double *bias, \
                                   const dc_problem *p, const dc_tile *t, int relu, int n_threads); \
    int cnet_dconv_wgrad##isa##_f32(float *part, float *dbpart, const float *dy, const float *x,    \
                                    const dc_problem *p, const dc_tile *t, int64_t chunk,           \
                                    int64_t n_chunks, int n_threads);                               \
    int cnet_dconv_wgrad##isa##_f64(double *part, double *dbpart, const double *dy, const double *x, \
                                    const dc_problem *p, const dc_tile *t, int64_t chunk,           \
                                    int64_t n_chunks, int n_threads);
DC_DECLARE(_portable)
/* The layout conversions of the paths that transpose in registers (block = one vector): x (N, C, hw)
 * to xb (N, Cb, hw, VL) and back. */
#define DC_DECLARE_LAYOUT(isa)                                                                     \
    void cnet_dconv_to_blk##isa##_f32(float *xb, const float *x, int64_t N, int64_t C, int64_t hw, \
                                      int n_threads);                                              \
    void cnet_dconv_to_blk##isa##_f64(double *xb, const double *x, int64_t N, int64_t C, int64_t hw, \
                                      int n_threads);                                              \
    void cnet_dconv_from_blk##isa##_f32(float *x, const float *xb, int64_t N, int64_t C, int64_t hw, \
                                        int n_threads);                                            \
    void cnet_dconv_from_blk##isa##_f64(double *x, const double *xb, int64_t N, int64_t C,         \
                                        int64_t hw, int n_threads);
#if defined(__x86_64__)
DC_DECLARE(_avx2)
DC_DECLARE(_avx512)
DC_DECLARE_LAYOUT(_avx2)
DC_DECLARE_LAYOUT(_avx512)
#endif

/* The pixel-row convolution of a few-channel NCHW input (conv_px_tmpl.h), stride 1. The kernels read
 * the image from an (C, HP, WP) array: x itself (HP = H, WP = W) or a zero-padded copy. KP: K rounded up
 * to a multiple of every tile's output channels (2, 3, 4, 6 or 8: 24), the length of the transposed
 * weights' rows. */
typedef struct {
    int64_t N, C, H, W, K, KH, KW, PH, PW, OH, OW, HP, WP, KP;
} px_geom;
#define PX_DECLARE(isa)                                                                            \
    int cnet_conv_px_forward##isa##_f32(float *y, const float *x, const float *wt, const float *bp,  \
                                        const px_geom *g, int relu, int n_threads);                 \
    int cnet_conv_px_forward##isa##_f64(double *y, const double *x, const double *wt,              \
                                        const double *bp, const px_geom *g, int relu, int n_threads); \
    void cnet_conv_px_wgrad_image##isa##_f32(float *part, const float *dyn, const float *xn, float *pad, \
                                             const px_geom *g, int first);                          \
    void cnet_conv_px_wgrad_image##isa##_f64(double *part, const double *dyn, const double *xn,    \
                                             double *pad, const px_geom *g, int first);             \
    int cnet_conv_px_vl##isa##_f32(void);                                                          \
    int cnet_conv_px_vl##isa##_f64(void);
PX_DECLARE(_portable)
#if defined(__x86_64__)
PX_DECLARE(_avx2)
PX_DECLARE(_avx512)
#endif

/* Lists for the instance tables: X(a, n, m) for n = 1..N. */
#define DC_L1(X, a, m) X(a, 1, m)
#define DC_L2(X, a, m) DC_L1(X, a, m) X(a, 2, m)
#define DC_L3(X, a, m) DC_L2(X, a, m) X(a, 3, m)
#define DC_L4(X, a, m) DC_L3(X, a, m) X(a, 4, m)
#define DC_L5(X, a, m) DC_L4(X, a, m) X(a, 5, m)
#define DC_L6(X, a, m) DC_L5(X, a, m) X(a, 6, m)
#define DC_L7(X, a, m) DC_L6(X, a, m) X(a, 7, m)
#define DC_L8(X, a, m) DC_L7(X, a, m) X(a, 8, m)
#define DC_L9(X, a, m) DC_L8(X, a, m) X(a, 9, m)
#define DC_L10(X, a, m) DC_L9(X, a, m) X(a, 10, m)
#define DC_L11(X, a, m) DC_L10(X, a, m) X(a, 11, m)
#define DC_L12(X, a, m) DC_L11(X, a, m) X(a, 12, m)
#define DC_L13(X, a, m) DC_L12(X, a, m) X(a, 13, m)
#define DC_L14(X, a, m) DC_L13(X, a, m) X(a, 14, m)
#define DC_L16(X, a, m) DC_L14(X, a, m) X(a, 15, m) X(a, 16, m)
#define DC_L20(X, a, m) DC_L16(X, a, m) X(a, 17, m) X(a, 18, m) X(a, 19, m) X(a, 20, m)
#define DC_L24(X, a, m) DC_L20(X, a, m) X(a, 21, m) X(a, 22, m) X(a, 23, m) X(a, 24, m)
#define DC_L28(X, a, m) DC_L24(X, a, m) X(a, 25, m) X(a, 26, m) X(a, 27, m) X(a, 28, m)

/* Accumulator name lists: 28 pixels (forward) and 16 lanes / 25 taps (weight gradient). */
#define DC_PX(X)                                                                                   \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)   \
    X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27)
#define DC_LANES(X)                                                                                \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DC_TAPS(X)                                                                                 \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)   \
    X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)

#endif /* CNET_CONV_DIRECT_INTERNAL_H */
