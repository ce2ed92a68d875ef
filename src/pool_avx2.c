/* pool_avx2.c -- pool_tmpl.h compiled for AVX2+FMA: CMakeLists.txt gives this file its ISA flags, pool.c
 * dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#define CNET_TEMPLATE "pool_tmpl.h"
#include "instantiate.h"
#endif
