/* loss_avx512.c -- the kernels of loss_tmpl.h compiled for AVX-512 (F/VL/DQ/BW) (the build gives this
 * file its ISA flags; loss.c dispatches to it). Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_EW_ISA _avx512
#include "loss_mse_tmpl.h"
#endif
