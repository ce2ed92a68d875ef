/* loss_mse_avx2.c -- loss_mse_tmpl.h compiled for AVX2+FMA: CMakeLists.txt gives this file its ISA flags,
 * loss_mse.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx2
#define CNET_TEMPLATE "loss_mse_tmpl.h"
#include "instantiate.h"
#endif
