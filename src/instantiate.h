/* instantiate.h -- the library's one template idiom: a body written once, compiled for float and double.
 *
 * A template X_tmpl.h is the body, written with
 *   REAL         the element type: float, double
 *   SFX(name)    name with the dtype suffix: SFX(cnet_gemm) is cnet_gemm_f32 / cnet_gemm_f64
 *   KNAME(name)  in a per-ISA build (the file defines CNET_ISA as _portable, _avx2 or _avx512): name with
 *                the path and dtype suffixes, KNAME(cnet_relu_forward) is cnet_relu_forward_avx2_f32
 *   IS_F32       1 for float, 0 for double: per-dtype constants and vector types inside a template
 *   UINT         the unsigned integer as wide as REAL (uint32_t, uint64_t): bit manipulation
 *   SQRT, FABS, EXP, COPYSIGN   the <math.h> function of REAL's precision (sqrtf or sqrt, ...)
 * and instantiated by a .c file with
 *   #define CNET_TEMPLATE "X_tmpl.h"
 *   #include "instantiate.h"
 * which includes the template twice, float then double, and undefines all of the above (and
 * CNET_TEMPLATE) afterwards, so one file can instantiate several templates in turn. A template
 * undefines the helper macros it defines itself at its end; code that does not depend on the dtype
 * (includes, constants, helpers) stands at its top inside an include guard, compiled once per file.
 * No include guard here: included once per template and translation unit. */
#define CNET_SFX_CAT_(a, b) a##b
#define CNET_SFX_CAT(a, b) CNET_SFX_CAT_(a, b)
/* CNET_PICK(IS_F32, f, d): f for float, d for double, chosen when the macro using it expands. */
#define CNET_PICK_1(f, d) f
#define CNET_PICK_0(f, d) d
#define CNET_PICK_(c, f, d) CNET_PICK_##c(f, d)
#define CNET_PICK(c, f, d) CNET_PICK_(c, f, d)

#define REAL CNET_PICK(IS_F32, float, double)
#define SFX(name) CNET_SFX_CAT(name, CNET_PICK(IS_F32, _f32, _f64))
#ifdef CNET_ISA
#define KNAME(name) SFX(CNET_SFX_CAT(name, CNET_ISA))
#endif
#define UINT CNET_PICK(IS_F32, uint32_t, uint64_t)
#define SQRT CNET_PICK(IS_F32, sqrtf, sqrt)
#define FABS CNET_PICK(IS_F32, fabsf, fabs)
#define EXP CNET_PICK(IS_F32, expf, exp)
#define COPYSIGN CNET_PICK(IS_F32, copysignf, copysign)

#define IS_F32 1
#include CNET_TEMPLATE
#undef IS_F32
#define IS_F32 0
#include CNET_TEMPLATE
#undef IS_F32

#undef REAL
#undef SFX
#undef KNAME
#undef UINT
#undef SQRT
#undef FABS
#undef EXP
#undef COPYSIGN
#undef CNET_TEMPLATE
#undef CNET_PICK
#undef CNET_PICK_
#undef CNET_PICK_0
#undef CNET_PICK_1
#undef CNET_SFX_CAT
#undef CNET_SFX_CAT_
