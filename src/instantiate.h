/* instantiate.h -- instantiates a template body for float and double: includes CNET_TEMPLATE (the
 * template's file name, defined by the includer) twice, with REAL, SFX(name) (name, macro-expanded,
 * with _f32 / _f64 appended), SQRT and GEMM set for each dtype, and undefines them (and CNET_TEMPLATE)
 * afterwards. No include guard: included once per template and translation unit. */
#define CNET_SFX_CAT_(a, b) a##b
#define CNET_SFX_CAT(a, b) CNET_SFX_CAT_(a, b)

#define REAL float
#define SFX(name) CNET_SFX_CAT(name, _f32)
#define SQRT sqrtf
#define GEMM cnet_gemm_f32
#include CNET_TEMPLATE
#undef REAL
#undef SFX
#undef SQRT
#undef GEMM

#define REAL double
#define SFX(name) CNET_SFX_CAT(name, _f64)
#define SQRT sqrt
#define GEMM cnet_gemm_f64
#include CNET_TEMPLATE
#undef REAL
#undef SFX
#undef SQRT
#undef GEMM

#undef CNET_TEMPLATE
#undef CNET_SFX_CAT
#undef CNET_SFX_CAT_
