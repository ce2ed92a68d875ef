/* activation_param.c -- the activations with parameters or an input-based backward (ELU/SELU, Keras's
 * ReLU and leaky ReLU, softplus, softsign, hard sigmoid, swish, GELU, PReLU): activation_param_tmpl.h for
 * float and double. One portable path (no per-ISA copies): libm's expm1/log1p/erf do the work. */
#define CNET_TEMPLATE "activation_param_tmpl.h"
#include "instantiate.h"
