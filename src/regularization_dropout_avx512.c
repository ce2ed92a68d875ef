/* regularization_dropout_avx512.c -- regularization_dropout_tmpl.h compiled for AVX-512 (F/VL/DQ/BW):
 * CMakeLists.txt gives this file its ISA flags, regularization_dropout.c dispatches to it. Empty on other
 * architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx512
#define CNET_TEMPLATE "regularization_dropout_tmpl.h"
#include "instantiate.h"
#endif
