/* pool_blocked_avx512.c -- pool_blocked_tmpl.h compiled for AVX-512 (CMakeLists.txt gives this file its
 * flags; pool_blocked.c dispatches to it). Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx512
#define CNET_TEMPLATE "pool_blocked_tmpl.h"
#include "instantiate.h"
#endif
