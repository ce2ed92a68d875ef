/* affine.c -- the dense (fully connected) layer through cnet's GEMM, and the column sums its bias
 * gradient needs. Bodies in affine_tmpl.h, instantiated for float and double. */
#include <stdlib.h>
#include <string.h>

#include "cnet_internal.h"

#define REAL float
#define SFX(name) name##_f32
#define GEMM cnet_gemm_f32
#include "affine_tmpl.h"
#undef REAL
#undef SFX
#undef GEMM

#define REAL double
#define SFX(name) name##_f64
#define GEMM cnet_gemm_f64
#include "affine_tmpl.h"
#undef REAL
#undef SFX
#undef GEMM
