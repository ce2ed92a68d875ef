/* gemm_avx2.c -- the AVX2+FMA GEMM kernels, gemm_avx2_tmpl.h (after gemm_update_tmpl.h, for the edge
 * tiles): CMakeLists.txt gives this file its ISA flags, gemm_plan.c chooses its kernels. Empty on other
 * architectures. */
#if defined(__x86_64__)
#define CNET_TEMPLATE "gemm_update_tmpl.h"
#include "instantiate.h"
#define CNET_TEMPLATE "gemm_avx2_tmpl.h"
#include "instantiate.h"
#endif
