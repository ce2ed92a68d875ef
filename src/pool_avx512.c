/* pool_avx512.c -- pool_tmpl.h compiled for AVX-512 (F/VL/DQ/BW): CMakeLists.txt gives this file its ISA
 * flags, pool.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx512
#define CNET_TEMPLATE "pool_tmpl.h"
#include "instantiate.h"
#endif
