/* conv_im2col.c -- im2col and col2im, the book's layout and Caffe's per image (conv_im2col_tmpl.h). */
#define CNET_TEMPLATE "conv_im2col_tmpl.h"
#include "instantiate.h"
