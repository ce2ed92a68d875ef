/* regularization_dropout_avx2.c -- regularization_dropout_tmpl.h compiled for AVX2+FMA: CMakeLists.txt
 * gives this file its ISA flags, regularization_dropout.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#define CNET_TEMPLATE "regularization_dropout_tmpl.h"
#include "instantiate.h"
#endif
