/* conv_direct_avx512.c -- the direct-convolution kernels of conv_direct_tmpl.h for AVX-512 (F/VL/DQ/BW):
 * a block of 16 floats / 8 doubles, one zmm register. CMakeLists.txt gives this file its ISA flags;
 * conv_direct.c calls it for a layout of 64-byte blocks. 32 registers: a forward tile holds up to 28
 * accumulators (28 pixels x 1 block, 14 x 2, 9 x 3, 7 x 4) beside its weight vectors; the input value is
 * an embedded broadcast of the FMA, so it needs no register. On Zen 4 a 512-bit FMA costs two 256-bit
 * ones: the gain over AVX2 is the register count (fewer loads per FMA) and the wider block.
 * Empty on other architectures. */
#if defined(__x86_64__)
#include <immintrin.h>

#include "simd_transpose.h"

/* the vector of the dtype being instantiated (IS_F32 and CNET_PICK come from instantiate.h) */
#define V CNET_PICK(IS_F32, __m512, __m512d)
#define VL CNET_PICK(IS_F32, 16, 8)
#define VZERO() CNET_PICK(IS_F32, _mm512_setzero_ps, _mm512_setzero_pd)()
#define VLOAD(p) CNET_PICK(IS_F32, _mm512_loadu_ps, _mm512_loadu_pd)(p)
#define VSTORE(p, v) CNET_PICK(IS_F32, _mm512_storeu_ps, _mm512_storeu_pd)(p, v)
#define VBCAST(p) CNET_PICK(IS_F32, _mm512_set1_ps, _mm512_set1_pd)(*(p))
#define VFMA(a, b, c) CNET_PICK(IS_F32, _mm512_fmadd_ps, _mm512_fmadd_pd)(a, b, c)
#define VADD(a, b) CNET_PICK(IS_F32, _mm512_add_ps, _mm512_add_pd)(a, b)
#define VTRANSPOSE(r) CNET_PICK(IS_F32, cnet_transpose_16x16_ps, cnet_transpose_8x8_pd)(r)
#define VRELU(v) CNET_PICK(IS_F32, _mm512_max_ps, _mm512_max_pd)(VZERO(), v) /* max(0, NaN) = NaN */

#define FWD_LIST(X)                                                                                \
    DC_L28(X, 1, 0) DC_L14(X, 2, 0) DC_L9(X, 3, 0) DC_L7(X, 4, 0) DC_L28(X, 1, 1) DC_L14(X, 2, 1)  \
    DC_L8(X, 1, 2) DC_L8(X, 2, 2)
#define DWB_LIST_F32(X) X(16, 1, _) X(8, 1, _) X(8, 2, _) X(8, 3, _)
#define DWB_LIST_F64(X) X(8, 1, _) X(8, 2, _) X(8, 3, _) X(4, 1, _)
#define DWB_LIST(X) CNET_PICK(IS_F32, DWB_LIST_F32, DWB_LIST_F64)(X)
/* weight gradient, plain input (taps th x tw x kb blocks <= 25 accumulators) */
#define DWP_LIST(X)                                                                                \
    X(1, 1, 1) X(2, 1, 1) X(3, 1, 1) X(1, 1, 2) X(2, 1, 2) X(3, 1, 2)                              \
    X(1, 3, 1) X(2, 3, 1) X(3, 3, 1) X(1, 3, 2) X(2, 3, 2) X(3, 3, 2)                              \
    X(1, 5, 1) X(2, 5, 1) X(3, 5, 1) X(4, 5, 1) X(5, 5, 1) X(1, 5, 2) X(2, 5, 2)

#define CNET_ISA _avx512
#define CNET_TEMPLATE "conv_direct_tmpl.h"
#include "instantiate.h"
/* the pixel-row kernels (conv_px_tmpl.h): output channels of a tile by its vectors per row */
#define VAND(a, b) CNET_PICK(IS_F32, _mm512_and_ps, _mm512_and_pd)(a, b)
#define PX_WKR 4     /* weight gradient: output channels of a tile (x up to 5 taps) */
#define PX_WKR2 5    /* ... or this many, when they pad K less (30 filters: 5 x 6, not 4 x 8) */
#define PX_KR(nv) ((nv) <= 3 ? 8 : 6)
#define PX_KR2(nv) ((nv) <= 3 ? 6 : 4)
#define CNET_TEMPLATE "conv_px_tmpl.h"
#include "instantiate.h"
#endif
