/* loss_mse.c -- mean squared error, forward and backward: loss_mse_tmpl.h for the baseline ISA, with the
 * public functions of cnet.h, each dispatching to this path or to loss_mse_avx2.c / loss_mse_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "loss_mse_tmpl.h"
#include "instantiate.h"
