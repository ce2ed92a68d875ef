/* cast_avx2.c -- cast_tmpl.h compiled for AVX2 with F16C: CMakeLists.txt gives this file its ISA flags,
 * cast.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#include "cast_tmpl.h"
#endif
