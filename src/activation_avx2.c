/* activation_avx2.c -- the activation kernels of activation_tmpl.h compiled for AVX2+FMA (the build gives
 * this file its ISA flags; activation.c dispatches to it). Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_EW_ISA _avx2
#include "activation_tmpl.h"
#endif
