/* batchnorm_avx2.c -- the kernels of batchnorm_tmpl.h compiled for AVX2+FMA (the build gives this
 * file its ISA flags; batchnorm.c dispatches to it). Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_EW_ISA _avx2
#include "regularization_batchnorm_tmpl.h"
#endif
