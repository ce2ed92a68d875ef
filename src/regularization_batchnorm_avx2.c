/* regularization_batchnorm_avx2.c -- regularization_batchnorm_tmpl.h compiled for AVX2+FMA: CMakeLists.txt
 * gives this file its ISA flags, regularization_batchnorm.c dispatches to it. Empty on other
 * architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#define CNET_TEMPLATE "regularization_batchnorm_tmpl.h"
#include "instantiate.h"
#endif
