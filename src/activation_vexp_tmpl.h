/* activation_vexp_tmpl.h -- SFX(vexp) and SFX(vtanh): part of activation_tmpl.h's template (included by
 * it for each dtype). exp and tanh written with arithmetic, selects and bit operations only, so that gcc
 * vectorizes the loops that call them (glibc's expf/tanhf are scalar calls unless fast-math is on;
 * tanhf is slow).
 *
 * exp(x): n = round(x / ln2) by the add-and-subtract-1.5*2^p trick; r = x - n*ln2 with ln2 split in a
 * high part with trailing zero bits (n*LN2_HI is exact) and a low part; exp(r) by its Taylor polynomial
 * (|r| <= ln2/2: degree 7 for float, 13 for double, truncation below an ulp); 2^n built in the exponent
 * bits as two factors 2^k1 * 2^k2, k1 + k2 = n, so that neither overflows before the product and results
 * that are subnormal or infinite come out right. Inputs are clamped to a range where the result is
 * already 0 or inf; NaN is passed through. Accuracy: a few ulp (tests compare with NumPy). */
#ifndef CNET_ACTIVATION_VEXP_SHARED
#define CNET_ACTIVATION_VEXP_SHARED

/* Horner forms of exp(r) (Taylor, |r| <= ln2/2) and of (expm1(r) - r)/r^2 = 1/2! + r/3! + ... (Taylor,
 * |r| <= ln2/2: truncation below half an ulp of expm1(r)). */
#define POLY_EXP_F32(r) (1.0f + (r) * (1.0f + (r) * (0.5f + (r) * (1.6666667e-1f + (r) * (4.1666668e-2f + \
    (r) * (8.3333338e-3f + (r) * (1.3888889e-3f + (r) * 1.9841270e-4f)))))))
#define POLY_EXPM1_F32(r) (0.5f + (r) * (1.6666667e-1f + (r) * (4.1666668e-2f + (r) * (8.3333338e-3f + \
    (r) * (1.3888889e-3f + (r) * 1.9841270e-4f)))))
#define POLY_EXP_F64(r) (1.0 + (r) * (1.0 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + \
    (r) * (1.0 / 120 + (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + \
    (r) * (1.0 / 362880 + (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 + \
    (r) * (1.0 / 6227020800.0))))))))))))))
#define POLY_EXPM1_F64(r) (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + (r) * (1.0 / 120 + \
    (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 + (r) * (1.0 / 3628800 + \
    (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 + (r) * (1.0 / 6227020800.0 + \
    (r) * (1.0 / 87178291200.0)))))))))))))

#endif /* CNET_ACTIVATION_VEXP_SHARED */

/* This dtype's constants: mantissa bits and exponent bias of REAL; MAGIC = 1.5 * 2^MANT_BITS (adding and
 * subtracting it rounds to an integer); the clamps of exp's argument; ln2 split for an exact n * LN2_HI;
 * the polynomials; the |2x| beyond which tanh rounds to +-1. */
#if IS_F32
#define MANT_BITS 23
#define EXP_BIAS 127
#define MAGIC 12582912.0f            /* 1.5 * 2^23 */
#define EXP_HI 89.0f                 /* exp overflows to inf above ~88.72 */
#define EXP_LO -104.0f               /* and underflows to 0 below ~-103.97 */
#define LN2_HI 0.693359375f          /* 355/512: n * LN2_HI is exact */
#define LN2_LO -2.12194440e-4f
#define POLY_EXP POLY_EXP_F32
#define POLY_EXPM1 POLY_EXPM1_F32
#define TANH_CLAMP 20.0f             /* tanh(10) rounds to 1 */
#else
#define MANT_BITS 52
#define EXP_BIAS 1023
#define MAGIC 6755399441055744.0     /* 1.5 * 2^52 */
#define EXP_HI 710.0
#define EXP_LO -746.0
#define LN2_HI 6.93147180369123816490e-01   /* ln2 with its low 21 bits zero */
#define LN2_LO 1.90821492927058770002e-10
#define POLY_EXP POLY_EXP_F64
#define POLY_EXPM1 POLY_EXPM1_F64
#define TANH_CLAMP 40.0              /* tanh(20) rounds to 1 */
#endif

static inline REAL SFX(bits_to_real)(UINT u) {
    REAL r;
    memcpy(&r, &u, sizeof r);
    return r;
}

static inline UINT SFX(real_to_bits)(REAL r) {
    UINT u;
    memcpy(&u, &r, sizeof u);
    return u;
}

/* 2^k for an integer-valued k (|k| < 2^(MANT_BITS-1)), read from the bits of k + MAGIC. */
static inline REAL SFX(pow2i)(REAL k) {
    UINT u = SFX(real_to_bits)(k + MAGIC) - SFX(real_to_bits)(MAGIC) + (UINT)EXP_BIAS;
    return SFX(bits_to_real)(u << MANT_BITS);
}

static inline REAL SFX(vexp)(REAL x) {
    REAL xc = x > EXP_HI ? EXP_HI : x;
    xc = xc < EXP_LO ? EXP_LO : xc;
    REAL n = (xc * (REAL)1.4426950408889634 + MAGIC) - MAGIC;
    REAL r = (xc - n * LN2_HI) - n * LN2_LO;
    REAL p = POLY_EXP(r);
    REAL k1 = (n * (REAL)0.5 + MAGIC) - MAGIC;
    REAL y = p * SFX(pow2i)(k1) * SFX(pow2i)(n - k1);
    return x != x ? x : y;
}

/* tanh(x) = sign(x) * -em / (2 + em), em = expm1(-2|x|) in (-1, 0]: one formula for every x, without
 * cancellation (for small |x|, em ~ -2|x| is accurate to an ulp, unlike 1 - 2/(exp(2|x|) + 1)).
 * -2|x| is clamped to [-TANH_CLAMP, 0], where tanh already rounds to +-1, so 2^n stays normal and one
 * scale factor suffices: with z = n*ln2 + r, expm1(z) = 2^n * expm1(r) + (2^n - 1), expm1(r) = r + r^2 *
 * POLY_EXPM1(r) (|r| <= ln2/2). Accuracy: a few ulp. NaN is passed through. */
static inline REAL SFX(vtanh)(REAL x) {
    REAL a2 = (x < (REAL)0 ? -x : x) * (REAL)2;
    REAL z = a2 > TANH_CLAMP ? -TANH_CLAMP : -a2;
    REAL n = (z * (REAL)1.4426950408889634 + MAGIC) - MAGIC;
    REAL r = (z - n * LN2_HI) - n * LN2_LO;
    REAL q = r + (r * r) * POLY_EXPM1(r);
    REAL s = SFX(pow2i)(n);
    REAL em = s * q + (s - (REAL)1);
    REAL t = -em / ((REAL)2 + em);
    REAL y = COPYSIGN(t, x); /* t is +-0 for x = +-0: the sign comes from x alone */
    return x != x ? x : y;
}

#undef MANT_BITS
#undef EXP_BIAS
#undef MAGIC
#undef EXP_HI
#undef EXP_LO
#undef LN2_HI
#undef LN2_LO
#undef POLY_EXP
#undef POLY_EXPM1
#undef TANH_CLAMP
