/* softmax_xent.c -- fused softmax + cross-entropy over the rows of a logits matrix.
 * The bodies are written once in softmax_xent_tmpl.h and instantiated for float and double. */
#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

#define REAL float
#define SFX(name) name##_f32
#define EXP expf
#include "softmax_xent_tmpl.h"
#undef REAL
#undef SFX
#undef EXP

#define REAL double
#define SFX(name) name##_f64
#define EXP exp
#include "softmax_xent_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
