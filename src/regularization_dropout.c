/* regularization_dropout.c -- inverted dropout: regularization_dropout_tmpl.h for the baseline ISA, with
 * the public functions of cnet.h, each dispatching to this path or to regularization_dropout_avx2.c /
 * regularization_dropout_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "regularization_dropout_tmpl.h"
#include "instantiate.h"
