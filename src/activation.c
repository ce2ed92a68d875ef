/* activation.c -- element-wise activations (ReLU, sigmoid, tanh) and the row softmax: activation_tmpl.h
 * for the baseline ISA, with the public functions of cnet.h, each dispatching to this path or to
 * activation_avx2.c / activation_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "activation_tmpl.h"
#include "instantiate.h"
