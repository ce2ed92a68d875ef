/* cast_avx512.c -- cast_tmpl.h compiled for AVX-512 (F/VL/DQ/BW) with F16C: CMakeLists.txt gives this
 * file its ISA flags, cast.c dispatches to it. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_ISA _avx512
#include "cast_tmpl.h"
#endif
