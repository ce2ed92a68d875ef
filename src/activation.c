/* activation.c -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax, forward and backward.
 * The bodies are written once in activation_tmpl.h and instantiated for float and double; exp and tanh are
 * the vectorizable versions of activation_vexp.h. */
#include <math.h>
#include <string.h>

/* The selects of sigmoid/tanh/exp compute both sides; gcc if-converts (vectorizes) them only when FP
 * operations may be assumed not to trap. Results are unchanged (this is not -ffast-math: no
 * reassociation, no flush-to-zero, NaN and inf kept). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "cnet_internal.h"

/* Horner forms of exp(r) (Taylor, |r| <= ln2/2) and tanh(x)/x in x2 = x*x (Taylor, |x| < 0.3). */
#define POLY_EXP_F32(r) (1.0f + (r) * (1.0f + (r) * (0.5f + (r) * (1.6666667e-1f + (r) * (4.1666668e-2f + \
    (r) * (8.3333338e-3f + (r) * (1.3888889e-3f + (r) * 1.9841270e-4f)))))))
#define POLY_TANH_F32(t) (1.0f + (t) * (-0.33333334f + (t) * (0.13333334f + (t) * (-0.053968254f + \
    (t) * (0.021869488f + (t) * (-0.0088632355f + (t) * 0.003592128f))))))
#define POLY_EXP_F64(r) (1.0 + (r) * (1.0 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + \
    (r) * (1.0 / 120 + (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 + \
    (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 + (r) * (1.0 / 6227020800.0))))))))))))))
#define POLY_TANH_F64(t) (1.0 + (t) * (-0.3333333333333333 + (t) * (0.13333333333333333 + \
    (t) * (-0.05396825396825397 + (t) * (0.021869488536155203 + (t) * (-0.008863235529902197 + \
    (t) * (0.003592128036572481 + (t) * (-0.0014558343870513183 + (t) * (0.000590027440945586 + \
    (t) * (-0.00023912911424355248 + (t) * (9.691537956929451e-05 + (t) * (-3.927832388331683e-05 + \
    (t) * 1.5918905069328964e-05))))))))))))

#define REAL float
#define SFX(name) name##_f32
#define UINT uint32_t
#define MANT_BITS 23
#define EXP_BIAS 127
#define MAGIC 12582912.0f            /* 1.5 * 2^23 */
#define EXP_HI 89.0f                 /* exp overflows to inf above ~88.72 */
#define EXP_LO -104.0f               /* and underflows to 0 below ~-103.97 */
#define LN2_HI 0.693359375f          /* 355/512: n * LN2_HI is exact */
#define LN2_LO -2.12194440e-4f
#define POLY_EXP POLY_EXP_F32
#define POLY_TANH POLY_TANH_F32
#include "activation_vexp.h"
#undef REAL
#undef SFX
#undef UINT
#undef MANT_BITS
#undef EXP_BIAS
#undef MAGIC
#undef EXP_HI
#undef EXP_LO
#undef LN2_HI
#undef LN2_LO
#undef POLY_EXP
#undef POLY_TANH

#define REAL double
#define SFX(name) name##_f64
#define UINT uint64_t
#define MANT_BITS 52
#define EXP_BIAS 1023
#define MAGIC 6755399441055744.0     /* 1.5 * 2^52 */
#define EXP_HI 710.0
#define EXP_LO -746.0
#define LN2_HI 6.93147180369123816490e-01   /* ln2 with its low 21 bits zero */
#define LN2_LO 1.90821492927058770002e-10
#define POLY_EXP POLY_EXP_F64
#define POLY_TANH POLY_TANH_F64
#include "activation_vexp.h"
#undef REAL
#undef SFX
#undef UINT
#undef MANT_BITS
#undef EXP_BIAS
#undef MAGIC
#undef EXP_HI
#undef EXP_LO
#undef LN2_HI
#undef LN2_LO
#undef POLY_EXP
#undef POLY_TANH

#define REAL float
#define SFX(name) name##_f32
#define EXP vexp_f32
#define TANH vtanh_f32
#define FABS fabsf
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS

#define REAL double
#define SFX(name) name##_f64
#define EXP vexp_f64
#define TANH vtanh_f64
#define FABS fabs
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
#undef FABS
