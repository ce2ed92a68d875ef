/* softmax_xent.c -- fused softmax + cross-entropy over the rows of a logits matrix.
 * The probabilities are cnet_softmax_forward's own (activation.c, called per chunk of rows), so that a
 * model's predict() and its loss see the same probabilities to the bit on every SIMD path; the loss
 * comes from log-sum-exp, which stays finite where a probability underflows to 0.
 * The bodies are written once in softmax_xent_tmpl.h and instantiated for float and double. */
#include <math.h>
#include <stdlib.h>

#include "cnet_internal.h"

#define REAL float
#define SFX(name) name##_f32
#define EXP expf
#define SOFTMAX cnet_softmax_forward_f32
#include "loss_softmax_xent_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef SOFTMAX

#define REAL double
#define SFX(name) name##_f64
#define EXP exp
#define SOFTMAX cnet_softmax_forward_f64
#include "loss_softmax_xent_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef SOFTMAX
