/* im2col.c -- unfold the kernel-sized windows of an image batch into a matrix, and its adjoint.
 * Two layouts: the book's (one row per output pixel, used by users of im2col/col2im) and Caffe's
 * per image (one row per (channel, kernel offset), used by conv2d.c so that the product with the
 * weights lands directly in NCHW). The bodies are in im2col_tmpl.h, instantiated for float and double. */
#include <string.h>

#include "cnet_internal.h"

#define CNET_TEMPLATE "conv_im2col_tmpl.h"
#include "instantiate.h"
