/* optim_avx2.c -- optim_tmpl.h compiled for AVX2+FMA: CMakeLists.txt gives this file its ISA flags,
 * optim.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#define CNET_TEMPLATE "optim_tmpl.h"
#include "instantiate.h"
#endif
