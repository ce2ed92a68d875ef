/* conv_direct.c -- direct convolution on the channel-blocked layout (cnet.h): the portable
 * kernels, the layout conversions, the planner (which tile each pass uses, how the weight-gradient sum
 * is chunked) and the public functions, which pick the path whose block width is cb.
 *
 * The portable kernels are conv_direct_tmpl.h on GCC vector types of 32 bytes (8 floats / 4 doubles,
 * the AVX2 block, so that a layout made for either runs on both); without FMA hardware VFMA rounds
 * twice. The public bodies are in conv_direct_api_tmpl.h. Both templates follow instantiate.h. */
#include <stdlib.h>
#include <string.h>

#include "conv_direct_internal.h"

typedef float dc_v8f __attribute__((vector_size(32)));
typedef double dc_v4d __attribute__((vector_size(32)));
typedef int32_t dc_v8i __attribute__((vector_size(32)));
typedef int64_t dc_v4l __attribute__((vector_size(32)));
#define V CNET_PICK(IS_F32, dc_v8f, dc_v4d)
#define VL CNET_PICK(IS_F32, 8, 4)
#define VZERO() ((V){0})
#define VI CNET_PICK(IS_F32, dc_v8i, dc_v4l)
/* statement expressions, not functions: a function returning a 32-byte vector changes the ABI without
 * AVX (gcc's -Wpsabi) */
#define VLOAD(p) ({ V dcl_; memcpy(&dcl_, (p), sizeof dcl_); dcl_; })
#define VSTORE(p, v) do { const V dcs_ = (v); memcpy((p), &dcs_, sizeof dcs_); } while (0)
#define VBCAST(p) ((V){0} + *(p))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
/* max(v, 0) with NaN kept: clear the bits of the lanes below zero */
#define VRELU(v)                                                                                   \
    ({                                                                                             \
        V dcr_ = (v);                                                                              \
        const VI neg_ = dcr_ < (V){0};                                                             \
        VI bits_;                                                                                  \
        memcpy(&bits_, &dcr_, sizeof bits_);                                                       \
        bits_ &= ~neg_;                                                                            \
        memcpy(&dcr_, &bits_, sizeof dcr_);                                                        \
        dcr_;                                                                                      \
    })

#define FWD_LIST(X)                                                                                \
    DC_L6(X, 1, 0) DC_L3(X, 2, 0) DC_L6(X, 1, 1) DC_L3(X, 2, 1) DC_L6(X, 1, 2) DC_L3(X, 2, 2)
#define DWB_LIST_F32(X) X(8, 1, _) X(4, 1, _) X(4, 2, _)
#define DWB_LIST_F64(X) X(4, 1, _) X(4, 2, _) X(2, 1, _)
#define DWB_LIST(X) CNET_PICK(IS_F32, DWB_LIST_F32, DWB_LIST_F64)(X)
#define DWP_LIST(X)                                                                                \
    X(1, 1, 1) X(2, 1, 1) X(3, 1, 1) X(1, 1, 2) X(1, 3, 1) X(2, 3, 1) X(3, 3, 1) X(1, 3, 2)        \
    X(1, 5, 1) X(2, 5, 1)

#define CNET_ISA _portable
#define CNET_TEMPLATE "conv_direct_tmpl.h"
#include "instantiate.h"
/* the pixel-row kernels (conv_px_tmpl.h): output channels of a tile by its vectors per row */
/* a & b, bit by bit (masks of all-ones / zero lanes) */
#define VAND(a, b)                                                                                 \
    ({                                                                                             \
        V dca_ = (a), dcb_ = (b);                                                                  \
        VI ia_, ib_;                                                                               \
        memcpy(&ia_, &dca_, sizeof ia_), memcpy(&ib_, &dcb_, sizeof ib_);                          \
        ia_ &= ib_;                                                                                \
        memcpy(&dca_, &ia_, sizeof dca_);                                                          \
        dca_;                                                                                      \
    })
#define PX_WKR 2     /* weight gradient: output channels of a tile (x up to 5 taps) */
#define PX_WKR2 PX_WKR
#define PX_KR(nv) ((nv) == 1 ? 4 : 2)
#define PX_KR2(nv) PX_KR(nv)
#define CNET_TEMPLATE "conv_px_tmpl.h"
#include "instantiate.h"

/* ---- tuning hooks ----------------------------------------------------------------------------
 * For the benchmarks and the tile sweep of the tests: plain globals, not thread-safe (a forced tile
 * applies to every caller until reset). A follow-up could make the plan an argument of the kernels. */

static int forced_kb, forced_rw, forced_dw_a, forced_dw_kb;
/* bytes of weights a reduction chunk may hold (L1d is 32 KiB on Zen 3/4; the input rows and the
 * output tile share it). CNET_CONV_L1_WEIGHTS overrides it (tuning). */
static int64_t l1_weights(void) {
    static int64_t v = -1;
    if (v < 0) {
        const char *e = getenv("CNET_CONV_L1_WEIGHTS");
        v = e ? atoll(e) : 16384;
    }
    return v;
}
/* Input blocks per reduction chunk: as many as keep kb output blocks' weights within l1_weights. */
static int plan_cpc(int64_t kb, int64_t KH, int64_t KW, int64_t nci, int64_t vl, size_t size) {
    const int64_t per = kb * KH * KW * nci * vl * (int64_t)size;
    const int64_t c = l1_weights() / per;
    return c < 1 ? 1 : c > (1 << 30) ? (1 << 30) : (int)c;
}
static int last_fkb, last_frw, last_bkb, last_brw, last_dwa, last_dwkb;
static int64_t last_chunks;

void cnet_debug_conv2d_blk_force_tile(int kb, int rw, int dw_nc, int dw_kb) {
    forced_kb = kb, forced_rw = rw, forced_dw_a = dw_nc, forced_dw_kb = dw_kb;
}

void cnet_conv2d_blk_last_tiles(int *fwd_kb, int *fwd_rw, int *bwd_kb, int *bwd_rw, int *dw_a, int *dw_kb,
                           int64_t *dw_chunks) {
    *fwd_kb = last_fkb, *fwd_rw = last_frw, *bwd_kb = last_bkb, *bwd_rw = last_brw;
    *dw_a = last_dwa, *dw_kb = last_dwkb, *dw_chunks = last_chunks;
}

/* ---- the planner ----------------------------------------------------------------------------- */

typedef int (*dc_has_fn)(int, int, int, int);

/* Cycles of one reduction step of a tile with `acc` accumulators fed by `loads` loads, relative: one
 * FMA a cycle (a zmm on Zen 4, fpc = 1) or two (ymm, fpc = 2), two loads a cycle, an FMA latency of 4
 * (each accumulator takes one FMA a step), and a cycle of loop overhead. */
static double step_cycles(int acc, int loads, int fpc) {
    double c = (double)acc / fpc;
    if (c < loads / 2.0) c = loads / 2.0;
    if (c < 4) c = 4;
    return c + 1;
}

/* Forward / backward-data tile: kb output blocks x rw pixels minimizing the modelled time of covering
 * ob blocks x ow pixels. */
static void plan_conv(dc_tile *t, dc_has_fn has, int mode, int64_t ob, int64_t ow, int fpc) {
    double best = 1e300;
    t->kb = 1, t->rw = 1;
    for (int kb = 1; kb <= 4; kb++) {
        if (kb > ob) break;
        int rwmax = 0;
        for (int r = 28; r >= 1; r--)
            if (has(0, mode, kb, r)) {
                rwmax = r;
                break;
            }
        if (rwmax == 0) continue;
        const int64_t n_st = (ow + rwmax - 1) / rwmax, rw = (ow + n_st - 1) / n_st;
        const int64_t rw_last = ow - (n_st - 1) * rw, n_kg = ob / kb, kb_last = ob % kb;
        double cost = 0;
        for (int g = 0; g < 2; g++) {
            const int64_t groups = g == 0 ? n_kg : (kb_last ? 1 : 0), k = g == 0 ? kb : kb_last;
            if (!groups) continue;
            cost += groups * ((n_st - 1) * step_cycles((int)(k * rw), (int)(k + rw), fpc) +
                              step_cycles((int)(k * rw_last), (int)(k + rw_last), fpc));
        }
        if (cost < best * 0.999) best = cost, t->kb = kb, t->rw = (int)rw;
    }
    if (forced_kb && forced_rw && forced_kb <= ob && has(0, mode, forced_kb, forced_rw) &&
        (mode != 2 || has(0, mode, 1, forced_rw))) {
        /* a forced rw must also cover ow with compiled remainders: take it only if all exist */
        const int64_t n_st = (ow + forced_rw - 1) / forced_rw, last = ow - (n_st - 1) * forced_rw;
        if (has(0, mode, forced_kb, (int)last) && (ob % forced_kb == 0 || has(0, mode, (int)(ob % forced_kb), forced_rw)))
            t->kb = forced_kb, t->rw = forced_rw;
    }
}

/* Output columns whose window lies wholly inside the input (the interior tiles' width): those of
 * [0, OW) with ow*SW - left >= 0 and ow*SW - left + KW <= IW; OW when there are none (all edge). */
static int64_t interior_cols(int64_t OW, int64_t SW, int64_t left, int64_t KW, int64_t IW) {
    int64_t a = left > 0 ? (left + SW - 1) / SW : 0, b = IW - KW + left >= 0 ? (IW - KW + left) / SW + 1 : 0;
    if (b > OW) b = OW;
    return b > a ? b - a : OW;
}

/* Weight-gradient tile. Blocked: nc lanes x kb blocks of one tap; plain: th x tw taps x kb blocks of
 * one input channel. Per pixel: kb dy loads and nc (th*tw) broadcasts for nc*kb (th*tw*kb) FMAs. The
 * cost counts every group of output blocks, the last (ob % kb blocks) too: a small last group both
 * runs slowly and leaves the threads unbalanced (they split tiles, not work). */
static void plan_wgrad(dc_tile *t, dc_has_fn has, int plain, int64_t ob, int64_t KH, int64_t KW,
                       int64_t vl, int fpc) {
    double best = 1e300;
    t->nc = 1, t->kb = 1, t->th = 1, t->tw = 1;
    const int tw = KW % 5 == 0 ? 5 : KW % 3 == 0 ? 3 : 1;
    for (int kb = 1; kb <= 4; kb++) {
        if (kb > ob) break;
        const int kl = (int)(ob % kb);
        const int64_t full = ob / kb;
        if (!plain) {
            for (int nc = 1; nc <= vl; nc++) {
                if (vl % nc || !has(1, nc, kb, 0) || (kl && !has(1, nc, kl, 0))) continue;
                /* per pixel and tap, over all blocks and lanes */
                double cost = full * (vl / nc) * step_cycles(nc * kb, nc + kb, fpc);
                if (kl) cost += (vl / nc) * step_cycles(nc * kl, nc + kl, fpc);
                if (cost < best * 0.999) best = cost, t->nc = nc, t->kb = kb;
            }
            if (forced_dw_a && forced_dw_kb == kb && vl % forced_dw_a == 0 &&
                has(1, forced_dw_a, kb, 0) && (!kl || has(1, forced_dw_a, kl, 0)))
                return (void)(t->nc = forced_dw_a, t->kb = kb);
        } else {
            for (int th = 1; th <= 5 && th <= KH; th++) {
                const int hl = (int)(KH % th);
                if (!has(2, th, tw, kb) || (hl && !has(2, hl, tw, kb)) || (kl && !has(2, th, tw, kl)) ||
                    (kl && hl && !has(2, hl, tw, kl)))
                    continue;
                const int64_t rows = KH / th;
                double cost = 0;
                for (int g = 0; g < 2; g++) {
                    const int k = g ? kl : kb;
                    const int64_t groups = g ? (kl ? 1 : 0) : full;
                    if (!groups) continue;
                    cost += groups * (KW / tw) *
                            (rows * step_cycles(th * tw * k, th * tw + k, fpc) +
                             (hl ? step_cycles(hl * tw * k, hl * tw + k, fpc) : 0));
                }
                if (cost < best * 0.999) best = cost, t->th = th, t->tw = tw, t->kb = kb;
            }
        }
    }
}

/* Images per chunk of the weight-gradient sum, from the shape only (never n_threads): enough (chunk,
 * tile) items to balance threads (64), partials within PART_BUDGET elements. */
#define PART_BUDGET ((int64_t)1 << 21)
static void plan_chunks(int64_t N, int64_t n_tiles, int64_t plen, int64_t *chunk, int64_t *n_chunks) {
    int64_t want = (64 + n_tiles - 1) / n_tiles;
    if (want > N) want = N;
    if (want > PART_BUDGET / plen) want = PART_BUDGET / plen;
    if (want < 1) want = 1;
    *chunk = (N + want - 1) / want;
    *n_chunks = (N + *chunk - 1) / *chunk;
}

#define CNET_TEMPLATE "conv_direct_api_tmpl.h"
#include "instantiate.h"
