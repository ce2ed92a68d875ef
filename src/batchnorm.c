/* batchnorm.c -- batch normalisation over (N, D) per feature and (N, C, H, W) per channel.
 *
 * Both layouts are seen as x (N, C, S): C features/channels, S = H*W positions (S = 1 for (N, D)).
 * Per-channel statistics are reductions over N and S. They are taken in double over fixed chunks of
 * samples (BN_CHUNK_ELEMS elements per chunk, rounded to whole samples: a function of the shape only),
 * chunks in parallel, then the chunk sums are added in chunk order -- so the results are bit-identical
 * for every n_threads. Mean and variance are two passes (the variance sums (x - mean)^2), as the
 * reference does. The bodies are written once in batchnorm_tmpl.h for float and double.
 */
#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

/* Elements per reduction chunk. */
#define BN_CHUNK_ELEMS (256 * CNET_REDUCE_CHUNK)

static int64_t bn_rows_per_chunk(int64_t C, int64_t S) {
    int64_t r = BN_CHUNK_ELEMS / (C * S);
    return r < 1 ? 1 : r;
}

/* What a reduction pass sums per channel: x; (x - mean)^2; dy and dy * xhat. */
enum { BN_SUM = 0, BN_SQDEV = 1, BN_DY = 2 };

#define REAL float
#define SFX(name) name##_f32
#define SQRT sqrtf
#include "batchnorm_tmpl.h"
#undef REAL
#undef SFX
#undef SQRT

#define REAL double
#define SFX(name) name##_f64
#define SQRT sqrt
#include "batchnorm_tmpl.h"
#undef REAL
#undef SFX
#undef SQRT
