/* regularization_batchnorm.c -- batch normalisation: regularization_batchnorm_tmpl.h for the baseline ISA,
 * with the public functions of cnet.h, each dispatching to this path or to regularization_batchnorm_avx2.c
 * / regularization_batchnorm_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "regularization_batchnorm_tmpl.h"
#include "instantiate.h"
