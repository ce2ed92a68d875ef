/* optim_avx512.c -- optim_tmpl.h compiled for AVX-512 (F/VL/DQ/BW): CMakeLists.txt gives this file its ISA
 * flags, optim.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx512
#define CNET_TEMPLATE "optim_tmpl.h"
#include "instantiate.h"
#endif
