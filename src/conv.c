/* conv.c -- 2-D convolution (cross-correlation) forward and backward by im2col + GEMM (conv_tmpl.h). */
#define CNET_TEMPLATE "conv_tmpl.h"
#include "instantiate.h"
