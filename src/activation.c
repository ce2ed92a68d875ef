/* activation.c -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax, forward and backward.
 * The bodies are written once in activation_tmpl.h and instantiated for float and double. */
#include <math.h>

#include "cnet_internal.h"

#define REAL float
#define SFX(name) name##_f32
#define EXP expf
#define TANH tanhf
#define FABS fabsf
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS

#define REAL double
#define SFX(name) name##_f64
#define EXP exp
#define TANH tanh
#define FABS fabs
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS
