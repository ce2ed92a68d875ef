/* conv2d.c -- 2-D convolution (cross-correlation) forward and backward by im2col + GEMM.
 *
 * Caffe's layout per image: col_n (C*KH*KW, OH*OW) = im2col(x_n), so that y_n (K, OH*OW) = W . col_n
 * is already the image's NCHW output. One image at a time per thread keeps the scratch at
 * n_threads * C*KH*KW*OH*OW elements whatever the batch (the book's whole-batch im2col is N times that).
 * A 1x1 kernel with stride 1 and no padding needs no im2col: col_n is x_n.
 * Out of memory (a col buffer, the partials, or a GEMM's scratch): every thread allocates before any
 * computes, a failure is raised in a shared flag, no thread then starts another image or chunk, and the
 * kernel returns CNET_ERR_NOMEM.
 * The bodies are in conv2d_tmpl.h, instantiated for float and double. */
#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

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

#define CNET_TEMPLATE "conv_tmpl.h"
#include "instantiate.h"
