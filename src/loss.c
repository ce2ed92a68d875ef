/* loss.c -- mean squared error, forward (a reduction, thread-count independent) and backward.
 * The bodies are written once in loss_tmpl.h and instantiated for float and double. */
#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

/* Elements per reduction chunk: a multiple of CNET_REDUCE_CHUNK large enough that the chunk sums fit
 * on the stack for arrays up to 1M elements. */
#define LOSS_CHUNK (64 * CNET_REDUCE_CHUNK)

#define REAL float
#define SFX(name) name##_f32
#include "loss_tmpl.h"
#undef REAL
#undef SFX

#define REAL double
#define SFX(name) name##_f64
#include "loss_tmpl.h"
#undef REAL
#undef SFX
