/* affine.c -- the dense (fully connected) layer through cnet's GEMM, and the column sums its bias
 * gradient needs. Bodies in affine_tmpl.h, instantiated for float and double. */
#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

#define CNET_TEMPLATE "gemm_affine_tmpl.h"
#include "instantiate.h"
