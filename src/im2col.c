/* im2col.c -- unfold the kernel-sized windows of an image batch into a matrix, and its adjoint.
 * Two layouts: the book's (one row per output pixel, used by users of im2col/col2im) and Caffe's
 * per image (one row per (channel, kernel offset), used by conv2d.c so that the product with the
 * weights lands directly in NCHW). The bodies are in im2col_tmpl.h, instantiated for float and double. */
#include <string.h>

#include "cnet_internal.h"

/* Outputs o in [0, O) whose input index o*S + off lies in [0, L): the range [*lo, *hi). */
static inline void valid_range(int64_t O, int64_t S, int64_t off, int64_t L, int64_t *lo, int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + S - 1) / S;
    int64_t b = L - 1 - off < 0 ? 0 : (L - 1 - off) / S + 1;
    if (a > O) a = O;
    if (b > O) b = O;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

#define REAL float
#define SFX(name) name##_f32
#include "im2col_tmpl.h"
#undef REAL
#undef SFX

#define REAL double
#define SFX(name) name##_f64
#include "im2col_tmpl.h"
#undef REAL
#undef SFX
