/* optim.c -- optimizer updates: optim_tmpl.h for the baseline ISA, with the public functions of cnet.h,
 * each dispatching to this path or to optim_avx2.c / optim_avx512.c. */
#define CNET_ISA _portable
#define CNET_DISPATCHERS
#define CNET_TEMPLATE "optim_tmpl.h"
#include "instantiate.h"
