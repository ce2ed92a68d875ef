/* elementwise_dispatch.h -- how the element-wise families (activation, dropout, optim, loss, batchnorm)
 * are built once per SIMD path and chosen at run time. Not part of the public API.
 *
 * Each family's template (X_tmpl.h) is compiled three times: by X.c (no ISA flags, baseline SSE2), by
 * X_avx2.c (-mavx2 -mfma) and by X_avx512.c (AVX-512 F/VL/DQ/BW); the translation unit defines
 * CNET_EW_ISA (_portable, _avx2, _avx512) before including the template (which instantiates itself for
 * float and double through instantiate.h), and KNAME(cnet_relu_forward)
 * names that path's kernel, cnet_relu_forward_avx2_f32. X.c then defines the public cnet_<op>_<dtype>
 * functions of cnet.h with CNET_EW_DISPATCH*, one switch on cnet_simd_level() per call. The vector code
 * is gcc's auto-vectorization of the same C body, so the paths differ only where FMA contraction is
 * allowed (activation files only) or where an ISA file supplies its own intrinsics. */
#ifndef CNET_ELEMENTWISE_DISPATCH_H
#define CNET_ELEMENTWISE_DISPATCH_H

#include "cnet_internal.h"

#define CNET_EW_CAT_(a, b) a##b
#define CNET_EW_CAT(a, b) CNET_EW_CAT_(a, b)

/* The kernel name of this translation unit's path: SFX (the dtype suffix) goes last. */
#define KNAME(name) SFX(CNET_EW_CAT(name, CNET_EW_ISA))

#if defined(__x86_64__)
#define CNET_EW_DECLARE(ret, name, dt, params)                                                     \
    ret name##_portable_##dt params;                                                               \
    ret name##_avx2_##dt params;                                                                   \
    ret name##_avx512_##dt params;
/* void kernels */
#define CNET_EW_DISPATCH(name, dt, params, args)                                                   \
    CNET_EW_DECLARE(void, name, dt, params)                                                        \
    void name##_##dt params {                                                                      \
        switch (cnet_simd_level()) {                                                               \
        case CNET_SIMD_AVX512: name##_avx512_##dt args; return;                                    \
        case CNET_SIMD_AVX2: name##_avx2_##dt args; return;                                        \
        default: name##_portable_##dt args; return;                                                \
        }                                                                                          \
    }
/* kernels that return a value */
#define CNET_EW_DISPATCH_RET(ret, name, dt, params, args)                                          \
    CNET_EW_DECLARE(ret, name, dt, params)                                                         \
    ret name##_##dt params {                                                                       \
        switch (cnet_simd_level()) {                                                               \
        case CNET_SIMD_AVX512: return name##_avx512_##dt args;                                     \
        case CNET_SIMD_AVX2: return name##_avx2_##dt args;                                         \
        default: return name##_portable_##dt args;                                                 \
        }                                                                                          \
    }
#else /* no x86 files: the portable kernels are the only ones */
#define CNET_EW_DISPATCH(name, dt, params, args)                                                   \
    void name##_portable_##dt params;                                                              \
    void name##_##dt params { name##_portable_##dt args; }
#define CNET_EW_DISPATCH_RET(ret, name, dt, params, args)                                          \
    ret name##_portable_##dt params;                                                               \
    ret name##_##dt params { return name##_portable_##dt args; }
#endif

#endif /* CNET_ELEMENTWISE_DISPATCH_H */
