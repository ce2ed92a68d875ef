/* gemm_affine.c -- the dense (fully connected) layer through cnet's GEMM, and the column sums its bias
 * gradient needs (gemm_affine_tmpl.h). */
#define CNET_TEMPLATE "gemm_affine_tmpl.h"
#include "instantiate.h"
