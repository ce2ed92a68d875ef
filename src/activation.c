/* activation.c -- element-wise activations, forward and backward.
 * The bodies are written once in activation_tmpl.h and instantiated for float and double. */
#include "cnet_internal.h"

#define REAL float
#define SFX(name) name##_f32
#include "activation_tmpl.h"
#undef REAL
#undef SFX

#define REAL double
#define SFX(name) name##_f64
#include "activation_tmpl.h"
#undef REAL
#undef SFX
