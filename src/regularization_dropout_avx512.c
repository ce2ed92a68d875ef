/* dropout_avx512.c -- the kernels of dropout_tmpl.h compiled for AVX-512 (F/VL/DQ/BW) (the build gives this
 * file its ISA flags; dropout.c dispatches to it). Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_EW_ISA _avx512
#include "regularization_dropout_tmpl.h"
#endif
