/* gemm_avx512.c -- the AVX-512 GEMM kernels, gemm_avx512_tmpl.h: CMakeLists.txt gives this file its ISA
 * flags, gemm_plan.c chooses its kernels. Empty on other architectures. */
#if defined(__x86_64__)
#define CNET_TEMPLATE "gemm_avx512_tmpl.h"
#include "instantiate.h"
#endif
