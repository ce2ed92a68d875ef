/* conv_direct_avx2.c -- the direct-convolution kernels of conv_direct_tmpl.h for AVX2 + FMA: a block of
 * 8 floats / 4 doubles, one ymm register. CMakeLists.txt gives this file its ISA flags; conv_direct.c
 * calls it for a layout of 32-byte blocks (on AVX-512 machines too). 16 registers: a forward tile holds
 * up to 12 accumulators (12 pixels x 1 block, 6 x 2, 4 x 3) beside its weight vectors and one broadcast
 * register -- the shape of the GEMM's 6 x 16 kernel. Broadcasts are from memory (_mm256_broadcast_ss):
 * given values, gcc 12 kept them on the stack. Empty on other architectures. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "simd_transpose.h"

#define V CNET_PICK(IS_F32, __m256, __m256d)
#define VL CNET_PICK(IS_F32, 8, 4)
#define VZERO() CNET_PICK(IS_F32, _mm256_setzero_ps, _mm256_setzero_pd)()
#define VLOAD(p) CNET_PICK(IS_F32, _mm256_loadu_ps, _mm256_loadu_pd)(p)
#define VSTORE(p, v) CNET_PICK(IS_F32, _mm256_storeu_ps, _mm256_storeu_pd)(p, v)
#define VBCAST(p) CNET_PICK(IS_F32, _mm256_broadcast_ss, _mm256_broadcast_sd)(p)
#define VFMA(a, b, c) CNET_PICK(IS_F32, _mm256_fmadd_ps, _mm256_fmadd_pd)(a, b, c)
#define VADD(a, b) CNET_PICK(IS_F32, _mm256_add_ps, _mm256_add_pd)(a, b)
#define VTRANSPOSE(r) CNET_PICK(IS_F32, cnet_transpose_8x8_ps256, cnet_transpose_4x4_pd256)(r)
#define VRELU(v) CNET_PICK(IS_F32, _mm256_max_ps, _mm256_max_pd)(VZERO(), v)

#define FWD_LIST(X)                                                                                \
    DC_L12(X, 1, 0) DC_L6(X, 2, 0) DC_L4(X, 3, 0) DC_L12(X, 1, 1) DC_L6(X, 2, 1) DC_L12(X, 1, 2)   \
    DC_L6(X, 2, 2)
#define DWB_LIST_F32(X) X(8, 1, _) X(4, 1, _) X(4, 2, _) X(4, 3, _)
#define DWB_LIST_F64(X) X(4, 1, _) X(4, 2, _) X(4, 3, _) X(2, 1, _)
#define DWB_LIST(X) CNET_PICK(IS_F32, DWB_LIST_F32, DWB_LIST_F64)(X)
#define DWP_LIST(X)                                                                                \
    X(1, 1, 1) X(2, 1, 1) X(3, 1, 1) X(1, 1, 2) X(2, 1, 2) X(3, 1, 2)                              \
    X(1, 3, 1) X(2, 3, 1) X(3, 3, 1) X(1, 3, 2) X(2, 3, 2)                                         \
    X(1, 5, 1) X(2, 5, 1) X(1, 5, 2)

#define CNET_ISA _avx2
#define CNET_TEMPLATE "conv_direct_tmpl.h"
#include "instantiate.h"
/* the pixel-row kernels (conv_px_tmpl.h): output channels of a tile by its vectors per row */
#define VAND(a, b) CNET_PICK(IS_F32, _mm256_and_ps, _mm256_and_pd)(a, b)
#define PX_WKR 2     /* weight gradient: output channels of a tile (x up to 5 taps) */
#define PX_WKR2 PX_WKR
#define PX_KR(nv) ((nv) == 1 ? 8 : (nv) == 2 ? 6 : (nv) == 3 ? 4 : 2)
#define PX_KR2(nv) PX_KR(nv)
#define CNET_TEMPLATE "conv_px_tmpl.h"
#include "instantiate.h"
#endif
